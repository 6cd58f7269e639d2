//! The built-in SMSC simulator: the platform this stack serves, in a box.
//!
//! - Accounts come from configuration. A bind with an unknown system_id is refused
//!   `ESME_RINVSYSID`, a wrong password `ESME_RINVPASWD`; with
//!   [`SimulatorConfig::system_type`] set, any other system_type `ESME_RINVSYSTYP`.
//! - interface_version 0x34 and 0x50 are served as v3.4 (a v5.0 bind is answered
//!   as v3.4, the version this server offers); any other value is v3.3, and a v3.3
//!   client is held to v3.3 as the platform does (unless
//!   [`SimulatorConfig::lenient`]), each refusal logged with its reason:
//!   - bind_transceiver is refused `ESME_RINVCMDID` (v3.3 has no transceiver);
//!   - data_sm is refused `ESME_RINVCMDID` (v3.3 has no data_sm);
//!   - a submit_sm or submit_multi carrying TLVs is refused `ESME_ROPTPARNOTALLWD`
//!     (long messages must use a UDH);
//!   - no TLV is ever sent to it.
//! - Every submit (submit_sm, data_sm, submit_multi) gets a unique message_id (8 hex
//!   digits, valid for v3.3 too), counts in [`SimulatorHandle::submits`] and can be
//!   queried with query_sm. A submit_multi is one message for all its destinations:
//!   error injection (below) looks at its first destination, and it gets no receipt
//!   (its registered_delivery is not honoured).
//! - registered_delivery is honoured: 1, a receipt whatever the outcome; 2, only on
//!   failure; 3, only on success; bit 0x10, an intermediate notification (ENROUTE,
//!   esm_class 0x20) at once. The final state is [`SimulatorConfig::dlr_state`], or
//!   drawn from [`SimulatorConfig::dlr_mix`]. Receipts carry the submit and done
//!   dates and the decoded start of the text (in ASCII, see
//!   [`DeliveryReceipt::text`]); v3.4 binds also get the receipted_message_id and
//!   message_state TLVs. query_sm reports the state, and a
//!   final_date once the message is final.
//! - Nothing accepted is forgotten: every accepted message, and the receipt it will
//!   cause, is written to the [`Store`] ([`SimulatorConfig::store`]: memory by
//!   default, a SQLite file, or Redis shared by several nodes) before the submit is
//!   answered `ESME_ROK`. An account holding its store's most waiting deliveries
//!   gets `ESME_RMSGQFUL` for a submit asking for a receipt (counted in
//!   [`SimulatorHandle::queue_full`]); a store that fails gets `ESME_RSYSERR`.
//! - Receipts and MO are delivered at least once, from the store, on a receiver
//!   (RX or TRX) of their account bound to this node: while none is bound they wait
//!   in the store. An entry leaves the store only when the ESME answers `ESME_ROK`
//!   or refuses it for good (any status but the temporary ones: `ESME_RX_P_APPN`,
//!   `ESME_RX_R_APPN`, ...; dropped, logged and counted in
//!   [`SimulatorHandle::rejected`]). A temporary error (`ESME_RX_T_APPN`,
//!   `ESME_RTHROTTLED`, `ESME_RMSGQFUL`), no answer in time or a full push queue
//!   leaves it to be retried [`SimulatorConfig::retry_delay`] later; a session that
//!   closed before answering leaves it to the next receiver. A retried delivery may
//!   arrive after newer ones.
//! - On a shared store (Redis), several `smpp serve` nodes make one SMSC: any node
//!   takes binds for any account, a receipt goes out on whichever node has a
//!   receiver of its account bound, message ids are unique across nodes, and the
//!   per-account bind limit and throttle ([`SimulatorConfig::limits`]) count binds
//!   and submits of every node (binds as leases of [`SimulatorConfig::bind_lease`],
//!   renewed while bound, so a dead node's binds stop counting). Deliveries a dead
//!   node had claimed go out from another node after the store's claim timeout.
//! - MO messages can be injected ([`SimulatorHandle::inject_mo`]) or sent periodically.
//! - Optional throttling: past N submits a second per account, `ESME_RTHROTTLED`.
//! - Error injection by destination: a destination_addr of `999` followed by digits
//!   (`999` + decimal status, e.g. `99911` for `ESME_RINVDSTADR`, `99988` for
//!   `ESME_RTHROTTLED`, `99920` for `ESME_RMSGQFUL`) is answered with that status;
//!   exact destinations can also be mapped to a status in [`SimulatorConfig::errors`].
//! - Optional delay before each submit's answer ([`SimulatorConfig::resp_delay`]).
//! - Binds and messages are logged (tracing); passwords never are.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use smpp_session::{CloseReason, Request};
use smpp_wire::text::Decoded;
use smpp_wire::{
    Address, CommandStatus, DeliverSm, DestAddress, EsmClass, MessageState, Npi, QuerySmResp, ShortMessage, Ton,
};

use crate::blocks::DeliveryReceipt;
use crate::delivery::{
    Clock, GONE_RETRY_MS, Outcome, Outlet, Pump, STORED_VERSION, Verdict, has_receiver, kind, millis, outcome, push,
};
use crate::handle::{PushError, PushResult, ServerHandle};
use crate::handler::{BindInfo, BoundSession, Defer, Grant, Limits, Reply, SmscHandler};
use crate::rules::{check_bind, now_or_never, receipt_asked, v33_violation};
use crate::store::{Delivery, Done, MemoryStore, Message, Store, StoreError, StoreLimits};
use crate::{Server, ServerConfig};

