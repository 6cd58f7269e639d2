//! [`MemoryStore`]: the default store, in this process's memory. Fast, bounded, and
//! forgotten at exit.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use super::ring::NumberRing;
use super::{Counters, Delivery, Entry, EntryId, IdLink, Message, Store, StoreError, StoreFuture, StoreLimits};
use smpp_wire::MessageState;

use crate::blocks::MessageIds;

/// Messages kept for query_sm (the oldest are forgotten past it).
const MESSAGES: usize = 100_000;

/// A store in memory: what the simulator and every quick start use, with nothing
/// installed. A restart forgets everything.
#[derive(Debug)]
pub struct MemoryStore {
    limits: StoreLimits,
    ids: MessageIds,
    messages: NumberRing<Kept>,
    deliveries: Mutex<Deliveries>,
    counters: Counters,
    links: Mutex<Links>,
}

/// Id links, forgotten when they expire or, past the bound, oldest first.
#[derive(Debug, Default)]
struct Links {
    by_key: HashMap<String, (u64, Arc<IdLink>, u64)>,
    /// (filing number, key) in filing order, to forget the oldest first.
    order: VecDeque<(u64, String)>,
    next: u64,
}

impl Links {
    fn file(&mut self, keys: Vec<String>, link: IdLink, now_ms: u64, until_ms: u64, max: usize) {
        let link = Arc::new(link);
        for key in keys {
            self.next += 1;
            self.order.push_back((self.next, key.clone()));
            self.by_key.insert(key, (self.next, link.clone(), until_ms));
        }
        // Forget what expired (the front is the oldest filing; links of one TTL
        // expire in filing order) and what is past the bound.
        while let Some((n, key)) = self.order.front() {
            let current = self.by_key.get(key).filter(|(filed, ..)| filed == n);
            let expired = current.is_none_or(|(_, _, until)| *until <= now_ms);
            if !expired && self.by_key.len() <= max {
                break;
            }
            if current.is_some() {
                self.by_key.remove(key);
            }
            self.order.pop_front();
        }
    }

    fn find(&self, keys: &[String], now_ms: u64) -> Option<IdLink> {
        keys.iter()
            .find_map(|k| self.by_key.get(k).filter(|(_, _, until)| *until > now_ms).map(|(_, l, _)| IdLink::clone(l)))
    }
}

#[derive(Debug, Default)]
struct Deliveries {
    next: u64,
    by_account: HashMap<Arc<str>, Queue>,
    /// Each entry's account, so `ack` and `release` go straight to its queue.
    account_of: HashMap<u64, Arc<str>, NumberHash>,
}

/// Hashes the store's own numbers (entry ids, handed out in order): no need for a
/// keyed hash against floods, as no peer chooses them.
#[derive(Clone, Copy, Debug, Default)]
struct NumberHash;

impl std::hash::BuildHasher for NumberHash {
    type Hasher = NumberHasher;
    fn build_hasher(&self) -> NumberHasher {
        NumberHasher(0)
    }
}

#[derive(Debug)]
struct NumberHasher(u64);

