//! The emulator's starting state: API keys, companies and contacts, built-in or from a JSON file.
//!
//! A seed file is one JSON object (every array may be omitted):
//!
//! ```json
//! {
//!   "keys": [
//!     { "id": "key_demo_full", "name": "Demo key", "secret": "tg_test_...",
//!       "organizationId": "org_demo", "scopes": ["contacts:read", "contacts:write"] }
//!   ],
//!   "companies": [
//!     { "id": "co_demo_1", "organizationId": "org_demo",
//!       "name": "Analytical Engines Ltd", "domain": "engines.example.com" }
//!   ],
//!   "contacts": [
//!     { "id": "ct_demo_1", "organizationId": "org_demo", "name": "Ada Byron",
//!       "companyId": "co_demo_1", "type": "customer" }
//!   ]
//! }
//! ```
//!
//! Contacts use the spec's `Contact` shape plus an optional `type`; `organizationId` is required,
//! `company` and `companyName` are derived from `companyId`. Without `keys`, the built-in demo keys
//! are used.

use std::collections::HashSet;
use std::fmt;
use std::path::Path;

use nateq_api::types::{Company, Contact, ContactType, Tag};
use serde::{Deserialize, Serialize};

use crate::Error;

/// The scope that allows reading contacts.
pub const SCOPE_READ: &str = "contacts:read";
/// The scope that allows updating contacts.
pub const SCOPE_WRITE: &str = "contacts:write";

/// The organisation of the built-in demo data.
pub const DEMO_ORG: &str = "org_demo";
/// The second organisation of the built-in demo data (for isolation tests).
pub const OTHER_ORG: &str = "org_other";
/// Secret of the built-in full-scope key of [`DEMO_ORG`].
pub const DEMO_FULL_KEY: &str = "tg_test_emulator_demo_full_0000000000000000";
/// Secret of the built-in read-only key of [`DEMO_ORG`].
pub const DEMO_READ_ONLY_KEY: &str = "tg_test_emulator_demo_read_only_000000000";
/// Secret of the built-in full-scope key of [`OTHER_ORG`].
pub const OTHER_ORG_KEY: &str = "tg_test_emulator_other_org_full_000000000";

/// Time stamp of every seeded record.
const SEED_TIME: &str = "2026-01-05T09:00:00.000000Z";

/// The starting state of an emulator: what `POST /_emulator/reset` goes back to.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Seed {
    /// API keys; when empty, the built-in demo keys are used.
    #[serde(default)]
    pub keys: Vec<ApiKey>,
    /// Companies that contacts can point at with `companyId`.
    #[serde(default)]
    pub companies: Vec<SeedCompany>,
    /// Contacts.
    #[serde(default)]
    pub contacts: Vec<SeedContact>,
}

/// An API key: who may call, for which organisation, with which scopes.
///
/// The secret never appears in `Debug` output, responses, activities or logs; the `id` does
/// (it is the activity's `actorId`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApiKey {
    /// Public identifier of the key, for example `key_demo_full`.
    pub id: String,
    /// Display name, used as the activity's `actorName`.
    pub name: String,
    /// The bearer token.
    pub secret: String,
    /// The organisation the key acts for.
    pub organization_id: String,
    /// Granted scopes, for example `contacts:read` and `contacts:write`.
    pub scopes: Vec<String>,
}

/// A company of the seed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedCompany {
    /// Company ID.
    pub id: String,
    /// Organisation that owns the company.
    pub organization_id: String,
    /// The company's name.
    pub name: String,
    /// The company's web domain.
    #[serde(default)]
    pub domain: Option<String>,
}

/// A contact of the seed: the spec's `Contact` plus the request-only `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeedContact {
    /// The contact as the API returns it.
    #[serde(flatten)]
    pub contact: Contact,
    /// Kind of contact (the response's contact does not carry it).
    #[serde(rename = "type", default)]
    pub contact_type: Option<ContactType>,
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKey")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("secret", &"<redacted>")
            .field("organization_id", &self.organization_id)
            .field("scopes", &self.scopes)
            .finish()
    }
}

