//! Owners of calls and tasks read from the record (`owner account_manager | "sdr-pool"`): the
//! checker, the trace (`owner`, `priority`, `due`), the runner's queue, the REPL, `timeline`
//! and the report's owners table.

mod common;

use common::bin::cadence;
use common::{jsonl, Sim};

const OWNERS: &str = r#"cadence "Outbound"
field account_manager: text
exit on replied
exit on bounced
template breakup { subject "Closing the loop"; body "Hi {{first_name | there}}. {{unsubscribe_link}}" }
step 1: call "Intro call" owner account_manager | owner | "sdr-pool" priority high due 1bd
  on answered   -> done
  on overdue 2d -> next
step 2: task "Send a case study" owner "marketing"
step 3: email breakup
"#;

const CONTACTS: &str = "id,first_name,email,account_manager,owner\n\
    c1,Ann,c1@example.test,Dana,Eve\n\
    c2,Bo,c2@example.test,,Eve\n\
    c3,Cy,c3@example.test,,\n";

const EVENTS: &str = "at,contact,event\n\
    2026-01-09T09:00:00Z,c1,enroll\n\
    2026-01-09T09:00:00Z,c2,enroll\n\
    2026-01-09T09:00:00Z,c3,enroll\n\
    2026-01-09T11:00:00Z,c1,answered\n";

fn trace() -> Vec<serde_json::Value> {
    // `jsonl` also runs the case through `cadence run` and compares the journal.
    jsonl(&Sim {
        files: vec![("owners.cadence", OWNERS)],
        contacts: CONTACTS,
        events: EVENTS,
        start: "2026-01-09T09:00:00Z",
        until: None,
    })
    .lines()
    .map(|l| serde_json::from_str(l).unwrap())
    .collect()
}

#[test]
fn the_owner_is_the_first_field_with_a_value_then_the_fixed_name() {
    let t = trace();
    let call = |c: &str| {
        t.iter()
            .find(|r| r["kind"] == "executed" && r["step"] == 1 && r["contact"] == c)
            .unwrap()
            .clone()
    };
    assert_eq!(call("c1")["owner"], "Dana");
    assert_eq!(call("c2")["owner"], "Eve");
    assert_eq!(call("c3")["owner"], "sdr-pool");
    // Priority and due time: Friday 09:00 + 1bd is Monday 09:00.
    assert_eq!(call("c1")["priority"], "high");
    assert_eq!(call("c1")["due"], "2026-01-12T09:00:00Z");
    // A fixed owner, no deadline: due when created.
    let task = t
        .iter()
        .find(|r| r["kind"] == "executed" && r["step"] == 2)
        .unwrap();
    assert_eq!(task["owner"], "marketing");
    assert_eq!(task["priority"], "normal");
    assert_eq!(task["due"], task["at"]);
    // Emails carry none of these keys.
    let email = t
        .iter()
        .find(|r| r["kind"] == "executed" && r["step"] == 3)
        .unwrap();
    assert!(email.get("owner").is_none() && email.get("due").is_none());
}

#[test]
fn an_owner_field_must_exist_and_hold_a_name() {
    let codes = |text: &str| {
        common::diagnostics(text)
            .iter()
            .map(|d| format!("{} {}", d.code, d.message))
            .collect::<Vec<_>>()
    };
    let got = codes("step 1: call \"Intro\" owner acount_manager\n");
    assert!(got.len() == 1 && got[0].starts_with("E100"), "{got:?}");
    let got = codes("field seats: number\nstep 1: call \"Intro\" owner seats\n");
    assert!(got.len() == 1 && got[0].starts_with("E101"), "{got:?}");
    // A fixed name ends the list.
    let got = codes("step 1: call \"Intro\" owner \"csm\" | owner\n");
    assert!(got.len() == 1 && got[0].starts_with("P001"), "{got:?}");
}

#[test]
fn fmt_keeps_the_owner_list() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("o.cadence");
    std::fs::write(
        &f,
        OWNERS.replace(
            "owner account_manager | owner | \"sdr-pool\"",
            "owner account_manager|owner |  \"sdr-pool\"",
        ),
    )
    .unwrap();
    let path = f.display().to_string();
    cadence(&["fmt", &path]).status(0);
    let text = std::fs::read_to_string(&f).unwrap();
    assert!(
        text.contains("owner account_manager | owner | \"sdr-pool\""),
        "{text}"
    );
}

fn files() -> (tempfile::TempDir, [String; 4]) {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    };
    let paths = [
        write("owners.cadence", OWNERS),
        write("contacts.csv", CONTACTS),
        write("events.csv", EVENTS),
        dir.path().join("live.db").display().to_string(),
    ];
    (dir, paths)
}

