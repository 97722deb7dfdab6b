//! Reading contacts and events from CSV, typed by the schema. A bad row is reported with its
//! line number and skipped; the rest still loads.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::Read;
use std::rc::Rc;
use std::str::FromStr;

use chrono_tz::Tz;

use crate::check::{DateValue, Program, Type, Value};
use crate::engine::{Catalog, ContactId, EventKey, Input};
use crate::store::ContactRecord;
use crate::syntax::closest;
use crate::time::parse_date;

/// A row that was not loaded, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct BadRow {
    pub line: u64,
    pub message: String,
}

/// Parses one CSV cell as a value of type `ty`; an empty cell is unset.
pub fn parse_value(ty: &Type, text: &str) -> Result<Option<Value>, String> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let v = match ty {
        Type::Text | Type::Phone => Value::Text(t.to_string()),
        Type::Email => {
            if let Some(why) = crate::mail::address::addr_spec_problem(t) {
                return Err(format!("\"{t}\" is not an email address: {why}"));
            }
            Value::Text(t.to_string())
        }
        Type::Tz => {
            if Tz::from_str(t).is_err() {
                return Err(format!(
                    "\"{t}\" is not an IANA time zone (like \"Europe/London\")"
                ));
            }
            Value::Text(t.to_string())
        }
        Type::Enum(values) => {
            if !values.iter().any(|v| v == t) {
                let list: Vec<String> = values.iter().map(|v| format!("\"{v}\"")).collect();
                return Err(format!("\"{t}\" is not one of {}", list.join(", ")));
            }
            Value::Text(t.to_string())
        }
        Type::Number => Value::Number(
            t.parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .ok_or_else(|| format!("\"{t}\" is not a number"))?,
        ),
        Type::Bool => Value::Bool(match t.to_ascii_lowercase().as_str() {
            "true" | "yes" | "y" | "1" => true,
            "false" | "no" | "n" | "0" => false,
            _ => return Err(format!("\"{t}\" is not true or false")),
        }),
        Type::Date => Value::Date(parse_date(t).map_err(|_| {
            format!("\"{t}\" is not a date (write 2026-01-05 or 2026-01-05T09:00:00Z)")
        })?),
    };
    Ok(Some(v))
}

/// Contacts read from CSV.
#[derive(Debug, Default)]
pub struct LoadedContacts {
    pub records: Vec<ContactRecord>,
    /// The columns that name fields (an empty cell in one of them is an unset field).
    pub columns: Vec<String>,
    pub bad: Vec<BadRow>,
    /// Problems that do not reject a row (an unknown column).
    pub warnings: Vec<String>,
}

/// Remembers where the lines of what it reads end, so that a record's byte offset gives its
/// line number whatever the line endings (`\n`, `\r\n`, or a lone `\r`).
struct Lines<R> {
    inner: R,
    read: u64,
    ends: Rc<RefCell<Vec<u64>>>,
    /// The last byte read was a `\r` (its line ended, unless a `\n` follows).
    after_cr: bool,
}

impl<R: Read> Read for Lines<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut ends = self.ends.borrow_mut();
        for (i, b) in buf[..n].iter().enumerate() {
            let at = self.read + i as u64;
            if self.after_cr && *b != b'\n' {
                ends.push(at - 1);
            }
            if *b == b'\n' {
                ends.push(at);
            }
            self.after_cr = *b == b'\r';
        }
        self.read += n as u64;
        Ok(n)
    }
}

/// What is wrong with the shape of a row: a quote never closed (the lines after it were read
/// into the row), or more values than the header has columns, or fewer unless `short_ok` (an
/// events file, whose columns after `at,contact,event` are optional, may leave trailing cells
/// out; they are empty).
fn shape_problem(row: &csv::StringRecord, columns: usize, short_ok: bool) -> Option<String> {
    if row.len() == columns {
        return None;
    }
    if row.iter().any(|f| f.contains(['\n', '\r'])) {
        return Some(
            "a quote opened on this line is never closed, so the lines after it were read into this row; close the quote (a quote inside a value is written twice: \"\")"
                .into(),
        );
    }
    if short_ok && row.len() < columns {
        return None;
    }
    Some(format!(
        "{} where the header has {columns}; the row is skipped",
        match row.len() {
            1 => "1 value".to_string(),
            n => format!("{n} values"),
        }
    ))
}

