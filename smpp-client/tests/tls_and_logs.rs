//! TLS over loopback with a private CA, and the logs: no password, ever.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::TestSmsc;
use smpp_client::smpp_wire::{Address, CommandStatus, SubmitSm};
use smpp_client::{Client, ClientConfig, ClientError, TlsOptions};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A TLS SMSC on loopback with a fresh self-signed certificate for `localhost`.
async fn tls_smsc() -> (u16, String) {
    let key = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert_pem = key.cert.pem();
    let der = CertificateDer::from(key.cert.der().to_vec());
    let pkey = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.key_pair.serialize_der()));
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![der], pkey)
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(tls) = acceptor.accept(tcp).await {
                    let smsc = TestSmsc::spawn(tls, None);
                    // Keep the SMSC's handles alive while the connection lasts.
                    smsc.commands.closed().await;
                }
            });
        }
    });
    (port, cert_pem)
}

#[tokio::test]
async fn binds_and_submits_over_tls_with_a_custom_ca() {
    let (port, ca) = tls_smsc().await;
    let tls = TlsOptions::default().ca_pem(ca).server_name("localhost");
    let config = ClientConfig::new("127.0.0.1", port, "user", "secret").tls(Some(tls));
    let (client, _incoming) = Client::connect(config).await.expect("TLS bind");
    let mut sm = SubmitSm::default();
    sm.destination_addr = Address::international("447700900123").unwrap();
    assert_eq!(client.submit(sm).await.unwrap().message_id.as_bytes(), b"1");
    client.unbind().await;
}

#[tokio::test]
async fn an_untrusted_certificate_is_a_tls_error() {
    let (port, _ca) = tls_smsc().await;
    let tls = TlsOptions::default().server_name("localhost");
    let config = ClientConfig::new("127.0.0.1", port, "user", "secret").tls(Some(tls));
    let err = Client::connect(config).await.unwrap_err();
    assert!(matches!(err, ClientError::Tls { .. }), "{err:?}");
}

/// Collects everything written by the tracing subscriber.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Collects this thread's log lines at `level` and above while the guard lives.
fn capture_logs(level: tracing::Level) -> (Capture, tracing::subscriber::DefaultGuard) {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt().with_max_level(level).with_writer(move || writer.clone()).finish();
    (capture, tracing::subscriber::set_default(subscriber))
}

#[tokio::test(start_paused = true)]
async fn the_password_never_appears_in_logs() {
    let (capture, _guard) = capture_logs(tracing::Level::TRACE);
    let (a, b) = tokio::io::duplex(1 << 16);
    let _smsc = TestSmsc::spawn(b, None);
    let (client, _incoming) = Client::connect_with(ClientConfig::new("test", 0, "user", "secret"), a).await.unwrap();
    client.unbind().await;
    let (a, b) = tokio::io::duplex(1 << 16);
    let _smsc = TestSmsc::spawn(b, None);
    let _ = Client::connect_with(ClientConfig::new("test", 0, "user", "s3cr3tpw"), a).await;
    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("bound"), "logging is on: {logs}");
    assert!(!logs.contains("secret") && !logs.contains("s3cr3tpw"), "{logs}");
}

#[tokio::test(start_paused = true)]
async fn a_dropped_incoming_is_warned_about_once_and_messages_stay_with_the_smsc() {
    let (capture, _guard) = capture_logs(tracing::Level::WARN);
    let (a, b) = tokio::io::duplex(1 << 16);
    let smsc = TestSmsc::spawn(b, None);
    let (_client, incoming) = Client::connect_with(ClientConfig::new("test", 0, "user", "secret"), a).await.unwrap();
    drop(incoming);
    for _ in 0..3 {
        let status = smsc.deliver(common::mo("nobody listens")).await;
        assert_eq!(status, CommandStatus::ESME_RX_T_APPN);
    }
    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert_eq!(logs.matches("Incoming stream was dropped").count(), 1, "{logs}");
}
