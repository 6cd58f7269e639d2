//! The ESME client: connect and bind in one call, pipelined requests sharing the
//! window, inbound messages as a stream, optional rate limit and reconnection.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use smpp_pdu::{
    Body, COctetString, CancelSm, CommandStatus, DataSm, DecodeError, DeliverSm, InterfaceVersion, Password, QuerySm,
    QuerySmResp, ReplaceSm, SequenceNumber, SubmitMulti, SubmitMultiResp, SubmitSm, SubmitSmResp,
};
use smpp_session::{BindMode, BindRequest, CloseReason, Event, Request, SendError, Session};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot, watch};
use tracing::Instrument;

use crate::config::ClientConfig;
use crate::driver::{Handler, drive_with, now};
use crate::error::{ClientError, RequestError};

/// Any byte stream the client can run over: TCP, TLS, an in-memory duplex.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Stream for T {}

/// A boxed stream.
pub type BoxStream = Box<dyn Stream>;

/// A boxed future returning a new stream, for [`Client::connect_via`].
pub type ConnectFuture = Pin<Box<dyn Future<Output = Result<BoxStream, ClientError>> + Send>>;

/// Opens new streams (for the first connection and each reconnection).
pub type Connector = Arc<dyn Fn() -> ConnectFuture + Send + Sync>;

/// How a request ended, as the driver reports it.
#[derive(Debug)]
pub(crate) enum Outcome {
    Response { status: CommandStatus, body: Body },
    Timeout,
    Malformed(DecodeError),
    Failed(CloseReason),
    Refused(SendError),
}

pub(crate) enum Command {
    // Boxed: requests are a few hundred octets, and only the pointer travels.
    Request { request: Box<Request>, reply: oneshot::Sender<Outcome>, permit: Option<OwnedSemaphorePermit> },
    // Boxed too, so that a command is a few words and cheap to move through the queue.
    Respond { seq: SequenceNumber, status: CommandStatus, body: Box<Body> },
    Unbind { reply: oneshot::Sender<()> },
    Close,
}

/// The state of the link, as the application sees it.
#[non_exhaustive]
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum LinkState {
    /// Connecting or binding.
    Connecting,
    /// Bound.
    Up {
        /// The bind mode.
        mode: BindMode,
        /// The negotiated version.
        version: InterfaceVersion,
    },
    /// The link is down; a reconnection may follow.
    Down(CloseReason),
    /// Unbound or closed by the application, for good.
    Closed,
}

/// An inbound deliver_sm or data_sm.
#[non_exhaustive]
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum InboundMessage {
    /// A mobile-originated message (deliver_sm).
    Deliver(DeliverSm),
    /// A delivery receipt (deliver_sm with esm_class message type 0x04 or 0x20).
    Receipt(DeliverSm),
    /// A data_sm.
    Data(DataSm),
    /// An alert_notification (no response is expected).
    Alert(smpp_pdu::AlertNotification),
    /// A long message reassembled from its parts (UDH or SAR); each part was
    /// acknowledged as it came.
    Long {
        /// The first part received (addresses, esm_class, data_coding).
        first: DeliverSm,
        /// The reassembled user data, UDHs removed.
        data: Vec<u8>,
    },
    /// A long message whose parts did not all arrive in time (or were evicted to bound
    /// memory). Reported, never dropped silently.
    Incomplete(smpp_pdu::text::Expired),
}

/// One inbound message. In manual-ack mode, answer it with [`respond`](Self::respond);
/// one dropped unanswered is answered `ESME_RX_T_APPN`, so the SMSC delivers it again.
#[derive(Debug)]
pub struct Inbound {
    /// The sequence number it came with.
    pub seq: SequenceNumber,
    /// The message.
    pub message: InboundMessage,
    responder: Option<Responder>,
}

impl Inbound {
    /// Whether this is a delivery receipt.
    pub fn is_receipt(&self) -> bool {
        matches!(self.message, InboundMessage::Receipt(_))
    }

    /// The parsed delivery receipt, if this is one.
    pub fn receipt(&self) -> Option<smpp_pdu::text::Receipt> {
        match &self.message {
            InboundMessage::Receipt(d) => smpp_pdu::text::Receipt::from_deliver_sm(d),
            _ => None,
        }
    }