impl std::hash::Hasher for NumberHasher {
    fn finish(&self) -> u64 {
        // Fibonacci hashing spreads consecutive numbers over the table.
        self.0.wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// One account's deliveries, indexed so that every operation is logarithmic.
#[derive(Debug, Default)]
struct Queue {
    entries: HashMap<u64, Stored, NumberHash>,
    /// (due_ms, id) of the entries not claimed.
    ready: BTreeSet<(u64, u64)>,
    /// (claimed_at, id) of the entries in flight.
    claimed: BTreeSet<(u64, u64)>,
}

#[derive(Debug)]
struct Stored {
    delivery: Delivery,
    attempts: u32,
    claimed_at: Option<u64>,
}

impl Queue {
    /// Forgets entry `id`; whether the queue is empty now.
    fn remove(&mut self, id: u64) -> bool {
        if let Some(s) = self.entries.remove(&id) {
            match s.claimed_at {
                Some(at) => self.claimed.remove(&(at, id)),
                None => self.ready.remove(&(s.delivery.due_ms, id)),
            };
        }
        self.entries.is_empty()
    }

    /// Hands entry `id` back, due at `retry_ms`.
    fn release(&mut self, id: u64, retry_ms: u64) {
        let Some(s) = self.entries.get_mut(&id) else { return };
        match s.claimed_at.take() {
            Some(at) => self.claimed.remove(&(at, id)),
            None => self.ready.remove(&(s.delivery.due_ms, id)),
        };
        s.delivery.due_ms = retry_ms;
        self.ready.insert((retry_ms, id));
    }

    /// Up to `max` entries due by `now_ms`, oldest due first, after taking back
    /// the claims older than `timeout`.
    fn claim(&mut self, now_ms: u64, max: usize, timeout: u64) -> Vec<Entry> {
        let expired: Vec<(u64, u64)> =
            self.claimed.iter().take_while(|(at, _)| at.saturating_add(timeout) <= now_ms).copied().collect();
        for (at, id) in expired {
            self.claimed.remove(&(at, id));
            if let Some(s) = self.entries.get_mut(&id) {
                s.claimed_at = None;
                self.ready.insert((s.delivery.due_ms, id));
            }
        }
        let due: Vec<(u64, u64)> = self.ready.iter().take_while(|(due, _)| *due <= now_ms).take(max).copied().collect();
        let mut out = Vec::with_capacity(due.len());
        for key in due {
            self.ready.remove(&key);
            let id = key.1;
            let Some(s) = self.entries.get_mut(&id) else { continue };
            let attempts = s.attempts;
            s.attempts += 1;
            s.claimed_at = Some(now_ms);
            self.claimed.insert((now_ms, id));
            out.push(Entry { id: entry_id(id), delivery: s.delivery.clone(), attempts });
        }
        out
    }

    /// When the earliest entry can be claimed: its due time, or for one in flight the
    /// end of its claim.
    fn due(&self, timeout: u64) -> Option<u64> {
        let ready = self.ready.first().map(|(due, _)| *due);
        let claimed = self.claimed.first().map(|(at, _)| at.saturating_add(timeout));
        match (ready, claimed) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// A message as kept: its id is the number it is kept under.
#[derive(Clone, Debug)]
struct Kept {
    message: Message,
}

impl Kept {
    fn of(account: String, submitted_ms: u64, done_ms: u64, final_state: MessageState) -> Self {
        Self { message: Message { id: String::new(), account, submitted_ms, done_ms, final_state } }
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new(StoreLimits::default())
    }
}

fn ready<T: Send + 'static>(value: Result<T, StoreError>) -> StoreFuture<'static, T> {
    Box::pin(std::future::ready(value))
}

fn entry_id(n: u64) -> EntryId {
    EntryId(n.to_string())
}

impl MemoryStore {
    /// An empty store with these bounds.
    pub fn new(limits: StoreLimits) -> Self {
        Self {
            limits,
            ids: MessageIds::new(),
            messages: NumberRing::new(MESSAGES),
            deliveries: Mutex::default(),
            counters: Counters::default(),
            links: Mutex::default(),
        }
    }

    fn deliveries(&self) -> std::sync::MutexGuard<'_, Deliveries> {
        self.deliveries.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn record(&self, message: Message) {
        if let Some(n) = MessageIds::number_of(&message.id) {
            self.messages
                .insert(n, Kept::of(message.account, message.submitted_ms, message.done_ms, message.final_state));
        }
    }

    fn push(&self, delivery: Delivery) -> Result<EntryId, StoreError> {
        let mut d = self.deliveries();
        let max = self.limits.max_waiting_per_account;
        let held = d.by_account.get(delivery.account.as_str()).map_or(0, |q| q.entries.len());
        if held >= max {
            return Err(StoreError::Full { account: delivery.account, max });
        }
        d.next += 1;
        let id = d.next;
        let account: Arc<str> = match d.by_account.get_key_value(delivery.account.as_str()) {
            Some((key, _)) => key.clone(),
            None => Arc::from(delivery.account.as_str()),
        };
        d.account_of.insert(id, account.clone());
        let queue = d.by_account.entry(account).or_default();
        queue.ready.insert((delivery.due_ms, id));
        queue.entries.insert(id, Stored { delivery, attempts: 0, claimed_at: None });
        Ok(entry_id(id))
    }

    /// Runs `f` on the queue holding entry `id`; forgets the entry's account when
    /// `remove` (the entry is gone), and the queue when `f` says it emptied.
    fn find(&self, id: &EntryId, remove: bool, f: impl FnOnce(&mut Queue, u64) -> bool) {
        let Ok(n) = id.0.parse::<u64>() else { return };
        let mut d = self.deliveries();
        let Some(account) = d.account_of.get(&n).cloned() else { return };
        let emptied = d.by_account.get_mut(&*account).is_some_and(|q| f(q, n));
        if remove {
            d.account_of.remove(&n);
        }
        if emptied {
            d.by_account.remove(&*account);
        }
    }
}

impl Store for MemoryStore {
    fn next_message_id(&self) -> StoreFuture<'_, String> {
        ready(Ok(self.ids.next_id()))
    }

    fn accept(&self, message: Message, receipt: Option<Delivery>) -> StoreFuture<'_, ()> {
        if let Some(receipt) = receipt
            && let Err(e) = self.push(receipt)
        {
            return ready(Err(e));
        }
        self.record(message);
        ready(Ok(()))
    }

    fn accept_at_once(
        &self,
        account: &str,
        submitted_ms: u64,
        done_ms: u64,
        final_state: MessageState,
    ) -> Option<String> {
        let (n, id) = self.ids.next_numbered();
        self.messages.insert(n, Kept::of(account.to_owned(), submitted_ms, done_ms, final_state));
        Some(id)
    }

    fn message(&self, id: &str) -> StoreFuture<'_, Option<Message>> {
        // Only an id as this store spells it (8 lowercase hex digits) is one of its.
        let ours = id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        let found = MessageIds::number_of(id)
            .filter(|_| ours)
            .and_then(|n| self.messages.get(n))
            .map(|k| Message { id: id.to_owned(), ..k.message });
        ready(Ok(found))
    }

    fn enqueue(&self, delivery: Delivery) -> StoreFuture<'_, EntryId> {
        ready(self.push(delivery))
    }

