//! A/B variants (`email variants(...)`): which contact gets which template, the same in the
//! simulator, the runner, the REPL and the tests; pinning in tests; the report's comparison,
//! checked against statistics computed here by other means; the lint rule on test size.

mod common;

use std::collections::BTreeMap;

use common::bin::cadence;
use common::{jsonl, Sim};

const AB: &str = r#"cadence "AB"
exit on replied
exit on bounced
template intro_a {
  subject "Hello {{first_name | there}}"
  body "Hi. {{unsubscribe_link}}"
}
template intro_b {
  subject "A quick question, {{first_name | there}}"
  body "Hi. {{unsubscribe_link}}"
}
template bump {
  subject "Bump"
  body "Bump. {{unsubscribe_link}}"
}
step 1: email variants(intro_a 30%, intro_b 70%)
  on no_reply 3d -> next
step 2: email bump
"#;

fn contacts(n: usize) -> String {
    let mut s = String::from("id,email,first_name\n");
    for i in 0..n {
        s.push_str(&format!("c{i},c{i}@example.test,N{i}\n"));
    }
    s
}

fn enrolments(n: usize, at: &str) -> String {
    let mut s = String::from("at,contact,event\n");
    for i in 0..n {
        s.push_str(&format!("{at},c{i},enroll\n"));
    }
    s
}

fn records(trace: &str) -> Vec<serde_json::Value> {
    trace
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// contact -> the templates its step-1 executions sent.
fn step1_variants(trace: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in records(trace) {
        if r["kind"] == "executed" && r["step"] == 1 {
            assert_eq!(r["name"], r["variant"], "`name` is the template sent: {r}");
            out.entry(r["contact"].as_str().unwrap().into())
                .or_default()
                .push(r["variant"].as_str().unwrap().into());
        }
    }
    out
}

#[test]
fn the_trace_names_the_variant_and_the_runner_agrees_with_the_simulator() {
    let n = 400;
    let (c, e) = (contacts(n), enrolments(n, "2026-01-05T09:00:00Z"));
    // `jsonl` also runs the case through `cadence run` (whole and split) and compares.
    let trace = jsonl(&Sim {
        files: vec![("ab.cadence", AB)],
        contacts: &c,
        events: &e,
        start: "2026-01-05T09:00:00Z",
        until: None,
    });
    let got = step1_variants(&trace);
    assert_eq!(got.len(), n);
    let b = got.values().filter(|v| v[0] == "intro_b").count();
    // 70% of 400, within a few standard deviations (sd = 9.2).
    assert!((250..310).contains(&b), "{b} of {n} got intro_b");
    // Step 2 sends one template: no `variant` key.
    assert!(records(&trace)
        .iter()
        .filter(|r| r["kind"] == "executed" && r["step"] == 2)
        .all(|r| r.get("variant").is_none() && r["name"] == "bump"));
    // The same bytes again.
    let again = jsonl(&Sim {
        files: vec![("ab.cadence", AB)],
        contacts: &c,
        events: &e,
        start: "2026-01-05T09:00:00Z",
        until: None,
    });
    assert_eq!(trace, again);
}

#[test]
fn a_contact_who_enrols_again_gets_the_same_variant() {
    let text = AB.replace("exit on replied", "exit on replied\nreenroll after 1d");
    let n = 60;
    let c = contacts(n);
    let mut e = String::from("at,contact,event\n");
    for i in 0..n {
        e.push_str(&format!("2026-01-05T09:00:00Z,c{i},enroll\n"));
        e.push_str(&format!("2026-01-05T10:00:00Z,c{i},unenroll\n"));
        e.push_str(&format!("2026-01-08T09:00:00Z,c{i},enroll\n"));
    }
    let trace = jsonl(&Sim {
        files: vec![("ab.cadence", &text)],
        contacts: &c,
        events: &e,
        start: "2026-01-05T09:00:00Z",
        until: None,
    });
    let got = step1_variants(&trace);
    assert_eq!(got.len(), n);
    for (contact, sent) in &got {
        assert_eq!(sent.len(), 2, "{contact} enrolled twice: {sent:?}");
        assert_eq!(sent[0], sent[1], "{contact}");
    }
}

#[test]
fn the_runner_sends_the_template_of_the_variant() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    };
    let file = write("ab.cadence", AB);
    let c = write("c.csv", &contacts(40));
    let e = write("e.csv", &enrolments(40, "2026-01-05T09:00:00Z"));
    let db = dir.path().join("live.db").display().to_string();
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
        "2026-01-06T00:00:00Z",
    ])
    .status(0);
    let (trace, _) = cadence(&["trace", "--db", &db, "--format", "jsonl"]).status(0);
    let want = step1_variants(&trace);
    let (outbox, _) = cadence(&["outbox", "--db", &db, "--format", "json"]).status(0);
    let rows: serde_json::Value = serde_json::from_str(&outbox).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 40);
    for r in rows {
        let id = r["contact_id"].as_str().unwrap();
        let subject = r["subject"].as_str().unwrap();
        let expected = match want[id][0].as_str() {
            "intro_a" => format!("Hello N{}", &id[1..]),
            _ => format!("A quick question, N{}", &id[1..]),
        };
        assert_eq!(subject, expected, "{id}");
    }
}

