//! The live runner's durable store: one trait for every table `cadence run` keeps, and one file
//! per database that implements it (SQLite and PostgreSQL; [`open`] picks by `--db`). Everything the runner knows lives here:
//! contacts with their state and when each is next due, the inbox of inputs with idempotency keys,
//! the outbox, the reps' work queue, the journal of trace records, the cadence versions, the
//! daily send counters, and the schema version.
//!
//! The runner reads what is next, applies the engine in memory, and hands one [`Batch`] to
//! [`LiveStore::commit`], which writes it in one transaction: states, due times, journal, outbox,
//! tasks and the inputs it consumed, together or not at all.

mod pg;
mod rows;
mod sqlite;

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

pub use pg::{lease_ms, listen_for_inputs, want_partitions, PgLive, PgRunLock};
pub use sqlite::{wall_now, SqliteLive, SCHEMA_VERSION};

use crate::engine::{ContactId, EnrolmentId, Timer};

/// A failure of the live store. `Refused` is a database that is not ours, or is newer than this
/// program: it is never touched.
#[derive(Debug, Clone, PartialEq)]
pub enum LiveError {
    /// The database cannot be opened or read (missing folder, permissions, not a database).
    Open(String),
    /// A database of another program, or of a newer cadence.
    Refused(String),
    /// Another `cadence run` holds the database.
    Busy(String),
    /// An error while working.
    Db(String),
    /// This runner's claim on a partition (or on the clock) was taken over by another runner
    /// after its lease ran out: what it held is not written, and it claims again.
    Lost(String),
}

/// The PostgreSQL URL `db` is, when it is one (`postgres://` or `postgresql://`).
pub fn postgres_url(db: &Path) -> Option<&str> {
    let text = db.to_str()?;
    (text.starts_with("postgres://") || text.starts_with("postgresql://")).then_some(text)
}

/// Refuses a database given as a URL of a kind cadence does not keep its state in.
pub fn refuse_url(db: &Path) -> Result<()> {
    if postgres_url(db).is_some() {
        return Ok(());
    }
    let text = db.to_string_lossy();
    match text.split_once("://") {
        Some((scheme, _)) if !scheme.is_empty() && scheme.chars().all(|c| c.is_ascii_alphabetic()) => {
            Err(LiveError::Open(format!(
                "`{scheme}://` databases are not supported: give --db the path of an SQLite file (created when missing) or a postgres:// URL"
            )))
        }
        _ => Ok(()),
    }
}

/// A database as it may be shown: a URL without its password.
pub fn shown(db: &Path) -> String {
    match postgres_url(db) {
        Some(u) => pg::redact(u),
        None => db.display().to_string(),
    }
}

/// An open live store, whichever database keeps it.
/// It is used as a `dyn LiveStore` (`&mut live` is one where a `&mut dyn LiveStore` is asked).
pub struct Live(Box<dyn LiveStore + Send>);

impl std::ops::Deref for Live {
    type Target = dyn LiveStore + Send;
    fn deref(&self) -> &Self::Target {
        &*self.0
    }
}

impl std::ops::DerefMut for Live {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut *self.0
    }
}

/// Opens the database `--db` names: a `postgres://` URL, or the path of an SQLite file. With
/// `create`, a missing database (an SQLite file, or the `cadence` schema of a PostgreSQL
/// database) is made with its schema.
pub fn open(db: &Path, create: bool) -> Result<Live> {
    Ok(Live(match postgres_url(db) {
        Some(url) => Box::new(PgLive::open(url, create)?),
        None => Box::new(SqliteLive::open(db, create)?),
    }))
}