impl ApiKey {
    /// Whether the key has `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    fn new(id: &str, name: &str, secret: &str, org: &str, scopes: &[&str]) -> Self {
        Self {
            id: id.to_owned(),
            name: name.to_owned(),
            secret: secret.to_owned(),
            organization_id: org.to_owned(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        }
    }
}

/// Names of the first demo contacts; later ones are numbered.
const DEMO_NAMES: [(&str, &str); 5] = [
    ("Ada Byron", "ada@example.com"),
    ("Charles Babbage", "charles@example.com"),
    ("Grace Hopper", "grace@example.com"),
    ("Alan Turing", "alan@example.com"),
    ("Katherine Johnson", "katherine@example.com"),
];

impl Seed {
    /// The built-in demo data: organisation `org_demo` with contacts `ct_demo_1` to
    /// `ct_demo_{contacts}`, two companies and two tags, organisation `org_other` with contact
    /// `ct_other_1`, and three keys (full, read-only, other organisation).
    ///
    /// Every contact is built here, so `contacts` is at most [`MAX_EAGER_DEMO_CONTACTS`];
    /// [`EmulatorBuilder::demo_contacts`](crate::EmulatorBuilder::demo_contacts) has no such
    /// limit: its demo contacts are made when they are first read.
    pub fn demo(contacts: usize) -> Result<Self, Error> {
        if contacts > MAX_EAGER_DEMO_CONTACTS {
            return Err(Error::InvalidSeed(format!(
                "Seed::demo builds every contact: at most {MAX_EAGER_DEMO_CONTACTS}, not \
                 {contacts} (EmulatorBuilder::demo_contacts makes them on demand, without a limit)"
            )));
        }
        let mut list = Vec::with_capacity(contacts.saturating_add(1));
        for n in 1..=contacts {
            list.push(demo_contact(n)?);
        }
        list.push(other_contact()?);
        Ok(Self {
            keys: demo_keys(),
            companies: demo_companies(),
            contacts: list,
        })
    }

    /// The demo data without `ct_demo_1` to `ct_demo_N`, which [`demo_contact`] makes on demand.
    pub(crate) fn lazy_demo() -> Result<Self, Error> {
        Ok(Self {
            keys: demo_keys(),
            companies: demo_companies(),
            contacts: vec![other_contact()?],
        })
    }

