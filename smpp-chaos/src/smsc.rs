//! [`FaultSmsc`]: an SMSC that misbehaves the way real ones do, on purpose and from a
//! seed, and keeps a [`Ledger`] of what it really accepted and delivered.
//!
//! Per submit_sm it may throttle (`ESME_RTHROTTLED`), say its queue is full, answer
//! generic_nack with status 0, or accept; an accepted message's answer may be padded
//! or garbled after the message_id, late, out of order, or never sent. It may reset
//! the connection in the middle of a window, or stop reading for a while. It delivers
//! receipts for what it accepted and queued MO (long ones split, their parts spread
//! over every bind of the account), and delivers again whatever was not answered
//! `ESME_ROK`.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::BytesMut;
use smpp_client::{BoxStream, Connector};
use smpp_wire::text::{Concatenation, Encoding, split};
use smpp_wire::{
    Address, BindResp, Body, CommandId, CommandStatus, DeliverSm, EsmClass, InterfaceVersion, MessageState, Pdu,
    SequenceNumber, ShortMessage, SubmitSmResp, Tlv, tlv::TlvString,
};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::rng::Rng;
use crate::wire::{encode, read_frame, with_tail, write};

/// What the SMSC does wrong, and how often. Probabilities are per submit_sm unless
/// said otherwise; each is tried in the order of the fields.
#[derive(Clone, Debug)]
pub struct SmscFaults {
    /// Answer `ESME_RTHROTTLED` (not accepted).
    pub throttle: f64,
    /// Answer `ESME_RMSGQFUL` (not accepted).
    pub queue_full: f64,
    /// Answer generic_nack with status 0 (not accepted).
    pub generic_nack_ok: f64,
    /// Reset the connection before reading this submit's body (not accepted, no answer).
    pub reset_before: f64,
    /// Accept, then reset the connection without answering.
    pub reset_after: f64,
    /// Accept and never answer.
    pub never: f64,
    /// Accept; a stray NUL after the message_id.
    pub pad: f64,
    /// Accept; a broken TLV after the message_id.
    pub garble: f64,
    /// Accept; answer after `late_by`.
    pub late: f64,
    /// How late a late answer is.
    pub late_by: Duration,
    /// Accept; answer after the next submit's answer.
    pub out_of_order: f64,
    /// After this submit, stop reading for `stall_for`.
    pub stop_reading: f64,
    /// How long a stall lasts.
    pub stall_for: Duration,
    /// bind_resp with a 17-character system_id and a pad octet (not per submit).
    pub bind_pad: bool,
    /// Per receipt: a message_state TLV of the wrong length before the good TLVs.
    pub receipt_bad_tlv: f64,
    /// deliver_sm in flight per connection.
    pub deliver_window: usize,
    /// How long an undelivered item waits before it is sent again.
    pub redeliver_after: Duration,
    /// Counting submits over every connection: past this many, accept but do not
    /// answer (a crash in the making).
    pub silent_after: Option<u64>,
    /// Reset the connection when this many submits have been read in all.
    pub reset_at: Option<u64>,
}

impl SmscFaults {
    /// A well-behaved SMSC.
    pub fn none() -> Self {
        Self {
            throttle: 0.0,
            queue_full: 0.0,
            generic_nack_ok: 0.0,
            reset_before: 0.0,
            reset_after: 0.0,
            never: 0.0,
            pad: 0.0,
            garble: 0.0,
            late: 0.0,
            late_by: Duration::from_millis(200),
            out_of_order: 0.0,
            stop_reading: 0.0,
            stall_for: Duration::from_secs(2),
            bind_pad: false,
            receipt_bad_tlv: 0.0,
            deliver_window: 10,
            redeliver_after: Duration::from_millis(500),
            silent_after: None,
            reset_at: None,
        }
    }

