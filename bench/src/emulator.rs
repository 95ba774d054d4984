//! Scenario 4, emulator: wrk PUT throughput against the emulator binary vs a minimal axum
//! handler returning a fixed body, with the same wrk settings; what a contact costs on its
//! 100,000th update; and start-up time and memory with a million demo contacts.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};

use crate::env::{Binaries, EmulatorProcess, Server, http_request, load_average, now_utc};
use crate::stats::{Goal, Ratio, Runs, Section, Stat};
use crate::wrk;

/// Sizes of the scenario.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Demo contacts (the PUTs cycle over them).
    pub contacts: usize,
    /// wrk connections.
    pub connections: usize,
    /// wrk threads.
    pub threads: usize,
    /// Seconds per wrk run.
    pub secs: u64,
    /// Seconds of the untimed wrk run before each timed one.
    pub warmup_secs: u64,
    /// Runs.
    pub runs: usize,
    /// Updates of one contact (at least) before its cost is measured again.
    pub history_updates: u64,
    /// Seconds of updates timed on the fresh contact, and again after `history_updates`.
    pub timed_secs: u64,
    /// Demo contacts of the start-up and memory measurement.
    pub lazy_contacts: usize,
    /// Distinct contacts written for the memory measurement.
    pub written_contacts: usize,
}

/// The rate limit of the variant that has one: high enough that no request is refused.
const RATE_LIMIT: &str = "1000000000";

/// The budgets of the history and memory measurements.
const RESPONSE_BUDGET_BYTES: f64 = 64.0 * 1024.0;
const FIRST_LINE_BUDGET_S: f64 = 0.2;
const START_RSS_BUDGET_MIB: f64 = 64.0;
const WRITTEN_BUDGET_BYTES: f64 = 2048.0;

