//! The simulator: a thin driver that feeds contacts (from a [`ContactStore`]) and timed inputs
//! (from CSV) to the engine on a virtual clock, and writes the trace.

pub mod csvin;
pub mod workload;

use std::io::Write;

use crate::check::Program;
use crate::engine::trace::{write_text, Jsonl};
use crate::engine::{Engine, EventKey, Fields, Input};
use crate::store::{ContactStore, StoreError};
pub use csvin::{
    parse_value, read_contacts, read_contacts_into, read_events, BadRow, EventRow, LoadedContacts,
};

/// How the trace is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceFormat {
    Text,
    Jsonl,
}

/// When the run stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// At this instant (timers due at it still run).
    At(i64),
    /// When no timer is left (bounded by [`HORIZON`] after the last input).
    Idle,
}

/// How many notices a summary keeps; the rest are only counted.
pub const MAX_NOTICES: usize = 100;

/// Without `--until`, a run of cadences that loop stops at the latest this long after its last
/// input (twice the longest delay the language accepts), so that a loop with a delay cannot run
/// forever.
pub const HORIZON: i64 = 20 * 366 * 86_400;

/// What a run did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Summary {
    pub records: usize,
    pub inputs_applied: usize,
    pub inputs_after_until: usize,
    /// The first [`MAX_NOTICES`] notices (inputs that changed nothing), by input line.
    pub notices: Vec<(u64, String)>,
    /// How many notices there were in all.
    pub notices_total: usize,
    /// Set when the run stopped at the horizon with timers left.
    pub stopped_at_horizon: Option<i64>,
    pub end: i64,
    /// Contacts moved into new versions by `--deploy`.
    pub migrated: usize,
    /// Deploys refused because they would strand contacts, said in words.
    pub refused: Vec<String>,
}

/// `3 contacts at step 2 of "Trial" (a, b, c), ...`: the stranded contacts of a refused deploy
/// (as [`Engine::prepare_deploy`] lists them), counted by step, with a few names.
pub fn stranded_summary(stranded: &[String]) -> String {
    let mut by_step: Vec<(String, Vec<&str>)> = Vec::new();
    for s in stranded {
        let (who, at) = s.split_once(" at ").unwrap_or((s.as_str(), ""));
        match by_step.iter_mut().find(|(k, _)| k == at) {
            Some((_, v)) => v.push(who),
            None => by_step.push((at.to_string(), vec![who])),
        }
    }
    by_step
        .iter()
        .map(|(at, who)| {
            let names: Vec<&str> = who.iter().take(3).copied().collect();
            let more = if who.len() > 3 { ", ..." } else { "" };
            format!(
                "{} at {at} ({}{more})",
                if who.len() == 1 {
                    "1 contact".to_string()
                } else {
                    format!("{} contacts", who.len())
                },
                names.join(", ")
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Loads the store's records into an engine.
pub fn load_engine<'p>(
    program: &'p Program,
    store: &dyn ContactStore,
) -> Result<Engine<'p>, StoreError> {
    load_engine_of(program, store, None)
}

/// [`load_engine`] with only the contacts whose ids are in `only` (all, without it): a store
/// kept in a file from earlier runs may hold others.
pub fn load_engine_of<'p>(
    program: &'p Program,
    store: &dyn ContactStore,
    only: Option<&std::collections::HashSet<String>>,
) -> Result<Engine<'p>, StoreError> {
    let mut engine = Engine::new(program);
    engine.reserve_contacts(match only {
        Some(o) => o.len(),
        None => store.len()?,
    });
    let mut failed = None;
    // Stores hand out the same few field names again and again: remember their ids.
    let mut known: Vec<(String, Option<u16>)> = Vec::new();
    store.scan(&mut |id, values| {
        if only.is_some_and(|o| !o.contains(id)) {
            return;
        }
        let mut fields = Fields::default();
        for (name, value) in values {
            let gid = match known.iter().find(|(n, _)| n == name) {
                Some((_, g)) => *g,
                None => {
                    let g = engine.catalog().lookup(name);
                    known.push((name.to_string(), g));
                    g
                }
            };
            if let Some(gid) = gid {
                fields.set(gid, Some((*value).clone()));
            }
        }
        if let Err(e) = engine.add_contact(id, fields) {
            failed.get_or_insert(e);
        }
    })?;
    match failed {
        Some(e) => Err(StoreError(e)),
        None => Ok(engine),
    }
}

