//! The HTTP side: routes, the update handler, the admin API and the connection loop.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinSet;
use tower::ServiceExt;

use crate::Error;
use crate::auth::{Caller, Keys};
use crate::faults::{Fault, FaultConfig};
use crate::journal::{Journal, Pending};
use crate::org::Org;
use crate::ratelimit::Decision;
use crate::response::{Failure, json_response, to_bytes};
use crate::seed::{SCOPE_READ, SCOPE_WRITE};
use crate::store::Store;
use crate::validate::parse_update;

/// The largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// How long shutdown waits for requests in flight before closing their connections.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Everything a handler needs, behind one `Arc` (one reference count per request).
#[derive(Debug, Clone)]
pub(crate) struct AppState(Arc<App>);

/// The shared parts of a running emulator.
#[derive(Debug)]
pub(crate) struct App {
    pub store: Store,
    pub keys: Keys,
    /// Every organisation's faults, rate limit and journal, by index.
    pub orgs: Vec<Org>,
    /// The journal of requests without a valid key, which belong to no organisation.
    pub unattributed: Journal,
}

/// How many contacts `GET /_emulator/contacts` lists when `limit` is not given.
pub const DEFAULT_PAGE_SIZE: usize = 100;
/// The most contacts `GET /_emulator/contacts` lists at once.
pub const MAX_PAGE_SIZE: usize = 1_000;

impl AppState {
    pub(crate) fn new(app: App) -> Self {
        Self(Arc::new(app))
    }
}

impl App {
    /// The organisation of a key.
    pub(crate) fn org(&self, caller: &Caller) -> Result<&Org, Failure> {
        self.orgs.get(caller.org).ok_or_else(|| {
            Failure::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL",
                "the key's organisation is unknown",
            )
        })
    }

    /// The journal a request of `caller` goes to.
    fn journal_of(&self, caller: Option<&Caller>) -> &Journal {
        caller
            .and_then(|c| self.orgs.get(c.org))
            .map_or(&self.unattributed, |org| &org.journal)
    }
}

impl std::ops::Deref for AppState {
    type Target = App;

    fn deref(&self) -> &App {
        &self.0
    }
}

/// Closes one connection without a response (the `drop` fault).
#[derive(Debug, Clone, Default)]
struct ConnectionKill(Arc<Notify>);

tokio::task_local! {
    /// The kill switch of the connection whose request is being handled.
    static CONNECTION_KILL: ConnectionKill;
}

/// The router of the Nateq API and the admin API.
pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/v1/contacts/{id}", put(update_contact))
        .route("/_emulator/contacts", get(admin_contacts))
        .route("/_emulator/contacts/{id}", get(admin_contact))
        .route("/_emulator/reset", post(admin_reset))
        .route("/_emulator/faults", get(admin_faults).put(admin_set_faults))
        .route(
            "/_emulator/rate-limit",
            get(admin_rate_limit).put(admin_set_rate_limit),
        )
        .route("/_emulator/health", get(health))
        .route(
            "/_emulator/requests",
            get(admin_requests).delete(admin_clear_requests),
        )
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .with_state(state)
}

/// Serves `router` on `listener` until `shutdown` fires, then shuts down gracefully.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    mut shutdown: oneshot::Receiver<()>,
) {
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    let builder = hyper::server::conn::http1::Builder::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _peer)) => stream,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot accept a connection");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                };
                // Each response is one write; send it at once.
                let _ = stream.set_nodelay(true);
                let kill = ConnectionKill::default();
                let service = {
                    let router = router.clone();
                    hyper::service::service_fn(move |request: Request<Incoming>| {
                        router.clone().oneshot(request.map(Body::new))
                    })
                };
                // Handlers run inside the connection's future, so the task-local is in scope
                // for them without a per-request extension.
                let connection = CONNECTION_KILL.scope(
                    kill.clone(),
                    graceful.watch(builder.serve_connection(TokioIo::new(stream), service)),
                );
                connections.spawn(async move {
                    tokio::select! {
                        result = connection => {
                            if let Err(e) = result {
                                tracing::debug!(error = %e, "connection ended with an error");
                            }
                        }
                        () = kill.0.notified() => {
                            tracing::debug!("connection dropped by fault injection");
                        }
                    }
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            _ = &mut shutdown => break,
        }
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::debug!("requests still in flight after the grace period, closing them");
    }
    connections.shutdown().await;
}

