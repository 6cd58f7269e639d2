//! `cargo xtask fuzz [TARGET] [--secs N]`: runs the fuzz targets of `smpp-fuzz` under
//! cargo-fuzz (libFuzzer) on the nightly toolchain, installing cargo-fuzz if it is
//! missing. New inputs go to a scratch corpus under `target/`, seeded from the
//! checked-in `smpp-fuzz/corpus/TARGET`; crashes land in `smpp-fuzz/artifacts/`.

use std::process::Command;

use crate::{project_root, run};

/// Every target, in the order they run.
pub(crate) const TARGETS: &[&str] = &[
    "decode_pdu",
    "roundtrip",
    "frame_stream",
    "session_esme",
    "session_smsc",
    "text_decode",
    "receipt_parse",
    "reassembly",
];

/// Runs `targets` for `secs` seconds each; fails on the first crash.
pub(crate) fn fuzz(targets: &[&str], secs: u64) -> Result<(), String> {
    let root = project_root();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let installed = Command::new(&cargo).args(["fuzz", "--version"]).output().is_ok_and(|o| o.status.success());
    if !installed {
        run(Command::new(&cargo).args(["install", "cargo-fuzz", "--locked"]))?;
    }
    let mut summary = Vec::new();
    for target in targets {
        let scratch = root.join("target/fuzz-corpus").join(target);
        std::fs::create_dir_all(&scratch).map_err(|e| e.to_string())?;
        let seeds = root.join("smpp-fuzz/corpus").join(target);
        // `cargo +nightly` through rustup: cargo-fuzz needs the nightly sanitizer flags.
        let out = Command::new("rustup")
            .current_dir(&root)
            // Fat LTO (the workspace release profile) breaks sanitizer-coverage linking.
            .env("CARGO_PROFILE_RELEASE_LTO", "false")
            .args(["run", "nightly", "cargo", "fuzz", "run", "--fuzz-dir", "smpp-fuzz", target])
            .arg(&scratch)
            .arg(&seeds)
            // An input that runs for more than 10 s is reported as a hang (a loop).
            .args(["--", &format!("-max_total_time={secs}"), "-print_final_stats=1", "-max_len=4096", "-timeout=10"])
            .output()
            .map_err(|e| format!("cannot run cargo fuzz: {e}"))?;
        let log = String::from_utf8_lossy(&out.stderr).into_owned();
        let stat = |key: &str| {
            log.lines().find_map(|l| l.strip_prefix(key).map(|v| v.trim().trim_start_matches(':').trim().to_owned()))
        };
        let execs = stat("stat::number_of_executed_units").unwrap_or_else(|| "?".into());
        let rate = stat("stat::average_exec_per_sec").unwrap_or_else(|| "?".into());
        println!("fuzz {target}: {execs} executions in {secs} s ({rate} exec/s)");
        summary.push(format!("{target}: {execs} executions, {rate} exec/s"));
        if !out.status.success() {
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            return Err(format!(
                "fuzz target {target} failed (crash inputs are in smpp-fuzz/artifacts/{target}):\n{}",
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            ));
        }
    }
    println!("fuzz summary:\n  {}", summary.join("\n  "));
    Ok(())
}

pub(crate) fn main(args: &[String]) -> Result<(), String> {
    let secs = args
        .iter()
        .position(|a| a == "--secs")
        .and_then(|k| args.get(k + 1))
        .map_or(Ok(60), |v| v.parse().map_err(|_| format!("--secs {v:?}: expected seconds")))?;
    let chosen: Vec<&str> = args
        .iter()
        .enumerate()
        .filter(|(k, a)| !a.starts_with("--") && (*k == 0 || args.get(k - 1).is_none_or(|p| p != "--secs")))
        .map(|(_, a)| a.as_str())
        .collect();
    for t in &chosen {
        if !TARGETS.contains(t) {
            return Err(format!("unknown fuzz target {t:?}; targets: {}", TARGETS.join(", ")));
        }
    }
    fuzz(if chosen.is_empty() { TARGETS } else { &chosen }, secs)
}
