//! Bearer-key authentication against the seed's keys.

use std::collections::HashMap;
use std::fmt;

use axum::http::{HeaderMap, header};

use crate::response::Failure;
use crate::seed::ApiKey;

/// The configured keys, looked up by secret; never changes while the emulator runs.
///
/// A handful of keys is scanned (cheaper than hashing the secret); many keys are hashed.
pub(crate) enum Keys {
    Few(Vec<ApiKey>),
    Many(HashMap<String, ApiKey>),
}

/// Up to this many keys are scanned rather than hashed.
const SCAN_LIMIT: usize = 8;

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Lists the key IDs only: the map's keys are secrets.
        let ids: Vec<&str> = match self {
            Keys::Few(keys) => keys.iter().map(|k| k.id.as_str()).collect(),
            Keys::Many(keys) => keys.values().map(|k| k.id.as_str()).collect(),
        };
        f.debug_list().entries(ids).finish()
    }
}

impl Keys {
    pub(crate) fn new(keys: &[ApiKey]) -> Self {
        if keys.len() <= SCAN_LIMIT {
            Keys::Few(keys.to_vec())
        } else {
            Keys::Many(keys.iter().map(|k| (k.secret.clone(), k.clone())).collect())
        }
    }

    /// The key named by the `Authorization: Bearer <key>` header, or a 401.
    pub(crate) fn authenticate(&self, headers: &HeaderMap) -> Result<&ApiKey, Failure> {
        let mut values = headers.get_all(header::AUTHORIZATION).iter();
        let Some(value) = values.next() else {
            return Err(Failure::unauthorized(
                "missing authorization header; send `Authorization: Bearer <api key>`",
            ));
        };
        if values.next().is_some() {
            return Err(Failure::unauthorized(
                "more than one authorization header was sent",
            ));
        }
        let malformed =
            || Failure::unauthorized("malformed authorization header; expected `Bearer <api key>`");
        let value = value.to_str().map_err(|_| malformed())?;
        let (scheme, token) = value.split_once(' ').ok_or_else(malformed)?;
        let token = token.trim();
        if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
            return Err(malformed());
        }
        let found = match self {
            Keys::Few(keys) => keys.iter().find(|k| k.secret == token),
            Keys::Many(keys) => keys.get(token),
        };
        found.ok_or_else(|| Failure::unauthorized("invalid api key"))
    }
}
