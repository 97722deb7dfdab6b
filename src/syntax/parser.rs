//! pest parser -> AST. One `build_*` function per grammar rule; operator precedence by
//! pest's Pratt parser; pest errors are turned into diagnostics in exactly one place
//! ([`syntax_error`]).

use pest::error::{ErrorVariant, InputLocation};
use pest::iterators::Pair;
use pest::pratt_parser::{Assoc, Op, PrattParser};
use pest::Parser;
use std::sync::OnceLock;

use super::ast::*;
use super::lexer::{self, LexError, STATEMENT_KEYWORDS, TEST_KEYWORDS};
use super::source::FileId;
use super::span::{Span, Spanned};
use crate::diagnostic::Diagnostic;

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/cadence.pest"]
struct CadenceParser;

/// Most operators accepted in one expression (keeps the tree shallow enough to walk safely).
pub const MAX_OPERATORS: usize = 256;

/// What the statement builders produce before `on` lines and template items are grouped.
enum Stmt {
    Item(ItemKind),
    TemplateOpen(Spanned<String>),
    BlockClose,
    Subject(Str),
    Body(Body),
    On(Handler),
    TestOpen(Spanned<String>),
    Test(TestItem),
    MigrateOpen(Option<Spanned<String>>),
    MigrateMap(MigrateMap),
}

struct Ctx<'a> {
    file: FileId,
    /// Offset of the statement in the file.
    base: usize,
    diags: &'a mut Vec<Diagnostic>,
}

impl Ctx<'_> {
    fn span(&self, pair: &Pair<Rule>) -> Span {
        let s = pair.as_span();
        Span::new(s.start() + self.base, s.end() + self.base)
    }

    fn spanned(&self, pair: &Pair<Rule>) -> Spanned<String> {
        Spanned::new(pair.as_str().to_string(), self.span(pair))
    }
}

/// Parses a whole file: every statement on its own, so that one syntax error hides nothing else.
pub fn parse(file: FileId, src: &str) -> (File, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let lexed = lexer::cut(src);
    for err in &lexed.errors {
        diags.push(match err {
            LexError::UnterminatedString {
                open,
                triple: false,
            } => Diagnostic::error(
                "P002",
                file,
                *open,
                "unterminated string",
                "this string has no closing `\"` on its line",
            )
            .with_help("close the string with `\"`; for text over several lines use `\"\"\"`"),
            LexError::UnterminatedString { open, triple: true } => Diagnostic::error(
                "P002",
                file,
                *open,
                "unterminated multi-line string",
                "this `\"\"\"` is never closed",
            )
            .with_help("end the text with a line holding `\"\"\"`"),
            LexError::TooDeep { at } => Diagnostic::error(
                "P003",
                file,
                *at,
                format!("nesting too deep (more than {} levels)", lexer::MAX_NESTING),
                "nested too deep here",
            )
            .with_help("split the condition into simpler parts; no real cadence needs this depth"),
        });
    }

    let mut stmts: Vec<(Span, Option<Stmt>, Option<u32>)> = Vec::new();
    for chunk in &lexed.chunks {
        let text = &src[chunk.span.range()];
        if chunk.broken {
            stmts.push((chunk.span, None, salvage_step_number(text)));
            continue;
        }
        let mut ctx = Ctx {
            file,
            base: chunk.span.start,
            diags: &mut diags,
        };
        match CadenceParser::parse(Rule::statement, text) {
            Ok(mut pairs) => {
                let statement = pairs.next().expect("statement rule matched");
                let inner = statement
                    .into_inner()
                    .find(|p| p.as_rule() != Rule::EOI)
                    .expect("a statement has one inner rule");
                match build_stmt(&mut ctx, inner) {
                    Some(stmt) => stmts.push((chunk.span, Some(stmt), None)),
                    None => stmts.push((chunk.span, None, salvage_step_number(text))),
                }
            }
            Err(err) => {
                diags.push(syntax_error(file, chunk.span.start, text, err));
                stmts.push((chunk.span, None, salvage_step_number(text)));
            }
        }
    }

    let items = group(file, stmts, &mut diags);
    (
        File {
            items,
            comments: lexed.comments,
        },
        diags,
    )
}

/// `step 12 ...` that did not parse still declares step 12.
fn salvage_step_number(text: &str) -> Option<u32> {
    let rest = text.trim_start().strip_prefix("step")?;
    let digits: String = rest
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
}

/// Groups `on` lines under their step and template items into their block.
fn group(
    file: FileId,
    stmts: Vec<(Span, Option<Stmt>, Option<u32>)>,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Item> {
    let mut items: Vec<Item> = Vec::new();
    // Index in `items` of the step that `on` lines attach to; `Err(())` after a broken step.
    let mut step: Option<Result<usize, ()>> = None;
    // The open block: index in `items`, the span of its opening line, and its kind.
    let mut block: Option<(usize, Span, Block)> = None;

    let close_block = |block: &mut Option<(usize, Span, Block)>, diags: &mut Vec<Diagnostic>| {
        if let Some((_, open, kind)) = block.take() {
            let what = kind.name();
            diags.push(
                Diagnostic::error(
                    "P005",
                    file,
                    open,
                    format!("{what} block is not closed"),
                    "this `{` has no matching `}`",
                )
                .with_help(format!("end the {what} block with a line holding `}}`")),
            );
        }
    };

    for (span, stmt, salvaged) in stmts {
        let Some(stmt) = stmt else {
            if block.is_none() {
                step = salvaged.map(|_| Err(()));
                items.push(Item {
                    span,
                    kind: ItemKind::Error { step: salvaged },
                });
            }
            continue;
        };
        match stmt {
            Stmt::On(handler) => match step {
                Some(Ok(i)) => {
                    let item = &mut items[i];
                    item.span = item.span.to(span);
                    if let ItemKind::Step(s) = &mut item.kind {
                        s.handlers.push(handler);
                    }
                }
                Some(Err(())) => {}
                None => diags.push(
                    Diagnostic::error(
                        "P005",
                        file,
                        span,
                        "`on` line without a step above it",
                        "this handler belongs to no step",
                    )
                    .with_help("put `on` lines directly under the `step` line they react to"),
                ),
            },
            Stmt::TemplateOpen(name) => {
                close_block(&mut block, diags);
                step = None;
                items.push(Item {
                    span,
                    kind: ItemKind::Template(Template {
                        name,
                        subject: None,
                        body: None,
                        repeated: Vec::new(),
                    }),
                });
                block = Some((items.len() - 1, span, Block::Template));
            }
            Stmt::MigrateOpen(from) => {
                close_block(&mut block, diags);
                step = None;
                items.push(Item {
                    span,
                    kind: ItemKind::Migrate(Migrate {
                        from,
                        maps: Vec::new(),
                    }),
                });
                block = Some((items.len() - 1, span, Block::Migrate));
            }
            Stmt::MigrateMap(map) => match block {
                Some((i, _, Block::Migrate)) => {
                    items[i].span = items[i].span.to(span);
                    if let ItemKind::Migrate(m) = &mut items[i].kind {
                        m.maps.push(map);
                    }
                }
                _ => diags.push(
                    Diagnostic::error(
                        "P005",
                        file,
                        span,
                        "step mapping outside a migrate block",
                        "`step N -> TARGET` belongs inside `migrate { ... }`",
                    )
                    .with_help("put it inside a migrate block: `migrate {` ... `}`; a step is written `step N: ACTION`"),
                ),
            },
            Stmt::TestOpen(name) => {
                close_block(&mut block, diags);
                step = None;
                items.push(Item {
                    span,
                    kind: ItemKind::Test(TestBlock {
                        name,
                        items: Vec::new(),
                    }),
                });
                block = Some((items.len() - 1, span, Block::Test));
            }
            Stmt::BlockClose => match block.take() {
                Some((i, ..)) => items[i].span = items[i].span.to(span),
                None => diags.push(
                    Diagnostic::error(
                        "P005",
                        file,
                        span,
                        "`}` without an open block",
                        "nothing to close here",
                    )
                    .with_help("remove this `}`, or open a block with `template NAME {`, `test \"name\" {` or `migrate {`"),
                ),
            },
            Stmt::Subject(subject) => match block {
                Some((i, _, Block::Template)) => {
                    items[i].span = items[i].span.to(span);
                    if let ItemKind::Template(t) = &mut items[i].kind {
                        if t.subject.is_some() {
                            t.repeated.push(span);
                        } else {
                            t.subject = Some(subject);
                        }
                    }
                }
                _ => diags.push(outside_template(file, span, "subject")),
            },
            Stmt::Body(body) => match block {
                Some((i, _, Block::Template)) => {
                    items[i].span = items[i].span.to(span);
                    if let ItemKind::Template(t) = &mut items[i].kind {
                        if t.body.is_some() {
                            t.repeated.push(span);
                        } else {
                            t.body = Some(body);
                        }
                    }
                }
                _ => diags.push(outside_template(file, span, "body")),
            },
            Stmt::Test(item) => match block {
                Some((i, _, Block::Test)) => {
                    items[i].span = items[i].span.to(span);
                    if let ItemKind::Test(t) = &mut items[i].kind {
                        t.items.push(Spanned::new(item, span));
                    }
                }
                _ => diags.push(
                    Diagnostic::error(
                        "P005",
                        file,
                        span,
                        "test statement outside a test block",
                        "`contact`, `at`, `expect` and `until` belong inside `test \"name\" { ... }`",
                    )
                    .with_help("put it inside a test block: `test \"an opener gets a call\" {` ... `}`"),
                ),
            },
            Stmt::Item(kind) => {
                if let Some((_, open, kind)) = block {
                    let what = kind.name();
                    let only = match kind {
                        Block::Test => "only `contact`, `at`, `expect` and `until` belong in a test",
                        Block::Template => "only `subject` and `body` belong in a template",
                        Block::Migrate => "only `step N -> TARGET` lines belong in a migrate block",
                    };
                    diags.push(
                        Diagnostic::error("P005", file, span, format!("statement inside a {what} block"), only)
                            .with_label(file, open, format!("the {what} block opened here"))
                            .with_help(format!("close the {what} block with `}}` before this statement")),
                    );
                    block = None;
                }
                let is_step = matches!(kind, ItemKind::Step(_));
                items.push(Item { span, kind });
                step = is_step.then(|| Ok(items.len() - 1));
            }
        }
    }
    close_block(&mut block, diags);
    items
}

/// The kinds of `{ ... }` blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Block {
    Template,
    Test,
    Migrate,
}

