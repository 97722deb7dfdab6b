//! The interpreter core: a pure, deterministic state machine. It takes the checked program,
//! contacts, inputs (enrolments, events, field changes) and the time, and produces trace
//! records. No I/O, no wall clock, no randomness: the simulator, the REPL and the tests are thin
//! drivers around it.
//!
//! Hot-path data is dense: contacts, enrolments, steps and fields are integer ids; timers sit in
//! a binary heap keyed by (due, enrolment order, step, slot), which is exactly the order the
//! language specifies for things due at the same instant.

pub mod calendar;
mod eval;
pub(crate) mod hash;
pub mod state;
pub mod trace;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::str::FromStr;

use chrono::Datelike;
use chrono_tz::Tz;

use crate::check::{
    Action, At, Channel, EndTrigger, EventName, HandlerEvent, Outcome, Program, Step, Target,
    Timeout, Type, Value, Zone,
};
pub use calendar::format_instant;
use calendar::{add, date_instant, day_start, local_date, next_window, sub};
use eval::{truth, Ctx};
use hash::FastHash;
pub use state::{
    Contact, ContactId, Enrolment, EnrolmentId, Exec, Fields, LastExec, Phase, Snapshot, Timer,
};
pub use trace::{EventKey, ExitReason, Kind, Record, SkipReason, To};

/// Every field of every cadence of a program, with one global id per name.
#[derive(Debug, Clone)]
pub struct Catalog {
    pub names: Vec<String>,
    pub types: Vec<Type>,
    index: HashMap<String, u16, FastHash>,
    /// Per cadence: schema field index -> global id.
    pub maps: Vec<Vec<u16>>,
}

impl Catalog {
    pub fn new(program: &Program) -> Catalog {
        let mut c = Catalog {
            names: Vec::new(),
            types: Vec::new(),
            index: HashMap::default(),
            maps: Vec::new(),
        };
        for cadence in &program.cadences {
            let mut map = Vec::new();
            for f in &cadence.schema.fields {
                let gid = match c.index.get(&f.name) {
                    Some(g) => *g,
                    None => {
                        let g = c.names.len() as u16;
                        c.index.insert(f.name.clone(), g);
                        c.names.push(f.name.clone());
                        c.types.push(f.ty.clone());
                        g
                    }
                };
                map.push(gid);
            }
            c.maps.push(map);
        }
        c
    }

    pub fn lookup(&self, name: &str) -> Option<u16> {
        self.index.get(name).copied()
    }
}

/// An input to the engine, at a time given with it.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// Enrol in one cadence, or (None) in every cadence.
    Enroll {
        contact: ContactId,
        cadence: Option<u32>,
    },
    Unenroll {
        contact: ContactId,
        cadence: Option<u32>,
    },
    /// An outcome or custom event; `step` is a step number as written.
    Event {
        contact: ContactId,
        event: EventKey,
        step: Option<u32>,
        cadence: Option<u32>,
    },
    /// A field change (`None` unsets it).
    Set {
        contact: ContactId,
        field: u16,
        value: Option<Value>,
    },
}

/// How many times one enrolment may jump back to an earlier step at a single instant before it
/// is stopped (a loop in which no time passes).
const MAX_SPINS: u32 = 1_000;

#[derive(Debug, Clone, Copy)]
enum RuleRef {
    Exit(u32),
    Goal(u32),
}

/// The interpreter.
pub struct Engine<'p> {
    program: &'p Program,
    catalog: Catalog,
    /// Per cadence: exit and goal rules in the order written.
    rules: Vec<Vec<(RuleRef, usize)>>,
    /// Per cadence, per step: sender id for the daily limit.
    senders: Vec<Vec<u32>>,
    /// Per cadence: the global id of the field email steps send to.
    email_gid: Vec<Option<u16>>,
    contacts: Vec<Contact>,
    index: HashMap<String, ContactId, FastHash>,
    enrolments: Vec<Enrolment>,
    spins: Vec<(i64, u32)>,
    timers: BinaryHeap<Reverse<Timer>>,
    sent: HashMap<(u32, u32, i64), u32>,
    /// Executions so far (orders executions of one instant).
    exec_seq: u64,
    now: i64,
    out: Vec<Record>,
}

