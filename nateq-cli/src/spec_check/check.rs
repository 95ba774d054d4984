//! Checking one raw response against the spec: its status, `Content-Type`, body (with the
//! validator) and documented headers; and the headers the client relies on, present or absent.

use boon::{ErrorKind, ValidationError};
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use serde_json::Value;

use super::lines::child;
use super::report::{Finding, FindingKind, HeaderSeen};
use super::spec::{ResponseSpec, Spec, pointer_of_url};

/// The headers the client relies on: the throttle reads `Retry-After` and `X-RateLimit-*`,
/// errors quote `x-request-id`.
pub const RELIED_ON: &[&str] = &[
    "Retry-After",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "x-request-id",
];

/// A response as it came off the wire.
#[derive(Debug)]
pub struct RawResponse {
    /// The status code.
    pub status: u16,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Vec<u8>,
}

/// Everything in `response` that does not match the spec. `expected` is the status the spec
/// gives for the probe (`None`: any documented status will do, e.g. for a 429 before a retry).
pub fn check(spec: &Spec, expected: Option<u16>, response: &RawResponse) -> Vec<Finding> {
    let mut checker = Checker {
        spec,
        status: response.status,
        findings: Vec::new(),
    };
    let responses = format!("{}/responses", spec.operation.pointer);
    let Some(documented) = spec.response_for(response.status) else {
        let keys: Vec<&str> = spec.responses.iter().map(|r| r.key.as_str()).collect();
        checker.push(
            FindingKind::UndocumentedStatus,
            "status".into(),
            format!("one of {}", keys.join(", ")),
            response.status.to_string(),
            &responses,
        );
        return checker.findings;
    };
    if let Some(expected) = expected
        && expected != response.status
    {
        let expected_pointer = child(&responses, &expected.to_string());
        let at = if spec.line(&expected_pointer).is_some() {
            expected_pointer
        } else {
            responses.clone()
        };
        checker.push(
            FindingKind::UnexpectedStatus,
            "status".into(),
            match spec.response_for(expected).and_then(|r| r.name.as_deref()) {
                Some(name) => format!("{expected} ({name}) for this probe"),
                None => format!("{expected} for this probe"),
            },
            format!("{}{}", response.status, error_code(&response.body)),
            &at,
        );
    }
    checker.body(documented, response);
    checker.headers(documented, &response.headers);
    checker.findings
}

/// The headers the client relies on, present or absent, and whether the spec documents each
/// for this response's status.
pub fn headers_seen(spec: &Spec, response: &RawResponse) -> Vec<HeaderSeen> {
    let documented = spec.response_for(response.status);
    let is_documented = |name: &str| {
        documented.is_some_and(|r| r.headers.iter().any(|h| h.name.eq_ignore_ascii_case(name)))
    };
    let mut names: Vec<String> = RELIED_ON.iter().map(|n| n.to_string()).collect();
    // Other `X-RateLimit-*` headers the server sends (e.g. `X-RateLimit-Policy`).
    for name in response.headers.keys() {
        let name = name.as_str();
        if name.starts_with("x-ratelimit-") && !names.iter().any(|n| n.eq_ignore_ascii_case(name)) {
            names.push(name.to_string());
        }
    }
    names
        .into_iter()
        .map(|name| {
            let value = response
                .headers
                .get(name.as_str())
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
            HeaderSeen {
                present: value.is_some(),
                documented: is_documented(&name),
                value,
                name,
            }
        })
        .collect()
}

/// The error code of an error envelope, as ` NOT_FOUND`, to say what an unexpected status was.
fn error_code(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.pointer("/error/code")?.as_str().map(|c| format!(" {c}")))
        .unwrap_or_default()
}

/// Collects the findings of one response.
struct Checker<'s> {
    spec: &'s Spec,
    status: u16,
    findings: Vec<Finding>,
}

