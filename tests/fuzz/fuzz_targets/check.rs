//! The parser, checker, linter and formatter on any text: no panic, every span inside its
//! file, and formatting a file that parses gives a file that parses and formats to itself.
#![no_main]

use cadence::check::check;
use cadence::lint::{lint, Cx, Limits, Selection};
use cadence::syntax::{parse, Sources};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut sources = Sources::new();
    let id = sources.add("fuzz.cadence", text.as_ref());
    let checked = check(&mut sources, &[id]);
    for d in &checked.diagnostics {
        for l in &d.labels {
            let len = sources.get(l.file).text.len();
            assert!(l.span.start <= l.span.end && l.span.end <= len, "{d:?}");
        }
    }
    if let Some(program) = &checked.program {
        let cx = Cx {
            program,
            files: &checked.files,
            sources: &sources,
            limits: Limits::default(),
        };
        let _ = lint(&cx, &Selection::default());
    }
    let (file, diags) = parse(id, &text);
    if diags.is_empty() {
        let once = cadence::fmt::format(sources.get(id), &file);
        let id2 = sources.add("formatted.cadence", once.as_str());
        let (file2, diags2) = parse(id2, &once);
        assert!(diags2.is_empty(), "the formatted text does not parse:\n{once}");
        let twice = cadence::fmt::format(sources.get(id2), &file2);
        assert_eq!(once, twice, "formatting is not idempotent");
    }
});
