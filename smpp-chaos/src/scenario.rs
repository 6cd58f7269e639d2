//! The accounting scenario: messages driven through a [`Pool`] with reconnection on,
//! against a [`FaultSmsc`] with random faults from a seed, then every message's fate
//! checked against what the SMSC really did.
//!
//! What must hold, whatever the faults:
//! - every submit ends in exactly one outcome;
//! - no message the SMSC accepted is reported failed (refused or never sent), and an
//!   accepted one reports the message_id the SMSC gave;
//! - no message is accepted twice (the scenario never sends one again itself, so a
//!   second acceptance could only come from the client);
//! - every receipt and MO the client acknowledged reaches the application, once per
//!   acknowledgement the SMSC saw and never more often than it was delivered, and
//!   exactly once when it was delivered once;
//! - nothing stays undelivered once the faults stop.
//!
//! Run it in a runtime with paused time (`tokio::test(start_paused = true)`, or
//! [`run_seed`]): hours of timers take milliseconds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use smpp_client::smpp_wire::{Address, RegisteredDelivery, ShortMessage, SubmitSm};
use smpp_client::{ClientConfig, Fate, InboundMessage, Pool, Reconnect, RequestError, Submitted, ThrottleRetry};

use crate::rng::Rng;
use crate::smsc::{FaultSmsc, SmscFaults};

/// How big a run is.
#[derive(Clone, Copy, Debug)]
pub struct Params {
    /// The seed of every random choice.
    pub seed: u64,
    /// submit_sm to send.
    pub messages: usize,
    /// Binds in the pool.
    pub binds: usize,
    /// MO messages (one to three parts each) the SMSC delivers.
    pub mo: usize,
    /// Tasks submitting at once.
    pub senders: usize,
}

impl Params {
    /// The size CI runs.
    pub fn ci(seed: u64) -> Self {
        Self { seed, messages: 400, binds: 2, mo: 20, senders: 16 }
    }
}

/// What a run did.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Submits accepted, with the SMSC's message_id.
    pub accepted: usize,
    /// Submits refused with a status.
    pub refused: usize,
    /// Submits never sent.
    pub never_sent: usize,
    /// Submits whose outcome is unknown.
    pub unknown: usize,
    /// Throttle answers, and retries after them.
    pub throttled: u64,
    /// Retries.
    pub retries: u64,
    /// Receipts and MO the application received.
    pub receipts: usize,
    /// Whole MO messages (reassembled or single).
    pub mo: usize,
    /// Items (receipts, MO parts) the SMSC delivered more than once.
    pub redelivered: usize,
    /// Connections the SMSC reset, and times it stopped reading.
    pub resets: u64,
    /// Times the SMSC stopped reading.
    pub stalls: u64,
}

/// What the application saw.
#[derive(Debug, Default)]
struct AppLog {
    receipts: HashMap<String, usize>,
    mo: HashMap<String, usize>,
    incomplete: HashMap<u16, usize>,
}

fn mo_text(k: usize) -> String {
    let mut t = format!("MO {k}: ");
    let len = 60 + (k * 97) % 320;
    while t.len() < len {
        t.push_str("lorem ipsum ");
    }
    t.truncate(len);
    t
}

