//! The client's hand-written state and hooks.

use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};

/// State shared by every request of one client.
#[derive(Debug, Clone, Default)]
pub struct Shared {}

impl ClientHooks<Shared> for crate::Client {
    async fn exec(
        &self,
        request: reqwest::Request,
        _info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        self.client().execute(request).await
    }
}
