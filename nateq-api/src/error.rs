//! The one error type of the SDK, and how HTTP outcomes map onto it.
//!
//! | What happened                                        | Variant                     | `status()` | retried |
//! |------------------------------------------------------|-----------------------------|------------|---------|
//! | bad input caught before any network I/O              | [`Error::Validation`]       | `None`     | no      |
//! | bad configuration (key, base URL, `http://`, TLS roots) | [`Error::Config`]         | `None`     | no      |
//! | 4xx/5xx with the API's error envelope                | [`Error::Api`]              | the status | 408, 429, 500, 502, 503, 504 |
//! | 200 with `success: false`                            | [`Error::Api`]              | 200        | no      |
//! | a body that is not the expected JSON (HTML 502, truncated JSON, 200 without `data`) | [`Error::Decode`] | the status | if the status is retryable |
//! | a body larger than the configured cap                | [`Error::ResponseTooLarge`] | the status | no      |
//! | a 3xx redirect (never followed: the key stays home)  | [`Error::Redirect`]         | the status | no      |
//! | no answer within the attempt or overall deadline     | [`Error::Timeout`]          | `None`     | yes     |
//! | connection refused, reset or dropped mid-response    | [`Error::Connection`]       | `None`     | yes     |
//!
//! "Retried" means the client already retried it (see [`RetryPolicy`](crate::RetryPolicy)); an
//! error you receive is the outcome after the last attempt. No variant ever holds the API key.

use std::fmt;
use std::time::Duration;

use reqwest::StatusCode;

/// Everything that can go wrong when calling the Nateq API.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input was refused before any network I/O; nothing was sent.
    #[error(transparent)]
    Validation(#[from] ValidationError),

    /// The client configuration is unusable (missing key, bad base URL, insecure `http://`,
    /// system TLS roots that cannot be loaded).
    #[error("invalid configuration: {0}")]
    Config(String),

    /// The API answered with its error envelope (`success: false`).
    #[error(transparent)]
    Api(Box<ApiError>),

    /// The response body is not what the API documents (a proxy's HTML page, truncated JSON,
    /// a 200 envelope without `data`).
    #[error(
        "{status} response could not be decoded ({content_type}): {reason}; body starts with {snippet:?}"
    )]
    Decode {
        /// The HTTP status of the response.
        status: StatusCode,
        /// The `Content-Type` of the response, or `none`.
        content_type: String,
        /// Why decoding failed.
        reason: String,
        /// The first bytes of the body (lossy UTF-8, at most 200 bytes).
        snippet: String,
        /// The `x-request-id` header, if any.
        request_id: Option<String>,
    },

    /// The response body was larger than the configured cap and was not read further.
    #[error("{status} response body exceeds the {limit}-byte limit")]
    ResponseTooLarge {
        /// The HTTP status of the response.
        status: StatusCode,
        /// The configured cap, in bytes.
        limit: usize,
    },

    /// The server answered with a redirect. Redirects are never followed, so the API key is
    /// never sent to another host.
    #[error("{status} redirect to {location:?} was not followed")]
    Redirect {
        /// The HTTP status of the response.
        status: StatusCode,
        /// The `Location` header, if any.
        location: Option<String>,
    },

    /// No complete answer arrived within the per-attempt timeout on every attempt, or the
    /// overall deadline passed.
    #[error("request timed out after {attempts} attempt(s) in {elapsed:?}")]
    Timeout {
        /// How many attempts were made.
        attempts: u32,
        /// Time spent on the call, retries included.
        elapsed: Duration,
    },

    /// The connection failed or broke before a complete response arrived.
    #[error("connection failed after {attempts} attempt(s): {message}")]
    Connection {
        /// How many attempts were made.
        attempts: u32,
        /// What failed, with its whole cause chain (so `Display` is one complete line).
        message: String,
        /// The underlying transport error, for inspection. It is deliberately not reported as
        /// `Error::source()`: its causes are already in `message`, and error-chain printers
        /// would show them twice.
        transport: Option<reqwest::Error>,
    },
}

