//! [`MemoryStore`]: the default store, in this process's memory. Fast, bounded, and
//! forgotten at exit.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use super::ring::NumberRing;
use super::{Counters, Delivery, Entry, EntryId, IdLink, Message, Store, StoreError, StoreFuture, StoreLimits};
use smpp_pdu::MessageState;

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
    by_key: HashMap<String, (u64, IdLink, u64)>,
    /// (filing number, key) in filing order, to forget the oldest first.
    order: VecDeque<(u64, String)>,
    next: u64,
}

impl Links {
    fn file(&mut self, keys: Vec<String>, link: IdLink, now_ms: u64, until_ms: u64, max: usize) {
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
        keys.iter().find_map(|k| self.by_key.get(k).filter(|(_, _, until)| *until > now_ms).map(|(_, l, _)| l.clone()))
    }
}

#[derive(Debug, Default)]
struct Deliveries {
    next: u64,
    by_account: HashMap<String, Vec<Stored>>,
    /// Each entry's account, so `ack` and `release` go straight to its list.
    account_of: HashMap<u64, String>,
}

#[derive(Debug)]
struct Stored {
    id: u64,
    delivery: Delivery,
    attempts: u32,
    claimed_at: Option<u64>,
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
        let held = d.by_account.get(&delivery.account).map_or(0, Vec::len);
        if held >= max {
            return Err(StoreError::Full { account: delivery.account, max });
        }
        d.next += 1;
        let id = d.next;
        d.account_of.insert(id, delivery.account.clone());
        d.by_account.entry(delivery.account.clone()).or_default().push(Stored {
            id,
            delivery,
            attempts: 0,
            claimed_at: None,
        });
        Ok(entry_id(id))
    }

    /// Runs `f` on the list holding entry `id` and its place there; forgets the
    /// entry's account when `remove` (the entry is gone), and the account's list when
    /// it empties.
    fn find(&self, id: &EntryId, remove: bool, f: impl FnOnce(&mut Vec<Stored>, usize)) {
        let Ok(n) = id.0.parse::<u64>() else { return };
        let mut d = self.deliveries();
        let Some(account) = d.account_of.get(&n).cloned() else { return };
        let emptied = match d.by_account.get_mut(&account) {
            Some(list) => {
                if let Some(k) = list.iter().position(|s| s.id == n) {
                    f(list, k);
                }
                list.is_empty()
            }
            None => false,
        };
        if remove {
            d.account_of.remove(&n);
        }
        if emptied {
            d.by_account.remove(&account);
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
        let mut out = Vec::new();
        if let Some(list) = d.by_account.get_mut(account) {
            let mut ready_now: Vec<&mut Stored> = list
                .iter_mut()
                .filter(|s| s.delivery.due_ms <= now_ms)
                .filter(|s| s.claimed_at.is_none_or(|at| at.saturating_add(timeout) <= now_ms))
                .collect();
            ready_now.sort_by_key(|s| (s.delivery.due_ms, s.id));
            for s in ready_now.into_iter().take(max) {
                let attempts = s.attempts;
                s.attempts += 1;
                s.claimed_at = Some(now_ms);
                out.push(Entry { id: entry_id(s.id), delivery: s.delivery.clone(), attempts });
            }
        }
        ready(Ok(out))
    }

    fn ack(&self, id: &EntryId) -> StoreFuture<'_, ()> {
        self.find(id, true, |list, k| {
            list.remove(k);
        });
        ready(Ok(()))
    }

    fn release(&self, id: &EntryId, retry_ms: u64) -> StoreFuture<'_, ()> {
        self.find(id, false, |list, k| {
            if let Some(s) = list.get_mut(k) {
                s.claimed_at = None;
                s.delivery.due_ms = retry_ms;
            }
        });
        ready(Ok(()))
    }

    fn waiting(&self, account: &str) -> StoreFuture<'_, usize> {
        ready(Ok(self.deliveries().by_account.get(account).map_or(0, Vec::len)))
    }

    fn due(&self) -> StoreFuture<'_, Vec<(String, u64)>> {
        let timeout = self.limits.claim_timeout_ms;
        let d = self.deliveries();
        // An entry in flight is due again when its claim times out.
        let due_at =
            |s: &Stored| s.claimed_at.map_or(s.delivery.due_ms, |at| at.saturating_add(timeout).max(s.delivery.due_ms));
        let mut out: Vec<(String, u64)> =
            d.by_account.iter().filter_map(|(a, list)| list.iter().map(due_at).min().map(|t| (a.clone(), t))).collect();
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
