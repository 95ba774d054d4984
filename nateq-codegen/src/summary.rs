//! A spec reduced to the facts that callers depend on, and the difference between two of them.
//!
//! The generated-code diff says *how* the Rust changed; this says *what* changed in the API
//! (an operation, a property, a type, a limit, an enum value, a required list) and whether it
//! breaks existing callers: a removed field, a tightened limit or a removed enum value does.

use std::collections::BTreeMap;
use std::fmt;

use openapiv3::{OpenAPI, ReferenceOr, Schema, SchemaKind, Type};
use serde::{Deserialize, Serialize};

/// The facts of one spec, keyed by a stable path such as `schema UpdateContactRequest.name`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Operations: `PUT /contacts/{id}` -> facts about it.
    pub operations: BTreeMap<String, OperationFacts>,
    /// Schema properties: `Schema.property` -> facts about it; a schema itself is `Schema`.
    pub schemas: BTreeMap<String, Facts>,
}

/// What callers of one operation rely on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationFacts {
    /// The operationId (the generated method's name).
    pub operation_id: String,
    /// Documented response statuses, each with its schema name.
    pub responses: BTreeMap<String, String>,
    /// Parameters: `in name` -> facts.
    pub parameters: BTreeMap<String, Facts>,
}

/// What callers of one schema or property rely on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facts {
    /// The JSON type (`string`, `integer`, `object`, ...), a `$ref` target, or `any`.
    pub ty: String,
    /// The `format`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// Whether `null` is allowed.
    #[serde(default, skip_serializing_if = "is_false")]
    pub nullable: bool,
    /// Whether the property is in its schema's `required` list.
    #[serde(default, skip_serializing_if = "is_false")]
    pub required: bool,
    /// `maxLength`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<usize>,
    /// `minLength`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<usize>,
    /// Enum values, if any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub enum_values: Vec<String>,
    /// For an object: whether properties beyond those listed are accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_properties: Option<bool>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// One difference between two summaries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Where: `operation PUT /contacts/{id}` or `schema UpdateContactRequest.name`.
    pub location: String,
    /// What changed, in words (`maxLength 255 -> 100`).
    pub what: String,
    /// Whether existing callers can break.
    pub breaking: bool,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mark = if self.breaking { "BREAKING" } else { "ok" };
        write!(f, "[{mark}] {}: {}", self.location, self.what)
    }
}

impl Summary {
    /// Reduces a spec to its facts.
    pub fn of(spec: &OpenAPI) -> Summary {
        let mut summary = Summary::default();
        for (path, item) in &spec.paths.paths {
            let ReferenceOr::Item(item) = item else {
                continue;
            };
            for (method, op) in item.iter() {
                let mut facts = OperationFacts {
                    operation_id: op.operation_id.clone().unwrap_or_default(),
                    ..OperationFacts::default()
                };
                for (status, response) in &op.responses.responses {
                    facts
                        .responses
                        .insert(status.to_string(), response_schema_name(spec, response));
                }
                for param in &op.parameters {
                    if let ReferenceOr::Item(param) = param {
                        let data = param.parameter_data_ref();
                        let mut f = match &data.format {
                            // A parameter is compared by what it sends: a named schema it
                            // refers to is resolved, so moving a schema into components is
                            // not a change.
                            openapiv3::ParameterSchemaOrContent::Schema(s) => {
                                facts_of(resolve(spec, s))
                            }
                            openapiv3::ParameterSchemaOrContent::Content(_) => Facts {
                                ty: "content".into(),
                                ..Facts::default()
                            },
                        };
                        f.required = data.required;
                        let place = match param {
                            openapiv3::Parameter::Query { .. } => "query",
                            openapiv3::Parameter::Header { .. } => "header",
                            openapiv3::Parameter::Path { .. } => "path",
                            openapiv3::Parameter::Cookie { .. } => "cookie",
                        };
                        facts.parameters.insert(format!("{place} {}", data.name), f);
                    }
                }
                summary
                    .operations
                    .insert(format!("{} {path}", method.to_uppercase()), facts);
            }
        }
        if let Some(components) = &spec.components {
            for (name, schema) in &components.schemas {
                summary.add_schema(name, schema);
            }
        }
        summary
    }

