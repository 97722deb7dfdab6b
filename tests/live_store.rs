//! The live store's contract: one sequence of calls over a fresh store, with exact results, that
//! the SQLite and the PostgreSQL implementation of `LiveStore` both keep (every method but the
//! upkeep of SQLite files: checkpoints and backups); and a PostgreSQL schema is made once when
//! processes start together.

mod common;

use std::sync::{Arc, Barrier};

use cadence::check::Value;
use cadence::engine::{ContactId, Timer};
use cadence::mail::inbound::address_key;
use cadence::store::live::{
    Applied, Batch, ContactRow, ContactWrite, Delivery, Hit, HoldRow, InboxRow, InputKind,
    JournalRow, LiveError, LiveStore, MailRow, MessageRef, NewInput, NewMessage, NewTask,
    OutboxRow, OutboxState, PgLive, SqliteLive, TaskFilter, TaskRow, TaskUpdate, VersionFile,
    VersionRow, HITS_PER_LINK, NONCE_SECONDS,
};

#[test]
fn the_sqlite_store_keeps_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = SqliteLive::open(&dir.path().join("live.db"), true).unwrap();
    contract(&mut s);
}

#[test]
fn the_postgresql_store_keeps_the_contract() {
    let Some(db) = common::pg::fresh("contract") else {
        return;
    };
    let mut s = PgLive::open(&db.url, true).unwrap();
    contract(&mut s);
}

#[test]
fn the_postgresql_schema_is_made_once_by_processes_starting_together() {
    let Some(db) = common::pg::fresh("together") else {
        return;
    };
    let barrier = Arc::new(Barrier::new(4));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (url, barrier) = (db.url.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                PgLive::open(&url, true).map(|_| ())
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap().unwrap();
    }
    let sql = "SELECT count(*) FROM cadence.schema_version";
    let rows: i64 = db.client().query_one(sql, &[]).unwrap().get(0);
    assert_eq!(rows, 1);
}

fn contract(store: &mut dyn LiveStore) {
    let (welcome, nurture) = meta_and_versions_are_kept(store);
    the_inbox_gives_each_input_once_in_time_order(store);
    contacts_are_due_in_timer_order_with_their_counters(store);
    let sent = the_outbox_sends_retries_bounces_and_resends(store, welcome);
    messages_are_found_by_link_by_message_id_and_by_address(store, &sent);
    tasks_close_and_follow_their_owners_time_off(store, welcome, nurture);
    mail_read_from_a_mailbox_is_logged_and_its_checkpoint_moves_forward(store);
    a_replayed_webhook_queues_nothing(store);
    opens_and_clicks_are_kept_up_to_a_limit_and_clicks_are_held(store);
    tokens_are_stored_found_and_revoked(store);
    the_journal_is_visited_in_order_with_contact_ids(store);
    the_counts_add_up(store);
    a_late_input_moves_nothing_back(store);
}

/// An input queued late (its time before the last input applied) is applied once: applying it
/// alone gives none of the inputs before it again, and a second late one read with it but not
/// applied stays to apply.
fn a_late_input_moves_nothing_back(store: &mut dyn LiveStore) {
    take_inputs(store);
    let (x1, x2) = (
        event("x1", 10_000, "ana", "opened"),
        event("x2", 10_100, "ana", "clicked"),
    );
    store.enqueue(&[x1.clone(), x2.clone()], 90).unwrap();
    assert_eq!(take_inputs(store), expect(&[&x1, &x2]));
    let (l1, l2) = (
        event("l1", 10_050, "ben", "opened"),
        event("l2", 10_060, "ben", "clicked"),
    );
    store.enqueue(&[l1.clone(), l2.clone()], 91).unwrap();
    let rows = store.next_inputs(10).unwrap();
    assert_eq!(read(&rows), expect(&[&l1, &l2]));
    apply(store, &rows[..1]);
    assert_eq!(
        pending(store),
        expect(&[&l2]),
        "x1 and x2 are not given again, l2 is kept"
    );
    assert_eq!(take_inputs(store), expect(&[&l2]));
    assert!(pending(store).is_empty());
    let l3 = event("l3", 10_070, "cy", "opened");
    store.enqueue(std::slice::from_ref(&l3), 92).unwrap();
    assert_eq!(take_inputs(store), expect(&[&l3]));
    assert!(pending(store).is_empty(), "nothing before l3 comes back");
    assert_eq!(store.first_input_at().unwrap(), None);
}

/// Writers queue inputs (many of them late) while a reader applies what it reads, as the runner
/// does: each input is applied exactly once.
fn inputs_queued_while_the_runner_reads_are_each_applied_once(
    open: &(dyn Fn() -> Box<dyn LiveStore + Send> + Sync),
) {
    const WRITERS: usize = 4;
    const EACH: usize = 60;
    let mut reader = open();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let mut seen: Vec<String> = Vec::new();
    std::thread::scope(|s| {
        for w in 0..WRITERS {
            let done = &done;
            s.spawn(move || {
                let mut store = open();
                for i in 0..EACH {
                    // Times go back and forth, so that many inputs are late.
                    let at = 1_000 + ((i * 37 + w * 11) % 50) as i64 * 10;
                    let e = event(&format!("w{w}-{i}"), at, &format!("c{w}"), "opened");
                    assert_eq!(store.enqueue(std::slice::from_ref(&e), 1).unwrap(), [true]);
                    if i % 7 == 0 {
                        std::thread::sleep(std::time::Duration::from_millis(2));
                    }
                }
                done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            });
        }
        loop {
            let finished = done.load(std::sync::atomic::Ordering::SeqCst) == WRITERS;
            let rows = reader.next_inputs(25).unwrap();
            // Sometimes only part of what was read is applied, as when a batch is full.
            let part = if rows.len() > 3 && seen.len() % 2 == 0 {
                rows.len() / 2
            } else {
                rows.len()
            };
            apply(&mut *reader, &rows[..part]);
            seen.extend(rows[..part].iter().map(|r| r.input.origin.clone()));
            if finished && rows.is_empty() {
                break;
            }
        }
    });
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), seen.len(), "an input was applied twice");
    assert_eq!(seen.len(), WRITERS * EACH, "an input was never applied");
}

#[test]
fn the_sqlite_store_applies_inputs_queued_while_it_reads_once_each() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("live.db");
    drop(SqliteLive::open(&path, true).unwrap());
    inputs_queued_while_the_runner_reads_are_each_applied_once(&|| {
        Box::new(SqliteLive::open(&path, false).unwrap())
    });
}

