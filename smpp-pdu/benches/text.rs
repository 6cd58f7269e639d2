//! Criterion benches for the text support: GSM 03.38 encode and decode of a
//! 160-character text, UCS-2 encode, and receipt parsing.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use smpp_wire::DataCoding;
use smpp_wire::text::{Encoding, Receipt, Unrepresentable, decode, encode};

fn text(c: &mut Criterion) {
    let gsm: String =
        "The quick brown fox jumps over the lazy dog 0123456789 @£$¥èé! ".chars().cycle().take(160).collect();
    let septets = encode(&gsm, Encoding::Gsm7, Unrepresentable::Error).unwrap();
    c.bench_function("gsm7/encode_160", |b| b.iter(|| encode(black_box(&gsm), Encoding::Gsm7, Unrepresentable::Error)));
    c.bench_function("gsm7/decode_160", |b| b.iter(|| decode(DataCoding::MC_DEFAULT, black_box(&septets))));
    let ucs2: String = "Привет, мир! ".chars().cycle().take(70).collect();
    c.bench_function("ucs2/encode_70", |b| b.iter(|| encode(black_box(&ucs2), Encoding::Ucs2, Unrepresentable::Error)));
    let receipt = "id:0059113978 sub:001 dlvrd:001 submit date:1002101730 done date:1002101731 stat:DELIVRD err:000 text:Hello there";
    c.bench_function("receipt/parse", |b| b.iter(|| Receipt::parse(black_box(receipt))));
}

criterion_group!(benches, text);
criterion_main!(benches);
