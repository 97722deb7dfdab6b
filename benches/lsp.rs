//! The language server's answer to an edit: from `textDocument/didChange` of a 2,000-line
//! cadence to its `publishDiagnostics` (check and lint in full, through the server's loop and
//! JSON), against checking and linting the same text by the library alone, the floor under it.
//!
//! `cargo bench --bench lsp`

use std::hint::black_box;
use std::io::Write;
use std::path::Path;
use std::sync::mpsc::{channel, Receiver, Sender};

use cadence::check::check;
use cadence::lint::{lint, Cx, Limits, Selection};
use cadence::syntax::Sources;
use criterion::{criterion_group, criterion_main, Criterion};

/// What the server writes, one message at a time.
struct Out {
    buf: Vec<u8>,
    tx: Sender<serde_json::Value>,
}

impl Write for Out {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(b);
        while let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&self.buf[..end]).to_string();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("Content-Length: "))
                .and_then(|n| n.trim().parse().ok())
                .unwrap_or(0);
            if self.buf.len() < end + 4 + len {
                break;
            }
            let body: Vec<u8> = self.buf.drain(..end + 4 + len).skip(end + 4).collect();
            let _ = self.tx.send(serde_json::from_slice(&body).unwrap());
        }
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What the server reads: the frames sent to it.
struct In {
    rx: Receiver<Vec<u8>>,
    buf: Vec<u8>,
}

impl std::io::Read for In {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.buf.is_empty() {
            match self.rx.recv() {
                Ok(b) => self.buf = b,
                Err(_) => return Ok(0),
            }
        }
        let n = out.len().min(self.buf.len());
        out[..n].copy_from_slice(&self.buf[..n]);
        self.buf.drain(..n);
        Ok(n)
    }
}

fn frame(w: &Sender<Vec<u8>>, v: serde_json::Value) {
    let b = v.to_string();
    w.send(format!("Content-Length: {}\r\n\r\n{b}", b.len()).into_bytes())
        .unwrap();
}

fn wait_diagnostics(rx: &Receiver<serde_json::Value>, version: i64) -> usize {
    loop {
        let m = rx.recv().unwrap();
        if m["method"] == "textDocument/publishDiagnostics" && m["params"]["version"] == version {
            return m["params"]["diagnostics"].as_array().unwrap().len();
        }
    }
}

fn bench(c: &mut Criterion) {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lsp/two_thousand_lines.cadence");
    let text = std::fs::read_to_string(&path).unwrap();
    // Two clean texts (a comment differs): every change is checked and linted in full.
    let other = text.replacen("# A large cadence", "# A long cadence", 1);
    let mut g = c.benchmark_group("lsp");
    g.sample_size(30);

    let mut turn = 0u64;
    g.bench_function("check and lint alone, 2,000 lines", |b| {
        b.iter(|| {
            turn += 1;
            let t = if turn % 2 == 0 { &other } else { &text };
            let mut sources = Sources::new();
            let id = sources.add("big.cadence", black_box(t.clone()));
            let checked = check(&mut sources, &[id]);
            let Some(program) = checked.program.as_ref() else {
                return black_box(checked.diagnostics.len());
            };
            let cx = Cx {
                program,
                files: &checked.files,
                sources: &sources,
                limits: Limits::default(),
            };
            black_box(lint(&cx, &Selection::default()).len())
        })
    });

    // The server in a thread of this process, over a pipe; the document is not on the disk
    // (a folder of its own holds nothing else).
    let dir = tempfile::tempdir().unwrap();
    // The pages of codes go to a folder of the run, not the user's cache.
    std::env::set_var("XDG_CACHE_HOME", dir.path().join("cache"));
    let uri = format!("file://{}", dir.path().join("big.cadence").display());
    let (writer, input) = channel();
    let (tx, rx) = channel();
    let server = std::thread::spawn(move || {
        let mut out = Out {
            buf: Vec::new(),
            tx,
        };
        let reader = In {
            rx: input,
            buf: Vec::new(),
        };
        cadence::lsp::serve(Box::new(std::io::BufReader::new(reader)), &mut out).unwrap();
    });
    frame(
        &writer,
        serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}}),
    );
    frame(
        &writer,
        serde_json::json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}),
    );
    frame(
        &writer,
        serde_json::json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {"uri": uri, "languageId": "cadence", "version": 1, "text": text}}}),
    );
    wait_diagnostics(&rx, 1);
    let mut version = 1i64;
    g.bench_function("didChange to publishDiagnostics, 2,000 lines", |b| {
        b.iter(|| {
            version += 1;
            let t = if version % 2 == 0 { &other } else { &text };
            frame(
                &writer,
                serde_json::json!({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": t}]}}),
            );
            black_box(wait_diagnostics(&rx, version))
        })
    });
    g.finish();
    frame(
        &writer,
        serde_json::json!({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}),
    );
    frame(
        &writer,
        serde_json::json!({"jsonrpc": "2.0", "method": "exit"}),
    );
    server.join().unwrap();
}

criterion_group!(benches, bench);
criterion_main!(benches);
