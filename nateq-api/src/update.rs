//! The data of an update, checked before any I/O: [`ContactId`] and [`ContactUpdate`].

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Problem, ValidationError};
use crate::types::{self, ContactType};

/// A contact id, checked so that the request always reaches `/contacts/<exactly this id>`.
///
/// `""`, `.`, `..`, ids with control characters and ids with `\` are refused (URL
/// normalisation would turn them into other endpoints); the characters that are not allowed in
/// a path segment as they are (`/`, `?`, `#`, `%`, space, non-ASCII, ...) are percent-encoded.
///
/// ```
/// use nateq_api::ContactId;
///
/// assert_eq!(ContactId::new("a/b?c")?.path_segment(), "a%2Fb%3Fc");
/// assert!(ContactId::new("..").is_err());
/// # Ok::<(), nateq_api::ValidationError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ContactId(String);

/// Refuses ids that cannot be one path segment: empty, `.`, `..`, control characters, and
/// `\` (which URL parsing turns into `/`).
pub(crate) fn check_id(id: &str) -> Result<(), ValidationError> {
    let problem = if id.is_empty() {
        Some(Problem::Empty)
    } else if id == "." || id == ".." {
        Some(Problem::DotSegment)
    } else {
        id.chars().enumerate().find_map(|(index, c)| {
            if c.is_control() {
                Some(Problem::ControlCharacter { index })
            } else if c == '\\' {
                Some(Problem::Backslash { index })
            } else {
                None
            }
        })
    };
    match problem {
        Some(problem) => Err(ValidationError {
            field: "id",
            problem,
        }),
        None => Ok(()),
    }
}

impl ContactId {
    /// Checks an id.
    pub fn new(id: &str) -> Result<ContactId, ValidationError> {
        check_id(id).map(|()| ContactId(id.to_string()))
    }

    /// The id as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id percent-encoded as one URL path segment, exactly as the request sends it.
    pub fn path_segment(&self) -> String {
        progenitor_client::encode_path(&self.0)
    }
}

impl fmt::Display for ContactId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The fields to change on a contact; unset fields are left as they are.
///
/// Setters take `&str`/`String`, `bool` or [`ContactType`]. Nothing is checked until the
/// update is sent (or [`to_request`](Self::to_request) is called): then every length limit
/// and the `type` value are checked before any network I/O, and the first field at fault is
/// named in a [`ValidationError`].
///
/// It (de)serializes with the API's field names, and refuses unknown fields, so JSON rows
/// map onto it directly:
///
/// ```
/// use nateq_api::{ContactUpdate, types::ContactType};
///
/// let update = ContactUpdate::new()
///     .name("Ada Lovelace")
///     .email("ada@example.com")
///     .do_not_contact(true)
///     .contact_type(ContactType::Customer);
/// let json = serde_json::to_string(&update)?;
/// assert_eq!(json, r#"{"doNotContact":true,"email":"ada@example.com","name":"Ada Lovelace","type":"customer"}"#);
/// assert_eq!(serde_json::from_str::<ContactUpdate>(&json)?, update);
/// assert!(serde_json::from_str::<ContactUpdate>(r#"{"nmae":"typo"}"#).is_err());
///
/// let too_long = ContactUpdate::new().language("x".repeat(11));
/// assert_eq!(
///     too_long.to_request().unwrap_err().to_string(),
///     "invalid language: 11 characters is longer than the limit of 10"
/// );
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[non_exhaustive]
pub struct ContactUpdate {
    /// URL of the contact's avatar image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar: Option<String>,
    /// Channel-specific data (a plain string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_data: Option<String>,
    /// ID of a company of the same organisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_id: Option<String>,
    /// Country (at most 100 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Opt-out of all outreach.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub do_not_contact: Option<bool>,
    /// Email (at most 255 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Your own id for the contact (at most 255 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Whether the contact is anonymous.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_anonymous: Option<bool>,
    /// Whether the contact is a potential client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_potential_client: Option<bool>,
    /// Preferred language (at most 10 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Full name (at most 255 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Phone number (at most 50 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Job title (at most 255 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<String>,
    /// Where the contact came from (at most 100 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// `contact`, `guest` or `customer`, checked when sent.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub contact_type: Option<String>,
}

