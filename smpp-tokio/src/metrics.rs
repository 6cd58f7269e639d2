//! What the driver reports about its connections: metrics through the [`metrics`]
//! facade, and [`LinkStats`] counters an application can read.
//!
//! The driver publishes each connection's session counters
//! ([`Session::wire_counts`](smpp_session::Session::wire_counts)) once per turn, before
//! it waits, so a burst of PDUs costs one update per counter, not one per PDU. With
//! no metrics recorder installed the facade does nothing.
//!
//! # Metrics
//! | name | kind | labels |
//! |---|---|---|
//! | `smpp_pdus_total` | counter | `role`, `direction`, `command` |
//! | `smpp_responses_total` | counter | `role`, `direction`, `status` |
//! | `smpp_response_seconds` | histogram | `role`, `command` (of the request) |
//! | `smpp_window_in_flight` | gauge | `role` |
//! | `smpp_bound_sessions` | gauge | `role`, `mode`, `account` |
//!
//! `role` is `esme` or `smsc` (the side this process plays), `direction` `in` or
//! `out`, `command` a command name (`submit_sm`, ...; `unknown` for ids the spec does
//! not name), `status` a command_status name (`ESME_ROK`, ...; `unnamed` for a value
//! the spec does not name; `other` past the eighth distinct status of one
//! connection), `mode`
//! `transmitter`, `receiver` or `transceiver`.
//!
//! # Cardinality
//! Every label but `account` takes a fixed set of values: at most 39 commands plus
//! `unknown`, and the statuses the spec names plus `unnamed` and `other`.
//! `account` takes the first [`ACCOUNT_LABELS`] distinct accounts seen by the
//! process; any account after those is counted under `other`. So
//! `smpp_bound_sessions` has at most 2 × 3 × 101 series.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use metrics::{Counter, Gauge, Histogram, SharedString};
use smpp_session::smpp_wire::{COMMANDS, CommandId, CommandStatus};
use smpp_session::{BindMode, Direction, Role, Session, SessionState, WireCounts};

/// How many distinct accounts get a label of their own; the rest share `other`.
pub const ACCOUNT_LABELS: usize = 100;

/// The `account` label for `account`: itself while fewer than [`ACCOUNT_LABELS`]
/// accounts have been labelled in this process (or if it already was), else
/// `other`.
///
/// ```
/// assert_eq!(smpp_tokio::metrics::account_label("alice").as_ref(), "alice");
/// ```
pub fn account_label(account: &str) -> SharedString {
    static SEEN: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    let mut seen = SEEN.get_or_init(Default::default).lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if seen.contains(account) {
        return SharedString::from(account.to_owned());
    }
    if seen.len() < ACCOUNT_LABELS {
        seen.insert(account.to_owned());
        return SharedString::from(account.to_owned());
    }
    SharedString::const_str("other")
}

/// Counters shared by the connections that report to them (a client's binds, a
/// server's connections), updated by the driver once per turn. Read them with
/// [`snapshot`](Self::snapshot).
#[derive(Debug, Default)]
pub struct LinkStats {
    wire: Mutex<WireCounts>,
    in_flight: AtomicU64,
    bound: AtomicU64,
}

/// A reading of [`LinkStats`].
#[non_exhaustive]
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub struct LinkSnapshot {
    /// PDUs by command and direction, responses by command_status.
    pub wire: WireCounts,
    /// Requests of ours awaiting their response now.
    pub in_flight: u64,
    /// Sessions bound now.
    pub bound: u64,
}

impl LinkSnapshot {
    /// PDUs read.
    pub fn pdus_in(&self) -> u64 {
        self.wire.total(Direction::In)
    }

    /// PDUs written.
    pub fn pdus_out(&self) -> u64 {
        self.wire.total(Direction::Out)
    }

    /// Adds another set of connections' figures to these.
    pub fn add(&mut self, other: &Self) {
        self.wire.add(&other.wire);
        self.in_flight += other.in_flight;
        self.bound += other.bound;
    }
}

impl LinkStats {
    /// Reads the counters.
    pub fn snapshot(&self) -> LinkSnapshot {
        LinkSnapshot {
            wire: self.wire.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone(),
            in_flight: self.in_flight.load(Ordering::Relaxed),
            bound: self.bound.load(Ordering::Relaxed),
        }
    }
}

