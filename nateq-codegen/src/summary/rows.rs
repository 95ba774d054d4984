//! One test per row of the README's table (one per entry of [`RULES`]): the real
//! `openapi.yaml`, edited before and after through `serde_yaml::Value`, must yield a change
//! of that kind, in that direction, with that verdict. `every_row_fails_when_its_rule_is_flipped`
//! flips each rule's verdict in turn and sees that row's test fail.

use serde_yaml::Value;

use super::edit::{edited, push, remove, rename, set, yaml};
use super::rules::FLIPPED;
use super::{Direction, RULES, Summary, Verdict};

/// One row: an edit (`before` and `after`, each applied to the real spec) and what the
/// classifier must say about it.
pub(super) struct Row {
    pub name: &'static str,
    pub kind: &'static str,
    pub direction: Direction,
    pub verdict: Verdict,
    pub before: fn(&mut Value),
    pub after: fn(&mut Value),
}

const REQ: &str = "/components/schemas/UpdateContactRequest";
const CONTACT: &str = "/components/schemas/Contact";
const OP: &str = "/paths/~1contacts~1{id}/put";
const OK_JSON: &str = "/paths/~1contacts~1{id}/put/responses/200/content";
const RETRY: &str = "/components/responses/TooManyRequests/headers";

fn real(_: &mut Value) {}

fn p(base: &str, rest: &str) -> String {
    format!("{base}{rest}")
}

fn optional_query(v: &mut Value) {
    push(
        v,
        &p(OP, "/parameters"),
        yaml("{name: fields, in: query, schema: {type: string}}"),
    );
}

fn required_query(v: &mut Value) {
    push(
        v,
        &p(OP, "/parameters"),
        yaml("{name: fields, in: query, required: true, schema: {type: string}}"),
    );
}

fn api_key_scheme(v: &mut Value) {
    set(
        v,
        "/components/securitySchemes/apiKeyAuth",
        yaml("{type: apiKey, in: header, name: X-Api-Key}"),
    );
}

fn scoped(v: &mut Value) {
    set(
        v,
        &p(OP, "/security"),
        yaml("[{bearerAuth: ['contacts:write']}]"),
    );
}

fn no_body(v: &mut Value) {
    remove(v, &p(OP, "/requestBody"));
}

fn optional_body(v: &mut Value) {
    set(v, &p(OP, "/requestBody/required"), yaml("false"));
}

fn merge_patch(v: &mut Value) {
    set(
        v,
        &p(OP, "/requestBody/content/application~1merge-patch+json"),
        yaml("{schema: {$ref: '#/components/schemas/UpdateContactRequest'}}"),
    );
}

fn text_response(v: &mut Value) {
    set(
        v,
        &p(OK_JSON, "/text~1plain"),
        yaml("{schema: {type: string}}"),
    );
}

fn retry_required(v: &mut Value) {
    set(v, &p(RETRY, "/Retry-After/required"), yaml("true"));
}

fn note_schema(v: &mut Value) {
    set(v, "/components/schemas/Note", yaml("{type: object}"));
}

fn req_timezone(v: &mut Value) {
    set(v, &p(REQ, "/properties/timezone"), yaml("{type: string}"));
}

fn contact_score(v: &mut Value) {
    set(
        v,
        &p(CONTACT, "/properties/score"),
        yaml("{type: string, nullable: true}"),
    );
}

fn req_name_required(v: &mut Value) {
    push(v, &p(REQ, "/required"), yaml("name"));
}

fn req_avatar_nullable(v: &mut Value) {
    set(v, &p(REQ, "/properties/avatar/nullable"), yaml("true"));
}

fn req_email_format(v: &mut Value) {
    set(v, &p(REQ, "/properties/email/format"), yaml("email"));
}

fn req_email_idn(v: &mut Value) {
    set(v, &p(REQ, "/properties/email/format"), yaml("idn-email"));
}

fn created_at_format(v: &mut Value) {
    set(
        v,
        &p(CONTACT, "/properties/createdAt/format"),
        yaml("date-time"),
    );
}

fn count_int32(v: &mut Value) {
    set(
        v,
        "/components/schemas/Meta/properties/count/format",
        yaml("int32"),
    );
}

