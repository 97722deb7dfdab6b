//! `cadence run --imap` end to end, with real servers on loopback (Postfix and Dovecot, see
//! `common/mailserver.rs`): the runner sends step 1 through Postfix; the prospects answer as
//! people do, through Postfix into the sending mailbox; the runner reads it by IMAP. A reply
//! ends the enrolment before the next email, an out-of-office answer pauses it and the wait goes
//! on after, a bounce made by Postfix ends it, and a restart reads each message once.

mod common;

use std::time::{Duration, Instant};

use common::bin::cadence;
use common::mailserver::MailServers;

const CADENCE: &str = r#"
cadence "Outreach"
from "Sales <sales@acme-sales.test>"
exit on replied
pause on auto_reply 1m
template hello { subject "Quick question"; body "Hi {{first_name | there}}, do you have a minute?" }
template again { subject "Following up"; body "Hi again {{first_name | there}}." }
step 1: email hello
  on bounced -> exit "bad address"
  on no_reply 1m -> step 2
step 2: email again
"#;

const SALES: &str = "sales@acme-sales.test";

fn now_rfc3339(plus: i64) -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        + plus;
    chrono::DateTime::from_timestamp(t, 0)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// The Message-ID of the first message in a mailbox whose subject is `subject`.
fn message_id(text: &str) -> String {
    text.lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("message-id")
                .then(|| v.trim().to_string())
        })
        .expect("a Message-ID")
}

fn wait_until(what: &str, limit: Duration, ok: impl FnMut() -> bool) {
    wait_every(what, limit, Duration::from_millis(200), ok)
}

fn wait_every(what: &str, limit: Duration, every: Duration, mut ok: impl FnMut() -> bool) {
    let t = Instant::now();
    while !ok() {
        assert!(t.elapsed() < limit, "waited {limit:?} for {what}");
        std::thread::sleep(every);
    }
}

