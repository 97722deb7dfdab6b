//! Replies, automatic answers and bounces read from the sending mailboxes (`cadence run
//! --imap URL`): each mailbox is read from where it was left (its UIDVALIDITY and the last UID
//! read, kept in the database), each message is classified ([`crate::mail::inbound`]) and
//! matched to the message of ours it answers, and its event is queued in the same transaction
//! that moves the checkpoint, so a restart neither misses a message nor reads one twice.
//!
//! Matching, in order: the Message-IDs the message names (`In-Reply-To`, then `References`
//! newest first, then the copy of our message a bounce carries); then, for a reply or an
//! automatic answer, the sender's address (case, `+tags` and Gmail's dots folded) to the most
//! recent message we sent it; for a bounce or an abuse report, the recipient it names. A
//! message that matches nothing is logged (`cadence mail --db DB --unmatched`), never guessed
//! onto a contact.
//!
//! The connection waits with IDLE where the server has it (re-issued every poll interval), and
//! polls otherwise; a lost connection is opened again, with a growing pause.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate};

use crate::mail::inbound::{self, Class, Inbound};
use crate::store::live::{LiveStore, MailRow, MessageRef, NewInput};

/// How a connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tls {
    /// `imaps://`: TLS from the first byte (port 993).
    Implicit,
    /// `imap://`: STARTTLS when the server offers it; plain text only to a loopback address.
    StartTls,
}

/// A mailbox to read, from `imaps://USER:PASS@HOST[:PORT]/MAILBOX`.
#[derive(Clone, PartialEq, Eq)]
pub struct MailboxUrl {
    pub tls: Tls,
    pub host: String,
    pub port: u16,
    pub user: String,
    password: String,
    pub mailbox: String,
}

impl std::fmt::Debug for MailboxUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

impl MailboxUrl {
    /// Reads a mailbox URL; the error says what is wrong and never repeats the password.
    pub fn parse(text: &str) -> Result<MailboxUrl, String> {
        // Never the password: everything before the last `@` is left out.
        let shown = match text.rsplit_once('@') {
            Some((_, host)) => format!("...@{host}"),
            None => text.to_string(),
        };
        let bad = |why: &str| {
            format!("--imap `{shown}`: {why} (give imaps://USER:PASSWORD@HOST[:PORT]/MAILBOX)")
        };
        let url = url::Url::parse(text).map_err(|e| bad(&e.to_string()))?;
        let tls = match url.scheme() {
            "imaps" => Tls::Implicit,
            "imap" => Tls::StartTls,
            other => return Err(bad(&format!("`{other}` is not imaps or imap"))),
        };
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad("no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| bad("the user, password or mailbox is not UTF-8 once decoded"))
        };
        let user = decode(url.username())?;
        if user.is_empty() {
            return Err(bad("no user"));
        }
        let password = decode(url.password().unwrap_or(""))?;
        if password.is_empty() {
            return Err(bad("no password"));
        }
        let path = decode(url.path().trim_start_matches('/'))?;
        let mailbox = if path.is_empty() {
            "INBOX".to_string()
        } else {
            path
        };
        if mailbox
            .chars()
            .any(|c| c.is_control() || c == '"' || c == '\\')
        {
            return Err(bad(
                "the mailbox name has a quote, a backslash or a control character",
            ));
        }
        if !mailbox.is_ascii() {
            return Err(bad(
                "give a mailbox name that is not ASCII as the server lists it (IMAP's modified UTF-7, e.g. `R&AOk-ponses` for `Réponses`)",
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(bad("a mailbox URL takes no `?` or `#` part"));
        }
        let port = url.port().unwrap_or(match tls {
            Tls::Implicit => 993,
            Tls::StartTls => 143,
        });
        Ok(MailboxUrl {
            tls,
            host,
            port,
            user,
            password,
            mailbox,
        })
    }

    /// How the mailbox is named in the database and the logs: `user@host/MAILBOX`.
    pub fn name(&self) -> String {
        format!("{}@{}/{}", self.user, self.host, self.mailbox)
    }

    fn loopback(&self) -> bool {
        self.host == "localhost"
            || self
                .host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|a| a.is_loopback())
    }
}

/// The stream under an IMAP session: plain TCP (loopback only) or TLS.
#[derive(Debug)]
pub enum Stream {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

/// How long a read or a write may wait outside IDLE before the connection is given up.
const IO_TIMEOUT: Duration = Duration::from_secs(120);

impl Stream {
    fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => s.get_ref(),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

impl imap::extensions::idle::SetReadTimeout for Stream {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> imap::Result<()> {
        // IDLE clears the timeout when it is done: keep one, so a dead server is found out.
        self.tcp()
            .set_read_timeout(Some(timeout.unwrap_or(IO_TIMEOUT)))
            .map_err(imap::Error::Io)
    }
}

fn tls_wrap(tcp: TcpStream, host: &str) -> Result<Stream, String> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from(host.to_string())
        .map_err(|e| format!("`{host}` cannot be checked against a certificate: {e}"))?;
    let conn = rustls::ClientConnection::new(Arc::new(config), name).map_err(|e| e.to_string())?;
    Ok(Stream::Tls(Box::new(rustls::StreamOwned::new(conn, tcp))))
}

/// Reads the greeting and asks for STARTTLS on a fresh connection (the IMAP client takes over
/// after it): whether the server agreed. A refusal (`NO`, `BAD`) leaves the connection as it was.
fn starttls(tcp: &TcpStream) -> std::io::Result<bool> {
    let mut line = String::new();
    let read_line = |line: &mut String| -> std::io::Result<()> {
        line.clear();
        // Read a byte at a time: nothing after the tagged answer may be buffered away from the
        // TLS handshake.
        let mut b = [0u8; 1];
        while !line.ends_with('\n') {
            if (&*tcp).read(&mut b)? == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the server closed the connection",
                ));
            }
            line.push(b[0] as char);
            if line.len() > 64 * 1024 {
                return Err(std::io::Error::other("an answer line is too long"));
            }
        }
        Ok(())
    };
    read_line(&mut line)?;
    if !line.starts_with("* OK") {
        return Err(std::io::Error::other(format!(
            "the server's greeting is not `* OK`: {}",
            line.trim_end()
        )));
    }
    (&*tcp).write_all(b"S1 STARTTLS\r\n")?;
    loop {
        read_line(&mut line)?;
        if let Some(answer) = line.strip_prefix("S1 ") {
            return Ok(answer.starts_with("OK"));
        }
    }
}

