//! Driver behaviour: busy polling, and answering a burst of pipelined requests in
//! slices.

mod common;

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use common::TestSmsc;
use smpp_client::smpp_wire::{
    Address, Bind, Body, CommandStatus, DeliverSm, Pdu, SequenceNumber, ShortMessage, SubmitSm, SubmitSmResp, frame_len,
};
use smpp_client::{Client, ClientConfig, Event, Request, Session, SessionConfig};
use smpp_tokio::{DriverConfig, Handler, drive_with, now};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf, duplex};
use tokio::sync::mpsc;

fn sm(text: &str) -> SubmitSm {
    let mut s = SubmitSm::default();
    s.destination_addr = Address::international("447700900123").unwrap();
    s.short_message = ShortMessage::new(text.as_bytes().to_vec()).unwrap();
    s
}

#[tokio::test(start_paused = true)]
async fn a_busy_polling_client_gets_its_answers_and_still_sleeps_when_idle() {
    let (a, b) = duplex(1 << 16);
    let smsc = TestSmsc::spawn(b, None);
    let config = ClientConfig::new("test", 0, "user", "secret").busy_poll(Some(Duration::from_micros(50)));
    let (client, _incoming) = Client::connect_with(config, a).await.expect("bind");
    for k in 0..20 {
        client.submit(sm(&format!("m{k}"))).await.expect("submit");
    }
    assert_eq!(smsc.log.lock().unwrap().submits.len(), 20);
    // Virtual time only moves once every task is idle: if the driver kept polling,
    // this sleep would never end. The SMSC drops a link silent for 5 minutes, so the
    // link being up after 10 proves the client's enquire_link timer kept firing.
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert!(client.is_up());
    assert!(client.submit(sm("after")).await.is_ok());
    assert_eq!(smsc.log.lock().unwrap().binds, 1);
}

/// The next whole PDU from `peer`.
async fn next(peer: &mut tokio::io::DuplexStream, inbox: &mut BytesMut) -> Pdu {
    loop {
        if let Ok(Some(n)) = frame_len(inbox, 1 << 16) {
            return Pdu::decode(inbox.split_to(n).freeze()).unwrap();
        }
        assert!(peer.read_buf(inbox).await.unwrap() > 0, "stream ended");
    }
}

/// A stream that counts the writes made to it.
struct Counting<T> {
    inner: T,
    writes: Arc<AtomicUsize>,
}

impl<T: AsyncRead + Unpin> AsyncRead for Counting<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Counting<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(_))) {
            self.writes.fetch_add(1, Ordering::Relaxed);
        }
        r
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// An SMSC that accepts any bind and answers every submit_sm at once.
struct Answering;

