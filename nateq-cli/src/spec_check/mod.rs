//! `nateq spec check`: a few safe probes to the API, sent as raw HTTP, each response checked
//! strictly against `openapi.yaml` (status, `Content-Type`, body with a JSON Schema validator,
//! headers), and every difference reported with the spec line to edit.

mod check;
mod convert;
mod lines;
mod report;
mod spec;

use std::time::Duration;

use anyhow::Context;
use nateq_api::fields::{FieldKind, UPDATE_CONTACT_FIELDS};
use nateq_api::generated_client::ClientInfo;
use nateq_api::{ContactId, KeyEnvironment};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use serde_json::{Value, json};

use crate::cli::{GlobalArgs, SpecCheckArgs};
use crate::connect::{Connection, connect};
use crate::exit::{CliError, Exit};

use check::{RawResponse, check, headers_seen};
use report::{ProbeReport, Report};
use spec::Spec;

/// The contact `--emulator` probes when `--contact` is not given (the first of its demo data).
const EMULATOR_CONTACT: &str = "ct_demo_1";
/// An id no contact has: the unknown-id probe.
const UNKNOWN_ID: &str = "ct_nateq_spec_check_missing";
/// What follows the key's prefix in the wrong-key probe.
const WRONG_KEY: &str = "nateq_spec_check_wrong_key";
/// Answers that said "slow down" are waited out (up to this long each) and sent again, this
/// many times at most.
const MAX_THROTTLED: u32 = 3;
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Runs the probes, prints the report, and returns 0 (no drift) or 8 (drift).
pub async fn run(global: &GlobalArgs, args: &SpecCheckArgs) -> anyhow::Result<Exit> {
    let spec = Spec::load(args.spec.as_deref())?;
    let contact = match (&args.contact, global.emulator) {
        (Some(contact), _) => contact.clone(),
        (None, true) => EMULATOR_CONTACT.to_string(),
        (None, false) => {
            return Err(CliError::usage(
                "--contact ID is required: the id of a contact the probes may address (it is left as it is)",
            )
            .into());
        }
    };
    ContactId::new(&contact)?;
    let connection = connect(global, None).await?;
    if connection.api_key.environment() == KeyEnvironment::Production && !args.yes {
        return Err(CliError {
            exit: Exit::Other,
            message: "refusing to probe with a production key (tg_live_): use a sandbox key \
                      (tg_test_), or pass --yes; every probe is a no-op (an empty update, an \
                      unknown id, a value the API must refuse, a wrong key)"
                .into(),
        }
        .into());
    }
    let prober = Prober::new(&connection, &spec, global)?;
    let report = prober.run(&contact).await?;
    report.print(global.output)?;
    Ok(if report.drift { Exit::Drift } else { Exit::Ok })
}

/// Sends the probes with the SDK's HTTP client (its TLS settings, no redirects), but none of
/// its hooks: the responses are seen as they came.
struct Prober<'a> {
    http: reqwest::Client,
    base: reqwest::Url,
    auth: HeaderValue,
    wrong_auth: HeaderValue,
    spec: &'a Spec,
    timeout: Duration,
}

/// One request of a probe.
struct Probe {
    name: &'static str,
    id: String,
    body: Value,
    /// How the body is shown in the report.
    shown: String,
    wrong_key: bool,
    expected: u16,
}

impl<'a> Prober<'a> {
    fn new(connection: &Connection, spec: &'a Spec, global: &GlobalArgs) -> anyhow::Result<Self> {
        let base = reqwest::Url::parse(connection.client.base_url())
            .context("the base URL is not a URL")?;
        let key = connection.api_key.expose_secret();
        let mut auth = HeaderValue::try_from(format!("Bearer {key}"))
            .map_err(|_| CliError::config("the API key has characters not allowed in a header"))?;
        auth.set_sensitive(true);
        // A key of the same environment that does not exist.
        let prefix = ["tg_live_", "tg_test_"]
            .into_iter()
            .find(|p| key.starts_with(p))
            .unwrap_or("tg_test_");
        let wrong_auth = HeaderValue::try_from(format!("Bearer {prefix}{WRONG_KEY}"))
            .context("the wrong key is not a header value")?;
        Ok(Prober {
            http: connection.client.raw().client().clone(),
            base,
            auth,
            wrong_auth,
            spec,
            timeout: global.timeout.unwrap_or(Duration::from_secs(30)),
        })
    }

