//! What crossed the wire: counters by command and by status, and the PDU trace.
//!
//! Every PDU the session reads or queues is counted in its [`WireCounts`] and, when
//! a `tracing` subscriber wants it, logged on the target `smpp::wire`: one line per
//! PDU at debug (direction, command, sequence number, status, length), and its octets
//! in hex at trace, with the password of a bind or outbind replaced by `**`.

use std::fmt;

use smpp_wire::frame::HEADER_LEN;
use smpp_wire::{COMMANDS, CommandId, CommandStatus, Header};

/// The `tracing` target of the PDU trace.
pub const TARGET: &str = "smpp::wire";

/// Which way a PDU went.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub enum Direction {
    /// Read from the peer.
    In,
    /// Queued for the peer.
    Out,
}

impl Direction {
    /// `"in"` or `"out"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::In => "in",
            Self::Out => "out",
        }
    }

    const fn index(self) -> usize {
        match self {
            Self::In => 0,
            Self::Out => 1,
        }
    }
}

/// One counter per command the spec names, and one for any other id.
const SLOTS: usize = COMMANDS.len() + 1;

/// Distinct statuses counted one by one per direction; the rest are counted together.
const STATUSES: usize = 8;

/// PDUs by command and responses by command_status, in each direction: the
/// session's own counters ([`Session::wire_counts`](crate::Session::wire_counts)),
/// for metrics and monitoring. Bounded: a counter per command the spec names plus
/// one for other ids, and the first eight distinct statuses seen each way plus one
/// for the rest.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct WireCounts {
    pdus: [[u64; SLOTS]; 2],
    statuses: [[(CommandStatus, u64); STATUSES]; 2],
    other_statuses: [u64; 2],
    totals: [u64; 2],
}

impl Default for WireCounts {
    fn default() -> Self {
        Self {
            pdus: [[0; SLOTS]; 2],
            statuses: [[(CommandStatus::ESME_ROK, 0); STATUSES]; 2],
            other_statuses: [0; 2],
            totals: [0; 2],
        }
    }
}

impl WireCounts {
    /// Counts one PDU.
    pub(crate) fn record(&mut self, direction: Direction, header: &Header) {
        let d = direction.index();
        if let Some(total) = self.totals.get_mut(d) {
            *total += 1;
        }
        let slot = header.command_id.index().unwrap_or(SLOTS - 1);
        if let Some(count) = self.pdus.get_mut(d).and_then(|p| p.get_mut(slot)) {
            *count += 1;
        }
        if header.command_id.is_response() {
            self.record_status(d, header.command_status);
        }
    }

    fn record_status(&mut self, d: usize, status: CommandStatus) {
        self.add_status(d, Some(status), 1);
    }

    /// Adds `n` responses with `status` (`None`: the rest) going way `d`.
    fn add_status(&mut self, d: usize, status: Option<CommandStatus>, n: u64) {
        if let (Some(status), Some(table)) = (status, self.statuses.get_mut(d)) {
            for entry in table.iter_mut() {
                if entry.1 == 0 {
                    *entry = (status, n);
                    return;
                }
                if entry.0 == status {
                    entry.1 += n;
                    return;
                }
            }
        }
        if let Some(other) = self.other_statuses.get_mut(d) {
            *other += n;
        }
    }

    /// What was counted since `before`, an earlier reading of the same counters.
    pub fn since(&self, before: &Self) -> Self {
        let mut delta = Self::default();
        for (d, direction) in [Direction::In, Direction::Out].into_iter().enumerate() {
            let rows = (self.pdus.get(d), before.pdus.get(d), delta.pdus.get_mut(d));
            if let (Some(now), Some(then), Some(out)) = rows {
                for ((o, n), t) in out.iter_mut().zip(now).zip(then) {
                    *o = n.saturating_sub(*t);
                }
            }
            if let Some(t) = delta.totals.get_mut(d) {
                *t = self.total(direction).saturating_sub(before.total(direction));
            }
            for (status, n) in self.responses(direction) {
                let then = before.responses(direction).find(|(s, _)| *s == status).map_or(0, |(_, n)| n);
                if n > then {
                    delta.add_status(d, status, n - then);
                }
            }
        }
        delta
    }

    /// Adds `other`'s counts to these (statuses past the eighth distinct one
    /// counted together).
    pub fn add(&mut self, other: &Self) {
        for (d, direction) in [Direction::In, Direction::Out].into_iter().enumerate() {
            if let (Some(ours), Some(theirs)) = (self.pdus.get_mut(d), other.pdus.get(d)) {
                for (o, t) in ours.iter_mut().zip(theirs) {
                    *o += t;
                }
            }
            if let Some(t) = self.totals.get_mut(d) {
                *t += other.total(direction);
            }
            for (status, n) in other.responses(direction) {
                self.add_status(d, status, n);
            }
        }
    }

