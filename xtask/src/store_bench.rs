//! `cargo xtask bench stores [--count N] [--rounds R]`: accepted-and-stored submits
//! per second, `smpp bench --window 1000` (one bind) against `smpp serve --store X`
//! (started as a user starts it), for each store: memory, a SQLite file, Redis (one node), and two nodes on one
//! Redis (a bench against each at once, the total reported). Each line is the
//! median of R rounds (default 3), with the slowest and fastest. A redis-server
//! (Debian package `redis-server`) is started on a free loopback port in a temp
//! folder and stopped after.
//!
//! `cargo xtask bench cli [--count N] [--rounds R]`: the `smpp` command against the
//! library it is built on, side by side: `smpp bench --window 1000` against `smpp
//! serve`, both started as a user starts them, and the library path of `cargo
//! xtask bench` (`e2e_bench throughput` against `e2e_bench serve`, one bind, window
//! 1000), in alternating rounds; the medians and their ratio.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use crate::procs::{Killed, free_port, serve_on};
use crate::{project_root, run};

/// (median, lowest, highest) of the rounds' rates, at least one.
fn spread(rates: &mut [f64]) -> (f64, f64, f64) {
    rates.sort_by(f64::total_cmp);
    (rates[rates.len() / 2], rates[0], rates[rates.len() - 1])
}

/// A redis-server on a free port in `dir`, once it accepts connections.
fn redis(dir: &std::path::Path) -> Result<(Killed, u16), String> {
    let port = free_port()?;
    let mut child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .arg("--dir")
        .arg(dir)
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start redis-server (apt-get install redis-server): {e}"))?;
    let out = BufReader::new(child.stdout.take().ok_or("no stdout")?);
    let server = Killed(child);
    for line in out.lines() {
        let line = line.map_err(|e| e.to_string())?;
        if line.contains("Ready to accept connections") {
            return Ok((server, port));
        }
    }
    Err("redis-server ended before it was ready".into())
}

/// `smpp serve` with these arguments on a port of its choosing; that port once it
/// listens.
fn serve(bin: &str, args: &[&str]) -> Result<(Killed, u16), String> {
    serve_on(bin, "127.0.0.1:0", args)
}

fn bench(bin: &str, port: u16, count: u64) -> Result<Child, String> {
    Command::new(bin)
        .args(["--host", "127.0.0.1", "--port", &port.to_string(), "bench", "--window", "1000", "--json"])
        .args(["--count", &count.to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())
}

/// (msg/s, every submit answered ESME_ROK) of a finished bench.
fn result(child: Child) -> Result<(f64, bool), String> {
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout);
    let v = text.trim();
    let rate = json_number(v, "\"msgs_per_sec\":").ok_or(format!("no msgs_per_sec in {v}"))?;
    let ok = json_number(v, "\"ESME_ROK\":");
    let count = json_number(v, "\"count\":");
    Ok((rate, ok.is_some() && ok == count))
}

fn json_number(text: &str, key: &str) -> Option<f64> {
    let rest = &text[text.find(key)? + key.len()..];
    let end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == 'e' || c == '-')).unwrap_or(rest.len());
    rest[..end].parse().ok()
}