/// The 1-based line of a byte offset.
fn line_of(ends: &RefCell<Vec<u64>>, byte: u64) -> u64 {
    let ends = ends.borrow();
    // With `\r\n` endings a record may be reported as starting at the `\n` that ends the
    // line before it: that newline counts too.
    ends.partition_point(|&e| e <= byte) as u64 + 1
}

fn reader<R: Read>(r: R) -> (csv::Reader<Lines<R>>, Rc<RefCell<Vec<u64>>>) {
    let ends = Rc::new(RefCell::new(Vec::new()));
    let rd = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::Headers)
        .from_reader(Lines {
            inner: r,
            read: 0,
            ends: ends.clone(),
            after_cr: false,
        });
    (rd, ends)
}

/// Reads `id,field,...`; values are typed by the fields of the cadences.
pub fn read_contacts<R: Read>(r: R, catalog: &Catalog) -> Result<LoadedContacts, String> {
    let mut records = Vec::new();
    let mut loaded = read_contacts_into(r, catalog, &mut |_, rec| {
        records.push(rec);
        Ok(())
    })?;
    loaded.records = records;
    Ok(loaded)
}

/// Reads `id,field,...` and hands each good record to `sink`, with its line, as soon as it is
/// read (the returned [`LoadedContacts`] then holds no records).
pub fn read_contacts_into<R: Read>(
    r: R,
    catalog: &Catalog,
    sink: &mut dyn FnMut(u64, ContactRecord) -> Result<(), String>,
) -> Result<LoadedContacts, String> {
    let (mut rd, ends) = reader(r);
    let headers = rd
        .headers()
        .map_err(|e| format!("cannot read the header row: {e}"))?
        .clone();
    if headers.iter().all(|h| h.trim().is_empty()) {
        return Ok(LoadedContacts {
            warnings: vec!["the file is empty: no contacts".into()],
            ..LoadedContacts::default()
        });
    }
    let id_col = headers
        .iter()
        .position(|h| h.eq_ignore_ascii_case("id"))
        .ok_or("the header row has no `id` column")?;
    let mut out = LoadedContacts::default();
    let mut cols: Vec<(usize, String, Type)> = Vec::new();
    let mut unknown = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        if i == id_col {
            continue;
        }
        match catalog.lookup(h) {
            Some(g) => cols.push((i, h.to_string(), catalog.types[g as usize].clone())),
            None => unknown.push(format!("`{h}`")),
        }
    }
    out.columns = cols.iter().map(|(_, n, _)| n.clone()).collect();
    if !unknown.is_empty() {
        let shown: Vec<&str> = unknown.iter().take(5).map(String::as_str).collect();
        let more = if unknown.len() > 5 {
            format!(" and {} more", unknown.len() - 5)
        } else {
            String::new()
        };
        let count = if unknown.len() == 1 {
            "1 column".to_string()
        } else {
            format!("{} columns", unknown.len())
        };
        out.warnings.push(format!(
            "ignoring {count} that no cadence given declares: {}{more}",
            shown.join(", ")
        ));
    }
    let mut seen = std::collections::HashSet::new();
    let mut row = csv::StringRecord::new();
    loop {
        match rd.read_record(&mut row) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                let line = e.position().map_or(0, |p| line_of(&ends, p.byte()));
                out.bad.push(BadRow {
                    line,
                    message: format!("unreadable row: {e}"),
                });
                continue;
            }
        }
        let line = row.position().map_or(0, |p| line_of(&ends, p.byte()));
        if let Some(message) = shape_problem(&row, headers.len(), false) {
            out.bad.push(BadRow { line, message });
            continue;
        }
        let id = row.get(id_col).unwrap_or("").trim().to_string();
        if id.is_empty() {
            out.bad.push(BadRow {
                line,
                message: "the row has no id".into(),
            });
            continue;
        }
        if !seen.insert(id.clone()) {
            out.bad.push(BadRow {
                line,
                message: format!("contact `{id}` appears twice; the first row is kept"),
            });
            continue;
        }
        let mut rec = ContactRecord {
            id: id.clone(),
            fields: BTreeMap::new(),
        };
        let mut errors = Vec::new();
        for (i, name, ty) in &cols {
            match parse_value(ty, row.get(*i).unwrap_or("")) {
                Ok(Some(v)) => {
                    rec.fields.insert(name.clone(), v);
                }
                Ok(None) => {}
                Err(e) => errors.push(format!("field `{name}`: {e}")),
            }
        }
        if errors.is_empty() {
            rec.fields.insert("id".into(), Value::Text(id));
            sink(line, rec)?;
        } else {
            out.bad.push(BadRow {
                line,
                message: format!("contact `{id}`: {}", errors.join("; ")),
            });
        }
    }
    Ok(out)
}