/// `PUT /api/v1/contacts/{id}`: the rate limit, fault injection, the update, the journal, all
/// of the key's organisation. A request without a valid key belongs to no organisation: it gets
/// its 401, no fault, and goes to the journal of such requests.
async fn update_contact(
    State(app): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    request: Request<Body>,
) -> Response {
    // Headers by reference: the `HeaderMap` extractor would clone them on every request.
    let (parts, body) = request.into_parts();
    let headers = &parts.headers;
    let contact_id = id.as_ref().ok().map(|Path(id)| id.as_str());
    let caller = app.keys.authenticate(headers);
    let valid = caller.as_ref().ok().copied();
    let org = valid.and_then(|c| app.orgs.get(c.org));
    let mut journal = app.journal_of(valid).start(
        &parts.method,
        parts.uri.path(),
        contact_id,
        valid.map(|c| c.index),
    );
    // The limit is per key: a request without a valid key is not counted (it gets its 401).
    let limit = match (valid, org) {
        (Some(caller), Some(org)) => org.check_rate(&caller.key.id),
        _ => None,
    };
    let (mut response, error_code) = match limit {
        Some(
            ref decision @ Decision {
                retry_after_secs: Some(secs),
                ..
            },
        ) => {
            journal_body(headers, body, &mut journal).await;
            answer(Err(rate_limited(decision, secs)))
        }
        _ => faulty_update(&app, org, caller, id, headers, body, &mut journal).await,
    };
    if let Some(decision) = limit {
        decision.add_headers(response.headers_mut());
    }
    if let Some(entry) = journal {
        entry.finish(response.status().as_u16(), error_code);
    }
    response
}

/// The response of a result, and the error code to journal.
fn answer(result: Result<Bytes, Failure>) -> (Response, Option<&'static str>) {
    match result {
        Ok(body) => (json_response(StatusCode::OK, body), None),
        Err(failure) => {
            let code = failure.code;
            (failure.into_response(), Some(code))
        }
    }
}

/// The 429 of the rate limit; its message gives the `Retry-After` the response carries.
fn rate_limited(decision: &Decision, retry_after_secs: u64) -> Failure {
    let text = decision
        .retry_after_text()
        .unwrap_or_else(|| retry_after_secs.to_string());
    let mut failure = Failure::new(
        StatusCode::TOO_MANY_REQUESTS,
        "RATE_LIMITED",
        format!("rate limit exceeded; retry after {text} seconds"),
    );
    failure.retry_after = Some(retry_after_secs);
    failure
}

