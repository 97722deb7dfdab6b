//! Send windows: a cron schedule (`window "0 9-17 * * 1-5"`, a set of instants) or office hours
//! (`window mon-fri 09:00-17:00`, spans of local time per weekday).
//!
//! Hours are half-open: `09:00-17:00` holds 09:00 and 16:59:59 but not 17:00. An instant inside
//! a span is in the window as it is; one outside waits for the start of the next span. Local
//! times are read in the cadence's zone the way cron times are: a start that a spring-forward
//! change skips is read with the offset before the change, and one that happens twice is its
//! first occurrence.

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;

use super::cron::{resolve, Cron};

/// Minutes in a day; `24:00` is the end of a day.
pub const DAY_MINUTES: u16 = 24 * 60;

/// Day names as written in a window, Sunday first (the index is the weekday number of cron).
pub const DAY_NAMES: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// A cadence's send window.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Window {
    Cron(Cron),
    Hours(Hours),
}

/// Office hours: for each weekday (Sunday = 0), spans of minutes since local midnight, sorted
/// and disjoint.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Hours {
    days: [Vec<(u16, u16)>; 7],
}

impl Hours {
    /// Hours from spans per weekday (Sunday = 0). Spans are sorted here; the checker has
    /// already refused empty, reversed and overlapping ones.
    pub fn new(mut days: [Vec<(u16, u16)>; 7]) -> Hours {
        for d in &mut days {
            d.sort_unstable();
        }
        Hours { days }
    }

    /// The spans of a weekday (Sunday = 0), in minutes since midnight.
    pub fn spans(&self, weekday: usize) -> &[(u16, u16)] {
        &self.days[weekday % 7]
    }

    /// Whether any day has a span.
    pub fn opens(&self) -> bool {
        self.days.iter().any(|d| !d.is_empty())
    }

    /// The written form, grouped: `mon-fri 09:00-17:00`, `mon-thu 09:00-12:00, 13:00-17:30;
    /// fri 09:00-15:00`. Days with the same spans are joined, consecutive ones as a range.
    pub fn describe(&self) -> String {
        let order = [1, 2, 3, 4, 5, 6, 0];
        type Group<'a> = (Vec<usize>, &'a Vec<(u16, u16)>);
        let mut groups: Vec<Group> = Vec::new();
        for &d in &order {
            if self.days[d].is_empty() {
                continue;
            }
            match groups.iter_mut().find(|(_, s)| **s == self.days[d]) {
                Some(g) => g.0.push(d),
                None => groups.push((vec![d], &self.days[d])),
            }
        }
        let mut out = Vec::new();
        for (days, spans) in groups {
            let spans: Vec<String> = spans
                .iter()
                .map(|&(a, b)| format!("{}-{}", clock(a), clock(b)))
                .collect();
            out.push(format!("{} {}", day_list(&days), spans.join(", ")));
        }
        out.join("; ")
    }

    /// The first instant at or after `t` inside the hours, in zone `tz`; `None` when no day has
    /// a span.
    pub fn next_at_or_after(&self, t: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        if !self.opens() {
            return None;
        }
        let mut date = t.with_timezone(&tz).date_naive().pred_opt()?;
        // Yesterday's last span can still be open (a late span read in a zone that moved), so
        // the search starts a day early; a week and two days always reach an open day.
        for _ in 0..9 {
            let weekday = date.weekday().num_days_from_sunday() as usize;
            for &(start, end) in &self.days[weekday] {
                let (Some(open), Some(close)) = (local(tz, date, start), local(tz, date, end))
                else {
                    continue;
                };
                // A span that a daylight-saving change swallows (02:30-03:00 on a
                // spring-forward night) is not open at all.
                if open < close && t < close {
                    return Some(open.max(t));
                }
            }
            date = date.succ_opt()?;
        }
        None
    }
}

impl Hours {
    /// The end of the span that holds `t`, or `None` when `t` is outside the hours.
    pub fn span_end(&self, t: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        let mut date = t.with_timezone(&tz).date_naive().pred_opt()?;
        for _ in 0..3 {
            let weekday = date.weekday().num_days_from_sunday() as usize;
            for &(start, end) in &self.days[weekday] {
                if let (Some(open), Some(close)) = (local(tz, date, start), local(tz, date, end)) {
                    if open <= t && t < close {
                        return Some(close);
                    }
                }
            }
            date = date.succ_opt()?;
        }
        None
    }
}

impl Window {
    /// The first instant at or after `t` at which an email may go, in zone `tz` (holidays are
    /// the caller's business).
    pub fn next_at_or_after(&self, t: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        match self {
            Window::Cron(c) => c.next_at_or_after(t, tz),
            Window::Hours(h) => h.next_at_or_after(t, tz),
        }
    }

    /// The first instant after `t` at which the window is closed, for an instant `t` inside it:
    /// the end of its range, or the next second for a cron instant.
    pub fn closes_after(&self, t: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
        let next = t + chrono::Duration::seconds(1);
        match self {
            Window::Cron(_) => next,
            Window::Hours(h) => h.span_end(t, tz).unwrap_or(next),
        }
    }

