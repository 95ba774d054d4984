//! The request's fields, as `openapi.yaml` describes them: [`UPDATE_CONTACT_FIELDS`] is
//! generated from `UpdateContactRequest` (with [`ContactUpdate`](crate::ContactUpdate)), and
//! everything that knows a field reads it: the SDK's validation, the CLI's flags, the
//! emulator's validation and update, the tests' limit tables.
//!
//! ```
//! use nateq_api::fields::{FieldKind, UPDATE_CONTACT_FIELDS};
//!
//! let name = nateq_api::fields::field("name").unwrap();
//! assert_eq!((name.kind, name.flag), (FieldKind::String, "name"));
//! assert!(name.check_text(&"x".repeat(name.max_length.unwrap() + 1)).is_err());
//! assert!(UPDATE_CONTACT_FIELDS.iter().any(|f| f.name == "doNotContact"));
//! ```

use crate::error::{Problem, ValidationError};

pub use crate::generated_fields::UPDATE_CONTACT_FIELDS;

/// One property of the request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Field {
    /// The API's name, e.g. `doNotContact`.
    pub name: &'static str,
    /// The name of [`ContactUpdate`](crate::ContactUpdate)'s field and setter, e.g. `do_not_contact`.
    pub rust_name: &'static str,
    /// The CLI flag without its dashes, e.g. `do-not-contact`.
    pub flag: &'static str,
    /// What the property holds.
    pub kind: FieldKind,
    /// The longest value, in Unicode scalar values, if limited.
    pub max_length: Option<usize>,
    /// The allowed values of an [`FieldKind::Enum`] property.
    pub values: &'static [&'static str],
    /// The spec's description, on one line.
    pub description: &'static str,
    /// Whether the property is absent from the spec's `Contact`: it can be sent, but no response
    /// shows it (for example `type`).
    pub request_only: bool,
}

/// What a property holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FieldKind {
    /// A string (see [`Field::max_length`]).
    String,
    /// A boolean.
    Boolean,
    /// One of [`Field::values`].
    Enum,
}

/// The request property named `name` (the API's name), if there is one.
pub fn field(name: &str) -> Option<&'static Field> {
    UPDATE_CONTACT_FIELDS.iter().find(|f| f.name == name)
}

impl Field {
    /// Checks a text value against the property's `maxLength` and enum values. Lengths count
    /// Unicode scalar values, as JSON Schema's `maxLength` does.
    pub fn check_text(&self, value: &str) -> Result<(), ValidationError> {
        let problem = if let Some(limit) = self.max_length
            && let length = value.chars().count()
            && length > limit
        {
            Some(Problem::TooLong { limit, length })
        } else if self.kind == FieldKind::Enum && !self.values.contains(&value) {
            Some(Problem::NotAllowed {
                value: value.to_string(),
                allowed: self.values,
            })
        } else {
            None
        };
        match problem {
            Some(problem) => Err(ValidationError {
                field: self.name,
                problem,
            }),
            None => Ok(()),
        }
    }
}

/// A value [`ContactUpdate`](crate::ContactUpdate) holds for a field.
pub(crate) trait FieldValue {
    fn check(&self, field: &'static Field) -> Result<(), ValidationError>;
}

impl FieldValue for String {
    fn check(&self, field: &'static Field) -> Result<(), ValidationError> {
        field.check_text(self)
    }
}

impl FieldValue for bool {
    fn check(&self, _field: &'static Field) -> Result<(), ValidationError> {
        Ok(())
    }
}

/// Checks a value against the table, then converts it into the generated request's type
/// (which checks it again; a refusal there is reported as it is, not parsed).
pub(crate) fn convert<S, T>(
    value: Option<S>,
    field: &'static Field,
) -> Result<Option<T>, ValidationError>
where
    S: FieldValue,
    T: TryFrom<S>,
    T::Error: std::fmt::Display,
{
    let Some(value) = value else {
        return Ok(None);
    };
    value.check(field)?;
    T::try_from(value).map(Some).map_err(|e| ValidationError {
        field: field.name,
        problem: Problem::Other(e.to_string()),
    })
}
