//! The simulator's memory: the state of each message it accepted (for query_sm),
//! and what waits for a receiver to bind (receipts and MO), both bounded.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use smpp_pdu::{DeliverSm, MessageState};

use crate::blocks::DeliveryReceipt;

/// A message's state as query_sm reports it.
#[derive(Clone, Debug)]
pub(crate) struct MessageRecord {
    pub(crate) state: MessageState,
    pub(crate) submitted: SystemTime,
    /// When it reached a final state.
    pub(crate) done: Option<SystemTime>,
}

/// The last `capacity` messages' states, oldest forgotten first.
#[derive(Debug)]
pub(crate) struct Messages {
    inner: Mutex<(HashMap<String, MessageRecord>, VecDeque<String>)>,
    capacity: usize,
}

impl Messages {
    pub(crate) fn new(capacity: usize) -> Self {
        Self { inner: Mutex::new((HashMap::new(), VecDeque::new())), capacity: capacity.max(1) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (HashMap<String, MessageRecord>, VecDeque<String>)> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn insert(&self, id: &str, record: MessageRecord) {
        let mut g = self.lock();
        let (map, order) = &mut *g;
        if map.insert(id.to_owned(), record).is_none() {
            order.push_back(id.to_owned());
        }
        while order.len() > self.capacity {
            if let Some(old) = order.pop_front() {
                map.remove(&old);
            }
        }
    }

    pub(crate) fn finish(&self, id: &str, state: MessageState, at: SystemTime) {
        if let Some(r) = self.lock().0.get_mut(id) {
            r.state = state;
            r.done = Some(at);
        }
    }

    pub(crate) fn get(&self, id: &str) -> Option<MessageRecord> {
        self.lock().0.get(id).cloned()
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
