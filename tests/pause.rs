//! Pause and resume: a paused enrolment's timers are held; on resume each wait continues with
//! the time it had left, or (catch-up) what fell due fires once, now. The same in the
//! simulator (events rows `pause` and `resume`) and in `cadence run`, with `cadence pause` and
//! `cadence resume` for a contact, a whole cadence and an owner's time off. 2026-01-05 is a
//! Monday.

mod common;

use common::bin::cadence;
use common::{compact, run, TEMPLATES};

fn cad(body: &str) -> String {
    format!("cadence \"Trial\"\n{TEMPLATES}\n{body}")
}

const ONE: &str = "id,first_name,email\nc1,Ann,ann@example.test\n";

const WAIT: &str = "step 1: email welcome\n  on no_reply 3d -> step 2\nstep 2: email reminder";

fn events(rows: &[&str]) -> String {
    let mut s = String::from("at,contact,event,value\n");
    for r in rows {
        s.push_str(r);
        s.push('\n');
    }
    s
}

#[test]
fn a_paused_wait_continues_with_the_time_it_had_left() {
    // Sent Monday 09:00, no_reply after 3 days; paused Tuesday 09:00 (2 days left), resumed
    // Friday 09:00: the timeout falls due Sunday 09:00.
    let t = run(
        &cad(WAIT),
        ONE,
        &events(&[
            "2026-01-05T09:00:00Z,c1,enroll,",
            "2026-01-06T09:00:00Z,c1,pause,",
            "2026-01-09T09:00:00Z,c1,resume,",
        ]),
        "2026-01-05T09:00:00Z",
    );
    assert_eq!(
        t,
        [
            "2026-01-05T09:00:00Z c1 enrolled",
            "2026-01-05T09:00:00Z c1 executed 1 welcome",
            "2026-01-06T09:00:00Z c1 paused 1",
            "2026-01-09T09:00:00Z c1 resumed 1",
            "2026-01-11T09:00:00Z c1 transition 1->2 on no_reply",
            "2026-01-11T09:00:00Z c1 executed 2 reminder",
            "2026-01-11T09:00:00Z c1 completed",
        ]
    );
}

#[test]
fn resume_with_catch_up_fires_what_fell_due_once_now() {
    let t = run(
        &cad(WAIT),
        ONE,
        &events(&[
            "2026-01-05T09:00:00Z,c1,enroll,",
            "2026-01-06T09:00:00Z,c1,pause,",
            "2026-01-12T09:00:00Z,c1,resume,catch-up",
        ]),
        "2026-01-05T09:00:00Z",
    );
    assert_eq!(
        t,
        [
            "2026-01-05T09:00:00Z c1 enrolled",
            "2026-01-05T09:00:00Z c1 executed 1 welcome",
            "2026-01-06T09:00:00Z c1 paused 1",
            "2026-01-12T09:00:00Z c1 resumed 1 catch-up",
            "2026-01-12T09:00:00Z c1 transition 1->2 on no_reply",
            "2026-01-12T09:00:00Z c1 executed 2 reminder",
            "2026-01-12T09:00:00Z c1 completed",
        ]
    );
}

#[test]
fn a_pause_with_an_end_resumes_by_itself_and_a_pending_step_keeps_its_remaining_delay() {
    // Due Wednesday 09:00 (2 days after Monday); paused Tuesday 09:00 until Thursday 09:00:
    // one day was left, so it is due Friday 09:00.
    let t = run(
        &cad("step 1: email welcome after 2d"),
        ONE,
        &events(&[
            "2026-01-05T09:00:00Z,c1,enroll,",
            "2026-01-06T09:00:00Z,c1,pause,2026-01-08T09:00:00Z",
        ]),
        "2026-01-05T09:00:00Z",
    );
    assert_eq!(
        t,
        [
            "2026-01-05T09:00:00Z c1 enrolled",
            "2026-01-06T09:00:00Z c1 paused 1 until 2026-01-08T09:00:00Z",
            "2026-01-08T09:00:00Z c1 resumed 1",
            "2026-01-09T09:00:00Z c1 executed 1 welcome",
            "2026-01-09T09:00:00Z c1 completed",
        ]
    );
}