impl Error {
    /// The HTTP status of the response this error came from, if there was one.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Api(e) => Some(e.status),
            Error::Decode { status, .. }
            | Error::ResponseTooLarge { status, .. }
            | Error::Redirect { status, .. } => Some(*status),
            Error::Validation(_)
            | Error::Config(_)
            | Error::Timeout { .. }
            | Error::Connection { .. } => None,
        }
    }

    /// Whether trying the same request again might succeed (transient network faults,
    /// 408, 429, 500, 502, 503, 504). The client already retries these itself.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Timeout { .. } | Error::Connection { .. } => true,
            Error::Api(e) => crate::retry::is_retryable_status(e.status),
            Error::Decode { status, .. } => crate::retry::is_retryable_status(*status),
            Error::Validation(_)
            | Error::Config(_)
            | Error::ResponseTooLarge { .. }
            | Error::Redirect { .. } => false,
        }
    }

    /// The API's machine-readable error code (`NOT_FOUND`, `INSUFFICIENT_SCOPE`, ...), if any.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Api(e) => e.code.as_deref(),
            _ => None,
        }
    }

    /// The `x-request-id` of the response, if the server sent one: quote it to support.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Error::Api(e) => e.request_id.as_deref(),
            Error::Decode { request_id, .. } => request_id.as_deref(),
            _ => None,
        }
    }
}

/// An error answered by the API in its envelope.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ApiError {
    /// The HTTP status (200 for an envelope with `success: false`).
    pub status: StatusCode,
    /// `error.code`, e.g. `NOT_FOUND`.
    pub code: Option<String>,
    /// `error.message` (or the envelope's `message`).
    pub message: String,
    /// `error.details`: for validation errors, the offending fields.
    pub details: Option<serde_json::Value>,
    /// The `x-request-id` header, if any.
    pub request_id: Option<String>,
    /// The `Retry-After` header, if any (seconds or an HTTP date, resolved to a duration).
    pub retry_after: Option<Duration>,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.status.as_u16())?;
        if let Some(code) = &self.code {
            write!(f, " {code}")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(id) = &self.request_id {
            write!(f, " (request id {id})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

/// Input refused before any network I/O, naming the field at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ValidationError {
    /// The field at fault, as the API names it (`name`, `externalId`, `type`, `id`).
    pub field: &'static str,
    /// What is wrong with it.
    pub problem: Problem,
}

/// What is wrong with a field.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// Longer than the API allows. Lengths count Unicode scalar values (Rust `char`s), as
    /// JSON Schema's `maxLength` does: `"é"` is 1, an emoji is 1, whatever its UTF-8 or UTF-16 size.
    TooLong {
        /// The maximum length.
        limit: usize,
        /// The given length.
        length: usize,
    },
    /// Not one of the allowed values.
    NotAllowed {
        /// The value given.
        value: String,
        /// The values the API accepts.
        allowed: &'static [&'static str],
    },
    /// Empty, where a value is required.
    Empty,
    /// `.` or `..`, which URL normalisation would turn into another endpoint.
    DotSegment,
    /// Contains a control character (at this char index).
    ControlCharacter {
        /// Index, in chars, of the first control character.
        index: usize,
    },
    /// Contains `\` (at this char index), which URL parsing turns into a path separator.
    Backslash {
        /// Index, in chars, of the first `\`.
        index: usize,
    },
    /// Rejected by the generated type for another reason.
    Other(String),
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid {}: ", self.field)?;
        match &self.problem {
            Problem::TooLong { limit, length } => {
                write!(f, "{length} characters is longer than the limit of {limit}")
            }
            Problem::NotAllowed { value, allowed } => {
                write!(f, "{value:?} is not one of {}", allowed.join(", "))
            }
            Problem::Empty => write!(f, "must not be empty"),
            Problem::DotSegment => write!(f, "`.` and `..` are not contact ids"),
            Problem::ControlCharacter { index } => {
                write!(f, "control character at position {index}")
            }
            Problem::Backslash { index } => {
                write!(f, "`\\` at position {index} cannot be sent in a URL path")
            }
            Problem::Other(reason) => write!(f, "{reason}"),
        }
    }
}

impl std::error::Error for ValidationError {}
