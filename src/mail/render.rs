//! A template and a contact make a message: merge fields filled in one pass (a value that
//! looks like `{{...}}` stays as it is), fallbacks for unset fields, the unsubscribe link.
//!
//! Everything that comes from a contact is untrusted: in a subject it loses its line breaks and
//! control characters (nothing can add a header), and in an HTML body it is escaped.
//!
//! A cadence that says `track clicks` has each `http(s)` link of the rendered body replaced by
//! its click redirect (the unsubscribe link excepted); one that says `track opens` has an
//! invisible image, the open pixel, at the end of each HTML body.

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

/// Whether a body is HTML: its first non-blank text starts with a tag.
pub fn body_is_html(body: &Text) -> bool {
    body.parts
        .iter()
        .find_map(|p| match p {
            TextPart::Literal(s) if !s.trim().is_empty() => Some(s.trim_start().starts_with('<')),
            TextPart::Literal(_) => None,
            TextPart::Merge { .. } => Some(false),
        })
        .unwrap_or(false)
}

/// Whether a piece of text holds an `http://` or `https://` link.
pub fn has_link(s: &str) -> bool {
    next_link(s, 0).is_some()
}

/// Makes the redirect URL of a body's `n`-th link to `url`.
pub type ClickLink<'a> = &'a dyn Fn(usize, &str) -> String;

/// The links a message carries besides its body text.
pub struct Links<'a> {
    /// The signed one-click unsubscribe URL (`{{unsubscribe_link}}`).
    pub unsubscribe: &'a str,
    /// The open pixel's URL, for a cadence that tracks opens (only an HTML body shows it).
    pub pixel: Option<&'a str>,
    /// For a cadence that tracks clicks: the redirect URL of the body's `n`-th link to `url`.
    pub click: Option<ClickLink<'a>>,
}

impl<'a> Links<'a> {
    /// Only the unsubscribe link: nothing is tracked.
    pub fn untracked(unsubscribe: &'a str) -> Links<'a> {
        Links {
            unsubscribe,
            pixel: None,
            click: None,
        }
    }
}

/// Renders a message: `subject` and `body` with the contact's fields, and the links.
pub fn render(
    subject: &Text,
    body: &Text,
    field: &dyn Fn(&str) -> Option<String>,
    links: &Links,
) -> Rendered {
    let html = body_is_html(body);
    let mut s = String::new();
    fill(subject, field, links.unsubscribe, &plain, &mut s);
    let mut b = String::new();
    let escape: &dyn Fn(&str, &mut String) = if html { &html_escape } else { &plain };
    fill(body, field, links.unsubscribe, escape, &mut b);
    if let Some(click) = links.click {
        b = track_clicks(&b, html, links.unsubscribe, click);
    }
    if let (Some(pixel), true) = (links.pixel, html) {
        b = add_pixel(&b, pixel);
    }
    Rendered {
        subject: header_safe(&s),
        body: b,
        html,
    }
}

/// Where the next link starts at or after `from`, and where it ends: `http://` or `https://`
/// (any case) then everything up to white space, a quote, `<`, `>` or the end; trailing
/// punctuation that usually closes a sentence (`.,;:!?)`) is left out.
fn next_link(s: &str, from: usize) -> Option<(usize, usize)> {
    let bytes = s.as_bytes();
    let mut i = from;
    while i < bytes.len() {
        let rest = &bytes[i..];
        let scheme = if rest.len() >= 8 && rest[..8].eq_ignore_ascii_case(b"https://") {
            8
        } else if rest.len() >= 7 && rest[..7].eq_ignore_ascii_case(b"http://") {
            7
        } else {
            0
        };
        // A scheme inside a word (`xhttp://`) is not a link.
        let boundary = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
        if scheme > 0 && boundary {
            let mut end = i + scheme;
            while end < bytes.len()
                && !matches!(
                    bytes[end],
                    b' ' | b'\t' | b'\r' | b'\n' | b'"' | b'\'' | b'<' | b'>'
                )
            {
                end += 1;
            }
            while end > i + scheme
                && matches!(
                    bytes[end - 1],
                    b'.' | b',' | b';' | b':' | b'!' | b'?' | b')'
                )
            {
                end -= 1;
            }
            if end > i + scheme {
                return Some((i, end));
            }
            i = end.max(i + 1);
            continue;
        }
        i += 1;
    }
    None
}

/// The text an HTML attribute value stands for (`&amp;` -> `&` and the other escapes
/// `html_escape` makes).
fn html_unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// Replaces each link of a rendered body but the unsubscribe link by its redirect. In HTML the
/// link is read unescaped and its redirect written escaped.
fn track_clicks(
    body: &str,
    html: bool,
    unsubscribe: &str,
    click: &dyn Fn(usize, &str) -> String,
) -> String {
    let mut out = String::with_capacity(body.len() + 128);
    let mut at = 0;
    let mut n = 0;
    while let Some((start, end)) = next_link(body, at) {
        out.push_str(&body[at..start]);
        let written = &body[start..end];
        let url = if html {
            html_unescape(written)
        } else {
            written.to_string()
        };
        if url == unsubscribe {
            out.push_str(written);
        } else {
            let tracked = click(n, &url);
            n += 1;
            if html {
                html_escape(&tracked, &mut out);
            } else {
                out.push_str(&tracked);
            }
        }
        at = end;
    }
    out.push_str(&body[at..]);
    out
}

/// Puts the open pixel before `</body>` (or at the end of a fragment).
fn add_pixel(body: &str, pixel: &str) -> String {
    let mut img = String::from("<img src=\"");
    html_escape(pixel, &mut img);
    img.push_str("\" width=\"1\" height=\"1\" alt=\"\" style=\"display:block;border:0\">");
    match body.to_ascii_lowercase().rfind("</body>") {
        Some(i) => format!("{}{img}{}", &body[..i], &body[i..]),
        None => format!("{body}{img}"),
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
            &Links::untracked("https://x.test/u/t"),
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
            &Links::untracked("https://x.test/u/t"),
        );
        assert!(r.html);
        assert_eq!(
            r.body,
            "<p>{{unsubscribe_link}} &lt;b&gt;&amp; <a href=\"https://x.test/u/t\">x</a></p>"
        );
    }

