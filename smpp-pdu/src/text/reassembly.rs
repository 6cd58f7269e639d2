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
pub struct Assembled {
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
}

impl Assembled {
    /// The text, decoded by data_coding and national tables.
    pub fn decode(&self) -> super::Decoded {
        super::decode_with(self.data_coding, &self.data, self.national)
    }
}

/// An incomplete message given up on (timed out, or evicted to bound memory).
#[non_exhaustive]
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Expired {
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
}

type Key = (Vec<u8>, Vec<u8>, u16, u8);

#[derive(Debug)]
struct Pending {
    first_seen: Instant,
    parts: Vec<Option<Bytes>>,
    received: u8,
    data_coding: DataCoding,
    national: super::NationalTables,
}

/// Collects parts until a message is whole. Bounded in messages and octets.
#[derive(Debug)]
pub struct Reassembler {
    timeout: Duration,
    max_messages: usize,
    max_octets: usize,
    octets: usize,
    pending: HashMap<Key, Pending>,
    evicted: Vec<Expired>,
}

impl Reassembler {
    /// Incomplete messages expire after `timeout`; at most `max_messages` incomplete
    /// messages and `max_octets` octets are held (the oldest go first).
    pub fn new(timeout: Duration, max_messages: usize, max_octets: usize) -> Self {
        Self { timeout, max_messages, max_octets, octets: 0, pending: HashMap::new(), evicted: Vec::new() }
    }

    /// Adds a part. Returns the whole message when this part completes it. Duplicates
    /// are ignored; parts with an impossible number are dropped.
    pub fn push(
        &mut self,
        now: Instant,
        source: &[u8],
        destination: &[u8],
        data_coding: DataCoding,
        fragment: Fragment,
    ) -> Option<Assembled> {
        let Fragment { reference, total, seq, data, national } = fragment;
        if total == 0 || seq == 0 || seq > total {
            return None;
        }
        if total == 1 {
            return Some(Assembled { reference, total, data: data.to_vec(), data_coding, national });
        }
        let key = (source.to_vec(), destination.to_vec(), reference, total);
        if !self.pending.contains_key(&key) {
            while self.pending.len() >= self.max_messages.max(1) {
                self.evict_oldest();
            }
            let pending =
                Pending { first_seen: now, parts: vec![None; usize::from(total)], received: 0, data_coding, national };
            self.pending.insert(key.clone(), pending);
        }
        let len = data.len();
        let entry = self.pending.get_mut(&key)?;
        let slot = entry.parts.get_mut(usize::from(seq) - 1)?;
        if slot.is_some() {
            return None;
        }
        *slot = Some(data);
        entry.received += 1;
        self.octets += len;
        if entry.received == total {
            let done = self.pending.remove(&key)?;
            let data: Vec<u8> = done.parts.into_iter().flatten().flat_map(|b| b.to_vec()).collect();
            self.octets = self.octets.saturating_sub(data.len());
            return Some(Assembled { reference, total, data, data_coding: done.data_coding, national: done.national });
        }
        while self.octets > self.max_octets && !self.pending.is_empty() {
            self.evict_oldest();
        }
        None
    }

    /// Gives up on messages incomplete for longer than the timeout, and reports
    /// those evicted to bound memory.
    pub fn expire(&mut self, now: Instant) -> Vec<Expired> {
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
            self.evicted.push(Expired { source, destination, reference, total, received: p.received });
        }
    }
}
