//! The request journal: the last requests to `/api/v1`, in a bounded ring per organisation,
//! oldest first.
//!
//! Each organisation has a ring of its own, so one organisation's traffic never evicts
//! another's entries; requests without a valid key belong to no organisation and go to a ring
//! of their own, which no key can read.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use axum::http::Method;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How many requests the journal keeps when nothing else is asked for.
pub const DEFAULT_JOURNAL_CAPACITY: usize = 1_000;

/// The most requests `--journal` may ask the journal to keep per organisation.
pub const MAX_JOURNAL_CAPACITY: usize = 1_000_000;

/// The path prefix of the contact route, whose requests are recorded with their id only.
const CONTACT_PATH: &str = "/api/v1/contacts/";

/// The most bytes of a request body the journal keeps; a longer body is kept as the text of its
/// first bytes, with [`JournalEntry::body_truncated`] set.
pub const MAX_JOURNAL_BODY_BYTES: usize = 8 * 1024;

/// One request to `/api/v1`, as `GET /_emulator/requests` lists it.
///
/// ```json
/// { "method": "PUT", "path": "/api/v1/contacts/ct_demo_1", "contactId": "ct_demo_1",
///   "status": 200, "body": {"name": "Ada"}, "bodyTruncated": false, "errorCode": null,
///   "keyId": "key_demo_full", "organizationId": "org_demo", "fault": null,
///   "receivedAt": "2026-01-01T12:00:00.123Z", "durationMs": 2 }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JournalEntry {
    /// The HTTP method.
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The contact id of the path, if the path names one.
    pub contact_id: Option<String>,
    /// The status answered, or `None` when no response was sent (a dropped connection, or a
    /// client that went away first).
    pub status: Option<u16>,
    /// The request body: its JSON if it is JSON, else its text (invalid UTF-8 replaced); `None`
    /// when the body was not read (for example a 401, or a 413 refused from its length).
    pub body: Option<Value>,
    /// Whether the body was longer than [`MAX_JOURNAL_BODY_BYTES`] and is kept as truncated text.
    pub body_truncated: bool,
    /// `error.code` of an error response.
    pub error_code: Option<String>,
    /// The id of the API key that was used (never the secret), if it was valid.
    pub key_id: Option<String>,
    /// The organisation of that key; `None` without a valid key.
    pub organization_id: Option<String>,
    /// The injected fault, if any: a fault kind's name such as `503` or `drop`.
    pub fault: Option<String>,
    /// When the request was received, RFC 3339 in UTC with milliseconds.
    pub received_at: String,
    /// How long it took to answer (or to give up), in whole milliseconds.
    pub duration_ms: u64,
}

/// The ring of one organisation (or of the requests without a valid key).
#[derive(Debug)]
pub(crate) struct Journal {
    capacity: usize,
    /// The organisation whose requests it keeps; `None` for requests without a valid key.
    organization_id: Option<String>,
    shared: Arc<Shared>,
    records: Mutex<VecDeque<Record>>,
}

/// What every ring of one emulator shares: the order requests were received in, and the key
/// ids (a record names its key by index).
#[derive(Debug)]
pub(crate) struct Shared {
    next: AtomicU64,
    key_ids: Vec<String>,
}

/// A request being handled: recorded when finished, or, if its future is dropped first (a
/// dropped connection, a client that gave up), recorded without a status.
#[derive(Debug)]
pub(crate) struct Pending<'a> {
    journal: &'a Journal,
    started: Instant,
    record: Option<Record>,
}

/// What is kept of one request: as little work as possible while it is handled; the body is
/// decoded and the time formatted only when the journal is read.
#[derive(Debug)]
struct Record {
    sequence: u64,
    method: Method,
    /// The path, unless it is the contact route's path of `contact_id` (most requests).
    path: Option<Box<str>>,
    contact_id: Option<Box<str>>,
    status: Option<u16>,
    body: Option<Box<[u8]>>,
    body_truncated: bool,
    error_code: Option<&'static str>,
    /// An index into the shared key ids.
    key: Option<u32>,
    fault: Option<&'static str>,
    received_at: SystemTime,
    duration: Duration,
}

impl Shared {
    pub(crate) fn new(key_ids: Vec<String>) -> Arc<Self> {
        Arc::new(Self {
            next: AtomicU64::new(0),
            key_ids,
        })
    }
}

