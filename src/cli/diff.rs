//! `cadence diff OLD NEW [--db DB] [--format human|json|github]`: what a change of the cadences
//! does, step by step, and with a database how many contacts are at each step it touches.

use std::path::PathBuf;

use super::input::load_checked;
use super::Status;
use crate::diff::{diff, github, human, Side};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum Format {
    /// A list per cadence: settings, steps and templates added, removed or changed
    #[default]
    Human,
    /// The same as JSON
    Json,
    /// GitHub workflow commands: a notice per change on its line, a warning on a removed step
    /// where contacts wait
    Github,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The old version: a cadence file, or a folder of them
    #[arg(value_name = "OLD")]
    old: String,
    /// The new version: a cadence file, or a folder of them
    #[arg(value_name = "NEW")]
    new: String,
    /// Count the live enrolments of this `cadence run` database at each step
    #[arg(long, value_name = "DB")]
    db: Option<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

pub(crate) fn run(args: Args) -> Status {
    let old = match load_checked(std::slice::from_ref(&args.old), "comparing them") {
        Ok(l) => l,
        Err(s) => return s,
    };
    let new = match load_checked(std::slice::from_ref(&args.new), "comparing them") {
        Ok(l) => l,
        Err(s) => return s,
    };
    let live = match &args.db {
        Some(db) => {
            let mut store = match super::live::open_db(db) {
                Ok(s) => s,
                Err(s) => return s,
            };
            match crate::runner::program::live_counts(&mut *store) {
                Ok(l) => Some(l),
                Err(e) => {
                    eprintln!("error: {e}");
                    return Status::Failure;
                }
            }
        }
        None => None,
    };
    let diffs = diff(
        &Side {
            program: &old.program,
            sources: &old.sources,
            files: &old.files,
        },
        &Side {
            program: &new.program,
            sources: &new.sources,
            files: &new.files,
        },
        live.as_ref(),
    );
    let text = match args.format {
        Format::Human => human(&diffs),
        Format::Json => {
            let shown: Vec<_> = diffs.iter().filter(|d| !d.is_empty()).collect();
            serde_json::to_string_pretty(&shown).unwrap_or_default() + "\n"
        }
        Format::Github => github(&diffs),
    };
    print!("{text}");
    // A change that a deploy would refuse fails the command, so that CI fails the pull request.
    let stranded = diffs
        .iter()
        .flat_map(|d| &d.steps)
        .filter(|s| s.strands())
        .count();
    if stranded > 0 {
        eprintln!(
            "error: deploying this would strand the contacts at {stranded} step{}: map {} in the `migrate` block",
            if stranded == 1 { "" } else { "s" },
            if stranded == 1 { "it" } else { "them" }
        );
        return Status::Findings;
    }
    Status::Clean
}