/// One input read from the events file.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRow {
    pub line: u64,
    pub at: i64,
    pub input: Input,
}

/// Marks an input as made by a machine (`machine` is `true`): only an `opened` or a
/// `clicked` can be.
pub fn mark_machine(input: &mut Input, machine: bool) -> Result<(), String> {
    if !machine {
        return Ok(());
    }
    match input {
        Input::Event {
            event: EventKey::Outcome(crate::check::Outcome::Opened | crate::check::Outcome::Clicked),
            machine: m,
            ..
        } => {
            *m = true;
            Ok(())
        }
        _ => Err("only an `opened` or a `clicked` can be made by a machine".into()),
    }
}

/// A `machine` cell: `true`/`false` (also `yes`/`no`, `1`/`0`), empty for false.
pub fn parse_machine(cell: &str) -> Result<bool, String> {
    match cell.to_ascii_lowercase().as_str() {
        "" | "false" | "no" | "0" => Ok(false),
        "true" | "yes" | "1" => Ok(true),
        _ => Err(format!("`machine` is `{cell}`; write true or false")),
    }
}

/// Reads `at,contact,event[,step,field,value,cadence,machine]`.
pub fn read_events<R: Read>(
    r: R,
    program: &Program,
    catalog: &Catalog,
    contact: &dyn Fn(&str) -> Option<ContactId>,
) -> Result<(Vec<EventRow>, Vec<BadRow>), String> {
    let (mut rd, ends) = reader(r);
    let headers = rd
        .headers()
        .map_err(|e| format!("cannot read the header row: {e}"))?
        .clone();
    if headers.iter().all(|h| h.trim().is_empty()) {
        return Ok((Vec::new(), Vec::new()));
    }
    let col = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let need = |name: &str| {
        col(name).ok_or_else(|| format!("the header row has no `{name}` column (expected at,contact,event[,step,field,value,cadence])"))
    };
    let (c_at, c_contact, c_event) = (need("at")?, need("contact")?, need("event")?);
    let (c_step, c_field, c_value, c_cadence, c_machine) = (
        col("step"),
        col("field"),
        col("value"),
        col("cadence"),
        col("machine"),
    );
    let mut rows = Vec::new();
    let mut bad = Vec::new();
    let mut row = csv::StringRecord::new();
    loop {
        match rd.read_record(&mut row) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                bad.push(BadRow {
                    line: e.position().map_or(0, |p| line_of(&ends, p.byte())),
                    message: format!("unreadable row: {e}"),
                });
                continue;
            }
        }
        let line = row.position().map_or(0, |p| line_of(&ends, p.byte()));
        if let Some(message) = shape_problem(&row, headers.len(), true) {
            bad.push(BadRow { line, message });
            continue;
        }
        let cell = |c: Option<usize>| c.and_then(|c| row.get(c)).unwrap_or("").trim();
        match event_row(
            program,
            catalog,
            contact,
            cell(Some(c_at)),
            cell(Some(c_contact)),
            cell(Some(c_event)),
            cell(c_step),
            cell(c_field),
            cell(c_value),
            cell(c_cadence),
        )
        .and_then(|(at, mut input)| {
            mark_machine(&mut input, parse_machine(cell(c_machine))?)?;
            Ok((at, input))
        }) {
            Ok((at, input)) => rows.push(EventRow { line, at, input }),
            Err(message) => bad.push(BadRow { line, message }),
        }
    }
    Ok((rows, bad))
}

