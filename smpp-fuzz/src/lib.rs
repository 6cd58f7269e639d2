//! Fuzz bodies for the SMPP stack. Each fuzz target in `fuzz_targets/` is a thin call
//! of a function here, so the same bodies also run under plain `cargo test` on stable
//! (`tests/replay.rs` replays the corpus and every regression).
//!
//! What it is **not**: a fuzzer. `cargo xtask fuzz [TARGET] [--secs N]` runs these
//! bodies under cargo-fuzz (libFuzzer) on the nightly toolchain.
//!
//! ```
//! smpp_fuzz::decode_pdu(&[0, 0, 0, 16, 0, 0, 0, 0x15, 0, 0, 0, 0, 0, 0, 0, 1]);
//! smpp_fuzz::session_smsc(b"\x00\x05hello\x01\x3c");
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use smpp_session::{BindMode, BindRequest, Event, Request, Session, SessionConfig};
use smpp_wire::text::{self, Fragment, Reassembler, Receipt};
use smpp_wire::{
    Address, BindResp, Body, CommandStatus, DataCoding, EsmClass, InterfaceVersion, MAX_PDU_LEN_DEFAULT, OctetString,
    Pdu, SequenceNumber, ShortMessage, SubmitSm, SubmitSmResp, Tlv, Tlvs, frame_len,
};

/// Decoding never panics, strict or lenient; lenient decoding agrees with strict
/// decoding wherever that succeeds, and whatever it reads re-encodes.
pub fn decode_pdu(data: &[u8]) {
    let _ = frame_len(data, MAX_PDU_LEN_DEFAULT);
    let strict = Pdu::decode(Bytes::copy_from_slice(data));
    let lenient = Pdu::decode_lenient(Bytes::copy_from_slice(data));
    match (strict, lenient) {
        (Ok(s), Ok((l, salvaged))) => {
            assert_eq!(s, l, "lenient decoding changed a clean PDU");
            assert!(salvaged.is_none());
        }
        (Ok(s), Err(e)) => panic!("strict decoding read {s:?}, lenient failed: {e}"),
        (Err(_), Ok((l, salvaged))) => {
            assert!(salvaged.is_some(), "a PDU read only leniently must say so");
            let mut out = BytesMut::new();
            l.encode(&mut out);
            assert_eq!(out.len(), l.encoded_len());
        }
        (Err(_), Err(_)) => {}
    }
}

/// Whatever decodes re-encodes to exactly `encoded_len` octets and decodes to the same PDU.
pub fn roundtrip(data: &[u8]) {
    let Ok(pdu) = Pdu::decode(Bytes::copy_from_slice(data)) else { return };
    let mut out = BytesMut::new();
    pdu.encode(&mut out);
    assert_eq!(out.len(), pdu.encoded_len(), "encoded_len is exact");
    let again = Pdu::decode(out.freeze()).expect("our own encoding decodes");
    assert_eq!(again, pdu, "decode(encode(p)) == p");
}

/// Frames of a stream, or the offset of the fatal framing error.
fn frames(stream: &[u8], chunks: impl Iterator<Item = usize>) -> (Vec<Bytes>, Option<usize>) {
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut fed: usize = 0;
    let mut consumed = 0;
    for size in chunks.chain(std::iter::once(usize::MAX)) {
        let end = fed.saturating_add(size.max(1)).min(stream.len());
        buf.extend_from_slice(stream.get(fed..end).unwrap_or_default());
        fed = end;
        loop {
            match frame_len(&buf, 4096) {
                Ok(Some(n)) => {
                    consumed += n;
                    out.push(buf.split_to(n).freeze());
                }
                Ok(None) => break,
                Err(_) => return (out, Some(consumed)),
            }
        }
        if fed >= stream.len() {
            break;
        }
    }
    (out, None)
}

/// Cutting a stream at arbitrary points frames the same PDUs as reading it whole.
/// The first byte seeds the cut points.
pub fn frame_stream(data: &[u8]) {
    let Some((seed, stream)) = data.split_first() else { return };
    let whole = frames(stream, std::iter::once(stream.len()));
    let mut x = u32::from(*seed) | 1;
    let cuts = std::iter::from_fn(move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        Some((x % 23) as usize + 1)
    });
    assert_eq!(frames(stream, cuts.take(stream.len())), whole, "the same frames in any chunking");
}

/// The largest PDU the fuzzed sessions accept (small, so limits are reached).
const FUZZ_MAX_PDU: usize = 1024;

