//! The REPL: scripted sessions through the binary (piped stdin) with golden output, and
//! `reload` / `save-test` through the library.

use std::io::Write;
use std::process::{Command, Stdio};

use cadence::repl::{Reply, Session};

/// A session over one cadence file, its clock at 2026-01-05T09:00:00Z; and the file's path.
fn session_at_start(path: &std::path::Path) -> (String, Session) {
    let p = path.display().to_string();
    let start = chrono::DateTime::parse_from_rfc3339("2026-01-05T09:00:00Z")
        .unwrap()
        .timestamp();
    let (s, _) = Session::load(std::slice::from_ref(&p), None, start).unwrap();
    (p, s)
}

fn session(args: &[&str], script: &str) -> (i32, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cadence"))
        .arg("repl")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
    )
}

const CADENCE: &str = "tests/fixtures/repl/onboarding.cadence";

#[test]
fn a_scripted_session_gives_the_same_output_every_time() {
    let script = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/repl/session.txt"
    ))
    .unwrap();
    let args = [CADENCE, "--start", "2026-01-05T09:00:00Z"];
    let (code, out) = session(&args, &script);
    // The script makes mistakes on purpose: each is one line, and the session goes on.
    assert_eq!(code, 1);
    insta::assert_snapshot!("scripted_session", out);
    assert_eq!(session(&args, &script).1, out);
}

#[test]
fn a_clean_session_exits_0_and_quits_on_end_of_input() {
    let (code, out) = session(
        &[CADENCE, "--start", "2026-01-05T09:00:00Z"],
        "contact ann email=ann@example.test plan=trial\nadvance 4d\n",
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("2026-01-08 09:00:00Z  ann  step 1 -> step 3 on no_open"),
        "{out}"
    );
}

#[test]
fn contacts_load_from_csv() {
    let (code, out) = session(
        &[
            "tests/fixtures/sim/onboarding.cadence",
            "--contacts",
            "tests/fixtures/sim/contacts.csv",
            "--start",
            "2026-01-05T09:00:00Z",
        ],
        "status\n",
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("3 contacts"), "{out}");
    assert!(
        out.contains("c1  step 1 (email `welcome`) executed 2026-01-05 09:00:00Z"),
        "{out}"
    );
}

