//! Errors: [`ClientError`] for connecting and binding, [`RequestError`] for requests.
//! This crate is the only one of the stack where `io::Error` appears.

use std::time::Duration;

use smpp_pdu::{CommandStatus, DecodeError};
use smpp_session::{CloseReason, SendError};

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

/// The outcome of a request that did not succeed. Every request ends with exactly one
/// outcome: a response, one of these, never silence.
#[non_exhaustive]
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
pub enum RequestError {
    /// The window is full (only from the `try_` calls, which do not wait).
    #[error("window full")]
    WindowFull,
    /// The SMSC throttles us (`ESME_RTHROTTLED`): slow down and retry.
    #[error("throttled by the SMSC (ESME_RTHROTTLED)")]
    Throttled,
    /// The SMSC's queue is full (`ESME_RMSGQFUL`): retry later.
    #[error("SMSC message queue full (ESME_RMSGQFUL)")]
    QueueFull,
    /// The SMSC answered with another error status.
    #[error("refused: {0}")]
    Status(CommandStatus),
    /// No response within the response timeout; the request may or may not have been
    /// processed.
    #[error("no response within the response timeout")]
    Timeout,
    /// The connection was lost before the response came; the request may or may not
    /// have been processed.
    #[error("connection lost: {0}")]
    ConnectionLost(CloseReason),
    /// Not connected, and no connection came back within the configured wait.
    #[error("not connected (waited {0:?} for a connection)")]
    NotConnected(Duration),
    /// The response could not be decoded.
    #[error("malformed response: {0}")]
    Malformed(DecodeError),
    /// The session refused the request locally (wrong bind mode, TLV not negotiated...).
    #[error("refused locally: {0}")]
    Send(SendError),
    /// The text cannot be encoded as asked.
    #[error("cannot encode the text: {0}")]
    Encode(smpp_pdu::text::EncodeError),
    /// The client was unbound or closed.
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

    /// Whether retrying the same request later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Throttled | Self::QueueFull | Self::Timeout | Self::ConnectionLost(_) | Self::NotConnected(_)
        )
    }
}
