//! Response envelopes, serialised with the generated types straight to bytes.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use nateq_api::types::{ApiError, ErrorResponse};
use serde::Serialize;
use serde_json::Value;

/// `application/json`, the content type of every response.
const JSON: HeaderValue = HeaderValue::from_static("application/json");

/// An error answered with the API's error envelope.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Option<Value>,
    pub retry_after: Option<u64>,
}

/// The success envelope, borrowing the contact instead of cloning it into the generated
/// `UpdateContactResponse`: the same JSON (a test checks it) with explicit `error: null` and
/// `meta: null`.
#[derive(Serialize)]
struct OkEnvelope<'a, T> {
    data: &'a T,
    error: (),
    message: &'a str,
    meta: (),
    success: bool,
}

/// The error envelope: the generated response plus an explicit `meta: null`.
#[derive(Serialize)]
struct ErrorEnvelope<'a> {
    #[serde(flatten)]
    inner: &'a ErrorResponse,
    meta: (),
}

impl Failure {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: None,
            retry_after: None,
        }
    }

    pub(crate) fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    /// 400 `VALIDATION_ERROR` with details.
    pub(crate) fn validation(message: impl Into<String>, details: Value) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", message).with_details(details)
    }

    /// 400 `VALIDATION_ERROR` about the body as a whole.
    pub(crate) fn bad_body(message: impl Into<String>) -> Self {
        let message = message.into();
        let details = serde_json::json!({ "body": message });
        Self::validation(message, details)
    }

    pub(crate) fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NOT_FOUND", message)
    }

    pub(crate) fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            format!("the request body is larger than {limit} bytes"),
        )
        .with_details(serde_json::json!({ "limit": limit }))
    }

    /// The envelope as bytes.
    pub(crate) fn body(&self) -> Bytes {
        let inner = ErrorResponse {
            success: false,
            message: Some(self.message.clone()),
            data: Some(Value::Null),
            error: Some(ApiError {
                code: Some(self.code.to_owned()),
                message: Some(self.message.clone()),
                details: self.details.clone(),
            }),
            meta: None,
        };
        to_bytes(&ErrorEnvelope {
            inner: &inner,
            meta: (),
        })
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let mut response = json_response(self.status, self.body());
        let headers = response.headers_mut();
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// The 200 envelope of an update as bytes; `contact` serialises as the spec's `Contact`.
pub(crate) fn ok_body<T: Serialize>(contact: &T, message: &str) -> Bytes {
    to_bytes(&OkEnvelope {
        data: contact,
        error: (),
        message,
        meta: (),
        success: true,
    })
}

/// A response with a JSON body that is already serialised.
pub(crate) fn json_response(status: StatusCode, body: Bytes) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, JSON);
    response
}

/// Serialises to bytes; the types serialised here cannot fail (string keys, no maps of non-strings).
pub(crate) fn to_bytes<T: Serialize>(value: &T) -> Bytes {
    let mut buf = Vec::with_capacity(1024);
    match serde_json::to_writer(&mut buf, value) {
        Ok(()) => Bytes::from(buf),
        Err(e) => {
            tracing::error!(error = %e, "cannot serialise a response");
            Bytes::from_static(
                br#"{"success":false,"message":"internal error","data":null,"error":{"code":"INTERNAL_ERROR","message":"internal error"},"meta":null}"#,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use nateq_api::types::UpdateContactResponse;
    use serde_json::json;

    use super::*;

    /// The borrowed envelope is the generated type's JSON plus the two explicit nulls.
    #[test]
    fn ok_body_is_the_generated_envelope() {
        let seed = crate::Seed::demo(2).unwrap().normalised().unwrap();
        let contact = seed.contacts[0].contact.clone();
        let body = ok_body(&contact, "Contact updated");
        let generated = UpdateContactResponse {
            success: true,
            message: Some("Contact updated".to_owned()),
            data: Some(contact),
            error: None,
            meta: None,
        };
        let mut expected = serde_json::to_value(&generated).unwrap();
        expected["error"] = json!(null);
        expected["meta"] = json!(null);
        let actual: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(actual, expected);
        let parsed: UpdateContactResponse = serde_json::from_slice(&body).unwrap();
        assert_eq!(parsed, generated);
    }
}