/// Where a connection reports, beyond the metrics facade: what a [`Handler`](crate::Handler)
/// gives the driver ([`Handler::link`](crate::Handler::link)).
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct Link<'a> {
    /// Counters to add this connection's to.
    pub stats: Option<&'a Arc<LinkStats>>,
    /// The account bound on it, for the `account` label (none: `unknown`).
    pub account: Option<&'a str>,
}

impl<'a> Link<'a> {
    /// Reports to `stats` and labels with `account`.
    pub fn new(stats: Option<&'a Arc<LinkStats>>, account: Option<&'a str>) -> Self {
        Self { stats, account }
    }
}

const fn role_name(role: Role) -> &'static str {
    match role {
        Role::Esme => "esme",
        _ => "smsc",
    }
}

const fn mode_name(mode: BindMode) -> &'static str {
    match mode {
        BindMode::Transmitter => "transmitter",
        BindMode::Receiver => "receiver",
        _ => "transceiver",
    }
}

fn command_name(id: Option<CommandId>) -> &'static str {
    id.and_then(CommandId::info).map_or("unknown", |i| i.name)
}

fn status_label(status: Option<CommandStatus>) -> SharedString {
    match status {
        None => SharedString::const_str("other"),
        // A peer may send any number of unnamed statuses: one label for them all.
        Some(s) => SharedString::const_str(s.name().unwrap_or("unnamed")),
    }
}

const DIRECTIONS: [Direction; 2] = [Direction::In, Direction::Out];

/// One connection's publisher: what it last reported, and its metric handles.
pub(crate) struct Publisher {
    role: &'static str,
    last: WireCounts,
    pdus: [Vec<Option<Counter>>; 2],
    statuses: Vec<(Direction, Option<CommandStatus>, Counter)>,
    latency: Vec<Option<Histogram>>,
    in_flight: Option<Gauge>,
    last_in_flight: u64,
    bound: Option<Gauge>,
    /// The stats it reports to, and how much of `in_flight`/`bound` it added there
    /// (taken back when it is dropped: when its connection ends, or its task is
    /// aborted).
    stats: Option<Arc<LinkStats>>,
    reported_in_flight: u64,
    reported_bound: bool,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher").field("role", &self.role).finish_non_exhaustive()
    }
}

impl Publisher {
    pub(crate) fn new() -> Self {
        Self {
            role: "esme",
            last: WireCounts::default(),
            pdus: [vec![None; COMMANDS.len() + 1], vec![None; COMMANDS.len() + 1]],
            statuses: Vec::new(),
            latency: vec![None; COMMANDS.len() + 1],
            in_flight: None,
            last_in_flight: 0,
            bound: None,
            stats: None,
            reported_in_flight: 0,
            reported_bound: false,
        }
    }

    /// Reports what changed since the last call.
    pub(crate) fn publish<T>(&mut self, session: &mut Session<T>, link: Link<'_>) {
        self.role = role_name(session.role());
        if self.stats.is_none()
            && let Some(stats) = link.stats
        {
            self.stats = Some(stats.clone());
        }
        // Taken out for the turn (and put back at its end), not cloned: no atomic
        // count per turn.
        let owned = self.stats.take();
        let stats = owned.as_deref();
        let role = self.role;
        for (id, took) in session.take_latencies() {
            let slot = id.index().unwrap_or(COMMANDS.len());
            if let Some(h) = self.latency.get_mut(slot) {
                h.get_or_insert_with(|| {
                    metrics::histogram!("smpp_response_seconds", "role" => role, "command" => command_name(Some(id)))
                })
                .record(took.as_secs_f64());
            }
        }
        let wire = session.wire_counts();
        if wire.total(Direction::In) != self.last.total(Direction::In)
            || wire.total(Direction::Out) != self.last.total(Direction::Out)
        {
            self.publish_counts(wire, stats);
            self.last = wire.clone();
        }
        let in_flight = session.in_flight() as u64;
        if in_flight != self.last_in_flight {
            let gauge = self.in_flight.get_or_insert_with(|| metrics::gauge!("smpp_window_in_flight", "role" => role));
            gauge.increment(in_flight as f64 - self.last_in_flight as f64);
            self.last_in_flight = in_flight;
        }
        if let Some(stats) = stats {
            if in_flight > self.reported_in_flight {
                stats.in_flight.fetch_add(in_flight - self.reported_in_flight, Ordering::Relaxed);
            } else {
                stats.in_flight.fetch_sub(self.reported_in_flight - in_flight, Ordering::Relaxed);
            }
            self.reported_in_flight = in_flight;
        }
        let bound = match session.state() {
            SessionState::Bound(mode) => Some(mode),
            _ => None,
        };
        match (bound, &self.bound) {
            (Some(mode), None) => {
                let account = link.account.map_or(SharedString::const_str("unknown"), account_label);
                let gauge = metrics::gauge!(
                    "smpp_bound_sessions", "role" => role, "mode" => mode_name(mode), "account" => account
                );
                gauge.increment(1.0);
                self.bound = Some(gauge);
            }
            (None, Some(gauge)) => {
                gauge.decrement(1.0);
                self.bound = None;
            }
            _ => {}
        }
        if let Some(stats) = stats
            && bound.is_some() != self.reported_bound
        {
            if bound.is_some() {
                stats.bound.fetch_add(1, Ordering::Relaxed);
            } else {
                stats.bound.fetch_sub(1, Ordering::Relaxed);
            }
            self.reported_bound = bound.is_some();
        }
        self.stats = owned;
    }

