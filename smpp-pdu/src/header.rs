//! `sequence_number` and `interface_version`.

use crate::macros::wire_newtype;

/// A `sequence_number`, kept exactly as it appeared on the wire.
///
/// Numbers we originate run 1..=0x7FFF_FFFF and wrap ([`SequenceNumber::next`]); by
/// convention only the session allocates them. Numbers from a peer are echoed verbatim,
/// even out of range (real SMSCs send 0x806A179B).
#[derive(Clone, Copy, Eq, Hash, Ord, PartialEq, PartialOrd)]
pub struct SequenceNumber(u32);

impl SequenceNumber {
    /// The largest number a sender may emit.
    pub const MAX: u32 = 0x7FFF_FFFF;

    /// The first number of a session (1).
    pub const FIRST: Self = Self(1);

    /// A number in the sender range; 0 and values above [`MAX`](Self::MAX) are folded
    /// into 1..=MAX so a sender can never emit an out-of-range number.
    pub const fn new(value: u32) -> Self {
        match value {
            0 => Self(1),
            v if v > Self::MAX => Self((v & Self::MAX) | (((v & Self::MAX) == 0) as u32)),
            v => Self(v),
        }
    }

    /// A number exactly as read from the wire (any 32-bit value).
    pub const fn from_wire(value: u32) -> Self {
        Self(value)
    }

    /// The raw value.
    pub const fn value(self) -> u32 {
        self.0
    }

    /// The next number, wrapping from 0x7FFF_FFFF back to 1.
    pub const fn next(self) -> Self {
        if self.0 >= Self::MAX { Self(1) } else { Self(self.0 + 1) }
    }
}

impl Default for SequenceNumber {
    fn default() -> Self {
        Self::FIRST
    }
}

impl core::fmt::Debug for SequenceNumber {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "#{}", self.0)
    }
}

impl core::fmt::Display for SequenceNumber {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Display::fmt(&self.0, f)
    }
}

wire_newtype! {
    /// `interface_version` (in binds) and `sc_interface_version` (TLV in bind responses).
    ///
    /// Ordered. The codec carries any value; which versions get TLVs is the session's
    /// policy (see `smpp-session`).
    pub struct InterfaceVersion(u8);
    V33 = 0x33, "3.3", "SMPP v3.3 or earlier: no TLVs";
    V34 = 0x34, "3.4", "SMPP v3.4";
    V50 = 0x50, "5.0", "SMPP v5.0";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_wraps_within_range() {
        assert_eq!(SequenceNumber::new(SequenceNumber::MAX).next(), SequenceNumber::FIRST);
        assert_eq!(SequenceNumber::new(5).next().value(), 6);
        assert_eq!(SequenceNumber::new(0).value(), 1);
        assert_eq!(SequenceNumber::new(0x8000_0000).value(), 1);
        assert_eq!(SequenceNumber::new(0x8000_0005).value(), 5);
        assert_eq!(SequenceNumber::from_wire(0x806A_179B).value(), 0x806A_179B);
    }

    #[test]
    fn version_is_ordered_and_named() {
        assert!(InterfaceVersion::V34 > InterfaceVersion::V33);
        assert!(InterfaceVersion::V50 > InterfaceVersion::V34);
        assert_eq!(format!("{:?}", InterfaceVersion(0x34)), "3.4");
        assert_eq!(format!("{:?}", InterfaceVersion(0x7B)), "InterfaceVersion(0x7b)");
    }
}
