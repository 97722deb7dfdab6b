//! `cadence lsp` as an editor sees it: the server is started as a process and spoken to in
//! JSON-RPC over its standard input and output.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

struct Client {
    child: Child,
    stdin: ChildStdin,
    rx: Receiver<Value>,
    next_id: i64,
    /// Messages read while waiting for something else.
    seen: Vec<Value>,
    /// The server's cache folder (the pages of codes).
    _cache: tempfile::TempDir,
}

const WAIT: Duration = Duration::from_secs(30);

impl Client {
    fn start() -> Client {
        Client::start_with(&[])
    }

    fn start_with(env: &[(&str, &str)]) -> Client {
        let cache = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cadence"));
        cmd.args(["lsp", "--stdio"])
            .env("XDG_CACHE_HOME", cache.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            loop {
                let mut len = 0usize;
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(v) = line.strip_prefix("Content-Length: ") {
                        len = v.parse().unwrap();
                    }
                }
                let mut body = vec![0; len];
                if r.read_exact(&mut body).is_err() {
                    return;
                }
                if tx.send(serde_json::from_slice(&body).unwrap()).is_err() {
                    return;
                }
            }
        });
        let mut c = Client {
            child,
            stdin,
            rx,
            next_id: 0,
            seen: Vec::new(),
            _cache: cache,
        };
        let r = c.request(
            "initialize",
            json!({"processId": null, "rootUri": null, "capabilities": {}}),
        );
        assert!(
            r["result"]["capabilities"]["hoverProvider"] == json!(true),
            "{r}"
        );
        c.notify("initialized", json!({}));
        c
    }

    fn raw(&mut self, body: &[u8]) {
        write!(self.stdin, "Content-Length: {}\r\n\r\n", body.len()).unwrap();
        self.stdin.write_all(body).unwrap();
        self.stdin.flush().unwrap();
    }

    fn send(&mut self, v: Value) {
        self.raw(v.to_string().as_bytes());
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        self.wait(|m| m["id"] == json!(id))
    }

    /// The first message (read now or earlier) that `f` accepts.
    fn wait(&mut self, f: impl Fn(&Value) -> bool) -> Value {
        if let Some(i) = self.seen.iter().position(&f) {
            return self.seen.remove(i);
        }
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let m = self
                .rx
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no such message; seen: {:#?}", self.seen));
            if f(&m) {
                return m;
            }
            self.seen.push(m);
        }
    }

    fn diagnostics(&mut self, uri: &str, version: i64) -> Vec<Value> {
        let m = self.wait(|m| {
            m["method"] == "textDocument/publishDiagnostics"
                && m["params"]["uri"] == uri
                && m["params"]["version"] == json!(version)
        });
        m["params"]["diagnostics"].as_array().unwrap().clone()
    }

    fn open(&mut self, uri: &str, text: &str) -> Vec<Value> {
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "cadence", "version": 1, "text": text}}),
        );
        self.diagnostics(uri, 1)
    }

    fn at(&mut self, method: &str, uri: &str, line: u32, character: u32) -> Value {
        self.request(
            method,
            json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": character}}),
        )
    }

    /// Shuts down as a client should; the server exits with status 0.
    fn stop(mut self) {
        let r = self.request("shutdown", Value::Null);
        assert_eq!(r["result"], Value::Null, "{r}");
        self.notify("exit", Value::Null);
        let status = self.child.wait().unwrap();
        assert!(status.success(), "{status}");
    }
}

fn file_uri(path: &std::path::Path) -> String {
    format!("file://{}", path.display())
}

/// The line and column of the first `needle` in `text` (after `skip` of them), plus `plus`.
fn pos(text: &str, needle: &str, plus: u32) -> (u32, u32) {
    let i = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle} not in text"));
    let line = text[..i].matches('\n').count() as u32;
    let col = (i - text[..i].rfind('\n').map_or(0, |j| j + 1)) as u32;
    (line, col + plus)
}

fn labels(r: &Value) -> Vec<String> {
    r["result"]
        .as_array()
        .unwrap_or_else(|| panic!("{r}"))
        .iter()
        .map(|c| c["label"].as_str().unwrap().to_string())
        .collect()
}

const BROKEN: &str = "cadence \"Trial\"\ntemplate welcome {\n  subject \"Hi {{first_name | there}}\"\n  body \"Hello {{unsubscribe_link}}\"\n}\nstep 1: email welcome after 0d\n  on opend -> step 2\n  on answered -> done\nstep 2: call \"Intro call\"\n";

fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (n, t) in files {
        std::fs::write(dir.path().join(n), t).unwrap();
    }
    dir
}

#[test]
fn an_error_is_published_with_its_range_code_and_page() {
    let dir = folder(&[("a.cadence", BROKEN)]);
    let uri = file_uri(&dir.path().join("a.cadence"));
    let mut c = Client::start();
    let d = c.open(&uri, BROKEN);
    assert_eq!(d.len(), 2, "{d:#?}");
    assert_eq!(d[0]["code"], "E114");
    assert_eq!(d[0]["severity"], 1);
    assert_eq!(
        d[0]["range"],
        json!({"start": {"line": 6, "character": 5}, "end": {"line": 6, "character": 10}})
    );
    assert!(d[0]["message"]
        .as_str()
        .unwrap()
        .starts_with("unknown event `opend`"));
    assert!(d[0]["message"]
        .as_str()
        .unwrap()
        .contains("help: did you mean `opened`?"));
    assert_eq!(d[1]["code"], "E105");
    // The code links to its page, as `cadence explain` prints it.
    let href = d[0]["codeDescription"]["href"].as_str().unwrap();
    let page = std::fs::read_to_string(href.strip_prefix("file://").unwrap()).unwrap();
    assert!(page.starts_with("## E114:"), "{page}");

    // A fix clears them; the versions follow the document's.
    let fixed = BROKEN
        .replace("opend", "opened")
        .replace("  on answered -> done\n", "");
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": fixed}]}),
    );
    let d = c.diagnostics(&uri, 2);
    assert!(
        d.iter().all(|d| d["severity"] == 2),
        "only the lint's warnings: {d:#?}"
    );
    assert!(d.iter().any(|d| d["code"] == "L211"), "{d:#?}");
    c.stop();
}

#[test]
fn files_of_one_folder_are_checked_together_and_lint_findings_are_shown() {
    // The template lives in a file of its own beside the cadence that sends it.
    let lib = "template nudge {\n  subject \"Still there, {{first_name | friend}}?\"\n  body \"Just checking in. {{unsubscribe_link}}\"\n}\n";
    let cad = "cadence \"Follow-up\"\nstep 1: email nudge\n  on no_reply 3d -> step 9\nstep 2: call \"Check in\"\nstep 9: email nudge\n";
    let dir = folder(&[("lib.cadence", lib), ("follow.cadence", cad)]);
    let uri = file_uri(&dir.path().join("follow.cadence"));
    let mut c = Client::start();
    let d = c.open(&uri, cad);
    let codes: Vec<&str> = d.iter().map(|d| d["code"].as_str().unwrap()).collect();
    // No "unknown template"; the lint's findings are there, as `cadence lint FOLDER` gives them.
    assert_eq!(codes, ["L211", "L212"], "{d:#?}");
    assert!(d.iter().all(|d| d["source"] == "cadence"));
    // Go to the template's definition in the other file.
    let (l, col) = pos(cad, "nudge", 2);
    let r = c.at("textDocument/definition", &uri, l, col);
    assert_eq!(
        r["result"][0]["uri"],
        file_uri(&dir.path().join("lib.cadence")),
        "{r}"
    );
    assert_eq!(
        r["result"][0]["range"]["start"],
        json!({"line": 0, "character": 9})
    );
    c.stop();
}

fn example(name: &str) -> (String, String) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name);
    (file_uri(&path), std::fs::read_to_string(&path).unwrap())
}

