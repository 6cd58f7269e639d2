//! Deterministic tests of the session: an ESME and an SMSC wired together in memory
//! ([`util::Pair`]), or one session driven with raw PDUs, all in virtual time.

pub(crate) mod util;

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use smpp_wire::{
    Address, Body, CommandId, CommandStatus, DataSm, DeliverSm, InterfaceVersion, MessageState, OctetString, Pdu,
    SequenceNumber, ShortMessage, SubmitSm, SubmitSmResp, Tlv, frame_len,
};

use self::util::{Chunking, Pair, epoch, secs};
use crate::{
    BindMode, BindRequest, CloseReason, Event, Initiator, MissingScVersion, Request, SendError, Session, SessionConfig,
    SessionState,
};

fn submit(text: &str) -> Request {
    let mut s = SubmitSm::default();
    s.destination_addr = Address::international("447700900123").unwrap();
    s.short_message = ShortMessage::new(Bytes::copy_from_slice(text.as_bytes())).unwrap();
    Request::SubmitSm(s)
}

fn deliver() -> Request {
    let mut d = DeliverSm::default();
    d.source_addr = Address::international("447700900123").unwrap();
    d.short_message = ShortMessage::new(&b"mo"[..]).unwrap();
    Request::DeliverSm(d)
}

fn ok_resp(id: &str) -> Body {
    let mut r = SubmitSmResp::default();
    r.message_id = id.parse().unwrap();
    Body::SubmitSmResp(Some(r))
}

/// Every PDU a session has queued for the wire.
fn outputs(s: &mut Session) -> Vec<Pdu> {
    let mut buf = BytesMut::new();
    while let Some(t) = s.poll_transmit() {
        buf.extend_from_slice(&t.bytes);
    }
    let mut out = Vec::new();
    while let Some(n) = frame_len(&buf, usize::MAX).unwrap() {
        out.push(Pdu::decode(buf.split_to(n).freeze()).unwrap());
    }
    assert!(buf.is_empty());
    out
}

fn events(s: &mut Session) -> Vec<Event> {
    std::iter::from_fn(|| s.poll_event()).collect()
}

fn feed(s: &mut Session, now: Instant, pdu: Pdu) {
    s.handle_input(now, &pdu.to_bytes());
}

fn seq(n: u32) -> SequenceNumber {
    SequenceNumber::new(n)
}

/// An SMSC session bound (in `mode`) by raw PDUs, its output and events cleared.
fn bound_smsc(now: Instant, mode: BindMode, version: u8) -> Session {
    let mut s = Session::smsc(now, SessionConfig::default());
    let mut bind = smpp_wire::Bind::default();
    bind.system_id = "user".parse().unwrap();
    bind.interface_version = InterfaceVersion(version);
    let body = match mode {
        BindMode::Transmitter => Body::BindTransmitter(bind),
        BindMode::Receiver => Body::BindReceiver(bind),
        BindMode::Transceiver => Body::BindTransceiver(bind),
    };
    feed(&mut s, now, Pdu::new(seq(1), body));
    let Some(Event::BindRequest { seq: s1, .. }) = s.poll_event() else { panic!("no bind request") };
    s.accept_bind(now, s1, "SMSC").unwrap();
    outputs(&mut s);
    events(&mut s);
    s
}

/// An ESME session bound by a raw bind response carrying `sc_version`.
fn bound_esme(now: Instant, config: SessionConfig, mode: BindMode, sc_version: Option<u8>) -> Session {
    let bind = BindRequest::new(mode, "user", "secret").unwrap();
    let mut s = Session::esme(now, config, bind).unwrap();
    let sent = outputs(&mut s);
    let mut resp = smpp_wire::BindResp::default();
    resp.system_id = "SMSC".parse().unwrap();
    if let Some(v) = sc_version {
        resp.tlvs.push(Tlv::ScInterfaceVersion(InterfaceVersion(v)));
    }
    let body = match mode {
        BindMode::Transmitter => Body::BindTransmitterResp(Some(resp)),
        BindMode::Receiver => Body::BindReceiverResp(Some(resp)),
        BindMode::Transceiver => Body::BindTransceiverResp(Some(resp)),
    };
    feed(&mut s, now, Pdu::new(sent[0].sequence, body));
    events(&mut s);
    s
}

// ---- binding -------------------------------------------------------------------

#[test]
fn esme_binds_in_each_mode_with_the_platform_defaults() {
    for mode in [BindMode::Transmitter, BindMode::Receiver, BindMode::Transceiver] {
        let now = epoch();
        let bind = BindRequest::new(mode, "user", "secret").unwrap();
        let mut esme = Session::esme(now, SessionConfig::default(), bind).unwrap();
        let sent = outputs(&mut esme);
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].command_id(), mode.command_id());
        let (Body::BindTransmitter(b) | Body::BindReceiver(b) | Body::BindTransceiver(b)) = &sent[0].body else {
            panic!()
        };
        assert_eq!(b.system_id.as_bytes(), b"user");
        assert_eq!(b.password.expose(), b"secret");
        assert_eq!(b.system_type.as_bytes(), b"smpp");
        assert_eq!(b.interface_version, InterfaceVersion::V34);

        let mut p = Pair::new(SessionConfig::default(), SessionConfig::default(), mode);
        p.drive_bounded(10);
        assert_eq!(p.esme.state(), SessionState::Bound(mode));
        assert_eq!(p.smsc.state(), SessionState::Bound(mode));
        assert!(
            matches!(p.esme_events[..], [Event::Bound { mode: m, version: InterfaceVersion::V34 }] if m == mode),
            "{:?}",
            p.esme_events
        );
    }
}

#[test]
fn a_refused_bind_closes_with_the_status() {
    let mut p = Pair::new(SessionConfig::default(), SessionConfig::default(), BindMode::Transceiver);
    p.auto_accept = false;
    p.settle();
    let Some(Event::BindRequest { seq, bind, .. }) = p.smsc_events.pop() else { panic!() };
    assert_eq!(bind.password.expose(), b"secret");
    p.smsc.reject_bind(p.time, seq, CommandStatus::ESME_RINVPASWD).unwrap();
    p.settle();
    assert!(matches!(
        p.esme_events.last(),
        Some(Event::Closed { reason: CloseReason::BindRejected(CommandStatus::ESME_RINVPASWD) })
    ));
    assert!(matches!(p.smsc_events.last(), Some(Event::Closed { reason: CloseReason::BindRejected(_) })));
    assert!(p.esme.is_drained() && p.smsc.is_drained());
}

#[test]
fn missing_sc_interface_version_means_v33_unless_configured() {
    let now = epoch();
    let mut s = bound_esme(now, SessionConfig::default(), BindMode::Transmitter, None);
    assert_eq!(s.interface_version(), Some(InterfaceVersion::V33));
    let mut with_tlv = SubmitSm::default();
    with_tlv.tlvs.push(Tlv::SourcePort(5));
    assert_eq!(
        s.send(now, Request::SubmitSm(with_tlv.clone())),
        Err(SendError::TlvNotNegotiated { tag: smpp_wire::TlvTag::SOURCE_PORT, version: InterfaceVersion::V33 })
    );
    assert!(s.poll_transmit().is_none(), "nothing on the wire after a refused send");

    let mut config = SessionConfig::default();
    config.missing_sc_version(MissingScVersion::AssumeRequested);
    let mut s = bound_esme(now, config, BindMode::Transmitter, None);
    assert_eq!(s.interface_version(), Some(InterfaceVersion::V34));
    assert!(s.send(now, Request::SubmitSm(with_tlv)).is_ok());

    let s = bound_esme(now, SessionConfig::default(), BindMode::Transmitter, Some(0x34));
    assert_eq!(s.interface_version(), Some(InterfaceVersion::V34));
    let s = bound_esme(now, SessionConfig::default(), BindMode::Transmitter, Some(0x33));
    assert_eq!(s.interface_version(), Some(InterfaceVersion::V33));
}

