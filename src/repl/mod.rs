//! The REPL session: cadences, contacts and the engine on a virtual clock, driven one command at
//! a time. Pure of terminals: `execute` takes a line and returns what to print, so sessions are
//! scripted and tested through the same code the interactive prompt uses.

pub mod complete;

use std::collections::HashMap;
use std::path::Path;

use crate::check::{check, Action, At, DateValue, HandlerEvent, Outcome, Program, Target, Value};
use crate::diagnostic::{render_human, HumanStyle};
use crate::engine::trace::{describe, Kind, Record};
use crate::engine::{format_instant, Engine, EventKey, Fields, Input, Notice, Phase, Snapshot};
use crate::sim::{parse_value, read_contacts};
use crate::syntax::{closest, Sources};
use crate::time::{parse_date, Duration};
pub use complete::Known;

/// What a command asks of the driver.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// Print this (possibly empty) and read the next command.
    Text(String),
    Quit,
}

/// A record of the session, worded when it happened (so `reload` leaves history intact).
#[derive(Debug, Clone)]
struct Logged {
    contact: u32,
    cadence_name: String,
    at: i64,
    line: String,
    /// What happened in the record's own words (`completed`, `exited: replied`).
    what: String,
    /// The `expect` clause this record proves, for `save-test`.
    expect: Option<String>,
    ending: bool,
}

/// One input of the session, for `save-test`.
#[derive(Debug, Clone)]
struct Entry {
    at: i64,
    line: String,
}

pub struct Session {
    paths: Vec<String>,
    /// The files the session started with (a saved test runs on them, and deploys the rest).
    first_paths: Vec<String>,
    program: &'static Program,
    /// The version hash of each cadence of `program` (for `deploy`).
    hashes: Vec<String>,
    engine: Engine<'static>,
    /// Every record of the session.
    log: Vec<Logged>,
    journal: Vec<Entry>,
    /// Each contact's fields as first known (for `save-test`).
    initial: Vec<Vec<(String, Value)>>,
    /// When each contact was created (the session's start for loaded ones).
    created: Vec<i64>,
    start: i64,
    /// The instant at which steps due then have already run, and the contacts they ran for: an
    /// input for one of them typed at that instant came after them, so it is taken one second
    /// later (at an instant, inputs come before steps).
    settled: (i64, std::collections::HashSet<u32>),
    /// What the next reply says about an input moved past steps that already ran.
    moved: Option<String>,
    /// Records not kept in `log` (it holds at most [`MAX_LOG`]).
    dropped: usize,
}

/// The most records a session keeps for `history` and `save-test`.
const MAX_LOG: usize = 100_000;
/// The most records one command prints; the rest are counted.
const MAX_PRINTED: usize = 1_000;

/// Whether the program holds more than one cadence (versions of one cadence count once): lines
/// then name the cadence.
fn several_cadences(p: &Program) -> bool {
    p.cadences.iter().any(|c| c.name != p.cadences[0].name)
}

/// The program of the files, with the version hash of each cadence (for `deploy`).
fn load_program(paths: &[String]) -> Result<(&'static Program, Vec<String>), String> {
    let mut sources = Sources::new();
    let mut ids = Vec::new();
    for p in paths {
        let text = std::fs::read_to_string(p).map_err(|e| format!("cannot read `{p}`: {e}"))?;
        let text = text
            .strip_prefix('\u{feff}')
            .map(str::to_string)
            .unwrap_or(text);
        ids.push(sources.add(p.clone(), text));
    }
    let checked = check(&mut sources, &ids);
    if checked.has_errors() {
        let mut out = String::new();
        for d in &checked.diagnostics {
            out.push_str(&render_human(d, &sources, HumanStyle::plain()));
        }
        out.push_str("the files have errors; fix them and `reload`");
        return Err(out);
    }
    let program = checked.program.ok_or("the files have errors")?;
    let hashes = crate::runner::program::cadence_hashes(&sources, &program);
    // The session keeps its program for good; `reload` makes a new one (a few kilobytes).
    Ok((Box::leak(Box::new(program)), hashes))
}

/// Splits a command line into words; `"..."` keeps spaces, `key="a b"` becomes `key=a b`.
pub fn words(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => {
                            if let Some(n) = chars.next() {
                                cur.push(n);
                            }
                        }
                        Some(x) => cur.push(x),
                        None => {
                            return Err("a quoted word is not closed: add the closing `\"`".into())
                        }
                    }
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    Ok(out)
}

fn literal(v: &Value) -> String {
    match v {
        Value::Text(s) => crate::fmt::quote(s),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Date(DateValue::Day(d)) => d.to_string(),
        Value::Date(DateValue::Instant(t)) => format_instant(t.timestamp()),
    }
}

impl Session {
    /// Loads cadences (and contacts) with the clock at `start`.
    pub fn load(
        paths: &[String],
        contacts: Option<&Path>,
        start: i64,
    ) -> Result<(Session, String), String> {
        let (program, hashes) = load_program(paths)?;
        let mut engine = Engine::new(program);
        let mut banner = String::new();
        if let Some(path) = contacts {
            let file = std::fs::File::open(path)
                .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
            let loaded = read_contacts(std::io::BufReader::new(file), engine.catalog())
                .map_err(|e| format!("{}: {e}", path.display()))?;
            for w in &loaded.warnings {
                banner.push_str(&format!("{}: warning: {w}\n", path.display()));
            }
            for b in &loaded.bad {
                banner.push_str(&format!("{}:{}: {}\n", path.display(), b.line, b.message));
            }
            for rec in loaded.records {
                let mut fields = Fields::default();
                for (name, value) in &rec.fields {
                    if let Some(g) = engine.catalog().lookup(name) {
                        fields.set(g, Some(value.clone()));
                    }
                }
                engine
                    .add_contact(&rec.id, fields)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
            }
        }
        let mut s = Session {
            paths: paths.to_vec(),
            first_paths: paths.to_vec(),
            program,
            hashes,
            engine,
            log: Vec::new(),
            journal: Vec::new(),
            initial: Vec::new(),
            created: Vec::new(),
            start,
            settled: (i64::MIN, Default::default()),
            moved: None,
            dropped: 0,
        };
        s.initial = (0..s.engine.contacts().len())
            .map(|c| s.field_list(c as u32))
            .collect();
        s.created = vec![start; s.initial.len()];
        s.engine.start(start);
        let mut out = String::new();
        let mut printed = 0;
        s.run_through(start, &mut out, &mut printed);
        let names: Vec<String> = program
            .cadences
            .iter()
            .map(|c| format!("\"{}\"", c.name))
            .collect();
        banner.push_str(&format!(
            "loaded {} ({}), {}; clock at {}\n",
            if names.len() == 1 {
                "1 cadence".to_string()
            } else {
                format!("{} cadences", names.len())
            },
            names.join(", "),
            if s.engine.contacts().len() == 1 {
                "1 contact".to_string()
            } else {
                format!("{} contacts", s.engine.contacts().len())
            },
            format_instant(start).replace('T', " ")
        ));
        banner.push_str(&out);
        banner.push_str(&s.flush());
        banner.push_str("type `help` for the commands\n");
        Ok((s, banner))
    }

