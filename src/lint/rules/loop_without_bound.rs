//! L204: a loop that sends email again each time round, with nothing to stop it.

use crate::check::Channel;
use crate::lint::graph::{edges, Dest, Edge, Reach};
use crate::lint::{Cx, Finding};

pub(crate) fn check(cx: &Cx, out: &mut Vec<Finding>) {
    for c in &cx.program.cadences {
        let all = edges(c);
        let refs: Vec<&Edge> = all.iter().collect();
        let reach = Reach::new(c.steps.len(), &refs);
        for e in &all {
            let Dest::Step(j) = e.to else { continue };
            let Some(h) = e.handler else { continue };
            if j > e.from {
                continue;
            }
            let from_j = reach.from(j);
            if !from_j.get(e.from).copied().unwrap_or(false) {
                continue;
            }
            // The steps of the loop: those on a way from j back to e.from.
            let to_back = reach.to(e.from);
            let emails = (0..c.steps.len())
                .filter(|&k| from_j[k] && to_back[k])
                .any(|k| c.steps[k].action.channel() == Channel::Email);
            if emails {
                out.push(Finding {
                    file: c.file,
                    span: c.steps[e.from].handlers[h].span,
                    message: format!(
                        "step {} loops back to step {}: a contact may receive the same emails for ever",
                        c.steps[e.from].number, c.steps[j].number
                    ),
                    label: "goes round again".into(),
                    help: "bound the loop: leave it on a timeout (`on no_reply 3d -> exit \"no response\"`), or go on to a later step".into(),
                });
            }
        }
    }
}
