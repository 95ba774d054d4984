//! The spec the responses are checked against: `openapi.yaml` (built in, or `--spec FILE`), its
//! `updateContact` operation, the JSON Schema validators of its responses, and its lines.

use std::fmt;
use std::path::Path;

use anyhow::{Context, anyhow, bail};
use boon::{Compiler, Draft, SchemaIndex, Schemas, UrlLoader};
use serde_json::Value;

use super::convert;
use super::lines::{Lines, child};

/// The repository's `openapi.yaml`, built into the binary.
pub const BUILT_IN: &str = include_str!("../../../openapi.yaml");

/// The operation the probes exercise.
pub const OPERATION_ID: &str = "updateContact";

/// The URL the converted spec is known by inside the validator; nothing is ever loaded from
/// it, or from any other URL (see [`NoLoader`]).
const BASE: &str = "urn:nateq:openapi";

/// A parsed spec, its line map, and a validator per response body and header.
pub struct Spec {
    /// Where the spec came from, for the report: `openapi.yaml (built in)` or the file.
    pub source: String,
    /// The spec as JSON, as written (before the conversion to JSON Schema).
    pub raw: Value,
    /// The line of every node of the YAML text.
    pub lines: Lines,
    /// The operation.
    pub operation: Operation,
    /// The operation's responses, with their validators.
    pub responses: Vec<ResponseSpec>,
    schemas: Schemas,
}

impl fmt::Debug for Spec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Spec")
            .field("source", &self.source)
            .field("operation", &self.operation)
            .field("responses", &self.responses)
            .finish_non_exhaustive()
    }
}

/// The probed operation, as the spec declares it.
#[derive(Debug, Clone)]
pub struct Operation {
    /// The path template, e.g. `/contacts/{id}`.
    pub path: String,
    /// The HTTP method, upper case.
    pub method: String,
    /// The JSON pointer of the operation object.
    pub pointer: String,
}

/// One documented response of the operation (a status, a range such as `4XX`, or `default`).
#[derive(Debug)]
pub struct ResponseSpec {
    /// The key in `responses`: `200`, `4XX`, `default`.
    pub key: String,
    /// The pointer of the response object (after a `$ref` to `components/responses`).
    pub pointer: String,
    /// The name of the `components/responses` entry it refers to, if any.
    pub name: Option<String>,
    /// The documented media types and the validator of each one's schema.
    pub media: Vec<Media>,
    /// The documented headers.
    pub headers: Vec<HeaderSpec>,
}

/// A documented media type of a response.
#[derive(Debug)]
pub struct Media {
    /// The media type as written, e.g. `application/json`.
    pub media_type: String,
    /// The validator of its schema, if it has one.
    pub schema: Option<SchemaIndex>,
    /// The pointer of its schema.
    pub pointer: String,
}

/// A documented response header.
#[derive(Debug)]
pub struct HeaderSpec {
    /// The header's name as written.
    pub name: String,
    /// Whether the spec says it is always sent.
    pub required: bool,
    /// The validator of its schema, if it has one.
    pub schema: Option<SchemaIndex>,
    /// The pointer of the header object.
    pub pointer: String,
}

/// Refuses every URL: a `$ref` that leaves the spec is an error, never a download or a read.
struct NoLoader;

impl UrlLoader for NoLoader {
    fn load(&self, url: &str) -> Result<Value, Box<dyn std::error::Error>> {
        Err(
            format!("{url} is outside the spec: only references inside openapi.yaml are followed")
                .into(),
        )
    }
}

