//! Why a command failed, and the exit code that says so.

use std::fmt;
use std::process::ExitCode;

use smpp_client::{ClientError, RequestError};

/// The exit codes, as `smpp --help` and the README list them.
pub(crate) const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  any other failure
  2  bad input: flags, arguments, configuration, a text the coding cannot carry
  3  cannot connect: refused, unreachable, TLS failed, or the link was lost
  4  bind refused by the SMSC
  5  submit refused by the SMSC (an error status; for bench, any submit not accepted)
  6  timeout: no response, bind response or receipt in time";

/// A failure, by the exit code it gets.
#[derive(Debug)]
pub(crate) enum Fail {
    /// 2: what the user gave cannot work.
    BadInput(String),
    /// 3: no connection, or it was lost.
    Connect(String),
    /// 4: the SMSC refused the bind.
    Bind(String),
    /// 5: the SMSC refused a submit.
    Refused(String),
    /// 6: something did not come in time.
    Timeout(String),
    /// 1: anything else.
    Other(String),
}

impl Fail {
    pub(crate) fn code(&self) -> ExitCode {
        ExitCode::from(match self {
            Self::Other(_) => 1,
            Self::BadInput(_) => 2,
            Self::Connect(_) => 3,
            Self::Bind(_) => 4,
            Self::Refused(_) => 5,
            Self::Timeout(_) => 6,
        })
    }

    /// A failed connect or bind.
    pub(crate) fn client(e: &ClientError) -> Self {
        match e {
            ClientError::Connect { addr, source } => Self::Connect(format!("cannot reach {addr}: {source}")),
            ClientError::ConnectTimeout { .. } | ClientError::Tls { .. } | ClientError::Closed(_) => {
                Self::Connect(e.to_string())
            }
            ClientError::Io(_) => Self::Connect(e.to_string()),
            ClientError::BindRefused(_) => Self::Bind(e.to_string()),
            ClientError::BindTimeout(_) => Self::Timeout(e.to_string()),
            ClientError::Config(_) => Self::BadInput(e.to_string()),
            _ => Self::Other(e.to_string()),
        }
    }

    /// A failed request, with `what` failed and what its fate means.
    pub(crate) fn request(what: &str, e: &RequestError) -> Self {
        let text = format!("{what}: {e} ({})", crate::fate(e));
        match e {
            RequestError::Partial { error, .. } => match Self::request(what, error) {
                Self::Refused(_) => Self::Refused(text),
                Self::Timeout(_) => Self::Timeout(text),
                Self::Connect(_) => Self::Connect(text),
                Self::Bind(_) => Self::Bind(text),
                Self::BadInput(_) => Self::BadInput(text),
                Self::Other(_) => Self::Other(text),
            },
            RequestError::Throttled | RequestError::QueueFull | RequestError::Status(_) => Self::Refused(text),
            RequestError::Timeout | RequestError::DeadlineExceeded { .. } => Self::Timeout(text),
            RequestError::ConnectionLost(_) | RequestError::NotSent(_) | RequestError::NotConnected(_) => {
                Self::Connect(text)
            }
            RequestError::BindRefused(_) => Self::Bind(text),
            RequestError::Encode(_) => Self::BadInput(text),
            _ => Self::Other(text),
        }
    }
}

impl fmt::Display for Fail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadInput(s)
            | Self::Connect(s)
            | Self::Bind(s)
            | Self::Refused(s)
            | Self::Timeout(s)
            | Self::Other(s) => f.write_str(s),
        }
    }
}

/// What the user gave: a message is bad input.
impl From<String> for Fail {
    fn from(s: String) -> Self {
        Self::BadInput(s)
    }
}

impl From<&str> for Fail {
    fn from(s: &str) -> Self {
        Self::BadInput(s.to_owned())
    }
}

impl From<std::io::Error> for Fail {
    fn from(e: std::io::Error) -> Self {
        Self::Other(e.to_string())
    }
}

impl From<Box<dyn std::error::Error>> for Fail {
    fn from(e: Box<dyn std::error::Error>) -> Self {
        Self::Other(e.to_string())
    }
}

impl From<tokio::task::JoinError> for Fail {
    fn from(e: tokio::task::JoinError) -> Self {
        Self::Other(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_that_stayed_down_is_a_connection_failure_and_a_lost_one_too() {
        let code = |e: RequestError| format!("{:?}", Fail::request("submit", &e).code());
        let connect = format!("{:?}", ExitCode::from(3));
        assert_eq!(code(RequestError::NotConnected(std::time::Duration::from_secs(5))), connect);
        assert_eq!(code(RequestError::ConnectionLost(smpp_session::CloseReason::PeerClosed)), connect);
        assert_eq!(code(RequestError::Timeout), format!("{:?}", ExitCode::from(6)));
    }
}
