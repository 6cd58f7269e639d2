//! Message safety in the client: answers tied to their connection and never lost,
//! long messages that survive reconnects and expiry, the client's lifecycle, throttle
//! retries, concatenation, and v3.3's two binds. In-memory streams, virtual time.

mod common;

use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::BytesMut;
use common::{SmscCommand, TestSmsc, config, connector, deliver_via, mo, sm};
use smpp_client::smpp_wire::text::{Concatenation, Decoded, Encoding, split};
use smpp_client::smpp_wire::{
    Address, Body, CommandId, CommandStatus, DeliverSm, EsmClass, InterfaceVersion, Pdu, SequenceNumber, ShortMessage,
    SubmitSmResp, frame_len,
};
use smpp_client::{
    BindMode, BoxStream, Client, ClientConfig, ClientError, Connector, Fate, InboundMessage, LinkState, Reconnect,
    RequestError, TextOptions, ThrottleRetry,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt, duplex};

fn reconnecting() -> ClientConfig {
    config().reconnect(Some(Reconnect::default().initial(Duration::from_secs(1))))
}

/// The parts of a long GSM text, as deliver_sm.
fn long_mo(text: &str, reference: u16) -> Vec<DeliverSm> {
    split(text, Encoding::Gsm7, Concatenation::Udh8, reference)
        .unwrap()
        .into_iter()
        .map(|p| {
            let mut d = mo("");
            d.esm_class = p.esm_class;
            d.short_message = p.short_message;
            d
        })
        .collect()
}

// ---- 2. manual-ack answers belong to their connection --------------------------

#[tokio::test(start_paused = true)]
async fn a_manual_ack_from_an_earlier_connection_is_refused_and_never_reaches_the_new_one() {
    let smscs = Arc::new(Mutex::new(Vec::new()));
    let c = reconnecting().auto_ack(false);
    let (client, mut incoming) =
        Client::connect_via(c, connector(smscs.clone(), Arc::new(AtomicUsize::new(0)), "secret")).await.unwrap();
    let first = smscs.lock().unwrap()[0].commands.clone();
    let (tx, _answer) = tokio::sync::oneshot::channel();
    first.send(SmscCommand::Deliver(mo("held"), tx)).await.unwrap();
    let held = incoming.recv().await.unwrap();
    // The link drops and comes back; the new SMSC numbers from 1 again.
    first.send(SmscCommand::Drop).await.unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(client.is_up());
    let second = smscs.lock().unwrap()[1].commands.clone();
    let (tx, fresh_answer) = tokio::sync::oneshot::channel();
    second.send(SmscCommand::Deliver(mo("fresh"), tx)).await.unwrap();
    let fresh = incoming.recv().await.unwrap();
    assert_eq!(fresh.seq, held.seq, "both connections used the same sequence number");
    assert_eq!(held.respond(CommandStatus::ESME_ROK), Err(RequestError::ConnectionChanged));
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert!(smscs.lock().unwrap()[1].log.lock().unwrap().acks.is_empty(), "the old answer reached the new session");
    fresh.respond(CommandStatus::ESME_RX_P_APPN).unwrap();
    assert_eq!(fresh_answer.await.unwrap(), CommandStatus::ESME_RX_P_APPN);
}

// ---- 5. successful deliver_sm_resp bodies ----------------------------------------

#[tokio::test(start_paused = true)]
async fn a_successful_deliver_sm_resp_carries_a_message_id_in_manual_and_auto_ack() {
    for auto in [true, false] {
        let c = config().auto_ack(auto);
        let (a, b) = duplex(1 << 16);
        let smsc = TestSmsc::spawn(b, None);
        let (_client, mut incoming) = Client::connect_with(c, a).await.unwrap();
        let deliver = smsc.deliver(mo("hi"));
        let answer = async {
            let inbound = incoming.recv().await.unwrap();
            inbound.respond(CommandStatus::ESME_ROK).unwrap();
        };
        let (status, ()) = tokio::join!(deliver, answer);
        assert_eq!(status, CommandStatus::ESME_ROK);
        let bodies = smsc.log.lock().unwrap().ack_bodies.clone();
        assert!(
            matches!(&bodies[..], [Body::DeliverSmResp(Some(r))] if r.message_id.is_empty()),
            "auto {auto}: {bodies:?}"
        );
    }
}