/// An open, logged-in session.
pub type Session = imap::Session<Stream>;

/// Connects and logs in.
pub fn connect(url: &MailboxUrl) -> Result<Session, String> {
    let addrs: Vec<_> = (url.host.as_str(), url.port)
        .to_socket_addrs()
        .map_err(|e| format!("{}: cannot resolve the host: {e}", url.name()))?
        .collect();
    let mut last = format!("{}: the host has no address", url.name());
    let mut tcp = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, Duration::from_secs(15)) {
            Ok(t) => {
                tcp = Some(t);
                break;
            }
            Err(e) => last = format!("{}: cannot connect to {addr}: {e}", url.name()),
        }
    }
    let tcp = tcp.ok_or(last)?;
    tcp.set_read_timeout(Some(IO_TIMEOUT)).ok();
    tcp.set_write_timeout(Some(IO_TIMEOUT)).ok();
    let fail = |e: imap::Error| format!("{}: {e}", url.name());
    let mut client = match url.tls {
        Tls::Implicit => {
            let mut c = imap::Client::new(tls_wrap(tcp, &url.host)?);
            c.read_greeting().map_err(fail)?;
            c
        }
        Tls::StartTls => match starttls(&tcp).map_err(|e| format!("{}: {e}", url.name()))? {
            true => {
                let mut c = imap::Client::new(tls_wrap(tcp, &url.host)?);
                // The greeting came before STARTTLS.
                c.greeting_read = true;
                c
            }
            false if url.loopback() => {
                let mut c = imap::Client::new(Stream::Plain(tcp));
                c.greeting_read = true;
                c
            }
            false => {
                return Err(format!(
                    "{}: the server offers no STARTTLS, and a password is sent in the clear only to a loopback address; use imaps://",
                    url.name()
                ))
            }
        },
    };
    client.greeting_read = true;
    client
        .login(&url.user, &url.password)
        .map_err(|(e, _)| format!("{}: login refused: {e}", url.name()))
}

