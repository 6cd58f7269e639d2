//! `cargo xtask examples`: runs every example that can run here, against the real
//! simulator (`smpp serve`, plain and TLS with a throw-away certificate), and fails
//! if one fails or does not finish within a minute. The examples are built with
//! every feature on (as CI's test step leaves them).

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{cargo, project_root, run};

/// Kills the server it holds when dropped, whatever happened.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn run_all() -> Result<(), String> {
    let root = project_root();
    run(cargo().args(["build", "--quiet", "--workspace", "--examples", "--bins", "--all-features"]))?;
    let bin = root.join("target").join("debug");
    let example = |name: &str| bin.join("examples").join(name);
    let smpp = bin.join("smpp");

    let dir = std::env::temp_dir().join(format!("smpp-examples-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let (cert, key) = certificate(&dir)?;

    let plain = free_port()?;
    let tls = free_port()?;
    let serve = |port: u16, extra: &[&Path]| -> Result<Server, String> {
        let mut cmd = Command::new(&smpp);
        cmd.args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--mo-every", "1", "--dlr-delay-ms", "100"]);
        if let [cert, key] = extra {
            cmd.arg("--tls-cert").arg(cert).arg("--tls-key").arg(key);
        }
        let child = cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn().map_err(|e| format!("smpp serve: {e}"))?;
        let server = Server(child);
        wait_listening(port)?;
        Ok(server)
    };
    let _plain = serve(plain, &[])?;
    let _tls = serve(tls, &[&cert, &key])?;
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
        ("link_events", vec![at(plain), "--secs".into(), "3".into()]),
        ("tls", vec![at(tls), cert.display().to_string(), "localhost".into()]),
        ("gateway", vec![]),
        ("blocking_client", vec![]),
        ("decode_loop", vec!["10000".into()]),
    ];
    for (name, args) in runs {
        timed(Command::new(example(name)).args(&args), name)?;
    }

    // The custom SMSC, with the `smpp` command as its client: it stops by itself once
    // it has delivered one receipt.
    let custom = free_port()?;
    let smsc = Command::new(example("custom_smsc"))
        .args([at(custom), "--once".into()])
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| format!("custom_smsc: {e}"))?;
    let mut smsc = Server(smsc);
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
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match smsc.0.try_wait() {
            Ok(Some(status)) if status.success() => break,
            Ok(Some(status)) => return Err(format!("custom_smsc --once ended with {status}")),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Ok(None) => return Err("custom_smsc --once did not stop after its receipt".into()),
            Err(e) => return Err(format!("custom_smsc: {e}")),
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!("examples: all ran");
    Ok(())
}

/// Runs `cmd` to its end, for at most a minute.
fn timed(cmd: &mut Command, name: &str) -> Result<(), String> {
    println!("$ {cmd:?}");
    let mut child = Server(cmd.spawn().map_err(|e| format!("{name}: {e}"))?);
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

/// A self-signed certificate for `localhost` (openssl, installed when missing).
fn certificate(dir: &Path) -> Result<(PathBuf, PathBuf), String> {
    crate::install_debian(&["openssl", "version"], "openssl")?;
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    run(Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .args(["-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"])
        // rustls refuses a CA certificate as a server's own.
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .stdout(Stdio::null())
        .stderr(Stdio::null()))?;
    Ok((cert, key))
}

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    listener.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
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
