//! [`Pool`]: several binds of one account, with requests spread over them and their
//! inbound messages merged.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use smpp_session::Request;
use smpp_wire::{Body, CancelSm, DataSm, QuerySm, QuerySmResp, ReplaceSm, SubmitMulti, SubmitMultiResp, SubmitSm};

use super::{Client, ClientStats, Connector, Incoming, LinkState, Submitted, TextOptions, handler, tcp_connector};
use crate::config::ClientConfig;
use crate::error::{ClientError, RequestError};

/// Several binds of one account, with requests spread over them.
///
/// Platforms allow several connections per account; a pool uses them all. Each
/// request goes to the next bind in turn that is up and has room, or waits on the
/// next one in turn when none has. It offers what a [`Client`] offers. The binds of a
/// pool made by [`connect`](Self::connect) share one reassembler, so a long message
/// whose parts arrive on different binds is put together, and their inbound messages
/// come on one [`MergedIncoming`](crate::MergedIncoming).
///
/// ```no_run
/// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
/// use futures::StreamExt;
/// use smpp_client::{ClientConfig, Pool};
/// let (pool, mut incoming) = Pool::connect(ClientConfig::new("127.0.0.1", 2775, "user", "secret"), 4).await?;
/// while let Some(inbound) = incoming.next().await {
///     println!("{:?}", inbound.message);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Pool {
    clients: Arc<Vec<Client>>,
    next: Arc<AtomicUsize>,
}

impl Pool {
    /// Opens `binds` binds with the same configuration; their inbound messages come
    /// merged.
    pub async fn connect(config: ClientConfig, binds: usize) -> Result<(Self, crate::MergedIncoming), ClientError> {
        let connector = tcp_connector(&config);
        Self::connect_via(config, connector, binds).await
    }

    /// Opens `binds` binds over streams from `connector`, sharing one reassembler.
    pub async fn connect_via(
        config: ClientConfig,
        connector: Connector,
        binds: usize,
    ) -> Result<(Self, crate::MergedIncoming), ClientError> {
        let (pool, incoming) = Self::connect_each_via(config, connector, binds).await?;
        Ok((pool, Incoming::merge(incoming)))
    }

    /// Like [`connect_via`](Self::connect_via), with each bind's inbound messages on
    /// a stream of its own.
    pub async fn connect_each_via(
        config: ClientConfig,
        connector: Connector,
        binds: usize,
    ) -> Result<(Self, Vec<Incoming>), ClientError> {
        let reassembler = handler::new_reassembler();
        let mut clients = Vec::new();
        let mut incoming = Vec::new();
        for _ in 0..binds.max(1) {
            let (c, i) = Client::start(config.clone(), connector.clone(), reassembler.clone()).await?;
            clients.push(c);
            incoming.push(i);
        }
        Ok((Self::from_clients(clients), incoming))
    }

    /// A pool over existing clients.
    pub fn from_clients(clients: Vec<Client>) -> Self {
        Self { clients: Arc::new(clients), next: Arc::new(AtomicUsize::new(0)) }
    }

    /// The binds.
    pub fn clients(&self) -> &[Client] {
        &self.clients
    }

    /// The next bind in turn that is up and has room (`Err`: the next in turn).
    fn with_room(&self) -> Result<&Client, Option<&Client>> {
        let n = self.clients.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        (0..n)
            .filter_map(|k| self.clients.get((start + k) % n))
            .find(|c| c.is_up() && c.available() > 0)
            .ok_or_else(|| self.clients.get(start % n.max(1)))
    }

    /// The bind for the next request: one with room, or the next in turn to wait on.
    fn pick(&self) -> Result<&Client, RequestError> {
        self.with_room().or_else(|next| next.ok_or(RequestError::Closed))
    }

    /// The same pool, each of whose requests gives up after `limit` (see
    /// [`Client::timeout`]).
    pub fn timeout(&self, limit: Duration) -> Self {
        let clients = self.clients.iter().map(|c| c.timeout(limit)).collect();
        Self { clients: Arc::new(clients), next: self.next.clone() }
    }

    /// Submits on the next bind with room.
    pub async fn submit(&self, submit: SubmitSm) -> Result<Submitted, RequestError> {
        self.pick()?.submit(submit).await
    }

    /// Submits on a bind with room now, or fails with [`RequestError::WindowFull`].
    pub async fn try_submit(&self, submit: SubmitSm) -> Result<Submitted, RequestError> {
        let client = self.with_room().map_err(|_| RequestError::WindowFull)?;
        client.try_submit(submit).await
    }

    /// Encodes, splits and submits a text on one bind (see [`Client::submit_text`]).
    pub async fn submit_text(
        &self,
        from: smpp_wire::Address<21>,
        to: smpp_wire::Address<21>,
        text: &str,
        options: TextOptions,
    ) -> Result<Vec<Submitted>, RequestError> {
        self.pick()?.submit_text(from, to, text, options).await
    }

    /// Submits one message to several destinations.
    pub async fn submit_multi(&self, submit: SubmitMulti) -> Result<SubmitMultiResp, RequestError> {
        self.pick()?.submit_multi(submit).await
    }

    /// Sends a data_sm (v3.4 binds only).
    pub async fn data_sm(&self, data: DataSm) -> Result<Submitted, RequestError> {
        self.pick()?.data_sm(data).await
    }

    /// Queries the state of a submitted message.
    pub async fn query_sm(&self, query: QuerySm) -> Result<QuerySmResp, RequestError> {
        self.pick()?.query_sm(query).await
    }

    /// Cancels a submitted message.
    pub async fn cancel_sm(&self, cancel: CancelSm) -> Result<(), RequestError> {
        self.pick()?.cancel_sm(cancel).await
    }

    /// Replaces a submitted message.
    pub async fn replace_sm(&self, replace: ReplaceSm) -> Result<(), RequestError> {
        self.pick()?.replace_sm(replace).await
    }

    /// Sends any request and returns the response body on `ESME_ROK`.
    pub async fn request(&self, request: Request) -> Result<Body, RequestError> {
        self.pick()?.request(request).await
    }

    /// Each bind's link state now.
    pub fn link_states(&self) -> Vec<LinkState> {
        self.clients.iter().map(Client::link_state).collect()
    }

    /// How many binds are up now.
    pub fn binds_up(&self) -> usize {
        self.clients.iter().filter(|c| c.is_up()).count()
    }

    /// Free room in all the windows now.
    pub fn available(&self) -> usize {
        self.clients.iter().map(Client::available).sum()
    }

    /// What the binds did so far (traffic, throttling, reconnections), added up.
    pub fn stats(&self) -> ClientStats {
        let mut total = ClientStats::default();
        for c in self.clients.iter() {
            let s = c.stats();
            total.throttled += s.throttled;
            total.retries += s.retries;
            total.reconnects += s.reconnects;
            total.link.add(&s.link);
            total.adaptive_rate = match (total.adaptive_rate, s.adaptive_rate) {
                (Some(a), Some(b)) => Some(a + b),
                (a, b) => a.or(b),
            };
        }
        total
    }

    /// Unbinds every bind.
    pub async fn unbind(&self) {
        for c in self.clients.iter() {
            c.unbind().await;
        }
    }

    /// Closes every bind at once.
    pub async fn close(&self) {
        for c in self.clients.iter() {
            c.close().await;
        }
    }
}
