//! Cadence in a team's CI: folders, `cadence.toml`, strict rule names, `check` in the GitHub and
//! SARIF formats (validated against the SARIF 2.1.0 schema), coverage thresholds, and the
//! GitHub Action's steps and the pre-commit hooks run for real.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn cadence_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out: Output = Command::new(env!("CARGO_BIN_EXE_cadence"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Whether a program answers `--version`.
fn installed(cmd: &str) -> bool {
    Command::new(cmd)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// PATH with the folder of the `cadence` under test first.
fn path_with_cadence() -> String {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_cadence")).parent().unwrap();
    format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// A folder holding the examples under `cadences/`.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("cadences")).unwrap();
    for e in std::fs::read_dir(root().join("examples")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "cadence") {
            std::fs::copy(&p, dir.path().join("cadences").join(p.file_name().unwrap())).unwrap();
        }
    }
    dir
}

fn codes(json: &str) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn an_unknown_rule_anywhere_is_an_error_with_a_suggestion() {
    let dir = project();
    let d = dir.path();
    let (code, _, err) = cadence_in(d, &["lint", "--select", "L999", "cadences"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no lint rule is `L999`"), "{err}");
    let (code, _, err) = cadence_in(d, &["lint", "--ignore", "unreachable-stepp"]);
    assert_eq!(code, 2);
    assert!(err.contains("did you mean `unreachable-step`?"), "{err}");
    std::fs::write(d.join("cadence.toml"), "[lint]\nignore = [\"L2O5\"]\n").unwrap();
    let (code, _, err) = cadence_in(d, &["lint"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("cadence.toml: [lint]: no lint rule is `L2O5`; did you mean `L205`?"),
        "{err}"
    );
    std::fs::write(d.join("cadence.toml"), "[lint]\nselekt = [\"L205\"]\n").unwrap();
    let (code, _, err) = cadence_in(d, &["lint"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown field `selekt`"), "{err}");
    std::fs::remove_file(d.join("cadence.toml")).unwrap();
    let mut text = std::fs::read_to_string(d.join("cadences/gym_membership.cadence")).unwrap();
    text.push_str("\n# lint: allow(L2055)\n");
    std::fs::write(d.join("cadences/gym_membership.cadence"), text).unwrap();
    let (code, _, err) = cadence_in(d, &["lint"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("cadences/gym_membership.cadence:")
            && err.contains("`# lint: allow(...)`: no lint rule is `L2055`"),
        "{err}"
    );
}

#[test]
fn cadence_toml_selects_ignores_and_denies_and_flags_win() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("cadences/legacy")).unwrap();
    for f in ["L205_fail", "L206_fail"] {
        std::fs::copy(
            root().join(format!("tests/fixtures/lint/{f}.cadence")),
            d.join(format!("cadences/{f}.cadence")),
        )
        .unwrap();
    }
    std::fs::copy(
        root().join("tests/fixtures/lint/L205_fail.cadence"),
        d.join("cadences/legacy/old.cadence"),
    )
    .unwrap();
    let lint = |args: &[&str]| {
        let mut all = vec!["lint", "--format", "json"];
        all.extend(args);
        let (code, out, err) = cadence_in(d, &all);
        (code, codes(&out), err)
    };
    let (code, found, _) = lint(&[]);
    assert_eq!(code, 1);
    assert!(found.contains(&"L205".to_string()) && found.contains(&"L206".to_string()));
    std::fs::write(
        d.join("cadence.toml"),
        "[lint]\nignore = [\"L206\"]\ndeny-warnings = true\n[lint.per-file-ignores]\n\"cadences/legacy/*.cadence\" = [\"can-wait-forever\"]\n",
    )
    .unwrap();
    let (code, found, _) = lint(&[]);
    // L206 ignored; L205 (a warning) fails the run; the legacy file's L205 is not reported.
    assert_eq!(code, 1);
    assert_eq!(found, ["L205"]);
    let (_, out, _) = cadence_in(d, &["lint", "--format", "json"]);
    assert!(!out.contains("legacy"), "{out}");
    // A flag wins over the file.
    let (_, found, _) = lint(&["--ignore", "L205"]);
    assert!(found.contains(&"L206".to_string()), "{found:?}");
    // From a sub-folder the file is still found.
    let (code, out, _) = cadence_in(&d.join("cadences"), &["lint", "--format", "json", "."]);
    assert_eq!(code, 1);
    assert_eq!(codes(&out), ["L205"]);
    // [report] sets the report's default format.
    std::fs::write(
        d.join("trace.jsonl"),
        "{\"at\":\"2026-01-05T09:00:00Z\",\"contact\":\"c1\",\"cadence\":\"T\",\"kind\":\"enrolled\"}\n",
    )
    .unwrap();
    let mut toml = std::fs::read_to_string(d.join("cadence.toml")).unwrap();
    toml.push_str("[report]\nformat = \"json\"\n");
    std::fs::write(d.join("cadence.toml"), toml).unwrap();
    let (code, out, err) = cadence_in(d, &["report", "trace.jsonl"]);
    assert_eq!(code, 0, "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["cadences"][0]["enrolled"], 1);
    let (code, shown, _) = cadence_in(d, &["config", "show"]);
    assert_eq!(code, 0);
    assert!(shown.contains("cadence.toml"), "{shown}");
    assert!(shown.contains("ignore = [\"L206\"]"), "{shown}");
    assert!(
        shown.contains("max-emails = 8") && shown.contains("# default"),
        "{shown}"
    );
}

#[test]
fn check_writes_github_annotations_and_sarif() {
    let f = "tests/fixtures/check/E100_unknown_field.cadence";
    let (code, out, _) = cadence_in(&root(), &["check", "--format", "github", f]);
    assert_eq!(code, 1);
    assert!(
        out.starts_with(&format!("::error file={f},line=2,col=")) && out.contains("title=E100"),
        "{out}"
    );
    let (code, out, _) = cadence_in(&root(), &["check", "--format", "sarif", f]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["version"], "2.1.0");
    assert!(v["$schema"]
        .as_str()
        .unwrap()
        .ends_with("sarif-schema-2.1.0.json"));
    assert_eq!(v["runs"][0]["results"][0]["ruleId"], "E100");
}

/// The SARIF of `check` and `lint` validates against the SARIF 2.1.0 JSON schema (with ajv,
/// from npm: `tests/support/sarif`). Skipped when it is not installed, unless
/// CADENCE_REQUIRE_SARIF is set (CI sets it).
#[test]
fn sarif_validates_against_the_sarif_2_1_0_schema() {
    let support = root().join("tests/support/sarif");
    if !support.join("node_modules/ajv").exists() {
        assert!(
            std::env::var_os("CADENCE_REQUIRE_SARIF").is_none(),
            "run `npm ci` in tests/support/sarif"
        );
        eprintln!("skipped: tests/support/sarif has no node_modules");
        return;
    }
    let outputs = [
        cadence_in(
            &root(),
            &[
                "check",
                "--format",
                "sarif",
                "tests/fixtures/check/ten_mistakes.cadence",
            ],
        )
        .1,
        cadence_in(&root(), &["check", "--format", "sarif", "examples"]).1,
        cadence_in(
            &root(),
            &[
                "lint",
                "--format",
                "sarif",
                "tests/fixtures/lint/L205_fail.cadence",
                "tests/fixtures/lint/L206_fail.cadence",
            ],
        )
        .1,
    ];
    for sarif in outputs {
        let mut child = Command::new("node")
            .arg(support.join("validate.mjs"))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(sarif.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}\n{sarif}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn coverage_thresholds_and_json_coverage() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("t.cadence"),
        "template w { subject \"Hi\"; body \"Hi {{unsubscribe_link}}\" }\n\
         step 1: email w\n  on opened -> done\n  on no_open 2d -> step 2\nstep 2: call \"Call\"\n\
         test \"opened\" {\n  contact a email = \"a@example.test\"\n  at 2026-01-05T09:00:00Z: enroll a\n  at +1d: a opened\n  expect a completed\n}\n",
    )
    .unwrap();
    let (code, out, err) = cadence_in(d, &["test", "--fail-under", "100"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("coverage is below 100%"), "{err}");
    let (code, _, err) = cadence_in(d, &["test", "--fail-under", "40"]);
    assert_eq!(code, 0, "{err}");
    std::fs::write(d.join("cadence.toml"), "[test]\nfail-under = 100\n").unwrap();
    assert_eq!(cadence_in(d, &["test"]).0, 1);
    let (code, out, err) = cadence_in(
        d,
        &[
            "test",
            "--coverage",
            "--coverage-format",
            "json",
            "--fail-under",
            "0",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let c = &v["coverage"][0];
    assert_eq!(c["steps"]["total"], 2);
    assert_eq!(c["detail"][0]["step"], 1);
    assert_eq!(c["detail"][0]["hit"], true);
    assert_eq!(c["detail"][1]["hit"], false);
    assert_eq!(c["detail"][0]["branches"][1]["on"], "no_open");
    assert_eq!(c["detail"][0]["branches"][1]["hit"], false);
    assert!(err.contains("1 passed, 0 failed"), "{err}");
}

/// The `run:` scripts of `action.yml`, by step id, with the inputs filled in.
fn action_steps(inputs: &[(&str, &str)]) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(root().join("action.yml")).unwrap();
    let mut steps = Vec::new();
    let mut id = String::new();
    let mut script: Option<String> = None;
    for line in text.lines() {
        if let Some(s) = &mut script {
            if line.starts_with("        ") {
                s.push_str(line.trim_start());
                s.push('\n');
                continue;
            }
            steps.push((id.clone(), script.take().unwrap()));
        }
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("id: ") {
            id = rest.to_string();
        } else if t == "run: |" {
            script = Some(String::new());
        }
    }
    if let Some(s) = script {
        steps.push((id, s));
    }
    steps
        .into_iter()
        .map(|(id, mut s)| {
            for (k, v) in inputs {
                s = s.replace(&format!("${{{{ inputs.{k} }}}}"), v);
            }
            (id, s)
        })
        .collect()
}

#[test]
fn the_github_action_s_steps_pass_on_the_examples_and_fail_on_a_bad_file() {
    let path = path_with_cadence();
    let dir = project();
    let run = |script: &str| {
        Command::new("bash")
            .args(["-euo", "pipefail", "-c", script])
            .current_dir(dir.path())
            .env("PATH", &path)
            .output()
            .unwrap()
    };
    let steps = action_steps(&[("paths", "cadences"), ("fail-under", "100")]);
    let ids: Vec<&str> = steps.iter().map(|(i, _)| i.as_str()).collect();
    assert_eq!(ids, ["install", "check", "lint", "fmt", "test"]);
    for (id, script) in steps.iter().filter(|(id, _)| id != "install") {
        assert!(!script.contains("${{"), "{id}: {script}");
        let out = run(script);
        assert!(
            out.status.success(),
            "{id}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // A mistake fails the check step, as an annotation on the file.
    std::fs::write(
        dir.path().join("cadences/bad.cadence"),
        "step 1: email nope\n",
    )
    .unwrap();
    let check = &steps.iter().find(|(id, _)| id == "check").unwrap().1;
    let out = run(check);
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("::error file=cadences/bad.cadence,line=1"),
        "{stdout}"
    );
}

/// The hooks of `.pre-commit-hooks.yaml`, run by `pre-commit try-repo` (pre-commit from PyPI)
/// in a repository holding the examples. Skipped when pre-commit or git is missing, unless
/// CADENCE_REQUIRE_PRECOMMIT is set (CI sets it).
#[test]
fn the_pre_commit_hooks_run_with_try_repo() {
    if !installed("pre-commit") || !installed("git") {
        assert!(
            std::env::var_os("CADENCE_REQUIRE_PRECOMMIT").is_none(),
            "pre-commit is not installed (pip install pre-commit)"
        );
        eprintln!("skipped: pre-commit is not installed");
        return;
    }
    let path = path_with_cadence();
    let dir = project();
    let d = dir.path();
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args(args)
            .current_dir(d)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    git(&["init", "-q"]);
    git(&["add", "."]);
    let home = tempfile::tempdir().unwrap();
    let try_repo = |hook: &str| {
        Command::new("pre-commit")
            .args(["try-repo", root().to_str().unwrap(), hook, "--all-files"])
            .current_dir(d)
            .env("PATH", &path)
            .env("PRE_COMMIT_HOME", home.path())
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    for hook in ["cadence-fmt", "cadence-lint"] {
        let out = try_repo(hook);
        assert!(
            out.status.success(),
            "{hook}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // A file out of shape: the fmt hook formats it and fails (pre-commit's way to say so).
    let messy = std::fs::read_to_string(root().join("tests/fixtures/fmt/messy.cadence")).unwrap();
    std::fs::write(d.join("cadences/messy.cadence"), &messy).unwrap();
    git(&["add", "."]);
    let out = try_repo("cadence-fmt");
    assert!(!out.status.success());
    assert_ne!(
        std::fs::read_to_string(d.join("cadences/messy.cadence")).unwrap(),
        messy
    );
}

/// A fenced block of docs/ci.md: the one whose first line is `first`.
fn doc_block(first: &str) -> String {
    let text = std::fs::read_to_string(root().join("docs/ci.md")).unwrap();
    let start = text
        .find(&format!("```yaml\n{first}\n"))
        .unwrap_or_else(|| panic!("docs/ci.md has no block starting `{first}`"));
    let body = &text[start + "```yaml\n".len()..];
    body[..body.find("```").unwrap()].to_string()
}

#[test]
fn the_gitlab_job_in_docs_ci_md_passes_on_the_examples() {
    let job = doc_block("# .gitlab-ci.yml");
    let mut in_script = false;
    let mut lines = Vec::new();
    for l in job.lines() {
        if l.trim() == "script:" {
            in_script = true;
        } else if in_script {
            match l.trim().strip_prefix("- ") {
                Some(cmd) => lines.push(cmd.to_string()),
                None => break,
            }
        }
    }
    assert_eq!(lines.len(), 4, "{job}");
    let path = path_with_cadence();
    let dir = project();
    for cmd in &lines {
        assert!(cmd.starts_with("cadence "), "{cmd}");
        let out = Command::new("bash")
            .args(["-c", cmd])
            .current_dir(dir.path())
            .env("PATH", &path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{cmd}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The pre-commit configuration of docs/ci.md, with the repository and revision made local,
/// run by `pre-commit run --all-files`. Skipped as the try-repo test is.
#[test]
fn the_pre_commit_config_in_docs_ci_md_runs() {
    if !installed("pre-commit") || !installed("git") {
        assert!(std::env::var_os("CADENCE_REQUIRE_PRECOMMIT").is_none());
        eprintln!("skipped: pre-commit is not installed");
        return;
    }
    let head = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(root())
        .output()
        .unwrap();
    let head = String::from_utf8_lossy(&head.stdout).trim().to_string();
    let config = doc_block("# .pre-commit-config.yaml")
        .replace("https://github.com/OWNER/cadence", root().to_str().unwrap())
        .replace("rev: v0.1.0", &format!("rev: {head}"));
    let path = path_with_cadence();
    let dir = project();
    let d = dir.path();
    std::fs::write(d.join(".pre-commit-config.yaml"), config).unwrap();
    for args in [&["init", "-q"][..], &["add", "."][..]] {
        assert!(Command::new("git")
            .args(args)
            .current_dir(d)
            .status()
            .unwrap()
            .success());
    }
    let home = tempfile::tempdir().unwrap();
    let out = Command::new("pre-commit")
        .args(["run", "--all-files"])
        .current_dir(d)
        .env("PATH", &path)
        .env("PRE_COMMIT_HOME", home.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("cadence fmt") && text.contains("cadence lint"),
        "{text}"
    );
}
