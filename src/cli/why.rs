//! `cadence why CONTACT (TRACE.jsonl FILES... | --db DB [FILES...]) [--cadence NAME] [--step N]`:
//! each decision about one contact in words, with the rule and the line that caused it.

use std::path::PathBuf;

use super::input::load_checked;
use super::Status;
use crate::report::why::{why, Sourced};
use crate::report::{read_trace, TraceRecord};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The contact's id
    #[arg(value_name = "CONTACT")]
    contact: String,
    /// A trace (the JSON lines of `cadence simulate --format jsonl`), then the cadence files it
    /// came from. With --db, the cadence files only (default: the ones the database runs)
    #[arg(value_name = "TRACE.jsonl FILES")]
    paths: Vec<String>,
    /// Read the journal of this `cadence run` database instead of a trace file
    #[arg(long, value_name = "DB")]
    db: Option<PathBuf>,
    /// Only this cadence (display name)
    #[arg(long, value_name = "NAME")]
    cadence: Option<String>,
    /// Only the decisions about this step
    #[arg(long, value_name = "N")]
    step: Option<u32>,
}

pub(crate) fn run(args: Args) -> Status {
    let (records, bad, files) = match &args.db {
        Some(db) => {
            let mut store = match super::live::open_db(db) {
                Ok(s) => s,
                Err(s) => return s,
            };
            let mut jsonl = Vec::new();
            if let Err(e) = crate::runner::journal::write_trace(
                &mut *store,
                crate::sim::TraceFormat::Jsonl,
                &mut jsonl,
            ) {
                eprintln!("error: {e}");
                return Status::Failure;
            }
            let (records, bad) = read_trace(jsonl.as_slice());
            if args.paths.is_empty() {
                // The cadences the database runs, with their texts as they were deployed.
                let (mut sources, given) =
                    match crate::runner::program::deployed_sources(&mut *store) {
                        Ok(x) => x,
                        Err(e) => {
                            eprintln!("error: {e}");
                            return Status::Failure;
                        }
                    };
                let checked = crate::check::check(&mut sources, &given);
                let Some(program) = checked.program else {
                    eprintln!("error: the cadences stored in the database do not check any more; give the files");
                    return Status::Failure;
                };
                return explain(&args, &records, bad, &program, &sources, &checked.files);
            }
            (records, bad, args.paths.clone())
        }
        None => {
            let Some((trace, files)) = args.paths.split_first() else {
                eprintln!("error: give a trace file and the cadence files it came from (TRACE.jsonl FILES...), or a database with --db DB");
                return Status::Failure;
            };
            if files.is_empty() {
                eprintln!("error: give the cadence files after the trace: the explanation quotes their lines (cadence why {} {trace} CADENCE.cadence)", args.contact);
                return Status::Failure;
            }
            let file = match super::open_input(std::path::Path::new(trace)) {
                Ok(f) => f,
                Err(e) => {
                    eprintln!(
                        "error: cannot read `{trace}`: {}",
                        crate::diagnostic::io_reason(&e)
                    );
                    return Status::Failure;
                }
            };
            let (records, bad) = read_trace(std::io::BufReader::new(file));
            for (line, msg) in &bad {
                eprintln!("{trace}:{line}: {msg}");
            }
            (records, bad, files.to_vec())
        }
    };
    let loaded = match load_checked(&files, "explaining") {
        Ok(l) => l,
        Err(s) => return s,
    };
    explain(
        &args,
        &records,
        bad,
        &loaded.program,
        &loaded.sources,
        &loaded.files,
    )
}

fn explain(
    args: &Args,
    records: &[TraceRecord],
    bad: Vec<(u64, String)>,
    program: &crate::check::Program,
    sources: &crate::syntax::Sources,
    files: &[(crate::syntax::FileId, crate::syntax::ast::File)],
) -> Status {
    if let Some(name) = &args.cadence {
        if program.cadence_by_name(name).is_none() {
            let names: Vec<&str> = program.cadences.iter().map(|c| c.name.as_str()).collect();
            eprintln!(
                "error: no cadence \"{name}\" in the files (they define: {})",
                names.join(", ")
            );
            return Status::Failure;
        }
    }
    let src = Sourced {
        program,
        sources,
        files,
    };
    let name = args
        .cadence
        .as_ref()
        .and_then(|n| program.cadence_by_name(n))
        .map(|i| program.cadences[i].name.clone());
    match why(&args.contact, records, &src, name.as_deref(), args.step) {
        Ok(text) => {
            print!("{text}");
            if bad.is_empty() {
                Status::Clean
            } else {
                Status::Findings
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            Status::Failure
        }
    }
}
