//! `cadence tasks --db DB [--owner NAME] [--due today|overdue|all] [--format text|json]`:
//! the reps' work queue — who must call whom, with the contact's phone and local time.

use std::path::PathBuf;

use chrono_tz::Tz;

use super::live::open_live;
use super::Status;
use crate::engine::calendar::utc;
use crate::store::live::{LiveStore, TaskFilter, TaskRow};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum Due {
    /// Open tasks due by the end of today (UTC, on the database's clock)
    Today,
    /// Open tasks already past their due time
    Overdue,
    /// Every open task
    #[default]
    Open,
    /// Every task, done, expired and cancelled ones too
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum Format {
    /// A table for people
    #[default]
    Text,
    /// A JSON array
    Json,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The database of `cadence run`
    #[arg(long, value_name = "DB", env = "CADENCE_DB", hide_env_values = true)]
    db: Option<PathBuf>,
    /// Only the tasks of this owner (`owner` of the step)
    #[arg(long, value_name = "NAME")]
    owner: Option<String>,
    /// Which tasks
    #[arg(long, value_enum, default_value_t = Due::Open)]
    due: Due,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// A configuration file (default: the first cadence.toml here or in a parent folder)
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

/// An instant in a zone: `2026-03-11 09:30 Europe/Berlin`.
pub(crate) fn local(t: i64, zone: &str) -> String {
    match zone.parse::<Tz>() {
        Ok(tz) => utc(t)
            .with_timezone(&tz)
            .format("%Y-%m-%d %H:%M %Z")
            .to_string(),
        Err(_) => utc(t).format("%Y-%m-%d %H:%M UTC").to_string(),
    }
}

fn text(rows: &[TaskRow], now: i64) -> String {
    if rows.is_empty() {
        return "no task\n".into();
    }
    let mut out = String::new();
    for r in rows {
        let t = &r.task;
        let late = if r.state == "open" && t.due < now {
            " (overdue)"
        } else {
            ""
        };
        out.push_str(&format!(
            "#{:<5} {} {:<6} {:<8} {} \"{}\"{late}\n",
            r.id,
            utc(t.due).format("%Y-%m-%d %H:%M UTC"),
            t.priority,
            crate::diagnostic::printable(t.owner.as_deref().unwrap_or("-")),
            t.kind,
            t.subject,
        ));
        out.push_str(&format!(
            "       contact {}  phone {}  their time {}\n",
            r.contact_id,
            t.phone.as_deref().unwrap_or("-"),
            local(t.due, &t.zone)
        ));
        let closed = match (&r.outcome, r.closed) {
            (Some(o), Some(c)) => format!(" ({o} at {})", utc(c).format("%Y-%m-%d %H:%M UTC")),
            _ => String::new(),
        };
        out.push_str(&format!(
            "       \"{}\" step {}  {}{closed}\n",
            r.cadence, t.step, r.state
        ));
    }
    out
}

impl Due {
    /// A value of `?due=` in the HTTP API.
    pub fn parse(s: &str) -> Option<Due> {
        match s {
            "today" => Some(Due::Today),
            "overdue" => Some(Due::Overdue),
            "open" => Some(Due::Open),
            "all" => Some(Due::All),
            _ => None,
        }
    }
}

/// The filter for an owner and a choice of `--due`, and the database's clock it is read on.
pub fn filter(
    store: &mut dyn LiveStore,
    owner: Option<String>,
    due: Due,
) -> Result<(TaskFilter, i64), String> {
    let now = store
        .meta("clock")
        .map_err(|e| e.to_string())?
        .and_then(|s| s.parse::<i64>().ok())
        .unwrap_or_else(crate::runner::wall_now);
    let end_of_today = (now.div_euclid(86_400) + 1) * 86_400;
    let f = TaskFilter {
        owner,
        due_before: match due {
            Due::Today => Some(end_of_today),
            Due::Overdue => Some(now),
            Due::Open | Due::All => None,
        },
        open_only: due != Due::All,
        id: None,
    };
    Ok((f, now))
}

pub(crate) fn run(args: Args) -> Status {
    let mut store = match open_live(args.db, args.config.as_deref()) {
        Ok(s) => s,
        Err(s) => return s,
    };
    let (filter, now) = match filter(&mut *store, args.owner, args.due) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: {e}");
            return Status::Failure;
        }
    };
    let rows = match store.tasks(&filter) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return Status::Failure;
        }
    };
    let out = match args.format {
        Format::Text => text(&rows, now),
        Format::Json => serde_json::to_string_pretty(&rows).unwrap_or_default() + "\n",
    };
    super::print_or_fail(&out)
}
