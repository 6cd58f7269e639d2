//! A real `redis-server` for tests: started on a free loopback port in a fresh
//! temp folder, with no persistence, and killed (its folder removed) when dropped.
//!
//! Standard library only, so that any test crate can include it:
//!
//! ```ignore
//! #[path = "../../smpp-server/tests/common/redis.rs"]
//! mod redis_server;
//! let redis = redis_server::RedisServer::start();
//! let url = redis.url();
//! ```
//!
//! It needs `redis-server` on the `PATH` (Debian: `apt-get install redis-server`);
//! without it [`RedisServer::start`] panics, so the tests fail rather than skip.
#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long `redis-server` has to say it is ready.
const READY_WITHIN: Duration = Duration::from_secs(10);
/// What it says then.
const READY: &str = "Ready to accept connections";
/// Attempts when the free port was taken by someone else meanwhile.
const ATTEMPTS: usize = 5;

/// A running `redis-server`, killed when dropped.
#[derive(Debug)]
pub struct RedisServer {
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Its folder (its working directory), removed when dropped.
    pub dir: PathBuf,
    child: Option<Child>,
    /// Everything it wrote so far (stdout and stderr).
    output: Arc<Mutex<String>>,
}

impl RedisServer {
    /// Starts a fresh server; panics (with its output) if it does not become ready
    /// within 10 s, or if `redis-server` is not installed.
    pub fn start() -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!(
            "smpp-redis-{}-{}-{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("a fresh temp folder for redis-server");
        // Removes the folder if this panics.
        let mut folder = Folder(Some(dir));
        let mut last = String::new();
        for _ in 0..ATTEMPTS {
            let port = free_port();
            let dir = folder.0.as_deref().expect("the folder");
            match spawn(port, dir) {
                Ok((child, output)) => {
                    let dir = folder.0.take().expect("the folder");
                    return Self { port, dir, child: Some(child), output };
                }
                // The port was taken between our look and redis-server's bind.
                Err(output) if output.contains("Address already in use") => last = output,
                Err(output) => panic!("redis-server did not start:\n{output}"),
            }
        }
        panic!("redis-server found no free port in {ATTEMPTS} attempts:\n{last}");
    }

    /// `redis://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// What the server wrote so far.
    pub fn output(&self) -> String {
        self.output.lock().map(|o| o.clone()).unwrap_or_default()
    }

    /// Kills the server (SIGKILL) and waits for it: it is gone, and its port closed.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the server (SIGSTOP): it keeps its connections but answers nothing
    /// until [`resume`](Self::resume)d (a paused server still dies when dropped).
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Lets a [`pause`](Self::pause)d server go on (SIGCONT).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let child = self.child.as_ref().expect("a running redis-server");
        let status = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .expect("the kill command (procps) runs");
        assert!(status.success(), "kill {signal} redis-server: {status}");
    }

    /// Kills the server and starts a fresh one (empty: nothing is persisted) on the
    /// same port and folder; panics if it does not become ready.
    pub fn restart(&mut self) {
        self.kill();
        match spawn(self.port, &self.dir) {
            Ok((child, output)) => {
                self.child = Some(child);
                self.output = output;
            }
            Err(output) => panic!("redis-server did not start again on port {}:\n{output}", self.port),
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A folder removed when dropped, unless taken.
struct Folder(Option<PathBuf>);

impl Drop for Folder {
    fn drop(&mut self) {
        if let Some(dir) = self.0.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A loopback port nobody listens on right now.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
    listener.local_addr().expect("the listener's address").port()
}

/// Starts `redis-server` on `port` in `dir` and waits until it is ready: the child
/// and its output so far, or (the child reaped) its output.
fn spawn(port: u16, dir: &std::path::Path) -> Result<(Child, Arc<Mutex<String>>), String> {
    let spawned = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--protected-mode", "no"])
        .arg("--dir")
        .arg(dir)
        .args(["--save", "", "--appendonly", "no", "--logfile", ""])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "redis-server is not installed (needed by the Redis store tests): install the Debian package \
             redis-server (apt-get install redis-server)"
        ),
        Err(e) => panic!("redis-server could not be started: {e}"),
    };
    let output = Arc::new(Mutex::new(String::new()));
    let (lines, heard) = mpsc::channel();
    for stream in [
        child.stdout.take().map(|s| Box::new(s) as Box<dyn Read + Send>),
        child.stderr.take().map(|s| Box::new(s) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .flatten()
    {
        let (output, lines) = (Arc::clone(&output), lines.clone());
        // Drains the pipe for the server's whole life, so it never blocks on it.
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines() {
                let Ok(line) = line else { break };
                if let Ok(mut o) = output.lock() {
                    o.push_str(&line);
                    o.push('\n');
                }
                let _ = lines.send(Some(line));
            }
            let _ = lines.send(None);
        });
    }
    drop(lines);
    let deadline = Instant::now() + READY_WITHIN;
    let mut closed = 0;
    let failure = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match heard.recv_timeout(left) {
            Ok(Some(line)) if line.contains(READY) => return Ok((child, output)),
            Ok(Some(_)) => {}
            // Both pipes closed: the server exited.
            Ok(None) => {
                closed += 1;
                if closed == 2 {
                    break "exited";
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break "exited",
            Err(mpsc::RecvTimeoutError::Timeout) => break "was not ready within 10 s",
        }
    };
    let _ = child.kill();
    let status = child.wait().map_or_else(|e| e.to_string(), |s| s.to_string());
    let said = output.lock().map(|o| o.clone()).unwrap_or_default();
    Err(format!("redis-server on port {port} {failure} ({status}); it said:\n{said}"))
}
