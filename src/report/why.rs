//! `cadence why`: every decision about one contact, in words, with the rule and the line that
//! caused it: when each step became due, what moved it (its `at`, the send window, holidays,
//! the daily limit), why it was skipped, which `on` line or rule moved the contact on.
//!
//! The explanation is computed from the trace and the cadence files, the way the engine decides:
//! a step's due time from when it was entered and its `after`/`at`; the window and holidays in
//! the contact's zone (the trace's `tz`); the daily limit from the emails the trace shows sent
//! that day. Nothing is guessed: where the trace and the files do not say (an `at FIELD` date,
//! which the trace does not hold), the explanation says what it knows and when it happened.

use std::collections::HashMap;

use chrono::NaiveDate;
use chrono_tz::Tz;

use super::TraceRecord;
use crate::check::{Action, At, Cadence, HandlerEvent, Program, Step, Target, Zone};
use crate::engine::calendar::{add, day_start, local_date, next_window, utc};
use crate::syntax::ast::{self, ItemKind, StepOption};
use crate::syntax::{FileId, Sources, Span};

/// The checked files, with their text and syntax trees (for quoting lines).
pub struct Sourced<'a> {
    pub program: &'a Program,
    pub sources: &'a Sources,
    pub files: &'a [(FileId, ast::File)],
}

impl Sourced<'_> {
    fn line(&self, file: FileId, span: Span) -> usize {
        self.sources.get(file).line_col(span.start).0
    }

    /// The source of a span on one line, blanks collapsed.
    fn text(&self, file: FileId, span: Span) -> String {
        let t = self.sources.get(file).text.get(span.range()).unwrap_or("");
        t.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// `` `text` (line N) ``
    fn quote(&self, file: FileId, span: Span) -> String {
        self.quote_with(file, span, "")
    }

    /// `` `text` (line N; more) ``
    fn quote_with(&self, file: FileId, span: Span, more: &str) -> String {
        let more = if more.is_empty() {
            String::new()
        } else {
            format!("; {more}")
        };
        format!(
            "`{}` (line {}{more})",
            self.text(file, span),
            self.line(file, span)
        )
    }

    fn ast(&self, file: FileId) -> Option<&ast::File> {
        self.files.iter().find(|(f, _)| *f == file).map(|(_, a)| a)
    }

    fn ast_step(&self, c: &Cadence, number: u32) -> Option<&ast::Step> {
        self.ast(c.file)?.items.iter().find_map(|i| match &i.kind {
            ItemKind::Step(s) if s.number.node.parse::<u32>().ok() == Some(number) => Some(s),
            _ => None,
        })
    }

    /// The quoted option of a step that `pick` selects.
    fn option(&self, c: &Cadence, number: u32, pick: fn(&StepOption) -> bool) -> Option<String> {
        let s = self.ast_step(c, number)?;
        let o = s.options.iter().find(|o| pick(&o.node))?;
        Some(self.quote(c.file, o.span))
    }

    /// The quoted cadence-wide statement that `pick` selects.
    fn item(&self, c: &Cadence, pick: fn(&ItemKind) -> bool) -> Option<String> {
        self.item_with(c, pick, "")
    }

    fn item_with(&self, c: &Cadence, pick: fn(&ItemKind) -> bool, more: &str) -> Option<String> {
        let i = self.ast(c.file)?.items.iter().find(|i| pick(&i.kind))?;
        Some(self.quote_with(c.file, i.span, more))
    }
}

/// Where an enrolment is: the step it entered and when.
#[derive(Clone, Copy)]
struct At0 {
    step: usize,
    entered: i64,
}

