//! An upstream connector as `smpp serve --upstream` takes it: a URL.

use std::time::Duration;

/// How the gateway binds to an upstream SMSC, parsed from
/// `smpp://USER:PASS@HOST:PORT?OPTIONS` (`smpps://` for TLS).
///
/// Options (all optional):
/// - `name`: what routes call it (default `HOST:PORT`);
/// - `bind`: `trx` (default), `tx` or `rx`;
/// - `window`: requests in flight per bind (default 100);
/// - `binds`: binds kept open (default 1);
/// - `rate`: submits a second over all its binds (default none);
/// - `version`: `34` (default) or `33`;
/// - `system_type` (default `smpp`);
/// - `ids`: how its receipts write the message ids its submit_sm_resp gave:
///   `same` (default, as the specification has it; case and zero padding aside)
///   or `converted` (hexadecimal in one, decimal in the other).
///
/// The user and password may be percent-encoded (`%40` for `@`).
///
/// ```
/// use smpp_server::gateway::Upstream;
/// let u: Upstream = "smpps://shop:s%40cret@smsc.example:3550?binds=2&rate=50&name=uk".parse().unwrap();
/// assert_eq!((u.name.as_str(), u.host.as_str(), u.port, u.tls), ("uk", "smsc.example", 3550, true));
/// assert_eq!((u.system_id.as_str(), u.password.as_str(), u.binds, u.rate), ("shop", "s@cret", 2, Some(50.0)));
/// ```
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct Upstream {
    /// What routes call it.
    pub name: String,
    /// The SMSC's host.
    pub host: String,
    /// Its port (default 2775, or 3550 for `smpps://`).
    pub port: u16,
    /// TLS (`smpps://`).
    pub tls: bool,
    /// The account at the SMSC.
    pub system_id: String,
    /// Its password.
    pub password: String,
    /// `trx`, `tx` or `rx`.
    pub bind: String,
    /// Requests in flight per bind.
    pub window: usize,
    /// Binds kept open.
    pub binds: usize,
    /// Submits a second over all its binds.
    pub rate: Option<f64>,
    /// The interface_version asked for: 0x34 or 0x33.
    pub version: u8,
    /// The system_type bound with.
    pub system_type: String,
    /// How long a bind may take (default 10 s).
    pub bind_timeout: Duration,
    /// Its receipts write its ids converted (hexadecimal for decimal, or the other
    /// way) rather than as given (`ids=converted`).
    pub converted_ids: bool,
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstream")
            .field("name", &self.name)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("system_id", &self.system_id)
            .field("password", &"***")
            .field("bind", &self.bind)
            .field("window", &self.window)
            .field("binds", &self.binds)
            .field("rate", &self.rate)
            .field("version", &self.version)
            .field("system_type", &self.system_type)
            .finish_non_exhaustive()
    }
}

/// Why an upstream URL cannot be used; the text says what to write instead.
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
#[error("upstream {url}: {reason}")]
pub struct UpstreamError {
    /// The URL, its password hidden.
    pub url: String,
    /// What is wrong.
    pub reason: String,
}

impl std::str::FromStr for Upstream {
    type Err = UpstreamError;

