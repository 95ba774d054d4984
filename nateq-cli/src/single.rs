//! `nateq contacts update <ID> [FIELDS]`: one update, the contact printed on stdout.

use nateq_api::ContactId;

use crate::cli::{GlobalArgs, UpdateArgs};
use crate::connect::connect;
use crate::output::print_json;

/// Validates, sends the update, prints the updated contact.
pub async fn run(global: &GlobalArgs, args: &UpdateArgs) -> anyhow::Result<()> {
    // Refuse bad input before starting anything (an emulator, a connection pool).
    ContactId::new(&args.id)?;
    let update = args.fields.to_update()?;
    update.to_request()?;

    let connection = connect(global, None).await?;
    tracing::info!(
        id = %args.id,
        fields = %serde_json::to_string(&update).unwrap_or_default(),
        "updating contact"
    );
    let contact = connection
        .client
        .contacts()
        .update(&args.id, update)
        .await?;
    print_json(&contact, global.output)
}
