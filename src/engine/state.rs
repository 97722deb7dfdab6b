//! The engine's state. The unit of state is one contact: its fields, its suppression flags, its
//! enrolments with their executions, and its live timers. The in-memory driver keeps every
//! contact in a [`Snapshot`]; the live runner keeps each one as a row of its database.

use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use crate::check::Value;

/// Dense contact id (the order contacts were added; the row id in the live runner's database).
pub type ContactId = u32;
/// Enrolment id: the order of enrolment, across all contacts (timers at one instant run in
/// this order).
pub type EnrolmentId = u64;

/// A record's set field values, by global field id, kept sorted (records set few fields).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Fields(Vec<(u16, Value)>);

impl Fields {
    pub fn get(&self, gid: u16) -> Option<&Value> {
        self.0
            .binary_search_by_key(&gid, |(g, _)| *g)
            .ok()
            .map(|i| &self.0[i].1)
    }

    /// Sets or (with `None`) unsets a field; returns whether the value changed.
    pub fn set(&mut self, gid: u16, value: Option<Value>) -> bool {
        match (self.0.binary_search_by_key(&gid, |(g, _)| *g), value) {
            (Ok(i), Some(v)) => {
                if self.0[i].1 == v {
                    return false;
                }
                self.0[i].1 = v;
            }
            (Ok(i), None) => {
                self.0.remove(i);
            }
            (Err(i), Some(v)) => self.0.insert(i, (gid, v)),
            (Err(_), None) => return false,
        }
        true
    }

    pub fn iter(&self) -> impl Iterator<Item = &(u16, Value)> {
        self.0.iter()
    }
}

/// One contact's whole state: what the engine's core reads and writes when it applies an input
/// or a due timer to this contact, and nothing else.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    pub id: String,
    pub fields: Fields,
    pub unsubscribed: bool,
    /// The address that bounced; email to it is skipped.
    pub bounced: Option<String>,
    /// Every enrolment of the contact, in order (most contacts have one: it is kept inline).
    pub enrolments: SmallVec<[Enrolment; 1]>,
    /// Per cadence: the last value of its `enroll when` condition (enrolment happens when it
    /// becomes true).
    pub enroll_cond: Vec<bool>,
    /// Per channel (email, call, task): the most recent execution. Outcomes without a step or
    /// cadence find their message here without walking the enrolments.
    pub last_exec: [Option<LastExec>; 3],
    /// Executions of this contact so far (orders executions of one instant).
    pub exec_seq: u64,
}

impl Contact {
    pub fn new(id: &str, fields: Fields, cadences: usize) -> Contact {
        Contact {
            id: id.to_string(),
            fields,
            unsubscribed: false,
            bounced: None,
            enrolments: SmallVec::new(),
            enroll_cond: vec![false; cadences],
            last_exec: [None; 3],
            exec_seq: 0,
        }
    }

    /// The position of an enrolment in [`Contact::enrolments`].
    pub fn local(&self, id: EnrolmentId) -> Option<usize> {
        self.enrolments.iter().rposition(|e| e.id == id)
    }

    /// Whether a timer is still to fire: its enrolment has not moved on since it was set, and
    /// (for a timeout) it has not fired yet.
    pub fn is_live(&self, t: &Timer) -> bool {
        match self.local(t.enrolment) {
            Some(li) => self.enrolments[li].stamp().is_live(t),
            None => false,
        }
    }
}

/// What decides whether a timer of an enrolment is live: its generation, and a bit per timer
/// slot that can still fire (slot 0 while pending; the timeouts not yet fired while waiting).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stamp {
    pub generation: u32,
    pub slots: u32,
}

impl Stamp {
    pub fn is_live(self, t: &Timer) -> bool {
        self.generation == t.generation && self.slots & (1 << (t.slot & 31)) != 0
    }
}

/// Where a contact's most recent execution of one channel is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LastExec {
    pub at: i64,
    pub seq: u64,
    /// Position in [`Contact::enrolments`].
    pub enrolment: u32,
    pub exec: u32,
}

/// One execution of a step: its message, and the outcomes received for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exec {
    pub step: u32,
    pub at: i64,
    /// Bit set of [`crate::check::Outcome::bit`], and [`ORPHAN`].
    pub outcomes: u16,
}

