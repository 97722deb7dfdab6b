//! The checked program: the only input the engine accepts. Names are resolved to dense
//! indices, literals are validated and typed, and every reference is known to exist.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

use super::schema::{FieldId, Schema};
use crate::syntax::{FileId, Span};
use crate::time::{Cron, Duration, Window};

/// All cadences checked together, with their shared templates and custom events.
#[derive(Debug, Clone, PartialEq)]
pub struct Program {
    pub cadences: Vec<Cadence>,
    pub templates: Vec<Template>,
    pub custom_events: Vec<String>,
    /// The `test` blocks of all files, checked.
    pub tests: Vec<TestCase>,
}

impl Program {
    /// Whether some `on` line leads back to its own step or an earlier one: only then can an
    /// enrolment go on for ever.
    pub fn has_loop(&self) -> bool {
        self.cadences.iter().any(|c| {
            c.steps.iter().enumerate().any(|(i, s)| {
                s.handlers
                    .iter()
                    .any(|h| matches!(h.target, Target::Step(j) if j <= i))
            })
        })
    }

    /// Appends cadence `index` of `other` (another version of a cadence, checked with its own
    /// files), with the templates and custom events it uses; returns its index in `self`.
    pub fn append_cadence(&mut self, other: &Program, index: usize) -> usize {
        let offset = self.templates.len();
        self.templates.extend(other.templates.iter().cloned());
        let events: Vec<usize> = other
            .custom_events
            .iter()
            .map(|e| match self.custom_events.iter().position(|x| x == e) {
                Some(i) => i,
                None => {
                    self.custom_events.push(e.clone());
                    self.custom_events.len() - 1
                }
            })
            .collect();
        let mut c = other.cadences[index].clone();
        for step in &mut c.steps {
            if let Action::Email { template, variants } = &mut step.action {
                template.0 += offset;
                for v in variants {
                    v.template.0 += offset;
                }
            }
        }
        for rule in c.exits.iter_mut().chain(c.goals.iter_mut()) {
            if let EndTrigger::Event(EventName::Custom(i)) = &mut rule.trigger {
                *i = events[*i];
            }
        }
        self.cadences.push(c);
        self.cadences.len() - 1
    }

    /// Finds a cadence by display name or file stem.
    pub fn cadence_by_name(&self, name: &str) -> Option<usize> {
        self.cadences
            .iter()
            .position(|c| c.name == name)
            .or_else(|| self.cadences.iter().position(|c| c.stem == name))
    }
}

/// Index of a template in [`Program::templates`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TemplateId(pub usize);

#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub name: String,
    pub subject: Text,
    pub body: Text,
    pub file: FileId,
    pub span: Span,
}

/// Text with merge fields.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Text {
    pub parts: Vec<TextPart>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TextPart {
    Literal(String),
    /// `{{name | fallback}}`; `name` is a schema field or `unsubscribe_link`.
    Merge {
        name: String,
        fallback: Option<String>,
    },
}

/// One cadence (one file with steps).
#[derive(Debug, Clone, PartialEq)]
pub struct Cadence {
    /// Display name (`cadence "..."`, default the file stem).
    pub name: String,
    pub stem: String,
    pub file: FileId,
    pub schema: Schema,
    pub enroll: Option<Expr>,
    pub exits: Vec<EndRule>,
    pub goals: Vec<EndRule>,
    pub zone: Zone,
    pub window: Option<Window>,
    pub limit_per_day: Option<u32>,
    pub from: Option<String>,
    pub reply_to: Option<String>,
    pub reenroll: Option<Duration>,
    /// `pause on auto_reply [D]`: how long an out-of-office answer without a return date
    /// pauses an enrolment (7 days unless given).
    pub pause_on_auto_reply: Option<Duration>,
    pub holidays: Vec<NaiveDate>,
    /// `track opens`, `track clicks`.
    pub track: Tracking,
    /// In file order; index 0 is the entry step.
    pub steps: Vec<Step>,
    /// `migrate { ... }`: how enrolments of older versions move into this one on deploy.
    pub migration: Option<Migration>,
}

