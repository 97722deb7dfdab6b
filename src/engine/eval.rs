//! Evaluation of checked expressions against a record.

use chrono::NaiveDate;
use chrono_tz::Tz;

use super::calendar::{add, date_instant, sub};
use super::state::Fields;
use crate::check::{CmpOp, Expr, Value};

/// What an expression evaluates to; an unset field is `Unset`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Val<'a> {
    Unset,
    Text(&'a str),
    Number(f64),
    Bool(bool),
    Date(i64),
}

pub(crate) struct Ctx<'a> {
    pub fields: &'a Fields,
    /// Schema field index -> global field id.
    pub map: &'a [u16],
    pub now: i64,
    pub tz: Tz,
    pub holidays: &'a [NaiveDate],
}

fn of_value(v: &Value, tz: Tz) -> Val<'_> {
    match v {
        Value::Text(s) => Val::Text(s),
        Value::Number(n) => Val::Number(*n),
        Value::Bool(b) => Val::Bool(*b),
        Value::Date(d) => Val::Date(date_instant(*d, tz)),
    }
}

/// Evaluates a condition; unset values make comparisons false (and `!=` true).
pub(crate) fn truth(e: &Expr, cx: &Ctx) -> bool {
    matches!(eval(e, cx), Val::Bool(true))
}

fn equal(a: Val, b: Val) -> Option<bool> {
    Some(match (a, b) {
        (Val::Text(x), Val::Text(y)) => x == y,
        (Val::Number(x), Val::Number(y)) => x == y,
        (Val::Bool(x), Val::Bool(y)) => x == y,
        (Val::Date(x), Val::Date(y)) => x == y,
        _ => return None,
    })
}

pub(crate) fn eval<'a>(e: &'a Expr, cx: &Ctx<'a>) -> Val<'a> {
    match e {
        Expr::Field(f) => match cx.map.get(f.0).and_then(|g| cx.fields.get(*g)) {
            Some(v) => of_value(v, cx.tz),
            None => Val::Unset,
        },
        Expr::Literal(v) => of_value(v, cx.tz),
        Expr::Now => Val::Date(cx.now),
        Expr::Not(x) => match eval(x, cx) {
            Val::Bool(b) => Val::Bool(!b),
            _ => Val::Bool(true),
        },
        Expr::And(a, b) => Val::Bool(truth(a, cx) && truth(b, cx)),
        Expr::Or(a, b) => Val::Bool(truth(a, cx) || truth(b, cx)),
        Expr::Compare(op, a, b) => {
            let (x, y) = (eval(a, cx), eval(b, cx));
            let r = match op {
                CmpOp::Eq => equal(x, y).unwrap_or(false),
                CmpOp::Ne => equal(x, y).map(|b| !b).unwrap_or(true),
                _ => {
                    let ord = match (x, y) {
                        (Val::Number(p), Val::Number(q)) => p.partial_cmp(&q),
                        (Val::Date(p), Val::Date(q)) => Some(p.cmp(&q)),
                        _ => None,
                    };
                    match (op, ord) {
                        (_, None) => false,
                        (CmpOp::Lt, Some(o)) => o.is_lt(),
                        (CmpOp::Le, Some(o)) => o.is_le(),
                        (CmpOp::Gt, Some(o)) => o.is_gt(),
                        (_, Some(o)) => o.is_ge(),
                    }
                }
            };
            Val::Bool(r)
        }
        Expr::Contains(a, b) => match (eval(a, cx), eval(b, cx)) {
            (Val::Text(x), Val::Text(y)) => Val::Bool(x.contains(y)),
            _ => Val::Bool(false),
        },
        Expr::In {
            expr,
            list,
            negated,
        } => {
            let x = eval(expr, cx);
            let found = x != Val::Unset && list.iter().any(|i| equal(x, eval(i, cx)) == Some(true));
            Val::Bool(found != *negated)
        }
        Expr::IsSet { expr, negated } => {
            let set = !matches!(eval(expr, cx), Val::Unset | Val::Text(""));
            Val::Bool(set != *negated)
        }
        Expr::IsEmpty { expr, negated } => {
            let empty = matches!(eval(expr, cx), Val::Unset | Val::Text(""));
            Val::Bool(empty != *negated)
        }
        Expr::Shift { expr, by, negative } => match eval(expr, cx) {
            Val::Date(t) => Val::Date(if *negative {
                sub(t, *by, cx.tz, cx.holidays)
            } else {
                add(t, *by, cx.tz, cx.holidays)
            }),
            _ => Val::Unset,
        },
        Expr::Arith { subtract, lhs, rhs } => match (eval(lhs, cx), eval(rhs, cx)) {
            (Val::Number(a), Val::Number(b)) => Val::Number(if *subtract { a - b } else { a + b }),
            _ => Val::Unset,
        },
    }
}
