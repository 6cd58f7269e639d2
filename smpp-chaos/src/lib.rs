//! `smpp-chaos`: fault injection for the SMPP stack, and the proof that messages stay
//! accounted for.
//!
//! - [`FaultSmsc`]: an SMSC that pads and garbles its successful responses, answers
//!   late, out of order or never, throttles a share of submits, resets the connection
//!   in the middle of a window, stops reading, and spreads long MO over several binds;
//!   all from a seed, with a [`Ledger`] of what it really accepted and delivered.
//! - [`FaultEsme`]: the same on the ESME side, toward an SMSC (our server).
//! - [`scenario`]: the accounting run: messages through a `Pool` with reconnection on,
//!   against random faults, each fate checked against the ledger.
//!
//! What it is **not**: a library for production use. It exists for the test suites
//! (`cargo test -p smpp-chaos` runs fixed seeds) and for `cargo xtask chaos --secs N`,
//! which runs random seeds and prints the seed of any failure.
//!
//! ```no_run
//! use smpp_chaos::scenario::{Params, run_seed};
//! let report = run_seed(Params::ci(42)).expect("every message accounted for");
//! println!("{report:?}");
//! ```

pub mod esme;
pub mod rng;
pub mod scenario;
pub mod smsc;
mod wire;

pub use esme::{Answer, EsmeFaults, EsmeLedger, FaultEsme};
pub use rng::Rng;
pub use smsc::{Delivery, FaultSmsc, Ledger, SmscFaults};

/// The repository README's tour, compiled as doctests here: this crate is not
/// published, so a file outside a package is no trouble.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct RootReadmeDoctests;
