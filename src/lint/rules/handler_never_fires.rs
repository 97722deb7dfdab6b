//! L202: an `on` line that can never be taken.

use crate::check::{EndTrigger, EventName, HandlerEvent, Outcome, Timeout};
use crate::lint::{Cx, Finding};

pub(crate) fn check(cx: &Cx, out: &mut Vec<Finding>) {
    for c in &cx.program.cadences {
        let caught = |o: Outcome| {
            c.exits
                .iter()
                .chain(&c.goals)
                .find(|r| matches!(&r.trigger, EndTrigger::Event(EventName::Outcome(x)) if *x == o))
        };
        for (si, s) in c.steps.iter().enumerate() {
            for (h, handler) in s.handlers.iter().enumerate() {
                let mut why = None;
                match handler.event {
                    HandlerEvent::Outcome(Outcome::Unsubscribed) => {
                        why = Some((
                            "an unsubscribe always ends the enrolment before step handlers run".to_string(),
                            "remove this line; unsubscribes end every cadence with reason `unsubscribed`".to_string(),
                        ))
                    }
                    HandlerEvent::Outcome(o) => {
                        if let Some(rule) = caught(o) {
                            why = Some((
                                format!("the cadence-wide rule `{} on {}` ends the enrolment first", if c.exits.iter().any(|r| std::ptr::eq(r, rule)) { "exit" } else { "goal" }, o.name()),
                                "remove this line, or the cadence-wide rule if this step should branch instead".to_string(),
                            ));
                        }
                    }
                    HandlerEvent::Skipped if !crate::lint::graph::can_skip(c, si) => {
                        why = Some((
                            "the step has no `if`, no `at FIELD` date and sends no email: it is never skipped".to_string(),
                            "remove this line, or give the step the `if` that can skip it".to_string(),
                        ))
                    }
                    HandlerEvent::Timeout(Timeout::NoOpen, d) => {
                        // No open means no reply either: an earlier (or equal, written first)
                        // `no_reply` always fires first.
                        let shadow = s.handlers.iter().enumerate().find(|(k, other)| match other.event {
                            // Comparable only in the same unit: both calendar time, or both
                            // business days.
                            HandlerEvent::Timeout(Timeout::NoReply, r) => {
                                let (a, b) = if r.business_days > 0 || d.business_days > 0 {
                                    if r.seconds != 0 || d.seconds != 0 || r.business_days == 0 || d.business_days == 0 {
                                        return false;
                                    }
                                    (i64::from(r.business_days), i64::from(d.business_days))
                                } else {
                                    (r.seconds, d.seconds)
                                };
                                a < b || (a == b && *k < h)
                            }
                            _ => false,
                        });
                        if let Some((_, other)) = shadow {
                            if let HandlerEvent::Timeout(_, r) = other.event {
                                why = Some((
                                    format!("`no_reply {r}` always fires first: an email nobody opened got no reply either"),
                                    "give `no_open` a shorter delay than `no_reply`, or remove one of them".to_string(),
                                ));
                            }
                        }
                    }
                    _ => {}
                }
                if let Some((message, help)) = why {
                    out.push(Finding {
                        file: c.file,
                        span: handler.span,
                        message: format!(
                            "this `on` line of step {} can never fire: {message}",
                            s.number
                        ),
                        label: "never taken".into(),
                        help,
                    });
                }
            }
        }
    }
}
