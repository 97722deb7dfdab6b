//! `cadence report TRACE.jsonl [FILES...] [--format text|json|html] [--out FILE]` and
//! `cadence timeline ID TRACE.jsonl [FILES...]`; with `--db DB` instead of a trace file, both
//! read the journal of a live database (and, without FILES, the cadences it runs).

use std::path::{Path, PathBuf};

use super::input::load_checked;
use super::Status;
use crate::check::Program;
use crate::report::{html, read_trace, report, text, timeline, TraceRecord};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
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
    /// A trace (the JSON lines of `cadence simulate --format jsonl`), then the cadence files
    /// (optional: they add the steps and branches nobody reached, and the flowchart). With
    /// --db, only the cadence files (default: the ones the database runs)
    #[arg(value_name = "TRACE.jsonl [FILES]")]
    paths: Vec<String>,
    /// Read the journal of this `cadence run` database instead of a trace file
    #[arg(long, value_name = "DB")]
    db: Option<PathBuf>,
    /// With --db: one funnel per version of each cadence (`Trial (version 2, 3f9a1c2b)`)
    /// instead of one per cadence
    #[arg(long, requires = "db")]
    by_version: bool,
    /// How to print the report [default: text, or `format` under [report] in cadence.toml]
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Write to this file instead of standard output
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// A configuration file (default: the first cadence.toml here or in a parent folder)
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct TimelineArgs {
    /// The record's id
    #[arg(value_name = "ID")]
    id: String,
    /// A trace (the JSON lines of `cadence simulate --format jsonl`), then the cadence files
    /// (optional: they tell what falls due next). With --db, only the cadence files (default:
    /// the ones the database runs)
    #[arg(value_name = "TRACE.jsonl [FILES]")]
    paths: Vec<String>,
    /// Read the journal of this `cadence run` database instead of a trace file
    #[arg(long, value_name = "DB")]
    db: Option<PathBuf>,
    /// With --db: name each enrolment's cadence by its version
    #[arg(long, requires = "db")]
    by_version: bool,
}

/// Where the records come from, and the name a report gives them.
fn source(db: &Option<PathBuf>, paths: &[String]) -> Result<(Source, Vec<String>), Status> {
    match db {
        Some(db) => Ok((Source::Db(db.clone()), paths.to_vec())),
        None => match paths.split_first() {
            Some((trace, files)) => Ok((Source::Trace(PathBuf::from(trace)), files.to_vec())),
            None => {
                eprintln!("error: give a trace file (TRACE.jsonl), or a database with --db DB");
                Err(Status::Failure)
            }
        },
    }
}

enum Source {
    Trace(PathBuf),
    Db(PathBuf),
}

impl Source {
    fn name(&self) -> String {
        if let Source::Db(p) = self {
            if let Some(url) = crate::store::live::postgres_url(p) {
                // The database's name, never the user or password before it.
                return url::Url::parse(url)
                    .ok()
                    .map(|u| u.path().trim_start_matches('/').to_string())
                    .filter(|n| !n.is_empty())
                    .unwrap_or_else(|| "postgres".into());
            }
        }
        let (Source::Trace(p) | Source::Db(p)) = self;
        p.file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default()
    }

    /// How messages name it (a URL without its password).
    fn shown(&self) -> String {
        crate::store::live::shown(self.path())
    }

    fn path(&self) -> &Path {
        let (Source::Trace(p) | Source::Db(p)) = self;
        p
    }
}

/// Reads the records (bad lines reported) and the optional program.
fn load(
    source: &Source,
    files: &[String],
    by_version: bool,
) -> Result<(Vec<TraceRecord>, Option<Program>, bool), Status> {
    let trace = match source {
        Source::Trace(p) => p,
        Source::Db(db) => return load_db(db, files, by_version),
    };
    let file = super::open_input(trace).map_err(|e| {
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

/// The journal of a live database as records, and the program: the files given, else the
/// cadences the database runs now (every version, each named by its version, with
/// `by_version`).
fn load_db(
    db: &Path,
    files: &[String],
    by_version: bool,
) -> Result<(Vec<TraceRecord>, Option<Program>, bool), Status> {
    let fail = |e: String| {
        eprintln!("error: {e}");
        Status::Failure
    };
    let mut store = super::live::open_db(db)?;
    let mut lp = crate::runner::program::LiveProgram::from_store(&mut *store).map_err(fail)?;
    if by_version {
        lp.name_by_version(&mut *store).map_err(fail)?;
    }
    let mut jsonl = Vec::new();
    crate::runner::journal::write_trace_with(
        &mut *store,
        &lp,
        crate::sim::TraceFormat::Jsonl,
        &mut jsonl,
        None,
    )
    .map_err(fail)?;
    let (records, bad) = read_trace(jsonl.as_slice());
    for (line, msg) in &bad {
        eprintln!(
            "{}: journal record {line}: {msg}",
            crate::store::live::shown(db)
        );
    }
    let program = if by_version {
        Some(lp.program)
    } else if files.is_empty() {
        let mut program = lp.program;
        let mut current = lp.current.iter();
        program.cadences.retain(|_| current.next() == Some(&true));
        Some(program)
    } else {
        Some(load_checked(files, "reporting")?.program)
    };
    Ok((records, program, !bad.is_empty()))
}

pub(crate) fn run(args: Args) -> Status {
    let (source, files) = match source(&args.db, &args.paths) {
        Ok(x) => x,
        Err(s) => return s,
    };
    let (records, program, bad) = match load(&source, &files, args.by_version) {
        Ok(x) => x,
        Err(s) => return s,
    };
    let r = report(&records, program.as_ref());
    let title = format!(
        "Cadence report: {}",
        r.title().unwrap_or_else(|| source.name().to_string())
    );
    let format = match args.format {
        Some(f) => f,
        None => match super::config::load_or_fail(args.config.as_deref()) {
            Ok(c) => c.file.report.format.unwrap_or_default(),
            Err(s) => return s,
        },
    };
    let output = match format {
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
    let (source, files) = match source(&args.db, &args.paths) {
        Ok(x) => x,
        Err(s) => return s,
    };
    let (records, program, bad) = match load(&source, &files, args.by_version) {
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
            eprintln!("error: `{}` does not appear in {}", args.id, source.shown());
            Status::Findings
        }
    }
}
