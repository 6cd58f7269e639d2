//! Boundary tests at each parser: strings at their maximum, one past it, a missing NUL,
//! sm_length overrun, TLV overrun, header-only PDUs with extra octets, counted lists.

use bytes::Bytes;
use smpp_wire::{Body, CommandId, CommandStatus, DecodeError, Pdu, TlvTag};

/// A PDU with the given id, status 0, sequence 1 and raw body.
fn frame(id: CommandId, body: &[u8]) -> Bytes {
    let mut f = Vec::new();
    f.extend_from_slice(&((16 + body.len()) as u32).to_be_bytes());
    f.extend_from_slice(&id.value().to_be_bytes());
    f.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 1]);
    f.extend_from_slice(body);
    Bytes::from(f)
}

fn cstr(s: &[u8]) -> Vec<u8> {
    let mut v = s.to_vec();
    v.push(0);
    v
}

/// A bind body with the given system_id and password.
fn bind_body(system_id: &[u8], password: &[u8]) -> Vec<u8> {
    [cstr(system_id), cstr(password), cstr(b"smpp"), vec![0x34, 1, 1], cstr(b"")].concat()
}

/// A submit_sm body with the given destination, times and short message octets.
fn submit_body(dest: &[u8], sched: &[u8], validity: &[u8], sm_length: u8, sm: &[u8]) -> Vec<u8> {
    [
        cstr(b""),
        vec![1, 1],
        cstr(b"12345"),
        vec![1, 1],
        cstr(dest),
        vec![0, 0, 0],
        cstr(sched),
        cstr(validity),
        vec![1, 0, 0, 0, sm_length],
        sm.to_vec(),
    ]
    .concat()
}

fn status_of(f: Bytes) -> CommandStatus {
    Pdu::decode(f).unwrap_err().command_status()
}

#[test]
fn bind_strings_at_and_past_their_maximum() {
    let ok = Pdu::decode(frame(CommandId::BIND_TRANSMITTER, &bind_body(&[b'a'; 15], &[b'p'; 8]))).unwrap();
    let Body::BindTransmitter(b) = ok.body else { panic!() };
    assert_eq!(b.system_id.len(), 15);
    assert_eq!(b.password.expose().len(), 8);

    let long_id = frame(CommandId::BIND_TRANSMITTER, &bind_body(&[b'a'; 16], b"p"));
    assert_eq!(Pdu::decode(long_id.clone()), Err(DecodeError::TooLong { field: "system_id", max: 16, offset: 16 }));
    assert_eq!(status_of(long_id), CommandStatus::ESME_RINVSYSID);
    let long_pw = frame(CommandId::BIND_TRANSMITTER, &bind_body(b"id", &[b'p'; 9]));
    assert_eq!(status_of(long_pw), CommandStatus::ESME_RINVPASWD);
}

#[test]
fn missing_nul_at_end_of_pdu() {
    let mut body = bind_body(b"id", b"pw");
    body.pop(); // address_range loses its NUL
    assert_eq!(
        Pdu::decode(frame(CommandId::BIND_RECEIVER, &body)),
        Err(DecodeError::MissingNul { field: "address_range", offset: 16 + body.len() })
    );
    // Truncated before the one-octet interface_version.
    let body = [cstr(b"id"), cstr(b"pw"), cstr(b"")].concat();
    assert_eq!(
        Pdu::decode(frame(CommandId::BIND_RECEIVER, &body)),
        Err(DecodeError::Truncated { field: "interface_version", offset: 16 + body.len() })
    );
}

