//! Property tests: encode/decode round trips for every PDU type, no panic on any input,
//! decode-encode-decode stability, and framing under arbitrary stream splits.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use smpp_wire::arbitrary::{any_pdu, any_pdu_of, pdu_kinds};
use smpp_wire::{MAX_PDU_LEN_DEFAULT, Pdu, frame_len};

fn encode(p: &Pdu) -> Bytes {
    let mut b = BytesMut::new();
    p.encode(&mut b);
    assert_eq!(b.len(), p.encoded_len(), "encoded_len is exact");
    b.freeze()
}

#[test]
fn every_pdu_type_round_trips() {
    assert_eq!(pdu_kinds(), 39, "27 v3.4 + 6 v3.3-only + 6 v5.0 PDUs");
    for kind in 0..pdu_kinds() {
        let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(200));
        runner
            .run(&any_pdu_of(kind), |pdu| {
                let wire = encode(&pdu);
                prop_assert_eq!(frame_len(&wire, usize::MAX), Ok(Some(wire.len())));
                let back = Pdu::decode(wire.clone()).map_err(|e| TestCaseError::fail(format!("{e}: {pdu:?}")))?;
                prop_assert_eq!(&back, &pdu);
                prop_assert_eq!(encode(&back), wire);
                Ok(())
            })
            .unwrap_or_else(|e| panic!("PDU kind {kind}: {e}"));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = frame_len(&bytes, MAX_PDU_LEN_DEFAULT);
        let _ = Pdu::decode(Bytes::from(bytes));
    }

    /// A valid header for a real command id and a random body reaches the body parsers.
    #[test]
    fn decoding_random_bodies_never_panics_and_is_stable(
        kind in 0..39usize,
        seed in any::<u64>(),
        status in prop_oneof![Just(0u32), any::<u32>()],
        body in proptest::collection::vec(any::<u8>(), 0..200),
        cut in any::<prop::sample::Index>(),
    ) {
        let id = smpp_wire::arbitrary::pdu_of(kind, seed).command_id().value();
        // Sometimes keep a prefix of a valid body so deep fields get reached.
        let valid = encode(&smpp_wire::arbitrary::pdu_of(kind, seed));
        let mut b = if seed % 2 == 0 { valid[16..].to_vec() } else { body.clone() };
        if !b.is_empty() {
            let k = cut.index(b.len() + 1);
            b.truncate(k);
            b.extend_from_slice(&body[..body.len().min(8)]);
        }
        let mut frame = Vec::new();
        frame.extend_from_slice(&((16 + b.len()) as u32).to_be_bytes());
        frame.extend_from_slice(&id.to_be_bytes());
        frame.extend_from_slice(&status.to_be_bytes());
        frame.extend_from_slice(&1u32.to_be_bytes());
        frame.extend_from_slice(&b);
        if let Ok(pdu) = Pdu::decode(Bytes::from(frame)) {
            // decode -> encode -> decode is stable.
            let again = Pdu::decode(encode(&pdu)).expect("re-decoding our own encoding");
            prop_assert_eq!(again, pdu);
        }
    }

    #[test]
    fn decode_encode_decode_is_stable(pdu in any_pdu()) {
        let first = Pdu::decode(encode(&pdu)).unwrap();
        let second = Pdu::decode(encode(&first)).unwrap();
        prop_assert_eq!(first, second);
    }

    #[test]
    fn splitting_a_stream_anywhere_frames_the_same_pdus(
        pdus in proptest::collection::vec(any_pdu(), 1..8),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..12),
    ) {
        let frames: Vec<Bytes> = pdus.iter().map(encode).collect();
        let stream: Vec<u8> = frames.iter().flat_map(|f| f.iter().copied()).collect();
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(stream.len() + 1)).collect();
        points.push(stream.len());
        points.sort_unstable();
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        let mut prev = 0;
        for p in points {
            buf.extend_from_slice(&stream[prev..p]);
            prev = p;
            while let Some(n) = frame_len(&buf, usize::MAX).unwrap() {
                got.push(buf.split_to(n).freeze());
            }
        }
        prop_assert!(buf.is_empty());
        prop_assert_eq!(&got, &frames);
        let decoded: Vec<Pdu> = got.into_iter().map(|f| Pdu::decode(f).unwrap()).collect();
        prop_assert_eq!(decoded, pdus);
    }
}
