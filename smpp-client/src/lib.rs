//! The tokio driver for [`smpp_session`] and the ESME client (work in progress).
//!
//! This crate will run a session over any `AsyncRead + AsyncWrite` and offer a
//! pipelined client. It is a compiling skeleton until its issue lands.
//!
//! ```
//! use smpp_client::smpp_pdu::CommandStatus;
//! assert_eq!(CommandStatus::ESME_ROK.value(), 0);
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub use smpp_pdu;
pub use smpp_session;
