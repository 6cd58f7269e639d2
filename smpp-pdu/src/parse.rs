//! nom helpers and the internal [`Wire`] trait: how each field type is parsed from and
//! written to the wire. Nothing here is public; nom types never leave the crate.

use bytes::Bytes;
use nom::IResult;

use crate::error::DecodeError;
use crate::tlv::TlvTag;

/// What went wrong, and how much input was left when it did (for the offset).
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(crate) struct ParseError {
    pub(crate) kind: ErrorKind,
    pub(crate) rest: usize,
}

#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(crate) enum ErrorKind {
    Nom,
    Truncated(&'static str),
    MissingNul(&'static str),
    TooLong(&'static str, usize),
    Invalid(&'static str),
    TlvStream,
    TlvLength(TlvTag, u16),
    TlvValue(TlvTag),
    TooManyTlvs(usize),
    Trailing(usize),
    UnknownCommand(crate::CommandId),
}

impl ParseError {
    pub(crate) fn at(kind: ErrorKind, input: &[u8]) -> nom::Err<Self> {
        nom::Err::Error(Self { kind, rest: input.len() })
    }

    /// Converts to the public error; `frame_len` turns "input left" into an offset.
    pub(crate) fn into_decode_error(self, frame_len: usize) -> DecodeError {
        let offset = frame_len.saturating_sub(self.rest);
        match self.kind {
            ErrorKind::Nom => DecodeError::Truncated { field: "body", offset },
            ErrorKind::Truncated(field) => DecodeError::Truncated { field, offset },
            ErrorKind::MissingNul(field) => DecodeError::MissingNul { field, offset },
            ErrorKind::TooLong(field, max) => DecodeError::TooLong { field, max, offset },
            ErrorKind::Invalid(field) => DecodeError::InvalidValue { field, offset },
            ErrorKind::TlvStream => DecodeError::TlvStream { offset },
            ErrorKind::TlvLength(tag, len) => DecodeError::TlvLength { tag, len, offset },
            ErrorKind::TlvValue(tag) => DecodeError::TlvValue { tag, offset },
            ErrorKind::TooManyTlvs(max) => DecodeError::TooManyTlvs { max },
            ErrorKind::Trailing(len) => DecodeError::TrailingBytes { len, offset },
            ErrorKind::UnknownCommand(command_id) => DecodeError::UnknownCommand { command_id },
        }
    }
}

impl<'a> nom::error::ParseError<&'a [u8]> for ParseError {
    fn from_error_kind(input: &'a [u8], _kind: nom::error::ErrorKind) -> Self {
        Self { kind: ErrorKind::Nom, rest: input.len() }
    }

    fn append(_input: &'a [u8], _kind: nom::error::ErrorKind, other: Self) -> Self {
        other
    }
}

/// Result of a parser over a complete frame.
pub(crate) type PResult<'a, T> = IResult<&'a [u8], T, ParseError>;

/// Flattens a nom error into the parse error (`Incomplete` cannot happen with complete
/// combinators, and is treated as truncation if it ever does).
pub(crate) fn flatten(e: nom::Err<ParseError>, field: &'static str, rest: usize) -> ParseError {
    match e {
        nom::Err::Error(e) | nom::Err::Failure(e) => e,
        nom::Err::Incomplete(_) => ParseError { kind: ErrorKind::Truncated(field), rest },
    }
}

/// Decoding context: the frame, so octet fields can share it instead of copying.
#[derive(Debug)]
pub(crate) struct Cx<'f> {
    pub(crate) frame: &'f Bytes,
    /// Lenient decoding ([`Pdu::decode_lenient`](crate::Pdu::decode_lenient)): known
    /// TLVs with a bad value are kept raw.
    pub(crate) lenient: bool,
    /// Lenient decoding of a response: over-long C-octet strings are cut.
    pub(crate) cut_strings: bool,
    /// Known TLVs kept raw by lenient decoding.
    pub(crate) raw_tlvs: core::cell::RefCell<Vec<TlvTag>>,
    /// Where `short_message` lies in the frame (start, length). Set while parsing and
    /// filled in once the frame is no longer borrowed: the frame itself then becomes
    /// the field, which saves taking and dropping one reference count per PDU.
    pub(crate) short_message: core::cell::Cell<Option<(usize, usize)>>,
}

impl<'f> Cx<'f> {
    pub(crate) fn new(frame: &'f Bytes) -> Self {
        Self {
            frame,
            lenient: false,
            cut_strings: false,
            raw_tlvs: core::cell::RefCell::new(Vec::new()),
            short_message: core::cell::Cell::new(None),
        }
    }

    /// A context for lenient decoding; `cut_strings` for response bodies.
    pub(crate) fn lenient(frame: &'f Bytes, cut_strings: bool) -> Self {
        Self { lenient: true, cut_strings, ..Self::new(frame) }
    }

    /// Offset of `sub` (a slice of the frame) from the frame start.
    fn offset_of(&self, sub: &[u8]) -> usize {
        (sub.as_ptr() as usize).saturating_sub(self.frame.as_ptr() as usize)
    }

    /// A shared slice of the frame; `sub` must lie within it.
    pub(crate) fn bytes(&self, sub: &[u8]) -> Bytes {
        if sub.is_empty() { Bytes::new() } else { self.frame.slice_ref(sub) }
    }
}

/// A field type: parsed from, and written to, the wire.
///
/// Parsing writes into `self` (the caller's default value) rather than returning the
/// value: bodies are a few hundred octets, and building them in place avoids copying
/// them through every level of the parser.
pub(crate) trait Wire: Sized {
    /// Parses the field into `self`; `field` is its spec name, for errors.
    fn parse_into<'a>(&mut self, i: &'a [u8], field: &'static str, cx: &Cx<'_>) -> Result<&'a [u8], ParseError>;
    /// Octets the field takes on the wire.
    fn wire_len(&self) -> usize;
    /// Writes the field.
    fn put(&self, dst: &mut crate::write::Writer<'_>);
}

// The integer readers are written out rather than taken from `nom::number`: nom's
// generic versions are not inlined across the crate boundary here, and these run for
// every field of every PDU. They keep nom's `IResult` shape.

#[inline(always)]
pub(crate) fn parse_u8<'a>(i: &'a [u8], field: &'static str) -> PResult<'a, u8> {
    match i.split_first() {
        Some((v, rest)) => Ok((rest, *v)),
        None => Err(ParseError::at(ErrorKind::Truncated(field), i)),
    }
}

#[inline(always)]
pub(crate) fn parse_u16<'a>(i: &'a [u8], field: &'static str) -> PResult<'a, u16> {
    match i.split_first_chunk() {
        Some((v, rest)) => Ok((rest, u16::from_be_bytes(*v))),
        None => Err(ParseError::at(ErrorKind::Truncated(field), i)),
    }
}

#[inline(always)]
pub(crate) fn parse_u32<'a>(i: &'a [u8], field: &'static str) -> PResult<'a, u32> {
    match i.split_first_chunk() {
        Some((v, rest)) => Ok((rest, u32::from_be_bytes(*v))),
        None => Err(ParseError::at(ErrorKind::Truncated(field), i)),
    }
}

#[inline]
pub(crate) fn take<'a>(i: &'a [u8], n: usize, field: &'static str) -> PResult<'a, &'a [u8]> {
    match i.split_at_checked(n) {
        Some((taken, rest)) => Ok((rest, taken)),
        None => Err(ParseError::at(ErrorKind::Truncated(field), i)),
    }
}

/// Unwraps a leaf parser's nom error (complete parsers never return `Incomplete`).
#[inline]
pub(crate) fn leaf<'a, T>(r: PResult<'a, T>, field: &'static str, i: &[u8]) -> Result<(&'a [u8], T), ParseError> {
    r.map_err(|e| flatten(e, field, i.len()))
}

