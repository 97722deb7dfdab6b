//! The runner's HTTP side (`cadence run --listen ADDR`), served with axum on its own thread and
//! its own connection to the database:
//!
//! - `GET /healthz`: the database answers;
//! - `GET /u/{token}`: the unsubscribe link of an email: a page with a button (link scanners
//!   follow GETs, so a GET changes nothing);
//! - `POST /u/{token}`: one-click unsubscribe (RFC 8058): queues `unsubscribed` for the
//!   contact and the step that sent the message, durably, before it answers;
//! - `POST /api/events`: events from other systems (a CRM, a dialer), one or a batch, with a
//!   bearer token (`cadence token create`): all checked first, then queued in one transaction,
//!   then `202 Accepted`. Errors are JSON: `{"error": "..."}`;
//! - `GET /api/tasks`, `POST /api/tasks/{id}/outcome`: the reps' queue and its outcomes;
//! - `PUT`/`PATCH /api/contacts/{id}`: a contact's fields, typed by the schema;
//!   `GET /api/contacts/{id}`: its fields, where it stands and its history;
//! - `GET /api/report`: the JSON of `cadence report` over the journal; `GET /api/cadences`:
//!   every stored version of each cadence, with the counts of its enrolments;
//! - `GET /metrics`: what the database holds, in Prometheus' text format;
//! - `/reps/...`: the reps' pages ([`reps`]).
//!
//! Tokens are signed with the database's secret ([`crate::mail::token`]): a token that does
//! not verify is a 404, whatever is wrong with it. Nothing a request holds reaches a page
//! unescaped, and no request can make the server answer 5xx but a database that fails.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::Router;
use serde::Deserialize;

pub mod hooks;
mod reps;
pub mod track;

use crate::check::Program;
use crate::mail::token::Signer;
use crate::report::html::esc;
use crate::runner::wall_now;
use crate::store::live::{InputKind, LiveStore, NewInput, SqliteLive};

/// What the handlers share.
struct Shared {
    /// The database: each request opens its own connection (SQLite's WAL lets it read while
    /// the runner writes, and a short connection never holds an old snapshot).
    db: PathBuf,
    signer: Signer,
    /// Version id -> cadence name.
    cadences: HashMap<i64, String>,
    /// The cadences the database runs (to check events against).
    program: Program,
    /// What the process counted (requests, sends), for `/metrics`.
    metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    /// The secrets of the providers' webhooks.
    hooks: hooks::HookKeys,
}

type App = Arc<Shared>;

/// A running HTTP server: stops when `stop` is set.
pub struct Server {
    pub addr: SocketAddr,
    thread: std::thread::JoinHandle<Result<(), String>>,
}

impl Server {
    /// Binds `addr` now (so that a taken port is an error before anything runs) and serves on
    /// a thread of its own until `stop` is set.
    pub fn start(
        addr: &str,
        db: PathBuf,
        signer: Signer,
        cadences: HashMap<i64, String>,
        stop: &'static AtomicBool,
    ) -> Result<Server, String> {
        let listener = std::net::TcpListener::bind(addr)
            .map_err(|e| format!("cannot listen on `{addr}`: {e}"))?;
        let bound = listener
            .local_addr()
            .map_err(|e| format!("cannot listen on `{addr}`: {e}"))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| format!("cannot listen on `{addr}`: {e}"))?;
        let mut store = SqliteLive::open(&db, false).map_err(|e| e.to_string())?;
        let program = crate::runner::program::LiveProgram::from_store(&mut store)?.program;
        // One recorder per process: the relay's send times and the requests are counted here.
        let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
            .set_buckets(&[
                0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
            ])
            .ok()
            .and_then(|b| b.install_recorder().ok());
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let hooks = hooks::HookKeys {
            mailgun: env("CADENCE_MAILGUN_SIGNING_KEY"),
            sendgrid: env("CADENCE_SENDGRID_PUBLIC_KEY"),
            postmark: env("CADENCE_POSTMARK_AUTH"),
            generic: env("CADENCE_HOOK_SECRET"),
        };
        let app: App = Arc::new(Shared {
            db,
            signer,
            cadences,
            program,
            metrics,
            hooks,
        });
        let thread = std::thread::Builder::new()
            .name("http".into())
            .spawn(move || serve(listener, app, stop))
            .map_err(|e| format!("cannot start the HTTP server: {e}"))?;
        Ok(Server {
            addr: bound,
            thread,
        })
    }

    /// Waits for the server to stop (after `stop` was set).
    pub fn join(self) -> Result<(), String> {
        self.thread
            .join()
            .unwrap_or_else(|_| Err("the HTTP server stopped".into()))
    }
}

fn serve(
    listener: std::net::TcpListener,
    app: App,
    stop: &'static AtomicBool,
) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the HTTP server: {e}"))?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)
            .map_err(|e| format!("cannot start the HTTP server: {e}"))?;
        let stopped = async move {
            while !stop.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        };
        // Held clicks are queued once a burst would have shown (and those a stop left held,
        // when the server starts again).
        let flusher = {
            let app = app.clone();
            tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    let r = with_store(&app, |store, _| track::flush_held(store, wall_now())).await;
                    if let Ok(Err(e)) = r {
                        tracing::warn!(error = %e, "http: cannot queue held clicks");
                    }
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            })
        };
        accept_loop(listener, router(app), stopped).await;
        flusher.abort();
        // Requests in flight get a moment to finish; a client that never finishes its
        // request does not keep the runner from stopping.
        let t0 = tokio::time::Instant::now();
        while CONNECTIONS.load(Ordering::SeqCst) > 0 && t0.elapsed() < SHUTDOWN_GRACE {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    })
}

