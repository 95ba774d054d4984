//! The in-memory state: contacts and companies per organisation, and the update itself.
//!
//! One mutex guards the whole state and is never held across an `.await`; an update holds it
//! across its read-modify-write, so parallel updates of one contact cannot lose each other.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::StatusCode;
use bytes::Bytes;
use nateq_api::fields::field;
use nateq_api::types::{Activity, Company, Contact, ContactType, UpdateContactRequest};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::response::{Failure, ok_body};
use crate::seed::{ApiKey, Seed};

/// A contact as the emulator stores it: the spec's `Contact` plus the request-only `type`.
///
/// This is also the JSON of the admin API (`GET /_emulator/contacts`): the contact's
/// properties with an extra `type` property.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredContact {
    /// The contact, as the 200 response of an update would show it.
    #[serde(flatten)]
    pub contact: Contact,
    /// The contact's kind (`null` until set).
    #[serde(rename = "type")]
    pub contact_type: Option<ContactType>,
}

/// The shared state of one emulator.
#[derive(Debug)]
pub(crate) struct Store {
    seed: Arc<Seed>,
    world: Mutex<World>,
}

#[derive(Debug)]
struct World {
    contacts: HashMap<String, Record>,
    companies: HashMap<String, CompanyRecord>,
    next_activity: u64,
    last_micros: u128,
}

#[derive(Debug)]
struct Record {
    organization_id: String,
    stored: StoredContact,
    /// The 200 body for the current state, built on the first update after a change.
    cached_ok: Option<Bytes>,
}

#[derive(Debug)]
struct CompanyRecord {
    organization_id: String,
    company: Company,
}

/// One changed field of an update.
struct Change {
    field: &'static str,
    old: Option<String>,
    new: Option<String>,
}

impl Store {
    /// A store in the seed's state; the seed must be normalised.
    pub(crate) fn new(seed: Arc<Seed>) -> Self {
        let world = World::from_seed(&seed);
        Self {
            seed,
            world: Mutex::new(world),
        }
    }

    fn lock(&self) -> MutexGuard<'_, World> {
        // No code path panics while holding the lock, and the state is valid after every
        // statement, so a poisoned lock still guards a consistent state.
        self.world.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Back to the seed's state.
    pub(crate) fn reset(&self) {
        let fresh = World::from_seed(&self.seed);
        let old = std::mem::replace(&mut *self.lock(), fresh);
        // Freed after the lock is released: a large state takes a while to drop.
        drop(old);
    }

    /// Every contact of `org` (or of every organisation), sorted by ID.
    pub(crate) fn contacts(&self, org: Option<&str>) -> Vec<StoredContact> {
        let world = self.lock();
        let mut list: Vec<StoredContact> = world
            .contacts
            .values()
            .filter(|r| org.is_none_or(|o| r.organization_id == o))
            .map(|r| r.stored.clone())
            .collect();
        drop(world);
        list.sort_by(|a, b| a.contact.id.cmp(&b.contact.id));
        list
    }

    /// One contact of `org` (or of any organisation).
    pub(crate) fn contact(&self, org: Option<&str>, id: &str) -> Option<StoredContact> {
        let world = self.lock();
        world
            .contacts
            .get(id)
            .filter(|r| org.is_none_or(|o| r.organization_id == o))
            .map(|r| r.stored.clone())
    }

