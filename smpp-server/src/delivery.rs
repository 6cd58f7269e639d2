//! How the simulator delivers what waits in its [`Store`]: receipts (stored with
//! their message, due when the message becomes final) and MO.
//!
//! One loop per node looks at [`Store::due`] and, for each account with a receiver
//! bound on this node and something due, starts one drain. A drain claims what is
//! due (at most [`DRAIN_BATCH`] at a time), pushes it to the account's receivers,
//! acks what the ESME took or refused for good, and releases the rest for a retry.
//! The loop sleeps until the earliest due time among the accounts it can serve, a
//! wake-up (a bind, a new delivery due earlier than that, a drain ending), or, on a
//! shared store where other nodes add deliveries, [`SimulatorConfig::store_poll`].
//! An entry claimed by a node that died comes back after the store's claim timeout.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use metrics::SharedString;
use smpp_pdu::{CommandStatus, DeliverSm, InterfaceVersion, Tlvs};
use smpp_session::{Request, SendError};
use tokio::sync::Notify;

use super::Simulator;
#[cfg(doc)]
use super::SimulatorConfig;
use crate::handle::{PushError, PushResult, ServerHandle};
#[cfg(doc)]
use crate::store::Store;
use crate::store::{Entry, EntryId};

/// Deliveries one drain claims at a time (pushed together: the session queues what
/// its window cannot take yet).
pub(crate) const DRAIN_BATCH: usize = 256;

/// How soon a delivery whose session went away (it closed before answering, or
/// left the registry) is tried again, on another receiver if one is bound.
const GONE_RETRY_MS: u64 = 10;

/// Milliseconds since the Unix epoch on tokio's clock (virtual in tests): the wall
/// clock read once at the start, plus the time elapsed since.
#[derive(Debug)]
pub(crate) struct Clock {
    epoch_ms: u64,
    base: tokio::time::Instant,
}

impl Clock {
    pub(crate) fn new() -> Self {
        let epoch_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        Self { epoch_ms, base: tokio::time::Instant::now() }
    }

    pub(crate) fn now_ms(&self) -> u64 {
        self.epoch_ms.saturating_add(u64::try_from(self.base.elapsed().as_millis()).unwrap_or(u64::MAX))
    }

    /// The tokio instant of `ms`.
    pub(crate) fn instant_at(&self, ms: u64) -> tokio::time::Instant {
        let after = Duration::from_millis(ms.saturating_sub(self.epoch_ms).min(u64::from(u32::MAX)));
        self.base + after
    }

    /// The wall-clock time of `ms`.
    pub(crate) fn system_time(ms: u64) -> std::time::SystemTime {
        std::time::UNIX_EPOCH + Duration::from_millis(ms)
    }
}

/// The delivery loop's state.
#[derive(Debug)]
pub(crate) struct Deliveries {
    /// Wakes the loop.
    wake: Arc<Notify>,
    /// The time the loop will look next: a delivery due earlier wakes it.
    next_look: AtomicU64,
    /// Accounts with a drain under way.
    draining: Mutex<HashSet<String>>,
    /// When the store's depth is read next for the `smpp_store_waiting` gauge.
    sampled_at: AtomicU64,
    /// The gauge's labels set last time.
    labelled: Mutex<HashSet<SharedString>>,
}

/// How often the delivery loop reads the store's depth, at most.
const DEPTH_EVERY_MS: u64 = 1_000;

impl Deliveries {
    pub(crate) fn new() -> Self {
        Self {
            wake: Arc::new(Notify::new()),
            next_look: AtomicU64::new(0),
            draining: Mutex::default(),
            sampled_at: AtomicU64::new(0),
            labelled: Mutex::default(),
        }
    }

    /// A delivery is due at `due_ms`: wake the loop if it would look later.
    pub(crate) fn due_at(&self, due_ms: u64) {
        if self.next_look.fetch_min(due_ms, Ordering::AcqRel) > due_ms {
            self.wake.notify_one();
        }
    }

    /// Something changed (a receiver bound, a drain ended): look now.
    pub(crate) fn wake(&self) {
        self.wake.notify_one();
    }

