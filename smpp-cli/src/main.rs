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
mod fail;
mod gateway;
mod listen;
mod send;
mod serve;

use std::collections::HashMap;
use std::io::IsTerminal;
use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use smpp_client::{ClientConfig, ClientError};
use smpp_server::{ServerConfig, Simulator, SimulatorConfig};

use crate::config::Connection;
use crate::fail::Fail;

/// mimalloc: a message's life allocates and frees many small buffers and futures
/// across threads, which glibc's allocator serves slowly (its consolidation showed
/// as a fifth of the gateway's time).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "smpp",
    version,
    about = "Send and receive SMS over SMPP, run an SMSC simulator, decode PDUs",
    after_help = fail::EXIT_CODES
)]
struct Cli {
    /// Connection flags may come before the subcommand too (send, listen, bench).
    #[command(flatten, next_help_heading = "Connection (for send, listen and bench)")]
    connection: config::ConnectionArgs,
    #[command(flatten, next_help_heading = "Logging")]
    log: LogArgs,
    #[command(subcommand)]
    command: Command,
}

/// What is logged (to stderr).
#[derive(Debug, clap::Args)]
struct LogArgs {
    /// More logging: -v each message (and serve's per-message lines), -vv every PDU
    /// in and out, -vvv everything. SMPP_LOG (a tracing filter, e.g.
    /// `info,smpp::wire=debug`) overrides it.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Log the octets of every PDU in and out, in hex (passwords redacted).
    #[arg(long, global = true)]
    dump_pdus: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Send a message (to the built-in simulator when no --host is given).
    Send(send::SendArgs),
    /// Run the SMSC simulator until Ctrl-C.
    Serve(Box<serve::ServeArgs>),
    /// Bind as receiver (or transceiver) and print incoming messages and receipts.
    Listen(listen::ListenArgs),
    /// Load-test an SMSC (the built-in simulator when no --host is given).
    Bench(bench::BenchArgs),
    /// Decode PDUs from hex (an argument, or stdin): one PDU or a stream.
    Decode(decode::DecodeArgs),
}

/// The connection flags `serve` does not take (it takes --config, --system-type and
/// --busy-poll-us of its own).
const CLIENT_ONLY: [(&str, &str); 10] = [
    ("host", "--host"),
    ("port", "--port"),
    ("system_id", "--system-id"),
    ("password", "--password"),
    ("bind", "--bind"),
    ("interface_version", "--interface-version"),
    ("tls", "--tls"),
    ("ca_file", "--ca-file"),
    ("tls_server_name", "--tls-server-name"),
    ("timeout", "--timeout"),
];

fn main() -> ExitCode {
    // The variables are read before the subcommand only, so that a flag anywhere
    // beats a variable: a flag after the subcommand beats one before it, which
    // beats the variable.
    let mut command = Cli::command();
    for name in ["send", "listen", "bench"] {
        command = command.mut_subcommand(name, |c| c.mut_args(|a| a.env(None)));
    }
    let matches = command.get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    init_logging(&cli);
    if matches!(cli.command, Command::Serve(_))
        && let Some((_, flag)) =
            CLIENT_ONLY.iter().find(|(id, _)| matches.value_source(id) == Some(ValueSource::CommandLine))
    {
        let hint = if *flag == "--tls" { ": serve listens for TLS with --tls-cert FILE --tls-key FILE" } else { "" };
        eprintln!("error: serve does not take {flag}, a flag of send, listen and bench{hint}");
        return Fail::BadInput(String::new()).code();
    }
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
            e.code()
        }
    }
}