    pub fn now(&self) -> i64 {
        self.engine.now()
    }

    fn field_list(&self, contact: u32) -> Vec<(String, Value)> {
        let cat = self.engine.catalog();
        self.engine
            .contact(contact)
            .fields
            .iter()
            .map(|(g, v)| (cat.names[*g as usize].clone(), v.clone()))
            .collect()
    }

    /// Prints the records produced since the last command.
    fn flush(&mut self) -> String {
        let mut out = String::new();
        let mut printed = 0;
        self.flush_into(&mut out, &mut printed);
        more_records(&mut out, printed);
        out
    }

    /// Runs everything due up to and including `t`, one instant at a time, printing at most
    /// [`MAX_PRINTED`] records (`printed` counts them all), so that a cadence looping with a
    /// short wait holds no more than an instant's records at once.
    fn run_through(&mut self, t: i64, out: &mut String, printed: &mut usize) {
        while let Some(due) = self.engine.next_due() {
            if due > t {
                break;
            }
            self.engine.run_until(due, true);
            if due == t {
                if self.settled.0 != t {
                    self.settled = (t, Default::default());
                }
                self.settled
                    .1
                    .extend(self.engine.records().iter().map(|r| r.contact));
            }
            self.flush_into(out, printed);
        }
        self.engine.run_until(t, true);
    }

    /// The instant an input for `contact` typed now is taken at; a note says when that is not
    /// the clock.
    fn input_instant(&mut self, contact: Option<u32>) -> i64 {
        let now = self.engine.now();
        if self.settled.0 != now || !contact.is_some_and(|c| self.settled.1.contains(&c)) {
            return now;
        }
        let at = now + 1;
        self.moved = Some(format!(
            "note: taken at {}, after the steps that ran at {} (at one instant, inputs come \
             before steps)",
            format_instant(at).replace('T', " "),
            format_instant(now).replace('T', " ")
        ));
        at
    }

    /// Applies a command's inputs at one instant, then runs what falls due at that instant (a
    /// step due at once executes before the next command).
    fn apply_all(&mut self, inputs: Vec<Input>) -> Vec<Notice> {
        let at = self.input_instant(inputs.first().map(Input::contact));
        let mut notes = Vec::new();
        for input in &inputs {
            notes.extend(self.engine.apply(at, input));
        }
        notes
    }

    /// Runs what is due at the clock's instant after a command's inputs, and prints the records.
    fn settle(&mut self) -> String {
        let now = self.engine.now();
        let mut out = String::new();
        let mut printed = 0;
        // The records of the inputs first, then those of the steps due now.
        self.flush_into(&mut out, &mut printed);
        self.run_through(now, &mut out, &mut printed);
        more_records(&mut out, printed);
        if let Some(m) = self.moved.take() {
            out.push_str(&m);
            out.push('\n');
        }
        out
    }

    /// Logs the records the engine holds, and prints them while fewer than [`MAX_PRINTED`]
    /// have been printed by this command.
    fn flush_into(&mut self, out: &mut String, printed: &mut usize) {
        let records = self.engine.take_records();
        for r in &records {
            *printed += 1;
            let keep = self.log.len() < MAX_LOG;
            if !keep {
                self.dropped += 1;
            }
            if *printed > MAX_PRINTED && !keep {
                continue;
            }
            let line = self.line(r);
            if *printed <= MAX_PRINTED {
                out.push_str(&line);
                out.push('\n');
            }
            if !keep {
                continue;
            }
            let cad = &self.program.cadences[r.cadence as usize];
            let at = format_instant(r.at);
            let expect = match r.kind {
                Kind::Executed { step, variant, .. } => {
                    let s = &cad.steps[step as usize];
                    Some(match &s.action {
                        Action::Email { variants, .. } if !variants.is_empty() => format!(
                            "executed step {} variant {} at {at}",
                            s.number,
                            crate::fmt::name_text(
                                s.action.template_of(variant).map_or("", |t| self
                                    .program
                                    .templates[t.0]
                                    .name
                                    .as_str())
                            )
                        ),
                        _ => format!("executed step {} at {at}", s.number),
                    })
                }
                Kind::Skipped { step, .. } => Some(format!(
                    "skipped step {} at {at}",
                    cad.steps[step as usize].number
                )),
                Kind::Completed => Some(format!("completed at {at}")),
                Kind::Exited { reason } => Some(format!(
                    "exited {} at {at}",
                    crate::fmt::quote(crate::engine::trace::exit_reason(cad, reason))
                )),
                Kind::Goal { rule } => Some(format!(
                    "goal {} at {at}",
                    crate::fmt::quote(&cad.goals[rule as usize].name)
                )),
                _ => None,
            };
            self.log.push(Logged {
                contact: r.contact,
                cadence_name: cad.name.clone(),
                at: r.at,
                line,
                what: describe(self.program, r),
                expect,
                ending: matches!(
                    r.kind,
                    Kind::Completed | Kind::Exited { .. } | Kind::Goal { .. }
                ),
            });
        }
    }

    fn line(&self, r: &Record) -> String {
        let at = format_instant(r.at).replace('T', " ");
        let who = &self.engine.contact(r.contact).id;
        let what = describe(self.program, r);
        if several_cadences(self.program) {
            format!(
                "{at}  {who}  [{}] {what}",
                self.program.cadences[r.cadence as usize].name
            )
        } else {
            format!("{at}  {who}  {what}")
        }
    }

    fn contact(&self, id: &str) -> Result<u32, String> {
        if let Some(c) = self.engine.contact_id(id) {
            return Ok(c);
        }
        let ids: Vec<&str> = self
            .engine
            .contacts()
            .iter()
            .map(|c| c.id.as_str())
            .collect();
        Err(match closest(id, ids) {
            Some(c) => format!("unknown contact `{id}`; did you mean `{c}`?"),
            None => format!(
                "unknown contact `{id}`; create it with `contact {id} email={id}@example.test`"
            ),
        })
    }