/// Runs the scenario.
pub fn run(binaries: &Binaries, work: &Path, plan: Plan, quick: bool) -> anyhow::Result<Section> {
    let load_before = load_average();
    let when = now_utc();
    let emu = EmulatorProcess::start(binaries, plan.contacts)?;
    let exe = crate::env::self_exe()?;
    let mut command = Command::new(exe);
    command.args(["serve", "axum"]);
    let axum = Server::start(command, "the axum baseline")?;
    let axum_authority = axum.first_line[0]
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let script = wrk::write_script(work, &emu.api_key, plan.contacts)?;

    let emu_label = "emulator (wrk PUT)";
    let limited_label = "emulator, rate limit set (wrk PUT)";
    let axum_label = "minimal axum handler (wrk PUT)";
    let mut runs = Runs::default();
    let (mut emu_bad, mut axum_bad, mut emu_requests) = (0u64, 0u64, 0u64);
    let set_limit = |per_second: &str| {
        http_request(
            emu.authority(),
            "PUT",
            "/_emulator/rate-limit",
            &emu.api_key,
            &format!(r#"{{"perSecond":{per_second}}}"#),
        )
    };
    for run in 0..plan.runs {
        for k in 0..3 {
            let variant = (k + run) % 3;
            if variant == 2 {
                wrk::run(
                    &script,
                    &axum_authority,
                    plan.threads,
                    plan.connections,
                    plan.warmup_secs,
                )?;
                let r = wrk::run(
                    &script,
                    &axum_authority,
                    plan.threads,
                    plan.connections,
                    plan.secs,
                )?;
                axum_bad += r.non_2xx + r.socket_errors;
                runs.push(axum_label, "req/s", r.requests_per_sec);
                continue;
            }
            // Back to the seed, then one untimed pass so that every contact has had its
            // first (state-changing) update: the timed run is the steady state. The rate limit
            // variant sets a limit no request reaches: every request takes a token and gets the
            // X-RateLimit-* headers.
            emu.reset()?;
            set_limit(if variant == 1 { RATE_LIMIT } else { "null" })?;
            wrk::run(
                &script,
                emu.authority(),
                plan.threads,
                plan.connections,
                plan.warmup_secs,
            )?;
            let r = wrk::run(
                &script,
                emu.authority(),
                plan.threads,
                plan.connections,
                plan.secs,
            )?;
            emu_bad += r.non_2xx + r.socket_errors;
            emu_requests += r.requests;
            let label = if variant == 1 {
                limited_label
            } else {
                emu_label
            };
            runs.push(label, "req/s", r.requests_per_sec);
        }
        set_limit("null")?;
        history(binaries, work, &plan, run, &mut runs)?;
        memory(binaries, &plan, &mut runs)?;
        eprintln!("emulator: run {} of {} done", run + 1, plan.runs);
    }
    let fresh = fresh_label(&plan);
    let after = after_label(&plan);
    let bytes = bytes_label(&plan);
    let first = first_line_label(&plan);
    let rss = start_rss_label(&plan);
    let written = written_label(&plan);
    let mut ratios: Vec<Ratio> = runs
        .ratio(
            "emulator / minimal axum (throughput)",
            emu_label,
            axum_label,
            Goal::AtLeast(0.7),
        )
        .into_iter()
        .collect();
    ratios.extend(runs.ratio(
        &format!("emulator with --rate-limit {RATE_LIMIT} / minimal axum (throughput)"),
        limited_label,
        axum_label,
        Goal::Info,
    ));
    ratios.extend(runs.ratio(
        &format!(
            "one contact: PUTs/s after {} updates / on a fresh contact",
            plan.history_updates
        ),
        &after,
        &fresh,
        Goal::AtLeast(0.9),
    ));
    ratios.extend(budget(&runs, &bytes, RESPONSE_BUDGET_BYTES, "64 KiB"));
    ratios.extend(budget(&runs, &first, FIRST_LINE_BUDGET_S, "0.2 s"));
    ratios.extend(budget(&runs, &rss, START_RSS_BUDGET_MIB, "64 MiB"));
    ratios.extend(budget(&runs, &written, WRITTEN_BUDGET_BYTES, "2 KiB"));
    ratios.extend(runs.ratio(
        &format!(
            "first line: {} / 5 demo contacts (time)",
            plan.lazy_contacts
        ),
        &first,
        "first line, 5 demo contacts",
        Goal::Info,
    ));
    Ok(Section {
        id: "emulator".into(),
        title: "4. Emulator".into(),
        method: format!(
            "wrk -t{t} -c{c} -d{s}s with the Lua PUT script (path `/api/v1/contacts/ct_demo_N`, \
             N cycling over {n} demo contacts, JSON body, bearer key) against the emulator binary \
             (release; before each timed run it is reset to its seed and warmed up by an untimed \
             {w} s wrk run, so that every contact has had its first, state-changing update and \
             the timed run measures the steady state; its journal keeps every request, the field \
             table validates and applies every body), once as started (no rate limit set) and \
             once with `PUT /_emulator/rate-limit` at {limit}/s, which no request reaches (every \
             request takes a token and gets the X-RateLimit-* headers), and against a minimal \
             axum 0.8 handler for the same route that reads the body and returns the fixed ~1 KB \
             envelope (multi-thread tokio runtime like the emulator's, TCP_NODELAY; the same \
             warm-up). {runs} runs, order rotating. Each run then measures a contact's cost \
             after many updates and the start-up and memory of a million demo contacts (notes \
             below).",
            t = plan.threads,
            c = plan.connections,
            s = plan.secs,
            w = plan.warmup_secs,
            n = plan.contacts,
            runs = plan.runs,
            limit = RATE_LIMIT,
        ),
        when,
        load: (load_before, load_average()),
        quick,
        figures: runs.figures(),
        ratios,
        notes: vec![
            format!(
                "non-2xx responses and socket errors: emulator {emu_bad} of {emu_requests} \
                 requests, axum baseline {axum_bad}"
            ),
            format!(
                "history: PUTs on one contact of an emulator of its own (`{{\"name\":\"h<thread>-<n>\"}}`, \
                 every one a change) by wrk -t{t} -c{c}: untimed 2 s runs on ct_demo_1 until at \
                 least {fill} updates were applied (counted from the activity ids), then, back to \
                 back and in alternating order, {secs} s on ct_demo_1 and {secs} s on ct_demo_2, \
                 never updated before (its history growing from none past the default bound of \
                 1,000 activities); the response bytes are those of the next update of ct_demo_1",
                t = plan.threads,
                c = plan.connections,
                secs = plan.timed_secs,
                fill = plan.history_updates,
            ),
            format!(
                "memory: `nateq-emulator --port 0 --demo-contacts {n}`; first line = spawn to \
                 the first line of stdout read; RSS = VmRSS of /proc/PID/status right after it; \
                 per written contact = (VmRSS after {w} distinct contacts were each changed once \
                 by a PUT - VmRSS before) / {w} (reqwest, 32 in flight, keep-alive)",
                n = plan.lazy_contacts,
                w = plan.written_contacts,
            ),
        ],
    })
}

fn fresh_label(plan: &Plan) -> String {
    format!(
        "one fresh contact, its first {} s of updates (wrk PUT)",
        plan.timed_secs
    )
}

fn after_label(plan: &Plan) -> String {
    format!(
        "one contact after {} updates, {} s more (wrk PUT)",
        plan.history_updates, plan.timed_secs
    )
}

fn bytes_label(plan: &Plan) -> String {
    format!("response body after {} updates", plan.history_updates)
}

fn first_line_label(plan: &Plan) -> String {
    format!("first line, {} demo contacts", plan.lazy_contacts)
}

fn start_rss_label(plan: &Plan) -> String {
    format!("RSS at start, {} demo contacts", plan.lazy_contacts)
}

fn written_label(plan: &Plan) -> String {
    format!(
        "RSS per written contact ({} written)",
        plan.written_contacts
    )
}

/// `series / budget` run by run, to be at most 1.
fn budget(runs: &Runs, series: &str, budget: f64, text: &str) -> Option<Ratio> {
    let per_run: Vec<f64> = runs.values(series).iter().map(|v| v / budget).collect();
    Some(Ratio {
        name: format!("{series} / {text}"),
        stat: Stat::of(&per_run)?,
        goal: Goal::AtMost(1.0),
    })
}

/// What a contact costs on its 100,000th update: the PUT rate on a contact after
/// `history_updates` updates and on a fresh contact, measured back to back (alternating which
/// goes first) on an emulator of its own; and the response size after the updates.
fn history(
    binaries: &Binaries,
    work: &Path,
    plan: &Plan,
    run: usize,
    runs: &mut Runs,
) -> anyhow::Result<()> {
    let emu = EmulatorProcess::start(binaries, 5)?;
    let (old, fresh) = ("ct_demo_1", "ct_demo_2");
    let wrk_on = |id: &str, tag: &str, secs: u64| -> anyhow::Result<wrk::WrkResult> {
        let script = history_script(work, &emu.api_key, id, tag)?;
        let r = wrk::run(
            &script,
            emu.authority(),
            plan.threads,
            plan.connections,
            secs,
        )?;
        if r.non_2xx + r.socket_errors > 0 {
            bail!(
                "history: {} non-2xx responses or socket errors",
                r.non_2xx + r.socket_errors
            );
        }
        Ok(r)
    };
    // Every PUT is a change, numbered in the organisation: the last activity's number is the
    // count of updates applied so far.
    let applied = |id: &str| -> anyhow::Result<u64> {
        let contact = http_request(
            emu.authority(),
            "GET",
            &format!("/_emulator/contacts/{id}"),
            &emu.api_key,
            "",
        )?;
        let contact: serde_json::Value =
            serde_json::from_slice(&contact).context("the admin API's contact is not JSON")?;
        Ok(contact["activities"]
            .as_array()
            .and_then(|a| a.last())
            .and_then(|a| a["id"].as_str())
            .and_then(|id| id.strip_prefix("act_"))
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0))
    };
    let mut round = 0;
    while applied(old)? < plan.history_updates {
        round += 1;
        wrk_on(old, &format!("fill{round}"), 2)?;
    }
    // The rate of one timed phase, checked to have applied updates.
    let timed = |id: &str, tag: &str| -> anyhow::Result<f64> {
        let before = applied(id)?;
        let r = wrk_on(id, tag, plan.timed_secs)?;
        if applied(id)? <= before {
            bail!("history: no update of {id} was applied");
        }
        Ok(r.requests_per_sec)
    };
    let (on_fresh, on_old) = if run.is_multiple_of(2) {
        let f = timed(fresh, "fresh")?;
        (f, timed(old, "after")?)
    } else {
        let o = timed(old, "after")?;
        (timed(fresh, "fresh")?, o)
    };
    runs.push(&fresh_label(plan), "req/s", on_fresh);
    runs.push(&after_label(plan), "req/s", on_old);
    let body = http_request(
        emu.authority(),
        "PUT",
        &format!("/api/v1/contacts/{old}"),
        &emu.api_key,
        r#"{"name":"the last one"}"#,
    )?;
    runs.push(&bytes_label(plan), "bytes", body.len() as f64);
    Ok(())
}