impl Checker<'_> {
    /// Adds a finding whose spec line is the node at `pointer`.
    fn push(
        &mut self,
        kind: FindingKind,
        path: String,
        spec: String,
        actual: String,
        pointer: &str,
    ) {
        self.findings.push(Finding {
            kind,
            path,
            spec,
            actual,
            line: self.spec.line(pointer),
            spec_pointer: Some(format!("#{pointer}")),
            status: self.status,
        });
    }

    /// The `Content-Type` and the body.
    fn body(&mut self, documented: &ResponseSpec, response: &RawResponse) {
        let content_type = response
            .headers
            .get(CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let content = format!("{}/content", documented.pointer);
        if documented.media.is_empty() {
            if !response.body.is_empty() {
                self.push(
                    FindingKind::ContentType,
                    "Content-Type".into(),
                    format!("no body for {}", documented.key),
                    format!(
                        "a body of {} bytes ({})",
                        response.body.len(),
                        content_type.as_deref().unwrap_or("no Content-Type")
                    ),
                    &documented.pointer,
                );
            }
            return;
        }
        let essence = content_type.as_deref().map(|ct| {
            ct.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
        let matched = essence.as_deref().and_then(|essence| {
            documented
                .media
                .iter()
                .find(|m| media_matches(&m.media_type, essence))
        });
        let media = match matched {
            Some(media) => media,
            None => {
                let documented_types: Vec<&str> = documented
                    .media
                    .iter()
                    .map(|m| m.media_type.as_str())
                    .collect();
                self.push(
                    FindingKind::ContentType,
                    "Content-Type".into(),
                    documented_types.join(" or "),
                    content_type
                        .clone()
                        .unwrap_or_else(|| "no Content-Type".into()),
                    &content,
                );
                // The body is still checked against the documented JSON schema, if it is JSON.
                match documented.media.iter().find(|m| is_json(&m.media_type)) {
                    Some(media) if serde_json::from_slice::<Value>(&response.body).is_ok() => media,
                    _ => return,
                }
            }
        };
        if !is_json(&media.media_type) {
            return;
        }
        let body: Value = match serde_json::from_slice(&response.body) {
            Ok(body) => body,
            Err(e) => {
                let text = String::from_utf8_lossy(&response.body);
                self.push(
                    FindingKind::InvalidJson,
                    String::new(),
                    format!("a JSON body ({})", media.media_type),
                    format!("not JSON ({e}): {}", short_text(&text)),
                    &media.pointer,
                );
                return;
            }
        };
        let Some(schema) = media.schema else {
            return;
        };
        if let Err(error) = self.spec.validate(&body, schema) {
            let mut leaves = Vec::new();
            flatten(&error, &mut Vec::new(), &mut leaves);
            for leaf in leaves {
                self.leaf(&leaf, &body);
            }
        }
    }

    /// The headers the spec documents for this response.
    fn headers(&mut self, documented: &ResponseSpec, headers: &HeaderMap) {
        for header in &documented.headers {
            let path = format!("header {}", header.name);
            let Some(value) = headers.get(header.name.as_str()) else {
                if header.required {
                    self.push(
                        FindingKind::Header,
                        path,
                        "always sent (required)".into(),
                        "absent".into(),
                        &header.pointer,
                    );
                }
                continue;
            };
            let Some(schema) = header.schema else {
                continue;
            };
            let text = String::from_utf8_lossy(value.as_bytes()).into_owned();
            // A header is text: it matches if the text, or the number or boolean it spells,
            // matches the schema.
            let mut candidates = vec![Value::String(text.clone())];
            if let Ok(parsed @ (Value::Number(_) | Value::Bool(_))) =
                serde_json::from_str::<Value>(text.trim())
            {
                candidates.push(parsed);
            }
            if !candidates
                .iter()
                .any(|c| self.spec.validate(c, schema).is_ok())
            {
                let schema_pointer = format!("{}/schema", header.pointer);
                self.push(
                    FindingKind::Header,
                    path,
                    describe(&self.spec.raw, &schema_pointer),
                    format!("{text:?}"),
                    &header.pointer,
                );
            }
        }
    }

    /// A finding from one error of the validator.
    fn leaf(&mut self, leaf: &Leaf<'_, '_, '_>, body: &Value) {
        let instance = body.pointer(&leaf.instance).unwrap_or(&Value::Null);
        let declaration = leaf.declaration.as_str();
        match leaf.kind {
            ErrorKind::AdditionalProperties { got } => {
                let properties = child(&leaf.schema, "properties");
                let at = if self.spec.line(&properties).is_some() {
                    properties
                } else {
                    leaf.schema.clone()
                };
                for name in got {
                    let value = instance.get(name.as_ref()).unwrap_or(&Value::Null);
                    self.push(
                        FindingKind::UndocumentedProperty,
                        child(&leaf.instance, name),
                        format!("no property {name:?} in {}", schema_name(&leaf.schema)),
                        format!("{} {}", json_type(value), short_value(value)),
                        &at,
                    );
                }
            }
            ErrorKind::Required { want } => {
                for name in want {
                    let property = child(&child(&leaf.schema, "properties"), name);
                    let at = if self.spec.line(&property).is_some() {
                        property
                    } else {
                        child(&leaf.schema, "required")
                    };
                    self.push(
                        FindingKind::MissingRequired,
                        child(&leaf.instance, name),
                        format!("{name:?} is required in {}", schema_name(&leaf.schema)),
                        "absent".into(),
                        &at,
                    );
                }
            }
            ErrorKind::Type { got, .. } => {
                let kind = if *got == boon::Type::Null {
                    FindingKind::NullNotAllowed
                } else {
                    FindingKind::TypeMismatch
                };
                self.push(
                    kind,
                    leaf.instance.clone(),
                    describe(&self.spec.raw, declaration),
                    format!("{} {}", json_type(instance), short_value(instance)),
                    declaration,
                );
            }
            ErrorKind::Enum { want } => {
                let values: Vec<String> = want.iter().map(|v| v.to_string()).collect();
                self.push(
                    FindingKind::Enum,
                    leaf.instance.clone(),
                    format!("one of {}", values.join(", ")),
                    short_value(instance),
                    declaration,
                );
            }
            ErrorKind::Const { want } => {
                self.push(
                    FindingKind::Enum,
                    leaf.instance.clone(),
                    format!("exactly {want}"),
                    short_value(instance),
                    declaration,
                );
            }
            ErrorKind::MaxLength { .. }
            | ErrorKind::MinLength { .. }
            | ErrorKind::Pattern { .. }
            | ErrorKind::Format { .. }
            | ErrorKind::Minimum { .. }
            | ErrorKind::Maximum { .. }
            | ErrorKind::ExclusiveMinimum { .. }
            | ErrorKind::ExclusiveMaximum { .. }
            | ErrorKind::MultipleOf { .. }
            | ErrorKind::MinItems { .. }
            | ErrorKind::MaxItems { .. }
            | ErrorKind::UniqueItems { .. }
            | ErrorKind::MinProperties { .. }
            | ErrorKind::MaxProperties { .. } => {
                self.push(
                    FindingKind::Limit,
                    leaf.instance.clone(),
                    leaf.kind.to_string(),
                    short_value(instance),
                    &leaf.schema,
                );
            }
            other => {
                self.push(
                    FindingKind::Schema,
                    leaf.instance.clone(),
                    other.to_string(),
                    short_value(instance),
                    &leaf.schema,
                );
            }
        }
    }
}

/// One error of the validator that has no causes: what failed, where in the body, where in
/// the spec, and the property declaration that holds it.
struct Leaf<'e, 's, 'v> {
    kind: &'e ErrorKind<'s, 'v>,
    /// The pointer of the value in the body.
    instance: String,
    /// The pointer of the schema in the spec.
    schema: String,
    /// The pointer of the property (or item) declaration that governs the value: the line to
    /// edit. The innermost schema evaluated at the same value whose location ends in
    /// `/properties/<name>` or `/items`, else the schema itself.
    declaration: String,
}

/// The errors without causes under `error`, each with its declaration.
fn flatten<'e, 's, 'v>(
    error: &'e ValidationError<'s, 'v>,
    ancestors: &mut Vec<(String, String)>,
    out: &mut Vec<Leaf<'e, 's, 'v>>,
) {
    let schema = pointer_of_url(error.schema_url);
    let instance = error.instance_location.to_string();
    if error.causes.is_empty() {
        let declaration = std::iter::once((&schema, &instance))
            .chain(ancestors.iter().rev().map(|(s, i)| (s, i)))
            .filter(|(_, i)| **i == instance)
            .map(|(s, _)| s)
            .find(|s| is_declaration(s))
            .unwrap_or(&schema)
            .clone();
        out.push(Leaf {
            kind: &error.kind,
            instance,
            schema,
            declaration,
        });
        return;
    }
    ancestors.push((schema, instance));
    for cause in &error.causes {
        flatten(cause, ancestors, out);
    }
    ancestors.pop();
}

