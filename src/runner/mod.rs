//! `cadence run`: cadences executed for real against a database, on the wall clock or a
//! virtual one. The pieces, each testable alone:
//!
//! - `program.rs`: the cadence versions stored and the program built from them;
//! - `ingest.rs`: contacts and events files into the inbox, each row once;
//! - `apply.rs`: the apply loop (due timers and inputs, in the engine's order, in batches);
//! - `outbox.rs`: the relay that hands emails to SMTP and records what the server said;
//! - `mailbox.rs`: replies, automatic answers and bounces read from the sending mailboxes;
//! - `state.rs`, `journal.rs`: how a contact and a trace record are stored;
//! - `clock.rs`: the two clocks.
//!
//! This file wires them over one store: lock the database, store the versions, queue the
//! files, then run the apply loop and the relay (on its own thread and connection) until the
//! clock says stop.

pub mod apply;
pub mod clock;
pub mod ingest;
pub mod journal;
pub mod mailbox;
pub mod outbox;
pub mod program;
pub mod state;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::check::Program;
use crate::engine::format_instant;
use crate::mail::smtp::Mailer;
use crate::mail::token::Signer;
use crate::sim::BadRow;
use crate::store::live::{LiveError, LiveStore};
use crate::syntax::{FileId, Sources};
use crate::time::Duration as CadenceDuration;
use apply::{Applier, MailSettings, Stats};
pub use clock::{wall_now, ClockKind};
use outbox::{Relay, RelayStats};
use program::LiveProgram;

/// Set by SIGINT or SIGTERM: finish the transaction in hand and stop.
pub static STOP: AtomicBool = AtomicBool::new(false);

/// Set by SIGHUP: read the cadence files again and, when they check and strand nobody, stop
/// after the transaction in hand so that `cadence run` starts again with them.
pub static RELOAD: AtomicBool = AtomicBool::new(false);

/// Set when another process has queued inputs (PostgreSQL's NOTIFY): the waiting runner reads
/// the inbox at once instead of at its next poll.
pub static WAKE: AtomicBool = AtomicBool::new(false);

/// Makes SIGINT and SIGTERM set [`STOP`], and SIGHUP [`RELOAD`], instead of killing the
/// process.
pub fn stop_on_signals() {
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        let _ = signal_hook::flag::register(sig, &STOP);
    }
    let _ = signal_hook::flag::register(signal_hook::consts::SIGHUP, &RELOAD);
}

/// What a wall-clock run does on SIGHUP before it stops to start again: reads the files
/// again and checks them, and that deploying them strands nobody. `Err` says why the reload
/// is refused (the run then goes on with the versions it has).
pub type ReloadCheck = dyn Fn(&mut dyn LiveStore) -> Result<(), String> + Send + Sync;

/// When a virtual run stops.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum UntilArg {
    At(i64),
    /// A duration after the database's start.
    After(CadenceDuration),
}

/// Everything `cadence run` is told.
#[derive(Clone)]
pub struct Options {
    pub db: PathBuf,
    pub contacts: Option<PathBuf>,
    pub events: Option<PathBuf>,
    pub clock: ClockKind,
    pub start: Option<i64>,
    pub until: Option<UntilArg>,
    pub smtp: Option<String>,
    pub public_url: String,
    pub default_from: String,
    pub pool: u32,
    pub smtp_timeout: Duration,
    pub backoff: Duration,
    pub max_attempts: i64,
    /// Inputs and timers applied per transaction at most.
    pub batch: usize,
    /// Inputs and timers read ahead per transaction (a tuning knob; small values exercise the
    /// batch boundaries in tests).
    pub read_ahead: usize,
    /// How often the wall clock looks for new inputs from other processes.
    pub poll: Duration,
    /// Serve the HTTP side on this address (wall clock only).
    pub listen: Option<String>,
    /// How a SIGHUP is checked (wall clock only); without it, SIGHUP is ignored.
    pub reload: Option<std::sync::Arc<ReloadCheck>>,
    /// The sending mailboxes to read replies from (wall clock only).
    pub imap: Vec<mailbox::MailboxUrl>,
    /// How often a mailbox is polled when its server has no IDLE (and IDLE is re-issued).
    pub imap_poll: Duration,
    /// How many partitions a new PostgreSQL database spreads its contacts over (at most that
    /// many runners work on it at once).
    pub partitions: Option<u32>,
    /// How far apart, in virtual seconds, the partitions may run (default [`WINDOW`]).
    pub window: Option<i64>,
}

/// Why a run could not go on.
#[derive(Debug)]
pub enum RunError {
    /// The database was refused, is busy, or failed (exit 2).
    Store(LiveError),
    /// Anything else that stops the run (exit 2).
    Other(String),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Store(e) => write!(f, "{e}"),
            RunError::Other(m) => f.write_str(m),
        }
    }
}

