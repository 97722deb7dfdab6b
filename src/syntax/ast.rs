//! The syntax tree of a cadence file. Every node carries the byte span it was written at.
//! Literal tokens that need validation (durations, dates, cron strings, time zones) are kept as
//! written; the checker validates them, so one bad duration never hides the rest of its step.

use super::span::{Span, Spanned};

/// A parsed file: its statements in order, and its comments (kept for the formatter).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct File {
    pub items: Vec<Item>,
    pub comments: Vec<Comment>,
}

/// A `# ...` comment; `text` excludes the `#`.
#[derive(Debug, Clone, PartialEq)]
pub struct Comment {
    pub span: Span,
    pub text: String,
}

/// One statement (a step with its `on` lines, or a template block, counts as one).
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub span: Span,
    pub kind: ItemKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ItemKind {
    Cadence(Spanned<String>),
    Module(Spanned<String>),
    Field(FieldDecl),
    Enroll(Expr),
    Exit(ExitRule),
    Goal(ExitRule),
    Timezone(TimezoneSpec),
    Window(WindowSpec),
    /// `migrate [from "HASH"] { step 3 -> step 4; step "Recap" -> exit "retired" }`
    Migrate(Migrate),
    Limit(Limit),
    From(Spanned<String>),
    ReplyTo(Spanned<String>),
    Reenroll(Spanned<String>),
    /// `pause on EVENT [DURATION]`
    PauseOn {
        event: Spanned<String>,
        default: Option<Spanned<String>>,
    },
    Holidays(Vec<Spanned<String>>),
    /// `track opens, clicks including machine`
    Track(Vec<TrackItem>),
    Event(Spanned<String>),
    Template(Template),
    Step(Step),
    Test(TestBlock),
    /// A statement that did not parse (already reported). When it looked like `step N`, the
    /// number is kept so that references to it are not reported as missing.
    Error {
        step: Option<u32>,
    },
}

/// One item of `track`: `opens` or `clicks`, optionally `including machine`.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackItem {
    pub what: Spanned<String>,
    /// The word after `including` (the checker wants `machine`).
    pub including: Option<Spanned<String>>,
}

/// `field NAME: TYPE`
#[derive(Debug, Clone, PartialEq)]
pub struct FieldDecl {
    pub name: Spanned<String>,
    pub ty: Spanned<TypeExpr>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TypeExpr {
    /// `text`, `number`, ... (validated by the checker)
    Named(String),
    Enum(Vec<Spanned<String>>),
}

/// `exit ["reason"] on EVENT | when EXPR`, `goal ["name"] on EVENT | when EXPR`
#[derive(Debug, Clone, PartialEq)]
pub struct ExitRule {
    pub name: Option<Spanned<String>>,
    pub trigger: Trigger,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Trigger {
    On(Spanned<String>),
    When(Expr),
}

#[derive(Debug, Clone, PartialEq)]
pub enum TimezoneSpec {
    /// `timezone "Europe/Paris"`
    Named(Spanned<String>),
    /// `timezone field tz [default "UTC"]`
    Field {
        field: Spanned<String>,
        default: Option<Spanned<String>>,
    },
}

/// How enrolments of older versions move into this one when it is deployed.
#[derive(Debug, Clone, PartialEq)]
pub struct Migrate {
    /// `from "HASH"`: only enrolments on the version whose hash starts with this.
    pub from: Option<Spanned<String>>,
    pub maps: Vec<MigrateMap>,
}

/// `step 3 -> step 4`, `step "Recap" -> exit "retired"`, `step 5 -> done`.
#[derive(Debug, Clone, PartialEq)]
pub struct MigrateMap {
    /// The old step: a number, or a label in quotes.
    pub step: Spanned<String>,
    pub label: bool,
    pub target: Spanned<Target>,
    pub span: Span,
}

/// `window "CRON"` or `window mon-fri 09:00-17:00`.
#[derive(Debug, Clone, PartialEq)]
pub enum WindowSpec {
    Cron(Spanned<String>),
    /// Groups separated by `;`.
    Hours(Vec<WindowGroup>),
}

/// `mon-thu 09:00-12:00, 13:00-17:30`: days (none: every day) and clock ranges.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowGroup {
    pub days: Vec<DaySpan>,
    pub ranges: Vec<ClockRange>,
    pub span: Span,
}

/// `mon` or `mon-fri`.
#[derive(Debug, Clone, PartialEq)]
pub struct DaySpan {
    pub from: Spanned<String>,
    pub to: Option<Spanned<String>>,
}

/// `09:00-17:00`
#[derive(Debug, Clone, PartialEq)]
pub struct ClockRange {
    pub start: Spanned<String>,
    pub end: Spanned<String>,
}

/// `limit N UNIT per PERIOD`
#[derive(Debug, Clone, PartialEq)]
pub struct Limit {
    pub count: Spanned<String>,
    pub unit: Spanned<String>,
    pub period: Spanned<String>,
}

/// `template NAME { subject "..." body """...""" }`
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub name: Spanned<String>,
    pub subject: Option<Str>,
    pub body: Option<Body>,
    /// Items inside the block that are repeated (reported by the checker).
    pub repeated: Vec<Span>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    Inline(Str),
    File(Spanned<String>),
}

