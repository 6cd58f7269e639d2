//! The byte streams the driver runs over.

use tokio::io::{AsyncRead, AsyncWrite};

/// Any byte stream a session can run over: TCP, TLS, an in-memory duplex.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Stream for T {}

/// A boxed [`Stream`].
pub type BoxStream = Box<dyn Stream>;
