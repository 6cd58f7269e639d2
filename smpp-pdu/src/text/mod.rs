//! Message text: encodings (GSM 03.38, UCS-2, Latin-1, ASCII, binary), long messages
//! (split by UDH, SAR TLVs or message_payload; reassembled on the way in) and delivery
//! receipts. Pure functions: no I/O, no clock (times are arguments).
//!
//! ```
//! use smpp_wire::text::{self, Encoding};
//! let plan = text::plan("Hello €", None).unwrap();
//! assert_eq!((plan.encoding, plan.parts), (Encoding::Gsm7, 1));
//! assert_eq!(plan.left_in_last_part, 160 - 8); // '€' takes two septets
//! assert_eq!(text::plan("Привет", None).unwrap().encoding, Encoding::Ucs2);
//! ```

mod gsm;
mod national;
mod national_tables;
mod reassembly;
mod receipt;
mod split;

pub use gsm::{pack, unpack};
pub use national::{Language, NationalTables};
pub use reassembly::{Assembled, Expired, Fragment, Pushed, Reassembler, fragment_of};
pub use receipt::{Receipt, ReceiptDate};
pub use split::{Concatenation, Part, References, split};

use crate::{Alphabet, DataCoding};

/// A text encoding SMPP can carry.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub enum Encoding {
    /// GSM 03.38 default alphabet with the extension table, unpacked (one septet per
    /// octet, as SMPP usually carries it); data_coding 0.
    Gsm7,
    /// UCS-2 / UTF-16BE, surrogate pairs included; data_coding 8.
    Ucs2,
    /// ISO-8859-1; data_coding 3.
    Latin1,
    /// IA5 / ASCII; data_coding 1.
    Ascii,
    /// 8-bit binary; data_coding 4 (the text is taken as UTF-8 octets).
    Binary,
    /// GSM 7-bit with national language shift tables (3GPP TS 23.038 Annex A); every
    /// part carries the UDH indicators of its tables.
    Gsm7National(NationalTables),
}

/// The encoding in words, as a person reads it: "GSM 7-bit", "UCS-2", ...
///
/// ```
/// use smpp_wire::text::Encoding;
/// assert_eq!(Encoding::Gsm7.to_string(), "GSM 7-bit");
/// assert_eq!(Encoding::Ucs2.to_string(), "UCS-2");
/// ```
impl core::fmt::Display for Encoding {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::Gsm7 => "GSM 7-bit",
            Self::Ucs2 => "UCS-2",
            Self::Latin1 => "Latin-1",
            Self::Ascii => "ASCII (IA5)",
            Self::Binary => "8-bit binary",
            Self::Gsm7National(_) => "GSM 7-bit with national language tables",
        })
    }
}

impl Encoding {
    /// The data_coding value for this encoding.
    pub const fn data_coding(self) -> DataCoding {
        match self {
            Self::Gsm7 | Self::Gsm7National(_) => DataCoding::MC_DEFAULT,
            Self::Ucs2 => DataCoding::UCS2,
            Self::Latin1 => DataCoding::LATIN1,
            Self::Ascii => DataCoding::IA5,
            Self::Binary => DataCoding::OCTET_UNSPECIFIED,
        }
    }

    /// Octets one "unit" takes (a septet, a UTF-16 unit, an octet).
    pub(crate) const fn unit_octets(self) -> usize {
        match self {
            Self::Ucs2 => 2,
            _ => 1,
        }
    }
}

/// What to do with a character the encoding cannot represent.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub enum Unrepresentable {
    /// Fail with [`EncodeError`] naming it.
    #[default]
    Error,
    /// Put this character instead (it must itself be representable).
    Replace(char),
}

/// A character the encoding cannot represent.
#[derive(Clone, Copy, Debug, Eq, PartialEq, thiserror::Error)]
#[error("{ch:?} at position {position} cannot be encoded as {encoding:?}")]
pub struct EncodeError {
    /// The character.
    pub ch: char,
    /// Its position in the text, in characters.
    pub position: usize,
    /// The encoding asked for.
    pub encoding: Encoding,
}

/// Encodes `text`. GSM 7-bit comes out unpacked (see [`pack`] for the packed form).
///
/// ```
/// use smpp_wire::text::{encode, Encoding, Unrepresentable};
/// assert_eq!(encode("a€", Encoding::Gsm7, Unrepresentable::Error).unwrap(), [0x61, 0x1B, 0x65]);
/// assert_eq!(encode("😀", Encoding::Ucs2, Unrepresentable::Error).unwrap(), [0xD8, 0x3D, 0xDE, 0x00]);
/// let e = encode("a😀", Encoding::Gsm7, Unrepresentable::Error).unwrap_err();
/// assert_eq!((e.ch, e.position), ('😀', 1));
/// assert_eq!(encode("a😀", Encoding::Gsm7, Unrepresentable::Replace('?')).unwrap(), b"a?");
/// ```
pub fn encode(text: &str, encoding: Encoding, policy: Unrepresentable) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::with_capacity(text.len() * encoding.unit_octets());
    for (position, ch) in text.chars().enumerate() {
        if !encode_char(ch, encoding, &mut out) {
            let Unrepresentable::Replace(r) = policy else {
                return Err(EncodeError { ch, position, encoding });
            };
            if !encode_char(r, encoding, &mut out) {
                return Err(EncodeError { ch: r, position, encoding });
            }
        }
    }
    Ok(out)
}

