//! Benchmarks: 100,000 contacts and 300,000 events through a branching five-step cadence.
//!
//! - `engine`: the interpreter core on parsed inputs (contacts loaded, inputs applied, timers
//!   run to the end);
//! - `floor`: the same cadence hand-written as a state machine (`floor.rs`), the baseline;
//! - `simulate`: the whole `cadence simulate` path: CSV parsing, the engine, JSON lines out.
//!
//! `cargo bench --bench simulate`; sizes with `CADENCE_BENCH_CONTACTS` / `_EVENTS`.

mod floor;

use std::hint::black_box;

use cadence::check::{check, Program, Value};
use cadence::engine::{Catalog, Engine, EventKey, Fields, Input, Kind};
use cadence::sim::workload::{self, GenEvent, GenKind, START};
use cadence::sim::{self, read_contacts, read_events, TraceFormat, Until};
use cadence::store::{ContactStore, MemoryStore};
use cadence::syntax::Sources;
use criterion::{criterion_group, criterion_main, Criterion};

fn sizes() -> (usize, usize) {
    let get = |k: &str, d: usize| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    (
        get("CADENCE_BENCH_CONTACTS", 100_000),
        get("CADENCE_BENCH_EVENTS", 300_000),
    )
}

fn program() -> Program {
    let mut sources = Sources::new();
    let id = sources.add("bench.cadence", workload::CADENCE);
    check(&mut sources, &[id])
        .program
        .expect("the bench cadence checks")
}

fn inputs(program: &Program, events: &[GenEvent]) -> Vec<(i64, Input)> {
    let plan = Catalog::new(program).lookup("plan").unwrap();
    events
        .iter()
        .map(|e| {
            let ev = |o: &str| Input::Event {
                contact: e.contact,
                event: EventKey::Outcome(cadence::check::Outcome::from_name(o).unwrap()),
                step: None,
                cadence: None,
                machine: false,
                message: None,
                back: None,
            };
            let input = match e.kind {
                GenKind::Opened => ev("opened"),
                GenKind::Answered => ev("answered"),
                GenKind::Clicked => ev("clicked"),
                GenKind::Completed => ev("completed"),
                GenKind::Replied => ev("replied"),
                GenKind::Bounced => ev("bounced"),
                GenKind::Upgraded => Input::Set {
                    contact: e.contact,
                    field: plan,
                    value: Some(Value::Text("pro".into())),
                },
            };
            (e.at, input)
        })
        .collect()
}

/// The engine on parsed inputs; returns the number of trace records.
fn run_engine(program: &Program, n: usize, inputs: &[(i64, Input)]) -> usize {
    let mut engine = Engine::new(program);
    let catalog = engine.catalog().clone();
    let (first, email, plan) = (
        catalog.lookup("first_name").unwrap(),
        catalog.lookup("email").unwrap(),
        catalog.lookup("plan").unwrap(),
    );
    for i in 0..n {
        let mut f = Fields::default();
        f.set(first, Some(Value::Text(format!("Name{i}"))));
        f.set(email, Some(Value::Text(format!("c{i}@example.test"))));
        f.set(plan, Some(Value::Text("trial".into())));
        engine.add_contact(&format!("c{i}"), f).unwrap();
    }
    engine.start(START);
    let mut count = engine.take_records().len();
    for (i, (at, input)) in inputs.iter().enumerate() {
        if let Some((_, next)) = inputs.get(i + 1) {
            engine.prefetch_contact(next.contact());
        }
        engine.apply(*at, input);
        if engine.records().len() > 65_536 {
            count += engine.take_records().len();
        }
    }
    engine.run_to_end();
    count += engine
        .take_records()
        .iter()
        .filter(|r| !matches!(r.kind, Kind::Deferred { .. }))
        .count();
    count
}

fn run_simulate(program: &Program, contacts: &str, events: &str) -> usize {
    let catalog = Catalog::new(program);
    let loaded = read_contacts(contacts.as_bytes(), &catalog).unwrap();
    let mut store = MemoryStore::new();
    for r in loaded.records {
        store.upsert(r).unwrap();
    }
    let mut engine = sim::load_engine(program, &store).unwrap();
    let lookup = |id: &str| engine.contact_id(id);
    let (rows, _) = read_events(events.as_bytes(), program, &catalog, &lookup).unwrap();
    let mut out = std::io::sink();
    let s = sim::run(
        &mut engine,
        &mut store,
        &rows,
        START,
        Until::Idle,
        TraceFormat::Jsonl,
        &mut out,
        &mut |_| {},
    )
    .unwrap();
    s.records
}

fn bench(c: &mut Criterion) {
    let (n, m) = sizes();
    let program = program();
    let events = workload::events(n, m, 42);
    let parsed = inputs(&program, &events);
    let contacts_csv = workload::contacts_csv(n);
    let events_csv = workload::events_csv(&events);

    // The floor and the engine must agree before their times are compared.
    let engine_records = run_engine(&program, n, &parsed);
    let floor_records = floor::run(n, &events).records.len();
    assert_eq!(
        engine_records, floor_records,
        "the floor and the engine disagree"
    );
    eprintln!("workload: {n} contacts, {m} events, {engine_records} trace records");

    let mut g = c.benchmark_group("workload");
    g.sample_size(10);
    g.bench_function("floor", |b| {
        b.iter(|| black_box(floor::run(n, &events).records.len()))
    });
    g.bench_function("engine", |b| {
        b.iter(|| black_box(run_engine(&program, n, &parsed)))
    });
    g.bench_function("simulate", |b| {
        b.iter(|| black_box(run_simulate(&program, &contacts_csv, &events_csv)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
