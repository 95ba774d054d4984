//! A spec reduced to the facts that callers depend on, and the difference between two of them.
//!
//! [`Summary::of`] keeps what a caller of the API, or of the SDK generated from it, relies on:
//! operations (path, method, `operationId`, security), parameters of every location, the
//! request body, response statuses, headers and media types, and every component schema with
//! its properties (type, format, `nullable`, `required`, limits, `pattern`, enum values) and
//! where it is used (request, response or both, found by following `$ref`s from the
//! operations). Descriptions and examples are kept too, so that an edit touching only them is
//! reported as such. The committed `spec-summary.json` is this value.
//!
//! [`Summary::diff`] ([`classify`], with the verdicts of [`rules`]) lists the changes between two summaries, each with a
//! verdict that knows its direction: narrowing what a client sends, or widening what it
//! receives, breaks callers; see the crate's README for every kind of change. [`locate`]
//! finds each change's line in `openapi.yaml`, and [`report`] renders the list as text,
//! Markdown, JSON or GitHub workflow annotations.

use std::collections::{BTreeMap, BTreeSet};

use openapiv3::{
    AdditionalProperties, OpenAPI, Parameter as OaParameter, ParameterSchemaOrContent, ReferenceOr,
    Schema, SchemaKind, Type,
};
use serde::{Deserialize, Serialize};

pub mod classify;
pub mod locate;
pub mod report;
pub mod rules;
mod schema_diff;

pub use classify::Change;
pub use rules::{Direction, RULES, Rule, Verdict};

/// The version of the summary's shape. A committed summary of another version is rewritten
/// without a change list (the two cannot be compared fact by fact).
pub const FORMAT: u32 = 2;

/// The facts of one spec.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// The version of this shape ([`FORMAT`]); 0 in a summary written before it existed.
    #[serde(default)]
    pub format: u32,
    /// The document's title, description and version.
    #[serde(default)]
    pub info: Info,
    /// The servers' URLs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub servers: Vec<String>,
    /// Security schemes by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub security_schemes: BTreeMap<String, SecurityScheme>,
    /// Operations: `PUT /contacts/{id}` -> what callers of it rely on.
    #[serde(default)]
    pub operations: BTreeMap<String, Operation>,
    /// Component schemas by name, each with its properties and where it is used.
    #[serde(default)]
    pub schemas: BTreeMap<String, Facts>,
}

/// Descriptions and examples: what a docs-only edit touches.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Docs {
    /// `summary` (of an operation) or `title` (of a schema).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// `description`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `example`, or the `examples` map when there is no `example`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub example: Option<serde_json::Value>,
}

/// The document's `info`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Info {
    /// `info.title`.
    #[serde(default)]
    pub title: String,
    /// `info.version`.
    #[serde(default)]
    pub version: String,
    /// `info.description`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// How a security scheme wants the credential.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityScheme {
    /// `http`, `apiKey`, `oauth2` or `openIdConnect`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Where the credential goes: `bearer` (an http scheme), `header X-Api-Key` (an API
    /// key), or the flows' or discovery URL.
    pub scheme: String,
    /// `bearerFormat` (documentation only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer_format: Option<String>,
    /// Its description.
    #[serde(default, flatten)]
    pub docs: Docs,
}

/// What callers of one operation rely on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operation {
    /// The `operationId` (the generated method's name).
    pub operation_id: String,
    /// The ways to authenticate, any one of which is enough: scheme name -> scopes. The
    /// operation's own `security`, or the document's. Empty: no credential is needed.
    pub security: Vec<BTreeMap<String, Vec<String>>>,
    /// Parameters, path-level ones included: `path id`, `query fields`, `header X-Trace`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, Parameter>,
    /// The request body, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_body: Option<RequestBody>,
    /// Documented responses by status (`200`, `4XX`, `default`).
    pub responses: BTreeMap<String, Response>,
    /// Its summary and description.
    #[serde(default, flatten)]
    pub docs: Docs,
}

/// One parameter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parameter {
    /// Whether callers must send it.
    #[serde(default, skip_serializing_if = "is_false")]
    pub required: bool,
    /// Its schema (a named one is referred to, not copied).
    pub schema: Facts,
    /// Its description and example.
    #[serde(default, flatten)]
    pub docs: Docs,
}

/// The request body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestBody {
    /// Whether callers must send it.
    #[serde(default, skip_serializing_if = "is_false")]
    pub required: bool,
    /// Media type -> its schema and example.
    pub content: BTreeMap<String, Media>,
    /// Its description.
    #[serde(default, flatten)]
    pub docs: Docs,
}

