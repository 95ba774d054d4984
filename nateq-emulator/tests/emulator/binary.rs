//! The `nateq-emulator` binary: first line, serving, flags.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::helpers::{Reply, http_client};

struct Running {
    child: Child,
    base_url: String,
    key: String,
}

impl Running {
    /// `PUT /contacts/ct_demo_1` with `body`, with the printed key.
    async fn put_demo_1(&self, http: &reqwest::Client, body: String) -> reqwest::Response {
        http.put(format!("{}/contacts/ct_demo_1", self.base_url))
            .bearer_auth(&self.key)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn launch(args: &[&str]) -> (Running, Duration) {
    launch_with(args, Stdio::null())
}

fn launch_with(args: &[&str], stderr: Stdio) -> (Running, Duration) {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_nateq-emulator"))
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let elapsed = started.elapsed();
    let mut parts = line.trim_end().split(' ');
    let base_url = parts.next().unwrap().to_owned();
    let key = parts.next().unwrap_or_default().to_owned();
    assert_eq!(parts.next(), None, "{line}");
    (
        Running {
            child,
            base_url,
            key,
        },
        elapsed,
    )
}

#[tokio::test]
async fn prints_its_address_and_key_then_serves() {
    let (running, elapsed) = launch(&["--port", "0", "--demo-contacts", "3"]);
    assert!(
        running.base_url.starts_with("http://127.0.0.1:"),
        "{}",
        running.base_url
    );
    assert!(running.base_url.ends_with("/api/v1"));
    assert!(running.key.starts_with("tg_test_"));
    assert!(elapsed < Duration::from_secs(1), "started in {elapsed:?}");

    let http = http_client();
    let response = http
        .put(format!("{}/contacts/ct_demo_3", running.base_url))
        .bearer_auth(&running.key)
        .header("content-type", "application/json")
        .body(r#"{"name":"From The Binary"}"#)
        .send()
        .await
        .unwrap();
    let contact = Reply::read(response).await.ok().data.unwrap();
    assert_eq!(contact.name.as_deref(), Some("From The Binary"));

    let response = http
        .put(format!("{}/contacts/ct_demo_4", running.base_url))
        .bearer_auth(&running.key)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn fault_flags_are_applied() {
    let (running, _) = launch(&[
        "--port",
        "0",
        "--fault-rate",
        "1",
        "--faults",
        "503,429",
        "--fault-seed",
        "1",
    ]);
    let http = http_client();
    let mut seen = Vec::new();
    for _ in 0..12 {
        let response = running.put_demo_1(&http, "{}".to_string()).await;
        seen.push(response.status().as_u16());
    }
    assert!(seen.iter().all(|s| *s == 503 || *s == 429), "{seen:?}");
    assert!(seen.contains(&503) && seen.contains(&429), "{seen:?}");
}

#[test]
fn seed_file_flag_and_bad_flags() {
    let seed = concat!(env!("CARGO_MANIFEST_DIR"), "/seed.example.json");
    let (running, _) = launch(&["--port", "0", "--seed", seed]);
    assert_eq!(running.key, "tg_test_acme_full_example_key_0001");

    let output = Command::new(env!("CARGO_BIN_EXE_nateq-emulator"))
        .args(["--port", "0", "--faults", "boom"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("unknown fault kind `boom`"), "{stderr}");
    assert!(output.stdout.is_empty());

    let output = Command::new(env!("CARGO_BIN_EXE_nateq-emulator"))
        .args(["--port", "0", "--seed", "/nonexistent/seed.json"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot read seed file /nonexistent/seed.json"),
        "{stderr}"
    );

    for (flag, limit) in [
        ("--journal", "1000000"),
        ("--fault-stall-ms", "300000"),
        ("--fault-latency-ms", "300000"),
        ("--activity-history", "100000"),
        ("--activities-per-response", "1000"),
    ] {
        let over = (limit.parse::<u64>().unwrap() + 1).to_string();
        let output = Command::new(env!("CARGO_BIN_EXE_nateq-emulator"))
            .args(["--port", "0", flag, &over])
            .output()
            .unwrap();
        assert!(!output.status.success(), "{flag} {over}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(flag) && stderr.contains(limit),
            "{flag}: {stderr}"
        );
        assert!(output.stdout.is_empty());
    }

    let output = Command::new(env!("CARGO_BIN_EXE_nateq-emulator"))
        .args(["--port", "0", "--fault-rate", "1.5"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("rate must be between 0 and 1"), "{stderr}");
}

#[cfg(unix)]
#[test]
fn sigterm_shuts_down_gracefully() {
    let (mut running, _) = launch(&["--port", "0"]);
    let pid = running.child.id().to_string();
    let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(status.success());
    let exit = running.child.wait().unwrap();
    assert!(exit.success(), "{exit:?}");
}

#[tokio::test]
async fn rate_limit_flag_is_applied() {
    let (running, _) = launch(&["--port", "0", "--rate-limit", "1"]);
    let http = http_client();
    let mut seen = Vec::new();
    for _ in 0..2 {
        let response = running.put_demo_1(&http, "{}".to_string()).await;
        seen.push((
            response.status().as_u16(),
            response.headers()["x-ratelimit-limit"]
                .to_str()
                .unwrap()
                .to_owned(),
        ));
    }
    assert_eq!(seen, [(200, "1".to_owned()), (429, "1".to_owned())]);

    let output = Command::new(env!("CARGO_BIN_EXE_nateq-emulator"))
        .args(["--port", "0", "--rate-limit", "0"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--rate-limit"), "{stderr}");
}

#[tokio::test]
async fn rate_limit_knobs_are_applied() {
    let (running, _) = launch(&[
        "--port",
        "0",
        "--rate-limit",
        "10",
        "--rate-limit-burst",
        "2",
        "--rate-limit-headers",
        "on-429",
        "--rate-limit-retry-after",
        "decimal",
    ]);
    let http = http_client();
    let mut seen = Vec::new();
    for _ in 0..3 {
        let response = running.put_demo_1(&http, "{}".to_string()).await;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
        };
        seen.push((
            response.status().as_u16(),
            header("x-ratelimit-limit"),
            header("retry-after").is_some_and(|v| v.starts_with("0.")),
        ));
    }
    // Two at once, the third refused; only the 429 announces the limit, to the millisecond.
    assert_eq!(
        seen,
        [
            (200, None, false),
            (200, None, false),
            (429, Some("10".to_owned()), true)
        ]
    );

    for (flag, value) in [
        ("--rate-limit-burst", "0"),
        ("--rate-limit-headers", "sometimes"),
        ("--rate-limit-retry-after", "ms"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_nateq-emulator"))
            .args(["--port", "0", "--rate-limit", "5", flag, value])
            .output()
            .unwrap();
        assert!(!output.status.success(), "{flag} {value}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(flag), "{stderr}");
    }
    // A knob needs the limit itself.
    let output = Command::new(env!("CARGO_BIN_EXE_nateq-emulator"))
        .args(["--port", "0", "--rate-limit-burst", "3"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--rate-limit <N>"), "{stderr}");
}

/// Reads standard error to its end after a graceful stop.
#[cfg(unix)]
fn stop_and_read_stderr(mut running: Running) -> String {
    use std::io::Read;
    let pid = running.child.id().to_string();
    let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(status.success());
    let mut stderr = String::new();
    running
        .child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(running.child.wait().unwrap().success());
    stderr
}

#[cfg(unix)]
#[tokio::test]
async fn a_non_loopback_host_warns_and_still_serves_locally() {
    let (running, _) = launch_with(&["--host", "0.0.0.0", "--port", "0"], Stdio::piped());
    // The printed URL is one a local client can reach; only loopback traffic here.
    assert!(
        running.base_url.starts_with("http://127.0.0.1:"),
        "{}",
        running.base_url
    );
    let health = http_client()
        .get(running.base_url.replace("/api/v1", "/_emulator/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let stderr = stop_and_read_stderr(running);
    assert!(
        stderr.contains("warning: listening on 0.0.0.0:") && stderr.contains("not a loopback"),
        "{stderr}"
    );
    // It names the keys in use, by id, never by secret.
    assert!(
        stderr.contains("key_demo_full, key_demo_read_only, key_other_full")
            && stderr.contains("demo keys, whose secrets are public"),
        "{stderr}"
    );
    assert!(!stderr.contains("tg_test_"), "{stderr}");

    // A seed file's keys are named instead.
    let seed = concat!(env!("CARGO_MANIFEST_DIR"), "/seed.example.json");
    let (running, _) = launch_with(
        &["--host", "0.0.0.0", "--port", "0", "--seed", seed],
        Stdio::piped(),
    );
    let stderr = stop_and_read_stderr(running);
    assert!(
        stderr.contains("with the keys key_acme_full") && stderr.contains("the seed's keys"),
        "{stderr}"
    );
    assert!(!stderr.contains("key_demo_full"), "{stderr}");

    // The default host is loopback: no warning.
    let (running, _) = launch_with(&["--port", "0"], Stdio::piped());
    let stderr = stop_and_read_stderr(running);
    assert!(!stderr.contains("warning"), "{stderr}");

    let output = Command::new(env!("CARGO_BIN_EXE_nateq-emulator"))
        .args(["--host", "localhost:80", "--port", "0"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--host"), "{stderr}");
}

#[tokio::test]
async fn journal_flag_bounds_the_journal() {
    let (running, _) = launch(&["--port", "0", "--journal", "1"]);
    let http = http_client();
    for name in ["First", "Second"] {
        let response = running
            .put_demo_1(&http, format!(r#"{{"name":"{name}"}}"#))
            .await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    let journal: serde_json::Value = http
        .get(running.base_url.replace("/api/v1", "/_emulator/requests"))
        .bearer_auth(&running.key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(journal.as_array().map(Vec::len), Some(1), "{journal}");
    assert_eq!(journal[0]["body"]["name"], "Second");
}