#[test]
fn smsc_sends_sc_interface_version_only_to_v34_binds_and_gates_tlvs() {
    let now = epoch();
    for (asked, tlv, effective) in [
        (0x34, true, InterfaceVersion::V34),
        (0x33, false, InterfaceVersion::V33),
        (0x00, false, InterfaceVersion::V33),
        (0x7B, true, InterfaceVersion::V33),
    ] {
        let mut s = Session::smsc(now, SessionConfig::default());
        let mut bind = smpp_wire::Bind::default();
        bind.interface_version = InterfaceVersion(asked);
        feed(&mut s, now, Pdu::new(seq(9), Body::BindTransceiver(bind)));
        let Some(Event::BindRequest { seq: s9, .. }) = s.poll_event() else { panic!() };
        s.accept_bind(now, s9, "SMSC").unwrap();
        let out = outputs(&mut s);
        let Body::BindTransceiverResp(Some(r)) = &out[0].body else { panic!() };
        assert_eq!(r.tlvs.sc_interface_version().is_some(), tlv, "asked {asked:#x}");
        assert_eq!(s.interface_version(), Some(effective), "asked {asked:#x}");
        // Nothing with a TLV goes to a v3.3 ESME, responses included.
        if effective == InterfaceVersion::V33 {
            let mut d = DeliverSm::default();
            d.tlvs.push(Tlv::MessageState(MessageState::DELIVERED));
            assert!(matches!(s.send(now, Request::DeliverSm(d)), Err(SendError::TlvNotNegotiated { .. })));
            assert!(matches!(s.send(now, Request::DataSm(DataSm::default())), Err(SendError::NotInVersion { .. })));
        }
    }
}

#[test]
fn v33_has_no_transceiver_bind() {
    let mut config = SessionConfig::default();
    config.interface_version(InterfaceVersion::V33);
    let bind = BindRequest::new(BindMode::Transceiver, "u", "p").unwrap();
    assert!(matches!(Session::esme(epoch(), config, bind), Err(SendError::NotInVersion { .. })));
}

#[test]
fn outbind_is_answered_with_bind_receiver() {
    let now = epoch();
    let bind = BindRequest::new(BindMode::Transceiver, "user", "secret").unwrap();
    let mut esme = Session::esme_awaiting_outbind(now, SessionConfig::default(), bind);
    assert!(esme.poll_transmit().is_none());
    let mut smsc = Session::smsc_outbind(now, SessionConfig::default(), "SMSC".parse().unwrap(), Default::default());
    assert_eq!(smsc.state(), SessionState::Outbound);
    let out = smsc.poll_transmit().unwrap();
    esme.handle_input(now, &out.bytes);
    assert_eq!(esme.state(), SessionState::Outbound);
    assert!(matches!(esme.poll_event(), Some(Event::Outbind { .. })));
    let bind_pdu = outputs(&mut esme);
    assert!(matches!(bind_pdu[..], [Pdu { body: Body::BindReceiver(_), .. }]));
    feed(&mut smsc, now, bind_pdu[0].clone());
    let Some(Event::BindRequest { seq, mode: BindMode::Receiver, .. }) = smsc.poll_event() else { panic!() };
    smsc.accept_bind(now, seq, "SMSC").unwrap();
    esme.handle_input(now, &smsc.poll_transmit().unwrap().bytes);
    assert_eq!(esme.state(), SessionState::Bound(BindMode::Receiver));
}

// ---- legality --------------------------------------------------------------------

#[test]
fn requests_not_allowed_in_the_state_get_rinvbndsts() {
    let now = epoch();
    // Before any bind.
    let mut s = Session::smsc(now, SessionConfig::default());
    feed(&mut s, now, Pdu::new(seq(3), submit("x").into_body()));
    let out = outputs(&mut s);
    assert_eq!(out, vec![Pdu::with_status(seq(3), CommandStatus::ESME_RINVBNDSTS, Body::SubmitSmResp(None))]);
    assert!(events(&mut s).is_empty(), "the application never sees it");
    // submit_sm on a receiver bind.
    let mut s = bound_smsc(now, BindMode::Receiver, 0x34);
    feed(&mut s, now, Pdu::new(seq(4), submit("x").into_body()));
    assert_eq!(outputs(&mut s)[0].status, CommandStatus::ESME_RINVBNDSTS);
    // deliver_sm to a transmitter ESME; alert_notification there gets nothing.
    let mut e = bound_esme(now, SessionConfig::default(), BindMode::Transmitter, Some(0x34));
    feed(&mut e, now, Pdu::new(seq(5), deliver().into_body()));
    assert_eq!(
        outputs(&mut e),
        vec![Pdu::with_status(seq(5), CommandStatus::ESME_RINVBNDSTS, Body::DeliverSmResp(None))]
    );
    feed(&mut e, now, Pdu::new(seq(6), Body::AlertNotification(Default::default())));
    assert!(outputs(&mut e).is_empty());
    assert!(events(&mut e).is_empty());
    // The session goes on.
    assert_eq!(e.state(), SessionState::Bound(BindMode::Transmitter));
}

#[test]
fn a_second_bind_gets_ralybnd_and_keeps_the_first() {
    let now = epoch();
    let mut s = bound_smsc(now, BindMode::Transceiver, 0x34);
    feed(&mut s, now, Pdu::new(seq(7), Body::BindTransmitter(Default::default())));
    assert_eq!(
        outputs(&mut s),
        vec![Pdu::with_status(seq(7), CommandStatus::ESME_RALYBND, Body::BindTransmitterResp(None))]
    );
    assert_eq!(s.state(), SessionState::Bound(BindMode::Transceiver));
}

#[test]
fn unknown_ids_get_generic_nack_and_unknown_responses_are_dropped() {
    let now = epoch();
    let mut s = bound_smsc(now, BindMode::Transceiver, 0x34);
    s.handle_input(now, &[0, 0, 0, 16, 0, 0, 0x01, 0x99, 0, 0, 0, 0, 0, 0, 0, 42]);
    assert_eq!(outputs(&mut s), vec![Pdu::with_status(seq(42), CommandStatus::ESME_RINVCMDID, Body::GenericNack)]);
    s.handle_input(now, &[0, 0, 0, 16, 0x80, 0, 0x01, 0x99, 0, 0, 0, 0, 0, 0, 0, 43]);
    assert!(outputs(&mut s).is_empty(), "never answer a response");
    assert_eq!(s.state(), SessionState::Bound(BindMode::Transceiver));
}

