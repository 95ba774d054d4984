//! The CLI cannot drift from the spec: every request-body property of openapi.yaml is a flag of
//! `nateq contacts update`, with the right kind of value, and there is no flag for a property the
//! spec does not have.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use clap::CommandFactory;
use nateq_cli::Cli;
use openapiv3::{OpenAPI, ReferenceOr, Schema, SchemaKind, Type};

fn spec() -> OpenAPI {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.yaml")).unwrap();
    serde_yaml::from_str(&text).unwrap()
}

fn schema<'a>(spec: &'a OpenAPI, name: &str) -> &'a Schema {
    match &spec.components.as_ref().unwrap().schemas[name] {
        ReferenceOr::Item(schema) => schema,
        ReferenceOr::Reference { reference } => panic!("{name} is a reference to {reference}"),
    }
}

/// The flag of the spec's property `name`: the generated table's, the one naming rule of the
/// project (the generator's kebab case, `channelData` -> `channel-data`).
fn flag(name: &str) -> &'static str {
    nateq_api::fields::field(name)
        .unwrap_or_else(|| panic!("the generated field table has no {name}"))
        .flag
}

/// The string values of an enum schema, or of the schema a reference names.
fn enum_values(spec: &OpenAPI, property: &ReferenceOr<Box<Schema>>) -> Option<Vec<String>> {
    let schema = match property {
        ReferenceOr::Item(schema) => schema.as_ref(),
        ReferenceOr::Reference { reference } => {
            schema(spec, reference.trim_start_matches("#/components/schemas/"))
        }
    };
    match &schema.schema_kind {
        SchemaKind::Type(Type::String(s)) if !s.enumeration.is_empty() => {
            Some(s.enumeration.iter().flatten().cloned().collect())
        }
        _ => None,
    }
}

fn is_boolean(property: &ReferenceOr<Box<Schema>>) -> bool {
    matches!(property, ReferenceOr::Item(s) if matches!(s.schema_kind, SchemaKind::Type(Type::Boolean(_))))
}

#[test]
fn every_request_body_property_is_a_flag_of_contacts_update() {
    let spec = spec();
    let SchemaKind::Type(Type::Object(body)) = &schema(&spec, "UpdateContactRequest").schema_kind
    else {
        panic!("UpdateContactRequest is not an object");
    };
    assert!(!body.properties.is_empty());

    let mut cli = Cli::command();
    cli.build();
    let update = cli
        .find_subcommand("contacts")
        .and_then(|c| c.find_subcommand("update"))
        .expect("nateq contacts update");

    let mut expected = BTreeSet::new();
    for (name, property) in &body.properties {
        let flag = flag(name);
        expected.insert(flag.to_string());
        let arg = update
            .get_arguments()
            .find(|a| a.get_long() == Some(flag))
            .unwrap_or_else(|| panic!("no --{flag} for the spec's {name}"));
        assert!(arg.get_action().takes_values(), "--{flag} takes no value");
        let possible: Vec<String> = arg
            .get_possible_values()
            .iter()
            .map(|v| v.get_name().to_string())
            .collect();
        if is_boolean(property) {
            assert_eq!(possible, ["true", "false"], "--{flag} must take true|false");
        } else if let Some(values) = enum_values(&spec, property) {
            assert_eq!(possible, values, "--{flag} must offer the spec's values");
        } else {
            assert!(possible.is_empty(), "--{flag} takes free text");
        }
        let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
        assert!(!help.is_empty(), "--{flag} has no help");
    }

    // No field flag without a property: every flag under the fields heading is in the spec.
    let ours: BTreeSet<String> = update
        .get_arguments()
        .filter(|a| {
            a.get_help_heading()
                .is_some_and(|h| h.starts_with("Fields"))
        })
        .filter_map(|a| a.get_long().map(str::to_string))
        .collect();
    assert_eq!(ours, expected);
}
