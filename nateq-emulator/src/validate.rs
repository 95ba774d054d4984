//! Request body validation: every problem of a body is found and reported at once.
//!
//! The body is first parsed as a `serde_json::Value` and checked against the request's field
//! table, generated from `openapi.yaml` (types, `maxLength` in Unicode scalar values, enum
//! values, unknown properties), collecting one entry per offending field. Only a body without problems is deserialised into the generated
//! `UpdateContactRequest`, so the generated type stays the final word on what is accepted.

use nateq_api::fields::{FieldKind, field};
use nateq_api::types::UpdateContactRequest;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::response::Failure;

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
    for (name, value) in map {
        let Some(spec) = field(name) else {
            problems.push(problem(name, "unknown field".to_owned()));
            continue;
        };
        match (spec.kind, value) {
            (FieldKind::String | FieldKind::Enum, Value::String(s)) => {
                if let Err(e) = spec.check_text(s) {
                    problems.push(match e.problem {
                        // maxLength counts Unicode scalar values, as JSON Schema does.
                        nateq_api::Problem::TooLong { limit, length } => FieldProblem {
                            limit: Some(limit),
                            length: Some(length),
                            ..problem(name, format!("longer than {limit} characters"))
                        },
                        _ => FieldProblem {
                            allowed: Some(spec.values),
                            ..problem(name, format!("must be one of {}", spec.values.join(", ")))
                        },
                    });
                }
            }
            (FieldKind::Boolean, Value::Bool(_)) => {}
            (FieldKind::Boolean, other) => {
                problems.push(problem(
                    name,
                    format!("expected a boolean, found {}", type_name(other)),
                ));
            }
            (_, other) => {
                problems.push(problem(
                    name,
                    format!("expected a string, found {}", type_name(other)),
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

    /// A property name the spec can never have: every field name of the table joined, longer
    /// than any one of them (a field added under this name would make the join longer still).
    fn not_a_field() -> String {
        let fields = nateq_api::fields::UPDATE_CONTACT_FIELDS;
        assert!(fields.len() > 1);
        let name: String = fields.iter().map(|f| f.name).collect();
        assert!(nateq_api::fields::field(&name).is_none());
        name
    }

    /// The generated newtypes count length exactly as the validator does.
    #[test]
    fn limits_agree_with_the_generated_types() {
        let limited: Vec<_> = nateq_api::fields::UPDATE_CONTACT_FIELDS
            .iter()
            .filter_map(|f| f.max_length.map(|limit| (f.name, limit)))
            .collect();
        assert!(!limited.is_empty());
        for (name, limit) in limited {
            for (len, ok) in [(limit, true), (limit + 1, false)] {
                let s: String = "é".repeat(len);
                let mut map = Map::new();
                map.insert(name.to_owned(), Value::String(s));
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
        let unknown = serde_json::json!({ not_a_field(): "a" }).to_string();
        assert!(parse_update(unknown.as_bytes()).is_err());
    }

    #[test]
    fn every_offending_field_is_named() {
        let unknown = not_a_field();
        let map: Map<String, Value> = serde_json::from_value(serde_json::json!({
            "name": 1, "doNotContact": "yes", "type": "boss", unknown.clone(): "x", "email": null,
            "phone": "123456789012345678901234567890123456789012345678901",
        }))
        .unwrap();
        let problems = check_object(&map);
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        let mut expected = ["doNotContact", "email", "name", &unknown, "phone", "type"];
        expected.sort_unstable();
        assert_eq!(fields, expected);
        let reason = problems
            .iter()
            .find(|p| p.field == unknown)
            .map(|p| &p.reason);
        assert_eq!(reason.map(String::as_str), Some("unknown field"));
    }
}
