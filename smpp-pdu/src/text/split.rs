//! Splitting long texts into SMS parts: UDH (8- or 16-bit reference), SAR TLVs, or a
//! single message_payload. Parts never end inside a GSM escape pair or a surrogate pair.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;

use super::{EncodeError, Encoding, Unrepresentable, encode, units};
use crate::{EsmClass, OctetString, Tlv, Tlvs};

/// How a long message is carried.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub enum Concatenation {
    /// A UDH with an 8-bit reference (IEI 0x00): 153 septets, 67 UCS-2 units or 134
    /// octets a part.
    Udh8,
    /// A UDH with a 16-bit reference (IEI 0x08): 152, 66 or 133 a part.
    Udh16,
    /// The sar_* TLVs (v3.4 sessions only); the MC builds the UDH, so parts are sized
    /// as for [`Udh8`](Self::Udh8).
    Sar,
    /// One PDU with the whole text in message_payload (v3.4 sessions only).
    Payload,
}

/// One part to submit.
#[non_exhaustive]
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Part {
    /// short_message (UDH included when there is one), or empty with `Payload`.
    pub short_message: OctetString<254>,
    /// esm_class bits to OR in: UDHI for UDH parts.
    pub esm_class: EsmClass,
    /// TLVs to add: sar_* or message_payload.
    pub tlvs: Tlvs,
}

/// The national language indicators an encoding puts in every part's UDH.
fn nli_ies(encoding: Encoding) -> Vec<u8> {
    match encoding {
        Encoding::Gsm7National(t) => t.udh_ies(),
        _ => Vec::new(),
    }
}

/// Units (septets, UTF-16 units, octets) a message holds with `udh` octets of UDH
/// (length octet included; 0 for none).
fn capacity(encoding: Encoding, udh: usize) -> usize {
    match encoding {
        // UDH octets become septets with fill bits: 6 octets take 7 septets, 7 take 8.
        Encoding::Gsm7 | Encoding::Gsm7National(_) => 160 - (udh * 8).div_ceil(7),
        Encoding::Ucs2 => (140 - udh) / 2,
        _ => 140 - udh,
    }
}

/// Units in a single, unsplit message (which still carries national indicators).
pub(crate) fn single_capacity(encoding: Encoding) -> usize {
    let nli = nli_ies(encoding).len();
    capacity(encoding, if nli == 0 { 0 } else { 1 + nli })
}

/// Units a part holds under a concatenation method.
pub(crate) fn part_capacity(encoding: Encoding, method: Concatenation) -> usize {
    let concat = match method {
        Concatenation::Udh16 => 6,
        Concatenation::Payload => return usize::MAX,
        // SAR: the MC builds an 8-bit reference UDH, so leave its room.
        Concatenation::Udh8 | Concatenation::Sar => 5,
    };
    capacity(encoding, 1 + concat + nli_ies(encoding).len())
}

/// Cuts `text` into pieces of at most `capacity` units, never inside a character
/// (so never inside an escape pair or a surrogate pair).
pub(crate) fn split_units(text: &str, encoding: Encoding, capacity: usize) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut used) = (0, 0);
    for (i, ch) in text.char_indices() {
        let mut buf = [0u8; 4];
        let w = units(ch.encode_utf8(&mut buf), encoding).unwrap_or(1);
        if used + w > capacity {
            parts.push(text.get(start..i).unwrap_or_default());
            start = i;
            used = 0;
        }
        used += w;
    }
    if start < text.len() || parts.is_empty() {
        parts.push(text.get(start..).unwrap_or_default());
    }
    parts
}

/// Reference numbers for concatenated messages, rotating per destination.
///
/// Each destination's first reference is random (a random offset of this instance
/// mixed with a keyed hash of the destination), so two processes, or two instances,
/// sending long messages to one number are unlikely to use the same reference at the
/// same time; after the first, a destination's references go up by one per message,
/// wrapping. [`starting_at`](Self::starting_at) gives a deterministic sequence.
///
/// ```
/// use smpp_wire::text::References;
/// let mut r = References::new();
/// let first = r.next("447700900123");
/// assert_eq!(r.next("447700900123"), first.wrapping_add(1));
/// let mut fixed = References::starting_at(7);
/// assert_eq!((fixed.next("a"), fixed.next("a"), fixed.next("b")), (7, 8, 7));
/// ```
#[derive(Clone, Debug)]
pub struct References {
    /// The reference each destination gets next.
    next: HashMap<String, u16>,
    /// Added to every destination's first reference.
    offset: u16,
    /// Keys the hash of a destination into its first reference; `None` when every
    /// destination starts at `offset`.
    hasher: Option<RandomState>,
}

impl Default for References {
    /// The same as [`References::new`]: a random start.
    fn default() -> Self {
        Self::new()
    }
}

/// Destinations whose counters are kept; past this, the counters are forgotten.
const MAX_DESTINATIONS: usize = 100_000;

/// A random 16-bit value: a counter hashed with a fresh, randomly keyed hasher.
fn random_u16() -> u16 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let h = RandomState::new().hash_one(n);
    // Fold the 64 bits into 16.
    (h ^ (h >> 16) ^ (h >> 32) ^ (h >> 48)) as u16
}