    /// Every fault at once, in shares picked from `rng` (each in a range a real
    /// SMSC can reach on a bad day).
    pub fn random(rng: &mut Rng) -> Self {
        fn share(rng: &mut Rng, max_per_mille: u64) -> f64 {
            rng.below(max_per_mille + 1) as f64 / 1000.0
        }
        Self {
            throttle: share(rng, 300),
            queue_full: share(rng, 50),
            generic_nack_ok: share(rng, 20),
            reset_before: share(rng, 4),
            reset_after: share(rng, 4),
            never: share(rng, 10),
            pad: share(rng, 200),
            garble: share(rng, 100),
            late: share(rng, 200),
            late_by: Duration::from_millis(50 + rng.below(2000)),
            out_of_order: share(rng, 200),
            stop_reading: share(rng, 5),
            stall_for: Duration::from_millis(500 + rng.below(5000)),
            bind_pad: rng.chance(0.5),
            receipt_bad_tlv: share(rng, 200),
            deliver_window: 1 + rng.below(10) as usize,
            redeliver_after: Duration::from_millis(100 + rng.below(1000)),
            silent_after: None,
            reset_at: None,
        }
    }
}

/// How often one item (a receipt, or one part of an MO) was delivered.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub struct Delivery {
    /// deliver_sm sent.
    pub sent: u32,
    /// Answered `ESME_ROK`.
    pub ok: u32,
    /// Answered anything else (generic_nack included).
    pub refused: u32,
}

/// What the SMSC really did: the truth the client's reports are checked against.
#[derive(Clone, Debug, Default)]
pub struct Ledger {
    /// Every acceptance: the submit's short_message (as text) and the message_id given.
    pub accepted: Vec<(String, String)>,
    /// Every refusal: the text and the status (generic_nack with status 0 as 0).
    pub refused: Vec<(String, CommandStatus)>,
    /// submit_sm read.
    pub submits: u64,
    /// Per item key (`dlr:ID` for receipts, `mo:REF:PART` for MO parts).
    pub deliveries: BTreeMap<String, Delivery>,
    /// Binds accepted.
    pub binds: u64,
    /// Connections reset on purpose.
    pub resets: u64,
    /// Times reading stopped on purpose.
    pub stalls: u64,
}

impl Ledger {
    /// How many times `text` was accepted.
    pub fn accepted_count(&self, text: &str) -> usize {
        self.accepted.iter().filter(|(t, _)| t == text).count()
    }
}

/// A receipt or MO part waiting to be delivered.
#[derive(Clone, Debug)]
struct Item {
    key: String,
    account: String,
    deliver: DeliverSm,
    not_before: Instant,
}

#[derive(Debug)]
struct Shared {
    faults: Mutex<SmscFaults>,
    accounts: HashMap<String, String>,
    ledger: Mutex<Ledger>,
    rng: Mutex<Rng>,
    outbox: Mutex<VecDeque<Item>>,
    /// Items sent and not yet answered, on any connection.
    in_flight: AtomicU64,
    outbox_changed: Notify,
    next_id: AtomicU64,
}

/// A scripted misbehaving SMSC. Serve it any stream ([`serve`](Self::serve), or
/// [`connector`](Self::connector) for a client in the same process), or a TCP port
/// ([`listen`](Self::listen)).
#[derive(Clone, Debug)]
pub struct FaultSmsc {
    shared: Arc<Shared>,
}

impl FaultSmsc {
    /// An SMSC with the account `system_id`/`password`, misbehaving as `faults` say,
    /// with choices drawn from `seed`.
    pub fn new(seed: u64, faults: SmscFaults, system_id: &str, password: &str) -> Self {
        let shared = Shared {
            faults: Mutex::new(faults),
            accounts: HashMap::from([(system_id.to_owned(), password.to_owned())]),
            ledger: Mutex::new(Ledger::default()),
            rng: Mutex::new(Rng::new(seed)),
            outbox: Mutex::new(VecDeque::new()),
            in_flight: AtomicU64::new(0),
            outbox_changed: Notify::new(),
            next_id: AtomicU64::new(1),
        };
        Self { shared: Arc::new(shared) }
    }

    /// Serves one connection, in a new task.
    pub fn serve<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(&self, stream: S) {
        let shared = self.shared.clone();
        let rng = lock(&self.shared.rng).fork();
        tokio::spawn(async move {
            let mut conn = Connection::new(shared, rng);
            let result = conn.run(stream).await;
            conn.requeue_in_flight();
            if let Err(e) = result {
                tracing::debug!(%e, "fault SMSC connection ended");
            }
        });
    }

    /// Streams for a client in this process: each call makes an in-memory pipe and
    /// serves its far end.
    pub fn connector(&self) -> Connector {
        let smsc = self.clone();
        Arc::new(move || {
            let (near, far) = tokio::io::duplex(16 * 1024);
            smsc.serve(far);
            Box::pin(async move { Ok(Box::new(near) as BoxStream) })
        })
    }

