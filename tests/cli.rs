//! The real binary: exit codes, streams, stdin and missing files.

use std::io::Write;
use std::process::{Command, Output, Stdio};

struct Run {
    args: Vec<String>,
    stdin: Option<String>,
    dir: std::path::PathBuf,
}

fn cadence(args: &[&str]) -> Run {
    Run {
        args: args.iter().map(|s| s.to_string()).collect(),
        stdin: None,
        dir: env!("CARGO_MANIFEST_DIR").into(),
    }
}

impl Run {
    fn dir(mut self, d: &std::path::Path) -> Run {
        self.dir = d.to_path_buf();
        self
    }

    fn stdin(mut self, s: &str) -> Run {
        self.stdin = Some(s.to_string());
        self
    }

    fn output(self) -> Output {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cadence"))
            .args(&self.args)
            .current_dir(&self.dir)
            .env("NO_COLOR", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("binary runs");
        {
            let mut stdin = child.stdin.take().unwrap();
            if let Some(s) = &self.stdin {
                stdin.write_all(s.as_bytes()).unwrap();
            }
        }
        child.wait_with_output().unwrap()
    }

    /// Runs and checks the exit status; returns (stdout, stderr).
    fn status(self, code: i32) -> (String, String) {
        let out = self.output();
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(
            out.status.code(),
            Some(code),
            "stdout:\n{stdout}\nstderr:\n{stderr}"
        );
        (stdout, stderr)
    }
}

#[test]
fn check_clean_examples_exits_0() {
    let files: Vec<String> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/examples"))
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .filter(|p| p.ends_with(".cadence"))
        .collect();
    let mut args = vec!["check"];
    args.extend(files.iter().map(String::as_str));
    let (stdout, stderr) = cadence(&args).status(0);
    assert!(stdout.is_empty());
    assert!(stderr.contains("no problems"), "{stderr}");
}

#[test]
fn check_errors_exit_1_with_reports_on_stderr() {
    let (stdout, stderr) =
        cadence(&["check", "tests/fixtures/check/ten_mistakes.cadence"]).status(1);
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("[E105] an email step cannot produce `answered`"),
        "{stderr}"
    );
    assert!(stderr.contains("ten_mistakes.cadence:18:6"), "{stderr}");
    assert!(stderr.contains("10 errors"), "{stderr}");
}

#[test]
fn check_json_goes_to_stdout() {
    let (stdout, _) = cadence(&[
        "check",
        "--format",
        "json",
        "tests/fixtures/check/E103_missing_step.cadence",
    ])
    .status(1);
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("json array");
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert_eq!(v[0]["code"], "E103");
    assert_eq!(
        v[0]["file"],
        "tests/fixtures/check/E103_missing_step.cadence"
    );
    assert_eq!(v[0]["line"], 9);
    assert_eq!(v[0]["column"], 16);
}

#[test]
fn check_json_of_a_clean_file_is_an_empty_array() {
    let (stdout, _) = cadence(&[
        "check",
        "--format",
        "json",
        "examples/saas_onboarding.cadence",
    ])
    .status(0);
    assert_eq!(stdout.trim(), "[]");
}

#[test]
fn missing_file_exits_2_with_a_clear_message() {
    let (_, stderr) = cadence(&["check", "nope.cadence"]).status(2);
    assert!(
        stderr.contains("cannot read `nope.cadence`: no such file"),
        "{stderr}"
    );
}

#[test]
fn without_paths_the_current_folder_is_checked_and_an_empty_one_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let (_, stderr) = cadence(&["check"]).dir(dir.path()).status(2);
    assert!(stderr.contains("no `.cadence` files in `.`"), "{stderr}");
    std::fs::create_dir_all(dir.path().join("cadences/old")).unwrap();
    let good = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/saas_onboarding.cadence"
    ))
    .unwrap();
    std::fs::write(dir.path().join("cadences/a.cadence"), &good).unwrap();
    // Ignored by .gitignore: not read, although it does not check.
    std::fs::write(
        dir.path().join("cadences/old/broken.cadence"),
        "step 1: email nope",
    )
    .unwrap();
    std::fs::write(dir.path().join(".gitignore"), "old/\n").unwrap();
    let (_, stderr) = cadence(&["check"]).dir(dir.path()).status(0);
    assert!(stderr.contains("checked 1 file: no problems"), "{stderr}");
    let (_, stderr) = cadence(&["check", "cadences"]).dir(dir.path()).status(0);
    assert!(stderr.contains("checked 1 file"), "{stderr}");
    std::fs::remove_file(dir.path().join(".gitignore")).unwrap();
    let (_, stderr) = cadence(&["check", "cadences/"]).dir(dir.path()).status(1);
    assert!(stderr.contains("cadences/old/broken.cadence"), "{stderr}");
}

