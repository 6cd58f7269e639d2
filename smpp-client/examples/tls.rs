//! Connects to an SMSC over TLS, trusting a given certificate, submits one message
//! and prints its message_id.
//!
//! Needs the `tls` feature and a crypto provider (`tls-ring` or `tls-aws-lc-rs`). To
//! try it, make a self-signed certificate for `localhost` and start the simulator on
//! TLS with it. (`CA:FALSE`: without it, `openssl req -x509` marks the certificate as
//! a CA's, and rustls refuses a CA certificate as the server's own, with
//! `CaUsedAsEndEntity`.)
//!
//! ```sh
//! openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout key.pem -out cert.pem \
//!     -days 1 -subj /CN=localhost -addext subjectAltName=DNS:localhost -addext basicConstraints=critical,CA:FALSE
//! smpp serve --listen 127.0.0.1:3550 --tls-cert cert.pem --tls-key key.pem
//! cargo run -p smpp-client --example tls --features tls-ring -- 127.0.0.1:3550 cert.pem localhost
//! ```
//!
//! Arguments: the SMSC as HOST:PORT, the PEM file of the certificate (or CA) to trust,
//! and the name the certificate must carry (default `localhost`; it is checked instead
//! of HOST, which is an IP address here). The account is smppclient1 / password
//! unless `SMPP_SYSTEM_ID` and `SMPP_PASSWORD` say otherwise.
#![allow(clippy::print_stdout)]

use std::error::Error;
use std::time::Duration;

use smpp_client::smpp_wire::{Address, ShortMessage, SubmitSm};
use smpp_client::{BindMode, Client, ClientConfig, TlsOptions};
use tokio::time::timeout;

const USAGE: &str = "usage: tls HOST:PORT CA_PEM_PATH [SERVER_NAME]";

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().ok_or(USAGE)?;
    let ca_path = args.next().ok_or(USAGE)?;
    let server_name = args.next().unwrap_or_else(|| "localhost".to_owned());

    // Trust this certificate only (not the public web roots), and check it names
    // `server_name`.
    let ca = std::fs::read(&ca_path).map_err(|e| format!("cannot read {ca_path}: {e}"))?;
    let tls = TlsOptions::default().ca_pem(ca).server_name(server_name);
    let config = config_for(&addr)?.bind_mode(BindMode::Transmitter).tls(Some(tls));

    // TCP, the TLS handshake, then the bind; each step has its own timeout (10 s by
    // default). A certificate that does not check out is a `ClientError::Tls`.
    let (client, _incoming) = Client::connect(config).await?;
    println!("bound to {addr} over TLS");

    let mut sm = SubmitSm::default();
    sm.source_addr = Address::alphanumeric("Rust")?;
    sm.destination_addr = Address::international("447700900123")?;
    sm.short_message = ShortMessage::new(&b"Hello over TLS"[..])?;
    let outcome = client.timeout(Duration::from_secs(5)).submit(sm).await;

    let _ = timeout(Duration::from_secs(3), client.unbind()).await;
    println!("submitted: message_id {}", outcome?.message_id);
    Ok(())
}

/// The client configuration for `HOST:PORT`, with the account from the environment.
fn config_for(addr: &str) -> Result<ClientConfig, Box<dyn Error>> {
    let (host, port) = addr.rsplit_once(':').ok_or("the SMSC address must be HOST:PORT")?;
    let system_id = std::env::var("SMPP_SYSTEM_ID").unwrap_or_else(|_| "smppclient1".to_owned());
    let password = std::env::var("SMPP_PASSWORD").unwrap_or_else(|_| "password".to_owned());
    Ok(ClientConfig::new(host, port.parse()?, &system_id, &password))
}
