//! Sends one message and waits for its delivery receipt.
//!
//! ```sh
//! cargo run -p smpp-client --example send_one                                  # against a tiny in-process SMSC
//! cargo run -p smpp-client --example send_one -- HOST PORT USER PASSWORD NUMBER
//! ```
#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

use smpp_client::smpp_wire::{
    Address, Body, CommandStatus, DeliverSm, EsmClass, RegisteredDelivery, ShortMessage, SubmitSm, SubmitSmResp,
};
use smpp_client::{Client, ClientConfig, Event, InboundMessage, Request, Session, SessionConfig};
use smpp_tokio::{Handler, drive, now};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (config, to) = match &args[..] {
        [host, port, user, password, to, ..] => (ClientConfig::new(host, port.parse()?, user, password), to.clone()),
        _ => {
            let port = tiny_smsc().await?;
            (ClientConfig::new("127.0.0.1", port, "user", "secret"), "447700900123".to_owned())
        }
    };
    let (client, mut incoming) = Client::connect(config).await?;
    let mut sm = SubmitSm::default();
    sm.source_addr = Address::alphanumeric("Rust")?;
    sm.destination_addr = Address::international(&to)?;
    sm.registered_delivery = RegisteredDelivery::RECEIPT;
    sm.short_message = ShortMessage::new(&b"Hello from Rust"[..])?;
    let submitted = client.submit(sm).await?;
    println!("submitted: message_id {}", submitted.message_id);
    let wait = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(inbound) = incoming.recv().await {
            if let InboundMessage::Receipt(d) = &inbound.message {
                return Some(String::from_utf8_lossy(d.short_message.as_bytes()).into_owned());
            }
        }
        None
    });
    let receipt = wait.await;
    client.unbind().await;
    match receipt {
        Ok(Some(text)) => println!("receipt: {text}"),
        Ok(None) => return Err("the connection closed before the receipt came".into()),
        Err(_) => return Err("no receipt within 30 s".into()),
    }
    Ok(())
}

/// A minimal SMSC on the same driver: accepts any bind, answers the submit, and
/// sends a receipt for it.
async fn tiny_smsc() -> std::io::Result<u16> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    tokio::spawn(async move {
        let Ok((stream, _)) = listener.accept().await else { return };
        let (_tx, mut rx) = tokio::sync::mpsc::channel::<()>(1);
        let session = Session::smsc(now(), SessionConfig::default());
        let _ = drive(stream, session, &mut Tiny, &mut rx).await;
    });
    Ok(port)
}

struct Tiny;

impl Handler for Tiny {
    type Command = ();
    type Token = ();

    fn on_command(&mut self, _: Instant, _: &mut Session, (): ()) {}

    fn on_event(&mut self, now: Instant, session: &mut Session, event: Event) {
        match event {
            Event::BindRequest { seq, .. } => {
                let _ = session.accept_bind(now, seq, "tiny");
            }
            Event::Request { seq, request: Request::SubmitSm(sm), .. } => {
                let mut resp = SubmitSmResp::default();
                resp.message_id = "0000000001".parse().unwrap_or_default();
                let _ = session.respond(now, seq, CommandStatus::ESME_ROK, Body::SubmitSmResp(Some(resp)));
                let mut receipt = DeliverSm::default();
                receipt.source_addr = sm.destination_addr;
                receipt.destination_addr = Address::international("12345").unwrap_or_default();
                receipt.esm_class = EsmClass(0x04);
                let text = "id:0000000001 sub:001 dlvrd:001 submit date:2611261200 done date:2611261200 stat:DELIVRD err:000 text:Hello from Rust";
                receipt.short_message = ShortMessage::new(text.as_bytes().to_vec()).unwrap_or_default();
                let _ = session.send(now, Request::DeliverSm(receipt));
            }
            _ => {}
        }
    }

    fn on_commands_closed(&mut self, _: Instant, _: &mut Session) {}
}
