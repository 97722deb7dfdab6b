//! The answers to the editor's requests, as pure functions of a checked group: hover,
//! completion, definition, references, rename, formatting, quick fixes, the outline and the
//! code lenses over steps.

use std::collections::HashMap;

use lsp_types::{
    CodeLens, Command, CompletionItem, CompletionItemKind, DocumentSymbol, Hover, HoverContents,
    Location, MarkupContent, MarkupKind, Range, SymbolKind, TextEdit,
};

use super::analysis::{page, Group};
use super::index::{at, Kind, LineIndex, Occurrence};
use crate::check::template::parse_text;
use crate::check::template::UNSUBSCRIBE_LINK;
use crate::check::{Cadence, Channel, Module, Outcome, TextPart, Timeout, Type};
use crate::lint::graph::{days, edges, Dest, Via};
use crate::syntax::ast::{self, Action, ItemKind, StepOption, Target};
use crate::syntax::{FileId, Span};

/// A place in a file of the group.
pub type Place = (FileId, Span);

/// The occurrence under the cursor.
pub fn occurrence_at(group: &Group, file: FileId, offset: usize) -> Option<&Occurrence> {
    at(&group.file_of(file)?.occurrences, offset)
}

/// The file whose steps a step number in `file` names: its own file, unless it is written in
/// a test of a file without steps; then the one cadence of the folder. `None` when that cannot
/// be told (several cadences, or a test after a `deploy`).
fn step_home(group: &Group, file: FileId, occ: &Occurrence) -> Option<FileId> {
    let has_steps = |f: &super::analysis::GroupFile| {
        f.occurrences.iter().any(|o| o.kind == Kind::Step && o.decl)
    };
    match occ.test {
        None => Some(file),
        Some(true) => None,
        Some(false) => {
            if group.file_of(file).is_some_and(has_steps) {
                return Some(file);
            }
            let mut with_steps = group.files.iter().filter(|f| has_steps(f));
            match (with_steps.next(), with_steps.next()) {
                (Some(f), None) => Some(f.id),
                _ => None,
            }
        }
    }
}

/// Step numbers named in tests whose cadence cannot be told, that may mean `occ`'s step.
pub fn unresolved_steps(group: &Group, occ: &Occurrence) -> Vec<Place> {
    group
        .files
        .iter()
        .flat_map(|f| {
            f.occurrences
                .iter()
                .filter(|o| o.kind == Kind::Step && o.name == occ.name)
                .filter(move |o| step_home(group, f.id, o).is_none())
                .map(move |o| (f.id, o.span))
        })
        .collect()
}

/// Where a name is declared: for a step, in the file whose steps it names; for the rest, its
/// own file first, then the other files of the group.
pub fn declarations(group: &Group, file: FileId, occ: &Occurrence) -> Vec<Place> {
    let mine = |f: &super::analysis::GroupFile| {
        f.occurrences
            .iter()
            .filter(|o| o.decl && o.kind == occ.kind && o.name == occ.name)
            .map(|o| (f.id, o.span))
            .collect::<Vec<_>>()
    };
    if occ.kind == Kind::Template {
        return template_target(group, file, &occ.name)
            .into_iter()
            .collect();
    }
    if occ.kind == Kind::Step {
        let Some(home) = step_home(group, file, occ).and_then(|h| group.file_of(h)) else {
            return Vec::new();
        };
        return mine(home);
    }
    let Some(own) = group.file_of(file) else {
        return Vec::new();
    };
    let found = mine(own);
    if !found.is_empty() || occ.kind == Kind::Step {
        return found;
    }
    group
        .files
        .iter()
        .filter(|f| f.id != file)
        .flat_map(mine)
        .collect()
}

/// The template a name in `file` sends: the file's own template of that name, else the first
/// of the group (as the checker resolves it).
fn template_target(group: &Group, file: FileId, name: &str) -> Option<Place> {
    let decl_in = |f: &super::analysis::GroupFile| {
        f.occurrences
            .iter()
            .find(|o| o.decl && o.kind == Kind::Template && o.name == name)
            .map(|o| (f.id, o.span))
    };
    group
        .file_of(file)
        .and_then(decl_in)
        .or_else(|| group.files.iter().find_map(decl_in))
}

/// Every place a name is written: a step's in its own file, a template's wherever it resolves
/// to the same declaration, the rest in the whole group.
pub fn references(group: &Group, file: FileId, occ: &Occurrence, with_decl: bool) -> Vec<Place> {
    let target = (occ.kind == Kind::Template)
        .then(|| template_target(group, file, &occ.name))
        .flatten();
    let home = if occ.kind == Kind::Step {
        match step_home(group, file, occ) {
            Some(h) => Some(h),
            None => return Vec::new(),
        }
    } else {
        None
    };
    group
        .files
        .iter()
        .flat_map(|f| {
            f.occurrences
                .iter()
                .filter(|o| o.kind == occ.kind && o.name == occ.name && (with_decl || !o.decl))
                .filter(move |o| occ.kind != Kind::Step || step_home(group, f.id, o) == home)
                .filter(move |o| {
                    occ.kind != Kind::Template
                        || (o.decl && Some((f.id, o.span)) == target)
                        || (!o.decl && template_target(group, f.id, &o.name) == target)
                })
                .map(move |o| (f.id, o.span))
        })
        .collect()
}

/// A place as a protocol location.
pub fn location(group: &Group, (file, span): Place, utf8: bool) -> Option<Location> {
    let f = group.file_of(file)?;
    let ix = LineIndex::new(group.text(file), utf8);
    Some(Location::new(f.uri.parse().ok()?, ix.range(span)))
}

// ---------------------------------------------------------------------------------------------
// Hover

fn markdown(value: String, range: Option<Range>) -> Hover {
    Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value,
        }),
        range,
    }
}

