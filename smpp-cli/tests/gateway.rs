//! `smpp serve --upstream`: the gateway as people run it, between our client or
//! node-smpp's client and our simulator or node-smpp's server. `.ci/run` installs
//! node-smpp; a missing peer fails these tests, it is never skipped.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use common::{Guard, Serve, run, smpp, temp_dir};

fn json_lines(out: &str) -> Vec<serde_json::Value> {
    out.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}"))).collect()
}

#[test]
fn send_through_serve_upstream_gets_the_gateway_s_ids_in_answers_and_receipts() {
    let upstream = Serve::start(&["gw:gwpass"]);
    // The upstream and its route from the config file.
    let dir = temp_dir("gateway-config");
    let config = dir.join("gateway.toml");
    let url = format!("smpp://gw:gwpass@127.0.0.1:{}?name=sim&version=33", upstream.1);
    std::fs::write(
        &config,
        format!(
            "upstream = [\"{url}\"]\n[[account]]\nsystem_id = \"shop\"\npassword = \"secret\"\n[[route]]\nprefix = \"44\"\nto = [\"sim\"]\n"
        ),
    )
    .unwrap();
    let gateway = Serve::with(&["--config", config.to_str().unwrap()]);
    let port = gateway.1.to_string();
    // A long text: several parts, each with its UDH, through to a v3.3 upstream.
    let text = "Through the gateway and back again, every part of it. ".repeat(5);
    let mut send = smpp();
    send.args(["send", "--host", "127.0.0.1", "--port", &port, "--system-id", "shop", "--password", "secret"]);
    send.args(["--to", "447700900123", "--wait-dlr", "--json", &text]);
    let (ok, out, err) = run(&mut send);
    assert!(ok, "{out}{err}");
    let lines = json_lines(&out);
    let submitted: Vec<&str> =
        lines.iter().filter(|l| l["kind"] == "submitted").map(|l| l["message_id"].as_str().unwrap()).collect();
    let mut receipted: Vec<&str> =
        lines.iter().filter(|l| l["kind"] == "receipt").map(|l| l["receipt"]["id"].as_str().unwrap()).collect();
    assert!(submitted.len() >= 2, "{out}");
    receipted.sort_unstable();
    let mut want = submitted.clone();
    want.sort_unstable();
    assert_eq!(receipted, want, "each part's receipt carries the gateway's id of that part: {out}");
    // No route for France: refused, exit code 5.
    let mut send = smpp();
    send.args(["send", "--host", "127.0.0.1", "--port", &port, "--system-id", "shop", "--password", "secret"]);
    send.args(["--to", "33612345678", "bonjour"]);
    let (ok, out, err) = run(&mut send);
    assert!(!ok && err.contains("ESME_RINVDSTADR"), "{out}{err}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn node_smpp_client_through_serve_upstream_to_node_smpp_server() {
    let node = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../interop/node");
    assert!(
        node.join("node_modules/smpp/package.json").exists(),
        "node-smpp is not installed: run `npm ci --prefix interop/node` (cargo xtask ci does)"
    );
    let mut smsc = std::process::Command::new("node")
        .arg("smsc.js")
        .arg("0")
        .current_dir(&node)
        .stdout(Stdio::piped())
        .spawn()
        .expect("node must be installed");
    let mut lines = BufReader::new(smsc.stdout.take().unwrap()).lines();
    let smsc = Guard(smsc);
    let first = lines.next().unwrap().unwrap();
    let smsc_port = first.strip_prefix("LISTENING ").expect("LISTENING line").to_owned();
    std::thread::spawn(move || lines.for_each(drop));
    let url = format!("smpp://test:secret@127.0.0.1:{smsc_port}?name=node");
    let gateway = Serve::with(&["--upstream", &url, "--account", "interop:secret"]);
    let mut esme = std::process::Command::new("node");
    esme.current_dir(&node).args(["esme.js", &gateway.1.to_string(), "interop", "secret", "300"]);
    let (ok, out, err) = run(&mut esme);
    assert!(ok, "{out}{err}");
    assert_eq!(out.lines().collect::<Vec<_>>(), ["BOUND", "SUBMIT_OK 300", "RECEIPTS 300", "UNBOUND"], "{out}");
    drop(smsc);
}
