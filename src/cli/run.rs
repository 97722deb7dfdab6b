//! `cadence run FILES... --db DB [--contacts C.csv] [--events E.csv] [--clock wall|virtual]
//! [--start T] [--until T|D] [--smtp URL] [--public-url URL]`

use std::path::PathBuf;
use std::time::Duration;

use super::input::{load_checked, plural};
use super::live::{instant, load_config, std_duration};
use super::Status;
use crate::diagnostic::redact_url;
use crate::engine::format_instant;
use crate::runner::{self, ClockKind, Options, RunError, UntilArg};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Cadence files (with the library files they use)
    #[arg(required = true, value_name = "FILES")]
    files: Vec<String>,
    /// The database: an SQLite file, created with its schema when missing, or a postgres:// URL
    #[arg(long, value_name = "DB", env = "CADENCE_DB", hide_env_values = true)]
    db: Option<PathBuf>,
    /// Contacts to create or update: a header row with an `id` column and one column per field
    #[arg(long, value_name = "C.csv")]
    contacts: Option<PathBuf>,
    /// Inputs to queue: `at,contact,event` plus optional `step,field,value,cadence` columns
    #[arg(long, value_name = "E.csv")]
    events: Option<PathBuf>,
    /// `wall` runs until stopped; `virtual` runs everything due up to --until and exits
    #[arg(long, value_enum, env = "CADENCE_CLOCK")]
    clock: Option<ClockKind>,
    /// Where a new database's clock starts (RFC 3339); default: now on the wall clock, the earliest event on a virtual one
    #[arg(long, value_name = "T")]
    start: Option<String>,
    /// With --clock virtual: stop at an instant, or a duration after the database's start
    #[arg(long, value_name = "T|D")]
    until: Option<String>,
    /// Send emails through this SMTP server: smtp://HOST:PORT, smtp://USER:PASS@HOST:587?tls=required, smtps://USER:PASS@HOST
    #[arg(
        long,
        value_name = "URL",
        env = "CADENCE_SMTP_URL",
        hide_env_values = true
    )]
    smtp: Option<String>,
    /// The address the links in emails point at (one-click unsubscribe, tracking)
    #[arg(long, value_name = "URL", env = "CADENCE_PUBLIC_URL")]
    public_url: Option<String>,
    /// The sender of cadences that name none with `from`
    #[arg(long, value_name = "ADDRESS", env = "CADENCE_FROM")]
    from: Option<String>,
    /// Serve the HTTP side on this address, e.g. 127.0.0.1:8080: one-click unsubscribe links, POST /api/events, /healthz
    #[arg(long, value_name = "ADDR", env = "CADENCE_LISTEN")]
    listen: Option<String>,
    /// Read replies, out-of-office answers and bounces from a sending mailbox:
    /// imaps://USER:PASS@HOST[:PORT]/MAILBOX (imap:// uses STARTTLS, or plain text to a loopback
    /// address). Give it once per mailbox; CADENCE_IMAP takes several, separated by spaces
    #[arg(
        long,
        value_name = "URL",
        env = "CADENCE_IMAP",
        value_delimiter = ' ',
        hide_env_values = true
    )]
    imap: Vec<String>,
    /// How often a mailbox whose server has no IDLE is polled (IDLE is re-issued as often)
    #[arg(long, value_name = "D")]
    imap_poll: Option<String>,
    /// The runner's log on standard error: `text` (warnings, for people) or `json` (one object
    /// per line: every request, every refused email, start and stop; for a log collector)
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// SMTP connections used at once (default 16)
    #[arg(long, value_name = "N")]
    smtp_pool: Option<u32>,
    /// How long to wait for the SMTP server (250ms, 30s, 1m)
    #[arg(long, value_name = "D")]
    smtp_timeout: Option<String>,
    /// First wait before retrying a temporary SMTP failure; it doubles each time
    #[arg(long, value_name = "D")]
    retry_after: Option<String>,
    /// Attempts before a temporarily failing email is given up (as a bounce)
    #[arg(long, value_name = "N")]
    max_attempts: Option<i64>,
    /// Inputs and timers applied per transaction at most
    #[arg(long, value_name = "N", default_value_t = 262_144)]
    batch: usize,
    /// Inputs and timers read ahead per transaction
    #[arg(long, value_name = "N", default_value_t = 65_536, hide = true)]
    read_ahead: usize,
    /// A configuration file (default: the first cadence.toml here or in a parent folder)
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// PostgreSQL: spread a new database's contacts over N partitions, so that up to N runners
    /// (`cadence run` started on several machines with the same files and --db) work on it at
    /// once. Chosen when the database is made (default 1: runners take turns at it)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1024))]
    partitions: Option<u32>,
    /// PostgreSQL, several partitions, virtual clock: how far apart in virtual time the
    /// partitions may run (what a contact does to another, a bounce's suppression or a daily
    /// limit, is seen within it). Longer is faster; `0m` keeps them in step [default: 1h]
    #[arg(long, value_name = "DURATION")]
    window: Option<String>,
}