    /// The message text, decoded by its data_coding (reassembled for long messages).
    pub fn text(&self) -> Option<String> {
        let decoded = match &self.message {
            InboundMessage::Deliver(d) | InboundMessage::Receipt(d) => {
                let payload = d.tlvs.message_payload();
                let octets = if d.short_message.is_empty() {
                    payload.map(|p| p.as_bytes().to_vec()).unwrap_or_default()
                } else {
                    d.short_message.as_bytes().to_vec()
                };
                smpp_pdu::text::decode_message(d.data_coding, d.esm_class, &octets)
            }
            InboundMessage::Long { first, data } => {
                // The parts' UDH announces any national language tables.
                let tables = smpp_pdu::text::fragment_of(first.esm_class, &first.short_message, &first.tlvs)
                    .map(|f| f.national)
                    .unwrap_or_default();
                smpp_pdu::text::decode_with(first.data_coding, data, tables)
            }
            InboundMessage::Data(d) => {
                let payload = d.tlvs.message_payload().map(|p| p.as_bytes().to_vec()).unwrap_or_default();
                smpp_pdu::text::decode(d.data_coding, &payload)
            }
            _ => return None,
        };
        match decoded {
            smpp_pdu::text::Decoded::Text(t) => Some(t),
            _ => None,
        }
    }

    /// Answers the message with `status` (manual-ack mode). In auto-ack mode it was
    /// already answered `ESME_ROK` and this does nothing.
    pub fn respond(mut self, status: CommandStatus) -> Result<(), RequestError> {
        match self.responder.take() {
            Some(mut r) => r.send(status),
            None => Ok(()),
        }
    }
}

#[derive(Debug)]
struct Responder {
    commands: mpsc::WeakSender<Command>,
    seq: SequenceNumber,
    body: Option<Body>,
}

impl Responder {
    fn send(&mut self, status: CommandStatus) -> Result<(), RequestError> {
        let Some(body) = self.body.take() else { return Ok(()) };
        let commands = self.commands.upgrade().ok_or(RequestError::Closed)?;
        commands
            .try_send(Command::Respond { seq: self.seq, status, body: Box::new(body) })
            .map_err(|_| RequestError::Closed)
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        // Never leave the SMSC without an answer: ask it to retry.
        let _ = self.send(CommandStatus::ESME_RX_T_APPN);
    }
}

/// The stream of inbound messages.
#[derive(Debug)]
pub struct Incoming(mpsc::Receiver<Inbound>);

impl Incoming {
    /// The next inbound message, or `None` once the client is closed for good.
    pub async fn recv(&mut self) -> Option<Inbound> {
        self.0.recv().await
    }

    /// The next inbound message if one is waiting.
    pub fn try_recv(&mut self) -> Option<Inbound> {
        self.0.try_recv().ok()
    }
}

/// A successful submit: the MC's message_id.
#[non_exhaustive]
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Submitted {
    /// The message_id from submit_sm_resp (empty if the SMSC sent none).
    pub message_id: COctetString<65>,
}

/// A cheap, cloneable handle to one bind. Requests from any number of tasks share its
/// window.
#[derive(Clone, Debug)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    commands: mpsc::Sender<Command>,
    window: Arc<Semaphore>,
    link: watch::Receiver<LinkState>,
    rate: Option<RateLimiter>,
    down_wait: Duration,
    closed: Arc<std::sync::atomic::AtomicBool>,
    references: Mutex<smpp_pdu::text::References>,
}

/// How [`Client::submit_text`] encodes and splits a text.
#[non_exhaustive]
#[derive(Clone, Copy, Debug)]
pub struct TextOptions {
    /// The encoding; `None` picks GSM 7-bit when every character fits, else UCS-2.
    pub encoding: Option<smpp_pdu::text::Encoding>,
    /// How long texts are split (default: an 8-bit reference UDH).
    pub concatenation: smpp_pdu::text::Concatenation,
    /// Receipts requested (default: none).
    pub registered_delivery: smpp_pdu::RegisteredDelivery,
    /// Extra esm_class bits.
    pub esm_class: smpp_pdu::EsmClass,
}

impl Default for TextOptions {
    fn default() -> Self {
        Self {
            encoding: None,
            concatenation: smpp_pdu::text::Concatenation::Udh8,
            registered_delivery: smpp_pdu::RegisteredDelivery::NONE,
            esm_class: smpp_pdu::EsmClass::DEFAULT,
        }
    }
}

/// Spaces requests evenly: at most `per_second` a second.
#[derive(Debug)]
struct RateLimiter {
    interval: Duration,
    next: Mutex<tokio::time::Instant>,
}

