//! GSM 03.38 / 23.038 default alphabet and extension table, and 7-bit packing.

/// The default alphabet, septet to character. 0x1B is the escape to the extension table.
pub(crate) const BASIC: [char; 128] = [
    '@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å', //
    'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', '\u{1B}', 'Æ', 'æ', 'ß', 'É', //
    ' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/', //
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?', //
    '¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', //
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§', //
    '¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', //
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à', //
];

/// The escape septet.
pub(crate) const ESC: u8 = 0x1B;

/// The extension table: (code after ESC, character).
pub(crate) const EXTENSION: [(u8, char); 10] = [
    (0x0A, '\u{0C}'),
    (0x14, '^'),
    (0x28, '{'),
    (0x29, '}'),
    (0x2F, '\\'),
    (0x3C, '['),
    (0x3D, '~'),
    (0x3E, ']'),
    (0x40, '|'),
    (0x65, '€'),
];

/// ASCII to septet: the default-alphabet septet, `0x80 | code` for an extension-table
/// character, or 0xFF for none. Built at compile time from the tables above.
// Indexing here runs during const evaluation: an out-of-range index fails the build.
#[allow(clippy::indexing_slicing)]
const ASCII: [u8; 128] = {
    let mut t = [0xFFu8; 128];
    let mut k = 0;
    while k < 128 {
        let c = BASIC[k] as u32;
        if c < 128 && k != ESC as usize {
            t[c as usize] = k as u8;
        }
        k += 1;
    }
    let mut e = 0;
    while e < EXTENSION.len() {
        let (code, c) = EXTENSION[e];
        if (c as u32) < 128 {
            t[c as u32 as usize] = 0x80 | code;
        }
        e += 1;
    }
    t
};

/// The septets for one character: one from the default alphabet, or ESC and one from
/// the extension table, or `None`.
pub(crate) fn encode_char(c: char) -> Option<(u8, Option<u8>)> {
    if let Some(&s) = ASCII.get(c as usize) {
        return match s {
            0xFF => None,
            s if s & 0x80 != 0 => Some((ESC, Some(s & 0x7F))),
            s => Some((s, None)),
        };
    }
    if let Some(k) = BASIC.iter().position(|b| *b == c) {
        // The table has 128 entries.
        return Some((k as u8, None));
    }
    EXTENSION.iter().find(|(_, e)| *e == c).map(|(code, _)| (ESC, Some(*code)))
}

/// Septets needed for `c` (1 or 2), or `None` if it is not in the alphabet.
pub(crate) fn septets_for(c: char) -> Option<usize> {
    encode_char(c).map(|(_, ext)| 1 + usize::from(ext.is_some()))
}

/// Decodes unpacked septets. An ESC followed by an unassigned code gives that code's
/// default-alphabet character (23.038); an ESC at the very end is dropped.
pub(crate) fn decode(septets: &[u8]) -> String {
    let mut out = String::with_capacity(septets.len());
    let mut it = septets.iter().map(|s| s & 0x7F).peekable();
    while let Some(s) = it.next() {
        if s == ESC {
            let Some(code) = it.next() else { break };
            match EXTENSION.iter().find(|(c, _)| *c == code) {
                Some((_, ch)) => out.push(*ch),
                None => out.push(BASIC.get(usize::from(code)).copied().unwrap_or('?')),
            }
        } else {
            out.push(BASIC.get(usize::from(s)).copied().unwrap_or('?'));
        }
    }
    out
}

/// Packs septets into octets (3GPP 23.038 6.1.2.1), after `fill_bits` zero bits (the
/// padding that aligns septets after a UDH).
pub fn pack(septets: &[u8], fill_bits: u8) -> Vec<u8> {
    let total_bits = usize::from(fill_bits) + septets.len() * 7;
    let mut out = vec![0u8; total_bits.div_ceil(8)];
    for (k, s) in septets.iter().enumerate() {
        let bit = usize::from(fill_bits) + k * 7;
        let (byte, shift) = (bit / 8, bit % 8);
        let v = u16::from(s & 0x7F) << shift;
        if let Some(b) = out.get_mut(byte) {
            *b |= v as u8;
        }
        if let Some(b) = out.get_mut(byte + 1) {
            *b |= (v >> 8) as u8;
        }
    }
    out
}

/// Unpacks `count` septets from octets, skipping `fill_bits` first.
pub fn unpack(octets: &[u8], count: usize, fill_bits: u8) -> Vec<u8> {
    (0..count)
        .map_while(|k| {
            let bit = usize::from(fill_bits) + k * 7;
            let (byte, shift) = (bit / 8, bit % 8);
            let lo = u16::from(*octets.get(byte)?);
            let hi = u16::from(octets.get(byte + 1).copied().unwrap_or(0));
            Some((((hi << 8 | lo) >> shift) & 0x7F) as u8)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|k| u8::from_str_radix(&s[k..k + 2], 16).unwrap()).collect()
    }

    #[test]
    fn every_basic_and_extension_character_round_trips() {
        for (k, c) in BASIC.iter().enumerate() {
            if k == usize::from(ESC) {
                continue;
            }
            assert_eq!(encode_char(*c), Some((k as u8, None)), "{c:?}");
            assert_eq!(decode(&[k as u8]), c.to_string());
        }
        for (code, c) in EXTENSION {
            assert_eq!(encode_char(c), Some((ESC, Some(code))));
            assert_eq!(decode(&[ESC, code]), c.to_string());
        }
        assert_eq!(encode_char('`'), None);
        assert_eq!(decode(&[ESC, 0x41]), "A", "unassigned extension code shows the base character");
        assert_eq!(decode(&[0x41, ESC]), "A", "trailing ESC dropped");
    }

    #[test]
    fn packing_vectors_from_the_reference() {
        let septets = |s: &str| s.chars().map(|c| encode_char(c).unwrap().0).collect::<Vec<u8>>();
        assert_eq!(pack(&septets("hellohello"), 0), hex("E8329BFD4697D9EC37"));
        assert_eq!(pack(&septets("Hello world"), 0), hex("C8329BFD06DDDF723619"));
        // After a 6-octet UDH: one fill bit.
        assert_eq!(pack(&septets("Hi"), 1), hex("9069"));
        assert_eq!(unpack(&hex("C8329BFD06DDDF723619"), 11, 0), septets("Hello world"));
        assert_eq!(unpack(&hex("9069"), 2, 1), septets("Hi"));
    }
}
