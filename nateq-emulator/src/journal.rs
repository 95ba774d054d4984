//! The request journal: the last requests to `/api/v1`, in a bounded ring, oldest first.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How many requests the journal keeps when nothing else is asked for.
pub const DEFAULT_JOURNAL_CAPACITY: usize = 1_000;

/// The most bytes of a request body the journal keeps; a longer body is kept as the text of its
/// first bytes, with [`JournalEntry::body_truncated`] set.
pub const MAX_JOURNAL_BODY_BYTES: usize = 8 * 1024;

/// One request to `/api/v1`, as `GET /_emulator/requests` lists it.
///
/// ```json
/// { "method": "PUT", "path": "/api/v1/contacts/ct_demo_1", "contactId": "ct_demo_1",
///   "status": 200, "body": {"name": "Ada"}, "bodyTruncated": false, "errorCode": null,
///   "keyId": "key_demo_full", "fault": null,
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
    /// The injected fault, if any: a fault kind's name such as `503` or `drop`.
    pub fault: Option<String>,
    /// When the request was received, RFC 3339 in UTC with milliseconds.
    pub received_at: String,
    /// How long it took to answer (or to give up), in whole milliseconds.
    pub duration_ms: u64,
}

/// The ring shared by every request.
#[derive(Debug)]
pub(crate) struct Journal {
    capacity: usize,
    next: AtomicU64,
    entries: Mutex<VecDeque<(u64, JournalEntry)>>,
}

/// A request being handled: recorded when finished, or, if its future is dropped first (a
/// dropped connection, a client that gave up), recorded without a status.
#[derive(Debug)]
pub(crate) struct Pending {
    journal: Arc<Journal>,
    sequence: u64,
    started: Instant,
    entry: Option<JournalEntry>,
}

impl Journal {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            next: AtomicU64::new(0),
            entries: Mutex::new(VecDeque::with_capacity(capacity.min(1024))),
        }
    }

    /// Starts an entry for a request received now; `None` when the journal keeps nothing.
    pub(crate) fn start(
        self: &Arc<Self>,
        method: &str,
        path: &str,
        contact_id: Option<&str>,
    ) -> Option<Pending> {
        if self.capacity == 0 {
            return None;
        }
        Some(Pending {
            journal: Arc::clone(self),
            sequence: self.next.fetch_add(1, Ordering::Relaxed),
            started: Instant::now(),
            entry: Some(JournalEntry {
                method: method.to_owned(),
                path: path.to_owned(),
                contact_id: contact_id.map(str::to_owned),
                status: None,
                body: None,
                body_truncated: false,
                error_code: None,
                key_id: None,
                fault: None,
                received_at: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
                duration_ms: 0,
            }),
        })
    }

    /// The entries, oldest first: those of `contact_id` only if given, the last `limit` if given.
    pub(crate) fn list(&self, contact_id: Option<&str>, limit: Option<usize>) -> Vec<JournalEntry> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let matching: Vec<&JournalEntry> = entries
            .iter()
            .map(|(_, e)| e)
            .filter(|e| contact_id.is_none_or(|id| e.contact_id.as_deref() == Some(id)))
            .collect();
        let skip = limit.map_or(0, |n| matching.len().saturating_sub(n));
        matching.into_iter().skip(skip).cloned().collect()
    }

    pub(crate) fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// Keeps `entry` in the order the requests were received, dropping the oldest beyond the
    /// capacity.
    fn record(&self, sequence: u64, entry: JournalEntry) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        // Usually the newest; a request that finished after a later one goes back a little.
        let at = entries
            .iter()
            .rposition(|(s, _)| *s < sequence)
            .map_or(0, |i| i + 1);
        entries.insert(at, (sequence, entry));
        while entries.len() > self.capacity {
            entries.pop_front();
        }
    }
}

impl Pending {
    pub(crate) fn key_id(&mut self, id: &str) {
        if let Some(entry) = &mut self.entry {
            entry.key_id = Some(id.to_owned());
        }
    }

    pub(crate) fn fault(&mut self, name: &str) {
        if let Some(entry) = &mut self.entry {
            entry.fault = Some(name.to_owned());
        }
    }

    /// Keeps the body: its JSON, or its text when it is not JSON or too long.
    pub(crate) fn body(&mut self, body: &Bytes) {
        let Some(entry) = &mut self.entry else {
            return;
        };
        if body.len() > MAX_JOURNAL_BODY_BYTES {
            let head = body.get(..MAX_JOURNAL_BODY_BYTES).unwrap_or(body);
            entry.body = Some(Value::String(String::from_utf8_lossy(head).into_owned()));
            entry.body_truncated = true;
        } else {
            entry.body = Some(
                serde_json::from_slice(body)
                    .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned())),
            );
        }
    }

    /// Records the answer.
    pub(crate) fn finish(mut self, status: u16, error_code: Option<&str>) {
        if let Some(entry) = &mut self.entry {
            entry.status = Some(status);
            entry.error_code = error_code.map(str::to_owned);
        }
        // Recorded by `drop`.
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let Some(mut entry) = self.entry.take() {
            entry.duration_ms =
                u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
            self.journal.record(self.sequence, entry);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn the_ring_keeps_the_last_in_received_order() {
        let journal = Arc::new(Journal::new(3));
        let first = journal
            .start("PUT", "/api/v1/contacts/a", Some("a"))
            .unwrap();
        let second = journal
            .start("PUT", "/api/v1/contacts/b", Some("b"))
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
        for id in ["c", "d"] {
            journal
                .start("PUT", "/p", Some(id))
                .unwrap()
                .finish(200, None);
        }
        assert_eq!(ids(&journal), ["b", "c", "d"]);
        assert_eq!(journal.list(None, Some(2)).len(), 2);
        assert_eq!(journal.list(Some("c"), None)[0].status, Some(200));
        assert!(
            Journal::new(0)
                .clone_arc()
                .start("PUT", "/p", None)
                .is_none()
        );
    }

    #[test]
    fn a_dropped_request_is_recorded_without_a_status() {
        let journal = Arc::new(Journal::new(3));
        let mut pending = journal.start("PUT", "/p", Some("a")).unwrap();
        pending.fault("drop");
        drop(pending);
        let entry = &journal.list(None, None)[0];
        assert_eq!((entry.status, entry.fault.as_deref()), (None, Some("drop")));
    }

    #[test]
    fn bodies_are_json_text_or_truncated_text() {
        let journal = Arc::new(Journal::new(3));
        for body in [
            &b"{\"a\":1}"[..],
            b"not json",
            &[b'x'; MAX_JOURNAL_BODY_BYTES + 5],
        ] {
            let mut pending = journal.start("PUT", "/p", None).unwrap();
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

    impl Journal {
        fn clone_arc(self) -> Arc<Self> {
            Arc::new(self)
        }
    }
}