    /// Accepts TCP connections on `addr` (port 0 for any), in a new task.
    pub async fn listen(&self, addr: std::net::SocketAddr) -> std::io::Result<std::net::SocketAddr> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let smsc = self.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                smsc.serve(stream);
            }
        });
        Ok(local)
    }

    /// A copy of the ledger.
    pub fn ledger(&self) -> Ledger {
        lock(&self.shared.ledger).clone()
    }

    /// Changes the faults (e.g. none, to let everything drain at the end of a test).
    pub fn set_faults(&self, faults: SmscFaults) {
        *lock(&self.shared.faults) = faults;
        self.shared.outbox_changed.notify_waiters();
    }

    /// Items waiting to be delivered, and items sent but not answered.
    pub fn undelivered(&self) -> (usize, u64) {
        (lock(&self.shared.outbox).len(), self.shared.in_flight.load(Ordering::SeqCst))
    }

    /// Queues an MO message from `from` to `to` for `account`; a text longer than one
    /// message is split by an 8-bit UDH with `reference`, each part its own item (so
    /// parts spread over the account's binds). Returns how many parts.
    pub fn queue_mo(&self, account: &str, from: &str, to: &str, text: &str, reference: u8) -> usize {
        let Ok(parts) = split(text, Encoding::Gsm7, Concatenation::Udh8, u16::from(reference)) else { return 0 };
        let n = parts.len();
        let now = Instant::now();
        let mut outbox = lock(&self.shared.outbox);
        for (k, part) in parts.into_iter().enumerate() {
            let mut d = DeliverSm::default();
            d.source_addr = Address::international(from).unwrap_or_default();
            d.destination_addr = Address::international(to).unwrap_or_default();
            d.esm_class = part.esm_class;
            d.short_message = part.short_message;
            d.tlvs = part.tlvs;
            let key = format!("mo:{reference}:{}", k + 1);
            outbox.push_back(Item { key, account: account.to_owned(), deliver: d, not_before: now });
        }
        drop(outbox);
        self.shared.outbox_changed.notify_waiters();
        n
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// An answer written later.
#[derive(Debug)]
struct Later {
    due: Instant,
    bytes: Vec<u8>,
}

struct Connection {
    shared: Arc<Shared>,
    rng: Rng,
    account: Option<String>,
    receives: bool,
    next_seq: u32,
    /// deliver_sm sent on this connection, by sequence number.
    in_flight: HashMap<u32, Item>,
    later: Vec<Later>,
    /// An answer held back until the next one has gone.
    held: Option<Vec<u8>>,
    stalled_until: Option<Instant>,
}

enum Step {
    Frame(Option<bytes::Bytes>),
    Due,
    StallOver,
    Outbox,
}

impl Connection {
    fn new(shared: Arc<Shared>, rng: Rng) -> Self {
        Self {
            shared,
            rng,
            account: None,
            receives: false,
            next_seq: 1,
            in_flight: HashMap::new(),
            later: Vec::new(),
            held: None,
            stalled_until: None,
        }
    }

    fn faults(&self) -> SmscFaults {
        lock(&self.shared.faults).clone()
    }

    /// Puts what this connection had in flight back in the outbox.
    fn requeue_in_flight(&mut self) {
        let n = self.in_flight.len() as u64;
        let mut outbox = lock(&self.shared.outbox);
        for (_, item) in self.in_flight.drain() {
            outbox.push_front(item);
        }
        drop(outbox);
        self.shared.in_flight.fetch_sub(n, Ordering::SeqCst);
        self.shared.outbox_changed.notify_waiters();
    }

    async fn run<S: AsyncRead + AsyncWrite + Unpin>(&mut self, stream: S) -> std::io::Result<()> {
        let (mut rd, mut wr) = tokio::io::split(stream);
        let mut buf = BytesMut::new();
        loop {
            self.fill(&mut wr).await?;
            let now = Instant::now();
            if self.stalled_until.is_some_and(|t| t <= now) {
                self.stalled_until = None;
            }
            let due = self.later.iter().map(|l| l.due).min();
            let next_item = self.next_item_due();
            let step = tokio::select! {
                frame = read_frame(&mut rd, &mut buf), if self.stalled_until.is_none() => Step::Frame(frame?),
                () = tokio::time::sleep_until(due.unwrap_or(now)), if due.is_some() => Step::Due,
                () = tokio::time::sleep_until(self.stalled_until.unwrap_or(now)), if self.stalled_until.is_some() => Step::StallOver,
                () = self.shared.outbox_changed.notified(), if self.receives => Step::Outbox,
                () = tokio::time::sleep_until(next_item.unwrap_or(now)), if next_item.is_some() => Step::Outbox,
            };
            match step {
                Step::Frame(None) => return Ok(()),
                Step::Frame(Some(frame)) => {
                    if !self.on_frame(&mut wr, frame).await? {
                        return Ok(());
                    }
                }
                Step::Due => {
                    let now = Instant::now();
                    let (due, rest): (Vec<_>, Vec<_>) =
                        std::mem::take(&mut self.later).into_iter().partition(|l| l.due <= now);
                    self.later = rest;
                    for l in due {
                        write(&mut wr, &l.bytes).await?;
                    }
                }
                Step::StallOver | Step::Outbox => {}
            }
        }
    }

    /// When the earliest item this connection could send becomes due, if it waits.
    fn next_item_due(&self) -> Option<Instant> {
        if !self.receives || self.in_flight.len() >= self.faults().deliver_window {
            return None;
        }
        let account = self.account.as_deref()?;
        lock(&self.shared.outbox).iter().filter(|i| i.account == account).map(|i| i.not_before).min()
    }

    /// Sends due items while the delivery window has room.
    async fn fill<W: AsyncWrite + Unpin>(&mut self, wr: &mut W) -> std::io::Result<()> {
        let Some(account) = self.account.clone() else { return Ok(()) };
        let window = self.faults().deliver_window;
        while self.receives && self.in_flight.len() < window {
            let now = Instant::now();
            let item = {
                let mut outbox = lock(&self.shared.outbox);
                let k = outbox.iter().position(|i| i.account == account && i.not_before <= now);
                k.and_then(|k| outbox.remove(k))
            };
            let Some(item) = item else { return Ok(()) };
            let seq = self.next_seq;
            self.next_seq += 1;
            lock(&self.shared.ledger).deliveries.entry(item.key.clone()).or_default().sent += 1;
            self.shared.in_flight.fetch_add(1, Ordering::SeqCst);
            let mut bytes =
                encode(SequenceNumber::new(seq), CommandStatus::ESME_ROK, Body::DeliverSm(item.deliver.clone()));
            if item.key.starts_with("dlr:") && self.rng.chance(self.faults().receipt_bad_tlv) {
                // A message_state of two octets (must be one) after the good TLVs.
                bytes = with_tail(bytes, &[0x04, 0x27, 0x00, 0x02, 0x02, 0x00]);
            }
            self.in_flight.insert(seq, item);
            write(wr, &bytes).await?;
        }
        Ok(())
    }

    /// Handles one frame; `false` ends the connection.
    async fn on_frame<W: AsyncWrite + Unpin>(&mut self, wr: &mut W, frame: bytes::Bytes) -> std::io::Result<bool> {
        let Some(header) = smpp_wire::Header::parse(&frame) else { return Ok(false) };
        let seq = header.sequence_number;
        if header.command_id.is_response() {
            self.on_response(header.command_id, header.command_status, seq);
            return Ok(true);
        }
        let pdu = match Pdu::decode(frame) {
            Ok(p) => p,
            Err(e) => {
                let body = Body::empty_response_for(header.command_id).unwrap_or(Body::GenericNack);
                write(wr, &encode(seq, e.command_status(), body)).await?;
                return Ok(true);
            }
        };
        match pdu.body {
            Body::BindTransmitter(b) | Body::BindReceiver(b) | Body::BindTransceiver(b) => {
                self.on_bind(wr, seq, header.command_id, b).await?;
            }
            Body::EnquireLink => write(wr, &encode(seq, CommandStatus::ESME_ROK, Body::EnquireLinkResp)).await?,
            Body::Unbind => {
                write(wr, &encode(seq, CommandStatus::ESME_ROK, Body::UnbindResp)).await?;
                return Ok(false);
            }
            Body::SubmitSm(sm) if self.account.is_some() => return self.on_submit(wr, seq, sm).await,
            other => {
                let status =
                    if self.account.is_some() { CommandStatus::ESME_RINVCMDID } else { CommandStatus::ESME_RINVBNDSTS };
                let body = Body::empty_response_for(other.command_id()).unwrap_or(Body::GenericNack);
                write(wr, &encode(seq, status, body)).await?;
            }
        }
        Ok(true)
    }

    fn on_response(&mut self, id: CommandId, status: CommandStatus, seq: SequenceNumber) {
        let Some(mut item) = self.in_flight.remove(&seq.value()) else { return };
        self.shared.in_flight.fetch_sub(1, Ordering::SeqCst);
        let ok = status.is_ok() && id == CommandId::DELIVER_SM_RESP;
        {
            let mut ledger = lock(&self.shared.ledger);
            let d = ledger.deliveries.entry(item.key.clone()).or_default();
            if ok {
                d.ok += 1;
            } else {
                d.refused += 1;
            }
        }
        if !ok {
            item.not_before = Instant::now() + self.faults().redeliver_after;
            lock(&self.shared.outbox).push_back(item);
            self.shared.outbox_changed.notify_waiters();
        }
    }

    async fn on_bind<W: AsyncWrite + Unpin>(
        &mut self,
        wr: &mut W,
        seq: SequenceNumber,
        id: CommandId,
        bind: smpp_wire::Bind,
    ) -> std::io::Result<()> {
        let system_id = String::from_utf8_lossy(bind.system_id.as_bytes()).into_owned();
        let ok = self.account.is_none()
            && self.shared.accounts.get(&system_id).is_some_and(|p| p.as_bytes() == bind.password.expose());
        let resp_id = id.response();
        if !ok {
            let status =
                if self.account.is_some() { CommandStatus::ESME_RALYBND } else { CommandStatus::ESME_RINVPASWD };
            let body = Body::empty_response_for(id).unwrap_or(Body::GenericNack);
            return write(wr, &encode(seq, status, body)).await;
        }
        let faults = self.faults();
        let mut resp = BindResp::default();
        resp.system_id = "FaultSMSC".parse().unwrap_or_default();
        if bind.interface_version >= InterfaceVersion::V34 {
            resp.tlvs.push(Tlv::ScInterfaceVersion(InterfaceVersion::V34));
        }
        let body = match resp_id {
            CommandId::BIND_RECEIVER_RESP => Body::BindReceiverResp(Some(resp)),
            CommandId::BIND_TRANSMITTER_RESP => Body::BindTransmitterResp(Some(resp)),
            _ => Body::BindTransceiverResp(Some(resp)),
        };
        let mut bytes = encode(seq, CommandStatus::ESME_ROK, body);
        if faults.bind_pad {
            // 17 characters where 15 fit, then the TLVs, then a pad octet.
            let tlvs = bytes.split_off(16 + "FaultSMSC".len() + 1);
            bytes.truncate(16);
            bytes.extend_from_slice(b"FAULTY-SMSC-17CHR\0");
            bytes.extend_from_slice(&tlvs);
            bytes = with_tail(bytes, &[0]);
        }
        write(wr, &bytes).await?;
        self.receives = matches!(id, CommandId::BIND_RECEIVER | CommandId::BIND_TRANSCEIVER);
        self.account = Some(system_id);
        lock(&self.shared.ledger).binds += 1;
        self.shared.outbox_changed.notify_waiters();
        Ok(())
    }

    /// A submit_sm: refuse, or accept and answer (or not) as the faults say.
    async fn on_submit<W: AsyncWrite + Unpin>(
        &mut self,
        wr: &mut W,
        seq: SequenceNumber,
        sm: smpp_wire::SubmitSm,
    ) -> std::io::Result<bool> {
        let f = self.faults();
        let text = String::from_utf8_lossy(sm.short_message.as_bytes()).into_owned();
        let n = {
            let mut ledger = lock(&self.shared.ledger);
            ledger.submits += 1;
            ledger.submits
        };
        if f.silent_after.is_some_and(|k| n > k) {
            let id = format!("{:08x}", self.shared.next_id.fetch_add(1, Ordering::SeqCst));
            lock(&self.shared.ledger).accepted.push((text, id));
            if f.reset_at.is_some_and(|k| n >= k) {
                lock(&self.shared.ledger).resets += 1;
                return Ok(false);
            }
            return Ok(true);
        }
        let refuse = |status| encode(seq, status, Body::SubmitSmResp(None));
        let answer = if self.rng.chance(f.throttle) {
            Some((CommandStatus::ESME_RTHROTTLED, refuse(CommandStatus::ESME_RTHROTTLED)))
        } else if self.rng.chance(f.queue_full) {
            Some((CommandStatus::ESME_RMSGQFUL, refuse(CommandStatus::ESME_RMSGQFUL)))
        } else if self.rng.chance(f.generic_nack_ok) {
            Some((CommandStatus::ESME_ROK, encode(seq, CommandStatus::ESME_ROK, Body::GenericNack)))
        } else {
            None
        };
        if let Some((status, bytes)) = answer {
            lock(&self.shared.ledger).refused.push((text, status));
            self.answer(wr, bytes).await?;
            return self.after_submit(&f);
        }
        if self.rng.chance(f.reset_before) {
            lock(&self.shared.ledger).resets += 1;
            return Ok(false);
        }
        // Accepted: written down before anything is answered.
        let id = format!("{:08x}", self.shared.next_id.fetch_add(1, Ordering::SeqCst));
        lock(&self.shared.ledger).accepted.push((text.clone(), id.clone()));
        if !matches!(sm.registered_delivery.receipt(), smpp_wire::ReceiptRequest::None)
            && let Some(account) = self.account.clone()
        {
            self.queue_receipt(&account, &id, &sm, &text);
        }
        if self.rng.chance(f.reset_after) {
            lock(&self.shared.ledger).resets += 1;
            return Ok(false);
        }
        if self.rng.chance(f.never) {
            return self.after_submit(&f);
        }
        let mut resp = SubmitSmResp::default();
        resp.message_id = id.parse().unwrap_or_default();
        let mut bytes = encode(seq, CommandStatus::ESME_ROK, Body::SubmitSmResp(Some(resp)));
        if self.rng.chance(f.pad) {
            bytes = with_tail(bytes, &[0]);
        } else if self.rng.chance(f.garble) {
            // A TLV header cut short, or a message_state TLV of the wrong length.
            bytes = if self.rng.chance(0.5) {
                with_tail(bytes, &[0x04, 0x27, 0x00])
            } else {
                with_tail(bytes, &[0x04, 0x27, 0x00, 0x03, 0x01, 0x02, 0x03])
            };
        }
        if self.rng.chance(f.late) {
            self.later.push(Later { due: Instant::now() + f.late_by, bytes });
        } else if self.rng.chance(f.out_of_order) && self.held.is_none() {
            self.held = Some(bytes);
        } else {
            self.answer(wr, bytes).await?;
        }
        self.after_submit(&f)
    }

    /// Writes an answer, then the one held back for it, if any.
    async fn answer<W: AsyncWrite + Unpin>(&mut self, wr: &mut W, bytes: Vec<u8>) -> std::io::Result<()> {
        write(wr, &bytes).await?;
        if let Some(held) = self.held.take() {
            write(wr, &held).await?;
        }
        Ok(())
    }

    fn after_submit(&mut self, f: &SmscFaults) -> std::io::Result<bool> {
        if self.rng.chance(f.stop_reading) {
            lock(&self.shared.ledger).stalls += 1;
            self.stalled_until = Some(Instant::now() + f.stall_for);
        }
        Ok(true)
    }

    fn queue_receipt(&mut self, account: &str, id: &str, sm: &smpp_wire::SubmitSm, text: &str) {
        let mut d = DeliverSm::default();
        d.source_addr = sm.destination_addr;
        d.destination_addr = sm.source_addr;
        d.esm_class = EsmClass(0x04);
        let head: String = text.chars().take(20).collect();
        let body = format!(
            "id:{id} sub:001 dlvrd:001 submit date:2612011200 done date:2612011201 stat:DELIVRD err:000 text:{head}"
        );
        d.short_message = ShortMessage::new(body.into_bytes()).unwrap_or_default();
        if let Ok(v) = TlvString::new(id) {
            d.tlvs.push(Tlv::ReceiptedMessageId(v));
        }
        d.tlvs.push(Tlv::MessageState(MessageState::DELIVERED));
        let item =
            Item { key: format!("dlr:{id}"), account: account.to_owned(), deliver: d, not_before: Instant::now() };
        lock(&self.shared.outbox).push_back(item);
        self.shared.outbox_changed.notify_waiters();
    }
}
