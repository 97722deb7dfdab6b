//! In-memory stores. Records are kept compactly: field names are interned once for the whole
//! store, so a hundred thousand records cost a few tens of megabytes.

use std::collections::HashMap;

use super::{ContactRecord, ContactStore, EnrolmentStore, StoreError, Visit};
use crate::check::Value;
use crate::engine::hash::FastHash;
use crate::engine::Snapshot;

#[derive(Debug, Default)]
struct Slot {
    id: String,
    /// (interned field name, value), sorted by name id.
    fields: Vec<(u32, Value)>,
}

#[derive(Debug, Default)]
pub struct MemoryStore {
    records: Vec<Slot>,
    index: HashMap<String, usize, FastHash>,
    names: Vec<String>,
    name_ids: HashMap<String, u32, FastHash>,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn intern(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.name_ids.get(name) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(name.to_string());
        self.name_ids.insert(name.to_string(), i);
        i
    }
}

impl ContactStore for MemoryStore {
    fn upsert(&mut self, record: ContactRecord) -> Result<(), StoreError> {
        let mut fields: Vec<(u32, Value)> = record
            .fields
            .into_iter()
            .map(|(k, v)| (self.intern(&k), v))
            .collect();
        fields.sort_by_key(|(k, _)| *k);
        match self.index.get(&record.id) {
            Some(&i) => self.records[i].fields = fields,
            None => {
                self.index.insert(record.id.clone(), self.records.len());
                self.records.push(Slot {
                    id: record.id,
                    fields,
                });
            }
        }
        Ok(())
    }

    fn get(&self, id: &str) -> Result<Option<ContactRecord>, StoreError> {
        Ok(self.index.get(id).map(|&i| {
            let slot = &self.records[i];
            ContactRecord {
                id: slot.id.clone(),
                fields: slot
                    .fields
                    .iter()
                    .map(|(k, v)| (self.names[*k as usize].clone(), v.clone()))
                    .collect(),
            }
        }))
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
        let k = self.intern(field);
        let fields = &mut self.records[i].fields;
        match (fields.binary_search_by_key(&k, |(n, _)| *n), value) {
            (Ok(at), Some(v)) => fields[at].1 = v.clone(),
            (Ok(at), None) => {
                fields.remove(at);
            }
            (Err(at), Some(v)) => fields.insert(at, (k, v.clone())),
            (Err(_), None) => {}
        }
        Ok(())
    }

    fn scan(&self, visit: &mut Visit) -> Result<(), StoreError> {
        let mut buf: Vec<(&str, &Value)> = Vec::new();
        for slot in &self.records {
            buf.clear();
            buf.extend(
                slot.fields
                    .iter()
                    .map(|(k, v)| (self.names[*k as usize].as_str(), v)),
            );
            visit(&slot.id, &buf);
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
