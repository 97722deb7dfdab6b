//! What a message that arrives in a sending mailbox is: a reply, an automatic answer (and the
//! day it says the person is back), a bounce, an abuse report, or nothing to act on; and which
//! of our messages it names. The MIME structure is read by `mail-parser`; this module only
//! decides what the parts mean. Nothing here touches the network or the database.
//!
//! The rules, in order (the first that holds decides):
//!
//! 1. `multipart/report; report-type=delivery-status` is a delivery status notification: a
//!    recipient whose `Action` is `failed` (or whose `Status` is 5.x.x) makes it a permanent
//!    bounce, `delayed` (or 4.x.x) a transient one; a report of delivery only is ignored.
//! 2. `multipart/report; report-type=feedback-report` (ARF) is an abuse report.
//! 3. Other reports (read receipts, `disposition-notification`) are ignored.
//! 4. A message from a mailer daemon or postmaster, or with a bounce's subject, in the shapes
//!    Exim, qmail and older Postfix and Exchange send without a report part, is a bounce: a
//!    transient one when its text says so ("delayed", "will retry", a 4.x.x status).
//! 5. The header `Auto-Submitted` (any value but `no`), `X-Autoreply`, `X-Autorespond` or
//!    `X-Autoresponder` (any value but `no`), or `Precedence: auto_reply`; or a subject that
//!    reads like an automatic answer in English, Chinese, German, French, Spanish or Japanese,
//!    makes an automatic answer; so does a short message whose first lines say the person is
//!    away and name the day they are back, and that quotes nothing.
//! 6. Anything else is a reply.
//!
//! An automatic answer's return day is read from its subject and the first part of its text
//! (quoted lines left out): a date near words like "back", "until", "返回", "zurück",
//! "retour", "regreso" or "戻". See [`return_day`].

use std::sync::LazyLock;

use chrono::{Datelike, NaiveDate};
use mail_parser::{Message, MessageParser, MimeHeaders, PartType};
use regex::Regex;

/// How a message names one of ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// Its `In-Reply-To` header.
    InReplyTo,
    /// Its `References` header.
    References,
    /// The copy of our message (or of its headers) a bounce or an abuse report carries.
    Returned,
}

impl Via {
    pub fn name(self) -> &'static str {
        match self {
            Via::InReplyTo => "In-Reply-To",
            Via::References => "References",
            Via::Returned => "the returned message",
        }
    }
}

/// What a message is.
#[derive(Debug, Clone, PartialEq)]
pub enum Class {
    /// A person's answer.
    Reply,
    /// An out-of-office or other automatic answer; `back`, the day it says the person returns.
    AutoReply { back: Option<NaiveDate> },
    /// A delivery failure. `permanent`: the server gave up (5.x.x, `failed`); otherwise it is
    /// still trying. `recipient`: the address that failed, when the report says.
    Bounce {
        permanent: bool,
        recipient: Option<String>,
        status: Option<String>,
    },
    /// An abuse report (ARF): the recipient marked our message as spam.
    Abuse { recipient: Option<String> },
    /// Nothing to act on (a read receipt, a report of delivery); `why` says what it is.
    Ignored { why: &'static str },
}

impl Class {
    /// A short name, as the mail log shows it.
    pub fn name(&self) -> &'static str {
        match self {
            Class::Reply => "reply",
            Class::AutoReply { .. } => "auto_reply",
            Class::Bounce {
                permanent: true, ..
            } => "bounce",
            Class::Bounce { .. } => "transient bounce",
            Class::Abuse { .. } => "abuse report",
            Class::Ignored { .. } => "ignored",
        }
    }

    /// The event it gives, when it gives one: `replied`, `auto_reply`, `bounced` (permanent
    /// only: a transient failure is retried by the server) or `unsubscribed` (an abuse report).
    pub fn event(&self) -> Option<&'static str> {
        match self {
            Class::Reply => Some("replied"),
            Class::AutoReply { .. } => Some("auto_reply"),
            Class::Bounce {
                permanent: true, ..
            } => Some("bounced"),
            Class::Abuse { .. } => Some("unsubscribed"),
            Class::Bounce { .. } | Class::Ignored { .. } => None,
        }
    }
}

/// A message read and classified.
#[derive(Debug, Clone, PartialEq)]
pub struct Inbound {
    /// Its own Message-ID, without angle brackets.
    pub message_id: Option<String>,
    /// The sender's address (`From`), lower-cased.
    pub from: Option<String>,
    pub subject: String,
    /// Its `Date`, in seconds since the epoch.
    pub date: Option<i64>,
    /// The Message-IDs it names (without angle brackets), most telling first: `In-Reply-To`,
    /// then `References` newest first, then those of a returned copy of our message.
    pub names: Vec<(String, Via)>,
    pub class: Class,
}

