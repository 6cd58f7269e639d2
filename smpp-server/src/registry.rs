//! The server's registry: every connection's task, the bound sessions by account,
//! and the per-account state (bind count, shared throttle).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use tokio::sync::{Notify, Semaphore, mpsc, watch};

use crate::blocks::Throttle;
use crate::connection::SessionCommand;
use crate::handler::SessionInfo;

/// What one session did, counted as it goes.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) requests: AtomicU64,
    pub(crate) throttled: AtomicU64,
    pub(crate) pushes: AtomicU64,
}

/// A bound session, as an administrator sees it.
#[non_exhaustive]
#[derive(Clone, Debug)]
pub struct SessionSummary {
    /// Identity, bind mode, version, peer and when it bound.
    pub info: SessionInfo,
    /// Requests the ESME sent since it bound.
    pub requests: u64,
    /// Of those, answered `ESME_RTHROTTLED` by the account's throttle.
    pub throttled: u64,
    /// Pushes (deliver_sm, data_sm) sent to it.
    pub pushes: u64,
}

/// A bound session in the registry.
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) info: SessionInfo,
    pub(crate) commands: mpsc::Sender<SessionCommand>,
    pub(crate) pushes: Arc<Semaphore>,
    pub(crate) counters: Arc<Counters>,
}

/// An account's bound sessions.
#[derive(Debug, Default)]
pub(crate) struct Account {
    pub(crate) sessions: Vec<Entry>,
}

/// A connection's task, as the registry knows it.
#[derive(Debug)]
pub(crate) struct Live {
    pub(crate) commands: mpsc::Sender<SessionCommand>,
    pub(crate) abort: tokio::task::AbortHandle,
    /// An unbind was asked for (asking again sends nothing, so repeated requests
    /// cannot fill the session's queue).
    pub(crate) unbinding: Arc<std::sync::atomic::AtomicBool>,
}

impl Live {
    /// Asks the session to unbind, once; whether it is (now) asked.
    pub(crate) fn unbind(&self) -> bool {
        if self.unbinding.swap(true, Ordering::SeqCst) {
            return true;
        }
        let sent = self.commands.try_send(SessionCommand::Unbind).is_ok();
        if !sent {
            self.unbinding.store(false, Ordering::SeqCst);
        }
        sent
    }
}

/// Bound sessions by account, and the counters.
#[derive(Debug)]
pub(crate) struct Registry {
    pub(crate) accounts: Mutex<HashMap<String, Account>>,
    /// Each account's throttle, kept while the server runs, so reconnecting does not
    /// refill it (one entry per account that was ever granted a rate).
    throttles: Mutex<HashMap<String, Arc<Mutex<Throttle>>>>,
    /// TLS handshakes under way: they count toward the connection limit.
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    pub(crate) handshaking: AtomicUsize,
    pub(crate) connections: AtomicUsize,
    pub(crate) next_id: AtomicU64,
    pub(crate) round_robin: AtomicUsize,
    pub(crate) all: Mutex<HashMap<u64, Live>>,
    pub(crate) drained: Notify,
    /// Set at shutdown: listeners stop, new streams are refused.
    pub(crate) stop: watch::Sender<bool>,
    /// The first address a listener of this server bound.
    pub(crate) local_addr: OnceLock<SocketAddr>,
    /// Every connection's counters, added up by the driver.
    pub(crate) stats: Arc<smpp_tokio::metrics::LinkStats>,
}

impl Default for Registry {
    fn default() -> Self {
        Self {
            accounts: Mutex::default(),
            throttles: Mutex::default(),
            handshaking: AtomicUsize::new(0),
            connections: AtomicUsize::new(0),
            next_id: AtomicU64::new(1),
            round_robin: AtomicUsize::new(0),
            all: Mutex::default(),
            drained: Notify::new(),
            stop: watch::Sender::new(false),
            local_addr: OnceLock::new(),
            stats: Arc::default(),
        }
    }
}

/// Why a bind could not be registered.
#[derive(Debug)]
pub(crate) struct TooManyBinds;

impl Registry {
    pub(crate) fn accounts(&self) -> std::sync::MutexGuard<'_, HashMap<String, Account>> {
        self.accounts.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn all(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Live>> {
        self.all.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Forgets a session's task.
    pub(crate) fn remove(&self, id: u64) {
        self.all().remove(&id);
    }

    /// Registers a bound session if its account holds fewer than `max_binds`: the
    /// check and the registration are one step, so concurrent binds cannot both pass
    /// it. Returns the account's throttle when the grant has a rate (the latest
    /// grant's rate applies to the account's one bucket).
    pub(crate) fn register(
        &self,
        entry: Entry,
        max_binds: usize,
        throttle: Option<u32>,
    ) -> Result<Option<Arc<Mutex<Throttle>>>, TooManyBinds> {
        let system_id = entry.info.system_id.clone();
        {
            let mut accounts = self.accounts();
            let account = accounts.entry(system_id.clone()).or_default();
            if account.sessions.len() >= max_binds {
                if account.sessions.is_empty() {
                    accounts.remove(&system_id);
                }
                return Err(TooManyBinds);
            }
            account.sessions.push(entry);
        }
        let Some(rate) = throttle else { return Ok(None) };
        let mut throttles = self.throttles.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let bucket = throttles.entry(system_id).or_insert_with(|| Arc::new(Mutex::new(Throttle::new(rate))));
        bucket.lock().unwrap_or_else(std::sync::PoisonError::into_inner).set_rate(rate);
        Ok(Some(bucket.clone()))
    }

    /// Takes a session out of its account.
    pub(crate) fn deregister(&self, system_id: &str, id: u64) {
        let mut accounts = self.accounts();
        if let Some(a) = accounts.get_mut(system_id) {
            a.sessions.retain(|e| e.info.id != id);
            if a.sessions.is_empty() {
                accounts.remove(system_id);
            }
        }
    }

    /// Every bound session, by account then id.
    pub(crate) fn summaries(&self, only: Option<&str>) -> Vec<SessionSummary> {
        let accounts = self.accounts();
        let mut out: Vec<SessionSummary> = accounts
            .iter()
            .filter(|(name, _)| only.is_none_or(|o| o == name.as_str()))
            .flat_map(|(_, a)| a.sessions.iter())
            .map(|e| SessionSummary {
                info: e.info.clone(),
                requests: e.counters.requests.load(Ordering::Relaxed),
                throttled: e.counters.throttled.load(Ordering::Relaxed),
                pushes: e.counters.pushes.load(Ordering::Relaxed),
            })
            .collect();
        out.sort_by(|a, b| (&a.info.system_id, a.info.id).cmp(&(&b.info.system_id, b.info.id)));
        out
    }
}
