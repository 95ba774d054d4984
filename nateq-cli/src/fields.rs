//! The request body's properties as the bulk input names them (the API's camelCase names).

/// How a property's value is written in a CSV cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Any text, sent as a JSON string.
    Text,
    /// `true` or `false` (any case), sent as a JSON boolean.
    Bool,
}

/// Every property of `UpdateContactRequest` in openapi.yaml, with its kind. A test checks this
/// list against the spec.
pub const FIELDS: &[(&str, Kind)] = &[
    ("avatar", Kind::Text),
    ("channelData", Kind::Text),
    ("companyId", Kind::Text),
    ("country", Kind::Text),
    ("doNotContact", Kind::Bool),
    ("email", Kind::Text),
    ("externalId", Kind::Text),
    ("isAnonymous", Kind::Bool),
    ("isPotentialClient", Kind::Bool),
    ("language", Kind::Text),
    ("name", Kind::Text),
    ("phone", Kind::Text),
    ("position", Kind::Text),
    ("source", Kind::Text),
    ("type", Kind::Text),
];

/// The kind of a property, or `None` if the request body has no such property.
pub fn kind_of(name: &str) -> Option<Kind> {
    FIELDS.iter().find(|(n, _)| *n == name).map(|(_, k)| *k)
}

/// A set of the request body's properties, as indices into [`FIELDS`]: the fields a row sets.
/// Small and `Copy`, so every row can carry it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct FieldSet(u32);

const _: () = assert!(FIELDS.len() <= 32, "FieldSet holds at most 32 fields");

impl FieldSet {
    /// No field.
    pub const EMPTY: FieldSet = FieldSet(0);

    /// Every field of the request body.
    pub fn all() -> FieldSet {
        FieldSet(((1u64 << FIELDS.len()) - 1) as u32)
    }

    /// The set of the given names; names that are not properties are left out.
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> FieldSet {
        let mut set = FieldSet::EMPTY;
        for name in names {
            if let Some(index) = FIELDS.iter().position(|(n, _)| *n == name) {
                set.0 |= 1 << index;
            }
        }
        set
    }

    /// The set as bits (bit `i` is `FIELDS[i]`).
    pub fn bits(self) -> u32 {
        self.0
    }

    /// The set of these bits; bits beyond [`FIELDS`] are dropped.
    pub fn from_bits(bits: u32) -> FieldSet {
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

    /// The fields in both sets.
    pub fn intersection(self, other: FieldSet) -> FieldSet {
        FieldSet(self.0 & other.0)
    }

    /// The names, in the order of [`FIELDS`].
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        FIELDS
            .iter()
            .enumerate()
            .filter(move |(i, _)| self.0 & (1 << i) != 0)
            .map(|(_, (name, _))| *name)
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

    /// The spec's `UpdateContactRequest` properties: name and whether the value is a boolean.
    fn spec_properties() -> Vec<(String, bool)> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.yaml");
        let text = std::fs::read_to_string(path).unwrap();
        let spec: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        let props = &spec["components"]["schemas"]["UpdateContactRequest"]["properties"];
        let props = props.as_mapping().unwrap();
        props
            .iter()
            .map(|(name, schema)| {
                (
                    name.as_str().unwrap().to_string(),
                    schema["type"].as_str() == Some("boolean"),
                )
            })
            .collect()
    }

    #[test]
    fn the_field_table_matches_the_spec() {
        let spec = spec_properties();
        let mut ours: Vec<(String, bool)> = FIELDS
            .iter()
            .map(|(n, k)| (n.to_string(), *k == Kind::Bool))
            .collect();
        let mut spec_sorted = spec.clone();
        spec_sorted.sort();
        ours.sort();
        assert_eq!(ours, spec_sorted);
    }

    #[test]
    fn a_field_set_keeps_names_and_serialises_as_a_list() {
        let set = FieldSet::from_names(["name", "type", "nmae"]);
        assert_eq!(set.names().collect::<Vec<_>>(), ["name", "type"]);
        assert_eq!(serde_json::to_string(&set).unwrap(), r#"["name","type"]"#);
        let back: FieldSet = serde_json::from_str(r#"["type","name"]"#).unwrap();
        assert_eq!(back, set);
        assert_eq!(FieldSet::all().names().count(), FIELDS.len());
        let name = FieldSet::from_names(["name"]);
        assert_eq!(set.minus(name).names().collect::<Vec<_>>(), ["type"]);
        assert!(name.minus(set).is_empty());
        assert_eq!(set.intersection(name), name);
        assert_eq!(FieldSet::from_bits(u32::MAX), FieldSet::all());
    }

    #[test]
    fn every_field_is_accepted_by_the_sdk_type() {
        for (name, kind) in FIELDS {
            let value = match kind {
                Kind::Text if *name == "type" => serde_json::json!("guest"),
                Kind::Text => serde_json::json!("x"),
                Kind::Bool => serde_json::json!(true),
            };
            let row = serde_json::json!({ *name: value });
            let parsed: Result<nateq_api::ContactUpdate, _> = serde_json::from_value(row);
            assert!(parsed.is_ok(), "{name}: {parsed:?}");
        }
    }
}