/// What reading a mailbox once did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ReadStats {
    pub read: usize,
    pub queued: usize,
    pub unmatched: usize,
    /// The mailbox's UIDVALIDITY changed: it was read again from the start.
    pub resynced: bool,
}

/// What the mailboxes gave in this process: messages read, inputs queued, messages matched to
/// no contact (the run's summary prints them).
pub static TOTALS: [std::sync::atomic::AtomicUsize; 3] = [
    std::sync::atomic::AtomicUsize::new(0),
    std::sync::atomic::AtomicUsize::new(0),
    std::sync::atomic::AtomicUsize::new(0),
];

/// Messages larger than this are read by their headers only (enough to match a reply).
const MAX_BODY: u32 = 8 << 20;
/// Messages fetched per round trip and recorded per transaction, at most...
const CHUNK: usize = 50;
/// ... and bytes (so that a backlog of large messages is read a few at a time).
const CHUNK_BYTES: u64 = 16 << 20;

/// Reads what is new in the selected mailbox since its checkpoint, and records it. A mailbox
/// read for the first time (or again after its UIDVALIDITY changed) is read from the day
/// before the oldest message of the outbox: older mail answers nothing of ours.
pub fn read_new(
    session: &mut Session,
    url: &MailboxUrl,
    store: &mut dyn LiveStore,
    cadences: &HashMap<i64, String>,
) -> Result<ReadStats, String> {
    let name = url.name();
    let fail = |e: imap::Error| format!("{name}: {e}");
    let db = |e: crate::store::live::LiveError| e.to_string();
    let mb = session.select(&url.mailbox).map_err(fail)?;
    let validity = mb.uid_validity.unwrap_or(0);
    let mut stats = ReadStats::default();
    let last = match store.mailbox_checkpoint(&name).map_err(db)? {
        Some((v, last)) if v == validity => Some(last),
        Some((v, _)) => {
            tracing::warn!(mailbox = %name, old = v, new = validity, "UIDVALIDITY changed: reading the mailbox again");
            stats.resynced = true;
            None
        }
        None => None,
    };
    // `None`: nothing sent yet, so nothing here can answer us.
    let query = match last {
        Some(last) => Some(format!("UID {}:*", last.saturating_add(1))),
        None => store.first_sent().map_err(db)?.map(|first| {
            let day = DateTime::from_timestamp(first - 86_400, 0)
                .map(|d| d.format("%d-%b-%Y").to_string())
                .unwrap_or_else(|| "01-Jan-1970".into());
            format!("UID 1:* SINCE {day}")
        }),
    };
    let floor = last.unwrap_or(0);
    let mut uids: Vec<u32> = match &query {
        Some(q) => session
            .uid_search(q)
            .map_err(fail)?
            .into_iter()
            .filter(|u| *u > floor)
            .collect(),
        None => Vec::new(),
    };
    uids.sort_unstable();
    if uids.is_empty() {
        // A mailbox read for the first time starts after what is there now.
        if last.is_none() {
            let top = mb.uid_next.map_or(0, |n| n.saturating_sub(1));
            store
                .record_mail(&name, (validity, top), &[], super::wall_now())
                .map_err(db)?;
        }
        return Ok(stats);
    }
    // Sizes first: the batches are cut by count and by bytes.
    let mut sizes: HashMap<u32, u32> = HashMap::new();
    for part in uids.chunks(500) {
        for f in session
            .uid_fetch(join(part), "(UID RFC822.SIZE)")
            .map_err(fail)?
            .iter()
        {
            if let (Some(uid), Some(size)) = (f.uid, f.size) {
                sizes.insert(uid, size);
            }
        }
    }
    let mut batches: Vec<Vec<u32>> = Vec::new();
    let mut bytes = 0u64;
    for uid in uids {
        let size = sizes.get(&uid).copied().unwrap_or(0).min(MAX_BODY) as u64;
        match batches.last_mut() {
            Some(b) if b.len() < CHUNK && bytes + size <= CHUNK_BYTES => {
                b.push(uid);
                bytes += size;
            }
            _ => {
                batches.push(vec![uid]);
                bytes = size;
            }
        }
    }
    for batch in batches {
        let big: Vec<u32> = batch
            .iter()
            .copied()
            .filter(|u| sizes.get(u).is_some_and(|s| *s > MAX_BODY))
            .collect();
        let small: Vec<u32> = batch.iter().copied().filter(|u| !big.contains(u)).collect();
        let mut raws: HashMap<u32, (Vec<u8>, Option<i64>)> = HashMap::new();
        for (what, set) in [
            ("(UID INTERNALDATE BODY.PEEK[])", &small),
            ("(UID INTERNALDATE BODY.PEEK[HEADER])", &big),
        ] {
            if set.is_empty() {
                continue;
            }
            for f in session.uid_fetch(join(set), what).map_err(fail)?.iter() {
                let Some(uid) = f.uid else { continue };
                // Another client's flag change can arrive as an unsolicited FETCH of the same
                // UID, without the body: it must not replace the body read.
                let Some(raw) = f.body().or_else(|| f.header()) else {
                    continue;
                };
                raws.insert(
                    uid,
                    (raw.to_vec(), f.internal_date().map(|d| d.timestamp())),
                );
            }
        }
        let now = super::wall_now();
        let mut rows = Vec::with_capacity(batch.len());
        for uid in &batch {
            // Expunged between the search and the fetch: gone, nothing to read.
            let Some((raw, arrived)) = raws.remove(uid) else {
                continue;
            };
            let (row, input) = take(
                store,
                &name,
                (validity, *uid),
                &raw,
                arrived.unwrap_or(now).min(now),
                now,
                cadences,
            )
            .map_err(db)?;
            if row.contact.is_none() {
                stats.unmatched += 1;
            }
            stats.read += 1;
            rows.push((row, input));
        }
        let last = *batch.last().expect("a batch is not empty");
        stats.queued += store
            .record_mail(&name, (validity, last), &rows, now)
            .map_err(db)?;
        for (r, _) in &rows {
            log_row(r);
        }
        if let Some(d) = fault_pause() {
            std::thread::sleep(d);
        }
    }
    for (total, n) in TOTALS
        .iter()
        .zip([stats.read, stats.queued, stats.unmatched])
    {
        total.fetch_add(n, Ordering::Relaxed);
    }
    metrics::counter!("cadence_mail_read_total").increment(stats.read as u64);
    metrics::counter!("cadence_mail_unmatched_total").increment(stats.unmatched as u64);
    Ok(stats)
}

