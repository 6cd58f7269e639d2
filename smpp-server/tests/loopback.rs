//! Our client against our simulator: auth, binds per account, receipts, MO,
//! throttling, error injection, timeouts, limits, shutdown and deferred answers.
//!
//! Every test but one runs in virtual time over in-memory duplex streams fed to
//! [`Server::serve`]; the last one checks the TCP listener itself (accepting, the
//! connection limit, no accepting after shutdown), without sleeping.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Sim, client_config, eventually, sim_config, sm};
use smpp_client::smpp_wire::text::Decoded;
use smpp_client::smpp_wire::{Address, Body, CommandStatus, InterfaceVersion, MessageState, SubmitSmResp};
use smpp_client::{BindMode, Client, ClientConfig, ClientError, InboundMessage, RequestError};
use smpp_server::{Server, ServerConfig, Simulator};
use tokio::time::Instant;

#[tokio::test(start_paused = true)]
async fn unknown_accounts_and_wrong_passwords_are_refused() {
    let sim = Sim::new(sim_config());
    let err = sim.client(client_config("mallory", "secret")).await.unwrap_err();
    assert!(matches!(err, ClientError::BindRefused(CommandStatus::ESME_RINVSYSID)), "{err}");
    let err = sim.client(client_config("alice", "wrong")).await.unwrap_err();
    assert_eq!(err.to_string(), "bind refused: ESME_RINVPASWD (0x0E): invalid password");
    assert!(sim.client(client_config("alice", "secret")).await.is_ok());
}

#[tokio::test(start_paused = true)]
async fn an_account_holds_several_binds_up_to_its_limit() {
    let sim = Sim::with_server(sim_config(), common::server_config().max_binds_per_account(3));
    let mut clients = Vec::new();
    for _ in 0..3 {
        clients.push(sim.client(client_config("alice", "secret")).await.unwrap());
    }
    assert_eq!(sim.handle.server.binds("alice"), 3);
    let err = sim.client(client_config("alice", "secret")).await.unwrap_err();
    assert!(matches!(err, ClientError::BindRefused(CommandStatus::ESME_RBINDFAIL)), "{err}");
    // Another account is not affected, and a freed slot can be reused.
    assert!(sim.client(client_config("bob", "hunter2")).await.is_ok());
    let (first, _) = clients.remove(0);
    first.unbind().await;
    eventually("the unbound session is deregistered", || sim.handle.server.binds("alice") == 2).await;
    assert!(sim.client(client_config("alice", "secret")).await.is_ok());
    assert_eq!(sim.handle.server.binds("alice"), 3);
}

#[tokio::test(start_paused = true)]
async fn message_ids_are_unique_across_sessions() {
    let sim = Sim::new(sim_config());
    let (a, _ia) = sim.client(client_config("alice", "secret")).await.unwrap();
    let (b, _ib) = sim.client(client_config("bob", "hunter2")).await.unwrap();
    let mut ids = Vec::new();
    for _ in 0..50 {
        ids.push(a.submit(sm("447700900123", false)).await.unwrap().message_id.to_string());
        ids.push(b.submit(sm("447700900123", false)).await.unwrap().message_id.to_string());
    }
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n);
    assert_eq!(sim.handle.submits(), 100);
}

