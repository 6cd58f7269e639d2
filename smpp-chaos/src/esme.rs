//! [`FaultEsme`]: an ESME that misbehaves toward an SMSC, on purpose and from a seed,
//! and records what it was sent and what it answered.
//!
//! It binds, submits, and answers deliver_sm: correctly, or padded, garbled, late,
//! never, with generic_nack status 0, with `ESME_RX_T_APPN`; it can stop reading, and
//! reset the connection.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::BytesMut;
use smpp_wire::{Bind, Body, CommandId, CommandStatus, InterfaceVersion, Pdu, SequenceNumber, SubmitSm};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::rng::Rng;
use crate::wire::{encode, read_frame, with_tail, write};

/// How the ESME answers what the SMSC delivers. Probabilities per deliver_sm, tried
/// in the order of the fields.
#[derive(Clone, Debug)]
pub struct EsmeFaults {
    /// Never answer.
    pub never: f64,
    /// Answer generic_nack with status 0.
    pub generic_nack_ok: f64,
    /// Answer `ESME_RX_T_APPN` (retry later).
    pub temporary_error: f64,
    /// Answer `ESME_ROK` with a stray octet after the message_id.
    pub pad: f64,
    /// Answer `ESME_ROK` with a broken TLV after the message_id.
    pub garble: f64,
    /// Answer after `late_by`.
    pub late: f64,
    /// How late.
    pub late_by: Duration,
    /// Stop reading for good after this many deliver_sm.
    pub stop_reading_after: Option<usize>,
}

impl EsmeFaults {
    /// A well-behaved ESME.
    pub fn none() -> Self {
        Self {
            never: 0.0,
            generic_nack_ok: 0.0,
            temporary_error: 0.0,
            pad: 0.0,
            garble: 0.0,
            late: 0.0,
            late_by: Duration::from_millis(100),
            stop_reading_after: None,
        }
    }
}

/// How the ESME answered one deliver_sm.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Answer {
    /// Not at all.
    Never,
    /// generic_nack with status 0.
    GenericNackOk,
    /// deliver_sm_resp with this status (`ESME_ROK` possibly padded or garbled).
    Status(CommandStatus),
}

/// What the ESME saw and answered.
#[derive(Clone, Debug, Default)]
pub struct EsmeLedger {
    /// deliver_sm received: their short_message as text, in order.
    pub delivered: Vec<String>,
    /// How each was answered.
    pub answers: Vec<Answer>,
}

enum Cmd {
    Submit(Box<SubmitSm>, oneshot::Sender<(CommandStatus, Body)>),
    Reset,
}

/// A running fault ESME. Dropping it leaves the connection to end with the task.
#[derive(Debug)]
pub struct FaultEsme {
    commands: mpsc::Sender<Cmd>,
    ledger: Arc<Mutex<EsmeLedger>>,
}

impl std::fmt::Debug for Cmd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Submit(..) => "Submit",
            Self::Reset => "Reset",
        })
    }
}

impl FaultEsme {
    /// Binds over `stream` as `mode_id` (a bind command_id) with the credentials;
    /// returns once bound, or with the bind_resp status.
    pub async fn bind<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(
        stream: S,
        mode_id: CommandId,
        system_id: &str,
        password: &str,
        faults: EsmeFaults,
        seed: u64,
    ) -> Result<Self, CommandStatus> {
        let (mut rd, mut wr) = tokio::io::split(stream);
        let mut bind = Bind::default();
        bind.system_id = system_id.parse().unwrap_or_default();
        bind.password = smpp_wire::Password::new(password).unwrap_or_default();
        bind.system_type = "smpp".parse().unwrap_or_default();
        bind.interface_version = InterfaceVersion::V34;
        let body = match mode_id {
            CommandId::BIND_RECEIVER => Body::BindReceiver(bind),
            CommandId::BIND_TRANSMITTER => Body::BindTransmitter(bind),
            _ => Body::BindTransceiver(bind),
        };
        let io = |_| CommandStatus::ESME_RSYSERR;
        write(&mut wr, &encode(SequenceNumber::new(1), CommandStatus::ESME_ROK, body)).await.map_err(io)?;
        let mut buf = BytesMut::new();
        let frame = read_frame(&mut rd, &mut buf).await.map_err(io)?.ok_or(CommandStatus::ESME_RSYSERR)?;
        let status = smpp_wire::Header::parse(&frame).map_or(CommandStatus::ESME_RSYSERR, |h| h.command_status);
        if status.is_error() {
            return Err(status);
        }
        let (tx, rx) = mpsc::channel(64);
        let ledger = Arc::new(Mutex::new(EsmeLedger::default()));
        let task = Task { faults, rng: Rng::new(seed), ledger: ledger.clone(), next_seq: 2, waiting: Vec::new() };
        tokio::spawn(task.run(rd, wr, buf, rx));
        Ok(Self { commands: tx, ledger })
    }

    /// Submits a message with `text`; returns the SMSC's status and response body.
    pub async fn submit(&self, text: &str) -> Option<(CommandStatus, Body)> {
        let mut sm = SubmitSm::default();
        sm.destination_addr = smpp_wire::Address::international("447700900123").ok()?;
        sm.short_message = smpp_wire::ShortMessage::new(text.as_bytes().to_vec()).ok()?;
        sm.registered_delivery = smpp_wire::RegisteredDelivery::RECEIPT;
        let (tx, rx) = oneshot::channel();
        self.commands.send(Cmd::Submit(Box::new(sm), tx)).await.ok()?;
        rx.await.ok()
    }

