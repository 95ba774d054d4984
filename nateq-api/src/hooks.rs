//! The one request path: `ClientHooks` for the generated client. The generated operation
//! builds every request (path, method, headers, body from `openapi.yaml`); these hooks add
//! what cuts across it, for [`Client::contacts`](crate::Client::contacts) and
//! [`Client::update_contact`](crate::Client::update_contact) alike:
//!
//! - `pre`: refuses a path that is not `{base}/contacts/<one segment>`, adds the key (only for
//!   the base URL's origin), waits for the client's throttle, and starts the overall deadline.
//! - `exec`: attempts with the retry policy and the per-attempt timeout, reads each body up to
//!   the size cap, hands each 429 (or 503 with `Retry-After`) to the client's throttle (which
//!   pauses the whole client when it is the limit), and traces each attempt. Every attempt,
//!   the first included, is built from one replayable copy of the request, so no attempt
//!   escapes these rules. A body over the cap, and the answer of a redirect that a caller's
//!   own `reqwest::Client` followed, are handed on as a body that fails to read: never as a
//!   success.
//!
//! What a `reqwest::Error` cannot say (attempts, throttled responses, a body over the cap, a
//! followed redirect, the final status of an unreadable payload) is written to the call's
//! [`CallFacts`] when the caller set them up (the concise API does). For such a caller, the
//! body of a 2xx is kept in the facts, and the generated operation is handed the smallest
//! success envelope instead: the concise API decodes the real body itself, as much of it as
//! it needs, and reports a body that drifted from the spec without calling the applied
//! update failed.

use std::cell::RefCell;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use progenitor_client::{ClientHooks, Error, OperationInfo};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use reqwest::{ResponseBuilderExt, StatusCode};
use tracing::Instrument;

use crate::config::Shared;
use crate::generated_operations::Operation;
use crate::retry::{is_retryable_status, retry_after};

type SharedArc = std::sync::Arc<Shared>;

/// A wait for the throttle at least this long moves the start of the overall deadline into the
/// request (shorter ones are within the deadline's precision).
const WAITED: Duration = Duration::from_millis(1);

tokio::task_local! {
    /// The facts of the call in progress, when its caller wants them.
    pub(crate) static CALL: RefCell<CallFacts>;
}

/// What happened during one call, beyond its result.
#[derive(Debug, Default, Clone)]
pub(crate) struct CallFacts {
    /// Attempts sent.
    pub(crate) attempts: u32,
    /// Responses that were a 429, or a 503 with `Retry-After`.
    pub(crate) throttled: u32,
    /// The overall deadline passed while the call waited to be sent.
    pub(crate) deadline_before_send: bool,
    /// The last response's status, `Content-Type` and request id.
    pub(crate) last: Option<LastResponse>,
    /// The last response's body was over this cap (and was not read).
    pub(crate) too_large: Option<usize>,
    /// The URL a redirect followed by a caller's own `reqwest::Client` ended on.
    pub(crate) redirected: Option<String>,
    /// The body of a 2xx answer, for the caller to decode.
    pub(crate) body: Option<Bytes>,
}

/// What the generated operation is handed in place of a 2xx body kept in the call's facts.
const STAND_IN: &[u8] = br#"{"success":true}"#;

/// The parts of the last response that errors report (header values are shared, not copied).
#[derive(Debug, Clone)]
pub(crate) struct LastResponse {
    pub(crate) status: StatusCode,
    pub(crate) content_type: Option<HeaderValue>,
    pub(crate) request_id: Option<HeaderValue>,
}

impl LastResponse {
    /// The `Content-Type`, as text.
    pub(crate) fn content_type(&self) -> Option<&str> {
        self.content_type.as_ref()?.to_str().ok()
    }

    /// The `x-request-id`, as text.
    pub(crate) fn request_id(&self) -> Option<&str> {
        self.request_id.as_ref()?.to_str().ok()
    }
}

