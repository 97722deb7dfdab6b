//! `cadence fmt`: one layout, idempotent, comments kept, and a formatted file means the same:
//! it checks the same and simulates to the byte-identical trace.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use cadence::check::check;
use cadence::fmt::format;
use cadence::syntax::{parse, Sources};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.cadence` file of the examples and fixtures.
fn corpus() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in [
        "examples",
        "tests/fixtures/check",
        "tests/fixtures/lint",
        "tests/fixtures/sim",
        "tests/fixtures/test",
        "tests/fixtures/repl",
        "tests/fixtures/fmt",
    ] {
        for e in std::fs::read_dir(root().join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "cadence") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Formats a text; `None` when it does not parse.
fn fmt(name: &str, text: &str) -> Option<String> {
    let mut sources = Sources::new();
    let id = sources.add(name, text);
    let (file, diags) = parse(id, text);
    diags.is_empty().then(|| format(sources.get(id), &file))
}

fn check_codes(name: &str, text: &str) -> Vec<String> {
    let mut sources = Sources::new();
    let id = sources.add(name, text);
    let mut codes: Vec<String> = check(&mut sources, &[id])
        .diagnostics
        .iter()
        .map(|d| d.code.to_string())
        .collect();
    codes.sort();
    codes
}

#[test]
fn formatting_is_idempotent_keeps_comments_and_checks_the_same() {
    let mut formatted = 0;
    for p in corpus() {
        let name = p.display().to_string();
        let text = std::fs::read_to_string(&p).unwrap();
        let Some(once) = fmt(&name, &text) else {
            continue;
        };
        formatted += 1;
        let twice = fmt(&name, &once)
            .unwrap_or_else(|| panic!("{name}: the formatted text does not parse:\n{once}"));
        assert_eq!(once, twice, "{name}: formatting twice changes the text");
        let mut sources = Sources::new();
        let id = sources.add(name.clone(), text.clone());
        let (file, _) = parse(id, &text);
        for c in &file.comments {
            assert!(
                once.contains(c.text.trim_end()),
                "{name}: lost the comment {:?}",
                c.text
            );
        }
        assert_eq!(
            check_codes(&name, &text),
            check_codes(&name, &once),
            "{name}: checks differently once formatted"
        );
    }
    assert!(formatted > 40, "only {formatted} files formatted");
}

fn simulate(cadence: &Path, events: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_cadence"))
        .arg("simulate")
        .arg(cadence)
        .args(["--contacts", "examples/contacts.csv", "--events"])
        .arg(events)
        .args(["--format", "jsonl"])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_formatted_example_simulates_to_the_identical_trace() {
    let dir = std::env::temp_dir().join(format!("cadence-fmt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for p in corpus()
        .into_iter()
        .filter(|p| p.starts_with(root().join("examples")))
    {
        let text = std::fs::read_to_string(&p).unwrap();
        let formatted = fmt(&p.display().to_string(), &text).unwrap();
        let copy = dir.join(p.file_name().unwrap());
        std::fs::write(&copy, formatted).unwrap();
        let events = p.with_extension("events.csv");
        assert_eq!(
            simulate(&p, &events),
            simulate(&copy, &events),
            "{}",
            p.display()
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_layout_of_a_messy_file() {
    let text = std::fs::read_to_string(root().join("tests/fixtures/fmt/messy.cadence")).unwrap();
    insta::assert_snapshot!("messy", fmt("messy.cadence", &text).unwrap());
}

#[test]
fn window_hours_keep_their_form_with_days_in_lower_case_and_times_as_hh_mm() {
    let text = "exit on replied\nwindow   Mon-Thu 9:00-12:00,13:00-17:30;FRI 09:00-15:00\nstep 1: call \"x\"\n";
    let out = fmt("hours.cadence", text).unwrap();
    assert!(
        out.contains("\nwindow mon-thu 09:00-12:00, 13:00-17:30; fri 09:00-15:00\n"),
        "{out}"
    );
    // Cron stays cron.
    let out = fmt(
        "cron.cadence",
        "window \"0 9-17 * * 1-5\"\nstep 1: call \"x\"\n",
    )
    .unwrap();
    assert!(out.contains("window \"0 9-17 * * 1-5\"\n"), "{out}");
    // Every day, and a day list.
    let out = fmt("d.cadence", "window 8:00-20:00\nstep 1: call \"x\"\n").unwrap();
    assert!(out.contains("window 08:00-20:00\n"), "{out}");
    let out = fmt(
        "d.cadence",
        "window sat , sun 10:00-14:00\nstep 1: call \"x\"\n",
    )
    .unwrap();
    assert!(out.contains("window sat,sun 10:00-14:00\n"), "{out}");
    assert_eq!(check_codes("h.cadence", text), Vec::<String>::new());
}

#[test]
fn a_migrate_block_is_laid_out_after_the_steps() {
    let text = "migrate from \"3F9A1C2B\" { step 2 -> step 1; step \"Old call\" -> exit \"retired\" }\nstep 1: call \"x\"\n";
    let out = fmt("m.cadence", text).unwrap();
    assert!(
        out.ends_with("step 1: call \"x\"\n\nmigrate from \"3F9A1C2B\" {\n  step 2 -> step 1\n  step \"Old call\" -> exit \"retired\"\n}\n"),
        "{out}"
    );
    assert_eq!(fmt("m.cadence", &out).unwrap(), out);
}

fn cadence(args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cadence"))
        .args(args)
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn check_prints_a_diff_and_exits_1_when_a_file_would_change() {
    let (code, stdout, stderr) =
        cadence(&["fmt", "--check", "tests/fixtures/fmt/messy.cadence"], "");
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.starts_with("--- tests/fixtures/fmt/messy.cadence\n+++ tests/fixtures/fmt/messy.cadence (formatted)\n@@ "), "{stdout}");
    assert!(
        stderr.contains("1 file of 1 would be reformatted"),
        "{stderr}"
    );
}

#[test]
fn formatted_examples_pass_the_check() {
    let mut args = vec!["fmt".to_string(), "--check".to_string()];
    for p in corpus()
        .into_iter()
        .filter(|p| p.starts_with(root().join("examples")))
    {
        args.push(p.display().to_string());
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, stdout, _) = cadence(&refs, "");
    assert_eq!(code, 0, "{stdout}");
}

#[test]
fn standard_input_goes_to_standard_output() {
    let (code, stdout, _) = cadence(&["fmt"], "step 1 : call \"x\"   after 1d\n");
    assert_eq!(code, 0);
    assert_eq!(stdout, "step 1: call \"x\" after 1d\n");
}

#[test]
fn files_are_rewritten_in_place() {
    let dir = std::env::temp_dir().join(format!("cadence-fmt-inplace-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("x.cadence");
    std::fs::write(&p, "step 1 : call \"x\"   after 1d\n").unwrap();
    let (code, _, stderr) = cadence(&["fmt", p.to_str().unwrap()], "");
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&p).unwrap(),
        "step 1: call \"x\" after 1d\n"
    );
    assert!(
        stderr.contains("formatted 1 file (0 unchanged)"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_file_that_does_not_parse_is_left_alone() {
    let (code, stdout, stderr) = cadence(&["fmt"], "stpe 1: call \"x\"\n");
    assert_eq!(code, 1);
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("P004") && stderr.contains("cannot format"),
        "{stderr}"
    );
}

#[test]
fn a_file_formatting_would_change_the_meaning_of_is_left_alone() {
    // Two subjects: an error the formatter must not hide by dropping one.
    let text = "template t {\n  subject \"a\"\n  subject \"b\"\n  body \"x {{unsubscribe_link}}\"\n}\nstep 1: email t\n";
    let (code, stdout, stderr) = cadence(&["fmt"], text);
    assert_eq!(code, 1, "{stdout}");
    assert!(stderr.contains("cannot format"), "{stderr}");
}

#[test]
fn check_says_when_only_line_endings_differ() {
    let (code, stdout, _) = cadence(&["fmt", "--check", "-"], "step 1: call \"x\" after 1d\r\n");
    assert_eq!(code, 1);
    assert!(
        stdout.contains("line endings or the final newline differ"),
        "{stdout}"
    );
}

#[test]
fn without_paths_the_current_folder_is_formatted_and_dash_is_standard_input() {
    let dir = tempfile::tempdir().unwrap();
    let messy = std::fs::read_to_string(root().join("tests/fixtures/fmt/messy.cadence")).unwrap();
    std::fs::create_dir(dir.path().join("cadences")).unwrap();
    std::fs::write(dir.path().join("cadences/a.cadence"), &messy).unwrap();
    let run = |args: &[&str], stdin: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cadence"))
            .args(args)
            .current_dir(dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // Nothing piped (as in CI): the folder is checked, and the messy file fails the check.
    let (code, stdout, stderr) = run(&["fmt", "--check"], "");
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.starts_with("--- cadences/a.cadence\n"), "{stdout}");
    // `-`: standard input to standard output, the folder untouched.
    let (code, stdout, _) = run(&["fmt", "-"], &messy);
    assert_eq!(code, 0);
    assert_eq!(stdout, fmt("m.cadence", &messy).unwrap());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("cadences/a.cadence")).unwrap(),
        messy
    );
    let (code, _, stderr) = run(&["fmt"], "");
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("formatted 1 file"), "{stderr}");
    assert_eq!(run(&["fmt", "--check", "cadences"], "").0, 0);
    // The file was replaced whole: no temporary file is left beside it.
    let names: Vec<_> = std::fs::read_dir(dir.path().join("cadences"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["a.cadence"]);
}

#[test]
fn an_input_left_open_does_not_make_fmt_wait() {
    // A CI runner may leave standard input open with nothing in it: `fmt` formats the folder
    // instead of waiting for it.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.cadence"),
        std::fs::read_to_string(root().join("examples/saas_onboarding.cadence")).unwrap(),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_cadence"))
        .args(["fmt", "--check"])
        .current_dir(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _open = child.stdin.take();
    let t0 = std::time::Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(t0.elapsed() < std::time::Duration::from_secs(10));
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 file already formatted"));
}

#[test]
fn a_comment_inside_a_list_or_an_expression_stays_with_its_statement() {
    let text = "field plan: text\nholidays [\n  2026-01-01,  # new year\n  2026-12-25,  # christmas\n]\nenroll when (plan == \"a\" or  # trial\n  plan == \"b\")\ntemplate w { subject \"x\"; body \"x {{unsubscribe_link}}\" }\nstep 1: email w\n";
    let out = fmt("c.cadence", text).unwrap();
    assert!(
        out.contains("# christmas\nholidays [2026-01-01, 2026-12-25]  # new year\n"),
        "{out}"
    );
    assert!(
        out.contains("enroll when (plan == \"a\" or plan == \"b\")  # trial\n"),
        "{out}"
    );
    assert!(!out.contains("# trial\ntemplate"), "{out}");
    assert_eq!(fmt("c.cadence", &out).unwrap(), out);
}