/// Runs everything due before `t`, then deploys `new` at `t`: the engine is replaced by one over
/// every version, and the contacts move as the `migrate` blocks say. `flush` writes the records
/// made so far (with the program they were made in).
pub(crate) fn deploy(
    engine: &mut Engine,
    d: &Deployment,
    hashes: &mut Vec<String>,
    summary: &mut Summary,
    mut flush: impl FnMut(&mut Engine) -> std::io::Result<usize>,
) -> std::io::Result<usize> {
    let t = d.at;
    let mut written = 0;
    // Everything at or before `t` first, as `cadence run --until T` does before a deploy.
    while let Some(due) = engine.next_due() {
        if due > t {
            break;
        }
        engine.run_until(due, true);
        written += flush(engine)?;
    }
    engine.run_until(t, true);
    engine.set_clock(t);
    written += flush(engine)?;
    let prepared = match engine.prepare_deploy(d.program, hashes, &d.hashes) {
        Ok(p) => p,
        Err(stranded) => {
            summary.refused.push(format!(
                "the deploy at {} was refused: it would strand {}",
                crate::engine::format_instant(t),
                stranded_summary(&stranded)
            ));
            return Ok(written);
        }
    };
    let program: &'static Program = Box::leak(Box::new(prepared.program));
    *engine = Engine::restore_versions(
        program,
        prepared.family,
        prepared.current,
        prepared.snapshot,
    );
    summary.migrated += engine.migrate_all(&prepared.hashes, &prepared.apply);
    *hashes = prepared.hashes;
    Ok(written)
}

fn write_records(
    engine: &mut Engine,
    format: TraceFormat,
    jsonl: &Jsonl,
    buf: &mut String,
    out: &mut dyn Write,
) -> std::io::Result<usize> {
    let program = engine.program();
    let mut count = 0;
    for r in engine.records() {
        let contact = &engine.contact(r.contact).id;
        let zone = r.tz;
        match format {
            TraceFormat::Jsonl => {
                let owner = match r.kind {
                    crate::engine::Kind::Executed { owner, .. } => engine.owner_name(owner),
                    _ => None,
                };
                jsonl.write(buf, program, contact, r, owner, zone)
            }
            TraceFormat::Text => write_text(buf, program, contact, r, zone),
        }
        if format == TraceFormat::Text || !r.kind.text_only() {
            count += 1;
        }
    }
    engine.clear_records();
    if buf.len() > 1 << 16 {
        out.write_all(buf.as_bytes())?;
        buf.clear();
    }
    Ok(count)
}

/// Runs a simulation: enrolment rules at `start`, then every input in time order (stable for
/// equal times), then the timers until `until`. Field changes are written back to the store.
#[allow(clippy::too_many_arguments)]
pub fn run(
    engine: &mut Engine,
    store: &mut dyn ContactStore,
    events: &[EventRow],
    start: i64,
    until: Until,
    format: TraceFormat,
    out: &mut dyn Write,
    progress: &mut dyn FnMut(usize),
) -> Result<Summary, String> {
    run_with_deploys(
        engine,
        store,
        events,
        None,
        &[],
        &[],
        start,
        until,
        format,
        out,
        progress,
    )
}

/// How the inputs read for one program name the cadences, fields and custom events of the
/// program a deploy made: by name.
struct Remap {
    cadences: Vec<Option<u32>>,
    fields: Vec<Option<u16>>,
    events: Vec<Option<u32>>,
}

