//! `cadence run` through the binary, with a real SMTP server on loopback: what arrives, what a
//! contact's values cannot do to a message, bounces, a server that is down, messages in doubt,
//! databases that are not ours, cadences that change between runs, and the reps' queue.

mod common;

use std::path::Path;

use common::bin::cadence;
use common::smtp::{free_port, Sink};

const CADENCE: &str = r#"
cadence "Welcome"
from "Sales Team <sales@acme.test>"
reply_to "team@acme.test"
exit on replied
template welcome {
  subject "Welcome, {{first_name | there}}!"
  body """
  Hi {{first_name | there}} from {{company | your company}},
  Unsubscribe: {{unsubscribe_link}}
  """
}
template nudge { subject "Still there?"; body "Ping {{unsubscribe_link}}" }
step 1: email welcome
  on bounced -> exit "bad address"
  on no_reply 2d -> step 2
step 2: call "Intro call" after 1d priority high owner "sdr"
  on answered -> done
  on overdue 1d -> step 3
step 3: email nudge
"#;

const CONTACTS: &str = "id,first_name,email,company,phone\n\
c1,Ann,ann@example.test,Acme,+1 555 0101\n\
c2,,bo@example.test,,+1 555 0102\n\
c3,Cy,cy@example.test,Beta,\n";

const EVENTS: &str = "at,contact,event\n\
2026-01-05T09:00:00Z,c1,enroll\n\
2026-01-05T09:00:00Z,c2,enroll\n\
2026-01-05T09:00:00Z,c3,enroll\n\
2026-01-05T12:00:00Z,c3,replied\n";

struct Case {
    dir: tempfile::TempDir,
}

impl Case {
    fn new(cadence_text: &str, contacts: &str, events: &str) -> Case {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("welcome.cadence"), cadence_text).unwrap();
        std::fs::write(dir.path().join("contacts.csv"), contacts).unwrap();
        std::fs::write(dir.path().join("events.csv"), events).unwrap();
        Case { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    fn db(&self) -> String {
        self.path("live.db")
    }

    fn run_args(&self, extra: &[&str]) -> Vec<String> {
        let mut a: Vec<String> = vec![
            "run".into(),
            self.path("welcome.cadence"),
            "--db".into(),
            self.db(),
            "--contacts".into(),
            self.path("contacts.csv"),
            "--events".into(),
            self.path("events.csv"),
            "--clock".into(),
            "virtual".into(),
            "--public-url".into(),
            "https://go.acme.test".into(),
        ];
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    }

    fn trace(&self) -> String {
        cadence(&["trace", "--db", &self.db(), "--format", "jsonl"])
            .status(0)
            .0
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

fn count_kind(trace: &str, what: &str) -> usize {
    trace.lines().filter(|l| l.contains(what)).count()
}

#[test]
fn emails_arrive_with_their_headers_and_one_click_unsubscribe() {
    let case = Case::new(CADENCE, CONTACTS, EVENTS);
    let Some(sink) = Sink::start(case.dir.path(), free_port(), &[]) else {
        return;
    };
    let (_, err) = cadence(&case.run_args(&["--smtp", &sink.url()])).status(0);
    assert!(err.contains("smtp: 5 sent"), "{err}");
    let trace = case.trace();
    assert_eq!(trace, case.simulate(), "the journal is the simulation");
    let executed = count_kind(&trace, "\"action\":\"email\"");
    let got = sink.received();
    assert_eq!(got.len(), executed, "every executed email arrived once");
    let ann = got
        .iter()
        .find(|m| m.rcpt_tos == ["ann@example.test"] && m.subject.starts_with("Welcome"))
        .expect("Ann's welcome");
    assert_eq!(ann.subject, "Welcome, Ann!");
    assert_eq!(ann.header("From"), ["Sales Team <sales@acme.test>"]);
    assert_eq!(ann.header("Reply-To"), ["team@acme.test"]);
    assert_eq!(ann.header("To"), ["ann@example.test"]);
    let mid = ann.message_id.clone().unwrap();
    assert!(
        mid.starts_with('<') && mid.ends_with("@acme.test>"),
        "{mid}"
    );
    let unsub = ann.header("List-Unsubscribe");
    assert_eq!(unsub.len(), 1);
    assert!(
        unsub[0].starts_with("<https://go.acme.test/u/"),
        "{unsub:?}"
    );
    assert_eq!(
        ann.header("List-Unsubscribe-Post"),
        ["List-Unsubscribe=One-Click"]
    );
    let url = unsub[0].trim_start_matches('<').trim_end_matches('>');
    assert!(ann.body.contains(url), "the body carries the same link");
    assert!(ann.body.contains("Hi Ann from Acme"), "{}", ann.body);
    let bo = got
        .iter()
        .find(|m| m.rcpt_tos == ["bo@example.test"] && m.subject.starts_with("Welcome"))
        .unwrap();
    assert_eq!(bo.subject, "Welcome, there!", "fallbacks fill unset fields");
    assert!(bo.body.contains("Hi there from your company"));
    // Message-IDs are unique, and stable for their execution: the outbox lists the same.
    let mut ids: Vec<_> = got.iter().filter_map(|m| m.message_id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), got.len());
    let (outbox, _) = cadence(&["outbox", "--db", &case.db(), "--format", "json"]).status(0);
    let rows: serde_json::Value = serde_json::from_str(&outbox).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), got.len());
    for r in rows {
        assert_eq!(r["state"], "sent");
        assert!(ids.contains(&r["message_id"].as_str().unwrap().to_string()));
    }
    // Running again sends nothing more.
    cadence(&case.run_args(&["--smtp", &sink.url()])).status(0);
    assert_eq!(sink.received().len(), got.len());
    assert_eq!(case.trace(), case.simulate());
}