/// One media type of a body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Media {
    /// The body's schema (a named one is referred to, not copied).
    pub schema: Facts,
    /// Its example.
    #[serde(default, flatten)]
    pub docs: Docs,
}

/// One documented response.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    /// Media type -> its schema and example.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub content: BTreeMap<String, Media>,
    /// Response headers by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, Header>,
    /// Its description.
    #[serde(default, flatten)]
    pub docs: Docs,
}

/// One response header.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Whether the server always sends it.
    #[serde(default, skip_serializing_if = "is_false")]
    pub required: bool,
    /// Its schema.
    pub schema: Facts,
    /// Its description.
    #[serde(default, flatten)]
    pub docs: Docs,
}

/// What callers of one schema, property or parameter rely on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facts {
    /// The component schema this is (`$ref`, or `allOf` of one `$ref`); the other facts are
    /// then that schema's, kept once under [`Summary::schemas`].
    #[serde(rename = "$ref", default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// The JSON type (`string`, `integer`, `object`, `array`, ...), `any`, or the composition
    /// keyword (`oneOf`, ...); empty for a `$ref`.
    #[serde(rename = "type", default, skip_serializing_if = "String::is_empty")]
    pub ty: String,
    /// The `format`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// Whether `null` is allowed.
    #[serde(default, skip_serializing_if = "is_false")]
    pub nullable: bool,
    /// For a property: whether it is in its schema's `required` list.
    #[serde(default, skip_serializing_if = "is_false")]
    pub required: bool,
    /// `maxLength`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<usize>,
    /// `minLength`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<usize>,
    /// `pattern`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// Enum values, as JSON text (`a`, `1`, `true`).
    #[serde(rename = "enum", default, skip_serializing_if = "Vec::is_empty")]
    pub enum_values: Vec<String>,
    /// For an object: whether properties beyond those listed are accepted (`None`: not said,
    /// which means yes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_properties: Option<bool>,
    /// For an object: its properties.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub properties: BTreeMap<String, Facts>,
    /// For an array: its items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<Box<Facts>>,
    /// For a component schema: where the operations use it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_in: Option<Direction>,
    /// Its title, description and example.
    #[serde(default, flatten)]
    pub docs: Docs,
}

