//! The gateway end to end on loopback: our client as the customer, the gateway, and
//! our simulator as the upstream SMSC, each on a real TCP port.

mod common;

use std::sync::Arc;
use std::time::Duration;

use smpp_client::{Client, ClientConfig, InboundMessage, Incoming, RequestError, TextOptions};
use smpp_server::gateway::{Gateway, GatewayConfig, GatewayHandle, Policy, Route, Target, Upstream};
use smpp_server::store::{MemoryStore, Store};
use smpp_server::{ServerConfig, Simulator, SimulatorConfig, SimulatorHandle};
use smpp_wire::text::{Concatenation, Encoding};
use smpp_wire::{Address, InterfaceVersion, MessageState};

use common::sm;

fn listen_any() -> ServerConfig {
    ServerConfig::new("127.0.0.1:0".parse().unwrap())
}

async fn upstream(config: SimulatorConfig) -> SimulatorHandle {
    Simulator::start(listen_any(), config).await.unwrap()
}

fn upstream_config() -> SimulatorConfig {
    let mut c = SimulatorConfig::default();
    c.accounts.insert("gw".into(), "gwpass".into());
    c.dlr_delay = Duration::from_millis(50);
    c
}

fn url(sim: &SimulatorHandle, options: &str) -> Upstream {
    format!("smpp://gw:gwpass@127.0.0.1:{}?name=up&{options}", sim.local_addr().port()).parse().unwrap()
}

/// An upstream named `name` on a port nothing listens on (yet), and that port.
fn absent_upstream(name: &str) -> (Upstream, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    (format!("smpp://gw:gwpass@127.0.0.1:{port}?name={name}").parse().unwrap(), port)
}

fn gateway_config(up: Upstream) -> GatewayConfig {
    let mut c = GatewayConfig::default();
    c.accounts.insert("shop".into(), "shoppass".into());
    c.fallback = vec![Target::new(&up.name, 1)];
    c.upstreams = vec![up];
    c.mo_routes = vec![("12345".into(), "shop".into())];
    c.retry_delay = Duration::from_millis(100);
    c
}

async fn gateway(config: GatewayConfig) -> GatewayHandle {
    let gw = Gateway::start(listen_any(), config).await.unwrap();
    common::eventually("the upstream binds", || gw.upstream_up("up")).await;
    gw
}

async fn customer(gw: &GatewayHandle, version: InterfaceVersion) -> (Client, Incoming) {
    let config = ClientConfig::new("127.0.0.1", gw.local_addr().port(), "shop", "shoppass")
        .interface_version(version)
        .retry_throttled(None)
        .window(100);
    Client::connect(config).await.unwrap()
}

/// The next receipt on `incoming`, within 10 s.
async fn receipt(incoming: &mut Incoming) -> smpp_wire::DeliverSm {
    loop {
        let inbound = tokio::time::timeout(Duration::from_secs(10), incoming.recv()).await.unwrap().unwrap();
        if let InboundMessage::Receipt(d) = inbound.message {
            return d;
        }
    }
}