#[allow(clippy::too_many_arguments)]
fn event_row(
    program: &Program,
    catalog: &Catalog,
    contact: &dyn Fn(&str) -> Option<ContactId>,
    at: &str,
    who: &str,
    event: &str,
    step: &str,
    field: &str,
    value: &str,
    cadence: &str,
) -> Result<(i64, Input), String> {
    let at = match parse_date(at) {
        Ok(DateValue::Instant(t)) => t.timestamp(),
        Ok(DateValue::Day(_)) => {
            return Err(format!(
                "`at` must be an RFC 3339 instant like {at}T09:00:00Z, not a day"
            ))
        }
        Err(_) if at.is_empty() => return Err("`at` is empty".into()),
        Err(_) => {
            return Err(format!(
                "`at` \"{at}\" is not an RFC 3339 instant (like 2026-01-05T09:00:00Z)"
            ))
        }
    };
    let cid = contact(who).ok_or_else(|| {
        if who.is_empty() {
            "`contact` is empty".to_string()
        } else {
            format!("unknown contact `{who}` (not in the contacts file)")
        }
    })?;
    Ok((
        at,
        event_input(program, catalog, cid, event, step, field, value, cadence)?,
    ))
}

/// The day an out-of-office answer says the contact is back: a day (`2026-03-12`), or the
/// day of an instant.
pub fn back_date(text: &str) -> Option<chrono::NaiveDate> {
    match crate::time::parse_date(text).ok()? {
        DateValue::Day(d) => Some(d),
        DateValue::Instant(t) => Some(t.date_naive()),
    }
}

/// The `value` of a `pause` or `resume` row: an RFC 3339 instant (`pause` only: when it
/// resumes by itself) and the word `catch-up`, in any order, separated by spaces.
pub fn parse_pause(value: &str) -> Result<(Option<i64>, bool), String> {
    let mut until = None;
    let mut catch_up = false;
    for word in value.split_whitespace() {
        if word.eq_ignore_ascii_case("catch-up") {
            catch_up = true;
            continue;
        }
        match crate::time::parse_date(word) {
            Ok(crate::check::DateValue::Instant(t)) if until.is_none() => {
                until = Some(t.timestamp())
            }
            _ => {
                return Err(format!(
                    "`value` \"{value}\" of a pause is not an RFC 3339 instant (when it resumes) and `catch-up`"
                ))
            }
        }
    }
    Ok((until, catch_up))
}

/// The `value` of a `pause` or `resume` row (see [`parse_pause`]).
pub fn pause_value(until: Option<i64>, catch_up: bool) -> Option<String> {
    let mut words: Vec<String> = until
        .map(crate::engine::format_instant)
        .into_iter()
        .collect();
    if catch_up {
        words.push("catch-up".into());
    }
    (!words.is_empty()).then(|| words.join(" "))
}