/// Parses a message with `mail-parser`. A message the parser cannot take is `None`, even one
/// that trips an assertion of its own (a `debug_assert!` reachable by crafted input panics in
/// debug builds): a stranger's mail never stops the reader.
fn parse(raw: &[u8]) -> Option<Message<'_>> {
    std::panic::catch_unwind(|| MessageParser::default().parse(raw))
        .ok()
        .flatten()
}

/// Reads a raw message. `today` is the day it arrived (the year of a return day that names
/// none is taken from it). `None` when the bytes are not a message at all.
pub fn read(raw: &[u8], today: NaiveDate) -> Option<Inbound> {
    let msg = parse(raw)?;
    if msg.headers().is_empty() {
        return None;
    }
    let from = msg
        .from()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .map(|a| a.trim().to_ascii_lowercase());
    let subject = msg.subject().unwrap_or("").trim().to_string();
    let mut names = Vec::new();
    for id in header_ids(msg.in_reply_to()) {
        push_name(&mut names, id, Via::InReplyTo);
    }
    for id in header_ids(msg.references()).into_iter().rev() {
        push_name(&mut names, id, Via::References);
    }
    let class = classify(&msg, &subject, from.as_deref(), today, &mut names);
    Some(Inbound {
        message_id: msg.message_id().map(bare_id).filter(|s| !s.is_empty()),
        from,
        subject,
        date: msg.date().map(|d| d.to_timestamp()),
        names,
        class,
    })
}

/// A Message-ID as we compare them: trimmed, without angle brackets.
pub fn bare_id(id: &str) -> String {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim()
        .to_string()
}

fn push_name(names: &mut Vec<(String, Via)>, id: String, via: Via) {
    if !id.is_empty() && !names.iter().any(|(n, _)| *n == id) {
        names.push((id, via));
    }
}

fn header_ids(v: &mail_parser::HeaderValue) -> Vec<String> {
    match v {
        mail_parser::HeaderValue::Text(t) => vec![bare_id(t)],
        mail_parser::HeaderValue::TextList(l) => l.iter().map(|t| bare_id(t)).collect(),
        _ => Vec::new(),
    }
}

fn classify(
    msg: &Message,
    subject: &str,
    from: Option<&str>,
    today: NaiveDate,
    names: &mut Vec<(String, Via)>,
) -> Class {
    if let Some(ct) = msg.root_part().content_type() {
        let is = |t: &str, s: &str| {
            ct.ctype().eq_ignore_ascii_case(t)
                && ct.subtype().is_some_and(|x| x.eq_ignore_ascii_case(s))
        };
        if is("multipart", "report") {
            let kind = ct
                .attribute("report-type")
                .unwrap_or("")
                .to_ascii_lowercase();
            returned_ids(msg, names);
            return match kind.as_str() {
                "delivery-status" => delivery_status(msg),
                "feedback-report" => Class::Abuse {
                    recipient: feedback_recipient(msg),
                },
                "disposition-notification" => Class::Ignored {
                    why: "a read receipt",
                },
                _ => Class::Ignored {
                    why: "a report of another kind",
                },
            };
        }
    }
    let text = plain_text(msg);
    if looks_like_bounce(msg, subject, from) {
        returned_ids(msg, names);
        inline_ids(&text, names);
        return plain_bounce(&text, from);
    }
    if is_automatic(msg, subject, &text, today) {
        // The answer's own text first: a subject that repeats ours may carry a date of ours.
        let back =
            return_day(&own_lines(&text, TEXT_READ), today).or_else(|| return_day(subject, today));
        return Class::AutoReply { back };
    }
    // A list's or a newsletter's mail from a contact's address answers nothing of ours.
    let header = |n: &str| header_lower(msg, n);
    let bulk = header("Precedence").is_some_and(|v| matches!(v.as_str(), "bulk" | "list" | "junk"))
        || msg.header_raw("List-Id").is_some();
    if bulk && names.is_empty() {
        return Class::Ignored {
            why: "a mailing list's or a newsletter's message",
        };
    }
    Class::Reply
}

/// A header's value, trimmed and lower-cased (ASCII).
fn header_lower(msg: &Message, name: &str) -> Option<String> {
    msg.header_raw(name).map(|v| v.trim().to_ascii_lowercase())
}

/// How much of a message's text is read for a return day.
const TEXT_READ: usize = 2000;

/// The message's text: its first text part (an HTML one turned into text by `mail-parser`).
fn plain_text(msg: &Message) -> String {
    msg.body_text(0).map(|t| t.into_owned()).unwrap_or_default()
}

/// The lines of a text that are the writer's own (quoted lines and what follows a quote header
/// left out), up to about `max` bytes.
fn own_lines(text: &str, max: usize) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let t = line.trim_start();
        if t.starts_with('>') {
            continue;
        }
        if QUOTE_HEADER.is_match(t) {
            break;
        }
        out.push_str(line);
        out.push('\n');
        if out.len() >= max {
            break;
        }
    }
    out
}