/// Appends one character; false if the encoding cannot represent it.
fn encode_char(ch: char, encoding: Encoding, out: &mut Vec<u8>) -> bool {
    match encoding {
        Encoding::Gsm7 => match gsm::encode_char(ch) {
            Some((s, ext)) => {
                out.push(s);
                out.extend(ext);
                true
            }
            None => false,
        },
        Encoding::Ucs2 => {
            let mut units = [0u16; 2];
            for u in ch.encode_utf16(&mut units) {
                out.extend_from_slice(&u.to_be_bytes());
            }
            true
        }
        Encoding::Latin1 => match u8::try_from(u32::from(ch)) {
            Ok(b) => {
                out.push(b);
                true
            }
            Err(_) => false,
        },
        Encoding::Ascii => {
            if ch.is_ascii() {
                // ASCII characters are below 0x80.
                out.push(ch as u8);
                true
            } else {
                false
            }
        }
        Encoding::Binary => {
            let mut buf = [0u8; 4];
            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
            true
        }
        Encoding::Gsm7National(tables) => match tables.encode_char(ch) {
            Some((s, ext)) => {
                out.push(s);
                out.extend(ext);
                true
            }
            None => false,
        },
    }
}

/// Message octets read by their data_coding.
#[non_exhaustive]
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum Decoded {
    /// Text in a known alphabet.
    Text(String),
    /// 8-bit binary data, or a data_coding this module does not read: the octets and
    /// the code, never guessed.
    Raw {
        /// The data_coding.
        data_coding: DataCoding,
        /// The octets.
        octets: Vec<u8>,
    },
}

/// Decodes message octets (unpacked GSM for the GSM alphabets) by `data_coding`.
///
/// ```
/// use smpp_wire::text::{decode, Decoded};
/// use smpp_wire::DataCoding;
/// assert_eq!(decode(DataCoding::UCS2, &[0x04, 0x1F]), Decoded::Text("П".into()));
/// assert!(matches!(decode(DataCoding(0x06), b"xyz"), Decoded::Raw { .. }));
/// ```
pub fn decode(data_coding: DataCoding, octets: &[u8]) -> Decoded {
    match data_coding.alphabet() {
        Alphabet::Gsm7 => Decoded::Text(gsm::decode(octets)),
        Alphabet::Ucs2 => Decoded::Text(decode_ucs2(octets)),
        Alphabet::Latin1 => Decoded::Text(octets.iter().map(|b| char::from(*b)).collect()),
        Alphabet::Ascii => Decoded::Text(octets.iter().map(|b| char::from(b & 0x7F)).collect()),
        _ => Decoded::Raw { data_coding, octets: octets.to_vec() },
    }
}

/// UTF-16BE to text; an odd last octet or an unpaired surrogate becomes U+FFFD.
fn decode_ucs2(octets: &[u8]) -> String {
    let units = octets.chunks(2).map(|c| match c {
        [a, b] => u16::from_be_bytes([*a, *b]),
        _ => 0xFFFD,
    });
    char::decode_utf16(units).map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER)).collect()
}

/// Units (septets for GSM, UTF-16 units for UCS-2, octets otherwise) `text` takes.
pub(crate) fn units(text: &str, encoding: Encoding) -> Option<usize> {
    match encoding {
        Encoding::Gsm7 => text.chars().map(gsm::septets_for).sum(),
        Encoding::Ucs2 => Some(text.encode_utf16().count()),
        Encoding::Latin1 => text.chars().all(|c| u32::from(c) < 256).then(|| text.chars().count()),
        Encoding::Ascii => text.is_ascii().then_some(text.len()),
        Encoding::Binary => Some(text.len()),
        Encoding::Gsm7National(t) => {
            text.chars().map(|c| t.encode_char(c).map(|(_, ext)| 1 + usize::from(ext.is_some()))).sum()
        }
    }
}

