//! `cadence lsp`: a Language Server Protocol server over standard input and output. It reuses
//! the project's own parser, checker, linter and formatter: what the editor shows is what
//! `cadence check`, `cadence lint` and `cadence fmt` say.
//!
//! One thread reads frames into a channel; the main thread answers them in order. Changes are
//! coalesced: diagnostics are published once the queue is empty. A request that panics is
//! answered with an error and the server goes on.

mod analysis;
mod features;
pub mod index;
pub mod transport;

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::mpsc;

use lsp_server::{ErrorCode, Message, Notification, Request, Response};
use lsp_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, CodeActionProviderCapability, CodeLensOptions,
    CompletionOptions, HoverProviderCapability, InitializeParams, OneOf, PositionEncodingKind,
    PublishDiagnosticsParams, RenameOptions, ServerCapabilities, ServerInfo,
    TextDocumentSyncCapability, TextDocumentSyncKind, TextEdit, Uri, WorkspaceEdit,
};
use serde_json::Value;

use analysis::{folder_of, Doc, Group};
use index::LineIndex;
use transport::Frame;

/// Why the session ended badly.
#[derive(Debug)]
pub enum LspError {
    Io(std::io::Error),
    /// `exit` came without `shutdown` before it.
    ExitWithoutShutdown,
}

impl std::fmt::Display for LspError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LspError::Io(e) => write!(f, "{e}"),
            LspError::ExitWithoutShutdown => {
                f.write_str("the client sent `exit` before `shutdown`")
            }
        }
    }
}

impl From<std::io::Error> for LspError {
    fn from(e: std::io::Error) -> LspError {
        LspError::Io(e)
    }
}

/// Serves one client on `input` and `output` until `exit` or the end of the input.
pub fn serve(input: Box<dyn BufRead + Send>, output: &mut dyn Write) -> Result<(), LspError> {
    let (tx, rx) = mpsc::channel::<std::io::Result<Frame>>();
    std::thread::Builder::new()
        .name("lsp-reader".into())
        .spawn(move || {
            let mut input = input;
            loop {
                match transport::read(&mut input) {
                    Ok(Some(f)) => {
                        if tx.send(Ok(f)).is_err() {
                            return;
                        }
                    }
                    Ok(None) => return,
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                }
            }
        })?;
    let mut server = Server {
        out: output,
        state: State::default(),
    };
    loop {
        let frame = if server.state.dirty.is_empty() {
            match rx.recv() {
                Ok(f) => f,
                Err(_) => break,
            }
        } else {
            match rx.try_recv() {
                Ok(f) => f,
                Err(mpsc::TryRecvError::Empty) => {
                    server.publish_dirty()?;
                    continue;
                }
                Err(mpsc::TryRecvError::Disconnected) => {
                    server.publish_dirty()?;
                    break;
                }
            }
        };
        match frame? {
            Frame::Invalid { id, code, message } => {
                // Answered with the request's id when one could be read, else with `null`.
                transport::write_invalid(server.out, id, code, &message)?;
            }
            Frame::Message(Message::Request(req)) => server.request(req)?,
            Frame::Message(Message::Notification(n)) => {
                if n.method == "exit" {
                    return if server.state.shutdown {
                        Ok(())
                    } else {
                        Err(LspError::ExitWithoutShutdown)
                    };
                }
                server.notification(n)?;
            }
            Frame::Message(Message::Response(_)) => {}
        }
    }
    Ok(())
}

#[derive(Default)]
struct State {
    initialized: bool,
    shutdown: bool,
    /// Columns are counted in bytes (the client offered UTF-8), else in UTF-16 units.
    utf8: bool,
    docs: HashMap<String, Doc>,
    /// Checked groups by key (a folder, or the URI of a document that is not a file).
    groups: HashMap<String, Rc<Group>>,
    /// Groups whose open documents need their diagnostics published again.
    dirty: HashSet<String>,
    /// The files diagnostics were published for with findings, and the groups that did (a
    /// file is cleared when the last of them has none).
    published: HashMap<String, std::collections::BTreeSet<String>>,
    /// Written pages of codes, for the links of diagnostics.
    pages: HashMap<String, Option<Uri>>,
    /// Configuration errors already shown.
    shown_errors: HashSet<String>,
    /// Documents closed since the last publication: their diagnostics are cleared.
    closed: Vec<String>,
    /// The `.cadence` files below each folder, read again when files may have come or gone
    /// (a document opened or closed, a file saved, a watched file changed).
    listings: HashMap<PathBuf, Vec<PathBuf>>,
    /// The client registers file watchers when asked (`.cadence` files and `cadence.toml`
    /// changed on the disk, by `git checkout` say, are then checked again).
    watch: bool,
}

