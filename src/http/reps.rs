//! The reps' pages, rendered on the server with `maud`, whose templates escape every value
//! they are given (no script, no external asset):
//!
//! - `GET /reps/sign-in?token=T[&next=/reps/...]`: a rep's link (a token of `cadence token
//!   create`); it sets an HttpOnly, SameSite=Strict cookie and goes on to `next`;
//! - `GET /reps?owner=NAME&due=today`: *My queue*: calls and tasks, at the contact's local
//!   time, with the phone, and a button per outcome;
//! - `POST /reps/tasks/{id}/outcome`: what a button sends;
//! - `GET /reps/contacts/{id}`: *Record*: fields, where the contact stands, its history;
//! - `GET /reps/report`: *Cadence*: the live report page of `cadence report --format html`.
//!
//! No page shows anything without the cookie. The cookie is SameSite=Strict, so another site
//! cannot post an outcome in a rep's name.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::{html, Markup, DOCTYPE};
use serde::Deserialize;

use super::{read_body, unavailable, with_store, App};
use crate::store::live::TaskRow;

const COOKIE: &str = "cadence_rep";

pub(super) fn routes() -> Router<App> {
    Router::new()
        .route("/reps/sign-in", get(sign_in))
        .route("/reps", get(queue))
        .route("/reps/tasks/{id}/outcome", post(outcome))
        .route("/reps/contacts/{id}", get(record))
        .route("/reps/report", get(report))
}

/// A page of the reps' side: a title, a menu, a body.
fn rep_page(status: StatusCode, title: &str, rep: Option<&str>, body: Markup) -> Response {
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            (super::head(title, STYLE))
            body {
                @if let Some(name) = rep {
                    nav {
                        a href="/reps?due=today" { "My queue" } " · "
                        a href="/reps?due=all" { "All tasks" } " · "
                        a href="/reps/report" { "Cadences" }
                        span.who { (name) }
                    }
                }
                h1 { (title) }
                (body)
            }
        }
    };
    (status, Html(page.into_string())).into_response()
}

const STYLE: &str = "body{font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;margin:24px auto;max-width:1100px;padding:0 16px;color:#1f2937}\
nav{display:flex;gap:12px;align-items:center;border-bottom:1px solid #e5e7eb;padding-bottom:8px}\
nav a{color:#1d4ed8;text-decoration:none}.who{margin-left:auto;color:#6b7280}\
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e5e7eb;vertical-align:top}\
th{color:#4b5563;font-weight:600;font-size:14px}.muted{color:#6b7280;font-size:13px}\
.high{color:#b91c1c;font-weight:600}form.inline{display:inline}button{margin:2px;padding:4px 10px;font-size:14px}\
pre{background:#f3f4f6;padding:12px;border-radius:6px;white-space:pre-wrap}";

/// The token a request's cookie carries.
fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_string())
}

/// The rep a request comes from, or the page that asks them to sign in.
async fn rep(app: &App, headers: &HeaderMap) -> Result<String, Response> {
    let refuse = || {
        rep_page(
            StatusCode::UNAUTHORIZED,
            "Sign in",
            None,
            html! {
                p {
                    "Open the sign-in link you were given. (An administrator makes one with "
                    code { "cadence token create --name YOUR-NAME" } ".)"
                }
            },
        )
    };
    let Some(token) = cookie_token(headers) else {
        return Err(refuse());
    };
    let hash = crate::cli::token::token_hash(&token);
    match with_store(app, move |store, _| store.token_name(&hash)).await? {
        Ok(Some(name)) => Ok(name),
        Ok(None) => Err(refuse()),
        Err(e) => Err(unavailable(&e.to_string())),
    }
}

/// A path of the reps' side to go on to, or `/reps`: never another site.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if (n == "/reps" || n.starts_with("/reps/") || n.starts_with("/reps?"))
                && !n.contains("//")
                && !n.contains('\\')
                && n.chars().all(|c| c.is_ascii_graphic()) =>
        {
            n.to_string()
        }
        _ => "/reps?due=today".to_string(),
    }
}

#[derive(Debug, Deserialize)]
struct SignIn {
    token: String,
    next: Option<String>,
}