#[test]
fn a_pinned_contact_gets_its_variant_and_a_wrong_expectation_fails() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{AB}
test \"pinned to the question\" {{
  contact al email = \"al@example.test\"
  pin al step 1 variant intro_b
  at 2026-01-05T09:00:00Z: enroll al
  expect al executed step 1 variant intro_b at 2026-01-05T09:00:00Z
}}
test \"pinned to the other\" {{
  contact al email = \"al@example.test\"
  pin al step 1 variant intro_a
  at 2026-01-05T09:00:00Z: enroll al
  expect al executed step 1 variant intro_b
}}
"
    );
    let file = dir.path().join("pin.cadence");
    std::fs::write(&file, text).unwrap();
    let (out, _) = cadence(&["test", &file.display().to_string()]).status(1);
    assert!(out.contains("\"pinned to the question\" ... ok"), "{out}");
    assert!(out.contains("\"pinned to the other\" ... FAILED"), "{out}");
    assert!(
        out.contains("expected al to get variant `intro_b` of step 1, but it got"),
        "{out}"
    );
    assert!(out.contains("email `intro_a` sent (variant A)"), "{out}");
}

#[test]
fn the_example_tests_two_welcome_subjects() {
    let (out, _) = cadence(&["test", "examples/saas_onboarding.cadence"]).status(0);
    assert!(
        out.contains("half of the trialists get the question subject"),
        "{out}"
    );
    let (trace, _) = cadence(&[
        "simulate",
        "examples/saas_onboarding.cadence",
        "--contacts",
        "examples/contacts.csv",
        "--events",
        "examples/saas_onboarding.events.csv",
        "--format",
        "jsonl",
    ])
    .status(0);
    let got = step1_variants(&trace);
    let sent: Vec<&str> = got.values().map(|v| v[0].as_str()).collect();
    assert!(sent.contains(&"welcome") && sent.contains(&"welcome_question"));
}

#[test]
fn the_repl_says_which_variant_a_contact_gets() {
    let script = "contact c1 email=c1@example.test\nenroll c1\nstatus c1\npaths\n";
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ab.cadence");
    std::fs::write(&file, AB).unwrap();
    let (out, err) = cadence(&["repl", &file.display().to_string()])
        .stdin(script)
        .status(0);
    assert!(
        out.contains("email `intro_b` sent (variant B)")
            || out.contains("email `intro_a` sent (variant A)"),
        "{out}\n{err}"
    );
    assert!(
        out.contains(", variant "),
        "status names the variant: {out}"
    );
    assert!(
        out.contains("email variants(intro_a 30%, intro_b 70%)"),
        "paths lists the weights: {out}"
    );
}

// ---- the report ------------------------------------------------------------------------