#[tokio::test(start_paused = true)]
async fn receipts_carry_tlvs_on_v34_binds_only() {
    let sim = Sim::new(sim_config());

    // v3.4: the receipt has the receipted_message_id and message_state TLVs.
    let (client, mut incoming) = sim.client(client_config("alice", "secret")).await.unwrap();
    let id = client.submit(sm("447700900123", true)).await.unwrap().message_id;
    let r = incoming.recv().await.unwrap();
    let InboundMessage::Receipt(d) = &r.message else { panic!("{r:?}") };
    assert_eq!(d.tlvs.receipted_message_id().map(|t| t.as_bytes().to_vec()), Some(id.as_bytes().to_vec()));
    assert_eq!(d.tlvs.message_state(), Some(MessageState::DELIVERED));
    assert_eq!(d.source_addr.addr.as_bytes(), b"447700900123", "from the original destination");
    client.unbind().await;

    // v3.3, a transmitter and a receiver bound separately: no TLV at all.
    let v33 = |mode| client_config("bob", "hunter2").interface_version(InterfaceVersion::V33).bind_mode(mode);
    let (rx, mut rx_incoming) = sim.client(v33(BindMode::Receiver)).await.unwrap();
    let (tx, _) = sim.client(v33(BindMode::Transmitter)).await.unwrap();
    let id = tx.submit(sm("447700900123", true)).await.unwrap().message_id;
    let r = rx_incoming.recv().await.unwrap();
    let InboundMessage::Receipt(d) = &r.message else { panic!("{r:?}") };
    assert!(d.tlvs.is_empty(), "no TLVs to a v3.3 client: {:?}", d.tlvs);
    let text = String::from_utf8_lossy(d.short_message.as_bytes()).into_owned();
    assert!(text.starts_with(&format!("id:{id} ")) && text.contains("stat:DELIVRD"), "{text}");
    rx.unbind().await;
    tx.unbind().await;

    // A v3.3 "transceiver" client binds a transmitter and a receiver by itself, and
    // gets its receipt on the receiver.
    let (client, mut incoming) =
        sim.client(client_config("bob", "hunter2").interface_version(InterfaceVersion::V33)).await.unwrap();
    let modes: Vec<_> = sim.handle.server.account_sessions("bob").iter().map(|s| s.info.mode).collect();
    assert_eq!(modes.len(), 2, "{modes:?}");
    assert!(modes.contains(&BindMode::Transmitter) && modes.contains(&BindMode::Receiver), "{modes:?}");
    let id = client.submit(sm("447700900123", true)).await.unwrap().message_id;
    let r = incoming.recv().await.unwrap();
    let receipt = r.receipt().expect("a receipt");
    assert_eq!(receipt.id.as_deref(), id.as_str());
    let InboundMessage::Receipt(d) = &r.message else { panic!("{r:?}") };
    assert!(d.tlvs.is_empty());
}

#[tokio::test(start_paused = true)]
async fn mo_messages_can_be_injected() {
    let sim = Sim::new(sim_config());
    let (_client, mut incoming) = sim.client(client_config("bob", "hunter2")).await.unwrap();
    let (status, _) = sim.handle.inject_mo("bob", "447700900999", "12345", "ping").await.unwrap();
    assert_eq!(status, CommandStatus::ESME_ROK);
    let m = incoming.recv().await.unwrap();
    assert!(matches!(&m.message, InboundMessage::Deliver(d) if d.short_message.as_bytes() == b"ping"), "{m:?}");
    assert_eq!(m.text().as_deref(), Some("ping"));
    // Nobody of alice's is bound: the MO cannot go now (it waits, see the simulator tests).
    assert!(matches!(
        sim.handle.inject_mo("alice", "1", "2", "nobody bound").await,
        Err(smpp_server::PushError::NoReceiver(_))
    ));
}

#[tokio::test(start_paused = true)]
async fn throttling_and_error_injection() {
    let mut config = sim_config();
    config.throttle = Some(5);
    config.errors.insert("447700900000".to_owned(), CommandStatus::ESME_RSUBMITFAIL);
    let sim = Sim::new(config);
    // The client absorbs the throttling: every submit gets through, some after retries.
    let (client, _incoming) = sim.client(client_config("alice", "secret")).await.unwrap();
    for _ in 0..8 {
        assert!(client.submit(sm("447700900123", false)).await.is_ok());
    }
    let stats = client.stats();
    assert!(stats.throttled >= 3 && stats.retries == stats.throttled, "burst of 5, then throttled: {stats:?}");
    assert_eq!(sim.handle.submits(), 8);

    // Without retries, the status comes back: the bucket (shared by the account's
    // binds) is refilled by now at most in part, and 8 at once overrun it.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let no_retry = client_config("alice", "secret").retry_throttled(None);
    let (client, _incoming) = sim.client(no_retry).await.unwrap();
    let mut throttled = 0;
    for _ in 0..8 {
        if client.submit(sm("447700900123", false)).await == Err(RequestError::Throttled) {
            throttled += 1;
        }
    }
    assert_eq!(throttled, 3, "a burst of 5 in the same instant, then throttled");

    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(client.submit(sm("99911", false)).await, Err(RequestError::Status(CommandStatus::ESME_RINVDSTADR)));
    assert_eq!(client.submit(sm("99920", false)).await, Err(RequestError::QueueFull));
    assert_eq!(
        client.submit(sm("447700900000", false)).await,
        Err(RequestError::Status(CommandStatus::ESME_RSUBMITFAIL))
    );
}

