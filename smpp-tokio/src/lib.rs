//! `smpp-tokio`: the tokio driver that runs one sans-IO
//! [`Session`](smpp_session::Session) over any async byte stream.
//!
//! [`drive_with`] moves bytes between a stream (TCP, TLS, an in-memory duplex: any
//! `AsyncRead + AsyncWrite`) and the session, reads the clock in one place ([`now`],
//! tokio's clock, so tests run in virtual time), writes coalesced output, and sleeps
//! until the session's next deadline. A [`Handler`] receives the session's events
//! and the application's commands. Both `smpp-client` (the ESME) and `smpp-server`
//! (the SMSC) run every connection on it.
//!
//! It also reports: every connection's counters go, once per turn, to the
//! [`metrics`](https://docs.rs/metrics) facade (any exporter; see the [`metrics`]
//! module for the names and labels) and to the [`metrics::LinkStats`] its handler
//! names, and each connection runs in a `session{id}` span on [`WIRE_TARGET`].
//!
//! What it is **not**: it makes no protocol decision (that is the session's) and keeps
//! no application state (that is the handler's). It does not connect, accept or
//! reconnect; the client and the server do.
//!
//! ```
//! use std::time::Instant;
//! use smpp_tokio::smpp_session::{Event, Session, SessionConfig};
//! use smpp_tokio::{Handler, drive, now};
//!
//! /// Logs every event, takes no commands.
//! struct Log;
//! impl Handler for Log {
//!     type Command = ();
//!     type Token = ();
//!     fn on_command(&mut self, _now: Instant, _session: &mut Session, _command: ()) {}
//!     fn on_event(&mut self, _now: Instant, _session: &mut Session, event: Event) {
//!         println!("{event:?}");
//!     }
//! }
//!
//! # async fn run() -> std::io::Result<()> {
//! let (ours, _theirs) = tokio::io::duplex(4096);
//! let session = Session::smsc(now(), SessionConfig::default());
//! let (_commands, mut rx) = tokio::sync::mpsc::channel(8);
//! drive(ours, session, &mut Log, &mut rx).await
//! # }
//! ```
//!
//! # Features
//! - `tls`: TLS over rustls ([`tls::connector`], [`tls::acceptor`]), with no crypto provider chosen (the application installs
//!   a rustls process default); `tls-ring` or `tls-aws-lc-rs` choose one, and
//!   `tls-webpki-roots` (Mozilla's, compiled in) or `tls-native-roots` (the
//!   platform's) the roots trusted when no CA is given. All off by default: without
//!   them nothing of rustls is compiled.
//! - `serde`: [`DriverConfig`] and the lower layers' types.
//! - `log`: tracing's `log` feature, for applications that use the `log` crate.
//!
//! # The layers
//! Below: [`smpp-session`](https://docs.rs/smpp-session) (re-exported as
//! [`smpp_session`]) on [`smpp-wire`](https://docs.rs/smpp-wire). Above, both on this
//! driver: [`smpp-client`](https://docs.rs/smpp-client) (the ESME) and
//! [`smpp-server`](https://docs.rs/smpp-server) (the SMSC).
//!
//! # MSRV
//! Rust 1.88.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing))]

mod driver;
pub mod metrics;
mod stream;
#[cfg(feature = "tls")]
pub mod tls;

pub use driver::{DriverConfig, Handler, drive, drive_with, now};
pub use smpp_session;
pub use stream::{BoxStream, Stream};

/// The `tracing` target of the PDU trace and of each connection's `session` span:
/// `SMPP_LOG=smpp::wire=debug` shows every PDU, `smpp::wire=trace` its octets too.
pub const WIRE_TARGET: &str = smpp_session::wire::TARGET;

/// This crate's README (what the registry shows), its examples compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct CrateReadmeDoctests;
