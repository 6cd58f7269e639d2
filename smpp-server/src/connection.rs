//! One connection's task: the session on the driver, its handler, the bind decision
//! (asynchronous), the account's limits, pushes queued for window room.

use std::any::Any;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use smpp_session::{BindMode, CloseReason, Event, Request, Session, effective_version};
use smpp_tokio::{Handler, Stream, drive_with, now};
use smpp_wire::{Bind, Body, CommandId, CommandStatus, InterfaceVersion, SequenceNumber};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};

use crate::blocks::Throttle;
use crate::config::ServerConfig;
use crate::handle::{PushError, PushResult, ServerHandle};
use crate::handler::{BindInfo, BoundSession, Defer, Grant, Reply, SessionInfo, SmscHandler};
use crate::registry::{Counters, Entry};

/// Commands to one session's task. Payloads are boxed so the per-session channel
/// stays small: thousands of idle sessions each hold one.
pub(crate) enum SessionCommand {
    /// A push holds one of the session's push permits until the task takes it, so
    /// pushes never fill the room kept for answers.
    Push(Box<(Request, OwnedSemaphorePermit)>, oneshot::Sender<PushResult>),
    Respond(SequenceNumber, Box<Reply>),
    /// The handler decided a bind: a `Decision<H::Account>`.
    Decided(Box<dyn Any + Send>),
    Unbind,
}

impl std::fmt::Debug for SessionCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Push(..) => "Push",
            Self::Respond(..) => "Respond",
            Self::Decided(_) => "Decided",
            Self::Unbind => "Unbind",
        })
    }
}

/// The handler's verdict on a bind, sent back to the session's task.
struct Decision<A> {
    seq: SequenceNumber,
    info: BindInfo,
    result: Result<Grant<A>, CommandStatus>,
}

/// Pushes one session's queue holds at once (more wait for room).
pub(crate) const PUSH_SLOTS: usize = 256;

/// Pushes one session holds while its window is full.
const MAX_QUEUED_PUSHES: usize = 10_000;

/// Cleans up after a connection however its task ends (aborted included):
/// deregisters it and counts it closed.
pub(crate) struct ConnectionGuard {
    pub(crate) server: ServerHandle,
    pub(crate) id: u64,
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.server.registry.remove(self.id);
        self.server.registry.connections.fetch_sub(1, Ordering::SeqCst);
        self.server.registry.drained.notify_waiters();
    }
}

/// Runs one connection to its end.
pub(crate) async fn serve_connection<H: SmscHandler, S: Stream>(
    stream: S,
    peer: SocketAddr,
    guard: ConnectionGuard,
    config: Arc<ServerConfig>,
    handler: Arc<H>,
    (tx, mut rx): (mpsc::Sender<SessionCommand>, mpsc::Receiver<SessionCommand>),
) {
    let (id, server) = (guard.id, guard.server.clone());
    // A new session has nothing outstanding, so it always takes a token type.
    let Ok(session) = Session::smsc(now(), config.session.clone()).with_tokens() else { return };
    let driver = config.driver;
    let mut conn = Connection {
        id,
        peer,
        server,
        config,
        handler,
        commands: tx,
        push_slots: Arc::new(Semaphore::new(PUSH_SLOTS)),
        bound: None,
        throttle: None,
        counters: Arc::new(Counters::default()),
        auth: None,
        queued: VecDeque::new(),
        reassembler: smpp_wire::text::Reassembler::new(Duration::from_secs(120), 256, 1 << 20),
        closed: None,
    };
    if let Err(e) = drive_with(stream, session, &mut conn, &mut rx, driver).await {
        tracing::debug!(%e, "connection error");
    }
    drop(guard);
    // `conn` deregisters its bind and fails its pushes when dropped: here, or when the
    // task is cut off.
}

struct Connection<H: SmscHandler> {
    id: u64,
    peer: SocketAddr,
    server: ServerHandle,
    config: Arc<ServerConfig>,
    handler: Arc<H>,
    commands: mpsc::Sender<SessionCommand>,
    /// Pushes this session's queue may hold at once.
    push_slots: Arc<Semaphore>,
    bound: Option<BoundSession<H::Account>>,
    /// The account's throttle, shared by its binds.
    throttle: Option<Arc<Mutex<Throttle>>>,
    counters: Arc<Counters>,
    /// The bind decision under way.
    auth: Option<tokio::task::JoinHandle<()>>,
    /// Pushes waiting for room in the window, in order; bounded by [`MAX_QUEUED_PUSHES`].
    queued: VecDeque<(Request, oneshot::Sender<PushResult>)>,
    reassembler: smpp_wire::text::Reassembler,
    /// Why the session closed, once it has (the handler heard `on_closed`).
    closed: Option<CloseReason>,
}

