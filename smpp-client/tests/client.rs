//! Client tests over an in-memory duplex against a scripted SMSC, in virtual time.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{SmscCommand, TestSmsc, config, mo, receipt, sm};
use smpp_client::smpp_wire::text::Encoding;
use smpp_client::smpp_wire::{
    Address, CancelSm, CommandStatus, DataSm, DestAddress, MessageState, QuerySm, ReplaceSm, SubmitMulti,
};
use smpp_client::{
    BindMode, Client, ClientConfig, ClientError, InboundMessage, LinkState, Pool, Reconnect, RequestError,
};
use tokio::io::duplex;

async fn connected(config: ClientConfig, delay: Option<Duration>) -> (Client, smpp_client::Incoming, TestSmsc) {
    let (a, b) = duplex(1 << 16);
    let smsc = TestSmsc::spawn(b, delay);
    let (client, incoming) = Client::connect_with(config, a).await.expect("bind");
    (client, incoming, smsc)
}

#[tokio::test(start_paused = true)]
async fn binds_with_the_configured_mode() {
    for mode in [BindMode::Transmitter, BindMode::Receiver, BindMode::Transceiver] {
        let c = config().bind_mode(mode);
        let (client, _incoming, smsc) = connected(c, None).await;
        assert!(matches!(client.link_state(), LinkState::Up { mode: m, .. } if m == mode));
        assert_eq!(smsc.log.lock().unwrap().binds, 1);
    }
}

#[tokio::test(start_paused = true)]
async fn a_refused_bind_names_the_status() {
    let (a, b) = duplex(1 << 16);
    let _smsc = TestSmsc::spawn(b, None);
    let c = ClientConfig::new("test", 0, "user", "wrong");
    let err = Client::connect_with(c, a).await.unwrap_err();
    assert!(matches!(err, ClientError::BindRefused(CommandStatus::ESME_RINVPASWD)));
    assert_eq!(err.to_string(), "bind refused: ESME_RINVPASWD (0x0E): invalid password");
}

#[tokio::test(start_paused = true)]
async fn concurrent_submits_share_the_window_and_each_gets_its_id() {
    let c = config().window(10);
    let (client, _incoming, smsc) = connected(c, Some(Duration::from_millis(50))).await;
    let tasks: Vec<_> = (0..100)
        .map(|k| {
            let client = client.clone();
            tokio::spawn(async move { client.submit(sm("447700900123", &k.to_string())).await })
        })
        .collect();
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap().unwrap().message_id.to_string());
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 100, "every submit got its own message_id");
    let log = smsc.log.lock().unwrap();
    assert_eq!(log.submits.len(), 100);
    assert_eq!(log.max_outstanding, 10, "never more than the window in flight, and the window used fully");
}

#[tokio::test(start_paused = true)]
async fn try_submit_returns_at_once_when_the_window_is_full() {
    let c = config().window(2);
    let (client, _incoming, _smsc) = connected(c, Some(Duration::from_secs(1))).await;
    let a = tokio::spawn({
        let client = client.clone();
        async move { client.submit(sm("1", "a")).await }
    });
    let b = tokio::spawn({
        let client = client.clone();
        async move { client.submit(sm("1", "b")).await }
    });
    tokio::task::yield_now().await;
    assert_eq!(client.available(), 0);
    let start = tokio::time::Instant::now();
    assert_eq!(client.try_submit(sm("1", "c")).await, Err(RequestError::WindowFull));
    assert_eq!(start.elapsed(), Duration::ZERO);
    assert!(a.await.unwrap().is_ok() && b.await.unwrap().is_ok());
    assert!(client.try_submit(sm("1", "d")).await.is_ok());
}

