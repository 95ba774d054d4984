//! The `update-many` report: one JSON line per row, written and flushed as each row completes,
//! and read back by `--resume` to skip the rows already done.

use std::collections::hash_map::DefaultHasher;
use std::fs::{File, OpenOptions};
use std::hash::{Hash, Hasher};
use std::io::{BufRead, BufReader, BufWriter, Seek, SeekFrom, Write};
use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};

/// One line of the report.
///
/// ```json
/// {"line":1,"id":"ct_1","result":"ok","attempts":1}
/// {"line":2,"id":"ct_9","result":"error","kind":"api","status":404,"code":"NOT_FOUND","message":"contact ct_9 not found","attempts":1}
/// {"line":3,"id":null,"result":"error","kind":"invalid","message":"missing id","attempts":0}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportLine {
    /// Line number of the row in the input (1-based; for CSV the header is line 1).
    pub line: u64,
    /// The row's contact id, if it has one.
    pub id: Option<String>,
    /// `ok` or `error`.
    pub result: Outcome,
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
    /// Requests sent for this row (0 for a row that was never sent).
    pub attempts: u32,
}

/// The result of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The update was applied.
    Ok,
    /// The update was not applied (or its outcome is unknown).
    Error,
}

impl ReportLine {
    /// The line of a row whose update failed (or was refused before sending).
    pub fn failed(line: u64, id: Option<String>, error: &nateq_api::Error, attempts: u32) -> Self {
        use nateq_api::Error as E;
        let kind = match error {
            E::Validation(_) => "invalid",
            E::Api(_) | E::Decode { .. } | E::ResponseTooLarge { .. } | E::Redirect { .. } => "api",
            E::Connection { .. } => "network",
            E::Timeout { .. } => "timeout",
            _ => "other",
        };
        let message = match error {
            E::Api(api) => api.message.clone(),
            other => other.to_string(),
        };
        ReportLine {
            line,
            id,
            result: Outcome::Error,
            kind: Some(kind.to_string()),
            status: error.status().map(|s| s.as_u16()),
            code: error.code().map(str::to_string),
            message: Some(message),
            attempts,
        }
    }
}

/// The rows a report records as done: (line, hash of the id), sorted by line. Rows arrive in
/// line order, so a cursor walks it once.
#[derive(Debug, Default)]
pub struct DoneSet {
    entries: Vec<(u64, u64)>,
    cursor: usize,
}

impl DoneSet {
    /// Whether the row at `line` with this `id` is done. Calls must come in ascending line order.
    pub fn contains(&mut self, line: u64, id: &str) -> bool {
        while self
            .entries
            .get(self.cursor)
            .is_some_and(|&(l, _)| l < line)
        {
            self.cursor += 1;
        }
        let hash = id_hash(id);
        self.entries[self.cursor..]
            .iter()
            .take_while(|&&(l, _)| l == line)
            .any(|&(_, h)| h == hash)
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
    }

    file.seek(SeekFrom::Start(0))?;
    let mut reader = BufReader::with_capacity(64 * 1024, &*file);
    let mut entries = Vec::new();
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
                result: Outcome::Ok,
            }) => entries.push((line, id_hash(&id))),
            Ok(_) => {}
            Err(_) => unreadable += 1,
        }
    }
    if unreadable > 0 {
        tracing::warn!(lines = unreadable, "ignoring unreadable report lines");
    }
    entries.sort_unstable();
    entries.dedup();
    Ok((DoneSet { entries, cursor: 0 }, good_len, total_len))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(line: u64, id: &str) -> ReportLine {
        ReportLine {
            line,
            id: Some(id.to_string()),
            result: Outcome::Ok,
            kind: None,
            status: None,
            code: None,
            message: None,
            attempts: 1,
        }
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
                &nateq_api::Error::Config("x".into()),
                1,
            );
            w.write(&failed).unwrap();
        }
        let mut text = std::fs::read_to_string(&path).unwrap();
        let intact = text.len();
        text.push_str("{\"line\":4,\"id\":\"ct_4\",\"res");
        std::fs::write(&path, &text).unwrap();

        let (mut done, mut w) = resume(&path).unwrap();
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