impl Spec {
    /// The built-in spec, or the one in `file`.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Spec> {
        match file {
            None => Spec::parse(BUILT_IN, "openapi.yaml (built in)".into()),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read the spec {}", path.display()))?;
                Spec::parse(&text, path.display().to_string())
                    .with_context(|| format!("the spec {} cannot be used", path.display()))
            }
        }
    }

    /// Parses a spec and compiles the validators of the operation's responses.
    pub fn parse(yaml: &str, source: String) -> anyhow::Result<Spec> {
        let mut value: serde_yaml::Value =
            serde_yaml::from_str(yaml).context("the spec is not valid YAML")?;
        value
            .apply_merge()
            .context("the spec's YAML merge keys cannot be applied")?;
        let raw: Value = serde_json::to_value(value).context("the spec cannot be read as JSON")?;
        let lines = Lines::parse(yaml)?;
        let operation = find_operation(&raw)?;

        let mut compiler = Compiler::new();
        compiler.set_default_draft(Draft::V2020_12);
        compiler.enable_format_assertions();
        compiler.use_loader(Box::new(NoLoader));
        compiler
            .add_resource(BASE, convert::document(&raw))
            .map_err(|e| anyhow!("{e:#}"))?;
        let mut schemas = Schemas::new();
        let mut compile = |pointer: &str| -> anyhow::Result<SchemaIndex> {
            compiler
                .compile(&format!("{BASE}#{pointer}"), &mut schemas)
                .map_err(|e| anyhow!("the schema at {pointer} cannot be compiled: {e:#}"))
        };

        let responses_pointer = format!("{}/responses", operation.pointer);
        let Some(Value::Object(responses)) = raw.pointer(&responses_pointer) else {
            bail!("the operation {OPERATION_ID} documents no responses");
        };
        let mut out = Vec::new();
        for (key, response) in responses {
            let (pointer, name) = match response.get("$ref").and_then(Value::as_str) {
                Some(reference) => {
                    let pointer = local_pointer(reference)?;
                    let name = pointer
                        .strip_prefix("/components/responses/")
                        .map(str::to_string);
                    (pointer, name)
                }
                None => (child(&responses_pointer, key), None),
            };
            let response = raw.pointer(&pointer).ok_or_else(|| {
                anyhow!("the response {key} refers to {pointer}, which is absent")
            })?;
            let mut media = Vec::new();
            if let Some(Value::Object(content)) = response.get("content") {
                for (media_type, body) in content {
                    let schema_pointer = child(&child(&pointer, "content"), media_type) + "/schema";
                    let schema = match body.get("schema") {
                        Some(_) => Some(compile(&schema_pointer)?),
                        None => None,
                    };
                    media.push(Media {
                        media_type: media_type.clone(),
                        schema,
                        pointer: schema_pointer,
                    });
                }
            }
            let mut headers = Vec::new();
            if let Some(Value::Object(declared)) = response.get("headers") {
                for (name, header) in declared {
                    let mut header_pointer = child(&child(&pointer, "headers"), name);
                    let mut header = header;
                    if let Some(reference) = header.get("$ref").and_then(Value::as_str) {
                        header_pointer = local_pointer(reference)?;
                        header = raw.pointer(&header_pointer).ok_or_else(|| {
                            anyhow!("the header {name} refers to {header_pointer}, which is absent")
                        })?;
                    }
                    let schema = match header.get("schema") {
                        Some(_) => Some(compile(&format!("{header_pointer}/schema"))?),
                        None => None,
                    };
                    headers.push(HeaderSpec {
                        name: name.clone(),
                        required: header.get("required") == Some(&Value::Bool(true)),
                        schema,
                        pointer: header_pointer,
                    });
                }
            }
            out.push(ResponseSpec {
                key: key.clone(),
                pointer,
                name,
                media,
                headers,
            });
        }
        Ok(Spec {
            source,
            raw,
            lines,
            operation,
            responses: out,
            schemas,
        })
    }

    /// The response the spec documents for `status`: the status itself, else its range
    /// (`4XX`), else `default`.
    pub fn response_for(&self, status: u16) -> Option<&ResponseSpec> {
        let exact = status.to_string();
        let range = format!("{}XX", status / 100);
        self.responses
            .iter()
            .find(|r| r.key == exact)
            .or_else(|| {
                self.responses
                    .iter()
                    .find(|r| r.key.eq_ignore_ascii_case(&range))
            })
            .or_else(|| self.responses.iter().find(|r| r.key == "default"))
    }

    /// Validates `instance` with a compiled schema.
    pub fn validate<'s, 'v>(
        &'s self,
        instance: &'v Value,
        schema: SchemaIndex,
    ) -> Result<(), Box<boon::ValidationError<'s, 'v>>> {
        self.schemas.validate(instance, schema).map_err(Box::new)
    }

    /// The line of the node at `pointer`.
    pub fn line(&self, pointer: &str) -> Option<usize> {
        self.lines.line(pointer)
    }
}

