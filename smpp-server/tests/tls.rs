//! The TLS listener end to end: a self-signed certificate made by rcgen, the
//! server's [`Server::listen_tls`], and our client trusting that certificate.
//! Built with the `tls` feature only (`[[test]] required-features`).

mod common;

use std::time::Duration;

use common::{sim_config, sm};
use smpp_client::{Client, ClientConfig, ClientError, TlsOptions};
use smpp_server::{Server, ServerConfig, Simulator};
use tokio::io::AsyncReadExt;

/// A self-signed certificate for "localhost": (certificate PEM, key PEM).
fn certificate() -> (String, String) {
    let key = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    (key.cert.pem(), key.key_pair.serialize_pem())
}

/// Real sockets, so real time; nothing here sleeps (receipts go out at once).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_trusting_the_certificate_binds_submits_and_gets_its_receipt() {
    let (cert, key) = certificate();
    let acceptor = smpp_tokio::tls::acceptor(cert.as_bytes(), key.as_bytes()).unwrap();
    let mut config = sim_config();
    config.dlr_delay = Duration::ZERO;
    let simulator = Simulator::new(config);
    let server = Server::new(ServerConfig::new("127.0.0.1:0".parse().unwrap()), simulator.clone());
    let sim = simulator.attach(server.handle());
    let addr = server.listen_tls("127.0.0.1:0".parse().unwrap(), acceptor).await.unwrap();
    assert_eq!(sim.local_addr(), addr);

    let tls = TlsOptions::default().ca_pem(cert.as_bytes()).server_name("localhost");
    let config = ClientConfig::new("127.0.0.1", addr.port(), "alice", "secret").tls(Some(tls));
    let (client, mut incoming) = Client::connect(config).await.unwrap();
    let id = client.submit(sm("447700900123", true)).await.unwrap().message_id;
    let receipt = tokio::time::timeout(Duration::from_secs(30), incoming.recv()).await.expect("a receipt").unwrap();
    assert_eq!(receipt.receipt().and_then(|r| r.id).as_deref(), id.as_str());
    let sessions = sim.server.sessions();
    assert_eq!(sessions.len(), 1);
    assert!(sessions[0].info.peer.ip().is_loopback());

    // A client that does not trust the certificate fails the handshake; the server
    // is not disturbed.
    let untrusting = TlsOptions::default().server_name("localhost");
    let config = ClientConfig::new("127.0.0.1", addr.port(), "alice", "secret").tls(Some(untrusting));
    let err = Client::connect(config).await.unwrap_err();
    assert!(matches!(err, ClientError::Tls { .. }), "{err:?}");
    // Nor does plain SMPP get through to a TLS listener.
    let plain = ClientConfig::new("127.0.0.1", addr.port(), "alice", "secret");
    let err = Client::connect(plain).await.unwrap_err();
    assert!(matches!(err, ClientError::Closed(_) | ClientError::Io(_)), "{err:?}");
    assert!(client.submit(sm("447700900123", false)).await.is_ok());
    assert_eq!(sim.server.binds("alice"), 1);

    client.unbind().await;
    assert_eq!(sim.shutdown(Duration::from_secs(5)).await, 0);
}

/// A connection that never starts its handshake is closed after
/// `tls_handshake_timeout`, and handshakes under way count toward the connection
/// limit: past it, a new connection is closed at once instead of waiting for a
/// handshake. Real sockets and real time, with a short timeout; nothing sleeps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshakes_are_bounded_in_time_and_in_number() {
    let (cert, key) = certificate();
    let acceptor = smpp_tokio::tls::acceptor(cert.as_bytes(), key.as_bytes()).unwrap();
    let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap()).max_connections(2);
    config.tls_handshake_timeout = Duration::from_millis(600);
    let server = Server::new(config, Simulator::new(sim_config()));
    let addr = server.listen_tls("127.0.0.1:0".parse().unwrap(), acceptor).await.unwrap();
    let start = std::time::Instant::now();
    let mut silent: Vec<_> = Vec::new();
    for _ in 0..2 {
        silent.push(tokio::net::TcpStream::connect(addr).await.unwrap());
    }
    // Both silent connections are handshaking; a third is over the limit.
    let mut third = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_secs(10), third.read(&mut buf)).await.expect("closed");
    assert_eq!(n.unwrap_or(0), 0, "closed without a word");
    assert!(start.elapsed() < Duration::from_millis(600), "closed at once, not at the timeout: {:?}", start.elapsed());
    // The silent ones are closed when their handshake time is up.
    for tcp in &mut silent {
        let n = tokio::time::timeout(Duration::from_secs(10), tcp.read(&mut buf)).await.expect("closed");
        assert_eq!(n.unwrap_or(0), 0);
    }
    assert!(start.elapsed() >= Duration::from_millis(600), "not before the timeout: {:?}", start.elapsed());
    assert_eq!(server.handle().connections(), 0, "none became a session");
    // Room again: a client completes its handshake and binds.
    let tls = TlsOptions::default().ca_pem(cert.as_bytes()).server_name("localhost");
    let client = ClientConfig::new("127.0.0.1", addr.port(), "alice", "secret").tls(Some(tls));
    let (client, _incoming) = Client::connect(client).await.expect("binds once there is room");
    client.unbind().await;
}