pub(crate) fn stores(args: &[String]) -> Result<(), String> {
    let opt = |name: &str, default: u64| crate::opt(args, name, default);
    let count = opt("--count", 1_000_000);
    let rounds = opt("--rounds", 3).max(1);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    run(Command::new(&cargo).current_dir(project_root()).args(["build", "--release", "-p", "smpp-cli"]))?;
    let bin = project_root().join("target/release/smpp").display().to_string();
    let dir = std::env::temp_dir().join(format!("smpp-store-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let (_redis, redis_port) = redis(&dir)?;
    let url = format!("redis://127.0.0.1:{redis_port}/");

    println!("\naccepted-and-stored submits per second: smpp bench --window 1000 --count {count}, one bind per node");
    println!("{:<28} {:>12} {:>12} {:>12}", "store", "median", "slowest", "fastest");
    let lines: [(&str, usize); 4] =
        [("memory", 1), ("sqlite file", 1), ("redis, one node", 1), ("redis, two nodes (total)", 2)];
    for (name, nodes) in lines {
        let mut rates = Vec::new();
        for round in 0..rounds {
            let file = dir.join(format!("store-{round}.db"));
            let prefix = format!("bench-{round}-{nodes}");
            let store_args: Vec<&str> = match name {
                "memory" => vec![],
                "sqlite file" => vec!["--store", file.to_str().ok_or("temp path")?],
                _ => vec!["--store", &url, "--store-prefix", &prefix],
            };
            let servers = (0..nodes).map(|_| serve(&bin, &store_args)).collect::<Result<Vec<_>, _>>()?;
            let benches = servers
                .iter()
                .map(|(_, port)| bench(&bin, *port, count / nodes as u64))
                .collect::<Result<Vec<_>, _>>()?;
            let mut total = 0.0;
            for b in benches {
                let (rate, all_ok) = result(b)?;
                if !all_ok {
                    return Err(format!("{name}: not every submit was answered ESME_ROK"));
                }
                total += rate;
            }
            rates.push(total);
            drop(servers);
            let _ = std::fs::remove_file(&file);
        }
        let (median, lo, hi) = spread(&mut rates);
        println!("{name:<28} {median:>12.0} {lo:>12.0} {hi:>12.0}");
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// `e2e_bench serve`: the library path's server; its port.
fn library_server(bin: &str) -> Result<(Killed, u16), String> {
    let mut child = Command::new(bin)
        .arg("serve")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {bin}: {e}"))?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().ok_or("no stdout")?).read_line(&mut line).map_err(|e| e.to_string())?;
    let port = line.trim().strip_prefix("LISTENING ").and_then(|p| p.parse().ok()).ok_or(format!("{line:?}"))?;
    Ok((Killed(child), port))
}

/// msg/s of `e2e_bench throughput` at window 1000.
fn library_run(bin: &str, port: u16, count: u64) -> Result<f64, String> {
    let out = Command::new(bin)
        .args(["throughput", &port.to_string(), &count.to_string(), "1000"])
        .output()
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| l.starts_with("RESULT")).ok_or(format!("no RESULT in {text}"))?;
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix("msgs_per_sec=")?.parse().ok())
        .ok_or(format!("no msgs_per_sec in {line}"))
}

pub(crate) fn cli(args: &[String]) -> Result<(), String> {
    let opt = |name: &str, default: u64| crate::opt(args, name, default);
    let count = opt("--count", 1_000_000);
    let rounds = opt("--rounds", 3).max(1);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    run(Command::new(&cargo).current_dir(project_root()).args([
        "build",
        "--release",
        "-p",
        "smpp-cli",
        "-p",
        "smpp-server",
        "--example",
        "e2e_bench",
        "--bin",
        "smpp",
    ]))?;
    let smpp = project_root().join("target/release/smpp").display().to_string();
    let e2e = project_root().join("target/release/examples/e2e_bench").display().to_string();
    let (mut library, mut command) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let (server, port) = library_server(&e2e)?;
        library.push(library_run(&e2e, port, count)?);
        drop(server);
        let (server, port) = serve(&smpp, &[])?;
        let (rate, all_ok) = result(bench(&smpp, port, count)?)?;
        if !all_ok {
            return Err("smpp bench: not every submit was answered ESME_ROK".into());
        }
        command.push(rate);
        drop(server);
    }
    let (lib, lib_lo, lib_hi) = spread(&mut library);
    let (cmd, cmd_lo, cmd_hi) = spread(&mut command);
    println!(
        "
one bind, window 1000, {count} submit_sm -> submit_sm_resp, median of {rounds} alternating rounds"
    );
    println!("{:<44} {:>12} {:>12} {:>12}", "", "median", "slowest", "fastest");
    println!("{:<44} {lib:>12.0} {lib_lo:>12.0} {lib_hi:>12.0}", "library (e2e_bench throughput / serve)");
    println!("{:<44} {cmd:>12.0} {cmd_lo:>12.0} {cmd_hi:>12.0}", "command (smpp bench / smpp serve)");
    println!("command / library: {:.2}", cmd / lib);
    Ok(())
}

/// msg/s the loopback allows a request/response protocol on this machine (the
/// `looplimit` of `../shared/bench`, when it is there), at window 1000.
fn looplimit() -> Option<f64> {
    let dir = project_root().join("../shared/bench/looplimit");
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
        .args(["run", "--quiet", "--release", "--", "5000000", "1000"])
        .current_dir(dir)
        .output()
        .ok()?;
    // "5000000 msgs in 0.357s = 14003945 msg/s ..."
    let text = String::from_utf8_lossy(&out.stdout);
    let before = text.split(" msg/s").next()?;
    before.rsplit(' ').next()?.parse().ok()
}

/// `cargo xtask bench gateway [--count N] [--rounds R]`: `smpp bench --window 1000`
/// on one bind straight to `smpp serve` (the simulator), and the same through `smpp
/// serve --upstream` to another `smpp serve` (one customer bind, one upstream bind
/// of window 1000), in alternating rounds; the medians and their ratio.
pub(crate) fn gateway(args: &[String]) -> Result<(), String> {
    let opt = |name: &str, default: u64| crate::opt(args, name, default);
    let count = opt("--count", 1_000_000);
    let rounds = opt("--rounds", 3).max(1);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    run(Command::new(&cargo).current_dir(project_root()).args(["build", "--release", "-p", "smpp-cli"]))?;
    let smpp = project_root().join("target/release/smpp").display().to_string();
    let (mut direct, mut through) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let (server, port) = serve(&smpp, &[])?;
        let (rate, all_ok) = result(bench(&smpp, port, count)?)?;
        if !all_ok {
            return Err("direct: not every submit was answered ESME_ROK".into());
        }
        direct.push(rate);
        drop(server);
        let (upstream, up_port) = serve(&smpp, &[])?;
        let url = format!("smpp://smppclient1:password@127.0.0.1:{up_port}?name=up&window=1000");
        let (gw, port) = serve(&smpp, &["--upstream", &url])?;
        let (rate, all_ok) = result(bench(&smpp, port, count)?)?;
        if !all_ok {
            return Err("gateway: not every submit was answered ESME_ROK".into());
        }
        through.push(rate);
        drop(gw);
        drop(upstream);
    }
    let (d, d_lo, d_hi) = spread(&mut direct);
    let (g, g_lo, g_hi) = spread(&mut through);
    println!(
        "\none customer bind, window 1000, {count} submit_sm -> submit_sm_resp, median of {rounds} alternating rounds"
    );
    println!("{:<52} {:>12} {:>12} {:>12}", "", "median", "slowest", "fastest");
    println!("{:<52} {d:>12.0} {d_lo:>12.0} {d_hi:>12.0}", "direct (smpp bench -> smpp serve)");
    println!("{:<52} {g:>12.0} {g_lo:>12.0} {g_hi:>12.0}", "gateway (smpp bench -> serve --upstream -> serve)");
    println!("gateway / direct: {:.2}", g / d);
    if let Some(limit) = looplimit() {
        println!(
            "looplimit (same run): {limit:.0} msg/s; direct {:.1} %, gateway {:.1} %",
            100.0 * d / limit,
            100.0 * g / limit
        );
    }
    Ok(())
}
