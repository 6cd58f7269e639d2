//! Text support: receipts in the forms real SMSCs send, reassembly, and properties of
//! splitting.

use std::time::{Duration, Instant};

use bytes::Bytes;
use proptest::prelude::*;
use smpp_wire::text::{
    Concatenation, Decoded, Encoding, Expired, Fragment, Pushed, Reassembler, Receipt, decode, fragment_of, plan, split,
};
use smpp_wire::{DataCoding, DeliverSm, EsmClass, MessageState, OctetString, ShortMessage, Tlv, tlv::TlvString};

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
fn receipt_vendor_keys_do_not_leak_into_known_values() {
    let r = Receipt::parse(
        "id:43 msisdn:447700900123 sub:001 dlvrd:001 submit date:2001011200 done date:2001011201 stat:DELIVRD err:000 text:hi",
    )
    .unwrap();
    assert_eq!(r.id.as_deref(), Some("43"), "the vendor key after id: is not part of the id");
    assert_eq!((r.sub, r.dlvrd), (Some(1), Some(1)));
    assert_eq!(r.extra, [("msisdn".to_owned(), "447700900123".to_owned())]);
    let r = Receipt::parse("id:7 stat:DELIVRD mccmnc:23415 err:000").unwrap();
    assert_eq!(r.state, Some(MessageState::DELIVERED), "the state survives a vendor key after it");
    assert_eq!(r.stat.as_deref(), Some("DELIVRD"));
    assert_eq!(r.err.as_deref(), Some("000"));
    assert_eq!(r.extra, [("mccmnc".to_owned(), "23415".to_owned())]);
}

#[test]
fn receipt_vendor_keys_may_sit_before_after_and_between_every_known_key() {
    let r = Receipt::parse(
        "imsi:234150000000001 id:0A1B msisdn:447700900123 sub:001 nt:5 dlvrd:000 MCC:234 \
         submit date:2001011200 x-1:a done_date:200101120105 vendor.key:b stat:UNDELIV mccmnc:23415 \
         err:034 last:z text:Hello there",
    )
    .unwrap();
    assert_eq!(r.id.as_deref(), Some("0A1B"));
    assert_eq!((r.sub, r.dlvrd), (Some(1), Some(0)));
    assert_eq!(r.submit_date.map(|d| d.to_string()).as_deref(), Some("2001011200"));
    assert_eq!(r.done_date.map(|d| d.to_string()).as_deref(), Some("200101120105"));
    assert_eq!(r.state, Some(MessageState::UNDELIVERABLE));
    assert_eq!(r.stat.as_deref(), Some("UNDELIV"));
    assert_eq!(r.err.as_deref(), Some("034"));
    assert_eq!(r.text.as_deref(), Some("Hello there"));
    let extra: Vec<(&str, &str)> = r.extra.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(
        extra,
        [
            ("imsi", "234150000000001"),
            ("msisdn", "447700900123"),
            ("nt", "5"),
            ("MCC", "234"),
            ("x-1", "a"),
            ("vendor.key", "b"),
            ("mccmnc", "23415"),
            ("last", "z"),
        ],
        "vendor keys in order, as sent"
    );
    // Vendor keys after the last known key, and no text.
    let r = Receipt::parse("stat:ACCEPTD id:9 msisdn:1 imsi:2").unwrap();
    assert_eq!((r.id.as_deref(), r.state), (Some("9"), Some(MessageState::ACCEPTED)));
    assert_eq!(r.extra.len(), 2);
    assert_eq!(r.text, None);
}

