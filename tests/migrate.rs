//! Versions and migrations: `cadence deploy` (and `cadence run`, which deploys what it is given)
//! moves the enrolments of older versions into a new version as its `migrate` block says, keeps
//! the others at their step, refuses to strand contacts, and never sends an email twice.

mod common;

use std::collections::HashMap;

use common::bin::cadence;

const V1: &str = r#"cadence "Trial"
exit on replied
template welcome { subject "Welcome"; body "Hi. {{unsubscribe_link}}" }
template tips { subject "Tips"; body "Tips. {{unsubscribe_link}}" }
template last { subject "Last"; body "Bye. {{unsubscribe_link}}" }
step 1: email welcome
  on opened -> step 2
  on no_open 2d -> step 3
  on bounced -> exit "bad address"
step 2: call "Walkthrough" owner "csm"
  on answered -> done
  on overdue 2d -> step 3
step 3: email tips after 1d
  on bounced -> exit "bad address"
  on no_open 3d -> step 4
step 4: email last after 2d
  on bounced -> exit "bad address"
  on no_open 2d -> done
"#;

/// Step 2 (the call) is gone: its contacts go to the tips email; step 4 is retired; steps 1
/// and 3 are kept (step 3 now waits two days).
const V2: &str = r#"cadence "Trial"
exit on replied
template welcome { subject "Welcome"; body "Hi. {{unsubscribe_link}}" }
template tips { subject "Tips"; body "Tips. {{unsubscribe_link}}" }
template last { subject "Last"; body "Bye. {{unsubscribe_link}}" }
step 1: email welcome
  on opened -> step 3
  on no_open 2d -> step 3
  on bounced -> exit "bad address"
step 3: email tips after 2d
  on bounced -> exit "bad address"
  on no_open 3d -> done

migrate {
  step 2 -> step 3
  step 4 -> exit "retired"
}
"#;

struct Case {
    dir: tempfile::TempDir,
}

impl Case {
    fn path(&self, f: &str) -> String {
        self.dir.path().join(f).display().to_string()
    }

    /// 1,000 contacts enrolled every 15 minutes from Monday 5 January 2026; every third opens
    /// its welcome email an hour after it is sent. Run to Wednesday 14 January: contacts are at
    /// every step.
    fn new() -> Case {
        let dir = tempfile::tempdir().unwrap();
        let case = Case { dir };
        std::fs::write(case.path("v1.cadence"), V1).unwrap();
        std::fs::write(case.path("v2.cadence"), V2).unwrap();
        let mut contacts = String::from("id,email\n");
        let mut events = String::from("at,contact,event,step\n");
        let t0 = 1_767_600_000i64; // 2026-01-05T08:00:00Z
        for i in 0..1000 {
            contacts.push_str(&format!("c{i},c{i}@example.test\n"));
            let at = t0 + i * 900;
            events.push_str(&format!("{},c{i},enroll,\n", iso(at)));
            if i % 3 == 0 {
                events.push_str(&format!("{},c{i},opened,1\n", iso(at + 3600)));
            }
        }
        std::fs::write(case.path("contacts.csv"), contacts).unwrap();
        std::fs::write(case.path("events.csv"), events).unwrap();
        cadence(&[
            "run",
            &case.path("v1.cadence"),
            "--db",
            &case.path("live.db"),
            "--contacts",
            &case.path("contacts.csv"),
            "--events",
            &case.path("events.csv"),
            "--clock",
            "virtual",
            "--until",
            "2026-01-14T00:00:00Z",
            "--public-url",
            "https://go.acme.test",
        ])
        .status(0);
        case
    }

    /// Live enrolments per step of the old version, from `cadence diff --db`.
    fn live(&self) -> HashMap<u64, u64> {
        let (out, _) = cadence(&[
            "diff",
            &self.path("v1.cadence"),
            &self.path("v1.cadence"),
            "--db",
            &self.path("live.db"),
            "--format",
            "json",
        ])
        .status(0);
        assert_eq!(out, "[]\n", "no change: nothing to list");
        let lp = self.trace();
        // Where each contact is: its last step entered and not left.
        let mut at: HashMap<String, Option<u64>> = HashMap::new();
        for r in &lp {
            let c = r["contact"].as_str().unwrap().to_string();
            match r["kind"].as_str().unwrap() {
                "executed" | "skipped" => {
                    at.insert(c, r["step"].as_u64());
                }
                "transition" => {
                    at.insert(c, r["to"].as_u64());
                }
                "migrated" => {
                    at.insert(c, r["to"].as_u64());
                }
                "exited" | "completed" | "goal" => {
                    at.insert(c, None);
                }
                _ => {}
            }
        }
        let mut n = HashMap::new();
        for s in at.values().flatten() {
            *n.entry(*s).or_default() += 1;
        }
        n
    }

