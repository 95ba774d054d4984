//! A scripted HTTP/1.1 server on `127.0.0.1:0` for client tests: it records every request
//! exactly as received (raw path, headers, body) and answers from a script, including
//! answers no well-behaved server gives (wrong `Content-Length`, slow drip, dropped
//! connections, stalls). It is test infrastructure, not a model of the API: the emulator is.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The test key; every test checks that it never leaks.
pub const KEY: &str = "tg_test_SECRET_do_not_leak_0123456789";

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// The raw request target, exactly as sent (no decoding or normalisation).
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("request body is JSON")
    }
}

/// What the server does with one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// Write these bytes (a whole HTTP response, possibly malformed) and close.
    Raw(Vec<u8>),
    /// Write the head, then the body in pieces with a pause between them, then close.
    Drip {
        head: Vec<u8>,
        pieces: Vec<Vec<u8>>,
        pause: Duration,
    },
    /// Say nothing for this long, then close.
    Stall(Duration),
    /// Close the connection without answering.
    Drop,
}

/// A response with a body and `Content-Length`, closing the connection.
pub fn response(status: u16, content_type: &str, body: &str, headers: &[(&str, &str)]) -> Reply {
    let mut head = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body.as_bytes());
    Reply::Raw(bytes)
}

pub fn json(status: u16, body: &serde_json::Value) -> Reply {
    response(status, "application/json", &body.to_string(), &[])
}

/// A 200 envelope around a contact with this id and name.
pub fn ok_contact(id: &str, name: &str) -> Reply {
    json(
        200,
        &serde_json::json!({
            "success": true, "message": "Contact updated", "error": null, "meta": null,
            "data": {"id": id, "name": name, "updatedAt": "2026-11-27T10:00:00.000Z"}
        }),
    )
}

/// An error envelope.
pub fn error_envelope(status: u16, code: &str, message: &str) -> Reply {
    json(
        status,
        &serde_json::json!({
            "success": false, "data": null, "meta": null, "message": message,
            "error": {"code": code, "message": message, "details": {"hint": "x"}}
        }),
    )
}

pub struct ScriptServer {
    pub addr: std::net::SocketAddr,
    requests: Arc<Mutex<Vec<Recorded>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ScriptServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ScriptServer {
    /// Serves the replies in order; the last one repeats.
    pub async fn start(replies: Vec<Reply>) -> ScriptServer {
        init_tracing();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recorded = requests.clone();
        let task = tokio::spawn(async move {
            let mut n = 0usize;
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let reply = replies[n.min(replies.len() - 1)].clone();
                n += 1;
                let recorded = recorded.clone();
                tokio::spawn(serve(stream, reply, recorded));
            }
        });
        ScriptServer {
            addr,
            requests,
            task,
        }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}/api/v1", self.addr)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }
}

async fn serve(mut stream: TcpStream, reply: Reply, recorded: Arc<Mutex<Vec<Recorded>>>) {
    let Some(request) = read_request(&mut stream).await else {
        return;
    };
    recorded.lock().unwrap().push(request);
    match reply {
        Reply::Raw(bytes) => {
            let _ = stream.write_all(&bytes).await;
        }
        Reply::Drip {
            head,
            pieces,
            pause,
        } => {
            let _ = stream.write_all(&head).await;
            for piece in pieces {
                tokio::time::sleep(pause).await;
                if stream.write_all(&piece).await.is_err() {
                    return;
                }
            }
        }
        Reply::Stall(d) => tokio::time::sleep(d).await,
        Reply::Drop => {}
    }
    let _ = stream.shutdown().await;
}

async fn read_request(stream: &mut TcpStream) -> Option<Recorded> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut start = lines.next()?.split(' ');
    let method = start.next()?.to_string();
    let path = start.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_lowercase(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Recorded {
        method,
        path,
        headers,
        body,
    })
}

/// A client builder with the test key, pointed at `base_url`.
pub fn builder(base_url: &str) -> nateq_api::ClientBuilder {
    nateq_api::Client::builder().api_key(KEY).base_url(base_url)
}

/// A client for `server` with fast retries, so tests do not wait for real backoff.
pub fn client(base_url: &str, retries: u32) -> nateq_api::Client {
    builder(base_url)
        .timeout(Duration::from_secs(5))
        .retry_policy(
            nateq_api::RetryPolicy::default()
                .max_retries(retries)
                .base_delay(Duration::from_millis(5))
                .max_delay(Duration::from_millis(20)),
        )
        .build()
        .unwrap()
}

/// Decodes `%XX` escapes of a raw path segment (tests compare it with the id that was sent).
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// A plain reqwest client for sending raw requests (e.g. bodies the SDK would refuse).
/// The workspace builds rustls without a default crypto provider, so install `ring` first.
pub fn raw_http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// Sends `tracing` output (SDK, emulator, reqwest, hyper) to the test writer, filtered by
/// `RUST_LOG`. CI runs the suite once with `RUST_LOG=trace` and scans the output for keys.
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}