/// A string literal: its value, and the span of its contents in the source (without quotes).
/// `raw` says whether the contents map one to one onto the source (no escapes), so merge fields
/// can be located exactly.
#[derive(Debug, Clone, PartialEq)]
pub struct Str {
    pub value: String,
    pub span: Span,
    pub content: Span,
    pub triple: bool,
}

/// `step N ["label"]: ACTION OPTIONS...` and the `on` lines under it.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub number: Spanned<String>,
    pub label: Option<Spanned<String>>,
    pub action: Spanned<Action>,
    pub options: Vec<Spanned<StepOption>>,
    pub handlers: Vec<Handler>,
    /// The span of the `step` line itself (without its `on` lines).
    pub head: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// `email TEMPLATE`, or `email variants(A 50%, B 50%)`: then `variants` lists them and
    /// `template` is the first.
    Email {
        template: Spanned<String>,
        variants: Vec<Variant>,
    },
    Call {
        subject: Spanned<String>,
    },
    Task {
        subject: Spanned<String>,
        kind: Option<Spanned<String>>,
    },
}

impl Action {
    pub fn channel(&self) -> &'static str {
        match self {
            Action::Email { .. } => "email",
            Action::Call { .. } => "call",
            Action::Task { .. } => "task",
        }
    }
}

/// A part of an `owner` option: a field of the record, or a fixed name.
#[derive(Debug, Clone, PartialEq)]
pub enum OwnerPart {
    Field(Spanned<String>),
    Fixed(Spanned<String>),
}

/// One template of `email variants(...)` and its weight as written (`50%`), if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Variant {
    pub template: Spanned<String>,
    pub weight: Option<Spanned<String>>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StepOption {
    After(Spanned<String>),
    AtCron(Spanned<String>),
    AtField {
        field: Spanned<String>,
        offset: Option<(Sign, Spanned<String>)>,
    },
    If(Expr),
    Priority(Spanned<String>),
    /// `owner FIELD | FIELD | "fixed"`: the parts in order.
    Owner(Vec<OwnerPart>),
    Due(Spanned<String>),
    From(Spanned<String>),
    ReplyTo(Spanned<String>),
    Subject(Str),
}

