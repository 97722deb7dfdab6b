//! `cadence why`: each decision about one contact in words, with the rule and the line behind
//! it, from a trace and the cadence files, or from the journal of `cadence run`.

mod common;

use common::bin::cadence;

/// Office hours in Berlin, a daily limit of two, a holiday on Monday 12 January 2026, and a
/// call guarded by the phone number. Friday 9 January 15:55Z is 16:55 in Berlin.
const CADENCE: &str = r#"cadence "B2B outbound"
field phone: phone
field timezone: tz
exit on replied
timezone field timezone default "Europe/Berlin"
window mon-fri 09:00-17:00
limit 2 emails per day
holidays [2026-01-12]
template intro { subject "Hello"; body "Hi. {{unsubscribe_link}}" }
template bump { subject "Following up"; body "Hi again. {{unsubscribe_link}}" }
step 1: email intro
  on opened -> step 2
  on no_reply 2d -> step 3
step 2: call "Intro call" if phone is set owner "sdr"
  on skipped -> step 3
  on answered -> done
  on overdue 1d -> step 3
step 3: email bump after 1bd
"#;

const CONTACTS: &str = "id,email,phone,timezone\na1,a1@example.test,+4930123456,\na2,a2@example.test,+4930123457,\na3,a3@example.test,,\na4,a4@example.test,+4930123458,\n";

const EVENTS: &str = "at,contact,event\n2026-01-09T15:55:00Z,a1,enroll\n2026-01-09T15:55:00Z,a2,enroll\n2026-01-09T15:55:00Z,a3,enroll\n2026-01-09T16:30:00Z,a4,enroll\n2026-01-13T10:00:00Z,a3,opened\n";

struct Case {
    dir: tempfile::TempDir,
}

impl Case {
    fn new() -> Case {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("b2b.cadence"), CADENCE).unwrap();
        std::fs::write(dir.path().join("contacts.csv"), CONTACTS).unwrap();
        std::fs::write(dir.path().join("events.csv"), EVENTS).unwrap();
        let case = Case { dir };
        let (trace, _) = cadence(&[
            "simulate",
            &case.path("b2b.cadence"),
            "--contacts",
            &case.path("contacts.csv"),
            "--events",
            &case.path("events.csv"),
            "--format",
            "jsonl",
        ])
        .status(0);
        std::fs::write(case.dir.path().join("trace.jsonl"), trace).unwrap();
        case
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    fn why(&self, args: &[&str]) -> String {
        let mut a = vec!["why"];
        a.extend_from_slice(args);
        let trace = self.path("trace.jsonl");
        let file = self.path("b2b.cadence");
        a.push(&trace);
        a.push(&file);
        cadence(&a).status(0).0
    }
}

fn has(out: &str, text: &str) {
    assert!(out.contains(text), "missing:\n  {text}\nin:\n{out}");
}

#[test]
fn why_an_email_waited_for_the_window_over_a_weekend_and_a_holiday() {
    let out = Case::new().why(&["a4"]);
    has(&out, "a4 in \"B2B outbound\" (times in Europe/Berlin)");
    has(
        &out,
        "Tue 13 Jan 09:00  step 1 email `intro` (line 11): became due on entering it, Fri 9 Jan 17:30, waited for the window `window mon-fri 09:00-17:00` (line 6) until Tue 13 Jan 09:00 (Mon 12 Jan is a holiday), sent Tue 13 Jan 09:00",
    );
    has(
        &out,
        "Thu 15 Jan 09:00  step 1 -> step 3: no reply within 2d: `on no_reply 2d -> step 3` (line 13)",
    );
}

#[test]
fn why_an_email_was_held_by_the_daily_limit_with_the_count_sent_that_day() {
    let out = Case::new().why(&["a3"]);
    has(
        &out,
        "step 1 email `intro` (line 11): became due on entering it, Fri 9 Jan 16:55, was held by `limit 2 emails per day` (line 7; 2 already sent Fri 9 Jan) until Tue 13 Jan 09:00, the window's next opening (Mon 12 Jan is a holiday), sent Tue 13 Jan 09:00",
    );
    has(
        &out,
        "step 3 email `bump` (line 18): became due Wed 14 Jan 11:00 by `after 1bd` (line 18), counted from entering it Tue 13 Jan 11:00, was held by `limit 2 emails per day` (line 7; 2 already sent Wed 14 Jan) until Thu 15 Jan 09:00",
    );
}

