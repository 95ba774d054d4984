//! The `update-many` report: one JSON line per row, written and flushed as each row completes,
//! and read back by `--resume` to skip the rows already done.

use std::collections::hash_map::DefaultHasher;
use std::fs::{File, OpenOptions};
use std::hash::{Hash, Hasher};
use std::io::{BufRead, BufReader, BufWriter, Seek, SeekFrom, Write};
use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::fields::FieldSet;

/// One line of the report.
///
/// ```json
/// {"line":1,"id":"ct_1","result":"ok","fields":["name"],"attempts":1}
/// {"line":2,"id":"ct_9","result":"error","fields":["name"],"kind":"api","status":404,"code":"NOT_FOUND","message":"contact ct_9 not found","requestId":"req_7","attempts":1}
/// {"line":3,"id":null,"result":"error","kind":"invalid","message":"missing id","attempts":0}
/// {"line":4,"id":"ct_1","result":"superseded","fields":[],"message":"...","attempts":0}
/// {"line":5,"id":"ct_2","result":"ok","fields":["name"],"requestId":"req_8","drift":{"status":200,"path":"data.createdAt","expected":"a string","actual":"a number (1764547200)"},"attempts":1}
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportLine {
    /// Line number of the row in the input (1-based; for CSV the header is line 1).
    pub line: u64,
    /// The row's contact id, if it has one.
    pub id: Option<String>,
    /// `ok`, `error`, `superseded`, or (in a dry run) `valid` or `invalid`.
    pub result: Outcome,
    /// The fields the row set (or would set); absent for a malformed row, and in reports
    /// written before this was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<FieldSet>,
    /// For errors: `invalid` (never sent), `api`, `network`, `timeout` or `other`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// For API errors: the HTTP status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// For API errors: the API's error code, e.g. `NOT_FOUND`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// For errors: what went wrong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// For a `400`: the API's `error.details` (the offending fields).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
    /// The `x-request-id` of the failed response, when the server sent one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// For a row that was applied (a 2xx) whose response did not match the spec: where.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift: Option<Drift>,
    /// Requests sent for this row (0 for a row that was never sent).
    pub attempts: u32,
}

/// Where the response of an applied row drifted from the spec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Drift {
    /// The HTTP status (a 2xx: the row was applied).
    pub status: u16,
    /// The JSON path of the first value that does not match (empty: the body as a whole).
    pub path: String,
    /// What the spec says belongs there.
    pub expected: String,
    /// What came back.
    pub actual: String,
}

impl Drift {
    /// The drift of an error that says the update was applied
    /// ([`nateq_api::Error::is_applied`]), if it is one.
    pub fn of(error: &nateq_api::Error) -> Option<Drift> {
        match error {
            nateq_api::Error::ResponseDrift(drift) => Some(Drift {
                status: drift.status.as_u16(),
                path: drift.path.clone(),
                expected: drift.expected.clone(),
                actual: drift.actual.clone(),
            }),
            nateq_api::Error::ResponseTooLarge { status, limit } if error.is_applied() => {
                Some(Drift {
                    status: status.as_u16(),
                    path: String::new(),
                    expected: format!("a body of at most {limit} bytes"),
                    actual: "a larger body (not read)".to_owned(),
                })
            }
            _ => None,
        }
    }
}

/// The result of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The update was applied.
    Ok,
    /// The update was not applied (or its outcome is unknown).
    Error,
    /// Not sent on `--resume`: every field of the row was set by a later row of the same
    /// contact that was already done. Counts as done.
    Superseded,
    /// Dry run: the row is valid and would be sent.
    Valid,
    /// Dry run: the row is malformed and would not be sent.
    Invalid,
}

impl ReportLine {
    /// A line with only the row's identity and result; the caller fills in the rest.
    pub fn new(line: u64, id: Option<String>, result: Outcome) -> Self {
        ReportLine {
            line,
            id,
            result,
            fields: None,
            kind: None,
            status: None,
            code: None,
            message: None,
            details: None,
            request_id: None,
            drift: None,
            attempts: 0,
        }
    }

