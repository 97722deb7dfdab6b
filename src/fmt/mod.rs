//! `cadence fmt`: prints a file's syntax tree back in one canonical layout, comments kept.
//!
//! The layout: the header (`cadence`, `module`), declarations (`field`, `event`), rules
//! (`enroll`, then `exit`/`goal` in the order written, which is the order they apply), settings
//! (`timezone` ... `holidays`), templates, steps, tests, with one blank line between sections;
//! `on` lines indented under their step with their arrows aligned. Steps, templates, tests and
//! rules keep their order. A comment stays with the statement it precedes, or at the end of the
//! line it ends.

mod diff;

pub use diff::unified_diff;

use crate::syntax::ast::*;
use crate::syntax::{SourceFile, Span, Spanned};

/// A line of output with the source span it comes from (for placing comments).
struct Element {
    span: Span,
    /// The lines of the element (the first one takes the element's trailing comment).
    lines: Vec<String>,
    /// Comments on lines of their own just before the element.
    leading: Vec<String>,
    trailing: Option<String>,
}

/// A string literal of the language (`"`, `\\`, newline and tab escaped).
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A name as written in a cadence: bare when it is an identifier, quoted otherwise.
pub fn name_text(s: &str) -> String {
    name(s)
}

fn name(s: &str) -> String {
    let ident = s
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ident {
        s.to_string()
    } else {
        quote(s)
    }
}

fn number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// An expression as written (parentheses kept).
pub fn expr(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Field(f) => f.clone(),
        ExprKind::Str(s) => quote(s),
        ExprKind::Number(n) => number(*n),
        ExprKind::Bool(b) => b.to_string(),
        ExprKind::Date(d) | ExprKind::Duration(d) => d.clone(),
        ExprKind::Now => "now".into(),
        ExprKind::Not(x) => format!("not {}", expr(x)),
        ExprKind::Binary(op, a, b) => format!("{} {} {}", expr(a), op.as_str(), expr(b)),
        ExprKind::Is {
            expr: x,
            test,
            negated,
        } => format!(
            "{} is {}{}",
            expr(x),
            if *negated { "not " } else { "" },
            match test {
                IsTest::Set => "set",
                IsTest::Empty => "empty",
            }
        ),
        ExprKind::In {
            expr: x,
            list,
            negated,
        } => format!(
            "{} {}in [{}]",
            expr(x),
            if *negated { "not " } else { "" },
            list.iter().map(expr).collect::<Vec<_>>().join(", ")
        ),
        ExprKind::Paren(x) => format!("({})", expr(x)),
    }
}

pub(crate) fn string(s: &Str, indent: &str) -> String {
    if !s.triple {
        return quote(&s.value);
    }
    let mut out = String::from("\"\"\"\n");
    for line in s.value.split('\n') {
        if !line.is_empty() {
            out.push_str(indent);
            out.push_str(line);
        }
        out.push('\n');
    }
    out.push_str(indent);
    out.push_str("\"\"\"");
    out
}

fn trigger(t: &Trigger) -> String {
    match t {
        Trigger::On(e) => format!("on {}", e.node),
        Trigger::When(e) => format!("when {}", expr(e)),
    }
}

pub(crate) fn rule(word: &str, r: &ExitRule) -> String {
    match &r.name {
        Some(n) => format!("{word} {} {}", quote(&n.node), trigger(&r.trigger)),
        None => format!("{word} {}", trigger(&r.trigger)),
    }
}

