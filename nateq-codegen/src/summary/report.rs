//! The list of spec changes as text, Markdown (a pull-request comment), JSON (the published
//! shape, [`JsonReport`]) or GitHub workflow annotations pointing at lines of the spec.

use std::fmt::Write as _;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{Change, Verdict};

/// The version of [`JsonReport`]'s shape: it changes only when a field is removed or changes
/// meaning (new fields may appear without it).
pub const JSON_VERSION: u32 = 1;

/// An output format of `cargo xtask codegen --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// One line per change, its reason and line below it (the default).
    #[default]
    Text,
    /// A Markdown table, for a pull-request comment.
    Markdown,
    /// [`JsonReport`].
    Json,
    /// GitHub workflow commands: `::error` (breaking), `::warning` (ok), `::notice` (docs).
    Github,
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "text" => Ok(Format::Text),
            "markdown" => Ok(Format::Markdown),
            "json" => Ok(Format::Json),
            "github" => Ok(Format::Github),
            other => Err(format!(
                "unknown format `{other}` (expected text, markdown, json or github)"
            )),
        }
    }
}

/// How many changes of each verdict.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct Counts {
    /// Changes that break existing callers.
    pub breaking: usize,
    /// Contract changes that do not.
    pub ok: usize,
    /// Documentation-only changes.
    pub docs: usize,
}

impl Counts {
    /// Counts `changes` by verdict.
    pub fn of(changes: &[Change]) -> Counts {
        let count = |v: Verdict| changes.iter().filter(|c| c.verdict == v).count();
        Counts {
            breaking: count(Verdict::Breaking),
            ok: count(Verdict::Ok),
            docs: count(Verdict::Docs),
        }
    }
}

/// The JSON report: `cargo xtask codegen --format json` prints one. Its JSON Schema is
/// `nateq-codegen/spec-changes.schema.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct JsonReport {
    /// The version of this shape: 1. It changes only when a field is removed or changes
    /// meaning; new fields may appear without it.
    pub version: u32,
    /// The spec file the lines refer to (`openapi.yaml`).
    pub spec: String,
    /// How many changes of each verdict.
    pub counts: Counts,
    /// The changes, in a stable order.
    pub changes: Vec<Change>,
}

/// Renders `changes` of the spec file `spec` (as named in the lines) in `format`.
pub fn render(format: Format, spec: &str, changes: &[Change]) -> String {
    match format {
        Format::Text => text(spec, changes),
        Format::Markdown => markdown(spec, changes),
        Format::Json => json(spec, changes),
        Format::Github => github(spec, changes),
    }
}

fn counts_line(changes: &[Change]) -> String {
    let c = Counts::of(changes);
    format!("{} breaking, {} ok, {} docs", c.breaking, c.ok, c.docs)
}

fn at(spec: &str, change: &Change) -> String {
    change
        .line
        .map_or_else(|| spec.to_string(), |line| format!("{spec}:{line}"))
}

fn text(spec: &str, changes: &[Change]) -> String {
    if changes.is_empty() {
        return "spec: no change to operations, parameters, bodies, responses, security, schemas or docs\n"
            .to_string();
    }
    let mut out = format!(
        "spec: {} change(s): {}\n",
        changes.len(),
        counts_line(changes)
    );
    for change in changes {
        let _ = writeln!(out, "  {change}");
        let _ = writeln!(out, "      {} ({})", change.reason, at(spec, change));
    }
    out
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn markdown(spec: &str, changes: &[Change]) -> String {
    let mut out = format!("### Spec changes: {}\n\n", counts_line(changes));
    if changes.is_empty() {
        out.push_str("No change to the API's contract or docs.\n");
        return out;
    }
    out.push_str("| Verdict | Where | Change | Why | Line |\n|---|---|---|---|---|\n");
    let mut sorted: Vec<&Change> = changes.iter().collect();
    sorted.sort_by_key(|c| c.verdict);
    for c in sorted {
        let verdict = match c.verdict {
            Verdict::Breaking => "**breaking**",
            Verdict::Ok => "ok",
            Verdict::Docs => "docs",
        };
        let _ = writeln!(
            out,
            "| {verdict} | `{}` | {} | {} | `{}` |",
            cell(&c.location),
            cell(&c.what),
            cell(&c.reason),
            at(spec, c)
        );
    }
    out
}

fn json(spec: &str, changes: &[Change]) -> String {
    let report = JsonReport {
        version: JSON_VERSION,
        spec: spec.to_string(),
        counts: Counts::of(changes),
        changes: changes.to_vec(),
    };
    // A report of plain strings, numbers and JSON values always serialises.
    let mut out = serde_json::to_string_pretty(&report).unwrap_or_default();
    out.push('\n');
    out
}

/// Escapes a workflow command's message.
fn data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value.
fn property(s: &str) -> String {
    data(s).replace(':', "%3A").replace(',', "%2C")
}

fn github(spec: &str, changes: &[Change]) -> String {
    let mut out = String::new();
    for c in changes {
        let level = match c.verdict {
            Verdict::Breaking => "error",
            Verdict::Ok => "warning",
            Verdict::Docs => "notice",
        };
        let mut props = format!("file={}", property(spec));
        if let Some(line) = c.line {
            let _ = write!(props, ",line={line}");
        }
        let _ = write!(props, ",title={}", property(&c.kind));
        let _ = writeln!(
            out,
            "::{level} {props}::{}",
            data(&format!("{}: {} ({})", c.location, c.what, c.reason))
        );
    }
    out
}

/// The JSON Schema of [`JsonReport`], as committed in `spec-changes.schema.json`.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(JsonReport);
    let mut out = serde_json::to_string_pretty(&schema).unwrap_or_default();
    out.push('\n');
    out
}
