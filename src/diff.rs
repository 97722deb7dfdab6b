//! `cadence diff OLD NEW`: a semantic diff of two versions of the cadences: the settings, steps
//! and templates that were added, removed or changed, part by part (a step's action, wait,
//! schedule, guard, owner and each `on` line), rather than lines of text. Each part is compared
//! in the formatter's canonical form, so layout, comments and the order of options do not count.
//! With the live enrolments of a database, each changed or removed step says how many contacts
//! are at it now.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::check::Program;
use crate::fmt;
use crate::syntax::ast::{self, ItemKind, StepOption};
use crate::syntax::{FileId, Sources, Span};

/// One side of the diff: checked files with their text and syntax trees.
pub struct Side<'a> {
    pub program: &'a Program,
    pub sources: &'a Sources,
    pub files: &'a [(FileId, ast::File)],
}

/// Something that was added, removed or changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// What it is: `window`, `exit`, `after`, `on no_open`, `subject`, ...
    pub what: String,
    /// `added`, `removed` or `changed`.
    pub change: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepDiff {
    pub step: u32,
    /// `added`, `removed`, `changed` or `renumbered` (`step` is then the new number).
    pub change: &'static str,
    /// The step line, old and new.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<String>,
    /// For a changed step: each part that changed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<Change>,
    /// Whether contacts wait at the old step after it executes (it has `on` lines).
    pub waits: bool,
    /// Live enrolments at the old step, with a database.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live: Option<u64>,
    /// Where contacts at the old step go when the new version is deployed: `step 4`, `exit
    /// "retired"`, `done` (a `migrate` rule), `kept` (the same number), `stays` (no `migrate`
    /// block: they finish on their version) or `stranded` (neither mapped nor kept).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub goes: Option<String>,
    /// Where the step is: in the new file (its old file for a removed step).
    #[serde(skip)]
    pub file: String,
    #[serde(skip)]
    pub line: usize,
}

