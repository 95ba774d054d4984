//! Turns the generated operation's result into the SDK's [`Error`] (see `error.rs` for the
//! table), using the call's facts for what the generated error cannot carry.

use std::time::Instant;

use bytes::Bytes;
use progenitor_client::{Error as RawError, ResponseValue};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION};
use serde::Deserialize;
use serde_json::Value;

use crate::error::{ApiError, Error, Problem, ResponseDrift, ValidationError};
use crate::hooks::{CallFacts, error_chain, request_id};
use crate::retry::retry_after;
use crate::types::{self, Contact};

type Raw = Result<ResponseValue<types::UpdateContactResponse>, RawError<types::ErrorResponse>>;

/// What a caller reads of a 2xx answer: the whole contact, or only the confirmation.
pub(crate) trait Reading: Sized {
    /// Reads the body of a 2xx answer (the update was applied).
    fn read(body: &Bytes, answer: &Answer) -> Result<Self, Error>;
}

/// The facts of a 2xx answer that a reading needs for its errors.
pub(crate) struct Answer {
    status: StatusCode,
    request_id: Option<String>,
    retry_after: Option<std::time::Duration>,
    content_type: String,
}

/// The contact, decoded in full: a value that does not match the spec is a
/// [`Error::ResponseDrift`] naming where.
impl Reading for Contact {
    fn read(body: &Bytes, answer: &Answer) -> Result<Self, Error> {
        let envelope = match serde_json::from_slice::<types::UpdateContactResponse>(body) {
            Ok(envelope) => envelope,
            Err(_) => {
                return Err(drift(
                    body,
                    answer,
                    locate::<types::UpdateContactResponse>(body),
                ));
            }
        };
        if !envelope.success {
            return Err(answer.api_error(envelope.error, envelope.message));
        }
        envelope.data.ok_or_else(|| {
            drift(
                body,
                answer,
                Located::new("data", "a contact (the spec's `Contact`)", "absent"),
            )
        })
    }
}

/// The confirmation only: `success`, and `error` and `message` when it is false. The contact
/// is skipped without being decoded, so a contact that drifted from the spec (or one with a
/// long history) costs nothing and fails nothing.
impl Reading for () {
    fn read(body: &Bytes, answer: &Answer) -> Result<Self, Error> {
        /// The envelope's fields that say whether the update was applied; `data` and the rest
        /// are skipped unread. `error` and `message` are kept as JSON until they are needed.
        #[derive(Deserialize)]
        struct Confirmation {
            success: bool,
            #[serde(default)]
            error: Option<Value>,
            #[serde(default)]
            message: Option<Value>,
        }
        let confirmation = match serde_json::from_slice::<Confirmation>(body) {
            Ok(confirmation) => confirmation,
            Err(_) => return Err(drift(body, answer, locate::<Confirmation>(body))),
        };
        if confirmation.success {
            return Ok(());
        }
        let error = confirmation
            .error
            .and_then(|e| serde_json::from_value::<types::ApiError>(e).ok());
        let message = confirmation
            .message
            .and_then(|m| m.as_str().map(str::to_owned));
        Err(answer.api_error(error, message))
    }
}

/// What the call ended as: the reading of a 2xx answer, or the matching [`Error`].
pub(crate) async fn decode<T: Reading>(
    result: Raw,
    facts: &mut CallFacts,
    started: Instant,
) -> Result<T, Error> {
    // A 2xx answer's body is kept in the facts (the generated operation decoded a stand-in).
    if let (Some(body), Some(last)) = (facts.body.take(), &facts.last) {
        let headers = match &result {
            Ok(value) => Some(value.headers()),
            Err(RawError::UnexpectedResponse(response)) => Some(response.headers()),
            Err(_) => None,
        };
        let answer = Answer {
            status: last.status,
            request_id: last.request_id().map(str::to_string),
            retry_after: headers.and_then(retry_after),
            content_type: content_type(facts),
        };
        return T::read(&body, &answer);
    }
    Err(match result {
        Ok(value) => {
            // Only without the facts' body (not a call of the concise API): the generated
            // operation decoded the envelope itself.
            let status = value.status();
            let headers = value.headers().clone();
            let envelope = value.into_inner();
            let answer = Answer {
                status,
                request_id: request_id(&headers).map(str::to_string),
                retry_after: retry_after(&headers),
                content_type: content_type(facts),
            };
            let body = Bytes::from(serde_json::to_vec(&envelope).unwrap_or_default());
            return T::read(&body, &answer);
        }
        Err(error) => error_of(error, facts, started).await,
    })
}

