//! [`SessionConfig`]: window, limits, version and timers, with defaults that fit the
//! platform this stack serves (enquire_link every 60 s, idle links dropped after 5 min).

use std::time::Duration;

use smpp_wire::{InterfaceVersion, MAX_PDU_LEN_DEFAULT};

/// What an ESME assumes when a bind response carries no `sc_interface_version`.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(rename_all = "snake_case"))]
pub enum MissingScVersion {
    /// The SMSC speaks v3.3: send no TLVs (the spec's reading, and the default).
    #[default]
    AssumeV33,
    /// The SMSC speaks the version we asked for.
    AssumeRequested,
}

/// Configuration of one session. Setters follow quinn's style and return `&mut Self`.
///
/// ```
/// use std::time::Duration;
/// use smpp_session::SessionConfig;
/// let mut config = SessionConfig::default();
/// config.window(100).enquire_link_interval(Some(Duration::from_secs(30)));
/// ```
///
/// # serde
/// With the feature `serde`: every setting by its setter's name, durations as text
/// (`"60s"`, `"off"`); what is left out keeps its default, and the setters' bounds
/// apply (a `window` of 0 reads as 1).
///
/// ```
/// # #[cfg(feature = "serde")] {
/// let config: smpp_session::SessionConfig =
///     serde_json::from_str(r#"{"window": 50, "enquire_link_interval": "30s", "inactivity_timeout": "off"}"#).unwrap();
/// assert_eq!(config.window_len(), 50);
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct SessionConfig {
    pub(crate) window: usize,
    pub(crate) receive_window: usize,
    pub(crate) max_pdu_len: usize,
    pub(crate) interface_version: InterfaceVersion,
    pub(crate) bind_timeout: Option<Duration>,
    pub(crate) enquire_link_interval: Option<Duration>,
    pub(crate) inactivity_timeout: Option<Duration>,
    pub(crate) response_timeout: Option<Duration>,
    pub(crate) unbind_grace: Duration,
    pub(crate) missing_sc_version: MissingScVersion,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            window: 10,
            receive_window: 1000,
            max_pdu_len: MAX_PDU_LEN_DEFAULT,
            interface_version: InterfaceVersion::V34,
            bind_timeout: Some(Duration::from_secs(10)),
            enquire_link_interval: Some(Duration::from_secs(60)),
            inactivity_timeout: Some(Duration::from_secs(300)),
            response_timeout: Some(Duration::from_secs(30)),
            unbind_grace: Duration::from_secs(5),
            missing_sc_version: MissingScVersion::AssumeV33,
        }
    }
}

impl SessionConfig {
    /// Requests we may have outstanding at once (default 10, at least 1). Sending past
    /// it is [`SendError::WindowFull`](crate::SendError::WindowFull).
    pub fn window(&mut self, window: usize) -> &mut Self {
        self.window = window.max(1);
        self
    }

    /// Inbound requests the application may have unanswered at once (default 1000).
    /// Requests past it are answered `ESME_RTHROTTLED` by the session.
    pub fn receive_window(&mut self, window: usize) -> &mut Self {
        self.receive_window = window.max(1);
        self
    }

    /// Largest `command_length` accepted (default 65 572 octets, a full
    /// `message_payload`). A larger one is a fatal
    /// framing error; sending a larger PDU is [`SendError::TooLong`](crate::SendError::TooLong).
    pub fn max_pdu_len(&mut self, len: usize) -> &mut Self {
        self.max_pdu_len = len.max(smpp_wire::HEADER_LEN);
        self
    }

    /// The version an ESME puts in its bind, and the highest an SMSC offers
    /// (default 0x34).
    pub fn interface_version(&mut self, version: InterfaceVersion) -> &mut Self {
        self.interface_version = version;
        self
    }

    /// Our requests that may await their responses at once (see
    /// [`window`](Self::window)).
    pub fn window_len(&self) -> usize {
        self.window
    }

