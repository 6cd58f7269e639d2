//! Errors: [`ClientError`] for connecting and binding, [`RequestError`] for requests.
//! This crate is the only one of the stack where `io::Error` appears.

use std::time::Duration;

use smpp_session::{CloseReason, SendError};
use smpp_wire::CommandStatus;

/// Why a connection or bind failed.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The TCP connection could not be made.
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        /// The address tried.
        addr: String,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The TCP connection was not made in time.
    #[error("connecting to {addr} timed out after {timeout:?}")]
    ConnectTimeout {
        /// The address tried.
        addr: String,
        /// The timeout.
        timeout: Duration,
    },
    /// The TLS handshake or configuration failed.
    #[error("TLS with {addr}: {reason}")]
    Tls {
        /// The address.
        addr: String,
        /// What went wrong.
        reason: String,
    },
    /// The SMSC refused the bind, e.g. `ESME_RINVPASWD (0x0E): invalid password`.
    #[error("bind refused: {0}")]
    BindRefused(CommandStatus),
    /// No bind response in time.
    #[error("no bind response within {0:?}")]
    BindTimeout(Duration),
    /// The connection ended before the bind completed.
    #[error("connection closed before the bind completed: {0}")]
    Closed(CloseReason),
    /// A configuration value is invalid.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// An I/O error on an established connection.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The driver task ended unexpectedly.
    #[error("the connection task is gone")]
    DriverGone,
}

/// What became of a request that did not succeed, for deciding whether to send it
/// again ([`RequestError::fate`]).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Fate {
    /// The SMSC answered with an error status: not accepted.
    Refused,
    /// It never left this client: safe to send again.
    NeverSent,
    /// It went out and no answer came (timeout, connection lost): the SMSC may or may
    /// not have accepted it. Sending it again may send the SMS twice.
    Unknown,
}

/// The outcome of a request that did not succeed. Every request ends with exactly one
/// outcome: a response, one of these, never silence.
#[non_exhaustive]
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
pub enum RequestError {
    /// The window is full (only from the `try_` calls, which do not wait).
    #[error("window full")]
    WindowFull,
    /// The SMSC throttles us (`ESME_RTHROTTLED`), and retrying did not get through
    /// before the deadline (or is off).
    #[error("throttled by the SMSC (ESME_RTHROTTLED)")]
    Throttled,
    /// The SMSC's queue is full (`ESME_RMSGQFUL`), and retrying did not get through
    /// before the deadline (or is off).
    #[error("SMSC message queue full (ESME_RMSGQFUL)")]
    QueueFull,
    /// The SMSC answered with another error status (a generic_nack included).
    #[error("refused: {0}")]
    Status(CommandStatus),
    /// Sent, and no response within the response timeout: the outcome is unknown.
    #[error("no response within the response timeout (outcome unknown)")]
    Timeout,
    /// Sent, and the connection was lost before the response came: the outcome is
    /// unknown.
    #[error("connection lost after sending: {0} (outcome unknown)")]
    ConnectionLost(CloseReason),
    /// Never sent: the connection ended (for the given reason) before the request went
    /// out, and no other connection took it. Safe to send again.
    #[error("not sent: {0}")]
    NotSent(CloseReason),
    /// Not connected, and no connection came back within the configured wait. Never
    /// sent.
    #[error("not connected (waited {0:?} for a connection)")]
    NotConnected(Duration),
    /// The SMSC refused to bind again for a reason that will not pass (bad password,
    /// unknown system_id): the client stopped. Never sent.
    #[error("bind refused: {0}")]
    BindRefused(CommandStatus),
    /// The session refused the request locally (wrong bind mode, TLV not negotiated...).
    #[error("refused locally: {0}")]
    Send(SendError),
    /// The text cannot be encoded as asked.
    #[error("cannot encode the text: {0}")]
    Encode(smpp_wire::text::EncodeError),
    /// A manual-ack answer for a message that came on a connection that has closed
    /// since: it goes nowhere (the SMSC delivers the message again).
    #[error("the message came on a connection that has closed since")]
    ConnectionChanged,
    /// A part of a long message failed ([`Client::submit_text`](crate::Client::submit_text)):
    /// no later part was sent, and the parts accepted before it are here.
    #[error("part {} of {parts} failed: {error}", accepted.len() + 1)]
    Partial {
        /// The message_ids of the parts accepted, in order.
        accepted: Vec<crate::Submitted>,
        /// How many parts the message has.
        parts: usize,
        /// What became of the part that failed.
        error: Box<Self>,
    },
    /// The request's own deadline ([`Client::timeout`](crate::Client::timeout))
    /// passed first. `sent: false`: it was still waiting (for room in the window,
    /// the rate, a link) and is never sent. `sent: true`: it had been handed to the
    /// connection, and may have gone out: the outcome is unknown.
    #[error("deadline passed ({})", if *sent { "outcome unknown" } else { "never sent" })]
    DeadlineExceeded {
        /// Whether it had been handed to the connection.
        sent: bool,
    },
    /// The client was unbound or closed before the request went out.
    #[error("client closed")]
    Closed,
}

impl RequestError {
    /// The error for a response status other than `ESME_ROK`.
    pub fn from_status(status: CommandStatus) -> Self {
        match status {
            CommandStatus::ESME_RTHROTTLED => Self::Throttled,
            CommandStatus::ESME_RMSGQFUL => Self::QueueFull,
            other => Self::Status(other),
        }
    }

    /// What became of the request (of the failed part, for [`Partial`](Self::Partial)).
    pub fn fate(&self) -> Fate {
        match self {
            Self::Throttled | Self::QueueFull | Self::Status(_) => Fate::Refused,
            Self::Timeout | Self::ConnectionLost(_) | Self::DeadlineExceeded { sent: true } => Fate::Unknown,
            Self::Partial { error, .. } => error.fate(),
            Self::WindowFull
            | Self::NotSent(_)
            | Self::NotConnected(_)
            | Self::BindRefused(_)
            | Self::Send(_)
            | Self::Encode(_)
            | Self::ConnectionChanged
            | Self::DeadlineExceeded { sent: false }
            | Self::Closed => Fate::NeverSent,
        }
    }

    /// Whether retrying the same request later may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Partial { error, .. } => error.is_transient(),
            _ => matches!(
                self,
                Self::Throttled
                    | Self::QueueFull
                    | Self::Timeout
                    | Self::ConnectionLost(_)
                    | Self::NotSent(_)
                    | Self::NotConnected(_)
                    | Self::DeadlineExceeded { .. }
            ),
        }
    }
}