/// The [`Error`] of a generated error.
async fn error_of(
    error: RawError<types::ErrorResponse>,
    facts: &CallFacts,
    started: Instant,
) -> Error {
    if let (Some(location), Some(last)) = (&facts.redirected, &facts.last) {
        return Error::Redirect {
            status: last.status,
            location: Some(location.clone()),
        };
    }
    if let (Some(limit), Some(last)) = (facts.too_large, &facts.last) {
        return Error::ResponseTooLarge {
            status: last.status,
            limit,
        };
    }
    match error {
        RawError::ErrorResponse(value) => {
            let status = value.status();
            let headers = value.headers().clone();
            let envelope = value.into_inner();
            api_error_from(status, &headers, envelope)
        }
        RawError::UnexpectedResponse(response) => {
            let status = response.status();
            let headers = response.headers().clone();
            if status.is_redirection() {
                return Error::Redirect {
                    status,
                    location: headers
                        .get(LOCATION)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string),
                };
            }
            match response.bytes().await {
                Ok(body) => match serde_json::from_slice::<types::ErrorResponse>(&body) {
                    Ok(envelope) => api_error_from(status, &headers, envelope),
                    Err(e) => decode_error(facts, Some(status), e.to_string(), &body),
                },
                Err(e) => connection(facts, e),
            }
        }
        RawError::InvalidResponsePayload(body, e) => {
            decode_error(facts, None, e.to_string(), &body)
        }
        RawError::CommunicationError(e)
        | RawError::ResponseBodyError(e)
        | RawError::InvalidUpgrade(e) => {
            if e.is_timeout() {
                Error::Timeout {
                    attempts: facts.attempts,
                    elapsed: started.elapsed(),
                }
            } else {
                connection(facts, e)
            }
        }
        // The one `Custom` error is the pre-hook's: the overall deadline passed while the call
        // waited for the throttle, and nothing was sent.
        RawError::Custom(_) => Error::Timeout {
            attempts: 0,
            elapsed: started.elapsed(),
        },
        RawError::InvalidRequest(message) => Error::Validation(ValidationError {
            field: "id",
            problem: Problem::Other(message),
        }),
    }
}

impl Answer {
    fn api_error(&self, error: Option<types::ApiError>, message: Option<String>) -> Error {
        api_error(
            self.status,
            self.request_id.clone(),
            self.retry_after,
            error,
            message,
        )
    }
}

/// Where a body drifted from the spec, in words.
struct Located {
    path: String,
    expected: String,
    actual: String,
}

impl Located {
    fn new(path: &str, expected: &str, actual: &str) -> Self {
        Located {
            path: path.to_owned(),
            expected: expected.to_owned(),
            actual: actual.to_owned(),
        }
    }
}

fn drift(body: &Bytes, answer: &Answer, located: Located) -> Error {
    let end = body.len().min(200);
    Error::ResponseDrift(Box::new(ResponseDrift {
        status: answer.status,
        request_id: answer.request_id.clone(),
        path: located.path,
        expected: located.expected,
        actual: located.actual,
        content_type: answer.content_type.clone(),
        snippet: String::from_utf8_lossy(&body[..end]).into_owned(),
        body: body.clone(),
    }))
}

