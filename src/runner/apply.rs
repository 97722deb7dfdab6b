//! The apply loop: due timers and inbox inputs, in the engine's order, in batches.
//!
//! One batch reads the next timers and the next inputs, applies them one by one to their
//! contacts with the pure core (in exactly the order the simulator uses: inputs before timers
//! at the same instant, timers by due time, first due, enrolment and slot), and writes
//! everything it changed in one transaction: contact states, timers, journal, outbox, tasks,
//! and the inputs it consumed. Nothing outside the database is touched: emails leave from the
//! outbox after the commit.
//!
//! A batch only goes as far as it can see: past the last timer or input it loaded, something
//! not loaded could come first, so it commits there and the next batch loads again.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, VecDeque};

use super::program::LiveProgram;
use super::{journal, state};
use crate::check::{Action, Value};

use crate::engine::core::Suppressed;
use crate::engine::hash::FastHash;
use crate::engine::{
    pause_holds, Act, Contact, ContactId, Core, Effects, Held, Input, Shared, Timer,
};
use crate::mail::render::{domain_of, render, value_text, Links};
use crate::mail::token::Signer;
use crate::sim::csvin::{event_input, mark_machine};
use crate::store::live::{
    Applied, Batch, ContactWrite, HoldRow, InboxRow, InputKind, LiveError, LiveStore, NewMessage,
    NewTask, TaskUpdate,
};

/// How emails are addressed and signed.
#[derive(Clone)]
pub struct MailSettings {
    /// The base of the links emails carry (`https://cadence.example.com`).
    pub public_url: String,
    pub signer: Signer,
    /// A short id of the database, part of every Message-ID.
    pub instance: String,
    /// The sender of cadences that name none.
    pub default_from: String,
}

/// What the loop has done so far.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub inputs: usize,
    pub timers: usize,
    pub records: usize,
    pub emails: usize,
    pub tasks: usize,
    pub contacts_created: usize,
    pub batches: usize,
    /// Seconds spent reading what is next, loading contacts, applying, encoding and committing
    /// (shown with `CADENCE_TIMINGS`).
    pub time_read: f64,
    pub time_load: f64,
    pub time_encode: f64,
    pub time_commit: f64,
    pub time_total: f64,
    /// Inputs that changed nothing, with where they came from (the first 100).
    pub notices: Vec<(String, String)>,
    pub notices_total: usize,
}

/// How far one batch went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub processed: usize,
    /// Nothing is left at or before the limit.
    pub idle: bool,
    /// When the next thing is due (after the limit), when idle.
    pub next: Option<i64>,
}

/// A contact held between reads and the commit.
struct Entry {
    id: String,
    c: Contact,
    extra: BTreeMap<String, Value>,
    /// The timers the database holds for it.
    stored: Vec<Timer>,
    /// Timers set since it was loaded or written (some may be stale by now).
    added: Vec<Timer>,
    new: bool,
    dirty: bool,
    /// The batch that last used it.
    used: u64,
}

/// Contacts in memory, by row id (row ids are dense: a vector, not a hash table).
#[derive(Default)]
struct Cache {
    slots: Vec<Option<Box<Entry>>>,
    len: usize,
}

impl Cache {
    fn get(&self, cid: ContactId) -> Option<&Entry> {
        self.slots.get(cid as usize)?.as_deref()
    }

    fn get_mut(&mut self, cid: ContactId) -> Option<&mut Entry> {
        self.slots.get_mut(cid as usize)?.as_deref_mut()
    }

    fn insert(&mut self, cid: ContactId, e: Box<Entry>) {
        let i = cid as usize;
        if self.slots.len() <= i {
            self.slots.resize_with(i + 1, || None);
        }
        if self.slots[i].replace(e).is_none() {
            self.len += 1;
        }
    }

    fn len(&self) -> usize {
        self.len
    }

    fn clear(&mut self) {
        self.slots.clear();
        self.len = 0;
    }

    fn retain(&mut self, keep: impl Fn(&Entry) -> bool) {
        for s in &mut self.slots {
            if s.as_deref().is_some_and(|e| !keep(e)) {
                *s = None;
                self.len -= 1;
            }
        }
    }

    fn iter(&self) -> impl Iterator<Item = (ContactId, &Entry)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_deref().map(|e| (i as ContactId, e)))
    }
}

/// The apply loop over one program and one store.
pub struct Applier<'p> {
    lp: &'p LiveProgram,
    core: Core<'p>,
    mail: MailSettings,
    clock: i64,
    next_enrolment: u64,
    next_contact: u32,
    cache: Cache,
    by_id: HashMap<String, ContactId, FastHash>,
    /// Contacts kept between batches (only one runner writes contact states).
    cache_cap: usize,
    sends: HashMap<(u32, u32, i64), u32>,
    /// Every suppressed address (read from the store when the applier starts or reloads; only
    /// this runner adds to it), and those suppressed in this batch, to write with it.
    suppressed: HashMap<String, Suppressed>,
    new_suppressed: Vec<(String, bool)>,
    /// Cadences paused as a whole and owners away (only the runner writes them, when it
    /// applies a `cadence pause` or `cadence resume` of a cadence or an owner).
    holds: Vec<HoldRow>,
    batch_no: u64,
    phone: Option<u16>,
    /// How far apart the contact and enrolment ids it hands out are: the partition count of a
    /// database whose partitions number their ids each its own way (id = n × stride + partition).
    stride: u32,
    /// Set when a commit was refused because another runner took the partition over.
    lost: bool,
    pub stats: Stats,
    /// Inputs and timers read per batch.
    pub read_ahead: usize,
}

