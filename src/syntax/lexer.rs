//! Cuts a file into statements before pest sees it.
//!
//! A statement ends at a newline or `;` outside strings and brackets; the `{` of a template
//! block ends the statement that opens it and `}` is a statement of its own. Comments are
//! collected on the side. Strings that never close and brackets nested too deep are reported
//! here, so that pest never recurses deeply and one broken statement cannot swallow the file.

use super::ast::Comment;
use super::span::Span;

/// Deepest nesting of `(` and `[` accepted in one statement.
pub const MAX_NESTING: usize = 64;

/// Words that begin a statement: a newline inside brackets followed by one of them still ends
/// the statement, so an unclosed `[` cannot swallow the rest of the file.
pub const STATEMENT_KEYWORDS: &[&str] = &[
    "cadence", "module", "field", "enroll", "exit", "goal", "timezone", "window", "limit", "from",
    "reply_to", "reenroll", "pause", "holidays", "track", "event", "template", "subject", "body",
    "step", "on", "test", "contact", "at", "expect", "until", "migrate",
];

/// Words that begin a statement of a test only, and are common field names too (`start`): they
/// do not end a statement inside brackets, but are known statements in messages.
pub const TEST_KEYWORDS: &[&str] = &["pin", "start"];

/// A piece of source that holds one statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub span: Span,
    /// Already reported by the lexer; the parser skips it.
    pub broken: bool,
}

/// A problem found while cutting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LexError {
    UnterminatedString { open: Span, triple: bool },
    TooDeep { at: Span },
}

#[derive(Debug, Default)]
pub struct Lexed {
    pub chunks: Vec<Chunk>,
    pub comments: Vec<Comment>,
    pub errors: Vec<LexError>,
}

struct Cutter {
    out: Lexed,
    start: Option<usize>,
    broken: bool,
    depth: usize,
    too_deep_reported: bool,
    /// End of the last token of the current statement (comments and blanks excluded).
    last: usize,
}

impl Cutter {
    fn mark(&mut self, at: usize) {
        if self.start.is_none() {
            self.start = Some(at);
        }
    }

    /// Marks a token that spans `from..to`.
    fn token(&mut self, from: usize, to: usize) {
        self.mark(from);
        self.last = to;
    }

    fn end(&mut self, at: usize) {
        if let Some(start) = self.start.take() {
            let end = self.last.clamp(start, at);
            self.out.chunks.push(Chunk {
                span: Span::new(start, end),
                broken: self.broken,
            });
        }
        self.broken = false;
        self.depth = 0;
        self.too_deep_reported = false;
    }
}

fn next_line_starts_statement(src: &str, from: usize) -> bool {
    let rest = src[from..].trim_start_matches([' ', '\t', '\r']);
    let word: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    STATEMENT_KEYWORDS.contains(&word.as_str())
}

/// Whether the `;` before `from` separates two day groups of one `window` statement
/// (`window mon-thu 09:00-17:30; fri 09:00-15:00`) rather than two statements: the statement
/// is a window of hours and the next word is a day name or a time.
fn continues_window(src: &str, start: Option<usize>, from: usize) -> bool {
    let Some(start) = start else {
        return false;
    };
    let Some(rest) = src[start..].strip_prefix("window") else {
        return false;
    };
    if !rest.starts_with([' ', '\t']) || rest.trim_start().starts_with('"') {
        return false;
    }
    let next = src[from..].trim_start_matches([' ', '\t']);
    let word: String = next
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    word.starts_with(|c: char| c.is_ascii_digit())
        || crate::time::window::parse_day(&word).is_some()
}

