//! [`Session`]: one SMPP connection's state machine, for either role.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use smpp_wire::{
    Address, Bind, BindResp, Body, COctetString, CommandId, CommandStatus, DecodeError, Header, InterfaceVersion,
    Outbind, Password, Pdu, SequenceNumber, Tlv, Tlvs, frame_len,
};

use crate::config::{MissingScVersion, SessionConfig};
use crate::event::{CloseReason, Event, Initiator, SendError};
use crate::request::Request;
use crate::state::{BindMode, Role, SessionState, allowed, effective_version, needs_v34};
use crate::wire::{self, Direction, WireCounts};

/// What an ESME binds with.
///
/// ```
/// use smpp_session::{BindMode, BindRequest};
/// let bind = BindRequest::new(BindMode::Transceiver, "smppclient1", "password").unwrap();
/// assert_eq!(bind.system_type.as_bytes(), b"smpp");
/// ```
#[non_exhaustive]
#[derive(Clone, Debug)]
pub struct BindRequest {
    /// Transmitter, receiver or transceiver.
    pub mode: BindMode,
    /// The account ("username"), at most 15 characters.
    pub system_id: COctetString<16>,
    /// The password, at most 8 characters.
    pub password: Password,
    /// The ESME type (default `smpp`, as the platform expects).
    pub system_type: COctetString<13>,
    /// `addr_ton`, `addr_npi` and `address_range`.
    pub address_range: Address<41>,
}

impl BindRequest {
    /// A bind with the given mode and credentials, system_type `smpp` and an empty
    /// address range.
    pub fn new(mode: BindMode, system_id: &str, password: &str) -> Result<Self, smpp_wire::FieldError> {
        Ok(Self {
            mode,
            system_id: COctetString::new(system_id)?,
            password: Password::new(password)?,
            system_type: COctetString::new("smpp")?,
            address_range: Address::default(),
        })
    }

    fn to_body(&self, mode: BindMode, version: InterfaceVersion) -> Body {
        let mut bind = Bind::default();
        bind.system_id = self.system_id;
        bind.password = self.password;
        bind.system_type = self.system_type;
        bind.interface_version = version;
        bind.address_range = self.address_range;
        match mode {
            BindMode::Transmitter => Body::BindTransmitter(bind),
            BindMode::Receiver => Body::BindReceiver(bind),
            BindMode::Transceiver => Body::BindTransceiver(bind),
        }
    }
}

/// Counters of what a session has done, for monitoring and benchmarks.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub struct SessionStats {
    /// PDUs received.
    pub pdus_in: u64,
    /// PDUs sent.
    pub pdus_out: u64,
    /// enquire_link sent by this session (keep-alive).
    pub enquire_links_sent: u64,
    /// Of those, answered.
    pub enquire_links_answered: u64,
    /// enquire_link received from the peer (and answered).
    pub enquire_links_received: u64,
}

/// Response times kept for [`Session::take_latencies`] at most (or the window,
/// if larger: the responses one read can carry).
const MAX_LATENCIES: usize = 1024;

/// Bytes for the driver to write, all pending output in one buffer.
#[must_use]
#[derive(Debug)]
pub struct Transmit {
    /// The bytes.
    pub bytes: Bytes,
}

/// The kinds of timer, for [`Session::next_timer`].
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum TimerKind {
    /// Bind (ESME: awaiting bind_resp; SMSC: session_init_timer).
    Bind,
    /// Idle link: time to send enquire_link.
    EnquireLink,
    /// Awaiting enquire_link_resp.
    EnquireLinkResponse,
    /// inactivity_timer.
    Inactivity,
    /// After a local unbind.
    UnbindGrace,
    /// A request's response timer.
    Response,
}

const TIMERS: [TimerKind; 5] = [
    TimerKind::Bind,
    TimerKind::EnquireLink,
    TimerKind::EnquireLinkResponse,
    TimerKind::Inactivity,
    TimerKind::UnbindGrace,
];

fn timer_index(kind: TimerKind) -> usize {
    match kind {
        TimerKind::Bind => 0,
        TimerKind::EnquireLink => 1,
        TimerKind::EnquireLinkResponse => 2,
        TimerKind::Inactivity => 3,
        TimerKind::UnbindGrace | TimerKind::Response => 4,
    }
}

/// Sequence numbers are already well spread; hash them by one multiplication.
#[derive(Default)]
struct SeqHasher(u64);