/// What the simulator does. Its `Debug` shows the accounts, never their passwords.
///
/// With the feature `serde` it reads from a configuration file (and is never written
/// out: it holds passwords), each field by its name, what is left out keeping its
/// default; durations are text (`"1s"`, `"off"`); `store` cannot be read (give it
/// in code).
///
/// ```
/// # #[cfg(feature = "serde")] {
/// let config: smpp_server::SimulatorConfig = serde_json::from_str(
///     r#"{"accounts": {"acme": "secret"}, "dlr_delay": "200ms", "dlr_mix": [["DELIVERED", 9], ["EXPIRED", 1]],
///         "errors": {"999": "ESME_RINVDSTADR"}, "mo_every": "off"}"#,
/// ).unwrap();
/// assert_eq!(config.dlr_delay, std::time::Duration::from_millis(200));
/// # }
/// ```
#[non_exhaustive]
#[derive(Clone)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize), serde(default, deny_unknown_fields))]
pub struct SimulatorConfig {
    /// system_id to password.
    pub accounts: HashMap<String, String>,
    /// Per-account limits (window, throttle, most binds); accounts not named here
    /// get [`throttle`](Self::throttle) and the server's defaults.
    pub limits: HashMap<String, Limits>,
    /// The system_type binds must carry (`None`: any).
    pub system_type: Option<String>,
    /// Let v3.3 clients break v3.3 rules (transceiver, data_sm, TLVs).
    pub lenient: bool,
    /// How long after a submit its receipt goes out (default 1 s).
    #[cfg_attr(feature = "serde", serde(with = "smpp_session::serde_duration"))]
    pub dlr_delay: Duration,
    /// The final state receipts report when [`dlr_mix`](Self::dlr_mix) is empty
    /// (default DELIVERED).
    pub dlr_state: MessageState,
    /// Final states drawn at random with these weights (e.g. DELIVERED 90,
    /// UNDELIVERABLE 7, EXPIRED 3); empty: always [`dlr_state`](Self::dlr_state).
    pub dlr_mix: Vec<(MessageState, u32)>,
    /// The `err:` code receipts of failed messages report (default 0; delivered ones
    /// always report 000).
    pub dlr_err: u16,
    /// Submits per second per account before `ESME_RTHROTTLED` (default none).
    pub throttle: Option<u32>,
    /// Send an MO message to every account this often (default never; zero: never).
    /// A configuration file giving zero is refused.
    #[cfg_attr(feature = "serde", serde(deserialize_with = "not_zero"))]
    pub mo_every: Option<Duration>,
    /// Destinations answered with a fixed status.
    pub errors: HashMap<String, CommandStatus>,
    /// Wait this long before answering each submit (default none).
    #[cfg_attr(feature = "serde", serde(with = "smpp_session::serde_duration"))]
    pub resp_delay: Duration,
    /// Receipts and MO kept per account while no receiver is bound or until their
    /// retry (default 10 000), in the default memory store. A store given in
    /// [`store`](Self::store) has its own bound.
    pub waiting_per_account: usize,
    /// Where accepted messages, receipts and MO are kept (`None`: a [`MemoryStore`]
    /// bounded by [`waiting_per_account`](Self::waiting_per_account)).
    #[cfg_attr(feature = "serde", serde(skip))]
    pub store: Option<Arc<dyn Store>>,
    /// How long a bind counts against the cluster-wide bind limit unless its node
    /// renews it (every third of it, while bound), on a shared store (default 15 s).
    #[cfg_attr(feature = "serde", serde(with = "smpp_session::serde_duration"))]
    pub bind_lease: Duration,
    /// How often a node on a shared store looks for deliveries that other nodes
    /// added (default 200 ms).
    #[cfg_attr(feature = "serde", serde(with = "smpp_session::serde_duration"))]
    pub store_poll: Duration,
    /// How long after a temporary failure (`ESME_RX_T_APPN`, `ESME_RTHROTTLED`,
    /// `ESME_RMSGQFUL`, no answer in time, a full push queue) what waits for an
    /// account is pushed again (default 1 s).
    #[cfg_attr(feature = "serde", serde(with = "smpp_session::serde_duration"))]
    pub retry_delay: Duration,
    /// Read the store's depth once a second, per account with deliveries, into the
    /// `smpp_store_waiting{account}` gauge of the `metrics` facade (default off: the
    /// reads cost the store a query per account each second).
    pub store_depth_metric: bool,
}

/// An optional period that cannot be zero.
#[cfg(feature = "serde")]
fn not_zero<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Duration>, D::Error> {
    match smpp_session::serde_duration::option::deserialize(deserializer)? {
        Some(every) if every.is_zero() => Err(serde::de::Error::custom("a period of zero; use \"off\" for never")),
        every => Ok(every),
    }
}

