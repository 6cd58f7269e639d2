//! End-to-end benchmark: our client against our server over 127.0.0.1.
//!
//! `cargo xtask bench` runs it as two processes (so each has its own peak RSS):
//!
//! ```sh
//! e2e_bench serve                                   # prints "LISTENING <port>", runs until stdin closes
//! e2e_bench throughput PORT COUNT WINDOW            # one bind, COUNT submit_sm -> submit_sm_resp
//! e2e_bench inproc COUNT WINDOW                     # the same with the server in this process and thread
//! e2e_bench sessions PORT COUNT SECS INTERVAL_SECS  # COUNT binds kept alive with enquire_link
//! ```
//!
//! Each mode prints one line of `key=value` results.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use smpp_client::smpp_session::BindRequest;
use smpp_client::smpp_wire::{Address, ShortMessage, SubmitSm};
use smpp_client::{BindMode, Client, ClientConfig, Event, Session, SessionConfig};
use smpp_server::{ServerConfig, Simulator, SimulatorConfig};
use smpp_tokio::{Handler, drive, now};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let result = match args.first().map(String::as_str) {
        Some("serve") => rt.block_on(serve()),
        Some("throughput") => rt.block_on(throughput(num(&args, 1), num(&args, 2) as usize, num(&args, 3) as usize)),
        Some("inproc") => rt.block_on(async {
            // Server and client in this one thread: no cross-process wake-ups.
            let port = start_server().await?;
            throughput(u64::from(port), num(&args, 1) as usize, num(&args, 2) as usize).await
        }),
        Some("sessions") => rt.block_on(sessions(num(&args, 1), num(&args, 2) as usize, num(&args, 3), num(&args, 4))),
        _ => Err("usage: e2e_bench serve | throughput PORT COUNT WINDOW | sessions PORT COUNT SECS INTERVAL".into()),
    };
    if let Err(e) = result {
        eprintln!("e2e_bench: {e}");
        std::process::exit(1);
    }
}

/// `SMPP_BUSY_POLL_US`: the drivers' busy-poll time in microseconds (unset or 0: off).
fn busy_poll() -> Option<Duration> {
    let us: u64 = std::env::var("SMPP_BUSY_POLL_US").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
    (us > 0).then(|| Duration::from_micros(us))
}

fn num(args: &[String], k: usize) -> u64 {
    args.get(k).and_then(|a| a.parse().ok()).unwrap_or(0)
}

/// Peak and current resident set size of this process, in KiB.
fn rss_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

type Res = Result<(), Box<dyn std::error::Error>>;

async fn start_server() -> Result<u16, Box<dyn std::error::Error>> {
    let mut sim = SimulatorConfig::default();
    sim.accounts = HashMap::from([("bench".to_owned(), "secret".to_owned())]);
    let mut server = ServerConfig::new("127.0.0.1:0".parse()?);
    server.max_binds_per_account = 20_000;
    server.session.window(1000).receive_window(2000).inactivity_timeout(Some(Duration::from_secs(300)));
    server.driver.busy_poll = busy_poll();
    let handle = Simulator::start(server, sim).await?;
    let port = handle.local_addr().port();
    SERVER.with(|s| *s.borrow_mut() = Some(handle));
    Ok(port)
}

thread_local! {
    static SERVER: std::cell::RefCell<Option<smpp_server::SimulatorHandle>> = const { std::cell::RefCell::new(None) };
}

async fn serve() -> Res {
    let port = start_server().await?;
    let handle = SERVER.with(|s| s.borrow().clone()).ok_or("no server")?;
    println!("LISTENING {port}");
    // Report memory on request: each line on stdin asks for one report.
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(tokio::io::stdin()));
    while let Ok(Some(_)) = lines.next_line().await {
        let (peak, rss) = rss_kib();
        println!("RSS peak_kib={peak} rss_kib={rss} connections={}", handle.server.connections());
    }
    Ok(())
}

fn submit() -> SubmitSm {
    let mut s = SubmitSm::default();
    s.source_addr = Address::international("12345").expect("address");
    s.destination_addr = Address::international("447700900123").expect("address");
    s.short_message = ShortMessage::new((0..160).map(|k| b'a' + (k % 26) as u8).collect::<Vec<u8>>()).expect("text");
    s
}

async fn throughput(port: u64, count: usize, window: usize) -> Res {
    let config = ClientConfig::new("127.0.0.1", u16::try_from(port)?, "bench", "secret")
        .window(window)
        .bind_mode(BindMode::Transmitter)
        .busy_poll(busy_poll())
        .with_session(|s| {
            s.response_timeout(Some(Duration::from_secs(60)));
        });
    let (client, _incoming) = Client::connect(config).await?;
    let template = submit();
    let per_worker = count / window;
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..window {
        let client = client.clone();
        let template = template.clone();
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(per_worker);
            let mut errors = 0u64;
            for _ in 0..per_worker {
                let t = Instant::now();
                if client.submit(template.clone()).await.is_err() {
                    errors += 1;
                }
                latencies.push(u32::try_from(t.elapsed().as_nanos()).unwrap_or(u32::MAX));
            }
            (latencies, errors)
        }));
    }
    let mut all = Vec::with_capacity(count);
    let mut errors = 0;
    for w in workers {
        let (l, e) = w.await?;
        all.extend(l);
        errors += e;
    }
    let secs = started.elapsed().as_secs_f64();
    client.unbind().await;
    all.sort_unstable();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1))).copied().unwrap_or(0) as f64
            / 1000.0
    };
    let (peak, _) = rss_kib();
    println!(
        "RESULT window={window} count={} errors={errors} secs={secs:.3} msgs_per_sec={:.0} p50_us={:.1} p99_us={:.1} p999_us={:.1} client_peak_kib={peak}",
        all.len(),
        all.len() as f64 / secs,
        pct(0.50),
        pct(0.99),
        pct(0.999),
    );
    Ok(())
}

