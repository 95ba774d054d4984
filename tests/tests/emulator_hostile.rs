//! Hostile requests against the emulator over raw TCP: malformed JSON, deep nesting, huge
//! strings and bodies, wrong types, header and path abuse. Each gets a clear 4xx (the JSON
//! envelope wherever the request reached the API), never a 5xx, never a crash, and the
//! emulator keeps serving with its memory bounded.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends raw bytes (then, if given, `stream_bytes` more in 64 KiB pieces, stopping when the
/// server stops reading) and returns the status and body of the answer, if any.
async fn exchange(
    addr: std::net::SocketAddr,
    head: &[u8],
    stream_bytes: usize,
) -> (Option<u16>, String) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    if s.write_all(head).await.is_err() {
        return (None, String::new());
    }
    let piece = vec![b'a'; 64 * 1024];
    let mut sent = 0;
    while sent < stream_bytes {
        let n = piece.len().min(stream_bytes - sent);
        match tokio::time::timeout(Duration::from_secs(2), s.write_all(&piece[..n])).await {
            Ok(Ok(())) => sent += n,
            _ => break,
        }
    }
    read_answer(&mut s).await
}

/// Reads until the server closes (at most 5 s) and splits the status and the body.
async fn read_answer(s: &mut TcpStream) -> (Option<u16>, String) {
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut answer)).await;
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok());
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// What answer a hostile request may get.
#[derive(Debug, Clone, Copy)]
enum Want {
    /// It reached the API: a 4xx with the JSON error envelope.
    Envelope,
    /// Broken at the HTTP level: a 4xx from the HTTP layer, or the connection closed.
    ClientErrorOrClosed,
    /// Odd but legal (big or repeated headers): anything but a 5xx.
    NoServerError,
}

fn put(key: &str, path: &str, extra_headers: &str, body: &[u8]) -> Vec<u8> {
    let mut head = format!(
        "PUT {path} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {key}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n{extra_headers}\r\n",
        body.len()
    )
    .into_bytes();
    head.extend_from_slice(body);
    head
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|n| n.parse().unwrap_or(0)))
        })
        .unwrap_or(0)
}

