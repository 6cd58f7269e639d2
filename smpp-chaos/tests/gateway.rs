//! The gateway in front of a misbehaving upstream: a fault SMSC that throttles 30 %
//! of submits. Loopback TCP, real time, bounded waits.

use std::collections::HashSet;
use std::time::Duration;

use smpp_chaos::{FaultSmsc, SmscFaults};
use smpp_client::smpp_wire::{Address, RegisteredDelivery, ShortMessage, SubmitSm};
use smpp_client::{Client, ClientConfig, InboundMessage};
use smpp_server::ServerConfig;
use smpp_server::gateway::{Gateway, GatewayConfig, Target};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::print_stderr)] // the share throttled is reported
async fn thirty_percent_upstream_throttling_still_delivers_every_message_once() {
    let mut faults = SmscFaults::none();
    faults.throttle = 0.3;
    let upstream = FaultSmsc::new(7, faults, "gw", "gwpass");
    let addr = upstream.listen("127.0.0.1:0".parse().unwrap()).await.unwrap();

    let mut config = GatewayConfig::default();
    config.accounts.insert("shop".into(), "shoppass".into());
    config.upstreams = vec![format!("smpp://gw:gwpass@127.0.0.1:{}?name=up&window=20", addr.port()).parse().unwrap()];
    config.fallback = vec![Target::new("up", 1)];
    config.retry_delay = Duration::from_millis(50);
    let gw = Gateway::start(ServerConfig::new("127.0.0.1:0".parse().unwrap()), config).await.unwrap();

    let customer = ClientConfig::new("127.0.0.1", gw.local_addr().port(), "shop", "shoppass").window(50);
    let (client, mut incoming) = Client::connect(customer).await.unwrap();
    const N: usize = 300;
    let tasks: Vec<_> = (0..N)
        .map(|k| {
            let client = client.clone();
            tokio::spawn(async move {
                let mut sm = SubmitSm::default();
                sm.source_addr = Address::international("12345").unwrap();
                sm.destination_addr = Address::international("447700900123").unwrap();
                sm.registered_delivery = RegisteredDelivery::RECEIPT;
                sm.short_message = ShortMessage::new(format!("message {k}").into_bytes()).unwrap();
                client.submit(sm).await
            })
        })
        .collect();
    let mut ours = HashSet::new();
    for t in tasks {
        // Store and forward: the gateway answers each at once, whatever the upstream does.
        ours.insert(t.await.unwrap().expect("accepted by the gateway").message_id.to_string());
    }
    assert_eq!(ours.len(), N, "unique ids");

    let mut receipts = HashSet::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while receipts.len() < N {
        let inbound = tokio::time::timeout_at(deadline, incoming.recv())
            .await
            .unwrap_or_else(|_| panic!("{} receipts of {N}; gateway {:?}", receipts.len(), gw.stats()))
            .unwrap();
        if let InboundMessage::Receipt(d) = &inbound.message {
            let id = smpp_wire::text::Receipt::from_deliver_sm(d).and_then(|r| r.id).unwrap();
            assert!(ours.contains(&id), "a receipt for {id}, which is none of ours");
            receipts.insert(id);
        }
    }
    let ledger = upstream.ledger();
    assert!(ledger.refused.len() >= N / 10, "the upstream throttled only {} times", ledger.refused.len());
    for k in 0..N {
        assert_eq!(ledger.accepted_count(&format!("message {k}")), 1, "message {k} accepted upstream once");
    }
    let stats = gw.stats();
    assert_eq!(
        (stats.forwarded, stats.unknown, stats.refused, stats.receipts_unmatched),
        (N as u64, 0, 0, 0),
        "{stats:?}"
    );
    eprintln!("upstream throttled {} of {} submits", ledger.refused.len(), ledger.submits);
}
