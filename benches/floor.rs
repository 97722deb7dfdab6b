//! The floor: the benchmark cadence (`cadence::sim::workload::CADENCE`) hand-written as a
//! state machine, with the same semantics as the engine and the same timer order. It is what a
//! programmer would write for this one cadence; the engine should not be far behind it.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use cadence::sim::workload::{GenEvent, GenKind, START};

const H: i64 = 3_600;
const D: i64 = 24 * H;

// Outcome bits.
const OPENED: u8 = 1;
const CLICKED: u8 = 2;
const REPLIED: u8 = 4;
const ANY: u8 = 0xff;

#[derive(Clone, Copy, PartialEq)]
enum Phase {
    Pending,
    Waiting,
    Ended,
}

#[derive(Clone, Copy)]
struct C {
    step: u8,
    phase: Phase,
    gen: u32,
    pro: bool,
    bounced: bool,
    /// Last execution time and outcomes per step 1..=5.
    exec_at: [i64; 6],
    outcomes: [u8; 6],
}

/// What a record is, for counting and checking.
pub struct Floor {
    pub records: Vec<(i64, u32, u8)>,
}

impl Floor {
    fn emit(&mut self, at: i64, c: u32, kind: u8) {
        self.records.push((at, c, kind));
    }
}

fn channel_email(step: u8) -> bool {
    matches!(step, 1 | 3 | 5)
}

/// (due, contact, step, slot, generation): the engine's timer order.
type TimerKey = (i64, u32, u8, u8, u32);

struct M {
    cs: Vec<C>,
    timers: BinaryHeap<Reverse<TimerKey>>,
    out: Floor,
    now: i64,
}

impl M {
    fn end(&mut self, c: u32, kind: u8) {
        self.out.emit(self.now, c, kind);
        let s = &mut self.cs[c as usize];
        s.phase = Phase::Ended;
        s.gen += 1;
    }

    fn enter(&mut self, c: u32, step: u8) {
        let s = &mut self.cs[c as usize];
        s.step = step;
        s.gen += 1;
        s.phase = Phase::Pending;
        let after = match step {
            2 | 3 => D,
            5 => 2 * D,
            _ => 0,
        };
        self.timers
            .push(Reverse((self.now + after, c, step, 0, s.gen)));
    }

    fn next(&mut self, c: u32) {
        let step = self.cs[c as usize].step;
        if step == 5 {
            self.end(c, b'c');
        } else {
            self.enter(c, step + 1);
        }
    }

    fn transition(&mut self, c: u32, to: u8) {
        self.out.emit(self.now, c, b't');
        match to {
            0 => self.end(c, b'c'),
            255 => self.end(c, b'x'),
            s => self.enter(c, s),
        }
    }

    fn due(&mut self, c: u32) {
        let s = self.cs[c as usize];
        if s.pro {
            return self.end(c, b'g');
        }
        if channel_email(s.step) && s.bounced {
            self.out.emit(self.now, c, b's');
            return self.next(c);
        }
        self.out.emit(self.now, c, b'e');
        let now = self.now;
        let s = &mut self.cs[c as usize];
        let step = s.step as usize;
        s.exec_at[step] = now;
        s.outcomes[step] = 0;
        if s.step == 5 {
            return self.next(c);
        }
        s.phase = Phase::Waiting;
        s.gen += 1;
        let g = s.gen;
        let timeout = match s.step {
            1 => 2 * D,
            2 => 2 * D,
            3 => 3 * D,
            _ => 3 * D,
        };
        // The timeout is the handler written last but one or last: its slot only orders ties.
        let slot = if s.step == 1 { 3 } else { 2 };
        self.timers
            .push(Reverse((now + timeout, c, s.step, slot, g)));
    }

    fn timeout(&mut self, c: u32) {
        let s = self.cs[c as usize];
        let o = s.outcomes[s.step as usize];
        let (happened, to) = match s.step {
            1 => (o & (OPENED | CLICKED | REPLIED) != 0, 3),
            2 => (o & ANY != 0, 3),
            3 => (o & REPLIED != 0, 5),
            _ => (o & ANY != 0, 5),
        };
        if !happened {
            self.transition(c, to);
        }
    }

    fn run_until(&mut self, t: i64, inclusive: bool) {
        while let Some(&Reverse((due, c, _step, slot, gen))) = self.timers.peek() {
            if due > t || (due == t && !inclusive) {
                break;
            }
            self.timers.pop();
            let s = self.cs[c as usize];
            if s.phase == Phase::Ended || s.gen != gen {
                continue;
            }
            self.now = due;
            if slot == 0 {
                self.due(c);
            } else {
                self.timeout(c);
            }
        }
        self.now = self.now.max(t);
    }

    fn event(&mut self, e: &GenEvent) {
        let c = e.contact;
        if e.kind == GenKind::Upgraded {
            let s = &mut self.cs[c as usize];
            if s.pro {
                return;
            }
            s.pro = true;
            if s.phase != Phase::Ended {
                self.end(c, b'g');
            }
            return;
        }
        let s = self.cs[c as usize];
        // The most recent executed step of a fitting channel.
        let fits = |step: u8| match e.kind {
            GenKind::Answered => step == 2,
            GenKind::Completed => step == 2 || step == 4,
            _ => channel_email(step),
        };
        let Some(step) = (1..=5u8)
            .filter(|&st| s.exec_at[st as usize] > 0 && fits(st))
            .max_by_key(|&st| (s.exec_at[st as usize], st))
        else {
            return;
        };
        self.out.emit(self.now, c, b'v');
        let bit = match e.kind {
            GenKind::Opened => OPENED,
            GenKind::Clicked => CLICKED,
            GenKind::Replied => REPLIED,
            _ => 8,
        };
        self.cs[c as usize].outcomes[step as usize] |= bit;
        if e.kind == GenKind::Bounced {
            self.cs[c as usize].bounced = true;
        }
        if s.phase == Phase::Ended {
            return;
        }
        if e.kind == GenKind::Replied {
            return self.end(c, b'x');
        }
        let waiting_here = s.phase == Phase::Waiting && s.step == step;
        if waiting_here {
            let to = match (step, e.kind) {
                // A click implies an open: step 1 has no `on clicked`, so it takes `on opened`.
                (1, GenKind::Opened | GenKind::Clicked) => Some(2),
                (1, GenKind::Bounced) => Some(255),
                (2, GenKind::Answered) => Some(4),
                (3, GenKind::Clicked) => Some(4),
                (4, GenKind::Completed) => Some(0),
                _ => None,
            };
            if let Some(to) = to {
                return self.transition(c, to);
            }
        }
        if e.kind == GenKind::Bounced {
            self.end(c, b'x');
        }
    }
}

/// Runs the workload; returns the records.
pub fn run(n: usize, events: &[GenEvent]) -> Floor {
    let mut m = M {
        cs: vec![
            C {
                step: 1,
                phase: Phase::Pending,
                gen: 0,
                pro: false,
                bounced: false,
                exec_at: [0; 6],
                outcomes: [0; 6],
            };
            n
        ],
        timers: BinaryHeap::with_capacity(n * 2),
        out: Floor {
            records: Vec::with_capacity(n * 8),
        },
        now: START,
    };
    for c in 0..n as u32 {
        m.out.emit(START, c, b'n');
        m.enter(c, 1);
    }
    for e in events {
        m.run_until(e.at, false);
        m.now = m.now.max(e.at);
        m.event(e);
    }
    while let Some(&Reverse((due, ..))) = m.timers.peek() {
        m.run_until(due, true);
    }
    m.out
}