/// Cuts `src` into statement chunks.
pub fn cut(src: &str) -> Lexed {
    let bytes = src.as_bytes();
    let mut c = Cutter {
        out: Lexed::default(),
        start: None,
        broken: false,
        depth: 0,
        too_deep_reported: false,
        last: 0,
    };
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'#' => {
                let end = src[i..].find('\n').map(|n| i + n).unwrap_or(src.len());
                let text = src[i + 1..end].trim_end_matches('\r').to_string();
                c.out.comments.push(Comment {
                    span: Span::new(i, i + 1 + text.len()),
                    text,
                });
                i = end;
            }
            b'"' if src[i..].starts_with("\"\"\"") => match src[i + 3..].find("\"\"\"") {
                Some(n) => {
                    c.token(i, i + 3 + n + 3);
                    i = i + 3 + n + 3;
                }
                None => {
                    c.token(i, src.len());
                    c.out.errors.push(LexError::UnterminatedString {
                        open: Span::new(i, i + 3),
                        triple: true,
                    });
                    c.broken = true;
                    i = src.len();
                }
            },
            b'"' => {
                let mut j = i + 1;
                let mut closed = false;
                while j < bytes.len() {
                    match bytes[j] {
                        b'\\' => j += 2,
                        b'"' => {
                            closed = true;
                            j += 1;
                            break;
                        }
                        b'\n' => break,
                        _ => j += 1,
                    }
                }
                let j = j.min(bytes.len());
                c.token(i, src[i..j].trim_end_matches(['\r', '\n']).len() + i);
                if !closed {
                    let line_end = src[i..j].trim_end_matches(['\r', '\n']).len() + i;
                    c.out.errors.push(LexError::UnterminatedString {
                        open: Span::new(i, line_end.max(i + 1)),
                        triple: false,
                    });
                    c.broken = true;
                }
                i = j;
            }
            b'\n' => {
                if c.depth > 0 && !next_line_starts_statement(src, i + 1) {
                    i += 1;
                } else {
                    c.end(i);
                    i += 1;
                }
            }
            b';' if c.depth == 0 && !continues_window(src, c.start, i + 1) => {
                c.end(i);
                i += 1;
            }
            b'{' if c.depth == 0 => {
                c.token(i, i + 1);
                c.end(i + 1);
                i += 1;
            }
            b'}' if c.depth == 0 => {
                c.end(i);
                c.token(i, i + 1);
                c.end(i + 1);
                i += 1;
            }
            b'(' | b'[' => {
                c.token(i, i + 1);
                c.depth += 1;
                if c.depth > MAX_NESTING && !c.too_deep_reported {
                    c.out.errors.push(LexError::TooDeep {
                        at: Span::new(i, i + 1),
                    });
                    c.too_deep_reported = true;
                    c.broken = true;
                }
                i += 1;
            }
            b')' | b']' => {
                c.token(i, i + 1);
                c.depth = c.depth.saturating_sub(1);
                i += 1;
            }
            b' ' | b'\t' | b'\r' => i += 1,
            _ => {
                let len = src[i..].chars().next().map_or(1, char::len_utf8);
                c.token(i, i + len);
                i += len;
            }
        }
    }
    c.end(src.len());
    c.out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(src: &str) -> Vec<&str> {
        cut(src)
            .chunks
            .iter()
            .map(|c| &src[c.span.range()])
            .collect()
    }

    #[test]
    fn newlines_and_semicolons_end_statements() {
        assert_eq!(
            texts("step 1: email \"w\" after 0d; on opened -> step 2\n  on no_reply 3d -> step 3"),
            vec![
                "step 1: email \"w\" after 0d",
                "on opened -> step 2",
                "on no_reply 3d -> step 3"
            ]
        );
    }

    #[test]
    fn day_groups_of_a_window_are_one_statement() {
        assert_eq!(
            texts(
                "window mon-thu 09:00-12:00, 13:00-17:30; fri 09:00-15:00; limit 5 emails per day"
            ),
            vec![
                "window mon-thu 09:00-12:00, 13:00-17:30; fri 09:00-15:00",
                "limit 5 emails per day"
            ]
        );
        assert_eq!(
            texts("window \"0 9 * * 1\"; mon 1"),
            vec!["window \"0 9 * * 1\"", "mon 1"]
        );
        assert_eq!(texts("window 09:00-17:00;\nstep 1: call \"x\"").len(), 2);
    }

    #[test]
    fn strings_hide_separators_and_comments() {
        assert_eq!(texts("from \"a;b#c\" # note"), vec!["from \"a;b#c\""]);
        assert_eq!(cut("from \"a;b#c\" # note").comments[0].text, " note");
    }

    #[test]
    fn template_braces_are_statements() {
        assert_eq!(
            texts("template w {\n subject \"s\"\n body \"\"\"\n hi;\n \"\"\"\n}"),
            vec![
                "template w {",
                "subject \"s\"",
                "body \"\"\"\n hi;\n \"\"\"",
                "}"
            ]
        );
        assert_eq!(
            texts("template w { subject \"s\" }"),
            vec!["template w {", "subject \"s\"", "}"]
        );
    }

    #[test]
    fn lists_may_span_lines_but_not_past_a_statement() {
        assert_eq!(
            texts("holidays [2026-01-01,\n 2026-12-25]\nstep 1: call \"x\""),
            vec!["holidays [2026-01-01,\n 2026-12-25]", "step 1: call \"x\""]
        );
        assert_eq!(texts("holidays [2026-01-01,\nstep 1: call \"x\"").len(), 2);
    }

    #[test]
    fn unterminated_strings_are_reported_and_contained() {
        let l = cut("from \"abc\nstep 1: call \"x\"");
        assert_eq!(l.chunks.len(), 2);
        assert!(l.chunks[0].broken && !l.chunks[1].broken);
        assert!(matches!(
            l.errors[0],
            LexError::UnterminatedString { triple: false, .. }
        ));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let src = format!(
            "enroll when {}x{}",
            "(".repeat(100_000),
            ")".repeat(100_000)
        );
        let l = cut(&src);
        assert_eq!(l.errors.len(), 1);
        assert!(l.chunks[0].broken);
    }
}
