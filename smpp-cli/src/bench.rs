//! `smpp bench`: a load generator against any SMSC, or the built-in simulator.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;
use smpp_client::smpp_pdu::{Address, ShortMessage, SubmitSm};
use smpp_client::{Client, Pool, RequestError};
use smpp_server::SimulatorConfig;

use crate::config::Connection;

#[derive(Debug, clap::Args)]
pub(crate) struct BenchArgs {
    /// How many submit_sm to send.
    #[arg(long, default_value_t = 100_000)]
    count: u64,
    /// Requests in flight per bind.
    #[arg(long, default_value_t = 100)]
    window: usize,
    /// How many binds.
    #[arg(long, default_value_t = 1)]
    binds: usize,
    /// Limit the total rate (submits per second).
    #[arg(long)]
    rate: Option<f64>,
    /// Print the result as one JSON object.
    #[arg(long)]
    json: bool,
}

impl BenchArgs {
    /// How many binds it makes.
    pub(crate) fn binds(&self) -> usize {
        self.binds.max(1)
    }
}

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn status_name(r: &Result<smpp_client::Submitted, RequestError>) -> String {
    match r {
        Ok(_) => "ESME_ROK".into(),
        Err(RequestError::Throttled) => "ESME_RTHROTTLED".into(),
        Err(RequestError::QueueFull) => "ESME_RMSGQFUL".into(),
        Err(RequestError::Status(s)) => s.name().map_or_else(|| format!("{:#x}", s.0), str::to_owned),
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

pub(crate) async fn run(connection: Connection, args: BenchArgs) -> Res<ExitCode> {
    let (config, _sim) = crate::target(&connection, SimulatorConfig::default()).await?;
    let config = config
        .window(args.window.max(1))
        .bind_mode(smpp_client::BindMode::Transmitter)
        .rate_limit(args.rate.map(|rate| rate / args.binds.max(1) as f64));
    let mut clients = Vec::new();
    for _ in 0..args.binds.max(1) {
        let (c, _incoming) = Client::connect(config.clone()).await.map_err(|e| crate::explain(&e))?;
        clients.push(c);
    }
    let pool = Pool::from_clients(clients);
    let mut template = SubmitSm::default();
    template.source_addr = Address::international("12345")?;
    template.destination_addr = Address::international("447700900123")?;
    template.short_message = ShortMessage::new(&b"smpp bench message"[..])?;

    let progress = if args.json { ProgressBar::hidden() } else { ProgressBar::new(args.count) };
    progress.set_draw_target(if args.json { ProgressDrawTarget::hidden() } else { ProgressDrawTarget::stderr() });
    progress.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let issued = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let workers = args.window.max(1) * args.binds.max(1);
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let (pool, issued, template, progress, count) =
            (pool.clone(), issued.clone(), template.clone(), progress.clone(), args.count);
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut statuses: BTreeMap<String, u64> = BTreeMap::new();
            let mut fates = Fates::default();
            while issued.fetch_add(1, Ordering::Relaxed) < count {
                let t = Instant::now();
                let r = pool.submit(template.clone()).await;
                latencies.push(t.elapsed());
                *statuses.entry(status_name(&r)).or_default() += 1;
                fates.add(&r);
                progress.inc(1);
            }
            (latencies, statuses, fates)
        }));
    }
    let mut latencies = Vec::new();
    let mut statuses: BTreeMap<String, u64> = BTreeMap::new();
    let mut fates = Fates::default();
    for t in tasks {
        let (l, s, f) = t.await?;
        latencies.extend(l);
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
    let (retries, throttled) =
        pool.clients().iter().map(|c| c.stats()).fold((0, 0), |(r, t), s| (r + s.retries, t + s.throttled));
    pool.unbind().await;
    latencies.sort_unstable();
    let pct = |p: f64| -> f64 {
        let k = ((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1));
        latencies.get(k).copied().unwrap_or(Duration::ZERO).as_secs_f64() * 1e6
    };
    let rate = latencies.len() as f64 / secs.max(1e-9);
    if args.json {
        let out = json!({
            "count": latencies.len(), "secs": secs, "msgs_per_sec": rate,
            "latency_us": { "p50": pct(0.5), "p90": pct(0.9), "p99": pct(0.99), "p999": pct(0.999) },
            "statuses": statuses, "window": args.window, "binds": args.binds,
            "accepted": fates.accepted, "refused": fates.refused,
            "never_sent": fates.never_sent, "outcome_unknown": fates.outcome_unknown,
            "retries": retries, "throttled": throttled,
            "busy_poll_us": config.driver_config().busy_poll.map_or(0, |d| d.as_micros()),
        });
        println!("{out}");
    } else {
        println!("{:<14} {:>12}", "messages", latencies.len());
        println!("{:<14} {:>12.0}", "msg/s", rate);
        for (name, p) in [("p50 us", 0.5), ("p90 us", 0.9), ("p99 us", 0.99), ("p999 us", 0.999)] {
            println!("{name:<14} {:>12.1}", pct(p));
        }
        for (status, n) in &statuses {
            println!("{status:<14} {n:>12}");
        }
        println!("{:<14} {:>12}", "never sent", fates.never_sent);
        println!("{:<14} {:>12}", "unknown", fates.outcome_unknown);
        println!("{:<14} {:>12}", "retries", retries);
    }
    let failed = statuses.iter().any(|(k, _)| k != "ESME_ROK");
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}
