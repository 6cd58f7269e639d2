//! Decodes one 160-octet submit_sm (or, with a second argument `enquire_link`, an
//! enquire_link) N times (default 1000), or with a third argument `encode` encodes it: a steady loop for profilers
//! and instruction counters (`valgrind --tool=callgrind`), which are stable where
//! wall-clock timings on a shared machine are not.
use smpp_wire::{Address, Body, Pdu, RegisteredDelivery, SequenceNumber, ShortMessage, SubmitSm};

fn main() {
    let mut s = SubmitSm::default();
    s.source_addr = Address::international("12345").unwrap();
    s.destination_addr = Address::international("447700900123").unwrap();
    s.registered_delivery = RegisteredDelivery::RECEIPT;
    s.short_message = ShortMessage::new((0..160).map(|k| b'a' + (k % 26) as u8).collect::<Vec<u8>>()).unwrap();
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1000);
    let body =
        if std::env::args().nth(2).as_deref() == Some("enquire_link") { Body::EnquireLink } else { Body::SubmitSm(s) };
    let frame = bytes::Bytes::from(Pdu::new(SequenceNumber::new(42), body).to_bytes().to_vec()).clone();
    let mut sum = 0usize;
    if std::env::args().nth(3).as_deref() == Some("encode") {
        let pdu = Pdu::decode(frame.clone()).unwrap();
        let mut dst = bytes::BytesMut::with_capacity(4096);
        for _ in 0..n {
            dst.clear();
            std::hint::black_box(&pdu).encode(&mut dst);
            sum += std::hint::black_box(dst.len());
        }
        assert!(sum > 0);
        return;
    }
    for _ in 0..n {
        // Observed by reference, as the criterion bench does: no caller copies it out.
        let pdu = Pdu::decode(std::hint::black_box(frame.clone()));
        sum += usize::from(std::hint::black_box(&pdu).is_ok());
    }
    assert!(sum > 0);
}