impl Journal {
    pub(crate) fn new(
        capacity: usize,
        organization_id: Option<String>,
        shared: Arc<Shared>,
    ) -> Self {
        Self {
            capacity,
            organization_id,
            shared,
            records: Mutex::new(VecDeque::with_capacity(capacity.min(1024))),
        }
    }

    /// Starts an entry for a request received now; `None` when the journal keeps nothing.
    pub(crate) fn start(
        &self,
        method: &Method,
        path: &str,
        contact_id: Option<&str>,
        key: Option<u32>,
    ) -> Option<Pending<'_>> {
        if self.capacity == 0 {
            return None;
        }
        let usual = contact_id.is_some_and(|id| {
            path.strip_prefix(CONTACT_PATH)
                .is_some_and(|rest| rest == id)
        });
        Some(Pending {
            journal: self,
            started: Instant::now(),
            record: Some(Record {
                sequence: self.shared.next.fetch_add(1, Ordering::Relaxed),
                method: method.clone(),
                path: (!usual).then(|| path.into()),
                contact_id: contact_id.map(Into::into),
                status: None,
                body: None,
                body_truncated: false,
                error_code: None,
                key,
                fault: None,
                received_at: SystemTime::now(),
                duration: Duration::ZERO,
            }),
        })
    }

    /// The entries, oldest first: those of `contact_id` only if given, the last `limit` if given.
    pub(crate) fn list(&self, contact_id: Option<&str>, limit: Option<usize>) -> Vec<JournalEntry> {
        self.sequenced(contact_id, limit)
            .into_iter()
            .map(|(_, entry)| entry)
            .collect()
    }

    /// [`Journal::list`], each entry with its place in the order requests were received.
    pub(crate) fn sequenced(
        &self,
        contact_id: Option<&str>,
        limit: Option<usize>,
    ) -> Vec<(u64, JournalEntry)> {
        let records = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        let matching: Vec<&Record> = records
            .iter()
            .filter(|r| contact_id.is_none_or(|id| r.contact_id.as_deref() == Some(id)))
            .collect();
        let skip = limit.map_or(0, |n| matching.len().saturating_sub(n));
        matching
            .into_iter()
            .skip(skip)
            .map(|r| (r.sequence, self.entry(r)))
            .collect()
    }

    pub(crate) fn clear(&self) {
        self.records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// Keeps `record` in the order the requests were received, dropping the oldest beyond the
    /// capacity.
    fn record(&self, record: Record) {
        let mut records = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        // Usually the newest; a request that finished after a later one goes back a little.
        let at = records
            .iter()
            .rposition(|r| r.sequence < record.sequence)
            .map_or(0, |i| i + 1);
        records.insert(at, record);
        while records.len() > self.capacity {
            records.pop_front();
        }
    }
}

impl Journal {
    fn entry(&self, record: &Record) -> JournalEntry {
        let body = record.body.as_deref().map(|bytes| {
            if record.body_truncated {
                Value::String(String::from_utf8_lossy(bytes).into_owned())
            } else {
                serde_json::from_slice(bytes)
                    .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
            }
        });
        let path = match (&record.path, &record.contact_id) {
            (Some(path), _) => path.to_string(),
            (None, Some(id)) => format!("{CONTACT_PATH}{id}"),
            (None, None) => String::new(),
        };
        let key_id = record
            .key
            .and_then(|k| self.shared.key_ids.get(k as usize))
            .cloned();
        JournalEntry {
            method: record.method.as_str().to_owned(),
            path,
            contact_id: record.contact_id.as_deref().map(str::to_owned),
            status: record.status,
            body,
            body_truncated: record.body_truncated,
            error_code: record.error_code.map(str::to_owned),
            organization_id: self.organization_id.clone(),
            key_id,
            fault: record.fault.map(str::to_owned),
            received_at: humantime::format_rfc3339_millis(record.received_at).to_string(),
            duration_ms: u64::try_from(record.duration.as_millis()).unwrap_or(u64::MAX),
        }
    }
}

