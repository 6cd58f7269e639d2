//! Project automation, run as `cargo xtask <command>`.
//!
//! - `ci`: everything CI checks: fmt, clippy, tests, docs, tidy, and every fuzz target
//!   for 60 s (`SMPP_FUZZ_SECS` to change it locally).
//!   Then what publishing needs (`release.rs`): every documented feature combination,
//!   `cargo package` of each published crate (and a semver check once there is a
//!   release), and the libraries on the Rust version `rust-version` names; and every
//!   example that can run, against the simulator (`examples.rs`).
//! - `package`, `features`, `msrv`, `examples`: those steps alone.
//! - `tidy`: the repository rules that no compiler checks (see `tidy.rs`).
//! - `bench`: the end-to-end benchmark (see `bench.rs`); `bench stores`: submits
//!   accepted and stored per second by each message store, and `bench cli`: the
//!   `smpp` command against the library path (both in `store_bench.rs`).
//! - `fuzz`: the fuzz targets under cargo-fuzz (see `fuzz.rs`).
//! - `chaos`: the message-accounting scenario with random seeds for `--secs N`
//!   (default 60), printing the seed of any failure.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod bench;
mod examples;
mod fuzz;
mod procs;
mod release;
mod store_bench;
mod tidy;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("tidy") => tidy::run(&project_root()),
        Some("bench") if args.get(1).is_some_and(|a| a == "stores") => store_bench::stores(&args[2..]),
        Some("bench") if args.get(1).is_some_and(|a| a == "cli") => store_bench::cli(&args[2..]),
        Some("bench") if args.get(1).is_some_and(|a| a == "gateway") => store_bench::gateway(&args[2..]),
        Some("bench") => bench::bench(&args[1..]),
        Some("fuzz") => fuzz::main(&args[1..]),
        Some("chaos") => chaos(&args[1..]),
        Some("package") => release::package(),
        Some("features") => release::features(),
        Some("msrv") => release::msrv(),
        Some("examples") => examples::run_all(),
        _ => {
            eprintln!(
                "usage: cargo xtask <ci|tidy|package|features|msrv|examples|bench [--count N] [--sessions N] [--hold SECS]|bench stores [--count N] [--rounds R]|bench cli [--count N] [--rounds R]|bench gateway [--count N] [--rounds R]|fuzz [TARGET] [--secs N]|chaos [--secs N] [--seed S]>"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (the parent of this crate's folder).
pub(crate) fn project_root() -> PathBuf {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned());
    Path::new(&dir).parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."))
}

fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    cmd.current_dir(project_root());
    cmd
}

/// Installs the interoperability peers the tests run against: node-smpp from npm
/// (from the lockfile) and python smpplib from PyPI (pinned). A machine without npm
/// or pip fails here, loudly.
fn install_peers() -> Result<(), String> {
    let root = project_root();
    run(Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(root.join("interop/node")))
        .map_err(|e| format!("{e}\nthe interop tests need Node.js and npm (node-smpp is installed from npm)"))?;
    let requirements = root.join("interop/python/requirements.txt");
    run(Command::new("python3")
        .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r"])
        .arg(&requirements))
    .map_err(|e| format!("{e}\nthe interop tests need python3 with pip (smpplib is installed from PyPI)"))?;
    // The Redis store's tests start a real redis-server.
    install_debian(&["redis-server", "--version"], "redis-server")
}

/// Installs a Debian package unless `probe` (a program and its arguments) runs
/// (as root, or with sudo).
pub(crate) fn install_debian(probe: &[&str], package: &str) -> Result<(), String> {
    let program = probe.first().copied().unwrap_or(package);
    if Command::new(program).args(probe.get(1..).unwrap_or(&[])).output().is_ok_and(|o| o.status.success()) {
        return Ok(());
    }
    let root = Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0"));
    let apt = |args: &[&str]| {
        let mut cmd = if root { Command::new("apt-get") } else { Command::new("sudo") };
        if !root {
            cmd.arg("apt-get");
        }
        cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        cmd
    };
    run(&mut apt(&["update", "-qq"]))?;
    run(&mut apt(&["install", "-y", "-qq", package]))
        .map_err(|e| format!("{e}\n{program} is needed (Debian package {package})"))
}

/// The number after `--name` in `args`, or `default`.
pub(crate) fn opt(args: &[String], name: &str, default: u64) -> u64 {
    args.iter().position(|a| a == name).and_then(|k| args.get(k + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Runs a command, echoing it, and fails if it fails.
pub(crate) fn run(cmd: &mut Command) -> Result<(), String> {
    println!("$ {cmd:?}");
    let status = cmd.status().map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("{cmd:?} failed: {status}")) }
}

/// `cargo xtask chaos [--secs N] [--seed S]`: the accounting scenario, optimised.
fn chaos(args: &[String]) -> Result<(), String> {
    run(cargo().args(["run", "--release", "-p", "smpp-chaos", "--bin", "chaos", "--"]).args(args))
}

fn ci() -> Result<(), String> {
    install_peers()?;
    run(cargo().args(["fmt", "--all", "--", "--check"]))?;
    run(cargo().args(["clippy", "--workspace", "--all-targets", "--all-features", "--", "-D", "warnings"]))?;
    run(cargo().args(["test", "--workspace", "--all-targets", "--all-features"]))?;
    run(cargo().args(["test", "--workspace", "--doc", "--all-features"]))?;
    run(cargo().args(["doc", "--workspace", "--no-deps", "--all-features"]).env("RUSTDOCFLAGS", "-D warnings"))?;
    tidy::run(&project_root())?;
    release::features()?;
    release::package()?;
    release::msrv()?;
    examples::run_all()?;
    // Every fuzz target for a bounded time: no input may crash or hang the stack.
    let secs = std::env::var("SMPP_FUZZ_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(60);
    fuzz::fuzz(fuzz::TARGETS, secs)?;
    println!("xtask ci: all checks passed");
    Ok(())
}
