//! The inbound mail corpus (`tests/fixtures/mail`): each message in the shape a real system sends
//! it (Gmail, Exchange, Postfix, Exim and qmail bounces; out-of-office answers in six languages;
//! replies that quote, forward or come from another address) is read as `expected.csv` says.

use std::path::Path;

use cadence::mail::inbound::{self, Class, Via};
use chrono::NaiveDate;

#[test]
fn every_message_of_the_corpus_reads_as_expected() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mail");
    let mut rdr = csv::Reader::from_path(dir.join("expected.csv")).unwrap();
    let today = NaiveDate::from_ymd_opt(2027, 3, 1).unwrap();
    let mut failures = Vec::new();
    let mut count = 0;
    for row in rdr.records() {
        let row = row.unwrap();
        let (file, class, back, first, via, recipient) =
            (&row[0], &row[1], &row[2], &row[3], &row[4], &row[5]);
        let raw = std::fs::read(dir.join(file)).unwrap();
        let m = inbound::read(&raw, today).unwrap_or_else(|| panic!("{file}: not read"));
        count += 1;
        let got_back = match &m.class {
            Class::AutoReply { back } => back.map(|d| d.to_string()).unwrap_or_default(),
            _ => String::new(),
        };
        let got_recipient = match &m.class {
            Class::Bounce { recipient, .. } | Class::Abuse { recipient } => {
                recipient.clone().unwrap_or_default()
            }
            _ => String::new(),
        };
        let (got_first, got_via) = match m.names.first() {
            Some((id, v)) => (
                id.clone(),
                match v {
                    Via::InReplyTo => "In-Reply-To",
                    Via::References => "References",
                    Via::Returned => "returned",
                }
                .to_string(),
            ),
            None => (String::new(), String::new()),
        };
        let got = (
            m.class.name(),
            got_back.as_str(),
            got_first.as_str(),
            got_via.as_str(),
            got_recipient.as_str(),
        );
        let want = (class, back, first, via, recipient);
        if got != want {
            failures.push(format!("{file}:\n  want {want:?}\n  got  {got:?}"));
        }
    }
    assert!(count >= 24, "the corpus has {count} messages");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_message_of_the_corpus_names_our_message_somewhere() {
    // Matching tries every name in order: each message that is about one of ours names it.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mail");
    let today = NaiveDate::from_ymd_opt(2027, 3, 1).unwrap();
    for e in std::fs::read_dir(&dir).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if !name.ends_with(".eml") || name == "reply_no_headers.eml" {
            continue;
        }
        let m = inbound::read(&std::fs::read(e.path()).unwrap(), today).unwrap();
        assert!(
            m.names
                .iter()
                .any(|(id, _)| id.ends_with(".a1b2c3d4e5f6@acme-sales.test")),
            "{name}: {:?}",
            m.names
        );
    }
}

/// A message the fuzzer found: it trips a `debug_assert!` inside `mail-parser` (a panic in
/// debug builds). The reader takes it without panicking, in any build.
#[test]
fn a_message_that_trips_the_parsers_assertion_is_read_without_a_panic() {
    let raw = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/mail_fuzz/mail_parser_debug_assert.eml"),
    )
    .unwrap();
    let today = chrono::NaiveDate::from_ymd_opt(2027, 3, 1).unwrap();
    let read = std::panic::catch_unwind(|| cadence::mail::inbound::read(&raw, today).is_some());
    assert!(read.is_ok(), "the reader panicked");
}
