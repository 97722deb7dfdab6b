//! The stores: one contract, passed by the in-memory and the SQLite implementation alike, and
//! an engine that continues from a persisted snapshot exactly as if it had never stopped.

mod common;

use std::collections::BTreeMap;

use cadence::check::{check, Value};
use cadence::engine::{Catalog, Engine, Record};
use cadence::sim::{self, read_contacts, read_events};
use cadence::store::{
    ContactRecord, ContactStore, EnrolmentStore, MemoryEnrolments, MemoryStore, SqliteEnrolments,
    SqliteStore,
};
use cadence::syntax::Sources;

fn record(id: &str, fields: &[(&str, Value)]) -> ContactRecord {
    ContactRecord {
        id: id.into(),
        fields: fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect::<BTreeMap<_, _>>(),
    }
}

fn contact_store_contract(store: &mut dyn ContactStore) {
    assert!(store.is_empty().unwrap());
    let ann = record(
        "c1",
        &[
            ("first_name", Value::Text("Ann".into())),
            ("seats", Value::Number(3.0)),
        ],
    );
    let bo = record("c2", &[("vip", Value::Bool(true))]);
    store.upsert(ann.clone()).unwrap();
    store.upsert(bo.clone()).unwrap();
    assert_eq!(store.ids().unwrap(), ["c1", "c2"], "insertion order");
    assert_eq!(store.len().unwrap(), 2);
    assert_eq!(store.get("c1").unwrap(), Some(ann.clone()));
    assert_eq!(store.get("nobody").unwrap(), None);

    store
        .set_field("c1", "status", Some(&Value::Text("customer".into())))
        .unwrap();
    store.set_field("c1", "seats", None).unwrap();
    let got = store.get("c1").unwrap().unwrap();
    assert_eq!(
        got.fields.get("status"),
        Some(&Value::Text("customer".into()))
    );
    assert_eq!(got.fields.get("seats"), None);
    assert!(
        store.set_field("nobody", "status", None).is_err(),
        "unknown contact is an error"
    );

    // Replacing keeps the original position.
    store
        .upsert(record("c1", &[("first_name", Value::Text("Anna".into()))]))
        .unwrap();
    assert_eq!(store.ids().unwrap(), ["c1", "c2"]);
    assert_eq!(store.get("c1").unwrap().unwrap().fields.len(), 1);
    let date = cadence::time::parse_date("2026-01-05T09:00:00Z").unwrap();
    store
        .set_field("c2", "appointment_date", Some(&Value::Date(date)))
        .unwrap();
    assert_eq!(
        store.get("c2").unwrap().unwrap().fields["appointment_date"],
        Value::Date(date)
    );
}

#[test]
fn memory_store_passes_the_contract() {
    contact_store_contract(&mut MemoryStore::new());
}

#[test]
fn sqlite_store_passes_the_contract() {
    contact_store_contract(&mut SqliteStore::in_memory().unwrap());
}

#[test]
fn sqlite_store_persists_on_disk() {
    let dir = std::env::temp_dir().join(format!("cadence-store-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("contacts.db");
    let _ = std::fs::remove_file(&path);
    {
        let mut s = SqliteStore::open(&path).unwrap();
        s.upsert(record(
            "c1",
            &[("email", Value::Text("a@example.test".into()))],
        ))
        .unwrap();
    }
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(s.ids().unwrap(), ["c1"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

const CADENCE: &str = r#"
exit on replied
template welcome { subject "Hi"; body "Hi {{unsubscribe_link}}" }
step 1: email welcome
  on opened -> step 2
  on no_open 2d -> step 3
step 2: call "Walkthrough" after 1d
  on answered -> done
  on overdue 2d -> step 3
step 3: email welcome after 1bd
"#;

const CONTACTS: &str = "id,email\nc1,a@example.test\nc2,b@example.test\nc3,c@example.test\n";
const EVENTS: &str = "at,contact,event\n2026-01-05T09:00:00Z,c1,enroll\n2026-01-05T09:00:00Z,c2,enroll\n2026-01-05T09:00:00Z,c3,enroll\n2026-01-05T10:00:00Z,c1,opened\n2026-01-06T10:00:00Z,c2,replied\n2026-01-07T10:00:00Z,c1,answered\n";

fn records_of(engine: &mut Engine) -> Vec<Record> {
    engine.take_records()
}

fn enrolment_store_roundtrip(store: &mut dyn EnrolmentStore) {
    let mut sources = Sources::new();
    let id = sources.add("t.cadence", CADENCE);
    let program = check(&mut sources, &[id]).program.unwrap();
    let catalog = Catalog::new(&program);
    let mut contacts = MemoryStore::new();
    for r in read_contacts(CONTACTS.as_bytes(), &catalog)
        .unwrap()
        .records
    {
        contacts.upsert(r).unwrap();
    }
    let base = sim::load_engine(&program, &contacts).unwrap();
    let lookup = |id: &str| base.contact_id(id);
    let (rows, bad) = read_events(EVENTS.as_bytes(), &program, &catalog, &lookup).unwrap();
    assert!(bad.is_empty());

    // Uninterrupted run.
    let mut whole = sim::load_engine(&program, &contacts).unwrap();
    whole.start(common::instant("2026-01-05T09:00:00Z"));
    for r in &rows {
        whole.apply(r.at, &r.input);
    }
    whole.run_to_end();
    let expected = records_of(&mut whole);

    // Stop after the third input, persist, restore, continue.
    let mut first = sim::load_engine(&program, &contacts).unwrap();
    first.start(common::instant("2026-01-05T09:00:00Z"));
    for r in &rows[..4] {
        first.apply(r.at, &r.input);
    }
    let mut got = records_of(&mut first);
    store.save(&first.snapshot()).unwrap();
    drop(first);
    let snapshot = store.load().unwrap().expect("a saved snapshot");
    let mut second = Engine::restore(&program, snapshot);
    for r in &rows[4..] {
        second.apply(r.at, &r.input);
    }
    second.run_to_end();
    got.extend(records_of(&mut second));
    assert_eq!(got, expected);
    assert!(expected.len() > 10);
}

#[test]
fn memory_enrolments_continue_a_run_exactly() {
    let mut s = MemoryEnrolments::default();
    assert!(s.load().unwrap().is_none());
    enrolment_store_roundtrip(&mut s);
}

#[test]
fn sqlite_enrolments_continue_a_run_exactly() {
    let mut s = SqliteEnrolments::in_memory().unwrap();
    assert!(s.load().unwrap().is_none());
    enrolment_store_roundtrip(&mut s);
}
