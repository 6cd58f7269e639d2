//! Criterion benches: decode and encode of (a) a 160-byte submit_sm, (b) a deliver_sm
//! delivery receipt with receipted_message_id and message_state TLVs, (c) enquire_link.

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use criterion::{Criterion, criterion_group, criterion_main};
use smpp_wire::{
    Address, Body, DataCoding, DeliverSm, EsmClass, MessageState, Npi, Pdu, RegisteredDelivery, SequenceNumber,
    ShortMessage, SubmitSm, Tlv, Ton, tlv::TlvString,
};

fn submit_sm() -> Pdu {
    let mut s = SubmitSm::default();
    s.source_addr = Address::new(Ton::INTERNATIONAL, Npi::ISDN, "12345").unwrap();
    s.destination_addr = Address::new(Ton::INTERNATIONAL, Npi::ISDN, "447700900123").unwrap();
    s.esm_class = EsmClass(0);
    s.registered_delivery = RegisteredDelivery::RECEIPT;
    s.data_coding = DataCoding::MC_DEFAULT;
    let text: Vec<u8> = (0..160).map(|k| b'a' + (k % 26) as u8).collect();
    s.short_message = ShortMessage::new(text).unwrap();
    Pdu::new(SequenceNumber::new(42), Body::SubmitSm(s))
}

fn receipt() -> Pdu {
    let mut d = DeliverSm::default();
    d.source_addr = Address::new(Ton::INTERNATIONAL, Npi::ISDN, "447700900123").unwrap();
    d.destination_addr = Address::new(Ton::INTERNATIONAL, Npi::ISDN, "12345").unwrap();
    d.esm_class = EsmClass(0x04);
    d.short_message = ShortMessage::new(
        &b"id:0059113978 sub:001 dlvrd:001 submit date:1002101730 done date:1002101731 stat:DELIVRD err:000 text:Hello"
            [..],
    )
    .unwrap();
    d.tlvs.push(Tlv::ReceiptedMessageId(TlvString::new("38601fa").unwrap()));
    d.tlvs.push(Tlv::MessageState(MessageState::DELIVERED));
    Pdu::new(SequenceNumber::new(7), Body::DeliverSm(d))
}

fn bench_pdu(c: &mut Criterion, name: &str, pdu: &Pdu) {
    let frame: Bytes = pdu.to_bytes();
    // Make the frame a shared buffer, as a frame split off a receive buffer is.
    let frame = Bytes::from(frame.to_vec()).clone();
    // Hands over the frame (one reference count), decodes, and drops the PDU, all timed.
    // The PDU is observed through a reference: returning it by value would add a copy
    // of the whole struct into criterion's `black_box` that no real caller makes.
    c.bench_function(&format!("decode/{name}"), |b| {
        b.iter(|| {
            let pdu = Pdu::decode(black_box(frame.clone()));
            black_box(&pdu);
        })
    });
    let mut dst = BytesMut::with_capacity(4096);
    c.bench_function(&format!("encode/{name}"), |b| {
        b.iter(|| {
            dst.clear();
            black_box(pdu).encode(&mut dst);
            black_box(dst.len())
        })
    });
}

fn codec(c: &mut Criterion) {
    // The floor for any decode that takes a shared frame: one reference count taken and dropped.
    let shared = Bytes::from(vec![0u8; 64]).clone();
    c.bench_function("baseline/bytes_clone_drop", |b| b.iter(|| drop(black_box(shared.clone()))));
    bench_pdu(c, "submit_sm_160", &submit_sm());
    bench_pdu(c, "deliver_sm_receipt", &receipt());
    bench_pdu(c, "enquire_link", &Pdu::new(SequenceNumber::new(1), Body::EnquireLink));
}

criterion_group!(benches, codec);
criterion_main!(benches);
