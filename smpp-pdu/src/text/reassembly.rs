//! Reassembling inbound multipart messages, whether they come by UDH or by SAR TLVs,
//! out of order or with duplicates. Memory is bounded and incomplete sets expire;
//! expiry is reported, never silent. Time is an argument.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::{DataCoding, EsmClass, OctetString, Tlvs};

/// One part of a multipart message.
#[non_exhaustive]
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Fragment {
    /// The concatenation reference (8-bit references are widened).
    pub reference: u16,
    /// How many parts the message has.
    pub total: u8,
    /// This part's number, from 1.
    pub seq: u8,
    /// The part's user data, UDH removed.
    pub data: Bytes,
    /// National language tables the UDH announces (GSM 7-bit only).
    pub national: super::NationalTables,
}

impl Fragment {
    /// A fragment from its parts, with the default GSM tables.
    pub fn new(reference: u16, total: u8, seq: u8, data: Bytes) -> Self {
        Self { reference, total, seq, data, national: super::NationalTables::default() }
    }
}

/// The fragment a short_message and its TLVs carry, if the message is one part of a
/// longer one (UDH concatenation IE 0x00 or 0x08 when UDHI is set, or the sar_* TLVs).
pub fn fragment_of(esm_class: EsmClass, short_message: &OctetString<254>, tlvs: &Tlvs) -> Option<Fragment> {
    if let (Some(reference), Some(total), Some(seq)) =
        (tlvs.sar_msg_ref_num(), tlvs.sar_total_segments(), tlvs.sar_segment_seqnum())
    {
        let sm = short_message.as_bytes();
        // A UDH may still be there for national language indicators.
        let (data, national) = match (esm_class.udhi(), sm.first()) {
            (true, Some(l)) if sm.len() > usize::from(*l) => (
                short_message.to_bytes().slice(1 + usize::from(*l)..),
                super::NationalTables::from_udh(sm.get(1..1 + usize::from(*l)).unwrap_or_default()),
            ),
            _ => (short_message.to_bytes(), super::NationalTables::default()),
        };
        return Some(Fragment { reference, total, seq, data, national });
    }
    if !esm_class.udhi() {
        return None;
    }
    let sm = short_message.as_bytes();
    let udhl = usize::from(*sm.first()?);
    let udh = sm.get(1..1 + udhl)?;
    let data = short_message.to_bytes().slice(1 + udhl..);
    let national = super::NationalTables::from_udh(udh);
    let mut ies = udh;
    while let [iei, len, rest @ ..] = ies {
        let (value, next) = rest.split_at_checked(usize::from(*len))?;
        match (iei, value) {
            (0x00, [r, t, s]) => {
                return Some(Fragment { reference: u16::from(*r), total: *t, seq: *s, data, national });
            }
            (0x08, [r1, r2, t, s]) => {
                let reference = u16::from_be_bytes([*r1, *r2]);
                return Some(Fragment { reference, total: *t, seq: *s, data, national });
            }
            _ => ies = next,
        }
    }
    None
}

/// A message whose parts have all arrived.
#[non_exhaustive]
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Assembled<M = ()> {
    /// The reference.
    pub reference: u16,
    /// How many parts it had.
    pub total: u8,
    /// The parts' user data, in order.
    pub data: Vec<u8>,
    /// The data_coding of the first part.
    pub data_coding: DataCoding,
    /// National language tables announced by the parts.
    pub national: super::NationalTables,
    /// The caller's metadata of the first part seen (given to
    /// [`Reassembler::push_with`]; `()` through [`Reassembler::push`]).
    pub first: M,
}

impl<M> Assembled<M> {
    /// The text, decoded by data_coding and national tables.
    pub fn decode(&self) -> super::Decoded {
        super::decode_with(self.data_coding, &self.data, self.national)
    }
}

/// An incomplete message given up on (timed out, or evicted to bound memory), with
/// the parts that did arrive: they were acknowledged, so they must not vanish.
#[non_exhaustive]
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Expired<M = ()> {
    /// The source address.
    pub source: Vec<u8>,
    /// The destination address.
    pub destination: Vec<u8>,
    /// The reference.
    pub reference: u16,
    /// Parts expected.
    pub total: u8,
    /// Parts received.
    pub received: u8,
    /// The parts received: the part number (from 1) and the part's user data, in
    /// part-number order.
    pub parts: Vec<(u8, Bytes)>,
    /// The data_coding of the first part seen.
    pub data_coding: DataCoding,
    /// National language tables announced by the first part seen.
    pub national: super::NationalTables,
    /// The caller's metadata of the first part seen (given to
    /// [`Reassembler::push_with`]; `()` through [`Reassembler::push`]).
    pub first: M,
}

