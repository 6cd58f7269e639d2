//! Bounded string and octet fields: C-octet strings, octet strings, passwords, bounded lists.

use bytes::Bytes;

use crate::error::FieldError;

/// A C-octet string field of at most `N` octets on the wire, NUL included (the spec's
/// "C*N*"), so at most `N - 1` characters.
///
/// Stored inline: these fields are at most a few dozen octets, and copying them is
/// cheaper than taking a reference count on the frame (see ADR 0004). The contents are
/// octets, not necessarily UTF-8; [`as_str`](Self::as_str) checks.
///
/// ```
/// use smpp_wire::COctetString;
/// let id = COctetString::<16>::new("smppclient1").unwrap();
/// assert_eq!(id.as_bytes(), b"smppclient1");
/// assert!(COctetString::<9>::new("ninechars").is_err()); // 9 chars + NUL > 9
/// ```
#[derive(Clone, Copy)]
pub struct COctetString<const N: usize> {
    len: u8,
    buf: [u8; N],
}

impl<const N: usize> COctetString<N> {
    /// The most characters the field holds (`N - 1`).
    pub const MAX_LEN: usize = N - 1;

    /// The empty string (a lone NUL on the wire).
    pub const EMPTY: Self = Self { len: 0, buf: [0; N] };

    /// A field holding `value`, which must have no NUL and at most `N - 1` octets.
    pub fn new(value: impl AsRef<[u8]>) -> Result<Self, FieldError> {
        let value = value.as_ref();
        if value.len() > Self::MAX_LEN {
            return Err(FieldError::TooLong { max: Self::MAX_LEN, len: value.len() });
        }
        if value.contains(&0) {
            return Err(FieldError::InteriorNul);
        }
        Ok(Self::from_checked(value))
    }

    /// Builds the field from octets already known to fit and to hold no NUL.
    pub(crate) fn from_checked(value: &[u8]) -> Self {
        let mut out = Self::EMPTY;
        out.set_checked(value);
        out
    }

    /// Sets the field to octets already known to fit and to hold no NUL.
    #[inline(always)]
    pub(crate) fn set_checked(&mut self, value: &[u8]) {
        if let Some(dst) = self.buf.get_mut(..value.len()) {
            dst.copy_from_slice(value);
            // `value.len() <= N - 1`, and every `N` used in this crate is below 256.
            self.len = value.len() as u8;
        }
    }

    /// Sets the field from a window of `N` input octets whose first `len` octets are
    /// the characters (`len < N`, and no NUL among them). Octets past `len` are kept in
    /// the buffer but never read: equality, hashing and output use `as_bytes`.
    #[inline(always)]
    pub(crate) fn set_from_window(&mut self, window: &[u8; N], len: usize) {
        self.buf = *window;
        // `len < N`, and every `N` used in this crate is below 256.
        self.len = len as u8;
    }

    /// The characters, without the NUL.
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(..usize::from(self.len)).unwrap_or_default()
    }

    /// The characters as UTF-8, or `None` if they are not valid UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        core::str::from_utf8(self.as_bytes()).ok()
    }

    /// Number of characters (NUL excluded).
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Whether the string is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Writes the characters and the NUL.
    #[inline(always)]
    pub(crate) fn write(&self, w: &mut crate::write::Writer<'_>) {
        w.put_c_octet(&self.buf, usize::from(self.len));
    }

    /// Octets on the wire: the characters and the NUL.
    pub(crate) fn wire_len(&self) -> usize {
        usize::from(self.len) + 1
    }
}

impl<const N: usize> Default for COctetString<N> {
    fn default() -> Self {
        Self::EMPTY
    }
}

impl<const N: usize> PartialEq for COctetString<N> {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl<const N: usize> Eq for COctetString<N> {}

impl<const N: usize> core::hash::Hash for COctetString<N> {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl<const N: usize> PartialOrd for COctetString<N> {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl<const N: usize> Ord for COctetString<N> {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl<const N: usize> core::fmt::Debug for COctetString<N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "\"{}\"", self.as_bytes().escape_ascii())
    }
}

impl<const N: usize> core::fmt::Display for COctetString<N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}", self.as_bytes().escape_ascii())
    }
}

