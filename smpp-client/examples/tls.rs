//! Connects to an SMSC over TLS, trusting a private CA (or the SMSC's own
//! self-signed certificate), submits one message and prints its message_id.
//!
//! Built with the `tls-ring` feature (its `required-features`; with aws-lc-rs, or a
//! provider of your own installed as rustls's process default, the same code works
//! under `tls`). To try it, make a CA and a certificate for `localhost` it signs, and
//! start the simulator on TLS with them (this is what CI does):
//!
//! ```sh
//! EC="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
//! openssl req -x509 $EC -keyout ca.key -out ca.pem -days 1 -subj "/CN=smpp test CA"
//! openssl req $EC -keyout key.pem -out leaf.csr -subj /CN=localhost
//! printf 'subjectAltName=DNS:localhost\nbasicConstraints=critical,CA:FALSE\n' > leaf.ext
//! openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out cert.pem -days 1 -extfile leaf.ext
//! smpp serve --listen 127.0.0.1:3550 --tls-cert cert.pem --tls-key key.pem
//! cargo run -p smpp-client --example tls --features tls-ring -- 127.0.0.1:3550 ca.pem localhost
//! ```
//!
//! (A self-signed certificate made with `openssl req -x509` is marked as a CA's;
//! rustls refuses a CA certificate as the server's own, `CaUsedAsEndEntity`, unless
//! it says `basicConstraints=critical,CA:FALSE`.)
//!
//! Arguments: the SMSC as HOST:PORT, the PEM file of the CA (or certificate) to trust,
//! and the name the certificate must carry (default `localhost`; it is checked instead
//! of HOST, which is an IP address here). The account is smppclient1 / password
//! unless `SMPP_SYSTEM_ID` and `SMPP_PASSWORD` say otherwise.
#![allow(clippy::print_stdout)]

mod common;

use common::config_for;
use std::error::Error;
use std::time::Duration;

use smpp_client::smpp_wire::{Address, ShortMessage, SubmitSm};
use smpp_client::{BindMode, Client, TlsOptions};
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
