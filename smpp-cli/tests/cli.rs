//! The `smpp` binary, run as a person would: output and exit status of every
//! subcommand, error cases included.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};

use common::{Guard, Serve, run, smpp, temp_dir};

#[test]
fn send_works_on_a_fresh_machine_against_the_built_in_simulator() {
    let (ok, out, err) = run(smpp().args(["send", "--to", "447700900123", "Hello from Rust"]));
    assert!(ok, "{out}{err}");
    assert!(out.starts_with("part 1/1: message_id "), "{out}");
    assert!(err.contains("built-in simulator"), "{err}");
}

#[test]
fn send_waits_for_the_receipt_of_every_part() {
    let text = "Привет, мир! ".repeat(8);
    let (ok, out, err) = run(smpp().args(["send", "--to", "+447700900123", "--wait-dlr", &text]));
    assert!(ok, "{out}{err}");
    assert_eq!(out.matches("message_id").count(), 2, "{out}");
    assert_eq!(out.matches("stat DELIVRD").count(), 2, "{out}");
}

/// A running `smpp listen --json`, its stdout lines arriving on a channel; killed on
/// drop.
struct ListenJson(Child, std::sync::mpsc::Receiver<String>);

impl ListenJson {
    /// `smpp listen --json` with these arguments after the subcommand.
    fn start(args: &[&str]) -> Self {
        let mut child =
            smpp().args(["listen", "--json"]).args(args).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in stdout.lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self(child, rx)
    }

    /// The JSON objects printed until `done` holds for them, or until `limit` passes
    /// or the process ends (then `done` never held).
    fn until(
        &self,
        limit: std::time::Duration,
        done: impl Fn(&[serde_json::Value]) -> bool,
    ) -> Result<Vec<serde_json::Value>, Vec<serde_json::Value>> {
        let deadline = std::time::Instant::now() + limit;
        let mut seen = Vec::new();
        while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
            let Ok(line) = self.1.recv_timeout(left) else { break };
            seen.push(serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line:?} is not JSON: {e}")));
            if done(&seen) {
                return Ok(seen);
            }
        }
        Err(seen)
    }
}

