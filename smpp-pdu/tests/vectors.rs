//! Every vector of `tests/vectors/smpp-vectors.json` (a copy of the shared vectors):
//! valid ones decode to the listed fields and re-encode byte for byte; invalid ones get
//! the handling the file lists.

use bytes::Bytes;
use serde_json::Value;
use smpp_wire::{
    Body, CommandId, CommandStatus, DecodeError, Field, FieldValue, FrameError, MAX_PDU_LEN_DEFAULT, Pdu,
    SequenceNumber, SubmitSmResp, frame_len,
};

fn vectors() -> Vec<Value> {
    let text = include_str!("vectors/smpp-vectors.json");
    match serde_json::from_str(text) {
        Ok(Value::Array(v)) => v,
        other => panic!("vectors file is not a JSON array: {other:?}"),
    }
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|k| u8::from_str_radix(&s[k..k + 2], 16).unwrap()).collect()
}

fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn parse_hex_u32(v: &Value) -> u32 {
    u32::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

/// Octet values are shown as text when printable, else as lowercase hex.
fn octets_match(json: &str, bytes: &[u8]) -> bool {
    json.as_bytes() == bytes || json == to_hex(bytes)
}

fn check_tlvs(name: &str, expected: &[Value], got: &[Field]) {
    let Some(FieldValue::Tlvs(tlvs)) = got.iter().find(|f| f.name == "tlvs").map(|f| &f.value) else {
        panic!("{name}: no tlvs field");
    };
    assert_eq!(tlvs.len(), expected.len(), "{name}: TLV count");
    for (want, tlv) in expected.iter().zip(tlvs.iter()) {
        assert_eq!(tlv.tag().0 as u32, parse_hex_u32(&want["tag"]), "{name}: tag");
        assert_eq!(tlv.value_len() as u64, want["length"].as_u64().unwrap(), "{name}: length");
        if let Some(n) = tlv.tag().name() {
            assert_eq!(Some(n), want["name"].as_str(), "{name}: TLV name");
        }
        let raw = tlv.value_octets();
        match &want["value"] {
            Value::Number(n) => {
                let v = raw.iter().fold(0u64, |a, b| (a << 8) | u64::from(*b));
                assert_eq!(Some(v), n.as_u64(), "{name}: TLV value");
            }
            Value::String(s) => {
                let text = raw.strip_suffix(&[0]).unwrap_or(&raw);
                assert!(octets_match(s, text) || octets_match(s, &raw), "{name}: TLV value {s} vs {raw:?}");
            }
            other => panic!("{name}: unexpected TLV value {other}"),
        }
    }
}

/// Checks every body field the vector lists against the decoded PDU.
fn check_fields(name: &str, v: &Value, pdu: &Pdu) {
    let fields = pdu.fields();
    let expected = v["fields"].as_object().unwrap();
    for (key, want) in expected {
        match key.as_str() {
            "command_length" => assert_eq!(pdu.encoded_len() as u64, want.as_u64().unwrap(), "{name}"),
            "command_id" => assert_eq!(pdu.command_id().value(), parse_hex_u32(want), "{name}"),
            "command_status" => assert_eq!(pdu.status.value(), parse_hex_u32(want), "{name}"),
            "sequence_number" => assert_eq!(u64::from(pdu.sequence.value()), want.as_u64().unwrap(), "{name}"),
            "tlvs" => check_tlvs(name, want.as_array().unwrap(), &fields),
            "unsuccess_sme" => {
                let got = fields.iter().find(|f| f.name == "unsuccess_sme").unwrap();
                assert_eq!(got.value, FieldValue::List(vec![]), "{name}");
                assert!(want.as_array().unwrap().is_empty());
            }
            field => {
                let Some(got) = fields.iter().find(|f| f.name == field) else {
                    panic!("{name}: field {field} not decoded; have {fields:?}");
                };
                let ok = match (&got.value, want) {
                    (FieldValue::Int(g), Value::Number(n)) => Some(u64::from(*g)) == n.as_u64(),
                    (FieldValue::CString(g), Value::String(s)) => s.as_bytes() == &g[..],
                    (FieldValue::Octets(g), Value::String(s)) => octets_match(s, g),
                    (FieldValue::Time(t), Value::String(s)) => t.map(|t| t.to_string()).unwrap_or_default() == *s,
                    (FieldValue::Redacted, Value::String(_)) => true,
                    _ => false,
                };
                assert!(ok, "{name}: field {field}: got {:?}, want {want}", got.value);
            }
        }
    }
    // The password is redacted in the field view; check it through the body.
    if let Some(Value::String(want)) = expected.get("password") {
        let got = match &pdu.body {
            Body::BindTransmitter(b) | Body::BindReceiver(b) | Body::BindTransceiver(b) => b.password.expose(),
            Body::Outbind(o) => o.password.expose(),
            other => panic!("{name}: password in {other:?}"),
        };
        assert_eq!(got, want.as_bytes(), "{name}: password");
    }
}

fn decode_one(bytes: &[u8]) -> Result<Pdu, DecodeError> {
    let n = frame_len(bytes, MAX_PDU_LEN_DEFAULT).unwrap().expect("a whole frame");
    Pdu::decode(Bytes::copy_from_slice(&bytes[..n]))
}

fn check_valid(name: &str, v: &Value, bytes: &[u8]) {
    assert_eq!(frame_len(bytes, MAX_PDU_LEN_DEFAULT), Ok(Some(bytes.len())), "{name}");
    let pdu = Pdu::decode(Bytes::copy_from_slice(bytes)).unwrap_or_else(|e| panic!("{name}: {e}"));
    check_fields(name, v, &pdu);
    assert_eq!(to_hex(&pdu.to_bytes()), to_hex(bytes), "{name}: re-encoding");
    assert_eq!(pdu.encoded_len(), bytes.len(), "{name}: encoded_len");
}

fn check_invalid(name: &str, v: &Value, bytes: &[u8]) {
    match name {
        // Both short_message and message_payload: decoded as sent, re-encoded unchanged.
        "submit_sm_with_message_payload_tlv" => check_valid(name, v, bytes),
        "outbind_overlong_password" => {
            let e = decode_one(bytes).unwrap_err();
            assert_eq!(e, DecodeError::TooLong { field: "password", max: 9, offset: 26 });
            assert_eq!(e.command_status(), CommandStatus::ESME_RINVPASWD);
        }
        "alert_notification_nonzero_status" => {
            check_valid(name, v, bytes);
            assert!(!CommandId::ALERT_NOTIFICATION.has_response());
            assert_eq!(Body::empty_response_for(CommandId::ALERT_NOTIFICATION), None);
        }
        "malformed_command_length_huge" => {
            assert_eq!(
                frame_len(bytes, MAX_PDU_LEN_DEFAULT),
                Err(FrameError::TooLong { len: 0x3800_000F, max: MAX_PDU_LEN_DEFAULT })
            );
        }
        "malformed_command_length_high_bit" => {
            assert_eq!(frame_len(bytes, usize::MAX), Err(FrameError::TooLong { len: 0xF000_0011, max: usize::MAX }));
        }
        "malformed_unknown_response_command_id" => {
            let e = decode_one(bytes).unwrap_err();
            assert_eq!(e, DecodeError::UnknownCommand { command_id: CommandId(0x8000_0110) });
            assert_eq!(e.command_status(), CommandStatus::ESME_RINVCMDID);
            assert!(CommandId(0x8000_0110).is_response(), "a response: discarded, never nacked");
        }
        "malformed_unknown_response_id_with_trailing_bytes" => {
            assert_eq!(frame_len(bytes, MAX_PDU_LEN_DEFAULT), Ok(Some(16)));
            assert!(matches!(decode_one(bytes), Err(DecodeError::UnknownCommand { .. })));
            assert_eq!(frame_len(&bytes[16..], MAX_PDU_LEN_DEFAULT), Ok(None), "aabbcc stays buffered");
        }
        "stream_partial_header_3_octets" | "stream_partial_header_15_octets" => {
            assert_eq!(frame_len(bytes, MAX_PDU_LEN_DEFAULT), Ok(None));
        }
        "malformed_sequence_0x80000000" => {
            let pdu = decode_one(bytes).unwrap();
            assert_eq!(pdu.sequence.value(), 0x8000_0000);
            let resp = Pdu::new(pdu.sequence, Body::EnquireLinkResp);
            assert_eq!(to_hex(&resp.to_bytes()), "00000010800000150000000080000000");
        }
        "malformed_message_id_missing_nul" => {
            let e = decode_one(bytes).unwrap_err();
            assert_eq!(e, DecodeError::MissingNul { field: "message_id", offset: 16 });
            assert_eq!(e.command_status(), CommandStatus::ESME_RINVCMDLEN);
        }
        "malformed_truncated_query_sm" => {
            assert_eq!(frame_len(bytes, MAX_PDU_LEN_DEFAULT), Ok(None), "wait for the 30th octet");
            let mut more = bytes.to_vec();
            more.push(b'x');
            let e = decode_one(&more).unwrap_err();
            assert_eq!(e, DecodeError::MissingNul { field: "source_addr", offset: 23 });
            assert_eq!(e.command_status(), CommandStatus::ESME_RINVCMDLEN);
            more.pop();
            more.push(0);
            assert!(matches!(decode_one(&more).unwrap().body, Body::QuerySm(_)));
        }
        "malformed_sm_length_exceeds_body" => {
            let e = decode_one(bytes).unwrap_err();
            assert_eq!(e, DecodeError::Truncated { field: "short_message", offset: 49 });
            assert_eq!(e.command_status(), CommandStatus::ESME_RINVMSGLEN);
        }
        "deliver_sm_sequence_high_bit" => {
            check_valid(name, v, bytes);
            let pdu = decode_one(bytes).unwrap();
            let resp = Pdu::new(pdu.sequence, Body::DeliverSmResp(Some(SubmitSmResp::default())));
            assert_eq!(to_hex(&resp.to_bytes()), "000000118000000500000000806a179b00");
        }
        other => panic!("invalid vector {other} has no expected handling in this test"),
    }
}

#[test]
fn every_vector_gets_its_expected_handling() {
    let all = vectors();
    assert_eq!(all.len(), 49);
    let mut valid = 0;
    for v in &all {
        let name = v["name"].as_str().unwrap();
        let bytes = hex(v["hex"].as_str().unwrap());
        if v["valid"].as_bool().unwrap() {
            check_valid(name, v, &bytes);
            valid += 1;
        } else {
            check_invalid(name, v, &bytes);
        }
    }
    assert_eq!(valid, 35);
}

#[test]
fn error_response_bodies_are_kept_when_present_and_absent_otherwise() {
    let with_body = decode_one(&hex("00000021800000040000000b000000023041303030303030413344333233413100")).unwrap();
    assert!(matches!(&with_body.body, Body::SubmitSmResp(Some(r)) if r.message_id.as_bytes() == b"0A000000A3D323A1"));
    let without = decode_one(&hex("00000010800000040000005800000001")).unwrap();
    assert_eq!(without.body, Body::SubmitSmResp(None));
    assert_eq!(without.status, CommandStatus::ESME_RTHROTTLED);
    // A garbled body after an error status is tolerated and dropped.
    let garbled = decode_one(&hex("00000013800000040000000b00000002414243")).unwrap();
    assert_eq!(garbled.body, Body::SubmitSmResp(None));
    // The same garbled body after ESME_ROK is an error.
    assert!(decode_one(&hex("00000013800000040000000000000002414243")).is_err());
}

#[test]
fn sequence_numbers_echo_verbatim() {
    let s = SequenceNumber::from_wire(0xFFFF_FFFF);
    assert_eq!(Pdu::new(s, Body::GenericNack).to_bytes()[12..], [0xFF; 4]);
}