    fn from_str(url: &str) -> Result<Self, Self::Err> {
        let fail = |reason: &str| UpstreamError { url: hide_password(url), reason: reason.to_owned() };
        let (tls, rest) = if let Some(r) = url.strip_prefix("smpps://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("smpp://") {
            (false, r)
        } else {
            return Err(fail("expected smpp://USER:PASS@HOST:PORT (or smpps:// for TLS)"));
        };
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (credentials, address) = rest.rsplit_once('@').ok_or_else(|| fail("no USER:PASS@ before the host"))?;
        let (user, password) = credentials.split_once(':').ok_or_else(|| fail("no :PASS after the user"))?;
        let system_id = percent_decode(user).ok_or_else(|| fail("the user has a bad %-escape"))?;
        let password = percent_decode(password).ok_or_else(|| fail("the password has a bad %-escape"))?;
        if system_id.is_empty() || system_id.len() > 15 {
            return Err(fail("the user (system_id) takes 1 to 15 characters"));
        }
        if password.len() > 8 {
            return Err(fail("the password takes at most 8 characters (SMPP's limit)"));
        }
        let (host, port) = match address.rsplit_once(':') {
            Some((h, p)) => (h, p.parse::<u16>().map_err(|_| fail("the port is not a number from 1 to 65535"))?),
            None => (address, if tls { 3550 } else { 2775 }),
        };
        if host.is_empty() || port == 0 {
            return Err(fail("no host, or port 0"));
        }
        let mut up = Self {
            name: format!("{host}:{port}"),
            host: host.to_owned(),
            port,
            tls,
            system_id,
            password,
            bind: "trx".into(),
            window: 100,
            binds: 1,
            rate: None,
            version: 0x34,
            system_type: "smpp".into(),
            bind_timeout: Duration::from_secs(10),
            converted_ids: false,
        };
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) =
                pair.split_once('=').ok_or_else(|| fail(&format!("option {pair:?}: expected KEY=VALUE")))?;
            let number = |what: &str| -> Result<usize, UpstreamError> {
                value
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| fail(&format!("{what}={value}: expected a number from 1")))
            };
            match key {
                "name" if !value.is_empty() => up.name = value.to_owned(),
                "bind" if ["trx", "tx", "rx"].contains(&value) => up.bind = value.to_owned(),
                "bind" => return Err(fail("bind takes trx, tx or rx")),
                "window" => up.window = number("window")?,
                "binds" => up.binds = number("binds")?,
                "rate" => {
                    let r = value.parse::<f64>().ok().filter(|r| r.is_finite() && *r > 0.0);
                    up.rate = Some(r.ok_or_else(|| fail("rate takes submits a second, above 0"))?);
                }
                "version" => {
                    up.version = match value {
                        "34" | "0x34" => 0x34,
                        "33" | "0x33" => 0x33,
                        _ => return Err(fail("version takes 34 or 33")),
                    }
                }
                "system_type" => up.system_type = value.to_owned(),
                "ids" => {
                    up.converted_ids = match value {
                        "same" => false,
                        "converted" => true,
                        _ => return Err(fail("ids takes same or converted")),
                    }
                }
                _ => {
                    return Err(fail(&format!(
                        "unknown option {key:?} (name, bind, window, binds, rate, version, system_type, ids)"
                    )));
                }
            }
        }
        Ok(up)
    }
}

/// `url` with what follows `USER:` up to `@` replaced by `***`.
fn hide_password(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|k| k + 3) else { return url.to_owned() };
    let rest = url.get(scheme_end..).unwrap_or_default();
    match (rest.find(':'), rest.rfind('@')) {
        (Some(colon), Some(at)) if colon < at => {
            format!(
                "{}{}:***{}",
                url.get(..scheme_end).unwrap_or_default(),
                rest.get(..colon).unwrap_or_default(),
                rest.get(at..).unwrap_or_default()
            )
        }
        _ => url.to_owned(),
    }
}

/// `%XX` escapes decoded; `None` for a bad escape or bytes that are not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hex = [bytes.next()?, bytes.next()?];
            out.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
        } else {
            out.push(b);
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_every_option() {
        let u: Upstream = "smpp://acme:pw@10.0.0.5".parse().unwrap();
        assert_eq!(
            (u.name.as_str(), u.port, u.tls, u.bind.as_str(), u.window, u.binds),
            ("10.0.0.5:2775", 2775, false, "trx", 100, 1)
        );
        assert_eq!((u.rate, u.version, u.system_type.as_str()), (None, 0x34, "smpp"));
        let u: Upstream = "smpp://acme:pw@h:1?bind=tx&window=500&binds=4&rate=12.5&version=33&system_type=vma&name=fr"
            .parse()
            .unwrap();
        assert_eq!((u.bind.as_str(), u.window, u.binds, u.rate, u.version), ("tx", 500, 4, Some(12.5), 0x33));
        assert_eq!((u.system_type.as_str(), u.name.as_str()), ("vma", "fr"));
        assert!(!format!("{u:?}").contains("pw@") && format!("{u:?}").contains("***"));
    }

    #[test]
    fn mistakes_are_named_and_the_password_never_shown() {
        for (url, says) in [
            ("http://a:b@h:1", "smpp://"),
            ("smpp://h:1", "USER:PASS@"),
            ("smpp://a@h:1", ":PASS"),
            ("smpp://a:b@h:x", "port"),
            ("smpp://a:b@h:1?bind=both", "trx, tx or rx"),
            ("smpp://a:b@h:1?window=0", "window=0"),
            ("smpp://a:b@h:1?rate=-1", "rate"),
            ("smpp://a:b@h:1?version=50", "34 or 33"),
            ("smpp://a:b@h:1?colour=red", "unknown option"),
            ("smpp://a:toolongpassword@h:1", "at most 8"),
            ("smpp://a:b%zz@h:1", "%-escape"),
        ] {
            let err = url.parse::<Upstream>().unwrap_err();
            assert!(err.to_string().contains(says), "{url}: {err}");
        }
        let err = "smpp://acme:s3cr3t@h:1?bind=x".parse::<Upstream>().unwrap_err();
        assert!(!err.to_string().contains("s3cr3t") && err.to_string().contains("acme:***@h:1"), "{err}");
    }
}