impl RateLimiter {
    fn new(per_second: f64) -> Self {
        Self { interval: Duration::from_secs_f64(1.0 / per_second), next: Mutex::new(tokio::time::Instant::now()) }
    }

    async fn acquire(&self) {
        let at = {
            let mut next = self.next.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let at = (*next).max(tokio::time::Instant::now());
            *next = at + self.interval;
            at
        };
        tokio::time::sleep_until(at).await;
    }
}

impl Client {
    /// Connects to `config.host:config.port` (TCP, or TLS when configured) and binds.
    /// Returns once bound, or with the reason it could not bind.
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
    /// use smpp_client::{Client, ClientConfig};
    /// let (client, _incoming) = Client::connect(ClientConfig::new("127.0.0.1", 2775, "user", "secret")).await?;
    /// client.unbind().await;
    /// # Ok(()) }
    /// ```
    pub async fn connect(config: ClientConfig) -> Result<(Self, Incoming), ClientError> {
        let c = config.clone();
        let connector: Connector = Arc::new(move || {
            let c = c.clone();
            Box::pin(async move { crate::tls::open_stream(&c).await })
        });
        Self::connect_via(config, connector).await
    }

    /// Binds over an already open stream (an in-memory duplex in tests, a stream set
    /// up some other way). Reconnection is not available on this path.
    pub async fn connect_with<T: Stream>(config: ClientConfig, stream: T) -> Result<(Self, Incoming), ClientError> {
        let slot = Arc::new(Mutex::new(Some(Box::new(stream) as BoxStream)));
        let connector: Connector = Arc::new(move || {
            let stream = slot.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
            Box::pin(async move { stream.ok_or(ClientError::Config("the stream was used already".into())) })
        });
        let mut config = config;
        config.reconnect = None;
        Self::connect_via(config, connector).await
    }

    /// Binds over streams from `connector`, which is called again for each
    /// reconnection when [`ClientConfig::reconnect`] is set.
    pub async fn connect_via(config: ClientConfig, connector: Connector) -> Result<(Self, Incoming), ClientError> {
        let bind = bind_request(&config)?;
        let (command_tx, command_rx) = mpsc::channel(config.window + 64);
        let (incoming_tx, incoming_rx) = mpsc::channel(config.incoming_capacity);
        let (link_tx, link_rx) = watch::channel(LinkState::Connecting);
        let (first_tx, first_rx) = oneshot::channel();
        let closed = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let span = tracing::info_span!("smpp_client", system_id = %config.system_id, addr = %config.addr());
        let supervisor = Supervisor {
            config: config.clone(),
            bind,
            connector,
            commands: command_rx,
            weak_commands: command_tx.downgrade(),
            incoming: incoming_tx,
            link: link_tx,
            closed: closed.clone(),
        };
        tokio::spawn(supervisor.run(first_tx).instrument(span));
        first_rx.await.map_err(|_| ClientError::DriverGone)??;
        let inner = Inner {
            commands: command_tx,
            window: Arc::new(Semaphore::new(config.window)),
            link: link_rx,
            rate: config.rate_limit.map(RateLimiter::new),
            down_wait: config.reconnect.as_ref().map_or(Duration::ZERO, |r| r.down_wait),
            closed,
            references: Mutex::new(smpp_pdu::text::References::new()),
        };
        Ok((Self { inner: Arc::new(inner) }, Incoming(incoming_rx)))
    }

    /// Submits a message. Waits for room in the window (back-pressure), then for the
    /// response; resolves to exactly one outcome.
    pub async fn submit(&self, submit: SubmitSm) -> Result<Submitted, RequestError> {
        let body = self.request_boxed(Box::new(Request::SubmitSm(submit))).await?;
        Ok(Submitted { message_id: message_id(body) })
    }

    /// Like [`submit`](Self::submit), but fails at once with
    /// [`RequestError::WindowFull`] instead of waiting for room.
    pub async fn try_submit(&self, submit: SubmitSm) -> Result<Submitted, RequestError> {
        let permit = self.inner.window.clone().try_acquire_owned().map_err(|_| RequestError::WindowFull)?;
        let body = self.request_with_permit(Box::new(Request::SubmitSm(submit)), permit).await?;
        Ok(Submitted { message_id: message_id(body) })
    }

