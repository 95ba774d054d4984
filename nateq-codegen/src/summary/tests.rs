//! Tests of the summary, the classifier's details, the line lookup, the report formats and
//! the documents that publish them (the README's table, the JSON Schema).

use serde_yaml::Value;

use super::edit::{SPEC, edited, real, set, yaml};
use super::locate::Locator;
use super::report::{self, Format, JsonReport};
use super::*;

fn changes(before: fn(&mut Value), after: fn(&mut Value)) -> Vec<Change> {
    Summary::diff(&Summary::of(&edited(before)), &Summary::of(&edited(after)))
}

fn shown(changes: &[Change]) -> Vec<String> {
    changes.iter().map(ToString::to_string).collect()
}

#[test]
fn schemas_know_where_the_operations_use_them() {
    let summary = Summary::of(&real());
    let used = |name: &str| summary.schemas.get(name).and_then(|s| s.used_in);
    // The body, and what it refers to; the path parameter's named schema.
    assert_eq!(used("UpdateContactRequest"), Some(Direction::Request));
    assert_eq!(used("ContactType"), Some(Direction::Request));
    assert_eq!(used("ContactId"), Some(Direction::Request));
    // The success body, and through `allOf` and array items what it holds.
    assert_eq!(used("UpdateContactResponse"), Some(Direction::Response));
    assert_eq!(used("Contact"), Some(Direction::Response));
    assert_eq!(used("Tag"), Some(Direction::Response));
    // The error envelope of the shared responses.
    assert_eq!(used("ErrorResponse"), Some(Direction::Response));
    assert_eq!(used("ApiError"), Some(Direction::Response));
}

#[test]
fn a_summary_survives_its_json_and_equal_specs_have_no_changes() {
    let summary = Summary::of(&real());
    let json = serde_json::to_string_pretty(&summary).unwrap_or_default();
    let back: Summary = serde_json::from_str(&json).unwrap_or_default();
    assert_eq!(back, summary);
    assert_eq!(summary.format, FORMAT);
    assert!(Summary::diff(&back, &summary).is_empty());
}

/// A schema used by requests and responses breaks when a change breaks either side, and
/// says which.
#[test]
fn a_schema_used_on_both_sides_takes_the_worse_verdict() {
    fn both(v: &mut Value) {
        set(
            v,
            "/paths/~1contacts~1{id}/put/requestBody/content/application~1json/schema/$ref",
            yaml("'#/components/schemas/Contact'"),
        );
        set(
            v,
            "/components/schemas/Contact/properties/name/maxLength",
            yaml("100"),
        );
    }
    fn relaxed(v: &mut Value) {
        both(v);
        set(
            v,
            "/components/schemas/Contact/properties/name/maxLength",
            yaml("200"),
        );
    }
    let found = changes(both, relaxed);
    let change = found.iter().find(|c| c.kind == "max-length-increased");
    assert_eq!(
        change.map(|c| (c.direction, c.verdict, c.reason.as_str())),
        Some((
            Direction::Both,
            Verdict::Breaking,
            "used on both sides; in responses: the generated type of an old client refuses the longer values"
        )),
        "{:?}",
        shown(&found)
    );
    // The other way round, the request side breaks.
    let found = changes(relaxed, both);
    let change = found.iter().find(|c| c.kind == "max-length-decreased");
    assert_eq!(
        change.map(|c| (
            c.verdict,
            c.reason.starts_with("used on both sides; in requests")
        )),
        Some((Verdict::Breaking, true)),
        "{:?}",
        shown(&found)
    );
}

/// A parameter is compared by what it sends: moving its schema into components is no
/// change, and a named schema's own change is reported once, where it is defined.
#[test]
fn a_parameter_schema_is_compared_by_what_it_sends_and_reported_once() {
    fn inline(v: &mut Value) {
        let contact_id = super::edit::at(v, "/components/schemas/ContactId").clone();
        set(
            v,
            "/paths/~1contacts~1{id}/put/parameters/0/schema",
            contact_id,
        );
    }
    assert_eq!(
        shown(&changes(super::edit::remove_nothing, inline)),
        Vec::<String>::new()
    );
    fn min2(v: &mut Value) {
        set(v, "/components/schemas/ContactId/minLength", yaml("2"));
    }
    assert_eq!(
        shown(&changes(super::edit::remove_nothing, min2)),
        vec!["[BREAKING] schema ContactId: minLength 1 -> 2".to_string()]
    );
}

