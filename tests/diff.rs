//! `cadence diff`: a semantic diff of two versions of a cadence (settings, steps part by part,
//! templates), golden-tested in its three formats, blind to layout and comments, and with a
//! database the number of contacts at each step it touches.

mod common;

use common::bin::cadence;

const OLD: &str = "tests/fixtures/diff/old.cadence";
const NEW: &str = "tests/fixtures/diff/new.cadence";

fn diff(args: &[&str]) -> String {
    let mut a = vec!["diff"];
    a.extend_from_slice(args);
    cadence(&a)
        .dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")))
        .status(0)
        .0
}

#[test]
fn each_kind_of_change_in_the_human_form() {
    insta::assert_snapshot!("diff_human", diff(&[OLD, NEW]));
}

#[test]
fn the_json_form_names_each_part_with_its_old_and_new_text() {
    let out = diff(&[OLD, NEW, "--format", "json"]);
    insta::assert_snapshot!("diff_json", out);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let steps = v[0]["steps"].as_array().unwrap();
    let s4 = steps.iter().find(|s| s["step"] == 4).unwrap();
    assert_eq!(s4["change"], "changed");
    assert_eq!(s4["parts"][0]["what"], "action");
    assert_eq!(s4["parts"][0]["old"], "email last");
}

#[test]
fn the_github_form_annotates_each_changed_step_on_its_line() {
    let out = diff(&[OLD, NEW, "--format", "github"]);
    insta::assert_snapshot!("diff_github", out);
    assert!(out
        .lines()
        .all(|l| l.starts_with("::notice file=") || l.starts_with("::warning file=")));
}

#[test]
fn layout_comments_and_the_order_of_options_are_no_change() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(OLD))
        .unwrap();
    // The same cadence, reflowed: comments, aligned arrows, options in another order,
    // `after 24h` for `after 1d`.
    let moved = text
        .replace(
            "step 2: call \"Walkthrough\" after 1d owner \"csm\"",
            "# the CSM calls\nstep 2: call \"Walkthrough\" owner \"csm\" after 24h",
        )
        .replace(
            "  on opened -> step 2",
            "  on opened     -> step 2  # engaged",
        );
    assert_ne!(moved, text);
    let p = dir.path().join("same.cadence");
    std::fs::write(&p, moved).unwrap();
    let out = diff(&[OLD, p.to_str().unwrap()]);
    assert_eq!(out, "no change in behaviour\n");
}

#[test]
fn a_removed_step_where_contacts_wait_says_how_many_are_there() {
    let dir = tempfile::tempdir().unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let old = root.join(OLD);
    std::fs::write(
        dir.path().join("contacts.csv"),
        "id,email,plan\nc1,a@example.test,trial\nc2,b@example.test,trial\nc3,c@example.test,trial\n",
    )
    .unwrap();
    // c1 opens the welcome email and waits at the call (step 2); c2 and c3 wait at step 1.
    std::fs::write(
        dir.path().join("events.csv"),
        "at,contact,event,step\n2026-01-05T10:00:00Z,c1,opened,1\n",
    )
    .unwrap();
    let db = dir.path().join("live.db");
    let p = |f: &str| dir.path().join(f).display().to_string();
    cadence(&[
        "run",
        old.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
        "--contacts",
        &p("contacts.csv"),
        "--events",
        &p("events.csv"),
        "--clock",
        "virtual",
        "--start",
        "2026-01-05T09:00:00Z",
        "--until",
        "2026-01-05T12:00:00Z",
        "--public-url",
        "https://go.acme.test",
    ])
    .status(0);
    // The new version removes step 2.
    let text = std::fs::read_to_string(&old).unwrap();
    let new = text
        .replace("  on opened -> step 2\n", "  on opened -> step 3\n")
        .replace(
            "step 2: call \"Walkthrough\" after 1d owner \"csm\"\n  on answered -> done\n  on voicemail -> step 3\n  on overdue 2d -> step 3\n",
            "",
        );
    std::fs::write(dir.path().join("new.cadence"), new).unwrap();
    let out = diff(&[
        old.to_str().unwrap(),
        &p("new.cadence"),
        "--db",
        db.to_str().unwrap(),
    ]);
    assert!(
        out.contains("step 2 removed: step 2: call \"Walkthrough\" after 1d owner \"csm\" (1 contact is at it now)"),
        "{out}"
    );
    assert!(
        out.contains("step 1 changed (2 contacts are at it now)"),
        "{out}"
    );
    let gh = diff(&[
        old.to_str().unwrap(),
        &p("new.cadence"),
        "--db",
        db.to_str().unwrap(),
        "--format",
        "github",
    ]);
    assert!(gh.contains("::warning file="), "{gh}");
}