    /// The window as it reads in a cadence: `"0 9-17 * * 1-5"` or `mon-fri 09:00-17:00`.
    pub fn describe(&self) -> String {
        match self {
            Window::Cron(c) => format!("\"{}\"", c.source()),
            Window::Hours(h) => h.describe(),
        }
    }
}

/// The instant of `minutes` after local midnight of `date` (`24:00` is the next midnight).
fn local(tz: Tz, date: NaiveDate, minutes: u16) -> Option<DateTime<Utc>> {
    let (date, minutes) = if minutes >= DAY_MINUTES {
        (date.succ_opt()?, minutes - DAY_MINUTES)
    } else {
        (date, minutes)
    };
    let time = NaiveTime::from_hms_opt(u32::from(minutes / 60), u32::from(minutes % 60), 0)?;
    resolve(tz, date.and_time(time))
}

/// `09:00`
pub fn clock(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// Weekdays (Sunday = 0) written Monday first, consecutive days as ranges: `mon-fri`,
/// `mon,wed`, `sat-sun`.
pub fn day_list(days: &[usize]) -> String {
    let pos = |d: usize| (d + 6) % 7; // Monday = 0
    let mut sorted: Vec<usize> = days.iter().map(|&d| pos(d)).collect();
    sorted.sort_unstable();
    sorted.dedup();
    let name = |p: usize| DAY_NAMES[(p + 1) % 7];
    let mut parts = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i;
        while j + 1 < sorted.len() && sorted[j + 1] == sorted[j] + 1 {
            j += 1;
        }
        if j > i {
            parts.push(format!("{}-{}", name(sorted[i]), name(sorted[j])));
        } else {
            parts.push(name(sorted[i]).to_string());
        }
        i = j + 1;
    }
    parts.join(",")
}

/// The weekday (Sunday = 0) a day name stands for: `mon`, `Monday`, `MON`.
pub fn parse_day(word: &str) -> Option<usize> {
    let w = word.to_ascii_lowercase();
    const FULL: [&str; 7] = [
        "sunday",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
    ];
    DAY_NAMES
        .iter()
        .position(|d| *d == w)
        .or_else(|| FULL.iter().position(|d| *d == w))
}