    /// Drops the connection at once.
    pub async fn reset(&self) {
        let _ = self.commands.send(Cmd::Reset).await;
    }

    /// A copy of what the ESME saw and answered.
    pub fn ledger(&self) -> EsmeLedger {
        self.ledger.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

struct Task {
    faults: EsmeFaults,
    rng: Rng,
    ledger: Arc<Mutex<EsmeLedger>>,
    next_seq: u32,
    waiting: Vec<(u32, oneshot::Sender<(CommandStatus, Body)>)>,
}

impl Task {
    async fn run<R, W>(mut self, mut rd: R, mut wr: W, mut buf: BytesMut, mut commands: mpsc::Receiver<Cmd>)
    where
        R: AsyncRead + Unpin,
        W: AsyncWrite + Unpin,
    {
        let mut later: VecDeque<(Instant, Vec<u8>)> = VecDeque::new();
        let mut delivered = 0usize;
        loop {
            let reading = self.faults.stop_reading_after.is_none_or(|n| delivered < n);
            let due = later.front().map(|l| l.0);
            tokio::select! {
                frame = read_frame(&mut rd, &mut buf), if reading => {
                    let Ok(Some(frame)) = frame else { return };
                    if !self.on_frame(&mut wr, frame, &mut later, &mut delivered).await {
                        return;
                    }
                }
                () = tokio::time::sleep_until(due.unwrap_or_else(Instant::now)), if due.is_some() => {
                    if let Some((_, bytes)) = later.pop_front() && write(&mut wr, &bytes).await.is_err() {
                        return;
                    }
                }
                command = commands.recv() => match command {
                    Some(Cmd::Submit(sm, reply)) => {
                        let seq = self.next_seq;
                        self.next_seq += 1;
                        self.waiting.push((seq, reply));
                        let bytes = encode(SequenceNumber::new(seq), CommandStatus::ESME_ROK, Body::SubmitSm(*sm));
                        if write(&mut wr, &bytes).await.is_err() {
                            return;
                        }
                    }
                    Some(Cmd::Reset) | None => return,
                },
            }
        }
    }

    /// Handles one frame from the SMSC; `false` ends the connection.
    async fn on_frame<W: AsyncWrite + Unpin>(
        &mut self,
        wr: &mut W,
        frame: bytes::Bytes,
        later: &mut VecDeque<(Instant, Vec<u8>)>,
        delivered: &mut usize,
    ) -> bool {
        let Ok((pdu, _)) = Pdu::decode_lenient(frame) else { return true };
        let reply = match pdu.body {
            Body::DeliverSm(d) => {
                *delivered += 1;
                let text = String::from_utf8_lossy(d.short_message.as_bytes()).into_owned();
                match self.answer(pdu.sequence, text) {
                    Some(bytes) if self.rng.chance(self.faults.late) => {
                        later.push_back((Instant::now() + self.faults.late_by, bytes));
                        None
                    }
                    other => other,
                }
            }
            Body::EnquireLink => Some(encode(pdu.sequence, CommandStatus::ESME_ROK, Body::EnquireLinkResp)),
            Body::Unbind => {
                let _ = write(wr, &encode(pdu.sequence, CommandStatus::ESME_ROK, Body::UnbindResp)).await;
                return false;
            }
            body if body.command_id().is_response() => {
                if let Some(k) = self.waiting.iter().position(|(s, _)| *s == pdu.sequence.value()) {
                    let (_, reply) = self.waiting.swap_remove(k);
                    let _ = reply.send((pdu.status, body));
                }
                None
            }
            _ => None,
        };
        match reply {
            Some(bytes) => write(wr, &bytes).await.is_ok(),
            None => true,
        }
    }

    /// The answer to a deliver_sm, if the faults say to give one.
    fn answer(&mut self, seq: SequenceNumber, text: String) -> Option<Vec<u8>> {
        let f = self.faults.clone();
        let (status, bytes) = if self.rng.chance(f.never) {
            (Answer::Never, None)
        } else if self.rng.chance(f.generic_nack_ok) {
            (Answer::GenericNackOk, Some(encode(seq, CommandStatus::ESME_ROK, Body::GenericNack)))
        } else if self.rng.chance(f.temporary_error) {
            let s = CommandStatus::ESME_RX_T_APPN;
            (Answer::Status(s), Some(encode(seq, s, Body::DeliverSmResp(None))))
        } else {
            let ok = encode(seq, CommandStatus::ESME_ROK, Body::DeliverSmResp(Some(Default::default())));
            let bytes = if self.rng.chance(f.pad) {
                with_tail(ok, &[0])
            } else if self.rng.chance(f.garble) {
                with_tail(ok, &[0x04, 0x27, 0x00])
            } else {
                ok
            };
            (Answer::Status(CommandStatus::ESME_ROK), Some(bytes))
        };
        if let Ok(mut l) = self.ledger.lock() {
            l.delivered.push(text);
            l.answers.push(status);
        }
        bytes
    }
}
