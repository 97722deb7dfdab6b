//! The runner's HTTP side over a real socket, against a real `cadence run --listen` on the wall
//! clock, with a real SMTP server: the unsubscribe link of a delivered email, a GET that
//! changes nothing, a one-click POST that unsubscribes once, tampered links, `/healthz`.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Child;
use std::time::{Duration, Instant};

use common::bin::cadence;
use common::smtp::{free_port, Sink};

const CADENCE: &str = r#"
cadence "Welcome"
from "Sales Team <sales@acme.test>"
template welcome { subject "Welcome, {{first_name | there}}"; body "Hi. Unsubscribe: {{unsubscribe_link}}" }
template nudge { subject "Still there?"; body "Ping {{unsubscribe_link}}" }
step 1: email welcome
  on no_reply 2d -> step 2
step 2: email nudge
"#;

/// One HTTP/1.1 request; returns (status, body).
fn request(port: u16, method: &str, path: &str, body: &str) -> (u16, String) {
    let form = [("Content-Type", "application/x-www-form-urlencoded")];
    request_with(port, method, path, &form, body)
}

/// One HTTP/1.1 request with headers of its own; returns (status, body).
fn request_with(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    common::http::request(port, method, path, headers, body)
}

fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !ok() {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

struct Runner(Child);

impl Drop for Runner {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A `cadence run --listen` on the wall clock over one cadence, its contacts and events (from
/// 2026-01-01, so that the events run at once), answering on a free port.
struct Live {
    _dir: tempfile::TempDir,
    _runner: Runner,
    port: u16,
    db: String,
}

impl Live {
    fn start(cadence_text: &str, contacts: &str, events: &str) -> Live {
        Live::start_with(cadence_text, contacts, events, &[])
    }

    fn start_with(cadence_text: &str, contacts: &str, events: &str, env: &[(&str, &str)]) -> Live {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let path = |n: &str| d.join(n).display().to_string();
        std::fs::write(d.join("calls.cadence"), cadence_text).unwrap();
        std::fs::write(d.join("contacts.csv"), contacts).unwrap();
        std::fs::write(d.join("events.csv"), events).unwrap();
        let port = free_port();
        let db = path("live.db");
        let mut run = cadence(&[
            "run",
            &path("calls.cadence"),
            "--db",
            &db,
            "--contacts",
            &path("contacts.csv"),
            "--events",
            &path("events.csv"),
            "--start",
            "2026-01-01T00:00:00Z",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ]);
        for (k, v) in env {
            run = run.env(k, v);
        }
        let runner = Runner(run.spawn());
        wait_for_server(port);
        Live {
            _dir: dir,
            _runner: runner,
            port,
            db,
        }
    }
}

fn wait_for_server(port: u16) {
    common::http::wait_until_healthy(port);
}

#[test]
fn the_unsubscribe_link_of_an_email_unsubscribes_once_with_one_post() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let path = |n: &str| d.join(n).display().to_string();
    std::fs::write(d.join("welcome.cadence"), CADENCE).unwrap();
    std::fs::write(
        d.join("contacts.csv"),
        "id,first_name,email\nc1,Ann,ann@example.test\nc2,Bo,bo@example.test\n",
    )
    .unwrap();
    std::fs::write(
        d.join("events.csv"),
        "at,contact,event\n2026-01-05T09:00:00Z,c1,enroll\n2026-01-05T09:00:00Z,c2,enroll\n",
    )
    .unwrap();
    let Some(sink) = Sink::start(d, free_port(), &[]) else {
        return;
    };
    let port = free_port();
    let db = path("live.db");
    let mut runner = Runner(
        cadence(&[
            "run",
            &path("welcome.cadence"),
            "--db",
            &db,
            "--contacts",
            &path("contacts.csv"),
            "--events",
            &path("events.csv"),
            "--start",
            "2026-01-01T00:00:00Z",
            "--smtp",
            &sink.url(),
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--public-url",
            &format!("http://127.0.0.1:{port}/"),
        ])
        .spawn(),
    );
    // The wall clock runs everything due since the start at once: both welcomes, and both
    // nudges two days later.
    wait_for("four emails", || sink.received().len() == 4);
    let (status, body) = request(port, "GET", "/healthz", "");
    assert_eq!((status, body.as_str()), (200, "{\"status\":\"ok\"}\n"));
    // The relay's sends are counted: how long the server took, and what it said.
    let (status, metrics) = request(port, "GET", "/metrics", "");
    assert_eq!(status, 200);
    assert!(
        metrics.contains("cadence_emails_sent_total{result=\"accepted\"} 4"),
        "{metrics}"
    );
    assert!(
        metrics.contains("cadence_send_seconds_bucket{le=\"0.1\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("cadence_send_seconds_count 4"),
        "{metrics}"
    );
    // And what the runner wrote: four emails executed.
    assert!(
        metrics.contains("cadence_records_total{kind=\"executed\"} 4"),
        "{metrics}"
    );

    let to_ann = sink
        .received()
        .into_iter()
        .find(|m| m.rcpt_tos == ["ann@example.test"])
        .unwrap();
    let link = to_ann.header("List-Unsubscribe")[0]
        .trim_matches(|c| c == '<' || c == '>')
        .to_string();
    let prefix = format!("http://127.0.0.1:{port}/u/");
    assert!(link.starts_with(&prefix), "{link}");
    let at = &link[prefix.len() - 3..];
    assert!(
        to_ann.body.contains(&link),
        "the body links to the same page"
    );

    // A GET (a link scanner, or the reader's click) shows a button and changes nothing.
    let (status, page) = request(port, "GET", at, "");
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("<form method=\"post\" action=\"\">"),
        "{page}"
    );
    assert!(page.contains("ann@example.test"), "{page}");

    // Tampered or made-up links are 404s, and so are unknown paths.
    let token = &at[3..];
    let (payload, mac) = token.split_once('.').unwrap();
    let flipped = if mac.starts_with('A') { "B" } else { "A" };
    for bad in [
        format!("/u/{payload}.{flipped}{}", &mac[1..]),
        format!("/u/{payload}"),
        "/u/x.y".to_string(),
        "/u/%00".to_string(),
        "/nothing-here".to_string(),
    ] {
        let (status, body) = request(port, "POST", &bad, "List-Unsubscribe=One-Click");
        assert_eq!(status, 404, "{bad}: {body}");
    }
    // Whatever goes wrong, a page says so (never an empty or plain-text answer).
    for (method, path, code) in [("DELETE", at, 405), ("GET", "/u/%FF", 400)] {
        let (status, body) = request(port, method, path, "");
        assert_eq!(status, code, "{method} {path}: {body}");
        assert!(
            body.starts_with("<!DOCTYPE html>"),
            "{method} {path}: {body}"
        );
    }

    // The one-click POST of RFC 8058, twice (mail clients retry).
    for _ in 0..2 {
        let (status, page) = request(port, "POST", at, "List-Unsubscribe=One-Click");
        assert_eq!(status, 200, "{page}");
        assert!(page.contains("will get no more"), "{page}");
    }
    let unsubscribed = |trace: &str| {
        trace
            .lines()
            .filter(|l| l.contains("\"unsubscribed\"") && l.contains("\"contact\":\"c1\""))
            .count()
    };
    wait_for("the unsubscribe to be applied", || {
        let (trace, _) = cadence(&["trace", "--db", &db, "--format", "jsonl"]).status(0);
        unsubscribed(&trace) > 0
    });
    // SIGTERM: the runner finishes what it holds and exits 0.
    let pid = runner.0.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let t0 = Instant::now();
    let status = loop {
        if let Some(s) = runner.0.try_wait().unwrap() {
            break s;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "the runner did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
    let (trace, _) = cadence(&["trace", "--db", &db, "--format", "jsonl"]).status(0);
    assert_eq!(
        unsubscribed(&trace),
        1,
        "one unsubscribe, however often the link is used:\n{trace}"
    );
}

#[test]
fn listen_needs_the_wall_clock_and_a_free_address() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("w.cadence");
    std::fs::write(&f, CADENCE).unwrap();
    let db = dir.path().join("live.db").display().to_string();
    let f = f.display().to_string();
    let (_, err) = cadence(&[
        "run",
        &f,
        "--db",
        &db,
        "--clock",
        "virtual",
        "--listen",
        "127.0.0.1:0",
    ])
    .status(2);
    assert!(err.contains("--listen needs the wall clock"), "{err}");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let (_, err) = cadence(&["run", &f, "--db", &db, "--listen", &addr]).status(2);
    assert!(err.contains(&format!("cannot listen on `{addr}`")), "{err}");
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

#[test]
fn events_come_in_over_the_api_with_a_token_checked_whole_and_queued_once() {
    let live = Live::start(
        "cadence \"Calls\"\nfield score: number\nstep 1: call \"Intro\" owner \"sdr\"\n  on answered -> done\n  on no_answer -> step 2\nstep 2: call \"Again\" after 1d\n",
        "id,first_name\nc1,Ann\nc2,Bo\n",
        "at,contact,event\n2026-01-05T09:00:00Z,c1,enroll\n",
    );
    let (port, db) = (live.port, live.db.clone());
    let (token, _) = cadence(&["token", "create", "--db", &db, "--name", "crm"]).status(0);
    let token = token.trim().to_string();
    assert!(token.starts_with("cdn_"), "{token}");
    let (_, err) = cadence(&["token", "create", "--db", &db, "--name", "crm"]).status(2);
    assert!(err.contains("a token named `crm` exists"), "{err}");
    let bearer = format!("Bearer {token}");
    let auth = [
        ("Authorization", bearer.as_str()),
        ("Content-Type", "application/json"),
    ];
    let post = |headers: &[(&str, &str)], body: &str| {
        request_with(port, "POST", "/api/events", headers, body)
    };

    // Who may post.
    let ok_body = r#"{"contact":"c1","event":"answered","key":"call-1"}"#;
    let (status, body) = post(&[], ok_body);
    assert_eq!(status, 401, "{body}");
    assert!(json(&body)["error"]
        .as_str()
        .unwrap()
        .contains("Bearer TOKEN"));
    assert_eq!(post(&[("Authorization", "Basic eDp5")], ok_body).0, 401);
    let (status, body) = post(&[("Authorization", "Bearer cdn_0000")], ok_body);
    assert_eq!(status, 403, "{body}");

    // What is refused, each with a JSON error, and nothing queued.
    for (bad, code, says) in [
        ("{\"contact\":", 400, "not JSON"),
        ("[1, 2]", 400, "event 0"),
        ("\"answered\"", 400, "an event object"),
        ("[]", 400, "no events"),
        (r#"{"contact":5,"event":"answered"}"#, 400, "invalid type"),
        (
            r#"{"contact":"c1","event":"answered","colour":"red"}"#,
            400,
            "unknown field",
        ),
        (
            r#"{"contact":"nobody","event":"answered"}"#,
            422,
            "unknown contact `nobody`",
        ),
        (r#"{"contact":"c1","event":"danced"}"#, 422, "danced"),
        (
            r#"{"contact":"c1","event":"answered","at":"yesterday"}"#,
            422,
            "`at`",
        ),
        (
            r#"[{"contact":"c1","event":"answered"},{"contact":"c1","event":"answered","step":"x"}]"#,
            400,
            "event 1",
        ),
        (
            r#"[{"contact":"c1","event":"answered"},{"contact":"zed","event":"answered"}]"#,
            422,
            "1 of 2 events",
        ),
    ] {
        let (status, body) = post(&auth, bad);
        assert_eq!(status, code, "{bad}: {body}");
        let v = json(&body);
        let text = v.to_string();
        assert!(text.contains(says), "{bad}: {text}");
    }
    // Too large: refused before it is read.
    let big = [
        ("Authorization", bearer.as_str()),
        ("Content-Length", "5000000"),
    ];
    let (status, body) = request_with(port, "POST", "/api/events", &big, "");
    assert_eq!(status, 413, "{body}");
    json(&body);
    let (status, body) = request_with(port, "GET", "/api/contacts", &auth, "");
    assert_eq!(status, 404, "{body}");
    json(&body);
    // axum's own refusals come as JSON too.
    for (method, path, code) in [
        ("GET", "/api/events", 405),
        ("GET", "/api/contacts/%FF", 400),
        ("DELETE", "/api/tasks", 405),
    ] {
        let (status, body) = request_with(port, method, path, &auth, "");
        assert_eq!(status, code, "{method} {path}: {body}");
        json(&body);
    }
    // The scheme is case-insensitive.
    let lower = format!("bearer {token}");
    let (status, body) = post(
        &[("Authorization", lower.as_str())],
        r#"{"contact":"c1","event":"opened","key":"lower-1"}"#,
    );
    assert_eq!(status, 202, "{body}");

    // A batch: queued in one transaction before the answer; a key given again is a duplicate.
    let batch = r#"[{"contact":"c1","event":"answered","key":"call-1"},
                    {"contact":"c2","event":"enroll","cadence":"Calls"}]"#;
    let (status, body) = post(&auth, batch);
    assert_eq!(status, 202, "{body}");
    assert_eq!(
        json(&body),
        serde_json::json!({"queued": 2, "duplicates": 0})
    );
    let (status, body) = post(&auth, ok_body);
    assert_eq!(status, 202, "{body}");
    assert_eq!(
        json(&body),
        serde_json::json!({"queued": 0, "duplicates": 1})
    );

    wait_for("the events to be applied", || {
        let (trace, _) = cadence(&["trace", "--db", &db, "--format", "jsonl"]).status(0);
        trace.contains(
            r#""contact":"c1","cadence":"Calls","kind":"event","step":1,"event":"answered""#,
        ) && trace.contains(r#""contact":"c2","cadence":"Calls","kind":"enrolled""#)
    });
    let (trace, _) = cadence(&["trace", "--db", &db, "--format", "jsonl"]).status(0);
    assert_eq!(trace.matches(r#""event":"answered""#).count(), 1, "{trace}");

    // The reps' queue over HTTP, and an outcome for one of its tasks.
    let get = |path: &str| request_with(port, "GET", path, &auth, "");
    let mut task_id = 0;
    wait_for("c2's call in the queue", || {
        let (status, body) = get("/api/tasks?owner=sdr&due=all");
        assert_eq!(status, 200, "{body}");
        let rows = json(&body);
        match rows
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["contact_id"] == "c2" && t["state"] == "open")
        {
            Some(t) => {
                task_id = t["id"].as_i64().unwrap();
                assert_eq!(t["subject"], "Intro");
                assert_eq!(t["cadence"], "Calls");
                true
            }
            None => false,
        }
    });
    for (path, code) in [
        ("/api/tasks?due=someday", 400),
        ("/api/tasks?colour=red", 400),
    ] {
        let (status, body) = get(path);
        assert_eq!(status, code, "{path}: {body}");
        json(&body);
    }
    assert_eq!(request(port, "GET", "/api/tasks", "").0, 401);
    let outcome = |id: &str, body: &str| {
        request_with(
            port,
            "POST",
            &format!("/api/tasks/{id}/outcome"),
            &auth,
            body,
        )
    };
    for (id, body, code) in [
        ("999999", r#"{"outcome":"no_answer"}"#, 404),
        ("abc", r#"{"outcome":"no_answer"}"#, 404),
        (&task_id.to_string(), r#"{"outcome":"danced"}"#, 422),
        (&task_id.to_string(), r#"{"result":"no_answer"}"#, 400),
        (&task_id.to_string(), "no_answer", 400),
    ] {
        let (status, reply) = outcome(id, body);
        assert_eq!(status, code, "{id} {body}: {reply}");
        json(&reply);
    }
    let (status, body) = outcome(&task_id.to_string(), r#"{"outcome":"no_answer"}"#);
    assert_eq!(status, 202, "{body}");
    assert_eq!(json(&body), serde_json::json!({"queued": true}));
    let key = [
        ("Authorization", bearer.as_str()),
        ("Idempotency-Key", "caf\u{e9}"),
    ];
    let (status, body) = request_with(port, "PATCH", "/api/contacts/c2", &key, "{}");
    assert_eq!(status, 400, "{body}");
    wait_for("the outcome to move c2 on", || {
        let (trace, _) = cadence(&["trace", "--db", &db, "--format", "jsonl"]).status(0);
        trace.contains(r#""contact":"c2","cadence":"Calls","kind":"transition","from":1,"to":2,"on":"no_answer""#)
    });

    // The task has its outcome now: another is refused.
    let (status, body) = outcome(&task_id.to_string(), r#"{"outcome":"answered"}"#);
    assert_eq!(status, 409, "{body}");
    assert!(
        json(&body)["error"]
            .as_str()
            .unwrap()
            .contains("open task only"),
        "{body}"
    );

    let (status, body) = get("/api/report");
    assert_eq!(status, 200, "{body}");
    let report = json(&body);
    assert_eq!(report["cadences"][0]["cadence"], "Calls");
    assert_eq!(report["cadences"][0]["enrolled"], 2);
    let (status, body) = get("/api/cadences");
    assert_eq!(status, 200, "{body}");
    let cadences = json(&body);
    assert_eq!(cadences["cadences"][0]["name"], "Calls", "{cadences}");
    assert_eq!(cadences["cadences"][0]["enrolled"], 2, "{cadences}");
    assert_eq!(
        cadences["cadences"][0]["versions"][0]["current"], true,
        "{cadences}"
    );
    let (status, metrics) = request(port, "GET", "/metrics", "");
    assert_eq!(status, 200, "{metrics}");
    assert!(
        metrics.contains("# TYPE cadence_contacts gauge\ncadence_contacts 2\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("cadence_outbox_messages{state=\"in-doubt\"} 0"),
        "{metrics}"
    );

    // Contacts: created or changed with fields typed by the schema, read back with their story.
    let send = |method: &str, path: &str, body: &str| request_with(port, method, path, &auth, body);
    for (method, body, says) in [
        (
            "PATCH",
            r#"{"frist_name":"Cy"}"#,
            "did you mean `first_name`?",
        ),
        ("PATCH", r#"{"score":"lots"}"#, "field `score`"),
        ("PUT", r#"{"score":[1]}"#, "field `score`"),
        ("PATCH", r#"{"id":"c9"}"#, "`id` is the path"),
    ] {
        let (status, reply) = send(method, "/api/contacts/c3", body);
        assert_eq!(status, 422, "{method} {body}: {reply}");
        assert!(
            json(&reply)["error"].as_str().unwrap().contains(says),
            "{reply}"
        );
    }
    assert_eq!(send("PATCH", "/api/contacts/c3", "[1]").0, 400);
    assert_eq!(send("PATCH", "/api/contacts/%20c3", "{}").0, 422);
    let (status, reply) = send(
        "PUT",
        "/api/contacts/c3",
        r#"{"first_name":"Cy","score":7}"#,
    );
    assert_eq!(
        (status, json(&reply)),
        (202, serde_json::json!({"queued": true}))
    );
    wait_for("c3 to exist", || {
        send("GET", "/api/contacts/c3", "").0 == 200
    });
    let (status, reply) = send("PATCH", "/api/contacts/c3", r#"{"score":8.5}"#);
    assert_eq!(status, 202, "{reply}");
    wait_for("c3's score to change", || {
        json(&send("GET", "/api/contacts/c3", "").1)["fields"]["score"] == "8.5"
    });
    let c3 = json(&send("GET", "/api/contacts/c3", "").1);
    assert_eq!(
        c3["fields"]["first_name"], "Cy",
        "PATCH keeps the other fields: {c3}"
    );
    let (status, reply) = send("GET", "/api/contacts/c2", "");
    assert_eq!(status, 200, "{reply}");
    let c2 = json(&reply);
    assert!(
        c2["timeline"].as_str().unwrap().contains("\"Calls\""),
        "{c2}"
    );
    assert!(
        c2["history"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["kind"] == "enrolled"),
        "{c2}"
    );
    let (status, reply) = send("GET", "/api/contacts/nobody", "");
    assert_eq!(status, 404, "{reply}");
    json(&reply);

    // A burst of requests while the runner applies them: each opens its own connection in the
    // runner's process, and the database stays whole.
    for i in 0..100 {
        let body = format!(r#"{{"contact":"c2","event":"opened","key":"burst-{i}"}}"#);
        assert_eq!(post(&auth, &body).0, 202);
    }
    let conn = rusqlite::Connection::open(&db).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");

    // A revoked token is refused from then on.
    cadence(&["token", "revoke", "--db", &db, "crm"]).status(0);
    let (list, _) = cadence(&["token", "list", "--db", &db]).status(0);
    assert!(list.contains("crm") && list.contains("revoked"), "{list}");
    assert!(!list.contains(&token), "a token is never shown again");
    let (status, _) = post(&auth, ok_body);
    assert_eq!(status, 403);
}

/// The raw answer: (status, headers and body).
fn raw(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    write!(s, "{head}\r\n{body}").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap();
    (status, out)
}

#[test]
fn reps_sign_in_see_their_queue_at_local_time_and_log_an_outcome() {
    let live = Live::start(
        "cadence \"Calls\"\ntimezone \"America/New_York\"\nstep 1: call \"Intro\" owner \"sdr\" priority high\n  on answered -> done\n  on no_answer -> step 2\nstep 2: call \"Again\" after 1d\n",
        "id,first_name,phone\nc1,<script>alert(1)</script>,+1 555 0101\n",
        "at,contact,event\n2026-01-05T09:00:00Z,c1,enroll\n",
    );
    let (port, db) = (live.port, live.db.clone());
    // Nothing without signing in.
    for p in ["/reps", "/reps/contacts/c1", "/reps/report"] {
        let (status, page) = raw(port, "GET", p, &[], "");
        assert_eq!(status, 401, "{p}: {page}");
        assert!(page.contains("sign-in link"), "{page}");
    }
    let (token, _) = cadence(&["token", "create", "--db", &db, "--name", "ann"]).status(0);
    let token = token.trim().to_string();
    let (status, _) = raw(port, "GET", "/reps/sign-in?token=cdn_00", &[], "");
    assert_eq!(status, 403);
    let (status, answer) = raw(
        port,
        "GET",
        &format!("/reps/sign-in?token={token}&next=https://evil.test/"),
        &[],
        "",
    );
    assert_eq!(status, 303, "{answer}");
    assert!(
        answer.contains("location: /reps?due=today"),
        "never another site: {answer}"
    );
    assert!(answer.contains("HttpOnly; SameSite=Strict"), "{answer}");
    let cookie = format!("cadence_rep={token}");
    let signed = [("Cookie", cookie.as_str())];

    // My queue: the call at the contact's local time, the phone, a button per outcome, and the
    // contact's name shown as text.
    let mut page = String::new();
    wait_for("the call in the queue", || {
        page = raw(port, "GET", "/reps?owner=sdr&due=all", &signed, "").1;
        page.contains("Intro")
    });
    assert!(page.contains("EST"), "their local time: {page}");
    assert!(page.contains("+1 555 0101"), "{page}");
    assert!(page.contains("value=\"answered\""), "{page}");
    let id_at = page.find("/reps/tasks/").unwrap() + "/reps/tasks/".len();
    let id: String = page[id_at..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    let (status, record) = raw(port, "GET", "/reps/contacts/c1", &signed, "");
    assert_eq!(status, 200, "{record}");
    assert!(
        record.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{record}"
    );
    assert!(!record.contains("<script>alert"), "{record}");

    // A button: the outcome is queued, and the rep is back on the queue.
    let form = [
        ("Cookie", cookie.as_str()),
        ("Content-Type", "application/x-www-form-urlencoded"),
    ];
    let (status, _) = raw(
        port,
        "POST",
        &format!("/reps/tasks/{id}/outcome"),
        &[],
        "outcome=answered",
    );
    assert_eq!(status, 401, "no outcome without signing in");
    let (status, answer) = raw(
        port,
        "POST",
        &format!("/reps/tasks/{id}/outcome"),
        &form,
        "outcome=answered&back=owner%3Dsdr%26due%3Dall",
    );
    assert_eq!(status, 303, "{answer}");
    assert!(
        answer.contains("location: /reps?owner=sdr&due=all"),
        "{answer}"
    );
    wait_for("the contact to move on", || {
        let record = raw(port, "GET", "/reps/contacts/c1", &signed, "").1;
        record.contains("answered")
    });
    let (status, page) = raw(port, "GET", "/reps?owner=sdr&due=all", &signed, "");
    assert_eq!(status, 200);
    assert!(page.contains("done: answered"), "{page}");
    let (status, again) = raw(
        port,
        "POST",
        &format!("/reps/tasks/{id}/outcome"),
        &form,
        "outcome=answered",
    );
    assert_eq!(status, 409, "{again}");
    let (status, report) = raw(port, "GET", "/reps/report", &signed, "");
    assert_eq!(status, 200, "{report}");
    assert!(report.contains("Calls"), "{report}");
}

/// The same in a real browser: headless Chromium (Debian's) driven by playwright-core
/// (`tests/support/browser`, installed by `.ci/run` with npm). Skipped, saying so, where
/// either is missing, unless CADENCE_REQUIRE_PLAYWRIGHT is set.
#[test]
fn a_rep_clicks_answered_in_a_browser_and_the_contact_moves_on() {
    let support = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/browser");
    let ready = std::path::Path::new(support)
        .join("node_modules/playwright-core")
        .exists()
        && std::path::Path::new("/usr/bin/chromium").exists()
        && std::process::Command::new("node")
            .arg("--version")
            .output()
            .is_ok();
    if !ready {
        assert!(
            std::env::var_os("CADENCE_REQUIRE_PLAYWRIGHT").is_none(),
            "node, playwright-core (npm install in tests/support/browser) and chromium are required"
        );
        eprintln!("SKIPPED: the browser test needs node, Debian's chromium and `npm install` in tests/support/browser");
        return;
    }
    let live = Live::start(
        "cadence \"Calls\"\nstep 1: call \"Intro\" owner \"sdr\"\n  on answered -> done\n  on no_answer -> step 2\nstep 2: call \"Again\" after 1d\n",
        "id,first_name\nc7,<script>alert(1)</script>\n",
        "at,contact,event\n2026-01-05T09:00:00Z,c7,enroll\n",
    );
    let (port, db) = (live.port, live.db.clone());
    let (token, _) = cadence(&["token", "create", "--db", &db, "--name", "ann"]).status(0);
    let sign_in = format!(
        "http://127.0.0.1:{port}/reps/sign-in?token={}&next=%2Freps%3Fowner%3Dsdr%26due%3Dall",
        token.trim()
    );
    wait_for("the call", || {
        let (_, body) = request_with(
            port,
            "GET",
            "/api/tasks?due=all",
            &[("Authorization", &format!("Bearer {}", token.trim()))],
            "",
        );
        body.contains("\"c7\"")
    });
    let out = std::process::Command::new("node")
        .arg(format!("{support}/reps_click.mjs"))
        .arg(&sign_in)
        .arg("c7")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result = json(stdout.lines().last().unwrap_or(""));
    assert_eq!(result["done"], true, "{result}");
    assert_eq!(result["escaped"], true, "{result}");
    let (trace, _) = cadence(&["trace", "--db", &db, "--format", "jsonl"]).status(0);
    assert!(trace.contains(r#""contact":"c7","cadence":"Calls","kind":"transition","from":1,"to":"done","on":"answered""#), "{trace}");
}

#[test]
fn with_log_format_json_every_request_is_one_json_line_without_its_token() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("w.cadence"), CADENCE).unwrap();
    let port = free_port();
    let log = std::fs::File::create(d.join("log.jsonl")).unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_cadence"))
        .args([
            "run",
            "w.cadence",
            "--db",
            "live.db",
            "--log-format",
            "json",
        ])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .current_dir(d)
        .env_remove("CADENCE_DB")
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut runner = Runner(child);
    wait_for_server(port);
    assert_eq!(request(port, "POST", "/u/c2VjcmV0.dG9rZW4", "").0, 404);
    // A client that never finishes its request head is cut off.
    let mut slow = TcpStream::connect(("127.0.0.1", port)).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let t0 = Instant::now();
    let mut sink = Vec::new();
    let _ = slow.read_to_end(&mut sink);
    assert!(
        t0.elapsed() < Duration::from_secs(15),
        "a slow client held its connection"
    );
    // An idle keep-alive connection does not keep the runner from stopping.
    let mut idle = TcpStream::connect(("127.0.0.1", port)).unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut first = [0u8; 12];
    idle.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");
    let pid = runner.0.id().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    let t0 = Instant::now();
    while runner.0.try_wait().unwrap().is_none() {
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "the runner did not stop"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let text = std::fs::read_to_string(d.join("log.jsonl")).unwrap();
    let events: Vec<serde_json::Value> = text
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let has = |f: &dyn Fn(&serde_json::Value) -> bool| events.iter().any(f);
    assert!(has(&|e| e["message"] == "runner started"), "{text}");
    assert!(has(&|e| e["message"] == "runner stopped"), "{text}");
    assert!(
        has(&|e| e["message"] == "request" && e["path"] == "/healthz" && e["status"] == 200),
        "{text}"
    );
    assert!(
        has(&|e| e["message"] == "request" && e["path"] == "/u/…" && e["status"] == 404),
        "{text}"
    );
    assert!(
        !text.contains("c2VjcmV0"),
        "a link's token is never logged: {text}"
    );
}

/// The path and query of a link of the message (`https://host/x/...` -> `/x/...`).
fn link_path(url: &str) -> String {
    let rest = url.split_once("://").map(|x| x.1).unwrap_or(url);
    format!("/{}", rest.split_once('/').map(|x| x.1).unwrap_or(""))
}

/// The response head's `Location`.
fn location(port: u16, path: &str, ua: &str) -> (u16, Option<String>) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: {ua}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut bytes = Vec::new();
    s.read_to_end(&mut bytes).unwrap();
    let out = String::from_utf8_lossy(&bytes);
    let status = out.split(' ').nth(1).unwrap().parse().unwrap();
    let loc = out
        .lines()
        .find_map(|l| {
            l.strip_prefix("location: ")
                .or_else(|| l.strip_prefix("Location: "))
        })
        .map(|l| l.trim().to_string());
    (status, loc)
}

const BROWSER: &str =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36";

#[test]
fn the_pixel_and_the_click_redirect_record_opens_and_clicks_telling_machines_apart() {
    let live = Live::start(
        "cadence \"Tracked\"\ntrack opens, clicks\n\
         template welcome { subject \"Hi\"; body \"<p>Hi {{first_name}}. <a href=\\\"https://acme.test/pricing?a=1&b=2\\\">Pricing</a> \
         <a href=\\\"https://acme.test/docs\\\">Docs</a> <a href=\\\"{{unsubscribe_link}}\\\">Unsubscribe</a></p>\" }\n\
         step 1: email welcome\n  on opened -> step 2\nstep 2: call \"Interested\"\n",
        "id,first_name,email\nc1,<script>alert(1)</script>,ann@example.test\n",
        "at,contact,event\n2026-01-05T09:00:00Z,c1,enroll\n",
    );
    let (port, db) = (live.port, live.db.clone());
    let (token, _) = cadence(&["token", "create", "--db", &db, "--name", "t"]).status(0);
    let bearer = format!("Bearer {}", token.trim());
    let auth = [("Authorization", bearer.as_str())];
    let history = || {
        let (status, body) = request_with(port, "GET", "/api/contacts/c1", &auth, "");
        assert_eq!(status, 200, "{body}");
        json(&body)["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                format!(
                    "{} {}{}",
                    r["kind"].as_str().unwrap(),
                    r["event"].as_str().or(r["action"].as_str()).unwrap_or(""),
                    if r["machine"] == true { " machine" } else { "" }
                )
            })
            .collect::<Vec<_>>()
    };
    // The message, rendered with its pixel and its links through the redirect.
    let mut body = String::new();
    wait_for("the email", || {
        let c = rusqlite::Connection::open(&db).unwrap();
        body = c
            .query_row("SELECT body FROM outbox", [], |r| r.get(0))
            .unwrap_or_default();
        !body.is_empty()
    });
    assert!(!body.contains("<script>"), "{body}");
    let urls: Vec<&str> = body.split('"').filter(|s| s.starts_with("http")).collect();
    let clicks: Vec<String> = urls
        .iter()
        .filter(|u| u.contains("/c/"))
        .map(|u| link_path(u))
        .collect();
    let pixel = urls
        .iter()
        .find(|u| u.contains("/o/"))
        .map(|u| link_path(u))
        .unwrap_or_else(|| panic!("no pixel in {body}"));
    assert_eq!(clicks.len(), 2, "{body}");
    assert!(urls.iter().any(|u| u.contains("/u/")), "{body}");
    assert!(!body.contains("acme.test/pricing"), "{body}");

    // Google's image proxy fetches the pixel: a machine's open, no branch taken.
    let (status, _) = location(port, &pixel, "Mozilla/5.0 (via ggpht.com GoogleImageProxy)");
    assert_eq!(status, 200);
    wait_for("the machine open", || {
        history().contains(&"event opened machine".to_string())
    });
    assert!(!history().iter().any(|h| h.starts_with("transition")));

    // A scanner follows both links at once: both clicks are the machine's, and the reader
    // still goes where the link says.
    let (s0, l0) = location(port, &clicks[0], BROWSER);
    let (s1, _) = location(port, &clicks[1], BROWSER);
    assert_eq!((s0, s1), (302, 302));
    assert_eq!(l0.as_deref(), Some("https://acme.test/pricing?a=1&b=2"));
    wait_for("the burst", || {
        history()
            .iter()
            .filter(|h| *h == "event clicked machine")
            .count()
            == 2
    });

    // A person opens it: the step's `on opened` is taken.
    assert_eq!(location(port, &pixel, BROWSER).0, 200);
    wait_for("the open", || {
        history().iter().any(|h| h == "transition ")
            && history().contains(&"event opened".to_string())
    });
    // A person clicks, alone: a click of theirs.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(location(port, &clicks[1], BROWSER).0, 302);
    wait_for("the click", || {
        history().contains(&"event clicked".to_string())
    });

    // Tampered or misused links are a 404, never a redirect.
    let mut forged = clicks[0].clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    assert_eq!(location(port, &forged, BROWSER), (404, None));
    assert_eq!(
        location(port, &pixel.replace("/o/", "/c/"), BROWSER),
        (404, None)
    );
    assert_eq!(
        request(port, "GET", &clicks[0].replace("/c/", "/o/"), "").0,
        404
    );
    assert_eq!(request(port, "GET", "/c/x.y", "").0, 404);

    // The report counts people's and machines' opens and clicks apart.
    let (status, report) = request_with(port, "GET", "/api/report", &auth, "");
    assert_eq!(status, 200, "{report}");
    let step1 = &json(&report)["cadences"][0]["steps"][0];
    assert_eq!(step1["outcomes"]["opened"], 1, "{step1}");
    assert_eq!(step1["outcomes"]["clicked"], 1, "{step1}");
    assert_eq!(step1["machine"]["opened"], 1, "{step1}");
    // Counted per message, as people's outcomes are.
    assert_eq!(step1["machine"]["clicked"], 1, "{step1}");
}

fn hmac_hex(key: &[u8], parts: &[&[u8]]) -> String {
    use hmac::{KeyInit, Mac};
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key).unwrap();
    for p in parts {
        mac.update(p);
    }
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn provider_webhooks_are_verified_then_queued_once_each() {
    use base64::Engine as _;
    use p256::ecdsa::signature::Signer as _;
    use p256::pkcs8::EncodePublicKey as _;
    let sg_key = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
    let sg_public = base64::engine::general_purpose::STANDARD.encode(
        sg_key
            .verifying_key()
            .to_public_key_der()
            .unwrap()
            .as_bytes(),
    );
    let live = Live::start_with(
        "cadence \"Hooks\"\nexit on replied\n\
         template welcome { subject \"Hi\"; body \"Hi {{first_name}} {{unsubscribe_link}}\" }\n\
         step 1: email welcome\n  on clicked -> step 2\n  on bounced -> exit \"bad address\"\nstep 2: call \"Interested\"\n",
        "id,first_name,email\nc1,Ann,ann@example.test\nc2,Bo,bo@example.test\nc3,Cy,cy@example.test\n",
        "at,contact,event\n2026-01-05T09:00:00Z,c1,enroll\n2026-01-05T09:00:00Z,c2,enroll\n2026-01-05T09:00:00Z,c3,enroll\n",
        &[
            ("CADENCE_HOOK_SECRET", "generic-secret"),
            ("CADENCE_SENDGRID_PUBLIC_KEY", &sg_public),
            ("CADENCE_POSTMARK_AUTH", "hooks:pm-pass"),
            ("CADENCE_MAILGUN_SIGNING_KEY", "mg-key"),
        ],
    );
    let (port, db) = (live.port, live.db.clone());
    let mut ids: Vec<(String, String)> = Vec::new();
    wait_for("the emails", || {
        let c = rusqlite::Connection::open(&db).unwrap();
        let mut st = c
            .prepare("SELECT recipient, message_id FROM outbox ORDER BY recipient")
            .unwrap();
        ids = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        ids.len() == 3
    });
    let id = |who: &str| {
        ids.iter()
            .find(|(r, _)| r.starts_with(who))
            .unwrap()
            .1
            .trim_matches(|c| c == '<' || c == '>')
            .to_string()
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    let post = |path: &str, headers: &[(&str, &str)], body: &str| {
        let (status, out) = request_with(port, "POST", path, headers, body);
        (status, json(&out))
    };

    // Generic: HMAC of "timestamp.body"; a replay is a duplicate, a forgery a 401.
    let body = format!(
        r#"{{"id":"g-1","message_id":"{}","event":"clicked"}}"#,
        id("ann")
    );
    let sig = format!(
        "sha256={}",
        hmac_hex(b"generic-secret", &[now.as_bytes(), b".", body.as_bytes()])
    );
    let signed = [
        ("X-Cadence-Timestamp", now.as_str()),
        ("X-Cadence-Signature", sig.as_str()),
    ];
    let (status, r) = post("/hooks/generic", &signed, &body);
    assert_eq!((status, r["queued"].as_u64()), (200, Some(1)), "{r}");
    let (status, r) = post("/hooks/generic", &signed, &body);
    assert_eq!((status, r["duplicates"].as_u64()), (200, Some(1)), "{r}");
    let forged = body.replace("clicked", "bounced");
    assert_eq!(post("/hooks/generic", &signed, &forged).0, 401);
    let old = (now.parse::<i64>().unwrap() - 3600).to_string();
    let old_sig = format!(
        "sha256={}",
        hmac_hex(b"generic-secret", &[old.as_bytes(), b".", body.as_bytes()])
    );
    assert_eq!(
        post(
            "/hooks/generic",
            &[
                ("X-Cadence-Timestamp", &old),
                ("X-Cadence-Signature", &old_sig)
            ],
            &body
        )
        .0,
        401
    );

    // SendGrid: ECDSA P-256 over timestamp + body.
    let body = format!(
        r#"[{{"email":"bo@example.test","timestamp":{now},"smtp-id":"<{}>","event":"bounce","type":"bounce","sg_event_id":"sg-1","reason":"550 no such user"}}]"#,
        id("bo")
    );
    let mut signed_bytes = now.as_bytes().to_vec();
    signed_bytes.extend_from_slice(body.as_bytes());
    let sig: p256::ecdsa::Signature = sg_key.sign(&signed_bytes);
    let sig = base64::engine::general_purpose::STANDARD.encode(sig.to_der().as_bytes());
    let sg_headers = [
        ("X-Twilio-Email-Event-Webhook-Signature", sig.as_str()),
        ("X-Twilio-Email-Event-Webhook-Timestamp", now.as_str()),
    ];
    assert_eq!(
        post(
            "/hooks/sendgrid",
            &sg_headers,
            &body.replace("bounce\"", "open\"")
        )
        .0,
        401
    );
    let (status, r) = post("/hooks/sendgrid", &sg_headers, &body);
    assert_eq!((status, r["queued"].as_u64()), (200, Some(1)), "{r}");

    // Postmark: basic auth; a spam complaint unsubscribes.
    let body = format!(
        r#"{{"RecordType":"SpamComplaint","ID":42,"Type":"SpamComplaint","Email":"cy@example.test","BouncedAt":"2026-01-05T10:00:00Z","Metadata":{{"message-id":"{}"}}}}"#,
        id("cy")
    );
    let good = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("hooks:pm-pass")
    );
    let bad = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("hooks:guess")
    );
    assert_eq!(
        post("/hooks/postmark", &[("Authorization", &bad)], &body).0,
        401
    );
    let (status, r) = post("/hooks/postmark", &[("Authorization", &good)], &body);
    assert_eq!((status, r["queued"].as_u64()), (200, Some(1)), "{r}");

    // Mailgun: HMAC of timestamp + token inside the body; an unknown message is skipped.
    let token = "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0";
    let mg_sig = hmac_hex(b"mg-key", &[now.as_bytes(), token.as_bytes()]);
    let body = format!(
        r#"{{"signature":{{"timestamp":"{now}","token":"{token}","signature":"{mg_sig}"}},"event-data":{{"event":"opened","id":"mg-1","timestamp":{now},"message":{{"headers":{{"message-id":"99.1.x@acme.test"}}}}}}}}"#
    );
    let (status, r) = post("/hooks/mailgun", &[], &body);
    assert_eq!((status, r["skipped"].as_u64()), (200, Some(1)), "{r}");
    // Mailgun signs the token, not the body: the same token with other events is a replay,
    // and changes nothing.
    let forged = body
        .replace("\"opened\"", "\"complained\"")
        .replace("mg-1", "mg-2")
        .replace("99.1.x@acme.test", &id("ann"));
    let (status, r) = post("/hooks/mailgun", &[], &forged);
    assert_eq!((status, r["replayed"].as_bool()), (200, Some(true)), "{r}");
    assert_eq!(
        post(
            "/hooks/mailgun",
            &[],
            &body.replace(&mg_sig, &"0".repeat(64))
        )
        .0,
        401
    );
    assert_eq!(post("/hooks/nope", &[], "{}").0, 404);

    // What each did to its contact, once.
    wait_for("the webhooks' events", || {
        let (out, _) = cadence(&["trace", "--db", &db, "--format", "jsonl"]).status(0);
        out.contains("\"transition\"")
            && out.contains("bad address")
            && out.contains("unsubscribed")
    });
    let (out, _) = cadence(&["trace", "--db", &db, "--format", "jsonl"]).status(0);
    let lines: Vec<&str> = out.lines().collect();
    let count = |who: &str, what: &str| {
        lines
            .iter()
            .filter(|l| l.contains(&format!("\"contact\":\"{who}\"")) && l.contains(what))
            .count()
    };
    assert_eq!(count("c1", "\"event\":\"clicked\""), 1, "{out}");
    assert_eq!(count("c1", "unsubscribed"), 0, "{out}");
    assert_eq!(count("c1", "\"to\":2"), 1, "{out}");
    assert_eq!(count("c2", "\"reason\":\"bad address\""), 1, "{out}");
    assert_eq!(count("c3", "\"reason\":\"unsubscribed\""), 1, "{out}");
}

/// `schemathesis` (PyPI) against the live API's own OpenAPI document: generated requests,
/// valid and not, with and without the token, and no answer may be a 5xx or fall outside the
/// document. Skipped when schemathesis is not installed, unless CADENCE_REQUIRE_SCHEMATHESIS
/// is set (CI sets it).
#[test]
fn schemathesis_finds_no_5xx_and_no_answer_outside_the_openapi_document() {
    let found = std::process::Command::new("schemathesis")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("CADENCE_REQUIRE_SCHEMATHESIS").is_none(),
            "schemathesis is not installed (pip install schemathesis)"
        );
        eprintln!("skipped: schemathesis is not installed");
        return;
    }
    let live = Live::start(
        "cadence \"Calls\"\nfield score: number\nstep 1: call \"Intro\" owner \"sdr\"\n  on answered -> done\n  on no_answer -> step 2\nstep 2: call \"Again\" after 1d\n",
        "id,first_name\nc1,Ann\nc2,Bo\n",
        "at,contact,event\n2026-01-05T09:00:00Z,c1,enroll\n",
    );
    let (token, _) = cadence(&["token", "create", "--db", &live.db, "--name", "st"]).status(0);
    let (status, doc) = request(live.port, "GET", "/api/openapi.json", "");
    assert_eq!(status, 200);
    let doc = json(&doc);
    for path in [
        "/api/events",
        "/api/contacts/{id}",
        "/api/tasks",
        "/api/tasks/{id}/outcome",
        "/api/report",
        "/api/cadences",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is not documented");
    }
    let out = std::process::Command::new("schemathesis")
        .args([
            "run",
            &format!("http://127.0.0.1:{}/api/openapi.json", live.port),
            "-H",
            &format!("Authorization: Bearer {}", token.trim()),
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance,negative_data_rejection,ignored_auth",
            "--max-examples",
            "40",
            "--seed",
            "1",
            "--no-color",
        ])
        .env("SCHEMATHESIS_TELEMETRY", "false")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    let summary = text.lines().find(|l| l.contains(" generated, "));
    eprintln!("schemathesis: {}", summary.unwrap_or("").trim());
}