/// For tests of crash safety: `CADENCE_FAULT_PAUSE_PER_MAIL_BATCH_MS` pauses after each batch
/// of mail is recorded, widening the window in which a kill falls between two batches.
fn fault_pause() -> Option<Duration> {
    std::env::var("CADENCE_FAULT_PAUSE_PER_MAIL_BATCH_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(Duration::from_millis)
}

fn join(uids: &[u32]) -> String {
    uids.iter()
        .map(|u| u.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

fn log_row(r: &MailRow) {
    match &r.contact {
        Some(c) => tracing::info!(
            mailbox = %r.mailbox,
            uid = r.uid,
            class = %r.class,
            contact = %c,
            event = r.event.as_deref().unwrap_or("-"),
            matched_by = r.matched_by.as_deref().unwrap_or("-"),
            "mail read"
        ),
        None => tracing::warn!(
            mailbox = %r.mailbox,
            uid = r.uid,
            class = %r.class,
            sender = r.sender.as_deref().unwrap_or("-"),
            subject = %r.subject,
            note = r.note.as_deref().unwrap_or("-"),
            "mail read, matched to no contact"
        ),
    }
}

/// One message: what it is, whom it is about, and the input it gives. `arrived`: when it
/// reached the mailbox (the event's time, never before the message it answers was sent).
pub fn take(
    store: &mut dyn LiveStore,
    mailbox: &str,
    (validity, uid): (u32, u32),
    raw: &[u8],
    arrived: i64,
    now: i64,
    cadences: &HashMap<i64, String>,
) -> crate::store::live::Result<(MailRow, Option<NewInput>)> {
    let today = DateTime::from_timestamp(arrived, 0)
        .map(|d| d.date_naive())
        .unwrap_or(NaiveDate::MIN);
    let mut row = MailRow {
        mailbox: mailbox.to_string(),
        uidvalidity: validity,
        uid,
        message_id: None,
        sender: None,
        subject: String::new(),
        class: "unreadable".into(),
        event: None,
        contact: None,
        ours: None,
        matched_by: None,
        sent: None,
        at: arrived,
        read: now,
        note: None,
    };
    let Some(m) = inbound::read(raw, today) else {
        row.note = Some("not a message: no headers".into());
        return Ok((row, None));
    };
    row.message_id = m.message_id.clone();
    row.sender = m.from.clone();
    row.subject = m.subject.chars().take(200).collect();
    row.class = m.class.name().into();
    let Some(event) = m.class.event() else {
        row.note = Some(match &m.class {
            Class::Ignored { why } => format!("{why}: nothing to do"),
            Class::Bounce { status, .. } => format!(
                "the server is still trying{}: not an event until it gives up",
                status
                    .as_deref()
                    .map(|s| format!(" ({s})"))
                    .unwrap_or_default()
            ),
            _ => String::new(),
        });
        // Still matched, so the log says whom it was about.
        if let Some((ours, how)) = find(store, &m, arrived)? {
            fill(&mut row, &ours, how);
        }
        return Ok((row, None));
    };
    let Some((ours, how)) = find(store, &m, arrived)? else {
        row.note = Some(
            "it names none of our messages, and its sender is no address we had written to when it came"
                .into(),
        );
        return Ok((row, None));
    };
    fill(&mut row, &ours, how);
    row.at = arrived.max(ours.sent);
    row.event = Some(event.to_string());
    let back = match &m.class {
        Class::AutoReply { back } => back.map(|d| d.to_string()),
        _ => None,
    };
    // The same message read twice (from two mailboxes, after a UIDVALIDITY change) is one
    // input: keyed by its Message-ID, or by its bytes when it has none.
    let key = match &m.message_id {
        Some(id) => format!("mail:{id}:{event}"),
        None => format!(
            "mail:sha256:{}:{event}",
            &crate::mail::sha256_hex(raw)[..32]
        ),
    };
    let input = NewInput {
        key,
        at: row.at,
        contact: ours.contact.clone(),
        what: ours.event(event, back, false, cadences),
        origin: format!("imap {mailbox} uid {uid}"),
    };
    Ok((row, Some(input)))
}

fn fill(row: &mut MailRow, ours: &MessageRef, how: String) {
    row.contact = Some(ours.contact.clone());
    row.ours = Some(inbound::bare_id(&ours.message_id));
    row.matched_by = Some(how);
    row.sent = Some(ours.sent);
}

/// How long before our message was sent an answer to it may seem to arrive (the clocks of two
/// servers differ).
const SKEW: i64 = 300;

/// The message of ours an inbound message is about, and how it was found: one sent before the
/// inbound message arrived.
fn find(
    store: &mut dyn LiveStore,
    m: &Inbound,
    arrived: i64,
) -> crate::store::live::Result<Option<(MessageRef, String)>> {
    for (id, via) in &m.names {
        if let Some(ours) = store.message_by_id(id)? {
            if ours.sent <= arrived + SKEW {
                return Ok(Some((ours, via.name().to_string())));
            }
        }
    }
    let by_address = match &m.class {
        Class::Reply | Class::AutoReply { .. } => m.from.as_deref().map(|a| (a, "sender")),
        Class::Bounce { recipient, .. } | Class::Abuse { recipient } => {
            recipient.as_deref().map(|a| (a, "the recipient it names"))
        }
        Class::Ignored { .. } => None,
    };
    if let Some((address, how)) = by_address {
        // An address is weaker evidence than a Message-ID: no allowance for clocks here.
        if let Some(ours) = store.latest_message_to(&inbound::address_key(address), arrived)? {
            return Ok(Some((ours, how.to_string())));
        }
    }
    Ok(None)
}

/// Reads one mailbox for as long as the run lasts: IDLE where the server has it, else a poll
/// every `poll`; a failed connection is tried again after a pause that grows to 5 minutes.
pub struct Reader {
    pub url: MailboxUrl,
    pub db: PathBuf,
    pub cadences: HashMap<i64, String>,
    pub poll: Duration,
}

impl Reader {
    /// Connects and reads what is new, once (the start of a run: before anything is sent).
    pub fn read_once(&self) -> Result<ReadStats, String> {
        let mut store = crate::store::live::open(&self.db, false).map_err(|e| e.to_string())?;
        let mut session = connect(&self.url)?;
        let stats = read_new(&mut session, &self.url, &mut *store, &self.cadences)?;
        let _ = session.logout();
        Ok(stats)
    }

    /// Runs until `stop`.
    pub fn serve(&self, stop: &AtomicBool) {
        let mut pause = Duration::from_secs(1);
        while !stop.load(Ordering::SeqCst) {
            let mut read_once = false;
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                self.session(stop, &mut read_once)
            }));
            let e = match r {
                Ok(Ok(())) => return,
                Ok(Err(e)) => e,
                Err(_) => format!("{}: the IMAP client failed", self.url.name()),
            };
            // A connection that worked and then dropped (servers drop idle ones) is opened
            // again at once; one that keeps failing, less and less often.
            if read_once {
                pause = Duration::from_secs(1);
            }
            metrics::counter!("cadence_mail_failures_total").increment(1);
            tracing::error!(mailbox = %self.url.name(), error = %e, retry_in = ?pause, "reading the mailbox failed");
            eprintln!("error: {e} (trying again in {} s)", pause.as_secs());
            sleep(pause, stop);
            pause = (pause * 2).min(Duration::from_secs(300));
        }
    }

    fn session(&self, stop: &AtomicBool, read_once: &mut bool) -> Result<(), String> {
        let mut store = crate::store::live::open(&self.db, false).map_err(|e| e.to_string())?;
        let mut session = connect(&self.url)?;
        let idle = session
            .capabilities()
            .map(|c| c.has_str("IDLE"))
            .unwrap_or(false);
        tracing::info!(mailbox = %self.url.name(), idle, "reading the mailbox");
        while !stop.load(Ordering::SeqCst) {
            let s = read_new(&mut session, &self.url, &mut *store, &self.cadences)?;
            *read_once = true;
            if s.read > 0 {
                tracing::debug!(mailbox = %self.url.name(), read = s.read, queued = s.queued, "mail read");
            }
            if idle {
                let mut h = session.idle();
                h.timeout(self.poll.min(MAX_IDLE)).keepalive(false);
                h.wait_while(imap::extensions::idle::stop_on_any)
                    .map_err(|e| format!("{}: IDLE: {e}", self.url.name()))?;
            } else {
                sleep(self.poll, stop);
            }
        }
        let _ = session.logout();
        Ok(())
    }
}

