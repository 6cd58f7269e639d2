//! `smpp-client`: the SMPP ESME client for tokio.
//!
//! Each connection runs one sans-IO [`Session`] on the [`smpp_tokio`] driver (over
//! TCP, TLS, or any `AsyncRead + AsyncWrite` you bring). [`Client`] is the ESME on top: connect and bind in one call, many concurrent
//! requests sharing the window (waiting for room by default), inbound deliver_sm and
//! data_sm as a stream ([`Incoming`], a `futures::Stream`; [`MergedIncoming`] for
//! several binds) with delivery receipts recognised, an optional
//! rate limit, optional reconnection with back-off, and [`Pool`]s of binds.
//!
//! What it is **not**: it does not encode text or split long messages (see the codec's
//! text support), and it is not an SMSC (see `smpp-server`).
//!
//! ```no_run
//! use smpp_client::{Client, ClientConfig, smpp_wire::{Address, ShortMessage, SubmitSm}};
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
//! - `tls`: connections over TLS ([`ClientConfig::tls`]), with no crypto provider chosen (the application installs
//!   a rustls process default); `tls-ring` or `tls-aws-lc-rs` choose one, and
//!   `tls-webpki-roots` (Mozilla's, compiled in) or `tls-native-roots` (the
//!   platform's) the roots trusted when no CA is given. All off by default: without
//!   them nothing of rustls is compiled.
//! - `serde`: [`ClientConfig`] reads from configuration files (never written out:
//!   it holds a password), with [`Reconnect`], [`ThrottleRetry`], [`TlsOptions`] and
//!   the lower layers' types.
//! - `log`: tracing's `log` feature, for applications that use the `log` crate.
//!
//! # The layers
//! Below: [`smpp-tokio`](https://docs.rs/smpp-tokio) (the driver each connection runs
//! on), [`smpp-session`](https://docs.rs/smpp-session) (the protocol rules) and
//! [`smpp-wire`](https://docs.rs/smpp-wire) (the codec, re-exported as [`smpp_wire`]).
//! Beside it: [`smpp-server`](https://docs.rs/smpp-server), the SMSC side, whose
//! simulator is what to test against (`smpp serve` from
//! [`smpp-cli`](https://docs.rs/smpp-cli)).
//!
//! # MSRV
//! Rust 1.88.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing))]

mod client;
mod config;
mod error;
mod merged;
mod tls;

pub use smpp_session;
pub use smpp_session::{BindMode, CloseReason, Event, Request, SendError, Session, SessionConfig};
pub use smpp_tokio;
pub use smpp_tokio::DriverConfig;
pub use smpp_wire;

pub use client::{
    BoxStream, Client, ClientStats, ConnectFuture, Connector, Inbound, InboundMessage, Incoming, LinkEvents, LinkState,
    Pool, Stream, Submitted, TextOptions, tcp_connector,
};
pub use config::{ClientConfig, Reconnect, ThrottleRetry, TlsOptions};
pub use error::{ClientError, Fate, RequestError};
pub use merged::MergedIncoming;

/// This crate's README (what the registry shows), its examples compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct CrateReadmeDoctests;