#[test]
fn the_reps_queue_has_each_call_under_its_owner() {
    let (_dir, [file, c, e, db]) = files();
    cadence(&[
        "run",
        &file,
        "--db",
        &db,
        "--contacts",
        &c,
        "--events",
        &e,
        "--clock",
        "virtual",
        "--until",
        "2026-01-09T12:00:00Z",
    ])
    .status(0);
    let (out, _) = cadence(&["tasks", "--db", &db, "--due", "all", "--format", "json"]).status(0);
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mut owners: Vec<(String, String)> = rows
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["step"] == 1)
        .map(|r| {
            (
                r["contact_id"].as_str().unwrap().to_string(),
                r["owner"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    owners.sort();
    assert_eq!(
        owners,
        [
            ("c1".to_string(), "Dana".to_string()),
            ("c2".to_string(), "Eve".to_string()),
            ("c3".to_string(), "sdr-pool".to_string())
        ]
    );
    let (out, _) = cadence(&["tasks", "--db", &db, "--owner", "Dana", "--due", "all"]).status(0);
    assert!(
        out.contains("Intro call") && !out.contains("sdr-pool"),
        "{out}"
    );
}

#[test]
fn the_report_counts_calls_and_tasks_per_owner_and_the_timeline_names_them() {
    let (_dir, [file, c, e, _]) = files();
    let (trace, _) = cadence(&[
        "simulate",
        &file,
        "--contacts",
        &c,
        "--events",
        &e,
        "--format",
        "jsonl",
    ])
    .status(0);
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("trace.jsonl");
    std::fs::write(&t, &trace).unwrap();
    let t = t.display().to_string();
    let (json, _) = cadence(&["report", &t, &file, "--format", "json"]).status(0);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let owners = &v["cadences"][0]["owners"];
    let row = |name: &str| {
        owners
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["owner"] == name)
            .unwrap_or_else(|| panic!("no {name} in {owners}"))
            .clone()
    };
    // Dana's call was answered; Eve's and the pool's went overdue; marketing got two tasks.
    assert_eq!(row("Dana")["assigned"], 1);
    assert_eq!(row("Dana")["with_outcome"], 1);
    assert_eq!(row("Eve")["overdue"], 1);
    assert_eq!(row("sdr-pool")["overdue"], 1);
    assert_eq!(row("marketing")["assigned"], 2);
    let (text, _) = cadence(&["report", &t, &file]).status(0);
    assert!(text.contains("owners\n"), "{text}");
    let (timeline, _) = cadence(&["timeline", "c1", &t, &file]).status(0);
    assert!(
        timeline.contains(
            "step 1: call Intro call (for Dana, high priority, due 2026-01-12 09:00:00Z)"
        ),
        "{timeline}"
    );
}

#[test]
fn the_repl_status_says_who_the_call_is_for() {
    let (_dir, [file, ..]) = files();
    let script = "contact c9 email=c9@example.test account_manager=Dana\nenroll c9\nstatus c9\n";
    let (out, _) = cadence(&["repl", &file]).stdin(script).status(0);
    assert!(
        out.contains("(call \"Intro call\" for Dana, high priority) executed"),
        "{out}"
    );
}

#[test]
fn a_blank_or_time_zone_owner_is_refused_and_values_are_trimmed() {
    let codes = |text: &str| {
        common::diagnostics(text)
            .iter()
            .map(|d| d.code)
            .collect::<Vec<_>>()
    };
    assert_eq!(codes("step 1: call \"Intro\" owner \"  \"\n"), ["E101"]);
    assert_eq!(codes("step 1: call \"Intro\" owner timezone\n"), ["E101"]);
    // `start` and `pin` are field names as well as test statements: a condition over two lines
    // naming `start` still reads as one statement.
    assert!(codes(
        "field start: date\nenroll when (status is set and\n  start is set)\nstep 1: call \"Intro\"\n"
    )
    .is_empty());
    let t = jsonl(&Sim {
        files: vec![("owners.cadence", OWNERS)],
        contacts: "id,first_name,email,account_manager\nc1,Ann,c1@example.test,  Dana  \n",
        events: "at,contact,event\n2026-01-09T09:00:00Z,c1,enroll\n",
        start: "2026-01-09T09:00:00Z",
        until: Some("2026-01-09T10:00:00Z"),
    });
    assert!(t.contains(r#""owner":"Dana""#), "{t}");
}

#[test]
fn a_huge_owner_name_in_a_trace_is_reported_without_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("trace.jsonl");
    let owner = "x".repeat(200_000);
    std::fs::write(
        &t,
        format!(
            "{{\"at\":\"2026-01-05T09:00:00Z\",\"contact\":\"c1\",\"cadence\":\"O\",\"kind\":\"executed\",\"step\":1,\"action\":\"call\",\"name\":\"Intro\",\"owner\":\"{owner}\",\"priority\":\"normal\",\"due\":\"2026-01-05T09:00:00Z\"}}\n"
        ),
    )
    .unwrap();
    let (out, _) = cadence(&["report", &t.display().to_string()]).status(0);
    assert!(out.contains("owners\n"), "{}", &out[..200]);
}
