//! L213: `track opens` on a cadence whose emails are all plain text (a pixel needs HTML), or
//! `track clicks` on one whose emails hold no link.

use crate::check::{Cadence, TextPart};
use crate::lint::{Cx, Finding};
use crate::mail::render::{body_is_html, has_link};
use crate::syntax::ast::ItemKind;
use crate::syntax::Span;

/// The span of the `opens` or `clicks` word of a cadence's `track` statement.
fn track_span(cx: &Cx, c: &Cadence, what: &str) -> Option<Span> {
    cx.ast(c.file)?.items.iter().find_map(|i| match &i.kind {
        ItemKind::Track(items) => items
            .iter()
            .find(|t| t.what.node == what)
            .map(|t| t.what.span),
        _ => None,
    })
}

pub(crate) fn check(cx: &Cx, out: &mut Vec<Finding>) {
    let p = cx.program;
    for c in &p.cadences {
        let sent: Vec<_> = c
            .steps
            .iter()
            .flat_map(|s| s.action.templates())
            .filter_map(|t| p.templates.get(t.0))
            .collect();
        if c.track.opens && !sent.iter().any(|t| body_is_html(&t.body)) {
            if let Some(span) = track_span(cx, c, "opens") {
                out.push(Finding {
                    file: c.file,
                    span,
                    message: format!("\"{}\" tracks opens but sends no HTML email", c.name),
                    label: "no email can carry the open pixel".into(),
                    help: "an open is seen through an image, which only an HTML body can show: start a template's body with a tag (`<p>...`), or remove `opens`".into(),
                });
            }
        }
        let linked = sent.iter().any(|t| {
            t.body
                .parts
                .iter()
                .any(|part| matches!(part, TextPart::Literal(s) if has_link(s)))
        });
        if c.track.clicks && !linked {
            if let Some(span) = track_span(cx, c, "clicks") {
                out.push(Finding {
                    file: c.file,
                    span,
                    message: format!("\"{}\" tracks clicks but its emails hold no link", c.name),
                    label: "nothing to click".into(),
                    help: "the click redirect takes the place of an email's links: write one in a template (`https://...`), or remove `clicks`".into(),
                });
            }
        }
    }
}