// ---- 6. answers never lost to a full queue ---------------------------------------

#[tokio::test(start_paused = true)]
async fn three_hundred_manual_acks_in_a_burst_all_reach_the_smsc() {
    let (near, mut far) = duplex(1 << 20);
    let c = config().auto_ack(false).window(1).incoming_capacity(1000);
    let (client, inbox) = tokio::join!(Client::connect_with(c, near), accept_bind(&mut far));
    let (_client, mut incoming) = client.unwrap();
    let mut inbox = inbox;
    for k in 1..=300u32 {
        let pdu = Pdu::new(SequenceNumber::new(k), Body::DeliverSm(mo(&format!("m{k}"))));
        far.write_all(&pdu.to_bytes()).await.unwrap();
    }
    let mut held = Vec::new();
    while held.len() < 300 {
        held.push(incoming.recv().await.unwrap());
    }
    // All answered without yielding: the command queue could not take them all
    // had room not been reserved when each message was handed out.
    for inbound in held {
        inbound.respond(CommandStatus::ESME_ROK).unwrap();
    }
    let mut answered = 0;
    while answered < 300 {
        let pdu = next(&mut far, &mut inbox).await;
        if pdu.command_id() == CommandId::DELIVER_SM_RESP {
            assert_eq!(pdu.status, CommandStatus::ESME_ROK);
            answered += 1;
        }
    }
}

/// A raw SMSC's side of a bind: reads the bind, answers it; returns what else was read.
async fn accept_bind(far: &mut tokio::io::DuplexStream) -> BytesMut {
    let mut inbox = BytesMut::new();
    let bind = next(far, &mut inbox).await;
    let resp = Body::BindTransceiverResp(Some(Default::default()));
    far.write_all(&Pdu::new(bind.sequence, resp).to_bytes()).await.unwrap();
    inbox
}

/// The next whole PDU from the peer.
async fn next(peer: &mut tokio::io::DuplexStream, inbox: &mut BytesMut) -> Pdu {
    loop {
        if let Ok(Some(n)) = frame_len(inbox, 1 << 17) {
            return Pdu::decode(inbox.split_to(n).freeze()).unwrap();
        }
        assert!(peer.read_buf(inbox).await.unwrap() > 0, "stream ended");
    }
}

// ---- 3. long messages: nothing acked vanishes ------------------------------------

#[tokio::test(start_paused = true)]
async fn an_expired_long_message_hands_over_the_parts_that_came_with_their_text() {
    let (a, b) = duplex(1 << 16);
    let smsc = TestSmsc::spawn(b, None);
    let (_client, mut incoming) = Client::connect_with(config(), a).await.unwrap();
    let text = format!("{}{}", "a".repeat(153), "b".repeat(100));
    let parts = long_mo(&text, 9);
    assert_eq!(smsc.deliver(parts[0].clone()).await, CommandStatus::ESME_ROK);
    let m = incoming.recv().await.unwrap();
    let InboundMessage::Incomplete(e) = &m.message else { panic!("{:?}", m.message) };
    assert_eq!((e.received, e.total, e.reference), (1, 2, 9));
    let texts = e.texts();
    assert_eq!(texts.len(), 1);
    assert!(matches!(&texts[0], (1, Decoded::Text(t)) if *t == "a".repeat(153)));
    assert_eq!(e.first.short_message, parts[0].short_message, "the first part came too");
}

