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
    /// Filed: the number a submit_sm_resp id spells read as decimal. Looked up: the
    /// number a receipt's id spells read as hexadecimal (an SMSC that answers in
    /// decimal and writes receipts in hexadecimal).
    Decimal(u128),
    /// Filed: the number a submit_sm_resp id spells read as hexadecimal. Looked
    /// up: the number a receipt's id spells read as decimal (an SMSC that answers in
    /// hexadecimal and writes receipts in decimal).
    Hex(u128),
    /// The first 10 characters (of the trimmed, lowercase id): receipts in the
    /// appendix B format cut longer ids to the 10 characters of `id:`.
    Cut(String),
}

impl IdKey {
    /// Whether this is the id as given (text), not a looser form.
    pub fn is_exact(&self) -> bool {
        matches!(self, Self::Text(_))
    }
}

/// The key as text, for a store: `t:` text, `d:`/`h:` the number of a decimal or
/// hexadecimal reading, `c:` cut.
impl std::fmt::Display for IdKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Text(t) => write!(f, "t:{t}"),
            Self::Decimal(n) => write!(f, "d:{n}"),
            Self::Hex(n) => write!(f, "h:{n}"),
            Self::Cut(c) => write!(f, "c:{c}"),
        }
    }
}

/// The receipt format's `id:` field holds this many characters.
const CUT: usize = 10;

/// The keys to file an upstream's submit_sm_resp id under: its text without case
/// or leading zeros; the number it spells read as decimal and, if it is valid
/// hexadecimal, read as hexadecimal; and, for an id longer than 10 characters, its
/// first 10 (for a receipt that cuts it). Empty for an empty id.
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
    keys(id, false)
}

/// The keys to look a receipt's id up by: its text, first (the id as given); the
/// number it spells read as decimal, as a key for a submit answered in hexadecimal,
/// and read as hexadecimal, as a key for one answered in decimal (an SMSC writes
/// both the same way, or converts one way); and, for an id of exactly 10
/// characters (which may be a longer one, cut), its cut form, so two long ids that
/// begin alike never match.
///
/// The same digits can be two different ids read two ways (`17` read as
/// hexadecimal is 23): a caller who finds the text and a looser key pointing to
/// two different messages has an ambiguity to settle, not a match.
pub fn lookup_keys(id: &str) -> Vec<IdKey> {
    keys(id, true)
}

fn keys(id: &str, lookup: bool) -> Vec<IdKey> {
    let lower = id.trim().to_ascii_lowercase();
    if lower.is_empty() {
        return Vec::new();
    }
    let unpadded = lower.trim_start_matches('0');
    let text = if unpadded.is_empty() { "0" } else { unpadded };
    let mut keys = vec![IdKey::Text(text.to_owned())];
    let decimal = lower.bytes().all(|b| b.is_ascii_digit()).then(|| text.parse::<u128>().ok()).flatten();
    let hex = lower.bytes().all(|b| b.is_ascii_hexdigit()).then(|| u128::from_str_radix(text, 16).ok()).flatten();
    // Filed by what the answer spells; looked up crosswise (a decimal reading of the
    // receipt finds a hexadecimal reading of the answer, and the other way).
    if let Some(n) = decimal {
        keys.push(if lookup { IdKey::Hex(n) } else { IdKey::Decimal(n) });
    }
    if let Some(n) = hex {
        keys.push(if lookup { IdKey::Decimal(n) } else { IdKey::Hex(n) });
    }
    let chars = lower.chars().count();
    if (lookup && chars == CUT) || (!lookup && chars > CUT) {
        keys.push(IdKey::Cut(lower.chars().take(CUT).collect()));
    }
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
    fn the_same_digits_read_two_ways_are_two_keys() {
        // 17 read as hexadecimal is 23: a receipt "23" from an SMSC that converts
        // finds the answer "17" by a looser key, and the answer "23" by its text.
        let receipt = lookup_keys("23");
        assert!(receipt.contains(&IdKey::Text("23".into())) && receipt.first().is_some_and(IdKey::is_exact));
        assert!(receipt.contains(&IdKey::Hex(23)), "for an answer in hex whose number is 23");
        assert!(file_keys("17").contains(&IdKey::Hex(23)));
        assert!(!file_keys("23").contains(&IdKey::Hex(23)), "23 read as hex is 35");
        assert_eq!(file_keys("23").iter().filter(|k| receipt.contains(k)).count(), 1, "only by its text");
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