fn key_of(uri: &str) -> String {
    match folder_of(uri) {
        Some(f) => f.display().to_string(),
        None => uri.to_string(),
    }
}

/// The folder the pages of codes are written to, for the links of diagnostics.
fn pages_dir() -> Option<PathBuf> {
    // Relative values are ignored, as the XDG specification asks.
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME")
                .map(PathBuf::from)
                .filter(|p| p.is_absolute())
                .map(|h| h.join(".cache"))
        })?;
    Some(
        base.join("cadence")
            .join(format!("explain-{}", env!("CARGO_PKG_VERSION"))),
    )
}

struct Server<'o> {
    out: &'o mut dyn Write,
    state: State,
}

/// An error answer.
struct Failure(i32, String);

impl Failure {
    fn params(e: impl std::fmt::Display) -> Failure {
        Failure(
            ErrorCode::InvalidParams as i32,
            format!("invalid parameters: {e}"),
        )
    }
}

type Answer = Result<Value, Failure>;

fn params<P: serde::de::DeserializeOwned>(v: Value) -> Result<P, Failure> {
    serde_json::from_value(v).map_err(Failure::params)
}

impl Server<'_> {
    fn send(&mut self, m: Message) -> std::io::Result<()> {
        transport::write(self.out, &m)
    }

    fn notify(&mut self, method: &str, params: impl serde::Serialize) -> std::io::Result<()> {
        self.send(Message::Notification(Notification::new(
            method.into(),
            params,
        )))
    }

    fn log(&mut self, kind: i32, message: String) -> std::io::Result<()> {
        self.notify(
            "window/logMessage",
            serde_json::json!({ "type": kind, "message": message }),
        )
    }

    fn request(&mut self, req: Request) -> std::io::Result<()> {
        let Request { id, method, params } = req;
        let answer = if method == "initialize" {
            self.initialize(params)
        } else if !self.state.initialized {
            Err(Failure(
                ErrorCode::ServerNotInitialized as i32,
                "the server is not initialized: send `initialize` first".into(),
            ))
        } else if self.state.shutdown {
            Err(Failure(
                ErrorCode::InvalidRequest as i32,
                "the server is shutting down".into(),
            ))
        } else if method == "shutdown" {
            self.state.shutdown = true;
            Ok(Value::Null)
        } else {
            let state = &mut self.state;
            match catch_unwind(AssertUnwindSafe(|| answer(state, &method, params))) {
                Ok(a) => a,
                Err(panic) => Err(Failure(
                    ErrorCode::InternalError as i32,
                    format!(
                        "internal error while answering `{method}`: {}; please report it with the document",
                        panic_text(&panic)
                    ),
                )),
            }
        };
        let response = match answer {
            Ok(v) => Response::new_ok(id, v),
            Err(Failure(code, message)) => Response::new_err(id, code, message),
        };
        self.send(Message::Response(response))?;
        self.show_config_errors()
    }

    fn initialize(&mut self, p: Value) -> Answer {
        if self.state.initialized {
            return Err(Failure(
                ErrorCode::InvalidRequest as i32,
                "`initialize` was already sent".into(),
            ));
        }
        let p: InitializeParams = params(p)?;
        let utf8 = p
            .capabilities
            .general
            .as_ref()
            .and_then(|g| g.position_encodings.as_ref())
            .is_some_and(|e| e.contains(&PositionEncodingKind::UTF8));
        self.state.utf8 = utf8;
        self.state.initialized = true;
        self.state.watch = p
            .capabilities
            .workspace
            .as_ref()
            .and_then(|w| w.did_change_watched_files.as_ref())
            .and_then(|d| d.dynamic_registration)
            .unwrap_or(false);
        let caps = ServerCapabilities {
            position_encoding: Some(if utf8 {
                PositionEncodingKind::UTF8
            } else {
                PositionEncodingKind::UTF16
            }),
            text_document_sync: Some(TextDocumentSyncCapability::Kind(TextDocumentSyncKind::FULL)),
            hover_provider: Some(HoverProviderCapability::Simple(true)),
            completion_provider: Some(CompletionOptions {
                trigger_characters: Some(vec![" ".into(), "{".into(), "\"".into(), ">".into()]),
                ..Default::default()
            }),
            definition_provider: Some(OneOf::Left(true)),
            references_provider: Some(OneOf::Left(true)),
            rename_provider: Some(OneOf::Right(RenameOptions {
                prepare_provider: Some(true),
                work_done_progress_options: Default::default(),
            })),
            document_formatting_provider: Some(OneOf::Left(true)),
            code_action_provider: Some(CodeActionProviderCapability::Options(
                lsp_types::CodeActionOptions {
                    code_action_kinds: Some(vec![CodeActionKind::QUICKFIX]),
                    ..Default::default()
                },
            )),
            document_symbol_provider: Some(OneOf::Left(true)),
            code_lens_provider: Some(CodeLensOptions {
                resolve_provider: Some(false),
            }),
            ..Default::default()
        };
        let result = lsp_types::InitializeResult {
            capabilities: caps,
            server_info: Some(ServerInfo {
                name: "cadence".into(),
                version: Some(env!("CARGO_PKG_VERSION").into()),
            }),
        };
        serde_json::to_value(result)
            .map_err(|e| Failure(ErrorCode::InternalError as i32, e.to_string()))
    }

    fn notification(&mut self, n: Notification) -> std::io::Result<()> {
        if !self.state.initialized {
            return Ok(());
        }
        if n.method == "initialized" && self.state.watch {
            let watchers = serde_json::json!({
                "registrations": [{
                    "id": "cadence-files",
                    "method": "workspace/didChangeWatchedFiles",
                    "registerOptions": { "watchers": [
                        { "globPattern": "**/*.cadence" },
                        { "globPattern": "**/cadence.toml" },
                    ]},
                }],
            });
            return self.send(Message::Request(Request::new(
                lsp_server::RequestId::from("register-watchers".to_string()),
                "client/registerCapability".into(),
                watchers,
            )));
        }
        let state = &mut self.state;
        let method = n.method.clone();
        let r = catch_unwind(AssertUnwindSafe(|| notification(state, n)));
        match r {
            Ok(Ok(())) => Ok(()),
            Ok(Err(Failure(_, message))) => self.log(1, format!("{method}: {message}")),
            Err(panic) => self.log(
                1,
                format!(
                    "internal error on `{method}`: {}; please report it with the document",
                    panic_text(&panic)
                ),
            ),
        }
    }

    /// Publishes the diagnostics of the open documents of every changed group.
    fn publish_dirty(&mut self) -> std::io::Result<()> {
        let mut closed: Vec<String> = self.state.closed.drain(..).collect();
        closed.sort();
        for uri in closed {
            if self.state.docs.contains_key(&uri) || self.state.published.contains_key(&uri) {
                continue;
            }
            self.publish(&uri, Vec::new(), None)?;
        }
        let mut keys: Vec<String> = self.state.dirty.drain().collect();
        keys.sort();
        for key in keys {
            let mut uris: Vec<String> = self
                .state
                .docs
                .keys()
                .filter(|u| key_of(u) == key)
                .cloned()
                .collect();
            uris.sort();
            let Some(first) = uris.first().cloned() else {
                // No open document left in the folder: clear what was shown for its files.
                self.clear_published(&key, |_| false)?;
                continue;
            };
            let state = &mut self.state;
            let found = catch_unwind(AssertUnwindSafe(|| {
                let group = state.group(&first);
                let lines = analysis::line_indexes(&group, state.utf8);
                // Per URI: the open documents of the folder, every file of the group that is
                // not open (an open one below is its own folder's), and the body files read,
                // each with its findings.
                let mut per: std::collections::BTreeMap<String, Vec<lsp_types::Diagnostic>> =
                    uris.iter().map(|u| (u.clone(), Vec::new())).collect();
                for f in &group.files {
                    if !state.docs.contains_key(&f.uri) {
                        per.entry(f.uri.clone()).or_default();
                    }
                }
                for d in &group.diagnostics {
                    let Some(uri) = analysis::uri_of(&group, d.file()) else {
                        continue;
                    };
                    let is_member = group.file_of(d.file()).is_some();
                    if !is_member || per.contains_key(&uri) {
                        let lsp = analysis::to_lsp(d, &group, &lines, &mut |c| state.page_uri(c));
                        per.entry(uri).or_default().push(lsp);
                    }
                }
                per
            }));
            match found {
                Ok(per) => {
                    self.clear_published(&key, |u| per.contains_key(u))?;
                    for (uri, diagnostics) in per {
                        let open = self.state.docs.get(&uri).map(|d| d.version);
                        let owners = self.state.published.entry(uri.clone()).or_default();
                        if diagnostics.is_empty() {
                            let was = owners.remove(&key);
                            let others = !owners.is_empty();
                            if !others {
                                self.state.published.remove(&uri);
                            }
                            // A file that is not open needs no message when it showed nothing,
                            // or when another folder's check still shows its findings.
                            if open.is_none() && (!was || others) {
                                continue;
                            }
                        } else {
                            owners.insert(key.clone());
                        }
                        self.publish(&uri, diagnostics, open)?;
                    }
                }
                Err(panic) => self.log(
                    1,
                    format!(
                        "internal error while checking `{key}`: {}; please report it with the documents",
                        panic_text(&panic)
                    ),
                )?,
            }
        }
        self.show_config_errors()
    }

    /// Clears the diagnostics a group published for the files it does not `keep`.
    /// A file is cleared when the last group that showed findings for it stops.
    fn clear_published(&mut self, key: &str, keep: impl Fn(&str) -> bool) -> std::io::Result<()> {
        let mut stale: Vec<String> = self
            .state
            .published
            .iter()
            .filter(|(u, keys)| keys.contains(key) && !keep(u))
            .map(|(u, _)| u.clone())
            .collect();
        stale.sort();
        for u in stale {
            let Some(keys) = self.state.published.get_mut(&u) else {
                continue;
            };
            keys.remove(key);
            if keys.is_empty() {
                self.state.published.remove(&u);
                self.publish(&u, Vec::new(), None)?;
            }
        }
        Ok(())
    }

    fn publish(
        &mut self,
        uri: &str,
        diagnostics: Vec<lsp_types::Diagnostic>,
        version: Option<i32>,
    ) -> std::io::Result<()> {
        let Ok(uri) = uri.parse::<Uri>() else {
            return Ok(());
        };
        self.notify(
            "textDocument/publishDiagnostics",
            PublishDiagnosticsParams::new(uri, diagnostics, version),
        )
    }

    fn show_config_errors(&mut self) -> std::io::Result<()> {
        let mut errors: Vec<String> = self
            .state
            .groups
            .values()
            .filter_map(|g| g.config_error.clone())
            .filter(|e| !self.state.shown_errors.contains(e))
            .collect();
        errors.sort();
        errors.dedup();
        for e in errors {
            self.state.shown_errors.insert(e.clone());
            self.notify(
                "window/showMessage",
                serde_json::json!({ "type": 2, "message": format!("cadence.toml: {e} (lint runs with its defaults)") }),
            )?;
        }
        Ok(())
    }
}

fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".into())
}

impl State {
    /// The checked group of a document (from the cache when nothing changed).
    fn group(&mut self, uri: &str) -> Rc<Group> {
        let key = key_of(uri);
        if let Some(g) = self.groups.get(&key) {
            if g.file(uri).is_some() {
                return g.clone();
            }
        }
        let g = Rc::new(analysis::load(uri, &self.docs, &mut self.listings));
        self.groups.insert(key, g.clone());
        g
    }

    /// A document changed: its folder's group, and those of the folders above it (they read
    /// it too), are checked again.
    fn changed(&mut self, uri: &str) {
        let key = key_of(uri);
        let path = analysis::uri_path(uri);
        let affected: Vec<String> = self
            .groups
            .keys()
            .filter(|k| **k == key || path.as_ref().is_some_and(|p| p.starts_with(k.as_str())))
            .cloned()
            .collect();
        for k in affected {
            self.groups.remove(&k);
            self.dirty.insert(k);
        }
        self.dirty.insert(key);
    }

    /// The address of a code's page, written once into the cache folder.
    fn page_uri(&mut self, code: &str) -> Option<Uri> {
        if let Some(u) = self.pages.get(code) {
            return u.clone();
        }
        let uri = (|| {
            let page = analysis::page(code)?;
            let dir = pages_dir()?;
            std::fs::create_dir_all(&dir).ok()?;
            let path = dir.join(format!("{code}.md"));
            if std::fs::read_to_string(&path).ok().as_deref() != Some(page.as_str()) {
                // Written beside it, then renamed over it: another server reading the page
                // never sees half of it.
                let tmp = dir.join(format!(".{code}.{}.tmp", std::process::id()));
                std::fs::write(&tmp, &page).ok()?;
                std::fs::rename(&tmp, &path).ok()?;
            }
            analysis::path_uri(&path)?.parse().ok()
        })();
        self.pages.insert(code.to_string(), uri.clone());
        uri
    }
}