    fn trace(&self) -> Vec<serde_json::Value> {
        let (out, _) =
            cadence(&["trace", "--db", &self.path("live.db"), "--format", "jsonl"]).status(0);
        out.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

fn iso(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

#[test]
fn a_deploy_moves_the_contacts_in_flight_as_the_migrate_block_says_and_sends_nothing_twice() {
    let case = Case::new();
    let before = case.live();
    for s in 1..=4 {
        assert!(
            before.get(&s).copied().unwrap_or(0) > 0,
            "nobody at step {s}: {before:?}"
        );
    }
    let in_flight: u64 = before.values().sum();
    let (_, err) = cadence(&[
        "deploy",
        "--db",
        &case.path("live.db"),
        &case.path("v2.cadence"),
    ])
    .status(0);
    assert!(
        err.contains(&format!("{in_flight} contacts moved into the new version")),
        "{err}"
    );
    let trace = case.trace();
    let migrated: Vec<&serde_json::Value> =
        trace.iter().filter(|r| r["kind"] == "migrated").collect();
    assert_eq!(
        migrated.len() as u64,
        in_flight,
        "every enrolment in flight moved once"
    );
    let mut moves: HashMap<(u64, String), u64> = HashMap::new();
    for r in &migrated {
        *moves
            .entry((r["from"].as_u64().unwrap(), r["to"].to_string()))
            .or_default() += 1;
    }
    assert_eq!(
        moves.get(&(1, "1".into())).copied(),
        before.get(&1).copied(),
        "{moves:?}"
    );
    assert_eq!(
        moves.get(&(2, "3".into())).copied(),
        before.get(&2).copied(),
        "{moves:?}"
    );
    assert_eq!(
        moves.get(&(3, "3".into())).copied(),
        before.get(&3).copied(),
        "{moves:?}"
    );
    assert_eq!(
        moves.get(&(4, "\"exit\"".into())).copied(),
        before.get(&4).copied(),
        "{moves:?}"
    );
    let retired = trace
        .iter()
        .filter(|r| r["kind"] == "exited" && r["reason"] == "retired")
        .count() as u64;
    assert_eq!(Some(retired), before.get(&4).copied());
    // Nobody is lost: after the deploy, the contacts of steps 2 and 3 are at step 3.
    let after = case.live();
    assert_eq!(after.get(&1), before.get(&1));
    assert_eq!(
        after.get(&3).copied().unwrap_or(0),
        before.get(&2).copied().unwrap_or(0) + before.get(&3).copied().unwrap_or(0)
    );
    assert_eq!(after.get(&2), None);
    assert_eq!(after.get(&4), None);
    // Deploying again moves nobody.
    let (_, err) = cadence(&[
        "deploy",
        "--db",
        &case.path("live.db"),
        &case.path("v2.cadence"),
    ])
    .status(0);
    assert!(err.contains("0 contacts moved"), "{err}");
    // Run the new version to the end: no contact gets an email of a step twice.
    cadence(&[
        "run",
        &case.path("v2.cadence"),
        "--db",
        &case.path("live.db"),
        "--clock",
        "virtual",
        "--public-url",
        "https://go.acme.test",
    ])
    .status(0);
    let mut sent: HashMap<(String, String), u32> = HashMap::new();
    for r in case
        .trace()
        .iter()
        .filter(|r| r["kind"] == "executed" && r["action"] == "email")
    {
        *sent
            .entry((r["contact"].to_string(), r["name"].to_string()))
            .or_default() += 1;
    }
    let twice: Vec<_> = sent.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "emailed twice: {twice:?}");
    let (outbox, _) = cadence(&[
        "outbox",
        "--db",
        &case.path("live.db"),
        "--format",
        "json",
        "--limit",
        "100000",
    ])
    .status(0);
    let rows: serde_json::Value = serde_json::from_str(&outbox).unwrap();
    let ids: std::collections::HashSet<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["message_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids.len(),
        rows.as_array().unwrap().len(),
        "one Message-ID per email"
    );
    println!(
        "in flight {in_flight} (by step {before:?}); migrated {}; retired {retired}; emails {}",
        migrated.len(),
        rows.as_array().unwrap().len()
    );
}

#[test]
fn a_deploy_that_would_strand_contacts_is_refused_naming_the_step() {
    let case = Case::new();
    // Step 2 is gone and the block does not map it.
    let v3 = V2.replace("  step 2 -> step 3\n", "");
    std::fs::write(case.path("v3.cadence"), v3).unwrap();
    let before = case.trace().len();
    let (_, err) = cadence(&[
        "deploy",
        "--db",
        &case.path("live.db"),
        &case.path("v3.cadence"),
    ])
    .status(2);
    assert!(err.contains("deploying \"Trial\" would strand"), "{err}");
    assert!(err.contains("at step 2 of version"), "{err}");
    assert!(
        err.contains("v1.cadence:10: `step 2: call \"Walkthrough\" owner \"csm\"`"),
        "{err}"
    );
    assert!(err.contains("add `step 2 -> step N`"), "{err}");
    assert_eq!(case.trace().len(), before, "nothing written");
    // `cadence diff` says the same before anyone deploys, and fails (CI fails the change).
    let (gh, err) = cadence(&[
        "diff",
        &case.path("v1.cadence"),
        &case.path("v3.cadence"),
        "--db",
        &case.path("live.db"),
        "--format",
        "github",
    ])
    .status(1);
    assert!(
        gh.lines()
            .any(|l| l.starts_with("::error ") && l.contains("step 2 removed")),
        "{gh}"
    );
    assert!(
        err.contains("deploying this would strand the contacts at 1 step"),
        "{err}"
    );
    // The change with its mapping passes.
    cadence(&[
        "diff",
        &case.path("v1.cadence"),
        &case.path("v2.cadence"),
        "--db",
        &case.path("live.db"),
    ])
    .status(0);
}

#[test]
fn a_migrate_block_pinned_to_another_version_moves_nobody() {
    let case = Case::new();
    let v2 = V2.replace("migrate {", "migrate from \"ffffffff\" {");
    std::fs::write(case.path("v2.cadence"), v2).unwrap();
    let (_, err) = cadence(&[
        "deploy",
        "--db",
        &case.path("live.db"),
        &case.path("v2.cadence"),
    ])
    .status(0);
    assert!(err.contains("0 contacts moved"), "{err}");
    assert!(case.trace().iter().all(|r| r["kind"] != "migrated"));
    // Pinned to the version the contacts are on (its hash from `cadence versions`): they move.
    let (out, _) = cadence(&[
        "versions",
        "--db",
        &case.path("live.db"),
        "--format",
        "json",
    ])
    .status(0);
    let versions: serde_json::Value = serde_json::from_str(&out).unwrap();
    let v1 = versions
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["file"].as_str().unwrap().ends_with("v1.cadence"))
        .unwrap();
    assert!(v1["live"].as_u64().unwrap() > 0);
    let prefix = &v1["hash"].as_str().unwrap()[..8];
    let v2 = V2.replace("migrate {", &format!("migrate from \"{prefix}\" {{"));
    std::fs::write(case.path("v2.cadence"), v2).unwrap();
    let (_, err) = cadence(&[
        "deploy",
        "--db",
        &case.path("live.db"),
        &case.path("v2.cadence"),
    ])
    .status(0);
    assert!(err.contains("833 contacts moved"), "{err}");
    let (text, _) = cadence(&["versions", "--db", &case.path("live.db")]).status(0);
    assert!(text.starts_with("id   cadence"), "{text}");
}

#[test]
fn the_simulator_deploys_as_the_runner_does() {
    let case = Case::new();
    // The runner: v1 until Wednesday 14 January (Case::new), deploy v2, run it to the end.
    cadence(&[
        "deploy",
        "--db",
        &case.path("live.db"),
        &case.path("v2.cadence"),
    ])
    .status(0);
    cadence(&[
        "run",
        &case.path("v2.cadence"),
        "--db",
        &case.path("live.db"),
        "--clock",
        "virtual",
        "--public-url",
        "https://go.acme.test",
    ])
    .status(0);
    let (run, _) =
        cadence(&["trace", "--db", &case.path("live.db"), "--format", "jsonl"]).status(0);
    // The simulator: the same inputs, with the deploy at the same instant.
    let (sim, err) = cadence(&[
        "simulate",
        &case.path("v1.cadence"),
        "--contacts",
        &case.path("contacts.csv"),
        "--events",
        &case.path("events.csv"),
        "--deploy",
        &format!("2026-01-14T00:00:00Z={}", case.path("v2.cadence")),
        "--format",
        "jsonl",
    ])
    .status(0);
    assert!(
        err.contains("833 contacts moved into new versions"),
        "{err}"
    );
    let sorted = |t: &str| {
        let mut v: Vec<String> = t.lines().map(str::to_string).collect();
        v.sort();
        v
    };
    let (a, b) = (sorted(&run), sorted(&sim));
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x, y);
    }
    assert!(
        a.iter()
            .filter(|l| l.contains("\"kind\":\"migrated\""))
            .count()
            == 833
    );
}

