//! The per-contact core: a pure function that applies one input, or one due timer, to one
//! contact's state, and returns what happened (trace records, actions for a driver to carry
//! out, new timers, notices). Nothing else is read or written, except the per-cadence, per-day
//! send counters of `limit` and the enrolment id counter, which a driver provides through
//! [`Shared`].
//!
//! Drivers: [`super::Engine`] keeps every contact in memory with one global timer heap (the
//! simulator, the REPL, the tests); the live runner loads one contact from its database,
//! applies, and writes it back with its timers, journal and outbox in one transaction.

use std::collections::HashMap;
use std::str::FromStr;

use chrono::Datelike;
use chrono_tz::Tz;

use super::calendar::{self, add, date_instant, day_start, local_date, next_window, sub};
use super::eval::{truth, Ctx};
use super::hash::FastHash;
use super::state::{
    Contact, ContactId, Enrolment, EnrolmentId, Exec, Held, LastExec, Phase, Timer, ORPHAN,
    RESUME_SLOT,
};
use super::trace::{EventKey, ExitReason, Kind, Record, SkipReason, To};
use crate::check::{
    Action, At, Channel, Destination, EndTrigger, EventName, HandlerEvent, Outcome, OwnerPart,
    Program, Step, Target, TemplateId, Timeout, Type, Value, Zone,
};

/// Every field of every cadence of a program, with one global id per name.
#[derive(Debug, Clone)]
pub struct Catalog {
    pub names: Vec<String>,
    pub types: Vec<Type>,
    index: HashMap<String, u16, FastHash>,
    /// Per cadence: schema field index -> global id.
    pub maps: Vec<Vec<u16>>,
}

/// The zone a cadence reads a contact's times in: its fixed zone, or the contact's field (its
/// default when the field is unset or not a zone).
pub fn zone_of(program: &Program, catalog: &Catalog, cadence: u32, fields: &super::Fields) -> Tz {
    match &program.cadences[cadence as usize].zone {
        Zone::Fixed(tz) => *tz,
        Zone::Field { field, default } => {
            let gid = catalog.maps[cadence as usize][field.0];
            match fields.get(gid) {
                Some(Value::Text(s)) => Tz::from_str(s).unwrap_or(*default),
                _ => *default,
            }
        }
    }
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
        // A text field that a cadence reads as its `timezone field` takes only zone names:
        // a row with "Mars/Olympus" is a bad row (with its line), not a silent fall-back to
        // the default zone.
        for (ci, cadence) in program.cadences.iter().enumerate() {
            if let Zone::Field { field, .. } = &cadence.zone {
                let gid = c.maps[ci][field.0] as usize;
                if c.types[gid] == Type::Text {
                    c.types[gid] = Type::Tz;
                }
            }
        }
        c
    }

    /// Fields numbered by catalog `from`, numbered by this one (by name; a field this catalog
    /// does not know is dropped): a contact carried into another program.
    pub fn translate(&self, fields: &super::Fields, from: &Catalog) -> super::Fields {
        let mut out = super::Fields::default();
        for (g, v) in fields.iter() {
            if let Some(ng) = from.names.get(*g as usize).and_then(|n| self.lookup(n)) {
                out.set(ng, Some(v.clone()));
            }
        }
        out
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
    /// An outcome or custom event; `step` is a step number as written. `machine`: an open or
    /// a click made by a machine (a mail proxy, a link scanner), which counts as the contact's
    /// only where the cadence says `track ... including machine`.
    Event {
        contact: ContactId,
        event: EventKey,
        step: Option<u32>,
        cadence: Option<u32>,
        machine: bool,
        /// The message it is about, when the input knows it (an open or a click from the
        /// message's own link, a provider's webhook): (enrolment id, execution).
        message: Option<(u64, u32)>,
        /// For an `auto_reply`: the day the contact says they are back, when it names one.
        back: Option<chrono::NaiveDate>,
    },
    /// A field change (`None` unsets it).
    Set {
        contact: ContactId,
        field: u16,
        value: Option<Value>,
    },
    /// Pauses the contact's active enrolments (of one cadence, or all): their timers are held
    /// until a `Resume`, or until `until` (then resumed as `catch_up` says).
    Pause {
        contact: ContactId,
        cadence: Option<u32>,
        until: Option<i64>,
        catch_up: bool,
    },
    /// Resumes paused enrolments: each wait continues with the time it had left, or (with
    /// `catch_up`) what became due while paused falls due now.
    Resume {
        contact: ContactId,
        cadence: Option<u32>,
        catch_up: bool,
    },
}

impl Input {
    /// The contact the input is for.
    pub fn contact(&self) -> ContactId {
        match *self {
            Input::Enroll { contact, .. }
            | Input::Unenroll { contact, .. }
            | Input::Event { contact, .. }
            | Input::Set { contact, .. }
            | Input::Pause { contact, .. }
            | Input::Resume { contact, .. } => contact,
        }
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
    /// An `enroll` for a cadence that is no longer deployed (its file was not given).
    NotDeployed {
        contact: ContactId,
        cadence: u32,
    },
    /// A `resume` for a contact none of whose enrolments (in the cadence) is paused.
    NotPaused {
        contact: ContactId,
        cadence: Option<u32>,
    },
    /// A `pause` whose end is not after its own time: nothing is held.
    PauseOver {
        contact: ContactId,
        until: i64,
    },
}

/// Something a driver carries out for the contact just processed. Enrolments are positions in
/// [`Contact::enrolments`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    /// A step executed: send its email (`variant` of an A/B step), or put its call or task on
    /// a rep's list.
    Executed {
        enrolment: u32,
        exec: u32,
        variant: u8,
    },
    /// An outcome was recorded for an execution (a call or task can leave the list).
    Outcome {
        enrolment: u32,
        exec: u32,
        outcome: Outcome,
    },
    /// An enrolment left the step it waited at after execution `exec` (by a handler or a
    /// timeout), or (`ended`) ended while it waited there: a call or task of that execution
    /// that is still open is no longer needed.
    Left {
        enrolment: u32,
        exec: u32,
        ended: bool,
        /// Whether that execution was a call or a task (worked out when it was left: a
        /// migration may move the enrolment into another version right after).
        task: bool,
    },
}

/// What applying one input or timer produced. Drivers keep one and clear it between uses.
#[derive(Debug, Default)]
pub struct Effects {
    pub records: Vec<Record>,
    /// Timers scheduled (they are also in the contact's own list).
    pub timers: Vec<Timer>,
    pub actions: Vec<Act>,
    pub notices: Vec<Notice>,
    /// The owners named by `executed` records (`Kind::Executed::owner` is a position here
    /// plus one). Kept until cleared with the records they belong to.
    pub owners: Vec<String>,
    owner_ids: HashMap<String, u32>,
}

impl Effects {
    pub fn clear(&mut self) {
        self.records.clear();
        self.timers.clear();
        self.actions.clear();
        self.notices.clear();
        self.owners.clear();
        self.owner_ids.clear();
    }

    /// The id of an owner's name in [`Effects::owners`] (added when new).
    pub fn owner_id(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.owner_ids.get(name) {
            return id;
        }
        self.owners.push(name.to_string());
        let id = self.owners.len() as u32;
        self.owner_ids.insert(name.to_string(), id);
        id
    }

    /// Forgets the owners (once the records naming them are written).
    pub fn clear_owners(&mut self) {
        self.owners.clear();
        self.owner_ids.clear();
    }

    /// The name of an owner id (0: nobody).
    pub fn owner_name(&self, id: u32) -> Option<&str> {
        (id as usize)
            .checked_sub(1)
            .and_then(|i| self.owners.get(i))
            .map(String::as_str)
    }
}

/// Why an address is never emailed again (spec 6, item 6: suppression is per address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Suppressed {
    Bounced,
    Unsubscribed,
}

/// An address as suppression knows it: trimmed, in lower case (borrowed when it already is,
/// as almost every address is: no allocation on the way to every email).
pub fn address_key(address: &str) -> std::borrow::Cow<'_, str> {
    let t = address.trim();
    if t.chars().any(|c| c.to_lowercase().ne(std::iter::once(c))) {
        std::borrow::Cow::Owned(t.to_lowercase())
    } else {
        std::borrow::Cow::Borrowed(t)
    }
}

