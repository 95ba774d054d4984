//! Client configuration: the API key, the base URL, timeouts and the retry policy.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::HeaderValue;

use crate::error::Error;
use crate::retry::RetryPolicy;

/// The production base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.nateq.io/api/v1";
/// The environment variable holding the API key.
pub const ENV_API_KEY: &str = "NATEQ_API_KEY";
/// The environment variable holding the base URL.
pub const ENV_BASE_URL: &str = "NATEQ_BASE_URL";
/// The default cap on a response body: a larger body is refused once it passes the cap.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 8 * 1024 * 1024;

/// An API key. Its `Debug` and `Display` never show the secret.
///
/// ```
/// use nateq_api::{ApiKey, KeyEnvironment};
///
/// let key = ApiKey::new("tg_test_0123456789");
/// assert_eq!(key.environment(), KeyEnvironment::Sandbox);
/// assert_eq!(format!("{key:?}"), "ApiKey(tg_test_…)");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key. Keys without a known prefix are accepted (see [`ApiKey::environment`]).
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(key.into())
    }

    /// Which environment the key acts on, from its prefix.
    pub fn environment(&self) -> KeyEnvironment {
        if self.0.starts_with("tg_live_") {
            KeyEnvironment::Production
        } else if self.0.starts_with("tg_test_") {
            KeyEnvironment::Sandbox
        } else {
            KeyEnvironment::Unknown
        }
    }

    /// The secret itself. Avoid logging or displaying it.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    fn redacted(&self) -> &'static str {
        match self.environment() {
            KeyEnvironment::Production => "tg_live_…",
            KeyEnvironment::Sandbox => "tg_test_…",
            KeyEnvironment::Unknown => "…",
        }
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey({})", self.redacted())
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.redacted())
    }
}

/// The environment an API key belongs to, from its prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyEnvironment {
    /// `tg_live_...`: production data.
    Production,
    /// `tg_test_...`: the sandbox.
    Sandbox,
    /// Any other prefix: accepted, sent as given.
    Unknown,
}

/// State shared by every request of one client; read by the hooks and the request path.
pub struct Shared {
    pub(crate) auth: HeaderValue,
    pub(crate) environment: KeyEnvironment,
    pub(crate) origin: url::Origin,
    pub(crate) retry: RetryPolicy,
    pub(crate) attempt_timeout: Option<Duration>,
    pub(crate) total_timeout: Option<Duration>,
    /// The `reqwest::Client` was built here, with `attempt_timeout` as its own timeout: an
    /// attempt whose timeout is exactly that needs no per-request timeout.
    pub(crate) http_applies_attempt_timeout: bool,
    pub(crate) max_response_bytes: usize,
    pub(crate) throttle: crate::throttle::Throttle,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("auth", &"Bearer <redacted>")
            .field("environment", &self.environment)
            .field("retry", &self.retry)
            .field("attempt_timeout", &self.attempt_timeout)
            .field("total_timeout", &self.total_timeout)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("throttle", &self.throttle)
            .finish()
    }
}

/// Builds a [`Client`](crate::Client).
///
/// ```
/// use std::time::Duration;
/// use nateq_api::{Client, RetryPolicy};
///
/// let client = Client::builder()
///     .api_key("tg_test_example")
///     .base_url("http://127.0.0.1:4010/api/v1/")
///     .timeout(Duration::from_secs(10))
///     .connect_timeout(Duration::from_secs(2))
///     .retry_policy(RetryPolicy::default().max_retries(4))
///     .build()?;
/// assert_eq!(client.base_url(), "http://127.0.0.1:4010/api/v1");
/// # Ok::<(), nateq_api::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    api_key: Option<ApiKey>,
    base_url: String,
    attempt_timeout: Option<Duration>,
    connect_timeout: Duration,
    total_timeout: Option<Duration>,
    retry: RetryPolicy,
    user_agent: String,
    http: Option<reqwest::Client>,
    allow_insecure_http: bool,
    max_response_bytes: usize,
    rate_limit: Option<f64>,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            api_key: None,
            base_url: DEFAULT_BASE_URL.to_string(),
            attempt_timeout: Some(Duration::from_secs(30)),
            connect_timeout: Duration::from_secs(10),
            total_timeout: Some(Duration::from_secs(120)),
            retry: RetryPolicy::default(),
            user_agent: concat!("nateq-rs/", env!("CARGO_PKG_VERSION")).to_string(),
            http: None,
            allow_insecure_http: false,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            rate_limit: None,
        }
    }
}

