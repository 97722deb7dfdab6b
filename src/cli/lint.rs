//! `cadence lint FILES... [--format human|json|sarif|github] [--select ..] [--ignore ..]
//! [--deny warnings] [--max-emails N] [--max-days N] [--paths]`

use super::input::{or_here, plural, read_sources, render_capped, stdout_style};
use super::Status;
use crate::check::check;
use crate::diagnostic::{self, render_github, render_json, render_sarif, SarifRule, Severity};
use crate::lint::graph::{describe, edges, paths, Dest};
use crate::lint::{lint, Cx, Limits, Selection, RULES};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum Format {
    /// Readable reports with the source, on stdout (the closing count on stderr)
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
    /// Cadence files or folders (default: the current folder); files given together share
    /// templates, fields and events
    #[arg(value_name = "PATHS")]
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
    /// The most emails one path may send (L210) [default: 8]
    #[arg(long, value_name = "N")]
    max_emails: Option<usize>,
    /// The most days one path may take (L210) [default: 90]
    #[arg(long, value_name = "N")]
    max_days: Option<u32>,
    /// A configuration file (default: the first cadence.toml here or in a parent folder)
    #[arg(long, value_name = "FILE")]
    config: Option<std::path::PathBuf>,
    /// Print every path from enrolment to an end instead: its events, emails, calls and time
    #[arg(long)]
    paths: bool,
}

pub(crate) fn run(args: Args) -> Status {
    let config = match super::config::load_or_fail(args.config.as_deref()) {
        Ok(c) => c,
        Err(s) => return s,
    };
    for (flag, pats) in [("--select", &args.select), ("--ignore", &args.ignore)] {
        for p in pats {
            if let Err(e) = crate::lint::check_pattern(p) {
                eprintln!("error: {flag}: {e}");
                return Status::Failure;
            }
        }
    }
    let lc = &config.file.lint;
    let pick = |flag: &Vec<String>, file: &Option<Vec<String>>| {
        if flag.is_empty() {
            file.clone().unwrap_or_default()
        } else {
            flag.clone()
        }
    };
    let select = pick(&args.select, &lc.select);
    let ignore = pick(&args.ignore, &lc.ignore);
    let deny = args.deny.is_some() || lc.deny_warnings == Some(true);
    let Some((mut sources, ids)) = read_sources(&or_here(&args.files)) else {
        return Status::Failure;
    };
    let checked = check(&mut sources, &ids);
    let mut diags = checked.diagnostics.clone();
    let limits = Limits {
        max_emails: args.max_emails.or(lc.max_emails).unwrap_or(8),
        max_days: f64::from(args.max_days.or(lc.max_days).unwrap_or(90)),
    };
    let unknown = crate::lint::unknown_allows(&sources, &checked.files);
    if !unknown.is_empty() {
        for (f, line, _, why) in &unknown {
            eprintln!(
                "error: {}:{line}: `# lint: allow(...)`: {why}",
                sources.get(*f).name
            );
        }
        return Status::Failure;
    }
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
        let selection = Selection { select, ignore };
        let mut found = lint(&cx, &selection);
        if let Some(globs) = &lc.per_file_ignores {
            let ignores = PerFileIgnores::new(globs, config.path.as_ref().and_then(|p| p.parent()));
            found.retain(|d| !ignores.ignores(d, &sources));
        }
        diags.extend(found);
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
            print!("{}", render_capped(&diags, &sources, stdout_style()));
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
    if errors > 0 || (deny && warnings > 0) {
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

/// `[lint.per-file-ignores]`, compiled once: each glob (relative to the configuration's
/// folder) with the rule patterns it ignores.
pub(crate) struct PerFileIgnores {
    base: Option<std::path::PathBuf>,
    globs: Vec<(globset::GlobMatcher, Vec<String>)>,
}

impl PerFileIgnores {
    pub(crate) fn new(
        globs: &std::collections::BTreeMap<String, Vec<String>>,
        base: Option<&std::path::Path>,
    ) -> PerFileIgnores {
        PerFileIgnores {
            base: base.and_then(|b| std::fs::canonicalize(b).ok()),
            globs: globs
                .iter()
                .filter_map(|(g, pats)| {
                    let m = globset::Glob::new(g).ok()?.compile_matcher();
                    Some((m, pats.clone()))
                })
                .collect(),
        }
    }

    /// Whether a finding is dropped: a glob matches its file (as given, or relative to the
    /// configuration's folder), and one of the glob's patterns its rule.
    pub(crate) fn ignores(
        &self,
        d: &diagnostic::Diagnostic,
        sources: &crate::syntax::Sources,
    ) -> bool {
        let Some(rule) = crate::lint::rule(d.code) else {
            return false;
        };
        let path = std::path::Path::new(&sources.get(d.file()).name);
        let relative = self.base.as_ref().and_then(|b| {
            let abs = std::fs::canonicalize(path).ok()?;
            abs.strip_prefix(b).ok().map(|p| p.to_path_buf())
        });
        self.globs.iter().any(|(m, pats)| {
            (m.is_match(path) || relative.as_ref().is_some_and(|r| m.is_match(r)))
                && pats.iter().any(|p| crate::lint::pattern_matches(rule, p))
        })
    }
}