fn source_enum(v: &mut Value) {
    set(
        v,
        &p(CONTACT, "/properties/source/enum"),
        yaml("[import, api]"),
    );
}

fn source_enum_more(v: &mut Value) {
    set(
        v,
        &p(CONTACT, "/properties/source/enum"),
        yaml("[import, api, manual]"),
    );
}

fn language_enum(v: &mut Value) {
    set(v, &p(REQ, "/properties/language/enum"), yaml("[en, pt-BR]"));
}

fn contact_name_max(v: &mut Value, max: u64) {
    set(
        v,
        &p(CONTACT, "/properties/name/maxLength"),
        Value::from(max),
    );
}

fn contact_name_min(v: &mut Value, min: u64) {
    set(
        v,
        &p(CONTACT, "/properties/name/minLength"),
        Value::from(min),
    );
}

fn req_name_min(v: &mut Value) {
    set(v, &p(REQ, "/properties/name/minLength"), yaml("1"));
}

fn req_language_pattern(v: &mut Value) {
    set(
        v,
        &p(REQ, "/properties/language/pattern"),
        yaml("'^[a-z]{2}(-[A-Z]{2})?$'"),
    );
}

fn contact_name_pattern(v: &mut Value, pattern: &str) {
    contact_name_min(v, 1);
    set(
        v,
        &p(CONTACT, "/properties/name/pattern"),
        Value::from(pattern),
    );
}

fn req_open(v: &mut Value) {
    set(v, &p(REQ, "/additionalProperties"), yaml("true"));
}

fn contact_closed(v: &mut Value) {
    set(v, &p(CONTACT, "/additionalProperties"), yaml("false"));
}

macro_rules! rows {
    ($( $test:ident: $kind:literal, $dir:ident, $verdict:ident, $before:expr => $after:expr; )*) => {
        pub(super) const ROWS: &[Row] = &[
            $( Row {
                name: stringify!($test),
                kind: $kind,
                direction: Direction::$dir,
                verdict: Verdict::$verdict,
                before: $before,
                after: $after,
            }, )*
        ];
        $(
            #[test]
            fn $test() {
                let row = ROWS.iter().find(|r| r.name == stringify!($test));
                if let Err(e) = check(row.unwrap_or_else(|| panic!("no row"))) {
                    panic!("{e}");
                }
            }
        )*
    };
}

