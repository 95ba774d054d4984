//! `ClientHooks` for the generated client, so that `client.update_contact()...send()` gets the
//! same auth, path check, retries, deadlines and tracing as `client.contacts().update(..)`.

use progenitor_client::{ClientHooks, Error, OperationInfo};

use crate::transport::{Step, attempt_span, error_chain, record_duration, with_retries};

type Shared = std::sync::Arc<crate::config::Shared>;

impl ClientHooks<Shared> for crate::generated::Client {
    /// Adds the key (only for the base URL's origin) and refuses a request whose path is not
    /// `{base}/contacts/<one segment>`: the URL parser turns ids such as `.` or `..` into
    /// other endpoints, and such a request must never be sent.
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        info: &OperationInfo,
    ) -> Result<(), Error<E>> {
        let base_path = self
            .baseurl
            .split_once("://")
            .map_or("", |(_, rest)| rest.find('/').map_or("", |i| &rest[i..]));
        let path = request.url().path();
        let segment = path
            .strip_prefix(base_path)
            .and_then(|p| p.strip_prefix("/contacts/"));
        let one_segment = segment.is_some_and(|s| !s.is_empty() && !s.contains('/'));
        if info.operation_id == "update_contact" && !one_segment {
            return Err(Error::InvalidRequest(format!(
                "the contact id does not form one path segment (request path {path:?})"
            )));
        }
        if request.url().origin() == self.inner.origin {
            request
                .headers_mut()
                .insert(reqwest::header::AUTHORIZATION, self.inner.auth.clone());
        }
        Ok(())
    }

    /// Sends with the client's retry policy and deadlines. The response body is read by the
    /// generated code, so its size is not capped on this path; use `contacts().update(..)` for that.
    async fn exec(
        &self,
        request: reqwest::Request,
        info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        let shared = &*self.inner;
        let operation = info.operation_id;
        if request.try_clone().is_none() {
            // A streaming body cannot be replayed: send it once, without retries.
            return self.client.execute(request).await;
        }
        let (outcome, _attempts) = with_retries(shared, |n, budget| {
            let attempt = request.try_clone();
            let client = self.client.clone();
            let span = attempt_span(operation, n);
            tracing::Instrument::instrument(
                async move {
                    let Some(mut attempt) = attempt else {
                        return Step::Done(None);
                    };
                    if let Some(budget) = budget {
                        *attempt.timeout_mut() = Some(budget);
                    }
                    let started = std::time::Instant::now();
                    let result = client.execute(attempt).await;
                    record_duration(started);
                    match result {
                        Ok(response) => {
                            let status = response.status();
                            tracing::Span::current().record("status", status.as_u16());
                            if crate::retry::is_retryable_status(status) {
                                Step::Retry {
                                    retry_after: crate::retry::retry_after(response.headers()),
                                    outcome: Some(Ok(response)),
                                }
                            } else {
                                Step::Done(Some(Ok(response)))
                            }
                        }
                        Err(e) => {
                            tracing::debug!(error = %error_chain(&e), "attempt failed");
                            Step::Retry {
                                outcome: Some(Err(e)),
                                retry_after: None,
                            }
                        }
                    }
                },
                span,
            )
        })
        .await;
        match outcome {
            Some(result) => result,
            // Not reached: the body was checked to be replayable above.
            None => self.client.execute(request).await,
        }
    }
}
