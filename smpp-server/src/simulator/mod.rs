//! The built-in SMSC simulator: the platform this stack serves, in a box.
//!
//! - Accounts come from configuration. A bind with an unknown system_id is refused
//!   `ESME_RINVSYSID`, a wrong password `ESME_RINVPASWD`.
//! - interface_version 0x34 means v3.4; anything else v3.3, and then no TLV is ever
//!   sent to that client.
//! - Every submit gets a unique message_id (8 hex digits, valid for v3.3 too).
//! - A submit asking for a receipt (registered_delivery bit 0 or 1) gets one after
//!   the configured delay, with the configured final state. The Appendix B text is
//!   always sent; v3.4 binds also get the receipted_message_id and message_state TLVs.
//! - MO messages can be injected ([`SimulatorHandle::inject_mo`]) or sent periodically.
//! - Optional throttling: past N submits a second per account, `ESME_RTHROTTLED`.
//! - Error injection by destination: a destination_addr of `999` followed by digits
//!   (`999` + decimal status, e.g. `99911` for `ESME_RINVDSTADR`, `99988` for
//!   `ESME_RTHROTTLED`, `99920` for `ESME_RMSGQFUL`) is answered with that status;
//!   exact destinations can also be mapped to a status in [`SimulatorConfig::errors`].
//! - Binds and messages are logged (tracing); passwords never are.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use smpp_pdu::{
    Address, Bind, Body, COctetString, CommandStatus, DeliverSm, EsmClass, MessageState, Npi, RegisteredDelivery,
    ShortMessage, SubmitSmResp, Tlv, Ton, tlv::TlvString,
};
use smpp_session::{BindMode, Request};

use crate::server::{Defer, PushResult, Reply, Server, ServerConfig, ServerHandle, SessionInfo, SmscHandler};

/// What the simulator does.
#[non_exhaustive]
#[derive(Clone, Debug)]
pub struct SimulatorConfig {
    /// system_id to password.
    pub accounts: HashMap<String, String>,
    /// How long after a submit its receipt goes out (default 1 s).
    pub dlr_delay: Duration,
    /// The final state receipts report (default DELIVERED).
    pub dlr_state: MessageState,
    /// The `err:` code receipts report (default 0).
    pub dlr_err: u16,
    /// Submits per second per account before `ESME_RTHROTTLED` (default none).
    pub throttle: Option<u32>,
    /// Send an MO message to every bound receiver this often (default never).
    pub mo_every: Option<Duration>,
    /// Destinations answered with a fixed status.
    pub errors: HashMap<String, CommandStatus>,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        let mut accounts = HashMap::new();
        accounts.insert("smppclient1".to_owned(), "password".to_owned());
        Self {
            accounts,
            dlr_delay: Duration::from_secs(1),
            dlr_state: MessageState::DELIVERED,
            dlr_err: 0,
            throttle: None,
            mo_every: None,
            errors: HashMap::new(),
        }
    }
}

/// A token bucket per account: `rate` a second, bursts of `rate`.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: tokio::time::Instant,
}

/// The simulator's [`SmscHandler`].
#[derive(Debug)]
pub struct Simulator {
    config: SimulatorConfig,
    next_id: AtomicU64,
    server: OnceLock<ServerHandle>,
    buckets: Mutex<HashMap<String, Bucket>>,
    submits: AtomicU64,
    /// The last 100 long messages reassembled.
    long_messages: Mutex<Vec<smpp_pdu::text::Assembled>>,
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

    /// Sends an MO message `text` from `from` to `to` to a receiver of `system_id`.
    pub async fn inject_mo(&self, system_id: &str, from: &str, to: &str, text: &str) -> PushResult {
        let d = mo(from, to, text);
        self.server.push(system_id, Request::DeliverSm(d)).await
    }