/// Whether a schema location declares a property or the items of a list.
fn is_declaration(pointer: &str) -> bool {
    let mut tokens = pointer.rsplit('/');
    let last = tokens.next();
    let before = tokens.next();
    before == Some("properties") || last == Some("items")
}

/// What the spec says about the schema at `pointer`, in a few words: its type (or the schema
/// it refers to), whether it may be null, and its limits.
pub fn describe(spec: &Value, pointer: &str) -> String {
    let Some(schema) = spec.pointer(pointer) else {
        return "a value".into();
    };
    let mut words = Vec::new();
    let reference = schema.get("$ref").and_then(Value::as_str).or_else(|| {
        match schema
            .get("allOf")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
        {
            Some([only]) => only.get("$ref").and_then(Value::as_str),
            _ => None,
        }
    });
    match (schema.get("type").and_then(Value::as_str), reference) {
        (Some(kind), _) => words.push(kind.to_string()),
        (None, Some(reference)) => {
            let target = reference.strip_prefix('#').unwrap_or(reference);
            let kind = spec
                .pointer(target)
                .and_then(|t| t.get("type"))
                .and_then(Value::as_str)
                .unwrap_or("a value");
            words.push(format!("{kind} ({})", schema_name(target)));
        }
        (None, None) => words.push("any value".into()),
    }
    if let Some(format) = schema.get("format").and_then(Value::as_str) {
        words.push(format!("format {format}"));
    }
    if schema.get("nullable") == Some(&Value::Bool(true)) {
        words.push("nullable".into());
    } else {
        words.push("not nullable".into());
    }
    for keyword in [
        "enum",
        "maxLength",
        "minLength",
        "pattern",
        "minimum",
        "maximum",
    ] {
        if let Some(value) = schema.get(keyword) {
            words.push(format!("{keyword} {value}"));
        }
    }
    words.join(", ")
}