fn record(update: impl FnOnce(&mut CallFacts)) {
    let _ = CALL.try_with(|facts| update(&mut facts.borrow_mut()));
}

/// The body of a response that is refused: reading it fails with this error.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Refused {
    /// The body exceeded the cap.
    #[error("response body exceeds the {limit}-byte limit")]
    TooLarge { limit: usize },
    /// A caller's own `reqwest::Client` followed a redirect; its answer is not the API's.
    #[error("a redirect to {location} was followed by the http client and is refused")]
    Redirected { location: String },
}

impl ClientHooks<SharedArc> for crate::generated::Client {
    /// Adds the key (only for the base URL's origin) and refuses a request whose path is not
    /// `{base}/contacts/<one segment>`: the URL parser turns ids such as `.`, `..` or `a\b`
    /// into other endpoints, and such a request must never be sent. Then waits for the
    /// client's throttle; after a wait, what is left of the overall deadline travels as the
    /// request's timeout.
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        info: &OperationInfo,
    ) -> Result<(), Error<E>> {
        let base_path = self
            .baseurl
            .split_once("://")
            .map_or("", |(_, rest)| rest.find('/').map_or("", |i| &rest[i..]));
        let path = request.url().path();
        let Some(operation) = Operation::from_id(info.operation_id) else {
            return Err(Error::InvalidRequest(format!(
                "operation {} is not in openapi.yaml",
                info.operation_id
            )));
        };
        // No wildcard arm: an operation added to the spec does not compile until its path
        // has a guard here.
        match operation {
            Operation::UpdateContact => {
                let segment = path
                    .strip_prefix(base_path)
                    .and_then(|p| p.strip_prefix("/contacts/"));
                let one_segment = segment.is_some_and(|s| !s.is_empty() && !s.contains('/'));
                if !one_segment {
                    return Err(Error::InvalidRequest(format!(
                        "the contact id does not form one path segment (request path {path:?})"
                    )));
                }
            }
        }
        let shared = &*self.inner;
        if same_origin(request.url(), &shared.origin) {
            request
                .headers_mut()
                .insert(reqwest::header::AUTHORIZATION, shared.auth.clone());
        }
        let started = Instant::now();
        let deadline = shared.total_timeout.map(|t| started + t);
        if shared.throttle.acquire(deadline).await.is_err() {
            record(|f| f.deadline_before_send = true);
            return Err(Error::Custom(format!(
                "the overall deadline of {:?} passed while the client was throttled; nothing was sent",
                shared.total_timeout.unwrap_or_default()
            )));
        }
        // `exec` starts the overall deadline when it finds no timeout on the request; after a
        // wait for the throttle, what is left of it travels as the request's timeout. (Not
        // setting it otherwise spares every request an extensions map and its copies.)
        if let Some(deadline) = deadline
            && started.elapsed() >= WAITED
        {
            *request.timeout_mut() = Some(deadline.saturating_duration_since(Instant::now()));
        }
        Ok(())
    }

    /// Sends with the client's retry policy and deadlines (see the module docs).
    async fn exec(
        &self,
        request: reqwest::Request,
        info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        let shared = &*self.inner;
        let started = Instant::now();
        let deadline = request
            .timeout()
            .or(shared.total_timeout.as_ref())
            .map(|t| started + *t);
        let template = Template::new(request).await?;
        let mut attempts = 0u32;
        let mut retries = 0u32;
        let mut throttled = 0u32;
        let result = loop {
            attempts += 1;
            let mut attempt = template.attempt();
            set_attempt_timeout(&mut attempt, shared, deadline);
            let span = attempt_span(info.operation_id, attempts);
            let sent = self.attempt(attempt, shared).instrument(span).await;
            let wait = match &sent {
                Sent::Response(response) => {
                    let status = response.status();
                    let after = retry_after(response.headers());
                    let throttle = status == StatusCode::TOO_MANY_REQUESTS
                        || (status == 503 && after.is_some());
                    shared.throttle.observe(response.headers(), throttle);
                    if throttle {
                        throttled += 1;
                        let wait = after.unwrap_or_else(|| shared.retry.delay(throttled, None));
                        if wait > shared.retry.max_retry_after {
                            tracing::debug!(
                                wait_s = wait.as_secs(),
                                "Retry-After exceeds the cap, not retrying"
                            );
                            None
                        } else {
                            let until = shared.throttle.throttled(response.headers(), wait);
                            // The refused request waits until then: the client's pause, or
                            // its own `Retry-After` when the 429 is not the limit.
                            deadline
                                .is_none_or(|d| until <= d)
                                .then(|| until.saturating_duration_since(Instant::now()))
                        }
                    } else if is_retryable_status(status) && retries < shared.retry.max_retries {
                        retries += 1;
                        Some(shared.retry.delay(retries, after))
                    } else {
                        None
                    }
                }
                Sent::Failed(_) if retries < shared.retry.max_retries => {
                    shared.throttle.attempt_ended();
                    retries += 1;
                    Some(shared.retry.delay(retries, None))
                }
                Sent::Failed(_) | Sent::Refused(_) => {
                    shared.throttle.attempt_ended();
                    None
                }
            };
            let Some(wait) = wait else {
                break sent.into_result();
            };
            if deadline.is_some_and(|d| Instant::now() + wait >= d) {
                tracing::debug!(attempt = attempts, "overall deadline reached, not retrying");
                break sent.into_result();
            }
            tracing::debug!(
                attempt = attempts,
                delay_ms = wait.as_millis() as u64,
                "retrying"
            );
            tokio::time::sleep(wait).await;
            if shared.throttle.acquire(deadline).await.is_err() {
                tracing::debug!(
                    attempt = attempts,
                    "overall deadline reached while throttled"
                );
                break sent.into_result();
            }
        };
        record(|f| {
            f.attempts = attempts;
            f.throttled = throttled;
        });
        result
    }
}