impl Block {
    fn name(self) -> &'static str {
        match self {
            Block::Template => "template",
            Block::Test => "test",
            Block::Migrate => "migrate",
        }
    }
}

fn outside_template(file: FileId, span: Span, word: &str) -> Diagnostic {
    Diagnostic::error(
        "P005",
        file,
        span,
        format!("`{word}` outside a template block"),
        format!("`{word}` belongs inside `template NAME {{ ... }}`"),
    )
    .with_help(format!(
        "move it into a template block; to override the subject of one email step write `step N: email NAME {word} \"...\"`"
    ))
}

fn build_stmt(ctx: &mut Ctx, pair: Pair<Rule>) -> Option<Stmt> {
    let span = ctx.span(&pair);
    let rule = pair.as_rule();
    let mut inner = pair.into_inner();
    // Skip the leading keyword(s).
    let mut next_non_kw = || inner.find(|p| !is_keyword(p.as_rule()));
    let stmt = match rule {
        Rule::cadence_stmt => Stmt::Item(ItemKind::Cadence(build_plain(ctx, next_non_kw()?))),
        Rule::module_stmt => Stmt::Item(ItemKind::Module(ctx.spanned(&next_non_kw()?))),
        Rule::field_stmt => {
            let name = ctx.spanned(&next_non_kw()?);
            let ty = build_type(ctx, next_non_kw()?);
            Stmt::Item(ItemKind::Field(FieldDecl { name, ty }))
        }
        Rule::enroll_stmt => Stmt::Item(ItemKind::Enroll(build_expr(ctx, next_non_kw()?)?)),
        Rule::exit_stmt | Rule::goal_stmt => {
            let mut name = None;
            let mut trigger = None;
            for p in inner.by_ref() {
                match p.as_rule() {
                    Rule::string => name = Some(build_plain(ctx, p)),
                    Rule::on_clause => {
                        let ev = p.into_inner().find(|p| p.as_rule() == Rule::ident)?;
                        trigger = Some(Trigger::On(ctx.spanned(&ev)));
                    }
                    Rule::when_clause => {
                        let e = p.into_inner().find(|p| p.as_rule() == Rule::expr)?;
                        trigger = Some(Trigger::When(build_expr(ctx, e)?));
                    }
                    _ => {}
                }
            }
            let r = ExitRule {
                name,
                trigger: trigger?,
            };
            Stmt::Item(if rule == Rule::exit_stmt {
                ItemKind::Exit(r)
            } else {
                ItemKind::Goal(r)
            })
        }
        Rule::timezone_stmt => {
            let p = next_non_kw()?;
            Stmt::Item(ItemKind::Timezone(match p.as_rule() {
                Rule::tz_field => {
                    let mut parts = p.into_inner().filter(|p| !is_keyword(p.as_rule()));
                    let field = ctx.spanned(&parts.next()?);
                    let default = parts.next().map(|d| build_plain(ctx, d));
                    TimezoneSpec::Field { field, default }
                }
                _ => TimezoneSpec::Named(build_plain(ctx, p)),
            }))
        }
        Rule::window_stmt => {
            let p = next_non_kw()?;
            Stmt::Item(ItemKind::Window(match p.as_rule() {
                Rule::window_hours => {
                    WindowSpec::Hours(p.into_inner().map(|g| build_window_group(ctx, g)).collect())
                }
                _ => WindowSpec::Cron(build_plain(ctx, p)),
            }))
        }
        Rule::limit_stmt => {
            let count = ctx.spanned(&next_non_kw()?);
            let unit = ctx.spanned(&next_non_kw()?);
            let period = ctx.spanned(&next_non_kw()?);
            Stmt::Item(ItemKind::Limit(Limit {
                count,
                unit,
                period,
            }))
        }
        Rule::from_stmt => Stmt::Item(ItemKind::From(build_plain(ctx, next_non_kw()?))),
        Rule::reply_to_stmt => Stmt::Item(ItemKind::ReplyTo(build_plain(ctx, next_non_kw()?))),
        Rule::reenroll_stmt => Stmt::Item(ItemKind::Reenroll(ctx.spanned(&next_non_kw()?))),
        Rule::pause_stmt => {
            let event = ctx.spanned(&next_non_kw()?);
            let default = next_non_kw().map(|d| ctx.spanned(&d));
            Stmt::Item(ItemKind::PauseOn { event, default })
        }
        Rule::holidays_stmt => {
            let dates = inner
                .filter(|p| p.as_rule() == Rule::date)
                .map(|p| ctx.spanned(&p))
                .collect();
            Stmt::Item(ItemKind::Holidays(dates))
        }
        Rule::event_stmt => Stmt::Item(ItemKind::Event(ctx.spanned(&next_non_kw()?))),
        Rule::track_stmt => Stmt::Item(ItemKind::Track(
            inner
                .filter(|p| p.as_rule() == Rule::track_item)
                .map(|p| {
                    let mut words = p.into_inner().filter(|p| !is_keyword(p.as_rule()));
                    let what = ctx.spanned(&words.next()?);
                    let including = words.next().map(|w| ctx.spanned(&w));
                    Some(TrackItem { what, including })
                })
                .collect::<Option<Vec<_>>>()?,
        )),
        Rule::template_open => Stmt::TemplateOpen(build_name(ctx, next_non_kw()?)),
        Rule::block_close => Stmt::BlockClose,
        Rule::subject_stmt => Stmt::Subject(build_str(ctx, next_non_kw()?)),
        Rule::body_stmt => {
            let p = next_non_kw()?;
            Stmt::Body(match p.as_rule() {
                Rule::body_file => {
                    let s = p.into_inner().find(|p| p.as_rule() == Rule::string)?;
                    Body::File(build_plain(ctx, s))
                }
                _ => Body::Inline(build_str(ctx, p)),
            })
        }
        Rule::step_stmt => Stmt::Item(ItemKind::Step(build_step(ctx, span, inner)?)),
        Rule::test_open => Stmt::TestOpen(build_plain(ctx, next_non_kw()?)),
        Rule::contact_stmt => {
            let id = ctx.spanned(&next_non_kw()?);
            let fields = inner
                .map(|p| build_assignment(ctx, p))
                .collect::<Option<Vec<_>>>()?;
            Stmt::Test(TestItem::Contact { id, fields })
        }
        Rule::at_stmt => {
            let when = build_when(ctx, next_non_kw()?)?;
            let input = build_test_input(ctx, next_non_kw()?)?;
            Stmt::Test(TestItem::At { when, input })
        }
        Rule::until_stmt => Stmt::Test(TestItem::Until(build_when(ctx, next_non_kw()?)?)),
        Rule::start_stmt => Stmt::Test(TestItem::Start(ctx.spanned(&next_non_kw()?))),
        Rule::pin_stmt => {
            let contact = ctx.spanned(&next_non_kw()?);
            let step = ctx.spanned(&next_non_kw()?);
            let variant = build_name(ctx, next_non_kw()?);
            Stmt::Test(TestItem::Pin {
                contact,
                step,
                variant,
            })
        }
        Rule::expect_stmt => Stmt::Test(TestItem::Expect(build_expect(ctx, inner)?)),
        Rule::on_stmt => Stmt::On(build_on(ctx, span, inner)?),
        Rule::migrate_open => Stmt::MigrateOpen(
            inner
                .find(|p| p.as_rule() == Rule::string)
                .map(|p| build_plain(ctx, p)),
        ),
        Rule::migrate_map => {
            let mut step = None;
            let mut label = false;
            let mut target = None;
            for p in inner {
                match p.as_rule() {
                    Rule::integer => step = Some(ctx.spanned(&p)),
                    Rule::string => {
                        step = Some(build_plain(ctx, p));
                        label = true;
                    }
                    _ => {
                        if let Some(t) = build_target(ctx, p) {
                            target = Some(t);
                        }
                    }
                }
            }
            Stmt::MigrateMap(MigrateMap {
                step: step?,
                label,
                target: target?,
                span,
            })
        }
        _ => return None,
    };
    Some(stmt)
}

