//! `nateq contacts update <ID> [FIELDS]`: one update, the contact printed on stdout.

use nateq_api::ContactId;

use crate::cli::{GlobalArgs, UpdateArgs};
use crate::connect::connect;
use crate::exit::Exit;
use crate::output::print_json;

/// Validates, sends the update, prints the updated contact.
///
/// A 2xx whose body drifted from the spec was applied: the drift goes to stderr, the
/// contact as it came back (the response's `data`, undecoded) to stdout, and the exit code is
/// [`Exit::Drift`], not a failure.
pub async fn run(global: &GlobalArgs, args: &UpdateArgs) -> anyhow::Result<Exit> {
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
    match connection.client.contacts().update(&args.id, update).await {
        Ok(contact) => print_json(&contact, global.output).map(|()| Exit::Ok),
        Err(nateq_api::Error::ResponseDrift(drift)) => {
            eprintln!("warning: {drift}");
            let data = serde_json::from_slice::<serde_json::Value>(drift.body())
                .ok()
                .and_then(|mut body| body.get_mut("data").map(serde_json::Value::take));
            if let Some(data) = data {
                print_json(&data, global.output)?;
            }
            Ok(Exit::Drift)
        }
        Err(e) => Err(e.into()),
    }
}
