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
