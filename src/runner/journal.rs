//! The journal: every trace record the runner produced, stored compactly (a kind code and a few
//! integers, against the version that produced it), and printed again in `simulate`'s formats.

use std::collections::HashMap;
use std::io::Write;

use chrono_tz::Tz;

use super::program::LiveProgram;
use crate::engine::trace::{event_name, Jsonl};
use crate::engine::{zone_of, Catalog, EventKey, ExitReason, Fields, Kind, Record, SkipReason, To};
use crate::sim::TraceFormat;
use crate::store::live::{JournalRow, LiveError, LiveStore, MailRow};

const ENROLLED: i64 = 0;
const EXECUTED: i64 = 1;
const SKIPPED: i64 = 2;
const DEFERRED: i64 = 3;
const EVENT: i64 = 4;
const TRANSITION: i64 = 5;
const EXITED: i64 = 6;
const GOAL: i64 = 7;
const COMPLETED: i64 = 8;
const MIGRATED: i64 = 9;
const PAUSED: i64 = 10;
const RESUMED: i64 = 11;
const HELD: i64 = 12;

/// The kind of a journal row, in the words of the trace (`transition`, `executed`, ...).
pub fn kind_name(kind: i64) -> &'static str {
    match kind {
        ENROLLED => "enrolled",
        EXECUTED => "executed",
        SKIPPED => "skipped",
        DEFERRED => "deferred",
        EVENT => "event",
        TRANSITION => "transition",
        EXITED => "exited",
        GOAL => "goal",
        COMPLETED => "completed",
        MIGRATED => "migrated",
        PAUSED => "paused",
        RESUMED => "resumed",
        HELD => "held",
        _ => "other",
    }
}

const SKIP_REASONS: [SkipReason; 7] = [
    SkipReason::Condition,
    SkipReason::Unsubscribed,
    SkipReason::Bounced,
    SkipReason::NoEmail,
    SkipReason::DatePassed,
    SkipReason::DateUnset,
    SkipReason::NoTime,
];

/// Where a transition or a migration leads, as a journal column: a step index, -1 for
/// `done`, -2 for `exit`.
fn to_code(to: To) -> i64 {
    match to {
        To::Step(s) => s as i64,
        To::Done => -1,
        To::Exit => -2,
    }
}

fn code_to(code: i64) -> To {
    match code {
        -1 => To::Done,
        -2 => To::Exit,
        s => To::Step(s as u32),
    }
}

