//! `cadence lint`: checks beyond types, from a graph analysis of each cadence. A registry of
//! rules, one file per rule in `rules/`, each with a stable code, a default severity and a page
//! in `docs/lints.md` (printed by `cadence explain CODE`).

pub mod graph;
mod rules;

use crate::check::{Cadence, Program};
use crate::diagnostic::{Diagnostic, Severity};
use crate::syntax::ast::{self, ItemKind};
use crate::syntax::{FileId, Sources, Span};

/// Limits of the path rules.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_emails: usize,
    pub max_days: f64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_emails: 8,
            max_days: 90.0,
        }
    }
}

/// What a rule sees.
pub struct Cx<'a> {
    pub program: &'a Program,
    pub files: &'a [(FileId, ast::File)],
    pub sources: &'a Sources,
    pub limits: Limits,
}

impl Cx<'_> {
    /// The AST of the file a cadence comes from.
    pub fn ast(&self, file: FileId) -> Option<&ast::File> {
        self.files.iter().find(|(f, _)| *f == file).map(|(_, a)| a)
    }

    /// The AST step of a cadence's step (by number).
    pub fn ast_step(&self, c: &Cadence, number: u32) -> Option<&ast::Step> {
        self.ast(c.file)?.items.iter().find_map(|i| match &i.kind {
            ItemKind::Step(s) if s.number.node.parse::<u32>().ok() == Some(number) => Some(s),
            _ => None,
        })
    }
}

/// A finding of a rule, before the registry gives it its code and severity.
pub struct Finding {
    pub file: FileId,
    pub span: Span,
    pub message: String,
    pub label: String,
    pub help: String,
}

type RuleFn = fn(&Cx, &mut Vec<Finding>);

/// A lint rule.
pub struct Rule {
    pub code: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    /// One line: what the rule finds.
    pub summary: &'static str,
    check: RuleFn,
}

/// Every rule, in code order.
pub const RULES: &[Rule] = &[
    Rule {
        code: "L201",
        name: "unreachable-step",
        severity: Severity::Warning,
        summary: "a step no path from enrolment reaches",
        check: rules::unreachable_step::check,
    },
    Rule {
        code: "L202",
        name: "handler-never-fires",
        severity: Severity::Warning,
        summary: "an `on` line that can never be taken",
        check: rules::handler_never_fires::check,
    },
    Rule {
        code: "L203",
        name: "loop-without-delay",
        severity: Severity::Error,
        summary: "a loop in which no time passes",
        check: rules::loop_without_delay::check,
    },
    Rule {
        code: "L204",
        name: "loop-without-bound",
        severity: Severity::Warning,
        summary: "a loop that can send email for ever",
        check: rules::loop_without_bound::check,
    },
    Rule {
        code: "L205",
        name: "can-wait-forever",
        severity: Severity::Warning,
        summary: "a step that waits for events with no timeout",
        check: rules::can_wait_forever::check,
    },
    Rule {
        code: "L206",
        name: "missing-unsubscribe-link",
        severity: Severity::Error,
        summary: "an email template without `{{unsubscribe_link}}`",
        check: rules::missing_unsubscribe_link::check,
    },
    Rule {
        code: "L207",
        name: "merge-field-without-fallback",
        severity: Severity::Warning,
        summary: "a merge field of an optional field without a fallback",
        check: rules::merge_field_without_fallback::check,
    },
    Rule {
        code: "L208",
        name: "unused-declaration",
        severity: Severity::Warning,
        summary: "a template, field or event nothing uses",
        check: rules::unused_declaration::check,
    },
    Rule {
        code: "L209",
        name: "timeout-before-window",
        severity: Severity::Warning,
        summary: "a timeout shorter than the gap to the next send window",
        check: rules::timeout_before_window::check,
    },
    Rule {
        code: "L210",
        name: "path-too-long",
        severity: Severity::Warning,
        summary: "a path with too many emails or taking too long",
        check: rules::path_too_long::check,
    },
    Rule {
        code: "L211",
        name: "no-exit-on-reply",
        severity: Severity::Warning,
        summary: "email keeps going after the contact replies",
        check: rules::no_exit_on_reply::check,
    },
    Rule {
        code: "L212",
        name: "bounce-not-handled",
        severity: Severity::Warning,
        summary: "a branch that sends more email does not handle a bounce",
        check: rules::bounce_not_handled::check,
    },
    Rule {
        code: "L213",
        name: "tracking-without-effect",
        severity: Severity::Warning,
        summary: "`track opens` without an HTML email, or `track clicks` without a link",
        check: rules::tracking_without_effect::check,
    },
    Rule {
        code: "L214",
        name: "variant-test-too-small",
        severity: Severity::Warning,
        summary:
            "an A/B test that cannot reach significance within a month at the cadence's volume",
        check: rules::variant_test_too_small::check,
    },
    Rule {
        code: "L215",
        name: "skip-falls-through",
        severity: Severity::Warning,
        summary: "a step its `if` or date can skip falls through without an `on skipped` line",
        check: rules::skip_falls_through::check,
    },
    Rule {
        code: "L216",
        name: "cron-window-as-hours",
        severity: Severity::Warning,
        summary: "a cron send window that reads as office hours but opens once an hour, or runs past the last hour",
        check: rules::cron_window_as_hours::check,
    },
    Rule {
        code: "L217",
        name: "auto-reply-ends-enrolment",
        severity: Severity::Warning,
        summary: "an out-of-office answer ends the enrolment instead of pausing it",
        check: rules::auto_reply_ends_enrolment::check,
    },
];

const PAGES: &str = include_str!("../../docs/lints.md");