static QUOTE_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(-{2,}\s*(original message|ursprüngliche nachricht|message d'origine|mensaje original|原始邮件|元のメッセージ)|on .{3,80} wrote:$|am .{3,80} schrieb .{0,80}:$|le .{3,80} a écrit\s?:$|el .{3,80} escribió:$|from: .+)",
    )
    .expect("regex")
});

fn looks_like_bounce(msg: &Message, subject: &str, from: Option<&str>) -> bool {
    let local = from
        .and_then(|f| f.split('@').next())
        .unwrap_or("")
        .to_ascii_lowercase();
    if matches!(
        local.as_str(),
        "mailer-daemon" | "postmaster" | "mail-daemon" | "mailerdaemon"
    ) {
        return true;
    }
    if msg
        .header_raw("X-Failed-Recipients")
        .is_some_and(|v| !v.trim().is_empty())
    {
        return true;
    }
    BOUNCE_SUBJECT.is_match(subject)
}

static BOUNCE_SUBJECT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(undeliver(ed|able)\b|undelivered mail returned to sender|mail delivery (failed|failure|subsystem)|delivery (status notification \(failure\)|failure|has failed)|failure notice|returned mail|delivery status notification \(delay\)|warning: message .* delayed|nondeliverable|non remis|unzustellbar|no se puede entregar|退信|无法投递|配信不能|配送不能)",
    )
    .expect("regex")
});

/// A bounce without a report part (Exim, qmail, old Postfix): permanent unless the text says
/// the server is still trying.
fn plain_bounce(text: &str, from: Option<&str>) -> Class {
    let head = &text[..floor_char(text, 6000)];
    let status = STATUS_CODE
        .captures(head)
        .map(|c| c.get(1).map_or("", |m| m.as_str()).to_string());
    let permanent = match &status {
        Some(s) if s.starts_with('4') => false,
        Some(s) if s.starts_with('5') => true,
        _ if TRANSIENT.is_match(head) => false,
        _ if PERMANENT.is_match(head) => true,
        // A notice from a mail server that reports no failure (a quarantine, a held message).
        _ => {
            return Class::Ignored {
                why: "a notice from a mail server that reports no failed delivery",
            }
        }
    };
    let recipient = EMAIL
        .find_iter(head)
        .map(|m| {
            m.as_str()
                .trim_matches(|c| c == '<' || c == '>')
                .to_ascii_lowercase()
        })
        .find(|a| Some(a.as_str()) != from && !is_daemon(a));
    Class::Bounce {
        permanent,
        recipient,
        status,
    }
}

fn is_daemon(a: &str) -> bool {
    let local = a.split('@').next().unwrap_or("");
    local.eq_ignore_ascii_case("mailer-daemon") || local.eq_ignore_ascii_case("postmaster")
}

static TRANSIENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(delivery (has been|is) delayed|not yet been delivered|will (keep trying|retry|be retried|continue trying)|temporar(y|ily) (failure|problem|error)|this is a temporary error|delay(ed)? notification|still trying)",
    )
    .expect("regex")
});

static PERMANENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(permanent (error|failure)|could not be delivered|couldn't be delivered|wasn't able to deliver|was not delivered|undeliverable|delivery (has )?failed|user unknown|unknown user|no such (user|mailbox|recipient)|does not exist|doesn't exist|mailbox (unavailable|not found)|address rejected|recipient rejected|\b55[0-4][ -])",
    )
    .expect("regex")
});

static STATUS_CODE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b([45]\.\d{1,3}\.\d{1,3})\b").expect("regex"));

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"<?[A-Za-z0-9._%+'=-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+>?").expect("regex")
});

/// The recipients of a `message/delivery-status` part.
fn delivery_status(msg: &Message) -> Class {
    let mut failed: Option<(Option<String>, Option<String>)> = None;
    let mut delayed: Option<(Option<String>, Option<String>)> = None;
    for part in &msg.parts {
        let Some(ct) = part.content_type() else {
            continue;
        };
        let sub = ct.subtype().unwrap_or("").to_ascii_lowercase();
        if !ct.ctype().eq_ignore_ascii_case("message")
            || !(sub == "delivery-status" || sub == "global-delivery-status")
        {
            continue;
        }
        let body = String::from_utf8_lossy(part.contents()).replace("\r\n", "\n");
        // The first block is about the message; each later one about a recipient.
        for block in body.split("\n\n").skip(1) {
            let fields = block_fields(block);
            let get = |n: &str| {
                fields
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(n))
                    .map(|(_, v)| v.as_str())
            };
            let action = get("Action").unwrap_or("").trim().to_ascii_lowercase();
            let status =
                get("Status").map(|s| s.split_whitespace().next().unwrap_or("").to_string());
            let recipient = get("Final-Recipient")
                .or_else(|| get("Original-Recipient"))
                .map(|r| {
                    r.rsplit(';')
                        .next()
                        .unwrap_or(r)
                        .trim()
                        .to_ascii_lowercase()
                })
                .filter(|r| !r.is_empty());
            let perm = action == "failed"
                || (action.is_empty() && status.as_deref().is_some_and(|s| s.starts_with('5')));
            let temp = action == "delayed"
                || (action.is_empty() && status.as_deref().is_some_and(|s| s.starts_with('4')));
            if perm && failed.is_none() {
                failed = Some((recipient, status));
            } else if temp && delayed.is_none() {
                delayed = Some((recipient, status));
            }
        }
    }
    match (failed, delayed) {
        (Some((recipient, status)), _) => Class::Bounce {
            permanent: true,
            recipient,
            status,
        },
        (None, Some((recipient, status))) => Class::Bounce {
            permanent: false,
            recipient,
            status,
        },
        (None, None) => Class::Ignored {
            why: "a report of delivery",
        },
    }
}

