//! Configures retries, backoff and deadlines for a bulk job, then updates a few contacts,
//! printing how many attempts each took. Run it against the local emulator as in
//! `update_contact.rs` (start it with `--fault-rate 0.3 --faults 503,429` to see retries).

use std::time::Duration;

use nateq_api::{Client, ContactUpdate, RetryPolicy};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), nateq_api::Error> {
    let client = Client::builder()
        .from_env()
        .timeout(Duration::from_secs(5))
        .total_timeout(Duration::from_secs(60))
        .retry_policy(
            RetryPolicy::default()
                .max_retries(5)
                .base_delay(Duration::from_millis(200))
                .max_delay(Duration::from_secs(5))
                .max_retry_after(Duration::from_secs(30)),
        )
        .build()?;
    for i in 1..=5 {
        let id = format!("ct_demo_{i}");
        let outcome = client
            .contacts()
            .update_detailed(&id, ContactUpdate::new().source("tune_retries"))
            .await;
        match outcome.result {
            Ok(_) => println!("{id}: ok after {} attempt(s)", outcome.attempts),
            Err(e) => println!("{id}: {e} after {} attempt(s)", outcome.attempts),
        }
    }
    Ok(())
}
