//! Every example cadence checks clean, alone and all together.

use std::path::{Path, PathBuf};

use cadence::check::check;
use cadence::syntax::Sources;

fn examples() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "cadence"))
        .collect();
    v.sort();
    v
}

fn check_paths(paths: &[PathBuf]) -> (usize, Vec<String>) {
    let mut sources = Sources::new();
    let ids: Vec<_> = paths
        .iter()
        .map(|p| sources.add(p.display().to_string(), std::fs::read_to_string(p).unwrap()))
        .collect();
    let checked = check(&mut sources, &ids);
    let msgs = checked
        .diagnostics
        .iter()
        .map(|d| format!("{} {}", d.code, d.message))
        .collect();
    (checked.program.map_or(0, |p| p.cadences.len()), msgs)
}

#[test]
fn seven_examples_one_per_scenario() {
    assert_eq!(examples().len(), 7);
}

#[test]
fn every_example_checks_clean_alone() {
    for p in examples() {
        let (cadences, msgs) = check_paths(std::slice::from_ref(&p));
        assert!(msgs.is_empty(), "{}: {msgs:#?}", p.display());
        assert_eq!(cadences, 1);
    }
}

#[test]
fn all_examples_check_clean_together() {
    let paths = examples();
    let (cadences, msgs) = check_paths(&paths);
    assert!(msgs.is_empty(), "{msgs:#?}");
    assert_eq!(cadences, paths.len());
}

#[test]
fn every_email_template_of_the_examples_has_an_unsubscribe_link() {
    for p in examples() {
        let text = std::fs::read_to_string(&p).unwrap();
        let templates = text.matches("template ").count();
        let links = text.matches("{{unsubscribe_link}}").count();
        assert!(
            links >= templates,
            "{}: {templates} templates, {links} links",
            p.display()
        );
    }
}

/// Every example simulates over the sample contacts and its events file without a bad row or a
/// note, and its story takes every `on` line of the cadence.
#[test]
fn every_example_simulates_and_its_events_take_every_branch() {
    use cadence::engine::Catalog;
    use cadence::sim::{self, read_contacts, read_events, TraceFormat, Until};
    use cadence::store::{ContactStore, MemoryStore};

    let contacts = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/contacts.csv"),
    )
    .unwrap();
    for p in examples() {
        let mut sources = Sources::new();
        let id = sources.add(
            p.display().to_string(),
            std::fs::read_to_string(&p).unwrap(),
        );
        let program = check(&mut sources, &[id]).program.unwrap();
        let catalog = Catalog::new(&program);
        let loaded = read_contacts(contacts.as_bytes(), &catalog).unwrap();
        assert!(loaded.bad.is_empty(), "{}: {:?}", p.display(), loaded.bad);
        let mut store = MemoryStore::new();
        for r in loaded.records {
            store.upsert(r).unwrap();
        }
        let mut engine = sim::load_engine(&program, &store).unwrap();
        let events_path = p.with_extension("events.csv");
        let events = std::fs::read_to_string(&events_path)
            .unwrap_or_else(|_| panic!("{} has no events file", p.display()));
        let lookup = |id: &str| engine.contact_id(id);
        let (rows, bad) = read_events(events.as_bytes(), &program, &catalog, &lookup).unwrap();
        assert!(bad.is_empty(), "{}: {bad:?}", events_path.display());
        let start = rows.iter().map(|r| r.at).min().unwrap();
        let mut out = Vec::new();
        let summary = sim::run(
            &mut engine,
            &mut store,
            &rows,
            start,
            Until::Idle,
            TraceFormat::Jsonl,
            &mut out,
            &mut |_| {},
        )
        .unwrap();
        assert!(
            summary.notices.is_empty(),
            "{}: {:?}",
            events_path.display(),
            summary.notices
        );
        assert!(summary.stopped_at_horizon.is_none());

        // Branch coverage: every (step, on) pair appears in a transition record.
        let trace = String::from_utf8(out).unwrap();
        let mut taken = std::collections::BTreeSet::new();
        for line in trace.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            if v["kind"] == "transition" {
                taken.insert((
                    v["from"].as_u64().unwrap() as u32,
                    v["on"].as_str().unwrap().to_string(),
                ));
            }
        }
        let cadence = &program.cadences[0];
        for step in &cadence.steps {
            for h in &step.handlers {
                let on = h.event.name();
                assert!(
                    taken.contains(&(step.number, on.to_string())),
                    "{}: step {} on {on} is never taken by its events",
                    p.display(),
                    step.number
                );
            }
        }
    }
}

/// Every example ships with tests; they pass and cover every step and every branch.
#[test]
fn every_example_has_passing_tests_with_full_coverage() {
    let paths = examples();
    let mut sources = Sources::new();
    let ids: Vec<_> = paths
        .iter()
        .map(|p| sources.add(p.display().to_string(), std::fs::read_to_string(p).unwrap()))
        .collect();
    let program = check(&mut sources, &ids).program.unwrap();
    for (i, c) in program.cadences.iter().enumerate() {
        assert!(
            program.tests.iter().any(|t| t.scope == Some(i)),
            "{} has no tests",
            c.name
        );
    }
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
    }
}
