//! The processes xtask starts: kept as [`Killed`] (ended when dropped), on ports
//! from [`free_port`], and `smpp serve` ([`serve_on`]), which says where it listens.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// A process killed when dropped.
pub(crate) struct Killed(pub(crate) Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A port nothing listens on at the moment.
pub(crate) fn free_port() -> Result<u16, String> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    l.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

/// `smpp serve --listen LISTEN` with these arguments; its port once it listens (it
/// prints its address first).
pub(crate) fn serve_on(bin: &str, listen: &str, args: &[&str]) -> Result<(Killed, u16), String> {
    let mut child = Command::new(bin)
        .args(["serve", "--listen", listen])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{bin} serve: {e}"))?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().ok_or("no stdout")?).read_line(&mut line).map_err(|e| e.to_string())?;
    let port = line.trim().rsplit(':').next().and_then(|p| p.parse().ok()).ok_or(format!("serve said {line:?}"))?;
    Ok((Killed(child), port))
}
