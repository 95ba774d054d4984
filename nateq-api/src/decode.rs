//! Turns the generated operation's result into the SDK's [`Error`] (see `error.rs` for the
//! table), using the call's facts for what the generated error cannot carry.

use std::time::Instant;

use progenitor_client::{Error as RawError, ResponseValue};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION};

use crate::error::{ApiError, Error, Problem, ValidationError};
use crate::hooks::{CallFacts, error_chain, request_id};
use crate::retry::retry_after;
use crate::types::{self, Contact};

type Raw = Result<ResponseValue<types::UpdateContactResponse>, RawError<types::ErrorResponse>>;

/// The contact of a success envelope, or the matching [`Error`].
pub(crate) async fn decode(
    result: Raw,
    facts: &CallFacts,
    started: Instant,
) -> Result<Contact, Error> {
    let error = match result {
        Ok(value) => {
            let status = value.status();
            let request_id = request_id(value.headers()).map(str::to_string);
            let retry_after = retry_after(value.headers());
            let envelope = value.into_inner();
            if !envelope.success {
                return Err(api_error(
                    status,
                    request_id,
                    retry_after,
                    envelope.error,
                    envelope.message,
                ));
            }
            return envelope.data.ok_or_else(|| Error::Decode {
                status,
                content_type: content_type(facts),
                reason: "the envelope has no `data`".into(),
                snippet: String::new(),
                request_id,
            });
        }
        Err(error) => error,
    };
    if let (Some(limit), Some(last)) = (facts.too_large, &facts.last) {
        return Err(Error::ResponseTooLarge {
            status: last.status,
            limit,
        });
    }
    Err(match error {
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
                return Err(Error::Redirect {
                    status,
                    location: headers
                        .get(LOCATION)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string),
                });
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
        RawError::Custom(_) if facts.deadline_before_send => Error::Timeout {
            attempts: 0,
            elapsed: started.elapsed(),
        },
        RawError::InvalidRequest(message) | RawError::Custom(message) => {
            Error::Validation(ValidationError {
                field: "id",
                problem: Problem::Other(message),
            })
        }
    })
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