#[tokio::test(start_paused = true)]
async fn a_long_message_is_put_together_across_a_reconnect() {
    let smscs = Arc::new(Mutex::new(Vec::new()));
    let (_client, mut incoming) =
        Client::connect_via(reconnecting(), connector(smscs.clone(), Arc::new(AtomicUsize::new(0)), "secret"))
            .await
            .unwrap();
    let text = "Parts on two connections. ".repeat(10);
    let parts = long_mo(&text, 33);
    let first = smscs.lock().unwrap()[0].commands.clone();
    assert_eq!(deliver_via(&first, parts[0].clone()).await, CommandStatus::ESME_ROK);
    first.send(SmscCommand::Drop).await.unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let second = smscs.lock().unwrap()[1].commands.clone();
    assert_eq!(deliver_via(&second, parts[1].clone()).await, CommandStatus::ESME_ROK);
    let m = incoming.recv().await.unwrap();
    assert!(matches!(m.message, InboundMessage::Long { .. }), "{:?}", m.message);
    assert_eq!(m.text().as_deref(), Some(text.as_str()));
}

#[tokio::test(start_paused = true)]
async fn a_long_message_is_put_together_across_the_binds_of_a_pool() {
    let smscs = Arc::new(Mutex::new(Vec::new()));
    let (_pool, mut incomings) = smpp_client::Pool::connect_each_via(
        config(),
        connector(smscs.clone(), Arc::new(AtomicUsize::new(0)), "secret"),
        2,
    )
    .await
    .unwrap();
    let text = "Parts on two binds. ".repeat(12);
    let parts = long_mo(&text, 44);
    let (s0, s1) = {
        let s = smscs.lock().unwrap();
        (s[0].commands.clone(), s[1].commands.clone())
    };
    for (smsc, part) in [(s0, &parts[0]), (s1, &parts[1])] {
        assert_eq!(deliver_via(&smsc, part.clone()).await, CommandStatus::ESME_ROK);
    }
    let m = incomings[1].recv().await.unwrap();
    assert_eq!(m.text().as_deref(), Some(text.as_str()));
    assert!(incomings[0].try_recv().is_none(), "one whole message, on one stream");
}

#[tokio::test(start_paused = true)]
async fn a_part_with_an_impossible_number_is_delivered_as_it_is() {
    let (a, b) = duplex(1 << 16);
    let smsc = TestSmsc::spawn(b, None);
    let (_client, mut incoming) = Client::connect_with(config(), a).await.unwrap();
    for (total, part) in [(2u8, 0u8), (2, 3)] {
        let mut d = mo("");
        d.esm_class = EsmClass(0x40);
        d.short_message = ShortMessage::new(vec![5, 0, 3, 7, total, part, b'x']).unwrap();
        assert_eq!(smsc.deliver(d.clone()).await, CommandStatus::ESME_ROK);
        let m = incoming.recv().await.unwrap();
        assert!(matches!(&m.message, InboundMessage::Deliver(got) if *got == d), "{:?}", m.message);
    }
}

#[tokio::test(start_paused = true)]
async fn in_manual_ack_each_part_is_answered_then_the_whole_message_follows() {
    let c = config().auto_ack(false);
    let (a, b) = duplex(1 << 16);
    let smsc = TestSmsc::spawn(b, None);
    let (_client, mut incoming) = Client::connect_with(c, a).await.unwrap();
    let text = "Manual parts. ".repeat(20);
    let parts = long_mo(&text, 5);
    assert_eq!(parts.len(), 2);
    for part in &parts {
        let deliver = smsc.deliver(part.clone());
        let answer = async {
            let inbound = incoming.recv().await.unwrap();
            assert!(matches!(inbound.message, InboundMessage::Part { total: 2, .. }), "{:?}", inbound.message);
            inbound.respond(CommandStatus::ESME_ROK).unwrap();
        };
        let (status, ()) = tokio::join!(deliver, answer);
        assert_eq!(status, CommandStatus::ESME_ROK);
    }
    let whole = incoming.recv().await.unwrap();
    assert!(matches!(whole.message, InboundMessage::Long { .. }), "{:?}", whole.message);
    assert_eq!(whole.text().as_deref(), Some(text.as_str()));
}