pub(crate) fn type_expr(t: &TypeExpr) -> String {
    match t {
        TypeExpr::Named(n) => n.clone(),
        TypeExpr::Enum(v) => format!(
            "enum({})",
            v.iter()
                .map(|s| quote(&s.node))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn option_rank(o: &StepOption) -> u8 {
    match o {
        StepOption::After(_) => 0,
        StepOption::AtCron(_) | StepOption::AtField { .. } => 1,
        StepOption::Due(_) => 2,
        StepOption::Priority(_) => 3,
        StepOption::Owner(_) => 4,
        StepOption::From(_) => 5,
        StepOption::ReplyTo(_) => 6,
        StepOption::Subject(_) => 7,
        StepOption::If(_) => 8,
    }
}

pub(crate) fn option(o: &StepOption) -> String {
    match o {
        StepOption::After(d) => format!("after {}", d.node),
        StepOption::AtCron(c) => format!("at {}", quote(&c.node)),
        StepOption::AtField { field, offset } => match offset {
            Some((Sign::Plus, d)) => format!("at {} + {}", field.node, d.node),
            Some((Sign::Minus, d)) => format!("at {} - {}", field.node, d.node),
            None => format!("at {}", field.node),
        },
        StepOption::If(e) => format!("if {}", expr(e)),
        StepOption::Priority(p) => format!("priority {}", p.node),
        StepOption::Owner(parts) => {
            let parts: Vec<String> = parts
                .iter()
                .map(|p| match p {
                    OwnerPart::Field(f) => f.node.clone(),
                    OwnerPart::Fixed(s) => quote(&s.node),
                })
                .collect();
            format!("owner {}", parts.join(" | "))
        }
        StepOption::Due(d) => format!("due {}", d.node),
        StepOption::From(f) => format!("from {}", quote(&f.node)),
        StepOption::ReplyTo(r) => format!("reply_to {}", quote(&r.node)),
        StepOption::Subject(s) => format!("subject {}", string(s, "")),
    }
}

pub(crate) fn target(t: &Target) -> String {
    match t {
        Target::Step(n) => format!("step {}", n.node),
        Target::Next => "next".into(),
        Target::Done => "done".into(),
        Target::Exit(None) => "exit".into(),
        Target::Exit(Some(r)) => format!("exit {}", quote(&r.node)),
    }
}

fn assignments(a: &[Assignment]) -> String {
    a.iter()
        .map(|a| {
            let v = match &a.value.node {
                Literal::Str(s) => quote(s),
                Literal::Number(n) => number(*n),
                Literal::Bool(b) => b.to_string(),
                Literal::Date(d) => d.clone(),
            };
            format!("{} = {v}", a.field.node)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn when(w: &When) -> String {
    match w {
        When::Absolute(a) => a.clone(),
        When::Relative(r) => format!("+{r}"),
    }
}

fn test_item(t: &TestItem) -> String {
    match t {
        TestItem::Contact { id, fields } => {
            if fields.is_empty() {
                format!("contact {}", id.node)
            } else {
                format!("contact {} {}", id.node, assignments(fields))
            }
        }
        TestItem::At { when: w, input } => {
            let i = match &input.node {
                TestInput::Enroll { contact, cadence }
                | TestInput::Unenroll { contact, cadence } => {
                    let word = if matches!(input.node, TestInput::Enroll { .. }) {
                        "enroll"
                    } else {
                        "unenroll"
                    };
                    match cadence {
                        Some(c) => format!("{word} {} {}", contact.node, name(&c.node)),
                        None => format!("{word} {}", contact.node),
                    }
                }
                TestInput::Set { contact, fields } => {
                    format!("set {} {}", contact.node, assignments(fields))
                }
                TestInput::Event {
                    contact,
                    event,
                    step,
                    until,
                } => {
                    let mut i = format!("{} {}", contact.node, event.node);
                    if let Some(n) = step {
                        i.push_str(&format!(" step {}", n.node));
                    }
                    if let Some(u) = until {
                        i.push_str(&format!(" until {}", u.node));
                    }
                    i
                }
                TestInput::Deploy { file } => format!("deploy {}", quote(&file.node)),
                TestInput::Pause {
                    contact,
                    until,
                    catch_up,
                } => {
                    let mut i = format!("pause {}", contact.node);
                    if let Some(u) = until {
                        i.push_str(&format!(" until {}", when(&u.node)));
                    }
                    if *catch_up {
                        i.push_str(" catch-up");
                    }
                    i
                }
                TestInput::Resume { contact, catch_up } => {
                    if *catch_up {
                        format!("resume {} catch-up", contact.node)
                    } else {
                        format!("resume {}", contact.node)
                    }
                }
            };
            format!("at {}: {i}", when(&w.node))
        }
        TestItem::Until(w) => format!("until {}", when(&w.node)),
        TestItem::Start(s) => format!("start {}", s.node),
        TestItem::Pin {
            contact,
            step,
            variant,
        } => format!(
            "pin {} step {} variant {}",
            contact.node,
            step.node,
            name(&variant.node)
        ),
        TestItem::Expect(e) => {
            let what = match &e.what.node {
                Expectation::Executed(n) => format!("executed step {}", n.node),
                Expectation::ExecutedVariant { step, variant } => format!(
                    "executed step {} variant {}",
                    step.node,
                    name(&variant.node)
                ),
                Expectation::NotExecuted(n) => format!("not executed step {}", n.node),
                Expectation::Skipped(n) => format!("skipped step {}", n.node),
                Expectation::AtStep(n) => format!("at step {}", n.node),
                Expectation::Completed => "completed".into(),
                Expectation::Exited(r) => r
                    .as_ref()
                    .map_or("exited".into(), |r| format!("exited {}", quote(&r.node))),
                Expectation::Goal(g) => g
                    .as_ref()
                    .map_or("goal".into(), |g| format!("goal {}", quote(&g.node))),
            };
            let mut s = format!("expect {} {what}", e.contact.node);
            if let Some(a) = &e.at {
                s.push_str(&format!(" at {}", a.node));
            }
            if let Some(b) = &e.by {
                s.push_str(&format!(" by {}", b.node));
            }
            s
        }
    }
}

/// `mon-thu 09:00-12:00, 13:00-17:30; fri 09:00-15:00`: day names in lower case, times as
/// HH:MM where they are valid (as written where they are not).
pub(crate) fn window_hours(groups: &[WindowGroup]) -> String {
    let time = |c: &Spanned<String>| match crate::time::window::parse_clock(&c.node) {
        Some(m) => crate::time::window::clock(m),
        None => c.node.clone(),
    };
    let group = |g: &WindowGroup| {
        let days: Vec<String> = g
            .days
            .iter()
            .map(|d| match &d.to {
                Some(t) => format!("{}-{}", d.from.node, t.node).to_ascii_lowercase(),
                None => d.from.node.to_ascii_lowercase(),
            })
            .collect();
        let ranges: Vec<String> = g
            .ranges
            .iter()
            .map(|r| format!("{}-{}", time(&r.start), time(&r.end)))
            .collect();
        if days.is_empty() {
            ranges.join(", ")
        } else {
            format!("{} {}", days.join(","), ranges.join(", "))
        }
    };
    groups.iter().map(group).collect::<Vec<_>>().join("; ")
}

/// `email welcome`, `email variants(a 50%, b 50%)`, `call "Intro"`, `task "X" type call`.
pub(crate) fn action(a: &Action) -> String {
    match a {
        Action::Email { template, variants } if variants.is_empty() => {
            format!("email {}", name(&template.node))
        }
        Action::Email { variants, .. } => {
            let list: Vec<String> = variants
                .iter()
                .map(|v| match &v.weight {
                    Some(w) => format!("{} {}", name(&v.template.node), w.node),
                    None => name(&v.template.node),
                })
                .collect();
            format!("email variants({})", list.join(", "))
        }
        Action::Call { subject } => format!("call {}", quote(&subject.node)),
        Action::Task { subject, kind } => match kind {
            Some(k) => format!("task {} type {}", quote(&subject.node), k.node),
            None => format!("task {}", quote(&subject.node)),
        },
    }
}

/// The section a top-level statement belongs to, in output order.
fn section(kind: &ItemKind) -> u8 {
    match kind {
        ItemKind::Cadence(_) | ItemKind::Module(_) => 0,
        ItemKind::Field(_) | ItemKind::Event(_) => 1,
        ItemKind::Enroll(_) | ItemKind::Exit(_) | ItemKind::Goal(_) => 2,
        ItemKind::Timezone(_)
        | ItemKind::Window(_)
        | ItemKind::Limit(_)
        | ItemKind::From(_)
        | ItemKind::ReplyTo(_)
        | ItemKind::Reenroll(_)
        | ItemKind::PauseOn { .. }
        | ItemKind::Holidays(_)
        | ItemKind::Track(_) => 3,
        ItemKind::Template(_) => 4,
        ItemKind::Step(_) | ItemKind::Error { .. } => 5,
        ItemKind::Migrate(_) => 6,
        ItemKind::Test(_) => 7,
    }
}

/// Order within a section (stable otherwise): `cadence` before `module`, fields before events,
/// `enroll` before the rules, settings in the order of the reference.
fn rank(kind: &ItemKind) -> u8 {
    match kind {
        ItemKind::Cadence(_) | ItemKind::Field(_) | ItemKind::Enroll(_) | ItemKind::Timezone(_) => {
            0
        }
        ItemKind::Module(_) | ItemKind::Event(_) | ItemKind::Window(_) => 1,
        ItemKind::Limit(_) => 2,
        ItemKind::From(_) => 3,
        ItemKind::ReplyTo(_) => 4,
        ItemKind::Reenroll(_) | ItemKind::PauseOn { .. } => 5,
        ItemKind::Holidays(_) => 6,
        ItemKind::Track(_) => 7,
        _ => 1,
    }
}

/// One item as elements (a step is its line and its `on` lines; blocks their lines).
fn elements(item: &Item) -> Vec<Element> {
    let el = |span: Span, line: String| Element {
        span,
        lines: vec![line],
        leading: Vec::new(),
        trailing: None,
    };
    match &item.kind {
        ItemKind::Cadence(n) => vec![el(item.span, format!("cadence {}", quote(&n.node)))],
        ItemKind::Module(m) => vec![el(item.span, format!("module {}", m.node))],
        ItemKind::Field(f) => vec![el(
            item.span,
            format!("field {}: {}", f.name.node, type_expr(&f.ty.node)),
        )],
        ItemKind::Event(e) => vec![el(item.span, format!("event {}", e.node))],
        ItemKind::Enroll(e) => vec![el(item.span, format!("enroll when {}", expr(e)))],
        ItemKind::Exit(r) => vec![el(item.span, rule("exit", r))],
        ItemKind::Goal(r) => vec![el(item.span, rule("goal", r))],
        ItemKind::Timezone(TimezoneSpec::Named(n)) => {
            vec![el(item.span, format!("timezone {}", quote(&n.node)))]
        }
        ItemKind::Timezone(TimezoneSpec::Field { field, default }) => vec![el(
            item.span,
            match default {
                Some(d) => format!("timezone field {} default {}", field.node, quote(&d.node)),
                None => format!("timezone field {}", field.node),
            },
        )],
        ItemKind::Window(WindowSpec::Cron(w)) => {
            vec![el(item.span, format!("window {}", quote(&w.node)))]
        }
        ItemKind::Window(WindowSpec::Hours(groups)) => {
            vec![el(item.span, format!("window {}", window_hours(groups)))]
        }
        ItemKind::Limit(l) => vec![el(
            item.span,
            format!(
                "limit {} {} per {}",
                l.count.node, l.unit.node, l.period.node
            ),
        )],
        ItemKind::From(f) => vec![el(item.span, format!("from {}", quote(&f.node)))],
        ItemKind::ReplyTo(r) => vec![el(item.span, format!("reply_to {}", quote(&r.node)))],
        ItemKind::Reenroll(d) => vec![el(item.span, format!("reenroll after {}", d.node))],
        ItemKind::PauseOn { event, default } => vec![el(
            item.span,
            match default {
                Some(d) => format!("pause on {} {}", event.node, d.node),
                None => format!("pause on {}", event.node),
            },
        )],
        ItemKind::Holidays(ds) => vec![el(
            item.span,
            format!(
                "holidays [{}]",
                ds.iter()
                    .map(|d| d.node.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )],
        ItemKind::Track(items) => vec![el(
            item.span,
            format!(
                "track {}",
                items
                    .iter()
                    .map(|i| match &i.including {
                        Some(w) => format!("{} including {}", i.what.node, w.node),
                        None => i.what.node.clone(),
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )],
        ItemKind::Template(t) => {
            let open_end = t.name.span.end;
            let mut out = vec![el(
                Span::new(item.span.start, open_end),
                format!("template {} {{", name(&t.name.node)),
            )];
            let mut inner: Vec<(Span, String)> = Vec::new();
            if let Some(s) = &t.subject {
                inner.push((s.span, format!("  subject {}", string(s, "  "))));
            }
            match &t.body {
                Some(Body::Inline(s)) => {
                    inner.push((s.span, format!("  body {}", string(s, "  "))))
                }
                Some(Body::File(p)) => {
                    inner.push((p.span, format!("  body file {}", quote(&p.node))))
                }
                None => {}
            }
            inner.sort_by_key(|(s, _)| s.start);
            out.extend(inner.into_iter().map(|(s, l)| el(s, l)));
            out.push(el(
                Span::new(item.span.end.saturating_sub(1), item.span.end),
                "}".into(),
            ));
            out
        }
        ItemKind::Step(s) => {
            let mut opts: Vec<&Spanned<StepOption>> = s.options.iter().collect();
            opts.sort_by_key(|o| option_rank(&o.node));
            let action = action(&s.action.node);
            let mut head = match &s.label {
                Some(l) => format!("step {} {}: {action}", s.number.node, quote(&l.node)),
                None => format!("step {}: {action}", s.number.node),
            };
            for o in opts {
                head.push(' ');
                head.push_str(&option(&o.node));
            }
            let mut out = vec![el(s.head, head)];
            let lefts: Vec<String> = s
                .handlers
                .iter()
                .map(|h| match &h.timeout {
                    Some(d) => format!("on {} {}", h.event.node, d.node),
                    None => format!("on {}", h.event.node),
                })
                .collect();
            let width = lefts.iter().map(|l| l.chars().count()).max().unwrap_or(0);
            for (h, left) in s.handlers.iter().zip(lefts) {
                let pad = " ".repeat(width - left.chars().count());
                out.push(el(
                    h.span,
                    format!("  {left}{pad} -> {}", target(&h.target.node)),
                ));
            }
            out
        }
        ItemKind::Migrate(m) => {
            let head = match &m.from {
                Some(f) => format!("migrate from {} {{", quote(&f.node)),
                None => "migrate {".to_string(),
            };
            let open_end = m.maps.first().map_or(item.span.end, |x| x.span.start);
            let mut out = vec![el(
                Span::new(item.span.start, open_end.min(item.span.end)),
                head,
            )];
            for x in &m.maps {
                let from = if x.label {
                    quote(&x.step.node)
                } else {
                    x.step.node.clone()
                };
                out.push(el(
                    x.span,
                    format!("  step {from} -> {}", target(&x.target.node)),
                ));
            }
            out.push(el(
                Span::new(item.span.end.saturating_sub(1), item.span.end),
                "}".into(),
            ));
            out
        }
        ItemKind::Test(t) => {
            let open_end = t.name.span.end;
            let mut out = vec![el(
                Span::new(item.span.start, open_end),
                format!("test {} {{", quote(&t.name.node)),
            )];
            for i in &t.items {
                out.push(el(i.span, format!("  {}", test_item(&i.node))));
            }
            out.push(el(
                Span::new(item.span.end.saturating_sub(1), item.span.end),
                "}".into(),
            ));
            out
        }
        ItemKind::Error { .. } => Vec::new(),
    }
}

/// The formatted text of one statement (a step with its `on` lines, a template block), without
/// comments: what `cadence diff` compares.
pub(crate) fn item_text(item: &Item) -> String {
    elements(item)
        .into_iter()
        .flat_map(|e| e.lines)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Formats a file that parsed without errors.
pub fn format(src: &SourceFile, file: &File) -> String {
    // Items in output order: by section, then as written (with a few fixed ranks).
    let mut items: Vec<(usize, &Item)> = file.items.iter().enumerate().collect();
    items.sort_by_key(|(i, it)| (section(&it.kind), rank_in_section(&it.kind), *i));

    // Elements in source order, to place comments.
    let mut by_source: Vec<(usize, usize, Element)> = Vec::new(); // (item index, element index, element)
    for (i, it) in file.items.iter().enumerate() {
        for (k, e) in elements(it).into_iter().enumerate() {
            by_source.push((i, k, e));
        }
    }
    by_source.sort_by_key(|(_, _, e)| e.span.start);

    let line_of = |offset: usize| src.line_col(offset).0;
    let first = by_source
        .first()
        .map(|(_, _, e)| e.span.start)
        .unwrap_or(usize::MAX);
    // Comments above the first statement stay at the top of the file.
    let mut header: Vec<String> = Vec::new();
    let mut header_end = 0;
    let mut orphans: Vec<String> = Vec::new();
    for c in &file.comments {
        let text = format!("#{}", c.text.trim_end());
        if c.span.start < first {
            header.push(text);
            header_end = c.span.end;
            continue;
        }
        let cline = line_of(c.span.start);
        // Inside a statement written over several lines (a list, an expression): it stays with
        // that statement, at the end of its line, or above it when that place is taken.
        if let Some((_, _, e)) = by_source
            .iter_mut()
            .find(|(_, _, e)| e.span.start < c.span.start && c.span.start < e.span.end)
        {
            if e.trailing.is_none() {
                e.trailing = Some(text);
            } else {
                e.leading.push(text);
            }
            continue;
        }
        // Trailing: on the line an element ends, after it.
        if let Some((_, _, e)) = by_source.iter_mut().find(|(_, _, e)| {
            e.span.end <= c.span.start
                && line_of(e.span.end.max(1) - 1) == cline
                && e.trailing.is_none()
        }) {
            e.trailing = Some(text);
            continue;
        }
        // Leading: the first element after it.
        match by_source
            .iter_mut()
            .find(|(_, _, e)| e.span.start > c.span.start)
        {
            Some((_, _, e)) => e.leading.push(text),
            None => orphans.push(text),
        }
    }
    let header_blank = !header.is_empty()
        && first != usize::MAX
        && src.text[header_end..first].matches('\n').count() >= 2;
    let mut placed: std::collections::HashMap<(usize, usize), Element> =
        by_source.into_iter().map(|(i, k, e)| ((i, k), e)).collect();

    let mut out = String::new();
    for h in &header {
        out.push_str(h);
        out.push('\n');
    }
    if header_blank {
        out.push('\n');
    }
    let mut last_section: Option<u8> = None;
    for (i, it) in &items {
        let sec = section(&it.kind);
        let block = matches!(it.kind, ItemKind::Template(_) | ItemKind::Test(_));
        if let Some(prev) = last_section {
            if prev != sec || block {
                out.push('\n');
            }
        }
        last_section = Some(sec);
        let count = elements(it).len();
        for k in 0..count {
            let Some(e) = placed.remove(&(*i, k)) else {
                continue;
            };
            let indent = if k == 0 || e.lines.first().is_some_and(|l| !l.starts_with(' ')) {
                ""
            } else {
                "  "
            };
            for l in &e.leading {
                out.push_str(indent);
                out.push_str(l);
                out.push('\n');
            }
            for (n, line) in e.lines.iter().enumerate() {
                out.push_str(line);
                if n == 0 {
                    if let Some(t) = &e.trailing {
                        out.push_str("  ");
                        out.push_str(t);
                    }
                }
                out.push('\n');
            }
        }
    }
    if !orphans.is_empty() {
        if !out.is_empty() {
            out.push('\n');
        }
        for o in orphans {
            out.push_str(&o);
            out.push('\n');
        }
    }
    out
}

fn rank_in_section(kind: &ItemKind) -> u8 {
    match kind {
        // Exit and goal rules keep their written order: it is the order they apply in.
        ItemKind::Exit(_) | ItemKind::Goal(_) => 1,
        k => rank(k),
    }
}
