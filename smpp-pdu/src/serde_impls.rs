//! `serde` support (feature `serde`): the code spaces as their spec names or numbers,
//! strings as text, addresses as `{ ton, npi, addr }`.
//!
//! ```
//! use smpp_wire::{Address, CommandStatus, Ton};
//! assert_eq!(serde_json::to_string(&CommandStatus::ESME_RTHROTTLED).unwrap(), r#""ESME_RTHROTTLED""#);
//! assert_eq!(serde_json::from_str::<CommandStatus>("88").unwrap(), CommandStatus::ESME_RTHROTTLED);
//! assert_eq!(serde_json::from_str::<Ton>(r#""0x01""#).unwrap(), Ton::INTERNATIONAL);
//! let to: Address = serde_json::from_str(r#"{"ton":"international","npi":"isdn","addr":"447700900123"}"#).unwrap();
//! assert_eq!(to, Address::international("447700900123").unwrap());
//! ```

use core::fmt;
use core::marker::PhantomData;

use serde::de::{Error, Unexpected, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::types::strings::COctetString;

/// Deserializes a code-space newtype over an unsigned integer `T` from a number, a
/// name `from_name` knows, or a decimal or `0x` hexadecimal number in a string.
pub(crate) fn named_number<'de, D, T, N>(
    deserializer: D,
    what: &'static str,
    from_name: fn(&str) -> Option<N>,
) -> Result<N, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<u64> + Deserialize<'de>,
    N: From<T>,
{
    if !deserializer.is_human_readable() {
        return T::deserialize(deserializer).map(N::from);
    }
    struct NamedNumber<T, N> {
        what: &'static str,
        from_name: fn(&str) -> Option<N>,
        raw: PhantomData<T>,
    }
    impl<T: TryFrom<u64>, N: From<T>> NamedNumber<T, N> {
        fn number<E: Error>(&self, v: u64, unexpected: Unexpected<'_>) -> Result<N, E> {
            T::try_from(v).map(N::from).map_err(|_| E::invalid_value(unexpected, self))
        }
    }
    impl<T: TryFrom<u64>, N: From<T>> Visitor<'_> for NamedNumber<T, N> {
        type Value = N;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "a {} as its spec name or a number", self.what)
        }
        fn visit_u64<E: Error>(self, v: u64) -> Result<N, E> {
            self.number(v, Unexpected::Unsigned(v))
        }
        fn visit_i64<E: Error>(self, v: i64) -> Result<N, E> {
            let n = u64::try_from(v).map_err(|_| E::invalid_value(Unexpected::Signed(v), &self))?;
            self.number(n, Unexpected::Signed(v))
        }
        fn visit_str<E: Error>(self, v: &str) -> Result<N, E> {
            if let Some(named) = (self.from_name)(v) {
                return Ok(named);
            }
            let parsed = match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => v.parse(),
            };
            match parsed {
                Ok(n) => self.number(n, Unexpected::Str(v)),
                Err(_) => Err(E::invalid_value(Unexpected::Str(v), &self)),
            }
        }
    }
    deserializer.deserialize_any(NamedNumber { what, from_name, raw: PhantomData::<T> })
}

/// As text when it is UTF-8 (it nearly always is: ids, addresses, names), else as
/// octets.
impl<const N: usize> Serialize for COctetString<N> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match core::str::from_utf8(self.as_bytes()) {
            Ok(text) => serializer.serialize_str(text),
            Err(_) => serializer.serialize_bytes(self.as_bytes()),
        }
    }
}