#[test]
fn the_postgresql_store_applies_inputs_queued_while_it_reads_once_each() {
    let Some(db) = common::pg::fresh("concurrent") else {
        return;
    };
    drop(PgLive::open(&db.url, true).unwrap());
    inputs_queued_while_the_runner_reads_are_each_applied_once(&|| {
        Box::new(PgLive::open(&db.url, false).unwrap())
    });
}

fn commit(store: &mut dyn LiveStore, fill: impl FnOnce(&mut Batch)) {
    let mut batch = Batch::default();
    fill(&mut batch);
    store.commit(&batch).unwrap();
}

fn some(text: &str) -> Option<String> {
    Some(text.to_string())
}

fn input(key: &str, at: i64, who: &str, what: InputKind) -> NewInput {
    let origin = format!("test {key}");
    let (key, contact) = (key.to_string(), who.to_string());
    NewInput {
        key,
        at,
        contact,
        what,
        origin,
    }
}

fn about(key: &str, at: i64, who: &str, event: &str, message: Option<(u64, u32)>) -> NewInput {
    let what = InputKind::Event {
        event: event.into(),
        step: None,
        cadence: None,
        field: None,
        value: None,
        machine: false,
        message,
    };
    input(key, at, who, what)
}

fn event(key: &str, at: i64, who: &str, event: &str) -> NewInput {
    about(key, at, who, event, None)
}

/// An input as the inbox gives it back (the key it keeps is not the text given).
type Queued = (i64, String, InputKind, String);

fn expect(inputs: &[&NewInput]) -> Vec<Queued> {
    let queued = |i: &&NewInput| (i.at, i.contact.clone(), i.what.clone(), i.origin.clone());
    inputs.iter().map(queued).collect()
}

fn read(rows: &[InboxRow]) -> Vec<Queued> {
    let order: Vec<(i64, i64)> = rows.iter().map(|r| (r.input.at, r.seq)).collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "not in (at, seq) order: {order:?}"
    );
    expect(&rows.iter().map(|r| &r.input).collect::<Vec<_>>())
}

fn pending(store: &mut dyn LiveStore) -> Vec<Queued> {
    read(&store.next_inputs(1000).unwrap())
}

/// Marks what was read (a prefix of the pending inputs) as applied, as the runner does.
fn apply(store: &mut dyn LiveStore, rows: &[InboxRow]) {
    let applied = |r: &InboxRow| Applied {
        seq: r.seq,
        at: r.input.at,
        applied: r.input.at + 1,
        note: some("applied"),
    };
    commit(store, |b| b.applied = rows.iter().map(applied).collect());
}

/// Reads and applies every pending input.
fn take_inputs(store: &mut dyn LiveStore) -> Vec<Queued> {
    let rows = store.next_inputs(1000).unwrap();
    apply(store, &rows);
    read(&rows)
}

fn file(name: &str, hash: &str, given: bool, text: &str) -> (VersionFile, String) {
    let (name, hash) = (name.to_string(), hash.to_string());
    (VersionFile { name, hash, given }, text.to_string())
}

fn version(
    id: i64,
    name: &str,
    hash: &str,
    files: &[(VersionFile, String)],
    at: i64,
) -> VersionRow {
    VersionRow {
        id,
        name: name.into(),
        hash: hash.into(),
        files: files.iter().map(|(f, _)| f.clone()).collect(),
        file: format!("{name}.cadence"),
        created: at,
        deployed: false,
    }
}

fn deployed(store: &mut dyn LiveStore) -> Vec<bool> {
    store
        .versions()
        .unwrap()
        .iter()
        .map(|v| v.deployed)
        .collect()
}

fn meta_and_versions_are_kept(store: &mut dyn LiveStore) -> (i64, i64) {
    assert_eq!(store.meta("clock").unwrap(), None);
    store.set_meta("clock", "5").unwrap();
    store.set_meta("clock", "6").unwrap();
    assert_eq!(store.meta("clock").unwrap(), some("6"));
    assert_eq!(store.meta_or_insert("start", "100").unwrap(), "100");
    assert_eq!(store.meta_or_insert("start", "200").unwrap(), "100");
    assert_eq!(store.meta("start").unwrap(), some("100"));

    assert!(store.versions().unwrap().is_empty());
    let w1 = [
        file("welcome.cadence", "f1", true, "one"),
        file("b.txt", "f2", false, "Hi"),
    ];
    let w2 = [
        file("welcome.cadence", "f3", true, "two"),
        file("b.txt", "f2", false, "Hi"),
    ];
    let n1 = [file("nurture.cadence", "f4", true, "three")];
    let (w, n) = ("welcome.cadence", "nurture.cadence");
    let first = store.add_version("welcome", "v1", w, &w1, 1000).unwrap();
    assert_eq!(
        store.add_version("welcome", "v1", w, &w1, 2000).unwrap(),
        first
    );
    let welcome = store.add_version("welcome", "v2", w, &w2, 3000).unwrap();
    let nurture = store.add_version("nurture", "v3", n, &n1, 4000).unwrap();
    assert!(first < welcome && welcome < nurture);
    let all = [
        version(first, "welcome", "v1", &w1, 1000),
        version(welcome, "welcome", "v2", &w2, 3000),
        version(nurture, "nurture", "v3", &n1, 4000),
    ];
    assert_eq!(store.versions().unwrap(), all);
    assert_eq!(store.source("f1").unwrap(), some("one"));
    assert_eq!(store.source("f2").unwrap(), some("Hi"));
    assert_eq!(store.source("f4").unwrap(), some("three"));
    assert_eq!(store.source("v1").unwrap(), None);
    store.set_deployed(&[welcome, nurture]).unwrap();
    assert_eq!(deployed(store), [false, true, true]);
    store.set_deployed(&[first]).unwrap();
    assert_eq!(deployed(store), [true, false, false]);
    store.set_deployed(&[welcome, nurture]).unwrap();
    assert_eq!(deployed(store), [false, true, true]);
    (welcome, nurture)
}

