//! `cadence repl [FILES...] [--contacts C.csv] [--start T]`: the interactive driver. On a
//! terminal it edits lines with rustyline (completion, hints, history); otherwise it reads
//! commands line by line, without prompts or colours, so sessions can be scripted.

use std::borrow::Cow;
use std::cell::RefCell;
use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::rc::Rc;

use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Editor, Helper};

use super::Status;
use crate::check::DateValue;
use crate::engine::format_instant;
use crate::repl::complete::{complete, hint};
use crate::repl::{Known, Reply, Session};
use crate::time::parse_date;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Cadence files to load (with the library files they use)
    #[arg(value_name = "FILES")]
    files: Vec<String>,
    /// Contacts to load: a header row with `id` and one column per field
    #[arg(long, value_name = "C.csv")]
    contacts: Option<PathBuf>,
    /// Where the clock starts (RFC 3339); default: now, to the second
    #[arg(long, value_name = "T")]
    start: Option<String>,
}

struct Assist {
    known: Rc<RefCell<Known>>,
}

impl Completer for Assist {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let (start, words) = complete(line, pos, &self.known.borrow());
        Ok((
            start,
            words
                .into_iter()
                .map(|w| Pair {
                    display: w.clone(),
                    replacement: if w.ends_with('=') { w } else { format!("{w} ") },
                })
                .collect(),
        ))
    }
}

impl Hinter for Assist {
    type Hint = String;

    fn hint(&self, line: &str, pos: usize, _ctx: &Context<'_>) -> Option<String> {
        hint(line, pos)
    }
}

impl Highlighter for Assist {
    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        Cow::Owned(format!("\x1b[2m{hint}\x1b[0m"))
    }
}

impl Validator for Assist {}
impl Helper for Assist {}

/// `$XDG_DATA_HOME/cadence/history`, or `~/.local/share/cadence/history`.
fn history_file() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))?;
    let dir = base.join("cadence");
    std::fs::create_dir_all(&dir).ok()?;
    Some(dir.join("history"))
}

pub(crate) fn run(args: Args) -> Status {
    let start = match &args.start {
        None => chrono::Utc::now().timestamp(),
        Some(s) => match parse_date(s) {
            Ok(DateValue::Instant(t)) => t.timestamp(),
            Ok(DateValue::Day(d)) => d
                .and_hms_opt(0, 0, 0)
                .map(|d| d.and_utc().timestamp())
                .unwrap_or(0),
            Err(_) => {
                eprintln!("error: --start \"{s}\" is not an instant like 2026-01-05T09:00:00Z");
                return Status::Failure;
            }
        },
    };
    let (mut session, banner) = match Session::load(&args.files, args.contacts.as_deref(), start) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return Status::Findings;
        }
    };
    if std::io::stdin().is_terminal() {
        interactive(&mut session, &banner)
    } else {
        scripted(&mut session, &banner)
    }
}

/// Commands from a pipe: no prompt, no colour; errors are printed in line with the output and
/// make the exit status 1 at the end.
fn scripted(session: &mut Session, banner: &str) -> Status {
    print!("{banner}");
    let mut failed = false;
    for (n, line) in std::io::stdin().lock().lines().enumerate() {
        let Ok(line) = line else { break };
        match session.execute(&line) {
            Ok(Reply::Text(t)) => print!("{t}"),
            Ok(Reply::Quit) => break,
            Err(e) => {
                failed = true;
                println!("error (line {}): {e}", n + 1);
            }
        }
    }
    if failed {
        Status::Findings
    } else {
        Status::Clean
    }
}

fn interactive(session: &mut Session, banner: &str) -> Status {
    print!("{banner}");
    let known = Rc::new(RefCell::new(session.known()));
    let mut editor: Editor<Assist, rustyline::history::DefaultHistory> = match Editor::new() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: cannot start the line editor: {e}");
            return Status::Failure;
        }
    };
    editor.set_helper(Some(Assist {
        known: known.clone(),
    }));
    let history = history_file();
    if let Some(h) = &history {
        let _ = editor.load_history(h);
    }
    loop {
        let prompt = format!(
            "{}> ",
            format_instant(session.now())
                .replace('T', " ")
                .trim_end_matches('Z')
        );
        match editor.readline(&prompt) {
            Ok(line) => {
                if !line.trim().is_empty() {
                    let _ = editor.add_history_entry(line.as_str());
                }
                match session.execute(&line) {
                    Ok(Reply::Text(t)) => print!("{t}"),
                    Ok(Reply::Quit) => break,
                    Err(e) => println!("\x1b[31merror:\x1b[0m {e}"),
                }
                *known.borrow_mut() = session.known();
            }
            // Ctrl-C cancels the line being typed.
            Err(ReadlineError::Interrupted) => continue,
            // Ctrl-D leaves.
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                eprintln!("error: {e}");
                break;
            }
        }
    }
    if let Some(h) = &history {
        let _ = editor.save_history(h);
    }
    Status::Clean
}
