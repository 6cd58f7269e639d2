//! Receives mobile-originated messages (MO) and acknowledges each one itself.
//!
//! By default the client answers every deliver_sm `ESME_ROK` as soon as it arrives.
//! With `ClientConfig::auto_ack(false)` the application answers, once it has done what
//! it must with the message (stored it, queued it...): should it stop before, the SMSC
//! never got its `ESME_ROK` and delivers the message again. Nothing is lost.
//!
//! ```sh
//! smpp serve --listen 127.0.0.1:2775 --mo-every 1      # an SMSC that sends an MO every second
//! cargo run -p smpp-client --example mo_manual_ack -- 127.0.0.1:2775 3
//! ```
//!
//! Arguments: the SMSC as HOST:PORT (default 127.0.0.1:2775) and how many messages to
//! take (default 2). The account is smppclient1 / password unless `SMPP_SYSTEM_ID` and
//! `SMPP_PASSWORD` say otherwise. It fails if they do not all come within 25 s.
#![allow(clippy::print_stdout)]

mod common;

use common::config_for;
use std::error::Error;
use std::time::Duration;

use smpp_client::smpp_wire::CommandStatus;
use smpp_client::{BindMode, Client, InboundMessage, Incoming};
use tokio::time::{Instant, timeout, timeout_at};

/// How long the whole run may take before it gives up.
const PATIENCE: Duration = Duration::from_secs(25);

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    let deadline = Instant::now() + PATIENCE;
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:2775".to_owned());
    let wanted: usize = args.next().map(|n| n.parse()).transpose()?.unwrap_or(2);

    // A receiver bind (a transceiver would do too), answering inbound messages itself.
    let config = config_for(&addr)?.bind_mode(BindMode::Receiver).auto_ack(false);
    let (client, mut incoming) = Client::connect(config).await?;
    println!("bound to {addr} as a receiver; waiting for {wanted} messages");

    let result = receive(&mut incoming, wanted, deadline).await;
    // Unbind whatever happened (bounded, like every wait here). Messages still queued
    // and never answered are answered ESME_RX_T_APPN: the SMSC delivers them again.
    let _ = timeout(Duration::from_secs(3), client.unbind()).await;
    result
}

/// Takes `wanted` messages, answering each once it is processed.
async fn receive(incoming: &mut Incoming, wanted: usize, deadline: Instant) -> Result<(), Box<dyn Error>> {
    let mut taken = 0;
    while taken < wanted {
        let inbound = match timeout_at(deadline, incoming.recv()).await {
            Ok(Some(inbound)) => inbound,
            Ok(None) => return Err("the connection closed".into()),
            Err(_) => return Err(format!("only {taken} of {wanted} messages came within {PATIENCE:?}").into()),
        };
        let from = match &inbound.message {
            InboundMessage::Deliver(d) | InboundMessage::Long { first: d, .. } => d.source_addr.addr.to_string(),
            InboundMessage::Data(d) => d.source_addr.addr.to_string(),
            // A part of a long message: answer it like any message; once every part is
            // answered ESME_ROK, the whole message follows as `Long`. Receipts are not
            // what this example is about: acknowledge them and go on.
            _ => {
                inbound.respond(CommandStatus::ESME_ROK)?;
                continue;
            }
        };
        // The text, decoded by its data_coding (GSM 7-bit, Latin-1, UCS-2...).
        let text = inbound.text().unwrap_or_else(|| "(binary data)".to_owned());

        // "Process" the message: this is where it would be stored or handed on.
        println!("MO {} from {from}: {text:?}", taken + 1);

        // Then answer it. ESME_ROK: taken, the SMSC forgets it. To refuse it for now,
        // answer a temporary error instead, `inbound.respond(CommandStatus::ESME_RX_T_APPN)`:
        // the SMSC keeps the message and delivers it again later (`smpp serve` after
        // 1 s). ESME_RX_P_APPN refuses it for good. An `Inbound` dropped unanswered is
        // answered ESME_RX_T_APPN.
        inbound.respond(CommandStatus::ESME_ROK)?;
        taken += 1;
    }
    println!("{taken} messages received and acknowledged");
    Ok(())
}