/// Position of the first NUL in `window`, eight octets at a time (SWAR): the classic
/// "has zero byte" test, `(x - 0x01..01) & !x & 0x80..80`, finds a chunk holding a NUL
/// and its lowest set bit gives the position. Short fields make a SIMD search's setup
/// cost more than it saves.
#[inline(always)]
pub(crate) fn find_nul(window: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let mut chunks = window.chunks_exact(8);
    let mut base = 0;
    for chunk in chunks.by_ref() {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word);
        let z = x.wrapping_sub(LO) & !x & HI;
        if z != 0 {
            // The lowest flagged byte is exact; higher flags may be false positives.
            return Some(base + (z.trailing_zeros() / 8) as usize);
        }
        base += 8;
    }
    chunks.remainder().iter().position(|b| *b == 0).map(|p| base + p)
}

/// [`find_nul`] over a window whose length is known at compile time.
#[inline(always)]
pub(crate) fn find_nul_fixed<const N: usize>(window: &[u8; N]) -> Option<usize> {
    let mut base = 0;
    for chunk in window.chunks(8) {
        // Pad a short last chunk with non-zero octets.
        let mut word = [0xFFu8; 8];
        if let Some(dst) = word.get_mut(..chunk.len()) {
            dst.copy_from_slice(chunk);
        }
        let x = u64::from_le_bytes(word);
        let z = x.wrapping_sub(0x0101_0101_0101_0101) & !x & 0x8080_8080_8080_8080;
        if z != 0 {
            return Some(base + (z.trailing_zeros() / 8) as usize);
        }
        base += 8;
    }
    None
}

