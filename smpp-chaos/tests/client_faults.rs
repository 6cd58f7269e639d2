//! The client against an SMSC that misbehaves the way real ones do. In memory,
//! virtual time.

use std::time::Duration;

use smpp_chaos::{FaultSmsc, SmscFaults};
use smpp_client::smpp_wire::{Address, RegisteredDelivery, ShortMessage, SubmitSm, TlvTag};
use smpp_client::{Client, ClientConfig, Fate};

fn sm(text: &str) -> SubmitSm {
    let mut s = SubmitSm::default();
    s.destination_addr = Address::international("447700900123").unwrap();
    s.short_message = ShortMessage::new(text.as_bytes().to_vec()).unwrap();
    s
}

fn config() -> ClientConfig {
    ClientConfig::new("chaos", 0, "user", "secret")
}

/// Submits `m0`..`m{n-1}` at once, each from its own task; the outcomes in order.
async fn submit_all(client: &Client, n: usize) -> Vec<Result<smpp_client::Submitted, smpp_client::RequestError>> {
    let tasks: Vec<_> = (0..n)
        .map(|k| {
            let client = client.clone();
            tokio::spawn(async move { client.submit(sm(&format!("m{k}"))).await })
        })
        .collect();
    let mut out = Vec::with_capacity(n);
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

#[tokio::test(start_paused = true)]
async fn padded_and_garbled_successes_are_successes_with_their_message_id() {
    for faults in [
        SmscFaults { pad: 1.0, bind_pad: true, ..SmscFaults::none() },
        SmscFaults { garble: 1.0, ..SmscFaults::none() },
    ] {
        let smsc = FaultSmsc::new(1, faults, "user", "secret");
        let (client, _incoming) = Client::connect_via(config(), smsc.connector()).await.expect("binds");
        for k in 0..20 {
            let id = client.submit(sm(&format!("m{k}"))).await.expect("accepted").message_id.to_string();
            let ledger = smsc.ledger();
            assert_eq!(ledger.accepted.last(), Some(&(format!("m{k}"), id)));
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_generic_nack_with_status_0_is_reported_refused() {
    let smsc = FaultSmsc::new(1, SmscFaults { generic_nack_ok: 1.0, ..SmscFaults::none() }, "user", "secret");
    let (client, _incoming) = Client::connect_via(config(), smsc.connector()).await.unwrap();
    let e = client.submit(sm("x")).await.unwrap_err();
    assert_eq!(e.fate(), Fate::Refused, "{e:?}");
    assert!(smsc.ledger().accepted.is_empty());
}

#[tokio::test(start_paused = true)]
async fn two_thousand_submits_against_30_percent_throttling_all_get_through() {
    let smsc = FaultSmsc::new(7, SmscFaults { throttle: 0.3, ..SmscFaults::none() }, "user", "secret");
    let c = config().window(100);
    let (client, _incoming) = Client::connect_via(c, smsc.connector()).await.unwrap();
    assert!(submit_all(&client, 2000).await.iter().all(Result::is_ok));
    let stats = client.stats();
    let ledger = smsc.ledger();
    assert_eq!(ledger.accepted.len(), 2000, "each accepted once");
    assert_eq!(ledger.refused.len() as u64, stats.throttled);
    assert!(stats.retries >= 400, "{stats:?}");
}

#[tokio::test(start_paused = true)]
async fn a_crash_mid_window_tells_unknown_from_never_sent() {
    // 500 answered, 50 accepted in silence, then the connection drops.
    let faults = SmscFaults { silent_after: Some(500), reset_at: Some(550), ..SmscFaults::none() };
    let smsc = FaultSmsc::new(3, faults, "user", "secret");
    let c = config().window(50);
    let (client, _incoming) = Client::connect_via(c, smsc.connector()).await.unwrap();
    let (mut ok, mut unknown, mut never) = (0, 0, 0);
    for r in submit_all(&client, 2000).await {
        match r.map_err(|e| e.fate()) {
            Ok(_) => ok += 1,
            Err(Fate::Unknown) => unknown += 1,
            Err(Fate::NeverSent) => never += 1,
            Err(other) => panic!("{other:?}"),
        }
    }
    assert_eq!((ok, unknown, never), (500, 50, 1450));
    assert_eq!(smsc.ledger().accepted.len(), 550);
}

#[tokio::test(start_paused = true)]
async fn with_reconnection_the_never_sent_wait_for_the_next_link() {
    let faults = SmscFaults { silent_after: Some(500), reset_at: Some(550), ..SmscFaults::none() };
    let smsc = FaultSmsc::new(3, faults, "user", "secret");
    let c = config().window(50).reconnect(Some(smpp_client::Reconnect::default())).with_session(|s| {
        s.response_timeout(Some(Duration::from_secs(5)));
    });
    let (client, _incoming) = Client::connect_via(c, smsc.connector()).await.unwrap();
    // The SMSC recovers after its crash.
    let recovering = smsc.clone();
    tokio::spawn(async move {
        while recovering.ledger().resets == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        recovering.set_faults(SmscFaults::none());
    });
    let mut unknown = 0;
    for r in submit_all(&client, 2000).await {
        match r {
            Ok(_) => {}
            Err(e) if e.fate() == Fate::Unknown => unknown += 1,
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(unknown, 50, "only those in flight at the crash");
    let ledger = smsc.ledger();
    assert_eq!(ledger.accepted.len(), 2000, "each sent once: {}", ledger.accepted.len());
}

#[tokio::test(start_paused = true)]
async fn a_receipt_with_a_malformed_tlv_is_delivered_and_flagged() {
    let smsc = FaultSmsc::new(5, SmscFaults { receipt_bad_tlv: 1.0, ..SmscFaults::none() }, "user", "secret");
    let (client, mut incoming) = Client::connect_via(config(), smsc.connector()).await.unwrap();
    let mut s = sm("with receipt");
    s.registered_delivery = RegisteredDelivery::RECEIPT;
    let id = client.submit(s).await.unwrap().message_id.to_string();
    let inbound = incoming.recv().await.unwrap();
    let receipt = inbound.receipt().expect("a receipt");
    assert_eq!(receipt.id.as_deref(), Some(id.as_str()));
    assert_eq!(inbound.salvaged().map(|s| s.raw_tlvs.clone()), Some(vec![TlvTag::MESSAGE_STATE]));
    assert_eq!(smsc.ledger().deliveries.get(&format!("dlr:{id}")).map(|d| d.ok), Some(1));
}

#[tokio::test(start_paused = true)]
async fn a_long_mo_spread_over_two_binds_reaches_the_application_once() {
    let smsc = FaultSmsc::new(9, SmscFaults { deliver_window: 1, ..SmscFaults::none() }, "user", "secret");
    let (_pool, mut incomings) = smpp_client::Pool::connect_each_via(config(), smsc.connector(), 2).await.unwrap();
    let text = "A long mobile-originated message, in three parts. ".repeat(8);
    assert_eq!(smsc.queue_mo("user", "447700900001", "12345", &text, 77), 3);
    let (first, second) = incomings.split_at_mut(1);
    let got = tokio::select! {
        a = first[0].recv() => a,
        b = second[0].recv() => b,
    };
    assert_eq!(got.unwrap().text().as_deref(), Some(text.as_str()));
    tokio::time::sleep(Duration::from_secs(300)).await;
    assert!(incomings.iter_mut().all(|i| i.try_recv().is_none()), "once, and nothing left over");
    let ledger = smsc.ledger();
    assert!(ledger.deliveries.values().all(|d| d.sent == 1 && d.ok == 1), "{:?}", ledger.deliveries);
}
