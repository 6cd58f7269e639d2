//! The gateway: customers bind to it, their submits go to upstream SMSCs, and the
//! upstreams' receipts and MO come back to them. See [`Gateway`].

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use bytes::Bytes;
use smpp_client::{
    BindMode, ClientConfig, Fate, Inbound, InboundMessage, LinkState, Pool, Reconnect, RequestError, ThrottleRetry,
    TlsOptions, tcp_connector,
};
use smpp_session::Request;
use smpp_wire::{
    Address, CommandStatus, DataSm, DeliverSm, InterfaceVersion, MessageState, OctetString, SubmitSm, Tlv, TlvTag,
};

use super::{IdKey, Route, RouteError, Router, Target, Upstream, lookup_keys, rewrite_receipt, to_v33};
use crate::blocks::DeliveryReceipt;
use crate::delivery::{
    GONE_RETRY_MS, Outcome, Outlet, Pump, STORED_VERSION, Verdict, has_receiver, kind, millis, outcome, push,
};
use crate::handle::{PushError, ServerHandle};
use crate::handler::{BindInfo, BoundSession, Defer, Grant, Limits, Reply, SmscHandler};
use crate::rules::{check_bind, now_or_never, receipt_asked, v33_violation};
use crate::store::{Delivery, Entry, IdLink, MemoryStore, Store, StoreError, StoreLimits};
use crate::{Server, ServerConfig};

/// When the gateway answers a customer's submit.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub enum Policy {
    /// Store and forward (the default): the submit is answered `ESME_ROK` with the
    /// gateway's message_id as soon as it is in the store, and goes upstream from
    /// there, again after a gateway restart. An upstream's refusal then comes back
    /// as a receipt (`stat:REJECTD`, `err:` the status) if the customer asked for
    /// one.
    #[default]
    StoreAndForward,
    /// Pass-through: the submit is answered when the upstream answers it: `ESME_ROK`
    /// with the gateway's message_id, or the upstream's error status. No upstream
    /// bound to take it: `ESME_RTHROTTLED` (try again later). An upstream that does
    /// not answer (the outcome is unknown): the gateway takes the message over as in
    /// store and forward (sent again, and counted in [`GatewayStats::unknown`]) and
    /// answers `ESME_ROK`.
    PassThrough,
}

/// What the gateway does. Its `Debug` shows no password.
#[non_exhaustive]
#[derive(Clone)]
pub struct GatewayConfig {
    /// The customers: system_id to password.
    pub accounts: HashMap<String, String>,
    /// Per-customer limits (window, throttle, most binds).
    pub limits: HashMap<String, Limits>,
    /// The system_type customers must bind with (`None`: any).
    pub system_type: Option<String>,
    /// The upstream SMSCs, by name.
    pub upstreams: Vec<Upstream>,
    /// The routes, tried in order (see [`Router`]).
    pub routes: Vec<Route>,
    /// Where submits no route takes go (empty: refused `ESME_RINVDSTADR`).
    pub fallback: Vec<Target>,
    /// MO routing: (destination prefix, account). The longest prefix that begins
    /// the MO's destination wins (a short code is a prefix of itself; `""` takes
    /// every MO). An MO no prefix takes is refused `ESME_RINVDSTADR` and counted.
    pub mo_routes: Vec<(String, String)>,
    /// When customers' submits are answered.
    pub policy: Policy,
    /// Where accepted submits, id links, receipts and MO are kept (`None`: a
    /// [`MemoryStore`] bounded by [`waiting`](Self::waiting)). A submit waiting
    /// for a connector counts against the connector's bound of waiting entries (the
    /// store's per-account bound): past it, the customer gets `ESME_RTHROTTLED`.
    pub store: Option<Arc<dyn Store>>,
    /// Entries one queue (a customer's receipts and MO, a connector's submits) may
    /// hold in the default memory store (default 10 000). Above half of it submits
    /// queued by this node for one connector, customers' answers are held (at most
    /// 1 s) until the queue is back at that mark: back-pressure before the store's
    /// bound refuses them.
    pub waiting: usize,
    /// How long an upstream's message id is kept for its receipts (default 3 days).
    pub id_ttl: Duration,
    /// How long after a temporary failure a submit or delivery is tried again
    /// (default 1 s).
    pub retry_delay: Duration,
    /// How long a forwarded submit may take, throttle retries included, before its
    /// outcome is unknown (default 20 s). Keep it below the store's claim timeout
    /// ([`StoreLimits::claim_timeout_ms`]): past that, another node on a shared store
    /// takes the submit over and sends it too (`smpp serve` keeps it below half).
    pub forward_timeout: Duration,
    /// Attempts to forward a submit before it expires (a `stat:EXPIRED` receipt if
    /// asked for; default 100). Each time it is taken from the queue to be sent
    /// counts, a send that did not go (throttled, the link down for longer than
    /// its short wait) too; nothing is taken while its connector is down.
    pub max_attempts: u32,
    /// How long an upstream receipt that arrives before its submit's answer was
    /// filed waits for it (default 2 s).
    pub receipt_wait: Duration,
    /// How often a node on a shared store looks for entries other nodes added
    /// (default 200 ms).
    pub store_poll: Duration,
}

impl std::fmt::Debug for GatewayConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut accounts: Vec<&String> = self.accounts.keys().collect();
        accounts.sort();
        f.debug_struct("GatewayConfig")
            .field("accounts", &accounts)
            .field("limits", &self.limits)
            .field("system_type", &self.system_type)
            .field("upstreams", &self.upstreams)
            .field("routes", &self.routes)
            .field("fallback", &self.fallback)
            .field("mo_routes", &self.mo_routes)
            .field("policy", &self.policy)
            .field("store", &self.store)
            .field("waiting", &self.waiting)
            .field("id_ttl", &self.id_ttl)
            .field("retry_delay", &self.retry_delay)
            .field("forward_timeout", &self.forward_timeout)
            .field("max_attempts", &self.max_attempts)
            .field("receipt_wait", &self.receipt_wait)
            .field("store_poll", &self.store_poll)
            .finish()
    }
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            accounts: HashMap::new(),
            limits: HashMap::new(),
            system_type: None,
            upstreams: Vec::new(),
            routes: Vec::new(),
            fallback: Vec::new(),
            mo_routes: Vec::new(),
            policy: Policy::default(),
            store: None,
            waiting: 10_000,
            id_ttl: Duration::from_secs(3 * 24 * 3600),
            retry_delay: Duration::from_secs(1),
            forward_timeout: Duration::from_secs(20),
            max_attempts: 100,
            receipt_wait: Duration::from_secs(2),
            store_poll: Duration::from_millis(200),
        }
    }
}