// ---- 8. lifecycle ----------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn dropping_the_last_client_unbinds_and_stops_reconnecting() {
    let smscs = Arc::new(Mutex::new(Vec::new()));
    let (client, _incoming) =
        Client::connect_via(reconnecting(), connector(smscs.clone(), Arc::new(AtomicUsize::new(0)), "secret"))
            .await
            .unwrap();
    let other = client.clone();
    drop(client);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(other.is_up(), "a clone still holds it");
    drop(other);
    tokio::time::sleep(Duration::from_secs(600)).await;
    let smscs = smscs.lock().unwrap();
    assert_eq!(smscs.len(), 1, "no reconnection after the last handle went");
    assert_eq!(smscs[0].log.lock().unwrap().unbinds, 1, "it unbound");
}

#[tokio::test(start_paused = true)]
async fn the_first_connect_follows_the_reconnect_policy() {
    let smscs = Arc::new(Mutex::new(Vec::new()));
    let refuse = Arc::new(AtomicUsize::new(2));
    let start = tokio::time::Instant::now();
    let (client, _incoming) =
        Client::connect_via(reconnecting(), connector(smscs.clone(), refuse, "secret")).await.unwrap();
    assert!(client.is_up());
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(2250) && waited <= Duration::from_millis(3100),
        "1 s then 2 s of back-off, each up to a quarter shorter: {waited:?}"
    );
    // Without reconnection, one refusal is the answer.
    let refuse = Arc::new(AtomicUsize::new(1));
    let err = Client::connect_via(config(), connector(smscs, refuse, "secret")).await.unwrap_err();
    assert!(matches!(err, ClientError::Connect { .. }), "{err:?}");
}

#[tokio::test(start_paused = true)]
async fn a_permanent_bind_refusal_stops_retrying() {
    let smscs = Arc::new(Mutex::new(Vec::new()));
    let err = Client::connect_via(reconnecting(), connector(smscs.clone(), Arc::new(AtomicUsize::new(0)), "other"))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::BindRefused(CommandStatus::ESME_RINVPASWD)), "{err:?}");
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert_eq!(smscs.lock().unwrap().len(), 1, "no second attempt");
}

#[tokio::test(start_paused = true)]
async fn a_permanent_refusal_on_reconnect_ends_the_client_and_says_why() {
    let smscs = Arc::new(Mutex::new(Vec::new()));
    let password = Arc::new(Mutex::new("secret"));
    let p = password.clone();
    let s = smscs.clone();
    let connector: Connector = Arc::new(move || {
        let (s, p) = (s.clone(), *p.lock().unwrap());
        Box::pin(async move {
            let (a, b) = duplex(1 << 16);
            s.lock().unwrap().push(TestSmsc::spawn_with(b, None, p));
            Ok(Box::new(a) as BoxStream)
        })
    });
    let (client, _incoming) = Client::connect_via(reconnecting(), connector).await.unwrap();
    *password.lock().unwrap() = "changed";
    let first = smscs.lock().unwrap()[0].commands.clone();
    first.send(SmscCommand::Drop).await.unwrap();
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert_eq!(client.link_state(), LinkState::Refused(CommandStatus::ESME_RINVPASWD));
    assert_eq!(smscs.lock().unwrap().len(), 2);
    assert_eq!(client.submit(sm("1", "x")).await, Err(RequestError::BindRefused(CommandStatus::ESME_RINVPASWD)));
}