impl<H: SmscHandler> Drop for Connection<H> {
    fn drop(&mut self) {
        if let Some(auth) = self.auth.take() {
            auth.abort();
        }
        self.deregister();
        // Cut off before its session closed: the handler still hears that it ended.
        if self.closed.is_none()
            && let Some(bound) = &self.bound
        {
            self.handler.on_closed(bound, CloseReason::Local);
        }
        // Cut off before it closed (dropped, shutdown): we closed it.
        let reason = self.closed.unwrap_or(CloseReason::Local);
        for (_, reply) in self.queued.drain(..) {
            let _ = reply.send(Err(PushError::Closed(reason)));
        }
    }
}

type Token = oneshot::Sender<PushResult>;

impl<H: SmscHandler> Connection<H> {
    /// Takes the session's bind out of the registry.
    fn deregister(&mut self) {
        if let Some(bound) = &self.bound {
            self.server.registry.deregister(&bound.info.system_id, self.id);
        }
    }

    /// Sends queued pushes while the window has room.
    fn flush_pushes(&mut self, now: Instant, session: &mut Session<Token>) {
        while session.window_room() > 0 {
            let Some((request, reply)) = self.queued.pop_front() else { return };
            match session.send_with(now, request, reply) {
                Ok(_) => {
                    self.counters.pushes.fetch_add(1, Ordering::Relaxed);
                }
                Err((e, reply)) => {
                    let _ = reply.send(Err(PushError::Refused(e)));
                }
            }
        }
    }

    /// Asks the handler about a bind, on a task of its own.
    fn on_bind(&mut self, seq: SequenceNumber, mode: BindMode, bind: Bind) {
        let info = BindInfo { peer: self.peer, mode, bind };
        tracing::info!(system_id = %info.system_id(), ?mode, version = ?info.bind.interface_version, "bind");
        let handler = self.handler.clone();
        let commands = self.commands.clone();
        self.auth = Some(tokio::spawn(async move {
            let result = handler.authenticate(&info).await;
            let decision: Box<dyn Any + Send> = Box::new(Decision::<H::Account> { seq, info, result });
            let _ = commands.send(SessionCommand::Decided(decision)).await;
        }));
    }

    fn on_decided(&mut self, now: Instant, session: &mut Session<Token>, decision: Box<dyn Any + Send>) {
        self.auth = None;
        let Ok(decision) = decision.downcast::<Decision<H::Account>>() else { return };
        let Decision { seq, info, result } = *decision;
        let system_id = info.system_id();
        let grant = match result {
            Ok(grant) => grant,
            Err(status) => {
                tracing::info!(%system_id, %status, "bind refused");
                let _ = session.reject_bind(now, seq, status);
                return;
            }
        };
        let requested = info.bind.interface_version;
        let limits = grant.limits;
        let session_info = SessionInfo {
            id: self.id,
            peer: self.peer,
            system_id: system_id.clone(),
            system_type: info.system_type(),
            mode: info.mode,
            requested_version: requested,
            version: effective_version(requested).min(self.config.session.requested_version()),
            bound_at: SystemTime::now(),
        };
        let entry = Entry {
            info: session_info.clone(),
            commands: self.commands.clone(),
            pushes: self.push_slots.clone(),
            counters: self.counters.clone(),
        };
        let max_binds = limits.max_binds.unwrap_or(self.config.max_binds_per_account);
        let Ok(throttle) = self.server.registry.register(entry, max_binds, limits.throttle) else {
            tracing::info!(%system_id, max_binds, "bind refused: the account holds its most binds");
            let _ = session.reject_bind(now, seq, CommandStatus::ESME_RBINDFAIL);
            return;
        };
        if session.accept_bind(now, seq, &self.config.system_id).is_err() {
            self.server.registry.deregister(&system_id, self.id);
            return;
        }
        if let Some(w) = limits.window {
            session.set_window(w);
        }
        if let Some(w) = limits.receive_window {
            // The command queue was sized for the server's receive window.
            session.set_receive_window(w.min(self.config.session.receive_window_len()));
        }
        let mut session_info = session_info;
        session_info.version = session.interface_version().unwrap_or(InterfaceVersion::V33);
        self.throttle = throttle;
        let bound = BoundSession { info: session_info, account: Arc::new(grant.account), limits };
        self.handler.on_bound(&bound);
        self.bound = Some(bound);
    }

