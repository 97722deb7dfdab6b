//! Checking of `test` blocks: contacts, inputs and expectations against the cadences given.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::expr::{invalid_date, invalid_duration, unknown_field};
use super::program::*;
use super::schema::{Schema, Type};
use crate::diagnostic::Diagnostic;
use crate::syntax::ast::{self, Literal, When};
use crate::syntax::{closest, FileId, Span, Spanned};
use crate::time::{parse_date, Duration};

struct Cx<'a> {
    diags: &'a mut Vec<Diagnostic>,
    file: FileId,
    cadences: &'a [Cadence],
    templates: &'a [Template],
    custom: &'a [String],
    /// Every field of every cadence, with its type (the first declaration wins).
    fields: HashMap<&'a str, &'a Type>,
    /// The cadence of the test's own file.
    scope: Option<usize>,
    /// The test deploys a new version: step numbers may be the new version's (they are
    /// checked when the test runs).
    deploys: bool,
    contacts: Vec<(String, Span)>,
}

fn instant(cx: &mut Cx, s: &Spanned<String>) -> Option<DateTime<Utc>> {
    match parse_date(&s.node) {
        Ok(DateValue::Instant(t)) => Some(t),
        Ok(DateValue::Day(_)) => {
            cx.diags.push(
                Diagnostic::error(
                    "E111",
                    cx.file,
                    s.span,
                    "a time in a test is an instant, not a day",
                    "a day",
                )
                .with_help(format!("write the time of day too: `{}T09:00:00Z`", s.node)),
            );
            None
        }
        Err(msg) => {
            cx.diags.push(invalid_date(cx.file, s.span, msg));
            None
        }
    }
}