#[test]
fn a_reply_while_paused_still_ends_the_enrolment() {
    let t = run(
        &cad(&format!("exit on replied\n{WAIT}")),
        ONE,
        &events(&[
            "2026-01-05T09:00:00Z,c1,enroll,",
            "2026-01-06T09:00:00Z,c1,pause,",
            "2026-01-07T09:00:00Z,c1,replied,",
        ]),
        "2026-01-05T09:00:00Z",
    );
    assert_eq!(
        &t[2..],
        [
            "2026-01-06T09:00:00Z c1 paused 1",
            "2026-01-07T09:00:00Z c1 event 1 replied",
            "2026-01-07T09:00:00Z c1 exited replied",
        ]
    );
}

#[test]
fn a_step_entered_while_paused_waits_its_whole_delay_after_the_resume() {
    // Opened during the pause: step 2 is entered then, and falls due an hour after the resume.
    let t = run(
        &cad("step 1: email welcome\n  on opened -> step 2\nstep 2: email tips after 1h"),
        ONE,
        &events(&[
            "2026-01-05T09:00:00Z,c1,enroll,",
            "2026-01-06T09:00:00Z,c1,pause,",
            "2026-01-06T10:00:00Z,c1,opened,",
            "2026-01-07T09:00:00Z,c1,resume,",
        ]),
        "2026-01-05T09:00:00Z",
    );
    assert_eq!(
        &t[2..],
        [
            "2026-01-06T09:00:00Z c1 paused 1",
            "2026-01-06T10:00:00Z c1 event 1 opened",
            "2026-01-06T10:00:00Z c1 transition 1->2 on opened",
            "2026-01-07T09:00:00Z c1 resumed 2",
            "2026-01-07T10:00:00Z c1 executed 2 tips",
            "2026-01-07T10:00:00Z c1 completed",
        ]
    );
}

#[test]
fn bad_pause_rows_are_reported_with_their_line() {
    let (_, err, _) = simulate(
        &cad(WAIT),
        &[
            "2026-01-05T09:00:00Z,c1,enroll,",
            "2026-01-06T09:00:00Z,c1,pause,next tuesday",
            "2026-01-07T09:00:00Z,c1,resume,2026-01-08T09:00:00Z",
        ],
        1,
    );
    assert!(err.contains("events.csv:3"), "{err}");
    assert!(err.contains("not an RFC 3339 instant"), "{err}");
    assert!(err.contains("events.csv:4"), "{err}");
    assert!(err.contains("`resume` takes no time"), "{err}");
}

/// `cadence simulate` of `cadence_text` over contact c1 and these events rows, in JSON lines:
/// (stdout, stderr, the folder of the files).
fn simulate(cadence_text: &str, rows: &[&str], code: i32) -> (String, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let p = |f: &str| dir.path().join(f).display().to_string();
    std::fs::write(p("t.cadence"), cadence_text).unwrap();
    std::fs::write(p("contacts.csv"), ONE).unwrap();
    std::fs::write(p("events.csv"), events(rows)).unwrap();
    let (out, err) = cadence(&[
        "simulate",
        &p("t.cadence"),
        "--contacts",
        &p("contacts.csv"),
        "--events",
        &p("events.csv"),
        "--format",
        "jsonl",
    ])
    .status(code);
    (out, err, dir)
}

// ---- the runner ------------------------------------------------------------------------------

struct Db {
    dir: tempfile::TempDir,
}

