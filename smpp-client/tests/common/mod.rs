//! A scripted SMSC for the client tests, built on the same driver: it accepts binds
//! for user/secret, answers submits by destination, and can push deliver_sm.
#![allow(dead_code, unreachable_pub)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use smpp_client::smpp_session::Initiator;
use smpp_client::smpp_wire::{
    Address, Body, CommandStatus, DeliverSm, EsmClass, MessageState, QuerySmResp, SequenceNumber, ShortMessage,
    SubmitMultiResp, SubmitSm, SubmitSmResp, Tlv,
};
use smpp_client::{CloseReason, Event, Request, Session, SessionConfig};
use smpp_tokio::{Handler, drive};
use tokio::sync::{mpsc, oneshot};

/// What the SMSC has seen.
#[derive(Debug, Default)]
pub struct Log {
    pub binds: usize,
    pub submits: Vec<String>,
    /// The short_message of each submit, octet for octet.
    pub submit_octets: Vec<Vec<u8>>,
    pub submit_coding: Vec<(u8, u8)>,
    pub outstanding: usize,
    pub max_outstanding: usize,
    pub acks: Vec<CommandStatus>,
    /// The body of each deliver_sm_resp, as it came.
    pub ack_bodies: Vec<Body>,
    pub requests: Vec<String>,
    /// The mode of each bind.
    pub bind_modes: Vec<smpp_client::BindMode>,
    /// Unbinds received.
    pub unbinds: usize,
}

pub enum SmscCommand {
    Deliver(DeliverSm, oneshot::Sender<CommandStatus>),
    Respond(SequenceNumber, CommandStatus, Body),
    Unbind,
    Drop,
}

pub struct TestSmsc {
    pub log: Arc<Mutex<Log>>,
    pub commands: mpsc::Sender<SmscCommand>,
}

struct SmscHandler {
    log: Arc<Mutex<Log>>,
    delay: Option<Duration>,
    self_tx: mpsc::WeakSender<SmscCommand>,
    next_id: u32,
    acks: Vec<(SequenceNumber, oneshot::Sender<CommandStatus>)>,
    password: &'static str,
}

impl Handler for SmscHandler {
    type Command = SmscCommand;
    type Token = ();

    fn on_command(&mut self, now: Instant, session: &mut Session, command: SmscCommand) {
        match command {
            SmscCommand::Deliver(d, reply) => {
                let seq = session.send(now, Request::DeliverSm(d)).expect("deliver_sm");
                self.acks.push((seq, reply));
            }
            SmscCommand::Respond(seq, status, body) => {
                self.log.lock().unwrap().outstanding -= 1;
                session.respond(now, seq, status, body).unwrap();
            }
            SmscCommand::Unbind => session.unbind(now).unwrap(),
            SmscCommand::Drop => session.close(now),
        }
    }

    fn on_event(&mut self, now: Instant, session: &mut Session, event: Event) {
        match event {
            Event::BindRequest { seq, bind, mode } => {
                self.log.lock().unwrap().binds += 1;
                self.log.lock().unwrap().bind_modes.push(mode);
                if bind.password.expose() == self.password.as_bytes() {
                    session.accept_bind(now, seq, "TestSMSC").unwrap();
                } else {
                    session.reject_bind(now, seq, CommandStatus::ESME_RINVPASWD).unwrap();
                }
            }
            Event::Request { seq, request, .. } => {
                let mut log = self.log.lock().unwrap();
                log.requests.push(format!("{:?}", request.command_id()));
                let (status, body) = match &request {
                    Request::SubmitSm(s) => {
                        log.submits.push(String::from_utf8_lossy(s.short_message.as_bytes()).into_owned());
                        log.submit_octets.push(s.short_message.as_bytes().to_vec());
                        log.submit_coding.push((s.esm_class.0, s.data_coding.0));
                        let status = match s.destination_addr.addr.as_bytes() {
                            // Part 2 of a message split by an 8-bit UDH fails.
                            b"part2fails" if s.short_message.as_bytes().get(5) == Some(&2) => {
                                CommandStatus::ESME_RSYSERR
                            }
                            b"0" => CommandStatus::ESME_RINVDSTADR,
                            b"58" => CommandStatus::ESME_RTHROTTLED,
                            b"14" => CommandStatus::ESME_RMSGQFUL,
                            b"silent" => return,
                            _ => CommandStatus::ESME_ROK,
                        };
                        self.next_id += 1;
                        let mut r = SubmitSmResp::default();
                        r.message_id = self.next_id.to_string().parse().unwrap();
                        if s.destination_addr.addr.as_bytes() == b"tlvs" {
                            r.tlvs.push(Tlv::DeliveryFailureReason(2));
                        }
                        (status, Body::SubmitSmResp(status.is_ok().then_some(r)))
                    }
                    Request::DataSm(_) => {
                        let mut r = SubmitSmResp::default();
                        r.message_id = "data-1".parse().unwrap();
                        (CommandStatus::ESME_ROK, Body::DataSmResp(Some(r)))
                    }
                    Request::SubmitMulti(_) => {
                        let mut r = SubmitMultiResp::default();
                        r.message_id = "multi-1".parse().unwrap();
                        (CommandStatus::ESME_ROK, Body::SubmitMultiResp(Some(r)))
                    }
                    Request::QuerySm(q) => {
                        let mut r = QuerySmResp::default();
                        r.message_id = q.message_id;
                        r.message_state = MessageState::DELIVERED;
                        (CommandStatus::ESME_ROK, Body::QuerySmResp(Some(r)))
                    }
                    Request::CancelSm(_) => (CommandStatus::ESME_ROK, Body::CancelSmResp),
                    Request::ReplaceSm(_) => (CommandStatus::ESME_ROK, Body::ReplaceSmResp),
                    _ => return,
                };
                log.outstanding += 1;
                log.max_outstanding = log.max_outstanding.max(log.outstanding);
                drop(log);
                match (self.delay, self.self_tx.upgrade()) {
                    (Some(d), Some(tx)) => {
                        tokio::spawn(async move {
                            tokio::time::sleep(d).await;
                            let _ = tx.send(SmscCommand::Respond(seq, status, body)).await;
                        });
                    }
                    _ => {
                        self.log.lock().unwrap().outstanding -= 1;
                        session.respond(now, seq, status, body).unwrap();
                    }
                }
            }
            Event::Response { seq, status, response, .. } => {
                self.log.lock().unwrap().acks.push(status);
                self.log.lock().unwrap().ack_bodies.push(response);
                if let Some(k) = self.acks.iter().position(|(s, _)| *s == seq) {
                    let (_, reply) = self.acks.remove(k);
                    let _ = reply.send(status);
                }
            }
            Event::Closed { reason: CloseReason::Unbound { initiator: Initiator::Remote } } => {
                self.log.lock().unwrap().unbinds += 1;
            }
            _ => {}
        }
    }

