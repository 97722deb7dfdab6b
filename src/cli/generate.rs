//! `cadence generate DIR [--contacts N] [--events M] [--seed S]`: a large workload for load
//! tests and benchmarks.

use std::path::PathBuf;

use super::Status;
use crate::sim::workload;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Folder to write `trial.cadence`, `contacts.csv` and `events.csv` into (created if missing)
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// Number of contacts (at most 10,000,000)
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(0..=MAX_ROWS))]
    contacts: u64,
    /// Number of events (at most 10,000,000)
    #[arg(long, default_value_t = 300_000, value_parser = clap::value_parser!(u64).range(0..=MAX_ROWS))]
    events: u64,
    /// Seed of the generator (the same seed gives the same files)
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Replace the files when they exist
    #[arg(long)]
    force: bool,
}

/// The most contacts or events one run writes (each file is built in memory: about 40 bytes a
/// row).
const MAX_ROWS: u64 = 10_000_000;

const FILES: [&str; 3] = ["trial.cadence", "contacts.csv", "events.csv"];

pub(crate) fn run(args: Args) -> Status {
    if !args.force {
        if let Some(f) = FILES.iter().map(|f| args.dir.join(f)).find(|p| p.exists()) {
            eprintln!(
                "error: `{}` exists; give --force to replace the generated files, or another folder",
                f.display()
            );
            return Status::Failure;
        }
    }
    let (contacts, events) = (args.contacts as usize, args.events as usize);
    let write = |name: &str, text: &str| -> Result<(), String> {
        let path = args.dir.join(name);
        std::fs::write(&path, text).map_err(|e| format!("cannot write `{}`: {e}", path.display()))
    };
    let result = std::fs::create_dir_all(&args.dir)
        .map_err(|e| format!("cannot create `{}`: {e}", args.dir.display()))
        .and_then(|_| write("trial.cadence", workload::CADENCE))
        .and_then(|_| write("contacts.csv", &workload::contacts_csv(contacts)))
        .and_then(|_| {
            let events = workload::events(contacts, events, args.seed);
            write("events.csv", &workload::events_csv(&events))
        });
    match result {
        Ok(()) => {
            eprintln!(
                "wrote {0}/trial.cadence, {0}/contacts.csv ({1} contacts) and {0}/events.csv ({2} events)",
                args.dir.display(),
                args.contacts,
                args.events
            );
            Status::Clean
        }
        Err(e) => {
            eprintln!("error: {e}");
            Status::Failure
        }
    }
}
