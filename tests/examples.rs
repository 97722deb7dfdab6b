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
