//! `smpp-server`: the SMSC side of the stack, and the built-in SMSC simulator.
//!
//! [`Server`] listens, runs one [`Session`](smpp_session::Session) per connection in
//! the SMSC role on the same driver as the client, and keeps a registry of bound
//! accounts. An [`SmscHandler`] decides binds and answers requests; a
//! [`ServerHandle`] pushes deliver_sm or data_sm to an account's receivers and shuts
//! the server down gracefully. Limits: connections, binds per account, the
//! session-init and inactivity timeouts, and the window.
//!
//! [`Simulator`] is a ready handler that behaves like the platform this stack serves:
//! accounts with passwords, v3.3/v3.4 by `interface_version`, unique message ids,
//! delivery receipts after a delay, MO injection, throttling and error injection.
//!
//! What it is **not**: a store-and-forward SMSC with routing to mobile networks.
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
//! None.
//!
//! # MSRV
//! Rust 1.95.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

/// The README's Rust examples, compiled as doctests (this crate sees every layer).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;

mod clock;
mod server;
mod simulator;

pub use smpp_tokio::DriverConfig;
pub use {smpp_pdu, smpp_session, smpp_tokio};

pub use server::{
    Defer, PushError, PushResult, Reply, Responder, Server, ServerConfig, ServerHandle, SessionInfo, SmscHandler,
};
pub use simulator::{Simulator, SimulatorConfig, SimulatorHandle};
