//! Scenario 1, client overhead: the same updates through the SDK and three raw reqwest
//! baselines, against the minimal fixed-envelope server, one at a time and 32 in flight.

use std::hint::black_box;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::{StreamExt, TryStreamExt};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};

use crate::env::{Server, load_average, now_utc};
use crate::handwritten::{Envelope, UpdateRequest};
use crate::stats::{Goal, Runs, Section};

/// Sizes of one run.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Updates per variant and mode.
    pub requests: usize,
    /// Requests in flight in the concurrent mode.
    pub in_flight: usize,
    /// Runs (each measures every variant in both modes).
    pub runs: usize,
}

/// The four ways of sending the update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Variant {
    /// `nateq_api` `contacts().update(..)`.
    Sdk,
    /// Raw reqwest, hand-written structs.
    RawStructs,
    /// Raw reqwest, `serde_json::Value`.
    RawValue,
    /// Raw reqwest, bytes only.
    RawBytes,
}

impl Variant {
    const ALL: [Variant; 4] = [
        Variant::Sdk,
        Variant::RawStructs,
        Variant::RawValue,
        Variant::RawBytes,
    ];

    fn label(self) -> &'static str {
        match self {
            Variant::Sdk => "nateq-api contacts().update",
            Variant::RawStructs => "raw reqwest + serde structs",
            Variant::RawValue => "raw reqwest + serde_json::Value",
            Variant::RawBytes => "raw reqwest, bytes only",
        }
    }
}

/// Each run sends a variant's updates in this many blocks, interleaved with the others'.
const BLOCKS: usize = 10;
/// The guard on the SDK's cost: at most this much of raw reqwest + the same serde structs, in
/// time and in client CPU (raw + `serde_json::Value` is shown for information).
const GUARD: f64 = 1.25;

const KEY: &str = "tg_test_bench_0000000000000000";
const NAME: &str = "Ada Lovelace";

/// Everything a request needs; shared by reference.
struct Ctx {
    sdk: nateq_api::Client,
    http: reqwest::Client,
    base: String,
    auth: HeaderValue,
}

impl Ctx {
    /// The SDK client and a raw reqwest client, both pointed at `base`.
    fn new(base: &str) -> anyhow::Result<Ctx> {
        Ok(Ctx {
            sdk: nateq_api::Client::builder()
                .api_key(KEY)
                .base_url(base)
                .user_agent("nateq-bench")
                .build()
                .context("cannot build the SDK client")?,
            http: raw_client()?,
            base: base.to_string(),
            auth: HeaderValue::from_str(&format!("Bearer {KEY}"))?,
        })
    }
}

/// A reqwest client with the SDK's own settings (pooling by default, nodelay, no redirects,
/// the same connect timeout).
pub fn raw_client() -> anyhow::Result<reqwest::Client> {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .user_agent("nateq-bench")
        .redirect(reqwest::redirect::Policy::none())
        .tcp_nodelay(true)
        .build()
        .context("cannot build the reqwest client")
}