/// `migrate [from "HASH"] { step 3 -> step 4; step "Recap" -> exit "retired" }`.
#[derive(Debug, Clone, PartialEq)]
pub struct Migration {
    /// Only enrolments on the version whose hash starts with this (none: every older version).
    pub from: Option<String>,
    pub rules: Vec<MigrateRule>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MigrateRule {
    pub step: StepRef,
    pub to: MigrateTo,
    pub span: Span,
}

/// Where a `migrate` block sends the contacts of a step of an older version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination<'a> {
    /// Rule `i` of the block names the step.
    Mapped(usize, &'a MigrateTo),
    /// No rule names it; the new version has a step of the same number (its index).
    Kept(usize),
    /// Neither: a deploy would leave its contacts nowhere.
    Stranded,
}

/// A step of an older version, by number or label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepRef {
    Number(u32),
    Label(String),
}

/// Where a migrated enrolment goes: a step of this version (index), or it ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MigrateTo {
    Step(usize),
    Exit(String),
    Done,
}

impl Migration {
    /// The rule for an old step (its number and label), if one names it.
    pub fn rule_for(&self, number: u32, label: Option<&str>) -> Option<(usize, &MigrateRule)> {
        self.rules.iter().enumerate().find(|(_, r)| match &r.step {
            StepRef::Number(n) => *n == number,
            StepRef::Label(l) => Some(l.as_str()) == label,
        })
    }

    /// Where the block sends the contacts at step `number` (with `label`) of an older version,
    /// in the version `new` that holds the block.
    pub fn destination(&self, new: &Cadence, number: u32, label: Option<&str>) -> Destination<'_> {
        match self.rule_for(number, label) {
            Some((i, r)) => Destination::Mapped(i, &r.to),
            None => match new.step_index(number) {
                Some(j) => Destination::Kept(j),
                None => Destination::Stranded,
            },
        }
    }

    /// Whether it applies to enrolments on a version with this hash.
    pub fn applies_to(&self, hash: &str) -> bool {
        self.from
            .as_deref()
            .is_none_or(|p| hash.starts_with(&p.to_ascii_lowercase()))
    }
}

impl Cadence {
    pub fn step_index(&self, number: u32) -> Option<usize> {
        self.steps.iter().position(|s| s.number == number)
    }

    /// Whether the cadence reads times in a zone other than UTC (a `timezone` line other than
    /// UTC, or `timezone field`): its trace then shows each instant in the contact's zone too.
    pub fn uses_zone(&self) -> bool {
        match self.zone {
            Zone::Fixed(tz) => tz != Tz::UTC,
            Zone::Field { .. } => true,
        }
    }
}

/// What a cadence tracks (`track opens, clicks including machine`): an open pixel in its HTML
/// emails, its links through the click redirect, and whether opens and clicks made by machines
/// (mail proxies, link scanners) count as the contact's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tracking {
    pub opens: bool,
    pub clicks: bool,
    pub machine_opens: bool,
    pub machine_clicks: bool,
}

impl Tracking {
    /// Whether a machine-made `event` counts as the contact's (takes handlers, meets timeouts,
    /// triggers cadence-wide rules).
    pub fn counts_machine(&self, event: &str) -> bool {
        match event {
            "opened" => self.machine_opens,
            "clicked" => self.machine_clicks,
            _ => true,
        }
    }
}

/// `exit`/`goal` rule: its reason or name, and what triggers it.
#[derive(Debug, Clone, PartialEq)]
pub struct EndRule {
    pub name: String,
    pub trigger: EndTrigger,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum EndTrigger {
    Event(EventName),
    When(Expr),
}

/// The zone a cadence computes windows, cron times and business days in.
#[derive(Debug, Clone, PartialEq)]
pub enum Zone {
    Fixed(Tz),
    /// `timezone field F default "Z"`: each contact's own zone.
    Field {
        field: FieldId,
        default: Tz,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    Email,
    Call,
    Task,
}

impl Channel {
    pub fn name(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Call => "call",
            Channel::Task => "task",
        }
    }
}

/// An outcome of a message, reported as an input event.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Outcome {
    Opened,
    Clicked,
    Replied,
    AutoReply,
    Bounced,
    Unsubscribed,
    Answered,
    NoAnswer,
    Voicemail,
    Completed,
}