fn the_inbox_gives_each_input_once_in_time_order(store: &mut dyn LiveStore) {
    assert!(pending(store).is_empty());
    assert_eq!(store.first_input_at().unwrap(), None);
    assert_eq!(store.last_input_at().unwrap(), None);
    assert!(store.contact_ids().unwrap().is_empty());

    // Every kind of input comes back as it was queued.
    let a = event("a", 100, "ana", "opened");
    let set = InputKind::Event {
        event: "set".into(),
        step: Some(2),
        cadence: some("welcome"),
        field: some("stage"),
        value: some("won"),
        machine: true,
        message: Some((7, 2)),
    };
    let b = input("b", 200, "ben", set);
    let fields = vec![
        ("email".into(), Some(Value::Text("zoe@example.test".into()))),
        ("score".into(), Some(Value::Number(4.5))),
        ("vip".into(), Some(Value::Bool(true))),
        ("phone".into(), None),
    ];
    let c = input("contact:zoe", 300, "zoe", InputKind::Contact { fields });
    let away = InputKind::Hold {
        owner: true,
        name: "sam".into(),
        pause: true,
        until: Some(1_767_225_600),
        catch_up: true,
    };
    let d = input("hold:sam", 300, "", away);
    let resume = InputKind::Hold {
        owner: false,
        name: "welcome".into(),
        pause: false,
        until: None,
        catch_up: false,
    };
    let r = input("hold:welcome", 400, "", resume);
    let all = [&a, &b, &c, &d, &r, &a].map(NewInput::clone);
    assert_eq!(
        store.enqueue(&all, 50).unwrap(),
        [true, true, true, true, true, false]
    );
    assert_eq!(
        store.enqueue(std::slice::from_ref(&b), 60).unwrap(),
        [false]
    );
    assert!(store.enqueue(&[], 60).unwrap().is_empty());

    assert_eq!(read(&store.next_inputs(2).unwrap()), expect(&[&a, &b]));
    let first = store.next_inputs(10).unwrap();
    assert_eq!(read(&first), expect(&[&a, &b, &c, &d, &r]));
    assert_eq!(store.first_input_at().unwrap(), Some(100));
    assert_eq!(store.last_input_at().unwrap(), Some(400));
    assert_eq!(store.contact_ids().unwrap(), ["zoe"]);
    apply(store, &first[..2]);
    assert_eq!(pending(store), expect(&[&c, &d, &r]));
    assert_eq!(store.first_input_at().unwrap(), Some(300));

    // Queued late, with a time before the last input applied: still given, and first.
    let late = event("late", 150, "ana", "clicked");
    assert_eq!(
        store.enqueue(std::slice::from_ref(&late), 70).unwrap(),
        [true]
    );
    assert_eq!(store.first_input_at().unwrap(), Some(150));
    let second = store.next_inputs(10).unwrap();
    assert_eq!(read(&second), expect(&[&late, &c, &d, &r]));

    // Queued while the runner works on what it read: the commit of that work leaves it pending.
    let during = event("during", 120, "ben", "replied");
    assert_eq!(
        store.enqueue(std::slice::from_ref(&during), 80).unwrap(),
        [true]
    );
    apply(store, &second[..2]);
    assert_eq!(pending(store), expect(&[&during, &d, &r]));
    assert_eq!(take_inputs(store), expect(&[&during, &d, &r]));
    assert!(pending(store).is_empty());
    assert_eq!(store.first_input_at().unwrap(), None);
    assert_eq!(store.last_input_at().unwrap(), Some(400));
}

fn timer(due: i64, since: i64, enrolment: u64, slot: u16) -> Timer {
    let generation = 3;
    Timer {
        due,
        since,
        enrolment,
        slot,
        generation,
    }
}

fn put(rowid: ContactId, id: &str, state: &str, next: Option<Timer>, new: bool) -> ContactWrite {
    let (id, state, next_changed) = (id.to_string(), state.as_bytes().to_vec(), true);
    ContactWrite {
        rowid,
        id,
        state,
        next,
        next_changed,
        new,
    }
}

fn row(rowid: ContactId, id: &str, state: &str) -> Option<ContactRow> {
    let (id, state) = (id.to_string(), state.as_bytes().to_vec());
    Some(ContactRow { rowid, id, state })
}

/// The contacts due, as `rowid id state due/since/enrolment/slot/generation`.
fn due(store: &mut dyn LiveStore, limit: usize) -> String {
    let show = |(c, t): &(ContactRow, Timer)| {
        let state = String::from_utf8_lossy(&c.state);
        let timer = format!(
            "{}/{}/{}/{}/{}",
            t.due, t.since, t.enrolment, t.slot, t.generation
        );
        format!("{} {} {state} {timer}", c.rowid, c.id)
    };
    let rows = store.next_due(limit).unwrap();
    rows.iter().map(show).collect::<Vec<_>>().join(", ")
}

