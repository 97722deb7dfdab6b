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
    "mon-fri",
    "09:00-17:00",
    "24:00",
    ";",
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
    // CADENCE_FUZZ_CASES sets a longer run (docs/robustness.md).
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("CADENCE_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(400)
    ))]

    #[test]
    fn no_csv_or_trace_makes_the_readers_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..400),
        shaped in "(id|at|contact|event|email|first_name|step|field|value|cadence|machine|,|\"|\r|\n|c1|2026-01-05T09:00:00Z|opened|set|enroll|x@y.z|true| ){0,60}",
    ) {
        let mut sources = cadence::syntax::Sources::new();
        let id = sources.add("t.cadence", include_str!("../examples/saas_onboarding.cadence"));
        let program = cadence::check::check(&mut sources, &[id]).program.unwrap();
        let catalog = cadence::engine::Catalog::new(&program);
        for input in [bytes.as_slice(), shaped.as_bytes()] {
            let _ = cadence::sim::read_contacts(input, &catalog);
            let _ = cadence::sim::read_events(input, &program, &catalog, &|_| Some(0));
            let _ = cadence::report::read_trace(input);
        }
    }

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
