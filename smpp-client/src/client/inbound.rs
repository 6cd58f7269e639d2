//! What the SMSC sends us: [`Inbound`] messages on the [`Incoming`] stream, and the
//! [`Responder`] that answers one in manual-ack mode.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use smpp_wire::text::{Expired, Fragment};
use smpp_wire::{Body, CommandStatus, DataSm, DeliverSm, SequenceNumber};
use tokio::sync::mpsc;

use super::handler::{Command, ack_body};
use crate::error::RequestError;

/// An inbound deliver_sm, data_sm or alert_notification.
#[non_exhaustive]
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum InboundMessage {
    /// A mobile-originated message (deliver_sm).
    Deliver(DeliverSm),
    /// A delivery receipt (deliver_sm with esm_class message type 0x04 or 0x20).
    Receipt(DeliverSm),
    /// A data_sm.
    Data(DataSm),
    /// An alert_notification (no response is expected).
    Alert(smpp_wire::AlertNotification),
    /// Manual-ack mode only: one part of a long message (UDH or SAR). Answer it like
    /// any message; once every part is answered `ESME_ROK`, the whole message follows
    /// as [`Long`](Self::Long). (In auto-ack mode parts are not handed out one by one.)
    Part {
        /// The part as it came.
        deliver: DeliverSm,
        /// The concatenation reference.
        reference: u16,
        /// This part's number, from 1.
        part: u8,
        /// How many parts the message has.
        total: u8,
    },
    /// A long message reassembled from its parts (UDH or SAR), which may have come on
    /// several connections or binds; each part was acknowledged as it came.
    Long {
        /// The first part received (addresses, esm_class, data_coding).
        first: DeliverSm,
        /// The reassembled user data, UDHs removed.
        data: Vec<u8>,
    },
    /// A long message whose parts did not all arrive in time (or were evicted to bound
    /// memory). The parts that did arrive were acknowledged, so they are all here,
    /// with their data ([`Expired::texts`] decodes them) and the first part received
    /// ([`Expired::first`]).
    Incomplete(Box<Expired<DeliverSm>>),
}

/// One inbound message. In manual-ack mode, answer it with [`respond`](Self::respond);
/// one dropped unanswered is answered `ESME_RX_T_APPN`, so the SMSC delivers it again.
#[derive(Debug)]
pub struct Inbound {
    /// The sequence number it came with (0 for messages put together by the client:
    /// [`InboundMessage::Long`] and [`InboundMessage::Incomplete`]).
    pub seq: SequenceNumber,
    /// The message.
    pub message: InboundMessage,
    pub(crate) salvaged: Option<Box<smpp_wire::Salvaged>>,
    pub(crate) responder: Option<Responder>,
}

impl Inbound {
    /// Whether this is a delivery receipt.
    pub fn is_receipt(&self) -> bool {
        matches!(self.message, InboundMessage::Receipt(_))
    }

    /// The parsed delivery receipt, if this is one.
    pub fn receipt(&self) -> Option<smpp_wire::text::Receipt> {
        match &self.message {
            InboundMessage::Receipt(d) => smpp_wire::text::Receipt::from_deliver_sm(d),
            _ => None,
        }
    }

    /// What was overlooked to read this message, if it was not clean: a known TLV whose
    /// value did not decode is kept raw (as `Tlv::Unknown`), and named here.
    pub fn salvaged(&self) -> Option<&smpp_wire::Salvaged> {
        self.salvaged.as_deref()
    }

    /// The message text, decoded by its data_coding (reassembled for long messages).
    pub fn text(&self) -> Option<String> {
        let decoded = match &self.message {
            InboundMessage::Deliver(d) | InboundMessage::Receipt(d) | InboundMessage::Part { deliver: d, .. } => {
                let fragment = matches!(self.message, InboundMessage::Part { .. })
                    .then(|| smpp_wire::text::fragment_of(d.esm_class, &d.short_message, &d.tlvs))
                    .flatten();
                match fragment {
                    Some(f) => smpp_wire::text::decode_with(d.data_coding, &f.data, f.national),
                    None => {
                        let payload = d.tlvs.message_payload();
                        let octets = if d.short_message.is_empty() {
                            payload.map(|p| p.as_bytes().to_vec()).unwrap_or_default()
                        } else {
                            d.short_message.as_bytes().to_vec()
                        };
                        smpp_wire::text::decode_message(d.data_coding, d.esm_class, &octets)
                    }
                }
            }
            InboundMessage::Long { first, data } => {
                // The parts' UDH announces any national language tables.
                let tables = smpp_wire::text::fragment_of(first.esm_class, &first.short_message, &first.tlvs)
                    .map(|f| f.national)
                    .unwrap_or_default();
                smpp_wire::text::decode_with(first.data_coding, data, tables)
            }
            InboundMessage::Data(d) => {
                let payload = d.tlvs.message_payload().map(|p| p.as_bytes().to_vec()).unwrap_or_default();
                smpp_wire::text::decode(d.data_coding, &payload)
            }
            _ => return None,
        };
        match decoded {
            smpp_wire::text::Decoded::Text(t) => Some(t),
            _ => None,
        }
    }

    /// Answers the message with `status` (manual-ack mode). In auto-ack mode it was
    /// already answered `ESME_ROK` and this does nothing.
    ///
    /// The answer goes on the connection the message came on, and cannot be lost to a
    /// full queue: its room was reserved when the message was handed out. If that
    /// connection is known to have closed, the answer is refused with
    /// [`RequestError::ConnectionChanged`]; one that races with the close is dropped
    /// by the connection that takes it. Either way it never reaches a newer
    /// connection, whose sequence numbers mean other messages, and the SMSC delivers
    /// the message again.
    pub fn respond(mut self, status: CommandStatus) -> Result<(), RequestError> {
        match self.responder.take() {
            Some(mut r) => r.send(status),
            None => Ok(()),
        }
    }
}

