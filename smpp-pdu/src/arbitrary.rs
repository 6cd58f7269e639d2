//! Random PDUs for property tests (feature `proptest`).
//!
//! [`any_pdu`] generates any PDU of any type with valid field values; [`any_pdu_of`]
//! one type only, so a test can cover every type. Values come from a seeded generator,
//! so a failing case is reproduced by its seed.

use bytes::Bytes;
use proptest::prelude::*;

use crate::body::BODY_GENERATORS;
use crate::{
    Address, Body, BoundedVec, COctetString, CommandStatus, DataCoding, EsmClass, InterfaceVersion, MessageState, Npi,
    OctetString, Password, Pdu, PriorityFlag, RegisteredDelivery, SequenceNumber, SmppTime, Ton,
    tlv::{BroadcastContentType, BroadcastFrequencyInterval, NetworkErrorCode, Tlv, TlvString, Tlvs, VarUint},
};

/// A small deterministic generator (xorshift64*).
#[derive(Clone, Debug)]
pub struct Gen(u64);

impl Gen {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A value in `0..n` (0 if `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next_u64() % n as u64) as usize }
    }

    /// A value in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi.saturating_sub(lo).saturating_add(1))
    }

    /// A random octet.
    pub fn byte(&mut self) -> u8 {
        self.next_u64() as u8
    }

    /// `len` random octets.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.byte()).collect()
    }

    /// A short length, biased to small values but reaching `max`.
    fn len(&mut self, min: usize, max: usize) -> usize {
        let cap = if self.below(4) == 0 { max } else { max.min(min + 24) };
        self.range(min, cap)
    }
}

/// Types that can be generated at random within length bounds.
pub trait Generate: Sized {
    /// A random value; `min` and `max` bound variable-length values.
    fn generate(g: &mut Gen, min: usize, max: usize) -> Self;
}

macro_rules! gen_u8_newtype {
    ($($t:ty),*) => {$(
        impl Generate for $t {
            fn generate(g: &mut Gen, _: usize, _: usize) -> Self {
                Self(g.byte())
            }
        }
    )*};
}

gen_u8_newtype!(Ton, Npi, EsmClass, RegisteredDelivery, DataCoding, PriorityFlag, MessageState, InterfaceVersion);

impl Generate for u8 {
    fn generate(g: &mut Gen, _: usize, _: usize) -> Self {
        g.byte()
    }
}

impl Generate for u16 {
    fn generate(g: &mut Gen, _: usize, _: usize) -> Self {
        g.next_u64() as Self
    }
}

impl Generate for u32 {
    fn generate(g: &mut Gen, _: usize, _: usize) -> Self {
        g.next_u64() as Self
    }
}

impl Generate for CommandStatus {
    fn generate(g: &mut Gen, _: usize, _: usize) -> Self {
        Self(g.next_u64() as u32)
    }
}

impl<const N: usize> Generate for COctetString<N> {
    fn generate(g: &mut Gen, _: usize, _: usize) -> Self {
        let len = g.len(0, N - 1);
        let text: Vec<u8> = (0..len).map(|_| g.byte().max(1)).collect();
        Self::from_checked(&text)
    }
}

impl Generate for Password {
    fn generate(g: &mut Gen, min: usize, max: usize) -> Self {
        Self(Generate::generate(g, min, max))
    }
}

impl<const N: usize> Generate for Address<N> {
    fn generate(g: &mut Gen, min: usize, max: usize) -> Self {
        Self {
            ton: Generate::generate(g, min, max),
            npi: Generate::generate(g, min, max),
            addr: Generate::generate(g, min, max),
        }
    }
}

impl Generate for Option<SmppTime> {
    fn generate(g: &mut Gen, _: usize, _: usize) -> Self {
        let d = |g: &mut Gen, hi: usize| g.range(0, hi) as u8;
        match g.below(3) {
            0 => None,
            1 => crate::AbsoluteTime::new(
                d(g, 99),
                1 + d(g, 11),
                1 + d(g, 30),
                d(g, 23),
                d(g, 59),
                d(g, 59),
                d(g, 9),
                d(g, 96) as i8 - 48,
            )
            .ok()
            .map(SmppTime::Absolute),
            _ => crate::RelativeTime::new(d(g, 99), d(g, 99), d(g, 99), d(g, 99), d(g, 99), d(g, 99))
                .ok()
                .map(SmppTime::Relative),
        }
    }
}

impl<const MAX: usize> Generate for OctetString<MAX> {
    fn generate(g: &mut Gen, min: usize, max: usize) -> Self {
        let len = g.len(min, max.min(MAX));
        Self::from_checked(Bytes::from(g.bytes(len)))
    }
}

impl<const MAX: usize> Generate for TlvString<MAX> {
    fn generate(g: &mut Gen, min: usize, max: usize) -> Self {
        let len = g.len(min.max(1), max.min(MAX)) - 1;
        let text: Vec<u8> = (0..len).map(|_| g.byte().max(1)).collect();
        Self::new(text).unwrap_or_default()
    }
}

impl Generate for Option<u8> {
    fn generate(g: &mut Gen, _: usize, _: usize) -> Self {
        (g.below(2) == 0).then(|| g.byte())
    }
}

impl Generate for VarUint {
    fn generate(g: &mut Gen, min: usize, max: usize) -> Self {
        let len = g.range(min.max(1), max.min(4));
        let value = (g.next_u64() as u32) >> (32 - 8 * len as u32);
        Self::new(value, len as u8).unwrap_or(Self::new(0, 1).unwrap_or_else(|_| unreachable!()))
    }
}

macro_rules! gen_u8_u16 {
    ($t:ident, $a:ident, $b:ident) => {
        impl Generate for $t {
            fn generate(g: &mut Gen, _: usize, _: usize) -> Self {
                Self { $a: g.byte(), $b: g.next_u64() as u16 }
            }
        }
    };
}

gen_u8_u16!(NetworkErrorCode, network_type, error_code);
gen_u8_u16!(BroadcastContentType, network_type, content_type);
gen_u8_u16!(BroadcastFrequencyInterval, time_unit, number);

impl Generate for Tlvs {
    fn generate(g: &mut Gen, _: usize, _: usize) -> Self {
        let n = if g.below(2) == 0 { 0 } else { g.range(1, 6) };
        (0..n).map(|_| Tlv::generate_any(g)).collect()
    }
}

impl<T: Generate, const MAX: usize> Generate for BoundedVec<T, MAX> {
    fn generate(g: &mut Gen, min: usize, max: usize) -> Self {
        let n = g.len(0, MAX.min(40));
        let items = (0..n).map(|_| T::generate(g, min, max)).collect();
        Self::from_vec(items).unwrap_or_default()
    }
}

impl<T: Generate> Generate for Option<T>
where
    T: BodyStruct,
{
    fn generate(g: &mut Gen, min: usize, max: usize) -> Self {
        (g.below(4) != 0).then(|| T::generate(g, min, max))
    }
}

/// Marker for body structs, which may be absent (`None`) in a response.
pub trait BodyStruct {}

/// How many PDU types [`any_pdu_of`] knows (one per [`Body`] variant).
pub fn pdu_kinds() -> usize {
    BODY_GENERATORS.len()
}

/// A random PDU of the `kind`-th type (see [`pdu_kinds`]).
pub fn pdu_of(kind: usize, seed: u64) -> Pdu {
    let mut g = Gen::new(seed);
    let body = BODY_GENERATORS.get(kind % BODY_GENERATORS.len()).map_or(Body::EnquireLink, |f| f(&mut g));
    let status =
        if body.is_request() || g.below(2) == 0 { CommandStatus::ESME_ROK } else { Generate::generate(&mut g, 0, 0) };
    Pdu::with_status(SequenceNumber::from_wire(g.next_u64() as u32), status, body)
}

/// Any PDU of any type.
pub fn any_pdu() -> impl Strategy<Value = Pdu> {
    (any::<usize>(), any::<u64>()).prop_map(|(kind, seed)| pdu_of(kind, seed))
}

/// Any PDU of the `kind`-th type.
pub fn any_pdu_of(kind: usize) -> impl Strategy<Value = Pdu> {
    any::<u64>().prop_map(move |seed| pdu_of(kind, seed))
}
