//! `smpp serve`: the SMSC simulator, with its store, metrics and a summary log.

use std::collections::{BTreeMap, HashMap};
use std::process::ExitCode;
use std::time::Duration;

use smpp_client::smpp_wire::{CommandId, CommandStatus, MessageState};
use smpp_server::{ServerConfig, Simulator, SimulatorConfig, SimulatorHandle};
use smpp_session::Direction;

use crate::config::{Connection, ConnectionArgs};
use crate::fail::Fail;

#[derive(Debug, clap::Args)]
pub(crate) struct ServeArgs {
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1:2775")]
    pub(crate) listen: String,
    /// An account as ID:PASSWORD (repeatable; default smppclient1:password).
    #[arg(long = "account")]
    accounts: Vec<String>,
    /// Delay before a delivery receipt, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    dlr_delay_ms: u64,
    /// Final state in receipts: DELIVRD, UNDELIV, EXPIRED, REJECTD, ...
    #[arg(long, default_value = "DELIVRD")]
    dlr_stat: String,
    /// Answer ESME_RTHROTTLED above N submits a second per account.
    #[arg(long)]
    throttle: Option<u32>,
    /// Send an MO message to every bound receiver every N seconds.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    mo_every: Option<u64>,
    /// Final states drawn at random with these weights, e.g. DELIVRD:90,UNDELIV:7,EXPIRED:3
    /// (overrides --dlr-stat).
    #[arg(long)]
    dlr_mix: Option<String>,
    /// Wait this many milliseconds before answering each submit.
    #[arg(long, default_value_t = 0)]
    resp_delay_ms: u64,
    /// Answer submits to these destinations with a fixed status: DEST=STATUS,...
    /// (STATUS as a name, ESME_RINVDSTADR, or a number, 0x0B or 11). Destinations
    /// 999 followed by a decimal status (99911, 99988, ...) always get that status.
    #[arg(long)]
    error_map: Option<String>,
    /// Let v3.3 clients break v3.3 rules (bind_transceiver, data_sm, TLVs), which the
    /// simulator refuses by default, as the platform does.
    #[arg(long)]
    lenient: bool,
    /// Listen for TLS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, requires = "tls_key")]
    pub(crate) tls_cert: Option<std::path::PathBuf>,
    /// The private key (PEM) for --tls-cert.
    #[arg(long, requires = "tls_cert")]
    pub(crate) tls_key: Option<std::path::PathBuf>,
    /// Where accepted messages, receipts and MO are kept: `memory` (forgotten at
    /// exit), a file PATH (SQLite: what was answered ESME_ROK survives a crash), or
    /// `redis://HOST:PORT[/DB]` (Redis 7, shared by every node of a cluster).
    #[arg(long, default_value = "memory")]
    store: String,
    /// Receipts and MO one account may have waiting in the store; past it, submits
    /// asking for a receipt are answered ESME_RMSGQFUL.
    #[arg(long, default_value_t = 10_000)]
    pub(crate) max_waiting: usize,
    /// How long a node may hold deliveries it claimed before another node takes
    /// them over (it is taken to have died), in milliseconds.
    #[arg(long, default_value_t = 30_000)]
    pub(crate) claim_timeout_ms: u64,
    /// How long a bind counts against its account's bind limit across a cluster
    /// (a Redis store) unless its node renews it, in milliseconds: a dead node's
    /// binds stop counting after it.
    #[arg(long, default_value_t = 15_000)]
    bind_lease_ms: u64,
    /// The key prefix in Redis (nodes with the same prefix make one SMSC).
    #[arg(long, default_value = "smpp")]
    store_prefix: String,
    /// Worker threads [default: one per core but one; SMPP_THREADS overrides it].
    #[arg(long)]
    pub(crate) threads: Option<usize>,
    /// Serve metrics as Prometheus text at http://ADDR/metrics (e.g.
    /// 127.0.0.1:9898): PDUs, responses by status, latency, sessions, store depth.
    #[arg(long, value_name = "ADDR")]
    pub(crate) metrics: Option<std::net::SocketAddr>,
    /// Log a summary line (sessions, submits/s, receipts/s, errors by status) every
    /// N seconds while anything happens; 0: never.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub(crate) summary_secs: u64,
    /// A TOML file with `[[account]]` tables (system_id, password, and optional
    /// window, receive_window, throttle, max_binds), and optionally system_type and
    /// busy_poll_us [env: SMPP_CONFIG].
    #[arg(long)]
    config: Option<std::path::PathBuf>,
    /// The system_type binds must carry [default: any] [env: SMPP_SYSTEM_TYPE].
    #[arg(long)]
    system_type: Option<String>,
    /// Busy-poll each connection for this many microseconds after activity (0 or
    /// unset: off) [env: SMPP_BUSY_POLL_US].
    #[arg(long)]
    busy_poll_us: Option<u64>,
    /// Run as a gateway to this upstream SMSC instead of the simulator (repeatable):
    /// smpp://USER:PASS@HOST:PORT?OPTIONS (smpps:// for TLS), options name, bind
    /// (trx, tx, rx), window, binds, rate, version (34, 33), system_type.
    #[arg(long = "upstream", value_name = "URL")]
    pub(crate) upstreams: Vec<String>,
    /// A gateway route, tried in the order given: ACCOUNT@PREFIX=NAME*WEIGHT,...
    /// with ACCOUNT@, PREFIX and *WEIGHT optional (e.g. 44=uk, bank@44=vip*3,uk,
    /// =world for every submit) [default: every upstream, by equal weight].
    #[arg(long = "route", value_name = "RULE")]
    pub(crate) routes: Vec<String>,
    /// Gateway MO routing: PREFIX=ACCOUNT (repeatable; the longest prefix of the
    /// MO's destination wins) [default with one account: all MO to it].
    #[arg(long = "mo-route", value_name = "RULE")]
    pub(crate) mo_routes: Vec<String>,
    /// When the gateway answers a submit: store-and-forward (once stored, with the
    /// gateway's id) or pass-through (when the upstream answers, with its status).
    #[arg(long, value_name = "POLICY")]
    pub(crate) policy: Option<String>,
}

