//! The `update-many` report: one JSON line per row, written and flushed as each row completes,
//! and read back by `--resume` to skip the rows already done.

use std::collections::hash_map::DefaultHasher;
use std::fs::{File, OpenOptions};
use std::hash::{Hash, Hasher};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::exit::{CliError, Exit};
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
    /// For a row whose request also carried earlier rows of its contact (`--coalesce`): their
    /// lines. The row's `fields` are then every field the request set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coalesced: Option<Vec<u64>>,
    /// For a `coalesced` row: the line of the row whose request carried it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub into: Option<u64>,
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
    /// Applied (`--coalesce`) by the request of a later row of the same contact, whose line
    /// `into` names. Counts as done once that row is recorded `ok`.
    Coalesced,
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
            coalesced: None,
            into: None,
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

/// How often the report is synced to the disk (`fsync`) while rows complete: a power loss
/// costs at most the lines of this last stretch, which `--resume` sends again. Chosen by
/// measurement (see the crate README): a sync per row costs a large share of the throughput,
/// one per second none that can be measured.
pub const SYNC_PERIOD: Duration = Duration::from_secs(1);

/// Appends report lines, each written to the operating system as soon as it completes (a
/// killed process loses at most the line being written), synced to the disk every
/// [`SYNC_PERIOD`] and at the end. The report is locked (an OS file lock) for as long as the
/// writer lives, so a second run on the same report stops at once.
///
/// A line that cannot be written (disk full, I/O error) is cut back out, so the file only ever
/// holds whole lines followed by at most one torn one; the error says which report and why.
#[derive(Debug)]
pub struct ReportWriter {
    file: File,
    path: PathBuf,
    /// Bytes of whole lines in the file.
    good_len: u64,
    /// Lines were written since the last sync.
    unsynced: bool,
    last_sync: Instant,
    /// Set after a failure that leaves the file in an unknown state (a failed sync, or a torn
    /// line that could not be cut): nothing more is written.
    broken: bool,
    /// The sidecar that names this process, removed when the writer is dropped.
    owner: Option<PathBuf>,
    buf: Vec<u8>,
}

impl ReportWriter {
    /// Writes one whole line, syncing the report when [`SYNC_PERIOD`] has passed.
    pub fn write(&mut self, line: &ReportLine) -> Result<(), ReportError> {
        if self.broken {
            return Err(self.error(
                "an earlier write failed",
                std::io::Error::other("the report is not written to any more"),
            ));
        }
        self.buf.clear();
        serde_json::to_writer(&mut self.buf, line)
            .map_err(|e| self.error("cannot encode a line", e.into()))?;
        self.buf.push(b'\n');
        if let Err(e) = self.file.write_all(&self.buf) {
            // Cut what was written of the line, so a later line does not follow a torn one.
            if self.file.set_len(self.good_len).is_err() {
                self.broken = true;
            }
            return Err(self.error("cannot write", e));
        }
        self.good_len += self.buf.len() as u64;
        self.unsynced = true;
        if self.last_sync.elapsed() >= SYNC_PERIOD {
            self.sync()?;
        }
        Ok(())
    }

    /// Syncs the lines written so far to the disk, if any were written since the last sync.
    pub fn sync(&mut self) -> Result<(), ReportError> {
        self.last_sync = Instant::now();
        if !self.unsynced || self.broken {
            return Ok(());
        }
        if let Err(e) = self.file.sync_data() {
            // After a failed sync the kernel may have dropped the pages: trust nothing more.
            self.broken = true;
            return Err(self.error("cannot sync", e));
        }
        self.unsynced = false;
        Ok(())
    }

    fn error(&self, action: &'static str, source: std::io::Error) -> ReportError {
        ReportError {
            path: self.path.clone(),
            action,
            source,
        }
    }

