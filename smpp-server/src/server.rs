//! The SMSC side: a listener, one session task per connection on the shared driver,
//! an account registry, and a handle to push messages and shut down.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use smpp_tokio::{DriverConfig, Handler, drive_with, now};
use smpp_pdu::{Bind, Body, CommandStatus, InterfaceVersion, SequenceNumber};
use smpp_session::{BindMode, CloseReason, Event, Request, Session, SessionConfig};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, mpsc, oneshot};
use tracing::Instrument;

/// What an SMSC knows about a bound (or binding) session.
#[non_exhaustive]
#[derive(Clone, Debug)]
pub struct SessionInfo {
    /// A number unique within this server.
    pub id: u64,
    /// The peer's address.
    pub peer: SocketAddr,
    /// The account.
    pub system_id: String,
    /// The bind mode.
    pub mode: BindMode,
    /// The version the ESME asked for (`interface_version`).
    pub requested_version: InterfaceVersion,
    /// The negotiated version: TLVs go to this session only if it is 0x34 or more.
    pub version: InterfaceVersion,
}

impl SessionInfo {
    /// Whether TLVs may be sent to this session.
    pub fn tlvs_allowed(&self) -> bool {
        self.version >= InterfaceVersion::V34
    }
}

/// A response to an inbound request: status and response body.
#[derive(Debug)]
pub struct Reply {
    /// The status.
    pub status: CommandStatus,
    /// The response body (e.g. `Body::SubmitSmResp(Some(..))`; `None` bodies for errors).
    pub body: Body,
}

impl Reply {
    /// An error reply with the header-only response body of `request`.
    pub fn error(request: &Request, status: CommandStatus) -> Self {
        Self { status, body: Body::empty_response_for(request.command_id()).unwrap_or(Body::GenericNack) }
    }
}

/// The right to answer a request later: [`responder`](Self::responder) makes a
/// [`Responder`] that can be moved to any task. Handlers that answer at once (by
/// returning `Some`) never pay for one.
#[derive(Debug)]
pub struct Defer<'a> {
    commands: &'a mpsc::Sender<SessionCommand>,
    seq: SequenceNumber,
    fallback: Option<Body>,
    taken: &'a std::cell::Cell<bool>,
}

impl Defer<'_> {
    /// A handle that answers this request later; return `None` from
    /// [`SmscHandler::on_request`] after taking it.
    ///
    /// Room for the answer in the session's queue is reserved now, so the answer can
    /// never be lost to a full queue (the queue has room for every request the
    /// session lets the ESME have unanswered: its receive window).
    pub fn responder(self) -> Responder {
        self.taken.set(true);
        // Fails only when the session has ended: its answer would go nowhere anyway.
        let permit = self.commands.clone().try_reserve_owned().ok();
        Responder { permit, seq: self.seq, fallback: self.fallback }
    }
}

/// Answers a request later, from any task. Dropped unanswered, it answers
/// `ESME_RSYSERR` so the ESME is never left waiting. If the session has ended by
/// then, the answer goes nowhere.
#[derive(Debug)]
pub struct Responder {
    /// Room in the session's queue, reserved when the responder was made (`None`: the
    /// session had ended).
    permit: Option<mpsc::OwnedPermit<SessionCommand>>,
    seq: SequenceNumber,
    fallback: Option<Body>,
}

impl Responder {
    /// Sends the reply.
    pub fn respond(mut self, reply: Reply) {
        self.fallback = None;
        self.send(reply);
    }

    fn send(&mut self, reply: Reply) {
        if let Some(permit) = self.permit.take() {
            permit.send(SessionCommand::Respond(self.seq, Box::new(reply)));
        }
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        if let Some(body) = self.fallback.take() {
            self.send(Reply { status: CommandStatus::ESME_RSYSERR, body });
        }
    }
}