/// A bound ESME session that only keeps its link alive, counting enquire_links.
struct KeepAlive {
    bound: Option<tokio::sync::oneshot::Sender<()>>,
    closed: Arc<AtomicU64>,
}

impl Handler for KeepAlive {
    type Command = ();
    type Token = ();

    fn on_command(&mut self, _: Instant, _: &mut Session, (): ()) {}

    fn on_event(&mut self, _: Instant, _: &mut Session, event: Event) {
        match event {
            Event::Bound { .. } => {
                if let Some(b) = self.bound.take() {
                    let _ = b.send(());
                }
            }
            Event::Closed { .. } => {
                self.closed.fetch_add(1, Ordering::Relaxed);
            }
            _ => {}
        }
    }
}

async fn sessions(port: u64, count: usize, secs: u64, interval: u64) -> Res {
    let closed = Arc::new(AtomicU64::new(0));
    let sent = Arc::new(AtomicU64::new(0));
    let answered = Arc::new(AtomicU64::new(0));
    let mut stops = Vec::with_capacity(count);
    let mut bound = Vec::with_capacity(count);
    let started = Instant::now();
    for _ in 0..count {
        let stream = tokio::net::TcpStream::connect(("127.0.0.1", u16::try_from(port)?)).await?;
        let mut config = SessionConfig::default();
        config
            .enquire_link_interval(Some(Duration::from_secs(interval)))
            .response_timeout(Some(Duration::from_secs(30)));
        let bind = BindRequest::new(BindMode::Transceiver, "bench", "secret")?;
        let session = Session::esme(now(), config, bind)?;
        let (bound_tx, bound_rx) = tokio::sync::oneshot::channel();
        let (stop_tx, mut stop_rx) = tokio::sync::mpsc::channel::<()>(1);
        let (closed, sent, answered) = (closed.clone(), sent.clone(), answered.clone());
        tokio::spawn(async move {
            let mut handler = KeepAlive { bound: Some(bound_tx), closed };
            let mut session_stats = StatsOnClose { sent, answered };
            let _ = drive_with_stats(stream, session, &mut handler, &mut stop_rx, &mut session_stats).await;
        });
        stops.push(stop_tx);
        bound.push(bound_rx);
    }
    for b in bound {
        b.await?;
    }
    let bind_secs = started.elapsed().as_secs_f64();
    println!("BOUND sessions={count} bind_secs={bind_secs:.1}");
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let early_closes = closed.load(Ordering::Relaxed);
    drop(stops);
    // Every session unbinds when its command channel closes; wait for all to end.
    let deadline = Instant::now() + Duration::from_secs(60);
    while closed.load(Ordering::Relaxed) < count as u64 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (peak, _) = rss_kib();
    println!(
        "RESULT sessions={count} held_secs={secs} closed_early={early_closes} enquire_links_sent={} enquire_links_answered={} client_peak_kib={peak}",
        sent.load(Ordering::Relaxed),
        answered.load(Ordering::Relaxed),
    );
    Ok(())
}

/// Adds each session's enquire_link counters to the totals when it ends.
struct StatsOnClose {
    sent: Arc<AtomicU64>,
    answered: Arc<AtomicU64>,
}

async fn drive_with_stats(
    stream: tokio::net::TcpStream,
    session: Session,
    handler: &mut KeepAlive,
    commands: &mut tokio::sync::mpsc::Receiver<()>,
    totals: &mut StatsOnClose,
) -> std::io::Result<()> {
    let mut wrapper = Counting { inner: handler, totals };
    drive(stream, session, &mut wrapper, commands).await
}

struct Counting<'a> {
    inner: &'a mut KeepAlive,
    totals: &'a mut StatsOnClose,
}

impl Handler for Counting<'_> {
    type Command = ();
    type Token = ();

    fn on_command(&mut self, now: Instant, session: &mut Session, c: ()) {
        self.inner.on_command(now, session, c);
    }

    fn on_event(&mut self, now: Instant, session: &mut Session, event: Event) {
        if let Event::Closed { .. } = event {
            let s = session.stats();
            self.totals.sent.fetch_add(s.enquire_links_sent, Ordering::Relaxed);
            self.totals.answered.fetch_add(s.enquire_links_answered, Ordering::Relaxed);
        }
        self.inner.on_event(now, session, event);
    }
}
