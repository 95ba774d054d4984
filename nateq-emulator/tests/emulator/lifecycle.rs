//! Starting and stopping: graceful shutdown, drop, requests in flight.

use std::time::Duration;

use nateq_emulator::{Emulator, FaultConfig, FaultKind};

use crate::helpers::{Reply, http_client};

/// Yields to the runtime until `done` holds (at most 10 s), instead of sleeping.
async fn until(mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "condition not reached"
        );
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn shutdown_stops_listening() {
    let emu = Emulator::builder().spawn().await.unwrap();
    let addr = emu.addr();
    assert!(tokio::net::TcpStream::connect(addr).await.is_ok());
    emu.shutdown().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn dropping_the_emulator_stops_it() {
    let emu = Emulator::builder().spawn().await.unwrap();
    let addr = emu.addr();
    drop(emu);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while tokio::net::TcpStream::connect(addr).await.is_ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "still listening after drop"
        );
        tokio::task::yield_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_in_flight_completes_during_shutdown() {
    let emu = Emulator::builder()
        .faults(FaultConfig::new(1.0, [FaultKind::Latency]).latency(Duration::from_millis(300)))
        .spawn()
        .await
        .unwrap();
    let url = format!("{}/contacts/ct_demo_1", emu.base_url());
    let key = emu.api_key().to_owned();
    let request = tokio::spawn(async move {
        let response = http_client()
            .put(url)
            .bearer_auth(key)
            .header("content-type", "application/json")
            .body(r#"{"name":"Finished"}"#)
            .send()
            .await
            .unwrap();
        Reply::read(response).await
    });
    // The request has reached the handler once its fault is counted.
    until(|| emu.faults().counters.latency == 1).await;
    emu.shutdown().await;
    let reply = request.await.unwrap();
    assert_eq!(reply.ok().data.unwrap().name.as_deref(), Some("Finished"));
}

/// Collects what a tracing subscriber writes.
#[derive(Clone, Default)]
struct Sink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `EmulatorBuilder::host` off loopback warns as `--host` does (on stderr and as a tracing
/// warning), naming the keys in use by id, never their secrets; on loopback it does not.
#[tokio::test]
async fn a_builder_listening_beyond_loopback_warns_naming_the_keys() {
    let sink = Sink::default();
    let writer = sink.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let logged = || String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();

    let quiet = Emulator::builder().spawn().await.unwrap();
    assert!(!logged().contains("not a loopback address"), "{}", logged());
    drop(quiet);

    let open = Emulator::builder()
        .host(std::net::Ipv4Addr::UNSPECIFIED.into())
        .spawn()
        .await
        .unwrap();
    let text = logged();
    assert!(
        text.contains(&format!("listening on 0.0.0.0:{}", open.addr().port()))
            && text.contains("not a loopback address")
            && text.contains("key_demo_full, key_demo_read_only, key_other_full"),
        "{text}"
    );
    for key in open.keys() {
        assert!(!text.contains(&key.secret), "a secret in {text}");
    }
}