/// The input an events row names for contact `cid`: `event` is an outcome, a declared custom
/// event, `enroll`, `unenroll`, `set` (with `field` and `value`), `pause` or `resume` (with
/// `value`, see [`parse_pause`]); `step` and `cadence` are optional (empty).
#[allow(clippy::too_many_arguments)]
pub fn event_input(
    program: &Program,
    catalog: &Catalog,
    cid: ContactId,
    event: &str,
    step: &str,
    field: &str,
    value: &str,
    cadence: &str,
) -> Result<Input, String> {
    let cad = if cadence.is_empty() {
        None
    } else {
        Some(program.cadence_by_name(cadence).ok_or_else(|| {
            let names: Vec<String> = program
                .cadences
                .iter()
                .map(|c| format!("\"{}\"", c.name))
                .collect();
            format!(
                "unknown cadence \"{cadence}\"; the cadences are {}",
                names.join(", ")
            )
        })? as u32)
    };
    let step_no = if step.is_empty() {
        None
    } else {
        let n: u32 = step
            .parse()
            .map_err(|_| format!("`step` \"{step}\" is not a step number"))?;
        let exists = program
            .cadences
            .iter()
            .enumerate()
            .filter(|(i, _)| cad.is_none_or(|c| c as usize == *i))
            .any(|(_, c)| c.step_index(n).is_some());
        if !exists {
            return Err(format!(
                "there is no step {n}{}",
                match cad {
                    Some(c) => format!(" in \"{}\"", program.cadences[c as usize].name),
                    None => String::new(),
                }
            ));
        }
        Some(n)
    };
    let input = match event {
        "enroll" => Input::Enroll {
            contact: cid,
            cadence: cad,
        },
        "unenroll" => Input::Unenroll {
            contact: cid,
            cadence: cad,
        },
        "pause" | "resume" => {
            let (until, catch_up) = parse_pause(value)?;
            if event == "pause" {
                Input::Pause {
                    contact: cid,
                    cadence: cad,
                    until,
                    catch_up,
                }
            } else if until.is_some() {
                return Err("`resume` takes no time: it resumes at the row's time; `value` may say `catch-up`".into());
            } else {
                Input::Resume {
                    contact: cid,
                    cadence: cad,
                    catch_up,
                }
            }
        }
        "set" => {
            if field.is_empty() {
                return Err("`set` needs a `field` column naming the field".into());
            }
            let gid = catalog.lookup(field).ok_or_else(|| {
                match closest(field, catalog.names.iter().map(String::as_str)) {
                    Some(c) => format!("unknown field `{field}`; did you mean `{c}`?"),
                    None => format!("unknown field `{field}`"),
                }
            })?;
            let v = parse_value(&catalog.types[gid as usize], value)
                .map_err(|e| format!("field `{field}`: {e}"))?;
            Input::Set {
                contact: cid,
                field: gid,
                value: v,
            }
        }
        "" => return Err("`event` is empty".into()),
        name => {
            let key = if let Some(o) = crate::check::Outcome::from_name(name) {
                if let Some(n) = step_no {
                    let fits = program
                        .cadences
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| cad.is_none_or(|c| c as usize == *i))
                        .filter_map(|(_, c)| c.step_index(n).map(|s| &c.steps[s]))
                        .any(|s| o.fits(s.action.channel()));
                    if !fits {
                        return Err(format!("step {n} is not a step that can have `{name}`"));
                    }
                }
                EventKey::Outcome(o)
            } else if let Some(i) = program.custom_events.iter().position(|e| e == name) {
                EventKey::Custom(i as u32)
            } else if crate::check::Timeout::from_name(name).is_some() {
                return Err(format!("`{name}` is a timeout: the engine fires it itself when nothing happens; it is not an input"));
            } else {
                let known: Vec<&str> = crate::check::Outcome::ALL
                    .iter()
                    .map(|o| o.name())
                    .chain(program.custom_events.iter().map(String::as_str))
                    .chain(["enroll", "unenroll", "set", "pause", "resume"])
                    .collect();
                return Err(match closest(name, known.iter().copied()) {
                    Some(c) => format!("unknown event `{name}`; did you mean `{c}`?"),
                    None => format!("unknown event `{name}`; events are outcomes ({}), declared custom events, enroll, unenroll, set, pause or resume", crate::check::Outcome::ALL.map(|o| o.name()).join(", ")),
                });
            };
            let back = match (key, value.trim()) {
                (_, "") => None,
                (EventKey::Outcome(crate::check::Outcome::AutoReply), v) => {
                    Some(back_date(v).ok_or_else(|| {
                        format!("`value` \"{v}\" of an `auto_reply` is not the day the contact is back (2026-03-12)")
                    })?)
                }
                _ => None,
            };
            Input::Event {
                contact: cid,
                event: key,
                step: step_no,
                cadence: cad,
                machine: false,
                message: None,
                back,
            }
        }
    };
    Ok(input)
}
