//! The difference between two summaries, each change classified by the rule the API-diff
//! tools (oasdiff, openapi-diff, Optic) share: narrowing what a client sends, or widening what
//! it receives, breaks callers. For the generated SDK, a change that renames or removes
//! something callers name (a method, a setter, a field, an enum variant) or changes a
//! field's Rust type breaks callers too, even where the wire would not.
//!
//! Every kind of change, per direction, has one verdict and one reason:
//! [`RULES`](super::RULES), which the crate's README prints as its table. Schemas and
//! properties are compared in `schema_diff`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::rules::lookup;
use super::{Direction, Docs, Facts, Header, Media, Operation, Parameter, Summary, Verdict};

/// One difference between two summaries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Change {
    /// The kind of change: a stable, kebab-case name from the README's table
    /// (`max-length-decreased`).
    pub kind: String,
    /// `breaking`, `ok` or `docs`.
    pub verdict: Verdict,
    /// `request`, `response`, `both` or `none`: which way the data flows.
    pub direction: Direction,
    /// Where, in words: `schema UpdateContactRequest.name`, `PUT /contacts/{id} response 429`.
    pub location: String,
    /// Where, in the spec: a JSON pointer (`/components/schemas/Contact/properties/name`) in
    /// which a parameter is named by its `name` rather than its index.
    pub path: String,
    /// What changed, in words (`maxLength 255 -> 100`).
    pub what: String,
    /// Why the verdict (from the README's table).
    pub reason: String,
    /// The value before the change (`null` when it did not exist).
    pub before: Option<Value>,
    /// The value after the change (`null` when it no longer exists).
    pub after: Option<Value>,
    /// The line of `openapi.yaml` to look at: the changed node, or for something removed,
    /// the nearest node that is still there.
    pub line: Option<usize>,
    /// Other paths to try for the line, in order, when `path` is not in the spec.
    #[serde(skip)]
    #[schemars(skip)]
    pub(crate) fallbacks: Vec<String>,
}

impl Change {
    /// Whether existing callers can break.
    pub fn is_breaking(&self) -> bool {
        self.verdict == Verdict::Breaking
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[{}] {}: {}",
            self.verdict.mark(),
            self.location,
            self.what
        )
    }
}

/// A JSON pointer under construction.
#[derive(Debug, Clone, Default)]
struct Ptr(Vec<String>);

impl Ptr {
    fn root() -> Ptr {
        Ptr(Vec::new())
    }

    fn at(&self, segments: &[&str]) -> Ptr {
        let mut next = self.0.clone();
        next.extend(segments.iter().map(|s| s.to_string()));
        Ptr(next)
    }
}

impl fmt::Display for Ptr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for seg in &self.0 {
            write!(f, "/{}", seg.replace('~', "~0").replace('/', "~1"))?;
        }
        Ok(())
    }
}

/// Where a change is, in words and in the spec.
#[derive(Debug, Clone)]
pub(super) struct Place {
    location: String,
    ptr: Ptr,
    fallbacks: Vec<String>,
}

impl Place {
    fn new(location: impl Into<String>, ptr: Ptr) -> Place {
        Place {
            location: location.into(),
            ptr,
            fallbacks: Vec::new(),
        }
    }

    pub(super) fn child(&self, suffix: &str, segments: &[&str]) -> Place {
        Place {
            location: format!("{}{suffix}", self.location),
            ptr: self.ptr.at(segments),
            fallbacks: Vec::new(),
        }
    }
}

pub(super) struct Diff<'a> {
    old: &'a Summary,
    new: &'a Summary,
    out: Vec<Change>,
}

/// Lists what changed from `old` to `new`, in a stable order.
pub fn diff(old: &Summary, new: &Summary) -> Vec<Change> {
    let mut d = Diff {
        old,
        new,
        out: Vec::new(),
    };
    d.document();
    d.security_schemes();
    d.operations();
    d.schemas();
    d.out
}

pub(super) fn text(v: &Option<impl fmt::Display>) -> String {
    v.as_ref()
        .map_or_else(|| "none".to_string(), ToString::to_string)
}

