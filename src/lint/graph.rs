//! The step graph of a cadence: steps are nodes; `on` lines, fall-through and skips are edges
//! with their delays. Reachability, loops and the paths a contact can take.

use crate::check::{At, Cadence, Channel, HandlerEvent, Outcome, Target, Timeout};
use crate::time::Duration;

/// Where an edge leads.
#[derive(Debug, Clone, PartialEq)]
pub enum Dest {
    Step(usize),
    Done,
    Exit(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Via {
    /// An outcome event (`on opened`).
    Event(Outcome),
    /// A timeout (`on no_reply 3d`).
    Timeout(Timeout, Duration),
    /// A step without `on` lines goes on at once.
    Next,
    /// A step that is skipped (its `if`, an `at FIELD` in the past, email that cannot be sent)
    /// goes on to the next.
    Skip,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Edge {
    pub from: usize,
    pub to: Dest,
    pub via: Via,
    /// The index of the `on` line, for edges that have one.
    pub handler: Option<usize>,
}

fn dest(t: &Target) -> Dest {
    match t {
        Target::Step(i) => Dest::Step(*i),
        Target::Done => Dest::Done,
        Target::Exit(r) => Dest::Exit(r.clone()),
    }
}

/// Whether a step can be skipped at its due time.
pub fn can_skip(c: &Cadence, i: usize) -> bool {
    let s = &c.steps[i];
    s.guard.is_some()
        || matches!(s.at, Some(At::Field { .. }))
        || s.action.channel() == Channel::Email
}

pub fn edges(c: &Cadence) -> Vec<Edge> {
    let mut out = Vec::new();
    for (i, s) in c.steps.iter().enumerate() {
        let mut skip_line = false;
        for (h, handler) in s.handlers.iter().enumerate() {
            let via = match handler.event {
                HandlerEvent::Outcome(o) => Via::Event(o),
                HandlerEvent::Timeout(t, d) => Via::Timeout(t, d),
                HandlerEvent::Skipped => {
                    skip_line = true;
                    Via::Skip
                }
            };
            out.push(Edge {
                from: i,
                to: dest(&handler.target),
                via,
                handler: Some(h),
            });
        }
        if !s.waits() {
            out.push(Edge {
                from: i,
                to: dest(&s.next),
                via: Via::Next,
                handler: None,
            });
        }
        if s.waits() && !skip_line && can_skip(c, i) {
            out.push(Edge {
                from: i,
                to: dest(&s.next),
                via: Via::Skip,
                handler: None,
            });
        }
    }
    out
}

/// Steps reachable from the entry step.
pub fn reachable(c: &Cadence, edges: &[Edge]) -> Vec<bool> {
    let mut seen = vec![false; c.steps.len()];
    // The entry step, and the steps a `migrate` block moves contacts into.
    let mut stack = vec![0usize];
    if let Some(m) = &c.migration {
        for r in &m.rules {
            if let crate::check::MigrateTo::Step(j) = r.to {
                stack.push(j);
            }
        }
    }
    while let Some(i) = stack.pop() {
        if i >= seen.len() || seen[i] {
            continue;
        }
        seen[i] = true;
        for e in edges.iter().filter(|e| e.from == i) {
            if let Dest::Step(j) = e.to {
                stack.push(j);
            }
        }
    }
    seen
}

/// Whether a step can be over at once when entered: no delay, no schedule, no window; or an
/// `at FIELD` step, which is skipped at once when the date has passed.
pub fn zero_delay(c: &Cadence, i: usize) -> bool {
    let s = &c.steps[i];
    if matches!(s.at, Some(At::Field { .. })) {
        return true;
    }
    s.after.is_zero()
        && s.at.is_none()
        && !(s.action.channel() == Channel::Email && c.window.is_some())
}

/// The step graph's edges between steps, both ways, for reachability asked many times (each
/// question is linear in the graph: a cadence of hundreds of steps stays fast).
pub struct Reach {
    forward: Vec<Vec<usize>>,
    backward: Vec<Vec<usize>>,
}

impl Reach {
    /// The graph of `n` steps; edges to or from steps out of range are left out.
    pub fn new(n: usize, edges: &[&Edge]) -> Reach {
        let mut forward = vec![Vec::new(); n];
        let mut backward = vec![Vec::new(); n];
        for e in edges {
            if let Dest::Step(j) = e.to {
                if e.from < n && j < n {
                    forward[e.from].push(j);
                    backward[j].push(e.from);
                }
            }
        }
        Reach { forward, backward }
    }

    fn walk(adjacent: &[Vec<usize>], start: usize) -> Vec<bool> {
        let mut seen = vec![false; adjacent.len()];
        if start >= adjacent.len() {
            return seen;
        }
        let mut stack = vec![start];
        seen[start] = true;
        while let Some(i) = stack.pop() {
            for &j in &adjacent[i] {
                if !seen[j] {
                    seen[j] = true;
                    stack.push(j);
                }
            }
        }
        seen
    }

    /// The steps `start` can reach (itself included).
    pub fn from(&self, start: usize) -> Vec<bool> {
        Reach::walk(&self.forward, start)
    }

    /// The steps that can reach `target` (itself included).
    pub fn to(&self, target: usize) -> Vec<bool> {
        Reach::walk(&self.backward, target)
    }
}

/// Days a duration adds at the least (a business day is at least a day).
pub fn days(d: &Duration) -> f64 {
    d.seconds as f64 / 86_400.0 + d.business_days as f64
}

/// One way through a cadence.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    /// Steps in order, with the edge taken out of each (`None` for the last).
    pub hops: Vec<(usize, Option<Edge>)>,
    pub end: Dest,
    /// The path returns to a step it has been at (and is cut there).
    pub loops_to: Option<usize>,
    pub emails: usize,
    pub calls: usize,
    pub tasks: usize,
    /// Time the path takes at the least, in days (delays and timeouts; events take no time;
    /// `at FIELD` dates are not counted).
    pub days: f64,
}

/// Every path from enrolment to an end (steps executing, skips left out), at most `limit`.
pub fn paths(c: &Cadence, edges: &[Edge], limit: usize) -> Vec<Path> {
    let mut out = Vec::new();
    let n = c.steps.len();
    if n == 0 || limit == 0 {
        return out;
    }
    // A depth-first walk with a stack of its own (a cadence may have any number of steps), the
    // edges of each step indexed once.
    let mut outgoing: Vec<Vec<&Edge>> = vec![Vec::new(); n];
    for e in edges {
        if e.via != Via::Skip && e.from < n {
            outgoing[e.from].push(e);
        }
    }
    let mut on_path = vec![false; n];
    let mut current: Vec<(usize, Option<Edge>)> = vec![(0, None)];
    // Per step of `current`: the index of its next edge to follow.
    let mut next: Vec<usize> = vec![0];
    on_path[0] = true;
    while let (Some(&k), Some(&(i, _))) = (next.last(), current.last()) {
        if out.len() >= limit {
            break;
        }
        let Some(e) = outgoing[i].get(k) else {
            next.pop();
            current.pop();
            on_path[i] = false;
            continue;
        };
        if let Some(k) = next.last_mut() {
            *k += 1;
        }
        if let Some(last) = current.last_mut() {
            last.1 = Some((*e).clone());
        }
        match &e.to {
            Dest::Step(j) if *j < n && on_path[*j] => {
                out.push(finish(c, &current, Dest::Step(*j), Some(*j)))
            }
            Dest::Step(j) if *j < n => {
                on_path[*j] = true;
                current.push((*j, None));
                next.push(0);
            }
            end => out.push(finish(c, &current, end.clone(), None)),
        }
    }
    out
}

fn finish(c: &Cadence, hops: &[(usize, Option<Edge>)], end: Dest, loops_to: Option<usize>) -> Path {
    let mut p = Path {
        hops: hops.to_vec(),
        end,
        loops_to,
        emails: 0,
        calls: 0,
        tasks: 0,
        days: 0.0,
    };
    for (i, e) in hops {
        let s = &c.steps[*i];
        match s.action.channel() {
            Channel::Email => p.emails += 1,
            Channel::Call => p.calls += 1,
            Channel::Task => p.tasks += 1,
        }
        p.days += days(&s.after);
        if let Some(Edge {
            via: Via::Timeout(_, d),
            ..
        }) = e
        {
            p.days += days(d);
        }
    }
    p
}

/// A path in words: `step 1 -opened-> step 2 -answered-> done`.
pub fn describe(c: &Cadence, p: &Path) -> String {
    let mut s = String::new();
    for (i, e) in &p.hops {
        s.push_str(&format!("step {}", c.steps[*i].number));
        if let Some(e) = e {
            let via = match &e.via {
                Via::Event(o) => o.name().to_string(),
                Via::Timeout(t, d) => format!("{} {d}", t.name()),
                Via::Next => "next".into(),
                Via::Skip => "skipped".into(),
            };
            s.push_str(&format!(" -{via}-> "));
        }
    }
    match &p.end {
        Dest::Done => s.push_str("done"),
        Dest::Exit(r) => s.push_str(&format!("exit \"{r}\"")),
        Dest::Step(j) => s.push_str(&format!("step {} (again)", c.steps[*j].number)),
    }
    s
}
