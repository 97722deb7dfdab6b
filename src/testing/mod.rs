//! The test runner: a thin driver that runs each `test` block on the engine with a virtual
//! clock, checks its expectations against the trace, and measures step and branch coverage.

use std::collections::BTreeSet;

use crate::check::{Action, Expectation, Program, TestAction, TestCase, TestExpect};
use crate::engine::trace::{describe, Kind, Record};
use crate::engine::{format_instant, EventKey, Fields, Input};
use crate::engine::{Engine, Phase};
use crate::sim::HORIZON;
use crate::syntax::{FileId, Span};

/// What failed a test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// An expectation did not hold.
    Expectation,
    /// The test made too many records and was stopped.
    Stopped,
    /// A `deploy` was refused: it would strand contacts.
    Deploy,
    /// The file a `deploy` names could not be read or does not check.
    DeployFile,
}

/// One expectation that did not hold, or why the test could not run to its end.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub kind: FailureKind,
    pub span: Span,
    /// What was expected and what happened instead, in words.
    pub message: String,
    /// The contact the expectation is about.
    pub contact: String,
    /// The contact's trace, as timeline lines (`2026-01-05 09:00:00Z  [cadence]  what`).
    pub trace: Vec<String>,
}

/// The result of one test.
#[derive(Debug, Clone, PartialEq)]
pub struct TestResult {
    pub name: String,
    pub file: FileId,
    pub span: Span,
    pub failures: Vec<Failure>,
    /// (cadence, step index) of every executed step.
    pub steps: BTreeSet<(u32, u32)>,
    /// (cadence, step index, handler index) of every `on` line taken.
    pub branches: BTreeSet<(u32, u32, u32)>,
}

