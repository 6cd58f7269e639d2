//! What the session reports ([`Event`]), why it ended ([`CloseReason`]) and how a
//! command can be refused ([`SendError`]).

use smpp_wire::{Bind, Body, CommandId, CommandStatus, FrameError, InterfaceVersion, SequenceNumber, TlvTag};

use crate::request::Request;
use crate::state::BindMode;

/// Something the application should know. Drain with
/// [`Session::poll_event`](crate::Session::poll_event).
///
/// `T` is the application's token for each of its requests (see
/// [`Session::send_with`](crate::Session::send_with)): it comes back in the one event
/// that ends the request ([`Response`](Self::Response),
/// [`ResponseTimeout`](Self::ResponseTimeout) or
/// [`RequestFailed`](Self::RequestFailed)), so the application needs no map of its
/// own from sequence numbers to waiting callers.
#[non_exhaustive]
#[derive(Debug)]
pub enum Event<T = ()> {
    /// The session is bound.
    Bound {
        /// The bind mode.
        mode: BindMode,
        /// The negotiated version: TLVs may be sent only if it is 0x34 or more.
        version: InterfaceVersion,
    },
    /// SMSC role: an ESME asks to bind. Answer with
    /// [`accept_bind`](crate::Session::accept_bind) or
    /// [`reject_bind`](crate::Session::reject_bind).
    BindRequest {
        /// The sequence number to answer.
        seq: SequenceNumber,
        /// Transmitter, receiver or transceiver.
        mode: BindMode,
        /// The credentials, version and address range.
        bind: Bind,
    },
    /// ESME role: the SMSC sent an outbind; the session answers it by binding as receiver.
    Outbind {
        /// The SMSC's system_id.
        system_id: smpp_wire::COctetString<16>,
    },
    /// The peer sent a request. Answer it with [`respond`](crate::Session::respond),
    /// unless it has no response (alert_notification).
    Request {
        /// The sequence number to answer.
        seq: SequenceNumber,
        /// The request.
        request: Request,
        /// Set when the request was read leniently (ESME role): a known TLV whose
        /// value did not decode is kept raw as `Tlv::Unknown`, and this says which, so
        /// a receipt with one bad TLV is still delivered. `None` for a clean request.
        salvaged: Option<Box<smpp_wire::Salvaged>>,
    },
    /// A response to one of our requests (generic_nack included).
    ///
    /// The header's `command_status` is authoritative: a status-0 response whose body
    /// does not decode cleanly is reported here with what could be read (see
    /// `Pdu::decode_lenient`), and logged at debug. A generic_nack never means
    /// success: one with status 0 is reported with `ESME_RUNKNOWNERR`.
    Response {
        /// The sequence number of our request.
        seq: SequenceNumber,
        /// The request's command_id.
        request: CommandId,
        /// The response status.
        status: CommandStatus,
        /// The response body.
        response: Body,
        /// The token the request was sent with.
        token: T,
    },
    /// No response came within the response timeout. The request is complete.
    ResponseTimeout {
        /// The sequence number of our request.
        seq: SequenceNumber,
        /// The request's command_id.
        request: CommandId,
        /// The token the request was sent with.
        token: T,
    },
    /// A response matching no outstanding request: late (its request timed out),
    /// unknown, or of a kind that does not answer the request with its sequence
    /// number (which stays outstanding). Reported, then dropped.
    UnexpectedResponse {
        /// Its sequence number.
        seq: SequenceNumber,
        /// Its command_id.
        command_id: CommandId,
        /// Its status.
        status: CommandStatus,
        /// Whether a request with this number timed out recently.
        late: bool,
    },
    /// Room opened in the window after a [`SendError::WindowFull`].
    WindowOpen,
    /// The session could not complete one of our requests before it closed.
    RequestFailed {
        /// The sequence number of our request.
        seq: SequenceNumber,
        /// The request's command_id.
        request: CommandId,
        /// Why the session closed.
        reason: CloseReason,
        /// Whether the request's octets were handed out by
        /// [`poll_transmit`](crate::Session::poll_transmit). `false`: the request never
        /// left this session (its octets were withdrawn from the output), so the peer
        /// cannot have it and it is safe to send again. `true`: it may have reached the
        /// peer, and its outcome is unknown.
        sent: bool,
        /// The token the request was sent with.
        token: T,
    },
    /// The session is closed. Always the last event, emitted exactly once.
    Closed {
        /// Why.
        reason: CloseReason,
    },
}