/// A record as a journal row.
pub fn encode(lp: &LiveProgram, r: &Record, owner: Option<&str>) -> JournalRow {
    let mut row = JournalRow {
        at: r.at,
        contact: r.contact,
        version: lp.versions[r.cadence as usize],
        kind: 0,
        step: None,
        a: None,
        b: None,
        name: None,
    };
    match r.kind {
        Kind::Enrolled => row.kind = ENROLLED,
        Kind::Executed {
            step, variant, due, ..
        } => {
            row.kind = EXECUTED;
            row.step = Some(step as i64);
            // The variant of an A/B step; none for the others (rows written before variants
            // existed read as variant 0).
            row.a = (variant > 0).then_some(i64::from(variant));
            // A call's or task's due time and owner (rows written before read as due at
            // once, for nobody).
            row.b = (due != r.at).then_some(due);
            row.name = owner.map(str::to_string);
        }
        Kind::Skipped { step, reason } => {
            row.kind = SKIPPED;
            row.step = Some(step as i64);
            row.a = SKIP_REASONS
                .iter()
                .position(|x| *x == reason)
                .map(|i| i as i64);
        }
        Kind::Deferred { step, until } | Kind::Held { step, until } => {
            row.kind = if matches!(r.kind, Kind::Held { .. }) {
                HELD
            } else {
                DEFERRED
            };
            row.step = Some(step as i64);
            row.a = Some(until);
        }
        Kind::Event {
            step,
            event,
            machine,
        } => {
            row.kind = EVENT;
            row.step = step.map(i64::from);
            row.a = machine.then_some(1);
            row.name = Some(event_name(&lp.program, event).to_string());
        }
        Kind::Transition { from, handler, to } => {
            row.kind = TRANSITION;
            row.step = Some(from as i64);
            row.a = Some(handler as i64);
            row.b = Some(to_code(to));
        }
        Kind::Exited { reason } => {
            row.kind = EXITED;
            let (a, step, b) = match reason {
                ExitReason::Unsubscribed => (0, None, None),
                ExitReason::Bounced => (1, None, None),
                ExitReason::Unenrolled => (2, None, None),
                ExitReason::Loop => (3, None, None),
                ExitReason::Rule(i) => (4, None, Some(i as i64)),
                ExitReason::Handler { step, handler } => {
                    (5, Some(step as i64), Some(handler as i64))
                }
                ExitReason::Migration(i) => (6, None, Some(i as i64)),
            };
            row.a = Some(a);
            row.step = step;
            row.b = b;
        }
        Kind::Goal { rule } => {
            row.kind = GOAL;
            row.a = Some(rule as i64);
        }
        Kind::Completed => row.kind = COMPLETED,
        Kind::Migrated {
            from_cadence,
            from_step,
            to,
        } => {
            row.kind = MIGRATED;
            row.step = Some(from_step as i64);
            row.a = lp.versions.get(from_cadence as usize).copied();
            row.b = Some(to_code(to));
        }
        Kind::Paused {
            step,
            until,
            auto_reply,
        } => {
            row.kind = PAUSED;
            row.step = Some(step as i64);
            row.a = until;
            row.b = auto_reply.then_some(1);
        }
        Kind::Resumed { step, catch_up } => {
            row.kind = RESUMED;
            row.step = Some(step as i64);
            row.a = Some(i64::from(catch_up));
        }
    }
    row
}

/// A journal row as a record, for the program of the database.
pub fn decode(lp: &LiveProgram, row: &JournalRow) -> Option<Record> {
    let cadence = lp.index_of(row.version)?;
    let step = || row.step.map(|s| s as u32);
    let kind = match row.kind {
        ENROLLED => Kind::Enrolled,
        EXECUTED => Kind::Executed {
            step: step()?,
            variant: u8::try_from(row.a.unwrap_or(0)).ok()?,
            // The name is in the row: writers take it from there.
            owner: u32::from(row.name.is_some()),
            due: row.b.unwrap_or(row.at),
        },
        SKIPPED => Kind::Skipped {
            step: step()?,
            reason: *SKIP_REASONS.get(row.a? as usize)?,
        },
        DEFERRED => Kind::Deferred {
            step: step()?,
            until: row.a?,
        },
        EVENT => {
            let name = row.name.as_deref()?;
            let event = match crate::check::Outcome::from_name(name) {
                Some(o) => EventKey::Outcome(o),
                None => {
                    EventKey::Custom(lp.program.custom_events.iter().position(|e| e == name)? as u32)
                }
            };
            Kind::Event {
                step: step(),
                event,
                machine: row.a == Some(1),
            }
        }
        TRANSITION => Kind::Transition {
            from: step()?,
            handler: row.a? as u32,
            to: code_to(row.b?),
        },
        EXITED => Kind::Exited {
            reason: match row.a? {
                0 => ExitReason::Unsubscribed,
                1 => ExitReason::Bounced,
                2 => ExitReason::Unenrolled,
                3 => ExitReason::Loop,
                4 => ExitReason::Rule(row.b? as u32),
                6 => ExitReason::Migration(row.b? as u32),
                _ => ExitReason::Handler {
                    step: step()?,
                    handler: row.b? as u32,
                },
            },
        },
        GOAL => Kind::Goal {
            rule: row.a? as u32,
        },
        MIGRATED => Kind::Migrated {
            from_cadence: lp.index_of(row.a?)?,
            from_step: step()?,
            to: code_to(row.b?),
        },
        PAUSED => Kind::Paused {
            step: step()?,
            until: row.a,
            auto_reply: row.b == Some(1),
        },
        RESUMED => Kind::Resumed {
            step: step()?,
            catch_up: row.a == Some(1),
        },
        HELD => Kind::Held {
            step: step()?,
            until: row.a?,
        },
        _ => Kind::Completed,
    };
    Some(Record {
        at: row.at,
        contact: row.contact,
        cadence,
        kind,
        tz: None,
    })
}

