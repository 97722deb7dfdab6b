//! `cadence test [PATHS...] [--format human|junit] [--coverage] [--coverage-format text|json]
//! [--fail-under PCT]`

use super::input::{load_checked, or_here, stdout_style};
use super::Status;
use crate::diagnostic::{render_human, Diagnostic};
use crate::testing::{coverage, junit, run_with, FailureKind, NewVersion};

/// The new version a test's `deploy "FILE"` names: FILE, in the test file's folder (or below
/// it), checked with the files that run before it (in place of the one of the same cadence).
fn deploy_version(
    dir: &std::path::Path,
    file: &str,
    base: &crate::check::Program,
    paths: &mut Vec<String>,
) -> Result<NewVersion, String> {
    let rel = std::path::Path::new(file);
    if file.is_empty()
        || rel.is_absolute()
        || rel
            .components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)))
    {
        return Err(format!(
            "the file must be in the test's folder or below it, named without `..` (it was \"{}\")",
            crate::diagnostic::printable(file)
        ));
    }
    // Through the file system too: a link inside the folder may point anywhere.
    let inside = std::fs::canonicalize(dir.join(rel))
        .ok()
        .zip(
            std::fs::canonicalize(if dir.as_os_str().is_empty() {
                std::path::Path::new(".")
            } else {
                dir
            })
            .ok(),
        )
        .is_some_and(|(f, d)| f.starts_with(d) && f.is_file());
    if !inside {
        return Err(format!(
            "\"{}\" is not a file in the test's folder or below it",
            crate::diagnostic::printable(file)
        ));
    }
    let path = dir.join(rel).display().to_string();
    let next = super::input::with_new_version(paths, base, &path)?;
    let loaded = load_checked(&next, "deploying it")
        .map_err(|_| format!("`{path}` does not check (its errors are above)"))?;
    *paths = next;
    Ok(NewVersion {
        hashes: crate::runner::program::cadence_hashes(&loaded.sources, &loaded.program),
        program: Box::leak(Box::new(loaded.program)),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum Format {
    /// One line per test, failures explained with their source line
    #[default]
    Human,
    /// JUnit XML on stdout, for CI systems
    Junit,
}

/// How coverage is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum CoverageFormat {
    /// A line per cadence, after the results
    #[default]
    Text,
    /// JSON on stdout: per cadence, per step and per branch, hit or not (the results go to
    /// stderr)
    Json,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Cadence files or folders holding `test` blocks, with the cadences and libraries they
    /// need (default: the current folder)
    #[arg(value_name = "PATHS")]
    files: Vec<String>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Report which steps and `on` lines (branches) the tests exercised, per cadence
    #[arg(long)]
    coverage: bool,
    /// How to print coverage (with --coverage)
    #[arg(long, value_enum, default_value_t = CoverageFormat::Text, value_name = "FORMAT")]
    coverage_format: CoverageFormat,
    /// Fail (exit 1) when the tests cover less than PCT percent of the steps, or of the
    /// branches, of all the cadences together
    #[arg(long, value_name = "PCT")]
    fail_under: Option<f64>,
    /// A configuration file (default: the first cadence.toml here or in a parent folder)
    #[arg(long, value_name = "FILE")]
    config: Option<std::path::PathBuf>,
}

pub(crate) fn run_cmd(args: Args) -> Status {
    if let Some(f) = args.fail_under {
        if !(0.0..=100.0).contains(&f) {
            eprintln!("error: --fail-under {f}: give a percentage from 0 to 100");
            return Status::Failure;
        }
    }
    let config = match super::config::load_or_fail(args.config.as_deref()) {
        Ok(c) => c,
        Err(s) => return s,
    };
    let fail_under = args.fail_under.or(config.file.test.fail_under);
    let (sources, program, files) = match load_checked(&or_here(&args.files), "running tests") {
        Ok(l) => {
            let files: Vec<String> = l
                .files
                .iter()
                .map(|(id, _)| l.sources.get(*id).name.clone())
                .collect();
            (l.sources, l.program, files)
        }
        Err(status) => return status,
    };
    let style = stdout_style();
    if program.tests.is_empty() {
        eprintln!("no tests found: add a `test \"...\" {{ ... }}` block (see docs/testing.md)");
        return Status::Clean;
    }
    let hashes = crate::runner::program::cadence_hashes(&sources, &program);
    let results: Vec<_> = program
        .tests
        .iter()
        .map(|t| {
            let dir = std::path::Path::new(&sources.get(t.file).name)
                .parent()
                .map(std::path::Path::to_path_buf)
                .unwrap_or_default();
            let mut paths = files.clone();
            let mut load = |file: &str, base: &crate::check::Program| {
                deploy_version(&dir, file, base, &mut paths)
            };
            run_with(&program, &hashes, t, &mut load)
        })
        .collect();
    let failed = results.iter().filter(|r| !r.passed()).count();
    let passed = results.len() - failed;

    // With JSON coverage on stdout, the results go to stderr.
    let json_coverage = args.coverage && args.coverage_format == CoverageFormat::Json;
    macro_rules! out {
        () => {
            if json_coverage { eprintln!() } else { println!() }
        };
        ($($t:tt)*) => {
            if json_coverage { eprintln!($($t)*) } else { println!($($t)*) }
        };
    }
    match args.format {
        Format::Junit if json_coverage => {
            eprintln!(
                "error: --format junit and --coverage-format json both write to stdout; choose one"
            );
            return Status::Failure;
        }
        Format::Junit => {
            print!("{}", junit(&results, &|f| sources.get(f).name.clone()));
        }
        Format::Human => {
            for r in &results {
                let file = &sources.get(r.file).name;
                if r.passed() {
                    out!("test {file}: \"{}\" ... ok", r.name);
                } else {
                    out!("test {file}: \"{}\" ... FAILED", r.name);
                }
            }
            for r in results.iter().filter(|r| !r.passed()) {
                out!();
                out!("---- \"{}\" ----", r.name);
                let mut shown: Vec<&str> = Vec::new();
                for f in &r.failures {
                    let (label, help) = match f.kind {
                        FailureKind::Stopped => (
                            "this test was stopped",
                            "`cadence simulate` streams a long run's trace to a file instead"
                                .to_string(),
                        ),
                        FailureKind::Deploy => (
                            "this deploy was refused",
                            "map the steps the contacts wait at in the new version's `migrate` block (`cadence diff` shows them)".to_string(),
                        ),
                        FailureKind::DeployFile => (
                            "this file cannot be deployed",
                            "name a .cadence file beside the test's file or in a folder below it".to_string(),
                        ),
                        FailureKind::Expectation => (
                            "this expectation failed",
                            format!("the trace of `{}` follows; fix the cadence, or the expectation if the cadence is right", f.contact),
                        ),
                    };
                    let d = Diagnostic::error("T001", r.file, f.span, f.message.clone(), label)
                        .with_help(help);
                    let shown_diag = render_human(&d, &sources, style);
                    if json_coverage {
                        eprint!("{shown_diag}")
                    } else {
                        print!("{shown_diag}")
                    }
                    if !f.contact.is_empty() && !shown.contains(&f.contact.as_str()) {
                        shown.push(&f.contact);
                        out!("  what happened to {}:", f.contact);
                        if f.trace.is_empty() {
                            out!("    nothing: it was never enrolled");
                        }
                        for line in &f.trace {
                            out!("    {line}");
                        }
                    }
                    out!();
                }
            }
        }
    }
    let cov = coverage(&program, &results);
    if args.coverage {
        if json_coverage {
            let doc: Vec<serde_json::Value> = cov
                .iter()
                .map(|c| {
                    serde_json::json!({
                        "cadence": c.cadence,
                        "steps": { "hit": c.steps.0, "total": c.steps.1 },
                        "branches": { "hit": c.branches.0, "total": c.branches.1 },
                        "detail": c.detail,
                    })
                })
                .collect();
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({ "coverage": doc }))
                    .unwrap_or_default()
            );
        } else {
            let mut text = String::from("\ncoverage:\n");
            for c in &cov {
                text.push_str(&format!("  {c}\n"));
            }
            match args.format {
                Format::Human => print!("{text}"),
                Format::Junit => eprint!("{text}"),
            }
        }
    }
    let summary = format!("{passed} passed, {failed} failed");
    match args.format {
        Format::Human => {
            out!();
            out!("{summary}");
        }
        Format::Junit => eprintln!("{summary}"),
    }
    let mut below = false;
    if let Some(threshold) = fail_under {
        let sum = |f: &dyn Fn(&crate::testing::Coverage) -> (usize, usize)| {
            cov.iter()
                .map(f)
                .fold((0, 0), |(h, t), (a, b)| (h + a, t + b))
        };
        let pct = |(hit, total): (usize, usize)| {
            if total == 0 {
                100.0
            } else {
                hit as f64 * 100.0 / total as f64
            }
        };
        let steps = pct(sum(&|c| c.steps));
        let branches = pct(sum(&|c| c.branches));
        if steps < threshold || branches < threshold {
            below = true;
            eprintln!(
                "coverage is below {threshold}%: steps {steps:.1}%, branches {branches:.1}% (`cadence test --coverage` lists what no test reaches)"
            );
        } else {
            eprintln!(
                "coverage: steps {steps:.1}%, branches {branches:.1}% (at least {threshold}%)"
            );
        }
    }
    if failed > 0 || below {
        Status::Findings
    } else {
        Status::Clean
    }
}
