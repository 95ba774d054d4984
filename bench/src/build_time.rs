//! Scenario 6, build: a clean build of a new crate that depends on `nateq-api` (as a consumer
//! builds it: from the committed snapshot, without the generator) in a fresh target directory,
//! the same for floor crates with only the SDK's reqwest features (without a TLS provider, with
//! rustls' `ring`, with rustls' `aws-lc-rs`), and the workspace's rebuild after touching
//! `openapi.yaml`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, bail};

use crate::env::{cargo, load_average, now_utc, workspace_root};
use crate::stats::{Goal, Runs, Section};

/// Which builds to time.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Runs of every build.
    pub runs: usize,
    /// Whether to time the clean `nateq-api` build and the TLS provider floors (slow), or only
    /// the reqwest floor and the incremental rebuild.
    pub full: bool,
}

/// A floor crate: its name, extra dependency lines and `main`.
struct Floor {
    label: &'static str,
    dir: &'static str,
    deps: &'static str,
    main: &'static str,
}

const REQWEST: &str = r#"reqwest = { version = "0.13", default-features = false, features = ["json", "stream", "http2", "rustls-no-provider"] }"#;

const FLOORS: [Floor; 3] = [
    Floor {
        label: "floor: reqwest (SDK features), no TLS provider",
        dir: "floor-reqwest",
        deps: "",
        main: "fn main() {\n    println!(\"{}\", reqwest::Client::builder().build().is_ok());\n}\n",
    },
    Floor {
        label: "floor: reqwest + rustls ring (the SDK's choice)",
        dir: "floor-ring",
        deps: r#"rustls = { version = "0.23", default-features = false, features = ["ring", "std", "tls12", "logging"] }"#,
        main: "fn main() {\n    let _ = rustls::crypto::ring::default_provider().install_default();\n    println!(\"{}\", reqwest::Client::builder().build().is_ok());\n}\n",
    },
    Floor {
        label: "floor: reqwest + rustls aws-lc-rs",
        dir: "floor-aws-lc",
        deps: r#"rustls = { version = "0.23", default-features = false, features = ["aws_lc_rs", "std", "tls12", "logging"] }"#,
        main: "fn main() {\n    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();\n    println!(\"{}\", reqwest::Client::builder().build().is_ok());\n}\n",
    },
];

const API_CLEAN: &str = "a new crate depending on nateq-api, clean build";
const API_TOUCH: &str = "nateq-api, rebuild after touching openapi.yaml";

/// Runs the scenario.
pub fn run(plan: Plan, quick: bool) -> anyhow::Result<Section> {
    let load_before = load_average();
    let when = now_utc();
    let scratch = std::env::temp_dir().join(format!("nateq-bench-build-{}", std::process::id()));
    let result = measure(plan, &scratch);
    let _ = std::fs::remove_dir_all(&scratch);
    let runs = result?;

    let mut ratios: Vec<_> = Vec::new();
    if plan.full {
        ratios.extend(runs.ratio(
            "crate depending on nateq-api, clean / floor with ring (time)",
            API_CLEAN,
            FLOORS[1].label,
            Goal::AtMost(1.15),
        ));
        ratios.extend(runs.ratio(
            "floor aws-lc-rs / floor ring (time); the SDK keeps ring",
            FLOORS[2].label,
            FLOORS[1].label,
            Goal::Info,
        ));
    }
    let ring_cost = diff_median(&runs, FLOORS[1].label, FLOORS[0].label);
    let aws_cost = diff_median(&runs, FLOORS[2].label, FLOORS[0].label);
    let mut notes = Vec::new();
    if let (Some(ring), Some(aws)) = (ring_cost, aws_cost) {
        notes.push(format!(
            "TLS provider: ring adds {ring:.1} s and aws-lc-rs {aws:.1} s to a clean build of the \
             floor (medians of the per-run differences); the SDK keeps `ring` (reqwest \
             `rustls-no-provider` + rustls `ring`), the lighter one, and gives it to its own \
             client's TLS config, never installing a process default. Runtime: every benchmark here is plain \
             HTTP on loopback, so the provider does not touch these figures; for TLS both \
             providers use the same rustls record layer and differ only in the primitives \
             (handshakes and AES-GCM/ChaCha20), which for an API client making small requests \
             over pooled keep-alive connections is a negligible share of a request"
        ));
    }
    Ok(Section {
        id: "build".into(),
        title: "6. Build".into(),
        method: format!(
            "Wall time of `cargo build` (dev profile, the default jobs = {} cores) in a fresh \
             temporary CARGO_TARGET_DIR, dependencies already downloaded. The consumer and the \
             floor crates are generated in a temporary directory with the workspace's \
             Cargo.lock (same versions); the consumer depends on `nateq-api` by path without \
             features, as a user of the published crate does (it builds from the committed \
             snapshot and never compiles the generator); the floors depend only on reqwest with \
             the SDK's features (`json`, `stream`, `http2`, `rustls-no-provider`), plus rustls \
             with one provider where named. The incremental figure builds `-p nateq-api \
             --features codegen` in the workspace, touches `openapi.yaml` (mtime only) and \
             rebuilds: the build script regenerates the client and the crate recompiles. {} runs.",
            std::thread::available_parallelism().map_or(0, |n| n.get()),
            plan.runs
        ),
        when,
        load: (load_before, load_average()),
        quick,
        figures: runs.figures(),
        ratios,
        notes,
    })
}