pub(super) fn opt_json<T: Serialize>(v: &Option<T>) -> Option<Value> {
    v.as_ref().and_then(|v| serde_json::to_value(v).ok())
}

/// `/contacts/{id}` and `/contacts/{contactId}` are the same URL.
fn url_shape(path: &str) -> String {
    let mut shape = String::new();
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_param = true;
                shape.push_str("{}");
            }
            '}' => in_param = false,
            c if !in_param => shape.push(c),
            _ => {}
        }
    }
    shape
}

fn path_params(path: &str) -> Vec<String> {
    path.split('{')
        .skip(1)
        .filter_map(|s| s.split_once('}').map(|(name, _)| name.to_string()))
        .collect()
}

fn split_key(key: &str) -> (&str, &str) {
    key.split_once(' ').unwrap_or(("", key))
}

fn op_ptr(key: &str) -> Ptr {
    let (method, path) = split_key(key);
    Ptr::root().at(&["paths", path, &method.to_lowercase()])
}

fn is_success(status: &str) -> bool {
    status.starts_with('2')
}

impl Diff<'_> {
    pub(super) fn push(
        &mut self,
        kind: &'static str,
        direction: Direction,
        place: &Place,
        what: String,
        before: Option<Value>,
        after: Option<Value>,
    ) {
        let (verdict, reason) = lookup(kind, direction);
        self.out.push(Change {
            kind: kind.to_string(),
            verdict,
            direction,
            location: place.location.clone(),
            path: place.ptr.to_string(),
            what,
            reason,
            before,
            after,
            line: None,
            fallbacks: place.fallbacks.clone(),
        });
    }

    pub(super) fn docs(&mut self, place: &Place, o: &Docs, n: &Docs) {
        if o.summary != n.summary || o.description != n.description {
            let what = if o.description != n.description {
                "description changed"
            } else {
                "summary or title changed"
            };
            let (before, after) = if o.description != n.description {
                (opt_json(&o.description), opt_json(&n.description))
            } else {
                (opt_json(&o.summary), opt_json(&n.summary))
            };
            let field = if o.description != n.description {
                "description"
            } else if place.ptr.0.iter().any(|s| s == "paths") {
                "summary"
            } else {
                "title"
            };
            let at = place.child("", &[field]);
            self.push(
                "description-changed",
                Direction::None,
                &at,
                what.into(),
                before,
                after,
            );
        }
        if o.example != n.example {
            let at = place.child("", &["example"]);
            self.push(
                "example-changed",
                Direction::None,
                &at,
                "example changed".into(),
                o.example.clone(),
                n.example.clone(),
            );
        }
    }

    fn document(&mut self) {
        let (o, n) = (&self.old.info, &self.new.info);
        let info = Place::new("info", Ptr::root().at(&["info"]));
        for (field, before, after) in [
            ("title", Some(&o.title), Some(&n.title)),
            ("version", Some(&o.version), Some(&n.version)),
            (
                "description",
                o.description.as_ref(),
                n.description.as_ref(),
            ),
        ] {
            if before != after {
                self.push(
                    "info-changed",
                    Direction::None,
                    &info.child(&format!(".{field}"), &[field]),
                    format!("{field} changed"),
                    before.map(|s| json!(s)),
                    after.map(|s| json!(s)),
                );
            }
        }
        if self.old.servers != self.new.servers {
            self.push(
                "servers-changed",
                Direction::None,
                &Place::new("servers", Ptr::root().at(&["servers"])),
                format!(
                    "servers {} -> {}",
                    self.old.servers.join(", "),
                    self.new.servers.join(", ")
                ),
                Some(json!(self.old.servers)),
                Some(json!(self.new.servers)),
            );
        }
    }

    fn security_schemes(&mut self) {
        let (old, new) = (self.old, self.new);
        for (name, o) in &old.security_schemes {
            let place = Place::new(
                format!("security scheme {name}"),
                Ptr::root().at(&["components", "securitySchemes", name]),
            );
            let Some(n) = new.security_schemes.get(name) else {
                self.push(
                    "security-scheme-removed",
                    Direction::None,
                    &place,
                    format!("removed ({} {})", o.kind, o.scheme),
                    Some(json!(format!("{} {}", o.kind, o.scheme))),
                    None,
                );
                continue;
            };
            if o.kind != n.kind || o.scheme != n.scheme {
                self.push(
                    "security-scheme-changed",
                    Direction::None,
                    &place,
                    format!("{} {} -> {} {}", o.kind, o.scheme, n.kind, n.scheme),
                    Some(json!(format!("{} {}", o.kind, o.scheme))),
                    Some(json!(format!("{} {}", n.kind, n.scheme))),
                );
            }
            if o.bearer_format != n.bearer_format {
                self.push(
                    "description-changed",
                    Direction::None,
                    &place.child("", &["bearerFormat"]),
                    format!(
                        "bearerFormat {} -> {} (documentation only)",
                        text(&o.bearer_format),
                        text(&n.bearer_format)
                    ),
                    opt_json(&o.bearer_format),
                    opt_json(&n.bearer_format),
                );
            }
            self.docs(&place, &o.docs, &n.docs);
        }
        for (name, n) in &new.security_schemes {
            if !old.security_schemes.contains_key(name) {
                self.push(
                    "security-scheme-added",
                    Direction::None,
                    &Place::new(
                        format!("security scheme {name}"),
                        Ptr::root().at(&["components", "securitySchemes", name]),
                    ),
                    format!("added ({} {})", n.kind, n.scheme),
                    None,
                    Some(json!(format!("{} {}", n.kind, n.scheme))),
                );
            }
        }
    }

    fn operations(&mut self) {
        let (old, new) = (self.old, self.new);
        let mut matched_new = BTreeSet::new();
        for (key, o) in &old.operations {
            if let Some(n) = new.operations.get(key) {
                matched_new.insert(key.clone());
                self.operation(key, key, o, n);
                continue;
            }
            let (method, path) = split_key(key);
            // The same operation somewhere else: the same URL with renamed parameters, or
            // the same operationId under another path or method.
            let moved = new.operations.iter().find(|(k, n)| {
                let (m, p) = split_key(k);
                !old.operations.contains_key(*k)
                    && ((m == method && url_shape(p) == url_shape(path))
                        || (!o.operation_id.is_empty() && n.operation_id == o.operation_id))
            });
            match moved {
                Some((new_key, n)) => {
                    matched_new.insert(new_key.clone());
                    let (m, p) = split_key(new_key);
                    let place = Place::new(key.to_string(), op_ptr(new_key));
                    if m != method {
                        self.push(
                            "operation-method-changed",
                            Direction::None,
                            &place,
                            format!("method {method} -> {m} ({path})"),
                            Some(json!(method)),
                            Some(json!(m)),
                        );
                    }
                    if url_shape(p) != url_shape(path) {
                        self.push(
                            "operation-path-changed",
                            Direction::None,
                            &place,
                            format!("path {path} -> {p}"),
                            Some(json!(path)),
                            Some(json!(p)),
                        );
                    }
                    self.operation(key, new_key, o, n);
                }
                None => self.push(
                    "operation-removed",
                    Direction::None,
                    &Place::new(key.to_string(), Ptr::root().at(&["paths", path])),
                    format!("removed (operationId {})", o.operation_id),
                    Some(json!(key)),
                    None,
                ),
            }
        }
        for (key, n) in &new.operations {
            if !matched_new.contains(key) {
                self.push(
                    "operation-added",
                    Direction::None,
                    &Place::new(key.to_string(), op_ptr(key)),
                    format!("added (operationId {})", n.operation_id),
                    None,
                    Some(json!(key)),
                );
            }
        }
    }

    fn operation(&mut self, old_key: &str, new_key: &str, o: &Operation, n: &Operation) {
        let op = Place::new(new_key.to_string(), op_ptr(new_key));
        if o.operation_id != n.operation_id {
            self.push(
                "operation-id-changed",
                Direction::None,
                &op.child(" operationId", &["operationId"]),
                format!(
                    "operationId {} -> {} (the generated method is renamed)",
                    o.operation_id, n.operation_id
                ),
                Some(json!(o.operation_id)),
                Some(json!(n.operation_id)),
            );
        }
        self.docs(&op, &o.docs, &n.docs);
        self.security(&op, o, n);

        // Path parameters pair up by position: `{id}` renamed `{contactId}` is one parameter.
        let renames: BTreeMap<String, String> = path_params(split_key(old_key).1)
            .into_iter()
            .zip(path_params(split_key(new_key).1))
            .filter(|(a, b)| a != b)
            .map(|(a, b)| (format!("path {a}"), format!("path {b}")))
            .collect();
        for (old_name, new_name) in &renames {
            let new_param = split_key(new_name).1;
            self.push(
                "path-parameter-renamed",
                Direction::None,
                &op.child(
                    &format!(" parameter {new_name}"),
                    &["parameters", new_param],
                ),
                format!("path parameter {} -> {new_param}", split_key(old_name).1),
                Some(json!(split_key(old_name).1)),
                Some(json!(new_param)),
            );
        }
        for (name, op_old) in &o.parameters {
            let new_name = renames.get(name).unwrap_or(name);
            let (place_in, pname) = split_key(new_name);
            let place = op.child(
                &format!(" parameter {place_in} {pname}"),
                &["parameters", pname],
            );
            match n.parameters.get(new_name) {
                None => self.push(
                    "parameter-removed",
                    Direction::Request,
                    &place,
                    "removed".into(),
                    Some(json!(name)),
                    None,
                ),
                Some(op_new) => self.parameter(&place, op_old, op_new),
            }
        }
        let renamed_to: BTreeSet<&String> = renames.values().collect();
        for (name, p) in &n.parameters {
            if o.parameters.contains_key(name) || renamed_to.contains(name) {
                continue;
            }
            let (place_in, pname) = split_key(name);
            let place = op.child(
                &format!(" parameter {place_in} {pname}"),
                &["parameters", pname],
            );
            let kind = if p.required {
                "parameter-added-required"
            } else {
                "parameter-added-optional"
            };
            self.push(
                kind,
                Direction::Request,
                &place,
                format!(
                    "added ({}{})",
                    p.schema.type_name(),
                    if p.required { ", required" } else { "" }
                ),
                None,
                Some(json!(name)),
            );
        }
        self.request_body(&op, o, n);
        self.responses(&op, o, n);
    }

    fn security(&mut self, op: &Place, o: &Operation, n: &Operation) {
        let mut place = op.child(" security", &["security"]);
        place.fallbacks = vec!["/security".to_string()];
        let anonymous = |alts: &Vec<BTreeMap<String, Vec<String>>>| {
            alts.is_empty() || alts.iter().any(BTreeMap::is_empty)
        };
        let names = |req: &BTreeMap<String, Vec<String>>| req.keys().cloned().collect::<Vec<_>>();
        if anonymous(&o.security) {
            // Anything new is an added requirement on an open operation.
            for req in n.security.iter().filter(|r| !r.is_empty()) {
                if !anonymous(&n.security) {
                    self.push(
                        "security-requirement-added",
                        Direction::None,
                        &place,
                        format!("requires {}", names(req).join(" and ")),
                        None,
                        Some(json!(req)),
                    );
                }
            }
            return;
        }
        if anonymous(&n.security) {
            self.push(
                "security-dropped",
                Direction::None,
                &place,
                "no credential is required any more".into(),
                Some(json!(o.security)),
                Some(json!(n.security)),
            );
            return;
        }
        for req in &o.security {
            match n.security.iter().find(|r| names(r) == names(req)) {
                None => self.push(
                    "security-requirement-removed",
                    Direction::None,
                    &place,
                    format!("{} no longer accepted", names(req).join(" and ")),
                    Some(json!(req)),
                    None,
                ),
                Some(new_req) => {
                    for (scheme, scopes) in req {
                        let new_scopes = new_req.get(scheme).cloned().unwrap_or_default();
                        for s in new_scopes.iter().filter(|s| !scopes.contains(s)) {
                            self.push(
                                "security-scope-added",
                                Direction::None,
                                &place,
                                format!("{scheme} requires scope `{s}`"),
                                None,
                                Some(json!(s)),
                            );
                        }
                        for s in scopes.iter().filter(|s| !new_scopes.contains(s)) {
                            self.push(
                                "security-scope-removed",
                                Direction::None,
                                &place,
                                format!("{scheme} no longer requires scope `{s}`"),
                                Some(json!(s)),
                                None,
                            );
                        }
                    }
                }
            }
        }
        for req in &n.security {
            if !o.security.iter().any(|r| names(r) == names(req)) {
                self.push(
                    "security-requirement-added",
                    Direction::None,
                    &place,
                    format!("{} accepted", names(req).join(" and ")),
                    None,
                    Some(json!(req)),
                );
            }
        }
    }

    fn parameter(&mut self, place: &Place, o: &Parameter, n: &Parameter) {
        let old = (o.required, &o.docs, &o.schema);
        let new = (n.required, &n.docs, &n.schema);
        let kinds = ["parameter-became-required", "parameter-became-optional"];
        self.required_docs_schema(place, kinds, Direction::Request, old, new);
    }

    fn header(&mut self, place: &Place, o: &Header, n: &Header) {
        let old = (o.required, &o.docs, &o.schema);
        let new = (n.required, &n.docs, &n.schema);
        let kinds = [
            "response-header-became-required",
            "response-header-became-optional",
        ];
        self.required_docs_schema(place, kinds, Direction::Response, old, new);
    }

    /// What a parameter and a response header share: whether it is required (`kinds`: the
    /// change to required, then to optional), its docs and its schema.
    fn required_docs_schema(
        &mut self,
        place: &Place,
        [to_required, to_optional]: [&'static str; 2],
        direction: Direction,
        (o_required, o_docs, o_schema): (bool, &Docs, &Facts),
        (n_required, n_docs, n_schema): (bool, &Docs, &Facts),
    ) {
        if o_required != n_required {
            self.push(
                if n_required { to_required } else { to_optional },
                direction,
                place,
                format!("required {o_required} -> {n_required}"),
                Some(json!(o_required)),
                Some(json!(n_required)),
            );
        }
        self.docs(place, o_docs, n_docs);
        let schema = place.child("", &["schema"]);
        self.schema_use(&schema, o_schema, n_schema, direction);
    }

    /// A schema where it is used (a parameter, a body, a header): the same named schema is
    /// compared once, under `schemas`; otherwise what is sent or received is compared.
    fn schema_use(&mut self, place: &Place, o: &Facts, n: &Facts, direction: Direction) {
        if o.reference.is_some() && o.reference == n.reference {
            return;
        }
        let resolve = |s: &Summary, f: &Facts| -> Facts {
            match f.reference.as_ref().and_then(|r| s.schemas.get(r)) {
                Some(target) => {
                    let mut t = target.clone();
                    t.reference = None;
                    t.used_in = None;
                    t.nullable |= f.nullable;
                    t.required = f.required;
                    t
                }
                None => f.clone(),
            }
        };
        let (ro, rn) = (resolve(self.old, o), resolve(self.new, n));
        self.facts(place, &ro, &rn, direction, false);
    }

    fn media(
        &mut self,
        place: &Place,
        o: &BTreeMap<String, Media>,
        n: &BTreeMap<String, Media>,
        direction: Direction,
    ) {
        for (media_type, om) in o {
            let at = place.child(&format!(" {media_type}"), &["content", media_type]);
            match n.get(media_type) {
                None => self.push(
                    "media-type-removed",
                    direction,
                    &at,
                    "media type removed".into(),
                    Some(json!(media_type)),
                    None,
                ),
                Some(nm) => {
                    self.docs(&at, &om.docs, &nm.docs);
                    let schema = at.child("", &["schema"]);
                    match (&om.schema.reference, &nm.schema.reference) {
                        (Some(a), Some(b)) if a != b => self.push(
                            "schema-changed",
                            direction,
                            &schema,
                            format!("schema {a} -> {b}"),
                            Some(json!(a)),
                            Some(json!(b)),
                        ),
                        _ => self.schema_use(&schema, &om.schema, &nm.schema, direction),
                    }
                }
            }
        }
        for media_type in n.keys().filter(|m| !o.contains_key(*m)) {
            self.push(
                "media-type-added",
                direction,
                &place.child(&format!(" {media_type}"), &["content", media_type]),
                "media type added".into(),
                None,
                Some(json!(media_type)),
            );
        }
    }

    fn request_body(&mut self, op: &Place, o: &Operation, n: &Operation) {
        let place = op.child(" request body", &["requestBody"]);
        match (&o.request_body, &n.request_body) {
            (None, None) => {}
            (None, Some(nb)) => {
                let kind = if nb.required {
                    "request-body-added-required"
                } else {
                    "request-body-added-optional"
                };
                self.push(kind, Direction::Request, &place, "added".into(), None, None);
            }
            (Some(_), None) => self.push(
                "request-body-removed",
                Direction::Request,
                &place,
                "removed".into(),
                None,
                None,
            ),
            (Some(ob), Some(nb)) => {
                if ob.required != nb.required {
                    let kind = if nb.required {
                        "request-body-became-required"
                    } else {
                        "request-body-became-optional"
                    };
                    self.push(
                        kind,
                        Direction::Request,
                        &place.child("", &["required"]),
                        format!("required {} -> {}", ob.required, nb.required),
                        Some(json!(ob.required)),
                        Some(json!(nb.required)),
                    );
                }
                self.docs(&place, &ob.docs, &nb.docs);
                self.media(&place, &ob.content, &nb.content, Direction::Request);
            }
        }
    }

    fn responses(&mut self, op: &Place, o: &Operation, n: &Operation) {
        for (status, or) in &o.responses {
            let place = op.child(&format!(" response {status}"), &["responses", status]);
            let Some(nr) = n.responses.get(status) else {
                let kind = if is_success(status) {
                    "success-status-removed"
                } else {
                    "error-status-removed"
                };
                self.push(
                    kind,
                    Direction::Response,
                    &place,
                    format!("response {status} removed"),
                    Some(json!(status)),
                    None,
                );
                continue;
            };
            self.docs(&place, &or.docs, &nr.docs);
            self.media(&place, &or.content, &nr.content, Direction::Response);
            for (name, oh) in &or.headers {
                let at = place.child(&format!(" header {name}"), &["headers", name]);
                match nr.headers.get(name) {
                    None => self.push(
                        "response-header-removed",
                        Direction::Response,
                        &at,
                        "header removed".into(),
                        Some(json!(name)),
                        None,
                    ),
                    Some(nh) => self.header(&at, oh, nh),
                }
            }
            for name in nr.headers.keys().filter(|h| !or.headers.contains_key(*h)) {
                self.push(
                    "response-header-added",
                    Direction::Response,
                    &place.child(&format!(" header {name}"), &["headers", name]),
                    "header added".into(),
                    None,
                    Some(json!(name)),
                );
            }
        }
        for status in n.responses.keys().filter(|s| !o.responses.contains_key(*s)) {
            let kind = if is_success(status) {
                "success-status-added"
            } else {
                "error-status-added"
            };
            self.push(
                kind,
                Direction::Response,
                &op.child(&format!(" response {status}"), &["responses", status]),
                format!("response {status} added"),
                None,
                Some(json!(status)),
            );
        }
    }

    fn schemas(&mut self) {
        let (old, new) = (self.old, self.new);
        for (name, o) in &old.schemas {
            let place = Place::new(
                format!("schema {name}"),
                Ptr::root().at(&["components", "schemas", name]),
            );
            let Some(n) = new.schemas.get(name) else {
                self.push(
                    "schema-removed",
                    Direction::None,
                    &place,
                    "removed".into(),
                    Some(json!(name)),
                    None,
                );
                continue;
            };
            let direction = o
                .used_in
                .unwrap_or(Direction::None)
                .union(n.used_in.unwrap_or(Direction::None));
            self.facts(&place, o, n, direction, false);
        }
        for name in new.schemas.keys().filter(|k| !old.schemas.contains_key(*k)) {
            self.push(
                "schema-added",
                Direction::None,
                &Place::new(
                    format!("schema {name}"),
                    Ptr::root().at(&["components", "schemas", name]),
                ),
                "added".into(),
                None,
                Some(json!(name)),
            );
        }
    }
}