#[test]
fn the_journal_shows_each_contacts_local_time_as_simulate_does() {
    let cadence_text = "cadence \"Zoned\"\nfield timezone: tz\nexit on replied\ntimezone field timezone default \"America/New_York\"\nwindow mon-fri 09:00-17:00\ntemplate w { subject \"Hi\"; body \"Hi. {{unsubscribe_link}}\" }\nstep 1: email w\nstep 2: call \"Intro\" after 1d owner \"sdr\"\n";
    let contacts = "id,email,timezone\np4,p4@example.test,Europe/Berlin\nq1,q1@example.test,Asia/Shanghai\nn1,n1@example.test,\n";
    let events = "at,contact,event\n2026-01-05T07:30:00Z,p4,enroll\n2026-01-05T07:30:00Z,q1,enroll\n2026-01-05T07:30:00Z,n1,enroll\n";
    let case = Case::new(cadence_text, contacts, events);
    let Some(sink) = Sink::start(case.dir.path(), free_port(), &[]) else {
        return;
    };
    cadence(&case.run_args(&["--smtp", &sink.url()])).status(0);
    let trace = case.trace();
    assert_eq!(trace, case.simulate());
    assert!(
        trace.contains("\"local\":\"2026-01-05T09:00:00+01:00\",\"tz\":\"Europe/Berlin\""),
        "{trace}"
    );
    assert!(trace.contains("\"tz\":\"America/New_York\""), "{trace}");
    let (text, _) = cadence(&["trace", "--db", &case.db()]).status(0);
    assert!(text.contains("[2026-01-05 15:30 Asia/Shanghai]"), "{text}");
}

#[test]
fn a_merge_value_never_reaches_a_header() {
    let contacts = "id,first_name,email,company\n\
\"c1\",\"Ann\r\nBcc: spy@evil.test\r\nX-Injected: yes\",ann@example.test,\"{{unsubscribe_link}}\"\n";
    let events = "at,contact,event\n2026-01-05T09:00:00Z,c1,enroll\n";
    let case = Case::new(CADENCE, contacts, events);
    let Some(sink) = Sink::start(case.dir.path(), free_port(), &[]) else {
        return;
    };
    cadence(&case.run_args(&["--smtp", &sink.url(), "--until", "2026-01-05T10:00:00Z"])).status(0);
    let got = sink.received();
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert_eq!(m.rcpt_tos, ["ann@example.test"], "nobody else got it");
    assert!(m.header("Bcc").is_empty() && m.header("X-Injected").is_empty());
    assert!(!m.subject.contains('\n') && !m.subject.contains('\r'));
    assert!(
        m.subject.contains("Bcc: spy@evil.test"),
        "kept as text: {}",
        m.subject
    );
    assert!(
        m.body.contains("from {{unsubscribe_link}},"),
        "a value is not expanded again: {}",
        m.body
    );
}