fn diff_median(runs: &Runs, a: &str, b: &str) -> Option<f64> {
    let d: Vec<f64> = runs
        .values(a)
        .iter()
        .zip(runs.values(b))
        .map(|(x, y)| x - y)
        .collect();
    crate::stats::Stat::of(&d).map(|s| s.median)
}

fn measure(plan: Plan, scratch: &Path) -> anyhow::Result<Runs> {
    std::fs::create_dir_all(scratch)?;
    let floors: &[Floor] = if plan.full { &FLOORS } else { &FLOORS[..1] };
    let consumer = write_crate(
        scratch,
        "consumer",
        &format!(
            "nateq-api = {{ path = {:?} }}",
            workspace_root().join("nateq-api").display().to_string()
        ),
        "fn main() {\n    println!(\"{}\", nateq_api::Client::builder().api_key(\"k\").build().is_ok());\n}\n",
    )?;
    let mut dirs = Vec::new();
    for floor in floors {
        let dir = write_crate(scratch, floor.dir, floor.deps, floor.main)?;
        // Download and lock outside the timing.
        let status = Command::new(cargo())
            .arg("fetch")
            .current_dir(&dir)
            .stdout(Stdio::null())
            .status()
            .context("cannot run cargo fetch")?;
        if !status.success() {
            bail!("cargo fetch failed in {}", dir.display());
        }
        dirs.push(dir);
    }
    let mut runs = Runs::default();
    for run in 0..plan.runs {
        if plan.full {
            let target = scratch.join(format!("target-consumer-{run}"));
            let clean = timed_build(&consumer, &target, &["--locked"])?;
            runs.push(API_CLEAN, "s", clean.as_secs_f64());
            let _ = std::fs::remove_dir_all(&target);
        }
        // The workspace generates from the spec (feature `codegen`): touch it and rebuild.
        let target = scratch.join(format!("target-api-{run}"));
        let codegen = ["-p", "nateq-api", "--features", "codegen", "--locked"];
        timed_build(&workspace_root(), &target, &codegen)?;
        touch(&workspace_root().join("openapi.yaml"))?;
        let touched = timed_build(&workspace_root(), &target, &codegen)?;
        runs.push(API_TOUCH, "s", touched.as_secs_f64());
        let _ = std::fs::remove_dir_all(&target);
        for (floor, dir) in floors.iter().zip(&dirs) {
            let target = scratch.join(format!("target-{}-{run}", floor.dir));
            let elapsed = timed_build(dir, &target, &["--locked"])?;
            runs.push(floor.label, "s", elapsed.as_secs_f64());
            let _ = std::fs::remove_dir_all(&target);
        }
        eprintln!("build: run {} of {} done", run + 1, plan.runs);
    }
    Ok(runs)
}

/// A crate of its own (not in the workspace) in `scratch/name`, with the workspace's versions.
fn write_crate(scratch: &Path, name: &str, deps: &str, main: &str) -> anyhow::Result<PathBuf> {
    let dir = scratch.join(name);
    std::fs::create_dir_all(dir.join("src"))?;
    let manifest = format!(
        "[package]\nname = \"nateq-build-{name}\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\
         publish = false\n\n[dependencies]\n{REQWEST}\n{deps}\n\n[workspace]\n"
    );
    std::fs::write(dir.join("Cargo.toml"), manifest)?;
    std::fs::write(dir.join("src").join("main.rs"), main)?;
    std::fs::copy(workspace_root().join("Cargo.lock"), dir.join("Cargo.lock"))
        .context("cannot copy Cargo.lock")?;
    // Prune the copied lock to this crate's graph, keeping the workspace's versions.
    let status = Command::new(cargo())
        .args(["metadata", "--format-version", "1"])
        .current_dir(&dir)
        .stdout(Stdio::null())
        .status()
        .context("cannot run cargo metadata")?;
    if !status.success() {
        bail!("cargo metadata failed in {}", dir.display());
    }
    Ok(dir)
}

fn timed_build(dir: &Path, target: &Path, args: &[&str]) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let status = Command::new(cargo())
        .arg("build")
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target)
        .env_remove("RUSTC_WRAPPER")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .context("cannot run cargo build")?;
    if !status.success() {
        bail!("cargo build {} failed in {}", args.join(" "), dir.display());
    }
    Ok(started.elapsed())
}

/// Sets a file's modification time to now without changing its contents.
fn touch(path: &Path) -> anyhow::Result<()> {
    let file = std::fs::File::options()
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    file.set_modified(SystemTime::now())
        .with_context(|| format!("cannot touch {}", path.display()))
}