/// The update with the organisation's targeted and seeded random faults.
async fn faulty_update(
    app: &AppState,
    org: Option<&Org>,
    caller: Result<&Caller, Failure>,
    id: Result<Path<String>, PathRejection>,
    headers: &HeaderMap,
    body: Body,
    journal: &mut Option<Pending<'_>>,
) -> (Response, Option<&'static str>) {
    let contact_id = id.as_ref().ok().map(|Path(id)| id.as_str());
    let decided = org.and_then(|org| org.faults.decide(contact_id));
    if let (Some(entry), Some(decided)) = (journal.as_mut(), decided) {
        entry.fault(decided.name);
    }
    let mut drop_connection = false;
    let mut malformed = false;
    // A fault answered without applying anything reads the body for the journal only.
    match decided.map(|d| d.fault) {
        None => {}
        Some(Fault::TooManyRequests { retry_after_secs }) => {
            let mut failure = Failure::new(
                StatusCode::TOO_MANY_REQUESTS,
                "RATE_LIMITED",
                format!("too many requests; retry after {retry_after_secs} seconds"),
            );
            failure.retry_after = Some(retry_after_secs);
            journal_body(headers, body, journal).await;
            return answer(Err(failure));
        }
        Some(Fault::InternalServerError) => {
            journal_body(headers, body, journal).await;
            return answer(Err(Failure::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL_ERROR",
                "an internal error occurred; retry later",
            )));
        }
        Some(Fault::BadGateway) => {
            journal_body(headers, body, journal).await;
            return (bad_gateway(), None);
        }
        Some(Fault::ServiceUnavailable) => {
            journal_body(headers, body, journal).await;
            return answer(Err(Failure::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "SERVICE_UNAVAILABLE",
                "the service is temporarily unavailable; retry later",
            )));
        }
        Some(Fault::DropBeforeApply) => {
            journal_body(headers, body, journal).await;
            kill_connection().await;
            return answer(Err(Failure::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "SERVICE_UNAVAILABLE",
                "the connection could not be dropped",
            )));
        }
        Some(Fault::Stall(duration) | Fault::Latency(duration)) => {
            tokio::time::sleep(duration).await;
        }
        Some(Fault::DropAfterApply) => drop_connection = true,
        Some(Fault::Malformed) => malformed = true,
    }
    let result = handle_update(app, caller, id, headers, body, journal).await;
    if drop_connection {
        kill_connection().await;
    }
    match result {
        // Half of the body, with a matching `Content-Length`: a complete response whose JSON
        // ends in the middle.
        Ok(body) if malformed => (
            json_response(StatusCode::OK, body.slice(..body.len() / 2)),
            None,
        ),
        result => answer(result),
    }
}

/// Reads the body of a request that is answered without being applied, for the journal only.
async fn journal_body(headers: &HeaderMap, body: Body, journal: &mut Option<Pending<'_>>) {
    if let Some(entry) = journal
        && let Ok(body) = read_body(headers, body).await
    {
        entry.body(&body);
    }
}

/// Closes the connection of the request being handled without a response: never returns
/// (this future is dropped with the connection), unless there is no connection to close.
async fn kill_connection() {
    if CONNECTION_KILL.try_with(|kill| kill.0.notify_one()).is_ok() {
        std::future::pending::<()>().await;
    }
}