impl Drop for ListenJson {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// JSON objects, one a line, for a failure message.
fn lines_of(values: &[serde_json::Value]) -> String {
    values.iter().map(serde_json::Value::to_string).collect::<Vec<_>>().join("\n")
}

#[test]
fn send_registered_delivery_returns_at_once_and_listen_json_prints_the_receipt_and_mo() {
    // Receipts come 3 s after the submit; an MO every second.
    let serve = Serve::with(&["--dlr-delay-ms", "3000", "--mo-every", "1"]);
    let port = serve.1.to_string();
    let base = ["--host", "127.0.0.1", "--port", port.as_str()];
    let start = std::time::Instant::now();
    let (ok, out, err) =
        run(smpp().args(base).args(["send", "--to", "447700900123", "--registered-delivery", "1", "track me"]));
    assert!(ok, "{out}{err}");
    assert!(start.elapsed() < std::time::Duration::from_secs(3), "send did not wait for the receipt: {out}");
    assert!(!out.contains("receipt") && !out.contains("stat"), "no receipt printed: {out}");
    let id = out.trim().strip_prefix("part 1/1: message_id ").unwrap_or_else(|| panic!("one message_id: {out}"));
    assert!(!id.is_empty() && !id.contains(char::is_whitespace), "{out}");
    // The simulator kept the receipt for a receiver, and a later listen gets it, with
    // the MO around it.
    let listen = ListenJson::start(&[&base[..], &["--count", "30"]].concat());
    let is_receipt = |v: &serde_json::Value| v["kind"] == "receipt" && v["receipt"]["id"] == id;
    let is_mo = |v: &serde_json::Value| v["kind"] == "deliver_sm";
    let lines = listen
        .until(std::time::Duration::from_secs(30), |seen| seen.iter().any(is_receipt) && seen.iter().any(is_mo))
        .unwrap_or_else(|seen| panic!("no receipt for {id} and MO in:\n{}", lines_of(&seen)));
    for v in &lines {
        for key in ["kind", "from", "to", "text", "data_coding", "esm_class"] {
            assert!(v.get(key).is_some(), "{key} in {v}");
        }
    }
    let receipt = lines.iter().find(|v| is_receipt(v)).unwrap();
    assert_eq!((receipt["from"].as_str(), receipt["to"].as_str()), (Some("447700900123"), Some("12345")), "{receipt}");
    assert_eq!(receipt["esm_class"], 0x04, "{receipt}");
    let r = &receipt["receipt"];
    assert_eq!((r["stat"].as_str(), r["state"].as_str()), (Some("DELIVRD"), Some("DELIVERED")), "{r}");
    assert_eq!(
        (r["sub"].as_u64(), r["dlvrd"].as_u64(), r["text"].as_str()),
        (Some(1), Some(1), Some("track me")),
        "{r}"
    );
    assert!(r["done_date"].as_str().is_some_and(|d| d.len() >= 10), "{r}");
    let mo = lines.iter().find(|v| is_mo(v)).unwrap();
    assert_eq!(mo["text"], "Hello from the simulator", "{mo}");
    assert_eq!((mo["from"].as_str(), mo["data_coding"].as_u64()), (Some("447700900123"), Some(0)), "{mo}");
    assert!(mo.get("receipt").is_none(), "{mo}");
}

#[test]
fn send_wait_dlr_with_registered_delivery_0x11_prints_the_notification_and_waits_for_the_final_receipt() {
    let (ok, out, err) =
        run(smpp().args(["send", "--to", "447700900123", "--wait-dlr", "--registered-delivery", "0x11", "Hi"]));
    assert!(ok, "{out}{err}");
    let enroute = out.find("stat ENROUTE").unwrap_or_else(|| panic!("a notification: {out}"));
    let delivered = out.find("stat DELIVRD").unwrap_or_else(|| panic!("the final receipt: {out}"));
    assert!(enroute < delivered, "{out}");
}

#[test]
fn send_registered_delivery_refuses_a_value_that_is_not_a_byte_and_a_wait_for_no_receipt() {
    for bad in ["256", "0x100", "0xg", "one"] {
        let (ok, _, err) = run(smpp().args(["send", "--to", "1", "--registered-delivery", bad, "x"]));
        assert!(!ok && err.contains("--registered-delivery") && err.contains("0 to 255"), "{bad}: {err}");
    }
    let start = std::time::Instant::now();
    let (ok, _, err) = run(smpp().args(["send", "--to", "1", "--wait-dlr", "--registered-delivery", "0x10", "x"]));
    assert!(!ok && err.contains("--wait-dlr") && err.contains("asks for none"), "{err}");
    assert!(start.elapsed() < std::time::Duration::from_secs(5), "refused at once");
}

#[test]
fn send_errors_a_person_can_act_on() {
    let (ok, _, err) = run(smpp().args(["send", "--to", "447700900123", "--coding", "gsm", "smile 😀"]));
    assert!(!ok);
    assert!(err.contains("'😀'") && err.contains("position 6"), "{err}");
    let (ok, _, err) = run(smpp().args(["send", "--to", "not-a-number", "hi"]));
    assert!(!ok && err.contains("not a phone number"), "{err}");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (ok, _, err) =
        run(smpp().args(["send", "--host", "127.0.0.1", "--port", &port.to_string(), "--to", "1", "hi"]));
    assert!(!ok);
    assert!(err.contains(&format!("127.0.0.1:{port}")) && err.to_lowercase().contains("refused"), "{err}");
}

#[test]
fn serve_checks_accounts_and_flags_beat_environment_beat_file() {
    let serve = Serve::start(&["alice:secret"]);
    let port = serve.1.to_string();
    let base = ["--host", "127.0.0.1", "--port", port.as_str(), "--system-id", "alice"];
    let (ok, _, err) = run(smpp().args(base).args(["--password", "wrong", "send", "--to", "1", "x"]));
    assert!(!ok);
    assert!(err.contains("ESME_RINVPASWD (0x0E): invalid password"), "{err}");
    // The environment supplies the password...
    let (ok, out, err) = run(smpp().args(base).env("SMPP_PASSWORD", "secret").args(["send", "--to", "1", "x"]));
    assert!(ok, "{out}{err}");
    // ...a flag beats it...
    let (ok, _, err) =
        run(smpp().args(base).env("SMPP_PASSWORD", "secret").args(["--password", "nope", "send", "--to", "1", "x"]));
    assert!(!ok && err.contains("ESME_RINVPASWD"), "{err}");
    // ...and the environment beats the TOML file.
    let dir = std::env::temp_dir().join(format!("smpp-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("smpp.toml");
    std::fs::write(
        &file,
        format!("host = \"127.0.0.1\"\nport = {port}\nsystem_id = \"alice\"\npassword = \"secret\"\n"),
    )
    .unwrap();
    let (ok, out, err) = run(smpp().args(["--config", file.to_str().unwrap(), "send", "--to", "1", "from file"]));
    assert!(ok, "{out}{err}");
    let (ok, _, err) =
        run(smpp().env("SMPP_PASSWORD", "bad").args(["--config", file.to_str().unwrap(), "send", "--to", "1", "x"]));
    assert!(!ok && err.contains("ESME_RINVPASWD"), "{err}");
    let unknown = ["--host", "127.0.0.1", "--port", port.as_str(), "--system-id", "mallory", "--password", "secret"];
    let (ok, _, err) = run(smpp().args(unknown).args(["send", "--to", "1", "x"]));
    assert!(!ok && err.contains("ESME_RINVSYSID"), "{err}");
}

#[test]
fn listen_prints_messages_until_the_count() {
    let (ok, out, err) = run(smpp().args(["listen", "--count", "1"]));
    assert!(ok, "{out}{err}");
    assert!(out.contains("message from 447700900123: Hello from the simulator"), "{out}");
}

#[test]
fn bench_reports_a_table_or_json() {
    let (ok, out, err) = run(smpp().args(["bench", "--count", "3000", "--window", "20", "--binds", "2", "--json"]));
    assert!(ok, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON object");
    assert_eq!(v["count"], 3000);
    assert_eq!(v["statuses"]["ESME_ROK"], 3000);
    assert!(v["msgs_per_sec"].as_f64().unwrap() > 0.0);
    assert!(v["latency_us"]["p999"].as_f64().unwrap() >= v["latency_us"]["p50"].as_f64().unwrap());
    assert_eq!(v["busy_poll_us"], 0, "off by default");
    assert_eq!(
        (v["accepted"].as_u64(), v["never_sent"].as_u64(), v["outcome_unknown"].as_u64()),
        (Some(3000), Some(0), Some(0))
    );
    // Busy polling, from the flag or the environment, reaches the client it benches.
    let (ok, out, err) = run(smpp().args(["bench", "--count", "2000", "--busy-poll-us", "50", "--json"]));
    assert!(ok, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON object");
    assert_eq!((v["busy_poll_us"].as_u64(), v["statuses"]["ESME_ROK"].as_u64()), (Some(50), Some(2000)));
    let (ok, out, err) = run(smpp().env("SMPP_BUSY_POLL_US", "70").args(["bench", "--count", "100", "--json"]));
    assert!(ok, "{out}{err}");
    assert!(out.contains("\"busy_poll_us\":70"), "{out}");
    let (ok, out, _) = run(smpp().args(["bench", "--count", "500"]));
    assert!(ok);
    for row in ["msg/s", "p50 us", "p90 us", "p99 us", "p999 us", "ESME_ROK"] {
        assert!(out.contains(row), "{row} in {out}");
    }
}

#[test]
fn bench_against_a_throttling_smsc_gets_every_message_through_and_counts_retries() {
    let serve = {
        let mut cmd = smpp();
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--throttle", "1000"]);
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let port: u16 = line.trim().rsplit(':').next().unwrap().parse().unwrap();
        Serve(child, port)
    };
    let port = serve.1.to_string();
    let (ok, out, err) = run(smpp().args([
        "bench",
        "--host",
        "127.0.0.1",
        "--port",
        &port,
        "--count",
        "2000",
        "--window",
        "50",
        "--json",
    ]));
    assert!(ok, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON object");
    assert_eq!(v["statuses"]["ESME_ROK"], 2000, "{v}");
    assert_eq!((v["never_sent"].as_u64(), v["outcome_unknown"].as_u64()), (Some(0), Some(0)), "{v}");
    assert!(v["retries"].as_u64().unwrap() > 0 && v["retries"] == v["throttled"], "{v}");
}

#[test]
fn send_over_v33_waits_for_receipts_and_refuses_a_bind_that_cannot_receive() {
    let (ok, out, err) =
        run(smpp().args(["send", "--interface-version", "33", "--to", "447700900123", "--wait-dlr", "Hello v3.3"]));
    assert!(ok, "{out}{err}");
    assert!(out.contains("stat DELIVRD"), "{out}");
    let start = std::time::Instant::now();
    let (ok, out, err) = run(smpp().args(["send", "--bind", "tx", "--to", "447700900123", "--wait-dlr", "Hello"]));
    assert!(!ok, "{out}");
    assert!(err.contains("--wait-dlr") && err.contains("--bind tx"), "{err}");
    assert!(start.elapsed() < std::time::Duration::from_secs(5), "refused at once");
    let (ok, _, err) = run(smpp().args(["send", "--bind", "rx", "--to", "447700900123", "Hello"]));
    assert!(!ok && err.contains("--bind rx"), "{err}");
}

#[test]
fn decode_prints_fields_by_spec_name_and_json() {
    let bind = "0000002500000002000000000003995f747769747465720074776974746572000034000000";
    let (ok, out, _) = run(smpp().args(["decode", bind]));
    assert!(ok);
    assert!(out.starts_with("bind_transmitter seq 235871 status ESME_ROK"), "{out}");
    assert!(out.contains("system_id: \"twitter\"") && out.contains("password: ***"), "{out}");
    let resp = "0000001d800000090000000000039943536d7363204757000210000134";
    let (ok, out, _) = run(smpp().args(["decode", "--json", resp]));
    assert!(ok);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["command_id"], "bind_transceiver_resp");
    assert_eq!(v["command_status"], "ESME_ROK");
    assert_eq!(v["system_id"], "Smsc GW");
    assert_eq!(v["tlvs"][0]["name"], "sc_interface_version");
    // A stream of two PDUs from stdin.
    let mut child = smpp().args(["decode", "--json"]).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"00000010000000150000000000000001\n00000010800000150000000000000001\n")
        .unwrap();
    let out = String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap();
    let ids: Vec<String> =
        out.lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["command_id"].to_string()).collect();
    assert_eq!(ids, ["\"enquire_link\"", "\"enquire_link_resp\""]);
}

#[test]
fn decode_errors_name_the_problem_and_the_offset() {
    let (ok, _, err) = run(smpp().args(["decode", "00zz"]));
    assert!(!ok && err.contains("bad hex") && err.contains("'z'"), "{err}");
    let (ok, _, err) = run(smpp().args(["decode", "0000001e00000003000000000000000161776179001c1d416c69636572"]));
    assert!(!ok && err.contains("truncated PDU at offset 0") && err.contains("command_length is 30"), "{err}");
    let (ok, _, err) = run(smpp().args(["decode", "0000001180000004000000000a342ee139"]));
    assert!(!ok && err.contains("`message_id`") && err.contains("offset 16"), "{err}");
    let (ok, _, err) = run(smpp().args(["decode", "3800000f800000060000000000000001"]));
    assert!(!ok && err.contains("above the maximum"), "{err}");
}

#[test]
fn a_tls_bind_end_to_end_through_the_cli() {
    let dir = temp_dir("tls");
    let key = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert, pkey) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, key.cert.pem()).unwrap();
    std::fs::write(&pkey, key.key_pair.serialize_pem()).unwrap();
    let serve = Serve::with(&["--tls-cert", cert.to_str().unwrap(), "--tls-key", pkey.to_str().unwrap()]);
    let port = serve.1.to_string();
    let tls = ["--host", "127.0.0.1", "--port", &port, "--tls", "--ca-file", cert.to_str().unwrap()];
    let tls = [&tls[..], &["--tls-server-name", "localhost"]].concat();
    let (ok, out, err) = run(smpp().args(&tls).args(["send", "--to", "447700900123", "--wait-dlr", "over TLS"]));
    assert!(ok, "{out}{err}");
    assert!(out.contains("message_id") && out.contains("stat DELIVRD"), "{out}");
    let (ok, out, err) = run(smpp().args(&tls).args(["bench", "--count", "300", "--json"]));
    assert!(ok, "{out}{err}");
    assert!(out.contains("\"ESME_ROK\":300"), "{out}");
    // The certificate is checked: without the CA it is refused, and so is plain TCP.
    let (ok, _, err) = run(smpp().args(["--host", "localhost", "--port", &port, "--tls", "send", "--to", "1", "x"]));
    assert!(!ok && err.to_lowercase().contains("tls"), "{err}");
    let (ok, _, _) = run(smpp().args(["--host", "127.0.0.1", "--port", &port, "send", "--to", "1", "x"]));
    assert!(!ok, "plain SMPP to a TLS port does not bind");
    // listen over TLS too.
    let serve_mo =
        Serve::with(&["--tls-cert", cert.to_str().unwrap(), "--tls-key", pkey.to_str().unwrap(), "--mo-every", "1"]);
    let mo_port = serve_mo.1.to_string();
    let tls_mo = ["--host", "127.0.0.1", "--port", &mo_port, "--tls", "--ca-file", cert.to_str().unwrap()];
    let (ok, out, err) = run(smpp().args(tls_mo).args(["--tls-server-name", "localhost", "listen", "--count", "1"]));
    assert!(ok, "{out}{err}");
    assert!(out.contains("Hello from the simulator"), "{out}");
    // serve takes its certificate from --tls-cert; --tls alone is a client flag.
    let (ok, _, err) = run(smpp().args(["--tls", "serve"]));
    assert!(!ok && err.contains("--tls-cert"), "{err}");
    // --ca-file without --tls is a mistake worth naming.
    let (ok, _, err) = run(smpp().args(["--ca-file", cert.to_str().unwrap(), "send", "--to", "1", "x"]));
    assert!(!ok && err.contains("--tls"), "{err}");
}

#[test]
fn serve_options_shape_the_simulator() {
    // A receipt mix that always fails, a destination mapped to a status, and a delay
    // before every submit's answer.
    let serve = Serve::with(&[
        "--dlr-mix",
        "UNDELIV:1",
        "--error-map",
        "447700900999=ESME_RINVDSTADR,4477009000=0x45",
        "--resp-delay-ms",
        "300",
    ]);
    let port = serve.1.to_string();
    let base = ["--host", "127.0.0.1", "--port", port.as_str()];
    let start = std::time::Instant::now();
    let (ok, out, err) = run(smpp().args(base).args(["send", "--to", "447700900123", "--wait-dlr", "x"]));
    assert!(ok, "{out}{err}");
    assert!(out.contains("stat UNDELIV"), "{out}");
    assert!(start.elapsed() >= std::time::Duration::from_millis(300), "the answer waited");
    let (ok, _, err) = run(smpp().args(base).args(["send", "--to", "447700900999", "x"]));
    assert!(!ok && err.contains("ESME_RINVDSTADR"), "{err}");
    let (ok, _, err) = run(smpp().args(base).args(["send", "--to", "4477009000", "x"]));
    assert!(!ok && err.contains("ESME_RSUBMITFAIL"), "{err}");
    let (ok, _, err) = run(smpp().args(["serve", "--dlr-mix", "DELIVRD:x"]));
    assert!(!ok && err.contains("--dlr-mix"), "{err}");
    let (ok, _, err) = run(smpp().args(["serve", "--error-map", "1=NOPE"]));
    assert!(!ok && err.contains("--error-map"), "{err}");
}

#[test]
fn serve_requires_the_system_type_it_is_given() {
    let serve = Serve::with(&["--system-type", "smpp"]);
    let port = serve.1.to_string();
    let base = ["--host", "127.0.0.1", "--port", port.as_str()];
    let (ok, _, err) = run(smpp().args(base).args(["--system-type", "other", "send", "--to", "1", "x"]));
    assert!(!ok && err.contains("ESME_RINVSYSTYP"), "{err}");
    let (ok, out, err) = run(smpp().args(base).args(["send", "--to", "1", "x"]));
    assert!(ok, "the client's default system_type is smpp: {out}{err}");
}

#[test]
fn serve_binds_a_v33_transceiver_as_a_transmitter_and_a_receiver() {
    // A v3.3 transceiver is two binds (transmitter and receiver): it works.
    let serve = Serve::with(&[]);
    let port = serve.1.to_string();
    let base = ["--host", "127.0.0.1", "--port", port.as_str(), "--interface-version", "33"];
    let (ok, out, err) = run(smpp().args(base).args(["send", "--to", "447700900123", "--wait-dlr", "v3.3"]));
    assert!(ok, "{out}{err}");
    assert!(out.contains("stat DELIVRD"), "{out}");
}

#[test]
fn serve_reads_accounts_and_their_limits_from_the_config_file() {
    let dir = temp_dir("accounts");
    let file = dir.join("serve.toml");
    std::fs::write(
        &file,
        "[[account]]\nsystem_id = \"carol\"\npassword = \"pw1\"\nthrottle = 200\nmax_binds = 1\n\n[[account]]\nsystem_id = \"dave\"\npassword = \"pw2\"\n",
    )
    .unwrap();
    let serve = Serve::with(&["--config", file.to_str().unwrap()]);
    let port = serve.1.to_string();
    let carol = ["--host", "127.0.0.1", "--port", port.as_str(), "--system-id", "carol", "--password", "pw1"];
    let (ok, out, err) = run(smpp().args(carol).args(["send", "--to", "1", "x"]));
    assert!(ok, "{out}{err}");
    let dave = ["--host", "127.0.0.1", "--port", port.as_str(), "--system-id", "dave", "--password", "pw2"];
    let (ok, out, err) = run(smpp().args(dave).args(["send", "--to", "1", "x"]));
    assert!(ok, "{out}{err}");
    // The default account is gone once the file names accounts.
    let (ok, _, err) = run(smpp().args(["--host", "127.0.0.1", "--port", port.as_str(), "send", "--to", "1", "x"]));
    assert!(!ok && err.contains("ESME_RINVSYSID"), "{err}");
    // carol's throttle: a bench above 200/s is throttled, and still gets every message through.
    let (ok, out, err) = run(smpp().args(carol).args(["bench", "--count", "600", "--window", "50", "--json"]));
    assert!(ok, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON object");
    assert_eq!(v["statuses"]["ESME_ROK"], 600, "{v}");
    assert!(v["throttled"].as_u64().unwrap() > 0, "{v}");
    // carol's bind limit: a pool of two binds is refused its second.
    let (ok, _, err) = run(smpp().args(carol).args(["bench", "--count", "10", "--binds", "2"]));
    assert!(!ok && err.contains("ESME_RBINDFAIL"), "{err}");
}

/// A TCP connection that has sent a bind of smppclient1 (`body` makes its kind).
fn raw_bind(
    port: u16,
    version: smpp_wire::InterfaceVersion,
    body: fn(smpp_wire::Bind) -> smpp_wire::Body,
) -> std::net::TcpStream {
    use std::io::Write;
    let mut bind = smpp_wire::Bind::default();
    bind.system_id = "smppclient1".parse().unwrap();
    bind.password = smpp_wire::Password::new("password").unwrap();
    bind.interface_version = version;
    let mut wire = bytes::BytesMut::new();
    smpp_wire::Pdu::new(smpp_wire::SequenceNumber::new(1), body(bind)).encode(&mut wire);
    let mut tcp = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(30))).unwrap();
    tcp.write_all(&wire).unwrap();
    tcp
}