    /// Encodes `text`, splits it when it is long, submits every part (pipelined, in
    /// order) and returns every part's message_id. `options` chooses the encoding
    /// (automatic by default) and the concatenation method (an 8-bit reference UDH by
    /// default, which works on v3.3 and v3.4 links; SAR and message_payload need v3.4).
    ///
    /// ```no_run
    /// # async fn f(client: smpp_client::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// use smpp_client::{smpp_pdu::Address, TextOptions};
    /// let ids = client
    ///     .submit_text(Address::alphanumeric("Rust")?, Address::international("447700900123")?, "Hello €", TextOptions::default())
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn submit_text(
        &self,
        from: smpp_pdu::Address<21>,
        to: smpp_pdu::Address<21>,
        text: &str,
        options: TextOptions,
    ) -> Result<Vec<Submitted>, RequestError> {
        use smpp_pdu::text;
        let encoding = match options.encoding {
            Some(e) => e,
            None => text::choose(text),
        };
        let reference =
            self.inner.references.lock().map(|mut r| r.next(&String::from_utf8_lossy(to.addr.as_bytes()))).unwrap_or(0);
        let parts = text::split(text, encoding, options.concatenation, reference).map_err(RequestError::Encode)?;
        let mut pending = Vec::with_capacity(parts.len());
        for part in parts {
            let mut sm = SubmitSm::default();
            sm.source_addr = from;
            sm.destination_addr = to;
            sm.esm_class = smpp_pdu::EsmClass(part.esm_class.0 | options.esm_class.0);
            sm.data_coding = encoding.data_coding();
            sm.registered_delivery = options.registered_delivery;
            sm.short_message = part.short_message;
            sm.tlvs = part.tlvs;
            let client = self.clone();
            // Spawned in order, so parts enter the window in order and are pipelined.
            pending.push(tokio::spawn(async move { client.submit(sm).await }));
            tokio::task::yield_now().await;
        }
        let mut out = Vec::with_capacity(pending.len());
        for p in pending {
            out.push(p.await.map_err(|_| RequestError::Closed)??);
        }
        Ok(out)
    }

    /// Submits one message to several destinations.
    pub async fn submit_multi(&self, submit: SubmitMulti) -> Result<SubmitMultiResp, RequestError> {
        match self.request(Request::SubmitMulti(submit)).await? {
            Body::SubmitMultiResp(r) => Ok(r.unwrap_or_default()),
            _ => Ok(SubmitMultiResp::default()),
        }
    }

    /// Sends a data_sm (v3.4 binds only).
    pub async fn data_sm(&self, data: DataSm) -> Result<Submitted, RequestError> {
        let body = self.request(Request::DataSm(data)).await?;
        Ok(Submitted { message_id: message_id(body) })
    }

    /// Queries the state of a submitted message.
    pub async fn query_sm(&self, query: QuerySm) -> Result<QuerySmResp, RequestError> {
        match self.request(Request::QuerySm(query)).await? {
            Body::QuerySmResp(r) => Ok(r.unwrap_or_default()),
            _ => Ok(QuerySmResp::default()),
        }
    }

    /// Cancels a submitted message.
    pub async fn cancel_sm(&self, cancel: CancelSm) -> Result<(), RequestError> {
        self.request(Request::CancelSm(cancel)).await.map(drop)
    }

    /// Replaces a submitted message.
    pub async fn replace_sm(&self, replace: ReplaceSm) -> Result<(), RequestError> {
        self.request(Request::ReplaceSm(replace)).await.map(drop)
    }

    /// Sends any request and returns the response body on `ESME_ROK`.
    pub async fn request(&self, request: Request) -> Result<Body, RequestError> {
        self.request_boxed(Box::new(request)).await
    }

    async fn request_boxed(&self, request: Box<Request>) -> Result<Body, RequestError> {
        if let Some(rate) = &self.inner.rate {
            rate.acquire().await;
        }
        let permit = self.inner.window.clone().acquire_owned().await.map_err(|_| RequestError::Closed)?;
        self.request_with_permit(request, permit).await
    }

    async fn request_with_permit(
        &self,
        request: Box<Request>,
        permit: OwnedSemaphorePermit,
    ) -> Result<Body, RequestError> {
        self.wait_until_up().await?;
        let (reply, outcome) = oneshot::channel();
        self.inner
            .commands
            .send(Command::Request { request, reply, permit: Some(permit) })
            .await
            .map_err(|_| RequestError::Closed)?;
        match outcome.await {
            Ok(Outcome::Response { status, body }) if status.is_ok() => Ok(body),
            Ok(Outcome::Response { status, .. }) => Err(RequestError::from_status(status)),
            Ok(Outcome::Timeout) => Err(RequestError::Timeout),
            Ok(Outcome::Malformed(e)) => Err(RequestError::Malformed(e)),
            Ok(Outcome::Failed(reason)) => Err(RequestError::ConnectionLost(reason)),
            Ok(Outcome::Refused(e)) => Err(RequestError::Send(e)),
            Err(_) => Err(RequestError::ConnectionLost(CloseReason::PeerClosed)),
        }
    }

