//! Trace records: what happened, when, to whom. Formatted as JSON lines (the contract) or as a
//! readable timeline.

use std::fmt::Write;

use super::calendar::{format_instant, format_local, push_instant, push_local};
use crate::check::{Action, Cadence, Outcome, Program, Target};
use chrono_tz::Tz;

/// Why a due step did not execute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SkipReason {
    /// The step's `if` was false.
    Condition,
    Unsubscribed,
    Bounced,
    NoEmail,
    /// `at FIELD ± D` fell before the step was entered.
    DatePassed,
    /// `at FIELD` with the field unset.
    DateUnset,
    /// An `at "CRON"` that never fires again.
    NoTime,
}

impl SkipReason {
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::Condition => "condition",
            SkipReason::Unsubscribed => "unsubscribed",
            SkipReason::Bounced => "bounced",
            SkipReason::NoEmail => "no_email",
            SkipReason::DatePassed => "date_passed",
            SkipReason::DateUnset => "date_unset",
            SkipReason::NoTime => "no_time",
        }
    }
}

/// Why an enrolment exited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExitReason {
    Unsubscribed,
    Bounced,
    Unenrolled,
    /// The enrolment kept moving without time passing (a loop with no delay).
    Loop,
    /// `exit` rule `i` of the cadence.
    Rule(u32),
    /// `on ... -> exit` of step `step`, handler `handler`.
    Handler {
        step: u32,
        handler: u32,
    },
    /// Rule `i` of the `migrate` block of the version the enrolment was moved into.
    Migration(u32),
}

/// What an event record names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKey {
    Outcome(Outcome),
    Custom(u32),
}

/// Where a transition leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum To {
    Step(u32),
    Done,
    Exit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Enrolled,
    /// `variant`: which template of an A/B step was sent (0 otherwise). For a call or a task:
    /// `owner`, who it is for (an id the driver resolves, 0 for nobody), and `due`, when.
    Executed {
        step: u32,
        variant: u8,
        owner: u32,
        due: i64,
    },
    Skipped {
        step: u32,
        reason: SkipReason,
    },
    /// Over the daily limit: moved to `until` (shown in the text timeline only).
    Deferred {
        step: u32,
        until: i64,
    },
    /// `machine`: an open or click made by a mail proxy or a link scanner.
    Event {
        step: Option<u32>,
        event: EventKey,
        machine: bool,
    },
    /// Handler `handler` of step `from` fired.
    Transition {
        from: u32,
        handler: u32,
        to: To,
    },
    Exited {
        reason: ExitReason,
    },
    /// Goal rule `i`.
    Goal {
        rule: u32,
    },
    Completed,
    /// A deploy moved the enrolment from step `from_step` of version `from_cadence` into this
    /// version (the record's cadence): to a step, or to its end.
    Migrated {
        from_cadence: u32,
        from_step: u32,
        to: To,
    },
    /// Paused at step `step` (`cadence pause`, or with `auto_reply`, an out-of-office answer
    /// under `pause on auto_reply`): its timers are held, until `until` when given.
    Paused {
        step: u32,
        until: Option<i64>,
        auto_reply: bool,
    },
    /// Resumed at step `step`: each wait continues with the time it had left, or (`catch_up`)
    /// what became due meanwhile falls due now.
    Resumed {
        step: u32,
        catch_up: bool,
    },
    /// A call or task step fell due while its owner is away (`cadence pause --owner`): moved to
    /// `until`, when the owner is back (shown in the text timeline only).
    Held {
        step: u32,
        until: i64,
    },
}

/// One trace record. Steps are indices into the cadence's steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Record {
    pub at: i64,
    pub contact: u32,
    pub cadence: u32,
    pub kind: Kind,
    /// The contact's zone when the record was made, in a cadence that uses one (a later change
    /// of the contact's zone field does not move what was shown then).
    pub tz: Option<Tz>,
}

