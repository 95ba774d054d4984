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
    Few(Vec<Caller>),
    Many(HashMap<String, Caller>),
}

/// A key and what the emulator needs to know of it on every request.
#[derive(Clone)]
pub(crate) struct Caller {
    pub key: ApiKey,
    /// Its place among the emulator's keys (journal entries and activities name it by index).
    pub index: u32,
    /// Its organisation's place among the emulator's organisations.
    pub org: usize,
}

/// Up to this many keys are scanned rather than hashed.
const SCAN_LIMIT: usize = 8;

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Lists the key IDs only: the map's keys are secrets.
        let ids: Vec<&str> = match self {
            Keys::Few(keys) => keys.iter().map(|k| k.key.id.as_str()).collect(),
            Keys::Many(keys) => keys.values().map(|k| k.key.id.as_str()).collect(),
        };
        f.debug_list().entries(ids).finish()
    }
}

impl Keys {
    /// The keys, each with its organisation's index (`org_of` maps an organisation id to it).
    pub(crate) fn new(keys: &[ApiKey], org_of: impl Fn(&str) -> usize) -> Self {
        let callers = keys.iter().enumerate().map(|(i, key)| Caller {
            key: key.clone(),
            index: u32::try_from(i).unwrap_or(u32::MAX),
            org: org_of(&key.organization_id),
        });
        if keys.len() <= SCAN_LIMIT {
            Keys::Few(callers.collect())
        } else {
            Keys::Many(callers.map(|c| (c.key.secret.clone(), c)).collect())
        }
    }

    /// The key named by the `Authorization: Bearer <key>` header, or a 401.
    pub(crate) fn authenticate(&self, headers: &HeaderMap) -> Result<&Caller, Failure> {
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
            Keys::Few(keys) => keys.iter().find(|k| k.key.secret == token),
            Keys::Many(keys) => keys.get(token),
        };
        found.ok_or_else(|| Failure::unauthorized("invalid api key"))
    }
}
