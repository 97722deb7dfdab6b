//! `cadence pause` and `cadence resume` over a running instance's database: one contact, a
//! whole cadence, or an owner's time off. Pauses of contacts are inputs queued durably (the
//! runner applies them in order with everything else); a cadence's pause and an owner's time
//! off are also stored as holds, which the runner reads at every batch.

use std::path::PathBuf;

use super::live::{instant, open_live};
use super::Status;
use crate::runner::ingest::pause_kind;
use crate::runner::program::LiveProgram;
use crate::store::live::{InputKind, NewInput};

/// What is paused or resumed.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["cadence", "contact", "owner"])))]
pub struct Target {
    /// A cadence, as a whole (display name or file stem): its contacts in flight, and those
    /// enrolled while it is paused
    #[arg(value_name = "CADENCE")]
    cadence: Option<String>,
    /// One contact: every enrolment it has, or only its enrolment in --in
    #[arg(long, value_name = "ID")]
    contact: Option<String>,
    /// With --contact: only its enrolment in this cadence
    #[arg(long = "in", value_name = "CADENCE", requires = "contact")]
    in_cadence: Option<String>,
    /// An owner (a rep): their call and task steps wait until they are back; emails go on
    #[arg(long, value_name = "NAME")]
    owner: Option<String>,
    /// When it takes effect (RFC 3339); default: the database's clock (where the runner is)
    #[arg(long, value_name = "T")]
    at: Option<String>,
    /// The database of `cadence run`
    #[arg(long, value_name = "DB", env = "CADENCE_DB", hide_env_values = true)]
    db: Option<PathBuf>,
    /// A configuration file (default: the first cadence.toml here or in a parent folder)
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct PauseArgs {
    #[command(flatten)]
    target: Target,
    /// When it resumes by itself: an instant (2026-03-16T09:00:00Z) or a time from --at (3d,
    /// 2w). Required with --owner; without it a contact or cadence waits for `cadence resume`
    #[arg(long, value_name = "T")]
    until: Option<String>,
    /// When it resumes by itself at --until: fire what fell due meanwhile, instead of
    /// continuing each wait with the time it had left
    #[arg(long)]
    catch_up: bool,
}

#[derive(Debug, clap::Args)]
pub struct ResumeArgs {
    #[command(flatten)]
    target: Target,
    /// Fire what fell due while paused (once each), instead of continuing each wait with the
    /// time it had left
    #[arg(long)]
    catch_up: bool,
}

pub(crate) fn pause(args: PauseArgs) -> Status {
    finish(act(
        &args.target,
        true,
        args.until.as_deref(),
        args.catch_up,
    ))
}

pub(crate) fn resume(args: ResumeArgs) -> Status {
    finish(act(&args.target, false, None, args.catch_up))
}

fn finish(r: Result<String, (Status, String)>) -> Status {
    match r {
        Ok(done) => {
            eprintln!("{done}");
            Status::Clean
        }
        Err((status, e)) => {
            // An empty message: it was said already (the database could not be opened).
            if !e.is_empty() {
                eprintln!("error: {e}");
            }
            status
        }
    }
}

/// The end of a pause: an instant, or a duration after `at`.
fn until_of(text: &str, at: i64) -> Result<i64, String> {
    if let Ok(t) = instant(text, "--until") {
        return Ok(t);
    }
    match crate::time::Duration::parse(text) {
        Ok(d) if d.business_days == 0 => Ok(at + d.seconds),
        _ => Err(format!(
            "--until \"{text}\" is neither an instant (2026-03-16T09:00:00Z) nor a duration (3d, 2w)"
        )),
    }
}

fn act(
    t: &Target,
    pause: bool,
    until: Option<&str>,
    catch_up: bool,
) -> Result<String, (Status, String)> {
    let mut store = open_live(t.db.clone(), t.config.as_deref()).map_err(|s| (s, String::new()))?;
    let fail = |e: String| (Status::Failure, e);
    let at = match &t.at {
        Some(a) => instant(a, "--at").map_err(fail)?,
        None => store
            .meta("clock")
            .map_err(|e| fail(e.to_string()))?
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or_else(crate::runner::wall_now),
    };
    let until = until.map(|u| until_of(u, at)).transpose().map_err(fail)?;
    if let Some(u) = until.filter(|&u| u <= at) {
        return Err(fail(format!(
            "--until {} is not after the pause starts ({}): nothing would be held",
            crate::engine::format_instant(u),
            crate::engine::format_instant(at)
        )));
    }
    let lp = LiveProgram::from_store(&mut *store).map_err(fail)?;
    let cadence_name = |name: &str| -> Result<String, (Status, String)> {
        match lp.program.cadence_by_name(name) {
            Some(i) => Ok(lp.program.cadences[i].name.clone()),
            None => {
                let names: Vec<&str> = lp
                    .program
                    .cadences
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect();
                Err(fail(
                    match crate::syntax::closest(name, names.iter().copied()) {
                        Some(c) => format!(
                            "the database runs no cadence \"{name}\"; did you mean \"{c}\"?"
                        ),
                        None => format!(
                            "the database runs no cadence \"{name}\"; it runs {}",
                            names
                                .iter()
                                .map(|n| format!("\"{n}\""))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    },
                ))
            }
        }
    };
    let when = crate::engine::format_instant(at);
    let until_text = until
        .map(|u| format!(" until {}", crate::engine::format_instant(u)))
        .unwrap_or_default();
    let verb = if pause { "pause" } else { "resume" };
    let nonce = crate::mail::hex(&getrandom::u64().unwrap_or(0).to_le_bytes());
    let input = |contact: &str, cadence: Option<String>| NewInput {
        key: format!("{verb}:{at}:{nonce}:{contact}"),
        at,
        contact: contact.to_string(),
        what: pause_kind(verb, cadence, until, catch_up),
        origin: format!("cadence {verb}"),
    };
    let now = crate::runner::wall_now();
    let hold = |owner: bool, name: &str| NewInput {
        key: format!(
            "{verb}:{at}:{nonce}:{}:{name}",
            if owner { "owner" } else { "cadence" }
        ),
        at,
        contact: String::new(),
        what: InputKind::Hold {
            owner,
            name: name.to_string(),
            pause,
            until,
            catch_up,
        },
        origin: format!("cadence {verb}"),
    };
    if let Some(owner) = &t.owner {
        if catch_up {
            return Err(fail(
                "--catch-up is for contacts and cadences: an owner's calls and tasks are due when they are back".into(),
            ));
        }
        if pause && until.is_none() {
            return Err(fail(
                "--owner needs --until: when the owner is back (their calls and tasks wait until then)".into(),
            ));
        }
        store
            .enqueue(&[hold(true, owner)], now)
            .map_err(|e| fail(e.to_string()))?;
        return Ok(if pause {
            format!("queued: `{owner}` is away from {when}{until_text}; their call and task steps wait until then, and their open ones are due then; emails go on")
        } else {
            format!(
                "queued: `{owner}` is back at {when}; their calls and tasks are due as usual again"
            )
        });
    }
    if let Some(contact) = &t.contact {
        let known = store.contact_ids().map_err(|e| fail(e.to_string()))?;
        if !known.contains(contact) {
            return Err(fail(
                match crate::syntax::closest(contact, known.iter().map(String::as_str)) {
                    Some(c) => format!("unknown contact `{contact}`; did you mean `{c}`?"),
                    None => format!("unknown contact `{contact}`"),
                },
            ));
        }
        let cadence = t.in_cadence.as_deref().map(cadence_name).transpose()?;
        store
            .enqueue(&[input(contact, cadence.clone())], now)
            .map_err(|e| fail(e.to_string()))?;
        let scope = cadence.map(|c| format!(" in \"{c}\"")).unwrap_or_default();
        return Ok(format!(
            "queued: {verb} `{contact}`{scope} at {when}{until_text}; the running `cadence run` applies it"
        ));
    }
    let name = cadence_name(t.cadence.as_deref().unwrap_or_default())?;
    store
        .enqueue(&[hold(false, &name)], now)
        .map_err(|e| fail(e.to_string()))?;
    Ok(if pause {
        format!(
            "queued: pause \"{name}\" at {when}{until_text}; the runner holds the timers of its contacts in flight then, and contacts enrolled while it is paused start paused"
        )
    } else {
        format!(
            "queued: resume \"{name}\" at {when}; its paused contacts continue {}",
            if catch_up {
                "and what fell due meanwhile is due then"
            } else {
                "with the time their waits had left"
            }
        )
    })
}