impl Outcome {
    pub const ALL: [Outcome; 10] = [
        Outcome::Opened,
        Outcome::Clicked,
        Outcome::Replied,
        Outcome::AutoReply,
        Outcome::Bounced,
        Outcome::Unsubscribed,
        Outcome::Answered,
        Outcome::NoAnswer,
        Outcome::Voicemail,
        Outcome::Completed,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Outcome::Opened => "opened",
            Outcome::Clicked => "clicked",
            Outcome::Replied => "replied",
            Outcome::AutoReply => "auto_reply",
            Outcome::Bounced => "bounced",
            Outcome::Unsubscribed => "unsubscribed",
            Outcome::Answered => "answered",
            Outcome::NoAnswer => "no_answer",
            Outcome::Voicemail => "voicemail",
            Outcome::Completed => "completed",
        }
    }

    pub fn from_name(name: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.name() == name)
    }

    /// A bit of a set of outcomes.
    pub fn bit(self) -> u16 {
        1 << (self as u16)
    }

    /// Whether a message of `channel` can have this outcome.
    pub fn fits(self, channel: Channel) -> bool {
        match channel {
            Channel::Email => matches!(
                self,
                Outcome::Opened
                    | Outcome::Clicked
                    | Outcome::Replied
                    | Outcome::AutoReply
                    | Outcome::Bounced
                    | Outcome::Unsubscribed
            ),
            Channel::Call => matches!(
                self,
                Outcome::Answered | Outcome::NoAnswer | Outcome::Voicemail | Outcome::Completed
            ),
            Channel::Task => matches!(self, Outcome::Completed),
        }
    }
}

/// A timeout event of a waiting step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timeout {
    NoOpen,
    NoClick,
    NoReply,
    Overdue,
}

impl Timeout {
    pub const ALL: [Timeout; 4] = [
        Timeout::NoOpen,
        Timeout::NoClick,
        Timeout::NoReply,
        Timeout::Overdue,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Timeout::NoOpen => "no_open",
            Timeout::NoClick => "no_click",
            Timeout::NoReply => "no_reply",
            Timeout::Overdue => "overdue",
        }
    }

    pub fn from_name(name: &str) -> Option<Timeout> {
        Timeout::ALL.into_iter().find(|t| t.name() == name)
    }

    pub fn fits(self, channel: Channel) -> bool {
        match self {
            Timeout::Overdue => channel != Channel::Email,
            _ => channel == Channel::Email,
        }
    }
}

