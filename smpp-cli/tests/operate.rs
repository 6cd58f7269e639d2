//! The `smpp` binary as operators run it: metrics over HTTP, the PDU trace, the
//! summary log of `serve`, exit codes by cause, JSON output, and `bench`'s
//! duration, binds and receipt latency.

mod common;
#[path = "../../smpp-server/tests/common/prometheus.rs"]
mod prometheus;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{Guard, Serve, run, smpp};
use prometheus::sample;
use serde_json::Value;

/// A port nothing listens on (bound, then let go).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `GET /metrics` from `port`: the body.
fn scrape(port: u16) -> String {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("the metrics listener");
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    text
}

/// A metric's name, labels and value.
type Sample<'a> = (&'a str, Vec<(&'a str, &'a str)>, f64);

/// Lines of a child's stderr, as they come.
fn lines_of(stderr: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// Waits at most `limit` for a line with `needle`; returns the lines read so far.
fn wait_for(lines: &mpsc::Receiver<String>, needle: &str, limit: Duration) -> Vec<String> {
    let until = Instant::now() + limit;
    let mut seen = Vec::new();
    while let Some(left) = until.checked_duration_since(Instant::now()) {
        match lines.recv_timeout(left) {
            Ok(line) => {
                let found = line.contains(needle);
                seen.push(line);
                if found {
                    return seen;
                }
            }
            Err(_) => break,
        }
    }
    panic!("no line with {needle:?} within {limit:?}:\n{}", seen.join("\n"));
}

#[test]
fn serve_metrics_are_scraped_over_http_after_traffic() {
    let metrics = free_port();
    let addr = format!("127.0.0.1:{metrics}");
    let accounts = ["--account", "smppclient1:password", "--account", "watcher:pw", "--account", "nobody:pw"];
    let serve = Serve::with(&[&["--metrics", addr.as_str(), "--dlr-delay-ms", "10"][..], &accounts[..]].concat());
    let port = serve.1.to_string();
    let at = ["--host", "127.0.0.1", "--port", port.as_str()];
    // A receiver that stays bound, of another account than the bench's.
    let mut child = smpp();
    child.args(at).args(["--system-id", "watcher", "--password", "pw", "listen"]);
    let mut listen = Guard(child.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap());
    let mut line = String::new();
    BufReader::new(listen.0.stderr.take().unwrap()).read_line(&mut line).unwrap();
    assert!(line.starts_with("bound"), "{line}");
    // 300 submits with receipts, on one transceiver that takes them.
    let (ok, out, err) = run(smpp().args(at).args(["bench", "--count", "300", "--window", "10", "--dlr", "--json"]));
    assert!(ok, "{out}{err}");
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!((v["statuses"]["ESME_ROK"].as_u64(), v["dlr"]["receipts"].as_u64()), (Some(300), Some(300)), "{v}");
    // Three receipts for an account with no receiver: they wait in the store.
    for _ in 0..3 {
        let (ok, out, err) = run(smpp().args(at).args(["--system-id", "nobody", "--password", "pw"]).args([
            "send",
            "--registered-delivery",
            "1",
            "--to",
            "1",
            "x",
        ]));
        assert!(ok, "{out}{err}");
    }
    let smsc = |labels: &[(&'static str, &'static str)]| [&[("role", "smsc")][..], labels].concat();
    let want: Vec<Sample<'_>> = vec![
        ("smpp_pdus_total", smsc(&[("direction", "in"), ("command", "submit_sm")]), 303.0),
        ("smpp_pdus_total", smsc(&[("direction", "out"), ("command", "deliver_sm")]), 300.0),
        ("smpp_pdus_total", smsc(&[("direction", "in"), ("command", "deliver_sm_resp")]), 300.0),
        // 303 submits, 5 binds and 4 unbinds answered ESME_ROK.
        ("smpp_responses_total", smsc(&[("direction", "out"), ("status", "ESME_ROK")]), 312.0),
        ("smpp_responses_total", smsc(&[("direction", "in"), ("status", "ESME_ROK")]), 300.0),
        ("smpp_response_seconds_count", smsc(&[("command", "deliver_sm")]), 300.0),
        ("smpp_bound_sessions", smsc(&[("mode", "receiver"), ("account", "watcher")]), 1.0),
        ("smpp_bound_sessions", smsc(&[("mode", "transceiver"), ("account", "smppclient1")]), 0.0),
        ("smpp_window_in_flight", smsc(&[]), 0.0),
        ("smpp_store_waiting", vec![("account", "nobody")], 3.0),
    ];
    // The server publishes as its connections end and samples the store each
    // second: read until every figure is in, for at most 10 s.
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let text = scrape(metrics);
        let wrong: Vec<_> = want
            .iter()
            .filter(|(name, labels, value)| sample(&text, name, labels) != Some(*value))
            .map(|(name, labels, value)| {
                format!("{name}{labels:?}: want {value}, got {:?}", sample(&text, name, labels))
            })
            .collect();
        if wrong.is_empty() {
            break;
        }
        assert!(Instant::now() < until, "{}\n\n{text}", wrong.join("\n"));
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_pdu_trace_names_every_pdu_and_never_shows_the_password() {
    let args = ["send", "-vv", "--dump-pdus", "--password", "s3cr3t", "--to", "447700900123", "hello"];
    let (ok, out, err) = run(smpp().args(args));
    assert!(ok, "{out}{err}");
    for want in [
        r#"pdu dir="out" command=bind_transceiver seq=1 status=ESME_ROK len="#,
        r#"pdu dir="in" command=bind_transceiver_resp seq=1 status=ESME_ROK len="#,
        r#"pdu dir="out" command=submit_sm seq=2 status=ESME_ROK len="#,
        r#"pdu dir="in" command=submit_sm_resp seq=2 status=ESME_ROK len=25"#,
        r#"pdu dir="out" command=unbind seq=3"#,
        "session{id=",
        r#"pdu octets dir="out" seq=2 hex=000000"#,
    ] {
        assert!(err.contains(want), "{want:?} in\n{err}");
    }
    let password_hex: String = b"s3cr3t".iter().map(|b| format!("{b:02x}")).collect();
    assert!(!err.contains(&password_hex) && !err.contains("s3cr3t"), "the password leaked:\n{err}");
    assert!(err.contains("00************00"), "the password's octets are shown as **:\n{err}");
    assert!(!err.contains('\u{1b}'), "no colour codes in a pipe:\n{err}");
    // The filter the docs give shows the PDUs and nothing else.
    let (ok, out, err) = run(smpp().env("SMPP_LOG", "smpp::wire=debug").args(["send", "--to", "1", "x"]));
    assert!(ok, "{out}{err}");
    let pdus = err.lines().filter(|l| l.contains("smpp::wire: pdu dir=")).count();
    assert!(pdus >= 12, "bind, submit and unbind with their answers, each side:\n{err}");
    assert!(!err.contains("pdu octets"), "octets only at trace:\n{err}");
}

#[test]
fn serve_logs_a_summary_not_a_line_per_message() {
    let start = |extra: &[&str]| {
        let mut cmd = smpp();
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--summary-secs", "1"]).args(extra);
        let mut child = Guard(cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap());
        let mut line = String::new();
        BufReader::new(child.0.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let port = line.trim().rsplit(':').next().unwrap().to_owned();
        let lines = lines_of(child.0.stderr.take().unwrap());
        (child, port, lines)
    };
    let (_quiet, port, lines) = start(&[]);
    let at = ["--host", "127.0.0.1", "--port", port.as_str()];
    let (ok, out, err) = run(smpp().args(at).args(["bench", "--count", "2000", "--json"]));
    assert!(ok, "{out}{err}");
    let (ok, out, err) = run(smpp().args(at).args(["send", "--to", "99911", "refused"]));
    assert!(!ok, "{out}{err}");
    let seen = wait_for(&lines, "ESME_RINVDSTADR 1", Duration::from_secs(10));
    let summary = seen.iter().filter(|l| l.contains("submits") && l.contains("/s")).count();
    assert!(summary >= 1, "{seen:#?}");
    assert!(seen.iter().all(|l| !l.contains("submit accepted")), "no line per message: {seen:#?}");
    assert!(seen.iter().all(|l| !l.contains('\u{1b}')), "no colour in a pipe: {seen:#?}");
    // With -v, a line per message.
    let (_loud, port, lines) = start(&["-v"]);
    let (ok, out, err) = run(smpp().args(["--host", "127.0.0.1", "--port", &port, "send", "--to", "1", "x"]));
    assert!(ok, "{out}{err}");
    wait_for(&lines, "submit accepted", Duration::from_secs(10));
}

#[test]
fn exit_codes_tell_the_cause() {
    let code = |args: &[&str]| smpp().args(args).stdout(Stdio::null()).stderr(Stdio::null()).status().unwrap().code();
    assert_eq!(code(&["send", "--to", "not-a-number", "x"]), Some(2), "bad input");
    assert_eq!(code(&["send", "--to", "1", "--registered-delivery", "300", "x"]), Some(2), "a bad flag value");
    assert_eq!(code(&["--host", "127.0.0.1", "serve"]), Some(2), "a flag serve does not take");
    assert_eq!(code(&["--timeout", "5", "serve"]), Some(2), "nor this one");
    // Zero took the simulator's MO task down with a panic (and serve ran on); now it is
    // bad input, refused at once.
    let mut zero = smpp()
        .args(["serve", "--listen", "127.0.0.1:0", "--mo-every", "0"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let ended = loop {
        match zero.try_wait().unwrap() {
            Some(status) => break status.code(),
            None if Instant::now() > deadline => {
                let _ = zero.kill();
                let _ = zero.wait();
                break None;
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    assert_eq!(ended, Some(2), "an MO period of zero is bad input (None: serve ran on)");
    let nobody = free_port().to_string();
    assert_eq!(code(&["send", "--host", "127.0.0.1", "--port", &nobody, "--to", "1", "x"]), Some(3), "refused");
    let serve = Serve::start(&["alice:pw"]);
    let port = serve.1.to_string();
    let alice = ["--host", "127.0.0.1", "--port", port.as_str(), "--system-id", "alice"];
    assert_eq!(code(&[&alice[..], &["--password", "wrong", "send", "--to", "1", "x"]].concat()), Some(4), "bind");
    let refused = [&alice[..], &["--password", "pw", "send", "--to", "99911", "x"]].concat();
    assert_eq!(code(&refused), Some(5), "submit refused ESME_RINVDSTADR");
    // A peer that takes the connection and never answers the bind.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port().to_string();
    let holder = std::thread::spawn(move || silent.accept().map(|(s, _)| s));
    let start = Instant::now();
    let timeout = ["send", "--host", "127.0.0.1", "--port", &silent_port, "--timeout", "1", "--to", "1", "x"];
    assert_eq!(code(&timeout), Some(6), "no bind response");
    assert!(start.elapsed() < Duration::from_secs(10), "--timeout 1 is one second");
    drop(holder.join());
    let (_, serve_help, _) = run(smpp().args(["serve", "--help"]));
    for client_flag in ["--host", "--password", "--system-id", "--bind ", "--interface-version", "--ca-file", "--tls "]
    {
        assert!(!serve_help.contains(client_flag), "serve --help lists {client_flag}:\n{serve_help}");
    }
    assert!(serve_help.contains("--metrics") && serve_help.contains("--threads"), "{serve_help}");
    let (_, out, _) = run(smpp().arg("--help"));
    for documented in
        ["Exit codes:", "2  bad input", "3  cannot connect", "4  bind refused", "5  submit refused", "6  timeout"]
    {
        assert!(out.contains(documented), "{documented:?} in --help:\n{out}");
    }
}

#[test]
fn send_json_prints_each_part_and_its_receipt_and_says_the_coding_in_words() {
    let text = "x".repeat(200);
    let (ok, out, err) = run(smpp().args(["send", "--json", "--wait-dlr", "--to", "447700900123", &text]));
    assert!(ok, "{out}{err}");
    let lines: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).expect("one JSON object a line")).collect();
    let parts: Vec<_> = lines.iter().filter(|v| v["kind"] == "submitted").collect();
    assert_eq!(parts.len(), 2, "{out}");
    for (k, p) in parts.iter().enumerate() {
        assert_eq!((p["part"].as_u64(), p["parts"].as_u64()), (Some(k as u64 + 1), Some(2)), "{p}");
        assert_eq!(p["coding"], "GSM 7-bit", "{p}");
    }
    let mut ids: Vec<_> = parts.iter().map(|p| p["message_id"].as_str().unwrap().to_owned()).collect();
    let mut receipts: Vec<_> = lines
        .iter()
        .filter(|v| v["kind"] == "receipt")
        .map(|v| v["receipt"]["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    receipts.sort();
    assert_eq!(ids, receipts, "a receipt for each part: {out}");
    let (ok, out, err) = run(smpp().args(["send", "--to", "447700900123", "привет"]));
    assert!(ok, "{out}{err}");
    assert!(err.contains("UCS-2, 1 part\n"), "{err}");
}

#[test]
fn bench_runs_for_a_duration_over_several_binds_and_reports_receipt_latency() {
    let args = ["bench", "--duration", "1s", "--binds", "2", "--threads", "1", "--window", "5", "--dlr", "--json"];
    let (ok, out, err) = run(smpp().args(args));
    assert!(ok, "{out}{err}");
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    let count = v["count"].as_u64().unwrap();
    let secs = v["secs"].as_f64().unwrap();
    assert!(count > 10 && (1.0..5.0).contains(&secs), "{v}");
    assert_eq!(v["statuses"]["ESME_ROK"].as_u64(), Some(count), "{v}");
    assert_eq!(v["binds"], 2, "{v}");
    assert_eq!((v["dlr"]["receipts"].as_u64(), v["dlr"]["missing"].as_u64()), (Some(count), Some(0)), "{v}");
    let (p50, max) = (v["dlr"]["latency_ms"]["p50"].as_f64().unwrap(), v["dlr"]["latency_ms"]["max"].as_f64().unwrap());
    // The built-in simulator sends each receipt a second after its submit.
    assert!((900.0..5_000.0).contains(&p50) && p50 <= max, "{v}");
    let (ok, _, err) = run(smpp().args(["bench", "--duration", "1h5", "--count", "1"]));
    assert!(!ok && err.contains("ms, s or m"), "{err}");
}

#[test]
fn for_serve_too_a_flag_before_the_subcommand_beats_a_variable() {
    let mut cmd = smpp();
    cmd.env("SMPP_SYSTEM_TYPE", "other").args(["--system-type", "smpp", "serve", "--listen", "127.0.0.1:0"]);
    let mut serve = Guard(cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap());
    let mut line = String::new();
    BufReader::new(serve.0.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let port = line.trim().rsplit(':').next().unwrap().to_owned();
    let at = ["--host", "127.0.0.1", "--port", port.as_str()];
    // Binds must carry the flag's system_type, smpp (send's default), not the variable's.
    let (ok, out, err) = run(smpp().args(at).args(["send", "--to", "1", "x"]));
    assert!(ok, "{out}{err}");
    let (ok, _, err) = run(smpp().args(at).args(["--system-type", "other", "send", "--to", "1", "x"]));
    assert!(!ok && err.contains("ESME_RINVSYSTYP"), "{err}");
}
