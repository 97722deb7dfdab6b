//! SQLite stores (rusqlite, bundled): a file on disk, or `:memory:`.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};

use super::{ContactRecord, ContactStore, EnrolmentStore, StoreError, Visit};
use crate::check::Value;
use crate::engine::Snapshot;

/// Contacts in two tables: `contacts(id, seq)` and `fields(contact, name, value)`, values as
/// JSON.
pub struct SqliteStore {
    conn: Connection,
}

impl SqliteStore {
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        SqliteStore::init(Connection::open(path)?)
    }

    pub fn in_memory() -> Result<SqliteStore, StoreError> {
        SqliteStore::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<SqliteStore, StoreError> {
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE IF NOT EXISTS contacts (
                 seq INTEGER PRIMARY KEY AUTOINCREMENT,
                 id TEXT NOT NULL UNIQUE
             );
             CREATE TABLE IF NOT EXISTS fields (
                 contact TEXT NOT NULL,
                 name TEXT NOT NULL,
                 value TEXT NOT NULL,
                 PRIMARY KEY (contact, name)
             );",
        )?;
        Ok(SqliteStore { conn })
    }
}

impl ContactStore for SqliteStore {
    fn upsert(&mut self, record: ContactRecord) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT OR IGNORE INTO contacts (id) VALUES (?1)",
            params![record.id],
        )?;
        tx.execute("DELETE FROM fields WHERE contact = ?1", params![record.id])?;
        {
            let mut ins =
                tx.prepare("INSERT INTO fields (contact, name, value) VALUES (?1, ?2, ?3)")?;
            for (name, value) in &record.fields {
                ins.execute(params![record.id, name, serde_json::to_string(value)?])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn get(&self, id: &str) -> Result<Option<ContactRecord>, StoreError> {
        let exists: Option<i64> = self
            .conn
            .query_row("SELECT seq FROM contacts WHERE id = ?1", params![id], |r| {
                r.get(0)
            })
            .optional()?;
        if exists.is_none() {
            return Ok(None);
        }
        let mut stmt = self
            .conn
            .prepare("SELECT name, value FROM fields WHERE contact = ?1 ORDER BY name")?;
        let mut record = ContactRecord {
            id: id.to_string(),
            ..ContactRecord::default()
        };
        let rows = stmt.query_map(params![id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        for row in rows {
            let (name, json) = row?;
            record.fields.insert(name, serde_json::from_str(&json)?);
        }
        Ok(Some(record))
    }

    fn set_field(
        &mut self,
        id: &str,
        field: &str,
        value: Option<&Value>,
    ) -> Result<(), StoreError> {
        let exists: Option<i64> = self
            .conn
            .query_row("SELECT seq FROM contacts WHERE id = ?1", params![id], |r| {
                r.get(0)
            })
            .optional()?;
        if exists.is_none() {
            return Err(StoreError(format!("no contact `{id}`")));
        }
        match value {
            Some(v) => self.conn.execute(
                "INSERT INTO fields (contact, name, value) VALUES (?1, ?2, ?3)
                 ON CONFLICT (contact, name) DO UPDATE SET value = excluded.value",
                params![id, field, serde_json::to_string(v)?],
            )?,
            None => self.conn.execute(
                "DELETE FROM fields WHERE contact = ?1 AND name = ?2",
                params![id, field],
            )?,
        };
        Ok(())
    }

    fn scan(&self, visit: &mut Visit) -> Result<(), StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT c.id, f.name, f.value FROM contacts c LEFT JOIN fields f ON f.contact = c.id
             ORDER BY c.seq, f.name",
        )?;
        let mut rows = stmt.query([])?;
        let mut current: Option<String> = None;
        let mut fields: Vec<(String, Value)> = Vec::new();
        let flush = |id: &str, fields: &[(String, Value)], visit: &mut Visit| {
            let refs: Vec<(&str, &Value)> = fields.iter().map(|(k, v)| (k.as_str(), v)).collect();
            visit(id, &refs);
        };
        while let Some(row) = rows.next()? {
            let id: String = row.get(0)?;
            if current.as_deref() != Some(id.as_str()) {
                if let Some(prev) = current.take() {
                    flush(&prev, &fields, visit);
                }
                fields.clear();
                current = Some(id);
            }
            let name: Option<String> = row.get(1)?;
            let value: Option<String> = row.get(2)?;
            if let (Some(n), Some(v)) = (name, value) {
                fields.push((n, serde_json::from_str(&v)?));
            }
        }
        if let Some(prev) = current {
            flush(&prev, &fields, visit);
        }
        Ok(())
    }

    fn ids(&self) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.conn.prepare("SELECT id FROM contacts ORDER BY seq")?;
        let ids = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ids)
    }

    fn len(&self) -> Result<usize, StoreError> {
        let n: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM contacts", [], |r| r.get(0))?;
        Ok(n as usize)
    }
}

/// The engine's snapshot as one JSON document in a table.
pub struct SqliteEnrolments {
    conn: Connection,
}

impl SqliteEnrolments {
    pub fn open(path: &Path) -> Result<SqliteEnrolments, StoreError> {
        SqliteEnrolments::init(Connection::open(path)?)
    }

    pub fn in_memory() -> Result<SqliteEnrolments, StoreError> {
        SqliteEnrolments::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<SqliteEnrolments, StoreError> {
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS engine_state (
                 key INTEGER PRIMARY KEY CHECK (key = 1),
                 snapshot TEXT NOT NULL
             );",
        )?;
        Ok(SqliteEnrolments { conn })
    }
}

impl EnrolmentStore for SqliteEnrolments {
    fn save(&mut self, snapshot: &Snapshot) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO engine_state (key, snapshot) VALUES (1, ?1)
             ON CONFLICT (key) DO UPDATE SET snapshot = excluded.snapshot",
            params![serde_json::to_string(snapshot)?],
        )?;
        Ok(())
    }

    fn load(&self) -> Result<Option<Snapshot>, StoreError> {
        let json: Option<String> = self
            .conn
            .query_row("SELECT snapshot FROM engine_state WHERE key = 1", [], |r| {
                r.get(0)
            })
            .optional()?;
        Ok(match json {
            Some(j) => Some(serde_json::from_str(&j)?),
            None => None,
        })
    }
}