impl Db {
    fn new(cadence_text: &str, contacts: &str, events: &str) -> Db {
        let db = Db {
            dir: tempfile::tempdir().unwrap(),
        };
        std::fs::write(db.path("t.cadence"), cadence_text).unwrap();
        std::fs::write(db.path("contacts.csv"), contacts).unwrap();
        std::fs::write(db.path("events.csv"), events).unwrap();
        db
    }

    fn path(&self, f: &str) -> String {
        self.dir.path().join(f).display().to_string()
    }

    /// Runs the virtual clock from Monday 09:00 to `until`.
    fn run_to(&self, until: &str) {
        cadence(&[
            "run",
            &self.path("t.cadence"),
            "--db",
            &self.path("live.db"),
            "--contacts",
            &self.path("contacts.csv"),
            "--events",
            &self.path("events.csv"),
            "--clock",
            "virtual",
            "--start",
            "2026-01-05T09:00:00Z",
            "--until",
            until,
        ])
        .status(0);
    }

    fn cli(&self, args: &[&str]) -> String {
        let mut all: Vec<&str> = args.to_vec();
        let db = self.path("live.db");
        all.extend(["--db", &db]);
        cadence(&all).status(0).1
    }

    fn trace(&self) -> Vec<String> {
        let (out, _) =
            cadence(&["trace", "--db", &self.path("live.db"), "--format", "jsonl"]).status(0);
        compact(&out)
    }
}

#[test]
fn the_runner_pauses_and_resumes_as_the_simulator_does() {
    let contacts = "id,first_name,email\nc1,Ann,ann@example.test\nc2,Bo,bo@example.test\nc3,Cy,cy@example.test\n";
    let ev = events(&[
        "2026-01-05T09:00:00Z,c1,enroll,",
        "2026-01-05T09:00:00Z,c2,enroll,",
        "2026-01-05T09:00:00Z,c3,enroll,",
        "2026-01-06T09:00:00Z,c1,pause,",
        "2026-01-06T09:00:00Z,c2,pause,2026-01-09T09:00:00Z catch-up",
        "2026-01-06T09:00:00Z,c3,pause,",
        "2026-01-09T09:00:00Z,c1,resume,",
        "2026-01-12T09:00:00Z,c3,resume,catch-up",
    ]);
    let text = cad(WAIT);
    let mut sim = run(&text, contacts, &ev, "2026-01-05T09:00:00Z");
    let db = Db::new(&text, contacts, &ev);
    // Stopped and started again in the middle of the pause: the paused state is read back from
    // the database.
    db.run_to("2026-01-07T00:00:00Z");
    db.run_to("2026-02-01T00:00:00Z");
    let mut live = db.trace();
    sim.sort();
    live.sort();
    assert_eq!(live, sim);
    assert!(sim.contains(&"2026-01-11T09:00:00Z c1 executed 2 reminder".to_string()));
    assert!(sim.contains(&"2026-01-09T09:00:00Z c2 executed 2 reminder".to_string()));
    assert!(sim.contains(&"2026-01-12T09:00:00Z c3 executed 2 reminder".to_string()));
    assert_eq!(
        sim.iter().filter(|l| l.contains("executed 2")).count(),
        3,
        "each reminder once: {sim:#?}"
    );
}

#[test]
fn cadence_pause_and_resume_for_one_contact() {
    let db = Db::new(
        &cad(WAIT),
        ONE,
        &events(&["2026-01-05T09:00:00Z,c1,enroll,"]),
    );
    db.run_to("2026-01-06T09:00:00Z");
    let err = db.cli(&["pause", "--contact", "c1"]);
    assert!(
        err.contains("queued: pause `c1` at 2026-01-06T09:00:00Z"),
        "{err}"
    );
    db.run_to("2026-01-09T09:00:00Z");
    assert!(
        !db.trace().iter().any(|l| l.contains("reminder")),
        "held through Thursday"
    );
    db.cli(&["resume", "--contact", "c1"]);
    db.run_to("2026-02-01T00:00:00Z");
    let t = db.trace();
    assert_eq!(
        &t[2..],
        [
            "2026-01-06T09:00:00Z c1 paused 1",
            "2026-01-09T09:00:00Z c1 resumed 1",
            "2026-01-11T09:00:00Z c1 transition 1->2 on no_reply",
            "2026-01-11T09:00:00Z c1 executed 2 reminder",
            "2026-01-11T09:00:00Z c1 completed",
        ]
    );
    // Unknown contacts and resumes of what is not paused say so.
    let (_, err) = cadence(&["pause", "--db", &db.path("live.db"), "--contact", "c9"]).status(2);
    assert!(err.contains("unknown contact `c9`"), "{err}");
}