rows! {
    operation_added: "operation-added", None, Ok,
        real => |v| set(v, "/paths/~1notes", yaml("{post: {operationId: addNote, responses: {'200': {description: OK}}}}"));
    operation_removed: "operation-removed", None, Breaking,
        real => |v| remove(v, "/paths/~1contacts~1{id}");
    operation_path_changed: "operation-path-changed", None, Breaking,
        real => |v| rename(v, "/paths/~1contacts~1{id}", "/people/{id}");
    operation_method_changed: "operation-method-changed", None, Breaking,
        real => |v| rename(v, OP, "patch");
    operation_id_changed: "operation-id-changed", None, Breaking,
        real => |v| set(v, &p(OP, "/operationId"), yaml("patchContact"));
    path_parameter_renamed: "path-parameter-renamed", None, Breaking,
        real => |v| {
            rename(v, "/paths/~1contacts~1{id}", "/contacts/{contactId}");
            set(v, "/paths/~1contacts~1{contactId}/put/parameters/0/name", yaml("contactId"));
        };
    security_requirement_removed: "security-requirement-removed", None, Breaking,
        real => |v| { api_key_scheme(v); set(v, &p(OP, "/security"), yaml("[{apiKeyAuth: []}]")) };
    security_requirement_added: "security-requirement-added", None, Ok,
        real => |v| { api_key_scheme(v); push(v, &p(OP, "/security"), yaml("{apiKeyAuth: []}")) };
    security_scope_added: "security-scope-added", None, Breaking,
        real => scoped;
    security_scope_removed: "security-scope-removed", None, Ok,
        scoped => real;
    security_dropped: "security-dropped", None, Ok,
        real => |v| set(v, &p(OP, "/security"), yaml("[]"));
    security_scheme_changed: "security-scheme-changed", None, Breaking,
        real => |v| set(v, "/components/securitySchemes/bearerAuth", yaml("{type: apiKey, in: header, name: X-Api-Key}"));
    security_scheme_added: "security-scheme-added", None, Ok,
        real => api_key_scheme;
    security_scheme_removed: "security-scheme-removed", None, Ok,
        api_key_scheme => real;
    parameter_added_required: "parameter-added-required", Request, Breaking,
        real => required_query;
    parameter_added_optional: "parameter-added-optional", Request, Ok,
        real => optional_query;
    parameter_removed: "parameter-removed", Request, Breaking,
        optional_query => real;
    parameter_became_required: "parameter-became-required", Request, Breaking,
        optional_query => required_query;
    parameter_became_optional: "parameter-became-optional", Request, Ok,
        required_query => optional_query;
    request_body_added_required: "request-body-added-required", Request, Breaking,
        no_body => real;
    request_body_added_optional: "request-body-added-optional", Request, Ok,
        no_body => optional_body;
    request_body_removed: "request-body-removed", Request, Breaking,
        real => no_body;
    request_body_became_required: "request-body-became-required", Request, Breaking,
        optional_body => real;
    request_body_became_optional: "request-body-became-optional", Request, Ok,
        real => optional_body;
    media_type_added_request: "media-type-added", Request, Ok,
        real => merge_patch;
    media_type_added_response: "media-type-added", Response, Ok,
        real => text_response;
    media_type_removed_request: "media-type-removed", Request, Breaking,
        merge_patch => real;
    media_type_removed_response: "media-type-removed", Response, Breaking,
        text_response => real;
    schema_changed_request: "schema-changed", Request, Breaking,
        real => |v| set(v, &p(OP, "/requestBody/content/application~1json/schema/$ref"), yaml("'#/components/schemas/Contact'"));
    schema_changed_response: "schema-changed", Response, Breaking,
        real => |v| set(v, &p(OK_JSON, "/application~1json/schema/$ref"), yaml("'#/components/schemas/ErrorResponse'"));
    success_status_added: "success-status-added", Response, Ok,
        real => |v| set(v, &p(OP, "/responses/202"), yaml("{description: Accepted}"));
    success_status_removed: "success-status-removed", Response, Breaking,
        real => |v| remove(v, &p(OP, "/responses/200"));
    error_status_added: "error-status-added", Response, Ok,
        real => |v| set(v, &p(OP, "/responses/409"), yaml("{$ref: '#/components/responses/UnprocessableEntity'}"));
    error_status_removed: "error-status-removed", Response, Ok,
        real => |v| remove(v, &p(OP, "/responses/404"));
    response_header_added: "response-header-added", Response, Ok,
        real => |v| set(v, &p(RETRY, "/X-Request-Id"), yaml("{schema: {type: string}}"));
    response_header_removed: "response-header-removed", Response, Breaking,
        real => |v| remove(v, &p(RETRY, "/Retry-After"));
    response_header_became_optional: "response-header-became-optional", Response, Breaking,
        retry_required => real;
    response_header_became_required: "response-header-became-required", Response, Ok,
        real => retry_required;
    schema_added: "schema-added", None, Ok,
        real => note_schema;
    schema_removed: "schema-removed", None, Breaking,
        note_schema => real;
    property_added_optional_request: "property-added-optional", Request, Ok,
        real => req_timezone;
    property_added_optional_response: "property-added-optional", Response, Ok,
        real => contact_score;
    property_added_required_request: "property-added-required", Request, Breaking,
        real => |v| { req_timezone(v); push(v, &p(REQ, "/required"), yaml("timezone")) };
    property_added_required_response: "property-added-required", Response, Ok,
        real => |v| { contact_score(v); push(v, &p(CONTACT, "/required"), yaml("score")) };
    property_removed_request: "property-removed", Request, Breaking,
        real => |v| remove(v, &p(REQ, "/properties/position"));
    property_removed_response: "property-removed", Response, Breaking,
        real => |v| remove(v, &p(CONTACT, "/properties/companyName"));
    property_became_required_request: "property-became-required", Request, Breaking,
        real => req_name_required;
    property_became_required_response: "property-became-required", Response, Ok,
        real => |v| push(v, &p(CONTACT, "/required"), yaml("name"));
    property_became_optional_request: "property-became-optional", Request, Ok,
        req_name_required => real;
    property_became_optional_response: "property-became-optional", Response, Breaking,
        real => |v| remove(v, &p(CONTACT, "/required"));
    became_nullable_request: "became-nullable", Request, Ok,
        real => req_avatar_nullable;
    became_nullable_response: "became-nullable", Response, Breaking,
        real => |v| set(v, &p(CONTACT, "/properties/id/nullable"), yaml("true"));
    became_not_nullable_request: "became-not-nullable", Request, Breaking,
        req_avatar_nullable => real;
    became_not_nullable_response: "became-not-nullable", Response, Ok,
        real => |v| remove(v, &p(CONTACT, "/properties/email/nullable"));
    type_changed_request: "type-changed", Request, Breaking,
        real => |v| set(v, &p(REQ, "/properties/doNotContact/type"), yaml("string"));
    type_changed_response: "type-changed", Response, Breaking,
        real => |v| set(v, "/components/schemas/Meta/properties/count/type", yaml("string"));
    format_added_request: "format-added", Request, Breaking,
        real => req_email_format;
    format_added_response: "format-added", Response, Ok,
        real => created_at_format;
    format_removed_request: "format-removed", Request, Ok,
        req_email_format => real;
    format_removed_response: "format-removed", Response, Breaking,
        created_at_format => real;
    format_changed_request: "format-changed", Request, Breaking,
        req_email_format => req_email_idn;
    format_changed_response: "format-changed", Response, Breaking,
        real => count_int32;
    enum_value_added_request: "enum-value-added", Request, Ok,
        real => |v| push(v, "/components/schemas/ContactType/enum", yaml("partner"));
    enum_value_added_response: "enum-value-added", Response, Breaking,
        source_enum => source_enum_more;
    enum_value_removed_request: "enum-value-removed", Request, Breaking,
        real => |v| remove(v, "/components/schemas/ContactType/enum/1");
    enum_value_removed_response: "enum-value-removed", Response, Breaking,
        source_enum_more => source_enum;
    enum_set_request: "enum-set", Request, Breaking,
        real => language_enum;
    enum_set_response: "enum-set", Response, Breaking,
        real => source_enum;
    enum_unset_request: "enum-unset", Request, Ok,
        language_enum => real;
    enum_unset_response: "enum-unset", Response, Breaking,
        source_enum => real;
    max_length_decreased_request: "max-length-decreased", Request, Breaking,
        real => |v| set(v, &p(REQ, "/properties/name/maxLength"), yaml("100"));
    max_length_decreased_response: "max-length-decreased", Response, Ok,
        |v| contact_name_max(v, 255) => |v| contact_name_max(v, 100);
    max_length_increased_request: "max-length-increased", Request, Ok,
        real => |v| set(v, &p(REQ, "/properties/phone/maxLength"), yaml("100"));
    max_length_increased_response: "max-length-increased", Response, Breaking,
        |v| contact_name_max(v, 100) => |v| contact_name_max(v, 255);
    min_length_increased_request: "min-length-increased", Request, Breaking,
        real => req_name_min;
    min_length_increased_response: "min-length-increased", Response, Ok,
        |v| contact_name_min(v, 1) => |v| contact_name_min(v, 2);
    min_length_decreased_request: "min-length-decreased", Request, Ok,
        req_name_min => real;
    min_length_decreased_response: "min-length-decreased", Response, Breaking,
        |v| contact_name_min(v, 2) => |v| contact_name_min(v, 1);
    pattern_added_request: "pattern-added", Request, Breaking,
        real => req_language_pattern;
    pattern_added_response: "pattern-added", Response, Ok,
        |v| contact_name_min(v, 1) => |v| contact_name_pattern(v, "^[^<>]*$");
    pattern_removed_request: "pattern-removed", Request, Ok,
        req_language_pattern => real;
    pattern_removed_response: "pattern-removed", Response, Breaking,
        |v| contact_name_pattern(v, "^[^<>]*$") => |v| contact_name_min(v, 1);
    pattern_changed_request: "pattern-changed", Request, Breaking,
        real => |v| set(v, "/components/schemas/ContactId/pattern", yaml("'^ct_[a-z0-9_]+$'"));
    pattern_changed_response: "pattern-changed", Response, Breaking,
        |v| contact_name_pattern(v, "^[^<>]*$") => |v| contact_name_pattern(v, "^[^<>&]*$");
    additional_properties_closed_request: "additional-properties-closed", Request, Breaking,
        req_open => real;
    additional_properties_closed_response: "additional-properties-closed", Response, Ok,
        real => contact_closed;
    additional_properties_opened_request: "additional-properties-opened", Request, Ok,
        real => req_open;
    additional_properties_opened_response: "additional-properties-opened", Response, Breaking,
        contact_closed => real;
    generated_type_changed_response: "generated-type-changed", Response, Breaking,
        real => |v| {
            push(v, &p(CONTACT, "/required"), yaml("email"));
            remove(v, &p(CONTACT, "/properties/email/nullable"));
        };
    servers_changed: "servers-changed", None, Ok,
        real => |v| set(v, "/servers/0/url", yaml("https://api.nateq.com/api/v1"));
    info_changed: "info-changed", None, Docs,
        real => |v| set(v, "/info/version", yaml("'1.1.0'"));
    description_changed: "description-changed", None, Docs,
        real => |v| set(v, &p(REQ, "/properties/name/description"), yaml("The contact's full name."));
    example_changed: "example-changed", None, Docs,
        real => |v| set(v, &p(OK_JSON, "/application~1json/example/message"), yaml("Updated"));
}

