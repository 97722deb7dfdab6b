//! Stores behind traits: contact records ([`ContactStore`]) and the engine's enrolment state
//! ([`EnrolmentStore`]), each with an in-memory and an SQLite implementation.

pub mod live;
mod memory;
mod sqlite;

use std::collections::BTreeMap;
use std::fmt;

pub use memory::{MemoryEnrolments, MemoryStore};
pub use sqlite::{SqliteEnrolments, SqliteStore};

use crate::check::Value;
use crate::engine::Snapshot;

/// A CRM record: its id and its set fields by name.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ContactRecord {
    pub id: String,
    pub fields: BTreeMap<String, Value>,
}

/// A failure of a store (an SQLite error, a missing record).
#[derive(Debug, Clone, PartialEq)]
pub struct StoreError(pub String);

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StoreError {}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        StoreError(format!("sqlite: {e}"))
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> StoreError {
        StoreError(format!("encoding: {e}"))
    }
}

/// A visitor of [`ContactStore::scan`]: a record id and its fields.
pub type Visit<'a> = dyn FnMut(&str, &[(&str, &Value)]) + 'a;

/// Where contact records live. Records keep the order they were first inserted in.
pub trait ContactStore {
    /// Inserts or replaces a record.
    fn upsert(&mut self, record: ContactRecord) -> Result<(), StoreError>;
    fn get(&self, id: &str) -> Result<Option<ContactRecord>, StoreError>;
    /// Sets (or with `None` unsets) one field of an existing record.
    fn set_field(&mut self, id: &str, field: &str, value: Option<&Value>)
        -> Result<(), StoreError>;
    /// Visits every record in insertion order with its fields, without copying them out.
    fn scan(&self, visit: &mut Visit) -> Result<(), StoreError>;
    /// Every record id, in insertion order.
    fn ids(&self) -> Result<Vec<String>, StoreError>;
    fn len(&self) -> Result<usize, StoreError> {
        Ok(self.ids()?.len())
    }
    fn is_empty(&self) -> Result<bool, StoreError> {
        Ok(self.len()? == 0)
    }
}

/// Where the engine's enrolment state is persisted between runs.
pub trait EnrolmentStore {
    fn save(&mut self, snapshot: &Snapshot) -> Result<(), StoreError>;
    fn load(&self) -> Result<Option<Snapshot>, StoreError>;
}
