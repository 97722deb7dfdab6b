//! Golden tests: the rendered diagnostics of every fixture in `tests/fixtures/check/`, as a
//! person reads them (fixed width, no colour) and as JSON.

use std::path::Path;

use cadence::check::check;
use cadence::diagnostic::{render_human, render_json, HumanStyle, CODES};
use cadence::syntax::Sources;

fn fixtures() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/check");
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("fixtures folder")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "cadence"))
        .map(|p| {
            let stem = p.file_stem().unwrap().to_string_lossy().to_string();
            (stem, std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    out.sort();
    out
}

fn run(name: &str, text: &str) -> (Vec<&'static str>, String, String) {
    let mut sources = Sources::new();
    let id = sources.add(format!("tests/fixtures/check/{name}.cadence"), text);
    let checked = check(&mut sources, &[id]);
    let codes = checked.diagnostics.iter().map(|d| d.code).collect();
    let human: String = checked
        .diagnostics
        .iter()
        .map(|d| render_human(d, &sources, HumanStyle::plain()))
        .collect::<Vec<_>>()
        .join("\n");
    (codes, human, render_json(&checked.diagnostics, &sources))
}

#[test]
fn rendered_diagnostics_of_every_fixture() {
    for (name, text) in fixtures() {
        let (_, human, json) = run(&name, &text);
        insta::assert_snapshot!(format!("{name}.human"), human);
        insta::assert_snapshot!(format!("{name}.json"), json);
    }
}

#[test]
fn each_code_fixture_reports_only_its_code() {
    for (name, text) in fixtures() {
        let Some(code) = name.split('_').next().filter(|c| c.len() == 4) else {
            continue;
        };
        let (codes, ..) = run(&name, &text);
        assert!(!codes.is_empty(), "{name}: no diagnostic");
        assert!(
            codes.iter().all(|c| *c == code),
            "{name}: expected only {code}, got {codes:?}"
        );
    }
}

#[test]
fn every_code_has_a_fixture() {
    let mut names: Vec<String> = fixtures().into_iter().map(|(n, _)| n).collect();
    // Codes of `cadence test` have their fixtures in tests/fixtures/test.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/test");
    names.extend(
        std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().to_string()),
    );
    for info in CODES {
        assert!(
            names.iter().any(|n| n.starts_with(info.code)),
            "no fixture for {}",
            info.code
        );
    }
}

#[test]
fn a_file_with_ten_mistakes_gets_ten_diagnostics() {
    let (_, text) = fixtures()
        .into_iter()
        .find(|(n, _)| n == "ten_mistakes")
        .unwrap();
    let (codes, ..) = run("ten_mistakes", &text);
    assert_eq!(codes.len(), 10, "{codes:?}");
    let mut distinct = codes.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 10, "ten different codes: {codes:?}");
}

#[test]
fn json_has_the_contract_keys_with_one_based_positions() {
    let (_, _, json) = run(
        "E102_unknown_template",
        &fixtures()
            .into_iter()
            .find(|(n, _)| n == "E102_unknown_template")
            .unwrap()
            .1,
    );
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let d = &v[0];
    for key in ["code", "severity", "file", "line", "column", "message"] {
        assert!(d.get(key).is_some(), "missing {key}");
    }
    assert_eq!(d["code"], "E102");
    assert_eq!(d["severity"], "error");
    assert_eq!(d["line"], 8);
    assert_eq!(d["column"], 15);
}
