//! What the server knows of a document: the files checked with it (the `.cadence` files of its
//! folder, as `cadence check FOLDER` reads them, with the editor's unsaved text in place of
//! the disk's), their syntax trees, the checked program, and the check and lint findings.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use lsp_types::{
    CodeDescription, DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString,
    Uri,
};

use super::index::{occurrences, LineIndex, Occurrence};
use crate::check::{check, Checked};
use crate::diagnostic::{Diagnostic, Severity};
use crate::lint::{lint, Cx, Limits, Selection};
use crate::syntax::{ast, FileId, Sources};

/// The largest file read from the disk beside an open document.
const MAX_FILE_BYTES: u64 = 4 << 20;

/// An open document.
#[derive(Debug, Clone)]
pub struct Doc {
    pub text: String,
    pub version: i32,
}

/// One file of a group.
#[derive(Debug)]
pub struct GroupFile {
    pub id: FileId,
    /// The URI the client knows it by (its own, when the document is open).
    pub uri: String,
    pub occurrences: Vec<Occurrence>,
}

/// Files checked together.
#[derive(Debug)]
pub struct Group {
    pub sources: Sources,
    pub files: Vec<GroupFile>,
    pub checked: Checked,
    /// Check and lint findings, sorted.
    pub diagnostics: Vec<Diagnostic>,
    /// The configuration could not be read: the lint ran with its defaults.
    pub config_error: Option<String>,
}

impl Group {
    pub fn file(&self, uri: &str) -> Option<&GroupFile> {
        self.files.iter().find(|f| f.uri == uri)
    }

    pub fn file_of(&self, id: FileId) -> Option<&GroupFile> {
        self.files.iter().find(|f| f.id == id)
    }

    pub fn ast(&self, id: FileId) -> Option<&ast::File> {
        self.checked
            .files
            .iter()
            .find(|(f, _)| *f == id)
            .map(|(_, a)| a)
    }

    pub fn text(&self, id: FileId) -> &str {
        &self.sources.get(id).text
    }
}

/// The path of a `file:` URI.
pub fn uri_path(uri: &str) -> Option<PathBuf> {
    let u = url::Url::parse(uri).ok()?;
    if u.scheme() != "file" {
        return None;
    }
    u.to_file_path().ok()
}

/// The `file:` URI of a path. Characters that `url` leaves as they are but a URI may not hold
/// (`[`, `]`, `^`, `|`, `\`) are percent-encoded.
pub fn path_uri(path: &Path) -> Option<String> {
    let u = url::Url::from_file_path(path).ok()?.to_string();
    Some(
        u.replace('[', "%5B")
            .replace(']', "%5D")
            .replace('^', "%5E")
            .replace('|', "%7C")
            .replace('\\', "%5C"),
    )
}

/// The folder of a document: the group's key (`None` for a document that is not a file).
pub fn folder_of(uri: &str) -> Option<PathBuf> {
    uri_path(uri)?.parent().map(Path::to_path_buf)
}