/// From text or octets (a byte string, or a sequence of numbers in formats without
/// one, as JSON writes them) that fit the field: at most `N - 1` octets, no NUL.
impl<'de, const N: usize> Deserialize<'de> for COctetString<N> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Octets<const N: usize>;
        impl<'de, const N: usize> Visitor<'de> for Octets<N> {
            type Value = COctetString<N>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a string of at most {} octets with no NUL", N.saturating_sub(1))
            }
            fn visit_str<E: Error>(self, v: &str) -> Result<Self::Value, E> {
                self.visit_bytes(v.as_bytes())
            }
            fn visit_bytes<E: Error>(self, v: &[u8]) -> Result<Self::Value, E> {
                COctetString::new(v).map_err(E::custom)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut octets = Vec::new();
                while let Some(octet) = seq.next_element::<u8>()? {
                    // Bounded: past the field's size it cannot fit anyway.
                    if octets.len() >= N {
                        return Err(A::Error::invalid_length(octets.len() + 1, &self));
                    }
                    octets.push(octet);
                }
                self.visit_bytes(&octets)
            }
        }
        if deserializer.is_human_readable() {
            deserializer.deserialize_any(Octets::<N>)
        } else {
            deserializer.deserialize_bytes(Octets::<N>)
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{Address, CommandId, CommandStatus, DataCoding, EsmClass, InterfaceVersion, MessageState, Npi, Ton};

    #[test]
    fn named_values_go_out_as_names_and_come_back() {
        for status in [CommandStatus::ESME_ROK, CommandStatus::ESME_RTHROTTLED, CommandStatus(0x401)] {
            let json = serde_json::to_string(&status).unwrap();
            assert_eq!(serde_json::from_str::<CommandStatus>(&json).unwrap(), status, "{json}");
        }
        assert_eq!(serde_json::to_string(&CommandStatus(0x401)).unwrap(), "1025");
        assert_eq!(serde_json::to_string(&InterfaceVersion::V34).unwrap(), r#""3.4""#);
        assert_eq!(serde_json::from_str::<InterfaceVersion>(r#""3.3""#).unwrap(), InterfaceVersion::V33);
        assert_eq!(serde_json::from_str::<CommandId>(r#""submit_sm""#).unwrap(), CommandId::SUBMIT_SM);
        assert_eq!(serde_json::from_str::<MessageState>(r#""delivered""#).unwrap(), MessageState::DELIVERED);
        assert_eq!(serde_json::from_str::<DataCoding>("8").unwrap(), DataCoding::UCS2);
        assert_eq!(serde_json::from_str::<Npi>(r#""0x0e""#).unwrap(), Npi::INTERNET);
    }

    /// Every spec name reads back as the value that wrote it (no two values share a
    /// name, whatever its case), so what goes out as a name comes back the same.
    #[test]
    fn every_named_value_round_trips_through_its_name() {
        use crate::{COMMANDS, PriorityFlag};
        fn check<T: Copy + PartialEq + core::fmt::Debug>(v: T, name: Option<&str>, from: fn(&str) -> Option<T>) {
            if let Some(name) = name {
                assert_eq!(from(name), Some(v), "{name}");
                assert_eq!(from(&name.to_ascii_lowercase()), Some(v), "{name} in lower case");
            }
        }
        for raw in 0..=u8::MAX {
            check(Ton(raw), Ton(raw).name(), Ton::from_name);
            check(Npi(raw), Npi(raw).name(), Npi::from_name);
            check(DataCoding(raw), DataCoding(raw).name(), DataCoding::from_name);
            check(MessageState(raw), MessageState(raw).name(), MessageState::from_name);
            check(PriorityFlag(raw), PriorityFlag(raw).name(), PriorityFlag::from_name);
            check(InterfaceVersion(raw), InterfaceVersion(raw).name(), InterfaceVersion::from_name);
        }
        for raw in (0..0x500).chain(0x1000..0x1100) {
            check(CommandStatus(raw), CommandStatus(raw).name(), CommandStatus::from_name);
        }
        for info in COMMANDS {
            check(info.id, info.id.name(), CommandId::from_name);
        }
    }

    #[test]
    fn out_of_range_and_unknown_names_are_errors_that_say_what_was_expected() {
        let e = serde_json::from_str::<Ton>("256").unwrap_err().to_string();
        assert!(e.contains("Ton as its spec name or a number"), "{e}");
        assert!(serde_json::from_str::<Ton>("-1").is_err());
        assert!(serde_json::from_str::<CommandStatus>(r#""ESME_RNOPE""#).is_err());
    }

    #[test]
    fn flags_are_numbers_and_addresses_are_checked() {
        assert_eq!(serde_json::to_string(&EsmClass(0x40)).unwrap(), "64");
        let to = Address::<21>::international("447700900123").unwrap();
        let json = serde_json::to_string(&to).unwrap();
        assert_eq!(json, r#"{"ton":"international","npi":"isdn","addr":"447700900123"}"#);
        assert_eq!(serde_json::from_str::<Address>(&json).unwrap(), to);
        let long = format!(r#"{{"ton":1,"npi":1,"addr":"{}"}}"#, "9".repeat(21));
        assert!(serde_json::from_str::<Address>(&long).is_err(), "21 digits do not fit C21");
        // Octets that are not UTF-8 go out as numbers and come back.
        let odd = crate::COctetString::<9>::new([0xff, 0x41]).unwrap();
        let json = serde_json::to_string(&odd).unwrap();
        assert_eq!(json, "[255,65]");
        assert_eq!(serde_json::from_str::<crate::COctetString<9>>(&json).unwrap(), odd);
        assert!(serde_json::from_str::<crate::COctetString<3>>("[1,2,3,4,5]").is_err());
    }
}