fn contacts_are_due_in_timer_order_with_their_counters(store: &mut dyn LiveStore) {
    let contacts = vec![
        put(1, "ana", "ana", Some(timer(400, 10, 7, 1)), true),
        put(2, "ben", "ben", Some(timer(400, 10, 7, 0)), true),
        put(3, "cy", "cy", Some(timer(400, 10, 6, 3)), true),
        put(4, "di", "di", Some(timer(400, 5, 9, 0)), true),
        put(5, "ed", "ed", Some(timer(300, 50, 8, 0)), true),
        put(6, "flo", "flo", None, true),
    ];
    let (day, sender) = (20_454, "sales@acme.test");
    commit(store, |b| {
        b.contacts = contacts;
        b.sends = vec![("welcome".into(), sender.into(), day, 3)];
        b.suppressions = vec![("no@x.test".into(), false), ("gone@x.test".into(), true)];
        b.meta = vec![("clock", 12_345)];
    });
    let all = "5 ed ed 300/50/8/0/3, 4 di di 400/5/9/0/3, 3 cy cy 400/10/6/3/3, \
               2 ben ben 400/10/7/0/3, 1 ana ana 400/10/7/1/3";
    assert_eq!(due(store, 10), all);
    assert_eq!(due(store, 2), "5 ed ed 300/50/8/0/3, 4 di di 400/5/9/0/3");
    assert_eq!(store.contact_by_id("ben").unwrap(), row(2, "ben", "ben"));
    assert_eq!(store.contact_by_rowid(6).unwrap(), row(6, "flo", "flo"));
    assert_eq!(store.contact_by_id("nobody").unwrap(), None);
    assert_eq!(store.contact_by_rowid(99).unwrap(), None);
    let mut ids = store.contact_ids().unwrap();
    ids.sort();
    assert_eq!(ids, ["ana", "ben", "cy", "di", "ed", "flo", "zoe"]);
    assert_eq!(store.contact_count().unwrap(), 6);
    let counts = store.counts().unwrap();
    assert_eq!((counts.contacts, counts.waiting), (6, 5));
    assert_eq!(store.send_count("welcome", sender, day).unwrap(), 3);
    assert_eq!(store.send_count("welcome", sender, day + 1).unwrap(), 0);
    assert_eq!(store.send_count("nurture", sender, day).unwrap(), 0);
    assert_eq!(store.meta("clock").unwrap(), some("12345"));

    // A row keeps its timer unless it is said to have changed; a suppression keeps its reason.
    let mut same_timer = put(1, "ana", "ana 2", None, false);
    same_timer.next_changed = false;
    let contacts = vec![
        put(5, "ed", "ed 2", None, false),
        same_timer,
        put(6, "flo", "flo 2", Some(timer(350, 60, 11, 0)), false),
    ];
    commit(store, |b| {
        b.contacts = contacts;
        b.sends = vec![("welcome".into(), sender.into(), day, 5)];
        b.suppressions = vec![("gone@x.test".into(), false)];
        b.meta = vec![("clock", 12_400)];
    });
    let all = "6 flo flo 2 350/60/11/0/3, 4 di di 400/5/9/0/3, 3 cy cy 400/10/6/3/3, \
               2 ben ben 400/10/7/0/3, 1 ana ana 2 400/10/7/1/3";
    assert_eq!(due(store, 10), all);
    assert_eq!(store.contact_by_rowid(5).unwrap(), row(5, "ed", "ed 2"));
    assert_eq!(store.send_count("welcome", sender, day).unwrap(), 5);
    let mut suppressed = store.suppressions().unwrap();
    suppressed.sort();
    let want = [
        ("gone@x.test".to_string(), true),
        ("no@x.test".to_string(), false),
    ];
    assert_eq!(suppressed, want);
    assert_eq!(store.meta("clock").unwrap(), some("12400"));
    assert_eq!(store.counts().unwrap().waiting, 5);
}

fn message(contact: ContactId, enrolment: u64, exec: u32, at: i64, to: &str) -> NewMessage {
    NewMessage {
        contact,
        enrolment,
        exec,
        version: 0,
        step: exec,
        at,
        message_id: format!("<{enrolment}.{exec}.x{at}@acme.test>"),
        sender: "Sales <sales@acme.test>".into(),
        reply_to: None,
        recipient: to.into(),
        subject: format!("Step {exec}"),
        body: "Hi {{first_name}}".into(),
        html: false,
        unsubscribe: format!("https://cadence.test/u/{enrolment}.{exec}"),
    }
}

/// The outbox by id, as `state attempts next_attempt reply`.
fn outbox(store: &mut dyn LiveStore) -> String {
    let rows = store.outbox(None, 100).unwrap();
    let show = |r: &OutboxRow| {
        let reply = r.reply.as_deref().unwrap_or("-");
        format!(
            "{} {} {} {reply}",
            r.state.as_str(),
            r.attempts,
            r.next_attempt
        )
    };
    rows.iter().map(show).collect::<Vec<_>>().join(", ")
}

/// Claims the outbox, and gives (id, attempts) of what it took.
fn claim(store: &mut dyn LiveStore, now: i64, limit: usize) -> Vec<(i64, i64)> {
    let rows = store.claim_outbox(now, limit).unwrap();
    assert!(rows.iter().all(|r| r.state == OutboxState::Sending));
    rows.iter().map(|r| (r.id, r.attempts)).collect()
}

/// The rows in a state: (id, when they last changed).
fn updated(store: &mut dyn LiveStore, state: OutboxState) -> Vec<(i64, i64)> {
    let rows = store.outbox(Some(state), 100).unwrap();
    rows.iter().map(|r| (r.id, r.updated)).collect()
}

fn the_outbox_sends_retries_bounces_and_resends(
    store: &mut dyn LiveStore,
    v: i64,
) -> Vec<NewMessage> {
    use cadence::store::live::OutboxState::{Bounced, Failed, InDoubt, Pending, Sent};
    assert_eq!(store.first_sent().unwrap(), None);
    assert_eq!(store.next_outbox_attempt().unwrap(), None);
    let mut sent = vec![
        message(1, 7, 1, 1000, "Ana <Ana+news@Example.test>"),
        message(2, 9, 1, 1100, "ben@example.test"),
        message(1, 7, 2, 2000, "ana@example.test"),
        message(2, 9, 2, 2100, "Ben <ben@example.test>"),
    ];
    sent.iter_mut().for_each(|m| m.version = v);
    (sent[1].reply_to, sent[1].html) = (some("rep@acme.test"), true);
    let mut again = sent[0].clone();
    again.subject = "Written twice".into();
    let mut written = sent.clone();
    written.push(again);
    commit(store, |b| b.outbox = written);
    let rows = store.outbox(None, 10).unwrap();
    assert_eq!(
        rows.iter().map(|r| r.message.clone()).collect::<Vec<_>>(),
        sent
    );
    let who: Vec<&str> = rows.iter().map(|r| r.contact_id.as_str()).collect();
    assert_eq!(who, ["ana", "ben", "ana", "ben"]);
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    let (i1, i2, i3, i4) = (ids[0], ids[1], ids[2], ids[3]);
    assert_eq!(
        outbox(store),
        "pending 0 0 -, pending 0 0 -, pending 0 0 -, pending 0 0 -"
    );
    assert_eq!(store.outbox(Some(Pending), 2).unwrap().len(), 2);
    assert_eq!(store.first_sent().unwrap(), Some(1000));
    assert_eq!(store.next_outbox_attempt().unwrap(), Some(0));

    assert_eq!(claim(store, 50, 2), [(i1, 1), (i2, 1)]);
    assert_eq!(updated(store, OutboxState::Sending), [(i1, 50), (i2, 50)]);
    let ok = Delivery::Sent {
        reply: "250 ok".into(),
    };
    let busy = Delivery::Retry {
        reply: "451 busy".into(),
        next_attempt: 500,
    };
    store.finish_outbox(&[(i1, ok), (i2, busy)], 60).unwrap();
    let now = "sent 1 0 250 ok, pending 1 500 451 busy, pending 0 0 -, pending 0 0 -";
    assert_eq!(outbox(store), now);
    assert_eq!(updated(store, Sent), [(i1, 60)]);

    assert_eq!(claim(store, 100, 10), [(i3, 1), (i4, 1)]);
    let bounce = about("bounce:7.2", 2000, "ana", "bounced", Some((7, 2)));
    let failed = about("failed:9.2", 2100, "ben", "failed", Some((9, 2)));
    let gone = Delivery::Bounced {
        reply: "550 gone".into(),
        input: bounce.clone(),
    };
    let bad = Delivery::Failed {
        reply: "553 bad".into(),
        input: Some(failed.clone()),
    };
    store.finish_outbox(&[(i3, gone), (i4, bad)], 110).unwrap();
    assert_eq!(take_inputs(store), expect(&[&bounce, &failed]));
    assert_eq!(store.next_outbox_attempt().unwrap(), Some(500));
    assert!(claim(store, 499, 10).is_empty());
    assert_eq!(claim(store, 600, 10), [(i2, 2)]);
    assert_eq!(store.mark_in_doubt(700).unwrap(), 1);
    assert_eq!(store.mark_in_doubt(710).unwrap(), 0);
    let now = "sent 1 0 250 ok, in-doubt 2 500 451 busy, bounced 1 0 550 gone, failed 1 0 553 bad";
    assert_eq!(outbox(store), now);
    assert_eq!(store.next_outbox_attempt().unwrap(), None);

    // Only what is in doubt or failed is sent again.
    assert_eq!(store.resend(i1, 800).unwrap(), Some(Sent));
    assert_eq!(store.resend(i2, 800).unwrap(), Some(InDoubt));
    assert_eq!(store.resend(i3, 800).unwrap(), Some(Bounced));
    assert_eq!(store.resend(i4, 800).unwrap(), Some(Failed));
    assert_eq!(store.resend(i4 + 1000, 800).unwrap(), None);
    let now = "sent 1 0 250 ok, pending 2 0 451 busy, bounced 1 0 550 gone, pending 1 0 553 bad";
    assert_eq!(outbox(store), now);
    assert_eq!(store.next_outbox_attempt().unwrap(), Some(0));
    assert_eq!(claim(store, 900, 10), [(i2, 3), (i4, 2)]);
    assert_eq!(store.mark_in_doubt(950).unwrap(), 2);
    assert_eq!(updated(store, InDoubt), [(i2, 950), (i4, 950)]);
    let mut by_state = store.outbox_counts().unwrap();
    by_state.sort();
    let want =
        [("bounced", 1), ("in-doubt", 2), ("sent", 1)].map(|(state, n)| (state.to_string(), n));
    assert_eq!(by_state, want);
    sent
}