impl StepOption {
    /// The keyword that introduces the option.
    pub fn keyword(&self) -> &'static str {
        match self {
            StepOption::After(_) => "after",
            StepOption::AtCron(_) | StepOption::AtField { .. } => "at",
            StepOption::If(_) => "if",
            StepOption::Priority(_) => "priority",
            StepOption::Owner(_) => "owner",
            StepOption::Due(_) => "due",
            StepOption::From(_) => "from",
            StepOption::ReplyTo(_) => "reply_to",
            StepOption::Subject(_) => "subject",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sign {
    Plus,
    Minus,
}

/// `on EVENT [DURATION] -> TARGET`
#[derive(Debug, Clone, PartialEq)]
pub struct Handler {
    pub span: Span,
    pub event: Spanned<String>,
    pub timeout: Option<Spanned<String>>,
    pub target: Spanned<Target>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    Step(Spanned<String>),
    Next,
    Done,
    Exit(Option<Spanned<String>>),
}

/// An expression of `enroll when`, `exit when`, `goal when` and `if`.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub span: Span,
    pub kind: ExprKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Field(String),
    Str(String),
    Number(f64),
    Bool(bool),
    Date(String),
    Duration(String),
    Now,
    Not(Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `x is [not] set`, `x is [not] empty`
    Is {
        expr: Box<Expr>,
        test: IsTest,
        negated: bool,
    },
    /// `x [not] in [a, b]`
    In {
        expr: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
    },
    Paren(Box<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IsTest {
    Set,
    Empty,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
    Add,
    Sub,
}

impl BinOp {
    pub fn as_str(self) -> &'static str {
        match self {
            BinOp::Or => "or",
            BinOp::And => "and",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Contains => "contains",
            BinOp::Add => "+",
            BinOp::Sub => "-",
        }
    }
}

/// `test "name" { ... }`: a unit test of the cadences (see docs/testing.md).
#[derive(Debug, Clone, PartialEq)]
pub struct TestBlock {
    pub name: Spanned<String>,
    pub items: Vec<Spanned<TestItem>>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TestItem {
    /// `contact ID FIELD = VALUE ...`
    Contact {
        id: Spanned<String>,
        fields: Vec<Assignment>,
    },
    /// `at INSTANT: INPUT` or `at +DURATION: INPUT`
    At {
        when: Spanned<When>,
        input: Spanned<TestInput>,
    },
    Expect(Expect),
    /// `until INSTANT` / `until +DURATION`
    Until(Spanned<When>),
    /// `start INSTANT`: the test's first instant, as written.
    Start(Spanned<String>),
    /// `pin ID step N variant TEMPLATE`
    Pin {
        contact: Spanned<String>,
        step: Spanned<String>,
        variant: Spanned<String>,
    },
}

/// `FIELD = VALUE`
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    pub field: Spanned<String>,
    pub value: Spanned<Literal>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Str(String),
    Number(f64),
    Bool(bool),
    /// As written; checked by the checker.
    Date(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum When {
    /// An RFC 3339 instant, as written.
    Absolute(String),
    /// `+DURATION` after the test's first instant, as written (without `+`).
    Relative(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum TestInput {
    Enroll {
        contact: Spanned<String>,
        cadence: Option<Spanned<String>>,
    },
    Unenroll {
        contact: Spanned<String>,
        cadence: Option<Spanned<String>>,
    },
    Set {
        contact: Spanned<String>,
        fields: Vec<Assignment>,
    },
    Event {
        contact: Spanned<String>,
        event: Spanned<String>,
        step: Option<Spanned<String>>,
        /// `until DAY`: for an `auto_reply`, the day the contact is back.
        until: Option<Spanned<String>>,
    },
    /// `deploy "FILE"`: a new version of a cadence, from a file beside the test's.
    Deploy { file: Spanned<String> },
    /// `pause ID [until WHEN] [catch-up]`
    Pause {
        contact: Spanned<String>,
        until: Option<Spanned<When>>,
        catch_up: bool,
    },
    /// `resume ID [catch-up]`
    Resume {
        contact: Spanned<String>,
        catch_up: bool,
    },
}

/// `expect ID WHAT [at T] [by T]`
#[derive(Debug, Clone, PartialEq)]
pub struct Expect {
    pub contact: Spanned<String>,
    pub what: Spanned<Expectation>,
    pub at: Option<Spanned<String>>,
    pub by: Option<Spanned<String>>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expectation {
    Executed(Spanned<String>),
    /// `executed step N variant TEMPLATE`
    ExecutedVariant {
        step: Spanned<String>,
        variant: Spanned<String>,
    },
    NotExecuted(Spanned<String>),
    Skipped(Spanned<String>),
    Completed,
    Exited(Option<Spanned<String>>),
    Goal(Option<Spanned<String>>),
    AtStep(Spanned<String>),
}