/// Logs to stderr, coloured only on a terminal. `serve` logs binds and a summary at
/// info, each message with -v; the other commands warnings only.
fn init_logging(cli: &Cli) {
    let serve = matches!(cli.command, Command::Serve(_));
    let mut filter = match std::env::var("SMPP_LOG") {
        Ok(f) => f,
        Err(_) => match (serve, cli.log.verbose) {
            (true, 0) => "info".into(),
            (false, 0) => "warn".into(),
            (_, 1) => {
                format!("info,smpp_server=debug,smpp_client=debug,{}=debug", smpp_server::gateway::GATEWAY_TARGET)
            }
            (_, 2) => format!(
                "info,smpp_server=debug,smpp_client=debug,{}=debug,{}=debug",
                smpp_server::gateway::GATEWAY_TARGET,
                smpp_tokio::WIRE_TARGET
            ),
            _ => "trace".into(),
        },
    };
    if cli.log.dump_pdus {
        filter.push_str(&format!(",{}=trace", smpp_tokio::WIRE_TARGET));
    }
    let filter = tracing_subscriber::EnvFilter::try_new(&filter).unwrap_or_else(|e| {
        eprintln!("warning: SMPP_LOG {filter:?}: {e}; logging warnings only");
        tracing_subscriber::EnvFilter::new("warn")
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
}

/// The runtime: `SMPP_THREADS` worker threads if set. Otherwise `serve` gets one per
/// core but one (or its `--threads`): the core left over serves the kernel's TCP
/// work and the store's writer thread, and on this project's
/// 2-core machine one worker answers a bench on the same machine about 10 % faster
/// than two that contend with it. `bench` gets one per bind, at most one per core
/// (or its `--threads`); `send`, `listen` and `decode` one, on the main thread (one
/// connection gains nothing from more, and one thread spares cross-thread wake-ups).
fn runtime(command: &Command) -> std::io::Result<tokio::runtime::Runtime> {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let threads = std::env::var("SMPP_THREADS").ok().and_then(|t| t.parse::<usize>().ok()).or(match command {
        Command::Bench(args) => Some(args.threads().unwrap_or_else(|| args.binds().clamp(1, cores))),
        Command::Serve(args) => Some(args.threads.filter(|t| *t > 0).unwrap_or(cores.saturating_sub(1).max(1))),
        _ => Some(1),
    });
    match threads {
        Some(1) => tokio::runtime::Builder::new_current_thread().enable_all().build(),
        Some(n) => tokio::runtime::Builder::new_multi_thread().worker_threads(n.max(1)).enable_all().build(),
        None => tokio::runtime::Builder::new_current_thread().enable_all().build(),
    }
}

async fn run(cli: Cli) -> Result<ExitCode, Fail> {
    let Cli { connection, command, .. } = cli;
    match command {
        Command::Decode(args) => decode::run(args).map_err(|e| Fail::BadInput(e.to_string())),
        Command::Serve(mut args) => {
            let resolved = args.connection(connection).resolve()?;
            serve::run(*args, resolved).await
        }
        Command::Send(mut args) => {
            let resolved = std::mem::take(&mut args.connection).or(connection).resolve()?;
            send::run(resolved, args).await
        }
        Command::Listen(mut args) => {
            let resolved = std::mem::take(&mut args.connection).or(connection).resolve()?;
            listen::run(resolved, args).await
        }
        Command::Bench(mut args) => {
            let resolved = std::mem::take(&mut args.connection).or(connection).resolve()?;
            bench::run(resolved, args).await
        }
    }
}

/// The SMSC to use: the configured one, or a simulator started here.
pub(crate) async fn target(
    connection: &Connection,
    sim: SimulatorConfig,
) -> Result<(ClientConfig, Option<smpp_server::SimulatorHandle>), Fail> {
    if let Some(host) = &connection.host {
        return Ok((connection.client_config(host, connection.port), None));
    }
    if connection.tls {
        return Err("--tls needs --host: the built-in simulator of send, listen and bench speaks plain TCP (run `smpp serve --tls-cert FILE --tls-key FILE` for a TLS one)".into());
    }
    let mut sim = sim;
    sim.accounts = HashMap::from([(connection.system_id.clone(), connection.password.0.clone())]);
    let mut server = ServerConfig::new(std::net::SocketAddr::from(([127, 0, 0, 1], 0)));
    server.driver.busy_poll = connection.busy_poll;
    let handle = Simulator::start(server, sim).await?;
    eprintln!("(no --host: using the built-in simulator on {})", handle.local_addr());
    Ok((connection.client_config("127.0.0.1", handle.local_addr().port()), Some(handle)))
}

/// Connects and binds, or says why not (exit 3, 4 or 6).
pub(crate) async fn connect(config: ClientConfig) -> Result<(smpp_client::Client, smpp_client::Incoming), Fail> {
    smpp_client::Client::connect(config).await.map_err(|e: ClientError| Fail::client(&e))
}

/// A command_status as its name, or its value in hex when it has none.
pub(crate) fn status_text(s: smpp_wire::CommandStatus) -> String {
    s.name().map_or_else(|| format!("{:#x}", s.0), str::to_owned)
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