fn is_keyword(rule: Rule) -> bool {
    format!("{rule:?}").starts_with("kw_")
}

fn build_step(ctx: &mut Ctx, head: Span, inner: pest::iterators::Pairs<Rule>) -> Option<Step> {
    let mut number = None;
    let mut label = None;
    let mut action = None;
    let mut options = Vec::new();
    for p in inner {
        let pspan = ctx.span(&p);
        match p.as_rule() {
            Rule::integer => number = Some(ctx.spanned(&p)),
            Rule::string => label = Some(build_plain(ctx, p)),
            Rule::email_action => {
                let n = p
                    .into_inner()
                    .find(|p| matches!(p.as_rule(), Rule::name | Rule::variants))?;
                let (template, variants) = if n.as_rule() == Rule::variants {
                    let variants = n
                        .into_inner()
                        .filter(|v| v.as_rule() == Rule::variant)
                        .map(|v| {
                            let mut parts = v.into_inner();
                            let template = build_name(ctx, parts.next()?);
                            let weight = parts.next().map(|w| ctx.spanned(&w));
                            Some(Variant { template, weight })
                        })
                        .collect::<Option<Vec<_>>>()?;
                    (variants.first()?.template.clone(), variants)
                } else {
                    (build_name(ctx, n), Vec::new())
                };
                action = Some(Spanned::new(Action::Email { template, variants }, pspan));
            }
            Rule::call_action => {
                let s = p.into_inner().find(|p| p.as_rule() == Rule::string)?;
                action = Some(Spanned::new(
                    Action::Call {
                        subject: build_plain(ctx, s),
                    },
                    pspan,
                ));
            }
            Rule::task_action => {
                let mut subject = None;
                let mut kind = None;
                for q in p.into_inner() {
                    match q.as_rule() {
                        Rule::string => subject = Some(build_plain(ctx, q)),
                        Rule::ident => kind = Some(ctx.spanned(&q)),
                        _ => {}
                    }
                }
                action = Some(Spanned::new(
                    Action::Task {
                        subject: subject?,
                        kind,
                    },
                    pspan,
                ));
            }
            Rule::kw_step => {}
            _ => {
                let opt = build_option(ctx, p)?;
                options.push(Spanned::new(opt, pspan));
            }
        }
    }
    Some(Step {
        number: number?,
        label,
        action: action?,
        options,
        handlers: Vec::new(),
        head,
    })
}

fn build_option(ctx: &mut Ctx, pair: Pair<Rule>) -> Option<StepOption> {
    let rule = pair.as_rule();
    let mut parts = pair.into_inner().filter(|p| !is_keyword(p.as_rule()));
    let first = parts.next()?;
    Some(match rule {
        Rule::after_opt => StepOption::After(ctx.spanned(&first)),
        Rule::at_cron => StepOption::AtCron(build_plain(ctx, first)),
        Rule::at_field => {
            let field = ctx.spanned(&first);
            let offset = match (parts.next(), parts.next()) {
                (Some(sign), Some(d)) => Some((
                    if sign.as_str() == "+" {
                        Sign::Plus
                    } else {
                        Sign::Minus
                    },
                    ctx.spanned(&d),
                )),
                _ => None,
            };
            StepOption::AtField { field, offset }
        }
        Rule::if_opt => StepOption::If(build_expr(ctx, first)?),
        Rule::priority_opt => StepOption::Priority(ctx.spanned(&first)),
        Rule::owner_opt => {
            let part = |ctx: &mut Ctx, p: Pair<Rule>| match p.as_rule() {
                Rule::string => OwnerPart::Fixed(build_plain(ctx, p)),
                _ => OwnerPart::Field(ctx.spanned(&p)),
            };
            let mut list = vec![part(ctx, first)];
            for p in parts {
                list.push(part(ctx, p));
            }
            StepOption::Owner(list)
        }
        Rule::due_opt => StepOption::Due(ctx.spanned(&first)),
        Rule::from_opt => StepOption::From(build_plain(ctx, first)),
        Rule::reply_to_opt => StepOption::ReplyTo(build_plain(ctx, first)),
        Rule::subject_opt => StepOption::Subject(build_str(ctx, first)),
        _ => return None,
    })
}

/// `step N`, `next`, `done` or `exit ["reason"]`; `None` for any other pair.
fn build_target(ctx: &mut Ctx, p: Pair<Rule>) -> Option<Spanned<Target>> {
    let span = ctx.span(&p);
    let target = match p.as_rule() {
        Rule::step_target => {
            let n = p.into_inner().find(|p| p.as_rule() == Rule::integer)?;
            Target::Step(ctx.spanned(&n))
        }
        Rule::next_target => Target::Next,
        Rule::done_target => Target::Done,
        Rule::exit_target => Target::Exit(
            p.into_inner()
                .find(|p| p.as_rule() == Rule::string)
                .map(|s| build_plain(ctx, s)),
        ),
        _ => return None,
    };
    Some(Spanned::new(target, span))
}

fn build_on(ctx: &mut Ctx, span: Span, inner: pest::iterators::Pairs<Rule>) -> Option<Handler> {
    let mut event = None;
    let mut timeout = None;
    let mut target = None;
    for p in inner {
        match p.as_rule() {
            Rule::ident => event = Some(ctx.spanned(&p)),
            Rule::duration => timeout = Some(ctx.spanned(&p)),
            _ => {
                if let Some(t) = build_target(ctx, p) {
                    target = Some(t);
                }
            }
        }
    }
    Some(Handler {
        span,
        event: event?,
        timeout,
        target: target?,
    })
}

fn build_assignment(ctx: &mut Ctx, pair: Pair<Rule>) -> Option<Assignment> {
    let mut parts = pair.into_inner();
    let field = ctx.spanned(&parts.next()?);
    let value = parts.next()?;
    let vspan = ctx.span(&value);
    let lit = value.into_inner().next()?;
    let v = match lit.as_rule() {
        Rule::lit_date => Literal::Date(lit.as_str().to_string()),
        Rule::lit_number => Literal::Number(lit.as_str().parse().ok()?),
        Rule::lit_true => Literal::Bool(true),
        Rule::lit_false => Literal::Bool(false),
        _ => Literal::Str(build_str(ctx, lit.into_inner().next()?).value),
    };
    Some(Assignment {
        field,
        value: Spanned::new(v, vspan),
    })
}

