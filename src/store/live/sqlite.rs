//! The live store on SQLite (rusqlite, bundled): one file, WAL, `synchronous=FULL`, writes in
//! `BEGIN IMMEDIATE` transactions. A database is recognised by its application id and schema
//! version: another program's database, or one written by a newer cadence, is refused and
//! never changed; an older one is migrated in one transaction.

use std::path::Path;
use std::time::Duration;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};

use super::rows::{
    contact_row, due_row, held_hit, hold_row, input_row, mail_row, message_ref, outbox_row,
    task_row, token_row, INBOX_COLUMNS, MAIL_COLUMNS, MESSAGE_REF_FROM, OUTBOX_COLUMNS, SENT_AT,
    TASK_COLUMNS,
};
use super::{
    input_key, Batch, ContactRow, Counts, Delivery, HeldHit, Hit, HoldRow, InboxRow, InputColumns,
    JournalRow, LiveError, LiveStore, MailRow, MessageRef, NewInput, OutboxRow, OutboxState,
    Result, TaskFilter, TaskRow, TaskUpdate, TokenRow, VersionFile, VersionRow, JOURNAL_CHUNK,
};
use crate::engine::{ContactId, Timer};

/// `PRAGMA application_id` of a cadence database ("CDNC").
const APPLICATION_ID: i64 = 0x4344_4e43;

/// The schema version this program writes; `MIGRATIONS[i]` moves a database from version `i`
/// to `i + 1`.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
     CREATE TABLE sources (hash TEXT PRIMARY KEY, text TEXT NOT NULL);
     CREATE TABLE versions (
         id INTEGER PRIMARY KEY,
         name TEXT NOT NULL,
         hash TEXT NOT NULL,
         file TEXT NOT NULL,
         files TEXT NOT NULL,
         created INTEGER NOT NULL,
         deployed INTEGER NOT NULL DEFAULT 0,
         UNIQUE (name, hash)
     );
     CREATE TABLE contacts (
         seq INTEGER PRIMARY KEY,
         id TEXT NOT NULL UNIQUE,
         state BLOB NOT NULL,
         due INTEGER,
         since INTEGER,
         enrolment INTEGER,
         slot INTEGER,
         generation INTEGER
     );
     CREATE INDEX contacts_due ON contacts (due, since, enrolment, slot) WHERE due IS NOT NULL;
     CREATE TABLE inbox (
         seq INTEGER PRIMARY KEY,
         key BLOB NOT NULL UNIQUE,
         at INTEGER NOT NULL,
         contact TEXT NOT NULL,
         kind TEXT NOT NULL,
         event TEXT,
         step INTEGER,
         cadence TEXT,
         field TEXT,
         value TEXT,
         fields BLOB,
         origin TEXT NOT NULL,
         received INTEGER NOT NULL
     );
     CREATE INDEX inbox_order ON inbox (at, seq);
     CREATE TABLE inbox_notes (
         seq INTEGER PRIMARY KEY,
         applied INTEGER NOT NULL,
         note TEXT NOT NULL
     );
     CREATE TABLE journal (
         seq INTEGER PRIMARY KEY,
         records BLOB NOT NULL
     );
     CREATE TABLE outbox (
         id INTEGER PRIMARY KEY,
         contact INTEGER NOT NULL,
         enrolment INTEGER NOT NULL,
         exec INTEGER NOT NULL,
         version INTEGER NOT NULL,
         step INTEGER NOT NULL,
         at INTEGER NOT NULL,
         message_id TEXT NOT NULL,
         sender TEXT NOT NULL,
         reply_to TEXT,
         recipient TEXT NOT NULL,
         subject TEXT NOT NULL,
         body TEXT NOT NULL,
         html INTEGER NOT NULL,
         unsubscribe TEXT NOT NULL,
         state TEXT NOT NULL,
         attempts INTEGER NOT NULL DEFAULT 0,
         next_attempt INTEGER NOT NULL DEFAULT 0,
         reply TEXT,
         updated INTEGER NOT NULL,
         UNIQUE (enrolment, exec)
     );
     CREATE INDEX outbox_state ON outbox (state, next_attempt, id);
     CREATE TABLE tasks (
         id INTEGER PRIMARY KEY,
         contact INTEGER NOT NULL,
         enrolment INTEGER NOT NULL,
         exec INTEGER NOT NULL,
         version INTEGER NOT NULL,
         step INTEGER NOT NULL,
         kind TEXT NOT NULL,
         subject TEXT NOT NULL,
         task_type TEXT,
         owner TEXT,
         priority TEXT NOT NULL,
         due INTEGER NOT NULL,
         created INTEGER NOT NULL,
         phone TEXT,
         zone TEXT NOT NULL,
         state TEXT NOT NULL,
         outcome TEXT,
         closed INTEGER,
         UNIQUE (enrolment, exec)
     );
     CREATE INDEX tasks_open ON tasks (state, due);
     CREATE TABLE sends (
         cadence TEXT NOT NULL,
         sender TEXT NOT NULL,
         day INTEGER NOT NULL,
         used INTEGER NOT NULL,
         PRIMARY KEY (cadence, sender, day)
     ) WITHOUT ROWID;",
    // 2: tokens of the HTTP API, stored hashed.
    "CREATE TABLE api_tokens (
         id INTEGER PRIMARY KEY,
         name TEXT NOT NULL UNIQUE,
         hash BLOB NOT NULL UNIQUE,
         created INTEGER NOT NULL,
         revoked INTEGER
     );",
    // 3: opens and clicks (tracking), and inputs made by machines.
    "ALTER TABLE inbox ADD COLUMN machine INTEGER NOT NULL DEFAULT 0;
     ALTER TABLE inbox ADD COLUMN message_enrolment INTEGER;
     ALTER TABLE inbox ADD COLUMN message_exec INTEGER;
     CREATE TABLE hits (
         id INTEGER PRIMARY KEY,
         contact TEXT NOT NULL,
         enrolment INTEGER NOT NULL,
         exec INTEGER NOT NULL,
         step INTEGER NOT NULL,
         cadence TEXT,
         link INTEGER,
         at INTEGER NOT NULL,
         machine TEXT,
         queued INTEGER NOT NULL DEFAULT 0
     );
     CREATE INDEX hits_message ON hits (enrolment, exec, at);
     CREATE INDEX hits_held ON hits (at) WHERE queued = 0;
     CREATE TABLE webhook_nonces (key TEXT PRIMARY KEY, at INTEGER NOT NULL) WITHOUT ROWID;
     CREATE TABLE suppressions (
         address TEXT PRIMARY KEY,
         bounced INTEGER NOT NULL
     ) WITHOUT ROWID;",
    // 4: cadences paused as a whole, and owners away (`cadence pause`); the due time an open
    // call or task had before its owner's time off moved it.
    "CREATE TABLE holds (
         kind TEXT NOT NULL,
         name TEXT NOT NULL,
         since INTEGER NOT NULL,
         until INTEGER,
         catch_up INTEGER NOT NULL DEFAULT 0,
         PRIMARY KEY (kind, name)
     ) WITHOUT ROWID;
     ALTER TABLE tasks ADD COLUMN held_from INTEGER;",
    // 5: mail read from the sending mailboxes (`--imap`): where each mailbox was read up to,
    // every message read and what it was matched to; the outbox's recipients as replies are
    // matched on them.
    "ALTER TABLE outbox ADD COLUMN recipient_key TEXT;
     UPDATE outbox SET recipient_key = cadence_address_key(recipient);
     CREATE INDEX outbox_recipient ON outbox (recipient_key, at);
     CREATE TABLE mailboxes (
         name TEXT PRIMARY KEY,
         uidvalidity INTEGER NOT NULL,
         last_uid INTEGER NOT NULL,
         updated INTEGER NOT NULL
     ) WITHOUT ROWID;
     CREATE TABLE mail (
         id INTEGER PRIMARY KEY,
         mailbox TEXT NOT NULL,
         uidvalidity INTEGER NOT NULL,
         uid INTEGER NOT NULL,
         message_id TEXT,
         sender TEXT,
         subject TEXT NOT NULL,
         class TEXT NOT NULL,
         event TEXT,
         contact TEXT,
         ours TEXT,
         matched_by TEXT,
         sent INTEGER,
         at INTEGER NOT NULL,
         read INTEGER NOT NULL,
         note TEXT,
         UNIQUE (mailbox, uidvalidity, uid)
     );
     CREATE INDEX mail_contact ON mail (contact, at);",
    // 6: inputs applied below the inbox's watermark (queued late, with an earlier time), kept
    // until the seqs the runner has seen pass them.
    "CREATE TABLE inbox_late (seq INTEGER PRIMARY KEY);",
];