impl fmt::Display for LiveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LiveError::Open(m)
            | LiveError::Refused(m)
            | LiveError::Busy(m)
            | LiveError::Db(m)
            | LiveError::Lost(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for LiveError {}

impl From<rusqlite::Error> for LiveError {
    fn from(e: rusqlite::Error) -> LiveError {
        LiveError::Db(format!("database: {e}"))
    }
}

impl From<serde_json::Error> for LiveError {
    fn from(e: serde_json::Error) -> LiveError {
        LiveError::Db(format!("database: a stored value does not decode: {e}"))
    }
}

pub type Result<T> = std::result::Result<T, LiveError>;

/// An input as the inbox's columns hold it (the same in every database).
#[derive(Debug, Default)]
pub(crate) struct InputColumns {
    /// `event`, `hold` or `contact`.
    pub kind: &'static str,
    /// The event; for holds `pause` or `resume`.
    pub event: Option<String>,
    pub step: Option<i64>,
    /// The cadence (of a hold: the cadence paused).
    pub cadence: Option<String>,
    /// The field set (of a hold: the owner away).
    pub field: Option<String>,
    pub value: Option<String>,
    /// A contact's fields (postcard).
    pub fields: Option<Vec<u8>>,
    pub machine: bool,
    /// The message it is about: (enrolment, execution).
    pub message: Option<(i64, i64)>,
}

impl InputColumns {
    pub fn of(what: &InputKind) -> InputColumns {
        match what {
            InputKind::Event {
                event,
                step,
                cadence,
                field,
                value,
                machine,
                message,
            } => InputColumns {
                kind: "event",
                event: Some(event.clone()),
                step: step.map(i64::from),
                cadence: cadence.clone(),
                field: field.clone(),
                value: value.clone(),
                machine: *machine,
                message: message.map(|(e, x)| (e as i64, i64::from(x))),
                ..InputColumns::default()
            },
            InputKind::Hold {
                owner,
                name,
                pause,
                until,
                catch_up,
            } => InputColumns {
                kind: "hold",
                event: Some(if *pause { "pause" } else { "resume" }.into()),
                cadence: (!owner).then(|| name.clone()),
                field: owner.then(|| name.clone()),
                value: crate::sim::csvin::pause_value(*until, *catch_up),
                ..InputColumns::default()
            },
            InputKind::Contact { fields } => InputColumns {
                kind: "contact",
                fields: Some(postcard::to_allocvec(fields).unwrap_or_default()),
                ..InputColumns::default()
            },
        }
    }

    /// What the columns say (`kind` as stored).
    pub fn decode(self, kind: &str) -> InputKind {
        match kind {
            "contact" => InputKind::Contact {
                fields: postcard::from_bytes(self.fields.as_deref().unwrap_or_default())
                    .unwrap_or_default(),
            },
            "hold" => {
                let (until, catch_up) =
                    crate::sim::csvin::parse_pause(self.value.as_deref().unwrap_or(""))
                        .unwrap_or((None, false));
                InputKind::Hold {
                    owner: self.field.is_some(),
                    name: self.field.or(self.cadence).unwrap_or_default(),
                    pause: self.event.as_deref() == Some("pause"),
                    until,
                    catch_up,
                }
            }
            _ => InputKind::Event {
                event: self.event.unwrap_or_default(),
                step: self.step.map(|s| s as u32),
                cadence: self.cadence,
                field: self.field,
                value: self.value,
                machine: self.machine,
                message: self.message.map(|(e, x)| (e as u64, x as u32)),
            },
        }
    }
}

/// An input's idempotency key as stored: 8 bytes that order it, then 96 bits of the SHA-256 of
/// its text. Rows of events files (keys `event:...`) are ordered by their time, so that a file
/// in time order is added at the end of the key index rather than all over it; other keys
/// (contacts, `cadence log --key`, bounces) are ordered by their hash alone.
pub(crate) fn input_key(key: &str, at: i64) -> Vec<u8> {
    use sha2::Digest;
    let order = if key.starts_with("event:") { at } else { 0 };
    let mut k = ((order as u64) ^ (1 << 63)).to_be_bytes().to_vec();
    k.extend_from_slice(&sha2::Sha256::digest(key.as_bytes())[..12]);
    k
}

/// How a batch moves the inbox's watermark (at, seq): to the last input applied, never back.
/// Also gives the seqs of the inputs applied that are above `seen` (the highest seq the last
/// consumed read had seen): an input queued late, with a time below the mark, is remembered by its
/// seq until the inputs seen pass it, so that it is neither given again nor taken for consumed
/// before it is applied.
pub(crate) fn advance_mark(
    mark: (i64, i64),
    seen: i64,
    applied: &[Applied],
) -> ((i64, i64), Vec<i64>) {
    let mut to = mark;
    let mut above = Vec::new();
    for a in applied {
        to = to.max((a.at, a.seq));
        if a.seq > seen {
            above.push(a.seq);
        }
    }
    (to, above)
}

/// Journal records per stored row (the journal is written and read in order, never by row).
pub(crate) const JOURNAL_CHUNK: usize = 4096;

/// A stored version of a cadence: its name, the hash of its text (and of the files it uses),
/// and the files to check it again.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionRow {
    pub id: i64,
    pub name: String,
    pub hash: String,
    /// The files it was checked with, in order.
    pub files: Vec<VersionFile>,
    /// Its own file.
    pub file: String,
    /// When it was first stored (wall clock, Unix seconds).
    pub created: i64,
    /// Whether the most recent `run` gave it (it takes new enrolments).
    pub deployed: bool,
}

