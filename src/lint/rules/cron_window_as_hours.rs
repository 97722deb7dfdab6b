//! L216: a send window written as cron that reads as office hours but does not mean them.
//!
//! `window "0 9-17 * * 1-5"` looks like 09:00 to 17:00 but opens only on the hour (an email due
//! at 10:20 waits until 11:00) and opens at 17:00 itself; `"* 9-17 * * 1-5"` sends until 17:59.
//! Both are written as hours with `window mon-fri 09:00-17:00`.

use crate::lint::{Cx, Finding};
use crate::syntax::ast::{ItemKind, WindowSpec};
use crate::time::window::{clock, day_list};
use crate::time::Cron;

/// Runs of consecutive hours in a bit set: `(first, last)`.
fn runs(hours: u32) -> Vec<(u16, u16)> {
    let mut out = Vec::new();
    let mut h = 0u16;
    while h < 24 {
        if hours & (1 << h) == 0 {
            h += 1;
            continue;
        }
        let first = h;
        while h + 1 < 24 && hours & (1 << (h + 1)) != 0 {
            h += 1;
        }
        out.push((first, h));
        h += 1;
    }
    out
}

/// The hours form a cron window stands for, and what is wrong with the cron form; `None` when
/// the cron form is not one of the common mistakes.
fn as_hours(cron: &Cron) -> Option<(String, String, String)> {
    let shape = cron.hours_shape()?;
    let runs = runs(shape.hours);
    let (ranges, label, why) = match shape.minute {
        // Every minute of hours h1..h2: 09:00-(h2+1):00, the same instants.
        None => {
            let last = runs.last()?.1;
            let ranges: Vec<String> = runs
                .iter()
                .map(|&(a, b)| format!("{}-{}", clock(a * 60), clock((b + 1) * 60)))
                .collect();
            let first = runs[0].0;
            (
                ranges,
                format!("sends until {last:02}:59"),
                format!(
                    "this cron window is every minute from {first:02}:00 to {last:02}:59, hour {last} included"
                ),
            )
        }
        // One minute of each hour: only a mistake when some run spans several hours.
        Some(m) => {
            if runs.iter().all(|(a, b)| a == b) {
                return None;
            }
            let (a, _) = runs[0];
            let ranges: Vec<String> = runs
                .iter()
                .map(|&(a, b)| {
                    // From the first instant to the last, or an hour for a single one; never
                    // past the end of the day.
                    let end = if a == b { b * 60 + 60 } else { b * 60 } + m as u16;
                    format!(
                        "{}-{}",
                        clock(a * 60 + m as u16),
                        clock(end.min(crate::time::window::DAY_MINUTES))
                    )
                })
                .collect();
            let due = clock(a * 60 + m as u16 + 1);
            let next = clock(a * 60 + m as u16 + 60);
            (
                ranges,
                "opens once an hour".to_string(),
                format!(
                    "this cron window opens only at minute {m} of each hour: an email due at {due} waits until {next}"
                ),
            )
        }
    };
    let days: Vec<usize> = (0..7).filter(|d| shape.weekdays & (1 << d) != 0).collect();
    let hours = if days.len() == 7 {
        ranges.join(", ")
    } else {
        format!("{} {}", day_list(&days), ranges.join(", "))
    };
    Some((hours, label, why))
}

pub(crate) fn check(cx: &Cx, out: &mut Vec<Finding>) {
    for c in &cx.program.cadences {
        let Some(ast) = cx.ast(c.file) else { continue };
        for item in &ast.items {
            let ItemKind::Window(WindowSpec::Cron(text)) = &item.kind else {
                continue;
            };
            let Ok(cron) = Cron::parse(&text.node) else {
                continue;
            };
            let Some((hours, label, why)) = as_hours(&cron) else {
                continue;
            };
            out.push(Finding {
                file: c.file,
                span: text.span,
                message: why,
                label,
                help: format!("write office hours: `window {hours}` (an email due inside a range goes at once; one due outside waits for the next range to open)"),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hours(cron: &str) -> Option<String> {
        as_hours(&Cron::parse(cron).unwrap()).map(|h| h.0)
    }

    #[test]
    fn the_common_mistakes_and_their_hours() {
        assert_eq!(
            hours("0 9-17 * * 1-5").as_deref(),
            Some("mon-fri 09:00-17:00")
        );
        assert_eq!(
            hours("* 9-16 * * 1-5").as_deref(),
            Some("mon-fri 09:00-17:00")
        );
        assert_eq!(hours("* 9-17 * * *").as_deref(), Some("09:00-18:00"));
        assert_eq!(
            hours("0 9-11,13-17 * * 1-6").as_deref(),
            Some("mon-sat 09:00-11:00, 13:00-17:00")
        );
        assert_eq!(
            hours("30 8-9 * * 0,6").as_deref(),
            Some("sat-sun 08:30-09:30")
        );
        // Not mistakes: one instant a day, quarter hours, days of the month.
        assert_eq!(hours("0 9 * * 1-5"), None);
        assert_eq!(hours("*/15 9-17 * * 1-5"), None);
        assert_eq!(hours("0 9-17 1 * *"), None);
        assert_eq!(hours("0 0 9-17 * * 1-5"), None);
    }
}