/// Loads and checks the group of `uri`.
/// `listings` keeps the `.cadence` files found below each folder between changes (the caller
/// empties it when files may have come or gone).
pub fn load(
    uri: &str,
    docs: &HashMap<String, Doc>,
    listings: &mut HashMap<PathBuf, Vec<PathBuf>>,
) -> Group {
    let mut sources = Sources::new();
    let mut members: Vec<(FileId, String)> = Vec::new();
    match uri_path(uri) {
        Some(path) => {
            let open: HashMap<PathBuf, &str> = docs
                .keys()
                .filter_map(|u| Some((uri_path(u)?, u.as_str())))
                .collect();
            let folder = path.parent().map(Path::to_path_buf).unwrap_or_default();
            let mut paths = listings
                .entry(folder.clone())
                .or_insert_with(|| cadence_files(&folder))
                .clone();
            // Open documents of the folder (or below it) that are not on the disk (yet)
            // belong too.
            for p in open.keys().filter(|p| p.starts_with(&folder)) {
                if !paths.contains(p) {
                    paths.push(p.clone());
                }
            }
            if !paths.contains(&path) {
                paths.push(path.clone());
            }
            paths.sort();
            for p in paths {
                let (client_uri, text) = match open.get(&p) {
                    Some(u) => (u.to_string(), docs[*u].text.clone()),
                    None => {
                        let Some(text) = read_small(&p) else {
                            continue;
                        };
                        let Some(u) = path_uri(&p) else {
                            continue;
                        };
                        (u, text)
                    }
                };
                let id = sources.add(p.display().to_string(), text);
                members.push((id, client_uri));
            }
        }
        None => {
            let text = docs.get(uri).map(|d| d.text.clone()).unwrap_or_default();
            let id = sources.add(uri.to_string(), text);
            members.push((id, uri.to_string()));
        }
    }
    let ids: Vec<FileId> = members.iter().map(|(id, _)| *id).collect();
    let checked = check(&mut sources, &ids);
    let mut diagnostics = checked.diagnostics.clone();
    let mut config_error = None;
    if let Some(program) = &checked.program {
        let (config, error) = config_for(uri);
        config_error = error;
        let lc = &config.file.lint;
        let cx = Cx {
            program,
            files: &checked.files,
            sources: &sources,
            limits: Limits {
                max_emails: lc.max_emails.unwrap_or(8),
                max_days: f64::from(lc.max_days.unwrap_or(90)),
            },
        };
        let selection = Selection {
            select: lc.select.clone().unwrap_or_default(),
            ignore: lc.ignore.clone().unwrap_or_default(),
        };
        let mut found = lint(&cx, &selection);
        if let Some(globs) = &lc.per_file_ignores {
            let ignores = crate::cli::lint::PerFileIgnores::new(
                globs,
                config.path.as_ref().and_then(|p| p.parent()),
            );
            found.retain(|d| !ignores.ignores(d, &sources));
        }
        diagnostics.extend(found);
        crate::diagnostic::sort(&mut diagnostics);
    }
    let files = members
        .into_iter()
        .map(|(id, uri)| {
            let occurrences = checked
                .files
                .iter()
                .find(|(f, _)| *f == id)
                .map(|(_, a)| occurrences(a, &sources.get(id).text))
                .unwrap_or_default();
            GroupFile {
                id,
                uri,
                occurrences,
            }
        })
        .collect();
    Group {
        sources,
        files,
        checked,
        diagnostics,
        config_error,
    }
}

/// The `*.cadence` files of a folder as `cadence check FOLDER` reads them: every one below it,
/// sorted, leaving out what `.gitignore` files and hidden folders leave out.
fn cadence_files(folder: &Path) -> Vec<PathBuf> {
    let Some(f) = folder.to_str() else {
        return Vec::new();
    };
    crate::cli::input::expand(&[f.to_string()])
        .map(|v| v.into_iter().map(PathBuf::from).collect())
        .unwrap_or_default()
}

fn read_small(path: &Path) -> Option<String> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() || meta.len() > MAX_FILE_BYTES {
        return None;
    }
    std::fs::read_to_string(path).ok()
}

/// The configuration of a document's folder (the first `cadence.toml` there or above), and why
/// it could not be read.
fn config_for(uri: &str) -> (crate::cli::config::Config, Option<String>) {
    let Some(path) = folder_of(uri).and_then(|f| crate::cli::config::find(Some(f))) else {
        return (Default::default(), None);
    };
    match crate::cli::config::load(Some(&path)) {
        Ok(c) => (c, None),
        Err(e) => (Default::default(), Some(e)),
    }
}

/// The line index of every source of a group (body files included), by file id.
pub fn line_indexes(group: &Group, utf8: bool) -> Vec<LineIndex<'_>> {
    group
        .sources
        .ids()
        .map(|id| LineIndex::new(group.text(id), utf8))
        .collect()
}

/// The URI of a source: its member's, or a body file's by its path.
pub fn uri_of(group: &Group, id: FileId) -> Option<String> {
    if let Some(f) = group.file_of(id) {
        return Some(f.uri.clone());
    }
    let path = Path::new(&group.sources.get(id).name);
    if path.is_absolute() {
        path_uri(path)
    } else {
        None
    }
}

