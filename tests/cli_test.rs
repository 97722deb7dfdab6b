//! `cadence test` through the real binary: pass/fail, the failure report, JUnit, coverage.

use std::process::Command;

fn cadence(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cadence"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

const FIXTURE: &str = "tests/fixtures/test/T001_failed_expectation.cadence";

#[test]
fn a_failed_expectation_is_explained_with_the_trace() {
    let (code, stdout, _) = cadence(&["test", FIXTURE]);
    assert_eq!(code, 1);
    insta::assert_snapshot!("T001_failed_expectation", stdout);
}

#[test]
fn the_closing_line_counts_passed_and_failed() {
    let (_, stdout, _) = cadence(&["test", FIXTURE]);
    assert_eq!(stdout.lines().last(), Some("1 passed, 1 failed"));
}

#[test]
fn coverage_lists_what_no_test_exercised() {
    let (_, stdout, _) = cadence(&["test", FIXTURE, "--coverage"]);
    assert!(
        stdout.contains("t001_failed_expectation: steps 3/3, branches 2/2")
            || stdout.contains("T001_failed_expectation: steps 3/3, branches 2/2"),
        "{stdout}"
    );
}

#[test]
fn junit_is_well_formed_and_counts_failures() {
    let (code, stdout, stderr) = cadence(&["test", FIXTURE, "--format", "junit"]);
    assert_eq!(code, 1);
    assert!(stdout.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
    assert!(
        stdout.contains("<testsuites name=\"cadence\" tests=\"2\" failures=\"1\">"),
        "{stdout}"
    );
    assert_eq!(stdout.matches("<testcase ").count(), 2);
    assert_eq!(stdout.matches("<failure ").count(), 2);
    // Every element that opens is closed.
    for tag in ["testsuites", "testsuite", "failure"] {
        assert_eq!(
            stdout.matches(&format!("<{tag} ")).count(),
            stdout.matches(&format!("</{tag}>")).count(),
            "{tag}"
        );
    }
    assert!(!stdout.contains("& "), "unescaped ampersand");
    assert!(stderr.contains("1 passed, 1 failed"));
}

#[test]
fn passing_tests_exit_0() {
    let dir = std::env::temp_dir().join(format!("cadence-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ok.cadence");
    std::fs::write(
        &path,
        "step 1: call \"Intro\" after 1d\n\ntest \"the call comes a day later\" {\n  contact a email = \"a@example.test\"\n  at 2026-01-05T09:00:00Z: enroll a\n  expect a executed step 1 at 2026-01-06T09:00:00Z\n  expect a completed\n}\n",
    )
    .unwrap();
    let (code, stdout, _) = cadence(&["test", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("\"the call comes a day later\" ... ok"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_file_with_errors_runs_no_test() {
    let (code, stdout, stderr) = cadence(&[
        "test",
        "tests/fixtures/check/E124_unknown_contact_in_test.cadence",
    ]);
    assert_eq!(code, 1);
    assert!(stdout.is_empty());
    assert!(stderr.contains("E124"), "{stderr}");
}

#[test]
fn junit_has_no_control_character_whatever_a_test_is_called() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("t.cadence");
    std::fs::write(
        &f,
        "template w { subject \"Hi\"; body \"Hi {{unsubscribe_link}}\" }\nstep 1: email w\n\
         test \"tab\\there, a line\\nbreak, a bell \u{7} and an escape \u{1b}[31m\" {\n  contact a email = \"a@example.test\"\n  at 2026-01-05T09:00:00Z: enroll a\n  expect a completed\n}\n",
    )
    .unwrap();
    let (code, stdout, stderr) = cadence(&["test", f.to_str().unwrap(), "--format", "junit"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.chars().all(|c| c == '\n' || !c.is_control()),
        "{stdout:?}"
    );
    assert!(
        stdout.contains("tab&#9;here, a line&#10;break, a bell \\u{7} and an escape \\u{1b}[31m"),
        "{stdout}"
    );
}

#[test]
fn a_test_of_a_short_loop_is_stopped_and_failed_instead_of_filling_the_memory() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("loop.cadence");
    // A task never done comes back every minute; the test asks for ten years of it.
    std::fs::write(
        &f,
        "step 1: task \"Check in\"\n  on overdue 1m -> step 1\n\
         test \"ten years of check-ins\" {\n  contact a email = \"a@example.test\"\n  at 2026-01-05T09:00:00Z: enroll a\n  until 2036-01-05T09:00:00Z\n  expect a at step 1\n}\n",
    )
    .unwrap();
    let started = std::time::Instant::now();
    let (code, stdout, _) = cadence(&["test", f.to_str().unwrap()]);
    assert_eq!(code, 1, "{stdout}");
    let flat = stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains("it had made more than │ 1000000 records")
            || flat.contains("it had made more than 1000000 records"),
        "{stdout}"
    );
    assert!(stdout.contains("this test was stopped"), "{stdout}");
    assert!(!stdout.contains("what happened to"), "{stdout}");
    assert!(started.elapsed().as_secs() < 60, "{:?}", started.elapsed());
}

#[test]
fn a_test_can_deploy_a_new_version_and_pause_and_resume() {
    let (code, stdout, stderr) = cadence(&[
        "test",
        "tests/fixtures/deploy_test/trial.cadence",
        "--coverage",
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("3 passed, 0 failed"), "{stdout}");
    // Coverage is of the version the tests are written for.
    assert!(stdout.contains("Trial: steps 4/4"), "{stdout}");
}

#[test]
fn a_deploy_in_a_test_that_would_strand_contacts_or_leaves_its_folder_fails_the_test() {
    let dir = tempfile::tempdir().unwrap();
    let v1 = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/deploy_test/trial.cadence"
    ))
    .unwrap();
    let v1 = v1[..v1.find("test \"").unwrap()].to_string();
    let next = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/deploy_test/next/trial.cadence"
    ))
    .unwrap();
    // Without `step 2` in its `migrate` block, the new version would strand the contact at
    // the call.
    let unmapped = next.replace("step 2 -> step 3", "");
    std::fs::create_dir(dir.path().join("next")).unwrap();
    std::fs::write(dir.path().join("next/trial.cadence"), unmapped).unwrap();
    let test = format!(
        "{v1}\ntest \"strands\" {{\n  contact ann email = \"ann@example.test\"\n  at 2026-01-05T09:00:00Z: enroll ann\n  at 2026-01-05T10:00:00Z: ann opened\n  at 2026-01-06T09:00:00Z: deploy \"next/trial.cadence\"\n  expect ann at step 2\n}}\n\ntest \"leaves\" {{\n  contact ann email = \"ann@example.test\"\n  at 2026-01-05T09:00:00Z: enroll ann\n  at 2026-01-06T09:00:00Z: deploy \"../trial.cadence\"\n}}\n"
    );
    let file = dir.path().join("trial.cadence");
    std::fs::write(&file, test).unwrap();
    let (code, stdout, _) = cadence(&["test", file.to_str().unwrap()]);
    assert_eq!(code, 1, "{stdout}");
    let flat = stdout
        .split_whitespace()
        .filter(|w| *w != "│")
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        flat.contains("was refused: it would strand 1 contact at step 2 of \"Trial\" (ann)"),
        "{stdout}"
    );
    assert!(
        flat.contains("the file must be in the test's folder or below it"),
        "{stdout}"
    );
    assert!(stdout.contains("0 passed, 2 failed"), "{stdout}");
}

#[test]
fn a_deploy_in_a_test_does_not_follow_a_link_out_of_its_folder() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(
        outside.path().join("secret.cadence"),
        "SECRET_TOKEN=hunter2\n",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join("next")).unwrap();
    let test = "template welcome { subject \"Welcome\"; body \"Hi {{unsubscribe_link}}\" }\nstep 1: email welcome\n\ntest \"links\" {\n  contact ann email = \"ann@example.test\"\n  at 2026-01-05T09:00:00Z: enroll ann\n  at 2026-01-06T09:00:00Z: deploy \"next/secret.cadence\"\n}\n";
    let file = dir.path().join("t.cadence");
    std::fs::write(&file, test).unwrap();
    let (code, stdout, stderr) = cadence(&["test", file.to_str().unwrap()]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        !stdout.contains("hunter2") && !stderr.contains("hunter2"),
        "{stdout}{stderr}"
    );
    let flat = stdout
        .split_whitespace()
        .filter(|w| *w != "│")
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        flat.contains("is not a file in the test's folder or below it"),
        "{stdout}"
    );
}

#[test]
fn a_test_can_send_an_out_of_office_answer_with_the_day_back() {
    let (code, stdout, _) = cadence(&["test", "tests/fixtures/test/out_of_office.cadence"]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("2 passed, 0 failed"), "{stdout}");
}
