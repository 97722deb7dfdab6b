//! Cron schedules for send windows and `at "CRON"` steps.
//!
//! Accepts the standard 5-field crontab (`minute hour day-of-month month day-of-week`, where
//! 0 and 7 are Sunday and 1 is Monday), and 6/7-field forms with seconds first (and a year
//! last). Fields take `*`, `?` (day fields), numbers, names (`JAN`, `MON`), ranges `a-b`, steps
//! `*/n` `a-b/n` `a/n`, and lists `a,b`. When both day-of-month and day-of-week are restricted,
//! a day matches when either does (as in Vixie cron).
//!
//! Instants are found in a time zone: a local time that a daylight-saving change skips is taken
//! with the offset before the change (02:30 on a spring-forward night fires at 03:30), and a
//! local time that happens twice fires at its first occurrence.

use chrono::{
    DateTime, Datelike, Duration as ChronoDuration, LocalResult, NaiveDate, NaiveDateTime,
    NaiveTime, Offset, TimeZone, Timelike, Utc,
};
use chrono_tz::Tz;

/// A parsed cron expression, as bit sets.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cron {
    seconds: u64,
    minutes: u64,
    hours: u32,
    /// Bits 1..=31.
    days: u32,
    /// Bits 1..=12.
    months: u16,
    /// Bits 0..=6, Sunday = 0.
    weekdays: u8,
    days_restricted: bool,
    weekdays_restricted: bool,
    years: Option<Vec<i32>>,
    source: String,
}

/// See [`Cron::hours_shape`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HoursShape {
    /// The one minute of each hour it fires at; `None` for every minute.
    pub minute: Option<u32>,
    /// Bits 0..=23.
    pub hours: u32,
    /// Bits 0..=6, Sunday = 0.
    pub weekdays: u8,
}

/// Why a cron expression is invalid; `at..at+len` is the bad part of the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronError {
    pub message: String,
    pub at: usize,
    pub len: usize,
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

struct FieldSpec {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
    names_from: u32,
}

const SECOND: FieldSpec = FieldSpec {
    name: "second",
    min: 0,
    max: 59,
    names: &[],
    names_from: 0,
};
const MINUTE: FieldSpec = FieldSpec {
    name: "minute",
    min: 0,
    max: 59,
    names: &[],
    names_from: 0,
};
const HOUR: FieldSpec = FieldSpec {
    name: "hour",
    min: 0,
    max: 23,
    names: &[],
    names_from: 0,
};
const DAY: FieldSpec = FieldSpec {
    name: "day of month",
    min: 1,
    max: 31,
    names: &[],
    names_from: 0,
};
const MONTH: FieldSpec = FieldSpec {
    name: "month",
    min: 1,
    max: 12,
    names: &MONTHS,
    names_from: 1,
};
const WEEKDAY: FieldSpec = FieldSpec {
    name: "day of week",
    min: 0,
    max: 7,
    names: &WEEKDAYS,
    names_from: 0,
};
const YEAR: FieldSpec = FieldSpec {
    name: "year",
    min: 1970,
    max: 2199,
    names: &[],
    names_from: 0,
};

/// Parses one field into its sorted values; also says whether it was `*`/`?`.
fn parse_field(text: &str, offset: usize, spec: &FieldSpec) -> Result<(Vec<u32>, bool), CronError> {
    let err = |message: String, at: usize, len: usize| CronError { message, at, len };
    let mut values: Vec<u32> = Vec::new();
    let star = text == "*" || (text == "?" && spec.name.starts_with("day"));
    let mut pos = offset;
    for item in text.split(',') {
        let item_at = pos;
        pos += item.len() + 1;
        if item.is_empty() {
            return Err(err(
                format!("empty item in the {} field", spec.name),
                item_at,
                1,
            ));
        }
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => {
                let step: u32 = s.parse().map_err(|_| {
                    err(
                        format!("step `{s}` in the {} field is not a number", spec.name),
                        item_at,
                        item.len(),
                    )
                })?;
                if step == 0 {
                    return Err(err(
                        format!("step 0 in the {} field", spec.name),
                        item_at,
                        item.len(),
                    ));
                }
                (r, Some(step))
            }
            None => (item, None),
        };
        let value = |s: &str| -> Result<u32, CronError> {
            if let Ok(n) = s.parse::<u32>() {
                if n < spec.min || n > spec.max {
                    return Err(err(
                        format!(
                            "{} `{n}` is out of range {}-{}",
                            spec.name, spec.min, spec.max
                        ),
                        item_at,
                        item.len(),
                    ));
                }
                return Ok(n);
            }
            let upper = s.to_ascii_uppercase();
            match spec.names.iter().position(|n| *n == upper) {
                Some(i) => Ok(i as u32 + spec.names_from),
                None if s.is_empty() => Err(err(
                    format!(
                        "`{item}` is not a valid {}: a value is missing (a negative number is not a value)",
                        spec.name
                    ),
                    item_at,
                    item.len(),
                )),
                None => Err(err(
                    format!("`{s}` is not a valid {}", spec.name),
                    item_at,
                    item.len(),
                )),
            }
        };
        let any = range == "*" || (range == "?" && spec.name.starts_with("day"));
        let (lo, hi) = if any {
            (spec.min, spec.max)
        } else if let Some((a, b)) = range.split_once('-') {
            let (a, b) = (value(a)?, value(b)?);
            if a > b {
                return Err(err(
                    format!("range `{range}` in the {} field runs backwards", spec.name),
                    item_at,
                    item.len(),
                ));
            }
            (a, b)
        } else {
            let a = value(range)?;
            (a, if step.is_some() { spec.max } else { a })
        };
        let step = step.unwrap_or(1);
        let mut v = lo;
        while v <= hi {
            values.push(v);
            v += step;
        }
    }
    values.sort_unstable();
    values.dedup();
    Ok((values, star))
}

