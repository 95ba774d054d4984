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