impl<M> Expired<M> {
    /// Each part received, with its text decoded by data_coding and national tables,
    /// in part-number order.
    pub fn texts(&self) -> Vec<(u8, super::Decoded)> {
        self.parts.iter().map(|(n, data)| (*n, super::decode_with(self.data_coding, data, self.national))).collect()
    }
}

/// What [`Reassembler::push_with`] did with a part.
#[non_exhaustive]
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum Pushed<M> {
    /// This part completed the message (for a one-part "long" message too).
    Complete(Assembled<M>),
    /// Held until the other parts arrive (`meta` kept if this is the first part seen
    /// of the message, else dropped). If holding it went past the memory bounds, the
    /// oldest messages (possibly this one) were evicted and are reported, with their
    /// parts, by [`Reassembler::expire`].
    Held,
    /// A part already held (same part number): ignored; the meta is dropped.
    Duplicate,
    /// total == 0, part number 0 or above total: not taken. The fragment and meta come
    /// back so the caller can deliver it as a plain message.
    Invalid(Fragment, M),
}

type Key = (Vec<u8>, Vec<u8>, u16, u8);

#[derive(Debug)]
struct Pending<M> {
    first_seen: Instant,
    parts: Vec<Option<Bytes>>,
    received: u8,
    data_coding: DataCoding,
    national: super::NationalTables,
    first: M,
}

/// Collects parts until a message is whole. Bounded in messages and octets.
///
/// `M` is metadata the caller keeps with the first part seen of each message (the
/// PDU it came in, say), handed back in [`Assembled::first`] and [`Expired::first`];
/// with the default `()`, [`push`](Reassembler::push) needs none.
#[derive(Debug)]
pub struct Reassembler<M = ()> {
    timeout: Duration,
    max_messages: usize,
    max_octets: usize,
    octets: usize,
    pending: HashMap<Key, Pending<M>>,
    evicted: Vec<Expired<M>>,
}

impl Reassembler {
    /// Adds a part. Returns the whole message when this part completes it. Duplicates
    /// are ignored; parts with an impossible number are dropped (use
    /// [`push_with`](Self::push_with) to get them back).
    pub fn push(
        &mut self,
        now: Instant,
        source: &[u8],
        destination: &[u8],
        data_coding: DataCoding,
        fragment: Fragment,
    ) -> Option<Assembled> {
        match self.push_with(now, source, destination, data_coding, fragment, ()) {
            Pushed::Complete(a) => Some(a),
            Pushed::Held | Pushed::Duplicate | Pushed::Invalid(..) => None,
        }
    }
}

impl<M> Reassembler<M> {
    /// Incomplete messages expire after `timeout`; at most `max_messages` incomplete
    /// messages and `max_octets` octets are held (the oldest go first).
    pub fn new(timeout: Duration, max_messages: usize, max_octets: usize) -> Self {
        Self { timeout, max_messages, max_octets, octets: 0, pending: HashMap::new(), evicted: Vec::new() }
    }

