//! One connection's [`Handler`]: routes session events to the waiting requests and to
//! the inbound stream, and carries out the commands of the [`Client`](super::Client).

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use smpp_session::{CloseReason, Event, Request, SendError, Session};
use smpp_wire::text::{Pushed, Reassembler};
use smpp_wire::{Body, CommandId, CommandStatus, DeliverSm, SequenceNumber, SubmitSmResp};
use tokio::sync::{OwnedSemaphorePermit, mpsc, oneshot};

use super::inbound::{Inbound, InboundMessage, PartInfo, Responder};
use super::{LinkState, Shared};
use crate::error::ClientError;
use smpp_tokio::Handler;

/// The reassembler of a client, shared by its connections (and by every client of a
/// [`Pool`](super::Pool)), so a long message survives reconnects and may arrive
/// spread over several binds.
#[derive(Debug)]
pub(crate) struct Reassembly {
    pub(crate) reassembler: Mutex<Reassembler<DeliverSm>>,
    /// Binds still running that may complete what is held. The last to stop hands
    /// over what is left: its parts were acknowledged.
    pub(crate) running: std::sync::atomic::AtomicUsize,
}

/// A shared [`Reassembly`].
pub(crate) type SharedReassembler = Arc<Reassembly>;

impl Reassembly {
    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, Reassembler<DeliverSm>> {
        self.reassembler.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// How long an incomplete long message waits for its other parts.
pub(crate) const REASSEMBLY_TIMEOUT: Duration = Duration::from_secs(120);

/// A new shared reassembler: at most 1024 incomplete messages and 4 MiB of parts.
pub(crate) fn new_reassembler() -> SharedReassembler {
    Arc::new(Reassembly {
        reassembler: Mutex::new(Reassembler::new(REASSEMBLY_TIMEOUT, 1024, 4 << 20)),
        running: std::sync::atomic::AtomicUsize::new(0),
    })
}

/// Hands on a message the client put together (a reassembled or expired long
/// message): its parts were acknowledged, so it is queued, or kept in the backlog
/// when the queue is full. Only a dropped [`Incoming`](super::Incoming) loses it.
pub(crate) fn hand_on(shared: &Shared, inbound: Inbound) {
    match shared.incoming.try_send(inbound) {
        Ok(()) => {}
        Err(mpsc::error::TrySendError::Full(inbound)) => shared.backlog.push(inbound),
        Err(mpsc::error::TrySendError::Closed(_)) => {
            tracing::warn!("the Incoming stream was dropped: a long message whose parts were acknowledged is lost");
        }
    }
}

/// Hands on incomplete long messages as [`InboundMessage::Incomplete`].
pub(crate) fn hand_on_expired(shared: &Shared, expired: Vec<smpp_wire::text::Expired<DeliverSm>>) {
    for e in expired {
        tracing::info!(reference = e.reference, received = e.received, total = e.total, "long message incomplete");
        let message = InboundMessage::Incomplete(Box::new(e));
        hand_on(shared, Inbound { seq: SequenceNumber::from_wire(0), message, salvaged: None, responder: None });
    }
}

/// How a request ended, as the connection reports it to the waiting caller.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The peer answered `ESME_ROK`.
    Accepted(Body),
    /// The peer answered an error status. The request and its window permit come
    /// back, so a throttled request can be sent again without a copy.
    Response { status: CommandStatus, request: Box<Body>, permit: OwnedSemaphorePermit },
    /// No response within the response timeout: the outcome is unknown.
    Timeout,
    /// The request went out and the connection ended before its response.
    Lost(CloseReason),
    /// The request never went out.
    NotSent(CloseReason),
    /// The link stayed down longer than the reconnect `down_wait`.
    NotConnected(Duration),
    /// The SMSC refused to bind again, for a reason that will not go away.
    BindRefused(CommandStatus),
    /// The session refused the request (wrong bind mode, TLV not negotiated, ...).
    Refused(SendError),
}

/// A request in flight: the session keeps it as the request's token and gives it
/// back with the outcome, so the connection keeps no map of its own.
#[derive(Debug)]
pub(crate) struct Waiter {
    pub(crate) request: Box<Body>,
    pub(crate) reply: oneshot::Sender<Outcome>,
    pub(crate) permit: OwnedSemaphorePermit,
}

impl std::borrow::Borrow<Body> for Waiter {
    fn borrow(&self) -> &Body {
        &self.request
    }
}

/// A request waiting to be sent, with who waits for it.
#[derive(Debug)]
pub(crate) struct Held {
    pub(crate) request: Box<Body>,
    pub(crate) reply: oneshot::Sender<Outcome>,
    pub(crate) permit: OwnedSemaphorePermit,
    /// When it was first held, to bound the wait for a link.
    pub(crate) since: Instant,
}

/// Commands from the client to its connection.
#[derive(Debug)]
pub(crate) enum Command {
    // Boxed: requests are a few hundred octets, and only the pointer travels.
    Request {
        request: Box<Body>,
        reply: oneshot::Sender<Outcome>,
        permit: OwnedSemaphorePermit,
    },
    /// A manual-ack answer, for the connection `conn`.
    Respond {
        conn: u64,
        seq: SequenceNumber,
        status: CommandStatus,
        body: Box<Body>,
        part: Option<Box<PartInfo>>,
    },
    Unbind {
        reply: oneshot::Sender<()>,
    },
    Close,
    /// The last `Client` handle is gone: unbind, and do not reconnect.
    Shutdown,
}

/// The response body to an inbound request: for `ESME_ROK`, the body the reference
/// gives (deliver_sm_resp and data_sm_resp carry a message_id, a lone NUL); for an
/// error, header only. `None` for a request without a response.
pub(crate) fn ack_body(request: CommandId, status: CommandStatus) -> Option<Body> {
    match (request, status.is_ok()) {
        (CommandId::DELIVER_SM, true) => Some(Body::DeliverSmResp(Some(SubmitSmResp::default()))),
        (CommandId::DATA_SM, true) => Some(Body::DataSmResp(Some(SubmitSmResp::default()))),
        (id, _) => Body::empty_response_for(id),
    }
}

/// Why a connection ended, for the supervisor.
#[derive(Debug, Default)]
pub(crate) struct Ending {
    /// It bound.
    pub(crate) bound: bool,
    /// Why the session closed.
    pub(crate) reason: Option<CloseReason>,
    /// The SMSC refused the bind with this status.
    pub(crate) refused: Option<CommandStatus>,
    /// Why it did not bind, for the caller of `connect`.
    pub(crate) first_error: Option<ClientError>,
    /// A failure that another attempt cannot mend (a configuration error).
    pub(crate) fatal: bool,
}

/// Routes one connection's session events to the requests and streams of the client.
pub(crate) struct ClientHandler {
    /// This connection's number (unique in the process).
    pub(crate) conn: u64,
    pub(crate) shared: Arc<Shared>,
    pub(crate) side: Arc<super::Side>,
    /// Requests that came before the bind, or while this connection could not send:
    /// sent once bound, or handed to the next connection.
    pub(crate) held: VecDeque<Held>,
    pub(crate) commands: mpsc::WeakSender<Command>,
    pub(crate) auto_ack: bool,
    /// The caller of `connect`, waiting for the first bind result.
    pub(crate) notify: Option<oneshot::Sender<Result<(), ClientError>>>,
    pub(crate) bind_timeout: Duration,
    pub(crate) unbind_waiters: Vec<oneshot::Sender<()>>,
    pub(crate) link: super::LinkTx,
    /// The application asked to unbind or close: nothing is held for later.
    pub(crate) stopping: bool,
    pub(crate) ending: Ending,
}

impl ClientHandler {
    /// Sends a request now if the session can take it; holds it otherwise.
    fn send_or_hold(&mut self, now: Instant, session: &mut Session<Waiter>, held: Held) {
        if held.reply.is_closed() {
            // The caller gave up (its own deadline) before the request went out: it
            // is not sent now, so it cannot be sent behind the caller's back.
            return;
        }
        if !session.can_send() {
            if self.stopping {
                let reason = CloseReason::Unbound { initiator: smpp_session::Initiator::Local };
                let _ = held.reply.send(Outcome::NotSent(reason));
            } else {
                self.held.push_back(held);
            }
            return;
        }
        let Held { request, reply, permit, .. } = held;
        match session.send_held(now, Waiter { request, reply, permit }) {
            Ok(_) => {
                // One writer (this task): the pacer reads it when the SMSC throttles.
                self.side.sent.fetch_add(1, Ordering::Relaxed);
            }
            Err((e, waiter)) => {
                let _ = waiter.reply.send(Outcome::Refused(e));
            }
        }
    }

