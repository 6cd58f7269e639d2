//! `smpp-session`: a sans-IO SMPP session state machine, for the ESME (client) and the
//! SMSC (server) role.
//!
//! One [`Session`] per connection. It binds (and negotiates `interface_version`),
//! knows which PDU is legal in which state and answers the peer's illegal or malformed
//! ones as the spec says, allocates sequence numbers, keeps a window of outstanding
//! requests, and runs the timers (enquire_link, inactivity, response, session-init,
//! unbind grace).
//!
//! What it is **not**: it contains no networking code, reads no clock, spawns nothing
//! and is not async. Bytes and `Instant`s go in; bytes, events and deadlines come out,
//! so it runs under tokio (`smpp-client`), in a blocking loop (see
//! `examples/blocking_client.rs`), or under a fuzzer.
//!
//! ```text
//!   bytes from the peer ─► handle_input(now, &[u8]) ─┐                ┌─► poll_transmit() ─► bytes to the peer
//!   peer closed         ─► handle_eof(now)          ─┤                ├─► poll_event()    ─► Bound, Request, Response, ...
//!   deadline reached    ─► handle_timeout(now)      ─┼─► Session ─────┤
//!   the application     ─► send / respond / unbind  ─┘                └─► poll_timeout()  ─► when to call handle_timeout
//! ```
//!
//! Two sessions talking to each other in memory:
//!
//! ```
//! use std::time::Instant;
//! use smpp_session::smpp_wire::{Address, Body, CommandStatus, ShortMessage, SubmitSm};
//! use smpp_session::{BindMode, BindRequest, Event, Request, Session, SessionConfig};
//! # #[allow(clippy::disallowed_methods)]
//! let now = Instant::now();
//! let bind = BindRequest::new(BindMode::Transceiver, "user", "secret").unwrap();
//! let mut esme = Session::esme(now, SessionConfig::default(), bind).unwrap();
//! let mut smsc = Session::smsc(now, SessionConfig::default());
//!
//! // Carry bytes both ways until nothing moves.
//! let pump = |a: &mut Session, b: &mut Session| {
//!     while let Some(t) = a.poll_transmit() { b.handle_input(now, &t.bytes) }
//! };
//! pump(&mut esme, &mut smsc);
//! let Some(Event::BindRequest { seq, .. }) = smsc.poll_event() else { panic!() };
//! smsc.accept_bind(now, seq, "SMSC").unwrap();
//! assert!(matches!(smsc.poll_event(), Some(Event::Bound { .. })));
//! pump(&mut smsc, &mut esme);
//! assert!(matches!(esme.poll_event(), Some(Event::Bound { .. })));
//!
//! let mut submit = SubmitSm::default();
//! submit.destination_addr = Address::international("447700900123").unwrap();
//! submit.short_message = ShortMessage::new(&b"hi"[..]).unwrap();
//! let seq = esme.send(now, Request::SubmitSm(submit)).unwrap();
//! pump(&mut esme, &mut smsc);
//! let Some(Event::Request { seq: inbound, .. }) = smsc.poll_event() else { panic!() };
//! smsc.respond(now, inbound, CommandStatus::ESME_ROK, Body::SubmitSmResp(None)).unwrap();
//! pump(&mut smsc, &mut esme);
//! assert!(matches!(esme.poll_event(), Some(Event::Response { seq: s, .. }) if s == seq));
//! ```
//!
//! Entry points: [`Session::esme`], [`Session::smsc`], [`SessionConfig`], [`Event`],
//! [`Request`]. For monitoring, [`Session::stats`], [`Session::wire_counts`] (PDUs by
//! command, responses by status) and [`Session::take_latencies`]; every PDU in and
//! out is also logged on the `tracing` target `smpp::wire` (see [`wire`]). Decisions are recorded in `docs/adr/0001-sans-io-session.md` and
//! `docs/adr/0003-version-gating.md`.
//!
//! # Features
//! - `serde`: `SessionConfig` (durations as text), `BindMode`, `MissingScVersion`, and
//!   [`serde_duration`] for your own configuration types.
//! - `log`: tracing's `log` feature, for applications that use the `log` crate.
//!
//! # The layers
//! Below: [`smpp-wire`](https://docs.rs/smpp-wire), the codec (re-exported as
//! [`smpp_wire`]). Above: [`smpp-tokio`](https://docs.rs/smpp-tokio), which runs a
//! session over a tokio stream, then [`smpp-client`](https://docs.rs/smpp-client) and
//! [`smpp-server`](https://docs.rs/smpp-server). Another runtime drives a session as
//! `examples/blocking_client.rs` does with `std::net`.
//!
//! # MSRV
//! Rust 1.88.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing))]

mod config;
mod event;
mod request;
#[cfg(feature = "serde")]
pub mod serde_duration;
mod session;
mod state;
mod window;
pub mod wire;

#[cfg(test)]
mod tests;

pub use smpp_wire;

pub use config::{MissingScVersion, SessionConfig};
pub use event::{CloseReason, Event, Initiator, SendError};
pub use request::Request;
pub use session::{BindRequest, Session, SessionStats, TimerKind, Transmit};
pub use state::{BindMode, Role, SessionState, effective_version};
pub use wire::{Direction, WireCounts};

/// This crate's README (what the registry shows), its examples compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct CrateReadmeDoctests;
