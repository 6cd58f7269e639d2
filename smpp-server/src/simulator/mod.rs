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
//! - Receipts and MO are delivered at least once. Those for an account with no
//!   receiver bound wait (in memory, at most [`SimulatorConfig::waiting_per_account`]
//!   each, the newest past it dropped and counted in [`SimulatorHandle::dropped`])
//!   until a receiver binds; so do those whose receiver closed before answering
//!   them. Those the ESME answers with a temporary error (`ESME_RX_T_APPN`,
//!   `ESME_RTHROTTLED`, `ESME_RMSGQFUL`), does not answer in time, or that find the
//!   session's push queue full, wait in the same queue and are retried
//!   [`SimulatorConfig::retry_delay`] later while a receiver is bound. What waits
//!   goes out in order (one flush per account at a time, one retry timer per
//!   account), though a new delivery is tried at once. Those the ESME refuses with
//!   any other status (`ESME_RX_P_APPN`, `ESME_RX_R_APPN`, ...) are dropped, logged
//!   and counted in [`SimulatorHandle::rejected`].
//! - MO messages can be injected ([`SimulatorHandle::inject_mo`]) or sent periodically.
//! - Optional throttling: past N submits a second per account, `ESME_RTHROTTLED`.
//! - Error injection by destination: a destination_addr of `999` followed by digits
//!   (`999` + decimal status, e.g. `99911` for `ESME_RINVDSTADR`, `99988` for
//!   `ESME_RTHROTTLED`, `99920` for `ESME_RMSGQFUL`) is answered with that status;
//!   exact destinations can also be mapped to a status in [`SimulatorConfig::errors`].
//! - Optional delay before each submit's answer ([`SimulatorConfig::resp_delay`]).
//! - Binds and messages are logged (tracing); passwords never are.

mod store;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use smpp_pdu::text::Decoded;
use smpp_pdu::{
    Address, CommandStatus, DeliverSm, DestAddress, EsmClass, InterfaceVersion, MessageState, Npi, QuerySmResp,
    ShortMessage, Ton,
};
use smpp_session::{BindMode, Request, SendError, effective_version};

use self::store::{Delivery, MessageRecord, Messages, Waiting};
use crate::blocks::{DeliveryReceipt, MessageIds};
use crate::handle::{PushError, PushResult, ServerHandle};
use crate::handler::{BindInfo, BoundSession, Defer, Grant, Limits, Reply, SmscHandler};
use crate::{Server, ServerConfig};

/// What the simulator does. Its `Debug` shows the accounts, never their passwords.
#[non_exhaustive]
#[derive(Clone)]
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
    /// Send an MO message to every account this often (default never).
    pub mo_every: Option<Duration>,
    /// Destinations answered with a fixed status.
    pub errors: HashMap<String, CommandStatus>,
    /// Wait this long before answering each submit (default none).
    pub resp_delay: Duration,
    /// Receipts and MO kept per account while no receiver is bound or until their
    /// retry (default 10 000).
    pub waiting_per_account: usize,
    /// How long after a temporary failure (`ESME_RX_T_APPN`, `ESME_RTHROTTLED`,
    /// `ESME_RMSGQFUL`, no answer in time, a full push queue) what waits for an
    /// account is pushed again (default 1 s).
    pub retry_delay: Duration,
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
        }
    }
}

impl SimulatorConfig {
    /// Parses a receipt mix such as `DELIVRD:90,UNDELIV:7,EXPIRED:3` (receipt `stat:`
    /// words or full state names).
    ///
    /// ```
    /// use smpp_server::SimulatorConfig;
    /// use smpp_server::smpp_pdu::MessageState;
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
    ids: MessageIds,
    server: OnceLock<ServerHandle>,
    submits: AtomicU64,
    /// Receipts and MO the ESMEs refused for good.
    rejected: AtomicU64,
    messages: Messages,
    waiting: Waiting,
    rng: Mutex<u64>,
    /// The last 100 long messages reassembled.
    long_messages: Mutex<Vec<smpp_pdu::text::Assembled>>,
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

    /// Sends an MO message `text` from `from` to `to` to a receiver of `system_id`,
    /// and returns the outcome of this first push. With no receiver bound it waits
    /// for one (see the module docs), and this returns `Err(PushError::NoReceiver)`;
    /// so it does, returning `Err(PushError::Closed)`, when the receiver closes
    /// before answering it. After a temporary failure (`Ok` with `ESME_RX_T_APPN`,
    /// `ESME_RTHROTTLED` or `ESME_RMSGQFUL`, or `Err(PushError::Timeout)` or
    /// `Err(PushError::QueueFull)`) it is kept and retried later; after any other
    /// error status it is dropped (and counted in [`rejected`](Self::rejected)).
    pub async fn inject_mo(&self, system_id: &str, from: &str, to: &str, text: &str) -> PushResult {
        self.simulator.deliver(system_id, Delivery::Mo(Box::new(mo(from, to, text)))).await
    }