#[test]
fn why_a_step_was_skipped_names_its_if_and_where_the_contact_went() {
    let out = Case::new().why(&["a3", "--step", "2"]);
    has(
        &out,
        "step 2 call \"Intro call\" (line 14): became due on entering it, Tue 13 Jan 11:00, skipped Tue 13 Jan 11:00: `if phone is set` (line 14) was false, so `on skipped -> step 3` (line 15)",
    );
    // Only step 2: nothing about the emails.
    assert!(!out.contains("email `intro`"), "{out}");
}

#[test]
fn why_reads_the_journal_of_cadence_run_as_it_reads_a_trace() {
    let case = Case::new();
    let db = case.path("live.db");
    cadence(&[
        "run",
        &case.path("b2b.cadence"),
        "--db",
        &db,
        "--contacts",
        &case.path("contacts.csv"),
        "--events",
        &case.path("events.csv"),
        "--clock",
        "virtual",
        "--public-url",
        "https://go.acme.test",
    ])
    .status(0);
    let from_trace = case.why(&["a3"]);
    let (from_db, _) = cadence(&["why", "a3", "--db", &db]).status(0);
    // The database names its files as they were given to `run`.
    assert_eq!(from_db, from_trace);
}

#[test]
fn an_unknown_contact_or_missing_files_are_clear_errors() {
    let case = Case::new();
    let (out, err) = cadence(&[
        "why",
        "nobody",
        &case.path("trace.jsonl"),
        &case.path("b2b.cadence"),
    ])
    .status(2);
    assert!(out.is_empty());
    assert!(err.contains("the trace has no record of `nobody`"), "{err}");
    let (_, err) = cadence(&["why", "a3", &case.path("trace.jsonl")]).status(2);
    assert!(
        err.contains("give the cadence files after the trace"),
        "{err}"
    );
    let (_, err) = cadence(&[
        "why",
        "a3",
        &case.path("trace.jsonl"),
        &case.path("b2b.cadence"),
        "--cadence",
        "Nope",
    ])
    .status(2);
    assert!(err.contains("no cadence \"Nope\""), "{err}");
}

#[test]
fn an_exit_names_the_on_line_of_the_step_the_contact_was_at_or_every_rule_of_that_name() {
    let dir = tempfile::tempdir().unwrap();
    let p = |f: &str| dir.path().join(f).display().to_string();
    std::fs::write(
        p("e.cadence"),
        r#"cadence "Exits"
field score: number
exit "criteria" when score > 100
exit "criteria" when score < 0
template w { subject "Hi"; body "Hello {{unsubscribe_link}}" }
step 1: email w
  on replied -> exit "not now"
  on no_open 1d -> step 2
step 2: email w at appointment - 1d
  on bounced -> exit
  on replied -> exit "not now"
field appointment: date
"#,
    )
    .unwrap();
    std::fs::write(p("c.csv"), "id,email,score,appointment\nx1,x1@example.test,5,2026-01-05\nx2,x2@example.test,5,\nx3,x3@example.test,5,\n").unwrap();
    std::fs::write(
        p("ev.csv"),
        "at,contact,event,field,value\n2026-01-05T09:00:00Z,x1,enroll,,\n2026-01-05T09:00:00Z,x2,enroll,,\n2026-01-05T09:00:00Z,x3,enroll,,\n2026-01-05T10:00:00Z,x1,replied,,\n2026-01-05T10:00:00Z,x2,bounced,,\n2026-01-05T10:00:00Z,x3,set,score,-4\n",
    )
    .unwrap();
    let (trace, _) = cadence(&[
        "simulate",
        &p("e.cadence"),
        "--contacts",
        &p("c.csv"),
        "--events",
        &p("ev.csv"),
        "--format",
        "jsonl",
    ])
    .status(0);
    std::fs::write(p("t.jsonl"), trace).unwrap();
    let why = |id: &str| {
        cadence(&["why", id, &p("t.jsonl"), &p("e.cadence")])
            .status(0)
            .0
    };
    has(
        &why("x1"),
        "exited \"not now\": `on replied -> exit \"not now\"` (line 7) of step 1",
    );
    // Step 1 has no `on bounced`: the built-in exit, not step 2's line.
    has(&why("x2"), "exited \"bounced\": the address bounced");
    // Two rules share the reason: both are named.
    has(
        &why("x3"),
        "exited \"criteria\": one of `exit \"criteria\" when score > 100` (line 3), `exit \"criteria\" when score < 0` (line 4)",
    );
}

#[test]
fn a_skipped_email_is_named_by_its_template_and_an_unknown_step_is_said() {
    let case = Case::new();
    // a3 has no phone: step 2 is a call; ask about a step that does not exist.
    let out = case.why(&["a3", "--step", "9"]);
    has(
        &out,
        "\"B2B outbound\" has no step 9 (its steps are 1, 2, 3)",
    );
}