    /// The line of a row that was applied although its call ended in an error that says so
    /// (a response that drifted from the spec, or was over the size cap).
    pub fn applied_with_drift(
        line: u64,
        id: String,
        fields: FieldSet,
        error: &nateq_api::Error,
        attempts: u32,
    ) -> Self {
        ReportLine {
            fields: Some(fields),
            request_id: error.request_id().map(str::to_string),
            drift: Drift::of(error),
            attempts,
            ..ReportLine::new(line, Some(id), Outcome::Ok)
        }
    }

    /// The line of a row whose update failed (or was refused before sending).
    pub fn failed(
        line: u64,
        id: Option<String>,
        fields: Option<FieldSet>,
        error: &nateq_api::Error,
        attempts: u32,
    ) -> Self {
        use nateq_api::Error as E;
        let kind = match error {
            E::Validation(_) => "invalid",
            E::Api(_) | E::Decode { .. } | E::ResponseTooLarge { .. } | E::Redirect { .. } => "api",
            E::Connection { .. } => "network",
            E::Timeout { .. } => "timeout",
            _ => "other",
        };
        let (message, details) = match error {
            E::Api(api) => (
                api.message.clone(),
                api.details.clone().filter(|_| api.status.as_u16() == 400),
            ),
            other => (other.to_string(), None),
        };
        ReportLine {
            fields,
            kind: Some(kind.to_string()),
            status: error.status().map(|s| s.as_u16()),
            code: error.code().map(str::to_string),
            message: Some(message),
            details,
            request_id: error.request_id().map(str::to_string),
            attempts,
            ..ReportLine::new(line, id, Outcome::Error)
        }
    }
}

/// What a report says about the rows already done: which ones (by line and id), and, for each
/// contact, which fields its done rows set, so that a row sent again on `--resume` leaves alone
/// the fields a later row of the same contact already set.
#[derive(Debug, Default)]
pub struct DoneSet {
    /// Sorted by (id hash, line); deduplicated.
    entries: Vec<DoneEntry>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct DoneEntry {
    hash: u64,
    line: u64,
    /// The fields set by this row and by every later done row of the same id.
    from_here: u64,
}

impl DoneSet {
    /// Builds the set from (line, id hash, fields) of the done rows, in any order.
    fn from_rows(mut rows: Vec<(u64, u64, FieldSet)>) -> Self {
        rows.sort_unstable_by_key(|&(line, hash, _)| (hash, line));
        let mut entries: Vec<DoneEntry> = Vec::with_capacity(rows.len());
        for (line, hash, fields) in rows {
            match entries.last_mut() {
                Some(last) if last.hash == hash && last.line == line => {
                    last.from_here |= fields.bits();
                }
                _ => entries.push(DoneEntry {
                    hash,
                    line,
                    from_here: fields.bits(),
                }),
            }
        }
        // Accumulate from the end of each id's run of entries.
        for i in (0..entries.len().saturating_sub(1)).rev() {
            if entries[i].hash == entries[i + 1].hash {
                entries[i].from_here |= entries[i + 1].from_here;
            }
        }
        DoneSet { entries }
    }

    /// Whether the row at `line` with this `id` is done.
    pub fn contains(&self, line: u64, id: &str) -> bool {
        let hash = id_hash(id);
        self.entries
            .binary_search_by_key(&(hash, line), |e| (e.hash, e.line))
            .is_ok()
    }

    /// The fields that done rows of `id` after `line` set.
    pub fn set_later(&self, line: u64, id: &str) -> FieldSet {
        let hash = id_hash(id);
        let index = self
            .entries
            .partition_point(|e| (e.hash, e.line) <= (hash, line));
        match self.entries.get(index) {
            Some(e) if e.hash == hash => FieldSet::from_bits(e.from_here),
            _ => FieldSet::EMPTY,
        }
    }

