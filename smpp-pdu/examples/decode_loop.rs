//! Decodes one 160-octet submit_sm N times (default 1000): a steady loop for profilers
//! and instruction counters (`valgrind --tool=callgrind`), which are stable where
//! wall-clock timings on a shared machine are not.
use smpp_pdu::{Address, Body, Pdu, RegisteredDelivery, SequenceNumber, ShortMessage, SubmitSm};

fn main() {
    let mut s = SubmitSm::default();
    s.source_addr = Address::international("12345").unwrap();
    s.destination_addr = Address::international("447700900123").unwrap();
    s.registered_delivery = RegisteredDelivery::RECEIPT;
    s.short_message = ShortMessage::new((0..160).map(|k| b'a' + (k % 26) as u8).collect::<Vec<u8>>()).unwrap();
    let frame = bytes::Bytes::from(Pdu::new(SequenceNumber::new(42), Body::SubmitSm(s)).to_bytes().to_vec()).clone();
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1000);
    let mut sum = 0usize;
    for _ in 0..n {
        let pdu = Pdu::decode(std::hint::black_box(frame.clone())).unwrap();
        sum += std::hint::black_box(&pdu).encoded_len();
    }
    assert!(sum > 0);
}
