//! Reading inbound mail: classifying the corpus of `tests/fixtures/mail` (bounces, automatic
//! answers in six languages, replies) against parsing the same messages with `mail-parser`
//! alone, the floor under it.
//!
//! `cargo bench --bench mail`

use std::hint::black_box;
use std::path::Path;

use cadence::mail::inbound;
use chrono::NaiveDate;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn corpus() -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mail");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    files.sort();
    files.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

fn bench(c: &mut Criterion) {
    let messages = corpus();
    let today = NaiveDate::from_ymd_opt(2027, 3, 1).unwrap();
    let mut g = c.benchmark_group("inbound");
    g.throughput(Throughput::Elements(messages.len() as u64));
    g.bench_function("parse (mail-parser alone)", |b| {
        b.iter(|| {
            for m in &messages {
                black_box(mail_parser::MessageParser::default().parse(m));
            }
        })
    });
    g.bench_function("read (parse and classify)", |b| {
        b.iter(|| {
            for m in &messages {
                black_box(inbound::read(m, today));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
