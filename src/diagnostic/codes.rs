//! The registry of diagnostic codes. Each code's page (what it means, why, example, fix) lives
//! in `docs/diagnostics.md`, which is compiled in so that `cadence explain CODE` prints it.

/// A diagnostic code and its one-line title.
#[derive(Debug, Clone, Copy)]
pub struct CodeInfo {
    pub code: &'static str,
    pub title: &'static str,
}

const fn c(code: &'static str, title: &'static str) -> CodeInfo {
    CodeInfo { code, title }
}

/// Every code there is. `P` codes come from parsing, `E` codes from checking, `T` codes from
/// running tests.
pub const CODES: &[CodeInfo] = &[
    c("P001", "syntax error"),
    c("P002", "unterminated string"),
    c("P003", "nesting too deep"),
    c("P004", "unknown statement"),
    c("P005", "statement out of place"),
    c("P006", "invalid escape in a string"),
    c("E100", "unknown field"),
    c("E101", "type mismatch"),
    c("E102", "unknown template"),
    c("E103", "reference to a missing step"),
    c("E104", "duplicate step number"),
    c("E105", "event the step's channel cannot produce"),
    c("E106", "timeout event without a duration"),
    c("E107", "two handlers for the same event"),
    c("E108", "invalid cron expression"),
    c("E109", "invalid time zone"),
    c("E110", "invalid duration"),
    c("E111", "invalid date"),
    c("E112", "`at FIELD` on a field that is not a date"),
    c("E113", "cadence without steps"),
    c("E114", "unknown event"),
    c("E115", "duplicate definition"),
    c("E116", "unknown module"),
    c("E117", "duration on an outcome event"),
    c("E118", "unknown field type"),
    c("E119", "step option not valid here"),
    c("E120", "incomplete template"),
    c("E121", "invalid limit"),
    c("E122", "malformed merge field"),
    c("E123", "value not in the enum"),
    c("E124", "unknown contact in a test"),
    c("E125", "unknown cadence"),
    c("E126", "test without an instant"),
    c("E127", "unknown tracking"),
    c("E128", "not an email address"),
    c("E129", "control character in a subject"),
    c("E130", "invalid variants"),
    c("E131", "unknown variant"),
    c("E132", "invalid send window hours"),
    c("E133", "invalid migration"),
    c("E134", "pause ends before it starts"),
    c("E135", "pause on an event other than auto_reply"),
    c("T001", "failed expectation"),
];

const PAGES: &str = include_str!("../../docs/diagnostics.md");

/// Looks a code up, case-insensitively.
pub fn lookup(code: &str) -> Option<&'static CodeInfo> {
    CODES.iter().find(|c| c.code.eq_ignore_ascii_case(code))
}

/// The documentation page of a code: the section `## CODE: title` of `docs/diagnostics.md`.
pub fn explain(code: &str) -> Option<String> {
    let info = lookup(code)?;
    let head = format!("## {}:", info.code);
    let start = PAGES.find(&head)?;
    let rest = &PAGES[start..];
    let end = rest[3..].find("\n## ").map(|i| i + 4).unwrap_or(rest.len());
    Some(rest[..end].trim_end().to_string() + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_page_with_the_four_parts() {
        for info in CODES {
            let page = explain(info.code).unwrap_or_else(|| panic!("{} has no page", info.code));
            assert!(
                page.starts_with(&format!("## {}: {}", info.code, info.title)),
                "{} page title differs from the registry",
                info.code
            );
            for part in ["### What it means", "### Why", "### Example", "### Fix"] {
                assert!(page.contains(part), "{} page lacks {part}", info.code);
            }
        }
    }

    #[test]
    fn codes_are_unique_and_sorted_within_their_range() {
        for pair in CODES.windows(2) {
            assert!(
                pair[0].code < pair[1].code
                    || pair[0].code.as_bytes()[0] != pair[1].code.as_bytes()[0]
            );
        }
    }

    #[test]
    fn explain_is_case_insensitive() {
        assert!(explain("e100").is_some());
        assert!(explain("X999").is_none());
    }
}