async fn sign_in(
    State(app): State<App>,
    query: Result<Query<SignIn>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(q)) = query else {
        return rep_page(
            StatusCode::BAD_REQUEST,
            "Sign in",
            None,
            html! { p { "This link is not complete: it needs its " code { "token" } "." } },
        );
    };
    let hash = crate::cli::token::token_hash(&q.token);
    let name = match with_store(&app, move |store, _| store.token_name(&hash)).await {
        Ok(Ok(n)) => n,
        Ok(Err(e)) => return unavailable(&e.to_string()),
        Err(r) => return r,
    };
    if name.is_none()
        || !q
            .token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return rep_page(
            StatusCode::FORBIDDEN,
            "Sign in",
            None,
            html! { p { "This sign-in link is not valid, or it was revoked. Ask for a new one." } },
        );
    }
    (
        StatusCode::SEE_OTHER,
        [
            (
                header::SET_COOKIE,
                format!(
                    "{COOKIE}={}; Path=/reps; HttpOnly; SameSite=Strict; Max-Age=2592000",
                    q.token
                ),
            ),
            (header::LOCATION, safe_next(q.next.as_deref())),
        ],
    )
        .into_response()
}

#[derive(Debug, Deserialize)]
struct QueueQuery {
    owner: Option<String>,
    due: Option<String>,
}

async fn queue(
    State(app): State<App>,
    headers: HeaderMap,
    query: Result<Query<QueueQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let name = match rep(&app, &headers).await {
        Ok(n) => n,
        Err(r) => return r,
    };
    let Ok(Query(q)) = query else {
        return rep_page(
            StatusCode::BAD_REQUEST,
            "My queue",
            Some(&name),
            html! {
                p { "This address is not valid: it takes " code { "owner" } " and " code { "due" } "." }
            },
        );
    };
    let due_text = q.due.clone().unwrap_or_else(|| "today".into());
    let Some(due) = crate::cli::tasks::Due::parse(&due_text) else {
        return rep_page(
            StatusCode::BAD_REQUEST,
            "My queue",
            Some(&name),
            html! { p { code { "due" } " is today, overdue, open or all." } },
        );
    };
    let owner = q.owner.clone().filter(|o| !o.is_empty());
    let rows = with_store(&app, move |store, _| {
        let (filter, now) = crate::cli::tasks::filter(store, owner, due)?;
        Ok::<_, String>((store.tasks(&filter).map_err(|e| e.to_string())?, now))
    })
    .await;
    let (rows, now) = match rows {
        Ok(Ok(x)) => x,
        Ok(Err(e)) => return unavailable(&e),
        Err(r) => return r,
    };
    let back = format!(
        "owner={}&due={}",
        encode(q.owner.as_deref().unwrap_or("")),
        encode(&due_text)
    );
    let count = match rows.len() {
        0 => "Nothing to do".to_string(),
        1 => "1 call or task".to_string(),
        n => format!("{n} calls and tasks"),
    };
    let body = html! {
        form method="get" action="/reps" {
            label { "Owner " input name="owner" value=(q.owner.as_deref().unwrap_or("")) placeholder="everyone"; }
            " "
            label {
                "Due "
                select name="due" {
                    @for d in ["today", "overdue", "open", "all"] {
                        option selected[d == due_text] { (d) }
                    }
                }
            }
            " "
            button type="submit" { "Show" }
        }
        p.muted { (count) " on the database's clock, " (crate::engine::format_instant(now)) " UTC." }
        @if !rows.is_empty() {
            table {
                tr {
                    th { "Due" } th { "Their time" } th { "Priority" } th { "Contact" }
                    th { "Phone" } th { "What" } th { "Cadence" } th {}
                }
                @for r in &rows { (row_html(r, &back)) }
            }
        }
    };
    rep_page(StatusCode::OK, "My queue", Some(&name), body)
}

/// Percent-encodes a value for a query string.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn row_html(r: &TaskRow, back: &str) -> Markup {
    let t = &r.task;
    let outcomes: &[&str] = if t.kind == "call" {
        &["answered", "no_answer", "voicemail"]
    } else {
        &["completed"]
    };
    html! {
        tr {
            td { (crate::cli::tasks::local(t.due, "UTC")) }
            td { (crate::cli::tasks::local(t.due, &t.zone)) }
            td class=(t.priority) { (t.priority) }
            td { a href={ "/reps/contacts/" (encode(&r.contact_id)) } { (r.contact_id) } }
            td { (t.phone.as_deref().unwrap_or("-")) }
            td { (t.kind) " " (t.subject) }
            td { (r.cadence) " " span.muted { "step " (t.step) } }
            td {
                @if r.state == "open" {
                    @for o in outcomes {
                        form.inline method="post" action={ "/reps/tasks/" (r.id) "/outcome" } {
                            input type="hidden" name="outcome" value=(o);
                            input type="hidden" name="back" value=(back);
                            button type="submit" { (o.replace('_', " ")) }
                        }
                    }
                } @else {
                    span.muted {
                        (r.state)
                        @if let Some(o) = &r.outcome { ": " (o) }
                    }
                }
            }
        }
    }
}