    /// Waits (at most the reconnect `down_wait`) for the link to be up.
    async fn wait_until_up(&self) -> Result<(), RequestError> {
        // The usual case, the link up, without cloning the receiver.
        if matches!(*self.inner.link.borrow(), LinkState::Up { .. }) {
            return Ok(());
        }
        let mut link = self.inner.link.clone();
        let up = |s: &LinkState| matches!(s, LinkState::Up { .. } | LinkState::Closed);
        if let LinkState::Down(reason) = *link.borrow()
            && self.inner.down_wait.is_zero()
        {
            // No reconnection configured: the link is not coming back.
            return Err(RequestError::ConnectionLost(reason));
        }
        if !up(&link.borrow()) {
            let wait = self.inner.down_wait;
            match tokio::time::timeout(wait, link.wait_for(up)).await {
                Ok(Ok(_)) => {}
                Ok(Err(_)) => return Err(RequestError::Closed),
                Err(_) => return Err(RequestError::NotConnected(wait)),
            }
        }
        if *link.borrow() == LinkState::Closed {
            return Err(RequestError::Closed);
        }
        Ok(())
    }

    /// Unbinds gracefully: requests in flight get their responses first. Returns once
    /// the session is closed.
    pub async fn unbind(&self) {
        self.inner.closed.store(true, Ordering::SeqCst);
        let (reply, done) = oneshot::channel();
        if self.inner.commands.send(Command::Unbind { reply }).await.is_ok() {
            let _ = done.await;
        }
    }

    /// Closes at once; requests in flight fail with
    /// [`RequestError::ConnectionLost`].
    pub async fn close(&self) {
        self.inner.closed.store(true, Ordering::SeqCst);
        let _ = self.inner.commands.send(Command::Close).await;
    }

    /// The current link state.
    pub fn link_state(&self) -> LinkState {
        self.inner.link.borrow().clone()
    }

    /// Whether the link is bound now.
    pub fn is_up(&self) -> bool {
        matches!(*self.inner.link.borrow(), LinkState::Up { .. })
    }

    /// Free room in the window now.
    pub fn available(&self) -> usize {
        self.inner.window.available_permits()
    }
}

fn message_id(body: Body) -> COctetString<65> {
    match body {
        Body::SubmitSmResp(Some(SubmitSmResp { message_id, .. }))
        | Body::DataSmResp(Some(SubmitSmResp { message_id, .. })) => message_id,
        _ => COctetString::EMPTY,
    }
}

fn bind_request(config: &ClientConfig) -> Result<BindRequest, ClientError> {
    let bad = |what: &str, e: smpp_pdu::FieldError| ClientError::Config(format!("{what}: {e}"));
    let mut bind = BindRequest::new(config.mode, "", "").map_err(|e| bad("bind", e))?;
    bind.system_id = COctetString::new(&config.system_id).map_err(|e| bad("system_id", e))?;
    bind.password = Password::new(&config.password).map_err(|e| bad("password", e))?;
    bind.system_type = COctetString::new(&config.system_type).map_err(|e| bad("system_type", e))?;
    bind.address_range = config.address_range;
    Ok(bind)
}

/// Owns the command queue across connections: connects, binds, drives, and (when
/// configured) reconnects with back-off.
struct Supervisor {
    config: ClientConfig,
    bind: BindRequest,
    connector: Connector,
    commands: mpsc::Receiver<Command>,
    weak_commands: mpsc::WeakSender<Command>,
    incoming: mpsc::Sender<Inbound>,
    link: watch::Sender<LinkState>,
    closed: Arc<std::sync::atomic::AtomicBool>,
}

type BindResult = Result<(), ClientError>;