/// Runs the scenario and returns its section.
pub fn run(plan: Plan, quick: bool) -> anyhow::Result<Section> {
    let load_before = load_average();
    let when = now_utc();
    let exe = crate::env::self_exe()?;
    let mut command = Command::new(exe);
    command.args(["serve", "fixed"]);
    let server = Server::start(command, "the fixed-envelope server")?;
    let base = server.first_line[0].clone();

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    let mut runs = Runs::default();
    runtime.block_on(async {
        let ctx = Ctx::new(&base)?;
        // Warm up: connections, allocator, caches.
        for v in Variant::ALL {
            drive(&ctx, v, plan.requests.min(2000) / 4, plan.in_flight).await?;
        }
        let block = (plan.requests / BLOCKS).max(1);
        for run in 0..plan.runs {
            for (mode, in_flight) in [("sequential", 1), ("concurrent", plan.in_flight)] {
                // Interleave the variants block by block, rotating the order, so that a change
                // of load on the machine hits every variant alike.
                let mut total = [Duration::ZERO; 4];
                let mut cpu = [Some(Duration::ZERO); 4];
                for b in 0..BLOCKS {
                    for k in 0..Variant::ALL.len() {
                        let i = (k + b + run) % Variant::ALL.len();
                        let (wall, used) =
                            drive_measured(&ctx, Variant::ALL[i], block, in_flight).await?;
                        total[i] += wall;
                        cpu[i] = cpu[i].zip(used).map(|(a, b)| a + b);
                    }
                }
                let count = (block * BLOCKS) as f64;
                for (v, elapsed) in Variant::ALL.iter().zip(total) {
                    runs.push(
                        &series(mode, *v),
                        "us/req",
                        elapsed.as_secs_f64() * 1e6 / count,
                    );
                }
                for (v, used) in Variant::ALL.iter().zip(cpu) {
                    if let Some(used) = used {
                        let name = cpu_series(mode, *v);
                        runs.push(&name, "CPU us/req", used.as_secs_f64() * 1e6 / count);
                    }
                }
            }
            eprintln!("client overhead: run {} of {} done", run + 1, plan.runs);
        }
        anyhow::Ok(())
    })?;
    drop(server);

    let mut ratios = Vec::new();
    for mode in ["sequential", "concurrent"] {
        let sdk = series(mode, Variant::Sdk);
        let m = if mode == "sequential" {
            "1 at a time"
        } else {
            "32 in flight"
        };
        ratios.extend(runs.ratio(
            &format!("{m}: SDK / raw + structs (time)"),
            &sdk,
            &series(mode, Variant::RawStructs),
            Goal::AtMost(GUARD),
        ));
        ratios.extend(runs.ratio(
            &format!("{m}: SDK / raw + Value (time)"),
            &sdk,
            &series(mode, Variant::RawValue),
            Goal::Info,
        ));
        ratios.extend(runs.ratio(
            &format!("{m}: SDK / raw bytes (time)"),
            &sdk,
            &series(mode, Variant::RawBytes),
            Goal::Info,
        ));
        ratios.extend(runs.ratio(
            &format!("{m}: SDK / raw + structs (client CPU)"),
            &cpu_series(mode, Variant::Sdk),
            &cpu_series(mode, Variant::RawStructs),
            Goal::AtMost(GUARD),
        ));
        ratios.extend(runs.ratio(
            &format!("{m}: SDK / raw + Value (client CPU)"),
            &cpu_series(mode, Variant::Sdk),
            &cpu_series(mode, Variant::RawValue),
            Goal::Info,
        ));
    }
    Ok(Section {
        id: "client".into(),
        title: "1. Client overhead".into(),
        method: format!(
            "{} updates per variant, one at a time and {} in flight, against a minimal hyper server \
             (its own process, 127.0.0.1) answering every request with a fixed {}-byte envelope. \
             All variants share one current-thread tokio runtime and identical reqwest settings \
             (pooled keep-alive connections, TCP_NODELAY, no redirects); the SDK client has its \
             defaults (retries, 30 s per-attempt timeout, tracing spans, capped body read). \
             {} runs; within a run the variants alternate in blocks of a tenth of the count, in \
             rotating order, so that load changes on the shared machine hit all of them alike; \
             time per request = summed wall time of a variant's blocks / count; client CPU = the \
             on-CPU time of the client's one thread (`/proc/thread-self/schedstat`) over the same \
             blocks / count, which isolates the client's own cost from the server and from other \
             load on the machine.",
            plan.requests,
            plan.in_flight,
            crate::fixture::small_envelope().len(),
            plan.runs
        ),
        when,
        load: (load_before, load_average()),
        quick,
        figures: runs.figures(),
        ratios,
        notes: Vec::new(),
    })
}