#[test]
fn a_paused_cadence_holds_its_contacts_and_enrols_new_ones_paused() {
    let contacts = "id,first_name,email\nc1,Ann,ann@example.test\nc2,Bo,bo@example.test\n";
    let db = Db::new(
        &cad(WAIT),
        contacts,
        &events(&[
            "2026-01-05T09:00:00Z,c1,enroll,",
            "2026-01-07T09:00:00Z,c2,enroll,",
        ]),
    );
    db.run_to("2026-01-06T09:00:00Z");
    let err = db.cli(&["pause", "Trial", "--until", "3d"]);
    assert!(
        err.contains("queued: pause \"Trial\" at 2026-01-06T09:00:00Z until 2026-01-09T09:00:00Z"),
        "{err}"
    );
    db.run_to("2026-02-01T00:00:00Z");
    let t = db.trace();
    for line in [
        "2026-01-06T09:00:00Z c1 paused 1 until 2026-01-09T09:00:00Z",
        "2026-01-09T09:00:00Z c1 resumed 1",
        "2026-01-11T09:00:00Z c1 executed 2 reminder",
        // Enrolled during the pause: step 1 waits for its end.
        "2026-01-07T09:00:00Z c2 enrolled",
        "2026-01-07T09:00:00Z c2 paused 1 until 2026-01-09T09:00:00Z",
        "2026-01-09T09:00:00Z c2 resumed 1",
        "2026-01-09T09:00:00Z c2 executed 1 welcome",
        "2026-01-12T09:00:00Z c2 executed 2 reminder",
    ] {
        assert!(t.contains(&line.to_string()), "no `{line}` in {t:#?}");
    }
    let (_, err) = cadence(&["pause", "--db", &db.path("live.db"), "Trail"]).status(2);
    assert!(err.contains("did you mean \"Trial\""), "{err}");
}

#[test]
fn an_owner_away_holds_their_calls_and_emails_go_on() {
    // c1's call is on the list before the time off; c2's falls due during it.
    let text = cad("step 1: email welcome\nstep 2: call \"Intro call\" after 1d owner \"csm\"\nstep 3: email tips after 1d");
    let db = Db::new(
        &text,
        "id,first_name,email\nc1,Ann,ann@example.test\nc2,Bo,bo@example.test\n",
        &events(&[
            "2026-01-05T09:00:00Z,c1,enroll,",
            "2026-01-06T12:00:00Z,c2,enroll,",
        ]),
    );
    db.run_to("2026-01-06T10:00:00Z");
    let err = db.cli(&["pause", "--owner", "csm", "--until", "2026-01-08T08:00:00Z"]);
    assert!(err.contains("`csm` is away"), "{err}");
    let (_, err) = cadence(&["pause", "--db", &db.path("live.db"), "--owner", "csm"]).status(2);
    assert!(err.contains("--owner needs --until"), "{err}");
    // The open call is due when the owner is back (once the runner has applied the pause).
    db.run_to("2026-01-06T10:00:00Z");
    let (tasks, _) = cadence(&["tasks", "--db", &db.path("live.db"), "--format", "json"]).status(0);
    let tasks: serde_json::Value = serde_json::from_str(&tasks).unwrap();
    assert_eq!(
        tasks[0]["due"], 1_767_859_200,
        "2026-01-08T08:00:00Z: {tasks}"
    );
    db.run_to("2026-02-01T00:00:00Z");
    let t: Vec<String> = db
        .trace()
        .into_iter()
        .filter(|l| l.contains(" c2 "))
        .collect();
    assert_eq!(
        t,
        [
            "2026-01-06T12:00:00Z c2 enrolled",
            "2026-01-06T12:00:00Z c2 executed 1 welcome",
            "2026-01-08T08:00:00Z c2 executed 2 Intro call",
            "2026-01-09T08:00:00Z c2 executed 3 tips",
            "2026-01-09T08:00:00Z c2 completed",
        ]
    );
    // Emails go on: c1's tips email is not held.
    assert!(db
        .trace()
        .contains(&"2026-01-07T09:00:00Z c1 executed 3 tips".to_string()));
    let (text_trace, _) = cadence(&["trace", "--db", &db.path("live.db")]).status(0);
    assert!(
        text_trace.contains("step 2 held to 2026-01-08 08:00:00Z (its owner is away)"),
        "{text_trace}"
    );
}

