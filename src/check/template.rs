//! Merge fields in template text: `{{first_name}}`, `{{first_name | there}}`,
//! `{{first_name | "dear customer"}}`, and the built-in `{{unsubscribe_link}}`.

use super::program::{Text, TextPart};

/// The built-in merge field every bulk email should carry.
pub const UNSUBSCRIBE_LINK: &str = "unsubscribe_link";

/// One `{{...}}` found in a text, with byte offsets relative to the text.
#[derive(Debug, Clone, PartialEq)]
pub struct MergeRef {
    pub name: String,
    pub fallback: Option<String>,
    /// Offsets of the whole `{{...}}` and of the name inside it.
    pub at: (usize, usize),
    pub name_at: (usize, usize),
}

/// A malformed merge field, with the offsets of the bad part.
#[derive(Debug, Clone, PartialEq)]
pub struct MergeError {
    pub message: String,
    pub help: String,
    pub at: (usize, usize),
}

/// Splits text into literal parts and merge fields.
pub fn parse_text(text: &str) -> (Text, Vec<MergeRef>, Vec<MergeError>) {
    let mut parts = Vec::new();
    let mut refs = Vec::new();
    let mut errors = Vec::new();
    let mut rest = 0;
    let mut literal = String::new();
    while let Some(open) = text[rest..].find("{{").map(|i| i + rest) {
        literal.push_str(&text[rest..open]);
        let Some(close) = text[open + 2..].find("}}").map(|i| i + open + 2) else {
            let line_end = text[open..]
                .find('\n')
                .map(|i| i + open)
                .unwrap_or(text.len());
            errors.push(MergeError {
                message: "merge field is not closed".into(),
                help: "close it with `}}`, as in `{{first_name}}`".into(),
                at: (open, line_end),
            });
            literal.push_str(&text[open..]);
            rest = text.len();
            break;
        };
        let inner = &text[open + 2..close];
        let (name_part, fallback) = match inner.split_once('|') {
            Some((n, f)) => {
                let f = f.trim();
                let f = f
                    .strip_prefix('"')
                    .and_then(|f| f.strip_suffix('"'))
                    .unwrap_or(f);
                (n, Some(f.to_string()))
            }
            None => (inner, None),
        };
        let name = name_part.trim();
        let lead = name_part.len() - name_part.trim_start().len();
        let name_at = (open + 2 + lead, open + 2 + lead + name.len());
        if name.is_empty() {
            errors.push(MergeError {
                message: "empty merge field".into(),
                help: "name a field inside the braces, as in `{{first_name}}`".into(),
                at: (open, close + 2),
            });
        } else if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            || name.starts_with(|c: char| c.is_ascii_digit())
        {
            errors.push(MergeError {
                message: format!("`{name}` is not a field name"),
                help: "field names are one word of letters, digits and `_`, as in `{{first_name}}`; a fallback follows `|`".into(),
                at: name_at,
            });
        } else {
            if !literal.is_empty() {
                parts.push(TextPart::Literal(std::mem::take(&mut literal)));
            }
            parts.push(TextPart::Merge {
                name: name.to_string(),
                fallback: fallback.clone(),
            });
            refs.push(MergeRef {
                name: name.to_string(),
                fallback,
                at: (open, close + 2),
                name_at,
            });
            rest = close + 2;
            continue;
        }
        literal.push_str(&text[open..close + 2]);
        rest = close + 2;
    }
    literal.push_str(&text[rest..]);
    if !literal.is_empty() {
        parts.push(TextPart::Literal(literal));
    }
    (Text { parts }, refs, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fallbacks_are_trimmed_and_unquoted() {
        let (text, refs, errs) =
            parse_text("Hi {{first_name | there}}, {{ last_name|\"dear customer\" }}!");
        assert!(errs.is_empty());
        assert_eq!(refs[0].fallback.as_deref(), Some("there"));
        assert_eq!(refs[1].name, "last_name");
        assert_eq!(refs[1].fallback.as_deref(), Some("dear customer"));
        assert_eq!(text.parts.len(), 5);
    }

    #[test]
    fn malformed_fields() {
        assert_eq!(parse_text("{{ }}").2[0].message, "empty merge field");
        assert_eq!(
            parse_text("Hi {{first_name").2[0].message,
            "merge field is not closed"
        );
        assert_eq!(
            parse_text("{{first name}}").2[0].message,
            "`first name` is not a field name"
        );
    }

    #[test]
    fn offsets_point_at_the_name() {
        let src = "ab {{  email }}";
        let (_, refs, _) = parse_text(src);
        assert_eq!(&src[refs[0].name_at.0..refs[0].name_at.1], "email");
    }
}
