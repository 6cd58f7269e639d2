//! `Pdu::decode_lenient`: what real peers get wrong, read anyway, and said so; and the
//! default maximum PDU length.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use smpp_wire::{
    Body, CommandStatus, DecodeError, DeliverSm, InterfaceVersion, MAX_PDU_LEN_DEFAULT, MessageState, OctetString, Pdu,
    SequenceNumber, SubmitSm, Tlv, TlvTag, frame_len,
};

/// A frame from a command id, status and body octets.
fn frame(command_id: u32, status: u32, body: &[u8]) -> Bytes {
    let mut v = Vec::new();
    v.extend_from_slice(&(16 + body.len() as u32).to_be_bytes());
    v.extend_from_slice(&command_id.to_be_bytes());
    v.extend_from_slice(&status.to_be_bytes());
    v.extend_from_slice(&7u32.to_be_bytes());
    v.extend_from_slice(body);
    Bytes::from(v)
}

#[test]
fn a_stray_nul_after_the_message_id_still_gives_the_id() {
    let f = frame(0x8000_0004, 0, b"0a1b2c\0\0");
    assert!(matches!(Pdu::decode(f.clone()), Err(DecodeError::TlvStream { .. })));
    let (pdu, salvaged) = Pdu::decode_lenient(f).unwrap();
    assert_eq!(pdu.status, CommandStatus::ESME_ROK);
    let Body::SubmitSmResp(Some(resp)) = pdu.body else { panic!("{:?}", pdu.body) };
    assert_eq!(resp.message_id.as_bytes(), b"0a1b2c");
    assert!(resp.tlvs.is_empty(), "a partial TLV header is dropped, not kept");
    assert!(matches!(salvaged.unwrap().error, DecodeError::TlvStream { .. }));
}

#[test]
fn an_over_long_system_id_is_cut_and_the_tlvs_after_it_are_read() {
    // bind_transceiver_resp: 17 characters, NUL, then sc_interface_version 0x34.
    let mut body = b"ABCDEFGHIJKLMNOPQ\0".to_vec();
    body.extend_from_slice(&[0x02, 0x10, 0x00, 0x01, 0x34]);
    let f = frame(0x8000_0009, 0, &body);
    assert!(matches!(Pdu::decode(f.clone()), Err(DecodeError::TooLong { field: "system_id", .. })));
    let (pdu, salvaged) = Pdu::decode_lenient(f).unwrap();
    let Body::BindTransceiverResp(Some(resp)) = pdu.body else { panic!("{:?}", pdu.body) };
    assert_eq!(resp.system_id.as_bytes(), b"ABCDEFGHIJKLMNO");
    assert_eq!(resp.tlvs.sc_interface_version(), Some(InterfaceVersion::V34));
    assert!(salvaged.is_some());

    // And with one pad octet after the NUL instead of a TLV.
    let f = frame(0x8000_0009, 0, b"ABCDEFGHIJKLMNOPQ\0\0");
    let (pdu, _) = Pdu::decode_lenient(f).unwrap();
    assert!(matches!(pdu.body, Body::BindTransceiverResp(Some(_))));
}

#[test]
fn a_response_body_cut_short_keeps_what_was_read() {
    // query_sm_resp: message_id, then the body ends inside final_date.
    let f = frame(0x8000_0003, 0, b"42\0" as &[u8]);
    let (pdu, salvaged) = Pdu::decode_lenient(f).unwrap();
    let Body::QuerySmResp(Some(resp)) = pdu.body else { panic!("{:?}", pdu.body) };
    assert_eq!(resp.message_id.as_bytes(), b"42");
    assert!(matches!(salvaged.unwrap().error, DecodeError::Truncated { .. } | DecodeError::MissingNul { .. }));
}

fn receipt_with(tlvs: &[u8]) -> Bytes {
    let mut d = DeliverSm::default();
    d.esm_class = smpp_wire::EsmClass(0x04);
    d.short_message = smpp_wire::ShortMessage::new(&b"id:1 stat:DELIVRD"[..]).unwrap();
    let mut wire = BytesMut::new();
    Pdu::new(SequenceNumber::new(7), Body::DeliverSm(d)).encode(&mut wire);
    wire.extend_from_slice(tlvs);
    let len = wire.len() as u32;
    wire[..4].copy_from_slice(&len.to_be_bytes());
    wire.freeze()
}

