//! `cadence lint FILES... [--format human|json|sarif|github] [--select ..] [--ignore ..]
//! [--deny warnings] [--max-emails N] [--max-days N] [--paths]`

use super::input::{plural, read_sources, stderr_style};
use super::Status;
use crate::check::check;
use crate::diagnostic::{
    self, render_github, render_human, render_json, render_sarif, SarifRule, Severity,
};
use crate::lint::graph::{describe, edges, paths, Dest};
use crate::lint::{lint, Cx, Limits, Selection, RULES};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum Format {
    /// Readable reports with the source, on stderr
    #[default]
    Human,
    /// A JSON array of {code, severity, file, line, column, message} on stdout
    Json,
    /// SARIF 2.1.0 on stdout, for GitHub code scanning
    Sarif,
    /// GitHub Actions workflow commands (`::error file=...::message`) on stdout
    Github,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Deny {
    /// Exit 1 on warnings too
    Warnings,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Cadence files (files given together share templates, fields and events)
    #[arg(required = true, value_name = "FILES")]
    files: Vec<String>,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Run only these rules: codes, code prefixes (L20) or names, comma-separated
    #[arg(long, value_delimiter = ',', value_name = "CODES")]
    select: Vec<String>,
    /// Skip these rules: codes, code prefixes or names, comma-separated
    #[arg(long, value_delimiter = ',', value_name = "CODES")]
    ignore: Vec<String>,
    /// `--deny warnings`: warnings make the exit status 1 too
    #[arg(long, value_enum)]
    deny: Option<Deny>,
    /// The most emails one path may send (L210)
    #[arg(long, default_value_t = 8, value_name = "N")]
    max_emails: usize,
    /// The most days one path may take (L210)
    #[arg(long, default_value_t = 90, value_name = "N")]
    max_days: u32,
    /// Print every path from enrolment to an end instead: its events, emails, calls and time
    #[arg(long)]
    paths: bool,
}

pub(crate) fn run(args: Args) -> Status {
    let Some((mut sources, ids)) = read_sources(&args.files) else {
        return Status::Failure;
    };
    let checked = check(&mut sources, &ids);
    let mut diags = checked.diagnostics.clone();
    let limits = Limits {
        max_emails: args.max_emails,
        max_days: f64::from(args.max_days),
    };
    if let Some(program) = &checked.program {
        if args.paths {
            print_paths(program);
            return Status::Clean;
        }
        let cx = Cx {
            program,
            files: &checked.files,
            sources: &sources,
            limits,
        };
        let selection = Selection {
            select: args.select.clone(),
            ignore: args.ignore.clone(),
        };
        diags.extend(lint(&cx, &selection));
        diagnostic::sort(&mut diags);
    }
    let errors = diags.iter().filter(|d| d.is_error()).count();
    let warnings = diags.len() - errors;
    match args.format {
        Format::Json => print!("{}", render_json(&diags, &sources)),
        Format::Github => print!("{}", render_github(&diags, &sources)),
        Format::Sarif => {
            let mut rules: Vec<SarifRule> = RULES
                .iter()
                .map(|r| SarifRule {
                    id: r.code.into(),
                    name: r.name.into(),
                    summary: r.summary.into(),
                    level: r.severity,
                    help: crate::lint::explain(r.code).unwrap_or_default(),
                })
                .collect();
            for d in &diags {
                if !rules.iter().any(|r| r.id == d.code) {
                    let info = diagnostic::lookup(d.code);
                    rules.push(SarifRule {
                        id: d.code.into(),
                        name: info.map(|i| i.title.replace(' ', "-")).unwrap_or_default(),
                        summary: info.map(|i| i.title.to_string()).unwrap_or_default(),
                        level: Severity::Error,
                        help: diagnostic::explain(d.code).unwrap_or_default(),
                    });
                }
            }
            print!("{}", render_sarif(&diags, &sources, &rules));
        }
        Format::Human => {
            let style = stderr_style();
            for d in &diags {
                eprint!("{}", render_human(d, &sources, style));
                eprintln!();
            }
            let files = plural(ids.len(), "file");
            if diags.is_empty() {
                eprintln!("linted {files}: no problems");
            } else {
                eprintln!(
                    "linted {files}: {}, {}",
                    plural(errors, "error"),
                    plural(warnings, "warning")
                );
            }
        }
    }
    if errors > 0 || (args.deny.is_some() && warnings > 0) {
        Status::Findings
    } else {
        Status::Clean
    }
}

fn print_paths(program: &crate::check::Program) {
    for c in &program.cadences {
        let all = paths(c, &edges(c), 1_000);
        println!("\"{}\": {}", c.name, plural(all.len(), "path"));
        for p in &all {
            let end = match &p.end {
                Dest::Done => "completed".to_string(),
                Dest::Exit(r) => format!("exited \"{r}\""),
                Dest::Step(_) => "loops".to_string(),
            };
            let time = crate::time::Duration::from_seconds(((p.days * 86_400.0) as i64 / 60) * 60);
            println!(
                "  {}\n      {end}; {}, {}, {}; at least {time}",
                describe(c, p),
                plural(p.emails, "email"),
                plural(p.calls, "call"),
                plural(p.tasks, "task"),
            );
        }
        if all.len() >= 1_000 {
            println!("  (the first 1000 paths)");
        }
    }
}
