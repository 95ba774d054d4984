//! The verdict of every kind of change, per direction: [`RULES`], which the crate's README
//! prints as its table, and the lookup the classifier uses.
//!
//! The rule is the API-diff tools' (oasdiff, openapi-diff, Optic): narrowing what a client
//! sends, or widening what it receives, breaks callers. For the generated SDK, a change that
//! renames or removes something callers name (a method, a setter, a field, an enum variant)
//! or changes a field's Rust type breaks callers too, even where the wire would not.

use serde::{Deserialize, Serialize};

/// What a change does to callers.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Callers built from the old spec fail, or their code stops compiling against the
    /// regenerated SDK.
    Breaking,
    /// The contract changed; existing callers keep working.
    Ok,
    /// Only descriptions, summaries, titles or examples changed.
    Docs,
}

impl Verdict {
    /// `BREAKING`, `ok` or `docs`, as the text report marks a change.
    pub fn mark(self) -> &'static str {
        match self {
            Verdict::Breaking => "BREAKING",
            Verdict::Ok => "ok",
            Verdict::Docs => "docs",
        }
    }
}

/// Which way the data of a change flows.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Sent by the client: parameters, request bodies and the schemas they use.
    Request,
    /// Received by the client: responses, their headers and the schemas they use.
    Response,
    /// A schema used on both sides: a change breaks when it breaks either side.
    Both,
    /// Not about data (operations, security, docs), or a schema no operation uses (judged
    /// as if used on both sides, since its generated type is public all the same).
    None,
}

impl Direction {
    pub(super) fn union(self, other: Direction) -> Direction {
        use Direction::*;
        match (self, other) {
            (None, d) | (d, None) => d,
            (a, b) if a == b => a,
            _ => Both,
        }
    }
}

/// The verdict and reason of one kind of change in one direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// The kind of change (stable, kebab-case: `max-length-decreased`).
    pub kind: &'static str,
    /// The direction the rule is for; [`Direction::None`] when the kind has no direction.
    pub direction: Direction,
    /// The verdict.
    pub verdict: Verdict,
    /// Why, for a reader of the report.
    pub why: &'static str,
}

const fn rule(
    kind: &'static str,
    direction: Direction,
    verdict: Verdict,
    why: &'static str,
) -> Rule {
    Rule {
        kind,
        direction,
        verdict,
        why,
    }
}

use Direction::{None as Any, Request as Req, Response as Resp};
use Verdict::{Breaking as B, Docs as D, Ok as K};

