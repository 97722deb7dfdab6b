//! `cadence run` and the commands over its database with `--db postgres://...`, against the
//! PostgreSQL server on 127.0.0.1:5432, each test in a database of its own: every example runs
//! as it simulates, emails reach a real SMTP server once, the HTTP side queues events, a second
//! runner is refused, what is not ours is never changed, and a password is never printed.

mod common;

use std::time::{Duration, Instant};

use common::bin::cadence;
use common::http::request;
use common::smtp::{free_port, Sink};

const CADENCE: &str = r#"
cadence "Welcome"
from "Sales Team <sales@acme.test>"
exit on replied
template welcome { subject "Welcome, {{first_name | there}}!"; body "Hi. {{unsubscribe_link}}" }
template nudge { subject "Still there?"; body "Ping {{unsubscribe_link}}" }
step 1: email welcome
  on no_reply 2d -> step 2
step 2: call "Intro call" after 1d owner "sdr"
  on answered -> done
  on overdue 1d -> step 3
step 3: email nudge
"#;

const CONTACTS: &str = "id,first_name,email,phone\n\
c1,Ann,ann@example.test,+1 555 0101\n\
c2,,bo@example.test,+1 555 0102\n\
c3,Cy,cy@example.test,\n";

const EVENTS: &str = "at,contact,event\n\
2026-01-05T09:00:00Z,c1,enroll\n\
2026-01-05T09:00:00Z,c2,enroll\n\
2026-01-05T09:00:00Z,c3,enroll\n\
2026-01-05T12:00:00Z,c3,replied\n";

struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new() -> Files {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in [
            ("welcome.cadence", CADENCE),
            ("contacts.csv", CONTACTS),
            ("events.csv", EVENTS),
        ] {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        Files { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    fn run_args(&self, db: &str, extra: &[&str]) -> Vec<String> {
        let mut a: Vec<String> = [
            "run",
            &self.path("welcome.cadence"),
            "--db",
            db,
            "--contacts",
            &self.path("contacts.csv"),
            "--events",
            &self.path("events.csv"),
            "--clock",
            "virtual",
            "--public-url",
            "https://go.acme.test",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    }

    fn simulate(&self) -> String {
        cadence(&[
            "simulate",
            &self.path("welcome.cadence"),
            "--contacts",
            &self.path("contacts.csv"),
            "--events",
            &self.path("events.csv"),
            "--format",
            "jsonl",
        ])
        .status(0)
        .0
    }
}

/// Waits until `ok` holds, asking every 50 ms; fails after `seconds` with what it waited for.
fn wait_until(what: &str, seconds: u64, mut ok: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !ok() {
        assert!(
            t0.elapsed() < Duration::from_secs(seconds),
            "timed out waiting: {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether the database is there to read (a runner has made its schema).
fn opens(db: &str) -> bool {
    cadence(&["versions", "--db", db]).output().status.code() == Some(0)
}

/// SIGTERM: the runner finishes the transaction in hand and exits 0.
fn stop(mut runner: std::process::Child) {
    unsafe {
        libc::kill(runner.id() as i32, libc::SIGTERM);
    }
    assert_eq!(runner.wait().unwrap().code(), Some(0));
}

fn trace(db: &str) -> String {
    cadence(&["trace", "--db", db, "--format", "jsonl"])
        .status(0)
        .0
}

/// Every example, through `run --clock virtual` on PostgreSQL once and split in runs with
/// growing `--until`: the journal is what `simulate` prints, and the commands that read a
/// database read this one.
#[test]
fn every_example_runs_on_postgresql_as_it_simulates_in_one_run_and_split() {
    let (examples, contacts) = common::examples();
    for (file, events) in examples {
        let (sim, _) = cadence(&[
            "simulate",
            &file,
            "--contacts",
            &contacts,
            "--events",
            &events,
            "--format",
            "jsonl",
        ])
        .status(0);
        let tmp = tempfile::tempdir().unwrap();
        let sim_file = tmp.path().join("trace.jsonl");
        std::fs::write(&sim_file, &sim).unwrap();
        let (sim_report, _) =
            cadence(&["report", &sim_file.display().to_string(), &file]).status(0);
        for cuts in [&[][..], &["3d", "10d", "25d"][..]] {
            let Some(pg) = common::pg::fresh("examples") else {
                return;
            };
            let db = pg.url.as_str();
            let base = [
                "run",
                &file,
                "--db",
                db,
                "--contacts",
                &contacts,
                "--events",
                &events,
                "--clock",
                "virtual",
            ];
            for until in cuts {
                let mut a = base.to_vec();
                a.extend(["--until", until]);
                cadence(&a).status(0);
            }
            cadence(&base).status(0);
            let got = trace(db);
            assert!(
                got == sim,
                "{file} (cut at {cuts:?}): the journal on PostgreSQL differs from simulate:\n{}",
                common::first_difference(&got, &sim)
            );
            if cuts.is_empty() {
                let (report, _) = cadence(&["report", "--db", db]).status(0);
                assert_eq!(report, sim_report, "{file}: report --db");
            }
        }
    }
}

/// The commands that read or feed a database do so on PostgreSQL: trace, tasks, outbox,
/// timeline, log, ingest, versions, and a second run that applies what they queued.
#[test]
fn the_commands_over_a_database_work_on_postgresql() {
    let Some(pg) = common::pg::fresh("commands") else {
        return;
    };
    let db = pg.url.as_str();
    let files = Files::new();
    cadence(&files.run_args(db, &["--until", "2026-01-06T00:00:00Z"])).status(0);
    let (tasks, _) = cadence(&["tasks", "--db", db, "--format", "json"]).status(0);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&tasks).unwrap(),
        serde_json::json!([])
    );
    let (outbox, _) = cadence(&["outbox", "--db", db, "--format", "json"]).status(0);
    let rows: serde_json::Value = serde_json::from_str(&outbox).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 3, "{outbox}");
    assert!(rows
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["state"] == "pending"));
    // A reply logged by hand, and one from a file (given twice: applied once).
    let (_, err) = cadence(&[
        "log",
        "--db",
        db,
        "c1",
        "replied",
        "--at",
        "2026-01-06T10:00:00Z",
    ])
    .status(0);
    assert!(err.contains("queued `replied` for `c1`"), "{err}");
    std::fs::write(
        files.path("more.csv"),
        "at,contact,event\n2026-01-06T11:00:00Z,c2,replied\nnot a time,c2,replied\n",
    )
    .unwrap();
    let more = files.path("more.csv");
    let ingest = ["ingest", "--db", db, &more];
    let (_, err) = cadence(&ingest).status(1);
    assert!(
        err.contains("more.csv:3"),
        "a bad row is named by its line: {err}"
    );
    cadence(&ingest).status(1);
    cadence(&files.run_args(db, &[])).status(0);
    let got = trace(db);
    let exited: Vec<&str> = got
        .lines()
        .filter(|l| l.contains("\"kind\":\"exited\""))
        .collect();
    assert_eq!(exited.len(), 3, "c1, c2 and c3 replied, once each:\n{got}");
    let (timeline, _) = cadence(&["timeline", "c1", "--db", db]).status(0);
    assert!(timeline.contains("replied"), "{timeline}");
    let (versions, _) = cadence(&["versions", "--db", db]).status(0);
    assert!(versions.contains("Welcome"), "{versions}");
    // The URL in cadence.toml is taken as it is (not as a path beside the file).
    std::fs::write(
        files.path("cadence.toml"),
        format!("[run]\ndb = \"{db}\"\n"),
    )
    .unwrap();
    let (from_config, _) = cadence(&["trace", "--format", "jsonl"])
        .dir(files.dir.path())
        .status(0);
    assert_eq!(from_config, got);
    // Nothing to read: said plainly.
    let Some(empty) = common::pg::fresh("empty") else {
        return;
    };
    let (_, err) = cadence(&["trace", "--db", &empty.url]).status(2);
    assert!(
        err.contains("there is no cadence database at") && err.contains("creates one"),
        "{err}"
    );
}

#[test]
fn emails_reach_the_smtp_server_once_from_a_postgresql_outbox() {
    let Some(pg) = common::pg::fresh("smtp") else {
        return;
    };
    let files = Files::new();
    let Some(sink) = Sink::start(files.dir.path(), free_port(), &[]) else {
        return;
    };
    let db = pg.url.as_str();
    let (_, err) = cadence(&files.run_args(db, &["--smtp", &sink.url()])).status(0);
    let sent = trace(db)
        .lines()
        .filter(|l| l.contains("\"action\":\"email\""))
        .count();
    assert!(sent > 0);
    assert!(err.contains(&format!("smtp: {sent} sent")), "{err}");
    assert_eq!(trace(db), files.simulate(), "the journal is the simulation");
    let got = sink.received();
    assert_eq!(got.len(), sent, "every executed email arrived once");
    let mut ids: Vec<_> = got.iter().filter_map(|m| m.message_id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), got.len(), "no Message-ID twice");
    // Running again sends nothing more.
    cadence(&files.run_args(db, &["--smtp", &sink.url()])).status(0);
    assert_eq!(sink.received().len(), sent);
}

/// Runners share a database (tests/scale.rs runs three); `cadence deploy` changes it only
/// while none runs.
#[test]
fn a_second_runner_shares_the_postgresql_database_and_deploy_waits_for_none() {
    let Some(pg) = common::pg::fresh("second") else {
        return;
    };
    let files = Files::new();
    let args = [
        "run",
        &files.path("welcome.cadence"),
        "--db",
        &pg.url,
        "--clock",
        "wall",
    ];
    let first = cadence(&args).spawn();
    // Until the first holds the lock (it has made the schema by then).
    wait_until("the first runner started", 30, || opens(&pg.url));
    let mut second = cadence(&args).spawn();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        second.try_wait().unwrap().is_none(),
        "the second runner runs beside the first"
    );
    let (_, err) = cadence(&["deploy", &files.path("welcome.cadence"), "--db", &pg.url]).status(2);
    assert!(
        err.contains("runners are using") && err.contains("stop them first"),
        "{err}"
    );
    stop(second);
    stop(first);
    // Their locks went with them.
    cadence(&["deploy", &files.path("welcome.cadence"), "--db", &pg.url]).status(0);
    cadence(&files.run_args(&pg.url, &[])).status(0);
}

