//! Our client against our server over 127.0.0.1: auth, binds per account, receipts,
//! MO, throttling, error injection, timeouts, limits and shutdown.

use std::collections::HashMap;
use std::time::Duration;

use smpp_client::smpp_pdu::text::Decoded;
use smpp_client::smpp_pdu::{
    Address, Body, CommandStatus, InterfaceVersion, MessageState, RegisteredDelivery, ShortMessage, SubmitSm,
    SubmitSmResp,
};
use smpp_client::{BindMode, Client, ClientConfig, ClientError, InboundMessage, LinkState, RequestError};
use smpp_server::{ServerConfig, Simulator, SimulatorConfig, SimulatorHandle};
use tokio::io::AsyncReadExt;

fn sim_config() -> SimulatorConfig {
    let mut c = SimulatorConfig::default();
    c.accounts = HashMap::from([("alice".to_owned(), "secret".to_owned()), ("bob".to_owned(), "hunter2".to_owned())]);
    c.dlr_delay = Duration::from_millis(20);
    c
}

async fn start(config: SimulatorConfig, tweak: impl FnOnce(&mut ServerConfig)) -> SimulatorHandle {
    let mut server = ServerConfig::new("127.0.0.1:0".parse().unwrap());
    tweak(&mut server);
    Simulator::start(server, config).await.unwrap()
}

fn client_config(sim: &SimulatorHandle, user: &str, password: &str) -> ClientConfig {
    ClientConfig::new("127.0.0.1", sim.local_addr().port(), user, password)
}

