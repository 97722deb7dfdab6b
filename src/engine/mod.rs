//! The interpreter: a pure, deterministic state machine. It takes the checked program,
//! contacts, inputs (enrolments, events, field changes) and the time, and produces trace
//! records. No I/O, no wall clock, no randomness.
//!
//! The unit of state is one contact: [`core`] applies an input or a due timer to one contact's
//! state. [`Engine`] is the in-memory driver of the simulator, the REPL and the tests: it keeps
//! every contact, and one binary heap of timers keyed by (due, first due, enrolment order, step,
//! slot), which is exactly the order the language specifies for things due at the same instant.
//! The live runner (`crate::runner`) drives the same core over a database.

pub mod calendar;
pub mod core;
mod eval;
pub(crate) mod hash;
pub mod state;
pub mod trace;
pub mod variant;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use chrono_tz::Tz;

use crate::check::Program;
pub use calendar::format_instant;
pub use core::{
    pause_holds, zone_of, Act, Catalog, Core, Effects, Input, LocalShared, Notice, Shared,
};
use hash::FastHash;
pub use state::{
    Contact, ContactId, Enrolment, EnrolmentId, Exec, Fields, Held, LastExec, PauseState, Phase,
    Snapshot, Stamp, Timer, ORPHAN, RESUME_SLOT,
};
pub use trace::{EventKey, ExitReason, Kind, Record, SkipReason, To};

/// A deploy prepared by [`Engine::prepare_deploy`].
pub struct Deploy {
    pub program: Program,
    pub family: Vec<u32>,
    pub current: Vec<bool>,
    pub snapshot: Snapshot,
    /// The version hash of each cadence of `program`.
    pub hashes: Vec<String>,
    /// Per new cadence: whether its `migrate` block applies (false when it repeats the
    /// running version word for word).
    pub apply: Vec<bool>,
}

/// The in-memory driver: every contact, one timer heap, the daily counters.
pub struct Engine<'p> {
    core: Core<'p>,
    contacts: Vec<Contact>,
    index: HashMap<String, ContactId, FastHash>,
    /// Enrolment id -> (contact, position in its enrolments).
    enrolment_index: Vec<(ContactId, u32)>,
    /// Enrolment id -> which of its timers are live: stale timers are dropped without
    /// touching their contact.
    stamps: Vec<Stamp>,
    timers: BinaryHeap<Reverse<Timer>>,
    shared: LocalShared,
    now: i64,
    /// What the core produced; its records accumulate until taken.
    fx: Effects,
}

impl<'p> Engine<'p> {
    pub fn new(program: &'p Program) -> Engine<'p> {
        Engine {
            core: Core::new(program),
            contacts: Vec::new(),
            index: HashMap::default(),
            enrolment_index: Vec::new(),
            stamps: Vec::new(),
            timers: BinaryHeap::new(),
            shared: LocalShared::default(),
            now: 0,
            fx: Effects::default(),
        }
    }

    pub fn program(&self) -> &'p Program {
        self.core.program
    }

    pub fn catalog(&self) -> &Catalog {
        &self.core.catalog
    }