impl StepDiff {
    /// Whether deploying the new version would be refused for this step: contacts can be at
    /// it (or are, with a database) and the `migrate` block neither maps nor keeps it.
    pub fn strands(&self) -> bool {
        self.goes.as_deref() == Some("stranded") && self.live != Some(0)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CadenceDiff {
    pub cadence: String,
    /// `added`, `removed` or `changed`.
    pub change: &'static str,
    pub settings: Vec<Change>,
    pub steps: Vec<StepDiff>,
    pub templates: Vec<Change>,
    /// Live enrolments of the cadence, with a database.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live: Option<u64>,
    #[serde(skip)]
    pub file: String,
    #[serde(skip)]
    pub line: usize,
}

impl CadenceDiff {
    pub fn is_empty(&self) -> bool {
        self.change == "changed"
            && self.settings.is_empty()
            && self.steps.is_empty()
            && self.templates.is_empty()
    }
}

/// Live enrolments per cadence name and step number.
pub type Live = HashMap<(String, u32), u64>;

/// The statements of one cadence in canonical text.
struct Model {
    name: String,
    file: FileId,
    span: Span,
    /// Settings by key (`window`, `limit`, `exit "x"`, `field plan`, ...), in order.
    settings: BTreeMap<String, String>,
    steps: BTreeMap<u32, StepModel>,
}

struct StepModel {
    line: String,
    action: String,
    label: Option<String>,
    options: BTreeMap<&'static str, String>,
    /// `on EVENT` -> `[DURATION ]-> TARGET`, in order written.
    handlers: Vec<(String, String)>,
    next: String,
    waits: bool,
    span: Span,
}

fn option_key(o: &StepOption) -> &'static str {
    match o {
        StepOption::After(_) => "after",
        StepOption::AtCron(_) | StepOption::AtField { .. } => "at",
        StepOption::If(_) => "if",
        StepOption::Priority(_) => "priority",
        StepOption::Owner(_) => "owner",
        StepOption::Due(_) => "due",
        StepOption::From(_) => "from",
        StepOption::ReplyTo(_) => "reply_to",
        StepOption::Subject(_) => "subject",
    }
}

fn models(side: &Side) -> Vec<Model> {
    let mut out = Vec::new();
    for c in &side.program.cadences {
        let Some(file) = side
            .files
            .iter()
            .find(|(f, _)| *f == c.file)
            .map(|(_, a)| a)
        else {
            continue;
        };
        let mut settings = BTreeMap::new();
        let mut steps = BTreeMap::new();
        let mut span = Span::default();
        for item in &file.items {
            let text = fmt::item_text(item);
            let key = match &item.kind {
                ItemKind::Cadence(_) => {
                    span = item.span;
                    continue;
                }
                ItemKind::Module(_) => "module".to_string(),
                ItemKind::Field(f) => format!("field {}", f.name.node),
                ItemKind::Event(e) => format!("event {}", e.node),
                ItemKind::Enroll(_) => "enroll when".to_string(),
                ItemKind::Exit(r) | ItemKind::Goal(r) => {
                    let word = if matches!(item.kind, ItemKind::Exit(_)) {
                        "exit"
                    } else {
                        "goal"
                    };
                    match &r.name {
                        Some(n) => format!("{word} \"{}\"", n.node),
                        None => text.clone(),
                    }
                }
                ItemKind::Timezone(_) => "timezone".to_string(),
                ItemKind::Window(_) => "window".to_string(),
                ItemKind::Limit(_) => "limit".to_string(),
                ItemKind::From(_) => "from".to_string(),
                ItemKind::ReplyTo(_) => "reply_to".to_string(),
                ItemKind::Reenroll(_) => "reenroll".to_string(),
                ItemKind::PauseOn { event, .. } => format!("pause on {}", event.node),
                ItemKind::Holidays(_) => "holidays".to_string(),
                ItemKind::Track(_) => "track".to_string(),
                ItemKind::Step(s) => {
                    let Ok(n) = s.number.node.parse::<u32>() else {
                        continue;
                    };
                    let Some(i) = c.step_index(n) else { continue };
                    let st = &c.steps[i];
                    let next = match st.next {
                        crate::check::Target::Step(j) => format!("step {}", c.steps[j].number),
                        _ => "the end".to_string(),
                    };
                    steps.insert(
                        n,
                        StepModel {
                            line: text.lines().next().unwrap_or("").to_string(),
                            action: fmt::action(&s.action.node),
                            label: s.label.as_ref().map(|l| l.node.clone()),
                            options: s
                                .options
                                .iter()
                                .map(|o| (option_key(&o.node), fmt::option(&o.node)))
                                // The delay as the checker read it: no `after` is
                                // `after 0d`, and `after 1d` is `after 24h`.
                                .chain([("after", format!("after {}", st.after))])
                                .collect(),
                            handlers: s
                                .handlers
                                .iter()
                                .map(|h| {
                                    let to = fmt::target(&h.target.node);
                                    let on = format!("on {}", h.event.node);
                                    let line = match &h.timeout {
                                        Some(d) => format!("{on} {} -> {to}", d.node),
                                        None => format!("{on} -> {to}"),
                                    };
                                    (on, line)
                                })
                                .collect(),
                            next,
                            waits: st.waits(),
                            span: s.head,
                        },
                    );
                    continue;
                }
                ItemKind::Migrate(_) => "migrate".to_string(),
                ItemKind::Template(_) | ItemKind::Test(_) | ItemKind::Error { .. } => continue,
            };
            settings.insert(key, text);
        }
        out.push(Model {
            name: c.name.clone(),
            file: c.file,
            span,
            settings,
            steps,
        });
    }
    out
}

fn change(what: impl Into<String>, old: Option<&String>, new: Option<&String>) -> Option<Change> {
    let kind = match (old, new) {
        (Some(a), Some(b)) if a == b => return None,
        (Some(_), Some(_)) => "changed",
        (Some(_), None) => "removed",
        (None, Some(_)) => "added",
        (None, None) => return None,
    };
    Some(Change {
        what: what.into(),
        change: kind,
        old: old.cloned(),
        new: new.cloned(),
    })
}

/// The changes between two maps of canonical texts.
fn compare(old: &BTreeMap<String, String>, new: &BTreeMap<String, String>) -> Vec<Change> {
    let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter_map(|k| change(k.clone(), old.get(k), new.get(k)))
        .collect()
}

fn step_parts(a: &StepModel, b: &StepModel) -> Vec<Change> {
    let mut out = Vec::new();
    out.extend(change("action", Some(&a.action), Some(&b.action)));
    out.extend(change("label", a.label.as_ref(), b.label.as_ref()));
    let mut keys: Vec<&&str> = a.options.keys().chain(b.options.keys()).collect();
    keys.sort();
    keys.dedup();
    for k in keys {
        out.extend(change(*k, a.options.get(*k), b.options.get(*k)));
    }
    let ha: BTreeMap<String, String> = a.handlers.iter().cloned().collect();
    let hb: BTreeMap<String, String> = b.handlers.iter().cloned().collect();
    // `on` lines in the order written: the old ones, then the new ones.
    let mut events: Vec<&String> = Vec::new();
    for (e, _) in a.handlers.iter().chain(b.handlers.iter()) {
        if !events.contains(&e) {
            events.push(e);
        }
    }
    for e in events {
        out.extend(change(e.clone(), ha.get(e), hb.get(e)));
    }
    if !a.waits && !b.waits {
        out.extend(change("falls through to", Some(&a.next), Some(&b.next)));
    }
    out
}

/// The templates a cadence sends, by name, in canonical text.
fn templates(side: &Side, name: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Some(ci) = side.program.cadence_by_name(name) else {
        return out;
    };
    let c = &side.program.cadences[ci];
    for s in &c.steps {
        for t in s.action.templates() {
            let tpl = &side.program.templates[t.0];
            let Some(file) = side
                .files
                .iter()
                .find(|(f, _)| *f == tpl.file)
                .map(|(_, a)| a)
            else {
                continue;
            };
            let Some(t) = file.items.iter().find_map(|i| match &i.kind {
                ItemKind::Template(x) if x.name.node == tpl.name => Some(x),
                _ => None,
            }) else {
                continue;
            };
            if let Some(subject) = &t.subject {
                out.insert(
                    format!("template {} subject", tpl.name),
                    fmt::string(subject, ""),
                );
            }
            match &t.body {
                Some(ast::Body::Inline(b)) => {
                    out.insert(format!("template {} body", tpl.name), fmt::string(b, ""));
                }
                Some(ast::Body::File(p)) => {
                    // The text of the file, as the checker read it.
                    let text = side
                        .sources
                        .find(&p.node)
                        .map(|id| side.sources.get(id).text.clone())
                        .unwrap_or_else(|| format!("file {}", fmt::quote(&p.node)));
                    out.insert(format!("template {} body", tpl.name), text);
                }
                None => {}
            }
        }
    }
    out
}

/// Where contacts at old step `number` (with `label`) go when cadence `name` of `new` is
/// deployed.
fn goes(
    new: &Side,
    name: &str,
    number: u32,
    label: Option<&str>,
    old_hash: &str,
) -> Option<String> {
    let c = &new.program.cadences[new.program.cadence_by_name(name)?];
    let Some(m) = c.migration.as_ref().filter(|m| m.applies_to(old_hash)) else {
        // No block, or one pinned to another version: the contacts finish where they are.
        return Some("stays".into());
    };
    use crate::check::{Destination, MigrateTo};
    Some(match m.destination(c, number, label) {
        Destination::Mapped(_, MigrateTo::Step(j)) => format!("step {}", c.steps[*j].number),
        Destination::Mapped(_, MigrateTo::Exit(reason)) => format!("exit \"{reason}\""),
        Destination::Mapped(_, MigrateTo::Done) => "done".into(),
        Destination::Kept(_) => "kept".into(),
        Destination::Stranded => "stranded".into(),
    })
}

/// The diff of every cadence of `old` and `new`, matched by name, in the new files' order
/// (removed cadences last).
pub fn diff(old: &Side, new: &Side, live: Option<&Live>) -> Vec<CadenceDiff> {
    let olds = models(old);
    let news = models(new);
    let old_hashes = crate::runner::program::cadence_hashes(old.sources, old.program);
    let hash_of = |name: &str| {
        old.program
            .cadence_by_name(name)
            .and_then(|i| old_hashes.get(i))
            .map_or("", String::as_str)
    };
    let live_of =
        |name: &str, step: u32| live.map(|l| *l.get(&(name.to_string(), step)).unwrap_or(&0));
    let live_total = |name: &str| {
        live.map(|l| {
            l.iter()
                .filter(|((n, _), _)| n == name)
                .map(|(_, v)| v)
                .sum()
        })
    };
    let mut out = Vec::new();
    for b in &news {
        let file_b = new.sources.get(b.file);
        let Some(a) = olds.iter().find(|a| a.name == b.name) else {
            out.push(CadenceDiff {
                cadence: b.name.clone(),
                change: "added",
                settings: Vec::new(),
                steps: Vec::new(),
                templates: Vec::new(),
                live: None,
                file: file_b.name.clone(),
                line: file_b.line_col(b.span.start).0,
            });
            continue;
        };
        let file_a = old.sources.get(a.file);
        let mut steps = Vec::new();
        let mut numbers: Vec<u32> = a.steps.keys().chain(b.steps.keys()).copied().collect();
        numbers.sort_unstable();
        numbers.dedup();
        // A step that only changed its number: the old number removed, the new one added, the
        // same in every part.
        let same = |x: &StepModel, y: &StepModel| {
            x.action == y.action
                && x.label == y.label
                && x.options == y.options
                && x.handlers == y.handlers
        };
        let mut renumbered: Vec<(u32, u32)> = Vec::new();
        for (&n, x) in &a.steps {
            if b.steps.contains_key(&n) {
                continue;
            }
            if let Some((&m, _)) = b.steps.iter().find(|(m, y)| {
                !a.steps.contains_key(m) && same(x, y) && !renumbered.iter().any(|r| r.1 == **m)
            }) {
                renumbered.push((n, m));
            }
        }
        for &(n, m) in &renumbered {
            let y = &b.steps[&m];
            steps.push(StepDiff {
                step: m,
                change: "renumbered",
                old: Some(a.steps[&n].line.clone()),
                new: Some(y.line.clone()),
                parts: vec![Change {
                    what: "number".into(),
                    change: "changed",
                    old: Some(n.to_string()),
                    new: Some(m.to_string()),
                }],
                waits: a.steps[&n].waits,
                live: live_of(&a.name, n),
                goes: goes(
                    new,
                    &b.name,
                    n,
                    a.steps[&n].label.as_deref(),
                    hash_of(&a.name),
                ),
                file: file_b.name.clone(),
                line: file_b.line_col(y.span.start).0,
            });
        }
        for n in numbers {
            if renumbered.iter().any(|&(o, m)| o == n || m == n) {
                continue;
            }
            let (sa, sb) = (a.steps.get(&n), b.steps.get(&n));
            let (kind, parts) = match (sa, sb) {
                (Some(x), Some(y)) => {
                    let parts = step_parts(x, y);
                    if parts.is_empty() {
                        continue;
                    }
                    ("changed", parts)
                }
                (Some(_), None) => ("removed", Vec::new()),
                (None, Some(_)) => ("added", Vec::new()),
                (None, None) => continue,
            };
            let (file, line) = match sb {
                Some(y) => (file_b.name.clone(), file_b.line_col(y.span.start).0),
                None => (
                    file_a.name.clone(),
                    sa.map_or(0, |x| file_a.line_col(x.span.start).0),
                ),
            };
            steps.push(StepDiff {
                step: n,
                change: kind,
                old: sa.map(|x| x.line.clone()),
                new: sb.map(|y| y.line.clone()),
                parts,
                waits: sa.is_some_and(|x| x.waits),
                live: if sa.is_some() {
                    live_of(&a.name, n)
                } else {
                    None
                },
                goes: sa.and_then(|x| goes(new, &b.name, n, x.label.as_deref(), hash_of(&a.name))),
                file,
                line,
            });
        }
        steps.sort_by_key(|s| s.step);
        out.push(CadenceDiff {
            cadence: b.name.clone(),
            change: "changed",
            settings: compare(&a.settings, &b.settings),
            steps,
            templates: compare(&templates(old, &a.name), &templates(new, &b.name)),
            live: live_total(&a.name),
            file: file_b.name.clone(),
            line: file_b.line_col(b.span.start).0,
        });
    }
    for a in &olds {
        if !news.iter().any(|b| b.name == a.name) {
            let file_a = old.sources.get(a.file);
            out.push(CadenceDiff {
                cadence: a.name.clone(),
                change: "removed",
                settings: Vec::new(),
                steps: Vec::new(),
                templates: Vec::new(),
                live: live_total(&a.name),
                file: file_a.name.clone(),
                line: file_a.line_col(a.span.start).0,
            });
        }
    }
    out
}

/// ``added `new` ``, ``removed `old` ``, ``what: `old` -> `new` `` (the values without the
/// word they start with).
fn describe(c: &Change) -> String {
    let one = |s: &Option<String>| s.clone().unwrap_or_default().replace('\n', " ⏎ ");
    let bare = |s: &Option<String>| {
        let t = one(s);
        match t.strip_prefix(&format!("{} ", c.what)) {
            Some(rest) => rest.to_string(),
            None => t,
        }
    };
    let long = |s: &Option<String>| {
        s.as_ref()
            .is_some_and(|s| s.contains('\n') || s.chars().count() > 100)
    };
    match c.change {
        "added" => format!("added `{}`", one(&c.new)),
        "removed" => format!("removed `{}`", one(&c.old)),
        _ if long(&c.old) || long(&c.new) => format!("{} changed (see --format json)", c.what),
        _ => format!("{}: `{}` -> `{}`", c.what, bare(&c.old), bare(&c.new)),
    }
}

/// ` -> they go to step 4 (migrate)` and the like, for a step contacts may be at.
fn goes_note(s: &StepDiff) -> String {
    let Some(g) = &s.goes else {
        return String::new();
    };
    let who = match s.live {
        Some(0) => return String::new(),
        Some(1) => "it goes",
        Some(_) => "they go",
        None => "contacts there go",
    };
    match g.as_str() {
        "stays" => String::new(),
        "kept" if s.change == "changed" => format!("; {who} on at it in the new version"),
        "kept" => String::new(),
        "stranded" => {
            "; STRANDED: the new version's `migrate` block does not map it, so a deploy is refused"
                .into()
        }
        to => format!("; {who} to {to} (migrate)"),
    }
}

fn live_note(live: Option<u64>) -> String {
    match live {
        Some(0) => " (no contact is at it now)".into(),
        Some(1) => " (1 contact is at it now)".into(),
        Some(n) => format!(" ({n} contacts are at it now)"),
        None => String::new(),
    }
}

/// The human form.
pub fn human(diffs: &[CadenceDiff]) -> String {
    let mut out = String::new();
    for d in diffs.iter().filter(|d| !d.is_empty()) {
        match d.change {
            "added" => {
                out.push_str(&format!("cadence \"{}\" added\n\n", d.cadence));
                continue;
            }
            "removed" => {
                out.push_str(&format!(
                    "cadence \"{}\" removed{}\n\n",
                    d.cadence,
                    match d.live {
                        Some(n) =>
                            format!(" ({n} live enrolments stay on their version until they end)"),
                        None => String::new(),
                    }
                ));
                continue;
            }
            _ => {}
        }
        out.push_str(&format!("cadence \"{}\"\n", d.cadence));
        for s in &d.settings {
            out.push_str(&format!("  {}\n", describe(s)));
        }
        for s in &d.steps {
            match s.change {
                "added" => out.push_str(&format!(
                    "  step {} added: {}\n",
                    s.step,
                    s.new.clone().unwrap_or_default()
                )),
                "removed" => out.push_str(&format!(
                    "  step {} removed: {}{}{}\n",
                    s.step,
                    s.old.clone().unwrap_or_default(),
                    live_note(s.live),
                    goes_note(s)
                )),
                "renumbered" => out.push_str(&format!(
                    "  step {} renumbered to step {}, unchanged otherwise{}{}\n",
                    s.parts[0].old.clone().unwrap_or_default(),
                    s.step,
                    live_note(s.live),
                    goes_note(s)
                )),
                _ => {
                    out.push_str(&format!(
                        "  step {} changed{}{}\n",
                        s.step,
                        live_note(s.live),
                        goes_note(s)
                    ));
                    for p in &s.parts {
                        out.push_str(&format!("    {}\n", describe(p)));
                    }
                }
            }
        }
        for t in &d.templates {
            out.push_str(&format!("  {}\n", describe(t)));
        }
        out.push('\n');
    }
    if out.is_empty() {
        out.push_str("no change in behaviour\n");
    }
    out
}

/// GitHub workflow commands: a notice on each changed step or setting, a warning on a removed
/// step where contacts wait.
pub fn github(diffs: &[CadenceDiff]) -> String {
    let esc = |s: &str| {
        s.replace('%', "%25")
            .replace('\r', "%0D")
            .replace('\n', "%0A")
    };
    let prop = |s: &str| esc(s).replace(':', "%3A").replace(',', "%2C");
    let mut out = String::new();
    for d in diffs.iter().filter(|d| !d.is_empty()) {
        let cad = &d.cadence;
        match d.change {
            "added" | "removed" => {
                out.push_str(&format!(
                    "::notice file={},line={},title=cadence diff::cadence \"{}\" {}\n",
                    prop(&d.file),
                    d.line,
                    esc(cad),
                    d.change
                ));
                continue;
            }
            _ => {}
        }
        for s in &d.settings {
            out.push_str(&format!(
                "::notice file={},line={},title=cadence diff::{}\n",
                prop(&d.file),
                d.line,
                esc(&format!("\"{cad}\": {}", describe(s)))
            ));
        }
        for s in &d.steps {
            let level = if s.goes.as_deref() == Some("stranded") && s.live != Some(0) {
                "error"
            } else if s.change == "removed" && s.waits {
                "warning"
            } else {
                "notice"
            };
            let what = match s.change {
                "changed" => s.parts.iter().map(describe).collect::<Vec<_>>().join("; "),
                "added" => s.new.clone().unwrap_or_default(),
                _ => s.old.clone().unwrap_or_default(),
            };
            out.push_str(&format!(
                "::{level} file={},line={},title=cadence diff::{}\n",
                prop(&s.file),
                s.line,
                esc(&format!(
                    "\"{cad}\" step {} {}{}: {what}{}",
                    s.step,
                    s.change,
                    live_note(s.live),
                    goes_note(s)
                ))
            ));
        }
        for t in &d.templates {
            out.push_str(&format!(
                "::notice file={},line={},title=cadence diff::{}\n",
                prop(&d.file),
                d.line,
                esc(&format!("\"{cad}\": {}", describe(t)))
            ));
        }
    }
    out
}
