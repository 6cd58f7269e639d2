//! [`Server`]: runs sessions over streams it accepts (TCP, TLS) or is given.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use smpp_tokio::Stream;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tracing::Instrument;

use crate::config::ServerConfig;
use crate::connection::{ConnectionGuard, PUSH_SLOTS, serve_connection};
use crate::handle::ServerHandle;
use crate::handler::SmscHandler;
use crate::registry::Live;

/// An SMSC server: one session per connection, run on the [`smpp_tokio`] driver, with
/// `H` deciding binds and answering requests.
///
/// Connections come from listeners ([`listen`](Self::listen), `listen_tls` with the `tls` feature)
/// or from anywhere else ([`serve`](Self::serve): any `AsyncRead + AsyncWrite`, such as an
/// in-memory duplex in a test that runs in virtual time). Cheap to clone.
///
/// ```no_run
/// # use std::sync::Arc;
/// # async fn f<H: smpp_server::SmscHandler>(handler: Arc<H>) -> std::io::Result<()> {
/// use smpp_server::{Server, ServerConfig};
/// let server = Server::new(ServerConfig::new("127.0.0.1:2775".parse().unwrap()), handler);
/// let addr = server.listen("127.0.0.1:2775".parse().unwrap()).await?;
/// let (ours, theirs) = tokio::io::duplex(1 << 16);
/// server.serve(ours, "127.0.0.1:1".parse().unwrap());
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Server<H> {
    config: Arc<ServerConfig>,
    handler: Arc<H>,
    handle: ServerHandle,
}

impl<H> Clone for Server<H> {
    fn clone(&self) -> Self {
        Self { config: self.config.clone(), handler: self.handler.clone(), handle: self.handle.clone() }
    }
}

impl<H: SmscHandler> Server<H> {
    /// A server with no listener yet.
    pub fn new(config: ServerConfig, handler: Arc<H>) -> Self {
        Self { config: Arc::new(config), handler, handle: ServerHandle { registry: Arc::default() } }
    }

    /// A server listening on `config.listen`; returns its handle.
    pub async fn start(config: ServerConfig, handler: Arc<H>) -> std::io::Result<ServerHandle> {
        let listen = config.listen;
        let server = Self::new(config, handler);
        server.listen(listen).await?;
        Ok(server.handle())
    }

    /// A handle: push messages, list and kick sessions, shut down.
    pub fn handle(&self) -> ServerHandle {
        self.handle.clone()
    }

    /// The handler.
    pub fn handler(&self) -> &Arc<H> {
        &self.handler
    }

    /// Runs a session over `stream`, a connection accepted elsewhere, from `peer`.
    /// Returns `false` (and drops the stream) when the server is shutting down or
    /// holds its most connections.
    pub fn serve<S: Stream>(&self, stream: S, peer: SocketAddr) -> bool {
        let registry = &self.handle.registry;
        if *registry.stop.borrow() {
            return false;
        }
        if registry.connections.fetch_add(1, Ordering::SeqCst) >= self.config.max_connections {
            registry.connections.fetch_sub(1, Ordering::SeqCst);
            tracing::warn!(%peer, "connection limit reached; closing");
            return false;
        }
        let id = registry.next_id.fetch_add(1, Ordering::Relaxed);
        let span = tracing::info_span!("smsc_session", id, %peer);
        // Room for every answer the session lets the ESME wait for, for the pushes
        // in flight, and for control commands.
        let (tx, rx) = mpsc::channel(self.config.session.receive_window_len() + PUSH_SLOTS + 16);
        // Made here and moved into the task: dropped with it however it ends, even
        // if it is cut off before it first runs.
        let guard = ConnectionGuard { server: self.handle.clone(), id };
        // The task starts once it is registered, so its cleanup (the guard) always
        // comes after the registration it undoes.
        let (registered, go) = tokio::sync::oneshot::channel::<()>();
        let work = serve_connection(stream, peer, guard, self.config.clone(), self.handler.clone(), (tx.clone(), rx));
        let task = tokio::spawn(
            async move {
                if go.await.is_ok() {
                    work.await;
                }
            }
            .instrument(span),
        );
        registry.all().insert(id, Live { commands: tx, abort: task.abort_handle(), unbinding: Arc::default() });
        let _ = registered.send(());
        true
    }

    /// Listens for plain TCP connections on `addr` until shutdown; returns the
    /// address bound (port 0 picks one).
    pub async fn listen(&self, addr: SocketAddr) -> std::io::Result<SocketAddr> {
        let listener = TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let _ = self.handle.registry.local_addr.set(local);
        let server = self.clone();
        tokio::spawn(async move {
            server
                .accept_loop(listener, |server, tcp, peer| {
                    server.serve(tcp, peer);
                })
                .await;
        });
        Ok(local)
    }

    /// Listens for TLS connections on `addr` until shutdown (feature `tls`); see
    /// [`smpp_tokio::tls::acceptor`]. The handshake runs on the connection's own
    /// task, bounded by [`ServerConfig::tls_handshake_timeout`].
    #[cfg(feature = "tls")]
    pub async fn listen_tls(
        &self,
        addr: SocketAddr,
        acceptor: smpp_tokio::tls::tokio_rustls::TlsAcceptor,
    ) -> std::io::Result<SocketAddr> {
        let listener = TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let _ = self.handle.registry.local_addr.set(local);
        let server = self.clone();
        let timeout = self.config.tls_handshake_timeout;
        tokio::spawn(async move {
            server
                .accept_loop(listener, move |server, tcp, peer| {
                    let registry = server.handle.registry.clone();
                    // Handshakes under way count toward the connection limit, so a
                    // flood of connections that never finish one stays bounded.
                    let busy = registry.connections.load(Ordering::SeqCst)
                        + registry.handshaking.fetch_add(1, Ordering::SeqCst);
                    if busy >= server.config.max_connections {
                        registry.handshaking.fetch_sub(1, Ordering::SeqCst);
                        tracing::warn!(%peer, "connection limit reached; closing");
                        return;
                    }
                    let (server, acceptor) = (server.clone(), acceptor.clone());
                    tokio::spawn(async move {
                        let handshake = tokio::time::timeout(timeout, acceptor.accept(tcp)).await;
                        registry.handshaking.fetch_sub(1, Ordering::SeqCst);
                        match handshake {
                            Ok(Ok(tls)) => {
                                server.serve(tls, peer);
                            }
                            Ok(Err(e)) => tracing::info!(%peer, %e, "TLS handshake failed"),
                            Err(_) => tracing::info!(%peer, "TLS handshake timed out"),
                        }
                    });
                })
                .await;
        });
        Ok(local)
    }

    async fn accept_loop(
        &self,
        listener: TcpListener,
        mut on_accept: impl FnMut(&Self, tokio::net::TcpStream, SocketAddr),
    ) {
        let mut stop = self.handle.registry.stop.subscribe();
        loop {
            if *stop.borrow_and_update() {
                break;
            }
            let accepted = tokio::select! {
                a = listener.accept() => a,
                _ = stop.changed() => continue,
            };
            match accepted {
                Ok((tcp, peer)) => {
                    let _ = tcp.set_nodelay(true);
                    on_accept(self, tcp, peer);
                }
                Err(e) => {
                    tracing::warn!(%e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    }
}
