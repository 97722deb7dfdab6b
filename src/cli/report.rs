//! `cadence report TRACE.jsonl [FILES...] [--format text|json|html] [--out FILE]` and
//! `cadence timeline ID TRACE.jsonl [FILES...]`.

use std::path::PathBuf;

use super::input::load_checked;
use super::Status;
use crate::check::Program;
use crate::report::{html, read_trace, report, text, timeline, TraceRecord};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum Format {
    /// Aligned tables for the terminal
    #[default]
    Text,
    /// The same numbers as JSON
    Json,
    /// One self-contained page: funnel, step table, flowchart with counts
    Html,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A trace: the JSON lines of `cadence simulate --format jsonl`
    #[arg(value_name = "TRACE.jsonl")]
    trace: PathBuf,
    /// The cadence files (optional: they add the steps and branches nobody reached, and the flowchart)
    #[arg(value_name = "FILES")]
    files: Vec<String>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Write to this file instead of standard output
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct TimelineArgs {
    /// The record's id
    #[arg(value_name = "ID")]
    id: String,
    /// A trace: the JSON lines of `cadence simulate --format jsonl`
    #[arg(value_name = "TRACE.jsonl")]
    trace: PathBuf,
    /// The cadence files (optional: they tell what falls due next)
    #[arg(value_name = "FILES")]
    files: Vec<String>,
}

/// Reads the trace (bad lines reported) and the optional program.
fn load(
    trace: &PathBuf,
    files: &[String],
) -> Result<(Vec<TraceRecord>, Option<Program>, bool), Status> {
    let file = std::fs::File::open(trace).map_err(|e| {
        eprintln!(
            "error: cannot read `{}`: {}",
            trace.display(),
            crate::diagnostic::io_reason(&e)
        );
        Status::Failure
    })?;
    let (records, bad) = read_trace(std::io::BufReader::new(file));
    for (line, msg) in &bad {
        eprintln!("{}:{line}: {msg}", trace.display());
    }
    let program = if files.is_empty() {
        None
    } else {
        Some(load_checked(files, "reporting")?.program)
    };
    Ok((records, program, !bad.is_empty()))
}

pub(crate) fn run(args: Args) -> Status {
    let (records, program, bad) = match load(&args.trace, &args.files) {
        Ok(x) => x,
        Err(s) => return s,
    };
    let r = report(&records, program.as_ref());
    let title = format!(
        "Cadence report: {}",
        args.trace
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default()
    );
    let output = match args.format {
        Format::Text => text(&r),
        Format::Json => serde_json::to_string_pretty(&r).unwrap_or_default() + "\n",
        Format::Html => html::render(&r, program.as_ref(), &title),
    };
    match &args.out {
        Some(path) => {
            if let Err(e) = std::fs::write(path, output) {
                eprintln!("error: cannot write `{}`: {e}", path.display());
                return Status::Failure;
            }
            eprintln!("wrote {}", path.display());
        }
        None => print!("{output}"),
    }
    if bad {
        Status::Findings
    } else {
        Status::Clean
    }
}

pub(crate) fn run_timeline(args: TimelineArgs) -> Status {
    let (records, program, bad) = match load(&args.trace, &args.files) {
        Ok(x) => x,
        Err(s) => return s,
    };
    match timeline(&args.id, &records, program.as_ref()) {
        Some(t) => {
            print!("{t}");
            if bad {
                Status::Findings
            } else {
                Status::Clean
            }
        }
        None => {
            eprintln!(
                "error: `{}` does not appear in {}",
                args.id,
                args.trace.display()
            );
            Status::Findings
        }
    }
}
