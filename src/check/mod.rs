//! Name resolution and type checking: ASTs of the files given together -> a checked
//! [`Program`]. Every error of every file is reported; a program is produced only when there is
//! none.

mod expr;
pub mod program;
pub mod schema;
pub mod template;
mod tests;

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::str::FromStr;

use chrono_tz::Tz;

pub use program::*;
pub use schema::{FieldDef, FieldId, Module, Schema, Type};

use crate::diagnostic::{self, Diagnostic};
use crate::syntax::ast::{self, ItemKind};
use crate::syntax::{closest, FileId, Sources, Span, Spanned};
use crate::time::window::{clock, parse_clock, parse_day, DAY_MINUTES, DAY_NAMES};
use crate::time::{parse_date, Cron, Duration, Hours, Window};
use expr::{invalid_date, invalid_duration, unknown_field, ExprChecker};
use template::{parse_text, UNSUBSCRIBE_LINK};

/// The result of checking: the program when there was no error, and every diagnostic.
#[derive(Debug)]
pub struct Checked {
    pub program: Option<Program>,
    pub diagnostics: Vec<Diagnostic>,
    /// The syntax trees, in the order of the files given (for the formatter and the linter).
    pub files: Vec<(FileId, ast::File)>,
}

impl Checked {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Parses and checks the files together: they share templates, fields and events.
pub fn check(sources: &mut Sources, files: &[FileId]) -> Checked {
    let mut diags = Vec::new();
    let mut asts = Vec::new();
    for &id in files {
        let (file, d) = crate::syntax::parse(id, &sources.get(id).text);
        diags.extend(d);
        asts.push((id, file));
    }
    let mut ck = Checker {
        sources,
        diags,
        templates: Vec::new(),
        template_index: HashMap::new(),
        template_spans: Vec::new(),
        fields: Vec::new(),
        events: Vec::new(),
    };
    let program = ck.run(&asts);
    let mut diags = ck.diags;
    diagnostic::sort(&mut diags);
    diags.dedup();
    let program = if diags.iter().any(Diagnostic::is_error) {
        None
    } else {
        program
    };
    Checked {
        program,
        diagnostics: diags,
        files: asts,
    }
}

struct FieldDeclared {
    file: FileId,
    name: Spanned<String>,
    ty: Option<Type>,
}

struct Checker<'s> {
    sources: &'s mut Sources,
    diags: Vec<Diagnostic>,
    templates: Vec<(FileId, ast::Template)>,
    /// The span of each template's whole block (by index in `templates`).
    template_spans: Vec<Span>,
    /// Template name -> indices into `templates` (one per file that defines it).
    template_index: HashMap<String, Vec<usize>>,
    fields: Vec<FieldDeclared>,
    /// Custom events with the file and span of their declaration.
    events: Vec<(String, FileId, Span)>,
}

/// The largest body file read.
pub const MAX_BODY_FILE: u64 = 1 << 20;

/// Reads a template's `body file`: a regular file of at most [`MAX_BODY_FILE`] bytes in the
/// cadence's folder (`base`) or below it, after links are resolved. Anything else (an absolute
/// path, `..` out of the folder, a link out of it, a folder, a device, a FIFO) is refused
/// without being opened for reading, so no other file's lines reach a diagnostic.
pub fn read_body_file(base: &Path, relative: &str) -> Result<String, String> {
    let rel = Path::new(relative);
    if rel.is_absolute() || relative.starts_with('\\') {
        return Err("the path is absolute; name the file relative to the cadence's folder".into());
    }
    let base = if base.as_os_str().is_empty() {
        Path::new(".")
    } else {
        base
    };
    let full = base.join(rel);
    let inside = |p: &Path| -> std::io::Result<bool> {
        Ok(p.canonicalize()?.starts_with(base.canonicalize()?))
    };
    match inside(&full) {
        Ok(true) => {}
        Ok(false) => return Err("it is outside the cadence's folder".into()),
        Err(e) => return Err(diagnostic::io_reason(&e)),
    }
    let meta = std::fs::metadata(&full).map_err(|e| diagnostic::io_reason(&e))?;
    if !meta.is_file() {
        return Err("it is not a regular file".into());
    }
    if meta.len() > MAX_BODY_FILE {
        return Err(format!("it is larger than {} KiB", MAX_BODY_FILE / 1024));
    }
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(&full)
        .and_then(|f| f.take(MAX_BODY_FILE + 1).read_to_string(&mut text))
        .map_err(|e| diagnostic::io_reason(&e))?;
    Ok(text)
}

/// Statements that only a cadence (a file with steps) may hold.
fn is_cadence_statement(kind: &ItemKind) -> bool {
    matches!(
        kind,
        ItemKind::Cadence(_)
            | ItemKind::Enroll(_)
            | ItemKind::Exit(_)
            | ItemKind::Goal(_)
            | ItemKind::Timezone(_)
            | ItemKind::Window(_)
            | ItemKind::Limit(_)
            | ItemKind::From(_)
            | ItemKind::ReplyTo(_)
            | ItemKind::Reenroll(_)
            | ItemKind::PauseOn { .. }
            | ItemKind::Holidays(_)
            | ItemKind::Track(_)
            | ItemKind::Migrate(_)
    )
}

/// The outcome and timeout events a step of `channel` has.
fn channel_events(channel: Channel) -> Vec<&'static str> {
    let outcomes = Outcome::ALL
        .iter()
        .filter(|o| o.fits(channel))
        .map(|o| o.name());
    let timeouts = Timeout::ALL
        .iter()
        .filter(|t| t.fits(channel))
        .map(|t| t.name());
    outcomes.chain(timeouts).collect()
}

/// "an email", "a call", "a task".
fn article(channel: Channel) -> &'static str {
    match channel {
        Channel::Email => "an email",
        Channel::Call => "a call",
        Channel::Task => "a task",
    }
}

pub(crate) fn duplicate(
    file: FileId,
    span: Span,
    what: &str,
    first_file: FileId,
    first: Span,
) -> Diagnostic {
    Diagnostic::error(
        "E115",
        file,
        span,
        format!("{what} is defined twice"),
        "defined again here",
    )
    .with_label(first_file, first, "first defined here")
    .with_help("remove one of the two, or give them different names")
}

