//! `smpp send`: one message (in as many parts as it needs), optionally waiting for
//! its receipts.

use std::process::ExitCode;
use std::time::Duration;

use clap::ValueEnum;
use serde_json::json;
use smpp_client::smpp_wire::text::{self, Encoding, Unrepresentable};
use smpp_client::smpp_wire::{Address, MessageState, RegisteredDelivery};
use smpp_client::{RequestError, TextOptions};
use smpp_server::SimulatorConfig;

use crate::config::{Connection, ConnectionArgs};
use crate::fail::Fail;
use crate::{connect, target};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Coding {
    Auto,
    Gsm,
    Ucs2,
    Latin1,
}

#[derive(Debug, clap::Args)]
pub(crate) struct SendArgs {
    /// The destination number (international, without +).
    #[arg(long)]
    to: String,
    /// The source address: digits for a number, else an alphanumeric sender id.
    #[arg(long, default_value = "12345")]
    from: String,
    /// Wait for the delivery receipt of each part and print it (registered_delivery 1,
    /// or the value of --registered-delivery).
    #[arg(long)]
    wait_dlr: bool,
    /// Request a receipt without waiting for it: registered_delivery N, 0 to 255 in
    /// decimal or 0x hex (1 always, 2 on failure, 3 on success, bit 0x10 an
    /// intermediate notification too). The receipt goes to a receiver such as `smpp
    /// listen`: without --wait-dlr and --bind, send binds as a transmitter so that
    /// its short bind cannot take the receipt.
    #[arg(long, value_name = "N", value_parser = parse_registered_delivery)]
    registered_delivery: Option<u8>,
    /// The text encoding.
    #[arg(long, value_enum, default_value = "auto")]
    coding: Coding,
    /// Print one JSON object per line: each part submitted ({"kind": "submitted",
    /// "part", "parts", "message_id", "coding", "to"}), then with --wait-dlr each
    /// receipt as `smpp listen --json` prints it.
    #[arg(long)]
    json: bool,
    /// The message text.
    text: String,
    #[command(
        flatten,
        next_help_heading = "Connection (each also read from its variable: SMPP_HOST, SMPP_PORT, SMPP_PASSWORD, ...)"
    )]
    pub(crate) connection: ConnectionArgs,
}

fn address(s: &str) -> Result<Address<21>, Fail> {
    let digits = s.strip_prefix('+').unwrap_or(s);
    let made = if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        Address::international(digits)
    } else {
        Address::alphanumeric(s)
    };
    made.map_err(|e| Fail::BadInput(format!("--from {s:?}: {e}")))
}

/// A registered_delivery value: 0 to 255, decimal or `0x` hex.
fn parse_registered_delivery(s: &str) -> Result<u8, String> {
    let parsed = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u8::from_str_radix(hex, 16),
        None => s.parse(),
    };
    parsed.map_err(|_| format!("{s:?} is not a registered_delivery value (0 to 255, or 0x00 to 0xFF)"))
}

/// "GSM 7-bit, 1 part", "UCS-2, 3 parts".
fn describe(encoding: Encoding, parts: usize) -> String {
    format!("{encoding}, {parts} part{}", if parts == 1 { "" } else { "s" })
}