/// What the core needs beyond one contact: enrolment ids, the daily send counters of `limit`
/// (shared by every contact of a cadence), and the addresses that bounced or unsubscribed
/// (shared by every record and cadence).
pub trait Shared {
    /// A new enrolment id, greater than every one given before.
    fn new_enrolment(&mut self) -> EnrolmentId;
    /// Counts one email against `limit` for (cadence, sender, day); false when the day's
    /// limit is reached (nothing is counted then).
    fn take_send(&mut self, cadence: u32, sender: u32, day: i64, limit: u32) -> bool;
    /// Whether an address (an [`address_key`]) is never emailed again, and why.
    fn suppressed(&mut self, address: &str) -> Option<Suppressed>;
    /// Suppresses an address (an [`address_key`]) for good; the first reason stays.
    fn suppress(&mut self, address: &str, why: Suppressed);
    /// Whether cadence `family` (its newest version) is paused as a whole at `now`: a new
    /// enrolment in it starts paused, with this pause's `until` and `catch_up`.
    fn cadence_paused(&mut self, family: u32, now: i64) -> Option<Held>;
    /// Until when an owner is away at `now` (`cadence pause --owner`), if they are.
    fn owner_away(&mut self, owner: &str, now: i64) -> Option<i64>;
}

/// The daily counters, suppressed addresses and enrolment ids of one process (the simulator,
/// the REPL, tests).
#[derive(Debug, Clone, Default)]
pub struct LocalShared {
    pub sent: HashMap<(u32, u32, i64), u32>,
    pub next_enrolment: EnrolmentId,
    pub suppressed: HashMap<String, Suppressed>,
    /// Paused cadences, by family.
    pub paused: HashMap<u32, Held>,
    /// Owners away, and until when.
    pub away: HashMap<String, i64>,
}

/// Whether a pause still holds at `now`.
pub fn pause_holds(h: &Held, now: i64) -> bool {
    h.since <= now && h.until.is_none_or(|u| now < u)
}

impl Shared for LocalShared {
    fn cadence_paused(&mut self, family: u32, now: i64) -> Option<Held> {
        if self.paused.is_empty() {
            return None;
        }
        self.paused
            .get(&family)
            .copied()
            .filter(|h| pause_holds(h, now))
    }

    fn owner_away(&mut self, owner: &str, now: i64) -> Option<i64> {
        if self.away.is_empty() {
            return None;
        }
        self.away.get(owner).copied().filter(|&u| now < u)
    }

    fn suppressed(&mut self, address: &str) -> Option<Suppressed> {
        self.suppressed.get(address).copied()
    }

    fn suppress(&mut self, address: &str, why: Suppressed) {
        self.suppressed.entry(address.to_string()).or_insert(why);
    }

    fn new_enrolment(&mut self) -> EnrolmentId {
        let id = self.next_enrolment;
        self.next_enrolment += 1;
        id
    }

    fn take_send(&mut self, cadence: u32, sender: u32, day: i64, limit: u32) -> bool {
        let count = self.sent.entry((cadence, sender, day)).or_insert(0);
        if *count >= limit {
            return false;
        }
        *count += 1;
        true
    }
}

/// 9999-12-31T23:59:59Z, the last instant RFC 3339 can write.
pub const LAST_INSTANT: i64 = 253_402_300_799;

/// How many times one enrolment may jump back to an earlier step at a single instant before it
/// is stopped (a loop in which no time passes).
const MAX_SPINS: u32 = 1_000;

#[derive(Debug, Clone, Copy)]
enum RuleRef {
    Exit(u32),
    Goal(u32),
}

/// The program, prepared for the core: rules in order, sender ids, the email field of each
/// cadence, and which cadences are versions of one another.
pub struct Core<'p> {
    pub program: &'p Program,
    pub catalog: Catalog,
    /// Per cadence: exit and goal rules in the order written.
    rules: Vec<Vec<(RuleRef, usize)>>,
    /// Per cadence, per step: sender id for the daily limit.
    senders: Vec<Vec<u32>>,
    /// The sender addresses, by sender id.
    pub sender_names: Vec<String>,
    /// Per cadence: the global id of the field email steps send to.
    email_gid: Vec<Option<u16>>,
    /// Per cadence: the newest version of the cadence it is a version of. Itself for a program
    /// without older versions.
    family: Vec<u32>,
    /// Per cadence: whether it takes new enrolments (it is deployed, and the newest version).
    current: Vec<bool>,
    /// Variants given to contacts by a test's `pin` lines: (contact id, cadence, step index,
    /// variant). Empty outside tests.
    pins: Vec<(String, u32, u32, u8)>,
}