/// Why a gateway cannot start.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// Two upstreams have one name.
    #[error("two upstreams are named {0:?}: give each its own name (?name=...)")]
    DuplicateUpstream(String),
    /// A route names an upstream that is not configured.
    #[error("a route sends to {0:?}, which is no upstream")]
    UnknownUpstream(String),
    /// A route sends to an upstream bound as a receiver, which cannot submit.
    #[error("a route sends to {0:?}, which binds as a receiver (rx) and cannot submit")]
    ReceiveOnly(String),
    /// The routes are not valid.
    #[error(transparent)]
    Route(#[from] RouteError),
    /// No upstream is configured.
    #[error("no upstream: give at least one")]
    NoUpstream,
    /// The listener could not start.
    #[error("cannot listen: {0}")]
    Io(#[from] std::io::Error),
}

/// The gateway's counts so far (on this node).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub struct GatewayStats {
    /// Customer submits accepted (stored, or answered by the upstream).
    pub accepted: u64,
    /// Submits an upstream accepted.
    pub forwarded: u64,
    /// Submits an upstream refused for good (error status other than throttling).
    pub refused: u64,
    /// Submits sent again because the first send's outcome was unknown (no answer
    /// in time, the link lost while waiting): the upstream may have them twice.
    pub unknown: u64,
    /// Submits that ran out of attempts.
    pub expired: u64,
    /// Customer submits refused `ESME_RTHROTTLED`: their connector's queue is at
    /// its bound, or (pass-through) no connector is bound.
    pub throttled: u64,
    /// Customer submits refused `ESME_RINVDSTADR`: no route takes them.
    pub no_route: u64,
    /// Upstream receipts matched to a customer's message and stored for it.
    pub receipts_matched: u64,
    /// Upstream receipts no forwarded message matched: logged, acknowledged, and
    /// not delivered.
    pub receipts_unmatched: u64,
    /// Receipts the customers took.
    pub receipts_delivered: u64,
    /// Upstream MO routed to an account and stored for it.
    pub mo_routed: u64,
    /// Upstream MO no MO route takes: refused.
    pub mo_unrouted: u64,
    /// MO the customers took.
    pub mo_delivered: u64,
    /// Receipts and MO a customer refused for good.
    pub rejected: u64,
}

#[derive(Debug, Default)]
struct Counters {
    accepted: AtomicU64,
    forwarded: AtomicU64,
    refused: AtomicU64,
    unknown: AtomicU64,
    expired: AtomicU64,
    throttled: AtomicU64,
    no_route: AtomicU64,
    receipts_matched: AtomicU64,
    receipts_unmatched: AtomicU64,
    receipts_delivered: AtomicU64,
    mo_routed: AtomicU64,
    mo_unrouted: AtomicU64,
    mo_delivered: AtomicU64,
    rejected: AtomicU64,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// Where the gateway's per-message log lines go (at debug): one line per step,
/// with both ids.
pub const GATEWAY_TARGET: &str = "smpp::gateway";

/// Receipts matched only by a converted number after which a connector is taken to
/// convert its ids.
const LEARN_AFTER: u32 = 3;

/// What a receipt's id matched.
#[derive(Debug)]
enum Matched {
    Link(IdLink),
    /// Its text and a number point to two messages, from an upstream whose
    /// receipts have matched by number before.
    Ambiguous,
    None,
}

/// How long a receipt waits for a match by its id as given before a looser match
/// (hex for decimal, padded, cut) is taken.
const LOOSE_GRACE: Duration = Duration::from_millis(100);

/// How long a customer's answer is held at most while its connector's queue is
/// above its high-water mark (see [`Gateway::hold`]).
const HOLD_MAX: Duration = Duration::from_secs(1);

/// A connector's queue in the store: this character, then its name (no SMPP
/// system_id a customer binds with begins with it: such accounts are refused).
const QUEUE_MARK: char = '\u{2192}';

/// The vendor-specific TLVs a stored submit carries its customer's account and the
/// gateway's message id in (removed from what customers send, and before it goes
/// upstream).
const ACCOUNT_TAG: TlvTag = TlvTag(0x1720);
const ID_TAG: TlvTag = TlvTag(0x1721);

/// One upstream SMSC: its binds (once connected) and its queue.
#[derive(Debug)]
struct Connector {
    upstream: Upstream,
    queue: String,
    /// Its binds, each request with the forward timeout.
    pool: OnceLock<Pool>,
    /// Receipts matched only by a converted number (hexadecimal for decimal); from
    /// [`LEARN_AFTER`] on (or declared with `ids=converted`), receipts are matched by
    /// number only.
    converted: AtomicU32,
    /// It refused a bind for good (bad password, unknown system_id): routes skip
    /// it, and what waits for it is refused.
    dead: AtomicBool,
    /// Submits this node queued for it and not yet done with (approximate: what
    /// other nodes queue, or a restart found, is not counted).
    queued: AtomicUsize,
    /// The queue went down to its high-water mark: held answers go out.
    drained: tokio::sync::Notify,
}

impl Connector {
    fn sends(&self) -> bool {
        self.upstream.bind != "rx"
    }

    fn up(&self) -> bool {
        self.pool.get().is_some_and(|p| p.binds_up() > 0)
    }

