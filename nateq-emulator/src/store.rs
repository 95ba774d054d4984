//! The contacts: the seed's, and what was written over them, per organisation; the update.
//!
//! The seed is held once and never changes: a seed file's contacts as they were read, the demo
//! contacts `ct_demo_1` to `ct_demo_N` made when they are needed (none is built up front). What
//! requests write is kept beside it, per organisation, in a few shards (each behind its own
//! mutex, never held across an `.await`): for each contact that was written, the fields written
//! (by their name in the generated field table), when, its activities (bounded), and the last
//! response body. A contact is stored only once something changes it; reset drops what was
//! written. An update holds its shard's lock across its read-modify-write, so parallel updates
//! of one contact cannot lose each other.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use axum::http::StatusCode;
use bytes::Bytes;
use nateq_api::fields::{Field, UPDATE_CONTACT_FIELDS, field};
use nateq_api::types::{Company, Contact, ContactType, UpdateContactRequest};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::auth::Caller;
use crate::history::{Change, Clock, History, Recent, Stamp};
use crate::patch::{Patch, Patched};
use crate::response::{Failure, ok_body};
use crate::seed::{DEMO_CONTACT_PREFIX, Seed, SeedContact, demo_contact};

/// A contact as the emulator stores it: the spec's `Contact` plus the request-only fields
/// (those of the request that no response shows, such as `type`).
///
/// This is also the JSON of the admin API (`GET /_emulator/contacts`): the contact's
/// properties and, beside them, each request-only field (`null` until set).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "StoredContactJson")]
pub struct StoredContact {
    /// The contact, as the 200 response of an update would show it (with every stored activity).
    #[serde(flatten)]
    pub contact: Contact,
    /// The request-only `type` (`null` until set), typed; also in
    /// [`request_only`](Self::request_only).
    #[serde(skip)]
    pub contact_type: Option<ContactType>,
    /// Every request-only field of the generated field table, by its API name, with its value
    /// (`null` until set).
    #[serde(flatten)]
    pub request_only: BTreeMap<String, Value>,
}

#[derive(Deserialize)]
struct StoredContactJson {
    #[serde(flatten)]
    contact: Contact,
    #[serde(flatten)]
    request_only: BTreeMap<String, Value>,
}

impl From<StoredContactJson> for StoredContact {
    fn from(json: StoredContactJson) -> Self {
        StoredContact::new(json.contact, json.request_only)
    }
}

impl StoredContact {
    fn new(contact: Contact, request_only: BTreeMap<String, Value>) -> Self {
        let contact_type = request_only
            .get("type")
            .and_then(|t| serde_json::from_value(t.clone()).ok());
        Self {
            contact,
            contact_type,
            request_only,
        }
    }
}

/// How much history a contact keeps and shows.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HistoryLimits {
    /// Activities kept per contact (the oldest dropped beyond).
    pub keep: usize,
    /// Activities in a response (the most recent).
    pub per_response: usize,
}

/// Every contact of one emulator.
#[derive(Debug)]
pub(crate) struct Store {
    seed: std::sync::Arc<Seed>,
    /// The seed's contacts by id: their place in `seed.contacts` and their organisation.
    seeded: HashMap<Box<str>, (u32, usize)>,
    /// `ct_demo_1` to `ct_demo_{count}` of organisation `org`, made on demand.
    demo: Option<Demo>,
    companies: HashMap<String, (usize, Company)>,
    orgs: Vec<Partition>,
    clock: Clock,
    limits: HistoryLimits,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Demo {
    pub count: usize,
    pub org: usize,
}

/// The written contacts of one organisation.
#[derive(Debug)]
struct Partition {
    shards: Box<[Mutex<Shard>]>,
    /// The number of the last activity (`act_N`).
    last_activity: AtomicU64,
    /// The ids of its seeded contacts, as places in `seed.contacts`, sorted by id.
    listing: Vec<u32>,
}

/// Written contacts by where they come from: a number, compared without following a pointer.
type Shard = HashMap<Origin, Box<Record>>;

/// How many shards an organisation's contacts are spread over.
const SHARDS: usize = 16;

/// What was written over one contact.
#[derive(Debug, Default)]
struct Record {
    /// The request fields written, by their entry in the field table.
    fields: Vec<(&'static Field, Value)>,
    updated_at: Option<Stamp>,
    history: History,
    /// The 200 body of the current state, kept once the same state is asked for twice.
    cached: Option<Bytes>,
}

/// Where a contact of the seed comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Origin {
    Seeded(u32),
    Demo(usize),
}

/// A seed contact, borrowed from the seed or made on demand.
enum Base<'a> {
    Borrowed(&'a SeedContact),
    Made(Box<SeedContact>),
}

/// One page of an organisation's contacts, sorted by id.
#[derive(Debug)]
pub(crate) struct Page {
    pub contacts: Vec<StoredContact>,
    /// The id to continue after, when there are more.
    pub next: Option<String>,
    /// How many contacts the organisation has.
    pub total: usize,
}

impl std::ops::Deref for Base<'_> {
    type Target = SeedContact;