impl From<LiveError> for RunError {
    fn from(e: LiveError) -> RunError {
        RunError::Store(e)
    }
}

impl From<String> for RunError {
    fn from(e: String) -> RunError {
        RunError::Other(e)
    }
}

/// What a run did.
#[derive(Debug, Default)]
pub struct Report {
    pub stats: Stats,
    pub relay: RelayStats,
    /// Bad rows of the files, by file.
    pub bad: Vec<(String, BadRow)>,
    pub warnings: Vec<String>,
    /// Events before the start, not applied: (file, line).
    pub before_start: Vec<(String, u64)>,
    pub queued: usize,
    pub already_queued: usize,
    /// Messages found `sending` at the start (a relay stopped mid-send): now in doubt.
    pub marked_in_doubt: usize,
    pub start: i64,
    pub clock: i64,
    /// Set when a run without --until stopped at the horizon with timers left.
    pub horizon: Option<i64>,
    /// Messages left in the outbox, by state.
    pub outbox: Vec<(String, i64)>,
    pub contacts: i64,
    /// Cadences deployed by this run.
    pub cadences: usize,
    /// Contacts moved into a new version by its `migrate` block.
    pub migrated: usize,
    /// Seconds spent queueing the files.
    pub ingest_seconds: f64,
    /// The run stopped for a reload (SIGHUP): `cadence run` starts again with the files.
    pub reload: bool,
    /// What the mailboxes gave: messages read, inputs queued, messages matched to no contact.
    pub mail: Option<[usize; 3]>,
    /// On a database shared by several runners, for each partition this runner claimed and
    /// applied: the milliseconds from the moment it saw the clock reach the partition's work
    /// to the commit of the last of it.
    pub claim_ms: Vec<u32>,
}

/// Holds `DB.lock` for as long as it lives: one `cadence run` per SQLite database. On
/// PostgreSQL, an advisory lock that many runners share (`alone`: one that only `cadence
/// deploy` takes, while no runner holds the other).
pub struct RunLock {
    _file: Option<std::fs::File>,
    pg: Option<crate::store::live::PgRunLock>,
}

