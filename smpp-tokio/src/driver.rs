//! The driver: runs one [`Session`] over any `AsyncRead + AsyncWrite`, in one task.
//!
//! It moves bytes between the stream and the session, reads the clock in one place
//! ([`now`]), and sleeps until the session's next deadline. It makes no protocol
//! decision: what to send and when is the session's; what to do with requests and
//! events is the [`Handler`]'s. The client and the server both run on it.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use std::task::{Context, Poll};

use bytes::{Buf, Bytes, BytesMut};
use smpp_session::{Event, Session};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::mpsc;
use tracing::Instrument;

use crate::metrics::{Link, Publisher};

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

    /// What the handler sends with each of its requests and gets back in the event
    /// that ends it (see [`Session::send_with`]); `()` when it keeps no state per
    /// request.
    type Token;

    /// Carries out one command.
    fn on_command(&mut self, now: Instant, session: &mut Session<Self::Token>, command: Self::Command);

    /// Reacts to one session event.
    fn on_event(&mut self, now: Instant, session: &mut Session<Self::Token>, event: Event<Self::Token>);

    /// A deadline of the handler's own (e.g. expiring incomplete long messages).
    fn poll_timeout(&self) -> Option<Instant> {
        None
    }

    /// The handler's deadline has passed.
    fn on_timeout(&mut self, _now: Instant, _session: &mut Session<Self::Token>) {}

    /// Where the driver reports this connection's counters besides the metrics
    /// facade, and the account its metrics are labelled with (see
    /// [`metrics`](crate::metrics)). The default: the facade only, no account.
    fn link(&self) -> Link<'_> {
        Link::default()
    }

    /// Every command handle is gone: the default unbinds gracefully.
    fn on_commands_closed(&mut self, now: Instant, session: &mut Session<Self::Token>) {
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

/// How the driver waits and how long it lets a peer leave output unread.
///
/// ```
/// use std::time::Duration;
/// use smpp_tokio::DriverConfig;
/// let mut config = DriverConfig::default();
/// config.busy_poll = Some(Duration::from_micros(50));
/// config.write_timeout = Some(Duration::from_secs(30));
/// ```
///
/// With the feature `serde`: both fields as text durations (`"50us"`, `"60s"`,
/// `"off"`), each optional.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(default, deny_unknown_fields))]
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
    #[cfg_attr(feature = "serde", serde(with = "smpp_session::serde_duration::option"))]
    pub busy_poll: Option<std::time::Duration>,
    /// How long output may wait for a peer that takes none of it (default 60 s):
    /// past it the connection is closed with
    /// [`CloseReason::WriteStalled`](smpp_session::CloseReason::WriteStalled).
    ///
    /// While output waits, the driver keeps reading only as long as less than 256 KiB
    /// waits to go out (a peer that does not read gets no more answers queued for
    /// it), and keeps running the session's timers and taking commands, so requests
    /// still get their outcomes and the application is never left waiting. `None`:
    /// wait for ever.
    #[cfg_attr(feature = "serde", serde(with = "smpp_session::serde_duration::option"))]
    pub write_timeout: Option<std::time::Duration>,
}

#[cfg(all(test, feature = "serde"))]
mod serde_tests {
    use super::DriverConfig;

