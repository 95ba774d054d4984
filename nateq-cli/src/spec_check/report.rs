//! What `nateq spec check` found, and how it is printed: text for people, or one JSON object.

use std::fmt::Write as _;
use std::io::Write;

use serde::Serialize;

/// The whole run.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The API's base URL.
    pub base_url: String,
    /// The spec checked against: `openapi.yaml (built in)` or the `--spec` file.
    pub spec: String,
    /// Whether any response drifted from the spec (the exit code is then 8).
    pub drift: bool,
    /// How many findings, over every probe.
    pub findings: usize,
    /// Each probe, in the order sent.
    pub probes: Vec<ProbeReport>,
}

/// One probe: what was sent, what came back, and what does not match the spec.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProbeReport {
    /// The probe's name, e.g. `unknown-id`.
    pub name: &'static str,
    /// The request, e.g. `PUT /contacts/ct_1 {}` (never the key).
    pub request: String,
    /// The status the spec gives for this probe.
    pub expected_status: u16,
    /// The status that came back.
    pub status: u16,
    /// The `Content-Type` that came back, if any.
    pub content_type: Option<String>,
    /// The answers that said "slow down" (429) before this one; each was checked too.
    pub throttled: u32,
    /// What does not match the spec.
    pub findings: Vec<Finding>,
    /// The headers the client relies on: present or absent.
    pub headers: Vec<HeaderSeen>,
    /// A remark that is not drift (e.g. how an accepted over-long value was put back).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One difference between a response and the spec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// What kind of difference.
    pub kind: FindingKind,
    /// Where: a JSON pointer into the body (`/data/createdAt`; empty for the body itself),
    /// or `status`, `Content-Type`, or `header <name>`.
    pub path: String,
    /// What the spec says.
    pub spec: String,
    /// What came back.
    pub actual: String,
    /// The line of openapi.yaml to edit.
    pub line: Option<usize>,
    /// The node of the spec the line belongs to, as a JSON pointer (`#/components/...`).
    pub spec_pointer: Option<String>,
    /// The status of the response it was found in.
    pub status: u16,
}

/// The kinds of drift.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    /// A status the operation does not document.
    UndocumentedStatus,
    /// A documented status, but not the one the spec gives for this probe.
    UnexpectedStatus,
    /// A `Content-Type` the response does not document (or none).
    ContentType,
    /// A body that is not the JSON its `Content-Type` says.
    InvalidJson,
    /// A property the spec does not document (objects are checked as closed).
    UndocumentedProperty,
    /// A value of another JSON type than the spec's.
    TypeMismatch,
    /// `null` where the spec says non-null.
    NullNotAllowed,
    /// A required property that is absent.
    MissingRequired,
    /// A value outside the spec's `enum`.
    Enum,
    /// A value outside a limit: `maxLength`, `minLength`, `pattern`, `minimum`, `format`...
    Limit,
    /// A documented header that is absent though required, or whose value does not match.
    Header,
    /// Any other schema violation.
    Schema,
}

impl FindingKind {
    /// The kebab-case name, as in the JSON report.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::UndocumentedStatus => "undocumented-status",
            FindingKind::UnexpectedStatus => "unexpected-status",
            FindingKind::ContentType => "content-type",
            FindingKind::InvalidJson => "invalid-json",
            FindingKind::UndocumentedProperty => "undocumented-property",
            FindingKind::TypeMismatch => "type-mismatch",
            FindingKind::NullNotAllowed => "null-not-allowed",
            FindingKind::MissingRequired => "missing-required",
            FindingKind::Enum => "enum",
            FindingKind::Limit => "limit",
            FindingKind::Header => "header",
            FindingKind::Schema => "schema",
        }
    }
}

/// A header the client relies on, as one response had it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HeaderSeen {
    /// The header's name.
    pub name: String,
    /// Whether the response carried it.
    pub present: bool,
    /// Its value, when present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Whether the spec documents it for this response.
    pub documented: bool,
}

impl Report {
    /// The report as text: one block per probe, its findings and headers, then the verdict.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "spec check of {} against {}", self.base_url, self.spec);
        for probe in &self.probes {
            let verdict = match probe.findings.len() {
                0 => "ok".to_string(),
                1 => "1 finding".to_string(),
                n => format!("{n} findings"),
            };
            let _ = writeln!(
                out,
                "\n{}: {} -> {} {}: {verdict}",
                probe.name,
                probe.request,
                probe.status,
                probe.content_type.as_deref().unwrap_or("(no Content-Type)"),
            );
            if probe.throttled > 0 {
                let _ = writeln!(out, "  throttled {} time(s) first (429)", probe.throttled);
            }
            for finding in &probe.findings {
                let line = match finding.line {
                    Some(line) => format!("openapi.yaml:{line}"),
                    None => "openapi.yaml".to_string(),
                };
                let path = if finding.path.is_empty() {
                    "(body)"
                } else {
                    &finding.path
                };
                let _ = writeln!(
                    out,
                    "  {} at {path}: the spec says {} ({line}); got {}",
                    finding.kind.as_str(),
                    finding.spec,
                    finding.actual,
                );
            }
            let headers: Vec<String> = probe
                .headers
                .iter()
                .map(|h| match &h.value {
                    Some(value) => format!("{} present ({value})", h.name),
                    None => format!("{} absent", h.name),
                })
                .collect();
            let _ = writeln!(out, "  headers: {}", headers.join(", "));
            if let Some(note) = &probe.note {
                let _ = writeln!(out, "  note: {note}");
            }
        }
        let _ = writeln!(out);
        if self.drift {
            let _ = writeln!(
                out,
                "drift: {} finding(s) in {} probe(s); edit openapi.yaml at the lines above, or report the API",
                self.findings,
                self.probes.len()
            );
        } else {
            let _ = writeln!(
                out,
                "no drift: every response of the {} probes matches the spec",
                self.probes.len()
            );
        }
        out
    }

    /// Prints the report on stdout: text, or one JSON object with `--output json`.
    pub fn print(&self, format: crate::cli::OutputFormat) -> anyhow::Result<()> {
        use anyhow::Context;
        match format {
            crate::cli::OutputFormat::Json => crate::output::print_json(self, format),
            crate::cli::OutputFormat::Pretty => {
                let mut stdout = std::io::stdout().lock();
                stdout
                    .write_all(self.to_text().as_bytes())
                    .and_then(|()| stdout.flush())
                    .context("cannot write to stdout")
            }
        }
    }
}