impl Kind {
    /// Whether the record is shown in the text timeline only, not in JSON lines: a step moved
    /// later by the daily limit or an owner's time off (the step's record says when it ran).
    pub fn text_only(&self) -> bool {
        matches!(self, Kind::Deferred { .. } | Kind::Held { .. })
    }

    pub fn name(&self) -> &'static str {
        match self {
            Kind::Enrolled => "enrolled",
            Kind::Executed { .. } => "executed",
            Kind::Skipped { .. } => "skipped",
            Kind::Deferred { .. } => "deferred",
            Kind::Event { .. } => "event",
            Kind::Transition { .. } => "transition",
            Kind::Exited { .. } => "exited",
            Kind::Goal { .. } => "goal",
            Kind::Completed => "completed",
            Kind::Migrated { .. } => "migrated",
            Kind::Paused { .. } => "paused",
            Kind::Resumed { .. } => "resumed",
            Kind::Held { .. } => "held",
        }
    }
}

pub(crate) fn event_name(program: &Program, e: EventKey) -> &str {
    match e {
        EventKey::Outcome(o) => o.name(),
        EventKey::Custom(i) => program
            .custom_events
            .get(i as usize)
            .map_or("?", |s| s.as_str()),
    }
}

/// The reason text of an exit.
pub fn exit_reason(cadence: &Cadence, r: ExitReason) -> &str {
    match r {
        ExitReason::Unsubscribed => "unsubscribed",
        ExitReason::Bounced => "bounced",
        ExitReason::Unenrolled => "unenrolled",
        ExitReason::Loop => "loop_without_delay",
        ExitReason::Rule(i) => cadence
            .exits
            .get(i as usize)
            .map_or("?", |r| r.name.as_str()),
        ExitReason::Handler { step, handler } => {
            match cadence
                .steps
                .get(step as usize)
                .and_then(|s| s.handlers.get(handler as usize))
            {
                Some(h) => match &h.target {
                    Target::Exit(reason) => reason,
                    _ => "?",
                },
                None => "?",
            }
        }
        ExitReason::Migration(i) => match cadence
            .migration
            .as_ref()
            .and_then(|m| m.rules.get(i as usize))
            .map(|r| &r.to)
        {
            Some(crate::check::MigrateTo::Exit(reason)) => reason,
            _ => "migrated",
        },
    }
}

/// The event name of handler `handler` of step `step` (`no_reply` for a timeout).
pub fn handler_event(cadence: &Cadence, step: u32, handler: u32) -> &str {
    match cadence
        .steps
        .get(step as usize)
        .and_then(|s| s.handlers.get(handler as usize))
    {
        Some(h) => h.event.name(),
        None => "?",
    }
}

fn action_name<'a>(
    program: &'a Program,
    cadence: &'a Cadence,
    step: u32,
    variant: u8,
) -> (&'static str, &'a str) {
    match cadence.steps.get(step as usize).map(|s| &s.action) {
        Some(a @ Action::Email { .. }) => (
            "email",
            a.template_of(variant)
                .and_then(|t| program.templates.get(t.0))
                .map_or("?", |t| t.name.as_str()),
        ),
        Some(Action::Call { subject }) => ("call", subject),
        Some(Action::Task { subject, .. }) => ("task", subject),
        None => ("?", "?"),
    }
}

/// How many variants a step has (0: it sends one template, or is not an email).
fn variant_count(cadence: &Cadence, step: u32) -> usize {
    match cadence.steps.get(step as usize).map(|s| &s.action) {
        Some(Action::Email { variants, .. }) => variants.len(),
        _ => 0,
    }
}

/// A step index, or one past any step for none.
fn s_index(step: Option<u32>) -> usize {
    step.map_or(usize::MAX, |s| s as usize)
}

/// A variant as people name them: A, B, C, ...
pub fn variant_letter(variant: u8) -> char {
    char::from(b'A' + variant.min(25))
}