impl Handler for Answering {
    type Command = ();
    type Token = ();
    fn on_command(&mut self, _: Instant, _: &mut Session, (): ()) {}
    fn on_event(&mut self, now: Instant, session: &mut Session, event: Event) {
        match event {
            Event::BindRequest { seq, .. } => session.accept_bind(now, seq, "SMSC").unwrap(),
            Event::Request { seq, request: Request::SubmitSm(s), .. } => {
                let mut r = SubmitSmResp::default();
                r.message_id = String::from_utf8_lossy(s.short_message.as_bytes()).parse().unwrap();
                session.respond(now, seq, CommandStatus::ESME_ROK, Body::SubmitSmResp(Some(r))).unwrap();
            }
            _ => {}
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_burst_of_pipelined_requests_is_answered_in_order_and_in_slices() {
    let (ours, mut peer) = duplex(1 << 20);
    let writes = Arc::new(AtomicUsize::new(0));
    let stream = Counting { inner: ours, writes: writes.clone() };
    let (_tx, mut rx) = mpsc::channel::<()>(1);
    let mut config = SessionConfig::default();
    config.receive_window(1000);
    tokio::spawn(async move {
        let session = Session::smsc(now(), config);
        drive_with(stream, session, &mut Answering, &mut rx, DriverConfig::default()).await
    });

    // Bind, then 200 submit_sm in a single write.
    let mut out = BytesMut::new();
    let mut bind = Bind::default();
    bind.system_id = "esme".parse().unwrap();
    Pdu::new(SequenceNumber::new(1), Body::BindTransceiver(bind)).encode(&mut out);
    peer.write_all(&out).await.unwrap();
    let mut inbox = BytesMut::new();
    assert!(matches!(next(&mut peer, &mut inbox).await.body, Body::BindTransceiverResp(Some(_))));
    let before = writes.load(Ordering::Relaxed);
    out.clear();
    for k in 0..200u32 {
        Pdu::new(SequenceNumber::new(k + 2), Body::SubmitSm(sm(&k.to_string()))).encode(&mut out);
    }
    peer.write_all(&out).await.unwrap();

    for k in 0..200u32 {
        let pdu = next(&mut peer, &mut inbox).await;
        assert_eq!(pdu.sequence, SequenceNumber::new(k + 2), "answers come in request order");
        let Body::SubmitSmResp(Some(r)) = pdu.body else { panic!("{pdu:?}") };
        assert_eq!(r.message_id.as_bytes(), k.to_string().as_bytes());
    }
    // 200 answers, handled 16 at a time: at least 13 writes, not one.
    let slices = writes.load(Ordering::Relaxed) - before;
    assert!(slices >= 200_usize.div_ceil(16), "answers went out in {slices} write(s)");
}

/// An SMSC that binds the client, then never reads again.
async fn bind_then_stop_reading(peer: &mut tokio::io::DuplexStream) {
    let mut inbox = BytesMut::new();
    let bind = next(peer, &mut inbox).await;
    let resp = Body::BindTransceiverResp(Some(Default::default()));
    peer.write_all(&Pdu::new(bind.sequence, resp).to_bytes()).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_peer_that_stops_reading_is_dropped_after_the_write_timeout_and_requests_get_outcomes() {
    use smpp_client::{CloseReason, LinkState, RequestError};
    // A 4 KiB pipe: a few submits of 250 octets fill it.
    let (ours, mut peer) = duplex(4096);
    let config = ClientConfig::new("test", 0, "user", "secret")
        .window(50)
        .write_timeout(Some(Duration::from_secs(20)))
        .with_session(|s| {
            s.response_timeout(None).enquire_link_interval(None);
        });
    let (client, _incoming) =
        tokio::join!(Client::connect_with(config, ours), bind_then_stop_reading(&mut peer)).0.unwrap();
    let start = tokio::time::Instant::now();
    let tasks: Vec<_> = (0..50)
        .map(|k| {
            let client = client.clone();
            tokio::spawn(async move { client.submit(sm(&format!("{k:0>200}"))).await })
        })
        .collect();
    for t in tasks {
        let r = t.await.unwrap();
        assert!(
            matches!(
                r,
                Err(RequestError::ConnectionLost(CloseReason::WriteStalled)
                    | RequestError::NotSent(CloseReason::WriteStalled))
            ),
            "{r:?}"
        );
    }
    // Closed 20 s after the last octet the peer took.
    let waited = start.elapsed();
    assert!(waited >= Duration::from_secs(20) && waited < Duration::from_secs(21), "{waited:?}");
    assert_eq!(client.link_state(), LinkState::Closed);
    drop(peer);
}

/// A stream whose reads fail once `broken` is set.
struct Breakable<T> {
    inner: T,
    broken: Arc<std::sync::atomic::AtomicBool>,
}

impl<T: AsyncRead + Unpin> AsyncRead for Breakable<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        if self.broken.load(Ordering::SeqCst) {
            return Poll::Ready(Err(std::io::ErrorKind::ConnectionReset.into()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Breakable<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[tokio::test(start_paused = true)]
async fn an_io_error_closes_with_its_own_reason() {
    use smpp_client::{CloseReason, RequestError};
    let (a, b) = duplex(1 << 16);
    let _smsc = TestSmsc::spawn(b, Some(Duration::from_secs(1)));
    let broken = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stream = Breakable { inner: a, broken: broken.clone() };
    let (client, _incoming) =
        Client::connect_with(ClientConfig::new("test", 0, "user", "secret"), stream).await.unwrap();
    let pending = tokio::spawn({
        let client = client.clone();
        async move { client.submit(sm("in flight")).await }
    });
    tokio::time::sleep(Duration::from_millis(10)).await;
    broken.store(true, Ordering::SeqCst);
    // Wake the reader: the SMSC's answer arrives and the read fails.
    assert_eq!(pending.await.unwrap(), Err(RequestError::ConnectionLost(CloseReason::IoError)));
}

#[tokio::test(start_paused = true)]
async fn requests_queued_behind_a_blocked_write_are_never_sent_not_timed_out() {
    use smpp_client::{CloseReason, Fate, RequestError};
    let (ours, mut peer) = duplex(4096);
    let config = ClientConfig::new("test", 0, "user", "secret")
        .window(50)
        .write_timeout(Some(Duration::from_secs(20)))
        .with_session(|s| {
            s.response_timeout(Some(Duration::from_secs(5))).enquire_link_interval(None);
        });
    let (client, _incoming) =
        tokio::join!(Client::connect_with(config, ours), bind_then_stop_reading(&mut peer)).0.unwrap();
    let submit = |k: usize| {
        let client = client.clone();
        tokio::spawn(async move { client.submit(sm(&format!("{k:0>200}"))).await })
    };
    // The first batch is handed to the stream (which takes 4 KiB of it)...
    let first: Vec<_> = (0..20).map(submit).collect();
    tokio::time::sleep(Duration::from_secs(1)).await;
    // ... the second queues behind it and never leaves.
    let second: Vec<_> = (20..40).map(submit).collect();
    for t in first {
        assert_eq!(t.await.unwrap().map_err(|e| e.fate()), Err(Fate::Unknown));
    }
    for t in second {
        assert_eq!(t.await.unwrap(), Err(RequestError::NotSent(CloseReason::WriteStalled)));
    }
    drop(peer);
}

#[tokio::test(start_paused = true)]
async fn input_is_still_read_while_output_waits() {
    let (ours, mut peer) = duplex(4096);
    let config = ClientConfig::new("test", 0, "user", "secret").window(50).with_session(|s| {
        s.response_timeout(None).enquire_link_interval(None);
    });
    let (client, mut incoming) =
        tokio::join!(Client::connect_with(config, ours), bind_then_stop_reading(&mut peer)).0.unwrap();
    for k in 0..20 {
        let client = client.clone();
        tokio::spawn(async move { client.submit(sm(&format!("{k:0>200}"))).await });
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    // The peer reads nothing but sends a message: it still arrives.
    let mut d = DeliverSm::default();
    d.short_message = ShortMessage::new(&b"MO while blocked"[..]).unwrap();
    peer.write_all(&Pdu::new(SequenceNumber::new(9), Body::DeliverSm(d)).to_bytes()).await.unwrap();
    let m = tokio::time::timeout(Duration::from_secs(1), incoming.recv()).await.expect("read while blocked");
    assert_eq!(m.unwrap().text().as_deref(), Some("MO while blocked"));
    drop(peer);
}