/// What a lookup finds, with the time it dates the message by.
fn found(m: &NewMessage, contact: &str, sent: i64) -> Option<MessageRef> {
    Some(MessageRef {
        contact: contact.into(),
        rowid: m.contact,
        version: m.version,
        step: m.step,
        recipient: m.recipient.clone(),
        sender: m.sender.clone(),
        message_id: m.message_id.clone(),
        sent,
        enrolment: m.enrolment,
        exec: m.exec,
    })
}

fn messages_are_found_by_link_by_message_id_and_by_address(
    s: &mut dyn LiveStore,
    sent: &[NewMessage],
) {
    let [m1, m2, _bounced, m4] = sent else {
        panic!("four messages")
    };
    // A message sent is dated when it left; one in doubt when it was made.
    assert_eq!(s.message_of(1, 7, 1).unwrap(), found(m1, "ana", 60));
    assert_eq!(s.message_of(2, 9, 2).unwrap(), found(m4, "ben", 2100));
    assert_eq!(s.message_of(2, 7, 1).unwrap(), None);
    assert_eq!(s.message_of(1, 7, 9).unwrap(), None);
    assert_eq!(
        s.message_by_id("<7.1.x1000@acme.test>").unwrap(),
        found(m1, "ana", 60)
    );
    assert_eq!(
        s.message_by_id(" 7.1.x1000@acme.test ").unwrap(),
        found(m1, "ana", 60)
    );
    assert_eq!(
        s.message_by_id("<9.1.x1100@acme.test>").unwrap(),
        found(m2, "ben", 1100)
    );
    assert_eq!(s.message_by_id("<7.1.other@acme.test>").unwrap(), None);
    assert_eq!(s.message_by_id("<hello@elsewhere.test>").unwrap(), None);
    // What bounced is never what an answer answers.
    let ana = address_key("ANA@example.test");
    assert_eq!(
        s.latest_message_to(&ana, 10_000).unwrap(),
        found(m1, "ana", 60)
    );
    assert_eq!(s.latest_message_to(&ana, 59).unwrap(), None);
    let ben = address_key("Ben <ben+x@example.test>");
    assert_eq!(
        s.latest_message_to(&ben, 3000).unwrap(),
        found(m4, "ben", 2100)
    );
    assert_eq!(
        s.latest_message_to(&ben, 2000).unwrap(),
        found(m2, "ben", 1100)
    );
    assert_eq!(s.latest_message_to(&ben, 1000).unwrap(), None);
    assert_eq!(
        s.latest_message_to("nobody@example.test", 10_000).unwrap(),
        None
    );
    assert_eq!(s.first_sent().unwrap(), Some(1000));
}

fn task(contact: ContactId, enrolment: u64, exec: u32, owner: Option<&str>, due: i64) -> NewTask {
    NewTask {
        contact,
        enrolment,
        exec,
        version: 0,
        step: exec,
        kind: "call".into(),
        subject: format!("Call {enrolment}.{exec}"),
        task_type: None,
        owner: owner.map(String::from),
        priority: "normal".into(),
        due,
        created: 4000,
        phone: some("+1 555 0101"),
        zone: "Europe/Paris".into(),
    }
}

/// Tasks as `enrolment.exec due state [outcome] [@closed]`.
fn tasks(store: &mut dyn LiveStore, filter: TaskFilter) -> String {
    let show = |t: &TaskRow| {
        let mut s = format!(
            "{}.{} {} {}",
            t.task.enrolment, t.task.exec, t.task.due, t.state
        );
        s += &t
            .outcome
            .as_ref()
            .map(|o| format!(" {o}"))
            .unwrap_or_default();
        s + &t.closed.map(|c| format!(" @{c}")).unwrap_or_default()
    };
    let rows = store.tasks(&filter).unwrap();
    rows.iter().map(show).collect::<Vec<_>>().join(", ")
}

