//! One file per lint rule.

pub mod auto_reply_ends_enrolment;
pub mod bounce_not_handled;
pub mod can_wait_forever;
pub mod cron_window_as_hours;
pub mod handler_never_fires;
pub mod loop_without_bound;
pub mod loop_without_delay;
pub mod merge_field_without_fallback;
pub mod missing_unsubscribe_link;
pub mod no_exit_on_reply;
pub mod path_too_long;
pub mod skip_falls_through;
pub mod timeout_before_window;
pub mod tracking_without_effect;
pub mod unreachable_step;
pub mod unused_declaration;
pub mod variant_test_too_small;

use crate::check::Cadence;
use crate::syntax::ast::ItemKind;
use crate::syntax::Span;

use super::Cx;

/// Where to report something about a whole cadence: its `cadence` line, or its first step.
pub(super) fn cadence_span(cx: &Cx, c: &Cadence) -> Span {
    cx.ast(c.file)
        .and_then(|a| {
            a.items.iter().find_map(|i| match &i.kind {
                ItemKind::Cadence(_) => Some(i.span),
                _ => None,
            })
        })
        .or_else(|| c.steps.first().map(|s| s.span))
        .unwrap_or_default()
}