#[test]
fn a_schema_of_another_program_or_of_a_newer_cadence_is_refused_and_never_changed() {
    let Some(pg) = common::pg::fresh("foreign") else {
        return;
    };
    let files = Files::new();
    pg.client()
        .batch_execute("CREATE SCHEMA cadence; CREATE TABLE cadence.orders (id INT); INSERT INTO cadence.orders VALUES (7)")
        .unwrap();
    let (_, err) = cadence(&files.run_args(&pg.url, &[])).status(2);
    assert!(
        err.contains("belongs to another program (tables: orders)"),
        "{err}"
    );
    let left: i64 = pg
        .client()
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'cadence'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(left, 1, "nothing was added");

    let Some(newer) = common::pg::fresh("newer") else {
        return;
    };
    cadence(&files.run_args(&newer.url, &[])).status(0);
    newer
        .client()
        .batch_execute("UPDATE cadence.schema_version SET version = 999")
        .unwrap();
    let (_, err) = cadence(&["trace", "--db", &newer.url]).status(2);
    assert!(
        err.contains("written by a newer cadence (schema 999"),
        "{err}"
    );
    // Tables of other programs in other schemas are left alone: a shared database is fine.
    let Some(shared) = common::pg::fresh("shared") else {
        return;
    };
    shared
        .client()
        .batch_execute("CREATE TABLE public.orders (id INT)")
        .unwrap();
    cadence(&files.run_args(&shared.url, &[])).status(0);
    assert_eq!(trace(&shared.url), files.simulate());
}

#[test]
fn a_password_in_the_url_is_never_printed() {
    let files = Files::new();
    // Nothing listens on port 1: the connection is refused.
    let url = "postgres://cadence:s3cret-word@127.0.0.1:1/nowhere";
    let (_, err) = cadence(&files.run_args(url, &[])).status(2);
    assert!(err.contains("cannot connect to"), "{err}");
    assert!(
        err.contains("postgres://cadence:***@127.0.0.1:1/nowhere"),
        "{err}"
    );
    assert!(!err.contains("s3cret"), "{err}");
    let (_, err) = cadence(&["outbox", "--db", url]).status(2);
    assert!(!err.contains("s3cret") && err.contains("***"), "{err}");
    let query = "postgres://cadence@127.0.0.1:1/nowhere?password=s3cret-word";
    let (_, err) = cadence(&["trace", "--db", query]).status(2);
    assert!(
        !err.contains("s3cret") && err.contains("password=***"),
        "{err}"
    );
    // Nor in --help with the variable set, nor in `config show`.
    let (help, _) = cadence(&["run", "--help"]).env("CADENCE_DB", url).status(0);
    assert!(!help.contains("s3cret"), "{help}");
    std::fs::write(
        files.path("cadence.toml"),
        format!("[run]\ndb = \"{url}\"\n"),
    )
    .unwrap();
    let (shown, _) = cadence(&["config", "show"]).dir(files.dir.path()).status(0);
    assert!(
        shown.contains("postgres://cadence:***@127.0.0.1:1/nowhere") && !shown.contains("s3cret"),
        "{shown}"
    );
}