#[test]
fn hover_explains_fields_templates_events_steps_and_statements() {
    let (uri, text) = example("saas_onboarding.cadence");
    let mut c = Client::start();
    assert_eq!(c.open(&uri, &text), Vec::<Value>::new());
    let hover = |c: &mut Client, needle: &str, plus: u32| {
        let (l, col) = pos(&text, needle, plus);
        let r = c.at("textDocument/hover", &uri, l, col);
        r["result"]["contents"]["value"]
            .as_str()
            .unwrap_or_else(|| panic!("no hover at {needle}: {r}"))
            .to_string()
    };
    let h = hover(&mut c, "enroll when plan", 13);
    assert!(h.contains("field plan: enum(\"trial\", \"pro\")"), "{h}");
    assert!(h.contains("saas_onboarding.cadence:13"), "{h}");
    let h = hover(&mut c, "status == \"churned\"", 1);
    assert!(h.contains("Built-in field of the `contacts` module"), "{h}");
    let h = hover(&mut c, "template welcome {", 10);
    assert!(h.contains("Subject: Welcome to Acme, Ada"), "{h}");
    assert!(h.contains("in the subject, `first_name` → “there”"), "{h}");
    assert!(
        h.contains("the subject then reads “Welcome to Acme, there”"),
        "{h}"
    );
    assert!(
        h.contains("Sent by the steps at saas_onboarding.cadence:"),
        "{h}"
    );
    assert!(
        h.contains("Named by tests at saas_onboarding.cadence:"),
        "{h}"
    );
    assert!(
        !h.contains("gym_membership"),
        "another file's own `welcome`: {h}"
    );
    let h = hover(&mut c, "exit on replied", 9);
    assert!(h.contains("Produced by steps of channel: email"), "{h}");
    let h = hover(&mut c, "window mon-fri", 1);
    assert!(h.starts_with("**window**"), "{h}");
    let (l, _) = pos(&text, "step 2 ", 0);
    let r = c.at("textDocument/hover", &uri, l, 5);
    let h = r["result"]["contents"]["value"].as_str().unwrap();
    assert!(h.contains("**Due**"), "{h}");
    assert!(h.contains("shortest from entry"), "{h}");
    c.stop();
}

#[test]
fn hover_over_a_finding_shows_its_page() {
    let dir = folder(&[("a.cadence", BROKEN)]);
    let uri = file_uri(&dir.path().join("a.cadence"));
    let mut c = Client::start();
    c.open(&uri, BROKEN);
    let r = c.at("textDocument/hover", &uri, 7, 7);
    let h = r["result"]["contents"]["value"].as_str().unwrap();
    assert!(h.contains("### E105:"), "{h}");
    assert!(h.contains("call"), "{h}");
    c.stop();
}

#[test]
fn completion_offers_what_fits_where_the_cursor_is() {
    let text = "cadence \"T\"\nfield plan: text\ntimezone \"Europe/Par\"\ntemplate welcome {\n  subject \"Hi {{fi\"\n  body \"x {{unsubscribe_link}}\"\n}\nstep 1: email welcome\n  on \nstep 2: call \"Intro\"\n  on \n  on answered -> \nenroll when pl\n\n";
    let dir = folder(&[("a.cadence", text)]);
    let uri = file_uri(&dir.path().join("a.cadence"));
    let mut c = Client::start();
    c.open(&uri, text);
    // After `on` under an email step: its outcomes and timeouts, not a call's.
    let l = labels(&c.at("textDocument/completion", &uri, 8, 5));
    assert!(
        l.contains(&"opened".into()) && l.contains(&"no_reply".into()),
        "{l:?}"
    );
    assert!(!l.contains(&"answered".into()), "{l:?}");
    // Under a call step: the call's.
    let l = labels(&c.at("textDocument/completion", &uri, 10, 5));
    assert!(
        l.contains(&"answered".into()) && l.contains(&"overdue".into()),
        "{l:?}"
    );
    assert!(!l.contains(&"opened".into()), "{l:?}");
    // After `->`: steps and the ends.
    let l = labels(&c.at("textDocument/completion", &uri, 11, 17));
    for want in ["step 1", "step 2", "next", "done", "exit"] {
        assert!(l.contains(&want.to_string()), "{want}: {l:?}");
    }
    // A merge field: the fields and the unsubscribe link.
    let l = labels(&c.at("textDocument/completion", &uri, 4, 17));
    assert!(
        l.contains(&"first_name".into()) && l.contains(&"plan".into()),
        "{l:?}"
    );
    assert!(l.contains(&"unsubscribe_link".into()), "{l:?}");
    // A time zone.
    let l = labels(&c.at("textDocument/completion", &uri, 2, 19));
    assert!(l.contains(&"Europe/Paris".into()), "{l:?}");
    // In a condition: fields.
    let l = labels(&c.at("textDocument/completion", &uri, 12, 14));
    assert!(l.contains(&"plan".into()), "{l:?}");
    // At the start of a line: statements, and the next free step number.
    let r = c.at("textDocument/completion", &uri, 13, 0);
    let step = r["result"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["label"] == "step")
        .unwrap();
    assert_eq!(step["insertText"], "step 3: ");
    let l = labels(&r);
    assert!(
        l.contains(&"template".into()) && l.contains(&"exit on".into()),
        "{l:?}"
    );
    // After `email `: the templates; after `on no_reply `: durations.
    let text2 = "template welcome {\n  subject \"Hi\"\n  body \"x {{unsubscribe_link}}\"\n}\nstep 1: email \n  on no_reply \n";
    let uri2 = file_uri(&dir.path().join("b.cadence"));
    c.open(&uri2, text2);
    let l = labels(&c.at("textDocument/completion", &uri2, 4, 14));
    assert!(l.contains(&"welcome".into()), "{l:?}");
    let l = labels(&c.at("textDocument/completion", &uri2, 5, 14));
    assert!(
        l.contains(&"3d".into()) && l.contains(&"3bd".into()),
        "{l:?}"
    );
    c.stop();
}

