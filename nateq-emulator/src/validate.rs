//! Request body validation: every problem of a body is found and reported at once.
//!
//! The body is first parsed as a `serde_json::Value` and checked against the request schema
//! (types, `maxLength` in Unicode scalar values, enum values, unknown properties), collecting one
//! entry per offending field. Only a body without problems is deserialised into the generated
//! `UpdateContactRequest`, so the generated type stays the final word on what is accepted.

use nateq_api::types::UpdateContactRequest;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::response::Failure;

/// What a request property must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A string, with an optional `maxLength` in Unicode scalar values.
    Str(Option<usize>),
    /// A boolean.
    Bool,
    /// One of a fixed set of strings.
    Enum(&'static [&'static str]),
}

/// The properties of `UpdateContactRequest` in `openapi.yaml`; a test keeps the two equal.
pub(crate) const FIELDS: &[(&str, Kind)] = &[
    ("avatar", Kind::Str(None)),
    ("channelData", Kind::Str(None)),
    ("companyId", Kind::Str(None)),
    ("country", Kind::Str(Some(100))),
    ("doNotContact", Kind::Bool),
    ("email", Kind::Str(Some(255))),
    ("externalId", Kind::Str(Some(255))),
    ("isAnonymous", Kind::Bool),
    ("isPotentialClient", Kind::Bool),
    ("language", Kind::Str(Some(10))),
    ("name", Kind::Str(Some(255))),
    ("phone", Kind::Str(Some(50))),
    ("position", Kind::Str(Some(255))),
    ("source", Kind::Str(Some(100))),
    ("type", Kind::Enum(CONTACT_TYPES)),
];

/// The values of `ContactType`.
pub(crate) const CONTACT_TYPES: &[&str] = &["contact", "guest", "customer"];

/// One offending field, as listed in `error.details.fields`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FieldProblem {
    /// The property name as sent.
    pub field: String,
    /// What is wrong, in lowercase words.
    pub reason: String,
    /// The `maxLength` that was exceeded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
    /// The length that was sent, in Unicode scalar values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub length: Option<usize>,
    /// The accepted values of an enum.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed: Option<&'static [&'static str]>,
}

/// Parses and validates a request body; on failure the 400 lists every offending field.
pub(crate) fn parse_update(body: &[u8]) -> Result<UpdateContactRequest, Failure> {
    if body.is_empty() {
        return Err(Failure::bad_body(
            "the request body is empty; send a json object",
        ));
    }
    // Fast path: an object without the bytes `null` anywhere deserialises straight into the
    // generated type when it is valid (its newtypes check maxLength in Unicode scalar values,
    // `deny_unknown_fields` rejects unknown properties, a test keeps both in step with the
    // table above). `null` must not take this path: the generated type reads it as an absent
    // property, while the schema rejects it. Anything else takes the slow path below, which
    // names every problem.
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'{')
        && !body.windows(4).any(|w| w == b"null")
        && let Ok(request) = serde_json::from_slice::<UpdateContactRequest>(body)
    {
        return Ok(request);
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        Failure::validation(
            format!("the request body is not valid json: {e}"),
            serde_json::json!({
                "body": "invalid json",
                "line": e.line(),
                "column": e.column(),
            }),
        )
    })?;
    let Value::Object(map) = value else {
        return Err(Failure::bad_body(format!(
            "the request body must be a json object, not {}",
            type_name(&value)
        )));
    };
    let problems = check_object(&map);
    if !problems.is_empty() {
        let names: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        let message = format!("invalid fields: {}", names.join(", "));
        return Err(Failure::validation(
            message,
            serde_json::json!({ "fields": problems }),
        ));
    }
    serde_json::from_value(Value::Object(map)).map_err(|e| {
        Failure::validation(
            format!("the request body does not match the schema: {e}"),
            serde_json::json!({ "body": e.to_string() }),
        )
    })
}

/// Lists every problem of a request object, in the object's key order.
pub(crate) fn check_object(map: &Map<String, Value>) -> Vec<FieldProblem> {
    let mut problems = Vec::new();
    for (field, value) in map {
        let Some((_, kind)) = FIELDS.iter().find(|(name, _)| name == field) else {
            problems.push(problem(field, "unknown field".to_owned()));
            continue;
        };
        match (kind, value) {
            (Kind::Str(limit), Value::String(s)) => {
                if let Some(limit) = *limit {
                    // maxLength counts Unicode scalar values, as JSON Schema does.
                    let length = s.chars().count();
                    if length > limit {
                        problems.push(FieldProblem {
                            limit: Some(limit),
                            length: Some(length),
                            ..problem(field, format!("longer than {limit} characters"))
                        });
                    }
                }
            }
            (Kind::Bool, Value::Bool(_)) => {}
            (Kind::Enum(allowed), Value::String(s)) => {
                if !allowed.contains(&s.as_str()) {
                    problems.push(FieldProblem {
                        allowed: Some(allowed),
                        ..problem(field, format!("must be one of {}", allowed.join(", ")))
                    });
                }
            }
            (Kind::Str(_) | Kind::Enum(_), other) => {
                problems.push(problem(
                    field,
                    format!("expected a string, found {}", type_name(other)),
                ));
            }
            (Kind::Bool, other) => {
                problems.push(problem(
                    field,
                    format!("expected a boolean, found {}", type_name(other)),
                ));
            }
        }
    }
    problems
}

