//! `cadence.toml`, the project's configuration: found by walking up from the current folder
//! (or given with `--config`), with a table per command. Flags win over it.
//!
//! ```toml
//! [lint]
//! select = ["L2"]                  # codes, prefixes or names; default: every rule
//! ignore = ["L207"]
//! deny-warnings = true             # warnings fail the run, as `--deny warnings`
//! max-emails = 8                   # L210
//! max-days = 90                    # L210
//! [lint.per-file-ignores]
//! "legacy/*.cadence" = ["L205"]
//!
//! [test]
//! fail-under = 80                  # coverage of steps and of branches, percent
//!
//! [report]
//! format = "html"                  # text, json or html
//!
//! [run]                            # `cadence run` and the commands over its database
//! db = "live.db"
//! ```
//!
//! `cadence config show` prints what is in effect and where each value comes from.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::live::RunConfig;
use super::Status;

/// The `[lint]` table.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LintConfig {
    pub select: Option<Vec<String>>,
    pub ignore: Option<Vec<String>>,
    pub per_file_ignores: Option<BTreeMap<String, Vec<String>>>,
    pub deny_warnings: Option<bool>,
    pub max_emails: Option<usize>,
    pub max_days: Option<u32>,
}

/// The `[test]` table.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TestConfig {
    pub fail_under: Option<f64>,
}

/// The `[report]` table.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ReportConfig {
    pub format: Option<super::report::Format>,
}

/// The whole file.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default)]
    pub lint: LintConfig,
    #[serde(default)]
    pub test: TestConfig,
    #[serde(default)]
    pub report: ReportConfig,
    #[serde(default)]
    pub run: RunConfig,
}

/// A configuration and the file it was read from (`None`: no file, every default).
#[derive(Debug, Default, Clone)]
pub struct Config {
    pub path: Option<PathBuf>,
    pub file: ConfigFile,
}

/// The first `cadence.toml` in `dir` or a folder above it.
pub(crate) fn find(dir: Option<PathBuf>) -> Option<PathBuf> {
    let mut dir = dir;
    while let Some(d) = dir {
        let candidate = d.join("cadence.toml");
        if candidate.is_file() {
            return Some(candidate);
        }
        dir = d.parent().map(Path::to_path_buf);
    }
    None
}

/// Reads the configuration: `explicit`, or the first `cadence.toml` here or above. An
/// unknown key, a value of the wrong type or an unknown lint rule is an error that names the
/// file and the line.
pub fn load(explicit: Option<&Path>) -> Result<Config, String> {
    let path = match explicit {
        Some(p) => Some(p.to_path_buf()),
        None => find(std::env::current_dir().ok()),
    };
    let Some(path) = path else {
        return Ok(Config::default());
    };
    let text = std::fs::read_to_string(&path).map_err(|e| {
        format!(
            "cannot read `{}`: {}",
            path.display(),
            crate::diagnostic::io_reason(&e)
        )
    })?;
    let mut file: ConfigFile = toml::from_str(&text)
        .map_err(|e| format!("{}: {}", path.display(), e.to_string().trim_end()))?;
    let lint = &file.lint;
    let patterns = lint
        .select
        .iter()
        .flatten()
        .chain(lint.ignore.iter().flatten())
        .chain(
            lint.per_file_ignores
                .iter()
                .flat_map(|m| m.values().flatten()),
        );
    for p in patterns {
        crate::lint::check_pattern(p).map_err(|e| format!("{}: [lint]: {e}", path.display()))?;
    }
    if let Some(globs) = &lint.per_file_ignores {
        for g in globs.keys() {
            globset::Glob::new(g).map_err(|e| {
                format!(
                    "{}: [lint.per-file-ignores]: `{g}` is not a glob: {e}",
                    path.display()
                )
            })?;
        }
    }
    if let Some(f) = file.test.fail_under {
        if !(0.0..=100.0).contains(&f) {
            return Err(format!(
                "{}: [test]: fail-under is {f}; give a percentage from 0 to 100",
                path.display()
            ));
        }
    }
    if let (Some(db), Some(dir)) = (&file.run.db, path.parent()) {
        if db.is_relative()
            && db.to_str() != Some(":memory:")
            && crate::store::live::postgres_url(db).is_none()
        {
            file.run.db = Some(dir.join(db));
        }
    }
    Ok(Config {
        path: Some(path),
        file,
    })
}

