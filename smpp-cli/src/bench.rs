//! `smpp bench`: a load generator against any SMSC, or the built-in simulator.

use std::collections::{BTreeMap, HashMap};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;
use smpp_client::smpp_wire::{Address, RegisteredDelivery, ShortMessage, SubmitSm};
use smpp_client::{Pool, RequestError};
use smpp_server::SimulatorConfig;

use crate::config::{Connection, ConnectionArgs};
use crate::fail::Fail;

#[derive(Debug, clap::Args)]
pub(crate) struct BenchArgs {
    /// How many submit_sm to send [default: 100000, or no limit with --duration].
    #[arg(long)]
    count: Option<u64>,
    /// Send for this long (seconds, or with a unit: 500ms, 10s, 2m); with --count,
    /// whichever comes first.
    #[arg(long, value_parser = parse_duration)]
    duration: Option<Duration>,
    /// Requests in flight per bind.
    #[arg(long, default_value_t = 100)]
    window: usize,
    /// How many binds.
    #[arg(long, default_value_t = 1)]
    binds: usize,
    /// Worker threads [default: one per bind, at most one per core; SMPP_THREADS
    /// overrides both].
    #[arg(long)]
    threads: Option<usize>,
    /// Limit the total rate (submits per second).
    #[arg(long)]
    rate: Option<f64>,
    /// Request a receipt for every submit (the binds are transceivers) and report
    /// the receipt latency: from each submit to its receipt.
    #[arg(long)]
    dlr: bool,
    /// With --dlr: how long to wait for the last receipts after the last submit, in
    /// seconds.
    #[arg(long, default_value_t = 30)]
    dlr_wait_secs: u64,
    /// Octets of text in each submit_sm (1 to 254; 160, a full SMS, by default).
    #[arg(long, default_value_t = 160, value_parser = clap::value_parser!(u8).range(1..=254))]
    length: u8,
    /// Print the result as one JSON object.
    #[arg(long)]
    json: bool,
    #[command(
        flatten,
        next_help_heading = "Connection (each also read from its variable: SMPP_HOST, SMPP_PORT, SMPP_PASSWORD, ...)"
    )]
    pub(crate) connection: ConnectionArgs,
}

impl BenchArgs {
    /// How many binds it makes.
    pub(crate) fn binds(&self) -> usize {
        self.binds.max(1)
    }

    /// The worker threads asked for.
    pub(crate) fn threads(&self) -> Option<usize> {
        self.threads.filter(|t| *t > 0)
    }
}

/// `10`, `10s`, `500ms`, `2m`.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let (number, unit) = match s.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(k) => s.split_at(k),
        None => (s, "s"),
    };
    let n: f64 = number.parse().map_err(|_| format!("{s:?}: expected a number of seconds, or 500ms, 10s, 2m"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        _ => return Err(format!("{s:?}: the unit is ms, s or m")),
    };
    Duration::try_from_secs_f64(secs).map_err(|e| format!("{s:?}: {e}"))
}

fn status_name(r: &Result<smpp_client::Submitted, RequestError>) -> String {
    match r {
        Ok(_) => "ESME_ROK".into(), // counted apart, as fates.accepted
        Err(RequestError::Throttled) => "ESME_RTHROTTLED".into(),
        Err(RequestError::QueueFull) => "ESME_RMSGQFUL".into(),
        Err(RequestError::Status(s)) => crate::status_text(*s),
        Err(RequestError::Timeout) => "timeout".into(),
        Err(RequestError::ConnectionLost(_)) => "connection lost".into(),
        Err(RequestError::NotSent(_) | RequestError::NotConnected(_)) => "not sent".into(),
        Err(other) => other.to_string(),
    }
}

/// What became of the submits: counts by fate.
#[derive(Debug, Default)]
struct Fates {
    accepted: u64,
    refused: u64,
    never_sent: u64,
    outcome_unknown: u64,
}

impl Fates {
    fn add(&mut self, r: &Result<smpp_client::Submitted, RequestError>) {
        match r.as_ref().map_err(RequestError::fate) {
            Ok(_) => self.accepted += 1,
            Err(smpp_client::Fate::Refused) => self.refused += 1,
            Err(smpp_client::Fate::NeverSent) => self.never_sent += 1,
            Err(_) => self.outcome_unknown += 1,
        }
    }
}