    fn version(&self) -> InterfaceVersion {
        InterfaceVersion(self.upstream.version)
    }
}

/// The gateway's [`SmscHandler`]: `smpp serve --upstream`.
///
/// - Customers bind with the accounts of [`GatewayConfig::accounts`] (v3.3 rules
///   as in the simulator: no transceiver, no data_sm, no TLVs).
/// - A submit_sm (or data_sm, sent upstream as a submit_sm) is routed to a
///   connector ([`Router`]); no route: `ESME_RINVDSTADR`. Store and forward
///   (default): it is stored in its connector's queue and answered at once with the
///   gateway's message_id; the queue is sent upstream by the store's delivery loop,
///   at least once: a send whose outcome is unknown is sent again, counted. A
///   refused submit gets a `REJECTD` receipt, one that runs out of attempts an
///   `EXPIRED` one, if asked for. See [`Policy`] for pass-through.
/// - When the submit asks for a receipt (or a notification), the upstream's
///   submit_sm_resp id is filed in the store under every form a
///   receipt may give it ([`file_keys`](super::file_keys)). The upstream's receipt
///   is matched ([`lookup_keys`]: by its text, as the specification has it; by its
///   number converted for an upstream declared `ids=converted` or seen to convert),
///   rewritten to carry the gateway's id
///   ([`rewrite_receipt`]), stored for the customer and then acknowledged
///   upstream; it reaches the customer on any node that has a receiver of its
///   account bound. An unmatched receipt is logged, counted and acknowledged.
/// - An upstream that refuses the gateway's bind for good is skipped by the routes,
///   and what waits for it is refused (a `REJECTD` receipt, `err:013`).
/// - MO from an upstream goes to the account of the longest matching MO route.
/// - A long message passes part by part: a UDH as it is, SAR TLVs as they are to a
///   v3.4 peer and as a UDH to a v3.3 one ([`to_v33`]).
/// - submit_multi, query_sm, cancel_sm and replace_sm are refused
///   `ESME_RINVCMDID`: the upstream knows the message by another id.
/// - Each step is logged at debug on [`GATEWAY_TARGET`] with both ids.
pub struct Gateway {
    config: GatewayConfig,
    /// The delivery loop, and the store and clock it owns.
    pump: Pump,
    router: Mutex<Router>,
    connectors: HashMap<String, Arc<Connector>>,
    /// MO routes, longest prefix first.
    mo_routes: Vec<(String, String)>,
    counters: Counters,
    this: Weak<Self>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway").field("config", &self.config).finish_non_exhaustive()
    }
}

/// A running gateway.
#[derive(Clone, Debug)]
pub struct GatewayHandle {
    /// The server customers bind to.
    pub server: ServerHandle,
    gateway: Arc<Gateway>,
}

impl GatewayHandle {
    /// The address customers connect to.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// The counts so far.
    pub fn stats(&self) -> GatewayStats {
        self.gateway.stats()
    }

    /// Whether the upstream `name` has a bind up.
    pub fn upstream_up(&self, name: &str) -> bool {
        self.gateway.connectors.get(name).is_some_and(|c| c.up())
    }

    /// Submits waiting in the store for the upstream `name` (queued or in flight).
    pub async fn upstream_waiting(&self, name: &str) -> Result<usize, StoreError> {
        self.gateway.pump.store.waiting(&queue_of(name)).await
    }

    /// The store the gateway keeps its messages in.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.gateway.pump.store
    }

    /// Stops accepting, unbinds the customers (waiting up to `grace`), then the
    /// upstreams.
    pub async fn shutdown(&self, grace: Duration) -> usize {
        let n = self.server.shutdown(grace).await;
        for c in self.gateway.connectors.values() {
            if let Some(pool) = c.pool.get() {
                pool.unbind().await;
            }
        }
        n
    }
}

fn queue_of(connector: &str) -> String {
    format!("{QUEUE_MARK}{connector}")
}

impl Gateway {
    /// The gateway as a handler, for a [`Server`] you run yourself; call
    /// [`attach`](Self::attach) with the server's handle before it serves.
    pub fn new(config: GatewayConfig) -> Result<Arc<Self>, GatewayError> {
        if config.upstreams.is_empty() {
            return Err(GatewayError::NoUpstream);
        }
        let mut connectors = HashMap::new();
        for up in &config.upstreams {
            let queue = queue_of(&up.name);
            let c = Connector {
                upstream: up.clone(),
                queue,
                pool: OnceLock::new(),
                converted: AtomicU32::new(if up.converted_ids { LEARN_AFTER } else { 0 }),
                dead: AtomicBool::new(false),
                queued: AtomicUsize::new(0),
                drained: tokio::sync::Notify::new(),
            };
            if connectors.insert(up.name.clone(), Arc::new(c)).is_some() {
                return Err(GatewayError::DuplicateUpstream(up.name.clone()));
            }
        }
        let targets = config.routes.iter().flat_map(|r| r.targets.iter()).chain(config.fallback.iter());
        for t in targets {
            match connectors.get(&t.connector) {
                None => return Err(GatewayError::UnknownUpstream(t.connector.clone())),
                Some(c) if !c.sends() => return Err(GatewayError::ReceiveOnly(t.connector.clone())),
                Some(_) => {}
            }
        }
        let router = Router::new(config.routes.clone(), config.fallback.clone())?;
        let store = config.store.clone().unwrap_or_else(|| {
            let limits = StoreLimits { max_waiting_per_account: config.waiting, ..StoreLimits::default() };
            Arc::new(MemoryStore::new(limits))
        });
        let mut mo_routes = config.mo_routes.clone();
        mo_routes.sort_by_key(|(prefix, _)| std::cmp::Reverse(prefix.len()));
        let pump = Pump::new(store, config.store_poll, false);
        Ok(Arc::new_cyclic(|this| Self {
            pump,
            router: Mutex::new(router),
            connectors,
            mo_routes,
            counters: Counters::default(),
            this: this.clone(),
            config,
        }))
    }

    /// Connects the gateway to the server it runs in, starts its delivery loop and
    /// binds to every upstream (in the background: a customer's submit for an
    /// upstream not bound yet waits in its queue). Returns its handle.
    pub fn attach(self: &Arc<Self>, server: ServerHandle) -> GatewayHandle {
        tokio::spawn(crate::delivery::run(Arc::downgrade(self), server.clone()));
        for connector in self.connectors.values() {
            tokio::spawn(Self::connect(Arc::downgrade(self), connector.clone()));
        }
        GatewayHandle { server, gateway: self.clone() }
    }

    /// Starts a gateway on `server_config.listen`.
    pub async fn start(server_config: ServerConfig, config: GatewayConfig) -> Result<GatewayHandle, GatewayError> {
        let gateway = Self::new(config)?;
        let server = Server::new(server_config.clone(), gateway.clone());
        let handle = gateway.attach(server.handle());
        server.listen(server_config.listen).await?;
        tracing::info!(addr = %handle.local_addr(), upstreams = gateway.connectors.len(), "gateway listening");
        Ok(handle)
    }

    /// Starts a gateway listening for TLS (feature `tls`).
    #[cfg(feature = "tls")]
    pub async fn start_tls(
        server_config: ServerConfig,
        config: GatewayConfig,
        acceptor: smpp_tokio::tls::tokio_rustls::TlsAcceptor,
    ) -> Result<GatewayHandle, GatewayError> {
        let gateway = Self::new(config)?;
        let server = Server::new(server_config.clone(), gateway.clone());
        let handle = gateway.attach(server.handle());
        server.listen_tls(server_config.listen, acceptor).await?;
        tracing::info!(addr = %handle.local_addr(), upstreams = gateway.connectors.len(), "gateway listening (TLS)");
        Ok(handle)
    }