/// One file of a version: its name, the hash of its text, and whether it was given on the
/// command line (the others are template bodies read by `body file`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionFile {
    pub name: String,
    pub hash: String,
    pub given: bool,
}

/// An input to queue. `key` makes it idempotent: an input whose key is known is not queued again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewInput {
    pub key: String,
    pub at: i64,
    pub contact: String,
    pub what: InputKind,
    /// Where it came from, for messages: `events.csv:12`, `cadence log`, `smtp`.
    pub origin: String,
}

/// What an input says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum InputKind {
    /// A row of an events file: `event` is an outcome, a custom event, `enroll`, `unenroll` or
    /// `set` (with `field` and `value`).
    /// `machine`: an open or a click made by a mail proxy or a link scanner.
    Event {
        event: String,
        step: Option<u32>,
        cadence: Option<String>,
        field: Option<String>,
        value: Option<String>,
        #[serde(default)]
        machine: bool,
        /// The message it is about, when known: (enrolment id, execution).
        #[serde(default)]
        message: Option<(u64, u32)>,
    },
    /// A contact record to create or update: its fields, typed by the schema (`None` unsets
    /// the field: an empty cell).
    Contact {
        fields: Vec<(String, Option<crate::check::Value>)>,
    },
    /// `cadence pause` / `cadence resume` of a whole cadence (by name) or an owner: applied
    /// at its time to every contact it concerns, and kept as a hold.
    Hold {
        owner: bool,
        name: String,
        pause: bool,
        until: Option<i64>,
        catch_up: bool,
    },
}

/// A cadence paused as a whole (new enrolments start paused), or an owner away (their calls
/// and tasks wait until `until`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HoldRow {
    /// An owner's time off; otherwise a cadence (by name).
    pub owner: bool,
    pub name: String,
    pub since: i64,
    pub until: Option<i64>,
    pub catch_up: bool,
}

/// An input waiting in the inbox.
#[derive(Debug, Clone, PartialEq)]
pub struct InboxRow {
    pub seq: i64,
    pub input: NewInput,
}

/// A contact as stored: its row id (the engine's contact id), its id, and its encoded state.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactRow {
    pub rowid: ContactId,
    pub id: String,
    pub state: Vec<u8>,
}

/// A token of the HTTP API (its secret is not stored, only its hash).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TokenRow {
    pub name: String,
    pub created: i64,
    pub revoked: Option<i64>,
}

/// What a link in an email knows of its message.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageRef {
    /// The contact's id.
    pub contact: String,
    /// The contact's row id.
    pub rowid: ContactId,
    pub version: i64,
    pub step: u32,
    pub recipient: String,
    pub sender: String,
    pub message_id: String,
    /// When it was handed to the mail server (or rendered, while it waits in the outbox).
    pub sent: i64,
    /// Filled by [`LiveStore::message_by_id`] (the other lookups are given them).
    pub enrolment: u64,
    pub exec: u32,
}

