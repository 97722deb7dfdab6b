//! `cadence log --db DB CONTACT EVENT [--step N] [--cadence NAME] [--at T]`: records the outcome
//! of a call or a task (or any event) for a running instance. The input is queued durably; the
//! runner applies it.

use std::path::PathBuf;

use super::live::{instant, open_live};
use super::Status;
use crate::runner::program::LiveProgram;
use crate::runner::wall_now;
use crate::sim::csvin::event_input;
use crate::store::live::{InputKind, LiveStore, NewInput};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The contact's id
    #[arg(value_name = "CONTACT")]
    contact: String,
    /// An outcome (answered, no_answer, voicemail, completed, opened, replied, ...), a declared
    /// custom event, `enroll` or `unenroll`
    #[arg(value_name = "EVENT")]
    event: String,
    /// The step the outcome is for (default: the contact's latest call or task)
    #[arg(long, value_name = "N")]
    step: Option<u32>,
    /// The cadence it is for (display name or file stem)
    #[arg(long, value_name = "NAME")]
    cadence: Option<String>,
    /// When it happened (RFC 3339); default: now
    #[arg(long, value_name = "T")]
    at: Option<String>,
    /// An idempotency key: an input with a key already queued is not queued again
    #[arg(long, value_name = "KEY")]
    key: Option<String>,
    /// The database of `cadence run`
    #[arg(long, value_name = "DB", env = "CADENCE_DB", hide_env_values = true)]
    db: Option<PathBuf>,
    /// A configuration file (default: the first cadence.toml here or in a parent folder)
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

pub(crate) fn run(args: Args) -> Status {
    let mut store = match open_live(args.db.clone(), args.config.as_deref()) {
        Ok(s) => s,
        Err(s) => return s,
    };
    match queue(&mut *store, &args) {
        Ok((true, at)) => {
            eprintln!(
                "queued `{}` for `{}` at {}; the running `cadence run` applies it",
                args.event,
                args.contact,
                crate::engine::format_instant(at)
            );
            Status::Clean
        }
        Ok((false, _)) => {
            eprintln!(
                "already queued (key `{}`): nothing new",
                args.key.as_deref().unwrap_or("")
            );
            Status::Clean
        }
        Err(e) => {
            eprintln!("error: {e}");
            Status::Failure
        }
    }
}

fn queue(store: &mut dyn LiveStore, args: &Args) -> Result<(bool, i64), String> {
    let at = match &args.at {
        Some(t) => instant(t, "--at")?,
        None => wall_now(),
    };
    let lp = LiveProgram::from_store(store)?;
    let catalog = crate::engine::Catalog::new(&lp.program);
    if args.event == "set" {
        return Err("`set` changes a field: use an events file with `cadence ingest`".into());
    }
    let known = store.contact_ids().map_err(|e| e.to_string())?;
    if !known.contains(&args.contact) {
        return Err(
            match crate::syntax::closest(&args.contact, known.iter().map(String::as_str)) {
                Some(c) => format!("unknown contact `{}`; did you mean `{c}`?", args.contact),
                None => format!("unknown contact `{}`", args.contact),
            },
        );
    }
    let step = args.step.map(|s| s.to_string()).unwrap_or_default();
    event_input(
        &lp.program,
        &catalog,
        0,
        &args.event,
        &step,
        "",
        "",
        args.cadence.as_deref().unwrap_or(""),
    )?;
    let key = match &args.key {
        Some(k) => format!("log:{k}"),
        None => format!(
            "log:{}:{}",
            at,
            crate::mail::hex(&getrandom::u64().unwrap_or(0).to_le_bytes())
        ),
    };
    let input = NewInput {
        key,
        at,
        contact: args.contact.clone(),
        what: InputKind::Event {
            event: args.event.clone(),
            step: args.step,
            cadence: args.cadence.clone(),
            field: None,
            value: None,
            machine: false,
            message: None,
        },
        origin: "cadence log".into(),
    };
    let new = store
        .enqueue(&[input], wall_now())
        .map_err(|e| e.to_string())?;
    Ok((new.first().copied().unwrap_or(false), at))
}
