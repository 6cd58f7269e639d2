//! [`MergedIncoming`]: the inbound messages of several binds as one stream.

use std::pin::Pin;
use std::task::{Context, Poll};

use crate::client::{Inbound, Incoming};

/// The inbound messages of several [`Incoming`]s (the binds of a
/// [`Pool`](crate::Pool), or clients of several accounts) as one stream, made by
/// [`Incoming::merge`] or collected from an iterator.
///
/// It is fair: the sources are polled in turn, starting after the one that gave the
/// last message, so a busy bind cannot starve the others. A source that ends is
/// dropped, and the merged stream ends once all of them have.
///
/// ```no_run
/// use futures::StreamExt;
/// use smpp_client::{ClientConfig, Incoming, Pool};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let config = ClientConfig::new("127.0.0.1", 2775, "user", "secret");
/// let (pool, incomings) = Pool::connect_each_via(config.clone(), smpp_client::tcp_connector(&config), 4).await?;
/// let mut incoming = Incoming::merge(incomings);
/// while let Some(inbound) = incoming.next().await {
///     println!("{:?}", inbound.message);
/// }
/// # drop(pool); Ok(()) }
/// ```
#[derive(Debug, Default)]
pub struct MergedIncoming {
    /// The sources not yet ended.
    sources: Vec<Incoming>,
    /// Where the next poll starts.
    next: usize,
}

impl Incoming {
    /// Merges several inbound streams into one; see [`MergedIncoming`].
    pub fn merge(incomings: impl IntoIterator<Item = Self>) -> MergedIncoming {
        incomings.into_iter().collect()
    }
}

impl MergedIncoming {
    /// Adds one more source.
    pub fn push(&mut self, incoming: Incoming) {
        self.sources.push(incoming);
    }

    /// How many sources have not ended yet.
    pub fn len(&self) -> usize {
        self.sources.len()
    }

    /// Whether every source has ended (or there were none): the stream is over.
    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }

    /// The next inbound message from any source, or `None` once all have ended.
    ///
    /// Cancel safe, like [`Incoming::recv`].
    pub async fn recv(&mut self) -> Option<Inbound> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Polls every source in turn for the next inbound message: `Ready(None)` once all
    /// have ended, `Pending` (waking `cx`'s task later) while none has a message.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Inbound>> {
        let mut polled = 0;
        while polled < self.sources.len() {
            let k = self.next % self.sources.len();
            let Some(source) = self.sources.get_mut(k) else { break };
            match source.poll_recv(cx) {
                Poll::Ready(Some(inbound)) => {
                    self.next = k + 1;
                    return Poll::Ready(Some(inbound));
                }
                // The source after it moves into its place and is polled next.
                Poll::Ready(None) => {
                    self.sources.remove(k);
                    self.next = k;
                }
                Poll::Pending => {
                    self.next = k + 1;
                    polled += 1;
                }
            }
        }
        if self.sources.is_empty() { Poll::Ready(None) } else { Poll::Pending }
    }

    /// The next inbound message if one is waiting in any source, taken in turn like
    /// [`recv`](Self::recv).
    pub fn try_recv(&mut self) -> Option<Inbound> {
        for _ in 0..self.sources.len() {
            let k = self.next % self.sources.len();
            self.next = k + 1;
            if let Some(inbound) = self.sources.get_mut(k).and_then(Incoming::try_recv) {
                return Some(inbound);
            }
        }
        None
    }
}

impl FromIterator<Incoming> for MergedIncoming {
    fn from_iter<I: IntoIterator<Item = Incoming>>(iter: I) -> Self {
        Self { sources: iter.into_iter().collect(), next: 0 }
    }
}

impl Extend<Incoming> for MergedIncoming {
    fn extend<I: IntoIterator<Item = Incoming>>(&mut self, iter: I) {
        self.sources.extend(iter);
    }
}

impl futures_core::Stream for MergedIncoming {
    type Item = Inbound;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Inbound>> {
        self.get_mut().poll_recv(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, if self.sources.is_empty() { Some(0) } else { None })
    }
}

impl futures_core::FusedStream for MergedIncoming {
    fn is_terminated(&self) -> bool {
        self.sources.is_empty()
    }
}
