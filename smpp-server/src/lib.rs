//! The SMSC side of the stack and the built-in SMSC simulator (work in progress).
//!
//! It is a compiling skeleton until its issue lands.
//!
//! ```
//! use smpp_server::smpp_pdu::CommandStatus;
//! assert!(CommandStatus::ESME_RINVSYSID.is_error());
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub use smpp_client::{smpp_pdu, smpp_session};
