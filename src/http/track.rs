//! The links that tracking puts in emails, and how opens and clicks made by machines are told
//! from people's:
//!
//! - `GET /o/{token}`: the open pixel (a 1×1 transparent GIF, never cached);
//! - `GET /c/{token}`: the click redirect: a `302` to the URL the token carries, fixed and
//!   signed when the message was rendered. A token that does not verify is a 404, so the
//!   server never redirects anywhere else.
//!
//! An open is queued at once; a click is held back for a moment ([`BURST_SECONDS`]) and queued
//! by [`flush_held`], so that a scanner that follows every link of a message at once is seen
//! whole. Each hit is kept in the `hits` table; one `opened` per message (and one per link for
//! `clicked`) reaches the engine from people, and one from machines.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{not_found, unavailable, with_store, App, Shared};
use crate::mail::token::Signer;
use crate::runner::wall_now;
use crate::store::live::{Hit, InputKind, LiveStore, NewInput, BURST_SECONDS};

/// An open or a click this soon after the message was sent (seconds) is a machine's: a person
/// does not read an email the moment it arrives, a security gateway does.
pub const TOO_SOON_SECONDS: i64 = 10;

/// Why an open or a click was made by a machine, or `None` for a person, from what the
/// request shows: who asks (`user_agent`, `peer`), how (`head`), and how long after the
/// message was sent (`since_sent`, seconds).
pub fn machine_reason(
    user_agent: Option<&str>,
    peer: Option<IpAddr>,
    head: bool,
    since_sent: i64,
) -> Option<&'static str> {
    let ua = user_agent.unwrap_or("").trim();
    let lower = ua.to_ascii_lowercase();
    const PROXIES: &[(&str, &str)] = &[
        ("googleimageproxy", "Google Image Proxy"),
        ("ggpht.com", "Google Image Proxy"),
        ("yahoomailproxy", "Yahoo Mail Proxy"),
        ("outlook-iOS-android", "Outlook image proxy"),
    ];
    for (needle, name) in PROXIES {
        if lower.contains(&needle.to_ascii_lowercase()) {
            return Some(name);
        }
    }
    // Apple Mail Privacy Protection fetches every image from Apple's network (17.0.0.0/8),
    // with a bare `Mozilla/5.0`.
    let apple =
        matches!(peer.map(|p| p.to_canonical()), Some(IpAddr::V4(a)) if a.octets()[0] == 17);
    if apple || ua == "Mozilla/5.0" {
        return Some("Apple Mail Privacy Protection");
    }
    // `bot` only as a word's end before `/`, `;`, `)` or `-`, or a word of its own (a phone
    // called CUBOT is a person's).
    const SCANNERS: &[&str] = &[
        "bot/",
        "bot;",
        "bot)",
        "bot-",
        " bot ",
        "spider",
        "crawler",
        "scanner",
        "preview",
        "barracuda",
        "proofpoint",
        "mimecast",
        "safelinks",
        "symantec",
        "trendmicro",
        "python-requests",
        "go-http-client",
        "headless",
        "phantomjs",
    ];
    if ua.is_empty() {
        return Some("no user agent");
    }
    let padded = format!(" {lower} ");
    if SCANNERS.iter().any(|s| padded.contains(s)) {
        return Some("link scanner");
    }
    if head {
        return Some("HEAD request");
    }
    if since_sent < TOO_SOON_SECONDS {
        return Some("too soon after sending");
    }
    None
}

/// What a pixel token names: (contact rowid, enrolment, execution).
pub(super) fn parse_open(signer: &Signer, token: &str) -> Option<(u32, u64, u32)> {
    let payload = signer.verify("open", token)?;
    parse_message(&payload)
}

/// What a click token names: (contact rowid, enrolment, execution, link number, URL).
pub(super) fn parse_click(signer: &Signer, token: &str) -> Option<(u32, u64, u32, u32, String)> {
    let payload = signer.verify("click", token)?;
    let (head, url) = payload.split_once(' ')?;
    let (message, link) = head.rsplit_once('.')?;
    let (c, e, x) = parse_message(message)?;
    let lower = url.to_ascii_lowercase();
    if !(lower.starts_with("https://") || lower.starts_with("http://")) {
        return None;
    }
    Some((c, e, x, link.parse().ok()?, url.to_string()))
}

fn parse_message(s: &str) -> Option<(u32, u64, u32)> {
    let mut parts = s.split('.');
    let contact = parts.next()?.parse().ok()?;
    let enrolment = parts.next()?.parse().ok()?;
    let exec = parts.next()?.parse().ok()?;
    parts.next().is_none().then_some((contact, enrolment, exec))
}

