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

/// How the driver waits. The default sleeps as soon as there is nothing to do.
///
/// ```
/// use std::time::Duration;
/// use smpp_client::driver::DriverConfig;
/// let mut config = DriverConfig::default();
/// config.busy_poll = Some(Duration::from_micros(50));
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DriverConfig {
    /// Keep polling for input and commands for this long after the last activity
    /// before going to sleep (`None`, the default: sleep at once).
    ///
    /// Waking a sleeping thread costs tens of microseconds on many machines (on the
    /// 2-core VM this project is measured on, a bare TCP ping-pong between two
    /// processes takes 66 µs at the median, nearly all of it wake-ups). Polling instead
    /// answers within a few microseconds, at the price of a busy CPU for up to this
    /// long after each burst. The driver yields to the runtime between polls, so other
    /// tasks on the thread still run. Worth it for request/response latency at low
    /// window sizes; leave it off for many mostly idle sessions.
    pub busy_poll: Option<std::time::Duration>,
}

/// How many events are handled before the output they produced is written: a large
/// read of pipelined requests is answered in slices, so the peer can start on the
/// first answers while the rest are being handled. Measured with `cargo xtask bench`
/// at window 100 on 2 cores: 8 gives ~1.07 M msg/s, 16 ~1.2 M, 32 ~0.9 M, 64 ~0.67 M,
/// unbounded (one write per read) 0.45-0.63 M.
const EVENT_BATCH: usize = 16;

/// Most polls in a row without activity, whatever `busy_poll` says: a clock that
/// does not move (tokio's paused test clock) must not keep a driver spinning forever.
const MAX_SPINS: u32 = 10_000;

/// Runs `session` over `io` until it is closed and drained; returns the I/O error
/// that ended it, if one did. On an I/O error the session is told the peer is gone,
/// so every outstanding request is reported failed through the handler.
///
/// The same as [`drive_with`] and the default [`DriverConfig`].
pub async fn drive<T, H>(
    io: T,
    session: Session,
    handler: &mut H,
    commands: &mut mpsc::Receiver<H::Command>,
) -> std::io::Result<()>
where
    T: AsyncRead + AsyncWrite + Unpin,
    H: Handler,
{
    drive_with(io, session, handler, commands, DriverConfig::default()).await
}

/// [`drive`] with a [`DriverConfig`].
pub async fn drive_with<T, H>(
    mut io: T,
    mut session: Session,
    handler: &mut H,
    commands: &mut mpsc::Receiver<H::Command>,
    config: DriverConfig,
) -> std::io::Result<()>
where
    T: AsyncRead + AsyncWrite + Unpin,
    H: Handler,
{
    let mut buf = BytesMut::with_capacity(READ_MIN);
    let mut read_size = READ_MIN;
    let mut commands_open = true;
    // The clock is read once per wake-up (and after writing) and that reading serves
    // the whole turn.
    let mut t = now();
    // When the driver last had something to do, and polls since, for `busy_poll`.
    let mut last_active = t;
    let mut spins = 0u32;
    // One timer for the whole connection, armed at the earliest deadline seen. It is
    // only moved earlier: a later deadline waits until the armed one fires, which
    // then finds nothing due and re-arms. Moving it on every turn (deadlines change
    // with every PDU) would cost a timer-wheel update per message.
    let sleep = tokio::time::sleep_until(tokio::time::Instant::now());
    tokio::pin!(sleep);
    let mut armed: Option<tokio::time::Instant> = None;
    loop {
        // 1. Write everything pending, outside any select (cancellation safety).
        let mut wrote = false;
        let mut failed = None;
        while let Some(out) = session.poll_transmit() {
            if let Err(e) = io.write_all(&out.bytes).await {
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
        if wrote || failed.is_some() {
            // A write may have waited on the peer: the turn's reading is stale.
            t = now();
        }
        if let Some(e) = failed {
            session.handle_eof(t);
            drain_events(handler, &mut session, t, usize::MAX);
            break Err(e);
        }
        // 2. Events; handlers may queue more output, which the next turn writes.
        if drain_events(handler, &mut session, t, EVENT_BATCH) {
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
        if let Some(d) = deadline
            && armed.is_none_or(|a| d < a)
        {
            sleep.as_mut().reset(d);
            armed = Some(d);
        }
        let spin = spins < MAX_SPINS && config.busy_poll.is_some_and(|d| t.saturating_duration_since(last_active) < d);
        tokio::select! {
            read = io.read_buf(&mut buf) => {
                t = now();
                match read {
                    Ok(0) => session.handle_eof(t),
                    Ok(n) => {
                        last_active = t;
                        spins = 0;
                        session.handle_input(t, &buf);
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
                        session.handle_eof(t);
                        drain_events(handler, &mut session, t, usize::MAX);
                        break Err(e);
                    }
                }
            }
            command = commands.recv(), if commands_open => {
                t = now();
                match command {
                    Some(command) => {
                        last_active = t;
                        spins = 0;
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
                        handler.on_commands_closed(t, &mut session);
                    }
                }
            }
            // Busy polling: yield, so the runtime polls its I/O driver without
            // sleeping and then runs this task again.
            () = tokio::task::yield_now(), if spin => {
                t = now();
                spins += 1;
            }
            () = &mut sleep, if armed.is_some() => {
                armed = None;
                t = now();
                session.handle_timeout(t);
                if handler.poll_timeout().is_some_and(|d| d <= t) {
                    handler.on_timeout(t, &mut session);
                }
            }
        }
    }
}

/// Hands every queued event to the handler; returns whether the session has output.
///
/// Stops early, once `limit` events are handled and there is output to write.
fn drain_events<H: Handler>(handler: &mut H, session: &mut Session, now: Instant, limit: usize) -> bool {
    let mut handled = 0;
    while let Some(event) = session.poll_event() {
        handler.on_event(now, session, event);
        handled += 1;
        if handled >= limit && session.has_output() {
            return true;
        }
    }
    session.has_output()
}
