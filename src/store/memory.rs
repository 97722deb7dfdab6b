//! In-memory stores.

use std::collections::HashMap;

use super::{ContactRecord, ContactStore, EnrolmentStore, StoreError};
use crate::check::Value;
use crate::engine::Snapshot;

#[derive(Debug, Default)]
pub struct MemoryStore {
    records: Vec<ContactRecord>,
    index: HashMap<String, usize>,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }
}

impl ContactStore for MemoryStore {
    fn upsert(&mut self, record: &ContactRecord) -> Result<(), StoreError> {
        match self.index.get(&record.id) {
            Some(&i) => self.records[i] = record.clone(),
            None => {
                self.index.insert(record.id.clone(), self.records.len());
                self.records.push(record.clone());
            }
        }
        Ok(())
    }

    fn get(&self, id: &str) -> Result<Option<ContactRecord>, StoreError> {
        Ok(self.index.get(id).map(|&i| self.records[i].clone()))
    }

    fn set_field(
        &mut self,
        id: &str,
        field: &str,
        value: Option<&Value>,
    ) -> Result<(), StoreError> {
        let i = *self
            .index
            .get(id)
            .ok_or_else(|| StoreError(format!("no contact `{id}`")))?;
        let fields = &mut self.records[i].fields;
        match value {
            Some(v) => {
                fields.insert(field.to_string(), v.clone());
            }
            None => {
                fields.remove(field);
            }
        }
        Ok(())
    }

    fn ids(&self) -> Result<Vec<String>, StoreError> {
        Ok(self.records.iter().map(|r| r.id.clone()).collect())
    }

    fn len(&self) -> Result<usize, StoreError> {
        Ok(self.records.len())
    }
}

/// Keeps the last snapshot in memory.
#[derive(Debug, Default)]
pub struct MemoryEnrolments {
    last: Option<Snapshot>,
}

impl EnrolmentStore for MemoryEnrolments {
    fn save(&mut self, snapshot: &Snapshot) -> Result<(), StoreError> {
        self.last = Some(snapshot.clone());
        Ok(())
    }

    fn load(&self) -> Result<Option<Snapshot>, StoreError> {
        Ok(self.last.clone())
    }
}