fn options(args: &Args) -> Result<Options, String> {
    let cfg = load_config(args.config.as_deref())?;
    let db = args
        .db
        .clone()
        .or(cfg.db.clone())
        .ok_or("no database given: pass --db FILE (or set CADENCE_DB, or `db` under [run] in cadence.toml)")?;
    let clock = match (args.clock, cfg.clock.as_deref()) {
        (Some(c), _) => c,
        (None, None) => ClockKind::Wall,
        (None, Some("wall")) => ClockKind::Wall,
        (None, Some("virtual")) => ClockKind::Virtual,
        (None, Some(other)) => {
            return Err(format!(
                "cadence.toml: `clock = \"{other}\"` is not `wall` or `virtual`"
            ))
        }
    };
    let start = args
        .start
        .as_deref()
        .map(|s| instant(s, "--start"))
        .transpose()?;
    let until = match &args.until {
        None => None,
        Some(u) => Some(match crate::time::Duration::parse(u) {
            Ok(d) => UntilArg::After(d),
            Err(_) => UntilArg::At(instant(u, "--until").map_err(|_| {
                format!("--until \"{u}\" is neither an instant (2026-01-05T09:00:00Z) nor a duration (30d, 3bd)")
            })?),
        }),
    };
    let window = match &args.window {
        None => None,
        Some(w) => match crate::time::Duration::parse(w) {
            Ok(d) if d.business_days == 0 => Some(d.seconds),
            _ => {
                return Err(format!(
                    "--window \"{w}\" is not a duration in fixed units (0m, 30m, 1h, 1d)"
                ))
            }
        },
    };
    if window.is_some() && clock == ClockKind::Wall {
        return Err(
            "--window needs --clock virtual (on the wall clock every runner works at its now)"
                .into(),
        );
    }
    let listen = args.listen.clone().or(cfg.listen.clone());
    if listen.is_some() && clock == ClockKind::Virtual {
        return Err("--listen needs the wall clock (a virtual run exits when it is done)".into());
    }
    let imap_urls: Vec<String> = if args.imap.is_empty() {
        cfg.imap.clone().unwrap_or_default()
    } else {
        args.imap
            .iter()
            .filter(|u| !u.is_empty())
            .cloned()
            .collect()
    };
    let imap = imap_urls
        .iter()
        .map(|u| runner::mailbox::MailboxUrl::parse(u))
        .collect::<Result<Vec<_>, _>>()?;
    if !imap.is_empty() && clock == ClockKind::Virtual {
        return Err("--imap reads real mailboxes: it needs the wall clock".into());
    }
    if until.is_some() && clock == ClockKind::Wall {
        return Err("--until needs --clock virtual (the wall clock runs until stopped)".into());
    }
    let dur =
        |flag: &Option<String>, cfg: &Option<String>, what: &str, default: Duration| match flag
            .as_ref()
            .or(cfg.as_ref())
        {
            Some(s) => std_duration(s, what),
            None => Ok(default),
        };
    Ok(Options {
        db,
        contacts: args.contacts.clone(),
        events: args.events.clone(),
        clock,
        start,
        until,
        smtp: args.smtp.clone().or(cfg.smtp.clone()),
        public_url: args
            .public_url
            .clone()
            .or(cfg.public_url.clone())
            .unwrap_or_else(|| "http://127.0.0.1:8080".into()),
        default_from: args
            .from
            .clone()
            .or(cfg.from.clone())
            .unwrap_or_else(|| "cadence@localhost".into()),
        pool: args.smtp_pool.or(cfg.smtp_pool).unwrap_or(16),
        smtp_timeout: dur(
            &args.smtp_timeout,
            &cfg.smtp_timeout,
            "--smtp-timeout",
            Duration::from_secs(30),
        )?,
        backoff: dur(
            &args.retry_after,
            &cfg.retry_after,
            "--retry-after",
            Duration::from_secs(60),
        )?,
        max_attempts: args.max_attempts.or(cfg.max_attempts).unwrap_or(12).max(1),
        batch: args.batch,
        read_ahead: args.read_ahead,
        // How often the inbox is read while nothing is due (PostgreSQL also wakes the runner
        // when inputs are queued).
        poll: Duration::from_millis(
            std::env::var("CADENCE_POLL_MS")
                .ok()
                .and_then(|v| v.parse().ok())
                .filter(|ms| *ms > 0)
                .unwrap_or(500),
        ),
        listen,
        reload: Some(reload_check(args.files.clone())),
        imap,
        imap_poll: dur(
            &args.imap_poll,
            &cfg.imap_poll,
            "--imap-poll",
            Duration::from_secs(30),
        )?
        .max(Duration::from_millis(100)),
        partitions: args.partitions,
        window,
    })
}