impl RunLock {
    pub fn take(db: &Path, alone: bool) -> Result<RunLock, LiveError> {
        crate::store::live::refuse_url(db)?;
        if let Some(url) = crate::store::live::postgres_url(db) {
            return Ok(RunLock {
                _file: None,
                pg: Some(crate::store::live::PgRunLock::take(url, alone)?),
            });
        }
        let path = PathBuf::from(format!("{}.lock", db.display()));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| {
                LiveError::Open(format!(
                    "cannot create the lock file `{}`: {}",
                    path.display(),
                    crate::diagnostic::io_reason(&e)
                ))
            })?;
        #[cfg(unix)]
        {
            use std::os::unix::io::AsRawFd;
            // A lock just let go can still be held for a moment by a child process that a
            // thread of this process is starting (it shares the descriptor until it runs its
            // program), so a busy lock is asked for again for up to two seconds.
            let deadline = Instant::now() + Duration::from_secs(2);
            loop {
                // SAFETY: flock on a descriptor this function owns; the lock goes with the
                // file (and with the process, however it ends).
                let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
                if r == 0 {
                    break;
                }
                if Instant::now() >= deadline {
                    return Err(LiveError::Busy(format!(
                        "another `cadence run` is using `{}`; stop it first (one runner per SQLite database)",
                        db.display()
                    )));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Ok(RunLock {
            _file: Some(file),
            pg: None,
        })
    }

    /// The runner's id among those sharing a PostgreSQL database.
    pub fn worker(&self) -> Option<i64> {
        self.pg.as_ref().and_then(|l| l.worker)
    }

    /// The runner has stored its versions, queued its files and migrated: the next may start.
    pub fn started(&self) -> Result<(), LiveError> {
        match &self.pg {
            Some(l) => l.started(),
            None => Ok(()),
        }
    }
}

/// A random hexadecimal string of `bytes` bytes.
fn random_hex(bytes: usize) -> Result<String, String> {
    let mut b = vec![0u8; bytes];
    getrandom::fill(&mut b).map_err(|e| format!("no random numbers from the system: {e}"))?;
    Ok(crate::mail::hex(&b))
}

/// The database's secret for signed links: `CADENCE_SECRET` when set, else one made when the
/// database was created.
pub fn secret(store: &mut dyn LiveStore) -> Result<Vec<u8>, RunError> {
    if let Ok(s) = std::env::var("CADENCE_SECRET") {
        if s.len() < 16 {
            return Err(RunError::Other(
                "CADENCE_SECRET is too short: give at least 16 characters".into(),
            ));
        }
        return Ok(s.into_bytes());
    }
    Ok(store
        .meta_or_insert("secret", &random_hex(32)?)?
        .into_bytes())
}

/// Runs cadences: the whole of `cadence run`.
pub fn run(
    opts: &Options,
    sources: &Sources,
    given: &[FileId],
    program: Program,
) -> Result<Report, RunError> {
    let timing = std::env::var_os("CADENCE_TIMINGS").is_some();
    let t_run = Instant::now();
    let lap = |what: &str| {
        if timing {
            eprintln!("timing: {what} at {:.2} s", t_run.elapsed().as_secs_f64());
        }
    };
    if let Some(n) = opts.partitions {
        crate::store::live::want_partitions(n);
    }
    let lock = RunLock::take(&opts.db, false)?;
    let mut store = crate::store::live::open(&opts.db, true)?;
    let worker = lock.worker();
    if let Some(w) = worker {
        store.set_worker(w);
    }
    let parts = store.partitions()?;
    if opts.window.is_some() && opts.partitions.is_none() && parts.is_none() {
        return Err(RunError::Other(
            "--window spreads the work of a PostgreSQL database over several runners; an SQLite file has one runner".into(),
        ));
    }
    match (opts.partitions, parts) {
        (Some(_), None) => {
            return Err(RunError::Other(
                "--partitions spreads a PostgreSQL database over several runners; an SQLite file has one runner".into(),
            ))
        }
        (Some(want), Some(have)) if want != have => {
            return Err(RunError::Other(format!(
                "`{}` has {have} partition{}: the count is chosen when the database is made, and stays",
                crate::store::live::shown(&opts.db),
                if have == 1 { "" } else { "s" }
            )))
        }
        _ => {}
    }
    let mut report = Report::default();
    let instance = store.meta_or_insert("instance", &random_hex(6)?)?;
    let signer = Signer::new(&secret(&mut *store)?);
    let stranded = program::stranded(&mut *store, &program)?;
    if !stranded.is_empty() {
        return Err(RunError::Other(stranded.join("\nerror: ")));
    }
    let lp = LiveProgram::deploy(&mut *store, sources, given, program, wall_now())?;
    lap("deployed");
    tracing::info!(
        db = %crate::store::live::shown(&opts.db),
        clock = ?opts.clock,
        cadences = lp.current.iter().filter(|c| **c).count(),
        "runner started"
    );
    let cadence_names: HashMap<i64, String> = lp
        .versions
        .iter()
        .enumerate()
        .map(|(i, v)| (*v, lp.program.cadences[i].name.clone()))
        .collect();
    check_addresses(&lp, &opts.default_from)?;
    report.cadences = lp.current.iter().filter(|c| **c).count();
    let mailer = match &opts.smtp {
        Some(url) => Some(Mailer::new(url, opts.pool, opts.smtp_timeout)?),
        None => None,
    };
    // A relay that stopped mid-send left messages `sending`: nobody knows whether the server
    // took them.
    report.marked_in_doubt = store.mark_in_doubt(wall_now())?;
    if report.marked_in_doubt > 0 {
        // Said now, not at the end: a service on the wall clock may run for months.
        eprintln!(
            "warning: {} handed to the SMTP server when the last run stopped: in doubt, not sent again (`cadence outbox --db {} --state in-doubt`)",
            match report.marked_in_doubt {
                1 => "1 email was being".to_string(),
                n => format!("{n} emails were being"),
            },
            crate::store::live::shown(&opts.db)
        );
    }

    // The start and the clock.
    let stored_start = store.meta("start")?.and_then(|s| s.parse::<i64>().ok());
    let start = match stored_start {
        Some(s) => s,
        None => {
            let s = match (opts.start, opts.clock) {
                (Some(s), _) => s,
                (None, ClockKind::Wall) => wall_now(),
                (None, ClockKind::Virtual) => match earliest_event(opts, &lp)? {
                    Some(t) => t,
                    None => store.first_input_at()?.unwrap_or_else(wall_now),
                },
            };
            store
                .meta_or_insert("start", &s.to_string())?
                .parse()
                .unwrap_or(s)
        }
    };
    report.start = start;
    let applier_signer = signer.clone();
    let mut applier = Applier::new(
        &lp,
        &mut *store,
        MailSettings {
            public_url: opts.public_url.clone(),
            signer,
            instance,
            default_from: opts.default_from.clone(),
        },
    )?;
    applier.read_ahead = opts.read_ahead.max(1);
    if let Some(p) = parts {
        applier.set_stride(p);
    }
    if applier.clock() == i64::MIN {
        applier.advance(&mut *store, start)?;
    }
    // Enrolments of older versions move into the new ones that ask for it, at the clock the
    // database stopped at (before a later --start moves it).
    let hashes = program::version_hashes(&mut *store)?;
    report.migrated = migrate(&mut applier, &mut *store, worker.unwrap_or(0), &hashes)?;
    if let Some(s) = opts.start {
        // A later --start moves the clock forward; an earlier one cannot move it back.
        applier.advance(&mut *store, s)?;
    }

    // The files, into the inbox: all of them before anything runs.
    let t0 = Instant::now();
    queue_files(opts, &lp, &mut *store, start, applier.clock(), &mut report)?;
    report.ingest_seconds = t0.elapsed().as_secs_f64();
    lap("queued the files");
    // Versions stored, files queued, enrolments migrated: another runner may start.
    lock.started()?;

    let until = match opts.until {
        None => None,
        Some(UntilArg::At(t)) => Some(t),
        Some(UntilArg::After(d)) => {
            let first = &lp.program.cadences[0];
            let tz = match first.zone {
                crate::check::Zone::Fixed(tz) => tz,
                _ => chrono_tz::Tz::UTC,
            };
            Some(crate::engine::calendar::add(start, d, tz, &first.holidays))
        }
    };
    if let Some(u) = until {
        if u < applier.clock() && opts.clock == ClockKind::Virtual {
            eprintln!(
                "note: --until {} is before the database's clock {}: nothing to run",
                format_instant(u),
                format_instant(applier.clock())
            );
        }
    }

    // The mailboxes: what arrived while the runner was stopped is read before anything is
    // sent, then each is read on its own thread for as long as the run lasts.
    if !opts.imap.is_empty() {
        if opts.clock != ClockKind::Wall {
            return Err(RunError::Other(
                "--imap reads real mailboxes: it runs with --clock wall".into(),
            ));
        }
        for url in &opts.imap {
            let reader = mailbox::Reader {
                url: url.clone(),
                db: opts.db.clone(),
                cadences: cadence_names.clone(),
                poll: opts.imap_poll,
            };
            match reader.read_once() {
                Ok(s) => {
                    tracing::info!(mailbox = %url.name(), read = s.read, queued = s.queued, unmatched = s.unmatched, "mailbox read at start");
                }
                // Sending on without it could follow up on a reply that is waiting there.
                Err(e) => {
                    return Err(RunError::Other(format!(
                        "{e}\nthe mailbox is read before anything is sent, so that no follow-up goes to someone who replied; fix --imap (or leave it out) and start again"
                    )))
                }
            }
            // Not joined: a wait in IDLE ends only with the process.
            std::thread::spawn(move || reader.serve(&STOP));
        }
    }

    // The relay, on its own thread and connection.
    let done = AtomicBool::new(false);
    let relay = mailer.map(|mailer| Relay {
        mailer,
        workers: opts.pool.max(1) as usize,
        backoff: opts.backoff,
        max_attempts: opts.max_attempts,
        cadences: cadence_names.clone(),
        pause_after_send: std::env::var("CADENCE_FAULT_PAUSE_AFTER_SEND_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .map(Duration::from_millis),
    });
    let server = match &opts.listen {
        Some(addr) => {
            let server = crate::http::Server::start(
                addr,
                opts.db.clone(),
                applier_signer,
                cadence_names,
                &STOP,
            )?;
            eprintln!("listening on http://{}", server.addr);
            tracing::info!(addr = %server.addr, "listening");
            Some(server)
        }
        None => None,
    };
    // Inputs queued by other processes wake the runner (PostgreSQL); polling stays the fallback.
    if opts.clock == ClockKind::Wall {
        if let Some(url) = crate::store::live::postgres_url(&opts.db) {
            crate::store::live::listen_for_inputs(url.to_string(), &WAKE, &STOP);
        }
    }
    // Checkpoints on the other core: the writer only appends to the log.
    let checkpoints = store.manual_checkpoints()?;
    let outcome = std::thread::scope(|s| -> Result<(), RunError> {
        let checkpointer = checkpoints.then(|| {
            let db = opts.db.clone();
            let done = &done;
            s.spawn(move || {
                let Ok(mut st) = crate::store::live::open(&db, false) else {
                    return;
                };
                while !done.load(Ordering::SeqCst) {
                    clock::sleep_until(Instant::now() + Duration::from_millis(500), done);
                    let _ = st.checkpoint(false);
                }
            })
        });
        let relay_thread = relay.as_ref().map(|r| {
            let db = opts.db.clone();
            let mode = match opts.clock {
                ClockKind::Virtual => outbox::Until::Drained,
                ClockKind::Wall => outbox::Until::Stopped,
            };
            let done = &done;
            s.spawn(move || -> Result<RelayStats, String> {
                let mut st = crate::store::live::open(&db, false).map_err(|e| e.to_string())?;
                if let Some(w) = worker {
                    st.set_worker(w);
                }
                r.run(&mut *st, mode, done, &STOP)
            })
        });
        let result = match (parts, worker) {
            (Some(parts), Some(worker)) => shared_loop(
                opts,
                &lp,
                &mut applier,
                &mut *store,
                until,
                &mut report,
                Shared { parts, worker },
            ),
            _ => engine_loop(opts, &lp, &mut applier, &mut *store, until, &mut report),
        };
        done.store(true, Ordering::SeqCst);
        if let Some(c) = checkpointer {
            let _ = c.join();
        }
        if result.is_err() || opts.clock == ClockKind::Wall {
            STOP.store(true, Ordering::SeqCst);
        }
        if let Some(h) = relay_thread {
            match h.join() {
                Ok(Ok(stats)) => report.relay = stats,
                Ok(Err(e)) => {
                    result?;
                    return Err(RunError::Other(format!("the outbox relay stopped: {e}")));
                }
                Err(_) => return Err(RunError::Other("the outbox relay stopped".into())),
            }
        }
        result
    });
    if let Some(server) = server {
        STOP.store(true, Ordering::SeqCst);
        server.join()?;
    }
    outcome?;
    store.checkpoint(true)?;
    tracing::info!(
        inputs = applier.stats.inputs,
        timers = applier.stats.timers,
        records = applier.stats.records,
        emails = applier.stats.emails,
        "runner stopped"
    );
    lap("ran");
    if !opts.imap.is_empty() {
        report.mail = Some(
            mailbox::TOTALS
                .each_ref()
                .map(|t| t.load(Ordering::Relaxed)),
        );
    }
    report.stats = applier.stats.clone();
    report.clock = applier.clock();
    report.outbox = store.outbox_counts()?;
    report.contacts = store.contact_count()?;
    lap("counted");
    Ok(report)
}

/// The earliest event of the events file (the default start of a virtual run, as in
/// `simulate`).
fn earliest_event(opts: &Options, lp: &LiveProgram) -> Result<Option<i64>, RunError> {
    let Some(path) = &opts.events else {
        return Ok(None);
    };
    let file = open(path)?;
    let catalog = crate::engine::Catalog::new(&lp.program);
    let any = |_: &str| Some(0u32);
    let (rows, _) =
        crate::sim::read_events(std::io::BufReader::new(file), &lp.program, &catalog, &any)
            .map_err(|e| RunError::Other(format!("{}: {e}", path.display())))?;
    Ok(rows.iter().map(|r| r.at).min())
}

fn open(path: &Path) -> Result<std::fs::File, RunError> {
    crate::cli::open_input(path).map_err(|e| {
        RunError::Other(format!(
            "cannot read `{}`: {}",
            path.display(),
            crate::diagnostic::io_reason(&e)
        ))
    })
}

/// Queues the contacts and events files.
fn queue_files(
    opts: &Options,
    lp: &LiveProgram,
    store: &mut dyn LiveStore,
    start: i64,
    clock: i64,
    report: &mut Report,
) -> Result<(), RunError> {
    let catalog = crate::engine::Catalog::new(&lp.program);
    let now = wall_now();
    let push = |store: &mut dyn LiveStore,
                report: &mut Report,
                name: &str,
                read: ingest::FileInputs|
     -> Result<(), RunError> {
        for b in read.bad {
            report.bad.push((name.to_string(), b));
        }
        for w in read.warnings {
            report.warnings.push(format!("{name}: warning: {w}"));
        }
        for l in read.before_start {
            report.before_start.push((name.to_string(), l));
        }
        // One transaction per file: a file is queued whole, or not at all.
        for new in store.enqueue(&read.inputs, now)? {
            if new {
                report.queued += 1;
            } else {
                report.already_queued += 1;
            }
        }
        Ok(())
    };
    if let Some(path) = &opts.contacts {
        let name = path.display().to_string();
        let read = ingest::contacts(
            std::io::BufReader::new(open(path)?),
            &name,
            &catalog,
            clock.max(start),
        )
        .map_err(|e| RunError::Other(format!("{name}: {e}")))?;
        push(store, report, &name, read)?;
    }
    if let Some(path) = &opts.events {
        let name = path.display().to_string();
        let known = store.contact_ids()?;
        let read = ingest::events(
            std::io::BufReader::new(open(path)?),
            &name,
            &lp.program,
            &catalog,
            &known,
            Some(start),
        )
        .map_err(|e| RunError::Other(format!("{name}: {e}")))?;
        push(store, report, &name, read)?;
    }
    Ok(())
}

/// Every address a cadence sends from must be one a header can carry.
fn check_addresses(lp: &LiveProgram, default_from: &str) -> Result<(), RunError> {
    let ok = |a: &str| a.parse::<lettre::message::Mailbox>().is_ok();
    if !ok(default_from) {
        return Err(RunError::Other(format!(
            "--from `{default_from}` is not an email address"
        )));
    }
    for (i, c) in lp.program.cadences.iter().enumerate() {
        if !lp.current[i] {
            continue;
        }
        let steps = c.steps.iter().flat_map(|s| [&s.from, &s.reply_to]);
        for a in [&c.from, &c.reply_to].into_iter().chain(steps).flatten() {
            if !ok(a) {
                return Err(RunError::Other(format!(
                    "cadence \"{}\": `{a}` is not an email address a message can be sent with",
                    c.name
                )));
            }
        }
    }
    Ok(())
}

/// The most inputs and timers one transaction of a wall-clock run applies.
const WALL_BATCH: usize = 4096;

/// Without --until, a run of cadences that loop stops this long after its last input (as
/// `simulate` does).
const HORIZON: i64 = crate::sim::HORIZON;

/// How an apply loop goes: items per transaction, the fault-injection pause after each, and
/// the virtual instant it runs to (`i64::MAX` on the wall clock or with nothing to stop at).
struct Pace {
    batch: usize,
    pause: Option<Duration>,
    limit: i64,
}

fn pace(
    opts: &Options,
    lp: &LiveProgram,
    applier: &Applier,
    store: &mut dyn LiveStore,
    until: Option<i64>,
) -> Result<Pace, RunError> {
    // On the wall clock, other writers (the HTTP side, `cadence log`, `cadence ingest`) wait
    // for each transaction: keep them short even when catching up.
    let batch = match opts.clock {
        ClockKind::Virtual => opts.batch.max(1),
        ClockKind::Wall => opts.batch.clamp(1, WALL_BATCH),
    };
    let pause = std::env::var("CADENCE_FAULT_PAUSE_PER_BATCH_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(Duration::from_millis);
    let limit = match (opts.clock, until) {
        (ClockKind::Wall, _) => i64::MAX,
        (_, Some(u)) => u,
        (_, None) if lp.program.has_loop() => {
            let last = store.last_input_at()?.unwrap_or(i64::MIN);
            last.max(applier.clock()).saturating_add(HORIZON)
        }
        (_, None) => i64::MAX,
    };
    Ok(Pace {
        batch,
        pause,
        limit,
    })
}

fn engine_loop(
    opts: &Options,
    lp: &LiveProgram,
    applier: &mut Applier,
    store: &mut dyn LiveStore,
    until: Option<i64>,
    report: &mut Report,
) -> Result<(), RunError> {
    let Pace {
        batch,
        pause,
        limit,
    } = pace(opts, lp, applier, store, until)?;
    match opts.clock {
        ClockKind::Virtual => {
            loop {
                if STOP.load(Ordering::SeqCst) {
                    return Ok(());
                }
                let p = applier.step(store, limit, batch)?;
                if let Some(d) = pause {
                    std::thread::sleep(d);
                }
                if p.idle {
                    if until.is_none() && limit != i64::MAX && p.next.is_some() {
                        report.horizon = Some(limit);
                    }
                    break;
                }
            }
            if let Some(u) = until {
                applier.advance(store, u)?;
            }
            Ok(())
        }
        ClockKind::Wall => {
            // Everything due up to now runs in the engine's order (what fell due while the
            // runner was stopped, and rows dated in the past, at their own times); the clock
            // then follows the wall, durably once a minute when nothing happens.
            while !STOP.load(Ordering::SeqCst) {
                if reload_asked(opts, store, report) {
                    break;
                }
                let now = wall_now();
                let p = applier.step(store, now, batch)?;
                if !p.idle {
                    continue;
                }
                if now - applier.clock() >= 60 {
                    applier.advance(store, now)?;
                }
                let wait = p
                    .next
                    .map(|t| Duration::from_secs(t.saturating_sub(wall_now()).max(0) as u64))
                    .unwrap_or(opts.poll)
                    .min(opts.poll);
                wait_for_work(wait);
            }
            Ok(())
        }
    }
}

/// Waits on the wall clock for up to `wait`: less when the run is stopped, a SIGHUP asks for a
/// reload, or another process queued an input (`WAKE`).
fn wait_for_work(wait: Duration) {
    let deadline = Instant::now() + wait;
    while Instant::now() < deadline
        && !STOP.load(Ordering::SeqCst)
        && !RELOAD.load(Ordering::SeqCst)
        && !WAKE.swap(false, Ordering::SeqCst)
    {
        clock::sleep_until(
            deadline.min(Instant::now() + Duration::from_millis(100)),
            &STOP,
        );
    }
}

/// Moves the enrolments that a new version's `migrate` block asks for (see
/// [`Applier::migrate_all`]): on a database with partitions, one partition at a time, each under
/// a claim.
fn migrate(
    applier: &mut Applier,
    store: &mut dyn LiveStore,
    worker: i64,
    hashes: &HashMap<i64, String>,
) -> Result<usize, RunError> {
    let Some(parts) = store.partitions()? else {
        return Ok(applier.migrate_all(store, hashes)?);
    };
    if !applier.has_migrations() {
        return Ok(0);
    }
    let lease = crate::store::live::lease_ms();
    let mut moved = 0;
    for part in 0..parts {
        // A runner holding the partition lets it go when it has done what is due.
        let deadline = Instant::now() + Duration::from_millis(lease as u64 * 2);
        loop {
            if store
                .claim_part(worker, i64::MIN, Some(part), lease)?
                .is_some()
            {
                break;
            }
            if Instant::now() > deadline {
                return Err(RunError::Other(format!(
                    "partition {part} stayed claimed by another runner: the enrolments to migrate there were not moved (those of the partitions before it were); start again"
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        applier.forget(store)?;
        let r = applier.migrate_all(store, hashes);
        // Looked at again by whoever runs next: the migration may have set timers.
        store.release_part(Some(i64::MIN))?;
        applier.forget(store)?;
        moved += r?;
    }
    Ok(moved)
}

/// A runner among others on one database: its id and the partition count.
#[derive(Debug, Clone, Copy)]
struct Shared {
    parts: u32,
    worker: i64,
}

/// How far apart, in virtual time, the partitions of a database may be at most while several
/// runners share it (the leader moves the shared clock this far past the first thing due).
/// Within it, what one contact does to another (a bounce suppressing an address that another
/// contact shares, a daily `limit`) is seen in the order the partitions reach it.
pub const WINDOW: i64 = 3600;

/// What a SIGHUP asks, checked: whether the run stops to start again with the files.
fn reload_asked(opts: &Options, store: &mut dyn LiveStore, report: &mut Report) -> bool {
    if !RELOAD.swap(false, Ordering::SeqCst) {
        return false;
    }
    let Some(check) = &opts.reload else {
        return false;
    };
    match check(store) {
        Ok(()) => {
            tracing::info!("reloading: the files check; starting again with them");
            report.reload = true;
            STOP.store(true, Ordering::SeqCst);
            true
        }
        Err(e) => {
            eprintln!("error: reload refused, the running versions go on: {e}");
            tracing::error!(error = %e, "reload refused");
            false
        }
    }
}

/// The apply loop of one runner among several on a database with partitions. Claim a
/// partition that has something due at or before the clock, apply it there, let it go with
/// when its next thing is due; when there is none to claim, the leader of the virtual clock
/// moves it on once no partition has anything left at or before it (on the wall clock, wait for
/// the next thing due). A claim lost to another runner (this one was stopped longer than its
/// lease) writes nothing: the partition is done by the other.
fn shared_loop(
    opts: &Options,
    lp: &LiveProgram,
    applier: &mut Applier,
    store: &mut dyn LiveStore,
    until: Option<i64>,
    report: &mut Report,
    me: Shared,
) -> Result<(), RunError> {
    let lease = crate::store::live::lease_ms();
    let Pace {
        batch,
        pause,
        limit,
    } = pace(opts, lp, applier, store, until)?;
    // With one partition, nothing is shared between partitions: the clock goes to the end.
    let window = if me.parts > 1 {
        opts.window.unwrap_or(WINDOW).max(0)
    } else {
        i64::MAX
    };
    let mut sweep = Instant::now();
    let mut advanced = Instant::now();
    // When this runner saw the shared clock reach where it stands (for `Report::claim_ms`).
    let mut seen: (i64, Instant) = (i64::MIN, Instant::now());
    loop {
        if STOP.load(Ordering::SeqCst) {
            return Ok(());
        }
        if opts.clock == ClockKind::Wall && reload_asked(opts, store, report) {
            return Ok(());
        }
        let t = match opts.clock {
            ClockKind::Virtual => store.shared_clock()?.unwrap_or(i64::MIN).min(limit),
            ClockKind::Wall => wall_now(),
        };
        if t != seen.0 {
            seen = (t, Instant::now());
        }
        if let Some(claim) = store.claim_part(me.worker, t, None, lease)? {
            applier.forget(store)?;
            let claimed = Instant::now();
            let next = loop {
                // Let go after half a lease at most (and look again at once): a long backlog
                // is not held from the runners waiting to start or to take their turn.
                if STOP.load(Ordering::SeqCst)
                    || claimed.elapsed() > Duration::from_millis(lease as u64 / 2)
                {
                    break Some(i64::MIN);
                }
                match applier.step(store, t, batch) {
                    Ok(p) => {
                        if let Some(d) = pause {
                            std::thread::sleep(d);
                        }
                        if p.idle {
                            break p.next;
                        }
                    }
                    Err(e) if applier.take_lost() => {
                        eprintln!("warning: {e}");
                        tracing::warn!(part = claim.part, error = %e, "batch not written; the partition is looked at again");
                        break Some(i64::MIN);
                    }
                    Err(e) => {
                        let _ = store.release_part(Some(i64::MIN));
                        return Err(RunError::Other(e));
                    }
                }
            };
            store.release_part(next)?;
            applier.forget(store)?;
            if opts.clock == ClockKind::Virtual {
                let waited = seen.1.elapsed().as_millis();
                report
                    .claim_ms
                    .push(waited.min(u128::from(u32::MAX)) as u32);
            }
            continue;
        }
        // Nothing to claim: the runners that are gone have their messages put in doubt.
        if sweep.elapsed() > Duration::from_secs(10) {
            sweep = Instant::now();
            let n = store.mark_in_doubt(wall_now())?;
            if n > 0 {
                report.marked_in_doubt += n;
                eprintln!(
                    "warning: {n} email{} handed to the SMTP server by a runner that is gone: in doubt, not sent again",
                    if n == 1 { " was" } else { "s were" }
                );
            }
        }
        match opts.clock {
            ClockKind::Virtual => {
                if store.lead(me.worker, lease)? {
                    match store.move_clock(me.worker, window, limit)? {
                        crate::store::live::ClockMove::Moved(_) => continue,
                        crate::store::live::ClockMove::Done => break,
                        _ => {}
                    }
                } else {
                    let (next, _) = store.next_work()?;
                    if next.is_none_or(|n| n > limit) {
                        break;
                    }
                }
                clock::sleep_until(Instant::now() + Duration::from_millis(5), &STOP);
            }
            ClockKind::Wall => {
                let now = wall_now();
                if advanced.elapsed() > Duration::from_secs(60) {
                    advanced = Instant::now();
                    match applier.advance(store, now) {
                        // Bookkeeping: done again in a minute.
                        Err(LiveError::Lost(e)) => tracing::debug!(error = %e, "clock not moved"),
                        r => r?,
                    }
                }
                let (next, _) = store.next_work()?;
                let now = wall_now();
                let wait = match next {
                    // Due now but held by another runner (or just let go): look again shortly.
                    Some(t) if t <= now => Duration::from_millis(50),
                    Some(t) => Duration::from_secs(t.saturating_sub(now) as u64),
                    None => opts.poll,
                }
                .min(opts.poll);
                wait_for_work(wait);
            }
        }
    }
    if until.is_none() && limit != i64::MAX {
        if let (Some(next), _) = store.next_work()? {
            if next > limit {
                report.horizon = Some(limit);
            }
        }
    }
    if let Some(u) = until {
        applier.advance(store, u)?;
    }
    // The database's clock, for the summary: the latest of the partitions'.
    applier.forget(store)?;
    Ok(())
}

/// What `cadence deploy` did.
#[derive(Debug, Default)]
pub struct Deployed {
    pub cadences: usize,
    pub migrated: usize,
    pub clock: i64,
}

/// `cadence deploy`: stores the versions of the files given and makes them the ones that take
/// new enrolments, then moves the enrolments of older versions into each new version that has a
/// `migrate` block, at the database's clock, without running anything else. Refused, with
/// nothing written, when a migration would strand contacts.
pub fn deploy(
    db: &Path,
    sources: &Sources,
    given: &[FileId],
    program: Program,
) -> Result<Deployed, RunError> {
    let lock = RunLock::take(db, true)?;
    let mut store = crate::store::live::open(db, true)?;
    let stranded = program::stranded(&mut *store, &program)?;
    if !stranded.is_empty() {
        return Err(RunError::Other(stranded.join("\nerror: ")));
    }
    let instance = store.meta_or_insert("instance", &random_hex(6)?)?;
    let signer = Signer::new(&secret(&mut *store)?);
    // The cadences not given stay deployed: a deploy gives new versions, it takes none away.
    let keep: Vec<i64> = store
        .versions()?
        .into_iter()
        .filter(|v| v.deployed && program.cadence_by_name(&v.name).is_none())
        .map(|v| v.id)
        .collect();
    let mut lp = LiveProgram::deploy(&mut *store, sources, given, program, wall_now())?;
    if !keep.is_empty() {
        let mut ids: Vec<i64> = lp
            .versions
            .iter()
            .zip(&lp.current)
            .filter(|(_, c)| **c)
            .map(|(v, _)| *v)
            .collect();
        ids.extend(keep);
        store.set_deployed(&ids)?;
        lp = LiveProgram::from_store(&mut *store)?;
    }
    let mut applier = Applier::new(
        &lp,
        &mut *store,
        MailSettings {
            public_url: String::new(),
            signer,
            instance,
            default_from: String::new(),
        },
    )?;
    if let Some(p) = store.partitions()? {
        applier.set_stride(p);
    }
    let hashes = program::version_hashes(&mut *store)?;
    let migrated = migrate(&mut applier, &mut *store, 0, &hashes)?;
    drop(lock);
    Ok(Deployed {
        cadences: lp.current.iter().filter(|c| **c).count(),
        migrated,
        clock: applier.clock(),
    })
}