/// Connections open now.
static CONNECTIONS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
/// The most connections served at once; more wait in the kernel's queue.
const MAX_CONNECTIONS: usize = 512;
/// How long a client may take to send a request's head (slow clients cannot hold
/// connections open).
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Accepts connections until `stopped`, each served by hyper with a timeout on the request
/// head, at most [`MAX_CONNECTIONS`] at once.
async fn accept_loop(
    listener: tokio::net::TcpListener,
    app: Router,
    stopped: impl std::future::Future<Output = ()>,
) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    // Tells the connections to finish the request in hand and close.
    let (closing, _) = tokio::sync::watch::channel(false);
    tokio::pin!(stopped);
    let close_all = |closing: &tokio::sync::watch::Sender<bool>| {
        let _ = closing.send(true);
    };
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => return,
            },
            _ = &mut stopped => return close_all(&closing),
        };
        let stream = tokio::select! {
            a = listener.accept() => match a {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "http: cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut stopped => return close_all(&closing),
        };
        let (stream, peer) = stream;
        let _ = stream.set_nodelay(true);
        let mut close = closing.subscribe();
        let service = hyper_util::service::TowerToHyperService::new(
            app.clone()
                .layer(axum::Extension(axum::extract::ConnectInfo(peer))),
        );
        CONNECTIONS.fetch_add(1, Ordering::SeqCst);
        tokio::spawn(async move {
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = close.changed() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
            CONNECTIONS.fetch_sub(1, Ordering::SeqCst);
            drop(permit);
        });
    }
}

/// How long requests in flight may take to finish once the runner stops.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// How long a client may take to send a request body.
const BODY_TIMEOUT: Duration = Duration::from_secs(30);

fn router(app: App) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/u/{token}", get(unsubscribe_page).post(unsubscribe))
        .route("/o/{token}", get(track::open))
        .route("/c/{token}", get(track::click))
        .route("/hooks/{provider}", post(webhook))
        .route("/api/events", post(post_events))
        .route("/api/tasks", get(get_tasks))
        .route(
            "/api/contacts/{id}",
            get(get_contact).put(put_contact).patch(patch_contact),
        )
        .route("/api/tasks/{id}/outcome", post(post_outcome))
        .route("/api/report", get(get_report))
        .route("/api/cadences", get(get_cadences))
        .route("/metrics", get(metrics))
        .route("/api/{*rest}", any(api_not_found))
        .merge(reps::routes())
        .fallback(not_found)
        .layer(axum::middleware::from_fn(uniform_errors))
        .with_state(app)
}

/// Every error in the form its part of the server promises: JSON under `/api/`, a page
/// elsewhere (axum's own answers, such as a 405 or a path that does not decode, are plain
/// text or empty).
async fn uniform_errors(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let method = req.method().clone();
    let path = logged_path(req.uri().path());
    let t0 = std::time::Instant::now();
    let resp = next.run(req).await;
    let status = resp.status();
    metrics::counter!("cadence_http_requests_total", "status" => status.as_u16().to_string())
        .increment(1);
    tracing::info!(
        method = %method,
        path = %path,
        status = status.as_u16(),
        ms = t0.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let kind = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let message = match status {
        StatusCode::METHOD_NOT_ALLOWED => "this method is not allowed here",
        StatusCode::NOT_FOUND => "there is nothing here",
        StatusCode::SERVICE_UNAVAILABLE => {
            "the database is not available now; try again in a moment"
        }
        StatusCode::PAYLOAD_TOO_LARGE => "the body is too large",
        _ if status.is_server_error() => "the request could not be served; try again",
        _ => "the request is not valid (its path, query or body)",
    };
    let mut out = if api && !kind.starts_with("application/json") {
        api_error(status, message)
    } else if !api && !kind.starts_with("text/html") && !kind.starts_with("application/json") {
        (
            status,
            Html(page("Sorry", &format!("<p>{}.</p>", esc(message)))),
        )
            .into_response()
    } else {
        return resp;
    };
    if let Some(v) = resp.headers().get(header::RETRY_AFTER) {
        out.headers_mut().insert(header::RETRY_AFTER, v.clone());
    }
    if let Some(v) = resp.headers().get(header::ALLOW) {
        out.headers_mut().insert(header::ALLOW, v.clone());
    }
    out
}

/// Runs a database call off the async thread.
async fn with_store<T: Send + 'static>(
    app: &App,
    f: impl FnOnce(&mut SqliteLive, &Shared) -> T + Send + 'static,
) -> Result<T, Response> {
    let app = app.clone();
    tokio::task::spawn_blocking(move || {
        let mut store = SqliteLive::open(&app.db, false).map_err(|e| e.to_string())?;
        Ok(f(&mut store, &app))
    })
    .await
    .map_err(|_| unavailable("the request stopped"))?
    .map_err(|e: String| unavailable(&e))
}

/// A path as the log shows it: the tokens of links are not written down.
fn logged_path(path: &str) -> String {
    for link in ["/u/", "/o/", "/c/"] {
        if let Some(rest) = path.strip_prefix(link) {
            return format!("{link}{}", if rest.is_empty() { "" } else { "…" });
        }
    }
    path.chars().take(200).collect()
}

/// The database failed: the detail goes to the runner's log, the client gets a fixed text
/// (never a path or an SQLite message).
fn unavailable(why: &str) -> Response {
    tracing::error!(error = why, "http: the database failed");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, "5")],
        Html(page(
            "Please try again",
            "<p>This page is not available right now. Please try again in a moment.</p>",
        )),
    )
        .into_response()
}