    /// Locks `file` (the report at `path`) for this process, or says which process holds it.
    fn lock(file: File, path: &Path, good_len: u64) -> anyhow::Result<ReportWriter> {
        match fs4::FileExt::try_lock(&file) {
            Ok(()) => {}
            Err(fs4::TryLockError::WouldBlock) => {
                return Err(CliError::new(
                    Exit::ReportInUse,
                    format!(
                        "report {} is in use by another run ({}): wait for it to end, or stop it; \
                         two runs on one report would send rows twice and mix their lines",
                        path.display(),
                        Owner::describe(&owner_path(path)),
                    ),
                )
                .into());
            }
            Err(fs4::TryLockError::Error(e)) => {
                // A filesystem without locks (some network mounts): say so, and go on.
                tracing::warn!(report = %path.display(), error = %e, "cannot lock the report; a second run on it would not be refused");
                eprintln!(
                    "warning: cannot lock report {} ({e}): a second run on it would not be refused",
                    path.display()
                );
            }
        }
        let owner = owner_path(path);
        let owner = match Owner::current().write(&owner) {
            Ok(()) => Some(owner),
            Err(e) => {
                tracing::debug!(path = %owner.display(), error = %e, "cannot write the owner file");
                None
            }
        };
        Ok(ReportWriter {
            file,
            path: path.to_path_buf(),
            good_len,
            unsynced: false,
            last_sync: Instant::now(),
            broken: false,
            owner,
            buf: Vec::with_capacity(256),
        })
    }
}

impl Drop for ReportWriter {
    fn drop(&mut self) {
        // Best effort: the lock itself goes with the file handle, whatever happens.
        if let Some(owner) = self.owner.take() {
            let _ = std::fs::remove_file(owner);
        }
    }
}

/// A report that cannot be written (or synced): names the report and the cause.
#[derive(Debug)]
pub struct ReportError {
    /// The report.
    pub path: PathBuf,
    /// What failed: `cannot write`, `cannot sync`, ...
    pub action: &'static str,
    /// The operating system's error.
    pub source: std::io::Error,
}

impl std::fmt::Display for ReportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} report {}: {}",
            self.action,
            self.path.display(),
            self.source
        )
    }
}

impl std::error::Error for ReportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// The process that holds a report, as written beside it in `REPORT.pid` while it runs:
/// `{"pid":1234,"startedAt":"2026-01-01T12:00:00Z"}`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Owner {
    pid: u32,
    started_at: String,
}

impl Owner {
    fn current() -> Owner {
        Owner {
            pid: std::process::id(),
            started_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        }
    }

    fn write(&self, path: &Path) -> std::io::Result<()> {
        let text = serde_json::to_string(self).map_err(std::io::Error::from)?;
        std::fs::write(path, text + "\n")
    }

    /// `pid 1234, started 2026-01-01T12:00:00Z`, or that it is unknown.
    fn describe(path: &Path) -> String {
        match std::fs::read(path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Owner>(&bytes).ok())
        {
            Some(owner) => format!("pid {}, started {}", owner.pid, owner.started_at),
            None => format!("its pid is unknown: {} is missing", path.display()),
        }
    }
}

/// `REPORT.pid`: the sidecar naming the process that holds `REPORT`.
pub fn owner_path(report: &Path) -> PathBuf {
    let mut name = report.as_os_str().to_owned();
    name.push(".pid");
    PathBuf::from(name)
}