impl Checker<'_> {
    fn run(&mut self, asts: &[(FileId, ast::File)]) -> Option<Program> {
        self.declarations(asts);

        let custom_events: Vec<String> = self.events.iter().map(|(n, ..)| n.clone()).collect();
        let mut cadences = Vec::new();
        let mut library_modules: HashMap<FileId, Module> = HashMap::new();
        let mut cadence_names: HashMap<String, (FileId, Span)> = HashMap::new();
        for (file, ast) in asts {
            let has_steps = ast.items.iter().any(|i| {
                matches!(
                    i.kind,
                    ItemKind::Step(_) | ItemKind::Error { step: Some(_) }
                )
            });
            if !has_steps {
                if let Some(item) = ast.items.iter().find(|i| is_cadence_statement(&i.kind)) {
                    self.diags.push(
                        Diagnostic::error(
                            "E113",
                            *file,
                            item.span,
                            "cadence without steps",
                            "this file sets up a cadence, but no `step` follows",
                        )
                        .with_help("add steps (`step 1: email welcome after 0d`); a file of only templates, fields and events is a library and needs none"),
                    );
                } else if ast.items.is_empty() {
                    self.diags.push(
                        Diagnostic::error(
                            "E113",
                            *file,
                            Span::new(0, 0),
                            "empty file: no steps, templates, fields or events",
                            "nothing here",
                        )
                        .with_help("a cadence needs at least one `step`; a library holds templates, fields or events"),
                    );
                }
                let module = self.module_of(*file, ast);
                library_modules.insert(*file, module);
                continue;
            }
            let cadence = self.cadence(*file, ast, &custom_events);
            if let Some(prev) = cadence_names.get(&cadence.name) {
                let span = ast
                    .items
                    .iter()
                    .find_map(|i| match &i.kind {
                        ItemKind::Cadence(n) => Some(n.span),
                        _ => None,
                    })
                    .unwrap_or_default();
                self.diags.push(duplicate(
                    *file,
                    span,
                    &format!("cadence \"{}\"", cadence.name),
                    prev.0,
                    prev.1,
                ));
            } else {
                let span = ast
                    .items
                    .iter()
                    .find_map(|i| match &i.kind {
                        ItemKind::Cadence(n) => Some(n.span),
                        _ => None,
                    })
                    .unwrap_or_default();
                cadence_names.insert(cadence.name.clone(), (*file, span));
            }
            cadences.push(cadence);
        }

        let templates = self.compile_templates(&cadences, &library_modules);
        let mut tests = Vec::new();
        for (file, ast) in asts {
            for item in &ast.items {
                if let ItemKind::Test(t) = &item.kind {
                    if let Some(case) = tests::check_test(
                        &mut self.diags,
                        *file,
                        item.span,
                        t,
                        &cadences,
                        &templates,
                        &custom_events,
                    ) {
                        if let Some(prev) = tests
                            .iter()
                            .find(|p: &&TestCase| p.name == case.name && p.file == case.file)
                        {
                            let d = duplicate(
                                *file,
                                t.name.span,
                                &format!("test \"{}\"", case.name),
                                prev.file,
                                prev.span,
                            );
                            self.diags.push(d);
                            continue;
                        }
                        tests.push(case);
                    }
                }
            }
        }
        Some(Program {
            cadences,
            templates,
            custom_events,
            tests,
        })
    }

    /// Shared declarations of all files: fields, events, templates.
    fn declarations(&mut self, asts: &[(FileId, ast::File)]) {
        for (file, ast) in asts {
            for item in &ast.items {
                match &item.kind {
                    ItemKind::Field(decl) => {
                        let ty = self.field_type(*file, &decl.ty);
                        if let Some(prev) =
                            self.fields.iter().find(|f| f.name.node == decl.name.node)
                        {
                            // The same declaration in two files given together is fine.
                            if prev.ty != ty || prev.file == *file {
                                let d = duplicate(
                                    *file,
                                    decl.name.span,
                                    &format!("field `{}`", decl.name.node),
                                    prev.file,
                                    prev.name.span,
                                );
                                self.diags.push(d);
                            }
                            continue;
                        }
                        self.fields.push(FieldDeclared {
                            file: *file,
                            name: decl.name.clone(),
                            ty,
                        });
                    }
                    ItemKind::Event(name) => {
                        if Outcome::from_name(&name.node).is_some()
                            || Timeout::from_name(&name.node).is_some()
                        {
                            self.diags.push(
                                Diagnostic::error(
                                    "E115",
                                    *file,
                                    name.span,
                                    format!("`{}` is a built-in event", name.node),
                                    "already an event of email, call or task steps",
                                )
                                .with_help("built-in events need no declaration; remove this line"),
                            );
                            continue;
                        }
                        if let Some((_, pf, ps)) =
                            self.events.iter().find(|(n, ..)| *n == name.node)
                        {
                            // Declaring the same event in two files given together is fine.
                            if *pf == *file {
                                let d = duplicate(
                                    *file,
                                    name.span,
                                    &format!("event `{}`", name.node),
                                    *pf,
                                    *ps,
                                );
                                self.diags.push(d);
                            }
                            continue;
                        }
                        self.events.push((name.node.clone(), *file, name.span));
                    }
                    ItemKind::Template(t) => {
                        let same_file = self
                            .template_index
                            .get(&t.name.node)
                            .and_then(|ids| ids.iter().find(|&&i| self.templates[i].0 == *file));
                        if let Some(&i) = same_file {
                            let prev = &self.templates[i].1;
                            let d = duplicate(
                                *file,
                                t.name.span,
                                &format!("template `{}`", t.name.node),
                                *file,
                                prev.name.span,
                            );
                            self.diags.push(d);
                            continue;
                        }
                        self.template_index
                            .entry(t.name.node.clone())
                            .or_default()
                            .push(self.templates.len());
                        self.templates.push((*file, t.clone()));
                        self.template_spans.push(item.span);
                    }
                    _ => {}
                }
            }
        }
    }

    fn field_type(&mut self, file: FileId, ty: &Spanned<ast::TypeExpr>) -> Option<Type> {
        match &ty.node {
            ast::TypeExpr::Named(name) => match Type::from_name(name) {
                Some(t) => Some(t),
                None => {
                    let hint = match name.as_str() {
                        "string" | "str" => Some("text"),
                        "int" | "integer" | "float" | "decimal" | "money" => Some("number"),
                        "boolean" => Some("bool"),
                        "datetime" | "timestamp" | "time" => Some("date"),
                        "timezone" | "zone" => Some("tz"),
                        _ => closest(name, Type::NAMES.iter().copied()),
                    };
                    let d = Diagnostic::error(
                        "E118",
                        file,
                        ty.span,
                        format!("unknown field type `{name}`"),
                        "not a type",
                    );
                    self.diags.push(match hint {
                        Some(h) => d.with_help(format!("did you mean `{h}`? the types are text, number, bool, date, email, phone, tz and enum(\"a\", \"b\")")),
                        None => d.with_help("the types are text, number, bool, date, email, phone, tz and enum(\"a\", \"b\")"),
                    });
                    None
                }
            },
            ast::TypeExpr::Enum(values) => {
                let mut seen: Vec<&Spanned<String>> = Vec::new();
                let mut first: HashMap<&str, Span> = HashMap::with_capacity(values.len());
                for v in values {
                    if let Some(prev) = first.get(v.node.as_str()) {
                        let d = duplicate(
                            file,
                            v.span,
                            &format!("enum value \"{}\"", v.node),
                            file,
                            *prev,
                        );
                        self.diags.push(d);
                    } else {
                        first.insert(&v.node, v.span);
                        seen.push(v);
                    }
                }
                Some(Type::Enum(seen.iter().map(|v| v.node.clone()).collect()))
            }
        }
    }

    fn module_of(&mut self, file: FileId, ast: &ast::File) -> Module {
        let mut module = None;
        for item in &ast.items {
            if let ItemKind::Module(name) = &item.kind {
                if let Some((_, first)) = module {
                    let d = duplicate(file, name.span, "`module`", file, first);
                    self.diags.push(d);
                    continue;
                }
                match Module::from_name(&name.node) {
                    Some(m) => module = Some((m, name.span)),
                    None => {
                        let d = Diagnostic::error(
                            "E116",
                            file,
                            name.span,
                            format!("unknown module `{}`", name.node),
                            "not a module",
                        );
                        let help = match closest(&name.node, ["leads", "contacts", "deals"]) {
                            Some(c) => format!(
                                "did you mean `{c}`? the modules are leads, contacts and deals"
                            ),
                            None => "the modules are leads, contacts and deals".into(),
                        };
                        self.diags.push(d.with_help(help));
                        module = Some((Module::Contacts, name.span));
                    }
                }
            }
        }
        module.map(|(m, _)| m).unwrap_or_default()
    }

    /// The module's schema plus every declared field.
    fn schema(&mut self, file: FileId, module: Module) -> Schema {
        let mut schema = Schema::new(module);
        for f in &self.fields {
            let Some(ty) = &f.ty else { continue };
            if let Some(existing) = schema.lookup(&f.name.node) {
                let def = schema.field(existing);
                if def.ty != *ty && f.file == file {
                    self.diags.push(
                        Diagnostic::error(
                            "E115",
                            f.file,
                            f.name.span,
                            format!(
                                "field `{}` is built into the {} module",
                                f.name.node,
                                module.name()
                            ),
                            format!("already a field of type {}", def.ty),
                        )
                        .with_help("use the built-in field, or pick another name"),
                    );
                }
                continue;
            }
            schema.push(&f.name.node, ty.clone(), false);
        }
        schema
    }

    /// Validates a cron string and points errors inside it.
    /// `window mon-thu 09:00-12:00, 13:00-17:30; fri 09:00-15:00`: every mistake of the
    /// statement is reported (E132), and hours come back only when there is none.
    fn hours(&mut self, file: FileId, groups: &[ast::WindowGroup]) -> Option<Hours> {
        let mut days: [Vec<(u16, u16)>; 7] = Default::default();
        // Where each weekday was given its hours, to point at both when one is given twice.
        let mut given: [Option<Span>; 7] = [None; 7];
        let mut ok = true;
        let err = |span: Span, message: String, label: &str, help: String| {
            Diagnostic::error("E132", file, span, message, label).with_help(help)
        };
        for g in groups {
            let mut weekdays = Vec::new();
            for d in &g.days {
                let mut day = |w: &Spanned<String>| match parse_day(&w.node) {
                    Some(n) => Some(n),
                    None => {
                        let lower = w.node.to_ascii_lowercase();
                        let help = match closest(&lower, ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]) {
                            Some(c) => format!("did you mean `{c}`? days are mon, tue, wed, thu, fri, sat and sun"),
                            None => "days are mon, tue, wed, thu, fri, sat and sun (or their full names)".to_string(),
                        };
                        self.diags.push(err(
                            w.span,
                            format!("`{}` is not a day of the week", w.node),
                            "not a day",
                            help,
                        ));
                        None
                    }
                };
                let from = day(&d.from);
                let to = d.to.as_ref().map(&mut day);
                match (from, to) {
                    (Some(a), None) => weekdays.push(a),
                    // `fri-mon` wraps over the weekend.
                    (Some(a), Some(Some(b))) => {
                        let mut x = a;
                        loop {
                            weekdays.push(x);
                            if x == b {
                                break;
                            }
                            x = (x + 1) % 7;
                        }
                    }
                    _ => ok = false,
                }
            }
            if g.days.is_empty() {
                weekdays.extend(0..7);
            }
            let mut spans = Vec::new();
            for r in &g.ranges {
                let mut time = |c: &Spanned<String>, end: bool| match parse_clock(&c.node) {
                    Some(m) if m == DAY_MINUTES && !end => {
                        self.diags.push(err(
                            c.span,
                            "a range cannot start at 24:00".into(),
                            "the end of the day",
                            "start at 00:00 of the next day".into(),
                        ));
                        None
                    }
                    Some(m) => Some(m),
                    None => {
                        let help = match c.node.parse::<u16>() {
                            Ok(h) if h <= 24 => format!("write hours and minutes: `{h:02}:00`"),
                            _ => "write a time of day as HH:MM, from 00:00 to 24:00 (the end of the day)".into(),
                        };
                        self.diags.push(err(
                            c.span,
                            format!("`{}` is not a time of day", c.node),
                            "not HH:MM",
                            help,
                        ));
                        None
                    }
                };
                let (Some(a), Some(b)) = (time(&r.start, false), time(&r.end, true)) else {
                    ok = false;
                    continue;
                };
                if b <= a {
                    let span = r.start.span.to(r.end.span);
                    self.diags.push(err(
                        span,
                        format!("the range {} ends before it starts", &self.sources.get(file).text[span.range()]),
                        "ends at or before its start",
                        format!("a range over midnight is written as two, one for each day: `{}-24:00` and `00:00-{}` on the next day", clock(a), clock(b)),
                    ));
                    ok = false;
                    continue;
                }
                if let Some((_, _, other)) = spans.iter().find(|(x, y, _)| a < *y && *x < b) {
                    let other: Span = *other;
                    let span = r.start.span.to(r.end.span);
                    self.diags.push(
                        err(
                            span,
                            "two ranges of one window overlap".into(),
                            "overlaps another range",
                            "join them into one range, or end the first before the second starts"
                                .into(),
                        )
                        .with_label(file, other, "this range"),
                    );
                    ok = false;
                    continue;
                }
                spans.push((a, b, r.start.span.to(r.end.span)));
            }
            let day_span = match (g.days.first(), g.days.last()) {
                (Some(f), Some(l)) => f.from.span.to(l.to.as_ref().unwrap_or(&l.from).span),
                _ => g.span,
            };
            weekdays.sort_unstable();
            weekdays.dedup();
            for &w in &weekdays {
                if let Some(first) = given[w] {
                    self.diags.push(
                        err(
                            day_span,
                            format!("`{}` is given hours twice", DAY_NAMES[w]),
                            "given again here",
                            "list all of a day's ranges in one group: `mon-thu 09:00-12:00, 13:00-17:30; fri 09:00-15:00`".into(),
                        )
                        .with_label(file, first, "first given here"),
                    );
                    ok = false;
                    break;
                }
                given[w] = Some(day_span);
                days[w].extend(spans.iter().map(|&(a, b, _)| (a, b)));
            }
        }
        ok.then(|| Hours::new(days))
    }

    fn cron(&mut self, file: FileId, s: &Spanned<String>) -> Option<Cron> {
        let result = Cron::parse(&s.node).and_then(|c| {
            if c.fires() {
                Ok(c)
            } else {
                Err(crate::time::CronError {
                    message: format!("cron expression `{}` never fires", s.node),
                    at: 0,
                    len: s.node.len(),
                })
            }
        });
        match result {
            Ok(c) => Some(c),
            Err(e) => {
                let raw = &self.sources.get(file).text[s.span.range()];
                let exact = raw.len() == s.node.len() + 2;
                let span = if exact {
                    let start = s.span.start + 1 + e.at;
                    Span::new(start, start + e.len.max(1))
                } else {
                    s.span
                };
                self.diags.push(
                    Diagnostic::error("E108", file, span, format!("invalid cron expression: {}", e.message), "here")
                        .with_help("cron has 5 fields: minute hour day-of-month month day-of-week (0 and 7 are Sunday), e.g. \"0 9-17 * * 1-5\""),
                );
                None
            }
        }
    }

    fn timezone(&mut self, file: FileId, s: &Spanned<String>) -> Option<Tz> {
        match Tz::from_str(&s.node) {
            Ok(tz) => Some(tz),
            Err(_) => {
                let names = chrono_tz::TZ_VARIANTS.iter().map(|t| t.name());
                let d = Diagnostic::error(
                    "E109",
                    file,
                    s.span,
                    format!("unknown time zone \"{}\"", s.node),
                    "not an IANA time zone",
                );
                self.diags.push(match closest(&s.node, names) {
                    Some(c) => d.with_help(format!("did you mean \"{c}\"?")),
                    None => d.with_help("use an IANA name such as \"Europe/London\", \"America/New_York\" or \"Asia/Shanghai\""),
                });
                None
            }
        }
    }

    /// `from` and `reply_to` go into headers: each must be an address (E128).
    fn mailbox(&mut self, file: FileId, s: &Spanned<String>, what: &str) {
        if let Some(why) = crate::mail::address::mailbox_problem(&s.node) {
            self.diags.push(
                Diagnostic::error(
                    "E128",
                    file,
                    s.span,
                    format!("`{what}` is not an email address: {why}"),
                    "not an address",
                )
                .with_help(format!(
                    "write `{what} \"sales@acme.test\"` or `{what} \"Sales Team <sales@acme.test>\"`"
                )),
            );
        }
    }

    /// A subject is one header line: no line break or other control character (E129).
    fn header_text(&mut self, file: FileId, s: &ast::Str) {
        if let Some(c) = s.value.chars().find(|c| c.is_control()) {
            self.diags.push(
                Diagnostic::error(
                    "E129",
                    file,
                    s.span,
                    format!(
                        "a subject holds a control character ({})",
                        match c {
                            '\n' => "a line break".to_string(),
                            '\r' => "a carriage return".to_string(),
                            '\t' => "a tab".to_string(),
                            c => format!("U+{:04X}", c as u32),
                        }
                    ),
                    "a header is one line",
                )
                .with_help("write the subject on one line, without `\\n`, `\\r` or `\\t`"),
            );
        }
    }

    fn duration(&mut self, file: FileId, s: &Spanned<String>) -> Option<Duration> {
        match Duration::parse(&s.node) {
            Ok(d) => Some(d),
            Err(e) => {
                self.diags.push(invalid_duration(file, s.span, &s.node, &e));
                None
            }
        }
    }

    fn event_name(
        &mut self,
        file: FileId,
        name: &Spanned<String>,
        custom: &[String],
    ) -> Option<EventName> {
        if let Some(o) = Outcome::from_name(&name.node) {
            return Some(EventName::Outcome(o));
        }
        if let Some(i) = custom.iter().position(|c| *c == name.node) {
            return Some(EventName::Custom(i));
        }
        if Timeout::from_name(&name.node).is_some() {
            self.diags.push(
                Diagnostic::error(
                    "E106",
                    file,
                    name.span,
                    format!(
                        "`{}` is the timeout of one step, not an event of the cadence",
                        name.node
                    ),
                    "a timeout needs a step and a duration",
                )
                .with_help(format!(
                    "write it under a step: `on {} 3d -> exit \"no response\"`",
                    name.node
                )),
            );
            return None;
        }
        let known: Vec<&str> = Outcome::ALL
            .iter()
            .map(|o| o.name())
            .chain(custom.iter().map(String::as_str))
            .collect();
        let d = Diagnostic::error(
            "E114",
            file,
            name.span,
            format!("unknown event `{}`", name.node),
            "no such event",
        );
        self.diags
            .push(match closest(&name.node, known.iter().copied()) {
                Some(c) => d.with_help(format!(
                    "did you mean `{c}`? a custom event is declared with `event {}`",
                    name.node
                )),
                None => d.with_help(format!("declare a custom event with `event {}`", name.node)),
            });
        None
    }

    fn cadence(&mut self, file: FileId, ast: &ast::File, custom: &[String]) -> Cadence {
        let module = self.module_of(file, ast);
        let schema = self.schema(file, module);
        let mut seen: HashMap<&'static str, Span> = HashMap::new();
        let mut once = |this: &mut Self, key: &'static str, span: Span| -> bool {
            if let Some(first) = seen.get(key) {
                let d = duplicate(file, span, &format!("`{key}`"), file, *first);
                this.diags.push(d);
                false
            } else {
                seen.insert(key, span);
                true
            }
        };

        let mut c = Cadence {
            name: self.sources.get(file).stem(),
            stem: self.sources.get(file).stem(),
            file,
            schema: schema.clone(),
            enroll: None,
            exits: Vec::new(),
            goals: Vec::new(),
            zone: Zone::Fixed(Tz::UTC),
            window: None,
            migration: None,
            limit_per_day: None,
            from: None,
            reply_to: None,
            reenroll: None,
            pause_on_auto_reply: None,
            holidays: Vec::new(),
            track: Tracking::default(),
            steps: Vec::new(),
        };
        for item in &ast.items {
            let span = item.span;
            match &item.kind {
                ItemKind::Cadence(name) if once(self, "cadence", span) => {
                    c.name = name.node.clone();
                }
                ItemKind::Enroll(e) => {
                    let mut ec = ExprChecker {
                        schema: &schema,
                        file,
                        diags: &mut self.diags,
                    };
                    let x = ec.condition(e, "enroll when");
                    if once(self, "enroll when", span) {
                        c.enroll = x;
                    }
                }
                ItemKind::Exit(rule) | ItemKind::Goal(rule) => {
                    let is_exit = matches!(item.kind, ItemKind::Exit(_));
                    let trigger = match &rule.trigger {
                        ast::Trigger::On(ev) => {
                            self.event_name(file, ev, custom).map(EndTrigger::Event)
                        }
                        ast::Trigger::When(e) => {
                            let mut ec = ExprChecker {
                                schema: &schema,
                                file,
                                diags: &mut self.diags,
                            };
                            ec.condition(e, if is_exit { "exit when" } else { "goal when" })
                                .map(EndTrigger::When)
                        }
                    };
                    let default = match &rule.trigger {
                        ast::Trigger::On(ev) => ev.node.clone(),
                        ast::Trigger::When(_) if is_exit => "criteria".to_string(),
                        ast::Trigger::When(_) => "goal".to_string(),
                    };
                    if let Some(trigger) = trigger {
                        let r = EndRule {
                            name: rule
                                .name
                                .as_ref()
                                .map(|n| n.node.clone())
                                .unwrap_or(default),
                            trigger,
                            span,
                        };
                        if is_exit {
                            c.exits.push(r);
                        } else {
                            c.goals.push(r);
                        }
                    }
                }
                ItemKind::Timezone(spec) => {
                    let zone = match spec {
                        ast::TimezoneSpec::Named(name) => {
                            self.timezone(file, name).map(Zone::Fixed)
                        }
                        ast::TimezoneSpec::Field { field, default } => {
                            let default_tz = match default {
                                Some(d) => self.timezone(file, d),
                                None => Some(Tz::UTC),
                            };
                            let fid = match schema.lookup(&field.node) {
                                Some(id) => {
                                    let ty = &schema.field(id).ty;
                                    if matches!(ty, Type::Tz | Type::Text) {
                                        Some(id)
                                    } else {
                                        self.diags.push(
                                            Diagnostic::error(
                                                "E101",
                                                file,
                                                field.span,
                                                format!("field `{}` holds {ty}, not a time zone", field.node),
                                                "not a time zone field",
                                            )
                                            .with_help("name a field of type tz, such as the built-in `timezone`"),
                                        );
                                        None
                                    }
                                }
                                None => {
                                    self.diags.push(unknown_field(
                                        file,
                                        field.span,
                                        &field.node,
                                        &schema,
                                    ));
                                    None
                                }
                            };
                            match (fid, default_tz) {
                                (Some(field), Some(default)) => {
                                    Some(Zone::Field { field, default })
                                }
                                _ => None,
                            }
                        }
                    };
                    if once(self, "timezone", span) {
                        if let Some(z) = zone {
                            c.zone = z;
                        }
                    }
                }
                ItemKind::Window(spec) => {
                    let w = match spec {
                        ast::WindowSpec::Cron(cron) => self.cron(file, cron).map(Window::Cron),
                        ast::WindowSpec::Hours(groups) => {
                            self.hours(file, groups).map(Window::Hours)
                        }
                    };
                    if once(self, "window", span) {
                        c.window = w;
                    }
                }
                ItemKind::Limit(limit) => {
                    let l = self.limit(file, limit);
                    if once(self, "limit", span) {
                        c.limit_per_day = l;
                    }
                }
                ItemKind::From(s) => {
                    self.mailbox(file, s, "from");
                    if once(self, "from", span) {
                        c.from = Some(s.node.clone());
                    }
                }
                ItemKind::ReplyTo(s) => {
                    self.mailbox(file, s, "reply_to");
                    if once(self, "reply_to", span) {
                        c.reply_to = Some(s.node.clone());
                    }
                }
                ItemKind::Track(items) => {
                    for item in items {
                        let machine = match &item.including {
                            None => false,
                            Some(w) if w.node == "machine" => true,
                            Some(w) => {
                                self.diags.push(
                                    Diagnostic::error(
                                        "E127",
                                        file,
                                        w.span,
                                        format!("`track ... including {}` is not something to track", w.node),
                                        "not `machine`",
                                    )
                                    .with_help("write `including machine` to count opens and clicks made by mail proxies and link scanners"),
                                );
                                false
                            }
                        };
                        let key = match item.what.node.as_str() {
                            "opens" => "track opens",
                            "clicks" => "track clicks",
                            other => {
                                let hint = closest(other, ["opens", "clicks"]);
                                let d = Diagnostic::error(
                                    "E127",
                                    file,
                                    item.what.span,
                                    format!("cannot track `{other}`"),
                                    "not opens or clicks",
                                );
                                self.diags.push(match hint {
                                    Some(h) => d.with_help(format!("did you mean `{h}`? a cadence tracks opens and clicks")),
                                    None => d.with_help("a cadence tracks opens (`track opens`) and clicks (`track clicks`)"),
                                });
                                continue;
                            }
                        };
                        if once(self, key, item.what.span) {
                            if key == "track opens" {
                                c.track.opens = true;
                                c.track.machine_opens = machine;
                            } else {
                                c.track.clicks = true;
                                c.track.machine_clicks = machine;
                            }
                        }
                    }
                }
                ItemKind::Reenroll(d) => {
                    let d = self.duration(file, d);
                    if once(self, "reenroll", span) {
                        c.reenroll = d;
                    }
                }
                ItemKind::PauseOn { event, default } => {
                    if event.node != "auto_reply" {
                        self.diags.push(
                            Diagnostic::error(
                                "E135",
                                file,
                                event.span,
                                format!("a cadence pauses on `auto_reply` only, not on `{}`", event.node),
                                "not an out-of-office answer",
                            )
                            .with_help("to end the enrolment on an event write `exit on EVENT`; to move it, an `on EVENT -> ...` line of a step"),
                        );
                        continue;
                    }
                    let d = match default {
                        Some(d) => self.duration(file, d),
                        None => Some(crate::time::Duration {
                            seconds: 7 * 86_400,
                            business_days: 0,
                        }),
                    };
                    if once(self, "pause on auto_reply", span) {
                        c.pause_on_auto_reply = d;
                    }
                }
                ItemKind::Holidays(dates) => {
                    for d in dates {
                        match parse_date(&d.node) {
                            Ok(DateValue::Day(day)) => c.holidays.push(day),
                            Ok(DateValue::Instant(_)) => self.diags.push(
                                Diagnostic::error(
                                    "E111",
                                    file,
                                    d.span,
                                    "a holiday is a whole day, not an instant",
                                    "an instant",
                                )
                                .with_help("write the day alone: `2026-12-25`"),
                            ),
                            Err(msg) => self.diags.push(invalid_date(file, d.span, msg)),
                        }
                    }
                }
                _ => {}
            }
        }
        c.holidays.sort();
        c.holidays.dedup();
        c.steps = self.steps(file, ast, &schema, custom);
        for item in &ast.items {
            if let ItemKind::Migrate(m) = &item.kind {
                let checked = self.migration(file, item.span, m, &c);
                if once(self, "migrate", item.span) {
                    c.migration = Some(checked);
                }
            }
        }
        c
    }

    /// `migrate { ... }`: each target is a step of this cadence, `done` or `exit`; each old
    /// step is named once (E133 otherwise, E103 for a missing step).
    fn migration(&mut self, file: FileId, span: Span, m: &ast::Migrate, c: &Cadence) -> Migration {
        let err = |span: Span, msg: String, label: &str, help: &str| {
            Diagnostic::error("E133", file, span, msg, label).with_help(help.to_string())
        };
        if let Some(f) = &m.from {
            let ok =
                (4..=64).contains(&f.node.len()) && f.node.chars().all(|ch| ch.is_ascii_hexdigit());
            if !ok {
                self.diags.push(err(
                    f.span,
                    format!("`{}` is not a version hash", f.node),
                    "not a hash",
                    "give the first characters (4 or more) of the version's hash, as `cadence versions --db DB` lists them",
                ));
            }
        }
        let mut rules = Vec::new();
        let mut seen: HashMap<String, Span> = HashMap::new();
        for x in &m.maps {
            // `step 02` and `step 2` name one step.
            let key = match (x.label, x.step.node.parse::<u32>()) {
                (false, Ok(n)) => n.to_string(),
                _ => format!("\"{}\"", x.step.node),
            };
            if let Some(first) = seen.get(&key) {
                self.diags.push(
                    err(
                        x.step.span,
                        format!("step {} is mapped twice", x.step.node),
                        "mapped again",
                        "map each old step once",
                    )
                    .with_label(file, *first, "first mapped here"),
                );
                continue;
            }
            seen.insert(key, x.step.span);
            let step = if x.label {
                StepRef::Label(x.step.node.clone())
            } else {
                match x.step.node.parse::<u32>() {
                    Ok(n) => StepRef::Number(n),
                    Err(_) => continue,
                }
            };
            let to = match &x.target.node {
                ast::Target::Step(n) => {
                    match n.node.parse::<u32>().ok().and_then(|n| c.step_index(n)) {
                        Some(i) => MigrateTo::Step(i),
                        None => {
                            let list: Vec<String> =
                                c.steps.iter().map(|s| s.number.to_string()).collect();
                            self.diags.push(
                            Diagnostic::error("E103", file, x.target.span, format!("there is no step {}", n.node), "no such step")
                                .with_help(format!("the steps of this version are {}; or write `done` or `exit \"reason\"`", list.join(", "))),
                        );
                            continue;
                        }
                    }
                }
                ast::Target::Done => MigrateTo::Done,
                ast::Target::Exit(reason) => MigrateTo::Exit(
                    reason
                        .as_ref()
                        .map_or_else(|| "migrated".to_string(), |r| r.node.clone()),
                ),
                ast::Target::Next => {
                    self.diags.push(err(
                        x.target.span,
                        "a migration cannot go to `next`".into(),
                        "next of what?",
                        "name the step of this version (`step 4`), or end the enrolment with `done` or `exit \"reason\"`",
                    ));
                    continue;
                }
            };
            rules.push(MigrateRule {
                step,
                to,
                span: x.span,
            });
        }
        Migration {
            from: m.from.as_ref().map(|f| f.node.clone()),
            rules,
            span,
        }
    }

    fn limit(&mut self, file: FileId, limit: &ast::Limit) -> Option<u32> {
        let help = "write `limit 200 emails per day`";
        let count = match limit.count.node.parse::<u32>() {
            Ok(n) if n >= 1 => Some(n),
            _ => {
                self.diags.push(
                    Diagnostic::error(
                        "E121",
                        file,
                        limit.count.span,
                        format!("`{}` is not a usable daily limit", limit.count.node),
                        "at least 1",
                    )
                    .with_help(help),
                );
                None
            }
        };
        if !matches!(limit.unit.node.as_str(), "emails" | "email") {
            self.diags.push(
                Diagnostic::error(
                    "E121",
                    file,
                    limit.unit.span,
                    format!("only emails can be limited, not `{}`", limit.unit.node),
                    "expected `emails`",
                )
                .with_help(help),
            );
            return None;
        }
        if limit.period.node != "day" {
            self.diags.push(
                Diagnostic::error(
                    "E121",
                    file,
                    limit.period.span,
                    format!("limits are per day, not per `{}`", limit.period.node),
                    "expected `day`",
                )
                .with_help(help),
            );
            return None;
        }
        count
    }

    fn steps(
        &mut self,
        file: FileId,
        ast: &ast::File,
        schema: &Schema,
        custom: &[String],
    ) -> Vec<Step> {
        // Pass 1: numbers.
        let mut index: HashMap<u32, usize> = HashMap::new();
        let mut first_span: HashMap<u32, Span> = HashMap::new();
        let mut broken: BTreeSet<u32> = BTreeSet::new();
        let mut asts: Vec<(u32, &ast::Step)> = Vec::new();
        for item in &ast.items {
            match &item.kind {
                ItemKind::Error { step: Some(n) } => {
                    broken.insert(*n);
                }
                ItemKind::Step(s) => {
                    let Ok(n) = s.number.node.parse::<u32>() else {
                        self.diags.push(
                            Diagnostic::error(
                                "E103",
                                file,
                                s.number.span,
                                format!("step number `{}` is too large", s.number.node),
                                "too large",
                            )
                            .with_help("number steps 1, 2, 3..."),
                        );
                        continue;
                    };
                    if let Some(first) = first_span.get(&n) {
                        self.diags.push(
                            Diagnostic::error(
                                "E104",
                                file,
                                s.number.span,
                                format!("step {n} is defined twice"),
                                "second step with this number",
                            )
                            .with_label(file, *first, "first defined here")
                            .with_help("give every step its own number"),
                        );
                        continue;
                    }
                    first_span.insert(n, s.number.span);
                    index.insert(n, asts.len());
                    asts.push((n, s));
                }
                _ => {}
            }
        }
        let numbers: Vec<u32> = asts.iter().map(|(n, _)| *n).collect();

        // Pass 2: each step.
        let mut steps = Vec::new();
        for (i, (number, s)) in asts.iter().enumerate() {
            let next = if i + 1 < asts.len() {
                Target::Step(i + 1)
            } else {
                Target::Done
            };
            let step = self.step(
                file, *number, s, schema, custom, &index, &broken, &numbers, next,
            );
            steps.push(step);
        }
        steps
    }

    #[allow(clippy::too_many_arguments)]
    fn step(
        &mut self,
        file: FileId,
        number: u32,
        s: &ast::Step,
        schema: &Schema,
        custom: &[String],
        index: &HashMap<u32, usize>,
        broken: &BTreeSet<u32>,
        numbers: &[u32],
        next: Target,
    ) -> Step {
        let action = match &s.action.node {
            ast::Action::Email { template, variants } if variants.is_empty() => {
                let id = self.resolve_template(file, template);
                Action::Email {
                    template: TemplateId(id),
                    variants: Vec::new(),
                }
            }
            ast::Action::Email { variants, .. } => {
                let variants = self.variants(file, s.action.span, variants);
                Action::Email {
                    template: variants
                        .first()
                        .map_or(TemplateId(usize::MAX), |v| v.template),
                    variants,
                }
            }
            ast::Action::Call { subject } => Action::Call {
                subject: subject.node.clone(),
            },
            ast::Action::Task { subject, kind } => {
                let kind = match kind {
                    None => TaskKind::Todo,
                    Some(k) => TaskKind::from_name(&k.node).unwrap_or_else(|| {
                        self.diags.push(
                            Diagnostic::error(
                                "E119",
                                file,
                                k.span,
                                format!("unknown task type `{}`", k.node),
                                "not a task type",
                            )
                            .with_help("the task types are meeting, call, demo and todo"),
                        );
                        TaskKind::Todo
                    }),
                };
                Action::Task {
                    subject: subject.node.clone(),
                    kind,
                }
            }
        };
        let channel = action.channel();
        let mut step = Step {
            number,
            label: s.label.as_ref().map(|l| l.node.clone()),
            action,
            after: Duration::ZERO,
            at: None,
            guard: None,
            priority: Priority::Normal,
            owner: Vec::new(),
            due: None,
            from: None,
            reply_to: None,
            subject: None,
            handlers: Vec::new(),
            next,
            span: s.head,
        };

        let mut seen: HashMap<&'static str, Span> = HashMap::new();
        let mut after_span = None;
        let mut at_field_span = None;
        for opt in &s.options {
            let kw = opt.node.keyword();
            if let Some(first) = seen.get(kw) {
                let d = duplicate(file, opt.span, &format!("step option `{kw}`"), file, *first);
                self.diags.push(d);
                continue;
            }
            seen.insert(kw, opt.span);
            let email_only = |this: &mut Self| {
                if channel != Channel::Email {
                    this.diags.push(
                        Diagnostic::error(
                            "E119",
                            file,
                            opt.span,
                            format!(
                                "`{kw}` applies to email steps, not to {} step",
                                article(channel)
                            ),
                            "not valid here",
                        )
                        .with_help(format!("remove `{kw}` from this step")),
                    );
                    false
                } else {
                    true
                }
            };
            match &opt.node {
                ast::StepOption::After(d) => {
                    after_span = Some(opt.span);
                    if let Some(d) = self.duration(file, d) {
                        step.after = d;
                    }
                }
                ast::StepOption::AtCron(c) => {
                    step.at = self.cron(file, c).map(At::Cron);
                }
                ast::StepOption::AtField { field, offset } => {
                    at_field_span = Some(opt.span);
                    let fid = match schema.lookup(&field.node) {
                        Some(id) if schema.field(id).ty == Type::Date => Some(id),
                        Some(id) => {
                            self.diags.push(
                                Diagnostic::error(
                                    "E112",
                                    file,
                                    field.span,
                                    format!("`at {}` needs a date field, but `{}` is {}", field.node, field.node, schema.field(id).ty),
                                    "not a date",
                                )
                                .with_help("declare the field as a date (`field appointment_date: date`) or use `after DURATION`"),
                            );
                            None
                        }
                        None => {
                            self.diags
                                .push(unknown_field(file, field.span, &field.node, schema));
                            None
                        }
                    };
                    let (off, negative) = match offset {
                        Some((sign, d)) => (self.duration(file, d), *sign == ast::Sign::Minus),
                        None => (Some(Duration::ZERO), false),
                    };
                    if let (Some(field), Some(offset)) = (fid, off) {
                        step.at = Some(At::Field {
                            field,
                            offset,
                            negative,
                        });
                    }
                }
                ast::StepOption::If(e) => {
                    let mut ec = ExprChecker {
                        schema,
                        file,
                        diags: &mut self.diags,
                    };
                    step.guard = ec.condition(e, "if");
                }
                ast::StepOption::Priority(p) => match Priority::from_name(&p.node) {
                    Some(p) => step.priority = p,
                    None => self.diags.push(
                        Diagnostic::error(
                            "E119",
                            file,
                            p.span,
                            format!("unknown priority `{}`", p.node),
                            "not a priority",
                        )
                        .with_help("the priorities are low, normal and high"),
                    ),
                },
                ast::StepOption::Owner(parts) => {
                    step.owner = self.owner(file, parts, schema);
                }
                ast::StepOption::Due(d) => {
                    if channel == Channel::Email {
                        self.diags.push(
                            Diagnostic::error(
                                "E119",
                                file,
                                opt.span,
                                "`due` applies to call and task steps, not to an email step",
                                "not valid here",
                            )
                            .with_help("for email, wait with `on no_reply 3d -> ...`"),
                        );
                    } else if let Some(d) = self.duration(file, d) {
                        step.due = Some(d);
                    }
                }
                ast::StepOption::From(v) => {
                    if email_only(self) {
                        self.mailbox(file, v, "from");
                        step.from = Some(v.node.clone());
                    }
                }
                ast::StepOption::ReplyTo(v) => {
                    if email_only(self) {
                        self.mailbox(file, v, "reply_to");
                        step.reply_to = Some(v.node.clone());
                    }
                }
                ast::StepOption::Subject(v) => {
                    if email_only(self) {
                        self.header_text(file, v);
                        step.subject = Some(self.text(file, v, schema));
                    }
                }
            }
        }
        if let (Some(a), Some(f)) = (after_span, at_field_span) {
            self.diags.push(
                Diagnostic::error("E119", file, a, "`after` and `at FIELD` cannot be combined", "a delay from entering the step")
                    .with_label(file, f, "a time taken from the record")
                    .with_help("a step is due either `after` a delay or `at` a date field (with `+`/`-` an offset); keep one"),
            );
        }

        // Handlers.
        let mut seen_events: HashMap<String, Span> = HashMap::new();
        for h in &s.handlers {
            let event = self.handler_event(file, h, channel, custom);
            if let Some(first) = seen_events.get(&h.event.node) {
                self.diags.push(
                    Diagnostic::error(
                        "E107",
                        file,
                        h.event.span,
                        format!("step {number} has two handlers for `{}`", h.event.node),
                        "second handler",
                    )
                    .with_label(file, *first, "first handler")
                    .with_help("the first handler always wins; remove one or merge them"),
                );
                continue;
            }
            seen_events.insert(h.event.node.clone(), h.event.span);
            let target = match &h.target.node {
                ast::Target::Next => Some(step.next.clone()),
                ast::Target::Done => Some(Target::Done),
                ast::Target::Exit(reason) => Some(Target::Exit(
                    reason
                        .as_ref()
                        .map(|r| r.node.clone())
                        .unwrap_or_else(|| h.event.node.clone()),
                )),
                ast::Target::Step(n) => match n
                    .node
                    .parse::<u32>()
                    .ok()
                    .and_then(|n| index.get(&n).map(|i| (n, *i)))
                {
                    Some((_, i)) => Some(Target::Step(i)),
                    None if n.node.parse::<u32>().is_ok_and(|n| broken.contains(&n)) => None,
                    None => {
                        let list = numbers
                            .iter()
                            .map(u32::to_string)
                            .collect::<Vec<_>>()
                            .join(", ");
                        self.diags.push(
                            Diagnostic::error("E103", file, h.target.span, format!("there is no step {}", n.node), "no such step")
                                .with_help(format!("the steps of this cadence are {list}; or use `next`, `done` or `exit`")),
                        );
                        None
                    }
                },
            };
            if let (Some(event), Some(target)) = (event, target) {
                step.handlers.push(Handler {
                    event,
                    target,
                    span: h.span,
                });
            }
        }
        step
    }

    /// A template of the cadence's own file wins; otherwise the name must be defined in exactly
    /// one of the other files given. `usize::MAX` after an error.
    /// The parts of an `owner` option: fields of the schema that hold a name (text, email,
    /// phone or enum), and a fixed name last.
    fn owner(&mut self, file: FileId, parts: &[ast::OwnerPart], schema: &Schema) -> Vec<OwnerPart> {
        let mut out = Vec::new();
        for p in parts {
            match p {
                ast::OwnerPart::Fixed(s) if s.node.trim().is_empty() => self.diags.push(
                    Diagnostic::error(
                        "E101",
                        file,
                        s.span,
                        "an owner is a name, but this one is blank",
                        "blank",
                    )
                    .with_help(
                        "write who the call or task is for: `owner \"csm\"`, or drop `owner`",
                    ),
                ),
                ast::OwnerPart::Fixed(s) => out.push(OwnerPart::Fixed(s.node.trim().to_string())),
                ast::OwnerPart::Field(f) => match schema.lookup(&f.node) {
                    Some(id) => {
                        let ty = &schema.field(id).ty;
                        if matches!(ty, Type::Number | Type::Bool | Type::Date | Type::Tz) {
                            self.diags.push(
                                Diagnostic::error(
                                    "E101",
                                    file,
                                    f.span,
                                    format!("an owner is a name, but field `{}` is {ty}", f.node),
                                    "not a name",
                                )
                                .with_help("name a text field (`owner account_manager`), or a fixed owner in quotes (`owner \"csm\"`)"),
                            );
                        } else {
                            out.push(OwnerPart::Field(id));
                        }
                    }
                    None => {
                        let d = unknown_field(file, f.span, &f.node, schema);
                        let guessed = d
                            .help
                            .as_deref()
                            .is_some_and(|h| h.contains("did you mean"));
                        self.diags.push(if guessed {
                            d
                        } else {
                            d.with_help(format!(
                                "an owner without quotes is a field of the record; a fixed owner is written in quotes: `owner \"{}\"`",
                                f.node
                            ))
                        });
                    }
                },
            }
        }
        out
    }

    /// Resolves the templates of `email variants(...)` and checks their weights: each written
    /// as a percentage (up to two decimals) above 0, together 100%, no template twice, at
    /// least two of them.
    fn variants(&mut self, file: FileId, span: Span, list: &[ast::Variant]) -> Vec<Variant> {
        let mut out = Vec::new();
        let mut total: u32 = 0;
        let mut weights_ok = true;
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for v in list {
            let id = self.resolve_template(file, &v.template);
            if let Some(first) = seen.get(v.template.node.as_str()) {
                self.diags.push(
                    Diagnostic::error(
                        "E130",
                        file,
                        v.template.span,
                        format!("template `{}` is a variant twice", v.template.node),
                        "named again here",
                    )
                    .with_label(file, *first, "first named here")
                    .with_help("name each template once and give it the sum of the two weights"),
                );
            } else {
                seen.insert(&v.template.node, v.template.span);
            }
            let weight = match &v.weight {
                None => {
                    self.diags.push(
                        Diagnostic::error(
                            "E130",
                            file,
                            v.template.span,
                            format!("variant `{}` has no weight", v.template.node),
                            "how many contacts get this one?",
                        )
                        .with_help(format!(
                            "give every variant its share, for example `{} 50%`",
                            v.template.node
                        )),
                    );
                    None
                }
                Some(w) => match parse_weight(&w.node) {
                    Ok(bp) => Some(bp),
                    Err(why) => {
                        self.diags.push(
                            Diagnostic::error(
                                "E130",
                                file,
                                w.span,
                                format!("invalid weight `{}`: {why}", w.node),
                                "not a share of contacts",
                            )
                            .with_help("write a percentage above 0 with at most two decimals: `50%`, `33.34%`"),
                        );
                        None
                    }
                },
            };
            match weight {
                Some(bp) => total = total.saturating_add(bp),
                None => weights_ok = false,
            }
            out.push(Variant {
                template: TemplateId(id),
                weight: weight.unwrap_or(0),
            });
        }
        if list.len() > MAX_VARIANTS {
            self.diags.push(
                Diagnostic::error(
                    "E130",
                    file,
                    span,
                    format!(
                        "an A/B test of {} templates: at most {MAX_VARIANTS} can be compared",
                        list.len()
                    ),
                    "too many variants",
                )
                .with_help("test fewer templates at a time: each needs thousands of sends to be told apart"),
            );
        } else if list.len() < 2 {
            let name = list.first().map_or("intro", |v| v.template.node.as_str());
            self.diags.push(
                Diagnostic::error(
                    "E130",
                    file,
                    span,
                    "an A/B test needs two variants at least",
                    "only one template",
                )
                .with_help(format!(
                    "add another template (`email variants({name} 50%, other 50%)`) or send one template: `email {name}`"
                )),
            );
        } else if weights_ok && total != 10_000 {
            let last = list.last().and_then(|v| v.weight.as_ref());
            let last_bp = out.last().map_or(0, |v| v.weight);
            let rest = total - last_bp;
            let help = if rest < 10_000 {
                format!(
                    "make the last weight {}% so that they add up to 100%",
                    show_weight(10_000 - rest)
                )
            } else {
                "the weights are shares of the contacts: they must add up to 100%".to_string()
            };
            let d = Diagnostic::error(
                "E130",
                file,
                last.map_or(span, |w| w.span),
                format!(
                    "the weights of the variants add up to {}%, not 100%",
                    show_weight(total)
                ),
                "the last weight",
            )
            .with_help(help);
            self.diags.push(d);
        }
        out
    }

    fn resolve_template(&mut self, file: FileId, name: &Spanned<String>) -> usize {
        let ids = self
            .template_index
            .get(&name.node)
            .cloned()
            .unwrap_or_default();
        if let Some(&own) = ids.iter().find(|&&i| self.templates[i].0 == file) {
            return own;
        }
        match ids.as_slice() {
            [one] => *one,
            [] => {
                let d = Diagnostic::error(
                    "E102",
                    file,
                    name.span,
                    format!("unknown template `{}`", name.node),
                    "no template with this name",
                );
                let names: Vec<&str> = self.template_index.keys().map(String::as_str).collect();
                if name.node == "variants" {
                    self.diags.push(d.with_help(
                        "an A/B test lists its templates with their shares: `email variants(intro_a 50%, intro_b 50%)`",
                    ));
                    return usize::MAX;
                }
                self.diags.push(match closest(&name.node, names) {
                    Some(c) => d.with_help(format!("did you mean `{c}`?")),
                    None => d.with_help(format!(
                        "declare it in this file or a file checked with it: `template {} {{ subject \"...\" body \"\"\"...\"\"\" }}`",
                        name.node
                    )),
                });
                usize::MAX
            }
            many => {
                let files: Vec<String> = many
                    .iter()
                    .map(|&i| format!("`{}`", self.sources.get(self.templates[i].0).name))
                    .collect();
                self.diags.push(
                    Diagnostic::error(
                        "E102",
                        file,
                        name.span,
                        format!("template `{}` is defined in several files: {}", name.node, files.join(", ")),
                        "which one?",
                    )
                    .with_help("define the template in this cadence's own file, or keep it in one library file"),
                );
                usize::MAX
            }
        }
    }

    fn handler_event(
        &mut self,
        file: FileId,
        h: &ast::Handler,
        channel: Channel,
        custom: &[String],
    ) -> Option<HandlerEvent> {
        let name = &h.event;
        let wrong_channel = |what: &str| {
            let valid = channel_events(channel);
            Diagnostic::error(
                "E105",
                file,
                name.span,
                format!("{} step cannot produce `{}`", article(channel), name.node),
                what.to_string(),
            )
            .with_help(format!(
                "{} step has the events {}",
                article(channel),
                valid.join(", ")
            ))
        };
        if name.node == "skipped" {
            if let Some(t) = &h.timeout {
                self.diags.push(
                    Diagnostic::error("E117", file, t.span, "`skipped` takes no duration", "a skip happens at the step's due time")
                        .with_help("write `on skipped -> ...`: where the contact goes when the step is skipped"),
                );
                return None;
            }
            return Some(HandlerEvent::Skipped);
        }
        if let Some(o) = Outcome::from_name(&name.node) {
            if !o.fits(channel) {
                let d = wrong_channel("not an outcome of this step");
                self.diags.push(d);
                return None;
            }
            if let Some(t) = &h.timeout {
                self.diags.push(
                    Diagnostic::error("E117", file, t.span, format!("`{}` takes no duration", name.node), "only timeout events take a duration")
                        .with_help(format!("write `on {} -> ...`; to wait for it, use a timeout such as `on no_open 3d`", name.node)),
                );
                return None;
            }
            return Some(HandlerEvent::Outcome(o));
        }
        if let Some(t) = Timeout::from_name(&name.node) {
            if !t.fits(channel) {
                let d = wrong_channel("not a timeout of this step");
                self.diags.push(d);
                return None;
            }
            let Some(d) = &h.timeout else {
                self.diags.push(
                    Diagnostic::error(
                        "E106",
                        file,
                        name.span,
                        format!("timeout `{}` needs a duration", name.node),
                        "how long to wait?",
                    )
                    .with_help(format!("write `on {} 3d -> ...`", name.node)),
                );
                return None;
            };
            let d = self.duration(file, d)?;
            return Some(HandlerEvent::Timeout(t, d));
        }
        if custom.contains(&name.node) {
            self.diags.push(
                Diagnostic::error(
                    "E105",
                    file,
                    name.span,
                    format!(
                        "custom event `{}` is not an outcome of {} step",
                        name.node,
                        article(channel)
                    ),
                    "custom events belong to the cadence, not to a step",
                )
                .with_help(format!(
                    "end the enrolment on it with `exit on {}` or `goal \"...\" on {}`",
                    name.node, name.node
                )),
            );
            return None;
        }
        let valid = channel_events(channel);
        let all: Vec<&str> = Outcome::ALL
            .iter()
            .map(|o| o.name())
            .chain(Timeout::ALL.iter().map(|t| t.name()))
            .chain(["skipped"])
            .collect();
        let d = Diagnostic::error(
            "E114",
            file,
            name.span,
            format!("unknown event `{}`", name.node),
            "no such event",
        );
        self.diags.push(match closest(&name.node, all) {
            Some(c) => d.with_help(format!(
                "did you mean `{c}`? {} step has {}",
                article(channel),
                valid.join(", ")
            )),
            None => d.with_help(format!(
                "{} step has the events {}",
                article(channel),
                valid.join(", ")
            )),
        });
        None
    }

    /// Compiles a string with merge fields, checking them against `schema`.
    fn text(&mut self, file: FileId, s: &ast::Str, schema: &Schema) -> Text {
        let (text, _, _) = parse_text(&s.value);
        let raw = self.sources.get(file).text[s.content.range()].to_string();
        self.merge_fields(file, s.content.start, &raw, std::slice::from_ref(&schema));
        text
    }

    /// Reports malformed and unknown merge fields of `raw` (found at `base` in `file`).
    fn merge_fields(&mut self, file: FileId, base: usize, raw: &str, schemas: &[&Schema]) {
        let (_, refs, errors) = parse_text(raw);
        for e in errors {
            self.diags.push(
                Diagnostic::error(
                    "E122",
                    file,
                    Span::new(base + e.at.0, base + e.at.1),
                    e.message,
                    "malformed merge field",
                )
                .with_help(e.help),
            );
        }
        for r in refs {
            if r.name == UNSUBSCRIBE_LINK {
                continue;
            }
            for schema in schemas {
                if schema.lookup(&r.name).is_none() {
                    let span = Span::new(base + r.name_at.0, base + r.name_at.1);
                    self.diags.push(unknown_field(file, span, &r.name, schema));
                    break;
                }
            }
        }
    }

    fn compile_templates(
        &mut self,
        cadences: &[Cadence],
        library_modules: &HashMap<FileId, Module>,
    ) -> Vec<Template> {
        let mut out = Vec::new();
        let templates = std::mem::take(&mut self.templates);
        let spans = std::mem::take(&mut self.template_spans);
        // Where statements did not parse: (file, offset, line), once.
        let parse_errors: Vec<(FileId, usize, usize)> = self
            .diags
            .iter()
            .filter(|d| d.code.starts_with('P'))
            .map(|d| {
                let start = d.span().start;
                (
                    d.file(),
                    start,
                    self.sources.get(d.file()).line_col(start).0,
                )
            })
            .collect();
        for (i, (file, t)) in templates.iter().enumerate() {
            // A statement of the block that did not parse was reported; a missing subject or
            // body would only follow from it.
            let broken = spans.get(i).is_some_and(|sp| {
                let last_line = self.sources.get(*file).line_col(sp.end.saturating_sub(1)).0;
                parse_errors.iter().any(|&(f, start, line)| {
                    f == *file && start >= sp.start && (start < sp.end || line == last_line)
                })
            });
            // The schemas the template is checked against.
            let mut schemas: Vec<Schema> = Vec::new();
            if let Some(c) = cadences.iter().find(|c| c.file == *file) {
                schemas.push(c.schema.clone());
            } else {
                for c in cadences {
                    let uses = c
                        .steps
                        .iter()
                        .any(|s| s.action.templates().contains(&TemplateId(i)));
                    if uses {
                        schemas.push(c.schema.clone());
                    }
                }
                if schemas.is_empty() {
                    let module = library_modules.get(file).copied().unwrap_or_default();
                    schemas.push(self.schema(*file, module));
                }
            }
            let schema_refs: Vec<&Schema> = schemas.iter().collect();

            let subject = match &t.subject {
                Some(s) => {
                    self.header_text(*file, s);
                    let raw = self.sources.get(*file).text[s.content.range()].to_string();
                    self.merge_fields(*file, s.content.start, &raw, &schema_refs);
                    parse_text(&s.value).0
                }
                None if broken => Text::default(),
                None => {
                    self.diags.push(
                        Diagnostic::error(
                            "E120",
                            *file,
                            t.name.span,
                            format!("template `{}` has no subject", t.name.node),
                            "no `subject` line",
                        )
                        .with_help("add `subject \"...\"` inside the template block"),
                    );
                    Text::default()
                }
            };
            let body = match &t.body {
                Some(ast::Body::Inline(s)) => {
                    let raw = self.sources.get(*file).text[s.content.range()].to_string();
                    self.merge_fields(*file, s.content.start, &raw, &schema_refs);
                    parse_text(&s.value).0
                }
                Some(ast::Body::File(path)) => {
                    let base = Path::new(&self.sources.get(*file).name)
                        .parent()
                        .map(Path::to_path_buf)
                        .unwrap_or_default();
                    let full = base.join(&path.node);
                    let name = full.display().to_string();
                    let read = match self.sources.find(&name) {
                        Some(id) => Ok((id, self.sources.get(id).text.clone())),
                        None => read_body_file(&base, &path.node)
                            .map(|text| (self.sources.add(name, text.clone()), text)),
                    };
                    match read {
                        Ok((id, text)) => {
                            self.merge_fields(id, 0, &text, &schema_refs);
                            parse_text(&text).0
                        }
                        Err(reason) => {
                            self.diags.push(
                                Diagnostic::error(
                                    "E120",
                                    *file,
                                    path.span,
                                    format!(
                                        "cannot read template body `{}`: {reason}",
                                        full.display()
                                    ),
                                    "this file",
                                )
                                .with_help(
                                    "the path is relative to the folder of the cadence file; the body file must be a text file of at most 1 MiB in that folder or below it",
                                ),
                            );
                            Text::default()
                        }
                    }
                }
                None if broken => Text::default(),
                None => {
                    self.diags.push(
                        Diagnostic::error("E120", *file, t.name.span, format!("template `{}` has no body", t.name.node), "no `body` line")
                            .with_help("add `body \"\"\"...\"\"\"` or `body file \"templates/x.html\"` inside the template block"),
                    );
                    Text::default()
                }
            };
            for r in &t.repeated {
                let first = t.name.span;
                let d = duplicate(
                    *file,
                    *r,
                    &format!("a part of template `{}`", t.name.node),
                    *file,
                    first,
                );
                self.diags.push(d);
            }
            out.push(Template {
                name: t.name.node.clone(),
                subject,
                body,
                file: *file,
                span: t.name.span,
            });
        }
        self.templates = templates;
        out
    }
}