/// A C-octet string of at most `max` octets including its NUL; returns the characters.
#[inline(always)]
pub(crate) fn parse_c_octet<'a>(i: &'a [u8], max: usize, field: &'static str) -> PResult<'a, &'a [u8]> {
    let window = i.get(..max).unwrap_or(i);
    match find_nul(window) {
        Some(nul) => {
            let (text, rest) = i.split_at(nul);
            Ok((rest.get(1..).unwrap_or_default(), text))
        }
        None if i.len() >= max => Err(ParseError::at(ErrorKind::TooLong(field, max), i)),
        None => Err(ParseError::at(ErrorKind::MissingNul(field), i)),
    }
}

macro_rules! wire_u8_newtype {
    ($($t:ty),*) => {$(
        impl Wire for $t {
            #[inline(always)]
            fn parse_into<'a>(&mut self, i: &'a [u8], field: &'static str, _cx: &Cx<'_>) -> Result<&'a [u8], ParseError> {
                let (i, v) = leaf(parse_u8(i, field), field, i)?;
                self.0 = v;
                Ok(i)
            }
            #[inline(always)]
            fn wire_len(&self) -> usize {
                1
            }
            #[inline(always)]
            fn put(&self, dst: &mut crate::write::Writer<'_>) {
                dst.put_u8(self.0);
            }
        }
    )*};
}

wire_u8_newtype!(
    crate::Ton,
    crate::Npi,
    crate::EsmClass,
    crate::RegisteredDelivery,
    crate::DataCoding,
    crate::PriorityFlag,
    crate::MessageState,
    crate::InterfaceVersion
);

impl Wire for u8 {
    #[inline(always)]
    fn parse_into<'a>(&mut self, i: &'a [u8], field: &'static str, _cx: &Cx<'_>) -> Result<&'a [u8], ParseError> {
        let (i, v) = leaf(parse_u8(i, field), field, i)?;
        *self = v;
        Ok(i)
    }
    #[inline(always)]
    fn wire_len(&self) -> usize {
        1
    }
    #[inline(always)]
    fn put(&self, dst: &mut crate::write::Writer<'_>) {
        dst.put_u8(*self);
    }
}

impl Wire for crate::CommandStatus {
    fn parse_into<'a>(&mut self, i: &'a [u8], field: &'static str, _cx: &Cx<'_>) -> Result<&'a [u8], ParseError> {
        let (i, v) = leaf(parse_u32(i, field), field, i)?;
        self.0 = v;
        Ok(i)
    }
    #[inline(always)]
    fn wire_len(&self) -> usize {
        4
    }
    #[inline(always)]
    fn put(&self, dst: &mut crate::write::Writer<'_>) {
        dst.put_u32(self.0);
    }
}

impl<const N: usize> crate::COctetString<N> {
    /// Lenient decoding of a string longer than its maximum: keeps the first `N - 1`
    /// characters and goes on after the NUL, if there is one.
    fn salvage<'a>(&mut self, i: &'a [u8], field: &'static str) -> Result<&'a [u8], ParseError> {
        let Some(nul) = find_nul(i) else {
            return Err(ParseError { kind: ErrorKind::MissingNul(field), rest: i.len() });
        };
        self.set_checked(i.get(..nul.min(N.saturating_sub(1))).unwrap_or_default());
        Ok(i.get(nul + 1..).unwrap_or_default())
    }
}

