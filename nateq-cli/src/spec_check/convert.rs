//! OpenAPI 3.0 schemas as JSON Schema 2020-12, for the validator: `nullable`, the boolean
//! `exclusiveMinimum`/`exclusiveMaximum`, `$ref` without siblings, and closed objects.
//!
//! The document keeps its shape (every schema is converted where it stands), so a location the
//! validator reports is a location in `openapi.yaml`.

use serde_json::{Map, Value, json};

/// Keywords that only annotate: a `nullable` schema made of these alone admits anything.
const ANNOTATIONS: &[&str] = &[
    "description",
    "title",
    "example",
    "examples",
    "default",
    "deprecated",
    "readOnly",
    "writeOnly",
    "externalDocs",
    "xml",
];

/// The spec with every Schema Object converted in place (components, parameters, request
/// bodies, responses and their headers, under `components` and under every operation).
pub fn document(spec: &Value) -> Value {
    let mut doc = spec.clone();
    if let Some(components) = doc.get_mut("components").and_then(Value::as_object_mut) {
        if let Some(schemas) = components.get_mut("schemas").and_then(Value::as_object_mut) {
            for schema in schemas.values_mut() {
                *schema = schema_of(schema);
            }
        }
        for kind in ["parameters", "headers"] {
            for_each_value(components.get_mut(kind), convert_holder);
        }
        for kind in ["responses", "requestBodies"] {
            for_each_value(components.get_mut(kind), convert_body);
        }
    }
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for item in paths.values_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for (key, operation) in item.iter_mut() {
                if key == "parameters" {
                    for_each_value(Some(operation), convert_holder);
                    continue;
                }
                let Some(operation) = operation.as_object_mut() else {
                    continue;
                };
                for_each_value(operation.get_mut("parameters"), convert_holder);
                if let Some(body) = operation.get_mut("requestBody") {
                    convert_body(body);
                }
                for_each_value(operation.get_mut("responses"), convert_body);
            }
        }
    }
    doc
}

/// Applies `f` to each value of an object or each item of a list.
fn for_each_value(value: Option<&mut Value>, f: fn(&mut Value)) {
    match value {
        Some(Value::Object(map)) => map.values_mut().for_each(f),
        Some(Value::Array(list)) => list.iter_mut().for_each(f),
        _ => {}
    }
}

/// A parameter or header: its `schema`.
fn convert_holder(holder: &mut Value) {
    if let Some(schema) = holder.get_mut("schema") {
        *schema = schema_of(schema);
    }
}

/// A response or request body: the `schema` of each media type, and each header's.
fn convert_body(body: &mut Value) {
    if let Some(Value::Object(content)) = body.get_mut("content") {
        content.values_mut().for_each(convert_holder);
    }
    for_each_value(body.get_mut("headers"), convert_holder);
}

/// One Schema Object as JSON Schema 2020-12.
pub fn schema_of(schema: &Value) -> Value {
    let Value::Object(source) = schema else {
        return schema.clone();
    };
    // OpenAPI 3.0 ignores the siblings of `$ref`.
    if let Some(reference) = source.get("$ref") {
        return json!({ "$ref": reference });
    }
    let mut out = Map::new();
    for (key, value) in source {
        let value = match key.as_str() {
            "properties" => match value {
                Value::Object(properties) => Value::Object(
                    properties
                        .iter()
                        .map(|(name, schema)| (name.clone(), schema_of(schema)))
                        .collect(),
                ),
                other => other.clone(),
            },
            "items" | "not" => schema_of(value),
            "additionalProperties" if value.is_object() => schema_of(value),
            "allOf" | "anyOf" | "oneOf" => match value {
                Value::Array(list) => Value::Array(list.iter().map(schema_of).collect()),
                other => other.clone(),
            },
            "nullable" => continue,
            _ => value.clone(),
        };
        out.insert(key.clone(), value);
    }
    // OpenAPI 3.0's `exclusiveMinimum: true` qualifies `minimum`; 2020-12's is the bound.
    for (bound, exclusive) in [
        ("minimum", "exclusiveMinimum"),
        ("maximum", "exclusiveMaximum"),
    ] {
        match out.remove(exclusive) {
            Some(Value::Bool(true)) => {
                if let Some(limit) = out.remove(bound) {
                    out.insert(exclusive.to_string(), limit);
                }
            }
            Some(Value::Number(limit)) => {
                out.insert(exclusive.to_string(), Value::Number(limit));
            }
            _ => {}
        }
    }
    // A response object is checked as closed: a property the spec does not name is a finding,
    // even where the spec leaves `additionalProperties` open (absent or `true`).
    let is_object =
        out.get("type").and_then(Value::as_str) == Some("object") || out.contains_key("properties");
    if is_object
        && matches!(
            out.get("additionalProperties"),
            None | Some(Value::Bool(true))
        )
    {
        out.insert("additionalProperties".into(), Value::Bool(false));
    }
    if source.get("nullable") == Some(&Value::Bool(true)) {
        return nullable(out);
    }
    Value::Object(out)
}

