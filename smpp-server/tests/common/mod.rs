//! Test support shared by the smpp-server integration tests: servers fed over
//! in-memory duplex streams (so tests run in virtual time), our client connected
//! to them, and a raw ESME that speaks PDUs a well-behaved client never would.
#![allow(dead_code, unreachable_pub)]

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::BytesMut;
use smpp_client::{BoxStream, Client, ClientConfig, ClientError, Connector, Incoming};
use smpp_server::smpp_session::BindMode;
use smpp_server::smpp_wire::{
    Address, Bind, Body, CommandStatus, DeliverSm, InterfaceVersion, Password, Pdu, RegisteredDelivery, SequenceNumber,
    ShortMessage, SubmitSm, frame_len,
};
use smpp_server::{Server, ServerConfig, Simulator, SimulatorConfig, SimulatorHandle, SmscHandler};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

/// How long a test waits (in virtual time) for something that should come.
pub const PATIENCE: Duration = Duration::from_secs(600);

/// A peer address for connections the tests feed the server themselves.
pub fn peer(port: u16) -> SocketAddr {
    SocketAddr::from(([192, 0, 2, 1], port))
}

/// A server configuration for servers fed through [`Server::serve`].
pub fn server_config() -> ServerConfig {
    ServerConfig::new("127.0.0.1:0".parse().unwrap())
}

/// A connector for our client: each connection is a new duplex whose other half
/// `server` serves (and drops at once when it refuses it, as a full listener
/// would close an accepted socket).
pub fn connector<H: SmscHandler>(server: &Server<H>) -> Connector {
    let server = server.clone();
    let next = Arc::new(AtomicU16::new(40_000));
    Arc::new(move || {
        let (server, port) = (server.clone(), next.fetch_add(1, Ordering::Relaxed));
        Box::pin(async move {
            let (ours, theirs) = tokio::io::duplex(1 << 16);
            server.serve(theirs, peer(port));
            Ok(Box::new(ours) as BoxStream)
        })
    })
}

/// Our client, bound to `server` over a duplex.
pub async fn client<H: SmscHandler>(
    server: &Server<H>,
    config: ClientConfig,
) -> Result<(Client, Incoming), ClientError> {
    Client::connect_via(config, connector(server)).await
}

/// A client configuration (host and port are not used over a duplex).
pub fn client_config(user: &str, password: &str) -> ClientConfig {
    ClientConfig::new("sim", 0, user, password)
}

/// A simulator on a server fed through [`Server::serve`].
pub struct Sim {
    pub server: Server<Simulator>,
    pub handle: SimulatorHandle,
}

impl Sim {
    pub fn new(config: SimulatorConfig) -> Self {
        Self::with_server(config, server_config())
    }

    pub fn with_server(config: SimulatorConfig, server_config: ServerConfig) -> Self {
        let simulator = Simulator::new(config);
        let server = Server::new(server_config, simulator.clone());
        let handle = simulator.attach(server.handle());
        Self { server, handle }
    }

    pub async fn client(&self, config: ClientConfig) -> Result<(Client, Incoming), ClientError> {
        client(&self.server, config).await
    }

    /// A raw ESME connection (not bound yet).
    pub fn raw(&self, port: u16) -> Raw {
        Raw::connect(&self.server, port)
    }
}

/// The simulator's accounts in these tests: alice/secret and bob/hunter2, receipts
/// 20 ms after each submit.
pub fn sim_config() -> SimulatorConfig {
    let mut c = SimulatorConfig::default();
    c.accounts = HashMap::from([("alice".to_owned(), "secret".to_owned()), ("bob".to_owned(), "hunter2".to_owned())]);
    c.dlr_delay = Duration::from_millis(20);
    c
}

/// A submit_sm of "hello there" from 12345 to `to`, asking for a receipt or not.
pub fn sm(to: &str, receipt: bool) -> SubmitSm {
    let mut s = SubmitSm::default();
    s.source_addr = Address::international("12345").unwrap();
    s.destination_addr = Address::international(to).unwrap();
    s.short_message = ShortMessage::new(&b"hello there"[..]).unwrap();
    if receipt {
        s.registered_delivery = RegisteredDelivery::RECEIPT;
    }
    s
}