fn filter(
    owner: Option<&str>,
    due_before: Option<i64>,
    open_only: bool,
    id: Option<i64>,
) -> TaskFilter {
    let owner = owner.map(String::from);
    TaskFilter {
        owner,
        due_before,
        open_only,
        id,
    }
}

fn every_task() -> TaskFilter {
    TaskFilter::default()
}

fn done(enrolment: u64, exec: u32, outcome: &str, at: i64) -> TaskUpdate {
    TaskUpdate::Done {
        enrolment,
        exec,
        outcome: outcome.into(),
        at,
    }
}

fn closed(enrolment: u64, exec: u32, state: &'static str, at: i64) -> TaskUpdate {
    TaskUpdate::Closed {
        enrolment,
        exec,
        state,
        at,
    }
}

fn hold(owner: bool, name: &str, since: i64, until: Option<i64>, catch_up: bool) -> HoldRow {
    HoldRow {
        owner,
        name: name.into(),
        since,
        until,
        catch_up,
    }
}

fn tasks_close_and_follow_their_owners_time_off(
    store: &mut dyn LiveStore,
    welcome: i64,
    nurture: i64,
) {
    let mut t2 = task(2, 9, 3, Some("sam"), 4500);
    (t2.kind, t2.task_type, t2.priority) = ("task".to_string(), some("todo"), "high".to_string());
    (t2.phone, t2.zone) = (None, "UTC".to_string());
    let mut all = vec![
        task(1, 7, 3, Some("sam"), 5000),
        t2,
        task(3, 6, 1, Some("lee"), 6000),
        task(3, 6, 2, None, 7000),
        task(2, 9, 4, Some("sam"), 10_000),
    ];
    all.iter_mut()
        .for_each(|t| t.version = if t.enrolment == 6 { nurture } else { welcome });
    let mut again = all[0].clone();
    again.subject = "Written twice".into();
    let mut written = all.clone();
    written.push(again);
    commit(store, |b| b.tasks = written);
    let rows = store.tasks(&every_task()).unwrap();
    let by_due = [1, 0, 2, 3, 4].map(|i| all[i].clone());
    assert_eq!(
        rows.iter().map(|r| r.task.clone()).collect::<Vec<_>>(),
        by_due
    );
    let whose: Vec<_> = rows
        .iter()
        .map(|r| format!("{} {}", r.contact_id, r.cadence))
        .collect();
    assert_eq!(
        whose,
        [
            "ben welcome",
            "ana welcome",
            "cy nurture",
            "cy nurture",
            "ben welcome"
        ]
    );
    let open = "9.3 4500 open, 7.3 5000 open, 6.1 6000 open, 6.2 7000 open, 9.4 10000 open";
    assert_eq!(tasks(store, every_task()), open);
    let sam = Some("sam");
    let sams = "9.3 4500 open, 7.3 5000 open, 9.4 10000 open";
    assert_eq!(tasks(store, filter(sam, None, false, None)), sams);
    assert_eq!(
        tasks(store, filter(None, Some(5000), false, None)),
        "9.3 4500 open"
    );
    let sams = "9.3 4500 open, 7.3 5000 open";
    assert_eq!(tasks(store, filter(sam, Some(6000), false, None)), sams);
    let third = Some(rows[2].id);
    assert_eq!(
        tasks(store, filter(None, None, false, third)),
        "6.1 6000 open"
    );
    assert_eq!(store.counts().unwrap().tasks_open, 5);

    // An outcome closes an open task once; a task nobody answered is cancelled or expires.
    let updates = vec![
        done(9, 3, "answered", 4600),
        closed(6, 2, "cancelled", 4700),
    ];
    commit(store, |b| b.task_updates = updates);
    let updates = vec![
        done(9, 3, "no_answer", 4800),
        closed(70, 1, "expired", 4800),
    ];
    commit(store, |b| b.task_updates = updates);
    let now = "9.3 4500 done answered @4600, 7.3 5000 open, 6.1 6000 open, \
               6.2 7000 cancelled @4700, 9.4 10000 open";
    assert_eq!(tasks(store, every_task()), now);
    let open = "7.3 5000 open, 6.1 6000 open, 9.4 10000 open";
    assert_eq!(tasks(store, filter(None, None, true, None)), open);
    assert_eq!(store.counts().unwrap().tasks_open, 3);

    // An owner away: their open tasks due before they are back wait for them, and get their
    // own due time back when the time off ends.
    assert!(store.holds().unwrap().is_empty());
    let paused = hold(false, "welcome", 4800, None, true);
    let away = hold(true, "sam", 4800, Some(8000), false);
    let longer = hold(true, "sam", 4900, Some(9000), false);
    let holds = vec![(away, true), (paused.clone(), true)];
    commit(store, |b| b.holds = holds);
    let sams = |due: i64| format!("9.3 4500 done answered @4600, 7.3 {due} open, 9.4 10000 open");
    assert_eq!(tasks(store, filter(sam, None, false, None)), sams(8000));
    commit(store, |b| b.holds = vec![(longer.clone(), true)]);
    assert_eq!(store.holds().unwrap(), [paused.clone(), longer.clone()]);
    assert_eq!(tasks(store, filter(sam, None, false, None)), sams(9000));
    assert_eq!(
        tasks(store, filter(Some("lee"), None, false, None)),
        "6.1 6000 open"
    );
    commit(store, |b| b.holds = vec![(longer, false)]);
    assert_eq!(store.holds().unwrap(), std::slice::from_ref(&paused));
    assert_eq!(tasks(store, every_task()), now);
    commit(store, |b| b.holds = vec![(paused, false)]);
    assert!(store.holds().unwrap().is_empty());
}

const MAILBOX: &str = "sales@imap.test/INBOX";

fn mail(uid: u32, at: i64, class: &str, contact: Option<&str>, event: Option<&str>) -> MailRow {
    MailRow {
        mailbox: MAILBOX.into(),
        uidvalidity: 77,
        uid,
        message_id: Some(format!("m{uid}@client.test")),
        sender: some("ana@example.test"),
        subject: format!("Re: {uid}"),
        class: class.into(),
        event: event.map(String::from),
        contact: contact.map(String::from),
        ours: contact.map(|_| "7.1.x1000@acme.test".to_string()),
        matched_by: contact.map(|_| "in-reply-to".to_string()),
        sent: contact.map(|_| 60),
        at,
        read: at + 5,
        note: None,
    }
}