/// The live store on one SQLite file.
///
/// The inbox is read in (at, seq) order and consumed as a prefix of it, so what was applied is
/// kept as a watermark, not a flag per row: an input is consumed when its (at, seq) is at or
/// below the watermark and its seq at or below the last seq the runner had seen when it read
/// (an input queued later, even with an earlier time, is still to apply).
pub struct SqliteLive {
    conn: Connection,
    /// The highest seq the last `next_inputs` could see.
    seen: Option<i64>,
}

/// Where the inbox has been consumed up to.
#[derive(Debug, Clone, Copy, Default)]
struct Mark {
    at: i64,
    seq: i64,
    /// Inputs with a seq above this were queued after the runner last read.
    seen: i64,
}

/// How long a writer waits for another one (the runner, `cadence ingest`, `cadence log`).
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

impl SqliteLive {
    /// Opens a database, creating it (with its schema) when `create` and it does not exist.
    pub fn open(path: &Path, create: bool) -> Result<SqliteLive> {
        super::refuse_url(path)?;
        let shown = path.display();
        match std::fs::metadata(path) {
            Ok(m) if m.is_dir() => {
                return Err(LiveError::Open(format!(
                    "`{shown}` is a folder, not a database file"
                )))
            }
            // A file that is not SQLite is found out by SQLite's first read (below). The file is
            // never opened here with a descriptor of our own: closing one would drop the POSIX
            // locks of every SQLite connection of this process to the same file.
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if !create {
                    return Err(LiveError::Open(format!(
                        "there is no database at `{shown}`; `cadence run FILES --db {shown}` creates one"
                    )));
                }
            }
            Err(e) => {
                return Err(LiveError::Open(format!(
                    "cannot open `{shown}`: {}",
                    crate::diagnostic::io_reason(&e)
                )))
            }
        }
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if create {
            flags |= OpenFlags::SQLITE_OPEN_CREATE;
        }
        let conn = Connection::open_with_flags(path, flags).map_err(|e| {
            LiveError::Open(format!("cannot open `{shown}`: {}", sqlite_reason(&e)))
        })?;
        let mut store = SqliteLive { conn, seen: None };
        store.init(&shown.to_string())?;
        Ok(store)
    }

    /// A fresh database in memory (tests).
    pub fn in_memory() -> Result<SqliteLive> {
        let mut store = SqliteLive {
            conn: Connection::open_in_memory()?,
            seen: None,
        };
        store.init(":memory:")?;
        Ok(store)
    }

    fn init(&mut self, shown: &str) -> Result<()> {
        let c = &self.conn;
        c.busy_timeout(BUSY_TIMEOUT)?;
        // How replies are matched on addresses (schema 5 and every outbox row written).
        c.create_scalar_function(
            "cadence_address_key",
            1,
            rusqlite::functions::FunctionFlags::SQLITE_UTF8
                | rusqlite::functions::FunctionFlags::SQLITE_DETERMINISTIC,
            |ctx| {
                Ok(ctx
                    .get::<Option<String>>(0)?
                    .map(|a| crate::mail::inbound::address_key(&a)))
            },
        )?;
        let refuse = |e: rusqlite::Error| {
            match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::NotADatabase) => LiveError::Refused(format!(
                "`{shown}` is not a cadence database (not an SQLite file); cadence does not change it. Give --db a new file name"
            )),
            _ => LiveError::Open(format!("cannot read `{shown}`: {}", sqlite_reason(&e))),
        }
        };
        let app: i64 = c
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .map_err(refuse)?;
        let version: i64 = c
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(refuse)?;
        let tables: Vec<String> = {
            let mut st = c
                .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
                .map_err(refuse)?;
            let rows = st.query_map([], |r| r.get(0)).map_err(refuse)?;
            rows.collect::<std::result::Result<_, _>>()
                .map_err(refuse)?
        };
        if app != APPLICATION_ID && !(app == 0 && tables.is_empty()) {
            let shown_tables: Vec<String> = tables.iter().take(5).cloned().collect();
            return Err(LiveError::Refused(format!(
                "`{shown}` is an SQLite database of another program (tables: {}); cadence does not change it. Give --db a new file name",
                if shown_tables.is_empty() { "none".to_string() } else { shown_tables.join(", ") }
            )));
        }
        if version > SCHEMA_VERSION {
            return Err(LiveError::Refused(format!(
                "`{shown}` was written by a newer cadence (schema {version}; this one knows up to {SCHEMA_VERSION}); upgrade cadence to use it"
            )));
        }
        c.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
        c.execute_batch(
            "PRAGMA synchronous = FULL; PRAGMA foreign_keys = OFF; PRAGMA cache_size = -65536;
             PRAGMA wal_autocheckpoint = 65536;",
        )?;
        if version < SCHEMA_VERSION {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            // Another process may have migrated it while we waited for the lock.
            let now: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            for m in MIGRATIONS.iter().skip(now as usize) {
                tx.execute_batch(m)?;
            }
            tx.execute_batch(&format!(
                "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {SCHEMA_VERSION};"
            ))?;
            tx.commit()?;
        }
        Ok(())
    }

    fn mark(&self) -> Result<Mark> {
        let get = |k: &str| -> Result<i64> {
            Ok(self
                .conn
                .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
                .query_row(params![k], |r| r.get::<_, String>(0))
                .optional()?
                .and_then(|v| v.parse().ok())
                .unwrap_or(i64::MIN))
        };
        Ok(Mark {
            at: get("inbox_at")?,
            seq: get("inbox_seq")?,
            seen: get("inbox_seen")?.max(0),
        })
    }

    /// Pending inputs (up to `limit`, in order) among those with a seq up to `seen`.
    fn pending(&self, m: Mark, seen: i64, limit: usize) -> Result<Vec<InboxRow>> {
        let mut rows: Vec<InboxRow> = {
            // Queued since the last read, with a time at or before the watermark: late.
            let mut st = self.conn.prepare_cached(&format!(
                "SELECT {INBOX_COLUMNS} FROM inbox WHERE seq > ?1 AND seq <= ?2
                 AND (at, seq) <= (?3, ?4) AND seq NOT IN (SELECT seq FROM inbox_late)
                 ORDER BY at, seq LIMIT ?5"
            ))?;
            let r = st.query_map(params![m.seen, seen, m.at, m.seq, limit as i64], |r| {
                input_row(r)
            })?;
            r.collect::<std::result::Result<_, _>>()?
        };
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT {INBOX_COLUMNS} FROM inbox WHERE (at, seq) > (?1, ?2) AND seq <= ?3
             ORDER BY at, seq LIMIT ?4"
        ))?;
        let more = st.query_map(
            params![m.at, m.seq, seen, (limit - rows.len().min(limit)) as i64],
            |r| input_row(r),
        )?;
        for r in more {
            rows.push(r?);
        }
        Ok(rows)
    }

    fn tx(&mut self) -> Result<rusqlite::Transaction<'_>> {
        Ok(self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?)
    }
}

