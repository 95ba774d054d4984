//! Response bodies used by the benchmarks: the `200` envelope of `PUT /contacts/{id}` with a
//! configurable number of activities and tags, built as JSON and checked to decode into
//! `nateq_api::types::UpdateContactResponse`.

use serde_json::{Value, json};

/// The envelope of the client-overhead server: about 1 KB, one activity and one tag.
pub fn small_envelope() -> Vec<u8> {
    envelope(1, 1)
}

/// The envelope of the decode benchmark: 50 activities and 20 tags.
pub fn large_envelope() -> Vec<u8> {
    envelope(50, 20)
}

/// A `200` envelope whose contact has `activities` activities and `tags` tags.
pub fn envelope(activities: usize, tags: usize) -> Vec<u8> {
    let activities: Vec<Value> = (1..=activities)
        .map(|i| {
            json!({
                "id": format!("act_{i}"),
                "contactId": "ct_demo_1",
                "actorId": "key_demo_full",
                "actorName": "Demo integration",
                "actorType": "api_key",
                "description": "name changed",
                "metadata": "{\"field\":\"name\"}",
                "oldValue": format!("Ada {}", i - 1),
                "newValue": format!("Ada {i}"),
                "createdAt": "2026-11-27T10:00:00.000000Z",
                "updatedAt": "2026-11-27T10:00:00.000000Z"
            })
        })
        .collect();
    let tags: Vec<Value> = (1..=tags)
        .map(|i| {
            json!({
                "id": format!("tag_{i}"),
                "name": format!("tag-{i}"),
                "displayName": format!("Tag {i}"),
                "color": "#3366ff",
                "organizationId": "org_demo",
                "createdAt": "2026-01-01T00:00:00Z",
                "updatedAt": "2026-01-01T00:00:00Z"
            })
        })
        .collect();
    let body = json!({
        "success": true,
        "message": "Contact updated",
        "data": {
            "id": "ct_demo_1",
            "organizationId": "org_demo",
            "name": "Ada Lovelace",
            "email": "ada@example.com",
            "phone": "+44 20 7946 0001",
            "country": "GB",
            "language": "en",
            "position": "Analyst",
            "source": "import",
            "avatar": "https://example.com/avatars/ada.png",
            "channelData": null,
            "companyId": "co_demo_1",
            "companyName": "Analytical Engines Ltd",
            "company": {"id": "co_demo_1", "name": "Analytical Engines Ltd", "domain": "engines.example.com"},
            "externalId": "crm-1815",
            "doNotContact": false,
            "isAnonymous": false,
            "isPotentialClient": true,
            "whatsappOptedOut": false,
            "whatsappOptedOutAt": null,
            "tags": tags,
            "activities": activities,
            "createdAt": "2026-01-01T00:00:00.000000Z",
            "updatedAt": "2026-11-27T10:00:00.000000Z"
        },
        "error": null,
        "meta": null
    });
    serde_json::to_vec(&body).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use nateq_api::types::UpdateContactResponse;

    #[test]
    fn the_small_envelope_is_about_one_kilobyte_and_decodes() {
        let body = small_envelope();
        assert!((900..=1300).contains(&body.len()), "{} bytes", body.len());
        let envelope: UpdateContactResponse = serde_json::from_slice(&body).unwrap();
        let contact = envelope.data.unwrap();
        assert_eq!(contact.id, "ct_demo_1");
        assert_eq!(contact.activities.unwrap().len(), 1);
        assert_eq!(contact.tags.unwrap().len(), 1);
    }

    #[test]
    fn the_large_envelope_has_50_activities_and_20_tags() {
        let body = large_envelope();
        let envelope: UpdateContactResponse = serde_json::from_slice(&body).unwrap();
        let contact = envelope.data.unwrap();
        assert_eq!(contact.activities.unwrap().len(), 50);
        assert_eq!(contact.tags.unwrap().len(), 20);
    }

    #[test]
    fn the_handwritten_structs_read_the_same_contact() {
        let body = large_envelope();
        let typed: UpdateContactResponse = serde_json::from_slice(&body).unwrap();
        let hand: crate::handwritten::Envelope = serde_json::from_slice(&body).unwrap();
        let (typed, hand) = (typed.data.unwrap(), hand.data.unwrap());
        assert_eq!(hand.id, typed.id);
        assert_eq!(hand.name, typed.name);
        assert_eq!(hand.company.unwrap().domain, typed.company.unwrap().domain);
        let (ta, ha) = (typed.activities.unwrap(), hand.activities.unwrap());
        assert_eq!(ha.len(), ta.len());
        assert_eq!(ha[49].new_value, ta[49].new_value);
        assert_eq!(hand.tags.unwrap()[19].color, typed.tags.unwrap()[19].color);
    }
}