fn sm(to: &str, receipt: bool) -> SubmitSm {
    let mut s = SubmitSm::default();
    s.source_addr = Address::international("12345").unwrap();
    s.destination_addr = Address::international(to).unwrap();
    s.short_message = ShortMessage::new(&b"hello there"[..]).unwrap();
    if receipt {
        s.registered_delivery = RegisteredDelivery::RECEIPT;
    }
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_accounts_and_wrong_passwords_are_refused() {
    let sim = start(sim_config(), |_| {}).await;
    let err = Client::connect(client_config(&sim, "mallory", "secret")).await.unwrap_err();
    assert!(matches!(err, ClientError::BindRefused(CommandStatus::ESME_RINVSYSID)), "{err}");
    let err = Client::connect(client_config(&sim, "alice", "wrong")).await.unwrap_err();
    assert_eq!(err.to_string(), "bind refused: ESME_RINVPASWD (0x0E): invalid password");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_holds_several_binds_up_to_its_limit() {
    let sim = start(sim_config(), |c| c.max_binds_per_account = 3).await;
    let mut clients = Vec::new();
    for _ in 0..3 {
        clients.push(Client::connect(client_config(&sim, "alice", "secret")).await.unwrap());
    }
    assert_eq!(sim.server.binds("alice"), 3);
    let err = Client::connect(client_config(&sim, "alice", "secret")).await.unwrap_err();
    assert!(matches!(err, ClientError::BindRefused(CommandStatus::ESME_RBINDFAIL)), "{err}");
    // Another account is not affected, and a freed slot can be reused.
    assert!(Client::connect(client_config(&sim, "bob", "hunter2")).await.is_ok());
    let (first, _) = clients.remove(0);
    first.unbind().await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(Client::connect(client_config(&sim, "alice", "secret")).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_ids_are_unique_across_sessions() {
    let sim = start(sim_config(), |_| {}).await;
    let (a, _ia) = Client::connect(client_config(&sim, "alice", "secret")).await.unwrap();
    let (b, _ib) = Client::connect(client_config(&sim, "bob", "hunter2")).await.unwrap();
    let mut ids = Vec::new();
    for _ in 0..50 {
        ids.push(a.submit(sm("447700900123", false)).await.unwrap().message_id.to_string());
        ids.push(b.submit(sm("447700900123", false)).await.unwrap().message_id.to_string());
    }
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n);
    assert_eq!(sim.submits(), 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_carry_tlvs_on_v34_binds_only() {
    let sim = start(sim_config(), |_| {}).await;
    for (version, tlvs) in [(InterfaceVersion::V34, true), (InterfaceVersion::V33, false)] {
        let c = client_config(&sim, "alice", "secret").interface_version(version);
        if version == InterfaceVersion::V33 {
            let c = c.bind_mode(BindMode::Transmitter);
            // A v3.3 ESME receives on a second, receiver bind.
            let rx = client_config(&sim, "alice", "secret").interface_version(version).bind_mode(BindMode::Receiver);
            let (rx_client, mut rx_incoming) = Client::connect(rx).await.unwrap();
            let (tx_client, _) = Client::connect(c).await.unwrap();
            let id = tx_client.submit(sm("447700900123", true)).await.unwrap().message_id;
            let r = tokio::time::timeout(Duration::from_secs(5), rx_incoming.recv()).await.unwrap().unwrap();
            let InboundMessage::Receipt(d) = &r.message else { panic!("{r:?}") };
            assert!(d.tlvs.is_empty(), "no TLVs to a v3.3 client");
            let text = String::from_utf8_lossy(d.short_message.as_bytes()).into_owned();
            assert!(text.starts_with(&format!("id:{id} ")) && text.contains("stat:DELIVRD"), "{text}");
            rx_client.unbind().await;
            tx_client.unbind().await;
            continue;
        }
        let (client, mut incoming) = Client::connect(c).await.unwrap();
        let id = client.submit(sm("447700900123", true)).await.unwrap().message_id;
        let r = tokio::time::timeout(Duration::from_secs(5), incoming.recv()).await.unwrap().unwrap();
        let InboundMessage::Receipt(d) = &r.message else { panic!("{r:?}") };
        assert_eq!(d.tlvs.receipted_message_id().map(|t| t.as_bytes().to_vec()), tlvs.then(|| id.as_bytes().to_vec()));
        assert_eq!(d.tlvs.message_state(), Some(MessageState::DELIVERED));
        assert_eq!(d.source_addr.addr.as_bytes(), b"447700900123", "from the original destination");
        client.unbind().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mo_messages_can_be_injected() {
    let sim = start(sim_config(), |_| {}).await;
    let (_client, mut incoming) = Client::connect(client_config(&sim, "bob", "hunter2")).await.unwrap();
    let (status, _) = sim.inject_mo("bob", "447700900999", "12345", "ping").await.unwrap();
    assert_eq!(status, CommandStatus::ESME_ROK);
    let m = incoming.recv().await.unwrap();
    assert!(matches!(&m.message, InboundMessage::Deliver(d) if d.short_message.as_bytes() == b"ping"));
    assert!(sim.inject_mo("alice", "1", "2", "nobody bound").await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_and_error_injection() {
    let mut config = sim_config();
    config.throttle = Some(5);
    config.errors.insert("447700900000".to_owned(), CommandStatus::ESME_RSUBMITFAIL);
    let sim = start(config, |_| {}).await;
    // The client absorbs the throttling: every submit gets through, some after retries.
    let (client, _incoming) = Client::connect(client_config(&sim, "alice", "secret")).await.unwrap();
    for _ in 0..8 {
        assert!(client.submit(sm("447700900123", false)).await.is_ok());
    }
    let stats = client.stats();
    assert!(stats.throttled >= 2 && stats.retries == stats.throttled, "burst of 5, then throttled: {stats:?}");
    // Without retries, the status comes back.
    let no_retry = client_config(&sim, "alice", "secret").retry_throttled(None);
    let (client, _incoming) = Client::connect(no_retry).await.unwrap();
    let mut throttled = 0;
    for _ in 0..8 {
        if client.submit(sm("447700900123", false)).await == Err(RequestError::Throttled) {
            throttled += 1;
        }
    }
    assert!(throttled >= 2, "burst of 5, then throttled: {throttled}");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(client.submit(sm("99911", false)).await, Err(RequestError::Status(CommandStatus::ESME_RINVDSTADR)));
    assert_eq!(client.submit(sm("99920", false)).await, Err(RequestError::QueueFull));
    assert_eq!(
        client.submit(sm("447700900000", false)).await,
        Err(RequestError::Status(CommandStatus::ESME_RSUBMITFAIL))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_never_binds_is_closed() {
    let sim = start(sim_config(), |c| {
        c.session.bind_timeout(Some(Duration::from_millis(200)));
    })
    .await;
    let mut tcp = tokio::net::TcpStream::connect(sim.local_addr()).await.unwrap();
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_secs(3), tcp.read(&mut buf)).await.unwrap().unwrap();
    assert_eq!(n, 0, "closed without a word");
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(sim.server.connections(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_link_is_dropped_after_the_inactivity_timeout() {
    let sim = start(sim_config(), |c| {
        c.session.inactivity_timeout(Some(Duration::from_millis(300)));
    })
    .await;
    let config = client_config(&sim, "alice", "secret").with_session(|s| {
        s.enquire_link_interval(None);
    });
    let (client, _incoming) = Client::connect(config).await.unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(matches!(client.link_state(), LinkState::Down(_) | LinkState::Closed), "{:?}", client.link_state());
    // With enquire_link, the same link stays up.
    let config = client_config(&sim, "alice", "secret").with_session(|s| {
        s.enquire_link_interval(Some(Duration::from_millis(100)));
    });
    let (client, _incoming) = Client::connect(config).await.unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(client.is_up());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_limit_is_enforced() {
    let sim = start(sim_config(), |c| c.max_connections = 2).await;
    let (_a, _) = Client::connect(client_config(&sim, "alice", "secret")).await.unwrap();
    let (_b, _) = Client::connect(client_config(&sim, "bob", "hunter2")).await.unwrap();
    let err = Client::connect(client_config(&sim, "alice", "secret")).await.unwrap_err();
    assert!(matches!(err, ClientError::Closed(_) | ClientError::Io(_) | ClientError::DriverGone), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_with_requests_in_flight_leaves_none_hanging() {
    let sim = start(sim_config(), |_| {}).await;
    let config = client_config(&sim, "alice", "secret").window(50);
    let (client, _incoming) = Client::connect(config).await.unwrap();
    let tasks: Vec<_> = (0..500)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.submit(sm("447700900123", false)).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let left = sim.shutdown(Duration::from_secs(5)).await;
    assert_eq!(left, 0, "every session closed within the grace period");
    let mut ok = 0;
    for (k, t) in tasks.into_iter().enumerate() {
        // Every submit resolves: answered, or failed with a clear error.
        let outcome = tokio::time::timeout(Duration::from_secs(5), t).await.unwrap_or_else(|_| {
            panic!("submit {k} has no outcome 5 s after shutdown (link {:?}, {ok} answered)", client.link_state())
        });
        match outcome.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => assert!(
                matches!(e, RequestError::ConnectionLost(_) | RequestError::NotSent(_) | RequestError::Closed),
                "{e:?}"
            ),
        }
    }
    assert_eq!(ok as u64, sim.submits(), "what the SMSC accepted is what the client saw accepted");
    assert!(tokio::net::TcpStream::connect(sim.local_addr()).await.is_err(), "no longer accepting");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_past_the_server_window_wait_for_room_and_none_is_lost() {
    let sim = start(sim_config(), |c| {
        c.session.window(5);
    })
    .await;
    let config = client_config(&sim, "alice", "secret").window(50);
    let (client, mut incoming) = Client::connect(config).await.unwrap();
    let tasks: Vec<_> = (0..300)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.submit(sm("447700900123", true)).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    for _ in 0..300 {
        let r = tokio::time::timeout(Duration::from_secs(5), incoming.recv()).await.expect("a receipt").unwrap();
        assert!(r.is_receipt());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_messages_come_out_of_the_server_reassembled() {
    let sim = start(sim_config(), |_| {}).await;
    let (client, _incoming) = Client::connect(client_config(&sim, "alice", "secret")).await.unwrap();
    let text = "Ünïcödé long message for the SMSC, split by UDH. ".repeat(6);
    let from = Address::international("12345").unwrap();
    let to = Address::international("447700900123").unwrap();
    let ids = client.submit_text(from, to, &text, smpp_client::TextOptions::default()).await.unwrap();
    assert!(ids.len() > 1);
    let longs = sim.long_messages();
    assert_eq!(longs.len(), 1);
    assert_eq!(longs[0].decode(), Decoded::Text(text));
}

/// A handler that answers submits to "later" from another task, and forgets the rest.
struct Deferring;

impl smpp_server::SmscHandler for Deferring {
    type Account = ();

    async fn authenticate(&self, _: &smpp_server::BindInfo) -> Result<smpp_server::Grant<()>, CommandStatus> {
        Ok(smpp_server::Grant::new(()))
    }

    fn on_request(
        &self,
        _: &smpp_server::BoundSession<()>,
        request: smpp_client::Request,
        defer: smpp_server::Defer<'_>,
    ) -> Option<smpp_server::Reply> {
        let smpp_client::Request::SubmitSm(sm) = request else { return None };
        if sm.destination_addr.addr.as_bytes() == b"447700900111" {
            let responder = defer.responder();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                let mut resp = SubmitSmResp::default();
                resp.message_id = "later".parse().unwrap();
                let body = Body::SubmitSmResp(Some(resp));
                responder.respond(smpp_server::Reply { status: CommandStatus::ESME_ROK, body });
            });
        }
        None
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deferred_answers_arrive_and_forgotten_requests_still_get_one() {
    let handle =
        smpp_server::Server::start(ServerConfig::new("127.0.0.1:0".parse().unwrap()), std::sync::Arc::new(Deferring))
            .await
            .unwrap();
    let addr = handle.local_addr();
    let (client, _incoming) = Client::connect(ClientConfig::new("127.0.0.1", addr.port(), "any", "any")).await.unwrap();
    assert_eq!(client.submit(sm("447700900111", false)).await.unwrap().message_id.as_bytes(), b"later");
    assert_eq!(client.submit(sm("447700900222", false)).await, Err(RequestError::Status(CommandStatus::ESME_RSYSERR)));
}