impl<const N: usize> TryFrom<&str> for COctetString<N> {
    type Error = FieldError;
    fn try_from(value: &str) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl<const N: usize> core::str::FromStr for COctetString<N> {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

/// The `password` of a bind or outbind (C9). Debug never shows it.
///
/// ```
/// use smpp_wire::Password;
/// let p = Password::new("secret").unwrap();
/// assert_eq!(format!("{p:?}"), "***");
/// assert_eq!(p.expose(), b"secret");
/// ```
#[derive(Clone, Copy, Default, Eq, Hash, PartialEq)]
pub struct Password(pub(crate) COctetString<9>);

impl Password {
    /// A password of at most 8 octets without NUL.
    pub fn new(value: impl AsRef<[u8]>) -> Result<Self, FieldError> {
        COctetString::new(value).map(Self)
    }

    /// The password octets. Named so that reading it is a visible act.
    pub fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl core::fmt::Debug for Password {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("***")
    }
}

/// An octet string of at most `MAX` octets (short_message, TLV values), sharing the
/// frame it was decoded from.
///
/// ```
/// use smpp_wire::OctetString;
/// let text = OctetString::<254>::new(&b"Hello"[..]).unwrap();
/// assert_eq!(text.as_bytes(), b"Hello");
/// assert!(OctetString::<2>::new(&b"abc"[..]).is_err());
/// ```
#[derive(Clone, Default, Eq, Hash, Ord, PartialEq, PartialOrd)]
pub struct OctetString<const MAX: usize>(Bytes);

impl<const MAX: usize> OctetString<MAX> {
    /// The most octets the field holds.
    pub const MAX_LEN: usize = MAX;

    /// An octet string of at most `MAX` octets.
    pub fn new(value: impl Into<Bytes>) -> Result<Self, FieldError> {
        let value = value.into();
        if value.len() > MAX {
            return Err(FieldError::TooLong { max: MAX, len: value.len() });
        }
        Ok(Self(value))
    }

    /// Wraps octets already known to fit.
    pub(crate) fn from_checked(value: Bytes) -> Self {
        Self(value)
    }

    /// The octets.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The octets as a shared buffer (no copy).
    pub fn to_bytes(&self) -> Bytes {
        self.0.clone()
    }

    /// Takes the octets out.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// Number of octets.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no octets.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<const MAX: usize> core::fmt::Debug for OctetString<MAX> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "b\"{}\"", self.0.escape_ascii())
    }
}

/// The `short_message` field: at most 254 octets (sm_length is computed from it).
pub type ShortMessage = OctetString<254>;

/// A list of at most `MAX` items, for counted lists on the wire (`number_of_dests`,
/// `no_unsuccess`, ...), so the count always fits its one-octet field.
#[derive(Clone, Debug, Eq, Hash, PartialEq)]
pub struct BoundedVec<T, const MAX: usize>(Vec<T>);

impl<T, const MAX: usize> BoundedVec<T, MAX> {
    /// The most items the list holds.
    pub const MAX_LEN: usize = MAX;

    /// An empty list.
    pub const fn new() -> Self {
        Self(Vec::new())
    }

    /// A list of the given items, if there are at most `MAX`.
    pub fn from_vec(items: Vec<T>) -> Result<Self, FieldError> {
        if items.len() > MAX {
            return Err(FieldError::TooMany { max: MAX, len: items.len() });
        }
        Ok(Self(items))
    }

    /// Appends an item, if there is room.
    pub fn try_push(&mut self, item: T) -> Result<(), FieldError> {
        if self.0.len() >= MAX {
            return Err(FieldError::TooMany { max: MAX, len: self.0.len() + 1 });
        }
        self.0.push(item);
        Ok(())
    }

    /// The items.
    pub fn as_slice(&self) -> &[T] {
        &self.0
    }

    /// Takes the items out.
    pub fn into_vec(self) -> Vec<T> {
        self.0
    }

    pub(crate) fn push_unchecked(&mut self, item: T) {
        self.0.push(item);
    }
}

impl<T, const MAX: usize> Default for BoundedVec<T, MAX> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, const MAX: usize> core::ops::Deref for BoundedVec<T, MAX> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.0
    }
}

impl<'a, T, const MAX: usize> IntoIterator for &'a BoundedVec<T, MAX> {
    type Item = &'a T;
    type IntoIter = core::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_octet_string_limits() {
        assert_eq!(COctetString::<6>::new("12345").unwrap().len(), 5);
        assert_eq!(COctetString::<6>::new("123456"), Err(FieldError::TooLong { max: 5, len: 6 }));
        assert_eq!(COctetString::<6>::new(b"a\0b"), Err(FieldError::InteriorNul));
        assert_eq!(COctetString::<6>::new("ab"), COctetString::<6>::new("ab"));
        assert_ne!(COctetString::<6>::new("ab"), COctetString::<6>::new("abc"));
        assert_eq!(format!("{:?}", COctetString::<6>::new(b"a\x01").unwrap()), "\"a\\x01\"");
    }

    #[test]
    fn bounded_vec_refuses_past_max() {
        let mut v = BoundedVec::<u8, 2>::new();
        v.try_push(1).unwrap();
        v.try_push(2).unwrap();
        assert_eq!(v.try_push(3), Err(FieldError::TooMany { max: 2, len: 3 }));
        assert!(BoundedVec::<u8, 1>::from_vec(vec![1, 2]).is_err());
    }
}