impl<const N: usize> Wire for crate::COctetString<N> {
    #[inline(always)]
    fn parse_into<'a>(&mut self, i: &'a [u8], field: &'static str, cx: &Cx<'_>) -> Result<&'a [u8], ParseError> {
        // Fast path: a whole window of `N` octets is there. Search it with the length
        // known at compile time (fully unrolled) and copy it as a block: a copy of the
        // exact, variable length would be a call to memcpy for every field.
        if let Some(window) = i.first_chunk::<N>() {
            return match find_nul_fixed(window) {
                Some(nul) => {
                    self.set_from_window(window, nul);
                    Ok(i.get(nul + 1..).unwrap_or_default())
                }
                None if cx.cut_strings => self.salvage(i, field),
                None => Err(ParseError { kind: ErrorKind::TooLong(field, N), rest: i.len() }),
            };
        }
        match leaf(parse_c_octet(i, N, field), field, i) {
            Ok((rest, text)) => {
                self.set_checked(text);
                Ok(rest)
            }
            Err(ParseError { kind: ErrorKind::TooLong(..), .. }) if cx.cut_strings => self.salvage(i, field),
            Err(e) => Err(e),
        }
    }
    #[inline(always)]
    fn wire_len(&self) -> usize {
        self.len() + 1
    }
    #[inline(always)]
    fn put(&self, dst: &mut crate::write::Writer<'_>) {
        self.write(dst);
    }
}

impl Wire for crate::Password {
    fn parse_into<'a>(&mut self, i: &'a [u8], field: &'static str, cx: &Cx<'_>) -> Result<&'a [u8], ParseError> {
        self.0.parse_into(i, field, cx)
    }
    #[inline(always)]
    fn wire_len(&self) -> usize {
        self.0.wire_len()
    }
    #[inline(always)]
    fn put(&self, dst: &mut crate::write::Writer<'_>) {
        self.0.put(dst);
    }
}

impl<const N: usize> Wire for crate::Address<N> {
    #[inline(always)]
    fn parse_into<'a>(&mut self, i: &'a [u8], field: &'static str, cx: &Cx<'_>) -> Result<&'a [u8], ParseError> {
        let i = self.ton.parse_into(i, field, cx)?;
        let i = self.npi.parse_into(i, field, cx)?;
        self.addr.parse_into(i, field, cx)
    }
    #[inline(always)]
    fn wire_len(&self) -> usize {
        self.wire_len()
    }
    #[inline(always)]
    fn put(&self, dst: &mut crate::write::Writer<'_>) {
        dst.put_u8(self.ton.0);
        dst.put_u8(self.npi.0);
        self.addr.put(dst);
    }
}

/// Time fields (C1|17): empty means "none", anything else must be a valid SMPP time.
impl Wire for Option<crate::SmppTime> {
    #[inline(always)]
    fn parse_into<'a>(&mut self, i: &'a [u8], field: &'static str, _cx: &Cx<'_>) -> Result<&'a [u8], ParseError> {
        // Empty (a lone NUL, as in most PDUs) is checked before the string search, which
        // then only meets non-empty times.
        if let Some((0, rest)) = i.split_first() {
            *self = None;
            return Ok(rest);
        }
        let (rest, text) = leaf(parse_c_octet(i, 17, field), field, i)?;
        match crate::SmppTime::parse(text) {
            Ok(t) => *self = Some(t),
            Err(_) => return Err(ParseError { kind: ErrorKind::Invalid(field), rest: i.len() }),
        }
        Ok(rest)
    }
    #[inline(always)]
    fn wire_len(&self) -> usize {
        if self.is_some() { 17 } else { 1 }
    }
    #[inline(always)]
    fn put(&self, dst: &mut crate::write::Writer<'_>) {
        if let Some(t) = self {
            dst.put_slice(&t.to_bytes());
        }
        dst.put_u8(0);
    }
}

/// `sm_length` followed by `short_message`.
impl Wire for crate::ShortMessage {
    #[inline(always)]
    fn parse_into<'a>(&mut self, i: &'a [u8], _field: &'static str, cx: &Cx<'_>) -> Result<&'a [u8], ParseError> {
        let (rest, len) = leaf(parse_u8(i, "sm_length"), "sm_length", i)?;
        if usize::from(len) > Self::MAX_LEN {
            return Err(ParseError { kind: ErrorKind::Invalid("sm_length"), rest: i.len() });
        }
        let (rest, sm) = leaf(take(rest, usize::from(len), "short_message"), "short_message", rest)?;
        // `self` is the caller's default (empty) value; the frame is put in place once
        // parsing is over (see `Cx::short_message`).
        cx.short_message.set(Some((cx.offset_of(sm), sm.len())));
        Ok(rest)
    }
    #[inline(always)]
    fn wire_len(&self) -> usize {
        1 + self.len()
    }
    #[inline(always)]
    fn put(&self, dst: &mut crate::write::Writer<'_>) {
        // The type bounds the length to 254.
        dst.put_u8(self.len() as u8);
        dst.put_slice(self.as_bytes());
    }
}