const MAX_NOTICES: usize = 100;

impl<'p> Applier<'p> {
    pub fn new(
        lp: &'p LiveProgram,
        store: &mut dyn LiveStore,
        mail: MailSettings,
    ) -> Result<Applier<'p>, LiveError> {
        let core = Core::with_versions(&lp.program, lp.family.clone(), lp.current.clone());
        let phone = core.catalog.lookup("phone");
        let mut a = Applier {
            lp,
            core,
            mail,
            clock: 0,
            next_enrolment: 0,
            next_contact: 1,
            cache: Cache::default(),
            by_id: HashMap::default(),
            cache_cap: 200_000,
            sends: HashMap::new(),
            suppressed: HashMap::new(),
            new_suppressed: Vec::new(),
            holds: Vec::new(),
            batch_no: 0,
            phone,
            stride: 1,
            lost: false,
            stats: Stats::default(),
            read_ahead: 2048,
        };
        a.reload(store)?;
        Ok(a)
    }

    /// Reads the clock and the id counters again, and forgets what it held (after a failed
    /// batch, nothing of it was written).
    fn reload(&mut self, store: &mut dyn LiveStore) -> Result<(), LiveError> {
        let num = |v: Option<String>| v.and_then(|s| s.parse::<i64>().ok());
        self.clock = num(store.meta("clock")?).unwrap_or(i64::MIN);
        self.next_enrolment = num(store.meta("next_enrolment")?).unwrap_or(0) as u64;
        self.next_contact = num(store.meta("next_contact")?).unwrap_or(1) as u32;
        self.cache.clear();
        self.by_id.clear();
        self.sends.clear();
        self.suppressed = store
            .suppressions()?
            .into_iter()
            .map(|(a, bounced)| {
                let why = if bounced {
                    Suppressed::Bounced
                } else {
                    Suppressed::Unsubscribed
                };
                (a, why)
            })
            .collect();
        self.new_suppressed.clear();
        self.holds = store.holds()?;
        Ok(())
    }

    /// Keeps at most this many contacts in memory between batches (0: none, for stores that
    /// several processes write).
    pub fn set_cache(&mut self, cap: usize) {
        self.cache_cap = cap;
    }

    /// Hands out contact and enrolment ids `stride` apart (see [`LiveStore::partitions`]).
    pub fn set_stride(&mut self, stride: u32) {
        self.stride = stride.max(1);
    }

    /// Forgets what memory holds and reads the clock, the counters, the suppressions and the
    /// holds again: after the store's scope changed (a partition claimed or let go).
    pub fn forget(&mut self, store: &mut dyn LiveStore) -> Result<(), LiveError> {
        self.lost = false;
        self.reload(store)
    }

    /// Whether the last failed batch failed because its partition was taken over (and clears
    /// it).
    pub fn take_lost(&mut self) -> bool {
        std::mem::take(&mut self.lost)
    }

    pub fn clock(&self) -> i64 {
        self.clock
    }

    pub fn core(&self) -> &Core<'p> {
        &self.core
    }

    /// Moves the clock forward to `t` (durably) without running anything.
    pub fn advance(&mut self, store: &mut dyn LiveStore, t: i64) -> Result<(), LiveError> {
        if t > self.clock {
            let mut b = Batch::default();
            b.meta.push(("clock", t));
            store.commit(&b)?;
            self.clock = t;
        }
        Ok(())
    }

    /// Runs one batch: everything due at or before `limit`, up to `max` items.
    pub fn step(
        &mut self,
        store: &mut dyn LiveStore,
        limit: i64,
        max: usize,
    ) -> Result<Progress, String> {
        match self.try_step(store, limit, max) {
            Ok(p) => Ok(p),
            Err(e) => {
                // Nothing of the batch was written: forget what memory holds of it.
                let _ = self.reload(store);
                Err(e)
            }
        }
    }

    fn try_step(
        &mut self,
        store: &mut dyn LiveStore,
        limit: i64,
        max: usize,
    ) -> Result<Progress, String> {
        let db = |e: LiveError| e.to_string();
        self.batch_no += 1;
        // No more read ahead than the batch can use.
        let k = self.read_ahead.min(max).max(1);
        let t0 = std::time::Instant::now();
        let inputs = store.next_inputs(k).map_err(db)?;
        let due = store.next_due(k).map_err(db)?;
        self.stats.time_read += t0.elapsed().as_secs_f64();
        let input_edge = (inputs.len() == k).then(|| inputs[k - 1].input.at);
        // Contacts not loaded have no timer before the last one loaded.
        let timer_edge = (due.len() == k).then(|| due[k - 1].1);
        let mut inq: VecDeque<InboxRow> = inputs.into();
        let mut tq: BinaryHeap<Reverse<(Timer, ContactId)>> = BinaryHeap::new();
        for (row, _) in due {
            let cid = row.rowid;
            if self.cache.get(cid).is_none() {
                let t = std::time::Instant::now();
                self.insert(row.rowid, row.id, &row.state)?;
                self.stats.time_load += t.elapsed().as_secs_f64();
            }
            if let Some(e) = self.cache.get_mut(cid) {
                e.used = self.batch_no;
                for t in &e.stored {
                    tq.push(Reverse((*t, cid)));
                }
            }
        }
        let mut batch = Batch::default();
        let mut fx = Effects::default();
        let mut processed = 0;
        let mut progress = Progress {
            processed: 0,
            idle: false,
            next: None,
        };
        let mut sends_dirty: Vec<(u32, u32, i64)> = Vec::new();
        loop {
            // The next live timer.
            let timer = loop {
                match tq.peek() {
                    Some(Reverse((t, cid))) => {
                        let live = self.cache.get(*cid).is_none_or(|e| e.c.is_live(t));
                        if live {
                            break Some((*t, *cid));
                        }
                        tq.pop();
                    }
                    None => break None,
                }
            };
            let input_first = match (inq.front(), &timer) {
                (Some(i), Some((t, _))) => i.input.at <= t.due,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => {
                    if input_edge.is_none() && timer_edge.is_none() {
                        progress.idle = true;
                    }
                    break;
                }
            };
            if input_first {
                let Some(row) = inq.front() else { break };
                let at = row.input.at.max(self.clock);
                if at > limit {
                    progress.idle = true;
                    progress.next = Some(at);
                    break;
                }
                // A timer not loaded could come first.
                if timer_edge.is_some_and(|e| row.input.at > e.due) {
                    break;
                }
                let Some(row) = inq.pop_front() else { break };
                self.apply_input(store, &row, &mut batch, &mut fx, &mut tq, &mut sends_dirty)?;
            } else {
                let Some((t, cid)) = timer else { break };
                if t.due > limit {
                    progress.idle = true;
                    progress.next = Some(t.due);
                    break;
                }
                if input_edge.is_some_and(|at| t.due >= at) || timer_edge.is_some_and(|e| t > e) {
                    break;
                }
                tq.pop();
                self.fire(
                    store,
                    t,
                    cid,
                    &mut batch,
                    &mut fx,
                    &mut tq,
                    &mut sends_dirty,
                )?;
            }
            processed += 1;
            if inq.is_empty() && input_edge.is_some() {
                break;
            }
            if processed >= max {
                break;
            }
        }
        progress.processed = processed;
        self.finish(store, &mut batch, &sends_dirty)?;
        self.stats.time_total += t0.elapsed().as_secs_f64();
        Ok(progress)
    }

    /// After a deploy: moves the enrolments of older versions into each deployed version that
    /// has a `migrate` block (see [`Core::migrate`]), at the database's clock, in batches that
    /// each commit with their journal rows (`migrated`, and the exits and completions the block
    /// asks for). `hashes`: the hash of each stored version, by id. Returns how many contacts
    /// moved. Running it again moves nothing more: the moved enrolments are on the new version.
    /// Whether a running version has a `migrate` block (else [`Applier::migrate_all`] moves
    /// nothing).
    pub fn has_migrations(&self) -> bool {
        let lp = self.lp;
        (0..lp.program.cadences.len())
            .any(|i| lp.current[i] && lp.program.cadences[i].migration.is_some())
    }

    pub fn migrate_all(
        &mut self,
        store: &mut dyn LiveStore,
        hashes: &HashMap<i64, String>,
    ) -> Result<usize, String> {
        let lp = self.lp;
        let targets: Vec<u32> = (0..lp.program.cadences.len() as u32)
            .filter(|&i| {
                lp.current[i as usize] && lp.program.cadences[i as usize].migration.is_some()
            })
            .collect();
        if targets.is_empty() || self.clock == i64::MIN {
            return Ok(0);
        }
        let now = self.clock;
        let mut batch = Batch::default();
        let mut fx = Effects::default();
        let mut tq: BinaryHeap<Reverse<(Timer, ContactId)>> = BinaryHeap::new();
        let mut sends_dirty: Vec<(u32, u32, i64)> = Vec::new();
        let moved = self.each_contact(
            store,
            now,
            Walk {
                batch: &mut batch,
                fx: &mut fx,
                tq: &mut tq,
                sends_dirty: &mut sends_dirty,
                commit_every: Some(1000),
            },
            &mut |core, c, cid, shared, fx| {
                let mut any = false;
                for &to in &targets {
                    let Some(m) = &lp.program.cadences[to as usize].migration else {
                        continue;
                    };
                    let applies = |cad: u32| {
                        lp.versions
                            .get(cad as usize)
                            .and_then(|v| hashes.get(v))
                            .is_some_and(|h| m.applies_to(h))
                    };
                    any |= core.migrate(c, cid, to, &applies, now, shared, fx);
                }
                any
            },
        )?;
        self.finish(store, &mut batch, &sends_dirty)?;
        Ok(moved)
    }

    /// Applies `f` to every contact of the store in turn (loaded into memory), and takes in
    /// what the core produced; `f` says whether it changed the contact. Commits the batch
    /// every `commit_every` contacts, when given. Returns how many contacts changed.
    fn each_contact(
        &mut self,
        store: &mut dyn LiveStore,
        now: i64,
        w: Walk,
        f: &mut ContactFn<'_, 'p>,
    ) -> Result<usize, String> {
        let ids = store.contact_ids().map_err(|e| e.to_string())?;
        let mut changed = 0;
        for (n, id) in ids.iter().enumerate() {
            let Some(cid) = self.find(store, id)? else {
                continue;
            };
            if !self.load(store, cid)? {
                continue;
            }
            let mut shared = BatchShared {
                store,
                core: &self.core,
                lp: self.lp,
                sends: &mut self.sends,
                dirty: &mut *w.sends_dirty,
                suppressed: &mut self.suppressed,
                new_suppressed: &mut self.new_suppressed,
                next_enrolment: &mut self.next_enrolment,
                stride: u64::from(self.stride),
                holds: &self.holds,
                error: None,
            };
            let Some(e) = self.cache.get_mut(cid) else {
                continue;
            };
            let any = f(&self.core, &mut e.c, cid, &mut shared, w.fx);
            if let Some(err) = shared.error.take() {
                return Err(err);
            }
            w.fx.notices.clear();
            if any {
                e.dirty = true;
                changed += 1;
            }
            self.absorb(cid, now, w.batch, w.fx, w.tq);
            if w.commit_every.is_some_and(|k| n % k == k - 1) {
                self.finish(store, w.batch, w.sends_dirty)?;
                *w.batch = Batch::default();
                w.sends_dirty.clear();
            }
        }
        Ok(changed)
    }

    /// Loads a contact into memory (from the cache or the store).
    fn load(&mut self, store: &mut dyn LiveStore, cid: ContactId) -> Result<bool, String> {
        if let Some(e) = self.cache.get_mut(cid) {
            e.used = self.batch_no;
            return Ok(true);
        }
        let t0 = std::time::Instant::now();
        let Some(row) = store.contact_by_rowid(cid).map_err(|e| e.to_string())? else {
            return Ok(false);
        };
        self.insert(row.rowid, row.id, &row.state)?;
        self.stats.time_load += t0.elapsed().as_secs_f64();
        Ok(true)
    }

    fn insert(&mut self, rowid: ContactId, id: String, bytes: &[u8]) -> Result<(), String> {
        let d = state::decode(self.lp, &self.core.catalog, rowid, &id, bytes)?;
        let stored = self.core.live_timers(&d.contact);
        self.by_id.insert(id.clone(), rowid);
        self.cache.insert(
            rowid,
            Box::new(Entry {
                id,
                c: d.contact,
                extra: d.extra,
                stored,
                added: Vec::new(),
                new: false,
                dirty: false,
                used: self.batch_no,
            }),
        );
        Ok(())
    }

    /// Finds a contact by its id.
    fn find(&mut self, store: &mut dyn LiveStore, id: &str) -> Result<Option<ContactId>, String> {
        if let Some(&cid) = self.by_id.get(id) {
            if let Some(e) = self.cache.get_mut(cid) {
                e.used = self.batch_no;
                return Ok(Some(cid));
            }
        }
        let t0 = std::time::Instant::now();
        let Some(row) = store.contact_by_id(id).map_err(|e| e.to_string())? else {
            return Ok(None);
        };
        let cid = row.rowid;
        self.insert(row.rowid, row.id, &row.state)?;
        self.stats.time_load += t0.elapsed().as_secs_f64();
        Ok(Some(cid))
    }

    #[allow(clippy::too_many_arguments)]
    fn fire(
        &mut self,
        store: &mut dyn LiveStore,
        t: Timer,
        cid: ContactId,
        batch: &mut Batch,
        fx: &mut Effects,
        tq: &mut BinaryHeap<Reverse<(Timer, ContactId)>>,
        sends_dirty: &mut Vec<(u32, u32, i64)>,
    ) -> Result<(), String> {
        if !self.load(store, cid)? {
            return Err(format!(
                "a timer names contact #{cid}, which the database does not hold"
            ));
        }
        self.clock = self.clock.max(t.due);
        let now = self.clock;
        let mut shared = BatchShared {
            store,
            core: &self.core,
            lp: self.lp,
            sends: &mut self.sends,
            dirty: sends_dirty,
            suppressed: &mut self.suppressed,
            new_suppressed: &mut self.new_suppressed,
            next_enrolment: &mut self.next_enrolment,
            stride: u64::from(self.stride),
            holds: &self.holds,
            error: None,
        };
        let Some(e) = self.cache.get_mut(cid) else {
            return Ok(());
        };
        let fired = self.core.fire(&mut e.c, cid, now, t, &mut shared, fx);
        if let Some(err) = shared.error.take() {
            return Err(err);
        }
        if fired {
            e.dirty = true;
            self.stats.timers += 1;
        }
        self.absorb(cid, now, batch, fx, tq);
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn apply_input(
        &mut self,
        store: &mut dyn LiveStore,
        row: &InboxRow,
        batch: &mut Batch,
        fx: &mut Effects,
        tq: &mut BinaryHeap<Reverse<(Timer, ContactId)>>,
        sends_dirty: &mut Vec<(u32, u32, i64)>,
    ) -> Result<(), String> {
        if let InputKind::Hold { .. } = &row.input.what {
            return self.apply_hold(store, row, batch, fx, tq, sends_dirty);
        }
        self.clock = self.clock.max(row.input.at);
        let now = self.clock;
        self.stats.inputs += 1;
        let who = &row.input.contact;
        let found = self.find(store, who)?;
        let mut notes: Vec<String> = Vec::new();
        let program = &self.lp.program;
        let catalog = &self.core.catalog;
        // What to apply, in order.
        let mut inputs: Vec<Input> = Vec::new();
        let mut create: Option<Vec<(u16, Value)>> = None;
        let cid = match (&row.input.what, found) {
            (InputKind::Contact { fields }, None) => {
                let mut typed = Vec::new();
                for (name, v) in fields {
                    if let (Some(g), Some(v)) = (catalog.lookup(name), v) {
                        typed.push((g, v.clone()));
                    }
                }
                create = Some(typed);
                let cid = self.next_contact;
                self.next_contact += self.stride;
                cid
            }
            (InputKind::Contact { fields }, Some(cid)) => {
                for (name, v) in fields {
                    if let Some(g) = catalog.lookup(name) {
                        inputs.push(Input::Set {
                            contact: cid,
                            field: g,
                            value: v.clone(),
                        });
                    }
                }
                cid
            }
            (
                InputKind::Event {
                    event,
                    step,
                    cadence,
                    field,
                    value,
                    machine,
                    message,
                },
                Some(cid),
            ) => {
                let step = step.map(|s| s.to_string()).unwrap_or_default();
                match event_input(
                    program,
                    catalog,
                    cid,
                    event,
                    &step,
                    field.as_deref().unwrap_or(""),
                    value.as_deref().unwrap_or(""),
                    cadence.as_deref().unwrap_or(""),
                )
                .and_then(|mut i| mark_machine(&mut i, *machine).map(|()| i))
                .map(|mut i| {
                    if let Input::Event { message: m, .. } = &mut i {
                        *m = *message;
                    }
                    i
                }) {
                    Ok(i) => inputs.push(i),
                    Err(e) => notes.push(e),
                }
                cid
            }
            // Applied by `apply_hold` before it gets here.
            (InputKind::Hold { .. }, _) => return Ok(()),
            (InputKind::Event { .. }, None) => {
                notes.push(format!("unknown contact `{who}`: nothing changes"));
                self.note(&row.input.origin, &notes);
                batch.applied.push(Applied {
                    seq: row.seq,
                    at: row.input.at,
                    applied: now,
                    note: Some(notes.join("; ")),
                });
                return Ok(());
            }
        };
        if let Some(typed) = create {
            let mut fields = crate::engine::Fields::default();
            for (g, v) in typed {
                fields.set(g, Some(v));
            }
            let c = self.core.new_contact(who, fields);
            self.by_id.insert(who.clone(), cid);
            self.cache.insert(
                cid,
                Box::new(Entry {
                    id: who.clone(),
                    c,
                    extra: BTreeMap::new(),
                    stored: Vec::new(),
                    added: Vec::new(),
                    new: true,
                    dirty: true,
                    used: self.batch_no,
                }),
            );
            self.stats.contacts_created += 1;
        }
        let mut shared = BatchShared {
            store,
            core: &self.core,
            lp: self.lp,
            sends: &mut self.sends,
            dirty: sends_dirty,
            suppressed: &mut self.suppressed,
            new_suppressed: &mut self.new_suppressed,
            next_enrolment: &mut self.next_enrolment,
            stride: u64::from(self.stride),
            holds: &self.holds,
            error: None,
        };
        let Some(e) = self.cache.get_mut(cid) else {
            return Ok(());
        };
        e.dirty = true;
        if e.new && inputs.is_empty() {
            self.core
                .evaluate_enrolment(&mut e.c, cid, now, &mut shared, fx);
        }
        for input in &inputs {
            self.core.apply(&mut e.c, cid, now, input, &mut shared, fx);
        }
        if let Some(err) = shared.error.take() {
            return Err(err);
        }
        for n in fx.notices.drain(..) {
            notes.push(self.core.describe(&n, who));
        }
        self.note(&row.input.origin, &notes);
        batch.applied.push(Applied {
            seq: row.seq,
            at: row.input.at,
            applied: now,
            note: (!notes.is_empty()).then(|| notes.join("; ")),
        });
        self.absorb(cid, now, batch, fx, tq);
        Ok(())
    }

    /// A pause or resume of a whole cadence, or an owner's time off or return: kept as a
    /// hold (new enrolments in a paused cadence start paused; an away owner's steps wait),
    /// and applied now to every contact it concerns, in this batch.
    fn apply_hold(
        &mut self,
        store: &mut dyn LiveStore,
        row: &InboxRow,
        batch: &mut Batch,
        fx: &mut Effects,
        tq: &mut BinaryHeap<Reverse<(Timer, ContactId)>>,
        sends_dirty: &mut Vec<(u32, u32, i64)>,
    ) -> Result<(), String> {
        let InputKind::Hold {
            owner,
            name,
            pause,
            until,
            catch_up,
        } = row.input.what.clone()
        else {
            return Ok(());
        };
        self.clock = self.clock.max(row.input.at);
        let now = self.clock;
        self.stats.inputs += 1;
        let lp = self.lp;
        let family = match (owner, lp.program.cadence_by_name(&name)) {
            (true, _) => None,
            (false, Some(c)) => Some(self.core.family(c as u32)),
            (false, None) => {
                let note = format!("no cadence \"{name}\" runs: nothing is paused or resumed");
                self.note(&row.input.origin, std::slice::from_ref(&note));
                batch.applied.push(Applied {
                    seq: row.seq,
                    at: row.input.at,
                    applied: now,
                    note: Some(note),
                });
                return Ok(());
            }
        };
        // A pause that already holds keeps its start; a new one starts now.
        let held = self
            .holds
            .iter()
            .position(|h| h.owner == owner && h.name == name);
        let since = held
            .map(|i| &self.holds[i])
            .filter(|h| h.since <= now && h.until.is_none_or(|u| now < u))
            .map_or(now, |h| h.since);
        let hold = HoldRow {
            owner,
            name: name.clone(),
            since,
            until,
            catch_up,
        };
        if let Some(i) = held {
            self.holds.remove(i);
        }
        if pause {
            self.holds.push(hold.clone());
        }
        batch.holds.push((hold, pause));
        // An owner's time off changes nothing now: their steps wait when they fall due.
        if owner && pause {
            batch.applied.push(Applied {
                seq: row.seq,
                at: row.input.at,
                applied: now,
                note: None,
            });
            return Ok(());
        }
        let walk = Walk {
            batch,
            fx,
            tq,
            sends_dirty,
            commit_every: None,
        };
        let touched = self.each_contact(store, now, walk, &mut |core, c, cid, shared, fx| {
            let Some(f) = family else {
                return core.owner_back(c, cid, &name, now, shared, fx);
            };
            let until = pause.then_some(until);
            core.hold_cadence(c, cid, f, until, catch_up, now, shared, fx)
        })?;
        tracing::info!(hold = %name, owner, pause, contacts = touched, "hold applied");
        batch.applied.push(Applied {
            seq: row.seq,
            at: row.input.at,
            applied: now,
            note: None,
        });
        Ok(())
    }

    fn note(&mut self, origin: &str, notes: &[String]) {
        for n in notes {
            self.stats.notices_total += 1;
            if self.stats.notices.len() < MAX_NOTICES {
                self.stats.notices.push((origin.to_string(), n.clone()));
            }
        }
    }

    /// Takes in what the core produced for a contact: journal rows, messages, tasks, timers.
    fn absorb(
        &mut self,
        cid: ContactId,
        now: i64,
        batch: &mut Batch,
        fx: &mut Effects,
        tq: &mut BinaryHeap<Reverse<(Timer, ContactId)>>,
    ) {
        let owners = std::mem::take(&mut fx.owners);
        fx.clear_owners();
        for r in fx.records.drain(..) {
            let owner = match r.kind {
                crate::engine::Kind::Executed { owner, .. } => (owner as usize)
                    .checked_sub(1)
                    .and_then(|i| owners.get(i))
                    .map(String::as_str),
                _ => None,
            };
            batch.journal.push(journal::encode(self.lp, &r, owner));
            self.stats.records += 1;
        }
        let Some(e) = self.cache.get_mut(cid) else {
            fx.timers.clear();
            fx.actions.clear();
            return;
        };
        for t in fx.timers.drain(..) {
            tq.push(Reverse((t, cid)));
            e.added.push(t);
        }
        let Some(e) = self.cache.get(cid) else {
            fx.actions.clear();
            return;
        };
        for act in fx.actions.drain(..) {
            match act {
                Act::Executed {
                    enrolment,
                    exec,
                    variant,
                } => {
                    let en = &e.c.enrolments[enrolment as usize];
                    let cad = &self.lp.program.cadences[en.cadence as usize];
                    let x = en.execs[exec as usize];
                    let step = &cad.steps[x.step as usize];
                    match &step.action {
                        Action::Email { .. } => {
                            // The template the engine chose for this execution.
                            let m = step
                                .action
                                .template_of(variant)
                                .and_then(|t| self.message(cid, &e.c, enrolment, exec, t.0));
                            if let Some(m) = m {
                                batch.outbox.push(m);
                                self.stats.emails += 1;
                            }
                        }
                        Action::Call { subject } | Action::Task { subject, .. } => {
                            let tz = self.core.zone(en.cadence, &e.c);
                            let due = self.core.task_due(en.cadence, x.step, &e.c, x.at);
                            let (kind, task_type) = match &step.action {
                                Action::Task { kind, .. } => {
                                    ("task", Some(kind.name().to_string()))
                                }
                                _ => ("call", None),
                            };
                            batch.tasks.push(NewTask {
                                contact: cid,
                                enrolment: en.id,
                                exec,
                                version: self.lp.versions[en.cadence as usize],
                                step: step.number,
                                kind: kind.into(),
                                subject: subject.clone(),
                                task_type,
                                owner: self.core.owner_of(en.cadence, x.step, &e.c),
                                priority: step.priority.name().into(),
                                due,
                                created: x.at,
                                phone: self.phone.and_then(|g| e.c.fields.get(g)).map(value_text),
                                zone: tz.name().to_string(),
                            });
                            self.stats.tasks += 1;
                        }
                    }
                }
                Act::Outcome {
                    enrolment,
                    exec,
                    outcome,
                } => {
                    let en = &e.c.enrolments[enrolment as usize];
                    let cad = &self.lp.program.cadences[en.cadence as usize];
                    let step = &cad.steps[en.execs[exec as usize].step as usize];
                    if !matches!(step.action, Action::Email { .. }) {
                        batch.task_updates.push(TaskUpdate::Done {
                            enrolment: en.id,
                            exec,
                            outcome: outcome.name().into(),
                            at: now,
                        });
                    }
                }
                Act::Left {
                    enrolment,
                    exec,
                    ended,
                    task,
                } => {
                    let en = &e.c.enrolments[enrolment as usize];
                    let open = en
                        .execs
                        .get(exec as usize)
                        .is_some_and(|x| x.outcomes & !crate::engine::ORPHAN == 0);
                    if open && task {
                        batch.task_updates.push(TaskUpdate::Closed {
                            enrolment: en.id,
                            exec,
                            state: if ended { "cancelled" } else { "expired" },
                            at: now,
                        });
                    }
                }
            }
        }
    }

    /// Renders the email of an execution.
    fn message(
        &self,
        cid: ContactId,
        c: &Contact,
        enrolment: u32,
        exec: u32,
        template: usize,
    ) -> Option<NewMessage> {
        let program = &self.lp.program;
        let en = &c.enrolments[enrolment as usize];
        let cad = &program.cadences[en.cadence as usize];
        let x = en.execs[exec as usize];
        let step = &cad.steps[x.step as usize];
        let t = &program.templates[template];
        let catalog = &self.core.catalog;
        let field = |name: &str| -> Option<String> {
            catalog
                .lookup(name)
                .and_then(|g| c.fields.get(g))
                .map(value_text)
        };
        let token = self
            .mail
            .signer
            .sign("unsubscribe", &format!("{cid}.{}.{exec}", en.id));
        let base = self.mail.public_url.trim_end_matches('/');
        let url = format!("{base}/u/{token}");
        let link = format!("{cid}.{}.{exec}", en.id);
        let pixel = cad.track.opens.then(|| {
            let token = self.mail.signer.sign("open", &link);
            format!("{base}/o/{token}")
        });
        let click = |n: usize, target: &str| {
            let token = self
                .mail
                .signer
                .sign("click", &format!("{link}.{n} {target}"));
            format!("{base}/c/{token}")
        };
        let links = Links {
            unsubscribe: &url,
            pixel: pixel.as_deref(),
            click: cad
                .track
                .clicks
                .then_some(&click as &dyn Fn(usize, &str) -> String),
        };
        let r = render(
            step.subject.as_ref().unwrap_or(&t.subject),
            &t.body,
            &field,
            &links,
        );
        let sender = step
            .from
            .clone()
            .or_else(|| cad.from.clone())
            .unwrap_or_else(|| self.mail.default_from.clone());
        let recipient = self.core.address(en.cadence, c)?.to_string();
        Some(NewMessage {
            contact: cid,
            enrolment: en.id,
            exec,
            version: self.lp.versions[en.cadence as usize],
            step: step.number,
            at: x.at,
            // The tag makes the Message-ID unguessable: a mail that names it (a reply, a
            // bounce) names a message we sent, not one made up from the enrolment's number.
            message_id: format!(
                "<{}.{exec}.{}.{}@{}>",
                en.id,
                self.mail.instance,
                self.mail
                    .signer
                    .tag_hex("message-id", &format!("{}.{exec}", en.id), 8),
                domain_of(&sender)
            ),
            reply_to: step.reply_to.clone().or_else(|| cad.reply_to.clone()),
            sender,
            recipient,
            subject: r.subject,
            body: r.body,
            html: r.html,
            unsubscribe: url,
        })
    }

    /// Writes the batch, and keeps what memory may keep of it.
    fn finish(
        &mut self,
        store: &mut dyn LiveStore,
        batch: &mut Batch,
        sends_dirty: &[(u32, u32, i64)],
    ) -> Result<(), String> {
        let t0 = std::time::Instant::now();
        let mut dirty: Vec<ContactId> = self
            .cache
            .iter()
            .filter(|(_, e)| e.dirty)
            .map(|(k, _)| k)
            .collect();
        dirty.sort_unstable();
        for cid in &dirty {
            let Some(e) = self.cache.get_mut(*cid) else {
                continue;
            };
            // The live timers: those stored or set since, that have not fired nor gone stale.
            let mut live: Vec<Timer> = e
                .stored
                .iter()
                .chain(&e.added)
                .copied()
                .filter(|t| e.c.is_live(t))
                .collect();
            live.sort_unstable();
            live.dedup();
            debug_assert_eq!(live, self.core.live_timers(&e.c));
            e.added.clear();
            let next = live.first().copied();
            let next_changed = next != e.stored.first().copied();
            batch.contacts.push(ContactWrite {
                rowid: *cid,
                id: e.id.clone(),
                state: state::encode(self.lp, &self.core.catalog, &e.c, &e.extra),
                next,
                next_changed: next_changed || e.new,
                new: e.new,
            });
            e.stored = live;
        }
        batch.suppressions.append(&mut self.new_suppressed);
        for key in sends_dirty {
            if let Some(n) = self.sends.get(key) {
                let (name, sender) = send_names(&self.core, self.lp, key.0, key.1);
                batch.sends.push((name, sender, key.2, *n));
            }
        }
        self.stats.time_encode += t0.elapsed().as_secs_f64();
        let t0 = std::time::Instant::now();
        if !batch.is_empty() {
            batch.meta.push(("clock", self.clock));
            batch
                .meta
                .push(("next_enrolment", self.next_enrolment as i64));
            batch.meta.push(("next_contact", self.next_contact as i64));
            if let Err(e) = store.commit(batch) {
                self.lost = matches!(e, LiveError::Lost(_));
                return Err(e.to_string());
            }
            self.stats.batches += 1;
            // For `/metrics` (counted only where a recorder is installed: with --listen).
            let mut kinds = [0u64; 10];
            for r in &batch.journal {
                kinds[(r.kind.clamp(0, 9)) as usize] += 1;
            }
            for (k, n) in kinds.iter().enumerate().filter(|(_, n)| **n > 0) {
                metrics::counter!("cadence_records_total", "kind" => super::journal::kind_name(k as i64))
                    .increment(*n);
            }
            metrics::counter!("cadence_inputs_applied_total").increment(batch.applied.len() as u64);
        }
        self.stats.time_commit += t0.elapsed().as_secs_f64();
        for cid in &dirty {
            if let Some(e) = self.cache.get_mut(*cid) {
                e.dirty = false;
                e.new = false;
            }
        }
        if self.cache.len() > self.cache_cap {
            let now = self.batch_no;
            self.cache.retain(|e| e.used == now);
            if self.cache.len() > self.cache_cap {
                self.cache.clear();
            }
            let cache = &self.cache;
            self.by_id.retain(|_, cid| cache.get(*cid).is_some());
        }
        Ok(())
    }
}

