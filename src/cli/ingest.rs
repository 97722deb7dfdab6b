//! `cadence ingest --db DB FILE.csv`: queues the rows of an events file (`at,contact,event,...`)
//! or a contacts file (`id,...`) for a running instance. Each row is queued once, however often
//! the file is given.

use std::path::PathBuf;

use super::input::{open_input, plural};
use super::live::{instant, open_live};
use super::Status;
use crate::runner::program::LiveProgram;
use crate::runner::{ingest, wall_now};
use crate::store::live::LiveStore;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// An events file (header `at,contact,event`) or a contacts file (header with `id`)
    #[arg(value_name = "FILE.csv")]
    file: PathBuf,
    /// The database of `cadence run`
    #[arg(long, value_name = "DB", env = "CADENCE_DB", hide_env_values = true)]
    db: Option<PathBuf>,
    /// For a contacts file: when the changes happen (RFC 3339); default: now
    #[arg(long, value_name = "T")]
    at: Option<String>,
    /// A configuration file (default: the first cadence.toml here or in a parent folder)
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

pub(crate) fn run(args: Args) -> Status {
    let mut store = match open_live(args.db.clone(), args.config.as_deref()) {
        Ok(s) => s,
        Err(s) => return s,
    };
    match ingest_file(&mut *store, &args) {
        Ok(status) => status,
        Err(e) => {
            eprintln!("error: {e}");
            Status::Failure
        }
    }
}

fn ingest_file(store: &mut dyn LiveStore, args: &Args) -> Result<Status, String> {
    let name = args.file.display().to_string();
    let read_err =
        |e: std::io::Error| format!("cannot read `{name}`: {}", crate::diagnostic::io_reason(&e));
    let text =
        std::io::read_to_string(open_input(&args.file).map_err(read_err)?).map_err(read_err)?;
    let header = text.lines().next().unwrap_or("").to_ascii_lowercase();
    let cols: Vec<&str> = header.split(',').map(str::trim).collect();
    let lp = LiveProgram::from_store(store)?;
    let catalog = crate::engine::Catalog::new(&lp.program);
    let start = store
        .meta("start")
        .map_err(|e| e.to_string())?
        .and_then(|s| s.parse::<i64>().ok());
    let read = if cols.contains(&"event") {
        let known = store.contact_ids().map_err(|e| e.to_string())?;
        ingest::events(text.as_bytes(), &name, &lp.program, &catalog, &known, start)?
    } else if cols.contains(&"id") {
        let at = match &args.at {
            Some(t) => instant(t, "--at")?,
            None => wall_now(),
        };
        ingest::contacts(text.as_bytes(), &name, &catalog, at)?
    } else {
        return Err(format!(
            "`{name}` is neither an events file (header `at,contact,event,...`) nor a contacts file (header with an `id` column)"
        ));
    };
    for w in &read.warnings {
        eprintln!("{name}: warning: {w}");
    }
    for b in &read.bad {
        eprintln!(
            "{name}:{}: {}",
            b.line,
            crate::diagnostic::printable(&b.message)
        );
    }
    for l in read.before_start.iter().take(super::input::MAX_NOTES) {
        eprintln!("{name}:{l}: note: the event is before the database's start; it is not applied");
    }
    if read.before_start.len() > super::input::MAX_NOTES {
        eprintln!(
            "note: {} more events are before the database's start (not shown; none of them is applied)",
            read.before_start.len() - super::input::MAX_NOTES
        );
    }
    let mut new = 0;
    let mut known = 0;
    for chunk in read.inputs.chunks(5_000) {
        for n in store
            .enqueue(chunk, wall_now())
            .map_err(|e| e.to_string())?
        {
            if n {
                new += 1;
            } else {
                known += 1;
            }
        }
    }
    eprintln!(
        "queued {} ({} already queued before){}",
        plural(new, "input"),
        known,
        if read.bad.is_empty() {
            String::new()
        } else {
            format!(", {} skipped", plural(read.bad.len(), "bad row"))
        }
    );
    Ok(if read.bad.is_empty() {
        Status::Clean
    } else {
        Status::Findings
    })
}