#[tokio::test(start_paused = true)]
async fn every_submit_resolves_to_exactly_one_outcome() {
    // Throttle answers reported at once (retries are tested on their own).
    let c = config().retry_throttled(None);
    let (client, _incoming, smsc) = connected(c, None).await;
    assert!(client.submit(sm("447700900123", "ok")).await.is_ok());
    assert_eq!(client.submit(sm("0", "x")).await, Err(RequestError::Status(CommandStatus::ESME_RINVDSTADR)));
    assert_eq!(client.submit(sm("58", "x")).await, Err(RequestError::Throttled));
    assert_eq!(client.submit(sm("14", "x")).await, Err(RequestError::QueueFull));
    let start = tokio::time::Instant::now();
    assert_eq!(client.submit(sm("silent", "x")).await, Err(RequestError::Timeout));
    assert_eq!(start.elapsed(), Duration::from_secs(30), "the default response timeout");
    // Connection lost with a request in flight.
    let pending = tokio::spawn({
        let client = client.clone();
        async move { client.submit(sm("silent", "y")).await }
    });
    tokio::time::sleep(Duration::from_millis(1)).await;
    smsc.commands.send(SmscCommand::Drop).await.unwrap();
    assert!(matches!(pending.await.unwrap(), Err(RequestError::ConnectionLost(_))));
    // And after that, a clear error rather than silence.
    assert!(client.submit(sm("1", "z")).await.is_err());
}

#[tokio::test(start_paused = true)]
async fn every_request_type_has_a_call() {
    let (client, _incoming, smsc) = connected(config(), None).await;
    let mut multi = SubmitMulti::default();
    multi.dest_addresses.try_push(DestAddress::Sme(Address::international("447700900123").unwrap())).unwrap();
    assert_eq!(client.submit_multi(multi).await.unwrap().message_id.as_bytes(), b"multi-1");
    let mut data = DataSm::default();
    data.destination_addr = Address::international("447700900123").unwrap();
    assert_eq!(client.data_sm(data).await.unwrap().message_id.as_bytes(), b"data-1");
    let mut q = QuerySm::default();
    q.message_id = "42".parse().unwrap();
    assert_eq!(client.query_sm(q).await.unwrap().message_id.as_bytes(), b"42");
    client.cancel_sm(CancelSm::default()).await.unwrap();
    client.replace_sm(ReplaceSm::default()).await.unwrap();
    let log = smsc.log.lock().unwrap();
    assert_eq!(log.requests, ["submit_multi", "data_sm", "query_sm", "cancel_sm", "replace_sm"]);
}

#[tokio::test(start_paused = true)]
async fn inbound_messages_are_acknowledged_and_receipts_recognised() {
    let (_client, mut incoming, smsc) = connected(config(), None).await;
    assert_eq!(smsc.deliver(mo("hello")).await, CommandStatus::ESME_ROK);
    assert_eq!(smsc.deliver(receipt("7")).await, CommandStatus::ESME_ROK);
    let first = incoming.recv().await.unwrap();
    assert!(matches!(&first.message, InboundMessage::Deliver(d) if d.short_message.as_bytes() == b"hello"));
    let second = incoming.recv().await.unwrap();
    assert!(second.is_receipt());
}

#[tokio::test(start_paused = true)]
async fn manual_ack_lets_the_application_answer_with_any_status() {
    let c = config().auto_ack(false);
    let (_client, mut incoming, smsc) = connected(c, None).await;
    let ack = tokio::spawn({
        let commands = smsc.commands.clone();
        async move {
            let (tx, rx) = tokio::sync::oneshot::channel();
            commands.send(SmscCommand::Deliver(mo("a"), tx)).await.unwrap();
            rx.await.unwrap()
        }
    });
    let inbound = incoming.recv().await.unwrap();
    inbound.respond(CommandStatus::ESME_RX_P_APPN).unwrap();
    assert_eq!(ack.await.unwrap(), CommandStatus::ESME_RX_P_APPN);
    // Dropped without an answer: the SMSC is asked to retry, never left waiting.
    let (tx, rx) = tokio::sync::oneshot::channel();
    smsc.commands.send(SmscCommand::Deliver(mo("b"), tx)).await.unwrap();
    drop(incoming.recv().await.unwrap());
    assert_eq!(rx.await.unwrap(), CommandStatus::ESME_RX_T_APPN);
}

