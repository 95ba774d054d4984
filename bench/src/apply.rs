//! Part of scenario 2: what `apply` saves by reading only the envelope. One SDK client calls an
//! in-process axum server (on `127.0.0.1:0`) that answers every update with the same 200
//! envelope of a contact with a long history (20,000 activities, about 6 MB, the size a
//! contact reaches on an emulator without a bounded history); `update` (which decodes the
//! contact) and `apply` (which skips it) take turns.

use std::time::{Duration, Instant};

use anyhow::Context;
use axum::routing::put;
use bytes::Bytes;

use crate::fixture;
use crate::stats::Runs;

/// Activities of the contact in the response.
pub const ACTIVITIES: usize = 20_000;

/// The labels of the two figures.
pub const UPDATE: &str = "update (decodes the contact), 6 MB response";
/// See [`UPDATE`].
pub const APPLY: &str = "apply (reads the envelope only), 6 MB response";

/// Times `calls` calls of each entry point and pushes each one's median into `runs`; returns
/// the response size in bytes.
pub fn measure(runs: &mut Runs, calls: usize) -> anyhow::Result<usize> {
    let body = Bytes::from(fixture::envelope(ACTIVITIES, 20));
    let size = body.len();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .context("cannot bind 127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let app = axum::Router::new().route(
            "/api/v1/contacts/{id}",
            put(move || {
                let body = body.clone();
                async move { ([("content-type", "application/json")], body) }
            }),
        );
        let server = tokio::spawn(async move { axum::serve(listener, app).await });
        let client = nateq_api::Client::builder()
            .api_key("tg_test_bench")
            .base_url(format!("http://{addr}/api/v1"))
            .max_response_bytes(64 * 1024 * 1024)
            .build()?;
        let contacts = client.contacts();
        let update = || nateq_api::ContactUpdate::new().name("Ada");
        let (mut full, mut envelope) = (Vec::new(), Vec::new());
        for call in 0..=calls {
            let started = Instant::now();
            contacts.update("ct_1", update()).await?;
            let updated = started.elapsed();
            let started = Instant::now();
            contacts.apply("ct_1", update()).await.result?;
            let applied = started.elapsed();
            // The first pair warms the connection and the allocator up.
            if call > 0 {
                full.push(ms(updated));
                envelope.push(ms(applied));
            }
        }
        server.abort();
        runs.push(UPDATE, "ms/call", median(&mut full));
        runs.push(APPLY, "ms/call", median(&mut envelope));
        Ok(size)
    })
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}
