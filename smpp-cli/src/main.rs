//! The `smpp` command: send messages, run the SMSC simulator, listen for messages,
//! load-test an SMSC, and decode PDUs.
//!
//! Connection settings come from flags, then environment variables (`SMPP_HOST`,
//! `SMPP_PASSWORD`, ...), then an optional TOML file (`--config`, or `SMPP_CONFIG`).
//! Without `--host`, `send`, `listen` and `bench` start the built-in simulator in the
//! same process, so they work on a fresh machine with no SMSC.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod bench;
mod config;
mod decode;
mod listen;

use std::collections::HashMap;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use smpp_client::smpp_pdu::text::{self, Encoding, Unrepresentable};
use smpp_client::smpp_pdu::{Address, CommandStatus, MessageState, RegisteredDelivery};
use smpp_client::{Client, ClientConfig, ClientError, TextOptions};
use smpp_server::{ServerConfig, Simulator, SimulatorConfig};

use crate::config::Connection;

#[derive(Debug, Parser)]
#[command(name = "smpp", version, about = "Send and receive SMS over SMPP, run an SMSC simulator, decode PDUs")]
struct Cli {
    #[command(flatten)]
    connection: config::ConnectionArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Send a message (to the built-in simulator when no --host is given).
    Send(SendArgs),
    /// Run the SMSC simulator until Ctrl-C.
    Serve(Box<ServeArgs>),
    /// Bind as receiver (or transceiver) and print incoming messages and receipts.
    Listen(listen::ListenArgs),
    /// Load-test an SMSC (the built-in simulator when no --host is given).
    Bench(bench::BenchArgs),
    /// Decode PDUs from hex (an argument, or stdin): one PDU or a stream.
    Decode(decode::DecodeArgs),
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Coding {
    Auto,
    Gsm,
    Ucs2,
    Latin1,
}

#[derive(Debug, clap::Args)]
struct SendArgs {
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
    /// The message text.
    text: String,
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1:2775")]
    listen: String,
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
    #[arg(long)]
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
    /// simulator refuses by default, as the platform does. (The system_type binds
    /// must carry is the global --system-type, or SMPP_SYSTEM_TYPE, or the config
    /// file's, when one is given; none: any.)
    #[arg(long)]
    lenient: bool,
    /// Listen for TLS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<std::path::PathBuf>,
    /// The private key (PEM) for --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<std::path::PathBuf>,
    /// Where accepted messages, receipts and MO are kept: `memory` (forgotten at
    /// exit), a file PATH (SQLite: what was answered ESME_ROK survives a crash), or
    /// `redis://HOST:PORT[/DB]` (Redis 7, shared by every node of a cluster).
    #[arg(long, default_value = "memory")]
    store: String,
    /// Receipts and MO one account may have waiting in the store; past it, submits
    /// asking for a receipt are answered ESME_RMSGQFUL.
    #[arg(long, default_value_t = 10_000)]
    max_waiting: usize,
    /// How long a node may hold deliveries it claimed before another node takes
    /// them over (it is taken to have died), in milliseconds.
    #[arg(long, default_value_t = 30_000)]
    claim_timeout_ms: u64,
    /// How long a bind counts against its account's bind limit across a cluster
    /// (a Redis store) unless its node renews it, in milliseconds: a dead node's
    /// binds stop counting after it.
    #[arg(long, default_value_t = 15_000)]
    bind_lease_ms: u64,
    /// The key prefix in Redis (nodes with the same prefix make one SMSC).
    #[arg(long, default_value = "smpp")]
    store_prefix: String,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("SMPP_LOG").unwrap_or_else(|_| {
        // `serve` logs binds (info) and messages (the simulator's debug events).
        tracing_subscriber::EnvFilter::new(if matches!(cli.command, Command::Serve(_)) {
            "info,smpp_server=debug"
        } else {
            "warn"
        })
    });
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    let runtime = match runtime(&cli.command) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// The runtime: `SMPP_THREADS` worker threads; by default one per core, except
/// for `bench`, which drives its binds from one thread per bind (at most one per
/// core). One thread runs everything on the main thread, which spares cross-thread
/// wake-ups (a single bind gains most from that).
fn runtime(command: &Command) -> std::io::Result<tokio::runtime::Runtime> {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let threads = std::env::var("SMPP_THREADS").ok().and_then(|t| t.parse::<usize>().ok()).or(match command {
        Command::Bench(args) => Some(args.binds().clamp(1, cores)),
        _ => None,
    });
    match threads {
        Some(1) => tokio::runtime::Builder::new_current_thread().enable_all().build(),
        Some(n) => tokio::runtime::Builder::new_multi_thread().worker_threads(n.max(1)).enable_all().build(),
        None => tokio::runtime::Builder::new_multi_thread().enable_all().build(),
    }
}

async fn run(cli: Cli) -> Res<ExitCode> {
    let Cli { connection, command } = cli;
    match command {
        Command::Decode(args) => decode::run(args),
        Command::Serve(args) => serve(*args, connection.resolve()?).await,
        command => {
            let connection = connection.resolve()?;
            match command {
                Command::Send(args) => send(connection, args).await,
                Command::Listen(args) => listen::run(connection, args).await,
                Command::Bench(args) => bench::run(connection, args).await,
                _ => Ok(ExitCode::SUCCESS),
            }
        }
    }
}

/// The SMSC to use: the configured one, or a simulator started here.
pub(crate) async fn target(
    connection: &Connection,
    sim: SimulatorConfig,
) -> Res<(ClientConfig, Option<smpp_server::SimulatorHandle>)> {
    if let Some(host) = &connection.host {
        return Ok((connection.client_config(host, connection.port), None));
    }
    if connection.tls {
        return Err("--tls needs --host: the built-in simulator of send, listen and bench speaks plain TCP (run `smpp serve --tls-cert FILE --tls-key FILE` for a TLS one)".into());
    }
    let mut sim = sim;
    sim.accounts = HashMap::from([(connection.system_id.clone(), connection.password.0.clone())]);
    let mut server = ServerConfig::new("127.0.0.1:0".parse()?);
    server.driver.busy_poll = connection.busy_poll;
    let handle = Simulator::start(server, sim).await?;
    eprintln!("(no --host: using the built-in simulator on {})", handle.local_addr());
    Ok((connection.client_config("127.0.0.1", handle.local_addr().port()), Some(handle)))
}

/// A person-readable reason for a failed connection or bind.
pub(crate) fn explain(e: &ClientError) -> String {
    match e {
        ClientError::Connect { addr, source } => format!("cannot reach {addr}: {source}"),
        other => other.to_string(),
    }
}

/// What a failed submit means for sending it again.
pub(crate) fn fate(e: &smpp_client::RequestError) -> &'static str {
    match e.fate() {
        smpp_client::Fate::Refused => "refused by the SMSC",
        smpp_client::Fate::NeverSent => "never sent: safe to send again",
        smpp_client::Fate::Unknown => "outcome unknown: the SMSC may have accepted it",
        _ => "",
    }
}

fn address(s: &str) -> Res<Address<21>> {
    let digits = s.strip_prefix('+').unwrap_or(s);
    Ok(if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        Address::international(digits)?
    } else {
        Address::alphanumeric(s)?
    })
}

