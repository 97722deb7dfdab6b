//! L208: a template, field or event that nothing uses.

use std::collections::HashSet;

use crate::check::{At, EndTrigger, EventName, Expr, TextPart, Zone};
use crate::lint::{Cx, Finding};
use crate::syntax::ast::ItemKind;

fn fields_of(e: &Expr, schema: &crate::check::Schema, used: &mut HashSet<String>) {
    let mut ids = Vec::new();
    e.fields(&mut ids);
    for f in ids {
        used.insert(schema.field(f).name.clone());
    }
}

pub(crate) fn check(cx: &Cx, out: &mut Vec<Finding>) {
    let p = cx.program;
    if p.cadences.is_empty() {
        // A library checked alone: its declarations are for cadences not given.
        return;
    }
    let mut used_fields: HashSet<String> = HashSet::new();
    let mut used_templates = HashSet::new();
    let mut used_events = HashSet::new();
    for c in &p.cadences {
        let s = &c.schema;
        if let Some(e) = &c.enroll {
            fields_of(e, s, &mut used_fields);
        }
        for r in c.exits.iter().chain(&c.goals) {
            match &r.trigger {
                EndTrigger::When(e) => fields_of(e, s, &mut used_fields),
                EndTrigger::Event(EventName::Custom(i)) => {
                    used_events.insert(*i);
                }
                EndTrigger::Event(_) => {}
            }
        }
        if let Zone::Field { field, .. } = c.zone {
            used_fields.insert(s.field(field).name.clone());
        }
        for st in &c.steps {
            if let Some(g) = &st.guard {
                fields_of(g, s, &mut used_fields);
            }
            if let Some(At::Field { field, .. }) = &st.at {
                used_fields.insert(s.field(*field).name.clone());
            }
            for part in &st.owner {
                if let crate::check::OwnerPart::Field(field) = part {
                    used_fields.insert(s.field(*field).name.clone());
                }
            }
            for t in st.action.templates() {
                used_templates.insert(t.0);
            }
            if let Some(subject) = &st.subject {
                for part in &subject.parts {
                    if let TextPart::Merge { name, .. } = part {
                        used_fields.insert(name.clone());
                    }
                }
            }
        }
    }
    for (i, t) in p.templates.iter().enumerate() {
        for part in t.subject.parts.iter().chain(&t.body.parts) {
            if let TextPart::Merge { name, .. } = part {
                if used_templates.contains(&i) {
                    used_fields.insert(name.clone());
                }
            }
        }
        if !used_templates.contains(&i) {
            out.push(Finding {
                file: t.file,
                span: t.span,
                message: format!("template `{}` is never sent", t.name),
                label: "no email step uses it".into(),
                help: format!(
                    "send it from a step (`step N: email {}`) or remove it",
                    t.name
                ),
            });
        }
    }
    for (file, a) in cx.files {
        for item in &a.items {
            match &item.kind {
                ItemKind::Field(f) if !used_fields.contains(&f.name.node) => out.push(Finding {
                    file: *file,
                    span: f.name.span,
                    message: format!("field `{}` is never used", f.name.node),
                    label: "declared here".into(),
                    help: "use it in a condition, a merge field or `at FIELD`, or remove the declaration".into(),
                }),
                ItemKind::Event(e) => {
                    let i = p.custom_events.iter().position(|x| *x == e.node);
                    if i.is_some_and(|i| !used_events.contains(&i)) {
                        out.push(Finding {
                            file: *file,
                            span: e.span,
                            message: format!("event `{}` is declared but no rule reacts to it", e.node),
                            label: "declared here".into(),
                            help: format!("react to it with `exit on {0}` or `goal \"...\" on {0}`, or remove it", e.node),
                        });
                    }
                }
                _ => {}
            }
        }
    }
}
