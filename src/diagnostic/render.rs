//! Emitters: the graphical report for people (miette) and JSON for tools.

use std::fmt;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};
use serde_json::{json, Value};

use super::{Diagnostic, Severity};
use crate::syntax::Sources;

/// How to draw the human report.
#[derive(Debug, Clone, Copy)]
pub struct HumanStyle {
    pub width: usize,
    pub color: bool,
}

impl HumanStyle {
    /// Fixed width, no colour: what tests and pipes get.
    pub fn plain() -> HumanStyle {
        HumanStyle {
            width: 80,
            color: false,
        }
    }
}

struct Report<'a> {
    diag: &'a Diagnostic,
    source: NamedSource<String>,
    labels: Vec<LabeledSpan>,
    others: Vec<String>,
}

impl fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diag.message)
    }
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.diag.code, self.diag.message)
    }
}

impl std::error::Error for Report<'_> {}

impl miette::Diagnostic for Report<'_> {
    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diag.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        let mut parts: Vec<String> = self.diag.help.iter().cloned().collect();
        parts.extend(self.others.iter().cloned());
        if parts.is_empty() {
            None
        } else {
            Some(Box::new(parts.join("\n")))
        }
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(self.labels.iter().cloned()))
    }
}

/// Renders one diagnostic as rustc-like text with the source snippet.
pub fn render_human(diag: &Diagnostic, sources: &Sources, style: HumanStyle) -> String {
    let file = diag.file();
    let src = sources.get(file);
    // Spans in the text shown: long lines are cut down to a window around their labels.
    let own: Vec<(usize, usize)> = diag
        .labels
        .iter()
        .filter(|l| l.file == file)
        .map(|l| {
            let start = l.span.start.min(src.text.len());
            (start, l.span.len().min(src.text.len() - start))
        })
        .collect();
    let (shown_text, shown_spans) = crop_long_lines(&src.text, &own);
    let mut shown = shown_spans.into_iter();
    let mut labels = Vec::new();
    let mut others = Vec::new();
    for (i, label) in diag.labels.iter().enumerate() {
        if label.file == file {
            let (start, len) = shown.next().unwrap_or((0, 0));
            let text = if label.message.is_empty() {
                None
            } else {
                Some(label.message.clone())
            };
            let span = SourceSpan::new(start.into(), len);
            labels.push(if i == 0 {
                LabeledSpan::new_primary_with_span(text, span)
            } else {
                LabeledSpan::new_with_span(text, span)
            });
        } else {
            let other = sources.get(label.file);
            let (line, col) = other.line_col(label.span.start);
            others.push(format!("{}:{line}:{col}: {}", other.name, label.message));
        }
    }
    let cropped = shown_text.len() != src.text.len();
    let report = Report {
        diag,
        source: NamedSource::new(src.name.clone(), shown_text.clone()),
        labels,
        others,
    };
    let theme = if style.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(style.width)
        .with_links(false);
    let mut out = String::new();
    let rendered = handler.render_report(&mut out, &report).is_ok();
    if rendered && cropped {
        // The header names the position in the file, not in the cut-down line.
        if let Some(&(start, _)) = own.first() {
            let (line, col) = src.line_col(start);
            let head = format!("[{}:{line}:", src.name);
            if let Some(i) = out.find(&head) {
                let from = i + head.len();
                if let Some(len) = out[from..].find(']') {
                    out.replace_range(from..from + len, &col.to_string());
                }
            }
        }
    }
    if !rendered {
        let (line, col) = src.line_col(diag.span().start);
        out = format!(
            "{}[{}]: {}\n  --> {}:{line}:{col}\n",
            diag.severity.as_str(),
            diag.code,
            diag.message,
            src.name
        );
    }
    out
}