    fn cadence(&self, name: &str) -> Result<u32, String> {
        self.program
            .cadence_by_name(name)
            .map(|c| c as u32)
            .ok_or_else(|| {
                let names: Vec<String> = self
                    .program
                    .cadences
                    .iter()
                    .map(|c| format!("\"{}\"", c.name))
                    .collect();
                format!(
                    "unknown cadence \"{name}\"; the cadences are {}",
                    names.join(", ")
                )
            })
    }

    fn assignments(&self, words: &[String]) -> Result<Vec<(String, u16, Option<Value>)>, String> {
        let mut out = Vec::new();
        for w in words {
            let Some((field, value)) = w.split_once('=') else {
                return Err(format!("`{w}` is not FIELD=VALUE; write for example `plan=pro` or `first_name=\"Ann Lee\"`"));
            };
            let cat = self.engine.catalog();
            let gid = cat.lookup(field).ok_or_else(|| {
                match closest(field, cat.names.iter().map(String::as_str)) {
                    Some(c) => format!("unknown field `{field}`; did you mean `{c}`?"),
                    None => format!(
                        "unknown field `{field}`; the fields are {}",
                        cat.names.join(", ")
                    ),
                }
            })?;
            let v = parse_value(&cat.types[gid as usize], value)
                .map_err(|e| format!("field `{field}`: {e}"))?;
            out.push((field.to_string(), gid, v));
        }
        Ok(out)
    }

    fn record(&mut self, line: String) {
        self.journal.push(Entry {
            at: self.engine.now(),
            line,
        });
    }

