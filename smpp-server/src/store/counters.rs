//! Bind leases and per-second rates kept in this process, for the stores that one
//! node owns alone (memory, SQLite): what a shared store keeps for the cluster.

use std::collections::HashMap;
use std::sync::Mutex;

/// Bind leases and rate windows, in memory.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Account to holder to lease end.
    binds: HashMap<String, HashMap<String, u64>>,
    /// Account to (second, submits taken in it).
    rates: HashMap<String, (u64, u32)>,
}

impl Counters {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn acquire_bind(&self, account: &str, holder: &str, max: usize, now_ms: u64, until_ms: u64) -> bool {
        let mut inner = self.lock();
        let held = inner.binds.entry(account.to_owned()).or_default();
        held.retain(|_, until| *until > now_ms);
        if !held.contains_key(holder) && held.len() >= max {
            return false;
        }
        held.insert(holder.to_owned(), until_ms);
        true
    }

    pub(crate) fn renew_binds(&self, binds: &[(String, String)], until_ms: u64) {
        let mut inner = self.lock();
        for (account, holder) in binds {
            if let Some(until) = inner.binds.get_mut(account).and_then(|h| h.get_mut(holder)) {
                *until = (*until).max(until_ms);
            }
        }
    }

    pub(crate) fn release_bind(&self, account: &str, holder: &str) {
        let mut inner = self.lock();
        if let Some(held) = inner.binds.get_mut(account) {
            held.remove(holder);
            if held.is_empty() {
                inner.binds.remove(account);
            }
        }
    }

    pub(crate) fn binds(&self, account: &str, now_ms: u64) -> usize {
        self.lock().binds.get(account).map_or(0, |h| h.values().filter(|until| **until > now_ms).count())
    }

    pub(crate) fn take_rate(&self, account: &str, per_second: u32, now_ms: u64) -> bool {
        let second = now_ms / 1000;
        let mut inner = self.lock();
        let (at, taken) = inner.rates.entry(account.to_owned()).or_insert((second, 0));
        if *at != second {
            *at = second;
            *taken = 0;
        }
        if *taken >= per_second {
            return false;
        }
        *taken += 1;
        true
    }
}
