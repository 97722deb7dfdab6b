//! L204: a loop that sends email again each time round, with nothing to stop it.

use crate::check::Channel;
use crate::lint::graph::{edges, reaches, Dest, Edge};
use crate::lint::{Cx, Finding};

pub(crate) fn check(cx: &Cx, out: &mut Vec<Finding>) {
    for c in &cx.program.cadences {
        let all = edges(c);
        let refs: Vec<&Edge> = all.iter().collect();
        for e in &all {
            let Dest::Step(j) = e.to else { continue };
            let Some(h) = e.handler else { continue };
            if j > e.from || !reaches(&refs, j, e.from) {
                continue;
            }
            // The steps of the loop: those on a way from j back to e.from.
            let emails = (0..c.steps.len())
                .filter(|&k| reaches(&refs, j, k) && reaches(&refs, k, e.from))
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
