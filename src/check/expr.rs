//! Type checking of expressions.

use super::program::{CmpOp, Expr, Value};
use super::schema::{Schema, Type};
use crate::diagnostic::Diagnostic;
use crate::syntax::ast::{self, BinOp, ExprKind, IsTest};
use crate::syntax::{closest, FileId, Span};
use crate::time::{parse_date, Duration};

/// The type of an expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Ty {
    /// Text; for enum fields, the allowed values.
    Text(Option<Vec<String>>),
    Number,
    Bool,
    Date,
    Duration,
}

impl Ty {
    fn of(t: &Type) -> Ty {
        match t {
            Type::Number => Ty::Number,
            Type::Bool => Ty::Bool,
            Type::Date => Ty::Date,
            Type::Enum(v) => Ty::Text(Some(v.clone())),
            _ => Ty::Text(None),
        }
    }

    fn describe(&self) -> &'static str {
        match self {
            Ty::Text(Some(_)) => "an enum value",
            Ty::Text(None) => "text",
            Ty::Number => "a number",
            Ty::Bool => "true or false",
            Ty::Date => "a date",
            Ty::Duration => "a duration",
        }
    }

    fn same_kind(&self, other: &Ty) -> bool {
        matches!(
            (self, other),
            (Ty::Text(_), Ty::Text(_))
                | (Ty::Number, Ty::Number)
                | (Ty::Bool, Ty::Bool)
                | (Ty::Date, Ty::Date)
                | (Ty::Duration, Ty::Duration)
        )
    }
}

pub(crate) struct ExprChecker<'a> {
    pub schema: &'a Schema,
    pub file: FileId,
    pub diags: &'a mut Vec<Diagnostic>,
}