impl Hasher for SeqHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8 | u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = u64::from(n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type SeqMap<V> = HashMap<u32, V, BuildHasherDefault<SeqHasher>>;

/// Bound on queued events between two drains: the contract is to drain after every
/// call, so this only guards against a driver that does not.
const MAX_EVENTS: usize = 1 << 16;

/// A sans-IO SMPP session: one connection's state machine, in the ESME or SMSC role.
///
/// It performs no I/O and reads no clock. The driver feeds it bytes and times, and
/// carries out what it asks:
///
/// - (A) getters: [`state`](Self::state), [`interface_version`](Self::interface_version),
///   [`in_flight`](Self::in_flight), [`is_drained`](Self::is_drained), [`next_timer`](Self::next_timer);
/// - (B) inputs: [`handle_input`](Self::handle_input), [`handle_eof`](Self::handle_eof),
///   [`handle_timeout`](Self::handle_timeout);
/// - (C) commands: [`send`](Self::send), [`respond`](Self::respond),
///   [`accept_bind`](Self::accept_bind), [`reject_bind`](Self::reject_bind),
///   [`unbind`](Self::unbind), [`close`](Self::close);
/// - (D) outputs: [`poll_transmit`](Self::poll_transmit), [`poll_timeout`](Self::poll_timeout),
///   [`poll_event`](Self::poll_event).
///
/// The contract: after every (B) or (C) call, write everything [`poll_transmit`](Self::poll_transmit)
/// returns, then read [`poll_timeout`](Self::poll_timeout), then drain
/// [`poll_event`](Self::poll_event), before the next call. `now` never goes backwards;
/// a [`handle_timeout`](Self::handle_timeout) before the deadline does nothing.
/// [`Event::Closed`] comes exactly once and last; afterwards commands return
/// [`SendError::Closed`], and once [`is_drained`](Self::is_drained) the driver hangs up.
///
/// ```no_run
/// # use std::io::{Read, Write};
/// # use std::time::Instant;
/// # use smpp_session::{BindMode, BindRequest, Event, Session, SessionConfig};
/// # fn clock() -> Instant { unimplemented!() }
/// # fn run(mut stream: std::net::TcpStream) -> std::io::Result<()> {
/// let bind = BindRequest::new(BindMode::Transceiver, "smppclient1", "password").unwrap();
/// let mut session = Session::esme(clock(), SessionConfig::default(), bind).unwrap();
/// let mut buf = [0u8; 4096];
/// loop {
///     while let Some(t) = session.poll_transmit() {
///         stream.write_all(&t.bytes)?;
///     }
///     while let Some(event) = session.poll_event() {
///         if let Event::Closed { .. } = event { return Ok(()); }
///     }
///     // A real driver also waits until `session.poll_timeout()` and then calls
///     // `session.handle_timeout(clock())`.
///     let n = stream.read(&mut buf)?;
///     if n == 0 { session.handle_eof(clock()) } else { session.handle_input(clock(), &buf[..n]) }
/// }
/// # }
/// ```
#[derive(Debug)]
pub struct Session<T = ()> {
    role: Role,
    config: SessionConfig,
    state: SessionState,
    /// ESME: the bind to send (now, or on outbind).
    bind: Option<BindRequest>,
    /// ESME: the mode the outstanding bind asked for.
    bind_mode: Option<BindMode>,
    /// SMSC: the bind request awaiting the application's decision.
    pending_bind: Option<(SequenceNumber, BindMode, InterfaceVersion)>,
    version: Option<InterfaceVersion>,
    pub(crate) rx: BytesMut,
    tx: BytesMut,
    events: VecDeque<Event<T>>,
    window: crate::window::Window<T>,
    /// Inbound requests awaiting the application's response: command_id and count.
    inbound: SeqMap<(CommandId, u32)>,
    inbound_count: usize,
    timers: [Option<Instant>; 5],
    keepalive: Option<SequenceNumber>,
    unbind_seq: Option<SequenceNumber>,
    unbind_requested: bool,
    window_blocked: bool,
    stats: SessionStats,
    wire: WireCounts,
    /// Response times not yet taken ([`Session::take_latencies`]).
    latencies: Vec<(CommandId, std::time::Duration)>,
    /// Our requests queued in `tx` and not yet handed out by `poll_transmit`: their
    /// sequence numbers and where their octets lie in `tx`. On close they are taken
    /// out of the output and reported never sent.
    unsent: Vec<(SequenceNumber, usize, usize)>,
}

impl Session {
    /// An ESME session that binds at once: the bind PDU is queued for transmission and
    /// the bind timer armed.
    ///
    /// Fails with [`SendError::NotInVersion`] for a transceiver bind with an
    /// `interface_version` below 0x34 (v3.3 has no bind_transceiver).
    pub fn esme(now: Instant, config: SessionConfig, bind: BindRequest) -> Result<Self, SendError> {
        let version = config.interface_version;
        if bind.mode == BindMode::Transceiver && effective_version(version) < InterfaceVersion::V34 {
            return Err(SendError::NotInVersion { command_id: CommandId::BIND_TRANSCEIVER, version });
        }
        let mut s = Self::new(Role::Esme, config);
        let mode = bind.mode;
        s.bind = Some(bind);
        s.send_bind(now, mode);
        Ok(s)
    }

    /// An ESME session that waits for the SMSC's outbind, then binds as receiver.
    pub fn esme_awaiting_outbind(now: Instant, config: SessionConfig, bind: BindRequest) -> Self {
        let mut s = Self::new(Role::Esme, config);
        s.bind = Some(bind);
        s.arm(TimerKind::Bind, now, s.config.bind_timeout);
        s.arm(TimerKind::Inactivity, now, s.config.inactivity_timeout);
        s
    }

    /// An SMSC session on a new connection: it waits for a bind, for at most the bind
    /// timeout (the spec's session_init_timer).
    pub fn smsc(now: Instant, config: SessionConfig) -> Self {
        let mut s = Self::new(Role::Smsc, config);
        s.arm(TimerKind::Bind, now, s.config.bind_timeout);
        s.arm(TimerKind::Inactivity, now, s.config.inactivity_timeout);
        s
    }

    /// An SMSC session that has connected to an ESME: it sends outbind and waits for
    /// the ESME to bind.
    pub fn smsc_outbind(now: Instant, config: SessionConfig, system_id: COctetString<16>, password: Password) -> Self {
        let mut s = Self::smsc(now, config);
        let mut outbind = Outbind::default();
        outbind.system_id = system_id;
        outbind.password = password;
        s.write_pdu(now, Pdu::new(SequenceNumber::FIRST, Body::Outbind(outbind)));
        s.state = SessionState::Outbound;
        s
    }
}

impl<T> Session<T> {
    /// The same session carrying tokens of type `U` with its requests (see
    /// [`send_with`](Self::send_with)). Constructors make a `Session<()>`; convert a
    /// new one before sending anything:
    ///
    /// ```
    /// # use std::time::Instant;
    /// use smpp_session::{Session, SessionConfig};
    /// let smsc: Session<u64> = Session::smsc(Instant::now(), SessionConfig::default()).with_tokens().unwrap();
    /// ```
    ///
    /// Fails, giving the session back, while one of the application's requests is
    /// outstanding or events wait to be drained.
    pub fn with_tokens<U>(self) -> Result<Session<U>, Box<Self>> {
        if !self.events.is_empty() || self.window.in_flight() > 0 {
            return Err(Box::new(self));
        }
        let Self {
            role,
            config,
            state,
            bind,
            bind_mode,
            pending_bind,
            version,
            rx,
            tx,
            events: _,
            window,
            inbound,
            inbound_count,
            timers,
            keepalive,
            unbind_seq,
            unbind_requested,
            window_blocked,
            stats,
            wire,
            latencies,
            unsent,
        } = self;
        Ok(Session {
            role,
            config,
            state,
            bind,
            bind_mode,
            pending_bind,
            version,
            rx,
            tx,
            events: VecDeque::new(),
            window: window.retype(),
            inbound,
            inbound_count,
            timers,
            keepalive,
            unbind_seq,
            unbind_requested,
            window_blocked,
            stats,
            wire,
            latencies,
            unsent,
        })
    }

    fn new(role: Role, config: SessionConfig) -> Self {
        let window = crate::window::Window::new(config.window);
        Self {
            role,
            config,
            state: SessionState::Open,
            bind: None,
            bind_mode: None,
            pending_bind: None,
            version: None,
            rx: BytesMut::new(),
            tx: BytesMut::new(),
            events: VecDeque::new(),
            window,
            inbound: SeqMap::default(),
            inbound_count: 0,
            timers: [None; 5],
            keepalive: None,
            unbind_seq: None,
            unbind_requested: false,
            window_blocked: false,
            stats: SessionStats::default(),
            wire: WireCounts::default(),
            latencies: Vec::new(),
            unsent: Vec::new(),
        }
    }

    // ---- (B) inputs ---------------------------------------------------------------

    /// Feeds bytes read from the connection, in any chunking. Every complete PDU is
    /// processed before this returns, and less than one PDU stays buffered, provided
    /// events are drained as the contract asks: past 65 536 undrained events, frames
    /// wait in the buffer for the next call.
    pub fn handle_input(&mut self, now: Instant, bytes: &[u8]) {
        if self.state == SessionState::Closed {
            return;
        }
        self.rx.extend_from_slice(bytes);
        self.process_input(now);
    }

    /// [`handle_input`](Self::handle_input) without a copy, for a driver that reads
    /// into a buffer of its own: every complete PDU at the front of `buf` is taken
    /// out of it (each PDU shares `buf`'s memory), and what is left (less than one
    /// PDU, or PDUs past the event bound) stays in `buf` for the next call, which
    /// must get it back with more bytes appended. Do not mix the two calls while
    /// bytes are left in `buf`.
    pub fn handle_input_buf(&mut self, now: Instant, buf: &mut BytesMut) {
        if self.state == SessionState::Closed {
            buf.clear();
            return;
        }
        if !self.rx.is_empty() {
            // Bytes fed by `handle_input` come first.
            self.rx.extend_from_slice(buf);
            buf.clear();
            self.process_input(now);
            return;
        }
        std::mem::swap(&mut self.rx, buf);
        self.process_input(now);
        std::mem::swap(&mut self.rx, buf);
    }

    /// Takes every complete PDU out of `rx`.
    fn process_input(&mut self, now: Instant) {
        while self.state != SessionState::Closed && self.events.len() < MAX_EVENTS {
            match frame_len(&self.rx, self.config.max_pdu_len) {
                Ok(None) => break,
                Ok(Some(n)) => {
                    let frame = self.rx.split_to(n).freeze();
                    self.on_frame(now, frame);
                }
                Err(e) => {
                    // The stream cannot be resynchronised: nack with whatever sequence
                    // number the header gives, then close.
                    let seq = Header::parse(&self.rx).map_or(SequenceNumber::from_wire(0), |h| h.sequence_number);
                    self.rx.clear();
                    self.write_pdu(now, Pdu::with_status(seq, CommandStatus::ESME_RINVCMDLEN, Body::GenericNack));
                    self.close_with(CloseReason::Framing(e));
                }
            }
        }
    }

    /// The peer closed the connection.
    pub fn handle_eof(&mut self, _now: Instant) {
        self.close_with(CloseReason::PeerClosed);
    }

    /// Reading or writing the connection failed: the session closes with
    /// [`CloseReason::IoError`].
    pub fn handle_io_error(&mut self, _now: Instant) {
        self.close_with(CloseReason::IoError);
    }

    /// The peer has not taken any output for the driver's write timeout: the session
    /// closes with [`CloseReason::WriteStalled`].
    pub fn handle_write_stalled(&mut self, _now: Instant) {
        self.close_with(CloseReason::WriteStalled);
    }

    /// Runs the timers due at `now`. Calling it early is harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.state == SessionState::Closed {
            return;
        }
        if self.due(TimerKind::Bind, now) {
            self.close_with(CloseReason::BindTimeout);
            return;
        }
        if self.due(TimerKind::Inactivity, now) {
            self.close_with(CloseReason::InactivityTimeout);
            return;
        }
        if self.due(TimerKind::EnquireLinkResponse, now) {
            self.close_with(CloseReason::EnquireLinkTimeout);
            return;
        }
        if self.due(TimerKind::UnbindGrace, now) {
            if self.unbind_seq.is_none() {
                // Outstanding requests did not drain in time: unbind anyway.
                self.send_unbind(now);
                self.arm(TimerKind::UnbindGrace, now, Some(self.config.unbind_grace));
            } else {
                self.close_with(CloseReason::Unbound { initiator: Initiator::Local });
                return;
            }
        }
        while let Some(p) = self.window.pop_expired(now) {
            if self.unsent.iter().any(|u| u.0 == p.seq) {
                // Never handed out (the driver's output is backed up): it has not been
                // sent, so it cannot have timed out. Its clock starts again.
                let wait = self.config.response_timeout.unwrap_or_default().max(std::time::Duration::from_millis(1));
                self.window.defer(p, now + wait);
                continue;
            }
            if let Some(token) = p.token {
                self.push_event(Event::ResponseTimeout { seq: p.seq, request: p.command_id, token });
            }
            self.after_completion(now);
        }
        if self.due(TimerKind::EnquireLink, now) {
            if matches!(self.state, SessionState::Bound(_)) && self.keepalive.is_none() {
                let seq = self.window.insert(CommandId::ENQUIRE_LINK, now, None, None);
                self.keepalive = Some(seq);
                self.stats.enquire_links_sent += 1;
                self.write_pdu(now, Pdu::new(seq, Body::EnquireLink));
                let wait = self.config.response_timeout.or(self.config.enquire_link_interval);
                self.arm(TimerKind::EnquireLinkResponse, now, wait);
            }
            self.arm(TimerKind::EnquireLink, now, self.config.enquire_link_interval);
        }
    }

    // ---- (C) commands -------------------------------------------------------------

    /// Sends a request; returns the sequence number allocated to it. Its outcome comes
    /// later as exactly one of [`Event::Response`], [`Event::ResponseTimeout`] or
    /// [`Event::RequestFailed`] (alert_notification, which has no response, excepted),
    /// carrying `T::default()` as its token (see [`send_with`](Self::send_with)).
    pub fn send(&mut self, now: Instant, request: Request) -> Result<SequenceNumber, SendError>
    where
        T: Default,
    {
        self.send_body(now, &request.into_body())
    }

    /// Sends a request with the application's `token`, which comes back in the event
    /// that ends the request: the session is the one place that correlates requests
    /// with their outcomes (a waiting caller's channel, a message id in a store, ...).
    /// If the request is refused, the token comes back with the error.
    pub fn send_with(&mut self, now: Instant, request: Request, token: T) -> Result<SequenceNumber, (SendError, T)> {
        self.send_body_with(now, &request.into_body(), token)
    }

    /// [`send_body`](Self::send_body) with a token (see [`send_with`](Self::send_with)).
    pub fn send_body_with(&mut self, now: Instant, body: &Body, token: T) -> Result<SequenceNumber, (SendError, T)> {
        match self.check_send(body) {
            Ok(has_response) => {
                let seq = self.send_checked(now, body, has_response);
                if has_response {
                    self.remember(now, seq, body.command_id(), token);
                }
                Ok(seq)
            }
            Err(e) => Err((e, token)),
        }
    }

    /// Sends the request that `token` holds (a boxed body, say), and keeps the token
    /// until the request ends: an application that may have to send the request again
    /// (after `ESME_RTHROTTLED`, or on the next connection) gets it back with the
    /// outcome, without a copy and without a map of its own.
    pub fn send_held(&mut self, now: Instant, token: T) -> Result<SequenceNumber, (SendError, T)>
    where
        T: std::borrow::Borrow<Body>,
    {
        match self.check_send(token.borrow()) {
            Ok(has_response) => {
                let seq = self.send_checked(now, token.borrow(), has_response);
                if has_response {
                    let id = token.borrow().command_id();
                    self.remember(now, seq, id, token);
                }
                Ok(seq)
            }
            Err(e) => Err((e, token)),
        }
    }

    /// Records a sent request and its token in the window.
    fn remember(&mut self, now: Instant, seq: SequenceNumber, id: CommandId, token: T) {
        let deadline = self.config.response_timeout.map(|t| now + t);
        self.window.store(seq, id, now, deadline, Some(token));
    }

    /// [`send`](Self::send) for a request held as a PDU body, which the caller keeps:
    /// it is encoded by reference, so an application that may have to send it again
    /// (after `ESME_RTHROTTLED`, or on the next connection when this one ends before
    /// the request went out) needs no copy. A body that is not one of the
    /// [`Request`]s is [`SendError::NotARequest`].
    pub fn send_body(&mut self, now: Instant, body: &Body) -> Result<SequenceNumber, SendError>
    where
        T: Default,
    {
        self.send_body_with(now, body, T::default()).map_err(|(e, _)| e)
    }

    /// Checks that `body` may be sent now; returns whether it has a response.
    fn check_send(&mut self, body: &Body) -> Result<bool, SendError> {
        let id = body.command_id();
        let Some(tlvs) = Request::body_tlvs(body) else {
            return Err(SendError::NotARequest { command_id: id });
        };
        let mode = self.check_can_send()?;
        let ours = self.role;
        if !ours.sends(id) {
            return Err(SendError::WrongRole { command_id: id });
        }
        if !allowed(id, ours, mode) {
            return Err(SendError::WrongBindMode { mode, command_id: id });
        }
        let version = self.version.unwrap_or(InterfaceVersion::V33);
        if needs_v34(id) && version < InterfaceVersion::V34 {
            return Err(SendError::NotInVersion { command_id: id, version });
        }
        self.check_tlvs(tlvs)?;
        let has_response = id.has_response();
        if has_response && self.window.is_full() {
            self.window_blocked = true;
            return Err(SendError::WindowFull);
        }
        let len = Pdu::encoded_len_of(body);
        if len > self.config.max_pdu_len {
            return Err(SendError::TooLong { len, max: self.config.max_pdu_len });
        }
        Ok(has_response)
    }

    /// Writes a checked request under a new number; one with a response must then be
    /// [`remember`](Self::remember)ed under that number.
    fn send_checked(&mut self, now: Instant, body: &Body, has_response: bool) -> SequenceNumber {
        if has_response {
            self.window.make_room();
        }
        let seq = self.window.allocate();
        let start = self.tx.len();
        Pdu::encode_parts(seq, CommandStatus::ESME_ROK, body, &mut self.tx);
        self.after_write(now, start);
        if has_response {
            self.unsent.push((seq, start, self.tx.len()));
        }
        seq
    }

    /// Changes the window (our requests awaiting responses) of a running session, for
    /// limits known only once the peer is identified (an SMSC's per-account window).
    /// Requests already outstanding stay; a smaller window takes effect as they end.
    pub fn set_window(&mut self, window: usize) {
        self.config.window(window);
        self.window.set_capacity(window);
    }

    /// Changes the receive window (the peer's requests the application may leave
    /// unanswered at once) of a running session; past it, the peer's requests are
    /// answered `ESME_RTHROTTLED` (see [`SessionConfig::receive_window`]).
    pub fn set_receive_window(&mut self, window: usize) {
        self.config.receive_window(window);
    }

    /// Whether [`send`](Self::send) can take a request now: bound, and no unbind
    /// under way. (It may still refuse one for its kind, its TLVs or a full window.)
    pub fn can_send(&self) -> bool {
        self.check_can_send().is_ok()
    }

    /// Answers the peer's request `seq` with `status` and `response`, which must be the
    /// response PDU of that request (for an error status, usually the header-only
    /// body, e.g. `Body::SubmitSmResp(None)`).
    pub fn respond(
        &mut self,
        now: Instant,
        seq: SequenceNumber,
        status: CommandStatus,
        response: Body,
    ) -> Result<(), SendError> {
        if self.state == SessionState::Closed {
            return Err(SendError::Closed);
        }
        let Some(&(request, _)) = self.inbound.get(&seq.value()) else {
            return Err(SendError::UnknownSequence(seq));
        };
        if response.command_id() != request.response() {
            return Err(SendError::ResponseMismatch { request, got: response.command_id() });
        }
        if let Some(tlvs) = response_tlvs(&response) {
            self.check_tlvs(tlvs)?;
        }
        self.forget_inbound(seq);
        self.write_pdu(now, Pdu::with_status(seq, status, response));
        Ok(())
    }

    /// SMSC role: accepts the bind `seq` ([`Event::BindRequest`]), answering with our
    /// `system_id`. The bind response carries `sc_interface_version` only when the ESME
    /// asked for 0x34 or more.
    pub fn accept_bind(&mut self, now: Instant, seq: SequenceNumber, system_id: &str) -> Result<(), SendError> {
        let (mode, asked) = self.take_pending_bind(seq)?;
        let mut resp = BindResp::default();
        resp.system_id = COctetString::new(system_id).unwrap_or_default();
        if asked >= InterfaceVersion::V34 {
            resp.tlvs.push(Tlv::ScInterfaceVersion(self.config.interface_version));
        }
        let version = effective_version(asked).min(effective_version(self.config.interface_version));
        self.write_pdu(now, Pdu::new(seq, bind_resp_body(mode, Some(resp))));
        self.bound(now, mode, version);
        Ok(())
    }

    /// SMSC role: refuses the bind `seq` with an error `status` (e.g. `ESME_RINVPASWD`),
    /// then closes the session.
    pub fn reject_bind(&mut self, now: Instant, seq: SequenceNumber, status: CommandStatus) -> Result<(), SendError> {
        let (mode, _) = self.take_pending_bind(seq)?;
        let status = if status.is_ok() { CommandStatus::ESME_RBINDFAIL } else { status };
        self.write_pdu(now, Pdu::with_status(seq, status, bind_resp_body(mode, None)));
        self.close_with(CloseReason::BindRejected(status));
        Ok(())
    }

    /// Starts a graceful unbind: new requests are refused, outstanding ones keep their
    /// responses, and unbind goes out once they are all answered (or after the unbind
    /// grace period). The session closes on unbind_resp or after the grace period.
    ///
    /// Until the unbind PDU is actually queued, the session stays bound for the
    /// peer: its requests (receipts, MO) are handled as before, not refused.
    pub fn unbind(&mut self, now: Instant) -> Result<(), SendError> {
        match self.state {
            SessionState::Closed => return Err(SendError::Closed),
            SessionState::Unbound => return Err(SendError::Unbinding),
            SessionState::Bound(_) if self.unbind_requested => return Err(SendError::Unbinding),
            SessionState::Bound(_) => {}
            _ => return Err(SendError::NotBound),
        }
        self.unbind_requested = true;
        self.disarm(TimerKind::EnquireLink);
        self.arm(TimerKind::UnbindGrace, now, Some(self.config.unbind_grace));
        if self.window.in_flight() == 0 {
            self.send_unbind(now);
        }
        Ok(())
    }

    /// Closes at once: outstanding requests fail with [`CloseReason::Local`]. Output
    /// already queued is still returned by [`poll_transmit`](Self::poll_transmit).
    pub fn close(&mut self, _now: Instant) {
        self.close_with(CloseReason::Local);
    }

    // ---- (D) outputs --------------------------------------------------------------

    /// All pending output as one buffer, or `None`. Call until `None` after every
    /// input or command.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        if self.tx.is_empty() {
            return None;
        }
        self.unsent.clear();
        Some(Transmit { bytes: self.tx.split().freeze() })
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next be called. The value
    /// may change after any input or command.
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        self.next_timer().map(|(t, _)| t)
    }

    /// The next event, or `None`.
    pub fn poll_event(&mut self) -> Option<Event<T>> {
        self.events.pop_front()
    }

    // ---- (A) getters --------------------------------------------------------------

    /// The current state.
    pub fn state(&self) -> SessionState {
        self.state
    }

    /// The role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The negotiated version, once bound: TLVs are sent only if it is 0x34 or more.
    pub fn interface_version(&self) -> Option<InterfaceVersion> {
        self.version
    }

    /// Our requests awaiting responses (session-run ones excluded).
    pub fn in_flight(&self) -> usize {
        self.window.in_flight()
    }

    /// Octets of input held until a whole PDU arrives (always less than one PDU).
    pub fn buffered_input(&self) -> usize {
        self.rx.len()
    }

    /// Events waiting for [`poll_event`](Self::poll_event).
    pub fn pending_events(&self) -> usize {
        self.events.len()
    }

    /// Requests that can be sent before the window is full.
    pub fn window_room(&self) -> usize {
        self.window.room()
    }

    /// Inbound requests awaiting the application's response.
    pub fn awaiting_response(&self) -> usize {
        self.inbound_count
    }

    /// Whether output is waiting for [`poll_transmit`](Self::poll_transmit).
    pub fn has_output(&self) -> bool {
        !self.tx.is_empty()
    }

    /// Octets of output waiting for [`poll_transmit`](Self::poll_transmit).
    pub fn output_len(&self) -> usize {
        self.tx.len()
    }

    /// Whether the session is closed and all its output has been taken: the driver
    /// can hang up.
    pub fn is_drained(&self) -> bool {
        self.state == SessionState::Closed && self.tx.is_empty()
    }

    /// What the session has done so far.
    pub fn stats(&self) -> SessionStats {
        let mut stats = self.stats;
        stats.pdus_in = self.wire.total(Direction::In);
        stats.pdus_out = self.wire.total(Direction::Out);
        stats
    }

    /// PDUs read and queued by command, and responses by command_status.
    pub fn wire_counts(&self) -> &WireCounts {
        &self.wire
    }

    /// Takes the response times of the application's requests answered since the
    /// last call: the request's command and the time from queuing it to reading its
    /// response, oldest first. At most 1,024 (or the window, if larger) wait to be
    /// taken; later ones are not kept until they are (the tokio driver takes them
    /// every turn, for metrics).
    pub fn take_latencies(&mut self) -> std::vec::Drain<'_, (CommandId, std::time::Duration)> {
        self.latencies.drain(..)
    }

    /// The next deadline and what it is for (a debugging aid).
    pub fn next_timer(&mut self) -> Option<(Instant, TimerKind)> {
        if self.state == SessionState::Closed {
            return None;
        }
        let mut best: Option<(Instant, TimerKind)> = None;
        for (slot, kind) in self.timers.iter().zip(TIMERS) {
            if let Some(t) = slot
                && best.is_none_or(|(b, _)| *t < b)
            {
                best = Some((*t, kind));
            }
        }
        if let Some(t) = self.window.next_deadline()
            && best.is_none_or(|(b, _)| t < b)
        {
            best = Some((t, TimerKind::Response));
        }
        best
    }

    // ---- internals ----------------------------------------------------------------

    fn arm(&mut self, kind: TimerKind, now: Instant, after: Option<std::time::Duration>) {
        if let Some(slot) = self.timers.get_mut(timer_index(kind)) {
            *slot = after.map(|d| now + d);
        }
    }

    fn disarm(&mut self, kind: TimerKind) {
        if let Some(slot) = self.timers.get_mut(timer_index(kind)) {
            *slot = None;
        }
    }

    /// Whether `kind` is due; a due timer is disarmed.
    fn due(&mut self, kind: TimerKind, now: Instant) -> bool {
        match self.timers.get_mut(timer_index(kind)) {
            Some(slot) if slot.is_some_and(|t| t <= now) => {
                *slot = None;
                true
            }
            _ => false,
        }
    }

    fn push_event(&mut self, event: Event<T>) {
        self.events.push_back(event);
    }

    fn write_pdu(&mut self, now: Instant, pdu: Pdu) {
        let start = self.tx.len();
        pdu.encode(&mut self.tx);
        self.after_write(now, start);
    }

    /// Bookkeeping after a PDU was queued at `start` in the output.
    fn after_write(&mut self, now: Instant, start: usize) {
        let written = self.tx.get(start..).unwrap_or_default();
        if let Some(header) = Header::parse(written) {
            self.wire.record(Direction::Out, &header);
            wire::trace(Direction::Out, &header, written);
        }
        // Outbound traffic resets the idle clock that triggers enquire_link.
        if matches!(self.state, SessionState::Bound(_))
            && self.timers.get(timer_index(TimerKind::EnquireLink)).is_some_and(Option::is_some)
        {
            self.arm(TimerKind::EnquireLink, now, self.config.enquire_link_interval);
        }
    }

    fn check_can_send(&self) -> Result<BindMode, SendError> {
        match self.state {
            SessionState::Bound(_) if self.unbind_requested => Err(SendError::Unbinding),
            SessionState::Bound(mode) => Ok(mode),
            SessionState::Closed => Err(SendError::Closed),
            SessionState::Unbound => Err(SendError::Unbinding),
            _ => Err(SendError::NotBound),
        }
    }

    /// TLVs are sent only to peers that negotiated a version that has them.
    fn check_tlvs(&self, tlvs: &Tlvs) -> Result<(), SendError> {
        let version = self.version.unwrap_or(InterfaceVersion::V33);
        match tlvs.iter().find(|t| version < InterfaceVersion::V34 || t.tag().since() > version) {
            Some(t) => Err(SendError::TlvNotNegotiated { tag: t.tag(), version }),
            None => Ok(()),
        }
    }

    fn send_bind(&mut self, now: Instant, mode: BindMode) {
        let Some(bind) = &self.bind else { return };
        let body = bind.to_body(mode, self.config.interface_version);
        let seq = self.window.insert(mode.command_id(), now, None, None);
        self.bind_mode = Some(mode);
        self.write_pdu(now, Pdu::new(seq, body));
        self.arm(TimerKind::Bind, now, self.config.bind_timeout);
        self.arm(TimerKind::Inactivity, now, self.config.inactivity_timeout);
    }

    fn send_unbind(&mut self, now: Instant) {
        self.state = SessionState::Unbound;
        let seq = self.window.insert(CommandId::UNBIND, now, None, None);
        self.unbind_seq = Some(seq);
        self.write_pdu(now, Pdu::new(seq, Body::Unbind));
    }

    fn bound(&mut self, now: Instant, mode: BindMode, version: InterfaceVersion) {
        tracing::debug!(role = ?self.role, ?mode, ?version, "bound");
        self.state = SessionState::Bound(mode);
        self.version = Some(version);
        self.disarm(TimerKind::Bind);
        self.arm(TimerKind::EnquireLink, now, self.config.enquire_link_interval);
        self.push_event(Event::Bound { mode, version });
    }

    fn take_pending_bind(&mut self, seq: SequenceNumber) -> Result<(BindMode, InterfaceVersion), SendError> {
        if self.state == SessionState::Closed {
            return Err(SendError::Closed);
        }
        match self.pending_bind {
            Some((s, mode, version)) if s == seq => {
                self.pending_bind = None;
                Ok((mode, version))
            }
            _ => Err(SendError::UnknownSequence(seq)),
        }
    }

    fn forget_inbound(&mut self, seq: SequenceNumber) {
        if let Some(entry) = self.inbound.get_mut(&seq.value()) {
            entry.1 -= 1;
            if entry.1 == 0 {
                self.inbound.remove(&seq.value());
            }
            self.inbound_count -= 1;
        }
    }

    /// After one of our requests completes: reopen the window, and finish a pending
    /// unbind once nothing is outstanding.
    fn after_completion(&mut self, now: Instant) {
        if self.window_blocked && !self.window.is_full() {
            self.window_blocked = false;
            self.push_event(Event::WindowOpen);
        }
        if self.unbind_requested && self.unbind_seq.is_none() && self.window.in_flight() == 0 {
            self.send_unbind(now);
            self.arm(TimerKind::UnbindGrace, now, Some(self.config.unbind_grace));
        }
    }

    fn close_with(&mut self, reason: CloseReason) {
        if self.state == SessionState::Closed {
            return;
        }
        tracing::debug!(role = ?self.role, %reason, in_flight = self.window.in_flight(), "closed");
        self.state = SessionState::Closed;
        self.timers = [None; 5];
        self.rx = BytesMut::new();
        let unsent = self.withdraw_unsent();
        for p in self.window.drain() {
            if let Some(token) = p.token {
                let sent = !unsent.contains(&p.seq);
                self.push_event(Event::RequestFailed { seq: p.seq, request: p.command_id, reason, sent, token });
            }
        }
        self.inbound.clear();
        self.inbound_count = 0;
        self.push_event(Event::Closed { reason });
    }

    /// Takes our requests that were never handed out back out of the output, so that
    /// what is reported never sent is never written; returns their numbers.
    fn withdraw_unsent(&mut self) -> Vec<SequenceNumber> {
        if self.unsent.is_empty() {
            return Vec::new();
        }
        let ranges = std::mem::take(&mut self.unsent);
        let old = self.tx.split();
        let mut pos = 0;
        for &(_, start, end) in &ranges {
            self.tx.extend_from_slice(old.get(pos..start).unwrap_or_default());
            pos = end;
        }
        self.tx.extend_from_slice(old.get(pos..).unwrap_or_default());
        ranges.into_iter().map(|(seq, _, _)| seq).collect()
    }

    fn on_frame(&mut self, now: Instant, frame: Bytes) {
        self.arm(TimerKind::Inactivity, now, self.config.inactivity_timeout);
        if matches!(self.state, SessionState::Bound(_))
            && !self.unbind_requested
            && self.config.enquire_link_interval.is_some()
        {
            self.arm(TimerKind::EnquireLink, now, self.config.enquire_link_interval);
        }
        let header = Header::parse(&frame);
        if let Some(h) = &header {
            self.wire.record(Direction::In, h);
            wire::trace(Direction::In, h, &frame);
        }
        // Responses are read leniently on both sides (the header's status is what
        // counts), and so are an ESME's inbound requests (a receipt with one bad TLV is
        // still a receipt). An SMSC refuses a malformed request, which is not accepted.
        let lenient = self.role == Role::Esme || header.is_some_and(|h| h.command_id.is_response());
        let decoded = if lenient { Pdu::decode_lenient(frame) } else { Pdu::decode(frame).map(|p| (p, None)) };
        match decoded {
            Ok((pdu, salvaged)) => {
                if pdu.command_id().is_response() {
                    if let Some(s) = &salvaged {
                        tracing::debug!(command_id = %pdu.command_id(), status = %pdu.status, error = %s.error, "response read leniently");
                    }
                    self.on_response(now, pdu);
                } else {
                    if let Some(s) = &salvaged {
                        tracing::debug!(command_id = %pdu.command_id(), error = %s.error, raw_tlvs = ?s.raw_tlvs, "request read leniently");
                    }
                    self.on_request(now, pdu, salvaged);
                }
            }
            Err(error) => {
                let Some(h) = header else { return };
                tracing::debug!(command_id = ?h.command_id, %error, "malformed pdu");
                self.on_malformed(now, h, error);
            }
        }
    }

    fn on_malformed(&mut self, now: Instant, h: Header, error: DecodeError) {
        let seq = h.sequence_number;
        if h.command_id.is_response() {
            // Responses are decoded leniently, so only an unknown command_id gets here:
            // it answers none of our requests. Reported and dropped.
            let late = self.window.timed_out_recently(seq);
            self.push_event(Event::UnexpectedResponse {
                seq,
                command_id: h.command_id,
                status: h.command_status,
                late,
            });
            return;
        }
        if let DecodeError::UnknownCommand { .. } = error {
            self.write_pdu(now, Pdu::with_status(seq, CommandStatus::ESME_RINVCMDID, Body::GenericNack));
            return;
        }
        // A known request with a bad body: its own response with the error's status,
        // or generic_nack when it has no response (alert_notification, outbind).
        let status = error.command_status();
        let body = Body::empty_response_for(h.command_id).unwrap_or(Body::GenericNack);
        self.write_pdu(now, Pdu::with_status(seq, status, body));
    }

    fn on_response(&mut self, now: Instant, pdu: Pdu) {
        let Pdu { status, sequence: seq, body, .. } = pdu;
        let id = body.command_id();
        // A generic_nack says the request was not processed, whatever its status.
        let status = if id == CommandId::GENERIC_NACK && status.is_ok() {
            tracing::debug!(?seq, "generic_nack with status 0: taken as ESME_RUNKNOWNERR");
            CommandStatus::ESME_RUNKNOWNERR
        } else {
            status
        };
        let Some(p) = self.window.take(seq) else {
            let late = self.window.timed_out_recently(seq);
            self.push_event(Event::UnexpectedResponse { seq, command_id: id, status, late });
            return;
        };
        if id != p.command_id.response() && id != CommandId::GENERIC_NACK {
            // A response of the wrong kind: put the request back and report the stray.
            tracing::debug!(?seq, got = %id, request = %p.command_id, "response does not answer its request: dropped");
            self.window.restore(p);
            self.push_event(Event::UnexpectedResponse { seq, command_id: id, status, late: false });
            return;
        }
        if let Some(mode) = BindMode::from_command_id(p.command_id) {
            self.on_bind_response(now, mode, status, &body);
            return;
        }
        if Some(seq) == self.keepalive {
            self.keepalive = None;
            self.stats.enquire_links_answered += u64::from(status.is_ok());
            self.disarm(TimerKind::EnquireLinkResponse);
            return;
        }
        if Some(seq) == self.unbind_seq {
            self.close_with(CloseReason::Unbound { initiator: Initiator::Local });
            return;
        }
        if let Some(token) = p.token {
            if self.latencies.len() < MAX_LATENCIES.max(self.window.capacity()) {
                self.latencies.push((p.command_id, now.saturating_duration_since(p.sent)));
            }
            self.push_event(Event::Response { seq, request: p.command_id, status, response: body, token });
        }
        self.after_completion(now);
    }

    fn on_bind_response(&mut self, now: Instant, mode: BindMode, status: CommandStatus, body: &Body) {
        if status.is_error() {
            self.close_with(CloseReason::BindRejected(status));
            return;
        }
        let requested = effective_version(self.config.interface_version);
        let offered = match body {
            Body::BindReceiverResp(Some(r))
            | Body::BindTransmitterResp(Some(r))
            | Body::BindTransceiverResp(Some(r)) => r.tlvs.sc_interface_version(),
            _ => None,
        };
        let version = match offered {
            Some(v) => requested.min(effective_version(v)),
            None => match self.config.missing_sc_version {
                MissingScVersion::AssumeV33 => InterfaceVersion::V33,
                MissingScVersion::AssumeRequested => requested,
            },
        };
        self.bound(now, mode, version);
    }

    fn on_request(&mut self, now: Instant, pdu: Pdu, salvaged: Option<Box<smpp_wire::Salvaged>>) {
        let Pdu { sequence: seq, body, .. } = pdu;
        let id = body.command_id();
        match body {
            Body::EnquireLink => {
                self.stats.enquire_links_received += 1;
                self.write_pdu(now, Pdu::new(seq, Body::EnquireLinkResp));
            }
            Body::Unbind => self.on_unbind(now, seq),
            Body::BindTransmitter(bind) | Body::BindReceiver(bind) | Body::BindTransceiver(bind) => {
                self.on_bind(now, seq, id, bind);
            }
            Body::Outbind(outbind) => self.on_outbind(now, outbind),
            body => match Request::from_body(body) {
                Some(request) => self.on_app_request(now, seq, request, salvaged),
                // Requests of other versions (v3.3-only query PDUs): not supported here.
                None => self.write_pdu(now, Pdu::with_status(seq, CommandStatus::ESME_RINVCMDID, Body::GenericNack)),
            },
        }
    }

    fn on_unbind(&mut self, now: Instant, seq: SequenceNumber) {
        match self.state {
            SessionState::Bound(_) | SessionState::Unbound => {
                self.write_pdu(now, Pdu::new(seq, Body::UnbindResp));
                let initiator = if self.unbind_requested { Initiator::Local } else { Initiator::Remote };
                self.close_with(CloseReason::Unbound { initiator });
            }
            _ => self.write_pdu(now, Pdu::with_status(seq, CommandStatus::ESME_RINVBNDSTS, Body::UnbindResp)),
        }
    }

    fn on_bind(&mut self, now: Instant, seq: SequenceNumber, id: CommandId, bind: Bind) {
        let refuse = |s: &mut Self, status| {
            let body = Body::empty_response_for(id).unwrap_or(Body::GenericNack);
            s.write_pdu(now, Pdu::with_status(seq, status, body));
        };
        let Some(mode) = BindMode::from_command_id(id) else { return };
        match (self.role, self.state) {
            (Role::Smsc, SessionState::Bound(_)) => refuse(self, CommandStatus::ESME_RALYBND),
            (Role::Smsc, SessionState::Open | SessionState::Outbound) if self.pending_bind.is_none() => {
                // The password is redacted by its Debug; addresses only at trace level.
                tracing::debug!(system_id = %bind.system_id, ?mode, version = ?bind.interface_version, "bind request");
                self.pending_bind = Some((seq, mode, bind.interface_version));
                self.push_event(Event::BindRequest { seq, mode, bind });
            }
            _ => refuse(self, CommandStatus::ESME_RINVBNDSTS),
        }
    }

    fn on_outbind(&mut self, now: Instant, outbind: Outbind) {
        // Only an ESME waiting for outbind answers it; elsewhere it is dropped (it has
        // no response PDU).
        if self.role == Role::Esme
            && self.state == SessionState::Open
            && self.bind_mode.is_none()
            && self.bind.is_some()
        {
            self.state = SessionState::Outbound;
            self.push_event(Event::Outbind { system_id: outbind.system_id });
            self.send_bind(now, BindMode::Receiver);
        }
    }

    fn on_app_request(
        &mut self,
        now: Instant,
        seq: SequenceNumber,
        request: Request,
        salvaged: Option<Box<smpp_wire::Salvaged>>,
    ) {
        let id = request.command_id();
        let peer = match self.role {
            Role::Esme => Role::Smsc,
            Role::Smsc => Role::Esme,
        };
        let ok = match self.state {
            SessionState::Bound(mode) => allowed(id, peer, mode),
            _ => false,
        };
        let has_response = id.has_response();
        if !ok {
            if has_response {
                let body = Body::empty_response_for(id).unwrap_or(Body::GenericNack);
                self.write_pdu(now, Pdu::with_status(seq, CommandStatus::ESME_RINVBNDSTS, body));
            }
            return;
        }
        if has_response {
            if self.inbound_count >= self.config.receive_window {
                let body = Body::empty_response_for(id).unwrap_or(Body::GenericNack);
                self.write_pdu(now, Pdu::with_status(seq, CommandStatus::ESME_RTHROTTLED, body));
                return;
            }
            let entry = self.inbound.entry(seq.value()).or_insert((id, 0));
            entry.1 += 1;
            self.inbound_count += 1;
        }
        self.push_event(Event::Request { seq, request, salvaged });
    }
}

/// The bind response body for a bind mode.
fn bind_resp_body(mode: BindMode, resp: Option<BindResp>) -> Body {
    match mode {
        BindMode::Transmitter => Body::BindTransmitterResp(resp),
        BindMode::Receiver => Body::BindReceiverResp(resp),
        BindMode::Transceiver => Body::BindTransceiverResp(resp),
    }
}

/// The TLVs of a response body, where it has any.
fn response_tlvs(body: &Body) -> Option<&Tlvs> {
    match body {
        Body::SubmitSmResp(Some(r))
        | Body::DeliverSmResp(Some(r))
        | Body::DataSmResp(Some(r))
        | Body::BroadcastSmResp(Some(r))
        | Body::QueryBroadcastSmResp(Some(r)) => Some(&r.tlvs),
        Body::SubmitMultiResp(Some(r)) => Some(&r.tlvs),
        Body::QuerySmResp(Some(r)) => Some(&r.tlvs),
        _ => None,
    }
}
