//! Hand-written serde structs equivalent to the generated response and request types: the same
//! fields, the same optionality, no validation. What a careful user of raw reqwest would write.

use serde::{Deserialize, Serialize};

/// The response envelope.
#[derive(Debug, Deserialize)]
pub struct Envelope {
    /// Whether the update was applied.
    pub success: bool,
    /// A summary.
    pub message: Option<String>,
    /// The contact.
    pub data: Option<Contact>,
    /// The error, on failure.
    pub error: Option<ApiError>,
    /// Pagination metadata.
    pub meta: Option<Meta>,
}

/// The error object of an envelope.
#[derive(Debug, Deserialize)]
pub struct ApiError {
    /// Machine-readable code.
    pub code: Option<String>,
    /// Human-readable message.
    pub message: Option<String>,
    /// Free-form details.
    pub details: Option<serde_json::Value>,
}

/// Pagination metadata.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    /// Items on this page.
    pub count: Option<i64>,
    /// Cursor of the last item.
    pub end_cursor: Option<String>,
    /// Whether a next page exists.
    pub has_next: Option<bool>,
    /// Whether a previous page exists.
    pub has_previous: Option<bool>,
    /// Page size limit.
    pub limit: Option<i64>,
    /// Page number.
    pub page: Option<i64>,
    /// Page size.
    pub page_size: Option<i64>,
    /// Pending items.
    pub pending_count: Option<i64>,
    /// Cursor of the first item.
    pub start_cursor: Option<String>,
    /// Total items.
    pub total: Option<i64>,
    /// Total pages.
    pub total_pages: Option<i64>,
}

/// A contact.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Contact {
    /// Activity log.
    pub activities: Option<Vec<Activity>>,
    /// Avatar URL.
    pub avatar: Option<String>,
    /// Channel data.
    pub channel_data: Option<String>,
    /// Company.
    pub company: Option<Company>,
    /// Company id.
    pub company_id: Option<String>,
    /// Company name.
    pub company_name: Option<String>,
    /// Country.
    pub country: Option<String>,
    /// Creation time.
    pub created_at: Option<String>,
    /// Opt-out.
    pub do_not_contact: Option<bool>,
    /// Email.
    pub email: Option<String>,
    /// External id.
    pub external_id: Option<String>,
    /// Id.
    pub id: String,
    /// Anonymous.
    pub is_anonymous: Option<bool>,
    /// Potential client.
    pub is_potential_client: Option<bool>,
    /// Language.
    pub language: Option<String>,
    /// Name.
    pub name: Option<String>,
    /// Organisation.
    pub organization_id: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Position.
    pub position: Option<String>,
    /// Source.
    pub source: Option<String>,
    /// Tags.
    pub tags: Option<Vec<Tag>>,
    /// Last update.
    pub updated_at: Option<String>,
    /// WhatsApp opt-out.
    pub whatsapp_opted_out: Option<bool>,
    /// WhatsApp opt-out time.
    pub whatsapp_opted_out_at: Option<String>,
}

/// An activity.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Activity {
    /// Actor id.
    pub actor_id: Option<String>,
    /// Actor name.
    pub actor_name: Option<String>,
    /// Actor type.
    pub actor_type: Option<String>,
    /// Contact id.
    pub contact_id: Option<String>,
    /// Creation time.
    pub created_at: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Id.
    pub id: Option<String>,
    /// Metadata.
    pub metadata: Option<String>,
    /// New value.
    pub new_value: Option<String>,
    /// Old value.
    pub old_value: Option<String>,
    /// Last update.
    pub updated_at: Option<String>,
}

/// A company.
#[derive(Debug, Deserialize)]
pub struct Company {
    /// Domain.
    pub domain: Option<String>,
    /// Id.
    pub id: Option<String>,
    /// Name.
    pub name: Option<String>,
}

/// A tag.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tag {
    /// Colour.
    pub color: Option<String>,
    /// Creation time.
    pub created_at: Option<String>,
    /// Display name.
    pub display_name: Option<String>,
    /// Id.
    pub id: Option<String>,
    /// Name.
    pub name: Option<String>,
    /// Organisation.
    pub organization_id: Option<String>,
    /// Last update.
    pub updated_at: Option<String>,
}

/// The request body of the benchmarks' updates.
#[derive(Debug, Serialize)]
pub struct UpdateRequest<'a> {
    /// The new name.
    pub name: &'a str,
}