/// Every kind of change the summary reports, per direction, with its verdict and reason.
#[rustfmt::skip]
pub const RULES: &[Rule] = &[
    // Operations.
    rule("operation-added", Any, K, "a new method; existing calls are untouched"),
    rule("operation-removed", Any, B, "calls to it fail, and its generated method disappears"),
    rule("operation-path-changed", Any, B, "clients built from the old spec call a path the API no longer serves"),
    rule("operation-method-changed", Any, B, "clients built from the old spec send a method the path no longer accepts"),
    rule("operation-id-changed", Any, B, "the generated method is named after the operationId: callers' code stops compiling"),
    rule("path-parameter-renamed", Any, B, "the URL is the same, but the builder's setter is named after the parameter: callers' code stops compiling"),
    // Security.
    rule("security-requirement-removed", Any, B, "callers that authenticate this way are refused"),
    rule("security-requirement-added", Any, K, "a new way to authenticate; the old ones still work"),
    rule("security-scope-added", Any, B, "keys without the new scope are refused (403)"),
    rule("security-scope-removed", Any, K, "keys need less than before"),
    rule("security-dropped", Any, K, "no credential is needed any more; the SDK still sends its key, harmlessly"),
    rule("security-scheme-changed", Any, B, "the SDK sends its key as `Authorization: Bearer`; a scheme of another type or place refuses every request"),
    rule("security-scheme-added", Any, K, "nothing requires it until an operation names it (reported on its own)"),
    rule("security-scheme-removed", Any, K, "an operation that required it reports its own requirement change"),
    // Parameters (all locations).
    rule("parameter-added-required", Req, B, "callers built from the old spec do not send it and are refused"),
    rule("parameter-added-optional", Req, K, "callers may leave it out"),
    rule("parameter-removed", Req, B, "the builder's setter disappears, and old clients still send it"),
    rule("parameter-became-required", Req, B, "callers that leave it out are refused"),
    rule("parameter-became-optional", Req, K, "callers may still send it"),
    // Request body.
    rule("request-body-added-required", Req, B, "callers built from the old spec send no body and are refused"),
    rule("request-body-added-optional", Req, K, "callers may leave it out"),
    rule("request-body-removed", Req, B, "the builder's `body` setter disappears, and old clients still send one"),
    rule("request-body-became-required", Req, B, "callers that send no body are refused"),
    rule("request-body-became-optional", Req, K, "callers may still send it"),
    rule("media-type-added", Req, K, "one more way to send the body; the old one still works"),
    rule("media-type-added", Resp, K, "the generated client asks for and decodes `application/json`; a new alternative does not change what it gets"),
    rule("media-type-removed", Req, B, "clients that send this media type are refused"),
    rule("media-type-removed", Resp, B, "clients that read this media type get something else"),
    rule("schema-changed", Req, B, "the body is another named schema: the generated type callers build is another one"),
    rule("schema-changed", Resp, B, "the body is another named schema: the generated type callers read is another one"),
    // Responses.
    rule("success-status-added", Resp, K, "the success type stays the one schema progenitor allows for all 2xx"),
    rule("success-status-removed", Resp, B, "callers that relied on it get something else"),
    rule("error-status-added", Resp, K, "every error status shares the error envelope, which the SDK already decodes"),
    rule("error-status-removed", Resp, K, "callers no longer see it; handling it is harmless"),
    rule("response-header-added", Resp, K, "callers that do not read it are unaffected"),
    rule("response-header-removed", Resp, B, "callers that read it (the SDK reads `Retry-After` and the rate-limit headers) stop getting it"),
    rule("response-header-became-optional", Resp, B, "callers that rely on it may not get it"),
    rule("response-header-became-required", Resp, K, "callers get it every time, as they could before"),
    // Component schemas.
    rule("schema-added", Any, K, "a new generated type; nothing existing changes"),
    rule("schema-removed", Any, B, "its generated type disappears: code that names it stops compiling"),
    // Properties.
    rule("property-added-optional", Req, K, "a new setter; callers may leave it out"),
    rule("property-added-optional", Resp, K, "a new `Option` field; readers that ignore it are unaffected"),
    rule("property-added-required", Req, B, "callers built from the old spec do not send it and are refused"),
    rule("property-added-required", Resp, K, "a new field; readers that ignore it are unaffected"),
    rule("property-removed", Req, B, "its setter disappears, and the API refuses it from old clients (the request schema is closed)"),
    rule("property-removed", Resp, B, "its field disappears from the generated type: code that reads it stops compiling"),
    rule("property-became-required", Req, B, "callers that leave it out are refused"),
    rule("property-became-required", Resp, K, "readers get it every time, as they could before; a nullable one stays an `Option`"),
    rule("property-became-optional", Req, K, "callers may still send it"),
    rule("property-became-optional", Resp, B, "readers that rely on it may not get it"),
    rule("became-nullable", Req, K, "callers may still send a value"),
    rule("became-nullable", Resp, B, "readers get `null` where the old spec promised a value"),
    rule("became-not-nullable", Req, B, "callers that send `null` are refused"),
    rule("became-not-nullable", Resp, K, "readers get a value where they could get `null`; an optional one stays an `Option`"),
    rule("type-changed", Req, B, "old clients send the old type, and the generated setter takes another"),
    rule("type-changed", Resp, B, "old clients cannot decode the new type, and the generated field has another type"),
    rule("format-added", Req, B, "values that do not match the format are refused"),
    rule("format-added", Resp, K, "readers get values of a narrower format"),
    rule("format-removed", Req, K, "any value of the type is accepted now"),
    rule("format-removed", Resp, B, "readers that rely on the format may get other values"),
    rule("format-changed", Req, B, "values of the old format may be refused"),
    rule("format-changed", Resp, B, "readers that rely on the old format get another"),
    rule("enum-value-added", Req, K, "one more value callers may send"),
    rule("enum-value-added", Resp, B, "the generated enum cannot decode the new value: old clients fail on it"),
    rule("enum-value-removed", Req, B, "callers that send it are refused"),
    rule("enum-value-removed", Resp, B, "its variant disappears from the generated enum: code that names it stops compiling"),
    rule("enum-set", Req, B, "values outside the list are refused, and the setter takes an enum instead of a string"),
    rule("enum-set", Resp, B, "the generated field becomes an enum: code that reads a string stops compiling"),
    rule("enum-unset", Req, K, "any value of the type is accepted now"),
    rule("enum-unset", Resp, B, "readers get values outside the old list, which the generated enum cannot decode"),
    rule("max-length-decreased", Req, B, "longer values that were accepted are refused"),
    rule("max-length-decreased", Resp, K, "readers get shorter values than they accept"),
    rule("max-length-increased", Req, K, "every value that was accepted still is"),
    rule("max-length-increased", Resp, B, "the generated type of an old client refuses the longer values"),
    rule("min-length-increased", Req, B, "shorter values that were accepted are refused"),
    rule("min-length-increased", Resp, K, "readers get longer values than they accept"),
    rule("min-length-decreased", Req, K, "every value that was accepted still is"),
    rule("min-length-decreased", Resp, B, "the generated type of an old client refuses the shorter values"),
    rule("pattern-added", Req, B, "values that do not match are refused"),
    rule("pattern-added", Resp, K, "readers get values of a narrower shape"),
    rule("pattern-removed", Req, K, "every value that was accepted still is"),
    rule("pattern-removed", Resp, B, "the generated type of an old client refuses values outside the old pattern"),
    rule("pattern-changed", Req, B, "values that matched the old pattern may be refused"),
    rule("pattern-changed", Resp, B, "the generated type of an old client refuses values outside the old pattern"),
    rule("additional-properties-closed", Req, B, "callers that send other properties are refused"),
    rule("additional-properties-closed", Resp, K, "readers get only the listed properties"),
    rule("additional-properties-opened", Req, K, "every body that was accepted still is"),
    rule("additional-properties-opened", Resp, B, "the generated type (`deny_unknown_fields`) of an old client refuses the other properties"),
    rule("generated-type-changed", Resp, B, "the generated field's Rust type changes (`Option<T>` and `T`, a validating newtype, a typed format): code that reads it stops compiling"),
    // Documents, descriptions and examples.
    rule("servers-changed", Any, K, "the SDK's default base URL is written by hand in nateq-api: check that it still matches"),
    rule("info-changed", Any, D, "the document's title, version or description: no request or response changes"),
    rule("description-changed", Any, D, "documentation only: no request or response changes"),
    rule("example-changed", Any, D, "documentation only: no request or response changes"),
];