    /// How many rows are recorded as done.
    pub fn len(&self) -> usize {
        self.entries.len()
    }
}

fn id_hash(id: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    id.hash(&mut hasher);
    hasher.finish()
}

/// Appends report lines, each flushed to the operating system as soon as it is written, so a
/// killed process loses at most the line being written.
#[derive(Debug)]
pub struct ReportWriter {
    out: BufWriter<File>,
}

impl ReportWriter {
    /// Writes one line and flushes it.
    pub fn write(&mut self, line: &ReportLine) -> std::io::Result<()> {
        serde_json::to_writer(&mut self.out, line).map_err(std::io::Error::from)?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }
}

/// Creates a new report; refuses to overwrite a non-empty one (it may be needed to resume).
pub fn create(path: &Path) -> anyhow::Result<ReportWriter> {
    if std::fs::metadata(path).is_ok_and(|m| m.len() > 0) {
        return Err(crate::exit::CliError::usage(format!(
            "report {} already exists: pass --resume to continue that run, or remove it",
            path.display()
        ))
        .into());
    }
    let file =
        File::create(path).with_context(|| format!("cannot create report {}", path.display()))?;
    Ok(ReportWriter {
        out: BufWriter::new(file),
    })
}

/// Opens a report to resume from: reads the rows done, cuts a torn last line (left by a killed
/// run) and returns a writer that appends. A missing report starts a fresh one.
pub fn resume(path: &Path) -> anyhow::Result<(DoneSet, ReportWriter)> {
    let mut file = match OpenOptions::new().read(true).append(true).open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            tracing::info!(report = %path.display(), "no report yet, starting a fresh run");
            return Ok((DoneSet::default(), create(path)?));
        }
        Err(e) => {
            return Err(e).with_context(|| format!("cannot open report {}", path.display()));
        }
    };
    let (done, good_len, total_len) =
        read_done(&mut file).with_context(|| format!("cannot read report {}", path.display()))?;
    if good_len < total_len {
        tracing::warn!(
            report = %path.display(),
            bytes = total_len - good_len,
            "dropping the torn last line of the report"
        );
        file.set_len(good_len)
            .with_context(|| format!("cannot repair report {}", path.display()))?;
    }
    file.seek(SeekFrom::End(0))
        .with_context(|| format!("cannot open report {}", path.display()))?;
    Ok((
        done,
        ReportWriter {
            out: BufWriter::new(file),
        },
    ))
}

