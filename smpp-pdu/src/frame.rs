//! Framing: finding where one PDU ends in a byte stream, and reading its header.
//!
//! SMPP frames are length-prefixed: the first four octets (`command_length`) give the
//! size of the whole PDU, header included. [`frame_len`] looks at the bytes received so
//! far and says whether a whole PDU is there. A bad length is fatal for the connection,
//! because a TCP stream cannot be resynchronised once a length is wrong.

use crate::{CommandId, CommandStatus, SequenceNumber};

/// Octets in the SMPP header (`command_length`, `command_id`, `command_status`, `sequence_number`).
pub const HEADER_LEN: usize = 16;

/// Default upper bound on `command_length`: 65 572 octets, enough for a submit_sm or
/// data_sm carrying a full 65 535-octet `message_payload` (16 octets of header, 17 of
/// empty mandatory fields, 4 of TLV header, the payload).
pub const MAX_PDU_LEN_DEFAULT: usize = 65_572;

/// A fatal framing error: the byte stream can no longer be trusted.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Eq, PartialEq, thiserror::Error)]
pub enum FrameError {
    /// `command_length` is below the 16-octet header.
    #[error("command_length {len} is shorter than the 16-octet header")]
    TooShort {
        /// The `command_length` read from the stream.
        len: u32,
    },
    /// `command_length` is above the configured maximum (or has its top bit set).
    #[error("command_length {len} is above the maximum of {max}")]
    TooLong {
        /// The `command_length` read from the stream.
        len: u32,
        /// The maximum in force.
        max: usize,
    },
}

/// Says how long the PDU at the start of `buf` is, once all of it has arrived.
///
/// - `Ok(None)`: fewer than 4 octets, or fewer than `command_length` octets, are there yet.
///   Nothing is consumed; call again with more bytes.
/// - `Ok(Some(n))`: the first `n` octets of `buf` are one PDU (`16 <= n <= max_pdu_len`).
/// - `Err(_)`: `command_length` is below 16, above `max_pdu_len`, or has bit 31 set.
///
/// It reads only the first four octets and never looks past `command_length`.
///
/// ```
/// use smpp_wire::frame::{frame_len, MAX_PDU_LEN_DEFAULT};
/// let enquire_link = [0, 0, 0, 16, 0, 0, 0, 0x15, 0, 0, 0, 0, 0, 0, 0, 1];
/// assert_eq!(frame_len(&enquire_link[..3], MAX_PDU_LEN_DEFAULT), Ok(None));
/// assert_eq!(frame_len(&enquire_link[..15], MAX_PDU_LEN_DEFAULT), Ok(None));
/// assert_eq!(frame_len(&enquire_link, MAX_PDU_LEN_DEFAULT), Ok(Some(16)));
/// ```
pub fn frame_len(buf: &[u8], max_pdu_len: usize) -> Result<Option<usize>, FrameError> {
    let Some(prefix) = buf.first_chunk::<4>() else {
        return Ok(None);
    };
    let len = u32::from_be_bytes(*prefix);
    // A u32 always fits in usize on the 32- and 64-bit targets this crate supports.
    let n = len as usize;
    if n < HEADER_LEN {
        return Err(FrameError::TooShort { len });
    }
    if n > max_pdu_len || len & 0x8000_0000 != 0 {
        return Err(FrameError::TooLong { len, max: max_pdu_len });
    }
    Ok((buf.len() >= n).then_some(n))
}

/// The 16-octet PDU header, as read from the wire.
///
/// Readable even when the body is not, so a receiver can answer a malformed PDU with
/// the right response and sequence number.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct Header {
    /// Total length of the PDU, header included.
    pub command_length: u32,
    /// The operation.
    pub command_id: CommandId,
    /// The status (0 in requests).
    pub command_status: CommandStatus,
    /// The sequence number, kept exactly as the peer sent it.
    pub sequence_number: SequenceNumber,
}

impl Header {
    /// Reads the header from the first 16 octets of `buf`, or `None` if fewer are there.
    pub fn parse(buf: &[u8]) -> Option<Self> {
        let [l0, l1, l2, l3, i0, i1, i2, i3, s0, s1, s2, s3, q0, q1, q2, q3] = *buf.first_chunk::<HEADER_LEN>()?;
        Some(Self {
            command_length: u32::from_be_bytes([l0, l1, l2, l3]),
            command_id: CommandId(u32::from_be_bytes([i0, i1, i2, i3])),
            command_status: CommandStatus(u32::from_be_bytes([s0, s1, s2, s3])),
            sequence_number: SequenceNumber::from_wire(u32::from_be_bytes([q0, q1, q2, q3])),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incomplete_until_command_length_arrives() {
        let pdu = [0, 0, 0, 17, 0x80, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 1, 0];
        for k in 0..pdu.len() {
            assert_eq!(frame_len(&pdu[..k], 64), Ok(None), "prefix of {k}");
        }
        assert_eq!(frame_len(&pdu, 64), Ok(Some(17)));
        let mut more = pdu.to_vec();
        more.extend_from_slice(&[0xde, 0xad]);
        assert_eq!(frame_len(&more, 64), Ok(Some(17)));
    }

    #[test]
    fn bad_lengths_are_fatal() {
        assert_eq!(frame_len(&[0, 0, 0, 15], 64), Err(FrameError::TooShort { len: 15 }));
        assert_eq!(frame_len(&[0, 0, 0, 0], 64), Err(FrameError::TooShort { len: 0 }));
        assert_eq!(frame_len(&[0, 0, 0, 65], 64), Err(FrameError::TooLong { len: 65, max: 64 }));
        assert_eq!(
            frame_len(&[0xf0, 0, 0, 0x11], usize::MAX),
            Err(FrameError::TooLong { len: 0xf000_0011, max: usize::MAX })
        );
    }

    #[test]
    fn header_reads_all_four_words() {
        let h = Header::parse(&[0, 0, 0, 16, 0, 0, 0, 0x15, 0, 0, 0, 2, 0x80, 0, 0, 0]).unwrap();
        assert_eq!(h.command_length, 16);
        assert_eq!(h.command_id, CommandId::ENQUIRE_LINK);
        assert_eq!(h.command_status, CommandStatus::ESME_RINVCMDLEN);
        assert_eq!(h.sequence_number.value(), 0x8000_0000);
        assert!(Header::parse(&[0; 15]).is_none());
    }
}