/// Checks one test block; `None` when it has errors (already reported).
pub(crate) fn check_test(
    diags: &mut Vec<Diagnostic>,
    file: FileId,
    span: Span,
    t: &ast::TestBlock,
    cadences: &[Cadence],
    templates: &[Template],
    custom: &[String],
) -> Option<TestCase> {
    let before = diags.len();
    let mut fields: HashMap<&str, &Type> = HashMap::new();
    for c in cadences {
        for f in &c.schema.fields {
            fields.entry(f.name.as_str()).or_insert(&f.ty);
        }
    }
    let scope = cadences.iter().position(|c| c.file == file);
    let mut cx = Cx {
        diags,
        file,
        cadences,
        templates,
        custom,
        fields,
        scope,
        deploys: t.items.iter().any(|i| {
            matches!(&i.node, ast::TestItem::At { input, .. } if matches!(input.node, ast::TestInput::Deploy { .. }))
        }),
        contacts: Vec::new(),
    };

    // Contacts first: inputs may come before them in the block.
    let mut contacts = Vec::new();
    for item in &t.items {
        if let ast::TestItem::Contact { id, fields } = &item.node {
            if let Some((_, first)) = cx.contacts.iter().find(|(c, _)| *c == id.node) {
                let d = super::duplicate(
                    file,
                    id.span,
                    &format!("contact `{}`", id.node),
                    file,
                    *first,
                );
                cx.diags.push(d);
                continue;
            }
            cx.contacts.push((id.node.clone(), id.span));
            let mut values = vec![("id".to_string(), Value::Text(id.node.clone()))];
            for a in fields {
                if let Some(Some(v)) = assignment(&mut cx, a) {
                    values.push((a.field.node.clone(), v));
                }
            }
            contacts.push(TestContact {
                id: id.node.clone(),
                fields: values,
            });
        }
    }

    // The first instant anchors relative times: `start`, or the earliest input at an instant.
    let mut start: Option<DateTime<Utc>> = None;
    for item in &t.items {
        if let ast::TestItem::Start(s) = &item.node {
            if let Some(at) = instant(&mut cx, s) {
                start = Some(start.map_or(at, |x| x.min(at)));
            }
        }
        if let ast::TestItem::At { when, .. } = &item.node {
            if let When::Absolute(text) = &when.node {
                if let Ok(DateValue::Instant(at)) = parse_date(text) {
                    start = Some(start.map_or(at, |s| s.min(at)));
                }
            }
        }
    }
    let at_of = |cx: &mut Cx, when: &Spanned<When>| -> Option<DateTime<Utc>> {
        match &when.node {
            When::Absolute(text) => instant(cx, &Spanned::new(text.clone(), when.span)),
            When::Relative(text) => {
                let d = match Duration::parse(text) {
                    Ok(d) => d,
                    Err(e) => {
                        let at = Span::new(when.span.start + 1, when.span.end);
                        cx.diags.push(invalid_duration(cx.file, at, text, &e));
                        return None;
                    }
                };
                if d.business_days > 0 {
                    cx.diags.push(
                        Diagnostic::error(
                            "E110",
                            cx.file,
                            when.span,
                            "a test time cannot be in business days",
                            "business days",
                        )
                        .with_help("write calendar time, such as `at +3d: ...`"),
                    );
                    return None;
                }
                match start {
                    Some(s) => Some(s + chrono::Duration::seconds(d.seconds)),
                    None => {
                        cx.diags.push(
                            Diagnostic::error(
                                "E126",
                                cx.file,
                                when.span,
                                "a relative time needs an instant to count from",
                                "relative to what?",
                            )
                            .with_help("give the test a start (`start 2026-01-05T09:00:00Z`) or an input an instant (`at 2026-01-05T09:00:00Z: enroll alice`)"),
                        );
                        None
                    }
                }
            }
        }
    };

    let mut inputs = Vec::new();
    let mut expects = Vec::new();
    let mut pins = Vec::new();
    let mut until = None;
    for item in &t.items {
        match &item.node {
            ast::TestItem::Contact { .. } | ast::TestItem::Start(_) => {}
            ast::TestItem::Pin {
                contact: c,
                step,
                variant,
            } => {
                let contact = contact(&mut cx, c);
                let step = step_number(&mut cx, step)
                    .and_then(|n| variant_of(&mut cx, n, variant).map(|v| (n, v)));
                if let (Some(contact), Some((step, variant))) = (contact, step) {
                    pins.push(TestPin {
                        contact,
                        step,
                        variant,
                    });
                }
            }
            ast::TestItem::Until(when) => until = at_of(&mut cx, when),
            ast::TestItem::At { when, input } => {
                let at = at_of(&mut cx, when);
                let mut action = action(&mut cx, input);
                if let (
                    Some(TestAction::Pause { until, .. }),
                    ast::TestInput::Pause { until: Some(u), .. },
                ) = (&mut action, &input.node)
                {
                    *until = at_of(&mut cx, u);
                    if let (Some(end), Some(from)) = (*until, at) {
                        if end <= from {
                            cx.diags.push(
                                Diagnostic::error(
                                    "E134",
                                    cx.file,
                                    u.span,
                                    "this pause ends before it starts",
                                    "at or before the input's own time",
                                )
                                .with_help(format!(
                                    "give an end after {} (a `+DURATION` counts from the test's first instant)",
                                    from.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                                )),
                            );
                            action = None;
                        }
                    }
                }
                if let (Some(at), Some(action)) = (at, action) {
                    inputs.push(TestInput {
                        at,
                        span: item.span,
                        action,
                    });
                }
            }
            ast::TestItem::Expect(e) => {
                let contact = contact(&mut cx, &e.contact);
                let what = expectation(&mut cx, &e.what);
                let at = e.at.as_ref().and_then(|a| instant(&mut cx, a));
                let by = e.by.as_ref().and_then(|b| instant(&mut cx, b));
                if let (Some(contact), Some(what)) = (contact, what) {
                    expects.push(TestExpect {
                        span: item.span,
                        contact,
                        what,
                        at,
                        by,
                    });
                }
            }
        }
    }
    if start.is_none() && !t.items.is_empty() {
        let has_inputs = t
            .items
            .iter()
            .any(|i| matches!(i.node, ast::TestItem::At { .. }));
        if has_inputs {
            // Reported on the relative times already.
        } else {
            cx.diags.push(
                Diagnostic::error(
                    "E126",
                    file,
                    t.name.span,
                    format!("test \"{}\" has no input at an instant", t.name.node),
                    "nothing happens in this test",
                )
                .with_help("add an input with an instant: `at 2026-01-05T09:00:00Z: enroll alice`"),
            );
        }
    }
    if cx.diags.len() > before {
        return None;
    }
    Some(TestCase {
        name: t.name.node.clone(),
        file,
        span,
        scope,
        start: start?,
        until,
        contacts,
        inputs,
        expects,
        pins,
    })
}