/// What the cursor is on, explained.
pub fn hover(group: &Group, file: FileId, offset: usize, utf8: bool) -> Option<Hover> {
    let text = group.text(file);
    let ix = LineIndex::new(text, utf8);
    let mut parts = Vec::new();
    let mut range = None;
    if let Some(occ) = occurrence_at(group, file, offset) {
        range = Some(ix.range(occ.span));
        parts.push(match occ.kind {
            Kind::Field => field_hover(group, file, &occ.name),
            Kind::Template => template_hover(group, file, &occ.name),
            Kind::Event => event_hover(group, file, &occ.name),
            Kind::Step => match step_home(group, file, occ) {
                Some(home) => step_hover(group, home, &occ.name),
                None => format!(
                    "`step {}`: a test after a `deploy`, or in a folder of several cadences, names a step of a cadence this cannot tell",
                    occ.name
                ),
            },
        });
    } else if let Some((span, word)) = word_at(text, offset) {
        if let Some(p) = code_in_comment(group, file, offset, word) {
            range = Some(ix.range(span));
            parts.push(p);
        } else if let Some(p) = keyword_hover(group, file, span, word) {
            range = Some(ix.range(span));
            parts.push(p);
        }
    }
    // The pages of the findings under the cursor.
    let mut shown = Vec::new();
    for d in group.diagnostics.iter().filter(|d| {
        d.file() == file
            && d.span().start <= offset
            && offset <= d.span().end.max(d.span().start + 1)
    }) {
        if shown.contains(&d.code) {
            continue;
        }
        shown.push(d.code);
        if let Some(p) = page(d.code) {
            parts.push(p.replacen("## ", "### ", 1));
        }
    }
    if parts.is_empty() {
        return None;
    }
    Some(markdown(parts.join("\n\n---\n\n"), range))
}

/// The word (letters, digits, `_`) under an offset.
fn word_at(text: &str, offset: usize) -> Option<(Span, &str)> {
    let offset = offset.min(text.len());
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let before = text.get(..offset)?;
    let start = before
        .char_indices()
        .rev()
        .take_while(|(_, c)| is_word(*c))
        .last()
        .map_or(offset, |(i, _)| i);
    let after = text.get(offset..)?;
    let end = offset + after.find(|c: char| !is_word(c)).unwrap_or(after.len());
    (start < end).then(|| (Span::new(start, end), &text[start..end]))
}

/// A code in a `# lint: allow(CODE)` comment.
fn code_in_comment(group: &Group, file: FileId, offset: usize, word: &str) -> Option<String> {
    let a = group.ast(file)?;
    a.comments
        .iter()
        .find(|c| c.span.start <= offset && offset <= c.span.end)?;
    page(word).or_else(|| {
        crate::lint::RULES
            .iter()
            .find(|r| r.name == word)
            .and_then(|r| page(r.code))
    })
}

/// The documentation of the statement a keyword starts (from docs/language.md).
fn keyword_hover(group: &Group, file: FileId, span: Span, word: &str) -> Option<String> {
    let a = group.ast(file)?;
    let starts_statement = a.items.iter().any(|i| {
        i.span.start == span.start
            || matches!(&i.kind, ItemKind::Step(s) if s.handlers.iter().any(|h| h.span.start == span.start))
    });
    if !starts_statement {
        return None;
    }
    statement_doc(word)
}

const LANGUAGE: &str = include_str!("../../docs/language.md");

/// The section of docs/language.md about a statement: its syntax block and first paragraph.
pub fn statement_doc(word: &str) -> Option<String> {
    let statements = &LANGUAGE[LANGUAGE.find("## Statements")?..];
    let end = statements[3..]
        .find("\n## ")
        .map_or(statements.len(), |i| i + 3);
    let statements = &statements[..end];
    for section in statements.split("\n### ").skip(1) {
        let (title, body) = section.split_once('\n')?;
        let names: Vec<&str> = title.split([',', ' ']).filter(|w| !w.is_empty()).collect();
        if names.first() != Some(&word) && !(title.contains(',') && names.contains(&word)) {
            continue;
        }
        let body = body.trim_start();
        let mut out = String::new();
        let mut rest = body;
        if let Some(code) = rest.strip_prefix("```") {
            if let Some(close) = code.find("\n```") {
                let block = code[..close].trim_start_matches(|c: char| c != '\n');
                out.push_str(&format!("```cadence{block}\n```\n\n"));
                rest = code[close + 4..].trim_start();
            }
        }
        let para = rest.split("\n\n").next().unwrap_or("").trim();
        out.push_str(para);
        return Some(format!("**{}**\n\n{out}", title.trim()));
    }
    None
}

/// The module of a file: its `module` line, else contacts.
fn module_of(group: &Group, file: FileId) -> Module {
    group
        .ast(file)
        .and_then(|a| {
            a.items.iter().find_map(|i| match &i.kind {
                ItemKind::Module(m) => Module::from_name(&m.node),
                _ => None,
            })
        })
        .unwrap_or_default()
}

/// A field's declaration in the group (its file first): the file, the name's span and the
/// type as written.
fn field_decl(group: &Group, file: FileId, name: &str) -> Option<(FileId, Span, String)> {
    let mut order: Vec<FileId> = vec![file];
    order.extend(group.files.iter().map(|f| f.id).filter(|f| *f != file));
    for f in order {
        let Some(a) = group.ast(f) else { continue };
        for i in &a.items {
            if let ItemKind::Field(fd) = &i.kind {
                if fd.name.node == name {
                    let ty = group
                        .text(f)
                        .get(fd.ty.span.range())
                        .unwrap_or("")
                        .to_string();
                    return Some((f, fd.name.span, ty));
                }
            }
        }
    }
    None
}

fn file_line(group: &Group, file: FileId, span: Span) -> String {
    let src = group.sources.get(file);
    let name = std::path::Path::new(&src.name)
        .file_name()
        .map_or(src.name.clone(), |n| n.to_string_lossy().into_owned());
    format!("{name}:{}", src.line_col(span.start).0)
}

fn field_hover(group: &Group, file: FileId, name: &str) -> String {
    let module = module_of(group, file);
    if name == UNSUBSCRIBE_LINK {
        return "```cadence\n{{unsubscribe_link}}\n```\nThe contact's one-click unsubscribe link (built in; every bulk email should carry it).".into();
    }
    let uses = group
        .files
        .iter()
        .flat_map(|f| &f.occurrences)
        .filter(|o| o.kind == Kind::Field && o.name == name && !o.decl)
        .count();
    let head = if let Some((_, ty)) = module
        .builtin_fields()
        .into_iter()
        .find(|(n, _)| *n == name)
    {
        format!(
            "```cadence\nfield {name}: {ty}\n```\nBuilt-in field of the `{}` module.",
            module.name()
        )
    } else if let Some((f, span, ty)) = field_decl(group, file, name) {
        format!(
            "```cadence\nfield {name}: {ty}\n```\nDeclared at `{}`; extends the `{}` module.",
            file_line(group, f, span),
            module.name()
        )
    } else {
        format!(
            "`{name}`: no field of the `{}` module has this name.",
            module.name()
        )
    };
    format!("{head}\n\nUsed {} in this folder.", times(uses))
}

