//! `cadence graph FILE [--format mermaid|dot]`

use super::input::load_checked;
use super::Status;
use crate::graph::{render, Style};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum Format {
    /// Mermaid flowchart (renders in GitHub pull requests and Markdown)
    #[default]
    Mermaid,
    /// Graphviz DOT (`cadence graph x.cadence --format dot | dot -Tsvg > x.svg`)
    Dot,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The cadence file and the library files it uses, or a folder (every cadence below it is
    /// drawn)
    #[arg(required = true, value_name = "PATHS")]
    files: Vec<String>,
    #[arg(long, value_enum, default_value_t = Format::Mermaid)]
    format: Format,
}

pub(crate) fn run(args: Args) -> Status {
    let (program, files) = match load_checked(&args.files, "drawing the cadence") {
        Ok(l) => (l.program, l.files),
        Err(status) => return status,
    };
    if program.cadences.is_empty() {
        eprintln!("error: no cadence to draw: the files hold only templates, fields and events");
        return Status::Failure;
    }
    let style = match args.format {
        Format::Mermaid => Style::Mermaid,
        Format::Dot => Style::Dot,
    };
    print!("{}", render(&program, &files, style));
    Status::Clean
}