impl ServeArgs {
    /// The connection settings serve uses: its own flags, else those given before
    /// the subcommand, else their variables (`SMPP_CONFIG`, `SMPP_SYSTEM_TYPE`,
    /// `SMPP_BUSY_POLL_US`).
    pub(crate) fn connection(&mut self, before: ConnectionArgs) -> ConnectionArgs {
        ConnectionArgs::for_serve(self.config.take(), self.system_type.take(), self.busy_poll_us.take()).or(before)
    }
}

pub(crate) async fn run(args: ServeArgs, connection: Connection) -> Result<ExitCode, Fail> {
    if !args.upstreams.is_empty() || !connection.gateway.upstream.is_empty() {
        return crate::gateway::run(args, connection).await;
    }
    let mut sim = SimulatorConfig::default();
    (sim.accounts, sim.limits) = accounts(&args, &connection, sim.accounts)?;
    sim.dlr_delay = Duration::from_millis(args.dlr_delay_ms);
    sim.dlr_state = MessageState::from_receipt_stat(args.dlr_stat.as_bytes()).ok_or(format!(
        "--dlr-stat {:?}: expected DELIVRD, UNDELIV, EXPIRED, DELETED, ACCEPTD, UNKNOWN or REJECTD",
        args.dlr_stat
    ))?;
    if let Some(mix) = &args.dlr_mix {
        sim.dlr_mix = SimulatorConfig::parse_dlr_mix(mix).map_err(|e| format!("--dlr-mix: {e}"))?;
    }
    if let Some(map) = &args.error_map {
        sim.errors = parse_error_map(map)?;
    }
    sim.resp_delay = Duration::from_millis(args.resp_delay_ms);
    sim.lenient = args.lenient;
    sim.system_type = connection.system_type_given.clone();
    sim.throttle = args.throttle;
    sim.mo_every = args.mo_every.map(Duration::from_secs);
    sim.waiting_per_account = args.max_waiting;
    sim.bind_lease = Duration::from_millis(args.bind_lease_ms);
    sim.store = open_store(&args).await?;
    sim.store_depth_metric = args.metrics.is_some();
    serve_metrics(&args)?;
    let (server, acceptor) = listener(&args, &connection)?;
    let listen = server.listen;
    let handle = match acceptor {
        Some(acceptor) => Simulator::start_tls(server, sim, acceptor).await,
        None => Simulator::start(server, sim).await,
    }
    .map_err(|e| Fail::Other(format!("cannot listen on {listen}: {e}")))?;
    let scheme = if args.tls_cert.is_some() { " (TLS)" } else { "" };
    println!("SMSC simulator{scheme} listening on {}", handle.local_addr());
    if args.summary_secs > 0 {
        tokio::spawn(summaries(handle.clone(), Duration::from_secs(args.summary_secs)));
    }
    until_interrupted(|grace| async move { handle.shutdown(grace).await }).await
}

