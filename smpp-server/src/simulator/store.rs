//! The simulator's memory: the state of each message it accepted (for query_sm),
//! and what waits for a receiver to bind or for a retry (receipts and MO), both
//! bounded.

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

/// The last messages' states, by message number.
pub(crate) type Messages = crate::store::NumberRing<MessageRecord>;

/// Something for an account's receivers.
#[derive(Clone, Debug)]
pub(crate) enum Delivery {
    /// A receipt (made into a deliver_sm for the version of the session it goes to).
    Receipt(Box<DeliveryReceipt>),
    /// A mobile-originated message.
    Mo(Box<DeliverSm>),
}

impl Delivery {
    /// What it is, for the logs.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Self::Receipt(_) => "receipt",
            Self::Mo(_) => "MO",
        }
    }
}

/// Deliveries waiting for a receiver, or for a retry, per account: at most `bound`
/// each; past it the newest are dropped and counted. Each account's queue also
/// records whether a flush of it is under way (only one at a time, so deliveries
/// go out in order) and whether a retry is scheduled (one timer at a time).
#[derive(Debug)]
pub(crate) struct Waiting {
    queues: Mutex<HashMap<String, Queue>>,
    bound: usize,
    dropped: AtomicU64,
}

/// One account's waiting deliveries.
#[derive(Debug, Default)]
struct Queue {
    items: VecDeque<Delivery>,
    /// A flush of this account is under way.
    flushing: bool,
    /// A retry of this account is scheduled.
    retry_armed: bool,
}

impl Queue {
    /// Whether the entry holds nothing worth keeping.
    fn is_idle(&self) -> bool {
        self.items.is_empty() && !self.flushing && !self.retry_armed
    }
}