fn build_when(ctx: &mut Ctx, pair: Pair<Rule>) -> Option<Spanned<When>> {
    let span = ctx.span(&pair);
    Some(Spanned::new(
        match pair.as_rule() {
            Rule::relative => When::Relative(pair.into_inner().next()?.as_str().to_string()),
            _ => When::Absolute(pair.as_str().to_string()),
        },
        span,
    ))
}

fn build_test_input(ctx: &mut Ctx, pair: Pair<Rule>) -> Option<Spanned<TestInput>> {
    let span = ctx.span(&pair);
    let rule = pair.as_rule();
    let catch_up = pair
        .clone()
        .into_inner()
        .any(|p| p.as_rule() == Rule::kw_catch_up);
    let mut parts = pair.into_inner().filter(|p| !is_keyword(p.as_rule()));
    if rule == Rule::deploy_input {
        let file = build_plain(ctx, parts.next()?);
        return Some(Spanned::new(TestInput::Deploy { file }, span));
    }
    let contact = ctx.spanned(&parts.next()?);
    let input = match rule {
        Rule::enroll_input | Rule::unenroll_input => {
            let cadence = parts.next().map(|n| build_name(ctx, n));
            if rule == Rule::enroll_input {
                TestInput::Enroll { contact, cadence }
            } else {
                TestInput::Unenroll { contact, cadence }
            }
        }
        Rule::set_input => TestInput::Set {
            contact,
            fields: parts
                .map(|p| build_assignment(ctx, p))
                .collect::<Option<Vec<_>>>()?,
        },
        Rule::pause_input => TestInput::Pause {
            contact,
            until: match parts.next() {
                Some(w) => Some(build_when(ctx, w)?),
                None => None,
            },
            catch_up,
        },
        Rule::resume_input => TestInput::Resume { contact, catch_up },
        _ => {
            let event = ctx.spanned(&parts.next()?);
            let (mut step, mut until) = (None, None);
            for p in parts {
                if p.as_rule() == Rule::integer {
                    step = Some(ctx.spanned(&p));
                } else {
                    until = Some(ctx.spanned(&p));
                }
            }
            TestInput::Event {
                contact,
                event,
                step,
                until,
            }
        }
    };
    Some(Spanned::new(input, span))
}

fn build_expect(ctx: &mut Ctx, inner: pest::iterators::Pairs<Rule>) -> Option<Expect> {
    let mut contact = None;
    let mut what = None;
    let mut at = None;
    let mut by = None;
    for p in inner {
        let pspan = ctx.span(&p);
        let rule = p.as_rule();
        let mut args = p.clone().into_inner().filter(|q| !is_keyword(q.as_rule()));
        let number = |ctx: &Ctx, args: &mut dyn Iterator<Item = Pair<Rule>>| {
            args.next().map(|n| ctx.spanned(&n))
        };
        match rule {
            Rule::ident => contact = Some(ctx.spanned(&p)),
            Rule::exp_executed => {
                let step = number(ctx, &mut args)?;
                let e = match args.next() {
                    Some(v) => Expectation::ExecutedVariant {
                        step,
                        variant: build_name(ctx, v),
                    },
                    None => Expectation::Executed(step),
                };
                what = Some(Spanned::new(e, pspan))
            }
            Rule::exp_not_executed => {
                what = Some(Spanned::new(
                    Expectation::NotExecuted(number(ctx, &mut args)?),
                    pspan,
                ))
            }
            Rule::exp_skipped => {
                what = Some(Spanned::new(
                    Expectation::Skipped(number(ctx, &mut args)?),
                    pspan,
                ))
            }
            Rule::exp_at_step => {
                what = Some(Spanned::new(
                    Expectation::AtStep(number(ctx, &mut args)?),
                    pspan,
                ))
            }
            Rule::exp_completed => what = Some(Spanned::new(Expectation::Completed, pspan)),
            Rule::exp_exited => {
                let r = args.next().map(|s| build_plain(ctx, s));
                what = Some(Spanned::new(Expectation::Exited(r), pspan));
            }
            Rule::exp_goal => {
                let r = args.next().map(|s| build_plain(ctx, s));
                what = Some(Spanned::new(Expectation::Goal(r), pspan));
            }
            Rule::expect_at => at = args.next().map(|d| ctx.spanned(&d)),
            Rule::expect_by => by = args.next().map(|d| ctx.spanned(&d)),
            _ => {}
        }
    }
    Some(Expect {
        contact: contact?,
        what: what?,
        at,
        by,
    })
}

fn build_type(ctx: &mut Ctx, pair: Pair<Rule>) -> Spanned<TypeExpr> {
    let span = ctx.span(&pair);
    let inner = pair.into_inner().next();
    match inner {
        Some(p) if p.as_rule() == Rule::enum_type => {
            let values = p
                .into_inner()
                .filter(|p| p.as_rule() == Rule::string)
                .map(|s| build_plain(ctx, s))
                .collect();
            Spanned::new(TypeExpr::Enum(values), span)
        }
        Some(p) => Spanned::new(TypeExpr::Named(p.as_str().to_string()), span),
        None => Spanned::new(TypeExpr::Named(String::new()), span),
    }
}

fn build_name(ctx: &mut Ctx, pair: Pair<Rule>) -> Spanned<String> {
    match pair.into_inner().next() {
        Some(p) if p.as_rule() == Rule::string => build_plain(ctx, p),
        Some(p) => ctx.spanned(&p),
        None => Spanned::new(String::new(), Span::default()),
    }
}

/// `mon-thu 09:00-12:00, 13:00-17:30`
fn build_window_group(ctx: &mut Ctx, pair: Pair<Rule>) -> WindowGroup {
    let span = ctx.span(&pair);
    let mut days = Vec::new();
    let mut ranges = Vec::new();
    for part in pair.into_inner() {
        match part.as_rule() {
            Rule::window_days => {
                for d in part.into_inner() {
                    let mut names = d.into_inner();
                    if let Some(from) = names.next() {
                        days.push(DaySpan {
                            from: ctx.spanned(&from),
                            to: names.next().map(|t| ctx.spanned(&t)),
                        });
                    }
                }
            }
            _ => {
                let mut clocks = part.into_inner();
                if let (Some(start), Some(end)) = (clocks.next(), clocks.next()) {
                    ranges.push(ClockRange {
                        start: ctx.spanned(&start),
                        end: ctx.spanned(&end),
                    });
                }
            }
        }
    }
    WindowGroup { days, ranges, span }
}

fn build_plain(ctx: &mut Ctx, pair: Pair<Rule>) -> Spanned<String> {
    let s = build_str(ctx, pair);
    Spanned::new(s.value, s.span)
}

/// A string literal: unescapes `"..."`, dedents `"""..."""`.
fn build_str(ctx: &mut Ctx, pair: Pair<Rule>) -> Str {
    let span = ctx.span(&pair);
    let raw = pair.as_str();
    if let Some(body) = raw
        .strip_prefix("\"\"\"")
        .and_then(|r| r.strip_suffix("\"\"\""))
    {
        Str {
            value: dedent(body),
            span,
            content: Span::new(span.start + 3, span.end - 3),
            triple: true,
        }
    } else {
        let body = &raw[1..raw.len() - 1];
        let mut value = String::with_capacity(body.len());
        let mut chars = body.char_indices();
        while let Some((i, c)) = chars.next() {
            if c != '\\' {
                value.push(c);
                continue;
            }
            match chars.next() {
                Some((_, '"')) => value.push('"'),
                Some((_, '\\')) => value.push('\\'),
                Some((_, 'n')) => value.push('\n'),
                Some((_, 't')) => value.push('\t'),
                Some((_, other)) => {
                    let at = span.start + 1 + i;
                    ctx.diags.push(
                        Diagnostic::error(
                            "P006",
                            ctx.file,
                            Span::new(at, at + 1 + other.len_utf8()),
                            format!("invalid escape `\\{other}` in a string"),
                            "not an escape",
                        )
                        .with_help("the escapes are `\\\"`, `\\\\`, `\\n` and `\\t`; write `\\\\` for a backslash"),
                    );
                    value.push(other);
                }
                None => value.push('\\'),
            }
        }
        Str {
            value,
            span,
            content: Span::new(span.start + 1, span.end - 1),
            triple: false,
        }
    }
}