async fn healthz(State(app): State<App>) -> Response {
    match with_store(&app, |store, _| store.meta("start")).await {
        Ok(Ok(_)) => (
            [(header::CONTENT_TYPE, "application/json")],
            "{\"status\":\"ok\"}\n",
        )
            .into_response(),
        Ok(Err(e)) => unavailable(&e.to_string()),
        Err(r) => r,
    }
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Html(page("Not found", "<p>There is nothing here.</p>")),
    )
        .into_response()
}

/// What an unsubscribe token names: (contact rowid, enrolment, execution).
fn parse_link(signer: &Signer, token: &str) -> Option<(u32, u64, u32)> {
    let payload = signer.verify("unsubscribe", token)?;
    let mut parts = payload.split('.');
    let contact = parts.next()?.parse().ok()?;
    let enrolment = parts.next()?.parse().ok()?;
    let exec = parts.next()?.parse().ok()?;
    parts.next().is_none().then_some((contact, enrolment, exec))
}

/// The message a link comes from, or `None` (a 404) for a link that is not ours.
async fn message(
    app: &App,
    token: String,
) -> Result<Option<(crate::store::live::MessageRef, String, u64, u32)>, Response> {
    match with_store(app, move |store, shared| {
        let Some((contact, enrolment, exec)) = parse_link(&shared.signer, &token) else {
            return Ok(None);
        };
        let m = store.message_of(contact, enrolment, exec)?;
        Ok(m.map(|m| {
            let cadence = shared.cadences.get(&m.version).cloned().unwrap_or_default();
            (m, cadence, enrolment, exec)
        }))
    })
    .await?
    {
        Ok(m) => Ok(m),
        Err(e) => Err(unavailable(&crate::store::live::LiveError::to_string(&e))),
    }
}

fn link_not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Html(page(
            "Link not recognised",
            "<p>This unsubscribe link is not valid. If you copied it, check that it is whole; \
             or reply to the email and ask to be removed.</p>",
        )),
    )
        .into_response()
}

async fn unsubscribe_page(State(app): State<App>, Path(token): Path<String>) -> Response {
    let m = match message(&app, token.clone()).await {
        Ok(Some((m, ..))) => m,
        Ok(None) => return link_not_found(),
        Err(r) => return r,
    };
    let body = format!(
        "<p>Stop emails from <b>{}</b> to <b>{}</b>?</p>\n\
         <form method=\"post\" action=\"\">\n\
         <input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">\n\
         <button type=\"submit\">Unsubscribe</button>\n</form>",
        esc(&m.sender),
        esc(&m.recipient),
    );
    Html(page("Unsubscribe", &body)).into_response()
}

async fn unsubscribe(State(app): State<App>, Path(token): Path<String>) -> Response {
    let (m, cadence, enrolment, exec) = match message(&app, token).await {
        Ok(Some(x)) => x,
        Ok(None) => return link_not_found(),
        Err(r) => return r,
    };
    let recipient = m.recipient.clone();
    let input = NewInput {
        // One unsubscribe per message, however often the link is used.
        key: format!("unsubscribe:{enrolment}.{exec}"),
        at: wall_now(),
        contact: m.contact,
        what: InputKind::Event {
            event: "unsubscribed".into(),
            step: Some(m.step),
            cadence: (!cadence.is_empty()).then_some(cadence),
            field: None,
            value: None,
            machine: false,
        },
        origin: "one-click unsubscribe".into(),
    };
    match with_store(&app, move |store, _| store.enqueue(&[input], wall_now())).await {
        Ok(Ok(_)) => Html(page(
            "Unsubscribed",
            &format!(
                "<p><b>{}</b> will get no more of these emails.</p>",
                esc(&recipient)
            ),
        ))
        .into_response(),
        Ok(Err(e)) => unavailable(&e.to_string()),
        Err(r) => r,
    }
}

/// `POST /hooks/{provider}`: a provider's events, verified before anything is stored, then
/// queued in one transaction (each once, by the provider's event id) and answered at once.
/// An event for a message that is not ours is counted in `cadence_webhook_failures_total` and
/// skipped; a delivery or a soft bounce changes nothing and is only counted.
async fn webhook(
    State(app): State<App>,
    Path(provider): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(provider) = hooks::Provider::parse(&provider) else {
        return api_error(StatusCode::NOT_FOUND, "there is no such webhook");
    };
    let bytes = match read_body(&headers, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let fail = |why: &'static str| {
        metrics::counter!("cadence_webhook_failures_total", "provider" => provider.name(), "why" => why)
            .increment(1);
    };
    let events = match hooks::receive(provider, &app.hooks, &headers, &bytes, wall_now()) {
        Ok(e) => e,
        Err(hooks::HookError::NotConfigured) => {
            return api_error(StatusCode::NOT_FOUND, "this webhook is not configured");
        }
        Err(hooks::HookError::Unauthorized(why)) => {
            fail("unauthorized");
            tracing::warn!(provider = provider.name(), why = %why, "webhook refused");
            return api_error(StatusCode::UNAUTHORIZED, &why);
        }
        Err(hooks::HookError::Malformed(why)) => {
            fail("malformed");
            return api_error(StatusCode::BAD_REQUEST, &why);
        }
    };
    let received = events.len();
    let r = with_store(&app, move |store, shared| {
        let now = wall_now();
        let mut inputs = Vec::new();
        let mut skipped = 0usize;
        for e in events {
            let event = match e.kind {
                hooks::HookKind::Bounced { hard: true } => "bounced",
                hooks::HookKind::Opened => "opened",
                hooks::HookKind::Clicked => "clicked",
                hooks::HookKind::Unsubscribed | hooks::HookKind::Complained => "unsubscribed",
                hooks::HookKind::Delivered | hooks::HookKind::Bounced { hard: false } => {
                    skipped += 1;
                    continue;
                }
            };
            let Some(m) = store.message_by_id(&e.message_id)? else {
                metrics::counter!("cadence_webhook_failures_total", "provider" => provider.name(), "why" => "unknown message")
                    .increment(1);
                skipped += 1;
                continue;
            };
            let engagement = matches!(event, "opened" | "clicked");
            let machine = engagement
                && (e.machine
                    || e.user_agent.as_deref().is_some_and(|ua| {
                        track::machine_reason(Some(ua), None, false, i64::MAX).is_some()
                    }));
            inputs.push(NewInput {
                key: format!("hook:{}:{}", provider.name(), e.id),
                at: e.at.unwrap_or(now).min(now),
                contact: m.contact,
                what: InputKind::Event {
                    event: event.into(),
                    step: Some(m.step),
                    cadence: shared.cadences.get(&m.version).cloned(),
                    field: None,
                    value: None,
                    machine,
                },
                origin: format!("{} webhook", provider.name()),
            });
        }
        let new = store.enqueue(&inputs, now)?;
        let queued = new.iter().filter(|n| **n).count();
        Ok::<_, crate::store::live::LiveError>((queued, inputs.len() - queued, skipped))
    })
    .await;
    match r {
        Ok(Ok((queued, duplicates, skipped))) => api_json(
            StatusCode::OK,
            serde_json::json!({
                "received": received,
                "queued": queued,
                "duplicates": duplicates,
                "skipped": skipped,
            }),
        ),
        Ok(Err(e)) => unavailable(&e.to_string()),
        Err(r) => r,
    }
}

