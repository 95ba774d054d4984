//! TLS is configured per client: no process-wide crypto provider, system roots that honour
//! `SSL_CERT_FILE`. Its own test binary, because both checks touch process-global state.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use nateq_api::{ContactUpdate, Error};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CHILD: &str = "NATEQ_TLS_CHILD";
const PORT: &str = "NATEQ_TLS_PORT";
const BODY: &str = r#"{"success":true,"data":{"id":"ct_1"}}"#;

#[test]
fn building_a_client_leaves_the_process_crypto_provider_to_the_application() {
    assert!(rustls::crypto::CryptoProvider::get_default().is_none());
    let _client = nateq_api::Client::builder()
        .api_key("tg_test_tls")
        .base_url("https://localhost:1/api/v1")
        .build()
        .unwrap();
    assert!(
        rustls::crypto::CryptoProvider::get_default().is_none(),
        "building a client installed a process-wide crypto provider"
    );
    // What an application does at start-up; it panics in many apps if this fails.
    assert!(
        rustls::crypto::ring::default_provider()
            .install_default()
            .is_ok()
    );
}

/// A certificate authority made for this test, and a `localhost` certificate it signed.
struct Pki {
    ca_pem: String,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

fn pki() -> Pki {
    let ca = ca("nateq test ca");
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    Pki {
        ca_pem: ca.pem(),
        chain: vec![leaf.der().clone(), ca.der().clone()],
        key: PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
    }
}

/// Serves HTTPS on 127.0.0.1: every request gets a 200 with [`BODY`]. Returns the port.
async fn serve(pki: &Pki) -> u16 {
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(pki.chain.clone(), pki.key.clone_key())
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // A client that refuses the certificate ends the handshake: nothing to answer.
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                // Read the head, then the body its Content-Length announces.
                loop {
                    let n = tls.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    request.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&request).to_ascii_lowercase();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length = text[..end]
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        if request.len() >= end + 4 + length {
                            break;
                        }
                    }
                }
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
                     connection: close\r\n\r\n{BODY}",
                    BODY.len()
                );
                let _ = tls.write_all(response.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    port
}

/// Runs this test in a child process with `SSL_CERT_FILE` set to `roots`.
async fn child(mode: &str, roots: &Path, port: u16) -> std::process::Output {
    let exe = std::env::current_exe().unwrap();
    let (mode, roots) = (mode.to_string(), roots.to_path_buf());
    tokio::task::spawn_blocking(move || {
        Command::new(exe)
            .args(["--exact", "ssl_cert_file_decides_which_servers_are_trusted"])
            .env(CHILD, mode)
            .env(PORT, port.to_string())
            .env("SSL_CERT_FILE", roots)
            .env_remove("SSL_CERT_DIR")
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

/// In the child: one update through `nateq_api::Client` to the test server.
async fn child_update(mode: &str) {
    let port = std::env::var(PORT).unwrap();
    let client = nateq_api::Client::builder()
        .api_key("tg_test_tls")
        .base_url(format!("https://localhost:{port}/api/v1"))
        .retry_policy(nateq_api::RetryPolicy::none())
        .build()
        .unwrap();
    let result = client
        .contacts()
        .update("ct_1", ContactUpdate::new().name("Ada"))
        .await;
    match mode {
        "trusted" => assert_eq!(result.unwrap().id, "ct_1"),
        "untrusted" => {
            let err = result.unwrap_err();
            assert!(matches!(err, Error::Connection { .. }), "{err}");
            assert!(err.to_string().contains("certificate"), "{err}");
        }
        other => panic!("unknown child mode {other}"),
    }
}

fn temp_file(name: &str, contents: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("nateq-tls-{}-{name}", std::process::id()));
    std::fs::write(&path, contents).unwrap();
    path
}

#[tokio::test]
async fn ssl_cert_file_decides_which_servers_are_trusted() {
    if let Ok(mode) = std::env::var(CHILD) {
        child_update(&mode).await;
        return;
    }
    let pki = pki();
    let port = serve(&pki).await;
    let ours = temp_file("ours.pem", &pki.ca_pem);
    let other = temp_file("other.pem", &ca("some other ca").pem());

    let trusted = child("trusted", &ours, port).await;
    let untrusted = child("untrusted", &other, port).await;
    let _ = std::fs::remove_file(&ours);
    let _ = std::fs::remove_file(&other);
    for (name, out) in [("trusted", trusted), ("untrusted", untrusted)] {
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{name} child failed:\n{stdout}");
        // The child really ran the check (a filter that matched nothing would also succeed).
        assert!(
            stdout.contains("1 passed"),
            "{name} child ran no test:\n{stdout}"
        );
    }
}