/// A document and a position of a request.
fn doc_pos(v: &Value) -> Result<(String, lsp_types::Position), Failure> {
    let p: lsp_types::TextDocumentPositionParams = params(v.clone())?;
    Ok((p.text_document.uri.as_str().to_string(), p.position))
}

fn doc_uri(v: &Value) -> Result<String, Failure> {
    let d = v
        .get("textDocument")
        .and_then(|d| d.get("uri"))
        .and_then(Value::as_str)
        .ok_or_else(|| Failure::params("no `textDocument.uri`"))?;
    Ok(d.to_string())
}

fn json(v: impl serde::Serialize) -> Answer {
    serde_json::to_value(v).map_err(|e| Failure(ErrorCode::InternalError as i32, e.to_string()))
}

/// The answer to a request (after `initialize`).
// `WorkspaceEdit` keys its changes by `Uri`, whose parsed form caches lazily; hashing reads
// only the text.
#[allow(clippy::mutable_key_type)]
fn answer(state: &mut State, method: &str, p: Value) -> Answer {
    let utf8 = state.utf8;
    // Fault injection for the tests: a request that panics.
    if std::env::var("CADENCE_FAULT_LSP_PANIC").is_ok_and(|m| m == method) {
        panic!("CADENCE_FAULT_LSP_PANIC={method}");
    }
    match method {
        "textDocument/hover" => {
            let (uri, pos) = doc_pos(&p)?;
            let (g, f, off) = located(state, &uri, pos)?;
            json(features::hover(&g, f, off, utf8))
        }
        "textDocument/completion" => {
            let (uri, pos) = doc_pos(&p)?;
            let (g, f, off) = located(state, &uri, pos)?;
            json(features::completion(&g, f, off))
        }
        "textDocument/definition" => {
            let (uri, pos) = doc_pos(&p)?;
            let (g, f, off) = located(state, &uri, pos)?;
            let Some(occ) = features::occurrence_at(&g, f, off) else {
                return Ok(Value::Null);
            };
            let locs: Vec<_> = features::declarations(&g, f, occ)
                .into_iter()
                .filter_map(|pl| features::location(&g, pl, utf8))
                .collect();
            if locs.is_empty() {
                Ok(Value::Null)
            } else {
                json(locs)
            }
        }
        "textDocument/references" => {
            let rp: lsp_types::ReferenceParams = params(p)?;
            let uri = rp
                .text_document_position
                .text_document
                .uri
                .as_str()
                .to_string();
            let (g, f, off) = located(state, &uri, rp.text_document_position.position)?;
            let Some(occ) = features::occurrence_at(&g, f, off) else {
                return Ok(Value::Null);
            };
            let locs: Vec<_> = features::references(&g, f, occ, rp.context.include_declaration)
                .into_iter()
                .filter_map(|pl| features::location(&g, pl, utf8))
                .collect();
            json(locs)
        }
        "textDocument/prepareRename" => {
            let (uri, pos) = doc_pos(&p)?;
            let (g, f, off) = located(state, &uri, pos)?;
            let occ = rename_target(&g, f, off)?;
            features::check_rename(&g, f, occ, &occ.name)
                .map_err(|e| Failure(ErrorCode::RequestFailed as i32, e))?;
            let range = LineIndex::new(g.text(f), utf8).range(occ.span);
            json(serde_json::json!({ "range": range, "placeholder": occ.name }))
        }
        "textDocument/rename" => {
            let rp: lsp_types::RenameParams = params(p)?;
            let tdp = &rp.text_document_position;
            let uri = tdp.text_document.uri.as_str().to_string();
            let (g, f, off) = located(state, &uri, tdp.position)?;
            let occ = rename_target(&g, f, off)?;
            let new = rp.new_name.trim();
            features::check_rename(&g, f, occ, new)
                .map_err(|e| Failure(ErrorCode::RequestFailed as i32, e))?;
            // Files in a fixed order, edits in the order of the text.
            let mut changes: std::collections::BTreeMap<String, Vec<TextEdit>> = Default::default();
            for (file, span, text) in features::rename_edits(&g, f, occ, new) {
                let Some(gf) = g.file_of(file) else { continue };
                let range = LineIndex::new(g.text(file), utf8).range(span);
                changes
                    .entry(gf.uri.clone())
                    .or_default()
                    .push(TextEdit::new(range, text));
            }
            json(serde_json::json!({ "changes": changes }))
        }
        "textDocument/formatting" => {
            let uri = doc_uri(&p)?;
            let Some(doc) = state.docs.get(&uri) else {
                return Err(not_open(&uri));
            };
            match features::formatting(&uri, &doc.text, utf8) {
                Ok(edits) => json(edits),
                // A document that does not parse is left as it is; its errors are on screen.
                Err(_) => Ok(Value::Null),
            }
        }
        "textDocument/codeAction" => {
            let cp: lsp_types::CodeActionParams = params(p)?;
            let uri = cp.text_document.uri.as_str().to_string();
            let g = group_of(state, &uri)?;
            let f = g.file(&uri).ok_or_else(|| not_open(&uri))?.id;
            let ix = LineIndex::new(g.text(f), utf8);
            let (start, end) = (ix.offset(cp.range.start), ix.offset(cp.range.end));
            let mut actions = Vec::new();
            let lines = analysis::line_indexes(&g, utf8);
            for d in g
                .diagnostics
                .iter()
                .filter(|d| d.file() == f && d.span().start <= end && start <= d.span().end)
            {
                let Some(word) = analysis::suggestion(d, g.text(f)) else {
                    continue;
                };
                let Ok(u) = uri.parse::<Uri>() else { continue };
                let edit = TextEdit::new(ix.range(d.span()), word.clone());
                let lsp_diag = analysis::to_lsp(d, &g, &lines, &mut |c| state.page_uri(c));
                actions.push(CodeActionOrCommand::CodeAction(CodeAction {
                    title: format!("Change to {word}"),
                    kind: Some(CodeActionKind::QUICKFIX),
                    diagnostics: Some(vec![lsp_diag]),
                    edit: Some(WorkspaceEdit::new(HashMap::from([(u, vec![edit])]))),
                    is_preferred: Some(true),
                    ..Default::default()
                }));
            }
            json(actions)
        }
        "textDocument/documentSymbol" => {
            let uri = doc_uri(&p)?;
            let g = group_of(state, &uri)?;
            let f = g.file(&uri).ok_or_else(|| not_open(&uri))?.id;
            json(features::document_symbols(&g, f, utf8))
        }
        "textDocument/codeLens" => {
            let uri = doc_uri(&p)?;
            let g = group_of(state, &uri)?;
            let f = g.file(&uri).ok_or_else(|| not_open(&uri))?.id;
            json(features::code_lenses(&g, f, utf8))
        }
        _ => Err(Failure(
            ErrorCode::MethodNotFound as i32,
            format!("`{method}` is not a request this server answers"),
        )),
    }
}