/// The HTTP side reads and writes the PostgreSQL database: a token made by `cadence token`,
/// an event posted once and again (queued once), and the runner applying it.
#[test]
fn events_posted_over_http_are_queued_once_in_postgresql() {
    let Some(pg) = common::pg::fresh("http") else {
        return;
    };
    let files = Files::new();
    // Only c1 is enrolled by the file: c2 is enrolled over HTTP.
    std::fs::write(
        files.path("events.csv"),
        "at,contact,event\n2026-01-05T09:00:00Z,c1,enroll\n",
    )
    .unwrap();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let runner = cadence(&[
        "run",
        &files.path("welcome.cadence"),
        "--db",
        &pg.url,
        "--contacts",
        &files.path("contacts.csv"),
        "--events",
        &files.path("events.csv"),
        "--start",
        "2026-01-01T00:00:00Z",
        "--listen",
        &listen,
    ])
    .spawn();
    common::http::wait_until_healthy(port);
    let (token, _) = cadence(&["token", "create", "--db", &pg.url, "--name", "crm"]).status(0);
    let bearer = format!("Bearer {}", token.trim());
    let headers = [
        ("Authorization", bearer.as_str()),
        ("Content-Type", "application/json"),
    ];
    let body = r#"{"contact":"c2","event":"enroll","key":"enrol-c2"}"#;
    let (status, first) = request(port, "POST", "/api/events", &headers, body);
    assert_eq!(status, 202, "{first}");
    let (status, again) = request(port, "POST", "/api/events", &headers, body);
    assert!(status == 200 || status == 202, "{status} {again}");
    assert_ne!(first, again, "the second is known: {again}");
    let enrolled = |trace: &str| {
        trace
            .lines()
            .filter(|l| l.contains("\"contact\":\"c2\"") && l.contains("\"kind\":\"enrolled\""))
            .count()
    };
    wait_until("the enrolment was applied", 30, || {
        enrolled(&trace(&pg.url)) > 0
    });
    stop(runner);
    assert_eq!(enrolled(&trace(&pg.url)), 1, "posted twice, applied once");
}

/// When the server drops the connection that holds the run lock (here: its backend is
/// terminated), the runner stops at once with a message: another runner could take the lock.
#[test]
fn a_runner_that_loses_its_lock_stops_at_once() {
    let Some(pg) = common::pg::fresh("lostlock") else {
        return;
    };
    let files = Files::new();
    let log = files.dir.path().join("run.log");
    let mut runner = cadence(&[
        "run",
        &files.path("welcome.cadence"),
        "--db",
        &pg.url,
        "--clock",
        "wall",
    ])
    .spawn_logged(&log);
    let mut admin = pg.client();
    // The run lock's key, 0x4344_4e43_0002, as pg_locks shows a bigint key: its high and low
    // 32 bits (the migration's lock is another key).
    let holders = "SELECT l.pid FROM pg_locks l JOIN pg_database d ON d.oid = l.database
                   WHERE l.locktype = 'advisory' AND d.datname = current_database()
                     AND l.classid = 17220 AND l.objid = 1313013762";
    wait_until("the runner took its lock", 30, || {
        !admin.query(holders, &[]).unwrap().is_empty()
    });
    admin
        .batch_execute(&format!(
            "SELECT pg_terminate_backend(pid) FROM ({holders}) AS h"
        ))
        .unwrap();
    let mut status = None;
    wait_until("the runner stopped without its lock", 20, || {
        status = runner.try_wait().unwrap();
        status.is_some()
    });
    assert_eq!(status.unwrap().code(), Some(2));
    let err = std::fs::read_to_string(&log).unwrap();
    assert!(
        err.contains("the connection that holds the run lock of")
            && err.contains("stopping at once"),
        "{err}"
    );
}

/// An input queued by another process wakes a waiting runner on PostgreSQL (LISTEN/NOTIFY):
/// with the polling fallback set to a minute, `cadence log` is applied within seconds.
#[test]
fn an_input_queued_by_another_process_wakes_the_runner() {
    let Some(pg) = common::pg::fresh("notify") else {
        return;
    };
    let files = Files::new();
    std::fs::write(
        files.path("events.csv"),
        "at,contact,event\n2026-01-05T09:00:00Z,c1,enroll\n",
    )
    .unwrap();
    let runner = cadence(&[
        "run",
        &files.path("welcome.cadence"),
        "--db",
        &pg.url,
        "--contacts",
        &files.path("contacts.csv"),
        "--events",
        &files.path("events.csv"),
        "--start",
        "2026-01-01T00:00:00Z",
    ])
    .env("CADENCE_POLL_MS", "60000")
    .spawn();
    let enrolled = |who: &str| {
        trace(&pg.url).lines().any(|l| {
            l.contains(&format!("\"contact\":\"{who}\"")) && l.contains("\"kind\":\"enrolled\"")
        })
    };
    wait_until("the runner started", 30, || {
        opens(&pg.url) && enrolled("c1")
    });
    // Let it settle into its minute-long wait.
    std::thread::sleep(Duration::from_secs(2));
    cadence(&["log", "--db", &pg.url, "c2", "enroll"]).status(0);
    let t0 = Instant::now();
    wait_until("the queued input, before the next poll", 15, || {
        enrolled("c2")
    });
    let took = t0.elapsed();
    stop(runner);
    eprintln!(
        "queued by `cadence log`, applied {} ms later",
        took.as_millis()
    );
}
