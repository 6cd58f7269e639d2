//! Durations as human text for `serde` (feature `serde`): `"60s"`, `"250ms"`,
//! `"5m"`, and `"off"` for an optional one that is unset. For
//! `#[serde(with = "smpp_session::serde_duration")]` on a `Duration` and
//! `#[serde(with = "smpp_session::serde_duration::option")]` on an
//! `Option<Duration>`; the configuration types of this stack use them.
//!
//! A number is taken as seconds. TOML has no null, hence `"off"`.
//!
//! ```
//! use std::time::Duration;
//! #[derive(serde::Deserialize)]
//! struct Timers {
//!     #[serde(with = "smpp_session::serde_duration")]
//!     grace: Duration,
//!     #[serde(with = "smpp_session::serde_duration::option")]
//!     ping: Option<Duration>,
//! }
//! let t: Timers = serde_json::from_str(r#"{"grace": "1s 500ms", "ping": "off"}"#).unwrap();
//! assert_eq!((t.grace, t.ping), (Duration::from_millis(1500), None));
//! ```

use std::fmt;
use std::time::Duration;

use serde::de::{Error, Unexpected, Visitor};
use serde::{Deserializer, Serializer};

/// Writes `duration` as text (`"1m 30s"`).
pub fn serialize<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&humantime::format_duration(*duration))
}

/// Reads a duration from text (`"90s"`, `"1m 30s"`) or a number of seconds.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    match deserializer.deserialize_any(Text { optional: false })? {
        Some(duration) => Ok(duration),
        None => Err(D::Error::invalid_value(Unexpected::Str("off"), &Text { optional: false })),
    }
}

/// For a setting that may be left out but not turned off: an `Option<Duration>` field
/// with `#[serde(default, deserialize_with = "smpp_session::serde_duration::deserialize_some")]`
/// is `None` when absent, and `"off"` is an error.
pub fn deserialize_some<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Duration>, D::Error> {
    deserialize(deserializer).map(Some)
}

/// The same for an `Option<Duration>`: `None` is `"off"` (`null`, `"never"` and
/// `"none"` also read as `None`).
pub mod option {
    use super::*;

    /// Writes the duration as text, `None` as `"off"`.
    pub fn serialize<S: Serializer>(duration: &Option<Duration>, serializer: S) -> Result<S::Ok, S::Error> {
        match duration {
            Some(duration) => super::serialize(duration, serializer),
            None => serializer.serialize_str("off"),
        }
    }

    /// Reads a duration, or `None` from `"off"`, `"never"`, `"none"` or `null`.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Duration>, D::Error> {
        deserializer.deserialize_any(Text { optional: true })
    }

    /// For a setting read over defaults, where left out and `"off"` differ: an
    /// `Option<Option<Duration>>` field with `#[serde(default, deserialize_with =
    /// "smpp_session::serde_duration::option::given")]` is `None` when left out and
    /// `Some(what was given)` otherwise.
    pub fn given<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Option<Duration>>, D::Error> {
        deserialize(deserializer).map(Some)
    }
}

struct Text {
    optional: bool,
}

impl Visitor<'_> for Text {
    type Value = Option<Duration>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a duration such as \"60s\", \"250ms\" or \"1m 30s\", or a number of seconds")?;
        if self.optional { f.write_str(", or \"off\"") } else { Ok(()) }
    }

    fn visit_str<E: Error>(self, v: &str) -> Result<Self::Value, E> {
        if self.optional && ["off", "never", "none"].iter().any(|off| off.eq_ignore_ascii_case(v.trim())) {
            return Ok(None);
        }
        humantime::parse_duration(v).map(Some).map_err(|_| E::invalid_value(Unexpected::Str(v), &self))
    }

    fn visit_u64<E: Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(Duration::from_secs(v)))
    }

    fn visit_i64<E: Error>(self, v: i64) -> Result<Self::Value, E> {
        u64::try_from(v)
            .map(|s| Some(Duration::from_secs(s)))
            .map_err(|_| E::invalid_value(Unexpected::Signed(v), &self))
    }

    fn visit_f64<E: Error>(self, v: f64) -> Result<Self::Value, E> {
        Duration::try_from_secs_f64(v).map(Some).map_err(|_| E::invalid_value(Unexpected::Float(v), &self))
    }

    fn visit_unit<E: Error>(self) -> Result<Self::Value, E> {
        if self.optional { Ok(None) } else { Err(E::invalid_type(Unexpected::Unit, &self)) }
    }

    fn visit_none<E: Error>(self) -> Result<Self::Value, E> {
        self.visit_unit()
    }
}
