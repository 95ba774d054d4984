//! Updates one contact. Run it against the local emulator:
//!
//! ```sh
//! cargo run -p nateq-emulator &   # prints: <base url> <demo key>
//! NATEQ_BASE_URL=<base url> NATEQ_API_KEY=<demo key> \
//!     cargo run -p nateq-api --example update_contact -- ct_demo_1 "Ada Lovelace"
//! ```

use nateq_api::{Client, ContactUpdate};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), nateq_api::Error> {
    let mut args = std::env::args().skip(1);
    let id = args.next().unwrap_or_else(|| "ct_demo_1".to_string());
    let name = args.next().unwrap_or_else(|| "Ada Lovelace".to_string());

    let client = Client::from_env()?;
    let contact = client
        .contacts()
        .update(&id, ContactUpdate::new().name(name).do_not_contact(true))
        .await?;
    println!("{} is now {:?}", contact.id, contact.name);
    Ok(())
}