/// On SIGHUP: the files are read and checked again, and deploying them must strand nobody.
fn reload_check(files: Vec<String>) -> std::sync::Arc<runner::ReloadCheck> {
    std::sync::Arc::new(move |store| {
        let loaded = load_checked(&files, "reloading")
            .map_err(|_| "the files do not check (their errors are above)".to_string())?;
        if loaded.program.cadences.is_empty() {
            return Err("the files hold no cadence".into());
        }
        let stranded = runner::program::stranded(store, &loaded.program)?;
        if !stranded.is_empty() {
            return Err(stranded.join("; "));
        }
        Ok(())
    })
}

/// Starts `cadence run` again, in this process, with the same arguments: the files are read
/// again and deployed, as at any start (the database holds everything else).
fn start_again() -> Status {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // The running program's own file, even when a newer binary has replaced it on disk
        // (then `current_exe` names a deleted path).
        let proc_exe = std::path::Path::new("/proc/self/exe");
        let exe = if proc_exe.exists() {
            Ok(proc_exe.to_path_buf())
        } else {
            std::env::current_exe()
        };
        let exe = match exe {
            Ok(e) => e,
            Err(e) => {
                eprintln!("error: cannot start again after SIGHUP: {e}");
                return Status::Failure;
            }
        };
        eprintln!("reloading: starting again with the files as they are now");
        let e = std::process::Command::new(exe)
            .args(std::env::args_os().skip(1))
            .exec();
        eprintln!("error: cannot start again after SIGHUP: {e}");
    }
    Status::Failure
}

/// The format of the runner's log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Logs `tracing` events to standard error: in text, warnings and errors (beside the run's own
/// messages); in JSON, also every request and the runner's start and stop.
fn init_log(format: LogFormat) {
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = match format {
        LogFormat::Text => builder
            .with_max_level(tracing::Level::WARN)
            .with_ansi(false)
            .try_init(),
        LogFormat::Json => builder
            .with_max_level(tracing::Level::INFO)
            .json()
            .flatten_event(true)
            .try_init(),
    };
}

