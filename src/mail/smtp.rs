//! Handing messages to an SMTP server with `lettre`: a pooled transport with timeouts, one
//! message per outbox row, with its stable `Message-ID` and the RFC 8058 one-click unsubscribe
//! headers. The server's answer is classified: accepted, refused for good (5xx), or refused for
//! now (4xx, no connection, a timeout).

use std::time::Duration;

use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::Mailbox;
use lettre::transport::smtp::PoolConfig;
use lettre::{Message, SmtpTransport, Transport};

use crate::diagnostic::redact_url;
use crate::store::live::OutboxRow;

/// What the server said about one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// Accepted (250): the reply text.
    Accepted(String),
    /// Refused for good (5xx), or the recipient cannot be written in a header.
    Permanent(String),
    /// Refused for now (4xx), or the server could not be reached.
    Temporary(String),
}

/// An SMTP server, from a URL: `smtp://HOST:PORT` (plain, for a local relay),
/// `smtp://USER:PASS@HOST:587?tls=required` (STARTTLS), `smtps://USER:PASS@HOST` (TLS).
#[derive(Clone)]
pub struct Mailer {
    transport: SmtpTransport,
}

impl Mailer {
    /// Connects lazily: an unreachable server is found out at the first message.
    pub fn new(url: &str, pool: u32, timeout: Duration) -> Result<Mailer, String> {
        let builder = SmtpTransport::from_url(url).map_err(|e| {
            format!(
                "--smtp {}: {e} (write smtp://HOST:PORT, smtp://USER:PASS@HOST:587?tls=required or smtps://USER:PASS@HOST)",
                redact_url(url)
            )
        })?;
        let transport = builder
            .timeout(Some(timeout))
            .pool_config(PoolConfig::new().max_size(pool.max(1)))
            .build();
        Ok(Mailer { transport })
    }

    /// Sends one outbox row.
    pub fn send(&self, row: &OutboxRow) -> Sent {
        let message = match build(row) {
            Ok(m) => m,
            Err(e) => return Sent::Permanent(e),
        };
        match self.transport.send(&message) {
            Ok(r) => Sent::Accepted(format!(
                "{} {}",
                r.code(),
                r.message().collect::<Vec<_>>().join(" ")
            )),
            Err(e) if e.is_permanent() => Sent::Permanent(e.to_string()),
            Err(e) => Sent::Temporary(e.to_string()),
        }
    }
}

/// The message of an outbox row.
pub fn build(row: &OutboxRow) -> Result<Message, String> {
    let m = &row.message;
    let from: Mailbox = m
        .sender
        .parse()
        .map_err(|e| format!("the sender `{}` is not an address: {e}", m.sender))?;
    let to: Mailbox = m
        .recipient
        .parse()
        .map_err(|e| format!("the recipient `{}` is not an address: {e}", m.recipient))?;
    let mut b = Message::builder()
        .from(from)
        .to(to)
        .subject(m.subject.clone())
        .message_id(Some(m.message_id.clone()))
        .date_now()
        .header(ListUnsubscribe(format!("<{}>", m.unsubscribe)))
        .header(ListUnsubscribePost);
    // Providers that report events under ids of their own carry ours back in these (our
    // Message-IDs hold digits, dots, letters, `-` and `@` only: nothing to escape).
    let bare = m.message_id.trim_start_matches('<').trim_end_matches('>');
    if bare
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '@'))
    {
        b = b
            .header(PostmarkMetadata(bare.to_string()))
            .header(SendGridArgs(format!(
                "{{\"unique_args\": {{\"message-id\": \"{bare}\"}}}}"
            )));
    }
    if let Some(r) = &m.reply_to {
        let r: Mailbox = r
            .parse()
            .map_err(|e| format!("the reply-to `{r}` is not an address: {e}"))?;
        b = b.reply_to(r);
    }
    let kind = if m.html {
        ContentType::TEXT_HTML
    } else {
        ContentType::TEXT_PLAIN
    };
    b.header(kind)
        .body(m.body.clone())
        .map_err(|e| format!("the message cannot be built: {e}"))
}

/// `List-Unsubscribe: <https://...>` (RFC 2369).
#[derive(Debug, Clone)]
struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribe(s.to_string()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// `X-PM-Metadata-message-id`: Postmark returns it in the `Metadata` of its webhooks.
#[derive(Debug, Clone)]
struct PostmarkMetadata(String);

impl Header for PostmarkMetadata {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("X-PM-Metadata-message-id")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(PostmarkMetadata(s.to_string()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// `X-SMTPAPI` with the Message-ID as a unique argument: SendGrid returns it in every event.
#[derive(Debug, Clone)]
struct SendGridArgs(String);

impl Header for SendGridArgs {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("X-SMTPAPI")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(SendGridArgs(s.to_string()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058).
#[derive(Debug, Clone)]
struct ListUnsubscribePost;

impl Header for ListUnsubscribePost {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribePost)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_never_shown() {
        assert_eq!(
            redact_url("smtps://ann:s3cr%40t@mail.test:465"),
            "smtps://ann:***@mail.test:465"
        );
        assert_eq!(redact_url("smtp://127.0.0.1:25"), "smtp://127.0.0.1:25");
        assert!(
            Mailer::new("smtps://ann:hunter2@", 1, Duration::from_secs(1))
                .err()
                .is_some_and(|e| !e.contains("hunter2"))
        );
    }
}
