//! Scenario 2, decode: runs the criterion benchmark `benches/decode.rs` several times and reads
//! its per-run medians (`target/criterion/decode/*/new/estimates.json`).

use std::process::{Command, Stdio};

use anyhow::{Context, bail};

use crate::env::{cargo, load_average, now_utc, target_dir, workspace_root};
use crate::stats::{Goal, Runs, Section};

/// The criterion benchmark ids and their labels.
const BENCHES: [(&str, &str); 3] = [
    ("typed", "generated types (UpdateContactResponse)"),
    ("value", "serde_json::Value"),
    ("handwritten", "hand-written structs"),
];

/// Runs the scenario.
pub fn run(runs_wanted: usize, measurement_secs: u32, quick: bool) -> anyhow::Result<Section> {
    let load_before = load_average();
    let when = now_utc();
    let body_len = crate::fixture::large_envelope().len();
    let criterion_dir = target_dir()?.join("criterion").join("decode");
    let mut runs = Runs::default();
    let mut apply_bytes = 0;
    for run in 0..runs_wanted {
        let status = Command::new(cargo())
            .args([
                "bench",
                "--locked",
                "-p",
                "nateq-bench",
                "--bench",
                "decode",
                "--",
                "--warm-up-time",
                "1",
                "--measurement-time",
                &measurement_secs.to_string(),
                "--noplot",
            ])
            .current_dir(workspace_root())
            .stdout(Stdio::null())
            .status()
            .context("cannot run cargo bench")?;
        if !status.success() {
            bail!("cargo bench --bench decode failed");
        }
        for (id, label) in BENCHES {
            let path = criterion_dir.join(id).join("new").join("estimates.json");
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let estimates: serde_json::Value = serde_json::from_str(&text)
                .with_context(|| format!("cannot parse {}", path.display()))?;
            let ns = estimates["median"]["point_estimate"]
                .as_f64()
                .with_context(|| format!("no median in {}", path.display()))?;
            runs.push(label, "us/decode", ns / 1000.0);
        }
        apply_bytes = crate::apply::measure(&mut runs, if quick { 5 } else { 20 })?;
        eprintln!("decode: run {} of {runs_wanted} done", run + 1);
    }
    let (typed, value, hand) = (BENCHES[0].1, BENCHES[1].1, BENCHES[2].1);
    let ratios = [
        runs.ratio(
            "generated types / Value (time)",
            typed,
            value,
            Goal::AtMost(1.0),
        ),
        runs.ratio(
            "generated types / hand-written structs (time)",
            typed,
            hand,
            Goal::Info,
        ),
        runs.ratio(
            "apply / update on a 6 MB response (time per call)",
            crate::apply::APPLY,
            crate::apply::UPDATE,
            Goal::AtMost(1.0),
        ),
    ]
    .into_iter()
    .flatten()
    .collect();
    Ok(Section {
        id: "decode".into(),
        title: "2. Decode".into(),
        method: format!(
            "Criterion (`cargo bench -p nateq-bench --bench decode`): `serde_json::from_slice` of \
             the {body_len}-byte 200 envelope with 50 activities and 20 tags. Each of {runs_wanted} \
             runs is a full criterion run ({measurement_secs} s of samples per function); a \
             figure is the median, min and max of the per-run criterion medians. In each run, \
             the SDK's `update` and `apply` also take turns against an in-process server that \
             answers with a {apply_bytes}-byte envelope ({} activities): `apply` reads only the \
             envelope's `success` (and `error` when it is false), `update` decodes the contact; \
             a figure is the median call time of a run.",
            crate::apply::ACTIVITIES
        ),
        when,
        load: (load_before, load_average()),
        quick,
        figures: runs.figures(),
        ratios,
        notes: Vec::new(),
    })
}
