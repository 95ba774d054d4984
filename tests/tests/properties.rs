//! Property tests: any valid `ContactUpdate` round-trips through JSON; the client's validator
//! and the emulator's accept exactly the same strings around every limit (multi-byte
//! included); and no id, however hostile, reaches any path but `/contacts/<one segment>`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::OnceLock;

use nateq_api::fields::{FieldKind, UPDATE_CONTACT_FIELDS};
use nateq_api::{ContactId, ContactUpdate};
use proptest::prelude::*;
use support::{ScriptServer, ok_contact};

/// One runtime and one emulator for all cases of a property.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        support::init_tracing();
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap()
    })
}

/// Characters of 1 to 4 UTF-8 bytes (and 1 or 2 UTF-16 units).
fn any_width_char() -> impl Strategy<Value = char> {
    prop_oneof![
        proptest::char::range('a', 'z'),
        proptest::char::range('à', 'ÿ'),
        proptest::char::range('一', '龥'),
        proptest::char::range('😀', '🙏'),
    ]
}

/// Strings whose length is within 2 chars of `limit`.
fn around(limit: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(any_width_char(), limit.saturating_sub(2)..=limit + 2)
        .prop_map(|chars| chars.into_iter().collect())
}

fn text() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(
        proptest::collection::vec(any_width_char(), 0..10).prop_map(|c| c.into_iter().collect()),
    )
}

/// Any valid update: each field of the generated table set or not, with a value of its kind.
fn valid_update() -> impl Strategy<Value = ContactUpdate> {
    let fields = UPDATE_CONTACT_FIELDS;
    proptest::collection::vec(
        (text(), proptest::option::of(any::<bool>()), any::<usize>()),
        fields.len(),
    )
    .prop_map(move |values| {
        let mut map = serde_json::Map::new();
        for (field, (text, flag, pick)) in fields.iter().zip(values) {
            let value = match field.kind {
                FieldKind::Boolean => flag.map(serde_json::Value::Bool),
                FieldKind::Enum => text.map(|_| field.values[pick % field.values.len()].into()),
                _ => text.map(serde_json::Value::String),
            };
            if let Some(value) = value {
                map.insert(field.name.to_string(), value);
            }
        }
        serde_json::from_value(serde_json::Value::Object(map)).unwrap()
    })
}

proptest! {
    #[test]
    fn valid_updates_round_trip_through_json(update in valid_update()) {
        let json = serde_json::to_string(&update).unwrap();
        let back: ContactUpdate = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(&back, &update);
        // The generated request type serializes to the same JSON: nothing dropped or renamed.
        let request = update.to_request().unwrap();
        prop_assert_eq!(serde_json::to_value(&request).unwrap(), serde_json::to_value(&update).unwrap());
    }
}

/// Every length-limited field of the generated table, with its limit.
fn limits() -> Vec<(&'static str, usize)> {
    let limits: Vec<_> = UPDATE_CONTACT_FIELDS
        .iter()
        .filter_map(|f| f.max_length.map(|limit| (f.name, limit)))
        .collect();
    assert!(!limits.is_empty(), "the spec has no length-limited field");
    limits
}