/// A 502 as a proxy in front of the API sends it: an HTML page, not the envelope.
fn bad_gateway() -> Response {
    let mut response = (
        StatusCode::BAD_GATEWAY,
        Bytes::from_static(
            b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n\
              <center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n",
        ),
    )
        .into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

async fn handle_update(
    app: &AppState,
    caller: Result<&Caller, Failure>,
    id: Result<Path<String>, PathRejection>,
    headers: &HeaderMap,
    body: Body,
    journal: &mut Option<Pending<'_>>,
) -> Result<Bytes, Failure> {
    let caller = caller?;
    require_scope(caller, SCOPE_WRITE)?;
    let Path(id) = id.map_err(|e| Failure::not_found(format!("invalid contact id: {e}")))?;
    check_content_type(headers)?;
    let body = read_body(headers, body).await?;
    if let Some(entry) = journal {
        entry.body(&body);
    }
    let request = parse_update(&body)?;
    app.store.update(caller, &id, &request)
}

fn require_scope(caller: &Caller, scope: &str) -> Result<(), Failure> {
    if caller.key.has_scope(scope) {
        return Ok(());
    }
    Err(Failure::new(
        StatusCode::FORBIDDEN,
        "INSUFFICIENT_SCOPE",
        format!("the api key lacks the {scope} scope"),
    )
    .with_details(serde_json::json!({ "requiredScope": scope })))
}

/// Accepts `application/json` and `application/*+json`, with or without parameters.
fn check_content_type(headers: &HeaderMap) -> Result<(), Failure> {
    let unsupported = |found: &str| {
        Failure::new(
            StatusCode::BAD_REQUEST,
            "UNSUPPORTED_MEDIA_TYPE",
            format!("the content type must be application/json, not {found}"),
        )
        .with_details(serde_json::json!({ "header": "content-type" }))
    };
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Err(unsupported("none"));
    };
    let Ok(value) = value.to_str() else {
        return Err(unsupported("a non-ascii value"));
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    let json = essence.eq_ignore_ascii_case("application/json")
        || essence
            .get(..12)
            .is_some_and(|p| p.eq_ignore_ascii_case("application/"))
            && essence.len() > 17
            && essence
                .get(essence.len() - 5..)
                .is_some_and(|s| s.eq_ignore_ascii_case("+json"));
    if json {
        Ok(())
    } else {
        let shown: String = essence.chars().take(100).collect();
        Err(unsupported(&shown))
    }
}

/// Reads at most [`MAX_BODY_BYTES`]; refuses a larger body as soon as that is known.
async fn read_body(headers: &HeaderMap, body: Body) -> Result<Bytes, Failure> {
    if let Some(length) = headers.get(header::CONTENT_LENGTH) {
        let length = length
            .to_str()
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(u64::MAX);
        if length > MAX_BODY_BYTES as u64 {
            return Err(Failure::too_large(MAX_BODY_BYTES));
        }
    }
    // A body in one frame (the usual case) is passed on without a copy; more frames are
    // gathered, and the limit is checked before each one is kept.
    let mut body = body;
    let mut first: Option<Bytes> = None;
    let mut gathered: Option<BytesMut> = None;
    let mut total = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame
            .map_err(|e| Failure::bad_body(format!("the request body could not be read: {e}")))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        total = total.saturating_add(data.len());
        if total > MAX_BODY_BYTES {
            return Err(Failure::too_large(MAX_BODY_BYTES));
        }
        match (&mut first, &mut gathered) {
            (None, None) => first = Some(data),
            (Some(head), None) => {
                let mut buf = BytesMut::with_capacity(total);
                buf.extend_from_slice(head);
                buf.extend_from_slice(&data);
                gathered = Some(buf);
            }
            (_, Some(buf)) => buf.extend_from_slice(&data),
        }
    }
    Ok(match (first, gathered) {
        (_, Some(buf)) => buf.freeze(),
        (Some(head), None) => head,
        (None, None) => Bytes::new(),
    })
}

/// `GET /_emulator/contacts[?limit=N][&after=ID]`: a page of the key's organisation's contacts,
/// sorted by id; `Link` names the next page, `X-Total-Count` the organisation's contacts.
async fn admin_contacts(
    State(app): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    let result = admin_key(&app, &headers).and_then(|caller| {
        let mut limit = DEFAULT_PAGE_SIZE;
        let mut after = None;
        for (name, value) in &query {
            match name.as_str() {
                "limit" => {
                    limit = value
                        .parse::<usize>()
                        .ok()
                        .filter(|n| (1..=MAX_PAGE_SIZE).contains(n))
                        .ok_or_else(|| {
                            field_error(
                                "limit",
                                format!(
                                    "must be a whole number from 1 to {MAX_PAGE_SIZE}, not {value:?}"
                                ),
                            )
                        })?;
                }
                "after" => after = Some(value.as_str()),
                other => {
                    return Err(field_error(
                        other,
                        "unknown query parameter; expected limit or after",
                    ));
                }
            }
        }
        let page = app.store.page(caller.org, after, limit)?;
        Ok((page, limit))
    });
    match result {
        Ok((page, limit)) => {
            let mut response = json_response(StatusCode::OK, to_bytes(&page.contacts));
            let headers = response.headers_mut();
            headers.insert("x-total-count", HeaderValue::from(page.total));
            if let Some(next) = page.next {
                let link = format!(
                    "</_emulator/contacts?limit={limit}&after={}>; rel=\"next\"",
                    query_escape(&next)
                );
                if let Ok(value) = HeaderValue::from_str(&link) {
                    headers.insert(header::LINK, value);
                }
            }
            response
        }
        Err(failure) => failure.into_response(),
    }
}