/// Reads a report: the rows done, the length up to the end of the last complete line, and the
/// whole length.
fn read_done(file: &mut File) -> std::io::Result<(DoneSet, u64, u64)> {
    /// Only the fields resume needs.
    #[derive(Deserialize)]
    struct Entry {
        line: u64,
        id: Option<String>,
        result: Outcome,
        #[serde(default)]
        fields: Option<FieldSet>,
    }

    file.seek(SeekFrom::Start(0))?;
    let mut reader = BufReader::with_capacity(64 * 1024, &*file);
    let mut rows = Vec::new();
    let mut buf = Vec::new();
    let (mut good_len, mut total_len) = (0u64, 0u64);
    let mut unreadable = 0u64;
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf)?;
        if n == 0 {
            break;
        }
        total_len += n as u64;
        if buf.last() != Some(&b'\n') {
            break; // torn: the process died while writing it
        }
        good_len = total_len;
        match serde_json::from_slice::<Entry>(&buf) {
            Ok(Entry {
                line,
                id: Some(id),
                result,
                fields,
            }) => {
                let fields = match (result, fields) {
                    (Outcome::Ok | Outcome::Superseded, Some(fields)) => fields,
                    // A report written before fields were recorded: assume the row set every
                    // field, so that no earlier row sent again overwrites what it set.
                    (Outcome::Ok, None) => FieldSet::all(),
                    (Outcome::Superseded, None) => FieldSet::EMPTY,
                    _ => continue,
                };
                rows.push((line, id_hash(&id), fields));
            }
            Ok(_) => {}
            Err(_) => unreadable += 1,
        }
    }
    if unreadable > 0 {
        tracing::warn!(lines = unreadable, "ignoring unreadable report lines");
    }
    Ok((DoneSet::from_rows(rows), good_len, total_len))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(line: u64, id: &str) -> ReportLine {
        ReportLine {
            attempts: 1,
            ..ReportLine::new(line, Some(id.to_string()), Outcome::Ok)
        }
    }

    fn set(names: &[&str]) -> FieldSet {
        FieldSet::from_names(names.iter().copied())
    }

    #[test]
    fn resume_knows_the_fields_later_done_rows_of_a_contact_set() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.jsonl");
        let text = concat!(
            "{\"line\":2,\"id\":\"ct_1\",\"result\":\"ok\",\"fields\":[\"name\"],\"attempts\":1}\n",
            "{\"line\":5,\"id\":\"ct_1\",\"result\":\"ok\",\"fields\":[\"email\",\"phone\"],\"attempts\":1}\n",
            "{\"line\":7,\"id\":\"ct_1\",\"result\":\"superseded\",\"fields\":[],\"attempts\":0}\n",
            "{\"line\":6,\"id\":\"ct_1\",\"result\":\"error\",\"fields\":[\"country\"],\"attempts\":1}\n",
            "{\"line\":3,\"id\":\"ct_2\",\"result\":\"ok\",\"fields\":[\"type\"],\"attempts\":1}\n",
            "{\"line\":9,\"id\":\"ct_old\",\"result\":\"ok\",\"attempts\":1}\n",
        );
        std::fs::write(&path, text).unwrap();
        let (done, _) = resume(&path).unwrap();
        assert_eq!(done.len(), 5);
        assert!(done.contains(7, "ct_1"), "superseded counts as done");
        assert!(!done.contains(6, "ct_1"));
        assert_eq!(done.set_later(1, "ct_1"), set(&["name", "email", "phone"]));
        assert_eq!(done.set_later(2, "ct_1"), set(&["email", "phone"]));
        assert_eq!(done.set_later(4, "ct_1"), set(&["email", "phone"]));
        assert_eq!(done.set_later(6, "ct_1"), FieldSet::EMPTY);
        assert_eq!(done.set_later(100, "ct_1"), FieldSet::EMPTY);
        assert_eq!(done.set_later(1, "ct_2"), set(&["type"]));
        assert_eq!(done.set_later(1, "ct_3"), FieldSet::EMPTY);
        // A line from an older report, without fields: assumed to set every field.
        assert_eq!(done.set_later(8, "ct_old"), FieldSet::all());
    }

    #[test]
    fn resume_reads_done_rows_and_cuts_a_torn_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.jsonl");
        {
            let mut w = create(&path).unwrap();
            w.write(&ok(3, "ct_3")).unwrap();
            w.write(&ok(1, "ct_1")).unwrap();
            let failed = ReportLine::failed(
                2,
                Some("ct_2".into()),
                None,
                &nateq_api::Error::Config("x".into()),
                1,
            );
            w.write(&failed).unwrap();
        }
        let mut text = std::fs::read_to_string(&path).unwrap();
        let intact = text.len();
        text.push_str("{\"line\":4,\"id\":\"ct_4\",\"res");
        std::fs::write(&path, &text).unwrap();

        let (done, mut w) = resume(&path).unwrap();
        assert_eq!(done.len(), 2);
        assert!(done.contains(1, "ct_1"));
        assert!(!done.contains(2, "ct_2"));
        assert!(!done.contains(3, "ct_other"));
        assert!(done.contains(3, "ct_3"));
        assert!(!done.contains(4, "ct_4"));
        w.write(&ok(4, "ct_4")).unwrap();
        drop(w);
        let after = std::fs::read_to_string(&path).unwrap();
        assert_eq!(&after[..intact], &text[..intact]);
        assert_eq!(
            &after[intact..],
            "{\"line\":4,\"id\":\"ct_4\",\"result\":\"ok\",\"attempts\":1}\n"
        );
    }

    #[test]
    fn a_report_is_never_overwritten_without_resume() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.jsonl");
        create(&path).unwrap().write(&ok(1, "ct_1")).unwrap();
        let err = create(&path).unwrap_err();
        assert!(err.to_string().contains("pass --resume"), "{err}");
        let (done, _) = resume(&dir.path().join("missing.jsonl")).unwrap();
        assert_eq!(done.len(), 0);
    }
}
