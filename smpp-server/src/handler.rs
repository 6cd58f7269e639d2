//! The application's side of an SMSC: [`SmscHandler`], what it is told about a bind
//! and a session, and how it answers ([`Reply`], [`Defer`], [`Responder`]).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use smpp_session::{BindMode, CloseReason, Request};
use smpp_wire::{
    Bind, Body, COctetString, CommandStatus, InterfaceVersion, SequenceNumber, SubmitMultiResp, SubmitSmResp,
};
use tokio::sync::mpsc;

use crate::connection::SessionCommand;

/// A bind as the handler sees it when deciding it.
#[non_exhaustive]
#[derive(Clone, Debug)]
pub struct BindInfo {
    /// The peer's address (as given to [`Server::serve`](crate::Server::serve) for
    /// streams the server did not accept itself).
    pub peer: SocketAddr,
    /// Transmitter, receiver or transceiver.
    pub mode: BindMode,
    /// The bind PDU: system_id, password, system_type, interface_version,
    /// address_range. Its `Debug` does not show the password.
    pub bind: Bind,
}

impl BindInfo {
    /// The system_id, as text.
    pub fn system_id(&self) -> String {
        String::from_utf8_lossy(self.bind.system_id.as_bytes()).into_owned()
    }

    /// The system_type, as text.
    pub fn system_type(&self) -> String {
        String::from_utf8_lossy(self.bind.system_type.as_bytes()).into_owned()
    }

    /// Whether the password is `expected` (compared in constant time).
    pub fn password_is(&self, expected: &str) -> bool {
        let (a, b) = (self.bind.password.expose(), expected.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

/// Limits for one account's sessions, decided at bind time. `None` fields take the
/// server's defaults ([`ServerConfig`](crate::ServerConfig)).
///
/// ```
/// use smpp_server::Limits;
/// let limits = Limits::default().window(50).throttle(100).max_binds(2);
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(default, deny_unknown_fields))]
pub struct Limits {
    /// How many pushes (deliver_sm, data_sm) may await the ESME's answer at once.
    pub window: Option<usize>,
    /// How many of the ESME's requests may await our answer at once (past it,
    /// `ESME_RTHROTTLED`); at most the server's own receive window.
    pub receive_window: Option<usize>,
    /// Requests per second the account may send, over all its binds; past it,
    /// `ESME_RTHROTTLED` (token bucket, bursts of one second's worth). One bucket per
    /// account, kept while the server runs (reconnecting does not refill it); the
    /// rate of the latest grant applies.
    pub throttle: Option<u32>,
    /// Binds the account may hold at once; past it, `ESME_RBINDFAIL`.
    pub max_binds: Option<usize>,
}

impl Limits {
    /// Sets [`window`](Self::window).
    pub fn window(mut self, window: usize) -> Self {
        self.window = Some(window);
        self
    }

    /// Sets [`receive_window`](Self::receive_window).
    pub fn receive_window(mut self, window: usize) -> Self {
        self.receive_window = Some(window);
        self
    }

    /// Sets [`throttle`](Self::throttle).
    pub fn throttle(mut self, per_second: u32) -> Self {
        self.throttle = Some(per_second);
        self
    }

    /// Sets [`max_binds`](Self::max_binds).
    pub fn max_binds(mut self, binds: usize) -> Self {
        self.max_binds = Some(binds);
        self
    }
}

/// A bind the handler accepted: the account's own data, which every later callback
/// of the session sees, and its limits.
#[non_exhaustive]
#[derive(Debug)]
pub struct Grant<A> {
    /// The application's data for the account (a database row, a tenant id, ...).
    pub account: A,
    /// The account's limits.
    pub limits: Limits,
}

impl<A> Grant<A> {
    /// A grant with the server's default limits.
    pub fn new(account: A) -> Self {
        Self { account, limits: Limits::default() }
    }

    /// The same grant with these limits.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }
}

/// What an SMSC knows about a bound session.
#[non_exhaustive]
#[derive(Clone, Debug)]
pub struct SessionInfo {
    /// A number unique within this server.
    pub id: u64,
    /// The peer's address.
    pub peer: SocketAddr,
    /// The account.
    pub system_id: String,
    /// The system_type the ESME bound with.
    pub system_type: String,
    /// The bind mode.
    pub mode: BindMode,
    /// The version the ESME asked for (`interface_version`).
    pub requested_version: InterfaceVersion,
    /// The negotiated version: TLVs go to this session only if it is 0x34 or more.
    pub version: InterfaceVersion,
    /// When it bound.
    pub bound_at: SystemTime,
}

impl SessionInfo {
    /// Whether TLVs may be sent to this session.
    pub fn tlvs_allowed(&self) -> bool {
        self.version >= InterfaceVersion::V34
    }
}

/// A bound session as every callback after the bind sees it: what the server knows,
/// the account data the handler granted, and the limits in force.
#[non_exhaustive]
#[derive(Debug)]
pub struct BoundSession<A> {
    /// Identity, mode and version.
    pub info: SessionInfo,
    /// The account data [`SmscHandler::authenticate`] granted this bind (each bind
    /// has its own; share state between an account's binds through an `Arc` inside
    /// it).
    pub account: Arc<A>,
    /// The limits in force.
    pub limits: Limits,
}

impl<A> std::ops::Deref for BoundSession<A> {
    type Target = SessionInfo;

