//! Several `cadence run` processes share one PostgreSQL database (docs/scaling.md).
//!
//! - Three runners on a virtual clock over eight partitions write the records `simulate`
//!   prints for the same files (compared sorted: records of one instant come partition by
//!   partition).
//! - One of three runners is killed with SIGKILL at random moments and started again, and one
//!   is stopped (SIGSTOP) for longer than its lease while the others take its partitions over:
//!   still the records of `simulate`, no Message-ID twice at a real SMTP server, and every
//!   executed email delivered or in doubt.
//! - The store's side of it: a claimed partition is skipped until its lease runs out, a commit
//!   under a claim taken over writes nothing, a daily count changed by another runner sends
//!   the batch round again, a pause reaches every partition, the clock's leader is one.
//!
//! CI runs a small version. The full one (100,000 contacts, at least 50 kills):
//! `CADENCE_SCALE_CONTACTS=100000 CADENCE_SCALE_KILLS=50 cargo test --release --test scale -- --nocapture`

mod common;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use cadence::store::live::{
    want_partitions, Batch, ClockMove, InputKind, LiveError, LiveStore, NewInput, PgLive,
};
use common::bin::cadence;
use common::smtp::{free_port, Sink};
use common::{env, Rng};

/// The benchmark workload written by `cadence generate` into a fresh folder.
struct Workload {
    dir: tempfile::TempDir,
    contacts: usize,
}

