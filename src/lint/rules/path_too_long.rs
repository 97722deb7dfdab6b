//! L210: a path with too many emails, or one that takes too long.

use super::cadence_span;
use crate::lint::graph::{describe, edges, paths};
use crate::lint::{Cx, Finding};

pub(crate) fn check(cx: &Cx, out: &mut Vec<Finding>) {
    for c in &cx.program.cadences {
        let all = paths(c, &edges(c), 1_000);
        let span = cadence_span(cx, c);
        if let Some(worst) = all.iter().max_by_key(|p| p.emails) {
            if worst.emails > cx.limits.max_emails {
                out.push(Finding {
                    file: c.file,
                    span,
                    message: format!(
                        "a contact can receive {} emails on one path (the limit is {})",
                        worst.emails, cx.limits.max_emails
                    ),
                    label: "this cadence".into(),
                    help: format!(
                        "the path: {}; shorten it, or raise the limit with --max-emails",
                        describe(c, worst)
                    ),
                });
            }
        }
        if let Some(worst) = all.iter().max_by(|a, b| a.days.total_cmp(&b.days)) {
            if worst.days > cx.limits.max_days {
                out.push(Finding {
                    file: c.file,
                    span,
                    message: format!(
                        "a path takes at least {:.0} days (the limit is {:.0})",
                        worst.days, cx.limits.max_days
                    ),
                    label: "this cadence".into(),
                    help: format!(
                        "the path: {}; shorten it, or raise the limit with --max-days",
                        describe(c, worst)
                    ),
                });
            }
        }
    }
}