fn times(n: usize) -> String {
    match n {
        1 => "once".into(),
        n => format!("{n} times"),
    }
}

/// Sample values for the built-in fields, to show a template as a contact would get it.
const SAMPLE: &[(&str, &str)] = &[
    ("id", "c1"),
    ("first_name", "Ada"),
    ("last_name", "Lovelace"),
    ("email", "ada@example.com"),
    ("phone", "+44 20 7946 0000"),
    ("company", "Analytical Engines Ltd"),
    ("title", "Head of Operations"),
    ("owner", "Sam Rivera"),
    ("status", "trial"),
    ("timezone", "Europe/London"),
    ("name", "Analytical Engines renewal"),
    ("stage", "proposal"),
    ("amount", "12000"),
    ("contact_email", "ada@example.com"),
    ("lead_source", "webinar"),
    ("lead_status", "new"),
];

/// Fills a template text: with the sample contact (`sample`), or with no field set.
fn fill(text: &str, sample: bool) -> String {
    let (parsed, _, _) = parse_text(text);
    let mut out = String::new();
    for p in &parsed.parts {
        match p {
            TextPart::Literal(s) => out.push_str(s),
            TextPart::Merge { name, fallback } => {
                if name == UNSUBSCRIBE_LINK {
                    out.push_str("https://…/u/…");
                    continue;
                }
                let value = SAMPLE
                    .iter()
                    .find(|(n, _)| sample && n == name)
                    .map(|(_, v)| v.to_string());
                match (value, fallback) {
                    (Some(v), _) => out.push_str(&v),
                    (None, Some(f)) => out.push_str(f),
                    (None, None) if sample => out.push_str(&format!("‹{name}›")),
                    (None, None) => {}
                }
            }
        }
    }
    out
}

/// The template a name in `file` sends (as [`template_target`] resolves it), with its file.
fn template_decl<'g>(
    group: &'g Group,
    file: FileId,
    name: &str,
) -> Option<(FileId, &'g ast::Template)> {
    let (f, span) = template_target(group, file, name)?;
    group.ast(f)?.items.iter().find_map(|i| match &i.kind {
        ItemKind::Template(t) if t.name.span == span => Some((f, t)),
        _ => None,
    })
}

/// At most `lines` lines of a text, for a preview.
fn preview(text: &str, lines: usize) -> String {
    let mut v: Vec<&str> = text.lines().take(lines).collect();
    if text.lines().count() > lines {
        v.push("…");
    }
    v.join("\n")
}

fn template_hover(group: &Group, file: FileId, name: &str) -> String {
    let Some((f, t)) = template_decl(group, file, name) else {
        return format!("`{name}`: no template of this folder has this name.");
    };
    let mut out = format!(
        "**template `{name}`** (`{}`)\n\nWith a sample contact (Ada Lovelace, Analytical Engines Ltd):\n\n",
        file_line(group, f, t.name.span)
    );
    let raw = |s: &ast::Str| {
        group
            .text(f)
            .get(s.content.range())
            .map(|_| s.value.clone())
    };
    let subject = t.subject.as_ref().and_then(raw);
    let body = match &t.body {
        Some(ast::Body::Inline(s)) => raw(s),
        Some(ast::Body::File(p)) => Some(format!("(body read from the file `{}`)", p.node)),
        None => None,
    };
    let mut fallbacks = Vec::new();
    for (part, text) in [("subject", &subject), ("body", &body)] {
        let Some(text) = text else { continue };
        let mut seen = Vec::new();
        for p in parse_text(text).0.parts {
            if let TextPart::Merge {
                name,
                fallback: Some(fb),
            } = p
            {
                let entry = format!("`{name}` → “{fb}”");
                if !seen.contains(&entry) {
                    seen.push(entry);
                }
            }
        }
        if !seen.is_empty() {
            fallbacks.push(format!("in the {part}, {}", seen.join(", ")));
        }
    }
    out.push_str("```text\n");
    if let Some(s) = &subject {
        out.push_str(&format!("Subject: {}\n\n", fill(s, true)));
    }
    if let Some(b) = &body {
        out.push_str(&preview(&fill(b, true), 15));
        out.push('\n');
    }
    out.push_str("```\n");
    if !fallbacks.is_empty() {
        out.push_str(&format!(
            "\nFallbacks (when the field is empty): {}",
            fallbacks.join("; ")
        ));
        if let Some(s) = &subject {
            out.push_str(&format!("; the subject then reads “{}”", fill(s, false)));
        }
        out.push('\n');
    }
    let decl = Occurrence {
        kind: Kind::Template,
        name: name.to_string(),
        span: t.name.span,
        decl: true,
        test: None,
    };
    // The steps that send it, and the tests that name it (`pin`, `expect ... variant`).
    let (mut senders, mut tests) = (Vec::new(), Vec::new());
    for (gf, span) in references(group, f, &decl, false) {
        let in_step = group.ast(gf).is_some_and(|a| {
            a.items.iter().any(|i| {
                matches!(&i.kind, ItemKind::Step(s) if s.head.start <= span.start && span.end <= s.head.end)
            })
        });
        let at = file_line(group, gf, span);
        if in_step {
            senders.push(at);
        } else {
            tests.push(at);
        }
    }
    if senders.is_empty() {
        out.push_str("\nNo step sends it.");
    } else {
        out.push_str(&format!("\nSent by the steps at {}.", senders.join(", ")));
    }
    if !tests.is_empty() {
        out.push_str(&format!(" Named by tests at {}.", tests.join(", ")));
    }
    out
}

/// What an outcome means.
fn outcome_meaning(o: Outcome) -> &'static str {
    match o {
        Outcome::Opened => "the contact opened the email (the open pixel loaded; opens made by mail proxies count only with `track opens including machine`)",
        Outcome::Clicked => "the contact clicked a link of the email",
        Outcome::Replied => "the contact replied to the email (read from the mailbox by `cadence run --imap`, or reported by a webhook); an out-of-office answer is `auto_reply`, never `replied`",
        Outcome::AutoReply => "an automatic answer came back (out of office); with `pause on auto_reply` the enrolment waits until the day the contact is back",
        Outcome::Bounced => "the email could not be delivered (a bounce from the receiving server)",
        Outcome::Unsubscribed => "the contact unsubscribed (the one-click link, or an abuse report)",
        Outcome::Answered => "the call was answered",
        Outcome::NoAnswer => "the call was not answered",
        Outcome::Voicemail => "the call went to voicemail",
        Outcome::Completed => "the call or task was logged as done",
    }
}