/// The `Name: value` fields of a block of a report (folded lines unfolded).
fn block_fields(block: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in block.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, v)) = out.last_mut() {
                v.push(' ');
                v.push_str(line.trim());
            }
        } else if let Some((k, v)) = line.split_once(':') {
            out.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    out
}

/// The recipient an abuse report names (`Original-Rcpt-To`), when it does.
fn feedback_recipient(msg: &Message) -> Option<String> {
    for part in &msg.parts {
        let Some(ct) = part.content_type() else {
            continue;
        };
        if ct.ctype().eq_ignore_ascii_case("message")
            && ct
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("feedback-report"))
        {
            let body = String::from_utf8_lossy(part.contents()).into_owned();
            for (k, v) in block_fields(&body) {
                if k.eq_ignore_ascii_case("Original-Rcpt-To") {
                    return Some(v.trim_matches(['<', '>']).to_ascii_lowercase());
                }
            }
        }
    }
    None
}

/// The Message-IDs of the copies of our message a report or a bounce carries (a
/// `message/rfc822` part, or `text/rfc822-headers`).
fn returned_ids(msg: &Message, names: &mut Vec<(String, Via)>) {
    for part in &msg.parts {
        match &part.body {
            PartType::Message(inner) => {
                if let Some(id) = inner.message_id() {
                    push_name(names, bare_id(id), Via::Returned);
                }
            }
            _ => {
                let Some(ct) = part.content_type() else {
                    continue;
                };
                let sub = ct.subtype().unwrap_or("").to_ascii_lowercase();
                if (ct.ctype().eq_ignore_ascii_case("text") && sub == "rfc822-headers")
                    || (ct.ctype().eq_ignore_ascii_case("message")
                        && (sub == "rfc822-headers" || sub == "global-headers"))
                {
                    let headers = std::panic::catch_unwind(|| {
                        MessageParser::default().parse_headers(part.contents())
                    });
                    if let Ok(Some(h)) = headers {
                        if let Some(id) = h.message_id() {
                            push_name(names, bare_id(id), Via::Returned);
                        }
                    }
                }
            }
        }
    }
}

/// Message-IDs written in a bounce's text, where Exim and qmail copy the original message.
fn inline_ids(text: &str, names: &mut Vec<(String, Via)>) {
    for c in INLINE_ID.captures_iter(text) {
        push_name(names, bare_id(&c[1]), Via::Returned);
    }
}

static INLINE_ID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?im)^\s*message-id:\s*(<[^>\s]+>)").expect("regex"));

fn is_automatic(msg: &Message, subject: &str, text: &str, today: NaiveDate) -> bool {
    let header = |n: &str| header_lower(msg, n);
    if header("Auto-Submitted").is_some_and(|v| !v.is_empty() && !v.starts_with("no")) {
        return true;
    }
    if ["X-Autoreply", "X-Autorespond", "X-Autoresponder"]
        .iter()
        .any(|h| header(h).is_some_and(|v| !v.is_empty() && v != "no"))
    {
        return true;
    }
    if header("Precedence").is_some_and(|v| v == "auto_reply") {
        return true;
    }
    if AUTO_SUBJECT.is_match(subject) {
        return true;
    }
    // A short message whose first lines say the person is away and when they are back, and
    // that quotes nothing (a person who answers quotes us; an out-of-office system does not):
    // some systems set no header and no subject of their own.
    let own = own_lines(text, 1200);
    let quotes = own.len() + 2 < text.len()
        && text
            .lines()
            .any(|l| l.trim_start().starts_with('>') || QUOTE_HEADER.is_match(l.trim_start()));
    own.len() < 1200
        && !quotes
        && AWAY_TEXT.is_match(&own[..floor_char(&own, 300)])
        && return_day(&own, today).is_some()
}