/// A message read from a sending mailbox (`cadence run --imap`), as the mail log keeps it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MailRow {
    /// The mailbox, as `user@host/MAILBOX`.
    pub mailbox: String,
    pub uidvalidity: u32,
    pub uid: u32,
    /// Its own Message-ID (without angle brackets).
    pub message_id: Option<String>,
    pub sender: Option<String>,
    pub subject: String,
    /// What it is: `reply`, `auto_reply`, `bounce`, `transient bounce`, `abuse report`,
    /// `ignored`, `unreadable`.
    pub class: String,
    /// The event it was queued as, when it was matched and gives one.
    pub event: Option<String>,
    /// The contact it was matched to.
    pub contact: Option<String>,
    /// Our message it was matched to (its Message-ID) and how.
    pub ours: Option<String>,
    pub matched_by: Option<String>,
    /// When our message was sent.
    pub sent: Option<i64>,
    /// When it arrived in the mailbox (the time of its event).
    pub at: i64,
    /// When it was read.
    pub read: i64,
    /// Why nothing was queued, or what else to know.
    pub note: Option<String>,
}

impl MessageRef {
    /// An event about this message (a provider's webhook, an answer read from a mailbox): for
    /// its step, in the cadence its version belongs to (`cadences`: version id to name).
    pub fn event(
        &self,
        event: &str,
        value: Option<String>,
        machine: bool,
        cadences: &std::collections::HashMap<i64, String>,
    ) -> InputKind {
        InputKind::Event {
            event: event.into(),
            step: Some(self.step),
            cadence: cadences.get(&self.version).cloned(),
            field: None,
            value,
            machine,
            message: Some((self.enrolment, self.exec)),
        }
    }
}

/// How many opens (or clicks of one link) of a message are kept; more change nothing.
pub const HITS_PER_LINK: i64 = 10;

/// How long a provider's one-time value (Mailgun's token) is remembered, in seconds: longer
/// than the time a signed request is accepted.
pub const NONCE_SECONDS: i64 = 86_400;

/// How close two clicks on different links of one message must be (seconds) to be a
/// scanner's burst rather than a person.
pub const BURST_SECONDS: i64 = 2;

/// An open of the pixel (`link` None) or a click on a message's `link`-th link.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The contact's id.
    pub contact: String,
    pub enrolment: u64,
    pub exec: u32,
    /// The step that sent the message (its number).
    pub step: u32,
    pub cadence: Option<String>,
    pub link: Option<u32>,
    pub at: i64,
    /// Why it was made by a machine, when it was (`proxy`, `scanner`, `too soon`, `burst`).
    pub machine: Option<String>,
}

/// A click held back for [`BURST_SECONDS`], and whether another link of its message was
/// clicked that close to it.
#[derive(Debug, Clone, PartialEq)]
pub struct HeldHit {
    pub id: i64,
    pub hit: Hit,
    pub burst: bool,
}

/// A contact to write: its encoded state, its next timer, and whether the row is new.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactWrite {
    pub rowid: ContactId,
    pub id: String,
    pub state: Vec<u8>,
    /// The first of its live timers (the contact is due then).
    pub next: Option<Timer>,
    /// Whether `next` differs from what the row holds.
    pub next_changed: bool,
    pub new: bool,
}

/// One trace record as stored (see `runner::journal` for the encoding).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalRow {
    pub at: i64,
    pub contact: ContactId,
    pub version: i64,
    pub kind: i64,
    pub step: Option<i64>,
    pub a: Option<i64>,
    pub b: Option<i64>,
    pub name: Option<String>,
}

/// A rendered email, ready for the relay.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewMessage {
    pub contact: ContactId,
    pub enrolment: EnrolmentId,
    pub exec: u32,
    pub version: i64,
    /// The step number, as written.
    pub step: u32,
    /// Engine clock of the execution.
    pub at: i64,
    pub message_id: String,
    pub sender: String,
    pub reply_to: Option<String>,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub html: bool,
    pub unsubscribe: String,
}

/// The states of an outbox row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OutboxState {
    /// Waiting to be sent (or to be retried after a temporary failure).
    Pending,
    /// Handed to the relay: the server may be accepting it right now.
    Sending,
    /// The server accepted it.
    Sent,
    /// The relay stopped between handing it over and recording the answer: it may or may not
    /// have been delivered; it is not sent again unless asked.
    InDoubt,
    /// The server refused it for good (5xx): the engine got a `bounced` event.
    Bounced,
    /// Given up after too many temporary failures, or not sendable (an address that cannot be
    /// written in a header).
    Failed,
}

