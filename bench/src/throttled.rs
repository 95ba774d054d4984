//! Scenario 7, rate-limited goodput: `nateq contacts update-many` (the release binary) against
//! the emulator binary playing APIs that announce their limit in different ways (headers on
//! every response, only on the 429s, not at all) at 20 and 100 requests/s, and an API with
//! sporadic 429s and no limit; each with the default concurrency and with `--concurrency 64`.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;

use crate::bulk::{run_cli_json, write_rows};
use crate::env::{Binaries, EmulatorProcess, http_request, load_average, now_utc};
use crate::stats::{Goal, Runs, Section};

/// How the emulator plays the API: the ways real APIs announce (or do not announce) a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Api {
    /// The emulator's default: `X-RateLimit-*` on every response, burst max(1, ceil(N/10)).
    Announced,
    /// `X-RateLimit-*` only on the limit's 429s, a bucket of 2, `Retry-After` in whole seconds.
    OnRefusal,
    /// No `X-RateLimit-*` at all: a bare 429 with `Retry-After` (whole seconds), a bucket of 2.
    Bare,
    /// No limit at all, but 5% of requests answered 429 with `Retry-After: 1` at random.
    Sporadic,
}

/// The bucket of the APIs with a small burst.
const SMALL_BURST: u32 = 2;
/// The share of requests the sporadic API refuses.
const SPORADIC_RATE: f64 = 0.05;
/// The rows per second the sporadic API must at least allow (honouring its `Retry-After`
/// client-wide would cap it at 1 / 0.05 = 20).
const SPORADIC_FLOOR: f64 = 10.0;

