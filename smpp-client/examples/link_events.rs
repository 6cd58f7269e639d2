//! Reconnection and link events: the client binds again by itself after the link is
//! lost, and tells the application each change of the link as it happens.
//!
//! ```sh
//! smpp serve --listen 127.0.0.1:2775
//! cargo run -p smpp-client --example link_events -- 127.0.0.1:2775 --secs 20
//! ```
//!
//! To see a reconnection, stop `smpp serve` (Ctrl-C) while the example runs, and
//! start it again a few seconds later: the link goes down, the client tries again
//! with back-off, binds again, and the submits made in between fail with a typed
//! error that says they were never sent.
//!
//! Arguments: the SMSC as HOST:PORT (default 127.0.0.1:2775), `--secs N`, how long
//! to run (default 10), and `--expect-reconnect`, to fail unless the link came back
//! after a loss and the last submit was accepted (CI restarts the SMSC under it). The
//! account is smppclient1 / password unless `SMPP_SYSTEM_ID` and `SMPP_PASSWORD` say
//! otherwise. It submits one message a second, then unbinds; it fails if it could not
//! bind within 10 s, or if no submit was accepted.
#![allow(clippy::print_stdout)]

mod common;

use common::config_for;
use std::error::Error;
use std::time::{Duration, Instant};

use smpp_client::smpp_wire::{Address, ShortMessage, SubmitSm};
use smpp_client::{BindMode, Client, LinkState, Reconnect, RequestError};
use tokio::time::{MissedTickBehavior, timeout};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    let start = Instant::now();
    let mut addr = "127.0.0.1:2775".to_owned();
    let mut secs: u64 = 10;
    let mut expect_reconnect = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--secs" => secs = args.next().ok_or("--secs takes a number of seconds")?.parse()?,
            "--expect-reconnect" => expect_reconnect = true,
            _ => addr = arg,
        }
    }

    let reconnect = Reconnect::default()
        // The first attempt again after 0.5 s, then doubling (with jitter) up to 2 s.
        .initial(Duration::from_millis(500))
        .max(Duration::from_secs(2))
        // A request made while the link is down waits this long for it to come back,
        // then fails with RequestError::NotConnected.
        .down_wait(Duration::from_secs(2));
    // A transmitter: this example only sends.
    let config = config_for(&addr)?.bind_mode(BindMode::Transmitter).reconnect(Some(reconnect));

    // With reconnection on, `connect` itself keeps trying until it binds (a wrong
    // password aside): bound it.
    let (client, _incoming) = timeout(Duration::from_secs(10), Client::connect(config))
        .await
        .map_err(|_| format!("could not bind to {addr} within 10 s"))??;

    // Subscribe to the link's changes. `connect` returned once bound, so the state
    // before the first event is Up.
    let mut events = client.link_events();
    println!("[{}] link: {}", stamp(start), describe(&client.link_state()));
    let printer = tokio::spawn(async move {
        let mut binds = 1;
        while let Some(state) = events.recv().await {
            println!("[{}] link: {}", stamp(start), describe(&state));
            match state {
                LinkState::Up { .. } => binds += 1,
                LinkState::Closed => break,
                _ => {}
            }
        }
        binds
    });

    // One submit a second. While the link is down, a submit waits (at most the
    // `down_wait` above) for it, then fails; each request also has a deadline of its
    // own, so none can hold the example up.
    let sender = client.timeout(Duration::from_secs(3));
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut n = 0u32;
    let (mut accepted, mut last_accepted) = (0u32, false);
    while start.elapsed() < Duration::from_secs(secs) {
        tick.tick().await;
        n += 1;
        let outcome = sender.submit(message(n)?).await;
        let at = stamp(start);
        last_accepted = outcome.is_ok();
        match outcome {
            Ok(submitted) => {
                accepted += 1;
                println!("[{at}] submit {n}: accepted, message_id {}", submitted.message_id);
            }
            // The link stayed down: the message never left, sending it again is safe.
            Err(RequestError::NotConnected(waited)) => {
                println!("[{at}] submit {n}: not sent, no link for {waited:?} (safe to send again)");
            }
            // It went out and the link dropped before the answer: the SMSC may have it.
            Err(RequestError::ConnectionLost(reason)) => {
                println!("[{at}] submit {n}: link lost before the answer ({reason}): outcome unknown");
            }
            Err(e) => println!("[{at}] submit {n}: {e} ({:?})", e.fate()),
        }
    }

    // Unbind; the last event is Closed, which ends the printer.
    let _ = timeout(Duration::from_secs(3), client.unbind()).await;
    // The printer's count of binds (should it not end in time: the one `connect` made).
    let binds = match timeout(Duration::from_secs(1), printer).await {
        Ok(Ok(binds)) => binds,
        _ => 1,
    };
    println!("bound {binds} time(s) in {:.1} s, {accepted} of {n} submits accepted", start.elapsed().as_secs_f64());
    if accepted == 0 {
        return Err("no submit was accepted".into());
    }
    if expect_reconnect && (binds < 2 || !last_accepted) {
        return Err(format!(
            "expected the link back after a loss: bound {binds} time(s), last submit accepted: {last_accepted}"
        )
        .into());
    }
    Ok(())
}

/// A link state as a line of text.
fn describe(state: &LinkState) -> String {
    match state {
        LinkState::Connecting => "connecting".to_owned(),
        LinkState::Up { mode, version } => format!("up ({mode:?}, {version:?})"),
        LinkState::Down(reason) => format!("down: {reason}"),
        LinkState::Reconnecting { attempt, after } => {
            format!("attempt {attempt} over, reconnecting in {:.1} s", after.as_secs_f64())
        }
        LinkState::Refused(status) => format!("bind refused for good: {status}"),
        LinkState::Closed => "closed".to_owned(),
        other => format!("{other:?}"),
    }
}

/// The time since `start`, for the log lines.
fn stamp(start: Instant) -> String {
    format!("{:6.2}s", start.elapsed().as_secs_f64())
}

/// The `n`th message.
fn message(n: u32) -> Result<SubmitSm, Box<dyn Error>> {
    let mut sm = SubmitSm::default();
    sm.source_addr = Address::alphanumeric("Links")?;
    sm.destination_addr = Address::international("447700900123")?;
    sm.short_message = ShortMessage::new(format!("Message {n}").into_bytes())?;
    Ok(sm)
}