#[test]
fn definition_references_and_rename_follow_steps_and_templates() {
    let (uri, text) = example("saas_onboarding.cadence");
    let mut c = Client::start();
    c.open(&uri, &text);
    // `-> step 4` goes to `step 4`.
    let (l, col) = pos(&text, "-> step 4", 8);
    let r = c.at("textDocument/definition", &uri, l, col);
    let (dl, _) = pos(&text, "\nstep 4", 0);
    assert_eq!(
        r["result"][0]["range"]["start"]["line"],
        json!(dl + 1),
        "{r}"
    );
    // The welcome template: its declaration and the steps that send it, in this file only.
    let (l, col) = pos(&text, "template welcome {", 10);
    let r = c.request(
        "textDocument/references",
        json!({"textDocument": {"uri": uri}, "position": {"line": l, "character": col}, "context": {"includeDeclaration": true}}),
    );
    let refs = r["result"].as_array().unwrap();
    assert!(refs.len() >= 2, "{r}");
    assert!(refs.iter().all(|x| x["uri"] == json!(uri)), "{r}");
    // Rename step 4 to 40: its head and every `-> step 4`.
    let (l, _) = pos(&text, "\nstep 4", 0);
    let r = c.at("textDocument/prepareRename", &uri, l + 1, 5);
    assert_eq!(r["result"]["placeholder"], "4", "{r}");
    let r = c.request(
        "textDocument/rename",
        json!({"textDocument": {"uri": uri}, "position": {"line": l + 1, "character": 5}, "newName": "40"}),
    );
    let edits = r["result"]["changes"][&uri].as_array().unwrap();
    let wanted = text.matches("step 4").count();
    assert_eq!(edits.len(), wanted, "{r}");
    assert!(edits.iter().all(|e| e["newText"] == "40"));
    // A number already taken, and a field, are refused with a reason.
    let r = c.request(
        "textDocument/rename",
        json!({"textDocument": {"uri": uri}, "position": {"line": l + 1, "character": 5}, "newName": "2"}),
    );
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already has a step 2"),
        "{r}"
    );
    let (fl, fc) = pos(&text, "enroll when plan", 13);
    let r = c.at("textDocument/prepareRename", &uri, fl, fc);
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("steps and templates"),
        "{r}"
    );
    c.stop();
}

#[test]
fn a_template_is_renamed_in_every_file_that_sends_it() {
    let lib = "template nudge {\n  subject \"Hi\"\n  body \"x {{unsubscribe_link}}\"\n}\n";
    let a = "step 1: email nudge\n";
    let b = "step 1: email nudge\nstep 2: email nudge\n";
    let dir = folder(&[("lib.cadence", lib), ("a.cadence", a), ("b.cadence", b)]);
    let uri = file_uri(&dir.path().join("a.cadence"));
    let mut c = Client::start();
    c.open(&uri, a);
    let r = c.request(
        "textDocument/rename",
        json!({"textDocument": {"uri": uri}, "position": {"line": 0, "character": 15}, "newName": "check_in"}),
    );
    let changes = r["result"]["changes"].as_object().unwrap();
    let count = |f: &str| {
        changes[&file_uri(&dir.path().join(f))]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(
        (count("lib.cadence"), count("a.cadence"), count("b.cadence")),
        (1, 1, 2)
    );
    let r = c.request(
        "textDocument/rename",
        json!({"textDocument": {"uri": uri}, "position": {"line": 0, "character": 15}, "newName": "no way"}),
    );
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not a template name"),
        "{r}"
    );
    c.stop();
}