/// [`load`], printing the error and giving exit status 2.
pub fn load_or_fail(explicit: Option<&Path>) -> Result<Config, Status> {
    load(explicit).map_err(|e| {
        eprintln!("error: {e}");
        Status::Failure
    })
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: ConfigCommand,
}

#[derive(Debug, clap::Subcommand)]
enum ConfigCommand {
    /// Print the configuration in effect, and where each value comes from
    Show {
        /// A configuration file (default: the first cadence.toml here or in a parent folder)
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

pub(crate) fn run(args: Args) -> Status {
    let ConfigCommand::Show { config } = args.command;
    let c = match load_or_fail(config.as_deref()) {
        Ok(c) => c,
        Err(s) => return s,
    };
    print!("{}", show(&c));
    Status::Clean
}

/// The configuration as TOML, each value with where it comes from.
pub fn show(c: &Config) -> String {
    let from = c
        .path
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let mut out = match &c.path {
        Some(p) => format!("# configuration: {}\n", p.display()),
        None => "# no cadence.toml here or above: every value is the default\n".to_string(),
    };
    let line = |out: &mut String, key: &str, value: Option<String>, default: &str| {
        let (v, src) = match value {
            Some(v) => (v, from.as_str()),
            None => (default.to_string(), "default"),
        };
        out.push_str(&format!("{:<40} # {src}\n", format!("{key} = {v}")));
    };
    let list = |v: &Option<Vec<String>>| {
        v.as_ref().map(|v| {
            format!(
                "[{}]",
                v.iter()
                    .map(|s| format!("{s:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
    };
    let l = &c.file.lint;
    out.push_str("\n[lint]\n");
    line(&mut out, "select", list(&l.select), "[] (every rule)");
    line(&mut out, "ignore", list(&l.ignore), "[]");
    line(
        &mut out,
        "deny-warnings",
        l.deny_warnings.map(|b| b.to_string()),
        "false",
    );
    line(
        &mut out,
        "max-emails",
        l.max_emails.map(|n| n.to_string()),
        "8",
    );
    line(
        &mut out,
        "max-days",
        l.max_days.map(|n| n.to_string()),
        "90",
    );
    match &l.per_file_ignores {
        Some(m) if !m.is_empty() => {
            out.push_str("\n[lint.per-file-ignores]\n");
            for (glob, codes) in m {
                out.push_str(&format!(
                    "{:<40} # {from}\n",
                    format!(
                        "{glob:?} = {}",
                        list(&Some(codes.clone())).unwrap_or_default()
                    )
                ));
            }
        }
        _ => out.push_str(
            "\n[lint.per-file-ignores]\n# none                                     # default\n",
        ),
    }
    out.push_str("\n[test]\n");
    line(
        &mut out,
        "fail-under",
        c.file.test.fail_under.map(|f| f.to_string()),
        "0 (no threshold)",
    );
    out.push_str("\n[report]\n");
    line(
        &mut out,
        "format",
        c.file
            .report
            .format
            .map(|f| format!("{:?}", format!("{f:?}").to_lowercase())),
        "\"text\"",
    );
    let r = &c.file.run;
    out.push_str("\n[run]\n");
    let quoted = |v: Option<String>| v.map(|v| format!("{v:?}"));
    for (key, value) in [
        ("db", r.db.as_deref().map(crate::store::live::shown)),
        (
            "smtp",
            r.smtp.as_ref().map(|s| crate::diagnostic::redact_url(s)),
        ),
        ("public-url", r.public_url.clone()),
        ("from", r.from.clone()),
        ("clock", r.clock.clone()),
        ("listen", r.listen.clone()),
        ("imap-poll", r.imap_poll.clone()),
    ] {
        line(&mut out, key, quoted(value), "(unset)");
    }
    // Mailboxes by name only: never their passwords.
    let mailboxes = r.imap.as_ref().map(|urls| {
        let names: Vec<String> = urls
            .iter()
            .map(|u| match crate::runner::mailbox::MailboxUrl::parse(u) {
                Ok(m) => format!("{:?}", m.name()),
                Err(_) => "\"(not a mailbox URL)\"".to_string(),
            })
            .collect();
        format!("[{}]", names.join(", "))
    });
    line(&mut out, "imap", mailboxes, "(unset)");
    out
}