#[test]
fn a_malformed_body_gets_its_own_response_and_the_session_goes_on() {
    let now = epoch();
    let mut s = bound_smsc(now, BindMode::Transceiver, 0x34);
    // submit_sm whose sm_length runs past the PDU.
    let mut raw = submit("hello").into_body();
    if let Body::SubmitSm(sm) = &mut raw {
        sm.short_message = ShortMessage::new(&b"hello"[..]).unwrap();
    }
    let mut bytes = Pdu::new(seq(11), raw).to_bytes().to_vec();
    let last = bytes.len();
    bytes[last - 6] = 9; // sm_length 9 > 5 octets left
    s.handle_input(now, &bytes);
    assert_eq!(
        outputs(&mut s),
        vec![Pdu::with_status(seq(11), CommandStatus::ESME_RINVMSGLEN, Body::SubmitSmResp(None))]
    );
    feed(&mut s, now, Pdu::new(seq(12), Body::EnquireLink));
    assert_eq!(outputs(&mut s), vec![Pdu::new(seq(12), Body::EnquireLinkResp)]);
}

#[test]
fn a_framing_error_is_nacked_then_closes() {
    let now = epoch();
    let mut s = bound_smsc(now, BindMode::Transceiver, 0x34);
    s.handle_input(now, &[0x38, 0, 0, 0x0F, 0x80, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 77]);
    assert_eq!(outputs(&mut s), vec![Pdu::with_status(seq(77), CommandStatus::ESME_RINVCMDLEN, Body::GenericNack)]);
    assert!(matches!(events(&mut s)[..], [Event::Closed { reason: CloseReason::Framing(_) }]));
    assert!(s.is_drained());
    // Fewer than 16 octets readable: sequence number 0.
    let mut s = bound_smsc(now, BindMode::Transceiver, 0x34);
    s.handle_input(now, &[0, 0, 0, 4]);
    assert_eq!(outputs(&mut s)[0].sequence.value(), 0);
}

#[test]
fn illegal_local_sends_are_typed_errors_with_nothing_on_the_wire() {
    let now = epoch();
    let mut e = bound_esme(now, SessionConfig::default(), BindMode::Receiver, Some(0x34));
    assert_eq!(
        e.send(now, submit("x")),
        Err(SendError::WrongBindMode { mode: BindMode::Receiver, command_id: CommandId::SUBMIT_SM })
    );
    assert_eq!(e.send(now, deliver()), Err(SendError::WrongRole { command_id: CommandId::DELIVER_SM }));
    let mut s = bound_smsc(now, BindMode::Transceiver, 0x34);
    assert_eq!(s.send(now, submit("x")), Err(SendError::WrongRole { command_id: CommandId::SUBMIT_SM }));
    let bind = BindRequest::new(BindMode::Transmitter, "u", "p").unwrap();
    let mut unbound = Session::esme(now, SessionConfig::default(), bind).unwrap();
    outputs(&mut unbound);
    assert_eq!(unbound.send(now, submit("x")), Err(SendError::NotBound));
    assert!(e.poll_transmit().is_none() && s.poll_transmit().is_none() && unbound.poll_transmit().is_none());
    // Responses must match the request they answer.
    feed(&mut s, now, Pdu::new(seq(5), submit("y").into_body()));
    let Some(Event::Request { seq: r, .. }) = s.poll_event() else { panic!() };
    assert_eq!(
        s.respond(now, r, CommandStatus::ESME_ROK, Body::DeliverSmResp(None)),
        Err(SendError::ResponseMismatch { request: CommandId::SUBMIT_SM, got: CommandId::DELIVER_SM_RESP })
    );
    assert_eq!(
        s.respond(now, seq(99), CommandStatus::ESME_ROK, ok_resp("1")),
        Err(SendError::UnknownSequence(seq(99)))
    );
    let mut too_long = SubmitSm::default();
    too_long.tlvs.push(Tlv::MessagePayload(OctetString::new(vec![0u8; 65_535]).unwrap()));
    too_long.tlvs.push(Tlv::MessagePayload(OctetString::new(vec![0u8; 10]).unwrap()));
    let mut t = bound_esme(now, SessionConfig::default(), BindMode::Transmitter, Some(0x34));
    assert!(matches!(t.send(now, Request::SubmitSm(too_long)), Err(SendError::TooLong { .. })));
}

// ---- flow ----------------------------------------------------------------------

#[test]
fn the_window_refuses_past_its_size_and_reopens_with_an_event() {
    let mut config = SessionConfig::default();
    config.window(3);
    let mut p = Pair::bound(config);
    let seqs: Vec<_> = (0..3).map(|k| p.esme.send(p.time, submit(&k.to_string())).unwrap()).collect();
    assert_eq!(p.esme.send(p.time, submit("4")), Err(SendError::WindowFull));
    assert_eq!(p.esme.in_flight(), 3);
    p.settle();
    // Answer the last one first: responses may come in any order.
    let inbound: Vec<SequenceNumber> = p
        .smsc_events
        .drain(..)
        .filter_map(|e| match e {
            Event::Request { seq, .. } => Some(seq),
            _ => None,
        })
        .collect();
    assert_eq!(inbound.len(), 3);
    p.smsc.respond(p.time, inbound[2], CommandStatus::ESME_ROK, ok_resp("c")).unwrap();
    p.settle();
    assert!(
        matches!(&p.esme_events[..], [Event::Response { seq, status: CommandStatus::ESME_ROK, .. }, Event::WindowOpen] if *seq == seqs[2])
    );
    assert!(p.esme.send(p.time, submit("4")).is_ok());
    assert_eq!(p.esme.send(p.time, submit("5")), Err(SendError::WindowFull));
}

#[test]
fn a_late_response_is_reported_not_crashed_on() {
    let mut p = Pair::bound(SessionConfig::default());
    let s = p.esme.send(p.time, submit("x")).unwrap();
    p.settle();
    let Some(Event::Request { seq: r, .. }) = p.smsc_events.pop() else { panic!() };
    p.advance(secs(30));
    assert!(
        matches!(p.esme_events[..], [Event::ResponseTimeout { seq, request: CommandId::SUBMIT_SM, .. }] if seq == s)
    );
    p.smsc.respond(p.time, r, CommandStatus::ESME_ROK, ok_resp("late")).unwrap();
    p.settle();
    assert!(matches!(p.esme_events[1], Event::UnexpectedResponse { late: true, .. }));
    assert_eq!(p.esme.in_flight(), 0);
}

#[test]
fn enquire_link_goes_out_after_60s_idle_and_is_answered() {
    let mut p = Pair::bound(SessionConfig::default());
    let start = p.time;
    p.advance(secs(59));
    assert!(p.to_smsc.is_empty());
    assert_eq!(p.esme.next_timer().map(|(t, k)| (t - start, k)), Some((secs(60), crate::TimerKind::EnquireLink)));
    p.advance(secs(1) + secs(60) * 9);
    // Ten intervals of keep-alives, each answered: still bound, no events.
    assert_eq!(p.esme.state(), SessionState::Bound(BindMode::Transceiver));
    let stats = p.esme.stats();
    assert_eq!((stats.enquire_links_sent, stats.enquire_links_answered), (10, 10));
    assert_eq!(p.smsc.stats().enquire_links_received, 10);
    assert!(p.esme_events.is_empty() && p.smsc_events.is_empty(), "{:?}", p.esme_events);
}

#[test]
fn enquire_link_is_answered_before_bind() {
    let now = epoch();
    let mut s = Session::smsc(now, SessionConfig::default());
    feed(&mut s, now, Pdu::new(seq(2), Body::EnquireLink));
    assert_eq!(outputs(&mut s), vec![Pdu::new(seq(2), Body::EnquireLinkResp)]);
}

