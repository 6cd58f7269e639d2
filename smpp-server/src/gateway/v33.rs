//! A message as a v3.3 peer may get it: no TLVs at all.

use bytes::{BufMut, BytesMut};
use smpp_wire::{EsmClass, ShortMessage, SubmitSm, Tlvs};

/// Why a message has no v3.3 form.
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum V33Error {
    /// Its text (with the UDH a long message's part needs) is longer than
    /// short_message's 254 octets.
    #[error("the message does not fit short_message ({0} octets)")]
    TooLong(usize),
    /// It has text in both short_message and message_payload.
    #[error("the message has text in both short_message and message_payload")]
    TwoTexts,
}

/// `sm` (a submit_sm or a deliver_sm: they share a body) for a v3.3 peer, which
/// takes no TLVs: a long message's part given by `sar_*` TLVs gets the UDH that
/// says the same (8-bit reference when it fits, else 16-bit) and the UDHI bit of
/// esm_class; a `message_payload` moves to short_message; every other TLV is left
/// out. A part that carries a UDH already is kept as it is.
///
/// ```
/// use smpp_server::gateway::to_v33;
/// use smpp_server::smpp_wire::{ShortMessage, SubmitSm, Tlv};
/// let mut part = SubmitSm::default();
/// part.short_message = ShortMessage::new(&b"hello"[..]).unwrap();
/// part.tlvs.push(Tlv::SarMsgRefNum(7));
/// part.tlvs.push(Tlv::SarTotalSegments(2));
/// part.tlvs.push(Tlv::SarSegmentSeqnum(1));
/// let v33 = to_v33(&part).unwrap();
/// assert!(v33.tlvs.is_empty() && v33.esm_class.udhi());
/// assert_eq!(v33.short_message.as_bytes(), b"\x05\x00\x03\x07\x02\x01hello");
/// ```
pub fn to_v33(sm: &SubmitSm) -> Result<SubmitSm, V33Error> {
    let mut out = sm.clone();
    out.tlvs = Tlvs::new();
    if sm.tlvs.is_empty() {
        return Ok(out);
    }
    let mut text = BytesMut::from(sm.short_message.as_bytes());
    if let Some(payload) = sm.tlvs.message_payload() {
        if !text.is_empty() {
            return Err(V33Error::TwoTexts);
        }
        text = BytesMut::from(payload.as_bytes());
    }
    let sar = (sm.tlvs.sar_msg_ref_num(), sm.tlvs.sar_total_segments(), sm.tlvs.sar_segment_seqnum());
    if let (Some(reference), Some(total), Some(seq)) = sar
        && !sm.esm_class.udhi()
    {
        let mut udh = BytesMut::with_capacity(text.len() + 7);
        match u8::try_from(reference) {
            Ok(r) => udh.put_slice(&[5, 0x00, 3, r, total, seq]),
            Err(_) => {
                udh.put_slice(&[6, 0x08, 4]);
                udh.put_u16(reference);
                udh.put_slice(&[total, seq]);
            }
        }
        udh.put_slice(&text);
        text = udh;
        out.esm_class = EsmClass(sm.esm_class.0 | 0x40);
    }
    let len = text.len();
    out.short_message = ShortMessage::new(text.freeze()).map_err(|_| V33Error::TooLong(len))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use smpp_wire::{OctetString, Tlv};

    use super::*;

    #[test]
    fn a_16_bit_reference_gets_the_16_bit_udh_and_a_payload_moves_to_short_message() {
        let mut part = SubmitSm::default();
        part.tlvs.push(Tlv::MessagePayload(OctetString::new(&b"abc"[..]).unwrap()));
        part.tlvs.push(Tlv::SarMsgRefNum(0x1234));
        part.tlvs.push(Tlv::SarTotalSegments(3));
        part.tlvs.push(Tlv::SarSegmentSeqnum(3));
        let v33 = to_v33(&part).unwrap();
        assert_eq!(v33.short_message.as_bytes(), b"\x06\x08\x04\x12\x34\x03\x03abc");
        assert!(v33.tlvs.is_empty() && v33.esm_class.udhi());
    }

    #[test]
    fn what_has_no_v33_form_is_refused_and_a_udh_is_kept() {
        let mut long = SubmitSm::default();
        long.tlvs.push(Tlv::MessagePayload(OctetString::new(vec![b'x'; 300]).unwrap()));
        assert_eq!(to_v33(&long), Err(V33Error::TooLong(300)));
        let mut both = SubmitSm::default();
        both.short_message = ShortMessage::new(&b"a"[..]).unwrap();
        both.tlvs.push(Tlv::MessagePayload(OctetString::new(&b"b"[..]).unwrap()));
        assert_eq!(to_v33(&both), Err(V33Error::TwoTexts));
        let mut udh = SubmitSm::default();
        udh.esm_class = EsmClass(0x40);
        udh.short_message = ShortMessage::new(&b"\x05\x00\x03\x01\x02\x01hi"[..]).unwrap();
        udh.tlvs.push(Tlv::SarMsgRefNum(9));
        udh.tlvs.push(Tlv::SarTotalSegments(2));
        udh.tlvs.push(Tlv::SarSegmentSeqnum(1));
        let v33 = to_v33(&udh).unwrap();
        assert_eq!(v33.short_message, udh.short_message, "the UDH it has is the one it keeps");
    }
}