/// Drives a session with ops read from `data`: feed bytes, advance time, application
/// commands, end of stream. After each op all output is drained and the bounds are
/// checked: input buffered below one PDU, a bounded number of events.
fn drive(mut session: Session, mut t: Instant, data: &[u8]) {
    let mut ops = data;
    let mut last_request: Option<SequenceNumber> = None;
    while let [op, arg, rest @ ..] = ops {
        ops = rest;
        match op % 8 {
            0..=3 => {
                let n = usize::from(*arg).min(ops.len());
                let (chunk, rest) = ops.split_at(n);
                session.handle_input(t, chunk);
                ops = rest;
            }
            4 => {
                t += Duration::from_secs(u64::from(*arg));
                session.handle_timeout(t);
            }
            5 => {
                let mut sm = SubmitSm::default();
                sm.destination_addr = Address::international("447700900123").unwrap_or_default();
                if arg % 2 == 0 {
                    sm.tlvs.push(Tlv::SourcePort(u16::from(*arg)));
                }
                let request = match session.role() {
                    smpp_session::Role::Esme => Request::SubmitSm(sm),
                    smpp_session::Role::Smsc => Request::DeliverSm(sm),
                };
                let _ = session.send(t, request);
            }
            6 => {
                if let Some(seq) = last_request.take() {
                    let body = if arg % 2 == 0 {
                        Body::SubmitSmResp(Some(SubmitSmResp::default()))
                    } else {
                        Body::DeliverSmResp(None)
                    };
                    let _ = session.respond(t, seq, CommandStatus(u32::from(*arg)), body);
                }
            }
            _ => match arg % 4 {
                0 => session.handle_eof(t),
                1 => {
                    let _ = session.unbind(t);
                }
                _ => {}
            },
        }
        while session.poll_transmit().is_some() {}
        assert!(session.buffered_input() < FUZZ_MAX_PDU, "less than one PDU stays buffered");
        assert!(session.pending_events() <= 1 + 256 / 16 + 8, "events bounded by the input");
        while let Some(e) = session.poll_event() {
            match e {
                Event::Request { seq, .. } => last_request = Some(seq),
                Event::BindRequest { seq, .. } => {
                    let _ = if arg % 3 == 0 {
                        session.reject_bind(t, seq, CommandStatus::ESME_RINVPASWD)
                    } else {
                        session.accept_bind(t, seq, "fuzz")
                    };
                }
                _ => {}
            }
        }
    }
}

fn fuzz_config() -> SessionConfig {
    let mut c = SessionConfig::default();
    c.max_pdu_len(FUZZ_MAX_PDU).window(4).receive_window(4);
    c
}

/// A fixed epoch: the session needs an `Instant`, and only differences matter.
fn epoch() -> Instant {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    #[allow(clippy::disallowed_methods)]
    *EPOCH.get_or_init(Instant::now)
}

/// An ESME session, bound by a valid bind_resp first, then fed arbitrary ops.
pub fn session_esme(data: &[u8]) {
    let t = epoch();
    let Ok(bind) = BindRequest::new(BindMode::Transceiver, "fuzz", "fuzz") else { return };
    let Ok(mut session) = Session::esme(t, fuzz_config(), bind) else { return };
    while session.poll_transmit().is_some() {}
    let mut resp = BindResp::default();
    resp.tlvs.push(Tlv::ScInterfaceVersion(InterfaceVersion::V34));
    session.handle_input(t, &Pdu::new(SequenceNumber::FIRST, Body::BindTransceiverResp(Some(resp))).to_bytes());
    drive(session, t, data);
}

/// An SMSC session fed arbitrary ops (binds in the input are accepted or refused).
pub fn session_smsc(data: &[u8]) {
    let t = epoch();
    drive(Session::smsc(t, fuzz_config()), t, data);
}

/// Text decoding by any data_coding, with or without a UDH, never panics; GSM
/// packing round-trips.
pub fn text_decode(data: &[u8]) {
    let Some((dc, rest)) = data.split_first() else { return };
    let _ = text::decode(DataCoding(*dc), rest);
    let _ = text::decode_message(DataCoding(*dc), EsmClass::DEFAULT.with_udhi(), rest);
    let septets: Vec<u8> = rest.iter().map(|b| b & 0x7F).collect();
    let fill = dc % 7;
    assert_eq!(text::unpack(&text::pack(&septets, fill), septets.len(), fill), septets, "pack/unpack round-trip");
    if let Ok(s) = std::str::from_utf8(rest) {
        let _ = text::plan(s, None);
        if let Ok(parts) = text::split(s, text::choose(s), text::Concatenation::Udh8, u16::from(*dc)) {
            assert!(!parts.is_empty());
        }
    }
}

/// Receipt parsing of any text never panics, and a parsed receipt formats and parses
/// back to the same state.
pub fn receipt_parse(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Some(r) = Receipt::parse(&text) {
        let again = Receipt::parse(&r.format());
        assert!(again.is_some(), "a formatted receipt parses");
    }
    let mut d = smpp_wire::DeliverSm::default();
    d.esm_class = EsmClass(0x04);
    d.short_message = ShortMessage::new(Bytes::copy_from_slice(data.get(..254).unwrap_or(data))).unwrap_or_default();
    let mut tlvs = Tlvs::new();
    if let Some(first) = data.first() {
        tlvs.push(Tlv::MessageState(smpp_wire::MessageState(*first)));
    }
    d.tlvs = tlvs;
    let _ = Receipt::from_deliver_sm(&d);
}

/// Multipart reassembly with arbitrary fragments and time: never panics, stays within
/// its bounds, and reports what it gives up.
pub fn reassembly(data: &[u8]) {
    let t0 = epoch();
    let mut r = Reassembler::new(Duration::from_secs(60), 8, 4096);
    let mut t = t0;
    let mut ops = data;
    while let [reference, total, seq, step, len, rest @ ..] = ops {
        let n = usize::from(*len % 64).min(rest.len());
        let (payload, rest) = rest.split_at(n);
        ops = rest;
        t += Duration::from_secs(u64::from(*step % 32));
        let f = Fragment::new(u16::from(*reference % 4), *total % 6, *seq % 7, Bytes::copy_from_slice(payload));
        if let Some(done) = r.push(t, b"s", b"d", DataCoding::MC_DEFAULT, f) {
            assert!(done.total >= 1);
        }
        let _ = r.expire(t);
        assert!(r.len() <= 8, "bounded");
    }
    // Also through the UDH parser.
    let sm = OctetString::<254>::new(Bytes::copy_from_slice(data.get(..254).unwrap_or(data))).unwrap_or_default();
    let _ = text::fragment_of(EsmClass::DEFAULT.with_udhi(), &sm, &Tlvs::new());
}