    /// Inbound requests the application may have unanswered at once (see
    /// [`receive_window`](Self::receive_window)).
    pub fn receive_window_len(&self) -> usize {
        self.receive_window
    }

    /// The `interface_version` this configuration binds with (an ESME) or offers at
    /// most (an SMSC).
    pub fn requested_version(&self) -> InterfaceVersion {
        self.interface_version
    }

    /// The spec's session_init_timer: on an SMSC, how long a connection may stay
    /// unbound; on an ESME, how long to wait for the bind response (default 10 s).
    pub fn bind_timeout(&mut self, timeout: Option<Duration>) -> &mut Self {
        self.bind_timeout = timeout;
        self
    }

    /// The spec's enquire_link_timer: send enquire_link after this long without traffic
    /// while bound (default 60 s, as the platform asks).
    pub fn enquire_link_interval(&mut self, interval: Option<Duration>) -> &mut Self {
        self.enquire_link_interval = interval;
        self
    }

    /// The spec's inactivity_timer: close after this long without a PDU from the peer
    /// (default 300 s, as the platform does).
    pub fn inactivity_timeout(&mut self, timeout: Option<Duration>) -> &mut Self {
        self.inactivity_timeout = timeout;
        self
    }

    /// The spec's response_timer: how long a request waits for its response
    /// (default 30 s). A silent enquire_link closes the session.
    pub fn response_timeout(&mut self, timeout: Option<Duration>) -> &mut Self {
        self.response_timeout = timeout;
        self
    }

    /// After a local unbind: how long to wait for outstanding responses and for the
    /// unbind_resp before closing anyway (default 5 s).
    pub fn unbind_grace(&mut self, grace: Duration) -> &mut Self {
        self.unbind_grace = grace;
        self
    }

    /// What an ESME assumes when the bind response has no `sc_interface_version`
    /// (default [`MissingScVersion::AssumeV33`]).
    pub fn missing_sc_version(&mut self, policy: MissingScVersion) -> &mut Self {
        self.missing_sc_version = policy;
        self
    }
}

// `serde` (feature `serde`): see `SessionConfig`'s doc.
#[cfg(feature = "serde")]
mod serde_impl {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use smpp_wire::InterfaceVersion;

    use super::{MissingScVersion, SessionConfig};

    /// Every setting, for writing out.
    #[derive(Serialize)]
    #[serde(rename = "SessionConfig")]
    struct Out {
        window: usize,
        receive_window: usize,
        max_pdu_len: usize,
        interface_version: InterfaceVersion,
        #[serde(with = "crate::serde_duration::option")]
        bind_timeout: Option<Duration>,
        #[serde(with = "crate::serde_duration::option")]
        enquire_link_interval: Option<Duration>,
        #[serde(with = "crate::serde_duration::option")]
        inactivity_timeout: Option<Duration>,
        #[serde(with = "crate::serde_duration::option")]
        response_timeout: Option<Duration>,
        #[serde(with = "crate::serde_duration")]
        unbind_grace: Duration,
        missing_sc_version: MissingScVersion,
    }