#[test]
fn formatting_is_cadence_fmt_and_quick_fixes_come_from_did_you_mean() {
    let messy = "cadence   \"T\"\ntemplate welcome {\nsubject \"Hi\"\nbody \"x {{unsubscribe_link}}\"\n}\nstep 1: email welcome\non opened -> done\n";
    let dir = folder(&[("a.cadence", messy)]);
    let path = dir.path().join("a.cadence");
    let uri = file_uri(&path);
    let mut c = Client::start();
    c.open(&uri, messy);
    let r = c.request(
        "textDocument/formatting",
        json!({"textDocument": {"uri": uri}, "options": {"tabSize": 2, "insertSpaces": true}}),
    );
    let out = Command::new(env!("CARGO_BIN_EXE_cadence"))
        .args(["fmt", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut ch| {
            ch.stdin.take().unwrap().write_all(messy.as_bytes())?;
            ch.wait_with_output()
        })
        .unwrap();
    assert_eq!(
        r["result"][0]["newText"].as_str().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        "{r}"
    );
    // Already formatted: no edit. Not parsing: no edit either (the errors are on screen).
    let d = c.open(&file_uri(&dir.path().join("b.cadence")), BROKEN);
    assert_eq!(d.len(), 2);
    let r = c.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": file_uri(&dir.path().join("b.cadence"))},
               "range": {"start": {"line": 6, "character": 6}, "end": {"line": 6, "character": 6}},
               "context": {"diagnostics": []}}),
    );
    let actions = r["result"].as_array().unwrap();
    assert_eq!(actions.len(), 1, "{r}");
    assert_eq!(actions[0]["title"], "Change to opened");
    assert_eq!(actions[0]["kind"], "quickfix");
    let edits = &actions[0]["edit"]["changes"][file_uri(&dir.path().join("b.cadence"))];
    assert_eq!(edits[0]["newText"], "opened");
    assert_eq!(
        edits[0]["range"]["start"],
        json!({"line": 6, "character": 5})
    );
    c.stop();
}

#[test]
fn the_outline_and_the_code_lenses_show_the_steps() {
    let (uri, text) = example("saas_onboarding.cadence");
    let mut c = Client::start();
    c.open(&uri, &text);
    let r = c.request(
        "textDocument/documentSymbol",
        json!({"textDocument": {"uri": uri}}),
    );
    let names: Vec<&str> = r["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"welcome"), "{names:?}");
    assert!(names.iter().any(|n| n.starts_with("step 1")), "{names:?}");
    let r = c.request(
        "textDocument/codeLens",
        json!({"textDocument": {"uri": uri}}),
    );
    let lenses = r["result"].as_array().unwrap();
    assert_eq!(
        lenses.len(),
        text.lines().filter(|l| l.starts_with("step ")).count()
    );
    let first = lenses[0]["command"]["title"].as_str().unwrap();
    assert!(first.starts_with("entry step; due "), "{first}");
    let second = lenses[1]["command"]["title"].as_str().unwrap();
    // Step 2 of the onboarding is reached only by step 1's `no_click 2bd`.
    assert_eq!(second, "reached by 1 path; shortest from entry: 2 days");
    c.stop();
}

#[test]
fn malformed_messages_get_errors_and_the_server_keeps_serving() {
    let (uri, text) = example("saas_onboarding.cadence");
    let mut c = Client::start();
    c.open(&uri, &text);
    c.raw(b"{this is not json");
    let r = c.wait(|m| m["error"]["code"] == json!(-32700));
    assert_eq!(r["id"], Value::Null);
    c.raw(br#"{"jsonrpc":"2.0","id":"x1","params":{}}"#);
    let r = c.wait(|m| m["id"] == "x1");
    assert_eq!(r["error"]["code"], -32600, "{r}");
    let r = c.request("textDocument/hover", json!({"textDocument": 5}));
    assert_eq!(r["error"]["code"], -32602, "{r}");
    let r = c.request("textDocument/frobnicate", json!({}));
    assert_eq!(r["error"]["code"], -32601, "{r}");
    let r = c.at("textDocument/hover", "file:///not/open.cadence", 0, 0);
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not an open document"),
        "{r}"
    );
    // Positions past the end are the end.
    let r = c.at("textDocument/hover", &uri, 100_000, 100_000);
    assert!(r.get("error").is_none(), "{r}");
    // A document of random characters: diagnostics, and the server still answers.
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut junk = String::new();
    for _ in 0..20_000 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let c = char::from_u32((seed % 0x3000) as u32).unwrap_or('x');
        junk.push(c);
    }
    let dir = tempfile::tempdir().unwrap();
    let junk_uri = file_uri(&dir.path().join("junk.cadence"));
    let d = c.open(&junk_uri, &junk);
    assert!(!d.is_empty());
    for (l, col) in [(0, 0), (3, 5), (40, 2)] {
        for m in [
            "textDocument/hover",
            "textDocument/completion",
            "textDocument/definition",
        ] {
            let r = c.at(m, &junk_uri, l, col);
            assert!(r.get("error").is_none(), "{m}: {r}");
        }
    }
    let r = c.at("textDocument/hover", &uri, 17, 13);
    assert!(r["result"]["contents"]["value"].as_str().is_some(), "{r}");
    c.stop();
}