impl References {
    /// A fresh set whose references start at a random point for each destination.
    pub fn new() -> Self {
        Self { next: HashMap::new(), offset: random_u16(), hasher: Some(RandomState::new()) }
    }

    /// A deterministic set (for tests): every destination's first reference is
    /// `first`, then `first + 1`, and so on, wrapping.
    pub fn starting_at(first: u16) -> Self {
        Self { next: HashMap::new(), offset: first, hasher: None }
    }

    /// The next reference for `destination` (wrapping; 8-bit methods use the low octet).
    /// Bounded: past 100 000 destinations, the counters are forgotten (and, for a
    /// random set, the starting point is drawn again).
    pub fn next(&mut self, destination: &str) -> u16 {
        if self.next.len() >= MAX_DESTINATIONS && !self.next.contains_key(destination) {
            self.next.clear();
            if self.hasher.is_some() {
                self.offset = self.offset.wrapping_add(random_u16());
            }
        }
        let first = self.first(destination);
        let counter = self.next.entry(destination.to_owned()).or_insert(first);
        let reference = *counter;
        *counter = counter.wrapping_add(1);
        reference
    }

    /// The first reference of `destination`.
    fn first(&self, destination: &str) -> u16 {
        let mixed = self.hasher.as_ref().map_or(0, |h| {
            let v = h.hash_one(destination);
            (v ^ (v >> 16) ^ (v >> 32) ^ (v >> 48)) as u16
        });
        self.offset.wrapping_add(mixed)
    }
}