impl OutboxState {
    pub const ALL: [OutboxState; 6] = [
        OutboxState::Pending,
        OutboxState::Sending,
        OutboxState::Sent,
        OutboxState::InDoubt,
        OutboxState::Bounced,
        OutboxState::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OutboxState::Pending => "pending",
            OutboxState::Sending => "sending",
            OutboxState::Sent => "sent",
            OutboxState::InDoubt => "in-doubt",
            OutboxState::Bounced => "bounced",
            OutboxState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<OutboxState> {
        OutboxState::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// An outbox row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutboxRow {
    pub id: i64,
    pub contact_id: String,
    #[serde(flatten)]
    pub message: NewMessage,
    pub state: OutboxState,
    pub attempts: i64,
    /// Wall clock of the next attempt (pending rows).
    pub next_attempt: i64,
    /// The server's last answer.
    pub reply: Option<String>,
    /// Wall clock of the last change.
    pub updated: i64,
}

/// What the relay learned about one message.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    Sent {
        reply: String,
    },
    /// Try again at `next_attempt` (wall clock).
    Retry {
        reply: String,
        next_attempt: i64,
    },
    /// Refused for good: the row is `bounced` and `input` is queued for the engine.
    Bounced {
        reply: String,
        input: NewInput,
    },
    /// Cannot be sent at all (or too many temporary failures): `failed`, with `input` queued
    /// when the engine should hear of it.
    Failed {
        reply: String,
        input: Option<NewInput>,
    },
}

/// A call or a task for a rep (also the schema of the API's tasks).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct NewTask {
    pub contact: ContactId,
    pub enrolment: EnrolmentId,
    pub exec: u32,
    pub version: i64,
    pub step: u32,
    /// `call` or `task`.
    pub kind: String,
    pub subject: String,
    /// For tasks: meeting, call, demo, todo.
    pub task_type: Option<String>,
    pub owner: Option<String>,
    pub priority: String,
    /// When it is due (engine clock).
    pub due: i64,
    /// When it was created (engine clock).
    pub created: i64,
    pub phone: Option<String>,
    /// The contact's time zone for this cadence, to show local times.
    pub zone: String,
}

/// A change of a task's state.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskUpdate {
    /// An outcome arrived for (enrolment, exec).
    Done {
        enrolment: EnrolmentId,
        exec: u32,
        outcome: String,
        at: i64,
    },
    /// No outcome came, and the cadence moved on (`expired`) or the enrolment ended while it
    /// waited (`cancelled`).
    Closed {
        enrolment: EnrolmentId,
        exec: u32,
        state: &'static str,
        at: i64,
    },
}

/// A task as stored, and as `GET /api/tasks` lists it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[schema(as = Task)]
pub struct TaskRow {
    pub id: i64,
    pub contact_id: String,
    pub cadence: String,
    #[serde(flatten)]
    pub task: NewTask,
    /// open, done (an outcome was logged), expired (the cadence moved on without one) or
    /// cancelled (the enrolment ended).
    pub state: String,
    pub outcome: Option<String>,
    pub closed: Option<i64>,
}

/// Which tasks to list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskFilter {
    pub owner: Option<String>,
    /// Only tasks due before this instant.
    pub due_before: Option<i64>,
    /// Only open tasks.
    pub open_only: bool,
    /// Only the task with this id.
    pub id: Option<i64>,
}

/// Everything one step of the runner writes, in one transaction.
#[derive(Debug, Default)]
pub struct Batch {
    pub contacts: Vec<ContactWrite>,
    pub journal: Vec<JournalRow>,
    pub outbox: Vec<NewMessage>,
    pub tasks: Vec<NewTask>,
    pub task_updates: Vec<TaskUpdate>,
    /// Inputs consumed, in the order they were applied.
    pub applied: Vec<Applied>,
    /// Daily send counters: (cadence, sender, day) = the count now.
    pub sends: Vec<(String, String, i64, u32)>,
    /// Addresses never emailed again: (address, true when it bounced).
    pub suppressions: Vec<(String, bool)>,
    /// Meta values (the clock, the id counters).
    pub meta: Vec<(&'static str, i64)>,
    /// Holds stored (`true`) or removed.
    pub holds: Vec<(HoldRow, bool)>,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.contacts.is_empty()
            && self.journal.is_empty()
            && self.outbox.is_empty()
            && self.tasks.is_empty()
            && self.task_updates.is_empty()
            && self.applied.is_empty()
            && self.sends.is_empty()
            && self.suppressions.is_empty()
            && self.meta.is_empty()
            && self.holds.is_empty()
    }
}

