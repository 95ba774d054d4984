//! Small helpers: start an emulator, send raw requests, decode envelopes.

use nateq_api::types::{ErrorResponse, UpdateContactResponse};
use nateq_emulator::{Emulator, StoredContact};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::Value;

/// A running emulator and a plain HTTP client.
pub struct Harness {
    pub emu: Emulator,
    pub http: reqwest::Client,
}

/// A response read to the end.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

pub fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().build().unwrap()
}

pub async fn start() -> Harness {
    start_with(Emulator::builder()).await
}

pub async fn start_with(builder: nateq_emulator::EmulatorBuilder) -> Harness {
    Harness {
        emu: builder.spawn().await.unwrap(),
        http: http_client(),
    }
}

impl Harness {
    pub fn url(&self, id: &str) -> String {
        format!("{}/contacts/{id}", self.emu.base_url())
    }

    pub fn admin(&self, path: &str) -> String {
        format!("http://{}/_emulator/{path}", self.emu.addr())
    }

    /// `PUT /contacts/{id}` with the full key and a JSON body given as text.
    pub async fn put(&self, id: &str, body: &str) -> Reply {
        self.put_as(self.emu.api_key(), id, body).await
    }

    pub async fn put_as(&self, key: &str, id: &str, body: &str) -> Reply {
        let response = self
            .http
            .put(self.url(id))
            .bearer_auth(key)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        Reply::read(response).await
    }

    pub async fn admin_get(&self, path: &str) -> Reply {
        let response = self
            .http
            .get(self.admin(path))
            .bearer_auth(self.emu.api_key())
            .send()
            .await
            .unwrap();
        Reply::read(response).await
    }

    /// An admin request with the full key and, if given, a JSON body.
    pub async fn admin_send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&str>,
    ) -> Reply {
        self.admin_as(self.emu.api_key(), method, path, body).await
    }

    /// An admin request with `key` and, if given, a JSON body.
    pub async fn admin_as(
        &self,
        key: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<&str>,
    ) -> Reply {
        let mut request = self.http.request(method, self.admin(path)).bearer_auth(key);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_owned());
        }
        Reply::read(request.send().await.unwrap()).await
    }

    pub fn stored(&self, id: &str) -> StoredContact {
        self.emu.contact(id).unwrap()
    }
}

impl Reply {
    pub async fn read(response: reqwest::Response) -> Reply {
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.text().await.unwrap();
        Reply {
            status,
            headers,
            body,
        }
    }

    /// The 200 envelope, checked to be the full envelope.
    pub fn ok(&self) -> UpdateContactResponse {
        assert_eq!(self.status, StatusCode::OK, "{}", self.body);
        self.assert_json();
        let raw: Value = serde_json::from_str(&self.body).unwrap();
        assert_eq!(raw["success"], Value::Bool(true));
        assert_eq!(raw["error"], Value::Null);
        assert_eq!(raw["meta"], Value::Null);
        serde_json::from_str(&self.body).unwrap()
    }

    /// An error envelope with this status and code; returns it.
    pub fn err(&self, status: StatusCode, code: &str) -> ErrorResponse {
        assert_eq!(self.status, status, "{}", self.body);
        self.assert_json();
        let envelope: ErrorResponse = serde_json::from_str(&self.body).unwrap();
        assert!(!envelope.success);
        let error = envelope.error.clone().unwrap();
        assert_eq!(error.code.as_deref(), Some(code), "{}", self.body);
        assert!(!error.message.as_deref().unwrap_or_default().is_empty());
        envelope
    }

    /// `error.details.fields[*].field`, in order.
    pub fn detail_fields(&self) -> Vec<String> {
        let raw: Value = serde_json::from_str(&self.body).unwrap();
        raw["error"]["details"]["fields"]
            .as_array()
            .unwrap_or_else(|| panic!("no details.fields in {}", self.body))
            .iter()
            .map(|f| f["field"].as_str().unwrap().to_owned())
            .collect()
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }

    fn assert_json(&self) {
        assert_eq!(
            self.headers
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/json")
        );
    }
}