#[tokio::test]
async fn hostile_requests_get_a_clear_4xx_and_never_a_5xx() {
    support::init_tracing();
    let emu = nateq_emulator::Emulator::builder().spawn().await.unwrap();
    let addr = emu.addr();
    let key = emu.api_key().to_string();
    let path = "/api/v1/contacts/ct_demo_1";
    let deep_array = format!("{{\"name\":{}{}}}", "[".repeat(50_000), "]".repeat(50_000));
    let deep_object = format!("{}1{}", "{\"a\":".repeat(50_000), "}".repeat(50_000));
    let huge_string = format!("{{\"name\":\"{}\"}}", "x".repeat(1_000_000));
    let long_id = format!("/api/v1/contacts/{}", "a".repeat(10_000));
    let long_key = "k".repeat(10_000);
    let many_headers: String = (0..200).map(|i| format!("x-h{i}: {i}\r\n")).collect();

    // (name, request bytes, bytes streamed after it, what answer is acceptable)
    let cases: Vec<(&str, Vec<u8>, usize, Want)> = vec![
        ("malformed json", put(&key, path, "", br#"{"name":"#), 0, Want::Envelope),
        ("trailing garbage", put(&key, path, "", br#"{"name":"a"} x"#), 0, Want::Envelope),
        ("deep array nesting", put(&key, path, "", deep_array.as_bytes()), 0, Want::Envelope),
        ("deep object nesting", put(&key, path, "", deep_object.as_bytes()), 0, Want::Envelope),
        ("1 MB string", put(&key, path, "", huge_string.as_bytes()), 0, Want::Envelope),
        ("wrong types", put(&key, path, "", br#"{"name":123,"doNotContact":"yes","type":5}"#), 0, Want::Envelope),
        ("array body", put(&key, path, "", b"[1,2]"), 0, Want::Envelope),
        ("null body", put(&key, path, "", b"null"), 0, Want::Envelope),
        ("string body", put(&key, path, "", br#""name""#), 0, Want::Envelope),
        ("empty body", put(&key, path, "", b""), 0, Want::Envelope),
        ("invalid utf-8", put(&key, path, "", b"{\"name\":\"\xff\xfe\"}"), 0, Want::Envelope),
        ("unknown field", put(&key, path, "", br#"{"nmae":"typo"}"#), 0, Want::Envelope),
        ("unknown enum value", put(&key, path, "", br#"{"type":"vip"}"#), 0, Want::Envelope),
        ("text/plain body", format!("PUT {path} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {key}\r\ncontent-type: text/plain\r\ncontent-length: 2\r\nconnection: close\r\n\r\nhi").into_bytes(), 0, Want::Envelope),
        ("50 MB chunked body", format!("PUT {path} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {key}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n").into_bytes(), 0, Want::ClientErrorOrClosed),
        ("50 MB announced body", format!("PUT {path} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {key}\r\ncontent-type: application/json\r\ncontent-length: 52428800\r\nconnection: close\r\n\r\n").into_bytes(), 50 * 1024 * 1024, Want::Envelope),
        ("no authorization", format!("PUT {path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{{}}").into_bytes(), 0, Want::Envelope),
        ("bearer without a key", put("", path, "", b"{}"), 0, Want::Envelope),
        ("basic auth", format!("PUT {path} HTTP/1.1\r\nhost: x\r\nauthorization: Basic dXNlcjpwYXNz\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{{}}").into_bytes(), 0, Want::Envelope),
        ("10 KB key", put(&long_key, path, "", b"{}"), 0, Want::Envelope),
        ("non-ascii key bytes", [b"PUT /api/v1/contacts/ct_demo_1 HTTP/1.1\r\nhost: x\r\nauthorization: Bearer \xe9\xff\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}".as_slice()].concat(), 0, Want::Envelope),
        ("two authorization headers", put(&key, path, "authorization: Bearer nope\r\n", b"{}"), 0, Want::NoServerError),
        ("200 extra headers", put(&key, path, &many_headers, b"{}"), 0, Want::NoServerError),
        ("100 KB header", put(&key, path, &format!("x-big: {}\r\n", "b".repeat(100_000)), b"{}"), 0, Want::NoServerError),
        ("content-length larger than the body", format!("PUT {path} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {key}\r\ncontent-type: application/json\r\ncontent-length: 100\r\nconnection: close\r\n\r\n{{}}").into_bytes(), 0, Want::ClientErrorOrClosed),
        ("10 KB id", put(&key, &long_id, "", b"{}"), 0, Want::Envelope),
        ("dot-dot id", put(&key, "/api/v1/contacts/..%2F..%2Fetc", "", b"{}"), 0, Want::Envelope),
        ("nul id", put(&key, "/api/v1/contacts/%00", "", b"{}"), 0, Want::Envelope),
        ("DELETE", format!("DELETE {path} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {key}\r\nconnection: close\r\n\r\n").into_bytes(), 0, Want::Envelope),
        ("garbage request line", b"HELLO\r\n\r\n".to_vec(), 0, Want::ClientErrorOrClosed),
    ];

    // The chunked case streams raw chunks: send one framed 50 MB stream.
    let untouched = emu.contact("ct_demo_1").unwrap();
    let mut results = Vec::new();
    let rss_before = peak_rss_kib();
    for (name, bytes, stream_bytes, want) in &cases {
        let (status, body) = if *name == "50 MB chunked body" {
            chunked(addr, bytes, 50 * 1024 * 1024).await
        } else {
            exchange(addr, bytes, *stream_bytes).await
        };
        results.push((name, status, body, *want));
    }
    let rss_growth_mib = (peak_rss_kib().saturating_sub(rss_before)) / 1024;

    let mut failures = Vec::new();
    for (name, status, body, want) in &results {
        let envelope = serde_json::from_str::<nateq_api::types::ErrorResponse>(body)
            .is_ok_and(|e| !e.success && e.error.as_ref().and_then(|e| e.code.as_ref()).is_some());
        let ok = match (want, status) {
            (Want::Envelope, Some(code)) => (400..500).contains(code) && envelope,
            (Want::ClientErrorOrClosed, Some(code)) => (400..500).contains(code),
            (Want::ClientErrorOrClosed, None) => true,
            (Want::NoServerError, Some(code)) => *code < 500,
            (Want::NoServerError, None) => true,
            (Want::Envelope, None) => false,
        };
        if !ok {
            failures.push(format!("{name}: {status:?} (want {want:?}) {body:.200}"));
        }
        assert!(!body.contains(&key), "{name}: the key was echoed");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // 100 MB were offered in all; the emulator refused them without buffering.
    assert!(rss_growth_mib < 40, "peak RSS grew by {rss_growth_mib} MiB");

    // Nothing above changed the contact (taken before the hostile requests)...
    assert_eq!(emu.contact("ct_demo_1").unwrap(), untouched);
    // ...and the emulator still serves a good update.
    let (status, body) = exchange(
        addr,
        &put(&key, path, "", br#"{"source":"still-alive"}"#),
        0,
    )
    .await;
    assert_eq!(status, Some(200), "{body}");
    let after = emu.contact("ct_demo_1").unwrap();
    assert_eq!(after.contact.source.as_deref(), Some("still-alive"));
    assert_eq!(after.contact.name, untouched.contact.name);
}

/// Sends a chunked body of `total` bytes in 64 KiB chunks, stopping when the server stops
/// reading or answers.
async fn chunked(addr: std::net::SocketAddr, head: &[u8], total: usize) -> (Option<u16>, String) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(head).await.unwrap();
    let data = vec![b' '; 64 * 1024];
    let mut frame = format!("{:x}\r\n", data.len()).into_bytes();
    frame.extend_from_slice(&data);
    frame.extend_from_slice(b"\r\n");
    let mut sent = 0;
    while sent < total {
        match tokio::time::timeout(Duration::from_secs(2), s.write_all(&frame)).await {
            Ok(Ok(())) => sent += data.len(),
            _ => break,
        }
    }
    let _ = s.write_all(b"0\r\n\r\n").await;
    read_answer(&mut s).await
}