/// Removes the first and last blank lines and the common leading indentation.
pub fn dedent(body: &str) -> String {
    let mut lines: Vec<&str> = body.split('\n').map(|l| l.trim_end_matches('\r')).collect();
    if lines.first().is_some_and(|l| l.trim().is_empty()) {
        lines.remove(0);
    }
    if lines.last().is_some_and(|l| l.trim().is_empty()) {
        lines.pop();
    }
    // Indentation is spaces and tabs (one byte each); a line whose whitespace is anything else
    // (a no-break space) keeps it.
    let lead = |l: &str| l.len() - l.trim_start_matches([' ', '\t']).len();
    let indent = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| lead(l))
        .min()
        .unwrap_or(0);
    lines
        .iter()
        .map(|l| {
            let n = lead(l).min(indent);
            &l[n..]
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn pratt() -> &'static PrattParser<Rule> {
    static PRATT: OnceLock<PrattParser<Rule>> = OnceLock::new();
    PRATT.get_or_init(|| {
        PrattParser::new()
            .op(Op::infix(Rule::op_or, Assoc::Left))
            .op(Op::infix(Rule::op_and, Assoc::Left))
            .op(Op::prefix(Rule::op_not))
            .op(Op::infix(Rule::op_eq, Assoc::Left)
                | Op::infix(Rule::op_ne, Assoc::Left)
                | Op::infix(Rule::op_lt, Assoc::Left)
                | Op::infix(Rule::op_le, Assoc::Left)
                | Op::infix(Rule::op_gt, Assoc::Left)
                | Op::infix(Rule::op_ge, Assoc::Left)
                | Op::infix(Rule::op_contains, Assoc::Left))
            .op(Op::infix(Rule::op_add, Assoc::Left) | Op::infix(Rule::op_sub, Assoc::Left))
            .op(Op::postfix(Rule::is_set)
                | Op::postfix(Rule::is_empty)
                | Op::postfix(Rule::is_not_set)
                | Op::postfix(Rule::is_not_empty)
                | Op::postfix(Rule::in_list)
                | Op::postfix(Rule::not_in_list))
    })
}

fn count_operators(pair: &Pair<Rule>) -> usize {
    pair.clone()
        .into_inner()
        .flatten()
        .filter(|p| {
            matches!(
                p.as_rule(),
                Rule::op_not
                    | Rule::op_or
                    | Rule::op_and
                    | Rule::op_eq
                    | Rule::op_ne
                    | Rule::op_lt
                    | Rule::op_le
                    | Rule::op_gt
                    | Rule::op_ge
                    | Rule::op_contains
                    | Rule::op_add
                    | Rule::op_sub
                    | Rule::is_set
                    | Rule::is_empty
                    | Rule::is_not_set
                    | Rule::is_not_empty
                    | Rule::in_list
                    | Rule::not_in_list
            )
        })
        .count()
}

fn build_expr(ctx: &mut Ctx, pair: Pair<Rule>) -> Option<Expr> {
    let span = ctx.span(&pair);
    let ops = count_operators(&pair);
    if ops > MAX_OPERATORS {
        ctx.diags.push(
            Diagnostic::error(
                "P003",
                ctx.file,
                span,
                format!("expression too long ({ops} operators; at most {MAX_OPERATORS})"),
                "this expression",
            )
            .with_help("split the condition; declare a field that holds the result instead"),
        );
        return None;
    }
    Some(build_expr_unchecked(ctx, pair))
}

fn build_expr_unchecked(ctx: &mut Ctx, pair: Pair<Rule>) -> Expr {
    let base = ctx.base;
    let sp = |p: &Pair<Rule>| {
        let s = p.as_span();
        Span::new(s.start() + base, s.end() + base)
    };
    // The Pratt closures cannot borrow `ctx` mutably more than once; diagnostics from nested
    // strings are collected here and appended afterwards.
    let cell = std::cell::RefCell::new(Vec::new());
    let file = ctx.file;
    let expr = pratt()
        .map_primary(|p| primary(&cell, file, base, p))
        .map_prefix(|op, rhs| Expr {
            span: sp(&op).to(rhs.span),
            kind: ExprKind::Not(Box::new(rhs)),
        })
        .map_postfix(|lhs, op| {
            let span = lhs.span.to(sp(&op));
            let kind = match op.as_rule() {
                Rule::is_set | Rule::is_not_set | Rule::is_empty | Rule::is_not_empty => {
                    ExprKind::Is {
                        test: if matches!(op.as_rule(), Rule::is_set | Rule::is_not_set) {
                            IsTest::Set
                        } else {
                            IsTest::Empty
                        },
                        negated: matches!(op.as_rule(), Rule::is_not_set | Rule::is_not_empty),
                        expr: Box::new(lhs),
                    }
                }
                _ => {
                    let negated = op.as_rule() == Rule::not_in_list;
                    let list = op
                        .into_inner()
                        .find(|p| p.as_rule() == Rule::list)
                        .map(|l| {
                            l.into_inner()
                                .map(|p| primary(&cell, file, base, p))
                                .collect()
                        })
                        .unwrap_or_default();
                    ExprKind::In {
                        expr: Box::new(lhs),
                        list,
                        negated,
                    }
                }
            };
            Expr { span, kind }
        })
        .map_infix(|lhs, op, rhs| {
            let bop = match op.as_rule() {
                Rule::op_or => BinOp::Or,
                Rule::op_and => BinOp::And,
                Rule::op_eq => BinOp::Eq,
                Rule::op_ne => BinOp::Ne,
                Rule::op_lt => BinOp::Lt,
                Rule::op_le => BinOp::Le,
                Rule::op_gt => BinOp::Gt,
                Rule::op_ge => BinOp::Ge,
                Rule::op_contains => BinOp::Contains,
                Rule::op_add => BinOp::Add,
                _ => BinOp::Sub,
            };
            Expr {
                span: lhs.span.to(rhs.span),
                kind: ExprKind::Binary(bop, Box::new(lhs), Box::new(rhs)),
            }
        })
        .parse(pair.into_inner());
    ctx.diags.extend(cell.into_inner());
    Expr {
        span: expr.span.to(Span::new(expr.span.start, expr.span.end)),
        ..expr
    }
}

fn primary(
    diags: &std::cell::RefCell<Vec<Diagnostic>>,
    file: FileId,
    base: usize,
    p: Pair<Rule>,
) -> Expr {
    let s = p.as_span();
    let span = Span::new(s.start() + base, s.end() + base);
    let kind = match p.as_rule() {
        Rule::paren => {
            let inner = p.into_inner().next();
            let mut d = Vec::new();
            let e = match inner {
                Some(e) => {
                    let mut ctx = Ctx {
                        file,
                        base,
                        diags: &mut d,
                    };
                    build_expr_unchecked(&mut ctx, e)
                }
                None => Expr {
                    span,
                    kind: ExprKind::Bool(false),
                },
            };
            diags.borrow_mut().extend(d);
            ExprKind::Paren(Box::new(e))
        }
        Rule::lit_date => ExprKind::Date(p.as_str().to_string()),
        Rule::lit_duration => ExprKind::Duration(p.as_str().to_string()),
        Rule::lit_number => ExprKind::Number(p.as_str().parse().unwrap_or(0.0)),
        Rule::lit_string => {
            let mut d = Vec::new();
            let mut ctx = Ctx {
                file,
                base,
                diags: &mut d,
            };
            let v = p
                .into_inner()
                .next()
                .map(|s| build_str(&mut ctx, s).value)
                .unwrap_or_default();
            diags.borrow_mut().extend(d);
            ExprKind::Str(v)
        }
        Rule::lit_true => ExprKind::Bool(true),
        Rule::lit_false => ExprKind::Bool(false),
        Rule::lit_now => ExprKind::Now,
        _ => ExprKind::Field(p.as_str().to_string()),
    };
    Expr { span, kind }
}

// ---- syntax errors ----------------------------------------------------------------------------

/// How a grammar rule is called in a message.
fn describe(rule: Rule) -> Option<&'static str> {
    use Rule::*;
    Some(match rule {
        EOI => "the end of the statement",
        ident | field_ref => "a name",
        integer => "a whole number",
        number | lit_number => "a number",
        duration | duration_unit | lit_duration => "a duration like 3d",
        date | lit_date => "a date like 2026-01-05",
        string | plain_string | triple_string | lit_string => "a string in double quotes",
        name => "a template name",
        clock => "a time like 09:00",
        clock_range => "a range of hours like 09:00-17:00",
        window_hours | window_group | window_days | day_span => {
            "office hours like mon-fri 09:00-17:00"
        }
        type_expr | enum_type | kw_enum => {
            "a field type (text, number, bool, date, email, phone, tz, enum(...))"
        }
        expr | paren | lit_true | lit_false | lit_now => "an expression",
        op_not => "`not`",
        op_or | op_and | op_eq | op_ne | op_le | op_ge | op_lt | op_gt | op_contains | op_add
        | op_sub | is_set | is_empty | is_not_set | is_not_empty | in_list | not_in_list => {
            "an operator"
        }
        list => "a list like [\"a\", \"b\"]",
        email_action | call_action | task_action => "an action (email, call or task)",
        after_opt | at_cron | at_field | if_opt | priority_opt | owner_opt | due_opt | from_opt
        | reply_to_opt | subject_opt => {
            "a step option (after, at, if, priority, owner, due, from, reply_to, subject)"
        }
        step_target | next_target | done_target | exit_target => {
            "a target (`step N`, `next`, `done` or `exit`)"
        }
        offset_sign => "`+` or `-`",
        on_clause => "`on EVENT`",
        when_clause => "`when CONDITION`",
        tz_field => "`field NAME`",
        body_file => "`file \"path\"`",
        kw_cadence => "`cadence`",
        kw_module => "`module`",
        kw_field => "`field`",
        kw_enroll => "`enroll`",
        kw_when => "`when`",
        kw_exit => "`exit`",
        kw_goal => "`goal`",
        kw_on => "`on`",
        kw_timezone => "`timezone`",
        kw_default => "`default`",
        kw_window => "`window`",
        kw_migrate => "`migrate`",
        migrate_map => "a step mapping like `step 3 -> step 4`",
        kw_limit => "`limit`",
        kw_per => "`per`",
        kw_from => "`from`",
        kw_reply_to => "`reply_to`",
        kw_reenroll => "`reenroll`",
        kw_after => "`after`",
        kw_holidays => "`holidays`",
        kw_event => "`event`",
        kw_track => "`track`",
        kw_including => "`including`",
        kw_template => "`template`",
        kw_subject => "`subject`",
        kw_body => "`body`",
        kw_file => "`file`",
        kw_step => "`step`",
        kw_email => "`email`",
        kw_call => "`call`",
        kw_task => "`task`",
        kw_type => "`type`",
        kw_at => "`at`",
        kw_if => "`if`",
        kw_priority => "`priority`",
        kw_owner => "`owner`",
        kw_due => "`due`",
        kw_next => "`next`",
        kw_done => "`done`",
        kw_is | kw_set | kw_empty | kw_in | kw_not => "an operator",
        kw_test => "`test`",
        kw_contact => "`contact`",
        kw_expect => "`expect`",
        kw_until => "`until`",
        kw_unenroll => "`unenroll`",
        kw_by => "`by`",
        relative => "a time like `+2d`",
        assignment => "`FIELD = VALUE`",
        value => "a value (a string, a number, true, false or a date)",
        enroll_input | unenroll_input | set_input | event_input => {
            "an input (`enroll ID`, `unenroll ID`, `set ID FIELD = VALUE` or `ID EVENT`)"
        }
        exp_executed | exp_not_executed | exp_skipped | exp_completed | exp_exited | exp_goal
        | exp_at_step | kw_executed | kw_skipped | kw_completed | kw_exited => {
            "an expectation (`executed step N`, `not executed step N`, `skipped step N`, `completed`, `exited`, `goal`, `at step N`)"
        }
        expect_at | expect_by => "`at T` or `by T`",
        _ => return None,
    })
}