#[test]
fn silent_smsc_ends_session_after_enquire_link_response_timeout() {
    let mut config = SessionConfig::default();
    config.enquire_link_interval(Some(secs(30))).response_timeout(Some(secs(10)));
    let mut p = Pair::bound(config);
    let start = p.time;
    p.mute_smsc = true;
    p.drive_bounded(20);
    assert!(matches!(p.esme_events.last(), Some(Event::Closed { reason: CloseReason::EnquireLinkTimeout })));
    assert_eq!(p.time - start, secs(30) + secs(10));
}

#[test]
fn a_silent_peer_is_dropped_after_the_inactivity_timeout() {
    let mut config = SessionConfig::default();
    config.enquire_link_interval(None);
    let mut p = Pair::bound(config);
    let start = p.time;
    p.mute_esme = true;
    p.drive_bounded(20);
    assert!(matches!(p.smsc_events.last(), Some(Event::Closed { reason: CloseReason::InactivityTimeout })));
    assert_eq!(p.time - start, secs(300));
}

#[test]
fn a_request_times_out_after_30s_by_default_naming_it() {
    let mut p = Pair::bound(SessionConfig::default());
    p.mute_smsc = true;
    let s = p.esme.send(p.time, submit("x")).unwrap();
    let start = p.time;
    p.advance(secs(29));
    assert!(p.esme_events.is_empty());
    p.advance(secs(1));
    assert!(matches!(p.esme_events[..], [Event::ResponseTimeout { seq, .. }] if seq == s));
    assert_eq!(p.time - start, secs(30));
}

#[test]
fn an_smsc_closes_a_connection_that_never_binds() {
    let now = epoch();
    let mut s = Session::smsc(now, SessionConfig::default());
    assert_eq!(s.poll_timeout(), Some(now + secs(10)));
    s.handle_timeout(now + secs(9));
    assert!(events(&mut s).is_empty());
    s.handle_timeout(now + secs(10));
    assert!(matches!(events(&mut s)[..], [Event::Closed { reason: CloseReason::BindTimeout }]));
}

#[test]
fn local_unbind_drains_outstanding_requests_then_unbinds() {
    let mut p = Pair::bound(SessionConfig::default());
    let a = p.esme.send(p.time, submit("a")).unwrap();
    p.settle();
    p.esme.unbind(p.time).unwrap();
    assert_eq!(p.esme.send(p.time, submit("b")), Err(SendError::Unbinding));
    p.settle();
    assert!(p.to_smsc.is_empty(), "unbind waits for the outstanding response");
    let r = p.smsc_events.iter().find_map(|e| match e {
        Event::Request { seq, .. } => Some(*seq),
        _ => None,
    });
    p.smsc.respond(p.time, r.unwrap(), CommandStatus::ESME_ROK, ok_resp("m1")).unwrap();
    p.settle();
    assert!(
        matches!(&p.esme_events[..], [Event::Response { seq, .. }, Event::Closed { reason: CloseReason::Unbound { initiator: Initiator::Local } }] if *seq == a),
        "{:?}",
        p.esme_events
    );
    assert!(matches!(
        p.smsc_events.last(),
        Some(Event::Closed { reason: CloseReason::Unbound { initiator: Initiator::Remote } })
    ));
    assert!(p.esme.is_drained() && p.smsc.is_drained());
}

#[test]
fn local_unbind_gives_up_waiting_after_the_grace_period() {
    let mut p = Pair::bound(SessionConfig::default());
    p.mute_smsc = true;
    p.esme.send(p.time, submit("a")).unwrap();
    p.esme.unbind(p.time).unwrap();
    let start = p.time;
    p.drive_bounded(20);
    assert!(matches!(
        p.esme_events.last(),
        Some(Event::Closed { reason: CloseReason::Unbound { initiator: Initiator::Local } })
    ));
    assert!(p.esme_events.iter().any(|e| matches!(e, Event::RequestFailed { .. } | Event::ResponseTimeout { .. })));
    assert_eq!(p.time - start, secs(10), "5 s to drain, then 5 s for unbind_resp");
}

#[test]
fn peer_unbind_is_answered_then_closes_and_fails_what_was_outstanding() {
    let mut p = Pair::bound(SessionConfig::default());
    let a = p.esme.send(p.time, submit("a")).unwrap();
    p.settle();
    p.smsc.unbind(p.time).unwrap();
    // The SMSC has nothing outstanding of its own: unbind goes at once.
    p.settle();
    let closed: Vec<_> = p.esme_events.iter().filter(|e| matches!(e, Event::Closed { .. })).collect();
    assert_eq!(closed.len(), 1, "Closed exactly once");
    assert!(
        matches!(&p.esme_events[..], [Event::RequestFailed { seq, reason: CloseReason::Unbound { initiator: Initiator::Remote }, .. }, Event::Closed { reason: CloseReason::Unbound { initiator: Initiator::Remote } }] if *seq == a),
        "{:?}",
        p.esme_events
    );
    assert!(matches!(
        p.smsc_events.last(),
        Some(Event::Closed { reason: CloseReason::Unbound { initiator: Initiator::Local } })
    ));
    assert_eq!(p.esme.send(p.time, submit("b")), Err(SendError::Closed));
}

#[test]
fn closed_is_reported_once_and_last_and_every_request_fails() {
    let mut p = Pair::bound(SessionConfig::default());
    let sent: Vec<_> = (0..4).map(|k| p.esme.send(p.time, submit(&k.to_string())).unwrap()).collect();
    p.esme.handle_eof(p.time);
    p.esme.handle_eof(p.time);
    p.esme.close(p.time);
    p.settle();
    let failed: Vec<_> = p
        .esme_events
        .iter()
        .filter_map(|e| match e {
            Event::RequestFailed { seq, reason: CloseReason::PeerClosed, .. } => Some(*seq),
            _ => None,
        })
        .collect();
    assert_eq!(failed, sent);
    assert!(matches!(p.esme_events.last(), Some(Event::Closed { reason: CloseReason::PeerClosed })));
    assert_eq!(p.esme_events.iter().filter(|e| matches!(e, Event::Closed { .. })).count(), 1);
    assert_eq!(p.esme.poll_timeout(), None);
}

#[test]
fn output_is_coalesced_into_one_buffer() {
    let mut p = Pair::bound(SessionConfig::default());
    for k in 0..5 {
        p.esme.send(p.time, submit(&k.to_string())).unwrap();
    }
    let t = p.esme.poll_transmit().unwrap();
    assert!(p.esme.poll_transmit().is_none());
    let mut buf = BytesMut::from(&t.bytes[..]);
    let mut n = 0;
    while let Some(len) = frame_len(&buf, usize::MAX).unwrap() {
        let _ = buf.split_to(len);
        n += 1;
    }
    assert_eq!(n, 5);
}

#[test]
fn inbound_requests_past_the_receive_window_are_throttled() {
    let now = epoch();
    let mut config = SessionConfig::default();
    config.receive_window(2);
    let mut s = Session::smsc(now, config);
    let mut bind = smpp_wire::Bind::default();
    bind.interface_version = InterfaceVersion::V34;
    feed(&mut s, now, Pdu::new(seq(1), Body::BindTransmitter(bind)));
    let Some(Event::BindRequest { seq: b, .. }) = s.poll_event() else { panic!() };
    s.accept_bind(now, b, "S").unwrap();
    outputs(&mut s);
    for k in 2..5 {
        feed(&mut s, now, Pdu::new(seq(k), submit("x").into_body()));
    }
    assert_eq!(
        outputs(&mut s),
        vec![Pdu::with_status(seq(4), CommandStatus::ESME_RTHROTTLED, Body::SubmitSmResp(None))]
    );
    assert_eq!(s.awaiting_response(), 2);
}

