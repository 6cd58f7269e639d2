//! Reading Prometheus text in tests (also used by the CLI's tests).

/// The value of the sample `name{labels}` in Prometheus text, labels in any order.
pub(crate) fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|line| {
        let (key, value) = line.rsplit_once(' ')?;
        let (metric, rest) = key.split_once('{').unwrap_or((key, "}"));
        if metric != name {
            return None;
        }
        let mut got: Vec<(&str, &str)> = rest
            .strip_suffix('}')?
            .split(',')
            .filter(|p| !p.is_empty())
            .filter_map(|p| p.split_once('=').map(|(k, v)| (k, v.trim_matches('"'))))
            .collect();
        let mut want = labels.to_vec();
        got.sort_unstable();
        want.sort_unstable();
        (got == want).then(|| value.parse().ok())?
    })
}
