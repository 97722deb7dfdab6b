//! What a sales manager reads first: the email funnel of a cadence (enrolled, sent, opened,
//! clicked, replied: unique contacts), and where its endings happened (each goal and exit by the
//! step the contact had last been sent, so that a goal is never shown against a step the
//! contact never reached).

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;

use super::TraceRecord;
use crate::check::Cadence;

/// One stage of the email funnel.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stage {
    /// `enrolled`, `sent`, `opened`, `clicked` or `replied`.
    pub stage: String,
    /// Unique contacts.
    pub contacts: usize,
    /// `sent` as a share of `enrolled`; `opened`, `clicked` and `replied` as shares of `sent`
    /// (a reply needs no click); 1 for `enrolled`.
    pub rate: f64,
}

/// The email funnel: unique contacts at each stage, over every email step of the cadence.
/// Opens and clicks made by machines count only where the cadence says `including machine`;
/// a click or a reply counts as an open.
pub fn email_funnel(records: &[&TraceRecord], def: Option<&Cadence>) -> Vec<Stage> {
    let mut enrolled: HashSet<&str> = HashSet::new();
    let mut sent: HashSet<&str> = HashSet::new();
    let mut opened: HashSet<&str> = HashSet::new();
    let mut clicked: HashSet<&str> = HashSet::new();
    let mut replied: HashSet<&str> = HashSet::new();
    // (contact, step) of the emails sent, to tell an email's outcome from a call's.
    let mut emails: HashSet<(&str, u32)> = HashSet::new();
    for r in records {
        let c = r.contact.as_str();
        match r.kind.as_str() {
            "enrolled" => {
                enrolled.insert(c);
            }
            "executed" if r.action.as_deref() == Some("email") => {
                sent.insert(c);
                if let Some(s) = r.step {
                    emails.insert((c, s));
                }
            }
            "event" => {
                let Some(step) = r.step else { continue };
                if !emails.contains(&(c, step)) {
                    continue;
                }
                let ev = r.event.as_deref().unwrap_or("");
                if r.machine && !def.is_some_and(|d| d.track.counts_machine(ev)) {
                    continue;
                }
                match ev {
                    "opened" => {
                        opened.insert(c);
                    }
                    "clicked" => {
                        opened.insert(c);
                        clicked.insert(c);
                    }
                    "replied" => {
                        opened.insert(c);
                        replied.insert(c);
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    if sent.is_empty() {
        return Vec::new();
    }
    let counts = [
        ("enrolled", enrolled.len()),
        ("sent", sent.len()),
        ("opened", opened.len()),
        ("clicked", clicked.len()),
        ("replied", replied.len()),
    ];
    let share = |n: usize, of: usize| if of == 0 { 0.0 } else { n as f64 / of as f64 };
    counts
        .iter()
        .map(|&(stage, n)| Stage {
            stage: stage.into(),
            contacts: n,
            rate: match stage {
                "enrolled" => 1.0,
                "sent" => share(n, enrolled.len()),
                _ => share(n, sent.len()),
            },
        })
        .collect()
}

/// A goal or an exit, counted by where the contact stood when it happened.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ending {
    /// `goal` or `exit`.
    pub kind: String,
    /// The goal's name or the exit's reason.
    pub name: String,
    pub total: usize,
    /// By the step the contact had last been sent (`step 3`), or `before step 1` when nothing
    /// had run yet.
    pub at: BTreeMap<String, usize>,
}

/// Each goal and exit of the cadence by the last step that executed for the contact in that
/// enrolment.
pub fn endings(records: &[&TraceRecord]) -> Vec<Ending> {
    let mut last: HashMap<&str, Option<u32>> = HashMap::new();
    let mut out: BTreeMap<(String, String), Ending> = BTreeMap::new();
    for r in records {
        let c = r.contact.as_str();
        match r.kind.as_str() {
            "enrolled" => {
                last.insert(c, None);
            }
            "executed" => {
                last.insert(c, r.step);
            }
            "goal" | "exited" => {
                let kind = if r.kind == "goal" { "goal" } else { "exit" };
                let name = if kind == "goal" { &r.name } else { &r.reason };
                let name = name.clone().unwrap_or_default();
                let at = match last.get(c).copied().flatten() {
                    Some(s) => format!("step {s}"),
                    None => "before step 1".to_string(),
                };
                let e = out
                    .entry((kind.to_string(), name.clone()))
                    .or_insert_with(|| Ending {
                        kind: kind.into(),
                        name,
                        total: 0,
                        at: BTreeMap::new(),
                    });
                e.total += 1;
                *e.at.entry(at).or_default() += 1;
            }
            _ => {}
        }
    }
    // Goals first, then exits; each by name.
    let mut v: Vec<Ending> = out.into_values().collect();
    v.sort_by(|a, b| (a.kind != "goal", &a.name).cmp(&(b.kind != "goal", &b.name)));
    v
}
