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
    /// Number of contacts
    #[arg(long, default_value_t = 100_000)]
    contacts: usize,
    /// Number of events
    #[arg(long, default_value_t = 300_000)]
    events: usize,
    /// Seed of the generator (the same seed gives the same files)
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

pub(crate) fn run(args: Args) -> Status {
    let write = |name: &str, text: &str| -> Result<(), String> {
        let path = args.dir.join(name);
        std::fs::write(&path, text).map_err(|e| format!("cannot write `{}`: {e}", path.display()))
    };
    let result = std::fs::create_dir_all(&args.dir)
        .map_err(|e| format!("cannot create `{}`: {e}", args.dir.display()))
        .and_then(|_| write("trial.cadence", workload::CADENCE))
        .and_then(|_| write("contacts.csv", &workload::contacts_csv(args.contacts)))
        .and_then(|_| {
            let events = workload::events(args.contacts, args.events, args.seed);
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