    /// Runs one command line.
    pub fn execute(&mut self, line: &str) -> Result<Reply, String> {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return Ok(Reply::Text(String::new()));
        }
        let w = words(line)?;
        let name = complete::command(&w[0]).ok_or_else(|| {
            let names: Vec<&str> = complete::COMMANDS.iter().map(|(c, _)| *c).collect();
            match closest(&w[0], names) {
                Some(c) => format!(
                    "unknown command `{}`; did you mean `{c}`? (`help` lists them)",
                    w[0]
                ),
                None => format!("unknown command `{}`; `help` lists the commands", w[0]),
            }
        })?;
        let args = &w[1..];
        let need = |n: usize, usage: &str| -> Result<(), String> {
            if args.len() < n {
                Err(format!("usage: {name} {usage}"))
            } else {
                Ok(())
            }
        };
        let text = match name {
            "quit" => return Ok(Reply::Quit),
            "help" => help(args.first().map(String::as_str)),
            "contact" => {
                need(1, "ID FIELD=VALUE...")?;
                let values = self.assignments(&args[1..])?;
                let id = &args[0];
                match self.engine.contact_id(id) {
                    None => {
                        let mut fields = Fields::default();
                        fields.set(
                            self.engine.catalog().lookup("id").unwrap_or(0),
                            Some(Value::Text(id.clone())),
                        );
                        for (_, g, v) in &values {
                            fields.set(*g, v.clone());
                        }
                        if id.is_empty() {
                            return Err(
                                "a contact needs an id: `contact ann email=ann@example.test`"
                                    .into(),
                            );
                        }
                        let c = self.engine.add_contact(id, fields)?;
                        self.initial.push(self.field_list(c));
                        self.created.push(self.engine.now());
                        self.engine.evaluate_enrolment(c);
                        let out = self.settle();
                        format!("contact `{id}` created\n{out}")
                    }
                    Some(c) => {
                        let inputs = values
                            .iter()
                            .map(|(_, g, v)| Input::Set {
                                contact: c,
                                field: *g,
                                value: v.clone(),
                            })
                            .collect();
                        let notes = self.apply_all(inputs);
                        self.record(format!("set {id} {}", assign_text(&values)));
                        let out = self.settle();
                        format!("contact `{id}` updated\n{out}{}", self.notes(&notes))
                    }
                }
            }
            "set" => {
                need(2, "ID FIELD=VALUE...")?;
                let c = self.contact(&args[0])?;
                let values = self.assignments(&args[1..])?;
                let inputs = values
                    .iter()
                    .map(|(_, g, v)| Input::Set {
                        contact: c,
                        field: *g,
                        value: v.clone(),
                    })
                    .collect();
                let notes = self.apply_all(inputs);
                self.record(format!("set {} {}", args[0], assign_text(&values)));
                let out = self.settle();
                format!("{out}{}", self.notes(&notes))
            }
            "enroll" | "unenroll" => {
                need(1, "ID [CADENCE]")?;
                let c = self.contact(&args[0])?;
                let cadence = if args.len() > 1 {
                    Some(self.cadence(&args[1..].join(" "))?)
                } else {
                    None
                };
                let input = if name == "enroll" {
                    Input::Enroll {
                        contact: c,
                        cadence,
                    }
                } else {
                    Input::Unenroll {
                        contact: c,
                        cadence,
                    }
                };
                let notes = self.apply_all(vec![input]);
                let cad_text = cadence
                    .map(|i| format!(" \"{}\"", self.program.cadences[i as usize].name))
                    .unwrap_or_default();
                self.record(format!("{name} {}{cad_text}", args[0]));
                let out = self.settle();
                format!("{out}{}", self.notes(&notes))
            }
            "event" => {
                need(2, "ID EVENT [step N] [until DAY]")?;
                let c = self.contact(&args[0])?;
                let ev = &args[1];
                let key = if let Some(o) = Outcome::from_name(ev) {
                    EventKey::Outcome(o)
                } else if let Some(i) = self.program.custom_events.iter().position(|e| e == ev) {
                    EventKey::Custom(i as u32)
                } else if crate::check::Timeout::from_name(ev).is_some() {
                    return Err(format!(
                        "`{ev}` is a timeout: it fires by itself; move the clock with `advance`"
                    ));
                } else {
                    let known: Vec<&str> = Outcome::ALL
                        .iter()
                        .map(|o| o.name())
                        .chain(self.program.custom_events.iter().map(String::as_str))
                        .collect();
                    return Err(match closest(ev, known) {
                        Some(k) => format!("unknown event `{ev}`; did you mean `{k}`?"),
                        None => format!(
                            "unknown event `{ev}`; events are {}",
                            Outcome::ALL.map(|o| o.name()).join(", ")
                        ),
                    });
                };
                let step = match args.get(2).map(String::as_str) {
                    None | Some("until") => None,
                    Some("step") => {
                        let n: u32 = args.get(3).and_then(|n| n.parse().ok()).ok_or(
                            "write the step as `step N`, for example `event alice opened step 1`",
                        )?;
                        if !self
                            .program
                            .cadences
                            .iter()
                            .any(|cad| cad.step_index(n).is_some())
                        {
                            return Err(format!("there is no step {n}; `paths` shows the steps"));
                        }
                        Some(n)
                    }
                    Some(other) => {
                        return Err(format!(
                            "unexpected `{other}`; write `event ID EVENT [step N]`"
                        ))
                    }
                };
                // `until DAY`: the day an out-of-office answer says the contact is back.
                let back = match args.iter().position(|a| a == "until") {
                    None => None,
                    Some(i) if key == EventKey::Outcome(Outcome::AutoReply) => Some(
                        args.get(i + 1)
                            .and_then(|d| crate::sim::csvin::back_date(d))
                            .ok_or("write the day they are back, for example `event alice auto_reply until 2026-03-12`")?,
                    ),
                    Some(_) => return Err("`until DAY` goes with `auto_reply` only".into()),
                };
                let notes = self.apply_all(vec![Input::Event {
                    contact: c,
                    event: key,
                    step,
                    cadence: None,
                    machine: false,
                    message: None,
                    back,
                }]);
                if let [Notice::NoMessage { .. }] = notes.as_slice() {
                    self.moved = None;
                    return Err(format!(
                        "{}; `status {}` shows what it waits for",
                        self.engine.describe(&notes[0]),
                        args[0]
                    ));
                }
                let mut step_text = step.map(|n| format!(" step {n}")).unwrap_or_default();
                if let Some(d) = back {
                    step_text.push_str(&format!(" until {d}"));
                }
                self.record(format!("{} {ev}{step_text}", args[0]));
                let out = self.settle();
                format!("{out}{}", self.notes(&notes))
            }
            "pause" | "resume" => {
                need(1, "ID|cadence NAME|owner NAME [UNTIL] [catch-up]")?;
                let now = self.engine.now();
                // What is paused: a contact, a whole cadence, or an owner's calls and tasks.
                let (scope, rest) = match args[0].as_str() {
                    "cadence" | "owner" if args.len() > 1 => (Some(args[0].as_str()), &args[2..]),
                    _ => (None, &args[1..]),
                };
                let mut until = None;
                let mut catch_up = false;
                for a in rest {
                    if a.eq_ignore_ascii_case("catch-up") {
                        catch_up = true;
                    } else if name == "resume" {
                        return Err(format!("`resume` takes only `catch-up`, not `{a}`"));
                    } else if until.is_some() {
                        return Err(format!("`{a}`: the pause already has an end"));
                    } else {
                        until = Some(repl_until(a, now)?);
                    }
                }
                let what = args[..args.len() - rest.len()].join(" ");
                let out = match scope {
                    Some("owner") => {
                        if name == "pause" && until.is_none() {
                            return Err("`pause owner NAME UNTIL`: say when the owner is back (3d or an instant)".into());
                        }
                        self.engine
                            .set_owner_away(&args[1], until.filter(|_| name == "pause"));
                        self.record(format!("{name} {}", args.join(" ")));
                        let back = until
                            .map(|u| format!("; back {}", format_instant(u).replace('T', " ")))
                            .unwrap_or_default();
                        // Back early: the calls and tasks that waited fall due now.
                        let out = self.settle();
                        format!(
                            "{out}{what}: {}{back}\n",
                            if name == "pause" { "away" } else { "back" }
                        )
                    }
                    Some(_) => {
                        let c = self.cadence(&args[1])?;
                        let n = if name == "pause" {
                            self.engine.pause_cadence(now, c, until, catch_up)
                        } else {
                            self.engine.resume_cadence(now, c, catch_up)
                        };
                        self.record(format!("{name} {}", args.join(" ")));
                        let out = self.settle();
                        format!("{out}{n} contact(s) {name}d\n")
                    }
                    None => {
                        let c = self.contact(&args[0])?;
                        let input = if name == "pause" {
                            Input::Pause {
                                contact: c,
                                cadence: None,
                                until,
                                catch_up,
                            }
                        } else {
                            Input::Resume {
                                contact: c,
                                cadence: None,
                                catch_up,
                            }
                        };
                        let notes = self.apply_all(vec![input]);
                        // As a test writes it.
                        let mut line = format!("{name} {}", args[0]);
                        if let Some(u) = until {
                            line.push_str(&format!(" until {}", format_instant(u)));
                        }
                        if catch_up {
                            line.push_str(" catch-up");
                        }
                        self.record(line);
                        let out = self.settle();
                        format!("{out}{}", self.notes(&notes))
                    }
                };
                out
            }
            "advance" | "at" => {
                need(
                    1,
                    if name == "advance" {
                        "DURATION"
                    } else {
                        "INSTANT"
                    },
                )?;
                let now = self.engine.now();
                let target = if name == "advance" {
                    let d = Duration::parse(&args[0])
                        .map_err(|e| format!("{}; {}", e.message, e.help))?;
                    if d.business_days > 0 {
                        return Err(
                            "`advance` takes calendar time (30m, 2h, 3d, 1w), not business days"
                                .into(),
                        );
                    }
                    now + d.seconds
                } else {
                    match parse_date(&args[0]) {
                        Ok(DateValue::Instant(t)) => t.timestamp(),
                        _ => {
                            return Err(format!(
                            "`{}` is not an instant; write for example `at 2026-01-08T09:00:00Z`",
                            args[0]
                        ))
                        }
                    }
                };
                if target < now {
                    return Err(format!(
                        "the clock only moves forward: it is {} already",
                        format_instant(now).replace('T', " ")
                    ));
                }
                let mut out = String::new();
                let mut printed = 0;
                self.run_through(target, &mut out, &mut printed);
                more_records(&mut out, printed);
                let clock = format!("clock: {}", format_instant(target).replace('T', " "));
                if out.is_empty() {
                    format!("nothing happened; {clock}\n")
                } else {
                    format!("{out}{clock}\n")
                }
            }
            "status" => self.status(args.first().map(String::as_str))?,
            "history" => {
                need(1, "ID")?;
                let c = self.contact(&args[0])?;
                let lines: Vec<String> = self
                    .log
                    .iter()
                    .filter(|r| r.contact == c)
                    .map(|r| r.line.clone())
                    .collect();
                let kept = if self.dropped > 0 {
                    format!(
                        "note: the session keeps its first {MAX_LOG} records; {} later ones are \
                         not kept\n",
                        self.dropped
                    )
                } else {
                    String::new()
                };
                if lines.is_empty() {
                    format!("nothing has happened to `{}` yet\n{kept}", args[0])
                } else {
                    lines.join("\n") + "\n" + &kept
                }
            }
            "agenda" => self.agenda(),
            "paths" => self.paths(),
            "reload" => self.reload()?,
            "deploy" => {
                need(1, "FILE")?;
                self.deploy(&args[0])?
            }
            "save-test" => {
                need(2, "NAME FILE")?;
                self.save_test(&args[0], &args[1])?
            }
            _ => String::new(),
        };
        Ok(Reply::Text(text))
    }

    fn notes(&self, notes: &[Notice]) -> String {
        notes
            .iter()
            .map(|n| format!("note: {}\n", self.engine.describe(n)))
            .collect()
    }

    /// A step in words; for an A/B step, the variant `contact` gets (or, without a contact,
    /// every variant and its weight).
    fn step_name(&self, cadence: u32, step: u32, contact: Option<&str>) -> String {
        let cad = &self.program.cadences[cadence as usize];
        let s = &cad.steps[step as usize];
        let action = match &s.action {
            Action::Email { template, variants } if variants.is_empty() => {
                format!("email `{}`", self.program.templates[template.0].name)
            }
            Action::Email { variants, .. } => {
                match contact.and_then(|c| self.engine.core().template_for(cadence, step, c)) {
                    Some((t, v)) => format!(
                        "email `{}`, variant {} of {}",
                        self.program.templates[t.0].name,
                        crate::engine::trace::variant_letter(v),
                        variants.len()
                    ),
                    None => {
                        let list: Vec<String> = variants
                            .iter()
                            .map(|v| {
                                format!(
                                    "{} {}%",
                                    self.program.templates[v.template.0].name,
                                    crate::check::show_weight(v.weight)
                                )
                            })
                            .collect();
                        format!("email variants({})", list.join(", "))
                    }
                }
            }
            Action::Call { subject } | Action::Task { subject, .. } => {
                let what = if matches!(s.action, Action::Call { .. }) {
                    "call"
                } else {
                    "task"
                };
                let mut text = format!("{what} \"{subject}\"");
                let owner = contact
                    .and_then(|id| self.engine.contact_id(id))
                    .and_then(|c| {
                        self.engine
                            .core()
                            .owner_of(cadence, step, self.engine.contact(c))
                    });
                if let Some(o) = owner {
                    text.push_str(&format!(" for {}", crate::diagnostic::printable(&o)));
                }
                if s.priority != crate::check::Priority::Normal {
                    text.push_str(&format!(", {} priority", s.priority.name()));
                }
                text
            }
        };
        match &s.label {
            Some(l) => format!("step {} \"{l}\" ({action})", s.number),
            None => format!("step {} ({action})", s.number),
        }
    }

    fn target_text(&self, cadence: u32, t: &Target) -> String {
        match t {
            Target::Step(i) => format!(
                "step {}",
                self.program.cadences[cadence as usize].steps[*i].number
            ),
            Target::Done => "done".into(),
            Target::Exit(r) => format!("exit \"{r}\""),
        }
    }

    fn status(&self, id: Option<&str>) -> Result<String, String> {
        let filter = match id {
            Some(i) => Some(self.contact(i)?),
            None => None,
        };
        let timers = self.engine.pending_timers();
        let mut out = String::new();
        let mut ended = 0;
        for en in self.engine.enrolments() {
            if filter.is_some_and(|c| c != en.contact) {
                continue;
            }
            let who = &self.engine.contact(en.contact).id;
            let cad = if several_cadences(self.program) {
                format!(" [{}]", self.program.cadences[en.cadence as usize].name)
            } else {
                String::new()
            };
            let state = match en.phase {
                Phase::Ended => {
                    if filter.is_none() {
                        ended += 1;
                        continue;
                    }
                    let cad_name = &self.program.cadences[en.cadence as usize].name;
                    let end = self
                        .log
                        .iter()
                        .rev()
                        .find(|r| {
                            r.contact == en.contact && r.ending && r.cadence_name == *cad_name
                        })
                        .map(|r| r.what.clone())
                        .unwrap_or_else(|| "ended".into());
                    format!(
                        "{end} at {}",
                        en.ended
                            .map(format_instant)
                            .unwrap_or_default()
                            .replace('T', " ")
                    )
                }
                Phase::Pending { due, .. } => format!(
                    "{} due {}",
                    self.step_name(en.cadence, en.step, Some(who)),
                    format_instant(due).replace('T', " ")
                ),
                Phase::Waiting { exec, .. } => {
                    let cadence = &self.program.cadences[en.cadence as usize];
                    let step = &cadence.steps[en.step as usize];
                    let waits: Vec<String> = step
                        .handlers
                        .iter()
                        .enumerate()
                        .map(|(h, handler)| {
                            let target = self.target_text(en.cadence, &handler.target);
                            match handler.event {
                                HandlerEvent::Outcome(o) => format!("{} -> {target}", o.name()),
                                // Not waited for: the step has executed.
                                HandlerEvent::Skipped => format!("(if skipped -> {target})"),
                                HandlerEvent::Timeout(t, _) => {
                                    let at = timers
                                        .iter()
                                        .find(|tm| {
                                            tm.enrolment == en.id && tm.slot as usize == h + 1
                                        })
                                        .map(|tm| {
                                            format!(
                                                " at {}",
                                                format_instant(tm.due).replace('T', " ")
                                            )
                                        })
                                        .unwrap_or_else(|| {
                                            if en.held().is_some() {
                                                " (held by the pause)".into()
                                            } else {
                                                " (already answered)".into()
                                            }
                                        });
                                    format!("{}{at} -> {target}", t.name())
                                }
                            }
                        })
                        .collect();
                    let at = en.execs[exec as usize].at;
                    // A call or task with a deadline says when it is due.
                    let due = if step.due.is_some() {
                        let due = self.engine.core().task_due(
                            en.cadence,
                            en.step,
                            self.engine.contact(en.contact),
                            at,
                        );
                        format!(", due {}", format_instant(due).replace('T', " "))
                    } else {
                        String::new()
                    };
                    format!(
                        "{} executed {}{due}; waiting for: {}",
                        self.step_name(en.cadence, en.step, Some(who)),
                        format_instant(at).replace('T', " "),
                        waits.join(", ")
                    )
                }
            };
            let state = match en.held() {
                Some(h) => format!(
                    "PAUSED{}: {state}",
                    h.until
                        .map(|u| format!(" until {}", format_instant(u).replace('T', " ")))
                        .unwrap_or_default()
                ),
                None => state,
            };
            out.push_str(&format!("{who}{cad}  {state}\n"));
        }
        if out.is_empty() {
            out = match id {
                Some(i) => {
                    format!("`{i}` is not enrolled in any cadence; `enroll {i}` enrols it\n")
                }
                None => "no active enrolment; `enroll ID` starts one\n".into(),
            };
        }
        if ended > 0 {
            out.push_str(&format!("({ended} ended; `status ID` shows them)\n"));
        }
        out.push_str(&format!(
            "clock: {}\n",
            format_instant(self.engine.now()).replace('T', " ")
        ));
        Ok(out)
    }

    fn agenda(&self) -> String {
        let timers = self.engine.pending_timers();
        if timers.is_empty() {
            return "nothing is due: every enrolment has ended or waits for an event\n".into();
        }
        let mut out = String::new();
        for t in timers.iter().take(50) {
            let en = self.engine.enrolment(t.enrolment);
            let who = &self.engine.contact(en.contact).id;
            let cadence = &self.program.cadences[en.cadence as usize];
            let cad = if several_cadences(self.program) {
                format!(" [{}]", cadence.name)
            } else {
                String::new()
            };
            let what = if t.slot == crate::engine::RESUME_SLOT {
                format!(
                    "resumes at {}",
                    self.step_name(en.cadence, en.step, Some(who))
                )
            } else if t.slot == 0 {
                format!("{} due", self.step_name(en.cadence, en.step, Some(who)))
            } else {
                let h = &cadence.steps[en.step as usize].handlers[t.slot as usize - 1];
                let name = h.event.name();
                format!(
                    "step {}: {name} -> {} unless it happens first",
                    cadence.steps[en.step as usize].number,
                    self.target_text(en.cadence, &h.target)
                )
            };
            out.push_str(&format!(
                "{}  {who}{cad}  {what}\n",
                format_instant(t.due).replace('T', " ")
            ));
        }
        if timers.len() > 50 {
            out.push_str(&format!("... and {} more\n", timers.len() - 50));
        }
        out
    }

    fn paths(&self) -> String {
        let mut out = String::new();
        for (ci, c) in self.program.cadences.iter().enumerate() {
            out.push_str(&format!("\"{}\"\n", c.name));
            for r in &c.exits {
                out.push_str(&format!(
                    "  exit \"{}\" ({})\n",
                    r.name,
                    trigger_text(self.program, &r.trigger)
                ));
            }
            for r in &c.goals {
                out.push_str(&format!(
                    "  goal \"{}\" ({})\n",
                    r.name,
                    trigger_text(self.program, &r.trigger)
                ));
            }
            for (si, s) in c.steps.iter().enumerate() {
                let mut timing = Vec::new();
                if !s.after.is_zero() {
                    timing.push(format!("after {}", s.after));
                }
                match &s.at {
                    Some(At::Cron(cron)) => timing.push(format!("at \"{}\"", cron.source())),
                    Some(At::Field {
                        field,
                        offset,
                        negative,
                    }) => timing.push(format!(
                        "at {} {} {}",
                        c.schema.field(*field).name,
                        if *negative { "-" } else { "+" },
                        offset
                    )),
                    None => {}
                }
                if s.guard.is_some() {
                    timing.push("if ...".into());
                }
                out.push_str(&format!(
                    "  {}{}\n",
                    self.step_name(ci as u32, si as u32, None),
                    if timing.is_empty() {
                        String::new()
                    } else {
                        format!(" {}", timing.join(" "))
                    }
                ));
                for h in &s.handlers {
                    let ev = match &h.event {
                        HandlerEvent::Timeout(t, d) => format!("{} {d}", t.name()),
                        e => e.name().to_string(),
                    };
                    out.push_str(&format!(
                        "    on {ev} -> {}\n",
                        self.target_text(ci as u32, &h.target)
                    ));
                }
                if !s.waits() {
                    let next = match &s.next {
                        Target::Step(i) => format!("then step {}", c.steps[*i].number),
                        _ => "then the enrolment completes".into(),
                    };
                    out.push_str(&format!("    {next}\n"));
                }
            }
        }
        out
    }

    fn reload(&mut self) -> Result<String, String> {
        let (new, new_hashes) = load_program(&self.paths)?;
        let old = self.program;
        let old_cat = self.engine.catalog().clone();
        let mut snap: Snapshot = self.engine.snapshot();
        let probe = Engine::new(new);
        let new_cat = probe.catalog().clone();
        let mut report = Vec::new();
        // Fields by name.
        for c in &mut snap.contacts {
            c.fields = new_cat.translate(&c.fields, &old_cat);
            c.enroll_cond = new
                .cadences
                .iter()
                .map(|nc| {
                    old.cadence_by_name(&nc.name)
                        .map(|oi| c.enroll_cond.get(oi).copied().unwrap_or(false))
                        .unwrap_or(false)
                })
                .collect();
        }
        let now = self.engine.now();
        let mut kept = 0;
        // Enrolments in a cadence that is gone are dropped (the rest are numbered again, in
        // their order).
        let mut order: Vec<(crate::engine::EnrolmentId, usize, usize)> = snap
            .contacts
            .iter()
            .enumerate()
            .flat_map(|(ci, c)| {
                c.enrolments
                    .iter()
                    .enumerate()
                    .map(move |(li, en)| (en.id, ci, li))
            })
            .collect();
        order.sort();
        let mut gone = std::collections::HashSet::new();
        for &(_, ci, li) in &order {
            let who = snap.contacts[ci].id.clone();
            let en = &mut snap.contacts[ci].enrolments[li];
            let old_cad = &old.cadences[en.cadence as usize];
            let Some(nci) = new.cadence_by_name(&old_cad.name) else {
                if en.phase != Phase::Ended {
                    report.push(format!(
                        "{who}: cadence \"{}\" is gone; its enrolment ended",
                        old_cad.name
                    ));
                }
                gone.insert((ci, li));
                continue;
            };
            let ncad = &new.cadences[nci];
            let number = old_cad.steps[en.step as usize].number;
            let mut map = HashMap::new();
            let mut execs = Vec::new();
            for (x, ex) in en.execs.iter().enumerate() {
                if let Some(ni) = ncad.step_index(old_cad.steps[ex.step as usize].number) {
                    map.insert(x as u32, execs.len() as u32);
                    execs.push(crate::engine::Exec {
                        step: ni as u32,
                        ..*ex
                    });
                }
            }
            en.execs = execs;
            en.cadence = nci as u32;
            match ncad.step_index(number) {
                Some(ni) => {
                    en.step = ni as u32;
                    if let Phase::Waiting { exec, armed } = en.phase {
                        match map.get(&exec) {
                            Some(&nx) => en.phase = Phase::Waiting { exec: nx, armed },
                            None => en.phase = Phase::Ended,
                        }
                    }
                    if en.phase != Phase::Ended {
                        kept += 1;
                    }
                }
                None => {
                    if en.phase != Phase::Ended {
                        report.push(format!(
                            "{who} was at step {number} of \"{}\", which no longer exists: its enrolment ended",
                            ncad.name
                        ));
                    }
                    en.phase = Phase::Ended;
                    en.ended.get_or_insert(now);
                    en.step = 0;
                }
            }
        }
        let mut next = 0;
        for &(_, ci, li) in &order {
            if !gone.contains(&(ci, li)) {
                snap.contacts[ci].enrolments[li].id = next;
                next += 1;
            }
        }
        for (ci, c) in snap.contacts.iter_mut().enumerate() {
            let mut li = 0;
            c.enrolments.retain(|_| {
                li += 1;
                !gone.contains(&(ci, li - 1))
            });
        }
        snap.next_enrolment = next;
        snap.sent.clear();
        // Paused cadences, by name; an ended enrolment is not paused.
        snap.paused = snap
            .paused
            .iter()
            .filter_map(|&(c, h)| {
                let name = &old.cadences.get(c as usize)?.name;
                Some((new.cadence_by_name(name)? as u32, h))
            })
            .collect();
        for c in &mut snap.contacts {
            for en in &mut c.enrolments {
                if en.phase == Phase::Ended {
                    en.pause = None;
                }
            }
        }
        let mut engine = Engine::restore(new, snap);
        engine.rebuild_timers();
        self.engine = engine;
        self.program = new;
        self.hashes = new_hashes;
        let out = self.flush();
        let mut text = format!(
            "reloaded {}: {kept} active enrolment{} kept\n",
            self.paths.join(", "),
            if kept == 1 { "" } else { "s" }
        );
        for r in report {
            text.push_str(&format!("note: {r}\n"));
        }
        text.push_str(&out);
        Ok(text)
    }

    /// `deploy FILE`: FILE is a new version of one of the session's cadences (the same
    /// `cadence` name), in place of the file that defined it. As `cadence deploy` does, the
    /// session's enrolments stay on the version they are on, unless the new version has a
    /// `migrate` block: then they move into it. Refused, with the session unchanged, when that
    /// would strand contacts at a step that is gone and not mapped.
    fn deploy(&mut self, file: &str) -> Result<String, String> {
        let paths = crate::cli::input::with_new_version(&self.paths, self.program, file)?;
        let (new, new_hashes) = load_program(&paths)?;
        let n = new.cadences.len();
        let d = self
            .engine
            .prepare_deploy(new, &self.hashes, &new_hashes)
            .map_err(|stranded| {
                format!(
                    "deploying {file} would strand {}: the new version has no such step and its `migrate` block does not map it; add `step N -> ...` lines (nothing was changed)",
                    crate::sim::stranded_summary(&stranded)
                )
            })?;
        let (hashes, apply) = (d.hashes, d.apply);
        let combined: &'static Program = Box::leak(Box::new(d.program));
        let (family, current, snap) = (d.family, d.current, d.snapshot);
        let mut engine = Engine::restore_versions(combined, family, current, snap);
        let moved = engine.migrate_all(&hashes, &apply);
        self.hashes = hashes;
        self.engine = engine;
        self.program = combined;
        self.paths = paths;
        let full = std::fs::canonicalize(file)
            .map_or_else(|_| file.to_string(), |p| p.display().to_string());
        self.record(format!("deploy {}", crate::fmt::quote(&full)));
        let out = self.flush();
        Ok(format!(
            "deployed {file}: {moved} contact{} moved into the new version{}\n{out}",
            if moved == 1 { "" } else { "s" },
            if combined.cadences[..n].iter().any(|c| c.migration.is_some()) {
                ""
            } else {
                " (it has no `migrate` block: enrolments finish on their version)"
            }
        ))
    }

    fn save_test(&mut self, name: &str, file: &str) -> Result<String, String> {
        if self.dropped > 0 {
            return Err(format!(
                "the session has more than {MAX_LOG} records, too many for a test; restart the \
                 REPL and save a shorter story (a looping cadence: `advance` less at a time)"
            ));
        }
        // Contacts that took part.
        let mut who: Vec<u32> = Vec::new();
        for r in &self.log {
            if !who.contains(&r.contact) {
                who.push(r.contact);
            }
        }
        for e in &self.journal {
            if let Some(id) = e
                .line
                .split_whitespace()
                .nth(1)
                .or_else(|| e.line.split_whitespace().next())
            {
                if let Some(c) = self.engine.contact_id(id) {
                    if !who.contains(&c) {
                        who.push(c);
                    }
                }
            }
        }
        if who.is_empty() {
            return Err(
                "nothing has happened yet: enrol a contact and move the clock first".into(),
            );
        }
        if let Some(bad) = who
            .iter()
            .map(|&c| &self.engine.contact(c).id)
            .find(|id| !is_ident(id))
        {
            return Err(format!(
                "contact id `{bad}` cannot be written in a test (ids there are letters, digits and `_`)"
            ));
        }
        let mut t = format!("\ntest {} {{\n", crate::fmt::quote(name));
        // Contacts created during the session exist in the test from its start without fields,
        // and get them at the time they were created (so their enrolment happens then).
        let mut inputs: Vec<(i64, String)> = Vec::new();
        for &c in &who {
            let id = &self.engine.contact(c).id;
            let fields: Vec<String> = self
                .initial
                .get(c as usize)
                .map(|f| {
                    f.iter()
                        .filter(|(n, _)| n != "id")
                        .map(|(n, v)| format!("{n} = {}", literal(v)))
                        .collect()
                })
                .unwrap_or_default();
            let created = self.created.get(c as usize).copied().unwrap_or(self.start);
            if created > self.start && !fields.is_empty() {
                t.push_str(&format!("  contact {id}\n"));
                inputs.push((created, format!("set {id} {}", fields.join(" "))));
            } else {
                let sep = if fields.is_empty() { "" } else { " " };
                t.push_str(&format!("  contact {id}{sep}{}\n", fields.join(" ")));
            }
        }
        // A record's fields come before what is done to it at the same instant.
        inputs.extend(self.journal.iter().map(|e| (e.at, e.line.clone())));
        inputs.sort_by_key(|(at, _)| *at);
        // The test starts where the session did when something happened then.
        let first_input = inputs.first().map(|(at, _)| *at);
        if self.log.iter().any(|r| r.at == self.start) && first_input != Some(self.start) {
            t.push_str(&format!("  start {}\n", format_instant(self.start)));
        }
        let dir = std::path::Path::new(file)
            .parent()
            .map(|d| {
                std::fs::canonicalize(if d.as_os_str().is_empty() {
                    std::path::Path::new(".")
                } else {
                    d
                })
            })
            .transpose()
            .map_err(|e| format!("cannot find the folder of `{file}`: {e}"))?;
        for (at, line) in &inputs {
            let line = saved_line(line, dir.as_deref())?;
            t.push_str(&format!("  at {}: {line}\n", format_instant(*at)));
        }
        t.push_str(&format!("  until {}\n", format_instant(self.engine.now())));
        for &c in &who {
            let id = self.engine.contact(c).id.clone();
            for r in self.log.iter().filter(|r| r.contact == c) {
                if let Some(line) = &r.expect {
                    t.push_str(&format!("  expect {id} {line}\n"));
                }
            }
            let active = self
                .engine
                .contact(c)
                .enrolments
                .iter()
                .rev()
                .find_map(|en| {
                    (en.phase != Phase::Ended).then(|| {
                        self.program.cadences[en.cadence as usize].steps[en.step as usize].number
                    })
                });
            if let Some(n) = active {
                t.push_str(&format!("  expect {id} at step {n}\n"));
            }
        }
        t.push_str("}\n");
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(file)
            .map_err(|e| format!("cannot write `{file}`: {e}"))?;
        f.write_all(t.as_bytes())
            .map_err(|e| format!("cannot write `{file}`: {e}"))?;
        // The test needs the cadences it is about: the files of the session, and the file
        // written unless it is one of them.
        let same = |p: &str| {
            let canon = |x: &str| std::fs::canonicalize(x).unwrap_or_else(|_| x.into());
            canon(p) == canon(file)
        };
        let mut args: Vec<String> = self.first_paths.iter().map(|p| shell_word(p)).collect();
        if !self.first_paths.iter().any(|p| same(p)) {
            args.push(shell_word(file));
        }
        Ok(format!(
            "appended test {name:?} to {file} ({} contacts); run it with `cadence test {}`\n",
            who.len(),
            args.join(" ")
        ))
    }

    /// What tab completion can offer now.
    pub fn known(&self) -> Known {
        let all_events: Vec<String> = Outcome::ALL
            .iter()
            .map(|o| o.name().to_string())
            .chain(self.program.custom_events.iter().cloned())
            .collect();
        let events = self
            .engine
            .contacts()
            .iter()
            .filter_map(|c| {
                let mut ev: Vec<String> = Vec::new();
                for en in &c.enrolments {
                    if let Phase::Waiting { .. } = en.phase {
                        let ch = self.program.cadences[en.cadence as usize].steps[en.step as usize]
                            .action
                            .channel();
                        ev.extend(
                            Outcome::ALL
                                .iter()
                                .filter(|o| o.fits(ch))
                                .map(|o| o.name().to_string()),
                        );
                        ev.extend(self.program.custom_events.iter().cloned());
                    }
                }
                (!ev.is_empty()).then(|| (c.id.clone(), ev))
            })
            .collect();
        Known {
            contacts: self
                .engine
                .contacts()
                .iter()
                .map(|c| c.id.clone())
                .collect(),
            cadences: self
                .program
                .cadences
                .iter()
                .map(|c| c.name.clone())
                .collect(),
            fields: self.engine.catalog().names.clone(),
            events,
            all_events,
        }
    }
}

