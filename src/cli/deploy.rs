//! `cadence deploy --db DB FILES...`: makes the files the running version of their cadences,
//! and applies their `migrate` blocks to the contacts in flight.

use std::path::PathBuf;

use super::input::read_sources;
use super::Status;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The cadence files (and the libraries they use)
    #[arg(value_name = "FILES", required = true)]
    files: Vec<String>,
    /// The database of `cadence run`
    #[arg(long, value_name = "DB", env = "CADENCE_DB", hide_env_values = true)]
    db: PathBuf,
}

pub(crate) fn run(args: Args) -> Status {
    let Some((mut sources, ids)) = read_sources(&args.files) else {
        return Status::Failure;
    };
    let checked = crate::check::check(&mut sources, &ids);
    let program = match checked.program {
        Some(p) if !checked.has_errors() => p,
        _ => {
            eprint!(
                "{}",
                super::input::render_capped(
                    &checked.diagnostics,
                    &sources,
                    super::input::stderr_style()
                )
            );
            eprintln!("error: the files have errors; fix them before deploying");
            return Status::Findings;
        }
    };
    match crate::runner::deploy(&args.db, &sources, &ids, program) {
        Ok(d) => {
            eprintln!(
                "deployed {} to {}: {} moved into the new version by `migrate`",
                match d.cadences {
                    1 => "1 cadence".to_string(),
                    n => format!("{n} cadences"),
                },
                crate::store::live::shown(&args.db),
                match d.migrated {
                    1 => "1 contact".to_string(),
                    n => format!("{n} contacts"),
                }
            );
            Status::Clean
        }
        Err(e) => {
            eprintln!("error: {e}");
            Status::Failure
        }
    }
}