/// The largest request body the API reads.
const MAX_BODY: usize = 1 << 20;
/// The most events one request may carry.
const MAX_EVENTS: usize = 10_000;

fn api_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::json!({ "error": message }).to_string() + "\n",
    )
        .into_response()
}

fn api_json(status: StatusCode, value: serde_json::Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string() + "\n",
    )
        .into_response()
}

async fn api_not_found() -> Response {
    api_error(
        StatusCode::NOT_FOUND,
        "no such endpoint; the API has POST /api/events, GET|PUT|PATCH /api/contacts/{id}, GET /api/tasks, POST /api/tasks/{id}/outcome, GET /api/cadences and GET /api/report",
    )
}

/// The name of the token a request carries, or the answer that refuses it.
async fn authorize(app: &App, headers: &HeaderMap) -> Result<String, Response> {
    let unauthorized = |m: &str| {
        let mut r = api_error(StatusCode::UNAUTHORIZED, m);
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
        r
    };
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(unauthorized(
            "this endpoint needs `Authorization: Bearer TOKEN` (`cadence token create` makes one)",
        ));
    };
    let Some(token) = value
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim())
        .filter(|t| !t.is_empty())
    else {
        return Err(unauthorized(
            "the Authorization header must be `Bearer TOKEN`",
        ));
    };
    let hash = crate::cli::token::token_hash(token);
    match with_store(app, move |store, _| store.token_name(&hash)).await? {
        Ok(Some(name)) => Ok(name),
        Ok(None) => Err(api_error(
            StatusCode::FORBIDDEN,
            "this token is not valid: unknown, or revoked",
        )),
        Err(e) => Err(unavailable(&e.to_string())),
    }
}

/// One event of `POST /api/events`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventIn {
    contact: String,
    event: String,
    /// RFC 3339; default: now.
    at: Option<String>,
    step: Option<u32>,
    cadence: Option<String>,
    field: Option<String>,
    value: Option<serde_json::Value>,
    /// An idempotency key: an event with a key already queued (by the same token) is not
    /// queued again.
    key: Option<String>,
    /// An `opened` or `clicked` made by a machine (a mail proxy, a link scanner).
    #[serde(default)]
    machine: bool,
}

/// Reads a request body of at most [`MAX_BODY`] bytes, or the 4xx that says why not.
async fn read_body(headers: &HeaderMap, body: Body) -> Result<axum::body::Bytes, Response> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let too_large = || {
        api_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "the body is larger than 1 MiB; send less in each request",
        )
    };
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return Err(too_large());
    }
    match tokio::time::timeout(BODY_TIMEOUT, axum::body::to_bytes(body, MAX_BODY)).await {
        Err(_) => Err(api_error(
            StatusCode::REQUEST_TIMEOUT,
            "the body did not arrive in time",
        )),
        Ok(Ok(b)) => Ok(b),
        Ok(Err(e)) if format!("{e:?}").contains("LengthLimit") => Err(too_large()),
        Ok(Err(_)) => Err(api_error(
            StatusCode::BAD_REQUEST,
            "the body could not be read",
        )),
    }
}

/// A random idempotency key (a request that gave none is never a duplicate).
fn fresh_key() -> Result<String, String> {
    let n = getrandom::u64().map_err(|e| format!("no random numbers from the system: {e}"))?;
    Ok(crate::mail::hex(&n.to_le_bytes()))
}

/// An `Idempotency-Key` header, if any: printable ASCII, at most 200 characters.
fn key_header(headers: &HeaderMap) -> Result<Option<String>, &'static str> {
    let Some(v) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    match v.to_str() {
        Ok(k) if !k.is_empty() && k.len() <= 200 => Ok(Some(k.to_string())),
        _ => Err("an Idempotency-Key is 1 to 200 printable ASCII characters"),
    }
}