/// The step number or template name a rename starts from. Refused while a file of the folder
/// does not parse: references in the part that did not parse would be missed.
fn rename_target(
    g: &Group,
    f: crate::syntax::FileId,
    off: usize,
) -> Result<&index::Occurrence, Failure> {
    let failed = |m: String| Failure(ErrorCode::RequestFailed as i32, m);
    if let Some(d) = g.diagnostics.iter().find(|d| d.code.starts_with('P')) {
        let name = &g.sources.get(d.file()).name;
        let line = g.sources.get(d.file()).line_col(d.span().start).0;
        return Err(failed(format!(
            "`{name}` does not parse (line {line}: {}); fix it first, so that no reference is missed",
            d.message
        )));
    }
    features::occurrence_at(g, f, off).ok_or_else(|| {
        failed("nothing to rename here: put the cursor on a step number or a template name".into())
    })
}

fn not_open(uri: &str) -> Failure {
    Failure(
        ErrorCode::InvalidParams as i32,
        format!("`{uri}` is not an open document: send `textDocument/didOpen` first"),
    )
}

fn group_of(state: &mut State, uri: &str) -> Result<Rc<Group>, Failure> {
    if !state.docs.contains_key(uri) {
        return Err(not_open(uri));
    }
    Ok(state.group(uri))
}

