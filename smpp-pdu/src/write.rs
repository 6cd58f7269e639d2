//! A cursor over the exact bytes of one PDU, for encoding.
//!
//! [`Pdu::encode`](crate::Pdu::encode) sizes the destination once with the exact
//! `encoded_len`, then every field writes through this cursor: plain slice copies, with
//! no capacity check or reallocation per field.

/// Writes into a slice of exactly the encoded length.
///
/// `pos` is a count of octets within one PDU (at most a few MiB), so plain additions
/// cannot overflow.
///
/// Writes past the end are dropped rather than panicking; they cannot happen while
/// `encoded_len` agrees with the writers, which the round-trip property tests check.
#[derive(Debug)]
pub(crate) struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> Writer<'a> {
    pub(crate) fn new(buf: &'a mut [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// Octets written so far.
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    #[inline(always)]
    pub(crate) fn put_slice(&mut self, src: &[u8]) {
        let end = self.pos + src.len();
        if let Some(dst) = self.buf.get_mut(self.pos..end) {
            dst.copy_from_slice(src);
        }
        self.pos = end;
    }

    #[inline(always)]
    pub(crate) fn put_u8(&mut self, v: u8) {
        if let Some(dst) = self.buf.get_mut(self.pos) {
            *dst = v;
        }
        self.pos += 1;
    }

    #[inline(always)]
    pub(crate) fn put_u16(&mut self, v: u16) {
        self.put_array(v.to_be_bytes());
    }

    #[inline(always)]
    pub(crate) fn put_u32(&mut self, v: u32) {
        self.put_array(v.to_be_bytes());
    }

    #[inline(always)]
    fn put_array<const K: usize>(&mut self, v: [u8; K]) {
        let end = self.pos + K;
        if let Some(dst) = self.buf.get_mut(self.pos..end).and_then(|d| <&mut [u8; K]>::try_from(d).ok()) {
            *dst = v;
        }
        self.pos = end;
    }

    /// Runs `f` on a writer of its own over the rest of the buffer, then moves past
    /// what it wrote.
    ///
    /// For writers that are not inlined (a TLV's value): handing them `self` would let
    /// its address escape, and the compiler would then reload and store `pos` around
    /// every octet written, because any byte store might alias it.
    #[inline(always)]
    pub(crate) fn nested(&mut self, f: impl FnOnce(&mut Writer<'_>)) {
        let rest = self.buf.get_mut(self.pos..).unwrap_or_default();
        let mut sub = Writer::new(rest);
        f(&mut sub);
        self.pos += sub.pos;
    }

    /// Writes the first `len` octets of `window` and a NUL. When there is room, the
    /// whole fixed-size window is copied (a few vector moves, no memcpy call) and the
    /// octets past the NUL are overwritten by the fields that follow.
    #[inline(always)]
    pub(crate) fn put_c_octet<const N: usize>(&mut self, window: &[u8; N], len: usize) {
        let end = self.pos + N;
        match self.buf.get_mut(self.pos..end).and_then(|d| <&mut [u8; N]>::try_from(d).ok()) {
            Some(dst) => {
                *dst = *window;
                self.pos += len;
            }
            None => self.put_slice(window.get(..len).unwrap_or_default()),
        }
        self.put_u8(0);
    }
}

#[cfg(test)]
mod tests {
    use super::Writer;

    #[test]
    fn c_octet_at_the_end_falls_back_to_an_exact_copy() {
        let mut buf = [0xAAu8; 4];
        let mut w = Writer::new(&mut buf);
        w.put_c_octet(b"abxyzq", 2);
        w.put_u8(7);
        assert_eq!(w.position(), 4);
        assert_eq!(buf, [b'a', b'b', 0, 7]);
    }

    #[test]
    fn a_nested_writer_continues_where_the_outer_one_is() {
        let mut buf = [0u8; 7];
        let mut w = Writer::new(&mut buf);
        w.put_u8(1);
        w.nested(|sub| {
            sub.put_u16(0x0203);
            sub.put_c_octet(b"xyz", 1);
        });
        w.put_u16(0x0506);
        assert_eq!(w.position(), 7);
        assert_eq!(buf, [1, 2, 3, b'x', 0, 5, 6]);
        // Past the end, the nested writer drops its octets but still counts them, so
        // the outer position shows the overrun as the flat writer would.
        let mut short = [0u8; 2];
        let mut w = Writer::new(&mut short);
        w.put_u8(9);
        w.nested(|sub| sub.put_u32(0x0A0B_0C0D));
        assert_eq!((w.position(), short), (5, [9, 0]));
    }

    #[test]
    fn writes_past_the_end_are_dropped() {
        let mut buf = [0u8; 2];
        let mut w = Writer::new(&mut buf);
        w.put_u32(0x0102_0304);
        w.put_u8(9);
        assert_eq!(w.position(), 5);
        assert_eq!(buf, [0, 0]);
    }
}
