//! `cadence trace --db DB [--format text|jsonl]`: the journal of a live database, in
//! `simulate`'s formats.

use std::path::PathBuf;

use super::live::open_live;
use super::simulate::Format;
use super::Status;
use crate::runner::journal::write_trace;
use crate::sim::TraceFormat;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The database of `cadence run`
    #[arg(long, value_name = "DB", env = "CADENCE_DB", hide_env_values = true)]
    db: Option<PathBuf>,
    /// Trace format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// A configuration file (default: the first cadence.toml here or in a parent folder)
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

pub(crate) fn run(args: Args) -> Status {
    let mut store = match open_live(args.db, args.config.as_deref()) {
        Ok(s) => s,
        Err(s) => return s,
    };
    let format = match args.format {
        Format::Text => TraceFormat::Text,
        Format::Jsonl => TraceFormat::Jsonl,
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    match write_trace(&mut *store, format, &mut out) {
        Ok(_) => Status::Clean,
        Err(e) => {
            eprintln!("error: {e}");
            Status::Failure
        }
    }
}