    /// Room for one message in the inbound queue; `None` (and a log line) if full or
    /// if the application dropped [`Incoming`](super::Incoming).
    fn reserve_incoming(&self) -> Option<mpsc::Permit<'_, Inbound>> {
        match self.shared.incoming.try_reserve() {
            Ok(slot) => Some(slot),
            Err(mpsc::error::TrySendError::Closed(())) => {
                if !self.shared.warned_incoming_dropped.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        "the Incoming stream was dropped: inbound messages are answered ESME_RX_T_APPN and stay with the SMSC"
                    );
                }
                None
            }
            Err(mpsc::error::TrySendError::Full(())) => {
                tracing::debug!("inbound queue full: asking the SMSC to retry");
                None
            }
        }
    }

    /// Reports incomplete long messages that expired, with the parts that came.
    fn report_expired(&mut self, now: Instant) {
        let expired = self.shared.reassembler.lock().expire(now);
        hand_on_expired(&self.shared, expired);
    }

    /// Adds an acknowledged part to the reassembler; hands on the whole message when
    /// this part completes it. Returns the part if its number is impossible.
    fn reassemble(&mut self, now: Instant, info: PartInfo) -> Option<(DeliverSm, smpp_wire::text::Fragment)> {
        let PartInfo { source, destination, fragment, deliver } = info;
        let data_coding = deliver.data_coding;
        let pushed =
            self.shared.reassembler.lock().push_with(now, &source, &destination, data_coding, fragment, deliver);
        match pushed {
            Pushed::Complete(a) => {
                let message = InboundMessage::Long { first: a.first, data: a.data };
                hand_on(
                    &self.shared,
                    Inbound { seq: SequenceNumber::from_wire(0), message, salvaged: None, responder: None },
                );
                None
            }
            Pushed::Invalid(fragment, deliver) => Some((deliver, fragment)),
            // Adding a part may have evicted another message to bound memory.
            _ => {
                self.report_expired(now);
                None
            }
        }
    }

    fn on_inbound(
        &mut self,
        now: Instant,
        session: &mut Session<Waiter>,
        seq: SequenceNumber,
        request: Request,
        salvaged: Option<Box<smpp_wire::Salvaged>>,
    ) {
        let id = request.command_id();
        let message = match request {
            Request::DeliverSm(d) if d.esm_class.is_receipt() => InboundMessage::Receipt(d),
            Request::DeliverSm(d) => match smpp_wire::text::fragment_of(d.esm_class, &d.short_message, &d.tlvs) {
                // A part number of 0 or above the total is delivered as a plain message.
                Some(f) if f.total > 1 && f.seq >= 1 && f.seq <= f.total => {
                    return self.on_part(now, session, seq, d, f, salvaged);
                }
                _ => InboundMessage::Deliver(d),
            },
            Request::DataSm(d) => InboundMessage::Data(d),
            Request::AlertNotification(a) => {
                // It has no response: hand it on if there is room.
                let inbound = Inbound { seq, message: InboundMessage::Alert(a), salvaged, responder: None };
                if self.shared.incoming.try_send(inbound).is_err() {
                    tracing::debug!("inbound queue full: alert_notification dropped");
                }
                return;
            }
            other => {
                // The session lets only SMSC-to-ESME requests through; answer anything
                // else as unsupported rather than leave it unanswered.
                if let Some(body) = Body::empty_response_for(other.command_id()) {
                    let _ = session.respond(now, seq, CommandStatus::ESME_RINVCMDID, body);
                }
                return;
            }
        };
        self.deliver(now, session, seq, id, message, salvaged, None);
    }

    /// Hands on a message that needs an answer. It is acknowledged (auto-ack) or given
    /// a responder (manual ack) only once it has room in the inbound queue, and in
    /// manual ack only once its answer has room in the command queue; otherwise it is
    /// answered `ESME_RX_T_APPN`, and the SMSC keeps it.
    #[allow(clippy::too_many_arguments)]
    fn deliver(
        &mut self,
        now: Instant,
        session: &mut Session<Waiter>,
        seq: SequenceNumber,
        id: CommandId,
        message: InboundMessage,
        salvaged: Option<Box<smpp_wire::Salvaged>>,
        part: Option<Box<PartInfo>>,
    ) {
        let retry_later = |session: &mut Session<Waiter>| {
            if let Some(body) = ack_body(id, CommandStatus::ESME_RX_T_APPN) {
                let _ = session.respond(now, seq, CommandStatus::ESME_RX_T_APPN, body);
            }
        };
        let Some(slot) = self.reserve_incoming() else { return retry_later(session) };
        if self.auto_ack {
            // Handed on only if acknowledged: a session closing under it leaves the
            // message with the SMSC, which delivers it again.
            let acked = ack_body(id, CommandStatus::ESME_ROK)
                .is_some_and(|body| session.respond(now, seq, CommandStatus::ESME_ROK, body).is_ok());
            if acked {
                slot.send(Inbound { seq, message, salvaged, responder: None });
            }
            return;
        }
        let permit = self.commands.upgrade().and_then(|c| c.try_reserve_owned().ok());
        let Some(permit) = permit else {
            drop(slot);
            tracing::debug!("command queue full: asking the SMSC to retry");
            return retry_later(session);
        };
        let responder =
            Responder { permit: Some(permit), conn: self.conn, side: self.side.clone(), seq, request: id, part };
        slot.send(Inbound { seq, message, salvaged, responder: Some(responder) });
    }

    /// One part of a long message.
    fn on_part(
        &mut self,
        now: Instant,
        session: &mut Session<Waiter>,
        seq: SequenceNumber,
        d: DeliverSm,
        f: smpp_wire::text::Fragment,
        salvaged: Option<Box<smpp_wire::Salvaged>>,
    ) {
        let source = d.source_addr.addr.as_bytes().to_vec();
        let destination = d.destination_addr.addr.as_bytes().to_vec();
        if !self.auto_ack {
            // The application answers each part; acknowledged parts are reassembled.
            let message =
                InboundMessage::Part { deliver: d.clone(), reference: f.reference, part: f.seq, total: f.total };
            let info = PartInfo { source, destination, fragment: f, deliver: d };
            return self.deliver(now, session, seq, CommandId::DELIVER_SM, message, salvaged, Some(Box::new(info)));
        }
        // Auto-ack: a part is acknowledged only if the message it may complete has room.
        let Some(slot) = self.reserve_incoming() else {
            let _ = session.respond(now, seq, CommandStatus::ESME_RX_T_APPN, Body::DeliverSmResp(None));
            return;
        };
        let data_coding = d.data_coding;
        let ok = Body::DeliverSmResp(Some(SubmitSmResp::default()));
        if session.respond(now, seq, CommandStatus::ESME_ROK, ok).is_err() {
            // Not acknowledged (the session is closing): the SMSC delivers it again.
            return;
        }
        let pushed = self.shared.reassembler.lock().push_with(now, &source, &destination, data_coding, f, d);
        let whole = match pushed {
            Pushed::Complete(a) => Some(InboundMessage::Long { first: a.first, data: a.data }),
            Pushed::Invalid(_, d) => Some(InboundMessage::Deliver(d)),
            _ => None,
        };
        match whole {
            Some(message) => slot.send(Inbound { seq, message, salvaged, responder: None }),
            None => drop(slot),
        }
        self.report_expired(now);
    }

    /// Fails what this connection still holds (the supervisor takes the held requests
    /// first when it reconnects).
    pub(crate) fn fail_pending(&mut self) {
        for w in self.unbind_waiters.drain(..) {
            let _ = w.send(());
        }
    }
}