/// Explains the decisions about contact `id`; only those of one cadence, or one step, when
/// asked. `Err` when the trace has no record of the contact.
pub fn why(
    id: &str,
    records: &[TraceRecord],
    src: &Sourced,
    only_cadence: Option<&str>,
    only_step: Option<u32>,
) -> Result<String, String> {
    let mine: Vec<&TraceRecord> = records
        .iter()
        .filter(|r| r.contact == id)
        .filter(|r| only_cadence.is_none_or(|c| r.cadence == c))
        .collect();
    if mine.is_empty() {
        return Err(match only_cadence {
            Some(c) => format!("the trace has no record of `{id}` in \"{c}\""),
            None => format!("the trace has no record of `{id}`"),
        });
    }
    let sent = sent_per_day(records, src.program);
    let mut names: Vec<&str> = Vec::new();
    for r in &mine {
        if !names.contains(&r.cadence.as_str()) {
            names.push(&r.cadence);
        }
    }
    let mut out = String::new();
    for name in names {
        let recs: Vec<&&TraceRecord> = mine.iter().filter(|r| r.cadence == name).collect();
        let mut zones: Vec<Tz> = Vec::new();
        for z in recs.iter().filter_map(|r| r.tz) {
            if !zones.contains(&z) {
                zones.push(z);
            }
        }
        let zone_note = match zones.as_slice() {
            [] => "times in UTC".to_string(),
            [z] => format!("times in {}", z.name()),
            many => format!(
                "times in the contact's zone of the moment: {}",
                many.iter()
                    .map(|z| z.name())
                    .collect::<Vec<_>>()
                    .join(", then ")
            ),
        };
        out.push_str(&format!(
            "{} in \"{name}\" ({zone_note})\n",
            crate::diagnostic::printable(id)
        ));
        let Some(ci) = src.program.cadence_by_name(name) else {
            out.push_str("  the cadence files given do not define this cadence: give them to explain its decisions\n\n");
            continue;
        };
        let c = &src.program.cadences[ci];
        if let Some(n) = only_step {
            if c.step_index(n).is_none() {
                let steps: Vec<String> = c.steps.iter().map(|s| s.number.to_string()).collect();
                out.push_str(&format!(
                    "  \"{name}\" has no step {n} (its steps are {})\n\n",
                    steps.join(", ")
                ));
                continue;
            }
        }
        let mut e = Explainer {
            src,
            c,
            sent: &sent,
            lines: Vec::new(),
            only_step,
        };
        e.walk(&recs);
        if e.lines.is_empty() {
            out.push_str(&format!(
                "  nothing happened at step {}\n",
                only_step.unwrap_or(0)
            ));
        }
        for (at, tz, text) in e.lines {
            out.push_str(&format!("  {}  {text}\n", when(at, tz)));
        }
        out.push('\n');
    }
    Ok(out)
}

/// Emails sent per (cadence, sender, day of the limit): what the daily limit counted.
type Sent = HashMap<(String, String, NaiveDate), u32>;

fn sent_per_day(records: &[TraceRecord], program: &Program) -> Sent {
    let mut sent = Sent::new();
    for r in records
        .iter()
        .filter(|r| r.kind == "executed" && r.action.as_deref() == Some("email"))
    {
        let Some(ci) = program.cadence_by_name(&r.cadence) else {
            continue;
        };
        let c = &program.cadences[ci];
        let Some(step) = r.step.and_then(|n| c.step_index(n)).map(|i| &c.steps[i]) else {
            continue;
        };
        let day = local_date(r.at, limit_zone(c));
        *sent
            .entry((c.name.clone(), sender(c, step), day))
            .or_default() += 1;
    }
    sent
}

/// The address a step's emails go from: the daily limit counts per sender.
fn sender(c: &Cadence, s: &Step) -> String {
    s.from
        .clone()
        .or_else(|| c.from.clone())
        .unwrap_or_default()
}

/// The zone of a cadence's daily limit: its own, never the contact's.
fn limit_zone(c: &Cadence) -> Tz {
    match c.zone {
        Zone::Fixed(tz) => tz,
        Zone::Field { default, .. } => default,
    }
}

struct Explainer<'a> {
    src: &'a Sourced<'a>,
    c: &'a Cadence,
    sent: &'a Sent,
    lines: Vec<(i64, Option<Tz>, String)>,
    only_step: Option<u32>,
}