/// The same exchange, cut into the wire in different ways, gives the same events.
fn scripted_exchange(chunking: Chunking) -> Vec<String> {
    let mut config = SessionConfig::default();
    config.window(50);
    let mut p = Pair::bound(config);
    p.chunking = chunking;
    p.latency = Duration::from_millis(5);
    // Answers every request either side has received.
    let answer_all = |p: &mut Pair| {
        for e in std::mem::take(&mut p.smsc_events) {
            if let Event::Request { seq, request: Request::SubmitSm(_), .. } = e {
                p.smsc.respond(p.time, seq, CommandStatus::ESME_ROK, ok_resp("id")).unwrap();
            }
        }
        let mut keep = Vec::new();
        for e in std::mem::take(&mut p.esme_events) {
            match e {
                Event::Request { seq, .. } => {
                    p.esme.respond(p.time, seq, CommandStatus::ESME_ROK, Body::DeliverSmResp(None)).unwrap();
                    keep.push(format!("deliver_sm {seq:?}"));
                }
                other => keep.push(format!("{other:?}")),
            }
        }
        keep
    };
    let mut log = Vec::new();
    for k in 0..20 {
        p.esme.send(p.time, submit(&format!("message {k}"))).unwrap();
        if k % 7 == 0 {
            p.smsc.send(p.time, deliver()).unwrap();
        }
        p.advance(Duration::from_millis(1));
        log.extend(answer_all(&mut p));
    }
    for _ in 0..5 {
        p.advance(Duration::from_millis(10));
        log.extend(answer_all(&mut p));
    }
    log
}

#[test]
fn any_chunking_gives_the_same_events() {
    let whole = scripted_exchange(Chunking::Whole);
    assert_eq!(whole.iter().filter(|e| e.starts_with("Response")).count(), 20);
    assert_eq!(whole.iter().filter(|e| e.starts_with("deliver_sm")).count(), 3);
    assert_eq!(scripted_exchange(Chunking::Bytewise), whole);
    for seed in 1..6 {
        assert_eq!(scripted_exchange(Chunking::Seeded(seed)), whole);
    }
}

#[test]
fn the_receive_buffer_holds_less_than_one_pdu() {
    let now = epoch();
    let mut s = bound_smsc(now, BindMode::Transceiver, 0x34);
    let mut stream = Vec::new();
    for k in 0..50 {
        stream.extend_from_slice(&Pdu::new(seq(k + 10), Body::EnquireLink).to_bytes());
    }
    stream.extend_from_slice(&[0, 0, 0, 16, 0, 0]);
    s.handle_input(now, &stream);
    assert_eq!(outputs(&mut s).len(), 50);
    assert_eq!(s.rx.len(), 6);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]

    /// Random chunking seeds and random jumps in time: every submit ends with exactly
    /// one outcome, and the session never panics.
    #[test]
    fn every_request_gets_exactly_one_outcome(seed in 1u64..u64::MAX, jumps in proptest::collection::vec(0u64..50, 1..20)) {
        let mut p = Pair::bound(SessionConfig::default());
        p.chunking = Chunking::Seeded(seed);
        p.latency = Duration::from_millis(seed % 20);
        let mut sent = Vec::new();
        for (k, j) in jumps.iter().enumerate() {
            if let Ok(s) = p.esme.send(p.time, submit(&k.to_string())) {
                sent.push(s);
            }
            p.advance(Duration::from_secs(*j));
            let reqs: Vec<_> = p.smsc_events.drain(..).filter_map(|e| match e { Event::Request { seq, .. } => Some(seq), _ => None }).collect();
            for (i, r) in reqs.into_iter().enumerate() {
                // Leave some unanswered so timeouts happen too.
                if !(i as u64 + seed).is_multiple_of(3) {
                    let _ = p.smsc.respond(p.time, r, CommandStatus::ESME_ROK, ok_resp("x"));
                }
            }
        }
        p.esme.close(p.time);
        p.settle();
        let mut outcomes: Vec<SequenceNumber> = p.esme_events.iter().filter_map(|e| match e {
            Event::Response { seq, .. } | Event::ResponseTimeout { seq, .. } | Event::RequestFailed { seq, .. } => Some(*seq),
            _ => None,
        }).collect();
        outcomes.sort();
        let mut expected = sent.clone();
        expected.sort();
        proptest::prop_assert_eq!(outcomes, expected);
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// Arbitrary bytes and time steps into both roles: no panic, and the receive
    /// buffer never holds a whole PDU or more than the maximum PDU length.
    #[test]
    fn arbitrary_input_never_panics_and_stays_bounded(
        chunks in proptest::collection::vec((proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64), 0u64..400), 0..24),
        prefix_valid in proptest::prelude::any::<bool>(),
    ) {
        let t0 = epoch();
        let mut config = SessionConfig::default();
        config.max_pdu_len(512);
        let bind = BindRequest::new(BindMode::Transceiver, "u", "p").unwrap();
        let mut sessions = [Session::smsc(t0, config.clone()), Session::esme(t0, config, bind).unwrap()];
        let mut now = t0;
        for s in &mut sessions {
            if prefix_valid {
                // Start from a plausible header so bodies get parsed too.
                s.handle_input(now, &[0, 0, 0, 40, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 1]);
            }
        }
        for (bytes, step) in &chunks {
            now += Duration::from_secs(*step);
            for s in &mut sessions {
                s.handle_input(now, bytes);
                s.handle_timeout(now);
                while s.poll_transmit().is_some() {}
                let mut n = 0;
                while s.poll_event().is_some() { n += 1; }
                proptest::prop_assert!(n <= 64 / 16 + 4);
                proptest::prop_assert!(s.rx.len() < 512);
            }
        }
    }
}

// ---- message safety ---------------------------------------------------------------

/// A raw frame: command id, status, sequence number and body octets.
fn raw(command_id: u32, status: u32, seq: u32, body: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&(16 + body.len() as u32).to_be_bytes());
    v.extend_from_slice(&command_id.to_be_bytes());
    v.extend_from_slice(&status.to_be_bytes());
    v.extend_from_slice(&seq.to_be_bytes());
    v.extend_from_slice(body);
    v
}