static AUTO_SUBJECT: LazyLock<Regex> = LazyLock::new(|| {
    // At the start only: a reply to a subject of ours that says "out of office" is a reply.
    Regex::new(
        r"(?i)^\s*(auto(matic)?[ -]?(reply|response|antwort)|automatische antwort|réponse automatique|respuesta automática|respuesta automatica|autoreply|auto:|abwesend\b|absent\b|out of (the )?office|abwesenheitsnotiz|abwesenheit\b|absence du bureau|fuera de la oficina|自动回复|自動回復|自動応答|自動返信|不在通知|休假通知|不在のお知らせ)",
    )
    .expect("regex")
});

static AWAY_TEXT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(i am (currently )?(out of (the )?office|away|on (vacation|holiday|leave|annual leave|parental leave))|i'm (currently )?(out of (the )?office|away|on (vacation|holiday|leave))|ich bin (derzeit |zurzeit |bis .{1,30} )?(nicht im büro|abwesend|im urlaub)|je suis (actuellement )?(absent|absente|en congés?|en vacances)|estoy (actualmente )?(fuera de la oficina|de vacaciones|ausente)|我(目前|现在)?(正在)?(休假|不在办公室|出差)|不在にしております|休暇を(いただいて|取って)おります)",
    )
    .expect("regex")
});

/// The largest char boundary at or below `at`.
fn floor_char(s: &str, at: usize) -> usize {
    let mut i = at.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The day an automatic answer says its writer is back, read from its text: the latest date
/// written near a word that speaks of coming back or of an end ("back", "return", "until",
/// "返回", "回来", "戻", "まで", "zurück", "bis", "retour", "jusqu'au", "regreso", "hasta"...).
///
/// Dates are read in these forms: `2027-03-12`; `12 March`, `12th of March`, `March 12th`,
/// `12. März`, `12 mars`, `12 de marzo` (with a year or without); `3月12日` and `2027年3月12日`;
/// and numbers with slashes or dots, day first (`12/03`, `12.3.2027`) except in English text,
/// where `3/12` is month first unless its first number cannot be a month. A date without a
/// year is in the year of `today`, or the next one when it would be more than a week before.
pub fn return_day(text: &str, today: NaiveDate) -> Option<NaiveDate> {
    // Full-width digits and slashes (３月１２日, １２／３) read as ASCII ones.
    let lower: String = text
        .to_lowercase()
        .chars()
        .map(|c| match c {
            '０'..='９' => char::from(b'0' + (c as u32 - '０' as u32) as u8),
            '／' => '/',
            _ => c,
        })
        .collect();
    let mut best: Option<NaiveDate> = None;
    let latest = today + chrono::Duration::days(MAX_AWAY_DAYS);
    let mut take = |d: Option<NaiveDate>| {
        if let Some(d) = d.filter(|d| *d <= latest) {
            if best.is_none_or(|b| d > b) {
                best = Some(d);
            }
        }
    };
    // Chinese and Japanese: a month-day date next to a word of return or of an end.
    for c in CJK_DATE.captures_iter(&lower) {
        let m = c.get(0).expect("whole match");
        let before = &lower[floor_char(&lower, m.start().saturating_sub(15))..m.start()];
        let after = &lower[m.end()..floor_char(&lower, m.end() + 24)];
        if CJK_NEAR.is_match(before) || CJK_NEAR.is_match(after) {
            let year = c.get(1).and_then(|y| y.as_str().parse().ok());
            let month = c[2].parse().ok();
            let day = c[3].parse().ok();
            take(make_day(year, month, day, today));
        }
    }
    // Latin-script languages: a date within a short window after a trigger word.
    for t in TRIGGER.captures_iter(&lower) {
        let english = t.name("en").is_some();
        let m = t.get(0).expect("whole match");
        let window = &lower[m.end()..floor_char(&lower, m.end() + 60)];
        take(first_date(window, english, today));
    }
    best
}

/// A return day further away than this is not believed (a typo, a year of 9999): the pause is
/// then the cadence's default one.
pub const MAX_AWAY_DAYS: i64 = 180;

static CJK_DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:(\d{4})\s*年\s*)?(\d{1,2})\s*月\s*(\d{1,2})\s*[日号號]").expect("regex")
});

static CJK_NEAR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(返回|回来|回到|回復|回复|回归|上班|复工|办公室|休假|不在|至|到|戻|まで|以降|出社|休暇|帰)")
        .expect("regex")
});

static TRIGGER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?P<en>\b(back|return|returning|returns|until|till|through|thru|resume)\b)|(?P<de>\b(zurück|wieder|bis|ab dem|ab)\b)|(?P<fr>\b(retour|reviendrai|rentre|jusqu'au|jusqu’au|jusqu'à|jusqu’à|à partir du)\b)|(?P<es>\b(regreso|regresaré|regresare|vuelta|volveré|volvere|vuelvo|hasta|a partir del)\b)",
    )
    .expect("regex")
});

