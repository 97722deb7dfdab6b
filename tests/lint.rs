//! `cadence lint`: every rule with a failing and a passing fixture (golden output), every
//! output format, suppression, selection and exit codes.

use std::path::Path;
use std::process::Command;

fn lint(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cadence"))
        .arg("lint")
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

fn codes(json: &str) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap().to_string())
        .collect()
}

fn rule_codes() -> Vec<&'static str> {
    cadence::lint::RULES.iter().map(|r| r.code).collect()
}

#[test]
fn every_rule_finds_its_problem_and_passes_the_fix() {
    for code in rule_codes() {
        let fail = format!("tests/fixtures/lint/{code}_fail.cadence");
        let pass = format!("tests/fixtures/lint/{code}_pass.cadence");
        assert!(
            Path::new(env!("CARGO_MANIFEST_DIR")).join(&fail).exists(),
            "no fixture {fail}"
        );
        let (_, json, _) = lint(&["--format", "json", &fail]);
        let found = codes(&json);
        assert!(
            !found.is_empty() && found.iter().all(|c| c == code),
            "{fail}: {found:?}"
        );
        let (code_pass, json, _) = lint(&["--format", "json", &pass]);
        assert!(codes(&json).is_empty(), "{pass}: {json}");
        assert_eq!(code_pass, 0);
        // Findings on stdout, the closing count on stderr.
        let (_, findings, summary) = lint(&[&fail]);
        assert!(summary.starts_with("linted 1 file:"), "{summary}");
        let human = findings + &summary;
        insta::assert_snapshot!(format!("{code}_human"), human);
    }
}

#[test]
fn errors_exit_1_and_warnings_exit_0_unless_denied() {
    assert_eq!(lint(&["tests/fixtures/lint/L206_fail.cadence"]).0, 1);
    assert_eq!(lint(&["tests/fixtures/lint/L205_fail.cadence"]).0, 0);
    assert_eq!(
        lint(&[
            "--deny",
            "warnings",
            "tests/fixtures/lint/L205_fail.cadence"
        ])
        .0,
        1
    );
}