/// Appends `s` as a JSON string.
fn json_str(out: &mut String, s: &str) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        // serde_json escapes exactly as JSON requires.
        out.push_str(&serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into()));
    }
}

/// Where a transition or a migration leads, as JSON: a step number, `"done"` or `"exit"`.
fn push_to(out: &mut String, cadence: &Cadence, to: To) {
    match to {
        To::Step(s) => {
            let _ = write!(out, "{}", step_number(cadence, s));
        }
        To::Done => out.push_str("\"done\""),
        To::Exit => out.push_str("\"exit\""),
    }
}

/// Where a transition or a migration leads, in words: `step 3`, `done`, `exit`.
fn to_words(cadence: &Cadence, to: To) -> String {
    match to {
        To::Step(s) => format!("step {}", step_number(cadence, s)),
        To::Done => "done".into(),
        To::Exit => "exit".into(),
    }
}

fn step_number(cadence: &Cadence, step: u32) -> u32 {
    cadence.steps.get(step as usize).map_or(0, |s| s.number)
}

/// Writes JSON lines. Built once per program: the parts that repeat (a cadence's name, a
/// step's action) are rendered in advance.
pub struct Jsonl {
    /// Per cadence: `,"cadence":NAME,"kind":"`.
    cadence: Vec<String>,
    /// Per cadence, per step, per variant: `,"step":N,"action":"email","name":NAME` (with
    /// `,"variant":NAME` for a step with variants).
    executed: Vec<Vec<Vec<String>>>,
}

impl Jsonl {
    pub fn new(program: &Program) -> Jsonl {
        let mut cadence = Vec::new();
        let mut executed = Vec::new();
        for c in &program.cadences {
            let mut head = String::from(",\"cadence\":");
            json_str(&mut head, &c.name);
            head.push_str(",\"kind\":\"");
            cadence.push(head);
            executed.push(
                (0..c.steps.len() as u32)
                    .map(|i| {
                        let n = variant_count(c, i);
                        (0..n.max(1) as u8)
                            .map(|v| {
                                let (action, name) = action_name(program, c, i, v);
                                let mut e = format!(
                                    ",\"step\":{},\"action\":\"{action}\",\"name\":",
                                    step_number(c, i)
                                );
                                json_str(&mut e, name);
                                if n > 0 {
                                    e.push_str(",\"variant\":");
                                    json_str(&mut e, name);
                                }
                                e
                            })
                            .collect()
                    })
                    .collect(),
            );
        }
        Jsonl { cadence, executed }
    }

