//! The client API as tokio users expect it: configurations built in one expression,
//! a `Debug` that never shows the password, and inbound messages as a
//! `futures::Stream`, merged across binds.

mod common;

use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{SmscCommand, TestSmsc, config, mo, sm};
use futures::StreamExt;
use futures::stream::FusedStream;
use smpp_client::smpp_session::BindRequest;
use smpp_client::smpp_wire::{Bind, Body, CommandStatus, Password, Pdu, SequenceNumber, Tlv};
use smpp_client::{
    BindMode, Client, ClientConfig, Fate, Inbound, InboundMessage, Incoming, LinkState, MergedIncoming, Pool,
    Reconnect, RequestError, ThrottleRetry, TlsOptions,
};
use tokio::io::duplex;

async fn connected(config: ClientConfig) -> (Client, Incoming, TestSmsc) {
    let (a, b) = duplex(1 << 16);
    let smsc = TestSmsc::spawn(b, None);
    let (client, incoming) = Client::connect_with(config, a).await.expect("bind");
    (client, incoming, smsc)
}

fn text(inbound: &Inbound) -> String {
    match &inbound.message {
        InboundMessage::Deliver(d) => String::from_utf8_lossy(d.short_message.as_bytes()).into_owned(),
        other => panic!("not a deliver_sm: {other:?}"),
    }
}

// ---- 1. configurations in one expression -------------------------------------------

