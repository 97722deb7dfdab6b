//! Local time: a cadence that reads times in a zone shows each instant in the contact's zone
//! too (the text trace, `local` and `tz` in JSON lines, `cadence timeline`), and what the
//! timeline says comes next is computed in that zone.

mod common;

use common::bin::cadence;

/// Office hours in each contact's own zone; 2026-01-05 is a Monday, Berlin is UTC+1 in winter.
const CADENCE: &str = r#"
cadence "B2B outbound"
field timezone: tz
exit on replied
timezone field timezone default "UTC"
window mon-fri 09:00-17:00
template intro { subject "Hello"; body "Hi. {{unsubscribe_link}}" }
template bump { subject "Following up"; body "Hi again. {{unsubscribe_link}}" }
step 1: email intro
step 2: email bump after 1d
"#;

const UTC_CADENCE: &str = r#"
cadence "Plain"
exit on replied
template intro { subject "Hello"; body "Hi. {{unsubscribe_link}}" }
step 1: email intro
"#;

const CONTACTS: &str = "id,email,timezone\np4,p4@example.test,Europe/Berlin\nq1,q1@example.test,Asia/Shanghai\nu1,u1@example.test,\n";
const EVENTS: &str = "at,contact,event,cadence\n2026-01-05T07:30:00Z,p4,enroll,B2B outbound\n2026-01-05T07:30:00Z,q1,enroll,B2B outbound\n2026-01-05T07:30:00Z,u1,enroll,\n";

struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new() -> Files {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("b2b.cadence"), CADENCE).unwrap();
        std::fs::write(dir.path().join("plain.cadence"), UTC_CADENCE).unwrap();
        std::fs::write(dir.path().join("contacts.csv"), CONTACTS).unwrap();
        std::fs::write(dir.path().join("events.csv"), EVENTS).unwrap();
        Files { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    fn simulate(&self, format: &str, until: &str) -> String {
        cadence(&[
            "simulate",
            &self.path("b2b.cadence"),
            &self.path("plain.cadence"),
            "--contacts",
            &self.path("contacts.csv"),
            "--events",
            &self.path("events.csv"),
            "--until",
            until,
            "--format",
            format,
        ])
        .status(0)
        .0
    }
}

fn line<'a>(trace: &'a str, contact: &str, kind: &str, cadence: &str) -> &'a str {
    trace
        .lines()
        .find(|l| {
            l.contains(&format!("\"contact\":\"{contact}\""))
                && l.contains(&format!("\"kind\":\"{kind}\""))
                && l.contains(&format!("\"cadence\":\"{cadence}\""))
        })
        .unwrap_or_else(|| panic!("no {kind} of {contact} in {cadence}:\n{trace}"))
}

#[test]
fn json_lines_add_local_and_tz_and_keep_at_in_utc() {
    let f = Files::new();
    let t = f.simulate("jsonl", "2026-01-10T00:00:00Z");
    // 07:30Z is 08:30 in Berlin: the window holds the email until 09:00 there, 08:00Z.
    let p4 = line(&t, "p4", "executed", "B2B outbound");
    assert!(p4.starts_with("{\"at\":\"2026-01-05T08:00:00Z\""), "{p4}");
    assert!(
        p4.ends_with(",\"local\":\"2026-01-05T09:00:00+01:00\",\"tz\":\"Europe/Berlin\"}"),
        "{p4}"
    );
    // 07:30Z is 15:30 in Shanghai: inside the window, sent at once.
    let q1 = line(&t, "q1", "executed", "B2B outbound");
    assert!(q1.contains("\"at\":\"2026-01-05T07:30:00Z\""), "{q1}");
    assert!(
        q1.contains("\"local\":\"2026-01-05T15:30:00+08:00\",\"tz\":\"Asia/Shanghai\""),
        "{q1}"
    );
    // Without a zone of its own, the default: UTC, shown as such in a cadence that uses zones.
    let u1 = line(&t, "u1", "executed", "B2B outbound");
    assert!(u1.contains("\"at\":\"2026-01-05T09:00:00Z\""), "{u1}");
    assert!(
        u1.contains("\"local\":\"2026-01-05T09:00:00+00:00\",\"tz\":\"UTC\""),
        "{u1}"
    );
    // A cadence in UTC is unchanged.
    let plain = line(&t, "u1", "executed", "Plain");
    assert!(
        !plain.contains("\"local\"") && !plain.contains("\"tz\""),
        "{plain}"
    );
}