#[test]
fn receipt_date_keys_are_two_words_and_their_value_one() {
    let r = Receipt::parse(
        "id:5 submit date:2001011200 msisdn:447700900123 done date:2001011201 mccmnc:23415 stat:DELIVRD",
    )
    .unwrap();
    assert_eq!(r.submit_date.map(|d| d.to_string()).as_deref(), Some("2001011200"));
    assert_eq!(r.done_date.map(|d| d.to_string()).as_deref(), Some("2001011201"));
    assert_eq!(r.extra.len(), 2);
    // Case and spacing of the two-word keys.
    let r = Receipt::parse("ID:5  SUBMIT   Date:2001011200   Done DATE:200101120130  STAT:delivrd").unwrap();
    assert_eq!(r.submit_date.map(|d| d.to_string()).as_deref(), Some("2001011200"));
    assert_eq!(r.done_date.and_then(|d| d.second), Some(30));
    assert_eq!(r.state, Some(MessageState::DELIVERED));
    // A value after a space: `key: value`; an empty value before the next key.
    let r = Receipt::parse("id: 77 stat: EXPIRED err: text:").unwrap();
    assert_eq!((r.id.as_deref(), r.state), (Some("77"), Some(MessageState::EXPIRED)));
    assert_eq!((r.err.as_deref(), r.text.as_deref()), (Some(""), Some("")));
}

#[test]
fn receipt_text_keeps_key_like_words_colons_and_spaces() {
    let r = Receipt::parse("id:46 stat:DELIVRD err:000 TEXT: id:99 stat:UNDELIV msisdn:1  a:b c ").unwrap();
    assert_eq!(r.id.as_deref(), Some("46"));
    assert_eq!(r.state, Some(MessageState::DELIVERED));
    assert_eq!(r.text.as_deref(), Some("id:99 stat:UNDELIV msisdn:1  a:b c "));
    assert!(r.extra.is_empty(), "nothing after text: is a key");
}

#[test]
fn receipt_unknown_stat_words_are_kept_raw() {
    let r = Receipt::parse("id:12 stat:DELIVERED_TO_HANDSET err:000").unwrap();
    assert_eq!(r.stat.as_deref(), Some("DELIVERED_TO_HANDSET"));
    assert_eq!(r.state, None);
    assert_eq!(r.err.as_deref(), Some("000"));
    assert!(Receipt::parse("stat:DELIVERED_TO_HANDSET err:000").is_none(), "neither an id nor a state");
    for (word, state) in [
        ("delivrd", MessageState::DELIVERED),
        ("Undeliv", MessageState::UNDELIVERABLE),
        ("UNKNOWN", MessageState::UNKNOWN),
        ("delivered", MessageState::DELIVERED),
        ("UNDELIVERED", MessageState::UNDELIVERABLE),
        ("en_route", MessageState::ENROUTE),
    ] {
        let r = Receipt::parse(&format!("stat:{word} mccmnc:23415")).unwrap();
        assert_eq!((r.state, r.stat.as_deref()), (Some(state), Some(word)), "{word}");
    }
}

#[test]
fn receipt_format_leaves_vendor_keys_out_and_parses_back() {
    let r = Receipt::parse("id:43 msisdn:447700900123 stat:DELIVERED_TO_HANDSET mccmnc:23415 err:000 text:hi").unwrap();
    let formatted = r.format();
    assert!(!formatted.contains("msisdn") && !formatted.contains("mccmnc"), "{formatted}");
    let again = Receipt::parse(&formatted).unwrap();
    assert_eq!((again.id, again.stat, again.err, again.text), (r.id, r.stat, r.err, r.text));
    assert!(again.extra.is_empty());
    // An empty id formats and parses back as empty, not as the next field.
    let r = Receipt::parse("id: stat:DELIVRD").unwrap();
    assert_eq!(r.id.as_deref(), Some(""));
    assert_eq!(Receipt::parse(&r.format()).unwrap().id.as_deref(), Some(""));
}

fn udh_parts(text: &str, encoding: Encoding, reference: u16) -> Vec<Fragment> {
    split(text, encoding, Concatenation::Udh8, reference)
        .unwrap()
        .iter()
        .map(|p| fragment_of(p.esm_class, &p.short_message, &p.tlvs).unwrap())
        .collect()
}