/// An input the runner consumed.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    pub seq: i64,
    /// Its time.
    pub at: i64,
    /// The engine's clock when it was applied.
    pub applied: i64,
    /// Why it changed nothing, when it did not.
    pub note: Option<String>,
}

/// Counts of what the store holds, for summaries and `/metrics`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Counts {
    pub contacts: i64,
    /// Contacts with a timer (waiting for something to fall due).
    pub waiting: i64,
    /// The number of the last input queued: the count of inputs ever queued on SQLite; on
    /// PostgreSQL an input refused as known uses a number too.
    pub inbox: i64,
    pub outbox: Vec<(String, i64)>,
    pub tasks_open: i64,
}

/// A claim of one partition of the contacts (see [`LiveStore::claim_part`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim {
    pub part: u32,
    /// Raised by every claim of the partition: a commit under an older one is refused.
    pub token: i64,
}

/// What the runner that leads the virtual clock found (see [`LiveStore::move_clock`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockMove {
    /// Another runner leads (or this one's lease ran out).
    NotLeader,
    /// Some partition still has something at or before the clock.
    Busy,
    /// The clock now stands here.
    Moved(i64),
    /// Nothing is left at or before the limit.
    Done,
}

/// The runner's tables. Every method that writes does so in one transaction.
pub trait LiveStore {
    // ---- meta -----------------------------------------------------------------------------
    fn meta(&mut self, key: &str) -> Result<Option<String>>;
    fn set_meta(&mut self, key: &str, value: &str) -> Result<()>;
    /// Sets a meta value only where it has none; returns the value it has now.
    fn meta_or_insert(&mut self, key: &str, value: &str) -> Result<String>;

    // ---- versions -------------------------------------------------------------------------
    fn versions(&mut self) -> Result<Vec<VersionRow>>;
    fn source(&mut self, hash: &str) -> Result<Option<String>>;
    /// Stores a version (with the texts of its files) unless it is known; returns its id.
    fn add_version(
        &mut self,
        name: &str,
        hash: &str,
        file: &str,
        files: &[(VersionFile, String)],
        now: i64,
    ) -> Result<i64>;
    /// Marks exactly these versions as deployed.
    fn set_deployed(&mut self, ids: &[i64]) -> Result<()>;

    // ---- inbox ----------------------------------------------------------------------------
    /// Queues inputs in one transaction; returns for each whether it was new.
    fn enqueue(&mut self, inputs: &[NewInput], now: i64) -> Result<Vec<bool>>;
    /// The next pending inputs in order (at, seq). What the following [`LiveStore::commit`]
    /// lists as applied is consumed.
    fn next_inputs(&mut self, limit: usize) -> Result<Vec<InboxRow>>;
    /// The earliest pending input, if any.
    fn first_input_at(&mut self) -> Result<Option<i64>>;
    /// The latest input ever queued, if any.
    fn last_input_at(&mut self) -> Result<Option<i64>>;
    /// The ids of every contact, and of contacts queued to be created.
    fn contact_ids(&mut self) -> Result<Vec<String>>;

    // ---- the engine's state ---------------------------------------------------------------
    /// The contacts whose first timer falls due first, in that order, with that timer (a
    /// contact's row keeps its first live timer; its other timers come after).
    fn next_due(&mut self, limit: usize) -> Result<Vec<(ContactRow, Timer)>>;
    fn contact_by_rowid(&mut self, rowid: ContactId) -> Result<Option<ContactRow>>;
    fn contact_by_id(&mut self, id: &str) -> Result<Option<ContactRow>>;
    /// The count of a daily send counter.
    fn send_count(&mut self, cadence: &str, sender: &str, day: i64) -> Result<u32>;
    /// Writes a batch in one transaction.
    fn commit(&mut self, batch: &Batch) -> Result<()>;