    fn publish_counts(&mut self, wire: &WireCounts, stats: Option<&LinkStats>) {
        let role = self.role;
        let delta = wire.since(&self.last);
        for (d, direction) in DIRECTIONS.into_iter().enumerate() {
            let dir = direction.as_str();
            for (id, n) in delta.pdus(direction) {
                let slot = id.and_then(CommandId::index).unwrap_or(COMMANDS.len());
                if let Some(c) = self.pdus.get_mut(d).and_then(|p| p.get_mut(slot)) {
                    c.get_or_insert_with(|| {
                        metrics::counter!("smpp_pdus_total", "role" => role, "direction" => dir, "command" => command_name(id))
                    })
                    .increment(n);
                }
            }
            for (status, n) in delta.responses(direction) {
                let known = self.statuses.iter().find(|(d2, s, _)| *d2 == direction && *s == status);
                let counter = match known {
                    Some((_, _, c)) => c.clone(),
                    None => {
                        let c = metrics::counter!(
                            "smpp_responses_total", "role" => role, "direction" => dir, "status" => status_label(status)
                        );
                        self.statuses.push((direction, status, c.clone()));
                        c
                    }
                };
                counter.increment(n);
            }
        }
        if let Some(stats) = stats {
            stats.wire.lock().unwrap_or_else(std::sync::PoisonError::into_inner).add(&delta);
        }
    }
}

impl Drop for Publisher {
    /// The connection ended (or its task was aborted): takes back what it added to
    /// the gauges.
    fn drop(&mut self) {
        if let Some(gauge) = self.bound.take() {
            gauge.decrement(1.0);
        }
        if let Some(gauge) = &self.in_flight {
            gauge.decrement(self.last_in_flight as f64);
            self.last_in_flight = 0;
        }
        if let Some(stats) = &self.stats {
            stats.in_flight.fetch_sub(self.reported_in_flight, Ordering::Relaxed);
            self.reported_in_flight = 0;
            if self.reported_bound {
                stats.bound.fetch_sub(1, Ordering::Relaxed);
                self.reported_bound = false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_labels_are_bounded() {
        let mut labels = HashSet::new();
        for k in 0..ACCOUNT_LABELS + 50 {
            labels.insert(account_label(&format!("account{k}")).to_string());
        }
        assert_eq!(labels.len(), ACCOUNT_LABELS + 1, "the first {ACCOUNT_LABELS}, then other");
        assert!(labels.contains("other"));
        assert_eq!(account_label("account0").as_ref(), "account0", "a labelled account keeps its label");
    }

    #[test]
    fn statuses_the_spec_does_not_name_share_one_label() {
        assert_eq!(status_label(Some(CommandStatus::ESME_RTHROTTLED)).as_ref(), "ESME_RTHROTTLED");
        // A peer sending a new unnamed status on every connection adds no series.
        let labels: HashSet<String> =
            (0x400..0x500).map(|v| status_label(Some(CommandStatus(v))).to_string()).collect();
        assert_eq!(labels, HashSet::from(["unnamed".to_owned()]));
        assert_eq!(status_label(None).as_ref(), "other");
    }
}
