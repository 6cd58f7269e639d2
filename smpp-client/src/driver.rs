//! The driver: runs one [`Session`] over any `AsyncRead + AsyncWrite`, in one task.
//!
//! It moves bytes between the stream and the session, reads the clock in one place
//! ([`now`]), and sleeps until the session's next deadline. It makes no protocol
//! decision: what to send and when is the session's; what to do with requests and
//! events is the [`Handler`]'s. The client and the server both run on it.

use std::time::Instant;

use bytes::BytesMut;
use smpp_session::{Event, Session};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

/// The one place the driver reads the clock. It follows tokio's clock, so tests run
/// the SMPP timers in virtual time under `tokio::time::pause`.
pub fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// What the driver hands commands and events to. Both calls may use the session
/// (send, respond, unbind); the driver writes whatever they queue.
pub trait Handler {
    /// Commands from the application, delivered in order.
    type Command: Send;

    /// Carries out one command.
    fn on_command(&mut self, now: Instant, session: &mut Session, command: Self::Command);

    /// Reacts to one session event.
    fn on_event(&mut self, now: Instant, session: &mut Session, event: Event);

    /// A deadline of the handler's own (e.g. expiring incomplete long messages).
    fn poll_timeout(&self) -> Option<Instant> {
        None
    }

    /// The handler's deadline has passed.
    fn on_timeout(&mut self, _now: Instant, _session: &mut Session) {}

    /// Every command handle is gone: the default unbinds gracefully.
    fn on_commands_closed(&mut self, now: Instant, session: &mut Session) {
        if session.unbind(now).is_err() {
            session.close(now);
        }
    }
}

/// Read buffer sizes: small while a connection is quiet (thousands of idle sessions
/// must stay cheap), doubling up to the maximum while reads fill it.
const READ_MIN: usize = 2 * 1024;
const READ_MAX: usize = 64 * 1024;

/// How many queued commands are taken before output is written, so a burst of
/// pipelined requests goes out in one write.
const COMMAND_BATCH: usize = 256;

/// Runs `session` over `io` until it is closed and drained; returns the I/O error
/// that ended it, if one did. On an I/O error the session is told the peer is gone,
/// so every outstanding request is reported failed through the handler.
pub async fn drive<T, H>(
    mut io: T,
    mut session: Session,
    handler: &mut H,
    commands: &mut mpsc::Receiver<H::Command>,
) -> std::io::Result<()>
where
    T: AsyncRead + AsyncWrite + Unpin,
    H: Handler,
{
    let mut buf = BytesMut::with_capacity(READ_MIN);
    let mut read_size = READ_MIN;
    let mut commands_open = true;
    loop {
        // 1. Write everything pending, outside any select (cancellation safety).
        let mut wrote = false;
        let mut failed = None;
        while let Some(t) = session.poll_transmit() {
            if let Err(e) = io.write_all(&t.bytes).await {
                failed = Some(e);
                break;
            }
            wrote = true;
        }
        if failed.is_none()
            && wrote
            && let Err(e) = io.flush().await
        {
            failed = Some(e);
        }
        if let Some(e) = failed {
            session.handle_eof(now());
            drain_events(handler, &mut session);
            break Err(e);
        }
        // 2. Events; handlers may queue more output, which the next turn writes.
        if drain_events(handler, &mut session) {
            continue;
        }
        // 3. Done?
        if session.is_drained() {
            let _ = io.shutdown().await;
            break Ok(());
        }
        // 4. Wait for input, a command or the next deadline.
        let deadline = match (session.poll_timeout(), handler.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
        .map(tokio::time::Instant::from_std);
        tokio::select! {
            read = io.read_buf(&mut buf) => match read {
                Ok(0) => session.handle_eof(now()),
                Ok(n) => {
                    session.handle_input(now(), &buf);
                    buf.clear();
                    // A full read means more is waiting: read bigger next time.
                    if n >= read_size && read_size < READ_MAX {
                        read_size *= 2;
                    }
                    if buf.capacity() < read_size {
                        buf.reserve(read_size);
                    }
                }
                Err(e) => {
                    session.handle_eof(now());
                    drain_events(handler, &mut session);
                    break Err(e);
                }
            },
            command = commands.recv(), if commands_open => match command {
                Some(command) => {
                    let t = now();
                    handler.on_command(t, &mut session, command);
                    // Take what else is queued, so pipelined requests share one write.
                    for _ in 0..COMMAND_BATCH {
                        match commands.try_recv() {
                            Ok(command) => handler.on_command(t, &mut session, command),
                            Err(_) => break,
                        }
                    }
                }
                None => {
                    commands_open = false;
                    handler.on_commands_closed(now(), &mut session);
                }
            },
            () = sleep_until(deadline) => {
                let t = now();
                session.handle_timeout(t);
                if handler.poll_timeout().is_some_and(|d| d <= t) {
                    handler.on_timeout(t, &mut session);
                }
            }
        }
    }
}

/// Hands every queued event to the handler; returns whether the session has output.
fn drain_events<H: Handler>(handler: &mut H, session: &mut Session) -> bool {
    while let Some(event) = session.poll_event() {
        handler.on_event(now(), session, event);
    }
    session.has_output()
}

/// Sleeps until `deadline`, or forever without one.
async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}