impl std::fmt::Debug for SimulatorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut accounts: Vec<&String> = self.accounts.keys().collect();
        accounts.sort();
        f.debug_struct("SimulatorConfig")
            .field("accounts", &accounts)
            .field("limits", &self.limits)
            .field("system_type", &self.system_type)
            .field("lenient", &self.lenient)
            .field("dlr_delay", &self.dlr_delay)
            .field("dlr_state", &self.dlr_state)
            .field("dlr_mix", &self.dlr_mix)
            .field("dlr_err", &self.dlr_err)
            .field("throttle", &self.throttle)
            .field("mo_every", &self.mo_every)
            .field("errors", &self.errors)
            .field("resp_delay", &self.resp_delay)
            .field("waiting_per_account", &self.waiting_per_account)
            .field("retry_delay", &self.retry_delay)
            .field("store_depth_metric", &self.store_depth_metric)
            .field("store", &self.store)
            .field("bind_lease", &self.bind_lease)
            .field("store_poll", &self.store_poll)
            .finish()
    }
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        let mut accounts = HashMap::new();
        accounts.insert("smppclient1".to_owned(), "password".to_owned());
        Self {
            accounts,
            limits: HashMap::new(),
            system_type: None,
            lenient: false,
            dlr_delay: Duration::from_secs(1),
            dlr_state: MessageState::DELIVERED,
            dlr_mix: Vec::new(),
            dlr_err: 0,
            throttle: None,
            mo_every: None,
            errors: HashMap::new(),
            resp_delay: Duration::ZERO,
            waiting_per_account: 10_000,
            retry_delay: Duration::from_secs(1),
            store: None,
            bind_lease: Duration::from_secs(15),
            store_depth_metric: false,
            store_poll: Duration::from_millis(200),
        }
    }
}

impl SimulatorConfig {
    /// Parses a receipt mix such as `DELIVRD:90,UNDELIV:7,EXPIRED:3` (receipt `stat:`
    /// words or full state names).
    ///
    /// ```
    /// use smpp_server::SimulatorConfig;
    /// use smpp_server::smpp_wire::MessageState;
    /// let mix = SimulatorConfig::parse_dlr_mix("DELIVRD:90,UNDELIV:7,EXPIRED:3").unwrap();
    /// assert_eq!(mix[1], (MessageState::UNDELIVERABLE, 7));
    /// assert!(SimulatorConfig::parse_dlr_mix("DELIVRD:x").is_err());
    /// ```
    pub fn parse_dlr_mix(text: &str) -> Result<Vec<(MessageState, u32)>, String> {
        let mut mix = Vec::new();
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (stat, weight) = item.split_once(':').ok_or_else(|| format!("`{item}`: expected STATE:WEIGHT"))?;
            let state = parse_state(stat.trim()).ok_or_else(|| format!("`{stat}`: not a message state"))?;
            let weight: u32 = weight.trim().parse().map_err(|_| format!("`{weight}`: not a weight"))?;
            mix.push((state, weight));
        }
        if mix.iter().all(|(_, w)| *w == 0) {
            return Err("the mix has no weight".into());
        }
        Ok(mix)
    }
}

/// A state from a receipt word (`DELIVRD`) or its name (`DELIVERED`).
fn parse_state(word: &str) -> Option<MessageState> {
    MessageState::from_receipt_stat(word.as_bytes())
        .or_else(|| (0..=9).map(MessageState).find(|s| s.name().is_some_and(|n| n.eq_ignore_ascii_case(word))))
}

/// The simulator's [`SmscHandler`].
#[derive(Debug)]
pub struct Simulator {
    config: SimulatorConfig,
    /// This node's name in the store's bind leases.
    node: String,
    /// Binds numbered for their leases.
    binds: AtomicU64,
    /// The leases of this node's bound sessions (holder to account), renewed while
    /// they are bound.
    leases: Mutex<HashMap<String, String>>,
    /// The delivery loop, and the store and clock it owns.
    pump: Pump,
    server: OnceLock<ServerHandle>,
    submits: AtomicU64,
    /// Receipts the ESMEs took (answered `ESME_ROK`).
    receipts_delivered: AtomicU64,
    /// MO (and intermediate notifications) the ESMEs took.
    mo_delivered: AtomicU64,
    /// Receipts and MO the ESMEs refused for good.
    rejected: AtomicU64,
    /// MO not kept because the account's waiting deliveries were at their bound.
    dropped: AtomicU64,
    /// Submits refused `ESME_RMSGQFUL` because the account's waiting deliveries were
    /// at their bound.
    queue_full: AtomicU64,
    rng: Mutex<u64>,
    /// The last 100 long messages reassembled.
    long_messages: Mutex<Vec<smpp_wire::text::Assembled>>,
    /// Itself, for the tasks that send receipts later.
    this: std::sync::Weak<Self>,
}

/// A running simulator.
#[derive(Clone, Debug)]
pub struct SimulatorHandle {
    /// The server underneath.
    pub server: ServerHandle,
    simulator: Arc<Simulator>,
}

impl SimulatorHandle {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// Sends an MO message `text` from `from` to `to` to a receiver of `system_id`
    /// bound to this node, and returns the outcome of this first push. With no
    /// receiver bound it waits in the store for one (see the module docs), and this
    /// returns `Err(PushError::NoReceiver)`; so it does, returning
    /// `Err(PushError::Closed)`, when the receiver closes before answering it. After
    /// a temporary failure (`Ok` with `ESME_RX_T_APPN`, `ESME_RTHROTTLED` or
    /// `ESME_RMSGQFUL`, or `Err(PushError::Timeout)` or `Err(PushError::QueueFull)`)
    /// it is stored and retried later; after any other error status it is dropped
    /// (and counted in [`rejected`](Self::rejected)). An MO the store cannot keep
    /// (the account's bound, or a failing store) is counted in
    /// [`dropped`](Self::dropped).
    pub async fn inject_mo(&self, system_id: &str, from: &str, to: &str, text: &str) -> PushResult {
        self.simulator.send_mo(system_id, mo(from, to, text)).await
    }

