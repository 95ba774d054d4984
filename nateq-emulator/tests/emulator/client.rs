//! The happy path through the SDK: every response deserialises into the spec's types.

use nateq_api::types::{self, ContactType};

use crate::helpers::start;

fn client(h: &crate::helpers::Harness, key: &str) -> nateq_api::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    nateq_api::Client::builder()
        .base_url(h.emu.base_url())
        .api_key(key)
        .allow_insecure_http(true)
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_generated_client_updates_a_contact() {
    let h = start().await;
    let client = client(&h, h.emu.api_key());
    let response = client
        .update_contact()
        .id("ct_demo_1")
        .body(
            types::UpdateContactRequest::builder()
                .name(types::UpdateContactRequestName::try_from("Ada Lovelace").unwrap())
                .type_(ContactType::Guest),
        )
        .send()
        .await
        .unwrap()
        .into_inner();
    assert!(response.success);
    let contact = response.data.unwrap();
    assert_eq!(contact.name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(contact.activities.unwrap().len(), 2);
    assert_eq!(h.stored("ct_demo_1").contact_type, Some(ContactType::Guest));
}

#[tokio::test]
async fn the_generated_client_sees_error_envelopes() {
    let h = start().await;
    let client = client(&h, h.emu.read_only_key().unwrap());
    let error = client
        .update_contact()
        .id("ct_demo_1")
        .body(
            types::UpdateContactRequest::builder()
                .name(types::UpdateContactRequestName::try_from("Nope").unwrap()),
        )
        .send()
        .await
        .unwrap_err();
    match error {
        nateq_api::generated_client::Error::ErrorResponse(response) => {
            assert_eq!(response.status().as_u16(), 403);
            let envelope = response.into_inner();
            assert_eq!(
                envelope.error.unwrap().code.as_deref(),
                Some("INSUFFICIENT_SCOPE")
            );
        }
        other => panic!("expected an error envelope, got {other:?}"),
    }
}