    /// The most recent long messages the simulator reassembled (at most 100).
    pub fn long_messages(&self) -> Vec<smpp_pdu::text::Assembled> {
        self.simulator.long_messages.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Submits accepted so far.
    pub fn submits(&self) -> u64 {
        self.simulator.submits.load(Ordering::Relaxed)
    }

    /// Stops accepting, unbinds everyone, waits up to `grace`.
    pub async fn shutdown(&self, grace: Duration) -> usize {
        self.server.shutdown(grace).await
    }
}

impl Simulator {
    /// Starts a simulator on `server_config.listen`.
    pub async fn start(server_config: ServerConfig, config: SimulatorConfig) -> std::io::Result<SimulatorHandle> {
        let server = Server::bind(server_config).await?;
        let handle = server.handle();
        let simulator = Arc::new(Self {
            config,
            next_id: AtomicU64::new(1),
            server: OnceLock::new(),
            buckets: Mutex::new(HashMap::new()),
            submits: AtomicU64::new(0),
            long_messages: Mutex::new(Vec::new()),
        });
        let _ = simulator.server.set(handle.clone());
        if let Some(every) = simulator.config.mo_every {
            let sim = simulator.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(every);
                tick.tick().await;
                loop {
                    tick.tick().await;
                    let accounts: Vec<String> = sim.config.accounts.keys().cloned().collect();
                    if let Some(server) = sim.server.get() {
                        for a in accounts {
                            let _ = server
                                .push(&a, Request::DeliverSm(mo("447700900123", "12345", "Hello from the simulator")))
                                .await;
                        }
                    }
                }
            });
        }
        tracing::info!(addr = %handle.local_addr(), accounts = simulator.config.accounts.len(), "simulator listening");
        server.spawn(simulator.clone());
        Ok(SimulatorHandle { server: handle, simulator })
    }

    fn throttled(&self, account: &str) -> bool {
        let Some(rate) = self.config.throttle else { return false };
        let rate = f64::from(rate.max(1));
        let Ok(mut buckets) = self.buckets.lock() else { return false };
        let now = tokio::time::Instant::now();
        let b = buckets.entry(account.to_owned()).or_insert(Bucket { tokens: rate, last: now });
        b.tokens = (b.tokens + now.duration_since(b.last).as_secs_f64() * rate).min(rate);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            false
        } else {
            true
        }
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

    fn schedule_receipt(
        &self,
        session: &SessionInfo,
        message_id: String,
        source: Address<21>,
        dest: Address<21>,
        text: Vec<u8>,
    ) {
        let Some(server) = self.server.get().cloned() else { return };
        let account = session.system_id.clone();
        let (delay, state, err) = (self.config.dlr_delay, self.config.dlr_state, self.config.dlr_err);
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            // v3.4 receivers get the TLVs too; v3.3 receivers only the text.
            let with_tlvs = receipt(&message_id, &source, &dest, state, err, &text, true);
            let mut pushed =
                server.push_where(&account, Request::DeliverSm(with_tlvs), SessionInfo::tlvs_allowed).await;
            if matches!(pushed, Err(crate::server::PushError::NoReceiver(_))) {
                let plain = receipt(&message_id, &source, &dest, state, err, &text, false);
                pushed = server.push_where(&account, Request::DeliverSm(plain), |s| !s.tlvs_allowed()).await;
            }
            match pushed {
                Ok((status, _)) if status.is_ok() => {}
                Ok((status, _)) => {
                    tracing::info!(%account, message_id = %message_id, %status, "receipt refused by the ESME")
                }
                Err(e) => tracing::warn!(%account, message_id = %message_id, %e, "receipt not delivered"),
            }
        });
    }
}

impl SmscHandler for Simulator {
    fn authenticate(&self, _peer: SocketAddr, _mode: BindMode, bind: &Bind) -> Result<(), CommandStatus> {
        let system_id = String::from_utf8_lossy(bind.system_id.as_bytes());
        match self.config.accounts.get(system_id.as_ref()) {
            None => Err(CommandStatus::ESME_RINVSYSID),
            Some(p) if p.as_bytes() != bind.password.expose() => Err(CommandStatus::ESME_RINVPASWD),
            Some(_) => Ok(()),
        }
    }

    fn on_request(&self, session: &SessionInfo, request: Request, _defer: Defer<'_>) -> Option<Reply> {
        let (dest, source, text, receipt_wanted) = match &request {
            Request::SubmitSm(s) => {
                (s.destination_addr, s.source_addr, s.short_message.as_bytes().to_vec(), s.registered_delivery)
            }
            Request::DataSm(d) => {
                let payload = d.tlvs.message_payload().map(|p| p.as_bytes().to_vec()).unwrap_or_default();
                let dest =
                    Address::new(d.destination_addr.ton, d.destination_addr.npi, d.destination_addr.addr.as_bytes())
                        .unwrap_or_default();
                let source = Address::new(d.source_addr.ton, d.source_addr.npi, d.source_addr.addr.as_bytes())
                    .unwrap_or_default();
                (dest, source, payload, d.registered_delivery)
            }
            Request::SubmitMulti(_) | Request::QuerySm(_) | Request::CancelSm(_) | Request::ReplaceSm(_) => {
                return Some(self.other(session, &request));
            }
            _ => return Some(Reply::error(&request, CommandStatus::ESME_RINVCMDID)),
        };
        if let Some(status) = self.injected_error(dest.addr.as_bytes()) {
            return Some(Reply::error(&request, status));
        }
        if self.throttled(&session.system_id) {
            return Some(Reply::error(&request, CommandStatus::ESME_RTHROTTLED));
        }
        self.submits.fetch_add(1, Ordering::Relaxed);
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        // 8 hex digits: unique for 2^32 messages and valid as a v3.3 message_id.
        let id = format!("{:08x}", n & 0xFFFF_FFFF);
        tracing::debug!(account = %session.system_id, message_id = %id, "submit accepted");
        tracing::trace!(dest = %dest.addr, "submit destination");
        if !matches!(receipt_wanted.receipt(), smpp_pdu::ReceiptRequest::None) {
            self.schedule_receipt(session, id.clone(), source, dest, text);
        }
        let mut resp = SubmitSmResp::default();
        resp.message_id = COctetString::new(&id).unwrap_or_default();
        let body = match request {
            Request::DataSm(_) => Body::DataSmResp(Some(resp)),
            _ => Body::SubmitSmResp(Some(resp)),
        };
        Some(Reply { status: CommandStatus::ESME_ROK, body })
    }