#[test]
fn addresses_at_and_past_their_maximum() {
    let ok = frame(CommandId::SUBMIT_SM, &submit_body(&[b'9'; 20], b"", b"", 0, b""));
    assert!(Pdu::decode(ok).is_ok());
    let long = frame(CommandId::SUBMIT_SM, &submit_body(&[b'9'; 21], b"", b"", 0, b""));
    assert_eq!(status_of(long), CommandStatus::ESME_RINVDSTADR);
    // data_sm addresses are C65.
    let data = [cstr(b""), vec![1, 1], cstr(&[b'1'; 64]), vec![1, 1], cstr(&[b'2'; 64]), vec![0, 0, 0]].concat();
    assert!(matches!(Pdu::decode(frame(CommandId::DATA_SM, &data)).unwrap().body, Body::DataSm(_)));
}

#[test]
fn short_message_length_limits() {
    let full = frame(CommandId::SUBMIT_SM, &submit_body(b"1", b"", b"", 254, &[b'x'; 254]));
    let Body::SubmitSm(s) = Pdu::decode(full).unwrap().body else { panic!() };
    assert_eq!(s.short_message.len(), 254);

    let too_long = frame(CommandId::SUBMIT_SM, &submit_body(b"1", b"", b"", 255, &[b'x'; 255]));
    assert!(matches!(Pdu::decode(too_long.clone()), Err(DecodeError::InvalidValue { field: "sm_length", .. })));
    assert_eq!(status_of(too_long), CommandStatus::ESME_RINVMSGLEN);

    let overrun = frame(CommandId::SUBMIT_SM, &submit_body(b"1", b"", b"", 10, b"abc"));
    assert!(matches!(Pdu::decode(overrun.clone()), Err(DecodeError::Truncated { field: "short_message", .. })));
    assert_eq!(status_of(overrun), CommandStatus::ESME_RINVMSGLEN);
}

#[test]
fn time_fields_are_checked() {
    let ok = frame(CommandId::SUBMIT_SM, &submit_body(b"1", b"150203040506708+", b"000001000000000R", 0, b""));
    assert!(Pdu::decode(ok).is_ok());
    let bad_sched = frame(CommandId::SUBMIT_SM, &submit_body(b"1", b"1502030405", b"", 0, b""));
    assert_eq!(status_of(bad_sched), CommandStatus::ESME_RINVSCHED);
    let bad_validity = frame(CommandId::SUBMIT_SM, &submit_body(b"1", b"", b"991399999999999+", 0, b""));
    assert_eq!(status_of(bad_validity), CommandStatus::ESME_RINVEXPIRY);
    let too_long = frame(CommandId::SUBMIT_SM, &submit_body(b"1", b"", b"0000010000000000R", 0, b""));
    assert_eq!(status_of(too_long), CommandStatus::ESME_RINVEXPIRY);
}

#[test]
fn tlv_overrun_and_bad_length() {
    let mut body = submit_body(b"1", b"", b"", 0, b"");
    body.extend_from_slice(&[0x04, 0x24, 0x00, 0x05, b'a', b'b']);
    assert_eq!(status_of(frame(CommandId::SUBMIT_SM, &body)), CommandStatus::ESME_RINVOPTPARSTREAM);

    let mut body = submit_body(b"1", b"", b"", 0, b"");
    body.extend_from_slice(&[0x02, 0x0C, 0x00, 0x01, 0x07]);
    let e = Pdu::decode(frame(CommandId::SUBMIT_SM, &body)).unwrap_err();
    assert!(matches!(e, DecodeError::TlvLength { tag: TlvTag::SAR_MSG_REF_NUM, len: 1, .. }));
    assert_eq!(e.command_status(), CommandStatus::ESME_RINVPARLEN);

    let mut body = submit_body(b"1", b"", b"", 0, b"");
    body.extend_from_slice(&[0x02, 0x0C, 0x00]);
    assert_eq!(status_of(frame(CommandId::SUBMIT_SM, &body)), CommandStatus::ESME_RINVOPTPARSTREAM);
}