#[tokio::test(start_paused = true)]
async fn a_connection_that_never_binds_is_closed_after_the_bind_timeout() {
    let sim = Sim::new(sim_config());
    let start = Instant::now();
    let mut raw = sim.raw(1);
    assert_eq!(sim.handle.server.connections(), 1);
    assert!(raw.closes_within(Duration::from_secs(60)).await, "closed without a word");
    let waited = start.elapsed();
    assert!(waited >= Duration::from_secs(10) && waited < Duration::from_secs(11), "the 10 s bind timeout: {waited:?}");
    eventually("the connection is counted closed", || sim.handle.server.connections() == 0).await;
}

#[tokio::test(start_paused = true)]
async fn an_idle_link_is_dropped_after_the_inactivity_timeout() {
    // The server's default: a link silent for 5 minutes is dropped.
    let sim = Sim::new(sim_config());
    let silent = client_config("alice", "secret").with_session(|s| {
        s.enquire_link_interval(None).inactivity_timeout(None);
    });
    let (client, _incoming) = sim.client(silent).await.unwrap();
    assert_eq!(sim.handle.server.binds("alice"), 1);
    tokio::time::sleep(Duration::from_secs(299)).await;
    assert_eq!(sim.handle.server.binds("alice"), 1, "not before 5 minutes");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(sim.handle.server.binds("alice"), 0, "dropped by the server after 5 minutes");
    assert_eq!(sim.handle.server.connections(), 0);
    eventually("the client sees the link down", || !client.is_up()).await;

    // With enquire_link every minute, the same link stays up for an hour.
    let chatty = client_config("alice", "secret").with_session(|s| {
        s.enquire_link_interval(Some(Duration::from_secs(60))).inactivity_timeout(None);
    });
    let (client, _incoming) = sim.client(chatty).await.unwrap();
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert!(client.is_up());
    assert_eq!(sim.handle.server.binds("alice"), 1);
}

#[tokio::test(start_paused = true)]
async fn shutdown_with_requests_in_flight_leaves_none_hanging() {
    let sim = Sim::new(sim_config());
    let (client, _incoming) = sim.client(client_config("alice", "secret").window(50)).await.unwrap();
    let tasks: Vec<_> = (0..500)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.submit(sm("447700900123", false)).await })
        })
        .collect();
    // Shut down in the middle of it.
    for _ in 0..100_000 {
        if sim.handle.submits() >= 50 {
            break;
        }
        tokio::task::yield_now().await;
    }
    let accepted_before = sim.handle.submits();
    assert!((50..500).contains(&accepted_before), "shut down mid-way: {accepted_before} accepted");
    let left = sim.handle.shutdown(Duration::from_secs(5)).await;
    assert_eq!(left, 0, "every session closed within the grace period");
    let mut ok = 0;
    for (k, t) in tasks.into_iter().enumerate() {
        // Every submit resolves: answered, or failed with a clear error.
        let outcome = tokio::time::timeout(Duration::from_secs(60), t)
            .await
            .unwrap_or_else(|_| panic!("submit {k} has no outcome a minute after shutdown ({ok} answered)"));
        match outcome.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => assert!(
                matches!(e, RequestError::ConnectionLost(_) | RequestError::NotSent(_) | RequestError::Closed),
                "{e:?}"
            ),
        }
    }
    assert!(ok < 500, "some were cut by the shutdown");
    assert_eq!(ok as u64, sim.handle.submits(), "what the SMSC accepted is what the client saw accepted");
    let (_, stream) = tokio::io::duplex(64);
    assert!(!sim.server.serve(stream, common::peer(9)), "no longer accepting");
    assert_eq!(sim.handle.server.connections(), 0);
}