impl Explainer<'_> {
    fn say(&mut self, r: &TraceRecord, step: Option<u32>, text: String) {
        if self.only_step.is_none() || self.only_step == step {
            self.lines.push((r.at, r.tz, text));
        }
    }

    fn step_line(&self, i: usize) -> usize {
        self.src.line(self.c.file, self.c.steps[i].span)
    }

    fn walk(&mut self, recs: &[&&TraceRecord]) {
        let c = self.c;
        let mut at: Option<At0> = None;
        // The `on` line that just sent the contact to `exit` or `done`: (step, event).
        let mut ended_by: Option<(usize, String)> = None;
        // Since when the enrolment is paused.
        let mut paused: Option<i64> = None;
        let mut enrolments = 0;
        for r in recs {
            let r: &TraceRecord = r;
            let index = r.step.and_then(|n| c.step_index(n));
            match r.kind.as_str() {
                "enrolled" => {
                    at = Some(At0 {
                        step: 0,
                        entered: r.at,
                    });
                    ended_by = None;
                    enrolments += 1;
                    let first = c.steps.first().map_or(0, |s| s.number);
                    let again = if enrolments > 1 { " again" } else { "" };
                    let text = format!(
                        "enrolled{again}: enters step {first} (line {})",
                        self.step_line(0)
                    );
                    self.say(r, Some(first), text);
                }
                "executed" | "skipped" => {
                    let Some(i) = index else { continue };
                    let entered = match at {
                        Some(a) if a.step == i => Some(a.entered),
                        _ => None,
                    };
                    let text = self.decision(r, i, entered);
                    self.say(r, r.step, text);
                    let s = &c.steps[i];
                    let waits = if r.kind == "executed" {
                        s.waits()
                    } else {
                        s.handlers.iter().any(|h| h.event == HandlerEvent::Skipped)
                    };
                    at = match (&s.next, waits) {
                        (_, true) => Some(At0 {
                            step: i,
                            entered: entered.unwrap_or(r.at),
                        }),
                        (Target::Step(j), false) => Some(At0 {
                            step: *j,
                            entered: r.at,
                        }),
                        _ => None,
                    };
                }
                "event" => {
                    let what = r.event.clone().unwrap_or_default();
                    let by = if r.machine { " by a machine" } else { "" };
                    let text = match r.step {
                        Some(n) => format!("{what}{by} for step {n}"),
                        None => format!("{what}{by}"),
                    };
                    self.say(r, r.step, text);
                }
                "transition" => {
                    let Some(i) = r.from.and_then(|n| c.step_index(n)) else {
                        continue;
                    };
                    let text = self.transition(r, i);
                    self.say(r, r.from, text);
                    ended_by = match r.to.as_deref() {
                        Some("exit" | "done") => Some((i, r.on.clone().unwrap_or_default())),
                        _ => None,
                    };
                    at =
                        r.to.as_deref()
                            .and_then(|t| t.parse::<u32>().ok())
                            .and_then(|n| c.step_index(n))
                            .map(|j| At0 {
                                step: j,
                                entered: r.at,
                            });
                }
                "migrated" => {
                    let to = r.to.clone().unwrap_or_default();
                    let text = match to.parse::<u32>() {
                        Ok(n) => format!(
                            "moved into a new version of the cadence by its `migrate` block: step {} -> step {n}",
                            r.from.unwrap_or(0)
                        ),
                        Err(_) => format!(
                            "moved into a new version of the cadence by its `migrate` block: step {} -> {to}",
                            r.from.unwrap_or(0)
                        ),
                    };
                    self.say(r, r.from, text);
                    let kept = to.parse::<u32>().ok() == r.from;
                    at = match (to.parse::<u32>().ok().and_then(|n| c.step_index(n)), kept) {
                        // Kept: still at the step it entered before.
                        (Some(j), true) => Some(At0 {
                            step: j,
                            entered: at.map_or(r.at, |a| a.entered),
                        }),
                        (Some(j), false) => Some(At0 {
                            step: j,
                            entered: r.at,
                        }),
                        _ => None,
                    };
                    // An end by the block: said with the exit or completion that follows.
                    ended_by = matches!(to.as_str(), "exit" | "done")
                        .then(|| (usize::MAX, "migrate".to_string()));
                }
                "paused" => {
                    paused.get_or_insert(r.at);
                    let until = r
                        .until
                        .map(|u| format!(" until {}", when(u, r.tz)))
                        .unwrap_or_default();
                    self.say(
                        r,
                        r.step,
                        format!(
                            "paused {}{until}: its timers were held",
                            if r.reason.as_deref() == Some("auto_reply") {
                                "by an out-of-office answer (`pause on auto_reply`)"
                            } else {
                                "by hand"
                            }
                        ),
                    );
                }
                "resumed" => {
                    let since = paused.take().unwrap_or(r.at);
                    let text = if r.catch_up {
                        "resumed, catching up: what fell due while paused was due at once"
                            .to_string()
                    } else {
                        // The wait goes on with the time it had left: as if entered later.
                        at = at.map(|a| At0 {
                            step: a.step,
                            entered: a.entered + (r.at - a.entered.max(since)),
                        });
                        "resumed: the wait went on with the time it had left".to_string()
                    };
                    self.say(r, r.step, text);
                }
                "exited" => {
                    let reason = r.reason.clone().unwrap_or_default();
                    let text = self.exited(&reason, ended_by.take());
                    let step = at.map(|a| c.steps[a.step].number);
                    self.say(r, step, text);
                    at = None;
                }
                "goal" => {
                    let name = r.name.clone().unwrap_or_default();
                    let rules: Vec<String> = c
                        .goals
                        .iter()
                        .filter(|g| g.name == name)
                        .map(|g| self.src.quote(c.file, g.span))
                        .collect();
                    let rule = match rules.len() {
                        0 => String::new(),
                        1 => format!(": {}", rules[0]),
                        _ => format!(": one of {}", rules.join(", ")),
                    };
                    let step = at.map(|a| c.steps[a.step].number);
                    self.say(r, step, format!("goal \"{name}\" reached{rule}"));
                    at = None;
                }
                "completed" => {
                    let step = at.map(|a| c.steps[a.step].number);
                    let text = match ended_by.take() {
                        Some((usize::MAX, _)) => {
                            "completed: the `migrate` block of the version deployed then sent it to `done`".to_string()
                        }
                        Some((i, _)) => {
                            format!("completed: step {} sent it to `done`", c.steps[i].number)
                        }
                        None => "completed: it went past the last step".into(),
                    };
                    self.say(r, step, text);
                    at = None;
                }
                _ => {}
            }
        }
    }

    /// Why a step executed when it did, or why it was skipped.
    fn decision(&self, r: &TraceRecord, i: usize, entered: Option<i64>) -> String {
        let c = self.c;
        let s = &c.steps[i];
        let tz = r.tz.unwrap_or_else(|| limit_zone(c));
        let what = match &s.action {
            Action::Email { template, variants } => {
                let name = match &r.name {
                    Some(n) => n.clone(),
                    None if variants.is_empty() => {
                        self.src.program.templates[template.0].name.clone()
                    }
                    None => variants
                        .iter()
                        .map(|v| self.src.program.templates[v.template.0].name.as_str())
                        .collect::<Vec<_>>()
                        .join("` or `"),
                };
                format!("email `{name}`")
            }
            Action::Call { subject } => format!("call \"{subject}\""),
            Action::Task { subject, .. } => format!("task \"{subject}\""),
        };
        let mut parts = vec![format!(
            "step {} {what} (line {})",
            s.number,
            self.step_line(i)
        )];
        let mut due = None;
        if let Some(entered) = entered {
            let after = add(entered, s.after, tz, &c.holidays);
            let mut d = after;
            let by_field = matches!(s.at, Some(At::Field { .. }));
            if by_field {
                parts.push(format!("entered {}", when(entered, r.tz)));
            } else if s.after.is_zero() {
                parts.push(format!(
                    "became due on entering it, {}",
                    when(entered, r.tz)
                ));
            } else {
                let quote = self
                    .src
                    .option(c, s.number, |o| matches!(o, StepOption::After(_)))
                    .unwrap_or_else(|| format!("`after {}`", s.after));
                let skipped = if s.after.business_days > 0 {
                    holidays_between(entered, after, tz, &c.holidays)
                } else {
                    String::new()
                };
                parts.push(format!(
                    "became due {} by {quote}, counted from entering it {}{skipped}",
                    when(after, r.tz),
                    when(entered, r.tz)
                ));
            }
            match &s.at {
                Some(At::Cron(cron)) => {
                    if let Some(t) = cron.next_at_or_after(utc(d), tz) {
                        let t = t.timestamp();
                        let quote = self
                            .src
                            .option(c, s.number, |o| matches!(o, StepOption::AtCron(_)))
                            .unwrap_or_default();
                        if t > d {
                            parts.push(format!("waited for {quote} until {}", when(t, r.tz)));
                        }
                        d = t;
                    }
                    due = Some(d);
                }
                Some(At::Field { .. }) => {
                    let quote = self
                        .src
                        .option(c, s.number, |o| matches!(o, StepOption::AtField { .. }))
                        .unwrap_or_default();
                    parts.push(format!("timed by {quote} from the record's date"));
                }
                None => due = Some(d),
            }
        } else {
            parts.push("(the trace does not show when it was entered)".into());
        }
        if r.kind == "skipped" {
            parts.push(self.skip_reason(r, i));
            return sentence(parts);
        }
        if let Some(g) = self
            .src
            .option(c, s.number, |o| matches!(o, StepOption::If(_)))
        {
            parts.push(format!("its {g} was true"));
        }
        let is_email = matches!(s.action, Action::Email { .. });
        if let (Some(d), true) = (due, is_email) {
            let mut expected = d;
            if let Some(w) = &c.window {
                let open = next_window(d, w, tz, &c.holidays).unwrap_or(d);
                if open > d {
                    let quote = self
                        .src
                        .item(c, |k| matches!(k, ItemKind::Window(_)))
                        .unwrap_or_else(|| "the window".into());
                    let holidays = holidays_between(d, open, tz, &c.holidays);
                    parts.push(format!(
                        "waited for the window {quote} until {}{holidays}",
                        when(open, r.tz)
                    ));
                }
                expected = open;
            }
            if let Some(limit) = c.limit_per_day {
                expected = self.held(&mut parts, r, s, expected, limit);
            }
            let verb = "sent";
            if expected == r.at {
                parts.push(format!("{verb} {}", when(r.at, r.tz)));
            } else {
                let way = if r.at > expected { "later" } else { "earlier" };
                parts.push(format!(
                    "{verb} {} ({way} than these files say: the trace may come from another version of the cadence, or the record's zone changed)",
                    when(r.at, r.tz)
                ));
            }
        } else {
            let verb = match s.action {
                Action::Email { .. } => "sent",
                Action::Call { .. } => "scheduled",
                Action::Task { .. } => "created",
            };
            parts.push(format!("{verb} {}", when(r.at, r.tz)));
        }
        if let Some(v) = &r.variant {
            parts.push(format!(
                "variant `{v}` of the A/B test (fixed for each contact by its id)"
            ));
        }
        if let Some(o) = &r.owner {
            parts.push(format!("for {}", crate::diagnostic::printable(o)));
        }
        sentence(parts)
    }

    /// The days the daily limit held an email that was due at `from`: each a clause with the
    /// count the trace shows sent that day. Returns when the email could go.
    fn held(
        &self,
        parts: &mut Vec<String>,
        r: &TraceRecord,
        s: &Step,
        from: i64,
        limit: u32,
    ) -> i64 {
        let c = self.c;
        let ltz = limit_zone(c);
        let mut t = from;
        for _ in 0..60 {
            if t >= r.at {
                break;
            }
            let day = local_date(t, ltz);
            let n = self
                .sent
                .get(&(c.name.clone(), sender(c, s), day))
                .copied()
                .unwrap_or(0);
            if n < limit || local_date(r.at, ltz) == day {
                break;
            }
            let next = day_start(day.succ_opt().unwrap_or(day), ltz);
            let open = match &c.window {
                Some(w) => next_window(next, w, ltz, &c.holidays).unwrap_or(next),
                None => next,
            };
            let more = format!("{n} already sent {}", short_day(day));
            let quote = self
                .src
                .item_with(c, |k| matches!(k, ItemKind::Limit(_)), &more)
                .unwrap_or_else(|| format!("`limit {limit} emails per day` ({more})"));
            let closed = if c.window.is_some() {
                let h = holidays_between(next, open, ltz, &c.holidays);
                format!(", the window's next opening{h}")
            } else {
                String::new()
            };
            parts.push(format!(
                "was held by {quote} until {}{closed}",
                when(open, r.tz)
            ));
            t = open;
        }
        t
    }

    fn skip_reason(&self, r: &TraceRecord, i: usize) -> String {
        let c = self.c;
        let s = &c.steps[i];
        let at_field = || {
            self.src
                .option(c, s.number, |o| matches!(o, StepOption::AtField { .. }))
                .unwrap_or_else(|| "its `at`".into())
        };
        let why = match r.reason.as_deref().unwrap_or("") {
            "condition" => {
                let g = self
                    .src
                    .option(c, s.number, |o| matches!(o, StepOption::If(_)))
                    .unwrap_or_else(|| "its `if`".into());
                format!("skipped {}: {g} was false", when(r.at, r.tz))
            }
            "no_email" => format!(
                "skipped {}: the record has no email address",
                when(r.at, r.tz)
            ),
            "unsubscribed" => format!("skipped {}: the contact unsubscribed", when(r.at, r.tz)),
            "bounced" => format!("skipped {}: the address bounced", when(r.at, r.tz)),
            "date_passed" => format!(
                "skipped {}: {} was already past when the step was entered",
                when(r.at, r.tz),
                at_field()
            ),
            "date_unset" => format!(
                "skipped {}: {}, and the record's date is empty",
                when(r.at, r.tz),
                at_field()
            ),
            "no_time" => format!(
                "skipped {}: its `at` schedule never fires again",
                when(r.at, r.tz)
            ),
            other => format!("skipped {} ({other})", when(r.at, r.tz)),
        };
        let next = match s.handlers.iter().find(|h| h.event == HandlerEvent::Skipped) {
            Some(h) => format!("so {}", self.src.quote(c.file, h.span)),
            None => match s.next {
                Target::Step(j) => format!("so it falls through to step {}", c.steps[j].number),
                _ => "and it was the last step".into(),
            },
        };
        format!("{why}, {next}")
    }

    fn transition(&self, r: &TraceRecord, i: usize) -> String {
        let c = self.c;
        let s = &c.steps[i];
        let on = r.on.clone().unwrap_or_default();
        let to = r.to.clone().unwrap_or_default();
        let to = if to.parse::<u32>().is_ok() {
            format!("step {to}")
        } else {
            to
        };
        let h = s.handlers.iter().find(|h| h.event.name() == on);
        match h {
            Some(h) => match h.event {
                HandlerEvent::Timeout(t, d) => format!(
                    "step {} -> {to}: no {} within {d}: {}",
                    s.number,
                    match t.name() {
                        "no_open" => "open",
                        "no_click" => "click",
                        "no_reply" => "reply",
                        _ => "outcome",
                    },
                    self.src.quote(c.file, h.span)
                ),
                _ => format!(
                    "step {} -> {to} on {on}: {}",
                    s.number,
                    self.src.quote(c.file, h.span)
                ),
            },
            None => format!("step {} -> {to} on {on}", s.number),
        }
    }

    fn exited(&self, reason: &str, by: Option<(usize, String)>) -> String {
        let c = self.c;
        if matches!(by, Some((usize::MAX, _))) {
            return format!(
                "exited \"{reason}\": the `migrate` block of the version deployed then ended it"
            );
        }
        // An `on ... -> exit` line of the step the contact was at.
        if let Some((i, on)) = by {
            if let Some(h) = c.steps[i].handlers.iter().find(|h| h.event.name() == on) {
                return format!(
                    "exited \"{reason}\": {} of step {}",
                    self.src.quote(c.file, h.span),
                    c.steps[i].number
                );
            }
        }
        let rules: Vec<String> = c
            .exits
            .iter()
            .filter(|e| e.name == reason)
            .map(|e| self.src.quote(c.file, e.span))
            .collect();
        match rules.len() {
            0 => {}
            1 => return format!("exited \"{reason}\": {}", rules[0]),
            _ => return format!("exited \"{reason}\": one of {}", rules.join(", ")),
        }
        let why = match reason {
            "unsubscribed" => "the contact unsubscribed (every cadence stops at an unsubscribe)",
            "bounced" => "the address bounced (every cadence stops at a hard bounce)",
            "unenrolled" => "an `unenroll` input took the contact off the cadence",
            "loop_without_delay" => {
                "its `on` lines kept moving it without time passing (a loop without delay)"
            }
            _ => "",
        };
        if why.is_empty() {
            format!("exited \"{reason}\"")
        } else {
            format!("exited \"{reason}\": {why}")
        }
    }
}