fn timeout_meaning(t: Timeout) -> &'static str {
    match t {
        Timeout::NoOpen => "the email was not opened within D of being sent",
        Timeout::NoClick => "no link of the email was clicked within D of its sending",
        Timeout::NoReply => "the email got no reply within D of being sent",
        Timeout::Overdue => "the call or task was not done within D of being due",
    }
}

const CHANNELS: [Channel; 3] = [Channel::Email, Channel::Call, Channel::Task];

fn channels(fits: impl Fn(Channel) -> bool) -> String {
    let v: Vec<&str> = CHANNELS
        .into_iter()
        .filter(|c| fits(*c))
        .map(Channel::name)
        .collect();
    v.join(", ")
}

fn event_hover(group: &Group, file: FileId, name: &str) -> String {
    if let Some(o) = Outcome::from_name(name) {
        return format!(
            "**`{name}`**: {}.\n\nProduced by steps of channel: {}.",
            outcome_meaning(o),
            channels(|c| o.fits(c))
        );
    }
    if let Some(t) = Timeout::from_name(name) {
        return format!(
            "**`{name} D`** (a timeout): {}.\n\nOn steps of channel: {}.",
            timeout_meaning(t),
            channels(|c| t.fits(c))
        );
    }
    if name == "skipped" {
        return "**`skipped`**: the step was skipped (its `if` was false, its `at FIELD` date had passed or was unset, or its email could not be sent); without this line the contact falls through to the next step.".into();
    }
    let decl = group.files.iter().find_map(|f| {
        f.occurrences
            .iter()
            .find(|o| o.decl && o.kind == Kind::Event && o.name == name)
            .map(|o| (f.id, o.span))
    });
    match decl {
        Some((f, span)) => format!(
            "**`{name}`**: a custom event, declared at `{}`.\n\nYour systems report it: a row of an events file (`cadence ingest`, `simulate --events`), `POST /v1/events` of `cadence run --listen`, or `event ID {name}` in the REPL. End enrolments on it with `exit on {name}` or `goal \"...\" on {name}`.",
            file_line(group, f, span)
        ),
        None => {
            let _ = file;
            format!("`{name}`: not an event; declare it with `event {name}`.")
        }
    }
}

/// The cadence checked from a file.
fn cadence_of(group: &Group, file: FileId) -> Option<&Cadence> {
    group
        .checked
        .program
        .as_ref()?
        .cadences
        .iter()
        .find(|c| c.file == file)
}

fn ast_step<'g>(group: &'g Group, file: FileId, number: &str) -> Option<&'g ast::Step> {
    group.ast(file)?.items.iter().find_map(|i| match &i.kind {
        ItemKind::Step(s) if s.number.node == number => Some(s),
        _ => None,
    })
}

fn step_hover(group: &Group, file: FileId, number: &str) -> String {
    let text = group.text(file);
    let Some(s) = ast_step(group, file, number) else {
        return format!("`step {number}`: no step of this cadence has this number.");
    };
    let head = text.get(s.head.range()).unwrap_or("").trim();
    let mut out = format!("```cadence\n{head}\n```\n");
    let src = |sp: Span| text.get(sp.range()).unwrap_or("").trim().to_string();
    let mut due = Vec::new();
    for o in &s.options {
        match &o.node {
            StepOption::After(d) => due.push(format!("{} after the contact enters it", d.node)),
            StepOption::AtCron(c) => due.push(format!("at the next time of `{}`", c.node)),
            StepOption::AtField { .. } => due.push(format!("`{}`", src(o.span))),
            StepOption::If(_) => due.push(format!("only `{}` (else skipped)", src(o.span))),
            _ => {}
        }
    }
    if due.is_empty() {
        due.push("as soon as the contact enters it".into());
    }
    out.push_str(&format!("**Due**: {}.\n\n", due.join("; ")));
    let target = |t: &Target| match t {
        Target::Step(n) => format!("step {}", n.node),
        Target::Next => "the next step".into(),
        Target::Done => "done (completed)".into(),
        Target::Exit(r) => match r {
            Some(r) => format!("exit “{}”", r.node),
            None => "exit".into(),
        },
    };
    if s.handlers.is_empty() {
        out.push_str("**Then**: goes on at once to the step below (or completes).\n");
    } else {
        out.push_str("**Branches**:\n");
        for h in &s.handlers {
            let ev = match &h.timeout {
                Some(d) => format!("{} {}", h.event.node, d.node),
                None => h.event.node.clone(),
            };
            out.push_str(&format!("- on `{ev}` → {}\n", target(&h.target.node)));
        }
    }
    if let Some(lens) = lens_titles(group, file)
        .into_iter()
        .find(|(n, _)| n == number)
    {
        out.push_str(&format!("\n{}.", lens.1));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Code lenses

/// Per step of a file's cadence: its number, and "reached by N paths; shortest from entry: D".
/// Needs a checked program (none while the folder has errors).
pub fn lens_titles(group: &Group, file: FileId) -> Vec<(String, String)> {
    let Some(c) = cadence_of(group, file) else {
        return Vec::new();
    };
    let es = edges(c);
    let shortest = shortest_days(c, &es);
    let (ways, counted_all) = ways_to(c, &es, WAYS_BUDGET);
    c.steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let n = ways[i];
            let count = match (n, counted_all) {
                (1, true) => "1 path".into(),
                (n, true) => format!("{n} paths"),
                (0, false) => "many paths".into(),
                (n, false) => format!("{n}+ paths"),
            };
            let title = match shortest[i] {
                Some(d) if i == 0 => format!("entry step; due {}", after_entry(d)),
                Some(d) => format!("reached by {count}; shortest from entry: {}", span_days(d)),
                None => "unreachable: no path from the entry step leads here".into(),
            };
            (s.number.to_string(), title)
        })
        .collect()
}

/// The most arrivals [`ways_to`] counts before it stops.
const WAYS_BUDGET: usize = 10_000;