#[test]
fn a_status_0_response_with_a_stray_octet_is_a_success_with_its_message_id() {
    let now = epoch();
    let mut s = bound_esme(now, SessionConfig::default(), BindMode::Transceiver, Some(0x34));
    let a = s.send(now, submit("a")).unwrap();
    outputs(&mut s);
    s.handle_input(now, &raw(0x8000_0004, 0, a.value(), b"0a1b2c\0\0"));
    match &events(&mut s)[..] {
        [Event::Response { seq, status, response: Body::SubmitSmResp(Some(r)), .. }] => {
            assert_eq!(*seq, a);
            assert_eq!(*status, CommandStatus::ESME_ROK);
            assert_eq!(r.message_id.as_bytes(), b"0a1b2c");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s.in_flight(), 0);
}

#[test]
fn a_status_0_bind_resp_with_an_over_long_system_id_and_a_pad_octet_binds() {
    for tail in [&b"\0"[..], &[0x02, 0x10, 0x00, 0x01, 0x34][..]] {
        let now = epoch();
        let bind = BindRequest::new(BindMode::Transceiver, "user", "secret").unwrap();
        let mut s = Session::esme(now, SessionConfig::default(), bind).unwrap();
        let sent = outputs(&mut s);
        let mut body = b"ABCDEFGHIJKLMNOPQ\0".to_vec();
        body.extend_from_slice(tail);
        s.handle_input(now, &raw(0x8000_0009, 0, sent[0].sequence.value(), &body));
        let ev = events(&mut s);
        assert!(matches!(ev[..], [Event::Bound { mode: BindMode::Transceiver, .. }]), "{ev:?}");
        assert_eq!(s.state(), SessionState::Bound(BindMode::Transceiver));
    }
}

#[test]
fn a_generic_nack_with_status_0_is_not_a_success() {
    let now = epoch();
    let mut s = bound_esme(now, SessionConfig::default(), BindMode::Transceiver, Some(0x34));
    let a = s.send(now, submit("a")).unwrap();
    outputs(&mut s);
    s.handle_input(now, &raw(0x8000_0000, 0, a.value(), b""));
    match &events(&mut s)[..] {
        [Event::Response { seq, status, response: Body::GenericNack, .. }] => {
            assert_eq!(*seq, a);
            assert!(status.is_error(), "{status}");
        }
        other => panic!("{other:?}"),
    }
    // The same for a bind: a generic_nack with status 0 does not bind.
    let bind = BindRequest::new(BindMode::Transceiver, "user", "secret").unwrap();
    let mut s = Session::esme(now, SessionConfig::default(), bind).unwrap();
    let sent = outputs(&mut s);
    s.handle_input(now, &raw(0x8000_0000, 0, sent[0].sequence.value(), b""));
    assert!(matches!(events(&mut s)[..], [Event::Closed { reason: CloseReason::BindRejected(_) }]));
}

#[test]
fn a_response_of_another_kind_does_not_complete_the_request() {
    let now = epoch();
    let mut s = bound_esme(now, SessionConfig::default(), BindMode::Transceiver, Some(0x34));
    let a = s.send(now, submit("a")).unwrap();
    outputs(&mut s);
    // A well-formed deliver_sm_resp, a garbled query_sm_resp and an unknown response
    // id, all with the submit's number: none answers it.
    s.handle_input(now, &raw(0x8000_0005, 0, a.value(), b"\0"));
    s.handle_input(now, &raw(0x8000_0003, 0, a.value(), b"12"));
    s.handle_input(now, &raw(0x8000_0777, 0, a.value(), b""));
    let ev = events(&mut s);
    assert_eq!(ev.len(), 3, "{ev:?}");
    assert!(ev.iter().all(|e| matches!(e, Event::UnexpectedResponse { seq, late: false, .. } if *seq == a)), "{ev:?}");
    assert_eq!(s.in_flight(), 1, "still waiting for its own response");
    s.handle_input(now, &raw(0x8000_0004, 0, a.value(), b"id\0"));
    assert!(matches!(events(&mut s)[..], [Event::Response { seq, status: CommandStatus::ESME_ROK, .. }] if seq == a));
}

#[test]
fn inbound_requests_are_handled_as_bound_until_our_unbind_is_on_the_wire() {
    let mut p = Pair::bound(SessionConfig::default());
    let a = p.esme.send(p.time, submit("a")).unwrap();
    p.settle();
    p.esme.unbind(p.time).unwrap();
    p.settle();
    // Our unbind waits for the submit's response; meanwhile a receipt arrives.
    let d = p.smsc.send(p.time, deliver()).unwrap();
    p.settle();
    let inbound = p.esme_events.iter().find_map(|e| match e {
        Event::Request { seq, .. } => Some(*seq),
        _ => None,
    });
    let inbound = inbound.expect("the receipt reaches the application, not ESME_RINVBNDSTS");
    p.esme.respond(p.time, inbound, CommandStatus::ESME_ROK, Body::DeliverSmResp(None)).unwrap();
    p.settle();
    assert!(
        p.smsc_events
            .iter()
            .any(|e| matches!(e, Event::Response { seq, status: CommandStatus::ESME_ROK, .. } if *seq == d)),
        "{:?}",
        p.smsc_events
    );
    // Now the submit is answered, our unbind goes out; after that the session is
    // unbound for the peer.
    let r = p.smsc_events.iter().find_map(|e| match e {
        Event::Request { seq, request: Request::SubmitSm(_), .. } => Some(*seq),
        _ => None,
    });
    // Keep our unbind from reaching the SMSC, so no unbind_resp closes the session.
    p.mute_esme = true;
    p.smsc.respond(p.time, r.unwrap(), CommandStatus::ESME_ROK, ok_resp("m")).unwrap();
    p.settle();
    assert!(p.esme_events.iter().any(|e| matches!(e, Event::Response { seq, .. } if *seq == a)));
    assert_eq!(p.esme.state(), SessionState::Unbound);
    let mut d = DeliverSm::default();
    d.short_message = ShortMessage::new(&b"late"[..]).unwrap();
    feed(&mut p.esme, p.time, Pdu::new(seq(99), Body::DeliverSm(d)));
    let out = outputs(&mut p.esme);
    assert_eq!(out.last().map(|o| o.status), Some(CommandStatus::ESME_RINVBNDSTS));
}

#[test]
fn requests_never_handed_out_are_withdrawn_and_reported_unsent_on_close() {
    let now = epoch();
    let mut s = bound_esme(now, SessionConfig::default(), BindMode::Transceiver, Some(0x34));
    let a = s.send(now, submit("a")).unwrap();
    let out = s.poll_transmit().unwrap();
    let b = s.send(now, submit("b")).unwrap();
    // An enquire_link answer queued between them must survive the withdrawal.
    feed(&mut s, now, Pdu::new(seq(50), Body::EnquireLink));
    let c = s.send(now, submit("c")).unwrap();
    s.close(now);
    let failed: Vec<_> = events(&mut s)
        .into_iter()
        .filter_map(|e| match e {
            Event::RequestFailed { seq, sent, .. } => Some((seq, sent)),
            _ => None,
        })
        .collect();
    assert_eq!(failed, vec![(a, true), (b, false), (c, false)]);
    let rest = outputs(&mut s);
    assert_eq!(rest.len(), 1, "only the enquire_link_resp is still written: {rest:?}");
    assert_eq!(rest[0].command_id(), CommandId::ENQUIRE_LINK_RESP);
    assert!(!out.bytes.is_empty());
}

#[test]
fn io_errors_and_stalled_writes_have_their_own_close_reasons() {
    let now = epoch();
    let mut s = bound_esme(now, SessionConfig::default(), BindMode::Transceiver, Some(0x34));
    s.handle_io_error(now);
    assert!(matches!(events(&mut s)[..], [Event::Closed { reason: CloseReason::IoError }]));
    let mut s = bound_esme(now, SessionConfig::default(), BindMode::Transceiver, Some(0x34));
    let a = s.send(now, submit("a")).unwrap();
    let _ = s.poll_transmit();
    s.handle_write_stalled(now);
    assert!(matches!(
        events(&mut s)[..],
        [
            Event::RequestFailed { seq, reason: CloseReason::WriteStalled, sent: true, .. },
            Event::Closed { reason: CloseReason::WriteStalled }
        ] if seq == a
    ));
}

/// A deliver_sm receipt with the given TLV octets after its mandatory part.
fn receipt_frame(seq_no: u32, tlvs: &[u8]) -> Vec<u8> {
    let mut d = DeliverSm::default();
    d.esm_class = smpp_wire::EsmClass(0x04);
    d.short_message = ShortMessage::new(&b"id:7 stat:DELIVRD"[..]).unwrap();
    let mut wire = Pdu::new(seq(seq_no), Body::DeliverSm(d)).to_bytes().to_vec();
    wire.extend_from_slice(tlvs);
    let len = wire.len() as u32;
    wire[..4].copy_from_slice(&len.to_be_bytes());
    wire
}

#[test]
fn an_esme_takes_a_receipt_with_a_malformed_tlv_and_says_so() {
    let now = epoch();
    let mut s = bound_esme(now, SessionConfig::default(), BindMode::Transceiver, Some(0x34));
    // message_state of length 2, then a good receipted_message_id.
    s.handle_input(now, &receipt_frame(9, &[0x04, 0x27, 0x00, 0x02, 0x02, 0x00, 0x00, 0x1E, 0x00, 0x02, b'7', 0]));
    assert!(outputs(&mut s).is_empty(), "not refused with 0xC0: the application answers");
    match &events(&mut s)[..] {
        [Event::Request { seq: s9, request: Request::DeliverSm(d), salvaged: Some(salvaged) }] => {
            assert_eq!(*s9, seq(9));
            assert_eq!(salvaged.raw_tlvs, vec![smpp_wire::TlvTag::MESSAGE_STATE]);
            assert_eq!(d.short_message.as_bytes(), b"id:7 stat:DELIVRD");
            assert!(d.tlvs.receipted_message_id().is_some());
        }
        other => panic!("{other:?}"),
    }
    // A clean one says nothing.
    s.handle_input(now, &receipt_frame(10, &[]));
    assert!(matches!(events(&mut s)[..], [Event::Request { salvaged: None, .. }]));
}

#[test]
fn an_smsc_still_refuses_a_submit_with_a_malformed_tlv() {
    let now = epoch();
    let mut s = bound_smsc(now, BindMode::Transceiver, 0x34);
    let mut wire = Pdu::new(seq(3), submit("x").into_body()).to_bytes().to_vec();
    wire.extend_from_slice(&[0x04, 0x27, 0x00, 0x02, 0x02, 0x00]);
    let len = wire.len() as u32;
    wire[..4].copy_from_slice(&len.to_be_bytes());
    s.handle_input(now, &wire);
    assert!(events(&mut s).is_empty());
    let out = outputs(&mut s);
    assert_eq!(out[0].command_id(), CommandId::SUBMIT_SM_RESP);
    assert!(out[0].status.is_error());
}

#[test]
fn a_request_not_yet_handed_out_does_not_time_out() {
    let now = epoch();
    let mut config = SessionConfig::default();
    config.response_timeout(Some(secs(5))).enquire_link_interval(None);
    let mut s = bound_esme(now, config, BindMode::Transceiver, Some(0x34));
    let a = s.send(now, submit("a")).unwrap();
    // The driver's output is backed up: nothing is taken for 12 s.
    s.handle_timeout(now + secs(6));
    s.handle_timeout(now + secs(12));
    assert!(events(&mut s).is_empty(), "it never left, so it cannot have timed out");
    assert_eq!(s.in_flight(), 1);
    let _ = s.poll_transmit();
    s.handle_timeout(now + secs(30));
    assert!(matches!(events(&mut s)[..], [Event::ResponseTimeout { seq, .. }] if seq == a));
}

/// Moves every octet between two sessions of any token types until both are quiet.
fn pump<A, B>(now: Instant, a: &mut Session<A>, b: &mut Session<B>) {
    for _ in 0..16 {
        let mut moved = false;
        while let Some(t) = a.poll_transmit() {
            b.handle_input(now, &t.bytes);
            moved = true;
        }
        while let Some(t) = b.poll_transmit() {
            a.handle_input(now, &t.bytes);
            moved = true;
        }
        if !moved {
            return;
        }
    }
}

/// The token a request is sent with comes back in the one event that ends it:
/// the response, the timeout, or the failure at close (with the octets unsent).
#[test]
fn tokens_come_back_with_each_outcome() {
    let t0 = epoch();
    let mut config = SessionConfig::default();
    config.response_timeout(Some(Duration::from_secs(5)));
    let bind = BindRequest::new(BindMode::Transceiver, "user", "secret").unwrap();
    let mut esme: Session<&'static str> = Session::esme(t0, config.clone(), bind).unwrap().with_tokens().unwrap();
    let mut smsc = Session::smsc(t0, config);
    pump(t0, &mut esme, &mut smsc);
    let Some(Event::BindRequest { seq, .. }) = smsc.poll_event() else { panic!("no bind") };
    smsc.accept_bind(t0, seq, "SMSC").unwrap();
    pump(t0, &mut esme, &mut smsc);
    while smsc.poll_event().is_some() {}
    assert!(matches!(esme.poll_event(), Some(Event::Bound { .. })));
    let answered = esme.send_with(t0, submit("a"), "answered").unwrap();
    let timed_out = esme.send_with(t0, submit("b"), "timed out").unwrap();
    pump(t0, &mut esme, &mut smsc);
    let Some(Event::Request { seq, .. }) = smsc.poll_event() else { panic!("no request") };
    smsc.respond(t0, seq, CommandStatus::ESME_ROK, Body::SubmitSmResp(None)).unwrap();
    pump(t0, &mut esme, &mut smsc);
    assert!(matches!(esme.poll_event(), Some(Event::Response { seq, token: "answered", .. }) if seq == answered));
    esme.handle_timeout(t0 + Duration::from_secs(5));
    assert!(
        matches!(esme.poll_event(), Some(Event::ResponseTimeout { seq, token: "timed out", .. }) if seq == timed_out)
    );
    let unsent = esme.send_with(t0, submit("c"), "never sent").unwrap();
    esme.close(t0);
    assert!(matches!(
        esme.poll_event(),
        Some(Event::RequestFailed { seq, sent: false, token: "never sent", .. }) if seq == unsent
    ));
    // A refused request gives its token back.
    let Err((_, token)) = esme.send_with(t0, submit("d"), "refused") else { panic!("sent on a closed session") };
    assert_eq!(token, "refused");
}

#[test]
fn a_session_with_a_request_outstanding_keeps_its_token_type() {
    let mut p = Pair::bound(SessionConfig::default());
    p.esme.send(p.time, submit("x")).unwrap();
    let Err(esme) = std::mem::replace(&mut p.esme, Session::smsc(p.time, SessionConfig::default())).with_tokens::<u8>()
    else {
        panic!("retyped with a request outstanding")
    };
    assert_eq!(esme.in_flight(), 1);
}

// ---- wire counters and trace ---------------------------------------------------------

#[test]
fn wire_counts_tell_pdus_by_command_and_responses_by_status_each_way() {
    use crate::Direction::{In, Out};
    let now = epoch();
    let mut s = bound_smsc(now, BindMode::Transceiver, 0x34);
    for k in 2..5 {
        feed(&mut s, now, Pdu::new(seq(k), submit("x").into_body()));
    }
    let seqs: Vec<_> = events(&mut s)
        .into_iter()
        .filter_map(|e| match e {
            Event::Request { seq, .. } => Some(seq),
            _ => None,
        })
        .collect();
    s.respond(now, seqs[0], CommandStatus::ESME_ROK, ok_resp("1")).unwrap();
    s.respond(now, seqs[1], CommandStatus::ESME_RTHROTTLED, Body::SubmitSmResp(None)).unwrap();
    s.respond(now, seqs[2], CommandStatus::ESME_RTHROTTLED, Body::SubmitSmResp(None)).unwrap();
    // An id the spec does not name: counted under None, answered generic_nack.
    s.handle_input(now, &[0, 0, 0, 16, 0, 0, 0x01, 0x99, 0, 0, 0, 0, 0, 0, 0, 42]);
    let w = s.wire_counts();
    assert_eq!(w.pdus_of(In, CommandId::BIND_TRANSCEIVER), 1);
    assert_eq!(w.pdus_of(In, CommandId::SUBMIT_SM), 3);
    assert_eq!(w.pdus_of(Out, CommandId::SUBMIT_SM_RESP), 3);
    assert_eq!(w.pdus_of(Out, CommandId::GENERIC_NACK), 1);
    assert_eq!(
        w.pdus(In).collect::<Vec<_>>().len(),
        3,
        "bind, submit and the unknown id: {:?}",
        w.pdus(In).collect::<Vec<_>>()
    );
    assert!(w.pdus(In).any(|(id, n)| id.is_none() && n == 1));
    assert_eq!((w.total(In), w.total(Out)), (5, 5));
    let statuses: Vec<_> = w.responses(Out).collect();
    assert_eq!(
        statuses,
        vec![
            (Some(CommandStatus::ESME_ROK), 2),
            (Some(CommandStatus::ESME_RTHROTTLED), 2),
            (Some(CommandStatus::ESME_RINVCMDID), 1)
        ],
        "the bind_resp and a submit_sm_resp OK, two throttled, the nack"
    );
    assert_eq!(w.responses(In).count(), 0, "an SMSC that sent no request got no response");
}

#[test]
fn wire_counts_keep_eight_statuses_apart_and_the_rest_together() {
    use crate::Direction::Out;
    let now = epoch();
    let mut s = bound_smsc(now, BindMode::Transceiver, 0x34);
    for k in 0..12u32 {
        feed(&mut s, now, Pdu::new(seq(k + 2), submit("x").into_body()));
        let Some(Event::Request { seq, .. }) = events(&mut s).pop() else { panic!("no request") };
        s.respond(now, seq, CommandStatus(0x400 + k), Body::SubmitSmResp(None)).unwrap();
    }
    let statuses: Vec<_> = s.wire_counts().responses(Out).collect();
    assert_eq!(statuses.len(), 9, "{statuses:?}");
    assert_eq!(statuses.first(), Some(&(Some(CommandStatus::ESME_ROK), 1)), "the bind_resp");
    assert_eq!(statuses.last(), Some(&(None, 5)), "7 distinct error statuses fit, 5 do not");
}

#[test]
fn the_bind_password_never_reaches_the_pdu_trace() {
    use crate::wire::RedactedHex;
    let bind = BindRequest::new(BindMode::Transceiver, "user", "s3cr3t").unwrap();
    let mut s = Session::esme(epoch(), SessionConfig::default(), bind).unwrap();
    let out = s.poll_transmit().unwrap().bytes;
    let hex = RedactedHex(&out).to_string();
    assert!(!hex.contains(&hex_of(b"s3cr3t")), "{hex}");
    assert!(hex.contains(&format!("{}00************00", hex_of(b"user"))), "system_id shown, password hidden: {hex}");
    assert_eq!(hex.len(), out.len() * 2, "every octet still takes two characters");
    // Other PDUs are shown whole.
    let mut r = Pdu::new(seq(7), Body::EnquireLink).to_bytes().to_vec();
    assert_eq!(RedactedHex(&r).to_string(), "00000010000000150000000000000007");
    r.truncate(3);
    assert_eq!(RedactedHex(&r).to_string(), "000000", "a cut PDU is shown as it is");
}

fn hex_of(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn each_answered_request_leaves_its_response_time_until_taken() {
    let now = epoch();
    let mut s = bound_esme(now, SessionConfig::default(), BindMode::Transceiver, Some(0x34));
    let a = s.send(now, submit("a")).unwrap();
    let b = s.send(now + Duration::from_millis(100), submit("b")).unwrap();
    outputs(&mut s);
    feed(&mut s, now + Duration::from_millis(250), Pdu::new(a, ok_resp("1")));
    feed(
        &mut s,
        now + Duration::from_millis(400),
        Pdu::with_status(b, CommandStatus::ESME_RTHROTTLED, Body::SubmitSmResp(None)),
    );
    let taken: Vec<_> = s.take_latencies().collect();
    assert_eq!(
        taken,
        vec![(CommandId::SUBMIT_SM, Duration::from_millis(250)), (CommandId::SUBMIT_SM, Duration::from_millis(300))]
    );
    assert_eq!(s.take_latencies().count(), 0, "taken once");
    // Bounded when nobody takes them.
    for k in 0..1100u32 {
        let t = now + Duration::from_secs(1) + Duration::from_micros(u64::from(k));
        let q = s.send(t, submit("x")).unwrap();
        feed(&mut s, t, Pdu::new(q, ok_resp("2")));
    }
    assert_eq!(s.take_latencies().count(), 1024);
}

#[test]
fn a_window_above_1024_keeps_every_response_time_of_one_read() {
    let now = epoch();
    let mut config = SessionConfig::default();
    config.window(2000);
    let mut s = bound_esme(now, config, BindMode::Transceiver, Some(0x34));
    let seqs: Vec<_> = (0..1500).map(|_| s.send(now, submit("x")).unwrap()).collect();
    outputs(&mut s);
    let mut read = BytesMut::new();
    for q in seqs {
        read.extend_from_slice(&Pdu::new(q, ok_resp("1")).to_bytes());
    }
    s.handle_input(now + Duration::from_millis(5), &read);
    assert_eq!(s.take_latencies().count(), 1500, "all the responses of one read, as many as the window holds");
}

#[test]
fn input_taken_from_the_driver_s_buffer_leaves_the_start_of_the_next_pdu_there() {
    let now = epoch();
    let mut s = bound_smsc(now, BindMode::Transceiver, 0x34);
    let mut wire = BytesMut::new();
    for k in 2..5 {
        wire.extend_from_slice(&Pdu::new(seq(k), submit("x").into_body()).to_bytes());
    }
    let third_starts = wire.len() - Pdu::new(seq(4), submit("x").into_body()).to_bytes().len();
    let mut buf = BytesMut::from(&wire[..third_starts + 5]);
    s.handle_input_buf(now, &mut buf);
    assert_eq!(events(&mut s).len(), 2, "two whole PDUs");
    assert_eq!(&buf[..], &wire[third_starts..third_starts + 5], "the start of the third stays");
    buf.extend_from_slice(&wire[third_starts + 5..]);
    s.handle_input_buf(now, &mut buf);
    assert!(buf.is_empty());
    assert!(matches!(events(&mut s).as_slice(), [Event::Request { seq: q, .. }] if *q == seq(4)));
    // Bytes fed through the slice call come first.
    let enquire = Pdu::new(seq(9), Body::EnquireLink).to_bytes();
    s.handle_input(now, &enquire[..7]);
    let mut rest = BytesMut::from(&enquire[7..]);
    s.handle_input_buf(now, &mut rest);
    assert!(rest.is_empty());
    assert_eq!(outputs(&mut s), vec![Pdu::new(seq(9), Body::EnquireLinkResp)]);
}
