//! `cadence mail --db DB [--contact ID] [--unmatched] [--format text|json]`: the messages
//! `cadence run --imap` read from the sending mailboxes, what each was taken for (a reply, an
//! automatic answer, a bounce) and which contact and message of ours it was matched to.

use std::path::PathBuf;

use super::live::open_live;
use super::outbox::{print_rows, Format};
use super::Status;
use crate::engine::calendar::utc;
use crate::store::live::MailRow;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The database of `cadence run`
    #[arg(long, value_name = "DB", env = "CADENCE_DB", hide_env_values = true)]
    db: Option<PathBuf>,
    /// Only the messages matched to this contact
    #[arg(long, value_name = "ID", conflicts_with = "unmatched")]
    contact: Option<String>,
    /// Only the messages matched to no contact (never guessed onto one)
    #[arg(long)]
    unmatched: bool,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// A configuration file (default: the first cadence.toml here or in a parent folder)
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

/// Text from a stranger, safe to print on a terminal (control characters escaped).
fn shown(s: &str) -> String {
    crate::diagnostic::printable(s).into_owned()
}

fn text(rows: &[MailRow]) -> String {
    if rows.is_empty() {
        return "no mail read\n".into();
    }
    let mut out = String::new();
    for r in rows {
        out.push_str(&format!(
            "{}  {:<16} from {} \"{}\"\n",
            utc(r.at).format("%Y-%m-%d %H:%M UTC"),
            r.class,
            shown(r.sender.as_deref().unwrap_or("(no sender)")),
            shown(&r.subject),
        ));
        match (&r.contact, &r.ours) {
            (Some(c), Some(ours)) => out.push_str(&format!(
                "        contact {}: {} (our <{}> of {}, matched by {})\n",
                shown(c),
                r.event.as_deref().unwrap_or("no event"),
                shown(ours),
                r.sent
                    .map(|s| utc(s).format("%Y-%m-%d %H:%M").to_string())
                    .unwrap_or_default(),
                r.matched_by.as_deref().unwrap_or("?"),
            )),
            _ => out.push_str("        matched to no contact\n"),
        }
        if let Some(n) = &r.note {
            if !n.is_empty() {
                out.push_str(&format!("        {}\n", shown(n)));
            }
        }
        out.push_str(&format!(
            "        {} uid {}{}\n",
            shown(&r.mailbox),
            r.uid,
            r.message_id
                .as_deref()
                .map(|m| format!(", Message-ID <{}>", shown(m)))
                .unwrap_or_default()
        ));
    }
    out
}

pub(crate) fn run(args: Args) -> Status {
    let mut store = match open_live(args.db, args.config.as_deref()) {
        Ok(s) => s,
        Err(s) => return s,
    };
    print_rows(
        store.mail_log(args.contact.as_deref(), args.unmatched),
        args.format,
        text,
    )
}