impl<'p> Core<'p> {
    pub fn new(program: &'p Program) -> Core<'p> {
        let n = program.cadences.len();
        Core::with_versions(program, (0..n as u32).collect(), vec![true; n])
    }

    /// A core over a program in which some cadences are older versions of others: `family[c]`
    /// is the newest version of cadence `c`, and `current[c]` says whether `c` takes new
    /// enrolments. A contact is enrolled once per family, and limits are counted per family;
    /// older versions only carry on the enrolments that started on them.
    pub fn with_versions(program: &'p Program, family: Vec<u32>, current: Vec<bool>) -> Core<'p> {
        let catalog = Catalog::new(program);
        let mut rules = Vec::new();
        let mut senders = Vec::new();
        let mut sender_ids: HashMap<String, u32> = HashMap::new();
        let mut sender_names = Vec::new();
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
                    *sender_ids.entry(from.clone()).or_insert_with(|| {
                        sender_names.push(from);
                        n
                    })
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
        Core {
            program,
            catalog,
            rules,
            senders,
            sender_names,
            email_gid,
            family,
            current,
            pins: Vec::new(),
        }
    }

    /// Gives a contact a variant of an A/B step, whatever its hash says (a test's `pin`).
    pub fn pin_variant(&mut self, contact: &str, cadence: u32, step: u32, variant: u8) {
        self.pins
            .retain(|p| !(p.0 == contact && p.1 == cadence && p.2 == step));
        self.pins
            .push((contact.to_string(), cadence, step, variant));
    }

    /// The variant of step `step` (an index) of cadence `cadence` that a contact gets, and the
    /// template it sends (`None` for a step that sends no email). See [`super::variant`].
    pub fn template_for(&self, cadence: u32, step: u32, contact: &str) -> Option<(TemplateId, u8)> {
        let cad = &self.program.cadences[cadence as usize];
        let s = &cad.steps[step as usize];
        let Action::Email { template, variants } = &s.action else {
            return None;
        };
        if variants.is_empty() {
            return Some((*template, 0));
        }
        let pinned = self
            .pins
            .iter()
            .find(|p| p.0 == contact && p.1 == cadence && p.2 == step)
            .map(|p| p.3 as usize);
        let i = pinned
            .filter(|&i| i < variants.len())
            .unwrap_or_else(|| super::variant::assign(&cad.name, s.number, contact, variants));
        Some((variants[i].template, i as u8))
    }

    /// Whether cadence `c` takes new enrolments.
    pub fn is_current(&self, c: u32) -> bool {
        self.current[c as usize]
    }

    /// The newest version of cadence `c`.
    pub fn family(&self, c: u32) -> u32 {
        self.family[c as usize]
    }

    /// The sender id of a step, for the daily limit.
    pub fn sender(&self, cadence: u32, step: u32) -> u32 {
        self.senders[cadence as usize][step as usize]
    }

    /// A new contact with no enrolment.
    pub fn new_contact(&self, id: &str, fields: super::Fields) -> Contact {
        Contact::new(id, fields, self.program.cadences.len())
    }

    fn cx<'a>(
        &'a self,
        c: &'a mut Contact,
        cid: ContactId,
        now: i64,
        shared: &'a mut dyn Shared,
        fx: &'a mut Effects,
    ) -> Cx<'a, 'p> {
        Cx {
            core: self,
            c,
            cid,
            now,
            shared,
            fx,
        }
    }

    /// Applies an input to contact `cid` at `now` (timers due before it must have run).
    pub fn apply(
        &self,
        c: &mut Contact,
        cid: ContactId,
        now: i64,
        input: &Input,
        shared: &mut dyn Shared,
        fx: &mut Effects,
    ) {
        self.cx(c, cid, now, shared, fx).apply(input)
    }

    /// Fires a due timer of contact `cid` at `now`; a timer that is no longer live does
    /// nothing. Returns whether it fired.
    pub fn fire(
        &self,
        c: &mut Contact,
        cid: ContactId,
        now: i64,
        timer: Timer,
        shared: &mut dyn Shared,
        fx: &mut Effects,
    ) -> bool {
        if !c.is_live(&timer) {
            return false;
        }
        let Some(li) = c.local(timer.enrolment) else {
            return false;
        };
        if timer.slot == RESUME_SLOT {
            let catch_up = c.enrolments[li].held().is_some_and(|h| h.catch_up);
            self.cx(c, cid, now, shared, fx).resume(li, catch_up);
            return true;
        }
        if timer.slot > 0 {
            c.enrolments[li].fired |= 1 << (timer.slot & 15);
        }
        let mut cx = self.cx(c, cid, now, shared, fx);
        if timer.slot == 0 {
            cx.fire_due(li);
        } else {
            cx.fire_timeout(li, timer.slot as u32 - 1);
        }
        true
    }

    /// Enrols the contact in every current cadence whose `enroll when` has become true.
    pub fn evaluate_enrolment(
        &self,
        c: &mut Contact,
        cid: ContactId,
        now: i64,
        shared: &mut dyn Shared,
        fx: &mut Effects,
    ) {
        self.cx(c, cid, now, shared, fx).evaluate_enrolment()
    }

    /// The zone of a cadence for a contact.
    /// Who a call or task step is for, for this contact: the first `owner` field that holds a
    /// name, else the fixed owner, else nobody.
    pub fn owner_of(&self, cadence: u32, step: u32, c: &Contact) -> Option<String> {
        let s = &self.program.cadences[cadence as usize].steps[step as usize];
        for part in &s.owner {
            match part {
                OwnerPart::Fixed(name) => return Some(name.clone()),
                OwnerPart::Field(f) => {
                    let gid = self.catalog.maps[cadence as usize][f.0];
                    if let Some(v) = c.fields.get(gid) {
                        let text = crate::mail::render::value_text(v);
                        let name = text.trim();
                        if !name.is_empty() {
                            return Some(name.to_string());
                        }
                    }
                }
            }
        }
        None
    }

    /// When a call or task executed at `at` is due for its owner: `at` plus the step's `due`
    /// (in the contact's zone, for business days), or `at` without one.
    pub fn task_due(&self, cadence: u32, step: u32, c: &Contact, at: i64) -> i64 {
        let cad = &self.program.cadences[cadence as usize];
        match cad.steps[step as usize].due {
            Some(d) => add(at, d, self.zone(cadence, c), &cad.holidays),
            None => at,
        }
    }

    pub fn zone(&self, cadence: u32, c: &Contact) -> Tz {
        zone_of(self.program, &self.catalog, cadence, &c.fields)
    }

    /// When the current step of an enrolment, entered at `entered`, is due.
    pub fn due_time(&self, c: &Contact, li: usize, entered: i64) -> Result<i64, SkipReason> {
        let en = &c.enrolments[li];
        let cad = &self.program.cadences[en.cadence as usize];
        let step = &cad.steps[en.step as usize];
        let tz = self.zone(en.cadence, c);
        let mut due = add(entered, step.after, tz, &cad.holidays);
        match &step.at {
            None => {}
            Some(At::Cron(cron)) => {
                due = cron
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
                let base = match c.fields.get(gid) {
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
        // Instants are written in RFC 3339, which ends with the year 9999: a step due after it
        // never comes.
        if due > LAST_INSTANT {
            return Err(SkipReason::NoTime);
        }
        Ok(due)
    }

    /// The email address a cadence's email steps send to, if the record has one.
    pub fn address<'c>(&self, cadence: u32, c: &'c Contact) -> Option<&'c str> {
        self.email_gid[cadence as usize].and_then(|g| match c.fields.get(g) {
            Some(Value::Text(s)) if !s.is_empty() => Some(s.as_str()),
            _ => None,
        })
    }

    /// After a change of program (the REPL's `reload`): finds the contact's latest executions
    /// again and drops its timers (see [`Core::rebuild_enrolment`]).
    pub fn reset_last_exec(&self, c: &mut Contact) {
        c.last_exec = [None; 3];
        for (li, en) in c.enrolments.iter().enumerate() {
            let cad = &self.program.cadences[en.cadence as usize];
            for (x, ex) in en.execs.iter().enumerate() {
                if ex.outcomes & ORPHAN != 0 {
                    continue;
                }
                let slot = channel_slot(cad.steps[ex.step as usize].action.channel());
                let last = LastExec {
                    at: ex.at,
                    seq: 0,
                    enrolment: li as u32,
                    exec: x as u32,
                };
                if c.last_exec[slot].is_none_or(|l| {
                    (l.at, l.enrolment, l.exec) <= (last.at, last.enrolment, last.exec)
                }) {
                    c.last_exec[slot] = Some(last);
                }
            }
        }
    }

    /// After a change of program: schedules the timers of an active enrolment again from its
    /// step's current definition.
    pub fn rebuild_enrolment(
        &self,
        c: &mut Contact,
        cid: ContactId,
        li: usize,
        now: i64,
        shared: &mut dyn Shared,
        fx: &mut Effects,
    ) {
        let mut cx = self.cx(c, cid, now, shared, fx);
        match cx.c.enrolments[li].phase {
            Phase::Ended => {}
            Phase::Pending { entered, since, .. } => match cx.core.due_time(cx.c, li, entered) {
                Ok(due) => {
                    cx.bump(li);
                    cx.schedule_since(li, due.max(now), entered, since.min(due));
                }
                Err(reason) => cx.skip(li, reason),
            },
            Phase::Waiting { exec, .. } => {
                let at = cx.c.enrolments[li].execs[exec as usize].at;
                cx.bump(li);
                cx.c.enrolments[li].phase = Phase::Waiting { exec, armed: now };
                cx.schedule_timeouts(li, at);
            }
        }
    }

    /// A pause (`until` given: `Some(None)` for no end) or resume (`None`) of a whole cadence
    /// family, for one contact: applied to its active enrolments in it (its paused ones for a
    /// resume). Returns whether the contact had any.
    #[allow(clippy::too_many_arguments, clippy::option_option)]
    pub fn hold_cadence(
        &self,
        c: &mut Contact,
        cid: ContactId,
        family: u32,
        until: Option<Option<i64>>,
        catch_up: bool,
        now: i64,
        shared: &mut dyn Shared,
        fx: &mut Effects,
    ) -> bool {
        let pause = until.is_some();
        let concerned = c.enrolments.iter().any(|en| {
            en.is_active() && self.family(en.cadence) == family && (pause || en.held().is_some())
        });
        if concerned {
            let input = match until {
                Some(until) => Input::Pause {
                    contact: cid,
                    cadence: Some(family),
                    until,
                    catch_up,
                },
                None => Input::Resume {
                    contact: cid,
                    cadence: Some(family),
                    catch_up,
                },
            };
            self.apply(c, cid, now, &input, shared, fx);
        }
        concerned
    }

    /// An owner is back earlier than planned: the call and task steps of theirs that wait for
    /// them (pending, not paused) fall due again from their own rules (at once when that time
    /// has passed). Returns whether any did.
    pub fn owner_back(
        &self,
        c: &mut Contact,
        cid: ContactId,
        owner: &str,
        now: i64,
        shared: &mut dyn Shared,
        fx: &mut Effects,
    ) -> bool {
        let mut any = false;
        for li in 0..c.enrolments.len() {
            let en = &c.enrolments[li];
            let Phase::Pending { due, .. } = en.phase else {
                continue;
            };
            let step = &self.program.cadences[en.cadence as usize].steps[en.step as usize];
            if en.held().is_some()
                || due <= now
                || step.action.channel() == Channel::Email
                || self.owner_of(en.cadence, en.step, c).as_deref() != Some(owner)
            {
                continue;
            }
            self.rebuild_enrolment(c, cid, li, now, shared, fx);
            any = true;
        }
        any
    }

    /// A deploy of version `to`, which has a `migrate` block: moves the contact's active
    /// enrolments on older versions of the same cadence (those `applies` accepts: the block's
    /// `from` hash) into it. A step the block maps goes where it says (entered now, or the
    /// enrolment ends); a step it does not name stays at the step of the same number, its wait
    /// recomputed from the new version's rules; a step neither mapped nor kept stays on its old
    /// version (a deploy refuses that before it gets here). Returns whether anything moved.
    #[allow(clippy::too_many_arguments)]
    pub fn migrate(
        &self,
        c: &mut Contact,
        cid: ContactId,
        to: u32,
        applies: &dyn Fn(u32) -> bool,
        now: i64,
        shared: &mut dyn Shared,
        fx: &mut Effects,
    ) -> bool {
        let Some(m) = &self.program.cadences[to as usize].migration else {
            return false;
        };
        let family = self.family(to);
        let mut moved = false;
        for li in 0..c.enrolments.len() {
            let en = &c.enrolments[li];
            if !en.is_active()
                || en.cadence == to
                || self.family(en.cadence) != family
                || !applies(en.cadence)
            {
                continue;
            }
            let mut cx = self.cx(c, cid, now, shared, fx);
            moved |= cx.migrate(li, to, m);
        }
        if moved {
            self.reset_last_exec(c);
        }
        moved
    }

    /// The live timers of a contact, in firing order: what a durable driver stores beside the
    /// contact's state.
    pub fn live_timers(&self, c: &Contact) -> Vec<Timer> {
        let mut out = Vec::new();
        for en in &c.enrolments {
            if let Some(h) = en.held() {
                if let (Some(u), true) = (h.until, en.is_active()) {
                    out.push(resume_timer(en, u));
                }
                continue;
            }
            match en.phase {
                Phase::Ended => {}
                Phase::Pending { due, since, .. } => out.push(Timer {
                    due,
                    since,
                    enrolment: en.id,
                    slot: 0,
                    generation: en.generation,
                }),
                Phase::Waiting { exec, armed } => {
                    let at = en.execs[exec as usize].at;
                    self.timeouts(c, en, at, armed, &mut |t| {
                        if en.stamp().is_live(&t) {
                            out.push(t)
                        }
                    });
                }
            }
        }
        out.sort();
        out
    }

    /// The timeouts of the step an enrolment waits at, counted from its execution at `at`, none
    /// before `armed`.
    fn timeouts(
        &self,
        c: &Contact,
        en: &Enrolment,
        at: i64,
        armed: i64,
        push: &mut dyn FnMut(Timer),
    ) {
        let cad = &self.program.cadences[en.cadence as usize];
        let tz = self.zone(en.cadence, c);
        // Time spent paused at this step does not count.
        let at = at + en.shift();
        for (h, handler) in cad.steps[en.step as usize].handlers.iter().enumerate() {
            if let HandlerEvent::Timeout(_, d) = handler.event {
                let fell = add(at, d, tz, &cad.holidays);
                let due = fell.max(armed);
                if due > LAST_INSTANT {
                    // Past the last instant that can be written: it never comes.
                    continue;
                }
                // A timeout that fell due before it was armed (a resume that catches up) keeps
                // its place: the first to fall due fires first.
                push(Timer {
                    due,
                    since: fell,
                    enrolment: en.id,
                    slot: h as u16 + 1,
                    generation: en.generation,
                });
            }
        }
    }

    /// Words a notice for people; `who` is the contact's id.
    pub fn describe(&self, n: &Notice, who: &str) -> String {
        let name = |c: &u32| &self.program.cadences[*c as usize].name;
        let in_cadence = |cadence: &Option<u32>| match cadence {
            Some(c) => format!(" in \"{}\"", name(c)),
            None => String::new(),
        };
        match n {
            Notice::AlreadyEnrolled { cadence, step, .. } => format!(
                "contact `{who}` is already enrolled in \"{}\" (at step {step})",
                name(cadence)
            ),
            Notice::EnrolledBefore { cadence, .. } => format!(
                "contact `{who}` was enrolled in \"{}\" before; a record is enrolled once unless the cadence says `reenroll after D`",
                name(cadence)
            ),
            Notice::ReenrolFrom { cadence, from, .. } => format!(
                "contact `{who}` can be enrolled in \"{}\" again from {}",
                name(cadence),
                calendar::format_instant(*from)
            ),
            Notice::NotEnrolled { cadence, .. } => {
                format!("contact `{who}` is not enrolled{}", in_cadence(cadence))
            }
            Notice::NoActiveEnrolment { cadence, event, .. } => format!(
                "contact `{who}` has no active enrolment{}; event `{}` changes nothing",
                in_cadence(cadence),
                super::trace::event_name(self.program, *event)
            ),
            Notice::NoMessage { outcome, step, cadence, .. } => {
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
                    "`{}` for contact `{who}` changes nothing: {what} for this contact{} yet",
                    outcome.name(),
                    in_cadence(cadence)
                )
            }
            Notice::PauseOver { until, .. } => format!(
                "the pause of contact `{who}` would end at {}, which is not after it starts: nothing is paused",
                calendar::format_instant(*until)
            ),
            Notice::NotPaused { cadence, .. } => format!(
                "contact `{who}` has no paused enrolment{}; `resume` changes nothing",
                in_cadence(cadence)
            ),
            Notice::NotDeployed { cadence, .. } => format!(
                "contact `{who}` is not enrolled in \"{}\": the cadence is not deployed (its file was not given to the last `cadence run`)",
                name(cadence)
            ),
            Notice::EnrolmentEnded { outcome, cadence, ended, .. } => format!(
                "`{}` for contact `{who}` belongs to an enrolment in \"{}\" that ended at {}; recorded, nothing changes",
                outcome.name(),
                name(cadence),
                calendar::format_instant(*ended)
            ),
        }
    }
}

/// The timer of a paused enrolment's automatic resume at `until`.
fn resume_timer(en: &Enrolment, until: i64) -> Timer {
    Timer {
        due: until,
        since: until,
        enrolment: en.id,
        slot: RESUME_SLOT,
        generation: en.generation,
    }
}

pub(crate) fn channel_slot(c: Channel) -> usize {
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

/// One application of the core to one contact.
struct Cx<'a, 'p> {
    core: &'a Core<'p>,
    c: &'a mut Contact,
    cid: ContactId,
    now: i64,
    shared: &'a mut dyn Shared,
    fx: &'a mut Effects,
}

impl<'p> Cx<'_, 'p> {
    fn program(&self) -> &'p Program {
        self.core.program
    }