    async fn run(&self, contact: &str) -> anyhow::Result<Report> {
        let mut probes = Vec::new();
        let noop = self
            .probe(Probe {
                name: "noop",
                id: contact.into(),
                body: json!({}),
                shown: "{}".into(),
                wrong_key: false,
                expected: 200,
            })
            .await?;
        let current = noop.1.clone();
        probes.push(noop.0);
        probes.push(
            self.probe(Probe {
                name: "unknown-id",
                id: UNKNOWN_ID.into(),
                body: json!({}),
                shown: "{}".into(),
                wrong_key: false,
                expected: 404,
            })
            .await?
            .0,
        );
        probes.push(self.over_long(contact, current.as_ref()).await?);
        probes.push(
            self.probe(Probe {
                name: "wrong-key",
                id: contact.into(),
                body: json!({}),
                shown: "{} with a key that does not exist".into(),
                wrong_key: true,
                expected: 401,
            })
            .await?
            .0,
        );
        let findings = probes.iter().map(|p| p.findings.len()).sum();
        Ok(Report {
            base_url: self.base.as_str().trim_end_matches('/').to_string(),
            spec: self.spec.source.clone(),
            drift: findings > 0,
            findings,
            probes,
        })
    }

    /// The over-long probe: the first request field with a `maxLength`, one character over.
    /// If the API accepts it (drift), the value the contact had is put back.
    async fn over_long(
        &self,
        contact: &str,
        current: Option<&Value>,
    ) -> anyhow::Result<ProbeReport> {
        let limited = || {
            UPDATE_CONTACT_FIELDS
                .iter()
                .filter(|f| f.kind == FieldKind::String)
                .filter_map(|f| f.max_length.map(|limit| (f, limit)))
        };
        // Prefer a field whose value can be put back (a string now).
        let current_text = |name: &str| current.and_then(|c| c.get(name)).and_then(Value::as_str);
        let Some((field, limit)) = limited()
            .find(|(f, _)| current_text(f.name).is_some())
            .or_else(|| limited().next())
        else {
            anyhow::bail!("the request schema has no string field with a maxLength to probe");
        };
        let mut body = serde_json::Map::new();
        body.insert(field.name.into(), Value::String("x".repeat(limit + 1)));
        let (mut report, _) = self
            .probe(Probe {
                name: "over-long",
                id: contact.into(),
                body: Value::Object(body),
                shown: format!(
                    "{{\"{}\": {} characters (maxLength {limit})}}",
                    field.name,
                    limit + 1
                ),
                wrong_key: false,
                expected: 400,
            })
            .await?;
        if (200..300).contains(&report.status) {
            report.note = Some(match current_text(field.name) {
                Some(previous) => {
                    let mut body = serde_json::Map::new();
                    body.insert(field.name.into(), Value::String(previous.into()));
                    let restored = self
                        .send(contact, &Value::Object(body), false)
                        .await
                        .map(|r| r.status);
                    match restored {
                        Ok(status) if (200..300).contains(&status) => format!(
                            "the API accepted {} over its maxLength and changed the contact; its previous value was put back",
                            field.name
                        ),
                        Ok(status) => format!(
                            "the API accepted {} over its maxLength and changed the contact; putting its previous value back failed ({status}): set it again by hand",
                            field.name
                        ),
                        Err(e) => format!(
                            "the API accepted {} over its maxLength and changed the contact; putting its previous value back failed ({e:#}): set it again by hand",
                            field.name
                        ),
                    }
                }
                None => format!(
                    "the API accepted {} over its maxLength and changed the contact; it had no text value before, so nothing was put back",
                    field.name
                ),
            });
        }
        Ok(report)
    }