#[test]
fn a_permanent_refusal_is_a_bounce_and_nothing_is_retried() {
    let case = Case::new(CADENCE, CONTACTS, EVENTS);
    let Some(sink) = Sink::start(
        case.dir.path(),
        free_port(),
        &["--reject", "bo@example.test"],
    ) else {
        return;
    };
    cadence(&case.run_args(&["--smtp", &sink.url(), "--until", "2026-01-05T10:00:00Z"])).status(0);
    // The bounce is an input: the next run applies it.
    cadence(&case.run_args(&["--smtp", &sink.url(), "--until", "2026-01-05T11:00:00Z"])).status(0);
    let trace = case.trace();
    assert!(
        trace.contains(
            r#""contact":"c2","cadence":"Welcome","kind":"event","step":1,"event":"bounced"}"#
        ),
        "{trace}"
    );
    assert!(
        trace.contains(
            r#""contact":"c2","cadence":"Welcome","kind":"exited","reason":"bad address"}"#
        ),
        "{trace}"
    );
    let (bounced, _) = cadence(&["outbox", "--db", &case.db(), "--state", "bounced"]).status(0);
    assert!(bounced.contains("bo@example.test"), "{bounced}");
    assert!(
        bounced.contains("550"),
        "the server's answer is kept: {bounced}"
    );
    assert!(sink
        .received()
        .iter()
        .all(|m| m.rcpt_tos != ["bo@example.test"]));
}

#[test]
fn a_server_that_is_down_loses_nothing_and_is_retried() {
    let case = Case::new(CADENCE, CONTACTS, EVENTS);
    let port = free_port();
    let url = format!("smtp://127.0.0.1:{port}");
    let (_, err) = cadence(&case.run_args(&[
        "--smtp",
        &url,
        "--until",
        "2026-01-05T10:00:00Z",
        "--retry-after",
        "1s",
        "--smtp-timeout",
        "2s",
    ]))
    .status(0);
    assert!(err.contains("3 to retry"), "{err}");
    let (pending, _) = cadence(&["outbox", "--db", &case.db(), "--state", "pending"]).status(0);
    assert_eq!(pending.matches("\n#").count() + 1, 3, "{pending}");
    assert!(pending.contains("1 attempt;"), "{pending}");
    let Some(sink) = Sink::start(case.dir.path(), port, &[]) else {
        return;
    };
    std::thread::sleep(std::time::Duration::from_millis(2200));
    let (_, err) =
        cadence(&case.run_args(&["--smtp", &url, "--until", "2026-01-05T10:00:00Z"])).status(0);
    assert!(err.contains("smtp: 3 sent"), "{err}");
    assert_eq!(sink.received().len(), 3);
}

#[test]
fn a_message_handed_over_when_the_relay_stops_is_in_doubt_until_resent() {
    let case = Case::new(CADENCE, CONTACTS, EVENTS);
    let Some(sink) = Sink::start(case.dir.path(), free_port(), &[]) else {
        return;
    };
    // The relay pauses between the server's answer and its commit; kill it there.
    let mut child =
        cadence(&case.run_args(&["--smtp", &sink.url(), "--until", "2026-01-05T10:00:00Z"]))
            .env("CADENCE_FAULT_PAUSE_AFTER_SEND_MS", "60000")
            .spawn();
    let t = std::time::Instant::now();
    while sink.received().len() < 3 && t.elapsed().as_secs() < 30 {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(sink.received().len(), 3, "the server took all three");
    let (_, err) =
        cadence(&case.run_args(&["--smtp", &sink.url(), "--until", "2026-01-05T10:00:00Z"]))
            .status(0);
    assert!(
        err.contains("3 emails were being handed to the SMTP server"),
        "{err}"
    );
    assert_eq!(sink.received().len(), 3, "nothing is sent twice");
    let (doubt, _) = cadence(&[
        "outbox",
        "--db",
        &case.db(),
        "--state",
        "in-doubt",
        "--format",
        "json",
    ])
    .status(0);
    let rows: serde_json::Value = serde_json::from_str(&doubt).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 3);
    let id = rows[0]["id"].as_i64().unwrap().to_string();
    let (_, err) = cadence(&["outbox", "--db", &case.db(), "--resend", &id]).status(0);
    assert!(err.contains("will be sent again"), "{err}");
    cadence(&case.run_args(&["--smtp", &sink.url(), "--until", "2026-01-05T10:00:00Z"])).status(0);
    assert_eq!(sink.received().len(), 4, "the operator asked for one again");
    cadence(&["outbox", "--db", &case.db(), "--resend", "999"]).status(1);
}

