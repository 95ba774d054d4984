//! The one error type of the SDK, and how HTTP outcomes map onto it.
//!
//! | What happened                                        | Variant                     | `status()` | retried |
//! |------------------------------------------------------|-----------------------------|------------|---------|
//! | bad input caught before any network I/O              | [`Error::Validation`]       | `None`     | no      |
//! | bad configuration (key, base URL, `http://`, TLS roots) | [`Error::Config`]         | `None`     | no      |
//! | 4xx/5xx with the API's error envelope                | [`Error::Api`]              | the status | 408, 429, 500, 502, 503, 504 |
//! | 200 with `success: false`                            | [`Error::Api`]              | 200        | no      |
//! | a 2xx whose body does not match the spec (the update **was applied**) | [`Error::ResponseDrift`] | the status | no |
//! | a non-2xx body that is not the error envelope (a proxy's HTML 502) | [`Error::Decode`] | the status | if the status is retryable |
//! | a body larger than the configured cap (on a 2xx, the update was applied) | [`Error::ResponseTooLarge`] | the status | no |
//! | a 3xx redirect (never followed: the key stays home)  | [`Error::Redirect`]         | the status | no      |
//! | no answer within the attempt or overall deadline     | [`Error::Timeout`]          | `None`     | yes     |
//! | connection refused, reset or dropped mid-response    | [`Error::Connection`]       | `None`     | yes     |
//!
//! "Retried" means the client already retried it (see [`RetryPolicy`](crate::RetryPolicy)); an
//! error you receive is the outcome after the last attempt. No variant ever holds the API key.
//!
//! A 2xx means the server applied the update, whatever its body says about the contact:
//! [`Error::is_applied`] is true for those errors, and sending the update again is never needed.

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

    /// The update **was applied** (the server answered 2xx), but the response body does not
    /// match the spec: a property of another type, a missing required property, a body that
    /// is not the JSON envelope at all. Not retried, and never worth retrying: see
    /// [`ResponseDrift`] for where the body drifted.
    #[error(transparent)]
    ResponseDrift(Box<ResponseDrift>),

    /// An error response (not 2xx) whose body is not the API's error envelope (a proxy's HTML
    /// page, truncated JSON, an empty body).
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

    /// The response body was larger than the configured cap and was not read further. On a
    /// 2xx the update was applied ([`Error::is_applied`]); only its response was not read.
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
            Error::ResponseDrift(d) => Some(d.status),
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
            | Error::ResponseDrift(_)
            | Error::ResponseTooLarge { .. }
            | Error::Redirect { .. } => false,
        }
    }

    /// Whether the server applied the update although the call ended in an error: it answered
    /// 2xx, but its body drifted from the spec ([`Error::ResponseDrift`]) or was over the
    /// response cap ([`Error::ResponseTooLarge`]). Never send such an update again as if it
    /// had failed.
    pub fn is_applied(&self) -> bool {
        match self {
            Error::ResponseDrift(_) => true,
            Error::ResponseTooLarge { status, .. } => status.is_success(),
            _ => false,
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
            Error::ResponseDrift(d) => d.request_id.as_deref(),
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

/// Where a 2xx response drifted from the spec. The update was applied.
///
/// `path` is the JSON path of the first value that does not match, such as `data.createdAt`
/// or `data.activities[3].metadata` (empty for the body as a whole); `expected` is what the
/// spec says and `actual` what came back, both in words (`a string`, `a number`, `absent`).
///
/// ```
/// # fn show(e: &nateq_api::Error) {
/// if let nateq_api::Error::ResponseDrift(drift) = e {
///     eprintln!("applied; {} is {} instead of {}", drift.path, drift.actual, drift.expected);
/// }
/// # }
/// ```
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct ResponseDrift {
    /// The HTTP status (a 2xx).
    pub status: StatusCode,
    /// The `x-request-id` header, if any.
    pub request_id: Option<String>,
    /// The JSON path of the first value that does not match the spec (empty: the whole body).
    pub path: String,
    /// What the spec says belongs there, e.g. `a string`.
    pub expected: String,
    /// What came back, e.g. `a number`, `null`, `absent`.
    pub actual: String,
    /// The `Content-Type` of the response, or `none`.
    pub content_type: String,
    /// The first bytes of the body (lossy UTF-8, at most 200 bytes).
    pub snippet: String,
    /// The whole body (see [`ResponseDrift::body`]).
    pub(crate) body: bytes::Bytes,
}

impl ResponseDrift {
    /// The whole response body, for callers that want to read it themselves (for example to
    /// print the contact as it came back).
    pub fn body(&self) -> &[u8] {
        &self.body
    }
}

impl fmt::Debug for ResponseDrift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The body may be megabytes: `Debug` shows its length, `snippet` its start.
        f.debug_struct("ResponseDrift")
            .field("status", &self.status)
            .field("request_id", &self.request_id)
            .field("path", &self.path)
            .field("expected", &self.expected)
            .field("actual", &self.actual)
            .field("content_type", &self.content_type)
            .field("snippet", &self.snippet)
            .field("body_len", &self.body.len())
            .finish()
    }
}

impl fmt::Display for ResponseDrift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} response: the update was applied, but the response does not match the spec",
            self.status.as_u16()
        )?;
        if self.path.is_empty() {
            write!(f, ": expected {}, found {}", self.expected, self.actual)?;
        } else {
            write!(
                f,
                " at {}: expected {}, found {}",
                self.path, self.expected, self.actual
            )?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " (request id {id})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ResponseDrift {}

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
