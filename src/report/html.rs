//! The HTML report: one self-contained page (no scripts, no network) with, per cadence, the
//! key numbers, a funnel chart, the step table, and the flowchart with the number of contacts
//! on each edge. Charts are SVG drawn here.

use std::fmt::Write;

use super::{span_text, CadenceReport, Report};
use crate::check::{Cadence, Program, Target};
use crate::engine::format_instant;

/// Text made safe for HTML, in an element or a quoted attribute.
pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const STYLE: &str = "
body { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; margin: 32px auto; max-width: 1000px; color: #1f2937; }
h1 { font-size: 26px; margin-bottom: 4px; }
h2 { font-size: 21px; margin-top: 40px; border-bottom: 2px solid #e5e7eb; padding-bottom: 6px; }
h3 { font-size: 15px; color: #4b5563; margin-top: 24px; text-transform: uppercase; letter-spacing: .04em; }
.meta { color: #6b7280; margin-top: 0; }
.kpis { display: flex; flex-wrap: wrap; gap: 12px; }
.kpi { background: #f3f4f6; border-radius: 8px; padding: 10px 16px; min-width: 110px; }
.kpi .v { font-size: 22px; font-weight: 600; display: block; }
.kpi .k { font-size: 12px; color: #6b7280; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: right; padding: 5px 8px; border-bottom: 1px solid #e5e7eb; }
th:first-child, td:first-child, th:nth-child(2), td:nth-child(2) { text-align: left; }
th { background: #f9fafb; font-weight: 600; }
svg text { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; }
svg.flow { max-width: 100%; height: auto; }
";

/// The funnel: enrolled, each step's executions, goals reached.
fn funnel(c: &CadenceReport) -> String {
    let mut bars: Vec<(String, usize)> = vec![("Enrolled".into(), c.enrolled)];
    for s in &c.steps {
        bars.push((
            format!("Step {} · {} {}", s.step, s.action, s.name),
            s.executed,
        ));
    }
    // Goals happen at any step (the endings table says where): the bar is not a step's.
    bars.push(("Goals (any step)".into(), c.goals.values().sum()));
    let max = bars.iter().map(|b| b.1).max().unwrap_or(0).max(1);
    let (label_w, bar_w, row) = (260.0, 560.0, 30.0);
    let height = row * bars.len() as f64 + 10.0;
    let mut svg = format!(
        "<svg class=\"funnel\" width=\"900\" height=\"{height}\" viewBox=\"0 0 900 {height}\" role=\"img\" aria-label=\"Funnel of {}\">",
        esc(&c.cadence)
    );
    for (i, (label, v)) in bars.iter().enumerate() {
        let y = 5.0 + i as f64 * row;
        let w = (*v as f64 / max as f64 * bar_w).max(if *v > 0 { 2.0 } else { 0.0 });
        let fill = if i == 0 {
            "#1e40af"
        } else if i == bars.len() - 1 {
            "#047857"
        } else {
            "#2563eb"
        };
        let short = wrap(label, 40, 1).pop().unwrap_or_default();
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"end\" fill=\"#374151\">{}</text>\
             <rect class=\"bar\" data-label=\"{}\" data-value=\"{v}\" x=\"{label_w}\" y=\"{y}\" width=\"{w:.1}\" height=\"{}\" rx=\"3\" fill=\"{fill}\"/>\
             <text x=\"{}\" y=\"{}\" font-size=\"12\" fill=\"#111827\">{v}</text>",
            label_w - 8.0,
            y + row * 0.6,
            esc(&short),
            esc(label),
            row - 8.0,
            label_w + w + 6.0,
            y + row * 0.6,
        );
    }
    svg.push_str("</svg>");
    svg
}

/// An A/B test: one row per variant, the comparisons with the first, and the verdict.
fn experiment(e: &crate::report::variants::Experiment) -> String {
    use crate::report::variants::{p_text, percent, METRICS};
    let mut t = format!(
        "<h3>A/B test, step {}</h3>\n<table class=\"experiment\"><thead><tr><th>Variant</th><th>Weight</th><th>Sent</th>",
        e.step
    );
    for m in METRICS {
        let _ = write!(t, "<th>{}</th>", esc(m));
    }
    t.push_str("</tr></thead><tbody>");
    for v in &e.variants {
        let _ = write!(
            t,
            "<tr><td>{}</td><td>{}</td><td>{}</td>",
            esc(&v.name),
            v.weight.map_or("-".into(), |w| format!("{w}%")),
            v.sent
        );
        for m in METRICS {
            let _ = write!(t, "<td>{} ({})</td>", v.counts[m], percent(v.rates[m]));
        }
        t.push_str("</tr>");
    }
    t.push_str("</tbody></table>\n<ul class=\"comparisons\">");
    for c in &e.comparisons {
        let _ = write!(
            t,
            "<li>{}: {} vs {} {:+.1} points (95% interval {:+.1} to {:+.1}), {}</li>",
            esc(&c.metric),
            esc(&c.variant),
            esc(&c.baseline),
            c.diff * 100.0,
            c.low * 100.0,
            c.high * 100.0,
            esc(&p_text(c.p))
        );
    }
    t.push_str("</ul>\n");
    for v in &e.verdict {
        let _ = writeln!(t, "<p class=\"verdict\"><strong>{}</strong></p>", esc(v));
    }
    t
}

fn pct(x: f64) -> String {
    format!("{:.0}%", x * 100.0)
}

fn steps_table(c: &CadenceReport) -> String {
    let mut t = String::from(
        "<table class=\"steps\"><thead><tr><th>Step</th><th>Action</th><th>Entered</th><th>Executed</th><th>Skipped</th>\
         <th>Opened</th><th>Clicked</th><th>Replied</th><th>Bounced</th><th>Unsubscribed</th><th>Call / task outcomes</th><th>Timeouts</th></tr></thead><tbody>",
    );
    for s in &c.steps {
        let rate = |k: &str| {
            let people = match (s.outcomes.get(k), s.action.as_str()) {
                (Some(n), "email") => format!("{n} ({})", pct(*s.rates.get(k).unwrap_or(&0.0))),
                (Some(n), _) => n.to_string(),
                (None, "email") => "0".into(),
                (None, _) => "".into(),
            };
            match s.machine.get(k) {
                Some(m) => format!("{people}, +{m} by machines"),
                None => people,
            }
        };
        let email_cols: Vec<String> = if s.action == "email" {
            ["opened", "clicked", "replied", "bounced", "unsubscribed"]
                .iter()
                .map(|k| rate(k))
                .collect()
        } else {
            vec![String::new(); 5]
        };
        let other: Vec<String> = if s.action == "email" {
            Vec::new()
        } else {
            s.outcomes.iter().map(|(k, v)| format!("{k} {v}")).collect()
        };
        let skipped: usize = s.skipped.values().sum();
        let skipped_text = if skipped == 0 {
            "0".to_string()
        } else {
            format!(
                "{skipped} ({})",
                s.skipped
                    .iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let label = match &s.label {
            Some(l) => format!("{} · {}", s.step, esc(l)),
            None => s.step.to_string(),
        };
        let _ = write!(
            t,
            "<tr><td>{label}</td><td>{} {}</td><td>{}</td><td>{}</td><td>{}</td>{}<td>{}</td><td>{}</td></tr>",
            esc(&s.action),
            esc(&s.name),
            s.entered,
            s.executed,
            esc(&skipped_text),
            email_cols.iter().map(|c| format!("<td>{}</td>", esc(c))).collect::<String>(),
            esc(&other.join(", ")),
            esc(&s.timeouts.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", ")),
        );
    }
    t.push_str("</tbody></table>");
    t
}

/// When the page is made: `SOURCE_DATE_EPOCH` when set (a page made twice from the same trace is
/// then the same bytes), otherwise now.
fn generated_at() -> i64 {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.trim().parse::<i64>().ok())
        .unwrap_or_else(|| chrono::Utc::now().timestamp())
}

/// A titled table of text cells, every cell escaped.
fn table(
    title: &str,
    class: &str,
    headers: &[&str],
    rows: impl Iterator<Item = Vec<String>>,
) -> String {
    let mut t = format!(
        "<h3>{}</h3>\n<table class=\"{class}\"><thead><tr>",
        esc(title)
    );
    for h in headers {
        let _ = write!(t, "<th>{}</th>", esc(h));
    }
    t.push_str("</tr></thead><tbody>");
    for row in rows {
        t.push_str("<tr>");
        for cell in row {
            let _ = write!(t, "<td>{}</td>", esc(&cell));
        }
        t.push_str("</tr>");
    }
    t.push_str("</tbody></table>\n");
    t
}

/// What an end node of the flowchart stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EndKind {
    Done,
    Exit,
    Goal,
}

/// Cuts `text` into at most `lines` lines of at most `width` characters, at spaces; the last
/// line ends with `...` when the text does not fit.
fn wrap(text: &str, width: usize, lines: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut line = String::new();
    let mut cut = false;
    for w in text.split_whitespace() {
        let len = line.chars().count();
        if len > 0 && len + 1 + w.chars().count() > width {
            out.push(std::mem::take(&mut line));
            if out.len() == lines {
                cut = true;
                break;
            }
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(w);
    }
    if !cut && !line.is_empty() {
        out.push(line);
    }
    let shorten = |l: &str| l.chars().take(width.saturating_sub(3)).collect::<String>() + "...";
    if cut {
        if let Some(last) = out.last_mut() {
            *last = shorten(last);
        }
    }
    for l in &mut out {
        if l.chars().count() > width {
            *l = shorten(l);
        }
    }
    out
}

/// An edge of the flowchart: from a step, to a step or an end (0 completed, 1 exit), its label,
/// how many took it, and whether it is drawn dashed (fall-through).
type FlowEdge = (usize, Option<usize>, Option<usize>, String, usize, bool);

/// The flowchart: steps in file order top to bottom, the ends at the bottom, each edge with
/// the number of contacts that took it.
fn flow(c: &CadenceReport, def: &Cadence) -> String {
    let n = def.steps.len();
    let (node_w, node_h, gap, x0) = (300.0, 52.0, 92.0, 40.0);
    let y_of = |i: usize| 20.0 + i as f64 * gap;
    // The ends: completed, each exit reason, each goal (its own node, reached from the steps
    // the contacts had last been sent).
    let mut ends: Vec<(EndKind, String)> = vec![(EndKind::Done, "completed".into())];
    let end_of = |kind: EndKind, name: &str, ends: &mut Vec<(EndKind, String)>| {
        if !ends.iter().any(|(k, n)| *k == kind && n == name) {
            ends.push((kind, name.to_string()));
        }
    };
    for s in &def.steps {
        for h in &s.handlers {
            if let Target::Exit(r) = &h.target {
                end_of(EndKind::Exit, r, &mut ends);
            }
        }
    }
    for e in &c.endings {
        let kind = if e.kind == "goal" {
            EndKind::Goal
        } else {
            EndKind::Exit
        };
        end_of(kind, &e.name, &mut ends);
    }
    let end_y = y_of(n) + 20.0;
    let end_w = 160.0;
    let end_x = |k: usize| x0 + k as f64 * (end_w + 16.0);
    let width = (end_x(ends.len()) + 20.0).max(900.0);
    let height = end_y + node_h + 20.0;
    let mut svg = format!(
        "<svg class=\"flow\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"Flowchart of {}\">\
         <defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"#6b7280\"/></marker></defs>",
        esc(&c.cadence)
    );
    for (i, s) in def.steps.iter().enumerate() {
        let stats = c.steps.iter().find(|r| r.step == s.number);
        let action = stats
            .map(|r| format!("{} {}", r.action, r.name))
            .unwrap_or_default();
        let executed = stats.map_or(0, |r| r.executed);
        let _ = write!(
            svg,
            "<rect x=\"{x0}\" y=\"{}\" width=\"{node_w}\" height=\"{node_h}\" rx=\"8\" fill=\"#eff6ff\" stroke=\"#2563eb\"/>\
             <text x=\"{}\" y=\"{}\" font-size=\"13\" font-weight=\"600\" fill=\"#1e3a8a\">step {}</text>\
             <text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"end\" fill=\"#1e3a8a\">{executed} executed</text>",
            y_of(i),
            x0 + 10.0,
            y_of(i) + 18.0,
            s.number,
            x0 + node_w - 10.0,
            y_of(i) + 18.0,
        );
        for (k, line) in wrap(&action, 44, 2).iter().enumerate() {
            let _ = write!(
                svg,
                "<text x=\"{}\" y=\"{}\" font-size=\"12\" fill=\"#374151\">{}</text>",
                x0 + 10.0,
                y_of(i) + 34.0 + k as f64 * 14.0,
                esc(line)
            );
        }
    }
    for (k, (kind, name)) in ends.iter().enumerate() {
        let (fill, stroke, label) = match kind {
            EndKind::Done => ("#ecfdf5", "#047857", name.clone()),
            EndKind::Goal => ("#f0fdf4", "#15803d", format!("goal: {name}")),
            EndKind::Exit => ("#fef2f2", "#b91c1c", format!("exit: {name}")),
        };
        let _ = write!(
            svg,
            "<rect class=\"end\" x=\"{}\" y=\"{end_y}\" width=\"{end_w}\" height=\"{node_h}\" rx=\"22\" fill=\"{fill}\" stroke=\"{stroke}\"/>",
            end_x(k),
        );
        let lines = wrap(&label, 22, 2);
        let top = end_y + node_h / 2.0 + 4.0 - (lines.len() as f64 - 1.0) * 7.0;
        for (i, line) in lines.iter().enumerate() {
            let _ = write!(
                svg,
                "<text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\" fill=\"{stroke}\">{}</text>",
                end_x(k) + end_w / 2.0,
                top + i as f64 * 14.0,
                esc(line)
            );
        }
    }
    // Edges: the `on` lines with their counts, and fall-through.
    let mut edges: Vec<FlowEdge> = Vec::new();
    for (i, s) in def.steps.iter().enumerate() {
        let executed = c
            .steps
            .iter()
            .find(|r| r.step == s.number)
            .map_or(0, |r| r.executed);
        if !s.waits() {
            let (to_step, to_end) = match s.next {
                Target::Step(j) => (Some(j), None),
                _ => (None, Some(0)),
            };
            edges.push((i, to_step, to_end, "next".into(), executed, true));
        }
        for h in &s.handlers {
            let on = h.event.name().to_string();
            let (to_step, to_end, to_text) = match &h.target {
                Target::Step(j) => (Some(*j), None, format!("step {}", def.steps[*j].number)),
                Target::Done => (None, Some(0), "done".to_string()),
                Target::Exit(r) => (
                    None,
                    ends.iter().position(|(k, n)| *k == EndKind::Exit && n == r),
                    "exit".to_string(),
                ),
            };
            let taken = c
                .branches
                .iter()
                .find(|b| b.from == s.number && b.on == on && b.to == to_text)
                .map_or(0, |b| b.taken);
            edges.push((i, to_step, to_end, on, taken, false));
        }
    }
    // Goals, and exits of cadence-wide rules, from the step each contact had last been sent
    // (an exit taken by an `on` line is drawn by that line).
    for e in &c.endings {
        let kind = if e.kind == "goal" {
            EndKind::Goal
        } else {
            EndKind::Exit
        };
        let Some(k) = ends.iter().position(|(x, n)| *x == kind && *n == e.name) else {
            continue;
        };
        for (at, count) in &e.at {
            let Some(number) = at.strip_prefix("step ").and_then(|n| n.parse::<u32>().ok()) else {
                continue;
            };
            let Some(i) = def.steps.iter().position(|s| s.number == number) else {
                continue;
            };
            let by_line = kind == EndKind::Exit
                && def.steps[i]
                    .handlers
                    .iter()
                    .any(|h| matches!(&h.target, Target::Exit(r) if *r == e.name));
            if !by_line {
                edges.push((i, None, Some(k), e.kind.clone(), *count, false));
            }
        }
    }
    // Parallel edges (same ends) are drawn once, with every event and count on the label.
    let mut merged: Vec<FlowEdge> = Vec::new();
    for (from, to_step, to_end, label, count, dashed) in edges {
        match merged
            .iter_mut()
            .find(|m| m.0 == from && m.1 == to_step && m.2 == to_end && m.5 == dashed)
        {
            Some(m) => {
                m.3 = format!("{}, {label} {count}", m.3);
                m.4 += count;
            }
            None => merged.push((
                from,
                to_step,
                to_end,
                format!("{label} {count}"),
                count,
                dashed,
            )),
        }
    }
    let mut lane = 0.0;
    for (from, to_step, to_end, label, count, dashed) in merged {
        let dash = if dashed {
            " stroke-dasharray=\"5 4\""
        } else {
            ""
        };
        let width = 1.0 + (count as f64).ln_1p();
        let text = label;
        match (to_step, to_end) {
            (Some(j), _) if j == from + 1 => {
                let x = x0 + node_w / 2.0;
                let _ = write!(
                    svg,
                    "<path class=\"edge\" data-count=\"{count}\" d=\"M {x} {} L {x} {}\" stroke=\"#6b7280\" stroke-width=\"{width:.1}\" fill=\"none\" marker-end=\"url(#arrow)\"{dash}/>\
                     <text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"#4b5563\">{}</text>",
                    y_of(from) + node_h,
                    y_of(j) - 2.0,
                    x + 6.0,
                    (y_of(from) + node_h + y_of(j)) / 2.0 + 4.0,
                    esc(&text),
                );
            }
            (Some(j), _) => {
                lane += 1.0;
                let bulge = x0 + node_w + 30.0 + lane * 34.0;
                let (y1, y2) = (y_of(from) + node_h / 2.0, y_of(j) + node_h / 2.0);
                let _ = write!(
                    svg,
                    "<path class=\"edge\" data-count=\"{count}\" d=\"M {} {y1} C {bulge} {y1}, {bulge} {y2}, {} {y2}\" stroke=\"#6b7280\" stroke-width=\"{width:.1}\" fill=\"none\" marker-end=\"url(#arrow)\"{dash}/>\
                     <text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"#4b5563\">{}</text>",
                    x0 + node_w,
                    x0 + node_w + 2.0,
                    bulge * 0.75 + (x0 + node_w) * 0.25 + 4.0,
                    (y1 + y2) / 2.0,
                    esc(&text),
                );
            }
            (None, Some(k)) => {
                lane += 1.0;
                let (x1, y1) = (x0 + 20.0 + (lane % 6.0) * 40.0, y_of(from) + node_h);
                let (x2, y2) = (end_x(k) + 75.0, end_y);
                let _ = write!(
                    svg,
                    "<path class=\"edge\" data-count=\"{count}\" d=\"M {x1} {y1} C {x1} {}, {x2} {}, {x2} {}\" stroke=\"#9ca3af\" stroke-width=\"{width:.1}\" fill=\"none\" marker-end=\"url(#arrow)\"{dash}/>\
                     <text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"#6b7280\">{}</text>",
                    y1 + 30.0,
                    y2 - 30.0,
                    y2 - 2.0,
                    x1 + 4.0,
                    y1 + 14.0,
                    esc(&text),
                );
            }
            _ => {}
        }
    }
    svg.push_str("</svg>");
    svg
}

/// The whole page.
pub fn render(report: &Report, program: Option<&Program>, title: &str) -> String {
    let period = match report.period {
        Some((a, b)) => format!(
            " · {} to {}",
            format_instant(a).replace('T', " "),
            format_instant(b).replace('T', " ")
        ),
        None => String::new(),
    };
    let mut h = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n<p class=\"meta\">{} cadence{}{} · generated {} by cadence {}</p>\n",
        esc(title),
        esc(title),
        report.cadences.len(),
        if report.cadences.len() == 1 { "" } else { "s" },
        esc(&period),
        format_instant(generated_at()).replace('T', " "),
        env!("CARGO_PKG_VERSION"),
    );
    for c in &report.cadences {
        let goals: usize = c.goals.values().sum();
        let exited: usize = c.exited.values().sum();
        let _ = write!(
            h,
            "<section class=\"cadence\">\n<h2>{}</h2>\n<div class=\"kpis\">",
            esc(&c.cadence)
        );
        for (v, k) in [
            (c.enrolled.to_string(), "enrolled"),
            (c.active.to_string(), "active"),
            (c.completed.to_string(), "completed"),
            (exited.to_string(), "exited"),
            (goals.to_string(), "goals reached"),
            (pct(c.conversion), "conversion"),
            (
                c.time_to_goal.map_or("–".into(), |s| span_text(s.median)),
                "median time to goal",
            ),
            (
                c.time_to_goal.map_or("–".into(), |s| span_text(s.p90)),
                "90th pct. to goal",
            ),
            (
                c.time_to_exit.map_or("–".into(), |s| span_text(s.median)),
                "median time to exit",
            ),
        ] {
            let _ = write!(
                h,
                "<div class=\"kpi\"><span class=\"v\">{}</span><span class=\"k\">{k}</span></div>",
                esc(&v)
            );
        }
        h.push_str("</div>\n");
        if !c.exited.is_empty() || !c.goals.is_empty() {
            h.push_str("<p class=\"meta\">");
            let parts: Vec<String> = c
                .exited
                .iter()
                .map(|(k, v)| format!("exited “{}”: {v}", esc(k)))
                .chain(
                    c.goals
                        .iter()
                        .map(|(k, v)| format!("goal “{}”: {v}", esc(k))),
                )
                .collect();
            h.push_str(&parts.join(" · "));
            h.push_str("</p>\n");
        }
        let _ = write!(
            h,
            "<h3>Funnel</h3>\n{}\n<h3>Steps</h3>\n{}\n",
            funnel(c),
            steps_table(c)
        );
        if let Some(def) = program.and_then(|p| p.cadences.iter().find(|d| d.name == c.cadence)) {
            let _ = write!(h, "<h3>Flow</h3>\n{}\n", flow(c, def));
        }
        if !c.email_funnel.is_empty() {
            let rows = c.email_funnel.iter().enumerate().map(|(i, s)| {
                let rate = if i == 0 {
                    "–".to_string()
                } else {
                    pct(s.rate)
                };
                vec![s.stage.clone(), s.contacts.to_string(), rate]
            });
            h.push_str(&table(
                "Email funnel",
                "email-funnel",
                &[
                    "Stage",
                    "Contacts",
                    "Rate (sent: of enrolled; the others: of sent)",
                ],
                rows,
            ));
        }
        if !c.endings.is_empty() {
            let rows = c.endings.iter().map(|e| {
                vec![
                    format!("{} “{}”", e.kind, e.name),
                    e.total.to_string(),
                    crate::report::ending_places(e),
                ]
            });
            h.push_str(&table(
                "Endings",
                "endings",
                &["Ending", "Contacts", "Where (the last step sent)"],
                rows,
            ));
        }
        if !c.owners.is_empty() {
            let rows = c.owners.iter().map(|o| {
                let share = if o.assigned == 0 {
                    0.0
                } else {
                    o.with_outcome as f64 / o.assigned as f64
                };
                vec![
                    o.owner.clone(),
                    o.assigned.to_string(),
                    format!("{} ({})", o.with_outcome, pct(share)),
                    o.overdue.to_string(),
                ]
            });
            h.push_str(&table(
                "Owners",
                "owners",
                &["Owner", "Calls and tasks", "With an outcome", "Overdue"],
                rows,
            ));
        }
        for e in &c.experiments {
            h.push_str(&experiment(e));
        }
        h.push_str("<h3>Branches</h3>\n<table class=\"branches\"><thead><tr><th>From</th><th>On</th><th>To</th><th>Taken</th></tr></thead><tbody>");
        for b in &c.branches {
            let _ = write!(
                h,
                "<tr><td>step {}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                b.from,
                esc(&b.on),
                esc(&b.to),
                b.taken
            );
        }
        h.push_str("</tbody></table>\n</section>\n");
    }
    h.push_str("</body>\n</html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn labels_wrap_at_spaces_and_say_when_they_are_cut() {
        assert_eq!(
            wrap("call Personal feature walkthrough", 20, 2),
            ["call Personal", "feature walkthrough"]
        );
        assert_eq!(wrap("a b c", 20, 2), ["a b c"]);
        assert_eq!(
            wrap("one two three four five six", 9, 2),
            ["one two", "three..."]
        );
        assert_eq!(wrap(&"x".repeat(30), 10, 2), ["xxxxxxx..."]);
        assert!(wrap("", 10, 2).is_empty());
    }
}
