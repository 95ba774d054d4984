//! Hostile requests against the emulator over raw TCP: malformed JSON, deep nesting, huge
//! strings and bodies, wrong types, header and path abuse. Each gets an answer, a clear 4xx
//! (the JSON envelope wherever the request reached the API), never a 5xx, never a closed
//! connection, and the emulator keeps serving with its memory bounded. The one request that
//! owes no answer is one whose body is still on its way (see [`Want::AwaitsTheBody`]).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends raw bytes (then, if given, `stream_bytes` more in 64 KiB pieces, stopping when the
/// server stops reading), closes the writing half if `end` says so, and reads the answer.
async fn exchange(
    addr: std::net::SocketAddr,
    head: &[u8],
    stream_bytes: usize,
    end: End,
) -> Answer {
    let mut s = TcpStream::connect(addr).await.unwrap();
    if let Err(e) = s.write_all(head).await {
        return Answer::Closed(format!("while sending the request: {e}"));
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
    if end == End::HalfClose {
        let _ = s.shutdown().await;
    }
    read_answer(&mut s).await
}

/// Whether the client keeps its side of the connection open after the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// Open: the server decides when the request is complete.
    Open,
    /// The writing half closed (EOF) once the request is sent.
    HalfClose,
}

/// What came back on a connection.
#[derive(Debug)]
enum Answer {
    /// A response: its status and body.
    Response(u16, String),
    /// The connection was closed (or reset) without a response: the cause.
    Closed(String),
    /// Nothing at all within [`SILENCE`], the connection still open.
    Silent,
}

impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Answer::Response(status, body) => write!(f, "{status} {body:.200}"),
            Answer::Closed(cause) => write!(f, "closed without an answer ({cause})"),
            Answer::Silent => write!(f, "no answer within {SILENCE:?}, the connection open"),
        }
    }
}

/// How long a connection that owes no answer is watched for one.
const SILENCE: Duration = Duration::from_secs(1);

/// Reads until the server closes (at most 5 s, or [`SILENCE`] while nothing has come) and
/// splits the status and the body.
async fn read_answer(s: &mut TcpStream) -> Answer {
    let mut answer = Vec::new();
    let mut chunk = [0u8; 64 * 1024];
    let started = tokio::time::Instant::now();
    loop {
        let limit = if answer.is_empty() {
            SILENCE
        } else {
            Duration::from_secs(5)
        };
        match tokio::time::timeout_at(started + limit, s.read(&mut chunk)).await {
            Err(_) if answer.is_empty() => return Answer::Silent,
            Err(_) | Ok(Ok(0)) => break,
            Ok(Ok(n)) => answer.extend_from_slice(&chunk[..n]),
            Ok(Err(e)) if answer.is_empty() => return Answer::Closed(e.to_string()),
            Ok(Err(_)) => break,
        }
    }
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok());
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    match status {
        Some(status) => Answer::Response(status, body),
        None if answer.is_empty() => Answer::Closed("closed without a byte".to_string()),
        None => Answer::Closed(format!("not an HTTP response: {text:.200}")),
    }
}