    fn add_schema(&mut self, name: &str, schema: &ReferenceOr<Schema>) {
        self.schemas.insert(name.to_string(), facts_of(schema));
        let ReferenceOr::Item(schema) = schema else {
            return;
        };
        if let SchemaKind::Type(Type::Object(obj)) = &schema.schema_kind {
            for (prop, prop_schema) in &obj.properties {
                let mut facts = match prop_schema {
                    ReferenceOr::Reference { reference } => Facts {
                        ty: ref_name(reference),
                        ..Facts::default()
                    },
                    ReferenceOr::Item(s) => facts_of_schema(s),
                };
                facts.required = obj.required.iter().any(|r| r == prop);
                self.schemas.insert(format!("{name}.{prop}"), facts);
            }
        }
    }

    /// Lists what changed from `old` to `new`, in a stable order.
    pub fn diff(old: &Summary, new: &Summary) -> Vec<Change> {
        let mut changes = Vec::new();
        for (key, o) in &old.operations {
            let location = format!("operation {key}");
            match new.operations.get(key) {
                None => changes.push(Change {
                    location,
                    what: format!("removed (operationId {})", o.operation_id),
                    breaking: true,
                }),
                Some(n) => diff_operation(&location, o, n, &mut changes),
            }
        }
        for (key, n) in &new.operations {
            if !old.operations.contains_key(key) {
                changes.push(Change {
                    location: format!("operation {key}"),
                    what: format!("added (operationId {})", n.operation_id),
                    breaking: false,
                });
            }
        }
        diff_facts_maps("schema", &old.schemas, &new.schemas, &mut changes);
        changes
    }
}

fn diff_operation(location: &str, o: &OperationFacts, n: &OperationFacts, out: &mut Vec<Change>) {
    if o.operation_id != n.operation_id {
        out.push(Change {
            location: location.to_string(),
            what: format!(
                "operationId {} -> {} (the method is renamed)",
                o.operation_id, n.operation_id
            ),
            breaking: true,
        });
    }
    for (status, schema) in &o.responses {
        match n.responses.get(status) {
            None => out.push(Change {
                location: location.to_string(),
                what: format!("response {status} removed"),
                breaking: true,
            }),
            Some(new_schema) if new_schema != schema => out.push(Change {
                location: location.to_string(),
                what: format!("response {status} schema {schema} -> {new_schema}"),
                breaking: true,
            }),
            Some(_) => {}
        }
    }
    for status in n.responses.keys() {
        if !o.responses.contains_key(status) {
            out.push(Change {
                location: location.to_string(),
                what: format!("response {status} added"),
                breaking: false,
            });
        }
    }
    diff_facts_maps(
        &format!("{location} parameter"),
        &o.parameters,
        &n.parameters,
        out,
    );
}

fn diff_facts_maps(
    prefix: &str,
    old: &BTreeMap<String, Facts>,
    new: &BTreeMap<String, Facts>,
    out: &mut Vec<Change>,
) {
    for (key, o) in old {
        let location = format!("{prefix} {key}");
        match new.get(key) {
            None => out.push(Change {
                location,
                what: "removed".into(),
                breaking: true,
            }),
            Some(n) => diff_facts(&location, o, n, out),
        }
    }
    for (key, n) in new {
        if !old.contains_key(key) {
            out.push(Change {
                location: format!("{prefix} {key}"),
                what: format!(
                    "added ({}{})",
                    n.ty,
                    if n.required { ", required" } else { "" }
                ),
                // A new required property breaks every caller that does not send it.
                breaking: n.required,
            });
        }
    }
}