/// Who started an unbind.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Initiator {
    /// This side.
    Local,
    /// The peer.
    Remote,
}

/// Why a session closed.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Eq, PartialEq, thiserror::Error)]
pub enum CloseReason {
    /// Unbound by one side.
    #[error("unbound ({initiator:?})")]
    Unbound {
        /// Who asked.
        initiator: Initiator,
    },
    /// The peer closed the connection.
    #[error("the peer closed the connection")]
    PeerClosed,
    /// Reading or writing the connection failed (the driver saw an I/O error).
    #[error("I/O error on the connection")]
    IoError,
    /// The peer stopped reading: no output could be written for the driver's write
    /// timeout.
    #[error("the peer stopped reading: no write progress")]
    WriteStalled,
    /// The bind was refused.
    #[error("bind refused: {0}")]
    BindRejected(CommandStatus),
    /// No bind (SMSC) or no bind response (ESME) in time.
    #[error("no bind in time")]
    BindTimeout,
    /// An enquire_link went unanswered.
    #[error("enquire_link unanswered: the link is dead")]
    EnquireLinkTimeout,
    /// Nothing came from the peer for the inactivity timeout.
    #[error("inactivity timeout")]
    InactivityTimeout,
    /// The byte stream broke framing.
    #[error("framing error: {0}")]
    Framing(FrameError),
    /// Closed locally with [`Session::close`](crate::Session::close).
    #[error("closed locally")]
    Local,
}

/// Why a command was refused. Nothing was put on the wire.
#[non_exhaustive]
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
pub enum SendError {
    /// The session is not bound yet.
    #[error("not bound")]
    NotBound,
    /// This PDU may not be sent in this bind mode (e.g. submit_sm on a receiver).
    #[error("{command_id} may not be sent when bound as {mode:?}")]
    WrongBindMode {
        /// The mode.
        mode: BindMode,
        /// The refused PDU.
        command_id: CommandId,
    },
    /// This side never sends this PDU (e.g. deliver_sm from an ESME).
    #[error("{command_id} is not sent by this role")]
    WrongRole {
        /// The refused PDU.
        command_id: CommandId,
    },
    /// The body given to [`Session::send_body`](crate::Session::send_body) is not one of
    /// the application's requests (a response, or a PDU the session runs itself).
    #[error("{command_id} is not an application request")]
    NotARequest {
        /// The body's command_id.
        command_id: CommandId,
    },
    /// The window of outstanding requests is full; wait for [`Event::WindowOpen`].
    #[error("window full")]
    WindowFull,
    /// No inbound request with this sequence number awaits a response.
    #[error("no request {0:?} awaits a response")]
    UnknownSequence(SequenceNumber),
    /// The response does not answer the request it names.
    #[error("{got} does not answer {request}")]
    ResponseMismatch {
        /// The request's id.
        request: CommandId,
        /// The response given.
        got: CommandId,
    },
    /// A TLV the negotiated version does not allow.
    #[error("TLV {tag:?} not allowed with SMPP version {version:?}")]
    TlvNotNegotiated {
        /// The tag.
        tag: TlvTag,
        /// The negotiated version.
        version: InterfaceVersion,
    },
    /// A PDU the negotiated version does not have (data_sm on v3.3, ...).
    #[error("{command_id} does not exist in SMPP version {version:?}")]
    NotInVersion {
        /// The refused PDU.
        command_id: CommandId,
        /// The version.
        version: InterfaceVersion,
    },
    /// The PDU would be longer than the configured maximum.
    #[error("PDU of {len} octets is above the maximum of {max}")]
    TooLong {
        /// Its length.
        len: usize,
        /// The maximum.
        max: usize,
    },
    /// An unbind is under way; no new requests.
    #[error("unbinding")]
    Unbinding,
    /// The session is closed.
    #[error("closed")]
    Closed,
}
