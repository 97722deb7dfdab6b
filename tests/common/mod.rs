//! A small harness for engine tests: a cadence, contacts and inputs written inline, run through
//! the same readers and driver as `cadence simulate`, and the trace as compact lines.

#![allow(dead_code)]

pub mod bin;
pub mod http;
pub mod mailserver;
pub mod pg;
pub mod smtp;

use cadence::check::check;
use cadence::engine::Catalog;
use cadence::sim::{self, read_contacts, read_events, TraceFormat, Until};
use cadence::store::{ContactStore, MemoryStore};
use cadence::syntax::Sources;

/// A count from the environment (the size of a long test), else `default`.
pub fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A small deterministic generator (xorshift) for kill delays and victims.
pub struct Rng(pub u64);

impl Rng {
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// How the emails of a run with kills ended, checked against what a real SMTP server received:
/// no Message-ID twice, one outbox row per executed email, each row sent (and arrived) or in
/// doubt, and whatever arrived in the outbox.
pub struct Delivered {
    pub sent: usize,
    pub doubt: usize,
    /// In doubt, yet accepted by the server: killed between its acceptance and the commit.
    pub doubt_received: usize,
}

pub fn delivered_once(db: &str, executed: usize, received: &[smtp::Received]) -> Delivered {
    use std::collections::{HashMap, HashSet};
    let mut seen: HashMap<String, usize> = HashMap::new();
    for m in received {
        *seen
            .entry(m.message_id.clone().unwrap_or_default())
            .or_default() += 1;
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "sent twice: {twice:?}");
    let (outbox, _) = bin::cadence(&[
        "outbox", "--db", db, "--format", "json", "--limit", "10000000",
    ])
    .status(0);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&outbox).unwrap();
    assert_eq!(rows.len(), executed, "one outbox row per executed email");
    let mut d = Delivered {
        sent: 0,
        doubt: 0,
        doubt_received: 0,
    };
    let ids: HashSet<&str> = rows
        .iter()
        .map(|r| r["message_id"].as_str().unwrap())
        .collect();
    for r in &rows {
        let id = r["message_id"].as_str().unwrap();
        match r["state"].as_str().unwrap() {
            "sent" => {
                assert!(
                    seen.contains_key(id),
                    "{id} is marked sent but never arrived"
                );
                d.sent += 1;
            }
            "in-doubt" => {
                d.doubt += 1;
                d.doubt_received += usize::from(seen.contains_key(id));
            }
            other => panic!("an email ended {other}: {r}"),
        }
    }
    for id in seen.keys() {
        assert!(
            ids.contains(id.as_str()),
            "{id} arrived but is not in the outbox"
        );
    }
    assert_eq!(d.sent + d.doubt, executed);
    d
}

pub struct Sim<'a> {
    pub files: Vec<(&'a str, &'a str)>,
    pub contacts: &'a str,
    pub events: &'a str,
    pub start: &'a str,
    pub until: Option<&'a str>,
}

pub fn instant(s: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp()
}

/// Runs and returns the JSON lines. Every case also runs through `cadence run` on a virtual
/// clock over an SQLite database, in one invocation and split at each input's time: the journal
/// must print the same lines (spec section 9, equivalence).
pub fn jsonl(s: &Sim) -> String {
    let sim = simulate(s);
    let once = live(s, &[]);
    assert_eq!(
        sim, once,
        "`cadence run` then `trace` differs from `simulate`"
    );
    let mut cuts: Vec<i64> = s
        .events
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').next())
        .filter_map(|t| chrono::DateTime::parse_from_rfc3339(t.trim()).ok())
        .map(|t| t.timestamp())
        .collect();
    cuts.sort_unstable();
    cuts.dedup();
    // At most six cuts, spread over the inputs (long random cases stay quick).
    if cuts.len() > 6 {
        let step = cuts.len() as f64 / 6.0;
        cuts = (0..6).map(|i| cuts[(i as f64 * step) as usize]).collect();
    }
    let split = live(s, &cuts);
    assert_eq!(
        sim, split,
        "`cadence run` split at each input's time differs from `simulate`"
    );
    sim
}