    /// Sends one probe (again after each 429, as the API asks), checks every response, and
    /// returns the report and, for a 2xx, the contact in the body (`data`).
    async fn probe(&self, probe: Probe) -> anyhow::Result<(ProbeReport, Option<Value>)> {
        let mut findings = Vec::new();
        let mut throttled = 0;
        let response = loop {
            let response = self.send(&probe.id, &probe.body, probe.wrong_key).await?;
            if response.status != 429 || throttled >= MAX_THROTTLED {
                break response;
            }
            // A 429 is checked too (its envelope and Retry-After), then waited out.
            findings.extend(check(self.spec, None, &response));
            throttled += 1;
            let wait = nateq_retry_after(&response).min(MAX_RETRY_AFTER);
            tracing::info!(probe = probe.name, ?wait, "throttled, waiting");
            tokio::time::sleep(wait).await;
        };
        findings.extend(check(self.spec, Some(probe.expected), &response));
        let contact = if (200..300).contains(&response.status) {
            serde_json::from_slice::<Value>(&response.body)
                .ok()
                .and_then(|v| v.get("data").cloned())
        } else {
            None
        };
        let content_type = response
            .headers
            .get(CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let report = ProbeReport {
            name: probe.name,
            request: format!(
                "{} {} {}",
                self.spec.operation.method,
                path_of(&self.spec.operation.path, &probe.id),
                probe.shown
            ),
            expected_status: probe.expected,
            status: response.status,
            content_type,
            throttled,
            headers: headers_seen(self.spec, &response),
            findings,
            note: None,
        };
        Ok((report, contact))
    }

    /// One raw request of the operation to contact `id`: the key goes only to the base URL's
    /// origin, the body is read up to the SDK's size cap.
    async fn send(&self, id: &str, body: &Value, wrong_key: bool) -> anyhow::Result<RawResponse> {
        let url = self.url(id)?;
        let method = reqwest::Method::from_bytes(self.spec.operation.method.as_bytes())
            .context("the operation's method is not an HTTP method")?;
        let mut request = self
            .http
            .request(method, url.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json")
            .timeout(self.timeout)
            .body(serde_json::to_vec(body).context("cannot encode the probe's body")?);
        if url.origin() == self.base.origin() {
            let auth = if wrong_key {
                &self.wrong_auth
            } else {
                &self.auth
            };
            request = request.header(AUTHORIZATION, auth.clone());
        }
        let network = |e: reqwest::Error| CliError {
            exit: Exit::Network,
            message: format!("probe to {url} failed: {}", chain(&e)),
        };
        let mut response = request.send().await.map_err(network)?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(network)? {
            if bytes.len() + chunk.len() > nateq_api::DEFAULT_MAX_RESPONSE_BYTES {
                return Err(CliError {
                    exit: Exit::Api,
                    message: format!(
                        "the response of {url} is larger than {} bytes",
                        nateq_api::DEFAULT_MAX_RESPONSE_BYTES
                    ),
                }
                .into());
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(RawResponse {
            status,
            headers,
            body: bytes,
        })
    }

    /// The operation's URL for contact `id`: the base URL, then the spec's path template
    /// with the id as one percent-encoded segment.
    fn url(&self, id: &str) -> anyhow::Result<reqwest::Url> {
        let mut url = self.base.clone();
        {
            let mut segments = url
                .path_segments_mut()
                .map_err(|()| CliError::config("the base URL cannot take a path"))?;
            segments.pop_if_empty();
            for segment in self
                .spec
                .operation
                .path
                .split('/')
                .filter(|s| !s.is_empty())
            {
                if segment.starts_with('{') && segment.ends_with('}') {
                    segments.push(id);
                } else {
                    segments.push(segment);
                }
            }
        }
        Ok(url)
    }
}

/// The path template with the id in its parameter: `/contacts/ct_1`.
fn path_of(template: &str, id: &str) -> String {
    template
        .split('/')
        .map(|s| {
            if s.starts_with('{') && s.ends_with('}') {
                id
            } else {
                s
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The wait a 429 asks for: `Retry-After` in seconds (or an HTTP date), else one second.
fn nateq_retry_after(response: &RawResponse) -> Duration {
    let Some(value) = response
        .headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
    else {
        return Duration::from_secs(1);
    };
    if let Ok(secs) = value.trim().parse::<u64>() {
        return Duration::from_secs(secs);
    }
    httpdate::parse_http_date(value.trim())
        .ok()
        .and_then(|when| when.duration_since(std::time::SystemTime::now()).ok())
        .unwrap_or(Duration::from_secs(1))
}

/// A transport error's text and its causes.
fn chain(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