impl Supervisor {
    async fn run(mut self, first: oneshot::Sender<BindResult>) {
        let mut notify = Some(first);
        let initial = self.config.reconnect.as_ref().map_or(Duration::ZERO, |r| r.initial);
        let mut delay = initial;
        let mut attempt: u64 = 0;
        loop {
            attempt += 1;
            let first_attempt = notify.is_some();
            let bound = self.connect_once(notify.take()).await;
            if first_attempt && !bound {
                // `connect` has been told why; there is no client to reconnect for.
                break;
            }
            let Some(reconnect) = self.config.reconnect.clone() else { break };
            if self.closed.load(Ordering::SeqCst) {
                break;
            }
            if bound {
                delay = initial;
            }
            // Exponential back-off with up to 25 % jitter.
            let jitter = delay.mul_f64((attempt.wrapping_mul(0x9E37_79B9) % 1000) as f64 / 4000.0);
            tracing::info!(?delay, "link down; reconnecting");
            tokio::time::sleep(delay + jitter).await;
            delay = (delay * 2).min(reconnect.max);
            if self.closed.load(Ordering::SeqCst) {
                break;
            }
        }
        self.finish();
    }

    /// Fails whatever is still queued and marks the client closed for good.
    fn finish(&mut self) {
        self.commands.close();
        while let Ok(command) = self.commands.try_recv() {
            match command {
                Command::Request { reply, .. } => {
                    let _ = reply.send(Outcome::Failed(CloseReason::Local));
                }
                Command::Unbind { reply } => {
                    let _ = reply.send(());
                }
                _ => {}
            }
        }
        let _ = self.link.send(LinkState::Closed);
    }

    /// One connection: open, bind, drive until it ends. `notify` (first connection
    /// only) learns the bind result as soon as it is known. Returns whether it bound.
    async fn connect_once(&mut self, notify: Option<oneshot::Sender<BindResult>>) -> bool {
        let _ = self.link.send(LinkState::Connecting);
        let stream = match (self.connector)().await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(%e, "connect failed");
                if let Some(n) = notify {
                    let _ = n.send(Err(e));
                }
                let _ = self.link.send(LinkState::Down(CloseReason::PeerClosed));
                return false;
            }
        };
        let session = match Session::esme(now(), self.config.session.clone(), self.bind.clone()) {
            Ok(s) => s,
            Err(e) => {
                if let Some(n) = notify {
                    let _ = n.send(Err(ClientError::Config(e.to_string())));
                }
                return false;
            }
        };
        let mut handler = ClientHandler {
            pending: HashMap::new(),
            incoming: self.incoming.clone(),
            commands: self.weak_commands.clone(),
            auto_ack: self.config.auto_ack,
            notify,
            was_bound: false,
            bind_timeout: self.config.bind_timeout,
            unbind_waiters: Vec::new(),
            link: self.link.clone(),
            reassembler: smpp_pdu::text::Reassembler::new(REASSEMBLY_TIMEOUT, 1024, 4 << 20),
            firsts: HashMap::new(),
        };
        let io = drive_with(stream, session, &mut handler, &mut self.commands, self.config.driver).await;
        if let Err(e) = &io {
            tracing::info!(%e, "connection error");
        }
        if let Some(n) = handler.notify.take() {
            let _ = n.send(Err(io.err().map_or(ClientError::DriverGone, ClientError::Io)));
        }
        handler.fail_all(CloseReason::PeerClosed);
        if !matches!(*self.link.borrow(), LinkState::Down(_)) {
            let _ = self.link.send(LinkState::Down(CloseReason::PeerClosed));
        }
        handler.was_bound
    }
}

/// Routes session events to the requests and streams of one connection.
struct ClientHandler {
    pending: HashMap<u32, (oneshot::Sender<Outcome>, Option<OwnedSemaphorePermit>)>,
    incoming: mpsc::Sender<Inbound>,
    commands: mpsc::WeakSender<Command>,
    auto_ack: bool,
    /// The caller of `connect`, waiting for the first bind result.
    notify: Option<oneshot::Sender<BindResult>>,
    was_bound: bool,
    bind_timeout: Duration,
    unbind_waiters: Vec<oneshot::Sender<()>>,
    link: watch::Sender<LinkState>,
    reassembler: smpp_pdu::text::Reassembler,
    /// The first part seen of each long message, by (source, destination, reference).
    firsts: HashMap<(Vec<u8>, Vec<u8>, u16), DeliverSm>,
}

/// How long an incomplete long message waits for its other parts.
const REASSEMBLY_TIMEOUT: Duration = Duration::from_secs(120);

impl ClientHandler {
    /// Reports incomplete long messages that expired.
    fn report_expired(&mut self, now: Instant) {
        for e in self.reassembler.expire(now) {
            self.firsts.remove(&(e.source.clone(), e.destination.clone(), e.reference));
            tracing::info!(reference = e.reference, received = e.received, total = e.total, "long message incomplete");
            let _ = self.incoming.try_send(Inbound {
                seq: SequenceNumber::from_wire(0),
                message: InboundMessage::Incomplete(e),
                responder: None,
            });
        }
    }