    /// Appends the JSON line of a record (with a newline). `Deferred` records have none.
    /// `owner`: the name an `executed` call or task record's owner id stands for; `zone`: the
    /// contact's zone when the cadence uses one (adds `local` and `tz`).
    pub fn write(
        &self,
        out: &mut String,
        program: &Program,
        contact: &str,
        r: &Record,
        owner: Option<&str>,
        zone: Option<Tz>,
    ) {
        let cadence = &program.cadences[r.cadence as usize];
        if r.kind.text_only() {
            return;
        }
        out.push_str("{\"at\":\"");
        push_instant(out, r.at);
        out.push_str("\",\"contact\":");
        json_str(out, contact);
        out.push_str(&self.cadence[r.cadence as usize]);
        out.push_str(r.kind.name());
        out.push('"');
        match r.kind {
            Kind::Enrolled | Kind::Completed | Kind::Deferred { .. } | Kind::Held { .. } => {}
            Kind::Paused {
                step,
                until,
                auto_reply,
            } => {
                let _ = write!(out, ",\"step\":{}", step_number(cadence, step));
                if auto_reply {
                    out.push_str(",\"reason\":\"auto_reply\"");
                }
                if let Some(u) = until {
                    out.push_str(",\"until\":\"");
                    push_instant(out, u);
                    out.push('"');
                }
            }
            Kind::Resumed { step, catch_up } => {
                let _ = write!(out, ",\"step\":{}", step_number(cadence, step));
                if catch_up {
                    out.push_str(",\"catch_up\":true");
                }
            }
            Kind::Executed {
                step, variant, due, ..
            } => {
                let forms = &self.executed[r.cadence as usize][step as usize];
                out.push_str(forms.get(variant as usize).unwrap_or(&forms[0]));
                if let Some(s) = cadence.steps.get(step as usize) {
                    if !matches!(s.action, Action::Email { .. }) {
                        if let Some(o) = owner {
                            out.push_str(",\"owner\":");
                            json_str(out, o);
                        }
                        out.push_str(",\"priority\":\"");
                        out.push_str(s.priority.name());
                        out.push_str("\",\"due\":\"");
                        push_instant(out, due);
                        out.push('"');
                    }
                }
            }
            Kind::Skipped { step, reason } => {
                let _ = write!(
                    out,
                    ",\"step\":{},\"reason\":\"{}\"",
                    step_number(cadence, step),
                    reason.as_str()
                );
            }
            Kind::Event {
                step,
                event,
                machine,
            } => {
                match step {
                    Some(s) => {
                        let _ = write!(out, ",\"step\":{}", step_number(cadence, s));
                    }
                    None => out.push_str(",\"step\":null"),
                }
                out.push_str(",\"event\":");
                json_str(out, event_name(program, event));
                if machine {
                    out.push_str(",\"machine\":true");
                }
            }
            Kind::Transition { from, handler, to } => {
                let _ = write!(out, ",\"from\":{},\"to\":", step_number(cadence, from));
                push_to(out, cadence, to);
                out.push_str(",\"on\":");
                json_str(out, handler_event(cadence, from, handler));
            }
            Kind::Exited { reason } => {
                out.push_str(",\"reason\":");
                json_str(out, exit_reason(cadence, reason));
            }
            Kind::Migrated {
                from_cadence,
                from_step,
                to,
            } => {
                let old = program
                    .cadences
                    .get(from_cadence as usize)
                    .unwrap_or(cadence);
                let _ = write!(out, ",\"from\":{},\"to\":", step_number(old, from_step));
                push_to(out, cadence, to);
                // Cadences named apart by version: which one it left.
                if old.name != cadence.name {
                    out.push_str(",\"from_cadence\":");
                    json_str(out, &old.name);
                }
            }
            Kind::Goal { rule } => {
                out.push_str(",\"name\":");
                json_str(
                    out,
                    cadence
                        .goals
                        .get(rule as usize)
                        .map_or("?", |g| g.name.as_str()),
                );
            }
        }
        if let Some(tz) = zone {
            out.push_str(",\"local\":\"");
            push_local(out, r.at, tz);
            out.push_str("\",\"tz\":");
            json_str(out, tz.name());
        }
        out.push_str("}\n");
    }
}

/// Appends the JSON line of one record (see [`Jsonl`] for many).
pub fn write_jsonl(
    out: &mut String,
    program: &Program,
    contact: &str,
    r: &Record,
    owner: Option<&str>,
    zone: Option<Tz>,
) {
    Jsonl::new(program).write(out, program, contact, r, owner, zone);
}

/// Appends one line of the readable timeline; with `zone` (the contact's, when the cadence
/// uses one), the local time follows in brackets: `[2026-03-11 09:30 Europe/Berlin]`.
pub fn write_text(
    out: &mut String,
    program: &Program,
    contact: &str,
    r: &Record,
    zone: Option<Tz>,
) {
    let cadence = &program.cadences[r.cadence as usize];
    let at = format_instant(r.at).replace('T', " ");
    let what = describe(program, r);
    let contact = crate::diagnostic::printable(contact);
    let _ = write!(out, "{at}  {contact:<10} {:<24} {what}", cadence.name);
    if let Some(tz) = zone {
        let _ = write!(out, "  [{}]", format_local(r.at, tz));
    }
    out.push('\n');
}