impl Remap {
    fn new(
        old: &Program,
        old_cat: &crate::engine::Catalog,
        new: &Program,
        new_cat: &crate::engine::Catalog,
    ) -> Remap {
        Remap {
            cadences: old
                .cadences
                .iter()
                .map(|c| new.cadence_by_name(&c.name).map(|i| i as u32))
                .collect(),
            fields: old_cat.names.iter().map(|n| new_cat.lookup(n)).collect(),
            events: old
                .custom_events
                .iter()
                .map(|e| {
                    new.custom_events
                        .iter()
                        .position(|x| x == e)
                        .map(|i| i as u32)
                })
                .collect(),
        }
    }

    /// The input in the new program's terms; `None` when it names something the new program
    /// does not have.
    fn input(&self, input: &Input) -> Option<Input> {
        let cad = |c: Option<u32>| -> Option<Option<u32>> {
            match c {
                None => Some(None),
                Some(i) => self.cadences.get(i as usize).copied().flatten().map(Some),
            }
        };
        Some(match input.clone() {
            Input::Enroll { contact, cadence } => Input::Enroll {
                contact,
                cadence: cad(cadence)?,
            },
            Input::Unenroll { contact, cadence } => Input::Unenroll {
                contact,
                cadence: cad(cadence)?,
            },
            Input::Set {
                contact,
                field,
                value,
            } => Input::Set {
                contact,
                field: self.fields.get(field as usize).copied().flatten()?,
                value,
            },
            Input::Pause {
                contact,
                cadence,
                until,
                catch_up,
            } => Input::Pause {
                contact,
                cadence: cad(cadence)?,
                until,
                catch_up,
            },
            Input::Resume {
                contact,
                cadence,
                catch_up,
            } => Input::Resume {
                contact,
                cadence: cad(cadence)?,
                catch_up,
            },
            Input::Event {
                contact,
                event,
                step,
                cadence,
                machine,
                message,
                back,
            } => Input::Event {
                contact,
                event: match event {
                    EventKey::Custom(i) => {
                        EventKey::Custom(self.events.get(i as usize).copied().flatten()?)
                    }
                    o => o,
                },
                step,
                cadence: cad(cadence)?,
                machine,
                message,
                back,
            },
        })
    }
}

/// A new version of the cadences, deployed at an instant.
pub struct Deployment {
    pub at: i64,
    pub program: &'static Program,
    /// The version hash of each of its cadences.
    pub hashes: Vec<String>,
}

