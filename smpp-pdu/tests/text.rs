//! Text support: receipts in the forms real SMSCs send, reassembly, and properties of
//! splitting.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use smpp_pdu::text::{
    Concatenation, Decoded, Encoding, Fragment, Reassembler, Receipt, decode, fragment_of, plan, split,
};
use smpp_pdu::{DataCoding, DeliverSm, EsmClass, MessageState, OctetString, ShortMessage, Tlv, tlv::TlvString};

#[allow(clippy::disallowed_methods)]
fn epoch() -> Instant {
    Instant::now()
}

#[test]
fn receipts_from_the_vectors() {
    // deliver_sm_delivery_receipt_with_tlvs: decimal text id, hex TLV id.
    let mut d = DeliverSm::default();
    d.esm_class = EsmClass(0x04);
    d.short_message = ShortMessage::new(&b"id:0059113978 sub:001 dlvrd:001 submit date:1002101730 done date:1002101731 stat:DELIVRD err:000 text:@$#!%&/:"[..]).unwrap();
    d.tlvs.push(Tlv::ReceiptedMessageId(TlvString::new("38601fa").unwrap()));
    d.tlvs.push(Tlv::MessageState(MessageState::DELIVERED));
    let r = Receipt::from_deliver_sm(&d).unwrap();
    assert_eq!(r.id.as_deref(), Some("38601fa"), "the TLV wins");
    assert_eq!(r.text_id.as_deref(), Some("0059113978"), "the text's id is kept");
    assert_eq!(r.text.as_deref(), Some("@$#!%&/:"));
    assert_eq!((r.sub, r.dlvrd), (Some(1), Some(1)));
    assert_eq!(r.submit_date.map(|d| d.to_string()).as_deref(), Some("1002101730"));
    // deliver_sm_receipt_in_message_payload.
    let mut p = DeliverSm::default();
    p.esm_class = EsmClass(0x04);
    p.tlvs.push(Tlv::MessagePayload(OctetString::new(&b"id:2 stat:UNDELIV err:001"[..]).unwrap()));
    let r = Receipt::from_deliver_sm(&p).unwrap();
    assert_eq!((r.id.as_deref(), r.state), (Some("2"), Some(MessageState::UNDELIVERABLE)));
    // Not a receipt.
    assert!(Receipt::from_deliver_sm(&DeliverSm::default()).is_none());
}

