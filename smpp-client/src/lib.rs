//! `smpp-client`: the tokio driver for [`smpp_session`] and the SMPP ESME client.
//!
//! The [`driver`] runs one sans-IO [`Session`] over any
//! `AsyncRead + AsyncWrite` (TCP, TLS, an in-memory duplex) in one task, writing
//! coalesced buffers and sleeping until the session's next deadline. It makes no
//! protocol decision; the server crate runs on it too.
//!
//! [`Client`] is the ESME on top: connect and bind in one call, many concurrent
//! requests sharing the window (waiting for room by default), inbound deliver_sm and
//! data_sm as a stream ([`Incoming`]) with delivery receipts recognised, an optional
//! rate limit, optional reconnection with back-off, and [`Pool`]s of binds.
//!
//! What it is **not**: it does not encode text or split long messages (see the codec's
//! text support), and it is not an SMSC (see `smpp-server`).
//!
//! ```no_run
//! use smpp_client::{Client, ClientConfig, smpp_pdu::{Address, ShortMessage, SubmitSm}};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let (client, mut incoming) = Client::connect(ClientConfig::new("127.0.0.1", 2775, "user", "secret")).await?;
//! let mut sm = SubmitSm::default();
//! sm.destination_addr = Address::international("447700900123")?;
//! sm.short_message = ShortMessage::new(&b"Hello"[..])?;
//! let submitted = client.submit(sm).await?;
//! println!("message_id {}", submitted.message_id);
//! while let Some(inbound) = incoming.recv().await {
//!     if inbound.is_receipt() { break; }
//! }
//! client.unbind().await;
//! # Ok(()) }
//! ```
//!
//! # Features
//! None. TLS uses rustls with the ring provider.
//!
//! # MSRV
//! Rust 1.95.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod client;
mod config;
pub mod driver;
mod error;
mod tls;

pub use smpp_pdu;
pub use smpp_session;
pub use smpp_session::{BindMode, CloseReason, Event, Request, SendError, Session, SessionConfig};

pub use client::{
    BoxStream, Client, ClientStats, ConnectFuture, Connector, Inbound, InboundMessage, Incoming, LinkState, Pool,
    Stream, Submitted, TextOptions,
};
pub use config::{ClientConfig, Reconnect, ThrottleRetry, TlsOptions};
pub use error::{ClientError, Fate, RequestError};
