//! A corpus of spec edits, each applied to the real `openapi.yaml` and labelled by the rule the
//! API-diff tools (oasdiff, openapi-diff, Optic) share: narrowing what a client sends, or
//! widening what it receives, breaks callers; for a generated SDK, a renamed operation, a
//! removed setter or a removed or retyped field of a generated type breaks callers too.
//!
//! `corpus_agreement` reports how many labels the classifier agrees with.

use serde_yaml::Value;

use super::edit::{push, remove, rename, set, yaml};

/// What an edit does to callers, by the rule above.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    /// Breaks callers built from the old spec, or their code.
    Breaking,
    /// Changes the contract without breaking callers.
    Ok,
    /// Touches only descriptions or examples.
    Docs,
}

/// One labelled edit.
pub struct Case {
    /// What the edit does.
    pub name: &'static str,
    /// Its label.
    pub label: Label,
    /// The edit, applied to the real spec.
    pub edit: fn(&mut Value),
}

const REQ: &str = "/components/schemas/UpdateContactRequest";
const CONTACT: &str = "/components/schemas/Contact";
const OP: &str = "/paths/~1contacts~1{id}/put";

fn p(base: &str, rest: &str) -> String {
    format!("{base}{rest}")
}

/// The corpus.
pub const CASES: &[Case] = &[
    Case {
        name: "request: optional property added",
        label: Label::Ok,
        edit: |v| {
            set(
                v,
                &p(REQ, "/properties/timezone"),
                yaml("{type: string, maxLength: 64}"),
            )
        },
    },
    Case {
        name: "request: property became required",
        label: Label::Breaking,
        edit: |v| push(v, &p(REQ, "/required"), yaml("name")),
    },
    Case {
        name: "request: property removed",
        label: Label::Breaking,
        edit: |v| remove(v, &p(REQ, "/properties/position")),
    },
    Case {
        name: "request: maxLength decreased",
        label: Label::Breaking,
        edit: |v| set(v, &p(REQ, "/properties/name/maxLength"), yaml("100")),
    },
    Case {
        name: "request: maxLength increased",
        label: Label::Ok,
        edit: |v| set(v, &p(REQ, "/properties/phone/maxLength"), yaml("100")),
    },
    Case {
        name: "request: pattern added",
        label: Label::Breaking,
        edit: |v| {
            set(
                v,
                &p(REQ, "/properties/language/pattern"),
                yaml("'^[a-z]{2}(-[A-Z]{2})?$'"),
            )
        },
    },
    Case {
        name: "request: enum value removed",
        label: Label::Breaking,
        edit: |v| remove(v, "/components/schemas/ContactType/enum/1"),
    },
    Case {
        name: "request: enum value added",
        label: Label::Ok,
        edit: |v| push(v, "/components/schemas/ContactType/enum", yaml("partner")),
    },
    Case {
        name: "request: type changed",
        label: Label::Breaking,
        edit: |v| set(v, &p(REQ, "/properties/doNotContact/type"), yaml("string")),
    },
    Case {
        name: "request: minLength added",
        label: Label::Breaking,
        edit: |v| set(v, &p(REQ, "/properties/name/minLength"), yaml("1")),
    },
    Case {
        name: "request: property became nullable",
        label: Label::Ok,
        edit: |v| set(v, &p(REQ, "/properties/avatar/nullable"), yaml("true")),
    },
    Case {
        name: "request: additionalProperties opened",
        label: Label::Ok,
        edit: |v| set(v, &p(REQ, "/additionalProperties"), yaml("true")),
    },
    Case {
        name: "response: optional property added",
        label: Label::Ok,
        edit: |v| {
            set(
                v,
                &p(CONTACT, "/properties/score"),
                yaml("{type: string, nullable: true}"),
            )
        },
    },
    Case {
        name: "response: property removed",
        label: Label::Breaking,
        edit: |v| remove(v, &p(CONTACT, "/properties/companyName")),
    },
    Case {
        name: "response: property became required (still nullable)",
        label: Label::Ok,
        edit: |v| push(v, &p(CONTACT, "/required"), yaml("name")),
    },
    Case {
        name: "response: property became optional",
        label: Label::Breaking,
        edit: |v| remove(v, &p(CONTACT, "/required")),
    },
    Case {
        name: "response: property became not nullable",
        label: Label::Ok,
        edit: |v| remove(v, &p(CONTACT, "/properties/email/nullable")),
    },
    Case {
        name: "response: property became nullable",
        label: Label::Breaking,
        edit: |v| set(v, &p(CONTACT, "/properties/id/nullable"), yaml("true")),
    },
    Case {
        name: "response: property became required and not nullable (Option<T> becomes T)",
        label: Label::Breaking,
        edit: |v| {
            push(v, &p(CONTACT, "/required"), yaml("email"));
            remove(v, &p(CONTACT, "/properties/email/nullable"));
        },
    },
    Case {
        name: "response: maxLength set (String becomes a validating newtype)",
        label: Label::Breaking,
        edit: |v| set(v, &p(CONTACT, "/properties/name/maxLength"), yaml("255")),
    },
    Case {
        name: "response: type changed",
        label: Label::Breaking,
        edit: |v| {
            set(
                v,
                "/components/schemas/Meta/properties/count/type",
                yaml("string"),
            )
        },
    },
    Case {
        name: "operationId renamed",
        label: Label::Breaking,
        edit: |v| set(v, &p(OP, "/operationId"), yaml("patchContact")),
    },
    Case {
        name: "path parameter renamed",
        label: Label::Breaking,
        edit: |v| {
            rename(v, "/paths/~1contacts~1{id}", "/contacts/{contactId}");
            set(
                v,
                "/paths/~1contacts~1{contactId}/put/parameters/0/name",
                yaml("contactId"),
            );
        },
    },
    Case {
        name: "method changed",
        label: Label::Breaking,
        edit: |v| rename(v, OP, "patch"),
    },
    Case {
        name: "optional query parameter added",
        label: Label::Ok,
        edit: |v| {
            push(
                v,
                &p(OP, "/parameters"),
                yaml("{name: fields, in: query, schema: {type: string}}"),
            )
        },
    },
    Case {
        name: "required header parameter added",
        label: Label::Breaking,
        edit: |v| {
            push(
                v,
                &p(OP, "/parameters"),
                yaml("{name: X-Workspace, in: header, required: true, schema: {type: string}}"),
            )
        },
    },
    Case {
        name: "path parameter pattern changed",
        label: Label::Breaking,
        edit: |v| {
            set(
                v,
                "/components/schemas/ContactId/pattern",
                yaml("'^ct_[a-z0-9_]+$'"),
            )
        },
    },
    Case {
        name: "request body became optional",
        label: Label::Ok,
        edit: |v| set(v, &p(OP, "/requestBody/required"), yaml("false")),
    },
    Case {
        name: "error status removed",
        label: Label::Ok,
        edit: |v| remove(v, &p(OP, "/responses/404")),
    },
    Case {
        name: "success status removed",
        label: Label::Breaking,
        edit: |v| rename(v, &p(OP, "/responses/200"), "201"),
    },
    Case {
        name: "security scheme changed to an API-key header",
        label: Label::Breaking,
        edit: |v| {
            set(
                v,
                "/components/securitySchemes/bearerAuth",
                yaml("{type: apiKey, in: header, name: X-Api-Key}"),
            )
        },
    },
    Case {
        name: "Retry-After header removed from the 429",
        label: Label::Breaking,
        edit: |v| remove(v, "/components/responses/TooManyRequests/headers"),
    },
    Case {
        name: "error schema: property removed",
        label: Label::Breaking,
        edit: |v| remove(v, "/components/schemas/ApiError/properties/code"),
    },
    Case {
        name: "error schema: optional property added",
        label: Label::Ok,
        edit: |v| {
            set(
                v,
                "/components/schemas/ApiError/properties/field",
                yaml("{type: string, nullable: true}"),
            )
        },
    },
    Case {
        name: "description of a request property changed",
        label: Label::Docs,
        edit: |v| {
            set(
                v,
                &p(REQ, "/properties/name/description"),
                yaml("The contact's full name."),
            )
        },
    },
    Case {
        name: "response example changed",
        label: Label::Docs,
        edit: |v| {
            set(
                v,
                &p(
                    OP,
                    "/responses/200/content/application~1json/example/message",
                ),
                yaml("Updated"),
            )
        },
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::edit::{edited, real};
    use crate::summary::{Summary, Verdict};

    /// The classifier's verdict on a whole edit: its worst change's (`None` for no change).
    fn verdict(case: &Case) -> Option<Verdict> {
        let old = Summary::of(&real());
        let new = Summary::of(&edited(case.edit));
        Summary::diff(&old, &new).iter().map(|c| c.verdict).min()
    }

    #[test]
    fn corpus_agreement() {
        let mut agree = 0;
        for case in CASES {
            let got = verdict(case);
            let expected = match case.label {
                Label::Breaking => Verdict::Breaking,
                Label::Ok => Verdict::Ok,
                Label::Docs => Verdict::Docs,
            };
            if got == Some(expected) {
                agree += 1;
            } else {
                println!(
                    "disagrees: {} (labelled {:?}, got {got:?})",
                    case.name, case.label
                );
            }
        }
        println!("agreement: {agree} of {}", CASES.len());
        assert!(CASES.len() >= 30);
        // The summary before it knew directions agreed on 27 of these 36 (breaking or not).
        assert_eq!(agree, CASES.len());
    }
}