/// The request as the generated operation built it, with its body held as bytes, from which
/// every attempt is made: each attempt is the same request, and none can be a request that
/// cannot be sent again.
struct Template {
    method: reqwest::Method,
    url: url::Url,
    headers: HeaderMap,
    version: reqwest::Version,
    timeout: Option<Duration>,
    body: Option<Bytes>,
}

impl Template {
    /// Takes the request apart. A body in memory (what the generated operation sends) is
    /// kept without a copy; a streaming body is read once, here.
    async fn new(mut request: reqwest::Request) -> reqwest::Result<Template> {
        let body = match request.body_mut().take() {
            Some(body) => Some(http_body_util::BodyExt::collect(body).await?.to_bytes()),
            None => None,
        };
        Ok(Template {
            method: request.method().clone(),
            version: request.version(),
            timeout: request.timeout().copied(),
            headers: std::mem::take(request.headers_mut()),
            url: request.url().clone(),
            body,
        })
    }

    /// One attempt.
    fn attempt(&self) -> reqwest::Request {
        let mut request = reqwest::Request::new(self.method.clone(), self.url.clone());
        *request.headers_mut() = self.headers.clone();
        *request.version_mut() = self.version;
        *request.timeout_mut() = self.timeout;
        *request.body_mut() = self.body.clone().map(reqwest::Body::from);
        request
    }
}

/// Gives an attempt the per-attempt timeout, cut to what is left of the overall deadline. The
/// client built by [`ClientBuilder`](crate::ClientBuilder) applies the per-attempt timeout
/// itself, so the request carries a timeout of its own only when it must differ.
fn set_attempt_timeout(attempt: &mut reqwest::Request, shared: &Shared, deadline: Option<Instant>) {
    let timeout = match (shared.attempt_timeout, deadline) {
        (a, None) => a,
        (None, Some(d)) => Some(d.saturating_duration_since(Instant::now())),
        (Some(a), Some(d)) => Some(a.min(d.saturating_duration_since(Instant::now()))),
    };
    let by_client = shared.http_applies_attempt_timeout
        && attempt.timeout().is_none()
        && timeout == shared.attempt_timeout;
    if !by_client {
        *attempt.timeout_mut() = timeout;
    }
}

