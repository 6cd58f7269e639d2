//! `smpp-wire`: the SMPP PDU codec.
//!
//! Every PDU of SMPP v3.4 (Issue 1.2), the v3.3-only ones (param_retrieve,
//! query_last_msgs, query_msg_details) and the v5.0 broadcast family, with typed fields
//! under the spec's names, every standard TLV of v3.4 and v5.0, unknown TLVs passed
//! through byte for byte, and every named `command_status`.
//!
//! What it is **not**: it contains no networking code, reads no clock, spawns nothing
//! and is not async. It does not decide what to send when; that is `smpp-session`.
//! It never panics on any input.
//!
//! ```text
//!   bytes from the peer ──► frame::frame_len ──► Pdu::decode(Bytes) ──► Pdu { status, sequence, body }
//!                                                                          │
//!   bytes to the peer   ◄────────────── Pdu::encode(&mut BytesMut) ◄───────┘
//! ```
//!
//! - [`frame::frame_len`] finds where a PDU ends in a stream, or reports a fatal
//!   framing error.
//! - [`Pdu::decode`] turns one frame into a [`Pdu`]; octet fields share the frame
//!   (zero-copy), and a [`DecodeError`] names the field and offset and maps to the
//!   `command_status` the peer should get ([`DecodeError::command_status`]).
//! - [`Pdu::encode`] writes into the caller's buffer after reserving exactly
//!   [`Pdu::encoded_len`] octets. It cannot fail: the types bound every field.
//! - [`COMMANDS`] is the spec's table of command ids, one [`CommandInfo`] row each
//!   (name, [`Sender`], the versions that have it, its response), and
//!   [`CommandId::info`] finds a row.
//!
//! ```
//! use bytes::BytesMut;
//! use smpp_wire::{Address, Body, DataCoding, Pdu, RegisteredDelivery, SequenceNumber, ShortMessage, SubmitSm};
//!
//! let mut submit = SubmitSm::default();
//! submit.source_addr = Address::alphanumeric("Rust").unwrap();
//! submit.destination_addr = Address::international("447700900123").unwrap();
//! submit.registered_delivery = RegisteredDelivery::RECEIPT;
//! submit.data_coding = DataCoding::MC_DEFAULT;
//! submit.short_message = ShortMessage::new(&b"Hello from Rust"[..]).unwrap();
//! let pdu = Pdu::new(SequenceNumber::new(1), Body::SubmitSm(submit));
//!
//! let mut wire = BytesMut::new();
//! pdu.encode(&mut wire);
//! assert_eq!(wire.len(), pdu.encoded_len());
//! assert_eq!(Pdu::decode(wire.freeze()).unwrap(), pdu);
//! ```
//!
//! # Features
//! - `proptest`: strategies that generate any PDU ([`arbitrary`]), for property tests
//!   here and in downstream crates.
//! - `serde`: the code spaces ([`CommandStatus`], [`Ton`], [`DataCoding`]...) as their
//!   spec names or numbers, [`EsmClass`], [`RegisteredDelivery`], [`COctetString`]
//!   and [`Address`] (see [`serde_impls`]).
//!
//! # The layers
//! This is the bottom one. Above it: [`smpp-session`](https://docs.rs/smpp-session) (the
//! sans-IO state machine), [`smpp-tokio`](https://docs.rs/smpp-tokio) (the driver),
//! [`smpp-client`](https://docs.rs/smpp-client) (the ESME),
//! [`smpp-server`](https://docs.rs/smpp-server) (the SMSC) and
//! [`smpp-cli`](https://docs.rs/smpp-cli) (the `smpp` command). The client and the server
//! re-export this crate, the session too (`smpp_session::smpp_wire`).
//!
//! The package is `smpp-wire` (`smpp-pdu`, the name of its folder in the repository,
//! is an unrelated crate on crates.io).
//!
//! # MSRV
//! Rust 1.88.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing))]

mod body;
mod command_id;
mod error;
mod fields;
pub mod frame;
mod header;
mod macros;
mod parse;
#[cfg(feature = "serde")]
pub mod serde_impls;
mod status;
pub mod text;
pub mod tlv;
mod types;
mod write;

#[cfg(feature = "proptest")]
pub mod arbitrary;

pub use body::*;
pub use command_id::{COMMANDS, CommandId, CommandInfo, Sender};
pub use error::{DecodeError, FieldError};
pub use fields::{Field, FieldValue};
pub use frame::{FrameError, HEADER_LEN, Header, MAX_PDU_LEN_DEFAULT, frame_len};
pub use header::{InterfaceVersion, SequenceNumber};
pub use status::CommandStatus;
pub use tlv::{MAX_TLVS, Tlv, TlvTag, Tlvs};
pub use types::address::Address;
pub use types::strings::{BoundedVec, COctetString, OctetString, Password, ShortMessage};
pub use types::time::{AbsoluteTime, RelativeTime, SmppTime};
pub use types::values::{
    Alphabet, DataCoding, EsmClass, MessageState, MessageType, MessagingMode, Npi, PriorityFlag, ReceiptRequest,
    RegisteredDelivery, Ton,
};

/// This crate's README (what the registry shows), its examples compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct CrateReadmeDoctests;