#[test]
fn unknown_format_is_a_usage_error() {
    cadence(&[
        "check",
        "--format",
        "xml",
        "examples/saas_onboarding.cadence",
    ])
    .status(2);
}

#[test]
fn stdin_is_read_with_a_dash() {
    let (_, stderr) = cadence(&["check", "-"])
        .stdin("step 1: call \"Intro\" after 1d\n  on answerd -> done\n")
        .status(1);
    assert!(stderr.contains("<stdin>:2:6"), "{stderr}");
    assert!(stderr.contains("did you mean `answered`?"), "{stderr}");
    cadence(&["check", "-"])
        .stdin("step 1: call \"Intro\" after 1d\n")
        .status(0);
}

#[test]
fn a_byte_order_mark_is_not_an_error() {
    cadence(&["check", "-"])
        .stdin("\u{feff}step 1: call \"x\"\n")
        .status(0);
}

#[test]
fn binary_input_does_not_crash() {
    let (_, stderr) = cadence(&["check", "-"])
        .stdin("\u{0}\u{1}\u{2}((((\"")
        .status(1);
    assert!(stderr.contains("error") || stderr.contains('×'), "{stderr}");
}

#[test]
fn very_deep_nesting_is_an_ordinary_error() {
    let src = format!(
        "enroll when {}a{}\nstep 1: call \"x\"\n",
        "(".repeat(100_000),
        ")".repeat(100_000)
    );
    let (_, stderr) = cadence(&["check", "-"]).stdin(&src).status(1);
    assert!(
        stderr.contains("P003"),
        "{}",
        &stderr[..stderr.len().min(500)]
    );
    let src = format!(
        "enroll when {}a\nstep 1: call \"x\"\n",
        "not ".repeat(100_000)
    );
    cadence(&["check", "-"]).stdin(&src).status(1);
}

#[test]
fn explain_prints_the_page() {
    let (stdout, _) = cadence(&["explain", "e105"]).status(0);
    assert!(stdout.starts_with("## E105:"), "{stdout}");
    assert!(stdout.contains("### Fix"));
}

#[test]
fn explain_unknown_code_exits_2() {
    let (_, stderr) = cadence(&["explain", "X123"]).status(2);
    assert!(stderr.contains("unknown diagnostic code"));
}

#[test]
fn explain_list_names_every_code() {
    let (stdout, _) = cadence(&["explain", "--list"]).status(0);
    assert!(stdout.contains("E123"));
    assert!(stdout.contains("P001"));
}

#[test]
fn help_teaches_with_examples() {
    let (stdout, _) = cadence(&["check", "--help"]).status(0);
    assert!(stdout.contains("Examples:"));
    assert!(stdout.contains("Exit status"));
}