impl<'p> Engine<'p> {
    pub fn new(program: &'p Program) -> Engine<'p> {
        let catalog = Catalog::new(program);
        let mut rules = Vec::new();
        let mut senders = Vec::new();
        let mut sender_ids: HashMap<String, u32> = HashMap::new();
        for c in &program.cadences {
            let mut r: Vec<(RuleRef, usize)> = c
                .exits
                .iter()
                .enumerate()
                .map(|(i, e)| (RuleRef::Exit(i as u32), e.span.start))
                .chain(
                    c.goals
                        .iter()
                        .enumerate()
                        .map(|(i, g)| (RuleRef::Goal(i as u32), g.span.start)),
                )
                .collect();
            r.sort_by_key(|(_, at)| *at);
            rules.push(r);
            let s = c
                .steps
                .iter()
                .map(|s| {
                    let from = s
                        .from
                        .clone()
                        .or_else(|| c.from.clone())
                        .unwrap_or_default();
                    let n = sender_ids.len() as u32;
                    *sender_ids.entry(from).or_insert(n)
                })
                .collect();
            senders.push(s);
        }
        let email_gid = program
            .cadences
            .iter()
            .enumerate()
            .map(|(i, c)| c.schema.email_field().map(|f| catalog.maps[i][f.0]))
            .collect();
        Engine {
            program,
            catalog,
            rules,
            senders,
            email_gid,
            contacts: Vec::new(),
            index: HashMap::default(),
            enrolments: Vec::new(),
            spins: Vec::new(),
            timers: BinaryHeap::new(),
            sent: HashMap::new(),
            exec_seq: 0,
            now: 0,
            out: Vec::new(),
        }
    }

    pub fn program(&self) -> &'p Program {
        self.program
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    pub fn now(&self) -> i64 {
        self.now
    }

    /// Sets the clock (only forwards) without running anything.
    pub fn set_clock(&mut self, t: i64) {
        self.now = self.now.max(t);
    }

    pub fn contact_id(&self, id: &str) -> Option<ContactId> {
        self.index.get(id).copied()
    }

    pub fn contact(&self, id: ContactId) -> &Contact {
        &self.contacts[id as usize]
    }

    pub fn contacts(&self) -> &[Contact] {
        &self.contacts
    }

    pub fn enrolments(&self) -> &[Enrolment] {
        &self.enrolments
    }

    /// Adds a record. Its `enroll when` rules are evaluated by [`Engine::start`] or
    /// [`Engine::evaluate_enrolment`].
    pub fn add_contact(&mut self, id: &str, fields: Fields) -> Result<ContactId, String> {
        if self.index.contains_key(id) {
            return Err(format!("contact `{id}` is defined twice"));
        }
        let cid = self.contacts.len() as ContactId;
        self.index.insert(id.to_string(), cid);
        self.contacts.push(Contact {
            id: id.to_string(),
            fields,
            unsubscribed: false,
            bounced: None,
            enrolments: Vec::new(),
            enroll_cond: vec![false; self.program.cadences.len()],
            last_exec: [None; 3],
        });
        Ok(cid)
    }

    /// Starts the clock at `t` and enrols every record whose `enroll when` holds.
    pub fn start(&mut self, t: i64) {
        self.now = t;
        for c in 0..self.contacts.len() {
            self.evaluate_enrolment(c as ContactId);
        }
    }

    /// Enrols the contact in every cadence whose `enroll when` has become true.
    pub fn evaluate_enrolment(&mut self, contact: ContactId) {
        for cad in 0..self.program.cadences.len() {
            let Some(cond) = &self.program.cadences[cad].enroll else {
                continue;
            };
            let tz = self.zone(cad as u32, contact);
            let holds = {
                let cx = self.ctx(cad as u32, contact, tz);
                truth(cond, &cx)
            };
            let was =
                std::mem::replace(&mut self.contacts[contact as usize].enroll_cond[cad], holds);
            if holds && !was {
                let _ = self.enroll(contact, cad as u32);
            }
        }
    }

    /// Takes the records produced so far.
    pub fn take_records(&mut self) -> Vec<Record> {
        std::mem::take(&mut self.out)
    }

    /// The records produced so far, without taking them.
    pub fn records(&self) -> &[Record] {
        &self.out
    }

    /// The due time of the next live timer.
    pub fn next_due(&mut self) -> Option<i64> {
        while let Some(Reverse(t)) = self.timers.peek() {
            if self.is_live(t) {
                return Some(t.due);
            }
            self.timers.pop();
        }
        None
    }

    /// Live timers, in firing order (for status and agenda views).
    pub fn pending_timers(&self) -> Vec<Timer> {
        let mut v: Vec<Timer> = self
            .timers
            .iter()
            .map(|r| r.0)
            .filter(|t| self.is_live(t))
            .collect();
        v.sort();
        v
    }

    fn is_live(&self, t: &Timer) -> bool {
        let e = &self.enrolments[t.enrolment as usize];
        e.is_active() && e.generation == t.generation
    }

    /// Runs every timer due before `t` (and at `t` when `inclusive`), then sets the clock to `t`.
    pub fn run_until(&mut self, t: i64, inclusive: bool) {
        while let Some(due) = self.next_due() {
            if due > t || (due == t && !inclusive) {
                break;
            }
            let Some(Reverse(timer)) = self.timers.pop() else {
                break;
            };
            self.now = self.now.max(timer.due);
            self.fire(timer);
        }
        self.now = self.now.max(t);
    }

    /// Runs every timer there is (a cadence always ends, or waits for an event).
    pub fn run_to_end(&mut self) {
        while let Some(due) = self.next_due() {
            self.run_until(due, true);
        }
    }

    /// Applies an input at `at` (timers due before it run first). Returns notices: inputs that
    /// were accepted but changed nothing, with the reason ([`Engine::describe`] words them).
    pub fn apply(&mut self, at: i64, input: &Input) -> Vec<Notice> {
        self.run_until(at, false);
        self.now = self.now.max(at);
        let mut notes = Vec::new();
        match *input {
            Input::Enroll { contact, cadence } => {
                let cads: Vec<u32> = match cadence {
                    Some(c) => vec![c],
                    None => (0..self.program.cadences.len() as u32).collect(),
                };
                for c in cads {
                    if let Err(e) = self.enroll(contact, c) {
                        notes.push(e);
                    }
                }
            }
            Input::Unenroll { contact, cadence } => {
                let active: Vec<EnrolmentId> = self.active_of(contact, cadence);
                if active.is_empty() {
                    notes.push(Notice::NotEnrolled { contact, cadence });
                }
                for e in active {
                    self.end(
                        e,
                        Kind::Exited {
                            reason: ExitReason::Unenrolled,
                        },
                    );
                }
            }
            Input::Event {
                contact,
                event,
                step,
                cadence,
            } => self.event(contact, event, step, cadence, &mut notes),
            Input::Set {
                contact,
                field,
                ref value,
            } => self.set(contact, field, value.clone()),
        }
        notes
    }

    fn in_cadence(&self, cadence: Option<u32>) -> String {
        match cadence {
            Some(c) => format!(" in \"{}\"", self.program.cadences[c as usize].name),
            None => String::new(),
        }
    }

    fn active_of(&self, contact: ContactId, cadence: Option<u32>) -> Vec<EnrolmentId> {
        self.contacts[contact as usize]
            .enrolments
            .iter()
            .copied()
            .filter(|&e| {
                let en = &self.enrolments[e as usize];
                en.is_active() && cadence.is_none_or(|c| c == en.cadence)
            })
            .collect()
    }

    // ---- time and values --------------------------------------------------------------------

    /// The zone of a cadence for a contact.
    pub fn zone(&self, cadence: u32, contact: ContactId) -> Tz {
        match &self.program.cadences[cadence as usize].zone {
            Zone::Fixed(tz) => *tz,
            Zone::Field { field, default } => {
                let gid = self.catalog.maps[cadence as usize][field.0];
                match self.contacts[contact as usize].fields.get(gid) {
                    Some(Value::Text(s)) => Tz::from_str(s).unwrap_or(*default),
                    _ => *default,
                }
            }
        }
    }

    fn ctx(&self, cadence: u32, contact: ContactId, tz: Tz) -> Ctx<'_> {
        Ctx {
            fields: &self.contacts[contact as usize].fields,
            map: &self.catalog.maps[cadence as usize],
            now: self.now,
            tz,
            holidays: &self.program.cadences[cadence as usize].holidays,
        }
    }