fn emulator() -> &'static (nateq_emulator::Emulator, reqwest::Client) {
    static EMU: OnceLock<(nateq_emulator::Emulator, reqwest::Client)> = OnceLock::new();
    EMU.get_or_init(|| {
        runtime().block_on(async {
            let emu = nateq_emulator::Emulator::builder().spawn().await.unwrap();
            (emu, support::raw_http())
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Sent raw (bypassing the client's check), the emulator accepts a value exactly when
    /// the client's validator does.
    #[test]
    fn client_and_emulator_agree_on_every_limit(
        field in 0..limits().len(),
        value in around(limits().iter().map(|(_, limit)| *limit).max().unwrap_or_default()),
    ) {
        let (name, limit) = limits()[field];
        // Re-cut the string around this field's own limit, keeping its mix of widths.
        let chars: Vec<char> = value.chars().collect();
        let take = (limit + chars.len() % 5).saturating_sub(2).min(chars.len());
        let value: String = chars[..take].iter().collect();

        let update: ContactUpdate = serde_json::from_value(serde_json::json!({ name: value })).unwrap();
        let client_accepts = update.to_request().is_ok();
        prop_assert_eq!(client_accepts, value.chars().count() <= limit);

        let (emu, http) = emulator();
        let status = runtime().block_on(async {
            http.put(format!("{}/contacts/ct_demo_1", emu.base_url()))
                .bearer_auth(emu.api_key())
                .json(&serde_json::json!({ name: value }))
                .send()
                .await
                .unwrap()
                .status()
        });
        prop_assert_eq!(status.is_success(), client_accepts, "{} of {} chars: {}", name, value.chars().count(), status);
        if !client_accepts {
            prop_assert_eq!(status.as_u16(), 400);
        }
    }
}

fn recorder() -> &'static (ScriptServer, nateq_api::Client) {
    static REC: OnceLock<(ScriptServer, nateq_api::Client)> = OnceLock::new();
    REC.get_or_init(|| {
        runtime().block_on(async {
            let server = ScriptServer::start(vec![ok_contact("x", "x")]).await;
            let client = support::client(&server.base_url(), 0);
            (server, client)
        })
    })
}

/// Whether `openapi.yaml`'s `ContactId` schema (`minLength` and `pattern`) accepts `id`.
fn spec_accepts_id(id: &str) -> bool {
    static SCHEMA: OnceLock<(usize, regress::Regex)> = OnceLock::new();
    let (min, pattern) = SCHEMA.get_or_init(|| {
        let spec: serde_yaml::Value =
            serde_yaml::from_str(include_str!("../../openapi.yaml")).unwrap();
        let schema = &spec["components"]["schemas"]["ContactId"];
        let min = schema["minLength"].as_u64().unwrap() as usize;
        let pattern = regress::Regex::new(schema["pattern"].as_str().unwrap()).unwrap();
        (min, pattern)
    });
    id.chars().count() >= *min && pattern.find(id).is_some()
}

#[test]
fn the_sdk_id_check_is_the_spec_pattern_at_its_edges() {
    let edges = [
        "", ".", "..", "...", ". ", ".a", "a.", "ct_1", "a/b", "a b", "%2e", "a\\b", "\\", "\u{0}",
        "a\u{1f}", "\u{20}", "\u{7e}", "\u{7f}", "\u{80}", "\u{85}", "\u{9f}", "\u{a0}", "é", "𝄞",
        "\u{2028}", "\u{feff}",
    ];
    let accepted: Vec<&str> = edges
        .iter()
        .copied()
        .filter(|id| spec_accepts_id(id))
        .collect();
    assert_eq!(
        accepted,
        [
            "...", ". ", ".a", "a.", "ct_1", "a/b", "a b", "%2e", "\u{20}", "\u{7e}", "\u{a0}",
            "é", "𝄞", "\u{2028}", "\u{feff}"
        ]
    );
    for id in edges {
        assert_eq!(ContactId::new(id).is_ok(), spec_accepts_id(id), "{id:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Any id is either refused before sending (empty, `.`, `..`, control characters, `\\`),
    /// by both entry points alike, or reaches `/api/v1/contacts/<one segment>` that decodes back to exactly that id.
    #[test]
    fn no_id_escapes_its_path_segment(
        id in prop_oneof![
            any::<String>(),
            "[./%?#\\\\ a-z]{0,6}",
            Just(".".to_string()),
            Just("..".to_string()),
            Just("%2e%2e".to_string()),
            Just("%2E.".to_string()),
        ]
    ) {
        let (server, client) = recorder();
        let before = server.requests().len();
        let expected_ok = ContactId::new(&id).is_ok();
        // The SDK's check is the spec's `ContactId` schema, which it implements without a
        // regular-expression engine: both give the same answer.
        prop_assert_eq!(expected_ok, spec_accepts_id(&id), "{:?}", id);
        let result = runtime().block_on(client.contacts().update(&id, ContactUpdate::new().name("x")));
        // The generated builder is the same request path and must treat the id the same way.
        let built = runtime().block_on(
            client.update_contact().id(id.as_str()).body(ContactUpdate::new().name("x").into_request().unwrap()).send(),
        );
        prop_assert_eq!(result.is_ok(), built.is_ok(), "update {:?}, builder {:?}", result, built.map(|_| ()));
        let requests = server.requests();
        if expected_ok {
            prop_assert!(result.is_ok(), "{:?}", result);
            prop_assert_eq!(requests.len(), before + 2);
            prop_assert_eq!(&requests[before].path, &requests[before + 1].path);
            let path = &requests[before].path;
            let segment = path.strip_prefix("/api/v1/contacts/").unwrap_or("/");
            prop_assert!(!segment.is_empty() && !segment.contains('/') && !segment.contains('?') && !segment.contains('#'), "{}", path);
            prop_assert_eq!(support::percent_decode(segment), id);
        } else {
            prop_assert!(result.is_err());
            prop_assert_eq!(requests.len(), before, "a refused id was sent");
        }
    }
}