impl ExprChecker<'_> {
    /// Checks a condition: it must be true or false.
    pub fn condition(&mut self, e: &ast::Expr, context: &str) -> Option<Expr> {
        let (expr, ty) = self.check(e)?;
        if ty != Ty::Bool {
            self.diags.push(
                Diagnostic::error(
                    "E101",
                    self.file,
                    e.span,
                    format!("the condition of `{context}` must be true or false"),
                    format!("this is {}", ty.describe()),
                )
                .with_help(match ty {
                    Ty::Text(_) => {
                        "compare it (`status == \"customer\"`) or test it (`company is set`)"
                    }
                    Ty::Number => "compare it: `amount > 1000`",
                    Ty::Date => "compare it: `closing_date < now + 7d`",
                    _ => "write a comparison, for example `plan == \"trial\"`",
                }),
            );
            return None;
        }
        Some(expr)
    }

    fn mismatch(&mut self, span: Span, message: String, label: String, help: &str) {
        self.diags.push(
            Diagnostic::error("E101", self.file, span, message, label).with_help(help.to_string()),
        );
    }

    pub fn check(&mut self, e: &ast::Expr) -> Option<(Expr, Ty)> {
        match &e.kind {
            ExprKind::Field(name) => match self.schema.lookup(name) {
                Some(id) => Some((Expr::Field(id), Ty::of(&self.schema.field(id).ty))),
                None => {
                    self.diags
                        .push(unknown_field(self.file, e.span, name, self.schema));
                    None
                }
            },
            ExprKind::Str(s) => Some((Expr::Literal(Value::Text(s.clone())), Ty::Text(None))),
            ExprKind::Number(n) if !n.is_finite() => {
                self.mismatch(
                    e.span,
                    "number too large".into(),
                    "cannot be represented".into(),
                    "write a number of at most 15 digits",
                );
                None
            }
            ExprKind::Number(n) => Some((Expr::Literal(Value::Number(*n)), Ty::Number)),
            ExprKind::Bool(b) => Some((Expr::Literal(Value::Bool(*b)), Ty::Bool)),
            ExprKind::Now => Some((Expr::Now, Ty::Date)),
            ExprKind::Date(text) => match parse_date(text) {
                Ok(d) => Some((Expr::Literal(Value::Date(d)), Ty::Date)),
                Err(msg) => {
                    self.diags.push(invalid_date(self.file, e.span, msg));
                    None
                }
            },
            ExprKind::Duration(text) => match Duration::parse(text) {
                // A duration alone is only meaningful on the right of `date ± ...`; the caller
                // of a shift unpacks it. Anywhere else it is reported as a type error.
                Ok(d) => Some((Expr::Literal(Value::Number(d.seconds as f64)), Ty::Duration)),
                Err(err) => {
                    self.diags
                        .push(invalid_duration(self.file, e.span, text, &err));
                    None
                }
            },
            ExprKind::Paren(inner) => self.check(inner),
            ExprKind::Not(inner) => {
                let (x, ty) = self.check(inner)?;
                if ty != Ty::Bool {
                    self.mismatch(
                        inner.span,
                        "`not` needs true or false".into(),
                        format!("this is {}", ty.describe()),
                        "negate a comparison: `not (status == \"lost\")`",
                    );
                    return None;
                }
                Some((Expr::Not(Box::new(x)), Ty::Bool))
            }
            ExprKind::Is {
                expr,
                test,
                negated,
            } => {
                let (x, _) = self.check(expr)?;
                let x = Box::new(x);
                let negated = *negated;
                Some((
                    match test {
                        IsTest::Set => Expr::IsSet { expr: x, negated },
                        IsTest::Empty => Expr::IsEmpty { expr: x, negated },
                    },
                    Ty::Bool,
                ))
            }
            ExprKind::In {
                expr,
                list,
                negated,
            } => {
                let lhs = self.check(expr);
                let mut items = Vec::new();
                let mut ok = true;
                for item in list {
                    match self.check(item) {
                        Some((x, ty)) => items.push((x, ty, item.span, item)),
                        None => ok = false,
                    }
                }
                let (lx, lty) = lhs?;
                for (_, ty, span, item) in &items {
                    if !lty.same_kind(ty) {
                        self.mismatch(
                            *span,
                            format!(
                                "list item is {}, but the value tested is {}",
                                ty.describe(),
                                lty.describe()
                            ),
                            format!("this is {}", ty.describe()),
                            "every item of an `in` list has the type of the value on its left",
                        );
                        ok = false;
                    } else {
                        ok &= self.enum_member(&lty, item);
                    }
                }
                if !ok {
                    return None;
                }
                Some((
                    Expr::In {
                        expr: Box::new(lx),
                        list: items.into_iter().map(|(x, ..)| x).collect(),
                        negated: *negated,
                    },
                    Ty::Bool,
                ))
            }
            ExprKind::Binary(op, a, b) => self.binary(e.span, *op, a, b),
        }
    }

    /// `enum_field == "value"`: the value must be one of the enum's.
    fn enum_member(&mut self, ty: &Ty, other: &ast::Expr) -> bool {
        let (Ty::Text(Some(values)), ExprKind::Str(s)) = (ty, &strip(other).kind) else {
            return true;
        };
        if values.contains(s) {
            return true;
        }
        let list = values
            .iter()
            .map(|v| format!("\"{v}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let mut d = Diagnostic::error(
            "E123",
            self.file,
            other.span,
            format!("\"{s}\" is not a value of this enum"),
            format!("the values are {list}"),
        );
        d = match closest(s, values.iter().map(String::as_str)) {
            Some(c) => d.with_help(format!(
                "did you mean \"{c}\"? or add \"{s}\" to the field's enum(...)"
            )),
            None => d.with_help(format!(
                "use one of {list}, or add \"{s}\" to the field's enum(...)"
            )),
        };
        self.diags.push(d);
        false
    }

    fn binary(
        &mut self,
        span: Span,
        op: BinOp,
        a: &ast::Expr,
        b: &ast::Expr,
    ) -> Option<(Expr, Ty)> {
        let l = self.check(a);
        let r = self.check(b);
        let ((lx, lt), (rx, rt)) = (l?, r?);
        let (lx, rx) = (Box::new(lx), Box::new(rx));
        match op {
            BinOp::And | BinOp::Or => {
                for (ty, side) in [(&lt, a), (&rt, b)] {
                    if *ty != Ty::Bool {
                        self.mismatch(
                            side.span,
                            format!("`{}` needs true or false on both sides", op.as_str()),
                            format!("this is {}", ty.describe()),
                            "use a comparison here, for example `plan == \"pro\"` or `phone is set`",
                        );
                        return None;
                    }
                }
                Some((
                    if op == BinOp::And {
                        Expr::And(lx, rx)
                    } else {
                        Expr::Or(lx, rx)
                    },
                    Ty::Bool,
                ))
            }
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                let ordered = !matches!(op, BinOp::Eq | BinOp::Ne);
                if !lt.same_kind(&rt) || lt == Ty::Duration {
                    self.diags.push(
                        Diagnostic::error(
                            "E101",
                            self.file,
                            b.span,
                            format!(
                                "`{}` cannot compare {} with {}",
                                op.as_str(),
                                lt.describe(),
                                rt.describe()
                            ),
                            format!("this is {}", rt.describe()),
                        )
                        .with_label(self.file, a.span, format!("this is {}", lt.describe()))
                        .with_help(hint_for(&lt, &rt)),
                    );
                    return None;
                }
                if ordered && !matches!(lt, Ty::Number | Ty::Date) {
                    self.mismatch(
                        span,
                        format!(
                            "`{}` orders numbers and dates, not {}",
                            op.as_str(),
                            lt.describe()
                        ),
                        "cannot order these".into(),
                        "use `==` or `!=` for text, or `contains`",
                    );
                    return None;
                }
                if !ordered && !(self.enum_member(&lt, b) & self.enum_member(&rt, a)) {
                    return None;
                }
                let cmp = match op {
                    BinOp::Eq => CmpOp::Eq,
                    BinOp::Ne => CmpOp::Ne,
                    BinOp::Lt => CmpOp::Lt,
                    BinOp::Le => CmpOp::Le,
                    BinOp::Gt => CmpOp::Gt,
                    _ => CmpOp::Ge,
                };
                Some((Expr::Compare(cmp, lx, rx), Ty::Bool))
            }
            BinOp::Contains => {
                for (ty, side) in [(&lt, a), (&rt, b)] {
                    if !matches!(ty, Ty::Text(_)) {
                        self.mismatch(
                            side.span,
                            "`contains` looks for text in text".into(),
                            format!("this is {}", ty.describe()),
                            "write `company contains \"Inc\"`",
                        );
                        return None;
                    }
                }
                Some((Expr::Contains(lx, rx), Ty::Bool))
            }
            BinOp::Add | BinOp::Sub => {
                let negative = op == BinOp::Sub;
                match (&lt, &rt) {
                    (Ty::Date, Ty::Duration) => {
                        let by = duration_of(b)?;
                        Some((
                            Expr::Shift {
                                expr: lx,
                                by,
                                negative,
                            },
                            Ty::Date,
                        ))
                    }
                    (Ty::Number, Ty::Number) => Some((
                        Expr::Arith {
                            subtract: negative,
                            lhs: lx,
                            rhs: rx,
                        },
                        Ty::Number,
                    )),
                    _ => {
                        self.diags.push(
                            Diagnostic::error(
                                "E101",
                                self.file,
                                b.span,
                                format!(
                                    "cannot {} {} {} {}",
                                    if negative { "subtract" } else { "add" },
                                    rt.describe(),
                                    if negative { "from" } else { "to" },
                                    lt.describe()
                                ),
                                format!("this is {}", rt.describe()),
                            )
                            .with_label(self.file, a.span, format!("this is {}", lt.describe()))
                            .with_help("write `created_at + 3d` or `now - 1w`"),
                        );
                        None
                    }
                }
            }
        }
    }
}