    /// The most recent long messages the simulator reassembled (at most 100).
    pub fn long_messages(&self) -> Vec<smpp_wire::text::Assembled> {
        self.simulator.long_messages.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Submits (submit_sm, data_sm, submit_multi) accepted so far.
    pub fn submits(&self) -> u64 {
        self.simulator.submits.load(Ordering::Relaxed)
    }

    /// Receipts and MO of `system_id` in the store: not due yet, waiting for a
    /// receiver to bind or for their retry, or in flight.
    pub async fn waiting(&self, system_id: &str) -> Result<usize, StoreError> {
        self.simulator.pump.store.waiting(system_id).await
    }

    /// Receipts this node delivered (the ESME answered `ESME_ROK`).
    pub fn receipts_delivered(&self) -> u64 {
        self.simulator.receipts_delivered.load(Ordering::Relaxed)
    }

    /// MO messages (and intermediate notifications) this node delivered.
    pub fn mo_delivered(&self) -> u64 {
        self.simulator.mo_delivered.load(Ordering::Relaxed)
    }

    /// MO and intermediate (ENROUTE) notifications dropped because the store could
    /// not keep them (the account held its most waiting deliveries, or the store
    /// failed); not those the ESME refused: see [`rejected`](Self::rejected).
    pub fn dropped(&self) -> u64 {
        self.simulator.dropped.load(Ordering::Relaxed)
    }

    /// Submits refused `ESME_RMSGQFUL` because their account held its most waiting
    /// deliveries.
    pub fn queue_full(&self) -> u64 {
        self.simulator.queue_full.load(Ordering::Relaxed)
    }

    /// The store the simulator keeps its messages in.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.simulator.pump.store
    }

    /// Receipts and MO dropped because the ESME refused them for good: it answered
    /// with an error status other than the temporary `ESME_RX_T_APPN`,
    /// `ESME_RTHROTTLED` and `ESME_RMSGQFUL` (e.g. `ESME_RX_P_APPN`,
    /// `ESME_RX_R_APPN`), or its session could not carry them at all. Not counted in
    /// [`dropped`](Self::dropped).
    pub fn rejected(&self) -> u64 {
        self.simulator.rejected.load(Ordering::Relaxed)
    }

    /// Stops accepting, unbinds everyone, waits up to `grace`.
    pub async fn shutdown(&self, grace: Duration) -> usize {
        self.server.shutdown(grace).await
    }
}