pub(crate) fn run(args: Args) -> Status {
    // First: a SIGHUP or SIGTERM during the start (a reload that follows another) must not
    // kill the process.
    runner::stop_on_signals();
    init_log(args.log_format);
    let opts = match options(&args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return Status::Failure;
        }
    };
    let loaded = match load_checked(&args.files, "running") {
        Ok(l) => l,
        Err(status) => return status,
    };
    if loaded.program.cadences.is_empty() {
        eprintln!(
            "error: no cadence to run: the files given hold only templates, fields and events"
        );
        return Status::Failure;
    }
    let given: Vec<_> = loaded.files.iter().map(|(id, _)| *id).collect();
    match &opts.smtp {
        Some(url) => eprintln!("sending email through {}", redact_url(url)),
        None => eprintln!(
            "no --smtp: emails stay in the outbox (`cadence outbox --db {}` lists them)",
            crate::store::live::shown(&opts.db)
        ),
    }
    for m in &opts.imap {
        eprintln!("reading replies from {} (IMAP)", m.name());
    }
    if opts.clock == ClockKind::Wall {
        eprintln!(
            "running on the wall clock; Ctrl-C (or SIGTERM) stops after the transaction in hand"
        );
    }
    let report = match runner::run(&opts, &loaded.sources, &given, loaded.program) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return match e {
                RunError::Store(_) | RunError::Other(_) => Status::Failure,
            };
        }
    };
    for w in &report.warnings {
        eprintln!("{w}");
    }
    for (file, b) in &report.bad {
        eprintln!(
            "{file}:{}: {}",
            b.line,
            crate::diagnostic::printable(&b.message)
        );
    }
    for (file, line) in report.before_start.iter().take(super::input::MAX_NOTES) {
        eprintln!(
            "{file}:{line}: note: the event is before the database's start {}; it is not applied",
            format_instant(report.start)
        );
    }
    if report.before_start.len() > super::input::MAX_NOTES {
        eprintln!(
            "note: {} more events are before the database's start (not shown; none of them is applied)",
            report.before_start.len() - super::input::MAX_NOTES
        );
    }
    for (origin, note) in &report.stats.notices {
        eprintln!("{origin}: note: {}", crate::diagnostic::printable(note));
    }
    let s = &report.stats;
    if s.notices_total > s.notices.len() {
        eprintln!(
            "note: {} more notes about inputs that changed nothing are not shown",
            s.notices_total - s.notices.len()
        );
    }
    if let Some(h) = report.horizon {
        eprintln!(
            "warning: stopped at {} with timers still pending: a cadence loops with a delay; pass --until to choose the end",
            format_instant(h)
        );
    }
    let outbox: Vec<String> = report
        .outbox
        .iter()
        .map(|(state, n)| format!("{n} {state}"))
        .collect();
    if report.migrated > 0 {
        eprintln!(
            "deployed: {} moved into the new version by `migrate`",
            plural(report.migrated, "contact")
        );
    }
    eprintln!(
        "ran {} over {}: {} queued ({} already known), {} applied, {} fired, {}; {} created, {} for reps; clock at {}{}",
        plural(report.cadences, "cadence"),
        plural(report.contacts as usize, "contact"),
        plural(report.queued, "input"),
        report.already_queued,
        plural(s.inputs, "input"),
        plural(s.timers, "timer"),
        plural(s.records, "record"),
        plural(s.emails, "email"),
        if s.tasks == 1 {
            "1 call or task".to_string()
        } else {
            format!("{} calls and tasks", s.tasks)
        },
        format_instant(report.clock),
        if outbox.is_empty() {
            String::new()
        } else {
            format!("; outbox: {}", outbox.join(", "))
        }
    );
    if report.relay.sent + report.relay.bounced + report.relay.retried + report.relay.failed > 0 {
        eprintln!(
            "smtp: {} sent, {} bounced, {} to retry, {} given up",
            report.relay.sent, report.relay.bounced, report.relay.retried, report.relay.failed
        );
    }
    if let Some([read, queued, unmatched]) = report.mail {
        eprintln!(
            "mail: {} read, {} queued, {unmatched} matched to no contact (`cadence mail --db {} --unmatched`)",
            plural(read, "message"),
            plural(queued, "event"),
            crate::store::live::shown(&opts.db)
        );
    }
    if std::env::var_os("CADENCE_TIMINGS").is_some() {
        eprintln!(
            "timing: {} batches: {:.2} s in all; read next {:.2} s, load contacts {:.2} s, encode {:.2} s, commit {:.2} s; ingest {:.2} s",
            s.batches, s.time_total, s.time_read, s.time_load, s.time_encode, s.time_commit, report.ingest_seconds
        );
        if !report.claim_ms.is_empty() {
            let mut ms = report.claim_ms.clone();
            ms.sort_unstable();
            let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
            eprintln!(
                "timing: {} claims of a partition; from the clock reaching its work to its last commit: p50 {} ms, p99 {} ms, max {} ms",
                ms.len(),
                at(0.5),
                at(0.99),
                ms[ms.len() - 1]
            );
        }
    }
    if report.reload {
        return start_again();
    }
    if report.bad.is_empty() {
        Status::Clean
    } else {
        eprintln!("{} skipped", plural(report.bad.len(), "bad row"));
        Status::Findings
    }
}