#[cfg(test)]
thread_local! {
    /// A rule whose verdict the tests flip, to see that the test of that row fails.
    pub(crate) static FLIPPED: std::cell::Cell<Option<(&'static str, Direction)>> =
        const { std::cell::Cell::new(None) };
}

fn verdict_of(rule: &Rule) -> Verdict {
    #[cfg(test)]
    if FLIPPED.get() == Some((rule.kind, rule.direction)) {
        return match rule.verdict {
            Verdict::Breaking => Verdict::Ok,
            Verdict::Ok | Verdict::Docs => Verdict::Breaking,
        };
    }
    rule.verdict
}

/// The rule for `kind` in `direction`: the worse of both sides for [`Direction::Both`] and
/// for a schema no operation uses.
pub(super) fn lookup(kind: &'static str, direction: Direction) -> (Verdict, String) {
    let find = |d: Direction| {
        RULES
            .iter()
            .find(|r| r.kind == kind && (r.direction == d || r.direction == Direction::None))
    };
    let sides: Vec<&Rule> = match direction {
        Direction::Request | Direction::Response => find(direction).into_iter().collect(),
        Direction::Both | Direction::None => find(Direction::Request)
            .into_iter()
            .chain(find(Direction::Response))
            .collect(),
    };
    let worst = sides.iter().min_by_key(|r| verdict_of(r));
    match worst {
        Some(r) if r.direction != Direction::None && sides.len() > 1 && sides[0] != sides[1] => {
            let side = if r.direction == Direction::Request {
                "in requests"
            } else {
                "in responses"
            };
            (
                verdict_of(r),
                format!("used on both sides; {side}: {}", r.why),
            )
        }
        Some(r) => (verdict_of(r), r.why.to_string()),
        // Every kind the classifier emits has a rule (a test holds them together).
        None => (Verdict::Breaking, "no rule for this change".to_string()),
    }
}