    /// Whether the account's rate allows this request.
    fn within_rate(&self, now: Instant, id: CommandId) -> bool {
        let Some(throttle) = &self.throttle else { return true };
        let counted =
            matches!(id, CommandId::SUBMIT_SM | CommandId::SUBMIT_MULTI | CommandId::DATA_SM | CommandId::BROADCAST_SM);
        !counted || throttle.lock().unwrap_or_else(std::sync::PoisonError::into_inner).try_take(now)
    }

    fn on_request(&mut self, now: Instant, session: &mut Session<Token>, seq: SequenceNumber, request: Request) {
        let Some(bound) = &self.bound else { return };
        self.counters.requests.fetch_add(1, Ordering::Relaxed);
        let id = request.command_id();
        if !self.within_rate(now, id) {
            self.counters.throttled.fetch_add(1, Ordering::Relaxed);
            let reply = Reply::error(&request, CommandStatus::ESME_RTHROTTLED);
            let _ = session.respond(now, seq, reply.status, reply.body);
            return;
        }
        if let Request::SubmitSm(sm) = &request
            && let Some(f) = smpp_wire::text::fragment_of(sm.esm_class, &sm.short_message, &sm.tlvs)
            && f.total > 1
        {
            let (source, dest) = (sm.source_addr.addr, sm.destination_addr.addr);
            if let Some(whole) = self.reassembler.push(now, source.as_bytes(), dest.as_bytes(), sm.data_coding, f) {
                self.handler.on_long_message(bound, whole);
            }
        }
        tracing::trace!(command = %id, ?seq, "request");
        let fallback = Body::empty_response_for(id);
        let taken = std::cell::Cell::new(false);
        let defer = Defer { commands: &self.commands, seq, fallback, taken: &taken };
        let reply = match self.handler.on_request(bound, request, defer) {
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
}

impl<H: SmscHandler> Handler for Connection<H> {
    type Command = SessionCommand;
    type Token = Token;

    fn link(&self) -> smpp_tokio::metrics::Link<'_> {
        let account = self.bound.as_ref().map(|b| b.info.system_id.as_str());
        smpp_tokio::metrics::Link::new(Some(&self.server.registry.stats), account)
    }

    fn on_command(&mut self, now: Instant, session: &mut Session<Token>, command: SessionCommand) {
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
            SessionCommand::Decided(decision) => self.on_decided(now, session, decision),
            SessionCommand::Unbind => {
                if session.unbind(now).is_err() {
                    session.close(now);
                }
            }
        }
    }

    fn on_event(&mut self, now: Instant, session: &mut Session<Token>, event: Event<Token>) {
        match event {
            Event::BindRequest { seq, mode, bind } => self.on_bind(seq, mode, bind),
            Event::Request { seq, request, .. } => self.on_request(now, session, seq, request),
            Event::Response { status, response, token, .. } => {
                let _ = token.send(Ok((status, response)));
            }
            Event::ResponseTimeout { token, .. } => {
                let _ = token.send(Err(PushError::Timeout));
            }
            Event::RequestFailed { reason, token, .. } => {
                let _ = token.send(Err(PushError::Closed(reason)));
            }
            Event::Closed { reason } => {
                tracing::info!(%reason, "session closed");
                self.deregister();
                self.closed = Some(reason);
                if let Some(bound) = &self.bound {
                    self.handler.on_closed(bound, reason);
                }
            }
            _ => {}
        }
        // A completed push frees room in the window for the queued ones.
        if !self.queued.is_empty() {
            self.flush_pushes(now, session);
        }
    }

    fn on_commands_closed(&mut self, _now: Instant, _session: &mut Session<Token>) {}

    fn poll_timeout(&self) -> Option<Instant> {
        self.reassembler.poll_timeout()
    }

    fn on_timeout(&mut self, now: Instant, _session: &mut Session<Token>) {
        for expired in self.reassembler.expire(now) {
            if let Some(bound) = &self.bound {
                self.handler.on_incomplete(bound, expired);
            }
        }
    }
}
