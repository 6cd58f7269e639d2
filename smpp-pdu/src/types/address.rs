//! Addresses: TON, NPI and a C-octet string of digits or text.

use crate::error::FieldError;
use crate::types::strings::COctetString;
use crate::types::values::{Npi, Ton};

/// An SME address: `*_addr_ton`, `*_addr_npi` and the address string (C*N*).
///
/// `N` is 21 for most PDUs and 65 for data_sm and alert_notification.
///
/// ```
/// use smpp_wire::{Address, Ton};
/// let to = Address::<21>::international("447700900123").unwrap();
/// assert_eq!(to.ton, Ton::INTERNATIONAL);
/// assert_eq!(to.addr.as_bytes(), b"447700900123");
/// ```
#[derive(Clone, Copy, Debug, Default, Eq, Hash, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Address<const N: usize = 21> {
    /// Type of number.
    pub ton: Ton,
    /// Numbering plan indicator.
    pub npi: Npi,
    /// The address itself.
    pub addr: COctetString<N>,
}

impl<const N: usize> Address<N> {
    /// An address with the given TON, NPI and text.
    pub fn new(ton: Ton, npi: Npi, addr: impl AsRef<[u8]>) -> Result<Self, FieldError> {
        Ok(Self { ton, npi, addr: COctetString::new(addr)? })
    }

    /// An international E.164 number (TON 1, NPI 1), digits without a leading `+`.
    pub fn international(digits: impl AsRef<[u8]>) -> Result<Self, FieldError> {
        let digits = digits.as_ref();
        let digits = digits.strip_prefix(b"+").unwrap_or(digits);
        Self::new(Ton::INTERNATIONAL, Npi::ISDN, digits)
    }

    /// An alphanumeric sender id (TON 5, NPI 0).
    pub fn alphanumeric(text: impl AsRef<[u8]>) -> Result<Self, FieldError> {
        Self::new(Ton::ALPHANUMERIC, Npi::UNKNOWN, text)
    }

    /// Octets on the wire.
    pub(crate) fn wire_len(&self) -> usize {
        2 + self.addr.wire_len()
    }
}
