//! `cadence simulate FILES... --contacts C.csv [--events E.csv] [--start T] [--until T|D]
//! [--format text|jsonl]`

use std::io::{BufWriter, IsTerminal, Write};
use std::path::PathBuf;

use super::input::{load_checked, open_input, plural};
use super::Status;
use crate::check::DateValue;
use crate::diagnostic::io_reason;
use crate::engine::format_instant;
use crate::sim::{self, read_contacts_into, read_events, TraceFormat, Until};
use crate::store::{ContactStore, MemoryStore, SqliteStore};
use crate::time::{parse_date, Duration};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum Format {
    /// A readable timeline
    #[default]
    Text,
    /// One JSON object per line: at, contact, cadence, kind, ...
    Jsonl,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Cadence files (with the library files they use)
    #[arg(required = true, value_name = "FILES")]
    files: Vec<String>,
    /// Contacts: a header row with an `id` column and one column per field
    #[arg(long, value_name = "C.csv")]
    contacts: PathBuf,
    /// Inputs: `at,contact,event` plus optional `step,field,value,cadence` columns
    #[arg(long, value_name = "E.csv")]
    events: Option<PathBuf>,
    /// Start of the virtual clock (RFC 3339); default: the earliest event, or now
    #[arg(long, value_name = "T")]
    start: Option<String>,
    /// Stop at an instant, or a duration after the start (`30d`); default: when no timer is left
    #[arg(long, value_name = "T|D")]
    until: Option<String>,
    /// Trace format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Keep the contacts in this SQLite file instead of in memory (field changes are written back)
    #[arg(long, value_name = "FILE")]
    db: Option<PathBuf>,
    /// Deploy a new version of a cadence at an instant, as `cadence deploy` does: `T=FILE`
    /// (FILE takes the place of the file with the same cadence; its `migrate` block moves the
    /// contacts in flight). May be given several times
    #[arg(long, value_name = "T=FILE")]
    deploy: Vec<String>,
}

fn instant(text: &str, what: &str) -> Result<i64, String> {
    match parse_date(text) {
        Ok(DateValue::Instant(t)) => Ok(t.timestamp()),
        Ok(DateValue::Day(d)) => Ok(d
            .and_hms_opt(0, 0, 0)
            .map(|d| d.and_utc().timestamp())
            .unwrap_or(0)),
        Err(_) => Err(format!(
            "{what} \"{text}\" is not an instant like 2026-01-05T09:00:00Z"
        )),
    }
}

/// Prints how long each phase took when `CADENCE_TIMINGS` is set (for docs/performance.md).
struct Timings {
    on: bool,
    last: std::time::Instant,
}

impl Timings {
    fn lap(&mut self, what: &str) {
        if self.on {
            eprintln!("timing: {what}: {:.3} s", self.last.elapsed().as_secs_f64());
            self.last = std::time::Instant::now();
        }
    }
}