    fn emit(&mut self, e: EnrolmentId, kind: Kind) {
        let en = &self.enrolments[e as usize];
        self.out.push(Record {
            at: self.now,
            contact: en.contact,
            cadence: en.cadence,
            kind,
        });
    }

    fn step_of(&self, e: EnrolmentId) -> &'p Step {
        let en = &self.enrolments[e as usize];
        &self.program.cadences[en.cadence as usize].steps[en.step as usize]
    }

    // ---- enrolment ----------------------------------------------------------------------------

    /// Enrols a contact in a cadence now; `Err` says why it cannot be.
    pub fn enroll(&mut self, contact: ContactId, cadence: u32) -> Result<EnrolmentId, Notice> {
        let cad = &self.program.cadences[cadence as usize];
        let c = &self.contacts[contact as usize];
        let last = c
            .enrolments
            .iter()
            .rev()
            .find(|&&e| self.enrolments[e as usize].cadence == cadence)
            .map(|&e| &self.enrolments[e as usize]);
        if let Some(prev) = last {
            if prev.is_active() {
                return Err(Notice::AlreadyEnrolled {
                    contact,
                    cadence,
                    step: cad.steps[prev.step as usize].number,
                });
            }
            match cad.reenroll {
                None => return Err(Notice::EnrolledBefore { contact, cadence }),
                Some(d) => {
                    let tz = self.zone(cadence, contact);
                    let from = add(prev.started, d, tz, &cad.holidays);
                    if self.now < from {
                        return Err(Notice::ReenrolFrom {
                            contact,
                            cadence,
                            from,
                        });
                    }
                }
            }
        }
        let id = self.enrolments.len() as EnrolmentId;
        self.enrolments.push(Enrolment {
            contact,
            cadence,
            started: self.now,
            ended: None,
            step: 0,
            phase: Phase::Pending {
                entered: self.now,
                due: self.now,
                since: self.now,
            },
            generation: 0,
            execs: Vec::new(),
        });
        self.spins.push((i64::MIN, 0));
        self.contacts[contact as usize].enrolments.push(id);
        self.emit(id, Kind::Enrolled);
        if cad.steps.is_empty() {
            self.end(id, Kind::Completed);
        } else {
            self.enter(id, 0);
        }
        Ok(id)
    }

    fn end(&mut self, e: EnrolmentId, kind: Kind) {
        self.emit(e, kind);
        let now = self.now;
        let en = &mut self.enrolments[e as usize];
        en.phase = Phase::Ended;
        en.ended = Some(now);
        en.generation = en.generation.wrapping_add(1);
    }

    /// Enters step `i` now: computes its due time, or skips it (and the ones after it that are
    /// skipped too).
    fn enter(&mut self, e: EnrolmentId, mut i: u32) {
        loop {
            let en = &mut self.enrolments[e as usize];
            en.step = i;
            en.generation = en.generation.wrapping_add(1);
            let entered = self.now;
            match self.due_time(e, entered) {
                Ok(due) => {
                    self.schedule(e, due, entered);
                    return;
                }
                Err(reason) => {
                    self.emit(e, Kind::Skipped { step: i, reason });
                    match self.step_of(e).next {
                        Target::Step(j) => i = j as u32,
                        _ => {
                            self.end(e, Kind::Completed);
                            return;
                        }
                    }
                }
            }
        }
    }

    fn schedule(&mut self, e: EnrolmentId, due: i64, entered: i64) {
        self.schedule_since(e, due, entered, due);
    }

    fn schedule_since(&mut self, e: EnrolmentId, due: i64, entered: i64, since: i64) {
        let en = &mut self.enrolments[e as usize];
        en.phase = Phase::Pending {
            entered,
            due,
            since,
        };
        self.timers.push(Reverse(Timer {
            due,
            since,
            enrolment: e,
            step: en.step,
            slot: 0,
            generation: en.generation,
        }));
    }

    /// When the current step of `e`, entered at `entered`, is due.
    fn due_time(&self, e: EnrolmentId, entered: i64) -> Result<i64, SkipReason> {
        let en = &self.enrolments[e as usize];
        let cad = &self.program.cadences[en.cadence as usize];
        let step = &cad.steps[en.step as usize];
        let tz = self.zone(en.cadence, en.contact);
        let mut due = add(entered, step.after, tz, &cad.holidays);
        match &step.at {
            None => {}
            Some(At::Cron(c)) => {
                due = c
                    .next_at_or_after(calendar::utc(due), tz)
                    .map(|t| t.timestamp())
                    .ok_or(SkipReason::NoTime)?;
            }
            Some(At::Field {
                field,
                offset,
                negative,
            }) => {
                let gid = self.catalog.maps[en.cadence as usize][field.0];
                let base = match self.contacts[en.contact as usize].fields.get(gid) {
                    Some(Value::Date(d)) => date_instant(*d, tz),
                    _ => return Err(SkipReason::DateUnset),
                };
                due = if *negative {
                    sub(base, *offset, tz, &cad.holidays)
                } else {
                    add(base, *offset, tz, &cad.holidays)
                };
                if due < entered {
                    return Err(SkipReason::DatePassed);
                }
            }
        }
        if step.action.channel() == Channel::Email {
            if let Some(w) = &cad.window {
                due = next_window(due, w, tz, &cad.holidays).ok_or(SkipReason::NoTime)?;
            }
        }
        Ok(due)
    }

    // ---- timers -------------------------------------------------------------------------------

    fn fire(&mut self, t: Timer) {
        let e = t.enrolment;
        if t.slot == 0 {
            self.fire_due(e);
        } else {
            self.fire_timeout(e, t.slot as u32 - 1);
        }
    }

    /// Evaluates the cadence's `exit when` / `goal when` rules; ends the enrolment on a match.
    fn when_rules(&mut self, e: EnrolmentId) -> bool {
        let en = &self.enrolments[e as usize];
        let (cad_i, contact) = (en.cadence, en.contact);
        let cad = &self.program.cadences[cad_i as usize];
        let tz = self.zone(cad_i, contact);
        let mut hit = None;
        {
            let cx = self.ctx(cad_i, contact, tz);
            for (r, _) in &self.rules[cad_i as usize] {
                let trigger = match r {
                    RuleRef::Exit(i) => &cad.exits[*i as usize].trigger,
                    RuleRef::Goal(i) => &cad.goals[*i as usize].trigger,
                };
                if let EndTrigger::When(x) = trigger {
                    if truth(x, &cx) {
                        hit = Some(*r);
                        break;
                    }
                }
            }
        }
        match hit {
            Some(r) => {
                self.end(e, rule_kind(r));
                true
            }
            None => false,
        }
    }

    fn fire_due(&mut self, e: EnrolmentId) {
        if self.when_rules(e) {
            return;
        }
        let en = &self.enrolments[e as usize];
        let (cad_i, contact, step_i) = (en.cadence, en.contact, en.step);
        let cad = &self.program.cadences[cad_i as usize];
        let step = &cad.steps[step_i as usize];
        let tz = self.zone(cad_i, contact);
        if let Some(g) = &step.guard {
            let ok = truth(g, &self.ctx(cad_i, contact, tz));
            if !ok {
                return self.skip(e, SkipReason::Condition);
            }
        }
        if let Action::Email { .. } = step.action {
            let c = &self.contacts[contact as usize];
            let email_gid = self.email_gid[cad_i as usize];
            let address = email_gid.and_then(|g| match c.fields.get(g) {
                Some(Value::Text(s)) if !s.is_empty() => Some(s.as_str()),
                _ => None,
            });
            if c.unsubscribed {
                return self.skip(e, SkipReason::Unsubscribed);
            }
            let Some(address) = address else {
                return self.skip(e, SkipReason::NoEmail);
            };
            if c.bounced.as_deref() == Some(address) {
                return self.skip(e, SkipReason::Bounced);
            }
            if let Some(limit) = cad.limit_per_day {
                let day = local_date(self.now, tz).num_days_from_ce() as i64;
                let key = (cad_i, self.senders[cad_i as usize][step_i as usize], day);
                let count = self.sent.entry(key).or_insert(0);
                if *count >= limit {
                    let next_day = local_date(self.now, tz).succ_opt().unwrap_or_default();
                    let midnight = day_start(next_day, tz);
                    let until = match &cad.window {
                        Some(w) => next_window(midnight, w, tz, &cad.holidays).unwrap_or(midnight),
                        None => midnight,
                    };
                    self.emit(
                        e,
                        Kind::Deferred {
                            step: step_i,
                            until,
                        },
                    );
                    let (entered, since) = match self.enrolments[e as usize].phase {
                        Phase::Pending { entered, since, .. } => (entered, since),
                        _ => (self.now, self.now),
                    };
                    let en = &mut self.enrolments[e as usize];
                    en.generation = en.generation.wrapping_add(1);
                    self.schedule_since(e, until, entered, since);
                    return;
                }
                *count += 1;
            }
        }
        // Execute.
        self.emit(e, Kind::Executed { step: step_i });
        let now = self.now;
        let en = &mut self.enrolments[e as usize];
        en.execs.push(Exec {
            step: step_i,
            at: now,
            outcomes: 0,
        });
        let exec = (en.execs.len() - 1) as u32;
        self.exec_seq += 1;
        self.contacts[contact as usize].last_exec[channel_slot(step.action.channel())] =
            Some(LastExec {
                at: now,
                seq: self.exec_seq,
                enrolment: e,
                exec,
            });
        let en = &mut self.enrolments[e as usize];
        if step.handlers.is_empty() {
            return self.fall_through(e);
        }
        en.phase = Phase::Waiting { exec };
        en.generation = en.generation.wrapping_add(1);
        self.schedule_timeouts(e, now);
    }

    /// Schedules the timeouts of the step `e` waits at, counted from its execution at `at`
    /// (a timeout already past falls due now).
    fn schedule_timeouts(&mut self, e: EnrolmentId, at: i64) {
        let en = &self.enrolments[e as usize];
        let (cad_i, step_i, generation) = (en.cadence, en.step, en.generation);
        let cad = &self.program.cadences[cad_i as usize];
        let tz = self.zone(cad_i, en.contact);
        for (h, handler) in cad.steps[step_i as usize].handlers.iter().enumerate() {
            if let HandlerEvent::Timeout(_, d) = handler.event {
                let due = add(at, d, tz, &cad.holidays).max(self.now);
                self.timers.push(Reverse(Timer {
                    due,
                    since: due,
                    enrolment: e,
                    step: step_i,
                    slot: h as u16 + 1,
                    generation,
                }));
            }
        }
    }

    fn skip(&mut self, e: EnrolmentId, reason: SkipReason) {
        let step = self.enrolments[e as usize].step;
        self.emit(e, Kind::Skipped { step, reason });
        self.fall_through(e);
    }

    fn fall_through(&mut self, e: EnrolmentId) {
        match self.step_of(e).next {
            Target::Step(j) => self.enter(e, j as u32),
            _ => self.end(e, Kind::Completed),
        }
    }

    fn fire_timeout(&mut self, e: EnrolmentId, h: u32) {
        let en = &self.enrolments[e as usize];
        let Phase::Waiting { exec } = en.phase else {
            return;
        };
        let outcomes = en.execs[exec as usize].outcomes;
        let step = self.step_of(e);
        let Some(HandlerEvent::Timeout(t, _)) = step.handlers.get(h as usize).map(|h| &h.event)
        else {
            return;
        };
        let opened = Outcome::Opened.bit() | Outcome::Clicked.bit() | Outcome::Replied.bit();
        let happened = match t {
            Timeout::NoOpen => outcomes & opened != 0,
            Timeout::NoClick => outcomes & Outcome::Clicked.bit() != 0,
            Timeout::NoReply => outcomes & Outcome::Replied.bit() != 0,
            Timeout::Overdue => outcomes != 0,
        };
        if !happened {
            self.transition(e, h);
        }
    }

    /// Follows handler `h` of the current step.
    fn transition(&mut self, e: EnrolmentId, h: u32) {
        let from = self.enrolments[e as usize].step;
        let target = &self.step_of(e).handlers[h as usize].target;
        let to = match target {
            Target::Step(j) => To::Step(*j as u32),
            Target::Done => To::Done,
            Target::Exit(_) => To::Exit,
        };
        self.emit(
            e,
            Kind::Transition {
                from,
                handler: h,
                to,
            },
        );
        match to {
            To::Step(j) => {
                // A loop goes back to an earlier step (or the same one); one that goes round
                // without time passing would never end.
                if j <= from {
                    let spin = &mut self.spins[e as usize];
                    if spin.0 == self.now {
                        spin.1 += 1;
                    } else {
                        *spin = (self.now, 1);
                    }
                    if spin.1 > MAX_SPINS {
                        return self.end(
                            e,
                            Kind::Exited {
                                reason: ExitReason::Loop,
                            },
                        );
                    }
                }
                self.enter(e, j)
            }
            To::Done => self.end(e, Kind::Completed),
            To::Exit => self.end(
                e,
                Kind::Exited {
                    reason: ExitReason::Handler {
                        step: from,
                        handler: h,
                    },
                },
            ),
        }
    }

    // ---- events -------------------------------------------------------------------------------

    /// The message an outcome belongs to: the named step, or the most recent executed step of a
    /// channel that has this outcome, in the named cadence or any.
    fn find_message(
        &self,
        contact: ContactId,
        o: Outcome,
        step: Option<u32>,
        cadence: Option<u32>,
    ) -> Option<(EnrolmentId, u32)> {
        if step.is_none() && cadence.is_none() {
            let c = &self.contacts[contact as usize];
            return [Channel::Email, Channel::Call, Channel::Task]
                .into_iter()
                .filter(|ch| o.fits(*ch))
                .filter_map(|ch| c.last_exec[channel_slot(ch)])
                .max()
                .map(|l| (l.enrolment, l.exec));
        }
        let mut best: Option<(i64, EnrolmentId, u32)> = None;
        for &e in &self.contacts[contact as usize].enrolments {
            let en = &self.enrolments[e as usize];
            if cadence.is_some_and(|c| c != en.cadence) {
                continue;
            }
            let cad = &self.program.cadences[en.cadence as usize];
            for (x, ex) in en.execs.iter().enumerate().rev() {
                let s = &cad.steps[ex.step as usize];
                if step.is_some_and(|n| n != s.number) || !o.fits(s.action.channel()) {
                    continue;
                }
                if best.is_none_or(|(at, ..)| ex.at >= at) {
                    best = Some((ex.at, e, x as u32));
                }
                break;
            }
        }
        best.map(|(_, e, x)| (e, x))
    }

    fn event(
        &mut self,
        contact: ContactId,
        key: EventKey,
        step: Option<u32>,
        cadence: Option<u32>,
        notes: &mut Vec<Notice>,
    ) {
        let o = match key {
            EventKey::Custom(i) => {
                let active = self.active_of(contact, cadence);
                if active.is_empty() {
                    notes.push(Notice::NoActiveEnrolment {
                        contact,
                        cadence,
                        event: key,
                    });
                }
                for e in active {
                    let cur = self.enrolments[e as usize].step;
                    self.emit(
                        e,
                        Kind::Event {
                            step: Some(cur),
                            event: key,
                        },
                    );
                    self.event_rules(e, EventName::Custom(i as usize));
                }
                return;
            }
            EventKey::Outcome(o) => o,
        };
        let Some((e, x)) = self.find_message(contact, o, step, cadence) else {
            if o == Outcome::Unsubscribed {
                // An unsubscribe is about the person, not one message: it always applies.
                self.contacts[contact as usize].unsubscribed = true;
                for a in self.active_of(contact, None) {
                    let cur = self.enrolments[a as usize].step;
                    self.emit(
                        a,
                        Kind::Event {
                            step: Some(cur),
                            event: key,
                        },
                    );
                    self.end(
                        a,
                        Kind::Exited {
                            reason: ExitReason::Unsubscribed,
                        },
                    );
                }
                return;
            }
            notes.push(Notice::NoMessage {
                contact,
                outcome: o,
                step,
                cadence,
            });
            return;
        };
        let exec_step = self.enrolments[e as usize].execs[x as usize].step;
        self.emit(
            e,
            Kind::Event {
                step: Some(exec_step),
                event: key,
            },
        );
        self.enrolments[e as usize].execs[x as usize].outcomes |= o.bit();

        if o == Outcome::Bounced {
            let cad_i = self.enrolments[e as usize].cadence;
            if let Some(gid) = self.email_gid[cad_i as usize] {
                if let Some(Value::Text(a)) = self.contacts[contact as usize].fields.get(gid) {
                    self.contacts[contact as usize].bounced = Some(a.clone());
                }
            }
        }
        if o == Outcome::Unsubscribed {
            self.contacts[contact as usize].unsubscribed = true;
            for a in self.active_of(contact, None) {
                self.end(
                    a,
                    Kind::Exited {
                        reason: ExitReason::Unsubscribed,
                    },
                );
            }
            return;
        }
        let en = &self.enrolments[e as usize];
        if !en.is_active() {
            notes.push(Notice::EnrolmentEnded {
                contact,
                outcome: o,
                cadence: en.cadence,
                ended: en.ended.unwrap_or(self.now),
            });
            return;
        }
        if self.event_rules(e, EventName::Outcome(o)) {
            return;
        }
        let en = &self.enrolments[e as usize];
        if en.phase == (Phase::Waiting { exec: x }) {
            let handlers = &self.step_of(e).handlers;
            let exact = handlers
                .iter()
                .position(|h| h.event == HandlerEvent::Outcome(o));
            // A click or a reply implies the email was opened: without a handler of its own,
            // it takes the step's `on opened`.
            let implied = || match o {
                Outcome::Clicked | Outcome::Replied => handlers
                    .iter()
                    .position(|h| h.event == HandlerEvent::Outcome(Outcome::Opened)),
                _ => None,
            };
            if let Some(h) = exact.or_else(implied) {
                return self.transition(e, h as u32);
            }
        }
        if o == Outcome::Bounced {
            self.end(
                e,
                Kind::Exited {
                    reason: ExitReason::Bounced,
                },
            );
        }
    }

    /// Cadence-wide `exit on` / `goal on` rules; ends the enrolment on a match.
    fn event_rules(&mut self, e: EnrolmentId, name: EventName) -> bool {
        let cad_i = self.enrolments[e as usize].cadence;
        let cad = &self.program.cadences[cad_i as usize];
        let hit = self.rules[cad_i as usize]
            .iter()
            .map(|(r, _)| *r)
            .find(|r| {
                let trigger = match r {
                    RuleRef::Exit(i) => &cad.exits[*i as usize].trigger,
                    RuleRef::Goal(i) => &cad.goals[*i as usize].trigger,
                };
                matches!(trigger, EndTrigger::Event(n) if *n == name)
            });
        match hit {
            Some(r) => {
                self.end(e, rule_kind(r));
                true
            }
            None => false,
        }
    }

    // ---- field changes ------------------------------------------------------------------------

    fn set(&mut self, contact: ContactId, gid: u16, value: Option<Value>) {
        if !self.contacts[contact as usize].fields.set(gid, value) {
            return;
        }
        for e in self.active_of(contact, None) {
            if self.when_rules(e) {
                continue;
            }
            // A pending `at FIELD` step follows its field.
            let en = &self.enrolments[e as usize];
            let Phase::Pending { entered, due, .. } = en.phase else {
                continue;
            };
            let step = self.step_of(e);
            let Some(At::Field { field, .. }) = &step.at else {
                continue;
            };
            if self.catalog.maps[en.cadence as usize][field.0] != gid {
                continue;
            }
            // Computed again from the entry: a time before the entry skips the step; a time
            // between the entry and now is due at once.
            match self.due_time(e, entered).map(|new| new.max(self.now)) {
                Ok(new) if new != due => {
                    let en = &mut self.enrolments[e as usize];
                    en.generation = en.generation.wrapping_add(1);
                    self.schedule(e, new, entered);
                }
                Ok(_) => {}
                Err(reason) => self.skip(e, reason),
            }
        }
        self.evaluate_enrolment(contact);
    }

    // ---- snapshots ----------------------------------------------------------------------------

    /// The whole state, for persisting.
    pub fn snapshot(&self) -> Snapshot {
        let mut timers: Vec<Timer> = self.timers.iter().map(|r| r.0).collect();
        timers.sort();
        let mut sent: Vec<((u32, u32, i64), u32)> =
            self.sent.iter().map(|(k, v)| (*k, *v)).collect();
        sent.sort();
        Snapshot {
            now: self.now,
            contacts: self.contacts.clone(),
            enrolments: self.enrolments.clone(),
            timers,
            sent,
            exec_seq: self.exec_seq,
        }
    }

    /// After a restore into a changed program (the REPL's `reload`): schedules the timers of
    /// every active enrolment again from its step's current definition, and finds each
    /// contact's latest executions again.
    pub fn rebuild_timers(&mut self) {
        self.timers.clear();
        for c in &mut self.contacts {
            c.last_exec = [None; 3];
        }
        for e in 0..self.enrolments.len() as EnrolmentId {
            let en = &self.enrolments[e as usize];
            for (x, ex) in en.execs.iter().enumerate() {
                let cad = &self.program.cadences[en.cadence as usize];
                let slot = channel_slot(cad.steps[ex.step as usize].action.channel());
                let last = LastExec {
                    at: ex.at,
                    seq: 0,
                    enrolment: e,
                    exec: x as u32,
                };
                let c = &mut self.contacts[en.contact as usize];
                if c.last_exec[slot]
                    .is_none_or(|l| (l.at, l.enrolment, l.exec) <= (last.at, e, x as u32))
                {
                    c.last_exec[slot] = Some(last);
                }
            }
            match en.phase {
                Phase::Ended => {}
                Phase::Pending { entered, since, .. } => match self.due_time(e, entered) {
                    Ok(due) => {
                        let en = &mut self.enrolments[e as usize];
                        en.generation = en.generation.wrapping_add(1);
                        self.schedule_since(e, due.max(self.now), entered, since.min(due));
                    }
                    Err(reason) => self.skip(e, reason),
                },
                Phase::Waiting { exec } => {
                    let at = en.execs[exec as usize].at;
                    self.schedule_timeouts(e, at);
                }
            }
        }
    }

    /// Continues from a snapshot taken with the same program.
    pub fn restore(program: &'p Program, s: Snapshot) -> Engine<'p> {
        let mut e = Engine::new(program);
        e.now = s.now;
        e.index = s
            .contacts
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id.clone(), i as ContactId))
            .collect();
        e.spins = vec![(i64::MIN, 0); s.enrolments.len()];
        e.contacts = s.contacts;
        e.enrolments = s.enrolments;
        e.timers = s.timers.into_iter().map(Reverse).collect();
        e.sent = s.sent.into_iter().collect();
        e.exec_seq = s.exec_seq;
        e
    }
}

