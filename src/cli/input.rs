//! Reading the files named on the command line.

use std::io::{IsTerminal, Read};

use crate::diagnostic::HumanStyle;
use crate::syntax::{FileId, Sources};

/// The cadence files a command line names: a file as given, `-` (standard input) as given, and
/// a folder as every `*.cadence` file below it, sorted, leaving out what `.gitignore` (and
/// `.ignore`) files and hidden folders leave out. A folder without one is an error.
pub(crate) fn expand(paths: &[String]) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for path in paths {
        let p = std::path::Path::new(path);
        if path == "-" || !p.is_dir() {
            out.push(path.clone());
            continue;
        }
        let mut found: Vec<String> = ignore::WalkBuilder::new(p)
            .require_git(false)
            .build()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_some_and(|t| t.is_file()))
            .filter(|e| e.path().extension().is_some_and(|x| x == "cadence"))
            .map(|e| {
                let shown = e.path().display().to_string();
                shown
                    .strip_prefix("./")
                    .map(str::to_string)
                    .unwrap_or(shown)
            })
            .collect();
        if found.is_empty() {
            return Err(format!(
                "no `.cadence` files in `{path}` or below it (files that .gitignore leaves out are not read)"
            ));
        }
        found.sort();
        out.append(&mut found);
    }
    Ok(out)
}

/// The paths of a command that takes files, or the current folder when none is given.
pub(crate) fn or_here(paths: &[String]) -> Vec<String> {
    if paths.is_empty() {
        vec![".".to_string()]
    } else {
        paths.to_vec()
    }
}

/// Reads every file (`-` is standard input; a folder is the cadence files below it). On
/// failure, prints one line per unreadable file and returns `None`.
pub(crate) fn read_sources(paths: &[String]) -> Option<(Sources, Vec<FileId>)> {
    let paths = match expand(paths) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return None;
        }
    };
    let mut sources = Sources::new();
    let mut ids = Vec::new();
    let mut failed = false;
    let mut stdin_used = false;
    for path in &paths {
        let result = if path == "-" {
            if stdin_used {
                eprintln!("error: `-` (standard input) can be given only once");
                failed = true;
                continue;
            }
            stdin_used = true;
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map(|_| ("<stdin>".to_string(), text))
        } else {
            std::fs::read_to_string(path).map(|t| (path.clone(), t))
        };
        match result {
            Ok((name, text)) => {
                // A byte-order mark is not part of the text.
                let text = match text.strip_prefix('\u{feff}') {
                    Some(rest) => rest.to_string(),
                    None => text,
                };
                ids.push(sources.add(name, text))
            }
            Err(e) => {
                eprintln!(
                    "error: cannot read `{path}`: {}",
                    crate::diagnostic::io_reason(&e)
                );
                failed = true;
            }
        }
    }
    if failed {
        None
    } else {
        Some((sources, ids))
    }
}

/// Opens a data file named on the command line. A folder is refused as a file, so its reason
/// reads like the one for a missing file.
pub(crate) fn open_input(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    let file = std::fs::File::open(path)?;
    if file.metadata()?.is_dir() {
        return Err(std::io::ErrorKind::IsADirectory.into());
    }
    Ok(file)
}

/// Colour and width for reports on stderr: colour only on a terminal without `NO_COLOR`.
pub(crate) fn stderr_style() -> HumanStyle {
    style_for(std::io::stderr().is_terminal())
}

/// The same for reports on stdout.
pub(crate) fn stdout_style() -> HumanStyle {
    style_for(std::io::stdout().is_terminal())
}

fn style_for(tty: bool) -> HumanStyle {
    let color = tty && std::env::var_os("NO_COLOR").is_none();
    let width = if tty {
        std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.parse().ok())
            .filter(|w| *w >= 40)
            .unwrap_or(100)
    } else {
        80
    };
    HumanStyle { width, color }
}

pub(crate) fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// A checked program with its sources and syntax trees.
pub(crate) struct Loaded {
    pub sources: Sources,
    pub program: crate::check::Program,
    pub files: Vec<(FileId, crate::syntax::ast::File)>,
}

/// Reads and checks the files. When they have errors, prints them and a last line saying
/// what cannot be done (`to` completes "fix them before ..."), and gives the exit status.
pub(crate) fn load_checked(paths: &[String], to: &str) -> Result<Loaded, super::Status> {
    let (mut sources, ids) = read_sources(paths).ok_or(super::Status::Failure)?;
    let checked = crate::check::check(&mut sources, &ids);
    match checked.program {
        Some(program) if !checked.diagnostics.iter().any(|d| d.is_error()) => Ok(Loaded {
            sources,
            program,
            files: checked.files,
        }),
        _ => {
            eprint!(
                "{}",
                render_capped(&checked.diagnostics, &sources, stderr_style())
            );
            eprintln!("error: the files have errors; fix them before {to}");
            Err(super::Status::Findings)
        }
    }
}

/// The most diagnostics shown for one file in the human format; the rest are counted.
pub(crate) const MAX_SHOWN_PER_FILE: usize = 50;

/// Diagnostics in the human format, each followed by a blank line: at most
/// [`MAX_SHOWN_PER_FILE`] per file, then one line saying how many more that file has.
pub(crate) fn render_capped(
    diags: &[crate::diagnostic::Diagnostic],
    sources: &Sources,
    style: HumanStyle,
) -> String {
    let mut out = String::new();
    let mut shown: std::collections::HashMap<FileId, usize> = std::collections::HashMap::new();
    let mut hidden: Vec<(FileId, usize)> = Vec::new();
    for d in diags {
        let n = shown.entry(d.file()).or_default();
        if *n < MAX_SHOWN_PER_FILE {
            *n += 1;
            out.push_str(&crate::diagnostic::render_human(d, sources, style));
            out.push('\n');
        } else {
            match hidden.iter_mut().find(|(f, _)| *f == d.file()) {
                Some((_, k)) => *k += 1,
                None => hidden.push((d.file(), 1)),
            }
        }
    }
    for (f, k) in hidden {
        out.push_str(&format!(
            "{}: {} not shown (the first {MAX_SHOWN_PER_FILE} are above; `--format json` lists them all)\n\n",
            sources.get(f).name,
            plural(k, "more problem")
        ));
    }
    out
}

/// The most notes of one kind printed for an input file; the rest are counted.
pub(crate) const MAX_NOTES: usize = 100;

/// The files of a deploy: `paths` with `file` in place of the one that defines the cadence
/// `file` defines (by its `cadence` name, or its file stem), or added when none does.
pub(crate) fn with_new_version(
    paths: &[String],
    program: &crate::check::Program,
    file: &str,
) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read `{file}`: {}", crate::diagnostic::io_reason(&e)))?;
    let mut sources = Sources::new();
    let id = sources.add(file.to_string(), text.clone());
    let (ast, _) = crate::syntax::parse(id, &text);
    let name = ast
        .items
        .iter()
        .find_map(|i| match &i.kind {
            crate::syntax::ast::ItemKind::Cadence(n) => Some(n.node.clone()),
            _ => None,
        })
        .unwrap_or_else(|| sources.get(id).stem());
    let replaced = paths.iter().position(|p| {
        program.cadences.iter().any(|c| {
            c.name == name
                && std::path::Path::new(p).file_stem() == Some(std::ffi::OsStr::new(&c.stem))
        })
    });
    let mut out = paths.to_vec();
    match replaced {
        Some(i) => out[i] = file.to_string(),
        None => out.push(file.to_string()),
    }
    Ok(out)
}