fn bits(values: &[u32]) -> u64 {
    values.iter().fold(0u64, |b, v| b | (1u64 << v))
}

/// How far ahead [`Cron::next_at_or_after`] looks before it says "never".
const HORIZON_DAYS: i64 = 366 * 8;

impl Cron {
    /// Parses a cron expression of 5, 6 or 7 fields.
    pub fn parse(text: &str) -> Result<Cron, CronError> {
        let mut fields: Vec<(&str, usize)> = Vec::new();
        let mut start = None;
        for (i, c) in text.char_indices() {
            if c.is_whitespace() {
                if let Some(s) = start.take() {
                    fields.push((&text[s..i], s));
                }
            } else if start.is_none() {
                start = Some(i);
            }
        }
        if let Some(s) = start {
            fields.push((&text[s..], s));
        }
        let specs: &[&FieldSpec] = match fields.len() {
            5 => &[&MINUTE, &HOUR, &DAY, &MONTH, &WEEKDAY],
            6 => &[&SECOND, &MINUTE, &HOUR, &DAY, &MONTH, &WEEKDAY],
            7 => &[&SECOND, &MINUTE, &HOUR, &DAY, &MONTH, &WEEKDAY, &YEAR],
            n => {
                return Err(CronError {
                    message: format!(
                        "a cron expression has 5 fields (minute hour day-of-month month day-of-week), found {n}"
                    ),
                    at: 0,
                    len: text.len(),
                })
            }
        };
        let mut cron = Cron {
            seconds: 1,
            minutes: 0,
            hours: 0,
            days: 0,
            months: 0,
            weekdays: 0,
            days_restricted: false,
            weekdays_restricted: false,
            years: None,
            source: text.trim().to_string(),
        };
        for ((field, at), spec) in fields.iter().zip(specs) {
            let (values, star) = parse_field(field, *at, spec)?;
            match spec.name {
                "second" => cron.seconds = bits(&values),
                "minute" => cron.minutes = bits(&values),
                "hour" => cron.hours = bits(&values) as u32,
                "day of month" => {
                    cron.days = bits(&values) as u32;
                    cron.days_restricted = !star;
                }
                "month" => cron.months = bits(&values) as u16,
                "day of week" => {
                    let b = bits(&values);
                    cron.weekdays = ((b & 0x7f) | ((b >> 7) & 1)) as u8;
                    cron.weekdays_restricted = !star;
                }
                _ => {
                    if !star {
                        cron.years = Some(values.iter().map(|v| *v as i32).collect());
                    }
                }
            }
        }
        Ok(cron)
    }

    /// The shape of a 5-field expression that fires at one minute of each hour, or at every
    /// minute, of some hours on some weekdays, every day of every month (`0 9-17 * * 1-5`,
    /// `* 9-16 * * *`): what a send window written as cron usually means as office hours.
    pub fn hours_shape(&self) -> Option<HoursShape> {
        const ALL_MINUTES: u64 = (1 << 60) - 1;
        const ALL_MONTHS: u16 = 0x1ffe;
        if self.source.split_whitespace().count() != 5
            || self.seconds != 1
            || self.months != ALL_MONTHS
            || self.days_restricted
            || self.years.is_some()
            || self.hours == 0
        {
            return None;
        }
        let minute = match self.minutes {
            ALL_MINUTES => None,
            m if m.count_ones() == 1 => Some(m.trailing_zeros()),
            _ => return None,
        };
        Some(HoursShape {
            minute,
            hours: self.hours,
            weekdays: if self.weekdays_restricted {
                self.weekdays
            } else {
                0x7f
            },
        })
    }