/// The usual form of a statement, shown as help when it does not parse.
fn usage(first_word: &str) -> Option<&'static str> {
    Some(match first_word {
        "cadence" => "write `cadence \"Display name\"`",
        "module" => "write `module contacts` (or leads, deals)",
        "field" => "write `field NAME: TYPE`, for example `field plan: enum(\"trial\", \"pro\")`",
        "enroll" => "write `enroll when CONDITION`, for example `enroll when plan == \"trial\"`",
        "pause" => "write `pause on auto_reply` or `pause on auto_reply 5d`",
        "exit" => "write `exit on EVENT` or `exit \"reason\" when CONDITION`",
        "goal" => "write `goal \"name\" when CONDITION` or `goal \"name\" on EVENT`",
        "timezone" => "write `timezone \"Europe/Paris\"` or `timezone field timezone default \"UTC\"`",
        "window" => "write office hours, `window mon-fri 09:00-17:00`, or a cron expression in quotes, `window \"*/15 9-16 * * 1-5\"`",
        "limit" => "write `limit 200 emails per day`",
        "from" | "reply_to" => "write the address in quotes: `from \"sales@acme.test\"`",
        "reenroll" => "write `reenroll after 90d`",
        "holidays" => "write `holidays [2026-01-01, 2026-12-25]`",
        "event" => "write `event NAME` to declare a custom event",
        "track" => "write `track opens`, `track clicks` or `track opens, clicks`",
        "template" => "write `template NAME {`, then `subject \"...\"` and `body \"\"\"...\"\"\"`, then `}`",
        "subject" => "write `subject \"text\"`",
        "body" => "write `body \"\"\"...\"\"\"` or `body file \"templates/x.html\"`",
        "step" => "a step reads `step N: email TEMPLATE after 1d`, `step N: email variants(a 50%, b 50%)`, `step N: call \"subject\"` or `step N: task \"subject\" type todo`",
        "on" => "an `on` line reads `on EVENT [DURATION] -> step N` (or `next`, `done`, `exit \"reason\"`)",
        "test" => "write `test \"what it proves\" {`, then its lines, then `}`",
        "contact" => "write `contact alice email = \"alice@example.test\" first_name = \"Alice\"`",
        "at" => "write `at 2026-01-05T09:00:00Z: enroll alice` or `at +2d: alice opened`",
        "expect" => "write `expect alice executed step 2 at 2026-01-06T12:00:00Z`, `expect alice completed`, ...",
        "until" => "write `until 2026-02-01T00:00:00Z` or `until +30d`",
        "pin" => "write `pin alice step 1 variant intro_b`",
        "start" => "write `start 2026-03-02T14:00:00Z`",
        _ => return None,
    })
}

/// Edit distance counting a swap of two neighbours as one edit (`stpe` -> `step`).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

/// The closest candidate within a small edit distance. Words longer than 64 characters get no
/// suggestion (a typo is short), and candidates whose length alone puts them out of reach are
/// not compared, so that a huge word or a huge list stays quick.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let len = word.chars().count();
    if len > 64 {
        return None;
    }
    let limit = (len / 3).max(1);
    candidates
        .into_iter()
        .filter(|c| c.len() <= 4 * (len + limit) && c.chars().count().abs_diff(len) <= limit)
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// What the text at `pos` looks like, for "found ..." in messages.
fn found_at(text: &str, pos: usize) -> (String, usize) {
    let rest = &text[pos.min(text.len())..];
    if rest.trim().is_empty() {
        return ("the end of the statement".to_string(), 0);
    }
    let first = rest.chars().next().unwrap_or(' ');
    let len = if first.is_alphanumeric() || first == '_' {
        rest.find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len())
    } else if first == '"' {
        rest[1..].find('"').map(|i| i + 2).unwrap_or(rest.len())
    } else {
        first.len_utf8()
    };
    let token = &rest[..len];
    let shown: String = token.chars().take(40).collect();
    (format!("`{shown}`"), len)
}

