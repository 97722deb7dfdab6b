//! `cadence fmt [FILES...] [--check]`: formats files in place, or standard input to standard
//! output; `--check` prints a diff and exits 1 when a file would change.

use std::io::Read;

use super::input::{plural, stderr_style};
use super::Status;
use crate::diagnostic::render_human;
use crate::fmt::{format, unified_diff};
use crate::syntax::{parse, Sources};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Files to format in place (`-` or none: standard input to standard output)
    #[arg(value_name = "FILES")]
    files: Vec<String>,
    /// Change nothing: print a diff of what would change and exit 1 if anything would
    #[arg(long)]
    check: bool,
}

/// Formats one text; `Err` holds the report when it does not parse.
fn format_text(name: &str, text: &str) -> Result<String, String> {
    let mut sources = Sources::new();
    let id = sources.add(name, text);
    let (file, diags) = parse(id, text);
    if !diags.is_empty() {
        let style = stderr_style();
        let mut out = String::new();
        for d in &diags {
            out.push_str(&render_human(d, &sources, style));
        }
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
    let stdin = args.files.is_empty() || args.files == ["-"];
    if stdin {
        let mut text = String::new();
        if std::io::stdin().read_to_string(&mut text).is_err() {
            eprintln!("error: cannot read standard input (is it UTF-8 text?)");
            return Status::Failure;
        }
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
    let mut changed = 0;
    let mut failed = false;
    let mut io_error = false;
    for path in &args.files {
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
                } else if let Err(e) = std::fs::write(path, f) {
                    eprintln!("error: cannot write `{path}`: {e}");
                    io_error = true;
                }
            }
            Err(e) => {
                eprint!("{e}");
                failed = true;
            }
        }
    }
    let total = args.files.len();
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