#[tokio::test(start_paused = true)]
async fn receipts_past_the_server_window_wait_for_room_and_none_is_lost() {
    let server_config = common::server_config().with_session(|s| {
        s.window(5);
    });
    let sim = Sim::with_server(sim_config(), server_config);
    let (client, mut incoming) = sim.client(client_config("alice", "secret").window(50)).await.unwrap();
    let tasks: Vec<_> = (0..300)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.submit(sm("447700900123", true)).await })
        })
        .collect();
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap().unwrap().message_id.to_string());
    }
    let mut receipted = Vec::new();
    for _ in 0..300 {
        let r = incoming.recv().await.unwrap();
        receipted.push(r.receipt().and_then(|r| r.id).expect("a receipt"));
    }
    ids.sort();
    receipted.sort();
    assert_eq!(ids, receipted, "one receipt for each message");
}

#[tokio::test(start_paused = true)]
async fn long_messages_come_out_of_the_server_reassembled() {
    let sim = Sim::new(sim_config());
    let (client, _incoming) = sim.client(client_config("alice", "secret")).await.unwrap();
    let text = "Ünïcödé long message for the SMSC, split by UDH. ".repeat(6);
    let from = Address::international("12345").unwrap();
    let to = Address::international("447700900123").unwrap();
    let ids = client.submit_text(from, to, &text, smpp_client::TextOptions::default()).await.unwrap();
    assert!(ids.len() > 1);
    let longs = sim.handle.long_messages();
    assert_eq!(longs.len(), 1);
    assert_eq!(longs[0].decode(), Decoded::Text(text));
}

/// A handler that answers submits to "447700900111" later, from another task, and
/// forgets the rest.
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
                tokio::time::sleep(Duration::from_secs(2)).await;
                let mut resp = SubmitSmResp::default();
                resp.message_id = "later".parse().unwrap();
                responder.respond(smpp_server::Reply::ok(Body::SubmitSmResp(Some(resp))));
            });
        }
        None
    }
}

#[tokio::test(start_paused = true)]
async fn deferred_answers_arrive_and_forgotten_requests_still_get_one() {
    let server = Server::new(common::server_config(), Arc::new(Deferring));
    let (client, _incoming) = common::client(&server, client_config("any", "any")).await.unwrap();
    let start = Instant::now();
    assert_eq!(client.submit(sm("447700900111", false)).await.unwrap().message_id.as_bytes(), b"later");
    assert_eq!(start.elapsed(), Duration::from_secs(2), "answered when the handler answered");
    assert_eq!(client.submit(sm("447700900222", false)).await, Err(RequestError::Status(CommandStatus::ESME_RSYSERR)));
}

/// The TCP listener: it accepts, holds at most `max_connections`, and stops accepting
/// at shutdown. Real sockets, so real time, but nothing here sleeps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tcp_listener_accepts_up_to_the_connection_limit_and_stops_at_shutdown() {
    let server_config = ServerConfig::new("127.0.0.1:0".parse().unwrap()).max_connections(2);
    let sim = Simulator::start(server_config, sim_config()).await.unwrap();
    let port = sim.local_addr().port();
    assert_ne!(port, 0);
    let tcp = |user: &str, password: &str| ClientConfig::new("127.0.0.1", port, user, password);
    let (a, _) = Client::connect(tcp("alice", "secret")).await.unwrap();
    let (_b, _) = Client::connect(tcp("bob", "hunter2")).await.unwrap();
    assert_eq!(sim.server.connections(), 2);
    let err = Client::connect(tcp("alice", "secret")).await.unwrap_err();
    assert!(matches!(err, ClientError::Closed(_) | ClientError::Io(_) | ClientError::DriverGone), "{err:?}");
    assert!(a.submit(sm("447700900123", false)).await.is_ok(), "the first two are not disturbed");
    assert_eq!(sim.server.binds("alice"), 1);

    assert_eq!(sim.shutdown(Duration::from_secs(5)).await, 0);
    assert_eq!(sim.server.connections(), 0);
    // The accept loop sees the shutdown on its own task: give it a bounded number of
    // turns, without sleeping, to drop its socket.
    let mut refused = false;
    for _ in 0..10_000 {
        if tokio::net::TcpStream::connect(sim.local_addr()).await.is_err() {
            refused = true;
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(refused, "no longer accepting after shutdown");
}