#[tokio::test(start_paused = true)]
async fn a_full_inbound_queue_asks_the_smsc_to_retry() {
    let c = config().incoming_capacity(1);
    let (_client, mut incoming, smsc) = connected(c, None).await;
    assert_eq!(smsc.deliver(mo("1")).await, CommandStatus::ESME_ROK);
    assert_eq!(smsc.deliver(mo("2")).await, CommandStatus::ESME_RX_T_APPN);
    assert!(incoming.recv().await.is_some());
    assert_eq!(smsc.deliver(mo("3")).await, CommandStatus::ESME_ROK);
}

#[tokio::test(start_paused = true)]
async fn the_rate_limit_spaces_requests() {
    let c = config().rate_limit(Some(10.0)).window(100);
    let (client, _incoming, _smsc) = connected(c, None).await;
    let start = tokio::time::Instant::now();
    for k in 0..21 {
        client.submit(sm("1", &k.to_string())).await.unwrap();
    }
    let took = start.elapsed();
    assert!(took >= Duration::from_secs(2) && took < Duration::from_millis(2100), "{took:?}");
}

#[tokio::test(start_paused = true)]
async fn enquire_link_keeps_an_idle_link_alive() {
    let (client, _incoming, smsc) = connected(config(), None).await;
    // The SMSC drops a link silent for 5 minutes; the client's enquire_link every 60 s
    // keeps it up for an hour of virtual time.
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert!(client.is_up());
    assert!(client.submit(sm("1", "still here")).await.is_ok());
    assert_eq!(smsc.log.lock().unwrap().binds, 1);
}

