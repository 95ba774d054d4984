//! The data of an update, checked before any I/O: [`ContactId`] and [`ContactUpdate`].

use std::fmt;

use crate::error::{Problem, ValidationError};
use crate::types;

pub use crate::generated_fields::ContactUpdate;

/// A contact id, checked so that the request always reaches `/contacts/<exactly this id>`.
///
/// This is the spec's `ContactId` schema: the generated builder's `id(..)` takes anything that
/// converts into it (`&str`, `String`), and the rule below is the schema's `pattern`.
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

impl TryFrom<&str> for ContactId {
    type Error = ValidationError;

    fn try_from(id: &str) -> Result<ContactId, ValidationError> {
        ContactId::new(id)
    }
}

impl TryFrom<&String> for ContactId {
    type Error = ValidationError;

    fn try_from(id: &String) -> Result<ContactId, ValidationError> {
        ContactId::new(id)
    }
}

impl TryFrom<String> for ContactId {
    type Error = ValidationError;

    /// Checks the id and keeps the string as it is (no copy).
    fn try_from(id: String) -> Result<ContactId, ValidationError> {
        check_id(&id).map(|()| ContactId(id))
    }
}

impl std::str::FromStr for ContactId {
    type Err = ValidationError;

    fn from_str(id: &str) -> Result<ContactId, ValidationError> {
        ContactId::new(id)
    }
}

impl From<ContactId> for String {
    fn from(id: ContactId) -> String {
        id.0
    }
}

impl fmt::Display for ContactId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl ContactUpdate {
    /// An update that changes nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether no field is set (sending it changes nothing).
    pub fn is_empty(&self) -> bool {
        *self == ContactUpdate::default()
    }

    /// Validates every field and converts to the generated request type. The checks come from
    /// the field table generated from `openapi.yaml`, so they cannot drift from the spec.
    pub fn to_request(&self) -> Result<types::UpdateContactRequest, ValidationError> {
        self.clone().into_request()
    }
}

/// The generated builder takes a [`ContactUpdate`] as its body: the fields are checked as
/// for [`Contacts::update`](crate::Contacts::update), and a refused field (or id) is named in
/// the builder's error.
///
/// ```no_run
/// # async fn run(client: nateq_api::Client) -> Result<(), Box<dyn std::error::Error>> {
/// use nateq_api::ContactUpdate;
///
/// let response = client
///     .update_contact()
///     .id("ct_1")
///     .body(ContactUpdate::new().name("Ada Lovelace").do_not_contact(true))
///     .send()
///     .await?;
/// println!("{:?}", response.into_inner().data);
/// # Ok(()) }
/// ```
impl TryFrom<ContactUpdate> for types::UpdateContactRequest {
    type Error = ValidationError;

    fn try_from(update: ContactUpdate) -> Result<Self, ValidationError> {
        update.into_request()
    }
}

/// Like `TryFrom<ContactUpdate>`, without consuming the update.
impl TryFrom<&ContactUpdate> for types::UpdateContactRequest {
    type Error = ValidationError;

    fn try_from(update: &ContactUpdate) -> Result<Self, ValidationError> {
        update.to_request()
    }
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
        let limited: Vec<_> = crate::fields::UPDATE_CONTACT_FIELDS
            .iter()
            .filter_map(|f| f.max_length.map(|limit| (f.name, limit)))
            .collect();
        assert!(!limited.is_empty());
        for (field, limit) in limited {
            let with = |length: usize| -> ContactUpdate {
                serde_json::from_value(serde_json::json!({ field: "x".repeat(length) })).unwrap()
            };
            assert!(with(limit).to_request().is_ok(), "{field} at {limit}");
            let err = with(limit + 1).to_request().unwrap_err();
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
            .contact_type("vip")
            .to_request()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid type: \"vip\" is not one of contact, guest, customer"
        );
        for t in ["contact", "guest", "customer"] {
            let req = ContactUpdate::new().contact_type(t).to_request().unwrap();
            assert_eq!(req.type_.map(|t| t.to_string()).as_deref(), Some(t));
        }
    }

    #[test]
    fn an_id_gives_back_the_text_it_was_checked_from() {
        for text in ["ct_1", "a/b", "é"] {
            let id = ContactId::new(text).unwrap();
            assert_eq!(id.as_str(), text);
            assert_eq!(id.to_string(), text);
            assert_eq!(String::from(id), text);
        }
    }

    #[test]
    fn an_update_is_empty_until_a_field_is_set() {
        assert!(ContactUpdate::new().is_empty());
        assert!(!ContactUpdate::new().name("Ada").is_empty());
        // A field set to its type's default value is still set.
        assert!(!ContactUpdate::new().do_not_contact(false).is_empty());
    }

    /// The generated builder's body, from a borrowed update: checked like an owned one.
    #[test]
    fn a_borrowed_update_converts_with_the_same_checks() {
        let ok = ContactUpdate::new().name("Ada").do_not_contact(true);
        let request = types::UpdateContactRequest::try_from(&ok).unwrap();
        assert_eq!(
            request.name.clone().map(String::from),
            Some("Ada".to_owned())
        );
        assert_eq!(request.do_not_contact, Some(true));
        assert_eq!(request, types::UpdateContactRequest::try_from(ok).unwrap());
        let over = ContactUpdate::new().phone("1".repeat(51));
        let err = types::UpdateContactRequest::try_from(&over).unwrap_err();
        assert_eq!(err.field, "phone");
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