    fn stats(&self) -> GatewayStats {
        let c = &self.counters;
        let n = |a: &AtomicU64| a.load(Ordering::Relaxed);
        GatewayStats {
            accepted: n(&c.accepted),
            forwarded: n(&c.forwarded),
            refused: n(&c.refused),
            unknown: n(&c.unknown),
            expired: n(&c.expired),
            throttled: n(&c.throttled),
            no_route: n(&c.no_route),
            receipts_matched: n(&c.receipts_matched),
            receipts_unmatched: n(&c.receipts_unmatched),
            receipts_delivered: n(&c.receipts_delivered),
            mo_routed: n(&c.mo_routed),
            mo_unrouted: n(&c.mo_unrouted),
            mo_delivered: n(&c.mo_delivered),
            rejected: n(&c.rejected),
        }
    }

    fn client_config(&self, up: &Upstream) -> ClientConfig {
        let mode = match up.bind.as_str() {
            "tx" => BindMode::Transmitter,
            "rx" => BindMode::Receiver,
            _ => BindMode::Transceiver,
        };
        let reconnect =
            Reconnect::default().initial(Duration::from_millis(200)).max(Duration::from_secs(30)).down_wait(
                // A request waits this long for the link, then is tried again later.
                Duration::from_secs(2),
            );
        ClientConfig::new(&up.host, up.port, &up.system_id, &up.password)
            .bind_mode(mode)
            .system_type(&up.system_type)
            .interface_version(InterfaceVersion(up.version))
            .window(up.window)
            .bind_timeout(up.bind_timeout)
            .rate_limit(up.rate.map(|r| r / up.binds.max(1) as f64))
            .reconnect(Some(reconnect))
            .auto_ack(false)
            .retry_throttled(Some(ThrottleRetry::default().deadline(self.config.forward_timeout / 2)))
            .tls(up.tls.then(TlsOptions::default))
    }

    /// Binds to an upstream (trying again with back-off until it binds, or it
    /// refuses for good), then serves what it sends.
    async fn connect(this: Weak<Self>, connector: Arc<Connector>) {
        let Some(gw) = this.upgrade() else { return };
        let config = gw.client_config(&connector.upstream);
        let name = connector.upstream.name.clone();
        let timeout = gw.config.forward_timeout;
        drop(gw);
        let binds = connector.upstream.binds;
        let (pool, incoming) = match Pool::connect_each_via(config.clone(), tcp_connector(&config), binds).await {
            Ok(bound) => bound,
            Err(e) => {
                tracing::error!(upstream = %name, %e, "the upstream refused the bind for good: routes skip it, and what waits for it is refused");
                connector.dead.store(true, Ordering::Relaxed);
                if let Some(gw) = this.upgrade() {
                    gw.pump.wake();
                }
                return;
            }
        };
        tracing::info!(upstream = %name, binds, "upstream bound");
        for client in pool.clients() {
            let mut events = client.link_events();
            let (this, name) = (this.clone(), name.clone());
            tokio::spawn(async move {
                while let Some(state) = events.recv().await {
                    let Some(gw) = this.upgrade() else { return };
                    match state {
                        LinkState::Up { .. } => {
                            tracing::info!(upstream = %name, "upstream link up");
                            gw.pump.wake();
                        }
                        LinkState::Down(reason) => tracing::info!(upstream = %name, %reason, "upstream link down"),
                        LinkState::Refused(status) => {
                            tracing::error!(upstream = %name, %status, "the upstream refused the bind for good: routes skip it, and what waits for it is refused");
                            if let Some(c) = gw.connectors.get(&name) {
                                c.dead.store(true, Ordering::Relaxed);
                            }
                            gw.pump.wake();
                        }
                        _ => {}
                    }
                }
            });
        }
        let _ = connector.pool.set(pool.timeout(timeout));
        for mut inbound in incoming {
            let this = this.clone();
            let name = name.clone();
            tokio::spawn(async move {
                while let Some(message) = inbound.recv().await {
                    let Some(gw) = this.upgrade() else { return };
                    let name = name.clone();
                    tokio::spawn(async move { gw.upstream_sent(&name, message).await });
                }
            });
        }
        if let Some(gw) = this.upgrade() {
            gw.pump.wake();
        }
    }

    /// The connector for a submit of `account` to `destination`: one that is up,
    /// else (when `any`) the first that would take it once up.
    fn route(&self, account: &str, destination: &str, any: bool) -> Option<Arc<Connector>> {
        let mut router = self.router.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let up = |name: &str| self.connectors.get(name).is_some_and(|c| c.up());
        let alive = |name: &str| self.connectors.get(name).is_some_and(|c| !c.dead.load(Ordering::Relaxed));
        let name = match router.pick(account, destination, up) {
            Some(name) => name.to_owned(),
            None if any => router.pick(account, destination, alive)?.to_owned(),
            None => return None,
        };
        self.connectors.get(&name).cloned()
    }

    fn me(&self) -> Option<Arc<Self>> {
        self.this.upgrade()
    }

    /// Files the upstream's id of a forwarded message under every form a receipt
    /// may give it.
    async fn link(&self, connector: &str, upstream_id: &str, account: &str, ours: &str) {
        let keys: Vec<String> = super::file_keys(upstream_id).iter().map(|k| format!("{connector}/{k}")).collect();
        let now = self.pump.clock.now_ms();
        let until = now.saturating_add(millis(self.config.id_ttl));
        if let Err(e) = self.pump.store.link_ids(keys, IdLink::new(account, ours), now, until).await {
            tracing::warn!(target: GATEWAY_TARGET, %account, message_id = %ours, %upstream_id, upstream = %connector, %e, "cannot file the upstream id: its receipt will not match");
        }
    }

    /// A receipt for a message that will not reach the upstream, if the customer
    /// asked for one (registered_delivery 1 or 2).
    async fn fail(&self, asked: Asked, account: &str, ours: &str, state: MessageState, error: u16) {
        if !matches!(asked.registered_delivery & 0x03, 1 | 2) {
            return;
        }
        let mut r = DeliveryReceipt::new(ours, asked.source, asked.destination, state);
        r.error = error;
        let now = self.pump.clock.now_ms();
        match self.pump.store.enqueue(Delivery::new(account, now, r.to_deliver_sm(STORED_VERSION))).await {
            Ok(_) => self.pump.due_at(account, now),
            Err(e) => {
                tracing::warn!(target: GATEWAY_TARGET, %account, message_id = %ours, %e, "the failure receipt cannot be stored: dropped")
            }
        }
    }