    // ---- outbox ---------------------------------------------------------------------------
    /// Takes up to `limit` pending messages whose attempt is due at `now` (wall clock) and marks
    /// them `sending`, in one transaction.
    fn claim_outbox(&mut self, now: i64, limit: usize) -> Result<Vec<OutboxRow>>;
    /// Records what the relay learned, queueing bounce inputs, in one transaction.
    fn finish_outbox(&mut self, results: &[(i64, Delivery)], now: i64) -> Result<()>;
    /// Marks every `sending` row `in-doubt` (at start, when no relay runs); returns how many.
    fn mark_in_doubt(&mut self, now: i64) -> Result<usize>;
    fn outbox(&mut self, state: Option<OutboxState>, limit: usize) -> Result<Vec<OutboxRow>>;
    /// The message an execution sent, as a link in it names it: (contact rowid, enrolment,
    /// execution).
    fn message_of(
        &mut self,
        contact: ContactId,
        enrolment: u64,
        exec: u32,
    ) -> Result<Option<MessageRef>>;
    /// The message with this `Message-ID` (with or without its angle brackets).
    fn message_by_id(&mut self, message_id: &str) -> Result<Option<MessageRef>>;
    /// The most recent message sent to an address (compared by
    /// [`crate::mail::inbound::address_key`]) at or before `before`: handed to the mail server,
    /// or in doubt.
    fn latest_message_to(&mut self, address_key: &str, before: i64) -> Result<Option<MessageRef>>;
    /// When the oldest message of the outbox was made (mail older than it answers none of ours).
    fn first_sent(&mut self) -> Result<Option<i64>>;
    /// Where a mailbox was read up to: (UIDVALIDITY, last UID read).
    fn mailbox_checkpoint(&mut self, mailbox: &str) -> Result<Option<(u32, u32)>>;
    /// Records the messages read from a mailbox, queues their inputs and moves its checkpoint
    /// forward, in one transaction (a restart reads on from the checkpoint: nothing twice,
    /// nothing missed). How many inputs were new.
    fn record_mail(
        &mut self,
        mailbox: &str,
        checkpoint: (u32, u32),
        mail: &[(MailRow, Option<NewInput>)],
        now: i64,
    ) -> Result<usize>;
    /// The mail log, oldest first: of one contact, or only what matched no contact.
    fn mail_log(&mut self, contact: Option<&str>, unmatched: bool) -> Result<Vec<MailRow>>;
    /// Every suppressed address: (address, true when it bounced, false when it unsubscribed).
    fn suppressions(&mut self) -> Result<Vec<(String, bool)>>;
    /// The cadences paused as a whole and the owners away.
    fn holds(&mut self) -> Result<Vec<HoldRow>>;
    /// Queues inputs in one transaction, unless `nonce` was seen before (a replayed request):
    /// then nothing, and `None`.
    fn enqueue_once(
        &mut self,
        nonce: &str,
        inputs: &[NewInput],
        now: i64,
    ) -> Result<Option<Vec<bool>>>;
    /// Records an open or a click, and with `input` queues its event in the same transaction
    /// (a click is held back without one: [`LiveStore::held_hits`]). Whether it was new.
    fn add_hit(&mut self, hit: &Hit, input: Option<&NewInput>, now: i64) -> Result<bool>;
    /// Clicks held back, made at or before `before`, in order.
    fn held_hits(&mut self, before: i64) -> Result<Vec<HeldHit>>;
    /// Queues the events of held clicks (by hit id) and marks them queued, in one transaction.
    fn queue_hits(&mut self, done: &[(i64, NewInput)], now: i64) -> Result<()>;
    // ---- tokens of the HTTP API ----------------------------------------------------------
    /// Stores a token's hash under a name; false when the name is taken.
    fn create_token(&mut self, name: &str, hash: &[u8], now: i64) -> Result<bool>;
    /// The name of the token with this hash, unless it is revoked.
    fn token_name(&mut self, hash: &[u8]) -> Result<Option<String>>;
    fn tokens(&mut self) -> Result<Vec<TokenRow>>;
    /// Revokes a token by name; false when there is no such token in use.
    fn revoke_token(&mut self, name: &str, now: i64) -> Result<bool>;