#[test]
fn report_timeline_and_why_read_pauses() {
    let (trace, _, dir) = simulate(
        &cad("step 1: email welcome after 2d"),
        &[
            "2026-01-05T09:00:00Z,c1,enroll,",
            "2026-01-06T09:00:00Z,c1,pause,",
            "2026-01-08T09:00:00Z,c1,resume,",
        ],
        0,
    );
    let p = |f: &str| dir.path().join(f).display().to_string();
    std::fs::write(p("trace.jsonl"), &trace).unwrap();
    let (report, _) = cadence(&["report", &p("trace.jsonl"), &p("t.cadence")]).status(0);
    assert!(report.contains("completed 1"), "{report}");
    let (t, _) = cadence(&["timeline", "c1", &p("trace.jsonl")]).status(0);
    assert!(t.contains("paused at step 1"), "{t}");
    assert!(t.contains("resumed at step 1"), "{t}");
    let (why, _) = cadence(&["why", "c1", &p("trace.jsonl"), &p("t.cadence")]).status(0);
    assert!(why.contains("paused by hand"), "{why}");
    assert!(why.contains("resumed: the wait went on"), "{why}");
    // Due 2 days after Monday 09:00 with 2 days paused: Friday 09:00, as the engine says.
    assert!(why.contains("became due Fri 9 Jan 09:00"), "{why}");
}

#[test]
fn a_cadence_paused_and_resumed_before_the_runner_runs_again_leaves_nobody_paused() {
    let contacts = "id,first_name,email\nc1,Ann,ann@example.test\nc2,Bo,bo@example.test\n";
    let db = Db::new(
        &cad(WAIT),
        contacts,
        &events(&[
            "2026-01-05T09:00:00Z,c1,enroll,",
            "2026-01-05T12:00:00Z,c2,enroll,",
        ]),
    );
    db.run_to("2026-01-05T10:00:00Z");
    // Queued before c2 is enrolled (at 12:00), taking effect after it.
    db.cli(&["pause", "Trial", "--at", "2026-01-06T09:00:00Z"]);
    db.cli(&["resume", "Trial", "--at", "2026-01-07T09:00:00Z"]);
    db.run_to("2026-02-01T00:00:00Z");
    let t = db.trace();
    for line in [
        "2026-01-06T09:00:00Z c1 paused 1",
        "2026-01-06T09:00:00Z c2 paused 1",
        "2026-01-07T09:00:00Z c1 resumed 1",
        "2026-01-07T09:00:00Z c2 resumed 1",
        // A day later than without the pause.
        "2026-01-09T09:00:00Z c1 executed 2 reminder",
        "2026-01-09T12:00:00Z c2 executed 2 reminder",
    ] {
        assert!(t.contains(&line.to_string()), "no `{line}` in {t:#?}");
    }
    // A later pause of the same cadence starts then, not at the first one's start.
    let db = Db::new(
        &cad(WAIT),
        contacts,
        &events(&[
            "2026-01-05T09:00:00Z,c1,enroll,",
            "2026-01-12T09:00:00Z,c2,enroll,",
        ]),
    );
    db.run_to("2026-01-05T10:00:00Z");
    db.cli(&["pause", "Trial", "--until", "2026-01-06T00:00:00Z"]);
    db.cli(&[
        "pause",
        "Trial",
        "--at",
        "2026-01-20T00:00:00Z",
        "--until",
        "2026-01-25T00:00:00Z",
    ]);
    db.run_to("2026-02-01T00:00:00Z");
    let t = db.trace();
    assert!(
        t.contains(&"2026-01-12T09:00:00Z c2 executed 1 welcome".to_string()),
        "{t:#?}"
    );
}