/// The JSON object of one diagnostic: `code severity file line column message` (1-based),
/// plus `end_line`, `end_column` and `help`.
pub fn to_json_value(diag: &Diagnostic, sources: &Sources) -> Value {
    let src = sources.get(diag.file());
    let (line, column) = src.line_col(diag.span().start);
    let (end_line, end_column) = src.line_col(diag.span().end);
    let mut v = json!({
        "code": diag.code,
        "severity": diag.severity.as_str(),
        "file": src.name,
        "line": line,
        "column": column,
        "end_line": end_line,
        "end_column": end_column,
        "message": diag.message,
    });
    if let Some(help) = &diag.help {
        v["help"] = Value::String(help.clone());
    }
    v
}

/// A JSON array of diagnostics, pretty-printed, ending with a newline.
pub fn render_json(diags: &[Diagnostic], sources: &Sources) -> String {
    let arr: Vec<Value> = diags.iter().map(|d| to_json_value(d, sources)).collect();
    let mut s = serde_json::to_string_pretty(&Value::Array(arr)).unwrap_or_else(|_| "[]".into());
    s.push('\n');
    s
}

/// A rule as SARIF describes it in `tool.driver.rules`.
#[derive(Debug, Clone)]
pub struct SarifRule {
    pub id: String,
    pub name: String,
    pub summary: String,
    pub level: Severity,
    pub help: String,
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// A relative file path as a URI reference (RFC 3986): separators as `/`, unsafe bytes
/// percent-encoded.
fn uri(path: &str) -> String {
    let mut out = String::new();
    for b in path.replace('\\', "/").bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/:".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// SARIF 2.1.0: one run, the rules described in `tool.driver.rules`, one result per finding.
pub fn render_sarif(diags: &[Diagnostic], sources: &Sources, rules: &[SarifRule]) -> String {
    let rule_values: Vec<Value> = rules
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "name": r.name,
                "shortDescription": { "text": r.summary },
                "fullDescription": { "text": r.summary },
                "help": { "text": r.help },
                "defaultConfiguration": { "level": level(r.level) },
            })
        })
        .collect();
    let results: Vec<Value> = diags
        .iter()
        .map(|d| {
            let src = sources.get(d.file());
            let (line, column) = src.line_col(d.span().start);
            let (end_line, end_column) = src.line_col(d.span().end);
            let mut text = d.message.clone();
            if let Some(h) = &d.help {
                text.push_str(&format!("\nhelp: {h}"));
            }
            let mut v = json!({
                "ruleId": d.code,
                "level": level(d.severity),
                "message": { "text": text },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": uri(&src.name) },
                        "region": {
                            "startLine": line,
                            "startColumn": column,
                            "endLine": end_line,
                            "endColumn": end_column.max(if end_line == line { column + 1 } else { 1 }),
                        }
                    }
                }],
            });
            if let Some(i) = rules.iter().position(|r| r.id == d.code) {
                v["ruleIndex"] = json!(i);
            }
            v
        })
        .collect();
    let doc = json!({
        "$schema": "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "cadence",
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": rule_values,
                }
            },
            "results": results,
        }]
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}

/// GitHub Actions workflow commands: `::error file=F,line=L,col=C,...,title=CODE::message`.
pub fn render_github(diags: &[Diagnostic], sources: &Sources) -> String {
    let data = |s: &str| {
        s.replace('%', "%25")
            .replace('\r', "%0D")
            .replace('\n', "%0A")
    };
    let prop = |s: &str| data(s).replace(':', "%3A").replace(',', "%2C");
    let mut out = String::new();
    for d in diags {
        let src = sources.get(d.file());
        let (line, col) = src.line_col(d.span().start);
        let (end_line, end_col) = src.line_col(d.span().end);
        let mut msg = d.message.clone();
        if let Some(h) = &d.help {
            msg.push_str(&format!("\nhelp: {h}"));
        }
        out.push_str(&format!(
            "::{} file={},line={line},col={col},endLine={end_line},endColumn={end_col},title={}::{}\n",
            level(d.severity),
            prop(&src.name),
            prop(d.code),
            data(&msg)
        ));
    }
    out
}