pub(crate) async fn run(connection: Connection, args: SendArgs) -> Result<ExitCode, Fail> {
    if args.wait_dlr && args.registered_delivery.is_some_and(|rd| rd & 0x03 == 0) {
        return Err("--wait-dlr waits for a delivery receipt, and this --registered-delivery asks for none (its bits 0x03 are 0): use 1, 2 or 3 (plus 0x10 for an intermediate notification)".into());
    }
    match connection.bind {
        smpp_client::BindMode::Receiver => {
            return Err("--bind rx cannot submit messages: send needs --bind trx or tx".into());
        }
        smpp_client::BindMode::Transmitter if args.wait_dlr => {
            return Err("--wait-dlr needs a bind that can receive receipts, and --bind tx cannot: use --bind trx (the default; with --interface-version 33 it binds a transmitter and a receiver)".into());
        }
        _ => {}
    }
    let to = args.to.strip_prefix('+').unwrap_or(&args.to);
    if to.is_empty() || !to.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("--to {:?} is not a phone number (digits, optionally with a leading +)", args.to).into());
    }
    let encoding = match args.coding {
        Coding::Auto => text::choose(&args.text),
        Coding::Gsm => Encoding::Gsm7,
        Coding::Ucs2 => Encoding::Ucs2,
        Coding::Latin1 => Encoding::Latin1,
    };
    if let Err(e) = text::encode(&args.text, encoding, Unrepresentable::Error) {
        return Err(format!("the text cannot be sent as {encoding}: {e}").into());
    }
    let plan = text::plan(&args.text, Some(encoding)).map_err(|e| Fail::BadInput(e.to_string()))?;
    let source = address(&args.from)?;
    let destination = Address::international(to).map_err(|e| Fail::BadInput(format!("--to {to:?}: {e}")))?;
    let mut sim = SimulatorConfig::default();
    sim.dlr_delay = Duration::from_millis(200);
    let (mut config, _sim) = target(&connection, sim).await?;
    if args.registered_delivery.is_some() && !args.wait_dlr && connection.bind_given.is_none() {
        // The receipt is for a receiver bound elsewhere: a transceiver bind here could
        // take it (and acknowledge it) before unbinding.
        config = config.bind_mode(smpp_client::BindMode::Transmitter);
    }
    let (client, mut incoming) = connect(config).await?;
    let coding = describe(plan.encoding, plan.parts);
    if !args.json {
        eprintln!("{coding}");
    }
    let mut options = TextOptions::default();
    options.encoding = Some(encoding);
    if let Some(rd) = args.registered_delivery {
        options.registered_delivery = RegisteredDelivery(rd);
    } else if args.wait_dlr {
        options.registered_delivery = RegisteredDelivery::RECEIPT;
    }
    let print_part = |k: usize, parts: usize, id: &str| {
        if args.json {
            let line = json!({
                "kind": "submitted", "part": k + 1, "parts": parts, "message_id": id,
                "coding": plan.encoding.to_string(), "to": to,
            });
            println!("{line}");
        } else {
            println!("part {}/{}: message_id {}", k + 1, parts, id);
        }
    };
    let parts = match client.submit_text(source, destination, &args.text, options).await {
        Ok(p) => p,
        Err(e) => {
            if let RequestError::Partial { accepted, parts, .. } = &e {
                for (k, p) in accepted.iter().enumerate() {
                    print_part(k, *parts, &p.message_id.to_string());
                }
            }
            client.unbind().await;
            return Err(Fail::request("submit failed", &e));
        }
    };
    for (k, p) in parts.iter().enumerate() {
        print_part(k, parts.len(), &p.message_id.to_string());
    }
    let mut result = Ok(ExitCode::SUCCESS);
    if args.wait_dlr {
        let mut waiting = parts.len();
        let wait = tokio::time::timeout(Duration::from_secs(120), async {
            while waiting > 0 {
                let Some(inbound) = incoming.recv().await else { break };
                if let Some(r) = inbound.receipt() {
                    // An intermediate notification (registered_delivery bit 0x10) is
                    // printed, and the final receipt still awaited.
                    if r.state != Some(MessageState::ENROUTE) {
                        waiting -= 1;
                    }
                    if args.json {
                        if let Some(line) = crate::listen::to_json(&inbound) {
                            println!("{line}");
                        }
                        continue;
                    }
                    let state = r.state.and_then(MessageState::receipt_stat).unwrap_or("UNKNOWN");
                    println!(
                        "receipt: id {} stat {} err {} done {}",
                        r.id.as_deref().unwrap_or("?"),
                        state,
                        r.err.as_deref().unwrap_or("-"),
                        r.done_date.map(|d| d.to_string()).unwrap_or_default()
                    );
                }
            }
        });
        if wait.await.is_err() {
            result = Err(Fail::Timeout("no receipt within 120 s".into()));
        }
    }
    client.unbind().await;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_coding_reads_in_words() {
        assert_eq!(describe(Encoding::Gsm7, 1), "GSM 7-bit, 1 part");
        assert_eq!(describe(Encoding::Ucs2, 3), "UCS-2, 3 parts");
    }
}