    /// A deliver_sm that is one part of a long message (auto-ack mode): acknowledge it,
    /// and hand on the whole message when this part completes it.
    fn on_fragment(
        &mut self,
        now: Instant,
        session: &mut Session,
        seq: SequenceNumber,
        d: DeliverSm,
        f: smpp_pdu::text::Fragment,
    ) {
        // Room for the whole message first: a part is acknowledged only if the message
        // it may complete can be handed on.
        let Ok(slot) = self.incoming.try_reserve() else {
            let _ = session.respond(now, seq, CommandStatus::ESME_RX_T_APPN, Body::DeliverSmResp(None));
            return;
        };
        let key = (d.source_addr.addr.as_bytes().to_vec(), d.destination_addr.addr.as_bytes().to_vec(), f.reference);
        let (source, destination) = (key.0.clone(), key.1.clone());
        let data_coding = d.data_coding;
        self.firsts.entry(key.clone()).or_insert_with(|| d.clone());
        let whole = self.reassembler.push(now, &source, &destination, data_coding, f);
        let _ = session.respond(now, seq, CommandStatus::ESME_ROK, Body::DeliverSmResp(Some(SubmitSmResp::default())));
        match whole {
            Some(a) => {
                let first = self.firsts.remove(&key).unwrap_or(d);
                slot.send(Inbound { seq, message: InboundMessage::Long { first, data: a.data }, responder: None });
            }
            None => drop(slot),
        }
        self.report_expired(now);
    }
    fn complete(&mut self, seq: SequenceNumber, outcome: Outcome) {
        if let Some((reply, _permit)) = self.pending.remove(&seq.value()) {
            let _ = reply.send(outcome);
        }
    }

    fn fail_all(&mut self, reason: CloseReason) {
        for (_, (reply, _)) in self.pending.drain() {
            let _ = reply.send(Outcome::Failed(reason));
        }
        for w in self.unbind_waiters.drain(..) {
            let _ = w.send(());
        }
    }

    fn on_inbound(&mut self, now: Instant, session: &mut Session, seq: SequenceNumber, request: Request) {
        if self.auto_ack
            && let Request::DeliverSm(d) = &request
            && !d.esm_class.is_receipt()
            && let Some(f) = smpp_pdu::text::fragment_of(d.esm_class, &d.short_message, &d.tlvs)
            && f.total > 1
        {
            let Request::DeliverSm(d) = request else { return };
            self.on_fragment(now, session, seq, d, f);
            return;
        }
        let (message, response) = match request {
            Request::DeliverSm(d) if d.esm_class.is_receipt() => {
                (InboundMessage::Receipt(d), Some(Body::DeliverSmResp(None)))
            }
            Request::DeliverSm(d) => (InboundMessage::Deliver(d), Some(Body::DeliverSmResp(None))),
            Request::DataSm(d) => (InboundMessage::Data(d), Some(Body::DataSmResp(None))),
            Request::AlertNotification(a) => (InboundMessage::Alert(a), None),
            other => {
                // The session lets only SMSC-to-ESME requests through; answer anything
                // else as unsupported rather than leave it unanswered.
                if let Some(body) = Body::empty_response_for(other.command_id()) {
                    let _ = session.respond(now, seq, CommandStatus::ESME_RINVCMDID, body);
                }
                return;
            }
        };
        let Some(response) = response else {
            let _ = self.incoming.try_send(Inbound { seq, message, responder: None });
            return;
        };
        // Reserve room first: a message is acknowledged only once it can be handed on.
        match self.incoming.try_reserve() {
            Ok(slot) => {
                let responder = if self.auto_ack {
                    let ok = match response {
                        Body::DeliverSmResp(_) => Body::DeliverSmResp(Some(SubmitSmResp::default())),
                        other => other,
                    };
                    let _ = session.respond(now, seq, CommandStatus::ESME_ROK, ok);
                    None
                } else {
                    Some(Responder { commands: self.commands.clone(), seq, body: Some(response) })
                };
                slot.send(Inbound { seq, message, responder });
            }
            Err(_) => {
                tracing::debug!(?seq, "inbound queue full or closed: asking the SMSC to retry");
                let _ = session.respond(now, seq, CommandStatus::ESME_RX_T_APPN, response);
            }
        }
    }
}

