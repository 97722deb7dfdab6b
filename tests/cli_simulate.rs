//! `cadence simulate` through the real binary: the JSON lines contract, bad rows with line
//! numbers, exit codes.

use std::process::Command;

fn simulate(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cadence"))
        .arg("simulate")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

const CADENCE: &str = "tests/fixtures/sim/onboarding.cadence";

#[test]
fn jsonl_records_carry_the_contract_keys() {
    let (code, stdout, stderr) = simulate(&[
        CADENCE,
        "--contacts",
        "tests/fixtures/sim/contacts.csv",
        "--events",
        "tests/fixtures/sim/events.csv",
        "--format",
        "jsonl",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!lines.is_empty());
    let mut kinds = std::collections::BTreeSet::new();
    for v in &lines {
        for key in ["at", "contact", "cadence", "kind"] {
            assert!(v.get(key).is_some(), "{v} lacks {key}");
        }
        let at = v["at"].as_str().unwrap();
        assert!(at.ends_with('Z') && at.len() == 20, "{at}");
        let kind = v["kind"].as_str().unwrap();
        kinds.insert(kind.to_string());
        let need: &[&str] = match kind {
            "executed" => &["step", "action", "name"],
            "skipped" => &["step", "reason"],
            "event" => &["step", "event"],
            "transition" => &["from", "to", "on"],
            "exited" => &["reason"],
            "goal" => &["name"],
            _ => &[],
        };
        for key in need {
            assert!(v.get(*key).is_some(), "{v} lacks {key}");
        }
    }
    for k in [
        "enrolled",
        "executed",
        "event",
        "transition",
        "completed",
        "goal",
    ] {
        assert!(kinds.contains(k), "no {k} record: {kinds:?}");
    }
    let exec = lines.iter().find(|v| v["kind"] == "executed").unwrap();
    assert_eq!(exec["step"], 1);
    assert_eq!(exec["action"], "email");
    assert_eq!(exec["name"], "welcome");
    assert_eq!(exec["cadence"], "Onboarding");
    let tr = lines
        .iter()
        .find(|v| v["kind"] == "transition" && v["to"] == "done")
        .unwrap();
    assert_eq!(tr["from"], 2);
    assert_eq!(tr["on"], "answered");
}

#[test]
fn the_trace_is_byte_identical_across_runs() {
    let args = [
        CADENCE,
        "--contacts",
        "tests/fixtures/sim/contacts.csv",
        "--events",
        "tests/fixtures/sim/events.csv",
        "--format",
        "jsonl",
    ];
    assert_eq!(simulate(&args).1, simulate(&args).1);
}

#[test]
fn bad_rows_are_reported_with_line_numbers_and_the_rest_runs() {
    let (code, stdout, stderr) = simulate(&[
        CADENCE,
        "--contacts",
        "tests/fixtures/sim/bad_contacts.csv",
        "--events",
        "tests/fixtures/sim/bad_events.csv",
        "--format",
        "jsonl",
    ]);
    assert_eq!(code, 1, "{stderr}");
    for expected in [
        "bad_contacts.csv:3: contact `c2`: field `email`: \"not-an-address\" is not an email address",
        "bad_contacts.csv:4: the row has no id",
        "bad_contacts.csv:5: contact `c1` appears twice",
        "bad_contacts.csv:6: contact `c4`: field `plan`: \"gold\" is not one of \"trial\", \"pro\"",
        "bad_events.csv:3: `at` \"yesterday\" is not an RFC 3339 instant",
        "bad_events.csv:4: unknown contact `zed`",
        "bad_events.csv:5: unknown event `opend`; did you mean `opened`?",
    ] {
        assert!(stderr.contains(expected), "missing {expected:?} in:\n{stderr}");
    }
    // c1 is valid and still runs.
    assert!(
        stdout.contains("\"contact\":\"c1\",\"cadence\":\"Onboarding\",\"kind\":\"executed\""),
        "{stdout}"
    );
}

#[test]
fn events_that_change_nothing_are_explained_with_their_line() {
    let (code, _, stderr) = simulate(&[
        CADENCE,
        "--contacts",
        "tests/fixtures/sim/contacts.csv",
        "--events",
        "tests/fixtures/sim/bad_events.csv",
    ]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("bad_events.csv:8: there is no step 9"),
        "{stderr}"
    );
    assert!(
        stderr.contains("bad_events.csv:7: `no_reply` is a timeout"),
        "{stderr}"
    );
    assert!(
        stderr.contains("bad_events.csv:5: unknown event `opend`"),
        "{stderr}"
    );
}

#[test]
fn until_accepts_a_duration_after_the_start() {
    let (code, stdout, _) = simulate(&[
        CADENCE,
        "--contacts",
        "tests/fixtures/sim/contacts.csv",
        "--start",
        "2026-01-05T09:00:00Z",
        "--until",
        "1h",
        "--format",
        "jsonl",
    ]);
    assert_eq!(code, 0);
    assert!(
        stdout.lines().all(|l| l.contains("2026-01-05T09:")),
        "{stdout}"
    );
}

#[test]
fn missing_contacts_file_exits_2() {
    let (code, _, stderr) = simulate(&[CADENCE, "--contacts", "nope.csv"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("cannot read `nope.csv`: no such file"),
        "{stderr}"
    );
}

#[test]
fn missing_contacts_flag_is_a_usage_error() {
    let (code, _, stderr) = simulate(&[CADENCE]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--contacts"), "{stderr}");
}

#[test]
fn a_cadence_with_errors_is_not_simulated() {
    let (code, stdout, stderr) = simulate(&[
        "tests/fixtures/check/E103_missing_step.cadence",
        "--contacts",
        "tests/fixtures/sim/contacts.csv",
    ]);
    assert_eq!(code, 1);
    assert!(stdout.is_empty());
    assert!(stderr.contains("E103"), "{stderr}");
}

#[test]
fn a_header_without_id_is_an_error() {
    let dir = std::env::temp_dir().join(format!("cadence-sim-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("c.csv");
    std::fs::write(&path, "name,email\nAnn,a@example.test\n").unwrap();
    let (code, _, stderr) = simulate(&[CADENCE, "--contacts", path.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no `id` column"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_sqlite_store_gives_the_same_trace() {
    let dir = std::env::temp_dir().join(format!("cadence-db-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("contacts.db");
    let base = [
        CADENCE,
        "--contacts",
        "tests/fixtures/sim/contacts.csv",
        "--events",
        "tests/fixtures/sim/events.csv",
        "--format",
        "jsonl",
    ];
    let mem = simulate(&base).1;
    let mut with_db: Vec<&str> = base.to_vec();
    with_db.extend(["--db", db.to_str().unwrap()]);
    assert_eq!(simulate(&with_db).1, mem);
    std::fs::remove_dir_all(&dir).unwrap();
}

fn scratch(name: &str, files: &[(&str, &str)]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("cadence-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (f, text) in files {
        std::fs::write(dir.join(f), text).unwrap();
    }
    dir
}

#[test]
fn line_numbers_are_right_with_crlf_line_endings() {
    let dir = scratch("crlf", &[
        ("c.csv", "id,email\r\nc1,a@example.test\r\n"),
        ("e.csv", "at,contact,event\r\n2026-01-05T09:00:00Z,c1,enroll\r\n2026-01-05T10:00:00Z,zz,enroll\r\n"),
    ]);
    let (code, _, stderr) = simulate(&[
        CADENCE,
        "--contacts",
        dir.join("c.csv").to_str().unwrap(),
        "--events",
        dir.join("e.csv").to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(stderr.contains("e.csv:3: unknown contact `zz`"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_empty_events_file_means_no_events() {
    let dir = scratch("empty", &[("e.csv", "")]);
    let (code, _, stderr) = simulate(&[
        CADENCE,
        "--contacts",
        "tests/fixtures/sim/contacts.csv",
        "--events",
        dir.join("e.csv").to_str().unwrap(),
        "--start",
        "2026-01-05T09:00:00Z",
    ]);
    assert_eq!(code, 0, "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn until_accepts_business_days() {
    let (code, stdout, stderr) = simulate(&[
        CADENCE,
        "--contacts",
        "tests/fixtures/sim/contacts.csv",
        "--start",
        "2026-01-09T09:00:00Z",
        "--until",
        "1bd",
        "--format",
        "jsonl",
    ]);
    assert_eq!(code, 0, "{stderr}");
    // Friday + 1 business day = Monday 09:00: the no_open timeout (3 days) has fired by then.
    assert!(stdout.contains("\"on\":\"no_open\""), "{stdout}");
}

#[test]
fn events_before_the_start_are_noted_not_applied() {
    let (code, _, stderr) = simulate(&[
        CADENCE,
        "--contacts",
        "tests/fixtures/sim/contacts.csv",
        "--events",
        "tests/fixtures/sim/events.csv",
        "--start",
        "2026-01-06T00:00:00Z",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("events.csv:2: note: the event is before --start"),
        "{stderr}"
    );
}

#[test]
fn control_characters_of_contact_ids_are_shown_as_escapes() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("c.csv");
    let e = dir.path().join("e.csv");
    std::fs::write(
        &c,
        "id,first_name,email\n\"c1\u{1b}]0;pwned\u{7}\nX\",Ann,a@example.test\n",
    )
    .unwrap();
    std::fs::write(
        &e,
        "at,contact,event\n2026-01-05T09:00:00Z,\"c1\u{1b}]0;pwned\u{7}\nX\",enroll\n2026-01-05T09:00:00Z,zz\u{1b}[31m,opened\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cadence"))
        .args(["simulate", "examples/saas_onboarding.cadence", "--contacts"])
        .arg(&c)
        .arg("--events")
        .arg(&e)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    for text in [&stdout, &stderr] {
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{7}'),
            "{text:?}"
        );
    }
    assert!(stdout.contains("c1\\u{1b}]0;pwned\\u{7}\\nX"), "{stdout}");
    assert!(stderr.contains("zz\\u{1b}[31m"), "{stderr}");
    // Every record is one line.
    assert!(stdout.lines().all(|l| l.starts_with("2026-")), "{stdout}");
}

#[test]
fn an_unclosed_quote_or_a_row_of_the_wrong_width_is_a_bad_row_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("c.csv");
    let e = dir.path().join("e.csv");
    std::fs::write(&e, "at,contact,event\n").unwrap();
    let run = |contacts: &str| {
        std::fs::write(&c, contacts).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_cadence"))
            .args(["simulate", "examples/saas_onboarding.cadence", "--contacts"])
            .arg(&c)
            .arg("--events")
            .arg(&e)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = run(
        "id,first_name,email\nc1,Ann,a@example.test\nc2,\"Bo,b@example.test\nc3,Cy,c@example.test\n",
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("c.csv:3: a quote opened on this line is never closed"),
        "{err}"
    );
    assert!(err.contains("simulated 1 contact"), "{err}");
    let (code, err) =
        run("id,first_name,email\nc1,Ann\nc2,Bo,b@example.test,extra\nc3,Cy,c@example.test\n");
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("c.csv:2: 2 values where the header has 3"),
        "{err}"
    );
    assert!(
        err.contains("c.csv:3: 4 values where the header has 3"),
        "{err}"
    );
    assert!(err.contains("simulated 1 contact"), "{err}");
    // Lines ended by a lone carriage return are counted as lines.
    let (_, err) = run("id,first_name,email\rc1,Ann,a@example.test\rc2,Bo\rc3,Cy,c@example.test\r");
    assert!(
        err.contains("c.csv:3: 2 values where the header has 3"),
        "{err}"
    );
}

#[test]
fn notes_about_events_before_the_start_are_capped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let e = dir.path().join("e.csv");
    let mut text = String::from("at,contact,event\n");
    for i in 0..150 {
        text.push_str(&format!("2026-01-01T00:00:{:02}Z,c001,enroll\n", i % 60));
    }
    std::fs::write(&e, text).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cadence"))
        .args([
            "simulate",
            "examples/saas_onboarding.cadence",
            "--contacts",
            "examples/contacts.csv",
            "--start",
            "2026-03-01T00:00:00Z",
            "--events",
        ])
        .arg(&e)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("is before --start").count(), 100, "{err}");
    assert!(
        err.contains(
            "note: 50 more events are before --start (not shown; none of them is applied)"
        ),
        "{err}"
    );
}

#[test]
fn simulate_with_a_db_used_before_runs_only_the_contacts_given() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("s.cadence"),
        "field plan: text\nenroll when plan == \"trial\"\ntemplate w { subject \"x\"; body \"x {{unsubscribe_link}}\" }\nstep 1: email w\n",
    )
    .unwrap();
    std::fs::write(
        d.join("a.csv"),
        "id,email,plan\nc1,a@example.test,trial\nc2,b@example.test,trial\n",
    )
    .unwrap();
    std::fs::write(d.join("b.csv"), "id,email,plan\nc3,c@example.test,trial\n").unwrap();
    std::fs::write(d.join("e.csv"), "at,contact,event\n").unwrap();
    let run = |contacts: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_cadence"))
            .args([
                "simulate",
                "s.cadence",
                "--contacts",
                contacts,
                "--events",
                "e.csv",
                "--db",
                "s.db",
                "--start",
                "2026-01-05T09:00:00Z",
            ])
            .current_dir(d)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(run("a.csv").contains("c2"));
    let second = run("b.csv");
    assert!(second.contains("c3"), "{second}");
    assert!(!second.contains("c1") && !second.contains("c2"), "{second}");
}

#[test]
fn an_events_row_may_leave_out_its_trailing_optional_cells() {
    let dir = tempfile::tempdir().unwrap();
    let e = dir.path().join("e.csv");
    std::fs::write(
        &e,
        "at,contact,event,step,field,value,cadence\n2026-03-02T14:00:00Z,c010,enroll\n2026-03-02T15:00:00Z,c010,clicked,1\n2026-03-02T16:00:00Z,c010,opened,1,,,,extra\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cadence"))
        .args([
            "simulate",
            "examples/saas_onboarding.cadence",
            "--contacts",
            "examples/contacts.csv",
            "--format",
            "jsonl",
            "--events",
        ])
        .arg(&e)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout.contains(
            "\"contact\":\"c010\",\"cadence\":\"SaaS trial onboarding\",\"kind\":\"enrolled\""
        ),
        "{stderr}"
    );
    assert!(stdout.contains("\"event\":\"clicked\""), "{stdout}");
    // Too many values is still a bad row.
    assert!(
        stderr.contains("e.csv:4: 8 values where the header has 7"),
        "{stderr}"
    );
}

#[test]
fn an_unknown_zone_in_a_text_field_read_as_timezone_field_is_a_bad_row() {
    let dir = tempfile::tempdir().unwrap();
    let cad = dir.path().join("z.cadence");
    std::fs::write(
        &cad,
        "field home: text\ntimezone field home default \"UTC\"\ntemplate w { subject \"x\"; body \"x {{unsubscribe_link}}\" }\nstep 1: email w\n",
    )
    .unwrap();
    let c = dir.path().join("c.csv");
    std::fs::write(
        &c,
        "id,email,home\nc1,a@example.test,Europe/Paris\nc2,b@example.test,Mars/Olympus\nc3,c@example.test,\n",
    )
    .unwrap();
    let e = dir.path().join("e.csv");
    std::fs::write(
        &e,
        "at,contact,event\n2026-01-05T09:00:00Z,c1,enroll\n2026-01-05T09:00:00Z,c3,enroll\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cadence"))
        .arg("simulate")
        .arg(&cad)
        .arg("--contacts")
        .arg(&c)
        .arg("--events")
        .arg(&e)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let trace = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("c.csv:3:") && err.contains("\"Mars/Olympus\" is not an IANA time zone"),
        "{err}"
    );
    // The rest still runs: c1 in its own zone, c3 (no zone) in the default.
    assert!(trace.contains("c1") && trace.contains("c3"), "{trace}");
    assert!(!trace.contains("c2"), "{trace}");
}