/// Per step: in how many ways the contact can arrive there from the entry step (paths that
/// visit no step twice, over the edges the paths of `cadence lint --paths` take: skips left
/// out), and whether every way was counted (false: the counts are lower bounds).
fn ways_to(c: &Cadence, es: &[crate::lint::graph::Edge], budget: usize) -> (Vec<usize>, bool) {
    let n = c.steps.len();
    let mut ways = vec![0usize; n];
    if n == 0 {
        return (ways, true);
    }
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); n];
    for e in es.iter().filter(|e| e.via != Via::Skip && e.from < n) {
        if let Dest::Step(j) = e.to {
            if j < n {
                out[e.from].push(j);
            }
        }
    }
    let mut on_path = vec![false; n];
    // A depth-first walk with its own stack: (step, index of its next edge).
    let mut stack = vec![(0usize, 0usize)];
    on_path[0] = true;
    ways[0] = 1;
    let mut counted = 1usize;
    while let Some((i, k)) = stack.last().copied() {
        let Some(&j) = out[i].get(k) else {
            on_path[i] = false;
            stack.pop();
            continue;
        };
        if let Some(top) = stack.last_mut() {
            top.1 += 1;
        }
        if on_path[j] {
            continue;
        }
        if counted >= budget {
            return (ways, false);
        }
        counted += 1;
        ways[j] += 1;
        on_path[j] = true;
        stack.push((j, 0));
    }
    (ways, true)
}

fn after_entry(d: f64) -> String {
    if d == 0.0 {
        "at enrolment".into()
    } else {
        format!("{} after enrolment", span_days(d))
    }
}

/// Days as people say them: `3 days`, `1 day`, `12 hours`, `0 days`.
fn span_days(d: f64) -> String {
    if d > 0.0 && d < 1.0 {
        let h = (d * 24.0).round();
        return if h == 1.0 {
            "1 hour".into()
        } else {
            format!("{h} hours")
        };
    }
    let r = (d * 10.0).round() / 10.0;
    if r == 1.0 {
        "1 day".into()
    } else if r.fract() == 0.0 {
        format!("{r:.0} days")
    } else {
        format!("{r:.1} days")
    }
}

/// The least time from enrolment to each step's due time (delays and timeouts; events take no
/// time; skips are left out, as in the paths), by Dijkstra over the step graph.
fn shortest_days(c: &Cadence, es: &[crate::lint::graph::Edge]) -> Vec<Option<f64>> {
    let n = c.steps.len();
    let mut dist: Vec<Option<f64>> = vec![None; n];
    if n == 0 {
        return dist;
    }
    let mut done = vec![false; n];
    dist[0] = Some(days(&c.steps[0].after));
    loop {
        let next = (0..n)
            .filter(|i| !done[*i])
            .filter_map(|i| dist[i].map(|d| (i, d)))
            .min_by(|a, b| a.1.total_cmp(&b.1));
        let Some((i, d)) = next else { break };
        done[i] = true;
        // As the paths are counted: steps that execute (a skipped step is not a way there).
        for e in es.iter().filter(|e| e.from == i && e.via != Via::Skip) {
            if let Dest::Step(j) = e.to {
                if j >= n {
                    continue;
                }
                let wait = match &e.via {
                    Via::Timeout(_, w) => days(w),
                    _ => 0.0,
                };
                let cand = d + wait + days(&c.steps[j].after);
                if dist[j].is_none_or(|old| cand < old) {
                    dist[j] = Some(cand);
                }
            }
        }
    }
    dist
}