#[tokio::test(start_paused = true)]
async fn unbind_drains_requests_in_flight() {
    let (client, _incoming, smsc) = connected(config(), Some(Duration::from_millis(200))).await;
    let tasks: Vec<_> = (0..5)
        .map(|k| {
            let client = client.clone();
            tokio::spawn(async move { client.submit(sm("1", &k.to_string())).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1)).await;
    client.unbind().await;
    for t in tasks {
        assert!(t.await.unwrap().is_ok(), "answered before the unbind");
    }
    assert_eq!(client.link_state(), LinkState::Closed);
    assert_eq!(client.submit(sm("1", "late")).await, Err(RequestError::Closed));
    assert_eq!(smsc.log.lock().unwrap().submits.len(), 5);
}

#[tokio::test(start_paused = true)]
async fn reconnects_with_backoff_and_requests_wait_for_the_link() {
    let smscs = Arc::new(std::sync::Mutex::new(Vec::new()));
    let refuse = Arc::new(AtomicUsize::new(0));
    let c = config().reconnect(Some(Reconnect::default()));
    let (client, _incoming) =
        Client::connect_via(c, common::connector(smscs.clone(), refuse.clone(), "secret")).await.unwrap();
    assert!(client.submit(sm("1", "first")).await.is_ok());
    // The link drops, and the next two connection attempts are refused.
    refuse.store(2, Ordering::SeqCst);
    let first = smscs.lock().unwrap()[0].commands.clone();
    first.send(SmscCommand::Drop).await.unwrap();
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert!(matches!(client.link_state(), LinkState::Down(_) | LinkState::Connecting | LinkState::Reconnecting { .. }));
    // A submit made while down waits for the rebind: 1 s + 2 s + 4 s of back-off, each
    // up to a quarter shorter (jitter).
    let start = tokio::time::Instant::now();
    assert!(client.submit(sm("1", "after")).await.is_ok());
    let waited = start.elapsed();
    assert!(waited >= Duration::from_millis(5250) && waited <= Duration::from_millis(7100), "{waited:?}");
    assert_eq!(smscs.lock().unwrap().len(), 2);
    // Three tries after the drop (two refused), two submits over two bound links.
    let stats = client.stats();
    assert_eq!(stats.reconnects, 3, "{stats:?}");
    assert_eq!(stats.link.wire.pdus_of(smpp_session::Direction::Out, smpp_wire::CommandId::SUBMIT_SM), 2);
    assert_eq!((stats.link.bound, stats.link.in_flight), (1, 0), "{stats:?}");
}

#[tokio::test(start_paused = true)]
async fn requests_fail_clearly_when_the_link_stays_down() {
    let smscs = Arc::new(std::sync::Mutex::new(Vec::new()));
    let refuse = Arc::new(AtomicUsize::new(0));
    let c = config().reconnect(Some(Reconnect::default().down_wait(Duration::from_secs(5))));
    let (client, _incoming) =
        Client::connect_via(c, common::connector(smscs.clone(), refuse.clone(), "secret")).await.unwrap();
    refuse.store(1000, Ordering::SeqCst);
    let first = smscs.lock().unwrap()[0].commands.clone();
    first.send(SmscCommand::Drop).await.unwrap();
    tokio::time::sleep(Duration::from_millis(10)).await;
    let start = tokio::time::Instant::now();
    assert_eq!(client.submit(sm("1", "x")).await, Err(RequestError::NotConnected(Duration::from_secs(5))));
    assert_eq!(start.elapsed(), Duration::from_secs(5));
}

#[tokio::test(start_paused = true)]
async fn a_pool_spreads_submits_over_its_binds() {
    let mut clients = Vec::new();
    let mut smscs = Vec::new();
    for _ in 0..3 {
        let (client, _incoming, smsc) = connected(config(), None).await;
        clients.push(client);
        smscs.push(smsc);
    }
    let pool = Pool::from_clients(clients);
    for k in 0..30 {
        pool.submit(sm("1", &k.to_string())).await.unwrap();
    }
    for smsc in &smscs {
        assert_eq!(smsc.log.lock().unwrap().submits.len(), 10);
    }
    pool.unbind().await;
}

#[tokio::test(start_paused = true)]
async fn a_connect_to_a_closed_port_names_the_address_and_the_os_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let err = Client::connect(ClientConfig::new("127.0.0.1", port, "u", "p")).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ClientError::Connect { .. }), "{err:?}");
    assert!(text.contains(&format!("127.0.0.1:{port}")) && text.to_lowercase().contains("refused"), "{text}");
}

#[tokio::test(start_paused = true)]
async fn a_bind_without_answer_times_out() {
    let (a, _silent) = duplex(1 << 16);
    let c = config().bind_timeout(Duration::from_secs(7));
    let start = tokio::time::Instant::now();
    let err = Client::connect_with(c, a).await.unwrap_err();
    assert!(matches!(err, ClientError::BindTimeout(d) if d == Duration::from_secs(7)), "{err:?}");
    assert_eq!(start.elapsed(), Duration::from_secs(7));
}

#[tokio::test(start_paused = true)]
async fn interface_version_0x33_is_selectable_and_gets_no_tlvs() {
    use smpp_client::smpp_wire::{InterfaceVersion, Tlv};
    let c = config().interface_version(InterfaceVersion::V33).bind_mode(BindMode::Transmitter);
    let (client, _incoming, _smsc) = connected(c, None).await;
    assert!(matches!(client.link_state(), LinkState::Up { version: InterfaceVersion::V33, .. }));
    let mut with_tlv = sm("1", "x");
    with_tlv.tlvs.push(Tlv::SourcePort(1));
    assert!(matches!(client.submit(with_tlv).await, Err(RequestError::Send(_))));
    assert!(client.submit(sm("1", "plain")).await.is_ok());
}