/// Durations in log-linear buckets (32 a power of two: within 3 %), in bounded
/// memory however long the bench runs.
#[derive(Clone, Debug)]
struct Histogram {
    buckets: Vec<u64>,
    count: u64,
}

/// Values below this are counted exactly.
const EXACT: u64 = 64;

impl Default for Histogram {
    fn default() -> Self {
        Self { buckets: vec![0; Self::index(u64::MAX) + 1], count: 0 }
    }
}

impl Histogram {
    fn index(ns: u64) -> usize {
        if ns < EXACT {
            return ns as usize;
        }
        let e = u64::from(63 - ns.leading_zeros());
        let mantissa = ns >> (e - 5);
        (EXACT + (e - 6) * 32 + (mantissa - 32)) as usize
    }

    /// The middle of bucket `k`, in nanoseconds.
    fn value(k: usize) -> u64 {
        let k = k as u64;
        if k < EXACT {
            return k;
        }
        let e = (k - EXACT) / 32 + 6;
        let mantissa = (k - EXACT) % 32 + 32;
        (mantissa << (e - 5)) + (1 << (e - 5)) / 2
    }

    fn record(&mut self, d: Duration) {
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        if let Some(b) = self.buckets.get_mut(Self::index(ns)) {
            *b += 1;
            self.count += 1;
        }
    }

    /// The value at fraction `p` (0 to 1), in `unit`s of a second.
    fn percentile(&self, p: f64, unit: f64) -> f64 {
        let rank = ((self.count as f64 * p).ceil() as u64).clamp(1, self.count.max(1));
        let mut seen = 0;
        for (k, n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return Self::value(k) as f64 / 1e9 * unit;
            }
        }
        0.0
    }
}

/// Submits and receipts tracked at once at most (`--dlr`); past it, receipts are
/// counted as untracked.
const MAX_TRACKED: usize = 1_000_000;

/// Receipts of the submits, matched by message_id (`--dlr`).
#[derive(Debug, Default)]
struct Receipts {
    /// Accepted submits awaiting their receipt: when each was submitted.
    awaited: HashMap<String, Instant>,
    /// Receipts that came before their submit's response was seen.
    early: HashMap<String, Instant>,
    latencies: Histogram,
    /// Submits or receipts not tracked, past [`MAX_TRACKED`].
    untracked: u64,
}

impl Receipts {
    fn lock(this: &Mutex<Self>) -> std::sync::MutexGuard<'_, Self> {
        this.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// An accepted submit, made at `at`.
    fn submitted(&mut self, id: String, at: Instant) {
        match self.early.remove(&id) {
            Some(came) => self.latencies.record(came.saturating_duration_since(at)),
            None if self.awaited.len() < MAX_TRACKED => {
                self.awaited.insert(id, at);
            }
            None => self.untracked += 1,
        }
    }

    /// A receipt for `id`, come now.
    fn receipt(&mut self, id: String, came: Instant) {
        match self.awaited.remove(&id) {
            Some(at) => self.latencies.record(came.saturating_duration_since(at)),
            None if self.early.len() < MAX_TRACKED => {
                self.early.insert(id, came);
            }
            None => self.untracked += 1,
        }
    }
}