/// Runs one variant alone (for a profiler): `count` updates at `in_flight`, after a warm-up of
/// 200; prints the time per request.
pub fn profile(v: Variant, count: usize, in_flight: usize) -> anyhow::Result<()> {
    let exe = crate::env::self_exe()?;
    let mut command = Command::new(exe);
    command.args(["serve", "fixed"]);
    let server = Server::start(command, "the fixed-envelope server")?;
    let base = server.first_line[0].clone();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    runtime.block_on(async {
        let ctx = Ctx::new(&base)?;
        drive(&ctx, v, 200, in_flight).await?;
        let elapsed = drive(&ctx, v, count, in_flight).await?;
        println!(
            "{}: {:.2} us/req over {count} requests, {in_flight} in flight",
            v.label(),
            elapsed.as_secs_f64() * 1e6 / count as f64
        );
        anyhow::Ok(())
    })
}

fn cpu_series(mode: &str, v: Variant) -> String {
    format!("{} (client CPU)", series(mode, v))
}

fn series(mode: &str, v: Variant) -> String {
    let m = if mode == "sequential" {
        "1 at a time"
    } else {
        "32 in flight"
    };
    format!("{m}: {}", v.label())
}

/// Sends `count` updates with `in_flight` at a time; returns the wall time.
async fn drive(ctx: &Ctx, v: Variant, count: usize, in_flight: usize) -> anyhow::Result<Duration> {
    Ok(drive_measured(ctx, v, count, in_flight).await?.0)
}

/// Like [`drive`], also returning the CPU time this thread (the whole client: the runtime is
/// current-thread) spent, when the kernel reports it.
async fn drive_measured(
    ctx: &Ctx,
    v: Variant,
    count: usize,
    in_flight: usize,
) -> anyhow::Result<(Duration, Option<Duration>)> {
    let cpu_before = thread_cpu();
    let started = Instant::now();
    if in_flight <= 1 {
        for i in 0..count {
            one(ctx, v, i).await?;
        }
    } else {
        futures::stream::iter(0..count)
            .map(|i| one(ctx, v, i))
            .buffer_unordered(in_flight)
            .try_for_each(|()| async { Ok(()) })
            .await?;
    }
    let wall = started.elapsed();
    let cpu = thread_cpu()
        .zip(cpu_before)
        .map(|(after, before)| after.saturating_sub(before));
    Ok((wall, cpu))
}

/// On-CPU time of the calling thread (`/proc/thread-self/schedstat`, nanoseconds).
fn thread_cpu() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

async fn one(ctx: &Ctx, v: Variant, i: usize) -> anyhow::Result<()> {
    let id = format!("ct_{}", i % 1000);
    if v == Variant::Sdk {
        let contact = ctx
            .sdk
            .contacts()
            .update(&id, nateq_api::ContactUpdate::new().name(NAME))
            .await?;
        black_box(contact);
        return Ok(());
    }
    let body = serde_json::to_vec(&UpdateRequest { name: NAME })?;
    let response = ctx
        .http
        .put(format!("{}/contacts/{id}", ctx.base))
        .header(AUTHORIZATION, ctx.auth.clone())
        .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
        .header(ACCEPT, HeaderValue::from_static("application/json"))
        .body(body)
        .send()
        .await?;
    if !response.status().is_success() {
        bail!("status {}", response.status());
    }
    match v {
        Variant::RawStructs => {
            let envelope: Envelope = response.json().await?;
            if !envelope.success || envelope.data.is_none() {
                bail!("the envelope has no contact");
            }
            black_box(envelope);
        }
        Variant::RawValue => {
            let envelope: serde_json::Value = response.json().await?;
            if envelope["success"] != serde_json::Value::Bool(true) {
                bail!("the envelope is not a success");
            }
            black_box(envelope);
        }
        _ => {
            black_box(response.bytes().await?);
        }
    }
    Ok(())
}