    /// Applies an update for `key` and returns the 200 body.
    pub(crate) fn update(
        &self,
        key: &ApiKey,
        id: &str,
        request: UpdateContactRequest,
    ) -> Result<Bytes, Failure> {
        let mut guard = self.lock();
        let world = &mut *guard;
        let record = world
            .contacts
            .get_mut(id)
            .filter(|r| r.organization_id == key.organization_id)
            .ok_or_else(|| Failure::not_found(format!("contact {id} not found")))?;
        let company = match request.company_id.as_deref() {
            Some(company_id) => Some(
                world
                    .companies
                    .get(company_id)
                    .filter(|c| c.organization_id == key.organization_id)
                    .map(|c| c.company.clone())
                    .ok_or_else(|| unknown_company(company_id))?,
            ),
            None => None,
        };
        let changes = apply(&mut record.stored, request, company)?;
        if !changes.is_empty() {
            let now = next_timestamp(&mut world.last_micros);
            let contact = &mut record.stored.contact;
            let activities = contact.activities.get_or_insert_with(Vec::new);
            for change in changes {
                world.next_activity += 1;
                activities.push(Activity {
                    id: Some(format!("act_{}", world.next_activity)),
                    contact_id: Some(contact.id.clone()),
                    actor_id: Some(key.id.clone()),
                    actor_name: Some(key.name.clone()),
                    actor_type: Some("api_key".to_owned()),
                    description: Some(format!("{} changed", change.field)),
                    metadata: Some(format!(r#"{{"field":"{}"}}"#, change.field)),
                    old_value: change.old,
                    new_value: change.new,
                    created_at: Some(now.clone()),
                    updated_at: Some(now.clone()),
                });
            }
            contact.updated_at = Some(now);
            record.cached_ok = None;
        }
        if let Some(body) = &record.cached_ok {
            return Ok(body.clone());
        }
        let body = ok_body(&record.stored.contact, "Contact updated");
        record.cached_ok = Some(body.clone());
        Ok(body)
    }
}

impl World {
    fn from_seed(seed: &Seed) -> Self {
        let companies = seed
            .companies
            .iter()
            .map(|c| {
                (
                    c.id.clone(),
                    CompanyRecord {
                        organization_id: c.organization_id.clone(),
                        company: c.to_company(),
                    },
                )
            })
            .collect();
        let contacts = seed
            .contacts
            .iter()
            .map(|c| {
                (
                    c.contact.id.clone(),
                    Record {
                        organization_id: c.contact.organization_id.clone().unwrap_or_default(),
                        stored: StoredContact {
                            contact: c.contact.clone(),
                            contact_type: c.contact_type,
                        },
                        cached_ok: None,
                    },
                )
            })
            .collect();
        Self {
            contacts,
            companies,
            next_activity: 0,
            last_micros: 0,
        }
    }
}

fn unknown_company(company_id: &str) -> Failure {
    Failure::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "VALIDATION_ERROR",
        format!("company {company_id} not found"),
    )
    .with_details(serde_json::json!({
        "fields": [{ "field": "companyId", "reason": "no company with this id in the organisation" }]
    }))
}

/// Applies the present fields and lists the ones whose value changed. Every field is handled
/// alike, by its name in the generated field table (a new property of the spec needs no code
/// here); only `companyId` has more to it, which the spec cannot say: `company` and
/// `companyName` follow it.
fn apply(
    stored: &mut StoredContact,
    request: UpdateContactRequest,
    company: Option<Company>,
) -> Result<Vec<Change>, Failure> {
    let sent = object(&request)?;
    // The activities are not touched by an update: keep them out of the round trip.
    let activities = stored.contact.activities.take();
    let mut current = object(&*stored)?;
    let mut changes = Vec::new();
    for (name, new) in sent {
        let Some(spec) = field(&name) else {
            continue;
        };
        let old = current.get(&name).filter(|v| !v.is_null());
        if old == Some(&new) {
            continue;
        }
        changes.push(Change {
            field: spec.name,
            old: old.map(text),
            new: Some(text(&new)),
        });
        current.insert(name, new);
    }
    if !changes.is_empty() {
        let mut updated: StoredContact = serde_json::from_value(Value::Object(current))
            .map_err(|e| internal(format!("cannot apply the update: {e}")))?;
        if changes.iter().any(|c| c.field == "companyId") {
            updated.contact.company_name = company.as_ref().and_then(|co| co.name.clone());
            updated.contact.company = company;
        }
        *stored = updated;
    }
    stored.contact.activities = activities;
    Ok(changes)
}

/// A value as a JSON object.
fn object(value: &impl Serialize) -> Result<Map<String, Value>, Failure> {
    match serde_json::to_value(value) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(internal(format!("expected an object, not {other}"))),
        Err(e) => Err(internal(e.to_string())),
    }
}

fn internal(message: String) -> Failure {
    Failure::new(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL", message)
}

/// A value as an activity shows it: text as it is, anything else as JSON.
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// An RFC 3339 time stamp (microseconds, UTC) later than every earlier one of this store.
fn next_timestamp(last: &mut u128) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros());
    let micros = now.max(*last + 1);
    *last = micros;
    let secs = u64::try_from(micros / 1_000_000).unwrap_or(u64::MAX / 2);
    let sub = u32::try_from(micros % 1_000_000).unwrap_or(0);
    let time = UNIX_EPOCH + Duration::new(secs, sub * 1_000);
    humantime::format_rfc3339_micros(time).to_string()
}
