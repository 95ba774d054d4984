//! A contact's activity history: one compact record per changed field, bounded, written as the
//! spec's `Activity` JSON only when a response is built.

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nateq_api::types::Activity;
use serde::ser::{SerializeSeq, SerializeStruct};
use serde::{Serialize, Serializer};

use crate::seed::ApiKey;

/// How many activities a contact keeps when nothing else is asked for.
pub const DEFAULT_ACTIVITY_HISTORY: usize = 1_000;
/// The most activities a contact may be asked to keep.
pub const MAX_ACTIVITY_HISTORY: usize = 100_000;
/// How many activities a response carries when nothing else is asked for.
pub const DEFAULT_ACTIVITIES_PER_RESPONSE: usize = 50;
/// The most activities a response may be asked to carry.
pub const MAX_ACTIVITIES_PER_RESPONSE: usize = 1_000;

/// The length of an RFC 3339 time stamp with microseconds: `2026-11-27T10:00:00.000000Z`.
const STAMP_LEN: usize = 27;

/// An RFC 3339 time stamp in UTC with microseconds, kept inline.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp([u8; STAMP_LEN]);

/// Hands out time stamps, each later than every earlier one.
#[derive(Debug, Default)]
pub(crate) struct Clock {
    last_micros: AtomicU64,
}

/// One changed field: what an activity says, without its repeated parts (the contact's id, the
/// key's id and name, the description and metadata, which follow from the field).
#[derive(Debug)]
pub(crate) struct Change {
    /// The activity is `act_{seq}`.
    pub seq: u64,
    /// The field's API name.
    pub field: &'static str,
    /// The key that made the change, as an index into the emulator's keys.
    pub actor: u32,
    pub at: Stamp,
    pub old: Option<Box<str>>,
    pub new: Box<str>,
}

/// The activities of a contact that was written: the seed's own activities (of which the oldest
/// `skipped` have been dropped) followed by the changes made since, at most `keep` in all.
#[derive(Debug, Default)]
pub(crate) struct History {
    skipped: usize,
    changes: VecDeque<Change>,
}

/// One activity of a history.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Entry<'a> {
    Seeded(&'a Activity),
    Change(&'a Change),
}

/// The most recent `count` activities of a contact, oldest first, as a JSON array of the spec's
/// `Activity`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Recent<'a> {
    pub seeded: &'a [Activity],
    pub history: Option<&'a History>,
    /// How many activities a contact keeps.
    pub keep: usize,
    /// How many of the most recent ones to show.
    pub count: usize,
    pub contact_id: &'a str,
    pub keys: &'a [ApiKey],
}

impl Stamp {
    pub(crate) fn as_str(&self) -> &str {
        // Only ASCII is ever written (see `Clock::next`).
        std::str::from_utf8(&self.0).unwrap_or("1970-01-01T00:00:00.000000Z")
    }
}

impl fmt::Debug for Stamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Stamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl Clock {
    /// Now, or a microsecond after the last stamp handed out if the clock has not moved on.
    pub(crate) fn next(&self) -> Stamp {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX / 2));
        let mut last = self.last_micros.load(Ordering::Relaxed);
        let micros = loop {
            let next = now.max(last.saturating_add(1));
            match self.last_micros.compare_exchange_weak(
                last,
                next,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => break next,
                Err(seen) => last = seen,
            }
        };
        let time = UNIX_EPOCH + Duration::from_micros(micros);
        let mut out = StampWriter {
            buf: [b'0'; STAMP_LEN],
            len: 0,
        };
        // Writing into a fixed buffer of the exact length cannot fail for years 1970 to 9999.
        let _ = fmt::write(
            &mut out,
            format_args!("{}", humantime::format_rfc3339_micros(time)),
        );
        Stamp(out.buf)
    }
}

struct StampWriter {
    buf: [u8; STAMP_LEN],
    len: usize,
}

impl fmt::Write for StampWriter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        let slot = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        slot.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

impl History {
    /// Appends a change, dropping the oldest activity (seeded first) beyond `keep`.
    pub(crate) fn push(&mut self, change: Change, seeded: usize, keep: usize) {
        if self.changes.capacity() == 0 {
            // A contact is often written once: room for one change, not the default four.
            self.changes.reserve_exact(1);
        }
        self.changes.push_back(change);
        while self.len(seeded) > keep {
            if self.skipped < seeded {
                self.skipped += 1;
            } else {
                self.changes.pop_front();
            }
        }
    }

    /// How many activities there are, given the number of seeded ones.
    fn len(&self, seeded: usize) -> usize {
        seeded.saturating_sub(self.skipped) + self.changes.len()
    }
}

impl<'a> Recent<'a> {
    /// The activities shown, oldest first.
    pub(crate) fn entries(&self) -> impl Iterator<Item = Entry<'a>> + use<'a> {
        let (skipped, changes) = match self.history {
            Some(h) => (h.skipped, Some(&h.changes)),
            None => (0, None),
        };
        let seeded = self.seeded.get(skipped..).unwrap_or_default();
        let change_count = changes.map_or(0, VecDeque::len);
        // Seeded activities beyond `keep` are not kept even before the first change.
        let kept = (seeded.len() + change_count).min(self.keep);
        let shown = kept.min(self.count);
        let skip = seeded.len() + change_count - shown;
        seeded
            .iter()
            .map(Entry::Seeded)
            .chain(changes.into_iter().flatten().map(Entry::Change))
            .skip(skip)
    }
}