    /// Sends one stored submit upstream; once done with it, lets held answers go
    /// when its queue is back at its high-water mark.
    async fn forward(&self, connector: &Connector, entry: Entry) -> Verdict {
        let verdict = self.forward_one(connector, entry).await;
        if verdict == Verdict::Done {
            // Saturating: what this node did not queue (another node's, from before a
            // restart) is not counted.
            let before = connector
                .queued
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| Some(n.saturating_sub(1)))
                .unwrap_or(0);
            if before == self.high_water() + 1 {
                // Down to the mark: the answers held go.
                connector.drained.notify_waiters();
            }
        }
        verdict
    }

    /// Above this many submits queued for a connector, customers' answers are held
    /// until the queue drains back to it: half of [`GatewayConfig::waiting`].
    fn high_water(&self) -> usize {
        self.config.waiting / 2
    }

    /// Waits, at most `HOLD_MAX`, until `connector`'s queue is at its high-water
    /// mark: a customer whose answers are held sends no faster than the upstream
    /// takes its messages, instead of running into `ESME_RTHROTTLED` at the bound.
    async fn hold(&self, connector: &Connector) {
        let until = tokio::time::Instant::now() + HOLD_MAX;
        loop {
            let drained = connector.drained.notified();
            tokio::pin!(drained);
            drained.as_mut().enable();
            if connector.queued.load(Ordering::Relaxed) <= self.high_water() {
                return;
            }
            if tokio::time::timeout_at(until, drained).await.is_err() {
                return;
            }
        }
    }

    /// Sends one stored submit upstream.
    async fn forward_one(&self, connector: &Connector, entry: Entry) -> Verdict {
        let retry = millis(self.config.retry_delay);
        let stored = entry.delivery.deliver;
        let Some((account, ours)) = origin(&stored) else {
            tracing::error!(target: GATEWAY_TARGET, upstream = %connector.upstream.name, "a stored submit has no account or id: dropped");
            return Verdict::Done;
        };
        let mut submit = stored;
        submit.tlvs.remove(ACCOUNT_TAG);
        submit.tlvs.remove(ID_TAG);
        let name = &connector.upstream.name;
        if connector.version() < InterfaceVersion::V34 {
            match to_v33(&submit) {
                Ok(v33) => submit = v33,
                Err(e) => {
                    tracing::info!(target: GATEWAY_TARGET, %account, message_id = %ours, upstream = %name, %e, "refused: no v3.3 form for the upstream");
                    bump(&self.counters.refused);
                    self.fail(Asked::of(&submit), &account, &ours, MessageState::REJECTED, 0).await;
                    return Verdict::Done;
                }
            }
        }
        if connector.dead.load(Ordering::Relaxed) {
            tracing::info!(target: GATEWAY_TARGET, %account, message_id = %ours, upstream = %name, "refused: the upstream refused the gateway's bind for good");
            bump(&self.counters.refused);
            let err = u16::try_from(CommandStatus::ESME_RBINDFAIL.0).unwrap_or(u16::MAX);
            self.fail(Asked::of(&submit), &account, &ours, MessageState::REJECTED, err).await;
            return Verdict::Done;
        }
        if entry.attempts >= self.config.max_attempts {
            tracing::info!(target: GATEWAY_TARGET, %account, message_id = %ours, upstream = %name, attempts = entry.attempts, "expired: out of attempts");
            bump(&self.counters.expired);
            self.fail(Asked::of(&submit), &account, &ours, MessageState::EXPIRED, 0).await;
            return Verdict::Done;
        }
        let Some(pool) = connector.pool.get() else { return Verdict::Retry(retry) };
        // What a failure receipt needs, kept instead of a copy of the submit.
        let asked = Asked::of(&submit);
        let failure = match pool.submit(submit).await {
            Ok(s) => {
                bump(&self.counters.forwarded);
                tracing::debug!(target: GATEWAY_TARGET, %account, message_id = %ours, upstream = %name, upstream_id = %s.message_id, "forwarded");
                if receipt_asked(asked.registered_delivery) {
                    self.link(name, &s.message_id.to_string(), &account, &ours).await;
                }
                return Verdict::Done;
            }
            Err(e) => e,
        };
        match failure.fate() {
            Fate::Refused if matches!(failure, RequestError::Throttled | RequestError::QueueFull) => {
                tracing::debug!(target: GATEWAY_TARGET, %account, message_id = %ours, upstream = %name, %failure, "throttled upstream: kept for a retry");
                Verdict::Retry(retry)
            }
            Fate::Refused => {
                let status = match failure {
                    RequestError::Status(s) => s,
                    _ => CommandStatus::ESME_RSUBMITFAIL,
                };
                bump(&self.counters.refused);
                tracing::info!(target: GATEWAY_TARGET, %account, message_id = %ours, upstream = %name, %status, "refused upstream");
                let err = u16::try_from(status.0).unwrap_or(u16::MAX);
                self.fail(asked, &account, &ours, MessageState::REJECTED, err).await;
                Verdict::Done
            }
            Fate::NeverSent if matches!(failure, RequestError::Send(_) | RequestError::Encode(_)) => {
                bump(&self.counters.refused);
                tracing::info!(target: GATEWAY_TARGET, %account, message_id = %ours, upstream = %name, %failure, "cannot be sent upstream");
                self.fail(asked, &account, &ours, MessageState::REJECTED, 0).await;
                Verdict::Done
            }
            Fate::NeverSent => Verdict::Retry(retry),
            // Fate is non-exhaustive: anything else may have gone out.
            _ => {
                bump(&self.counters.unknown);
                tracing::warn!(target: GATEWAY_TARGET, %account, message_id = %ours, upstream = %name, %failure, "outcome unknown: sent again");
                Verdict::Retry(retry)
            }
        }
    }

    /// What an upstream sends: a receipt or an MO (each part of a long one).
    async fn upstream_sent(&self, connector: &str, inbound: Inbound) {
        let deliver = match &inbound.message {
            InboundMessage::Receipt(d) => {
                let d = d.clone();
                return self.upstream_receipt(connector, d, inbound).await;
            }
            InboundMessage::Deliver(d) | InboundMessage::Part { deliver: d, .. } => d.clone(),
            // An MO whose addresses do not fit a deliver_sm routes nowhere.
            InboundMessage::Data(d) => data_as_submit(d).unwrap_or_default(),
            // Parts were passed on one by one; alerts need no answer.
            _ => return,
        };
        self.upstream_mo(connector, deliver, inbound).await;
    }

    async fn upstream_receipt(&self, connector: &str, receipt: DeliverSm, inbound: Inbound) {
        let upstream_id = receipt
            .tlvs
            .receipted_message_id()
            .and_then(|id| id.as_str().map(str::to_owned))
            .or_else(|| smpp_wire::text::Receipt::from_deliver_sm(&receipt).and_then(|r| r.id));
        let Some(upstream_id) = upstream_id else {
            bump(&self.counters.receipts_unmatched);
            tracing::warn!(target: GATEWAY_TARGET, upstream = %connector, "unmatched receipt: it carries no message id");
            let _ = inbound.respond(CommandStatus::ESME_ROK);
            return;
        };
        let link = match self.match_receipt(connector, &upstream_id).await {
            Ok(Matched::Link(link)) => link,
            Ok(miss) => {
                bump(&self.counters.receipts_unmatched);
                let why = match miss {
                    Matched::Ambiguous => "its id is also another message's read another way: not delivered",
                    _ => "no message forwarded has this id",
                };
                tracing::warn!(target: GATEWAY_TARGET, upstream = %connector, %upstream_id, "unmatched receipt: {why}");
                let _ = inbound.respond(CommandStatus::ESME_ROK);
                return;
            }
            Err(e) => {
                tracing::warn!(target: GATEWAY_TARGET, upstream = %connector, %upstream_id, %e, "the store cannot match a receipt: the upstream sends it again");
                let _ = inbound.respond(CommandStatus::ESME_RX_T_APPN);
                return;
            }
        };
        let ours = match rewrite_receipt(&receipt, &link.id, STORED_VERSION) {
            Ok(ours) => ours,
            Err(e) => {
                bump(&self.counters.receipts_unmatched);
                tracing::warn!(target: GATEWAY_TARGET, upstream = %connector, %upstream_id, message_id = %link.id, %e, "receipt cannot be rewritten: not delivered");
                let _ = inbound.respond(CommandStatus::ESME_ROK);
                return;
            }
        };
        let now = self.pump.clock.now_ms();
        let status = match self.pump.store.enqueue(Delivery::new(&link.account, now, ours)).await {
            Ok(_) => {
                bump(&self.counters.receipts_matched);
                self.pump.due_at(&link.account, now);
                tracing::debug!(target: GATEWAY_TARGET, account = %link.account, message_id = %link.id, upstream = %connector, %upstream_id, "receipt matched: stored for the customer");
                CommandStatus::ESME_ROK
            }
            Err(StoreError::Full { .. }) => CommandStatus::ESME_RMSGQFUL,
            Err(e) => {
                tracing::warn!(target: GATEWAY_TARGET, account = %link.account, message_id = %link.id, %e, "receipt not stored: the upstream sends it again");
                CommandStatus::ESME_RX_T_APPN
            }
        };
        let _ = inbound.respond(status);
    }

    /// The message a receipt's id is the upstream's id of.
    ///
    /// The same digits can be two ids read two ways (`17` read as hexadecimal is
    /// 23), so which key counts first depends on how the upstream writes ids:
    /// - the same (the default, as the specification has it): the text
    ///   first; a number only when no text matches once [`LOOSE_GRACE`] has passed
    ///   (a receipt may overtake the filing of its own submit's answer). After
    ///   [`LEARN_AFTER`] receipts matched only by a number the connector is taken
    ///   to convert; after the first, a text and a number pointing to two messages
    ///   are an ambiguity, not delivered.
    /// - Converted (`ids=converted`, or learned): numbers only.
    ///
    /// A cut id is matched last, after the grace.
    async fn match_receipt(&self, connector: &str, upstream_id: &str) -> Result<Matched, StoreError> {
        let (mut exact, mut numbers, mut cut) = (Vec::new(), Vec::new(), Vec::new());
        for key in lookup_keys(upstream_id) {
            let text = format!("{connector}/{key}");
            match key {
                IdKey::Text(_) => exact.push(text),
                IdKey::Decimal(_) | IdKey::Hex(_) => numbers.push(text),
                IdKey::Cut(_) => cut.push(text),
            }
        }
        let Some(c) = self.connectors.get(connector) else { return Ok(Matched::None) };
        let converted = c.converted.load(Ordering::Relaxed) >= LEARN_AFTER;
        let started = tokio::time::Instant::now();
        let mut pause = Duration::from_millis(2);
        loop {
            let late = started.elapsed() >= LOOSE_GRACE;
            let now = self.pump.clock.now_ms();
            let by_text = match converted {
                true => None,
                false => self.pump.store.find_link(exact.clone(), now).await?,
            };
            let by_number = match (converted, &by_text) {
                (_, _) if numbers.is_empty() => None,
                (true, _) => self.pump.store.find_link(numbers.clone(), now).await?,
                // Only to see an ambiguity, once numbers have matched alone.
                (false, Some(_)) if c.converted.load(Ordering::Relaxed) > 0 => {
                    self.pump.store.find_link(numbers.clone(), now).await?
                }
                (false, None) if late => self.pump.store.find_link(numbers.clone(), now).await?,
                _ => None,
            };
            match (by_text, by_number) {
                (Some(t), Some(n)) if t != n => return Ok(Matched::Ambiguous),
                (Some(t), _) => return Ok(Matched::Link(t)),
                (None, Some(n)) => {
                    if !converted && c.converted.fetch_add(1, Ordering::Relaxed) + 1 == LEARN_AFTER {
                        tracing::info!(target: GATEWAY_TARGET, upstream = %connector, "the upstream writes receipt ids converted (hexadecimal for decimal): matched by number from now on");
                    }
                    return Ok(Matched::Link(n));
                }
                (None, None) if late && !cut.is_empty() => {
                    if let Some(link) = self.pump.store.find_link(cut.clone(), now).await? {
                        return Ok(Matched::Link(link));
                    }
                }
                _ => {}
            }
            if started.elapsed() >= self.config.receipt_wait {
                return Ok(Matched::None);
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(200));
        }
    }

    async fn upstream_mo(&self, connector: &str, mo: DeliverSm, inbound: Inbound) {
        let to = String::from_utf8_lossy(mo.destination_addr.addr.as_bytes()).into_owned();
        let from = String::from_utf8_lossy(mo.source_addr.addr.as_bytes()).into_owned();
        let Some(account) = self.mo_account(&to) else {
            bump(&self.counters.mo_unrouted);
            tracing::warn!(target: GATEWAY_TARGET, upstream = %connector, %from, %to, "MO refused: no MO route takes its destination");
            let _ = inbound.respond(CommandStatus::ESME_RINVDSTADR);
            return;
        };
        let now = self.pump.clock.now_ms();
        let status = match self.pump.store.enqueue(Delivery::new(&account, now, mo)).await {
            Ok(_) => {
                bump(&self.counters.mo_routed);
                self.pump.due_at(&account, now);
                tracing::debug!(target: GATEWAY_TARGET, %account, upstream = %connector, %from, %to, "MO routed: stored for the customer");
                CommandStatus::ESME_ROK
            }
            Err(StoreError::Full { .. }) => CommandStatus::ESME_RMSGQFUL,
            Err(e) => {
                tracing::warn!(target: GATEWAY_TARGET, %account, %e, "MO not stored: the upstream sends it again");
                CommandStatus::ESME_RX_T_APPN
            }
        };
        let _ = inbound.respond(status);
    }

    fn mo_account(&self, destination: &str) -> Option<String> {
        let to = destination.trim_start_matches('+');
        self.mo_routes.iter().find(|(prefix, _)| to.starts_with(prefix.trim_start_matches('+'))).map(|(_, a)| a.clone())
    }

    /// Stores a customer's submit in its connector's queue; its message id, or the
    /// status to refuse it with.
    async fn enqueue(
        &self,
        account: String,
        connector: Arc<Connector>,
        submit: SubmitSm,
    ) -> Result<String, CommandStatus> {
        let id = self.pump.store.next_message_id().await.map_err(|e| store_failed(&account, &e))?;
        self.queue_as(account, connector, submit, id).await
    }

    /// Stores a customer's submit, with the message id `id`, in its connector's
    /// queue.
    async fn queue_as(
        &self,
        account: String,
        connector: Arc<Connector>,
        submit: SubmitSm,
        id: String,
    ) -> Result<String, CommandStatus> {
        let mut stored = submit;
        stored.tlvs.push(Tlv::Unknown { tag: ACCOUNT_TAG, value: octets(&account) });
        stored.tlvs.push(Tlv::Unknown { tag: ID_TAG, value: octets(&id) });
        let now = self.pump.clock.now_ms();
        match self.pump.store.enqueue(Delivery::new(&connector.queue, now, stored)).await {
            Ok(_) => {
                connector.queued.fetch_add(1, Ordering::Relaxed);
                self.pump.due_at(&connector.queue, now);
                bump(&self.counters.accepted);
                tracing::debug!(target: GATEWAY_TARGET, %account, message_id = %id, upstream = %connector.upstream.name, "accepted: queued for the upstream");
                Ok(id)
            }
            Err(StoreError::Full { max, .. }) => {
                bump(&self.counters.throttled);
                tracing::debug!(target: GATEWAY_TARGET, %account, upstream = %connector.upstream.name, max, "throttled: the upstream's queue is full");
                Err(CommandStatus::ESME_RTHROTTLED)
            }
            Err(e) => Err(store_failed(&account, &e)),
        }
    }

    /// Pass-through: the customer's answer is the upstream's.
    async fn pass_through(
        self: Arc<Self>,
        account: String,
        connector: Arc<Connector>,
        submit: SubmitSm,
    ) -> Result<String, CommandStatus> {
        let name = connector.upstream.name.clone();
        let Some(pool) = connector.pool.get() else {
            bump(&self.counters.throttled);
            return Err(CommandStatus::ESME_RTHROTTLED);
        };
        let mut outgoing = submit.clone();
        if connector.version() < InterfaceVersion::V34 {
            outgoing = to_v33(&submit).map_err(|_| CommandStatus::ESME_ROPTPARNOTALLWD)?;
        }
        // Our id first: once the upstream has it, the customer must get an id.
        let id = self.pump.store.next_message_id().await.map_err(|e| store_failed(&account, &e))?;
        match pool.submit(outgoing).await {
            Ok(s) => {
                bump(&self.counters.accepted);
                bump(&self.counters.forwarded);
                tracing::debug!(target: GATEWAY_TARGET, %account, message_id = %id, upstream = %name, upstream_id = %s.message_id, "forwarded (pass-through)");
                if receipt_asked(submit.registered_delivery.0) {
                    self.link(&name, &s.message_id.to_string(), &account, &id).await;
                }
                Ok(id)
            }
            Err(e) => match e.fate() {
                Fate::Refused => Err(match e {
                    RequestError::Status(s) => s,
                    RequestError::QueueFull => CommandStatus::ESME_RMSGQFUL,
                    _ => CommandStatus::ESME_RTHROTTLED,
                }),
                Fate::NeverSent => {
                    bump(&self.counters.throttled);
                    tracing::debug!(target: GATEWAY_TARGET, %account, upstream = %name, %e, "not sent upstream: throttled");
                    Err(CommandStatus::ESME_RTHROTTLED)
                }
                _ => {
                    // It may have gone: the gateway takes it over and sends it again.
                    bump(&self.counters.unknown);
                    tracing::warn!(target: GATEWAY_TARGET, %account, message_id = %id, upstream = %name, %e, "outcome unknown: stored to be sent again");
                    self.queue_as(account, connector, submit, id).await
                }
            },
        }
    }
}

