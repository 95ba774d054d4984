//! Scenario 4, emulator: wrk PUT throughput against the emulator binary vs a minimal axum
//! handler returning a fixed body, with the same wrk settings.

use std::path::Path;
use std::process::Command;

use crate::env::{Binaries, EmulatorProcess, Server, load_average, now_utc};
use crate::stats::{Goal, Runs, Section};
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
}

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
    let axum_label = "minimal axum handler (wrk PUT)";
    let mut runs = Runs::default();
    let (mut emu_bad, mut axum_bad, mut emu_requests) = (0u64, 0u64, 0u64);
    for run in 0..plan.runs {
        for k in 0..2 {
            if (k + run) % 2 == 0 {
                // Back to the seed, then one untimed pass so that every contact has had its
                // first (state-changing) update: the timed run is the steady state.
                emu.reset()?;
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
                runs.push(emu_label, "req/s", r.requests_per_sec);
            } else {
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
            }
        }
        eprintln!("emulator: run {} of {} done", run + 1, plan.runs);
    }
    let ratios = runs
        .ratio(
            "emulator / minimal axum (throughput)",
            emu_label,
            axum_label,
            Goal::AtLeast(0.7),
        )
        .into_iter()
        .collect();
    Ok(Section {
        id: "emulator".into(),
        title: "4. Emulator".into(),
        method: format!(
            "wrk -t{t} -c{c} -d{s}s with the Lua PUT script (path `/api/v1/contacts/ct_demo_N`, \
             N cycling over {n} demo contacts, JSON body, bearer key) against the emulator binary \
             (release; before each timed run it is reset to its seed and warmed up by an untimed \
             {w} s wrk run, so that every contact has had its first, state-changing update and \
             the timed run measures the steady state) and against a minimal axum 0.8 handler for the same \
             route that reads the body and returns the fixed ~1 KB envelope (multi-thread tokio \
             runtime like the emulator's, TCP_NODELAY; the same warm-up). {runs} runs, order \
             alternating.",
            t = plan.threads,
            c = plan.connections,
            s = plan.secs,
            w = plan.warmup_secs,
            n = plan.contacts,
            runs = plan.runs,
        ),
        when,
        load: (load_before, load_average()),
        quick,
        figures: runs.figures(),
        ratios,
        notes: vec![format!(
            "non-2xx responses and socket errors: emulator {emu_bad} of {emu_requests} requests, \
             axum baseline {axum_bad}"
        )],
    })
}