/// The application side of an SMSC: authentication and answers to requests.
pub trait SmscHandler: Send + Sync + 'static {
    /// Decides a bind. `Err` is the status to refuse with (`ESME_RINVSYSID`,
    /// `ESME_RINVPASWD`, ...). The per-account connection limit is checked before.
    fn authenticate(&self, peer: SocketAddr, mode: BindMode, bind: &Bind) -> Result<(), CommandStatus>;

    /// Answers a request from a bound ESME (submit_sm, submit_multi, data_sm, query_sm,
    /// cancel_sm, replace_sm, ...). Return `Some` to answer now, or take
    /// `defer.responder()`, return `None`, and answer through the responder later. A
    /// `None` without a responder is answered `ESME_RSYSERR`.
    fn on_request(&self, session: &SessionInfo, request: Request, defer: Defer<'_>) -> Option<Reply>;

    /// A long message submitted in parts (UDH or SAR) is complete. Each part was also
    /// passed to [`on_request`](Self::on_request) and answered there.
    fn on_long_message(&self, _session: &SessionInfo, _message: smpp_pdu::text::Assembled) {}

    /// A long message's parts did not all arrive in time (or were evicted to bound
    /// memory).
    fn on_incomplete(&self, _session: &SessionInfo, _expired: smpp_pdu::text::Expired) {}

    /// A session bound.
    fn on_bound(&self, _session: &SessionInfo) {}

    /// A session ended.
    fn on_closed(&self, _session: &SessionInfo, _reason: CloseReason) {}
}

/// Limits and identity of a server.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// The address to listen on.
    pub listen: SocketAddr,
    /// The system_id the server answers binds with.
    pub system_id: String,
    /// Most connections at once (default 20 000); past it, new connections are closed.
    pub max_connections: usize,
    /// Most binds one account may hold at once (default 10); past it, `ESME_RBINDFAIL`.
    pub max_binds_per_account: usize,
    /// Session settings: window, session-init timeout (the bind timeout), inactivity
    /// timeout (default 5 min, as the platform), enquire_link.
    pub session: SessionConfig,
    /// How each connection's driver waits: see
    /// [`DriverConfig::busy_poll`](smpp_tokio::DriverConfig::busy_poll)
    /// (default: sleep at once).
    pub driver: DriverConfig,
}

impl ServerConfig {
    /// Defaults on the given address.
    pub fn new(listen: SocketAddr) -> Self {
        let mut session = SessionConfig::default();
        // An SMSC does not probe idle ESMEs: the ESME sends enquire_link, and the
        // inactivity timeout drops a link that goes silent.
        session.enquire_link_interval(None).window(100).receive_window(1000);
        Self {
            listen,
            system_id: "smpp-rs".into(),
            max_connections: 20_000,
            max_binds_per_account: 10,
            session,
            driver: DriverConfig::default(),
        }
    }
}

/// Why a push to an ESME failed.
#[non_exhaustive]
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
pub enum PushError {
    /// No session of the account is bound as receiver or transceiver.
    #[error("no receiver bound for account {0}")]
    NoReceiver(String),
    /// The session's queue of pushes waiting for window room is full.
    #[error("push queue full")]
    QueueFull,
    /// The session refused it locally (a TLV to a v3.3 ESME, ...).
    #[error("refused: {0}")]
    Refused(smpp_session::SendError),
    /// The ESME did not answer in time.
    #[error("no response")]
    Timeout,
    /// The session ended first.
    #[error("session closed: {0}")]
    Closed(CloseReason),
}

/// The outcome of a push: the ESME's status and response body.
pub type PushResult = Result<(CommandStatus, Body), PushError>;

/// Commands to one session's task. Payloads are boxed so the per-session channel
/// stays small: thousands of idle sessions each hold one.
pub(crate) enum SessionCommand {
    /// A push holds one of the session's push permits until the task takes it, so
    /// pushes never fill the room kept for answers.
    Push(Box<(Request, tokio::sync::OwnedSemaphorePermit)>, oneshot::Sender<PushResult>),
    Respond(SequenceNumber, Box<Reply>),
    Unbind,
}

/// Pushes one session's queue holds at once (more wait for room).
const PUSH_SLOTS: usize = 256;

#[derive(Debug)]
struct Entry {
    info: SessionInfo,
    commands: mpsc::Sender<SessionCommand>,
    pushes: Arc<tokio::sync::Semaphore>,
}

/// A connection's task, as the registry knows it.
#[derive(Debug)]
struct Live {
    commands: mpsc::Sender<SessionCommand>,
    abort: tokio::task::AbortHandle,
}