impl Api {
    fn label(self) -> &'static str {
        match self {
            Api::Announced => "headers on every response",
            Api::OnRefusal => "headers only on 429s, burst 2",
            Api::Bare => "bare 429s, burst 2",
            Api::Sporadic => "sporadic 429s (5%), no limit",
        }
    }

    /// The body of `PUT /_emulator/rate-limit`.
    fn rate_limit_body(self, limit: u32) -> String {
        match self {
            Api::Announced => format!(r#"{{"perSecond":{limit}}}"#),
            Api::OnRefusal => {
                format!(r#"{{"perSecond":{limit},"burst":{SMALL_BURST},"headers":"on-429"}}"#)
            }
            Api::Bare => {
                format!(r#"{{"perSecond":{limit},"burst":{SMALL_BURST},"headers":"never"}}"#)
            }
            Api::Sporadic => r#"{"perSecond":null}"#.to_string(),
        }
    }

    /// The body of `PUT /_emulator/faults` (`seed` varies run by run).
    fn faults_body(self, seed: usize) -> String {
        match self {
            Api::Sporadic => format!(
                r#"{{"rate":{SPORADIC_RATE},"kinds":["429"],"retryAfterSecs":1,"seed":{seed}}}"#
            ),
            _ => r#"{"rate":0}"#.to_string(),
        }
    }
}

/// One case: the API, the emulator's limit (`None`: no limit), the rows sent, and
/// `--concurrency` (`None`: the default).
#[derive(Debug, Clone, Copy)]
struct Case {
    api: Api,
    limit: Option<u32>,
    rows: usize,
    concurrency: Option<usize>,
}

impl Case {
    fn label(self) -> String {
        let c = self.concurrency.map_or_else(
            || "default concurrency".to_string(),
            |c| format!("--concurrency {c}"),
        );
        match self.limit {
            Some(limit) => format!(
                "{}, {limit}/s limit, {} rows, {c}",
                self.api.label(),
                self.rows
            ),
            None => format!("{}, {} rows, {c}", self.api.label(), self.rows),
        }
    }
}

/// The JSON summary of `update-many --output json`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Summary {
    done: u64,
    failed: u64,
    throttled: u64,
}

/// Seconds of rows at the limit each case sends: long enough that what a client must spend
/// once to learn a limit it is not told (a 429 and its `Retry-After` of at least a second, a
/// search) weighs 2% a second, as in a long sync, not 5% as in a 20-second run.
const SECONDS_AT_THE_LIMIT: usize = 60;
/// The rows of the sporadic API.
const SPORADIC_ROWS: usize = 2_000;

/// The cases, in the order they run: every API with a limit at 20/s and 100/s (a minute of
/// rows), then the sporadic API; each with the default concurrency and 64.
fn cases(quick: bool) -> Vec<Case> {
    let scale = if quick { 10 } else { 1 };
    let mut cases = Vec::new();
    for api in [Api::Announced, Api::OnRefusal, Api::Bare, Api::Sporadic] {
        let limits: Vec<(Option<u32>, usize)> = if api == Api::Sporadic {
            vec![(None, SPORADIC_ROWS)]
        } else {
            [20, 100]
                .map(|l| (Some(l), l as usize * SECONDS_AT_THE_LIMIT))
                .to_vec()
        };
        for (limit, rows) in limits {
            for concurrency in [None, Some(64)] {
                cases.push(Case {
                    api,
                    limit,
                    rows: rows / scale,
                    concurrency,
                });
            }
        }
    }
    cases
}

/// Runs the scenario (`quick`: a tenth of the rows).
pub fn run(binaries: &Binaries, work: &Path, runs: usize, quick: bool) -> anyhow::Result<Section> {
    let load_before = load_average();
    let when = now_utc();
    let cases = cases(quick);
    let most_rows = cases.iter().map(|c| c.rows).max().unwrap_or(0);
    let emu = EmulatorProcess::start(binaries, most_rows)?;
    let mut measured = Runs::default();
    let mut notes = Vec::new();
    for run in 0..runs {
        for &case in &cases {
            let rows = work.join(format!("throttled-{}.jsonl", case.rows));
            write_rows(&rows, case.rows, case.rows)?;
            emu.reset()?;
            let admin = |path: &str, body: &str| {
                http_request(emu.authority(), "PUT", path, &emu.api_key, body)
                    .with_context(|| format!("cannot set {path} to {body}"))
            };
            admin(
                "/_emulator/rate-limit",
                &case.api.rate_limit_body(case.limit.unwrap_or(0)),
            )?;
            admin("/_emulator/faults", &case.api.faults_body(run))?;
            // Let the bucket refill after the previous case.
            std::thread::sleep(Duration::from_secs(1));
            let (summary, wall): (Summary, _) =
                run_cli_json(binaries, &emu, &rows, case.concurrency, &[])?;
            let label = case.label();
            let secs = wall.as_secs_f64();
            eprintln!(
                "  {label}: {secs:.2} s, {} done, {} failed, {} throttled",
                summary.done, summary.failed, summary.throttled
            );
            measured.push(&format!("{label}: wall"), "s", secs);
            measured.push(&format!("{label}: rows"), "rows", case.rows as f64);
            match case.limit {
                Some(limit) => {
                    let ideal = case.rows as f64 / f64::from(limit);
                    measured.push(&format!("{label}: ideal"), "s", ideal);
                }
                None => {
                    measured.push(
                        &format!("{label}: rows per second"),
                        "rows/s",
                        case.rows as f64 / secs,
                    );
                    measured.push(&format!("{label}: floor"), "rows/s", SPORADIC_FLOOR);
                }
            }
            measured.push(&format!("{label}: failed"), "rows", summary.failed as f64);
            measured.push(
                &format!("{label}: 429s"),
                "responses",
                summary.throttled as f64,
            );
            if summary.done + summary.failed != case.rows as u64 {
                notes.push(format!(
                    "run {run}, {label}: {} done + {} failed of {} rows",
                    summary.done, summary.failed, case.rows
                ));
            }
        }
        eprintln!("throttled: run {} of {runs} done", run + 1);
    }
    let mut ratios = Vec::new();
    for case in &cases {
        let label = case.label();
        let name = |what: &str| format!("{label}: {what}");
        if case.limit.is_some() {
            ratios.extend(measured.ratio(
                &format!("{label}: efficiency, (rows / limit) / wall"),
                &name("ideal"),
                &name("wall"),
                Goal::AtLeast(0.95),
            ));
            ratios.extend(measured.ratio(
                &format!("{label}: 429s per row"),
                &name("429s"),
                &name("rows"),
                Goal::AtMost(0.01),
            ));
        } else {
            ratios.extend(measured.ratio(
                &format!("{label}: rows per second / {SPORADIC_FLOOR} rows/s"),
                &name("rows per second"),
                &name("floor"),
                Goal::AtLeast(1.0),
            ));
            ratios.extend(measured.ratio(
                &format!("{label}: 429s per row"),
                &name("429s"),
                &name("rows"),
                Goal::Info,
            ));
        }
        ratios.extend(measured.ratio(
            &format!("{label}: failed rows per row"),
            &name("failed"),
            &name("rows"),
            Goal::AtMost(0.0),
        ));
    }
    notes.push(
        "Headers on every response: the emulator's default, a bucket of max(1, ceil(N/10)) \
         refilled at N/s, X-RateLimit-Limit/Remaining/Reset on every answer. Headers only on \
         429s: a bucket of 2, the X-RateLimit-* headers only on the limit's 429s. Bare 429s: a \
         bucket of 2 and no X-RateLimit-* header at all. All three answer a refused request \
         with 429 and Retry-After in whole seconds, rounded up, so at least 1 s even when a \
         token is back in 10 ms. Sporadic: no limit, 5% of requests answered 429 with \
         Retry-After: 1 at random (the fault 429 of `--fault-rate 0.05 --faults 429`), which \
         no pace avoids; honouring each such Retry-After client-wide would cap the run at \
         20 rows/s."
            .into(),
    );
    Ok(Section {
        id: "throttled".into(),
        title: "7. Rate-limited goodput".into(),
        method: format!(
            "The emulator binary (release, its own process) is reset before each case, its \
             rate limit set with `PUT /_emulator/rate-limit` (and its faults with \
             `PUT /_emulator/faults`), then left a second to refill. `nateq --base-url .. \
             --api-key .. --output json contacts update-many --input rows.jsonl \
             [--concurrency 64]` (release binary, every other flag at its default, no report) \
             applies one row per distinct contact. Wall time is the process's; failed rows and \
             429s come from its JSON summary. Efficiency = (rows / limit) / wall. {runs} \
             run(s)."
        ),
        when,
        load: (load_before, load_average()),
        quick,
        figures: measured.figures(),
        ratios,
        notes,
    })
}