    /// The expression as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    fn day_matches(&self, date: NaiveDate) -> bool {
        if self.months & (1 << date.month()) == 0 {
            return false;
        }
        if let Some(years) = &self.years {
            if !years.contains(&date.year()) {
                return false;
            }
        }
        let dom = self.days & (1 << date.day()) != 0;
        let dow = self.weekdays & (1 << date.weekday().num_days_from_sunday()) != 0;
        match (self.days_restricted, self.weekdays_restricted) {
            (true, true) => dom || dow,
            (true, false) => dom,
            (false, true) => dow,
            (false, false) => true,
        }
    }

    /// The local times of one day at which the schedule fires, in order, from `from` on.
    fn times_from(&self, from: NaiveTime) -> impl Iterator<Item = NaiveTime> + '_ {
        let (h0, m0, s0) = (from.hour(), from.minute(), from.second());
        (h0..24)
            .filter(move |h| self.hours & (1 << h) != 0)
            .flat_map(move |h| {
                let mstart = if h == h0 { m0 } else { 0 };
                (mstart..60)
                    .filter(move |m| self.minutes & (1 << m) != 0)
                    .flat_map(move |m| {
                        let sstart = if h == h0 && m == m0 { s0 } else { 0 };
                        (sstart..60)
                            .filter(move |s| self.seconds & (1 << s) != 0)
                            .filter_map(move |s| NaiveTime::from_hms_opt(h, m, s))
                    })
            })
    }

    /// The first instant at or after `t` at which the schedule fires in zone `tz`, or `None`
    /// when it never fires within eight years (for example `0 0 30 2 *`).
    pub fn next_at_or_after(&self, t: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        let local = t.with_timezone(&tz).naive_local();
        // Start one hour early in local time so that a fall-back repeat hour is not missed.
        let mut date = (local - ChronoDuration::hours(3)).date();
        let mut first_date = date;
        let mut from = (local - ChronoDuration::hours(3)).time();
        loop {
            // A schedule limited to some years goes straight to the next of them (the eight
            // years of the horizon count from there).
            if let Some(years) = &self.years {
                if !years.contains(&date.year()) {
                    let next = years.iter().copied().filter(|y| *y > date.year()).min()?;
                    date = NaiveDate::from_ymd_opt(next, 1, 1)?;
                    first_date = date;
                    from = NaiveTime::MIN;
                    continue;
                }
            }
            if (date - first_date).num_days() > HORIZON_DAYS {
                return None;
            }
            if self.day_matches(date) {
                for time in self.times_from(from) {
                    if let Some(at) = resolve(tz, date.and_time(time)) {
                        if at >= t {
                            return Some(at);
                        }
                    }
                }
            }
            date = date.succ_opt()?;
            from = NaiveTime::MIN;
        }
    }

    /// Whether the schedule fires at all (within eight years of 2026).
    pub fn fires(&self) -> bool {
        let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single();
        start.is_some_and(|s| self.next_at_or_after(s, Tz::UTC).is_some())
    }
}

