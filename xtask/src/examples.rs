//! `cargo xtask examples`: runs every example that can run here, against the real
//! simulator (`smpp serve`, plain and TLS with a throw-away private CA), and fails if
//! one fails or does not finish within a minute. The examples are built with every
//! feature on (as CI's test step leaves them). `link_events` runs while the simulator
//! is stopped and started again under it, and must see the link come back.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::procs::{Killed, free_port, serve_on};
use crate::{cargo, run};

pub(crate) fn run_all() -> Result<(), String> {
    run(cargo().args(["build", "--quiet", "--workspace", "--examples", "--bins", "--all-features"]))?;
    let bin = target_dir()?.join("debug");
    let example = |name: &str| bin.join("examples").join(name);
    let smpp = bin.join("smpp").to_string_lossy().into_owned();

    let dir = std::env::temp_dir().join(format!("smpp-examples-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let (ca, cert, key) = certificates(&dir)?;

    let simulator = ["--mo-every", "1", "--dlr-delay-ms", "100"];
    let (mut plain_server, plain) = serve_on(&smpp, "127.0.0.1:0", &simulator)?;
    let (cert, key) = (cert.to_string_lossy(), key.to_string_lossy());
    let with_tls = [&simulator[..], &["--tls-cert", &cert, "--tls-key", &key]].concat();
    let (_tls, tls) = serve_on(&smpp, "127.0.0.1:0", &with_tls)?;
    let at = |port: u16| format!("127.0.0.1:{port}");
    let plain_port = plain.to_string();

    let runs: Vec<(&str, Vec<String>)> = vec![
        (
            "send_one",
            vec![
                "127.0.0.1".into(),
                plain_port.clone(),
                "smppclient1".into(),
                "password".into(),
                "447700900123".into(),
            ],
        ),
        ("mo_manual_ack", vec![at(plain), "2".into()]),
        ("pool", vec![at(plain), "3".into()]),
        ("tls", vec![at(tls), ca.display().to_string(), "localhost".into()]),
        ("gateway", vec![]),
        ("blocking_client", vec![]),
        ("decode_loop", vec!["10000".into()]),
    ];
    for (name, args) in runs {
        timed(Command::new(example(name)).args(&args), name)?;
    }

    // Reconnection: the simulator is killed once the example has submitted, and
    // started again on the same port once the example saw the link go down.
    let mut cmd = Command::new(example("link_events"));
    cmd.args([at(plain), "--secs".into(), "8".into(), "--expect-reconnect".into()]).stdout(Stdio::piped());
    println!("$ {cmd:?}");
    let mut child = Killed(cmd.spawn().map_err(|e| format!("link_events: {e}"))?);
    let lines = echo_lines(&mut child.0)?;
    wait_for_line(&lines, "submit 1: accepted")?;
    drop(plain_server);
    wait_for_line(&lines, "link: down")?;
    (plain_server, _) = serve_on(&smpp, &at(plain), &simulator)?;
    finish(&mut child, "link_events")?;
    drop(plain_server);

    // The custom SMSC, with the `smpp` command as its client: it stops by itself once
    // it has delivered one receipt.
    let custom = free_port()?;
    let smsc = Command::new(example("custom_smsc"))
        .args([at(custom), "--once".into()])
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| format!("custom_smsc: {e}"))?;
    let mut smsc = Killed(smsc);
    wait_listening(custom)?;
    let port = custom.to_string();
    timed(
        Command::new(&smpp).args([
            "send",
            "--host",
            "127.0.0.1",
            "--port",
            &port,
            "--system-id",
            "acme",
            "--password",
            "acme-pw",
            "--to",
            "447700900123",
            "--wait-dlr",
            "Hello from acme",
        ]),
        "smpp send to custom_smsc",
    )?;
    finish(&mut smsc, "custom_smsc --once")?;
    let _ = std::fs::remove_dir_all(&dir);
    println!("examples: all ran");
    Ok(())
}

/// Runs `cmd` to its end, for at most a minute.
fn timed(cmd: &mut Command, name: &str) -> Result<(), String> {
    println!("$ {cmd:?}");
    let mut child = Killed(cmd.spawn().map_err(|e| format!("{name}: {e}"))?);
    finish(&mut child, name)
}

/// Waits (at most a minute) for a child to end, and fails unless it succeeded.
fn finish(child: &mut Killed, name: &str) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match child.0.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => return Err(format!("example {name} failed: {status}")),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => return Err(format!("example {name} did not finish within 60 s")),
            Err(e) => return Err(format!("{name}: {e}")),
        }
    }
}

/// A private CA and a certificate for `localhost` it signed, with the key (openssl,
/// installed when missing): (CA, certificate, key).
fn certificates(dir: &Path) -> Result<(PathBuf, PathBuf, PathBuf), String> {
    crate::install_debian(&["openssl", "version"], "openssl")?;
    let file = |name: &str| dir.join(name);
    let openssl = |args: &[&str]| {
        let mut cmd = Command::new("openssl");
        cmd.args(args).current_dir(dir).stdout(Stdio::null()).stderr(Stdio::null());
        run(&mut cmd)
    };
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    openssl(
        &[
            &["req", "-x509"],
            &ec[..],
            &["-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=smpp test CA"],
        ]
        .concat(),
    )?;
    openssl(&[&["req"], &ec[..], &["-keyout", "key.pem", "-out", "leaf.csr", "-subj", "/CN=localhost"]].concat())?;
    std::fs::write(file("leaf.ext"), "subjectAltName=DNS:localhost\nbasicConstraints=critical,CA:FALSE\n")
        .map_err(|e| format!("leaf.ext: {e}"))?;
    openssl(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "cert.pem",
        "-days",
        "1",
        "-extfile",
        "leaf.ext",
    ])?;
    Ok((file("ca.pem"), file("cert.pem"), file("key.pem")))
}

/// Echoes a child's output lines and hands them over as they come.
fn echo_lines(child: &mut Child) -> Result<mpsc::Receiver<String>, String> {
    let out = child.stdout.take().ok_or("the child's output is not piped")?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            println!("{line}");
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    Ok(rx)
}

/// Waits (at most 30 s) for a line holding `needle`.
fn wait_for_line(lines: &mpsc::Receiver<String>, needle: &str) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if line.contains(needle) => return Ok(()),
            Ok(_) => {}
            Err(_) => return Err(format!("no line with {needle:?} within 30 s")),
        }
    }
}

/// Where cargo puts what it builds (`CARGO_TARGET_DIR`, `build.target-dir`...).
fn target_dir() -> Result<PathBuf, String> {
    let out = cargo()
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .map_err(|e| format!("cargo metadata: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let key = "\"target_directory\":\"";
    let start = text.find(key).ok_or("cargo metadata names no target_directory")? + key.len();
    let end = text[start..].find('"').ok_or("cargo metadata: bad target_directory")? + start;
    Ok(PathBuf::from(text[start..end].replace("\\\\", "\\")))
}

/// Waits (at most 30 s) until something accepts connections on the port.
fn wait_listening(port: u16) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!("nothing listens on 127.0.0.1:{port} after 30 s"))
}
