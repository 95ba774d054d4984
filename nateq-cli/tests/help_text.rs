//! The help is for users: the spec's descriptions reach `--help` as they are, so they must not
//! carry remarks about how the spec was written (those go in `x-note` in `openapi.yaml`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{nateq, texts};

/// Words of a remark about the spec or the reference page, not about the field.
const REMARKS: [&str; 4] = ["the page", "on the page", "this spec", "the spec"];

#[test]
fn field_help_has_no_remarks_about_the_spec() {
    let output = nateq()
        .args(["contacts", "update", "--help"])
        .output()
        .unwrap();
    let (stdout, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    // Every field's description is in the help, and none carries a remark.
    let help = stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    for field in nateq_api::fields::UPDATE_CONTACT_FIELDS {
        let first_words: String = field
            .description
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ");
        assert!(
            help.contains(&first_words),
            "{}: {first_words:?}",
            field.name
        );
        let text = field.description.to_lowercase();
        for remark in REMARKS {
            assert!(
                !text.contains(remark),
                "{}: {:?}",
                field.name,
                field.description
            );
        }
    }
    let lower = help.to_lowercase();
    for remark in REMARKS {
        assert!(!lower.contains(remark), "{remark:?} in the help:\n{stdout}");
    }
}