/// Receipt texts as different SMSCs send them, with what must be read from each.
#[test]
fn real_world_receipt_variants() {
    let cases: &[(&str, &str, MessageState, Option<&str>)] = &[
        // 1. The spec's form, capital `Text:`.
        (
            "id:1234567890 sub:001 dlvrd:001 submit date:0610191018 done date:0610191018 stat:DELIVRD err:000 Text:Hello",
            "1234567890",
            MessageState::DELIVERED,
            Some("Hello"),
        ),
        // 2. Lowercase text key, 12-digit dates.
        (
            "id:7 sub:001 dlvrd:001 submit date:200101120000 done date:200101120005 stat:DELIVRD err:000 text:",
            "7",
            MessageState::DELIVERED,
            Some(""),
        ),
        // 3. Hex id.
        (
            "id:0A1B2C3D sub:001 dlvrd:000 submit date:2001011200 done date:2001011201 stat:UNDELIV err:034 text:x",
            "0A1B2C3D",
            MessageState::UNDELIVERABLE,
            Some("x"),
        ),
        // 4. Underscored date keys.
        (
            "id:55 sub:001 dlvrd:001 submit_date:2001011200 done_date:2001011201 stat:DELIVRD err:000",
            "55",
            MessageState::DELIVERED,
            None,
        ),
        // 5. All upper case keys.
        (
            "ID:99 SUB:001 DLVRD:001 SUBMIT DATE:2001011200 DONE DATE:2001011201 STAT:EXPIRED ERR:000 TEXT:late",
            "99",
            MessageState::EXPIRED,
            Some("late"),
        ),
        // 6. Fields in another order.
        (
            "stat:REJECTD err:055 id:abc-123 sub:001 dlvrd:000 done date:2001011201 submit date:2001011200",
            "abc-123",
            MessageState::REJECTED,
            None,
        ),
        // 7. Missing sub/dlvrd/dates.
        ("id:42 stat:ACCEPTD", "42", MessageState::ACCEPTED, None),
        // 8. Extra vendor fields.
        (
            "id:43 sub:001 dlvrd:001 submit date:2001011200 done date:2001011201 stat:DELIVRD err:000 mcc:234 mnc:15 text:hi there",
            "43",
            MessageState::DELIVERED,
            Some("hi there"),
        ),
        // 9. Truncated text (the SMSC cut the preview).
        (
            "id:44 sub:001 dlvrd:001 submit date:2001011200 done date:2001011201 stat:DELIVRD err:000 text:The quick brown fox ",
            "44",
            MessageState::DELIVERED,
            Some("The quick brown fox "),
        ),
        // 10. Zero-padded long decimal id and full-word state.
        (
            "id:000000000000000000123 sub:001 dlvrd:001 stat:DELIVERED err:0",
            "000000000000000000123",
            MessageState::DELIVERED,
            None,
        ),
        // 11. Text containing key-like words after text: stays text.
        ("id:45 stat:DELIVRD text:id:fake stat:UNDELIV", "45", MessageState::DELIVERED, Some("id:fake stat:UNDELIV")),
    ];
    for (text, id, state, preview) in cases {
        let r = Receipt::parse(text).unwrap_or_else(|| panic!("no receipt in {text}"));
        assert_eq!(r.id.as_deref(), Some(*id), "{text}");
        assert_eq!(r.state, Some(*state), "{text}");
        assert_eq!(r.text.as_deref(), *preview, "{text}");
    }
    assert!(Receipt::parse("hello world").is_none());
    let r = Receipt::parse(cases[0].0).unwrap();
    assert_eq!(Receipt::parse(&r.format()).unwrap().state, r.state, "format round-trips");
}

#[test]
fn udh_parts_reassemble_out_of_order_with_duplicates() {
    let text = "Привет! ".repeat(30);
    let parts = split(&text, Encoding::Ucs2, Concatenation::Udh16, 0xBEEF).unwrap();
    assert!(parts.len() >= 3);
    let mut r = Reassembler::new(Duration::from_secs(60), 100, 1 << 20);
    let now = epoch();
    let mut order: Vec<usize> = (0..parts.len()).rev().collect();
    order.insert(1, order[0]);
    let mut done = None;
    for k in order {
        let f = fragment_of(parts[k].esm_class, &parts[k].short_message, &parts[k].tlvs).unwrap();
        assert_eq!(f.reference, 0xBEEF);
        if let Some(a) = r.push(now, b"src", b"dst", DataCoding::UCS2, f) {
            assert!(done.is_none(), "completed once");
            done = Some(a);
        }
    }
    let a = done.unwrap();
    assert_eq!(decode(a.data_coding, &a.data), Decoded::Text(text));
    assert!(r.is_empty());
}

#[test]
fn sar_parts_reassemble_and_incomplete_sets_expire_with_a_report() {
    let parts = split(&"s".repeat(400), Encoding::Gsm7, Concatenation::Sar, 9).unwrap();
    let mut r = Reassembler::new(Duration::from_secs(30), 100, 1 << 20);
    let t0 = epoch();
    let f = |k: usize| fragment_of(parts[k].esm_class, &parts[k].short_message, &parts[k].tlvs).unwrap();
    assert!(r.push(t0, b"a", b"b", DataCoding::MC_DEFAULT, f(0)).is_none());
    assert_eq!(r.poll_timeout(), Some(t0 + Duration::from_secs(30)));
    assert!(r.expire(t0 + Duration::from_secs(29)).is_empty());
    let expired = r.expire(t0 + Duration::from_secs(30));
    assert_eq!(expired.len(), 1);
    assert_eq!((expired[0].reference, expired[0].received, expired[0].total), (9, 1, 3));
    assert!(r.is_empty());
}

