//! `openapi.yaml` against the API's reference page (`tests/fixtures/api-page.txt`), read
//! through `openapiv3`: every request field with its limit and the `type` enum, every response
//! field with its JSON type, the envelope, `meta`, the errors and the security scheme. The
//! facts are read off the page itself, so the test cannot agree with a wrong spec by accident.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};

use openapiv3::{OpenAPI, ReferenceOr, Schema, SchemaKind, Type};
use serde_json::Value;

const PAGE: &str = include_str!("../fixtures/api-page.txt");
const SPEC: &str = include_str!("../../openapi.yaml");

fn spec() -> OpenAPI {
    serde_yaml::from_str(SPEC).expect("openapi.yaml parses as OpenAPI 3.0")
}

/// The JSON text of the response example: from the first line that is `{` after the curl
/// command to the line before "Authorizations".
fn page_response_example() -> Value {
    let after_curl = PAGE
        .split("}\n'\n{")
        .nth(1)
        .expect("response example on the page");
    let json = format!("{{{}", after_curl.split("\nAuthorizations").next().unwrap());
    serde_json::from_str(&json).expect("the page's response example is JSON")
}

/// The request example inside the curl command's `--data '...'`.
fn page_request_example() -> Value {
    let data = PAGE
        .split("--data '")
        .nth(1)
        .unwrap()
        .split("'\n")
        .next()
        .unwrap();
    serde_json::from_str(data).expect("the page's request example is JSON")
}

/// A request field as the page's "Body" section lists it.
#[derive(Debug, PartialEq)]
struct PageField {
    ty: String,
    max_length: Option<usize>,
    options: Vec<String>,
}

fn page_body_fields() -> BTreeMap<String, PageField> {
    let body = PAGE
        .split("Fields to update\n")
        .nth(1)
        .unwrap()
        .split("\nResponse\n")
        .next()
        .unwrap();
    let lines: Vec<&str> = body
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let mut fields = BTreeMap::new();
    let mut i = 0;
    while i + 1 < lines.len() {
        let (name, ty) = (lines[i], lines[i + 1]);
        assert!(
            ["string", "boolean", "enum<string>"].contains(&ty),
            "unexpected page line {ty:?} after {name:?}"
        );
        i += 2;
        let mut field = PageField {
            ty: ty.to_string(),
            max_length: None,
            options: Vec::new(),
        };
        if let Some(n) = lines
            .get(i)
            .and_then(|l| l.strip_prefix("Maximum string length: "))
        {
            field.max_length = Some(n.parse().unwrap());
            i += 1;
        }
        if lines.get(i) == Some(&"Available options:") {
            i += 1;
            while let Some(option) = lines.get(i).filter(|_| {
                !lines
                    .get(i + 1)
                    .is_some_and(|next| ["string", "boolean", "enum<string>"].contains(next))
            }) {
                field.options.push(option.trim_end_matches(',').to_string());
                i += 1;
            }
        }
        fields.insert(name.to_string(), field);
    }
    fields
}

fn schema<'a>(spec: &'a OpenAPI, name: &str) -> &'a Schema {
    spec.components.as_ref().unwrap().schemas[name]
        .as_item()
        .unwrap_or_else(|| panic!("schema {name} is inline"))
}

/// Follows `$ref` and single-element `allOf` to a schema; returns it and whether it is nullable.
fn resolve<'a>(spec: &'a OpenAPI, s: &'a ReferenceOr<Schema>) -> (&'a Schema, bool) {
    match s {
        ReferenceOr::Reference { reference } => {
            (schema(spec, reference.rsplit('/').next().unwrap()), false)
        }
        ReferenceOr::Item(item) => match &item.schema_kind {
            SchemaKind::AllOf { all_of } if all_of.len() == 1 => {
                (resolve(spec, &all_of[0]).0, item.schema_data.nullable)
            }
            _ => (item, item.schema_data.nullable),
        },
    }
}

fn boxed(s: &ReferenceOr<Box<Schema>>) -> ReferenceOr<Schema> {
    s.clone().unbox()
}