fn mail_read_from_a_mailbox_is_logged_and_its_checkpoint_moves_forward(s: &mut dyn LiveStore) {
    assert_eq!(s.mailbox_checkpoint(MAILBOX).unwrap(), None);
    assert!(s.mail_log(None, false).unwrap().is_empty());
    let replied = about("mail:m9", 3000, "ana", "replied", Some((7, 1)));
    let reply = mail(9, 3000, "reply", Some("ana"), Some("replied"));
    let mut ignored = mail(10, 3100, "ignored", None, None);
    ignored.note = some("not ours");
    let first = [
        (reply.clone(), Some(replied.clone())),
        (ignored.clone(), None),
    ];
    assert_eq!(s.record_mail(MAILBOX, (77, 10), &first, 3200).unwrap(), 1);
    assert_eq!(s.mailbox_checkpoint(MAILBOX).unwrap(), Some((77, 10)));
    assert_eq!(s.mailbox_checkpoint("other@imap.test/INBOX").unwrap(), None);
    assert_eq!(
        s.mail_log(None, false).unwrap(),
        [reply.clone(), ignored.clone()]
    );
    assert_eq!(
        s.mail_log(Some("ana"), false).unwrap(),
        std::slice::from_ref(&reply)
    );
    assert!(s.mail_log(Some("ben"), false).unwrap().is_empty());
    assert_eq!(
        s.mail_log(None, true).unwrap(),
        std::slice::from_ref(&ignored)
    );

    // Its event read again is neither queued nor logged twice; a UID logged is kept as it was;
    // an older checkpoint of the same UIDVALIDITY does not move it back.
    let again = mail(11, 3300, "reply", Some("ana"), Some("replied"));
    let mut changed = ignored.clone();
    changed.subject = "changed".into();
    let second = [(again.clone(), Some(replied.clone())), (changed, None)];
    assert_eq!(s.record_mail(MAILBOX, (77, 5), &second, 3400).unwrap(), 0);
    assert_eq!(s.mailbox_checkpoint(MAILBOX).unwrap(), Some((77, 10)));
    let mut read_before = again;
    (read_before.event, read_before.note) = (None, some("read before: its event was queued then"));
    assert_eq!(
        s.mail_log(None, false).unwrap(),
        [reply, ignored, read_before]
    );
    assert_eq!(take_inputs(s), expect(&[&replied]));

    // A new UIDVALIDITY starts again, even lower.
    assert_eq!(s.record_mail(MAILBOX, (78, 3), &[], 3500).unwrap(), 0);
    assert_eq!(s.mailbox_checkpoint(MAILBOX).unwrap(), Some((78, 3)));
    assert_eq!(s.record_mail(MAILBOX, (78, 4), &[], 3600).unwrap(), 0);
    assert_eq!(s.mailbox_checkpoint(MAILBOX).unwrap(), Some((78, 4)));
}

fn a_replayed_webhook_queues_nothing(s: &mut dyn LiveStore) {
    let a = event("hook:a", 10_000, "ana", "clicked");
    let b = event("hook:b", 10_001, "ben", "clicked");
    let day = NONCE_SECONDS;
    assert_eq!(
        s.enqueue_once("n1", std::slice::from_ref(&a), 10_000)
            .unwrap(),
        Some(vec![true])
    );
    assert_eq!(
        s.enqueue_once("n1", std::slice::from_ref(&b), 10_100)
            .unwrap(),
        None
    );
    assert_eq!(
        s.enqueue_once("n1", std::slice::from_ref(&b), 10_000 + day)
            .unwrap(),
        None
    );
    assert_eq!(pending(s), expect(&[&a]));
    // Forgotten once older than NONCE_SECONDS.
    assert_eq!(
        s.enqueue_once("n1", std::slice::from_ref(&b), 10_001 + day)
            .unwrap(),
        Some(vec![true])
    );
    assert_eq!(
        s.enqueue_once("n2", std::slice::from_ref(&a), 10_002 + day)
            .unwrap(),
        Some(vec![false])
    );
    assert_eq!(take_inputs(s), expect(&[&a, &b]));
}

fn hit(contact: &str, enrolment: u64, link: Option<u32>, at: i64) -> Hit {
    let (contact, cadence) = (contact.to_string(), some("welcome"));
    Hit {
        contact,
        enrolment,
        exec: 1,
        step: 1,
        cadence,
        link,
        at,
        machine: None,
    }
}

/// The clicks held back, and whether each is part of a burst.
fn held(store: &mut dyn LiveStore, before: i64) -> Vec<(Hit, bool)> {
    let hits = store.held_hits(before).unwrap();
    hits.into_iter().map(|h| (h.hit, h.burst)).collect()
}

fn opens_and_clicks_are_kept_up_to_a_limit_and_clicks_are_held(s: &mut dyn LiveStore) {
    let opened = |i: i64| {
        about(
            &format!("open:{i}"),
            20_000 + i,
            "ana",
            "opened",
            Some((7, 1)),
        )
    };
    let mut queued = Vec::new();
    for i in 0..=HITS_PER_LINK {
        // The second open repeats the first one's event: kept, but nothing new is queued.
        let input = opened(if i == 1 { 0 } else { i });
        let new = s
            .add_hit(&hit("ana", 7, None, 20_000 + i), Some(&input), 30_000)
            .unwrap();
        assert_eq!(new, i != 1 && i < HITS_PER_LINK, "open {i}");
        if new {
            queued.push(input);
        }
    }
    assert_eq!(take_inputs(s), expect(&queued.iter().collect::<Vec<_>>()));

    let c0 = hit("ana", 7, Some(0), 30_000);
    let c1 = hit("ana", 7, Some(1), 30_001);
    let c2 = hit("ana", 7, Some(2), 30_010);
    let mut other = hit("ben", 9, Some(0), 30_100);
    other.machine = some("scanner");
    for h in [&c0, &c1, &c2, &other] {
        assert!(s.add_hit(h, None, 30_200).unwrap());
    }
    assert_eq!(held(s, 30_005), [(c0.clone(), true), (c1.clone(), true)]);
    let all = [
        (c0.clone(), true),
        (c1.clone(), true),
        (c2.clone(), false),
        (other.clone(), false),
    ];
    assert_eq!(held(s, 40_000), all);
    let ids: Vec<i64> = s.held_hits(30_005).unwrap().iter().map(|h| h.id).collect();
    let clicked = |h: &Hit| {
        about(
            &format!("click:{}", h.at),
            h.at,
            &h.contact,
            "clicked",
            None,
        )
    };
    let done = [(ids[0], clicked(&c0)), (ids[1], clicked(&c1))];
    s.queue_hits(&done, 40_000).unwrap();
    assert_eq!(held(s, 40_000), [(c2, false), (other, false)]);
    assert_eq!(take_inputs(s), expect(&[&done[0].1, &done[1].1]));
}

