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

/// Where a merge field was filled in the output: its byte range, and whether it is the
/// unsubscribe link.
#[derive(Debug, Clone, Copy)]
struct Filled {
    start: usize,
    end: usize,
    unsubscribe: bool,
}

/// Fills `text`: each merge field from `field` (unset: its fallback, or nothing), the
/// unsubscribe link from `unsubscribe`; values pass through `escape`. Returns where the merge
/// fields went.
fn fill(
    text: &Text,
    field: &dyn Fn(&str) -> Option<String>,
    unsubscribe: &str,
    escape: &dyn Fn(&str, &mut String),
    out: &mut String,
) -> Vec<Filled> {
    let mut filled = Vec::new();
    for part in &text.parts {
        match part {
            TextPart::Literal(s) => out.push_str(s),
            TextPart::Merge { name, fallback } => {
                let start = out.len();
                let unsubscribe_link = name == UNSUBSCRIBE_LINK;
                if unsubscribe_link {
                    escape(unsubscribe, out);
                } else {
                    match field(name).filter(|v| !v.is_empty()) {
                        Some(v) => escape(&v, out),
                        None => {
                            if let Some(f) = fallback {
                                escape(f, out)
                            }
                        }
                    }
                }
                filled.push(Filled {
                    start,
                    end: out.len(),
                    unsubscribe: unsubscribe_link,
                });
            }
        }
    }
    filled
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
    let filled = fill(body, field, links.unsubscribe, escape, &mut b);
    if let Some(click) = links.click {
        b = track_clicks(&b, html, &filled, click);
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

/// The text an HTML attribute value stands for: the character references `html_escape`
/// writes, `&apos;`, and numeric ones (`&#38;`, `&#x26;`); others are left as written.
fn html_unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let decoded = rest.find(';').filter(|e| *e <= 10).and_then(|e| {
            let name = &rest[1..e];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => {
                    let n = if let Some(h) = name.strip_prefix("#x").or(name.strip_prefix("#X")) {
                        u32::from_str_radix(h, 16).ok()
                    } else {
                        name.strip_prefix('#').and_then(|d| d.parse().ok())
                    };
                    n.and_then(char::from_u32)
                }
            };
            c.map(|c| (c, e))
        });
        match decoded {
            Some((c, e)) => {
                out.push(c);
                rest = &rest[e + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Where the host of a link ends (the first `/`, `?` or `#` after `://`, or its end).
fn host_end(link: &str) -> usize {
    let after = link.find("://").map_or(0, |i| i + 3);
    link[after..]
        .find(['/', '?', '#'])
        .map_or(link.len(), |i| after + i)
}

/// Whether the link written at `start..end` of the body may go through the redirect: it is
/// not the unsubscribe link, and its scheme and host are the template's own (a contact's value
/// may add to its path, never choose where the redirect goes).
fn trackable(body: &str, start: usize, end: usize, filled: &[Filled]) -> bool {
    let host = start + host_end(&body[start..end]);
    !filled.iter().any(|f| {
        let overlaps = |a: usize, b: usize| f.start < b && a < f.end && f.start != f.end;
        (f.unsubscribe && overlaps(start, end)) || (!f.unsubscribe && overlaps(start, host))
    })
}

/// The `href` values of the `<a>` and `<area>` tags of an HTML body: (start, end) of each
/// value, quotes excluded.
fn hrefs(body: &str) -> Vec<(usize, usize)> {
    let bytes = body.as_bytes();
    let lower = body.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(i) = lower[at..].find('<').map(|i| at + i) {
        let name_end = lower[i + 1..]
            .find(|c: char| !c.is_ascii_alphanumeric())
            .map_or(lower.len(), |e| i + 1 + e);
        let name = &lower[i + 1..name_end];
        let tag_end = lower[i..].find('>').map_or(lower.len(), |e| i + e);
        if name == "a" || name == "area" {
            // Attributes: NAME[=VALUE], the value quoted with " or ', or bare.
            let mut k = name_end;
            while k < tag_end {
                while k < tag_end && (bytes[k].is_ascii_whitespace() || bytes[k] == b'/') {
                    k += 1;
                }
                let attr_start = k;
                while k < tag_end
                    && !bytes[k].is_ascii_whitespace()
                    && !matches!(bytes[k], b'=' | b'>' | b'/')
                {
                    k += 1;
                }
                let attr = &lower[attr_start..k];
                while k < tag_end && bytes[k].is_ascii_whitespace() {
                    k += 1;
                }
                if k >= tag_end || bytes[k] != b'=' {
                    if k == attr_start {
                        k += 1;
                    }
                    continue;
                }
                k += 1;
                while k < tag_end && bytes[k].is_ascii_whitespace() {
                    k += 1;
                }
                let (vs, ve) = match bytes.get(k) {
                    Some(q @ (b'"' | b'\'')) => {
                        let close = body[k + 1..]
                            .find(*q as char)
                            .map_or(body.len(), |e| k + 1 + e);
                        (k + 1, close)
                    }
                    _ => {
                        let e = body[k..]
                            .find(|c: char| c.is_ascii_whitespace() || c == '>')
                            .map_or(body.len(), |e| k + e);
                        (k, e)
                    }
                };
                if attr == "href" {
                    out.push((vs, ve));
                }
                k = ve + 1;
            }
        }
        at = (tag_end + 1).max(i + 1);
        if at >= lower.len() {
            break;
        }
    }
    out
}

/// Replaces the links of a rendered body by their redirects: in HTML the `href` of each `<a>`
/// and `<area>` (read unescaped, written escaped; images, styles and text stay as they are), in
/// text each `http(s)` URL. The unsubscribe link, and a link whose host comes from a merge
/// field, are left alone.
fn track_clicks(
    body: &str,
    html: bool,
    filled: &[Filled],
    click: &dyn Fn(usize, &str) -> String,
) -> String {
    let spans: Vec<(usize, usize)> = if html {
        hrefs(body)
            .into_iter()
            .filter(|(s, e)| {
                let v = body[*s..*e].trim_start().to_ascii_lowercase();
                v.starts_with("http://") || v.starts_with("https://")
            })
            .collect()
    } else {
        let mut v = Vec::new();
        let mut at = 0;
        while let Some((s, e)) = next_link(body, at) {
            v.push((s, e));
            at = e;
        }
        v
    };
    let mut out = String::with_capacity(body.len() + 128);
    let mut at = 0;
    let mut n = 0;
    for (start, end) in spans {
        if start < at || !trackable(body, start, end, filled) {
            continue;
        }
        out.push_str(&body[at..start]);
        let written = &body[start..end];
        if html {
            let url = html_unescape(written.trim());
            html_escape(&click(n, &url), &mut out);
        } else {
            out.push_str(&click(n, written));
        }
        n += 1;
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
                "See https://acme.test/a?b=1&c=2. Or (http://acme.test/x), {{unsubscribe_link}}.",
            )
            .0,
            &field,
            &links,
        );
        assert!(!text.html);
        assert_eq!(
            text.body,
            "See https://x.test/c/0?https://acme.test/a?b=1&c=2. Or (https://x.test/c/1?http://acme.test/x), https://x.test/u/t."
        );
        let html = render(
            &parse_text("S").0,
            &parse_text(
                "<html><body><a class=x href=\"https://acme.test/a?b=1&amp;c=2&#38;d\">https://acme.test/a</a> \
                 <img src=\"https://cdn.acme.test/logo.png\"> <a href='{{unsubscribe_link}}'>u</a>&nbsp;| Acme</body></html>",
            )
            .0,
            &field,
            &links,
        );
        assert_eq!(
            html.body,
            "<html><body><a class=x href=\"https://x.test/c/0?https://acme.test/a?b=1&amp;c=2&amp;d\">https://acme.test/a</a> \
             <img src=\"https://cdn.acme.test/logo.png\"> <a href='https://x.test/u/t'>u</a>&nbsp;| Acme\
             <img src=\"https://x.test/o/p\" width=\"1\" height=\"1\" alt=\"\" style=\"display:block;border:0\"></body></html>"
        );
    }

    #[test]
    fn a_contact_value_never_chooses_where_a_redirect_goes() {
        let click = |n: usize, url: &str| format!("https://x.test/c/{n}?{url}");
        let links = Links {
            unsubscribe: "https://x.test/u/t",
            pixel: None,
            click: Some(&click),
        };
        let site = |name: &str| match name {
            "website" => Some("https://evil.test/login".to_string()),
            "path" => Some("pricing?plan=pro".to_string()),
            _ => None,
        };
        let text = render(
            &parse_text("S").0,
            &parse_text("See {{website}} and https://acme.test/{{path}} and https://{{website}}").0,
            &site,
            &links,
        );
        assert_eq!(
            text.body,
            "See https://evil.test/login and https://x.test/c/0?https://acme.test/pricing?plan=pro and https://https://evil.test/login"
        );
        let html = render(
            &parse_text("S").0,
            &parse_text(
                "<p><a href=\"{{website}}\">site</a> <a href=\"https://acme.test/{{path}}\">p</a></p>",
            )
            .0,
            &site,
            &links,
        );
        assert_eq!(
            html.body,
            "<p><a href=\"https://evil.test/login\">site</a> <a href=\"https://x.test/c/0?https://acme.test/pricing?plan=pro\">p</a></p>"
        );
    }

    #[test]
    fn references_in_attributes_are_read_as_the_browser_reads_them() {
        assert_eq!(
            html_unescape("a&amp;b&#38;c&#x26;d&lt;&nbsp;&#xFFFFFFFF;&"),
            "a&b&c&d<&nbsp;&#xFFFFFFFF;&"
        );
        assert_eq!(hrefs("<a href=x>"), vec![(8, 9)]);
        assert_eq!(hrefs("<A HREF = 'y' >"), vec![(11, 12)]);
        assert_eq!(hrefs("<abbr href=\"z\"><link href=\"w\">"), vec![]);
    }

    proptest::proptest! {
        #[test]
        fn no_body_makes_link_tracking_panic(body in "\\PC{0,120}", html in proptest::bool::ANY) {
            let click = |n: usize, url: &str| format!("https://x.test/c/{n}?{url}");
            let _ = track_clicks(&body, html, &[], &click);
            let _ = hrefs(&body);
            let _ = html_unescape(&body);
        }
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