impl Pending<'_> {
    pub(crate) fn fault(&mut self, name: &'static str) {
        if let Some(record) = &mut self.record {
            record.fault = Some(name);
        }
    }

    /// Keeps (a copy of) the body, at most [`MAX_JOURNAL_BODY_BYTES`] of it.
    pub(crate) fn body(&mut self, body: &Bytes) {
        if let Some(record) = &mut self.record {
            let truncated = body.len() > MAX_JOURNAL_BODY_BYTES;
            let kept = body
                .get(..MAX_JOURNAL_BODY_BYTES.min(body.len()))
                .unwrap_or_default();
            record.body = Some(kept.into());
            record.body_truncated = truncated;
        }
    }

    /// Records the answer.
    pub(crate) fn finish(mut self, status: u16, error_code: Option<&'static str>) {
        if let Some(record) = &mut self.record {
            record.status = Some(status);
            record.error_code = error_code;
        }
        // Recorded by `drop`.
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        if let Some(mut record) = self.record.take() {
            record.duration = self.started.elapsed();
            self.journal.record(record);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn ring(capacity: usize) -> Journal {
        Journal::new(
            capacity,
            Some("org_a".to_owned()),
            Shared::new(vec!["key_a".to_owned()]),
        )
    }

    #[test]
    fn the_ring_keeps_the_last_in_received_order() {
        let journal = ring(3);
        let first = journal
            .start(&Method::PUT, "/api/v1/contacts/a", Some("a"), Some(0))
            .unwrap();
        let second = journal
            .start(&Method::PUT, "/api/v1/contacts/b", Some("b"), None)
            .unwrap();
        // The second finishes first; the list is still in received order.
        second.finish(200, None);
        first.finish(404, Some("NOT_FOUND"));
        let ids = |j: &Journal| -> Vec<String> {
            j.list(None, None)
                .into_iter()
                .map(|e| e.contact_id.unwrap())
                .collect()
        };
        assert_eq!(ids(&journal), ["a", "b"]);
        let entries = journal.list(None, None);
        assert_eq!(entries[0].path, "/api/v1/contacts/a");
        assert_eq!(entries[0].key_id.as_deref(), Some("key_a"));
        assert_eq!(entries[0].organization_id.as_deref(), Some("org_a"));
        let unattributed = Journal::new(1, None, Shared::new(Vec::new()));
        unattributed
            .start(&Method::PUT, "/p", None, None)
            .unwrap()
            .finish(401, Some("UNAUTHORIZED"));
        assert_eq!(unattributed.list(None, None)[0].organization_id, None);
        for id in ["c", "d"] {
            journal
                .start(&Method::PUT, "/p", Some(id), Some(0))
                .unwrap()
                .finish(200, None);
        }
        assert_eq!(ids(&journal), ["b", "c", "d"]);
        // A path other than the contact route's is kept as it was.
        assert_eq!(journal.list(Some("c"), None)[0].path, "/p");
        assert_eq!(journal.list(None, Some(2)).len(), 2);
        assert_eq!(journal.list(Some("c"), None)[0].status, Some(200));
        assert!(ring(0).start(&Method::PUT, "/p", None, None).is_none());
    }

    #[test]
    fn a_dropped_request_is_recorded_without_a_status() {
        let journal = ring(3);
        let mut pending = journal.start(&Method::PUT, "/p", Some("a"), None).unwrap();
        pending.fault("drop");
        drop(pending);
        let entry = &journal.list(None, None)[0];
        assert_eq!((entry.status, entry.fault.as_deref()), (None, Some("drop")));
    }

    #[test]
    fn bodies_are_json_text_or_truncated_text() {
        let journal = ring(3);
        for body in [
            &b"{\"a\":1}"[..],
            b"not json",
            &[b'x'; MAX_JOURNAL_BODY_BYTES + 5],
        ] {
            let mut pending = journal.start(&Method::PUT, "/p", None, None).unwrap();
            pending.body(&Bytes::copy_from_slice(body));
        }
        let entries = journal.list(None, None);
        assert_eq!(entries[0].body, Some(serde_json::json!({ "a": 1 })));
        assert_eq!(entries[1].body, Some(Value::from("not json")));
        assert!(!entries[1].body_truncated);
        let Some(Value::String(text)) = &entries[2].body else {
            panic!("{:?}", entries[2].body)
        };
        assert_eq!(text.len(), MAX_JOURNAL_BODY_BYTES);
        assert!(entries[2].body_truncated);
    }
}