/// The JSON pointer a location of the validator names (`urn:nateq:openapi#/components/...`).
pub fn pointer_of_url(url: &str) -> String {
    let fragment = url.split_once('#').map_or("", |(_, f)| f);
    percent_encoding::percent_decode_str(fragment)
        .decode_utf8_lossy()
        .into_owned()
}

/// The pointer of a local reference (`#/components/responses/NotFound`).
fn local_pointer(reference: &str) -> anyhow::Result<String> {
    reference
        .strip_prefix('#')
        .map(|p| {
            percent_encoding::percent_decode_str(p)
                .decode_utf8_lossy()
                .into_owned()
        })
        .ok_or_else(|| {
            anyhow!(
                "{reference} is outside the spec: only references inside openapi.yaml are followed"
            )
        })
}

/// The operation whose `operationId` is [`OPERATION_ID`].
fn find_operation(spec: &Value) -> anyhow::Result<Operation> {
    const METHODS: &[&str] = &[
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];
    let Some(Value::Object(paths)) = spec.get("paths") else {
        bail!("the spec has no paths");
    };
    for (path, item) in paths {
        for method in METHODS {
            if item
                .get(method)
                .and_then(|op| op.get("operationId"))
                .and_then(Value::as_str)
                == Some(OPERATION_ID)
            {
                return Ok(Operation {
                    path: path.clone(),
                    method: method.to_uppercase(),
                    pointer: child(&child("/paths", path), method),
                });
            }
        }
    }
    bail!("the spec has no operation {OPERATION_ID}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_built_in_spec_has_the_operation_and_its_responses() {
        let spec = Spec::load(None).unwrap();
        assert_eq!(spec.operation.path, "/contacts/{id}");
        assert_eq!(spec.operation.method, "PUT");
        assert_eq!(spec.response_for(200).unwrap().key, "200");
        let not_found = spec.response_for(404).unwrap();
        assert_eq!(not_found.name.as_deref(), Some("NotFound"));
        assert_eq!(not_found.media[0].media_type, "application/json");
        assert!(spec.response_for(418).is_none());
        let throttled = spec.response_for(429).unwrap();
        assert_eq!(throttled.headers[0].name, "Retry-After");
    }

    #[test]
    fn validators_follow_the_spec() {
        let spec = Spec::load(None).unwrap();
        let ok = spec.response_for(200).unwrap().media[0].schema.unwrap();
        let body = json!({"success": true, "data": {"id": "ct_1", "name": null}, "error": null});
        assert!(spec.validate(&body, ok).is_ok());
        let extra = json!({"success": true, "data": {"id": "ct_1", "extra": 1}});
        assert!(spec.validate(&extra, ok).is_err());
        let null_id = json!({"success": true, "data": {"id": null}});
        assert!(spec.validate(&null_id, ok).is_err());
    }

    #[test]
    fn refs_outside_the_spec_are_refused_not_loaded() {
        let yaml = BUILT_IN.replace(
            "$ref: \"#/components/schemas/UpdateContactResponse\"",
            "$ref: \"https://example.com/other.yaml#/X\"",
        );
        let error = Spec::parse(&yaml, "edited".into()).unwrap_err();
        assert!(
            format!("{error:#}").contains("outside the spec"),
            "{error:#}"
        );
    }

    #[test]
    fn ranges_and_default_answer_other_statuses() {
        let yaml = "openapi: 3.0.3\npaths:\n  /c/{id}:\n    put:\n      operationId: updateContact\n      responses:\n        '4XX':\n          description: x\n        default:\n          description: y\n";
        let spec = Spec::parse(yaml, "t".into()).unwrap();
        assert_eq!(spec.response_for(404).unwrap().key, "4XX");
        assert_eq!(spec.response_for(500).unwrap().key, "default");
    }
}