    fn on_commands_closed(&mut self, _now: Instant, _session: &mut Session) {}
}

impl TestSmsc {
    /// Runs an SMSC over `stream`, answering after `delay` when given.
    pub fn spawn<T>(stream: T, delay: Option<Duration>) -> Self
    where
        T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        Self::spawn_with(stream, delay, "secret")
    }

    /// An SMSC accepting the given password.
    pub fn spawn_with<T>(stream: T, delay: Option<Duration>, password: &'static str) -> Self
    where
        T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let log = Arc::new(Mutex::new(Log::default()));
        let (tx, mut rx) = mpsc::channel(1024);
        let mut handler =
            SmscHandler { log: log.clone(), delay, self_tx: tx.downgrade(), next_id: 0, acks: Vec::new(), password };
        tokio::spawn(async move {
            let session = Session::smsc(smpp_tokio::now(), SessionConfig::default());
            let _ = drive(stream, session, &mut handler, &mut rx).await;
        });
        Self { log, commands: tx }
    }

    /// Pushes a deliver_sm; returns the status the client answered with.
    pub async fn deliver(&self, d: DeliverSm) -> CommandStatus {
        deliver_via(&self.commands, d).await
    }
}

pub fn mo(text: &str) -> DeliverSm {
    let mut d = DeliverSm::default();
    d.source_addr = Address::international("447700900123").unwrap();
    d.destination_addr = Address::international("12345").unwrap();
    d.short_message = ShortMessage::new(text.as_bytes().to_vec()).unwrap();
    d
}

pub fn receipt(id: &str) -> DeliverSm {
    let mut d = mo(&format!(
        "id:{id} sub:001 dlvrd:001 submit date:2611261200 done date:2611261201 stat:DELIVRD err:000 text:hi"
    ));
    d.esm_class = EsmClass(0x04);
    d
}

/// Connections to fresh `TestSmsc`s over in-memory pipes: the first `refuse` attempts
/// fail, and each SMSC accepts `password`.
pub fn connector(
    smscs: Arc<Mutex<Vec<TestSmsc>>>,
    refuse: Arc<std::sync::atomic::AtomicUsize>,
    password: &'static str,
) -> smpp_client::Connector {
    use std::sync::atomic::Ordering;
    Arc::new(move || {
        let (smscs, refuse) = (smscs.clone(), refuse.clone());
        Box::pin(async move {
            if refuse.load(Ordering::SeqCst) > 0 {
                refuse.fetch_sub(1, Ordering::SeqCst);
                return Err(smpp_client::ClientError::Connect {
                    addr: "test".into(),
                    source: std::io::ErrorKind::ConnectionRefused.into(),
                });
            }
            let (a, b) = tokio::io::duplex(1 << 16);
            smscs.lock().unwrap().push(TestSmsc::spawn_with(b, None, password));
            Ok(Box::new(a) as smpp_client::BoxStream)
        })
    })
}

/// A client configuration for user/secret (the host is not used over a duplex).
pub fn config() -> smpp_client::ClientConfig {
    smpp_client::ClientConfig::new("test", 0, "user", "secret")
}

/// A submit_sm of `text` to `to`.
pub fn sm(to: &str, text: &str) -> SubmitSm {
    let mut s = SubmitSm::default();
    s.destination_addr = Address::new(Default::default(), Default::default(), to).unwrap();
    s.short_message = ShortMessage::new(text.as_bytes().to_vec()).unwrap();
    s
}

/// Pushes a deliver_sm through a test SMSC's command queue; returns the status the
/// client answered with.
pub async fn deliver_via(commands: &mpsc::Sender<SmscCommand>, d: DeliverSm) -> CommandStatus {
    let (tx, rx) = oneshot::channel();
    commands.send(SmscCommand::Deliver(d, tx)).await.unwrap();
    rx.await.unwrap()
}
