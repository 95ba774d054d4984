//! The concise contacts API: `client.contacts().update(id, ContactUpdate::new()...)`. It
//! validates, then sends through the generated operation (the one request path, see
//! `hooks.rs`), and turns the generated result into [`Error`].

use std::cell::RefCell;

use crate::decode::{Reading, decode};
use crate::error::Error;
use crate::hooks::{CALL, CallFacts};
use crate::types::Contact;
use crate::update::{ContactId, ContactUpdate};

/// Contact operations of a [`Client`](crate::Client); see [`Client::contacts`](crate::Client::contacts).
#[derive(Debug, Clone, Copy)]
pub struct Contacts<'a> {
    pub(crate) client: &'a crate::Client,
}

/// The result of one update call, with how many attempts it took.
#[derive(Debug)]
pub struct UpdateOutcome<T = Contact> {
    /// The updated contact (or `()` for [`Contacts::apply`]), or why the call failed. An
    /// error for which [`Error::is_applied`] is true (the server answered 2xx) means the
    /// update *was* applied.
    pub result: Result<T, Error>,
    /// Attempts made (1 when nothing was retried, 0 when nothing was sent).
    pub attempts: u32,
    /// Responses that said "slow down" during this call: a 429, or a 503 with `Retry-After`.
    /// Each made the whole client wait; none of them counts against the retry budget.
    pub throttled: u32,
}

impl Contacts<'_> {
    /// Updates a contact and returns it as it is after the update.
    ///
    /// Only the fields set on `update` are sent; the others keep their value. The id and every
    /// field are validated before any network I/O. Transient failures are retried according to
    /// the client's [`RetryPolicy`](crate::RetryPolicy): this is safe because the update is
    /// idempotent. A 429 (or a 503 with `Retry-After`) pauses every request of the client for
    /// the `Retry-After` and is then retried without using up a retry; the call fails only on
    /// its overall deadline ([`ClientBuilder::total_timeout`](crate::ClientBuilder::total_timeout)).
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), nateq_api::Error> {
    /// use nateq_api::{Client, ContactUpdate};
    ///
    /// let client = Client::from_env()?;
    /// let contact = client
    ///     .contacts()
    ///     .update("ct_1", ContactUpdate::new().name("Ada Lovelace").do_not_contact(true))
    ///     .await?;
    /// assert_eq!(contact.name.as_deref(), Some("Ada Lovelace"));
    /// # Ok(()) }
    /// ```
    pub async fn update(&self, id: &str, update: ContactUpdate) -> Result<Contact, Error> {
        self.update_detailed(id, update).await.result
    }

    /// Like [`update`](Self::update), but also says how many attempts were made and how many
    /// responses were throttled.
    pub async fn update_detailed(&self, id: &str, update: ContactUpdate) -> UpdateOutcome {
        self.send(id, update).await
    }

    /// Applies an update and confirms it, for bulk jobs that do not read the contact back. It
    /// reads only what says whether the update was applied (the status, the envelope's
    /// `success`, and `error` and `message` when it is false, and the request id): the contact
    /// in the response is skipped without being decoded, so one that drifted from the spec,
    /// or carries a long history, neither fails the call nor costs decoding time. Errors,
    /// validation, retries, throttling and attempts are otherwise exactly as for
    /// [`update`](Self::update).
    ///
    /// ```no_run
    /// # async fn run(client: nateq_api::Client) {
    /// use nateq_api::ContactUpdate;
    ///
    /// let outcome = client.contacts().apply("ct_1", ContactUpdate::new().source("sync")).await;
    /// match outcome.result {
    ///     Ok(()) => println!("applied in {} attempt(s)", outcome.attempts),
    ///     Err(e) if e.is_applied() => println!("applied, but the response drifted: {e}"),
    ///     Err(e) => eprintln!("not applied: {e}"),
    /// }
    /// # }
    /// ```
    pub async fn apply(&self, id: &str, update: ContactUpdate) -> UpdateOutcome<()> {
        self.send(id, update).await
    }

    /// Validates, sends through the generated operation and reads the answer as `T`.
    async fn send<T: Reading>(&self, id: &str, update: ContactUpdate) -> UpdateOutcome<T> {
        let started = std::time::Instant::now();
        let checked = ContactId::new(id).and_then(|id| Ok((id, update.into_request()?)));
        let (id, body) = match checked {
            Ok(checked) => checked,
            Err(e) => {
                return UpdateOutcome {
                    result: Err(Error::Validation(e)),
                    attempts: 0,
                    throttled: 0,
                };
            }
        };
        // Boxed once here, the generated operation's large future is not copied again by
        // each layer that awaits it.
        let send = Box::pin(self.client.raw.update_contact().id(id).body(body).send());
        CALL.scope(RefCell::new(CallFacts::default()), async move {
            let result = send.await;
            let mut facts = CALL.with(|f| std::mem::take(&mut *f.borrow_mut()));
            UpdateOutcome {
                result: decode(result, &mut facts, started).await,
                attempts: facts.attempts,
                throttled: facts.throttled,
            }
        })
        .await
    }
}