/// Bound sessions by account, and the counters.
#[derive(Debug, Default)]
struct Registry {
    accounts: Mutex<HashMap<String, Vec<Entry>>>,
    connections: AtomicUsize,
    next_id: AtomicU64,
    round_robin: AtomicUsize,
    all: Mutex<HashMap<u64, Live>>,
    drained: Notify,
}

impl Registry {
    /// Forgets a session's task.
    fn remove(&self, id: u64) {
        if let Ok(mut all) = self.all.lock() {
            all.remove(&id);
        }
    }
}

/// A handle to a running server: push messages, count sessions, shut down.
#[derive(Clone, Debug)]
pub struct ServerHandle {
    registry: Arc<Registry>,
    stop: Arc<Notify>,
    local_addr: SocketAddr,
}

impl ServerHandle {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Open connections.
    pub fn connections(&self) -> usize {
        self.registry.connections.load(Ordering::SeqCst)
    }

    /// Bound sessions of `system_id`.
    pub fn binds(&self, system_id: &str) -> usize {
        self.registry.accounts.lock().map_or(0, |a| a.get(system_id).map_or(0, Vec::len))
    }

    /// Pushes a deliver_sm or data_sm to a session of `system_id` bound as receiver or
    /// transceiver (in turn, when there are several); returns the ESME's answer.
    pub async fn push(&self, system_id: &str, request: Request) -> PushResult {
        self.push_where(system_id, request, |_| true).await
    }

    /// Like [`push`](Self::push), to a session chosen by `filter` (for example the
    /// one a receipt's message was submitted on, or one that allows TLVs).
    pub async fn push_where(
        &self,
        system_id: &str,
        request: Request,
        filter: impl Fn(&SessionInfo) -> bool,
    ) -> PushResult {
        let target = {
            let accounts = self.registry.accounts.lock().map_err(|_| PushError::NoReceiver(system_id.into()))?;
            let candidates: Vec<_> = accounts
                .get(system_id)
                .map(|v| v.iter().filter(|e| e.info.mode.smsc_sends() && filter(&e.info)).collect())
                .unwrap_or_default();
            if candidates.is_empty() {
                return Err(PushError::NoReceiver(system_id.into()));
            }
            let k = self.registry.round_robin.fetch_add(1, Ordering::Relaxed) % candidates.len();
            candidates.get(k).map(|e| (e.commands.clone(), e.pushes.clone()))
        };
        let Some((commands, pushes)) = target else { return Err(PushError::NoReceiver(system_id.into())) };
        let permit = pushes.acquire_owned().await.map_err(|_| PushError::Closed(CloseReason::Local))?;
        let (tx, rx) = oneshot::channel();
        commands
            .send(SessionCommand::Push(Box::new((request, permit)), tx))
            .await
            .map_err(|_| PushError::Closed(CloseReason::Local))?;
        rx.await.unwrap_or(Err(PushError::Closed(CloseReason::Local)))
    }

    /// Graceful shutdown: stop accepting, unbind every session, and wait up to `grace`
    /// for them to close. Sessions still open then (a peer that stopped reading, say)
    /// are cut off, so this returns within `grace`. Returns how many had to be cut.
    pub async fn shutdown(&self, grace: Duration) -> usize {
        self.stop.notify_waiters();
        self.stop.notify_one();
        let sessions: Vec<_> =
            self.registry.all.lock().map(|a| a.values().map(|l| l.commands.clone()).collect()).unwrap_or_default();
        for s in sessions {
            // A session whose queue is full is cut off when the grace period ends.
            let _ = s.try_send(SessionCommand::Unbind);
        }
        let wait = async {
            while self.connections() > 0 {
                let notified = self.registry.drained.notified();
                if self.connections() == 0 {
                    break;
                }
                notified.await;
            }
        };
        if tokio::time::timeout(grace, wait).await.is_ok() {
            return 0;
        }
        let stuck: Vec<_> =
            self.registry.all.lock().map(|a| a.values().map(|l| l.abort.clone()).collect()).unwrap_or_default();
        tracing::warn!(sessions = stuck.len(), "shutdown: cutting off sessions that did not close in time");
        for abort in &stuck {
            abort.abort();
        }
        stuck.len()
    }
}