#[test]
fn header_only_pdus_with_extra_octets() {
    for id in [CommandId::ENQUIRE_LINK, CommandId::UNBIND] {
        let e = Pdu::decode(frame(id, &[1, 2, 3])).unwrap_err();
        assert_eq!(e, DecodeError::TrailingBytes { len: 3, offset: 16 });
        assert_eq!(e.command_status(), CommandStatus::ESME_RINVCMDLEN);
    }
    // Stray octets after a header-only response are ignored.
    for (id, body) in [
        (CommandId::ENQUIRE_LINK_RESP, Body::EnquireLinkResp),
        (CommandId::UNBIND_RESP, Body::UnbindResp),
        (CommandId::GENERIC_NACK, Body::GenericNack),
        (CommandId::CANCEL_SM_RESP, Body::CancelSmResp),
        (CommandId::REPLACE_SM_RESP, Body::ReplaceSmResp),
    ] {
        assert_eq!(Pdu::decode(frame(id, &[9, 9])).unwrap().body, body);
    }
    // v3.3-only bodies have no TLV area.
    let e = Pdu::decode(frame(CommandId::PARAM_RETRIEVE, &[b'x', 0, 0xAA])).unwrap_err();
    assert_eq!(e, DecodeError::TrailingBytes { len: 1, offset: 18 });
}

#[test]
fn submit_multi_counts_and_flags() {
    let head = [cstr(b""), vec![1, 1], cstr(b"12345")].concat();
    let tail = [vec![0, 0, 0], cstr(b""), cstr(b""), vec![0, 0, 0, 0, 0]].concat();
    let dests = [vec![2], vec![1, 1, 1], cstr(b"447700900123"), vec![2], cstr(b"friends")].concat();
    let ok = Pdu::decode(frame(CommandId::SUBMIT_MULTI, &[head.clone(), dests, tail.clone()].concat())).unwrap();
    let Body::SubmitMulti(m) = ok.body else { panic!() };
    assert_eq!(m.dest_addresses.len(), 2);

    let bad_flag = [vec![1], vec![3], cstr(b"x")].concat();
    let e = Pdu::decode(frame(CommandId::SUBMIT_MULTI, &[head.clone(), bad_flag, tail.clone()].concat())).unwrap_err();
    assert_eq!(e.command_status(), CommandStatus::ESME_RINVDESTFLAG);

    let too_many = vec![255];
    let e = Pdu::decode(frame(CommandId::SUBMIT_MULTI, &[head, too_many, tail].concat())).unwrap_err();
    assert_eq!(e.command_status(), CommandStatus::ESME_RINVNUMDESTS);
}

#[test]
fn every_truncation_of_a_valid_pdu_is_an_error_inside_the_frame() {
    let mut body = submit_body(b"447700900123", b"150203040506708+", b"", 5, b"hello");
    let mandatory = body.len();
    body.extend_from_slice(&[0x04, 0x27, 0x00, 0x01, 0x02]);
    for k in 0..body.len() {
        let f = frame(CommandId::SUBMIT_SM, &body[..k]);
        let len = f.len();
        match Pdu::decode(f) {
            // Cutting exactly after the mandatory fields leaves a valid PDU without TLVs.
            Ok(p) => assert!(k == mandatory && matches!(&p.body, Body::SubmitSm(s) if s.tlvs.is_empty()), "{k}"),
            Err(e) => assert!(e.offset().is_some_and(|o| o <= len), "{k}: {e:?}"),
        }
    }
}

#[test]
fn frame_and_length_mismatches() {
    assert_eq!(Pdu::decode(Bytes::from_static(&[0, 0, 0, 16])), Err(DecodeError::ShortHeader { len: 4 }));
    let mut f = frame(CommandId::ENQUIRE_LINK, &[]).to_vec();
    f.push(0);
    assert_eq!(Pdu::decode(Bytes::from(f)), Err(DecodeError::LengthMismatch { command_length: 16, actual: 17 }));
    let unknown = frame(CommandId(0x0000_0999), &[]);
    assert_eq!(status_of(unknown), CommandStatus::ESME_RINVCMDID);
}
