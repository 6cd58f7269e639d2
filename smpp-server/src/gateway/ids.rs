//! Matching an upstream's message ids across the forms SMSCs give them.
//!
//! An SMSC's submit_sm_resp and its receipt often disagree on how an id is
//! written: hexadecimal in one and decimal in the other, padded with zeros, upper
//! or lower case, or cut to the 10 characters of the receipt format's `id:` field.
//! [`file_keys`] gives the keys a submit's id is filed under and [`lookup_keys`]
//! those a receipt's id is looked up by: any two forms of one id share a key.

/// One form of an id to file or look up by. Two ids match when they share a key.
#[derive(Clone, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
pub enum IdKey {
    /// The id as text: trimmed, lowercase, leading zeros removed (`"0"` stays).
    Text(String),
    /// The number the id spells, read as decimal or as hexadecimal.
    Number(u128),
    /// The first 10 characters (of the trimmed, lowercase id): receipts in the
    /// appendix B format cut longer ids to the 10 characters of `id:`.
    Cut(String),
}

/// The key as text, for a store: `t:` text, `n:` number (decimal), `c:` cut.
impl std::fmt::Display for IdKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Text(t) => write!(f, "t:{t}"),
            Self::Number(n) => write!(f, "n:{n}"),
            Self::Cut(c) => write!(f, "c:{c}"),
        }
    }
}

/// The receipt format's `id:` field holds this many characters.
const CUT: usize = 10;

/// The keys to file an upstream's submit_sm_resp id under: its text without case
/// or leading zeros; the number it spells in decimal and, if it is valid
/// hexadecimal, in hexadecimal; and, for an id longer than 10 characters, its first
/// 10 (for a receipt that cuts it). Empty for an empty id.
///
/// ```
/// use smpp_server::gateway::{file_keys, lookup_keys};
/// // 0x1A2B3C is 1715004: a submit_sm_resp in hex, its receipt in decimal.
/// let filed = file_keys("001A2B3C");
/// assert!(lookup_keys("1715004").iter().any(|k| filed.contains(k)));
/// // Unrelated ids share no key.
/// assert!(!lookup_keys("43").iter().any(|k| file_keys("42").contains(k)));
/// ```
pub fn file_keys(id: &str) -> Vec<IdKey> {
    keys(id, |len| len > CUT)
}

/// The keys to look a receipt's id up by: as [`file_keys`], except that only an id
/// of exactly 10 characters (which may be a longer one, cut) is also looked up as a
/// cut one, so two long ids that begin alike never match.
pub fn lookup_keys(id: &str) -> Vec<IdKey> {
    keys(id, |len| len == CUT)
}

fn keys(id: &str, cut: impl Fn(usize) -> bool) -> Vec<IdKey> {
    let lower = id.trim().to_ascii_lowercase();
    if lower.is_empty() {
        return Vec::new();
    }
    let unpadded = lower.trim_start_matches('0');
    let text = if unpadded.is_empty() { "0" } else { unpadded };
    let mut keys = vec![IdKey::Text(text.to_owned())];
    if lower.bytes().all(|b| b.is_ascii_digit())
        && let Ok(n) = text.parse::<u128>()
    {
        keys.push(IdKey::Number(n));
    }
    if lower.bytes().all(|b| b.is_ascii_hexdigit())
        && let Ok(n) = u128::from_str_radix(text, 16)
    {
        keys.push(IdKey::Number(n));
    }
    if cut(lower.chars().count()) {
        keys.push(IdKey::Cut(lower.chars().take(CUT).collect()));
    }
    keys.dedup();
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether a receipt carrying `receipt` finds the submit answered `resp`.
    fn share(resp: &str, receipt: &str) -> bool {
        let filed = file_keys(resp);
        lookup_keys(receipt).iter().any(|k| filed.contains(k))
    }

    #[test]
    fn the_forms_smscs_use_for_one_id_match() {
        assert!(share("1A2B3C", "1715004"), "hex resp, decimal receipt");
        assert!(share("1715004", "1a2b3c"), "decimal resp, hex receipt");
        assert!(share("0000000042", "42"), "zero padded");
        assert!(share("AbCdEf", "abcdef"), "case");
        assert!(share(" 42 ", "42"), "spaces");
        assert!(share("f47ac10b-58cc-4372-a567-0e02b2c3d479", "f47ac10b-5"), "cut to 10 characters");
        assert!(share("0", "00000"), "zero");
    }

    #[test]
    fn different_ids_do_not_match() {
        assert!(!share("42", "43"));
        assert!(!share("12345678901", "12345678902"), "equal only in their first 10, the longer forms differ");
        assert!(!share("abc", "abd"));
        assert!(file_keys("").is_empty() && lookup_keys("  ").is_empty());
        assert!(!share("f47ac10b-58cc", "f47ac10b-59dd"), "two long ids alike in their first 10");
        // Too long to be a number: still matched as text.
        let big = "f".repeat(40);
        assert!(share(&big, &big.to_uppercase()));
    }
}