/// An input that was accepted but changed nothing, and why.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Notice {
    AlreadyEnrolled {
        contact: ContactId,
        cadence: u32,
        step: u32,
    },
    EnrolledBefore {
        contact: ContactId,
        cadence: u32,
    },
    ReenrolFrom {
        contact: ContactId,
        cadence: u32,
        from: i64,
    },
    NotEnrolled {
        contact: ContactId,
        cadence: Option<u32>,
    },
    NoActiveEnrolment {
        contact: ContactId,
        cadence: Option<u32>,
        event: EventKey,
    },
    NoMessage {
        contact: ContactId,
        outcome: Outcome,
        step: Option<u32>,
        cadence: Option<u32>,
    },
    EnrolmentEnded {
        contact: ContactId,
        outcome: Outcome,
        cadence: u32,
        ended: i64,
    },
}

impl Engine<'_> {
    /// Words a notice for people.
    pub fn describe(&self, n: &Notice) -> String {
        let who = |c: &ContactId| &self.contacts[*c as usize].id;
        let name = |c: &u32| &self.program.cadences[*c as usize].name;
        match n {
            Notice::AlreadyEnrolled { contact, cadence, step } => format!(
                "contact `{}` is already enrolled in \"{}\" (at step {step})",
                who(contact),
                name(cadence)
            ),
            Notice::EnrolledBefore { contact, cadence } => format!(
                "contact `{}` was enrolled in \"{}\" before; a record is enrolled once unless the cadence says `reenroll after D`",
                who(contact),
                name(cadence)
            ),
            Notice::ReenrolFrom { contact, cadence, from } => format!(
                "contact `{}` can be enrolled in \"{}\" again from {}",
                who(contact),
                name(cadence),
                format_instant(*from)
            ),
            Notice::NotEnrolled { contact, cadence } => {
                format!("contact `{}` is not enrolled{}", who(contact), self.in_cadence(*cadence))
            }
            Notice::NoActiveEnrolment { contact, cadence, event } => format!(
                "contact `{}` has no active enrolment{}; event `{}` changes nothing",
                who(contact),
                self.in_cadence(*cadence),
                trace::event_name(self.program, *event)
            ),
            Notice::NoMessage { contact, outcome, step, cadence } => {
                let channel = match outcome {
                    Outcome::Completed => "call or task",
                    o if o.fits(Channel::Email) => "email",
                    o if o.fits(Channel::Call) => "call",
                    _ => "task",
                };
                let what = match step {
                    Some(n) => format!("step {n} has not been executed"),
                    None => format!("no {channel} step has been executed"),
                };
                format!(
                    "`{}` for contact `{}` changes nothing: {what} for this contact{} yet",
                    outcome.name(),
                    who(contact),
                    self.in_cadence(*cadence)
                )
            }
            Notice::EnrolmentEnded { contact, outcome, cadence, ended } => format!(
                "`{}` for contact `{}` belongs to an enrolment in \"{}\" that ended at {}; recorded, nothing changes",
                outcome.name(),
                who(contact),
                name(cadence),
                format_instant(*ended)
            ),
        }
    }

    /// Clears the records produced so far, keeping the buffer.
    pub fn clear_records(&mut self) {
        self.out.clear();
    }
}

fn channel_slot(c: Channel) -> usize {
    match c {
        Channel::Email => 0,
        Channel::Call => 1,
        Channel::Task => 2,
    }
}

fn rule_kind(r: RuleRef) -> Kind {
    match r {
        RuleRef::Exit(i) => Kind::Exited {
            reason: ExitReason::Rule(i),
        },
        RuleRef::Goal(i) => Kind::Goal { rule: i },
    }
}