/// One event or an array of them.
fn parse_events(body: &[u8]) -> Result<Vec<EventIn>, (StatusCode, String)> {
    let bad = |m: String| (StatusCode::BAD_REQUEST, m);
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| bad(format!("the body is not JSON: {e}")))?;
    let one = |i: Option<usize>, v: serde_json::Value| {
        serde_json::from_value::<EventIn>(v).map_err(|e| match i {
            Some(i) => bad(format!("event {i}: {e}")),
            None => bad(format!("the event: {e}")),
        })
    };
    match value {
        serde_json::Value::Array(items) => {
            if items.is_empty() {
                return Err(bad("the array holds no events".into()));
            }
            if items.len() > MAX_EVENTS {
                return Err((
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!(
                        "{} events in one request; send at most {MAX_EVENTS}",
                        items.len()
                    ),
                ));
            }
            items
                .into_iter()
                .enumerate()
                .map(|(i, v)| one(Some(i), v))
                .collect()
        }
        v @ serde_json::Value::Object(_) => Ok(vec![one(None, v)?]),
        _ => Err(bad("send an event object, or an array of them".into())),
    }
}

fn value_text(v: &serde_json::Value) -> Result<String, String> {
    match v {
        serde_json::Value::String(s) => Ok(s.clone()),
        serde_json::Value::Number(n) => Ok(n.to_string()),
        serde_json::Value::Bool(b) => Ok(b.to_string()),
        serde_json::Value::Null => Ok(String::new()),
        _ => Err("`value` must be a string, a number, a boolean or null".into()),
    }
}

/// Why an event was not queued.
enum Refusal {
    /// The event is not valid (a 4xx).
    Invalid(String),
    /// The database failed (a 503).
    Store(String),
}

impl From<String> for Refusal {
    fn from(m: String) -> Refusal {
        Refusal::Invalid(m)
    }
}

/// Checks one event as `cadence log` and events files are checked; the input to queue.
/// `what` names the endpoint, so that keys of different endpoints never meet.
#[allow(clippy::too_many_arguments)]
fn check_event(
    store: &mut SqliteLive,
    shared: &Shared,
    catalog: &crate::engine::Catalog,
    client: &str,
    what: &str,
    e: EventIn,
    now: i64,
) -> Result<NewInput, Refusal> {
    let at = match &e.at {
        Some(t) => crate::cli::live::instant(t, "`at`")?,
        None => now,
    };
    let long = [
        Some(&e.contact),
        Some(&e.event),
        e.field.as_ref(),
        e.cadence.as_ref(),
        e.key.as_ref(),
    ]
    .into_iter()
    .flatten()
    .any(|s| s.len() > 200);
    if long {
        return Err(Refusal::Invalid(
            "`contact`, `event`, `field`, `cadence` and `key` are at most 200 characters".into(),
        ));
    }
    let value = e.value.as_ref().map(value_text).transpose()?;
    let mut input = crate::sim::csvin::event_input(
        &shared.program,
        catalog,
        0,
        &e.event,
        &e.step.map(|s| s.to_string()).unwrap_or_default(),
        e.field.as_deref().unwrap_or(""),
        value.as_deref().unwrap_or(""),
        e.cadence.as_deref().unwrap_or(""),
    )?;
    crate::sim::csvin::mark_machine(&mut input, e.machine)?;
    if store
        .contact_by_id(&e.contact)
        .map_err(|x| Refusal::Store(x.to_string()))?
        .is_none()
    {
        return Err(Refusal::Invalid(format!("unknown contact `{}`", e.contact)));
    }
    let key = match &e.key {
        Some(k) => format!("api:{client}:{what}:{k}"),
        None => format!(
            "api:{client}:{what}:{at}:{}",
            fresh_key().map_err(Refusal::Store)?
        ),
    };
    Ok(NewInput {
        key,
        at,
        contact: e.contact,
        what: InputKind::Event {
            event: e.event,
            step: e.step,
            cadence: e.cadence,
            field: e.field,
            value,
            machine: e.machine,
        },
        origin: format!("POST /api/events ({client})"),
    })
}

