//! A contact's state as the database keeps it: fields by name, enrolments by version id and
//! step index (a version never changes, so its step indices do not either), `enroll when`
//! memory by cadence name. Fields that no cadence of the program declares are kept as they are.
//!
//! The encoding is compact binary (postcard) behind a format byte: a contact row is rewritten
//! at every change, so its size is what the runner's write volume is made of. A later format
//! is read by a migration, and a format this program does not know is refused.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use super::program::LiveProgram;
use crate::check::Value;
use crate::engine::{Catalog, Contact, Enrolment, Exec, Fields, Held, LastExec, Phase};

#[derive(Serialize, Deserialize)]
struct Stored {
    #[serde(default)]
    fields: BTreeMap<String, Value>,
    #[serde(default)]
    unsubscribed: bool,
    #[serde(default)]
    bounced: Option<String>,
    #[serde(default)]
    enrolments: Vec<StoredEnrolment>,
    /// Cadences whose `enroll when` held at the last look.
    #[serde(default)]
    enroll_when: Vec<String>,
    #[serde(default)]
    last_exec: [Option<LastExec>; 3],
    #[serde(default)]
    exec_seq: u64,
}

fn spin_default() -> (i64, u32) {
    (i64::MIN, 0)
}

/// The same layout as [`Stored`], borrowed: writing a contact copies nothing.
#[derive(Serialize)]
struct StoredRef<'a> {
    fields: BTreeMap<&'a str, &'a Value>,
    unsubscribed: bool,
    bounced: &'a Option<String>,
    enrolments: Vec<StoredEnrolmentRef<'a>>,
    enroll_when: Vec<&'a str>,
    last_exec: &'a [Option<LastExec>; 3],
    exec_seq: u64,
}

#[derive(Serialize)]
struct StoredEnrolmentRef<'a> {
    id: u64,
    version: i64,
    started: i64,
    ended: Option<i64>,
    step: u32,
    phase: Phase,
    generation: u32,
    execs: &'a [Exec],
    fired: u16,
    spin: (i64, u32),
}

#[derive(Serialize, Deserialize)]
struct StoredEnrolment {
    id: u64,
    version: i64,
    started: i64,
    #[serde(default)]
    ended: Option<i64>,
    step: u32,
    phase: Phase,
    generation: u32,
    #[serde(default)]
    execs: Vec<Exec>,
    #[serde(default)]
    fired: u16,
    #[serde(default = "spin_default")]
    spin: (i64, u32),
}

/// A contact loaded for the engine, with what the program does not know of it.
pub struct Decoded {
    pub contact: Contact,
    /// Fields no cadence of the program declares: written back unchanged.
    pub extra: BTreeMap<String, Value>,
}

/// The format byte of the stored state.
const FORMAT: u8 = 1;
/// Format 1 followed by the pauses of its enrolments ([`Pauses`]): written only for a contact
/// with one, so that a database without pauses stays readable by a cadence that knows only
/// format 1.
const FORMAT_PAUSES: u8 = 2;

/// Per enrolment that is paused, or whose wait was shortened by a pause: (enrolment id, the
/// pause, the time taken out of its wait).
type Pauses = Vec<(u64, Option<Held>, i64)>;

/// The stored fields of a contact and the pauses of its enrolments.
fn parse(id: &str, bytes: &[u8]) -> Result<(Stored, Pauses), String> {
    let bad =
        |e: postcard::Error| format!("the stored state of contact `{id}` does not decode: {e}");
    match bytes.split_first() {
        Some((&FORMAT, rest)) => Ok((postcard::from_bytes(rest).map_err(bad)?, Vec::new())),
        Some((&FORMAT_PAUSES, rest)) => {
            let (s, rest) = postcard::take_from_bytes::<Stored>(rest).map_err(bad)?;
            Ok((s, postcard::from_bytes(rest).map_err(bad)?))
        }
        Some((f, _)) => Err(format!(
            "the state of contact `{id}` was stored in format {f}, which this cadence does not know (a newer cadence wrote it)"
        )),
        None => Err(format!("the stored state of contact `{id}` is empty")),
    }
}

/// Reads a stored contact.
pub fn decode(
    lp: &LiveProgram,
    catalog: &Catalog,
    rowid: u32,
    id: &str,
    bytes: &[u8],
) -> Result<Decoded, String> {
    let (s, pauses) = parse(id, bytes)?;
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
        let pause = pauses.iter().find(|p| p.0 == e.id).map(|p| {
            Box::new(crate::engine::PauseState {
                held: p.1,
                shift: p.2,
            })
        });
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
            pause,
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
) -> Vec<u8> {
    let mut fields: BTreeMap<&str, &Value> = extra.iter().map(|(k, v)| (k.as_str(), v)).collect();
    for (g, v) in c.fields.iter() {
        fields.insert(catalog.names[*g as usize].as_str(), v);
    }
    let mut enroll_when: Vec<&str> = Vec::new();
    for (i, on) in c.enroll_cond.iter().enumerate() {
        let name = lp.program.cadences[i].name.as_str();
        if *on && !enroll_when.contains(&name) {
            enroll_when.push(name);
        }
    }
    let s = StoredRef {
        fields,
        unsubscribed: c.unsubscribed,
        bounced: &c.bounced,
        enrolments: c
            .enrolments
            .iter()
            .map(|e| StoredEnrolmentRef {
                id: e.id,
                version: lp.versions[e.cadence as usize],
                started: e.started,
                ended: e.ended,
                step: e.step,
                phase: e.phase,
                generation: e.generation,
                execs: &e.execs,
                fired: e.fired,
                spin: e.spin,
            })
            .collect(),
        enroll_when,
        last_exec: &c.last_exec,
        exec_seq: c.exec_seq,
    };
    let pauses: Pauses = c
        .enrolments
        .iter()
        .filter_map(|e| e.pause.as_ref().map(|p| (e.id, p.held, p.shift)))
        .collect();
    let mut out = vec![if pauses.is_empty() {
        FORMAT
    } else {
        FORMAT_PAUSES
    }];
    // Serialising plain data into a vector cannot fail.
    out.extend(postcard::to_allocvec(&s).unwrap_or_default());
    if !pauses.is_empty() {
        out.extend(postcard::to_allocvec(&pauses).unwrap_or_default());
    }
    out
}

/// A stored state as JSON, for people (`cadence contact`, the HTTP API).
pub fn to_json(bytes: &[u8]) -> Option<serde_json::Value> {
    let (s, pauses) = parse("", bytes).ok()?;
    let mut v = serde_json::to_value(&s).ok()?;
    if let Some(list) = v.get_mut("enrolments").and_then(|e| e.as_array_mut()) {
        for e in list {
            let id = e.get("id").and_then(|i| i.as_u64());
            if let Some(p) = pauses.iter().find(|p| Some(p.0) == id) {
                e["held"] = serde_json::to_value(p.1).ok()?;
                e["shift"] = p.2.into();
            }
        }
    }
    Some(v)
}