impl Simulator {
    /// The simulator as a handler, for a [`Server`] you run yourself (over your own
    /// streams, in virtual time, ...). Call [`attach`](Self::attach) with the
    /// server's handle before it serves.
    pub fn new(config: SimulatorConfig) -> Arc<Self> {
        let seed = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64);
        let store = config.store.clone().unwrap_or_else(|| {
            let limits = StoreLimits { max_waiting_per_account: config.waiting_per_account, ..StoreLimits::default() };
            Arc::new(MemoryStore::new(limits))
        });
        let pump = Pump::new(store.clone(), config.store_poll, config.store_depth_metric);
        Arc::new_cyclic(|this| Self {
            pump,
            node: format!("{:016x}", seed ^ u64::from(std::process::id()).rotate_left(32)),
            binds: AtomicU64::new(0),
            leases: Mutex::default(),
            server: OnceLock::new(),
            submits: AtomicU64::new(0),
            receipts_delivered: AtomicU64::new(0),
            mo_delivered: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            queue_full: AtomicU64::new(0),
            rng: Mutex::new(seed | 1),
            long_messages: Mutex::new(Vec::new()),
            this: this.clone(),
            config,
        })
    }

    /// Connects the simulator to the server it runs in (for receipts and MO), and
    /// starts the periodic MO if configured. Returns its handle.
    pub fn attach(self: &Arc<Self>, server: ServerHandle) -> SimulatorHandle {
        let _ = self.server.set(server.clone());
        tokio::spawn(crate::delivery::run(Arc::downgrade(self), server.clone()));
        if self.pump.shared {
            tokio::spawn(Self::renew_leases(Arc::downgrade(self), server.clone()));
        }
        if let Some(every) = self.config.mo_every.filter(|every| !every.is_zero()) {
            let sim = self.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(every);
                tick.tick().await;
                loop {
                    tick.tick().await;
                    let accounts: Vec<String> = sim.config.accounts.keys().cloned().collect();
                    for a in accounts {
                        let d = mo("447700900123", "12345", "Hello from the simulator");
                        let _ = sim.send_mo(&a, d).await;
                    }
                }
            });
        }
        SimulatorHandle { server, simulator: self.clone() }
    }

    /// Starts a simulator on `server_config.listen`.
    pub async fn start(server_config: ServerConfig, config: SimulatorConfig) -> std::io::Result<SimulatorHandle> {
        let simulator = Self::new(config);
        let server = Server::new(server_config.clone(), simulator.clone());
        let handle = simulator.attach(server.handle());
        server.listen(server_config.listen).await?;
        tracing::info!(addr = %handle.local_addr(), accounts = simulator.config.accounts.len(), "simulator listening");
        Ok(handle)
    }

    /// Starts a simulator listening for TLS (feature `tls`).
    #[cfg(feature = "tls")]
    pub async fn start_tls(
        server_config: ServerConfig,
        config: SimulatorConfig,
        acceptor: smpp_tokio::tls::tokio_rustls::TlsAcceptor,
    ) -> std::io::Result<SimulatorHandle> {
        let simulator = Self::new(config);
        let server = Server::new(server_config.clone(), simulator.clone());
        let handle = simulator.attach(server.handle());
        server.listen_tls(server_config.listen, acceptor).await?;
        tracing::info!(addr = %handle.local_addr(), "simulator listening (TLS)");
        Ok(handle)
    }

    fn random(&self) -> u64 {
        let mut r = self.rng.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *r ^= *r << 13;
        *r ^= *r >> 7;
        *r ^= *r << 17;
        *r
    }

    /// The final state of a new message.
    fn final_state(&self) -> MessageState {
        let total: u64 = self.config.dlr_mix.iter().map(|(_, w)| u64::from(*w)).sum();
        if total == 0 {
            return self.config.dlr_state;
        }
        let mut pick = self.random() % total;
        for (state, w) in &self.config.dlr_mix {
            if pick < u64::from(*w) {
                return *state;
            }
            pick -= u64::from(*w);
        }
        self.config.dlr_state
    }

    fn injected_error(&self, dest: &[u8]) -> Option<CommandStatus> {
        let dest = std::str::from_utf8(dest).ok()?.trim_start_matches('+');
        if let Some(status) = self.config.errors.get(dest) {
            return Some(*status);
        }
        let code = dest.strip_prefix("999")?;
        if code.is_empty() || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        code.parse::<u32>().ok().map(CommandStatus)
    }

    /// Pushes an MO to a receiver of `account` bound here; stores it for later when
    /// the push has to be retried. Returns the outcome of this push.
    async fn send_mo(&self, account: &str, deliver: DeliverSm) -> PushResult {
        let Some(server) = self.server.get().cloned() else {
            return Err(PushError::NoReceiver(account.into()));
        };
        let result = push(&server, account, &deliver).await;
        match outcome(&result) {
            Outcome::Delivered => {}
            Outcome::Rejected => self.reject(account, "MO", &result),
            Outcome::Retry => {
                let now = self.pump.clock.now_ms();
                let gone = matches!(result, Err(PushError::NoReceiver(_) | PushError::Closed(_)));
                let due = if gone { now } else { now.saturating_add(millis(self.config.retry_delay)) };
                match self.pump.store.enqueue(Delivery::new(account, due, deliver)).await {
                    Ok(_) => {
                        tracing::debug!(%account, result = ?result.as_ref().map(|r| r.0), "MO not delivered now: stored");
                        self.pump.due_at(account, due);
                    }
                    Err(e) => {
                        self.dropped.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(%account, %e, "MO not delivered now and not stored: dropped");
                    }
                }
            }
        }
        result
    }

    /// Records an accepted submit and the receipts it asks for in the store; its
    /// message id, or the status to refuse it with.
    async fn accept(self: Arc<Self>, account: String, submit: Submitted) -> Result<String, CommandStatus> {
        let now = self.pump.clock.now_ms();
        if self.pump.shared
            && let Some(rate) = self.limits_of(&account).throttle
        {
            match self.pump.store.take_rate(&account, rate, now).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::debug!(%account, rate, "throttled (cluster-wide rate)");
                    return Err(CommandStatus::ESME_RTHROTTLED);
                }
                Err(e) => return Err(self.store_failed(&account, &e)),
            }
        }
        let id = self.pump.store.next_message_id().await.map_err(|e| self.store_failed(&account, &e))?;
        let final_state = self.final_state();
        let done = now.saturating_add(millis(self.config.dlr_delay));
        let rd = submit.registered_delivery;
        let delivered = final_state == MessageState::DELIVERED;
        let wanted = match rd & 0x03 {
            1 => true,
            2 => !delivered,
            3 => delivered,
            _ => false,
        };
        let intermediate = rd & 0x10 != 0;
        let mut receipt = (wanted || intermediate).then(|| {
            let mut r = DeliveryReceipt::new(&id, submit.source, submit.destination, final_state);
            r.submitted = Clock::system_time(now);
            r.done = Clock::system_time(done);
            r.text = submit.text.unwrap_or_default();
            r.error = if delivered { 0 } else { self.config.dlr_err };
            r
        });
        // The final receipt goes after the ENROUTE notification, even with no delay.
        let final_due = if intermediate { done.max(now.saturating_add(1)) } else { done };
        let stored = receipt
            .as_ref()
            .filter(|_| wanted)
            .map(|r| Delivery::new(&account, final_due, r.to_deliver_sm(STORED_VERSION)));
        let message = Message::new(&id, &account, now, done, final_state);
        match self.pump.store.accept(message, stored).await {
            Ok(()) => {}
            Err(StoreError::Full { max, .. }) => {
                self.queue_full.fetch_add(1, Ordering::Relaxed);
                tracing::info!(%account, max, "submit refused: the account holds its most waiting deliveries");
                return Err(CommandStatus::ESME_RMSGQFUL);
            }
            Err(e) => return Err(self.store_failed(&account, &e)),
        }
        self.submits.fetch_add(1, Ordering::Relaxed);
        if wanted {
            self.pump.due_at(&account, final_due);
        }
        if intermediate && let Some(note) = receipt.as_mut() {
            note.state = MessageState::ENROUTE;
            note.intermediate = true;
            note.done = Clock::system_time(now);
            let pdu = note.to_deliver_sm(STORED_VERSION);
            match self.pump.store.enqueue(Delivery::new(&account, now, pdu)).await {
                Ok(_) => self.pump.due_at(&account, now),
                Err(e) => {
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(%account, message_id = %id, %e, "intermediate notification not stored: dropped");
                }
            }
        }
        tracing::debug!(%account, message_id = %id, "submit accepted");
        Ok(id)
    }

    /// Counts and logs a delivery the ESME refused for good.
    fn reject(&self, account: &str, kind: &str, result: &PushResult) {
        self.rejected.fetch_add(1, Ordering::Relaxed);
        match result {
            Ok((status, _)) => tracing::info!(%account, kind, %status, "refused for good by the ESME: dropped"),
            Err(e) => tracing::info!(%account, kind, %e, "the session cannot carry it: dropped"),
        }
    }

    /// Logs a store failure; the status to answer with.
    fn store_failed(&self, account: &str, e: &StoreError) -> CommandStatus {
        tracing::warn!(%account, %e, "submit refused: the store failed");
        CommandStatus::ESME_RSYSERR
    }

    /// The limits of `account`: its own, or the defaults.
    fn limits_of(&self, account: &str) -> Limits {
        let mut limits = self.config.limits.get(account).cloned().unwrap_or_default();
        if limits.throttle.is_none() {
            limits.throttle = self.config.throttle;
        }
        limits
    }

    /// Renews this node's bind leases every third of a lease while it runs.
    async fn renew_leases(this: std::sync::Weak<Self>, server: ServerHandle) {
        loop {
            let Some(sim) = this.upgrade() else { return };
            if server.is_shutting_down() {
                return;
            }
            let lease = millis(sim.config.bind_lease);
            let held: Vec<(String, String)> =
                sim.leases().iter().map(|(holder, account)| (account.clone(), holder.clone())).collect();
            if !held.is_empty()
                && let Err(e) = sim.pump.store.renew_binds(held, sim.pump.clock.now_ms().saturating_add(lease)).await
            {
                tracing::warn!(%e, "cannot renew the bind leases");
            }
            let every = sim.config.bind_lease / 3;
            drop(sim);
            tokio::time::sleep(every.max(Duration::from_millis(10))).await;
        }
    }

    fn leases(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.leases.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn me(&self) -> Option<Arc<Self>> {
        self.this.upgrade()
    }
}