/// A raw bind_transceiver with interface_version 0x33 over TCP; returns the status.
fn raw_v33_transceiver_bind(port: u16) -> smpp_wire::CommandStatus {
    use std::io::Read;
    let mut tcp = raw_bind(port, smpp_wire::InterfaceVersion::V33, smpp_wire::Body::BindTransceiver);
    let mut header = [0u8; 16];
    tcp.read_exact(&mut header).unwrap();
    smpp_wire::CommandStatus(u32::from_be_bytes([header[8], header[9], header[10], header[11]]))
}

#[test]
fn serve_refuses_a_v33_bind_transceiver_unless_lenient() {
    let strict = Serve::with(&[]);
    assert_eq!(raw_v33_transceiver_bind(strict.1), smpp_wire::CommandStatus::ESME_RINVCMDID);
    let lenient = Serve::with(&["--lenient"]);
    assert_eq!(raw_v33_transceiver_bind(lenient.1), smpp_wire::CommandStatus::ESME_ROK);
}

#[test]
fn the_window_keys_of_an_account_in_the_config_file_are_read() {
    let dir = temp_dir("windows");
    let file = dir.join("serve.toml");
    std::fs::write(&file, "[[account]]\nsystem_id = \"erin\"\npassword = \"pw\"\nwindow = 2\nreceive_window = 3\n")
        .unwrap();
    let serve = Serve::with(&["--config", file.to_str().unwrap()]);
    let port = serve.1.to_string();
    let erin = ["--host", "127.0.0.1", "--port", port.as_str(), "--system-id", "erin", "--password", "pw"];
    // A receive window of 3: a bench with a window of 10 still gets everything
    // through (the rest are answered ESME_RTHROTTLED and retried).
    let (ok, out, err) = run(smpp().args(erin).args(["bench", "--count", "200", "--window", "10", "--json"]));
    assert!(ok, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON object");
    assert_eq!(v["statuses"]["ESME_ROK"], 200, "{v}");
    assert!(v["throttled"].as_u64().unwrap() > 0, "the receive window of 3 answered some ESME_RTHROTTLED: {v}");
    // An unknown key is refused, naming it.
    std::fs::write(&file, "[[account]]\nsystem_id = \"erin\"\npassword = \"pw\"\nwindowz = 2\n").unwrap();
    let (ok, _, err) = run(smpp().args(["--config", file.to_str().unwrap(), "serve", "--listen", "127.0.0.1:0"]));
    assert!(!ok && err.contains("windowz"), "{err}");
}

// ---- the store: a file that survives kill -9, and a cluster on Redis -------------

#[path = "../../smpp-server/tests/common/redis.rs"]
mod redis_server;

/// `smpp send --registered-delivery 1` of `count` messages; their message ids.
fn send_with_receipts(port: u16, count: usize) -> Vec<String> {
    let port = port.to_string();
    (0..count)
        .map(|k| {
            let (ok, out, err) = run(smpp().args(["--host", "127.0.0.1", "--port", port.as_str()]).args([
                "send",
                "--to",
                "447700900123",
                "--registered-delivery",
                "1",
                &format!("message {k}"),
            ]));
            assert!(ok, "{out}{err}");
            out.trim()
                .strip_prefix("part 1/1: message_id ")
                .unwrap_or_else(|| panic!("one message_id: {out}"))
                .to_owned()
        })
        .collect()
}

/// `smpp listen --json --count 1000` on `port`, once it says it is bound.
fn listen_bound(port: u16) -> ListenJson {
    let port = port.to_string();
    let mut child = smpp()
        .args(["--host", "127.0.0.1", "--port", port.as_str(), "listen", "--json", "--count", "1000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let (bound_tx, bound_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            let _ = bound_tx.send(line);
        }
    });
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let first = bound_rx.recv_timeout(std::time::Duration::from_secs(30)).unwrap_or_default();
    assert!(first.starts_with("bound"), "listen is bound: {first:?}");
    ListenJson(child, rx)
}