/// A bit of [`Exec::outcomes`]: the execution's step was removed (or changed channel) by a
/// migration into a new version. Its `step` then names a step of the new version only so that
/// it stays a valid index: it takes no event of its own (an outcome for that message is
/// recorded without a step), and events without a step go to other executions.
pub const ORPHAN: u16 = 1 << 15;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Phase {
    /// Entered at `entered`, due at `due`; `since` is when it first fell due (earlier than
    /// `due` for an email deferred by the daily limit).
    Pending {
        entered: i64,
        due: i64,
        since: i64,
    },
    /// Executed; waiting for an event or a timeout of execution `exec`. The timeouts were set
    /// at `armed` (the execution, or later when a program changed): none falls due before it.
    Waiting {
        exec: u32,
        armed: i64,
    },
    Ended,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Enrolment {
    pub id: EnrolmentId,
    pub contact: ContactId,
    pub cadence: u32,
    pub started: i64,
    pub ended: Option<i64>,
    pub step: u32,
    pub phase: Phase,
    /// Bumped whenever the enrolment moves; timers of an older generation are stale.
    pub generation: u32,
    pub execs: Vec<Exec>,
    /// Timeouts of the current wait that fired without effect (their outcome had happened),
    /// as a bit per timer slot (slots are 1 to 15: a step has at most nine handlers).
    #[serde(default)]
    pub fired: u16,
    /// Jumps back to an earlier step at one instant: (the instant, how many). A loop in which
    /// no time passes is stopped.
    #[serde(default)]
    pub spin: (i64, u32),
    /// Its pause (`cadence pause`), boxed: few enrolments ever pause, and every enrolment is
    /// in memory. Read and written through [`Enrolment::held`] and [`Enrolment::shift`].
    #[serde(default)]
    pub pause: Option<Box<PauseState>>,
}

/// The pause of an enrolment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PauseState {
    /// Paused: its timers are held until it is resumed.
    pub held: Option<Held>,
    /// Time taken out of the current wait by pauses: the timeouts of the step it waits at
    /// count from its execution plus this (0 when it never paused there).
    pub shift: i64,
}

/// A pause of an enrolment: since when, until when (`None`: until a `resume`), and whether the
/// automatic resume at `until` fires what became due meanwhile (`--catch-up`) instead of
/// continuing each wait with the time it had left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Held {
    pub since: i64,
    pub until: Option<i64>,
    pub catch_up: bool,
}

/// The timer slot of the automatic resume of a paused enrolment (slot 0 is the step falling
/// due, slots 1 to 15 its timeouts).
pub const RESUME_SLOT: u16 = 31;

impl Enrolment {
    /// Its pause, if it is paused.
    pub fn held(&self) -> Option<Held> {
        self.pause.as_ref().and_then(|p| p.held)
    }

    /// The time pauses took out of its current wait.
    pub fn shift(&self) -> i64 {
        self.pause.as_ref().map_or(0, |p| p.shift)
    }

    pub fn set_held(&mut self, held: Option<Held>) {
        self.set_pause(PauseState {
            held,
            shift: self.shift(),
        });
    }

    pub fn set_shift(&mut self, shift: i64) {
        self.set_pause(PauseState {
            held: self.held(),
            shift,
        });
    }

    fn set_pause(&mut self, p: PauseState) {
        self.pause = (p != PauseState::default()).then(|| Box::new(p));
    }

    pub fn is_active(&self) -> bool {
        self.phase != Phase::Ended
    }

    /// Which of its timers are live.
    pub fn stamp(&self) -> Stamp {
        let slots = match (self.phase, self.held()) {
            (Phase::Ended, _) => 0,
            (_, Some(h)) => u32::from(h.until.is_some()) << RESUME_SLOT,
            (Phase::Pending { .. }, None) => 1,
            (Phase::Waiting { .. }, None) => !(u32::from(self.fired)) & !1 & !(1 << RESUME_SLOT),
        };
        Stamp {
            generation: self.generation,
            slots,
        }
    }
}

/// A timer: ordered by due time, then by when it first fell due (an email deferred by the daily
/// limit keeps its place: first come, first served), then enrolment order, then slot (0 = the
/// step is due; 1 + i = timeout handler i, so the first written wins on a tie). The language
/// orders by step before slot: the live timers of one enrolment are all at its current step,
/// so the step never decides and is not kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Timer {
    pub due: i64,
    pub since: i64,
    pub enrolment: EnrolmentId,
    pub slot: u16,
    pub generation: u32,
}

/// Everything the in-memory engine knows; restoring it continues a run exactly where it stopped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub now: i64,
    pub contacts: Vec<Contact>,
    /// The daily send counters of `limit`: (cadence, sender, day) -> emails sent.
    pub sent: Vec<((u32, u32, i64), u32)>,
    /// The id the next enrolment takes.
    pub next_enrolment: EnrolmentId,
    /// Addresses never emailed again: (address, true when it bounced, false when it
    /// unsubscribed).
    #[serde(default)]
    pub suppressed: Vec<(String, bool)>,
    /// Cadences paused as a whole (by family): new enrolments start paused.
    #[serde(default)]
    pub paused: Vec<(u32, Held)>,
    /// Owners away (`pause --owner`), and until when.
    #[serde(default)]
    pub away: Vec<(String, i64)>,
}