/// Refuses a file that is not an SQLite database before SQLite sees it.
fn sqlite_reason(e: &rusqlite::Error) -> String {
    match e {
        rusqlite::Error::SqliteFailure(f, _) => match f.code {
            rusqlite::ErrorCode::CannotOpen => {
                "it cannot be opened (does its folder exist, and may this user write there?)".into()
            }
            rusqlite::ErrorCode::NotADatabase => "it is not an SQLite database".into(),
            rusqlite::ErrorCode::ReadOnly | rusqlite::ErrorCode::PermissionDenied => {
                "permission denied (cadence needs to write to the file and its folder)".into()
            }
            rusqlite::ErrorCode::DatabaseCorrupt => "the file is damaged".into(),
            _ => e.to_string(),
        },
        _ => e.to_string(),
    }
}

fn insert_inputs(tx: &rusqlite::Transaction, inputs: &[NewInput], now: i64) -> Result<Vec<bool>> {
    let mut st = tx.prepare_cached(
        "INSERT OR IGNORE INTO inbox (key, at, contact, kind, event, step, cadence, field, value,
             fields, origin, received, machine, message_enrolment, message_exec)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    )?;
    let mut out = Vec::with_capacity(inputs.len());
    for i in inputs {
        let c = InputColumns::of(&i.what);
        let n = st.execute(params![
            input_key(&i.key, i.at),
            i.at,
            i.contact,
            c.kind,
            c.event,
            c.step,
            c.cadence,
            c.field,
            c.value,
            c.fields,
            i.origin,
            now,
            c.machine as i64,
            c.message.map(|m| m.0),
            c.message.map(|m| m.1)
        ])?;
        out.push(n == 1);
    }
    Ok(out)
}

impl LiveStore for SqliteLive {
    /// Leaves checkpoints (copying the write-ahead log into the database file) to
    /// [`SqliteLive::checkpoint`] on another connection, instead of the committing thread.
    fn manual_checkpoints(&mut self) -> Result<bool> {
        self.conn.execute_batch("PRAGMA wal_autocheckpoint = 0;")?;
        Ok(true)
    }

