//! The server against ESMEs that misbehave: padded and garbled answers, generic_nack
//! with status 0, a flood of deferred answers, a peer that stops reading, and a
//! shutdown that must not wait for it. Loopback TCP, short real timeouts.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use smpp_chaos::{Answer, EsmeFaults, FaultEsme};
use smpp_client::smpp_wire::{
    Address, Bind, Body, CommandId, CommandStatus, Pdu, SequenceNumber, ShortMessage, SubmitSm, SubmitSmResp,
};
use smpp_client::{Client, ClientConfig, CloseReason, Request};
use smpp_server::{Defer, Reply, Responder, Server, ServerConfig, Simulator, SimulatorConfig, SmscHandler};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn sim_config() -> SimulatorConfig {
    let mut c = SimulatorConfig::default();
    c.accounts.insert("user".into(), "secret".into());
    c
}

async fn esme(addr: SocketAddr, faults: EsmeFaults) -> FaultEsme {
    let stream = TcpStream::connect(addr).await.unwrap();
    FaultEsme::bind(stream, CommandId::BIND_TRANSCEIVER, "user", "secret", faults, 1).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn padded_and_garbled_ok_answers_count_as_delivered_and_a_nack_with_status_0_does_not() {
    let sim = Simulator::start(ServerConfig::new("127.0.0.1:0".parse().unwrap()), sim_config()).await.unwrap();
    for (faults, delivered) in [
        (EsmeFaults { pad: 1.0, ..EsmeFaults::none() }, true),
        (EsmeFaults { garble: 1.0, ..EsmeFaults::none() }, true),
        (EsmeFaults { generic_nack_ok: 1.0, ..EsmeFaults::none() }, false),
    ] {
        let e = esme(sim.local_addr(), faults).await;
        let (status, _) = sim.inject_mo("user", "447700900001", "12345", "hello").await.unwrap();
        assert_eq!(status.is_ok(), delivered, "{status} for {:?}", e.ledger().answers);
        e.reset().await;
        while sim.server.binds("user") > 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// Defers every submit; answers them all at once when `burst` have come.
struct Deferring {
    burst: usize,
    held: Mutex<Vec<(Responder, String)>>,
}

impl SmscHandler for Deferring {
    type Account = ();

    async fn authenticate(&self, _: &smpp_server::BindInfo) -> Result<smpp_server::Grant<()>, CommandStatus> {
        Ok(smpp_server::Grant::new(()))
    }

    fn on_request(&self, _: &smpp_server::BoundSession<()>, request: Request, defer: Defer<'_>) -> Option<Reply> {
        let Request::SubmitSm(sm) = request else { return None };
        let id = String::from_utf8_lossy(sm.short_message.as_bytes()).into_owned();
        let mut held = self.held.lock().unwrap();
        held.push((defer.responder(), id));
        if held.len() == self.burst {
            // All in one go, from the driver's own turn: nothing gets to drain the
            // session's queue in between.
            for (responder, id) in held.drain(..) {
                let mut r = SubmitSmResp::default();
                r.message_id = id.parse().unwrap();
                responder.respond(Reply { status: CommandStatus::ESME_ROK, body: Body::SubmitSmResp(Some(r)) });
            }
        }
        None
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_thousand_deferred_answers_in_a_burst_are_all_delivered() {
    let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap());
    config.session.receive_window(3000);
    let handle =
        Server::start(config, Arc::new(Deferring { burst: 3000, held: Mutex::new(Vec::new()) })).await.unwrap();
    let addr = handle.local_addr();
    let c = ClientConfig::new("127.0.0.1", addr.port(), "user", "secret").window(3000).retry_throttled(None);
    let (client, _incoming) = Client::connect(c).await.unwrap();
    let tasks: Vec<_> = (0..3000)
        .map(|k| {
            let client = client.clone();
            tokio::spawn(async move {
                let mut sm = SubmitSm::default();
                sm.destination_addr = Address::international("447700900123").unwrap();
                sm.short_message = ShortMessage::new(format!("{k}").into_bytes()).unwrap();
                client.submit(sm).await
            })
        })
        .collect();
    for (k, t) in tasks.into_iter().enumerate() {
        let r = t.await.unwrap();
        assert_eq!(r.map(|s| s.message_id.to_string()), Ok(k.to_string()));
    }
}

/// Records why sessions closed.
#[derive(Default)]
struct Recording {
    closed: Mutex<Vec<CloseReason>>,
}

impl SmscHandler for Recording {
    type Account = ();

    async fn authenticate(&self, _: &smpp_server::BindInfo) -> Result<smpp_server::Grant<()>, CommandStatus> {
        Ok(smpp_server::Grant::new(()))
    }

    fn on_request(&self, _: &smpp_server::BoundSession<()>, request: Request, _: Defer<'_>) -> Option<Reply> {
        let mut r = SubmitSmResp::default();
        r.message_id = "1".parse().unwrap();
        let body = match request {
            Request::SubmitSm(_) => Body::SubmitSmResp(Some(r)),
            other => return Some(Reply::error(&other, CommandStatus::ESME_RINVCMDID)),
        };
        Some(Reply { status: CommandStatus::ESME_ROK, body })
    }

    fn on_closed(&self, _: &smpp_server::BoundSession<()>, reason: CloseReason) {
        self.closed.lock().unwrap().push(reason);
    }
}

/// Binds over raw TCP with a small receive buffer, then floods enquire_link and
/// never reads: the server's answers back up.
async fn stuck_esme(addr: SocketAddr) -> tokio::task::JoinHandle<()> {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(addr).await.unwrap();
    let mut bind = Bind::default();
    bind.system_id = "stuck".parse().unwrap();
    stream.write_all(&Pdu::new(SequenceNumber::new(1), Body::BindTransceiver(bind)).to_bytes()).await.unwrap();
    let mut resp = [0u8; 64];
    let n = stream.read(&mut resp).await.unwrap();
    assert!(n >= 16, "bound");
    tokio::spawn(async move {
        let mut flood = Vec::new();
        for k in 0..10_000u32 {
            flood.extend_from_slice(&Pdu::new(SequenceNumber::new(k + 2), Body::EnquireLink).to_bytes());
        }
        // Until the server stops reading too, or drops the connection.
        while stream.write_all(&flood).await.is_ok() {}
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_stops_reading_is_closed_on_its_own_while_others_go_on() {
    let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap());
    config.driver.write_timeout = Some(Duration::from_millis(500));
    let recording = Arc::new(Recording::default());
    let handle = Server::start(config, recording.clone()).await.unwrap();
    let addr = handle.local_addr();
    let flood = stuck_esme(addr).await;
    let (client, _incoming) =
        Client::connect(ClientConfig::new("127.0.0.1", addr.port(), "user", "secret")).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !recording.closed.lock().unwrap().contains(&CloseReason::WriteStalled) {
        // The other session is served all along.
        let mut sm = SubmitSm::default();
        sm.destination_addr = Address::international("447700900123").unwrap();
        sm.short_message = ShortMessage::new(&b"meanwhile"[..]).unwrap();
        assert!(client.submit(sm).await.is_ok());
        assert!(tokio::time::Instant::now() < deadline, "the stuck session was never closed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(handle.connections(), 1);
    flood.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_within_its_grace_period_even_with_a_stuck_peer() {
    let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap());
    config.driver.write_timeout = None;
    let handle = Server::start(config, Arc::new(Recording::default())).await.unwrap();
    let flood = stuck_esme(handle.local_addr()).await;
    // Let the stuck session's output back up.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let start = std::time::Instant::now();
    let cut = handle.shutdown(Duration::from_millis(500)).await;
    let took = start.elapsed();
    assert!(took < Duration::from_millis(1500), "shutdown took {took:?}");
    assert_eq!(cut, 1, "the stuck session was cut off");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while handle.connections() > 0 {
        assert!(std::time::Instant::now() < deadline, "the cut session was not counted closed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    flood.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_esme_that_never_answers_gets_its_deliveries_timed_out_not_lost() {
    let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap());
    config.session.response_timeout(Some(Duration::from_millis(300)));
    let sim = Simulator::start(config, sim_config()).await.unwrap();
    let e = esme(sim.local_addr(), EsmeFaults { never: 1.0, ..EsmeFaults::none() }).await;
    let r = sim.inject_mo("user", "447700900001", "12345", "anyone?").await;
    assert_eq!(r, Err(smpp_server::PushError::Timeout));
    assert_eq!(e.ledger().answers, vec![Answer::Never]);
}