/// What answer a hostile request must get. Every request owes an answer, except one whose
/// body has not finished arriving (`AwaitsTheBody`): the server cannot answer a request it
/// has not read. A connection closed without an answer fails every other case.
#[derive(Debug, Clone, Copy)]
enum Want {
    /// It reached the API: a 4xx with the JSON error envelope.
    Envelope,
    /// Broken at the HTTP level (a request line or headers hyper refuses): a 4xx from the
    /// HTTP layer, with or without a body.
    HttpError,
    /// Odd but legal (big or repeated headers): an answer, anything but a 5xx.
    NoServerError,
    /// The body announced by `content-length` has not all arrived and the client keeps the
    /// connection open: the server waits for it, so no answer (and no close) is right.
    AwaitsTheBody,
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

/// The peak resident set size of this process (the emulator runs in it), from
/// `/proc/self/status`; a platform without it fails the test rather than skipping the check.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status")
        .unwrap_or_else(|e| panic!("the memory check needs /proc/self/status: {e}"));
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .unwrap_or_else(|| panic!("no VmHWM in /proc/self/status:\n{status}"));
    let kib = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("cannot read the peak RSS from {line:?}"));
    assert!(kib > 0, "{line}");
    kib
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

    // A property the spec can never have: every field name joined, longer than any of them.
    let not_a_field: String = nateq_api::fields::UPDATE_CONTACT_FIELDS
        .iter()
        .map(|f| f.name)
        .collect();
    assert!(nateq_api::fields::field(&not_a_field).is_none());
    let unknown = serde_json::json!({ not_a_field: "typo" }).to_string();
    let short_body = format!("PUT {path} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {key}\r\ncontent-type: application/json\r\ncontent-length: 100\r\nconnection: close\r\n\r\n{{}}").into_bytes();

    // (name, request bytes, bytes streamed after it, whether the client then sends EOF, the
    // answer it must get)
    let cases: Vec<(&str, Vec<u8>, usize, End, Want)> = vec![
        ("malformed json", put(&key, path, "", br#"{"name":"#), 0, End::Open, Want::Envelope),
        ("trailing garbage", put(&key, path, "", br#"{"name":"a"} x"#), 0, End::Open, Want::Envelope),
        ("deep array nesting", put(&key, path, "", deep_array.as_bytes()), 0, End::Open, Want::Envelope),
        ("deep object nesting", put(&key, path, "", deep_object.as_bytes()), 0, End::Open, Want::Envelope),
        ("1 MB string", put(&key, path, "", huge_string.as_bytes()), 0, End::Open, Want::Envelope),
        ("wrong types", put(&key, path, "", br#"{"name":123,"doNotContact":"yes","type":5}"#), 0, End::Open, Want::Envelope),
        ("array body", put(&key, path, "", b"[1,2]"), 0, End::Open, Want::Envelope),
        ("null body", put(&key, path, "", b"null"), 0, End::Open, Want::Envelope),
        ("string body", put(&key, path, "", br#""name""#), 0, End::Open, Want::Envelope),
        ("empty body", put(&key, path, "", b""), 0, End::Open, Want::Envelope),
        ("invalid utf-8", put(&key, path, "", b"{\"name\":\"\xff\xfe\"}"), 0, End::Open, Want::Envelope),
        ("unknown field", put(&key, path, "", unknown.as_bytes()), 0, End::Open, Want::Envelope),
        ("unknown enum value", put(&key, path, "", br#"{"type":"vip"}"#), 0, End::Open, Want::Envelope),
        ("text/plain body", format!("PUT {path} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {key}\r\ncontent-type: text/plain\r\ncontent-length: 2\r\nconnection: close\r\n\r\nhi").into_bytes(), 0, End::Open, Want::Envelope),
        ("50 MB chunked body", format!("PUT {path} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {key}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n").into_bytes(), 0, End::Open, Want::Envelope),
        ("50 MB announced body", format!("PUT {path} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {key}\r\ncontent-type: application/json\r\ncontent-length: 52428800\r\nconnection: close\r\n\r\n").into_bytes(), 50 * 1024 * 1024, End::Open, Want::Envelope),
        ("no authorization", format!("PUT {path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{{}}").into_bytes(), 0, End::Open, Want::Envelope),
        ("bearer without a key", put("", path, "", b"{}"), 0, End::Open, Want::Envelope),
        ("basic auth", format!("PUT {path} HTTP/1.1\r\nhost: x\r\nauthorization: Basic dXNlcjpwYXNz\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{{}}").into_bytes(), 0, End::Open, Want::Envelope),
        ("10 KB key", put(&long_key, path, "", b"{}"), 0, End::Open, Want::Envelope),
        ("non-ascii key bytes", [b"PUT /api/v1/contacts/ct_demo_1 HTTP/1.1\r\nhost: x\r\nauthorization: Bearer \xe9\xff\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}".as_slice()].concat(), 0, End::Open, Want::Envelope),
        ("two authorization headers", put(&key, path, "authorization: Bearer nope\r\n", b"{}"), 0, End::Open, Want::Envelope),
        ("200 extra headers", put(&key, path, &many_headers, b"{}"), 0, End::Open, Want::HttpError),
        ("100 KB header", put(&key, path, &format!("x-big: {}\r\n", "b".repeat(100_000)), b"{}"), 0, End::Open, Want::NoServerError),
        ("content-length larger than the body", short_body.clone(), 0, End::Open, Want::AwaitsTheBody),
        ("content-length larger than the body, then EOF", short_body.clone(), 0, End::HalfClose, Want::Envelope),
        ("10 KB id", put(&key, &long_id, "", b"{}"), 0, End::Open, Want::Envelope),
        ("dot-dot id", put(&key, "/api/v1/contacts/..%2F..%2Fetc", "", b"{}"), 0, End::Open, Want::Envelope),
        ("nul id", put(&key, "/api/v1/contacts/%00", "", b"{}"), 0, End::Open, Want::Envelope),
        ("DELETE", format!("DELETE {path} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {key}\r\nconnection: close\r\n\r\n").into_bytes(), 0, End::Open, Want::Envelope),
        ("garbage request line", b"HELLO\r\n\r\n".to_vec(), 0, End::Open, Want::HttpError),
    ];

    // The chunked case streams raw chunks: send one framed 50 MB stream.
    let untouched = emu.contact("ct_demo_1").unwrap();
    let mut results = Vec::new();
    let rss_before = peak_rss_kib();
    for (name, bytes, stream_bytes, end, want) in &cases {
        let answer = if *name == "50 MB chunked body" {
            chunked(addr, bytes, 50 * 1024 * 1024).await
        } else {
            exchange(addr, bytes, *stream_bytes, *end).await
        };
        results.push((name, answer, *want));
    }
    let rss_growth_mib = (peak_rss_kib().saturating_sub(rss_before)) / 1024;

    let mut failures = Vec::new();
    for (name, answer, want) in &results {
        let envelope = |body: &str| {
            serde_json::from_str::<nateq_api::types::ErrorResponse>(body).is_ok_and(|e| {
                !e.success && e.error.as_ref().and_then(|e| e.code.as_ref()).is_some()
            })
        };
        let ok = match (want, answer) {
            (Want::Envelope, Answer::Response(code, body)) => {
                (400..500).contains(code) && envelope(body)
            }
            (Want::HttpError, Answer::Response(code, _)) => (400..500).contains(code),
            (Want::NoServerError, Answer::Response(code, _)) => *code < 500,
            (Want::AwaitsTheBody, Answer::Silent) => true,
            _ => false,
        };
        if !ok {
            failures.push(format!("{name}: {answer} (want {want:?})"));
        }
        if let Answer::Response(_, body) = answer {
            assert!(!body.contains(&key), "{name}: the key was echoed");
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // 100 MB were offered in all; the emulator refused them without buffering.
    assert!(rss_growth_mib < 40, "peak RSS grew by {rss_growth_mib} MiB");

    // Nothing above changed the contact (taken before the hostile requests)...
    assert_eq!(emu.contact("ct_demo_1").unwrap(), untouched);
    // ...and the emulator still serves a good update.
    let answer = exchange(
        addr,
        &put(&key, path, "", br#"{"source":"still-alive"}"#),
        0,
        End::Open,
    )
    .await;
    assert!(matches!(answer, Answer::Response(200, _)), "{answer}");
    let after = emu.contact("ct_demo_1").unwrap();
    assert_eq!(after.contact.source.as_deref(), Some("still-alive"));
    assert_eq!(after.contact.name, untouched.contact.name);
}

/// Sends a chunked body of `total` bytes in 64 KiB chunks, stopping when the server stops
/// reading or answers.
async fn chunked(addr: std::net::SocketAddr, head: &[u8], total: usize) -> Answer {
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