/// Decodes a short_message that may start with a UDH (when `esm_class` has UDHI): the
/// UDH is skipped, and national language tables it announces are used.
///
/// ```
/// use smpp_wire::text::{decode_message, split, Concatenation, Decoded, Encoding, Language, NationalTables};
/// let tr = Encoding::Gsm7National(NationalTables::new(Some(Language::Turkish), Some(Language::Turkish)));
/// let parts = split("Iğdır'da güneş", tr, Concatenation::Udh8, 1).unwrap();
/// let p = &parts[0];
/// assert_eq!(decode_message(tr.data_coding(), p.esm_class, p.short_message.as_bytes()), Decoded::Text("Iğdır'da güneş".into()));
/// ```
pub fn decode_message(data_coding: DataCoding, esm_class: crate::EsmClass, short_message: &[u8]) -> Decoded {
    if !esm_class.udhi() {
        return decode(data_coding, short_message);
    }
    let udhl = short_message.first().map_or(0, |l| usize::from(*l));
    let udh = short_message.get(1..1 + udhl).unwrap_or_default();
    let body = short_message.get(1 + udhl..).unwrap_or_default();
    decode_with(data_coding, body, NationalTables::from_udh(udh))
}

/// Decodes message octets by data_coding, reading GSM 7-bit with the given tables.
pub fn decode_with(data_coding: DataCoding, octets: &[u8], tables: NationalTables) -> Decoded {
    match data_coding.alphabet() {
        Alphabet::Gsm7 if tables != NationalTables::default() => Decoded::Text(tables.decode(octets)),
        _ => decode(data_coding, octets),
    }
}

/// The automatic choice: GSM 7-bit if every character fits, otherwise UCS-2.
pub fn choose(text: &str) -> Encoding {
    if text.chars().all(|c| gsm::septets_for(c).is_some()) { Encoding::Gsm7 } else { Encoding::Ucs2 }
}

/// What sending a text will take, known before sending.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct Plan {
    /// The encoding.
    pub encoding: Encoding,
    /// How many SMS parts (with an 8-bit reference UDH when more than one).
    pub parts: usize,
    /// Units (septets, UTF-16 units or octets) still free in the last part.
    pub left_in_last_part: usize,
}

/// Plans a text: the encoding (`None` chooses automatically), the part count and the
/// room left in the last part. Fails if the text does not fit the chosen encoding.
pub fn plan(text: &str, encoding: Option<Encoding>) -> Result<Plan, EncodeError> {
    let encoding = encoding.unwrap_or_else(|| choose(text));
    if units(text, encoding).is_none() {
        // Name the first offending character.
        encode(text, encoding, Unrepresentable::Error)?;
    }
    let parts = split::split_units(text, encoding, split::part_capacity(encoding, Concatenation::Udh8));
    let single = split::single_capacity(encoding);
    let total = units(text, encoding).unwrap_or(0);
    if total <= single {
        return Ok(Plan { encoding, parts: 1, left_in_last_part: single - total });
    }
    let per_part = split::part_capacity(encoding, Concatenation::Udh8);
    let last = parts.last().map_or(0, |p| units(p, encoding).unwrap_or(0));
    Ok(Plan { encoding, parts: parts.len(), left_in_last_part: per_part.saturating_sub(last) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_count_septets_escapes_and_surrogates() {
        let p = plan(&"a".repeat(160), None).unwrap();
        assert_eq!((p.encoding, p.parts, p.left_in_last_part), (Encoding::Gsm7, 1, 0));
        let p = plan(&"a".repeat(161), None).unwrap();
        assert_eq!((p.parts, p.left_in_last_part), (2, 153 - 8));
        let p = plan(&"€".repeat(80), None).unwrap();
        assert_eq!((p.parts, p.left_in_last_part), (1, 0));
        let p = plan(&"я".repeat(70), None).unwrap();
        assert_eq!((p.encoding, p.parts), (Encoding::Ucs2, 1));
        let p = plan(&"я".repeat(71), None).unwrap();
        assert_eq!((p.parts, p.left_in_last_part), (2, 67 - 4));
        let p = plan(&"😀".repeat(35), None).unwrap();
        assert_eq!((p.parts, p.left_in_last_part), (1, 0), "each emoji is two UTF-16 units");
        assert!(plan("😀", Some(Encoding::Gsm7)).is_err());
    }

    #[test]
    fn latin1_ascii_and_binary() {
        assert_eq!(encode("é", Encoding::Latin1, Unrepresentable::Error).unwrap(), [0xE9]);
        assert!(encode("€", Encoding::Latin1, Unrepresentable::Error).is_err());
        assert!(encode("é", Encoding::Ascii, Unrepresentable::Error).is_err());
        assert_eq!(decode(DataCoding::LATIN1, &[0xE9]), Decoded::Text("é".into()));
        assert_eq!(decode(DataCoding::IA5, b"hi"), Decoded::Text("hi".into()));
        assert_eq!(
            decode(DataCoding::OCTET_UNSPECIFIED, &[1, 2]),
            Decoded::Raw { data_coding: DataCoding::OCTET_UNSPECIFIED, octets: vec![1, 2] }
        );
        assert_eq!(decode(DataCoding::UCS2, &[0xD8, 0x3D]), Decoded::Text("\u{FFFD}".into()));
    }
}
