//! L212: a waiting email step whose branch sends more email does not handle a bounce.

use crate::check::{Channel, EndTrigger, EventName, HandlerEvent, Outcome};
use crate::lint::graph::{edges, Edge, Reach};
use crate::lint::{Cx, Finding};

pub(crate) fn check(cx: &Cx, out: &mut Vec<Finding>) {
    for c in &cx.program.cadences {
        let cadence_wide = c.exits.iter().chain(&c.goals).any(|r| {
            matches!(
                r.trigger,
                EndTrigger::Event(EventName::Outcome(Outcome::Bounced))
            )
        });
        if cadence_wide {
            continue;
        }
        let all = edges(c);
        let refs: Vec<&Edge> = all.iter().collect();
        let reach = Reach::new(c.steps.len(), &refs);
        for (i, s) in c.steps.iter().enumerate() {
            if s.action.channel() != Channel::Email
                || !s.waits()
                || s.handlers
                    .iter()
                    .any(|h| h.event == HandlerEvent::Outcome(Outcome::Bounced))
            {
                continue;
            }
            let from_i = reach.from(i);
            let more_email = (0..c.steps.len())
                .any(|k| k != i && c.steps[k].action.channel() == Channel::Email && from_i[k]);
            if more_email {
                out.push(Finding {
                    file: c.file,
                    span: s.span,
                    message: format!("step {} does not handle a bounce, and its branches send more email", s.number),
                    label: "no `on bounced`".into(),
                    help: "add `on bounced -> ...` (a call, or a task to find a new address), or `exit on bounced` for the whole cadence".into(),
                });
            }
        }
    }
}