/// Creates a new report, locked; refuses to overwrite a non-empty one (it may be needed to
/// resume). A file that appears meanwhile is never truncated: the report is created with
/// `create_new`, and an existing one is opened without truncation and checked empty only
/// once it is locked.
pub fn create(path: &Path) -> anyhow::Result<ReportWriter> {
    let opened = OpenOptions::new().append(true).create_new(true).open(path);
    let file = match opened {
        Ok(file) => {
            sync_parent(path);
            file
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => OpenOptions::new()
            .append(true)
            .open(path)
            .with_context(|| format!("cannot open report {}", path.display()))?,
        Err(e) => {
            return Err(e).with_context(|| format!("cannot create report {}", path.display()));
        }
    };
    let writer = ReportWriter::lock(file, path, 0)?;
    let len = writer
        .file
        .metadata()
        .with_context(|| format!("cannot read report {}", path.display()))?
        .len();
    if len > 0 {
        return Err(CliError::usage(format!(
            "report {} already exists: pass --resume to continue that run, or remove it",
            path.display()
        ))
        .into());
    }
    Ok(writer)
}

/// Syncs the directory of a file just created, so the file itself survives a power loss.
fn sync_parent(path: &Path) {
    #[cfg(unix)]
    {
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        if let Err(e) = File::open(parent).and_then(|dir| dir.sync_all()) {
            tracing::debug!(dir = %parent.display(), error = %e, "cannot sync the report's directory");
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Opens a report to resume from, locked: reads the rows done, cuts a torn last line (left by
/// a killed run) and returns a writer that appends. A missing report starts a fresh one.
///
/// A line that is not a report line, anywhere but at the torn end, is an error naming it:
/// the row it recorded would be sent again without a word. With `force`, such lines are
/// skipped with a warning (their rows are sent again).
pub fn resume(path: &Path, force: bool) -> anyhow::Result<(DoneSet, ReportWriter)> {
    let file = match OpenOptions::new().read(true).append(true).open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            tracing::info!(report = %path.display(), "no report yet, starting a fresh run");
            return Ok((DoneSet::default(), create(path)?));
        }
        Err(e) => {
            return Err(e).with_context(|| format!("cannot open report {}", path.display()));
        }
    };
    let mut writer = ReportWriter::lock(file, path, 0)?;
    let read = read_done(&mut writer.file, force)
        .with_context(|| format!("cannot read report {}", path.display()))?;
    let ReadReport {
        done,
        good_len,
        total_len,
        corrupt,
    } = match read {
        Ok(read) => read,
        Err(corrupt) => {
            return Err(CliError::new(
                Exit::Other,
                format!(
                    "report {} line {}: {}; the row it recorded is unknown: fix or remove the \
                     line, or pass --resume --force to go on (that row is sent again)",
                    path.display(),
                    corrupt.line,
                    corrupt.reason
                ),
            )
            .into());
        }
    };
    for bad in &corrupt {
        eprintln!(
            "warning: report {} line {}: {}; going on (--force): that row is sent again",
            path.display(),
            bad.line,
            bad.reason
        );
    }
    if good_len < total_len {
        tracing::warn!(
            report = %path.display(),
            bytes = total_len - good_len,
            "dropping the torn last line of the report"
        );
        writer
            .file
            .set_len(good_len)
            .with_context(|| format!("cannot repair report {}", path.display()))?;
    }
    writer.good_len = good_len;
    Ok((done, writer))
}

/// A line of a report that is not a report line.
#[derive(Debug)]
struct Corrupt {
    /// Its line number in the report (1-based).
    line: u64,
    /// Why it cannot be read.
    reason: String,
}

/// What [`read_done`] found.
#[derive(Debug)]
struct ReadReport {
    done: DoneSet,
    /// The length up to the end of the last whole line.
    good_len: u64,
    /// The whole length.
    total_len: u64,
    /// The lines skipped with `force`.
    corrupt: Vec<Corrupt>,
}

/// Reads a report: the rows done, the length up to the end of the last whole line, and the
/// whole length; or (without `force`) the first line that is not a report line.
fn read_done(file: &mut File, force: bool) -> std::io::Result<Result<ReadReport, Corrupt>> {
    /// Only the fields resume needs.
    #[derive(Deserialize)]
    struct Entry {
        line: u64,
        id: Option<String>,
        result: Outcome,
        #[serde(default)]
        fields: Option<FieldSet>,
        #[serde(default)]
        into: Option<u64>,
    }

    file.seek(SeekFrom::Start(0))?;
    let mut reader = BufReader::with_capacity(64 * 1024, &*file);
    let mut rows = Vec::new();
    // Rows coalesced into another row's request: done only if that row is done.
    let mut coalesced = Vec::new();
    let mut carriers = Vec::new();
    let mut buf = Vec::new();
    let (mut good_len, mut total_len) = (0u64, 0u64);
    let mut corrupt = Vec::new();
    let mut number = 0u64;
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf)?;
        if n == 0 {
            break;
        }
        number += 1;
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
                into,
            }) => {
                let hash = id_hash(&id);
                let fields = match (result, fields) {
                    (Outcome::Coalesced, fields) => {
                        if let Some(into) = into {
                            coalesced.push((line, hash, fields.unwrap_or(FieldSet::EMPTY), into));
                        }
                        continue;
                    }
                    (Outcome::Ok | Outcome::Superseded, Some(fields)) => fields,
                    // A report written before fields were recorded: assume the row set every
                    // field, so that no earlier row sent again overwrites what it set.
                    (Outcome::Ok, None) => FieldSet::all(),
                    (Outcome::Superseded, None) => FieldSet::EMPTY,
                    _ => continue,
                };
                if result == Outcome::Ok {
                    carriers.push((hash, line));
                }
                rows.push((line, hash, fields));
            }
            Ok(_) => {}
            Err(e) => {
                let text = String::from_utf8_lossy(&buf);
                let shown: String = text.trim_end().chars().take(80).collect();
                let bad = Corrupt {
                    line: number,
                    reason: format!("not a report line ({e}): {shown:?}"),
                };
                if !force {
                    return Ok(Err(bad));
                }
                corrupt.push(bad);
            }
        }
    }
    carriers.sort_unstable();
    for (line, hash, fields, into) in coalesced {
        if carriers.binary_search(&(hash, into)).is_ok() {
            rows.push((line, hash, fields));
        }
    }
    Ok(Ok(ReadReport {
        done: DoneSet::from_rows(rows),
        good_len,
        total_len,
        corrupt,
    }))
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
        let (done, _) = resume(&path, false).unwrap();
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

    /// A `superseded` line of a report written before fields were recorded: done, and it set
    /// nothing.
    #[test]
    fn an_older_superseded_line_without_fields_is_done_and_sets_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.jsonl");
        std::fs::write(
            &path,
            "{\"line\":3,\"id\":\"ct_1\",\"result\":\"superseded\",\"attempts\":0}\n",
        )
        .unwrap();
        let (done, _) = resume(&path, false).unwrap();
        assert!(done.contains(3, "ct_1"));
        assert_eq!(done.set_later(1, "ct_1"), FieldSet::EMPTY);
    }

    /// The same row recorded done twice (two runs on a report that could not be locked) is
    /// one row, and the fields of both lines count as set.
    #[test]
    fn a_row_recorded_twice_counts_once_with_the_fields_of_both_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.jsonl");
        let text = concat!(
            "{\"line\":1,\"id\":\"ct_1\",\"result\":\"ok\",\"fields\":[\"phone\"],\"attempts\":1}\n",
            "{\"line\":2,\"id\":\"ct_1\",\"result\":\"ok\",\"fields\":[\"name\"],\"attempts\":1}\n",
            "{\"line\":2,\"id\":\"ct_1\",\"result\":\"ok\",\"fields\":[\"email\"],\"attempts\":1}\n",
        );
        std::fs::write(&path, text).unwrap();
        let (done, _) = resume(&path, false).unwrap();
        assert_eq!(done.len(), 2);
        assert!(done.contains(1, "ct_1") && done.contains(2, "ct_1"));
        assert_eq!(done.set_later(1, "ct_1"), set(&["name", "email"]));
        assert_eq!(done.set_later(0, "ct_1"), set(&["phone", "name", "email"]));
    }

    /// Each error is recorded with its kind: `invalid` (refused before sending), `api`,
    /// `network`, `timeout`, or `other`.
    #[test]
    fn a_failed_row_is_recorded_with_the_kind_of_its_error() {
        use nateq_api::Error as E;
        let kind = |error: &E| ReportLine::failed(1, Some("ct_1".into()), None, error, 2).kind;
        let refused = E::Validation(nateq_api::ContactId::new("..").unwrap_err());
        assert_eq!(kind(&refused).as_deref(), Some("invalid"));
        let dropped = E::Connection {
            attempts: 3,
            message: "connection reset".into(),
            transport: None,
        };
        assert_eq!(kind(&dropped).as_deref(), Some("network"));
        let stalled = E::Timeout {
            attempts: 3,
            elapsed: Duration::from_secs(30),
        };
        assert_eq!(kind(&stalled).as_deref(), Some("timeout"));
        let huge = E::ResponseTooLarge {
            status: reqwest::StatusCode::BAD_GATEWAY,
            limit: 1024,
        };
        assert_eq!(kind(&huge).as_deref(), Some("api"));
        assert_eq!(kind(&E::Config("x".into())).as_deref(), Some("other"));
    }

    /// A report that cannot be written names the report, what failed and the cause, and
    /// keeps the operating system's error as its source (for a caller that checks its kind).
    #[test]
    fn a_report_error_names_the_report_and_keeps_the_os_error() {
        let error = ReportError {
            path: PathBuf::from("out/report.jsonl"),
            action: "cannot write",
            source: std::io::Error::from(std::io::ErrorKind::StorageFull),
        };
        assert!(
            error
                .to_string()
                .starts_with("cannot write report out/report.jsonl: "),
            "{error}"
        );
        let source = std::error::Error::source(&error)
            .and_then(|e| e.downcast_ref::<std::io::Error>())
            .map(std::io::Error::kind);
        assert_eq!(source, Some(std::io::ErrorKind::StorageFull));
    }

    /// A report that cannot be opened says whether creating it or opening it failed, and why;
    /// only a missing report starts a fresh one on `--resume`.
    #[test]
    fn a_report_path_that_cannot_be_opened_is_an_error_naming_the_action() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, "").unwrap();
        // Under a regular file: neither created nor opened (not a directory).
        let path = file.join("report.jsonl");
        let err = create(&path).unwrap_err();
        assert!(
            format!("{err:#}").starts_with(&format!("cannot create report {}: ", path.display())),
            "{err:#}"
        );
        let err = resume(&path, false).unwrap_err();
        assert!(
            format!("{err:#}").starts_with(&format!("cannot open report {}: ", path.display())),
            "{err:#}"
        );
    }

    /// A body over the cap is a drift of an applied row only when the answer was a 2xx.
    #[test]
    fn a_body_over_the_cap_is_a_drift_only_on_a_2xx() {
        let huge = |status| nateq_api::Error::ResponseTooLarge {
            status,
            limit: 1024,
        };
        assert_eq!(
            Drift::of(&huge(reqwest::StatusCode::OK)),
            Some(Drift {
                status: 200,
                path: String::new(),
                expected: "a body of at most 1024 bytes".to_owned(),
                actual: "a larger body (not read)".to_owned(),
            })
        );
        assert_eq!(Drift::of(&huge(reqwest::StatusCode::BAD_GATEWAY)), None);
    }

    #[test]
    fn a_coalesced_row_is_done_only_once_its_carrier_is() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.jsonl");
        let text = concat!(
            "{\"line\":4,\"id\":\"ct_1\",\"result\":\"ok\",\"fields\":[\"name\",\"email\"],\"coalesced\":[1,2],\"attempts\":1}\n",
            "{\"line\":1,\"id\":\"ct_1\",\"result\":\"coalesced\",\"fields\":[\"name\"],\"into\":4,\"attempts\":0}\n",
            "{\"line\":2,\"id\":\"ct_1\",\"result\":\"coalesced\",\"fields\":[\"email\"],\"into\":4,\"attempts\":0}\n",
            // Its carrier (line 9) was never recorded: the request may not have been applied.
            "{\"line\":7,\"id\":\"ct_2\",\"result\":\"coalesced\",\"fields\":[\"name\"],\"into\":9,\"attempts\":0}\n",
            // Its carrier failed.
            "{\"line\":5,\"id\":\"ct_3\",\"result\":\"error\",\"fields\":[\"name\"],\"attempts\":1}\n",
            "{\"line\":3,\"id\":\"ct_3\",\"result\":\"coalesced\",\"fields\":[\"name\"],\"into\":5,\"attempts\":0}\n",
            // The carrier's line, but another contact's.
            "{\"line\":8,\"id\":\"ct_4\",\"result\":\"coalesced\",\"fields\":[\"name\"],\"into\":4,\"attempts\":0}\n",
        );
        std::fs::write(&path, text).unwrap();
        let (done, _) = resume(&path, false).unwrap();
        assert!(done.contains(1, "ct_1") && done.contains(2, "ct_1") && done.contains(4, "ct_1"));
        assert!(!done.contains(7, "ct_2"));
        assert!(!done.contains(3, "ct_3"));
        assert!(!done.contains(8, "ct_4"));
        assert_eq!(done.len(), 3);
        // A row of ct_1 before the carried ones leaves alone what they set.
        assert_eq!(done.set_later(0, "ct_1"), set(&["name", "email"]));
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

        let (done, mut w) = resume(&path, false).unwrap();
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
        let (done, _) = resume(&dir.path().join("missing.jsonl"), false).unwrap();
        assert_eq!(done.len(), 0);
    }

    /// A writer syncs only when lines were written since the last sync, and after a failed
    /// sync it tries nothing more (the run stops on the first error; the sync at the end adds
    /// no second one). `/dev/null` takes writes, and refuses `fdatasync` (EINVAL).
    #[cfg(target_os = "linux")]
    #[test]
    fn a_sync_happens_only_for_new_lines_and_never_after_one_failed() {
        let writer = |unsynced| ReportWriter {
            file: OpenOptions::new().append(true).open("/dev/null").unwrap(),
            path: PathBuf::from("/dev/null"),
            good_len: 0,
            unsynced,
            last_sync: Instant::now(),
            broken: false,
            owner: None,
            buf: Vec::new(),
        };
        // Nothing written since the last sync: nothing to sync, so no error.
        writer(false).sync().unwrap();
        let mut w = writer(false);
        w.write(&ok(1, "ct_1")).unwrap();
        let error = w.sync().unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("cannot sync report /dev/null"),
            "{error}"
        );
        // Broken now: no line is written, and no sync is tried again.
        assert!(w.write(&ok(2, "ct_2")).is_err());
        w.sync().unwrap();
    }
}