/// Minutes since midnight of a written clock time: `9:00`, `09:00`, `24:00`; `None` for
/// anything else (`9`, `25:00`, `09:60`, `24:01`).
pub fn parse_clock(text: &str) -> Option<u16> {
    let (h, m) = text.split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    let h: u16 = h.parse().ok()?;
    let m: u16 = m.parse().ok()?;
    if m > 59 || h > 24 || (h == 24 && m > 0) {
        return None;
    }
    Some(h * 60 + m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn office() -> Hours {
        let mut days: [Vec<(u16, u16)>; 7] = Default::default();
        for d in &mut days[1..=4] {
            d.extend([(9 * 60, 12 * 60), (13 * 60, 17 * 60 + 30)]);
        }
        days[5].push((9 * 60, 15 * 60));
        Hours::new(days)
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn next(h: &Hours, s: &str, tz: Tz) -> String {
        h.next_at_or_after(at(s), tz)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_default()
    }

    #[test]
    fn inside_a_span_is_at_once_outside_waits_for_the_next_start() {
        let h = office();
        // Monday 5 January 2026.
        assert_eq!(
            next(&h, "2026-01-05T10:20:00Z", Tz::UTC),
            "2026-01-05T10:20:00Z"
        );
        assert_eq!(
            next(&h, "2026-01-05T07:40:00Z", Tz::UTC),
            "2026-01-05T09:00:00Z"
        );
        assert_eq!(
            next(&h, "2026-01-05T12:00:00Z", Tz::UTC),
            "2026-01-05T13:00:00Z"
        );
        assert_eq!(
            next(&h, "2026-01-05T17:29:59Z", Tz::UTC),
            "2026-01-05T17:29:59Z"
        );
        // The end is not in the span.
        assert_eq!(
            next(&h, "2026-01-05T17:30:00Z", Tz::UTC),
            "2026-01-06T09:00:00Z"
        );
        // Friday closes at 15:00 and the weekend is shut.
        assert_eq!(
            next(&h, "2026-01-09T15:00:00Z", Tz::UTC),
            "2026-01-12T09:00:00Z"
        );
        assert_eq!(
            next(&h, "2026-01-10T11:00:00Z", Tz::UTC),
            "2026-01-12T09:00:00Z"
        );
        assert_eq!(
            h.span_end(at("2026-01-05T12:30:00Z"), Tz::UTC),
            None,
            "closed at lunch"
        );
        assert_eq!(
            h.span_end(at("2026-01-05T13:00:00Z"), Tz::UTC),
            Some(at("2026-01-05T17:30:00Z"))
        );
    }

    #[test]
    fn hours_are_local_to_the_zone() {
        let h = office();
        // 07:40 UTC is 08:40 in Berlin in winter: wait for 09:00 Berlin, 08:00 UTC.
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        assert_eq!(
            next(&h, "2026-01-05T07:40:00Z", berlin),
            "2026-01-05T08:00:00Z"
        );
        // 23:30 UTC on Sunday is already Monday 07:30 in Shanghai.
        let shanghai: Tz = "Asia/Shanghai".parse().unwrap();
        assert_eq!(
            next(&h, "2026-01-04T23:30:00Z", shanghai),
            "2026-01-05T01:00:00Z"
        );
    }

    #[test]
    fn a_span_to_midnight_and_daylight_saving() {
        let mut days: [Vec<(u16, u16)>; 7] = Default::default();
        days[0].push((2 * 60 + 30, DAY_MINUTES));
        let h = Hours::new(days);
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        // Sunday 29 March 2026: 02:30 does not exist in Berlin; it is read as 02:30 CET (01:30Z).
        assert_eq!(
            next(&h, "2026-03-28T12:00:00Z", berlin),
            "2026-03-29T01:30:00Z"
        );
        // 23:59 Sunday local is inside; midnight is the end.
        assert_eq!(
            next(&h, "2026-03-29T21:59:00Z", berlin),
            "2026-03-29T21:59:00Z"
        );
        assert_eq!(
            next(&h, "2026-03-29T22:00:00Z", berlin),
            "2026-04-05T00:30:00Z"
        );
    }

    #[test]
    fn written_forms() {
        assert_eq!(
            office().describe(),
            "mon-thu 09:00-12:00, 13:00-17:30; fri 09:00-15:00"
        );
        assert_eq!(day_list(&[6, 0]), "sat-sun");
        assert_eq!(day_list(&[1, 3]), "mon,wed");
        assert_eq!(day_list(&[1, 2]), "mon-tue");
        assert_eq!(parse_clock("9:05"), Some(9 * 60 + 5));
        assert_eq!(parse_clock("24:00"), Some(DAY_MINUTES));
        for bad in ["9", "25:00", "09:60", "24:01", "9:5", ":30", "093:00"] {
            assert_eq!(parse_clock(bad), None, "{bad}");
        }
        assert_eq!(parse_day("Monday"), Some(1));
        assert_eq!(parse_day("SUN"), Some(0));
        assert_eq!(parse_day("mo"), None);
        let t = Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0).unwrap();
        assert!(Hours::new(Default::default())
            .next_at_or_after(t, Tz::UTC)
            .is_none());
    }

    mod props {
        use super::super::*;
        use proptest::prelude::*;

        fn hours() -> impl Strategy<Value = Hours> {
            // Per weekday, up to three disjoint spans on a quarter-hour grid.
            proptest::collection::vec(proptest::collection::btree_set(0u16..=96, 0..6), 7).prop_map(
                |days| {
                    let mut out: [Vec<(u16, u16)>; 7] = Default::default();
                    for (d, marks) in days.into_iter().enumerate() {
                        let marks: Vec<u16> = marks.into_iter().map(|m| m * 15).collect();
                        for pair in marks.chunks(2) {
                            if let [a, b] = pair {
                                out[d].push((*a, *b));
                            }
                        }
                    }
                    Hours::new(out)
                },
            )
        }

        fn zone() -> impl Strategy<Value = Tz> {
            prop_oneof![
                Just(Tz::UTC),
                Just(chrono_tz::Europe::Berlin),
                Just(chrono_tz::America::New_York),
                Just(chrono_tz::Asia::Kolkata),
                Just(chrono_tz::Australia::Lord_Howe),
                Just(chrono_tz::America::Havana),
            ]
        }

        /// Whether `t` is inside one of the spans, read on its local day or the day before.
        fn inside(h: &Hours, t: DateTime<Utc>, tz: Tz) -> bool {
            let day = t.with_timezone(&tz).date_naive();
            [day.pred_opt().unwrap(), day].into_iter().any(|d| {
                let w = d.weekday().num_days_from_sunday() as usize;
                h.spans(w)
                    .iter()
                    .any(|&(a, b)| match (local(tz, d, a), local(tz, d, b)) {
                        (Some(o), Some(c)) => o < c && o <= t && t < c,
                        _ => false,
                    })
            })
        }

        proptest! {
            #[test]
            fn the_next_open_instant_is_inside_the_hours_and_none_is_skipped(
                h in hours(),
                tz in zone(),
                secs in 1_767_225_600i64..1_830_297_600i64,
            ) {
                let t = DateTime::from_timestamp(secs, 0).unwrap();
                match h.next_at_or_after(t, tz) {
                    Some(open) => {
                        prop_assert!(open >= t);
                        prop_assert!(inside(&h, open, tz), "{open} is not inside the hours");
                        // Nothing in between is open: sample every quarter hour.
                        let mut x = t;
                        while x < open {
                            prop_assert!(!inside(&h, x, tz), "{x} is open before {open}");
                            x += chrono::Duration::minutes(15);
                        }
                        if open == t {
                            prop_assert!(h.span_end(t, tz).is_some_and(|e| e > t));
                        }
                    }
                    None => prop_assert!(!h.opens()),
                }
            }
        }
    }
}
