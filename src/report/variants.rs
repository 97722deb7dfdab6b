//! A/B tests in a report: per variant of a step, the unique contacts sent, opened, clicked,
//! replied and converted; each variant against the first with a 95% interval and a two-sided
//! two-proportion z-test ([`super::stats`]); and one sentence about replies that a sales
//! manager can act on.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;

use super::stats::{compare, sample_size};
use super::TraceRecord;

/// The level of the tests and of the intervals.
pub const ALPHA: f64 = 0.05;
/// The power assumed when saying how many more sends a test needs.
pub const POWER: f64 = 0.8;

/// The rates compared, in the order shown.
pub const METRICS: [&str; 4] = ["opened", "clicked", "replied", "goal"];

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VariantReport {
    /// The template's name.
    pub name: String,
    /// Its weight in percent, when the report has the cadence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<f64>,
    /// Unique contacts sent this variant.
    pub sent: u64,
    /// Unique contacts per metric (`opened`, `clicked`, `replied`, `goal`); opens and clicks
    /// made by machines are not counted.
    pub counts: BTreeMap<String, u64>,
    pub rates: BTreeMap<String, f64>,
}

/// One variant against the first, for one metric.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VariantComparison {
    pub metric: String,
    /// The first variant (the baseline) and the one compared with it.
    pub baseline: String,
    pub variant: String,
    /// Rate of `variant` minus rate of `baseline`, and its 95% interval.
    pub diff: f64,
    pub low: f64,
    pub high: f64,
    /// Two-sided p-value of the two-proportion z-test.
    pub p: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Experiment {
    pub step: u32,
    pub variants: Vec<VariantReport>,
    pub comparisons: Vec<VariantComparison>,
    /// What the replies say, in a sentence per variant after the first.
    pub verdict: Vec<String>,
}