    fn deref(&self) -> &SessionInfo {
        &self.info
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

    /// `ESME_ROK` with this response body.
    pub fn ok(body: Body) -> Self {
        Self { status: CommandStatus::ESME_ROK, body }
    }

    /// `ESME_ROK` for a submit_sm, data_sm or submit_multi, carrying `message_id`
    /// (cut to the field's 64 octets); for any other request, its plain `ESME_ROK`
    /// response.
    ///
    /// ```
    /// use smpp_server::{Reply, smpp_session::Request, smpp_wire::{Body, SubmitSm}};
    /// let reply = Reply::accepted(&Request::SubmitSm(SubmitSm::default()), "0a1b2c3d");
    /// let Body::SubmitSmResp(Some(resp)) = reply.body else { panic!() };
    /// assert_eq!(resp.message_id.as_bytes(), b"0a1b2c3d");
    /// ```
    pub fn accepted(request: &Request, message_id: &str) -> Self {
        let id = message_id.get(..64).unwrap_or(message_id);
        let id = COctetString::new(id).unwrap_or_default();
        let body = match request {
            Request::SubmitSm(_) => {
                let mut r = SubmitSmResp::default();
                r.message_id = id;
                Body::SubmitSmResp(Some(r))
            }
            Request::DataSm(_) => {
                let mut r = SubmitSmResp::default();
                r.message_id = id;
                Body::DataSmResp(Some(r))
            }
            Request::SubmitMulti(_) => {
                let mut r = SubmitMultiResp::default();
                r.message_id = id;
                Body::SubmitMultiResp(Some(r))
            }
            other => {
                let ok = Body::empty_response_for(other.command_id());
                return Self::ok(ok.unwrap_or(Body::GenericNack));
            }
        };
        Self::ok(body)
    }
}

/// The right to answer a request later: [`responder`](Self::responder) makes a
/// [`Responder`] that can be moved to any task. Handlers that answer at once (by
/// returning `Some`) never pay for one.
#[derive(Debug)]
pub struct Defer<'a> {
    pub(crate) commands: &'a mpsc::Sender<SessionCommand>,
    pub(crate) seq: SequenceNumber,
    pub(crate) fallback: Option<Body>,
    pub(crate) taken: &'a std::cell::Cell<bool>,
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
        // Fails when the session has ended (its answer would go nowhere anyway), or,
        // rarely, when control commands have taken the room for a moment: the
        // responder then sends its answer through the queue when it is given.
        let permit = self.commands.clone().try_reserve_owned().ok();
        let commands = permit.is_none().then(|| self.commands.clone());
        Responder { permit, commands, seq: self.seq, fallback: self.fallback }
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
    /// The session's queue, when no room could be reserved.
    commands: Option<mpsc::Sender<SessionCommand>>,
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
        let command = SessionCommand::Respond(self.seq, Box::new(reply));
        if let Some(permit) = self.permit.take() {
            permit.send(command);
            return;
        }
        let Some(commands) = self.commands.take() else { return };
        match commands.try_send(command) {
            Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => {}
            // Full for a moment: wait for room on a task of its own (the session
            // drains its queue continually; if it ends first, the answer goes nowhere).
            Err(mpsc::error::TrySendError::Full(command)) => {
                if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                    runtime.spawn(async move {
                        let _ = commands.send(command).await;
                    });
                }
            }
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
///
/// `authenticate` is asynchronous (look the account up in a database or over HTTP);
/// what it grants ([`Grant`]) travels with the session to every later callback. The
/// other callbacks run on the session's task and must not block: answer at once, or
/// take a [`Responder`] and answer from another task.
pub trait SmscHandler: Send + Sync + 'static {
    /// The application's data for an authenticated account.
    type Account: Send + Sync + 'static;

    /// Decides a bind. `Err` is the status to refuse with (`ESME_RINVSYSID`,
    /// `ESME_RINVPASWD`, `ESME_RINVSYSTYP`, ...). The server then checks the
    /// account's bind limit atomically with registering the bind.
    ///
    /// The session's bind timeout (the session-init timer) keeps running while this
    /// runs: past it, the connection is closed.
    fn authenticate(&self, bind: &BindInfo)
    -> impl Future<Output = Result<Grant<Self::Account>, CommandStatus>> + Send;

    /// Answers a request from a bound ESME (submit_sm, submit_multi, data_sm, query_sm,
    /// cancel_sm, replace_sm, ...). Return `Some` to answer now, or take
    /// `defer.responder()`, return `None`, and answer through the responder later. A
    /// `None` without a responder is answered `ESME_RSYSERR`.
    ///
    /// Requests past the account's [`Limits::throttle`] never get here: the server
    /// answers them `ESME_RTHROTTLED`.
    fn on_request(&self, session: &BoundSession<Self::Account>, request: Request, defer: Defer<'_>) -> Option<Reply>;

    /// A long message submitted in parts (UDH or SAR) is complete. Each part was also
    /// passed to [`on_request`](Self::on_request) and answered there.
    fn on_long_message(&self, _session: &BoundSession<Self::Account>, _message: smpp_wire::text::Assembled) {}

    /// A long message's parts did not all arrive in time (or were evicted to bound
    /// memory).
    fn on_incomplete(&self, _session: &BoundSession<Self::Account>, _expired: smpp_wire::text::Expired) {}

    /// A session bound.
    fn on_bound(&self, _session: &BoundSession<Self::Account>) {}

    /// A bound session ended.
    fn on_closed(&self, _session: &BoundSession<Self::Account>, _reason: CloseReason) {}
}
