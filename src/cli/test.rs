//! `cadence test FILES... [--format human|junit] [--coverage]`

use super::input::{load_checked, stdout_style};
use super::Status;
use crate::diagnostic::{render_human, Diagnostic};
use crate::testing::{coverage, junit, run};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum Format {
    /// One line per test, failures explained with their source line
    #[default]
    Human,
    /// JUnit XML on stdout, for CI systems
    Junit,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Cadence files holding `test` blocks (with the cadences and libraries they need)
    #[arg(required = true, value_name = "FILES")]
    files: Vec<String>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Report which steps and `on` lines (branches) the tests exercised, per cadence
    #[arg(long)]
    coverage: bool,
}

pub(crate) fn run_cmd(args: Args) -> Status {
    let (sources, program) = match load_checked(&args.files, "running tests") {
        Ok(l) => (l.sources, l.program),
        Err(status) => return status,
    };
    let style = stdout_style();
    if program.tests.is_empty() {
        eprintln!("no tests found: add a `test \"...\" {{ ... }}` block (see docs/testing.md)");
        return Status::Clean;
    }
    let results: Vec<_> = program.tests.iter().map(|t| run(&program, t)).collect();
    let failed = results.iter().filter(|r| !r.passed()).count();
    let passed = results.len() - failed;

    match args.format {
        Format::Junit => {
            print!("{}", junit(&results, &|f| sources.get(f).name.clone()));
        }
        Format::Human => {
            for r in &results {
                let file = &sources.get(r.file).name;
                if r.passed() {
                    println!("test {file}: \"{}\" ... ok", r.name);
                } else {
                    println!("test {file}: \"{}\" ... FAILED", r.name);
                }
            }
            for r in results.iter().filter(|r| !r.passed()) {
                println!();
                println!("---- \"{}\" ----", r.name);
                let mut shown: Vec<&str> = Vec::new();
                for f in &r.failures {
                    let d = Diagnostic::error("T001", r.file, f.span, f.message.clone(), "this expectation failed")
                        .with_help(format!("the trace of `{}` follows; fix the cadence, or the expectation if the cadence is right", f.contact));
                    print!("{}", render_human(&d, &sources, style));
                    if !shown.contains(&f.contact.as_str()) {
                        shown.push(&f.contact);
                        println!("  what happened to {}:", f.contact);
                        if f.trace.is_empty() {
                            println!("    nothing: it was never enrolled");
                        }
                        for line in &f.trace {
                            println!("    {line}");
                        }
                    }
                    println!();
                }
            }
        }
    }
    if args.coverage {
        let out = coverage(&program, &results);
        let mut text = String::from("\ncoverage:\n");
        for c in &out {
            text.push_str(&format!("  {c}\n"));
        }
        match args.format {
            Format::Human => print!("{text}"),
            Format::Junit => eprint!("{text}"),
        }
    }
    let summary = format!("{passed} passed, {failed} failed");
    match args.format {
        Format::Human => {
            println!();
            println!("{summary}");
        }
        Format::Junit => eprintln!("{summary}"),
    }
    if failed > 0 {
        Status::Findings
    } else {
        Status::Clean
    }
}
