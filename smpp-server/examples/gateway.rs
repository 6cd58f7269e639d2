//! An SMPP gateway in one process: customers bind to the gateway, their submits go on
//! to an upstream SMSC, and the upstream's delivery receipts come back to them under
//! the gateway's own message ids.
//!
//! Three parts, each on its own port on 127.0.0.1:
//! - the built-in simulator, playing the upstream SMSC (account smppclient1 / password);
//! - the gateway in front of it, with one customer account, `shop` / `shoppass`;
//! - a customer: an `smpp_client::Client` bound to the gateway, which submits a
//!   message asking for a receipt and waits for the receipt.
//!
//! ```sh
//! cargo run -p smpp-server --example gateway
//! ```
//!
//! It checks that the receipt names the message_id the gateway answered the submit
//! with (not the upstream's), and fails if it does not, or if no receipt comes
//! within 15 s.
#![allow(clippy::print_stdout)]

use std::error::Error;
use std::net::SocketAddr;
use std::time::Duration;

use smpp_client::{Client, ClientConfig, InboundMessage, Incoming};
use smpp_server::gateway::{Gateway, GatewayConfig, Target, Upstream};
use smpp_server::smpp_wire::{Address, RegisteredDelivery, ShortMessage, SubmitSm};
use smpp_server::{ServerConfig, Simulator, SimulatorConfig};
use tokio::time::{sleep, timeout};

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    // Port 0: the system picks a free port for each server.
    let any_port = || ServerConfig::new(SocketAddr::from(([127, 0, 0, 1], 0)));

    // 1. The upstream SMSC: the simulator, with its default account smppclient1 /
    //    password, sending receipts 100 ms after each submit.
    let mut sim_config = SimulatorConfig::default();
    sim_config.dlr_delay = Duration::from_millis(100);
    let upstream_smsc = Simulator::start(any_port(), sim_config).await?;
    println!("upstream SMSC (simulator) on {}", upstream_smsc.local_addr());

    // 2. The gateway. It binds to the upstream with the account in the URL, under the
    //    name its routes use; every submit goes there (the fallback route).
    let url = format!("smpp://smppclient1:password@{}?name=upstream", upstream_smsc.local_addr());
    let upstream: Upstream = url.parse()?;
    let mut gw_config = GatewayConfig::default();
    gw_config.accounts.insert("shop".to_owned(), "shoppass".to_owned());
    gw_config.fallback = vec![Target::new(&upstream.name, 1)];
    gw_config.upstreams = vec![upstream];
    let gateway = Gateway::start(any_port(), gw_config).await?;
    println!("gateway on {}", gateway.local_addr());

    // The gateway binds to its upstream in the background. A submit would wait in its
    // store until then; waiting here makes the output easier to follow.
    timeout(Duration::from_secs(5), async {
        while !gateway.upstream_up("upstream") {
            sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .map_err(|_| "the gateway did not bind to its upstream within 5 s")?;
    println!("gateway bound to its upstream");

    // 3. The customer: our client, bound to the gateway.
    let port = gateway.local_addr().port();
    let (client, mut incoming) = Client::connect(ClientConfig::new("127.0.0.1", port, "shop", "shoppass")).await?;
    let mut sm = SubmitSm::default();
    sm.source_addr = Address::alphanumeric("Shop")?;
    sm.destination_addr = Address::international("447700900123")?;
    sm.registered_delivery = RegisteredDelivery::RECEIPT;
    sm.short_message = ShortMessage::new(&b"Your order has shipped"[..])?;
    // Store and forward (the default policy): the gateway answers as soon as the
    // message is in its store, with an id of its own, then forwards it upstream.
    let submitted = client.timeout(Duration::from_secs(5)).submit(sm).await?;
    let ours = submitted.message_id.to_string();
    println!("customer: submitted, the gateway's message_id is {ours}");

    // The upstream's receipt names the upstream's id; the gateway matches it to the
    // message and rewrites it to carry its own id before passing it on.
    let outcome = timeout(Duration::from_secs(15), next_receipt(&mut incoming)).await;

    // Shut everything down, customer first, whatever the outcome.
    let _ = timeout(Duration::from_secs(3), client.unbind()).await;
    gateway.shutdown(Duration::from_secs(1)).await;
    upstream_smsc.shutdown(Duration::from_secs(1)).await;

    let (id, state) = outcome.map_err(|_| "no receipt within 15 s")??;
    println!("customer: receipt for message_id {id}, state {state}");
    let stats = gateway.stats();
    println!(
        "gateway: {} accepted, {} forwarded, {} receipts matched; submits at the upstream: {}",
        stats.accepted,
        stats.forwarded,
        stats.receipts_matched,
        upstream_smsc.submits()
    );
    if id != ours {
        return Err(format!("the receipt names {id}, not the submit's {ours}").into());
    }
    println!("the receipt carries the id the gateway answered the submit with");
    Ok(())
}

/// The next delivery receipt's message id and final state, parsed from its text
/// (and TLVs) by the receipt helper.
async fn next_receipt(incoming: &mut Incoming) -> Result<(String, String), Box<dyn Error>> {
    while let Some(inbound) = incoming.recv().await {
        if !matches!(inbound.message, InboundMessage::Receipt(_)) {
            continue;
        }
        let receipt = inbound.receipt().ok_or("a receipt that does not parse")?;
        let id = receipt.id.ok_or("a receipt without a message id")?;
        let state = receipt.stat.unwrap_or_else(|| "?".to_owned());
        return Ok((id, state));
    }
    Err("the connection closed before the receipt came".into())
}
