//! Demo contacts are made when read and read as an eager seed would; `GET /_emulator/contacts`
//! is paginated, sorted by id.

use nateq_emulator::{Emulator, Seed, StoredContact};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{Harness, start_with};

/// The body without the times that differ between two emulators.
fn timeless(body: &str) -> Value {
    fn strip(value: &mut Value) {
        match value {
            Value::Object(map) => {
                for key in ["updatedAt", "createdAt"] {
                    if let Some(v) = map.get_mut(key)
                        && v.as_str().is_some_and(|s| s.starts_with("20"))
                        && v != "2026-01-05T09:00:00.000000Z"
                    {
                        *v = Value::from("<changed>");
                    }
                }
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut value: Value = serde_json::from_str(body).unwrap();
    strip(&mut value);
    value
}

/// A lazy demo seed reads, and answers updates, exactly as the same seed built up front.
#[tokio::test]
async fn demo_contacts_made_on_demand_read_as_the_eager_seed() {
    let n = 14;
    let lazy = start_with(Emulator::builder().demo_contacts(n)).await;
    let eager = start_with(Emulator::builder().seed(Seed::demo(n).unwrap())).await;
    assert_eq!(lazy.emu.contacts(), eager.emu.contacts());
    assert_eq!(lazy.emu.contacts().len(), n + 1);
    assert_eq!(lazy.emu.demo_contacts(), Some(n));
    assert_eq!(eager.emu.demo_contacts(), None);
    let both = [&lazy, &eager];
    for path in ["contacts", "contacts/ct_demo_14", "contacts?limit=3"] {
        let [a, b] = [
            both[0].admin_get(path).await.body,
            both[1].admin_get(path).await.body,
        ];
        assert_eq!(a, b, "{path}");
    }
    for (id, body) in [
        ("ct_demo_3", r#"{"name":"Grace","companyId":"co_demo_1"}"#),
        ("ct_demo_3", r#"{"name":"Grace"}"#),
        ("ct_demo_13", r#"{"type":"customer","phone":"+44"}"#),
        ("ct_demo_1", r#"{"doNotContact":true}"#),
        ("ct_demo_1", r#"{"companyId":"co_other_1"}"#),
        ("ct_demo_15", r#"{"name":"x"}"#),
    ] {
        let [a, b] = [both[0].put(id, body).await, both[1].put(id, body).await];
        assert_eq!(a.status, b.status, "{id} {body}");
        assert_eq!(timeless(&a.body), timeless(&b.body), "{id} {body}");
    }
    let [a, b] = [
        both[0].admin_get("contacts").await.body,
        both[1].admin_get("contacts").await.body,
    ];
    assert_eq!(timeless(&a), timeless(&b));
}

/// The demo contacts read exactly as the eager demo seed of earlier versions built them: the
/// fixture is the admin API's answer of a version that built all of them up front.
#[tokio::test]
async fn demo_contacts_read_as_the_earlier_eager_seed() {
    let fixture: Value =
        serde_json::from_str(include_str!("../fixtures/demo-seed-12.json")).unwrap();
    let h = start_with(Emulator::builder().demo_contacts(12)).await;
    let demo: Value = h.admin_get("contacts").await.json();
    assert_eq!(demo, fixture["org_demo"]);
    let other = h
        .admin_as(
            h.emu.other_org_key().unwrap(),
            reqwest::Method::GET,
            "contacts",
            None,
        )
        .await
        .json();
    assert_eq!(other, fixture["org_other"]);
}

/// Reset drops what was written: every contact reads as the seed again.
#[tokio::test]
async fn reset_drops_what_was_written() {
    let h = start_with(Emulator::builder().demo_contacts(1000)).await;
    let before = h.stored("ct_demo_777");
    h.put("ct_demo_777", r#"{"name":"Written"}"#).await.ok();
    assert_ne!(h.stored("ct_demo_777"), before);
    let reply = h.admin_send(reqwest::Method::POST, "reset", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(h.stored("ct_demo_777"), before);
}

/// Every page, followed by its `Link`, until there is none.
async fn walk(h: &Harness, first: &str) -> (Vec<String>, Vec<usize>, String) {
    let mut ids = Vec::new();
    let mut sizes = Vec::new();
    let mut path = first.to_owned();
    loop {
        let reply = h.admin_get(&path).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.body);
        let total = reply.headers["x-total-count"].to_str().unwrap().to_owned();
        let page: Vec<StoredContact> = serde_json::from_str(&reply.body).unwrap();
        sizes.push(page.len());
        ids.extend(page.into_iter().map(|c| c.contact.id));
        let Some(link) = reply.headers.get("link") else {
            return (ids, sizes, total);
        };
        let link = link.to_str().unwrap();
        assert!(link.ends_with(r#">; rel="next""#), "{link}");
        path = link
            .trim_start_matches("</_emulator/")
            .split('>')
            .next()
            .unwrap()
            .to_owned();
    }
}

#[tokio::test]
async fn the_contact_list_is_paginated_in_id_order() {
    let h = start_with(Emulator::builder().demo_contacts(25)).await;
    let (ids, sizes, total) = walk(&h, "contacts?limit=10").await;
    let mut expected: Vec<String> = (1..=25).map(|k| format!("ct_demo_{k}")).collect();
    expected.sort();
    assert_eq!(ids, expected);
    assert_eq!(sizes, [10, 10, 5]);
    assert_eq!(total, "25");
    // The default page holds every contact of a small seed, without a `Link`.
    let (ids, sizes, _) = walk(&h, "contacts").await;
    assert_eq!((ids.len(), sizes.len()), (25, 1));

    // A seed file's organisation pages alike.
    let seed: Seed = serde_json::from_value(serde_json::json!({
        "contacts": (1..=7).map(|i| serde_json::json!({
            "id": format!("c {i}/x"), "organizationId": "org_demo"
        })).collect::<Vec<_>>()
    }))
    .unwrap();
    let seeded = start_with(Emulator::builder().seed(seed)).await;
    let (ids, sizes, total) = walk(&seeded, "contacts?limit=3").await;
    let expected: Vec<String> = (1..=7).map(|i| format!("c {i}/x")).collect();
    assert_eq!(
        (ids, sizes, total),
        (expected, vec![3, 3, 1], "7".to_owned())
    );

    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=ten", "limit"),
        ("after=ct_demo_26", "after"),
        ("after=ct_other_1", "after"),
        ("page=2", "page"),
    ] {
        let reply = h.admin_get(&format!("contacts?{query}")).await;
        reply.err(StatusCode::BAD_REQUEST, "VALIDATION_ERROR");
        assert_eq!(reply.detail_fields(), [field], "{query}");
    }
}