const MONTHS: &[(&str, u32)] = &[
    ("january", 1),
    ("jan", 1),
    ("januar", 1),
    ("jänner", 1),
    ("janvier", 1),
    ("enero", 1),
    ("february", 2),
    ("feb", 2),
    ("februar", 2),
    ("février", 2),
    ("fevrier", 2),
    ("febrero", 2),
    ("march", 3),
    ("mar", 3),
    ("märz", 3),
    ("maerz", 3),
    ("mars", 3),
    ("marzo", 3),
    ("april", 4),
    ("apr", 4),
    ("avril", 4),
    ("abril", 4),
    ("may", 5),
    ("mai", 5),
    ("mayo", 5),
    ("june", 6),
    ("jun", 6),
    ("juni", 6),
    ("juin", 6),
    ("junio", 6),
    ("july", 7),
    ("jul", 7),
    ("juli", 7),
    ("juillet", 7),
    ("julio", 7),
    ("august", 8),
    ("aug", 8),
    ("août", 8),
    ("aout", 8),
    ("agosto", 8),
    ("september", 9),
    ("sep", 9),
    ("sept", 9),
    ("septembre", 9),
    ("septiembre", 9),
    ("setiembre", 9),
    ("october", 10),
    ("oct", 10),
    ("oktober", 10),
    ("octobre", 10),
    ("octubre", 10),
    ("november", 11),
    ("nov", 11),
    ("novembre", 11),
    ("noviembre", 11),
    ("december", 12),
    ("dec", 12),
    ("dezember", 12),
    ("décembre", 12),
    ("decembre", 12),
    ("diciembre", 12),
];

fn month_of(name: &str) -> Option<u32> {
    let name = name.trim_end_matches('.');
    MONTHS.iter().find(|(n, _)| *n == name).map(|(_, m)| *m)
}

static DATE_FORMS: LazyLock<Regex> = LazyLock::new(|| {
    let months = MONTHS.iter().map(|(n, _)| *n).collect::<Vec<_>>().join("|");
    Regex::new(&format!(
        r"(?P<iso>\b(?P<iy>\d{{4}})-(?P<im>\d{{1,2}})-(?P<id>\d{{1,2}})\b)|(?P<dm>\b(?P<dd>\d{{1,2}})(?:st|nd|rd|th|er|\.|º)?\s*(?:of\s+|de\s+)?(?P<dmon>{months})\.?(?:\s+(?:de\s+)?(?P<dy>\d{{4}}))?\b)|(?P<md>\b(?P<mmon>{months})\.?\s+(?P<md_d>\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(?P<my>\d{{4}}))?)|(?P<num>\b(?P<n1>\d{{1,2}})[./](?P<n2>\d{{1,2}})(?:[./](?P<ny>\d{{2,4}}))?\b)"
    ))
    .expect("regex")
});

static TIME_AFTER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*(uhr|h\b|am\b|pm\b|a\.m\.|p\.m\.|o'clock|hrs\b|horas\b)").expect("regex")
});

static TIME_BEFORE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(\bat|\bum|\bà|\ba las|\bvers)\s*$").expect("regex"));

/// The first date in `window`.
fn first_date(window: &str, english: bool, today: NaiveDate) -> Option<NaiveDate> {
    for c in DATE_FORMS.captures_iter(window) {
        let num = |n: &str| c.name(n).and_then(|m| m.as_str().parse::<u32>().ok());
        let year = |n: &str| {
            c.name(n)
                .and_then(|m| m.as_str().parse::<i32>().ok())
                .map(|y| if y < 100 { 2000 + y } else { y })
        };
        let d = if c.name("iso").is_some() {
            make_day(year("iy"), num("im"), num("id"), today)
        } else if c.name("dm").is_some() {
            make_day(
                year("dy"),
                c.name("dmon").and_then(|m| month_of(m.as_str())),
                num("dd"),
                today,
            )
        } else if c.name("md").is_some() {
            make_day(
                year("my"),
                c.name("mmon").and_then(|m| month_of(m.as_str())),
                num("md_d"),
                today,
            )
        } else {
            let m = c.name("num").expect("the numeric form");
            let after = &window[m.end()..];
            let before = &window[..m.start()];
            let dotted = m.as_str().contains('.');
            // A time, not a date: "at 4.30", "um 14.05 Uhr", "9/10 am".
            if TIME_AFTER.is_match(after) || TIME_BEFORE.is_match(before) {
                continue;
            }
            let (a, b) = (num("n1")?, num("n2")?);
            if english && dotted {
                // English writes dates with slashes; "1.15" is a time or a number.
                continue;
            }
            if english && a <= 12 && b <= 12 && a != b {
                // 12/03: the 12th of March in Britain, the 3rd of December in America. The
                // one nearer after today is the one an out-of-office answer means.
                let us = make_day(year("ny"), Some(a), Some(b), today);
                let uk = make_day(year("ny"), Some(b), Some(a), today);
                let ahead = |d: Option<NaiveDate>| d.map(|d| (d - today).num_days().abs());
                if ahead(uk) < ahead(us) {
                    uk
                } else {
                    us
                }
            } else {
                let (month, day) = if english && a <= 12 { (a, b) } else { (b, a) };
                make_day(year("ny"), Some(month), Some(day), today)
            }
        };
        if d.is_some() {
            return d;
        }
    }
    None
}