/// `schema`, admitting `null` too: in `type` (and `enum`) when it has a type, or as the
/// branch of an `if` around the rest (`nullable` beside `allOf`, as the generated client
/// reads it). The `else` keeps the rest's own errors, at their own locations.
fn nullable(mut schema: Map<String, Value>) -> Value {
    if let Some(Value::String(kind)) = schema.get("type") {
        let kinds = json!([kind, "null"]);
        schema.insert("type".into(), kinds);
        if let Some(Value::Array(values)) = schema.get_mut("enum")
            && !values.contains(&Value::Null)
        {
            values.push(Value::Null);
        }
        return Value::Object(schema);
    }
    if schema.keys().all(|k| ANNOTATIONS.contains(&k.as_str())) {
        return Value::Object(schema);
    }
    json!({ "if": { "type": "null" }, "else": schema })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nullable_types_admit_null_and_objects_are_closed() {
        let schema = json!({
            "type": "object",
            "required": ["id"],
            "properties": {
                "id": { "type": "string" },
                "name": { "type": "string", "nullable": true },
                "kind": { "type": "string", "nullable": true, "enum": ["a"] },
                "company": { "nullable": true, "allOf": [{ "$ref": "#/c" }] },
                "any": { "nullable": true, "description": "anything" },
                "ref": { "$ref": "#/r", "description": "ignored", "nullable": true },
                "n": { "type": "integer", "minimum": 1, "exclusiveMinimum": true },
            }
        });
        assert_eq!(
            schema_of(&schema),
            json!({
                "type": "object",
                "required": ["id"],
                "additionalProperties": false,
                "properties": {
                    "id": { "type": "string" },
                    "name": { "type": ["string", "null"] },
                    "kind": { "type": ["string", "null"], "enum": ["a", null] },
                    "company": { "if": { "type": "null" }, "else": { "allOf": [{ "$ref": "#/c" }] } },
                    "any": { "description": "anything" },
                    "ref": { "$ref": "#/r" },
                    "n": { "type": "integer", "exclusiveMinimum": 1 },
                }
            })
        );
    }

    #[test]
    fn explicit_maps_stay_open_to_their_schema() {
        let schema = json!({ "type": "object", "additionalProperties": { "type": "string" } });
        assert_eq!(schema_of(&schema), schema);
        let open = json!({ "type": "object", "additionalProperties": true });
        assert_eq!(
            schema_of(&open),
            json!({ "type": "object", "additionalProperties": false })
        );
    }

    #[test]
    fn schemas_are_converted_where_they_stand() {
        let spec = json!({
            "paths": { "/x": { "put": { "responses": { "200": {
                "content": { "application/json": { "schema": { "type": "string", "nullable": true } } },
                "headers": { "H": { "schema": { "type": "integer", "nullable": true } } }
            } } } } },
            "components": {
                "schemas": { "A": { "type": "boolean", "nullable": true } },
                "responses": { "R": { "content": { "application/json": {
                    "schema": { "type": "number", "nullable": true } } } } }
            }
        });
        let doc = document(&spec);
        let at = |p: &str| doc.pointer(p).cloned().unwrap();
        assert_eq!(
            at("/paths/~1x/put/responses/200/content/application~1json/schema/type"),
            json!(["string", "null"])
        );
        assert_eq!(
            at("/paths/~1x/put/responses/200/headers/H/schema/type"),
            json!(["integer", "null"])
        );
        assert_eq!(at("/components/schemas/A/type"), json!(["boolean", "null"]));
        assert_eq!(
            at("/components/responses/R/content/application~1json/schema/type"),
            json!(["number", "null"])
        );
    }
}