#[test]
fn databases_that_are_not_ours_are_refused_and_never_changed() {
    let case = Case::new(CADENCE, CONTACTS, EVENTS);
    // Not SQLite at all.
    let junk = case.path("junk.db");
    std::fs::write(&junk, "id,name\n1,not a database\n").unwrap();
    let mut args = case.run_args(&[]);
    args[3] = junk.clone();
    let (_, err) = cadence(&args).status(2);
    assert!(err.contains("is not a cadence database"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&junk).unwrap(),
        "id,name\n1,not a database\n"
    );
    // Another program's SQLite database.
    let other = case.path("other.db");
    let conn = rusqlite::Connection::open(&other).unwrap();
    conn.execute_batch("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL);")
        .unwrap();
    drop(conn);
    let before = std::fs::read(&other).unwrap();
    args[3] = other.clone();
    let (_, err) = cadence(&args).status(2);
    assert!(err.contains("another program (tables: invoices)"), "{err}");
    assert_eq!(std::fs::read(&other).unwrap(), before);
    // A database written by a newer cadence.
    cadence(&case.run_args(&["--until", "2026-01-05T09:00:00Z"])).status(0);
    let conn = rusqlite::Connection::open(case.db()).unwrap();
    conn.execute_batch("PRAGMA user_version = 999;").unwrap();
    drop(conn);
    let (_, err) = cadence(&case.run_args(&[])).status(2);
    assert!(
        err.contains("written by a newer cadence (schema 999"),
        "{err}"
    );
    let (_, err) = cadence(&["trace", "--db", &case.db()]).status(2);
    assert!(err.contains("newer cadence"), "{err}");
    // A folder, a missing one, an unreadable file.
    let (_, err) = cadence(&["trace", "--db", &case.path("")]).status(2);
    assert!(err.contains("is a folder"), "{err}");
    let (_, err) = cadence(&["trace", "--db", &case.path("missing.db")]).status(2);
    assert!(err.contains("there is no database at"), "{err}");
    let mut args = case.run_args(&[]);
    args[3] = case.path("no/such/folder/live.db");
    let (_, err) = cadence(&args).status(2);
    assert!(err.contains("error:"), "{err}");
}

