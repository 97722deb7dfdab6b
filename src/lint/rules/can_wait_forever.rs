//! L205: a step that waits for events but has no timeout.

use crate::check::{Channel, HandlerEvent};
use crate::lint::{Cx, Finding};

pub(crate) fn check(cx: &Cx, out: &mut Vec<Finding>) {
    for c in &cx.program.cadences {
        for s in &c.steps {
            if !s.waits()
                || s.handlers
                    .iter()
                    .any(|h| matches!(h.event, HandlerEvent::Timeout(..)))
            {
                continue;
            }
            let example = match s.action.channel() {
                Channel::Email => "on no_reply 3d -> next",
                _ => "on overdue 2d -> next",
            };
            out.push(Finding {
                file: c.file,
                span: s.span,
                message: format!("step {} waits for an event but has no timeout", s.number),
                label: "a contact who never responds waits here for ever".into(),
                help: format!("add a timeout under the step: `{example}`"),
            });
        }
    }
}