/// A transparent 1×1 GIF.
const PIXEL: &[u8] = &[
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
];

fn pixel() -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/gif"),
            (header::CACHE_CONTROL, "no-store, max-age=0"),
        ],
        PIXEL,
    )
        .into_response()
}

fn user_agent(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(300).collect())
}

/// The input an open (a hit without a link) or a click queues: one per message (per link for
/// clicks) from people, and one from machines.
fn hit_input(hit: &Hit) -> NewInput {
    let (event, source) = match hit.link {
        None => ("opened", "open pixel"),
        Some(_) => ("clicked", "click redirect"),
    };
    let who = if hit.machine.is_some() {
        "machine"
    } else {
        "person"
    };
    let link = hit.link.map(|l| format!(".{l}")).unwrap_or_default();
    NewInput {
        key: format!("{event}:{}.{}{link}:{who}", hit.enrolment, hit.exec),
        at: hit.at,
        contact: hit.contact.clone(),
        what: InputKind::Event {
            event: event.into(),
            step: Some(hit.step),
            cadence: hit.cadence.clone(),
            field: None,
            value: None,
            machine: hit.machine.is_some(),
            message: Some((hit.enrolment, hit.exec)),
        },
        origin: match &hit.machine {
            Some(why) => format!("{source} ({why})"),
            None => source.into(),
        },
    }
}

/// Who asks, as far as telling machines from people goes.
struct Asker {
    user_agent: Option<String>,
    peer: Option<IpAddr>,
    head: bool,
}

impl Asker {
    fn of(method: &Method, ext: &axum::http::Extensions, headers: &HeaderMap) -> Asker {
        Asker {
            user_agent: user_agent(headers),
            peer: ext.get::<ConnectInfo<SocketAddr>>().map(|p| p.0.ip()),
            head: method == Method::HEAD,
        }
    }

    /// The hit of this request on link `link` (None: the pixel) of the message `(enrolment,
    /// exec)` of contact row `contact`, or `None` when there is no such message.
    fn hit(
        &self,
        store: &mut dyn LiveStore,
        shared: &Shared,
        (contact, enrolment, exec): (u32, u64, u32),
        link: Option<u32>,
    ) -> Result<Option<Hit>, crate::store::live::LiveError> {
        let Some(m) = store.message_of(contact, enrolment, exec)? else {
            return Ok(None);
        };
        let now = wall_now();
        let since_sent = now - m.sent;
        Ok(Some(Hit {
            contact: m.contact,
            enrolment,
            exec,
            step: m.step,
            cadence: shared.cadences.get(&m.version).cloned(),
            link,
            at: now,
            machine: machine_reason(self.user_agent.as_deref(), self.peer, self.head, since_sent)
                .map(str::to_string),
        }))
    }
}

pub(super) async fn open(
    State(app): State<App>,
    Path(token): Path<String>,
    method: Method,
    ext: axum::http::Extensions,
    headers: HeaderMap,
) -> Response {
    let asker = Asker::of(&method, &ext, &headers);
    // A token that does not verify costs no database work.
    let Some(message) = parse_open(&app.signer, &token) else {
        return not_found().await;
    };
    let r = with_store(&app, move |store, shared| {
        let Some(hit) = asker.hit(store, shared, message, None)? else {
            return Ok(false);
        };
        store.add_hit(&hit, Some(&hit_input(&hit)), hit.at)?;
        metrics::counter!("cadence_opens_total", "by" => if hit.machine.is_some() { "machine" } else { "person" }).increment(1);
        Ok::<_, crate::store::live::LiveError>(true)
    })
    .await;
    match r {
        Ok(Ok(true)) => pixel(),
        Ok(Ok(false)) => not_found().await,
        Ok(Err(e)) => unavailable(&e.to_string()),
        Err(r) => r,
    }
}