    /// Reads a seed from a JSON file (see the module docs for the format).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let text = std::fs::read(path).map_err(|source| Error::SeedRead {
            path: path.to_owned(),
            source,
        })?;
        serde_json::from_slice(&text).map_err(|source| Error::SeedParse {
            path: path.to_owned(),
            source,
        })
    }

    /// Checks the seed and fills in what it leaves out: the demo keys when there are none,
    /// `company` and `companyName` from `companyId`, empty `activities` and `tags`.
    pub(crate) fn normalised(mut self) -> Result<Self, Error> {
        if self.keys.is_empty() {
            self.keys = demo_keys();
        }
        let mut key_ids = HashSet::new();
        let mut secrets = HashSet::new();
        for key in &self.keys {
            if key.secret.is_empty() || !key.secret.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(Error::InvalidSeed(format!(
                    "key {} has an empty or non-printable secret",
                    key.id
                )));
            }
            if !key_ids.insert(key.id.as_str()) {
                return Err(Error::InvalidSeed(format!("duplicate key id {}", key.id)));
            }
            if !secrets.insert(key.secret.as_str()) {
                return Err(Error::InvalidSeed(format!(
                    "key {} reuses the secret of another key",
                    key.id
                )));
            }
        }
        if !self.keys.iter().any(|k| k.has_scope(SCOPE_WRITE)) {
            return Err(Error::InvalidSeed(format!(
                "no key has the {SCOPE_WRITE} scope"
            )));
        }
        let mut company_ids = HashSet::new();
        for company in &self.companies {
            if !company_ids.insert(company.id.as_str()) {
                return Err(Error::InvalidSeed(format!(
                    "duplicate company id {}",
                    company.id
                )));
            }
        }
        let mut contact_ids = HashSet::new();
        for seed in &mut self.contacts {
            let c = &mut seed.contact;
            if !contact_ids.insert(c.id.clone()) {
                return Err(Error::InvalidSeed(format!("duplicate contact id {}", c.id)));
            }
            let Some(org) = c.organization_id.as_deref() else {
                return Err(Error::InvalidSeed(format!(
                    "contact {} has no organizationId",
                    c.id
                )));
            };
            match c.company_id.as_deref() {
                Some(company_id) => {
                    let Some(company) = self
                        .companies
                        .iter()
                        .find(|co| co.id == company_id && co.organization_id == org)
                    else {
                        return Err(Error::InvalidSeed(format!(
                            "contact {} names company {company_id}, which is not a company of {org}",
                            c.id
                        )));
                    };
                    c.company = Some(company.to_company());
                    c.company_name = Some(company.name.clone());
                }
                None => {
                    c.company = None;
                    c.company_name = None;
                }
            }
            c.activities.get_or_insert_with(Vec::new);
            c.tags.get_or_insert_with(Vec::new);
        }
        Ok(self)
    }

    /// The key `Emulator::api_key` returns: the first key with `contacts:write`.
    pub(crate) fn primary_key(&self) -> Option<&ApiKey> {
        self.keys.iter().find(|k| k.has_scope(SCOPE_WRITE))
    }
}

impl SeedCompany {
    /// The company as the spec's `Company`.
    pub fn to_company(&self) -> Company {
        Company {
            id: Some(self.id.clone()),
            name: Some(self.name.clone()),
            domain: self.domain.clone(),
        }
    }
}

/// The prefix of the demo contacts' ids: `ct_demo_1`, `ct_demo_2`, ...
pub(crate) const DEMO_CONTACT_PREFIX: &str = "ct_demo_";

/// The most contacts [`Seed::demo`] builds.
pub const MAX_EAGER_DEMO_CONTACTS: usize = 10_000_000;

/// Demo contact `ct_demo_{n}` (`n` from 1), as a normalised seed has it: `company` and
/// `companyName` follow `companyId`.
pub(crate) fn demo_contact(n: usize) -> Result<SeedContact, Error> {
    let (name, email) = match DEMO_NAMES.get(n.wrapping_sub(1)) {
        Some((name, email)) => ((*name).to_owned(), (*email).to_owned()),
        None => (
            format!("Demo Contact {n}"),
            format!("contact{n}@example.com"),
        ),
    };
    let company = match n % 3 {
        1 => DEMO_COMPANIES.first(),
        2 => DEMO_COMPANIES.get(1),
        _ => None,
    };
    let tags = match n {
        1 => vec![vip_tag()],
        2 => vec![vip_tag(), lead_tag()],
        3 => vec![lead_tag()],
        _ => Vec::new(),
    };
    let contact_type = match n % 3 {
        1 => ContactType::Customer,
        2 => ContactType::Contact,
        _ => ContactType::Guest,
    };
    let mut contact = contact(
        &format!("{DEMO_CONTACT_PREFIX}{n}"),
        DEMO_ORG,
        &name,
        &email,
        company.map(|(id, ..)| *id),
        tags,
    )?;
    if let Some((id, org, name, domain)) = company {
        let company = self::company(id, org, name, domain);
        contact.company_name = Some(company.name.clone());
        contact.company = Some(company.to_company());
    }
    Ok(SeedContact {
        contact,
        contact_type: Some(contact_type),
    })
}