    /// Puts an in-doubt or failed message back to pending, to be sent again.
    fn resend(&mut self, id: i64, now: i64) -> Result<Option<OutboxState>>;
    /// When the next pending message is due (wall clock).
    fn next_outbox_attempt(&mut self) -> Result<Option<i64>>;

    // ---- tasks, journal, counts -----------------------------------------------------------
    fn tasks(&mut self, filter: &TaskFilter) -> Result<Vec<TaskRow>>;
    /// Visits the journal in order with each record's contact id.
    fn journal(&mut self, visit: &mut dyn FnMut(&JournalRow, &str) -> Result<()>) -> Result<()>;
    fn counts(&mut self) -> Result<Counts>;
    /// Outbox rows by state.
    fn outbox_counts(&mut self) -> Result<Vec<(String, i64)>>;
    fn contact_count(&mut self) -> Result<i64>;

    // ---- several runners on one database (PostgreSQL) ------------------------------------
    /// How many partitions the contacts are spread over, when several runners may share the
    /// database: `None` where one runner has it alone (SQLite).
    fn partitions(&mut self) -> Result<Option<u32>> {
        Ok(None)
    }
    /// Claims, for `lease_ms` (renewed by every commit), a partition that has something at or
    /// before `t` (or the partition `only`, whatever it has) and that no claim holds (a claim
    /// holds until its lease runs out, or at once when its runner's process is gone); from
    /// then on the reads that feed the apply loop and [`LiveStore::commit`] are those of that
    /// partition. `None` when there is none to take.
    fn claim_part(
        &mut self,
        _worker: i64,
        _t: i64,
        _only: Option<u32>,
        _lease_ms: i64,
    ) -> Result<Option<Claim>> {
        Err(LiveError::Db("this database has no partitions".into()))
    }
    /// Lets the claimed partition go, with when its next thing is due (`None`: nothing).
    fn release_part(&mut self, _next: Option<i64>) -> Result<()> {
        Ok(())
    }
    /// Takes or keeps the lead of the virtual clock for `lease_ms` (another takes it when the
    /// lease runs out or the leader's process is gone); whether this runner leads.
    fn lead(&mut self, _worker: i64, _lease_ms: i64) -> Result<bool> {
        Ok(true)
    }
    /// The virtual clock the runners share (`None` before the first move).
    fn shared_clock(&mut self) -> Result<Option<i64>> {
        Ok(None)
    }
    /// When the leader finds no partition with anything at or before `min(clock, limit)`, moves
    /// the shared clock to the first thing due plus `window` (at most to `limit`).
    fn move_clock(&mut self, _worker: i64, _window: i64, _limit: i64) -> Result<ClockMove> {
        Ok(ClockMove::Done)
    }
    /// The first thing due in any partition (`Some(i64::MIN)` for a partition not yet looked
    /// at), and whether a partition is claimed.
    fn next_work(&mut self) -> Result<(Option<i64>, bool)> {
        Ok((None, false))
    }
    /// Says which runner uses this connection (its outbox claims carry it, so that only the
    /// claims of runners that are gone are put in doubt).
    fn set_worker(&mut self, _worker: i64) {}

    // ---- upkeep -----------------------------------------------------------------------------
    /// Whether the store may be kept open for another request: a connection to a server that
    /// is still open. An SQLite file is opened anew each time.
    fn reusable(&self) -> bool {
        false
    }
    /// Leaves the copying of a write-ahead log into the database to [`LiveStore::checkpoint`]
    /// (SQLite), and says whether it did: nothing to do where the server does it.
    fn manual_checkpoints(&mut self) -> Result<bool> {
        Ok(false)
    }
    /// Copies what a write-ahead log holds into the database file, as far as readers allow
    /// (`truncate`: all of it, and empties the log); nothing where the server does it.
    fn checkpoint(&mut self, _truncate: bool) -> Result<()> {
        Ok(())
    }
    /// Copies the database to the SQLite file `to` while it is in use.
    fn backup(&mut self, _to: &Path, _progress: &mut dyn FnMut(i32, i32)) -> Result<()> {
        Err(LiveError::Open(
            "`cadence backup` copies an SQLite database; back a PostgreSQL database up with pg_dump (or the server's own backups)".into(),
        ))
    }
}
