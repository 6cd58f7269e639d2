//! How an SMSC delivers what waits in its [`Store`]: receipts (stored with their
//! message, due when the message becomes final), MO, and, for the gateway, the
//! submits waiting for an upstream connector.
//!
//! A [`Pump`] is one loop per node. It looks at [`Store::due`] and, for each queue
//! (an account, or a gateway connector) that its [`Outlet`] can serve on this node
//! and has something due, starts one drain. A drain claims what is due (at most
//! [`DRAIN_BATCH`] at a time), hands each entry to the outlet, acks what the outlet
//! is done with, and releases the rest for a retry. The loop sleeps until the
//! earliest due time among the queues it can serve, a wake-up (a bind, a new
//! delivery due earlier than that, a drain ending), or, on a shared store where other
//! nodes add deliveries, its poll interval. An entry claimed by a node that died
//! comes back after the store's claim timeout.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use metrics::SharedString;
use smpp_session::{Request, SendError};
use smpp_wire::{CommandStatus, DeliverSm, InterfaceVersion, Tlvs};
use tokio::sync::Notify;

use crate::handle::{PushError, PushResult, ServerHandle};
use crate::store::{Entry, EntryId, Store};

/// Deliveries one drain claims at a time (pushed together: the session queues what
/// its window cannot take yet).
pub(crate) const DRAIN_BATCH: usize = 64;

/// How soon a delivery whose session went away (it closed before answering, or
/// left the registry) is tried again, on another receiver if one is bound.
pub(crate) const GONE_RETRY_MS: u64 = 10;

/// Milliseconds since the Unix epoch on tokio's clock (virtual in tests): the wall
/// clock read once at the start, plus the time elapsed since.
#[derive(Clone, Copy, Debug)]
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

/// What becomes of an entry an [`Outlet`] was given.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(crate) enum Verdict {
    /// Done with it (delivered, or refused for good): it leaves the store.
    Done,
    /// Keep it: due again this many milliseconds from now.
    Retry(u64),
}

/// Where a [`Pump`] delivers to.
pub(crate) trait Outlet: Send + Sync + 'static {
    /// Its pump.
    fn pump(&self) -> &Pump;

    /// Whether `queue`'s deliveries can go out from this node now (a receiver of the
    /// account is bound here, the connector is up). When one becomes ready, the
    /// outlet wakes the pump.
    fn ready(&self, server: &ServerHandle, queue: &str) -> bool;

    /// Delivers one entry of `queue`.
    fn deliver(
        self: Arc<Self>,
        server: ServerHandle,
        queue: String,
        entry: Entry,
    ) -> impl Future<Output = Verdict> + Send + 'static;
}

/// The delivery loop's state.
#[derive(Debug)]
pub(crate) struct Pump {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Clock,
    /// Other nodes add deliveries to the store (look every `poll_ms`), and
    /// count binds and rates in it.
    pub(crate) shared: bool,
    poll_ms: u64,
    /// Whether to read the store's depth into the `smpp_store_waiting` gauge.
    depth_metric: bool,
    /// Wakes the loop.
    wake: Arc<Notify>,
    /// The time the loop will look next: a delivery due earlier wakes it.
    next_look: AtomicU64,
    /// Queues with a drain under way.
    draining: Mutex<HashSet<String>>,
    /// When the store's depth is read next for the `smpp_store_waiting` gauge.
    sampled_at: AtomicU64,
    /// The gauge's labels set last time.
    labelled: Mutex<HashSet<SharedString>>,
}

/// How often the delivery loop reads the store's depth, at most.
const DEPTH_EVERY_MS: u64 = 1_000;

impl Pump {
    pub(crate) fn new(store: Arc<dyn Store>, poll: Duration, depth_metric: bool) -> Self {
        Self {
            shared: store.shared(),
            store,
            clock: Clock::new(),
            poll_ms: millis(poll),
            depth_metric,
            wake: Arc::new(Notify::new()),
            next_look: AtomicU64::new(0),
            draining: Mutex::default(),
            sampled_at: AtomicU64::new(0),
            labelled: Mutex::default(),
        }
    }