#[test]
fn a_second_runner_on_the_same_database_is_refused() {
    let case = Case::new(CADENCE, CONTACTS, EVENTS);
    let args = vec![
        "run".to_string(),
        case.path("welcome.cadence"),
        "--db".into(),
        case.db(),
        "--clock".into(),
        "wall".into(),
    ];
    let mut first = cadence(&args).spawn();
    std::thread::sleep(std::time::Duration::from_millis(700));
    let (_, err) = cadence(&args).status(2);
    assert!(err.contains("another `cadence run` is using"), "{err}");
    // SIGTERM: it finishes what it holds and exits 0.
    unsafe {
        libc::kill(first.id() as i32, libc::SIGTERM);
    }
    let status = first.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn a_changed_cadence_keeps_running_old_enrolments_and_enrols_new_ones_on_the_new_version() {
    let v1 = "cadence \"Follow up\"\nstep 1: call \"First call\" after 1d\nstep 2: call \"Old second call\" after 2d\n";
    let v2 = "cadence \"Follow up\"\nstep 1: call \"First call\" after 1d\nstep 2: call \"New second call\" after 2d\n";
    let contacts = "id,first_name\nc1,Ann\nc2,Bo\n";
    let events =
        "at,contact,event\n2026-01-05T09:00:00Z,c1,enroll\n2026-01-07T09:00:00Z,c2,enroll\n";
    let case = Case::new(v1, contacts, events);
    cadence(&case.run_args(&["--until", "2026-01-06T12:00:00Z"])).status(0);
    std::fs::write(case.path("welcome.cadence"), v2).unwrap();
    cadence(&case.run_args(&[])).status(0);
    let trace = case.trace();
    assert!(
        trace.contains(r#""contact":"c1","cadence":"Follow up","kind":"executed","step":2,"action":"call","name":"Old second call","#),
        "c1 stays on the version it started on:\n{trace}"
    );
    assert!(
        trace.contains(r#""contact":"c2","cadence":"Follow up","kind":"executed","step":2,"action":"call","name":"New second call","#),
        "c2 starts on the new version:\n{trace}"
    );
    // The text of the first version is kept: its journal still reads the same.
    assert_eq!(trace.matches("Old second call").count(), 1);
}

#[test]
fn reps_see_their_calls_and_log_outcomes() {
    let case = Case::new(CADENCE, CONTACTS, EVENTS);
    cadence(&case.run_args(&["--until", "2026-01-08T10:00:00Z"])).status(0);
    let (tasks, _) = cadence(&["tasks", "--db", &case.db(), "--owner", "sdr"]).status(0);
    assert!(tasks.contains("\"Intro call\""), "{tasks}");
    assert!(tasks.contains("contact c1  phone +1 555 0101"), "{tasks}");
    assert!(tasks.contains("high"), "{tasks}");
    assert!(
        !tasks.contains("contact c3"),
        "c3 replied: no call\n{tasks}"
    );
    let (json, _) = cadence(&["tasks", "--db", &case.db(), "--format", "json"]).status(0);
    let rows: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 2);
    cadence(&[
        "log",
        "--db",
        &case.db(),
        "c1",
        "answered",
        "--at",
        "2026-01-08T11:00:00Z",
    ])
    .status(0);
    let (_, err) = cadence(&["log", "--db", &case.db(), "c9", "answered"]).status(2);
    assert!(err.contains("unknown contact `c9`"), "{err}");
    let (_, err) = cadence(&["log", "--db", &case.db(), "c1", "answerd"]).status(2);
    assert!(err.contains("did you mean `answered`"), "{err}");
    cadence(&case.run_args(&["--until", "2026-01-08T12:00:00Z"])).status(0);
    let trace = case.trace();
    assert!(
        trace.contains(r#""at":"2026-01-08T11:00:00Z","contact":"c1","cadence":"Welcome","kind":"transition","from":2,"to":"done","on":"answered"}"#),
        "{trace}"
    );
    let (tasks, _) = cadence(&["tasks", "--db", &case.db(), "--due", "all"]).status(0);
    assert!(
        tasks.contains("done (answered at 2026-01-08 11:00 UTC)"),
        "{tasks}"
    );
    let (open, _) = cadence(&["tasks", "--db", &case.db()]).status(0);
    assert!(!open.contains("contact c1 "), "{open}");
}

#[test]
fn rows_given_again_are_applied_once_and_bad_rows_are_reported_by_line() {
    let events = "at,contact,event\n\
2026-01-05T09:00:00Z,c1,enroll\n\
2026-01-05T09:00:00Z,nobody,enroll\n\
2026-01-05T09:30:00Z,c1,opened\n\
2026-01-05T09:30:00Z,c1,opened\n\
not a time,c1,opened\n";
    let case = Case::new(CADENCE, CONTACTS, events);
    let (_, err) = cadence(&case.run_args(&[])).status(1);
    assert!(
        err.contains("events.csv:3: unknown contact `nobody`"),
        "{err}"
    );
    assert!(err.contains("events.csv:6: `at` \"not a time\""), "{err}");
    assert!(
        err.contains("4 inputs queued") || err.contains("6 inputs queued"),
        "{err}"
    );
    let first = case.trace();
    assert_eq!(
        first.matches("\"event\":\"opened\"").count(),
        2,
        "two rows, two events"
    );
    let (_, err) = cadence(&case.run_args(&[])).status(1);
    assert!(err.contains("0 inputs queued"), "{err}");
    assert_eq!(case.trace(), first, "nothing applied twice");
    // The text trace is the simulation's too.
    let (text, _) = cadence(&["trace", "--db", &case.db()]).status(0);
    let sim = cadence(&[
        "simulate",
        &case.path("welcome.cadence"),
        "--contacts",
        &case.path("contacts.csv"),
        "--events",
        &case.path("events.csv"),
    ])
    .status(1)
    .0;
    assert_eq!(text, sim);
    // `cadence ingest` of the same file queues nothing; of a new one, its rows.
    let (_, err) = cadence(&["ingest", "--db", &case.db(), &case.path("events.csv")]).status(1);
    assert!(err.contains("queued 0 inputs"), "{err}");
    let more = case.path("more.csv");
    std::fs::write(&more, "at,contact,event\n2026-01-09T09:00:00Z,c2,replied\n").unwrap();
    let (_, err) = cadence(&["ingest", "--db", &case.db(), &more]).status(0);
    assert!(err.contains("queued 1 input"), "{err}");
    let _ = Path::new(&more);
}

#[test]
fn report_and_timeline_read_the_database_as_they_read_a_trace() {
    let case = Case::new(CADENCE, CONTACTS, EVENTS);
    cadence(&case.run_args(&[])).status(0);
    std::fs::write(case.path("trace.jsonl"), case.trace()).unwrap();
    for format in ["text", "json", "html"] {
        let (from_db, _) = cadence(&["report", "--db", &case.db(), "--format", format]).status(0);
        let (from_file, _) = cadence(&[
            "report",
            &case.path("trace.jsonl"),
            &case.path("welcome.cadence"),
            "--format",
            format,
        ])
        .status(0);
        if format == "html" {
            // The page's title names its source.
            let strip = |s: &str| {
                s.replace("Cadence report: trace", "")
                    .replace("Cadence report: live", "")
            };
            assert_eq!(strip(&from_db), strip(&from_file));
        } else {
            assert_eq!(from_db, from_file, "report --format {format}");
        }
    }
    let (from_db, _) = cadence(&["timeline", "c1", "--db", &case.db()]).status(0);
    let (from_file, _) = cadence(&[
        "timeline",
        "c1",
        &case.path("trace.jsonl"),
        &case.path("welcome.cadence"),
    ])
    .status(0);
    assert_eq!(from_db, from_file);
    assert!(from_db.contains("step 1: email welcome"), "{from_db}");
    let (_, err) = cadence(&["timeline", "nobody", "--db", &case.db()]).status(1);
    assert!(err.contains("`nobody` does not appear in"), "{err}");
    let (_, err) = cadence(&["report"]).status(2);
    assert!(err.contains("or a database with --db DB"), "{err}");
}

/// Every example, through `run --clock virtual` once and split in runs with growing `--until`:
/// the journal is what `simulate` prints.
#[test]
fn every_example_runs_as_it_simulates_in_one_run_and_split() {
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
        for cuts in [&[][..], &["3d", "10d", "25d"][..]] {
            let dir = tempfile::tempdir().unwrap();
            let db = dir.path().join("live.db").display().to_string();
            let base = [
                "run",
                &file,
                "--db",
                &db,
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
            let (trace, _) = cadence(&["trace", "--db", &db, "--format", "jsonl"]).status(0);
            assert!(
                trace == sim,
                "{file} (cut at {cuts:?}): the journal differs from simulate:\n{}",
                common::first_difference(&trace, &sim)
            );
        }
    }
}

#[test]
fn a_database_url_of_another_kind_is_refused_with_a_clear_message() {
    let case = Case::new(CADENCE, CONTACTS, EVENTS);
    let mut args = case.run_args(&[]);
    let at = args.iter().position(|a| a == "--db").unwrap() + 1;
    args[at] = "mysql://127.0.0.1/test".into();
    let (_, err) = cadence(&args).status(2);
    assert!(
        err.contains("`mysql://` databases are not supported: give --db the path of an SQLite file (created when missing) or a postgres:// URL"),
        "{err}"
    );
    let (_, err) = cadence(&["trace", "--db", "mysql://127.0.0.1/test"]).status(2);
    assert!(
        err.contains("`mysql://` databases are not supported"),
        "{err}"
    );
}

/// An input queued with a time before what the runner has applied (`cadence log --at` in the
/// past) is applied once, and the inputs applied before it are not applied again.
#[test]
fn an_input_queued_late_is_applied_once_and_nothing_before_it_again() {
    let case = Case::new(
        "cadence \"W\"\nstep 1: call \"Hi\" owner \"sdr\"\n  on answered -> done\n",
        "id,first_name\na,A\nb,B\nz,Z\n",
        "at,contact,event\n2026-01-05T10:00:00Z,a,enroll\n2026-01-05T12:00:00Z,b,enroll\n",
    );
    let db = case.db();
    let until = |t: &str| {
        let mut a = case.run_args(&["--until", t]);
        a.retain(|x| x != "--public-url" && x != "https://go.acme.test");
        a
    };
    let (_, err) = cadence(&until("2026-01-05T11:00:00Z")).status(0);
    assert!(err.contains("4 inputs applied"), "{err}");
    cadence(&[
        "log",
        "--db",
        &db,
        "z",
        "enroll",
        "--at",
        "2026-01-05T09:00:00Z",
    ])
    .status(0);
    let (_, err) = cadence(&until("2026-01-05T11:30:00Z")).status(0);
    assert!(err.contains("1 input applied"), "{err}");
    let (_, err) = cadence(&until("2026-01-05T13:00:00Z")).status(0);
    assert!(err.contains("1 input applied"), "only b's enrolment: {err}");
    let trace = case.trace();
    assert_eq!(count_kind(&trace, "\"kind\":\"enrolled\""), 3, "{trace}");
}