/// A small case: `b` opened the welcome email and waits at the call (step 2), which v2
/// removes (mapped to the tips email).
fn small() -> Case {
    let dir = tempfile::tempdir().unwrap();
    let case = Case { dir };
    std::fs::write(case.path("v1.cadence"), V1).unwrap();
    std::fs::write(case.path("v2.cadence"), V2).unwrap();
    std::fs::write(
        case.path("contacts.csv"),
        "id,email\na,a@example.test\nb,b@example.test\n",
    )
    .unwrap();
    std::fs::write(
        case.path("events.csv"),
        "at,contact,event,step\n2026-01-05T09:00:00Z,a,enroll,\n2026-01-05T09:00:00Z,b,enroll,\n2026-01-05T09:30:00Z,b,opened,1\n",
    )
    .unwrap();
    cadence(&[
        "run",
        &case.path("v1.cadence"),
        "--db",
        &case.path("live.db"),
        "--contacts",
        &case.path("contacts.csv"),
        "--events",
        &case.path("events.csv"),
        "--clock",
        "virtual",
        "--until",
        "2026-01-06T00:00:00Z",
        "--public-url",
        "https://go.acme.test",
    ])
    .status(0);
    case
}

#[test]
fn a_message_of_a_removed_step_takes_no_event_and_its_call_is_closed() {
    let case = small();
    let (open, _) = cadence(&["tasks", "--db", &case.path("live.db"), "--due", "open"]).status(0);
    assert!(open.contains("Walkthrough"), "b's call is open: {open}");
    cadence(&[
        "deploy",
        "--db",
        &case.path("live.db"),
        &case.path("v2.cadence"),
    ])
    .status(0);
    let (open, _) = cadence(&["tasks", "--db", &case.path("live.db"), "--due", "open"]).status(0);
    assert!(
        !open.contains("Walkthrough"),
        "the call of the removed step is closed: {open}"
    );
    // An open without a step goes to b's welcome email (step 1), not to the tips step the
    // contact moved to, whose email has not gone yet.
    std::fs::write(
        case.path("later.csv"),
        "at,contact,event\n2026-01-06T01:00:00Z,b,opened\n",
    )
    .unwrap();
    cadence(&[
        "run",
        &case.path("v2.cadence"),
        "--db",
        &case.path("live.db"),
        "--events",
        &case.path("later.csv"),
        "--clock",
        "virtual",
        "--until",
        "2026-01-06T03:00:00Z",
        "--public-url",
        "https://go.acme.test",
    ])
    .status(0);
    let opened: Vec<serde_json::Value> = case
        .trace()
        .into_iter()
        .filter(|r| r["contact"] == "b" && r["kind"] == "event")
        .collect();
    assert_eq!(opened.last().unwrap()["step"], 1, "{opened:?}");
}

