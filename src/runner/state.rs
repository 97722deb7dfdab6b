//! A contact's state as the database keeps it: JSON with fields by name, enrolments by version
//! id and step index (a version never changes, so its step indices do not either), `enroll
//! when` memory by cadence name. Fields that no cadence of the program declares are kept as
//! they are.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use super::program::LiveProgram;
use crate::check::Value;
use crate::engine::{Catalog, Contact, Enrolment, Exec, Fields, LastExec, Phase};

#[derive(Serialize, Deserialize)]
struct Stored {
    #[serde(default)]
    fields: BTreeMap<String, Value>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    unsubscribed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    bounced: Option<String>,
    #[serde(default)]
    enrolments: Vec<StoredEnrolment>,
    /// Cadences whose `enroll when` held at the last look.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    enroll_when: Vec<String>,
    #[serde(default)]
    last_exec: [Option<LastExec>; 3],
    #[serde(default)]
    exec_seq: u64,
}

#[derive(Serialize, Deserialize)]
struct StoredEnrolment {
    id: u64,
    version: i64,
    started: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ended: Option<i64>,
    step: u32,
    phase: Phase,
    generation: u32,
    #[serde(default)]
    execs: Vec<Exec>,
    #[serde(default)]
    fired: u16,
    #[serde(default)]
    spin: (i64, u32),
}

/// A contact loaded for the engine, with what the program does not know of it.
pub struct Decoded {
    pub contact: Contact,
    /// Fields no cadence of the program declares: written back unchanged.
    pub extra: BTreeMap<String, Value>,
}

/// Reads a stored contact.
pub fn decode(
    lp: &LiveProgram,
    catalog: &Catalog,
    rowid: u32,
    id: &str,
    json: &str,
) -> Result<Decoded, String> {
    let s: Stored = serde_json::from_str(json)
        .map_err(|e| format!("the stored state of contact `{id}` does not decode: {e}"))?;
    let mut fields = Fields::default();
    let mut extra = BTreeMap::new();
    for (name, v) in s.fields {
        match catalog.lookup(&name) {
            Some(g) => {
                fields.set(g, Some(v));
            }
            None => {
                extra.insert(name, v);
            }
        }
    }
    let mut enrolments = SmallVec::new();
    for e in s.enrolments {
        let cadence = lp.index_of(e.version).ok_or_else(|| {
            format!(
                "contact `{id}` is enrolled in version {} of a cadence that the database does not hold",
                e.version
            )
        })?;
        enrolments.push(Enrolment {
            id: e.id,
            contact: rowid,
            cadence,
            started: e.started,
            ended: e.ended,
            step: e.step,
            phase: e.phase,
            generation: e.generation,
            execs: e.execs,
            fired: e.fired,
            spin: e.spin,
        });
    }
    let enroll_cond = lp
        .program
        .cadences
        .iter()
        .map(|c| s.enroll_when.contains(&c.name))
        .collect();
    Ok(Decoded {
        contact: Contact {
            id: id.to_string(),
            fields,
            unsubscribed: s.unsubscribed,
            bounced: s.bounced,
            enrolments,
            enroll_cond,
            last_exec: s.last_exec,
            exec_seq: s.exec_seq,
        },
        extra,
    })
}

/// Writes a contact for the database.
pub fn encode(
    lp: &LiveProgram,
    catalog: &Catalog,
    c: &Contact,
    extra: &BTreeMap<String, Value>,
) -> String {
    let mut fields = extra.clone();
    for (g, v) in c.fields.iter() {
        fields.insert(catalog.names[*g as usize].clone(), v.clone());
    }
    let mut enroll_when: Vec<String> = Vec::new();
    for (i, on) in c.enroll_cond.iter().enumerate() {
        let name = &lp.program.cadences[i].name;
        if *on && !enroll_when.contains(name) {
            enroll_when.push(name.clone());
        }
    }
    let s = Stored {
        fields,
        unsubscribed: c.unsubscribed,
        bounced: c.bounced.clone(),
        enrolments: c
            .enrolments
            .iter()
            .map(|e| StoredEnrolment {
                id: e.id,
                version: lp.versions[e.cadence as usize],
                started: e.started,
                ended: e.ended,
                step: e.step,
                phase: e.phase,
                generation: e.generation,
                execs: e.execs.clone(),
                fired: e.fired,
                spin: e.spin,
            })
            .collect(),
        enroll_when,
        last_exec: c.last_exec,
        exec_seq: c.exec_seq,
    };
    serde_json::to_string(&s).unwrap_or_else(|_| "{}".into())
}