/// A query parameter's value, percent-encoded (all but unreserved characters).
fn query_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `GET /_emulator/contacts/{id}`.
async fn admin_contact(
    State(app): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    let result = admin_key(&app, &headers).and_then(|caller| {
        let Path(id) = id.map_err(|e| Failure::not_found(format!("invalid contact id: {e}")))?;
        app.store
            .contact(Some(caller.org), &id)
            .ok_or_else(|| Failure::not_found(format!("contact {id} not found")))
    });
    match result {
        Ok(contact) => json_response(StatusCode::OK, to_bytes(&contact)),
        Err(failure) => failure.into_response(),
    }
}

/// `POST /_emulator/reset`: the key's organisation's contacts back to the seed.
async fn admin_reset(State(app): State<AppState>, headers: HeaderMap) -> Response {
    admin_action(
        &app,
        &headers,
        |caller, _| app.store.reset(caller.org),
        br#"{"success":true,"message":"state reset to the seed"}"#,
    )
}

/// An admin route that changes something of the key's organisation and takes no body: needs
/// `contacts:write`, runs `action`, then answers 200 with `body`.
fn admin_action(
    app: &AppState,
    headers: &HeaderMap,
    action: impl FnOnce(&Caller, &Org),
    body: &'static [u8],
) -> Response {
    let result = admin_writer(app, headers).and_then(|caller| Ok((caller, app.org(caller)?)));
    match result {
        Ok((caller, org)) => {
            action(caller, org);
            json_response(StatusCode::OK, Bytes::from_static(body))
        }
        Err(failure) => failure.into_response(),
    }
}

/// `GET /_emulator/faults`: the key's organisation's.
async fn admin_faults(State(app): State<AppState>, headers: HeaderMap) -> Response {
    match admin_key(&app, &headers).and_then(|caller| app.org(caller)) {
        Ok(org) => json_response(StatusCode::OK, to_bytes(&org.faults.status())),
        Err(failure) => failure.into_response(),
    }
}

/// `PUT /_emulator/faults`: replaces the organisation's configuration and zeroes its counters.
async fn admin_set_faults(State(app): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let result = async {
        let org = admin_writer(&app, &headers).and_then(|caller| app.org(caller))?;
        let body = read_body(&headers, body).await?;
        let invalid =
            |e: serde_json::Error| Failure::bad_body(format!("invalid fault configuration: {e}"));
        let value: serde_json::Value = serde_json::from_slice(&body).map_err(invalid)?;
        if !value.is_object() {
            return Err(Failure::bad_body(
                "invalid fault configuration: expected a json object",
            ));
        }
        let config: FaultConfig = serde_json::from_value(value).map_err(invalid)?;
        org.faults.set(config).map_err(|e| match e {
            Error::TooLarge { name, limit, value } => too_large(name, limit, value),
            other => Failure::bad_body(other.to_string()),
        })
    }
    .await;
    match result {
        Ok(status) => json_response(StatusCode::OK, to_bytes(&status)),
        Err(failure) => failure.into_response(),
    }
}

/// 422 `VALIDATION_ERROR` naming a setting over its limit.
fn too_large(name: &'static str, limit: u64, value: u64) -> Failure {
    let reason = format!("at most {limit}, not {value}");
    Failure::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "VALIDATION_ERROR",
        format!("invalid {name}: {reason}"),
    )
    .with_details(serde_json::json!({
        "fields": [{ "field": name, "reason": reason, "limit": limit }]
    }))
}

/// `GET /_emulator/rate-limit`: the key's organisation's.
async fn admin_rate_limit(State(app): State<AppState>, headers: HeaderMap) -> Response {
    match admin_key(&app, &headers).and_then(|caller| app.org(caller)) {
        Ok(org) => json_response(StatusCode::OK, to_bytes(&org.rate_limit())),
        Err(failure) => failure.into_response(),
    }
}