fn diff_facts(location: &str, o: &Facts, n: &Facts, out: &mut Vec<Change>) {
    let mut push = |what: String, breaking: bool| {
        out.push(Change {
            location: location.to_string(),
            what,
            breaking,
        })
    };
    if o.ty != n.ty {
        push(format!("type {} -> {}", o.ty, n.ty), true);
    }
    if o.format != n.format {
        push(
            format!("format {} -> {}", show(&o.format), show(&n.format)),
            true,
        );
    }
    if o.nullable != n.nullable {
        // A value that may now be null breaks readers; one that may no longer be null breaks
        // writers that send null.
        push(format!("nullable {} -> {}", o.nullable, n.nullable), true);
    }
    if o.required != n.required {
        push(
            format!("required {} -> {}", o.required, n.required),
            n.required,
        );
    }
    if o.max_length != n.max_length {
        let tightened = match (o.max_length, n.max_length) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(a), Some(b)) => b < a,
        };
        push(
            format!(
                "maxLength {} -> {}{}",
                show(&o.max_length),
                show(&n.max_length),
                if tightened {
                    " (tightened)"
                } else {
                    " (relaxed)"
                }
            ),
            tightened,
        );
    }
    if o.min_length != n.min_length {
        let tightened = match (o.min_length, n.min_length) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(a), Some(b)) => b > a,
        };
        push(
            format!(
                "minLength {} -> {}{}",
                show(&o.min_length),
                show(&n.min_length),
                if tightened {
                    " (tightened)"
                } else {
                    " (relaxed)"
                }
            ),
            tightened,
        );
    }
    for v in &o.enum_values {
        if !n.enum_values.contains(v) {
            push(format!("enum value `{v}` removed"), true);
        }
    }
    for v in &n.enum_values {
        if !o.enum_values.contains(v) {
            push(format!("enum value `{v}` added"), false);
        }
    }
    if o.additional_properties != n.additional_properties {
        let closed = n.additional_properties == Some(false);
        push(
            format!(
                "additionalProperties {} -> {}",
                show(&o.additional_properties),
                show(&n.additional_properties)
            ),
            closed,
        );
    }
}

fn show<T: fmt::Display>(v: &Option<T>) -> String {
    v.as_ref()
        .map_or_else(|| "none".to_string(), ToString::to_string)
}

fn ref_name(reference: &str) -> String {
    reference
        .rsplit('/')
        .next()
        .unwrap_or(reference)
        .to_string()
}

fn response_schema_name(spec: &OpenAPI, response: &ReferenceOr<openapiv3::Response>) -> String {
    let response = match response {
        ReferenceOr::Item(r) => Some(r),
        ReferenceOr::Reference { reference } => spec.components.as_ref().and_then(|c| {
            c.responses
                .get(&ref_name(reference))
                .and_then(|r| r.as_item())
        }),
    };
    response
        .and_then(|r| r.content.get("application/json"))
        .and_then(|media| media.schema.as_ref())
        .map_or_else(
            || "none".to_string(),
            |schema| match schema {
                ReferenceOr::Reference { reference } => ref_name(reference),
                ReferenceOr::Item(s) => facts_of_schema(s).ty,
            },
        )
}

/// The component schema that `schema` refers to, or `schema` itself.
fn resolve<'a>(spec: &'a OpenAPI, schema: &'a ReferenceOr<Schema>) -> &'a ReferenceOr<Schema> {
    let ReferenceOr::Reference { reference } = schema else {
        return schema;
    };
    let name = ref_name(reference);
    spec.components
        .as_ref()
        .and_then(|c| c.schemas.get(&name))
        .unwrap_or(schema)
}

fn facts_of(schema: &ReferenceOr<Schema>) -> Facts {
    match schema {
        ReferenceOr::Reference { reference } => Facts {
            ty: ref_name(reference),
            ..Facts::default()
        },
        ReferenceOr::Item(s) => facts_of_schema(s),
    }
}

fn facts_of_schema(schema: &Schema) -> Facts {
    let mut facts = Facts {
        nullable: schema.schema_data.nullable,
        ..Facts::default()
    };
    match &schema.schema_kind {
        SchemaKind::Type(Type::String(s)) => {
            facts.ty = "string".into();
            facts.format = format_name(&s.format);
            facts.max_length = s.max_length;
            facts.min_length = s.min_length;
            facts.enum_values = s.enumeration.iter().flatten().cloned().collect();
        }
        SchemaKind::Type(Type::Integer(i)) => {
            facts.ty = "integer".into();
            facts.format = format_name(&i.format);
        }
        SchemaKind::Type(Type::Number(n)) => {
            facts.ty = "number".into();
            facts.format = format_name(&n.format);
        }
        SchemaKind::Type(Type::Boolean(_)) => facts.ty = "boolean".into(),
        SchemaKind::Type(Type::Array(a)) => {
            let item = a
                .items
                .as_ref()
                .map_or_else(|| "any".to_string(), |i| facts_of(&i.clone().unbox()).ty);
            facts.ty = format!("array of {item}");
        }
        SchemaKind::Type(Type::Object(o)) => {
            facts.ty = "object".into();
            facts.additional_properties = match &o.additional_properties {
                None => None,
                Some(openapiv3::AdditionalProperties::Any(b)) => Some(*b),
                Some(openapiv3::AdditionalProperties::Schema(_)) => Some(true),
            };
        }
        SchemaKind::AllOf { all_of } if all_of.len() == 1 => {
            facts.ty = facts_of(&all_of[0]).ty;
        }
        SchemaKind::AllOf { .. } => facts.ty = "allOf".into(),
        SchemaKind::OneOf { .. } => facts.ty = "oneOf".into(),
        SchemaKind::AnyOf { .. } => facts.ty = "anyOf".into(),
        SchemaKind::Not { .. } => facts.ty = "not".into(),
        SchemaKind::Any(_) => facts.ty = "any".into(),
    }
    facts
}

