//! Property tests of the engine: determinism and invariants over random inputs.

mod common;

use std::collections::{HashMap, HashSet};

use common::{jsonl, Sim};
use proptest::prelude::*;

const CADENCE_A: &str = r#"
cadence "A"
field plan: enum("trial", "pro")
enroll when plan == "trial"
goal "converted" when plan == "pro"
exit on replied
track opens, clicks including machine
window "0 9-17 * * 1-5"
limit 3 emails per day
template welcome { subject "Hi"; body "Hi {{first_name | there}} {{unsubscribe_link}}" }
template tips { subject "Tips"; body "Tips {{unsubscribe_link}}" }
step 1: email welcome
  on opened -> step 2
  on bounced -> step 3
  on no_open 2d -> step 4
step 2: call "Walkthrough" after 1d
  on answered -> done
  on overdue 2d -> step 4
step 3: task "Find a new address" due 1d
  on completed -> step 4
  on overdue 3d -> exit "no address"
step 4: email tips after 1bd
  on clicked -> step 2
  on no_reply 3d -> done
"#;

const CADENCE_B: &str = r#"
cadence "B"
event meeting_booked
goal "meeting" on meeting_booked
reenroll after 2d
window mon-thu 09:00-12:00, 13:00-17:30; fri 09:00-15:00
step 1: email variants(tips 40%, welcome 60%) after 1h
  on no_reply 1d -> next
step 2: call "Check in" after 1d
"#;

const OUTCOMES: &[&str] = &[
    "opened",
    "clicked",
    "opened:machine",
    "clicked:machine",
    "replied",
    "auto_reply",
    "bounced",
    "unsubscribed",
    "answered",
    "no_answer",
    "voicemail",
    "completed",
    "meeting_booked",
    "enroll",
    "unenroll",
    "set",
];

fn scenario() -> impl Strategy<Value = (usize, Vec<(u32, usize, usize, bool)>)> {
    (
        1usize..6,
        proptest::collection::vec(
            (
                0u32..(14 * 24 * 60),
                0usize..6,
                0..OUTCOMES.len(),
                any::<bool>(),
            ),
            0..40,
        ),
    )
}

fn build(contacts: usize, events: &[(u32, usize, usize, bool)]) -> (String, String) {
    let mut c = String::from("id,first_name,email,plan\n");
    for i in 0..contacts {
        let plan = if i % 2 == 0 { "trial" } else { "" };
        c.push_str(&format!("c{i},N{i},c{i}@example.test,{plan}\n"));
    }
    let mut e = String::from("at,contact,event,field,value,machine\n");
    for (minute, who, what, flag) in events {
        let who = who % contacts;
        let at = chrono::DateTime::from_timestamp(
            common::instant("2026-01-05T08:00:00Z") + *minute as i64 * 60,
            0,
        )
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let name = OUTCOMES[*what];
        let (field, value) = if name == "set" {
            ("plan", if *flag { "pro" } else { "trial" })
        } else {
            ("", "")
        };
        let (name, machine) = match name.split_once(':') {
            Some((event, _)) => (event, "true"),
            None => (name, ""),
        };
        e.push_str(&format!("{at},c{who},{name},{field},{value},{machine}\n"));
    }
    (c, e)
}

fn run(contacts: &str, events: &str) -> String {
    jsonl(&Sim {
        files: vec![("a.cadence", CADENCE_A), ("b.cadence", CADENCE_B)],
        contacts,
        events,
        start: "2026-01-05T08:00:00Z",
        until: None,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(120))]

    #[test]
    fn the_same_inputs_give_the_byte_identical_trace((n, evs) in scenario()) {
        let (c, e) = build(n, &evs);
        prop_assert_eq!(run(&c, &e), run(&c, &e));
    }

    #[test]
    fn invariants_hold((n, evs) in scenario()) {
        let (c, e) = build(n, &evs);
        let trace = run(&c, &e);
        let mut last_at = String::new();
        let mut unsubscribed: HashSet<String> = HashSet::new();
        let mut active: HashMap<(String, String), bool> = HashMap::new();
        let mut variant: HashMap<String, String> = HashMap::new();
        for line in trace.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let at = v["at"].as_str().unwrap().to_string();
            // Time never goes backwards.
            prop_assert!(at >= last_at, "time went back: {} after {}", at, last_at);
            last_at = at;
            let contact = v["contact"].as_str().unwrap().to_string();
            let cadence = v["cadence"].as_str().unwrap().to_string();
            let key = (contact.clone(), cadence.clone());
            match v["kind"].as_str().unwrap() {
                "event" if v["event"] == "unsubscribed" => {
                    unsubscribed.insert(contact.clone());
                }
                "executed" if v["action"] == "email" => {
                    // No email after unsubscribe.
                    prop_assert!(!unsubscribed.contains(&contact), "email to {} after unsubscribe", contact);
                    prop_assert_eq!(active.get(&key), Some(&true));
                    // An A/B step sends a contact the same variant at every enrolment.
                    if let Some(sent) = v["variant"].as_str() {
                        prop_assert_eq!(sent, v["name"].as_str().unwrap_or(""));
                        let first = variant.entry(contact.clone()).or_insert_with(|| sent.to_string());
                        prop_assert_eq!(first.as_str(), sent, "{} changed variant", contact);
                    }
                }
                "enrolled" => {
                    prop_assert_ne!(active.get(&key), Some(&true), "enrolled twice at once");
                    active.insert(key, true);
                }
                "completed" | "exited" | "goal" => {
                    // Every enrolment ends at most once.
                    prop_assert_eq!(active.get(&key), Some(&true), "{} ended while not active", line);
                    active.insert(key, false);
                }
                "executed" | "skipped" | "transition" => {
                    prop_assert_eq!(active.get(&key), Some(&true), "{} while not active", line);
                }
                _ => {}
            }
        }
    }
}