    /// Copies what the write-ahead log holds into the database file, as far as readers allow
    /// (`truncate`: all of it, and empties the log).
    fn checkpoint(&mut self, truncate: bool) -> Result<()> {
        let mode = if truncate { "TRUNCATE" } else { "PASSIVE" };
        self.conn
            .query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |_| Ok(()))?;
        Ok(())
    }

    /// Copies the database to `to` while it is in use (SQLite's online backup).
    fn backup(&mut self, to: &Path, progress: &mut dyn FnMut(i32, i32)) -> Result<()> {
        let mut dst = Connection::open(to)?;
        let b = rusqlite::backup::Backup::new(&self.conn, &mut dst)?;
        loop {
            let step = b.step(256)?;
            let p = b.progress();
            progress(p.pagecount - p.remaining, p.pagecount);
            match step {
                rusqlite::backup::StepResult::Done => return Ok(()),
                rusqlite::backup::StepResult::More => {}
                _ => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }

    fn meta(&mut self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
            .query_row(params![key], |r| r.get(0))
            .optional()?)
    }

    fn set_meta(&mut self, key: &str, value: &str) -> Result<()> {
        self.conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
            params![key, value],
        )?;
        Ok(())
    }

    fn meta_or_insert(&mut self, key: &str, value: &str) -> Result<String> {
        let tx = self.tx()?;
        tx.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES (?1, ?2)",
            params![key, value],
        )?;
        let v: String =
            tx.query_row("SELECT value FROM meta WHERE key = ?1", params![key], |r| {
                r.get(0)
            })?;
        tx.commit()?;
        Ok(v)
    }

    fn versions(&mut self) -> Result<Vec<VersionRow>> {
        let mut st = self.conn.prepare(
            "SELECT id, name, hash, file, files, created, deployed FROM versions ORDER BY id",
        )?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, i64>(5)?,
                r.get::<_, bool>(6)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, name, hash, file, files, created, deployed) = row?;
            out.push(VersionRow {
                id,
                name,
                hash,
                files: serde_json::from_str(&files)?,
                file,
                created,
                deployed,
            });
        }
        Ok(out)
    }

    fn source(&mut self, hash: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT text FROM sources WHERE hash = ?1",
                params![hash],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn add_version(
        &mut self,
        name: &str,
        hash: &str,
        file: &str,
        files: &[(VersionFile, String)],
        now: i64,
    ) -> Result<i64> {
        let tx = self.tx()?;
        let known: Option<i64> = tx
            .query_row(
                "SELECT id FROM versions WHERE name = ?1 AND hash = ?2",
                params![name, hash],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(id) = known {
            return Ok(id);
        }
        for (f, text) in files {
            tx.execute(
                "INSERT OR IGNORE INTO sources (hash, text) VALUES (?1, ?2)",
                params![f.hash, text],
            )?;
        }
        let list: Vec<&VersionFile> = files.iter().map(|(f, _)| f).collect();
        tx.execute(
            "INSERT INTO versions (name, hash, file, files, created) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![name, hash, file, serde_json::to_string(&list)?, now],
        )?;
        let id = tx.last_insert_rowid();
        tx.commit()?;
        Ok(id)
    }

    fn set_deployed(&mut self, ids: &[i64]) -> Result<()> {
        let tx = self.tx()?;
        tx.execute("UPDATE versions SET deployed = 0", [])?;
        for id in ids {
            tx.execute(
                "UPDATE versions SET deployed = 1 WHERE id = ?1",
                params![id],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn enqueue(&mut self, inputs: &[NewInput], now: i64) -> Result<Vec<bool>> {
        let tx = self.tx()?;
        let out = insert_inputs(&tx, inputs, now)?;
        tx.commit()?;
        Ok(out)
    }

    fn next_inputs(&mut self, limit: usize) -> Result<Vec<InboxRow>> {
        let m = self.mark()?;
        let seen: i64 =
            self.conn
                .query_row("SELECT COALESCE(MAX(seq), 0) FROM inbox", [], |r| r.get(0))?;
        self.seen = Some(seen);
        self.pending(m, seen, limit)
    }

    fn first_input_at(&mut self) -> Result<Option<i64>> {
        let m = self.mark()?;
        Ok(self.pending(m, i64::MAX, 1)?.first().map(|r| r.input.at))
    }

    fn last_input_at(&mut self) -> Result<Option<i64>> {
        Ok(self
            .conn
            .query_row("SELECT MAX(at) FROM inbox", [], |r| r.get(0))?)
    }

    fn contact_ids(&mut self) -> Result<Vec<String>> {
        let mut st = self.conn.prepare(
            "SELECT id FROM contacts UNION SELECT contact FROM inbox WHERE kind = 'contact'
             ORDER BY 1",
        )?;
        let rows = st.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    fn next_due(&mut self, limit: usize) -> Result<Vec<(ContactRow, Timer)>> {
        let mut st = self.conn.prepare_cached(
            "SELECT seq, id, state, due, since, enrolment, slot, generation FROM contacts
             WHERE due IS NOT NULL ORDER BY due, since, enrolment, slot LIMIT ?1",
        )?;
        let rows = st.query_map(params![limit as i64], |r| due_row(r))?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    fn contact_by_rowid(&mut self, rowid: ContactId) -> Result<Option<ContactRow>> {
        Ok(self
            .conn
            .prepare_cached("SELECT seq, id, state FROM contacts WHERE seq = ?1")?
            .query_row(params![rowid as i64], |r| contact_row(r))
            .optional()?)
    }

    fn contact_by_id(&mut self, id: &str) -> Result<Option<ContactRow>> {
        Ok(self
            .conn
            .prepare_cached("SELECT seq, id, state FROM contacts WHERE id = ?1")?
            .query_row(params![id], |r| contact_row(r))
            .optional()?)
    }

    fn send_count(&mut self, cadence: &str, sender: &str, day: i64) -> Result<u32> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT used FROM sends WHERE cadence = ?1 AND sender = ?2 AND day = ?3",
            )?
            .query_row(params![cadence, sender, day], |r| r.get::<_, i64>(0))
            .optional()?
            .unwrap_or(0) as u32)
    }

    fn commit(&mut self, b: &Batch) -> Result<()> {
        let wall = wall_now();
        let seen = self.seen.unwrap_or(0);
        let mark = self.mark()?;
        let tx = self.tx()?;
        {
            let mut ins = tx.prepare_cached(
                "INSERT INTO contacts (seq, id, state, due, since, enrolment, slot, generation)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            let mut upd = tx.prepare_cached("UPDATE contacts SET state = ?2 WHERE seq = ?1")?;
            let mut upd_due = tx.prepare_cached(
                "UPDATE contacts SET state = ?2, due = ?3, since = ?4, enrolment = ?5, slot = ?6,
                     generation = ?7 WHERE seq = ?1",
            )?;
            for c in &b.contacts {
                let due = c.next.map(|t| t.due);
                let since = c.next.map(|t| t.since);
                let enr = c.next.map(|t| t.enrolment as i64);
                let slot = c.next.map(|t| t.slot as i64);
                let generation = c.next.map(|t| t.generation as i64);
                if c.new {
                    ins.execute(params![
                        c.rowid as i64,
                        c.id,
                        c.state,
                        due,
                        since,
                        enr,
                        slot,
                        generation
                    ])?;
                } else if c.next_changed {
                    upd_due.execute(params![
                        c.rowid as i64,
                        c.state,
                        due,
                        since,
                        enr,
                        slot,
                        generation
                    ])?;
                } else {
                    upd.execute(params![c.rowid as i64, c.state])?;
                }
            }
            let mut ins = tx.prepare_cached("INSERT INTO journal (records) VALUES (?1)")?;
            for chunk in b.journal.chunks(JOURNAL_CHUNK) {
                ins.execute(params![postcard::to_allocvec(chunk).unwrap_or_default()])?;
            }
            let mut ins = tx.prepare_cached(
                "INSERT OR IGNORE INTO outbox (contact, enrolment, exec, version, step, at, message_id,
                     sender, reply_to, recipient, subject, body, html, unsubscribe, state, updated,
                     recipient_key)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, 'pending', ?15,
                     cadence_address_key(?10))",
            )?;
            for m in &b.outbox {
                ins.execute(params![
                    m.contact as i64,
                    m.enrolment as i64,
                    m.exec as i64,
                    m.version,
                    m.step as i64,
                    m.at,
                    m.message_id,
                    m.sender,
                    m.reply_to,
                    m.recipient,
                    m.subject,
                    m.body,
                    m.html,
                    m.unsubscribe,
                    wall
                ])?;
            }
            let mut ins = tx.prepare_cached(
                "INSERT OR IGNORE INTO tasks (contact, enrolment, exec, version, step, kind, subject,
                     task_type, owner, priority, due, created, phone, zone, state)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, 'open')",
            )?;
            for t in &b.tasks {
                ins.execute(params![
                    t.contact as i64,
                    t.enrolment as i64,
                    t.exec as i64,
                    t.version,
                    t.step as i64,
                    t.kind,
                    t.subject,
                    t.task_type,
                    t.owner,
                    t.priority,
                    t.due,
                    t.created,
                    t.phone,
                    t.zone
                ])?;
            }
            let mut done = tx.prepare_cached(
                "UPDATE tasks SET state = 'done', outcome = ?3, closed = ?4
                 WHERE enrolment = ?1 AND exec = ?2 AND +state = 'open'",
            )?;
            let mut close = tx.prepare_cached(
                "UPDATE tasks SET state = ?3, closed = ?4
                 WHERE enrolment = ?1 AND exec = ?2 AND +state = 'open'",
            )?;
            let mut hold = tx.prepare_cached(
                "INSERT INTO holds (kind, name, since, until, catch_up) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (kind, name) DO UPDATE SET since = excluded.since,
                     until = excluded.until, catch_up = excluded.catch_up",
            )?;
            let mut unhold =
                tx.prepare_cached("DELETE FROM holds WHERE kind = ?1 AND name = ?2")?;
            // An owner's open calls and tasks are due when they are back; what they were due
            // at before is kept, and given back when the time off ends early.
            let mut away = tx.prepare_cached(
                "UPDATE tasks SET held_from = COALESCE(held_from, due), due = ?2
                 WHERE owner = ?1 AND state = 'open' AND due < ?2",
            )?;
            let mut back = tx.prepare_cached(
                "UPDATE tasks SET due = held_from, held_from = NULL
                 WHERE owner = ?1 AND state = 'open' AND held_from IS NOT NULL",
            )?;
            for (h, keep) in &b.holds {
                let kind = if h.owner { "owner" } else { "cadence" };
                if *keep {
                    hold.execute(params![
                        kind,
                        h.name,
                        h.since,
                        h.until,
                        i64::from(h.catch_up)
                    ])?;
                } else {
                    unhold.execute(params![kind, h.name])?;
                }
                match (h.owner, keep, h.until) {
                    (true, true, Some(u)) => {
                        away.execute(params![h.name, u])?;
                    }
                    (true, false, _) => {
                        back.execute(params![h.name])?;
                    }
                    _ => {}
                }
            }
            for u in &b.task_updates {
                match u {
                    TaskUpdate::Done {
                        enrolment,
                        exec,
                        outcome,
                        at,
                    } => done.execute(params![*enrolment as i64, *exec as i64, outcome, at])?,
                    TaskUpdate::Closed {
                        enrolment,
                        exec,
                        state,
                        at,
                    } => close.execute(params![*enrolment as i64, *exec as i64, state, at])?,
                };
            }
            let mut note = tx.prepare_cached(
                "INSERT OR REPLACE INTO inbox_notes (seq, applied, note) VALUES (?1, ?2, ?3)",
            )?;
            for a in &b.applied {
                if let Some(n) = &a.note {
                    note.execute(params![a.seq, a.applied, n])?;
                }
            }
            if !b.applied.is_empty() {
                let (to, above) = super::advance_mark((mark.at, mark.seq), mark.seen, &b.applied);
                let mut late =
                    tx.prepare_cached("INSERT OR IGNORE INTO inbox_late (seq) VALUES (?1)")?;
                for s in &above {
                    late.execute([s])?;
                }
                // The inputs seen count as consumed up to the mark once no late one among them
                // is left to apply.
                let left: i64 = tx.query_row(
                    "SELECT COUNT(*) FROM inbox WHERE seq > ?1 AND seq <= ?2 AND (at, seq) <= (?3, ?4)
                     AND seq NOT IN (SELECT seq FROM inbox_late)",
                    params![mark.seen, seen, mark.at, mark.seq],
                    |r| r.get(0),
                )?;
                let seen = if left == 0 { seen } else { mark.seen };
                tx.execute("DELETE FROM inbox_late WHERE seq <= ?1", [seen])?;
                let mut upd =
                    tx.prepare_cached("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)")?;
                for (k, v) in [
                    ("inbox_at", to.0),
                    ("inbox_seq", to.1),
                    ("inbox_seen", seen),
                ] {
                    upd.execute(params![k, v.to_string()])?;
                }
            }
            let mut upd = tx.prepare_cached(
                "INSERT OR REPLACE INTO sends (cadence, sender, day, used) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for (c, s, d, n) in &b.sends {
                upd.execute(params![c, s, d, *n as i64])?;
            }
            let mut upd = tx.prepare_cached(
                "INSERT OR IGNORE INTO suppressions (address, bounced) VALUES (?1, ?2)",
            )?;
            for (a, bounced) in &b.suppressions {
                upd.execute(params![a, *bounced as i64])?;
            }
            let mut upd =
                tx.prepare_cached("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)")?;
            for (k, v) in &b.meta {
                upd.execute(params![k, v.to_string()])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn claim_outbox(&mut self, now: i64, limit: usize) -> Result<Vec<OutboxRow>> {
        let tx = self.tx()?;
        let rows: Vec<OutboxRow> = {
            let mut st = tx.prepare_cached(&format!(
                "SELECT {OUTBOX_COLUMNS} FROM outbox o JOIN contacts c ON c.seq = o.contact
                 WHERE o.state = 'pending' AND o.next_attempt <= ?1
                 ORDER BY o.next_attempt, o.id LIMIT ?2"
            ))?;
            let rows = st.query_map(params![now, limit as i64], |r| outbox_row(r))?;
            rows.collect::<std::result::Result<_, _>>()?
        };
        {
            let mut upd = tx.prepare_cached(
                "UPDATE outbox SET state = 'sending', attempts = attempts + 1, updated = ?2 WHERE id = ?1",
            )?;
            for r in &rows {
                upd.execute(params![r.id, now])?;
            }
        }
        tx.commit()?;
        Ok(rows
            .into_iter()
            .map(|mut r| {
                r.state = OutboxState::Sending;
                r.attempts += 1;
                r
            })
            .collect())
    }

    fn finish_outbox(&mut self, results: &[(i64, Delivery)], now: i64) -> Result<()> {
        let tx = self.tx()?;
        let mut inputs = Vec::new();
        {
            let mut upd = tx.prepare_cached(
                "UPDATE outbox SET state = ?2, reply = ?3, next_attempt = ?4, updated = ?5 WHERE id = ?1",
            )?;
            for (id, d) in results {
                let (state, reply, next) = match d {
                    Delivery::Sent { reply } => (OutboxState::Sent, reply, 0),
                    Delivery::Retry {
                        reply,
                        next_attempt,
                    } => (OutboxState::Pending, reply, *next_attempt),
                    Delivery::Bounced { reply, input } => {
                        inputs.push(input.clone());
                        (OutboxState::Bounced, reply, 0)
                    }
                    Delivery::Failed { reply, input } => {
                        inputs.extend(input.clone());
                        (OutboxState::Failed, reply, 0)
                    }
                };
                upd.execute(params![id, state.as_str(), reply, next, now])?;
            }
        }
        insert_inputs(&tx, &inputs, now)?;
        tx.commit()?;
        Ok(())
    }

    fn mark_in_doubt(&mut self, now: i64) -> Result<usize> {
        Ok(self.conn.execute(
            "UPDATE outbox SET state = 'in-doubt', updated = ?1 WHERE state = 'sending'",
            params![now],
        )?)
    }

    fn outbox(&mut self, state: Option<OutboxState>, limit: usize) -> Result<Vec<OutboxRow>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox o JOIN contacts c ON c.seq = o.contact
             WHERE ?1 IS NULL OR o.state = ?1 ORDER BY o.id LIMIT ?2"
        ))?;
        let rows = st.query_map(params![state.map(OutboxState::as_str), limit as i64], |r| {
            outbox_row(r)
        })?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    fn message_of(
        &mut self,
        contact: ContactId,
        enrolment: u64,
        exec: u32,
    ) -> Result<Option<MessageRef>> {
        Ok(self
            .conn
            .prepare_cached(&format!(
                "{MESSAGE_REF_FROM} WHERE o.enrolment = ?1 AND o.exec = ?2 AND o.contact = ?3"
            ))?
            .query_row(
                params![enrolment as i64, exec as i64, contact as i64],
                |r| message_ref(r),
            )
            .optional()?
            .map(|m| MessageRef {
                enrolment,
                exec,
                ..m
            }))
    }

    fn message_by_id(&mut self, message_id: &str) -> Result<Option<MessageRef>> {
        // Our Message-IDs read `<enrolment.execution.instance.tag@domain>` (older ones have no
        // tag): found by their first two parts, then compared whole.
        let bare = crate::mail::inbound::bare_id(message_id);
        let mut parts = bare.split('.');
        let (Some(Ok(enrolment)), Some(Ok(exec))) = (
            parts.next().map(str::parse::<i64>),
            parts.next().map(str::parse::<i64>),
        ) else {
            return Ok(None);
        };
        let m = self
            .conn
            .prepare_cached(&format!(
                "{MESSAGE_REF_FROM} WHERE o.enrolment = ?1 AND o.exec = ?2"
            ))?
            .query_row(params![enrolment, exec], |r| message_ref(r))
            .optional()?;
        Ok(m.filter(|m| crate::mail::inbound::bare_id(&m.message_id) == bare))
    }

    fn latest_message_to(&mut self, address_key: &str, before: i64) -> Result<Option<MessageRef>> {
        Ok(self
            .conn
            .prepare_cached(&format!(
                "{MESSAGE_REF_FROM}
                 WHERE o.recipient_key = ?1 AND o.state IN ('sent', 'in-doubt') AND {SENT_AT} <= ?2
                 ORDER BY sent DESC, o.id DESC LIMIT 1"
            ))?
            .query_row(params![address_key, before], |r| message_ref(r))
            .optional()?)
    }

    fn first_sent(&mut self) -> Result<Option<i64>> {
        Ok(self
            .conn
            .query_row("SELECT MIN(at) FROM outbox", [], |r| r.get(0))?)
    }

    fn mailbox_checkpoint(&mut self, mailbox: &str) -> Result<Option<(u32, u32)>> {
        Ok(self
            .conn
            .prepare_cached("SELECT uidvalidity, last_uid FROM mailboxes WHERE name = ?1")?
            .query_row(params![mailbox], |r| {
                Ok((r.get::<_, i64>(0)? as u32, r.get::<_, i64>(1)? as u32))
            })
            .optional()?)
    }

    fn record_mail(
        &mut self,
        mailbox: &str,
        checkpoint: (u32, u32),
        mail: &[(MailRow, Option<NewInput>)],
        now: i64,
    ) -> Result<usize> {
        let tx = self.tx()?;
        let mut queued = 0;
        {
            let mut ins = tx.prepare_cached(
                "INSERT OR IGNORE INTO mail (mailbox, uidvalidity, uid, message_id, sender, subject,
                     class, event, contact, ours, matched_by, sent, at, read, note)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
            )?;
            for (m, input) in mail {
                let new = match input {
                    Some(i) => insert_inputs(&tx, std::slice::from_ref(i), now)?[0],
                    None => false,
                };
                queued += new as usize;
                // Read before (another mailbox, another UIDVALIDITY): its event is not twice in
                // the log either, so that each event names the message it came from.
                let (event, note) = match (input, new) {
                    (Some(_), false) => (
                        None,
                        Some("read before: its event was queued then".to_string()),
                    ),
                    _ => (m.event.clone(), m.note.clone()),
                };
                ins.execute(params![
                    m.mailbox,
                    m.uidvalidity as i64,
                    m.uid as i64,
                    m.message_id,
                    m.sender,
                    m.subject,
                    m.class,
                    event,
                    m.contact,
                    m.ours,
                    m.matched_by,
                    m.sent,
                    m.at,
                    m.read,
                    note
                ])?;
            }
            // Forward only (or to a new UIDVALIDITY).
            tx.execute(
                "INSERT INTO mailboxes (name, uidvalidity, last_uid, updated) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (name) DO UPDATE SET uidvalidity = ?2, last_uid = ?3, updated = ?4
                 WHERE mailboxes.uidvalidity != ?2 OR mailboxes.last_uid < ?3",
                params![mailbox, checkpoint.0 as i64, checkpoint.1 as i64, now],
            )?;
        }
        tx.commit()?;
        Ok(queued)
    }

    fn mail_log(&mut self, contact: Option<&str>, unmatched: bool) -> Result<Vec<MailRow>> {
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT {MAIL_COLUMNS} FROM mail
             WHERE (?1 IS NULL OR contact = ?1) AND (?2 = 0 OR contact IS NULL)
             ORDER BY at, id"
        ))?;
        let rows = st.query_map(params![contact, unmatched as i64], |r| mail_row(r))?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    fn holds(&mut self) -> Result<Vec<HoldRow>> {
        let mut st = self.conn.prepare_cached(
            "SELECT kind, name, since, until, catch_up FROM holds ORDER BY kind, name",
        )?;
        let rows = st.query_map([], |r| hold_row(r))?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    fn suppressions(&mut self) -> Result<Vec<(String, bool)>> {
        let mut st = self
            .conn
            .prepare_cached("SELECT address, bounced FROM suppressions")?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? != 0)))?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    fn enqueue_once(
        &mut self,
        nonce: &str,
        inputs: &[NewInput],
        now: i64,
    ) -> Result<Option<Vec<bool>>> {
        let tx = self.tx()?;
        tx.execute(
            "DELETE FROM webhook_nonces WHERE at < ?1",
            [now - super::NONCE_SECONDS],
        )?;
        let fresh = tx.execute(
            "INSERT OR IGNORE INTO webhook_nonces (key, at) VALUES (?1, ?2)",
            params![nonce, now],
        )? == 1;
        if !fresh {
            return Ok(None);
        }
        let out = insert_inputs(&tx, inputs, now)?;
        tx.commit()?;
        Ok(Some(out))
    }

    fn add_hit(&mut self, hit: &Hit, input: Option<&NewInput>, now: i64) -> Result<bool> {
        // Kept up to a limit per link of a message: a link fetched in a loop does not grow
        // the database (the events it queues are queued once anyway). Read before writing, so
        // that a flood costs no write lock.
        let kept: i64 = self
            .conn
            .prepare_cached(
                "SELECT COUNT(*) FROM hits WHERE enrolment = ?1 AND exec = ?2 AND link IS ?3",
            )?
            .query_row(
                params![
                    hit.enrolment as i64,
                    hit.exec as i64,
                    hit.link.map(i64::from)
                ],
                |r| r.get(0),
            )?;
        if kept >= super::HITS_PER_LINK {
            return Ok(false);
        }
        let tx = self.tx()?;
        let n = tx.execute(
            "INSERT INTO hits (contact, enrolment, exec, step, cadence, link, at, machine, queued)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                hit.contact,
                hit.enrolment as i64,
                hit.exec as i64,
                hit.step as i64,
                hit.cadence,
                hit.link.map(i64::from),
                hit.at,
                hit.machine,
                input.is_some() as i64
            ],
        )?;
        let new = match input {
            Some(i) => insert_inputs(&tx, std::slice::from_ref(i), now)?[0],
            None => n == 1,
        };
        tx.commit()?;
        Ok(new)
    }

    fn held_hits(&mut self, before: i64) -> Result<Vec<HeldHit>> {
        let mut st = self.conn.prepare_cached(
            "SELECT h.id, h.contact, h.enrolment, h.exec, h.step, h.cadence, h.link, h.at, h.machine,
                    (SELECT COUNT(*) FROM hits o WHERE o.enrolment = h.enrolment AND o.exec = h.exec
                        AND o.link IS NOT NULL AND o.link != h.link
                        AND o.at BETWEEN h.at - ?2 AND h.at + ?2)
             FROM hits h WHERE h.queued = 0 AND h.at <= ?1 ORDER BY h.at, h.id LIMIT 1000",
        )?;
        let rows = st.query_map(params![before, super::BURST_SECONDS], |r| held_hit(r))?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    fn queue_hits(&mut self, done: &[(i64, NewInput)], now: i64) -> Result<()> {
        let tx = self.tx()?;
        {
            let inputs: Vec<NewInput> = done.iter().map(|(_, i)| i.clone()).collect();
            insert_inputs(&tx, &inputs, now)?;
            let mut st = tx.prepare_cached("UPDATE hits SET queued = 1 WHERE id = ?1")?;
            for (id, _) in done {
                st.execute([id])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn create_token(&mut self, name: &str, hash: &[u8], now: i64) -> Result<bool> {
        Ok(self.conn.execute(
            "INSERT INTO api_tokens (name, hash, created) VALUES (?1, ?2, ?3)
             ON CONFLICT (name) DO NOTHING",
            params![name, hash, now],
        )? == 1)
    }

    fn token_name(&mut self, hash: &[u8]) -> Result<Option<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT name FROM api_tokens WHERE hash = ?1 AND revoked IS NULL")?
            .query_row(params![hash], |r| r.get(0))
            .optional()?)
    }

    fn tokens(&mut self) -> Result<Vec<TokenRow>> {
        let mut st = self
            .conn
            .prepare("SELECT name, created, revoked FROM api_tokens ORDER BY id")?;
        let rows = st.query_map([], |r| token_row(r))?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    fn revoke_token(&mut self, name: &str, now: i64) -> Result<bool> {
        Ok(self.conn.execute(
            "UPDATE api_tokens SET revoked = ?2 WHERE name = ?1 AND revoked IS NULL",
            params![name, now],
        )? == 1)
    }

    fn resend(&mut self, id: i64, now: i64) -> Result<Option<OutboxState>> {
        let tx = self.tx()?;
        let state: Option<String> = tx
            .query_row("SELECT state FROM outbox WHERE id = ?1", params![id], |r| {
                r.get(0)
            })
            .optional()?;
        let state = state.and_then(|s| OutboxState::parse(&s));
        if matches!(state, Some(OutboxState::InDoubt | OutboxState::Failed)) {
            tx.execute(
                "UPDATE outbox SET state = 'pending', next_attempt = 0, updated = ?2 WHERE id = ?1",
                params![id, now],
            )?;
        }
        tx.commit()?;
        Ok(state)
    }

    fn next_outbox_attempt(&mut self) -> Result<Option<i64>> {
        Ok(self.conn.query_row(
            "SELECT MIN(next_attempt) FROM outbox WHERE state = 'pending'",
            [],
            |r| r.get(0),
        )?)
    }

    fn tasks(&mut self, f: &TaskFilter) -> Result<Vec<TaskRow>> {
        let mut st = self.conn.prepare(
            &format!("SELECT {TASK_COLUMNS} FROM tasks t JOIN contacts c ON c.seq = t.contact JOIN versions v ON v.id = t.version
             WHERE (?1 IS NULL OR t.owner = ?1) AND (?2 IS NULL OR t.due < ?2)
               AND (?3 = 0 OR t.state = 'open') AND (?4 IS NULL OR t.id = ?4)
             ORDER BY t.due, t.id"
        ))?;
        let rows = st.query_map(params![f.owner, f.due_before, f.open_only, f.id], |r| {
            task_row(r)
        })?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    fn journal(&mut self, visit: &mut dyn FnMut(&JournalRow, &str) -> Result<()>) -> Result<()> {
        let mut ids: Vec<String> = Vec::new();
        {
            let mut st = self
                .conn
                .prepare("SELECT seq, id FROM contacts ORDER BY seq")?;
            let mut rows = st.query([])?;
            while let Some(r) = rows.next()? {
                let seq = r.get::<_, i64>(0)? as usize;
                if ids.len() <= seq {
                    ids.resize(seq + 1, String::new());
                }
                ids[seq] = r.get(1)?;
            }
        }
        let mut st = self
            .conn
            .prepare("SELECT records FROM journal ORDER BY seq")?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let blob: Vec<u8> = r.get(0)?;
            let records: Vec<JournalRow> = postcard::from_bytes(&blob).map_err(|e| {
                LiveError::Db(format!("database: a journal entry does not decode: {e}"))
            })?;
            for row in &records {
                let id = ids.get(row.contact as usize).map_or("?", String::as_str);
                visit(row, id)?;
            }
        }
        Ok(())
    }

    fn outbox_counts(&mut self) -> Result<Vec<(String, i64)>> {
        let mut st = self
            .conn
            .prepare("SELECT state, COUNT(*) FROM outbox GROUP BY state ORDER BY state")?;
        let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    fn contact_count(&mut self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT COALESCE(MAX(seq), 0) FROM contacts", [], |r| {
                r.get(0)
            })?)
    }

    fn counts(&mut self) -> Result<Counts> {
        let one =
            |c: &Connection, q: &str| -> Result<i64> { Ok(c.query_row(q, [], |r| r.get(0))?) };
        let c = &self.conn;
        let mut outbox = Vec::new();
        {
            let mut st =
                c.prepare("SELECT state, COUNT(*) FROM outbox GROUP BY state ORDER BY state")?;
            let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
            for r in rows {
                outbox.push(r?);
            }
        }
        Ok(Counts {
            contacts: one(c, "SELECT COUNT(*) FROM contacts")?,
            waiting: one(c, "SELECT COUNT(*) FROM contacts WHERE due IS NOT NULL")?,
            inbox: one(c, "SELECT COALESCE(MAX(seq), 0) FROM inbox")?,
            outbox,
            tasks_open: one(c, "SELECT COUNT(*) FROM tasks WHERE state = 'open'")?,
        })
    }
}

/// The wall clock, in Unix seconds.
pub fn wall_now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_of_an_older_schema_is_migrated_forward_and_keeps_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            let c = Connection::open(&path).unwrap();
            c.execute_batch(MIGRATIONS[0]).unwrap();
            c.execute_batch(&format!(
                "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = 1;
                 INSERT INTO meta (key, value) VALUES ('start', '42');"
            ))
            .unwrap();
        }
        let mut store = SqliteLive::open(&path, false).unwrap();
        assert_eq!(store.meta("start").unwrap().as_deref(), Some("42"));
        assert!(store.create_token("ci", b"hash", 1).unwrap());
        assert!(
            !store.create_token("ci", b"other", 2).unwrap(),
            "names are unique"
        );
        assert_eq!(store.token_name(b"hash").unwrap().as_deref(), Some("ci"));
        assert!(store.revoke_token("ci", 3).unwrap());
        assert_eq!(store.token_name(b"hash").unwrap(), None);
        let version: i64 = store
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
    }
}