/// The experiments of one cadence's records. `weights`: per step number, the variants in the
/// order written with their weights in percent (from the cadence, when known).
pub fn experiments(
    records: &[&TraceRecord],
    weights: &BTreeMap<u32, Vec<(String, f64)>>,
) -> Vec<Experiment> {
    // (contact, step) -> variant, from the first execution of the step for the contact.
    let mut given: HashMap<(&str, u32), &str> = HashMap::new();
    // contact -> the A/B steps it was sent.
    let mut steps_of: HashMap<&str, Vec<u32>> = HashMap::new();
    // step -> variant -> contacts sent.
    let mut sent: BTreeMap<u32, BTreeMap<&str, HashSet<&str>>> = BTreeMap::new();
    // step -> variant -> metric -> contacts.
    let mut hit: BTreeMap<u32, BTreeMap<&str, BTreeMap<&str, HashSet<&str>>>> = BTreeMap::new();
    for r in records {
        match r.kind.as_str() {
            "executed" => {
                let (Some(step), Some(v)) = (r.step, r.variant.as_deref()) else {
                    continue;
                };
                if let std::collections::hash_map::Entry::Vacant(e) =
                    given.entry((&r.contact, step))
                {
                    e.insert(v);
                    steps_of.entry(&r.contact).or_default().push(step);
                }
                sent.entry(step)
                    .or_default()
                    .entry(v)
                    .or_default()
                    .insert(&r.contact);
            }
            "event" if !r.machine => {
                let Some(step) = r.step else { continue };
                let Some(v) = given.get(&(r.contact.as_str(), step)) else {
                    continue;
                };
                let ev = r.event.as_deref().unwrap_or("");
                let metrics: &[&str] = match ev {
                    "opened" => &["opened"],
                    // A click or a reply means the message was opened.
                    "clicked" => &["opened", "clicked"],
                    "replied" => &["opened", "replied"],
                    _ => &[],
                };
                for m in metrics {
                    hit.entry(step)
                        .or_default()
                        .entry(v)
                        .or_default()
                        .entry(m)
                        .or_default()
                        .insert(&r.contact);
                }
            }
            "goal" => {
                // A goal counts for every A/B step the contact was sent before it.
                for &step in steps_of.get(r.contact.as_str()).into_iter().flatten() {
                    let v = given[&(r.contact.as_str(), step)];
                    hit.entry(step)
                        .or_default()
                        .entry(v)
                        .or_default()
                        .entry("goal")
                        .or_default()
                        .insert(&r.contact);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    for (step, by_variant) in &sent {
        // The order written when the cadence is known, otherwise by name.
        let mut names: Vec<&str> = Vec::new();
        if let Some(ws) = weights.get(step) {
            names.extend(ws.iter().map(|(n, _)| n.as_str()));
        }
        for n in by_variant.keys() {
            if !names.contains(n) {
                names.push(n);
            }
        }
        let variants: Vec<VariantReport> = names
            .iter()
            .map(|&name| {
                let n = by_variant.get(name).map_or(0, |s| s.len() as u64);
                let counts: BTreeMap<String, u64> = METRICS
                    .iter()
                    .map(|m| {
                        let c = hit
                            .get(step)
                            .and_then(|h| h.get(name))
                            .and_then(|h| h.get(m))
                            .map_or(0, |s| s.len() as u64);
                        (m.to_string(), c)
                    })
                    .collect();
                let rates = counts
                    .iter()
                    .map(|(k, &c)| (k.clone(), if n == 0 { 0.0 } else { c as f64 / n as f64 }))
                    .collect();
                VariantReport {
                    name: name.to_string(),
                    weight: weights
                        .get(step)
                        .and_then(|ws| ws.iter().find(|(w, _)| w == name))
                        .map(|(_, w)| *w),
                    sent: n,
                    counts,
                    rates,
                }
            })
            .collect();
        let mut comparisons = Vec::new();
        let mut verdict = Vec::new();
        if let Some((base, rest)) = variants.split_first() {
            for v in rest {
                for m in METRICS {
                    if base.counts[m] + v.counts[m] == 0 {
                        // Nothing to compare (not tracked, or nothing happened yet).
                        continue;
                    }
                    if let Some(c) = compare(base.counts[m], base.sent, v.counts[m], v.sent) {
                        comparisons.push(VariantComparison {
                            metric: m.to_string(),
                            baseline: base.name.clone(),
                            variant: v.name.clone(),
                            diff: c.diff,
                            low: c.low,
                            high: c.high,
                            p: c.p,
                        });
                    }
                }
                verdict.push(sentence(base, v));
            }
        }
        out.push(Experiment {
            step: *step,
            variants,
            comparisons,
            verdict,
        });
    }
    out
}

/// A count with thousands separated: `13,414`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A rate as a percentage with one decimal: `4.1%`.
pub fn percent(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// A p-value as people read it: `p = 0.01`, `p < 0.001`.
pub fn p_text(p: f64) -> String {
    if p < 0.001 {
        "p < 0.001".into()
    } else if p < 0.01 {
        format!("p = {p:.3}")
    } else {
        format!("p = {p:.2}")
    }
}

/// The word for a metric in a sentence.
fn noun(metric: &str) -> &'static str {
    match metric {
        "opened" => "opens",
        "clicked" => "clicks",
        "replied" => "replies",
        _ => "conversions",
    }
}

/// What the replies of `v` against `base` say; without any reply yet, what the first of
/// clicks, opens and conversions that has data says.
fn sentence(base: &VariantReport, v: &VariantReport) -> String {
    if base.sent == 0 || v.sent == 0 {
        let missing = if base.sent == 0 { &base.name } else { &v.name };
        return format!("no comparison yet: `{missing}` has not been sent");
    }
    let any = |m: &str| base.counts[m] + v.counts[m] > 0;
    if any("replied") {
        return verdict(base, v, "replied");
    }
    match ["clicked", "opened", "goal"].into_iter().find(|m| any(m)) {
        Some(m) => format!("no replies yet; by {}: {}", noun(m), verdict(base, v, m)),
        None => format!(
            "no replies, clicks, opens or conversions yet for {} or {}",
            base.name, v.name
        ),
    }
}

/// What one metric of `v` against `base` says.
fn verdict(base: &VariantReport, v: &VariantReport, metric: &str) -> String {
    let (a, b) = (base.counts[metric], v.counts[metric]);
    let (ra, rb) = (base.rates[metric], v.rates[metric]);
    let what = noun(metric);
    let p = compare(a, base.sent, b, v.sent).map_or(1.0, |c| c.p);
    if p < ALPHA {
        let (win, lose, rw, rl) = if rb > ra {
            (&v.name, &base.name, rb, ra)
        } else {
            (&base.name, &v.name, ra, rb)
        };
        return format!(
            "{win} has more {what} than {lose} ({} vs {}, {})",
            percent(rw),
            percent(rl),
            p_text(p)
        );
    }
    let seen = format!("{} vs {}", percent(rb), percent(ra));
    match sample_size(ra, rb, ALPHA, POWER) {
        Some(need) => {
            let more = need.saturating_sub(base.sent.min(v.sent));
            format!(
                "no difference in {what} between {} and {} yet ({seen}, {}); about {} more sends per variant needed to tell a difference this size",
                v.name,
                base.name,
                p_text(p),
                thousands(more)
            )
        }
        None if ra == rb => format!(
            "no difference in {what} between {} and {} yet: both {} after {} and {} sends",
            v.name,
            base.name,
            percent(ra),
            thousands(v.sent),
            thousands(base.sent)
        ),
        None => format!(
            "no difference in {what} between {} and {} ({seen}, {})",
            v.name,
            base.name,
            p_text(p)
        ),
    }
}