    /// Adds a part with the caller's metadata `meta`, kept if this is the first part
    /// seen of its message. Says whether the part completed its message, is held,
    /// duplicates a part held, or is invalid (then the fragment and `meta` come back).
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use bytes::Bytes;
    /// use smpp_wire::text::{Fragment, Pushed, Reassembler};
    /// use smpp_wire::DataCoding;
    /// # #[allow(clippy::disallowed_methods)]
    /// let now = Instant::now();
    /// let mut r: Reassembler<&str> = Reassembler::new(Duration::from_secs(60), 16, 1 << 16);
    /// let part = |seq| Fragment::new(7, 2, seq, Bytes::from_static(b"ab"));
    /// assert!(matches!(r.push_with(now, b"s", b"d", DataCoding::MC_DEFAULT, part(2), "second"), Pushed::Held));
    /// let Pushed::Complete(a) = r.push_with(now, b"s", b"d", DataCoding::MC_DEFAULT, part(1), "first") else {
    ///     panic!("complete")
    /// };
    /// assert_eq!((a.first, a.data), ("second", b"abab".to_vec()), "the meta of the first part seen");
    /// ```
    pub fn push_with(
        &mut self,
        now: Instant,
        source: &[u8],
        destination: &[u8],
        data_coding: DataCoding,
        fragment: Fragment,
        meta: M,
    ) -> Pushed<M> {
        let (total, seq) = (fragment.total, fragment.seq);
        if total == 0 || seq == 0 || seq > total {
            return Pushed::Invalid(fragment, meta);
        }
        let Fragment { reference, data, national, .. } = fragment;
        if total == 1 {
            return Pushed::Complete(Assembled {
                reference,
                total,
                data: data.to_vec(),
                data_coding,
                national,
                first: meta,
            });
        }
        let key = (source.to_vec(), destination.to_vec(), reference, total);
        let index = usize::from(seq) - 1;
        let len = data.len();
        let received = match self.pending.get_mut(&key) {
            Some(entry) => {
                match entry.parts.get_mut(index) {
                    Some(slot @ None) => *slot = Some(data),
                    // Held already (a slot exists for every number up to total).
                    _ => return Pushed::Duplicate,
                }
                entry.received += 1;
                entry.received
            }
            None => {
                while self.pending.len() >= self.max_messages.max(1) {
                    self.evict_oldest();
                }
                let mut parts = vec![None; usize::from(total)];
                if let Some(slot) = parts.get_mut(index) {
                    *slot = Some(data);
                }
                let pending = Pending { first_seen: now, parts, received: 1, data_coding, national, first: meta };
                self.pending.insert(key.clone(), pending);
                1
            }
        };
        self.octets += len;
        if received == total
            && let Some(done) = self.pending.remove(&key)
        {
            let data: Vec<u8> = done.parts.into_iter().flatten().flat_map(|b| b.to_vec()).collect();
            self.octets = self.octets.saturating_sub(data.len());
            return Pushed::Complete(Assembled {
                reference,
                total,
                data,
                data_coding: done.data_coding,
                national: done.national,
                first: done.first,
            });
        }
        while self.octets > self.max_octets && !self.pending.is_empty() {
            self.evict_oldest();
        }
        Pushed::Held
    }

    /// Gives up on messages incomplete for longer than the timeout, and reports
    /// those evicted to bound memory, each with the parts that arrived.
    pub fn expire(&mut self, now: Instant) -> Vec<Expired<M>> {
        let stale: Vec<Key> = self
            .pending
            .iter()
            .filter(|(_, p)| now.saturating_duration_since(p.first_seen) >= self.timeout)
            .map(|(k, _)| k.clone())
            .collect();
        for key in stale {
            self.remove(key);
        }
        std::mem::take(&mut self.evicted)
    }

    /// Gives up on every message held, complete or not, and returns them with those
    /// evicted earlier: for a caller that stops and must hand over what it holds.
    pub fn drain(&mut self) -> Vec<Expired<M>> {
        let keys: Vec<Key> = self.pending.keys().cloned().collect();
        for key in keys {
            self.remove(key);
        }
        std::mem::take(&mut self.evicted)
    }

    /// When [`expire`](Self::expire) should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.pending.values().map(|p| p.first_seen + self.timeout).min()
    }

    /// Incomplete messages held.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Whether none are held.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    fn evict_oldest(&mut self) {
        if let Some(key) = self.pending.iter().min_by_key(|(_, p)| p.first_seen).map(|(k, _)| k.clone()) {
            self.remove(key);
        }
    }

    fn remove(&mut self, key: Key) {
        if let Some(p) = self.pending.remove(&key) {
            let held: usize = p.parts.iter().flatten().map(Bytes::len).sum();
            self.octets = self.octets.saturating_sub(held);
            let (source, destination, reference, total) = key;
            let parts = p
                .parts
                .into_iter()
                .enumerate()
                .filter_map(|(k, data)| Some((u8::try_from(k + 1).ok()?, data?)))
                .collect();
            self.evicted.push(Expired {
                source,
                destination,
                reference,
                total,
                received: p.received,
                parts,
                data_coding: p.data_coding,
                national: p.national,
                first: p.first,
            });
        }
    }
}