    #[test]
    fn a_driver_config_reads_text_durations_and_keeps_defaults() {
        let c: DriverConfig = serde_json::from_str(r#"{"busy_poll": "50us"}"#).unwrap();
        assert_eq!(c.busy_poll, Some(std::time::Duration::from_micros(50)));
        assert_eq!(c.write_timeout, DriverConfig::default().write_timeout);
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(json, r#"{"busy_poll":"50us","write_timeout":"1m"}"#);
        assert_eq!(serde_json::from_str::<DriverConfig>(&json).unwrap(), c);
    }
}

impl Default for DriverConfig {
    fn default() -> Self {
        Self { busy_poll: None, write_timeout: Some(std::time::Duration::from_secs(60)) }
    }
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
/// that ended it, if one did. On an I/O error the session is told
/// ([`CloseReason::IoError`](smpp_session::CloseReason::IoError)), so every
/// outstanding request is reported failed through the handler; a peer that takes no
/// output for [`DriverConfig::write_timeout`] ends it the same way, with
/// [`CloseReason::WriteStalled`](smpp_session::CloseReason::WriteStalled) and an
/// error of kind `TimedOut`.
///
/// The same as [`drive_with`] and the default [`DriverConfig`].
pub async fn drive<T, H>(
    io: T,
    session: Session<H::Token>,
    handler: &mut H,
    commands: &mut mpsc::Receiver<H::Command>,
) -> std::io::Result<()>
where
    T: AsyncRead + AsyncWrite + Unpin,
    H: Handler,
{
    drive_with(io, session, handler, commands, DriverConfig::default()).await
}

/// While output waits for the peer, input is read only while less than this waits.
const BLOCKED_READ_LIMIT: usize = 256 * 1024;

/// What happened while output waited for the peer.
enum Blocked {
    /// Output went: all of it (`true`) or some.
    Wrote(std::io::Result<bool>),
    /// Input came: this many octets.
    Read(std::io::Result<usize>),
}

/// Output taken from the session and not yet written, and whether a flush is owed.
#[derive(Default)]
struct Output {
    pending: Bytes,
    unflushed: bool,
}

impl Output {
    fn is_idle(&self) -> bool {
        self.pending.is_empty() && !self.unflushed
    }

    /// Writes and flushes as far as the stream takes it. Ready once everything is
    /// written and flushed; `progressed` tells whether any octet went out.
    fn poll_write<T: AsyncWrite + Unpin>(
        &mut self,
        cx: &mut Context<'_>,
        io: &mut T,
        progressed: &mut bool,
    ) -> Poll<std::io::Result<()>> {
        while !self.pending.is_empty() {
            match Pin::new(&mut *io).poll_write(cx, &self.pending) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(std::io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => {
                    self.pending.advance(n.min(self.pending.len()));
                    *progressed = true;
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        if self.unflushed {
            match Pin::new(&mut *io).poll_flush(cx) {
                Poll::Ready(Ok(())) => self.unflushed = false,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }
}

/// [`drive`] with a [`DriverConfig`].
///
/// Each connection gets a number, the `id` of a `session` span on the target
/// `smpp::wire`, which the PDU trace of the session carries; and the driver publishes
/// the session's counters (see [`metrics`](crate::metrics)) once per turn.
pub async fn drive_with<T, H>(
    io: T,
    mut session: Session<H::Token>,
    handler: &mut H,
    commands: &mut mpsc::Receiver<H::Command>,
    config: DriverConfig,
) -> std::io::Result<()>
where
    T: AsyncRead + AsyncWrite + Unpin,
    H: Handler,
{
    static CONNECTIONS: AtomicU64 = AtomicU64::new(1);
    let id = CONNECTIONS.fetch_add(1, Ordering::Relaxed);
    let span = tracing::debug_span!(target: crate::WIRE_TARGET, "session", id);
    // Dropped when the connection ends or its task is aborted, taking back what
    // this connection added to the gauges.
    let mut publisher = Publisher::new();
    let result = run(io, &mut session, handler, commands, config, &mut publisher).instrument(span).await;
    publisher.publish(&mut session, handler.link());
    result
}

async fn run<T, H>(
    mut io: T,
    session: &mut Session<H::Token>,
    handler: &mut H,
    commands: &mut mpsc::Receiver<H::Command>,
    config: DriverConfig,
    publisher: &mut Publisher,
) -> std::io::Result<()>
where
    T: AsyncRead + AsyncWrite + Unpin,
    H: Handler,
{
    let mut buf = BytesMut::with_capacity(READ_MIN);
    let mut read_size = READ_MIN;
    let mut commands_open = true;
    let mut out = Output::default();
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
    // The write-stall timer, made the first time output waits for the peer (most
    // connections never need one: thousands of idle sessions must stay small), and
    // armed only while it waits.
    let mut stall: Option<Pin<Box<tokio::time::Sleep>>> = None;
    let mut stall_armed = false;
    // Where input is read while output waits (made the first time it is needed).
    let mut scratch: Vec<u8> = Vec::new();
    loop {
        // 1. Write what the session has, without waiting if the stream takes it.
        if out.pending.is_empty()
            && let Some(t) = session.poll_transmit()
        {
            out.pending = t.bytes;
            out.unflushed = true;
        }
        let mut blocked = false;
        if !out.is_idle() {
            let mut progressed = false;
            let ready = {
                let mut cx = Context::from_waker(std::task::Waker::noop());
                out.poll_write(&mut cx, &mut io, &mut progressed)
            };
            match ready {
                Poll::Ready(Ok(())) => {
                    // A write may have waited on the peer: the turn's reading is stale.
                    t = now();
                    stall_armed = false;
                    if session.has_output() {
                        continue;
                    }
                }
                Poll::Ready(Err(e)) => {
                    session.handle_io_error(now());
                    drain_events(handler, session, t, usize::MAX);
                    break Err(e);
                }
                Poll::Pending => {
                    blocked = true;
                    t = now();
                    if let Some(timeout) = config.write_timeout
                        && (progressed || !stall_armed)
                    {
                        let at = tokio::time::Instant::from_std(t + timeout);
                        match &mut stall {
                            Some(s) => s.as_mut().reset(at),
                            None => stall = Some(Box::pin(tokio::time::sleep_until(at))),
                        }
                        stall_armed = true;
                    }
                }
            }
        }
        // 2. Events; handlers may queue more output, which the next turn writes.
        if drain_events(handler, session, t, EVENT_BATCH) && !blocked {
            continue;
        }
        // 3. Done?
        if session.is_drained() && out.is_idle() {
            let _ = io.shutdown().await;
            break Ok(());
        }
        // 4. Wait. A deadline of the session's or the handler's, or a command, always
        //    wakes the driver; input only while no output is waiting for the peer.
        //    First, what this turn did goes to the counters.
        publisher.publish(session, handler.link());
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
        if blocked {
            // Input is still read while what waits to go out stays small, so two peers
            // both writing more than the other reads do not wait on each other; past
            // it, a peer that does not read gets no more answers queued for it.
            let may_read = out.pending.len() + session.output_len() < BLOCKED_READ_LIMIT;
            if may_read && scratch.is_empty() {
                scratch = vec![0; READ_MIN * 8];
            }
            tokio::select! {
                biased;
                step = std::future::poll_fn(|cx| {
                    let mut progressed = false;
                    match out.poll_write(cx, &mut io, &mut progressed) {
                        Poll::Ready(r) => return Poll::Ready(Blocked::Wrote(r.map(|()| true))),
                        Poll::Pending if progressed => return Poll::Ready(Blocked::Wrote(Ok(false))),
                        Poll::Pending => {}
                    }
                    if may_read {
                        let mut rb = ReadBuf::new(&mut scratch);
                        if let Poll::Ready(r) = Pin::new(&mut io).poll_read(cx, &mut rb) {
                            return Poll::Ready(Blocked::Read(r.map(|()| rb.filled().len())));
                        }
                    }
                    Poll::Pending
                }) => {
                    t = now();
                    match step {
                        // Everything went: the next turn takes more output.
                        Blocked::Wrote(Ok(true)) => stall_armed = false,
                        // Some went: the stall timer starts again.
                        Blocked::Wrote(Ok(false)) => {
                            if let (Some(timeout), Some(s)) = (config.write_timeout, &mut stall) {
                                s.as_mut().reset(tokio::time::Instant::from_std(t + timeout));
                            }
                        }
                        Blocked::Read(Ok(0)) => session.handle_eof(t),
                        Blocked::Read(Ok(n)) => {
                            // After what `buf` holds of a PDU begun earlier.
                            buf.extend_from_slice(scratch.get(..n).unwrap_or_default());
                            session.handle_input_buf(t, &mut buf);
                        }
                        Blocked::Wrote(Err(e)) | Blocked::Read(Err(e)) => {
                            session.handle_io_error(t);
                            drain_events(handler, session, t, usize::MAX);
                            break Err(e);
                        }
                    }
                }
                () = async { if let Some(s) = &mut stall { s.as_mut().await } }, if stall_armed && stall.is_some() => {
                    t = now();
                    tracing::info!(pending = out.pending.len(), "the peer takes no output: closing");
                    session.handle_write_stalled(t);
                    drain_events(handler, session, t, usize::MAX);
                    break Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "the peer stopped reading"));
                }
                () = &mut sleep, if armed.is_some() => {
                    armed = None;
                    t = now();
                    on_deadline(handler, session, t);
                }
                command = commands.recv(), if commands_open => {
                    t = now();
                    commands_open = take_commands(handler, session, commands, command, t);
                }
            }
            continue;
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
                        // The session takes the PDUs out of `buf` without a copy and
                        // leaves the start of the next one.
                        session.handle_input_buf(t, &mut buf);
                        // A full read means more is waiting: read bigger next time.
                        if n >= read_size && read_size < READ_MAX {
                            read_size *= 2;
                        }
                        if buf.capacity() - buf.len() < read_size {
                            buf.reserve(read_size);
                        }
                    }
                    Err(e) => {
                        session.handle_io_error(t);
                        drain_events(handler, session, t, usize::MAX);
                        break Err(e);
                    }
                }
            }
            command = commands.recv(), if commands_open => {
                t = now();
                last_active = t;
                spins = 0;
                commands_open = take_commands(handler, session, commands, command, t);
                // Tasks woken together with the one that sent this (the answers of
                // one store batch, say) are about to send theirs: let them run
                // first, so that all of it shares one write.
                if commands_open {
                    tokio::task::yield_now().await;
                    commands_open = take_queued(handler, session, commands, t);
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
                on_deadline(handler, session, t);
            }
        }
    }
}

/// A deadline passed: the session's timers, and the handler's if due.
fn on_deadline<H: Handler>(handler: &mut H, session: &mut Session<H::Token>, t: Instant) {
    session.handle_timeout(t);
    if handler.poll_timeout().is_some_and(|d| d <= t) {
        handler.on_timeout(t, session);
    }
}

/// Hands `first` and what else is queued (so pipelined requests share one write) to
/// the handler; returns whether the command queue is still open.
fn take_commands<H: Handler>(
    handler: &mut H,
    session: &mut Session<H::Token>,
    commands: &mut mpsc::Receiver<H::Command>,
    first: Option<H::Command>,
    t: Instant,
) -> bool {
    let Some(command) = first else {
        handler.on_commands_closed(t, session);
        return false;
    };
    handler.on_command(t, session, command);
    for _ in 0..COMMAND_BATCH {
        match commands.try_recv() {
            Ok(command) => handler.on_command(t, session, command),
            Err(_) => break,
        }
    }
    true
}

/// Hands what is queued to the handler (at most a batch); returns whether the
/// command queue is still open.
fn take_queued<H: Handler>(
    handler: &mut H,
    session: &mut Session<H::Token>,
    commands: &mut mpsc::Receiver<H::Command>,
    t: Instant,
) -> bool {
    for _ in 0..COMMAND_BATCH {
        match commands.try_recv() {
            Ok(command) => handler.on_command(t, session, command),
            Err(mpsc::error::TryRecvError::Empty) => break,
            Err(mpsc::error::TryRecvError::Disconnected) => {
                handler.on_commands_closed(t, session);
                return false;
            }
        }
    }
    true
}

/// Hands every queued event to the handler; returns whether the session has output.
///
/// Stops early, once `limit` events are handled and there is output to write.
fn drain_events<H: Handler>(handler: &mut H, session: &mut Session<H::Token>, now: Instant, limit: usize) -> bool {
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