    /// A delivery of `queue` is due at `due_ms`: wake the loop if it would look
    /// later, unless a drain of the queue is under way (it claims what comes while
    /// it runs, and wakes the loop when it ends).
    pub(crate) fn due_at(&self, queue: &str, due_ms: u64) {
        if self.draining().contains(queue) {
            return;
        }
        if self.next_look.fetch_min(due_ms, Ordering::AcqRel) > due_ms {
            self.wake.notify_one();
        }
    }

    /// Something changed (a receiver bound, a connector came up, a drain ended):
    /// look now.
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

/// The delivery loop of this node; ends with the outlet or its server.
pub(crate) async fn run<O: Outlet>(this: Weak<O>, server: ServerHandle) {
    loop {
        let Some(outlet) = this.upgrade() else { return };
        if server.is_shutting_down() {
            return;
        }
        let pump = outlet.pump();
        let now = pump.clock.now_ms();
        // While looking, any delivery added wakes the loop again (it may have come
        // too late for this look to see it).
        pump.next_look.store(u64::MAX, Ordering::Release);
        let next = look(&outlet, &server, now).await;
        let pump = outlet.pump();
        pump.next_look.store(next, Ordering::Release);
        let wake = pump.wake.clone();
        let at = pump.clock.instant_at(next);
        drop(outlet);
        tokio::select! {
            () = tokio::time::sleep_until(at) => {}
            () = wake.notified() => {}
        }
    }
}

/// Starts a drain of every queue due by `now` that the outlet can serve here;
/// returns when to look next.
async fn look<O: Outlet>(outlet: &Arc<O>, server: &ServerHandle, now: u64) -> u64 {
    let pump = outlet.pump();
    // On a store of its own, this node hears of every change; on a shared one, other
    // nodes add deliveries too.
    let mut next = if pump.shared { now.saturating_add(pump.poll_ms) } else { now.saturating_add(3_600_000) };
    let due = match pump.store.due().await {
        Ok(due) => due,
        Err(e) => {
            tracing::warn!(%e, "the store cannot say what is due; looking again in a second");
            return now + 1_000;
        }
    };
    // The depth gauge: read at most once a second, and again a second later while
    // any queue has deliveries (or had at the last reading).
    if pump.depth_metric {
        if now >= pump.sampled_at.load(Ordering::Acquire) {
            sample_depth(pump, &due).await;
            pump.sampled_at.store(now.saturating_add(DEPTH_EVERY_MS), Ordering::Release);
        }
        if !due.is_empty() || !pump.labelled().is_empty() {
            next = next.min(pump.sampled_at.load(Ordering::Acquire));
        }
    }
    for (queue, at) in due {
        if !outlet.ready(server, &queue) {
            // Its receiver's bind (its connector's link) wakes the loop.
            continue;
        }
        if at <= now {
            start_drain(outlet, server, queue);
        } else {
            next = next.min(at);
        }
    }
    next
}

/// Sets the `smpp_store_waiting` gauge of each queue with deliveries (and back to 0
/// for those that had some at the last reading).
async fn sample_depth(pump: &Pump, due: &[(String, u64)]) {
    let mut by_label: HashMap<SharedString, usize> = HashMap::new();
    for (account, _) in due {
        match pump.store.waiting(account).await {
            Ok(n) => *by_label.entry(smpp_tokio::metrics::account_label(account)).or_default() += n,
            Err(e) => {
                tracing::debug!(%account, %e, "cannot read the account's waiting deliveries");
                return;
            }
        }
    }
    let mut labelled = pump.labelled();
    for gone in labelled.iter().filter(|l| !by_label.contains_key(*l)) {
        metrics::gauge!("smpp_store_waiting", "account" => gone.clone()).set(0.0);
    }
    for (label, n) in &by_label {
        metrics::gauge!("smpp_store_waiting", "account" => label.clone()).set(*n as f64);
    }
    *labelled = by_label.into_keys().collect();
}

fn start_drain<O: Outlet>(outlet: &Arc<O>, server: &ServerHandle, queue: String) {
    if !outlet.pump().draining().insert(queue.clone()) {
        return;
    }
    let outlet = outlet.clone();
    let server = server.clone();
    tokio::spawn(async move {
        drain(&outlet, &server, &queue).await;
        outlet.pump().draining().remove(&queue);
        outlet.pump().wake();
    });
}

/// A drain claims no more while a delivery it claimed this long ago is still in
/// flight: well before the stores' claim timeout (30 s by default), past which a
/// claim would hand that entry out again, to this drain too.
const STALE_AFTER: Duration = Duration::from_secs(15);

/// Deliveries one drain keeps in flight at most: it claims more as they settle, so
/// the outlet never waits for a whole batch to come back.
const IN_FLIGHT: usize = 4 * DRAIN_BATCH;

/// Delivers what is due for `queue` until nothing is, a delivery has to wait for a
/// retry, or the outlet cannot serve the queue any more; then lets what is in flight
/// settle.
async fn drain<O: Outlet>(outlet: &Arc<O>, server: &ServerHandle, queue: &str) {
    // Polled in this task: no task to spawn per delivery.
    let mut deliveries = futures::stream::FuturesUnordered::new();
    // When the deliveries in flight were claimed, and how many each time.
    let mut claims: std::collections::BTreeMap<tokio::time::Instant, usize> = std::collections::BTreeMap::new();
    // A delivery has to wait for a retry: claim no more.
    let mut wait = false;
    // The last claim found nothing: claim again once some have settled.
    let mut settled_since_empty: Option<usize> = None;
    loop {
        let fresh = claims.first_key_value().is_none_or(|(at, _)| at.elapsed() < STALE_AFTER);
        let room = deliveries.len() + DRAIN_BATCH <= IN_FLIGHT && fresh;
        let worth = settled_since_empty.is_none_or(|n| n >= DRAIN_BATCH / 4 || deliveries.is_empty());
        if !wait && room && worth && outlet.ready(server, queue) {
            let pump = outlet.pump();
            match pump.store.claim(queue, pump.clock.now_ms(), DRAIN_BATCH).await {
                Ok(entries) if entries.is_empty() => {
                    if deliveries.is_empty() {
                        return;
                    }
                    settled_since_empty = Some(0);
                }
                Ok(entries) => {
                    settled_since_empty = None;
                    let claimed_at = tokio::time::Instant::now();
                    *claims.entry(claimed_at).or_default() += entries.len();
                    for entry in entries {
                        let id = entry.id.clone();
                        let delivered = outlet.clone().deliver(server.clone(), queue.to_owned(), entry);
                        deliveries.push(async move { (id, claimed_at, delivered.await) });
                    }
                    continue;
                }
                Err(e) => {
                    tracing::warn!(%queue, %e, "the store cannot hand out deliveries; trying again in a second");
                    wait = true;
                    if deliveries.is_empty() {
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        return;
                    }
                }
            }
        }
        let Some((id, claimed_at, verdict)) = futures::StreamExt::next(&mut deliveries).await else { return };
        if let Some(n) = claims.get_mut(&claimed_at) {
            *n -= 1;
            if *n == 0 {
                claims.remove(&claimed_at);
            }
        }
        wait |= !settle(outlet.pump(), queue, &id, verdict).await;
        if let Some(n) = settled_since_empty.as_mut() {
            *n += 1;
        }
    }
}

/// Acks or releases an entry by its verdict; `false` if it has to wait.
async fn settle(pump: &Pump, queue: &str, id: &EntryId, verdict: Verdict) -> bool {
    match verdict {
        Verdict::Done => {
            if let Err(e) = pump.store.ack(id).await {
                tracing::warn!(%queue, %e, "cannot ack a delivery: it may be delivered again");
            }
            true
        }
        Verdict::Retry(after) => {
            let at = pump.clock.now_ms().saturating_add(after);
            if let Err(e) = pump.store.release(id, at).await {
                tracing::warn!(%queue, %e, "cannot release a delivery: it comes back when its claim times out");
            }
            // The drain stops claiming; when it ends, the loop looks again.
            pump.due_at(queue, at);
            false
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
    // A long message's SAR TLVs become a UDH; a message with no v3.3 form goes
    // without its TLVs (a receipt's text carries its id and state).
    let v33 = crate::gateway::to_v33(deliver).unwrap_or_else(|_| {
        let mut bare = deliver.clone();
        bare.tlvs = Tlvs::default();
        bare
    });
    server.push_where(account, Request::DeliverSm(v33), |s| !s.tlvs_allowed()).await
}

/// The version a stored receipt is kept in.
pub(crate) const STORED_VERSION: InterfaceVersion = InterfaceVersion::V34;