    fn on_long_message(&self, session: &SessionInfo, message: smpp_pdu::text::Assembled) {
        tracing::debug!(account = %session.system_id, parts = message.total, octets = message.data.len(), "long message reassembled");
        if let Ok(mut log) = self.long_messages.lock() {
            if log.len() >= 100 {
                log.remove(0);
            }
            log.push(message);
        }
    }

    fn on_incomplete(&self, session: &SessionInfo, expired: smpp_pdu::text::Expired) {
        tracing::info!(account = %session.system_id, reference = expired.reference, received = expired.received, total = expired.total, "long message incomplete");
    }

    fn on_bound(&self, session: &SessionInfo) {
        tracing::info!(account = %session.system_id, mode = ?session.mode, version = ?session.version, "bound");
    }
}

impl Simulator {
    fn other(&self, _session: &SessionInfo, request: &Request) -> Reply {
        match request {
            Request::SubmitMulti(_) => {
                let n = self.next_id.fetch_add(1, Ordering::Relaxed);
                let mut resp = smpp_pdu::SubmitMultiResp::default();
                resp.message_id = COctetString::new(format!("{:08x}", n & 0xFFFF_FFFF)).unwrap_or_default();
                Reply { status: CommandStatus::ESME_ROK, body: Body::SubmitMultiResp(Some(resp)) }
            }
            Request::QuerySm(q) => {
                let mut resp = smpp_pdu::QuerySmResp::default();
                resp.message_id = q.message_id;
                resp.message_state = self.config.dlr_state;
                Reply { status: CommandStatus::ESME_ROK, body: Body::QuerySmResp(Some(resp)) }
            }
            Request::CancelSm(_) => Reply { status: CommandStatus::ESME_ROK, body: Body::CancelSmResp },
            Request::ReplaceSm(_) => Reply { status: CommandStatus::ESME_ROK, body: Body::ReplaceSmResp },
            other => Reply::error(other, CommandStatus::ESME_RINVCMDID),
        }
    }
}

fn mo(from: &str, to: &str, text: &str) -> DeliverSm {
    let mut d = DeliverSm::default();
    d.source_addr = Address::new(Ton::INTERNATIONAL, Npi::ISDN, from).unwrap_or_default();
    d.destination_addr = Address::new(Ton::INTERNATIONAL, Npi::ISDN, to).unwrap_or_default();
    d.short_message = ShortMessage::new(text.as_bytes().to_vec()).unwrap_or_default();
    d
}

/// The receipt for a message: Appendix B text, and the TLVs when allowed.
fn receipt(
    id: &str,
    source: &Address<21>,
    dest: &Address<21>,
    state: MessageState,
    err: u16,
    text: &[u8],
    tlvs: bool,
) -> DeliverSm {
    let mut d = DeliverSm::default();
    // A receipt travels from the original destination to the original source.
    d.source_addr = *dest;
    d.destination_addr = *source;
    d.esm_class = EsmClass(0x04);
    d.registered_delivery = RegisteredDelivery::NONE;
    let date = smpp_pdu::text::ReceiptDate::parse(&crate::clock::receipt_date());
    let mut r = smpp_pdu::text::Receipt::default();
    r.id = Some(id.to_owned());
    r.sub = Some(1);
    r.dlvrd = Some(u32::from(state == MessageState::DELIVERED));
    r.submit_date = date;
    r.done_date = date;
    r.state = Some(state);
    r.err = Some(format!("{err:03}"));
    r.text = Some(String::from_utf8_lossy(&text.iter().take(20).copied().collect::<Vec<u8>>()).into_owned());
    let mut bytes = r.format().into_bytes();
    bytes.truncate(254);
    d.short_message = ShortMessage::new(bytes).unwrap_or_default();
    if tlvs {
        if let Ok(v) = TlvString::new(id) {
            d.tlvs.push(Tlv::ReceiptedMessageId(v));
        }
        d.tlvs.push(Tlv::MessageState(state));
    }
    d
}