/// `PUT /_emulator/rate-limit`: the whole setting (see `ratelimit::parse_body`), for the key's
/// organisation; its buckets start full.
async fn admin_set_rate_limit(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let result = async {
        let org = admin_writer(&app, &headers).and_then(|caller| app.org(caller))?;
        let body = read_body(&headers, body).await?;
        let limit = crate::ratelimit::parse_body(&body)?;
        org.set_rate_limit(limit)
            .map_err(|e| Failure::bad_body(e.to_string()))
    }
    .await;
    match result {
        Ok(limit) => json_response(StatusCode::OK, to_bytes(&limit)),
        Err(failure) => failure.into_response(),
    }
}

/// 400 `VALIDATION_ERROR` naming one field, shaped like the API's validation errors.
fn field_error(field: &str, reason: impl Into<String>) -> Failure {
    let reason = reason.into();
    Failure::validation(
        format!("invalid {field}: {reason}"),
        serde_json::json!({ "fields": [{ "field": field, "reason": reason }] }),
    )
}

/// `GET /_emulator/requests[?limit=N][&contactId=ID]`: the key's organisation's journal,
/// oldest first.
async fn admin_requests(
    State(app): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    let result = admin_key(&app, &headers).and_then(|caller| {
        let org = app.org(caller)?;
        let mut limit = None;
        let mut contact_id = None;
        for (name, value) in &query {
            match name.as_str() {
                "limit" => {
                    let n = value.parse::<usize>().map_err(|_| {
                        field_error("limit", format!("must be a whole number, not {value:?}"))
                    })?;
                    limit = Some(n);
                }
                "contactId" => contact_id = Some(value.as_str()),
                other => {
                    return Err(field_error(
                        other,
                        "unknown query parameter; expected limit or contactId",
                    ));
                }
            }
        }
        Ok(org.journal.list(contact_id, limit))
    });
    match result {
        Ok(entries) => json_response(StatusCode::OK, to_bytes(&entries)),
        Err(failure) => failure.into_response(),
    }
}

/// `DELETE /_emulator/requests`: empties the key's organisation's journal.
async fn admin_clear_requests(State(app): State<AppState>, headers: HeaderMap) -> Response {
    admin_action(
        &app,
        &headers,
        |_, org| org.journal.clear(),
        br#"{"success":true,"message":"journal cleared"}"#,
    )
}

/// `GET /_emulator/health`: 200 `{"status":"ok"}`, without a key.
async fn health() -> Response {
    json_response(StatusCode::OK, Bytes::from_static(br#"{"status":"ok"}"#))
}

/// Reading the admin API needs a valid key with `contacts:read`.
fn admin_key<'a>(app: &'a AppState, headers: &HeaderMap) -> Result<&'a Caller, Failure> {
    let caller = app.keys.authenticate(headers)?;
    require_scope(caller, SCOPE_READ)?;
    Ok(caller)
}

/// Changing anything through the admin API needs a valid key with `contacts:write`.
fn admin_writer<'a>(app: &'a AppState, headers: &HeaderMap) -> Result<&'a Caller, Failure> {
    let caller = app.keys.authenticate(headers)?;
    require_scope(caller, SCOPE_WRITE)?;
    Ok(caller)
}

async fn method_not_allowed(State(app): State<AppState>, request: Request<Body>) -> Response {
    // The router adds the `Allow` header.
    let failure = Failure::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        format!("method {} is not allowed on this path", request.method()),
    );
    journal_refusal(&app, &request, failure)
}

async fn not_found(State(app): State<AppState>, request: Request<Body>) -> Response {
    journal_refusal(&app, &request, Failure::not_found("no such route"))
}

/// Answers `failure`, journaled if the request was meant for `/api/v1`.
fn journal_refusal(app: &AppState, request: &Request<Body>, failure: Failure) -> Response {
    let path = request.uri().path();
    if path == "/api/v1" || path.starts_with("/api/v1/") {
        let contact_id = path.strip_prefix("/api/v1/contacts/");
        let caller = app.keys.authenticate(request.headers()).ok();
        let journal = app.journal_of(caller);
        if let Some(entry) =
            journal.start(request.method(), path, contact_id, caller.map(|c| c.index))
        {
            entry.finish(failure.status.as_u16(), Some(failure.code));
        }
    }
    failure.into_response()
}
