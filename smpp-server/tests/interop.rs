//! Interoperability with software we did not write: node-smpp's client and python
//! smpplib against our server. `cargo xtask ci` installs both peers (npm, PyPI); a
//! missing peer fails these tests, it is never skipped.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use smpp_server::{ServerConfig, Simulator, SimulatorConfig};
use tokio::process::Command;

fn interop(dir: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../interop").join(dir)
}

async fn simulator() -> smpp_server::SimulatorHandle {
    let mut config = SimulatorConfig::default();
    config.accounts = HashMap::from([("interop".to_owned(), "secret".to_owned())]);
    // Receipts at once: nothing in these tests waits on the clock (the peers' run
    // is only bounded by a timeout).
    config.dlr_delay = Duration::ZERO;
    Simulator::start(ServerConfig::new("127.0.0.1:0".parse().unwrap()), config).await.unwrap()
}

/// Runs a peer to completion (bounded) and returns its stdout lines.
async fn run_peer(mut cmd: Command) -> Vec<String> {
    cmd.kill_on_drop(true);
    let out =
        tokio::time::timeout(Duration::from_secs(120), cmd.output()).await.expect("peer timed out").expect("peer runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "peer failed: {}\nstdout:\n{stdout}\nstderr:\n{stderr}", out.status);
    stdout.lines().map(str::to_owned).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_smpp_client_against_our_server() {
    let dir = interop("node");
    assert!(
        dir.join("node_modules/smpp/package.json").exists(),
        "node-smpp is not installed: run `npm ci --prefix interop/node` (cargo xtask ci does)"
    );
    let sim = simulator().await;
    let mut cmd = Command::new("node");
    cmd.current_dir(&dir).args(["esme.js", &sim.local_addr().port().to_string(), "interop", "secret", "1000"]);
    let lines = run_peer(cmd).await;
    assert_eq!(lines, ["BOUND", "SUBMIT_OK 1000", "RECEIPTS 1000", "UNBOUND"], "{lines:?}");
    assert_eq!(sim.submits(), 1000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_smpplib_client_against_our_server() {
    let dir = interop("python");
    let probe = std::process::Command::new("python3").args(["-c", "import smpplib"]).output().expect("python3 runs");
    assert!(
        probe.status.success(),
        "python smpplib is not installed: run `python3 -m pip install -r interop/python/requirements.txt` (cargo xtask ci does)"
    );
    let sim = simulator().await;
    let mut cmd = Command::new("python3");
    cmd.current_dir(&dir).args(["esme.py", &sim.local_addr().port().to_string(), "interop", "secret", "1000"]);
    let lines = run_peer(cmd).await;
    assert_eq!(lines.first().map(String::as_str), Some("BOUND"), "{lines:?}");
    assert!(lines.contains(&"SUBMIT_OK 1000".to_owned()), "{lines:?}");
    let long = lines.iter().find(|l| l.starts_with("LONG_PARTS")).expect("long message sent");
    // A UCS-2 text split by UDH: several parts, data_coding 8, esm_class with UDHI (0x40).
    let fields: Vec<&str> = long.split_whitespace().collect();
    let parts: u64 = fields[1].parse().unwrap();
    assert!(parts >= 2, "{long}");
    assert_eq!(fields[3], "8", "{long}");
    assert_eq!(fields[5].parse::<u8>().unwrap() & 0x40, 0x40, "{long}");
    assert!(lines.contains(&format!("RECEIPTS {}", 1000 + parts)), "{lines:?}");
    assert_eq!(lines.last().map(String::as_str), Some("UNBOUND"), "{lines:?}");
    assert_eq!(sim.submits(), 1000 + parts);
}

/// node-smpp's server (`interop/node/smsc.js`) on a free port: the child (killed on
/// drop) and its port.
async fn node_smsc() -> (tokio::process::Child, u16) {
    use tokio::io::AsyncBufReadExt;
    let mut node = Command::new("node")
        .arg("smsc.js")
        .arg("0")
        .current_dir(interop("node"))
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node must be installed to run the interop test");
    let mut lines = tokio::io::BufReader::new(node.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(Duration::from_secs(20), lines.next_line()).await.unwrap().unwrap().unwrap();
    let port = first.strip_prefix("LISTENING ").expect("LISTENING line").parse().unwrap();
    // Keep reading its event lines so that it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (node, port)
}

/// node-smpp's client as the customer, our gateway, node-smpp's server as the
/// upstream: every submit accepted, and every receipt (which node-smpp's server sends
/// right after its submit_sm_resp, ids like `node-7`) back to the customer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_smpp_client_through_our_gateway_to_node_smpp_server() {
    use smpp_server::gateway::{Gateway, GatewayConfig, Target};
    let dir = interop("node");
    assert!(
        dir.join("node_modules/smpp/package.json").exists(),
        "node-smpp is not installed: run `npm ci --prefix interop/node` (cargo xtask ci does)"
    );
    let (_node, port) = node_smsc().await;
    let mut config = GatewayConfig::default();
    config.accounts = HashMap::from([("interop".to_owned(), "secret".to_owned())]);
    config.upstreams = vec![format!("smpp://test:secret@127.0.0.1:{port}?name=node").parse().unwrap()];
    config.fallback = vec![Target::new("node", 1)];
    let gw = Gateway::start(ServerConfig::new("127.0.0.1:0".parse().unwrap()), config).await.unwrap();
    let mut cmd = Command::new("node");
    cmd.current_dir(&dir).args(["esme.js", &gw.local_addr().port().to_string(), "interop", "secret", "500"]);
    let lines = run_peer(cmd).await;
    assert_eq!(lines, ["BOUND", "SUBMIT_OK 500", "RECEIPTS 500", "UNBOUND"], "{lines:?}");
    let stats = gw.stats();
    assert_eq!((stats.accepted, stats.forwarded, stats.receipts_matched), (500, 500, 500), "{stats:?}");
    assert_eq!((stats.receipts_unmatched, stats.unknown), (0, 0), "{stats:?}");
}