#[test]
fn catching_up_fires_the_timeout_that_fell_due_first() {
    // no_open falls due after 2 days, before no_reply (5 days): it wins, as it would have.
    let t = run(
        &cad("step 1: email welcome\n  on no_reply 5d -> step 2\n  on no_open 2d -> step 3\nstep 2: email reminder\nstep 3: email tips"),
        ONE,
        &events(&[
            "2026-01-05T09:00:00Z,c1,enroll,",
            "2026-01-06T09:00:00Z,c1,pause,",
            "2026-01-20T09:00:00Z,c1,resume,catch-up",
        ]),
        "2026-01-05T09:00:00Z",
    );
    assert_eq!(
        t[4], "2026-01-20T09:00:00Z c1 transition 1->3 on no_open",
        "{t:#?}"
    );
}

#[test]
fn a_pause_whose_end_has_passed_holds_nothing() {
    let (out, err, _) = simulate(
        &cad(WAIT),
        &[
            "2026-01-05T09:00:00Z,c1,enroll,",
            "2026-01-06T09:00:00Z,c1,pause,2026-01-06T08:00:00Z",
        ],
        0,
    );
    assert!(!out.contains("paused"), "{out}");
    assert!(out.contains("reminder"), "{out}");
    assert!(
        err.contains("events.csv:3") && err.contains("nothing is paused"),
        "{err}"
    );
}

#[test]
fn an_owner_back_early_gets_their_held_calls_at_once() {
    let text = cad("step 1: email welcome\nstep 2: call \"Intro call\" after 1d owner \"csm\"");
    let db = Db::new(&text, ONE, &events(&["2026-01-05T09:00:00Z,c1,enroll,"]));
    db.run_to("2026-01-05T12:00:00Z");
    db.cli(&["pause", "--owner", "csm", "--until", "2026-01-20T09:00:00Z"]);
    db.run_to("2026-01-08T09:00:00Z");
    assert!(!db.trace().iter().any(|l| l.contains("Intro call")));
    let err = db.cli(&["resume", "--owner", "csm"]);
    assert!(
        err.contains("queued: `csm` is back at 2026-01-08T09:00:00Z"),
        "{err}"
    );
    db.run_to("2026-02-01T00:00:00Z");
    assert!(
        db.trace()
            .contains(&"2026-01-08T09:00:00Z c1 executed 2 Intro call".to_string()),
        "{:#?}",
        db.trace()
    );
    let (_, err) = cadence(&[
        "pause",
        "--db",
        &db.path("live.db"),
        "--owner",
        "csm",
        "--until",
        "3d",
        "--catch-up",
    ])
    .status(2);
    assert!(
        err.contains("--catch-up is for contacts and cadences"),
        "{err}"
    );
}

// ---- pause on auto_reply ----------------------------------------------------------------------