/// What a failure receipt needs of a submit: its addresses, and the receipts it
/// asked for.
#[derive(Clone, Copy)]
struct Asked {
    source: Address<21>,
    destination: Address<21>,
    registered_delivery: u8,
}

impl Asked {
    fn of(submit: &SubmitSm) -> Self {
        Self {
            source: submit.source_addr,
            destination: submit.destination_addr,
            registered_delivery: submit.registered_delivery.0,
        }
    }
}

fn store_failed(account: &str, e: &StoreError) -> CommandStatus {
    tracing::warn!(target: GATEWAY_TARGET, %account, %e, "submit refused: the store failed");
    CommandStatus::ESME_RSYSERR
}

fn octets(text: &str) -> OctetString<65535> {
    OctetString::new(Bytes::copy_from_slice(text.as_bytes())).unwrap_or_default()
}

/// The customer's account and the gateway's id a stored submit carries.
fn origin(stored: &SubmitSm) -> Option<(String, String)> {
    let value = |tag| match stored.tlvs.get(tag) {
        Some(Tlv::Unknown { value, .. }) => std::str::from_utf8(value.as_bytes()).ok().map(str::to_owned),
        _ => None,
    };
    Some((value(ACCOUNT_TAG)?, value(ID_TAG)?))
}

/// A data_sm as the submit_sm (or deliver_sm: the same body) that says the same,
/// its text in message_payload; `None` if its addresses do not fit.
fn data_as_submit(d: &DataSm) -> Option<SubmitSm> {
    let addr = |a: &Address<65>| Address::<21>::new(a.ton, a.npi, a.addr.as_bytes()).ok();
    let mut s = SubmitSm::default();
    s.service_type = d.service_type;
    s.source_addr = addr(&d.source_addr)?;
    s.destination_addr = addr(&d.destination_addr)?;
    s.esm_class = d.esm_class;
    s.registered_delivery = d.registered_delivery;
    s.data_coding = d.data_coding;
    s.tlvs = d.tlvs.clone();
    Some(s)
}

