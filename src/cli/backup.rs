//! `cadence backup --db DB OUT`: a consistent copy of a live database while it runs (SQLite's
//! online backup).

use std::path::PathBuf;

use super::live::{db_path, open_db};
use super::Status;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to write the copy (a new file)
    #[arg(value_name = "OUT")]
    out: PathBuf,
    /// The database of `cadence run`
    #[arg(long, value_name = "DB", env = "CADENCE_DB", hide_env_values = true)]
    db: Option<PathBuf>,
    /// A configuration file (default: the first cadence.toml here or in a parent folder)
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

pub(crate) fn run(args: Args) -> Status {
    let path = match db_path(args.db, args.config.as_deref()) {
        Ok(p) => p,
        Err(s) => return s,
    };
    if args.out.exists() {
        eprintln!(
            "error: `{}` exists; give the copy a new file name",
            args.out.display()
        );
        return Status::Failure;
    }
    let mut store = match open_db(&path) {
        Ok(s) => s,
        Err(s) => return s,
    };
    match store.backup(&args.out, &mut |_, _| {}) {
        Ok(()) => {
            eprintln!("copied `{}` to `{}`", path.display(), args.out.display());
            Status::Clean
        }
        Err(e) => {
            eprintln!("error: cannot copy to `{}`: {e}", args.out.display());
            Status::Failure
        }
    }
}