#[test]
fn a_panic_in_a_request_is_answered_as_an_error_and_the_server_goes_on() {
    let (uri, text) = example("saas_onboarding.cadence");
    let mut c = Client::start_with(&[("CADENCE_FAULT_LSP_PANIC", "textDocument/hover")]);
    c.open(&uri, &text);
    let r = c.at("textDocument/hover", &uri, 17, 13);
    assert_eq!(r["error"]["code"], -32603, "{r}");
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("internal error"),
        "{r}"
    );
    let r = c.request(
        "textDocument/documentSymbol",
        json!({"textDocument": {"uri": uri}}),
    );
    assert!(r["result"].is_array(), "{r}");
    c.stop();
}

#[test]
fn requests_before_initialize_and_exit_before_shutdown_are_refused() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cadence"))
        .arg("lsp")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for body in [
        json!({"jsonrpc": "2.0", "id": 1, "method": "textDocument/hover", "params": {}}),
        json!({"jsonrpc": "2.0", "method": "exit"}),
    ] {
        let b = body.to_string();
        write!(stdin, "Content-Length: {}\r\n\r\n{b}", b.len()).unwrap();
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("-32002"), "{stdout}");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("before `shutdown`"));
}

#[test]
fn diagnostics_of_a_two_thousand_line_cadence_follow_a_change_quickly() {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/lsp/two_thousand_lines.cadence"),
    )
    .unwrap();
    assert!(text.lines().count() >= 2000);
    let dir = tempfile::tempdir().unwrap();
    let uri = file_uri(&dir.path().join("big.cadence"));
    let mut c = Client::start();
    let errors = |d: &[Value]| d.iter().filter(|d| d["severity"] == 1).count();
    assert_eq!(c.open(&uri, &text), Vec::<Value>::new());
    // Clean texts (a comment differs), so every change is checked and linted in full; the
    // last one breaks a line.
    let mut worst = Duration::ZERO;
    for v in 2..8 {
        let changed = match v {
            7 => text.replacen("on clicked", "on clickd", 1),
            v if v % 2 == 0 => text.replacen("# A large cadence", "# A long cadence", 1),
            _ => text.clone(),
        };
        let t = Instant::now();
        c.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": v}, "contentChanges": [{"text": changed}]}),
        );
        let d = c.diagnostics(&uri, v);
        worst = worst.max(t.elapsed());
        assert_eq!(errors(&d), usize::from(v == 7), "{d:#?}");
    }
    println!("2,000-line cadence: diagnostics at most {worst:?} after a change (this build)");
    // Generous for an unoptimised build on a loaded machine; `cargo bench --bench lsp` measures
    // the release build against its 50 ms budget.
    assert!(worst < Duration::from_secs(2), "{worst:?}");
    c.stop();
}

/// Applies a rename's edits of one file to its text (from the end, so earlier ranges hold).
fn apply(text: &str, edits: &Value) -> String {
    let offset = |p: &Value| {
        let (line, col) = (
            p["line"].as_u64().unwrap() as usize,
            p["character"].as_u64().unwrap() as usize,
        );
        let start: usize = text.split_inclusive('\n').take(line).map(str::len).sum();
        // The tests' texts are ASCII: UTF-16 units are bytes.
        start + col
    };
    let mut edits: Vec<&Value> = edits.as_array().unwrap().iter().collect();
    edits.sort_by_key(|e| std::cmp::Reverse(offset(&e["range"]["start"])));
    let mut out = text.to_string();
    for e in edits {
        let (a, b) = (offset(&e["range"]["start"]), offset(&e["range"]["end"]));
        out.replace_range(a..b, e["newText"].as_str().unwrap());
    }
    out
}

