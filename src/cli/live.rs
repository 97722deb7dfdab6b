//! What the commands over a live database share: where the database is (`--db`, then
//! `CADENCE_DB`, then `cadence.toml`), the `[run]` table of `cadence.toml`, opening the
//! database with a clear message, and times and durations written on the command line.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::Status;
use crate::check::DateValue;
use crate::store::live::{Live, LiveError};
use crate::time::parse_date;

/// The `[run]` table of `cadence.toml`: settings for `cadence run` and the commands over its
/// database. Flags win over environment variables, which win over this file.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RunConfig {
    pub db: Option<PathBuf>,
    pub smtp: Option<String>,
    pub public_url: Option<String>,
    pub from: Option<String>,
    pub clock: Option<String>,
    pub smtp_pool: Option<u32>,
    pub smtp_timeout: Option<String>,
    pub retry_after: Option<String>,
    pub max_attempts: Option<i64>,
    pub listen: Option<String>,
    /// Sending mailboxes to read replies from (`imaps://USER:PASS@HOST/MAILBOX`).
    pub imap: Option<Vec<String>>,
    pub imap_poll: Option<String>,
}

/// The `[run]` table of the configuration: `--config FILE`, or the first `cadence.toml` in the
/// current folder or above it; none is an empty one. Paths in it are relative to its folder.
pub fn load_config(explicit: Option<&Path>) -> Result<RunConfig, String> {
    super::config::load(explicit).map(|c| c.file.run)
}

/// The database: the flag (or `CADENCE_DB`, which clap reads), else the configuration.
pub fn db_path(flag: Option<PathBuf>, config: Option<&Path>) -> Result<PathBuf, Status> {
    if let Some(p) = flag {
        return Ok(p);
    }
    match load_config(config) {
        Ok(c) => c.db.ok_or_else(|| {
            eprintln!("error: no database given: pass --db FILE (or set CADENCE_DB, or `db` under [run] in cadence.toml)");
            Status::Failure
        }),
        Err(e) => {
            eprintln!("error: {e}");
            Err(Status::Failure)
        }
    }
}

/// Finds the database (`--db`, `CADENCE_DB`, `cadence.toml`) and opens it for a command,
/// saying why it cannot be.
pub fn open_live(flag: Option<PathBuf>, config: Option<&Path>) -> Result<Live, Status> {
    open_db(&db_path(flag, config)?)
}

/// Opens an existing database for a command, saying why it cannot be.
pub fn open_db(path: &Path) -> Result<Live, Status> {
    crate::store::live::open(path, false).map_err(|e| {
        print_db_error(&e);
        Status::Failure
    })
}

pub fn print_db_error(e: &LiveError) {
    eprintln!("error: {e}");
}

/// An instant written on the command line: RFC 3339, or a day (its midnight, UTC).
pub fn instant(text: &str, what: &str) -> Result<i64, String> {
    match parse_date(text) {
        Ok(DateValue::Instant(t)) => Ok(t.timestamp()),
        Ok(DateValue::Day(d)) => Ok(d
            .and_hms_opt(0, 0, 0)
            .map(|d| d.and_utc().timestamp())
            .unwrap_or(0)),
        Err(_) => Err(format!(
            "{what} \"{text}\" is not an instant like 2026-01-05T09:00:00Z"
        )),
    }
}

/// A wall-clock duration: `250ms`, `30s`, `5m`, `2h`, `1d`.
pub fn std_duration(text: &str, what: &str) -> Result<std::time::Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{what} \"{text}\" is not a duration like 30s, 5m or 250ms"))?;
    let ms = match unit {
        "ms" => n,
        "s" | "" => n.saturating_mul(1_000),
        "m" => n.saturating_mul(60_000),
        "h" => n.saturating_mul(3_600_000),
        "d" => n.saturating_mul(86_400_000),
        _ => {
            return Err(format!(
                "{what} \"{text}\" has an unknown unit `{unit}` (use ms, s, m, h or d)"
            ))
        }
    };
    Ok(std::time::Duration::from_millis(ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_on_the_command_line() {
        assert_eq!(
            std_duration("250ms", "x").unwrap(),
            std::time::Duration::from_millis(250)
        );
        assert_eq!(
            std_duration("2m", "x").unwrap(),
            std::time::Duration::from_secs(120)
        );
        assert!(std_duration("2y", "x")
            .unwrap_err()
            .contains("unknown unit"));
        assert!(std_duration("soon", "x").is_err());
    }
}