/// Splits `text` for submission: one part if it fits a single message, else parts by
/// `method`. `reference` identifies the parts of one message (see [`References`]).
///
/// ```
/// use smpp_wire::text::{split, Concatenation, Encoding};
/// let parts = split(&"x".repeat(200), Encoding::Gsm7, Concatenation::Udh8, 0xCC).unwrap();
/// assert_eq!(parts.len(), 2);
/// assert_eq!(&parts[0].short_message.as_bytes()[..6], [0x05, 0x00, 0x03, 0xCC, 0x02, 0x01]);
/// assert!(parts[0].esm_class.udhi());
/// ```
pub fn split(text: &str, encoding: Encoding, method: Concatenation, reference: u16) -> Result<Vec<Part>, EncodeError> {
    let whole = encode(text, encoding, Unrepresentable::Error)?;
    let fits = units(text, encoding).is_some_and(|u| u <= single_capacity(encoding));
    let nli = nli_ies(encoding);
    // With national tables, even a single message carries a UDH announcing them.
    let with_nli = |body: Vec<u8>| -> (Vec<u8>, EsmClass) {
        if nli.is_empty() {
            return (body, EsmClass::DEFAULT);
        }
        // The indicators are at most 6 octets.
        let mut v = vec![nli.len() as u8];
        v.extend_from_slice(&nli);
        v.extend_from_slice(&body);
        (v, EsmClass::DEFAULT.with_udhi())
    };
    let too_long = || EncodeError { ch: ' ', position: text.chars().count(), encoding };
    if method == Concatenation::Payload {
        let (octets, esm_class) = with_nli(whole);
        let mut tlvs = Tlvs::new();
        let payload = OctetString::new(Bytes::from(octets)).map_err(|_| too_long())?;
        tlvs.push(Tlv::MessagePayload(payload));
        return Ok(vec![Part { short_message: OctetString::default(), esm_class, tlvs }]);
    }
    if fits {
        let (octets, esm_class) = with_nli(whole);
        let short_message = OctetString::new(Bytes::from(octets)).unwrap_or_default();
        return Ok(vec![Part { short_message, esm_class, tlvs: Tlvs::new() }]);
    }
    let pieces = split_units(text, encoding, part_capacity(encoding, method));
    // At most 255 parts; the octet counts of UDH and SAR fields allow no more.
    let total = u8::try_from(pieces.len()).map_err(|_| too_long())?;
    let mut parts = Vec::with_capacity(pieces.len());
    for (k, piece) in pieces.iter().enumerate() {
        // `k < total <= 255`.
        let seq = (k + 1) as u8;
        let body = encode(piece, encoding, Unrepresentable::Error)?;
        let (octets, esm_class, tlvs) = match method {
            Concatenation::Udh8 | Concatenation::Udh16 => {
                let mut ies = if method == Concatenation::Udh8 {
                    vec![0x00, 0x03, reference as u8, total, seq]
                } else {
                    let [hi, lo] = reference.to_be_bytes();
                    vec![0x08, 0x04, hi, lo, total, seq]
                };
                ies.extend_from_slice(&nli);
                // The UDH is at most 13 octets.
                let mut udh = vec![ies.len() as u8];
                udh.extend_from_slice(&ies);
                udh.extend_from_slice(&body);
                (udh, EsmClass::DEFAULT.with_udhi(), Tlvs::new())
            }
            _ => {
                let mut tlvs = Tlvs::new();
                tlvs.push(Tlv::SarMsgRefNum(reference));
                tlvs.push(Tlv::SarTotalSegments(total));
                tlvs.push(Tlv::SarSegmentSeqnum(seq));
                let (octets, esm_class) = with_nli(body);
                (octets, esm_class, tlvs)
            }
        };
        let short_message = OctetString::new(Bytes::from(octets)).unwrap_or_default();
        parts.push(Part { short_message, esm_class, tlvs });
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_sizes() {
        assert_eq!(part_capacity(Encoding::Gsm7, Concatenation::Udh8), 153);
        assert_eq!(part_capacity(Encoding::Gsm7, Concatenation::Udh16), 152);
        assert_eq!(part_capacity(Encoding::Ucs2, Concatenation::Udh8), 67);
        assert_eq!(part_capacity(Encoding::Ucs2, Concatenation::Udh16), 66);
        assert_eq!(part_capacity(Encoding::Binary, Concatenation::Udh8), 134);
        assert_eq!(part_capacity(Encoding::Latin1, Concatenation::Udh16), 133);
    }

    #[test]
    fn national_indicators_ride_in_every_part_and_shrink_it() {
        use crate::text::{Language, NationalTables};
        let tr = Encoding::Gsm7National(NationalTables::new(Some(Language::Turkish), Some(Language::Turkish)));
        assert_eq!(single_capacity(tr), 160 - 8, "a 7-octet UDH (two indicators)");
        assert_eq!(part_capacity(tr, Concatenation::Udh8), 160 - 14, "UDH of 12 octets");
        let one = split("güneş", tr, Concatenation::Udh8, 1).unwrap();
        assert_eq!(&one[0].short_message.as_bytes()[..7], [6, 0x24, 1, 1, 0x25, 1, 1]);
        assert!(one[0].esm_class.udhi());
        let many = split(&"ş".repeat(200), tr, Concatenation::Udh8, 3).unwrap();
        assert_eq!(many.len(), 2);
        assert_eq!(&many[0].short_message.as_bytes()[..12], [11, 0, 3, 3, 2, 1, 0x24, 1, 1, 0x25, 1, 1]);
    }

    #[test]
    fn escapes_and_surrogates_are_never_split() {
        // 152 plain septets then a two-septet '€': the '€' moves to the next part.
        let text = format!("{}€{}", "a".repeat(152), "b".repeat(10));
        let parts = split_units(&text, Encoding::Gsm7, 153);
        assert_eq!(parts[0].len(), 152);
        assert!(parts[1].starts_with('€'));
        let text = format!("{}😀", "я".repeat(66));
        let parts = split_units(&text, Encoding::Ucs2, 67);
        assert_eq!(parts[1], "😀");
    }

    #[test]
    fn sar_and_payload() {
        let parts = split(&"z".repeat(300), Encoding::Gsm7, Concatenation::Sar, 513).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[1].tlvs.sar_msg_ref_num(), Some(513));
        assert_eq!(parts[1].tlvs.sar_total_segments(), Some(2));
        assert_eq!(parts[1].tlvs.sar_segment_seqnum(), Some(2));
        assert!(!parts[0].esm_class.udhi());
        let one = split(&"z".repeat(300), Encoding::Gsm7, Concatenation::Payload, 0).unwrap();
        assert_eq!(one.len(), 1);
        assert!(one[0].short_message.is_empty());
        assert_eq!(one[0].tlvs.message_payload().map(|p| p.len()), Some(300));
    }

    #[test]
    fn references_rotate_per_destination() {
        let mut r = References::starting_at(1);
        assert_eq!(r.next("a"), 1);
        assert_eq!(r.next("a"), 2);
        assert_eq!(r.next("b"), 1);
        let mut wraps = References::starting_at(u16::MAX);
        assert_eq!((wraps.next("a"), wraps.next("a"), wraps.next("a")), (u16::MAX, 0, 1));
    }

    #[test]
    fn new_references_start_at_a_random_point_and_then_count_up() {
        // Eight sets agreeing on one destination's first reference by chance: 2^-112.
        let firsts: Vec<u16> = (0..8).map(|_| References::new().next("447700900123")).collect();
        assert!(firsts.iter().any(|f| *f != firsts[0]), "every set started at {}", firsts[0]);
        assert!(!firsts.iter().all(|f| *f == 1), "not the old fixed start");
        let mut r = References::new();
        let first = r.next("447700900123");
        for k in 1..=300u16 {
            assert_eq!(r.next("447700900123"), first.wrapping_add(k), "consecutive references go up by one");
        }
        // Destinations start independently.
        let others: Vec<u16> = (0..8).map(|k| r.next(&format!("4477009001{k:02}"))).collect();
        assert!(others.iter().any(|o| *o != others[0]), "destinations have their own start");
    }

    #[test]
    fn references_stay_bounded() {
        let mut r = References::starting_at(5);
        for k in 0..MAX_DESTINATIONS {
            r.next(&k.to_string());
        }
        assert_eq!(r.next("0"), 6);
        assert_eq!(r.next("new"), 5, "a new destination past the bound starts afresh");
        assert_eq!(r.next.len(), 1);
    }
}
