//! `cadence check FILES... [--format human|json]`

use super::input::{plural, read_sources, stderr_style};
use super::{DiagFormat, Status};
use crate::check::check;
use crate::diagnostic::{render_human, render_json, Diagnostic};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Cadence files (`-` for standard input)
    #[arg(required = true, value_name = "FILES")]
    files: Vec<String>,
    /// How to print diagnostics
    #[arg(long, value_enum, default_value_t = DiagFormat::Human)]
    format: DiagFormat,
}

pub(crate) fn run(args: Args) -> Status {
    let Some((mut sources, ids)) = read_sources(&args.files) else {
        return Status::Failure;
    };
    let checked = check(&mut sources, &ids);
    let diags: &[Diagnostic] = &checked.diagnostics;
    let errors = diags.iter().filter(|d| d.is_error()).count();
    let warnings = diags.len() - errors;
    match args.format {
        DiagFormat::Json => print!("{}", render_json(diags, &sources)),
        DiagFormat::Human => {
            let style = stderr_style();
            for d in diags {
                eprint!("{}", render_human(d, &sources, style));
                eprintln!();
            }
            let files = plural(ids.len(), "file");
            if errors == 0 && warnings == 0 {
                eprintln!("checked {files}: no problems");
            } else {
                eprintln!(
                    "checked {files}: {}, {}",
                    plural(errors, "error"),
                    plural(warnings, "warning")
                );
            }
        }
    }
    if errors > 0 {
        Status::Findings
    } else {
        Status::Clean
    }
}