fn other_contact() -> Result<SeedContact, Error> {
    let (id, org, name, domain) = DEMO_COMPANIES[2];
    let mut contact = contact(
        "ct_other_1",
        OTHER_ORG,
        "Olivia Other",
        "olivia@other.example.com",
        Some(id),
        Vec::new(),
    )?;
    let company = self::company(id, org, name, domain);
    contact.company_name = Some(company.name.clone());
    contact.company = Some(company.to_company());
    Ok(SeedContact {
        contact,
        contact_type: Some(ContactType::Contact),
    })
}

/// The demo companies: id, organisation, name, domain.
const DEMO_COMPANIES: [(&str, &str, &str, &str); 3] = [
    (
        "co_demo_1",
        DEMO_ORG,
        "Analytical Engines Ltd",
        "engines.example.com",
    ),
    (
        "co_demo_2",
        DEMO_ORG,
        "Difference Works",
        "difference.example.com",
    ),
    (
        "co_other_1",
        OTHER_ORG,
        "Other Org Holdings",
        "other.example.com",
    ),
];

fn demo_companies() -> Vec<SeedCompany> {
    DEMO_COMPANIES
        .iter()
        .map(|(id, org, name, domain)| company(id, org, name, domain))
        .collect()
}

fn vip_tag() -> Tag {
    tag("tag_demo_vip", "vip", "VIP", "#f5a623", DEMO_ORG)
}

fn lead_tag() -> Tag {
    tag("tag_demo_lead", "lead", "Lead", "#4a90e2", DEMO_ORG)
}

pub(crate) fn demo_keys() -> Vec<ApiKey> {
    vec![
        ApiKey::new(
            "key_demo_full",
            "Demo key",
            DEMO_FULL_KEY,
            DEMO_ORG,
            &[SCOPE_READ, SCOPE_WRITE],
        ),
        ApiKey::new(
            "key_demo_read_only",
            "Demo read-only key",
            DEMO_READ_ONLY_KEY,
            DEMO_ORG,
            &[SCOPE_READ],
        ),
        ApiKey::new(
            "key_other_full",
            "Other organisation key",
            OTHER_ORG_KEY,
            OTHER_ORG,
            &[SCOPE_READ, SCOPE_WRITE],
        ),
    ]
}

fn company(id: &str, org: &str, name: &str, domain: &str) -> SeedCompany {
    SeedCompany {
        id: id.to_owned(),
        organization_id: org.to_owned(),
        name: name.to_owned(),
        domain: Some(domain.to_owned()),
    }
}

fn tag(id: &str, name: &str, display: &str, color: &str, org: &str) -> Tag {
    Tag {
        id: Some(id.to_owned()),
        name: Some(name.to_owned()),
        display_name: Some(display.to_owned()),
        color: Some(color.to_owned()),
        organization_id: Some(org.to_owned()),
        created_at: Some(SEED_TIME.to_owned()),
        updated_at: Some(SEED_TIME.to_owned()),
    }
}

/// A demo contact, built with the generated builder: a property added to the spec's
/// `Contact` starts out unset here, with no edit.
fn contact(
    id: &str,
    org: &str,
    name: &str,
    email: &str,
    company_id: Option<&str>,
    tags: Vec<Tag>,
) -> Result<Contact, Error> {
    Contact::builder()
        .id(id.to_owned())
        .organization_id(Some(org.to_owned()))
        .name(Some(name.to_owned()))
        .email(Some(email.to_owned()))
        .country(Some("GB".to_owned()))
        .language(Some("en".to_owned()))
        .source(Some("demo".to_owned()))
        .company_id(company_id.map(str::to_owned))
        .do_not_contact(Some(false))
        .is_anonymous(Some(false))
        .is_potential_client(Some(false))
        .whatsapp_opted_out(Some(false))
        .tags(Some(tags))
        .activities(Some(Vec::new()))
        .created_at(Some(SEED_TIME.to_owned()))
        .updated_at(Some(SEED_TIME.to_owned()))
        .try_into()
        .map_err(|e: nateq_api::types::error::ConversionError| {
            Error::InvalidSeed(format!("demo contact {id}: {e}"))
        })
}