    fn labelled(&self) -> std::sync::MutexGuard<'_, HashSet<SharedString>> {
        self.labelled.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn draining(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.draining.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Simulator {
    /// The delivery loop of this node; ends with the simulator or its server.
    pub(crate) async fn run_deliveries(this: Weak<Self>, server: ServerHandle) {
        loop {
            let Some(sim) = this.upgrade() else { return };
            if server.is_shutting_down() {
                return;
            }
            let now = sim.clock.now_ms();
            // While looking, any delivery added wakes the loop again (it may have
            // come too late for this look to see it).
            sim.deliveries.next_look.store(u64::MAX, Ordering::Release);
            let next = sim.look(&server, now).await;
            sim.deliveries.next_look.store(next, Ordering::Release);
            let wake = sim.deliveries.wake.clone();
            let at = sim.clock.instant_at(next);
            drop(sim);
            tokio::select! {
                () = tokio::time::sleep_until(at) => {}
                () = wake.notified() => {}
            }
        }
    }

    /// Starts a drain of every account due by `now` with a receiver bound here;
    /// returns when to look next.
    async fn look(self: &Arc<Self>, server: &ServerHandle, now: u64) -> u64 {
        let poll = u64::try_from(self.config.store_poll.as_millis()).unwrap_or(u64::MAX);
        // On a store of its own, this node hears of every change; on a shared one,
        // other nodes add deliveries too.
        let mut next = if self.shared { now.saturating_add(poll) } else { now.saturating_add(3_600_000) };
        let due = match self.store.due().await {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!(%e, "the store cannot say what is due; looking again in a second");
                return now + 1_000;
            }
        };
        // The depth gauge: read at most once a second, and again a second later
        // while any account has deliveries (or had at the last reading).
        if !self.config.store_depth_metric {
            // No depth gauge asked for.
        } else if now >= self.deliveries.sampled_at.load(Ordering::Acquire) {
            self.sample_depth(&due).await;
            self.deliveries.sampled_at.store(now.saturating_add(DEPTH_EVERY_MS), Ordering::Release);
        }
        if self.config.store_depth_metric && (!due.is_empty() || !self.deliveries.labelled().is_empty()) {
            next = next.min(self.deliveries.sampled_at.load(Ordering::Acquire));
        }
        for (account, at) in due {
            if !has_receiver(server, &account) {
                // Its receiver's bind wakes the loop.
                continue;
            }
            if at <= now {
                self.start_drain(server, account);
            } else {
                next = next.min(at);
            }
        }
        next
    }

    /// Sets the `smpp_store_waiting` gauge of each account with deliveries (and
    /// back to 0 for those that had some at the last reading).
    async fn sample_depth(&self, due: &[(String, u64)]) {
        let mut by_label: HashMap<SharedString, usize> = HashMap::new();
        for (account, _) in due {
            match self.store.waiting(account).await {
                Ok(n) => *by_label.entry(smpp_tokio::metrics::account_label(account)).or_default() += n,
                Err(e) => {
                    tracing::debug!(%account, %e, "cannot read the account's waiting deliveries");
                    return;
                }
            }
        }
        let mut labelled = self.deliveries.labelled();
        for gone in labelled.iter().filter(|l| !by_label.contains_key(*l)) {
            metrics::gauge!("smpp_store_waiting", "account" => gone.clone()).set(0.0);
        }
        for (label, n) in &by_label {
            metrics::gauge!("smpp_store_waiting", "account" => label.clone()).set(*n as f64);
        }
        *labelled = by_label.into_keys().collect();
    }

    fn start_drain(self: &Arc<Self>, server: &ServerHandle, account: String) {
        if !self.deliveries.draining().insert(account.clone()) {
            return;
        }
        let sim = self.clone();
        let server = server.clone();
        tokio::spawn(async move {
            sim.drain(&server, &account).await;
            sim.deliveries.draining().remove(&account);
            sim.deliveries.wake();
        });
    }

    /// Delivers what is due for `account` until nothing is, a delivery has to wait
    /// for a retry, or no receiver is left.
    async fn drain(&self, server: &ServerHandle, account: &str) {
        loop {
            if !has_receiver(server, account) {
                return;
            }
            let now = self.clock.now_ms();
            let entries = match self.store.claim(account, now, DRAIN_BATCH).await {
                Ok(entries) if entries.is_empty() => return,
                Ok(entries) => entries,
                Err(e) => {
                    tracing::warn!(%account, %e, "the store cannot hand out deliveries");
                    return;
                }
            };
            let mut pushes = tokio::task::JoinSet::new();
            for entry in entries {
                let server = server.clone();
                let account = account.to_owned();
                pushes.spawn(async move {
                    let result = push(&server, &account, &entry.delivery.deliver).await;
                    (entry, result)
                });
            }
            let mut wait = false;
            while let Some(joined) = pushes.join_next().await {
                // A push task cannot panic short of a bug; its entry then comes back
                // when its claim times out.
                let Ok((entry, result)) = joined else { continue };
                wait |= !self.settle(account, &entry, &result).await;
            }
            if wait {
                return;
            }
        }
    }

    /// Acks or releases a pushed entry by its outcome; `false` if it has to wait.
    async fn settle(&self, account: &str, entry: &Entry, result: &PushResult) -> bool {
        let kind = kind(&entry.delivery.deliver);
        match outcome(result) {
            Outcome::Delivered => {
                self.ack(account, &entry.id).await;
                match kind {
                    "receipt" => &self.receipts_delivered,
                    _ => &self.mo_delivered,
                }
                .fetch_add(1, Ordering::Relaxed);
                true
            }
            Outcome::Rejected => {
                self.reject(account, kind, result);
                self.ack(account, &entry.id).await;
                true
            }
            Outcome::Retry => {
                let now = self.clock.now_ms();
                let gone = matches!(result, Err(PushError::NoReceiver(_) | PushError::Closed(_)));
                let delay = if gone { GONE_RETRY_MS } else { millis(self.config.retry_delay) };
                let at = now.saturating_add(delay);
                tracing::debug!(%account, kind, attempts = entry.attempts + 1, result = ?result.as_ref().map(|r| r.0), "not delivered now: kept for a retry");
                if let Err(e) = self.store.release(&entry.id, at).await {
                    tracing::warn!(%account, %e, "cannot release a delivery: it comes back when its claim times out");
                }
                self.deliveries.due_at(at);
                false
            }
        }
    }

    async fn ack(&self, account: &str, id: &EntryId) {
        if let Err(e) = self.store.ack(id).await {
            tracing::warn!(%account, %e, "cannot ack a delivery: it may be delivered again");
        }
    }

    /// Counts and logs a delivery the ESME refused for good.
    pub(crate) fn reject(&self, account: &str, kind: &str, result: &PushResult) {
        self.rejected.fetch_add(1, Ordering::Relaxed);
        match result {
            Ok((status, _)) => tracing::info!(%account, kind, %status, "refused for good by the ESME: dropped"),
            Err(e) => tracing::info!(%account, kind, %e, "the session cannot carry it: dropped"),
        }
    }
}

pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// What a deliver_sm is, for the logs.
pub(crate) fn kind(d: &DeliverSm) -> &'static str {
    match d.esm_class.0 & 0x3c {
        0x04 => "receipt",
        0x20 => "notification",
        _ => "MO",
    }
}