fn tokens_are_stored_found_and_revoked(s: &mut dyn LiveStore) {
    assert!(s.tokens().unwrap().is_empty());
    assert!(s.create_token("ci", b"hash one", 100).unwrap());
    assert!(
        !s.create_token("ci", b"hash two", 101).unwrap(),
        "names are unique"
    );
    assert!(s.create_token("ops", b"hash three", 102).unwrap());
    assert_eq!(s.token_name(b"hash one").unwrap(), some("ci"));
    assert_eq!(s.token_name(b"hash two").unwrap(), None);
    assert!(s.revoke_token("ci", 200).unwrap());
    assert!(!s.revoke_token("ci", 201).unwrap());
    assert!(!s.revoke_token("nobody", 201).unwrap());
    assert_eq!(s.token_name(b"hash one").unwrap(), None);
    assert_eq!(s.token_name(b"hash three").unwrap(), some("ops"));
    let tokens = s.tokens().unwrap();
    let tokens: Vec<_> = tokens
        .iter()
        .map(|t| (t.name.as_str(), t.created, t.revoked))
        .collect();
    assert_eq!(tokens, [("ci", 100, Some(200)), ("ops", 102, None)]);
}

fn the_journal_is_visited_in_order_with_contact_ids(s: &mut dyn LiveStore) {
    let record = |at: i64, contact: ContactId| JournalRow {
        at,
        contact,
        version: 1,
        kind: at % 7,
        step: Some(at % 3),
        a: (at % 2 == 0).then_some(at),
        b: None,
        name: Some(format!("r{at}")),
    };
    // Many small commits and one large one: the journal is kept (and read) in pieces.
    let mut batches = vec![vec![record(1, 1), record(2, 2), record(3, 42)]];
    batches.extend((0..65).map(|i| vec![record(10 + i, 1 + (i % 6) as ContactId)]));
    batches.push(
        (0..5000)
            .map(|i| record(100 + i, 1 + (i % 6) as ContactId))
            .collect(),
    );
    let names = ["", "ana", "ben", "cy", "di", "ed", "flo"];
    let mut want = Vec::new();
    for journal in batches {
        for r in &journal {
            let name = names.get(r.contact as usize).copied().unwrap_or("?");
            want.push((r.clone(), name.to_string()));
        }
        commit(s, |b| b.journal = journal);
    }
    let mut seen = Vec::new();
    let mut visit = |r: &JournalRow, id: &str| -> Result<(), LiveError> {
        seen.push((r.clone(), id.to_string()));
        Ok(())
    };
    s.journal(&mut visit).unwrap();
    assert_eq!(seen.len(), want.len());
    assert!(seen == want, "the journal differs from what was written");
    let mut visited = 0;
    let mut stop = |_: &JournalRow, _: &str| -> Result<(), LiveError> {
        visited += 1;
        Err(LiveError::Db("enough".into()))
    };
    assert_eq!(s.journal(&mut stop), Err(LiveError::Db("enough".into())));
    assert_eq!(visited, 1);
}

fn the_counts_add_up(s: &mut dyn LiveStore) {
    assert!(pending(s).is_empty());
    let last = event("last", 99_999, "ana", "noted");
    assert_eq!(
        s.enqueue(std::slice::from_ref(&last), 99_999).unwrap(),
        [true]
    );
    let rows = s.next_inputs(10).unwrap();
    assert_eq!(read(&rows), expect(&[&last]));
    assert_eq!(s.first_input_at().unwrap(), Some(99_999));
    assert_eq!(s.last_input_at().unwrap(), Some(99_999));
    let counts = s.counts().unwrap();
    assert_eq!(
        counts.inbox, rows[0].seq,
        "the inbox counts up to its last input"
    );
    assert_eq!(
        (counts.contacts, counts.waiting, counts.tasks_open),
        (6, 5, 3)
    );
    let mut outbox = counts.outbox;
    outbox.sort();
    let want =
        [("bounced", 1), ("in-doubt", 2), ("sent", 1)].map(|(state, n)| (state.to_string(), n));
    assert_eq!(outbox, want);
    assert_eq!(s.contact_count().unwrap(), 6);
}

/// A NUL character in what a contact, a request or a message carries is kept by both stores
/// (PostgreSQL, which refuses it in text, keeps U+FFFD in its place): it never fails a write.
fn a_nul_character_is_written_without_an_error(store: &mut dyn LiveStore) -> (String, String) {
    let mut odd = event("nul\0key", 500, "n\0l", "set");
    if let InputKind::Event { field, value, .. } = &mut odd.what {
        *field = some("note");
        *value = some("a\0b");
    }
    assert_eq!(
        store.enqueue(std::slice::from_ref(&odd), 1).unwrap(),
        [true]
    );
    let rows = store.next_inputs(10).unwrap();
    let value = match &rows[0].input.what {
        InputKind::Event { value, .. } => value.clone().unwrap(),
        other => panic!("{other:?}"),
    };
    let mut m = mail(1, 600, "reply", None, None);
    m.subject = "Re:\0 hi".into();
    m.sender = some("x\0@example.test");
    assert_eq!(
        store.record_mail("box\0", (1, 1), &[(m, None)], 1).unwrap(),
        0
    );
    let subject = store.mail_log(None, true).unwrap()[0].subject.clone();
    (value, subject)
}

#[test]
fn a_nul_character_is_written_by_both_stores_without_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut sqlite = SqliteLive::open(&dir.path().join("live.db"), true).unwrap();
    assert_eq!(
        a_nul_character_is_written_without_an_error(&mut sqlite),
        ("a\0b".to_string(), "Re:\0 hi".to_string())
    );
    let Some(db) = common::pg::fresh("nul") else {
        return;
    };
    let mut pg = PgLive::open(&db.url, true).unwrap();
    assert_eq!(
        a_nul_character_is_written_without_an_error(&mut pg),
        ("a\u{FFFD}b".to_string(), "Re:\u{FFFD} hi".to_string())
    );
}
