//! National language shift tables (3GPP TS 23.038 Annex A): Turkish, Spanish,
//! Portuguese and the Indian languages, with the UDH indicators that announce them
//! (IEI 0x24 single shift, IEI 0x25 locking shift).

use super::gsm::ESC;
use super::national_tables::{LOCKING, SINGLE_SHIFT};

/// A national language, by its 3GPP national language identifier.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub enum Language {
    /// 1.
    Turkish,
    /// 2 (single shift table only).
    Spanish,
    /// 3.
    Portuguese,
    /// 4 (Bengali and Assamese).
    Bengali,
    /// 5.
    Gujarati,
    /// 6.
    Hindi,
    /// 7.
    Kannada,
    /// 8.
    Malayalam,
    /// 9.
    Oriya,
    /// 10.
    Punjabi,
    /// 11.
    Tamil,
    /// 12.
    Telugu,
    /// 13.
    Urdu,
}

const ALL: [Language; 13] = [
    Language::Turkish,
    Language::Spanish,
    Language::Portuguese,
    Language::Bengali,
    Language::Gujarati,
    Language::Hindi,
    Language::Kannada,
    Language::Malayalam,
    Language::Oriya,
    Language::Punjabi,
    Language::Tamil,
    Language::Telugu,
    Language::Urdu,
];

impl Language {
    /// The national language identifier (1–13).
    pub fn id(self) -> u8 {
        // `ALL` lists the 13 languages in identifier order.
        ALL.iter().position(|l| *l == self).map_or(0, |k| k as u8 + 1)
    }

    /// The language with this identifier.
    pub fn from_id(id: u8) -> Option<Self> {
        ALL.get(usize::from(id).checked_sub(1)?).copied()
    }

    /// Whether the language has a locking shift table (Spanish has only a single shift).
    pub fn has_locking_shift(self) -> bool {
        LOCKING.get(usize::from(self.id())).is_some_and(Option::is_some)
    }
}

/// Which tables a GSM 7-bit text uses: a locking shift table instead of the default
/// alphabet, and a single shift table instead of the default extension table.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, Eq, Hash, PartialEq)]
pub struct NationalTables {
    /// Locking shift language (`None`: the default alphabet).
    pub locking: Option<Language>,
    /// Single shift language (`None`: the default extension table).
    pub single_shift: Option<Language>,
}

impl NationalTables {
    /// The given tables.
    pub fn new(locking: Option<Language>, single_shift: Option<Language>) -> Self {
        Self { locking, single_shift }
    }

    fn locking_table(&self) -> &'static [char; 128] {
        let id = self.locking.map_or(0, Language::id);
        match LOCKING.get(usize::from(id)).and_then(Option::as_ref) {
            Some(t) => t,
            None => LOCKING.first().and_then(Option::as_ref).unwrap_or(&super::gsm::BASIC),
        }
    }

    fn shift_table(&self) -> &'static [(u8, char)] {
        let id = self.single_shift.map_or(0, Language::id);
        SINGLE_SHIFT.get(usize::from(id)).copied().unwrap_or_default()
    }

    /// The septets for one character, or `None`.
    pub(crate) fn encode_char(&self, c: char) -> Option<(u8, Option<u8>)> {
        if c != '\u{0}'
            && let Some(k) = (0..128).find(|k| *k != usize::from(ESC) && self.locking_table().get(*k) == Some(&c))
        {
            // Tables have 128 entries.
            return Some((k as u8, None));
        }
        self.shift_table().iter().find(|(code, x)| *x == c && *code != ESC).map(|(code, _)| (ESC, Some(*code)))
    }

    /// Decodes unpacked septets with these tables.
    pub(crate) fn decode(&self, septets: &[u8]) -> String {
        let (lock, shift) = (self.locking_table(), self.shift_table());
        let mut out = String::with_capacity(septets.len());
        let mut it = septets.iter().map(|s| s & 0x7F);
        while let Some(s) = it.next() {
            if s == ESC {
                let Some(code) = it.next() else { break };
                let c = shift.iter().find(|(k, _)| *k == code).map(|(_, c)| *c);
                out.push(c.unwrap_or_else(|| lock.get(usize::from(code)).copied().unwrap_or('?')));
            } else {
                match lock.get(usize::from(s)).copied() {
                    Some('\u{0}') | None => out.push('?'),
                    Some(c) => out.push(c),
                }
            }
        }
        out
    }

    /// The UDH information elements announcing these tables.
    pub fn udh_ies(&self) -> Vec<u8> {
        let mut ies = Vec::new();
        if let Some(l) = self.single_shift {
            ies.extend_from_slice(&[0x24, 1, l.id()]);
        }
        if let Some(l) = self.locking {
            ies.extend_from_slice(&[0x25, 1, l.id()]);
        }
        ies
    }

    /// The tables a UDH announces (IEI 0x24 and 0x25).
    pub fn from_udh(udh: &[u8]) -> Self {
        let mut t = Self::default();
        let mut ies = udh;
        while let [iei, len, rest @ ..] = ies {
            let Some((value, next)) = rest.split_at_checked(usize::from(*len)) else { break };
            match (iei, value) {
                (0x24, [id]) => t.single_shift = Language::from_id(*id),
                (0x25, [id]) => t.locking = Language::from_id(*id),
                _ => {}
            }
            ies = next;
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::gsm;

    #[test]
    fn the_default_tables_agree_with_the_default_alphabet() {
        let default = NationalTables::default();
        for (k, c) in gsm::BASIC.iter().enumerate() {
            if k != usize::from(ESC) {
                assert_eq!(default.locking_table()[k], *c, "septet {k:#x}");
            }
        }
        for (code, c) in gsm::EXTENSION {
            assert!(default.shift_table().contains(&(code, c)), "{c:?}");
        }
    }

    #[test]
    fn every_table_round_trips() {
        for lang in ALL {
            let tables = NationalTables::new(lang.has_locking_shift().then_some(lang), Some(lang));
            for (k, c) in tables.locking_table().iter().enumerate() {
                if *c == '\u{0}' || k == usize::from(ESC) {
                    continue;
                }
                let septets = tables.encode_char(*c).unwrap();
                let mut v = vec![septets.0];
                v.extend(septets.1);
                assert_eq!(tables.decode(&v), c.to_string(), "{lang:?} septet {k:#x}");
            }
            for (code, c) in tables.shift_table() {
                if *code == ESC {
                    continue;
                }
                let (s, ext) = tables.encode_char(*c).unwrap();
                let mut v = vec![s];
                v.extend(ext);
                assert_eq!(tables.decode(&v), c.to_string(), "{lang:?} shift {code:#x}");
            }
        }
    }

    #[test]
    fn turkish_and_spanish_characters() {
        let tr = NationalTables::new(Some(Language::Turkish), Some(Language::Turkish));
        assert!(tr.encode_char('ı').is_some() && tr.encode_char('ş').is_some() && tr.encode_char('Ğ').is_some());
        assert!(NationalTables::default().encode_char('ş').is_none());
        let es = NationalTables::new(None, Some(Language::Spanish));
        assert_eq!(es.encode_char('í').map(|x| x.0), Some(ESC));
        assert!(!Language::Spanish.has_locking_shift());
        assert_eq!(es.udh_ies(), [0x24, 1, 2]);
        assert_eq!(NationalTables::from_udh(&[0x00, 3, 1, 2, 1, 0x24, 1, 2]), es);
        let hi = NationalTables::new(Some(Language::Hindi), Some(Language::Hindi));
        assert!(hi.encode_char('न').is_some());
    }
}