impl Handler for ClientHandler {
    type Command = Command;

    fn on_command(&mut self, now: Instant, session: &mut Session, command: Command) {
        match command {
            Command::Request { request, reply, permit } => match session.send(now, *request) {
                Ok(seq) => {
                    self.pending.insert(seq.value(), (reply, permit));
                }
                Err(e) => {
                    let _ = reply.send(Outcome::Refused(e));
                }
            },
            Command::Respond { seq, status, body } => {
                if let Err(e) = session.respond(now, seq, status, *body) {
                    tracing::debug!(%e, "response not sent");
                }
            }
            Command::Unbind { reply } => {
                if session.unbind(now).is_err() {
                    session.close(now);
                }
                self.unbind_waiters.push(reply);
            }
            Command::Close => session.close(now),
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.reassembler.poll_timeout()
    }

    fn on_timeout(&mut self, now: Instant, _session: &mut Session) {
        self.report_expired(now);
    }

    fn on_event(&mut self, now: Instant, session: &mut Session, event: Event) {
        match event {
            Event::Bound { mode, version } => {
                tracing::info!(?mode, ?version, "bound");
                let _ = self.link.send(LinkState::Up { mode, version });
                self.was_bound = true;
                if let Some(n) = self.notify.take() {
                    let _ = n.send(Ok(()));
                }
            }
            Event::Response { seq, status, response, .. } => {
                self.complete(seq, Outcome::Response { status, body: response })
            }
            Event::MalformedResponse { seq, error, .. } => self.complete(seq, Outcome::Malformed(error)),
            Event::ResponseTimeout { seq, .. } => self.complete(seq, Outcome::Timeout),
            Event::RequestFailed { seq, reason, .. } => self.complete(seq, Outcome::Failed(reason)),
            Event::Request { seq, request } => self.on_inbound(now, session, seq, request),
            Event::UnexpectedResponse { seq, command_id, status, late } => {
                tracing::debug!(?seq, %command_id, %status, late, "unexpected response");
            }
            Event::Closed { reason } => {
                tracing::info!(%reason, "closed");
                if let Some(n) = self.notify.take() {
                    let e = match reason {
                        CloseReason::BindRejected(status) => ClientError::BindRefused(status),
                        CloseReason::BindTimeout => ClientError::BindTimeout(self.bind_timeout),
                        other => ClientError::Closed(other),
                    };
                    tracing::warn!(%e, "bind failed");
                    let _ = n.send(Err(e));
                }
                self.fail_all(reason);
                let _ = self.link.send(LinkState::Down(reason));
            }
            _ => {}
        }
    }
}

/// Several binds of one account, with requests spread over them.
///
/// Platforms allow several connections per account; a pool uses them all. Each
/// request goes to the next bind in turn that is up and has room, or waits on the
/// next one in turn when none has.
#[derive(Clone, Debug)]
pub struct Pool {
    clients: Arc<Vec<Client>>,
    next: Arc<AtomicUsize>,
}

impl Pool {
    /// Opens `binds` binds with the same configuration.
    pub async fn connect(config: ClientConfig, binds: usize) -> Result<(Self, Vec<Incoming>), ClientError> {
        let mut clients = Vec::new();
        let mut incoming = Vec::new();
        for _ in 0..binds.max(1) {
            let (c, i) = Client::connect(config.clone()).await?;
            clients.push(c);
            incoming.push(i);
        }
        Ok((Self::from_clients(clients), incoming))
    }

    /// A pool over existing clients.
    pub fn from_clients(clients: Vec<Client>) -> Self {
        Self { clients: Arc::new(clients), next: Arc::new(AtomicUsize::new(0)) }
    }

    /// The binds.
    pub fn clients(&self) -> &[Client] {
        &self.clients
    }

    fn pick(&self) -> Option<&Client> {
        let n = self.clients.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        (0..n)
            .map(|k| &self.clients[(start + k) % n])
            .find(|c| c.is_up() && c.available() > 0)
            .or_else(|| self.clients.get(start % n.max(1)))
    }

    /// Submits on the next bind with room.
    pub async fn submit(&self, submit: SubmitSm) -> Result<Submitted, RequestError> {
        match self.pick() {
            Some(c) => c.submit(submit).await,
            None => Err(RequestError::Closed),
        }
    }

    /// Unbinds every bind.
    pub async fn unbind(&self) {
        for c in self.clients.iter() {
            c.unbind().await;
        }
    }
}