impl Outlet for Gateway {
    fn pump(&self) -> &Pump {
        &self.pump
    }

    fn ready(&self, server: &ServerHandle, queue: &str) -> bool {
        match queue.strip_prefix(QUEUE_MARK) {
            // A dead connector's queue drains too: into refusals.
            Some(name) => self.connectors.get(name).is_some_and(|c| c.up() || c.dead.load(Ordering::Relaxed)),
            None => has_receiver(server, queue),
        }
    }

    fn deliver(
        self: Arc<Self>,
        server: ServerHandle,
        queue: String,
        entry: Entry,
    ) -> impl Future<Output = Verdict> + Send + 'static {
        // Each kind boxed on its own: a drain keeps many in flight, and the smaller
        // each is, the more of them stay in the CPU's caches.
        let delivery: Pin<Box<dyn Future<Output = Verdict> + Send>> = match queue.strip_prefix(QUEUE_MARK) {
            Some(name) => match self.connectors.get(name).cloned() {
                Some(connector) => Box::pin(async move { self.forward(&connector, entry).await }),
                // A connector no longer configured: its queue waits for it.
                None => Box::pin(std::future::ready(Verdict::Retry(millis(self.config.retry_delay)))),
            },
            None => Box::pin(async move { self.to_customer(&server, &queue, &entry).await }),
        };
        delivery
    }
}