#[test]
fn a_known_tlv_with_a_bad_value_is_kept_raw_and_the_good_ones_decode() {
    // message_state with length 2 (must be 1), then receipted_message_id "1".
    let f = receipt_with(&[0x04, 0x27, 0x00, 0x02, 0x02, 0x00, 0x00, 0x1E, 0x00, 0x02, b'1', 0]);
    assert!(matches!(Pdu::decode(f.clone()), Err(DecodeError::TlvLength { .. })));
    let (pdu, salvaged) = Pdu::decode_lenient(f).unwrap();
    let salvaged = salvaged.unwrap();
    assert_eq!(salvaged.raw_tlvs, vec![TlvTag::MESSAGE_STATE]);
    let Body::DeliverSm(d) = pdu.body else { panic!() };
    assert_eq!(d.short_message.as_bytes(), b"id:1 stat:DELIVRD", "the mandatory part is all there");
    assert_eq!(d.tlvs.message_state(), None);
    assert_eq!(d.tlvs.receipted_message_id().and_then(|v| v.as_str().map(str::to_owned)).as_deref(), Some("1"));
    assert_eq!(
        d.tlvs.get(TlvTag::MESSAGE_STATE),
        Some(&Tlv::Unknown { tag: TlvTag::MESSAGE_STATE, value: OctetString::new(vec![0x02, 0x00]).unwrap() })
    );
}

#[test]
fn a_tlv_running_past_the_end_is_kept_raw() {
    let f = receipt_with(&[0x04, 0x27, 0x00, 0x01, 0x02, 0x00, 0x1E, 0x00, 0x09, b'1']);
    let (pdu, salvaged) = Pdu::decode_lenient(f).unwrap();
    let Body::DeliverSm(d) = pdu.body else { panic!() };
    assert_eq!(d.tlvs.message_state(), Some(MessageState::DELIVERED));
    assert_eq!(salvaged.unwrap().raw_tlvs, vec![TlvTag::RECEIPTED_MESSAGE_ID]);
    assert!(
        matches!(d.tlvs.get(TlvTag::RECEIPTED_MESSAGE_ID), Some(Tlv::Unknown { value, .. }) if value.as_bytes() == b"1")
    );
}

#[test]
fn requests_with_broken_mandatory_fields_are_still_errors() {
    // deliver_sm cut inside source_addr.
    let f = frame(0x0000_0005, 0, b"\0\x01\x01123");
    assert!(Pdu::decode_lenient(f).is_err());
    // An unknown command id stays an error too.
    assert!(matches!(Pdu::decode_lenient(frame(0x0000_0777, 0, b"")), Err(DecodeError::UnknownCommand { .. })));
}

#[test]
fn the_default_maximum_carries_a_full_message_payload() {
    let mut sm = SubmitSm::default();
    sm.tlvs.push(Tlv::MessagePayload(OctetString::new(vec![b'x'; 65_535]).unwrap()));
    let pdu = Pdu::new(SequenceNumber::new(1), Body::SubmitSm(sm));
    assert_eq!(pdu.encoded_len(), 65_572);
    assert_eq!(MAX_PDU_LEN_DEFAULT, 65_572);
    let wire = pdu.to_bytes();
    assert_eq!(frame_len(&wire, MAX_PDU_LEN_DEFAULT), Ok(Some(65_572)));
    assert_eq!(Pdu::decode(wire).unwrap(), pdu);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// Lenient decoding never panics, and agrees with strict decoding on every PDU that
    /// decodes cleanly.
    #[test]
    fn lenient_agrees_with_strict_where_strict_succeeds(
        kind in 0..39usize,
        seed in any::<u64>(),
        status in prop_oneof![Just(0u32), any::<u32>()],
        junk in proptest::collection::vec(any::<u8>(), 0..24),
        cut in any::<prop::sample::Index>(),
    ) {
        let valid = smpp_wire::arbitrary::pdu_of(kind, seed).to_bytes();
        let mut v = valid[..16].to_vec();
        v[8..12].copy_from_slice(&status.to_be_bytes());
        let body = &valid[16..];
        v.extend_from_slice(&body[..cut.index(body.len() + 1)]);
        v.extend_from_slice(&junk);
        let len = v.len() as u32;
        v[..4].copy_from_slice(&len.to_be_bytes());
        let f = Bytes::from(v);
        match (Pdu::decode(f.clone()), Pdu::decode_lenient(f)) {
            (Ok(strict), Ok((lenient, salvaged))) => {
                prop_assert_eq!(strict, lenient);
                prop_assert!(salvaged.is_none());
            }
            (Ok(strict), Err(e)) => prop_assert!(false, "strict {strict:?} but lenient {e}"),
            (Err(_), Ok((_, salvaged))) => prop_assert!(salvaged.is_some()),
            (Err(_), Err(_)) => {}
        }
    }
}