/// A wrk script that PUTs a new name on `id` each time (every PUT a change).
fn history_script(dir: &Path, api_key: &str, id: &str, tag: &str) -> anyhow::Result<PathBuf> {
    let script = format!(
        r#"-- PUT a new name on {id} each time.
local headers = {{ ["Authorization"] = "Bearer {api_key}", ["Content-Type"] = "application/json" }}
local threads = 0
local sent = 0

function setup(thread)
  thread:set("tag", threads)
  threads = threads + 1
end

function request()
  sent = sent + 1
  return wrk.format("PUT", "/api/v1/contacts/{id}", headers, '{{"name":"h' .. tag .. '-{tag}-' .. sent .. '"}}')
end
"#
    );
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!("history-{tag}.lua"));
    std::fs::write(&path, script).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// Start-up and memory with `lazy_contacts` demo contacts: the first line's time, RSS at start,
/// and RSS per contact after `written_contacts` distinct contacts were changed once.
fn memory(binaries: &Binaries, plan: &Plan, runs: &mut Runs) -> anyhow::Result<()> {
    let started = Instant::now();
    let small = EmulatorProcess::start(binaries, 5)?;
    runs.push(
        "first line, 5 demo contacts",
        "s",
        started.elapsed().as_secs_f64(),
    );
    drop(small);
    let started = Instant::now();
    let emu = EmulatorProcess::start(binaries, plan.lazy_contacts)?;
    runs.push(
        &first_line_label(plan),
        "s",
        started.elapsed().as_secs_f64(),
    );
    let at_start = rss_kib(emu.pid())?;
    runs.push(&start_rss_label(plan), "MiB", at_start as f64 / 1024.0);
    // One request first, so that the runtime's and the allocator's first use is not counted.
    http_request(
        emu.authority(),
        "GET",
        "/_emulator/contacts/ct_demo_1",
        &emu.api_key,
        "",
    )?;
    let before = rss_kib(emu.pid())?;
    write_distinct(&emu, plan.written_contacts)?;
    let after = rss_kib(emu.pid())?;
    let per_contact = (after.saturating_sub(before) * 1024) as f64 / plan.written_contacts as f64;
    runs.push(&written_label(plan), "bytes", per_contact);
    Ok(())
}