    fn deref(&self) -> &SeedContact {
        match self {
            Base::Borrowed(c) => c,
            Base::Made(c) => c,
        }
    }
}

impl Record {
    fn get(&self, name: &str) -> Option<&Value> {
        self.fields
            .iter()
            .find(|(f, _)| f.name == name)
            .map(|(_, v)| v)
    }

    fn set(&mut self, field: &'static Field, value: Value) {
        match self.fields.iter_mut().find(|(f, _)| f.name == field.name) {
            Some((_, old)) => *old = value,
            None => self.fields.push((field, value)),
        }
    }
}

impl Partition {
    fn new(listing: Vec<u32>) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            last_activity: AtomicU64::new(0),
            listing,
        }
    }

    fn shard(&self, origin: Origin) -> MutexGuard<'_, Shard> {
        let i = match origin {
            Origin::Seeded(i) => i as usize,
            Origin::Demo(k) => k,
        } % SHARDS;
        let shard = self.shards.get(i).unwrap_or(&self.shards[0]);
        // No code path panics while holding the lock, and the state is valid after every
        // statement, so a poisoned lock still guards a consistent state.
        shard.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Store {
    /// A store of `seed` (normalised), whose organisations `org_of` numbers from 0 to
    /// `org_count - 1`, with `demo` contacts made on demand.
    pub(crate) fn new(
        seed: std::sync::Arc<Seed>,
        demo: Option<Demo>,
        org_count: usize,
        org_of: impl Fn(&str) -> Option<usize>,
        limits: HistoryLimits,
    ) -> Self {
        let mut seeded = HashMap::with_capacity(seed.contacts.len());
        let mut listings = vec![Vec::new(); org_count];
        for (i, c) in seed.contacts.iter().enumerate() {
            let org = org_of(c.contact.organization_id.as_deref().unwrap_or_default());
            let (Some(org), Ok(i)) = (org, u32::try_from(i)) else {
                continue;
            };
            seeded.insert(c.contact.id.as_str().into(), (i, org));
            if let Some(list) = listings.get_mut(org) {
                list.push(i);
            }
        }
        for list in &mut listings {
            list.sort_by(|a, b| id_of(&seed, *a).cmp(id_of(&seed, *b)));
        }
        let companies = seed
            .companies
            .iter()
            .filter_map(|c| Some((c.id.clone(), (org_of(&c.organization_id)?, c.to_company()))))
            .collect();
        Self {
            orgs: listings.into_iter().map(Partition::new).collect(),
            seed,
            seeded,
            demo,
            companies,
            clock: Clock::default(),
            limits,
        }
    }

    /// Drops what was written to `org`'s contacts; its activity numbers start again.
    pub(crate) fn reset(&self, org: usize) {
        let Some(partition) = self.orgs.get(org) else {
            return;
        };
        for shard in &partition.shards {
            let old = std::mem::take(&mut *shard.lock().unwrap_or_else(PoisonError::into_inner));
            // Freed after the lock is released: a large state takes a while to drop.
            drop(old);
        }
        partition.last_activity.store(0, Ordering::Relaxed);
    }

    /// One contact of `org` (or of any organisation).
    pub(crate) fn contact(&self, org: Option<usize>, id: &str) -> Option<StoredContact> {
        let (owner, origin) = self.find(id)?;
        if org.is_some_and(|o| o != owner) {
            return None;
        }
        self.stored(owner, id, origin).ok()
    }

    /// Every contact of every organisation, sorted by id (demo contacts included, each made).
    pub(crate) fn all(&self) -> Vec<StoredContact> {
        let mut ids: Vec<String> = self.seeded.keys().map(|id| id.to_string()).collect();
        if let Some(demo) = self.demo {
            ids.extend((1..=demo.count).map(|k| format!("{DEMO_CONTACT_PREFIX}{k}")));
        }
        ids.sort_unstable();
        ids.iter().filter_map(|id| self.contact(None, id)).collect()
    }

    /// Up to `limit` contacts of `org`, sorted by id, after the contact `after` if given (which
    /// must be one of the organisation's).
    pub(crate) fn page(
        &self,
        org: usize,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page, Failure> {
        let unknown = |id: &str| {
            Failure::validation(
                format!("invalid after: no contact {id} in the organisation"),
                serde_json::json!({ "fields": [{
                    "field": "after",
                    "reason": "must be the id of a contact of the organisation, such as the last id of the previous page"
                }]}),
            )
        };
        let mut ids: Vec<String> = Vec::new();
        let more;
        let total;
        match self.demo.filter(|d| d.org == org) {
            Some(demo) => {
                total = demo.count;
                let mut next = match after {
                    Some(id) => {
                        let k = self.demo_number(id).ok_or_else(|| unknown(id))?;
                        lexical_successor(k, demo.count)
                    }
                    None => (demo.count >= 1).then_some(1),
                };
                while let Some(k) = next {
                    if ids.len() == limit {
                        break;
                    }
                    ids.push(format!("{DEMO_CONTACT_PREFIX}{k}"));
                    next = lexical_successor(k, demo.count);
                }
                more = next.is_some();
            }
            None => {
                let listing = self
                    .orgs
                    .get(org)
                    .map(|p| p.listing.as_slice())
                    .unwrap_or_default();
                total = listing.len();
                let start = match after {
                    Some(id) => {
                        listing
                            .binary_search_by(|p| id_of(&self.seed, *p).cmp(id))
                            .map_err(|_| unknown(id))?
                            + 1
                    }
                    None => 0,
                };
                let rest = listing.get(start..).unwrap_or_default();
                ids.extend(
                    rest.iter()
                        .take(limit)
                        .map(|p| id_of(&self.seed, *p).to_owned()),
                );
                more = rest.len() > limit;
            }
        }
        let contacts = ids
            .iter()
            .filter_map(|id| self.contact(Some(org), id))
            .collect();
        Ok(Page {
            contacts,
            next: if more { ids.last().cloned() } else { None },
            total,
        })
    }

    /// Applies an update for `caller` and returns the 200 body.
    pub(crate) fn update(
        &self,
        caller: &Caller,
        id: &str,
        request: &UpdateContactRequest,
    ) -> Result<Bytes, Failure> {
        let (org, origin) = self
            .find(id)
            .filter(|(org, _)| *org == caller.org)
            .ok_or_else(|| Failure::not_found(format!("contact {id} not found")))?;
        let sent = sent_fields(request)?;
        if let Some((_, company_id)) = sent.iter().find(|(f, _)| f.name == COMPANY_ID) {
            let company_id = company_id.as_str().unwrap_or_default();
            self.company(org, company_id)
                .ok_or_else(|| unknown_company(company_id))?;
        }
        let partition = self
            .orgs
            .get(org)
            .ok_or_else(|| internal("no such organisation".to_owned()))?;
        let mut shard = partition.shard(origin);
        let record = shard.get(&origin);
        // The seed's contact is read (or made) only when a field sent was never written, or the
        // response must be built.
        let mut base = None;
        let base_values = if sent
            .iter()
            .any(|(f, _)| record.is_none_or(|r| r.get(f.name).is_none()))
        {
            let made = self.base(origin)?;
            let values = object(&*made)?;
            base = Some(made);
            Some(values)
        } else {
            None
        };
        let mut changes = Vec::new();
        for (field, new) in sent {
            let old = record
                .and_then(|r| r.get(field.name))
                .or_else(|| base_values.as_ref().and_then(|b| b.get(field.name)))
                .filter(|v| !v.is_null());
            if old != Some(&new) {
                changes.push((field, old.map(text), new));
            }
        }
        if changes.is_empty()
            && let Some(body) = record.and_then(|r| r.cached.as_ref())
        {
            return Ok(body.clone());
        }
        let base = match base {
            Some(base) => base,
            None => self.base(origin)?,
        };
        if changes.is_empty() {
            return match shard.get_mut(&origin) {
                Some(record) => {
                    let body = self.body(org, id, &base, Some(record));
                    // Kept at its length: the buffer it was written into has room to spare.
                    record.cached = Some(Bytes::copy_from_slice(&body));
                    Ok(body)
                }
                // Never written: nothing is stored.
                None => Ok(self.body(org, id, &base, None)),
            };
        }
        let record = shard.entry(origin).or_default();
        let seeded = base.contact.activities.as_ref().map_or(0, Vec::len);
        let now = self.clock.next();
        for (field, old, new) in changes {
            let seq = partition.last_activity.fetch_add(1, Ordering::Relaxed) + 1;
            record.history.push(
                Change {
                    seq,
                    field: field.name,
                    actor: caller.index,
                    at: now,
                    old: old.map(String::into_boxed_str),
                    new: text(&new).into_boxed_str(),
                },
                seeded,
                self.limits.keep,
            );
            record.set(field, new);
        }
        record.updated_at = Some(now);
        record.cached = None;
        Ok(self.body(org, id, &base, Some(record)))
    }

    /// How many of `org`'s contacts are stored (were written since the start or the last reset).
    #[cfg(test)]
    fn written(&self, org: usize) -> usize {
        self.orgs.get(org).map_or(0, |p| {
            p.shards
                .iter()
                .map(|s| s.lock().unwrap_or_else(PoisonError::into_inner).len())
                .sum()
        })
    }

    /// The organisation and origin of a contact of the seed: a demo contact by its number, a
    /// contact of the seed by its id.
    fn find(&self, id: &str) -> Option<(usize, Origin)> {
        if let (Some(demo), Some(k)) = (self.demo, self.demo_number(id)) {
            return Some((demo.org, Origin::Demo(k)));
        }
        let (i, org) = self.seeded.get(id)?;
        Some((*org, Origin::Seeded(*i)))
    }

    /// `k` of `ct_demo_{k}` when it names a demo contact (no sign, no leading zero).
    fn demo_number(&self, id: &str) -> Option<usize> {
        let count = self.demo?.count;
        let digits = id.strip_prefix(DEMO_CONTACT_PREFIX)?;
        if digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse::<usize>().ok().filter(|k| *k <= count)
    }

    fn base(&self, origin: Origin) -> Result<Base<'_>, Failure> {
        match origin {
            Origin::Seeded(i) => self
                .seed
                .contacts
                .get(i as usize)
                .map(Base::Borrowed)
                .ok_or_else(|| internal(format!("no seed contact at {i}"))),
            Origin::Demo(k) => demo_contact(k)
                .map(|c| Base::Made(Box::new(c)))
                .map_err(|e| internal(e.to_string())),
        }
    }

    fn company(&self, org: usize, id: &str) -> Option<&Company> {
        self.companies
            .get(id)
            .filter(|(o, _)| *o == org)
            .map(|(_, c)| c)
    }

    fn patch<'a>(&'a self, org: usize, record: Option<&'a Record>) -> Patch<'a> {
        let company = record
            .and_then(|r| r.get(COMPANY_ID))
            .and_then(Value::as_str)
            .and_then(|id| self.company(org, id));
        Patch {
            fields: record.map_or(&[], |r| r.fields.as_slice()),
            company,
            updated_at: record
                .and_then(|r| r.updated_at.as_ref())
                .map(Stamp::as_str),
        }
    }

    /// The 200 body of a contact as it is now.
    fn body(&self, org: usize, id: &str, base: &SeedContact, record: Option<&Record>) -> Bytes {
        let contact = Patched {
            base: &base.contact,
            patch: self.patch(org, record),
            activities: self.recent(base, id, record, self.limits.per_response),
        };
        ok_body(&contact, "Contact updated")
    }

    fn recent<'a>(
        &'a self,
        base: &'a SeedContact,
        id: &'a str,
        record: Option<&'a Record>,
        count: usize,
    ) -> Recent<'a> {
        Recent {
            seeded: base.contact.activities.as_deref().unwrap_or_default(),
            history: record.map(|r| &r.history),
            keep: self.limits.keep,
            count,
            contact_id: id,
            keys: &self.seed.keys,
        }
    }

    /// A contact as it is now, with every activity it keeps.
    fn stored(&self, org: usize, id: &str, origin: Origin) -> Result<StoredContact, Failure> {
        let partition = self
            .orgs
            .get(org)
            .ok_or_else(|| internal("no such organisation".to_owned()))?;
        let shard = partition.shard(origin);
        let record = shard.get(&origin).map(|r| &**r);
        let base = self.base(origin)?;
        let json = serde_json::to_value(Patched {
            base: &base.contact,
            patch: self.patch(org, record),
            activities: self.recent(&base, id, record, self.limits.keep),
        })
        .map_err(|e| internal(e.to_string()))?;
        let contact: Contact = serde_json::from_value(json).map_err(|e| internal(e.to_string()))?;
        let base_values = object(&*base)?;
        let request_only = UPDATE_CONTACT_FIELDS
            .iter()
            .filter(|f| f.request_only)
            .map(|f| {
                let value = record
                    .and_then(|r| r.get(f.name))
                    .or_else(|| base_values.get(f.name))
                    .cloned()
                    .unwrap_or(Value::Null);
                (f.name.to_owned(), value)
            })
            .collect();
        Ok(StoredContact::new(contact, request_only))
    }
}