/// Runs one row: `Err` says what the classifier said instead.
fn check(row: &Row) -> Result<(), String> {
    let before = Summary::of(&edited(row.before));
    let after = Summary::of(&edited(row.after));
    let changes = Summary::diff(&before, &after);
    let found = changes.iter().find(|c| {
        c.kind == row.kind && (row.direction == Direction::None || c.direction == row.direction)
    });
    match found {
        Some(c) if c.verdict == row.verdict => Ok(()),
        Some(c) => Err(format!(
            "{}: {} ({:?}) is {:?}, expected {:?}: {c}",
            row.name, row.kind, row.direction, c.verdict, row.verdict
        )),
        None => Err(format!(
            "{}: no {} change ({:?}) among {:#?}",
            row.name,
            row.kind,
            row.direction,
            changes.iter().map(ToString::to_string).collect::<Vec<_>>()
        )),
    }
}

/// The rule a row tests: its own direction, or the kind's direction-free rule.
fn rule_of(row: &Row) -> Option<(&'static str, Direction)> {
    RULES
        .iter()
        .find(|r| {
            r.kind == row.kind && (r.direction == row.direction || r.direction == Direction::None)
        })
        .map(|r| (r.kind, r.direction))
}

#[test]
fn every_rule_has_exactly_one_row() {
    let mut rules: Vec<(&str, Direction)> = RULES.iter().map(|r| (r.kind, r.direction)).collect();
    let mut rows: Vec<(&str, Direction)> = ROWS.iter().filter_map(rule_of).collect();
    assert_eq!(rows.len(), ROWS.len(), "a row has no rule");
    rules.sort();
    rows.sort();
    assert_eq!(rules, rows);
    assert!(rules.len() > 80, "{} rules", rules.len());
}

#[test]
fn every_row_fails_when_its_rule_is_flipped() {
    let mut survived = Vec::new();
    for row in ROWS {
        FLIPPED.set(rule_of(row));
        if check(row).is_ok() {
            survived.push(row.name);
        }
        FLIPPED.set(None);
    }
    assert!(
        survived.is_empty(),
        "rows that pass with their rule flipped: {survived:?}"
    );
    assert!(ROWS.len() > 80);
}

/// The README's table: every rule, with the test of its row.
pub(super) fn readme_table() -> String {
    let mut table =
        String::from("| Kind | Direction | Verdict | Why | Test |\n|---|---|---|---|---|\n");
    for rule in RULES {
        let direction = match rule.direction {
            Direction::Request => "request",
            Direction::Response => "response",
            Direction::Both | Direction::None => "any",
        };
        let test = ROWS
            .iter()
            .find(|r| rule_of(r) == Some((rule.kind, rule.direction)))
            .map_or("none", |r| r.name);
        table.push_str(&format!(
            "| `{}` | {direction} | {} | {} | `{test}` |\n",
            rule.kind,
            rule.verdict.mark(),
            rule.why.replace('|', "\\|"),
        ));
    }
    table
}
