//! SMPP times (reference section 7.11): `YYMMDDhhmmsstnnp`, absolute or relative.

use crate::error::FieldError;

/// A time field value: absolute (`p` is `+` or `-`) or relative (`p` is `R`).
///
/// Parsing accepts exactly the 16-character form; formatting gives it back byte for byte.
///
/// ```
/// use smpp_wire::SmppTime;
/// let t: SmppTime = "150203040506708+".parse().unwrap();
/// assert_eq!(t.to_string(), "150203040506708+");
/// let SmppTime::Absolute(abs) = t else { panic!() };
/// assert_eq!((abs.year, abs.month, abs.day, abs.tenths), (15, 2, 3, 7));
/// assert_eq!(abs.utc_offset_minutes(), 120);
/// let r: SmppTime = "010203040506000R".parse().unwrap();
/// assert!(matches!(r, SmppTime::Relative(rel) if rel.days == 3 && rel.seconds == 6));
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub enum SmppTime {
    /// An absolute time with its offset from UTC.
    Absolute(AbsoluteTime),
    /// A time relative to "now" at the MC.
    Relative(RelativeTime),
}

/// An absolute SMPP time.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub struct AbsoluteTime {
    /// Two-digit year (00–99).
    pub year: u8,
    /// Month, 1–12.
    pub month: u8,
    /// Day, 1–31.
    pub day: u8,
    /// Hour, 0–23.
    pub hour: u8,
    /// Minute, 0–59.
    pub minute: u8,
    /// Second, 0–59.
    pub second: u8,
    /// Tenths of a second, 0–9.
    pub tenths: u8,
    /// Offset from UTC in quarter hours, 0–48.
    pub offset_quarters: u8,
    /// Whether local time is behind UTC (`-`) rather than ahead (`+`).
    pub behind_utc: bool,
}

impl AbsoluteTime {
    /// A time from its parts, checked for range.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        year: u8,
        month: u8,
        day: u8,
        hour: u8,
        minute: u8,
        second: u8,
        tenths: u8,
        utc_offset_quarters: i8,
    ) -> Result<Self, FieldError> {
        let t = Self {
            year,
            month,
            day,
            hour,
            minute,
            second,
            tenths,
            offset_quarters: utc_offset_quarters.unsigned_abs(),
            behind_utc: utc_offset_quarters < 0,
        };
        if t.in_range() { Ok(t) } else { Err(FieldError::InvalidTime) }
    }

    /// The offset from UTC in minutes (negative when behind UTC).
    pub fn utc_offset_minutes(&self) -> i32 {
        let m = i32::from(self.offset_quarters) * 15;
        if self.behind_utc { -m } else { m }
    }

    fn in_range(&self) -> bool {
        self.year <= 99
            && (1..=12).contains(&self.month)
            && (1..=31).contains(&self.day)
            && self.hour <= 23
            && self.minute <= 59
            && self.second <= 59
            && self.tenths <= 9
            && self.offset_quarters <= 48
    }
}

/// A relative SMPP time: an interval from now at the MC.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, Eq, Hash, PartialEq)]
pub struct RelativeTime {
    /// Years, 0–99.
    pub years: u8,
    /// Months, 0–99.
    pub months: u8,
    /// Days, 0–99.
    pub days: u8,
    /// Hours, 0–99.
    pub hours: u8,
    /// Minutes, 0–99.
    pub minutes: u8,
    /// Seconds, 0–99.
    pub seconds: u8,
}

impl RelativeTime {
    /// An interval from its parts, each 0–99.
    pub fn new(years: u8, months: u8, days: u8, hours: u8, minutes: u8, seconds: u8) -> Result<Self, FieldError> {
        let t = Self { years, months, days, hours, minutes, seconds };
        if [years, months, days, hours, minutes, seconds].iter().all(|v| *v <= 99) {
            Ok(t)
        } else {
            Err(FieldError::InvalidTime)
        }
    }

    /// An interval of the given seconds, spread into days, hours, minutes and seconds
    /// (saturating at 99 days).
    pub fn from_secs(secs: u64) -> Self {
        let days = (secs / 86_400).min(99);
        let rest = secs.saturating_sub(days * 86_400).min(86_399);
        // Every part is below 100 by construction.
        Self {
            years: 0,
            months: 0,
            days: days as u8,
            hours: (rest / 3600) as u8,
            minutes: (rest / 60 % 60) as u8,
            seconds: (rest % 60) as u8,
        }
    }
}