#[test]
fn lines_are_found_by_key_by_parameter_name_through_refs_and_up_to_the_nearest_node() {
    let locator = Locator::new(SPEC).unwrap_or_else(|| panic!("the spec is not YAML"));
    let line_of = |needle: &str| SPEC[..SPEC.find(needle).unwrap_or(0)].matches('\n').count() + 1;
    let request = "/components/schemas/UpdateContactRequest";
    assert_eq!(
        locator.line(&format!("{request}/properties/email/maxLength")),
        Some(line_of("maxLength: 255"))
    );
    // A parameter by its name, and its named schema through the `$ref`.
    let op = "/paths/~1contacts~1{id}/put";
    assert_eq!(
        locator.line(&format!("{op}/parameters/id/example")),
        Some(line_of("example: ct_demo_1"))
    );
    assert_eq!(
        locator.line(&format!("{op}/parameters/id/schema/pattern")),
        Some(line_of("pattern: '^(?!"))
    );
    // The second parameter is found by its name, not by its place.
    let two = SPEC.replace(
        "      parameters:\n",
        "      parameters:\n        - name: fields\n          in: query\n          schema:\n            type: string\n",
    );
    let two_params = Locator::new(&two).unwrap_or_else(|| panic!("not YAML"));
    let line_in_two = |needle: &str| two[..two.find(needle).unwrap_or(0)].matches('\n').count() + 1;
    assert_eq!(
        two_params.line(&format!("{op}/parameters/id/example")),
        Some(line_in_two("example: ct_demo_1"))
    );
    assert_eq!(
        two_params.line(&format!("{op}/parameters/fields")),
        Some(line_in_two("- name: fields"))
    );
    // A shared response's header, through `$ref: '#/components/responses/TooManyRequests'`.
    assert_eq!(
        locator.line(&format!("{op}/responses/429/headers/Retry-After")),
        Some(line_of("Retry-After:\n"))
    );
    // Something that is not there: the nearest node that is.
    assert_eq!(
        locator.line(&format!("{request}/properties/timezone/maxLength")),
        Some(line_of("      properties:\n        avatar:"))
    );
    // A fallback path is used when the change's own path is not in the spec.
    let mut found = changes(super::edit::remove_nothing, |v| {
        set(
            v,
            "/paths/~1contacts~1{id}/put/security",
            yaml("[{bearerAuth: ['contacts:write']}]"),
        )
    });
    found.retain(|c| c.kind == "security-scope-added");
    let without_op_security = SPEC.replace(
        "      security:\n        - bearerAuth: []\n      parameters:",
        "      parameters:",
    );
    assert_ne!(without_op_security, SPEC);
    let other = Locator::new(&without_op_security).unwrap_or_else(|| panic!("not YAML"));
    other.fill(&mut found);
    assert_eq!(
        found.first().and_then(|c| c.line),
        Some(line_of("security:\n  - bearerAuth"))
    );
}

fn sample() -> Vec<Change> {
    let mut found = changes(super::edit::remove_nothing, |v| {
        set(
            v,
            "/components/schemas/UpdateContactRequest/properties/name/maxLength",
            yaml("100"),
        );
        set(
            v,
            "/components/schemas/ContactType/enum/3",
            yaml("'partner|vip'"),
        );
        set(
            v,
            "/components/schemas/Contact/properties/email/description",
            yaml("'Email: the 100% primary address,\nchecked'"),
        );
    });
    if let Some(locator) = Locator::new(SPEC) {
        locator.fill(&mut found);
    }
    found
}

#[test]
fn text_report_gives_each_change_its_reason_and_line() {
    let text = report::render(Format::Text, "openapi.yaml", &sample());
    let line = |needle: &str| SPEC[..SPEC.find(needle).unwrap_or(0)].matches('\n').count() + 1;
    let expected = format!(
        "spec: 3 change(s): 1 breaking, 1 ok, 1 docs
  [docs] schema Contact.email: description changed
      documentation only: no request or response changes (openapi.yaml:{})
  [ok] schema ContactType: enum value `partner|vip` added
      one more value callers may send (openapi.yaml:{})
  [BREAKING] schema UpdateContactRequest.name: maxLength 255 -> 100
      longer values that were accepted are refused (openapi.yaml:{})
",
        line("description: Email address of the contact.\n"),
        line("      enum:\n        - contact"),
        line("maxLength: 255\n          description: Full name"),
    );
    assert_eq!(text, expected);
    assert_eq!(
        report::render(Format::Text, "openapi.yaml", &[]),
        "spec: no change to operations, parameters, bodies, responses, security, schemas or docs\n"
    );
}

