//! `cargo xtask bench`: the end-to-end benchmark (our client against our server over
//! 127.0.0.1), in two processes so each reports its own peak RSS.
//!
//! 1. one bind, `--count` (default 1 000 000) submit_sm -> submit_sm_resp at windows
//!    1, 10, 100 and 1000: msg/s, p50/p99/p999 round trip, peak RSS; once with the
//!    default drivers, once with both busy-polling `--busy-poll-us` (default 100);
//! 2. the same in one process and thread (no cross-process wake-ups) at windows 1
//!    and 100, to separate the stack's cost from the machine's wake-up latency;
//! 3. `--sessions` (default 10 000) concurrent binds kept alive with enquire_link for
//!    `--hold` seconds (default 60): server memory per session, and whether every
//!    enquire_link was answered.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use crate::{project_root, run};

struct Server {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    port: u16,
}

impl Server {
    fn start(bin: &str, busy_poll_us: u64) -> Result<Self, String> {
        let mut child = Command::new("sh")
            .args(["-c", &format!("ulimit -n $(ulimit -Hn); exec {bin} serve")])
            .env("SMPP_BUSY_POLL_US", busy_poll_us.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start the server: {e}"))?;
        let stdin = child.stdin.take().ok_or("no stdin")?;
        let mut stdout = BufReader::new(child.stdout.take().ok_or("no stdout")?);
        let mut line = String::new();
        stdout.read_line(&mut line).map_err(|e| e.to_string())?;
        let port =
            line.trim().strip_prefix("LISTENING ").and_then(|p| p.parse().ok()).ok_or(format!("bad line {line}"))?;
        Ok(Self { child, stdin, stdout, port })
    }

    /// (peak KiB, current KiB) of the server process.
    fn rss(&mut self) -> Result<(u64, u64), String> {
        writeln!(self.stdin).map_err(|e| e.to_string())?;
        let mut line = String::new();
        self.stdout.read_line(&mut line).map_err(|e| e.to_string())?;
        Ok((field(&line, "peak_kib").unwrap_or(0.0) as u64, field(&line, "rss_kib").unwrap_or(0.0) as u64))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn field(line: &str, key: &str) -> Option<f64> {
    line.split_whitespace().find_map(|kv| kv.strip_prefix(key)?.strip_prefix('=')?.parse().ok())
}

fn run_line(bin: &str, args: &[String], busy_poll_us: u64) -> Result<String, String> {
    let out = Command::new("sh")
        .args(["-c", &format!("ulimit -n $(ulimit -Hn); exec {bin} {}", args.join(" "))])
        .env("SMPP_BUSY_POLL_US", busy_poll_us.to_string())
        .output()
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return Err(format!("{bin} {args:?} failed: {}{}", text, String::from_utf8_lossy(&out.stderr)));
    }
    text.lines().find(|l| l.starts_with("RESULT")).map(str::to_owned).ok_or(format!("no RESULT in {text}"))
}

pub(crate) fn bench(args: &[String]) -> Result<(), String> {
    let opt = |name: &str, default: u64| crate::opt(args, name, default);
    let count = opt("--count", 1_000_000);
    let sessions = opt("--sessions", 10_000);
    let hold = opt("--hold", 60);
    let busy_poll_us = opt("--busy-poll-us", 100);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    run(Command::new(&cargo).current_dir(project_root()).args([
        "build",
        "--release",
        "-p",
        "smpp-server",
        "--example",
        "e2e_bench",
    ]))?;
    let bin = project_root().join("target/release/examples/e2e_bench").display().to_string();

    let mut server = Server::start(&bin, 0)?;
    println!(
        "\nend to end, one bind, {count} submit_sm -> submit_sm_resp over 127.0.0.1 (client and server in two processes)"
    );
    println!("\ndefault drivers (a connection with nothing to do sleeps at once):");
    windows(&bin, server.port, count, 0)?;
    let (peak, _) = server.rss()?;
    println!("server peak RSS: {peak} KiB");

    println!("\nboth drivers busy-polling {busy_poll_us} us after activity (DriverConfig::busy_poll):");
    {
        let polling = Server::start(&bin, busy_poll_us)?;
        windows(&bin, polling.port, count, busy_poll_us)?;
    }

    println!("\nthe same, client and server in one process and thread ({} messages, default drivers)", count / 4);
    header();
    for window in [1u64, 100] {
        let line = run_line(&bin, &["inproc".into(), (count / 4).to_string(), window.to_string()], 0)?;
        print_row(window, &line);
    }

    println!("\n{sessions} concurrent binds kept alive with enquire_link (every 10 s) for {hold} s");
    let (_, before) = server.rss()?;
    let mut child = Command::new("sh")
        .args(["-c", &format!("ulimit -n $(ulimit -Hn); exec {bin} sessions {} {sessions} {hold} 10", server.port)])
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let mut out = BufReader::new(child.stdout.take().ok_or("no stdout")?);
    let mut line = String::new();
    out.read_line(&mut line).map_err(|e| e.to_string())?;
    println!("{}", line.trim());
    let (_, during) = server.rss()?;
    let mut rest = String::new();
    for l in out.lines().map_while(Result::ok) {
        rest = l;
    }
    let _ = child.wait();
    let per_session = during.saturating_sub(before) * 1024 / sessions.max(1);
    println!("{rest}");
    println!(
        "server RSS {before} KiB before, {during} KiB with {sessions} sessions bound: {per_session} bytes ({:.1} KiB) per session",
        per_session as f64 / 1024.0
    );
    let sent = field(&rest, "enquire_links_sent").unwrap_or(0.0);
    let answered = field(&rest, "enquire_links_answered").unwrap_or(-1.0);
    println!("every enquire_link answered: {}", if sent > 0.0 && sent == answered { "yes" } else { "NO" });
    Ok(())
}

fn header() {
    println!(
        "{:>7} {:>12} {:>10} {:>10} {:>10} {:>14}",
        "window", "msg/s", "p50 us", "p99 us", "p999 us", "client peak"
    );
}

/// The throughput run at windows 1, 10, 100 and 1000 against the server on `port`.
fn windows(bin: &str, port: u16, count: u64, busy_poll_us: u64) -> Result<(), String> {
    header();
    for window in [1u64, 10, 100, 1000] {
        let args = ["throughput".into(), port.to_string(), count.to_string(), window.to_string()];
        print_row(window, &run_line(bin, &args, busy_poll_us)?);
    }
    Ok(())
}

fn print_row(window: u64, line: &str) {
    let f = |k| field(line, k).unwrap_or(f64::NAN);
    println!(
        "{window:>7} {:>12.0} {:>10.1} {:>10.1} {:>10.1} {:>10.0} KiB{}",
        f("msgs_per_sec"),
        f("p50_us"),
        f("p99_us"),
        f("p999_us"),
        f("client_peak_kib"),
        if f("errors") > 0.0 { format!("  ({} errors)", f("errors")) } else { String::new() }
    );
}