#[test]
fn json_has_the_contract_keys() {
    let (_, json, _) = lint(&["--format", "json", "tests/fixtures/lint/L205_fail.cadence"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let d = &v[0];
    assert_eq!(d["code"], "L205");
    assert_eq!(d["severity"], "warning");
    assert_eq!(d["file"], "tests/fixtures/lint/L205_fail.cadence");
    assert_eq!(d["line"], 3);
    assert_eq!(d["column"], 1);
    assert!(d["message"].as_str().unwrap().contains("no timeout"));
}

#[test]
fn sarif_follows_the_2_1_0_structure() {
    let (_, out, _) = lint(&[
        "--format",
        "sarif",
        "tests/fixtures/lint/L205_fail.cadence",
        "tests/fixtures/lint/L206_fail.cadence",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let run = &v["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "cadence");
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert!(rules.len() >= cadence::lint::RULES.len());
    for r in rules {
        assert!(r["id"].is_string() && r["shortDescription"]["text"].is_string());
        assert!(["error", "warning", "note"]
            .contains(&r["defaultConfiguration"]["level"].as_str().unwrap()));
    }
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    for res in results {
        let id = res["ruleId"].as_str().unwrap();
        let index = res["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], id, "ruleIndex points at its rule");
        assert!(res["message"]["text"].is_string());
        let region = &res["locations"][0]["physicalLocation"]["region"];
        assert!(region["startLine"].as_u64().unwrap() >= 1);
        assert!(region["startColumn"].as_u64().unwrap() >= 1);
        let uri = res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap();
        assert!(uri.starts_with("tests/fixtures/lint/"), "{uri}");
    }
}

#[test]
fn github_format_prints_workflow_commands() {
    let (_, out, _) = lint(&[
        "--format",
        "github",
        "tests/fixtures/lint/L206_fail.cadence",
        "tests/fixtures/lint/L205_fail.cadence",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines.iter().any(|l| l
            .starts_with("::error file=tests/fixtures/lint/L206_fail.cadence,line=3,col=10,")
            && l.contains("title=L206::")),
        "{out}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l
                .starts_with("::warning file=tests/fixtures/lint/L205_fail.cadence,line=3,col=1,")),
        "{out}"
    );
    // Newlines in messages are escaped: one command per line.
    assert!(out.contains("%0Ahelp: "), "{out}");
}

#[test]
fn select_and_ignore_by_code_prefix_or_name() {
    let f = "tests/fixtures/lint/L210_fail.cadence";
    assert!(codes(&lint(&["--format", "json", "--ignore", "L210", f]).1).is_empty());
    assert!(codes(&lint(&["--format", "json", "--ignore", "path-too-long", f]).1).is_empty());
    assert!(codes(&lint(&["--format", "json", "--select", "L20", f]).1).is_empty());
    assert_eq!(
        codes(&lint(&["--format", "json", "--select", "L21", f]).1).len(),
        2
    );
    assert!(codes(
        &lint(&[
            "--format",
            "json",
            "--max-emails",
            "9",
            "--max-days",
            "300",
            f
        ])
        .1
    )
    .is_empty());
}

#[test]
fn a_comment_allows_a_finding_on_its_line_or_the_next() {
    let (code, json, _) = lint(&["--format", "json", "tests/fixtures/lint/suppressed.cadence"]);
    assert_eq!(code, 0);
    assert!(codes(&json).is_empty(), "{json}");
}

#[test]
fn check_errors_come_first_and_fail() {
    let (code, json, _) = lint(&[
        "--format",
        "json",
        "tests/fixtures/check/E103_missing_step.cadence",
    ]);
    assert_eq!(code, 1);
    assert_eq!(codes(&json), ["E103"]);
}

#[test]
fn paths_lists_every_way_through() {
    let out = Command::new(env!("CARGO_BIN_EXE_cadence"))
        .args(["lint", "--paths", "tests/fixtures/lint/L212_pass.cadence"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("3 paths"), "{text}");
    assert!(
        text.contains("step 1 -opened-> step 2 -next-> done"),
        "{text}"
    );
    assert!(
        text.contains("step 1 -bounced-> exit \"bad address\""),
        "{text}"
    );
    assert!(text.contains("step 1 -no_open 3d-> step 2 -next-> done\n      completed; 2 emails, 0 calls, 0 tasks; at least 5d"), "{text}");
}

#[test]
fn every_example_is_lint_clean() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "cadence"))
        .map(|p| p.display().to_string())
        .collect();
    files.sort();
    let mut args = vec!["--format", "json", "--deny", "warnings"];
    args.extend(files.iter().map(String::as_str));
    let (code, json, _) = lint(&args);
    assert_eq!(code, 0, "{json}");
}

#[test]
fn explain_prints_a_rule_page() {
    let out = Command::new(env!("CARGO_BIN_EXE_cadence"))
        .args(["explain", "L205"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("## L205: can-wait-forever"));
}

#[test]
fn every_output_format_golden() {
    let files = [
        "tests/fixtures/lint/L206_fail.cadence",
        "tests/fixtures/lint/L205_fail.cadence",
    ];
    for format in ["json", "sarif", "github"] {
        let mut args = vec!["--format", format];
        args.extend(files);
        let (_, out, _) = lint(&args);
        insta::assert_snapshot!(format!("formats_{format}"), out);
    }
}

fn lint_text(text: &str) -> Vec<String> {
    let dir = std::env::temp_dir().join(format!(
        "cadence-lint-{}-{}",
        std::process::id(),
        text.len()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("x.cadence");
    std::fs::write(&p, text).unwrap();
    let (_, json, _) = lint(&["--format", "json", p.to_str().unwrap()]);
    std::fs::remove_dir_all(&dir).unwrap();
    codes(&json)
}

#[test]
fn rules_see_business_days_sparse_windows_and_skipped_dates() {
    let t = "exit on replied\ntemplate w { subject \"s\"; body \"b {{unsubscribe_link}}\" }\n";
    // L202: `no_reply 2bd` fires before `no_open 3bd`.
    let c = lint_text(&format!("{t}step 1: email w\n  on bounced -> exit\n  on no_reply 2bd -> done\n  on no_open 3bd -> done\n"));
    assert!(c.contains(&"L202".to_string()), "{c:?}");
    // L209: a window that opens once a month is closed for weeks.
    let c = lint_text(&format!(
        "{t}window \"0 9 1 * *\"\nstep 1: email w\n  on bounced -> exit\n  on no_open 1h -> done\n"
    ));
    assert!(c.contains(&"L209".to_string()), "{c:?}");
    // L203: an `at FIELD` step skipped at once, in a loop with no delay.
    let c = lint_text("field due: date\nstep 1: call \"a\"\n  on answered -> done\n  on overdue 0d -> step 2\nstep 2: task \"b\" at due - 1d\n  on completed -> done\n  on overdue 0d -> step 1\n");
    assert!(c.contains(&"L203".to_string()), "{c:?}");
}

#[test]
fn a_step_that_a_migration_moves_contacts_into_is_reachable() {
    let fail = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/lint/L201_fail.cadence"),
    )
    .unwrap();
    assert!(lint_text(&fail).contains(&"L201".to_string()));
    let c = lint_text(&format!("{fail}\nmigrate {{\n  step 3 -> step 2\n}}\n"));
    assert!(!c.contains(&"L201".to_string()), "{c:?}");
}

#[test]
fn a_field_read_only_as_an_owner_is_used() {
    let c = lint_text("field rep: text\nfield unused_one: text\nstep 1: call \"Intro\" owner rep | \"sdr-pool\"\n  on answered -> done\n  on overdue 1d -> done\n");
    assert_eq!(c, ["L208"], "only `unused_one` is unused");
}

#[test]
fn a_cadence_of_twenty_thousand_steps_is_linted_without_running_out_of_stack() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("long.cadence");
    let mut text = String::from(
        "template w { subject \"x\"; body \"x {{unsubscribe_link}}\" }\nstep 1: email w\n",
    );
    for i in 2..=20_000 {
        text.push_str(&format!("step {i}: call \"c{i}\"\n"));
    }
    std::fs::write(&f, text).unwrap();
    let t0 = std::time::Instant::now();
    let (code, _, err) = lint(&[f.to_str().unwrap()]);
    assert!(code == 0 || code == 1, "{err}");
    assert!(err.contains("linted 1 file"), "{err}");
    assert!(t0.elapsed() < std::time::Duration::from_secs(60));
}

/// A long chain whose every step branches twice to the next has 2^699 paths: the rules that
/// ask which steps reach which (L204, L212) answer from one walk of the graph per step, not
/// one per pair, and the path rules stop at their limit.
#[test]
fn a_seven_hundred_step_cadence_is_linted_in_moments() {
    let mut s = String::from(
        "cadence \"T\"\nexit on replied\ntemplate a {\n  subject \"Hi\"\n  body \"x {{unsubscribe_link}}\"\n}\n",
    );
    for i in 1..700 {
        s.push_str(&format!(
            "step {i}: email a\n  on opened -> step {}\n  on no_reply 3d -> step {}\n",
            i + 1,
            i + 1
        ));
    }
    s.push_str("step 700: call \"x\"\n  on answered -> step 1\n  on overdue 2d -> done\n");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chain.cadence");
    std::fs::write(&path, s).unwrap();
    let t = std::time::Instant::now();
    let (code, out, _) = lint(&["--format", "json", path.to_str().unwrap()]);
    let took = t.elapsed();
    assert_eq!(code, 0);
    let found = codes(&out);
    // Every email step but the last lacks `on bounced` while more email follows (L212), and
    // the call loops back to step 1 (L204).
    assert_eq!(
        found.iter().filter(|c| *c == "L212").count(),
        699,
        "{found:?}"
    );
    assert!(found.contains(&"L204".to_string()), "{found:?}");
    assert!(took < std::time::Duration::from_secs(10), "{took:?}");
}