#[test]
fn the_text_trace_shows_the_contacts_local_time() {
    let f = Files::new();
    let t = f.simulate("text", "2026-01-10T00:00:00Z");
    let p4 = t
        .lines()
        .find(|l| l.contains("p4") && l.contains("intro"))
        .unwrap();
    assert!(p4.starts_with("2026-01-05 08:00:00Z"), "{p4}");
    assert!(p4.ends_with("[2026-01-05 09:00 Europe/Berlin]"), "{p4}");
    let plain = t
        .lines()
        .find(|l| l.contains("u1") && l.contains("Plain") && l.contains("intro"))
        .unwrap();
    assert!(!plain.contains('['), "{plain}");
}

#[test]
fn timeline_knows_the_contacts_zone_from_the_trace() {
    let f = Files::new();
    // Stop after step 1 ran: the timeline says when step 2 falls due.
    let trace = f.simulate("jsonl", "2026-01-05T12:00:00Z");
    let path = f.path("trace.jsonl");
    std::fs::write(&path, &trace).unwrap();
    let (out, _) = cadence(&["timeline", "p4", &path, &f.path("b2b.cadence")]).status(0);
    // Every line in Berlin time, with UTC beside it.
    assert!(
        out.contains("2026-01-05 09:00 Europe/Berlin (08:00:00Z)  step 1: email intro"),
        "{out}"
    );
    // Step 2 is due a day after step 1, Tuesday 08:00Z: 09:00 in Berlin, inside the window (in
    // the cadence's default zone, UTC, the window would have moved it to 09:00Z).
    assert!(
        out.contains("active: step 1 (executed 2026-01-05 09:00 Europe/Berlin (08:00:00Z)); next: step 2 due 2026-01-06 09:00 Europe/Berlin (08:00:00Z)"),
        "{out}"
    );
    // Step 2 becomes due at 08:00Z Tuesday, inside Berlin's window: it is sent then, not at
    // 09:00Z as the cadence's default zone would say.
    let later = f.simulate("jsonl", "2026-01-07T00:00:00Z");
    let bump = later
        .lines()
        .find(|l| l.contains("\"contact\":\"p4\"") && l.contains("\"name\":\"bump\""))
        .unwrap();
    assert!(bump.contains("\"at\":\"2026-01-06T08:00:00Z\""), "{bump}");
}

#[test]
fn a_record_keeps_the_zone_the_contact_had_when_it_was_made() {
    let dir = tempfile::tempdir().unwrap();
    let p = |f: &str| dir.path().join(f).display().to_string();
    std::fs::write(
        p("z.cadence"),
        "cadence \"Z\"\nfield tzf: tz\nexit on replied\ntimezone field tzf default \"Europe/Berlin\"\ntemplate w { subject \"Hi\"; body \"Hello {{unsubscribe_link}}\" }\nstep 1: email w\n",
    )
    .unwrap();
    std::fs::write(p("c.csv"), "id,email,tzf\nk1,k1@example.test,Asia/Tokyo\n").unwrap();
    // Enrolled and sent at 02:00Z (11:00 in Tokyo); the zone changes a day later.
    std::fs::write(
        p("e.csv"),
        "at,contact,event,field,value\n2026-01-05T02:00:00Z,k1,enroll,,\n2026-01-06T02:00:00Z,k1,set,tzf,America/New_York\n",
    )
    .unwrap();
    let (t, _) = cadence(&[
        "simulate",
        &p("z.cadence"),
        "--contacts",
        &p("c.csv"),
        "--events",
        &p("e.csv"),
        "--format",
        "jsonl",
    ])
    .status(0);
    let sent = t.lines().find(|l| l.contains("\"executed\"")).unwrap();
    assert!(
        sent.contains("\"local\":\"2026-01-05T11:00:00+09:00\",\"tz\":\"Asia/Tokyo\""),
        "{sent}"
    );
}