/// Runs the scenario; `Err` says which promise broke (and the seed reproduces it).
pub async fn run(p: Params) -> Result<Report, String> {
    let mut rng = Rng::new(p.seed);
    let faults = SmscFaults::random(&mut rng);
    tracing::info!(seed = p.seed, ?faults, "chaos run");
    let smsc = FaultSmsc::new(rng.next_u64(), faults, "user", "secret");

    let reconnect = Reconnect::default()
        .initial(Duration::from_millis(100))
        .max(Duration::from_secs(2))
        .down_wait(Duration::from_secs(120));
    let retry = ThrottleRetry::default().deadline(Duration::from_secs(120));
    // A write timeout shorter than the longest stall: some stalls end the connection.
    let config = ClientConfig::new("chaos", 0, "user", "secret")
        .reconnect(Some(reconnect))
        .window(10)
        .incoming_capacity(64)
        .retry_throttled(Some(retry))
        .write_timeout(Some(Duration::from_secs(3)))
        .with_session(|s| {
            s.response_timeout(Some(Duration::from_secs(5)));
        });
    let (pool, incomings) = Pool::connect_each_via(config, smsc.connector(), p.binds)
        .await
        .map_err(|e| format!("seed {}: the pool did not bind: {e}", p.seed))?;

    let mut mo_texts = Vec::new();
    for k in 0..p.mo {
        let text = mo_text(k);
        smsc.queue_mo("user", "447700900001", "12345", &text, k as u8);
        mo_texts.push(text);
    }

    let app = Arc::new(Mutex::new(AppLog::default()));
    let mut readers = Vec::new();
    for mut incoming in incomings {
        let app = app.clone();
        readers.push(tokio::spawn(async move {
            while let Some(inbound) = incoming.recv().await {
                let mut log = app.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                if let Some(r) = inbound.receipt() {
                    *log.receipts.entry(r.id.unwrap_or_default()).or_default() += 1;
                    continue;
                }
                match &inbound.message {
                    InboundMessage::Long { .. } | InboundMessage::Deliver(_) => {
                        *log.mo.entry(inbound.text().unwrap_or_default()).or_default() += 1;
                    }
                    InboundMessage::Incomplete(e) => *log.incomplete.entry(e.reference).or_default() += 1,
                    _ => {}
                }
            }
        }));
    }

    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let outcomes = Arc::new(Mutex::new(Vec::new()));
    let mut senders = Vec::new();
    for _ in 0..p.senders.max(1) {
        let (pool, next, outcomes) = (pool.clone(), next.clone(), outcomes.clone());
        let count = p.messages;
        senders.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if n >= count {
                    break;
                }
                let mut sm = SubmitSm::default();
                sm.destination_addr = Address::international("447700900123").unwrap_or_default();
                sm.short_message = ShortMessage::new(format!("msg-{n}").into_bytes()).unwrap_or_default();
                sm.registered_delivery = RegisteredDelivery::RECEIPT;
                let r = pool.submit(sm).await;
                outcomes.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push((n, r));
            }
        }));
    }
    let hung = |what: &str| format!("seed {}: {what} did not finish in 2 h of virtual time", p.seed);
    tokio::time::timeout(Duration::from_secs(7200), async {
        for s in senders {
            let _ = s.await;
        }
    })
    .await
    .map_err(|_| hung("the submits"))?;

    // The faults stop; everything accepted must now be delivered.
    smsc.set_faults(SmscFaults::none());
    tokio::time::timeout(Duration::from_secs(3600), async {
        while smsc.undelivered() != (0, 0) {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    })
    .await
    .map_err(|_| format!("seed {}: receipts or MO stayed undelivered: {:?}", p.seed, smsc.undelivered()))?;
    // Long enough for any incomplete long message to expire and be reported.
    tokio::time::sleep(Duration::from_secs(130)).await;
    let stats: Vec<_> = pool.clients().iter().map(|c| c.stats()).collect();
    pool.unbind().await;
    drop(pool);
    for r in readers {
        let _ = tokio::time::timeout(Duration::from_secs(60), r).await;
    }

    check(p, &smsc, &outcomes, &app, &mo_texts, &stats)
}

