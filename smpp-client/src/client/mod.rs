//! The ESME client: connect and bind in one call, pipelined requests sharing the
//! window, inbound messages as a stream, throttling absorbed, reconnection.
//!
//! - `mod.rs`: [`Client`], the request path (pacing, retries, deadlines, outcomes).
//! - `pool.rs`: [`Pool`], several binds of one account.
//! - `inbound.rs`: [`Inbound`], [`Incoming`] and the manual-ack responder.
//! - `handler.rs`: one connection's handler on the driver.
//! - `supervisor.rs`: connecting, binding and reconnecting.
//! - `pacer.rs`: the fixed rate limit and the adaptive rate.
//! - `link.rs`: the link state and its stream of changes.

mod handler;
mod inbound;
mod link;
mod pacer;
mod pool;
mod supervisor;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use smpp_session::{BindMode, BindRequest, CloseReason, Request, effective_version};
use smpp_wire::{
    Body, COctetString, CancelSm, CommandStatus, DataSm, InterfaceVersion, Password, QuerySm, QuerySmResp, ReplaceSm,
    SubmitMulti, SubmitMultiResp, SubmitSm, SubmitSmResp,
};
use std::sync::atomic::AtomicBool as Handed;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc, oneshot, watch};
use tracing::Instrument;

use self::handler::{Command, Outcome, SharedReassembler};
use self::inbound::Backlog;
pub use self::inbound::{Inbound, InboundMessage, Incoming};
pub(crate) use self::link::LinkTx;
pub use self::link::{LinkEvents, LinkState};
use self::pacer::{Pacer, RateLimiter};
pub use self::pool::Pool;
use crate::config::ClientConfig;
use crate::error::{ClientError, RequestError};
pub use smpp_tokio::{BoxStream, Stream};

/// A boxed future returning a new stream, for [`Client::connect_via`].
pub type ConnectFuture = Pin<Box<dyn Future<Output = Result<BoxStream, ClientError>> + Send>>;

/// Opens new streams (for the first connection and each reconnection).
pub type Connector = Arc<dyn Fn() -> ConnectFuture + Send + Sync>;

/// A successful submit: the MC's message_id, and the response's TLVs.
#[non_exhaustive]
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Submitted {
    /// The message_id from submit_sm_resp (empty if the SMSC sent none).
    pub message_id: COctetString<65>,
    /// The response's TLVs (v5.0 SMSCs send e.g. additional_status_info_text,
    /// network_error_code, delivery_failure_reason).
    pub tlvs: smpp_wire::Tlvs,
}

/// A snapshot of what the client did: its binds' traffic, throttling and
/// reconnections ([`Client::stats`]). The same figures go to the `metrics` facade
/// (see [`smpp_tokio::metrics`]; the client adds `smpp_throttled_total`,
/// `smpp_throttle_retries_total` and `smpp_reconnects_total`, each labelled `role`
/// `esme`).
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClientStats {
    /// Throttle answers (`ESME_RTHROTTLED`, `ESME_RMSGQFUL`) received.
    pub throttled: u64,
    /// Requests sent again after a throttle answer.
    pub retries: u64,
    /// The adaptive rate in requests per second, while throttling keeps it limited.
    pub adaptive_rate: Option<f64>,
    /// Reconnection attempts after the link went down (each try counts, refused
    /// ones too).
    pub reconnects: u64,
    /// PDUs by command each way, responses by status, requests in flight and binds
    /// up, over all of this client's connections.
    pub link: smpp_tokio::metrics::LinkSnapshot,
}

/// How [`Client::submit_text`] encodes and splits a text.
#[non_exhaustive]
#[derive(Clone, Copy, Debug)]
pub struct TextOptions {
    /// The encoding; `None` picks GSM 7-bit when every character fits, else UCS-2.
    pub encoding: Option<smpp_wire::text::Encoding>,
    /// How long texts are split (default: an 8-bit reference UDH).
    pub concatenation: smpp_wire::text::Concatenation,
    /// Receipts requested (default: none).
    pub registered_delivery: smpp_wire::RegisteredDelivery,
    /// Extra esm_class bits.
    pub esm_class: smpp_wire::EsmClass,
}