#[test]
fn expiry_returns_the_arrived_parts_in_order_with_the_first_meta() {
    let text = "Привет, мир! ".repeat(15);
    let parts = udh_parts(&text, Encoding::Ucs2, 21);
    assert_eq!(parts.len(), 3);
    let mut r = Reassembler::new(Duration::from_secs(30), 100, 1 << 20);
    let t0 = epoch();
    let push = |r: &mut Reassembler<&'static str>, k: usize, meta| {
        r.push_with(t0, b"src", b"dst", DataCoding::UCS2, parts[k].clone(), meta)
    };
    assert!(matches!(push(&mut r, 2, "third"), Pushed::Held));
    assert!(matches!(push(&mut r, 0, "first"), Pushed::Held));
    assert!(matches!(push(&mut r, 2, "again"), Pushed::Duplicate));
    assert!(r.expire(t0 + Duration::from_secs(29)).is_empty());
    let expired = r.expire(t0 + Duration::from_secs(30));
    assert_eq!(expired.len(), 1);
    let e: &Expired<&str> = &expired[0];
    assert_eq!((e.source.as_slice(), e.destination.as_slice()), (&b"src"[..], &b"dst"[..]));
    assert_eq!((e.reference, e.total, e.received), (21, 3, 2));
    assert_eq!(e.parts, [(1, parts[0].data.clone()), (3, parts[2].data.clone())], "in part-number order");
    assert_eq!(e.first, "third", "the meta of the first part seen");
    assert_eq!(e.data_coding, DataCoding::UCS2);
    let texts = e.texts();
    assert_eq!(texts.iter().map(|(n, _)| *n).collect::<Vec<_>>(), [1, 3]);
    let Decoded::Text(first) = &texts[0].1 else { panic!("text") };
    let Decoded::Text(last) = &texts[1].1 else { panic!("text") };
    assert!(text.starts_with(first.as_str()) && text.ends_with(last.as_str()));
    assert_eq!(first.chars().count(), 67);
    assert!(r.is_empty());
}

#[test]
fn drain_hands_over_everything_held_at_once() {
    let parts = udh_parts(&"z".repeat(400), Encoding::Gsm7, 3);
    let mut r = Reassembler::new(Duration::from_secs(30), 100, 1 << 20);
    let t0 = epoch();
    assert!(matches!(r.push_with(t0, b"a", b"b", DataCoding::MC_DEFAULT, parts[1].clone(), 1), Pushed::Held));
    assert!(matches!(r.push_with(t0, b"c", b"d", DataCoding::MC_DEFAULT, parts[0].clone(), 2), Pushed::Held));
    let mut drained = r.drain();
    drained.sort_by_key(|e| e.first);
    assert_eq!(drained.iter().map(|e| (e.first, e.received)).collect::<Vec<_>>(), [(1, 1), (2, 1)]);
    assert!(r.is_empty() && r.drain().is_empty());
}

#[test]
fn expired_texts_decode_gsm_with_national_tables() {
    use smpp_wire::text::{Language, NationalTables};
    let gsm = "Price: 5€ {ok} ".repeat(25);
    let parts = udh_parts(&gsm, Encoding::Gsm7, 3);
    let mut r: Reassembler<()> = Reassembler::new(Duration::from_secs(1), 10, 1 << 20);
    let t0 = epoch();
    assert!(r.push(t0, b"a", b"b", DataCoding::MC_DEFAULT, parts[1].clone()).is_none());
    let e = r.expire(t0 + Duration::from_secs(1)).pop().unwrap();
    assert_eq!(e.parts, [(2, parts[1].data.clone())]);
    let texts = e.texts();
    let [(2, Decoded::Text(t))] = texts.as_slice() else { panic!("one text part") };
    assert!(t.contains('€') && gsm.contains(t.as_str()), "{t}");
    // Turkish: the tables come with the part and decode its text.
    let tables = NationalTables::new(Some(Language::Turkish), Some(Language::Turkish));
    let tr = "Iğdır'da güneşli bir gün; şimdi çay içelim. ".repeat(6);
    let parts = udh_parts(&tr, Encoding::Gsm7National(tables), 4);
    assert!(r.push(t0, b"a", b"b", DataCoding::MC_DEFAULT, parts[0].clone()).is_none());
    let e = r.expire(t0 + Duration::from_secs(1)).pop().unwrap();
    assert_eq!(e.national, tables);
    let texts = e.texts();
    let [(1, Decoded::Text(t))] = texts.as_slice() else { panic!("one text part") };
    assert!(tr.starts_with(t.as_str()) && t.contains('ş'), "{t}");
}