fn check(
    p: Params,
    smsc: &FaultSmsc,
    outcomes: &Mutex<Vec<(usize, Result<Submitted, RequestError>)>>,
    app: &Mutex<AppLog>,
    mo_texts: &[String],
    stats: &[smpp_client::ClientStats],
) -> Result<Report, String> {
    let seed = p.seed;
    let ledger = smsc.ledger();
    let outcomes = outcomes.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let app = app.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut report = Report {
        resets: ledger.resets,
        stalls: ledger.stalls,
        throttled: stats.iter().map(|s| s.throttled).sum(),
        retries: stats.iter().map(|s| s.retries).sum(),
        ..Report::default()
    };

    // Every submit ends in exactly one outcome.
    let mut seen = vec![0usize; p.messages];
    for (n, _) in outcomes.iter() {
        if let Some(c) = seen.get_mut(*n) {
            *c += 1;
        }
    }
    if let Some(n) = seen.iter().position(|c| *c != 1) {
        return Err(format!("seed {seed}: msg-{n} has {} outcomes", seen.get(n).copied().unwrap_or(0)));
    }

    let mut ids_by_text: HashMap<&str, Vec<&str>> = HashMap::new();
    for (text, id) in &ledger.accepted {
        ids_by_text.entry(text.as_str()).or_default().push(id.as_str());
    }
    for (n, r) in outcomes.iter() {
        let text = format!("msg-{n}");
        let ids = ids_by_text.get(text.as_str()).cloned().unwrap_or_default();
        if ids.len() > 1 {
            return Err(format!(
                "seed {seed}: {text} was accepted {} times ({ids:?}); the client reported {r:?}",
                ids.len()
            ));
        }
        match r {
            Ok(s) => {
                report.accepted += 1;
                let id = s.message_id.to_string();
                if !ids.contains(&id.as_str()) {
                    return Err(format!("seed {seed}: {text} reported accepted as {id:?}, the SMSC gave {ids:?}"));
                }
            }
            Err(e) => {
                match e.fate() {
                    Fate::Refused => report.refused += 1,
                    Fate::NeverSent => report.never_sent += 1,
                    _ => report.unknown += 1,
                }
                if matches!(e.fate(), Fate::Refused | Fate::NeverSent) && !ids.is_empty() {
                    return Err(format!("seed {seed}: {text} was accepted as {ids:?} but reported failed: {e:?}"));
                }
            }
        }
    }

    // Receipts: one per acceptance, delivered and acknowledged in the end.
    for (_, id) in &ledger.accepted {
        let d = ledger.deliveries.get(&format!("dlr:{id}")).copied().unwrap_or_default();
        let got = app.receipts.get(id).copied().unwrap_or(0);
        if d.ok == 0 {
            return Err(format!("seed {seed}: the receipt for {id} was never acknowledged ({d:?})"));
        }
        if got < d.ok as usize || got > d.sent as usize || (d.sent == 1 && got != 1) {
            return Err(format!("seed {seed}: the receipt for {id} reached the application {got} times ({d:?})"));
        }
        report.redelivered += usize::from(d.sent > 1);
        report.receipts += got;
    }
    if let Some(id) = app.receipts.keys().find(|id| !ledger.accepted.iter().any(|(_, a)| a == *id)) {
        return Err(format!("seed {seed}: a receipt for {id}, which the SMSC never accepted"));
    }

    // MO: every part acknowledged; the message reaches the application once, or
    // more often only if a part was delivered more than once.
    for (k, text) in mo_texts.iter().enumerate() {
        let parts: Vec<_> =
            ledger.deliveries.iter().filter(|(key, _)| key.starts_with(&format!("mo:{k}:"))).map(|(_, d)| *d).collect();
        if parts.is_empty() || parts.iter().any(|d| d.ok == 0) {
            return Err(format!("seed {seed}: MO {k} was not delivered in full: {parts:?}"));
        }
        let again = parts.iter().any(|d| d.sent > 1);
        let got = app.mo.get(text.as_str()).copied().unwrap_or(0);
        let incomplete = app.incomplete.get(&(k as u16)).copied().unwrap_or(0);
        if got == 0 || (!again && (got != 1 || incomplete != 0)) {
            return Err(format!(
                "seed {seed}: MO {k} reached the application {got} times whole, {incomplete} incomplete ({parts:?})"
            ));
        }
        report.redelivered += parts.iter().filter(|d| d.sent > 1).count();
        report.mo += got;
    }
    Ok(report)
}

/// Runs one seed in a fresh runtime with paused time.
pub fn run_seed(p: Params) -> Result<Report, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .map_err(|e| format!("cannot start a runtime: {e}"))?;
    runtime.block_on(run(p))
}