    fn apply(&mut self, input: &Input) {
        match *input {
            Input::Enroll { cadence, .. } => {
                let cads: Vec<u32> = match cadence {
                    Some(c) if !self.core.is_current(self.core.family(c)) => {
                        self.fx.notices.push(Notice::NotDeployed {
                            contact: self.cid,
                            cadence: c,
                        });
                        Vec::new()
                    }
                    Some(c) => vec![self.core.family(c)],
                    None => (0..self.program().cadences.len() as u32)
                        .filter(|&c| self.core.is_current(c))
                        .collect(),
                };
                for c in cads {
                    if let Err(e) = self.enroll(c) {
                        self.fx.notices.push(e);
                    }
                }
            }
            Input::Unenroll { cadence, .. } => {
                for li in self.active_or_note(cadence) {
                    self.end(
                        li,
                        Kind::Exited {
                            reason: ExitReason::Unenrolled,
                        },
                    );
                }
            }
            Input::Event {
                event,
                step,
                cadence,
                machine,
                message,
                back,
                ..
            } => self.event(event, step, cadence, machine, message, back),
            Input::Set {
                field, ref value, ..
            } => self.set(field, value.clone()),
            Input::Pause {
                cadence,
                until,
                catch_up,
                ..
            } => {
                for li in self.active_or_note(cadence) {
                    self.pause(li, until, catch_up, false);
                }
            }
            Input::Resume {
                cadence, catch_up, ..
            } => {
                let held: Vec<usize> = self
                    .active_of(cadence)
                    .into_iter()
                    .filter(|&li| self.c.enrolments[li].held().is_some())
                    .collect();
                if held.is_empty() {
                    self.fx.notices.push(Notice::NotPaused {
                        contact: self.cid,
                        cadence,
                    });
                }
                for li in held {
                    self.resume(li, catch_up);
                }
            }
        }
    }

