//! `chaos`: runs the accounting scenario with random seeds until the time is up, and
//! prints the seed of every failure (replay one with `--seed S`).
//!
//! ```sh
//! cargo run --release -p smpp-chaos --bin chaos -- --secs 600
//! cargo run --release -p smpp-chaos --bin chaos -- --seed 1234
//! ```
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;
use std::time::{Duration, Instant};

use smpp_chaos::scenario::{Params, Report, run_seed};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| {
        args.iter().position(|a| a == flag).and_then(|k| args.get(k + 1)).and_then(|v| v.parse::<u64>().ok())
    };
    if let Some(seed) = value("--seed") {
        return match run_seed(Params::ci(seed)) {
            Ok(r) => {
                println!("seed {seed}: ok {r:?}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                println!("FAILED {e}");
                ExitCode::FAILURE
            }
        };
    }
    let secs = value("--secs").unwrap_or(60);
    let until = Instant::now() + Duration::from_secs(secs);
    // A different start each time; every seed is printed when it fails.
    let mut seed = std::collections::hash_map::RandomState::new();
    let mut next_seed = || {
        use std::hash::{BuildHasher, Hasher};
        let mut h = seed.build_hasher();
        h.write_u64(0);
        seed = std::collections::hash_map::RandomState::new();
        h.finish()
    };
    let (mut runs, mut failures) = (0u64, Vec::new());
    let mut total = Report::default();
    while Instant::now() < until {
        let s = next_seed();
        runs += 1;
        match run_seed(Params::ci(s)) {
            Ok(r) => {
                total.accepted += r.accepted;
                total.refused += r.refused;
                total.never_sent += r.never_sent;
                total.unknown += r.unknown;
                total.throttled += r.throttled;
                total.retries += r.retries;
                total.receipts += r.receipts;
                total.mo += r.mo;
                total.redelivered += r.redelivered;
                total.resets += r.resets;
                total.stalls += r.stalls;
            }
            Err(e) => {
                println!("FAILED {e}");
                failures.push(s);
            }
        }
    }
    println!("chaos: {runs} runs in {secs} s, {} failed", failures.len());
    println!(
        "submits: {} accepted, {} refused, {} never sent, {} outcome unknown; {} throttle answers, {} retries",
        total.accepted, total.refused, total.never_sent, total.unknown, total.throttled, total.retries
    );
    println!(
        "delivered to the application: {} receipts, {} MO; {} items delivered more than once; {} resets, {} stalls",
        total.receipts, total.mo, total.redelivered, total.resets, total.stalls
    );
    if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        println!("failing seeds (replay with --seed S): {failures:?}");
        ExitCode::FAILURE
    }
}