/// Checks that `schema` has exactly the properties of `example`, each of the same JSON type,
/// recursing into objects and array items.
fn assert_matches_example(spec: &OpenAPI, path: &str, schema: &Schema, example: &Value) {
    let SchemaKind::Type(Type::Object(obj)) = &schema.schema_kind else {
        panic!("{path} is not an object in the spec");
    };
    let Value::Object(fields) = example else {
        panic!("{path} is not an object on the page");
    };
    let spec_names: BTreeSet<&str> = obj.properties.keys().map(String::as_str).collect();
    let page_names: BTreeSet<&str> = fields.keys().map(String::as_str).collect();
    // Every property of the page is in the spec; a property the page does not show yet may be
    // added to the spec (the API grows), but only as an optional one.
    let missing: Vec<_> = page_names.difference(&spec_names).collect();
    assert!(missing.is_empty(), "{path}: the spec lacks {missing:?}");
    for extra in spec_names.difference(&page_names) {
        assert!(
            !obj.required.iter().any(|r| r == extra),
            "{path}.{extra} is not on the page, so it must be optional"
        );
    }
    for (name, value) in fields {
        let here = format!("{path}.{name}");
        let prop = boxed(&obj.properties[name]);
        let (prop_schema, _) = resolve(spec, &prop);
        match value {
            Value::String(s) if s == "<unknown>" => assert!(
                matches!(prop_schema.schema_kind, SchemaKind::Any(_)),
                "{here} is `unknown` on the page: any JSON in the spec"
            ),
            Value::String(_) => assert!(
                matches!(prop_schema.schema_kind, SchemaKind::Type(Type::String(_))),
                "{here} is a string on the page"
            ),
            Value::Bool(_) => assert!(
                matches!(prop_schema.schema_kind, SchemaKind::Type(Type::Boolean(_))),
                "{here} is a boolean on the page"
            ),
            Value::Number(_) => assert!(
                matches!(prop_schema.schema_kind, SchemaKind::Type(Type::Integer(_))),
                "{here} is an integer on the page"
            ),
            Value::Object(_) => assert_matches_example(spec, &here, prop_schema, value),
            Value::Array(items) => {
                let SchemaKind::Type(Type::Array(array)) = &prop_schema.schema_kind else {
                    panic!("{here} is an array on the page");
                };
                let item = boxed(array.items.as_ref().unwrap());
                assert_matches_example(
                    spec,
                    &format!("{here}[]"),
                    resolve(spec, &item).0,
                    &items[0],
                );
            }
            Value::Null => panic!("{here} is null on the page"),
        }
    }
}

#[test]
fn request_body_has_every_page_field_with_its_limit_and_enum() {
    let spec = spec();
    let page = page_body_fields();
    assert_eq!(page.len(), 15, "the page lists 15 body fields: {page:?}");
    let SchemaKind::Type(Type::Object(req)) = &schema(&spec, "UpdateContactRequest").schema_kind
    else {
        panic!("UpdateContactRequest is not an object");
    };
    assert!(
        req.required.is_empty(),
        "the page marks no body field required"
    );
    let spec_names: BTreeSet<&String> = req.properties.keys().collect();
    let page_names: BTreeSet<&String> = page.keys().collect();
    // Every body field of the page is in the spec (a newer optional one may be added: none is
    // required, as checked above).
    let missing: Vec<_> = page_names.difference(&spec_names).collect();
    assert!(missing.is_empty(), "the spec lacks {missing:?}");

    for (name, field) in &page {
        let prop = boxed(&req.properties[name]);
        let (s, _) = resolve(&spec, &prop);
        let actual = match &s.schema_kind {
            SchemaKind::Type(Type::String(st)) if !st.enumeration.is_empty() => PageField {
                ty: "enum<string>".into(),
                max_length: st.max_length,
                options: st.enumeration.iter().flatten().cloned().collect(),
            },
            SchemaKind::Type(Type::String(st)) => PageField {
                ty: "string".into(),
                max_length: st.max_length,
                options: Vec::new(),
            },
            SchemaKind::Type(Type::Boolean(_)) => PageField {
                ty: "boolean".into(),
                max_length: None,
                options: Vec::new(),
            },
            other => panic!("{name}: unexpected schema {other:?}"),
        };
        assert_eq!(&actual, field, "request field {name}");
        assert!(
            s.schema_data.description.is_some()
                || prop
                    .as_item()
                    .is_some_and(|p| p.schema_data.description.is_some()),
            "{name} has no description"
        );
    }
    // The request example on the page uses only documented fields.
    for key in page_request_example().as_object().unwrap().keys() {
        assert!(req.properties.contains_key(key), "page example field {key}");
    }
}

#[test]
fn response_envelope_matches_the_page_field_by_field() {
    let spec = spec();
    let example = page_response_example();
    assert_matches_example(
        &spec,
        "UpdateContactResponse",
        schema(&spec, "UpdateContactResponse"),
        &example,
    );
    // The counts the page shows, spelled out for the reader.
    let data = &example["data"];
    assert_eq!(data["activities"][0].as_object().unwrap().len(), 11);
    assert_eq!(data["tags"][0].as_object().unwrap().len(), 7);
    assert_eq!(data["company"].as_object().unwrap().len(), 3);
    assert_eq!(example["meta"].as_object().unwrap().len(), 11);
}