/// What a record says, in words: `step 1: email `welcome` sent`, `exited: replied`, ...
pub fn describe(program: &Program, r: &Record) -> String {
    let cadence = &program.cadences[r.cadence as usize];
    match r.kind {
        Kind::Enrolled => "enrolled".to_string(),
        Kind::Executed { step, variant, .. } => {
            let (action, name) = action_name(program, cadence, step, variant);
            let channel_word = match action {
                "email" if variant_count(cadence, step) > 0 => {
                    format!("email `{name}` sent (variant {})", variant_letter(variant))
                }
                "email" => format!("email `{name}` sent"),
                "call" => format!("call \"{name}\" scheduled"),
                _ => format!("task \"{name}\" created"),
            };
            format!("step {}: {channel_word}", step_number(cadence, step))
        }
        Kind::Skipped { step, reason } => {
            let why = match reason {
                SkipReason::Condition => "its `if` is false",
                SkipReason::Unsubscribed => "the contact unsubscribed",
                SkipReason::Bounced => "the address bounced",
                SkipReason::NoEmail => "the record has no email address",
                SkipReason::DatePassed => "its date has passed",
                SkipReason::DateUnset => "its date field is empty",
                SkipReason::NoTime => "its schedule never fires",
            };
            format!("step {} skipped: {why}", step_number(cadence, step))
        }
        Kind::Deferred { step, until } => format!(
            "step {} deferred to {} (daily email limit reached)",
            step_number(cadence, step),
            format_instant(until).replace('T', " ")
        ),
        Kind::Held { step, until } => format!(
            "step {} held to {} (its owner is away)",
            step_number(cadence, step),
            format_instant(until).replace('T', " ")
        ),
        Kind::Paused {
            step,
            until,
            auto_reply,
        } => {
            let why = if auto_reply {
                " (an out-of-office answer: `pause on auto_reply`)"
            } else {
                ""
            };
            match until {
                Some(u) => format!(
                    "paused at step {} until {}{why}",
                    step_number(cadence, step),
                    format_instant(u).replace('T', " ")
                ),
                None => format!("paused at step {}{why}", step_number(cadence, step)),
            }
        }
        Kind::Resumed { step, catch_up } => format!(
            "resumed at step {}{}",
            step_number(cadence, step),
            if catch_up {
                " (catching up: what fell due meanwhile is due now)"
            } else {
                " (each wait continues with the time it had left)"
            }
        ),
        Kind::Event {
            step,
            event,
            machine,
        } => {
            let by = if machine { " by a machine" } else { "" };
            // The outcome of a call or a task names its channel: `task completed (step 2)`
            // must not read as the enrolment completing.
            let channel = match cadence.steps.get(s_index(step)).map(|s| &s.action) {
                Some(Action::Call { .. }) if step.is_some() => "call ",
                Some(Action::Task { .. }) if step.is_some() => "task ",
                _ => "",
            };
            match step {
                Some(s) => format!(
                    "{channel}{}{by} (step {})",
                    event_name(program, event),
                    step_number(cadence, s)
                ),
                None => format!("{}{by}", event_name(program, event)),
            }
        }
        Kind::Transition { from, handler, to } => {
            let to = to_words(cadence, to);
            format!(
                "step {} -> {to} on {}",
                step_number(cadence, from),
                handler_event(cadence, from, handler)
            )
        }
        Kind::Exited { reason } => format!("exited: {}", exit_reason(cadence, reason)),
        Kind::Migrated {
            from_cadence,
            from_step,
            to,
        } => {
            let old = program
                .cadences
                .get(from_cadence as usize)
                .unwrap_or(cadence);
            let to = to_words(cadence, to);
            format!(
                "migrated to the new version: step {} -> {to}",
                step_number(old, from_step)
            )
        }
        Kind::Goal { rule } => format!(
            "goal reached: {}",
            cadence
                .goals
                .get(rule as usize)
                .map_or("?", |g| g.name.as_str())
        ),
        Kind::Completed => "completed".into(),
    }
}