    /// The settings given, for reading over a base.
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields, rename = "SessionConfig")]
    struct In {
        window: Option<usize>,
        receive_window: Option<usize>,
        max_pdu_len: Option<usize>,
        interface_version: Option<InterfaceVersion>,
        #[serde(default, deserialize_with = "crate::serde_duration::option::given")]
        bind_timeout: Option<Option<Duration>>,
        #[serde(default, deserialize_with = "crate::serde_duration::option::given")]
        enquire_link_interval: Option<Option<Duration>>,
        #[serde(default, deserialize_with = "crate::serde_duration::option::given")]
        inactivity_timeout: Option<Option<Duration>>,
        #[serde(default, deserialize_with = "crate::serde_duration::option::given")]
        response_timeout: Option<Option<Duration>>,
        #[serde(default, deserialize_with = "crate::serde_duration::deserialize_some")]
        unbind_grace: Option<Duration>,
        missing_sc_version: Option<MissingScVersion>,
    }

    impl Serialize for SessionConfig {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            Out {
                window: self.window,
                receive_window: self.receive_window,
                max_pdu_len: self.max_pdu_len,
                interface_version: self.interface_version,
                bind_timeout: self.bind_timeout,
                enquire_link_interval: self.enquire_link_interval,
                inactivity_timeout: self.inactivity_timeout,
                response_timeout: self.response_timeout,
                unbind_grace: self.unbind_grace,
                missing_sc_version: self.missing_sc_version,
            }
            .serialize(serializer)
        }
    }

    impl<'de> Deserialize<'de> for SessionConfig {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            let mut config = Self::default();
            config.deserialize_over(deserializer)?;
            Ok(config)
        }
    }

    impl SessionConfig {
        /// Reads the settings a configuration gives over this one, through the setters
        /// (their bounds apply); what it leaves out stays as it is. For a layer whose
        /// defaults differ from [`SessionConfig::default`] (an SMSC's: no enquire_link,
        /// a window of 100) and that reads its `session` table over them.
        pub fn deserialize_over<'de, D: Deserializer<'de>>(&mut self, deserializer: D) -> Result<(), D::Error> {
            let given = In::deserialize(deserializer)?;
            if let Some(v) = given.window {
                self.window(v);
            }
            if let Some(v) = given.receive_window {
                self.receive_window(v);
            }
            if let Some(v) = given.max_pdu_len {
                self.max_pdu_len(v);
            }
            if let Some(v) = given.interface_version {
                self.interface_version(v);
            }
            if let Some(v) = given.bind_timeout {
                self.bind_timeout(v);
            }
            if let Some(v) = given.enquire_link_interval {
                self.enquire_link_interval(v);
            }
            if let Some(v) = given.inactivity_timeout {
                self.inactivity_timeout(v);
            }
            if let Some(v) = given.response_timeout {
                self.response_timeout(v);
            }
            if let Some(v) = given.unbind_grace {
                self.unbind_grace(v);
            }
            if let Some(v) = given.missing_sc_version {
                self.missing_sc_version(v);
            }
            Ok(())
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn a_config_goes_out_and_comes_back() {
            let mut c = SessionConfig::default();
            c.window(7).inactivity_timeout(None).unbind_grace(Duration::from_millis(1500));
            let json = serde_json::to_string(&c).unwrap();
            assert!(json.contains(r#""inactivity_timeout":"off""#), "{json}");
            assert!(json.contains(r#""enquire_link_interval":"1m""#), "{json}");
            let back: SessionConfig = serde_json::from_str(&json).unwrap();
            assert_eq!(format!("{back:?}"), format!("{c:?}"));
        }

        #[test]
        fn read_over_a_base_only_what_is_given_changes() {
            let mut c = SessionConfig::default();
            c.enquire_link_interval(None).window(100);
            let mut json =
                serde_json::Deserializer::from_str(r#"{"inactivity_timeout": "10m", "bind_timeout": "off"}"#);
            c.deserialize_over(&mut json).unwrap();
            assert_eq!((c.enquire_link_interval, c.window), (None, 100), "the base stays");
            assert_eq!((c.inactivity_timeout, c.bind_timeout), (Some(Duration::from_secs(600)), None));
        }

        #[test]
        fn left_out_keeps_the_default_bounds_apply_and_typos_are_refused() {
            let c: SessionConfig = serde_json::from_str(r#"{"window": 0}"#).unwrap();
            assert_eq!(c.window_len(), 1);
            assert_eq!(c.enquire_link_interval, Some(Duration::from_secs(60)));
            let e = serde_json::from_str::<SessionConfig>(r#"{"windw": 5}"#).unwrap_err().to_string();
            assert!(e.contains("unknown field `windw`"), "{e}");
            let e = serde_json::from_str::<SessionConfig>(r#"{"unbind_grace": "off"}"#).unwrap_err().to_string();
            assert!(e.contains("duration"), "{e}");
        }
    }
}