fn make_day(
    year: Option<i32>,
    month: Option<u32>,
    day: Option<u32>,
    today: NaiveDate,
) -> Option<NaiveDate> {
    let (month, day) = (month?, day?);
    match year {
        Some(y) => NaiveDate::from_ymd_opt(y, month, day),
        None => {
            let d = NaiveDate::from_ymd_opt(today.year(), month, day)?;
            if d < today - chrono::Duration::days(7) {
                NaiveDate::from_ymd_opt(today.year() + 1, month, day)
            } else {
                Some(d)
            }
        }
    }
}

/// An address as replies are matched on it: lower-cased, without a `+tag` in its local part,
/// and for Gmail without dots (`j.doe+x@googlemail.com` reads `jdoe@gmail.com`).
pub fn address_key(address: &str) -> String {
    let a = address
        .trim()
        .rsplit('<')
        .next()
        .unwrap_or(address)
        .trim_end_matches('>')
        .trim()
        .to_lowercase();
    let Some((local, domain)) = a.rsplit_once('@') else {
        return a;
    };
    let local = local.split('+').next().unwrap_or(local);
    let domain = if domain == "googlemail.com" {
        "gmail.com"
    } else {
        domain
    };
    if domain == "gmail.com" {
        format!("{}@{domain}", local.replace('.', ""))
    } else {
        format!("{local}@{domain}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn return_days_in_six_languages() {
        let today = day(2027, 3, 1);
        for (text, want) in [
            (
                "I am out of the office and will be back on 12 March.",
                day(2027, 3, 12),
            ),
            ("I'm away until Friday, March 12th, 2027.", day(2027, 3, 12)),
            ("Back in the office on 2027-03-12", day(2027, 3, 12)),
            ("Out until 3/12, limited access to email", day(2027, 3, 12)),
            ("我将于3月12日返回办公室", day(2027, 3, 12)),
            ("本人3月1日至3月12日休假", day(2027, 3, 12)),
            ("3月12日まで不在にしております", day(2027, 3, 12)),
            ("2027年3月12日に戻ります", day(2027, 3, 12)),
            ("Ich bin bis zum 12. März nicht im Büro.", day(2027, 3, 12)),
            (
                "Ab dem 12.03.2027 bin ich wieder erreichbar.",
                day(2027, 3, 12),
            ),
            ("Je serai de retour le 12 mars.", day(2027, 3, 12)),
            ("Absent jusqu'au 12/03/2027.", day(2027, 3, 12)),
            ("Estaré fuera hasta el 12 de marzo.", day(2027, 3, 12)),
            ("Regreso el 12/03.", day(2027, 3, 12)),
        ] {
            assert_eq!(return_day(text, today), Some(want), "{text}");
        }
    }

    #[test]
    fn a_day_long_past_is_next_year() {
        assert_eq!(
            return_day("back on 2 January", day(2026, 12, 28)),
            Some(day(2027, 1, 2))
        );
        assert_eq!(return_day("I am out of the office.", day(2027, 3, 1)), None);
        assert_eq!(return_day("back on 31 February", day(2027, 3, 1)), None);
    }

    #[test]
    fn times_far_days_and_full_width_digits() {
        let today = day(2027, 3, 1);
        for text in [
            "I am out, back at 4.30",
            "Ich bin bis 14.05 Uhr im Termin",
            "Away until 1.15",
            "Out until 12 March 9999",
        ] {
            assert_eq!(return_day(text, today), None, "{text}");
        }
        assert_eq!(
            return_day("Out of office until 12/03/2027", today),
            Some(day(2027, 3, 12)),
            "a British date near today"
        );
        assert_eq!(
            return_day("３月１２日まで不在", today),
            Some(day(2027, 3, 12))
        );
    }

    fn classify_text(headers: &str, body: &str) -> Class {
        let raw = format!(
            "From: Ann <ann@acme.test>\r\nTo: sales@us.test\r\nMessage-ID: <r1@acme.test>\r\n{headers}\r\n{body}"
        );
        read(raw.as_bytes(), day(2027, 3, 1)).unwrap().class
    }

    #[test]
    fn people_who_mention_being_away_are_replies() {
        let reply = "Subject: Re: Quick question\r\nIn-Reply-To: <7.1.ab@us.test>\r\n";
        assert_eq!(
            classify_text(
                reply,
                "I'm on vacation this week but yes, let's talk Tuesday.\r\n"
            ),
            Class::Reply
        );
        assert_eq!(
            classify_text(
                reply,
                "I am on vacation until March 12, call me then!\r\n\r\nOn Mon, 1 Mar 2027, Sales wrote:\r\n> Hi Ann\r\n"
            ),
            Class::Reply,
            "it quotes us"
        );
        assert_eq!(
            classify_text(
                "Subject: Re: Tired of out-of-office chaos?\r\nIn-Reply-To: <7.1.ab@us.test>\r\n",
                "Yes, tell me more.\r\n"
            ),
            Class::Reply,
            "our own subject says out of office"
        );
        assert_eq!(
            classify_text(reply, "I am out of the office until March 12.\r\n"),
            Class::AutoReply {
                back: Some(day(2027, 3, 12))
            },
            "no header, but short, unquoted, away and a day"
        );
    }

    #[test]
    fn the_answers_own_text_names_the_day_before_the_subject() {
        assert_eq!(
            classify_text(
                "Subject: Automatic reply: Early-bird pricing until 31 March\r\nAuto-Submitted: auto-replied\r\n",
                "I am out of the office until 12 March.\r\n"
            ),
            Class::AutoReply {
                back: Some(day(2027, 3, 12))
            }
        );
    }

    #[test]
    fn notices_and_lists_are_not_bounces_or_replies() {
        let notice = "From: postmaster@acme.test\r\nSubject: Message held for review\r\n\r\nYour message to ann@acme.test is held for review.\r\nMessage-ID: <7.1.ab@us.test>\r\n";
        let m = read(notice.as_bytes(), day(2027, 3, 1)).unwrap();
        assert!(matches!(m.class, Class::Ignored { .. }), "{:?}", m.class);
        assert!(matches!(
            classify_text(
                "Subject: Our March newsletter\r\nList-Id: <news.acme.test>\r\n",
                "News.\r\n"
            ),
            Class::Ignored { .. }
        ));
    }

    #[test]
    fn address_keys_fold_aliases() {
        assert_eq!(address_key("J.Doe+promo@GoogleMail.com"), "jdoe@gmail.com");
        assert_eq!(address_key("Ann <ann+x@acme.test>"), "ann@acme.test");
        assert_eq!(address_key("a.b@acme.test"), "a.b@acme.test");
    }

    #[test]
    fn a_different_local_part_is_a_different_address_key() {
        assert_eq!(
            address_key("Ann+News@ACME.test"),
            address_key("ann@acme.test")
        );
        assert_ne!(address_key("anne@acme.test"), address_key("ann@acme.test"));
        assert_ne!(
            address_key("ann.b+x@acme.test"),
            address_key("annb@acme.test"),
            "dots fold at Gmail only"
        );
    }

    /// A message with no out-of-office words in its subject or text.
    const PLAIN: &str = "Subject: Re: your note\r\nIn-Reply-To: <7.1.ab@us.test>\r\n";

    #[test]
    fn a_plain_message_without_an_automatic_header_is_a_reply() {
        assert_eq!(classify_text(PLAIN, "Thanks\r\n"), Class::Reply);
    }

    #[test]
    fn an_x_autorespond_header_makes_an_automatic_answer() {
        assert_eq!(
            classify_text(&format!("{PLAIN}X-Autorespond: yes\r\n"), "Thanks\r\n"),
            Class::AutoReply { back: None }
        );
    }

    #[test]
    fn precedence_auto_reply_makes_an_automatic_answer() {
        assert_eq!(
            classify_text(&format!("{PLAIN}Precedence: auto_reply\r\n"), "Thanks\r\n"),
            Class::AutoReply { back: None }
        );
    }

    #[test]
    fn a_plain_reply_names_our_message() {
        let raw = b"From: Ann <ann@acme.test>\r\nTo: sales@us.test\r\nSubject: Re: Hello\r\nMessage-ID: <r1@acme.test>\r\nIn-Reply-To: <7.1.ab@us.test>\r\nReferences: <1.1.ab@us.test> <7.1.ab@us.test>\r\n\r\nSounds good, call me.\r\n";
        let m = read(raw, day(2027, 3, 1)).unwrap();
        assert_eq!(m.class, Class::Reply);
        assert_eq!(m.from.as_deref(), Some("ann@acme.test"));
        assert_eq!(m.message_id.as_deref(), Some("r1@acme.test"));
        assert_eq!(
            m.names,
            vec![
                ("7.1.ab@us.test".to_string(), Via::InReplyTo),
                ("1.1.ab@us.test".to_string(), Via::References)
            ]
        );
    }

    #[test]
    fn no_bytes_make_the_reader_panic() {
        for raw in [
            &b""[..],
            b"\r\n\r\n",
            b"From:",
            b"Content-Type: multipart/report\r\n\r\n",
        ] {
            let _ = read(raw, day(2027, 3, 1));
        }
    }

    proptest::proptest! {
        #[test]
        fn no_message_makes_the_reader_panic(raw in proptest::collection::vec(proptest::num::u8::ANY, 0..600)) {
            let _ = read(&raw, day(2027, 3, 1));
        }

        #[test]
        fn no_text_makes_the_day_reader_panic(text in "\\PC{0,200}") {
            let _ = return_day(&text, day(2027, 3, 1));
        }
    }
}