    /// Responses that went this way with a status other than `ESME_ROK`.
    pub fn error_responses(&self, direction: Direction) -> u64 {
        self.responses(direction).filter(|(s, _)| *s != Some(CommandStatus::ESME_ROK)).map(|(_, n)| n).sum()
    }

    /// PDUs that went this way.
    pub fn total(&self, direction: Direction) -> u64 {
        self.totals.get(direction.index()).copied().unwrap_or(0)
    }

    /// PDUs that went this way, by command (`None`: ids the spec does not name);
    /// commands never seen are left out.
    pub fn pdus(&self, direction: Direction) -> impl Iterator<Item = (Option<CommandId>, u64)> + '_ {
        let row = self.pdus.get(direction.index()).map_or(&[][..], |r| &r[..]);
        row.iter().enumerate().filter(|(_, n)| **n > 0).map(|(k, n)| (COMMANDS.get(k).map(|c| c.id), *n))
    }

    /// How many PDUs with this command went this way.
    pub fn pdus_of(&self, direction: Direction, command: CommandId) -> u64 {
        let slot = command.index().unwrap_or(SLOTS - 1);
        self.pdus.get(direction.index()).and_then(|p| p.get(slot)).copied().unwrap_or(0)
    }

    /// Responses (generic_nack included) that went this way, by command_status
    /// (`None`: statuses past the first eight distinct ones); statuses never seen
    /// are left out.
    pub fn responses(&self, direction: Direction) -> impl Iterator<Item = (Option<CommandStatus>, u64)> + '_ {
        let d = direction.index();
        let table = self.statuses.get(d).map_or(&[][..], |t| &t[..]);
        let other = self.other_statuses.get(d).copied().unwrap_or(0);
        table.iter().filter(|(_, n)| *n > 0).map(|(s, n)| (Some(*s), *n)).chain((other > 0).then_some((None, other)))
    }
}

/// Logs one PDU on [`TARGET`]: a line at debug, and its octets at trace.
pub(crate) fn trace(direction: Direction, header: &Header, pdu: &[u8]) {
    tracing::debug!(
        target: TARGET,
        dir = direction.as_str(),
        command = %header.command_id,
        seq = header.sequence_number.value(),
        status = %StatusName(header.command_status),
        len = pdu.len(),
        "pdu"
    );
    tracing::trace!(target: TARGET, dir = direction.as_str(), seq = header.sequence_number.value(), hex = %RedactedHex(pdu), "pdu octets");
}

/// A command_status as its name (`ESME_ROK`), or its value in hex when it has none.
struct StatusName(CommandStatus);

impl fmt::Display for StatusName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "{:#010x}", self.0.0),
        }
    }
}

/// A PDU's octets in hex, with the password of a bind or outbind shown as `**` per
/// octet: what the PDU trace prints, and safe to log.
///
/// ```
/// use smpp_session::wire::RedactedHex;
/// // bind_transmitter, system_id "ab", password "pw", then the rest.
/// let pdu = [
///     0, 0, 0, 0x19, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, b'a', b'b', 0, b'p', b'w', 0, 0, 0x34, 0,
/// ];
/// let hex = RedactedHex(&pdu).to_string();
/// assert!(hex.ends_with("616200****00003400"), "{hex}");
/// ```
#[derive(Clone, Copy, Debug)]
pub struct RedactedHex<'a>(pub &'a [u8]);

impl RedactedHex<'_> {
    /// Where the password lies in a bind or outbind request.
    fn password(&self) -> Option<std::ops::Range<usize>> {
        let header = Header::parse(self.0)?;
        let carries_password = matches!(
            header.command_id,
            CommandId::BIND_RECEIVER | CommandId::BIND_TRANSMITTER | CommandId::BIND_TRANSCEIVER | CommandId::OUTBIND
        );
        if !carries_password {
            return None;
        }
        let body = self.0.get(HEADER_LEN..)?;
        let start = HEADER_LEN + body.iter().position(|b| *b == 0)? + 1;
        let rest = self.0.get(start..)?;
        let end = start + rest.iter().position(|b| *b == 0).unwrap_or(rest.len());
        Some(start..end)
    }
}

impl fmt::Display for RedactedHex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hidden = self.password().unwrap_or(0..0);
        for (k, b) in self.0.iter().enumerate() {
            if hidden.contains(&k) {
                f.write_str("**")?;
            } else {
                write!(f, "{b:02x}")?;
            }
        }
        Ok(())
    }
}