/// Changes `ct_demo_1` to `ct_demo_{count}` once each (32 in flight).
fn write_distinct(emu: &EmulatorProcess, count: usize) -> anyhow::Result<()> {
    use futures::StreamExt;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start a runtime")?;
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
    let client = reqwest::Client::builder()
        .tcp_nodelay(true)
        .build()
        .context("cannot build a client")?;
    let base = emu.base_url.clone();
    let key = emu.api_key.clone();
    runtime.block_on(async move {
        let mut bad = 0usize;
        let mut results = futures::stream::iter(1..=count)
            .map(|k| {
                let request = client
                    .put(format!("{base}/contacts/ct_demo_{k}"))
                    .bearer_auth(&key)
                    .header("content-type", "application/json")
                    .body(format!(r#"{{"name":"Written {k}"}}"#));
                async move {
                    let response = request.send().await?;
                    let ok = response.status().is_success();
                    response.bytes().await?;
                    Ok::<bool, reqwest::Error>(ok)
                }
            })
            .buffer_unordered(32);
        while let Some(result) = results.next().await {
            if !result.context("a PUT failed")? {
                bad += 1;
            }
        }
        if bad > 0 {
            bail!("{bad} of {count} PUTs were not answered 2xx");
        }
        Ok(())
    })
}

/// VmRSS of a process, in KiB.
fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("cannot read /proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .context("no VmRSS in /proc/PID/status")
}