#[test]
fn the_simulator_deploys_an_unchanged_file_as_no_change_and_knows_what_the_new_version_adds() {
    let case = small();
    // v2 adds a custom event and a rule on it; deployed twice.
    let v2 = V2.replace(
        "exit on replied\n",
        "exit on replied\nevent demo_booked\nexit on demo_booked\n",
    );
    std::fs::write(case.path("v2.cadence"), v2).unwrap();
    std::fs::write(
        case.path("all.csv"),
        "at,contact,event,step\n2026-01-05T09:00:00Z,a,enroll,\n2026-01-05T09:00:00Z,b,enroll,\n2026-01-05T09:30:00Z,b,opened,1\n2026-01-06T02:00:00Z,a,demo_booked,\n",
    )
    .unwrap();
    let (t, err) = cadence(&[
        "simulate",
        &case.path("v1.cadence"),
        "--contacts",
        &case.path("contacts.csv"),
        "--events",
        &case.path("all.csv"),
        "--deploy",
        &format!("2026-01-06T01:00:00Z={}", case.path("v2.cadence")),
        "--deploy",
        &format!("2026-01-06T00:00:00Z={}", case.path("v2.cadence")),
        "--format",
        "jsonl",
    ])
    .status(0);
    assert!(
        err.contains("deployed: 2 contacts moved"),
        "moved once, not twice: {err}"
    );
    assert_eq!(t.matches("\"kind\":\"migrated\"").count(), 2, "{t}");
    assert!(
        t.contains("\"contact\":\"a\",\"cadence\":\"Trial\",\"kind\":\"exited\",\"reason\":\"demo_booked\""),
        "the event v2 adds ends a's enrolment: {t}"
    );
}