/// Code lenses over the steps of a file.
pub fn code_lenses(group: &Group, file: FileId, utf8: bool) -> Vec<CodeLens> {
    let titles: HashMap<String, String> = lens_titles(group, file).into_iter().collect();
    let Some(a) = group.ast(file) else {
        return Vec::new();
    };
    let ix = LineIndex::new(group.text(file), utf8);
    a.items
        .iter()
        .filter_map(|i| match &i.kind {
            ItemKind::Step(s) => {
                let title = titles.get(&s.number.node)?;
                Some(CodeLens {
                    range: ix.range(s.head),
                    command: Some(Command {
                        title: title.clone(),
                        command: String::new(),
                        arguments: None,
                    }),
                    data: None,
                })
            }
            _ => None,
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Completion

fn item(
    label: impl Into<String>,
    kind: CompletionItemKind,
    detail: impl Into<String>,
) -> CompletionItem {
    CompletionItem {
        label: label.into(),
        kind: Some(kind),
        detail: Some(detail.into()),
        ..Default::default()
    }
}

/// The statements, with what they do.
const STATEMENTS: &[(&str, &str)] = &[
    ("cadence", "cadence \"NAME\": the display name"),
    ("module", "module leads | contacts | deals"),
    ("field", "field NAME: TYPE: a field of the record"),
    ("enroll when", "enroll when EXPR: automatic enrolment"),
    ("exit on", "exit [\"REASON\"] on EVENT: cadence-wide exit"),
    ("exit when", "exit [\"REASON\"] when EXPR"),
    ("goal", "goal \"NAME\" on EVENT | when EXPR: a success"),
    (
        "timezone",
        "timezone \"ZONE\" | timezone field F default \"ZONE\"",
    ),
    ("window", "window mon-fri 09:00-17:00 | window \"CRON\""),
    ("limit", "limit N emails per day"),
    ("from", "from \"ADDRESS\""),
    ("reply_to", "reply_to \"ADDRESS\""),
    ("reenroll after", "reenroll after DURATION"),
    (
        "pause on auto_reply",
        "pause on auto_reply [DURATION]: out of office pauses",
    ),
    ("holidays", "holidays [DATE, ...]"),
    ("track", "track opens, clicks [including machine]"),
    ("event", "event NAME: declares a custom event"),
    (
        "template",
        "template NAME { subject \"...\" body \"\"\"...\"\"\" }",
    ),
    (
        "step",
        "step N [\"LABEL\"]: email T | call \"S\" | task \"S\"",
    ),
    ("migrate", "migrate { step N -> step M }"),
    ("test", "test \"NAME\" { ... }"),
];

const DURATIONS: &[(&str, &str)] = &[
    ("0d", "at once"),
    ("30m", "30 minutes"),
    ("2h", "2 hours"),
    ("1d", "1 day"),
    ("2d", "2 days"),
    ("3d", "3 days"),
    ("3bd", "3 business days (Mon–Fri in the cadence's zone)"),
    ("5d", "5 days"),
    ("1w", "1 week"),
    ("2w", "2 weeks"),
];

/// Fields of a file's schema: its module's built-in fields and the fields of the group.
fn fields(group: &Group, file: FileId) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = module_of(group, file)
        .builtin_fields()
        .into_iter()
        .map(|(n, t)| (n.to_string(), format!("{t} (built in)")))
        .collect();
    for gf in &group.files {
        let Some(a) = group.ast(gf.id) else { continue };
        for i in &a.items {
            if let ItemKind::Field(fd) = &i.kind {
                if !out.iter().any(|(n, _)| *n == fd.name.node) {
                    let ty = group.text(gf.id).get(fd.ty.span.range()).unwrap_or("");
                    out.push((fd.name.node.clone(), ty.to_string()));
                }
            }
        }
    }
    out
}

fn custom_events(group: &Group) -> Vec<String> {
    let mut v: Vec<String> = group
        .files
        .iter()
        .flat_map(|f| &f.occurrences)
        .filter(|o| o.decl && o.kind == Kind::Event)
        .map(|o| o.name.clone())
        .collect();
    v.sort();
    v.dedup();
    v
}

/// The step whose lines hold an offset: the last step that starts before it, when no other
/// statement starts between.
fn step_around(group: &Group, file: FileId, offset: usize) -> Option<&ast::Step> {
    let a = group.ast(file)?;
    let last = a.items.iter().rev().find(|i| i.span.start <= offset)?;
    match &last.kind {
        ItemKind::Step(s) => Some(s),
        _ => None,
    }
}

fn channel_of(s: &ast::Step) -> Channel {
    match s.action.node {
        Action::Email { .. } => Channel::Email,
        Action::Call { .. } => Channel::Call,
        Action::Task { .. } => Channel::Task,
    }
}

fn steps(group: &Group, file: FileId) -> Vec<(String, String)> {
    let text = group.text(file);
    group
        .ast(file)
        .map(|a| {
            a.items
                .iter()
                .filter_map(|i| match &i.kind {
                    ItemKind::Step(s) => Some((
                        s.number.node.clone(),
                        text.get(s.head.range()).unwrap_or("").trim().to_string(),
                    )),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

fn templates(group: &Group) -> Vec<(String, String)> {
    let mut v = Vec::new();
    for f in &group.files {
        for o in f
            .occurrences
            .iter()
            .filter(|o| o.decl && o.kind == Kind::Template)
        {
            if !v.iter().any(|(n, _): &(String, String)| *n == o.name) {
                v.push((o.name.clone(), file_line(group, f.id, o.span)));
            }
        }
    }
    v
}

/// What may be written at the cursor.
pub fn completion(group: &Group, file: FileId, offset: usize) -> Vec<CompletionItem> {
    let text = group.text(file);
    let offset = offset.min(text.len());
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line = &text[line_start..offset];
    // Inside a merge field.
    if let Some(open) = line.rfind("{{") {
        if !line[open..].contains("}}") && !line[open..].contains('|') {
            let mut v: Vec<CompletionItem> = fields(group, file)
                .into_iter()
                .map(|(n, t)| item(n, CompletionItemKind::FIELD, t))
                .collect();
            v.push(item(
                UNSUBSCRIBE_LINK,
                CompletionItemKind::FIELD,
                "the one-click unsubscribe link",
            ));
            return v;
        }
    }
    if in_comment_or_text(group, file, offset) {
        return Vec::new();
    }
    let segment = line.rsplit(';').next().unwrap_or(line);
    let words: Vec<&str> = segment.split_whitespace().collect();
    let typing = !segment.ends_with(char::is_whitespace) && !segment.is_empty();
    // The words before the one being typed.
    let before: &[&str] = if typing && !words.is_empty() {
        &words[..words.len() - 1]
    } else {
        &words[..]
    };
    let last = before.last().copied().unwrap_or("");
    if let Some(q) = segment
        .rfind("timezone \"")
        .or_else(|| segment.rfind("default \""))
    {
        if !segment[q..].trim_end().ends_with("\"\"") && segment[q..].matches('"').count() == 1 {
            return chrono_tz::TZ_VARIANTS
                .iter()
                .map(|tz| item(tz.name(), CompletionItemKind::CONSTANT, "time zone"))
                .collect();
        }
    }
    if segment.contains('"') && segment.matches('"').count() % 2 == 1 {
        return Vec::new();
    }
    match last {
        "->" => {
            let mut v: Vec<CompletionItem> = steps(group, file)
                .into_iter()
                .map(|(n, head)| item(format!("step {n}"), CompletionItemKind::REFERENCE, head))
                .collect();
            v.push(item(
                "next",
                CompletionItemKind::KEYWORD,
                "the step written below (or completion)",
            ));
            v.push(item(
                "done",
                CompletionItemKind::KEYWORD,
                "complete the enrolment",
            ));
            v.push(item(
                "exit",
                CompletionItemKind::KEYWORD,
                "exit [\"REASON\"]: end the enrolment",
            ));
            return v;
        }
        "step" if before.len() >= 2 && before[before.len() - 2] == "->" => {
            return steps(group, file)
                .into_iter()
                .map(|(n, head)| item(n, CompletionItemKind::REFERENCE, head))
                .collect();
        }
        "on" => {
            let cadence_wide = before.len() >= 2
                && matches!(before[before.len() - 2], "exit" | "goal" | "pause")
                || before.len() >= 3 && before[0] == "exit"
                || before.len() >= 3 && before[0] == "goal";
            let in_step = if before.len() == 1 {
                step_around(group, file, line_start)
            } else {
                None
            };
            let mut v = Vec::new();
            if before.len() >= 2 && before[before.len() - 2] == "pause" {
                let o = Outcome::AutoReply;
                return vec![item(
                    o.name(),
                    CompletionItemKind::EVENT,
                    outcome_meaning(o),
                )];
            }
            match in_step {
                Some(s) if !cadence_wide => {
                    let ch = channel_of(s);
                    for o in Outcome::ALL.into_iter().filter(|o| o.fits(ch)) {
                        v.push(item(
                            o.name(),
                            CompletionItemKind::EVENT,
                            outcome_meaning(o),
                        ));
                    }
                    for t in Timeout::ALL.into_iter().filter(|t| t.fits(ch)) {
                        v.push(item(
                            t.name(),
                            CompletionItemKind::EVENT,
                            format!("{} (give D)", timeout_meaning(t)),
                        ));
                    }
                    v.push(item(
                        "skipped",
                        CompletionItemKind::EVENT,
                        "the step was skipped",
                    ));
                }
                _ => {
                    for o in Outcome::ALL {
                        v.push(item(
                            o.name(),
                            CompletionItemKind::EVENT,
                            outcome_meaning(o),
                        ));
                    }
                    for e in custom_events(group) {
                        v.push(item(e, CompletionItemKind::EVENT, "custom event"));
                    }
                }
            }
            return v;
        }
        "email" => {
            let mut v: Vec<CompletionItem> = templates(group)
                .into_iter()
                .map(|(n, at)| item(n, CompletionItemKind::CLASS, format!("template at {at}")))
                .collect();
            v.push(item(
                "variants",
                CompletionItemKind::KEYWORD,
                "variants(A 50%, B 50%): an A/B test",
            ));
            return v;
        }
        "module" => {
            return ["leads", "contacts", "deals"]
                .into_iter()
                .map(|m| item(m, CompletionItemKind::MODULE, "module"))
                .collect()
        }
        "priority" => {
            return ["low", "normal", "high"]
                .into_iter()
                .map(|m| item(m, CompletionItemKind::ENUM_MEMBER, "priority"))
                .collect()
        }
        "after" | "reenroll" | "due" => return durations(),
        _ => {}
    }
    if last.ends_with(':') && before.first() == Some(&"field") {
        return Type::NAMES
            .iter()
            .map(|t| {
                item(
                    if *t == "enum" {
                        "enum(\"a\", \"b\")"
                    } else {
                        t
                    },
                    CompletionItemKind::TYPE_PARAMETER,
                    "type",
                )
            })
            .collect();
    }
    if last.ends_with(':') && before.first() == Some(&"step") {
        return ["email", "call", "task"]
            .into_iter()
            .map(|c| item(c, CompletionItemKind::KEYWORD, "channel"))
            .collect();
    }
    if before.len() >= 2 && before[before.len() - 2] == "on" && Timeout::from_name(last).is_some() {
        return durations();
    }
    if before.contains(&"when") || before.contains(&"if") {
        let mut v: Vec<CompletionItem> = fields(group, file)
            .into_iter()
            .map(|(n, t)| item(n, CompletionItemKind::FIELD, t))
            .collect();
        for k in [
            "and", "or", "not", "is set", "is empty", "contains", "in", "now",
        ] {
            v.push(item(k, CompletionItemKind::OPERATOR, "operator"));
        }
        return v;
    }
    if before.is_empty() {
        let mut v: Vec<CompletionItem> = STATEMENTS
            .iter()
            .map(|(k, d)| item(*k, CompletionItemKind::KEYWORD, *d))
            .collect();
        let next = steps(group, file)
            .iter()
            .filter_map(|(n, _)| n.parse::<u32>().ok())
            .max()
            .map_or(1, |n| n + 1);
        if let Some(s) = v.iter_mut().find(|c| c.label == "step") {
            s.insert_text = Some(format!("step {next}: "));
        }
        if step_around(group, file, offset).is_some() {
            v.push(item(
                "on",
                CompletionItemKind::KEYWORD,
                "on EVENT [D] -> TARGET: a branch of the step above",
            ));
        }
        return v;
    }
    Vec::new()
}

/// Whether an offset is inside a comment, or inside the text of a subject or body (where only
/// merge fields are completed).
fn in_comment_or_text(group: &Group, file: FileId, offset: usize) -> bool {
    let Some(a) = group.ast(file) else {
        return false;
    };
    let inside = |sp: Span| sp.start <= offset && offset <= sp.end;
    if a.comments
        .iter()
        .any(|c| c.span.start < offset && offset <= c.span.end)
    {
        return true;
    }
    a.items.iter().any(|i| match &i.kind {
        ItemKind::Template(t) => {
            t.subject.as_ref().is_some_and(|s| inside(s.content))
                || matches!(&t.body, Some(ast::Body::Inline(b)) if inside(b.content))
        }
        ItemKind::Step(st) => st
            .options
            .iter()
            .any(|o| matches!(&o.node, StepOption::Subject(s) if inside(s.content))),
        _ => false,
    })
}

fn durations() -> Vec<CompletionItem> {
    DURATIONS
        .iter()
        .map(|(d, m)| item(*d, CompletionItemKind::UNIT, *m))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Rename

/// Checks a rename: only steps and templates are renamed; the new name must be free.
pub fn check_rename(
    group: &Group,
    file: FileId,
    occ: &Occurrence,
    new: &str,
) -> Result<(), String> {
    match occ.kind {
        Kind::Step => {
            let number = new.parse::<u32>().ok().filter(|n| {
                *n > 0 && new.bytes().all(|b| b.is_ascii_digit()) && !new.starts_with('0')
            });
            let Some(number) = number else {
                return Err(format!(
                    "`{new}` is not a step number: give a whole number from 1"
                ));
            };
            let Some(home) = step_home(group, file, occ) else {
                return Err("this step number is in a test whose cadence cannot be told (one that deploys, or in a folder of several cadences); rename it by hand".into());
            };
            if let Some((f, span)) = unresolved_steps(group, occ).first() {
                return Err(format!(
                    "a test at `{}` names step {} of a cadence that cannot be told; rename by hand",
                    file_line(group, *f, *span),
                    occ.name
                ));
            }
            let current = occ.name.parse::<u32>().ok();
            // The cadence the step belongs to, wherever the rename starts.
            let taken = steps(group, home)
                .iter()
                .any(|(n, _)| n.parse::<u32>().ok() == Some(number));
            if Some(number) != current && taken {
                return Err(format!("this cadence already has a step {new}"));
            }
        }
        Kind::Template => {
            let ok = new.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && new.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !ok {
                return Err(format!(
                    "`{new}` is not a template name: use letters, digits and `_`"
                ));
            }
            if new != occ.name && templates(group).iter().any(|(n, _)| n == new) {
                return Err(format!("a template `{new}` already exists in this folder"));
            }
        }
        k => {
            return Err(format!(
                "a {} cannot be renamed here; steps and templates can",
                k.word()
            ))
        }
    }
    Ok(())
}

/// The edits of a rename, per file.
pub fn rename_edits(
    group: &Group,
    file: FileId,
    occ: &Occurrence,
    new: &str,
) -> Vec<(FileId, Span, String)> {
    references(group, file, occ, true)
        .into_iter()
        .map(|(f, span)| (f, span, new.to_string()))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Outline

#[allow(deprecated)]
fn symbol(
    name: String,
    detail: Option<String>,
    kind: SymbolKind,
    range: Range,
    sel: Range,
    children: Vec<DocumentSymbol>,
) -> DocumentSymbol {
    DocumentSymbol {
        name,
        detail,
        kind,
        tags: None,
        deprecated: None,
        range,
        selection_range: sel,
        children: (!children.is_empty()).then_some(children),
    }
}

/// Steps, templates, fields, events and tests, as an outline.
pub fn document_symbols(group: &Group, file: FileId, utf8: bool) -> Vec<DocumentSymbol> {
    let Some(a) = group.ast(file) else {
        return Vec::new();
    };
    let text = group.text(file);
    let ix = LineIndex::new(text, utf8);
    let src = |sp: Span| text.get(sp.range()).unwrap_or("").trim().to_string();
    let mut out = Vec::new();
    for i in &a.items {
        let range = ix.range(i.span);
        let s = match &i.kind {
            ItemKind::Cadence(n) => symbol(
                format!("cadence “{}”", n.node),
                None,
                SymbolKind::MODULE,
                range,
                ix.range(n.span),
                vec![],
            ),
            ItemKind::Field(f) => symbol(
                f.name.node.clone(),
                Some(src(f.ty.span)),
                SymbolKind::FIELD,
                range,
                ix.range(f.name.span),
                vec![],
            ),
            ItemKind::Event(e) => symbol(
                e.node.clone(),
                Some("event".into()),
                SymbolKind::EVENT,
                range,
                ix.range(e.span),
                vec![],
            ),
            ItemKind::Template(t) => symbol(
                t.name.node.clone(),
                t.subject.as_ref().map(|s| s.value.clone()),
                SymbolKind::STRUCT,
                range,
                ix.range(t.name.span),
                vec![],
            ),
            ItemKind::Step(s) => {
                let name = match &s.label {
                    Some(l) => format!("step {} “{}”", s.number.node, l.node),
                    None => format!("step {}", s.number.node),
                };
                let children = s
                    .handlers
                    .iter()
                    .map(|h| {
                        symbol(
                            src(h.span),
                            None,
                            SymbolKind::EVENT,
                            ix.range(h.span),
                            ix.range(h.event.span),
                            vec![],
                        )
                    })
                    .collect();
                symbol(
                    name,
                    Some(src(s.action.span)),
                    SymbolKind::FUNCTION,
                    range,
                    ix.range(s.number.span),
                    children,
                )
            }
            ItemKind::Test(t) => symbol(
                format!("test “{}”", t.name.node),
                None,
                SymbolKind::METHOD,
                range,
                ix.range(t.name.span),
                vec![],
            ),
            ItemKind::Migrate(_) => symbol(
                "migrate".into(),
                None,
                SymbolKind::NAMESPACE,
                range,
                range,
                vec![],
            ),
            _ => continue,
        };
        out.push(s);
    }
    out
}

/// The whole document formatted by `cadence fmt`, as one edit (none when it is already so).
pub fn formatting(name: &str, text: &str, utf8: bool) -> Result<Vec<TextEdit>, String> {
    let formatted = crate::cli::fmt::format_text(name, text)?;
    if formatted == text {
        return Ok(Vec::new());
    }
    Ok(vec![TextEdit::new(
        LineIndex::new(text, utf8).all(),
        formatted,
    )])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statement_pages_come_from_the_language_reference() {
        let w = statement_doc("window").unwrap();
        assert!(w.starts_with("**window**\n\n```cadence\nwindow"), "{w}");
        assert!(statement_doc("reply_to")
            .unwrap()
            .starts_with("**from, reply_to**"));
        assert!(statement_doc("enroll")
            .unwrap()
            .starts_with("**enroll when**"));
        assert!(statement_doc("pause").is_some());
        assert_eq!(statement_doc("frobnicate"), None);
    }

    #[test]
    fn days_are_said_as_people_say_them() {
        assert_eq!(span_days(0.0), "0 days");
        assert_eq!(span_days(0.5), "12 hours");
        assert_eq!(span_days(1.0 / 24.0), "1 hour");
        assert_eq!(span_days(1.0), "1 day");
        assert_eq!(span_days(3.0), "3 days");
        assert_eq!(span_days(2.25), "2.3 days");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// No text, and no position in it, makes a request panic.
        #[test]
        fn no_text_or_position_makes_a_request_panic(
            text in "(step [0-9] ?: ?(email|call) ?\"?[a-z{}]*\"?|\n|on [a-z_]* ?-> ?(step [0-9]|next|done)|template [a-z]+ \\{|\\}|subject \"[a-z {}|]*\"|[ -~\u{e9}\u{65e5}\u{1f600}])*",
        ) {
            let uri = "untitled:fuzz";
            let docs = HashMap::from([(uri.to_string(), super::super::analysis::Doc { text: text.clone(), version: 1 })]);
            let group = super::super::analysis::load(uri, &docs, &mut HashMap::new());
            let file = group.file(uri).unwrap().id;
            let mut offsets: Vec<usize> = (0..=text.len()).filter(|i| text.is_char_boundary(*i)).step_by(7).collect();
            offsets.push(text.len());
            for off in offsets {
                let _ = hover(&group, file, off, false);
                let _ = completion(&group, file, off);
                if let Some(occ) = occurrence_at(&group, file, off) {
                    let _ = declarations(&group, file, occ);
                    let _ = references(&group, file, occ, true);
                    let _ = check_rename(&group, file, occ, "7");
                }
            }
            let _ = document_symbols(&group, file, false);
            let _ = code_lenses(&group, file, true);
        }
    }

    #[test]
    fn a_template_preview_fills_samples_and_fallbacks() {
        let t = "Hi {{first_name | there}}, {{plan}} at {{company}} {{unsubscribe_link}}";
        assert_eq!(
            fill(t, true),
            "Hi Ada, ‹plan› at Analytical Engines Ltd https://…/u/…"
        );
        assert_eq!(fill(t, false), "Hi there,  at  https://…/u/…");
    }
}