/// A registered_delivery value: 0 to 255, decimal or `0x` hex.
fn parse_registered_delivery(s: &str) -> Result<u8, String> {
    let parsed = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u8::from_str_radix(hex, 16),
        None => s.parse(),
    };
    parsed.map_err(|_| format!("{s:?} is not a registered_delivery value (0 to 255, or 0x00 to 0xFF)"))
}

async fn send(connection: Connection, args: SendArgs) -> Res<ExitCode> {
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
        return Err(format!("the text cannot be sent as {:?}: {e}", args.coding).into());
    }
    let mut sim = SimulatorConfig::default();
    sim.dlr_delay = Duration::from_millis(200);
    let (mut config, _sim) = target(&connection, sim).await?;
    if args.registered_delivery.is_some() && !args.wait_dlr && connection.bind_given.is_none() {
        // The receipt is for a receiver bound elsewhere: a transceiver bind here could
        // take it (and acknowledge it) before unbinding.
        config = config.bind_mode(smpp_client::BindMode::Transmitter);
    }
    let (client, mut incoming) = Client::connect(config).await.map_err(|e| explain(&e))?;
    let plan = text::plan(&args.text, Some(encoding))?;
    eprintln!("{:?}, {} part(s)", plan.encoding, plan.parts);
    let mut options = TextOptions::default();
    options.encoding = Some(encoding);
    if let Some(rd) = args.registered_delivery {
        options.registered_delivery = RegisteredDelivery(rd);
    } else if args.wait_dlr {
        options.registered_delivery = RegisteredDelivery::RECEIPT;
    }
    let parts = match client.submit_text(address(&args.from)?, Address::international(to)?, &args.text, options).await {
        Ok(p) => p,
        Err(e) => {
            if let smpp_client::RequestError::Partial { accepted, parts, .. } = &e {
                for (k, p) in accepted.iter().enumerate() {
                    println!("part {}/{}: message_id {}", k + 1, parts, p.message_id);
                }
            }
            eprintln!("error: submit failed: {e} ({})", fate(&e));
            client.unbind().await;
            return Ok(ExitCode::FAILURE);
        }
    };
    for (k, p) in parts.iter().enumerate() {
        println!("part {}/{}: message_id {}", k + 1, parts.len(), p.message_id);
    }
    let mut code = ExitCode::SUCCESS;
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
            eprintln!("error: no receipt within 120 s");
            code = ExitCode::FAILURE;
        }
    }
    client.unbind().await;
    Ok(code)
}