/// The rule of a code, case-insensitively.
pub fn rule(code: &str) -> Option<&'static Rule> {
    RULES
        .iter()
        .find(|r| r.code.eq_ignore_ascii_case(code) || r.name == code)
}

/// The documentation page of a rule: the section `## CODE: name` of `docs/lints.md`.
pub fn explain(code: &str) -> Option<String> {
    let r = rule(code)?;
    let head = format!("## {}:", r.code);
    let start = PAGES.find(&head)?;
    let rest = &PAGES[start..];
    let end = rest[3..].find("\n## ").map(|i| i + 4).unwrap_or(rest.len());
    Some(rest[..end].trim_end().to_string() + "\n")
}

/// Which rules run: `--select` and `--ignore` by code, code prefix or name.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub select: Vec<String>,
    pub ignore: Vec<String>,
}

/// Whether a pattern (a code, a code prefix or a name) names a rule.
pub fn pattern_matches(r: &Rule, pat: &str) -> bool {
    matches(r, pat)
}

fn matches(r: &Rule, pat: &str) -> bool {
    let p = pat.trim();
    r.name == p
        || r.code
            .to_ascii_uppercase()
            .starts_with(&p.to_ascii_uppercase())
}

/// Checks a pattern of `--select`, `--ignore` or the configuration: it must name a rule, by
/// code, code prefix (`L2`, `L20`) or name.
pub fn check_pattern(pat: &str) -> Result<(), String> {
    let p = pat.trim();
    if !p.is_empty() && RULES.iter().any(|r| matches(r, p)) {
        return Ok(());
    }
    let known = RULES.iter().flat_map(|r| [r.code, r.name]);
    Err(match crate::syntax::closest(p, known) {
        Some(c) => format!("no lint rule is `{p}`; did you mean `{c}`?"),
        None => format!(
            "no lint rule is `{p}`; give a code ({}..{}), a prefix of codes (L2) or a name (`cadence explain L201`)",
            RULES[0].code,
            RULES[RULES.len() - 1].code
        ),
    })
}

/// `# lint: allow(...)` comments that name no rule: (file, line, what they name, why).
pub fn unknown_allows(
    sources: &Sources,
    files: &[(FileId, ast::File)],
) -> Vec<(FileId, usize, String, String)> {
    allowed(sources, files)
        .into_iter()
        .filter(|(_, _, code)| {
            !RULES
                .iter()
                .any(|r| code.eq_ignore_ascii_case(r.code) || code == r.name)
        })
        .map(|(f, line, code)| {
            let why = check_pattern(&code).err().unwrap_or_else(|| {
                format!("`{code}` is a prefix; an allow comment names one rule")
            });
            (f, line, code, why)
        })
        .collect()
}

impl Selection {
    pub fn wants(&self, r: &Rule) -> bool {
        (self.select.is_empty() || self.select.iter().any(|p| matches(r, p)))
            && !self.ignore.iter().any(|p| matches(r, p))
    }
}

/// Codes allowed by `# lint: allow(CODE, ...)` comments, per file and line (the comment's own
/// line and the line below it).
fn allowed(sources: &Sources, files: &[(FileId, ast::File)]) -> Vec<(FileId, usize, String)> {
    let mut out = Vec::new();
    for (f, a) in files {
        let src = sources.get(*f);
        for c in &a.comments {
            let text = c.text.trim();
            let Some(rest) = text.strip_prefix("lint:") else {
                continue;
            };
            let rest = rest.trim();
            let Some(list) = rest
                .strip_prefix("allow(")
                .and_then(|r| r.split(')').next())
            else {
                continue;
            };
            let (line, _) = src.line_col(c.span.start);
            for code in list.split(',') {
                out.push((*f, line, code.trim().to_string()));
            }
        }
    }
    out
}

/// Runs the selected rules; findings sorted by position. A finding on a line that is, or that
/// follows, a `# lint: allow(CODE)` comment is dropped.
pub fn lint(cx: &Cx, selection: &Selection) -> Vec<Diagnostic> {
    let allow = allowed(cx.sources, cx.files);
    let mut out = Vec::new();
    for r in RULES.iter().filter(|r| selection.wants(r)) {
        let mut findings = Vec::new();
        (r.check)(cx, &mut findings);
        for f in findings {
            let (line, _) = cx.sources.get(f.file).line_col(f.span.start);
            let suppressed = allow.iter().any(|(file, l, code)| {
                *file == f.file
                    && (*l == line || *l + 1 == line)
                    && (code.eq_ignore_ascii_case(r.code) || code == r.name)
            });
            if suppressed {
                continue;
            }
            let mut d =
                Diagnostic::error(r.code, f.file, f.span, f.message, f.label).with_help(f.help);
            d.severity = r.severity;
            out.push(d);
        }
    }
    crate::diagnostic::sort(&mut out);
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_has_a_page_with_the_four_parts() {
        for r in RULES {
            let page = explain(r.code)
                .unwrap_or_else(|| panic!("{} has no page in docs/lints.md", r.code));
            assert!(
                page.starts_with(&format!("## {}: {}", r.code, r.name)),
                "{}",
                r.code
            );
            for part in [
                "### What it does",
                "### Why is this bad?",
                "### Example",
                "### Fix",
            ] {
                assert!(page.contains(part), "{} lacks {part}", r.code);
            }
        }
    }

    #[test]
    fn selection_by_code_prefix_and_name() {
        let s = Selection {
            select: vec!["L20".into()],
            ignore: vec!["can-wait-forever".into()],
        };
        assert!(s.wants(rule("L201").unwrap()));
        assert!(!s.wants(rule("L205").unwrap()));
        assert!(!s.wants(rule("L210").unwrap()));
    }
}
