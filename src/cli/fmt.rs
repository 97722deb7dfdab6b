//! `cadence fmt [PATHS...] [--check]`: formats files in place (a folder: every cadence file
//! below it; none: the current folder), or standard input (`-`) to standard output; `--check`
//! prints a diff and exits 1 when a file would change.

use std::io::{IsTerminal, Read};

use super::input::{plural, render_capped, stderr_style};
use super::Status;
use crate::fmt::{format, unified_diff};
use crate::syntax::{parse, Sources};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Files or folders to format in place (default: the current folder; `-`: standard input
    /// to standard output)
    #[arg(value_name = "PATHS")]
    files: Vec<String>,
    /// Change nothing: print a diff of what would change and exit 1 if anything would
    #[arg(long)]
    check: bool,
}

/// Formats one text; `Err` holds the report when it does not parse.
pub(crate) fn format_text(name: &str, text: &str) -> Result<String, String> {
    let mut sources = Sources::new();
    let id = sources.add(name, text);
    let (file, diags) = parse(id, text);
    if !diags.is_empty() {
        let mut out = render_capped(&diags, &sources, stderr_style());
        out.push_str(&format!(
            "error: cannot format `{name}`: it does not parse (fix the errors above)\n"
        ));
        return Err(out);
    }
    let formatted = format(sources.get(id), &file);
    // Never write something that reads differently: the result must parse and keep every
    // comment.
    let mut again = Sources::new();
    let id2 = again.add(name, formatted.clone());
    let (file2, diags2) = parse(id2, &formatted);
    let kept = file
        .comments
        .iter()
        .all(|c| formatted.contains(c.text.trim_end()));
    let codes = |text: &str| {
        let mut s = Sources::new();
        let id = s.add(name, text);
        let mut c: Vec<&'static str> = crate::check::check(&mut s, &[id])
            .diagnostics
            .iter()
            .map(|d| d.code)
            .collect();
        c.sort_unstable();
        c
    };
    let same_meaning = codes(text) == codes(&formatted);
    if !diags2.is_empty() || !kept || file2.items.len() != file.items.len() || !same_meaning {
        return Err(format!(
            "error: cannot format `{name}` safely (the result would read differently); please report this file\n"
        ));
    }
    Ok(formatted)
}

pub(crate) fn run(args: Args) -> Status {
    // `-` is standard input. With no path, text piped in is formatted as before; with nothing
    // piped (a terminal, or an empty or closed input, as in CI), the current folder is.
    let piped = if args.files == ["-"] {
        let mut text = String::new();
        if std::io::stdin().read_to_string(&mut text).is_err() {
            eprintln!("error: cannot read standard input (is it UTF-8 text?)");
            return Status::Failure;
        }
        Some(text)
    } else if args.files.is_empty() && !std::io::stdin().is_terminal() && stdin_ready() {
        let mut text = String::new();
        match std::io::stdin().read_to_string(&mut text) {
            Ok(_) if !text.trim().is_empty() => Some(text),
            Ok(_) => None,
            Err(_) => {
                eprintln!("error: cannot read standard input (is it UTF-8 text?)");
                return Status::Failure;
            }
        }
    } else {
        None
    };
    if let Some(text) = piped {
        let text = text
            .strip_prefix('\u{feff}')
            .map(str::to_string)
            .unwrap_or(text);
        return match format_text("<stdin>", &text) {
            Ok(f) if args.check => {
                let d = unified_diff("<stdin>", &text, &f);
                print!("{d}");
                if d.is_empty() {
                    Status::Clean
                } else {
                    Status::Findings
                }
            }
            Ok(f) => {
                print!("{f}");
                Status::Clean
            }
            Err(e) => {
                eprint!("{e}");
                Status::Findings
            }
        };
    }
    let files = match super::input::expand(&super::input::or_here(&args.files)) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return Status::Failure;
        }
    };
    if files.iter().any(|f| f == "-") {
        eprintln!("error: `-` (standard input) is given alone: `cadence fmt - < in.cadence`");
        return Status::Failure;
    }
    let mut changed = 0;
    let mut failed = false;
    let mut io_error = false;
    for path in &files {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!(
                    "error: cannot read `{path}`: {}",
                    crate::diagnostic::io_reason(&e)
                );
                io_error = true;
                continue;
            }
        };
        let body = text.strip_prefix('\u{feff}').unwrap_or(&text);
        match format_text(path, body) {
            Ok(f) if f == text => {}
            Ok(f) => {
                changed += 1;
                if args.check {
                    print!("{}", unified_diff(path, &text, &f));
                } else if let Err(e) = write_whole(std::path::Path::new(path), &f) {
                    eprintln!(
                        "error: cannot write `{path}`: {}; it is unchanged",
                        crate::diagnostic::io_reason(&e)
                    );
                    changed -= 1;
                    io_error = true;
                }
            }
            Err(e) => {
                eprint!("{e}");
                failed = true;
            }
        }
    }
    let total = files.len();
    if args.check {
        if changed > 0 {
            eprintln!(
                "{} of {} would be reformatted; run `cadence fmt` on them",
                plural(changed, "file"),
                total
            );
        } else if !failed && !io_error {
            eprintln!("{} already formatted", plural(total, "file"));
        }
    } else {
        eprintln!(
            "formatted {} ({} unchanged)",
            plural(changed, "file"),
            total - changed
        );
    }
    if io_error {
        Status::Failure
    } else if failed || (args.check && changed > 0) {
        Status::Findings
    } else {
        Status::Clean
    }
}

/// Writes a file whole or not at all: into a temporary file beside it, then renamed over it
/// (a full disk or a failed write leaves the original as it was).
fn write_whole(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.cadence-fmt.tmp"));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        if let Ok(meta) = std::fs::metadata(path) {
            std::fs::set_permissions(&tmp, meta.permissions())?;
        }
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Whether standard input has something to read, or its end, within a moment: text piped to
/// `fmt` is there at once, while an input left open by a CI runner never is (and must not make
/// `fmt` wait for ever).
#[cfg(unix)]
fn stdin_ready() -> bool {
    let mut fd = libc::pollfd {
        fd: 0,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd, for the process's own standard input.
    let n = unsafe { libc::poll(&mut fd, 1, 500) };
    n > 0 && fd.revents & (libc::POLLIN | libc::POLLHUP) != 0
}

#[cfg(not(unix))]
fn stdin_ready() -> bool {
    false
}