impl Waiting {
    pub(crate) fn new(bound: usize) -> Self {
        Self { queues: Mutex::default(), bound, dropped: AtomicU64::new(0) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Queue>> {
        self.queues.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs `f` on the account's queue, and forgets the queue if it is left idle.
    fn with<T>(&self, account: &str, f: impl FnOnce(&mut Queue) -> T) -> T {
        let mut queues = self.lock();
        let q = queues.entry(account.to_owned()).or_default();
        let out = f(q);
        if q.is_idle() {
            queues.remove(account);
        }
        out
    }

    /// Keeps a delivery at the back; `false` if the account's queue is full (it is
    /// dropped and counted).
    pub(crate) fn keep(&self, account: &str, delivery: Delivery) -> bool {
        self.with(account, |q| {
            if q.items.len() >= self.bound {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                return false;
            }
            q.items.push_back(delivery);
            true
        })
    }

    /// Puts a delivery back at the front (it was taken to be pushed, and has to wait
    /// again). The queue stays within its bound: if others were kept meanwhile and it
    /// is full, the newest is dropped and counted.
    pub(crate) fn put_back(&self, account: &str, delivery: Delivery) {
        self.with(account, |q| self.push_front_bounded(q, delivery));
    }

    /// Starts a flush of `account`: `true` if the caller is now its one flusher,
    /// `false` if nothing waits or another flush is under way (which takes what
    /// waits).
    pub(crate) fn begin_flush(&self, account: &str) -> bool {
        self.with(account, |q| {
            if q.items.is_empty() || q.flushing {
                return false;
            }
            q.flushing = true;
            true
        })
    }

    /// The next delivery for the flusher of `account`; `None` ends the flush (in the
    /// same step, so nothing kept meanwhile is left without a flusher).
    pub(crate) fn next(&self, account: &str) -> Option<Delivery> {
        self.with(account, |q| {
            let d = q.items.pop_front();
            if d.is_none() {
                q.flushing = false;
            }
            d
        })
    }

    /// Ends the flush of `account`, putting `delivery` back at the front (as
    /// [`put_back`](Self::put_back) does).
    pub(crate) fn pause(&self, account: &str, delivery: Delivery) {
        self.with(account, |q| {
            self.push_front_bounded(q, delivery);
            q.flushing = false;
        });
    }

    /// Marks a retry of `account` scheduled: `true` if none was, so the caller
    /// schedules it.
    pub(crate) fn arm_retry(&self, account: &str) -> bool {
        self.with(account, |q| !std::mem::replace(&mut q.retry_armed, true))
    }

    /// Marks the retry of `account` done (its timer fired).
    pub(crate) fn disarm_retry(&self, account: &str) {
        self.with(account, |q| q.retry_armed = false);
    }

    pub(crate) fn len(&self, account: &str) -> usize {
        self.lock().get(account).map_or(0, |q| q.items.len())
    }

    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    fn push_front_bounded(&self, q: &mut Queue, delivery: Delivery) {
        if q.items.len() >= self.bound {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            if q.items.pop_back().is_none() {
                // A bound of 0 keeps nothing, not even this one.
                return;
            }
        }
        q.items.push_front(delivery);
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

    #[test]
    fn a_number_a_little_behind_the_front_is_recorded_while_the_ring_fits() {
        let m = Messages::new(4);
        // Two sessions record 11 and then 10 right after the start.
        m.insert(11, record());
        m.insert(10, record());
        assert!(m.get(10).is_some() && m.get(11).is_some(), "n recorded after n + 1");
        // Two behind the front: 8, with a gap for 9, still fits four.
        m.insert(8, record());
        assert!(m.get(8).is_some() && m.get(9).is_none() && m.get(11).is_some());
        m.insert(9, record());
        assert!((8..=11).all(|n| m.get(n).is_some()));
        // The ring is full: one more behind the front does not fit, and is dropped.
        m.insert(7, record());
        assert!(m.get(7).is_none());
        assert!((8..=11).all(|n| m.get(n).is_some()), "what was kept stays");
        // Across the wrap, the same.
        let m = Messages::new(4);
        m.insert(1, record());
        m.insert(u32::MAX, record());
        assert!(m.get(u32::MAX).is_some() && m.get(0).is_none() && m.get(1).is_some());
        m.insert(2, record());
        assert!([u32::MAX, 1, 2].iter().all(|n| m.get(*n).is_some()));
    }

    fn mo(text: &str) -> Delivery {
        let mut d = DeliverSm::default();
        d.short_message = smpp_pdu::ShortMessage::new(text.as_bytes().to_vec()).unwrap();
        Delivery::Mo(Box::new(d))
    }

    fn text(d: &Delivery) -> Vec<u8> {
        match d {
            Delivery::Mo(d) => d.short_message.as_bytes().to_vec(),
            Delivery::Receipt(r) => r.message_id.clone().into_bytes(),
        }
    }

    #[test]
    fn putting_a_delivery_back_keeps_the_queue_within_its_bound() {
        let w = Waiting::new(2);
        assert!(w.keep("a", mo("0")) && w.keep("a", mo("1")));
        assert!(!w.keep("a", mo("2")), "full");
        assert_eq!(w.dropped(), 1);
        // A flush takes the oldest; meanwhile another is kept; the push fails and the
        // oldest goes back: the newest makes room for it.
        let taken = w.next("a").unwrap();
        assert!(w.keep("a", mo("3")));
        w.put_back("a", taken);
        assert_eq!(w.len("a"), 2, "not past the bound");
        assert_eq!(w.dropped(), 2, "the newest dropped and counted");
        let taken = w.next("a").unwrap();
        w.pause("a", taken);
        assert_eq!(w.len("a"), 2);
        assert_eq!(text(&w.next("a").unwrap()), b"0", "the oldest first");
        assert_eq!(text(&w.next("a").unwrap()), b"1");
        assert!(w.next("a").is_none());
        // With a bound of 0 nothing is kept, put back or not.
        let w = Waiting::new(0);
        w.put_back("a", mo("x"));
        assert_eq!((w.len("a"), w.dropped()), (0, 1));
    }

    #[test]
    fn one_flush_and_one_retry_timer_per_account_at_a_time() {
        let w = Waiting::new(10);
        assert!(!w.begin_flush("a"), "nothing to flush");
        w.keep("a", mo("0"));
        assert!(w.begin_flush("a"));
        assert!(!w.begin_flush("a"), "one flush at a time");
        assert!(w.next("a").is_some());
        w.keep("a", mo("1"));
        assert!(!w.begin_flush("a"), "the running flush takes what was kept meanwhile");
        assert!(w.next("a").is_some());
        assert!(w.next("a").is_none(), "the flush ends");
        w.keep("a", mo("2"));
        assert!(w.begin_flush("a"), "a new flush may start");
        let d = w.next("a").unwrap();
        w.pause("a", d);
        assert!(w.begin_flush("a"), "a paused flush is over");

        assert!(w.arm_retry("a"));
        assert!(!w.arm_retry("a"), "one retry timer at a time");
        w.disarm_retry("a");
        assert!(w.arm_retry("a"));
    }
}