async fn post_events(State(app): State<App>, headers: HeaderMap, body: Body) -> Response {
    let client = match authorize(&app, &headers).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let bytes = match read_body(&headers, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let events = match parse_events(&bytes) {
        Ok(e) => e,
        Err((status, m)) => return api_error(status, &m),
    };
    let total = events.len();
    let outcome = with_store(&app, move |store, shared| {
        let catalog = crate::engine::Catalog::new(&shared.program);
        let now = wall_now();
        let mut inputs = Vec::with_capacity(events.len());
        let mut errors = Vec::new();
        for (i, e) in events.into_iter().enumerate() {
            match check_event(store, shared, &catalog, &client, "event", e, now) {
                Ok(input) => inputs.push(input),
                Err(Refusal::Invalid(message)) => {
                    errors.push(serde_json::json!({ "index": i, "error": message }))
                }
                Err(Refusal::Store(e)) => return Err(crate::store::live::LiveError::Db(e)),
            }
        }
        if !errors.is_empty() {
            return Ok(Err(errors));
        }
        store.enqueue(&inputs, now).map(Ok)
    })
    .await;
    match outcome {
        Err(r) => r,
        Ok(Err(e)) => unavailable(&e.to_string()),
        Ok(Ok(Err(errors))) => api_json(
            StatusCode::UNPROCESSABLE_ENTITY,
            serde_json::json!({
                "error": format!("{} of {total} events are not valid; none was queued", errors.len()),
                "errors": errors,
            }),
        ),
        Ok(Ok(Ok(new))) => {
            let accepted = new.iter().filter(|n| **n).count();
            metrics::counter!("cadence_api_events_total").increment(accepted as u64);
            api_json(
                StatusCode::ACCEPTED,
                serde_json::json!({ "queued": accepted, "duplicates": total - accepted }),
            )
        }
    }
}

/// Reads a JSON body of at most [`MAX_BODY`] bytes into `T`, or the 4xx that says why not.
async fn json_body<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: Body,
) -> Result<T, Response> {
    let bytes = read_body(headers, body).await?;
    serde_json::from_slice(&bytes)
        .map_err(|e| api_error(StatusCode::BAD_REQUEST, &format!("the body: {e}")))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TasksQuery {
    owner: Option<String>,
    due: Option<String>,
}

async fn get_tasks(
    State(app): State<App>,
    headers: HeaderMap,
    query: Result<Query<TasksQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if let Err(r) = authorize(&app, &headers).await {
        return r;
    }
    let Ok(Query(q)) = query else {
        return api_error(
            StatusCode::BAD_REQUEST,
            "the query takes `owner` and `due` (today, overdue, open, all)",
        );
    };
    let due = match q.due.as_deref() {
        None => crate::cli::tasks::Due::Open,
        Some(d) => match crate::cli::tasks::Due::parse(d) {
            Some(d) => d,
            None => {
                return api_error(
                    StatusCode::BAD_REQUEST,
                    &format!("`due` is today, overdue, open or all, not `{d}`"),
                )
            }
        },
    };
    let rows = with_store(&app, move |store, _| {
        let (filter, _) = crate::cli::tasks::filter(store, q.owner, due)?;
        store.tasks(&filter).map_err(|e| e.to_string())
    })
    .await;
    match rows {
        Ok(Ok(rows)) => api_json(StatusCode::OK, serde_json::json!(rows)),
        Ok(Err(e)) => unavailable(&e),
        Err(r) => r,
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OutcomeIn {
    /// answered, no_answer, voicemail, completed, ...
    outcome: String,
    at: Option<String>,
    key: Option<String>,
}

async fn post_outcome(
    State(app): State<App>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let client = match authorize(&app, &headers).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Ok(id) = id.parse::<i64>() else {
        return api_error(StatusCode::NOT_FOUND, &format!("there is no task `{id}`"));
    };
    let o: OutcomeIn = match json_body(&headers, body).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    let outcome = with_store(&app, move |store, shared| {
        queue_outcome(store, shared, &client, "outcome", id, o)
    })
    .await;
    match outcome {
        Ok(Ok(new)) => api_json(StatusCode::ACCEPTED, serde_json::json!({ "queued": new })),
        Ok(Err((StatusCode::SERVICE_UNAVAILABLE, e))) => unavailable(&e),
        Ok(Err((status, e))) => api_error(status, &e),
        Err(r) => r,
    }
}

/// Queues the outcome of task `id` (an open one) for its contact, step and cadence, as
/// `client` gave it through the endpoint `what`; whether it was new.
fn queue_outcome(
    store: &mut SqliteLive,
    shared: &Shared,
    client: &str,
    what: &str,
    id: i64,
    o: OutcomeIn,
) -> Result<bool, (StatusCode, String)> {
    let filter = crate::store::live::TaskFilter {
        id: Some(id),
        ..Default::default()
    };
    let Some(task) = store
        .tasks(&filter)
        .map_err(|e| (StatusCode::SERVICE_UNAVAILABLE, e.to_string()))?
        .into_iter()
        .next()
    else {
        return Err((StatusCode::NOT_FOUND, format!("there is no task {id}")));
    };
    if task.state != "open" {
        return Err((
            StatusCode::CONFLICT,
            format!(
                "task {id} is {}; an outcome is taken for an open task only",
                task.state
            ),
        ));
    }
    let catalog = crate::engine::Catalog::new(&shared.program);
    let event = EventIn {
        contact: task.contact_id.clone(),
        event: o.outcome,
        at: o.at,
        step: Some(task.task.step),
        cadence: Some(task.cadence.clone()),
        field: None,
        value: None,
        key: o.key,
        machine: false,
    };
    let input = check_event(store, shared, &catalog, client, what, event, wall_now()).map_err(
        |e| match e {
            Refusal::Invalid(m) => (StatusCode::UNPROCESSABLE_ENTITY, m),
            Refusal::Store(m) => (StatusCode::SERVICE_UNAVAILABLE, m),
        },
    )?;
    let new = store
        .enqueue(&[input], wall_now())
        .map_err(|e| (StatusCode::SERVICE_UNAVAILABLE, e.to_string()))?;
    Ok(new.first().copied().unwrap_or(false))
}

async fn get_report(State(app): State<App>, headers: HeaderMap) -> Response {
    if let Err(r) = authorize(&app, &headers).await {
        return r;
    }
    let report = with_store(&app, |store, _| live_report(store).map(|(r, _)| r)).await;
    match report {
        Ok(Ok(r)) => match serde_json::to_value(&r) {
            Ok(v) => api_json(StatusCode::OK, v),
            Err(e) => unavailable(&e.to_string()),
        },
        Ok(Err(e)) => unavailable(&e),
        Err(r) => r,
    }
}

async fn put_contact(
    State(app): State<App>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    write_contact(app, id, headers, body, true).await
}

async fn patch_contact(
    State(app): State<App>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    write_contact(app, id, headers, body, false).await
}

/// Queues a contact's fields: with `replace` (PUT) every declared field not given is unset;
/// without (PATCH) only the fields given change. A JSON `null` unsets a field.
async fn write_contact(
    app: App,
    id: String,
    headers: HeaderMap,
    body: Body,
    replace: bool,
) -> Response {
    let client = match authorize(&app, &headers).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if id.trim().is_empty() || id.len() > 200 || id.trim() != id || id.chars().any(char::is_control)
    {
        return api_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "a contact id is 1 to 200 characters, without control characters or spaces around it",
        );
    }
    let given: serde_json::Map<String, serde_json::Value> = match json_body(&headers, body).await {
        Ok(m) => m,
        Err(r) => return r,
    };
    let key = match key_header(&headers) {
        Ok(k) => k,
        Err(m) => return api_error(StatusCode::BAD_REQUEST, m),
    };
    let outcome = with_store(&app, move |store, shared| {
        let catalog = crate::engine::Catalog::new(&shared.program);
        let mut fields = Vec::new();
        let mut errors = Vec::new();
        for (name, v) in &given {
            if name == "id" {
                errors.push("`id` is the path of the request, not a field".to_string());
                continue;
            }
            if name.len() > 200 {
                errors.push("a field name is at most 200 characters".to_string());
                continue;
            }
            let Some(g) = catalog.lookup(name) else {
                let known = catalog.names.iter().map(String::as_str);
                errors.push(match crate::syntax::closest(name, known) {
                    Some(c) => format!("unknown field `{name}`; did you mean `{c}`?"),
                    None => format!("unknown field `{name}`: no cadence declares it"),
                });
                continue;
            };
            let text = match value_text(v) {
                Ok(t) => t,
                Err(e) => {
                    errors.push(format!("field `{name}`: {e}"));
                    continue;
                }
            };
            match crate::sim::csvin::parse_value(&catalog.types[g as usize], &text) {
                Ok(v) => fields.push((name.clone(), v)),
                Err(e) => errors.push(format!("field `{name}`: {e}")),
            }
        }
        if !errors.is_empty() {
            return Ok(Err(errors));
        }
        if replace {
            for name in &catalog.names {
                if name != "id" && !given.contains_key(name) {
                    fields.push((name.clone(), None));
                }
            }
        }
        let key = match key {
            Some(k) => format!("api:{client}:contact:{k}"),
            None => match fresh_key() {
                Ok(k) => format!("api:{client}:contact:{k}"),
                Err(e) => return Err(crate::store::live::LiveError::Db(e)),
            },
        };
        let input = NewInput {
            key,
            at: wall_now(),
            contact: id,
            what: InputKind::Contact { fields },
            origin: format!(
                "{} /api/contacts ({client})",
                if replace { "PUT" } else { "PATCH" }
            ),
        };
        store.enqueue(&[input], wall_now()).map(|n| Ok(n[0]))
    })
    .await;
    match outcome {
        Err(r) => r,
        Ok(Err(e)) => unavailable(&e.to_string()),
        Ok(Ok(Err(errors))) => api_json(
            StatusCode::UNPROCESSABLE_ENTITY,
            serde_json::json!({ "error": errors.join("; "), "errors": errors }),
        ),
        Ok(Ok(Ok(new))) => api_json(StatusCode::ACCEPTED, serde_json::json!({ "queued": new })),
    }
}

/// A contact: its fields (as text), where it stands and what comes next (the words of
/// `cadence timeline`), and its history (the journal's records of it).
async fn get_contact(
    State(app): State<App>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = authorize(&app, &headers).await {
        return r;
    }
    let found = with_store(&app, move |store, _| contact_json(store, &id)).await;
    match found {
        Err(r) => r,
        Ok(Err(e)) => unavailable(&e),
        Ok(Ok(None)) => api_error(StatusCode::NOT_FOUND, "there is no such contact"),
        Ok(Ok(Some(v))) => api_json(StatusCode::OK, v),
    }
}

/// A contact as `GET /api/contacts/{id}` shows it, or `None` when there is no such contact.
fn contact_json(store: &mut SqliteLive, id: &str) -> Result<Option<serde_json::Value>, String> {
    let Some(row) = store.contact_by_id(id).map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    let lp = crate::runner::program::LiveProgram::from_store(store)?;
    let catalog = crate::engine::Catalog::new(&lp.program);
    let d = crate::runner::state::decode(&lp, &catalog, row.rowid, &row.id, &row.state)?;
    let mut fields = serde_json::Map::new();
    for (g, name) in catalog.names.iter().enumerate() {
        if let Some(v) = d.contact.fields.get(g as u16) {
            fields.insert(
                name.clone(),
                serde_json::Value::String(crate::mail::render::value_text(v)),
            );
        }
    }
    for (name, v) in &d.extra {
        fields.insert(
            name.clone(),
            serde_json::Value::String(crate::mail::render::value_text(v)),
        );
    }
    let mut jsonl = Vec::new();
    crate::runner::journal::write_trace_of(
        store,
        crate::sim::TraceFormat::Jsonl,
        &mut jsonl,
        Some(id),
    )?;
    let (records, _) = crate::report::read_trace(jsonl.as_slice());
    let history: Vec<serde_json::Value> = String::from_utf8_lossy(&jsonl)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .collect();
    let p = current_program(lp);
    let summary = crate::report::timeline(id, &records, Some(&p));
    Ok(Some(serde_json::json!({
        "id": id,
        "fields": fields,
        "timeline": summary,
        "history": history,
    })))
}

/// The cadences a database runs now (its deployed versions).
fn current_program(lp: crate::runner::program::LiveProgram) -> Program {
    let mut current = lp.current.iter();
    let mut p = lp.program;
    p.cadences.retain(|_| current.next() == Some(&true));
    p
}

/// `cadence report` over the journal, with the cadences the database runs.
fn live_report(store: &mut SqliteLive) -> Result<(crate::report::Report, Program), String> {
    let mut jsonl = Vec::new();
    crate::runner::journal::write_trace(store, crate::sim::TraceFormat::Jsonl, &mut jsonl)?;
    let (records, _) = crate::report::read_trace(jsonl.as_slice());
    let p = current_program(crate::runner::program::LiveProgram::from_store(store)?);
    Ok((crate::report::report(&records, Some(&p)), p))
}

/// The cadences: each with its versions (newest last) and the counts of its enrolments.
async fn get_cadences(State(app): State<App>, headers: HeaderMap) -> Response {
    if let Err(r) = authorize(&app, &headers).await {
        return r;
    }
    let listed = with_store(&app, |store, _| {
        let versions = store.versions().map_err(|e| e.to_string())?;
        let mut jsonl = Vec::new();
        crate::runner::journal::write_trace(store, crate::sim::TraceFormat::Jsonl, &mut jsonl)?;
        let (records, _) = crate::report::read_trace(jsonl.as_slice());
        let report = crate::report::report(&records, None);
        let mut names: Vec<&str> = versions.iter().map(|v| v.name.as_str()).collect();
        names.dedup();
        let mut seen = std::collections::HashSet::new();
        names.retain(|n| seen.insert(*n));
        let out: Vec<serde_json::Value> = names
            .into_iter()
            .map(|name| {
                let vs: Vec<serde_json::Value> = versions
                    .iter()
                    .filter(|v| v.name == name)
                    .map(|v| {
                        serde_json::json!({
                            "id": v.id,
                            "hash": v.hash,
                            "file": v.file,
                            "created": crate::engine::format_instant(v.created),
                            "current": v.deployed,
                        })
                    })
                    .collect();
                let r = report.cadences.iter().find(|c| c.cadence == name);
                serde_json::json!({
                    "name": name,
                    "versions": vs,
                    "enrolled": r.map_or(0, |r| r.enrolled),
                    "active": r.map_or(0, |r| r.active),
                    "completed": r.map_or(0, |r| r.completed),
                    "exited": r.map_or(0, |r| r.exited.values().sum::<usize>()),
                    "goals": r.map_or(0, |r| r.goals.values().sum::<usize>()),
                })
            })
            .collect();
        Ok::<_, String>(serde_json::json!({ "cadences": out }))
    })
    .await;
    match listed {
        Err(r) => r,
        Ok(Err(e)) => unavailable(&e),
        Ok(Ok(v)) => api_json(StatusCode::OK, v),
    }
}

/// `/metrics`: gauges read from the database, in Prometheus' text format.
async fn metrics(State(app): State<App>) -> Response {
    let counts = with_store(&app, |store, _| store.counts()).await;
    let c = match counts {
        Ok(Ok(x)) => x,
        Ok(Err(e)) => return unavailable(&e.to_string()),
        Err(r) => return r,
    };
    let mut out = String::new();
    let mut gauge = |name: &str, help: &str, lines: Vec<(String, i64)>| {
        out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} gauge\n"));
        for (labels, v) in lines {
            out.push_str(&format!("{name}{labels} {v}\n"));
        }
    };
    gauge(
        "cadence_contacts",
        "Contacts in the database.",
        vec![(String::new(), c.contacts)],
    );
    gauge(
        "cadence_contacts_waiting",
        "Contacts with a timer set.",
        vec![(String::new(), c.waiting)],
    );
    gauge(
        "cadence_inputs_queued",
        "Inputs ever queued.",
        vec![(String::new(), c.inbox)],
    );
    let mut outbox: Vec<(String, i64)> = [
        "pending", "sending", "sent", "in-doubt", "bounced", "failed",
    ]
    .iter()
    .map(|s| {
        let n = c.outbox.iter().find(|(k, _)| k == s).map_or(0, |(_, n)| *n);
        (format!("{{state=\"{s}\"}}"), n)
    })
    .collect();
    outbox.sort();
    gauge(
        "cadence_outbox_messages",
        "Emails in the outbox, by state.",
        outbox,
    );
    gauge(
        "cadence_tasks_open",
        "Calls and tasks open in the reps' queue.",
        vec![(String::new(), c.tasks_open)],
    );
    if let Some(handle) = &app.metrics {
        out.push_str(&handle.render());
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response()
}

/// A small self-contained page (no external assets).
fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t}</title><style>body{{font-family:-apple-system,'Segoe UI',Helvetica,Arial,\
         sans-serif;max-width:32em;margin:4em auto;padding:0 1em;color:#1f2937}}\
         button{{font-size:1em;padding:.5em 1.2em}}</style></head>\n\
         <body><h1>{t}</h1>\n{body}\n</body></html>\n",
        t = esc(title)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_verifies_only_as_signed() {
        let s = Signer::new(b"0123456789abcdef0123");
        let t = s.sign("unsubscribe", "14.3.0");
        assert_eq!(parse_link(&s, &t), Some((14, 3, 0)));
        let other = Signer::new(b"another secret of enough length");
        assert_eq!(parse_link(&other, &t), None);
        assert_eq!(parse_link(&s, &s.sign("click", "14.3.0")), None);
        assert_eq!(parse_link(&s, &s.sign("unsubscribe", "14.3")), None);
        assert_eq!(parse_link(&s, &s.sign("unsubscribe", "14.3.0.1")), None);
        assert_eq!(parse_link(&s, "not a token"), None);
        let mut tampered = t.clone();
        tampered.replace_range(0..1, if t.starts_with('M') { "N" } else { "M" });
        assert_eq!(parse_link(&s, &tampered), None);
    }

    proptest::proptest! {
        #[test]
        fn no_body_makes_the_event_parser_panic(body in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = parse_events(&body);
        }

        #[test]
        fn no_json_makes_the_event_parser_panic(text in "[\\[\\]{}\",:a-z0-9 .-]{0,120}") {
            let _ = parse_events(text.as_bytes());
        }

        #[test]
        fn no_token_makes_the_link_parser_panic(token in "\\PC{0,80}") {
            let s = Signer::new(b"0123456789abcdef0123");
            proptest::prop_assert_eq!(parse_link(&s, &token), None);
        }
    }

    #[test]
    fn pages_escape_what_they_show() {
        let p = page("<script>", "");
        assert!(p.contains("<title>&lt;script&gt;</title>"));
    }
}
