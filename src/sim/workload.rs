//! A generator of large, realistic workloads for benchmarks and load tests: a branching
//! five-step cadence, N contacts and M events, deterministic for a seed.

use std::fmt::Write;

/// The benchmark cadence: five steps over three channels, with branches on opens, answers,
/// clicks and completions, timeouts, a bounce exit, a reply exit and a conversion goal.
pub const CADENCE: &str = r#"# A branching five-step trial cadence (the benchmark workload).
cadence "Trial conversion"
field plan: enum("trial", "pro")
enroll when plan == "trial"
goal "converted" when plan == "pro"
exit on replied

template welcome {
  subject "Welcome, {{first_name | there}}"
  body "Hi {{first_name | there}}, your trial is ready. {{unsubscribe_link}}"
}
template reminder {
  subject "Getting started"
  body "Three things to try first. {{unsubscribe_link}}"
}
template last_chance {
  subject "Your trial ends soon"
  body "Upgrade to keep your work. {{unsubscribe_link}}"
}

step 1: email welcome
  on opened -> step 2
  on bounced -> exit "bad address"
  on no_open 2d -> step 3
step 2: call "Walkthrough" after 1d
  on answered -> step 4
  on overdue 2d -> step 3
step 3: email reminder after 1d
  on clicked -> step 4
  on no_reply 3d -> step 5
step 4: task "Send proposal" due 2d
  on completed -> done
  on overdue 3d -> step 5
step 5: email last_chance after 2d
"#;

/// The instant the workload starts (a Monday, 09:00 UTC).
pub const START: i64 = 1_767_603_600; // 2026-01-05T09:00:00Z

/// A small deterministic generator (xorshift64*).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// The contacts CSV: `id,first_name,email,plan`, every contact on a trial.
pub fn contacts_csv(n: usize) -> String {
    let mut s = String::with_capacity(n * 40);
    s.push_str("id,first_name,email,plan\n");
    for i in 0..n {
        let _ = writeln!(s, "c{i},Name{i},c{i}@example.test,trial");
    }
    s
}

/// One generated input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenEvent {
    pub at: i64,
    pub contact: u32,
    pub kind: GenKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GenKind {
    Opened,
    Answered,
    Clicked,
    Completed,
    Replied,
    Bounced,
    Upgraded,
}

impl GenKind {
    pub fn csv(self) -> &'static str {
        match self {
            GenKind::Opened => "opened,,",
            GenKind::Answered => "answered,,",
            GenKind::Clicked => "clicked,,",
            GenKind::Completed => "completed,,",
            GenKind::Replied => "replied,,",
            GenKind::Bounced => "bounced,,",
            GenKind::Upgraded => "set,plan,pro",
        }
    }
}

const H: i64 = 3_600;

/// `m` events spread over `n` contacts, timed to follow the cadence's steps: opens within two
/// days of the welcome, answers the day after, clicks on the reminder, completed proposals, a
/// few replies, bounces and upgrades. Sorted by time (ties keep contact order).
pub fn events(n: usize, m: usize, seed: u64) -> Vec<GenEvent> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(m);
    let push = |out: &mut Vec<GenEvent>, at: i64, contact: u32, kind: GenKind| {
        if out.len() < m {
            out.push(GenEvent { at, contact, kind });
        }
    };
    let mut round = 0;
    while out.len() < m && n > 0 {
        for c in 0..n as u32 {
            if out.len() >= m {
                break;
            }
            let base = START + round * 30 * 24 * H;
            let roll = rng.below(100);
            if roll < 3 {
                push(
                    &mut out,
                    base + 60 + rng.below(2 * H as u64) as i64,
                    c,
                    GenKind::Bounced,
                );
                continue;
            }
            if roll < 63 {
                // Opens within 40 hours; the call is due a day later and answered half the time.
                let open = base + H + rng.below(40 * H as u64) as i64;
                push(&mut out, open, c, GenKind::Opened);
                if rng.below(2) == 0 {
                    let answer = open + 24 * H + rng.below(20 * H as u64) as i64;
                    push(&mut out, answer, c, GenKind::Answered);
                    if rng.below(3) != 0 {
                        push(
                            &mut out,
                            answer + rng.below(48 * H as u64) as i64,
                            c,
                            GenKind::Completed,
                        );
                    }
                }
            } else {
                // No open: the reminder goes out on day 3; some click it.
                let click = base + 3 * 24 * H + rng.below(48 * H as u64) as i64;
                push(&mut out, click, c, GenKind::Clicked);
            }
            match rng.below(20) {
                0 => push(
                    &mut out,
                    base + rng.below(6 * 24 * H as u64) as i64,
                    c,
                    GenKind::Replied,
                ),
                1 => push(
                    &mut out,
                    base + rng.below(6 * 24 * H as u64) as i64,
                    c,
                    GenKind::Upgraded,
                ),
                _ => {}
            }
        }
        round += 1;
    }
    out.sort_by_key(|e| e.at);
    out
}

/// The events CSV: `at,contact,event,field,value`.
pub fn events_csv(events: &[GenEvent]) -> String {
    let mut s = String::with_capacity(events.len() * 48);
    s.push_str("at,contact,event,field,value\n");
    for e in events {
        let _ = writeln!(
            s,
            "{},c{},{}",
            crate::engine::format_instant(e.at),
            e.contact,
            e.kind.csv()
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workload_is_deterministic_and_sized() {
        let a = events(1_000, 3_000, 7);
        assert_eq!(a.len(), 3_000);
        assert_eq!(a, events(1_000, 3_000, 7));
        assert!(a.windows(2).all(|w| w[0].at <= w[1].at));
    }

    #[test]
    fn the_start_is_monday_nine() {
        assert_eq!(crate::engine::format_instant(START), "2026-01-05T09:00:00Z");
    }
}