/// A finding as the protocol has it, in the file of its primary label. `explain` gives the
/// address of a code's page.
pub fn to_lsp(
    d: &Diagnostic,
    group: &Group,
    lines: &[LineIndex],
    explain: &mut dyn FnMut(&str) -> Option<Uri>,
) -> lsp_types::Diagnostic {
    let primary = &d.labels[0];
    let mut message = d.message.clone();
    if !primary.message.is_empty() && !d.message.contains(&primary.message) {
        message.push_str(&format!("\n{}", primary.message));
    }
    if let Some(h) = &d.help {
        message.push_str(&format!("\nhelp: {h}"));
    }
    let related: Vec<DiagnosticRelatedInformation> = d.labels[1..]
        .iter()
        .filter_map(|l| {
            Some(DiagnosticRelatedInformation {
                location: Location::new(
                    uri_of(group, l.file)?.parse().ok()?,
                    lines.get(l.file.0)?.range(l.span),
                ),
                message: l.message.clone(),
            })
        })
        .collect();
    lsp_types::Diagnostic {
        range: lines
            .get(primary.file.0)
            .map(|ix| ix.range(primary.span))
            .unwrap_or_default(),
        severity: Some(match d.severity {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
        }),
        code: Some(NumberOrString::String(d.code.to_string())),
        code_description: explain(d.code).map(|href| CodeDescription { href }),
        source: Some("cadence".into()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        tags: None,
        data: None,
    }
}

/// The page of a code (`cadence explain CODE`).
pub fn page(code: &str) -> Option<String> {
    crate::diagnostic::explain(code).or_else(|| crate::lint::explain(code))
}

/// The replacement a finding's help proposes (`did you mean `X`?`), for a quick fix: the text
/// to put in place of the primary span.
pub fn suggestion(d: &Diagnostic, text: &str) -> Option<String> {
    let help = d.help.as_deref()?;
    let rest = &help[help.find("did you mean ")? + "did you mean ".len()..];
    let (open, close) = match rest.chars().next()? {
        '`' => ('`', '`'),
        '"' => ('"', '"'),
        _ => return None,
    };
    let inner = &rest[1..];
    let word = &inner[..inner.find(close)?];
    if word.is_empty() || word.contains(char::is_whitespace) {
        return None;
    }
    let current = text.get(d.span().range())?;
    if current.contains(char::is_whitespace) || current.is_empty() {
        return None;
    }
    // A quoted suggestion replaces a quoted string whole; a word replaces a word.
    let quoted = current.starts_with('"');
    Some(match (open, quoted) {
        ('"', true) => format!("\"{word}\""),
        ('"', false) => return None,
        (_, true) => format!("\"{word}\""),
        _ => word.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::Span;

    fn diag(text: &str, word: &str, help: &str) -> Diagnostic {
        let start = text.find(word).unwrap();
        Diagnostic::error(
            "E114",
            FileId(0),
            Span::new(start, start + word.len()),
            "m",
            "l",
        )
        .with_help(help)
    }

    #[test]
    fn a_did_you_mean_becomes_the_replacement_of_the_word() {
        let text = "on opend -> next";
        let d = diag(
            text,
            "opend",
            "did you mean `opened`? an email step has ...",
        );
        assert_eq!(suggestion(&d, text).as_deref(), Some("opened"));
        // A quoted suggestion replaces a quoted string whole.
        let text = "timezone \"Europe/Pari\"";
        let d = diag(text, "\"Europe/Pari\"", "did you mean \"Europe/Paris\"?");
        assert_eq!(suggestion(&d, text).as_deref(), Some("\"Europe/Paris\""));
        // No suggestion, or one that is not a single word: no fix.
        let d = diag("on opend", "opend", "an email step has opened, clicked");
        assert_eq!(suggestion(&d, "on opend"), None);
        let d = diag("on opend", "opend", "did you mean `is set`?");
        assert_eq!(suggestion(&d, "on opend"), None);
    }

    #[test]
    fn file_uris_and_paths_go_both_ways() {
        let p = Path::new("/tmp/a folder/x.cadence");
        let u = path_uri(p).unwrap();
        assert_eq!(u, "file:///tmp/a%20folder/x.cadence");
        assert_eq!(uri_path(&u).as_deref(), Some(p));
        assert_eq!(folder_of(&u).as_deref(), Some(Path::new("/tmp/a folder")));
        assert_eq!(uri_path("untitled:Untitled-1"), None);
        let odd = Path::new("/tmp/z[1]^|.cadence");
        let u = path_uri(odd).unwrap();
        assert!(u.parse::<Uri>().is_ok(), "{u}");
        assert_eq!(uri_path(&u).as_deref(), Some(odd));
    }
}
