//! `cadence graph FILE [--format mermaid|dot]`

use super::input::{read_sources, stderr_style};
use super::Status;
use crate::check::check;
use crate::diagnostic::render_human;
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
    /// The cadence file (and the library files it uses)
    #[arg(required = true, value_name = "FILE")]
    files: Vec<String>,
    #[arg(long, value_enum, default_value_t = Format::Mermaid)]
    format: Format,
}

pub(crate) fn run(args: Args) -> Status {
    let Some((mut sources, ids)) = read_sources(&args.files) else {
        return Status::Failure;
    };
    let checked = check(&mut sources, &ids);
    let files = checked.files;
    let Some(program) = checked
        .program
        .filter(|_| !checked.diagnostics.iter().any(|d| d.is_error()))
    else {
        let style = stderr_style();
        for d in &checked.diagnostics {
            eprint!("{}", render_human(d, &sources, style));
        }
        eprintln!("error: fix the errors above to draw the cadence");
        return Status::Findings;
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