#[test]
fn deploying_one_cadence_keeps_the_others_taking_new_enrolments() {
    let case = small();
    std::fs::write(
        case.path("other.cadence"),
        "cadence \"Other\"\ntemplate o { subject \"O\"; body \"O. {{unsubscribe_link}}\" }\nstep 1: email o\n",
    )
    .unwrap();
    let db = case.path("both.db");
    cadence(&[
        "run",
        &case.path("v1.cadence"),
        &case.path("other.cadence"),
        "--db",
        &db,
        "--contacts",
        &case.path("contacts.csv"),
        "--clock",
        "virtual",
        "--start",
        "2026-01-05T09:00:00Z",
        "--until",
        "2026-01-05T10:00:00Z",
        "--public-url",
        "https://go.acme.test",
    ])
    .status(0);
    cadence(&["deploy", "--db", &db, &case.path("v2.cadence")]).status(0);
    let (out, _) = cadence(&["versions", "--db", &db, "--format", "json"]).status(0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let other = v
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["cadence"] == "Other")
        .unwrap();
    assert_eq!(other["deployed"], true, "{out}");
}

#[test]
fn a_moved_contact_meets_the_new_versions_exit_rules_at_the_deploy() {
    let dir = tempfile::tempdir().unwrap();
    let case = Case { dir };
    let plan = "field plan: enum(\"trial\", \"pro\")\n";
    std::fs::write(
        case.path("v1.cadence"),
        V1.replace("exit on replied\n", &format!("{plan}exit on replied\n")),
    )
    .unwrap();
    // v2 ends the enrolments of the contacts on the pro plan.
    std::fs::write(
        case.path("v2.cadence"),
        V2.replace(
            "exit on replied\n",
            &format!("{plan}exit on replied\nexit \"upgraded\" when plan == \"pro\"\n"),
        ),
    )
    .unwrap();
    std::fs::write(
        case.path("contacts.csv"),
        "id,email,plan\na,a@example.test,trial\nb,b@example.test,pro\n",
    )
    .unwrap();
    std::fs::write(
        case.path("events.csv"),
        "at,contact,event\n2026-01-05T09:00:00Z,a,enroll\n2026-01-05T09:00:00Z,b,enroll\n",
    )
    .unwrap();
    cadence(&[
        "run",
        &case.path("v1.cadence"),
        "--db",
        &case.path("live.db"),
        "--contacts",
        &case.path("contacts.csv"),
        "--events",
        &case.path("events.csv"),
        "--clock",
        "virtual",
        "--until",
        "2026-01-06T00:00:00Z",
        "--public-url",
        "https://go.acme.test",
    ])
    .status(0);
    cadence(&[
        "deploy",
        "--db",
        &case.path("live.db"),
        &case.path("v2.cadence"),
    ])
    .status(0);
    let t = case.trace();
    let ends: Vec<(String, String, String)> = t
        .iter()
        .filter(|r| r["kind"] == "exited")
        .map(|r| {
            (
                r["contact"].as_str().unwrap().to_string(),
                r["reason"].as_str().unwrap().to_string(),
                r["at"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        ends,
        [(
            "b".to_string(),
            "upgraded".to_string(),
            "2026-01-06T00:00:00Z".to_string()
        )]
    );
}

/// Polls `ok` for up to 20 seconds.
fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let t0 = std::time::Instant::now();
    while !ok() {
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(20),
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn sighup_reloads_the_files_of_a_wall_clock_run_and_refuses_a_version_that_does_not_check() {
    let dir = tempfile::tempdir().unwrap();
    let p = |f: &str| dir.path().join(f).display().to_string();
    std::fs::write(p("trial.cadence"), V1).unwrap();
    std::fs::write(p("contacts.csv"), "id,email\nc1,c1@example.test\n").unwrap();
    let log = std::fs::File::create(p("run.log")).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_cadence"))
        .args(["run", &p("trial.cadence"), "--db", &p("live.db")])
        .args(["--contacts", &p("contacts.csv"), "--clock", "wall"])
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    let versions = || -> Vec<serde_json::Value> {
        let out = cadence(&["versions", "--db", &p("live.db"), "--format", "json"]).output();
        serde_json::from_slice(&out.stdout).unwrap_or_default()
    };
    let log_text = || std::fs::read_to_string(p("run.log")).unwrap_or_default();
    wait_for("the first start", || {
        log_text().contains("running on the wall clock")
    });
    wait_for("the first version", || versions().len() == 1);

    // A version that does not check is refused; the run goes on.
    std::fs::write(
        p("trial.cadence"),
        "cadence \"Trial\"\nstep 1: email nowhere\n",
    )
    .unwrap();
    unsafe { libc::kill(pid, libc::SIGHUP) };
    wait_for("the refusal", || log_text().contains("reload refused"));
    assert!(child.try_wait().unwrap().is_none(), "still running");
    assert_eq!(versions().len(), 1);

    // A good one is deployed: the run starts again with it.
    std::fs::write(p("trial.cadence"), V2).unwrap();
    unsafe { libc::kill(pid, libc::SIGHUP) };
    wait_for("the second version", || {
        let v = versions();
        v.len() == 2 && v.iter().filter(|v| v["deployed"] == true).count() == 1
    });
    let v = versions();
    let deployed = v.iter().find(|v| v["deployed"] == true).unwrap();
    assert_eq!(deployed["id"], 2, "{v:?}");
    assert!(
        log_text().contains("reloading: starting again"),
        "{}",
        log_text()
    );
    wait_for("the second start", || {
        log_text().matches("running on the wall clock").count() == 2
    });
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}\n{}", log_text());
}

#[test]
fn a_report_and_a_timeline_by_version_tell_the_versions_apart() {
    let dir = tempfile::tempdir().unwrap();
    let p = |f: &str| dir.path().join(f).display().to_string();
    std::fs::write(p("v1.cadence"), V1).unwrap();
    std::fs::write(p("v2.cadence"), V2).unwrap();
    let mut contacts = String::from("id,email\n");
    let mut events = String::from("at,contact,event\n");
    for i in 0..20 {
        contacts.push_str(&format!("c{i},c{i}@example.test\n"));
        events.push_str(&format!("2026-01-05T09:00:00Z,c{i},enroll\n"));
    }
    std::fs::write(p("contacts.csv"), contacts).unwrap();
    std::fs::write(p("events.csv"), events).unwrap();
    let db = p("live.db");
    cadence(&[
        "run",
        &p("v1.cadence"),
        "--db",
        &db,
        "--contacts",
        &p("contacts.csv"),
        "--events",
        &p("events.csv"),
        "--clock",
        "virtual",
        "--until",
        "2026-01-06T00:00:00Z",
    ])
    .status(0);
    cadence(&["deploy", "--db", &db, &p("v2.cadence")]).status(0);
    cadence(&[
        "run",
        &p("v2.cadence"),
        "--db",
        &db,
        "--clock",
        "virtual",
        "--until",
        "2026-02-01T00:00:00Z",
    ])
    .status(0);
    let (json, _) = cadence(&["report", "--db", &db, "--by-version", "--format", "json"]).status(0);
    let r: serde_json::Value = serde_json::from_str(&json).unwrap();
    let by: HashMap<String, &serde_json::Value> = r["cadences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let name = c["cadence"].as_str().unwrap();
            let version = name
                .split(" (version ")
                .nth(1)
                .unwrap()
                .chars()
                .next()
                .unwrap();
            (version.to_string(), c)
        })
        .collect();
    assert_eq!(by["1"]["enrolled"], 20, "{json}");
    assert_eq!(by["1"]["moved_out"], 20, "{json}");
    assert_eq!(by["1"]["active"], 0, "{json}");
    assert_eq!(by["2"]["moved_in"], 20, "{json}");
    assert_eq!(by["2"]["completed"], 20, "{json}");
    // Without --by-version, one funnel: the versions together.
    let (json, _) = cadence(&["report", "--db", &db, "--format", "json"]).status(0);
    let r: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(r["cadences"].as_array().unwrap().len(), 1, "{json}");
    assert_eq!(r["cadences"][0]["enrolled"], 20, "{json}");
    assert_eq!(r["cadences"][0]["completed"], 20, "{json}");
    let (t, _) = cadence(&["timeline", "c3", "--db", &db, "--by-version"]).status(0);
    assert!(t.contains("Trial (version 1, "), "{t}");
    assert!(t.contains("Trial (version 2, "), "{t}");
}