/// The receipts `listen` prints until it has one for each of `ids` (within
/// `limit`), and for one second more, to see any duplicate: every receipt's id.
fn receipts_for(listen: &ListenJson, ids: &[String], limit: std::time::Duration) -> Vec<String> {
    let receipt_ids = |seen: &[serde_json::Value]| -> Vec<String> {
        seen.iter()
            .filter(|v| v["kind"] == "receipt")
            .filter_map(|v| v["receipt"]["id"].as_str().map(str::to_owned))
            .collect()
    };
    let mut lines = listen
        .until(limit, |seen| {
            let got = receipt_ids(seen);
            ids.iter().all(|id| got.contains(id))
        })
        .unwrap_or_else(|seen| panic!("not every receipt of {ids:?} came:\n{}", lines_of(&seen)));
    lines.extend(listen.until(std::time::Duration::from_secs(1), |_| false).unwrap_or_else(|more| more));
    receipt_ids(&lines)
}

/// The receipts a listener bound to `port` from now gets: see [`receipts_for`].
fn listen_for_receipts(port: u16, ids: &[String], limit: std::time::Duration) -> Vec<String> {
    receipts_for(&listen_bound(port), ids, limit)
}

/// Asserts each of `ids` is in `got` once.
fn each_once(ids: &[String], got: &[String]) {
    for id in ids {
        assert_eq!(got.iter().filter(|g| *g == id).count(), 1, "the receipt of {id} once: {got:?}");
    }
}

