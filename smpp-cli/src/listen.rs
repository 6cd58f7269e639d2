//! `smpp listen`: bind as receiver (or transceiver) and print what arrives, as text
//! for a person or as one JSON object per line for a script.

use std::process::ExitCode;
use std::time::Duration;

use serde_json::{Value, json};
use smpp_client::smpp_wire::text::{Decoded, Receipt};
use smpp_client::smpp_wire::{DataCoding, EsmClass, MessageState};
use smpp_client::{Inbound, InboundMessage};
use smpp_server::SimulatorConfig;

use crate::config::{Connection, ConnectionArgs};
use crate::fail::Fail;
use crate::{connect, target};

#[derive(Debug, clap::Args)]
pub(crate) struct ListenArgs {
    /// Stop after N messages.
    #[arg(long)]
    count: Option<u64>,
    /// Print one JSON object per line per message, receipts parsed. Every object has
    /// `kind` (deliver_sm, data_sm, receipt, long, incomplete or alert), `from`, `to`,
    /// `text` (decoded, or null), `data_coding` and `esm_class`; a receipt also has
    /// `receipt`: {id, stat, state, err, submit_date, done_date, sub, dlvrd, text}, null
    /// where absent; an incomplete long message also has `parts_received` and
    /// `parts_total` (its `text` is the parts that came).
    #[arg(long)]
    json: bool,
    #[command(
        flatten,
        next_help_heading = "Connection (each also read from its variable: SMPP_HOST, SMPP_PORT, SMPP_PASSWORD, ...)"
    )]
    pub(crate) connection: ConnectionArgs,
}

pub(crate) async fn run(connection: Connection, args: ListenArgs) -> Result<ExitCode, Fail> {
    let mut sim = SimulatorConfig::default();
    sim.mo_every = Some(Duration::from_secs(1));
    let (mut config, _sim) = target(&connection, sim).await?;
    if connection.bind_given.is_none() {
        config = config.bind_mode(smpp_client::BindMode::Receiver);
    }
    let (client, mut incoming) = connect(config).await?;
    eprintln!("bound; waiting for messages (Ctrl-C to stop)");
    let mut seen = 0u64;
    loop {
        tokio::select! {
            inbound = incoming.recv() => {
                let Some(inbound) = inbound else { break };
                if args.json {
                    match to_json(&inbound) {
                        Some(line) => println!("{line}"),
                        None => eprintln!("(not printed as JSON: {:?})", inbound.message),
                    }
                } else {
                    print_human(&inbound);
                }
                seen += 1;
                if args.count.is_some_and(|c| seen >= c) {
                    break;
                }
            }
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    client.unbind().await;
    Ok(ExitCode::SUCCESS)
}

fn print_human(inbound: &Inbound) {
    match &inbound.message {
        InboundMessage::Receipt(_) => {
            if let Some(r) = inbound.receipt() {
                println!(
                    "receipt id={} stat={} err={}",
                    r.id.as_deref().unwrap_or("?"),
                    r.state.and_then(MessageState::receipt_stat).unwrap_or("UNKNOWN"),
                    r.err.as_deref().unwrap_or("-")
                );
            }
        }
        InboundMessage::Deliver(d) => {
            println!("message from {}: {}", d.source_addr.addr, inbound.text().unwrap_or_else(|| "(binary)".into()))
        }
        InboundMessage::Long { first, .. } => {
            println!("message from {} (long): {}", first.source_addr.addr, inbound.text().unwrap_or_default())
        }
        InboundMessage::Data(d) => {
            println!("data_sm from {}: {}", d.source_addr.addr, inbound.text().unwrap_or_default())
        }
        InboundMessage::Incomplete(e) => {
            println!("incomplete long message: {} of {} parts", e.received, e.total)
        }
        other => println!("{other:?}"),
    }
}

/// The JSON line for one message; `None` for a kind this version does not know.
pub(crate) fn to_json(inbound: &Inbound) -> Option<Value> {
    let address = |a: &[u8]| Value::String(String::from_utf8_lossy(a).into_owned());
    let (kind, from, to, coding, esm): (&str, &[u8], &[u8], Option<DataCoding>, Option<EsmClass>) = match &inbound
        .message
    {
        InboundMessage::Deliver(d) | InboundMessage::Part { deliver: d, .. } => (
            "deliver_sm",
            d.source_addr.addr.as_bytes(),
            d.destination_addr.addr.as_bytes(),
            Some(d.data_coding),
            Some(d.esm_class),
        ),
        InboundMessage::Receipt(d) => (
            "receipt",
            d.source_addr.addr.as_bytes(),
            d.destination_addr.addr.as_bytes(),
            Some(d.data_coding),
            Some(d.esm_class),
        ),
        InboundMessage::Data(d) => (
            "data_sm",
            d.source_addr.addr.as_bytes(),
            d.destination_addr.addr.as_bytes(),
            Some(d.data_coding),
            Some(d.esm_class),
        ),
        InboundMessage::Long { first, .. } => (
            "long",
            first.source_addr.addr.as_bytes(),
            first.destination_addr.addr.as_bytes(),
            Some(first.data_coding),
            Some(first.esm_class),
        ),
        InboundMessage::Incomplete(e) => {
            ("incomplete", &e.source, &e.destination, Some(e.data_coding), Some(e.first.esm_class))
        }
        InboundMessage::Alert(a) => ("alert", a.source_addr.addr.as_bytes(), a.esme_addr.addr.as_bytes(), None, None),
        _ => return None,
    };
    let text = match &inbound.message {
        InboundMessage::Incomplete(e) => incomplete_text(e.texts()),
        _ => inbound.text(),
    };
    let mut line = json!({
        "kind": kind,
        "from": address(from),
        "to": address(to),
        "text": text,
        "data_coding": coding.map(|c| c.0),
        "esm_class": esm.map(|e| e.0),
    });
    if let (Value::Object(map), InboundMessage::Receipt(_)) = (&mut line, &inbound.message) {
        map.insert("receipt".into(), receipt_json(inbound.receipt().unwrap_or_default()));
    }
    if let (Value::Object(map), InboundMessage::Incomplete(e)) = (&mut line, &inbound.message) {
        map.insert("parts_received".into(), e.received.into());
        map.insert("parts_total".into(), e.total.into());
    }
    Some(line)
}

/// The text of the parts that arrived, in order, if each of them decodes.
fn incomplete_text(parts: Vec<(u8, Decoded)>) -> Option<String> {
    parts
        .into_iter()
        .map(|(_, d)| match d {
            Decoded::Text(t) => Some(t),
            _ => None,
        })
        .collect()
}

/// A parsed receipt; an unparsable one has every field null.
fn receipt_json(r: Receipt) -> Value {
    let stat = r.state.and_then(MessageState::receipt_stat).map(str::to_owned).or(r.stat);
    json!({
        "id": r.id,
        "stat": stat,
        "state": r.state.and_then(MessageState::name),
        "err": r.err,
        "submit_date": r.submit_date.map(|d| d.to_string()),
        "done_date": r.done_date.map(|d| d.to_string()),
        "sub": r.sub,
        "dlvrd": r.dlvrd,
        "text": r.text,
    })
}
