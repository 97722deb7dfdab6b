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
struct Keys(HashMap<[u8; 16], u32, crate::engine::hash::FastHash>);

impl Keys {
    fn key(&mut self, kind: &str, content: &str) -> String {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(content.as_bytes());
        let mut h = [0u8; 16];
        h.copy_from_slice(&digest[..16]);
        let n = self.0.entry(h).or_insert(0);
        *n += 1;
        format!("{kind}:{}#{n}", crate::mail::hex(&h))
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
        let mut content = rec.id.clone();
        for (name, v) in &fields {
            content.push('\x1f');
            content.push_str(name);
            content.push('=');
            if let Some(v) = v {
                content.push_str(&value_text(v));
            }
        }
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
    let index: HashMap<&str, u32, crate::engine::hash::FastHash> = known
        .iter()
        .enumerate()
        .map(|(i, k)| (k.as_str(), i as u32))
        .collect();
    let lookup = |id: &str| index.get(id).copied();
    let (mut rows, bad) = read_events(r, program, catalog, &lookup)?;
    // In time order (stable: equal times keep the file's order), which is the order they are
    // applied in: the inbox is then read and marked front to back.
    rows.sort_by_key(|r| r.at);
    let mut out = FileInputs {
        bad,
        ..FileInputs::default()
    };
    let mut keys = Keys::default();
    out.inputs.reserve(rows.len());
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
                    machine: false,
                    message: None,
                },
            ),
            Input::Event {
                contact,
                event,
                step,
                cadence: c,
                machine,
                back,
                ..
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
                    value: back.map(|d| d.to_string()),
                    machine: *machine,
                    message: None,
                },
            ),
            Input::Pause {
                contact,
                cadence: c,
                until,
                catch_up,
            } => (
                *contact,
                pause_kind("pause", cadence(*c), *until, *catch_up),
            ),
            Input::Resume {
                contact,
                cadence: c,
                catch_up,
            } => (*contact, pause_kind("resume", cadence(*c), None, *catch_up)),
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
                    machine: false,
                    message: None,
                },
            ),
        };
        let contact = known[contact as usize].clone();
        let content = match &what {
            InputKind::Event {
                event,
                step,
                cadence,
                field,
                value,
                machine,
                ..
            } => format!(
                "{}\x1f{contact}\x1f{event}\x1f{}\x1f{}\x1f{}\x1f{}{}",
                row.at,
                step.map(|s| s.to_string()).unwrap_or_default(),
                cadence.as_deref().unwrap_or(""),
                field.as_deref().unwrap_or(""),
                value.as_deref().unwrap_or(""),
                if *machine { "\x1fmachine" } else { "" },
            ),
            InputKind::Contact { .. } | InputKind::Hold { .. } => contact.clone(),
        };
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

/// A `pause` or `resume` input of the inbox.
pub fn pause_kind(
    event: &str,
    cadence: Option<String>,
    until: Option<i64>,
    catch_up: bool,
) -> InputKind {
    InputKind::Event {
        event: event.into(),
        step: None,
        cadence,
        field: None,
        value: crate::sim::csvin::pause_value(until, catch_up),
        machine: false,
        message: None,
    }
}