/// ` (Mon 9 Mar is a holiday)` for the holidays the wait ran over, else nothing.
fn holidays_between(from: i64, to: i64, tz: Tz, holidays: &[NaiveDate]) -> String {
    let (a, b) = (local_date(from, tz), local_date(to, tz));
    let days: Vec<String> = holidays
        .iter()
        .filter(|d| **d >= a && **d <= b)
        .map(|d| short_day(*d))
        .collect();
    match days.len() {
        0 => String::new(),
        1 => format!(" ({} is a holiday)", days[0]),
        _ => format!(" ({} are holidays)", days.join(", ")),
    }
}

/// Clauses as one sentence: the head, then the rest after a colon.
fn sentence(parts: Vec<String>) -> String {
    let mut it = parts.into_iter();
    let head = it.next().unwrap_or_default();
    let rest: Vec<String> = it.collect();
    if rest.is_empty() {
        head
    } else {
        format!("{head}: {}", rest.join(", "))
    }
}

/// `Mon 9 Mar`
fn short_day(d: NaiveDate) -> String {
    d.format("%a %-d %b").to_string()
}

/// `Mon 9 Mar 09:00` in the contact's zone (UTC without one); seconds when not zero.
fn when(t: i64, tz: Option<Tz>) -> String {
    let local = utc(t).with_timezone(&tz.unwrap_or(Tz::UTC));
    let day = short_day(local.date_naive());
    let time = if t % 60 == 0 {
        local.format("%H:%M")
    } else {
        local.format("%H:%M:%S")
    };
    format!("{day} {time}")
}