/// [`run`], with deploys: at each instant, the program is replaced by one holding the new
/// versions (every cadence of the program before as an older version) and the contacts in
/// flight move as the new versions' `migrate` blocks say, as `cadence deploy` does. `hashes`:
/// the version hashes of the engine's program; `read_with`: the program the events were read
/// against, when it is not the engine's (they are named again for each program by name).
#[allow(clippy::too_many_arguments)]
pub fn run_with_deploys(
    engine: &mut Engine,
    store: &mut dyn ContactStore,
    events: &[EventRow],
    read_with: Option<&Program>,
    deploys: &[Deployment],
    hashes: &[String],
    start: i64,
    until: Until,
    format: TraceFormat,
    out: &mut dyn Write,
    progress: &mut dyn FnMut(usize),
) -> Result<Summary, String> {
    let mut summary = Summary::default();
    let mut buf = String::with_capacity(1 << 17);
    let mut jsonl = Jsonl::new(engine.program());
    let mut order_d: Vec<&Deployment> = deploys.iter().collect();
    order_d.sort_by_key(|d| d.at);
    let mut deploys = order_d.into_iter().peekable();
    let mut hashes: Vec<String> = hashes.to_vec();
    // The inputs in the terms of the engine's program (none: they already are).
    let read_cat = read_with.map(crate::engine::Catalog::new);
    let mut remap: Option<Remap> = match (read_with, &read_cat) {
        (Some(p), Some(cat)) => Some(Remap::new(p, cat, engine.program(), engine.catalog())),
        _ => None,
    };
    let io = |e: std::io::Error| format!("cannot write the trace: {e}");
    engine.start(start);
    summary.records += write_records(engine, format, &jsonl, &mut buf, out).map_err(io)?;
    let mut order: Vec<usize> = (0..events.len()).collect();
    order.sort_by_key(|&i| events[i].at);
    let mut last = start;
    for (n, &i) in order.iter().enumerate() {
        let ev = &events[i];
        if let Until::At(u) = until {
            if ev.at > u {
                summary.inputs_after_until = order.len() - n;
                break;
            }
        }
        if let Some(&next) = order.get(n + 1) {
            engine.prefetch_contact(events[next].input.contact());
        }
        while let Some(d) = deploys.peek() {
            if d.at >= ev.at {
                break;
            }
            let d = deploys.next().expect("peeked");
            summary.records += deploy(engine, d, &mut hashes, &mut summary, |e| {
                write_records(e, format, &jsonl, &mut buf, out)
            })
            .map_err(io)?;
            jsonl = Jsonl::new(engine.program());
            summary.records += write_records(engine, format, &jsonl, &mut buf, out).map_err(io)?;
            if let (Some(p), Some(cat)) = (read_with, &read_cat) {
                remap = Some(Remap::new(p, cat, engine.program(), engine.catalog()));
            }
        }
        let input = match &remap {
            Some(r) => r.input(&ev.input),
            None => Some(ev.input.clone()),
        };
        let Some(input) = input else {
            if summary.notices.len() < MAX_NOTICES {
                summary.notices.push((
                    ev.line,
                    "names a cadence, field or event that the version running then does not have: not applied".into(),
                ));
            }
            summary.notices_total += 1;
            continue;
        };
        let notes = engine.apply(ev.at, &input);
        if let Input::Set {
            contact,
            field,
            value,
        } = &input
        {
            let id = engine.contact(*contact).id.clone();
            let name = engine.catalog().names[*field as usize].clone();
            store
                .set_field(&id, &name, value.as_ref())
                .map_err(|e| format!("contact store: {e}"))?;
        }
        summary.notices_total += notes.len();
        for m in notes {
            if summary.notices.len() < MAX_NOTICES {
                summary.notices.push((ev.line, engine.describe(&m)));
            }
        }
        summary.inputs_applied += 1;
        last = ev.at;
        summary.records += write_records(engine, format, &jsonl, &mut buf, out).map_err(io)?;
        if n % 4096 == 0 {
            progress(n);
        }
    }
    progress(order.len());
    // Deploys after the last input (within `until`).
    for d in deploys {
        if let Until::At(u) = until {
            if d.at > u {
                break;
            }
        }
        summary.records += deploy(engine, d, &mut hashes, &mut summary, |e| {
            write_records(e, format, &jsonl, &mut buf, out)
        })
        .map_err(io)?;
        jsonl = Jsonl::new(engine.program());
        summary.records += write_records(engine, format, &jsonl, &mut buf, out).map_err(io)?;
    }
    // The records go out as they are made (a cadence that loops would otherwise hold them all
    // until the end).
    match until {
        Until::At(u) => {
            while let Some(due) = engine.next_due() {
                if due > u {
                    break;
                }
                engine.run_until(due, true);
                summary.records +=
                    write_records(engine, format, &jsonl, &mut buf, out).map_err(io)?;
            }
            engine.run_until(u, true);
        }
        Until::Idle => {
            // Without a loop every enrolment ends or waits for an event: run to the end. With
            // one, stop at a horizon far beyond any single delay.
            let horizon = if engine.program().has_loop() {
                last.max(start).saturating_add(HORIZON)
            } else {
                i64::MAX
            };
            while let Some(due) = engine.next_due() {
                if due > horizon {
                    summary.stopped_at_horizon = Some(horizon);
                    break;
                }
                engine.run_until(due, true);
                summary.records +=
                    write_records(engine, format, &jsonl, &mut buf, out).map_err(io)?;
            }
        }
    }
    summary.records += write_records(engine, format, &jsonl, &mut buf, out).map_err(io)?;
    out.write_all(buf.as_bytes()).map_err(io)?;
    summary.end = engine.now();
    Ok(summary)
}
