//! Spreads submits over several binds of one account with a `Pool`.
//!
//! Platforms let an account open several connections; a `Pool` binds them all and
//! sends each request on the next bind that is up and has room in its window.
//!
//! ```sh
//! smpp serve --listen 127.0.0.1:2775
//! cargo run -p smpp-client --example pool -- 127.0.0.1:2775 3
//! ```
//!
//! Arguments: the SMSC as HOST:PORT (default 127.0.0.1:2775) and how many binds to
//! open (default 3). The account is smppclient1 / password unless `SMPP_SYSTEM_ID` and
//! `SMPP_PASSWORD` say otherwise. It submits 20 messages at once, prints what became
//! of each and how the binds shared them, and fails unless all 20 were accepted.
#![allow(clippy::print_stdout)]

mod common;

use common::config_for;
use std::error::Error;
use std::time::Duration;

use futures::future::join_all;
use smpp_client::smpp_session::Direction;
use smpp_client::smpp_wire::{Address, CommandId, ShortMessage, SubmitSm};
use smpp_client::{BindMode, Pool};
use tokio::time::timeout;

const MESSAGES: usize = 20;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:2775".to_owned());
    let binds: usize = args.next().map(|n| n.parse()).transpose()?.unwrap_or(3);

    // Transmitter binds: this example only sends, so it wants no inbound messages.
    let config = config_for(&addr)?.bind_mode(BindMode::Transmitter);
    // Opens the binds one after the other, and returns once every one is bound.
    let (pool, _incoming) = timeout(Duration::from_secs(10), Pool::connect(config, binds))
        .await
        .map_err(|_| format!("{binds} binds to {addr} not up within 10 s"))??;
    println!("{} of {binds} binds up", pool.binds_up());

    let mut messages = Vec::with_capacity(MESSAGES);
    for n in 1..=MESSAGES {
        let mut sm = SubmitSm::default();
        sm.source_addr = Address::alphanumeric("Pool")?;
        sm.destination_addr = Address::international(format!("4477009{n:05}"))?;
        sm.short_message = ShortMessage::new(format!("Message {n} of {MESSAGES}").into_bytes())?;
        messages.push(sm);
    }

    // Every submit at once: each goes to the next bind with room. A request that
    // finds every window full waits for room (`try_submit` would fail at once
    // instead). Each gives up after 10 s, so the example always ends.
    let sender = pool.timeout(Duration::from_secs(10));
    let outcomes = join_all(messages.into_iter().map(|sm| sender.submit(sm))).await;

    let mut accepted = 0;
    for (n, outcome) in (1..).zip(&outcomes) {
        match outcome {
            Ok(submitted) => {
                accepted += 1;
                println!("message {n:2}: accepted, message_id {}", submitted.message_id);
            }
            // `fate` says whether the SMSC may have it: refused, never sent, or unknown.
            Err(e) => println!("message {n:2}: {e} ({:?})", e.fate()),
        }
    }

    // How the binds shared the work, from each client's own counters.
    println!("binds up: {} of {}", pool.binds_up(), pool.clients().len());
    for (k, client) in pool.clients().iter().enumerate() {
        let submits = client.stats().link.wire.pdus_of(Direction::Out, CommandId::SUBMIT_SM);
        println!("  bind {k}: {:?}, {submits} submit_sm sent", client.link_state());
    }
    let stats = pool.stats();
    println!(
        "in all: {} PDUs out, {} in, {} throttle answers, {} reconnections",
        stats.link.pdus_out(),
        stats.link.pdus_in(),
        stats.throttled,
        stats.reconnects
    );

    let _ = timeout(Duration::from_secs(5), pool.unbind()).await;
    if accepted < MESSAGES {
        return Err(format!("only {accepted} of {MESSAGES} messages accepted").into());
    }
    println!("all {MESSAGES} messages accepted");
    Ok(())
}