impl Serialize for Recent<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(None)?;
        for entry in self.entries() {
            match entry {
                Entry::Seeded(activity) => seq.serialize_element(activity)?,
                Entry::Change(change) => seq.serialize_element(&ChangeJson {
                    change,
                    contact_id: self.contact_id,
                    key: self.keys.get(change.actor as usize),
                })?,
            }
        }
        seq.end()
    }
}

/// A change as the spec's `Activity`, property for property (a test holds the two equal).
struct ChangeJson<'a> {
    change: &'a Change,
    contact_id: &'a str,
    key: Option<&'a ApiKey>,
}

/// Serialises as a string through `Display`, without building it first.
struct Shown<T>(T);

impl<T: fmt::Display> Serialize for Shown<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

impl Serialize for ChangeJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let change = self.change;
        let mut s = serializer.serialize_struct("Activity", 11)?;
        if let Some(key) = self.key {
            s.serialize_field("actorId", &key.id)?;
            s.serialize_field("actorName", &key.name)?;
        }
        s.serialize_field("actorType", "api_key")?;
        s.serialize_field("contactId", self.contact_id)?;
        s.serialize_field("createdAt", &change.at)?;
        s.serialize_field(
            "description",
            &Shown(format_args!("{} changed", change.field)),
        )?;
        s.serialize_field("id", &Shown(format_args!("act_{}", change.seq)))?;
        s.serialize_field(
            "metadata",
            &Shown(format_args!(r#"{{"field":"{}"}}"#, change.field)),
        )?;
        s.serialize_field("newValue", &*change.new)?;
        if let Some(old) = &change.old {
            s.serialize_field("oldValue", &**old)?;
        }
        s.serialize_field("updatedAt", &change.at)?;
        s.end()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn change(seq: u64, at: Stamp) -> Change {
        Change {
            seq,
            field: "name",
            actor: 0,
            at,
            old: (seq > 1).then(|| format!("n{}", seq - 1).into()),
            new: format!("n{seq}").into(),
        }
    }

    fn key() -> ApiKey {
        serde_json::from_value(serde_json::json!({
            "id": "key_a", "name": "Key A", "secret": "s", "organizationId": "o",
            "scopes": []
        }))
        .unwrap()
    }

    /// A change's JSON is the generated `Activity`'s JSON, property for property.
    #[test]
    fn a_change_is_written_as_the_generated_activity() {
        let at = Clock::default().next();
        let keys = [key()];
        for seq in [1, 2] {
            let change = change(seq, at);
            let json = serde_json::to_value(ChangeJson {
                change: &change,
                contact_id: "ct_1",
                key: keys.first(),
            })
            .unwrap();
            let generated = Activity {
                id: Some(format!("act_{seq}")),
                contact_id: Some("ct_1".into()),
                actor_id: Some("key_a".into()),
                actor_name: Some("Key A".into()),
                actor_type: Some("api_key".into()),
                description: Some("name changed".into()),
                metadata: Some(r#"{"field":"name"}"#.into()),
                old_value: change.old.as_deref().map(str::to_owned),
                new_value: Some(change.new.to_string()),
                created_at: Some(at.as_str().to_owned()),
                updated_at: Some(at.as_str().to_owned()),
            };
            assert_eq!(json, serde_json::to_value(&generated).unwrap());
        }
    }

    #[test]
    fn stamps_are_rfc3339_micros_and_strictly_increasing() {
        let clock = Clock::default();
        let mut last = clock.next();
        assert_eq!(last.as_str().len(), STAMP_LEN);
        assert!(humantime::parse_rfc3339(last.as_str()).is_ok(), "{last:?}");
        for _ in 0..1000 {
            let next = clock.next();
            assert!(next.as_str() > last.as_str(), "{next:?} after {last:?}");
            last = next;
        }
    }

    /// The history keeps `keep` activities, seeded ones dropped first, and shows the most
    /// recent `count`, oldest first.
    #[test]
    fn the_history_is_bounded_and_shows_the_most_recent() {
        let at = Clock::default().next();
        let seeded: Vec<Activity> = (1..=3)
            .map(|i| Activity {
                id: Some(format!("seeded_{i}")),
                ..Activity::default()
            })
            .collect();
        let keys = [key()];
        let ids = |history: Option<&History>, keep, count| -> Vec<String> {
            let recent = Recent {
                seeded: &seeded,
                history,
                keep,
                count,
                contact_id: "ct_1",
                keys: &keys,
            };
            let json = serde_json::to_value(recent).unwrap();
            json.as_array()
                .unwrap()
                .iter()
                .map(|a| a["id"].as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(ids(None, 10, 10), ["seeded_1", "seeded_2", "seeded_3"]);
        assert_eq!(ids(None, 2, 10), ["seeded_2", "seeded_3"]);
        assert_eq!(ids(None, 10, 1), ["seeded_3"]);
        let mut history = History::default();
        for seq in 1..=4 {
            history.push(change(seq, at), seeded.len(), 5);
        }
        assert_eq!(history.skipped, 2);
        assert_eq!(
            ids(Some(&history), 5, 10),
            ["seeded_3", "act_1", "act_2", "act_3", "act_4"]
        );
        assert_eq!(ids(Some(&history), 5, 2), ["act_3", "act_4"]);
        for seq in 5..=9 {
            history.push(change(seq, at), seeded.len(), 5);
        }
        assert_eq!(
            ids(Some(&history), 5, 10),
            ["act_5", "act_6", "act_7", "act_8", "act_9"]
        );
        assert_eq!(history.changes.len(), 5);
        assert!(ids(Some(&history), 5, 0).is_empty());
    }
}
