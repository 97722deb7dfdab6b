//! L201: a step that no path from enrolment reaches.

use crate::lint::graph::{edges, reachable};
use crate::lint::{Cx, Finding};

pub(crate) fn check(cx: &Cx, out: &mut Vec<Finding>) {
    for c in &cx.program.cadences {
        let e = edges(c);
        let seen = reachable(c, &e);
        for (i, s) in c.steps.iter().enumerate() {
            if !seen[i] {
                out.push(Finding {
                    file: c.file,
                    span: s.span,
                    message: format!("step {} can never be reached", s.number),
                    label: "no path from the entry step leads here".into(),
                    help: format!(
                        "point an `on` line at it (`-> step {}`) or remove it; the step above it never falls through",
                        s.number
                    ),
                });
            }
        }
    }
}