#[test]
fn markdown_report_is_a_table_breaking_first_with_cells_escaped() {
    let md = report::render(Format::Markdown, "openapi.yaml", &sample());
    let rows: Vec<&str> = md.lines().filter(|l| l.starts_with("| ")).collect();
    assert_eq!(
        md.lines().next(),
        Some("### Spec changes: 1 breaking, 1 ok, 1 docs")
    );
    assert_eq!(rows.len(), 4, "{md}");
    assert!(
        rows[1].starts_with(
            "| **breaking** | `schema UpdateContactRequest.name` | maxLength 255 -> 100 |"
        ),
        "{md}"
    );
    assert!(rows[2].contains("enum value `partner\\|vip` added"), "{md}");
    assert!(rows[3].starts_with("| docs |"), "{md}");
}

#[test]
fn github_report_escapes_what_workflow_commands_cannot_carry() {
    let mut found = sample();
    found[0].location = "schema A,B: C".into();
    found[0].what = "50% more\nlines".into();
    let out = report::render(Format::Github, "openapi.yaml", &found);
    let first = out.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("::notice file=openapi.yaml,line="),
        "{first}"
    );
    assert!(
        first.contains(",title=description-changed::schema A,B: C: 50%25 more%0Alines ("),
        "{first}"
    );
    assert_eq!(out.lines().count(), 3);
    assert!(
        out.lines()
            .nth(2)
            .is_some_and(|l| l.starts_with("::error ")),
        "{out}"
    );
}

#[test]
fn json_report_has_the_published_shape() {
    let json = report::render(Format::Json, "openapi.yaml", &sample());
    let value: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
    assert_eq!(value["version"], 1);
    assert_eq!(
        value["counts"],
        serde_json::json!({"breaking": 1, "ok": 1, "docs": 1})
    );
    let change = &value["changes"][2];
    let keys: Vec<&str> = change
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    assert_eq!(
        keys,
        [
            "after",
            "before",
            "direction",
            "kind",
            "line",
            "location",
            "path",
            "reason",
            "verdict",
            "what"
        ]
    );
    assert_eq!(change["kind"], "max-length-decreased");
    assert_eq!(change["verdict"], "breaking");
    assert_eq!(change["direction"], "request");
    assert_eq!(
        (change["before"].clone(), change["after"].clone()),
        (serde_json::json!(255), serde_json::json!(100))
    );
    let back: JsonReport = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back.changes.len(), 3);
}

/// The published JSON Schema of `--format json` is the one the code derives; set
/// `UPDATE_SPEC_CHANGES_SCHEMA=1` to rewrite it after a deliberate change.
#[test]
fn the_published_json_schema_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/spec-changes.schema.json");
    let derived = report::json_schema();
    if std::env::var_os("UPDATE_SPEC_CHANGES_SCHEMA").is_some() {
        std::fs::write(path, &derived).unwrap_or_else(|e| panic!("{e}"));
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert_eq!(
        committed, derived,
        "run with UPDATE_SPEC_CHANGES_SCHEMA=1 to rewrite {path}"
    );
}

/// The README's table is every rule with the test of its row; set
/// `UPDATE_SPEC_CHANGES_TABLE=1` to rewrite it.
#[test]
fn the_readme_table_lists_every_rule() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
    let readme = std::fs::read_to_string(path).unwrap_or_default();
    let (start, end) = ("<!-- rules:start -->\n", "<!-- rules:end -->");
    let (Some(a), Some(b)) = (readme.find(start), readme.find(end)) else {
        panic!("README.md has no {start:?} ... {end:?} section");
    };
    let table = super::rows::readme_table();
    if std::env::var_os("UPDATE_SPEC_CHANGES_TABLE").is_some() {
        let updated = format!("{}{start}{table}{}", &readme[..a], &readme[b..]);
        std::fs::write(path, updated).unwrap_or_else(|e| panic!("{e}"));
        return;
    }
    assert_eq!(
        &readme[a + start.len()..b],
        table,
        "run with UPDATE_SPEC_CHANGES_TABLE=1"
    );
}