impl TestResult {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// The most records one test may make before it is stopped and failed.
pub const MAX_RECORDS: usize = 1_000_000;

/// A new version a test's `deploy` names: the program with it (the files of the program
/// before, with that file in place of the one of the same cadence), and the version hash of
/// each of its cadences.
pub struct NewVersion {
    pub program: &'static Program,
    pub hashes: Vec<String>,
}

/// Reads the file a `deploy` of a test names (as written), given the program it replaces.
pub type DeployLoader<'a> = dyn FnMut(&str, &Program) -> Result<NewVersion, String> + 'a;

/// Runs one test that deploys nothing (a `deploy` fails it: see [`run_with`]).
pub fn run(program: &Program, test: &TestCase) -> TestResult {
    run_with(program, &[], test, &mut |file, _| {
        Err(format!(
            "`deploy \"{file}\"` reads a file: run the test with `cadence test`"
        ))
    })
}

/// Runs one test; `hashes` are the version hashes of `program`'s cadences, and `load` reads
/// the new versions its `deploy` inputs name.
pub fn run_with(
    program: &Program,
    hashes: &[String],
    test: &TestCase,
    load: &mut DeployLoader,
) -> TestResult {
    let mut engine = Engine::new(program);
    let catalog = engine.catalog().clone();
    for c in &test.contacts {
        let mut fields = Fields::default();
        for (name, value) in &c.fields {
            if let Some(g) = catalog.lookup(name) {
                fields.set(g, Some(value.clone()));
            }
        }
        // Contact ids are unique within a test (the checker says so).
        let _ = engine.add_contact(&c.id, fields);
    }
    // The cadence the test is about, by name: after a deploy it is the new version.
    let scope = test.scope.map(|s| program.cadences[s].name.as_str());
    pin_variants(&mut engine, test, scope);
    let start = test.start.timestamp();
    engine.start(start);
    let mut records: Vec<Record> = engine.take_records();
    // Per cadence of the engine's program: the cadence of `program` it is, for coverage (a
    // version a test deploys is not; a cadence it deploys unchanged still is).
    let mut original: Vec<Option<u32>> = (0..program.cadences.len() as u32).map(Some).collect();
    let mut hashes: Vec<String> = hashes.to_vec();
    hashes.resize(program.cadences.len(), String::new());
    let base_hashes = hashes.clone();
    let mut deploy_failures: Vec<Failure> = Vec::new();

    let mut order: Vec<usize> = (0..test.inputs.len()).collect();
    order.sort_by_key(|&i| test.inputs[i].at);
    let until = test.until.map(|u| u.timestamp());
    let mut last = start;
    for i in order {
        let input = &test.inputs[i];
        let at = input.at.timestamp();
        if until.is_some_and(|u| at > u) {
            break;
        }
        if let TestAction::Deploy { file } = &input.action {
            let mut kind = FailureKind::Deploy;
            let refused = match load(file, engine.program()) {
                Ok(v) => {
                    let mut summary = crate::sim::Summary::default();
                    let d = crate::sim::Deployment {
                        at,
                        program: v.program,
                        hashes: v.hashes,
                    };
                    let _ = crate::sim::deploy(&mut engine, &d, &mut hashes, &mut summary, |e| {
                        records.extend(e.take_records());
                        Ok(0)
                    });
                    if summary.refused.is_empty() {
                        // The new versions come first: the cadences before them move up.
                        let n = v.program.cadences.len() as u32;
                        let mut now: Vec<Option<u32>> = v
                            .program
                            .cadences
                            .iter()
                            .zip(&d.hashes)
                            .map(|(c, h)| {
                                program
                                    .cadences
                                    .iter()
                                    .zip(&base_hashes)
                                    .position(|(o, oh)| o.name == c.name && oh == h)
                                    .map(|i| i as u32)
                            })
                            .collect();
                        now.extend(original.iter().copied());
                        original = now;
                        pin_variants(&mut engine, test, scope);
                        let before = records.len();
                        for r in &mut records[..before] {
                            r.cadence += n;
                        }
                        records.extend(engine.take_records());
                    }
                    summary.refused.pop()
                }
                Err(e) => {
                    kind = FailureKind::DeployFile;
                    Some(format!("`deploy \"{file}\"`: {e}"))
                }
            };
            if let Some(message) = refused {
                deploy_failures.push(Failure {
                    kind,
                    span: input.span,
                    message,
                    contact: String::new(),
                    trace: Vec::new(),
                });
            }
            last = at;
            continue;
        }
        let current = engine.program();
        for inp in engine_inputs(program, current, engine.catalog(), &input.action, scope) {
            engine.apply(at, &inp);
        }
        last = at;
        records.extend(engine.take_records());
    }
    // One instant at a time, so that a cadence looping with a short wait is stopped after
    // [`MAX_RECORDS`] records instead of filling the memory.
    let horizon = match until {
        Some(u) => u,
        None if program.has_loop() => last.saturating_add(HORIZON),
        None => i64::MAX,
    };
    let mut overflow = None;
    while let Some(due) = engine.next_due() {
        if due > horizon {
            break;
        }
        engine.run_until(due, true);
        records.extend(engine.take_records());
        if records.len() > MAX_RECORDS {
            overflow = Some(due);
            break;
        }
    }
    if overflow.is_none() {
        if let Some(u) = until {
            engine.run_until(u, true);
        }
    }
    records.extend(engine.take_records());

    let mut result = TestResult {
        name: test.name.clone(),
        file: test.file,
        span: test.span,
        failures: deploy_failures,
        steps: BTreeSet::new(),
        branches: BTreeSet::new(),
    };
    // Coverage is of the cadences of `program` (not of the versions a test deploys).
    for r in &records {
        let Some(c) = original.get(r.cadence as usize).copied().flatten() else {
            continue;
        };
        match r.kind {
            Kind::Executed { step, .. } => {
                result.steps.insert((c, step));
            }
            Kind::Transition { from, handler, .. } => {
                result.branches.insert((c, from, handler));
            }
            _ => {}
        }
    }
    let program = engine.program();
    if let Some(at) = overflow {
        result.failures.push(Failure {
            kind: FailureKind::Stopped,
            span: test.span,
            message: format!(
                "the test stopped at {}: it had made more than {MAX_RECORDS} records (a cadence \
                 that loops with a short wait?); give it an `until` closer to its start",
                format_instant(at)
            ),
            contact: String::new(),
            trace: Vec::new(),
        });
        return result;
    }
    for e in &test.expects {
        if let Some(message) = check(program, &engine, &records, e, scope) {
            let contact = e.contact as u32;
            let many = program.cadences.len() > 1;
            let trace = records
                .iter()
                .filter(|r| r.contact == contact && !r.kind.text_only())
                .map(|r| {
                    let at = format_instant(r.at).replace('T', " ");
                    let what = describe(program, r);
                    if many {
                        format!(
                            "{at}  [{}] {what}",
                            program.cadences[r.cadence as usize].name
                        )
                    } else {
                        format!("{at}  {what}")
                    }
                })
                .collect();
            result.failures.push(Failure {
                kind: FailureKind::Expectation,
                span: e.span,
                message,
                contact: engine.contact(contact).id.clone(),
                trace,
            });
        }
    }
    result
}

/// The engine's inputs for a test's action. The action names cadences and events of
/// `program` (the test's); the engine runs `current` (with the versions deployed since).
fn engine_inputs(
    program: &Program,
    current: &Program,
    catalog: &crate::engine::Catalog,
    action: &TestAction,
    scope: Option<&str>,
) -> Vec<Input> {
    let by_name = |name: &str| current.cadence_by_name(name).map(|c| c as u32);
    let scope = scope.and_then(by_name);
    let cadence_of =
        |c: &Option<usize>| c.and_then(|c| by_name(&program.cadences[c].name)).or(scope);
    match action {
        TestAction::Deploy { .. } => Vec::new(),
        TestAction::Pause {
            contact,
            until,
            catch_up,
        } => vec![Input::Pause {
            contact: *contact as u32,
            cadence: scope,
            until: until.map(|u| u.timestamp()),
            catch_up: *catch_up,
        }],
        TestAction::Resume { contact, catch_up } => vec![Input::Resume {
            contact: *contact as u32,
            cadence: scope,
            catch_up: *catch_up,
        }],
        TestAction::Enroll { contact, cadence } => vec![Input::Enroll {
            contact: *contact as u32,
            cadence: cadence_of(cadence),
        }],
        TestAction::Unenroll { contact, cadence } => vec![Input::Unenroll {
            contact: *contact as u32,
            cadence: cadence_of(cadence),
        }],
        TestAction::Set { contact, fields } => fields
            .iter()
            .filter_map(|(name, value)| {
                catalog.lookup(name).map(|g| Input::Set {
                    contact: *contact as u32,
                    field: g,
                    value: value.clone(),
                })
            })
            .collect(),
        TestAction::Outcome {
            contact,
            outcome,
            step,
            back,
        } => vec![Input::Event {
            contact: *contact as u32,
            event: EventKey::Outcome(*outcome),
            step: *step,
            cadence: scope,
            machine: false,
            message: None,
            back: *back,
        }],
        TestAction::Custom { contact, event } => {
            let Some(event) = current
                .custom_events
                .iter()
                .position(|e| *e == program.custom_events[*event])
            else {
                return Vec::new();
            };
            vec![Input::Event {
                contact: *contact as u32,
                event: EventKey::Custom(event as u32),
                step: None,
                cadence: scope,
                machine: false,
                message: None,
                back: None,
            }]
        }
    }
}

/// Gives the test's contacts the variants its `pin` lines name, in the cadences of the engine's
/// program that the test is about.
fn pin_variants(engine: &mut Engine, test: &TestCase, scope: Option<&str>) {
    let program = engine.program();
    for pin in &test.pins {
        let id = &test.contacts[pin.contact].id;
        for (ci, c) in program.cadences.iter().enumerate() {
            if scope.is_some_and(|s| s != c.name) {
                continue;
            }
            let Some(si) = c.step_index(pin.step) else {
                continue;
            };
            if let Action::Email { variants, .. } = &c.steps[si].action {
                if let Some(v) = variants
                    .iter()
                    .position(|v| program.templates[v.template.0].name == pin.variant)
                {
                    engine.pin_variant(id, ci as u32, si as u32, v as u8);
                }
            }
        }
    }
}

/// Checks one expectation; `Some(explanation)` when it fails.
fn check(
    program: &Program,
    engine: &Engine,
    records: &[Record],
    e: &TestExpect,
    scope: Option<&str>,
) -> Option<String> {
    let contact = e.contact as u32;
    let who = &engine.contact(contact).id;
    let mine: Vec<&Record> = records
        .iter()
        .filter(|r| {
            r.contact == contact
                && scope.is_none_or(|s| program.cadences[r.cadence as usize].name == s)
        })
        .collect();
    let number =
        |r: &Record, step: u32| program.cadences[r.cadence as usize].steps[step as usize].number;
    let fits_time = |r: &Record| {
        e.at.is_none_or(|a| r.at == a.timestamp()) && e.by.is_none_or(|b| r.at <= b.timestamp())
    };
    let when = || {
        let mut w = String::new();
        if let Some(a) = e.at {
            w.push_str(&format!(" at {}", format_instant(a.timestamp())));
        }
        if let Some(b) = e.by {
            w.push_str(&format!(" by {}", format_instant(b.timestamp())));
        }
        w
    };
    let times = |rs: &[&&Record]| {
        rs.iter()
            .map(|r| format_instant(r.at))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let ending = || {
        mine.iter().rev().find_map(|r| {
            let cad = &program.cadences[r.cadence as usize];
            match r.kind {
                Kind::Completed => Some(format!(
                    "the enrolment completed at {}",
                    format_instant(r.at)
                )),
                Kind::Exited { reason } => Some(format!(
                    "the enrolment exited at {} (reason \"{}\")",
                    format_instant(r.at),
                    crate::engine::trace::exit_reason(cad, reason)
                )),
                Kind::Goal { rule } => Some(format!(
                    "the enrolment reached goal \"{}\" at {}",
                    cad.goals[rule as usize].name,
                    format_instant(r.at)
                )),
                _ => None,
            }
        })
    };
    let where_now = || match current_step(program, engine, contact, scope) {
        Some(n) => format!("{who} is still at step {n}"),
        None => match ending() {
            Some(end) => end,
            None => format!("{who} was never enrolled"),
        },
    };
    match &e.what {
        Expectation::Executed(n) | Expectation::Skipped(n) => {
            let skipped = matches!(e.what, Expectation::Skipped(_));
            let all: Vec<&&Record> = mine
                .iter()
                .filter(|r| match r.kind {
                    Kind::Executed { step, .. } if !skipped => number(r, step) == *n,
                    Kind::Skipped { step, .. } if skipped => number(r, step) == *n,
                    _ => false,
                })
                .collect();
            let verb = if skipped { "skip" } else { "get" };
            let done = if skipped { "was skipped" } else { "executed" };
            if all.iter().any(|r| fits_time(r)) {
                return None;
            }
            Some(if all.is_empty() {
                format!(
                    "expected {who} to {verb} step {n}{}, but step {n} never {done} for {who}; {}",
                    when(),
                    where_now()
                )
            } else {
                format!(
                    "expected {who} to {verb} step {n}{}, but step {n} {done} at {} instead",
                    when(),
                    times(&all)
                )
            })
        }
        Expectation::ExecutedVariant(n, want) => {
            let all: Vec<(&&Record, &str)> = mine
                .iter()
                .filter_map(|r| match r.kind {
                    Kind::Executed { step, variant, .. } if number(r, step) == *n => {
                        Some((r, variant_name(program, r.cadence, step, variant)))
                    }
                    _ => None,
                })
                .collect();
            if all.iter().any(|(r, v)| fits_time(r) && v == want) {
                return None;
            }
            Some(if all.is_empty() {
                format!(
                    "expected {who} to get variant `{want}` of step {n}{}, but step {n} never executed for {who}; {}",
                    when(),
                    where_now()
                )
            } else {
                let got: Vec<String> = all
                    .iter()
                    .map(|(r, v)| format!("`{v}` at {}", format_instant(r.at)))
                    .collect();
                format!(
                    "expected {who} to get variant `{want}` of step {n}{}, but it got {}",
                    when(),
                    got.join(", ")
                )
            })
        }
        Expectation::NotExecuted(n) => {
            let all: Vec<&&Record> = mine
                .iter()
                .filter(|r| {
                    matches!(r.kind, Kind::Executed { step, .. } if number(r, step) == *n)
                        && fits_time(r)
                })
                .collect();
            if all.is_empty() {
                None
            } else {
                Some(format!(
                    "expected {who} not to get step {n}{}, but step {n} executed at {}",
                    when(),
                    times(&all)
                ))
            }
        }
        Expectation::Completed | Expectation::Exited(_) | Expectation::Goal(_) => {
            let hit = mine.iter().any(|r| {
                fits_time(r)
                    && match (&e.what, r.kind) {
                        (Expectation::Completed, Kind::Completed) => true,
                        (Expectation::Exited(want), Kind::Exited { reason }) => {
                            want.as_ref().is_none_or(|w| {
                                crate::engine::trace::exit_reason(
                                    &program.cadences[r.cadence as usize],
                                    reason,
                                ) == w
                            })
                        }
                        (Expectation::Goal(want), Kind::Goal { rule }) => {
                            want.as_ref().is_none_or(|w| {
                                program.cadences[r.cadence as usize].goals[rule as usize].name == *w
                            })
                        }
                        _ => false,
                    }
            });
            if hit {
                return None;
            }
            let wanted = match &e.what {
                Expectation::Completed => "complete".to_string(),
                Expectation::Exited(Some(r)) => format!("exit with reason \"{r}\""),
                Expectation::Exited(None) => "exit".to_string(),
                Expectation::Goal(Some(g)) => format!("reach goal \"{g}\""),
                _ => "reach a goal".to_string(),
            };
            Some(format!(
                "expected {who}'s enrolment to {wanted}{}, but {}",
                when(),
                where_now()
            ))
        }
        Expectation::AtStep(n) => match current_step(program, engine, contact, scope) {
            Some(k) if k == *n => None,
            Some(k) => Some(format!(
                "expected {who} to be at step {n} when the test ends, but {who} is at step {k}"
            )),
            None => Some(format!(
                "expected {who} to be at step {n} when the test ends, but {}",
                ending().unwrap_or_else(|| format!("{who} was never enrolled"))
            )),
        },
    }
}

/// The step number an active enrolment of the contact is at (the most recent one).
fn current_step(
    program: &Program,
    engine: &Engine,
    contact: u32,
    scope: Option<&str>,
) -> Option<u32> {
    let c = engine.contact(contact);
    c.enrolments.iter().rev().find_map(|en| {
        let in_scope = scope.is_none_or(|s| program.cadences[en.cadence as usize].name == s);
        (en.phase != Phase::Ended && in_scope)
            .then(|| program.cadences[en.cadence as usize].steps[en.step as usize].number)
    })
}

/// Step and branch coverage of one cadence over a set of test results.
#[derive(Debug, Clone, PartialEq)]
pub struct Coverage {
    pub cadence: String,
    pub steps: (usize, usize),
    pub branches: (usize, usize),
    /// `step 2 on overdue`, ...; and steps never executed, `step 4`.
    pub missing: Vec<String>,
    /// Each step, whether a test executed it, and its branches.
    pub detail: Vec<StepCoverage>,
}

/// One step's coverage: whether a test executed it, and each of its `on` lines.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StepCoverage {
    pub step: u32,
    pub hit: bool,
    pub branches: Vec<BranchCoverage>,
}

/// One `on` line: its event and target, and whether a test took it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BranchCoverage {
    pub on: String,
    pub to: String,
    pub hit: bool,
}