/// The request property whose value names a company of the organisation: `company` and
/// `companyName` follow it (what the spec cannot say).
const COMPANY_ID: &str = "companyId";

/// The k after `k` among 1 to `count` in the order of their decimal text (1, 10, 11, 2, ...):
/// the order of `ct_demo_{k}` sorted by id.
fn lexical_successor(k: usize, count: usize) -> Option<usize> {
    if let Some(child) = k.checked_mul(10).filter(|c| *c <= count) {
        return Some(child);
    }
    let mut k = k;
    while k % 10 == 9 || k >= count {
        k /= 10;
        if k == 0 {
            return None;
        }
    }
    Some(k + 1)
}

fn id_of(seed: &Seed, place: u32) -> &str {
    seed.contacts
        .get(place as usize)
        .map_or("", |c| c.contact.id.as_str())
}

/// The fields of a request, each with its entry in the generated field table.
fn sent_fields(request: &UpdateContactRequest) -> Result<Vec<(&'static Field, Value)>, Failure> {
    Ok(object(request)?
        .into_iter()
        .filter_map(|(name, value)| Some((field(&name)?, value)))
        .collect())
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn demo_ids_follow_in_the_order_of_their_text() {
        for count in [0, 1, 9, 10, 12, 100, 1234] {
            let mut expected: Vec<String> = (1..=count).map(|k| k.to_string()).collect();
            expected.sort();
            let mut walked = Vec::new();
            let mut next = (count >= 1).then_some(1);
            while let Some(k) = next {
                walked.push(k.to_string());
                // A successor that repeats or runs past the count fails here, not by hanging.
                assert!(walked.len() <= count, "{count}: {walked:?}");
                next = lexical_successor(k, count);
            }
            assert_eq!(walked, expected, "{count}");
        }
        // At the top of the range nothing overflows.
        let max = usize::MAX;
        assert_eq!(lexical_successor(max, max), Some(max / 10 + 1));
        assert_eq!(lexical_successor(max / 10, max), Some(max / 10 * 10));
        let nines = (1..max.ilog10()).fold(9usize, |n, _| n * 10 + 9);
        assert_eq!(lexical_successor(nines, max), None);
    }

    /// A demo contact is stored only once something changes it; reading it, or a PUT that
    /// changes nothing, stores nothing; reset drops what was stored.
    /// A store of the lazy demo seed with `count` demo contacts: the store, the seed, the demo
    /// organisation and how many organisations there are.
    fn demo_store(count: usize) -> (Store, std::sync::Arc<Seed>, usize, usize) {
        let seed = std::sync::Arc::new(Seed::lazy_demo().unwrap().normalised().unwrap());
        let orgs = crate::org::organisation_ids(&seed);
        let org_of = |id: &str| orgs.iter().position(|o| o == id);
        let demo_org = org_of(crate::DEMO_ORG).unwrap();
        let store = Store::new(
            seed.clone(),
            Some(Demo {
                count,
                org: demo_org,
            }),
            orgs.len(),
            org_of,
            HistoryLimits {
                keep: 10,
                per_response: 5,
            },
        );
        (store, seed, demo_org, orgs.len())
    }

    #[test]
    fn demo_contacts_are_stored_only_once_written() {
        let (store, seed, demo_org, _) = demo_store(1_000_000);
        let caller = Caller {
            key: seed.keys[0].clone(),
            index: 0,
            org: demo_org,
        };
        let request = |json: &str| serde_json::from_str::<UpdateContactRequest>(json).unwrap();
        assert_eq!(store.written(demo_org), 0);
        let read = store.contact(None, "ct_demo_999999").unwrap();
        assert_eq!(read.contact.name.as_deref(), Some("Demo Contact 999999"));
        store
            .update(
                &caller,
                "ct_demo_999999",
                &request(r#"{"name":"Demo Contact 999999"}"#),
            )
            .unwrap();
        assert_eq!(store.written(demo_org), 0);
        store
            .update(&caller, "ct_demo_999999", &request(r#"{"name":"Changed"}"#))
            .unwrap();
        assert_eq!(store.written(demo_org), 1);
        store.reset(demo_org);
        assert_eq!(store.written(demo_org), 0);
        assert_eq!(store.contact(None, "ct_demo_999999").unwrap(), read);
    }

    /// A page of the seed's contacts says there is more exactly when contacts follow it: a
    /// page that ends on the last contact has no `next`, so a client never asks for an empty
    /// one.
    #[test]
    fn a_page_that_ends_on_the_last_contact_has_no_next() {
        let (store, _, demo_org, orgs) = demo_store(5);
        let other = (0..orgs).find(|&o| o != demo_org).unwrap();
        let all = store.page(other, None, usize::MAX).unwrap();
        let total = all.total;
        assert!(total >= 1, "the other organisation has no contact");
        assert_eq!(all.contacts.len(), total);
        assert_eq!(all.next, None);
        let exact = store.page(other, None, total).unwrap();
        assert_eq!(exact.contacts.len(), total);
        assert_eq!(exact.next, None);
    }

    #[test]
    fn stored_contacts_read_back_from_their_json() {
        let seed = crate::seed::demo_contact(1).unwrap();
        let stored = StoredContact::new(
            seed.contact,
            BTreeMap::from([("type".to_owned(), Value::from("guest"))]),
        );
        assert_eq!(stored.contact_type, Some(ContactType::Guest));
        let json = serde_json::to_value(&stored).unwrap();
        assert_eq!(json["type"], "guest");
        assert_eq!(json["name"], "Ada Byron");
        let back: StoredContact = serde_json::from_value(json).unwrap();
        assert_eq!(back, stored);
    }
}
