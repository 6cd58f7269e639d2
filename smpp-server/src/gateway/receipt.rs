//! Rewriting an upstream's receipt to carry the gateway's own message id.

use bytes::Bytes;
use smpp_wire::tlv::TlvString;
use smpp_wire::{DeliverSm, InterfaceVersion, OctetString, ShortMessage, Tlv, TlvTag};

/// Why a receipt cannot be rewritten.
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RewriteError {
    /// Our id does not fit `receipted_message_id` (1 to 65 characters).
    #[error("message id {0:?} does not fit receipted_message_id")]
    BadId(String),
    /// The rewritten text no longer fits short_message (254 octets).
    #[error("the rewritten receipt text is too long for short_message")]
    TooLong,
}

/// `receipt` as the customer gets it: the `id:` value of its text (in
/// short_message or message_payload) replaced by `ours`, and `receipted_message_id`
/// set to `ours` when the customer's session is v3.4 or later. A customer bound
/// with v3.3 gets no TLVs at all (v3.3 has none), so the text carries the id.
///
/// ```
/// use smpp_server::gateway::rewrite_receipt;
/// use smpp_server::smpp_wire::{DeliverSm, InterfaceVersion, ShortMessage};
/// let mut up = DeliverSm::default();
/// up.short_message = ShortMessage::new(&b"id:1A2B3C sub:001 dlvrd:001 stat:DELIVRD err:000"[..]).unwrap();
/// let ours = rewrite_receipt(&up, "00000042", InterfaceVersion::V34).unwrap();
/// assert_eq!(&ours.short_message.as_bytes()[..12], b"id:00000042 ");
/// assert_eq!(ours.tlvs.receipted_message_id().unwrap().as_str(), Some("00000042"));
/// ```
pub fn rewrite_receipt(receipt: &DeliverSm, ours: &str, version: InterfaceVersion) -> Result<DeliverSm, RewriteError> {
    let mut out = receipt.clone();
    let text = replace_id(receipt.short_message.as_bytes(), ours);
    out.short_message = ShortMessage::new(Bytes::from(text)).map_err(|_| RewriteError::TooLong)?;
    if version < InterfaceVersion::V34 {
        out.tlvs = smpp_wire::Tlvs::new();
        return Ok(out);
    }
    if let Some(payload) = receipt.tlvs.message_payload() {
        let text = replace_id(payload.as_bytes(), ours);
        out.tlvs.remove(TlvTag::MESSAGE_PAYLOAD);
        let payload = OctetString::new(Bytes::from(text)).map_err(|_| RewriteError::TooLong)?;
        out.tlvs.push(Tlv::MessagePayload(payload));
    }
    let id = TlvString::new(ours).map_err(|_| RewriteError::BadId(ours.to_owned()))?;
    out.tlvs.remove(TlvTag::RECEIPTED_MESSAGE_ID);
    out.tlvs.push(Tlv::ReceiptedMessageId(id));
    Ok(out)
}

/// `text` with the value after `id:` (up to the next space) replaced by `ours`;
/// unchanged if it has no `id:` field.
fn replace_id(text: &[u8], ours: &str) -> Vec<u8> {
    let at = text.windows(3).enumerate().find(|(k, w)| {
        w.eq_ignore_ascii_case(b"id:") && (*k == 0 || text.get(k - 1).is_some_and(u8::is_ascii_whitespace))
    });
    let Some((start, _)) = at else { return text.to_vec() };
    let value = start + 3;
    let end = text
        .get(value..)
        .and_then(|rest| rest.iter().position(u8::is_ascii_whitespace))
        .map_or(text.len(), |n| value + n);
    let mut out = Vec::with_capacity(text.len() + ours.len());
    out.extend_from_slice(text.get(..value).unwrap_or_default());
    out.extend_from_slice(ours.as_bytes());
    out.extend_from_slice(text.get(end..).unwrap_or_default());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receipt(text: &str) -> DeliverSm {
        let mut d = DeliverSm::default();
        d.short_message = ShortMessage::new(Bytes::copy_from_slice(text.as_bytes())).unwrap();
        d.tlvs.push(Tlv::ReceiptedMessageId(TlvString::new("1A2B3C").unwrap()));
        d
    }

    #[test]
    fn the_id_is_replaced_in_the_text_and_the_tlv_and_nothing_else_moves() {
        let up = receipt(
            "id:1A2B3C sub:001 dlvrd:001 submit date:2612011200 done date:2612011201 stat:DELIVRD err:000 text:hi",
        );
        let ours = rewrite_receipt(&up, "gw000001", InterfaceVersion::V34).unwrap();
        assert_eq!(
            ours.short_message.as_bytes(),
            b"id:gw000001 sub:001 dlvrd:001 submit date:2612011200 done date:2612011201 stat:DELIVRD err:000 text:hi"
        );
        assert_eq!(ours.tlvs.receipted_message_id().unwrap().as_str(), Some("gw000001"));
        assert_eq!(ours.tlvs.len(), 1, "replaced, not added twice");
        assert_eq!((ours.esm_class, ours.source_addr), (up.esm_class, up.source_addr));
    }

    #[test]
    fn a_v33_customer_gets_the_id_in_the_text_and_no_tlvs() {
        let up = receipt("id:1A2B3C stat:DELIVRD");
        let ours = rewrite_receipt(&up, "42", InterfaceVersion::V33).unwrap();
        assert_eq!(ours.short_message.as_bytes(), b"id:42 stat:DELIVRD");
        assert!(ours.tlvs.is_empty());
    }

    #[test]
    fn ids_at_the_end_in_payloads_or_missing() {
        assert_eq!(replace_id(b"stat:DELIVRD id:9", "x"), b"stat:DELIVRD id:x");
        assert_eq!(replace_id(b"no id here", "x"), b"no id here", "no `id:` field: unchanged");
        assert_eq!(replace_id(b"msgid:5 id:6", "x"), b"msgid:5 id:x", "only a field named id");
        let mut up = DeliverSm::default();
        up.tlvs.push(Tlv::MessagePayload(OctetString::new(&b"id:77 stat:UNDELIV"[..]).unwrap()));
        let ours = rewrite_receipt(&up, "ab", InterfaceVersion::V34).unwrap();
        assert_eq!(ours.tlvs.message_payload().unwrap().as_bytes(), b"id:ab stat:UNDELIV");
        let long = "x".repeat(70);
        assert_eq!(rewrite_receipt(&up, &long, InterfaceVersion::V34).unwrap_err(), RewriteError::BadId(long));
    }
}