/// An event named in `exit on` / `goal on`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EventName {
    Outcome(Outcome),
    /// Index into [`Program::custom_events`].
    Custom(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Priority {
    Low,
    #[default]
    Normal,
    High,
}

impl Priority {
    pub fn name(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
        }
    }

    pub fn from_name(name: &str) -> Option<Priority> {
        Some(match name {
            "low" => Priority::Low,
            "normal" => Priority::Normal,
            "high" => Priority::High,
            _ => None?,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TaskKind {
    Meeting,
    Call,
    Demo,
    #[default]
    Todo,
}

impl TaskKind {
    pub const NAMES: [&'static str; 4] = ["meeting", "call", "demo", "todo"];

    pub fn name(self) -> &'static str {
        match self {
            TaskKind::Meeting => "meeting",
            TaskKind::Call => "call",
            TaskKind::Demo => "demo",
            TaskKind::Todo => "todo",
        }
    }

    pub fn from_name(name: &str) -> Option<TaskKind> {
        Some(match name {
            "meeting" => TaskKind::Meeting,
            "call" => TaskKind::Call,
            "demo" => TaskKind::Demo,
            "todo" => TaskKind::Todo,
            _ => None?,
        })
    }
}

/// A part of a step's `owner`: a field of the record, or a fixed name.
#[derive(Debug, Clone, PartialEq)]
pub enum OwnerPart {
    Field(FieldId),
    Fixed(String),
}

/// One template of an A/B test and its share of the contacts, in hundredths of a percent
/// (`50%` is 5000; the weights of a step add up to 10000).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Variant {
    pub template: TemplateId,
    pub weight: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// `variants` is empty for one template; for `email variants(...)` it lists them and
    /// `template` is the first.
    Email {
        template: TemplateId,
        variants: Vec<Variant>,
    },
    Call {
        subject: String,
    },
    Task {
        subject: String,
        kind: TaskKind,
    },
}

impl Action {
    /// The template an email step sends as variant `variant` (its one template for a step
    /// without variants, or a variant out of range); `None` for a call or a task.
    pub fn template_of(&self, variant: u8) -> Option<TemplateId> {
        match self {
            Action::Email { template, variants } => Some(
                variants
                    .get(variant as usize)
                    .map_or(*template, |v| v.template),
            ),
            _ => None,
        }
    }

    /// Every template the step can send: its template, or each of its variants.
    pub fn templates(&self) -> Vec<TemplateId> {
        match self {
            Action::Email { template, variants } if variants.is_empty() => vec![*template],
            Action::Email { variants, .. } => variants.iter().map(|v| v.template).collect(),
            _ => Vec::new(),
        }
    }

    pub fn channel(&self) -> Channel {
        match self {
            Action::Email { .. } => Channel::Email,
            Action::Call { .. } => Channel::Call,
            Action::Task { .. } => Channel::Task,
        }
    }
}

/// When a step is due, relative to entering it.
#[derive(Debug, Clone, PartialEq)]
pub enum At {
    /// The first cron instant at or after `entry + after`, in the cadence's zone.
    Cron(Cron),
    /// The field's instant moved by `offset` (negative: before).
    Field {
        field: FieldId,
        offset: Duration,
        negative: bool,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub number: u32,
    pub label: Option<String>,
    pub action: Action,
    pub after: Duration,
    pub at: Option<At>,
    pub guard: Option<Expr>,
    pub priority: Priority,
    /// Who its call or task is for: the first part with a value (empty: nobody named).
    pub owner: Vec<OwnerPart>,
    pub due: Option<Duration>,
    pub from: Option<String>,
    pub reply_to: Option<String>,
    pub subject: Option<Text>,
    /// In the order written (for equal timeouts, the first written wins).
    pub handlers: Vec<Handler>,
    /// Where the step falls through to (the next step in the file, or completion).
    pub next: Target,
    pub span: Span,
}

impl Step {
    /// Whether the step waits for events after it executes (it has `on` lines other than
    /// `on skipped`); otherwise it falls through to `next` at once.
    pub fn waits(&self) -> bool {
        self.handlers
            .iter()
            .any(|h| h.event != HandlerEvent::Skipped)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Handler {
    pub event: HandlerEvent,
    pub target: Target,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum HandlerEvent {
    Outcome(Outcome),
    Timeout(Timeout, Duration),
    /// `on skipped`: where the enrolment goes when the step is skipped (instead of the next
    /// step).
    Skipped,
}

impl HandlerEvent {
    /// The event's name as written on an `on` line.
    pub fn name(&self) -> &'static str {
        match self {
            HandlerEvent::Outcome(o) => o.name(),
            HandlerEvent::Timeout(t, _) => t.name(),
            HandlerEvent::Skipped => "skipped",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// Index into [`Cadence::steps`].
    Step(usize),
    /// Completion.
    Done,
    /// Exit with a reason.
    Exit(String),
}

/// A value of a field or a literal.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Value {
    Text(String),
    Number(f64),
    Bool(bool),
    Date(DateValue),
}

/// A date as written: a calendar day (midnight in the cadence's zone) or an instant.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum DateValue {
    Day(NaiveDate),
    Instant(DateTime<Utc>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// A typed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Field(FieldId),
    Literal(Value),
    Now,
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Compare(CmpOp, Box<Expr>, Box<Expr>),
    Contains(Box<Expr>, Box<Expr>),
    In {
        expr: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
    },
    IsSet {
        expr: Box<Expr>,
        negated: bool,
    },
    IsEmpty {
        expr: Box<Expr>,
        negated: bool,
    },
    /// `date ± duration`
    Shift {
        expr: Box<Expr>,
        by: Duration,
        negative: bool,
    },
    /// `number ± number`
    Arith {
        subtract: bool,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
}

impl Expr {
    /// The fields the expression reads (for re-evaluating rules when a field changes).
    pub fn fields(&self, out: &mut Vec<FieldId>) {
        match self {
            Expr::Field(f) => out.push(*f),
            Expr::Literal(_) | Expr::Now => {}
            Expr::Not(e)
            | Expr::IsSet { expr: e, .. }
            | Expr::IsEmpty { expr: e, .. }
            | Expr::Shift { expr: e, .. } => e.fields(out),
            Expr::And(a, b)
            | Expr::Or(a, b)
            | Expr::Compare(_, a, b)
            | Expr::Contains(a, b)
            | Expr::Arith { lhs: a, rhs: b, .. } => {
                a.fields(out);
                b.fields(out);
            }
            Expr::In { expr, list, .. } => {
                expr.fields(out);
                list.iter().for_each(|e| e.fields(out));
            }
        }
    }
}

/// A checked `test "name" { ... }` block.
#[derive(Debug, Clone, PartialEq)]
pub struct TestCase {
    pub name: String,
    pub file: FileId,
    pub span: Span,
    /// The cadence of the test's own file, if it has one: inputs without a cadence go to it and
    /// expectations are about it. A test in a file without a cadence sees every cadence.
    pub scope: Option<usize>,
    /// The test's first instant: relative times count from it.
    pub start: DateTime<Utc>,
    pub until: Option<DateTime<Utc>>,
    pub contacts: Vec<TestContact>,
    /// In the order written; the runner applies them in time order (stable).
    pub inputs: Vec<TestInput>,
    pub expects: Vec<TestExpect>,
    /// `pin` lines: contacts given a variant of a step.
    pub pins: Vec<TestPin>,
}

/// `pin CONTACT step N variant TEMPLATE`: `contact` indexes [`TestCase::contacts`], `step` is
/// the step number, `variant` the template's name.
#[derive(Debug, Clone, PartialEq)]
pub struct TestPin {
    pub contact: usize,
    pub step: u32,
    pub variant: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TestContact {
    pub id: String,
    pub fields: Vec<(String, Value)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TestInput {
    pub at: DateTime<Utc>,
    pub span: Span,
    pub action: TestAction,
}

/// An input of a test; `contact` indexes [`TestCase::contacts`].
#[derive(Debug, Clone, PartialEq)]
pub enum TestAction {
    Enroll {
        contact: usize,
        cadence: Option<usize>,
    },
    Unenroll {
        contact: usize,
        cadence: Option<usize>,
    },
    Set {
        contact: usize,
        fields: Vec<(String, Option<Value>)>,
    },
    Outcome {
        contact: usize,
        outcome: Outcome,
        step: Option<u32>,
        /// For an `auto_reply`: the day the contact is back.
        back: Option<chrono::NaiveDate>,
    },
    Custom {
        contact: usize,
        event: usize,
    },
    /// A new version from a file, as written (relative to the test's file).
    Deploy {
        file: String,
    },
    Pause {
        contact: usize,
        until: Option<DateTime<Utc>>,
        catch_up: bool,
    },
    Resume {
        contact: usize,
        catch_up: bool,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct TestExpect {
    pub span: Span,
    pub contact: usize,
    pub what: Expectation,
    pub at: Option<DateTime<Utc>>,
    pub by: Option<DateTime<Utc>>,
}

/// What a test expects of a contact; step numbers as written.
#[derive(Debug, Clone, PartialEq)]
pub enum Expectation {
    Executed(u32),
    /// Executed step N with the variant of this template name.
    ExecutedVariant(u32, String),
    NotExecuted(u32),
    Skipped(u32),
    Completed,
    Exited(Option<String>),
    Goal(Option<String>),
    AtStep(u32),
}