/// Coverage per cadence.
pub fn coverage(program: &Program, results: &[TestResult]) -> Vec<Coverage> {
    let steps: BTreeSet<(u32, u32)> = results
        .iter()
        .flat_map(|r| r.steps.iter().copied())
        .collect();
    let branches: BTreeSet<(u32, u32, u32)> = results
        .iter()
        .flat_map(|r| r.branches.iter().copied())
        .collect();
    program
        .cadences
        .iter()
        .enumerate()
        .map(|(ci, c)| {
            let ci = ci as u32;
            let mut missing = Vec::new();
            let mut steps_hit = 0;
            let mut branch_total = 0;
            let mut branch_hit = 0;
            let mut detail = Vec::new();
            for (si, s) in c.steps.iter().enumerate() {
                let si = si as u32;
                let hit = steps.contains(&(ci, si));
                if hit {
                    steps_hit += 1;
                } else {
                    missing.push(format!("step {}", s.number));
                }
                let mut bs = Vec::new();
                for (hi, h) in s.handlers.iter().enumerate() {
                    branch_total += 1;
                    let on = h.event.name();
                    let taken = branches.contains(&(ci, si, hi as u32));
                    if taken {
                        branch_hit += 1;
                    } else {
                        missing.push(format!("step {} on {on}", s.number));
                    }
                    bs.push(BranchCoverage {
                        on: on.to_string(),
                        to: match &h.target {
                            crate::check::Target::Step(i) => format!("step {}", c.steps[*i].number),
                            crate::check::Target::Done => "done".into(),
                            crate::check::Target::Exit(_) => "exit".into(),
                        },
                        hit: taken,
                    });
                }
                detail.push(StepCoverage {
                    step: s.number,
                    hit,
                    branches: bs,
                });
            }
            Coverage {
                cadence: c.name.clone(),
                steps: (steps_hit, c.steps.len()),
                branches: (branch_hit, branch_total),
                missing,
                detail,
            }
        })
        .collect()
}