/// `field = value ...` as a test writes it (`""` unsets).
/// Says how many records a command did not print.
fn more_records(out: &mut String, printed: usize) {
    if printed > MAX_PRINTED {
        out.push_str(&format!(
            "... and {} more records (`history ID` shows a contact's)\n",
            printed - MAX_PRINTED
        ));
    }
}

fn assign_text(values: &[(String, u16, Option<Value>)]) -> String {
    values
        .iter()
        .map(|(n, _, v)| match v {
            Some(v) => format!("{n} = {}", literal(v)),
            None => format!("{n} = \"\""),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether an id can be written in a test (`contact ID ...`).
fn is_ident(s: &str) -> bool {
    s.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn trigger_text(program: &Program, t: &crate::check::EndTrigger) -> String {
    match t {
        crate::check::EndTrigger::Event(crate::check::EventName::Outcome(o)) => {
            format!("on {}", o.name())
        }
        crate::check::EndTrigger::Event(crate::check::EventName::Custom(i)) => {
            format!("on {}", program.custom_events[*i])
        }
        crate::check::EndTrigger::When(_) => "when its condition holds".into(),
    }
}

/// A line of the session as a test writes it: a deployed file relative to the test file's
/// folder; a pause of a whole cadence or an owner cannot be written in a test.
fn saved_line(line: &str, dir: Option<&std::path::Path>) -> Result<String, String> {
    if let Some(rest) = line.strip_prefix("deploy ") {
        let path = rest.trim_matches('"');
        let rel = dir
            .and_then(|d| std::path::Path::new(path).strip_prefix(d).ok())
            .ok_or_else(|| {
                format!("the session deployed `{path}`, outside the test file's folder: a test deploys files beside it or below it; save the test next to the new version")
            })?;
        return Ok(format!(
            "deploy {}",
            crate::fmt::quote(&rel.display().to_string())
        ));
    }
    if line.starts_with("pause cadence ")
        || line.starts_with("pause owner ")
        || line.starts_with("resume cadence ")
        || line.starts_with("resume owner ")
    {
        return Err(format!(
            "`{line}`: a test pauses contacts only (`pause ID`), not a whole cadence or an owner"
        ));
    }
    Ok(line.to_string())
}

/// When a pause typed in the REPL ends: a duration from now (`3d`) or an instant.
fn repl_until(text: &str, now: i64) -> Result<i64, String> {
    if let Ok(DateValue::Instant(t)) = parse_date(text) {
        if t.timestamp() <= now {
            return Err(format!(
                "the pause would end at {}, which is not after the clock ({}): give a later end",
                format_instant(t.timestamp()),
                format_instant(now)
            ));
        }
        return Ok(t.timestamp());
    }
    match Duration::parse(text) {
        Ok(d) if d.business_days == 0 => Ok(now + d.seconds),
        _ => Err(format!(
            "`{text}` is not a duration (3d) or an instant (2026-01-08T09:00:00Z): when the pause ends"
        )),
    }
}

fn help(cmd: Option<&str>) -> String {
    let mut out = String::new();
    for (c, usage) in complete::COMMANDS {
        if cmd.is_some_and(|x| complete::command(x) != Some(c)) {
            continue;
        }
        out.push_str(&format!("  {c} {usage}\n"));
    }
    if out.is_empty() {
        return format!(
            "no command `{}`; `help` lists them\n",
            cmd.unwrap_or_default()
        );
    }
    if cmd.is_none() {
        out.push_str("Values with spaces go in quotes: contact ann first_name=\"Ann Lee\". Tab completes\ncommands, contacts, cadences, fields and the events a contact's step can receive.\n");
    }
    out
}

/// A path as one word of a shell command: quoted when it holds anything but the usual
/// characters of a path.
fn shell_word(p: &str) -> String {
    if !p.is_empty()
        && p.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:@%,".contains(c))
    {
        p.to_string()
    } else {
        format!("'{}'", p.replace('\'', "'\\''"))
    }
}