impl Default for TextOptions {
    fn default() -> Self {
        Self {
            encoding: None,
            concatenation: smpp_wire::text::Concatenation::Udh8,
            registered_delivery: smpp_wire::RegisteredDelivery::NONE,
            esm_class: smpp_wire::EsmClass::DEFAULT,
        }
    }
}

/// What a client's connections share: where inbound messages go, and the long
/// messages being put together.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) incoming: mpsc::Sender<Inbound>,
    pub(crate) backlog: Arc<Backlog>,
    pub(crate) reassembler: SharedReassembler,
    pub(crate) warned_incoming_dropped: AtomicBool,
    /// The connections' counters (the client reads them too: the client must not
    /// hold `Shared`, whose sender keeps `Incoming` open).
    pub(crate) counters: Arc<Counters>,
    /// The account, for the metrics' `account` label.
    pub(crate) account: String,
}

/// What a client's connections count, for [`Client::stats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Published by the driver.
    pub(crate) link: Arc<smpp_tokio::metrics::LinkStats>,
    pub(crate) reconnects: AtomicU64,
}

/// One bind of a client (two for a v3.3 client: a transmitter and a receiver), as
/// its supervisor and the client both see it.
#[derive(Debug, Default)]
pub(crate) struct Side {
    /// The connection that is bound now (0: none), for manual-ack answers.
    pub(crate) live: AtomicU64,
    /// Stop for good: no reconnection.
    pub(crate) stop: AtomicBool,
    /// Wakes the supervisor from its back-off.
    pub(crate) wake: Notify,
    /// Requests sent on this bind, for the adaptive rate's first measurement.
    pub(crate) sent: AtomicU64,
}

/// Connection numbers, unique in the process.
pub(crate) fn next_connection_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// The client's handle on one bind.
#[derive(Debug)]
struct SideHandle {
    commands: mpsc::Sender<Command>,
    side: Arc<Side>,
    link: watch::Receiver<LinkState>,
    /// Where link changes are published, for new [`LinkEvents`] readers.
    events: LinkTx,
    /// Room reserved for the `Shutdown` sent when the last handle is dropped.
    shutdown: Mutex<Option<mpsc::OwnedPermit<Command>>>,
}

impl SideHandle {
    fn stop(&self, shutdown: bool) {
        self.side.stop.store(true, Ordering::SeqCst);
        self.side.wake.notify_one();
        let permit = self.shutdown.lock().ok().and_then(|mut p| p.take());
        if shutdown && let Some(p) = permit {
            p.send(Command::Shutdown);
        }
    }
}

/// A cheap, cloneable handle to one bind. Requests from any number of tasks share its
/// window. When the last handle is dropped, the client unbinds and its tasks end.
#[derive(Clone, Debug)]
pub struct Client {
    inner: Arc<Inner>,
    /// Each request's own deadline ([`timeout`](Self::timeout)).
    deadline: Option<Duration>,
}

#[derive(Debug)]
struct Inner {
    /// Where requests go (the transmitter of a v3.3 client).
    tx: SideHandle,
    /// A v3.3 client's receiver bind.
    rx: Option<SideHandle>,
    window: Arc<Semaphore>,
    rate: Option<RateLimiter>,
    pacer: Option<Pacer>,
    retry: Option<crate::config::ThrottleRetry>,
    down_wait: Duration,
    references: Mutex<smpp_wire::text::References>,
    throttled: AtomicU64,
    retries: AtomicU64,
    counters: Arc<Counters>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The last handle is gone: unbind, and let the tasks end.
        self.tx.stop(true);
        if let Some(rx) = &self.rx {
            rx.stop(true);
        }
    }
}