/// A long-message part waiting for its manual ack, to be reassembled once acked.
#[derive(Debug)]
pub(crate) struct PartInfo {
    pub(crate) source: Vec<u8>,
    pub(crate) destination: Vec<u8>,
    pub(crate) fragment: Fragment,
    pub(crate) deliver: DeliverSm,
}

/// The right to answer one inbound request, on the connection it came on.
#[derive(Debug)]
pub(crate) struct Responder {
    /// Room in the command queue, reserved when the message was handed out: the
    /// answer can never be lost to a full queue.
    pub(crate) permit: Option<mpsc::OwnedPermit<Command>>,
    /// The connection the request came on, and the one that is live now.
    pub(crate) conn: u64,
    pub(crate) side: Arc<super::Side>,
    pub(crate) seq: SequenceNumber,
    /// The request's command_id decides the response body.
    pub(crate) request: smpp_wire::CommandId,
    pub(crate) part: Option<Box<PartInfo>>,
}

impl Responder {
    fn send(&mut self, status: CommandStatus) -> Result<(), RequestError> {
        let Some(permit) = self.permit.take() else { return Ok(()) };
        if self.side.live.load(Ordering::Acquire) != self.conn {
            return Err(RequestError::ConnectionChanged);
        }
        let body = ack_body(self.request, status).unwrap_or(Body::GenericNack);
        let part = if status.is_ok() { self.part.take() } else { None };
        permit.send(Command::Respond { conn: self.conn, seq: self.seq, status, body: Box::new(body), part });
        Ok(())
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        // Never leave the SMSC without an answer: ask it to retry.
        let _ = self.send(CommandStatus::ESME_RX_T_APPN);
    }
}

/// Messages the client put together itself (reassembled long messages, expired
/// parts) that found the inbound queue full: they were acknowledged part by part, so
/// they wait here instead of being dropped, and [`Incoming`] hands them out first.
#[derive(Debug, Default)]
pub(crate) struct Backlog {
    queue: Mutex<VecDeque<Inbound>>,
    /// The task waiting in [`Incoming::poll_recv`], woken by [`push`](Self::push).
    waker: Mutex<Option<Waker>>,
}

impl Backlog {
    pub(crate) fn push(&self, inbound: Inbound) {
        if let Ok(mut q) = self.queue.lock() {
            q.push_back(inbound);
        }
        let waker = self.waker.lock().ok().and_then(|mut w| w.take());
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    fn pop(&self) -> Option<Inbound> {
        self.queue.lock().ok()?.pop_front()
    }

    fn is_empty(&self) -> bool {
        self.queue.lock().map_or(true, |q| q.is_empty())
    }

    /// Wakes `waker` on the next [`push`](Self::push).
    fn register(&self, waker: &Waker) {
        if let Ok(mut slot) = self.waker.lock() {
            match slot.as_mut() {
                Some(w) if w.will_wake(waker) => {}
                _ => *slot = Some(waker.clone()),
            }
        }
    }
}

/// The stream of inbound messages: [`recv`](Self::recv) them, or use it as a
/// [`futures::Stream`](futures_core::Stream) (`while let Some(m) = incoming.next().await`
/// with `StreamExt`). [`Incoming::merge`] makes one stream of several.
///
/// Dropping it does not lose messages: from then on every deliver_sm and data_sm is
/// answered `ESME_RX_T_APPN` (the SMSC keeps it and delivers it again later), and a
/// warning is logged once. Bind as a transmitter if you want no inbound messages.
#[derive(Debug)]
pub struct Incoming {
    pub(crate) rx: mpsc::Receiver<Inbound>,
    pub(crate) backlog: Arc<Backlog>,
}

impl Incoming {
    /// The next inbound message, or `None` once the client is closed for good.
    ///
    /// Cancel safe: a message is never lost to a `select!` that drops the future.
    pub async fn recv(&mut self) -> Option<Inbound> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Polls for the next inbound message: `Ready(None)` once the client is closed for
    /// good, `Pending` (waking `cx`'s task later) while none is waiting.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Inbound>> {
        if let Some(inbound) = self.backlog.pop() {
            return Poll::Ready(Some(inbound));
        }
        // Registered before looking again, so a push in between is not missed.
        self.backlog.register(cx.waker());
        if let Some(inbound) = self.backlog.pop() {
            return Poll::Ready(Some(inbound));
        }
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(inbound)) => Poll::Ready(Some(inbound)),
            // The connections are gone, so nothing is pushed any more: hand out what
            // is left.
            Poll::Ready(None) => Poll::Ready(self.backlog.pop()),
            Poll::Pending => Poll::Pending,
        }
    }

    /// The next inbound message if one is waiting.
    pub fn try_recv(&mut self) -> Option<Inbound> {
        self.backlog.pop().or_else(|| self.rx.try_recv().ok())
    }
}

impl futures_core::Stream for Incoming {
    type Item = Inbound;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Inbound>> {
        self.get_mut().poll_recv(cx)
    }
}

impl futures_core::FusedStream for Incoming {
    /// Once the client is closed for good and every message was handed out.
    fn is_terminated(&self) -> bool {
        self.rx.is_closed() && self.rx.is_empty() && self.backlog.is_empty()
    }
}