/// The template `name` as a variant of step `number` (in the cadences in scope).
fn variant_of(cx: &mut Cx, number: u32, name: &Spanned<String>) -> Option<String> {
    let mut known: Vec<&str> = Vec::new();
    for c in in_scope(cx) {
        let Some(i) = c.step_index(number) else {
            continue;
        };
        if let Action::Email { variants, .. } = &c.steps[i].action {
            for v in variants {
                if let Some(t) = cx.templates.get(v.template.0) {
                    if t.name == name.node {
                        return Some(name.node.clone());
                    }
                    known.push(&t.name);
                }
            }
        }
    }
    let d = Diagnostic::error(
        "E131",
        cx.file,
        name.span,
        format!("step {number} has no variant `{}`", name.node),
        "not a variant of this step",
    );
    let d = if known.is_empty() {
        d.with_help(format!(
            "step {number} sends one template; variants are written `step {number}: email variants(a 50%, b 50%)`"
        ))
    } else {
        match closest(&name.node, known.iter().copied()) {
            Some(c) => d.with_help(format!("did you mean `{c}`?")),
            None => d.with_help(format!(
                "the variants of step {number} are {}",
                known.join(", ")
            )),
        }
    };
    cx.diags.push(d);
    None
}

/// A field assignment: the field must exist and the value fit its type. `Some(None)` unsets.
fn assignment(cx: &mut Cx, a: &ast::Assignment) -> Option<Option<Value>> {
    let Some(ty) = cx.fields.get(a.field.node.as_str()).copied() else {
        let schema = cx
            .cadences
            .first()
            .map(|c| c.schema.clone())
            .unwrap_or_else(|| Schema::new(Default::default()));
        cx.diags
            .push(unknown_field(cx.file, a.field.span, &a.field.node, &schema));
        return None;
    };
    // An empty string unsets a field of any type (an empty CSV cell does the same).
    if matches!(&a.value.node, Literal::Str(s) if s.is_empty()) {
        return Some(None);
    }
    let mismatch = |cx: &mut Cx, what: &str| {
        cx.diags.push(
            Diagnostic::error(
                "E101",
                cx.file,
                a.value.span,
                format!("field `{}` is {ty}, but this is {what}", a.field.node),
                format!("not {ty}"),
            )
            .with_help(match ty {
                Type::Number => "write a number without quotes: `seats = 3`",
                Type::Bool => "write `true` or `false`",
                Type::Date => {
                    "write a date or an instant: `appointment_date = 2026-03-10T14:00:00Z`"
                }
                _ => "write the value in quotes: `plan = \"pro\"`",
            }),
        );
        None
    };
    match (&a.value.node, ty) {
        (Literal::Str(s), t) if t.is_textual() => match crate::sim::parse_value(t, s) {
            Ok(v) => Some(v),
            Err(msg) => {
                let code = if matches!(t, Type::Enum(_)) {
                    "E123"
                } else {
                    "E101"
                };
                cx.diags.push(
                    Diagnostic::error(code, cx.file, a.value.span, msg, format!("not a valid {t}"))
                        .with_help("give a value of the field's type"),
                );
                None
            }
        },
        (Literal::Number(n), Type::Number) => Some(Some(Value::Number(*n))),
        (Literal::Bool(b), Type::Bool) => Some(Some(Value::Bool(*b))),
        (Literal::Date(d), Type::Date) | (Literal::Str(d), Type::Date) => match parse_date(d) {
            Ok(v) => Some(Some(Value::Date(v))),
            Err(msg) => {
                cx.diags.push(invalid_date(cx.file, a.value.span, msg));
                None
            }
        },
        (Literal::Str(_), _) => mismatch(cx, "text"),
        (Literal::Number(_), _) => mismatch(cx, "a number"),
        (Literal::Bool(_), _) => mismatch(cx, "true or false"),
        (Literal::Date(_), _) => mismatch(cx, "a date"),
    }
}

