//! The engine's state: contacts (dense ids, sparse field values) and enrolments. The whole
//! state serialises to a [`Snapshot`], which an [`crate::store::EnrolmentStore`] persists.

use serde::{Deserialize, Serialize};

use crate::check::Value;

/// Dense contact id (the order contacts were added).
pub type ContactId = u32;
/// Dense enrolment id (the order of enrolment: timers at one instant run in this order).
pub type EnrolmentId = u32;

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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    pub id: String,
    pub fields: Fields,
    pub unsubscribed: bool,
    /// The address that bounced; email to it is skipped.
    pub bounced: Option<String>,
    /// Every enrolment of the contact, in order.
    pub enrolments: Vec<EnrolmentId>,
    /// Per cadence: the last value of its `enroll when` condition (enrolment happens when it
    /// becomes true).
    pub enroll_cond: Vec<bool>,
    /// Per channel (email, call, task): the most recent execution, as (time, execution
    /// sequence number, enrolment, index in its executions). Outcomes without a step or cadence
    /// find their message here without walking the enrolments.
    pub last_exec: [Option<LastExec>; 3],
}

/// Where a contact's most recent execution of one channel is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LastExec {
    pub at: i64,
    pub seq: u64,
    pub enrolment: EnrolmentId,
    pub exec: u32,
}

/// One execution of a step: its message, and the outcomes received for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exec {
    pub step: u32,
    pub at: i64,
    /// Bit set of [`crate::check::Outcome::bit`].
    pub outcomes: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Phase {
    /// Entered at `entered`, due at `due`; `since` is when it first fell due (earlier than
    /// `due` for an email deferred by the daily limit).
    Pending {
        entered: i64,
        due: i64,
        since: i64,
    },
    /// Executed; waiting for an event or a timeout of execution `exec`.
    Waiting {
        exec: u32,
    },
    Ended,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Enrolment {
    pub contact: ContactId,
    pub cadence: u32,
    pub started: i64,
    pub ended: Option<i64>,
    pub step: u32,
    pub phase: Phase,
    /// Bumped whenever the enrolment moves; timers of an older generation are stale.
    pub generation: u32,
    pub execs: Vec<Exec>,
}

impl Enrolment {
    pub fn is_active(&self) -> bool {
        self.phase != Phase::Ended
    }
}

/// A timer: ordered by due time, then by when it first fell due (an email deferred by the daily
/// limit keeps its place: first come, first served), then enrolment order, then step, then
/// slot (0 = the step is due; 1 + i = timeout handler i, so the first written wins on a tie).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Timer {
    pub due: i64,
    pub since: i64,
    pub enrolment: EnrolmentId,
    pub step: u32,
    pub slot: u16,
    pub generation: u32,
}

/// Everything the engine knows; restoring it continues a run exactly where it stopped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub now: i64,
    pub contacts: Vec<Contact>,
    pub enrolments: Vec<Enrolment>,
    pub timers: Vec<Timer>,
    pub sent: Vec<((u32, u32, i64), u32)>,
    pub exec_seq: u64,
}
