//! What counts as an email address: for a contact's `email` field, and for `from` and
//! `reply_to`, which go into headers. A practical subset of RFC 5322: `local@domain` (letters,
//! digits and ``!#$%&'*+-/=?^_`{|}~.`` in the local part, no leading, trailing or doubled dot;
//! a domain of dot-separated labels of letters, digits and `-`; non-ASCII letters allowed for
//! internationalised addresses), or `Display Name <local@domain>`. Nothing with a control
//! character, which could start a header of its own.

/// Why `s` is not an address (`local@domain`), or `None` when it is one.
pub fn addr_spec_problem(s: &str) -> Option<String> {
    if s.chars().any(char::is_control) {
        return Some("it holds a line break or another control character".into());
    }
    let Some((local, domain)) = s.rsplit_once('@') else {
        return Some("it has no `@`".into());
    };
    if local.contains('@') {
        return Some("it has more than one `@`".into());
    }
    if local.is_empty() || local.len() > 64 {
        return Some("the part before `@` is empty or longer than 64 characters".into());
    }
    let local_ok = local
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c) || !c.is_ascii());
    if !local_ok || local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Some(format!(
            "`{local}` is not the part of an address before `@`"
        ));
    }
    if domain.is_empty() || domain.len() > 253 {
        return Some("the domain after `@` is empty or too long".into());
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_alphanumeric() || c == '-')
    };
    if !domain.split('.').all(label_ok) {
        return Some(format!("`{domain}` is not a domain"));
    }
    None
}

/// Why `s` is not a mailbox (`local@domain` or `Name <local@domain>`), or `None`.
pub fn mailbox_problem(s: &str) -> Option<String> {
    if s.chars().any(char::is_control) {
        return Some("it holds a line break or another control character".into());
    }
    let t = s.trim();
    match t.rfind('<') {
        Some(open) => {
            let Some(addr) = t[open + 1..].strip_suffix('>') else {
                return Some("`<` is not closed by a `>` at the end".into());
            };
            let name = t[..open].trim();
            if name.contains(['<', '>']) {
                return Some("the name before `<` holds `<` or `>`".into());
            }
            addr_spec_problem(addr)
        }
        None => addr_spec_problem(t),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        for ok in [
            "ann@example.test",
            "ann.lee+sales@mail.example.co.uk",
            "o'brien@example.test",
            "zoë@exämple.test",
            "sales@localhost",
        ] {
            assert_eq!(addr_spec_problem(ok), None, "{ok}");
        }
        for bad in [
            "g@@b.c",
            "ann",
            "@example.test",
            "ann@",
            "ann lee@example.test",
            "ann@exa mple.test",
            ".ann@example.test",
            "ann..lee@example.test",
            "ann@-example.test",
            "ann@example..test",
            "ann@example.test\r\nBcc: x@evil.test",
        ] {
            assert!(addr_spec_problem(bad).is_some(), "{bad}");
        }
        assert_eq!(mailbox_problem("Sales Team <sales@acme.test>"), None);
        assert!(mailbox_problem("Sales <sales@acme.test").is_some());
        assert!(mailbox_problem("Sales\n <sales@acme.test>").is_some());
        assert!(mailbox_problem("S <a> <sales@acme.test>").is_some());
    }

    proptest::proptest! {
        #[test]
        fn no_text_makes_the_address_check_panic(s in "\\PC{0,80}") {
            let _ = addr_spec_problem(&s);
            let _ = mailbox_problem(&s);
        }
    }
}