#[test]
fn eviction_by_count_returns_the_parts_and_meta() {
    let mut r = Reassembler::new(Duration::from_secs(30), 1, 1 << 20);
    let t0 = epoch();
    let a = Fragment::new(1, 3, 2, Bytes::from_static(b"aa"));
    let b = Fragment::new(2, 3, 1, Bytes::from_static(b"bb"));
    assert!(matches!(r.push_with(t0, b"s", b"d", DataCoding::MC_DEFAULT, a, 1u32), Pushed::Held));
    assert!(matches!(
        r.push_with(t0 + Duration::from_secs(1), b"s", b"d", DataCoding::MC_DEFAULT, b, 2u32),
        Pushed::Held
    ));
    assert_eq!(r.len(), 1);
    let evicted = r.expire(t0 + Duration::from_secs(2));
    assert_eq!(evicted.len(), 1, "reported before any timeout");
    assert_eq!((evicted[0].reference, evicted[0].first), (1, 1));
    assert_eq!(evicted[0].parts, [(2, Bytes::from_static(b"aa"))]);
}

#[test]
fn eviction_by_octets_returns_the_parts_and_meta() {
    let mut r = Reassembler::new(Duration::from_secs(30), 100, 10);
    let t0 = epoch();
    let part = |reference, seq, data: &'static [u8]| Fragment::new(reference, 2, seq, Bytes::from_static(data));
    assert!(matches!(r.push_with(t0, b"s", b"d", DataCoding::MC_DEFAULT, part(1, 2, b"12345678"), "a"), Pushed::Held));
    let later = t0 + Duration::from_secs(1);
    assert!(matches!(
        r.push_with(later, b"s", b"d", DataCoding::MC_DEFAULT, part(2, 1, b"abcdefgh"), "b"),
        Pushed::Held
    ));
    assert_eq!(r.len(), 1, "16 octets held is over the bound of 10");
    let evicted = r.expire(later);
    assert_eq!(evicted.len(), 1);
    assert_eq!((evicted[0].reference, evicted[0].first, evicted[0].received), (1, "a", 1));
    assert_eq!(evicted[0].parts, [(2, Bytes::from_static(b"12345678"))]);
    // The message still held completes, with its own meta.
    let Pushed::Complete(done) = r.push_with(later, b"s", b"d", DataCoding::MC_DEFAULT, part(2, 2, b"ij"), "c") else {
        panic!("complete")
    };
    assert_eq!((done.first, done.data.as_slice()), ("b", &b"abcdefghij"[..]));
}

#[test]
fn invalid_parts_come_back_with_their_meta() {
    let mut r = Reassembler::new(Duration::from_secs(30), 100, 1 << 20);
    let t0 = epoch();
    for (total, seq) in [(3, 0), (3, 4), (0, 1), (0, 0)] {
        let f = Fragment::new(9, total, seq, Bytes::from_static(b"plain"));
        match r.push_with(t0, b"s", b"d", DataCoding::MC_DEFAULT, f.clone(), (total, seq)) {
            Pushed::Invalid(back, meta) => assert_eq!((back, meta), (f, (total, seq))),
            other => panic!("total {total} seq {seq}: {other:?}"),
        }
    }
    assert!(r.is_empty(), "nothing held");
    assert!(r.expire(t0 + Duration::from_secs(60)).is_empty(), "nor reported");
}

