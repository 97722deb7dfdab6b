//! L215: a step that its `if` or its `at FIELD` date can skip, without an `on skipped` line,
//! falls through to the next step.

use crate::check::{At, HandlerEvent, Target};
use crate::lint::{Cx, Finding};

pub(crate) fn check(cx: &Cx, out: &mut Vec<Finding>) {
    for c in &cx.program.cadences {
        for s in &c.steps {
            let by = if s.guard.is_some() {
                "its `if`"
            } else if matches!(s.at, Some(At::Field { .. })) {
                "its date (passed, or not set)"
            } else {
                continue;
            };
            if s.handlers.iter().any(|h| h.event == HandlerEvent::Skipped) {
                continue;
            }
            let Target::Step(next) = s.next else {
                // Skipping the last step completes the enrolment: nothing follows it.
                continue;
            };
            let next = &c.steps[next];
            let span = cx.ast_step(c, s.number).map_or(s.span, |a| a.head);
            out.push(Finding {
                file: c.file,
                span,
                message: format!(
                    "when {by} skips step {}, the contact silently falls through to step {}",
                    s.number, next.number
                ),
                label: "can be skipped".into(),
                help: format!(
                    "say where a skipped contact goes: `on skipped -> step N` (or `-> done`, `-> exit \"reason\"`); `on skipped -> next` keeps step {} and says so",
                    next.number
                ),
            });
        }
    }
}