#[test]
fn every_error_status_shares_the_error_envelope_and_429_has_retry_after() {
    let spec = spec();
    let ReferenceOr::Item(item) = &spec.paths.paths["/contacts/{id}"] else {
        panic!("path is a reference");
    };
    let op = item.put.as_ref().expect("PUT /contacts/{id}");
    assert_eq!(op.operation_id.as_deref(), Some("updateContact"));
    assert_eq!(op.tags, vec!["contacts".to_string()]);
    assert!(op.summary.is_some() && op.description.is_some());
    let param = op.parameters[0].as_item().unwrap().parameter_data_ref();
    assert_eq!((param.name.as_str(), param.required), ("id", true));
    assert_eq!(param.description.as_deref(), Some("Contact ID"));
    assert_eq!(spec.servers[0].url, "https://api.nateq.io/api/v1");

    let components = spec.components.as_ref().unwrap();
    for status in [400, 401, 403, 404, 413, 422, 429, 500, 503] {
        let response = &op.responses.responses[&openapiv3::StatusCode::Code(status)];
        let name = match response {
            ReferenceOr::Reference { reference } => reference.rsplit('/').next().unwrap(),
            ReferenceOr::Item(_) => panic!("{status} is inline"),
        };
        let response = components.responses[name].as_item().unwrap();
        let schema = response.content["application/json"]
            .schema
            .as_ref()
            .unwrap();
        assert_eq!(
            schema,
            &ReferenceOr::ref_("#/components/schemas/ErrorResponse"),
            "{status} uses the shared envelope"
        );
        assert_eq!(
            response.headers.contains_key("Retry-After"),
            status == 429,
            "{status}"
        );
    }
    let ok = op.responses.responses[&openapiv3::StatusCode::Code(200)]
        .as_item()
        .unwrap();
    assert!(ok.content["application/json"].example.is_some());

    // The error envelope has the page's envelope fields.
    let SchemaKind::Type(Type::Object(err)) = &schema(&spec, "ErrorResponse").schema_kind else {
        panic!()
    };
    let names: Vec<&String> = err.properties.keys().collect();
    assert_eq!(names, ["data", "error", "message", "meta", "success"]);
}

#[test]
fn bearer_auth_is_declared_with_both_key_prefixes() {
    let spec = spec();
    let scheme = spec.components.as_ref().unwrap().security_schemes["bearerAuth"]
        .as_item()
        .unwrap();
    let openapiv3::SecurityScheme::HTTP {
        scheme,
        description,
        ..
    } = scheme
    else {
        panic!("bearerAuth is not an HTTP scheme");
    };
    assert_eq!(scheme, "bearer");
    let description = description.as_deref().unwrap_or_default();
    assert!(description.contains("tg_live_") && description.contains("tg_test_"));
    assert!(PAGE.contains("Authorization: Bearer tg_live_"));
}

#[test]
fn every_schema_and_property_has_a_description() {
    let spec = spec();
    for (name, s) in &spec.components.as_ref().unwrap().schemas {
        let s = s.as_item().unwrap();
        assert!(s.schema_data.description.is_some(), "schema {name}");
        if let SchemaKind::Type(Type::Object(obj)) = &s.schema_kind {
            for (prop, p) in &obj.properties {
                let described = match p {
                    ReferenceOr::Item(p) => p.schema_data.description.is_some(),
                    // A bare $ref takes the referenced schema's description.
                    ReferenceOr::Reference { .. } => true,
                };
                assert!(described, "{name}.{prop}");
            }
        }
    }
}

#[test]
fn spec_examples_deserialize_into_the_generated_types_and_round_trip() {
    let spec = spec();
    let ReferenceOr::Item(item) = &spec.paths.paths["/contacts/{id}"] else {
        panic!()
    };
    let op = item.put.as_ref().unwrap();
    let request_example =
        op.request_body.as_ref().unwrap().as_item().unwrap().content["application/json"]
            .example
            .clone()
            .unwrap();
    let request: nateq_api::types::UpdateContactRequest =
        serde_json::from_value(request_example.clone()).unwrap();
    assert_eq!(serde_json::to_value(&request).unwrap(), request_example);

    let response_example = op.responses.responses[&openapiv3::StatusCode::Code(200)]
        .as_item()
        .unwrap()
        .content["application/json"]
        .example
        .clone()
        .unwrap();
    let response: nateq_api::types::UpdateContactResponse =
        serde_json::from_value(response_example.clone()).unwrap();
    let again: nateq_api::types::UpdateContactResponse =
        serde_json::from_value(serde_json::to_value(&response).unwrap()).unwrap();
    assert_eq!(again, response);
    let contact = response.data.unwrap();
    assert_eq!(contact.id, "ct_demo_1");
    assert_eq!(contact.activities.unwrap().len(), 1);

    // The page's own example (placeholders and all) decodes too.
    let page: nateq_api::types::UpdateContactResponse =
        serde_json::from_value(page_response_example()).unwrap();
    assert_eq!(page.meta.unwrap().total_pages, Some(123));
}