#[test]
fn a_rename_rewrites_exactly_the_numbers_and_a_broken_file_refuses_it() {
    let text = "cadence \"T\"\nexit on replied\ntemplate w {\n  subject \"Hi\"\n  body \"x {{unsubscribe_link}}\"\n}\nstep 1: email w\n  on opened -> step 2\n  on no_reply 3d -> step 2\n  on bounced -> exit\nstep 2: call \"Intro\"\n  on answered -> done\n  on overdue 2d -> done\n";
    let tests = "test \"opens\" {\n  start 2026-01-05T09:00:00Z\n  contact a email = \"a@x.test\"\n  at +0d: enroll a\n  at +1h: a opened\n  expect a executed step 2\n}\n";
    let dir = folder(&[("t.cadence", text), ("t_tests.cadence", tests)]);
    let uri = file_uri(&dir.path().join("t.cadence"));
    let tests_uri = file_uri(&dir.path().join("t_tests.cadence"));
    let mut c = Client::start();
    c.open(&uri, text);
    // From the test file, step 2 goes to the cadence beside it.
    let (l, col) = pos(tests, "step 2", 5);
    c.open(&tests_uri, tests);
    let r = c.at("textDocument/definition", &tests_uri, l, col);
    assert_eq!(r["result"][0]["uri"], json!(uri), "{r}");
    let r = c.request(
        "textDocument/rename",
        json!({"textDocument": {"uri": uri}, "position": {"line": 10, "character": 5}, "newName": "20"}),
    );
    let changes = &r["result"]["changes"];
    assert_eq!(
        apply(text, &changes[&uri]),
        text.replace("step 2", "step 20"),
        "{r}"
    );
    assert_eq!(
        apply(tests, &changes[&tests_uri]),
        tests.replace("step 2", "step 20")
    );
    // From the test file too, a number the cadence already has is refused.
    let r = c.request(
        "textDocument/rename",
        json!({"textDocument": {"uri": tests_uri}, "position": {"line": l, "character": col}, "newName": "1"}),
    );
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already has a step 1"),
        "{r}"
    );
    // `+5` is not a step number.
    let r = c.request(
        "textDocument/rename",
        json!({"textDocument": {"uri": uri}, "position": {"line": 10, "character": 5}, "newName": "+5"}),
    );
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not a step number"),
        "{r}"
    );
    // A file of the folder that does not parse: refused, with where.
    let broken = text.replace(
        "  on bounced -> exit\n",
        "  on bounced -> exit please now\n",
    );
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": broken}]}),
    );
    c.diagnostics(&uri, 2);
    let r = c.at("textDocument/prepareRename", &uri, 10, 5);
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("does not parse"),
        "{r}"
    );
    c.stop();
}

#[test]
fn code_lenses_count_the_ways_to_each_step() {
    // Step 1 reaches step 2 two ways (opened, no_reply) and step 3 through step 2 (twice) or
    // by bouncing (once).
    let text = "cadence \"T\"\nexit on replied\ntemplate w {\n  subject \"Hi\"\n  body \"x {{unsubscribe_link}}\"\n}\nstep 1: email w after 1d\n  on opened -> step 2\n  on no_reply 3d -> step 2\n  on bounced -> step 3\nstep 2: call \"Intro\" after 2d\n  on answered -> done\n  on overdue 2d -> next\nstep 3: task \"Check\"\n  on completed -> done\n";
    let dir = folder(&[("t.cadence", text)]);
    let uri = file_uri(&dir.path().join("t.cadence"));
    let mut c = Client::start();
    c.open(&uri, text);
    let r = c.request(
        "textDocument/codeLens",
        json!({"textDocument": {"uri": uri}}),
    );
    let titles: Vec<&str> = r["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["command"]["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        [
            "entry step; due 1 day after enrolment",
            "reached by 2 paths; shortest from entry: 3 days",
            "reached by 3 paths; shortest from entry: 1 day",
        ]
    );
    c.stop();
}

