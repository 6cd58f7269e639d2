//! Fuzz bodies for the SMPP stack (work in progress).
//!
//! Each fuzz target is a thin call of a function here, so the same bodies run under
//! plain `cargo test` on stable.
//!
//! ```
//! smpp_fuzz::decode_pdu(&[0, 0, 0, 16, 0, 0, 0, 21, 0, 0, 0, 0, 0, 0, 0, 1]);
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

/// Decodes `data` as one PDU; must never panic.
pub fn decode_pdu(data: &[u8]) {
    let _ = smpp_pdu::Pdu::decode(bytes::Bytes::copy_from_slice(data));
}