#[test]
fn a_full_output_is_an_error_not_a_panic() {
    let full = std::path::Path::new("/dev/full");
    if !full.exists() {
        return;
    }
    for args in [
        &[
            "check",
            "--format",
            "json",
            "tests/fixtures/check/E100_unknown_field.cadence",
        ][..],
        &["lint", "tests/fixtures/lint/L205_fail.cadence"][..],
        &["graph", "examples/saas_onboarding.cadence"][..],
        &["test", "examples/saas_onboarding.cadence"][..],
        &["explain", "E100"][..],
        &["config", "show"][..],
        &["fmt", "-"][..],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_cadence"))
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdin(std::fs::File::open("examples/saas_onboarding.cadence").unwrap())
            .stdout(std::fs::OpenOptions::new().write(true).open(full).unwrap())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("error: cannot write the output"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn a_mistake_far_along_a_very_long_line_is_shown_cut_down() {
    let text = format!(
        "template t {{ subject \"x\"; body \"<p>{} {{{{frist_name}}}}</p> {{{{unsubscribe_link}}}}\" }}\nstep 1: email t\n",
        "A".repeat(70_000)
    );
    let (_, stderr) = cadence(&["check", "-"]).stdin(&text).status(1);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.contains("[E100] unknown field `frist_name`"),
        "{stderr}"
    );
    assert!(stderr.contains("<stdin>:1:70039]"), "{stderr}");
    // The line is shown around the mistake, not whole.
    assert!(stderr.len() < 4_000, "{} bytes", stderr.len());
    assert!(stderr.contains("…"), "{stderr}");
}

#[test]
fn generate_refuses_absurd_sizes_and_existing_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    let (_, err) = cadence(&["generate", &d, "--contacts", "18446744073709551615"]).status(2);
    assert!(
        err.contains("--contacts") && !err.contains("panicked"),
        "{err}"
    );
    cadence(&["generate", &d, "--contacts", "10", "--events", "20"]).status(0);
    let (_, err) = cadence(&["generate", &d, "--contacts", "10"]).status(2);
    assert!(err.contains("trial.cadence` exists; give --force"), "{err}");
    cadence(&[
        "generate",
        &d,
        "--contacts",
        "5",
        "--events",
        "5",
        "--force",
    ])
    .status(0);
    let contacts = std::fs::read_to_string(dir.path().join("contacts.csv")).unwrap();
    assert_eq!(contacts.lines().count(), 6);
}

#[test]
fn a_body_file_outside_the_cadence_s_folder_is_refused_unread() {
    let top = tempfile::tempdir().unwrap();
    let dir = top.path().join("cadences");
    std::fs::create_dir_all(dir.join("templates/sub")).unwrap();
    std::fs::write(top.path().join("secret.env"), "API_KEY={{sk_live_123}}\n").unwrap();
    std::fs::write(
        dir.join("templates/ok.html"),
        "<p>Hi {{first_name | there}} {{unsubscribe_link}}</p>",
    )
    .unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(
        top.path().join("secret.env"),
        dir.join("templates/link.env"),
    )
    .unwrap();
    let fifo = dir.join("templates/pipe");
    let _ = Command::new("mkfifo").arg(&fifo).status();
    let cadence_text = |body: &str| {
        format!("template t {{ subject \"x\"; body file \"{body}\" }}\nstep 1: email t\n")
    };
    let check = |body: &str| {
        std::fs::write(dir.join("c.cadence"), cadence_text(body)).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_cadence"))
            .args(["check", "--format", "json", "c.cadence"])
            .current_dir(&dir)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    assert_eq!(check("templates/ok.html").0, Some(0));
    for (body, says) in [
        ("../secret.env", "outside the cadence's folder"),
        ("templates/../../secret.env", "outside the cadence's folder"),
        ("/etc/passwd", "the path is absolute"),
        ("templates/sub", "not a regular file"),
        ("templates/link.env", "outside the cadence's folder"),
        ("templates/pipe", "not a regular file"),
    ] {
        if body.ends_with("pipe") && !fifo.exists() {
            continue;
        }
        let (code, err) = check(body);
        assert_eq!(code, Some(1), "{body}: {err}");
        assert!(err.contains(says), "{body}: {err}");
        assert!(
            !err.contains("sk_live") && !err.contains("root:"),
            "{body}: {err}"
        );
    }
}

#[test]
fn thousands_of_mistakes_print_fifty_and_a_count() {
    let text = "{".repeat(10_000);
    let (_, stderr) = cadence(&["check", "-"]).stdin(&text).status(1);
    assert_eq!(
        stderr.matches("× [").count(),
        50,
        "{}",
        &stderr[..2000.min(stderr.len())]
    );
    assert!(
        stderr.contains("<stdin>: 9950 more problems not shown"),
        "{}",
        &stderr[stderr.len().saturating_sub(500)..]
    );
    assert!(stderr.len() < 200_000, "{} bytes", stderr.len());
    // JSON lists them all.
    let (out, _) = cadence(&["check", "--format", "json", "-"])
        .stdin(&text)
        .status(1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 10_000);
}

#[test]
fn an_unterminated_string_in_a_template_is_not_followed_by_errors_it_caused() {
    let (out, _) = cadence(&["check", "--format", "json", "-"])
        .stdin("template w { subject \"x; body \"y\" }\nstep 1: email w\n")
        .status(1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let codes: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes[0], "P002", "{out}");
    assert!(!codes.contains(&"E120"), "{out}");
}

#[test]
fn a_hundred_thousand_enum_values_check_quickly() {
    let values: Vec<String> = (0..100_000).map(|i| format!("\"v{i}\"")).collect();
    let text = format!(
        "field plan: enum({})\nenroll when plan == \"v99999x\"\ntemplate w {{ subject \"x\"; body \"x {{{{unsubscribe_link}}}}\" }}\nstep 1: email w\n",
        values.join(",")
    );
    let t0 = std::time::Instant::now();
    let (out, _) = cadence(&["check", "--format", "json", "-"])
        .stdin(&text)
        .status(1);
    assert!(out.contains("E123"), "{out}");
    assert!(
        t0.elapsed() < std::time::Duration::from_secs(20),
        "{:?}",
        t0.elapsed()
    );
}

#[test]
fn forty_thousand_unclosed_templates_check_in_linear_time() {
    let text = "template t {\n".repeat(40_000);
    let t0 = std::time::Instant::now();
    let (out, err) = cadence(&["check", "-"]).stdin(&text).status(1);
    // Linear here is about a second on a debug build; the quadratic parse took minutes.
    assert!(
        t0.elapsed() < std::time::Duration::from_secs(15),
        "{:?}",
        t0.elapsed()
    );
    // The output stays bounded too: the first 50 problems, then a count.
    let all = format!("{out}{err}");
    assert!(all.len() < 64 * 1024, "{} bytes of output", all.len());
    assert!(all.contains("79949 more problems not shown"), "{all}");
}