#[test]
fn errors_in_files_not_open_are_shown_and_cleared_and_close_clears() {
    let lib = "template nudge {\n  subject \"Hi\"\n  body \"x {{unsubscribe_link}}\"\n}\n";
    let cad = "cadence \"T\"\nexit on replied\nstep 1: email nudge\n";
    let dir = folder(&[
        ("lib.cadence", lib),
        ("a.cadence", cad),
        ("b.cadence", "step 1: email nope\n"),
    ]);
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("sub/c.cadence"), "step 1 email\n").unwrap();
    let c_uri = file_uri(&dir.path().join("sub/c.cadence"));
    let uri = file_uri(&dir.path().join("a.cadence"));
    let b_uri = file_uri(&dir.path().join("b.cadence"));
    let mut c = Client::start();
    c.open(&uri, cad);
    // b.cadence is not open: its error is published all the same.
    let m =
        c.wait(|m| m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == b_uri);
    assert_eq!(m["params"]["diagnostics"][0]["code"], "E102", "{m}");
    // So is a broken file of a folder below, which the folder's check reads too.
    let m =
        c.wait(|m| m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == c_uri);
    assert_eq!(m["params"]["diagnostics"][0]["code"], "P001", "{m}");
    // Opening b and fixing it in the editor clears it.
    c.open(&b_uri, "step 1: email nope\n");
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": b_uri, "version": 2}, "contentChanges": [{"text": "step 1: email nudge\n"}]}),
    );
    let d = c.diagnostics(&b_uri, 2);
    assert!(d.iter().all(|d| d["code"] != "E102"), "{d:#?}");
    // Closing a with an error in it clears its diagnostics.
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": "step 1: email gone\n"}]}),
    );
    assert_eq!(c.diagnostics(&uri, 2)[0]["code"], "E102");
    c.notify(
        "textDocument/didClose",
        json!({"textDocument": {"uri": uri}}),
    );
    let m = c.wait(|m| {
        m["method"] == "textDocument/publishDiagnostics"
            && m["params"]["uri"] == uri
            && m["params"]["diagnostics"] == json!([])
            && m["params"]["version"].is_null()
    });
    assert_eq!(m["params"]["uri"], json!(uri));
    c.stop();
}

#[test]
fn ranges_count_utf16_units_and_an_unsaved_buffer_reads_no_file() {
    let text = "cadence \"日本 🎉\"\nstep 1: call \"x\"\n  on opend -> done\n";
    let dir = folder(&[]);
    let uri = file_uri(&dir.path().join("u.cadence"));
    let mut c = Client::start();
    let d = c.open(&uri, text);
    let e = d
        .iter()
        .find(|d| d["code"] == "E114" || d["code"] == "E105")
        .unwrap();
    assert_eq!(
        e["range"]["start"],
        json!({"line": 2, "character": 5}),
        "{d:#?}"
    );
    let text2 = "step 1: email \"🎉\"; on opend -> done\n";
    let d = c.open(&file_uri(&dir.path().join("v.cadence")), text2);
    let e = d.iter().find(|d| d["code"] == "E114").unwrap();
    // `🎉` is two UTF-16 units: `opend` starts at unit 23.
    assert_eq!(
        e["range"]["start"],
        json!({"line": 0, "character": 23}),
        "{d:#?}"
    );
    // An unsaved buffer has no folder: `body file` names nothing, whatever the server's
    // working folder holds.
    let untitled =
        "template t {\n  subject \"Hi\"\n  body file \"Cargo.toml\"\n}\nstep 1: email t\n";
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": "untitled:Untitled-1", "languageId": "cadence", "version": 1, "text": untitled}}),
    );
    let d = c.diagnostics("untitled:Untitled-1", 1);
    assert!(
        d.iter()
            .any(|d| d["message"].as_str().unwrap().contains("no such file")),
        "{d:#?}"
    );
    c.stop();
}

#[test]
fn completion_stays_quiet_in_comments_and_texts() {
    let text = "cadence \"T\"\n# on \npause on \ntemplate w {\n  subject \"Hi\"\n  body \"\"\"\n  on \n  \"\"\"\n}\n";
    let dir = folder(&[("a.cadence", text)]);
    let uri = file_uri(&dir.path().join("a.cadence"));
    let mut c = Client::start();
    c.open(&uri, text);
    assert_eq!(
        labels(&c.at("textDocument/completion", &uri, 1, 5)),
        Vec::<String>::new()
    );
    assert_eq!(
        labels(&c.at("textDocument/completion", &uri, 6, 5)),
        Vec::<String>::new()
    );
    assert_eq!(
        labels(&c.at("textDocument/completion", &uri, 2, 9)),
        ["auto_reply"]
    );
    c.stop();
}
