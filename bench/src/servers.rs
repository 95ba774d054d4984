//! The baseline servers, each run as its own process (`nateq-bench serve fixed|axum`): they
//! print `http://127.0.0.1:PORT` on the first line of stdout and serve until killed.
//!
//! - `fixed`: a minimal hyper server answering every request with the ~1 KB envelope (the
//!   client-overhead scenario's server, so that the server's cost is as small as it gets);
//! - `axum`: a minimal axum handler for `PUT /api/v1/contacts/{id}` that reads the body and
//!   returns the same fixed envelope (the emulator's baseline).

use std::io::Write;
use std::net::SocketAddr;

use anyhow::Context;
use axum::routing::put;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::fixture;

/// Which baseline server to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// Raw hyper, fixed envelope.
    Fixed,
    /// Minimal axum handler, fixed envelope.
    Axum,
}

/// Runs the server on a multi-thread runtime (the emulator binary's runtime) until killed.
pub fn serve(kind: Kind) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    runtime.block_on(async move {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .context("cannot bind 127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let mut stdout = std::io::stdout();
        writeln!(stdout, "http://{addr}/api/v1")?;
        stdout.flush()?;
        let body = Bytes::from(fixture::small_envelope());
        match kind {
            Kind::Fixed => serve_fixed(listener, body).await,
            Kind::Axum => serve_axum(listener, body).await,
        }
    })
}

async fn serve_fixed(listener: TcpListener, body: Bytes) -> anyhow::Result<()> {
    loop {
        let (stream, _) = listener.accept().await.context("accept failed")?;
        let _ = stream.set_nodelay(true);
        let body = body.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                let body = body.clone();
                async move {
                    // Read the request body, as any real server does.
                    let _ = request.into_body().collect().await;
                    Response::builder()
                        .header("content-type", "application/json")
                        .body(Full::new(body))
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn serve_axum(listener: TcpListener, body: Bytes) -> anyhow::Result<()> {
    use axum::serve::ListenerExt;
    let app = axum::Router::new().route(
        "/api/v1/contacts/{id}",
        put(
            move |axum::extract::Path(_id): axum::extract::Path<String>, _request: Bytes| {
                let body = body.clone();
                async move { ([(hyper::header::CONTENT_TYPE, "application/json")], body) }
            },
        ),
    );
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app)
        .await
        .context("axum server failed")
}
