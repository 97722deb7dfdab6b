//! Reading contacts and events files into the inbox, each row once. A row's idempotency key is
//! made of its content and how many identical rows came before it in the file: the same file
//! given again queues nothing new, and a row added to it later is queued once.
//!
//! Rows are checked as `simulate` checks them (types, known contacts, events, steps, cadences);
//! a bad row is reported with its line number and the others still go in.

use std::collections::HashMap;
use std::io::Read;

use crate::check::Program;
use crate::engine::{Catalog, EventKey, Input};
use crate::mail::render::value_text;
use crate::mail::sha256_hex;
use crate::sim::{read_contacts_into, read_events, BadRow};
use crate::store::live::{InputKind, NewInput};

/// What reading a file gave.
#[derive(Debug, Default)]
pub struct FileInputs {
    pub inputs: Vec<NewInput>,
    pub bad: Vec<BadRow>,
    pub warnings: Vec<String>,
    /// Lines of events before the start, which are not queued.
    pub before_start: Vec<u64>,
}

/// Counts identical rows, to key the second of two identical rows apart from the first.
#[derive(Default)]
struct Keys(HashMap<String, u32>);

impl Keys {
    fn key(&mut self, kind: &str, content: &str) -> String {
        let h = sha256_hex(content.as_bytes());
        let n = self.0.entry(h.clone()).or_insert(0);
        *n += 1;
        format!("{kind}:{}#{n}", &h[..32])
    }
}

/// Reads a contacts file: each good row becomes a `contact` input at `at`.
pub fn contacts<R: Read>(
    r: R,
    name: &str,
    catalog: &Catalog,
    at: i64,
) -> Result<FileInputs, String> {
    let mut out = FileInputs::default();
    let mut keys = Keys::default();
    let mut rows = Vec::new();
    let loaded = read_contacts_into(r, catalog, &mut |line, rec| {
        rows.push((line, rec));
        Ok(())
    })?;
    for (line, rec) in rows {
        let fields: Vec<(String, Option<crate::check::Value>)> = loaded
            .columns
            .iter()
            .map(|c| (c.clone(), rec.fields.get(c).cloned()))
            .collect();
        let content = serde_json::to_string(&(&rec.id, &fields)).unwrap_or_default();
        out.inputs.push(NewInput {
            key: keys.key("contact", &content),
            at,
            contact: rec.id,
            what: InputKind::Contact { fields },
            origin: format!("{name}:{line}"),
        });
    }
    out.bad = loaded.bad;
    out.warnings = loaded.warnings;
    Ok(out)
}

/// Reads an events file. `known` are the contact ids the database holds or will hold; rows
/// before `start` are not queued (as `simulate` does not apply them).
pub fn events<R: Read>(
    r: R,
    name: &str,
    program: &Program,
    catalog: &Catalog,
    known: &[String],
    start: Option<i64>,
) -> Result<FileInputs, String> {
    let index: HashMap<&str, u32> = known
        .iter()
        .enumerate()
        .map(|(i, k)| (k.as_str(), i as u32))
        .collect();
    let lookup = |id: &str| index.get(id).copied();
    let (rows, bad) = read_events(r, program, catalog, &lookup)?;
    let mut out = FileInputs {
        bad,
        ..FileInputs::default()
    };
    let mut keys = Keys::default();
    for row in rows {
        if start.is_some_and(|s| row.at < s) {
            out.before_start.push(row.line);
            continue;
        }
        let cadence = |c: Option<u32>| c.map(|c| program.cadences[c as usize].name.clone());
        let (contact, what) = match &row.input {
            Input::Enroll {
                contact,
                cadence: c,
            }
            | Input::Unenroll {
                contact,
                cadence: c,
            } => (
                *contact,
                InputKind::Event {
                    event: if matches!(row.input, Input::Enroll { .. }) {
                        "enroll".into()
                    } else {
                        "unenroll".into()
                    },
                    step: None,
                    cadence: cadence(*c),
                    field: None,
                    value: None,
                },
            ),
            Input::Event {
                contact,
                event,
                step,
                cadence: c,
            } => (
                *contact,
                InputKind::Event {
                    event: match event {
                        EventKey::Outcome(o) => o.name().to_string(),
                        EventKey::Custom(i) => program.custom_events[*i as usize].clone(),
                    },
                    step: *step,
                    cadence: cadence(*c),
                    field: None,
                    value: None,
                },
            ),
            Input::Set {
                contact,
                field,
                value,
            } => (
                *contact,
                InputKind::Event {
                    event: "set".into(),
                    step: None,
                    cadence: None,
                    field: Some(catalog.names[*field as usize].clone()),
                    value: Some(value.as_ref().map(value_text).unwrap_or_default()),
                },
            ),
        };
        let contact = known[contact as usize].clone();
        let content = serde_json::to_string(&(row.at, &contact, &what)).unwrap_or_default();
        out.inputs.push(NewInput {
            key: keys.key("event", &content),
            at: row.at,
            contact,
            what,
            origin: format!("{name}:{}", row.line),
        });
    }
    Ok(out)
}