    // ---- pause and resume -----------------------------------------------------------------

    /// Pauses an enrolment now (or changes the pause it is in): its timers are held; with
    /// `until`, it resumes by itself then.
    fn pause(&mut self, li: usize, until: Option<i64>, catch_up: bool, auto_reply: bool) {
        let now = self.now;
        if until.is_some_and(|u| u <= now) {
            // Its end has passed: nothing to hold.
            self.fx.notices.push(Notice::PauseOver {
                contact: self.cid,
                until: until.unwrap_or(now),
            });
            return;
        }
        let en = &mut self.c.enrolments[li];
        let held = en.held();
        if held.is_some_and(|h| h.until == until && h.catch_up == catch_up) {
            // The same pause again (an input applied twice): nothing changes.
            return;
        }
        let since = held.map_or(now, |h| h.since);
        en.set_held(Some(Held {
            since,
            until,
            catch_up,
        }));
        let step = en.step;
        self.emit(
            li,
            Kind::Paused {
                step,
                until,
                auto_reply,
            },
        );
        self.bump_keeping_fired(li);
    }

    /// Resumes a paused enrolment now. Without `catch_up`, the time it spent paused is taken
    /// out of its wait: a step due 2 days after it was entered is due 2 days of unpaused time
    /// after it; with `catch_up`, what fell due meanwhile is due now.
    fn resume(&mut self, li: usize, catch_up: bool) {
        let now = self.now;
        let Some(h) = self.c.enrolments[li].held() else {
            return;
        };
        self.c.enrolments[li].set_held(None);
        let step = self.c.enrolments[li].step;
        self.emit(li, Kind::Resumed { step, catch_up });
        // How long the wait was held: from the pause, or from when the step was entered (or
        // executed) during it.
        let held_for = |from: i64| now - from.max(h.since);
        match self.c.enrolments[li].phase {
            Phase::Ended => {}
            Phase::Pending {
                entered,
                due,
                since,
            } => {
                if catch_up {
                    self.bump(li);
                    self.schedule_since(li, due.max(now), entered, since.min(due));
                    return;
                }
                let moved = entered + held_for(entered);
                match self.core.due_time(self.c, li, moved) {
                    Ok(d) => {
                        self.bump(li);
                        let d = d.max(now);
                        let since = (since + (moved - entered)).min(d);
                        self.schedule_since(li, d, moved, since);
                    }
                    Err(reason) => self.skip(li, reason),
                }
            }
            Phase::Waiting { exec, .. } => {
                let en = &mut self.c.enrolments[li];
                let at = en.execs[exec as usize].at;
                if !catch_up {
                    let shift = en.shift();
                    en.set_shift(shift + held_for(at + shift));
                }
                en.phase = Phase::Waiting { exec, armed: now };
                self.bump_keeping_fired(li);
                self.schedule_timeouts(li, at);
            }
        }
    }

    /// [`Cx::bump`], keeping the record of the timeouts that fired without effect (the
    /// enrolment did not move: they are not to fire again).
    fn bump_keeping_fired(&mut self, li: usize) {
        let fired = self.c.enrolments[li].fired;
        self.bump(li);
        self.c.enrolments[li].fired = fired;
    }

    /// [`Cx::active_of`]; when there is none, the input is noted as changing nothing.
    fn active_or_note(&mut self, cadence: Option<u32>) -> Vec<usize> {
        let active = self.active_of(cadence);
        if active.is_empty() {
            self.fx.notices.push(Notice::NotEnrolled {
                contact: self.cid,
                cadence,
            });
        }
        active
    }

    /// Active enrolments, in order, of one cadence (any of its versions) or of all.
    fn active_of(&self, cadence: Option<u32>) -> Vec<usize> {
        let family = cadence.map(|c| self.core.family(c));
        self.c
            .enrolments
            .iter()
            .enumerate()
            .filter(|(_, en)| {
                en.is_active() && family.is_none_or(|f| f == self.core.family(en.cadence))
            })
            .map(|(i, _)| i)
            .collect()
    }

    fn zone(&self, cadence: u32) -> Tz {
        self.core.zone(cadence, self.c)
    }