fn receipt_id(d: &smpp_wire::DeliverSm) -> String {
    smpp_wire::text::Receipt::from_deliver_sm(d).and_then(|r| r.id).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submit_is_answered_with_the_gateway_s_id_and_its_receipt_carries_the_same() {
    for policy in [Policy::StoreAndForward, Policy::PassThrough] {
        let sim = upstream(upstream_config()).await;
        let mut config = gateway_config(url(&sim, ""));
        config.policy = policy;
        let gw = gateway(config).await;
        let (client, mut incoming) = customer(&gw, InterfaceVersion::V34).await;
        let submitted = client.submit(sm("447700900123", true)).await.unwrap();
        let ours = submitted.message_id.to_string();
        let d = receipt(&mut incoming).await;
        assert_eq!(receipt_id(&d), ours, "{policy:?}: the receipt's text carries our id");
        assert_eq!(d.tlvs.receipted_message_id().unwrap().as_str(), Some(ours.as_str()), "{policy:?}");
        assert_eq!(d.tlvs.message_state(), Some(MessageState::DELIVERED), "{policy:?}");
        assert_eq!(sim.submits(), 1, "{policy:?}: one submit upstream");
        let stats = gw.stats();
        assert_eq!((stats.accepted, stats.forwarded, stats.receipts_matched), (1, 1, 1), "{policy:?}");
        common::eventually("the receipt counts as delivered", || gw.stats().receipts_delivered == 1).await;
        assert_eq!(gw.stats().receipts_unmatched, 0);
        client.unbind().await;
        gw.shutdown(Duration::from_secs(1)).await;
        sim.shutdown(Duration::from_secs(1)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_v33_customer_gets_its_receipt_without_tlvs_and_the_id_in_the_text() {
    let sim = upstream(upstream_config()).await;
    let gw = gateway(gateway_config(url(&sim, ""))).await;
    let (client, mut incoming) = customer(&gw, InterfaceVersion::V33).await;
    let ours = client.submit(sm("447700900123", true)).await.unwrap().message_id.to_string();
    let d = receipt(&mut incoming).await;
    assert_eq!(receipt_id(&d), ours);
    assert!(d.tlvs.is_empty(), "v3.3 gets no TLVs: {:?}", d.tlvs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_messages_pass_whole_as_udh_to_a_v33_upstream_from_sar_or_udh() {
    let text = "A long message that needs three parts to travel: ".repeat(8);
    for (concatenation, version) in [
        (Concatenation::Sar, "33"),
        (Concatenation::Udh8, "33"),
        (Concatenation::Sar, "34"),
        (Concatenation::Udh16, "34"),
    ] {
        let sim = upstream(upstream_config()).await;
        let gw = gateway(gateway_config(url(&sim, &format!("version={version}")))).await;
        let (client, _incoming) = customer(&gw, InterfaceVersion::V34).await;
        let mut options = TextOptions::default();
        options.encoding = Some(Encoding::Gsm7);
        options.concatenation = concatenation;
        let from = Address::international("447700900001").unwrap();
        let to = Address::international("447700900123").unwrap();
        let parts = client.submit_text(from, to, &text, options).await.unwrap();
        assert!(parts.len() >= 3, "{} parts", parts.len());
        common::eventually("the upstream puts the message together", || !sim.long_messages().is_empty()).await;
        let whole = &sim.long_messages()[0];
        let got = smpp_wire::text::decode(whole.data_coding, &whole.data);
        assert_eq!(got, smpp_wire::text::Decoded::Text(text.clone()), "{concatenation:?} to a v{version} upstream");
        assert_eq!(sim.submits(), parts.len() as u64);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mo_goes_to_the_account_its_destination_routes_to_and_unrouted_mo_is_refused() {
    let sim = upstream(upstream_config()).await;
    let gw = gateway(gateway_config(url(&sim, ""))).await;
    let (_client, mut incoming) = customer(&gw, InterfaceVersion::V34).await;
    sim.inject_mo("gw", "447700900999", "12345", "hello gateway").await.unwrap();
    let inbound = tokio::time::timeout(Duration::from_secs(10), incoming.recv()).await.unwrap().unwrap();
    assert_eq!(inbound.text().as_deref(), Some("hello gateway"));
    let refused = sim.inject_mo("gw", "447700900999", "55555", "nobody's").await.unwrap();
    assert_eq!(refused.0, smpp_wire::CommandStatus::ESME_RINVDSTADR);
    let stats = gw.stats();
    assert_eq!((stats.mo_routed, stats.mo_unrouted), (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_pick_by_prefix_and_a_submit_no_route_takes_is_refused() {
    let uk = upstream(upstream_config()).await;
    let fr = upstream(upstream_config()).await;
    let mut config = gateway_config(url(&uk, ""));
    let mut fr_url = url(&fr, "");
    fr_url.name = "fr".into();
    config.upstreams.push(fr_url);
    config.routes =
        vec![Route::to(vec![Target::new("up", 1)]).prefix("44"), Route::to(vec![Target::new("fr", 1)]).prefix("33")];
    config.fallback = vec![];
    let gw = gateway(config).await;
    common::eventually("fr binds", || gw.upstream_up("fr")).await;
    let (client, _incoming) = customer(&gw, InterfaceVersion::V34).await;
    client.submit(sm("447700900123", false)).await.unwrap();
    client.submit(sm("33612345678", false)).await.unwrap();
    client.submit(sm("33612345679", false)).await.unwrap();
    let refused = client.submit(sm("4915112345678", false)).await.unwrap_err();
    assert_eq!(refused, RequestError::Status(smpp_wire::CommandStatus::ESME_RINVDSTADR));
    common::eventually("all are forwarded", || gw.stats().forwarded == 3).await;
    assert_eq!((uk.submits(), fr.submits()), (1, 2));
    assert_eq!(gw.stats().no_route, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_refusal_comes_back_as_a_rejected_receipt_or_as_the_status_in_pass_through() {
    let sim = upstream(upstream_config()).await;
    let gw = gateway(gateway_config(url(&sim, ""))).await;
    let (client, mut incoming) = customer(&gw, InterfaceVersion::V34).await;
    // The simulator answers 999 + status: 99911 is ESME_RINVDSTADR.
    let ours = client.submit(sm("99911", true)).await.unwrap().message_id.to_string();
    let d = receipt(&mut incoming).await;
    let r = smpp_wire::text::Receipt::from_deliver_sm(&d).unwrap();
    assert_eq!((r.id.as_deref(), r.state), (Some(ours.as_str()), Some(MessageState::REJECTED)));
    assert_eq!(r.err.as_deref(), Some("011"));
    assert_eq!(gw.stats().refused, 1);

    let sim = upstream(upstream_config()).await;
    let mut config = gateway_config(url(&sim, ""));
    config.policy = Policy::PassThrough;
    let gw = gateway(config).await;
    let (client, _incoming) = customer(&gw, InterfaceVersion::V34).await;
    let refused = client.submit(sm("99911", true)).await.unwrap_err();
    assert_eq!(refused, RequestError::Status(smpp_wire::CommandStatus::ESME_RINVDSTADR));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_connector_queue_throttles_the_customer_and_drops_nothing() {
    // An upstream that is not there: submits wait in the connector's queue of 5.
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new({
        let mut l = smpp_server::store::StoreLimits::default();
        l.max_waiting_per_account = 5;
        l
    }));
    let (up, port) = absent_upstream("up");
    let mut config = gateway_config(up);
    config.store = Some(store);
    let gw = Gateway::start(listen_any(), config).await.unwrap();
    let (client, _incoming) = customer(&gw, InterfaceVersion::V34).await;
    let client = client.clone();
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(client.submit(sm("447700900123", false)).await.unwrap().message_id.to_string());
    }
    let throttled = client.try_submit(sm("447700900123", false)).await.unwrap_err();
    assert_eq!(throttled, RequestError::Throttled);
    assert_eq!(gw.upstream_waiting("up").await.unwrap(), 5);
    // The upstream comes: the five go.
    let mut sim_config = upstream_config();
    sim_config.dlr_delay = Duration::ZERO;
    let sim =
        Simulator::start(ServerConfig::new(format!("127.0.0.1:{port}").parse().unwrap()), sim_config).await.unwrap();
    common::eventually("the queue drains", || sim.submits() == 5).await;
    common::eventually_async("the queue is empty", async || gw.upstream_waiting("up").await.unwrap() == 0).await;
    assert_eq!(gw.stats().forwarded, 5);
}

/// An upstream that answers in hexadecimal (`{n:08x}`, the n-th number of
/// `number`) and writes its receipts in decimal (`n`), as some SMSCs do; it sends
/// the receipts of each `batch` submits once all of them are answered.
struct Converting {
    server: std::sync::OnceLock<smpp_server::ServerHandle>,
    next: std::sync::atomic::AtomicUsize,
    pending: std::sync::Mutex<Vec<smpp_wire::DeliverSm>>,
    batch: usize,
    number: fn(usize) -> u64,
}

impl Converting {
    /// Its server on a free port, and a gateway in front of it (`options` in the
    /// upstream URL).
    async fn start(batch: usize, number: fn(usize) -> u64, options: &str) -> GatewayHandle {
        let handler = Arc::new(Self {
            server: Default::default(),
            next: Default::default(),
            pending: Default::default(),
            batch,
            number,
        });
        let server = smpp_server::Server::new(listen_any(), handler.clone());
        handler.server.set(server.handle()).unwrap();
        let addr = server.listen("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let up: Upstream = format!("smpp://gw:gwpass@127.0.0.1:{}?name=up{options}", addr.port()).parse().unwrap();
        gateway(gateway_config(up)).await
    }
}

impl smpp_server::SmscHandler for Converting {
    type Account = ();

    async fn authenticate(
        &self,
        _: &smpp_server::BindInfo,
    ) -> Result<smpp_server::Grant<()>, smpp_wire::CommandStatus> {
        Ok(smpp_server::Grant::new(()))
    }

    fn on_request(
        &self,
        _: &smpp_server::BoundSession<()>,
        request: smpp_session::Request,
        _: smpp_server::Defer<'_>,
    ) -> Option<smpp_server::Reply> {
        let smpp_session::Request::SubmitSm(s) = &request else { return None };
        let n = (self.number)(self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        let r = smpp_server::DeliveryReceipt::new(
            &n.to_string(),
            s.source_addr,
            s.destination_addr,
            MessageState::DELIVERED,
        );
        let mut pending = self.pending.lock().unwrap();
        pending.push(r.to_deliver_sm(InterfaceVersion::V33));
        if pending.len() == self.batch {
            let receipts: Vec<_> = pending.drain(..).collect();
            let server = self.server.get().unwrap().clone();
            tokio::spawn(async move {
                for d in receipts {
                    server.push("gw", smpp_session::Request::DeliverSm(d)).await.unwrap();
                }
            });
        }
        Some(smpp_server::Reply::accepted(&request, &format!("{n:08x}")))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_in_decimal_matches_a_submit_answered_in_hex() {
    // 0001e240, 0001e241, ...: hexadecimal with letters, so never the text of a
    // receipt; seen to convert after three receipts.
    let gw = Converting::start(1, |k| 123_456 + k as u64, "").await;
    let (client, mut incoming) = customer(&gw, InterfaceVersion::V34).await;
    let mut ours = std::collections::HashSet::new();
    for _ in 0..20 {
        ours.insert(client.submit(sm("447700900123", true)).await.unwrap().message_id.to_string());
    }
    let mut got = std::collections::HashSet::new();
    for _ in 0..20 {
        got.insert(receipt_id(&receipt(&mut incoming).await));
    }
    assert_eq!(got, ours, "each receipt carries the id of its own submit");
    assert_eq!((gw.stats().receipts_matched, gw.stats().receipts_unmatched), (20, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::print_stderr)] // the counts are reported
async fn an_upstream_killed_and_restarted_mid_run_leaves_every_message_with_a_receipt() {
    // The upstream keeps its messages and receipts in a store that outlives it (a
    // restarted SMSC finds them again), and gives up claims after 500 ms.
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new({
        let mut l = smpp_server::store::StoreLimits::default();
        l.claim_timeout_ms = 500;
        l
    }));
    let mut sim_config = upstream_config();
    sim_config.store = Some(store.clone());
    let first = upstream(sim_config.clone()).await;
    let port = first.local_addr().port();
    let mut config = gateway_config(url(&first, "window=50"));
    config.retry_delay = Duration::from_millis(50);
    config.forward_timeout = Duration::from_secs(2);
    let gw = gateway(config).await;
    let (client, mut incoming) = customer(&gw, InterfaceVersion::V34).await;

    const N: usize = 1000;
    // Many at once, so that the kill finds submits in flight upstream.
    let submits = tokio::spawn({
        let client = client.clone();
        async move {
            let mut tasks = tokio::task::JoinSet::new();
            for _ in 0..N {
                let client = client.clone();
                tasks.spawn(async move { client.submit(sm("447700900123", true)).await });
            }
            let mut ours = std::collections::HashSet::new();
            while let Some(done) = tasks.join_next().await {
                ours.insert(done.unwrap().unwrap().message_id.to_string());
            }
            ours
        }
    });
    common::eventually("a tenth is forwarded", || gw.stats().forwarded >= (N / 10) as u64).await;
    // Killed: its connections cut with submits in flight, its port closed.
    first.server.drop_account("gw");
    first.shutdown(Duration::ZERO).await;
    common::eventually("the gateway sees it down", || !gw.upstream_up("up")).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let second =
        Simulator::start(ServerConfig::new(format!("127.0.0.1:{port}").parse().unwrap()), sim_config).await.unwrap();
    let ours = submits.await.unwrap();
    assert_eq!(ours.len(), N, "every submit answered with its own id");

    let mut receipts = std::collections::HashSet::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while receipts.len() < N {
        let inbound = tokio::time::timeout_at(deadline, incoming.recv())
            .await
            .unwrap_or_else(|_| panic!("{} receipts of {N}; gateway {:?}", receipts.len(), gw.stats()))
            .unwrap();
        if let InboundMessage::Receipt(d) = &inbound.message {
            let id = receipt_id(d);
            assert!(ours.contains(&id), "a receipt for {id}, none of ours");
            receipts.insert(id);
        }
    }
    let stats = gw.stats();
    let upstream_accepted = first.submits() + second.submits();
    eprintln!("upstream accepted {upstream_accepted} for {N}; gateway {stats:?}");
    assert!(upstream_accepted >= N as u64);
    assert!(
        upstream_accepted <= N as u64 + stats.unknown,
        "sent twice only when the outcome was unknown: {upstream_accepted} accepted, {} unknown",
        stats.unknown
    );
    assert!(stats.receipts_unmatched <= stats.unknown, "{stats:?}");
    assert!(second.submits() > 0, "the restarted upstream took the rest: the kill came mid-run");
    assert_eq!((stats.refused, stats.expired), (0, 0), "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn above_half_its_bound_a_connector_s_queue_holds_answers_then_releases_them_as_it_drains() {
    // No upstream: what is submitted waits in the queue (bound 10, mark 5).
    let (up, _) = absent_upstream("up");
    let mut config = gateway_config(up);
    config.waiting = 10;
    let gw = Gateway::start(listen_any(), config).await.unwrap();
    let (client, _incoming) = customer(&gw, InterfaceVersion::V34).await;
    let started = std::time::Instant::now();
    for _ in 0..5 {
        client.submit(sm("447700900123", false)).await.unwrap();
    }
    assert!(started.elapsed() < Duration::from_millis(500), "below the mark, answers go at once");
    // Above the mark, with nothing draining: held a second, then answered (stored).
    let held = std::time::Instant::now();
    client.submit(sm("447700900123", false)).await.unwrap();
    let waited = held.elapsed();
    assert!(waited >= Duration::from_millis(900) && waited < Duration::from_secs(5), "held {waited:?}");
    assert_eq!(gw.upstream_waiting("up").await.unwrap(), 6);

    // An upstream that answers after 300 ms: the answer held above the mark goes
    // when the first of the five before it is done, before the hold runs out.
    let mut slow = upstream_config();
    slow.resp_delay = Duration::from_millis(300);
    let sim = upstream(slow).await;
    let mut config = gateway_config(url(&sim, ""));
    config.waiting = 10;
    let gw = gateway(config).await;
    let (client, _incoming) = customer(&gw, InterfaceVersion::V34).await;
    for _ in 0..5 {
        client.submit(sm("447700900123", false)).await.unwrap();
    }
    let held = std::time::Instant::now();
    client.submit(sm("447700900123", false)).await.unwrap();
    let waited = held.elapsed();
    assert!(
        waited >= Duration::from_millis(150) && waited < Duration::from_millis(950),
        "released by the drain (300 ms), not the hold's end (1 s): {waited:?}"
    );
    common::eventually("all forwarded", || gw.stats().forwarded == 6).await;
    assert_eq!(gw.stats().throttled, 0);
}

/// Digits only in hexadecimal: 0x17 is 23, which is also the text of the second
/// answer (`00000023`); 0x45 is 69, the text of the fourth.
const DIGITS_ONLY: [u64; 4] = [0x17, 0x23, 0x45, 0x69];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_declared_to_convert_ids_has_its_receipts_matched_by_number_not_text() {
    // The receipts of each pair come once both are answered (and filed).
    let gw = Converting::start(2, |k| DIGITS_ONLY[k % 4], "&ids=converted").await;
    let (client, mut incoming) = customer(&gw, InterfaceVersion::V34).await;
    let mut ours = Vec::new();
    for _ in 0..4 {
        ours.push(client.submit(sm("447700900123", true)).await.unwrap().message_id.to_string());
    }
    // "23" is the second answer's text, and the first answer's number: the first's.
    // "69" likewise: the third's.
    let mut got = Vec::new();
    for _ in 0..4 {
        got.push(receipt_id(&receipt(&mut incoming).await));
    }
    got.sort();
    ours.sort();
    assert_eq!(got, ours, "each receipt carries the id of its own submit, once");
    assert_eq!((gw.stats().receipts_matched, gw.stats().receipts_unmatched), (4, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pass_through_with_no_upstream_bound_throttles_the_customer() {
    let (up, _) = absent_upstream("up");
    let mut config = gateway_config(up);
    config.policy = Policy::PassThrough;
    let gw = Gateway::start(listen_any(), config).await.unwrap();
    let (client, _incoming) = customer(&gw, InterfaceVersion::V34).await;
    assert_eq!(client.submit(sm("447700900123", true)).await.unwrap_err(), RequestError::Throttled);
    assert_eq!((gw.stats().throttled, gw.stats().accepted), (1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_that_refuses_the_bind_for_good_is_skipped_and_what_waits_for_it_refused() {
    let sim = upstream(upstream_config()).await;
    // "bad" is not there yet: a submit for it waits in its queue.
    let (bad, port) = absent_upstream("bad");
    let mut config = gateway_config(url(&sim, ""));
    config.upstreams.push(bad);
    config.routes =
        vec![Route::to(vec![Target::new("bad", 1)]).prefix("33"), Route::to(vec![Target::new("up", 1)]).prefix("44")];
    config.fallback = vec![];
    let gw = gateway(config).await;
    let (client, mut incoming) = customer(&gw, InterfaceVersion::V34).await;
    let ours = client.submit(sm("33612345678", true)).await.unwrap().message_id.to_string();
    // It comes, and does not know the gateway's account: a refusal for good.
    let mut no_such_account = upstream_config();
    no_such_account.accounts.clear();
    let _bad = Simulator::start(ServerConfig::new(format!("127.0.0.1:{port}").parse().unwrap()), no_such_account)
        .await
        .unwrap();
    let d = receipt(&mut incoming).await;
    let r = smpp_wire::text::Receipt::from_deliver_sm(&d).unwrap();
    assert_eq!((r.id.as_deref(), r.state), (Some(ours.as_str()), Some(MessageState::REJECTED)));
    assert_eq!(r.err.as_deref(), Some("013"), "ESME_RBINDFAIL");
    // Known dead now: a route to it alone has nowhere to go; the other still flows.
    let refused = client.submit(sm("33612345679", false)).await.unwrap_err();
    assert_eq!(refused, RequestError::Status(smpp_wire::CommandStatus::ESME_RINVDSTADR));
    client.submit(sm("447700900123", false)).await.unwrap();
    common::eventually("the other upstream takes it", || sim.submits() == 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_spreads_by_weight_and_fails_over_to_its_connectors_that_are_up() {
    let a = upstream(upstream_config()).await;
    let b = upstream(upstream_config()).await;
    let mut config = gateway_config(url(&a, ""));
    config.upstreams[0].name = "a".into();
    config.upstreams.push({
        let mut u = url(&b, "");
        u.name = "b".into();
        u
    });
    config.routes = vec![Route::to(vec![Target::new("a", 3), Target::new("b", 1)]).prefix("44")];
    config.fallback = vec![];
    let gw = Gateway::start(listen_any(), config).await.unwrap();
    common::eventually("both bind", || gw.upstream_up("a") && gw.upstream_up("b")).await;
    let (client, _incoming) = customer(&gw, InterfaceVersion::V34).await;
    for _ in 0..8 {
        client.submit(sm("447700900123", false)).await.unwrap();
    }
    common::eventually("all forwarded", || a.submits() + b.submits() == 8).await;
    assert_eq!((a.submits(), b.submits()), (6, 2), "3:1");
    a.server.drop_account("gw");
    a.shutdown(Duration::ZERO).await;
    common::eventually("a is down", || !gw.upstream_up("a")).await;
    for _ in 0..4 {
        client.submit(sm("447700900123", false)).await.unwrap();
    }
    common::eventually("b takes them all", || b.submits() == 6).await;
    assert_eq!(a.submits(), 6);
}