/// An SMSC server.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    handle: ServerHandle,
    config: Arc<ServerConfig>,
}

impl Server {
    /// Binds the listening socket.
    pub async fn bind(config: ServerConfig) -> std::io::Result<Self> {
        let listener = TcpListener::bind(config.listen).await?;
        let local_addr = listener.local_addr()?;
        let handle = ServerHandle { registry: Arc::default(), stop: Arc::new(Notify::new()), local_addr };
        Ok(Self { listener, handle, config: Arc::new(config) })
    }

    /// A handle for pushing messages and shutting down.
    pub fn handle(&self) -> ServerHandle {
        self.handle.clone()
    }

    /// Accepts connections until [`ServerHandle::shutdown`], running `handler` for
    /// each session.
    pub async fn run<H: SmscHandler>(self, handler: Arc<H>) {
        let Self { listener, handle, config } = self;
        loop {
            let accepted = tokio::select! {
                a = listener.accept() => a,
                () = handle.stop.notified() => break,
            };
            let (stream, peer) = match accepted {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(%e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            };
            if handle.registry.connections.load(Ordering::SeqCst) >= config.max_connections {
                tracing::warn!(%peer, "connection limit reached; closing");
                drop(stream);
                continue;
            }
            let _ = stream.set_nodelay(true);
            handle.registry.connections.fetch_add(1, Ordering::SeqCst);
            let id = handle.registry.next_id.fetch_add(1, Ordering::Relaxed);
            let span = tracing::info_span!("smsc_session", id, %peer);
            // Room for every answer the session lets the ESME wait for, for the pushes
            // in flight, and for control commands.
            let (tx, rx) = mpsc::channel(config.session.receive_window_len() + PUSH_SLOTS + 16);
            // Made here and moved into the task: dropped with it however it ends, even
            // if it is cut off before it first runs.
            let guard = ConnectionGuard { server: handle.clone(), id };
            let task = tokio::spawn(
                serve_connection(stream, peer, guard, config.clone(), handler.clone(), (tx.clone(), rx))
                    .instrument(span),
            );
            if let Ok(mut all) = handle.registry.all.lock() {
                all.insert(id, Live { commands: tx, abort: task.abort_handle() });
            }
            // A task that ended before it was registered has cleaned up already.
            if task.is_finished() {
                handle.registry.remove(id);
            }
        }
    }

    /// Runs the server in a new task; returns its handle.
    pub fn spawn<H: SmscHandler>(self, handler: Arc<H>) -> ServerHandle {
        let handle = self.handle();
        tokio::spawn(self.run(handler));
        handle
    }
}

/// Cleans up after a connection however its task ends (aborted at shutdown included):
/// deregisters it and counts it closed.
struct ConnectionGuard {
    server: ServerHandle,
    id: u64,
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.server.registry.remove(self.id);
        self.server.registry.connections.fetch_sub(1, Ordering::SeqCst);
        self.server.registry.drained.notify_waiters();
    }
}

async fn serve_connection<H: SmscHandler>(
    stream: TcpStream,
    peer: SocketAddr,
    guard: ConnectionGuard,
    config: Arc<ServerConfig>,
    handler: Arc<H>,
    (tx, mut rx): (mpsc::Sender<SessionCommand>, mpsc::Receiver<SessionCommand>),
) {
    let (id, server) = (guard.id, guard.server.clone());
    let session = Session::smsc(now(), config.session.clone());
    let driver = config.driver;
    let mut conn = Connection {
        id,
        peer,
        server: server.clone(),
        config,
        handler,
        commands: tx,
        push_slots: Arc::new(tokio::sync::Semaphore::new(PUSH_SLOTS)),
        info: None,
        pushes: HashMap::new(),
        queued: std::collections::VecDeque::new(),
        reassembler: smpp_pdu::text::Reassembler::new(Duration::from_secs(120), 256, 1 << 20),
        closed: false,
    };
    if let Err(e) = drive_with(stream, session, &mut conn, &mut rx, driver).await {
        tracing::debug!(%e, "connection error");
    }
    drop(guard);
    // `conn` deregisters its bind and fails its pushes when dropped: here, or when the
    // task is cut off at shutdown.
}

