//! Sans-IO SMPP session state machine (work in progress).
//!
//! This crate will hold one state machine per SMPP connection, usable in the ESME (client)
//! or the SMSC (server) role. It performs no I/O and reads no clock: bytes and
//! `Instant`s go in; bytes, events and deadlines come out.
//! It is a compiling skeleton until its issue lands; today it only re-exports the codec.
//!
//! ```
//! use smpp_session::smpp_pdu::SequenceNumber;
//! assert_eq!(SequenceNumber::new(1).value(), 1);
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub use smpp_pdu;