fn contact(cx: &mut Cx, id: &Spanned<String>) -> Option<usize> {
    if let Some(i) = cx.contacts.iter().position(|(c, _)| *c == id.node) {
        return Some(i);
    }
    let d = Diagnostic::error(
        "E124",
        cx.file,
        id.span,
        format!("unknown contact `{}` in this test", id.node),
        "not declared in this test",
    );
    let names: Vec<&str> = cx.contacts.iter().map(|(c, _)| c.as_str()).collect();
    cx.diags.push(match closest(&id.node, names) {
        Some(c) => d.with_help(format!(
            "did you mean `{c}`? or declare it: `contact {} email = \"...\"`",
            id.node
        )),
        None => d.with_help(format!(
            "declare it in the test: `contact {} email = \"{}@example.test\"`",
            id.node, id.node
        )),
    });
    None
}

fn cadence(cx: &mut Cx, name: &Option<Spanned<String>>) -> Option<Option<usize>> {
    let Some(name) = name else { return Some(None) };
    if let Some(i) = cx
        .cadences
        .iter()
        .position(|c| c.name == name.node)
        .or_else(|| cx.cadences.iter().position(|c| c.stem == name.node))
    {
        return Some(Some(i));
    }
    let names: Vec<String> = cx
        .cadences
        .iter()
        .map(|c| format!("\"{}\"", c.name))
        .collect();
    cx.diags.push(
        Diagnostic::error(
            "E125",
            cx.file,
            name.span,
            format!("unknown cadence \"{}\"", name.node),
            "no cadence of this name",
        )
        .with_help(format!(
            "the cadences given are {}; name one by its display name or file stem",
            names.join(", ")
        )),
    );
    None
}

/// The cadences a test is about: its own file's, or all.
fn in_scope<'a>(cx: &Cx<'a>) -> impl Iterator<Item = &'a Cadence> + 'a {
    let scope = cx.scope;
    cx.cadences
        .iter()
        .enumerate()
        .filter(move |(i, _)| scope.is_none_or(|s| s == *i))
        .map(|(_, c)| c)
}

fn step_number(cx: &mut Cx, n: &Spanned<String>) -> Option<u32> {
    let number = n.node.parse::<u32>().ok();
    if let Some(k) = number {
        if cx.deploys || in_scope(cx).any(|c| c.step_index(k).is_some()) {
            return Some(k);
        }
    }
    let list: Vec<String> = in_scope(cx)
        .flat_map(|c| c.steps.iter().map(|s| s.number.to_string()))
        .collect();
    cx.diags.push(
        Diagnostic::error(
            "E103",
            cx.file,
            n.span,
            format!("there is no step {}", n.node),
            "no such step",
        )
        .with_help(format!("the steps are {}", list.join(", "))),
    );
    None
}