impl Workload {
    fn new(contacts: usize) -> Workload {
        let dir = tempfile::tempdir().unwrap();
        cadence(&[
            "generate",
            &dir.path().display().to_string(),
            "--contacts",
            &contacts.to_string(),
            "--events",
            &(contacts * 3).to_string(),
        ])
        .status(0);
        Workload { dir, contacts }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    fn run_args(&self, db: &str, extra: &[&str]) -> Vec<String> {
        let mut args: Vec<String> = [
            "run",
            &self.path("trial.cadence"),
            "--db",
            db,
            "--contacts",
            &self.path("contacts.csv"),
            "--events",
            &self.path("events.csv"),
            "--clock",
            "virtual",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    }

    /// What `simulate` prints, one record per line, sorted.
    fn simulated(&self) -> Vec<String> {
        let (sim, _) = cadence(&[
            "simulate",
            &self.path("trial.cadence"),
            "--contacts",
            &self.path("contacts.csv"),
            "--events",
            &self.path("events.csv"),
            "--format",
            "jsonl",
        ])
        .status(0);
        sorted(&sim)
    }
}

fn sorted(jsonl: &str) -> Vec<String> {
    let mut lines: Vec<String> = jsonl.lines().map(str::to_string).collect();
    lines.sort();
    lines
}

fn traced(db: &str) -> Vec<String> {
    sorted(
        &cadence(&["trace", "--db", db, "--format", "jsonl"])
            .status(0)
            .0,
    )
}

/// The first record that differs between two sorted traces, for the message of a failure.
fn difference(got: &[String], want: &[String]) -> String {
    let (g, w): (HashSet<&String>, HashSet<&String>) =
        (got.iter().collect(), want.iter().collect());
    let extra = got.iter().find(|l| !w.contains(l));
    let missing = want.iter().find(|l| !g.contains(l));
    format!(
        "{} records written, {} simulated; first written but not simulated: {extra:?}; first simulated but not written: {missing:?}",
        got.len(),
        want.len()
    )
}

/// Runners started with the same arguments, their standard error appended to one log.
struct Runners {
    args: Vec<String>,
    env: Vec<(&'static str, String)>,
    log: PathBuf,
    kids: Vec<Option<Child>>,
    starts: usize,
}

impl Runners {
    fn start(args: Vec<String>, env: Vec<(&'static str, String)>, log: &Path, n: usize) -> Runners {
        let mut r = Runners {
            args,
            env,
            log: log.to_path_buf(),
            kids: (0..n).map(|_| None).collect(),
            starts: 0,
        };
        for i in 0..n {
            r.spawn(i);
        }
        r
    }

    fn spawn(&mut self, i: usize) {
        let mut run = cadence(&self.args);
        for (k, v) in &self.env {
            run = run.env(k, v);
        }
        self.kids[i] = Some(run.spawn_logged(&self.log));
        self.starts += 1;
    }

    /// Whether runner `i` is still running; one that ended with an error fails the test.
    fn running(&mut self, i: usize) -> bool {
        let Some(kid) = self.kids[i].as_mut() else {
            return false;
        };
        match kid.try_wait().unwrap() {
            None => true,
            Some(s) => {
                assert_eq!(
                    s.code(),
                    Some(0),
                    "a runner ended with {s:?}:\n{}",
                    self.tail()
                );
                self.kids[i] = None;
                false
            }
        }
    }

    fn tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// Waits until every runner has ended (each with 0).
    fn wait(&mut self, seconds: u64) {
        let t0 = Instant::now();
        while (0..self.kids.len()).any(|i| self.running(i)) {
            assert!(
                t0.elapsed() < Duration::from_secs(seconds),
                "the runners did not finish within {seconds} s:\n{}",
                self.tail()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Runners {
    fn drop(&mut self) {
        for kid in self.kids.iter_mut().flatten() {
            unsafe {
                libc::kill(kid.id() as i32, libc::SIGCONT);
            }
            let _ = kid.kill();
            let _ = kid.wait();
        }
    }
}

#[test]
fn three_runners_on_eight_partitions_write_what_simulate_prints() {
    let Some(pg) = common::pg::fresh("three") else {
        return;
    };
    let w = Workload::new(env("CADENCE_SCALE_CONTACTS", 1_000));
    let args = w.run_args(&pg.url, &["--partitions", "8"]);
    let log = w.dir.path().join("runners.log");
    let t0 = Instant::now();
    let mut runners = Runners::start(args, Vec::new(), &log, 3);
    runners.wait(1800);
    let took = t0.elapsed().as_secs_f64();
    let (got, want) = (traced(&pg.url), w.simulated());
    assert!(got == want, "{}", difference(&got, &want));
    // The work was shared: every runner applied something.
    let mut c = pg.client();
    let workers: i64 = c
        .query_one("SELECT count(*) FROM cadence.workers", &[])
        .unwrap()
        .get(0);
    assert_eq!(workers, 3);
    let parts: i64 = c
        .query_one("SELECT count(*) FROM cadence.parts", &[])
        .unwrap()
        .get(0);
    assert_eq!(parts, 8);
    eprintln!(
        "3 runners, 8 partitions: {} contacts, {} records equal to simulate (sorted) in {took:.1} s",
        w.contacts,
        got.len()
    );
}

#[test]
fn runners_killed_and_stopped_at_random_moments_lose_nothing_and_send_nothing_twice() {
    let Some(pg) = common::pg::fresh("kills") else {
        return;
    };
    let w = Workload::new(env("CADENCE_SCALE_CONTACTS", 1_000));
    let kills_wanted = env("CADENCE_SCALE_KILLS", 12);
    let Some(sink) = Sink::start(w.dir.path(), free_port(), &["--ids-only"]) else {
        return;
    };
    let args = w.run_args(
        &pg.url,
        &[
            "--partitions",
            "8",
            "--smtp",
            &sink.url(),
            "--smtp-pool",
            "4",
            // Small transactions: many moments to be killed in.
            "--batch",
            "200",
            "--read-ahead",
            "100",
        ],
    );
    let lease_ms = 1000;
    let env = vec![
        ("CADENCE_LEASE_MS", lease_ms.to_string()),
        // Widen the window between the server's acceptance and the commit, where a kill leaves
        // messages in doubt.
        ("CADENCE_FAULT_PAUSE_AFTER_SEND_MS", "15".to_string()),
        // And the one between a batch's commit and the next claim.
        ("CADENCE_FAULT_PAUSE_PER_BATCH_MS", "5".to_string()),
    ];
    let log = w.dir.path().join("runners.log");
    let mut runners = Runners::start(args.clone(), env, &log, 3);
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let (mut kills, mut stops) = (0, 0);
    let mut taken_while_stopped = false;
    let mut db = pg.client();
    let t0 = Instant::now();
    while kills < kills_wanted && t0.elapsed() < Duration::from_secs(900) {
        std::thread::sleep(Duration::from_millis(50 + rng.below(350)));
        let i = rng.below(3) as usize;
        if !runners.running(i) {
            if (0..3).all(|j| !runners.running(j)) {
                break;
            }
            continue;
        }
        if stops == 0 && kills >= kills_wanted / 2 {
            // A runner holding a claim is stopped for longer than its lease: another takes
            // the partition over; woken, it finds its claim gone and writes nothing of it.
            if let Some((pid, part, token)) = holder(&mut db, &runners) {
                unsafe {
                    libc::kill(pid, libc::SIGSTOP);
                }
                std::thread::sleep(Duration::from_millis(2 * lease_ms + 500));
                let now: i64 = db
                    .query_one("SELECT token FROM cadence.parts WHERE part = $1", &[&part])
                    .unwrap()
                    .get(0);
                unsafe {
                    libc::kill(pid, libc::SIGCONT);
                }
                stops += 1;
                taken_while_stopped = now > token;
                if !taken_while_stopped {
                    let state: Vec<String> = db
                        .query(
                            "SELECT format('part %s owner %s lease-now %s token %s next %s', part, owner,
                                 lease - (extract(epoch FROM clock_timestamp()) * 1000)::int8, token, next)
                             FROM cadence.parts UNION ALL
                             SELECT format('lead owner %s t %s lease-now %s', owner, t,
                                 lease - (extract(epoch FROM clock_timestamp()) * 1000)::int8) FROM cadence.lead
                             UNION ALL SELECT format('worker %s pid %s', id, pid) FROM cadence.workers",
                            &[],
                        )
                        .unwrap()
                        .iter()
                        .map(|r| r.get(0))
                        .collect();
                    eprintln!("stopped pid {pid} part {part} token {token}: {state:#?}");
                    let alive: Vec<bool> = (0..3).map(|j| runners.running(j)).collect();
                    eprintln!("running: {alive:?}\n{}", runners.tail());
                }
            }
            continue;
        }
        let kid = runners.kids[i].as_mut().unwrap();
        kid.kill().unwrap();
        kid.wait().unwrap();
        kills += 1;
        runners.spawn(i);
    }
    runners.wait(1800);
    // Once more, alone, to the end: there is nothing left to do.
    cadence(&args)
        .env("CADENCE_LEASE_MS", &lease_ms.to_string())
        .status(0);
    let starts = runners.starts + 1;

    let (got, want) = (traced(&pg.url), w.simulated());
    assert!(got == want, "{}", difference(&got, &want));
    let executed = got
        .iter()
        .filter(|l| l.contains("\"action\":\"email\""))
        .count();

    // No Message-ID twice at the server; every executed email is delivered or in doubt.
    let common::Delivered { sent, doubt, .. } =
        common::delivered_once(&pg.url, executed, &sink.received());
    let taken_over = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .matches("was taken over by another runner")
        .count();
    eprintln!(
        "scale fault test: {} contacts, 3 runners on 8 partitions, {kills} kills (SIGKILL) and {stops} stop \
         (SIGSTOP for {} ms, lease {lease_ms} ms) over {starts} starts in {:.0} s; {} records equal to \
         simulate (sorted); {executed} emails executed: {sent} delivered once, {doubt} in doubt; \
         {taken_over} batches refused to a runner whose claim was taken over; 0 Message-IDs received twice",
        w.contacts,
        2 * lease_ms + 500,
        t0.elapsed().as_secs_f64(),
        got.len()
    );
    assert!(kills >= kills_wanted.min(8), "only {kills} kills happened");
    assert_eq!(stops, 1, "the stop never happened");
    assert!(
        taken_while_stopped,
        "no runner took over the partition of the stopped one"
    );
}

/// A runner of ours that holds a live claim: its pid, the partition and the claim's token.
fn holder(db: &mut postgres::Client, runners: &Runners) -> Option<(i32, i32, i64)> {
    let ours: Vec<i64> = runners
        .kids
        .iter()
        .flatten()
        .map(|k| i64::from(k.id()))
        .collect();
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(5) {
        let rows = db
            .query(
                "SELECT w.pid, p.part, p.token FROM cadence.parts p
                 JOIN cadence.workers w ON w.id = p.owner
                 WHERE p.lease > (extract(epoch FROM clock_timestamp()) * 1000)::int8 + 200",
                &[],
            )
            .unwrap();
        for r in rows {
            let pid: i64 = r.get(0);
            if ours.contains(&pid) {
                return Some((pid as i32, r.get(1), r.get(2)));
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    None
}

#[test]
fn partitions_are_chosen_when_the_database_is_made_and_only_on_postgresql() {
    let w = Workload::new(20);
    let sqlite = w.path("live.db");
    let (_, err) = cadence(&w.run_args(&sqlite, &["--partitions", "4"])).status(2);
    assert!(err.contains("an SQLite file has one runner"), "{err}");
    let (_, err) = cadence(&w.run_args(&sqlite, &["--window", "1d"])).status(2);
    assert!(err.contains("--window") && err.contains("SQLite"), "{err}");
    let Some(pg) = common::pg::fresh("mismatch") else {
        return;
    };
    cadence(&w.run_args(&pg.url, &["--partitions", "4"])).status(0);
    let (_, err) = cadence(&w.run_args(&pg.url, &["--partitions", "2"])).status(2);
    assert!(
        err.contains("has 4 partitions") && err.contains("chosen when the database is made"),
        "{err}"
    );
    // Without the flag, a runner works with what the database has.
    cadence(&w.run_args(&pg.url, &[])).status(0);
    let (_, err) = cadence(&w.run_args(&pg.url, &["--partitions", "0"])).status(2);
    assert!(err.contains("--partitions"), "{err}");
}

// ---- the store's side ------------------------------------------------------------------------

/// A fresh database of four partitions, the stores of two runners on it (ids 1 and 2) and the
/// connections on which they hold the locks that say they are alive.
struct TwoRunners {
    a: PgLive,
    b: PgLive,
    alive: Vec<postgres::Client>,
    db: common::pg::Db,
}

/// The advisory lock a runner holds for as long as its process lives: `(0x4344_4e44, id)`.
fn alive(db: &common::pg::Db, worker: i32) -> postgres::Client {
    let mut c = db.client();
    c.execute("SELECT pg_advisory_lock(1128549956, $1)", &[&worker])
        .unwrap();
    c
}

fn two_runners(test: &str) -> Option<TwoRunners> {
    // The count a database is made with, in this process (every store test here makes four).
    want_partitions(4);
    let db = common::pg::fresh(test)?;
    let mut a = PgLive::open(&db.url, true).unwrap();
    let mut b = PgLive::open(&db.url, true).unwrap();
    a.set_worker(1);
    b.set_worker(2);
    assert_eq!(a.partitions().unwrap(), Some(4));
    let alive = vec![alive(&db, 1), alive(&db, 2)];
    Some(TwoRunners { a, b, alive, db })
}

const LONG: i64 = 60_000;

#[test]
fn a_claimed_partition_is_skipped_until_its_lease_runs_out_and_the_old_claim_writes_nothing() {
    let Some(TwoRunners {
        mut a,
        mut b,
        mut alive,
        db: _db,
    }) = two_runners("claims")
    else {
        return;
    };
    let held = a.claim_part(1, 0, Some(2), LONG).unwrap().unwrap();
    assert_eq!(held.part, 2);
    assert_eq!(b.claim_part(2, 0, Some(2), LONG).unwrap(), None);
    // Any other is free (a partition not yet looked at is due at once).
    let other = b.claim_part(2, 0, None, LONG).unwrap().unwrap();
    assert_ne!(other.part, 2);
    b.release_part(None).unwrap();
    // A commit under a live claim renews it.
    a.commit(&Batch::default()).unwrap();
    a.release_part(Some(i64::MIN)).unwrap();

    // A claim of 1 ms runs out; another runner takes the partition over.
    let lapsed = a.claim_part(1, 0, Some(2), 1).unwrap().unwrap();
    std::thread::sleep(Duration::from_millis(30));
    let taken = b.claim_part(2, 0, Some(2), LONG).unwrap().unwrap();
    assert!(taken.token > lapsed.token, "{taken:?} after {lapsed:?}");
    match a.commit(&Batch::default()) {
        Err(LiveError::Lost(m)) => assert!(m.contains("taken over"), "{m}"),
        other => panic!("a commit under a lost claim gave {other:?}"),
    }
    // Letting the lost claim go leaves the new one alone.
    a.release_part(None).unwrap();
    b.commit(&Batch::default()).unwrap();
    assert_eq!(a.claim_part(1, 0, Some(2), LONG).unwrap(), None);

    // A runner whose process is gone (its lock with it) loses its claims at once.
    drop(alive.remove(1));
    let mut tries = 0;
    let after = loop {
        if let Some(c) = a.claim_part(1, 0, Some(2), LONG).unwrap() {
            break c;
        }
        tries += 1;
        assert!(
            tries < 100,
            "the claim of a runner gone was never taken over"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(after.token > taken.token);
}

#[test]
fn a_daily_count_changed_by_another_runner_sends_the_batch_round_again() {
    let Some(TwoRunners {
        mut a,
        mut b,
        alive: _alive,
        db: _db,
    }) = two_runners("sends")
    else {
        return;
    };
    let day = 20_000;
    let count = |n| Batch {
        sends: vec![("Trial".into(), "sales@example.test".into(), day, n)],
        ..Batch::default()
    };
    a.claim_part(1, 0, Some(0), LONG).unwrap().unwrap();
    b.claim_part(2, 0, Some(1), LONG).unwrap().unwrap();
    assert_eq!(a.send_count("Trial", "sales@example.test", day).unwrap(), 0);
    assert_eq!(b.send_count("Trial", "sales@example.test", day).unwrap(), 0);
    b.commit(&count(1)).unwrap();
    match a.commit(&count(1)) {
        Err(LiveError::Lost(m)) => assert!(m.contains("changed under this runner"), "{m}"),
        other => panic!("a commit over a changed count gave {other:?}"),
    }
    // Read again, the count goes on from the other runner's.
    a.release_part(Some(i64::MIN)).unwrap();
    a.claim_part(1, 0, Some(0), LONG).unwrap().unwrap();
    assert_eq!(a.send_count("Trial", "sales@example.test", day).unwrap(), 1);
    a.commit(&count(2)).unwrap();
    assert_eq!(b.send_count("Trial", "sales@example.test", day).unwrap(), 2);
}

#[test]
fn a_pause_reaches_every_partition_and_an_event_only_its_contacts_one() {
    let Some(TwoRunners {
        mut a,
        alive: _alive,
        db: _db,
        ..
    }) = two_runners("holds")
    else {
        return;
    };
    let pause = NewInput {
        key: "pause-trial".into(),
        at: 1_000,
        contact: String::new(),
        what: InputKind::Hold {
            owner: false,
            name: "Trial".into(),
            pause: true,
            until: None,
            catch_up: false,
        },
        origin: "cadence pause".into(),
    };
    let event = NewInput {
        key: "ann-replied".into(),
        at: 2_000,
        contact: "ann".into(),
        what: InputKind::Event {
            event: "replied".into(),
            step: None,
            cadence: None,
            field: None,
            value: None,
            machine: false,
            message: None,
        },
        origin: "events.csv:2".into(),
    };
    assert_eq!(a.enqueue(&[pause.clone(), event], 0).unwrap(), [true, true]);
    // Queued again (a file read twice): nothing more.
    assert_eq!(a.enqueue(&[pause], 0).unwrap(), [false]);
    let mut holds = 0;
    let mut events = 0;
    for part in 0..4 {
        a.claim_part(1, 0, Some(part), LONG).unwrap().unwrap();
        for row in a.next_inputs(100).unwrap() {
            match row.input.what {
                InputKind::Hold { .. } => holds += 1,
                _ => events += 1,
            }
        }
        a.release_part(Some(i64::MIN)).unwrap();
    }
    assert_eq!((holds, events), (4, 1));
}

#[test]
fn one_runner_leads_the_clock_and_moves_it_only_when_nothing_is_left_before_it() {
    let Some(TwoRunners {
        mut a,
        mut b,
        mut alive,
        db: _db,
    }) = two_runners("lead")
    else {
        return;
    };
    assert!(a.lead(1, LONG).unwrap());
    assert!(!b.lead(2, LONG).unwrap());
    assert_eq!(
        b.move_clock(2, 100, i64::MAX).unwrap(),
        ClockMove::NotLeader
    );
    // No partition has been looked at: each may have something at any time.
    assert_eq!(a.move_clock(1, 100, i64::MAX).unwrap(), ClockMove::Busy);
    for part in 0..4 {
        a.claim_part(1, 0, Some(part), LONG).unwrap().unwrap();
        let next = (part == 3).then_some(5_000);
        a.release_part(next).unwrap();
    }
    assert_eq!(a.next_work().unwrap(), (Some(5_000), false));
    // The first thing due, plus the window, at most the limit.
    assert_eq!(
        a.move_clock(1, 100, i64::MAX).unwrap(),
        ClockMove::Moved(5_100)
    );
    assert_eq!(a.shared_clock().unwrap(), Some(5_100));
    assert_eq!(a.move_clock(1, 100, i64::MAX).unwrap(), ClockMove::Busy);
    a.claim_part(1, 5_100, None, LONG).unwrap().unwrap();
    a.release_part(None).unwrap();
    assert_eq!(a.move_clock(1, 100, i64::MAX).unwrap(), ClockMove::Done);
    // A leader that stops leading for longer than its lease loses the lead.
    assert!(a.lead(1, 1).unwrap());
    std::thread::sleep(Duration::from_millis(30));
    assert!(b.lead(2, LONG).unwrap());
    assert_eq!(
        a.move_clock(1, 100, i64::MAX).unwrap(),
        ClockMove::NotLeader
    );
    // And a leader whose process is gone loses it at once.
    drop(alive.remove(1));
    let mut tries = 0;
    while !a.lead(1, LONG).unwrap() {
        tries += 1;
        assert!(
            tries < 100,
            "the lead of a runner gone was never taken over"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// On the wall clock, two runners over four partitions: every contact of the file is enrolled,
/// and an outcome logged for any contact (queued into its partition, which another runner may
/// hold at that moment) is applied within seconds, with the polling fallback set to a minute.
#[test]
fn on_the_wall_clock_two_runners_apply_what_is_logged_for_any_partition() {
    let Some(pg) = common::pg::fresh("wall") else {
        return;
    };
    let contacts = 30;
    let w = Workload::new(contacts);
    let args: Vec<String> = [
        "run",
        &w.path("trial.cadence"),
        "--db",
        &pg.url,
        "--contacts",
        &w.path("contacts.csv"),
        "--partitions",
        "4",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let log = w.dir.path().join("runners.log");
    let env = vec![("CADENCE_POLL_MS", "60000".to_string())];
    let mut runners = Runners::start(args, env, &log, 2);
    let has = |what: &str, ids: &[String]| {
        let trace = cadence(&["trace", "--db", &pg.url, "--format", "jsonl"])
            .output()
            .stdout;
        let trace = String::from_utf8_lossy(&trace).to_string();
        ids.iter().all(|id| {
            trace
                .lines()
                .any(|l| l.contains(&format!("\"contact\":\"{id}\",")) && l.contains(what))
        })
    };
    let ids: Vec<String> = (0..contacts).map(|i| format!("c{i}")).collect();
    let t0 = Instant::now();
    while !has("\"kind\":\"enrolled\"", &ids) {
        assert!(
            (0..2).all(|i| runners.running(i)),
            "a runner stopped:\n{}",
            runners.tail()
        );
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "not every contact was enrolled:\n{}",
            runners.tail()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let spread: i64 = pg
        .client()
        .query_one("SELECT count(DISTINCT part) FROM cadence.contacts", &[])
        .unwrap()
        .get(0);
    assert!(spread > 1, "the contacts are in {spread} partition");
    for id in &ids {
        cadence(&["log", "--db", &pg.url, id, "replied"]).status(0);
    }
    let t1 = Instant::now();
    while !has("\"event\":\"replied\"", &ids) {
        assert!(
            t1.elapsed() < Duration::from_secs(30),
            "an outcome logged was not applied before the next poll:\n{}",
            runners.tail()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let took = t1.elapsed();
    for kid in runners.kids.iter_mut().flatten() {
        unsafe {
            libc::kill(kid.id() as i32, libc::SIGTERM);
        }
        assert_eq!(kid.wait().unwrap().code(), Some(0));
    }
    runners.kids.iter_mut().for_each(|k| *k = None);
    eprintln!(
        "2 runners on the wall clock, 4 partitions: {contacts} outcomes logged, all applied within {} ms",
        took.as_millis()
    );
}