/// Writes journal records as `simulate` prints them.
pub struct TraceWriter<'a> {
    lp: &'a LiveProgram,
    jsonl: Jsonl,
    format: TraceFormat,
    catalog: Catalog,
    /// The fields of each contact, when a cadence reads its zone from a field.
    fields: HashMap<String, Fields>,
    /// Messages read from the mailboxes and matched, by (contact, event), oldest first: each
    /// names the event record it gave ([`TraceWriter::load_mail`]).
    mail: std::cell::RefCell<HashMap<(String, String), std::collections::VecDeque<MailRow>>>,
}

impl<'a> TraceWriter<'a> {
    pub fn new(lp: &'a LiveProgram, format: TraceFormat) -> TraceWriter<'a> {
        TraceWriter {
            lp,
            jsonl: Jsonl::new(&lp.program),
            format,
            catalog: Catalog::new(&lp.program),
            fields: HashMap::new(),
            mail: Default::default(),
        }
    }

    /// Reads the messages the mailboxes gave events (of one contact, or all), so that each
    /// such event record says which message it came from: `message_id` (the message read),
    /// `answers` (ours, which it was matched to), `sent` (when ours was sent) and `matched_by`.
    pub fn load_mail(
        &mut self,
        store: &mut dyn LiveStore,
        only: Option<&str>,
    ) -> Result<(), LiveError> {
        let mut map: HashMap<(String, String), std::collections::VecDeque<MailRow>> =
            HashMap::new();
        for m in store.mail_log(only, false)? {
            if let (Some(c), Some(e)) = (&m.contact, &m.event) {
                map.entry((c.clone(), e.clone())).or_default().push_back(m);
            }
        }
        self.mail = std::cell::RefCell::new(map);
        Ok(())
    }

    /// The message an event record came from: the oldest not yet taken for the same contact and
    /// event that arrived at or before it (the engine applies an input at its time or later).
    fn mail_of(&self, contact: &str, event: &str, at: i64) -> Option<MailRow> {
        let mut mail = self.mail.borrow_mut();
        let q = mail.get_mut(&(contact.to_string(), event.to_string()))?;
        if q.front().is_some_and(|m| m.at <= at) {
            q.pop_front()
        } else {
            None
        }
    }

    /// Adds what [`TraceWriter::mail_of`] knows to the record of an event just written.
    fn add_mail(&self, out: &mut String, event: EventKey, contact: &str, at: i64, jsonl: bool) {
        if self.mail.borrow().is_empty() {
            return;
        }
        let event = event_name(&self.lp.program, event);
        let Some(m) = self.mail_of(contact, event, at) else {
            return;
        };
        let sent = m
            .sent
            .map(crate::engine::format_instant)
            .unwrap_or_default();
        let how = m.matched_by.clone().unwrap_or_default();
        if jsonl && out.ends_with("}\n") {
            out.truncate(out.len() - 2);
            let q = |s: &str| serde_json::to_string(s).unwrap_or_default();
            if let Some(id) = &m.message_id {
                out.push_str(&format!(",\"message_id\":{}", q(id)));
            }
            if let Some(ours) = &m.ours {
                out.push_str(&format!(",\"answers\":{}", q(ours)));
            }
            out.push_str(&format!(
                ",\"sent\":{},\"matched_by\":{}}}\n",
                q(&sent),
                q(&how)
            ));
        } else if !jsonl && out.ends_with('\n') {
            out.pop();
            out.push_str(&format!(" (message of {sent}, matched by {how})\n"));
        }
    }

    /// Reads the fields of the contacts (all, or `only` one) when some cadence takes its zone
    /// from a field, so that records show each contact's local time as `simulate` does.
    pub fn load_zones(
        &mut self,
        store: &mut dyn LiveStore,
        only: Option<&str>,
    ) -> Result<(), LiveError> {
        let by_field = self
            .lp
            .program
            .cadences
            .iter()
            .any(|c| matches!(c.zone, crate::check::Zone::Field { .. }));
        if !by_field {
            return Ok(());
        }
        let ids = match only {
            Some(id) => vec![id.to_string()],
            None => store.contact_ids()?,
        };
        for id in ids {
            let Some(row) = store.contact_by_id(&id)? else {
                continue;
            };
            if let Ok(d) =
                super::state::decode(self.lp, &self.catalog, row.rowid, &row.id, &row.state)
            {
                self.fields.insert(id, d.contact.fields);
            }
        }
        Ok(())
    }

    /// The zone a record is shown in, when its cadence uses one.
    fn zone(&self, r: &Record, contact: &str) -> Option<Tz> {
        let c = self.lp.program.cadences.get(r.cadence as usize)?;
        if !c.uses_zone() {
            return None;
        }
        let none = Fields::default();
        let fields = self.fields.get(contact).unwrap_or(&none);
        Some(zone_of(&self.lp.program, &self.catalog, r.cadence, fields))
    }

    /// Appends one row; returns whether it printed something.
    pub fn write(&self, out: &mut String, row: &JournalRow, contact: &str) -> bool {
        let Some(r) = decode(self.lp, row) else {
            out.push_str(&format!(
                "# journal row of an unknown version {} (kind {})\n",
                row.version, row.kind
            ));
            return true;
        };
        let zone = self.zone(&r, contact);
        match self.format {
            TraceFormat::Jsonl => {
                let before = out.len();
                self.jsonl.write(
                    out,
                    &self.lp.program,
                    contact,
                    &r,
                    row.name.as_deref(),
                    zone,
                );
                if let Kind::Event { event, .. } = r.kind {
                    self.add_mail(out, event, contact, r.at, true);
                }
                out.len() > before
            }
            TraceFormat::Text => {
                crate::engine::trace::write_text(out, &self.lp.program, contact, &r, zone);
                if let Kind::Event { event, .. } = r.kind {
                    self.add_mail(out, event, contact, r.at, false);
                }
                true
            }
        }
    }
}

/// Writes the journal of `store` to `out`; returns how many records it printed.
pub fn write_trace(
    store: &mut dyn LiveStore,
    format: TraceFormat,
    out: &mut dyn Write,
) -> Result<usize, String> {
    write_trace_of(store, format, out, None)
}

/// Writes the journal of `store` to `out`, only the records of one contact when `only` names
/// it; returns how many records it printed.
pub fn write_trace_of(
    store: &mut dyn LiveStore,
    format: TraceFormat,
    out: &mut dyn Write,
    only: Option<&str>,
) -> Result<usize, String> {
    let lp = LiveProgram::from_store(store)?;
    write_trace_with(store, &lp, format, out, only)
}

/// [`write_trace_of`] with the program of the database already read (its cadences may be
/// named by version: [`LiveProgram::name_by_version`]).
pub fn write_trace_with(
    store: &mut dyn LiveStore,
    lp: &LiveProgram,
    format: TraceFormat,
    out: &mut dyn Write,
    only: Option<&str>,
) -> Result<usize, String> {
    let mut w = TraceWriter::new(lp, format);
    w.load_zones(store, only).map_err(|e| e.to_string())?;
    w.load_mail(store, only).map_err(|e| e.to_string())?;
    let mut buf = String::with_capacity(1 << 16);
    let mut count = 0;
    store
        .journal(&mut |row, contact| {
            if only.is_some_and(|id| id != contact) {
                return Ok(());
            }
            if w.write(&mut buf, row, contact) {
                count += 1;
            }
            if buf.len() > 1 << 16 {
                out.write_all(buf.as_bytes())
                    .map_err(|e| LiveError::Db(format!("cannot write the trace: {e}")))?;
                buf.clear();
            }
            Ok(())
        })
        .map_err(|e| e.to_string())?;
    out.write_all(buf.as_bytes())
        .and_then(|_| out.flush())
        .map_err(|e| format!("cannot write the trace: {e}"))?;
    Ok(count)
}