pub(crate) async fn run(connection: Connection, args: BenchArgs) -> Result<ExitCode, Fail> {
    let (config, _sim) = crate::target(&connection, SimulatorConfig::default()).await?;
    let mode = if args.dlr { smpp_client::BindMode::Transceiver } else { smpp_client::BindMode::Transmitter };
    let config = config
        .window(args.window.max(1))
        .bind_mode(mode)
        .rate_limit(args.rate.map(|rate| rate / args.binds.max(1) as f64));
    let receipts = Arc::new(Mutex::new(Receipts::default()));
    let got_receipt = Arc::new(tokio::sync::Notify::new());
    let mut clients = Vec::new();
    let mut readers = Vec::new();
    for _ in 0..args.binds.max(1) {
        let (c, mut incoming) = crate::connect(config.clone()).await?;
        clients.push(c);
        if args.dlr {
            let (receipts, got) = (receipts.clone(), got_receipt.clone());
            readers.push(tokio::spawn(async move {
                while let Some(inbound) = incoming.recv().await {
                    if let Some(id) = inbound.receipt().and_then(|r| r.id) {
                        Receipts::lock(&receipts).receipt(id, Instant::now());
                        got.notify_one();
                    }
                }
            }));
        }
    }
    let pool = Pool::from_clients(clients);
    let mut template = SubmitSm::default();
    template.source_addr = Address::international("12345").map_err(|e| Fail::Other(e.to_string()))?;
    template.destination_addr = Address::international("447700900123").map_err(|e| Fail::Other(e.to_string()))?;
    let text: Vec<u8> = b"smpp bench message ".iter().copied().cycle().take(usize::from(args.length)).collect();
    template.short_message = ShortMessage::new(text).map_err(|e| Fail::Other(e.to_string()))?;
    if args.dlr {
        template.registered_delivery = RegisteredDelivery::RECEIPT;
    }
    let count = match (args.count, args.duration) {
        (Some(n), _) => n,
        (None, Some(_)) => u64::MAX,
        (None, None) => 100_000,
    };
    let progress = match (args.json, args.count.is_none() && args.duration.is_some()) {
        (true, _) => ProgressBar::hidden(),
        (false, true) => ProgressBar::new_spinner(),
        (false, false) => ProgressBar::new(count),
    };
    progress.set_draw_target(if args.json { ProgressDrawTarget::hidden() } else { ProgressDrawTarget::stderr() });
    progress.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let issued = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let until = args.duration.map(|d| started + d);
    let shared_latencies = Arc::new(Mutex::new(Histogram::default()));
    let workers = args.window.max(1) * args.binds.max(1);
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let (pool, issued, template, progress, receipts, shared_latencies) = (
            pool.clone(),
            issued.clone(),
            template.clone(),
            progress.clone(),
            receipts.clone(),
            shared_latencies.clone(),
        );
        let dlr = args.dlr;
        tasks.push(tokio::spawn(async move {
            // Kept lean: this loop is what the bench measures besides the stack.
            // Round trips go to the shared histogram 256 at a time.
            let mut latencies = Vec::with_capacity(256);
            let flush = |latencies: &mut Vec<Duration>| {
                let mut h = shared_latencies.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                latencies.drain(..).for_each(|d| h.record(d));
            };
            let mut statuses: BTreeMap<String, u64> = BTreeMap::new();
            let mut fates = Fates::default();
            let mut unshown = 0;
            while issued.fetch_add(1, Ordering::Relaxed) < count {
                let t = Instant::now();
                if until.is_some_and(|u| t >= u) {
                    break;
                }
                let r = pool.submit(template.clone()).await;
                let now = Instant::now();
                latencies.push(now.saturating_duration_since(t));
                if latencies.len() == latencies.capacity() {
                    flush(&mut latencies);
                }
                match &r {
                    Ok(s) if dlr => Receipts::lock(&receipts).submitted(s.message_id.to_string(), t),
                    Ok(_) => {}
                    Err(_) => *statuses.entry(status_name(&r)).or_default() += 1,
                }
                fates.add(&r);
                unshown += 1;
                if unshown == 64 {
                    progress.inc(unshown);
                    unshown = 0;
                }
            }
            progress.inc(unshown);
            flush(&mut latencies);
            if fates.accepted > 0 {
                statuses.insert("ESME_ROK".to_owned(), fates.accepted);
            }
            (statuses, fates)
        }));
    }
    let mut statuses: BTreeMap<String, u64> = BTreeMap::new();
    let mut fates = Fates::default();
    for t in tasks {
        let (s, f) = t.await?;
        for (k, v) in s {
            *statuses.entry(k).or_default() += v;
        }
        fates.accepted += f.accepted;
        fates.refused += f.refused;
        fates.never_sent += f.never_sent;
        fates.outcome_unknown += f.outcome_unknown;
    }
    let secs = started.elapsed().as_secs_f64();
    progress.finish_and_clear();
    if args.dlr {
        // The last receipts, for at most --dlr-wait-secs.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(args.dlr_wait_secs);
        while !Receipts::lock(&receipts).awaited.is_empty() {
            if tokio::time::timeout_at(deadline, got_receipt.notified()).await.is_err() {
                break;
            }
        }
    }
    let stats = pool.stats();
    pool.unbind().await;
    for r in readers {
        r.abort();
    }
    let latencies = std::mem::take(&mut *shared_latencies.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
    let pct = |p: f64| latencies.percentile(p, 1e6);
    let rate = latencies.count as f64 / secs.max(1e-9);
    let dlr = args.dlr.then(|| {
        let r = Receipts::lock(&receipts);
        let ms = |p: f64| r.latencies.percentile(p, 1e3);
        json!({
            "receipts": r.latencies.count, "missing": r.awaited.len(), "unmatched": r.early.len(),
            "untracked": r.untracked,
            "latency_ms": { "p50": ms(0.5), "p90": ms(0.9), "p99": ms(0.99), "max": ms(1.0) },
        })
    });
    if args.json {
        let mut out = json!({
            "count": latencies.count, "secs": secs, "msgs_per_sec": rate,
            "latency_us": { "p50": pct(0.5), "p90": pct(0.9), "p99": pct(0.99), "p999": pct(0.999) },
            "statuses": statuses, "window": args.window, "binds": args.binds,
            "accepted": fates.accepted, "refused": fates.refused,
            "never_sent": fates.never_sent, "outcome_unknown": fates.outcome_unknown,
            "retries": stats.retries, "throttled": stats.throttled,
            "busy_poll_us": config.driver_config().busy_poll.map_or(0, |d| d.as_micros()),
        });
        if let (Some(map), Some(dlr)) = (out.as_object_mut(), &dlr) {
            map.insert("dlr".into(), dlr.clone());
        }
        println!("{out}");
    } else {
        println!("{:<14} {:>12}", "messages", latencies.count);
        println!("{:<14} {:>12.0}", "msg/s", rate);
        for (name, p) in [("p50 us", 0.5), ("p90 us", 0.9), ("p99 us", 0.99), ("p999 us", 0.999)] {
            println!("{name:<14} {:>12.1}", pct(p));
        }
        for (status, n) in &statuses {
            println!("{status:<14} {n:>12}");
        }
        println!("{:<14} {:>12}", "never sent", fates.never_sent);
        println!("{:<14} {:>12}", "unknown", fates.outcome_unknown);
        println!("{:<14} {:>12}", "retries", stats.retries);
        if let Some(d) = &dlr {
            println!("{:<14} {:>12}", "receipts", d["receipts"]);
            println!("{:<14} {:>12}", "missing", d["missing"]);
            for p in ["p50", "p90", "p99", "max"] {
                println!("{:<14} {:>12.1}", format!("dlr {p} ms"), d["latency_ms"][p].as_f64().unwrap_or(0.0));
            }
        }
    }
    let timed_out = statuses.contains_key("timeout") || dlr.as_ref().is_some_and(|d| d["missing"] != 0);
    let refused = statuses.keys().any(|k| k != "ESME_ROK");
    Ok(match (timed_out, refused) {
        (true, _) => Fail::Timeout(String::new()).code(),
        (false, true) => Fail::Refused(String::new()).code(),
        _ => ExitCode::SUCCESS,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_histogram_keeps_values_within_3_percent_in_bounded_memory() {
        let mut h = Histogram::default();
        assert!(h.buckets.len() < 2_000);
        for us in 1..=1000u64 {
            h.record(Duration::from_micros(us));
        }
        h.record(Duration::from_secs(100));
        let p50 = h.percentile(0.5, 1e6);
        assert!((485.0..=515.0).contains(&p50), "{p50}");
        let max = h.percentile(1.0, 1.0);
        assert!((97.0..=103.0).contains(&max), "past 4.29 s too: {max}");
        assert_eq!(h.percentile(0.0001, 1e9), 1_000.0, "the smallest, 1 us, to its bucket");
        for k in [0usize, 63, 64, 100, 1000] {
            assert_eq!(Histogram::index(Histogram::value(k)), k, "bucket {k} holds its middle");
        }
    }
}