    #[test]
    fn tracked_links_go_through_the_redirect_but_the_unsubscribe_link() {
        let click = |n: usize, url: &str| format!("https://x.test/c/{n}?{url}");
        let links = Links {
            unsubscribe: "https://x.test/u/t",
            pixel: Some("https://x.test/o/p"),
            click: Some(&click),
        };
        let text = render(
            &parse_text("S").0,
            &parse_text(
                "See https://acme.test/a?b=1&c=2. Or (http://acme.test/x), {{unsubscribe_link}}",
            )
            .0,
            &field,
            &links,
        );
        assert!(!text.html);
        assert_eq!(
            text.body,
            "See https://x.test/c/0?https://acme.test/a?b=1&c=2. Or (https://x.test/c/1?http://acme.test/x), https://x.test/u/t"
        );
        let html = render(
            &parse_text("S").0,
            &parse_text("<html><body><a href=\"https://acme.test/a?b=1&amp;c=2\">a</a> <a href='{{unsubscribe_link}}'>u</a></body></html>").0,
            &field,
            &links,
        );
        assert_eq!(
            html.body,
            "<html><body><a href=\"https://x.test/c/0?https://acme.test/a?b=1&amp;c=2\">a</a> \
             <a href='https://x.test/u/t'>u</a><img src=\"https://x.test/o/p\" width=\"1\" height=\"1\" \
             alt=\"\" style=\"display:block;border:0\"></body></html>"
        );
    }

    #[test]
    fn links_are_found_at_word_boundaries_only() {
        assert_eq!(next_link("xhttp://a.test", 0), None);
        assert_eq!(next_link("http://", 0), None);
        assert_eq!(next_link("go HTTPS://A.test/x!", 0), Some((3, 19)));
        assert!(!has_link("no link here"));
    }

    #[test]
    fn domains_for_message_ids() {
        assert_eq!(domain_of("Sales <sales@Acme.test>"), "acme.test");
        assert_eq!(domain_of(""), "cadence.invalid");
    }
}