/// Converts a pest error of one statement into a diagnostic. The only place that knows pest's
/// error type.
fn syntax_error(
    file: FileId,
    base: usize,
    text: &str,
    err: pest::error::Error<Rule>,
) -> Diagnostic {
    let pos = match err.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((a, _)) => a,
    };
    let first_word: String = text
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    let lead = text.len() - text.trim_start().len();

    // A statement that starts with an unknown word.
    let known = STATEMENT_KEYWORDS.contains(&first_word.as_str())
        || TEST_KEYWORDS.contains(&first_word.as_str());
    if pos <= lead && !known {
        let (found, len) = found_at(text, pos);
        let span = Span::new(base + pos, base + pos + len.max(1));
        let mut d = Diagnostic::error(
            "P004",
            file,
            span,
            format!("unknown statement {found}"),
            "no statement starts with this",
        );
        d = match closest(
            &first_word,
            STATEMENT_KEYWORDS.iter().chain(TEST_KEYWORDS).copied(),
        ) {
            Some(k) => d.with_help(format!("did you mean `{k}`?")),
            None => d.with_help(
                "statements start with cadence, module, field, enroll, exit, goal, timezone, window, limit, from, reply_to, reenroll, pause, holidays, track, event, template, step or on",
            ),
        };
        return d;
    }

    let expected: Vec<&str> = match &err.variant {
        ErrorVariant::ParsingError { positives, .. } => {
            let mut v: Vec<&str> = Vec::new();
            for r in positives {
                if let Some(d) = describe(*r) {
                    if !v.contains(&d) {
                        v.push(d);
                    }
                }
            }
            v
        }
        ErrorVariant::CustomError { .. } => Vec::new(),
    };
    let (found, len) = found_at(text, pos);
    let message = if expected.is_empty() {
        format!("unexpected {found}")
    } else {
        format!("expected {}, found {found}", join_or(&expected))
    };
    let span = Span::new(base + pos, base + pos + len);
    let mut d = Diagnostic::error("P001", file, span, message, "unexpected here");
    if let Some(u) = usage(&first_word) {
        d = d.with_help(u);
    }
    d
}