fn send_names(core: &Core, lp: &LiveProgram, family: u32, sender: u32) -> (String, String) {
    (
        lp.program.cadences[family as usize].name.clone(),
        core.sender_names
            .get(sender as usize)
            .cloned()
            .unwrap_or_default(),
    )
}

/// Where a walk over every contact ([`Applier::each_contact`]) puts what it does.
struct Walk<'w> {
    batch: &'w mut Batch,
    fx: &'w mut Effects,
    tq: &'w mut BinaryHeap<Reverse<(Timer, ContactId)>>,
    sends_dirty: &'w mut Vec<(u32, u32, i64)>,
    commit_every: Option<usize>,
}

/// What a walk does to one contact; whether it changed it.
type ContactFn<'f, 'p> =
    dyn FnMut(&Core<'p>, &mut Contact, ContactId, &mut dyn Shared, &mut Effects) -> bool + 'f;

/// The enrolment ids and daily counters of one batch, backed by the store.
struct BatchShared<'a, 'p> {
    store: &'a mut dyn LiveStore,
    core: &'a Core<'p>,
    lp: &'a LiveProgram,
    sends: &'a mut HashMap<(u32, u32, i64), u32>,
    dirty: &'a mut Vec<(u32, u32, i64)>,
    suppressed: &'a mut HashMap<String, Suppressed>,
    new_suppressed: &'a mut Vec<(String, bool)>,
    next_enrolment: &'a mut u64,
    stride: u64,
    holds: &'a [HoldRow],
    error: Option<String>,
}

impl Shared for BatchShared<'_, '_> {
    fn cadence_paused(&mut self, family: u32, now: i64) -> Option<Held> {
        let name = &self.lp.program.cadences[family as usize].name;
        self.holds
            .iter()
            .filter(|h| !h.owner && &h.name == name)
            .map(|h| Held {
                since: h.since,
                until: h.until,
                catch_up: h.catch_up,
            })
            .find(|h| pause_holds(h, now))
    }

    fn owner_away(&mut self, owner: &str, now: i64) -> Option<i64> {
        self.holds
            .iter()
            .filter(|h| h.owner && h.name == owner && h.since <= now)
            .find_map(|h| h.until.filter(|&u| now < u))
    }

    fn suppressed(&mut self, address: &str) -> Option<Suppressed> {
        self.suppressed.get(address).copied()
    }

    fn suppress(&mut self, address: &str, why: Suppressed) {
        if self.suppressed.contains_key(address) {
            return;
        }
        self.suppressed.insert(address.to_string(), why);
        self.new_suppressed
            .push((address.to_string(), why == Suppressed::Bounced));
    }

    fn new_enrolment(&mut self) -> u64 {
        let id = *self.next_enrolment;
        *self.next_enrolment += self.stride;
        id
    }

    fn take_send(&mut self, cadence: u32, sender: u32, day: i64, limit: u32) -> bool {
        let key = (cadence, sender, day);
        let count = match self.sends.get(&key) {
            Some(n) => *n,
            None => {
                let (name, s) = send_names(self.core, self.lp, cadence, sender);
                match self.store.send_count(&name, &s, day) {
                    Ok(n) => n,
                    Err(e) => {
                        self.error = Some(e.to_string());
                        return false;
                    }
                }
            }
        };
        if count >= limit {
            self.sends.insert(key, count);
            return false;
        }
        self.sends.insert(key, count + 1);
        if !self.dirty.contains(&key) {
            self.dirty.push(key);
        }
        true
    }
}
