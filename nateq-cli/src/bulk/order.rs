//! Per-contact order: at most one row of a contact is in flight; its later rows wait in a queue
//! of that contact, in input order, while the rows of other contacts go ahead.

use std::collections::{HashMap, VecDeque};

/// A row that belongs to one contact.
pub trait Keyed {
    /// The contact's id.
    fn key(&self) -> &str;
}

/// The contacts with a row in flight, each with the rows of it that wait their turn. A contact
/// with nothing in flight has no entry, so memory follows the rows in flight or waiting, not
/// the number of distinct contacts.
#[derive(Debug)]
pub struct Lanes<T> {
    busy: HashMap<String, VecDeque<T>>,
    waiting: usize,
}

impl<T> Default for Lanes<T> {
    fn default() -> Self {
        Lanes {
            busy: HashMap::new(),
            waiting: 0,
        }
    }
}

impl<T: Keyed> Lanes<T> {
    /// Takes a row: if no row of its contact is in flight, gives it back to be sent now (and
    /// `id` is busy until [`complete`](Self::complete)); otherwise it waits behind the others.
    pub fn admit(&mut self, row: T) -> Option<T> {
        match self.busy.get_mut(row.key()) {
            Some(queue) => {
                queue.push_back(row);
                self.waiting += 1;
                None
            }
            None => {
                self.busy.insert(row.key().to_string(), VecDeque::new());
                Some(row)
            }
        }
    }

    /// The row of `id` in flight is finished: gives the next row of `id` to send, if one waits
    /// (`id` stays busy); otherwise `id` is free again and forgotten.
    pub fn complete(&mut self, id: &str) -> Option<T> {
        let queue = self.busy.get_mut(id)?;
        match queue.pop_front() {
            Some(next) => {
                self.waiting -= 1;
                Some(next)
            }
            None => {
                self.busy.remove(id);
                None
            }
        }
    }

    /// Takes, in order, up to `max` waiting rows of `id` from the front of its queue, for as
    /// long as `joins` accepts them (`--coalesce`: they ride in the request of the row in
    /// flight). `id` stays busy.
    pub fn take_batch(&mut self, id: &str, max: usize, joins: impl Fn(&T) -> bool) -> Vec<T> {
        let mut taken = Vec::new();
        if let Some(queue) = self.busy.get_mut(id) {
            while taken.len() < max && queue.front().is_some_and(&joins) {
                taken.extend(queue.pop_front());
            }
        }
        self.waiting -= taken.len();
        taken
    }

    /// Puts rows of `id` back at the front of its queue, in their order (a coalesced request
    /// that failed: its rows go again one by one). `id` must be busy; rows of an `id` that is
    /// not are given back.
    pub fn put_back(&mut self, id: &str, rows: Vec<T>) -> Vec<T> {
        let Some(queue) = self.busy.get_mut(id) else {
            return rows;
        };
        self.waiting += rows.len();
        for row in rows.into_iter().rev() {
            queue.push_front(row);
        }
        Vec::new()
    }

    /// Forgets every waiting row (when the run stops early) and returns how many there were.
    /// Rows in flight stay busy until they complete; none of their successors is sent.
    pub fn drop_waiting(&mut self) -> usize {
        let dropped = self.waiting;
        for queue in self.busy.values_mut() {
            *queue = VecDeque::new();
        }
        self.waiting = 0;
        dropped
    }

    /// Rows waiting for a row of the same contact to finish.
    pub fn waiting(&self) -> usize {
        self.waiting
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Keyed for (&'static str, u32) {
        fn key(&self) -> &str {
            self.0
        }
    }

    #[test]
    fn rows_of_one_contact_go_one_at_a_time_in_order_and_others_go_ahead() {
        let mut lanes = Lanes::default();
        assert_eq!(lanes.admit(("a", 1)), Some(("a", 1)));
        assert_eq!(lanes.admit(("a", 2)), None);
        assert_eq!(lanes.admit(("a", 3)), None);
        // A hot contact does not hold back the others.
        assert_eq!(lanes.admit(("b", 4)), Some(("b", 4)));
        assert_eq!((lanes.busy.len(), lanes.waiting()), (2, 2));
        assert_eq!(lanes.complete("a"), Some(("a", 2)));
        assert_eq!(lanes.admit(("a", 5)), None);
        assert_eq!(lanes.complete("b"), None);
        assert_eq!(lanes.complete("a"), Some(("a", 3)));
        assert_eq!(lanes.complete("a"), Some(("a", 5)));
        assert_eq!(lanes.complete("a"), None);
        // Nothing in flight, nothing waiting: no state is left.
        assert_eq!((lanes.busy.len(), lanes.waiting()), (0, 0));
        assert_eq!(lanes.complete("a"), None);
        assert_eq!(lanes.admit(("a", 6)), Some(("a", 6)));
    }

    #[test]
    fn a_batch_takes_the_waiting_rows_in_order_and_put_back_restores_them() {
        let mut lanes = Lanes::default();
        assert_eq!(lanes.admit(("a", 1)), Some(("a", 1)));
        for n in 2..=6 {
            assert_eq!(lanes.admit(("a", n)), None);
        }
        assert_eq!(lanes.admit(("b", 7)), Some(("b", 7)));
        // Up to the maximum, and only while the rows join.
        assert_eq!(lanes.take_batch("a", 2, |_| true), [("a", 2), ("a", 3)]);
        assert_eq!(lanes.waiting(), 3);
        assert_eq!(lanes.take_batch("a", 9, |r| r.1 != 5), [("a", 4)]);
        assert_eq!(lanes.take_batch("b", 9, |_| true), []);
        assert_eq!(lanes.take_batch("nobody", 9, |_| true), []);
        assert_eq!(lanes.waiting(), 2);
        // Back at the front, in their order, before the rows still waiting.
        assert!(lanes.put_back("a", vec![("a", 2), ("a", 3)]).is_empty());
        assert_eq!(lanes.waiting(), 4);
        assert_eq!(lanes.complete("a"), Some(("a", 2)));
        assert_eq!(lanes.complete("a"), Some(("a", 3)));
        assert_eq!(lanes.complete("a"), Some(("a", 5)));
        assert_eq!(lanes.complete("a"), Some(("a", 6)));
        assert_eq!(lanes.complete("a"), None);
        assert_eq!(lanes.waiting(), 0);
        // A contact with nothing in flight takes nothing back.
        assert_eq!(lanes.put_back("a", vec![("a", 8)]), [("a", 8)]);
        assert_eq!(lanes.waiting(), 0);
    }

    #[test]
    fn a_stop_drops_the_waiting_rows_but_not_those_in_flight() {
        let mut lanes = Lanes::default();
        assert_eq!(lanes.admit(("a", 1)), Some(("a", 1)));
        assert_eq!(lanes.admit(("a", 2)), None);
        assert_eq!(lanes.admit(("b", 3)), Some(("b", 3)));
        assert_eq!(lanes.admit(("b", 4)), None);
        assert_eq!(lanes.drop_waiting(), 2);
        assert_eq!(lanes.complete("a"), None);
        assert_eq!(lanes.complete("b"), None);
        assert_eq!((lanes.busy.len(), lanes.waiting()), (0, 0));
    }
}