async fn serve(args: ServeArgs, connection: Connection) -> Res<ExitCode> {
    if connection.tls && args.tls_cert.is_none() {
        return Err("serve listens for TLS with --tls-cert FILE --tls-key FILE (--tls is for clients)".into());
    }
    let mut sim = SimulatorConfig::default();
    if !args.accounts.is_empty() || !connection.accounts.is_empty() {
        sim.accounts.clear();
    }
    for a in &args.accounts {
        let (id, pw) = a.split_once(':').ok_or(format!("--account {a:?}: expected ID:PASSWORD"))?;
        sim.accounts.insert(id.to_owned(), pw.to_owned());
    }
    for a in &connection.accounts {
        sim.accounts.insert(a.system_id.clone(), a.password.0.clone());
        let mut limits = smpp_server::Limits::default();
        limits.window = a.window;
        limits.receive_window = a.receive_window;
        limits.throttle = a.throttle;
        limits.max_binds = a.max_binds;
        sim.limits.insert(a.system_id.clone(), limits);
    }
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
    let listen = args.listen.parse().map_err(|e| format!("--listen {:?}: {e}", args.listen))?;
    let mut server = ServerConfig::new(listen);
    server.driver.busy_poll = connection.busy_poll;
    let handle = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => {
            let read = |p: &std::path::Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
            let acceptor = smpp_tokio::tls::acceptor(&read(cert)?, &read(key)?).map_err(|e| format!("TLS: {e}"))?;
            Simulator::start_tls(server, sim, acceptor).await
        }
        _ => Simulator::start(server, sim).await,
    }
    .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let scheme = if args.tls_cert.is_some() { " (TLS)" } else { "" };
    println!("SMSC simulator{scheme} listening on {}", handle.local_addr());
    tokio::signal::ctrl_c().await?;
    eprintln!("shutting down");
    handle.shutdown(Duration::from_secs(5)).await;
    Ok(ExitCode::SUCCESS)
}

/// The store `--store` names (`None`: the simulator's memory store).
async fn open_store(args: &ServeArgs) -> Res<Option<std::sync::Arc<dyn smpp_server::store::Store>>> {
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
                .map_err(|e| format!("--store: {e}"))?;
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
fn parse_error_map(text: &str) -> Res<HashMap<String, CommandStatus>> {
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
