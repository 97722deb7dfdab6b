//! Analytics over traces: per-cadence funnels, per-step statistics, branch counts, and the
//! record timeline. Reads the JSON lines of `cadence simulate --format jsonl` (the durable runner
//! writes the same), so reports never depend on how the trace was produced.

pub mod funnel;
pub mod html;
pub mod stats;
pub mod variants;
pub mod why;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::BufRead;

use serde::Serialize;

use crate::check::{Action, HandlerEvent, Program, Target};
use crate::engine::format_instant;

/// One record of a trace, as the contract names its keys.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TraceRecord {
    pub line: u64,
    pub at: i64,
    pub contact: String,
    pub cadence: String,
    pub kind: String,
    pub step: Option<u32>,
    pub action: Option<String>,
    pub name: Option<String>,
    pub reason: Option<String>,
    pub event: Option<String>,
    pub from: Option<u32>,
    pub to: Option<String>,
    pub on: Option<String>,
    /// A `migrated` record: the version it came from, when the trace names cadences by
    /// version (`cadence report --db --by-version`).
    pub from_cadence: Option<String>,
    /// An open or a click made by a machine (`"machine": true`).
    pub machine: bool,
    /// A `resumed` record that caught up (`"catch_up": true`).
    pub catch_up: bool,
    /// When a `paused` record's pause ends by itself.
    pub until: Option<i64>,
    /// The template an A/B step sent (`executed` records).
    pub variant: Option<String>,
    /// Who an executed call or task is for, its priority and when it is due.
    pub owner: Option<String>,
    pub priority: Option<String>,
    pub due: Option<i64>,
    /// The contact's zone, on records of a cadence that uses one (`tz`).
    pub tz: Option<chrono_tz::Tz>,
    /// An event read from a mailbox: when our message it answers was sent (`sent`) and how it
    /// was matched to it (`matched_by`).
    pub sent: Option<i64>,
    pub matched_by: Option<String>,
}