#[tokio::test(start_paused = true)]
async fn with_incoming_dropped_messages_are_left_with_the_smsc() {
    let (a, b) = duplex(1 << 16);
    let smsc = TestSmsc::spawn(b, None);
    let (_client, incoming) = Client::connect_with(config(), a).await.unwrap();
    drop(incoming);
    for _ in 0..3 {
        assert_eq!(smsc.deliver(mo("x")).await, CommandStatus::ESME_RX_T_APPN);
    }
}

// ---- 9. throttling ---------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn a_throttled_submit_is_retried_until_the_deadline_then_reported() {
    let c = config().retry_throttled(Some(ThrottleRetry::default().deadline(Duration::from_secs(5))));
    let (a, b) = duplex(1 << 16);
    let smsc = TestSmsc::spawn(b, None);
    let (client, _incoming) = Client::connect_with(c, a).await.unwrap();
    let start = tokio::time::Instant::now();
    assert_eq!(client.submit(sm("58", "always throttled")).await, Err(RequestError::Throttled));
    // Retried for the 5 s after the first throttle answer, and never past them (a
    // retry whose turn would come later is not made).
    let waited = start.elapsed();
    assert!(waited >= Duration::from_secs(4) && waited <= Duration::from_secs(5), "{waited:?}");
    let stats = client.stats();
    assert!(stats.retries > 2 && stats.throttled == stats.retries + 1, "{stats:?}");
    assert_eq!(smsc.log.lock().unwrap().submits.len() as u64, stats.throttled);
    assert!(stats.adaptive_rate.is_some(), "the rate came down");

    // Off: the status at once.
    let c = config().retry_throttled(None);
    let (a, b) = duplex(1 << 16);
    let smsc = TestSmsc::spawn(b, None);
    let (client, _incoming) = Client::connect_with(c, a).await.unwrap();
    assert_eq!(client.submit(sm("14", "queue full")).await, Err(RequestError::QueueFull));
    assert_eq!(smsc.log.lock().unwrap().submits.len(), 1);
    assert_eq!(client.stats().retries, 0);
}

// ---- 11. concatenation -----------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn each_client_starts_its_references_at_random_and_sends_parts_in_order() {
    let mut references = Vec::new();
    for _ in 0..6 {
        let (a, b) = duplex(1 << 16);
        let smsc = TestSmsc::spawn(b, Some(Duration::from_millis(10)));
        let (client, _incoming) = Client::connect_with(config(), a).await.unwrap();
        let to = Address::international("447700900123").unwrap();
        let text = "y".repeat(400);
        let ids = client.submit_text(Address::alphanumeric("Rust").unwrap(), to, &text, TextOptions::default());
        assert_eq!(ids.await.unwrap().len(), 3);
        let log = smsc.log.lock().unwrap();
        assert_eq!(log.max_outstanding, 1, "one part at a time, in order");
        let udh: Vec<Vec<u8>> = log.submit_octets.iter().map(|s| s[..6].to_vec()).collect();
        assert_eq!(udh.iter().map(|u| u[5]).collect::<Vec<_>>(), vec![1, 2, 3]);
        references.push(udh[0][3]);
    }
    references.dedup();
    assert!(references.len() > 1, "six clients all started at reference {}", references[0]);
}