/// The most templates one A/B step may name (they are lettered A to Z).
pub const MAX_VARIANTS: usize = 26;

/// A variant's weight in hundredths of a percent: `50%` is 5000, `33.34%` is 3334.
pub(crate) fn parse_weight(text: &str) -> Result<u32, &'static str> {
    let Some(number) = text.strip_suffix('%') else {
        return Err("a weight is a percentage: add `%`");
    };
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    if frac.len() > 2 {
        return Err("at most two decimals");
    }
    let whole: u32 = match whole.parse() {
        Ok(w) if w <= 100 => w,
        _ => return Err("more than 100%"),
    };
    let frac: u32 = format!("{frac:0<2}").parse().unwrap_or(0);
    let bp = whole * 100 + frac;
    match bp {
        0 => Err("a variant with 0% is never sent: remove it"),
        b if b > 10_000 => Err("more than 100%"),
        b => Ok(b),
    }
}

/// A weight in hundredths of a percent as written: `50`, `33.34`.
pub fn show_weight(bp: u32) -> String {
    if bp % 100 == 0 {
        format!("{}", bp / 100)
    } else if bp % 10 == 0 {
        format!("{}.{}", bp / 100, (bp % 100) / 10)
    } else {
        format!("{}.{:02}", bp / 100, bp % 100)
    }
}