#[test]
fn duplicates_are_ignored_and_complete_carries_the_first_meta() {
    let mut r = Reassembler::new(Duration::from_secs(30), 100, 1 << 20);
    let t0 = epoch();
    let part = |seq, data: &'static [u8]| Fragment::new(5, 3, seq, Bytes::from_static(data));
    let mut push = |seq, data, meta| r.push_with(t0, b"s", b"d", DataCoding::MC_DEFAULT, part(seq, data), meta);
    assert_eq!(push(2, b"BB", "second part, seen first"), Pushed::Held);
    assert_eq!(push(2, b"XX", "duplicate"), Pushed::Duplicate);
    assert_eq!(push(1, b"AA", "first part"), Pushed::Held);
    let Pushed::Complete(a) = push(3, b"CC", "last part") else { panic!("complete") };
    assert_eq!(a.first, "second part, seen first");
    assert_eq!(a.data, b"AABBCC", "the duplicate's data is not used");
    assert_eq!((a.reference, a.total), (5, 3));
    // A one-part "long" message completes at once, with its meta.
    let one = Fragment::new(6, 1, 1, Bytes::from_static(b"solo"));
    let Pushed::Complete(a) = r.push_with(t0, b"s", b"d", DataCoding::MC_DEFAULT, one, "solo") else {
        panic!("complete")
    };
    assert_eq!((a.first, a.data.as_slice()), ("solo", &b"solo"[..]));
    assert!(r.is_empty());
}

#[test]
fn push_without_meta_still_drops_invalid_and_duplicate_parts() {
    let mut r = Reassembler::new(Duration::from_secs(30), 100, 1 << 20);
    let t0 = epoch();
    let part = |total, seq| Fragment::new(8, total, seq, Bytes::from_static(b"x"));
    assert!(r.push(t0, b"s", b"d", DataCoding::MC_DEFAULT, part(2, 3)).is_none());
    assert!(r.push(t0, b"s", b"d", DataCoding::MC_DEFAULT, part(2, 1)).is_none());
    assert!(r.push(t0, b"s", b"d", DataCoding::MC_DEFAULT, part(2, 1)).is_none());
    let a = r.push(t0, b"s", b"d", DataCoding::MC_DEFAULT, part(2, 2)).unwrap();
    assert_eq!((a.data, a.first), (b"xx".to_vec(), ()));
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
    assert_eq!(expired[0].parts, [(1, f(0).data)], "the part that came is reported");
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
    use smpp_wire::text::{Language, NationalTables};
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

    /// Any text: parsing never panics, and a parsed receipt formats to text that
    /// parses back to the same id, stat word, state, error and text.
    #[test]
    fn receipts_format_and_parse_back(
        words in proptest::collection::vec(
            prop_oneof![
                "(id|ID|sub|dlvrd|stat|err|msisdn|submit|done|date|text|Text|submit_date|x-y):?",
                "[a-zA-Z0-9:_ ]{0,12}",
                Just("stat:DELIVRD".to_owned()),
                Just("date:2001011200".to_owned()),
                any::<String>().prop_map(|s| s.chars().take(8).collect()),
            ],
            0..16,
        ),
        spaces in proptest::collection::vec("[ \t]{1,3}", 16),
    ) {
        let text: String = words.iter().zip(&spaces).flat_map(|(w, s)| [w.as_str(), s.as_str()]).collect();
        if let Some(r) = Receipt::parse(&text) {
            let again = Receipt::parse(&r.format());
            prop_assert!(again.is_some(), "{} formats to {}", text, r.format());
            let again = again.unwrap();
            prop_assert_eq!(again.id.unwrap_or_default(), r.id.unwrap_or_default());
            if r.state.is_some() {
                // (Without a state, `format` writes `stat:UNKNOWN`.)
                prop_assert_eq!(again.state, r.state);
            }
            if r.stat.is_some() {
                prop_assert_eq!(again.stat, r.stat);
            }
            if r.err.is_some() {
                prop_assert_eq!(again.err, r.err);
            }
            if r.text.is_some() {
                prop_assert_eq!(again.text, r.text);
            }
        }
    }

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