#[tokio::test(start_paused = true)]
async fn without_reconnection_a_lost_link_is_reported_as_such() {
    let (client, _incoming, smsc) = connected(config(), None).await;
    smsc.commands.send(SmscCommand::Drop).await.unwrap();
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert!(matches!(client.submit(sm("1", "x")).await, Err(RequestError::ConnectionLost(_) | RequestError::Closed)));
}

#[tokio::test(start_paused = true)]
async fn submit_text_splits_encodes_and_returns_every_message_id() {
    use smpp_client::TextOptions;
    let (client, _incoming, smsc) = connected(config(), None).await;
    let text = "Привет, мир! ".repeat(12);
    let to = Address::international("447700900123").unwrap();
    let ids =
        client.submit_text(Address::alphanumeric("Rust").unwrap(), to, &text, TextOptions::default()).await.unwrap();
    assert_eq!(ids.len(), 3, "156 UCS-2 units in parts of 67");
    let coding = smsc.log.lock().unwrap().submit_coding.clone();
    assert_eq!(coding, vec![(0x40, 8); 3], "UDHI and UCS-2 on every part");
    let short = client
        .submit_text(Address::alphanumeric("Rust").unwrap(), to, "Hello €", TextOptions::default())
        .await
        .unwrap();
    assert_eq!(short.len(), 1);
    assert_eq!(smsc.log.lock().unwrap().submit_coding.last(), Some(&(0, 0)), "GSM 7-bit, one part");
    let err = client
        .submit_text(Address::alphanumeric("Rust").unwrap(), to, "😀", {
            let mut o = TextOptions::default();
            o.encoding = Some(Encoding::Gsm7);
            o
        })
        .await
        .unwrap_err();
    assert!(matches!(err, RequestError::Encode(e) if e.ch == '😀'));
}

#[tokio::test(start_paused = true)]
async fn inbound_long_messages_come_out_reassembled() {
    use smpp_client::smpp_wire::text::{Concatenation, split};
    let (_client, mut incoming, smsc) = connected(config(), None).await;
    let text = "Long message from a mobile, in several parts. ".repeat(5);
    let mut parts = split(&text, Encoding::Gsm7, Concatenation::Udh8, 42).unwrap();
    assert_eq!(parts.len(), 2);
    parts.reverse();
    for p in parts {
        let mut d = mo("");
        d.esm_class = p.esm_class;
        d.short_message = p.short_message;
        assert_eq!(smsc.deliver(d).await, CommandStatus::ESME_ROK, "each part acknowledged");
    }
    let m = incoming.recv().await.unwrap();
    assert!(matches!(m.message, InboundMessage::Long { .. }));
    assert_eq!(m.text().as_deref(), Some(text.as_str()));
}

#[tokio::test(start_paused = true)]
async fn an_incomplete_long_message_is_reported_when_it_expires() {
    use smpp_client::smpp_wire::text::{Concatenation, split};
    let (_client, mut incoming, smsc) = connected(config(), None).await;
    let parts = split(&"x".repeat(300), Encoding::Gsm7, Concatenation::Udh8, 7).unwrap();
    let mut d = mo("");
    d.esm_class = parts[0].esm_class;
    d.short_message = parts[0].short_message.clone();
    assert_eq!(smsc.deliver(d).await, CommandStatus::ESME_ROK);
    let start = tokio::time::Instant::now();
    let m = incoming.recv().await.unwrap();
    assert!(matches!(&m.message, InboundMessage::Incomplete(e) if e.received == 1 && e.total == 2 && e.reference == 7));
    assert_eq!(start.elapsed(), Duration::from_secs(120));
}

#[tokio::test(start_paused = true)]
async fn receipts_come_out_parsed() {
    let (_client, mut incoming, smsc) = connected(config(), None).await;
    smsc.deliver(receipt("0000000007")).await;
    let r = incoming.recv().await.unwrap().receipt().unwrap();
    assert_eq!(r.id.as_deref(), Some("0000000007"));
    assert_eq!(r.state, Some(MessageState::DELIVERED));
}