/// Serves until Ctrl-C, then shuts down with 5 s of grace.
pub(crate) async fn until_interrupted<F: Future<Output = usize>>(
    shutdown: impl FnOnce(Duration) -> F,
) -> Result<ExitCode, Fail> {
    tokio::signal::ctrl_c().await?;
    eprintln!("shutting down");
    shutdown(Duration::from_secs(5)).await;
    Ok(ExitCode::SUCCESS)
}

/// system_id to password.
pub(crate) type Passwords = HashMap<String, String>;

/// The accounts of `--account` and the file, with their limits (`default` when
/// neither gives one).
pub(crate) fn accounts(
    args: &ServeArgs,
    connection: &Connection,
    default: HashMap<String, String>,
) -> Result<(Passwords, HashMap<String, smpp_server::Limits>), Fail> {
    let mut accounts = HashMap::new();
    let mut limits = HashMap::new();
    for a in &args.accounts {
        let (id, pw) = a.split_once(':').ok_or(format!("--account {a:?}: expected ID:PASSWORD"))?;
        accounts.insert(id.to_owned(), pw.to_owned());
    }
    for a in &connection.accounts {
        accounts.insert(a.system_id.clone(), a.password.0.clone());
        let mut l = smpp_server::Limits::default();
        l.window = a.window;
        l.receive_window = a.receive_window;
        l.throttle = a.throttle;
        l.max_binds = a.max_binds;
        limits.insert(a.system_id.clone(), l);
    }
    if accounts.is_empty() {
        accounts = default;
    }
    Ok((accounts, limits))
}

/// Where `serve` listens (`--listen`, with busy polling), and the TLS acceptor of
/// `--tls-cert` and `--tls-key`, if given.
pub(crate) fn listener(
    args: &ServeArgs,
    connection: &Connection,
) -> Result<(ServerConfig, Option<smpp_tokio::tls::tokio_rustls::TlsAcceptor>), Fail> {
    let listen: std::net::SocketAddr = args.listen.parse().map_err(|e| format!("--listen {:?}: {e}", args.listen))?;
    let mut server = ServerConfig::new(listen);
    server.driver.busy_poll = connection.busy_poll;
    let acceptor = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => {
            let read = |p: &std::path::Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
            Some(smpp_tokio::tls::acceptor(&read(cert)?, &read(key)?).map_err(|e| format!("TLS: {e}"))?)
        }
        _ => None,
    };
    Ok((server, acceptor))
}

/// Installs the Prometheus exporter of `--metrics`.
pub(crate) fn serve_metrics(args: &ServeArgs) -> Result<(), Fail> {
    if let Some(addr) = args.metrics {
        metrics_exporter_prometheus::PrometheusBuilder::new()
            .with_http_listener(addr)
            .install()
            .map_err(|e| Fail::Other(format!("--metrics {addr}: {e}")))?;
        eprintln!("metrics at http://{addr}/metrics");
    }
    Ok(())
}