macro_rules! setters {
    ($($(#[$doc:meta])* $field:ident: $ty:ty;)*) => {
        $(
            $(#[$doc])*
            pub fn $field(mut self, value: impl Into<$ty>) -> Self {
                self.$field = Some(value.into());
                self
            }
        )*
    };
}

impl ContactUpdate {
    /// An update that changes nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    setters! {
        /// Sets `avatar`.
        avatar: String;
        /// Sets `channelData`.
        channel_data: String;
        /// Sets `companyId`.
        company_id: String;
        /// Sets `country` (at most 100 characters).
        country: String;
        /// Sets `doNotContact`.
        do_not_contact: bool;
        /// Sets `email` (at most 255 characters).
        email: String;
        /// Sets `externalId` (at most 255 characters).
        external_id: String;
        /// Sets `isAnonymous`.
        is_anonymous: bool;
        /// Sets `isPotentialClient`.
        is_potential_client: bool;
        /// Sets `language` (at most 10 characters).
        language: String;
        /// Sets `name` (at most 255 characters).
        name: String;
        /// Sets `phone` (at most 50 characters).
        phone: String;
        /// Sets `position` (at most 255 characters).
        position: String;
        /// Sets `source` (at most 100 characters).
        source: String;
    }

    /// Sets `type`.
    pub fn contact_type(mut self, value: ContactType) -> Self {
        self.contact_type = Some(value.to_string());
        self
    }

    /// Sets `type` from text (`contact`, `guest` or `customer`); other values are refused
    /// when the update is validated.
    pub fn contact_type_str(mut self, value: impl Into<String>) -> Self {
        self.contact_type = Some(value.into());
        self
    }

    /// Whether no field is set (sending it changes nothing).
    pub fn is_empty(&self) -> bool {
        *self == ContactUpdate::default()
    }

    /// Validates every field and converts to the generated request type. The checks are the
    /// generated types' own (from `openapi.yaml`), so they cannot drift from the spec.
    pub fn to_request(&self) -> Result<types::UpdateContactRequest, ValidationError> {
        self.clone().into_request()
    }

    /// Like [`to_request`](Self::to_request), consuming the update (no copies of its strings).
    pub fn into_request(self) -> Result<types::UpdateContactRequest, ValidationError> {
        Ok(types::UpdateContactRequest {
            avatar: self.avatar,
            channel_data: self.channel_data,
            company_id: self.company_id,
            country: limited(self.country, "country")?,
            do_not_contact: self.do_not_contact,
            email: limited(self.email, "email")?,
            external_id: limited(self.external_id, "externalId")?,
            is_anonymous: self.is_anonymous,
            is_potential_client: self.is_potential_client,
            language: limited(self.language, "language")?,
            name: limited(self.name, "name")?,
            phone: limited(self.phone, "phone")?,
            position: limited(self.position, "position")?,
            source: limited(self.source, "source")?,
            type_: match self.contact_type {
                None => None,
                Some(value) => Some(value.parse::<ContactType>().map_err(|_| ValidationError {
                    field: "type",
                    problem: Problem::NotAllowed {
                        value,
                        allowed: &["contact", "guest", "customer"],
                    },
                })?),
            },
        })
    }
}

/// Converts an optional string into a generated length-limited type, naming the field, the
/// limit and the given length on failure.
/// (The generated types copy the text whether given a `&str` or a `String`.)
fn limited<T>(value: Option<String>, field: &'static str) -> Result<Option<T>, ValidationError>
where
    T: for<'s> TryFrom<&'s str, Error = types::error::ConversionError>,
{
    let Some(value) = value else {
        return Ok(None);
    };
    T::try_from(value.as_str()).map(Some).map_err(|e| {
        let reason = e.to_string();
        let problem = match parse_limit(&reason) {
            Some(limit) => Problem::TooLong {
                limit,
                length: value.chars().count(),
            },
            None => Problem::Other(reason),
        };
        ValidationError { field, problem }
    })
}

/// Reads the limit out of the generated types' message `longer than N characters`.
fn parse_limit(reason: &str) -> Option<usize> {
    reason
        .strip_prefix("longer than ")?
        .strip_suffix(" characters")?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_count_chars_at_the_boundary() {
        // 'é' is 2 bytes in UTF-8, '𝄞' is 2 UTF-16 units and 4 bytes: each counts as 1.
        for ch in ['a', 'é', '𝄞'] {
            let at = ContactUpdate::new().phone(ch.to_string().repeat(50));
            assert!(at.to_request().is_ok(), "{ch} x50 refused");
            let over = ContactUpdate::new().phone(ch.to_string().repeat(51));
            let err = over.to_request().unwrap_err();
            assert_eq!(err.field, "phone");
            assert_eq!(
                err.problem,
                Problem::TooLong {
                    limit: 50,
                    length: 51
                }
            );
        }
    }

    #[test]
    fn every_limited_field_reports_its_own_limit() {
        type Setter = fn(ContactUpdate, String) -> ContactUpdate;
        let cases: [(Setter, &str, usize); 8] = [
            (|u, v| u.country(v), "country", 100),
            (|u, v| u.email(v), "email", 255),
            (|u, v| u.external_id(v), "externalId", 255),
            (|u, v| u.language(v), "language", 10),
            (|u, v| u.name(v), "name", 255),
            (|u, v| u.phone(v), "phone", 50),
            (|u, v| u.position(v), "position", 255),
            (|u, v| u.source(v), "source", 100),
        ];
        for (set, field, limit) in cases {
            assert!(
                set(ContactUpdate::new(), "x".repeat(limit))
                    .to_request()
                    .is_ok()
            );
            let err = set(ContactUpdate::new(), "x".repeat(limit + 1))
                .to_request()
                .unwrap_err();
            assert_eq!(
                (err.field, err.problem),
                (
                    field,
                    Problem::TooLong {
                        limit,
                        length: limit + 1
                    }
                )
            );
        }
    }

    #[test]
    fn unknown_type_is_refused_and_known_types_pass() {
        let err = ContactUpdate::new()
            .contact_type_str("vip")
            .to_request()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid type: \"vip\" is not one of contact, guest, customer"
        );
        for t in ["contact", "guest", "customer"] {
            let req = ContactUpdate::new()
                .contact_type_str(t)
                .to_request()
                .unwrap();
            assert_eq!(req.type_.map(|t| t.to_string()).as_deref(), Some(t));
        }
    }

    #[test]
    fn ids_that_would_leave_the_path_segment_are_refused() {
        for (id, problem) in [
            ("", Problem::Empty),
            (".", Problem::DotSegment),
            ("..", Problem::DotSegment),
            ("a\nb", Problem::ControlCharacter { index: 1 }),
            ("\u{7f}", Problem::ControlCharacter { index: 0 }),
            ("a\\b", Problem::Backslash { index: 1 }),
        ] {
            assert_eq!(ContactId::new(id).unwrap_err().problem, problem, "{id:?}");
        }
        for (id, segment) in [
            ("ct_1", "ct_1"),
            ("a/b", "a%2Fb"),
            ("../x", "..%2Fx"),
            ("%2e%2e", "%252e%252e"),
            ("a?b#c", "a%3Fb%23c"),
            ("a b", "a%20b"),
            ("é", "%C3%A9"),
            ("...", "..."),
        ] {
            assert_eq!(ContactId::new(id).unwrap().path_segment(), segment);
        }
    }
}