/// The spec name of the count that precedes a list field.
pub(crate) fn count_field(list: &str) -> &'static str {
    match list {
        "dest_addresses" => "number_of_dests",
        "unsuccess_sme" => "no_unsuccess",
        _ => "count",
    }
}

/// A list preceded by its one-octet count (`number_of_dests`, `no_unsuccess`, ...).
impl<T: Wire + Default, const MAX: usize> Wire for crate::BoundedVec<T, MAX> {
    fn parse_into<'a>(&mut self, i: &'a [u8], field: &'static str, cx: &Cx<'_>) -> Result<&'a [u8], ParseError> {
        let count_name = count_field(field);
        let (rest, count) = leaf(parse_u8(i, count_name), count_name, i)?;
        if usize::from(count) > MAX {
            return Err(ParseError { kind: ErrorKind::Invalid(count_name), rest: i.len() });
        }
        let mut i = rest;
        let mut out = Self::new();
        for _ in 0..count {
            let mut item = T::default();
            i = item.parse_into(i, field, cx)?;
            out.push_unchecked(item);
        }
        *self = out;
        Ok(i)
    }
    #[inline(always)]
    fn wire_len(&self) -> usize {
        1 + self.iter().map(Wire::wire_len).sum::<usize>()
    }
    #[inline(always)]
    fn put(&self, dst: &mut crate::write::Writer<'_>) {
        // The type bounds the count to MAX, and every MAX used is at most 255.
        dst.put_u8(self.len() as u8);
        for item in self {
            item.put(dst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_nul_matches_a_plain_scan() {
        for len in 0..40 {
            for nul in 0..=len {
                let mut v: Vec<u8> = (0..len).map(|k| 0x80 | (k as u8 + 1)).collect();
                if nul < len {
                    v[nul] = 0;
                    // A 0x01 after the NUL must not confuse the SWAR test.
                    if nul + 1 < len {
                        v[nul + 1] = 1;
                    }
                }
                assert_eq!(find_nul(&v), v.iter().position(|b| *b == 0), "len {len} nul {nul}");
            }
        }
        assert_eq!(find_nul(&[0x01, 0x01, 0x00, 0x01, 1, 1, 1, 1]), Some(2));
        let w: [u8; 21] = core::array::from_fn(|k| if k == 19 { 0 } else { 0x80 | k as u8 });
        assert_eq!(find_nul_fixed(&w), Some(19));
        assert_eq!(find_nul_fixed(&[1u8; 21]), None);
        assert_eq!(find_nul_fixed(&[0u8; 1]), Some(0));
        assert_eq!(find_nul(&[0x80, 0x01, 0x00, 0x00, 1, 1, 1, 1]), Some(2));
    }

    #[test]
    fn c_octet_boundaries() {
        // Exactly at the maximum (5 chars + NUL in a C6) is fine.
        assert_eq!(parse_c_octet(b"12345\0x", 6, "f"), Ok((&b"x"[..], &b"12345"[..])));
        // One more character is too long, even when a NUL follows later.
        assert_eq!(
            parse_c_octet(b"123456\0", 6, "f"),
            Err(nom::Err::Error(ParseError { kind: ErrorKind::TooLong("f", 6), rest: 7 }))
        );
        // No NUL before the input ends.
        assert_eq!(
            parse_c_octet(b"123", 6, "f"),
            Err(nom::Err::Error(ParseError { kind: ErrorKind::MissingNul("f"), rest: 3 }))
        );
        assert_eq!(parse_c_octet(b"\0", 1, "f"), Ok((&b""[..], &b""[..])));
    }

    #[test]
    fn short_message_overrun_names_the_field() {
        let frame = Bytes::from_static(&[3, b'a', b'b']);
        let cx = Cx::new(&frame);
        let e = crate::ShortMessage::default().parse_into(&frame, "short_message", &cx).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Truncated("short_message"));
        let frame = Bytes::from_static(&[255]);
        let cx = Cx::new(&frame);
        let e = crate::ShortMessage::default().parse_into(&frame, "short_message", &cx).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Invalid("sm_length"));
    }
}