pub(crate) fn run(args: Args) -> Status {
    let mut timings = Timings {
        on: std::env::var_os("CADENCE_TIMINGS").is_some(),
        last: std::time::Instant::now(),
    };
    let (program, hashes) = match load_checked(&args.files, "simulating") {
        Ok(l) => {
            let h = crate::runner::program::cadence_hashes(&l.sources, &l.program);
            (l.program, h)
        }
        Err(status) => return status,
    };
    // The versions to deploy, in time order, each checked with the other files.
    let mut asked: Vec<(i64, &str)> = Vec::new();
    for d in &args.deploy {
        let Some((t, file)) = d.split_once('=') else {
            eprintln!("error: --deploy \"{d}\" is not T=FILE, like 2026-03-01T09:00:00Z=cadences/trial_v2.cadence");
            return Status::Failure;
        };
        match instant(t, "--deploy") {
            Ok(at) => asked.push((at, file)),
            Err(e) => {
                eprintln!("error: {e}");
                return Status::Failure;
            }
        }
    }
    asked.sort_by_key(|a| a.0);
    let mut deploys: Vec<sim::Deployment> = Vec::new();
    let mut deploy_paths = args.files.clone();
    for (at, file) in asked {
        let base = deploys.last().map_or(&program, |d| d.program);
        deploy_paths = match crate::cli::input::with_new_version(&deploy_paths, base, file) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("error: {e}");
                return Status::Failure;
            }
        };
        match load_checked(&deploy_paths, "deploying them") {
            Ok(l) => {
                let hashes = crate::runner::program::cadence_hashes(&l.sources, &l.program);
                deploys.push(sim::Deployment {
                    at,
                    program: Box::leak(Box::new(l.program)),
                    hashes,
                });
            }
            Err(status) => return status,
        }
    }
    // Events are read against the last version given (a field or event it adds is known),
    // and named again for the version running when each applies.
    let read_with: Option<&crate::check::Program> = deploys.last().map(|d| d.program);
    let read_catalog = read_with.map(crate::engine::Catalog::new);
    if program.cadences.is_empty() {
        eprintln!(
            "error: no cadence to simulate: the files given hold only templates, fields and events"
        );
        return Status::Failure;
    }
    let catalog = crate::engine::Catalog::new(&program);
    let cname = args.contacts.display().to_string();

    // Contacts, streamed into the store.
    let mut store: Box<dyn ContactStore> = match &args.db {
        Some(path) => match SqliteStore::open(path) {
            Ok(s) => Box::new(s),
            Err(e) => {
                eprintln!("error: cannot open `{}`: {e}", path.display());
                return Status::Failure;
            }
        },
        None => Box::new(MemoryStore::new()),
    };
    let file = match open_input(&args.contacts) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: cannot read `{cname}`: {}", io_reason(&e));
            return Status::Failure;
        }
    };
    // With --db, the file may hold contacts of earlier runs: only those of this file run.
    let mut given: std::collections::HashSet<String> = std::collections::HashSet::new();
    let keep_ids = args.db.is_some();
    let mut sink = |_, rec: crate::store::ContactRecord| {
        if keep_ids {
            given.insert(rec.id.clone());
        }
        store.upsert(rec).map_err(|e| format!("contact store: {e}"))
    };
    let loaded = match read_contacts_into(std::io::BufReader::new(file), &catalog, &mut sink) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {cname}: {e}");
            return Status::Failure;
        }
    };
    let mut bad_rows = loaded.bad.len();
    for w in &loaded.warnings {
        eprintln!("{cname}: warning: {w}");
    }
    for b in &loaded.bad {
        eprintln!(
            "{cname}:{}: {}",
            b.line,
            crate::diagnostic::printable(&b.message)
        );
    }
    timings.lap("check and read contacts");
    let only = keep_ids.then_some(&given);
    let mut engine = match sim::load_engine_of(&program, store.as_ref(), only) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: contact store: {e}");
            return Status::Failure;
        }
    };

    timings.lap("load the engine");
    // Events.
    let mut events = Vec::new();
    let mut ename = String::new();
    if let Some(path) = &args.events {
        ename = path.display().to_string();
        let file = match open_input(path) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("error: cannot read `{ename}`: {}", io_reason(&e));
                return Status::Failure;
            }
        };
        let lookup = |id: &str| engine.contact_id(id);
        let (read_program, read_cat) = match (read_with, &read_catalog) {
            (Some(p), Some(c)) => (p, c),
            _ => (&program, &catalog),
        };
        match read_events(
            std::io::BufReader::new(file),
            read_program,
            read_cat,
            &lookup,
        ) {
            Ok((rows, bad)) => {
                bad_rows += bad.len();
                for b in &bad {
                    eprintln!(
                        "{ename}:{}: {}",
                        b.line,
                        crate::diagnostic::printable(&b.message)
                    );
                }
                events = rows;
            }
            Err(e) => {
                eprintln!("error: {ename}: {e}");
                return Status::Failure;
            }
        }
    }

    timings.lap("read events");
    // Clock.
    let start = match &args.start {
        Some(s) => match instant(s, "--start") {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: {e}");
                return Status::Failure;
            }
        },
        None => events
            .iter()
            .map(|e| e.at)
            .min()
            .unwrap_or_else(|| chrono::Utc::now().timestamp()),
    };
    let before: Vec<_> = events
        .iter()
        .filter(|e| e.at < start)
        .map(|e| e.line)
        .collect();
    if !before.is_empty() {
        for line in before.iter().take(super::input::MAX_NOTES) {
            eprintln!(
                "{ename}:{line}: note: the event is before --start {}; it is not applied",
                format_instant(start)
            );
        }
        if before.len() > super::input::MAX_NOTES {
            eprintln!(
                "note: {} more events are before --start (not shown; none of them is applied)",
                before.len() - super::input::MAX_NOTES
            );
        }
        events.retain(|e| e.at >= start);
    }
    let until = match &args.until {
        None => Until::Idle,
        Some(u) => match Duration::parse(u) {
            Ok(d) => {
                // Business days count in the first cadence's zone (UTC for a per-contact zone).
                let first = &program.cadences[0];
                let tz = match first.zone {
                    crate::check::Zone::Fixed(tz) => tz,
                    _ => chrono_tz::Tz::UTC,
                };
                Until::At(crate::engine::calendar::add(start, d, tz, &first.holidays))
            }
            Err(_) => match instant(u, "--until") {
                Ok(t) => Until::At(t),
                Err(_) => {
                    eprintln!("error: --until \"{u}\" is neither an instant (2026-01-05T09:00:00Z) nor a duration (30d, 3bd)");
                    return Status::Failure;
                }
            },
        },
    };
    if let Until::At(u) = until {
        if u < start {
            eprintln!(
                "error: --until {} is before the start {}",
                format_instant(u),
                format_instant(start)
            );
            return Status::Failure;
        }
    }

    let bar = (std::io::stderr().is_terminal() && events.len() >= 10_000).then(|| {
        let b = indicatif::ProgressBar::new(events.len() as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} simulating [{bar:30}] {pos}/{len} events ({eta} left)",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        b
    });
    let mut progress = |n: usize| {
        if let Some(b) = &bar {
            b.set_position(n as u64);
        }
    };
    let format = match args.format {
        Format::Text => TraceFormat::Text,
        Format::Jsonl => TraceFormat::Jsonl,
    };
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let result = sim::run_with_deploys(
        &mut engine,
        store.as_mut(),
        &events,
        read_with,
        &deploys,
        &hashes,
        start,
        until,
        format,
        &mut out,
        &mut progress,
    );
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    timings.lap("simulate and write the trace");
    let summary = match result.and_then(|s| out.flush().map(|_| s).map_err(|e| e.to_string())) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return Status::Failure;
        }
    };
    for (line, note) in &summary.notices {
        eprintln!(
            "{ename}:{line}: note: {}",
            crate::diagnostic::printable(note)
        );
    }
    if summary.notices_total > summary.notices.len() {
        eprintln!(
            "note: {} more notes about inputs that changed nothing are not shown",
            summary.notices_total - summary.notices.len()
        );
    }
    if summary.inputs_after_until > 0 {
        eprintln!(
            "note: {} after --until were not applied",
            plural(summary.inputs_after_until, "event")
        );
    }
    if let Some(h) = summary.stopped_at_horizon {
        eprintln!(
            "warning: stopped at {} with timers still pending: a cadence loops with a delay; pass --until to choose the end",
            format_instant(h)
        );
    }
    for r in &summary.refused {
        eprintln!("warning: {r}");
    }
    if summary.migrated > 0 {
        eprintln!(
            "deployed: {} moved into new versions by `migrate`",
            plural(summary.migrated, "contact")
        );
    }
    eprintln!(
        "simulated {} and {} from {} to {}: {}{}",
        plural(engine.contacts().len(), "contact"),
        plural(summary.inputs_applied, "event"),
        format_instant(start),
        format_instant(summary.end),
        plural(summary.records, "record"),
        if bad_rows > 0 {
            format!(", {} skipped", plural(bad_rows, "bad row"))
        } else {
            String::new()
        }
    );
    if bad_rows > 0 {
        Status::Findings
    } else {
        Status::Clean
    }
}