/// The fields of a form body (`a=b&c=d`, percent-decoded).
fn form_fields(body: &[u8]) -> Vec<(String, String)> {
    let decode = |s: &str| -> String {
        let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
        let b = s.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push(h * 16 + l);
                        i += 3;
                        continue;
                    }
                    _ => out.push(b'%'),
                },
                c => out.push(c),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    String::from_utf8_lossy(body)
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

async fn outcome(
    State(app): State<App>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let name = match rep(&app, &headers).await {
        Ok(n) => n,
        Err(r) => return r,
    };
    let bytes = match read_body(&headers, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let fields = form_fields(&bytes);
    let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let (Ok(id), Some(outcome)) = (id.parse::<i64>(), get("outcome")) else {
        return rep_page(
            StatusCode::BAD_REQUEST,
            "My queue",
            Some(&name),
            html! { p { "This button is not complete. Go back to " a href="/reps" { "your queue" } "." } },
        );
    };
    let client = name.clone();
    let done = with_store(&app, move |store, shared| {
        let o = super::OutcomeIn {
            outcome,
            at: None,
            key: None,
        };
        super::queue_outcome(store, shared, &client, "rep", id, o).map(|_| ())
    })
    .await;
    match done {
        Err(r) => r,
        Ok(Err((StatusCode::SERVICE_UNAVAILABLE, e))) => unavailable(&e),
        Ok(Err((status, m))) => rep_page(
            status,
            "My queue",
            Some(&name),
            html! { p { (m) } p { a href="/reps" { "Back to your queue" } } },
        ),
        Ok(Ok(())) => {
            let back = get("back").unwrap_or_default();
            let query_ok = back
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "=&%-_.".contains(c));
            let to = if query_ok && !back.is_empty() {
                format!("/reps?{back}")
            } else {
                "/reps".to_string()
            };
            (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response()
        }
    }
}

async fn record(State(app): State<App>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let name = match rep(&app, &headers).await {
        Ok(n) => n,
        Err(r) => return r,
    };
    let shown = id.clone();
    let found = with_store(&app, move |store, _| super::contact_json(store, &id)).await;
    let v = match found {
        Err(r) => return r,
        Ok(Err(e)) => return unavailable(&e),
        Ok(Ok(None)) => {
            return rep_page(
                StatusCode::NOT_FOUND,
                "Record",
                Some(&name),
                html! { p { "There is no such contact." } },
            )
        }
        Ok(Ok(Some(v))) => v,
    };
    let body = html! {
        h2 { "Fields" }
        table {
            @if let Some(fields) = v["fields"].as_object() {
                @for (k, val) in fields {
                    tr { th { (k) } td { (val.as_str().unwrap_or("")) } }
                }
            }
        }
        h2 { "Where it stands, and its history" }
        pre { (v["timeline"].as_str().unwrap_or("Nothing has happened yet.")) }
    };
    rep_page(
        StatusCode::OK,
        &format!("Record {shown}"),
        Some(&name),
        body,
    )
}

async fn report(State(app): State<App>, headers: HeaderMap) -> Response {
    if let Err(r) = rep(&app, &headers).await {
        return r;
    }
    match with_store(&app, |store, _| super::live_report(store)).await {
        Err(r) => r,
        Ok(Err(e)) => unavailable(&e),
        Ok(Ok((r, p))) => {
            Html(crate::report::html::render(&r, Some(&p), "Cadences, live")).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_the_reps_side() {
        assert_eq!(safe_next(Some("/reps/contacts/c1")), "/reps/contacts/c1");
        assert_eq!(safe_next(Some("/reps?due=all")), "/reps?due=all");
        for bad in [
            "https://evil.test",
            "//evil.test",
            "/reps//evil.test",
            "/repsx",
            "/reps/\\evil",
            "/reps/a b",
        ] {
            assert_eq!(safe_next(Some(bad)), "/reps?due=today", "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn no_form_body_makes_the_decoder_panic(body in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let _ = form_fields(&body);
        }

        #[test]
        fn next_is_always_a_path_of_the_reps_side(next in "\\PC{0,60}") {
            let n = safe_next(Some(&next));
            proptest::prop_assert!(n.starts_with("/reps") && !n.contains("//"));
        }
    }

    #[test]
    fn form_fields_are_decoded() {
        assert_eq!(
            form_fields(b"outcome=no_answer&back=owner%3Dsdr%26due%3Dall&x=a+b%"),
            vec![
                ("outcome".into(), "no_answer".into()),
                ("back".into(), "owner=sdr&due=all".into()),
                ("x".into(), "a b%".into())
            ]
        );
    }
}