    pub fn core(&self) -> &Core<'p> {
        &self.core
    }

    /// The name an `executed` record's owner id stands for (0: nobody).
    pub fn owner_name(&self, id: u32) -> Option<&str> {
        self.fx.owner_name(id)
    }

    /// Gives contact `contact` variant `variant` of step `step` (an index) of cadence
    /// `cadence`, whatever its hash says (a test's `pin`).
    pub fn pin_variant(&mut self, contact: &str, cadence: u32, step: u32, variant: u8) {
        self.core.pin_variant(contact, cadence, step, variant);
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

    /// One enrolment by id.
    pub fn enrolment(&self, id: EnrolmentId) -> &Enrolment {
        let (c, li) = self.enrolment_index[id as usize];
        &self.contacts[c as usize].enrolments[li as usize]
    }

    /// Every enrolment, in the order of enrolment.
    pub fn enrolments(&self) -> impl Iterator<Item = &Enrolment> + '_ {
        self.enrolment_index
            .iter()
            .map(|&(c, li)| &self.contacts[c as usize].enrolments[li as usize])
    }

    /// Adds a record. Its `enroll when` rules are evaluated by [`Engine::start`] or
    /// [`Engine::evaluate_enrolment`].
    /// Makes room for `n` more contacts at once: a million contacts then cost one allocation
    /// of the table instead of twenty doublings, each copying it and touching fresh pages.
    pub fn reserve_contacts(&mut self, n: usize) {
        self.contacts.reserve(n);
        self.index.reserve(n);
    }

    pub fn add_contact(&mut self, id: &str, fields: Fields) -> Result<ContactId, String> {
        if self.index.contains_key(id) {
            return Err(format!("contact `{id}` is defined twice"));
        }
        let cid = self.contacts.len() as ContactId;
        self.index.insert(id.to_string(), cid);
        self.contacts.push(self.core.new_contact(id, fields));
        Ok(cid)
    }

    /// Starts the clock at `t` and enrols every record whose `enroll when` holds.
    pub fn start(&mut self, t: i64) {
        self.now = t;
        for c in 0..self.contacts.len() {
            self.evaluate_enrolment(c as ContactId);
        }
    }

    /// Takes in what the core produced for contact `cid`: records, timers, enrolments.
    fn absorb(&mut self, cid: ContactId) {
        for t in self.fx.timers.drain(..) {
            self.timers.push(Reverse(t));
        }
        let c = &self.contacts[cid as usize];
        for (li, en) in c.enrolments.iter().enumerate() {
            match self.stamps.get_mut(en.id as usize) {
                Some(s) => *s = en.stamp(),
                None => {
                    debug_assert_eq!(en.id as usize, self.stamps.len());
                    self.stamps.push(en.stamp());
                    self.enrolment_index.push((cid, li as u32));
                }
            }
        }
        self.fx.actions.clear();
    }

    /// Enrols the contact in every cadence whose `enroll when` has become true.
    pub fn evaluate_enrolment(&mut self, contact: ContactId) {
        let c = &mut self.contacts[contact as usize];
        self.core
            .evaluate_enrolment(c, contact, self.now, &mut self.shared, &mut self.fx);
        self.absorb(contact);
    }

    /// Takes the records produced so far.
    pub fn take_records(&mut self) -> Vec<Record> {
        std::mem::take(&mut self.fx.records)
    }

    /// The records produced so far, without taking them.
    pub fn records(&self) -> &[Record] {
        &self.fx.records
    }

    /// Clears the records produced so far, keeping the buffer.
    pub fn clear_records(&mut self) {
        self.fx.records.clear();
    }

    /// The due time of the next live timer.
    pub fn next_due(&mut self) -> Option<i64> {
        while let Some(Reverse(t)) = self.timers.peek() {
            if self.stamps[t.enrolment as usize].is_live(t) {
                return Some(t.due);
            }
            self.timers.pop();
        }
        None
    }

    /// Live timers, in firing order (for status and agenda views).
    pub fn pending_timers(&self) -> Vec<Timer> {
        let mut v: Vec<Timer> = self
            .contacts
            .iter()
            .flat_map(|c| self.core.live_timers(c))
            .collect();
        v.sort();
        v
    }

    /// Runs every timer due before `t` (and at `t` when `inclusive`), then sets the clock to `t`.
    pub fn run_until(&mut self, t: i64, inclusive: bool) {
        // A stale timer (its enrolment moved on) is dropped when it comes up: `fire` does
        // nothing with it.
        while let Some(Reverse(top)) = self.timers.peek() {
            if top.due > t || (top.due == t && !inclusive) {
                break;
            }
            let Some(Reverse(timer)) = self.timers.pop() else {
                break;
            };
            if !self.stamps[timer.enrolment as usize].is_live(&timer) {
                continue;
            }
            // The next timer's contact is most likely not in cache: ask for it now, so that the
            // memory is on its way while this one runs.
            if let Some(Reverse(next)) = self.timers.peek() {
                if let Some(&(nc, _)) = self.enrolment_index.get(next.enrolment as usize) {
                    prefetch(&self.contacts[nc as usize]);
                }
            }
            let cid = self.enrolment_index[timer.enrolment as usize].0;
            let c = &mut self.contacts[cid as usize];
            self.now = self.now.max(timer.due);
            self.core
                .fire(c, cid, self.now, timer, &mut self.shared, &mut self.fx);
            self.absorb(cid);
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
        let cid = input.contact();
        let c = &mut self.contacts[cid as usize];
        self.core
            .apply(c, cid, self.now, input, &mut self.shared, &mut self.fx);
        let notes = std::mem::take(&mut self.fx.notices);
        self.absorb(cid);
        notes
    }

    /// Pauses cadence `cadence` as a whole at `at`: every active enrolment in it (any version)
    /// pauses, and enrolments made while the pause holds start paused. Returns how many
    /// contacts paused.
    pub fn pause_cadence(
        &mut self,
        at: i64,
        cadence: u32,
        until: Option<i64>,
        catch_up: bool,
    ) -> usize {
        self.run_until(at, false);
        self.now = self.now.max(at);
        let family = self.core.family(cadence);
        self.shared.paused.insert(
            family,
            Held {
                since: self.now,
                until,
                catch_up,
            },
        );
        self.each_contact(|core, c, cid, now, shared, fx| {
            core.hold_cadence(c, cid, family, Some(until), catch_up, now, shared, fx)
        })
    }

    /// Ends the pause of a whole cadence at `at`: its paused enrolments resume. Returns how
    /// many contacts resumed.
    pub fn resume_cadence(&mut self, at: i64, cadence: u32, catch_up: bool) -> usize {
        self.run_until(at, false);
        self.now = self.now.max(at);
        let family = self.core.family(cadence);
        self.shared.paused.remove(&family);
        self.each_contact(|core, c, cid, now, shared, fx| {
            core.hold_cadence(c, cid, family, None, catch_up, now, shared, fx)
        })
    }

    /// Applies `f` to every contact now; returns how many it changed (as it says).
    #[allow(clippy::type_complexity)]
    fn each_contact(
        &mut self,
        f: impl Fn(&Core<'p>, &mut Contact, ContactId, i64, &mut LocalShared, &mut Effects) -> bool,
    ) -> usize {
        let mut changed = 0;
        for cid in 0..self.contacts.len() as ContactId {
            let c = &mut self.contacts[cid as usize];
            if f(&self.core, c, cid, self.now, &mut self.shared, &mut self.fx) {
                changed += 1;
            }
            self.fx.notices.clear();
            self.absorb(cid);
        }
        changed
    }

    /// Marks an owner away until `until` (`None`: back now, and their call and task steps that
    /// waited for them fall due again): their call and task steps that fall due meanwhile wait
    /// until then; emails go on.
    pub fn set_owner_away(&mut self, owner: &str, until: Option<i64>) {
        match until {
            Some(u) => {
                self.shared.away.insert(owner.to_string(), u);
            }
            None => {
                self.shared.away.remove(owner);
                self.each_contact(|core, c, cid, now, shared, fx| {
                    core.owner_back(c, cid, owner, now, shared, fx)
                });
            }
        }
    }

    /// Hints that contact `cid` is needed soon (the driver knows its next input): its memory is
    /// brought into cache while the engine works on something else.
    pub fn prefetch_contact(&self, cid: ContactId) {
        if let Some(c) = self.contacts.get(cid as usize) {
            prefetch(c);
        }
    }

    /// The zone of a cadence for a contact.
    pub fn zone(&self, cadence: u32, contact: ContactId) -> Tz {
        self.core.zone(cadence, &self.contacts[contact as usize])
    }

    /// Enrols a contact in a cadence now, as an `enroll` input does.
    pub fn enroll(&mut self, contact: ContactId, cadence: u32) -> Vec<Notice> {
        self.apply(
            self.now,
            &Input::Enroll {
                contact,
                cadence: Some(cadence),
            },
        )
    }

    // ---- snapshots ----------------------------------------------------------------------------

    /// The whole state, for persisting.
    pub fn snapshot(&self) -> Snapshot {
        let mut sent: Vec<((u32, u32, i64), u32)> =
            self.shared.sent.iter().map(|(k, v)| (*k, *v)).collect();
        sent.sort();
        let mut suppressed: Vec<(String, bool)> = self
            .shared
            .suppressed
            .iter()
            .map(|(a, why)| (a.clone(), *why == core::Suppressed::Bounced))
            .collect();
        suppressed.sort();
        let mut paused: Vec<(u32, Held)> =
            self.shared.paused.iter().map(|(c, h)| (*c, *h)).collect();
        paused.sort_by_key(|p| p.0);
        let mut away: Vec<(String, i64)> = self
            .shared
            .away
            .iter()
            .map(|(o, u)| (o.clone(), *u))
            .collect();
        away.sort();
        Snapshot {
            now: self.now,
            contacts: self.contacts.clone(),
            sent,
            next_enrolment: self.shared.next_enrolment,
            suppressed,
            paused,
            away,
        }
    }

    /// Continues from a snapshot taken with the same program.
    pub fn restore(program: &'p Program, s: Snapshot) -> Engine<'p> {
        let n = program.cadences.len();
        Engine::restore_versions(program, (0..n as u32).collect(), vec![true; n], s)
    }

    /// [`Engine::restore`] into a program in which some cadences are older versions of others
    /// (see [`Core::with_versions`]): a deploy in the REPL.
    pub fn restore_versions(
        program: &'p Program,
        family: Vec<u32>,
        current: Vec<bool>,
        s: Snapshot,
    ) -> Engine<'p> {
        let mut e = Engine::new(program);
        e.core = Core::with_versions(program, family, current);
        e.now = s.now;
        e.index = s
            .contacts
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id.clone(), i as ContactId))
            .collect();
        let mut index: Vec<(EnrolmentId, ContactId, u32, Stamp)> = Vec::new();
        for (ci, c) in s.contacts.iter().enumerate() {
            for (li, en) in c.enrolments.iter().enumerate() {
                index.push((en.id, ci as ContactId, li as u32, en.stamp()));
            }
            for t in e.core.live_timers(c) {
                e.timers.push(Reverse(t));
            }
        }
        index.sort_by_key(|x| x.0);
        e.stamps = index.iter().map(|x| x.3).collect();
        e.enrolment_index = index.into_iter().map(|(_, c, li, _)| (c, li)).collect();
        e.contacts = s.contacts;
        e.shared = LocalShared {
            sent: s.sent.into_iter().collect(),
            next_enrolment: s.next_enrolment,
            suppressed: s
                .suppressed
                .into_iter()
                .map(|(a, bounced)| {
                    let why = if bounced {
                        core::Suppressed::Bounced
                    } else {
                        core::Suppressed::Unsubscribed
                    };
                    (a, why)
                })
                .collect(),
            paused: s.paused.into_iter().collect(),
            away: s.away.into_iter().collect(),
        };
        e
    }

    /// After a restore into a changed program (the REPL's `reload`): schedules the timers of
    /// every active enrolment again from its step's current definition, in enrolment order, and
    /// finds each contact's latest executions again.
    pub fn rebuild_timers(&mut self) {
        self.timers.clear();
        for c in &mut self.contacts {
            self.core.reset_last_exec(c);
        }
        for i in 0..self.enrolment_index.len() {
            let (cid, li) = self.enrolment_index[i];
            let c = &mut self.contacts[cid as usize];
            self.core.rebuild_enrolment(
                c,
                cid,
                li as usize,
                self.now,
                &mut self.shared,
                &mut self.fx,
            );
            self.absorb(cid);
        }
    }

    /// Prepares a deploy of `new` (new versions of the program's cadences, matched by name):
    /// the program of every version (the new ones first, then every cadence of the current
    /// program as an older version), its families, and a snapshot in which every enrolment is
    /// on its older version. `Err` names the contacts a `migrate` block of `new` would strand
    /// (at a step that is gone and not mapped). Restore with [`Engine::restore_versions`] and
    /// move the contacts with [`Engine::migrate_all`].
    ///
    /// `old_hashes` and `new_hashes` are the version hashes of the cadences of the current
    /// program and of `new` (see `runner::program::cadence_hashes`): a cadence whose text did
    /// not change stays the version it was (its `migrate` block is not applied again), and a
    /// block's `from "HASH"` applies to the versions whose hash starts with it.
    pub fn prepare_deploy(
        &self,
        new: &Program,
        old_hashes: &[String],
        new_hashes: &[String],
    ) -> Result<Deploy, Vec<String>> {
        let old = self.core.program;
        let n = new.cadences.len();
        let hash_of = |i: u32| old_hashes.get(i as usize).map_or("", String::as_str);
        // New cadence -> the current version it repeats word for word.
        let same: Vec<Option<u32>> = new
            .cadences
            .iter()
            .enumerate()
            .map(|(j, nc)| {
                (0..old.cadences.len() as u32).find(|&i| {
                    self.core.is_current(i)
                        && old.cadences[i as usize].name == nc.name
                        && new_hashes.get(j).is_some_and(|h| h == hash_of(i))
                })
            })
            .collect();
        let mut stranded: Vec<String> = Vec::new();
        for c in &self.contacts {
            for en in c.enrolments.iter().filter(|e| e.is_active()) {
                let oc = &old.cadences[en.cadence as usize];
                let Some(j) = new.cadence_by_name(&oc.name) else {
                    continue;
                };
                let nc = &new.cadences[j];
                if same[j].is_some() {
                    continue;
                }
                let Some(m) = &nc.migration else { continue };
                if !m.applies_to(hash_of(en.cadence)) {
                    continue;
                }
                let s = &oc.steps[en.step as usize];
                if m.destination(nc, s.number, s.label.as_deref())
                    == crate::check::Destination::Stranded
                {
                    stranded.push(format!("{} at step {} of \"{}\"", c.id, s.number, oc.name));
                }
            }
        }
        if !stranded.is_empty() {
            return Err(stranded);
        }
        let mut program = new.clone();
        let mut hashes: Vec<String> = new_hashes.to_vec();
        hashes.resize(n, String::new());
        for i in 0..old.cadences.len() {
            program.append_cadence(old, i);
            hashes.push(hash_of(i as u32).to_string());
        }
        let family: Vec<u32> = program
            .cadences
            .iter()
            .enumerate()
            .map(|(i, c)| new.cadence_by_name(&c.name).map_or(i as u32, |j| j as u32))
            .collect();
        let current: Vec<bool> = (0..program.cadences.len()).map(|i| i < n).collect();
        let old_cat = &self.core.catalog;
        let new_cat = Catalog::new(&program);
        let mut snapshot = self.snapshot();
        for c in &mut snapshot.contacts {
            c.fields = new_cat.translate(&c.fields, old_cat);
            c.enroll_cond = program
                .cadences
                .iter()
                .enumerate()
                .map(|(i, nc)| {
                    i < n
                        && old
                            .cadence_by_name(&nc.name)
                            .is_some_and(|oi| c.enroll_cond.get(oi).copied().unwrap_or(false))
                })
                .collect();
            for en in &mut c.enrolments {
                // An unchanged cadence is the same version: its enrolments stay on it.
                en.cadence = match same.iter().position(|s| *s == Some(en.cadence)) {
                    Some(j) => j as u32,
                    None => en.cadence + n as u32,
                };
            }
        }
        // The daily counters, by cadence name and sender address.
        let probe = Core::with_versions(&program, family.clone(), current.clone());
        snapshot.sent = snapshot
            .sent
            .iter()
            .filter_map(|&((cad, sender, day), count)| {
                let name = &old.cadences.get(cad as usize)?.name;
                let from = self.core.sender_names.get(sender as usize)?;
                let fam = new.cadence_by_name(name)? as u32;
                let snd = probe.sender_names.iter().position(|x| x == from)? as u32;
                Some(((fam, snd, day), count))
            })
            .collect();
        // Paused cadences, by name.
        snapshot.paused = snapshot
            .paused
            .iter()
            .filter_map(|&(cad, h)| {
                let name = &old.cadences.get(cad as usize)?.name;
                Some((new.cadence_by_name(name)? as u32, h))
            })
            .collect();
        let apply: Vec<bool> = same.iter().map(|s| s.is_none()).collect();
        Ok(Deploy {
            program,
            family,
            current,
            snapshot,
            hashes,
            apply,
        })
    }

    /// A deploy: moves the active enrolments of older versions into each current version that
    /// has a `migrate` block (see [`Core::migrate`]), now: `hashes` are the versions' hashes
    /// (for a block's `from`), `apply` says per new cadence whether its block applies (see
    /// [`Deploy`]). Returns how many contacts moved.
    pub fn migrate_all(&mut self, hashes: &[String], apply: &[bool]) -> usize {
        let targets: Vec<u32> = (0..self.core.program.cadences.len() as u32)
            .filter(|&i| {
                self.core.is_current(i)
                    && self.core.program.cadences[i as usize].migration.is_some()
            })
            .collect();
        let mut moved = 0;
        for cid in 0..self.contacts.len() as ContactId {
            let mut any = false;
            for &to in &targets {
                if !apply.get(to as usize).copied().unwrap_or(true) {
                    continue;
                }
                let Some(m) = &self.core.program.cadences[to as usize].migration else {
                    continue;
                };
                let applies =
                    |cad: u32| m.applies_to(hashes.get(cad as usize).map_or("", String::as_str));
                let c = &mut self.contacts[cid as usize];
                any |= self.core.migrate(
                    c,
                    cid,
                    to,
                    &applies,
                    self.now,
                    &mut self.shared,
                    &mut self.fx,
                );
            }
            if any {
                moved += 1;
                self.absorb(cid);
            }
        }
        moved
    }

    /// Words a notice for people.
    pub fn describe(&self, n: &Notice) -> String {
        let contact = match *n {
            Notice::AlreadyEnrolled { contact, .. }
            | Notice::EnrolledBefore { contact, .. }
            | Notice::ReenrolFrom { contact, .. }
            | Notice::NotEnrolled { contact, .. }
            | Notice::NoActiveEnrolment { contact, .. }
            | Notice::NoMessage { contact, .. }
            | Notice::EnrolmentEnded { contact, .. }
            | Notice::NotDeployed { contact, .. }
            | Notice::NotPaused { contact, .. }
            | Notice::PauseOver { contact, .. } => contact,
        };
        self.core.describe(n, &self.contacts[contact as usize].id)
    }
}

/// Hints the processor to bring a value's memory into cache (a no-op where there is no such
/// instruction).
#[inline(always)]
fn prefetch<T>(v: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let p = v as *const T as *const i8;
        let lines = std::mem::size_of::<T>().div_ceil(64);
        for i in 0..lines {
            // SAFETY: prefetching is a hint: it never faults and reads nothing observable, and
            // the addresses are within (or one line past the start of) a live value.
            unsafe { _mm_prefetch(p.wrapping_add(i * 64), _MM_HINT_T0) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = v;
}
