//! `cadence check [PATHS...] [--format human|json|github|sarif]`

use super::input::{or_here, plural, read_sources, render_capped, stderr_style};
use super::Status;
use crate::check::check;
use crate::diagnostic::{
    self, render_github, render_json, render_sarif, Diagnostic, SarifRule, Severity,
};

/// How `check` prints diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum Format {
    /// Readable reports with the source, on stderr
    #[default]
    Human,
    /// A JSON array of {code, severity, file, line, column, message} on stdout
    Json,
    /// GitHub Actions workflow commands (`::error file=...::message`) on stdout
    Github,
    /// SARIF 2.1.0 on stdout, for GitHub code scanning
    Sarif,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Cadence files or folders (default: the current folder; `-` for standard input)
    #[arg(value_name = "PATHS")]
    files: Vec<String>,
    /// How to print diagnostics
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

/// Every diagnostic code of the checker and the parser, as SARIF rules.
fn sarif_rules() -> Vec<SarifRule> {
    diagnostic::CODES
        .iter()
        .filter(|c| !c.code.starts_with('T'))
        .map(|c| SarifRule {
            id: c.code.into(),
            name: c.title.replace(' ', "-"),
            summary: c.title.into(),
            level: Severity::Error,
            help: diagnostic::explain(c.code).unwrap_or_default(),
        })
        .collect()
}

pub(crate) fn run(args: Args) -> Status {
    let Some((mut sources, ids)) = read_sources(&or_here(&args.files)) else {
        return Status::Failure;
    };
    let checked = check(&mut sources, &ids);
    let diags: &[Diagnostic] = &checked.diagnostics;
    let errors = diags.iter().filter(|d| d.is_error()).count();
    let warnings = diags.len() - errors;
    match args.format {
        Format::Json => print!("{}", render_json(diags, &sources)),
        Format::Github => print!("{}", render_github(diags, &sources)),
        Format::Sarif => print!("{}", render_sarif(diags, &sources, &sarif_rules())),
        Format::Human => {
            eprint!("{}", render_capped(diags, &sources, stderr_style()));
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
