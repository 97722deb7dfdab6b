//! L217: an out-of-office answer ends the enrolment (`exit on auto_reply`, or an `on auto_reply`
//! line of a step that exits), where `pause on auto_reply` would hold it until the person is back.

use super::cadence_span;
use crate::check::{EndTrigger, EventName, HandlerEvent, Outcome, Target};
use crate::lint::{Cx, Finding};

pub(crate) fn check(cx: &Cx, out: &mut Vec<Finding>) {
    for c in &cx.program.cadences {
        let pausing = c.pause_on_auto_reply.is_some();
        let (label, help) = if pausing {
            (
                "`pause on auto_reply` never applies",
                "an exit is taken before the pause: remove it to hold the enrolment until the day the answer names".to_string(),
            )
        } else {
            (
                "ends the enrolment on an automatic answer",
                "an out-of-office answer is not a \"no\": write `pause on auto_reply` to hold the enrolment until the day the answer names, then go on with the same waits".to_string(),
            )
        };
        for r in &c.exits {
            if matches!(
                r.trigger,
                EndTrigger::Event(EventName::Outcome(Outcome::AutoReply))
            ) {
                out.push(Finding {
                    file: c.file,
                    span: if r.span == Default::default() {
                        cadence_span(cx, c)
                    } else {
                        r.span
                    },
                    message: format!(
                        "an out-of-office answer ends \"{}\" (`exit on auto_reply`)",
                        c.name
                    ),
                    label: label.into(),
                    help: help.clone(),
                });
            }
        }
        for s in &c.steps {
            for h in &s.handlers {
                if h.event == HandlerEvent::Outcome(Outcome::AutoReply)
                    && matches!(h.target, Target::Exit(_))
                {
                    out.push(Finding {
                        file: c.file,
                        span: h.span,
                        message: format!(
                            "an out-of-office answer to step {} ends the enrolment",
                            s.number
                        ),
                        label: label.into(),
                        help: help.clone(),
                    });
                }
            }
        }
    }
}