fn action(cx: &mut Cx, input: &Spanned<ast::TestInput>) -> Option<TestAction> {
    match &input.node {
        ast::TestInput::Deploy { file } => Some(TestAction::Deploy {
            file: file.node.clone(),
        }),
        ast::TestInput::Pause {
            contact: c,
            catch_up,
            ..
        } => Some(TestAction::Pause {
            contact: contact(cx, c)?,
            until: None,
            catch_up: *catch_up,
        }),
        ast::TestInput::Resume {
            contact: c,
            catch_up,
        } => Some(TestAction::Resume {
            contact: contact(cx, c)?,
            catch_up: *catch_up,
        }),
        ast::TestInput::Enroll {
            contact: c,
            cadence: cad,
        }
        | ast::TestInput::Unenroll {
            contact: c,
            cadence: cad,
        } => {
            let contact = contact(cx, c);
            let cadence = cadence(cx, cad);
            let (contact, cadence) = (contact?, cadence?);
            Some(if matches!(input.node, ast::TestInput::Enroll { .. }) {
                TestAction::Enroll { contact, cadence }
            } else {
                TestAction::Unenroll { contact, cadence }
            })
        }
        ast::TestInput::Set { contact: c, fields } => {
            let contact = contact(cx, c);
            let mut values = Vec::new();
            let mut ok = true;
            for a in fields {
                match assignment(cx, a) {
                    Some(v) => values.push((a.field.node.clone(), v)),
                    None => ok = false,
                }
            }
            (ok && contact.is_some()).then(|| TestAction::Set {
                contact: contact.unwrap_or_default(),
                fields: values,
            })
        }
        ast::TestInput::Event {
            contact: c,
            event,
            step,
            until,
        } => {
            let contact = contact(cx, c);
            let step_no = match step {
                Some(n) => Some(step_number(cx, n)?),
                None => None,
            };
            if let Some(o) = Outcome::from_name(&event.node) {
                if let Some(n) = step_no {
                    let fits = in_scope(cx)
                        .filter_map(|c| c.step_index(n).map(|i| &c.steps[i]))
                        .any(|s| o.fits(s.action.channel()));
                    if !fits {
                        cx.diags.push(
                            Diagnostic::error(
                                "E105",
                                cx.file,
                                event.span,
                                format!("step {n} cannot produce `{}`", event.node),
                                "not an outcome of that step",
                            )
                            .with_help("name a step whose channel has this outcome"),
                        );
                        return None;
                    }
                }
                let back = match until {
                    None => None,
                    Some(u) if o == Outcome::AutoReply => {
                        match crate::sim::csvin::back_date(&u.node) {
                            Some(d) => Some(d),
                            None => {
                                cx.diags.push(invalid_date(
                                    cx.file,
                                    u.span,
                                    format!(
                                        "`{}` is not the day they are back (2026-03-12)",
                                        u.node
                                    ),
                                ));
                                return None;
                            }
                        }
                    }
                    Some(u) => {
                        cx.diags.push(
                            Diagnostic::error(
                                "E105",
                                cx.file,
                                u.span,
                                format!("`until` goes with `auto_reply`, not `{}`", event.node),
                                "only an out-of-office answer names a day",
                            )
                            .with_help("remove `until ...`, or make the event `auto_reply`"),
                        );
                        return None;
                    }
                };
                return Some(TestAction::Outcome {
                    contact: contact?,
                    outcome: o,
                    step: step_no,
                    back,
                });
            }
            if let Some(i) = cx.custom.iter().position(|e| *e == event.node) {
                return Some(TestAction::Custom {
                    contact: contact?,
                    event: i,
                });
            }
            let known: Vec<&str> = Outcome::ALL
                .iter()
                .map(|o| o.name())
                .chain(cx.custom.iter().map(String::as_str))
                .collect();
            let d = Diagnostic::error(
                "E114",
                cx.file,
                event.span,
                format!("unknown event `{}`", event.node),
                "no such event",
            );
            cx.diags.push(if Timeout::from_name(&event.node).is_some() {
                d.with_help(format!("`{}` is a timeout: the engine fires it when nothing happens; move the clock instead (`until +3d`)", event.node))
            } else {
                match closest(&event.node, known) {
                    Some(c) => d.with_help(format!("did you mean `{c}`?")),
                    None => d.with_help("an input event is an outcome (opened, clicked, replied, answered, ...) or a custom event declared with `event NAME`"),
                }
            });
            None
        }
    }
}

fn expectation(cx: &mut Cx, e: &Spanned<ast::Expectation>) -> Option<Expectation> {
    Some(match &e.node {
        ast::Expectation::Executed(n) => Expectation::Executed(step_number(cx, n)?),
        ast::Expectation::ExecutedVariant { step, variant } => {
            let n = step_number(cx, step)?;
            Expectation::ExecutedVariant(n, variant_of(cx, n, variant)?)
        }
        ast::Expectation::NotExecuted(n) => Expectation::NotExecuted(step_number(cx, n)?),
        ast::Expectation::Skipped(n) => Expectation::Skipped(step_number(cx, n)?),
        ast::Expectation::AtStep(n) => Expectation::AtStep(step_number(cx, n)?),
        ast::Expectation::Completed => Expectation::Completed,
        ast::Expectation::Exited(r) => Expectation::Exited(r.as_ref().map(|r| r.node.clone())),
        ast::Expectation::Goal(g) => Expectation::Goal(g.as_ref().map(|g| g.node.clone())),
    })
}