#[test]
fn an_out_of_office_answer_pauses_until_the_day_after_the_one_it_names() {
    // no_reply falls due Thursday 09:00; the answer on Tuesday 10:00 says "back on Thursday 8":
    // paused until Friday 00:00, then the 47 hours left run.
    let t = run(
        &cad(&format!("pause on auto_reply\n{WAIT}")),
        ONE,
        &events(&[
            "2026-01-05T09:00:00Z,c1,enroll,",
            "2026-01-06T10:00:00Z,c1,auto_reply,2026-01-08",
        ]),
        "2026-01-05T09:00:00Z",
    );
    assert_eq!(
        &t[2..6],
        [
            "2026-01-06T10:00:00Z c1 event 1 auto_reply",
            "2026-01-06T10:00:00Z c1 paused 1 until 2026-01-09T00:00:00Z",
            "2026-01-09T00:00:00Z c1 resumed 1",
            "2026-01-10T23:00:00Z c1 transition 1->2 on no_reply",
        ]
    );
}

#[test]
fn an_out_of_office_answer_without_a_day_pauses_for_the_default() {
    let rows = [
        "2026-01-05T09:00:00Z,c1,enroll,",
        "2026-01-06T10:00:00Z,c1,auto_reply,",
    ];
    let t = run(
        &cad(&format!("pause on auto_reply\n{WAIT}")),
        ONE,
        &events(&rows),
        "2026-01-05T09:00:00Z",
    );
    assert_eq!(
        t[3],
        "2026-01-06T10:00:00Z c1 paused 1 until 2026-01-13T10:00:00Z"
    );
    let t = run(
        &cad(&format!("pause on auto_reply 3d\n{WAIT}")),
        ONE,
        &events(&rows),
        "2026-01-05T09:00:00Z",
    );
    assert_eq!(
        t[3],
        "2026-01-06T10:00:00Z c1 paused 1 until 2026-01-09T10:00:00Z"
    );
    // Without the statement an out-of-office answer is recorded and changes nothing.
    let t = run(&cad(WAIT), ONE, &events(&rows), "2026-01-05T09:00:00Z");
    assert!(!t.iter().any(|l| l.contains("paused")), "{t:#?}");
    assert!(t.contains(&"2026-01-08T09:00:00Z c1 transition 1->2 on no_reply".to_string()));
}

#[test]
fn the_day_back_is_read_in_the_contacts_zone_and_the_trace_says_why() {
    let (out, _, _) = simulate(
        &cad(&format!(
            "timezone \"Europe/Berlin\"\npause on auto_reply\n{WAIT}"
        )),
        &[
            "2026-01-05T09:00:00Z,c1,enroll,",
            "2026-01-06T10:00:00Z,c1,auto_reply,2026-01-08",
        ],
        0,
    );
    let paused = out.lines().find(|l| l.contains("\"paused\"")).unwrap();
    assert!(
        paused.contains("\"until\":\"2026-01-08T23:00:00Z\""),
        "{paused}"
    );
    assert!(paused.contains("\"reason\":\"auto_reply\""), "{paused}");
    let (_, err, _) = simulate(
        &cad(&format!("pause on auto_reply\n{WAIT}")),
        &[
            "2026-01-05T09:00:00Z,c1,enroll,",
            "2026-01-06T10:00:00Z,c1,auto_reply,next week",
        ],
        1,
    );
    assert!(
        err.contains("events.csv:3") && err.contains("is not the day the contact is back"),
        "{err}"
    );
}

#[test]
fn the_runner_pauses_on_an_out_of_office_answer_as_the_simulator_does() {
    let text = cad(&format!("pause on auto_reply\n{WAIT}"));
    let ev = events(&[
        "2026-01-05T09:00:00Z,c1,enroll,",
        "2026-01-06T10:00:00Z,c1,auto_reply,2026-01-08",
    ]);
    let mut sim = run(&text, ONE, &ev, "2026-01-05T09:00:00Z");
    let db = Db::new(&text, ONE, &ev);
    db.run_to("2026-02-01T00:00:00Z");
    let mut live = db.trace();
    sim.sort();
    live.sort();
    assert_eq!(live, sim);
}