impl<H: SmscHandler> Connection<H> {
    /// Takes the session's bind out of the registry.
    fn deregister(&mut self) {
        let Some(info) = &self.info else { return };
        if let Ok(mut accounts) = self.server.registry.accounts.lock()
            && let Some(v) = accounts.get_mut(&info.system_id)
        {
            v.retain(|e| e.info.id != self.id);
            if v.is_empty() {
                accounts.remove(&info.system_id);
            }
        }
    }
}

impl<H: SmscHandler> Drop for Connection<H> {
    fn drop(&mut self) {
        self.deregister();
        // Cut off before its session closed (shutdown's grace period ended): the
        // handler still hears that it ended.
        if !self.closed
            && let Some(info) = &self.info
        {
            self.handler.on_closed(info, CloseReason::Local);
        }
        for (_, reply) in self.pushes.drain() {
            let _ = reply.send(Err(PushError::Closed(CloseReason::PeerClosed)));
        }
        for (_, reply) in self.queued.drain(..) {
            let _ = reply.send(Err(PushError::Closed(CloseReason::PeerClosed)));
        }
    }
}

struct Connection<H: SmscHandler> {
    id: u64,
    peer: SocketAddr,
    server: ServerHandle,
    config: Arc<ServerConfig>,
    handler: Arc<H>,
    commands: mpsc::Sender<SessionCommand>,
    /// Pushes this session's queue may hold at once.
    push_slots: Arc<tokio::sync::Semaphore>,
    info: Option<SessionInfo>,
    pushes: HashMap<u32, oneshot::Sender<PushResult>>,
    /// Pushes waiting for room in the window, in order; bounded by [`MAX_QUEUED_PUSHES`].
    queued: std::collections::VecDeque<(Request, oneshot::Sender<PushResult>)>,
    reassembler: smpp_pdu::text::Reassembler,
    /// The session reported `Closed` (the handler heard `on_closed`).
    closed: bool,
}

/// Pushes one session holds while its window is full.
const MAX_QUEUED_PUSHES: usize = 10_000;

impl<H: SmscHandler> Connection<H> {
    /// Sends queued pushes while the window has room.
    fn flush_pushes(&mut self, now: Instant, session: &mut Session) {
        while session.window_room() > 0 {
            let Some((request, reply)) = self.queued.pop_front() else { return };
            match session.send(now, request) {
                Ok(seq) => {
                    self.pushes.insert(seq.value(), reply);
                }
                Err(e) => {
                    let _ = reply.send(Err(PushError::Refused(e)));
                }
            }
        }
    }

    fn on_bind(&mut self, now: Instant, session: &mut Session, seq: SequenceNumber, mode: BindMode, bind: Bind) {
        let system_id = String::from_utf8_lossy(bind.system_id.as_bytes()).into_owned();
        tracing::info!(%system_id, ?mode, version = ?bind.interface_version, password = ?bind.password, "bind");
        let verdict = if self.server.binds(&system_id) >= self.config.max_binds_per_account {
            Err(CommandStatus::ESME_RBINDFAIL)
        } else {
            self.handler.authenticate(self.peer, mode, &bind)
        };
        if let Err(status) = verdict {
            tracing::info!(%system_id, %status, "bind refused");
            let _ = session.reject_bind(now, seq, status);
            return;
        }
        let requested = bind.interface_version;
        if session.accept_bind(now, seq, &self.config.system_id).is_err() {
            return;
        }
        let version = session.interface_version().unwrap_or(InterfaceVersion::V33);
        let info = SessionInfo {
            id: self.id,
            peer: self.peer,
            system_id: system_id.clone(),
            mode,
            requested_version: requested,
            version,
        };
        if let Ok(mut accounts) = self.server.registry.accounts.lock() {
            accounts.entry(system_id.clone()).or_default().push(Entry {
                info: info.clone(),
                commands: self.commands.clone(),
                pushes: self.push_slots.clone(),
            });
        }

        self.handler.on_bound(&info);
        self.info = Some(info);
    }
}

impl<H: SmscHandler> Handler for Connection<H> {
    type Command = SessionCommand;

