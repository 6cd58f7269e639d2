//! `smpp-server`: the SMSC side of the stack, a library to build SMSCs and gateways
//! on, and the built-in SMSC simulator.
//!
//! [`Server`] runs one [`Session`](smpp_session::Session) per connection in the SMSC
//! role on the [`smpp_tokio`] driver: over TCP ([`Server::listen`]), TLS
//! (`Server::listen_tls`, feature `tls`), or any stream you accepted yourself
//! ([`Server::serve`]). An [`SmscHandler`] decides binds (asynchronously: look the
//! account up wherever it lives) and grants each bind its account data and
//! [`Limits`] (window, throttle, most binds), which every later callback sees. It
//! answers requests at once or later through a [`Responder`]. A [`ServerHandle`]
//! pushes deliver_sm or data_sm to an account's receivers, lists sessions and unbinds
//! or drops them, and shuts the server down gracefully.
//!
//! Building blocks every SMSC needs: [`DeliveryReceipt`] (Appendix B text, TLVs only
//! where the session's version allows them), [`MessageIds`], [`Throttle`], and
//! [`Reply`] helpers.
//!
//! [`Simulator`] is a ready handler that behaves like the platform this stack serves:
//! accounts with passwords, v3.3 rules held to v3.3 clients, receipts as
//! registered_delivery asks, kept for a receiver that binds later, MO injection,
//! throttling and error injection.
//!
//! [`gateway::Gateway`] is the other ready handler: an SMPP gateway (`smpp serve
//! --upstream`). Customers bind to it; their submits are routed to upstream SMSCs
//! through the [`store`] (store and forward, or pass-through), sent with
//! `smpp-client`, and the upstreams' receipts and MO come back to them under the
//! gateway's own message ids.
//!
//! What it is **not**: an SMSC that delivers to mobile networks itself (no SS7, no
//! SIGTRAN); it reaches them through upstream SMSCs.
//!
//! ```no_run
//! use smpp_server::{ServerConfig, Simulator, SimulatorConfig};
//! # async fn run() -> std::io::Result<()> {
//! let sim = Simulator::start(ServerConfig::new("127.0.0.1:2775".parse().unwrap()), SimulatorConfig::default()).await?;
//! println!("SMSC simulator on {}", sim.local_addr());
//! # Ok(()) }
//! ```
//!
//! # Features
//! - `tls`: `Server::listen_tls` and `smpps://` upstreams for the gateway, with no crypto provider chosen (the application installs
//!   a rustls process default); `tls-ring` or `tls-aws-lc-rs` choose one, and
//!   `tls-webpki-roots` (Mozilla's, compiled in) or `tls-native-roots` (the
//!   platform's) the roots trusted when no CA is given. All off by default: without
//!   them nothing of rustls is compiled.
//! - `sqlite`: `store::SqliteStore`, the embedded durable store: one SQLite file,
//!   group commit, kept across crashes (SQLite is compiled in from source, so a C
//!   compiler is needed). Off by default.
//! - `redis`: `store::RedisStore`, the store a cluster of nodes shares (Redis 7).
//! - `serde`: [`ServerConfig`], [`SimulatorConfig`] (read only: it holds passwords),
//!   [`Limits`], [`StoreLimits`](store::StoreLimits) and the lower layers' types.
//! - `log`: tracing's `log` feature, for applications that use the `log` crate.
//!
//! # The layers
//! Below: [`smpp-tokio`](https://docs.rs/smpp-tokio), [`smpp-session`](https://docs.rs/smpp-session)
//! and [`smpp-wire`](https://docs.rs/smpp-wire) (re-exported as [`smpp_wire`]), and
//! [`smpp-client`](https://docs.rs/smpp-client) for the gateway's upstream links.
//! Above: [`smpp-cli`](https://docs.rs/smpp-cli), whose `smpp serve` runs the simulator
//! and the gateway.
//!
//! # MSRV
//! Rust 1.88 (the `sqlite` feature: 1.89, for rusqlite).
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing))]

mod blocks;
mod clock;
mod config;
mod connection;
mod delivery;
pub mod gateway;
mod handle;
mod handler;
mod listener;
mod registry;
mod rules;
mod simulator;
pub mod store;

pub use smpp_tokio::DriverConfig;
pub use {smpp_session, smpp_tokio, smpp_wire};

pub use blocks::{DeliveryReceipt, MessageIds, Throttle};
pub use config::ServerConfig;
pub use handle::{PushError, PushResult, ServerHandle};
pub use handler::{BindInfo, BoundSession, Defer, Grant, Limits, Reply, Responder, SessionInfo, SmscHandler};
pub use listener::Server;
pub use registry::SessionSummary;
pub use simulator::{Simulator, SimulatorConfig, SimulatorHandle};

/// This crate's README (what the registry shows), its examples compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct CrateReadmeDoctests;