impl ClientBuilder {
    /// The API key (`tg_live_...` or `tg_test_...`). Required.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(ApiKey::new(key));
        self
    }

    /// The base URL, default `https://api.nateq.io/api/v1`. A trailing `/` is ignored.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// Per-attempt timeout: connecting, sending and reading the whole response (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = Some(timeout);
        self
    }

    /// Timeout for establishing a connection (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Overall deadline for one call (default 120 s): waiting for the client's throttle,
    /// every attempt, and the backoff and `Retry-After` pauses between them. A call that is
    /// still throttled when it passes ends with the last response's error (or
    /// [`Error::Timeout`] when nothing could be sent). For bulk jobs against a rate-limited API
    /// make it longer, e.g. 10 minutes.
    pub fn total_timeout(mut self, timeout: Duration) -> Self {
        self.total_timeout = Some(timeout);
        self
    }

    /// The retry policy (default: 2 retries, see [`RetryPolicy`]).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The `User-Agent` header (default `nateq-rs/<version>`).
    pub fn user_agent(mut self, agent: impl Into<String>) -> Self {
        self.user_agent = agent.into();
        self
    }

    /// Uses a ready `reqwest::Client` (proxies, custom TLS roots) as it is: its TLS settings,
    /// crypto provider, redirect policy, default headers, `connect_timeout` and `read_timeout`
    /// all apply, and this builder's connect timeout, user agent and TLS configuration are not
    /// used. Every attempt still gets this builder's per-attempt timeout, cut to what is left
    /// of the overall deadline, as the request's own timeout (`Request::timeout_mut`), which
    /// takes the place of the client's own `timeout`.
    ///
    /// A `reqwest::Client` follows redirects unless built with
    /// `.redirect(reqwest::redirect::Policy::none())`, which you should do. If it follows
    /// one, the SDK refuses the answer it ended on ([`Error::Redirect`]), and reqwest drops
    /// the key on a hop to another origin, so the key never leaves the base URL's origin; the
    /// request itself (without the key) has reached the other host.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Allows plain `http://` to hosts other than loopback. Off by default: the key would
    /// cross the network in clear text.
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// The largest response body the client reads (default 8 MiB). A larger one is refused
    /// with [`Error::ResponseTooLarge`]: before reading it when its `Content-Length` says so,
    /// otherwise as soon as the bytes read pass the cap, without reading further.
    pub fn max_response_bytes(mut self, limit: usize) -> Self {
        self.max_response_bytes = limit;
        self
    }

    /// Sends at most `per_second` requests per second from this client (all its clones and
    /// tasks together), on top of the adaptive slow-down that 429s trigger. Off by default.
    /// A value that is not a positive, finite number is refused by [`build`](Self::build).
    pub fn rate_limit(mut self, per_second: f64) -> Self {
        self.rate_limit = Some(per_second);
        self
    }

    /// Reads `NATEQ_API_KEY` and `NATEQ_BASE_URL` into this builder (the base URL only when set).
    pub fn from_env(mut self) -> Self {
        if let Ok(key) = std::env::var(ENV_API_KEY) {
            self.api_key = Some(ApiKey::new(key));
        }
        if let Ok(url) = std::env::var(ENV_BASE_URL)
            && !url.trim().is_empty()
        {
            self.base_url = url;
        }
        self
    }

    /// Builds the client, checking the key and the base URL.
    pub fn build(self) -> Result<crate::Client, Error> {
        let key = self.api_key.ok_or_else(|| {
            Error::Config(format!(
                "no API key: set {ENV_API_KEY} or give one explicitly"
            ))
        })?;
        if key.expose_secret().trim().is_empty() {
            return Err(Error::Config("the API key is empty".into()));
        }
        let base_url = self.base_url.trim().trim_end_matches('/').to_string();
        let parsed = url::Url::parse(&base_url)
            .map_err(|e| Error::Config(format!("base URL {base_url:?} is not a URL: {e}")))?;
        match parsed.scheme() {
            "https" => {}
            "http" if self.allow_insecure_http || is_loopback(&parsed) => {}
            "http" => {
                return Err(Error::Config(format!(
                    "base URL {base_url:?} uses plain http to a host that is not loopback, \
                     which would send the key in clear text; use https (or explicitly allow \
                     insecure http)"
                )));
            }
            other => {
                return Err(Error::Config(format!(
                    "base URL {base_url:?} has unsupported scheme {other:?}"
                )));
            }
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(Error::Config(format!(
                "base URL {base_url:?} must not have a query or fragment"
            )));
        }
        if let Some(rate) = self.rate_limit
            && !(rate.is_finite() && rate > 0.0)
        {
            return Err(Error::Config(format!(
                "rate limit {rate} is not a positive number of requests per second"
            )));
        }
        let mut auth =
            HeaderValue::try_from(format!("Bearer {}", key.expose_secret())).map_err(|_| {
                Error::Config("the API key contains characters not allowed in a header".into())
            })?;
        auth.set_sensitive(true);

        let http_applies_attempt_timeout = self.http.is_none();
        let http = match self.http {
            Some(client) => client,
            None => {
                let tls = tls_config()?;
                let mut builder = reqwest::Client::builder();
                if let Some(timeout) = self.attempt_timeout {
                    builder = builder.timeout(timeout);
                }
                builder
                    .tls_backend_preconfigured(tls)
                    .connect_timeout(self.connect_timeout)
                    .user_agent(self.user_agent)
                    .redirect(reqwest::redirect::Policy::none())
                    .tcp_nodelay(true)
                    .build()
                    .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?
            }
        };
        let shared = Shared {
            auth,
            environment: key.environment(),
            origin: parsed.origin(),
            throttle: crate::throttle::Throttle::new(self.rate_limit, self.retry.max_retry_after),
            retry: self.retry,
            attempt_timeout: self.attempt_timeout,
            total_timeout: self.total_timeout,
            http_applies_attempt_timeout,
            max_response_bytes: self.max_response_bytes,
        };
        Ok(crate::Client {
            raw: crate::generated::Client::new_with_client(&base_url, http, Arc::new(shared)),
        })
    }
}

/// Whether the URL's host is a loopback address (`localhost`, `127.0.0.0/8`, `::1`).
fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// The TLS configuration of one client: rustls with the `ring` provider (given to this config
/// only, never installed as the process default), the safe default protocol versions, the
/// system's roots through the platform verifier (on Linux the native store, which honours
/// `SSL_CERT_FILE` and `SSL_CERT_DIR`), and ALPN for HTTP/2 and HTTP/1.1. reqwest uses a
/// preconfigured config as given, so the ALPN list is set here.
fn tls_config() -> Result<rustls::ClientConfig, Error> {
    use rustls_platform_verifier::BuilderVerifierExt;

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Config(format!("cannot configure TLS: {e}")))?
        .with_platform_verifier()
        .map_err(|e| Error::Config(format!("cannot load the system's TLS roots: {e}")))?
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}
