//! L211: email keeps going after the contact replies.

use super::cadence_span;
use crate::check::{Channel, EndTrigger, EventName, HandlerEvent, Outcome};
use crate::lint::{Cx, Finding};

pub(crate) fn check(cx: &Cx, out: &mut Vec<Finding>) {
    for c in &cx.program.cadences {
        let emails: Vec<_> = c
            .steps
            .iter()
            .filter(|s| s.action.channel() == Channel::Email)
            .collect();
        if emails.is_empty() {
            continue;
        }
        let cadence_wide = c.exits.iter().chain(&c.goals).any(|r| {
            matches!(
                r.trigger,
                EndTrigger::Event(EventName::Outcome(Outcome::Replied))
            )
        });
        let every_step = emails.iter().all(|s| {
            s.handlers
                .iter()
                .any(|h| h.event == HandlerEvent::Outcome(Outcome::Replied))
        });
        if cadence_wide || every_step {
            continue;
        }
        out.push(Finding {
            file: c.file,
            span: cadence_span(cx, c),
            message: format!("\"{}\" goes on sending after a reply", c.name),
            label: "no `exit on replied`".into(),
            help: "add `exit on replied` (or `goal \"replied\" on replied`): a person who answered should hear from a person, not the next template".into(),
        });
    }
}