impl Gateway {
    /// Pushes a receipt or MO to a receiver of the customer's account.
    async fn to_customer(&self, server: &ServerHandle, account: &str, entry: &Entry) -> Verdict {
        let deliver = &entry.delivery.deliver;
        let result = push(server, account, deliver).await;
        let kind = kind(deliver);
        let id = deliver.tlvs.receipted_message_id().and_then(|i| i.as_str().map(str::to_owned)).unwrap_or_default();
        match outcome(&result) {
            Outcome::Delivered => {
                bump(if kind == "MO" { &self.counters.mo_delivered } else { &self.counters.receipts_delivered });
                tracing::debug!(target: GATEWAY_TARGET, %account, kind, message_id = %id, "delivered to the customer");
                Verdict::Done
            }
            Outcome::Rejected => {
                bump(&self.counters.rejected);
                tracing::info!(target: GATEWAY_TARGET, %account, kind, message_id = %id, result = ?result.as_ref().map(|r| r.0), "refused for good by the customer: dropped");
                Verdict::Done
            }
            Outcome::Retry => {
                let gone = matches!(result, Err(PushError::NoReceiver(_) | PushError::Closed(_)));
                Verdict::Retry(if gone { GONE_RETRY_MS } else { millis(self.config.retry_delay) })
            }
        }
    }
}

impl SmscHandler for Gateway {
    type Account = ();

    async fn authenticate(&self, bind: &BindInfo) -> Result<Grant<()>, CommandStatus> {
        let system_id = check_bind(bind, &self.config.accounts, self.config.system_type.as_deref(), false)?;
        if system_id.starts_with(QUEUE_MARK) {
            return Err(CommandStatus::ESME_RINVSYSID);
        }
        let limits = self.config.limits.get(&system_id).cloned().unwrap_or_default();
        Ok(Grant::new(()).limits(limits))
    }

    fn on_request(&self, session: &BoundSession<()>, request: Request, defer: Defer<'_>) -> Option<Reply> {
        if let Some(status) = v33_violation(session.version, &session.system_id, &request) {
            return Some(Reply::error(&request, status));
        }
        let submit = match &request {
            Request::SubmitSm(s) => Some(s.clone()),
            Request::DataSm(d) => data_as_submit(d),
            _ => return Some(Reply::error(&request, CommandStatus::ESME_RINVCMDID)),
        };
        let Some(mut submit) = submit else { return Some(Reply::error(&request, CommandStatus::ESME_RINVDSTADR)) };
        // Our own TLVs are ours alone.
        submit.tlvs.remove(ACCOUNT_TAG);
        submit.tlvs.remove(ID_TAG);
        let account = session.system_id.clone();
        let destination = String::from_utf8_lossy(submit.destination_addr.addr.as_bytes()).into_owned();
        let pass = self.config.policy == Policy::PassThrough;
        let Some(connector) = self.route(&account, &destination, !pass) else {
            if self.route(&account, &destination, true).is_some() {
                bump(&self.counters.throttled);
                return Some(Reply::error(&request, CommandStatus::ESME_RTHROTTLED));
            }
            bump(&self.counters.no_route);
            tracing::info!(target: GATEWAY_TARGET, %account, %destination, "refused: no route");
            return Some(Reply::error(&request, CommandStatus::ESME_RINVDSTADR));
        };
        let gw = self.me()?;
        let answer = |request: &Request, result: Result<String, CommandStatus>| match result {
            Ok(id) => Reply::accepted(request, &id),
            Err(status) => Reply::error(request, status),
        };
        if pass {
            let responder = defer.responder();
            tokio::spawn(async move {
                let result = gw.pass_through(account, connector, submit).await;
                responder.respond(answer(&request, result));
            });
            return None;
        }
        let held = connector.queued.load(Ordering::Relaxed) >= self.high_water();
        let mut queued = Box::pin(async move {
            let result = gw.enqueue(account, connector.clone(), submit).await;
            if result.is_ok() && held {
                gw.hold(&connector).await;
            }
            result
        });
        // A store that answers at once, and a queue below its high-water mark: no
        // task.
        if !held && let Some(result) = now_or_never(queued.as_mut()) {
            return Some(answer(&request, result));
        }
        let responder = defer.responder();
        tokio::spawn(async move {
            let result = queued.await;
            responder.respond(answer(&request, result));
        });
        None
    }

    fn on_bound(&self, session: &BoundSession<()>) {
        tracing::info!(account = %session.system_id, mode = ?session.mode, version = ?session.version, "customer bound");
        if session.mode.smsc_sends() {
            self.pump.wake();
        }
    }
}
