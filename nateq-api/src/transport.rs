//! Sending requests: the retry loop, per-attempt and overall deadlines, a capped body read,
//! tracing, and decoding into the generated types. The generated builder reaches the same
//! loop through `ClientHooks::exec` (see `hooks.rs`).

use std::future::Future;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use reqwest::header::{
    ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, LOCATION,
};
use reqwest::{Method, StatusCode};
use tracing::Instrument;

use crate::config::Shared;
use crate::contacts::{UpdateOutcome, encode_segment};
use crate::error::{ApiError, Error};
use crate::retry::{is_retryable_status, retry_after};
use crate::types::{self, Contact};

/// The `api-version` request header, named once rather than parsed on every request.
static API_VERSION: HeaderName = HeaderName::from_static("api-version");

/// What one attempt produced, and whether the loop should try again.
pub(crate) enum Step<T> {
    /// Final: return it.
    Done(T),
    /// Transient: retry if attempts and the deadline allow, else return it.
    Retry {
        outcome: T,
        retry_after: Option<Duration>,
    },
}

/// Runs `attempt` until it is done, attempts run out or the overall deadline would pass.
/// `attempt` gets the attempt number (1-based) and the time it may take.
/// Returns the last outcome and the number of attempts made.
pub(crate) async fn with_retries<T, F, Fut>(shared: &Shared, mut attempt: F) -> (T, u32)
where
    F: FnMut(u32, Option<Duration>) -> Fut,
    Fut: Future<Output = Step<T>>,
{
    let started = Instant::now();
    let deadline = shared.total_timeout.map(|t| started + t);
    let mut n = 1;
    loop {
        let budget = match (shared.attempt_timeout, deadline) {
            (a, None) => a,
            (None, Some(d)) => Some(d.saturating_duration_since(Instant::now())),
            (Some(a), Some(d)) => Some(a.min(d.saturating_duration_since(Instant::now()))),
        };
        match attempt(n, budget).await {
            Step::Done(outcome) => return (outcome, n),
            Step::Retry {
                outcome,
                retry_after,
            } => {
                if n >= shared.retry.attempts() {
                    return (outcome, n);
                }
                let delay = shared.retry.delay(n, retry_after);
                if deadline.is_some_and(|d| Instant::now() + delay >= d) {
                    tracing::debug!(attempt = n, "overall deadline reached, not retrying");
                    return (outcome, n);
                }
                tracing::debug!(attempt = n, delay_ms = delay.as_millis() as u64, "retrying");
                tokio::time::sleep(delay).await;
                n += 1;
            }
        }
    }
}

/// A response read in full (up to the cap).
pub(crate) struct Buffered {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

/// A transport failure of one attempt, before the attempt count is known.
enum Failure {
    Timeout,
    Connection(String, Option<reqwest::Error>),
    TooLarge(StatusCode),
}

impl crate::Client {
    /// `PUT {base}/contacts/{id}` with retries; decodes the envelope.
    /// `id` must have passed `check_id`; `decode` turns a complete response into `T`.
    pub(crate) async fn send_update<T>(
        &self,
        id: &str,
        body: &types::UpdateContactRequest,
        decode: fn(Buffered) -> Result<T, Error>,
    ) -> UpdateOutcome<T> {
        let url = format!("{}/contacts/{}", self.raw.baseurl, encode_segment(id));
        let body = match serde_json::to_vec(body) {
            Ok(body) => Bytes::from(body),
            Err(e) => {
                return UpdateOutcome {
                    result: Err(Error::Config(format!("cannot serialize the request: {e}"))),
                    attempts: 0,
                    throttled: 0,
                };
            }
        };
        let shared = &*self.raw.inner;
        let started = Instant::now();
        let (outcome, attempts) = with_retries(shared, |n, budget| {
            let span = attempt_span("updateContact", n);
            self.attempt(&url, body.clone(), budget).instrument(span)
        })
        .await;
        let result = match outcome {
            Ok(buffered) => decode(buffered),
            Err(Failure::Timeout) => Err(Error::Timeout {
                attempts,
                elapsed: started.elapsed(),
            }),
            Err(Failure::Connection(message, transport)) => Err(Error::Connection {
                attempts,
                message,
                transport,
            }),
            Err(Failure::TooLarge(status)) => Err(Error::ResponseTooLarge {
                status,
                limit: shared.max_response_bytes,
            }),
        };
        UpdateOutcome {
            result,
            attempts,
            throttled: 0,
        }
    }