/// What the simulator keeps of an accepted submit for its receipt.
struct Submitted {
    source: Address<21>,
    destination: Address<21>,
    registered_delivery: u8,
    /// The decoded start of the text, when a receipt or notification is asked for.
    text: Option<String>,
}

/// The first 20 characters of a message's text, decoded.
fn preview(data_coding: smpp_wire::DataCoding, esm_class: EsmClass, octets: &[u8]) -> String {
    match smpp_wire::text::decode_message(data_coding, esm_class, octets) {
        Decoded::Text(t) => t.chars().take(20).collect(),
        _ => String::new(),
    }
}

/// A simulator bind's lease in a shared store, for the cluster-wide bind limit
/// (none on a store of this node's own, or for an account with no `max_binds`).
/// Dropping it (the session ended, or the bind failed after the lease was taken)
/// releases it in the store.
#[derive(Debug)]
pub struct Lease(Option<Held>);

/// A lease taken in the store.
#[derive(Debug)]
struct Held {
    holder: String,
    account: String,
    store: Arc<dyn Store>,
}

impl Drop for Held {
    fn drop(&mut self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let (store, account, holder) =
            (self.store.clone(), std::mem::take(&mut self.account), std::mem::take(&mut self.holder));
        runtime.spawn(async move {
            if let Err(e) = store.release_bind(&account, &holder).await {
                tracing::warn!(%account, %e, "cannot release a bind lease: it runs out unrenewed");
            }
        });
    }
}

impl Outlet for Simulator {
    fn pump(&self) -> &Pump {
        &self.pump
    }

    fn ready(&self, server: &ServerHandle, account: &str) -> bool {
        has_receiver(server, account)
    }

    async fn deliver(self: Arc<Self>, server: ServerHandle, account: String, entry: crate::store::Entry) -> Verdict {
        let result = push(&server, &account, &entry.delivery.deliver).await;
        let kind = kind(&entry.delivery.deliver);
        match outcome(&result) {
            Outcome::Delivered => {
                match kind {
                    "receipt" => &self.receipts_delivered,
                    _ => &self.mo_delivered,
                }
                .fetch_add(1, Ordering::Relaxed);
                Verdict::Done
            }
            Outcome::Rejected => {
                self.reject(&account, kind, &result);
                Verdict::Done
            }
            Outcome::Retry => {
                let gone = matches!(result, Err(PushError::NoReceiver(_) | PushError::Closed(_)));
                tracing::debug!(%account, kind, attempts = entry.attempts + 1, result = ?result.as_ref().map(|r| r.0), "not delivered now: kept for a retry");
                Verdict::Retry(if gone { GONE_RETRY_MS } else { millis(self.config.retry_delay) })
            }
        }
    }
}

impl SmscHandler for Simulator {
    type Account = Lease;