/// A deliver_sm (an MO) with `text`.
pub fn mo(text: &str) -> DeliverSm {
    let mut d = DeliverSm::default();
    d.source_addr = Address::international("447700900123").unwrap();
    d.destination_addr = Address::international("12345").unwrap();
    d.short_message = ShortMessage::new(text.as_bytes().to_vec()).unwrap();
    d
}

/// Waits, in virtual time and boundedly, until `cond` holds.
pub async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..10_000 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    panic!("{what}: still not true after 10 s");
}

/// Like [`eventually`], for a condition that has to await.
#[allow(dead_code)]
pub async fn eventually_async(what: &str, mut cond: impl AsyncFnMut() -> bool) {
    for _ in 0..10_000 {
        if cond().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    panic!("{what}: still not true after 10 s");
}

/// A bind body.
pub fn bind_body(mode: BindMode, system_id: &str, password: &str, version: u8, system_type: &str) -> Body {
    let mut bind = Bind::default();
    bind.system_id = system_id.parse().unwrap();
    bind.password = Password::new(password).unwrap();
    bind.system_type = system_type.parse().unwrap();
    bind.interface_version = InterfaceVersion(version);
    match mode {
        BindMode::Transmitter => Body::BindTransmitter(bind),
        BindMode::Receiver => Body::BindReceiver(bind),
        _ => Body::BindTransceiver(bind),
    }
}

/// An ESME below the session: it writes the PDUs it is told to and reads what comes,
/// so it can break rules (a v3.3 bind_transceiver, a data_sm or TLVs on v3.3) that
/// our client's session refuses locally.
pub struct Raw {
    io: DuplexStream,
    buf: BytesMut,
    next_seq: u32,
    /// PDUs that came while waiting for a response, oldest first.
    pub pending: VecDeque<Pdu>,
}

impl Raw {
    /// A connection to `server` from [`peer`]`(port)`.
    pub fn connect<H: SmscHandler>(server: &Server<H>, port: u16) -> Self {
        let (ours, theirs) = tokio::io::duplex(1 << 16);
        assert!(server.serve(theirs, peer(port)), "the server refused the connection");
        Self::from_stream(ours)
    }

    /// The ESME's end of a connection the server serves already.
    #[allow(dead_code)]
    pub fn from_stream(io: DuplexStream) -> Self {
        Self { io, buf: BytesMut::new(), next_seq: 1, pending: VecDeque::new() }
    }

    /// Sends a request; returns its sequence number.
    pub async fn send(&mut self, body: Body) -> SequenceNumber {
        let seq = SequenceNumber::new(self.next_seq);
        self.next_seq += 1;
        self.write(Pdu::new(seq, body)).await;
        seq
    }

    /// Writes one PDU.
    pub async fn write(&mut self, pdu: Pdu) {
        // A peer that has hung up is seen by the next read.
        let _ = self.io.write_all(&pdu.to_bytes()).await;
    }

    /// The next PDU from the SMSC (kept ones first); `None` once it has closed.
    pub async fn read(&mut self) -> Option<Pdu> {
        match self.read_within(PATIENCE).await {
            Some(pdu) => pdu,
            None => panic!("nothing from the SMSC within {PATIENCE:?}"),
        }
    }

    /// The next PDU within `wait`: `None` if nothing came, `Some(None)` if the SMSC
    /// closed the connection.
    pub async fn read_within(&mut self, wait: Duration) -> Option<Option<Pdu>> {
        if let Some(pdu) = self.pending.pop_front() {
            return Some(Some(pdu));
        }
        tokio::time::timeout(wait, self.read_frame()).await.ok()
    }

    async fn read_frame(&mut self) -> Option<Pdu> {
        loop {
            if let Some(n) = frame_len(&self.buf, 1 << 17).expect("a well-formed frame from the SMSC") {
                let frame = self.buf.split_to(n).freeze();
                return Some(Pdu::decode(frame).expect("a PDU that decodes"));
            }
            match self.io.read_buf(&mut self.buf).await {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    }

    /// Sends a request and waits for its response; requests from the SMSC that come
    /// meanwhile are kept in [`pending`](Self::pending).
    pub async fn call(&mut self, body: Body) -> Pdu {
        let seq = self.send(body).await;
        let mut kept = VecDeque::new();
        let response = loop {
            let Some(pdu) = tokio::time::timeout(PATIENCE, self.read_frame()).await.expect("a response in time") else {
                panic!("the SMSC closed the connection before answering #{}", seq.value());
            };
            if pdu.sequence == seq && pdu.command_id().is_response() {
                break pdu;
            }
            kept.push_back(pdu);
        };
        self.pending.extend(kept);
        response
    }

    /// Binds; returns the bind response's status.
    pub async fn bind(&mut self, mode: BindMode, system_id: &str, password: &str, version: u8) -> CommandStatus {
        self.bind_as(mode, system_id, password, version, "").await
    }

    /// Binds with a system_type; returns the bind response's status.
    pub async fn bind_as(
        &mut self,
        mode: BindMode,
        system_id: &str,
        password: &str,
        version: u8,
        system_type: &str,
    ) -> CommandStatus {
        self.call(bind_body(mode, system_id, password, version, system_type)).await.status
    }

    /// The next deliver_sm from the SMSC, answered `ESME_ROK`.
    pub async fn deliver(&mut self) -> DeliverSm {
        self.deliver_within(PATIENCE).await.unwrap_or_else(|| panic!("no deliver_sm within {PATIENCE:?}"))
    }

    /// The next deliver_sm within `wait`, answered `ESME_ROK`; `None` if none came.
    /// Other PDUs (enquire_link, ...) are answered as a session would or skipped.
    pub async fn deliver_within(&mut self, wait: Duration) -> Option<DeliverSm> {
        let (seq, d) = self.unanswered_deliver_within(wait).await?;
        self.answer_deliver(seq, CommandStatus::ESME_ROK).await;
        Some(d)
    }

    /// The next deliver_sm, not answered yet: its sequence number and body.
    pub async fn unanswered_deliver(&mut self) -> (SequenceNumber, DeliverSm) {
        self.unanswered_deliver_within(PATIENCE).await.unwrap_or_else(|| panic!("no deliver_sm within {PATIENCE:?}"))
    }

    /// The next deliver_sm within `wait`, not answered yet; `None` if none came.
    /// Other PDUs (enquire_link, ...) are answered as a session would or skipped.
    pub async fn unanswered_deliver_within(&mut self, wait: Duration) -> Option<(SequenceNumber, DeliverSm)> {
        let until = tokio::time::Instant::now() + wait;
        loop {
            let left = until.saturating_duration_since(tokio::time::Instant::now());
            let pdu = self.read_within(left).await??;
            match pdu.body {
                Body::DeliverSm(d) => return Some((pdu.sequence, d)),
                Body::EnquireLink => self.write(Pdu::new(pdu.sequence, Body::EnquireLinkResp)).await,
                _ => {}
            }
        }
    }

    /// Answers deliver_sm `seq` with `status` (an error answer has no body).
    pub async fn answer_deliver(&mut self, seq: SequenceNumber, status: CommandStatus) {
        let body = Body::DeliverSmResp(status.is_ok().then(Default::default));
        self.write(Pdu::with_status(seq, status, body)).await;
    }

    /// Whether the SMSC closes the connection within `wait` (what it sends before
    /// that is dropped).
    pub async fn closes_within(&mut self, wait: Duration) -> bool {
        let until = tokio::time::Instant::now() + wait;
        loop {
            let left = until.saturating_duration_since(tokio::time::Instant::now());
            match self.read_within(left).await {
                None => return false,
                Some(None) => return true,
                Some(Some(_)) => {}
            }
        }
    }
}

/// Log lines captured on the current thread (a current-thread runtime's tasks run
/// there too), as plain text without colours.
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    /// Captures `INFO` and above until the guard is dropped.
    pub fn capture() -> (Self, tracing::subscriber::DefaultGuard) {
        let logs = Self::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || writer.clone())
            .finish();
        (logs, tracing::subscriber::set_default(subscriber))
    }

    /// What was logged since the last call.
    pub fn take(&self) -> String {
        let bytes = std::mem::take(&mut *self.0.lock().unwrap());
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