    /// One attempt: send, read the body up to the cap, classify; all of it within `budget`.
    /// The budget is one tokio timer around the exchange rather than reqwest's per-request
    /// timeout, which costs an extensions map, a boxed timer and a body wrapper per request.
    async fn attempt(
        &self,
        url: &str,
        body: Bytes,
        budget: Option<Duration>,
    ) -> Step<Result<Buffered, Failure>> {
        let started = Instant::now();
        let exchange = self.exchange(url, body, started);
        let Some(budget) = budget else {
            return exchange.await;
        };
        match tokio::time::timeout(budget, exchange).await {
            Ok(step) => step,
            Err(_elapsed) => {
                record_duration(started);
                let failure = Failure::Timeout;
                tracing::debug!(error = %error_chain_of(&failure), "attempt failed");
                Step::Retry {
                    outcome: Err(failure),
                    retry_after: None,
                }
            }
        }
    }

    /// Sends the request and reads the response, without a deadline of its own.
    async fn exchange(
        &self,
        url: &str,
        body: Bytes,
        started: Instant,
    ) -> Step<Result<Buffered, Failure>> {
        let shared = &*self.raw.inner;
        let request = self
            .raw
            .client
            .request(Method::PUT, url)
            .header(AUTHORIZATION, shared.auth.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header(ACCEPT, HeaderValue::from_static("application/json"))
            .header(
                &API_VERSION,
                HeaderValue::from_static(
                    <crate::generated::Client as progenitor_client::ClientInfo<_>>::api_version(),
                ),
            )
            .body(body);
        let mut response = match request.send().await {
            Ok(r) => r,
            Err(e) => return transport_failure(e, started),
        };
        let status = response.status();
        // Moved out, not cloned: the body is read without them.
        let headers = std::mem::take(response.headers_mut());
        let span = tracing::Span::current();
        span.record("status", status.as_u16());
        if let Some(id) = request_id(&headers) {
            span.record("request_id", id);
        }
        let body = match read_capped(response, shared.max_response_bytes).await {
            Ok(body) => body,
            Err(ReadError::TooLarge) => {
                record_duration(started);
                return Step::Done(Err(Failure::TooLarge(status)));
            }
            Err(ReadError::Transport(e)) => return transport_failure(e, started),
        };
        record_duration(started);
        let buffered = Buffered {
            status,
            headers,
            body,
        };
        if is_retryable_status(status) {
            Step::Retry {
                retry_after: retry_after(&buffered.headers),
                outcome: Ok(buffered),
            }
        } else {
            Step::Done(Ok(buffered))
        }
    }
}

/// A span for one attempt; the key is never recorded.
pub(crate) fn attempt_span(operation: &'static str, attempt: u32) -> tracing::Span {
    tracing::debug_span!(
        "nateq.request",
        operation,
        attempt,
        status = tracing::field::Empty,
        duration_ms = tracing::field::Empty,
        request_id = tracing::field::Empty,
    )
}

pub(crate) fn record_duration(started: Instant) {
    let span = tracing::Span::current();
    span.record("duration_ms", started.elapsed().as_millis() as u64);
    tracing::debug!("attempt finished");
}

fn transport_failure<T>(e: reqwest::Error, started: Instant) -> Step<Result<T, Failure>> {
    record_duration(started);
    let failure = if e.is_timeout() {
        Failure::Timeout
    } else {
        Failure::Connection(error_chain(&e), Some(e))
    };
    tracing::debug!(error = %error_chain_of(&failure), "attempt failed");
    Step::Retry {
        outcome: Err(failure),
        retry_after: None,
    }
}

fn error_chain_of(f: &Failure) -> String {
    match f {
        Failure::Timeout => "timed out".into(),
        Failure::Connection(m, _) => m.clone(),
        Failure::TooLarge(s) => format!("{s} body too large"),
    }
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

pub(crate) fn request_id(headers: &HeaderMap) -> Option<&str> {
    headers.get("x-request-id")?.to_str().ok()
}

fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("none")
        .to_string()
}

fn decode_error(b: &Buffered, reason: String) -> Error {
    let end = b.body.len().min(200);
    Error::Decode {
        status: b.status,
        content_type: content_type(&b.headers),
        reason,
        snippet: String::from_utf8_lossy(&b.body[..end]).into_owned(),
        request_id: request_id(&b.headers).map(str::to_string),
    }
}

/// Decodes the whole contact of a success envelope (see [`decode_envelope`]).
pub(crate) fn decode(b: Buffered) -> Result<Contact, Error> {
    decode_envelope::<types::UpdateContactResponse>(b)
}

/// Like [`decode`], but only checks that the envelope reports success with a contact, skipping
/// the contact's fields (for callers that do not read it).
pub(crate) fn decode_ack(b: Buffered) -> Result<(), Error> {
    decode_envelope::<Ack>(b).map(drop)
}

/// A success envelope, generic over how much of `data` is decoded.
trait Envelope: serde::de::DeserializeOwned {
    type Data;
    fn into_parts(
        self,
    ) -> (
        bool,
        Option<Self::Data>,
        Option<types::ApiError>,
        Option<String>,
    );
}

impl Envelope for types::UpdateContactResponse {
    type Data = Contact;
    fn into_parts(
        self,
    ) -> (
        bool,
        Option<Contact>,
        Option<types::ApiError>,
        Option<String>,
    ) {
        (self.success, self.data, self.error, self.message)
    }
}

/// `UpdateContactResponse` with `data` reduced to the contact's required `id`; every other
/// property is skipped unread.
#[derive(serde::Deserialize)]
struct Ack {
    success: bool,
    data: Option<AckContact>,
    error: Option<types::ApiError>,
    message: Option<String>,
}

#[derive(serde::Deserialize)]
struct AckContact {
    #[allow(dead_code)]
    id: String,
}

impl Envelope for Ack {
    type Data = AckContact;
    fn into_parts(
        self,
    ) -> (
        bool,
        Option<AckContact>,
        Option<types::ApiError>,
        Option<String>,
    ) {
        (self.success, self.data, self.error, self.message)
    }
}

/// Turns a complete response into the envelope's data or the matching [`Error`].
/// The `Content-Type` is reported but not enforced: a body that parses is accepted.
fn decode_envelope<E: Envelope>(b: Buffered) -> Result<E::Data, Error> {
    if b.status.is_redirection() {
        return Err(Error::Redirect {
            status: b.status,
            location: b
                .headers
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
        });
    }
    if b.status.is_success() {
        let envelope: E = match serde_json::from_slice(&b.body) {
            Ok(e) => e,
            Err(e) => return Err(decode_error(&b, e.to_string())),
        };
        let (success, data, error, message) = envelope.into_parts();
        if !success {
            return Err(api_error(&b, error, message));
        }
        return match data {
            Some(data) => Ok(data),
            None => Err(decode_error(&b, "the envelope has no `data`".into())),
        };
    }
    match serde_json::from_slice::<types::ErrorResponse>(&b.body) {
        Ok(envelope) => Err(api_error(&b, envelope.error, envelope.message)),
        Err(e) => Err(decode_error(&b, e.to_string())),
    }
}

fn api_error(b: &Buffered, error: Option<types::ApiError>, message: Option<String>) -> Error {
    let (code, error_message, details) = match error {
        Some(e) => (e.code, e.message, e.details),
        None => (None, None, None),
    };
    let message = error_message.or(message).unwrap_or_else(|| {
        b.status
            .canonical_reason()
            .unwrap_or("error")
            .to_lowercase()
    });
    Error::Api(Box::new(ApiError {
        status: b.status,
        code,
        message,
        details,
        request_id: request_id(&b.headers).map(str::to_string),
        retry_after: retry_after(&b.headers),
    }))
}