/// Whether `url` is of `origin`, without building its origin (which allocates).
fn same_origin(url: &url::Url, origin: &url::Origin) -> bool {
    let url::Origin::Tuple(scheme, host, port) = origin else {
        return false;
    };
    let same_host = match (url.host(), host) {
        (Some(url::Host::Domain(a)), url::Host::Domain(b)) => a == b,
        (Some(url::Host::Ipv4(a)), url::Host::Ipv4(b)) => a == *b,
        (Some(url::Host::Ipv6(a)), url::Host::Ipv6(b)) => a == *b,
        _ => false,
    };
    same_host && url.scheme() == scheme && url.port_or_known_default() == Some(*port)
}

/// One attempt's outcome.
enum Sent {
    /// A complete response, its body read (within the cap).
    Response(reqwest::Response),
    /// No complete response: connection error, timeout, dropped mid-body.
    Failed(reqwest::Error),
    /// A response that is not taken (a body over the cap, a redirect that a caller's client
    /// followed): a response whose body fails to read. Not retried.
    Refused(reqwest::Response),
}

impl Sent {
    fn into_result(self) -> reqwest::Result<reqwest::Response> {
        match self {
            Sent::Response(r) | Sent::Refused(r) => Ok(r),
            Sent::Failed(e) => Err(e),
        }
    }
}

impl crate::generated::Client {
    /// Sends one attempt and reads its body up to the cap, all within the request's timeout.
    async fn attempt(&self, request: reqwest::Request, shared: &Shared) -> Sent {
        let started = Instant::now();
        // The client built by the SDK follows no redirect; a caller's own may have.
        let sent_to = (!shared.http_applies_attempt_timeout).then(|| request.url().clone());
        let mut response = match self.client.execute(request).await {
            Ok(response) => response,
            Err(e) => {
                record_duration(started);
                tracing::debug!(error = %error_chain(&e), "attempt failed");
                return Sent::Failed(e);
            }
        };
        let status = response.status();
        let version = response.version();
        let url = response.url().clone();
        let headers = std::mem::take(response.headers_mut());
        let span = tracing::Span::current();
        span.record("status", status.as_u16());
        if let Some(id) = request_id(&headers) {
            span.record("request_id", id);
        }
        let request_id = headers.get("x-request-id").cloned();
        let content_type = headers.get(CONTENT_TYPE).cloned();
        let redirected = sent_to.filter(|sent| *sent != url).map(|_| url.to_string());
        let body = match &redirected {
            // Not the API's answer: not worth reading.
            Some(_) => Ok(Bytes::new()),
            None => read_capped(response, shared.max_response_bytes).await,
        };
        record_duration(started);
        let too_large = matches!(body, Err(ReadError::TooLarge));
        let keep = status.is_success() && redirected.is_none() && CALL.try_with(|_| ()).is_ok();
        record(|f| {
            f.last = Some(LastResponse {
                status,
                content_type,
                request_id,
            });
            f.too_large = too_large.then_some(shared.max_response_bytes);
            f.redirected.clone_from(&redirected);
            f.body = None;
        });
        let refused = match (redirected, body) {
            (Some(location), _) => {
                tracing::debug!(%location, "a redirect was followed by the http client; refused");
                Refused::Redirected { location }
            }
            (None, Err(ReadError::TooLarge)) => Refused::TooLarge {
                limit: shared.max_response_bytes,
            },
            (None, Err(ReadError::Transport(e))) => {
                tracing::debug!(error = %error_chain(&e), "attempt failed");
                return Sent::Failed(e);
            }
            (None, Ok(body)) if keep => {
                record(|f| f.body = Some(body));
                let body = reqwest::Body::from(Bytes::from_static(STAND_IN));
                return Sent::Response(rebuild(body, status, version, headers, url));
            }
            (None, Ok(body)) => {
                let body = reqwest::Body::from(body);
                return Sent::Response(rebuild(body, status, version, headers, url));
            }
        };
        let body = reqwest::Body::wrap_stream(futures_util::stream::once(async move {
            Err::<Bytes, _>(refused)
        }));
        Sent::Refused(rebuild(body, status, version, headers, url))
    }
}

