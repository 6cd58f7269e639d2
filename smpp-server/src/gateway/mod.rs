//! The gateway's building blocks: routing a customer's submit to an upstream
//! connector ([`Router`]), and matching an upstream's receipt to the submit it
//! answers whatever form its id takes ([`file_keys`], [`lookup_keys`]).
//!
//! An upstream connector is given as a URL ([`Upstream`]); an upstream's receipt is
//! rewritten to carry the gateway's id ([`rewrite_receipt`]).
//!
//! All are pure: no I/O, no clock. The gateway that puts them together with the
//! client, the server and the store (`smpp serve --upstream`) is built on them.

mod ids;
mod receipt;
mod routes;
mod server;
mod upstream;
mod v33;

pub use ids::{IdKey, file_keys, lookup_keys};
pub use receipt::{RewriteError, rewrite_receipt};
pub use routes::{Route, RouteError, Router, Target};
pub use server::{GATEWAY_TARGET, Gateway, GatewayConfig, GatewayError, GatewayHandle, GatewayStats, Policy};
pub use upstream::{Upstream, UpstreamError};
pub use v33::{V33Error, to_v33};
