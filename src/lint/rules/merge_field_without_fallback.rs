//! L207: a merge field of an optional field without a fallback.

use crate::check::template::{parse_text, UNSUBSCRIBE_LINK};
use crate::lint::{Cx, Finding};
use crate::syntax::ast::{self, ItemKind, StepOption};
use crate::syntax::Span;

/// Fields that are always set when an email goes out.
const ALWAYS: &[&str] = &["id", "email", "contact_email", UNSUBSCRIBE_LINK];

fn scan(cx: &Cx, file: crate::syntax::FileId, s: &ast::Str, out: &mut Vec<Finding>) {
    let raw = &cx.sources.get(file).text[s.content.range()];
    let (_, refs, _) = parse_text(raw);
    for r in refs {
        if r.fallback.is_some() || ALWAYS.contains(&r.name.as_str()) {
            continue;
        }
        let span = Span::new(s.content.start + r.name_at.0, s.content.start + r.name_at.1);
        out.push(Finding {
            file,
            span,
            message: format!("`{{{{{}}}}}` has no fallback", r.name),
            label: "empty when the record has no value".into(),
            help: format!("give a fallback: `{{{{{} | there}}}}` (or quoted: `{{{{{} | \"dear customer\"}}}}`)", r.name, r.name),
        });
    }
}

pub(crate) fn check(cx: &Cx, out: &mut Vec<Finding>) {
    for (file, a) in cx.files {
        for item in &a.items {
            match &item.kind {
                ItemKind::Template(t) => {
                    if let Some(s) = &t.subject {
                        scan(cx, *file, s, out);
                    }
                    if let Some(ast::Body::Inline(s)) = &t.body {
                        scan(cx, *file, s, out);
                    }
                }
                ItemKind::Step(st) => {
                    for o in &st.options {
                        if let StepOption::Subject(s) = &o.node {
                            scan(cx, *file, s, out);
                        }
                    }
                }
                _ => {}
            }
        }
    }
}