/// Reads a JSON-lines trace; a line that is not a record is reported with its number.
pub fn read_trace<R: BufRead>(r: R) -> (Vec<TraceRecord>, Vec<(u64, String)>) {
    let mut out = Vec::new();
    let mut bad = Vec::new();
    for (i, line) in r.lines().enumerate() {
        let n = i as u64 + 1;
        let line = match line {
            Ok(l) => l,
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                bad.push((n, "not UTF-8 text".into()));
                continue;
            }
            // Anything else (a folder, a failing disk) ends the reading: it would fail again.
            Err(e) => {
                bad.push((
                    n,
                    format!("cannot read on: {}", crate::diagnostic::io_reason(&e)),
                ));
                break;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = match serde_json::from_str(&line) {
            Ok(v) => v,
            Err(e) => {
                bad.push((n, format!("not JSON: {e}")));
                continue;
            }
        };
        let s = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
        let u = |k: &str| {
            v.get(k)
                .and_then(|x| x.as_u64())
                .and_then(|x| u32::try_from(x).ok())
        };
        let at = s("at")
            .and_then(|a| chrono::DateTime::parse_from_rfc3339(&a).ok())
            .map(|d| d.timestamp());
        let (Some(at), Some(contact), Some(cadence), Some(kind)) =
            (at, s("contact"), s("cadence"), s("kind"))
        else {
            bad.push((
                n,
                "a record needs `at` (RFC 3339), `contact`, `cadence` and `kind`".into(),
            ));
            continue;
        };
        // What each kind needs: a record without it would count as nothing, or twice.
        let needs: &[&str] = match kind.as_str() {
            "enrolled" | "completed" | "deferred" => &[],
            "executed" => &["step"],
            "skipped" => &["step", "reason"],
            "event" => &["event"],
            "transition" => &["from", "to", "on"],
            "migrated" => &["from", "to"],
            "paused" | "resumed" => &["step"],
            "exited" => &["reason"],
            "goal" => &["name"],
            other => {
                bad.push((
                    n,
                    format!("unknown kind `{}`", crate::diagnostic::printable(other)),
                ));
                continue;
            }
        };
        let numeric = ["step", "from"];
        let missing: Vec<&str> = needs
            .iter()
            .copied()
            .filter(|k| match *k {
                k if numeric.contains(&k) => u(k).is_none(),
                "to" => !matches!(
                    v.get("to"),
                    Some(serde_json::Value::Number(_) | serde_json::Value::String(_))
                ),
                k => s(k).is_none_or(|x| x.is_empty()),
            })
            .collect();
        if !missing.is_empty() {
            bad.push((
                n,
                format!(
                    "a `{kind}` record needs {} (a step number is a whole number below 2^32)",
                    missing
                        .iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
            continue;
        }
        if out.last().is_some_and(|r: &TraceRecord| at < r.at) {
            bad.push((
                n,
                "this record is earlier than the one before it: a trace is in time order".into(),
            ));
            continue;
        }
        let to = match v.get("to") {
            Some(serde_json::Value::Number(x)) => Some(x.to_string()),
            Some(serde_json::Value::String(x)) => Some(x.clone()),
            _ => None,
        };
        out.push(TraceRecord {
            line: n,
            at,
            contact,
            cadence,
            kind,
            step: u("step"),
            action: s("action"),
            name: s("name"),
            reason: s("reason"),
            event: s("event"),
            from: u("from"),
            to,
            on: s("on"),
            from_cadence: s("from_cadence"),
            machine: v.get("machine").and_then(|m| m.as_bool()).unwrap_or(false),
            catch_up: v.get("catch_up").and_then(|m| m.as_bool()).unwrap_or(false),
            until: s("until")
                .and_then(|d| chrono::DateTime::parse_from_rfc3339(&d).ok())
                .map(|d| d.timestamp()),
            variant: s("variant"),
            owner: s("owner"),
            priority: s("priority"),
            due: s("due")
                .and_then(|d| chrono::DateTime::parse_from_rfc3339(&d).ok())
                .map(|d| d.timestamp()),
            tz: s("tz").and_then(|z| z.parse().ok()),
            sent: s("sent")
                .and_then(|d| chrono::DateTime::parse_from_rfc3339(&d).ok())
                .map(|d| d.timestamp()),
            matched_by: s("matched_by"),
        });
    }
    (out, bad)
}

/// Median and 90th percentile, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Spread {
    pub median: i64,
    pub p90: i64,
}

fn spread(mut v: Vec<i64>) -> Option<Spread> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let at = |q: f64| v[((q * (v.len() - 1) as f64).round() as usize).min(v.len() - 1)];
    Some(Spread {
        median: at(0.5),
        p90: at(0.9),
    })
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepReport {
    pub step: u32,
    pub label: Option<String>,
    /// `email`, `call` or `task` (empty when unknown).
    pub action: String,
    pub name: String,
    pub entered: usize,
    pub executed: usize,
    pub skipped: BTreeMap<String, usize>,
    /// Contacts per outcome of this step's messages (an email clicked or replied counts as
    /// opened).
    pub outcomes: BTreeMap<String, usize>,
    /// Outcome per executed message, as a share (0..1).
    pub rates: BTreeMap<String, f64>,
    /// Timeouts taken (`no_open`, `overdue`, ...).
    pub timeouts: BTreeMap<String, usize>,
    /// Messages opened or clicked by machines (mail proxies, link scanners), apart from
    /// `outcomes`, which count people.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub machine: BTreeMap<String, usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BranchReport {
    pub from: u32,
    pub on: String,
    pub to: String,
    pub taken: usize,
}

/// The calls and tasks of one owner (the `owner` of `executed` records).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OwnerReport {
    pub owner: String,
    /// Calls and tasks created for this owner.
    pub assigned: usize,
    /// Of those, how many got an outcome (answered, no answer, voicemail, completed).
    pub with_outcome: usize,
    /// How many were left until their `overdue` timeout moved the contact on.
    pub overdue: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CadenceReport {
    pub cadence: String,
    pub enrolled: usize,
    /// Enrolments a deploy moved into this version, and out of it into a newer one (a report
    /// by version).
    #[serde(skip_serializing_if = "is_zero")]
    pub moved_in: usize,
    #[serde(skip_serializing_if = "is_zero")]
    pub moved_out: usize,
    pub active: usize,
    pub completed: usize,
    pub exited: BTreeMap<String, usize>,
    pub goals: BTreeMap<String, usize>,
    /// Enrolments that reached a goal, as a share of enrolments.
    pub conversion: f64,
    pub time_to_goal: Option<Spread>,
    pub time_to_exit: Option<Spread>,
    pub steps: Vec<StepReport>,
    pub branches: Vec<BranchReport>,
    /// The A/B tests of the cadence's steps.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub experiments: Vec<variants::Experiment>,
    /// Calls and tasks per owner, by name.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub owners: Vec<OwnerReport>,
    /// Enrolled, sent, opened, clicked, replied: unique contacts over the email steps.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub email_funnel: Vec<funnel::Stage>,
    /// Each goal and exit by the step the contact had last been sent.
    pub endings: Vec<funnel::Ending>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub cadences: Vec<CadenceReport>,
    /// The first and the last instant of the trace (Unix seconds), when it has records.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<(i64, i64)>,
}

impl Report {
    /// A title from the cadences' names: `SaaS trial onboarding`, `A, B and C`, `A, B, C and
    /// 4 more`.
    pub fn title(&self) -> Option<String> {
        let names: Vec<&str> = self.cadences.iter().map(|c| c.cadence.as_str()).collect();
        Some(match names.as_slice() {
            [] => return None,
            [one] => one.to_string(),
            [a, b] => format!("{a} and {b}"),
            [a, b, c] => format!("{a}, {b} and {c}"),
            [a, b, c, rest @ ..] => format!("{a}, {b}, {c} and {} more", rest.len()),
        })
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

fn share(n: usize, of: usize) -> f64 {
    if of == 0 {
        0.0
    } else {
        n as f64 / of as f64
    }
}

/// Counts a trace; with the program, steps and `on` lines nobody reached are listed too.
pub fn report(records: &[TraceRecord], program: Option<&Program>) -> Report {
    // The cadences in order (the program's, then those only the trace names), each with its
    // records: one pass, whatever the number of cadences.
    let mut names: Vec<&str> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut mine: Vec<Vec<&TraceRecord>> = Vec::new();
    if let Some(p) = program {
        for c in &p.cadences {
            if !index.contains_key(c.name.as_str()) {
                index.insert(c.name.as_str(), names.len());
                names.push(c.name.as_str());
                mine.push(Vec::new());
            }
        }
    }
    for r in records {
        let i = match index.get(r.cadence.as_str()) {
            Some(i) => *i,
            None => {
                index.insert(r.cadence.as_str(), names.len());
                names.push(r.cadence.as_str());
                mine.push(Vec::new());
                names.len() - 1
            }
        };
        mine[i].push(r);
    }
    let defs: HashMap<&str, &crate::check::Cadence> = program
        .map(|p| {
            p.cadences
                .iter()
                .rev()
                .map(|c| (c.name.as_str(), c))
                .collect()
        })
        .unwrap_or_default();
    let mut cadences: Vec<CadenceReport> = names
        .iter()
        .zip(&mine)
        .map(|(name, recs)| {
            let def = program.and_then(|p| defs.get(name).map(|c| (p, *c)));
            cadence_report(name, recs, def)
        })
        .collect();
    // Contacts a deploy moved from one version to another (named apart by version).
    for r in records.iter().filter(|r| r.kind == "migrated") {
        let Some(from) = r.from_cadence.as_deref().filter(|f| *f != r.cadence) else {
            continue;
        };
        if let Some(&i) = index.get(from) {
            cadences[i].moved_out += 1;
        }
        if let Some(&i) = index.get(r.cadence.as_str()) {
            cadences[i].moved_in += 1;
        }
    }
    for c in &mut cadences {
        let ended =
            c.completed + c.exited.values().sum::<usize>() + c.goals.values().sum::<usize>();
        c.active = (c.enrolled + c.moved_in).saturating_sub(ended + c.moved_out);
    }
    let period = match (records.first(), records.last()) {
        (Some(a), Some(b)) => Some((a.at, b.at)),
        _ => None,
    };
    Report { cadences, period }
}

fn cadence_report(
    name: &str,
    records: &[&TraceRecord],
    def: Option<(&Program, &crate::check::Cadence)>,
) -> CadenceReport {
    let mut started: HashMap<&str, i64> = HashMap::new();
    let (mut enrolled, mut completed) = (0, 0);
    let mut exited: BTreeMap<String, usize> = BTreeMap::new();
    let mut goals: BTreeMap<String, usize> = BTreeMap::new();
    let (mut to_goal, mut to_exit) = (Vec::new(), Vec::new());
    // Steps: (number) -> report; outcome sets are distinct (contact, step).
    let mut steps: BTreeMap<u32, StepReport> = BTreeMap::new();
    let mut order: Vec<u32> = Vec::new();
    let blank = |n: u32| StepReport {
        step: n,
        label: None,
        action: String::new(),
        name: String::new(),
        entered: 0,
        executed: 0,
        skipped: BTreeMap::new(),
        outcomes: BTreeMap::new(),
        rates: BTreeMap::new(),
        timeouts: BTreeMap::new(),
        machine: BTreeMap::new(),
    };
    if let Some((p, c)) = def {
        for s in &c.steps {
            let mut r = blank(s.number);
            r.label = s.label.clone();
            let (action, n) = match &s.action {
                Action::Email { template, variants } if variants.is_empty() => {
                    ("email", p.templates[template.0].name.clone())
                }
                Action::Email { variants, .. } => (
                    "email",
                    variants
                        .iter()
                        .map(|v| p.templates[v.template.0].name.as_str())
                        .collect::<Vec<_>>()
                        .join(" / "),
                ),
                Action::Call { subject } => ("call", subject.clone()),
                Action::Task { subject, .. } => ("task", subject.clone()),
            };
            r.action = action.into();
            r.name = n;
            order.push(s.number);
            steps.insert(s.number, r);
        }
    }
    // Outcomes count once per message: (contact, step, which execution of it, outcome).
    let mut seen_outcome: BTreeSet<(String, u32, u32, String)> = BTreeSet::new();
    let mut execution: HashMap<(String, u32), u32> = HashMap::new();
    let mut branches: BTreeMap<(u32, String, String), usize> = BTreeMap::new();
    let mut owners: BTreeMap<String, OwnerReport> = BTreeMap::new();
    // (contact, step) -> the owner of its latest call or task, and whether it has an outcome.
    let mut owner_of: HashMap<(&str, u32), (&str, bool)> = HashMap::new();
    for r in records {
        match r.kind.as_str() {
            "enrolled" => {
                enrolled += 1;
                started.insert(&r.contact, r.at);
            }
            "completed" => completed += 1,
            "exited" => {
                *exited
                    .entry(r.reason.clone().unwrap_or_default())
                    .or_default() += 1;
                if let Some(s) = started.get(r.contact.as_str()) {
                    to_exit.push(r.at - s);
                }
            }
            "goal" => {
                *goals.entry(r.name.clone().unwrap_or_default()).or_default() += 1;
                if let Some(s) = started.get(r.contact.as_str()) {
                    to_goal.push(r.at - s);
                }
            }
            "executed" | "skipped" | "event" => {
                let Some(n) = r.step else { continue };
                if !steps.contains_key(&n) {
                    order.push(n);
                }
                let s = steps.entry(n).or_insert_with(|| blank(n));
                match r.kind.as_str() {
                    "executed" => {
                        if let Some(o) = r.owner.as_deref() {
                            owners
                                .entry(o.to_string())
                                .or_insert_with(|| OwnerReport {
                                    owner: o.to_string(),
                                    assigned: 0,
                                    with_outcome: 0,
                                    overdue: 0,
                                })
                                .assigned += 1;
                            owner_of.insert((&r.contact, n), (o, false));
                        }
                        *execution.entry((r.contact.clone(), n)).or_default() += 1;
                        s.entered += 1;
                        s.executed += 1;
                        if s.action.is_empty() {
                            s.action = r.action.clone().unwrap_or_default();
                            s.name = r.name.clone().unwrap_or_default();
                        }
                    }
                    "skipped" => {
                        s.entered += 1;
                        *s.skipped
                            .entry(r.reason.clone().unwrap_or_default())
                            .or_default() += 1;
                    }
                    _ => {
                        if let Some((o, answered)) = owner_of.get_mut(&(r.contact.as_str(), n)) {
                            if !*answered && !r.machine {
                                *answered = true;
                                if let Some(x) = owners.get_mut(*o) {
                                    x.with_outcome += 1;
                                }
                            }
                        }
                        let ev = r.event.clone().unwrap_or_default();
                        if r.machine {
                            let x = execution.get(&(r.contact.clone(), n)).copied().unwrap_or(0);
                            let key = format!("machine {ev}");
                            if seen_outcome.insert((r.contact.clone(), n, x, key)) {
                                *s.machine.entry(ev.clone()).or_default() += 1;
                            }
                            // Counted as the contact's only where the cadence says
                            // `including machine`.
                            if !def.is_some_and(|(_, c)| c.track.counts_machine(&ev)) {
                                continue;
                            }
                        }
                        let mut kinds = vec![ev.clone()];
                        if (ev == "clicked" || ev == "replied") && s.action == "email" {
                            kinds.push("opened".into());
                        }
                        let x = execution.get(&(r.contact.clone(), n)).copied().unwrap_or(0);
                        for k in kinds {
                            if seen_outcome.insert((r.contact.clone(), n, x, k.clone())) {
                                *s.outcomes.entry(k).or_default() += 1;
                            }
                        }
                    }
                }
            }
            "transition" => {
                let (Some(from), Some(on), Some(to)) = (r.from, r.on.clone(), r.to.clone()) else {
                    continue;
                };
                let to = if to.chars().all(|c| c.is_ascii_digit()) {
                    format!("step {to}")
                } else {
                    to
                };
                *branches.entry((from, on.clone(), to)).or_default() += 1;
                if on == "overdue" {
                    if let Some((o, _)) = owner_of.get(&(r.contact.as_str(), from)) {
                        if let Some(x) = owners.get_mut(*o) {
                            x.overdue += 1;
                        }
                    }
                }
                if ["no_open", "no_click", "no_reply", "overdue"].contains(&on.as_str()) {
                    let s = steps.entry(from).or_insert_with(|| blank(from));
                    *s.timeouts.entry(on).or_default() += 1;
                }
            }
            _ => {}
        }
    }
    // On lines nobody took, from the definition.
    if let Some((_, c)) = def {
        for s in &c.steps {
            for h in &s.handlers {
                let on = h.event.name().to_string();
                let to = match &h.target {
                    Target::Step(i) => format!("step {}", c.steps[*i].number),
                    Target::Done => "done".into(),
                    Target::Exit(_) => "exit".into(),
                };
                branches.entry((s.number, on, to)).or_default();
            }
        }
    }
    for s in steps.values_mut() {
        let sent = s.executed;
        s.rates = s
            .outcomes
            .iter()
            .map(|(k, v)| (k.clone(), share(*v, sent)))
            .collect();
    }
    let mut weights: BTreeMap<u32, Vec<(String, f64)>> = BTreeMap::new();
    if let Some((p, c)) = def {
        for s in &c.steps {
            if let Action::Email { variants, .. } = &s.action {
                if !variants.is_empty() {
                    weights.insert(
                        s.number,
                        variants
                            .iter()
                            .map(|v| {
                                (
                                    p.templates[v.template.0].name.clone(),
                                    f64::from(v.weight) / 100.0,
                                )
                            })
                            .collect(),
                    );
                }
            }
        }
    }
    let experiments = variants::experiments(records, &weights);
    let ended = completed + exited.values().sum::<usize>() + goals.values().sum::<usize>();
    let reached: usize = goals.values().sum();
    CadenceReport {
        cadence: name.to_string(),
        enrolled,
        moved_in: 0,
        moved_out: 0,
        active: enrolled.saturating_sub(ended),
        completed,
        exited,
        goals,
        conversion: share(reached, enrolled),
        time_to_goal: spread(to_goal),
        time_to_exit: spread(to_exit),
        steps: order.iter().filter_map(|n| steps.get(n).cloned()).collect(),
        branches: branches
            .into_iter()
            .map(|((from, on, to), taken)| BranchReport {
                from,
                on,
                to,
                taken,
            })
            .collect(),
        experiments,
        owners: owners.into_values().collect(),
        email_funnel: funnel::email_funnel(records, def.map(|(_, c)| c)),
        endings: funnel::endings(records),
    }
}

/// The widest a column of the text tables is padded to: a longer name (from a contact's field,
/// or a trace) overflows its column rather than widening every row.
const MAX_COLUMN: usize = 120;

/// `3d 4h` from seconds.
pub fn span_text(seconds: i64) -> String {
    let d = seconds / 86_400;
    let h = (seconds % 86_400) / 3_600;
    let m = (seconds % 3_600) / 60;
    match (d, h, m) {
        (0, 0, m) => format!("{m}m"),
        (0, h, 0) => format!("{h}h"),
        (0, h, m) => format!("{h}h {m}m"),
        (d, 0, _) => format!("{d}d"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}

fn pct(x: f64) -> String {
    format!("{:.0}%", x * 100.0)
}

/// Where an ending happened, in words: `after step 1: 2, step 3: 1; before step 1: 1`.
pub fn ending_places(e: &funnel::Ending) -> String {
    let steps: Vec<String> =
        e.at.iter()
            .filter(|(k, _)| k.starts_with("step "))
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
    let mut parts = Vec::new();
    if !steps.is_empty() {
        parts.push(format!("after {}", steps.join(", ")));
    }
    if let Some(v) = e.at.get("before step 1") {
        parts.push(format!("before step 1: {v}"));
    }
    parts.join("; ")
}

/// An A/B test as a table, its comparisons and its verdict.
fn experiment_text(e: &variants::Experiment) -> String {
    use variants::{p_text, percent, METRICS};
    let mut out = format!("\nA/B test, step {}\n", e.step);
    let mut rows: Vec<Vec<String>> = vec![["variant", "weight", "sent"]
        .into_iter()
        .chain(METRICS)
        .map(String::from)
        .collect()];
    for v in &e.variants {
        let mut row = vec![
            v.name.clone(),
            v.weight.map_or("-".into(), |w| format!("{w}%")),
            v.sent.to_string(),
        ];
        for m in METRICS {
            row.push(format!("{} ({})", v.counts[m], percent(v.rates[m])));
        }
        rows.push(row);
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .max()
                .unwrap_or(0)
                .min(MAX_COLUMN)
        })
        .collect();
    for r in &rows {
        let mut l = String::from("  ");
        for (i, cell) in r.iter().enumerate() {
            if i == 0 {
                l.push_str(&format!("{cell:<w$}  ", w = widths[i]));
            } else {
                l.push_str(&format!("{cell:>w$}  ", w = widths[i]));
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    }
    for c in &e.comparisons {
        let points = |x: f64| format!("{:+.1}", x * 100.0);
        out.push_str(&format!(
            "  {}: {} vs {} {} points (95% interval {} to {}), {}\n",
            c.metric,
            c.variant,
            c.baseline,
            points(c.diff),
            points(c.low),
            points(c.high),
            p_text(c.p)
        ));
    }
    for v in &e.verdict {
        out.push_str(&format!("  {v}\n"));
    }
    out
}

/// Aligned tables for the terminal.
pub fn text(report: &Report) -> String {
    let mut out = String::new();
    for c in &report.cadences {
        out.push_str(&format!(
            "{}\n{}\n",
            c.cadence,
            "=".repeat(c.cadence.chars().count())
        ));
        let moved = match (c.moved_in, c.moved_out) {
            (0, 0) => String::new(),
            (i, o) => format!("moved in {i}   moved out {o}   "),
        };
        out.push_str(&format!(
            "enrolled {}   {moved}active {}   completed {}   exited {}   goals {}   conversion {}\n",
            c.enrolled,
            c.active,
            c.completed,
            c.exited.values().sum::<usize>(),
            c.goals.values().sum::<usize>(),
            pct(c.conversion)
        ));
        // Endings, each by the step the contact had last been sent.
        for e in &c.endings {
            let word = if e.kind == "goal" { "goal" } else { "exited" };
            let at = ending_places(e);
            out.push_str(&format!(
                "  {word} \"{}\": {} ({at})\n",
                crate::diagnostic::printable(&e.name),
                e.total
            ));
        }
        if let Some(s) = c.time_to_goal {
            out.push_str(&format!(
                "  time to goal: median {}, 90th percentile {}\n",
                span_text(s.median),
                span_text(s.p90)
            ));
        }
        if let Some(s) = c.time_to_exit {
            out.push_str(&format!(
                "  time to exit: median {}, 90th percentile {}\n",
                span_text(s.median),
                span_text(s.p90)
            ));
        }
        if !c.email_funnel.is_empty() {
            let stages: Vec<String> = c
                .email_funnel
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    if i == 0 {
                        format!("{} {}", s.stage, s.contacts)
                    } else {
                        format!("{} {} ({})", s.stage, s.contacts, pct(s.rate))
                    }
                })
                .collect();
            out.push_str(&format!("  email funnel: {}\n", stages.join(" -> ")));
        }
        out.push('\n');
        let rows: Vec<[String; 5]> = c
            .steps
            .iter()
            .map(|s| {
                let skipped: usize = s.skipped.values().sum();
                let outcomes = s
                    .outcomes
                    .iter()
                    .map(|(k, v)| {
                        if s.action == "email" {
                            format!("{k} {v} ({})", pct(*s.rates.get(k).unwrap_or(&0.0)))
                        } else {
                            format!("{k} {v}")
                        }
                    })
                    .chain(s.timeouts.iter().map(|(k, v)| format!("{k} {v}")))
                    .chain(
                        s.machine
                            .iter()
                            .map(|(k, v)| format!("{k} by machines {v}")),
                    )
                    .collect::<Vec<_>>()
                    .join(", ");
                [
                    format!("{}", s.step),
                    format!("{} {}", s.action, s.name),
                    s.executed.to_string(),
                    if skipped > 0 {
                        format!(
                            "{skipped} ({})",
                            s.skipped
                                .iter()
                                .map(|(k, v)| format!("{k} {v}"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    } else {
                        "0".into()
                    },
                    outcomes,
                ]
            })
            .collect();
        let header = ["step", "action", "executed", "skipped", "outcomes"];
        let widths: Vec<usize> = (0..5)
            .map(|i| {
                rows.iter()
                    .map(|r| r[i].chars().count())
                    .chain([header[i].len()])
                    .max()
                    .unwrap_or(0)
                    .min(MAX_COLUMN)
            })
            .collect();
        let line = |cells: [&str; 5]| {
            let mut l = String::new();
            for (i, cell) in cells.iter().enumerate() {
                if i == 4 {
                    l.push_str(cell);
                } else if i == 0 || i == 1 {
                    l.push_str(&format!("{cell:<w$}  ", w = widths[i]));
                } else {
                    l.push_str(&format!("{cell:>w$}  ", w = widths[i]));
                }
            }
            l.trim_end().to_string() + "\n"
        };
        out.push_str(&line(header));
        for r in &rows {
            out.push_str(&line([&r[0], &r[1], &r[2], &r[3], &r[4]]));
        }
        if !c.owners.is_empty() {
            out.push_str("\nowners\n");
            let w = c
                .owners
                .iter()
                .map(|o| o.owner.chars().count())
                .max()
                .unwrap_or(0)
                .clamp(5, MAX_COLUMN);
            out.push_str(&format!(
                "  {:<w$}  {:>15}  {:>15}  {:>7}\n",
                "owner", "calls and tasks", "with an outcome", "overdue"
            ));
            for o in &c.owners {
                out.push_str(&format!(
                    "  {:<w$}  {:>15}  {:>15}  {:>7}\n",
                    crate::diagnostic::printable(&o.owner),
                    o.assigned,
                    format!(
                        "{} ({})",
                        o.with_outcome,
                        pct(share(o.with_outcome, o.assigned))
                    ),
                    o.overdue
                ));
            }
        }
        for e in &c.experiments {
            out.push_str(&experiment_text(e));
        }
        out.push_str("\nbranches\n");
        for b in &c.branches {
            out.push_str(&format!(
                "  step {} on {} -> {}: {}\n",
                b.from, b.on, b.to, b.taken
            ));
        }
        out.push('\n');
    }
    out
}

/// The record view: every cadence the record is or was in, where it stands, and its history.
pub fn timeline(id: &str, records: &[TraceRecord], program: Option<&Program>) -> Option<String> {
    let mine: Vec<&TraceRecord> = records.iter().filter(|r| r.contact == id).collect();
    if mine.is_empty() {
        return None;
    }
    let mut out = format!("{id}\n");
    let mut cadences: Vec<&str> = Vec::new();
    for r in &mine {
        if !cadences.contains(&r.cadence.as_str()) {
            cadences.push(&r.cadence);
        }
    }
    for cad in &cadences {
        let recs: Vec<&&TraceRecord> = mine.iter().filter(|r| r.cadence == *cad).collect();
        let last_enrol = recs.iter().rposition(|r| r.kind == "enrolled").unwrap_or(0);
        let current = &recs[last_enrol..];
        // The contact's zone in this cadence, as of its latest record.
        let tz = current.iter().rev().find_map(|r| r.tz);
        let when = |t: i64| stamp(t, tz);
        let ending = current
            .iter()
            .find(|r| matches!(r.kind.as_str(), "completed" | "exited" | "goal"));
        // Named by version: a deploy moved the enrolment into another version.
        let since = current.first().map_or(i64::MIN, |r| r.at);
        let moved = mine.iter().find(|r| {
            r.kind == "migrated" && r.from_cadence.as_deref() == Some(*cad) && r.at >= since
        });
        let status = match (ending, moved) {
            (None, Some(m)) => format!("moved into \"{}\" at {}", m.cadence, when(m.at)),
            (ending, _) => match ending {
                Some(r) => match r.kind.as_str() {
                    "completed" => format!("completed at {}", when(r.at)),
                    "exited" => format!(
                        "exited at {} (reason \"{}\")",
                        when(r.at),
                        r.reason.clone().unwrap_or_default()
                    ),
                    _ => format!(
                        "reached goal \"{}\" at {}",
                        r.name.clone().unwrap_or_default(),
                        when(r.at)
                    ),
                },
                None => {
                    let last_step = current.iter().rev().find_map(|r| match r.kind.as_str() {
                        "executed" | "skipped" => r.step.map(|s| (s, r.kind.clone(), r.at)),
                        "transition" => {
                            r.to.as_ref()
                                .and_then(|t| t.parse::<u32>().ok())
                                .map(|s| (s, "entered".to_string(), r.at))
                        }
                        _ => None,
                    });
                    // Pauses since: time spent paused is taken out of the wait, as the engine
                    // does (a resume that caught up takes nothing out).
                    let mut paused: Option<(i64, Option<i64>)> = None;
                    let from = last_step.as_ref().map(|l| l.2);
                    let mut base = from;
                    for r in current.iter().filter(|r| from.is_some_and(|b| r.at >= b)) {
                        match r.kind.as_str() {
                            "paused" => {
                                let since = paused.map_or(r.at, |p| p.0);
                                paused = Some((since, r.until));
                            }
                            "resumed" => {
                                if let (Some((since, _)), Some(b)) = (paused.take(), base) {
                                    if !r.catch_up {
                                        base = Some(b + (r.at - b.max(since)));
                                    }
                                }
                            }
                            _ => {}
                        }
                    }
                    match last_step {
                        Some((s, how, at)) if paused.is_some() => {
                            let (since, until) = paused.unwrap_or((at, None));
                            let until = until
                                .map(|u| format!(", until {}", when(u)))
                                .unwrap_or_default();
                            format!(
                                "paused at step {s} ({how} {}) since {}{until}",
                                when(at),
                                when(since)
                            )
                        }
                        Some((s, how, at)) => {
                            let moved = base.unwrap_or(at);
                            let next = program.and_then(|p| next_due(p, cad, s, &how, moved, tz));
                            let mut text = format!("active: step {s} ({how} {})", when(at));
                            if let Some(n) = next {
                                text.push_str(&format!("; next: {n}"));
                            }
                            text
                        }
                        None => "active: enrolled".to_string(),
                    }
                }
            },
        };
        let times = if current.len() < recs.len() {
            " (enrolled again)"
        } else {
            ""
        };
        out.push_str(&format!("  \"{cad}\"{times}: {status}\n"));
    }
    out.push('\n');
    // The channel of each step the record was sent, so that a call's or a task's outcome
    // names it (`task completed (step 7)`).
    let channels: HashMap<(&str, u32), &str> = mine
        .iter()
        .filter(|r| r.kind == "executed")
        .filter_map(|r| Some(((r.cadence.as_str(), r.step?), r.action.as_deref()?)))
        .collect();
    for r in &mine {
        let what = match r.kind.as_str() {
            "enrolled" => "enrolled".to_string(),
            "executed" => {
                let mut about = Vec::new();
                if r.variant.is_some() {
                    about.push("A/B variant".to_string());
                }
                if let Some(o) = &r.owner {
                    about.push(format!("for {}", crate::diagnostic::printable(o)));
                }
                if let Some(p) = r.priority.as_deref().filter(|p| *p != "normal") {
                    about.push(format!("{p} priority"));
                }
                if let Some(d) = r.due.filter(|d| *d != r.at) {
                    about.push(format!("due {}", moment(d, r.tz)));
                }
                format!(
                    "step {}: {} {}{}",
                    r.step.unwrap_or(0),
                    r.action.clone().unwrap_or_default(),
                    r.name.clone().unwrap_or_default(),
                    if about.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", about.join(", "))
                    }
                )
            }
            "skipped" => format!(
                "step {} skipped ({})",
                r.step.unwrap_or(0),
                r.reason.clone().unwrap_or_default()
            ),
            "event" => {
                let channel = match r.step.and_then(|s| channels.get(&(r.cadence.as_str(), s))) {
                    Some(&c) if c == "call" || c == "task" => format!("{c} "),
                    _ => String::new(),
                };
                let mail = match (r.sent, &r.matched_by) {
                    (Some(sent), Some(how)) => format!(
                        ", message of {}, matched by {how}",
                        crate::engine::calendar::utc(sent).format("%-d %b %Y %H:%M UTC")
                    ),
                    _ => String::new(),
                };
                format!(
                    "{channel}{} (step {}{mail})",
                    r.event.clone().unwrap_or_default(),
                    r.step.map_or("-".into(), |s| s.to_string())
                )
            }
            "transition" => format!(
                "step {} -> {} on {}",
                r.from.unwrap_or(0),
                r.to.clone().unwrap_or_default(),
                r.on.clone().unwrap_or_default()
            ),
            "exited" => format!("exited: {}", r.reason.clone().unwrap_or_default()),
            "goal" => format!("goal reached: {}", r.name.clone().unwrap_or_default()),
            "completed" => "completed".to_string(),
            "migrated" => format!(
                "moved into a new version: step {} -> {}",
                r.from.unwrap_or(0),
                r.to.clone().unwrap_or_default()
            ),
            "paused" => match r.until {
                Some(u) => format!(
                    "paused at step {} until {}",
                    r.step.unwrap_or(0),
                    moment(u, r.tz)
                ),
                None => format!("paused at step {}", r.step.unwrap_or(0)),
            },
            "resumed" if r.catch_up => {
                format!("resumed at step {}, catching up", r.step.unwrap_or(0))
            }
            "resumed" => format!("resumed at step {}", r.step.unwrap_or(0)),
            k => k.to_string(),
        };
        let cad = if cadences.len() > 1 {
            format!("[{}] ", r.cadence)
        } else {
            String::new()
        };
        out.push_str(&format!("{}  {cad}{what}\n", moment(r.at, r.tz)));
    }
    Some(out)
}

/// An instant at the head of a timeline line: `2026-03-11 08:30:00Z`, or with the contact's
/// zone `2026-03-11 09:30 Europe/Berlin (08:30:00Z)`.
fn moment(t: i64, tz: Option<chrono_tz::Tz>) -> String {
    match tz {
        Some(_) => stamp(t, tz),
        None => format_instant(t).replace('T', " "),
    }
}

/// An instant inside a sentence of the timeline: `2026-03-11T08:30:00Z`, or with the
/// contact's zone `2026-03-11 09:30 Europe/Berlin (08:30:00Z)`.
fn stamp(t: i64, tz: Option<chrono_tz::Tz>) -> String {
    let utc = format_instant(t);
    match tz {
        Some(tz) => {
            let local = crate::engine::calendar::format_local(t, tz);
            // The UTC date too when it is another day.
            let shown = if local[..10] == utc[..10] {
                &utc[11..]
            } else {
                &utc[..]
            };
            format!("{local} ({})", shown.replace('T', " "))
        }
        None => utc,
    }
}

/// What falls due next for an enrolment last seen at step `step` (`executed`, `skipped` or
/// `entered` at `at`), from the cadence's definition (windows and business days included;
/// `at FIELD` steps need the record's date, which a trace does not hold).
fn next_due(
    p: &Program,
    cadence: &str,
    step: u32,
    how: &str,
    at: i64,
    contact_tz: Option<chrono_tz::Tz>,
) -> Option<String> {
    use crate::check::{At, Zone};
    use crate::engine::calendar::{add, next_window, utc};
    let c = p.cadences.iter().find(|c| c.name == cadence)?;
    let i = c.step_index(step)?;
    let s = &c.steps[i];
    // The contact's zone, which the trace carries; a trace without it (UTC cadences, or one
    // written before zones were recorded) falls back to the cadence's default.
    let tz = contact_tz.unwrap_or(match c.zone {
        Zone::Fixed(tz) => tz,
        Zone::Field { default, .. } => default,
    });
    let shown = contact_tz.filter(|_| c.uses_zone());
    let due_of = |j: usize, from: i64| -> String {
        let st = &c.steps[j];
        let mut due = add(from, st.after, tz, &c.holidays);
        match &st.at {
            Some(At::Cron(cron)) => {
                due = cron
                    .next_at_or_after(utc(due), tz)
                    .map(|t| t.timestamp())
                    .unwrap_or(due);
            }
            Some(At::Field { field, .. }) => {
                return format!(
                    "step {} at the record's {}",
                    st.number,
                    c.schema.field(*field).name
                );
            }
            None => {}
        }
        if st.action.channel() == crate::check::Channel::Email {
            if let Some(w) = &c.window {
                due = next_window(due, w, tz, &c.holidays).unwrap_or(due);
            }
        }
        format!("step {} due {}", st.number, stamp(due, shown))
    };
    match how {
        "entered" => Some(due_of(i, at)),
        "executed" if s.waits() => {
            let mut soonest: Option<(i64, String)> = None;
            for h in &s.handlers {
                if let HandlerEvent::Timeout(t, d) = h.event {
                    let when = add(at, d, tz, &c.holidays);
                    if soonest.as_ref().is_none_or(|(w, _)| when < *w) {
                        soonest = Some((
                            when,
                            format!(
                                "{} at {} unless it happens first",
                                t.name(),
                                stamp(when, shown)
                            ),
                        ));
                    }
                }
            }
            Some(
                soonest
                    .map(|(_, s)| s)
                    .unwrap_or_else(|| "waits for an event".into()),
            )
        }
        _ => match s.next {
            Target::Step(j) => Some(due_of(j, at)),
            _ => None,
        },
    }
}