fn problem(field: &str, reason: String) -> FieldProblem {
    FieldProblem {
        field: field.to_owned(),
        reason,
        limit: None,
        length: None,
        allowed: None,
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use nateq_api::types;

    /// The table above must say what `openapi.yaml` says.
    #[test]
    fn fields_match_the_spec() {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.yaml"))
            .unwrap();
        let spec: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        let schema = &spec["components"]["schemas"]["UpdateContactRequest"];
        assert_eq!(
            schema["additionalProperties"],
            serde_yaml::Value::Bool(false)
        );
        let props = schema["properties"].as_mapping().unwrap();
        assert_eq!(props.len(), FIELDS.len());
        for (name, kind) in FIELDS {
            let prop = &props[*name];
            match kind {
                Kind::Str(limit) => {
                    assert_eq!(prop["type"].as_str(), Some("string"), "{name}");
                    assert_eq!(
                        prop["maxLength"].as_u64().map(|n| n as usize),
                        *limit,
                        "{name}"
                    );
                }
                Kind::Bool => assert_eq!(prop["type"].as_str(), Some("boolean"), "{name}"),
                Kind::Enum(values) => {
                    let target = prop["$ref"].as_str().unwrap().rsplit('/').next().unwrap();
                    let enum_values: Vec<&str> = spec["components"]["schemas"][target]["enum"]
                        .as_sequence()
                        .unwrap()
                        .iter()
                        .map(|v| v.as_str().unwrap())
                        .collect();
                    assert_eq!(&enum_values, values, "{name}");
                }
            }
        }
    }

    /// The generated newtypes count length exactly as the validator does.
    #[test]
    fn limits_agree_with_the_generated_types() {
        for (name, kind) in FIELDS {
            let Kind::Str(Some(limit)) = kind else {
                continue;
            };
            for (len, ok) in [(*limit, true), (limit + 1, false)] {
                let s: String = "é".repeat(len);
                let mut map = Map::new();
                map.insert((*name).to_owned(), Value::String(s));
                let generated = serde_json::from_value::<types::UpdateContactRequest>(
                    Value::Object(map.clone()),
                );
                assert_eq!(generated.is_ok(), ok, "{name} at {len}");
                assert_eq!(check_object(&map).is_empty(), ok, "{name} at {len}");
            }
        }
    }

    /// The fast path and the slow path agree.
    #[test]
    fn both_paths_agree() {
        let name = |body: &[u8]| parse_update(body).map(|r| r.name.map(String::from));
        assert!(name(br#"{"name": null}"#).is_err());
        assert!(name(br#"  {"name":null , "email": "a@b.c"}"#).is_err());
        assert_eq!(
            name(br#"{"name":"null"}"#).unwrap().as_deref(),
            Some("null")
        );
        assert_eq!(
            name(br#" {"name":"Ada"} "#).unwrap().as_deref(),
            Some("Ada")
        );
        // Duplicate properties: the last one wins, as in most JSON parsers.
        assert_eq!(
            name(br#"{"name":"a","name":"b"}"#).unwrap().as_deref(),
            Some("b")
        );
        for not_an_object in [&b"[]"[..], b"[\"x\"]", b"null", b"1", b"\"s\""] {
            assert!(parse_update(not_an_object).is_err());
        }
        assert!(parse_update(br#"{"name":"a"}x"#).is_err());
        assert!(parse_update(br#"{"nickname":"a"}"#).is_err());
    }

    #[test]
    fn every_offending_field_is_named() {
        let map: Map<String, Value> = serde_json::from_str(
            r#"{"name": 1, "doNotContact": "yes", "type": "boss", "nickname": "x", "email": null,
                "phone": "123456789012345678901234567890123456789012345678901"}"#,
        )
        .unwrap();
        let fields: Vec<String> = check_object(&map).into_iter().map(|p| p.field).collect();
        assert_eq!(
            fields,
            ["doNotContact", "email", "name", "nickname", "phone", "type"]
        );
    }
}
