//! L214: an A/B test that cannot tell its variants apart within a month at the cadence's volume.
//!
//! The volume is capped by `limit N emails per day` on the days the send window opens; without
//! a `limit` the volume is unknown and the rule says nothing. The difference assumed worth
//! detecting is a reply rate of 5% against 7%, with a two-sided test at the 5% level and a
//! power of 80% (the sample size of `crate::report::stats`).

use chrono::{Days, NaiveDate};

use crate::check::{Action, Zone};
use crate::engine::calendar::{day_start, local_date, next_window};
use crate::lint::{Cx, Finding};
use crate::report::stats::sample_size;
use crate::report::variants::thousands;

/// The reply rates the rule assumes a test should be able to tell apart.
const BASE_RATE: f64 = 0.05;
const LIFTED_RATE: f64 = 0.07;
/// The period, in days.
const MONTH: u64 = 30;

pub(crate) fn check(cx: &Cx, out: &mut Vec<Finding>) {
    let Some(need) = sample_size(BASE_RATE, LIFTED_RATE, 0.05, 0.8) else {
        return;
    };
    for c in &cx.program.cadences {
        let Some(limit) = c.limit_per_day else {
            continue;
        };
        let tz = match &c.zone {
            Zone::Fixed(z) => *z,
            Zone::Field { default, .. } => *default,
        };
        // Days of a month (30 days from a Monday) on which the window opens.
        let days = match &c.window {
            None => MONTH,
            Some(w) => {
                let first = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap_or_default();
                (0..MONTH)
                    .filter(|&i| {
                        let Some(d) = first.checked_add_days(Days::new(i)) else {
                            return false;
                        };
                        next_window(day_start(d, tz), w, tz, &[])
                            .is_some_and(|t| local_date(t, tz) == d)
                    })
                    .count() as u64
            }
        };
        let sends = u64::from(limit) * days;
        for s in &c.steps {
            let Action::Email { variants, .. } = &s.action else {
                continue;
            };
            let Some(smallest) = variants.iter().min_by_key(|v| v.weight) else {
                continue;
            };
            let share = sends * u64::from(smallest.weight) / 10_000;
            if share >= need {
                continue;
            }
            let name = &cx.program.templates[smallest.template.0].name;
            let span = cx.ast_step(c, s.number).map_or(s.span, |a| a.action.span);
            let window = if c.window.is_some() {
                format!("{days} days of the window in 30")
            } else {
                "30 days".to_string()
            };
            out.push(Finding {
                file: c.file,
                span,
                message: format!(
                    "the A/B test of step {} cannot reach significance within a month",
                    s.number
                ),
                label: format!("`{name}` gets about {} sends a month", thousands(share)),
                help: format!(
                    "at most {limit} emails a day x {window} = {} sends; `{name}` gets {}% of them, {}, but telling a {:.0}% reply rate from {:.0}% takes {} per variant (two-sided test at 5%, power 80%): raise the limit{}, or plan for {} months",
                    thousands(sends),
                    crate::check::show_weight(smallest.weight),
                    thousands(share),
                    BASE_RATE * 100.0,
                    LIFTED_RATE * 100.0,
                    thousands(need),
                    if variants.iter().all(|v| v.weight == smallest.weight) {
                        ""
                    } else {
                        ", give the variants equal shares"
                    },
                    need.div_ceil(share.max(1)),
                ),
            });
        }
    }
}
