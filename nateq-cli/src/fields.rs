//! The request body's properties as the bulk input names them (the API's camelCase names),
//! read from the field table generated from `openapi.yaml`.

use nateq_api::fields::{Field, FieldKind, UPDATE_CONTACT_FIELDS};

/// How a property's value is written in a CSV cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Any text, sent as a JSON string.
    Text,
    /// `true` or `false` (any case), sent as a JSON boolean.
    Bool,
}

impl Kind {
    /// The kind of a property of the generated field table.
    pub fn of(field: &Field) -> Kind {
        if field.kind == FieldKind::Boolean {
            Kind::Bool
        } else {
            Kind::Text
        }
    }
}

/// The property named `name` (the API's name) with its kind, if the request body has it.
pub fn find(name: &str) -> Option<(&'static str, Kind)> {
    nateq_api::fields::field(name).map(|f| (f.name, Kind::of(f)))
}

/// The kind of a property, or `None` if the request body has no such property.
pub fn kind_of(name: &str) -> Option<Kind> {
    find(name).map(|(_, kind)| kind)
}

/// Every property's name, in the spec's order.
pub fn names() -> impl Iterator<Item = &'static str> {
    UPDATE_CONTACT_FIELDS.iter().map(|f| f.name)
}

/// A set of the request body's properties, as indices into the generated field table: the
/// fields a row sets. Small and `Copy`, so every row can carry it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct FieldSet(u64);

const _: () = assert!(
    UPDATE_CONTACT_FIELDS.len() <= 64,
    "FieldSet holds at most 64 fields: widen it"
);

impl FieldSet {
    /// No field.
    pub const EMPTY: FieldSet = FieldSet(0);

    /// Every field of the request body.
    pub fn all() -> FieldSet {
        FieldSet(u64::MAX >> (64 - UPDATE_CONTACT_FIELDS.len()))
    }

    /// The set of the given names; names that are not properties are left out.
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> FieldSet {
        let mut set = FieldSet::EMPTY;
        for name in names {
            if let Some(index) = UPDATE_CONTACT_FIELDS.iter().position(|f| f.name == name) {
                set.0 |= 1 << index;
            }
        }
        set
    }

    /// The set as bits (bit `i` is the table's field `i`).
    pub fn bits(self) -> u64 {
        self.0
    }

    /// The set of these bits; bits beyond the table are dropped.
    pub fn from_bits(bits: u64) -> FieldSet {
        FieldSet(bits & FieldSet::all().0)
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The fields of `self` that are not in `other`.
    pub fn minus(self, other: FieldSet) -> FieldSet {
        FieldSet(self.0 & !other.0)
    }

    /// The fields in either set.
    pub fn union(self, other: FieldSet) -> FieldSet {
        FieldSet(self.0 | other.0)
    }

    /// The fields in both sets.
    pub fn intersection(self, other: FieldSet) -> FieldSet {
        FieldSet(self.0 & other.0)
    }

    /// The names, in the table's order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        UPDATE_CONTACT_FIELDS
            .iter()
            .enumerate()
            .filter(move |(i, _)| self.0 & (1 << i) != 0)
            .map(|(_, f)| f.name)
    }
}

impl serde::Serialize for FieldSet {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.names())
    }
}

impl<'de> serde::Deserialize<'de> for FieldSet {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let names = Vec::<String>::deserialize(deserializer)?;
        Ok(FieldSet::from_names(names.iter().map(String::as_str)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_set_keeps_names_and_serialises_as_a_list() {
        let set = FieldSet::from_names(["name", "type", "nmae"]);
        assert_eq!(set.names().collect::<Vec<_>>(), ["name", "type"]);
        assert_eq!(serde_json::to_string(&set).unwrap(), r#"["name","type"]"#);
        let back: FieldSet = serde_json::from_str(r#"["type","name"]"#).unwrap();
        assert_eq!(back, set);
        assert_eq!(FieldSet::all().names().count(), UPDATE_CONTACT_FIELDS.len());
        let name = FieldSet::from_names(["name"]);
        assert_eq!(set.minus(name).names().collect::<Vec<_>>(), ["type"]);
        assert!(name.minus(set).is_empty());
        assert_eq!(set.intersection(name), name);
        assert_eq!(name.union(FieldSet::from_names(["type"])), set);
        assert_eq!(FieldSet::from_bits(u64::MAX), FieldSet::all());
    }

    #[test]
    fn every_field_is_accepted_by_the_sdk_type() {
        for field in UPDATE_CONTACT_FIELDS {
            let value = match field.kind {
                FieldKind::Enum => serde_json::json!(field.values[0]),
                FieldKind::Boolean => serde_json::json!(true),
                _ => serde_json::json!("x"),
            };
            let name = field.name;
            let row = serde_json::json!({ name: value });
            let parsed: Result<nateq_api::ContactUpdate, _> = serde_json::from_value(row);
            assert!(parsed.is_ok(), "{name}: {parsed:?}");
        }
    }
}