impl std::fmt::Display for Coverage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: steps {}/{}, branches {}/{}",
            self.cadence, self.steps.0, self.steps.1, self.branches.0, self.branches.1
        )?;
        if !self.missing.is_empty() {
            write!(f, "; not covered: {}", self.missing.join(", "))?;
        }
        Ok(())
    }
}

/// A JUnit XML report of the results.
pub fn junit(results: &[TestResult], file_name: &dyn Fn(FileId) -> String) -> String {
    // XML 1.0 has no place for control characters but tab, line feed and carriage return
    // (which attributes keep only as references): the others are written as escapes.
    let esc = |s: &str| {
        let mut out = String::with_capacity(s.len());
        for c in s.chars() {
            match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '"' => out.push_str("&quot;"),
                '\t' => out.push_str("&#9;"),
                '\n' => out.push_str("&#10;"),
                '\r' => out.push_str("&#13;"),
                c if c.is_control() || c == '\u{fffe}' || c == '\u{ffff}' => {
                    out.extend(c.escape_default())
                }
                c => out.push(c),
            }
        }
        out
    };
    let failures = results.iter().filter(|r| !r.passed()).count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<testsuites name=\"cadence\" tests=\"{}\" failures=\"{failures}\">\n",
        results.len()
    ));
    let mut files: Vec<FileId> = results.iter().map(|r| r.file).collect();
    files.dedup();
    for f in files {
        let mine: Vec<&TestResult> = results.iter().filter(|r| r.file == f).collect();
        let name = esc(&file_name(f));
        out.push_str(&format!(
            "  <testsuite name=\"{name}\" tests=\"{}\" failures=\"{}\">\n",
            mine.len(),
            mine.iter().filter(|r| !r.passed()).count()
        ));
        for r in mine {
            out.push_str(&format!(
                "    <testcase name=\"{}\" classname=\"{name}\"",
                esc(&r.name)
            ));
            if r.passed() {
                out.push_str("/>\n");
                continue;
            }
            out.push_str(">\n");
            for fl in &r.failures {
                out.push_str(&format!(
                    "      <failure message=\"{}\">{}</failure>\n",
                    esc(&fl.message),
                    esc(&fl.trace.join("\n"))
                ));
            }
            out.push_str("    </testcase>\n");
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

/// The template name of the variant a record of step `step` sent.
fn variant_name(program: &Program, cadence: u32, step: u32, variant: u8) -> &str {
    program.cadences[cadence as usize].steps[step as usize]
        .action
        .template_of(variant)
        .map_or("", |t| program.templates[t.0].name.as_str())
}