    fn claim(&self, account: &str, now_ms: u64, max: usize) -> StoreFuture<'_, Vec<Entry>> {
        let timeout = self.limits.claim_timeout_ms;
        let mut d = self.deliveries();
        let out = d.by_account.get_mut(account).map(|q| q.claim(now_ms, max, timeout)).unwrap_or_default();
        ready(Ok(out))
    }

    fn ack(&self, id: &EntryId) -> StoreFuture<'_, ()> {
        self.find(id, true, Queue::remove);
        ready(Ok(()))
    }

    fn release(&self, id: &EntryId, retry_ms: u64) -> StoreFuture<'_, ()> {
        self.find(id, false, |q, n| {
            q.release(n, retry_ms);
            false
        });
        ready(Ok(()))
    }

    fn waiting(&self, account: &str) -> StoreFuture<'_, usize> {
        ready(Ok(self.deliveries().by_account.get(account).map_or(0, |q| q.entries.len())))
    }

    fn due(&self) -> StoreFuture<'_, Vec<(String, u64)>> {
        let timeout = self.limits.claim_timeout_ms;
        let d = self.deliveries();
        let mut out: Vec<(String, u64)> =
            d.by_account.iter().filter_map(|(a, q)| q.due(timeout).map(|t| (a.to_string(), t))).collect();
        out.sort();
        ready(Ok(out))
    }

    fn acquire_bind(
        &self,
        account: &str,
        holder: &str,
        max: usize,
        now_ms: u64,
        until_ms: u64,
    ) -> StoreFuture<'_, bool> {
        ready(Ok(self.counters.acquire_bind(account, holder, max, now_ms, until_ms)))
    }

    fn renew_binds(&self, binds: Vec<(String, String)>, until_ms: u64) -> StoreFuture<'_, ()> {
        self.counters.renew_binds(&binds, until_ms);
        ready(Ok(()))
    }

    fn release_bind(&self, account: &str, holder: &str) -> StoreFuture<'_, ()> {
        self.counters.release_bind(account, holder);
        ready(Ok(()))
    }

    fn binds(&self, account: &str, now_ms: u64) -> StoreFuture<'_, usize> {
        ready(Ok(self.counters.binds(account, now_ms)))
    }

    fn take_rate(&self, account: &str, per_second: u32, now_ms: u64) -> StoreFuture<'_, bool> {
        ready(Ok(self.counters.take_rate(account, per_second, now_ms)))
    }

    fn link_ids(&self, keys: Vec<String>, link: IdLink, now_ms: u64, until_ms: u64) -> StoreFuture<'_, ()> {
        let mut links = self.links.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        links.file(keys, link, now_ms, until_ms, self.limits.max_id_links);
        ready(Ok(()))
    }

    fn find_link(&self, keys: Vec<String>, now_ms: u64) -> StoreFuture<'_, Option<IdLink>> {
        let links = self.links.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        ready(Ok(links.find(&keys, now_ms)))
    }
}
