//! L203: a loop in which no time passes: the engine would go round it for ever at one instant.

use crate::lint::graph::{edges, zero_delay, Dest, Edge, Reach, Via};
use crate::lint::{Cx, Finding};

pub(crate) fn check(cx: &Cx, out: &mut Vec<Finding>) {
    for c in &cx.program.cadences {
        let all = edges(c);
        // Edges taken at once, into steps that are due at once.
        let instant: Vec<&Edge> = all
            .iter()
            .filter(|e| {
                let now = match &e.via {
                    Via::Next | Via::Skip => true,
                    Via::Timeout(_, d) => d.is_zero(),
                    Via::Event(_) => false,
                };
                now && matches!(e.to, Dest::Step(j) if zero_delay(c, j))
            })
            .collect();
        let reach = Reach::new(c.steps.len(), &instant);
        for e in &instant {
            let Dest::Step(j) = e.to else { continue };
            if j <= e.from && zero_delay(c, e.from) && reach.from(j).get(e.from) == Some(&true) {
                let span = e
                    .handler
                    .map(|h| c.steps[e.from].handlers[h].span)
                    .unwrap_or(c.steps[e.from].span);
                out.push(Finding {
                    file: c.file,
                    span,
                    message: format!(
                        "step {} goes back to step {} without any time passing",
                        c.steps[e.from].number, c.steps[j].number
                    ),
                    label: "a loop with no delay".into(),
                    help: if e.via == crate::lint::graph::Via::Skip {
                        "give the step it goes back to an `after` delay, or send the skipped contact forward; the engine stops such a loop as `loop_without_delay`".into()
                    } else {
                        "give the timeout a duration (`on overdue 2d`) or the step an `after` delay; the engine stops such a loop as `loop_without_delay`".into()
                    },
                });
            }
        }
    }
}
