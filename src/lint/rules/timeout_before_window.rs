//! L209: an email timeout shorter than the longest time the send window stays closed.

use chrono::TimeZone;

use crate::check::{Channel, HandlerEvent, Zone};
use crate::lint::{Cx, Finding};
use crate::time::Duration;

/// The longest time the window stays closed over two months, in seconds: between two cron
/// instants, or from the end of one range of hours to the start of the next.
fn longest_gap(c: &crate::check::Cadence) -> Option<i64> {
    let window = c.window.as_ref()?;
    let tz = match c.zone {
        Zone::Fixed(tz) => tz,
        Zone::Field { default, .. } => default,
    };
    let start = chrono::Utc.with_ymd_and_hms(2026, 1, 5, 0, 0, 0).single()?;
    let horizon = chrono::Duration::days(62);
    let end = start + horizon;
    let mut t = start;
    let mut prev: Option<i64> = None;
    let mut gap = 0;
    let mut seen = 0;
    while t < end {
        let Some(next) = window.next_at_or_after(t, tz) else {
            break;
        };
        if next >= end {
            break;
        }
        if let Some(p) = prev {
            gap = gap.max(next.timestamp() - p);
        }
        seen += 1;
        t = window.closes_after(next, tz);
        prev = Some(match window {
            crate::time::Window::Cron(_) => next.timestamp(),
            crate::time::Window::Hours(_) => t.timestamp(),
        });
    }
    if seen < 2 {
        // Opens at most once in two months: closed for longer than any timeout.
        gap = horizon.num_seconds();
    }
    Some(gap)
}

pub(crate) fn check(cx: &Cx, out: &mut Vec<Finding>) {
    for c in &cx.program.cadences {
        let Some(gap) = longest_gap(c) else { continue };
        for s in c
            .steps
            .iter()
            .filter(|s| s.action.channel() == Channel::Email)
        {
            for h in &s.handlers {
                let HandlerEvent::Timeout(t, d) = h.event else {
                    continue;
                };
                if d.business_days > 0 || d.seconds >= gap {
                    continue;
                }
                out.push(Finding {
                    file: c.file,
                    span: h.span,
                    message: format!(
                        "`{} {d}` can fire while the send window is closed: it closes for up to {}",
                        t.name(),
                        Duration::from_seconds(gap)
                    ),
                    label: "fires before the email can be read".into(),
                    help: format!(
                        "count in business days (`{} {}bd`) or wait at least {}",
                        t.name(),
                        (d.seconds / 86_400).max(1),
                        Duration::from_seconds(gap)
                    ),
                });
            }
        }
    }
}