fn format_name<T: fmt::Debug>(format: &openapiv3::VariantOrUnknownOrEmpty<T>) -> Option<String> {
    match format {
        openapiv3::VariantOrUnknownOrEmpty::Item(v) => Some(format!("{v:?}").to_lowercase()),
        openapiv3::VariantOrUnknownOrEmpty::Unknown(s) => Some(s.clone()),
        openapiv3::VariantOrUnknownOrEmpty::Empty => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(max: usize, enum_values: &str) -> OpenAPI {
        let text = format!(
            r#"
openapi: 3.0.3
info: {{title: t, version: "1"}}
paths:
  /c/{{id}}:
    put:
      operationId: upd
      parameters:
        - {{name: id, in: path, required: true, schema: {{type: string}}}}
      responses:
        "200": {{description: ok}}
components:
  schemas:
    Req:
      type: object
      properties:
        name: {{type: string, maxLength: {max}}}
        kind: {{type: string, enum: [{enum_values}]}}
"#
        );
        match serde_yaml::from_str(&text) {
            Ok(s) => s,
            Err(e) => panic!("test spec does not parse: {e}"),
        }
    }

    #[test]
    fn tightened_limit_and_removed_enum_value_are_breaking() {
        let old = Summary::of(&spec(255, "a, b"));
        let new = Summary::of(&spec(100, "a, c"));
        let changes = Summary::diff(&old, &new);
        let text: Vec<String> = changes.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            vec![
                "[BREAKING] schema Req.kind: enum value `b` removed",
                "[ok] schema Req.kind: enum value `c` added",
                "[BREAKING] schema Req.name: maxLength 255 -> 100 (tightened)",
            ]
        );
    }

    #[test]
    fn a_parameter_schema_moved_into_components_is_compared_by_what_it_sends() {
        let inline = spec(255, "a");
        let text = serde_yaml::to_string(&inline).unwrap_or_else(|e| panic!("{e}"));
        let moved = text
            .replace(
                "schema:\n          type: string\n",
                "schema:\n          $ref: '#/components/schemas/Id'\n",
            )
            .replace(
                "  schemas:\n",
                "  schemas:\n    Id:\n      type: string\n      minLength: 1\n",
            );
        let moved: OpenAPI = serde_yaml::from_str(&moved).unwrap_or_else(|e| panic!("{e}"));
        let changes = Summary::diff(&Summary::of(&inline), &Summary::of(&moved));
        let text: Vec<String> = changes.iter().map(ToString::to_string).collect();
        // The parameter gained `minLength`, the schema is new; its type did not change.
        assert_eq!(
            text,
            vec![
                "[BREAKING] operation PUT /c/{id} parameter path id: minLength none -> 1 (tightened)",
                "[ok] schema Id: added (string)",
            ]
        );
    }

    #[test]
    fn relaxed_limit_is_not_breaking_and_equal_specs_have_no_changes() {
        let old = Summary::of(&spec(100, "a"));
        assert!(Summary::diff(&old, &old).is_empty());
        let new = Summary::of(&spec(255, "a"));
        let changes = Summary::diff(&old, &new);
        assert_eq!(changes.len(), 1);
        assert!(!changes[0].breaking);
        assert_eq!(
            changes[0].what,
            "maxLength 100 -> 255 (relaxed)".to_string()
        );
    }
}

#[cfg(test)]
mod corpus;
#[cfg(test)]
mod edit;