    /// The most recent long messages the simulator reassembled (at most 100).
    pub fn long_messages(&self) -> Vec<smpp_pdu::text::Assembled> {
        self.simulator.long_messages.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Submits (submit_sm, data_sm, submit_multi) accepted so far.
    pub fn submits(&self) -> u64 {
        self.simulator.submits.load(Ordering::Relaxed)
    }

    /// Receipts and MO waiting for a receiver of `system_id` to bind, or for their
    /// retry.
    pub fn waiting(&self, system_id: &str) -> usize {
        self.simulator.waiting.len(system_id)
    }

    /// Receipts and MO dropped because an account's waiting queue was full (not
    /// those the ESME refused: see [`rejected`](Self::rejected)).
    pub fn dropped(&self) -> u64 {
        self.simulator.waiting.dropped()
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
        Arc::new_cyclic(|this| Self {
            ids: MessageIds::new(),
            server: OnceLock::new(),
            submits: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            messages: Messages::new(100_000),
            waiting: Waiting::new(config.waiting_per_account),
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
        if let Some(every) = self.config.mo_every {
            let sim = self.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(every);
                tick.tick().await;
                loop {
                    tick.tick().await;
                    let accounts: Vec<String> = sim.config.accounts.keys().cloned().collect();
                    for a in accounts {
                        let d = mo("447700900123", "12345", "Hello from the simulator");
                        let _ = sim.deliver(&a, Delivery::Mo(Box::new(d))).await;
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

    /// Pushes a delivery to a receiver of `account`, or keeps it until one binds, or
    /// (after a temporary failure) for a retry; drops it if the ESME refuses it for
    /// good. Returns the outcome of this push.
    async fn deliver(&self, account: &str, delivery: Delivery) -> PushResult {
        let Some(server) = self.server.get().cloned() else {
            return Err(PushError::NoReceiver(account.into()));
        };
        let result = push(&server, account, &delivery).await;
        match outcome(&result) {
            Outcome::Delivered => {}
            Outcome::Rejected => self.reject(account, &delivery, &result),
            Outcome::Retry => {
                let kind = delivery.kind();
                if self.waiting.keep(account, delivery) {
                    tracing::debug!(%account, kind, result = ?result.as_ref().map(|r| r.0), "not delivered now: kept");
                } else {
                    tracing::warn!(%account, kind, "not delivered now and the waiting queue is full: dropped");
                }
                if has_receiver(&server, account) {
                    if matches!(result, Err(PushError::NoReceiver(_) | PushError::Closed(_))) {
                        // A receiver that bound meanwhile has flushed already: flush again.
                        self.flush(account).await;
                    } else {
                        self.retry_later(account);
                    }
                }
            }
        }
        result
    }

    /// Sends what waits for `account`'s receivers, in order, unless another flush of
    /// it is under way (which sends it). Stops at the first delivery that has to
    /// wait again, and schedules a retry if a receiver is bound.
    async fn flush(&self, account: &str) {
        let Some(server) = self.server.get().cloned() else { return };
        if !self.waiting.begin_flush(account) {
            return;
        }
        let mut tries = 0;
        while let Some(d) = self.waiting.next(account) {
            let result = push(&server, account, &d).await;
            match outcome(&result) {
                Outcome::Delivered => continue,
                Outcome::Rejected => {
                    self.reject(account, &d, &result);
                    continue;
                }
                Outcome::Retry => {}
            }
            // The session it went to closed first (or had gone). It leaves the
            // registry as it closes, so another receiver, if any, takes it after a
            // short pause (a few tries; then a retry later).
            let gone = matches!(result, Err(PushError::NoReceiver(_) | PushError::Closed(_)));
            if gone && tries < 3 && has_receiver(&server, account) {
                tries += 1;
                self.waiting.put_back(account, d);
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
            self.waiting.pause(account, d);
            // With no receiver bound, the next one to bind flushes.
            if has_receiver(&server, account) {
                self.retry_later(account);
            }
            return;
        }
    }

    /// Flushes `account` again after [`SimulatorConfig::retry_delay`], unless a retry
    /// is scheduled already.
    fn retry_later(&self, account: &str) {
        if !self.waiting.arm_retry(account) {
            return;
        }
        let Some(sim) = self.me() else {
            self.waiting.disarm_retry(account);
            return;
        };
        let account = account.to_owned();
        let delay = self.config.retry_delay;
        tracing::debug!(%account, ?delay, "retry scheduled");
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            sim.waiting.disarm_retry(&account);
            sim.flush(&account).await;
        });
    }

    /// Drops a delivery the ESME refused for good, logged and counted.
    fn reject(&self, account: &str, delivery: &Delivery, result: &PushResult) {
        self.rejected.fetch_add(1, Ordering::Relaxed);
        let kind = delivery.kind();
        match result {
            Ok((status, _)) => tracing::info!(%account, kind, %status, "refused for good by the ESME: dropped"),
            Err(e) => tracing::info!(%account, kind, %e, "the session cannot carry it: dropped"),
        }
    }

    /// The outcome and receipts of an accepted message.
    fn after_submit(&self, session: &BoundSession<()>, (number, message_id): (u32, &str), submit: Submitted) {
        let final_state = self.final_state();
        let now = SystemTime::now();
        let delay = self.config.dlr_delay;
        let due = tokio::time::Instant::now() + delay;
        self.messages.insert(number, MessageRecord { final_state, due, done: now + delay });
        let rd = submit.registered_delivery;
        let delivered = final_state == MessageState::DELIVERED;
        let wanted = match rd & 0x03 {
            1 => true,
            2 => !delivered,
            3 => delivered,
            _ => false,
        };
        let intermediate = rd & 0x10 != 0;
        // The hot path: no receipt asked for, nothing to schedule.
        if !wanted && !intermediate {
            return;
        }
        let mut receipt = DeliveryReceipt::new(message_id, submit.source, submit.destination, final_state);
        receipt.submitted = now;
        receipt.text = submit.text.unwrap_or_default();
        receipt.error = if delivered { 0 } else { self.config.dlr_err };
        let Some(sim) = self.server.get().and(self.me()) else { return };
        let account = session.system_id.clone();
        let id = message_id.to_owned();
        tokio::spawn(async move {
            if intermediate {
                let mut note = receipt.clone();
                note.state = MessageState::ENROUTE;
                note.intermediate = true;
                note.done = SystemTime::now();
                let _ = sim.deliver(&account, Delivery::Receipt(Box::new(note))).await;
            }
            if !wanted {
                return;
            }
            tokio::time::sleep_until(due).await;
            receipt.done = SystemTime::now();
            // What comes of it (kept, retried, dropped) is logged by deliver.
            if let Err(e) = sim.deliver(&account, Delivery::Receipt(Box::new(receipt))).await {
                tracing::debug!(%account, message_id = %id, %e, "receipt not delivered now");
            }
        });
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

/// Whether registered_delivery asks for any receipt or notification.
fn receipt_asked(registered_delivery: u8) -> bool {
    registered_delivery & 0x13 != 0
}

/// The first 20 characters of a message's text, decoded.
fn preview(data_coding: smpp_pdu::DataCoding, esm_class: EsmClass, octets: &[u8]) -> String {
    match smpp_pdu::text::decode_message(data_coding, esm_class, octets) {
        Decoded::Text(t) => t.chars().take(20).collect(),
        _ => String::new(),
    }
}

/// What comes of a delivery after a push.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum Outcome {
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

fn outcome(result: &PushResult) -> Outcome {
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
fn has_receiver(server: &ServerHandle, account: &str) -> bool {
    server.account_sessions(account).iter().any(|s| s.info.mode.smsc_sends())
}

/// Pushes a delivery to a receiver of `account`: a receipt with its TLVs to a v3.4
/// session, without to a v3.3 one.
async fn push(server: &ServerHandle, account: &str, delivery: &Delivery) -> PushResult {
    match delivery {
        Delivery::Mo(d) => server.push(account, Request::DeliverSm((**d).clone())).await,
        Delivery::Receipt(r) => {
            let v34 = Request::DeliverSm(r.to_deliver_sm(InterfaceVersion::V34));
            let pushed = server.push_where(account, v34, crate::SessionInfo::tlvs_allowed).await;
            if !matches!(pushed, Err(PushError::NoReceiver(_))) {
                return pushed;
            }
            let v33 = Request::DeliverSm(r.to_deliver_sm(InterfaceVersion::V33));
            server.push_where(account, v33, |s| !s.tlvs_allowed()).await
        }
    }
}

impl SmscHandler for Simulator {
    type Account = ();

    async fn authenticate(&self, bind: &BindInfo) -> Result<Grant<()>, CommandStatus> {
        let system_id = bind.system_id();
        let Some(password) = self.config.accounts.get(&system_id) else { return Err(CommandStatus::ESME_RINVSYSID) };
        if !bind.password_is(password) {
            return Err(CommandStatus::ESME_RINVPASWD);
        }
        if let Some(wanted) = &self.config.system_type
            && bind.system_type() != *wanted
        {
            tracing::info!(%system_id, system_type = %bind.system_type(), %wanted, "bind refused: wrong system_type");
            return Err(CommandStatus::ESME_RINVSYSTYP);
        }
        let v33 = effective_version(bind.bind.interface_version) < InterfaceVersion::V34;
        if v33 && bind.mode == BindMode::Transceiver && !self.config.lenient {
            tracing::info!(%system_id, version = ?bind.bind.interface_version, "bind refused: v3.3 has no bind_transceiver (bind a transmitter and a receiver)");
            return Err(CommandStatus::ESME_RINVCMDID);
        }
        let mut limits = self.config.limits.get(&system_id).cloned().unwrap_or_default();
        if limits.throttle.is_none() {
            limits.throttle = self.config.throttle;
        }
        Ok(Grant::new(()).limits(limits))
    }

    fn on_request(&self, session: &BoundSession<()>, request: Request, defer: Defer<'_>) -> Option<Reply> {
        if let Some(status) = self.v33_violation(session, &request) {
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
            Request::QuerySm(q) => return Some(self.query(&request, q)),
            Request::CancelSm(_) | Request::ReplaceSm(_) => {
                return Some(Reply::ok(smpp_pdu::Body::empty_response_for(request.command_id())?));
            }
            _ => return Some(Reply::error(&request, CommandStatus::ESME_RINVCMDID)),
        };
        if let Some(status) = self.injected_error(submitted.destination.addr.as_bytes()) {
            return Some(Reply::error(&request, status));
        }
        self.submits.fetch_add(1, Ordering::Relaxed);
        let (number, id) = self.ids.next_numbered();
        tracing::debug!(account = %session.system_id, message_id = %id, "submit accepted");
        tracing::trace!(dest = %submitted.destination.addr, "submit destination");
        self.after_submit(session, (number, &id), submitted);
        let reply = Reply::accepted(&request, &id);
        if self.config.resp_delay.is_zero() {
            return Some(reply);
        }
        let responder = defer.responder();
        let delay = self.config.resp_delay;
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            responder.respond(reply);
        });
        None
    }

    fn on_long_message(&self, session: &BoundSession<()>, message: smpp_pdu::text::Assembled) {
        tracing::debug!(account = %session.system_id, parts = message.total, octets = message.data.len(), "long message reassembled");
        if let Ok(mut log) = self.long_messages.lock() {
            if log.len() >= 100 {
                log.remove(0);
            }
            log.push(message);
        }
    }

    fn on_incomplete(&self, session: &BoundSession<()>, expired: smpp_pdu::text::Expired) {
        tracing::info!(account = %session.system_id, reference = expired.reference, received = expired.received, total = expired.total, "long message incomplete");
    }

    fn on_bound(&self, session: &BoundSession<()>) {
        tracing::info!(account = %session.system_id, mode = ?session.mode, version = ?session.version, "bound");
        if session.mode.smsc_sends()
            && self.waiting.len(&session.system_id) > 0
            && let Some(sim) = self.me()
        {
            let account = session.system_id.clone();
            tokio::spawn(async move { sim.flush(&account).await });
        }
    }
}

impl Simulator {
    /// The v3.3 rule a request from a v3.3 session breaks, if any, logged.
    fn v33_violation(&self, session: &BoundSession<()>, request: &Request) -> Option<CommandStatus> {
        if self.config.lenient || session.version >= InterfaceVersion::V34 {
            return None;
        }
        let (status, why) = match request {
            Request::DataSm(_) => (CommandStatus::ESME_RINVCMDID, "v3.3 has no data_sm"),
            Request::SubmitSm(s) if !s.tlvs.is_empty() => {
                (CommandStatus::ESME_ROPTPARNOTALLWD, "a v3.3 submit may carry no TLV (long messages need a UDH)")
            }
            Request::SubmitMulti(s) if !s.tlvs.is_empty() => {
                (CommandStatus::ESME_ROPTPARNOTALLWD, "a v3.3 submit may carry no TLV (long messages need a UDH)")
            }
            _ => return None,
        };
        tracing::info!(account = %session.system_id, command = %request.command_id(), %status, "refused: {why}");
        Some(status)
    }

    fn query(&self, request: &Request, q: &smpp_pdu::QuerySm) -> Reply {
        let id = String::from_utf8_lossy(q.message_id.as_bytes()).into_owned();
        let Some(record) = MessageIds::number_of(&id).and_then(|n| self.messages.get(n)) else {
            return Reply::error(request, CommandStatus::ESME_RQUERYFAIL);
        };
        let mut resp = QuerySmResp::default();
        resp.message_id = q.message_id;
        let (state, done) = record.state_at(tokio::time::Instant::now());
        resp.message_state = state;
        if let Some(done) = done {
            let date = crate::blocks::smpp_time(done);
            resp.final_date = smpp_pdu::COctetString::new(date).unwrap_or_default();
        }
        Reply::ok(smpp_pdu::Body::QuerySmResp(Some(resp)))
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
    use smpp_pdu::{Body, TlvTag};
    use smpp_session::CloseReason;

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