/// Lines longer than this are shown cut down to a window around the labels on them.
const LONG_LINE: usize = 300;

/// `text` with every line longer than [`LONG_LINE`] bytes cut down to about 240 bytes around
/// the first label on it (`…` marks a cut), and `spans` (start, length) moved to match.
fn crop_long_lines(text: &str, spans: &[(usize, usize)]) -> (String, Vec<(usize, usize)>) {
    if !text.split('\n').any(|l| l.len() > LONG_LINE) {
        return (text.to_string(), spans.to_vec());
    }
    let floor = |i: usize| {
        (0..=i)
            .rev()
            .find(|j| text.is_char_boundary(*j))
            .unwrap_or(0)
    };
    let ceil = |i: usize| {
        (i..=text.len())
            .find(|j| text.is_char_boundary(*j))
            .unwrap_or(text.len())
    };
    let mut out = String::with_capacity(text.len().min(1 << 16));
    let mut moved: Vec<Option<(usize, usize)>> = vec![None; spans.len()];
    let mut line_start = 0;
    for line in text.split_inclusive('\n') {
        let line_end = line_start + line.len();
        let body_end = line_start + line.trim_end_matches('\n').len();
        let (from, to) = if body_end - line_start > LONG_LINE {
            let center = spans
                .iter()
                .map(|s| s.0)
                .find(|s| (line_start..=body_end).contains(s))
                .unwrap_or(line_start);
            (
                floor(center.saturating_sub(80).max(line_start)),
                ceil((center + 160).min(body_end)),
            )
        } else {
            (line_start, body_end)
        };
        let cut_left = from > line_start;
        if cut_left {
            out.push('…');
        }
        let base = out.len();
        out.push_str(&text[from..to]);
        if to < body_end {
            out.push('…');
        }
        out.push_str(&text[body_end..line_end]);
        for (i, (s, len)) in spans.iter().enumerate() {
            if moved[i].is_none() && (line_start..line_end.max(line_start + 1)).contains(s) {
                let start = base + s.saturating_sub(from).min(to - from);
                let end = (s + len).min(to).max(*s);
                moved[i] = Some((start, end.saturating_sub(*s).min(to.saturating_sub(*s))));
            }
        }
        line_start = line_end;
    }
    let end = out.len();
    let spans = moved.into_iter().map(|m| m.unwrap_or((end, 0))).collect();
    (out, spans)
}

#[cfg(test)]
mod crop_tests {
    use super::*;

    #[test]
    fn a_long_line_is_cut_around_its_label_and_short_ones_stay() {
        let long = format!("a\n{}XYZ{}\nb\n", "é".repeat(400), "z".repeat(500));
        let at = long.find("XYZ").unwrap();
        let (text, spans) = crop_long_lines(&long, &[(at, 3), (0, 1)]);
        assert!(text.starts_with("a\n…"), "{text}");
        assert!(text.len() < 400, "{}", text.len());
        assert_eq!(&text[spans[0].0..spans[0].0 + spans[0].1], "XYZ");
        assert_eq!(spans[1], (0, 1));
        assert!(text.ends_with("…\nb\n"));
        let short = "step 1: email w\n";
        assert_eq!(
            crop_long_lines(short, &[(3, 2)]),
            (short.to_string(), vec![(3, 2)])
        );
    }

    proptest::proptest! {
        #[test]
        fn cropping_never_panics_and_keeps_spans_inside(text in "(\\PC{0,500}\n){0,4}", a in 0usize..2500, b in 0usize..50) {
            let a = a.min(text.len());
            let a = (0..=a).rev().find(|j| text.is_char_boundary(*j)).unwrap_or(0);
            let b = b.min(text.len() - a);
            let (t, spans) = crop_long_lines(&text, &[(a, b)]);
            let (s, l) = spans[0];
            proptest::prop_assert!(s + l <= t.len());
        }
    }
}
