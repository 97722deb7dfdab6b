//! `cadence outbox --db DB [--state STATE] [--resend ID...] [--format text|json]`: the emails
//! of a live database and where each stands; `--resend` sends an in-doubt or failed one again.

use std::path::PathBuf;

use super::live::open_live;
use super::Status;
use crate::engine::calendar::utc;
use crate::runner::wall_now;
use crate::store::live::{OutboxRow, OutboxState};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum State {
    /// Waiting to be sent, or to be retried
    Pending,
    /// Being handed to the server now
    Sending,
    /// Accepted by the server
    Sent,
    /// Handed over when a relay stopped: maybe delivered, maybe not; not sent again unless asked
    InDoubt,
    /// Refused for good by the server (the engine got `bounced`)
    Bounced,
    /// Given up
    Failed,
}

impl State {
    fn state(self) -> OutboxState {
        match self {
            State::Pending => OutboxState::Pending,
            State::Sending => OutboxState::Sending,
            State::Sent => OutboxState::Sent,
            State::InDoubt => OutboxState::InDoubt,
            State::Bounced => OutboxState::Bounced,
            State::Failed => OutboxState::Failed,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum Format {
    #[default]
    Text,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The database of `cadence run`
    #[arg(long, value_name = "DB", env = "CADENCE_DB", hide_env_values = true)]
    db: Option<PathBuf>,
    /// Only emails in this state
    #[arg(long, value_enum)]
    state: Option<State>,
    /// Send these in-doubt or failed emails again (by id); the running relay picks them up
    #[arg(long, value_name = "ID", num_args = 1..)]
    resend: Vec<i64>,
    /// At most this many rows
    #[arg(long, value_name = "N", default_value_t = 1000)]
    limit: usize,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// A configuration file (default: the first cadence.toml here or in a parent folder)
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

fn text(rows: &[OutboxRow]) -> String {
    if rows.is_empty() {
        return "no email\n".into();
    }
    let mut out = String::new();
    for r in rows {
        let m = &r.message;
        out.push_str(&format!(
            "#{:<6} {:<8} {} to {} \"{}\"\n        {}  step {} of contact {}, {} attempt{}{}\n",
            r.id,
            r.state.as_str(),
            utc(m.at).format("%Y-%m-%d %H:%M UTC"),
            m.recipient,
            m.subject,
            m.message_id,
            m.step,
            r.contact_id,
            r.attempts,
            if r.attempts == 1 { "" } else { "s" },
            r.reply
                .as_deref()
                .map(|x| format!("; server: {x}"))
                .unwrap_or_default()
        ));
    }
    out
}

/// Prints what a query of a live database gave, as text or JSON.
pub(super) fn print_rows<T: serde::Serialize, E: std::fmt::Display>(
    rows: Result<Vec<T>, E>,
    format: Format,
    text: fn(&[T]) -> String,
) -> Status {
    let rows = match rows {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return Status::Failure;
        }
    };
    let out = match format {
        Format::Text => text(&rows),
        Format::Json => serde_json::to_string_pretty(&rows).unwrap_or_default() + "\n",
    };
    super::print_or_fail(&out)
}

pub(crate) fn run(args: Args) -> Status {
    let mut store = match open_live(args.db, args.config.as_deref()) {
        Ok(s) => s,
        Err(s) => return s,
    };
    if !args.resend.is_empty() {
        let mut status = Status::Clean;
        for id in &args.resend {
            match store.resend(*id, wall_now()) {
                Ok(Some(OutboxState::InDoubt | OutboxState::Failed)) => {
                    eprintln!("email #{id} will be sent again");
                }
                Ok(Some(s)) => {
                    eprintln!(
                        "error: email #{id} is {}; only in-doubt or failed emails are sent again",
                        s.as_str()
                    );
                    status = Status::Findings;
                }
                Ok(None) => {
                    eprintln!("error: there is no email #{id}");
                    status = Status::Findings;
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    return Status::Failure;
                }
            }
        }
        return status;
    }
    print_rows(
        store.outbox(args.state.map(State::state), args.limit),
        args.format,
        text,
    )
}