/// The group, file and byte offset of a position in an open document.
fn located(
    state: &mut State,
    uri: &str,
    pos: lsp_types::Position,
) -> Result<(Rc<Group>, crate::syntax::FileId, usize), Failure> {
    let g = group_of(state, uri)?;
    let f = g.file(uri).ok_or_else(|| not_open(uri))?.id;
    let off = LineIndex::new(g.text(f), state.utf8).offset(pos);
    Ok((g, f, off))
}

fn notification(state: &mut State, n: Notification) -> Result<(), Failure> {
    match n.method.as_str() {
        "textDocument/didOpen" => {
            let p: lsp_types::DidOpenTextDocumentParams = params(n.params)?;
            let uri = p.text_document.uri.as_str().to_string();
            state.docs.insert(
                uri.clone(),
                Doc {
                    text: p.text_document.text,
                    version: p.text_document.version,
                },
            );
            state.listings.clear();
            state.changed(&uri);
        }
        "textDocument/didChange" => {
            let p: lsp_types::DidChangeTextDocumentParams = params(n.params)?;
            let uri = p.text_document.uri.as_str().to_string();
            let Some(doc) = state.docs.get_mut(&uri) else {
                return Err(not_open(&uri));
            };
            for c in p.content_changes {
                match c.range {
                    None => doc.text = c.text,
                    Some(r) => {
                        // Full sync is what the server asks for; a ranged change is applied
                        // all the same.
                        let ix = LineIndex::new(&doc.text, state.utf8);
                        let (a, b) = (ix.offset(r.start), ix.offset(r.end));
                        let (a, b) = (a.min(b), a.max(b));
                        doc.text.replace_range(a..b, &c.text);
                    }
                }
            }
            doc.version = p.text_document.version;
            state.changed(&uri);
        }
        "textDocument/didClose" => {
            let uri = doc_uri(&n.params)?;
            state.docs.remove(&uri);
            state.changed(&uri);
            // Its folder's check shows the findings of the file on the disk, or clears them.
            state.closed.push(uri);
            state.listings.clear();
        }
        "workspace/didChangeWatchedFiles" | "textDocument/didSave" => {
            // Files beside the open documents may have changed on disk.
            let keys: Vec<String> = state.docs.keys().map(|u| key_of(u)).collect();
            state.groups.clear();
            state.listings.clear();
            state.dirty.extend(keys);
        }
        _ => {}
    }
    Ok(())
}