/// `Contact` for `/components/schemas/Contact`; the pointer itself otherwise.
fn schema_name(pointer: &str) -> String {
    match pointer.strip_prefix("/components/schemas/") {
        Some(name) if !name.contains('/') => name.to_string(),
        _ => format!("#{pointer}"),
    }
}

/// Whether a documented media type covers the received one (`application/json`, `*/*`,
/// `application/*`).
fn media_matches(documented: &str, received: &str) -> bool {
    let documented = documented.trim().to_ascii_lowercase();
    documented == received
        || documented == "*/*"
        || documented
            .strip_suffix("/*")
            .is_some_and(|kind| received.split('/').next() == Some(kind))
}

/// Whether a media type is JSON (`application/json`, `application/problem+json`).
fn is_json(media_type: &str) -> bool {
    let essence = media_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json" || essence.ends_with("+json")
}

/// The JSON type of a value, in JSON Schema's words.
pub fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A value in a few characters: long strings by their length, long JSON cut.
fn short_value(value: &Value) -> String {
    match value {
        Value::String(s) if s.chars().count() > 60 => {
            format!("a string of {} characters", s.chars().count())
        }
        other => short_text(&other.to_string()),
    }
}

/// At most 60 characters of `text`, on one line.
fn short_text(text: &str) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if one_line.chars().count() > 60 {
        let cut: String = one_line.chars().take(60).collect();
        format!("{cut}…")
    } else {
        one_line
    }
}