fn join_or(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(src: &str) -> File {
        let (file, diags) = parse(FileId(0), src);
        assert!(
            diags.is_empty(),
            "unexpected diagnostics for {src:?}: {diags:#?}"
        );
        file
    }

    fn err(src: &str) -> Vec<Diagnostic> {
        let (_, diags) = parse(FileId(0), src);
        assert!(!diags.is_empty(), "expected an error for {src:?}");
        diags
    }

    #[test]
    fn design_card_line_parses_as_written() {
        let f =
            ok("step 1: email \"welcome\" after 0d; on opened -> step 2; on no_reply 3d -> step 3");
        assert_eq!(f.items.len(), 1);
        let ItemKind::Step(s) = &f.items[0].kind else {
            panic!()
        };
        assert_eq!(s.number.node, "1");
        assert!(
            matches!(&s.action.node, Action::Email { template, .. } if template.node == "welcome")
        );
        assert_eq!(s.handlers.len(), 2);
        assert_eq!(s.handlers[1].event.node, "no_reply");
        assert_eq!(s.handlers[1].timeout.as_ref().unwrap().node, "3d");
        assert!(matches!(&s.handlers[1].target.node, Target::Step(n) if n.node == "3"));
    }

    #[test]
    fn header_statements_parse() {
        let f = ok(r#"
cadence "SaaS onboarding"
module contacts
field plan: enum("trial", "pro")
field appointment_date: date
enroll when plan == "trial"
exit on replied
exit "lost" when status == "lost"
goal "converted" when status == "customer"
goal "meeting booked" on meeting_booked
timezone "Asia/Shanghai"
timezone field timezone default "UTC"
window "0 9-17 * * 1-5"
limit 200 emails per day
from "success@acme.test"
reply_to "team@acme.test"
reenroll after 90d
holidays [2026-01-01, 2026-02-17]
event meeting_booked
"#);
        let kinds: Vec<_> = f
            .items
            .iter()
            .map(|i| std::mem::discriminant(&i.kind))
            .collect();
        assert_eq!(kinds.len(), 18);
        assert!(
            matches!(&f.items[2].kind, ItemKind::Field(fd) if matches!(&fd.ty.node, TypeExpr::Enum(v) if v.len() == 2))
        );
        assert!(
            matches!(&f.items[6].kind, ItemKind::Exit(r) if r.name.as_ref().unwrap().node == "lost")
        );
        assert!(
            matches!(&f.items[10].kind, ItemKind::Timezone(TimezoneSpec::Field { default: Some(d), .. }) if d.node == "UTC")
        );
        assert!(matches!(&f.items[16].kind, ItemKind::Holidays(d) if d.len() == 2));
    }

    #[test]
    fn window_hours_parse_into_groups_days_and_ranges() {
        let f = ok("window mon-thu 09:00-12:00, 13:00-17:30; fri 09:00-15:00\nwindow 08:00-20:00\nwindow sat,sun 10:00-14:00");
        let ItemKind::Window(WindowSpec::Hours(g)) = &f.items[0].kind else {
            panic!("{:?}", f.items[0].kind)
        };
        assert_eq!(g.len(), 2);
        assert_eq!(g[0].days[0].from.node, "mon");
        assert_eq!(g[0].days[0].to.as_ref().unwrap().node, "thu");
        assert_eq!(g[0].ranges.len(), 2);
        assert_eq!(g[0].ranges[1].end.node, "17:30");
        assert_eq!(g[1].ranges[0].start.node, "09:00");
        let ItemKind::Window(WindowSpec::Hours(g)) = &f.items[1].kind else {
            panic!()
        };
        assert!(g[0].days.is_empty());
        let ItemKind::Window(WindowSpec::Hours(g)) = &f.items[2].kind else {
            panic!()
        };
        assert_eq!(g[0].days.len(), 2);
        assert!(matches!(
            &ok("window \"0 9 * * 1\"").items[0].kind,
            ItemKind::Window(WindowSpec::Cron(c)) if c.node == "0 9 * * 1"
        ));
    }

    #[test]
    fn template_blocks_parse_with_dedented_bodies() {
        let f = ok("template welcome {\n  subject \"Welcome, {{first_name | there}}\"\n  body \"\"\"\n    Hi {{first_name}},\n      indented\n    {{unsubscribe_link}}\n    \"\"\"\n}\ntemplate \"b\" { subject \"s\"; body file \"x.html\" }");
        let ItemKind::Template(t) = &f.items[0].kind else {
            panic!()
        };
        assert_eq!(t.name.node, "welcome");
        let Some(Body::Inline(b)) = &t.body else {
            panic!()
        };
        assert_eq!(
            b.value,
            "Hi {{first_name}},\n  indented\n{{unsubscribe_link}}"
        );
        let ItemKind::Template(t2) = &f.items[1].kind else {
            panic!()
        };
        assert!(matches!(&t2.body, Some(Body::File(p)) if p.node == "x.html"));
    }

    #[test]
    fn step_options_parse() {
        let f = ok(
            r#"step 2 "Walkthrough call": call "Feature walkthrough" after 1d priority high owner "csm"
  on answered -> done
  on overdue 2d -> step 3
step 3: email tips after 2bd at "0 9 * * *" from "a@b.test" reply_to "c@d.test" subject "Hi"
step 4: task "Send case study" type demo after 1d due 2d if company is set
step 5: email reminder at appointment_date - 1d
  on bounced -> exit "bad address"
  on opened -> next"#,
        );
        let ItemKind::Step(s2) = &f.items[0].kind else {
            panic!()
        };
        assert_eq!(s2.label.as_ref().unwrap().node, "Walkthrough call");
        assert_eq!(s2.options.len(), 3);
        let ItemKind::Step(s3) = &f.items[1].kind else {
            panic!()
        };
        assert_eq!(s3.options.len(), 5);
        let ItemKind::Step(s4) = &f.items[2].kind else {
            panic!()
        };
        assert!(matches!(&s4.action.node, Action::Task { kind: Some(k), .. } if k.node == "demo"));
        assert!(matches!(s4.options[2].node, StepOption::If(_)));
        let ItemKind::Step(s5) = &f.items[3].kind else {
            panic!()
        };
        assert!(
            matches!(&s5.options[0].node, StepOption::AtField { offset: Some((Sign::Minus, d)), .. } if d.node == "1d")
        );
        assert!(
            matches!(&s5.handlers[0].target.node, Target::Exit(Some(r)) if r.node == "bad address")
        );
        assert!(matches!(s5.handlers[1].target.node, Target::Next));
    }

    fn expr_of(src: &str) -> Expr {
        let f = ok(&format!("enroll when {src}"));
        let ItemKind::Enroll(e) = &f.items[0].kind else {
            panic!()
        };
        e.clone()
    }

    fn show(e: &Expr) -> String {
        match &e.kind {
            ExprKind::Field(f) => f.clone(),
            ExprKind::Str(s) => format!("{s:?}"),
            ExprKind::Number(n) => n.to_string(),
            ExprKind::Bool(b) => b.to_string(),
            ExprKind::Date(d) | ExprKind::Duration(d) => d.clone(),
            ExprKind::Now => "now".into(),
            ExprKind::Not(x) => format!("(not {})", show(x)),
            ExprKind::Binary(op, a, b) => format!("({} {} {})", show(a), op.as_str(), show(b)),
            ExprKind::Is {
                expr,
                test,
                negated,
            } => {
                format!(
                    "({} is{} {:?})",
                    show(expr),
                    if *negated { " not" } else { "" },
                    test
                )
            }
            ExprKind::In {
                expr,
                list,
                negated,
            } => format!(
                "({}{} in [{}])",
                show(expr),
                if *negated { " not" } else { "" },
                list.iter().map(show).collect::<Vec<_>>().join(", ")
            ),
            ExprKind::Paren(x) => show(x),
        }
    }

    #[test]
    fn expression_precedence() {
        assert_eq!(
            show(&expr_of("a == 1 or b == 2 and not c is set")),
            "((a == 1) or ((b == 2) and (not (c is Set))))"
        );
        assert_eq!(
            show(&expr_of("created_at + 3d < now - 1w")),
            "((created_at + 3d) < (now - 1w))"
        );
        assert_eq!(
            show(&expr_of("plan not in [\"a\", \"b\"] and x contains \"y\"")),
            "((plan not in [\"a\", \"b\"]) and (x contains \"y\"))"
        );
        assert_eq!(
            show(&expr_of("(a or b) and d >= 2026-01-05")),
            "((a or b) and (d >= 2026-01-05))"
        );
        assert_eq!(show(&expr_of("phone is not empty")), "(phone is not Empty)");
    }

    #[test]
    fn postfix_tests_can_be_followed_by_operators() {
        assert_eq!(show(&expr_of("p is set and b")), "((p is Set) and b)");
        assert_eq!(
            show(&expr_of("p in [1] or q is not empty")),
            "((p in [1]) or (q is not Empty))"
        );
    }

    #[test]
    fn test_blocks_parse() {
        let f = ok(r#"test "an opener gets the intro call a day later" {
  contact alice email = "alice@example.test" first_name = "Alice" seats = 3 vip = true due = 2026-01-09
  at 2026-01-05T09:00:00Z: enroll alice
  at 2026-01-05T10:00:00Z: enroll alice "SaaS onboarding"
  at 2026-01-05T12:00:00Z: alice opened
  at +1d: alice answered step 2
  at +2d: set alice plan = "pro" seats = 4
  at +3d: unenroll alice
  expect alice executed step 2 at 2026-01-06T12:00:00Z
  expect alice not executed step 3
  expect alice skipped step 4 by 2026-01-10T00:00:00Z
  expect alice completed
  expect alice exited "replied" at 2026-01-07T00:00:00Z
  expect alice goal "converted"
  expect alice goal
  expect alice at step 2
  until +30d
}"#);
        let ItemKind::Test(t) = &f.items[0].kind else {
            panic!()
        };
        assert_eq!(t.name.node, "an opener gets the intro call a day later");
        assert_eq!(t.items.len(), 16);
        let TestItem::Contact { fields, .. } = &t.items[0].node else {
            panic!()
        };
        assert_eq!(fields.len(), 5);
        assert!(matches!(fields[2].value.node, Literal::Number(n) if n == 3.0));
        assert!(matches!(fields[3].value.node, Literal::Bool(true)));
        assert!(matches!(&fields[4].value.node, Literal::Date(d) if d == "2026-01-09"));
        let TestItem::At { when, input } = &t.items[1].node else {
            panic!()
        };
        assert!(matches!(&when.node, When::Absolute(a) if a == "2026-01-05T09:00:00Z"));
        assert!(matches!(
            &input.node,
            TestInput::Enroll { cadence: None, .. }
        ));
        let TestItem::At { input, .. } = &t.items[2].node else {
            panic!()
        };
        assert!(
            matches!(&input.node, TestInput::Enroll { cadence: Some(c), .. } if c.node == "SaaS onboarding")
        );
        let TestItem::At { when, input } = &t.items[4].node else {
            panic!()
        };
        assert!(matches!(&when.node, When::Relative(d) if d == "1d"));
        assert!(
            matches!(&input.node, TestInput::Event { event, step: Some(s), .. } if event.node == "answered" && s.node == "2")
        );
        let TestItem::At { input, .. } = &t.items[5].node else {
            panic!()
        };
        assert!(matches!(&input.node, TestInput::Set { fields, .. } if fields.len() == 2));
        let TestItem::Expect(e) = &t.items[7].node else {
            panic!()
        };
        assert!(matches!(&e.what.node, Expectation::Executed(n) if n.node == "2"));
        assert!(e.at.is_some());
        let TestItem::Expect(e) = &t.items[9].node else {
            panic!()
        };
        assert!(matches!(&e.what.node, Expectation::Skipped(_)) && e.by.is_some());
        let TestItem::Expect(e) = &t.items[11].node else {
            panic!()
        };
        assert!(matches!(&e.what.node, Expectation::Exited(Some(r)) if r.node == "replied"));
        let TestItem::Expect(e) = &t.items[14].node else {
            panic!()
        };
        assert!(matches!(&e.what.node, Expectation::AtStep(n) if n.node == "2"));
        assert!(
            matches!(&t.items[15].node, TestItem::Until(w) if w.node == When::Relative("30d".into()))
        );
    }

    #[test]
    fn test_statements_outside_a_test_block_are_misplaced() {
        assert_eq!(err("expect alice completed")[0].code, "P005");
        assert_eq!(err("test \"x\" {\nstep 1: call \"y\"\n}")[0].code, "P005");
    }

    #[test]
    fn dedent_never_splits_a_character() {
        assert_eq!(dedent("\n  A\n\u{3000}\n  B\n"), "A\n\u{3000}\nB");
        assert_eq!(dedent("\n    a\n \u{a0}x\n"), "   a\n\u{a0}x");
    }

    #[test]
    fn comments_are_kept() {
        let f = ok("# header\nstep 1: call \"x\" # trailing\n");
        assert_eq!(f.comments.len(), 2);
        assert_eq!(f.comments[1].text, " trailing");
    }

    #[test]
    fn a_syntax_error_does_not_hide_other_statements() {
        let (f, d) = parse(
            FileId(0),
            "step 1 email x\nstep 2: call \"y\"\n  on answered -> done\n",
        );
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].code, "P001");
        assert_eq!(f.items.len(), 2);
        assert!(matches!(f.items[0].kind, ItemKind::Error { step: Some(1) }));
    }

    #[test]
    fn on_lines_of_a_broken_step_are_not_reported_twice() {
        let d = err("step 1 email x\n  on opened -> step 2\n");
        assert_eq!(d.len(), 1);
    }

    #[test]
    fn unknown_statement_suggests_a_keyword() {
        let d = err("stpe 1: email x");
        assert_eq!(d[0].code, "P004");
        assert_eq!(d[0].help.as_deref(), Some("did you mean `step`?"));
    }

    #[test]
    fn lenient_durations_reach_the_checker() {
        let f = ok("step 1: email x after 3x");
        let ItemKind::Step(s) = &f.items[0].kind else {
            panic!()
        };
        assert!(matches!(&s.options[0].node, StepOption::After(d) if d.node == "3x"));
    }

    #[test]
    fn misplaced_statements() {
        assert_eq!(err("on opened -> step 2")[0].code, "P005");
        assert_eq!(err("subject \"x\"")[0].code, "P005");
        assert_eq!(err("}")[0].code, "P005");
        assert_eq!(err("template t {\nsubject \"s\"\n")[0].code, "P005");
    }

    #[test]
    fn bad_escape_is_reported() {
        assert_eq!(err("from \"a\\qb\"")[0].code, "P006");
    }

    #[test]
    fn long_operator_chains_are_an_error_not_a_crash() {
        let src = format!("enroll when {}", vec!["a"; 100_000].join(" and "));
        assert_eq!(err(&src)[0].code, "P003");
        let src = format!("enroll when {} x", "not ".repeat(100_000));
        assert_eq!(err(&src)[0].code, "P003");
    }

    #[test]
    fn spans_point_into_the_file() {
        let src = "cadence \"x\"\nstep 1: email welcome after 2d";
        let f = ok(src);
        let ItemKind::Step(s) = &f.items[1].kind else {
            panic!()
        };
        let Action::Email { template, .. } = &s.action.node else {
            panic!()
        };
        assert_eq!(&src[template.span.range()], "welcome");
    }
}