/// A response with a body that has been read (or refused) and the parts of the original.
fn rebuild(
    body: reqwest::Body,
    status: StatusCode,
    version: reqwest::Version,
    headers: HeaderMap,
    url: url::Url,
) -> reqwest::Response {
    let mut rebuilt = http::Response::new(body);
    *rebuilt.status_mut() = status;
    *rebuilt.version_mut() = version;
    *rebuilt.headers_mut() = headers;
    // The response keeps its URL (reqwest would otherwise parse a placeholder URL).
    let mut with_url = http::response::Builder::new().url(url);
    if let Some(extensions) = with_url.extensions_mut() {
        *rebuilt.extensions_mut() = std::mem::take(extensions);
    }
    reqwest::Response::from(rebuilt)
}

/// A span for one attempt; the key is never recorded.
fn attempt_span(operation: &'static str, attempt: u32) -> tracing::Span {
    tracing::debug_span!(
        "nateq.request",
        operation,
        attempt,
        status = tracing::field::Empty,
        duration_ms = tracing::field::Empty,
        request_id = tracing::field::Empty,
    )
}

fn record_duration(started: Instant) {
    let span = tracing::Span::current();
    span.record("duration_ms", started.elapsed().as_millis() as u64);
    tracing::debug!("attempt finished");
}

/// `e` and its sources, joined with `: `.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

pub(crate) fn request_id(headers: &HeaderMap) -> Option<&str> {
    headers.get("x-request-id")?.to_str().ok()
}

enum ReadError {
    TooLarge,
    Transport(reqwest::Error),
}

/// Reads the body chunk by chunk, refusing to hold more than `limit` bytes. A body that
/// arrives in one chunk (the usual case for an envelope) is returned without a copy.
async fn read_capped(mut response: reqwest::Response, limit: usize) -> Result<Bytes, ReadError> {
    let content_length = response.content_length();
    if content_length.is_some_and(|len| len > limit as u64) {
        return Err(ReadError::TooLarge);
    }
    let Some(first) = response.chunk().await.map_err(ReadError::Transport)? else {
        return Ok(Bytes::new());
    };
    if first.len() > limit {
        return Err(ReadError::TooLarge);
    }
    let Some(second) = response.chunk().await.map_err(ReadError::Transport)? else {
        return Ok(first);
    };
    let mut body = BytesMut::with_capacity(content_length.map_or(8 * 1024, |len| len as usize));
    body.extend_from_slice(&first);
    let mut next = Some(second);
    while let Some(chunk) = next {
        if body.len() + chunk.len() > limit {
            return Err(ReadError::TooLarge);
        }
        body.extend_from_slice(&chunk);
        next = response.chunk().await.map_err(ReadError::Transport)?;
    }
    Ok(body.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_origin_compares_scheme_host_and_port() {
        let base =
            url::Url::parse("https://api.example.com/api/v1").unwrap_or_else(|e| panic!("{e}"));
        let origin = base.origin();
        for (url, same) in [
            ("https://api.example.com/api/v1/contacts/x", true),
            ("https://api.example.com:443/other", true),
            ("http://api.example.com/api/v1", false),
            ("https://api.example.com:8443/api/v1", false),
            ("https://evil.example.com/api/v1", false),
            ("https://127.0.0.1/api/v1", false),
        ] {
            let url = url::Url::parse(url).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(same_origin(&url, &origin), same, "{url}");
            assert_eq!(url.origin() == origin, same, "{url}");
        }
    }
}