/// A trace with `n` contacts per variant, `ra` and `rb` of whom replied.
fn ab_trace(n: usize, ra: usize, rb: usize) -> String {
    let mut out = String::new();
    let mut line = |s: String| {
        out.push_str(&s);
        out.push('\n');
    };
    for (v, replies) in [("intro_a", ra), ("intro_b", rb)] {
        for i in 0..n {
            let c = format!("{v}-{i}");
            line(format!(
                r#"{{"at":"2026-01-05T09:00:00Z","contact":"{c}","cadence":"AB","kind":"enrolled"}}"#
            ));
            line(format!(
                r#"{{"at":"2026-01-05T09:00:00Z","contact":"{c}","cadence":"AB","kind":"executed","step":1,"action":"email","name":"{v}","variant":"{v}"}}"#
            ));
        }
        for i in 0..replies {
            let c = format!("{v}-{i}");
            line(format!(
                r#"{{"at":"2026-01-06T09:00:00Z","contact":"{c}","cadence":"AB","kind":"event","step":1,"event":"replied"}}"#
            ));
        }
        // A machine's opens never count.
        for i in 0..n / 2 {
            let c = format!("{v}-{i}");
            line(format!(
                r#"{{"at":"2026-01-06T09:00:00Z","contact":"{c}","cadence":"AB","kind":"event","step":1,"event":"opened","machine":true}}"#
            ));
        }
    }
    // Sorted by time, as a trace is.
    let mut lines: Vec<&str> = out.lines().collect();
    lines.sort_by_key(|l| &l[7..27]);
    lines.join("\n") + "\n"
}

fn report(trace: &str, format: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("trace.jsonl");
    std::fs::write(&t, trace).unwrap();
    let c = dir.path().join("ab.cadence");
    std::fs::write(&c, AB).unwrap();
    let (out, _) = cadence(&[
        "report",
        &t.display().to_string(),
        &c.display().to_string(),
        "--format",
        format,
    ])
    .status(0);
    out
}

/// The standard normal density integrated with Simpson's rule from 0 to `x`, plus one half:
/// the CDF by a method independent of the report's.
fn cdf_by_simpson(x: f64) -> f64 {
    let steps = 20_000;
    let h = x / steps as f64;
    let f = |t: f64| (-t * t / 2.0).exp() / (2.0 * std::f64::consts::PI).sqrt();
    let mut sum = f(0.0) + f(x);
    for i in 1..steps {
        let w = if i % 2 == 1 { 4.0 } else { 2.0 };
        sum += w * f(i as f64 * h);
    }
    0.5 + sum * h / 3.0
}