/// Finds the first value of `body` that `T` refuses, and says what was expected there and
/// what came back. Runs only once decoding has failed.
fn locate<T: serde::de::DeserializeOwned>(body: &[u8]) -> Located {
    let mut de = serde_json::Deserializer::from_slice(body);
    let error = match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Ok(_) => match de.end() {
            Ok(()) => {
                return Located::new("", "the documented envelope", "a body that reads as it");
            }
            Err(_) => {
                return Located::new("", "one JSON value", "more text after the JSON value");
            }
        },
        Err(e) => e,
    };
    let mut path = error.path().to_string();
    if path == "." {
        path.clear();
    }
    let inner = error.into_inner();
    if !inner.is_data() {
        // Not JSON (or cut short): the body as a whole drifted, wherever parsing stopped.
        let actual = if body.iter().all(u8::is_ascii_whitespace) {
            "an empty body".to_owned()
        } else {
            format!(
                "text that is not JSON ({} at line {} column {})",
                without_position(&inner),
                inner.line(),
                inner.column()
            )
        };
        return Located::new("", "a JSON envelope", &actual);
    }
    let message = without_position(&inner);
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'))
    {
        let path = if path.is_empty() {
            field.to_owned()
        } else {
            format!("{path}.{field}")
        };
        return Located {
            path,
            expected: "a value (the spec requires it)".to_owned(),
            actual: "absent".to_owned(),
        };
    }
    let value = serde_json::from_slice::<Value>(body).ok();
    let found = value.as_ref().and_then(|v| at_path(v, &path)).map(describe);
    let expected = match message.split_once(", expected ") {
        Some((_, expected)) => expected.to_owned(),
        None => message,
    };
    Located {
        path,
        expected,
        actual: found.unwrap_or_else(|| "a value of another shape".to_owned()),
    }
}

/// A serde_json error's message without its ` at line L column C` suffix.
fn without_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

/// The value at a path as serde_path_to_error prints it (`data.activities[3].metadata`).
fn at_path<'v>(value: &'v Value, path: &str) -> Option<&'v Value> {
    let mut current = value;
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (key, indexes) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            current = current.get(key)?;
        }
        for index in indexes.split('[').filter(|i| !i.is_empty()) {
            let index: usize = index.strip_suffix(']')?.parse().ok()?;
            current = current.get(index)?;
        }
    }
    Some(current)
}

/// A JSON value in words: its type and, for a scalar, the value (shortened).
fn describe(value: &Value) -> String {
    let shown = |v: &Value| {
        let text = v.to_string();
        if text.chars().count() > 40 {
            let short: String = text.chars().take(40).collect();
            format!("{short}...")
        } else {
            text
        }
    };
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(_) => format!("a boolean ({})", shown(value)),
        Value::Number(_) => format!("a number ({})", shown(value)),
        Value::String(_) => format!("a string ({})", shown(value)),
        Value::Array(_) => "an array".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}

fn connection(facts: &CallFacts, e: reqwest::Error) -> Error {
    Error::Connection {
        attempts: facts.attempts,
        message: error_chain(&e),
        transport: Some(e),
    }
}

fn content_type(facts: &CallFacts) -> String {
    facts
        .last
        .as_ref()
        .and_then(|l| l.content_type())
        .map(str::to_string)
        .unwrap_or_else(|| "none".to_string())
}

fn decode_error(
    facts: &CallFacts,
    status: Option<StatusCode>,
    reason: String,
    body: &[u8],
) -> Error {
    let last = facts.last.as_ref();
    let end = body.len().min(200);
    Error::Decode {
        status: status.or(last.map(|l| l.status)).unwrap_or_default(),
        content_type: content_type(facts),
        reason,
        snippet: String::from_utf8_lossy(&body[..end]).into_owned(),
        request_id: last.and_then(|l| l.request_id()).map(str::to_string),
    }
}

fn api_error_from(
    status: StatusCode,
    headers: &HeaderMap,
    envelope: types::ErrorResponse,
) -> Error {
    api_error(
        status,
        request_id(headers).map(str::to_string),
        retry_after(headers),
        envelope.error,
        envelope.message,
    )
}

fn api_error(
    status: StatusCode,
    request_id: Option<String>,
    retry_after: Option<std::time::Duration>,
    error: Option<types::ApiError>,
    message: Option<String>,
) -> Error {
    let (code, error_message, details) = match error {
        Some(e) => (e.code, e.message, e.details),
        None => (None, None, None),
    };
    let message = error_message
        .or(message)
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_lowercase());
    Error::Api(Box::new(ApiError {
        status,
        code,
        message,
        details,
        request_id,
        retry_after,
    }))
}