    fn on_command(&mut self, now: Instant, session: &mut Session, command: SessionCommand) {
        match command {
            SessionCommand::Push(push, reply) => {
                // Taken from the queue: its push slot is free again.
                let (request, _permit) = *push;
                if self.queued.len() >= MAX_QUEUED_PUSHES {
                    let _ = reply.send(Err(PushError::QueueFull));
                    return;
                }
                // Queue behind earlier pushes; send what the window allows.
                self.queued.push_back((request, reply));
                self.flush_pushes(now, session);
            }
            SessionCommand::Respond(seq, reply) => {
                if let Err(e) = session.respond(now, seq, reply.status, reply.body) {
                    tracing::debug!(%e, "reply not sent");
                }
            }
            SessionCommand::Unbind => {
                if session.unbind(now).is_err() {
                    session.close(now);
                }
            }
        }
    }

    fn on_event(&mut self, now: Instant, session: &mut Session, event: Event) {
        let completes = matches!(event, Event::Response { .. } | Event::ResponseTimeout { .. });
        self.on_session_event(now, session, event);
        // A completed push frees room in the window for the queued ones.
        if completes && !self.queued.is_empty() {
            self.flush_pushes(now, session);
        }
    }

    fn on_commands_closed(&mut self, _now: Instant, _session: &mut Session) {}

    fn poll_timeout(&self) -> Option<Instant> {
        self.reassembler.poll_timeout()
    }

    fn on_timeout(&mut self, now: Instant, _session: &mut Session) {
        for expired in self.reassembler.expire(now) {
            if let Some(info) = &self.info {
                self.handler.on_incomplete(info, expired);
            }
        }
    }
}

impl<H: SmscHandler> Connection<H> {
    fn on_session_event(&mut self, now: Instant, session: &mut Session, event: Event) {
        match event {
            Event::BindRequest { seq, mode, bind } => self.on_bind(now, session, seq, mode, bind),
            Event::Request { seq, request, .. } => {
                let Some(info) = &self.info else { return };
                if let Request::SubmitSm(sm) = &request
                    && let Some(f) = smpp_pdu::text::fragment_of(sm.esm_class, &sm.short_message, &sm.tlvs)
                    && f.total > 1
                {
                    let (source, dest) = (sm.source_addr.addr, sm.destination_addr.addr);
                    if let Some(whole) =
                        self.reassembler.push(now, source.as_bytes(), dest.as_bytes(), sm.data_coding, f)
                    {
                        self.handler.on_long_message(info, whole);
                    }
                }
                tracing::trace!(command = %request.command_id(), ?seq, "request");
                let fallback = Body::empty_response_for(request.command_id());
                let id = request.command_id();
                let taken = std::cell::Cell::new(false);
                let defer = Defer { commands: &self.commands, seq, fallback, taken: &taken };
                let reply = match self.handler.on_request(info, request, defer) {
                    Some(reply) => Some(reply),
                    // Neither answered nor deferred: never leave the ESME waiting.
                    None if !taken.get() => {
                        Body::empty_response_for(id).map(|body| Reply { status: CommandStatus::ESME_RSYSERR, body })
                    }
                    None => None,
                };
                if let Some(reply) = reply
                    && let Err(e) = session.respond(now, seq, reply.status, reply.body)
                {
                    tracing::debug!(%e, "reply not sent");
                }
            }
            Event::Response { seq, status, response, .. } => {
                if let Some(reply) = self.pushes.remove(&seq.value()) {
                    let _ = reply.send(Ok((status, response)));
                }
            }
            Event::WindowOpen => {}
            Event::ResponseTimeout { seq, .. } => {
                if let Some(reply) = self.pushes.remove(&seq.value()) {
                    let _ = reply.send(Err(PushError::Timeout));
                }
            }
            Event::RequestFailed { seq, reason, .. } => {
                if let Some(reply) = self.pushes.remove(&seq.value()) {
                    let _ = reply.send(Err(PushError::Closed(reason)));
                }
            }
            Event::Closed { reason } => {
                tracing::info!(%reason, "session closed");
                self.deregister();
                self.closed = true;
                if let Some(info) = &self.info {
                    self.handler.on_closed(info, reason);
                }
            }
            _ => {}
        }
    }
}
