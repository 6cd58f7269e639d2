//! The link's state, as the application sees it: the latest ([`LinkState`], through a
//! watch) and every change in order ([`LinkEvents`], a stream).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use smpp_session::{BindMode, CloseReason};
use smpp_wire::{CommandStatus, InterfaceVersion};
use tokio::sync::{broadcast, watch};

/// The state of the link, as the application sees it.
#[non_exhaustive]
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum LinkState {
    /// Connecting or binding.
    Connecting,
    /// Bound.
    Up {
        /// The bind mode.
        mode: BindMode,
        /// The negotiated version.
        version: InterfaceVersion,
    },
    /// The link is down; a reconnection may follow.
    Down(CloseReason),
    /// Waiting before the next connection attempt.
    Reconnecting {
        /// The attempt that just ended (1 for the first connection).
        attempt: u64,
        /// How long until the next attempt.
        after: Duration,
    },
    /// The SMSC refused the bind for a reason another attempt cannot mend (bad
    /// password, unknown system_id, system_type): the client stopped trying, for good.
    Refused(CommandStatus),
    /// Unbound or closed by the application, for good.
    Closed,
}

/// Link changes kept for a [`LinkEvents`] reader that falls behind.
const EVENTS: usize = 64;

/// Where a bind's supervisor and connections publish link changes.
#[derive(Clone, Debug)]
pub(crate) struct LinkTx {
    latest: watch::Sender<LinkState>,
    events: broadcast::Sender<LinkState>,
}

impl LinkTx {
    pub(crate) fn new() -> (Self, watch::Receiver<LinkState>) {
        let (latest, rx) = watch::channel(LinkState::Connecting);
        (Self { latest, events: broadcast::channel(EVENTS).0 }, rx)
    }

    /// Publishes a change (the same state twice in a row is one change).
    pub(crate) fn send(&self, state: LinkState) -> Result<(), ()> {
        if *self.latest.borrow() == state && state != LinkState::Connecting {
            return Ok(());
        }
        let _ = self.events.send(state.clone());
        self.latest.send_replace(state);
        Ok(())
    }

    pub(crate) fn borrow(&self) -> watch::Ref<'_, LinkState> {
        self.latest.borrow()
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<LinkState> {
        self.events.subscribe()
    }
}

type Next = Pin<
    Box<dyn Future<Output = (Result<LinkState, broadcast::error::RecvError>, broadcast::Receiver<LinkState>)> + Send>,
>;

/// Every change of a client's link from the moment it was made: connecting, up,
/// down with its reason, reconnecting, refused, closed. A `futures::Stream`; it ends
/// once the client has stopped for good and every `Client` handle is gone (a handle
/// keeps the link's publisher alive). A reader more than 64 changes behind skips the
/// oldest.
///
/// ```no_run
/// # async fn f(client: smpp_client::Client) {
/// let mut events = client.link_events();
/// while let Some(state) = events.recv().await {
///     println!("link: {state:?}");
/// }
/// # }
/// ```
pub struct LinkEvents {
    rx: Option<broadcast::Receiver<LinkState>>,
    next: Option<Next>,
}

impl std::fmt::Debug for LinkEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkEvents").finish_non_exhaustive()
    }
}

impl LinkEvents {
    pub(crate) fn new(rx: broadcast::Receiver<LinkState>) -> Self {
        Self { rx: Some(rx), next: None }
    }

    /// The next change; `None` once the client has ended.
    pub async fn recv(&mut self) -> Option<LinkState> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Polls for the next change.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<LinkState>> {
        loop {
            if self.next.is_none() {
                let Some(mut rx) = self.rx.take() else { return Poll::Ready(None) };
                self.next = Some(Box::pin(async move { (rx.recv().await, rx) }));
            }
            let Some(next) = self.next.as_mut() else { return Poll::Ready(None) };
            let (result, rx) = std::task::ready!(next.as_mut().poll(cx));
            self.next = None;
            match result {
                Ok(state) => {
                    self.rx = Some(rx);
                    return Poll::Ready(Some(state));
                }
                Err(broadcast::error::RecvError::Lagged(_)) => self.rx = Some(rx),
                Err(broadcast::error::RecvError::Closed) => return Poll::Ready(None),
            }
        }
    }
}

impl futures_core::Stream for LinkEvents {
    type Item = LinkState;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<LinkState>> {
        self.get_mut().poll_recv(cx)
    }
}
