#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

#[allow(
    missing_docs,
    missing_debug_implementations,
    clippy::all,
    clippy::unwrap_used,
    clippy::expect_used,
    unused,
    rust_2018_idioms
)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/client.rs"));
}

/// The generated field table and `ContactUpdate` (see [`fields`]).
#[allow(missing_debug_implementations, clippy::all, rust_2018_idioms)]
mod generated_fields {
    include!(concat!(env!("OUT_DIR"), "/fields.rs"));
}

/// The generated `Operation` enum, one variant per operation of the spec (see `hooks.rs`).
#[allow(missing_debug_implementations, clippy::all, rust_2018_idioms)]
mod generated_operations {
    include!(concat!(env!("OUT_DIR"), "/operations.rs"));
}

mod config;
mod contacts;
mod decode;
mod error;
pub mod fields;
mod hooks;
mod retry;
mod throttle;
mod update;

pub use config::{
    ApiKey, ClientBuilder, DEFAULT_BASE_URL, DEFAULT_MAX_RESPONSE_BYTES, ENV_API_KEY, ENV_BASE_URL,
    KeyEnvironment,
};
pub use contacts::{Contacts, UpdateOutcome};
pub use error::{ApiError, Error, Problem, ResponseDrift, ValidationError};
pub use retry::RetryPolicy;
pub use update::{ContactId, ContactUpdate};

/// The generated request and response types, one per schema in `openapi.yaml`.
pub use generated::types;

/// The generated request builders (see [`Client::update_contact`]).
pub use generated::builder;

/// The generated client's own types, for callers of [`Client::update_contact`]: its error
/// type is `progenitor_client::Error<types::ErrorResponse>`, and its success value a
/// [`ResponseValue`](generated_client::ResponseValue).
pub mod generated_client {
    /// The generated client itself; [`Client`](crate::Client) wraps it.
    pub use crate::generated::Client as RawClient;
    pub use crate::generated::{ByteStream, ClientInfo, Error, ResponseValue};
}

/// A client for the Nateq API. Cheap to clone: clones share one connection pool.
///
/// Build one with [`Client::builder`] or [`Client::from_env`], then call
/// [`Client::contacts`]. The generated builder interface stays available as
/// [`Client::update_contact`].
#[derive(Clone, Debug)]
pub struct Client {
    raw: generated::Client,
}

impl Client {
    /// A builder with the defaults: production base URL, 30 s per attempt, 120 s overall,
    /// 2 retries.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client configured from `NATEQ_API_KEY` and `NATEQ_BASE_URL` (default
    /// `https://api.nateq.io/api/v1`).
    pub fn from_env() -> Result<Client, Error> {
        ClientBuilder::default().from_env().build()
    }

    /// Contact operations, e.g. `client.contacts().update(id, update)`.
    pub fn contacts(&self) -> Contacts<'_> {
        Contacts { client: self }
    }

    /// The generated builder for `PUT /contacts/{id}`: the same request path as
    /// [`Client::contacts`] (auth, throttling, retries, deadlines, the response size cap,
    /// tracing), returning the generated types and error.
    pub fn update_contact(&self) -> builder::UpdateContact<'_> {
        self.raw.update_contact()
    }

    /// The base URL requests go to (without a trailing `/`).
    pub fn base_url(&self) -> &str {
        &self.raw.baseurl
    }

    /// Which environment the client's key acts on.
    pub fn key_environment(&self) -> KeyEnvironment {
        self.raw.inner.environment
    }

    /// The retry policy in force.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.raw.inner.retry
    }

    /// The generated client this one wraps.
    pub fn raw(&self) -> &generated::Client {
        &self.raw
    }
}