#[test]
fn memory_is_bounded_and_evictions_are_reported() {
    let mut r = Reassembler::new(Duration::from_secs(30), 2, 1 << 20);
    let t0 = epoch();
    for reference in 0..3u16 {
        let f = Fragment::clone(&fragment(reference));
        assert!(
            r.push(t0 + Duration::from_secs(u64::from(reference)), b"a", b"b", DataCoding::MC_DEFAULT, f).is_none()
        );
    }
    assert_eq!(r.len(), 2);
    let evicted = r.expire(t0 + Duration::from_secs(5));
    assert_eq!(evicted.len(), 1);
    assert_eq!(evicted[0].reference, 0, "the oldest goes first");
}

fn fragment(reference: u16) -> Fragment {
    let parts = split(&"m".repeat(200), Encoding::Gsm7, Concatenation::Udh16, reference).unwrap();
    fragment_of(parts[0].esm_class, &parts[0].short_message, &parts[0].tlvs).unwrap()
}

#[test]
fn national_language_texts_split_and_reassemble() {
    use smpp_pdu::text::{Language, NationalTables};
    for (lang, text) in [
        (Language::Turkish, "Iğdır'da güneşli bir gün; şimdi çay içelim. ".repeat(6)),
        (Language::Portuguese, "Ação, coração e limão são palavras com til. ".repeat(6)),
        (Language::Hindi, "नमस्ते दुनिया ".repeat(20)),
    ] {
        let tables = NationalTables::new(lang.has_locking_shift().then_some(lang), Some(lang));
        let encoding = Encoding::Gsm7National(tables);
        assert!(plan(&text, Some(encoding)).is_ok(), "{lang:?} fits its tables");
        let parts = split(&text, encoding, Concatenation::Udh8, 5).unwrap();
        let mut r = Reassembler::new(Duration::from_secs(60), 10, 1 << 20);
        let mut done = None;
        for p in &parts {
            let f = fragment_of(p.esm_class, &p.short_message, &p.tlvs).unwrap();
            assert_eq!(f.national, tables);
            done = r.push(epoch(), b"s", b"d", DataCoding::MC_DEFAULT, f).or(done);
        }
        assert_eq!(done.unwrap().decode(), Decoded::Text(text.clone()), "{lang:?}");
    }
}

fn arb_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 .,!?@£$¥èéùìòÇ\\[\\]{}€^~|\\\\]{0,500}",
        any::<String>().prop_map(|s| s.chars().take(400).collect()),
        "[Привет😀🎉👍 ]{0,300}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// For any Unicode string: split, then reassemble, gives the original; every part
    /// fits its PDU; no part ends inside an escape pair or a surrogate pair.
    #[test]
    fn split_then_reassemble_gives_the_original(text in arb_text(), method in prop_oneof![Just(Concatenation::Udh8), Just(Concatenation::Udh16), Just(Concatenation::Sar)]) {
        let encoding = plan(&text, None).unwrap().encoding;
        let parts = split(&text, encoding, method, 77).unwrap();
        if method != Concatenation::Udh16 {
            // The plan counts parts with an 8-bit reference UDH, the same size as SAR's.
            prop_assert_eq!(parts.len(), plan(&text, Some(encoding)).unwrap().parts);
        }
        let mut r = Reassembler::new(Duration::from_secs(60), 10, 1 << 20);
        let now = epoch();
        let mut whole = None;
        for p in &parts {
            // Fits: short_message is bounded by its type; the decoded part is complete text.
            prop_assert!(p.short_message.len() <= 160);
            match fragment_of(p.esm_class, &p.short_message, &p.tlvs) {
                Some(f) => {
                    // No part ends inside an escape or a surrogate: each part decodes alone.
                    let alone = decode(encoding.data_coding(), &f.data);
                    if let Decoded::Text(t) = &alone {
                        prop_assert!(text.contains(char::REPLACEMENT_CHARACTER) || !t.contains(char::REPLACEMENT_CHARACTER));
                        prop_assert!(text.contains(t.as_str()));
                    }
                    if let Some(a) = r.push(now, b"s", b"d", encoding.data_coding(), f) {
                        whole = Some(a.data);
                    }
                }
                None => whole = Some(p.short_message.as_bytes().to_vec()),
            }
        }
        let data = whole.expect("complete");
        prop_assert_eq!(decode(encoding.data_coding(), &data), Decoded::Text(text.clone()));
    }
}