#[test]
fn serve_with_a_file_store_delivers_every_receipt_after_a_kill_9() {
    let dir = temp_dir("store-kill9");
    let file = dir.join("store.db");
    let _ = std::fs::remove_file(&file);
    let args = ["--store", file.to_str().unwrap(), "--dlr-delay-ms", "3000"];
    let mut serve = Serve::with(&args);
    // Receipts asked for; nobody listens, and they are not due for 3 s.
    let ids = send_with_receipts(serve.1, 5);
    // kill -9 (Child::kill is SIGKILL).
    serve.0.kill().unwrap();
    serve.0.wait().unwrap();
    let serve = Serve::with(&args);
    each_once(&ids, &listen_for_receipts(serve.1, &ids, std::time::Duration::from_secs(30)));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A unique key prefix, so that tests sharing a Redis do not meet.
fn prefix(name: &str) -> String {
    format!("{name}-{}-{:?}", std::process::id(), std::time::SystemTime::now())
}

#[test]
fn two_serve_nodes_on_one_redis_are_one_smsc() {
    let redis = redis_server::RedisServer::start();
    let url = redis.url();
    let prefix = prefix("two-nodes");
    let args = ["--store", url.as_str(), "--store-prefix", prefix.as_str()];
    let (one, two) = (Serve::with(&args), Serve::with(&args));
    // A receiver bound to node 2 gets the receipts of what a transmitter on node 1
    // submits.
    let on_two = listen_bound(two.1);
    let ids = send_with_receipts(one.1, 3);
    each_once(&ids, &receipts_for(&on_two, &ids, std::time::Duration::from_secs(30)));
    drop(on_two);
    // With no receiver bound anywhere, receipts wait in Redis: one that binds later,
    // to either node, gets them all.
    let later = send_with_receipts(one.1, 3);
    each_once(&later, &listen_for_receipts(two.1, &later, std::time::Duration::from_secs(30)));
    let more = send_with_receipts(two.1, 3);
    each_once(&more, &listen_for_receipts(one.1, &more, std::time::Duration::from_secs(30)));
    // Message ids are unique across the nodes.
    let all: std::collections::HashSet<&String> = ids.iter().chain(&later).chain(&more).collect();
    assert_eq!(all.len(), 9, "ids unique across nodes: {ids:?} {later:?} {more:?}");
}

/// A receiver bound with raw PDUs that reads deliver_sm and answers none.
struct SilentReceiver(std::net::TcpStream, Vec<String>);

impl SilentReceiver {
    fn bind(port: u16) -> Self {
        let tcp = raw_bind(port, smpp_wire::InterfaceVersion::V34, smpp_wire::Body::BindReceiver);
        let mut me = Self(tcp, Vec::new());
        let resp = me.read();
        assert_eq!(resp.status, smpp_wire::CommandStatus::ESME_ROK, "{resp:?}");
        me
    }

    fn read(&mut self) -> smpp_wire::Pdu {
        use std::io::Read;
        let mut header = [0u8; 16];
        self.0.read_exact(&mut header).unwrap();
        let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let mut pdu = header.to_vec();
        pdu.resize(len, 0);
        self.0.read_exact(&mut pdu[16..]).unwrap();
        smpp_wire::Pdu::decode(bytes::Bytes::from(pdu)).unwrap()
    }

    /// The receipted message id of the next deliver_sm.
    fn next_receipt(&mut self) -> String {
        loop {
            if let smpp_wire::Body::DeliverSm(d) = self.read().body {
                let id = d.tlvs.receipted_message_id().and_then(|t| t.as_str().map(str::to_owned)).unwrap();
                self.1.push(id.clone());
                return id;
            }
        }
    }

    /// The receipted message ids of every deliver_sm read so far and until the
    /// connection ends.
    fn rest(mut self) -> Vec<String> {
        use std::io::Read;
        let mut ids = std::mem::take(&mut self.1);
        let mut wire = Vec::new();
        let _ = self.0.read_to_end(&mut wire);
        let mut wire = bytes::Bytes::from(wire);
        while wire.len() >= 16 {
            let len = u32::from_be_bytes([wire[0], wire[1], wire[2], wire[3]]) as usize;
            if len < 16 || len > wire.len() {
                break;
            }
            if let Ok(smpp_wire::Pdu { body: smpp_wire::Body::DeliverSm(d), .. }) =
                smpp_wire::Pdu::decode(wire.split_to(len))
            {
                ids.extend(d.tlvs.receipted_message_id().and_then(|t| t.as_str().map(str::to_owned)));
            }
        }
        ids
    }
}

#[test]
#[allow(clippy::print_stderr)] // the count of duplicates is reported
fn a_node_killed_with_receipts_in_flight_leaves_them_to_another_node() {
    let redis = redis_server::RedisServer::start();
    let url = redis.url();
    let prefix = prefix("kill-node");
    let args = [
        "--store",
        url.as_str(),
        "--store-prefix",
        prefix.as_str(),
        "--claim-timeout-ms",
        "2000",
        "--dlr-delay-ms",
        "500",
    ];
    let (mut one, two) = (Serve::with(&args), Serve::with(&args));
    // Node 1's only receiver takes receipts and never answers: node 1 holds those
    // due (claimed, some sent) when it dies; the rest are not due yet.
    let mut silent = SilentReceiver::bind(one.1);
    let ids = send_with_receipts(one.1, 20);
    silent.next_receipt();
    one.0.kill().unwrap();
    one.0.wait().unwrap();
    // What node 1 sent before it died (in flight: never answered).
    let in_flight = silent.rest();
    assert!(!in_flight.is_empty() && in_flight.iter().all(|id| ids.contains(id)), "{in_flight:?}");
    // Node 2 delivers every one of them, each once: those node 1 had claimed after
    // their claim timed out, the others when due.
    let got = listen_for_receipts(two.1, &ids, std::time::Duration::from_secs(30));
    each_once(&ids, &got);
    // So a receipt reached a receiver twice only if it was in flight at the kill.
    let twice = in_flight.iter().filter(|id| got.contains(id)).count();
    eprintln!("receipts delivered twice (in flight at the kill, then by node 2): {twice} of {}", ids.len());
}

#[test]
fn the_bind_limit_and_throttle_hold_across_nodes_and_a_dead_node_s_binds_expire() {
    let redis = redis_server::RedisServer::start();
    let url = redis.url();
    let prefix = prefix("limits");
    let dir = temp_dir("cluster-limits");
    let file = dir.join("serve.toml");
    std::fs::write(&file, "[[account]]\nsystem_id = \"carol\"\npassword = \"pw1\"\nthrottle = 100\nmax_binds = 2\n")
        .unwrap();
    let args = [
        "--config",
        file.to_str().unwrap(),
        "--store",
        url.as_str(),
        "--store-prefix",
        prefix.as_str(),
        "--bind-lease-ms",
        "5000",
    ];
    let (mut one, two) = (Serve::with(&args), Serve::with(&args));
    let carol = |port: &str| -> Vec<String> {
        ["--host", "127.0.0.1", "--port", port, "--system-id", "carol", "--password", "pw1"].map(str::to_owned).to_vec()
    };
    let (p1, p2) = (one.1.to_string(), two.1.to_string());
    // Throttle: two benches at once, one on each node, share 100 submits a second.
    let start = std::time::Instant::now();
    let bench = |port: &str| {
        smpp()
            .args(carol(port))
            .args(["bench", "--count", "300", "--window", "20", "--json"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (b1, b2) = (Guard(bench(&p1)), Guard(bench(&p2)));
    for mut b in [b1, b2] {
        let mut stdout = String::new();
        std::io::Read::read_to_string(&mut b.0.stdout.take().unwrap(), &mut stdout).unwrap();
        assert!(b.0.wait().unwrap().success(), "{stdout}");
        let v: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON object");
        assert_eq!(v["statuses"]["ESME_ROK"], 300, "{v}");
    }
    let took = start.elapsed();
    // The throttle counts per wall-clock second, so 600 submits need six distinct
    // seconds: the first may be entered at its very end, so the floor is just over
    // 4 s (5 s is the typical figure, not a bound). Unthrottled, 600 take milliseconds.
    assert!(took > std::time::Duration::from_secs(4), "600 submits at 100/s across the cluster took {took:?}");
    // The bind limit: carol bound once on each node holds both her binds, so a third
    // is refused on either node.
    let listen = |port: &str| {
        let child = smpp().args(carol(port)).args(["listen"]).stdout(Stdio::null()).stderr(Stdio::piped()).spawn();
        let mut listen = Guard(child.unwrap());
        let mut line = String::new();
        BufReader::new(listen.0.stderr.take().unwrap()).read_line(&mut line).unwrap();
        assert!(line.starts_with("bound"), "listen says it is bound: {line}");
        listen
    };
    let (_on_one, on_two) = (listen(&p1), listen(&p2));
    for port in [&p1, &p2] {
        let (ok, _, err) = run(smpp().args(carol(port)).args(["send", "--to", "1", "x"]));
        assert!(!ok && err.contains("ESME_RBINDFAIL"), "a third bind of carol: {err}");
    }
    // A bind that ends frees its place at once, long before its lease would run out.
    drop(on_two);
    let ended = std::time::Instant::now();
    send_once_bound(&carol(&p2), ended, std::time::Duration::from_millis(3_000), "an ended bind still counts");
    let _on_two = listen(&p2);
    let (ok, _, err) = run(smpp().args(carol(&p2)).args(["send", "--to", "1", "x"]));
    assert!(!ok && err.contains("ESME_RBINDFAIL"), "two binds again: {err}");
    // Node 1 dies: its bind stops counting once its lease runs out.
    one.0.kill().unwrap();
    one.0.wait().unwrap();
    let died = std::time::Instant::now();
    send_once_bound(&carol(&p2), died, std::time::Duration::from_secs(15), "the dead node's bind still counts");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs `smpp send` with these connection flags until it binds (it is refused
/// `ESME_RBINDFAIL` meanwhile), failing `why` if that takes `limit` from `since`.
fn send_once_bound(flags: &[String], since: std::time::Instant, limit: std::time::Duration, why: &str) {
    loop {
        let (ok, out, err) = run(smpp().args(flags).args(["send", "--to", "1", "x"]));
        if ok {
            return;
        }
        assert!(err.contains("ESME_RBINDFAIL"), "{out}{err}");
        assert!(since.elapsed() < limit, "{why}: {err}");
    }
}
