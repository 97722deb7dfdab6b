//! A template and a contact make a message: merge fields filled in one pass (a value that
//! looks like `{{...}}` stays as it is), fallbacks for unset fields, the unsubscribe link.
//!
//! Everything that comes from a contact is untrusted: in a subject it loses its line breaks and
//! control characters (nothing can add a header), and in an HTML body it is escaped.

use crate::check::{DateValue, Text, TextPart, Value};

/// The built-in merge field that is replaced by the signed unsubscribe URL.
pub const UNSUBSCRIBE_LINK: &str = "unsubscribe_link";

/// A rendered message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub body: String,
    /// The body is HTML (it starts with a tag).
    pub html: bool,
}

/// A field value as text in a message: numbers without a needless `.0`, dates as written.
pub fn value_text(v: &Value) -> String {
    match v {
        Value::Text(s) => s.clone(),
        Value::Number(n) => {
            if n.fract() == 0.0 && n.abs() < 1e15 {
                format!("{}", *n as i64)
            } else {
                format!("{n}")
            }
        }
        Value::Bool(b) => b.to_string(),
        Value::Date(DateValue::Day(d)) => d.to_string(),
        Value::Date(DateValue::Instant(t)) => t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    }
}

/// Fills `text`: each merge field from `field` (unset: its fallback, or nothing), the
/// unsubscribe link from `unsubscribe`; values pass through `escape`.
fn fill(
    text: &Text,
    field: &dyn Fn(&str) -> Option<String>,
    unsubscribe: &str,
    escape: &dyn Fn(&str, &mut String),
    out: &mut String,
) {
    for part in &text.parts {
        match part {
            TextPart::Literal(s) => out.push_str(s),
            TextPart::Merge { name, fallback } => {
                if name == UNSUBSCRIBE_LINK {
                    escape(unsubscribe, out);
                    continue;
                }
                match field(name).filter(|v| !v.is_empty()) {
                    Some(v) => escape(&v, out),
                    None => {
                        if let Some(f) = fallback {
                            escape(f, out)
                        }
                    }
                }
            }
        }
    }
}

/// Makes text safe for a header: line breaks, tabs and other control characters become one
/// space each, and the result is trimmed.
pub fn header_safe(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    cleaned.trim().to_string()
}

fn html_escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

fn plain(s: &str, out: &mut String) {
    out.push_str(s);
}

/// Renders a message: `subject` and `body` with the contact's fields.
pub fn render(
    subject: &Text,
    body: &Text,
    field: &dyn Fn(&str) -> Option<String>,
    unsubscribe: &str,
) -> Rendered {
    let html = body
        .parts
        .iter()
        .find_map(|p| match p {
            TextPart::Literal(s) if !s.trim().is_empty() => Some(s.trim_start().starts_with('<')),
            TextPart::Literal(_) => None,
            TextPart::Merge { .. } => Some(false),
        })
        .unwrap_or(false);
    let mut s = String::new();
    fill(subject, field, unsubscribe, &plain, &mut s);
    let mut b = String::new();
    let escape: &dyn Fn(&str, &mut String) = if html { &html_escape } else { &plain };
    fill(body, field, unsubscribe, escape, &mut b);
    Rendered {
        subject: header_safe(&s),
        body: b,
        html,
    }
}

/// The domain of an address, reduced to the characters a domain may have (for Message-IDs).
pub fn domain_of(address: &str) -> String {
    let d: String = address
        .rsplit_once('@')
        .map(|(_, d)| d.trim_end_matches('>'))
        .unwrap_or("")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '-')
        .collect();
    if d.is_empty() {
        "cadence.invalid".into()
    } else {
        d.to_ascii_lowercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::template::parse_text;

    fn field(name: &str) -> Option<String> {
        match name {
            "first_name" => Some("Ann\r\nBcc: x@evil.test".into()),
            "company" => Some("{{unsubscribe_link}} <b>&".into()),
            _ => None,
        }
    }

    #[test]
    fn a_merge_value_never_breaks_a_subject_line_or_expands_again() {
        let r = render(
            &parse_text("Hi {{first_name}} at {{company}}").0,
            &parse_text("Hello {{first_name | there}} {{title | friend}} {{company}}").0,
            &field,
            "https://x.test/u/t",
        );
        assert_eq!(
            r.subject,
            "Hi Ann  Bcc: x@evil.test at {{unsubscribe_link}} <b>&"
        );
        assert!(!r.subject.contains('\n') && !r.subject.contains('\r'));
        assert_eq!(
            r.body,
            "Hello Ann\r\nBcc: x@evil.test friend {{unsubscribe_link}} <b>&"
        );
        assert!(!r.html);
    }

    #[test]
    fn an_html_body_escapes_values_and_keeps_the_link() {
        let r = render(
            &parse_text("S").0,
            &parse_text("<p>{{company}} <a href=\"{{unsubscribe_link}}\">x</a></p>").0,
            &field,
            "https://x.test/u/t",
        );
        assert!(r.html);
        assert_eq!(
            r.body,
            "<p>{{unsubscribe_link}} &lt;b&gt;&amp; <a href=\"https://x.test/u/t\">x</a></p>"
        );
    }

    #[test]
    fn domains_for_message_ids() {
        assert_eq!(domain_of("Sales <sales@Acme.test>"), "acme.test");
        assert_eq!(domain_of(""), "cadence.invalid");
    }
}