#[tokio::test(start_paused = true)]
async fn a_config_is_built_in_one_expression_and_each_setting_takes_effect() {
    let config: ClientConfig = ClientConfig::new("test", 0, "user", "secret")
        .window(2)
        .bind_mode(BindMode::Transmitter)
        .retry_throttled(None)
        .with_session(|s| {
            s.response_timeout(Some(Duration::from_secs(3)));
        });
    let (a, b) = duplex(1 << 16);
    let smsc = TestSmsc::spawn(b, Some(Duration::from_millis(50)));
    let (client, _incoming) = Client::connect_with(config, a).await.expect("bind");
    // The bind mode.
    assert_eq!(smsc.log.lock().unwrap().bind_modes, [BindMode::Transmitter]);
    // The window: never more than two requests in flight.
    let tasks: Vec<_> = (0..10)
        .map(|k| {
            let client = client.clone();
            tokio::spawn(async move { client.submit(sm("447700900123", &k.to_string())).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(smsc.log.lock().unwrap().max_outstanding, 2);
    // The session setting made in the chain: the response timeout.
    let start = tokio::time::Instant::now();
    assert_eq!(client.submit(sm("silent", "x")).await, Err(RequestError::Timeout));
    assert_eq!(start.elapsed(), Duration::from_secs(3));
    // The retry setting: a throttle answer is reported at once.
    assert_eq!(client.submit(sm("58", "x")).await, Err(RequestError::Throttled));
}

/// The session's window is the client's only window: set through `session()`, it
/// makes submits wait for room, never fail with a full window (they failed with
/// `Send(WindowFull)` when the client kept a window of its own).
#[tokio::test(start_paused = true)]
async fn the_window_set_on_the_session_makes_submits_wait_not_fail() {
    let mut config = ClientConfig::new("test", 0, "user", "secret").retry_throttled(None);
    config.session().window(2);
    let (a, b) = duplex(1 << 16);
    let smsc = TestSmsc::spawn(b, Some(Duration::from_millis(50)));
    let (client, _incoming) = Client::connect_with(config, a).await.expect("bind");
    let tasks: Vec<_> = (0..12)
        .map(|k| {
            let client = client.clone();
            tokio::spawn(async move { client.submit(sm("447700900123", &k.to_string())).await })
        })
        .collect();
    for t in tasks {
        assert!(t.await.unwrap().is_ok());
    }
    assert_eq!(smsc.log.lock().unwrap().max_outstanding, 2);
    assert_eq!(client.available(), 2);
}

#[test]
fn the_session_accessor_still_changes_a_config_in_place() {
    let mut config = ClientConfig::new("test", 0, "user", "secret");
    config.session().window(7);
    let chained = ClientConfig::new("test", 0, "user", "secret").with_session(|s| {
        s.window(7);
    });
    assert_eq!(format!("{config:?}"), format!("{chained:?}"));
}

#[test]
fn options_are_built_in_one_expression() {
    let tls = TlsOptions::default().ca_pem("-----BEGIN CERTIFICATE-----").server_name("smsc.example.com");
    assert_eq!(tls.ca_pem.as_deref(), Some(&b"-----BEGIN CERTIFICATE-----"[..]));
    assert_eq!(tls.server_name.as_deref(), Some("smsc.example.com"));

    let reconnect =
        Reconnect::default().initial(Duration::from_millis(500)).max(Duration::from_secs(5)).down_wait(Duration::ZERO);
    assert_eq!(
        (reconnect.initial, reconnect.max, reconnect.down_wait),
        (Duration::from_millis(500), Duration::from_secs(5), Duration::ZERO)
    );

    let retry = ThrottleRetry::default().deadline(Duration::from_secs(10)).adaptive(false).min_rate(5.0);
    assert_eq!((retry.deadline, retry.adaptive, retry.min_rate), (Duration::from_secs(10), false, 5.0));

    // All of them in one configuration.
    let config = ClientConfig::new("smsc.example.com", 3550, "user", "secret")
        .tls(Some(tls))
        .reconnect(Some(reconnect))
        .retry_throttled(Some(retry));
    let debug = format!("{config:?}");
    assert!(debug.contains("smsc.example.com") && debug.contains("min_rate: 5.0"), "{debug}");
}

#[tokio::test(start_paused = true)]
async fn a_reconnect_policy_built_in_one_expression_is_followed() {
    let smscs = Arc::new(Mutex::new(Vec::new()));
    let refuse = Arc::new(AtomicUsize::new(1000));
    let config =
        config().reconnect(Some(Reconnect::default().initial(Duration::from_secs(2)).max(Duration::from_secs(2))));
    // Every attempt is refused: the first connection follows the policy too, so it
    // keeps trying every 2 s (less up to a quarter of jitter) instead of failing.
    let connect = tokio::spawn(Client::connect_via(config, common::connector(smscs.clone(), refuse.clone(), "secret")));
    tokio::time::sleep(Duration::from_secs(7)).await;
    assert!(!connect.is_finished());
    let left = refuse.swap(0, std::sync::atomic::Ordering::SeqCst);
    // Attempts at 0 s, then after waits of 1.5 to 2 s each: 4 or 5 within 7 s.
    assert!((995..=996).contains(&left), "{} attempts in 7 s", 1000 - left);
    let (client, _incoming) = connect.await.unwrap().expect("bound once the SMSC accepts");
    assert!(client.submit(sm("1", "x")).await.is_ok());
}

// ---- 2. no password in Debug ---------------------------------------------------------

#[test]
fn a_config_debug_never_shows_the_password() {
    let config = ClientConfig::new("smsc.example.com", 2775, "acme", "s3cr3tpw").window(5);
    for debug in [format!("{config:?}"), format!("{config:#?}")] {
        assert!(!debug.contains("s3cr3tpw"), "{debug}");
        assert!(debug.contains("***"), "{debug}");
        // The rest is there.
        assert!(debug.contains("acme") && debug.contains("smsc.example.com") && debug.contains("2775"), "{debug}");
    }
}

#[test]
fn bind_requests_and_bind_pdus_never_show_the_password() {
    let request = BindRequest::new(BindMode::Transceiver, "acme", "s3cr3tpw").unwrap();
    let debug = format!("{request:?}");
    assert!(!debug.contains("s3cr3tpw") && debug.contains("acme"), "{debug}");

    let mut bind = Bind::default();
    bind.password = Password::new("s3cr3tpw").unwrap();
    let pdu = Pdu::new(SequenceNumber::new(1), Body::BindTransceiver(bind));
    for debug in [format!("{pdu:?}"), format!("{pdu:#?}")] {
        assert!(!debug.contains("s3cr3tpw"), "{debug}");
    }
}

// ---- 3. Incoming is a Stream ---------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn incoming_is_a_stream_that_ends_with_the_client() {
    let (_client, mut incoming, smsc) = connected(config()).await;
    assert_eq!(smsc.deliver(mo("one")).await, CommandStatus::ESME_ROK);
    assert_eq!(smsc.deliver(mo("two")).await, CommandStatus::ESME_ROK);
    assert_eq!(text(&incoming.next().await.unwrap()), "one");
    assert_eq!(text(&incoming.next().await.unwrap()), "two");
    assert!(!incoming.is_terminated());
    // The link drops and the client does not reconnect: the stream ends.
    smsc.commands.send(SmscCommand::Drop).await.unwrap();
    assert!(incoming.next().await.is_none());
    assert!(incoming.is_terminated());
    assert!(incoming.next().await.is_none(), "an ended stream stays ended");
}

#[tokio::test(start_paused = true)]
async fn the_stream_combinators_work_on_incoming() {
    let (_client, incoming, smsc) = connected(config()).await;
    for k in 0..5 {
        assert_eq!(smsc.deliver(mo(&format!("m{k}"))).await, CommandStatus::ESME_ROK);
    }
    let texts: Vec<String> = incoming.map(|i| text(&i)).take(5).collect().await;
    assert_eq!(texts, ["m0", "m1", "m2", "m3", "m4"]);
}

#[tokio::test(start_paused = true)]
async fn a_next_dropped_by_a_timeout_loses_nothing() {
    let (_client, mut incoming, smsc) = connected(config()).await;
    assert!(tokio::time::timeout(Duration::from_secs(1), incoming.next()).await.is_err());
    assert_eq!(smsc.deliver(mo("late")).await, CommandStatus::ESME_ROK);
    let got = tokio::time::timeout(Duration::from_secs(1), incoming.next()).await.unwrap().unwrap();
    assert_eq!(text(&got), "late");
}

#[tokio::test(start_paused = true)]
async fn a_task_waiting_on_the_stream_is_woken_by_a_message() {
    let (_client, mut incoming, smsc) = connected(config()).await;
    let waiter = tokio::spawn(async move { incoming.next().await.map(|i| text(&i)) });
    tokio::task::yield_now().await;
    assert!(!waiter.is_finished());
    assert_eq!(smsc.deliver(mo("wake")).await, CommandStatus::ESME_ROK);
    assert_eq!(waiter.await.unwrap().as_deref(), Some("wake"));
}

// ---- 4. several Incoming merged ------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn merged_streams_take_turns_and_end_when_all_have_ended() {
    let (_a, incoming_a, smsc_a) = connected(config()).await;
    let (_b, incoming_b, smsc_b) = connected(config()).await;
    for k in 1..=3 {
        assert_eq!(smsc_a.deliver(mo(&format!("a{k}"))).await, CommandStatus::ESME_ROK);
        assert_eq!(smsc_b.deliver(mo(&format!("b{k}"))).await, CommandStatus::ESME_ROK);
    }
    // A busy source does not starve the other: with both full, they alternate.
    let mut merged = Incoming::merge([incoming_a, incoming_b]);
    assert_eq!(merged.len(), 2);
    let mut texts = Vec::new();
    for _ in 0..6 {
        texts.push(text(&merged.next().await.unwrap()));
    }
    assert_eq!(texts, ["a1", "b1", "a2", "b2", "a3", "b3"]);
    // One source ends; the other goes on.
    smsc_a.commands.send(SmscCommand::Drop).await.unwrap();
    assert_eq!(smsc_b.deliver(mo("b4")).await, CommandStatus::ESME_ROK);
    assert_eq!(text(&merged.next().await.unwrap()), "b4");
    assert_eq!(merged.len(), 1, "the ended source is dropped");
    assert!(!merged.is_terminated());
    // The last one ends: so does the merged stream.
    smsc_b.commands.send(SmscCommand::Drop).await.unwrap();
    assert!(merged.next().await.is_none());
    assert!(merged.is_terminated() && merged.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_merged_stream_wakes_for_a_message_on_any_source() {
    let (_a, incoming_a, _smsc_a) = connected(config()).await;
    let (_b, incoming_b, smsc_b) = connected(config()).await;
    let mut merged: MergedIncoming = vec![incoming_a, incoming_b].into_iter().collect();
    let waiter = tokio::spawn(async move { merged.recv().await.map(|i| text(&i)) });
    tokio::task::yield_now().await;
    assert!(!waiter.is_finished());
    assert_eq!(smsc_b.deliver(mo("from b")).await, CommandStatus::ESME_ROK);
    assert_eq!(waiter.await.unwrap().as_deref(), Some("from b"));
}

#[tokio::test(start_paused = true)]
async fn a_pool_s_inbound_messages_arrive_on_one_merged_stream() {
    let smscs = Arc::new(Mutex::new(Vec::new()));
    let connector = common::connector(smscs.clone(), Arc::new(AtomicUsize::new(0)), "secret");
    let (_pool, mut merged) = Pool::connect_via(config(), connector, 3).await.unwrap();
    let commands: Vec<_> = smscs.lock().unwrap().iter().map(|s| s.commands.clone()).collect();
    for (k, c) in commands.iter().enumerate() {
        assert_eq!(common::deliver_via(c, mo(&format!("bind {k}"))).await, CommandStatus::ESME_ROK);
    }
    let mut texts: Vec<String> = Vec::new();
    for _ in 0..3 {
        texts.push(text(&merged.next().await.unwrap()));
    }
    texts.sort();
    assert_eq!(texts, ["bind 0", "bind 1", "bind 2"]);
    assert!(merged.try_recv().is_none());
}

#[tokio::test(start_paused = true)]
async fn try_recv_on_a_merged_stream_takes_turns_too() {
    let (_a, incoming_a, smsc_a) = connected(config()).await;
    let (_b, incoming_b, smsc_b) = connected(config()).await;
    for k in 1..=2 {
        assert_eq!(smsc_a.deliver(mo(&format!("a{k}"))).await, CommandStatus::ESME_ROK);
    }
    assert_eq!(smsc_b.deliver(mo("b1")).await, CommandStatus::ESME_ROK);
    let mut merged = MergedIncoming::default();
    merged.push(incoming_a);
    merged.extend([incoming_b]);
    let texts: Vec<String> = std::iter::from_fn(|| merged.try_recv()).map(|i| text(&i)).collect();
    assert_eq!(texts, ["a1", "b1", "a2"]);
}

#[tokio::test]
async fn a_merge_of_nothing_ends_at_once() {
    let mut merged = Incoming::merge(Vec::new());
    assert!(merged.is_terminated());
    assert!(merged.next().await.is_none());
    assert!(merged.try_recv().is_none());
}

// ---- link events, per-request deadlines, response TLVs, the pool -------------------

/// Every change of the link comes on the stream, in order: up, down with its reason,
/// reconnecting, up again, closed.
#[tokio::test(start_paused = true)]
async fn link_changes_come_in_order_on_the_link_events_stream() {
    let smscs = Arc::new(Mutex::new(Vec::new()));
    let connector = common::connector(smscs.clone(), Arc::new(AtomicUsize::new(0)), "secret");
    let config = config().reconnect(Some(Reconnect::default().initial(Duration::from_secs(1))));
    let (client, _incoming) = Client::connect_via(config, connector).await.unwrap();
    let mut events = client.link_events();
    let first = smscs.lock().unwrap()[0].commands.clone();
    first.send(SmscCommand::Drop).await.unwrap();
    let mut seen = Vec::new();
    while seen.len() < 4 {
        seen.push(events.next().await.expect("an event"));
    }
    assert!(matches!(seen[0], LinkState::Down(_)), "{seen:?}");
    assert!(matches!(seen[1], LinkState::Reconnecting { attempt: 1, .. }), "{seen:?}");
    assert_eq!(seen[2], LinkState::Connecting);
    assert!(matches!(seen[3], LinkState::Up { .. }), "{seen:?}");
    client.unbind().await;
    assert!(matches!(events.next().await, Some(LinkState::Down(smpp_client::CloseReason::Unbound { .. }))));
    assert_eq!(events.next().await, Some(LinkState::Closed));
    drop(client);
    assert_eq!(events.next().await, None, "the stream ends with the client");
}

/// Reconnection waits never pass `Reconnect::max`, and two clients that lost their
/// SMSC together do not come back at the same instants (the jitter is drawn per
/// client). Both failed before: the jitter was added on top of the capped delay and
/// was a function of the attempt number alone.
#[tokio::test(start_paused = true)]
async fn reconnection_waits_stay_under_max_and_differ_between_clients() {
    let max = Duration::from_secs(2);
    let mut waits = Vec::new();
    for _ in 0..2 {
        let smscs = Arc::new(Mutex::new(Vec::new()));
        let refuse = Arc::new(AtomicUsize::new(0));
        let connector = common::connector(smscs.clone(), refuse.clone(), "secret");
        let policy = Reconnect::default().initial(Duration::from_secs(1)).max(max);
        let (client, _incoming) = Client::connect_via(config().reconnect(Some(policy)), connector).await.unwrap();
        let mut events = client.link_events();
        refuse.store(6, std::sync::atomic::Ordering::SeqCst);
        let first = smscs.lock().unwrap()[0].commands.clone();
        first.send(SmscCommand::Drop).await.unwrap();
        let mut after = Vec::new();
        while after.len() < 6 {
            if let Some(LinkState::Reconnecting { after: wait, .. }) = events.next().await {
                after.push(wait);
            }
        }
        assert!(after.iter().all(|w| *w <= max && *w >= max.mul_f64(0.5) * 3 / 4), "{after:?}");
        client.unbind().await;
        waits.push(after);
    }
    assert_ne!(waits[0], waits[1], "two clients drew the same jitter");
}

/// A request that waits for room past its deadline is never sent; one that went out
/// and got no answer is outcome unknown.
#[tokio::test(start_paused = true)]
async fn a_request_deadline_says_whether_the_request_went_out() {
    let (client, _incoming, smsc) = connected(config().window(1).retry_throttled(None)).await;
    let quick = client.timeout(Duration::from_secs(2));
    let blocker = tokio::spawn({
        let client = client.clone();
        async move { client.submit(sm("silent", "holds the window")).await }
    });
    tokio::task::yield_now().await;
    let err = quick.submit(sm("447700900123", "waits for room")).await.unwrap_err();
    assert_eq!(err, RequestError::DeadlineExceeded { sent: false });
    assert_eq!(err.fate(), Fate::NeverSent);
    let err = quick.submit(sm("silent", "out, unanswered")).await;
    // The window is still held by the first silent submit.
    assert_eq!(err, Err(RequestError::DeadlineExceeded { sent: false }));
    blocker.abort();
    let _ = blocker.await;
    tokio::time::sleep(Duration::from_secs(60)).await;
    let err = client.timeout(Duration::from_secs(2)).submit(sm("silent", "out")).await.unwrap_err();
    assert_eq!(err.fate(), Fate::Unknown, "{err}");
    let submits = smsc.log.lock().unwrap().submits.clone();
    assert!(!submits.iter().any(|s| s == "waits for room"), "a request given up was sent: {submits:?}");
}

/// A request held while the link is down and given up by its caller is not sent when
/// the link comes back.
#[tokio::test(start_paused = true)]
async fn a_request_given_up_while_the_link_is_down_is_never_sent_later() {
    let smscs = Arc::new(Mutex::new(Vec::new()));
    let connector = common::connector(smscs.clone(), Arc::new(AtomicUsize::new(0)), "secret");
    let config = config().reconnect(Some(Reconnect::default().initial(Duration::from_secs(10))));
    let (client, _incoming) = Client::connect_via(config, connector).await.unwrap();
    let first = smscs.lock().unwrap()[0].commands.clone();
    first.send(SmscCommand::Drop).await.unwrap();
    let mut events = client.link_events();
    while !matches!(events.next().await, Some(LinkState::Reconnecting { .. })) {}
    let err = client.timeout(Duration::from_secs(1)).submit(sm("447700900123", "given up")).await.unwrap_err();
    // It waited for the link, and was never handed to a connection.
    assert_eq!(err, RequestError::DeadlineExceeded { sent: false });
    while !matches!(events.next().await, Some(LinkState::Up { .. })) {}
    client.submit(sm("447700900123", "after")).await.unwrap();
    let second = smscs.lock().unwrap()[1].log.lock().unwrap().submits.clone();
    assert_eq!(second, ["after"], "the given-up request stayed unsent");
}

/// `Submitted` carries the response's TLVs.
#[tokio::test(start_paused = true)]
async fn submitted_carries_the_response_tlvs() {
    let (client, _incoming, _smsc) = connected(config()).await;
    let s = client.submit(sm("tlvs", "x")).await.unwrap();
    assert!(s.tlvs.iter().any(|t| *t == Tlv::DeliveryFailureReason(2)), "{:?}", s.tlvs);
    let s = client.submit(sm("447700900123", "x")).await.unwrap();
    assert!(s.tlvs.is_empty());
}

/// A pool offers what a client offers.
#[tokio::test(start_paused = true)]
async fn a_pool_sends_every_kind_of_request() {
    use smpp_client::smpp_wire::{Address, CancelSm, DataSm, QuerySm, ReplaceSm, SubmitMulti};
    let smscs = Arc::new(Mutex::new(Vec::new()));
    let connector = common::connector(smscs.clone(), Arc::new(AtomicUsize::new(0)), "secret");
    let (pool, _incoming) = Pool::connect_via(config(), connector, 2).await.unwrap();
    assert_eq!(pool.binds_up(), 2);
    let to = Address::international("447700900123").unwrap();
    let ids = pool
        .submit_text(Address::international("12345").unwrap(), to, "hi", smpp_client::TextOptions::default())
        .await
        .unwrap();
    assert_eq!(ids.len(), 1);
    assert!(pool.try_submit(sm("447700900123", "x")).await.is_ok());
    assert_eq!(pool.data_sm(DataSm::default()).await.unwrap().message_id.as_bytes(), b"data-1");
    assert_eq!(pool.submit_multi(SubmitMulti::default()).await.unwrap().message_id.as_bytes(), b"multi-1");
    let mut q = QuerySm::default();
    q.message_id = "7".parse().unwrap();
    assert_eq!(pool.query_sm(q).await.unwrap().message_id.as_bytes(), b"7");
    pool.cancel_sm(CancelSm::default()).await.unwrap();
    pool.replace_sm(ReplaceSm::default()).await.unwrap();
    assert_eq!(pool.timeout(Duration::from_secs(1)).submit(sm("silent", "x")).await.unwrap_err().fate(), Fate::Unknown);
    let total: usize = smscs.lock().unwrap().iter().map(|s| s.log.lock().unwrap().requests.len()).sum();
    assert_eq!(total, 8);
    pool.close().await;
}