fn text(r: Result<Reply, String>) -> String {
    match r {
        Ok(Reply::Text(t)) => t,
        Ok(Reply::Quit) => "quit".into(),
        Err(e) => format!("error: {e}"),
    }
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("cadence-repl-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn reload_keeps_state_when_the_step_still_exists_and_says_when_not() {
    let dir = scratch("reload");
    let path = dir.join("c.cadence");
    let v1 = "step 1: call \"First\"\n  on answered -> step 2\n  on overdue 2d -> step 2\nstep 2: call \"Second\" after 1d\n";
    std::fs::write(&path, v1).unwrap();
    let (_, mut s) = session_at_start(&path);
    text(s.execute("contact a email=a@example.test"));
    text(s.execute("contact b email=b@example.test"));
    text(s.execute("enroll a"));
    text(s.execute("enroll b"));
    text(s.execute("event b answered"));
    // b now waits for step 2 (due tomorrow); a waits at step 1. Step 1 gets a longer timeout,
    // and step 2 is renumbered 3.
    let v2 = "step 1: call \"First\"\n  on answered -> step 3\n  on overdue 5d -> step 3\nstep 3: call \"Second\" after 1d\n";
    std::fs::write(&path, v2).unwrap();
    let out = text(s.execute("reload"));
    assert!(out.contains("1 active enrolment kept"), "{out}");
    assert!(out.contains("b was at step 2"), "{out}");
    let out = text(s.execute("advance 3d"));
    assert!(
        !out.contains("a  step 1 -> step 3 on overdue"),
        "the new timeout (5d) applies: {out}"
    );
    let out = text(s.execute("advance 3d"));
    assert!(out.contains("a  step 1 -> step 3 on overdue"), "{out}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn pause_and_resume_a_contact_a_cadence_and_an_owner() {
    let dir = scratch("pause");
    let path = dir.join("c.cadence");
    let v = "cadence \"Calls\"\nstep 1: call \"First\" owner \"csm\"\n  on answered -> step 2\n  on overdue 2d -> step 2\nstep 2: call \"Second\" after 1d owner \"csm\"\n";
    std::fs::write(&path, v).unwrap();
    let (_, mut s) = session_at_start(&path);
    text(s.execute("contact a email=a@example.test"));
    text(s.execute("contact b email=b@example.test"));
    text(s.execute("enroll a"));
    let out = text(s.execute("pause a 1d"));
    assert!(
        out.contains("paused at step 1 until 2026-01-06 09:00:00Z"),
        "{out}"
    );
    let out = text(s.execute("status a"));
    assert!(out.contains("PAUSED until 2026-01-06 09:00:00Z"), "{out}");
    let out = text(s.execute("agenda"));
    assert!(out.contains("a  resumes at step 1"), "{out}");
    // The overdue timeout (2 days after 09:00 Monday) moves a day later.
    let out = text(s.execute("advance 2d"));
    assert!(out.contains("resumed at step 1"), "{out}");
    assert!(!out.contains("on overdue"), "{out}");
    let out = text(s.execute("advance 1d"));
    assert!(out.contains("step 1 -> step 2 on overdue"), "{out}");
    // A whole cadence: b enrols paused.
    let out = text(s.execute("pause cadence Calls"));
    assert!(out.contains("1 contact(s) paused"), "{out}");
    let out = text(s.execute("enroll b"));
    assert!(out.contains("paused at step 1"), "{out}");
    let out = text(s.execute("resume cadence Calls"));
    assert!(out.contains("2 contact(s) resumed"), "{out}");
    assert!(
        out.contains("b  ") && out.contains("call \"First\" scheduled"),
        "{out}"
    );
    // An owner away: a's second call waits for them.
    text(s.execute("pause owner csm 5d"));
    let out = text(s.execute("advance 2d"));
    assert!(!out.contains("Second"), "{out}");
    let out = text(s.execute("advance 4d"));
    assert!(out.contains("call \"Second\" scheduled"), "{out}");
    assert!(text(s.execute("resume a")).contains("has no paused enrolment"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn deploy_moves_the_sessions_contacts_as_the_migrate_block_says() {
    let dir = scratch("deploy");
    let v1 = dir.join("trial.cadence");
    std::fs::write(&v1, "cadence \"Trial\"\nstep 1: call \"First\"\n  on answered -> step 2\n  on overdue 2d -> step 2\nstep 2: call \"Second\" after 1d\n  on answered -> done\n  on overdue 2d -> done\n").unwrap();
    let (_, mut s) = session_at_start(&v1);
    for line in [
        "contact a email=a@example.test",
        "contact b email=b@example.test",
        "enroll a",
        "enroll b",
        "event b answered",
    ] {
        text(s.execute(line));
    }
    // Without a mapping for step 2 (gone in v2), the deploy is refused and nothing changes.
    let v2 = dir.join("trial_v2.cadence");
    let body = "cadence \"Trial\"\nstep 1: call \"First\"\n  on answered -> step 3\n  on overdue 5d -> step 3\nstep 3: task \"Third\" after 2h\n  on completed -> done\n  on overdue 1d -> done\n";
    std::fs::write(&v2, format!("{body}\nmigrate {{\n  step 4 -> done\n}}\n")).unwrap();
    let err = s
        .execute(&format!("deploy {}", v2.display()))
        .err()
        .unwrap();
    assert!(
        err.contains("would strand 1 contact at step 2 of \"Trial\" (b)"),
        "{err}"
    );
    assert!(text(s.execute("status b")).contains("step 2"));
    std::fs::write(&v2, format!("{body}\nmigrate {{\n  step 2 -> step 3\n}}\n")).unwrap();
    let out = text(s.execute(&format!("deploy {}", v2.display())));
    assert!(
        out.contains("2 contacts moved into the new version"),
        "{out}"
    );
    assert!(
        out.contains("b  migrated to the new version: step 2 -> step 3"),
        "{out}"
    );
    assert!(
        out.contains("a  migrated to the new version: step 1 -> step 1"),
        "{out}"
    );
    // a keeps waiting at step 1 with the new 5-day timeout; b gets the task two hours later.
    let out = text(s.execute("advance 3d"));
    assert!(out.contains("b  step 3: task \"Third\" created"), "{out}");
    assert!(!out.contains("a  step 1 -> step 3 on overdue"), "{out}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_reload_with_errors_keeps_the_session() {
    let dir = scratch("reload-bad");
    let path = dir.join("c.cadence");
    std::fs::write(&path, "step 1: call \"First\" after 1d\n").unwrap();
    let p = path.display().to_string();
    let (mut s, _) = Session::load(std::slice::from_ref(&p), None, 0).unwrap();
    text(s.execute("contact a email=a@example.test"));
    text(s.execute("enroll a"));
    std::fs::write(&path, "step 1: call \"First\" after 1x\n").unwrap();
    let out = text(s.execute("reload"));
    assert!(out.starts_with("error:") && out.contains("E110"), "{out}");
    assert!(text(s.execute("status a")).contains("step 1"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn save_test_writes_a_test_that_passes() {
    let dir = scratch("save");
    let tests = dir.join("saved.cadence");
    let (mut s, _) = Session::load(
        &[CADENCE.to_string()],
        None,
        chrono::DateTime::parse_from_rfc3339("2026-01-05T09:00:00Z")
            .unwrap()
            .timestamp(),
    )
    .unwrap();
    for line in [
        "contact alice email=alice@example.test plan=trial",
        "contact bob email=bob@example.test plan=trial",
        "advance 2h",
        "event alice opened",
        "advance 1d",
        "set bob plan=pro",
        "advance 5d",
    ] {
        let out = text(s.execute(line));
        assert!(!out.starts_with("error"), "{line}: {out}");
    }
    let out = text(s.execute(&format!(
        "save-test \"an opener and a convert\" {}",
        tests.display()
    )));
    assert!(out.contains("appended test"), "{out}");
    let saved = std::fs::read_to_string(&tests).unwrap();
    assert!(
        saved.contains("expect alice executed step 2 at 2026-01-06T11:00:00Z"),
        "{saved}"
    );
    assert!(
        saved.contains("expect bob goal \"converted\" at 2026-01-06T11:00:00Z"),
        "{saved}"
    );
    one_test_passes(&["test", CADENCE, tests.to_str().unwrap()], &saved);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Runs `cadence ARGS` (a `test` command) and checks that its one test passes.
fn one_test_passes(args: &[&str], saved: &str) {
    let run = Command::new(env!("CARGO_BIN_EXE_cadence"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{saved}\n{stdout}");
    assert!(stdout.contains("1 passed, 0 failed"), "{stdout}");
}

#[test]
fn save_test_anchors_the_start_and_prints_a_command_that_passes() {
    let dir = scratch("save-start");
    let contacts = dir.join("contacts.csv");
    std::fs::write(&contacts, "id,email,plan\ncara,cara@example.test,trial\n").unwrap();
    let tests = dir.join("saved.cadence");
    let (mut s, _) = Session::load(
        &[CADENCE.to_string()],
        Some(&contacts),
        chrono::DateTime::parse_from_rfc3339("2026-01-05T09:00:00Z")
            .unwrap()
            .timestamp(),
    )
    .unwrap();
    // Cara is enrolled when the session starts; the first input comes a day later.
    for line in ["advance 1d", "event cara opened", "advance 3d"] {
        let out = text(s.execute(line));
        assert!(!out.starts_with("error"), "{line}: {out}");
    }
    let out = text(s.execute(&format!("save-test \"cara\" {}", tests.display())));
    let saved = std::fs::read_to_string(&tests).unwrap();
    assert!(saved.contains("  start 2026-01-05T09:00:00Z\n"), "{saved}");
    assert!(!saved.contains(" id = "), "no `set ... id` line: {saved}");
    // The command it prints, as printed.
    let command = out
        .split('`')
        .nth(1)
        .unwrap_or_else(|| panic!("no command in {out}"));
    let words: Vec<&str> = command.split_whitespace().collect();
    assert_eq!(words[..2], ["cadence", "test"], "{command}");
    assert_eq!(words[2], CADENCE, "the cadence comes first: {command}");
    one_test_passes(&words[1..], &saved);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn reload_drops_enrolments_of_a_cadence_that_is_gone() {
    let dir = scratch("reload-gone");
    let (a, b) = (dir.join("a.cadence"), dir.join("b.cadence"));
    std::fs::write(&a, "cadence \"A\"\nstep 1: call \"a\" after 1d\n").unwrap();
    std::fs::write(&b, "cadence \"B\"\nstep 1: call \"b\" after 1d\n").unwrap();
    let paths = [a.display().to_string(), b.display().to_string()];
    let (mut s, _) = Session::load(&paths, None, 0).unwrap();
    text(s.execute("contact ann email=a@example.test"));
    text(s.execute("enroll ann \"B\""));
    std::fs::write(&b, "cadence \"B2\"\nstep 1: call \"b\" after 1d\n").unwrap();
    let out = text(s.execute("reload"));
    assert!(out.contains("cadence \"B\" is gone"), "{out}");
    let out = text(s.execute("enroll ann \"A\""));
    assert!(out.contains("[A] enrolled"), "{out}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn save_test_replays_an_input_typed_after_a_step_due_at_the_same_instant_after_it() {
    let dir = scratch("save-order");
    let cadence = dir.join("c.cadence");
    std::fs::write(
        &cadence,
        "template hello {\n  subject \"Hi\"\n  body \"Hello\"\n}\nexit on replied\nstep 1: email hello\nstep 2: email hello after 1d\nstep 3: call \"Ring\" after 1d\n",
    )
    .unwrap();
    let tests = dir.join("saved.cadence");
    let (c, mut s) = session_at_start(&cadence);
    text(s.execute("contact ann email=ann@example.test"));
    text(s.execute("enroll ann"));
    // The clock lands exactly on step 2; the reply is typed after it ran.
    let out = text(s.execute("advance 1d"));
    assert!(out.contains("step 2: email `hello` sent"), "{out}");
    let out = text(s.execute("event ann replied"));
    assert!(
        out.contains(
            "note: taken at 2026-01-06 09:00:01Z, after the steps that ran at 2026-01-06 09:00:00Z"
        ),
        "{out}"
    );
    // An input for a contact no step ran for at this instant is not moved; a reply to the
    // email its enrolment just sent is.
    text(s.execute("contact bo email=bo@example.test"));
    let out = text(s.execute("enroll bo"));
    assert!(!out.contains("taken at"), "{out}");
    let out = text(s.execute("event bo replied"));
    assert!(out.contains("note: taken at 2026-01-06 09:00:02Z"), "{out}");
    text(s.execute("advance 3d"));
    let out = text(s.execute(&format!(
        "save-test \"reply after the second email\" {}",
        tests.display()
    )));
    assert!(out.contains("appended test"), "{out}");
    let saved = std::fs::read_to_string(&tests).unwrap();
    assert!(
        saved.contains("expect ann executed step 2 at 2026-01-06T09:00:00Z"),
        "{saved}"
    );
    assert!(
        saved.contains("expect ann exited \"replied\" at 2026-01-06T09:00:01Z"),
        "{saved}"
    );
    let run = Command::new(env!("CARGO_BIN_EXE_cadence"))
        .args(["test", &c, tests.to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{saved}\n{stdout}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn advancing_a_short_loop_for_ten_years_prints_and_keeps_a_bounded_amount() {
    let dir = scratch("loop");
    let cadence = dir.join("loop.cadence");
    // A task that is never done comes back every minute: 5 million times in ten years.
    std::fs::write(
        &cadence,
        "step 1: task \"Check in\"\n  on overdue 1m -> step 1\n",
    )
    .unwrap();
    let c = cadence.display().to_string();
    let (mut s, _) = Session::load(std::slice::from_ref(&c), None, 0).unwrap();
    text(s.execute("contact ann email=ann@example.test"));
    text(s.execute("enroll ann"));
    let out = text(s.execute("advance 520w"));
    let lines = out.lines().count();
    assert!(lines <= 1_003, "{lines} lines printed");
    assert!(
        out.contains("more records (`history ID`"),
        "{}",
        &out[out.len().saturating_sub(300)..]
    );
    assert!(
        out.ends_with("clock: 1979-12-17 00:00:00Z\n") || out.contains("clock: 1979-12-"),
        "{}",
        &out[out.len() - 200..]
    );
    let history = text(s.execute("history ann"));
    assert!(
        history.lines().count() <= 100_001,
        "{}",
        history.lines().count()
    );
    assert!(history.contains("later ones are not kept"));
    let out = text(s.execute(&format!("save-test t {}", dir.join("t.cadence").display())));
    assert!(
        out.starts_with("error: the session has more than 100000 records"),
        "{out}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn save_test_keeps_a_deploy_and_a_pause_and_the_saved_test_passes() {
    let dir = scratch("save-deploy");
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/deploy_test");
    let v1 = std::fs::read_to_string(format!("{fixture}/trial.cadence")).unwrap();
    let v1 = &v1[..v1.find("test \"").unwrap()];
    std::fs::create_dir_all(dir.join("next")).unwrap();
    std::fs::write(dir.join("trial.cadence"), v1).unwrap();
    std::fs::copy(
        format!("{fixture}/next/trial.cadence"),
        dir.join("next/trial.cadence"),
    )
    .unwrap();
    let file = dir.join("trial.cadence").display().to_string();
    let (mut s, _) = Session::load(
        std::slice::from_ref(&file),
        None,
        chrono::DateTime::parse_from_rfc3339("2026-01-05T09:00:00Z")
            .unwrap()
            .timestamp(),
    )
    .unwrap();
    for line in [
        "contact ann email=ann@example.test",
        "contact bo email=bo@example.test",
        "enroll ann",
        "enroll bo",
        "advance 1h",
        "event ann opened",
        "advance 23h",
        &format!("deploy {}", dir.join("next/trial.cadence").display()),
        "pause bo 2d",
        "advance 5d",
    ] {
        let out = text(s.execute(line));
        assert!(!out.starts_with("error"), "{line}: {out}");
    }
    let out = text(s.execute(&format!("save-test \"deploy and pause\" {file}")));
    assert!(out.contains("appended test"), "{out}");
    let saved = std::fs::read_to_string(&file).unwrap();
    assert!(
        saved.contains("at 2026-01-06T09:00:00Z: deploy \"next/trial.cadence\""),
        "{saved}"
    );
    assert!(
        saved.contains("at 2026-01-06T09:00:00Z: pause bo until 2026-01-08T09:00:00Z"),
        "{saved}"
    );
    one_test_passes(&["test", &file], &saved);
    // A pause of a whole cadence cannot be written in a test: save-test says so.
    text(s.execute("pause cadence Trial"));
    let out = text(s.execute(&format!("save-test \"whole\" {file}")));
    assert!(out.contains("a test pauses contacts only"), "{out}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_owner_back_early_in_the_repl_gets_their_held_calls_at_once() {
    let dir = scratch("owner-back");
    let path = dir.join("c.cadence");
    std::fs::write(
        &path,
        "cadence \"Calls\"\nstep 1: call \"First\" after 1d owner \"csm\"\n",
    )
    .unwrap();
    let (_, mut s) = session_at_start(&path);
    text(s.execute("contact a email=a@example.test"));
    text(s.execute("enroll a"));
    text(s.execute("pause owner csm 10d"));
    assert!(!text(s.execute("advance 2d")).contains("scheduled"));
    let out = text(s.execute("resume owner csm"));
    assert!(out.contains("call \"First\" scheduled"), "{out}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_out_of_office_answer_with_a_return_day_pauses_in_the_repl() {
    let dir = scratch("out-of-office");
    let path = dir.join("c.cadence");
    std::fs::write(
        &path,
        "cadence \"Trial\"\n\npause on auto_reply\n\ntemplate welcome {\n  subject \"Welcome\"\n  body \"Hi {{unsubscribe_link}}\"\n}\n\ntemplate reminder {\n  subject \"Reminder\"\n  body \"Still there? {{unsubscribe_link}}\"\n}\n\nstep 1: email welcome\n  on no_reply 3d -> step 2\nstep 2: email reminder\n",
    )
    .unwrap();
    let (_, mut s) = session_at_start(&path);
    text(s.execute("contact ann email=ann@example.test"));
    let out = text(s.execute("enroll ann"));
    assert!(out.contains("step 1: email `welcome` sent"), "{out}");
    text(s.execute("at 2026-01-06T10:00:00Z"));
    // A day that is not a day, or `until` after another event: an error, and nothing happens.
    let out = text(s.execute("event ann auto_reply until someday"));
    assert!(
        out.starts_with("error: write the day they are back"),
        "{out}"
    );
    let out = text(s.execute("event ann auto_reply until"));
    assert!(
        out.starts_with("error: write the day they are back"),
        "{out}"
    );
    let out = text(s.execute("event ann opened until 2026-01-08"));
    assert!(
        out.starts_with("error: `until DAY` goes with `auto_reply` only"),
        "{out}"
    );
    // Back on the 8th: paused until the start of the 9th (the cadence's zone is UTC).
    let out = text(s.execute("event ann auto_reply until 2026-01-08"));
    assert!(
        out.contains(
            "2026-01-06 10:00:00Z  ann  paused at step 1 until 2026-01-09 00:00:00Z (an out-of-office answer: `pause on auto_reply`)"
        ),
        "{out}"
    );
    let out = text(s.execute("status ann"));
    assert!(out.contains("PAUSED until 2026-01-09 00:00:00Z"), "{out}");
    // The no_reply wait had 1d23h left when the answer came: the reminder goes at 23:00 on the
    // 10th, as the test in tests/fixtures/test/out_of_office.cadence expects.
    let out = text(s.execute("at 2026-01-11T00:00:00Z"));
    assert!(
        out.contains("2026-01-09 00:00:00Z  ann  resumed at step 1"),
        "{out}"
    );
    assert!(
        out.contains("2026-01-10 23:00:00Z  ann  step 2: email `reminder` sent"),
        "{out}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
