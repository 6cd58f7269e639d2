//! What the CLI tests share: the binary with a clean environment, a `smpp serve`
//! child on a free port, and children killed when dropped.
#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};

/// The `smpp` binary, with none of the `SMPP_*` variables of the caller.
pub fn smpp() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_smpp"));
    for var in [
        "SMPP_HOST",
        "SMPP_PORT",
        "SMPP_SYSTEM_ID",
        "SMPP_PASSWORD",
        "SMPP_BIND",
        "SMPP_CONFIG",
        "SMPP_TLS",
        "SMPP_CA_FILE",
        "SMPP_SYSTEM_TYPE",
        "SMPP_TIMEOUT",
        "SMPP_LOG",
        "SMPP_THREADS",
    ] {
        c.env_remove(var);
    }
    c
}

/// Runs `cmd` to its end: whether it succeeded, its stdout and its stderr.
pub fn run(cmd: &mut Command) -> (bool, String, String) {
    let Output { status, stdout, stderr } = cmd.output().expect("runs");
    (status.success(), String::from_utf8_lossy(&stdout).into_owned(), String::from_utf8_lossy(&stderr).into_owned())
}

/// `smpp serve` on a free port; returns the child and the port.
pub struct Serve(pub Child, pub u16);

impl Serve {
    pub fn start(accounts: &[&str]) -> Self {
        let mut args = Vec::new();
        for a in accounts {
            args.extend(["--account", a]);
        }
        Self::with(&args)
    }

    /// `smpp serve` with these extra arguments (receipts after 50 ms unless they
    /// give `--dlr-delay-ms`).
    pub fn with(extra: &[&str]) -> Self {
        let mut cmd = smpp();
        cmd.args(["serve", "--listen", "127.0.0.1:0"]);
        if !extra.contains(&"--dlr-delay-ms") {
            cmd.args(["--dlr-delay-ms", "50"]);
        }
        cmd.args(extra);
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let port = line.trim().rsplit(':').next().unwrap().parse().expect("serve prints its address");
        Self(child, port)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A fresh temporary folder for one test.
pub fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("smpp-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A child killed when dropped.
pub struct Guard(pub Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