/// The store `--store` names (`None`: the simulator's memory store).
pub(crate) async fn open_store(
    args: &ServeArgs,
) -> Result<Option<std::sync::Arc<dyn smpp_server::store::Store>>, Fail> {
    use smpp_server::store::{Store, StoreLimits};
    let mut limits = StoreLimits::default();
    limits.max_waiting_per_account = args.max_waiting;
    limits.claim_timeout_ms = args.claim_timeout_ms;
    let store: std::sync::Arc<dyn Store> = match args.store.as_str() {
        "memory" => return Ok(None),
        url if url.starts_with("rediss://") => {
            return Err(
                "--store rediss://: Redis over TLS is not built in; use redis:// (on a private network or a tunnel)"
                    .into(),
            );
        }
        url if url.starts_with("redis://") => {
            let options = smpp_server::store::RedisOptions::default().prefix(&args.store_prefix);
            let store = smpp_server::store::RedisStore::connect(url, limits, options)
                .await
                .map_err(|e| Fail::Connect(format!("--store: {e}")))?;
            std::sync::Arc::new(store)
        }
        path => {
            let store =
                smpp_server::store::SqliteStore::open(path, limits).map_err(|e| format!("--store {path}: {e}"))?;
            std::sync::Arc::new(store)
        }
    };
    Ok(Some(store))
}

/// `DEST=STATUS,...`, a status as its name or number.
fn parse_error_map(text: &str) -> Result<HashMap<String, CommandStatus>, Fail> {
    let mut map = HashMap::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (dest, status) = item.split_once('=').ok_or(format!("--error-map {item:?}: expected DEST=STATUS"))?;
        let status = status.trim();
        let parsed = if let Some(hex) = status.strip_prefix("0x").or_else(|| status.strip_prefix("0X")) {
            u32::from_str_radix(hex, 16).ok().map(CommandStatus)
        } else if status.bytes().all(|b| b.is_ascii_digit()) {
            status.parse().ok().map(CommandStatus)
        } else {
            (0..0x500).map(CommandStatus).find(|s| s.name().is_some_and(|n| n.eq_ignore_ascii_case(status)))
        };
        let status = parsed.ok_or(format!("--error-map {item:?}: {status:?} is not a command_status"))?;
        map.insert(dest.trim().trim_start_matches('+').to_owned(), status);
    }
    Ok(map)
}

/// Logs a summary line every `every` while anything happens: sessions, submits and
/// receipts a second, and the error statuses answered since the last line.
async fn summaries(handle: SimulatorHandle, every: Duration) {
    let mut last = handle.server.stats();
    let (mut last_receipts, mut last_mo) = (handle.receipts_delivered(), handle.mo_delivered());
    let mut last_sessions = usize::MAX;
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut since = tokio::time::Instant::now();
    loop {
        tick.tick().await;
        let secs = since.elapsed().as_secs_f64().max(1e-3);
        since = tokio::time::Instant::now();
        let now = handle.server.stats();
        let delta = now.wire.since(&last.wire);
        let (receipts, mo) = (handle.receipts_delivered(), handle.mo_delivered());
        let sessions = handle.server.connections();
        let quiet = delta.total(Direction::In) == 0 && delta.total(Direction::Out) == 0;
        if !(quiet && sessions == last_sessions) {
            let submits = [CommandId::SUBMIT_SM, CommandId::DATA_SM, CommandId::SUBMIT_MULTI]
                .into_iter()
                .map(|c| delta.pdus_of(Direction::In, c))
                .sum::<u64>();
            let errors: BTreeMap<String, u64> = delta
                .responses(Direction::Out)
                .filter(|(s, _)| *s != Some(CommandStatus::ESME_ROK))
                .map(|(s, n)| (s.map_or_else(|| "other".to_owned(), crate::status_text), n))
                .collect();
            let errors = if errors.is_empty() {
                "none".to_owned()
            } else {
                errors.iter().map(|(s, n)| format!("{s} {n}")).collect::<Vec<_>>().join(", ")
            };
            tracing::info!(
                "sessions {sessions} (bound {}), submits {:.0}/s, receipts {:.0}/s, MO {:.0}/s, errors: {errors}",
                now.bound,
                submits as f64 / secs,
                receipts.saturating_sub(last_receipts) as f64 / secs,
                mo.saturating_sub(last_mo) as f64 / secs,
            );
        }
        (last, last_receipts, last_mo, last_sessions) = (now, receipts, mo, sessions);
    }
}