fn strip(e: &ast::Expr) -> &ast::Expr {
    match &e.kind {
        ExprKind::Paren(inner) => strip(inner),
        _ => e,
    }
}

/// The duration of a (possibly parenthesised) duration literal.
fn duration_of(e: &ast::Expr) -> Option<Duration> {
    match &strip(e).kind {
        ExprKind::Duration(text) => Duration::parse(text).ok(),
        _ => None,
    }
}

fn hint_for(l: &Ty, r: &Ty) -> String {
    match (l, r) {
        (Ty::Date, Ty::Number) | (Ty::Number, Ty::Date) => {
            "compare a date with a date: `created_at < 2026-01-01` or `created_at < now - 30d`"
                .into()
        }
        (Ty::Number, Ty::Text(_)) | (Ty::Text(_), Ty::Number) => {
            "numbers are written without quotes: `amount > 1000`".into()
        }
        (Ty::Bool, _) | (_, Ty::Bool) => "a bool field is compared with `true` or `false`".into(),
        (Ty::Duration, _) | (_, Ty::Duration) => {
            "a duration is added to a date: `created_at + 3d`".into()
        }
        _ => "compare values of the same type".into(),
    }
}

pub(crate) fn unknown_field(file: FileId, span: Span, name: &str, schema: &Schema) -> Diagnostic {
    let d = Diagnostic::error(
        "E100",
        file,
        span,
        format!("unknown field `{name}`"),
        format!("no field `{name}` in the {} schema", schema.module.name()),
    );
    match closest(name, schema.names()) {
        Some(c) => d.with_help(format!("did you mean `{c}`? or declare it: `field {name}: text`")),
        None => d.with_help(format!("declare it with `field {name}: TYPE` (text, number, bool, date, email, phone, tz or enum(...))")),
    }
}

pub(crate) fn invalid_date(file: FileId, span: Span, msg: String) -> Diagnostic {
    Diagnostic::error("E111", file, span, msg, "invalid date")
        .with_help("write a date as `2026-01-05` or an instant as `2026-01-05T09:00:00Z`")
}

pub(crate) fn invalid_duration(
    file: FileId,
    span: Span,
    text: &str,
    err: &crate::time::DurationError,
) -> Diagnostic {
    let at = span.start + err.at.min(text.len());
    let len = if err.len == 0 { span.len() } else { err.len };
    Diagnostic::error(
        "E110",
        file,
        Span::new(at, (at + len).min(span.end.max(at))),
        err.message.clone(),
        "invalid duration",
    )
    .with_help(err.help.clone())
}