fn trace(db: &str) -> Vec<serde_json::Value> {
    cadence(&["trace", "--db", db, "--format", "jsonl"])
        .status(0)
        .0
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn has(trace: &[serde_json::Value], contact: &str, kind: &str) -> bool {
    trace
        .iter()
        .any(|r| r["contact"] == contact && r["kind"] == kind)
}

struct Runner {
    child: std::process::Child,
    log: std::path::PathBuf,
}

impl Runner {
    fn start(dir: &std::path::Path, mx: &MailServers, with_files: bool) -> Runner {
        Runner::start_with(dir, mx, with_files, &[])
    }

    fn start_with(
        dir: &std::path::Path,
        mx: &MailServers,
        with_files: bool,
        env: &[(&str, &str)],
    ) -> Runner {
        let p = |n: &str| dir.join(n).display().to_string();
        let mut args = vec![
            "run".to_string(),
            p("outreach.cadence"),
            "--db".into(),
            p("live.db"),
            "--smtp".into(),
            mx.smtp_url(),
            "--imap".into(),
            mx.imap_url(SALES),
            "--imap-poll".into(),
            "2s".into(),
            "--retry-after".into(),
            "1s".into(),
        ];
        if with_files {
            args.extend([
                "--contacts".into(),
                p("contacts.csv"),
                "--events".into(),
                p("events.csv"),
            ]);
        }
        let log = dir.join("runner.log");
        let _ = std::fs::remove_file(&log);
        let runner = Runner {
            child: env
                .iter()
                .fold(cadence(&args), |c, (k, v)| c.env(k, v))
                .spawn_logged(&log),
            log,
        };
        // Up, with its signal handlers: a SIGTERM from now on stops it cleanly.
        wait_until("the runner to start", Duration::from_secs(20), || {
            std::fs::read_to_string(&runner.log)
                .unwrap_or_default()
                .contains("running on the wall clock")
        });
        runner
    }

    /// SIGKILL: no chance to finish anything.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    fn stop(mut self) -> String {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let t = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "the runner stopped with {status}");
                break;
            }
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "the runner did not stop"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_reply_stops_the_next_email_an_out_of_office_pauses_and_a_bounce_ends() {
    let users = [
        SALES,
        "ann@prospect.test",
        "otto@prospect.test",
        "carl@prospect.test",
        "stranger@prospect.test",
    ];
    let Some(mx) = MailServers::start(&users, &["acme-sales.test", "prospect.test"]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("outreach.cadence"), CADENCE).unwrap();
    std::fs::write(
        dir.path().join("contacts.csv"),
        "id,first_name,email\n\
         ann,Ann,ann@prospect.test\n\
         otto,Otto,Otto+sales@Prospect.test\n\
         gone,Gone,gone@prospect.test\n\
         carl,Carl,carl@prospect.test\n",
    )
    .unwrap();
    let db = dir.path().join("live.db").display().to_string();
    // Mail that was there before anything was sent answers nothing of ours.
    mx.send(
        "ann@prospect.test",
        SALES,
        &format!(
            "From: ann@prospect.test\nTo: {SALES}\nSubject: Lunch?\nMessage-ID: <ann-0@prospect.test>\n\nLunch on Friday?\n"
        ),
    );
    wait_until("the old message delivered", Duration::from_secs(10), || {
        mx.mailbox(SALES).len() == 1
    });
    // Its arrival time (whole seconds) is before the second of our first email.
    std::thread::sleep(Duration::from_millis(1100));
    let at = now_rfc3339(1);
    std::fs::write(
        dir.path().join("events.csv"),
        format!(
            "at,contact,event\n{at},ann,enroll\n{at},otto,enroll\n{at},gone,enroll\n{at},carl,enroll\n"
        ),
    )
    .unwrap();
    let t0 = Instant::now();
    let runner = Runner::start(dir.path(), &mx, true);

    // Step 1 reaches the three real mailboxes; Postfix bounces the fourth back to sales@.
    wait_until(
        "step 1 in the prospects' mailboxes",
        Duration::from_secs(30),
        || {
            [
                "ann@prospect.test",
                "otto@prospect.test",
                "carl@prospect.test",
            ]
            .iter()
            .all(|u| !mx.mailbox(u).is_empty())
        },
    );
    let to_ann = message_id(&mx.mailbox("ann@prospect.test")[0]);
    let to_otto = message_id(&mx.mailbox("otto@prospect.test")[0]);

    // Ann answers (her mail program sets In-Reply-To); Otto's server answers for him.
    let sent = Instant::now();
    mx.send(
        "ann@prospect.test",
        SALES,
        &format!(
            "From: Ann <ann@prospect.test>\nTo: {SALES}\nSubject: Re: Quick question\n\
             Message-ID: <ann-1@prospect.test>\nIn-Reply-To: {to_ann}\nReferences: {to_ann}\n\n\
             Yes, call me tomorrow.\n\n> Hi Ann, do you have a minute?\n"
        ),
    );
    mx.send(
        "otto@prospect.test",
        SALES,
        &format!(
            "From: Otto <otto@prospect.test>\nTo: {SALES}\nSubject: Out of Office: Quick question\n\
             Auto-Submitted: auto-replied\nMessage-ID: <otto-ooo@prospect.test>\n\
             In-Reply-To: {to_otto}\n\nI am out of the office with limited access to email.\n"
        ),
    );
    mx.send(
        "stranger@prospect.test",
        SALES,
        "From: stranger@prospect.test\nTo: sales@acme-sales.test\nSubject: Hello?\n\
         Message-ID: <stranger-1@prospect.test>\n\nWho are you?\n",
    );
    // IDLE tells the runner at once; the poll interval (2 s) bounds it.
    wait_until(
        "Ann's reply, Otto's pause and the bounce",
        Duration::from_secs(20),
        || {
            let t = trace(&db);
            has(&t, "ann", "exited") && has(&t, "otto", "paused") && has(&t, "gone", "exited")
        },
    );
    let took = sent.elapsed();
    eprintln!("replied, paused and bounced within {took:?} of the answers");
    assert!(
        took < Duration::from_secs(8),
        "read within a poll interval (2 s) of delivery: {took:?}"
    );
    let t = trace(&db);
    let ann_exit = t
        .iter()
        .find(|r| r["contact"] == "ann" && r["kind"] == "exited")
        .unwrap();
    assert_eq!(ann_exit["reason"], "replied", "{ann_exit}");
    let gone_exit = t
        .iter()
        .find(|r| r["contact"] == "gone" && r["kind"] == "exited")
        .unwrap();
    assert!(gone_exit.to_string().contains("bad address"), "{gone_exit}");
    let paused = t
        .iter()
        .find(|r| r["contact"] == "otto" && r["kind"] == "paused")
        .unwrap();
    assert_eq!(paused["reason"], "auto_reply", "{paused}");

    // Stopped between two polls: Carl answers meanwhile, and his step 2 falls due while the
    // runner is down. At the start the mailbox is read before anything is sent: no follow-up.
    let err = runner.stop();
    mx.send(
        "carl@prospect.test",
        SALES,
        &format!(
            "From: carl@prospect.test\nTo: {SALES}\nSubject: Re: Quick question\n\
             Message-ID: <carl-1@prospect.test>\n\nNot now, thanks.\n"
        ),
    );
    wait_until("Carl's answer delivered", Duration::from_secs(10), || {
        mx.mailbox(SALES).len() >= 6
    });
    let due = Duration::from_secs(65);
    if let Some(left) = due.checked_sub(t0.elapsed()) {
        std::thread::sleep(left);
    }
    let runner = Runner::start(dir.path(), &mx, false);
    wait_until(
        "Carl's answer read after the restart",
        Duration::from_secs(20),
        || has(&trace(&db), "carl", "exited"),
    );

    // Step 2 falls due a minute after step 1: nobody who answered gets it; Otto gets it once
    // his pause is over and the rest of his wait has run.
    wait_until(
        "step 2 for Otto after his pause",
        Duration::from_secs(150),
        || mx.mailbox("otto@prospect.test").len() >= 2,
    );
    assert!(
        t0.elapsed() >= Duration::from_secs(100),
        "Otto's wait went on after the pause"
    );
    let err2 = runner.stop();
    assert_eq!(
        mx.mailbox("ann@prospect.test").len(),
        1,
        "no follow-up after a reply"
    );
    assert_eq!(
        mx.mailbox("carl@prospect.test").len(),
        1,
        "no follow-up after a reply"
    );
    let t = trace(&db);
    assert!(has(&t, "otto", "resumed"), "{t:?}");
    let events = |t: &[serde_json::Value], c: &str| {
        t.iter()
            .filter(|r| r["contact"] == c && r["kind"] == "event")
            .count()
    };
    assert_eq!(events(&t, "carl"), 1, "Carl's answer is one event");
    assert_eq!(events(&t, "ann"), 1, "Ann's answer is one event");

    // The mailbox's UIDVALIDITY changes (a restore, a migration of the server): the mailbox is
    // read again from the start, and nothing is queued twice.
    {
        let c = rusqlite::Connection::open(&db).unwrap();
        c.execute("UPDATE mailboxes SET uidvalidity = 1", [])
            .unwrap();
    }
    let runner = Runner::start(dir.path(), &mx, false);
    wait_until("the mailbox read again", Duration::from_secs(20), || {
        let c = rusqlite::Connection::open(&db).unwrap();
        let v: i64 = c
            .query_row("SELECT uidvalidity FROM mailboxes", [], |r| r.get(0))
            .unwrap();
        v != 1
    });
    let err3 = runner.stop();
    // Read again from the day before the first email: Ann's old message too, matched to nobody
    // (it came before anything was sent to her), as the stranger's.
    assert!(
        err3.contains("mail: 6 messages read, 0 events queued, 2 matched to no contact"),
        "{err3}"
    );
    let t = trace(&db);
    assert_eq!(events(&t, "carl"), 1, "read again, queued once");
    assert_eq!(
        t.iter().filter(|r| r["kind"] == "event").count(),
        4,
        "Ann, Otto, Gone, Carl: one event each"
    );

    // The mail log: every message read once, the stranger's matched to nobody.
    let (log, _) = cadence(&["mail", "--db", &db, "--format", "json"]).status(0);
    let log: Vec<serde_json::Value> = serde_json::from_str(&log).unwrap();
    assert_eq!(
        log.len(),
        6,
        "{log:#?}\nfirst run:\n{err}\nsecond run:\n{err2}"
    );
    let old = log.iter().find(|r| r["subject"] == "Lunch?").unwrap();
    assert!(old["contact"].is_null(), "{old}");
    let by = |sender: &str| {
        log.iter()
            .filter(|r| r["subject"] != "Lunch?")
            .find(|r| r["sender"].as_str().unwrap_or("").starts_with(sender))
            .unwrap_or_else(|| panic!("no mail from {sender}: {log:#?}"))
    };
    assert_eq!(by("ann@")["matched_by"], "In-Reply-To");
    assert_eq!(by("ann@")["event"], "replied");
    assert_eq!(by("otto@")["event"], "auto_reply");
    assert_eq!(by("carl@")["matched_by"], "sender");
    assert!(by("stranger@")["contact"].is_null());
    let bounce = log.iter().find(|r| r["class"] == "bounce").unwrap();
    assert_eq!(bounce["contact"], "gone");
    let (unmatched, _) = cadence(&["mail", "--db", &db, "--unmatched"]).status(0);
    assert!(unmatched.contains("stranger@prospect.test"), "{unmatched}");
    // The timeline says which message the reply answered, and how it was found.
    let (timeline, _) = cadence(&["timeline", "ann", "--db", &db]).status(0);
    assert!(timeline.contains("matched by In-Reply-To"), "{timeline}");

    // Killed (SIGKILL) in the middle of a backlog: the next run reads on from the last batch it
    // committed, and every message is in the log once, none missed.
    for i in 0..120 {
        mx.send(
            "stranger@prospect.test",
            SALES,
            &format!(
                "From: stranger@prospect.test\nTo: {SALES}\nSubject: Note {i}\n\
                 Message-ID: <note-{i}@prospect.test>\n\nNote {i}.\n"
            ),
        );
    }
    wait_until("the backlog delivered", Duration::from_secs(60), || {
        mx.mailbox(SALES).len() >= 126
    });
    let logged = || -> (i64, i64, i64) {
        let c = rusqlite::Connection::open(&db).unwrap();
        c.query_row(
            "SELECT COUNT(*), COALESCE(MIN(uid), 0), COALESCE(MAX(uid), 0) FROM mail",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap()
    };
    // A pause after each batch of mail it records: the kill falls between two batches.
    let runner = Runner::start_with(
        dir.path(),
        &mx,
        false,
        &[("CADENCE_FAULT_PAUSE_PER_MAIL_BATCH_MS", "3000")],
    );
    wait_every(
        "a first batch of the backlog",
        Duration::from_secs(30),
        Duration::from_millis(20),
        || logged().0 > 6,
    );
    runner.kill();
    let at_kill = logged().0;
    let runner = Runner::start(dir.path(), &mx, false);
    wait_until("the whole backlog", Duration::from_secs(30), || {
        logged().0 >= 126
    });
    let err4 = runner.stop();
    eprintln!(
        "killed with {at_kill} of 126 messages recorded; after the restart: {:?}",
        logged()
    );
    assert!(
        at_kill < 126,
        "the kill fell in the middle of the backlog: {at_kill}"
    );
    assert_eq!(
        logged(),
        (126, 1, 126),
        "every message once, none missed\n{err4}"
    );
}
