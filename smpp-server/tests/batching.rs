//! Answers that become ready together go out together: the connection driver lets
//! the tasks woken with the first answer send theirs before it writes, so a batch
//! of deferred answers (a store's group commit, say) costs one write, not one each.

mod common;

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use common::{Raw, peer, server_config, sm};
use smpp_server::{BindInfo, BoundSession, Defer, Grant, Reply, Server, SmscHandler};
use smpp_session::{BindMode, Request};
use smpp_wire::{Body, CommandStatus};
use tokio::io::{AsyncRead, AsyncWrite, DuplexStream, ReadBuf};

/// Answers each submit from a task of its own, once its signal comes (from
/// another thread, as a store's writer thread answers).
#[derive(Debug, Default)]
struct Deferring {
    signals: Mutex<Vec<tokio::sync::oneshot::Sender<()>>>,
}

impl SmscHandler for Deferring {
    type Account = ();

    async fn authenticate(&self, _: &BindInfo) -> Result<Grant<()>, CommandStatus> {
        Ok(Grant::new(()))
    }

    fn on_request(&self, _: &BoundSession<()>, request: Request, defer: Defer<'_>) -> Option<Reply> {
        let responder = defer.responder();
        let (signal, go) = tokio::sync::oneshot::channel();
        self.signals.lock().unwrap().push(signal);
        tokio::spawn(async move {
            let _ = go.await;
            responder.respond(Reply::accepted(&request, "1"));
        });
        None
    }
}

/// A stream that counts the writes that carried octets.
struct Counting(DuplexStream, Arc<AtomicUsize>);

impl AsyncRead for Counting {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counting {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        let written = Pin::new(&mut self.0).poll_write(cx, buf);
        if matches!(written, Poll::Ready(Ok(n)) if n > 0) {
            self.1.fetch_add(1, Ordering::SeqCst);
        }
        written
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

#[tokio::test(start_paused = true)]
async fn answers_ready_together_share_one_write() {
    let handler = Arc::new(Deferring::default());
    let server = Server::new(server_config(), handler.clone());
    let (ours, theirs) = tokio::io::duplex(1 << 20);
    let writes = Arc::new(AtomicUsize::new(0));
    assert!(server.serve(Counting(theirs, writes.clone()), peer(1)));
    let mut raw = Raw::from_stream(ours);
    assert_eq!(raw.bind(BindMode::Transmitter, "alice", "secret", 0x34).await, CommandStatus::ESME_ROK);
    const SUBMITS: usize = 100;
    for _ in 0..SUBMITS {
        raw.send(Body::SubmitSm(sm("447700900123", false))).await;
    }
    // Let the server take every submit (each waits for its signal).
    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    let signals = std::mem::take(&mut *handler.signals.lock().unwrap());
    assert_eq!(signals.len(), SUBMITS);
    let before = writes.load(Ordering::SeqCst);
    std::thread::spawn(move || {
        for signal in signals {
            let _ = signal.send(());
        }
    })
    .join()
    .unwrap();
    for _ in 0..SUBMITS {
        let pdu = raw.read().await.expect("an answer");
        assert_eq!(pdu.status, CommandStatus::ESME_ROK, "{pdu:?}");
    }
    let took = writes.load(Ordering::SeqCst) - before;
    assert!(took <= 3, "{SUBMITS} answers ready together took {took} writes");
}