impl Handler for ClientHandler {
    type Command = Command;
    type Token = Waiter;

    fn link(&self) -> smpp_tokio::metrics::Link<'_> {
        smpp_tokio::metrics::Link::new(Some(&self.shared.counters.link), Some(&self.shared.account))
    }

    fn on_command(&mut self, now: Instant, session: &mut Session<Waiter>, command: Command) {
        match command {
            Command::Request { request, reply, permit } => {
                self.send_or_hold(now, session, Held { request, reply, permit, since: now });
            }
            Command::Respond { conn, seq, status, body, part } => {
                if conn != self.conn {
                    tracing::debug!(?seq, "an answer for an earlier connection: dropped");
                    return;
                }
                match session.respond(now, seq, status, *body) {
                    Ok(()) => {
                        if let Some(info) = part
                            && let Some((d, _)) = self.reassemble(now, *info)
                        {
                            // Not a valid part after all: hand it on as it is.
                            hand_on(
                                &self.shared,
                                Inbound { seq, message: InboundMessage::Deliver(d), salvaged: None, responder: None },
                            );
                        }
                    }
                    Err(e) => tracing::debug!(%e, "response not sent"),
                }
            }
            Command::Unbind { reply } => {
                self.stopping = true;
                if session.unbind(now).is_err() {
                    session.close(now);
                }
                self.unbind_waiters.push(reply);
            }
            Command::Close => {
                self.stopping = true;
                session.close(now);
            }
            Command::Shutdown => {
                self.stopping = true;
                if session.unbind(now).is_err() {
                    session.close(now);
                }
            }
        }
        if self.stopping {
            // Nothing held will be sent now.
            let reason = CloseReason::Unbound { initiator: smpp_session::Initiator::Local };
            for h in self.held.drain(..) {
                let _ = h.reply.send(Outcome::NotSent(reason));
            }
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.shared.reassembler.lock().poll_timeout()
    }

    fn on_timeout(&mut self, now: Instant, _session: &mut Session<Waiter>) {
        self.report_expired(now);
    }

    fn on_commands_closed(&mut self, now: Instant, session: &mut Session<Waiter>) {
        self.stopping = true;
        if session.unbind(now).is_err() {
            session.close(now);
        }
    }

    fn on_event(&mut self, now: Instant, session: &mut Session<Waiter>, event: Event<Waiter>) {
        match event {
            Event::Bound { mode, version } => {
                tracing::info!(?mode, ?version, "bound");
                self.side.live.store(self.conn, Ordering::Release);
                let _ = self.link.send(LinkState::Up { mode, version });
                self.ending.bound = true;
                if let Some(n) = self.notify.take() {
                    let _ = n.send(Ok(()));
                }
                for held in std::mem::take(&mut self.held) {
                    self.send_or_hold(now, session, held);
                }
            }
            Event::Response { status, response, token, .. } => {
                let Waiter { request, reply, permit } = token;
                let outcome = if status.is_ok() {
                    // The request and its permit are done with here.
                    Outcome::Accepted(response)
                } else {
                    Outcome::Response { status, request, permit }
                };
                let _ = reply.send(outcome);
            }
            Event::ResponseTimeout { token, .. } => {
                let _ = token.reply.send(Outcome::Timeout);
            }
            Event::RequestFailed { reason, sent, token, .. } => {
                if sent {
                    let _ = token.reply.send(Outcome::Lost(reason));
                } else {
                    // It never left: send it on the next connection, unless the
                    // application is closing the client.
                    let Waiter { request, reply, permit } = token;
                    let held = Held { request, reply, permit, since: now };
                    if self.stopping {
                        let _ = held.reply.send(Outcome::NotSent(reason));
                    } else {
                        self.held.push_back(held);
                    }
                }
            }
            Event::Request { seq, request, salvaged } => self.on_inbound(now, session, seq, request, salvaged),
            Event::UnexpectedResponse { seq, command_id, status, late } => {
                tracing::debug!(?seq, %command_id, %status, late, "unexpected response");
            }
            Event::Closed { reason } => {
                tracing::info!(%reason, "closed");
                self.side.live.store(0, Ordering::Release);
                self.ending.reason = Some(reason);
                if let CloseReason::BindRejected(status) = reason {
                    self.ending.refused = Some(status);
                }
                if self.notify.is_some() {
                    let e = match reason {
                        CloseReason::BindRejected(status) => ClientError::BindRefused(status),
                        CloseReason::BindTimeout => ClientError::BindTimeout(self.bind_timeout),
                        other => ClientError::Closed(other),
                    };
                    tracing::warn!(%e, "bind failed");
                    // The supervisor reports it to `connect`, or tries again.
                    self.ending.first_error = Some(e);
                }
                self.fail_pending();
                let _ = self.link.send(LinkState::Down(reason));
            }
            _ => {}
        }
    }
}
