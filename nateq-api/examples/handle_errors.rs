//! Shows how to tell every kind of error apart. Run it against the local emulator as in
//! `update_contact.rs`; it tries an over-long name, an unknown contact and a bad key.

use nateq_api::{Client, ContactUpdate, Error};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let client = Client::from_env()?;
    let contacts = client.contacts();

    let attempts = [
        ("ct_demo_1", ContactUpdate::new().name("x".repeat(300))),
        ("ct_does_not_exist", ContactUpdate::new().name("Ada")),
        ("..", ContactUpdate::new().name("Ada")),
    ];
    for (id, update) in attempts {
        match contacts.update(id, update).await {
            Ok(contact) => println!("updated {}", contact.id),
            Err(e) => println!("{}: {e}", describe(&e)),
        }
    }
    Ok(())
}

fn describe(e: &Error) -> &'static str {
    match e {
        Error::Validation(_) => "refused before sending (fix the input)",
        Error::Api(api) if api.status == 404 => "no such contact in your organisation",
        Error::Api(api) if api.status == 401 || api.status == 403 => "check the key and its scopes",
        Error::Api(_) => "the API said no",
        Error::Timeout { .. } | Error::Connection { .. } => "network trouble, already retried",
        Error::Decode { .. } | Error::ResponseTooLarge { .. } | Error::Redirect { .. } => {
            "an unexpected answer (a proxy in the way?)"
        }
        Error::Config(_) => "fix the configuration",
        _ => "other",
    }
}