    async fn authenticate(&self, bind: &BindInfo) -> Result<Grant<Lease>, CommandStatus> {
        let system_id =
            check_bind(bind, &self.config.accounts, self.config.system_type.as_deref(), self.config.lenient)?;
        let mut limits = self.limits_of(&system_id);
        if !self.pump.shared {
            return Ok(Grant::new(Lease(None)).limits(limits));
        }
        // The store counts binds and submits across the cluster; this node's server
        // does not count them again.
        limits.throttle = None;
        // Accounts with no max_binds keep the server's per-node default.
        let Some(max) = limits.max_binds else { return Ok(Grant::new(Lease(None)).limits(limits)) };
        limits.max_binds = Some(usize::MAX);
        let holder = format!("{}/{}", self.node, self.binds.fetch_add(1, Ordering::Relaxed));
        let now = self.pump.clock.now_ms();
        let until = now.saturating_add(millis(self.config.bind_lease));
        match self.pump.store.acquire_bind(&system_id, &holder, max, now, until).await {
            Ok(true) => {
                let held = Held { holder, account: system_id, store: self.pump.store.clone() };
                Ok(Grant::new(Lease(Some(held))).limits(limits))
            }
            Ok(false) => {
                tracing::info!(%system_id, max, "bind refused: the account holds its most binds across the cluster");
                Err(CommandStatus::ESME_RBINDFAIL)
            }
            Err(e) => {
                tracing::warn!(%system_id, %e, "bind refused: the store cannot count binds");
                Err(CommandStatus::ESME_RBINDFAIL)
            }
        }
    }

    fn on_request(&self, session: &BoundSession<Lease>, request: Request, defer: Defer<'_>) -> Option<Reply> {
        if let Some(status) =
            (!self.config.lenient).then(|| v33_violation(session.version, &session.system_id, &request)).flatten()
        {
            return Some(Reply::error(&request, status));
        }
        let submitted = match &request {
            Request::SubmitSm(s) => Submitted {
                source: s.source_addr,
                destination: s.destination_addr,
                registered_delivery: s.registered_delivery.0,
                text: receipt_asked(s.registered_delivery.0)
                    .then(|| preview(s.data_coding, s.esm_class, s.short_message.as_bytes())),
            },
            Request::DataSm(d) => {
                let addr = |a: &Address<65>| Address::new(a.ton, a.npi, a.addr.as_bytes()).unwrap_or_default();
                let payload = d.tlvs.message_payload();
                Submitted {
                    source: addr(&d.source_addr),
                    destination: addr(&d.destination_addr),
                    registered_delivery: d.registered_delivery.0,
                    text: receipt_asked(d.registered_delivery.0).then(|| {
                        preview(d.data_coding, d.esm_class, payload.as_ref().map_or(&[][..], |p| p.as_bytes()))
                    }),
                }
            }
            // One message for all its destinations: recorded for query_sm, error
            // injection by its first destination, no receipt.
            Request::SubmitMulti(m) => Submitted {
                source: m.source_addr,
                destination: match m.dest_addresses.first() {
                    Some(DestAddress::Sme(a)) => *a,
                    Some(DestAddress::DistributionList(name)) => {
                        Address::new(Ton::default(), Npi::default(), name.as_bytes()).unwrap_or_default()
                    }
                    _ => Address::default(),
                },
                registered_delivery: 0,
                text: None,
            },
            Request::QuerySm(_) => return self.query(request, defer),
            Request::CancelSm(_) | Request::ReplaceSm(_) => {
                return Some(Reply::ok(smpp_wire::Body::empty_response_for(request.command_id())?));
            }
            _ => return Some(Reply::error(&request, CommandStatus::ESME_RINVCMDID)),
        };
        if let Some(status) = self.injected_error(submitted.destination.addr.as_bytes()) {
            return Some(Reply::error(&request, status));
        }
        tracing::trace!(dest = %submitted.destination.addr, "submit destination");
        let delay = self.config.resp_delay;
        // The hot path: no receipt asked for, no cluster-wide rate.
        if delay.is_zero() && !self.pump.shared && !receipt_asked(submitted.registered_delivery) {
            return self.accept_plain(session, request, defer);
        }
        let sim = self.me()?;
        let mut accepted = Box::pin(sim.accept(session.system_id.clone(), submitted));
        let answer = move |request: &Request, result: Result<String, CommandStatus>| match result {
            Ok(id) => Reply::accepted(request, &id),
            Err(status) => Reply::error(request, status),
        };
        // A store that answers at once: the submit is answered without a task.
        if delay.is_zero()
            && let Some(result) = now_or_never(accepted.as_mut())
        {
            return Some(answer(&request, result));
        }
        let responder = defer.responder();
        tokio::spawn(async move {
            let result = accepted.await;
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            responder.respond(answer(&request, result));
        });
        None
    }

    fn on_long_message(&self, session: &BoundSession<Lease>, message: smpp_wire::text::Assembled) {
        tracing::debug!(account = %session.system_id, parts = message.total, octets = message.data.len(), "long message reassembled");
        if let Ok(mut log) = self.long_messages.lock() {
            if log.len() >= 100 {
                log.remove(0);
            }
            log.push(message);
        }
    }

    fn on_incomplete(&self, session: &BoundSession<Lease>, expired: smpp_wire::text::Expired) {
        tracing::info!(account = %session.system_id, reference = expired.reference, received = expired.received, total = expired.total, "long message incomplete");
    }

    fn on_bound(&self, session: &BoundSession<Lease>) {
        tracing::info!(account = %session.system_id, mode = ?session.mode, version = ?session.version, "bound");
        if let Lease(Some(held)) = &*session.account {
            self.leases().insert(held.holder.clone(), session.system_id.clone());
        }
        if session.mode.smsc_sends() {
            // What waits for this account goes out now.
            self.pump.wake();
        }
    }

    fn on_closed(&self, session: &BoundSession<Lease>, _reason: CloseReason) {
        // No more renewals; the lease is released when the session drops it.
        if let Lease(Some(held)) = &*session.account {
            self.leases().remove(&held.holder);
        }
    }
}

