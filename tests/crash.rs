//! Crash safety: `cadence run` is killed with SIGKILL at random moments — while it queues its
//! files, applies batches, hands emails to a real SMTP server, or waits between the server's
//! acceptance and its own commit — and started again with the same arguments, until it
//! finishes. Then:
//!
//! - the journal equals what `simulate` prints for the same files (nothing lost, nothing
//!   applied twice);
//! - no Message-ID reached the SMTP server twice;
//! - every executed email was delivered or is in doubt, and every in-doubt one is listed.
//!
//! The same test runs on an SQLite file and on a PostgreSQL database (the server on
//! 127.0.0.1:5432; see tests/common/pg.rs). CI runs a small version. The full one (10,000
//! contacts, at least 100 kills):
//! `CADENCE_CRASH_CONTACTS=10000 CADENCE_CRASH_KILLS=100 cargo test --release --test crash -- --nocapture`

mod common;

use std::time::{Duration, Instant};

use common::bin::cadence;
use common::smtp::{free_port, Sink};
use common::{env, Rng};

#[test]
fn killed_at_random_moments_it_loses_nothing_and_sends_nothing_twice() {
    killed_at_random_moments(None, "SQLite");
}

#[test]
fn killed_at_random_moments_on_postgresql_it_loses_nothing_and_sends_nothing_twice() {
    let Some(pg) = common::pg::fresh("crash") else {
        return;
    };
    killed_at_random_moments(Some(&pg.url), "PostgreSQL");
}

/// The crash test on an SQLite file in a fresh folder (`url` None) or on a PostgreSQL database.
fn killed_at_random_moments(url: Option<&str>, store: &str) {
    let contacts = env("CADENCE_CRASH_CONTACTS", 1_000);
    let kills_wanted = env("CADENCE_CRASH_KILLS", 25);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    cadence(&[
        "generate",
        &d.display().to_string(),
        "--contacts",
        &contacts.to_string(),
        "--events",
        &(contacts * 3).to_string(),
    ])
    .status(0);
    let Some(sink) = Sink::start(d, free_port(), &["--ids-only"]) else {
        return;
    };
    let path = |n: &str| d.join(n).display().to_string();
    let db = url.map_or_else(|| path("live.db"), str::to_string);
    let args: Vec<String> = [
        "run",
        &path("trial.cadence"),
        "--db",
        &db,
        "--contacts",
        &path("contacts.csv"),
        "--events",
        &path("events.csv"),
        "--clock",
        "virtual",
        "--smtp",
        &sink.url(),
        "--smtp-pool",
        "8",
        // Small transactions: many moments to be killed in.
        "--batch",
        "300",
        "--read-ahead",
        "150",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut kills = 0;
    let mut starts = 0;
    let t0 = Instant::now();
    let mut finished_early = 0;
    while kills < kills_wanted && t0.elapsed() < Duration::from_secs(600) {
        let mut child = cadence(&args)
            // Widen the window between the server's acceptance and the commit, where a kill
            // leaves messages in doubt.
            .env("CADENCE_FAULT_PAUSE_AFTER_SEND_MS", "15")
            .spawn();
        starts += 1;
        let wait = Duration::from_millis(40 + rng.below(400));
        let until = Instant::now() + wait;
        let mut exited = None;
        while Instant::now() < until {
            if let Some(s) = child.try_wait().unwrap() {
                exited = Some(s);
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        match exited {
            Some(s) => {
                assert_eq!(s.code(), Some(0), "a run ended with {s:?}");
                finished_early += 1;
                if finished_early > 3 {
                    break;
                }
            }
            None => {
                child.kill().unwrap();
                child.wait().unwrap();
                kills += 1;
            }
        }
    }
    // Once more, to the end.
    let (_, err) = cadence(&args).status(0);
    starts += 1;

    // The journal is the simulation.
    let (trace, _) = cadence(&["trace", "--db", &db, "--format", "jsonl"]).status(0);
    let (sim, _) = cadence(&[
        "simulate",
        &path("trial.cadence"),
        "--contacts",
        &path("contacts.csv"),
        "--events",
        &path("events.csv"),
        "--format",
        "jsonl",
    ])
    .status(0);
    assert!(trace == sim, "the journal differs from the simulation");
    let executed = trace.matches("\"action\":\"email\"").count();

    // No Message-ID twice at the server; every executed email is delivered or in doubt.
    let common::Delivered {
        sent,
        doubt,
        doubt_received,
    } = common::delivered_once(&db, executed, &sink.received());
    let (listed, _) = cadence(&[
        "outbox", "--db", &db, "--state", "in-doubt", "--limit", "10000000",
    ])
    .status(0);
    assert_eq!(
        listed.matches("\n#").count() + usize::from(listed.starts_with('#')),
        doubt
    );
    eprintln!(
        "crash test on {store}: {contacts} contacts, {kills} kills (SIGKILL) over {starts} starts in {:.0} s; \
         {} trace records equal to simulate; {executed} emails executed: {sent} delivered once, \
         {doubt} in doubt ({doubt_received} of them accepted by the server before the kill, i.e. \
         killed between acceptance and commit); 0 Message-IDs received twice",
        t0.elapsed().as_secs_f64(),
        trace.lines().count()
    );
    eprintln!("last run: {}", err.lines().last().unwrap_or(""));
    assert!(kills >= kills_wanted.min(10), "only {kills} kills happened");
}