#[test]
fn the_report_finds_a_known_difference_and_agrees_with_an_independent_computation() {
    let (n, ra, rb) = (1000usize, 23usize, 41usize);
    let text = report(&ab_trace(n, ra, rb), "text");
    let json: serde_json::Value =
        serde_json::from_str(&report(&ab_trace(n, ra, rb), "json")).unwrap();
    let e = &json["cadences"][0]["experiments"][0];
    assert_eq!(e["step"], 1);
    assert_eq!(e["variants"][0]["name"], "intro_a");
    assert_eq!(e["variants"][0]["weight"], 30.0);
    assert_eq!(e["variants"][1]["sent"], 1000);
    assert_eq!(e["variants"][1]["counts"]["replied"], 41);
    // Replies count as opens; the machines' opens do not.
    assert_eq!(e["variants"][1]["counts"]["opened"], 41);
    let replied = e["comparisons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["metric"] == "replied")
        .unwrap();
    // Independently: chi-square of the 2x2 table (z² = χ²), and the p-value by integrating
    // the normal density.
    let (a, b, n) = (ra as f64, rb as f64, n as f64);
    let table = [[a, n - a], [b, n - b]];
    let total = 2.0 * n;
    let cols = [a + b, total - a - b];
    let mut chi2 = 0.0;
    for row in table {
        for (j, obs) in row.iter().enumerate() {
            let exp = n * cols[j] / total;
            chi2 += (obs - exp).powi(2) / exp;
        }
    }
    let z = chi2.sqrt();
    let p = 2.0 * (1.0 - cdf_by_simpson(z));
    assert!(
        (replied["p"].as_f64().unwrap() - p).abs() < 1e-6,
        "{replied} vs {p}"
    );
    assert!((p - 0.0222024).abs() < 1e-6, "{p}");
    let diff = (b - a) / n;
    assert!((replied["diff"].as_f64().unwrap() - diff).abs() < 1e-12);
    let se = ((a / n) * (1.0 - a / n) / n + (b / n) * (1.0 - b / n) / n).sqrt();
    assert!((replied["low"].as_f64().unwrap() - (diff - 1.959964 * se)).abs() < 1e-6);
    assert!((replied["high"].as_f64().unwrap() - (diff + 1.959964 * se)).abs() < 1e-6);
    assert_eq!(
        e["verdict"][0],
        "intro_b has more replies than intro_a (4.1% vs 2.3%, p = 0.02)"
    );
    insta::assert_snapshot!("ab_report_known_difference", text);
}

#[test]
fn the_report_says_how_many_more_sends_a_test_without_a_difference_needs() {
    let (n, ra, rb) = (500usize, 15usize, 18usize);
    let text = report(&ab_trace(n, ra, rb), "text");
    // Independently: n = (z_a sqrt(2 p q) + z_b sqrt(p1 q1 + p2 q2))² / (p1 - p2)², with the
    // textbook quantiles.
    let (p1, p2) = (ra as f64 / n as f64, rb as f64 / n as f64);
    let pbar = (p1 + p2) / 2.0;
    let (za, zb) = (1.959964, 0.841621);
    let need = ((za * (2.0 * pbar * (1.0 - pbar)).sqrt()
        + zb * (p1 * (1.0 - p1) + p2 * (1.0 - p2)).sqrt())
    .powi(2)
        / (p1 - p2).powi(2))
    .ceil() as usize;
    let more = cadence::report::variants::thousands((need - n) as u64);
    assert!(
        text.contains(&format!(
            "no difference in replies between intro_b and intro_a yet (3.6% vs 3.0%, p = 0.60); about {more} more sends per variant needed"
        )),
        "{text}\n(expected {more} more)"
    );
    insta::assert_snapshot!("ab_report_no_difference", text);
}

#[test]
fn the_html_report_shows_the_test() {
    let html = report(&ab_trace(200, 4, 20), "html");
    assert!(html.contains("<h3>A/B test, step 1</h3>"), "{html}");
    assert!(html.contains("intro_b has more replies than intro_a"));
}

// ---- lint ------------------------------------------------------------------------------

#[test]
fn the_lint_rule_shows_its_arithmetic_and_follows_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let lint = |extra: &str| {
        let f = dir.path().join("l.cadence");
        std::fs::write(
            &f,
            AB.replace("exit on bounced", &format!("exit on bounced\n{extra}")),
        )
        .unwrap();
        let (out, _) =
            cadence(&["lint", "--format", "json", &f.display().to_string()]).status_any();
        out
    };
    // No limit: the volume is unknown, nothing to say.
    assert!(!lint("").contains("L214"));
    // 100 a day every day: 3,000 a month, 30% of it is 900 < 2,213.
    let out = lint("limit 100 emails per day");
    assert!(out.contains("L214"), "{out}");
    // 300 a day: 9,000, 30% is 2,700.
    assert!(!lint("limit 300 emails per day").contains("L214"));
}

trait StatusAny {
    fn status_any(self) -> (String, String);
}

impl StatusAny for common::bin::Run {
    fn status_any(self) -> (String, String) {
        let out = self.output();
        (
            String::from_utf8_lossy(&out.stdout).into(),
            String::from_utf8_lossy(&out.stderr).into(),
        )
    }
}

#[test]
fn variants_round_trip_through_fmt_and_graph() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("ab.cadence");
    std::fs::write(
        &f,
        AB.replace(
            "variants(intro_a 30%, intro_b 70%)",
            "variants( intro_a 30% ,intro_b 70%, )",
        ),
    )
    .unwrap();
    let path = f.display().to_string();
    cadence(&["fmt", &path]).status(0);
    let text = std::fs::read_to_string(&f).unwrap();
    assert!(
        text.contains("step 1: email variants(intro_a 30%, intro_b 70%)"),
        "{text}"
    );
    cadence(&["fmt", "--check", &path]).status(0);
    let (graph, _) = cadence(&["graph", &path]).status(0);
    assert!(graph.contains("intro_a 30% / intro_b 70%"), "{graph}");
}

#[test]
fn more_than_twenty_six_variants_are_refused() {
    let mut text = String::new();
    let mut list = Vec::new();
    for i in 0..27 {
        text.push_str(&format!(
            "template t{i} {{ subject \"S{i}\"; body \"B {{{{unsubscribe_link}}}}\" }}\n"
        ));
        list.push(format!("t{i} {}%", if i < 19 { "3.7" } else { "3.71" }));
    }
    text.push_str(&format!("step 1: email variants({})\n", list.join(", ")));
    let messages: Vec<String> = common::diagnostics(&text)
        .iter()
        .map(|d| format!("{} {}", d.code, d.message))
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("E130") && m.contains("at most 26")),
        "{messages:?}"
    );
}