impl Client {
    /// Connects to `config.host:config.port` (TCP, or TLS when configured) and binds.
    /// Returns once bound, or with the reason it could not bind.
    ///
    /// With [`ClientConfig::reconnect`] set, the first connection follows the same
    /// policy as later ones: an unreachable SMSC or a refusal that may pass is tried
    /// again with back-off (so this waits until it binds); a refusal that cannot pass
    /// (`ESME_RINVPASWD`, `ESME_RINVSYSID`, `ESME_RINVSYSTYP`) returns at once.
    ///
    /// A transceiver configured for SMPP v3.3 (which has no bind_transceiver) binds a
    /// transmitter and a receiver as one logical client: requests go on the
    /// transmitter, receipts and MO arrive on the receiver, both on one [`Incoming`].
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
    /// use smpp_client::{Client, ClientConfig};
    /// let (client, _incoming) = Client::connect(ClientConfig::new("127.0.0.1", 2775, "user", "secret")).await?;
    /// client.unbind().await;
    /// # Ok(()) }
    /// ```
    pub async fn connect(config: ClientConfig) -> Result<(Self, Incoming), ClientError> {
        let connector = tcp_connector(&config);
        Self::connect_via(config, connector).await
    }

    /// Binds over an already open stream (an in-memory duplex in tests, a stream set
    /// up some other way). Reconnection is not available on this path, nor is the
    /// two-bind v3.3 transceiver (use [`connect_via`](Self::connect_via)).
    pub async fn connect_with<T: Stream>(config: ClientConfig, stream: T) -> Result<(Self, Incoming), ClientError> {
        if config.mode == BindMode::Transceiver
            && effective_version(config.session.requested_version()) < InterfaceVersion::V34
        {
            return Err(ClientError::Config(
                "a v3.3 transceiver is two binds (transmitter and receiver): use connect or connect_via, or bind as transmitter or receiver".into(),
            ));
        }
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
    /// reconnection when [`ClientConfig::reconnect`] is set (and for the receiver of
    /// a v3.3 transceiver).
    pub async fn connect_via(config: ClientConfig, connector: Connector) -> Result<(Self, Incoming), ClientError> {
        Self::start(config, connector, handler::new_reassembler()).await
    }

    async fn start(
        config: ClientConfig,
        connector: Connector,
        reassembler: SharedReassembler,
    ) -> Result<(Self, Incoming), ClientError> {
        let (incoming_tx, incoming_rx) = mpsc::channel(config.incoming_capacity);
        let backlog = Arc::new(Backlog::default());
        let counters = Arc::new(Counters::default());
        let shared = Arc::new(Shared {
            incoming: incoming_tx,
            backlog: backlog.clone(),
            reassembler,
            warned_incoming_dropped: AtomicBool::new(false),
            counters: counters.clone(),
            account: config.system_id.clone(),
        });
        let split = config.mode == BindMode::Transceiver
            && effective_version(config.session.requested_version()) < InterfaceVersion::V34;
        let tx_mode = if split { BindMode::Transmitter } else { config.mode };
        let (tx, tx_bound) = spawn_side(&config, tx_mode, connector.clone(), shared.clone())?;
        let (rx, rx_bound) = match split {
            true => {
                spawn_side(&config, BindMode::Receiver, connector, shared.clone()).map(|(h, b)| (Some(h), Some(b)))?
            }
            false => (None, None),
        };
        let bound = async {
            tx_bound.await.map_err(|_| ClientError::DriverGone)??;
            if let Some(b) = rx_bound {
                b.await.map_err(|_| ClientError::DriverGone)??;
            }
            Ok::<(), ClientError>(())
        };
        if let Err(e) = bound.await {
            tx.stop(true);
            if let Some(rx) = &rx {
                rx.stop(true);
            }
            return Err(e);
        }
        let retry = config.retry.clone();
        let pacer = retry.as_ref().filter(|r| r.adaptive).map(|r| Pacer::new(r.min_rate, tx.side.clone()));
        let inner = Inner {
            tx,
            rx,
            // The session's window is the only window: this semaphore only lines up
            // the tasks waiting for room in it, so a request never meets a full
            // session.
            window: Arc::new(Semaphore::new(config.session.window_len())),
            rate: config.rate_limit.map(RateLimiter::new),
            pacer,
            retry,
            down_wait: config.reconnect.as_ref().map_or(Duration::ZERO, |r| r.down_wait),
            references: Mutex::new(smpp_wire::text::References::new()),
            throttled: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            counters,
        };
        Ok((Self { inner: Arc::new(inner), deadline: None }, Incoming { rx: incoming_rx, backlog }))
    }

    /// Submits a message. Waits for room in the window (back-pressure), then for the
    /// response; resolves to exactly one outcome. Throttle answers are retried (see
    /// [`ClientConfig::retry_throttled`]).
    pub async fn submit(&self, submit: SubmitSm) -> Result<Submitted, RequestError> {
        let body = self.request_body(Box::new(Body::SubmitSm(submit))).await?;
        Ok(submitted(body))
    }

    /// Like [`submit`](Self::submit), but fails at once with
    /// [`RequestError::WindowFull`] instead of waiting for room.
    pub async fn try_submit(&self, submit: SubmitSm) -> Result<Submitted, RequestError> {
        let permit = self.inner.window.clone().try_acquire_owned().map_err(|_| RequestError::WindowFull)?;
        let handed = Handed::new(false);
        let body = self
            .within_deadline(&handed, self.request_with_permit(Box::new(Body::SubmitSm(submit)), permit, &handed))
            .await?;
        Ok(submitted(body))
    }

    /// Encodes `text`, splits it when it is long, submits the parts in order (each
    /// part once the one before is accepted, so they reach the SMSC in order) and
    /// returns every part's message_id. `options` chooses the encoding (automatic by
    /// default) and the concatenation method (an 8-bit reference UDH by default, which
    /// works on v3.3 and v3.4 links; SAR and message_payload need v3.4). The
    /// concatenation reference starts at a random value in each client.
    ///
    /// If a part fails, no later part is sent, and the error is
    /// [`RequestError::Partial`] with the message_ids of the parts that were accepted,
    /// so their receipts can still be matched.
    ///
    /// ```no_run
    /// # async fn f(client: smpp_client::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// use smpp_client::{smpp_wire::Address, TextOptions};
    /// let ids = client
    ///     .submit_text(Address::alphanumeric("Rust")?, Address::international("447700900123")?, "Hello €", TextOptions::default())
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn submit_text(
        &self,
        from: smpp_wire::Address<21>,
        to: smpp_wire::Address<21>,
        text: &str,
        options: TextOptions,
    ) -> Result<Vec<Submitted>, RequestError> {
        use smpp_wire::text;
        let encoding = match options.encoding {
            Some(e) => e,
            None => text::choose(text),
        };
        let reference =
            self.inner.references.lock().map(|mut r| r.next(&String::from_utf8_lossy(to.addr.as_bytes()))).unwrap_or(0);
        let parts = text::split(text, encoding, options.concatenation, reference).map_err(RequestError::Encode)?;
        let total = parts.len();
        let mut accepted = Vec::with_capacity(total);
        for part in parts {
            let mut sm = SubmitSm::default();
            sm.source_addr = from;
            sm.destination_addr = to;
            sm.esm_class = smpp_wire::EsmClass(part.esm_class.0 | options.esm_class.0);
            sm.data_coding = encoding.data_coding();
            sm.registered_delivery = options.registered_delivery;
            sm.short_message = part.short_message;
            sm.tlvs = part.tlvs;
            match self.submit(sm).await {
                Ok(s) => accepted.push(s),
                Err(error) if total == 1 => return Err(error),
                Err(error) => return Err(RequestError::Partial { accepted, parts: total, error: Box::new(error) }),
            }
        }
        Ok(accepted)
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
        Ok(submitted(body))
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
        self.request_body(Box::new(request.into_body())).await
    }

    async fn request_body(&self, request: Box<Body>) -> Result<Body, RequestError> {
        let handed = Handed::new(false);
        let work = async {
            let permit = self.inner.window.clone().acquire_owned().await.map_err(|_| RequestError::Closed)?;
            self.request_with_permit(request, permit, &handed).await
        };
        self.within_deadline(&handed, work).await
    }

    /// Runs a request's work within its deadline, if it has one.
    async fn within_deadline(
        &self,
        handed: &Handed,
        work: impl Future<Output = Result<Body, RequestError>>,
    ) -> Result<Body, RequestError> {
        let Some(limit) = self.deadline else { return work.await };
        match tokio::time::timeout(limit, work).await {
            Ok(result) => result,
            // Dropping the work drops its reply channel: a request still held by the
            // connection is then never sent (the connection checks before sending).
            Err(_) => Err(RequestError::DeadlineExceeded { sent: handed.load(Ordering::SeqCst) }),
        }
    }

    /// The same client, each of whose requests gives up after `limit` (waiting for
    /// room, the rate and a link included) with
    /// [`RequestError::DeadlineExceeded`]. Cheap: it shares the bind.
    ///
    /// ```no_run
    /// # async fn f(client: smpp_client::Client, sm: smpp_client::smpp_wire::SubmitSm) {
    /// use std::time::Duration;
    /// let result = client.timeout(Duration::from_secs(5)).submit(sm).await;
    /// # }
    /// ```
    pub fn timeout(&self, limit: Duration) -> Self {
        Self { inner: self.inner.clone(), deadline: Some(limit) }
    }

    /// Every change of the link from now on, as a stream (see [`LinkEvents`]). For a
    /// v3.3 client that binds two sessions, the transmitter's.
    pub fn link_events(&self) -> LinkEvents {
        LinkEvents::new(self.inner.tx.events.subscribe())
    }

    /// Sends a request holding a window permit, retrying throttle answers; resolves to
    /// exactly one outcome.
    async fn request_with_permit(
        &self,
        mut request: Box<Body>,
        mut permit: OwnedSemaphorePermit,
        handed: &Handed,
    ) -> Result<Body, RequestError> {
        let inner = &self.inner;
        // Set at the first throttle answer (no clock read while all goes well).
        let mut deadline: Option<tokio::time::Instant> = None;
        let mut last_status = CommandStatus::ESME_RTHROTTLED;
        let mut retrying = false;
        loop {
            if let Some(rate) = &inner.rate {
                rate.acquire().await;
            }
            if let Some(pacer) = &inner.pacer
                && let Some((at, now)) = pacer.slot()
            {
                // Pacing never outlasts the retry deadline (for a first attempt, the
                // deadline it would have): past it, the caller gets the throttle
                // status, and nothing is sent.
                let limit = deadline.or_else(|| inner.retry.as_ref().map(|r| now + r.deadline));
                if limit.is_some_and(|d| at > d) {
                    return Err(RequestError::from_status(last_status));
                }
                tokio::time::sleep_until(at).await;
            }
            self.wait_until_up().await?;
            if retrying {
                inner.retries.fetch_add(1, Ordering::Relaxed);
                metrics::counter!("smpp_throttle_retries_total", "role" => "esme").increment(1);
            }
            let (reply, outcome) = oneshot::channel();
            handed.store(true, Ordering::SeqCst);
            inner
                .tx
                .commands
                .send(Command::Request { request, reply, permit })
                .await
                .map_err(|_| RequestError::Closed)?;
            let (status, back, back_permit) = match outcome.await {
                Ok(Outcome::Accepted(body)) => {
                    if let Some(pacer) = &inner.pacer {
                        pacer.on_success();
                    }
                    return Ok(body);
                }
                Ok(Outcome::Response { status, request, permit }) => (status, request, permit),
                Ok(Outcome::Timeout) => return Err(RequestError::Timeout),
                Ok(Outcome::Lost(reason)) => return Err(RequestError::ConnectionLost(reason)),
                Ok(Outcome::NotSent(reason)) => return Err(RequestError::NotSent(reason)),
                Ok(Outcome::NotConnected(wait)) => return Err(RequestError::NotConnected(wait)),
                Ok(Outcome::BindRefused(status)) => return Err(RequestError::BindRefused(status)),
                Ok(Outcome::Refused(e)) => return Err(RequestError::Send(e)),
                // The connection task went away without an answer (the runtime shutting
                // down): whether the request went out is not known.
                Err(_) => return Err(RequestError::ConnectionLost(CloseReason::Local)),
            };
            let throttle = matches!(status, CommandStatus::ESME_RTHROTTLED | CommandStatus::ESME_RMSGQFUL);
            if !throttle {
                return Err(RequestError::from_status(status));
            }
            inner.throttled.fetch_add(1, Ordering::Relaxed);
            metrics::counter!("smpp_throttled_total", "role" => "esme").increment(1);
            if let Some(pacer) = &inner.pacer {
                pacer.on_throttle();
            }
            let now = tokio::time::Instant::now();
            let Some(retry) = &inner.retry else { return Err(RequestError::from_status(status)) };
            let d = *deadline.get_or_insert(now + retry.deadline);
            if now >= d {
                return Err(RequestError::from_status(status));
            }
            retrying = true;
            last_status = status;
            tracing::debug!(%status, "throttled: sending again");
            if inner.pacer.is_none() {
                // Without the adaptive rate, a pause before trying again.
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            request = back;
            permit = back_permit;
        }
    }

    /// Waits (at most the reconnect `down_wait`) for the link to be up.
    async fn wait_until_up(&self) -> Result<(), RequestError> {
        let link = &self.inner.tx.link;
        // The usual case, the link up, without cloning the receiver.
        if matches!(*link.borrow(), LinkState::Up { .. }) {
            return Ok(());
        }
        let settled = |s: &LinkState| matches!(s, LinkState::Up { .. } | LinkState::Closed | LinkState::Refused(_));
        let mut link = link.clone();
        if let LinkState::Down(reason) = *link.borrow()
            && self.inner.down_wait.is_zero()
        {
            // No reconnection configured: the link is not coming back.
            return Err(RequestError::NotSent(reason));
        }
        if !settled(&link.borrow()) {
            let wait = self.inner.down_wait;
            match tokio::time::timeout(wait, link.wait_for(settled)).await {
                Ok(Ok(_)) => {}
                Ok(Err(_)) => return Err(RequestError::Closed),
                Err(_) => return Err(RequestError::NotConnected(wait)),
            }
        }
        match *link.borrow() {
            LinkState::Closed => Err(RequestError::Closed),
            LinkState::Refused(status) => Err(RequestError::BindRefused(status)),
            _ => Ok(()),
        }
    }

    /// Unbinds gracefully: requests in flight get their responses first. Returns once
    /// the session is closed (both binds of a v3.3 client).
    pub async fn unbind(&self) {
        let sides = std::iter::once(&self.inner.tx).chain(self.inner.rx.as_ref());
        for side in sides {
            side.stop(false);
            let (reply, done) = oneshot::channel();
            if side.commands.send(Command::Unbind { reply }).await.is_ok() {
                let _ = done.await;
            }
        }
    }

    /// Closes at once; requests in flight fail with
    /// [`RequestError::ConnectionLost`].
    pub async fn close(&self) {
        let sides = std::iter::once(&self.inner.tx).chain(self.inner.rx.as_ref());
        for side in sides {
            side.stop(false);
            let _ = side.commands.send(Command::Close).await;
        }
    }

    /// The current link state (of the transmitter, for a v3.3 client).
    pub fn link_state(&self) -> LinkState {
        self.inner.tx.link.borrow().clone()
    }

    /// The receiver bind's link state, for a v3.3 client that binds two.
    pub fn receiver_link_state(&self) -> Option<LinkState> {
        self.inner.rx.as_ref().map(|rx| rx.link.borrow().clone())
    }

    /// Whether the link is bound now.
    pub fn is_up(&self) -> bool {
        matches!(*self.inner.tx.link.borrow(), LinkState::Up { .. })
    }

    /// Free room in the window now.
    pub fn available(&self) -> usize {
        self.inner.window.available_permits()
    }

    /// What the client did about throttling so far.
    pub fn stats(&self) -> ClientStats {
        ClientStats {
            throttled: self.inner.throttled.load(Ordering::Relaxed),
            retries: self.inner.retries.load(Ordering::Relaxed),
            adaptive_rate: self.inner.pacer.as_ref().and_then(Pacer::rate),
            reconnects: self.inner.counters.reconnects.load(Ordering::Relaxed),
            link: self.inner.counters.link.snapshot(),
        }
    }
}

/// A [`Connector`] opening connections to `config.host:config.port` (TCP with the
/// connect timeout, then TLS when configured): what [`Client::connect`] and
/// [`Pool::connect`] use.
pub fn tcp_connector(config: &ClientConfig) -> Connector {
    let c = config.clone();
    Arc::new(move || {
        let c = c.clone();
        Box::pin(async move { crate::tls::open_stream(&c).await })
    })
}

/// Starts the supervisor of one bind; returns its handle and the bind result.
fn spawn_side(
    config: &ClientConfig,
    mode: BindMode,
    connector: Connector,
    shared: Arc<Shared>,
) -> Result<(SideHandle, oneshot::Receiver<Result<(), ClientError>>), ClientError> {
    let mut config = config.clone();
    config.mode = mode;
    let bind = bind_request(&config)?;
    // Room for the window's requests, for every manual-ack answer the session lets
    // the SMSC wait for (its receive window), and for control commands: answers
    // reserve their room, and can never take the room of requests or of unbind.
    let answers = config.session.receive_window_len().max(config.incoming_capacity);
    let (command_tx, command_rx) = mpsc::channel(config.session.window_len() + answers + 64);
    let shutdown = command_tx.clone().try_reserve_owned().ok();
    let (link_tx, link_rx) = LinkTx::new();
    let events = link_tx.clone();
    let (first_tx, first_rx) = oneshot::channel();
    let side = Arc::new(Side::default());
    let span = tracing::info_span!("smpp_client", system_id = %config.system_id, addr = %config.addr(), ?mode);
    let supervisor = supervisor::Supervisor {
        config,
        bind,
        connector,
        commands: command_rx,
        weak_commands: command_tx.downgrade(),
        shared,
        side: side.clone(),
        link: link_tx,
        carry: std::collections::VecDeque::new(),
    };
    tokio::spawn(supervisor.run(first_tx).instrument(span));
    let handle = SideHandle { commands: command_tx, side, link: link_rx, events, shutdown: Mutex::new(shutdown) };
    Ok((handle, first_rx))
}

/// A submit_sm_resp or data_sm_resp body as a [`Submitted`].
fn submitted(body: Body) -> Submitted {
    match body {
        Body::SubmitSmResp(Some(SubmitSmResp { message_id, tlvs, .. }))
        | Body::DataSmResp(Some(SubmitSmResp { message_id, tlvs, .. })) => Submitted { message_id, tlvs },
        _ => Submitted { message_id: COctetString::EMPTY, tlvs: smpp_wire::Tlvs::default() },
    }
}

fn bind_request(config: &ClientConfig) -> Result<BindRequest, ClientError> {
    let bad = |what: &str, e: smpp_wire::FieldError| ClientError::Config(format!("{what}: {e}"));
    let mut bind = BindRequest::new(config.mode, "", "").map_err(|e| bad("bind", e))?;
    bind.system_id = COctetString::new(&config.system_id).map_err(|e| bad("system_id", e))?;
    bind.password = Password::new(&config.password).map_err(|e| bad("password", e))?;
    bind.system_type = COctetString::new(&config.system_type).map_err(|e| bad("system_type", e))?;
    bind.address_range = config.address_range;
    Ok(bind)
}