impl Facts {
    /// The type as a caller sees it: the referenced schema's name, or the JSON type.
    pub fn type_name(&self) -> String {
        match (&self.reference, &self.items) {
            (Some(name), _) => name.clone(),
            (None, Some(items)) => format!("array of {}", items.type_name()),
            (None, None) => self.ty.clone(),
        }
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Summary {
    /// Reduces a spec to its facts.
    pub fn of(spec: &OpenAPI) -> Summary {
        let mut summary = Summary {
            format: FORMAT,
            info: Info {
                title: spec.info.title.clone(),
                version: spec.info.version.clone(),
                description: spec.info.description.clone(),
            },
            servers: spec.servers.iter().map(|s| s.url.clone()).collect(),
            ..Summary::default()
        };
        let components = spec.components.as_ref();
        for (name, scheme) in components.iter().flat_map(|c| &c.security_schemes) {
            if let ReferenceOr::Item(scheme) = scheme {
                summary
                    .security_schemes
                    .insert(name.clone(), security_scheme(scheme));
            }
        }
        let mut request_roots = BTreeSet::new();
        let mut response_roots = BTreeSet::new();
        for (path, item) in &spec.paths.paths {
            let ReferenceOr::Item(item) = item else {
                continue;
            };
            for (method, op) in item.iter() {
                let mut facts = Operation {
                    operation_id: op.operation_id.clone().unwrap_or_default(),
                    security: op
                        .security
                        .as_ref()
                        .or(spec.security.as_ref())
                        .map(|alternatives| {
                            alternatives
                                .iter()
                                .map(|req| {
                                    req.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                    docs: Docs {
                        summary: op.summary.clone(),
                        description: op.description.clone(),
                        example: None,
                    },
                    ..Operation::default()
                };
                // Path-level parameters first, so that the operation's own override them.
                for param in item.parameters.iter().chain(&op.parameters) {
                    let Some(param) = resolve(spec, param, |c| &c.parameters) else {
                        continue;
                    };
                    let data = param.parameter_data_ref();
                    let schema = match &data.format {
                        ParameterSchemaOrContent::Schema(s) => {
                            collect_refs(spec, s, &mut request_roots);
                            facts_of(s)
                        }
                        ParameterSchemaOrContent::Content(_) => Facts {
                            ty: "content".into(),
                            ..Facts::default()
                        },
                    };
                    facts.parameters.insert(
                        format!("{} {}", location(param), data.name),
                        Parameter {
                            required: data.required,
                            schema,
                            docs: Docs {
                                summary: None,
                                description: data.description.clone(),
                                example: example_of(&data.example, &data.examples),
                            },
                        },
                    );
                }
                if let Some(body) = op
                    .request_body
                    .as_ref()
                    .and_then(|b| resolve(spec, b, |c| &c.request_bodies))
                {
                    facts.request_body = Some(RequestBody {
                        required: body.required,
                        content: media_of(spec, &body.content, &mut request_roots),
                        docs: docs(&body.description),
                    });
                }
                let responses = op
                    .responses
                    .default
                    .iter()
                    .map(|r| ("default".to_string(), r))
                    .chain(
                        op.responses
                            .responses
                            .iter()
                            .map(|(s, r)| (s.to_string(), r)),
                    );
                for (status, response) in responses {
                    let Some(response) = resolve(spec, response, |c| &c.responses) else {
                        continue;
                    };
                    let mut headers = BTreeMap::new();
                    for (name, header) in &response.headers {
                        let Some(header) = resolve(spec, header, |c| &c.headers) else {
                            continue;
                        };
                        let schema = match &header.format {
                            ParameterSchemaOrContent::Schema(s) => {
                                collect_refs(spec, s, &mut response_roots);
                                facts_of(s)
                            }
                            ParameterSchemaOrContent::Content(_) => Facts {
                                ty: "content".into(),
                                ..Facts::default()
                            },
                        };
                        headers.insert(
                            name.clone(),
                            Header {
                                required: header.required,
                                schema,
                                docs: Docs {
                                    summary: None,
                                    description: header.description.clone(),
                                    example: example_of(&header.example, &header.examples),
                                },
                            },
                        );
                    }
                    facts.responses.insert(
                        status,
                        Response {
                            content: media_of(spec, &response.content, &mut response_roots),
                            headers,
                            docs: docs(&Some(response.description.clone())),
                        },
                    );
                }
                summary
                    .operations
                    .insert(format!("{} {path}", method.to_uppercase()), facts);
            }
        }
        for (name, schema) in components.iter().flat_map(|c| &c.schemas) {
            let mut facts = facts_of(schema);
            facts.used_in = Some(
                match (request_roots.contains(name), response_roots.contains(name)) {
                    (true, true) => Direction::Both,
                    (true, false) => Direction::Request,
                    (false, true) => Direction::Response,
                    (false, false) => Direction::None,
                },
            );
            summary.schemas.insert(name.clone(), facts);
        }
        summary
    }

    /// Lists what changed from `old` to `new`, in a stable order, each change with its
    /// verdict; `line` is left empty (see [`locate::Locator`]).
    pub fn diff(old: &Summary, new: &Summary) -> Vec<Change> {
        classify::diff(old, new)
    }
}

fn docs(description: &Option<String>) -> Docs {
    Docs {
        summary: None,
        description: description.clone(),
        example: None,
    }
}

fn example_of(
    example: &Option<serde_json::Value>,
    examples: &indexmap::IndexMap<String, ReferenceOr<openapiv3::Example>>,
) -> Option<serde_json::Value> {
    example.clone().or_else(|| {
        (!examples.is_empty())
            .then(|| serde_json::to_value(examples).ok())
            .flatten()
    })
}

fn location(param: &OaParameter) -> &'static str {
    match param {
        OaParameter::Query { .. } => "query",
        OaParameter::Header { .. } => "header",
        OaParameter::Path { .. } => "path",
        OaParameter::Cookie { .. } => "cookie",
    }
}

fn security_scheme(scheme: &openapiv3::SecurityScheme) -> SecurityScheme {
    use openapiv3::SecurityScheme as S;
    let (kind, place, bearer_format, description) = match scheme {
        S::APIKey {
            location,
            name,
            description,
            ..
        } => {
            let place = match location {
                openapiv3::APIKeyLocation::Query => "query",
                openapiv3::APIKeyLocation::Header => "header",
                openapiv3::APIKeyLocation::Cookie => "cookie",
            };
            ("apiKey", format!("{place} {name}"), None, description)
        }
        S::HTTP {
            scheme,
            bearer_format,
            description,
            ..
        } => (
            "http",
            scheme.to_lowercase(),
            bearer_format.clone(),
            description,
        ),
        S::OAuth2 {
            flows, description, ..
        } => (
            "oauth2",
            serde_json::to_string(flows).unwrap_or_default(),
            None,
            description,
        ),
        S::OpenIDConnect {
            open_id_connect_url,
            description,
            ..
        } => (
            "openIdConnect",
            open_id_connect_url.clone(),
            None,
            description,
        ),
    };
    SecurityScheme {
        kind: kind.to_string(),
        scheme: place,
        bearer_format,
        docs: docs(description),
    }
}

fn media_of(
    spec: &OpenAPI,
    content: &indexmap::IndexMap<String, openapiv3::MediaType>,
    roots: &mut BTreeSet<String>,
) -> BTreeMap<String, Media> {
    content
        .iter()
        .map(|(media_type, media)| {
            let schema = media.schema.as_ref().map_or_else(Facts::default, |s| {
                collect_refs(spec, s, roots);
                facts_of(s)
            });
            let example = example_of(&media.example, &media.examples);
            (
                media_type.clone(),
                Media {
                    schema,
                    docs: Docs {
                        summary: None,
                        description: None,
                        example,
                    },
                },
            )
        })
        .collect()
}

fn ref_name(reference: &str) -> String {
    reference
        .rsplit('/')
        .next()
        .unwrap_or(reference)
        .to_string()
}

/// An item, or the component its `$ref` names (in the components map that `map` picks).
fn resolve<'a, T>(
    spec: &'a OpenAPI,
    item: &'a ReferenceOr<T>,
    map: impl FnOnce(&'a openapiv3::Components) -> &'a indexmap::IndexMap<String, ReferenceOr<T>>,
) -> Option<&'a T> {
    match item {
        ReferenceOr::Item(item) => Some(item),
        ReferenceOr::Reference { reference } => spec
            .components
            .as_ref()
            .and_then(|c| map(c).get(&ref_name(reference)))
            .and_then(ReferenceOr::as_item),
    }
}

/// Adds to `found` every component schema that `schema` reaches through `$ref`s.
fn collect_refs(spec: &OpenAPI, schema: &ReferenceOr<Schema>, found: &mut BTreeSet<String>) {
    match schema {
        ReferenceOr::Reference { reference } => {
            let name = ref_name(reference);
            let target = spec.components.as_ref().and_then(|c| c.schemas.get(&name));
            if found.insert(name) {
                target
                    .into_iter()
                    .for_each(|t| collect_refs(spec, t, found));
            }
        }
        ReferenceOr::Item(schema) => {
            for child in children(schema) {
                collect_refs(spec, &child, found);
            }
        }
    }
}

/// The schemas directly inside `schema`: properties, items, composition branches.
fn children(schema: &Schema) -> Vec<ReferenceOr<Schema>> {
    let unbox = |s: &ReferenceOr<Box<Schema>>| s.clone().unbox();
    match &schema.schema_kind {
        SchemaKind::Type(Type::Object(o)) => {
            let mut all: Vec<_> = o.properties.values().map(unbox).collect();
            if let Some(AdditionalProperties::Schema(s)) = &o.additional_properties {
                all.push((**s).clone());
            }
            all
        }
        SchemaKind::Type(Type::Array(a)) => a.items.iter().map(unbox).collect(),
        SchemaKind::AllOf { all_of: list }
        | SchemaKind::OneOf { one_of: list }
        | SchemaKind::AnyOf { any_of: list } => list.clone(),
        SchemaKind::Not { not } => vec![(**not).clone()],
        SchemaKind::Any(any) => any
            .properties
            .values()
            .map(unbox)
            .chain(any.items.iter().map(unbox))
            .chain(any.all_of.iter().cloned())
            .chain(any.one_of.iter().cloned())
            .chain(any.any_of.iter().cloned())
            .collect(),
        SchemaKind::Type(_) => Vec::new(),
    }
}

fn facts_of(schema: &ReferenceOr<Schema>) -> Facts {
    match schema {
        ReferenceOr::Reference { reference } => Facts {
            reference: Some(ref_name(reference)),
            ..Facts::default()
        },
        ReferenceOr::Item(s) => facts_of_schema(s),
    }
}

fn facts_of_boxed(schema: &ReferenceOr<Box<Schema>>) -> Facts {
    match schema {
        ReferenceOr::Reference { reference } => Facts {
            reference: Some(ref_name(reference)),
            ..Facts::default()
        },
        ReferenceOr::Item(s) => facts_of_schema(s),
    }
}

fn enum_text<T: Serialize>(values: &[Option<T>]) -> Vec<String> {
    values
        .iter()
        .map(|v| match v {
            Some(v) => match serde_json::to_value(v) {
                Ok(serde_json::Value::String(s)) => s,
                Ok(other) => other.to_string(),
                Err(_) => String::new(),
            },
            None => "null".to_string(),
        })
        .collect()
}

fn facts_of_schema(schema: &Schema) -> Facts {
    let data = &schema.schema_data;
    let mut facts = Facts {
        nullable: data.nullable,
        docs: Docs {
            summary: data.title.clone(),
            description: data.description.clone(),
            example: data.example.clone(),
        },
        ..Facts::default()
    };
    match &schema.schema_kind {
        SchemaKind::Type(Type::String(s)) => {
            facts.ty = "string".into();
            facts.format = format_name(&s.format, |f| match f {
                openapiv3::StringFormat::Date => "date",
                openapiv3::StringFormat::DateTime => "date-time",
                openapiv3::StringFormat::Password => "password",
                openapiv3::StringFormat::Byte => "byte",
                openapiv3::StringFormat::Binary => "binary",
            });
            facts.max_length = s.max_length;
            facts.min_length = s.min_length;
            facts.pattern = s.pattern.clone();
            facts.enum_values = enum_text(&s.enumeration);
        }
        SchemaKind::Type(Type::Integer(i)) => {
            facts.ty = "integer".into();
            facts.format = format_name(&i.format, |f| match f {
                openapiv3::IntegerFormat::Int32 => "int32",
                openapiv3::IntegerFormat::Int64 => "int64",
            });
            facts.enum_values = enum_text(&i.enumeration);
        }
        SchemaKind::Type(Type::Number(n)) => {
            facts.ty = "number".into();
            facts.format = format_name(&n.format, |f| match f {
                openapiv3::NumberFormat::Float => "float",
                openapiv3::NumberFormat::Double => "double",
            });
            facts.enum_values = enum_text(&n.enumeration);
        }
        SchemaKind::Type(Type::Boolean(b)) => {
            facts.ty = "boolean".into();
            facts.enum_values = enum_text(&b.enumeration);
        }
        SchemaKind::Type(Type::Array(a)) => {
            facts.ty = "array".into();
            facts.items = a.items.as_ref().map(|i| Box::new(facts_of_boxed(i)));
        }
        SchemaKind::Type(Type::Object(o)) => {
            facts.ty = "object".into();
            facts.additional_properties = match &o.additional_properties {
                None => None,
                Some(AdditionalProperties::Any(b)) => Some(*b),
                Some(AdditionalProperties::Schema(_)) => Some(true),
            };
            for (name, prop) in &o.properties {
                let mut prop_facts = facts_of_boxed(prop);
                prop_facts.required = o.required.iter().any(|r| r == name);
                facts.properties.insert(name.clone(), prop_facts);
            }
        }
        // `allOf` of one `$ref` is how OpenAPI 3.0 makes a named schema nullable or gives
        // it its own description: the property *is* that schema.
        SchemaKind::AllOf { all_of } if all_of.len() == 1 => {
            let inner = facts_of(&all_of[0]);
            facts.reference = inner.reference;
            facts.ty = inner.ty;
        }
        SchemaKind::AllOf { .. } => facts.ty = "allOf".into(),
        SchemaKind::OneOf { .. } => facts.ty = "oneOf".into(),
        SchemaKind::AnyOf { .. } => facts.ty = "anyOf".into(),
        SchemaKind::Not { .. } => facts.ty = "not".into(),
        SchemaKind::Any(_) => facts.ty = "any".into(),
    }
    facts
}

fn format_name<T>(
    format: &openapiv3::VariantOrUnknownOrEmpty<T>,
    name: impl FnOnce(&T) -> &'static str,
) -> Option<String> {
    match format {
        openapiv3::VariantOrUnknownOrEmpty::Item(v) => Some(name(v).to_string()),
        openapiv3::VariantOrUnknownOrEmpty::Unknown(s) => Some(s.clone()),
        openapiv3::VariantOrUnknownOrEmpty::Empty => None,
    }
}

#[cfg(test)]
mod corpus;
#[cfg(test)]
mod edit;
#[cfg(test)]
mod rows;
#[cfg(test)]
mod tests;