impl Simulator {
    /// Accepts a submit that asks for no receipt: at once with a store that answers
    /// at once (memory: no future, no task), from the store's own thread with one
    /// that has one (SQLite: no task), else from a task.
    fn accept_plain(&self, session: &BoundSession<Lease>, request: Request, defer: Defer<'_>) -> Option<Reply> {
        let account = &session.system_id;
        let now = self.pump.clock.now_ms();
        let done_ms = now.saturating_add(millis(self.config.dlr_delay));
        let state = self.final_state();
        if let Some(id) = self.pump.store.accept_at_once(account, now, done_ms, state) {
            self.submits.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(%account, message_id = %id, "submit accepted");
            return Some(Reply::accepted(&request, &id));
        }
        let sim = self.me()?;
        let responder = defer.responder();
        let (who, answering) = (account.clone(), sim.clone());
        let done: Done = Box::new(move |result| {
            let reply = match result {
                Ok(id) => {
                    answering.submits.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(account = %who, message_id = %id, "submit accepted");
                    Reply::accepted(&request, &id)
                }
                Err(e) => Reply::error(&request, answering.store_failed(&who, &e)),
            };
            responder.respond(reply);
        });
        if let Err(done) = self.pump.store.accept_then(account, now, done_ms, state, done) {
            let account = account.clone();
            tokio::spawn(async move {
                let accepted = async {
                    let id = sim.pump.store.next_message_id().await?;
                    sim.pump.store.accept(Message::new(&id, &account, now, done_ms, state), None).await?;
                    Ok(id)
                };
                done(accepted.await);
            });
        }
        None
    }

    /// Answers a query_sm from the store: at once when it answers at once (memory),
    /// else from a task.
    fn query(&self, request: Request, defer: Defer<'_>) -> Option<Reply> {
        let Request::QuerySm(q) = &request else { return None };
        let id = String::from_utf8_lossy(q.message_id.as_bytes()).into_owned();
        let store = self.pump.store.clone();
        let now = self.pump.clock.now_ms();
        let mut found = Box::pin(async move { store.message(&id).await });
        let answer = move |request: &Request, found: Result<Option<Message>, StoreError>| {
            let Request::QuerySm(q) = request else { return Reply::error(request, CommandStatus::ESME_RSYSERR) };
            let message = match found {
                Ok(Some(message)) => message,
                Ok(None) => return Reply::error(request, CommandStatus::ESME_RQUERYFAIL),
                Err(e) => {
                    tracing::warn!(%e, "query_sm: the store failed");
                    return Reply::error(request, CommandStatus::ESME_RQUERYFAIL);
                }
            };
            let mut resp = QuerySmResp::default();
            resp.message_id = q.message_id;
            resp.message_state = message.state_at(now);
            if now >= message.done_ms {
                let date = crate::blocks::smpp_time(Clock::system_time(message.done_ms));
                resp.final_date = smpp_wire::COctetString::new(date).unwrap_or_default();
            }
            Reply::ok(smpp_wire::Body::QuerySmResp(Some(resp)))
        };
        if let Some(result) = now_or_never(found.as_mut()) {
            return Some(answer(&request, result));
        }
        let responder = defer.responder();
        tokio::spawn(async move {
            let result = found.await;
            responder.respond(answer(&request, result));
        });
        None
    }
}

fn mo(from: &str, to: &str, text: &str) -> DeliverSm {
    let mut d = DeliverSm::default();
    d.source_addr = Address::new(Ton::INTERNATIONAL, Npi::ISDN, from).unwrap_or_default();
    d.destination_addr = Address::new(Ton::INTERNATIONAL, Npi::ISDN, to).unwrap_or_default();
    d.short_message = ShortMessage::new(text.as_bytes().to_vec()).unwrap_or_default();
    d
}

#[cfg(test)]
mod tests {
    use smpp_session::SendError;
    use smpp_wire::{Body, InterfaceVersion, TlvTag};

    use super::*;

    #[test]
    fn temporary_failures_are_retried_and_the_rest_rejected() {
        let answer = |status| outcome(&Ok((status, Body::DeliverSmResp(None))));
        assert_eq!(answer(CommandStatus::ESME_ROK), Outcome::Delivered);
        for status in [CommandStatus::ESME_RX_T_APPN, CommandStatus::ESME_RTHROTTLED, CommandStatus::ESME_RMSGQFUL] {
            assert_eq!(answer(status), Outcome::Retry, "{status}");
        }
        for status in [CommandStatus::ESME_RX_P_APPN, CommandStatus::ESME_RX_R_APPN, CommandStatus::ESME_RSYSERR] {
            assert_eq!(answer(status), Outcome::Rejected, "{status}");
        }
        let failed = |e| outcome(&Err(e));
        for e in [
            PushError::NoReceiver("a".into()),
            PushError::Closed(CloseReason::Local),
            PushError::Timeout,
            PushError::QueueFull,
            PushError::Refused(SendError::Unbinding),
            PushError::Refused(SendError::WindowFull),
        ] {
            assert_eq!(failed(e.clone()), Outcome::Retry, "{e}");
        }
        let tlv = SendError::TlvNotNegotiated { tag: TlvTag(0x0427), version: InterfaceVersion::V33 };
        assert_eq!(failed(PushError::Refused(tlv)), Outcome::Rejected, "it would never go");
    }
}