#[tokio::test(start_paused = true)]
async fn a_failed_part_returns_the_ids_of_the_parts_accepted_before_it() {
    let (a, b) = duplex(1 << 16);
    let smsc = TestSmsc::spawn(b, None);
    let (client, _incoming) = Client::connect_with(config(), a).await.unwrap();
    let to = Address::new(Default::default(), Default::default(), "part2fails").unwrap();
    let text = "z".repeat(400);
    let err = client.submit_text(Address::alphanumeric("Rust").unwrap(), to, &text, TextOptions::default());
    match err.await {
        Err(RequestError::Partial { accepted, parts: 3, error }) => {
            assert_eq!(accepted.len(), 1);
            assert_eq!(*error, RequestError::Status(CommandStatus::ESME_RSYSERR));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(smsc.log.lock().unwrap().submits.len(), 2, "part 3 was not sent");
}

// ---- 12. v3.3 ----------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn a_v33_transceiver_binds_a_transmitter_and_a_receiver() {
    let smscs = Arc::new(Mutex::new(Vec::new()));
    let c = config().interface_version(InterfaceVersion::V33);
    let (client, mut incoming) =
        Client::connect_via(c, connector(smscs.clone(), Arc::new(AtomicUsize::new(0)), "secret")).await.unwrap();
    assert!(matches!(client.link_state(), LinkState::Up { mode: BindMode::Transmitter, .. }));
    assert!(matches!(client.receiver_link_state(), Some(LinkState::Up { mode: BindMode::Receiver, .. })));
    let (tx_smsc, rx_smsc) = {
        let s = smscs.lock().unwrap();
        assert_eq!(s.len(), 2);
        let modes: Vec<_> = s.iter().map(|s| s.log.lock().unwrap().bind_modes[0]).collect();
        let tx = modes.iter().position(|m| *m == BindMode::Transmitter).unwrap();
        (s[tx].log.clone(), s[1 - tx].commands.clone())
    };
    client.submit(sm("1", "on the transmitter")).await.unwrap();
    assert_eq!(tx_smsc.lock().unwrap().submits, vec!["on the transmitter".to_owned()]);
    assert_eq!(deliver_via(&rx_smsc, common::receipt("42")).await, CommandStatus::ESME_ROK);
    assert!(incoming.recv().await.unwrap().is_receipt());
    client.unbind().await;
}

// ---- 10. what a lost connection means ---------------------------------------------

#[tokio::test(start_paused = true)]
async fn requests_in_flight_are_unknown_and_the_rest_never_sent() {
    let (a, b) = duplex(1 << 16);
    let smsc = TestSmsc::spawn(b, None);
    let c = config().window(5);
    let (client, _incoming) = Client::connect_with(c, a).await.unwrap();
    let tasks: Vec<_> = (0..20)
        .map(|k| {
            let client = client.clone();
            tokio::spawn(async move { client.submit(sm("silent", &k.to_string())).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(10)).await;
    smsc.commands.send(SmscCommand::Drop).await.unwrap();
    let mut fates = std::collections::BTreeMap::new();
    for t in tasks {
        let e = t.await.unwrap().unwrap_err();
        *fates.entry(format!("{:?}", e.fate())).or_insert(0) += 1;
    }
    assert_eq!(fates.get(&format!("{:?}", Fate::Unknown)), Some(&5), "{fates:?}");
    assert_eq!(fates.get(&format!("{:?}", Fate::NeverSent)), Some(&15), "{fates:?}");
    assert_eq!(smsc.log.lock().unwrap().submits.len(), 5);
}

// ---- review follow-ups -------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn parts_held_when_the_client_stops_are_handed_over() {
    let (a, b) = duplex(1 << 16);
    let smsc = TestSmsc::spawn(b, None);
    let (client, mut incoming) = Client::connect_with(config(), a).await.unwrap();
    let parts = long_mo(&"Held at unbind. ".repeat(20), 12);
    assert_eq!(smsc.deliver(parts[0].clone()).await, CommandStatus::ESME_ROK);
    client.unbind().await;
    let m = incoming.recv().await.expect("the acked part, not silence");
    assert!(
        matches!(&m.message, InboundMessage::Incomplete(e) if e.received == 1 && e.reference == 12),
        "{:?}",
        m.message
    );
}

#[tokio::test(start_paused = true)]
async fn held_manual_acks_never_block_requests_or_unbind() {
    let (near, mut far) = duplex(1 << 20);
    let c = config().auto_ack(false).window(10).incoming_capacity(10);
    let (client, mut inbox) = tokio::join!(Client::connect_with(c, near), accept_bind(&mut far));
    let (client, mut incoming) = client.unwrap();
    // The application takes 200 messages as they come and holds them unanswered...
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while held.len() < 200 {
            held.push(incoming.recv().await.unwrap());
        }
        (held, incoming)
    });
    for chunk in 0..20u32 {
        for k in 1..=10 {
            let pdu = Pdu::new(SequenceNumber::new(chunk * 10 + k), Body::DeliverSm(mo("held")));
            far.write_all(&pdu.to_bytes()).await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (held, _incoming) = holder.await.unwrap();
    // ... and a submit still goes out and comes back.
    let submit = tokio::spawn({
        let client = client.clone();
        async move { client.submit(sm("1", "while holding")).await }
    });
    let request = loop {
        let pdu = next(&mut far, &mut inbox).await;
        if pdu.command_id() == CommandId::SUBMIT_SM {
            break pdu;
        }
    };
    let mut resp = SubmitSmResp::default();
    resp.message_id = "m1".parse().unwrap();
    far.write_all(&Pdu::new(request.sequence, Body::SubmitSmResp(Some(resp))).to_bytes()).await.unwrap();
    let r = tokio::time::timeout(Duration::from_secs(5), submit).await.expect("the submit was not blocked");
    assert_eq!(r.unwrap().unwrap().message_id.to_string(), "m1");
    drop(held);
}

#[tokio::test(start_paused = true)]
async fn many_callers_against_an_smsc_that_always_throttles_all_stop_at_the_deadline() {
    let c = config().window(50).retry_throttled(Some(ThrottleRetry::default().deadline(Duration::from_secs(3))));
    let (a, b) = duplex(1 << 16);
    let _smsc = TestSmsc::spawn(b, None);
    let (client, _incoming) = Client::connect_with(c, a).await.unwrap();
    let start = tokio::time::Instant::now();
    let tasks: Vec<_> = (0..50)
        .map(|k| {
            let client = client.clone();
            tokio::spawn(async move { client.submit(sm("58", &k.to_string())).await })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), Err(RequestError::Throttled));
    }
    let took = start.elapsed();
    assert!(took < Duration::from_secs(4), "pacing outlasted the deadline: {took:?}");
}

#[tokio::test(start_paused = true)]
async fn a_message_the_client_could_not_ack_is_not_handed_on() {
    let (near, mut far) = duplex(1 << 16);
    let (client, _inbox) = tokio::join!(Client::connect_with(config(), near), accept_bind(&mut far));
    let (_client, mut incoming) = client.unwrap();
    // A deliver_sm, then a frame whose command_length is impossible, in one write: the
    // session closes in the same turn, before the deliver_sm can be acknowledged.
    let mut bytes = Pdu::new(SequenceNumber::new(5), Body::DeliverSm(mo("unacked"))).to_bytes().to_vec();
    bytes.extend_from_slice(&[0, 0, 0, 5, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 6]);
    far.write_all(&bytes).await.unwrap();
    assert!(incoming.recv().await.is_none(), "handed on without an ack: the SMSC will deliver it again");
}

#[test]
fn a_request_whose_connection_task_vanishes_is_outcome_unknown() {
    let a = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let (client, smsc) = a.block_on(async {
        let (near, far) = duplex(1 << 16);
        // It never answers in time.
        let smsc = TestSmsc::spawn(far, Some(Duration::from_secs(600)));
        let (client, _incoming) = Client::connect_with(config(), near).await.unwrap();
        (client, smsc)
    });
    let b = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    b.block_on(async move {
        let submit = tokio::spawn(async move { client.submit(sm("1", "in flight")).await });
        for _ in 0..5_000 {
            if !smsc.log.lock().unwrap().submits.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        assert_eq!(smsc.log.lock().unwrap().submits.len(), 1, "the SMSC has it");
        // The runtime the connection ran on goes away.
        a.shutdown_background();
        let r = submit.await.unwrap();
        assert_eq!(r.map_err(|e| e.fate()), Err(Fate::Unknown));
    });
}