/// What comes of a delivery after a push.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(crate) enum Outcome {
    /// The ESME took it (`ESME_ROK`).
    Delivered,
    /// Try again later: no receiver was bound, the session it went to closed before
    /// answering (the ESME may have seen it: receipts and MO are delivered at least
    /// once), the ESME asked for a retry (`ESME_RX_T_APPN`, `ESME_RTHROTTLED`,
    /// `ESME_RMSGQFUL`) or did not answer in time, or the session's push queue was
    /// full or it was unbinding.
    Retry,
    /// Dropped: the ESME refused it with any other status, or the session cannot
    /// carry it.
    Rejected,
}

pub(crate) fn outcome(result: &PushResult) -> Outcome {
    match result {
        Ok((status, _)) if status.is_ok() => Outcome::Delivered,
        Ok((status, _)) if temporary(*status) => Outcome::Retry,
        Ok(_) => Outcome::Rejected,
        Err(PushError::NoReceiver(_) | PushError::Closed(_) | PushError::Timeout | PushError::QueueFull) => {
            Outcome::Retry
        }
        Err(PushError::Refused(SendError::NotBound | SendError::Unbinding | SendError::WindowFull)) => Outcome::Retry,
        Err(_) => Outcome::Rejected,
    }
}

/// Whether an ESME's answer to a push asks the SMSC to try again later.
fn temporary(status: CommandStatus) -> bool {
    [CommandStatus::ESME_RX_T_APPN, CommandStatus::ESME_RTHROTTLED, CommandStatus::ESME_RMSGQFUL].contains(&status)
}

/// Whether a session of `account` can take pushes now.
pub(crate) fn has_receiver(server: &ServerHandle, account: &str) -> bool {
    server.account_sessions(account).iter().any(|s| s.info.mode.smsc_sends())
}

/// Pushes a deliver_sm (kept in its v3.4 form) to a receiver of `account`: whole to
/// a v3.4 session, without its TLVs to a v3.3 one.
pub(crate) async fn push(server: &ServerHandle, account: &str, deliver: &DeliverSm) -> PushResult {
    if deliver.tlvs.is_empty() {
        return server.push(account, Request::DeliverSm(deliver.clone())).await;
    }
    let v34 = Request::DeliverSm(deliver.clone());
    let pushed = server.push_where(account, v34, crate::SessionInfo::tlvs_allowed).await;
    if !matches!(pushed, Err(PushError::NoReceiver(_))) {
        return pushed;
    }
    let mut v33 = deliver.clone();
    v33.tlvs = Tlvs::default();
    server.push_where(account, Request::DeliverSm(v33), |s| !s.tlvs_allowed()).await
}

/// The version a stored receipt is kept in.
pub(crate) const STORED_VERSION: InterfaceVersion = InterfaceVersion::V34;