pub(super) async fn click(
    State(app): State<App>,
    Path(token): Path<String>,
    method: Method,
    ext: axum::http::Extensions,
    headers: HeaderMap,
) -> Response {
    let asker = Asker::of(&method, &ext, &headers);
    let Some((contact, enrolment, exec, link, url)) = parse_click(&app.signer, &token) else {
        return not_found().await;
    };
    let r = with_store(&app, move |store, shared| {
        let Some(hit) = asker.hit(store, shared, (contact, enrolment, exec), Some(link))? else {
            return Ok(None);
        };
        // Held back: `flush_held` queues it once a burst would have shown.
        store.add_hit(&hit, None, hit.at)?;
        Ok::<_, crate::store::live::LiveError>(Some(url))
    })
    .await;
    match r {
        Ok(Ok(Some(url))) => match HeaderValue::from_str(&url) {
            Ok(v) => (
                StatusCode::FOUND,
                [
                    (header::LOCATION, v),
                    (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
                    (
                        header::REFERRER_POLICY,
                        HeaderValue::from_static("no-referrer"),
                    ),
                ],
            )
                .into_response(),
            Err(_) => not_found().await,
        },
        Ok(Ok(None)) => not_found().await,
        Ok(Err(e)) => unavailable(&e.to_string()),
        Err(r) => r,
    }
}

/// Queues the clicks held back long enough: a click with another link of its message clicked
/// within [`BURST_SECONDS`] of it is a scanner's burst, made by a machine. Returns how many
/// were queued.
pub fn flush_held(
    store: &mut dyn LiveStore,
    now: i64,
) -> Result<usize, crate::store::live::LiveError> {
    let held = store.held_hits(now - BURST_SECONDS - 1)?;
    if held.is_empty() {
        return Ok(0);
    }
    let done: Vec<(i64, NewInput)> = held
        .into_iter()
        .map(|h| {
            let mut hit = h.hit;
            if hit.machine.is_none() && h.burst {
                hit.machine = Some("burst of clicks".into());
            }
            metrics::counter!("cadence_clicks_total", "by" => if hit.machine.is_some() { "machine" } else { "person" }).increment(1);
            (h.id, hit_input(&hit))
        })
        .collect();
    store.queue_hits(&done, now)?;
    Ok(done.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machines_are_told_from_people() {
        let person = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36";
        assert_eq!(machine_reason(Some(person), None, false, 3600), None);
        assert_eq!(
            machine_reason(Some("Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"), None, false, 3600),
            Some("Google Image Proxy")
        );
        assert_eq!(
            machine_reason(Some("Mozilla/5.0"), None, false, 3600),
            Some("Apple Mail Privacy Protection")
        );
        assert_eq!(
            machine_reason(
                Some(person),
                Some("17.58.1.2".parse().unwrap()),
                false,
                3600
            ),
            Some("Apple Mail Privacy Protection")
        );
        assert_eq!(
            machine_reason(None, None, false, 3600),
            Some("no user agent")
        );
        assert_eq!(
            machine_reason(Some("Barracuda Sentinel (EE)"), None, false, 3600),
            Some("link scanner")
        );
        for bot in [
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
            "Mozilla/5.0 (compatible; bingbot/2.0)",
        ] {
            assert_eq!(
                machine_reason(Some(bot), None, false, 3600),
                Some("link scanner"),
                "{bot}"
            );
        }
        let cubot = "Mozilla/5.0 (Linux; Android 12; CUBOT X30) AppleWebKit/537.36 Chrome/120.0 Mobile Safari/537.36";
        assert_eq!(machine_reason(Some(cubot), None, false, 3600), None);
        assert_eq!(
            machine_reason(
                Some(person),
                Some("::ffff:17.58.1.2".parse().unwrap()),
                false,
                3600
            ),
            Some("Apple Mail Privacy Protection")
        );
        assert_eq!(
            machine_reason(Some(person), None, true, 3600),
            Some("HEAD request")
        );
        assert_eq!(
            machine_reason(Some(person), None, false, 2),
            Some("too soon after sending")
        );
    }

    #[test]
    fn click_tokens_carry_their_url_and_nothing_else_verifies() {
        let s = Signer::new(b"k");
        let t = s.sign("click", "3.7.1.2 https://acme.test/pricing?a=1");
        assert_eq!(
            parse_click(&s, &t),
            Some((3, 7, 1, 2, "https://acme.test/pricing?a=1".into()))
        );
        // Signed for another purpose, or not a web address: not a click.
        assert_eq!(
            parse_click(&s, &s.sign("open", "3.7.1.2 https://a.test")),
            None
        );
        assert_eq!(
            parse_click(&s, &s.sign("click", "3.7.1.2 javascript:alert(1)")),
            None
        );
        assert_eq!(parse_open(&s, &s.sign("open", "3.7.1")), Some((3, 7, 1)));
        assert_eq!(parse_open(&s, &t), None);
    }

    proptest::proptest! {
        #[test]
        fn no_token_makes_the_tracking_parsers_panic(token in "\\PC{0,120}") {
            let s = Signer::new(b"k");
            let _ = parse_click(&s, &token);
            let _ = parse_open(&s, &token);
        }
    }
}
