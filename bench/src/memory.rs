//! Scenario 5, memory: peak RSS of `nateq contacts update-many` on a small and a large input
//! against the emulator binary; streaming means the large run needs no more memory.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::bulk::{check_cli_output, cli_args, write_rows};
use crate::env::{Binaries, EmulatorProcess, load_average, now_utc};
use crate::stats::{Goal, Runs, Section};

/// Sizes of the scenario.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Rows of the small input.
    pub small: usize,
    /// Rows of the large input.
    pub large: usize,
    /// Demo contacts; the large input's ids cycle over them.
    pub contacts: usize,
    /// Requests in flight.
    pub concurrency: usize,
    /// Runs.
    pub runs: usize,
}

const TIME: &str = "/usr/bin/time";

/// One measured run: peak RSS in KiB and wall time.
#[derive(Debug, Clone, Copy)]
struct Peak {
    kib: u64,
    elapsed: Duration,
}

/// Runs the scenario.
pub fn run(binaries: &Binaries, work: &Path, plan: Plan, quick: bool) -> anyhow::Result<Section> {
    let load_before = load_average();
    let when = now_utc();
    let small = work.join(format!("memory-{}.jsonl", plan.small));
    let large = work.join(format!("memory-{}.jsonl", plan.large));
    write_rows(&small, plan.small, plan.contacts)?;
    write_rows(&large, plan.large, plan.contacts)?;
    let emu = EmulatorProcess::start(binaries, plan.contacts)?;
    let use_time = Path::new(TIME).is_file();

    let small_label = format!("peak RSS, {} rows", plan.small);
    let large_label = format!("peak RSS, {} rows", plan.large);
    let mut runs = Runs::default();
    let mut rates = Vec::new();
    for run in 0..plan.runs {
        for (rows, count, label) in [
            (&small, plan.small, &small_label),
            (&large, plan.large, &large_label),
        ] {
            emu.reset()?;
            let peak = measure(
                binaries,
                &emu,
                rows,
                count,
                plan.concurrency,
                use_time,
                work,
            )?;
            runs.push(label, "MiB", peak.kib as f64 / 1024.0);
            if count == plan.large {
                rates.push(count as f64 / peak.elapsed.as_secs_f64());
            }
        }
        eprintln!("memory: run {} of {} done", run + 1, plan.runs);
    }
    let ratios = runs
        .ratio(
            &format!("peak RSS {} rows / {} rows", plan.large, plan.small),
            &large_label,
            &small_label,
            Goal::AtMost(1.2),
        )
        .into_iter()
        .collect();
    let rate = crate::stats::Stat::of(&rates).map_or(0.0, |s| s.median);
    Ok(Section {
        id: "memory".into(),
        title: "5. Memory".into(),
        method: format!(
            "Peak resident set size (max RSS) of the release `nateq contacts update-many \
             --concurrency {c}` process on {small} rows and on {large} rows (ids cycling over \
             {n} demo contacts of the emulator binary, reset before each run), {how}. {runs} runs.",
            c = plan.concurrency,
            small = plan.small,
            large = plan.large,
            n = plan.contacts,
            runs = plan.runs,
            how = if use_time {
                "as reported by `/usr/bin/time -f %M` (the kernel's ru_maxrss)"
            } else {
                "from VmHWM in /proc/<pid>/status, polled every 10 ms"
            },
        ),
        when,
        load: (load_before, load_average()),
        quick,
        figures: runs.figures(),
        ratios,
        notes: vec![format!(
            "the {} row runs went at {rate:.0} rows/s (median)",
            plan.large
        )],
    })
}

fn measure(
    binaries: &Binaries,
    emu: &EmulatorProcess,
    rows: &Path,
    count: usize,
    concurrency: usize,
    use_time: bool,
    work: &Path,
) -> anyhow::Result<Peak> {
    let started = Instant::now();
    let mut command;
    let time_file = work.join("time.out");
    if use_time {
        command = Command::new(TIME);
        command
            .args(["-f", "%M", "-o"])
            .arg(&time_file)
            .arg(&binaries.cli);
    } else {
        command = Command::new(&binaries.cli);
    }
    command
        .args(cli_args(emu, rows, concurrency))
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = command.spawn().context("cannot run nateq")?;
    let stderr = child.stderr.take().context("no stderr")?;
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut { stderr }, &mut text);
        text
    });
    let mut polled = 0u64;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if !use_time {
            polled = polled.max(vm_hwm(child.id()).unwrap_or(0));
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let elapsed = started.elapsed();
    let stderr = reader.join().unwrap_or_default();
    check_cli_output(status, &stderr, count)?;
    let kib = if use_time {
        let text = std::fs::read_to_string(&time_file)
            .with_context(|| format!("cannot read {}", time_file.display()))?;
        text.lines()
            .filter_map(|l| l.trim().parse::<u64>().ok())
            .next_back()
            .with_context(|| format!("no max RSS in {text:?}"))?
    } else {
        polled
    };
    if kib == 0 {
        bail!("no peak RSS measured");
    }
    Ok(Peak { kib, elapsed })
}

/// `VmHWM` of a process, in KiB.
fn vm_hwm(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}
