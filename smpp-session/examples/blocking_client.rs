//! The session embedded in a plain blocking `std::net` loop, with no async runtime.
//!
//! ```sh
//! cargo run -p smpp-session --example blocking_client             # against an in-process SMSC
//! cargo run -p smpp-session --example blocking_client -- HOST:PORT USER PASSWORD
//! ```
//!
//! Without arguments it starts a small blocking SMSC, also built on `Session`, on a
//! thread at 127.0.0.1, binds to it as a transceiver, submits one message, prints the
//! message_id and unbinds. The ESME loop is `run_esme`, the SMSC loop `run_smsc`.
#![allow(clippy::print_stdout, clippy::disallowed_methods, clippy::disallowed_types)]

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use smpp_session::smpp_wire::{Address, Body, CommandStatus, ShortMessage, SubmitSm, SubmitSmResp};
use smpp_session::{BindMode, BindRequest, Event, Request, Session, SessionConfig};

/// Writes everything the session has queued.
fn flush(session: &mut Session, stream: &mut TcpStream) -> std::io::Result<()> {
    while let Some(t) = session.poll_transmit() {
        stream.write_all(&t.bytes)?;
    }
    Ok(())
}

/// Reads once, waiting at most until the session's next deadline; feeds what came in
/// and runs the timers.
fn read_or_timeout(session: &mut Session, stream: &mut TcpStream, buf: &mut [u8]) -> std::io::Result<()> {
    let wait = session.poll_timeout().map(|t| t.saturating_duration_since(Instant::now()));
    stream.set_read_timeout(Some(wait.unwrap_or(Duration::from_secs(1)).max(Duration::from_millis(1))))?;
    match stream.read(buf) {
        Ok(0) => session.handle_eof(Instant::now()),
        Ok(n) => session.handle_input(Instant::now(), &buf[..n]),
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
        Err(e) => return Err(e),
    }
    session.handle_timeout(Instant::now());
    Ok(())
}

/// Binds to `addr`, submits one message to `to`, and returns its message_id.
pub(crate) fn run_esme(addr: &str, user: &str, password: &str, to: &str, text: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(addr)?;
    let bind = BindRequest::new(BindMode::Transceiver, user, password).map_err(std::io::Error::other)?;
    let mut session = Session::esme(Instant::now(), SessionConfig::default(), bind).map_err(std::io::Error::other)?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut message_id = None;
    loop {
        flush(&mut session, &mut stream)?;
        while let Some(event) = session.poll_event() {
            match event {
                Event::Bound { .. } => {
                    let mut submit = SubmitSm::default();
                    submit.source_addr = Address::alphanumeric("Rust").map_err(std::io::Error::other)?;
                    submit.destination_addr = Address::international(to).map_err(std::io::Error::other)?;
                    submit.short_message =
                        ShortMessage::new(text.as_bytes().to_vec()).map_err(std::io::Error::other)?;
                    session.send(Instant::now(), Request::SubmitSm(submit)).map_err(std::io::Error::other)?;
                }
                Event::Response { status, response: Body::SubmitSmResp(r), .. } => {
                    if status.is_error() {
                        return Err(std::io::Error::other(format!("submit refused: {status}")));
                    }
                    message_id = Some(r.map(|r| r.message_id.to_string()).unwrap_or_default());
                    session.unbind(Instant::now()).map_err(std::io::Error::other)?;
                }
                Event::Closed { reason } => {
                    return message_id.ok_or_else(|| std::io::Error::other(format!("closed: {reason}")));
                }
                _ => {}
            }
        }
        flush(&mut session, &mut stream)?;
        if session.is_drained() {
            return message_id.ok_or_else(|| std::io::Error::other("closed"));
        }
        read_or_timeout(&mut session, &mut stream, &mut buf)?;
    }
}

/// Serves one connection as a tiny SMSC: accepts any bind, answers submits with
/// increasing message ids, until the ESME unbinds.
pub(crate) fn run_smsc(mut stream: TcpStream) -> std::io::Result<()> {
    let mut session = Session::smsc(Instant::now(), SessionConfig::default());
    let mut buf = vec![0u8; 64 * 1024];
    let mut next_id = 1u32;
    loop {
        while let Some(event) = session.poll_event() {
            let now = Instant::now();
            match event {
                Event::BindRequest { seq, .. } => {
                    session.accept_bind(now, seq, "blocking-smsc").map_err(std::io::Error::other)?
                }
                Event::Request { seq, request: Request::SubmitSm(_), .. } => {
                    let mut resp = SubmitSmResp::default();
                    resp.message_id = next_id.to_string().parse().map_err(std::io::Error::other)?;
                    next_id += 1;
                    session
                        .respond(now, seq, CommandStatus::ESME_ROK, Body::SubmitSmResp(Some(resp)))
                        .map_err(std::io::Error::other)?;
                }
                _ => {}
            }
        }
        flush(&mut session, &mut stream)?;
        if session.is_drained() {
            return Ok(());
        }
        read_or_timeout(&mut session, &mut stream, &mut buf)?;
    }
}

/// Starts the blocking SMSC on a loopback port; returns its address.
pub(crate) fn start_smsc() -> std::io::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?.to_string();
    std::thread::spawn(move || {
        if let Ok((stream, _)) = listener.accept() {
            let _ = run_smsc(stream);
        }
    });
    Ok(addr)
}

#[allow(dead_code)]
fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (addr, user, password) = match &args[..] {
        [addr, user, password, ..] => (addr.clone(), user.clone(), password.clone()),
        _ => (start_smsc()?, "user".to_owned(), "secret".to_owned()),
    };
    let id = run_esme(&addr, &user, &password, "447700900123", "Hello from a blocking loop")?;
    println!("submitted to {addr}: message_id {id}");
    Ok(())
}
