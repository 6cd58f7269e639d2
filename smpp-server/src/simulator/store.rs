//! The simulator's memory: the state of each message it accepted (for query_sm),
//! and what waits for a receiver to bind (receipts and MO), both bounded.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use smpp_pdu::{DeliverSm, MessageState};

use crate::blocks::DeliveryReceipt;

/// A message as query_sm reports it: ENROUTE until `due`, then its final state.
/// Nothing runs when it becomes final; the state is worked out when asked.
#[derive(Clone, Debug)]
pub(crate) struct MessageRecord {
    pub(crate) final_state: MessageState,
    /// When it becomes final, on tokio's clock (virtual in tests).
    pub(crate) due: tokio::time::Instant,
    /// The wall-clock time it becomes final, for final_date.
    pub(crate) done: SystemTime,
}

impl MessageRecord {
    /// The state at `now`, and when it became final if it has.
    pub(crate) fn state_at(&self, now: tokio::time::Instant) -> (MessageState, Option<SystemTime>) {
        if now >= self.due { (self.final_state, Some(self.done)) } else { (MessageState::ENROUTE, None) }
    }
}

/// The last `capacity` messages' states, by message number, oldest forgotten first.
///
/// The simulator's ids are consecutive numbers, so this is a ring indexed by
/// number: no hashing and no allocation per message (a submit pays one short lock).
#[derive(Debug)]
pub(crate) struct Messages {
    inner: Mutex<Ring>,
    capacity: usize,
}

#[derive(Debug, Default)]
struct Ring {
    /// The number of the record at the front.
    first: u32,
    records: VecDeque<Option<MessageRecord>>,
}

impl Messages {
    pub(crate) fn new(capacity: usize) -> Self {
        Self { inner: Mutex::new(Ring::default()), capacity: capacity.max(1) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Ring> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records message `n`. Numbers come nearly in order (sessions take them from one
    /// counter and record them a moment later); one far behind the newest is dropped.
    pub(crate) fn insert(&self, n: u32, record: MessageRecord) {
        let mut ring = self.lock();
        if ring.records.is_empty() {
            ring.first = n;
        }
        let offset = n.wrapping_sub(ring.first) as usize;
        if offset >= self.capacity * 2 {
            // Behind the front (older than what is kept) or far ahead (the counter
            // wrapped or jumped): start again from this one.
            if n.wrapping_sub(ring.first) > u32::MAX / 2 {
                return;
            }
            ring.records.clear();
            ring.first = n;
        }
        let offset = n.wrapping_sub(ring.first) as usize;
        while ring.records.len() <= offset {
            ring.records.push_back(None);
        }
        if let Some(slot) = ring.records.get_mut(offset) {
            *slot = Some(record);
        }
        while ring.records.len() > self.capacity {
            ring.records.pop_front();
            ring.first = ring.first.wrapping_add(1);
        }
    }

    pub(crate) fn get(&self, n: u32) -> Option<MessageRecord> {
        let ring = self.lock();
        let offset = n.wrapping_sub(ring.first) as usize;
        ring.records.get(offset).cloned().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> MessageRecord {
        MessageRecord {
            final_state: MessageState::DELIVERED,
            due: tokio::time::Instant::now(),
            done: SystemTime::now(),
        }
    }

    #[test]
    fn keeps_the_last_messages_by_number_across_the_wrap() {
        let m = Messages::new(4);
        for n in [u32::MAX - 2, u32::MAX, u32::MAX - 1, 0, 1, 2] {
            m.insert(n, record());
        }
        assert!(m.get(u32::MAX - 2).is_none() && m.get(u32::MAX - 1).is_none(), "the oldest forgotten");
        assert!([u32::MAX, 0, 1, 2].iter().all(|n| m.get(*n).is_some()));
        assert!(m.get(3).is_none() && m.get(1000).is_none());
        // One far older than what is kept is dropped; the ring stays.
        m.insert(u32::MAX - 100, record());
        assert!(m.get(u32::MAX - 100).is_none() && m.get(2).is_some());
    }
}

/// Something for an account's receivers.
#[derive(Clone, Debug)]
pub(crate) enum Delivery {
    /// A receipt (made into a deliver_sm for the version of the session it goes to).
    Receipt(Box<DeliveryReceipt>),
    /// A mobile-originated message.
    Mo(Box<DeliverSm>),
}

/// Deliveries waiting for a receiver, per account, at most `bound` each; past it
/// they are dropped and counted.
#[derive(Debug)]
pub(crate) struct Waiting {
    queues: Mutex<HashMap<String, VecDeque<Delivery>>>,
    bound: usize,
    dropped: AtomicU64,
}

impl Waiting {
    pub(crate) fn new(bound: usize) -> Self {
        Self { queues: Mutex::default(), bound, dropped: AtomicU64::new(0) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, VecDeque<Delivery>>> {
        self.queues.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Keeps a delivery; `false` if the account's queue is full (it is dropped).
    pub(crate) fn keep(&self, account: &str, delivery: Delivery) -> bool {
        let mut queues = self.lock();
        let q = queues.entry(account.to_owned()).or_default();
        if q.len() >= self.bound {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        q.push_back(delivery);
        true
    }

    /// Puts a delivery back at the front (its push found no receiver after all).
    pub(crate) fn put_back(&self, account: &str, delivery: Delivery) {
        self.lock().entry(account.to_owned()).or_default().push_front(delivery);
    }

    pub(crate) fn take(&self, account: &str) -> Option<Delivery> {
        let mut queues = self.lock();
        let q = queues.get_mut(account)?;
        let d = q.pop_front();
        if q.is_empty() {
            queues.remove(account);
        }
        d
    }

    pub(crate) fn len(&self, account: &str) -> usize {
        self.lock().get(account).map_or(0, VecDeque::len)
    }

    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}