/// IDLE is re-issued at least this often (servers may end one after 30 minutes).
const MAX_IDLE: Duration = Duration::from_secs(25 * 60);

fn sleep(d: Duration, stop: &AtomicBool) {
    let end = Instant::now() + d;
    while Instant::now() < end && !stop.load(Ordering::SeqCst) {
        std::thread::sleep((end - Instant::now()).min(Duration::from_millis(200)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailbox_urls_read_and_hide_their_password() {
        let u =
            MailboxUrl::parse("imaps://sales%40acme.test:s3cr%2Ft@imap.acme.test/Sent%20Replies")
                .unwrap();
        assert_eq!(u.tls, Tls::Implicit);
        assert_eq!(u.port, 993);
        assert_eq!(u.user, "sales@acme.test");
        assert_eq!(u.password, "s3cr/t");
        assert_eq!(u.mailbox, "Sent Replies");
        assert_eq!(
            format!("{u:?}"),
            "sales@acme.test@imap.acme.test/Sent Replies"
        );
        let u = MailboxUrl::parse("imap://u:p@127.0.0.1:1143").unwrap();
        assert_eq!(
            (u.tls, u.port, u.mailbox.as_str()),
            (Tls::StartTls, 1143, "INBOX")
        );
        assert!(u.loopback());
        for bad in [
            "pop3://u:p@h/INBOX",
            "imaps://h/INBOX",
            "imaps://u@h/INBOX",
            "imaps://u:p@h/IN%22BOX",
            "imaps://u:p@h/INBOX?x=1",
            "imaps:/u:p@h/INBOX",
            "imaps://u:p@h/R%C3%A9ponses",
        ] {
            let e = MailboxUrl::parse(bad).unwrap_err();
            assert!(!e.contains(":p@"), "{e}");
        }
    }
}
