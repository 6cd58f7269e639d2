//! Wall-clock dates for receipts (`YYMMDDhhmm`, UTC). The server crates may read the
//! clock; the sans-IO crates below them may not.

/// `YYMMDDhhmm` for seconds since the Unix epoch (UTC).
pub(crate) fn format_date(secs: u64) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days as i64);
    format!("{:02}{:02}{:02}{:02}{:02}", y.rem_euclid(100), m, d, rem / 3600, rem / 60 % 60)
}

/// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    // Both values are small and positive by construction.
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_known_dates() {
        assert_eq!(super::format_date(0), "7001010000");
        // 2026-11-26 12:34:00 UTC
        assert_eq!(super::format_date(1_795_696_440), "2611261234");
        // 2000-02-29 23:59 UTC
        assert_eq!(super::format_date(951_868_740), "0002292359");
    }
}