/// The same case through the live runner: one `run` per cut (`--until` there), then one to the
/// end; returns the journal as JSON lines.
pub fn live(s: &Sim, cuts: &[i64]) -> String {
    use cadence::runner::{self, ClockKind, Options, UntilArg};
    // In memory where the system has it: the database syncs every commit to disk.
    let dir = match std::path::Path::new("/dev/shm").is_dir() {
        true => tempfile::tempdir_in("/dev/shm").unwrap(),
        false => tempfile::tempdir().unwrap(),
    };
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let contacts = write("contacts.csv", s.contacts);
    let events = write("events.csv", s.events);
    let db = dir.path().join("live.db");
    let end = s.until.map(instant);
    let mut untils: Vec<Option<i64>> = cuts
        .iter()
        .filter(|c| **c >= instant(s.start) && end.is_none_or(|e| **c < e))
        .map(|c| Some(*c))
        .collect();
    untils.push(end);
    for until in untils {
        let mut sources = Sources::new();
        let ids: Vec<_> = s.files.iter().map(|(n, t)| sources.add(*n, *t)).collect();
        let program = check(&mut sources, &ids).program.unwrap();
        let opts = Options {
            db: db.clone(),
            contacts: Some(contacts.clone()),
            events: Some(events.clone()),
            clock: ClockKind::Virtual,
            start: Some(instant(s.start)),
            until: until.map(UntilArg::At),
            smtp: None,
            public_url: "https://cadence.test".into(),
            default_from: "cadence@example.test".into(),
            pool: 1,
            smtp_timeout: std::time::Duration::from_secs(5),
            backoff: std::time::Duration::from_secs(60),
            max_attempts: 3,
            batch: 7,
            read_ahead: 3,
            poll: std::time::Duration::from_millis(100),
            listen: None,
            reload: None,
            imap: Vec::new(),
            imap_poll: std::time::Duration::from_secs(30),
            partitions: None,
            window: None,
        };
        runner::run(&opts, &sources, &ids, program).unwrap();
    }
    let mut store = cadence::store::live::SqliteLive::open(&db, false).unwrap();
    let mut out = Vec::new();
    cadence::runner::journal::write_trace(&mut store, TraceFormat::Jsonl, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn simulate(s: &Sim) -> String {
    let mut sources = Sources::new();
    let ids: Vec<_> = s.files.iter().map(|(n, t)| sources.add(*n, *t)).collect();
    let checked = check(&mut sources, &ids);
    assert!(
        !checked.has_errors(),
        "cadence has errors: {:#?}",
        checked.diagnostics
    );
    let program = checked.program.unwrap();
    let catalog = Catalog::new(&program);
    let loaded = read_contacts(s.contacts.as_bytes(), &catalog).unwrap();
    assert!(loaded.bad.is_empty(), "bad contacts: {:?}", loaded.bad);
    let mut store = MemoryStore::new();
    for r in loaded.records {
        store.upsert(r).unwrap();
    }
    let mut engine = sim::load_engine(&program, &store).unwrap();
    let lookup = |id: &str| engine.contact_id(id);
    let (rows, bad) = read_events(s.events.as_bytes(), &program, &catalog, &lookup).unwrap();
    assert!(bad.is_empty(), "bad events: {bad:?}");
    let mut out = Vec::new();
    let until = s.until.map_or(Until::Idle, |u| Until::At(instant(u)));
    sim::run(
        &mut engine,
        &mut store,
        &rows,
        instant(s.start),
        until,
        TraceFormat::Jsonl,
        &mut out,
        &mut |_| {},
    )
    .unwrap();
    String::from_utf8(out).unwrap()
}

/// `2026-01-05T09:00:00Z c1 executed 1 welcome` and so on: one line per record.
pub fn compact(jsonl: &str) -> Vec<String> {
    jsonl
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let s = |k: &str| match &v[k] {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let rest = match s("kind").as_str() {
                "enrolled" | "completed" => String::new(),
                "executed" => format!(" {} {}", s("step"), s("name")),
                "skipped" => format!(" {} {}", s("step"), s("reason")),
                "event" if v["machine"] == true => {
                    format!(" {} {} machine", s("step"), s("event"))
                }
                "event" => format!(" {} {}", s("step"), s("event")),
                "transition" => format!(" {}->{} on {}", s("from"), s("to"), s("on")),
                "exited" => format!(" {}", s("reason")),
                "goal" => format!(" {}", s("name")),
                "paused" if v.get("until").is_some() => {
                    format!(" {} until {}", s("step"), s("until"))
                }
                "paused" => format!(" {}", s("step")),
                "resumed" if v["catch_up"] == true => format!(" {} catch-up", s("step")),
                "resumed" => format!(" {}", s("step")),
                k => panic!("unknown kind {k}"),
            };
            format!("{} {} {}{rest}", s("at"), s("contact"), s("kind"))
        })
        .collect()
}

/// Runs and returns the compact lines.
pub fn trace(s: &Sim) -> Vec<String> {
    compact(&jsonl(s))
}

/// A one-cadence simulation.
pub fn run(cadence: &str, contacts: &str, events: &str, start: &str) -> Vec<String> {
    trace(&Sim {
        files: vec![("t.cadence", cadence)],
        contacts,
        events,
        start,
        until: None,
    })
}

/// The diagnostics of `text` checked as one file.
pub fn diagnostics(text: &str) -> Vec<cadence::diagnostic::Diagnostic> {
    let mut sources = Sources::new();
    let id = sources.add("t.cadence", text);
    check(&mut sources, &[id]).diagnostics
}

pub const TEMPLATES: &str = r#"
template welcome { subject "Welcome"; body "Hi {{first_name | there}} {{unsubscribe_link}}" }
template reminder { subject "Reminder"; body "Still there? {{unsubscribe_link}}" }
template tips { subject "Tips"; body "Tips {{unsubscribe_link}}" }
"#;

pub const NO_EVENTS: &str = "at,contact,event\n";

/// The examples: each cadence file with its events file, in name order, and the contacts
/// file they share.
pub fn examples() -> (Vec<(String, String)>, String) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut files: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "cadence"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 7);
    let pairs = files
        .iter()
        .map(|f| {
            let events = f.with_extension("events.csv");
            (f.display().to_string(), events.display().to_string())
        })
        .collect();
    (pairs, root.join("contacts.csv").display().to_string())
}

/// Where two texts first differ, by line, for an assertion's message.
pub fn first_difference(a: &str, b: &str) -> String {
    for (i, (x, y)) in a.lines().zip(b.lines()).enumerate() {
        if x != y {
            return format!("line {}:\n  run:      {x}\n  simulate: {y}", i + 1);
        }
    }
    format!("{} lines against {}", a.lines().count(), b.lines().count())
}
