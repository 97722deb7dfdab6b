//! Property tests: no input, however malformed, panics the parser or the checker.

use cadence::check::check;
use cadence::syntax::Sources;
use proptest::prelude::*;

fn check_text(text: &str) {
    let mut sources = Sources::new();
    let id = sources.add("fuzz.cadence", text);
    let checked = check(&mut sources, &[id]);
    // Every diagnostic's spans lie inside its file.
    for d in &checked.diagnostics {
        for l in &d.labels {
            let len = sources.get(l.file).text.len();
            assert!(l.span.start <= l.span.end && l.span.end <= len, "{d:?}");
        }
    }
}

const TOKENS: &[&str] = &[
    "step",
    "1",
    "2",
    ":",
    "email",
    "call",
    "task",
    "\"welcome\"",
    "welcome",
    "after",
    "0d",
    "3bd",
    "3x",
    "at",
    "\"0 9 * * *\"",
    "if",
    "on",
    "opened",
    "no_reply",
    "overdue",
    "->",
    "next",
    "done",
    "exit",
    "template",
    "{",
    "}",
    "subject",
    "body",
    "\"\"\"",
    "\n",
    ";",
    "field",
    "plan",
    "enum",
    "(",
    ")",
    "[",
    "]",
    ",",
    "==",
    "and",
    "or",
    "not",
    "is",
    "set",
    "in",
    "contains",
    "now",
    "+",
    "-",
    "2026-01-05",
    "\"",
    "#",
    "{{",
    "}}",
    "|",
    "goal",
    "enroll",
    "when",
    "timezone",
    "window",
    "limit",
    "emails",
    "per",
    "day",
    "holidays",
    "event",
    "module",
    "contacts",
    "cadence",
    "\\",
    " ",
    "  ",
    "\u{3000}",
    "\u{a0}",
    "é",
    "退订",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        check_text(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn token_soup_never_panics(idx in proptest::collection::vec(0..TOKENS.len(), 0..80)) {
        let text: Vec<&str> = idx.iter().map(|&i| TOKENS[i]).collect();
        check_text(&text.join(" "));
    }

    #[test]
    fn mutated_examples_never_panic(pos in 0usize..4000, cut in 0usize..40, insert in 0..TOKENS.len()) {
        let text = include_str!("../examples/saas_onboarding.cadence");
        let mut p = pos.min(text.len());
        while !text.is_char_boundary(p) { p -= 1; }
        let mut e = (p + cut).min(text.len());
        while !text.is_char_boundary(e) { e -= 1; }
        let mutated = format!("{}{}{}", &text[..p], TOKENS[insert], &text[e..]);
        check_text(&mutated);
    }
}