impl SmppTime {
    /// Octets of the textual form.
    pub const LEN: usize = 16;

    /// Parses the 16-octet form.
    pub fn parse(text: &[u8]) -> Result<Self, FieldError> {
        let text: &[u8; 16] = text.try_into().map_err(|_| FieldError::InvalidTime)?;
        let [d @ .., p] = *text;
        if !d.iter().all(u8::is_ascii_digit) {
            return Err(FieldError::InvalidTime);
        }
        let [y1, y0, mo1, mo0, d1, d0, h1, h0, mi1, mi0, s1, s0, t, n1, n0] = d.map(|c| c - b'0');
        let (tenths, nn) = (t, n1 * 10 + n0);
        let (a, b, c) = (y1 * 10 + y0, mo1 * 10 + mo0, d1 * 10 + d0);
        let (h, m, s) = (h1 * 10 + h0, mi1 * 10 + mi0, s1 * 10 + s0);
        match p {
            b'R' => {
                if tenths != 0 || nn != 0 {
                    return Err(FieldError::InvalidTime);
                }
                RelativeTime::new(a, b, c, h, m, s).map(Self::Relative)
            }
            b'+' | b'-' => {
                let t = AbsoluteTime {
                    year: a,
                    month: b,
                    day: c,
                    hour: h,
                    minute: m,
                    second: s,
                    tenths,
                    offset_quarters: nn,
                    behind_utc: p == b'-',
                };
                if t.in_range() { Ok(Self::Absolute(t)) } else { Err(FieldError::InvalidTime) }
            }
            _ => Err(FieldError::InvalidTime),
        }
    }

    /// The 16-octet textual form.
    pub fn to_bytes(&self) -> [u8; 16] {
        let (parts, tenths, nn, p) = match self {
            Self::Absolute(t) => (
                [t.year, t.month, t.day, t.hour, t.minute, t.second],
                t.tenths,
                t.offset_quarters,
                if t.behind_utc { b'-' } else { b'+' },
            ),
            Self::Relative(t) => ([t.years, t.months, t.days, t.hours, t.minutes, t.seconds], 0, 0, b'R'),
        };
        let [a, b, c, d, e, f] = parts.map(|v| v % 100);
        let nn = nn % 100;
        let digits = [
            a / 10,
            a % 10,
            b / 10,
            b % 10,
            c / 10,
            c % 10,
            d / 10,
            d % 10,
            e / 10,
            e % 10,
            f / 10,
            f % 10,
            tenths % 10,
            nn / 10,
            nn % 10,
        ];
        let mut out = [p; 16];
        for (o, v) in out.iter_mut().zip(digits) {
            *o = b'0' + v;
        }
        out
    }
}

impl core::str::FromStr for SmppTime {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s.as_bytes())
    }
}

impl core::fmt::Display for SmppTime {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // The form is all ASCII digits and one of `+`, `-`, `R`.
        f.write_str(core::str::from_utf8(&self.to_bytes()).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_both_forms() {
        for s in ["150203040506708+", "991231235959948-", "000101000000000+", "010203040506000R", "000000000000000R"] {
            let t: SmppTime = s.parse().unwrap();
            assert_eq!(t.to_string(), s);
        }
    }

    #[test]
    fn rejects_bad_forms() {
        for s in [
            "",
            "15020304050670+",
            "150203040506708*",
            "151303040506708+",
            "150200040506708+",
            "150203240506708+",
            "150203040506749+",
            "010203040506100R",
            "010203040506001R",
            "1502030405067a8+",
        ] {
            assert_eq!(s.parse::<SmppTime>(), Err(FieldError::InvalidTime), "{s}");
        }
    }

    #[test]
    fn relative_from_secs() {
        let t = RelativeTime::from_secs(90_061);
        assert_eq!((t.days, t.hours, t.minutes, t.seconds), (1, 1, 1, 1));
        assert_eq!(SmppTime::Relative(t).to_string(), "000001010101000R");
    }
}
