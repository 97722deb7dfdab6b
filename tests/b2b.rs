//! The B2B outbound cadence (`tests/fixtures/b2b/b2b_outbound.cadence`): an intro email, a
//! LinkedIn task, a call with answered / no_answer / voicemail branches, a follow-up and a
//! breakup email, an exit on reply, a meeting-booked goal, office hours in the prospect's zone
//! and the owner read from the record. It checks with no diagnostics, lints clean with
//! `--deny warnings`, is formatted, and its tests pass and cover every step and branch.

use std::path::Path;
use std::process::Command;

use cadence::check::check;
use cadence::syntax::Sources;

const FILE: &str = "tests/fixtures/b2b/b2b_outbound.cadence";

#[test]
fn b2b_outbound_checks_clean_and_its_tests_pass_with_full_coverage() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(FILE);
    let mut sources = Sources::new();
    let id = sources.add(FILE, std::fs::read_to_string(path).unwrap());
    let checked = check(&mut sources, &[id]);
    let msgs: Vec<String> = checked
        .diagnostics
        .iter()
        .map(|d| format!("{} {}", d.code, d.message))
        .collect();
    assert!(msgs.is_empty(), "{msgs:#?}");
    let program = checked.program.unwrap();
    assert_eq!(program.cadences.len(), 1);
    assert_eq!(program.cadences[0].name, "B2B outbound");
    assert!(!program.tests.is_empty(), "the cadence has no tests");
    let results: Vec<_> = program
        .tests
        .iter()
        .map(|t| cadence::testing::run(&program, t))
        .collect();
    for r in &results {
        assert!(r.passed(), "{}: {:#?}", r.name, r.failures);
    }
    for c in cadence::testing::coverage(&program, &results) {
        assert!(c.missing.is_empty(), "{c}");
        assert_eq!(c.steps.0, c.steps.1, "{c}");
        assert_eq!(c.branches.0, c.branches.1, "{c}");
    }
}

#[test]
fn b2b_outbound_lints_clean_and_is_formatted() {
    for args in [
        &["lint", "--deny", "warnings", FILE][..],
        &["fmt", "--check", FILE],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_cadence"))
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "cadence {}:\n{}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