    fn ctx(&self, cadence: u32, tz: Tz) -> Ctx<'_> {
        Ctx {
            fields: &self.c.fields,
            map: &self.core.catalog.maps[cadence as usize],
            now: self.now,
            tz,
            holidays: &self.program().cadences[cadence as usize].holidays,
        }
    }

    fn emit(&mut self, li: usize, kind: Kind) {
        let cadence = self.c.enrolments[li].cadence;
        let tz = self.program().cadences[cadence as usize]
            .uses_zone()
            .then(|| self.core.zone(cadence, self.c));
        self.fx.records.push(Record {
            at: self.now,
            contact: self.cid,
            cadence,
            kind,
            tz,
        });
    }

    fn step_of(&self, li: usize) -> &'p Step {
        let en = &self.c.enrolments[li];
        &self.program().cadences[en.cadence as usize].steps[en.step as usize]
    }

    /// Moves an enrolment to a new generation: its timers so far are stale. A paused
    /// enrolment's automatic resume is scheduled again in the new generation.
    fn bump(&mut self, li: usize) {
        let en = &mut self.c.enrolments[li];
        en.generation = en.generation.wrapping_add(1);
        en.fired = 0;
        if let Some(Held { until: Some(u), .. }) = en.held() {
            self.fx.timers.push(resume_timer(en, u));
        }
    }

    // ---- enrolment ----------------------------------------------------------------------------

    fn evaluate_enrolment(&mut self) {
        for cad in 0..self.program().cadences.len() {
            if !self.core.is_current(cad as u32) {
                continue;
            }
            let Some(cond) = &self.program().cadences[cad].enroll else {
                continue;
            };
            let tz = self.zone(cad as u32);
            let holds = truth(cond, &self.ctx(cad as u32, tz));
            let was = std::mem::replace(&mut self.c.enroll_cond[cad], holds);
            if holds && !was {
                let _ = self.enroll(cad as u32);
            }
        }
    }

    /// Enrols the contact in a cadence now; `Err` says why it cannot be.
    fn enroll(&mut self, cadence: u32) -> Result<usize, Notice> {
        let program = self.program();
        let cad = &program.cadences[cadence as usize];
        let family = self.core.family(cadence);
        let last = self
            .c
            .enrolments
            .iter()
            .rev()
            .find(|e| self.core.family(e.cadence) == family);
        if let Some(prev) = last {
            if prev.is_active() {
                let pcad = &program.cadences[prev.cadence as usize];
                return Err(Notice::AlreadyEnrolled {
                    contact: self.cid,
                    cadence,
                    step: pcad.steps[prev.step as usize].number,
                });
            }
            match cad.reenroll {
                None => {
                    return Err(Notice::EnrolledBefore {
                        contact: self.cid,
                        cadence,
                    })
                }
                Some(d) => {
                    let tz = self.zone(cadence);
                    let from = add(prev.started, d, tz, &cad.holidays);
                    if self.now < from {
                        return Err(Notice::ReenrolFrom {
                            contact: self.cid,
                            cadence,
                            from,
                        });
                    }
                }
            }
        }
        let id = self.shared.new_enrolment();
        let li = self.c.enrolments.len();
        self.c.enrolments.push(Enrolment {
            id,
            contact: self.cid,
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
            fired: 0,
            spin: (i64::MIN, 0),
            pause: None,
        });
        self.emit(li, Kind::Enrolled);
        if let Some(h) = self.shared.cadence_paused(family, self.now) {
            if !cad.steps.is_empty() {
                self.c.enrolments[li].set_held(Some(Held {
                    since: self.now,
                    ..h
                }));
                self.emit(
                    li,
                    Kind::Paused {
                        step: 0,
                        until: h.until,
                        auto_reply: false,
                    },
                );
            }
        }
        if cad.steps.is_empty() {
            self.end(li, Kind::Completed);
        } else {
            self.enter(li, 0);
        }
        Ok(li)
    }

    fn end(&mut self, li: usize, kind: Kind) {
        self.emit(li, kind);
        let now = self.now;
        if let Phase::Waiting { exec, .. } = self.c.enrolments[li].phase {
            let task = self.exec_is_task(li, exec);
            self.fx.actions.push(Act::Left {
                enrolment: li as u32,
                exec,
                ended: true,
                task,
            });
        }
        self.c.enrolments[li].pause = None;
        self.bump(li);
        let en = &mut self.c.enrolments[li];
        en.phase = Phase::Ended;
        en.ended = Some(now);
    }

    /// Enters step `i` now: computes its due time, or skips it (and the ones after it that are
    /// skipped too).
    fn enter(&mut self, li: usize, mut i: u32) {
        loop {
            self.c.enrolments[li].step = i;
            self.bump(li);
            let entered = self.now;
            match self.core.due_time(self.c, li, entered) {
                Ok(due) => {
                    self.schedule_since(li, due, entered, due);
                    return;
                }
                Err(reason) => {
                    self.emit(li, Kind::Skipped { step: i, reason });
                    match self.after_skip(li) {
                        Some(j) => i = j,
                        None => return,
                    }
                }
            }
        }
    }

    fn schedule_since(&mut self, li: usize, due: i64, entered: i64, since: i64) {
        let en = &mut self.c.enrolments[li];
        en.phase = Phase::Pending {
            entered,
            due,
            since,
        };
        let t = Timer {
            due,
            since,
            enrolment: en.id,
            slot: 0,
            generation: en.generation,
        };
        self.fx.timers.push(t);
    }

    // ---- timers -------------------------------------------------------------------------------

    /// Evaluates the cadence's `exit when` / `goal when` rules; ends the enrolment on a match.
    fn when_rules(&mut self, li: usize) -> bool {
        let cad_i = self.c.enrolments[li].cadence;
        let cad = &self.program().cadences[cad_i as usize];
        let tz = self.zone(cad_i);
        let mut hit = None;
        {
            let cx = self.ctx(cad_i, tz);
            for (r, _) in &self.core.rules[cad_i as usize] {
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
                self.end(li, rule_kind(r));
                true
            }
            None => false,
        }
    }

    fn fire_due(&mut self, li: usize) {
        if self.when_rules(li) {
            return;
        }
        let en = &self.c.enrolments[li];
        let (cad_i, step_i) = (en.cadence, en.step);
        let cad = &self.program().cadences[cad_i as usize];
        let step = &cad.steps[step_i as usize];
        let tz = self.zone(cad_i);
        if let Some(g) = &step.guard {
            if !truth(g, &self.ctx(cad_i, tz)) {
                return self.skip(li, SkipReason::Condition);
            }
        }
        if let Action::Email { .. } = step.action {
            if self.c.unsubscribed {
                return self.skip(li, SkipReason::Unsubscribed);
            }
            let Some(address) = self.core.address(cad_i, self.c) else {
                return self.skip(li, SkipReason::NoEmail);
            };
            if self.c.bounced.as_deref() == Some(address) {
                return self.skip(li, SkipReason::Bounced);
            }
            // Another record (or this one before its address changed) bounced or unsubscribed
            // with this address.
            match self.shared.suppressed(&address_key(address)) {
                Some(Suppressed::Bounced) => return self.skip(li, SkipReason::Bounced),
                Some(Suppressed::Unsubscribed) => return self.skip(li, SkipReason::Unsubscribed),
                None => {}
            }
            if let Some(limit) = cad.limit_per_day {
                // The day of a limit is the cadence's, never the contact's (spec 6, item 2).
                let tz = match &cad.zone {
                    Zone::Fixed(z) => *z,
                    Zone::Field { default, .. } => *default,
                };
                let day = local_date(self.now, tz).num_days_from_ce() as i64;
                let sender = self.core.sender(cad_i, step_i);
                let family = self.core.family(cad_i);
                if !self.shared.take_send(family, sender, day, limit) {
                    let next_day = local_date(self.now, tz).succ_opt().unwrap_or_default();
                    let midnight = day_start(next_day, tz);
                    // The next day is the cadence's; the window that then opens is the
                    // contact's, as for any email.
                    let contact_tz = self.core.zone(cad_i, self.c);
                    let until = match &cad.window {
                        Some(w) => {
                            next_window(midnight, w, contact_tz, &cad.holidays).unwrap_or(midnight)
                        }
                        None => midnight,
                    };
                    return self.defer(
                        li,
                        Kind::Deferred {
                            step: step_i,
                            until,
                        },
                        until,
                    );
                }
            }
        }
        let owner = match step.action {
            Action::Email { .. } => None,
            _ => self.core.owner_of(cad_i, step_i, self.c),
        };
        if let Some(until) = owner
            .as_deref()
            .and_then(|o| self.shared.owner_away(o, self.now))
        {
            return self.defer(
                li,
                Kind::Held {
                    step: step_i,
                    until,
                },
                until,
            );
        }
        // Execute.
        let variant = self
            .core
            .template_for(cad_i, step_i, &self.c.id)
            .map_or(0, |(_, v)| v);
        let (owner, due) = match step.action {
            Action::Email { .. } => (0, self.now),
            _ => (
                owner.map_or(0, |o| self.fx.owner_id(&o)),
                self.core.task_due(cad_i, step_i, self.c, self.now),
            ),
        };
        self.emit(
            li,
            Kind::Executed {
                step: step_i,
                variant,
                owner,
                due,
            },
        );
        let now = self.now;
        let en = &mut self.c.enrolments[li];
        en.set_shift(0);
        en.execs.push(Exec {
            step: step_i,
            at: now,
            outcomes: 0,
        });
        let exec = (en.execs.len() - 1) as u32;
        self.c.exec_seq += 1;
        self.c.last_exec[channel_slot(step.action.channel())] = Some(LastExec {
            at: now,
            seq: self.c.exec_seq,
            enrolment: li as u32,
            exec,
        });
        self.fx.actions.push(Act::Executed {
            enrolment: li as u32,
            exec,
            variant,
        });
        if !step.waits() {
            return self.fall_through(li);
        }
        self.bump(li);
        self.c.enrolments[li].phase = Phase::Waiting { exec, armed: now };
        self.schedule_timeouts(li, now);
    }

    /// Moves a due step to `until` (the daily limit, an owner away), keeping its place among
    /// the steps due then: `why` is the record that says so.
    fn defer(&mut self, li: usize, why: Kind, until: i64) {
        self.emit(li, why);
        let (entered, since) = match self.c.enrolments[li].phase {
            Phase::Pending { entered, since, .. } => (entered, since),
            _ => (self.now, self.now),
        };
        self.bump(li);
        self.schedule_since(li, until, entered, since);
    }

    /// Schedules the timeouts of the step an enrolment waits at, counted from its execution at
    /// `at` (a timeout already past falls due now).
    fn schedule_timeouts(&mut self, li: usize, at: i64) {
        let (core, c, fx, now) = (self.core, &*self.c, &mut *self.fx, self.now);
        core.timeouts(c, &c.enrolments[li], at, now, &mut |t| fx.timers.push(t));
    }

    /// Moves one enrolment into version `to` (see [`Core::migrate`]).
    fn migrate(&mut self, li: usize, to: u32, m: &'p crate::check::Migration) -> bool {
        use crate::check::MigrateTo;
        let program = self.program();
        let from_cadence = self.c.enrolments[li].cadence;
        let old = &program.cadences[from_cadence as usize];
        let new = &program.cadences[to as usize];
        let from_step = self.c.enrolments[li].step;
        let old_step = &old.steps[from_step as usize];
        let (dest, rule) = match m.destination(new, old_step.number, old_step.label.as_deref()) {
            Destination::Mapped(i, to) => (to.clone(), Some(i)),
            Destination::Kept(j) => (MigrateTo::Step(j), None),
            // Neither mapped nor kept: it stays where it is.
            Destination::Stranded => return false,
        };
        let kept = rule.is_none();
        // The steps of earlier executions, in the new version: the mapped or kept step, or
        // (a step that is gone) the one the enrolment moves to; and whether it keeps no step of
        // its own (gone, mapped away, or now of another channel).
        let fallback = match dest {
            MigrateTo::Step(j) => j as u32,
            _ => 0,
        };
        let remap = |idx: u32| -> (u32, bool) {
            let s = &old.steps[idx as usize];
            let (to, orphan) = match m.destination(new, s.number, s.label.as_deref()) {
                Destination::Mapped(_, MigrateTo::Step(j)) => (*j as u32, true),
                Destination::Kept(j) => (j as u32, false),
                _ => (fallback, true),
            };
            (
                to,
                orphan || new.steps[to as usize].action.channel() != s.action.channel(),
            )
        };
        let waiting = match self.c.enrolments[li].phase {
            Phase::Waiting { exec, .. } => Some(exec),
            _ => None,
        };
        // Leaving the step it waited at (for another step, or its end): said now, while the
        // execution is still the old step's.
        if let (Some(exec), false) = (waiting, kept) {
            let task = self.exec_is_task(li, exec);
            self.fx.actions.push(Act::Left {
                enrolment: li as u32,
                exec,
                ended: !matches!(dest, MigrateTo::Step(_)),
                task,
            });
            // Not waiting any more: `end` below says nothing again.
            self.c.enrolments[li].phase = Phase::Pending {
                entered: self.now,
                due: self.now,
                since: self.now,
            };
        }
        {
            let en = &mut self.c.enrolments[li];
            for ex in &mut en.execs {
                let (step, orphan) = remap(ex.step);
                if orphan {
                    ex.outcomes |= ORPHAN;
                }
                ex.step = step;
            }
            en.cadence = to;
        }
        let to_record = match dest {
            MigrateTo::Step(j) => To::Step(j as u32),
            MigrateTo::Done => To::Done,
            MigrateTo::Exit(_) => To::Exit,
        };
        self.emit(
            li,
            Kind::Migrated {
                from_cadence,
                from_step,
                to: to_record,
            },
        );
        if let MigrateTo::Step(j) = dest {
            // The new version's `exit when` / `goal when` rules hold now, as after a change.
            self.c.enrolments[li].step = j as u32;
            if self.when_rules(li) {
                return true;
            }
        }
        match dest {
            MigrateTo::Exit(_) => {
                let i = rule.unwrap_or(0) as u32;
                self.end(
                    li,
                    Kind::Exited {
                        reason: ExitReason::Migration(i),
                    },
                );
            }
            MigrateTo::Done => self.end(li, Kind::Completed),
            MigrateTo::Step(j) if kept => {
                self.c.enrolments[li].step = j as u32;
                match (self.c.enrolments[li].phase, waiting) {
                    (Phase::Pending { entered, since, .. }, _) => {
                        match self.core.due_time(self.c, li, entered) {
                            Ok(due) => {
                                self.bump(li);
                                self.schedule_since(li, due.max(self.now), entered, since.min(due));
                            }
                            Err(reason) => self.skip(li, reason),
                        }
                    }
                    (_, Some(exec)) => {
                        let at = self.c.enrolments[li].execs[exec as usize].at;
                        self.bump(li);
                        if new.steps[j].waits() {
                            self.c.enrolments[li].phase = Phase::Waiting {
                                exec,
                                armed: self.now,
                            };
                            self.schedule_timeouts(li, at);
                        } else {
                            // The new step waits for nothing: on to its next.
                            self.fall_through(li);
                        }
                    }
                    _ => {}
                }
            }
            MigrateTo::Step(j) => self.enter(li, j as u32),
        }
        true
    }

    /// Whether execution `exec` of an enrolment is a call or a task.
    fn exec_is_task(&self, li: usize, exec: u32) -> bool {
        let en = &self.c.enrolments[li];
        en.execs.get(exec as usize).is_some_and(|x| {
            x.outcomes & ORPHAN == 0
                && self.program().cadences[en.cadence as usize].steps[x.step as usize]
                    .action
                    .channel()
                    != Channel::Email
        })
    }

    fn skip(&mut self, li: usize, reason: SkipReason) {
        let step = self.c.enrolments[li].step;
        self.emit(li, Kind::Skipped { step, reason });
        if let Some(j) = self.after_skip(li) {
            self.enter(li, j);
        }
    }

    fn fall_through(&mut self, li: usize) {
        match self.step_of(li).next {
            Target::Step(j) => self.enter(li, j as u32),
            _ => self.end(li, Kind::Completed),
        }
    }

    fn fire_timeout(&mut self, li: usize, h: u32) {
        let en = &self.c.enrolments[li];
        let Phase::Waiting { exec, .. } = en.phase else {
            return;
        };
        let outcomes = en.execs[exec as usize].outcomes;
        let step = self.step_of(li);
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
            self.transition(li, h);
        }
    }

    /// Follows handler `h` of the current step.
    fn transition(&mut self, li: usize, h: u32) {
        if let Some(j) = self.take(li, h) {
            self.enter(li, j);
        }
    }

    /// Takes handler `h` of the step an enrolment is at: records the transition and returns the
    /// step to enter, or ends the enrolment (`None`).
    fn take(&mut self, li: usize, h: u32) -> Option<u32> {
        let from = self.c.enrolments[li].step;
        if let Phase::Waiting { exec, .. } = self.c.enrolments[li].phase {
            let task = self.exec_is_task(li, exec);
            self.fx.actions.push(Act::Left {
                enrolment: li as u32,
                exec,
                ended: false,
                task,
            });
        }
        let target = &self.step_of(li).handlers[h as usize].target;
        let to = match target {
            Target::Step(j) => To::Step(*j as u32),
            Target::Done => To::Done,
            Target::Exit(_) => To::Exit,
        };
        self.emit(
            li,
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
                    let now = self.now;
                    let spin = &mut self.c.enrolments[li].spin;
                    if spin.0 == now {
                        spin.1 += 1;
                    } else {
                        *spin = (now, 1);
                    }
                    if spin.1 > MAX_SPINS {
                        self.end(
                            li,
                            Kind::Exited {
                                reason: ExitReason::Loop,
                            },
                        );
                        return None;
                    }
                }
                Some(j)
            }
            To::Done => {
                self.end(li, Kind::Completed);
                None
            }
            To::Exit => {
                self.end(
                    li,
                    Kind::Exited {
                        reason: ExitReason::Handler {
                            step: from,
                            handler: h,
                        },
                    },
                );
                None
            }
        }
    }

    /// Where an enrolment goes once the step it is at was skipped: its `on skipped` line, or
    /// the next step (`None`: the enrolment ended).
    fn after_skip(&mut self, li: usize) -> Option<u32> {
        let step = self.step_of(li);
        if let Some(h) = step
            .handlers
            .iter()
            .position(|h| h.event == HandlerEvent::Skipped)
        {
            return self.take(li, h as u32);
        }
        match step.next {
            Target::Step(j) => Some(j as u32),
            _ => {
                self.end(li, Kind::Completed);
                None
            }
        }
    }

    // ---- events -------------------------------------------------------------------------------

    /// The message an outcome belongs to: the named step, or the most recent executed step of a
    /// channel that has this outcome, in the named cadence or any.
    fn find_message(
        &self,
        o: Outcome,
        step: Option<u32>,
        cadence: Option<u32>,
    ) -> Option<(usize, u32)> {
        if step.is_none() && cadence.is_none() {
            return [Channel::Email, Channel::Call, Channel::Task]
                .into_iter()
                .filter(|ch| o.fits(*ch))
                .filter_map(|ch| self.c.last_exec[channel_slot(ch)])
                .max()
                .map(|l| (l.enrolment as usize, l.exec));
        }
        let family = cadence.map(|c| self.core.family(c));
        let mut best: Option<(i64, usize, u32)> = None;
        for (li, en) in self.c.enrolments.iter().enumerate() {
            if family.is_some_and(|f| f != self.core.family(en.cadence)) {
                continue;
            }
            let cad = &self.program().cadences[en.cadence as usize];
            for (x, ex) in en.execs.iter().enumerate().rev() {
                if ex.outcomes & ORPHAN != 0 {
                    continue;
                }
                let s = &cad.steps[ex.step as usize];
                if step.is_some_and(|n| n != s.number) || !o.fits(s.action.channel()) {
                    continue;
                }
                if best.is_none_or(|(at, ..)| ex.at >= at) {
                    best = Some((ex.at, li, x as u32));
                }
                break;
            }
        }
        best.map(|(_, li, x)| (li, x))
    }

    fn unsubscribe_all(&mut self, key: EventKey, record_event: bool) {
        self.c.unsubscribed = true;
        // Every address the record has now is unsubscribed, whichever record uses it later.
        let mut addresses: Vec<String> = (0..self.program().cadences.len() as u32)
            .filter_map(|ci| {
                self.core
                    .address(ci, self.c)
                    .map(|a| address_key(a).into_owned())
            })
            .collect();
        addresses.sort();
        addresses.dedup();
        for a in addresses {
            self.shared.suppress(&a, Suppressed::Unsubscribed);
        }
        for a in self.active_of(None) {
            if record_event {
                let cur = self.c.enrolments[a].step;
                self.emit(
                    a,
                    Kind::Event {
                        step: Some(cur),
                        event: key,
                        machine: false,
                    },
                );
            }
            self.end(
                a,
                Kind::Exited {
                    reason: ExitReason::Unsubscribed,
                },
            );
        }
    }

    fn event(
        &mut self,
        key: EventKey,
        step: Option<u32>,
        cadence: Option<u32>,
        machine: bool,
        message: Option<(u64, u32)>,
        back: Option<chrono::NaiveDate>,
    ) {
        let o = match key {
            EventKey::Custom(i) => {
                let active = self.active_of(cadence);
                if active.is_empty() {
                    self.fx.notices.push(Notice::NoActiveEnrolment {
                        contact: self.cid,
                        cadence,
                        event: key,
                    });
                }
                for li in active {
                    let cur = self.c.enrolments[li].step;
                    self.emit(
                        li,
                        Kind::Event {
                            step: Some(cur),
                            event: key,
                            machine: false,
                        },
                    );
                    self.event_rules(li, EventName::Custom(i as usize));
                }
                return;
            }
            EventKey::Outcome(o) => o,
        };
        let found = match message {
            Some((id, x)) => self
                .c
                .enrolments
                .iter()
                .position(|en| en.id == id)
                .filter(|li| {
                    let en = &self.c.enrolments[*li];
                    en.execs.get(x as usize).is_some_and(|ex| {
                        let cad = &self.program().cadences[en.cadence as usize];
                        ex.outcomes & ORPHAN != 0
                            || o.fits(cad.steps[ex.step as usize].action.channel())
                    })
                })
                .map(|li| (li, x)),
            None => self.find_message(o, step, cadence),
        };
        let Some((li, x)) = found else {
            if o == Outcome::Unsubscribed {
                // An unsubscribe is about the person, not one message: it always applies.
                return self.unsubscribe_all(key, true);
            }
            self.fx.notices.push(Notice::NoMessage {
                contact: self.cid,
                outcome: o,
                step,
                cadence,
            });
            return;
        };
        let exec = self.c.enrolments[li].execs[x as usize];
        // The message of a step a migration removed: recorded without a step.
        let exec_step = (exec.outcomes & ORPHAN == 0).then_some(exec.step);
        // Only opens and clicks are told apart; a machine's counts where the cadence says so.
        let machine = machine && matches!(o, Outcome::Opened | Outcome::Clicked);
        self.emit(
            li,
            Kind::Event {
                step: exec_step,
                event: key,
                machine,
            },
        );
        if machine {
            let cad = &self.program().cadences[self.c.enrolments[li].cadence as usize];
            if !cad.track.counts_machine(o.name()) {
                // Recorded and counted apart; no outcome, branch, rule or timeout sees it.
                return;
            }
        }
        self.c.enrolments[li].execs[x as usize].outcomes |= o.bit();
        self.fx.actions.push(Act::Outcome {
            enrolment: li as u32,
            exec: x,
            outcome: o,
        });

        if o == Outcome::Bounced {
            let cad_i = self.c.enrolments[li].cadence;
            if let Some(gid) = self.core.email_gid[cad_i as usize] {
                if let Some(Value::Text(a)) = self.c.fields.get(gid) {
                    self.c.bounced = Some(a.clone());
                    let key = address_key(a);
                    self.shared.suppress(&key, Suppressed::Bounced);
                }
            }
        }
        if o == Outcome::Unsubscribed {
            return self.unsubscribe_all(key, false);
        }
        let en = &self.c.enrolments[li];
        if !en.is_active() {
            self.fx.notices.push(Notice::EnrolmentEnded {
                contact: self.cid,
                outcome: o,
                cadence: en.cadence,
                ended: en.ended.unwrap_or(self.now),
            });
            return;
        }
        if self.event_rules(li, EventName::Outcome(o)) {
            return;
        }
        let en = &self.c.enrolments[li];
        if matches!(en.phase, Phase::Waiting { exec, .. } if exec == x) {
            let handlers = &self.step_of(li).handlers;
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
                self.transition(li, h as u32);
                return self.out_of_office(li, o, back);
            }
        }
        if o == Outcome::Bounced {
            self.end(
                li,
                Kind::Exited {
                    reason: ExitReason::Bounced,
                },
            );
        }
        self.out_of_office(li, o, back);
    }

    /// `pause on auto_reply [D]`: an out-of-office answer pauses the enrolment until the day
    /// after the one it names (in the contact's zone), or for `D` when it names none. A pause
    /// made by hand with no end, or one that ends later, is left as it is.
    fn out_of_office(&mut self, li: usize, o: Outcome, back: Option<chrono::NaiveDate>) {
        let en = &self.c.enrolments[li];
        let cad = &self.program().cadences[en.cadence as usize];
        let (Outcome::AutoReply, Some(default), true) =
            (o, cad.pause_on_auto_reply, en.is_active())
        else {
            return;
        };
        let tz = self.zone(en.cadence);
        let until = match back.and_then(|d| d.succ_opt()) {
            Some(day) => day_start(day, tz),
            None => add(self.now, default, tz, &cad.holidays),
        };
        if until <= self.now {
            // The day named has passed: they are back.
            return;
        }
        match en.held() {
            Some(h) if h.until.is_none_or(|u| u >= until) => {}
            _ => self.pause(li, Some(until), false, true),
        }
    }

    /// Cadence-wide `exit on` / `goal on` rules; ends the enrolment on a match.
    fn event_rules(&mut self, li: usize, name: EventName) -> bool {
        let cad_i = self.c.enrolments[li].cadence;
        let cad = &self.program().cadences[cad_i as usize];
        let hit = self.core.rules[cad_i as usize]
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
                self.end(li, rule_kind(r));
                true
            }
            None => false,
        }
    }

    // ---- field changes ------------------------------------------------------------------------

    fn set(&mut self, gid: u16, value: Option<Value>) {
        if !self.c.fields.set(gid, value) {
            return;
        }
        for li in self.active_of(None) {
            if self.when_rules(li) {
                continue;
            }
            // A pending `at FIELD` step follows its field.
            let en = &self.c.enrolments[li];
            let Phase::Pending { entered, due, .. } = en.phase else {
                continue;
            };
            let step = self.step_of(li);
            let Some(At::Field { field, .. }) = &step.at else {
                continue;
            };
            if self.core.catalog.maps[en.cadence as usize][field.0] != gid {
                continue;
            }
            // Computed again from the entry: a time before the entry skips the step; a time
            // between the entry and now is due at once.
            let now = self.now;
            match self
                .core
                .due_time(self.c, li, entered)
                .map(|new| new.max(now))
            {
                Ok(new) if new != due => {
                    self.bump(li);
                    self.schedule_since(li, new, entered, new);
                }
                Ok(_) => {}
                Err(reason) => self.skip(li, reason),
            }
        }
        self.evaluate_enrolment();
    }
}