/// The UTC instant of a local time: the first of two in a fall-back hour; for a time skipped by
/// a spring-forward change, the same wall time read with the offset before the change.
pub fn resolve(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(a, _) => Some(a.with_timezone(&Utc)),
        LocalResult::None => {
            let before = tz
                .from_local_datetime(&(local - ChronoDuration::hours(3)))
                .earliest()?;
            let offset = before.offset().fix();
            Some(DateTime::<Utc>::from_naive_utc_and_offset(
                local - offset,
                Utc,
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn next(expr: &str, at: &str, tz: Tz) -> String {
        Cron::parse(expr)
            .unwrap()
            .next_at_or_after(utc(at), tz)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_else(|| "never".into())
    }

    #[test]
    fn five_field_crontab_with_sunday_as_0_and_7() {
        // 2026-01-04 is a Sunday.
        assert_eq!(
            next("0 9 * * 0", "2026-01-01T00:00:00Z", Tz::UTC),
            "2026-01-04T09:00:00Z"
        );
        assert_eq!(
            next("0 9 * * 7", "2026-01-01T00:00:00Z", Tz::UTC),
            "2026-01-04T09:00:00Z"
        );
        assert_eq!(
            next("0 9 * * 1", "2026-01-01T00:00:00Z", Tz::UTC),
            "2026-01-05T09:00:00Z"
        );
        assert_eq!(
            next("0 9 * * MON-FRI", "2026-01-03T10:00:00Z", Tz::UTC),
            "2026-01-05T09:00:00Z"
        );
    }

    #[test]
    fn at_or_after_includes_the_instant_itself() {
        assert_eq!(
            next("0 9 * * *", "2026-01-05T09:00:00Z", Tz::UTC),
            "2026-01-05T09:00:00Z"
        );
        assert_eq!(
            next("0 9 * * *", "2026-01-05T09:00:01Z", Tz::UTC),
            "2026-01-06T09:00:00Z"
        );
    }

    #[test]
    fn windows_and_steps() {
        assert_eq!(
            next("0 9-17 * * 1-5", "2026-01-05T17:30:00Z", Tz::UTC),
            "2026-01-06T09:00:00Z"
        );
        assert_eq!(
            next("*/15 8-18 * * *", "2026-01-05T08:01:00Z", Tz::UTC),
            "2026-01-05T08:15:00Z"
        );
        assert_eq!(
            next("30 0 9 * * *", "2026-01-05T08:00:00Z", Tz::UTC),
            "2026-01-05T09:00:30Z"
        );
    }

    #[test]
    fn in_a_time_zone() {
        assert_eq!(
            next(
                "0 9 * * *",
                "2026-01-05T00:00:00Z",
                chrono_tz::Asia::Shanghai
            ),
            "2026-01-05T01:00:00Z"
        );
    }

    #[test]
    fn daylight_saving_changes() {
        let ny = chrono_tz::America::New_York;
        // 2026-03-08: 02:00 -> 03:00 in New York; 02:30 does not exist.
        assert_eq!(
            next("30 2 * * *", "2026-03-08T00:00:00Z", ny),
            "2026-03-08T07:30:00Z"
        );
        // 9:00 keeps its wall time across the change: EST then EDT.
        assert_eq!(
            next("0 9 * * *", "2026-03-07T15:00:00Z", ny),
            "2026-03-08T13:00:00Z"
        );
        // 2026-11-01: 01:30 happens twice; the first is taken.
        assert_eq!(
            next("30 1 * * *", "2026-11-01T00:00:00Z", ny),
            "2026-11-01T05:30:00Z"
        );
    }

    #[test]
    fn day_of_month_or_day_of_week() {
        // 1st of the month or any Monday.
        assert_eq!(
            next("0 9 1 * 1", "2026-01-02T00:00:00Z", Tz::UTC),
            "2026-01-05T09:00:00Z"
        );
    }

    #[test]
    fn never_firing_schedules_are_detected() {
        assert!(!Cron::parse("0 0 30 2 *").unwrap().fires());
        assert!(Cron::parse("0 0 29 2 *").unwrap().fires());
    }

    #[test]
    fn errors_point_at_the_field() {
        let e = Cron::parse("0 25 * * *").unwrap_err();
        assert_eq!(e.message, "hour `25` is out of range 0-23");
        assert_eq!((e.at, e.len), (2, 2));
        assert!(Cron::parse("0 9 * *")
            .unwrap_err()
            .message
            .contains("found 4"));
        assert!(Cron::parse("0 9 * * FUN").is_err());
        assert!(Cron::parse("0 9 * * 5-1").is_err());
        assert!(Cron::parse("*/0 9 * * *").is_err());
    }

    #[test]
    fn a_year_far_ahead_is_reached_and_a_negative_value_is_named() {
        let c = Cron::parse("0 0 9 1 1 * 2035").unwrap();
        assert!(c.fires());
        let from = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
        assert_eq!(
            c.next_at_or_after(from, Tz::UTC),
            Some(Utc.with_ymd_and_hms(2035, 1, 1, 9, 0, 0).unwrap())
        );
        assert!(Cron::parse("0 0 9 1 1 * 2199").unwrap().fires());
        assert_eq!(
            Cron::parse("0 0 9 1 1 * 2020")
                .unwrap()
                .next_at_or_after(from, Tz::UTC),
            None
        );
        let e = Cron::parse("-1 9 * * *").unwrap_err();
        assert!(e.message.contains("`-1` is not a valid minute"), "{e:?}");
    }
}
