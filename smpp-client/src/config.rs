//! [`ClientConfig`]: where to connect, how to bind, and how the client behaves.

use std::fmt;
use std::time::Duration;

use smpp_session::{BindMode, SessionConfig};
use smpp_wire::{Address, InterfaceVersion};

/// TLS options (rustls), built in one expression:
///
/// ```
/// use smpp_client::{ClientConfig, TlsOptions};
/// let tls = TlsOptions::default().server_name("smsc.example.com");
/// let config = ClientConfig::new("10.0.0.1", 3550, "smppclient1", "password").tls(Some(tls));
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, Default)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize), serde(default, deny_unknown_fields))]
pub struct TlsOptions {
    /// PEM certificates to trust instead of the public web roots (a private CA or a
    /// self-signed SMSC certificate). With `serde`: the PEM text.
    #[cfg_attr(feature = "serde", serde(deserialize_with = "serde_impl::pem_text"))]
    pub ca_pem: Option<Vec<u8>>,
    /// The name to check the certificate against, if not the host.
    pub server_name: Option<String>,
}

impl TlsOptions {
    /// Trust these PEM certificates instead of the public web roots.
    #[must_use = "a builder method returns the changed options"]
    pub fn ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.ca_pem = Some(pem.into());
        self
    }

    /// Check the certificate against this name instead of the host.
    #[must_use = "a builder method returns the changed options"]
    pub fn server_name(mut self, name: impl Into<String>) -> Self {
        self.server_name = Some(name.into());
        self
    }
}

/// Reconnection with exponential back-off: each wait doubles up to `max`, and is up
/// to a quarter shorter, drawn at random per client (so that clients that lost the
/// same SMSC do not all come back at once).
///
/// ```
/// use std::time::Duration;
/// use smpp_client::{ClientConfig, Reconnect};
/// let reconnect = Reconnect::default().max(Duration::from_secs(10)).down_wait(Duration::from_secs(5));
/// let config = ClientConfig::new("127.0.0.1", 2775, "smppclient1", "password").reconnect(Some(reconnect));
/// ```
#[non_exhaustive]
#[derive(Clone, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(default, deny_unknown_fields))]
pub struct Reconnect {
    /// First delay (default 1 s).
    #[cfg_attr(feature = "serde", serde(with = "smpp_session::serde_duration"))]
    pub initial: Duration,
    /// Longest delay (default 60 s).
    #[cfg_attr(feature = "serde", serde(with = "smpp_session::serde_duration"))]
    pub max: Duration,
    /// How long a request waits for the link to come back before failing with
    /// [`RequestError::NotConnected`](crate::RequestError::NotConnected) (default 30 s).
    #[cfg_attr(feature = "serde", serde(with = "smpp_session::serde_duration"))]
    pub down_wait: Duration,
}

impl Default for Reconnect {
    fn default() -> Self {
        Self { initial: Duration::from_secs(1), max: Duration::from_secs(60), down_wait: Duration::from_secs(30) }
    }
}

impl Reconnect {
    /// The first delay.
    #[must_use = "a builder method returns the changed policy"]
    pub fn initial(mut self, delay: Duration) -> Self {
        self.initial = delay;
        self
    }

    /// The longest delay.
    #[must_use = "a builder method returns the changed policy"]
    pub fn max(mut self, delay: Duration) -> Self {
        self.max = delay;
        self
    }

    /// How long a request waits for the link to come back.
    #[must_use = "a builder method returns the changed policy"]
    pub fn down_wait(mut self, wait: Duration) -> Self {
        self.down_wait = wait;
        self
    }
}

/// Retrying requests the SMSC throttled. `ESME_RTHROTTLED` and `ESME_RMSGQFUL` mean
/// "not accepted", so sending the same request again cannot duplicate it.
///
/// ```
/// use std::time::Duration;
/// use smpp_client::{ClientConfig, ThrottleRetry};
/// let retry = ThrottleRetry::default().deadline(Duration::from_secs(10));
/// let config = ClientConfig::new("127.0.0.1", 2775, "smppclient1", "password").retry_throttled(Some(retry));
/// ```
#[non_exhaustive]
#[derive(Clone, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(default, deny_unknown_fields))]
pub struct ThrottleRetry {
    /// Retrying stops this long after the first throttle answer; the caller then gets
    /// the throttle status (default 60 s). Waiting for the adaptive rate never
    /// outlasts it.
    #[cfg_attr(feature = "serde", serde(with = "smpp_session::serde_duration"))]
    pub deadline: Duration,
    /// Adapt the send rate to throttle answers (default on): a throttle answer (at
    /// most one a second counts) sets the rate to a little more than what the SMSC
    /// accepted since the last one, it then doubles every second until the next, and
    /// the limit is lifted after 30 s without one. Off: a retry waits 100 ms.
    pub adaptive: bool,
    /// The adaptive rate never falls below this many requests a second (default 1).
    pub min_rate: f64,
}

impl Default for ThrottleRetry {
    fn default() -> Self {
        Self { deadline: Duration::from_secs(60), adaptive: true, min_rate: 1.0 }
    }
}

impl ThrottleRetry {
    /// How long after the first throttle answer retrying stops.
    #[must_use = "a builder method returns the changed policy"]
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// Whether the send rate adapts to throttle answers.
    #[must_use = "a builder method returns the changed policy"]
    pub fn adaptive(mut self, adaptive: bool) -> Self {
        self.adaptive = adaptive;
        self
    }

    /// The lowest adaptive rate, in requests a second.
    #[must_use = "a builder method returns the changed policy"]
    pub fn min_rate(mut self, per_second: f64) -> Self {
        self.min_rate = per_second;
        self
    }
}

/// How to reach and bind to an SMSC. The defaults work against the platform this
/// stack serves: system_type `smpp`, interface_version 0x34, enquire_link every 60 s.
///
/// Built in one expression; each setter takes the configuration and returns it:
///
/// ```
/// use std::time::Duration;
/// use smpp_client::{ClientConfig, BindMode};
/// let config = ClientConfig::new("127.0.0.1", 2775, "smppclient1", "password")
///     .bind_mode(BindMode::Transmitter)
///     .window(100)
///     .rate_limit(Some(50.0))
///     .with_session(|s| {
///         s.enquire_link_interval(Some(Duration::from_secs(30)));
///     });
/// ```
///
/// Its `Debug` output never shows the password.
///
/// With the feature `serde` it reads from a configuration file (and is never written
/// out: it holds a password): `host`, `port`, `system_id` and `password`, then any
/// setter by its name; `tls`, `reconnect` and `retry_throttled` take `true`, `false`
/// or their settings; `session` and `driver` take the lower layers' settings;
/// durations are text (`"30s"`, `"off"`).
///
/// ```
/// # #[cfg(feature = "serde")] {
/// let config: smpp_client::ClientConfig = serde_json::from_str(
///     r#"{"host": "127.0.0.1", "port": 2775, "system_id": "smppclient1", "password": "password",
///         "bind_mode": "transmitter", "reconnect": true, "session": {"enquire_link_interval": "60s"}}"#,
/// ).unwrap();
/// assert_eq!(config.addr(), "127.0.0.1:2775");
/// # }
/// ```
#[derive(Clone)]
pub struct ClientConfig {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) mode: BindMode,
    pub(crate) system_id: String,
    pub(crate) password: String,
    pub(crate) system_type: String,
    pub(crate) address_range: Address<41>,
    pub(crate) tls: Option<TlsOptions>,
    pub(crate) connect_timeout: Duration,
    pub(crate) session: SessionConfig,
    pub(crate) auto_ack: bool,
    pub(crate) rate_limit: Option<f64>,
    pub(crate) reconnect: Option<Reconnect>,
    pub(crate) incoming_capacity: usize,
    pub(crate) bind_timeout: Duration,
    pub(crate) driver: smpp_tokio::DriverConfig,
    pub(crate) retry: Option<ThrottleRetry>,
}

impl ClientConfig {
    /// Binds as a transceiver to `host:port` with the given account.
    pub fn new(host: &str, port: u16, system_id: &str, password: &str) -> Self {
        Self {
            host: host.to_owned(),
            port,
            mode: BindMode::Transceiver,
            system_id: system_id.to_owned(),
            password: password.to_owned(),
            system_type: "smpp".to_owned(),
            address_range: Address::default(),
            tls: None,
            connect_timeout: Duration::from_secs(10),
            session: SessionConfig::default(),
            auto_ack: true,
            rate_limit: None,
            reconnect: None,
            incoming_capacity: 1024,
            bind_timeout: Duration::from_secs(10),
            driver: smpp_tokio::DriverConfig::default(),
            retry: Some(ThrottleRetry::default()),
        }
    }

    /// Keep polling the connection for this long after each burst of activity instead
    /// of sleeping (default `None`): lower latency for a busy CPU. See
    /// [`DriverConfig::busy_poll`](smpp_tokio::DriverConfig::busy_poll).
    #[must_use = "a setter returns the changed configuration"]
    pub fn busy_poll(mut self, spin: Option<Duration>) -> Self {
        self.driver.busy_poll = spin;
        self
    }

    /// How long output may wait for an SMSC that reads none of it before the
    /// connection is closed (default 60 s; `None`: for ever). See
    /// [`DriverConfig::write_timeout`](smpp_tokio::DriverConfig::write_timeout).
    #[must_use = "a setter returns the changed configuration"]
    pub fn write_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.driver.write_timeout = timeout;
        self
    }

    /// Whether and how requests throttled by the SMSC (`ESME_RTHROTTLED`,
    /// `ESME_RMSGQFUL`) are sent again (default: retried for up to 60 s under a rate
    /// that adapts; `None`: the caller gets the status at once).
    #[must_use = "a setter returns the changed configuration"]
    pub fn retry_throttled(mut self, retry: Option<ThrottleRetry>) -> Self {
        self.retry = retry;
        self
    }

    /// How the connection's driver waits (see [`busy_poll`](Self::busy_poll)).
    pub fn driver_config(&self) -> smpp_tokio::DriverConfig {
        self.driver
    }

    /// Transmitter, receiver or transceiver (default transceiver).
    #[must_use = "a setter returns the changed configuration"]
    pub fn bind_mode(mut self, mode: BindMode) -> Self {
        self.mode = mode;
        self
    }

    /// `system_type` (default `smpp`).
    #[must_use = "a setter returns the changed configuration"]
    pub fn system_type(mut self, system_type: &str) -> Self {
        self.system_type = system_type.to_owned();
        self
    }

    /// `interface_version` (default 0x34; 0x33 for a v3.3 SMSC, which gets no TLVs).
    #[must_use = "a setter returns the changed configuration"]
    pub fn interface_version(mut self, version: InterfaceVersion) -> Self {
        self.session.interface_version(version);
        self
    }

    /// `addr_ton`, `addr_npi` and `address_range`.
    #[must_use = "a setter returns the changed configuration"]
    pub fn address_range(mut self, range: Address<41>) -> Self {
        self.address_range = range;
        self
    }

    /// Connect over TLS.
    #[must_use = "a setter returns the changed configuration"]
    pub fn tls(mut self, tls: Option<TlsOptions>) -> Self {
        self.tls = tls;
        self
    }

    /// How long the TCP (and TLS) connection may take (default 10 s).
    #[must_use = "a setter returns the changed configuration"]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long to wait for the bind response (default 10 s).
    #[must_use = "a setter returns the changed configuration"]
    pub fn bind_timeout(mut self, timeout: Duration) -> Self {
        self.bind_timeout = timeout;
        self.session.bind_timeout(Some(timeout));
        self
    }

    /// Requests in flight at once (default 10). Past it, requests wait. The same
    /// setting as `session().window(n)`: the session's window is the only one.
    #[must_use = "a setter returns the changed configuration"]
    pub fn window(mut self, window: usize) -> Self {
        self.session.window(window);
        self
    }

    /// Whether inbound deliver_sm and data_sm are answered `ESME_ROK` by the client
    /// (default), or left to the application ([`Inbound::respond`](crate::Inbound::respond)).
    #[must_use = "a setter returns the changed configuration"]
    pub fn auto_ack(mut self, auto: bool) -> Self {
        self.auto_ack = auto;
        self
    }

    /// A client-side limit in requests per second for this bind (default none).
    #[must_use = "a setter returns the changed configuration"]
    pub fn rate_limit(mut self, per_second: Option<f64>) -> Self {
        self.rate_limit = per_second.filter(|r| *r > 0.0);
        self
    }

    /// Rebind automatically after the link is lost (default off). The first connection
    /// follows the same policy: see [`Client::connect`](crate::Client::connect).
    #[must_use = "a setter returns the changed configuration"]
    pub fn reconnect(mut self, reconnect: Option<Reconnect>) -> Self {
        self.reconnect = reconnect;
        self
    }

    /// Inbound messages buffered for the application (default 1024). Past it, the
    /// SMSC is answered `ESME_RX_T_APPN` and retries later: nothing is dropped.
    #[must_use = "a setter returns the changed configuration"]
    pub fn incoming_capacity(mut self, capacity: usize) -> Self {
        self.incoming_capacity = capacity.max(1);
        self
    }

    /// The session's timers and limits (enquire_link, inactivity, response timeout...),
    /// to change in place. [`with_session`](Self::with_session) does the same in a chain.
    pub fn session(&mut self) -> &mut SessionConfig {
        &mut self.session
    }

    /// Changes the session's timers and limits (enquire_link, inactivity, response
    /// timeout...) within a chain of setters.
    #[must_use = "a setter returns the changed configuration"]
    pub fn with_session(mut self, f: impl FnOnce(&mut SessionConfig)) -> Self {
        f(&mut self.session);
        self
    }

    /// `host:port`.
    pub fn addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

impl fmt::Debug for ClientConfig {
    /// Every field but the password, which shows as `***`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Destructured so that a new field cannot be forgotten here.
        let Self {
            host,
            port,
            mode,
            system_id,
            password: _,
            system_type,
            address_range,
            tls,
            connect_timeout,
            session,
            auto_ack,
            rate_limit,
            reconnect,
            incoming_capacity,
            bind_timeout,
            driver,
            retry,
        } = self;
        f.debug_struct("ClientConfig")
            .field("host", host)
            .field("port", port)
            .field("mode", mode)
            .field("system_id", system_id)
            .field("password", &format_args!("***"))
            .field("system_type", system_type)
            .field("address_range", address_range)
            .field("tls", tls)
            .field("connect_timeout", connect_timeout)
            .field("session", session)
            .field("auto_ack", auto_ack)
            .field("rate_limit", rate_limit)
            .field("reconnect", reconnect)
            .field("incoming_capacity", incoming_capacity)
            .field("bind_timeout", bind_timeout)
            .field("driver", driver)
            .field("retry", retry)
            .finish()
    }
}

// `serde` (feature `serde`): see the `ClientConfig` doc.
#[cfg(feature = "serde")]
mod serde_impl {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};
    use smpp_session::serde_duration;
    use smpp_wire::Address;

    use super::{BindMode, ClientConfig, InterfaceVersion, Reconnect, SessionConfig, ThrottleRetry, TlsOptions};

    /// `false` (off), `true` (on with the defaults) or the settings themselves.
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Toggle<T> {
        Flag(bool),
        Set(T),
    }

    impl<T: Default> Toggle<T> {
        fn into_option(self) -> Option<T> {
            match self {
                Self::Flag(false) => None,
                Self::Flag(true) => Some(T::default()),
                Self::Set(settings) => Some(settings),
            }
        }
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields, rename = "ClientConfig")]
    struct Repr {
        host: String,
        port: u16,
        system_id: String,
        password: String,
        bind_mode: Option<BindMode>,
        system_type: Option<String>,
        interface_version: Option<InterfaceVersion>,
        address_range: Option<Address<41>>,
        tls: Option<Toggle<TlsOptions>>,
        #[serde(default, deserialize_with = "serde_duration::deserialize_some")]
        connect_timeout: Option<Duration>,
        #[serde(default, deserialize_with = "serde_duration::deserialize_some")]
        bind_timeout: Option<Duration>,
        #[serde(default, deserialize_with = "serde_duration::option::given")]
        busy_poll: Option<Option<Duration>>,
        #[serde(default, deserialize_with = "serde_duration::option::given")]
        write_timeout: Option<Option<Duration>>,
        session: Option<SessionConfig>,
        window: Option<usize>,
        auto_ack: Option<bool>,
        rate_limit: Option<f64>,
        reconnect: Option<Toggle<Reconnect>>,
        incoming_capacity: Option<usize>,
        driver: Option<smpp_tokio::DriverConfig>,
        retry_throttled: Option<Toggle<ThrottleRetry>>,
    }

    /// A PEM as text (what a configuration file holds).
    pub(super) fn pem_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Vec<u8>>, D::Error> {
        Ok(Option::<String>::deserialize(deserializer)?.map(String::into_bytes))
    }

    impl<'de> Deserialize<'de> for ClientConfig {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            let r = Repr::deserialize(deserializer)?;
            let mut c = Self::new(&r.host, r.port, &r.system_id, &r.password);
            if let Some(session) = r.session {
                c.session = session;
            }
            // Through the setters, so their bounds and side effects apply.
            if let Some(v) = r.bind_mode {
                c = c.bind_mode(v);
            }
            if let Some(v) = r.system_type {
                c = c.system_type(&v);
            }
            if let Some(v) = r.interface_version {
                c = c.interface_version(v);
            }
            if let Some(v) = r.connect_timeout {
                c = c.connect_timeout(v);
            }
            if let Some(v) = r.bind_timeout {
                c = c.bind_timeout(v);
            }
            if let Some(v) = r.window {
                c = c.window(v);
            }
            if let Some(v) = r.auto_ack {
                c = c.auto_ack(v);
            }
            if let Some(v) = r.incoming_capacity {
                c = c.incoming_capacity(v);
            }
            if let Some(v) = r.address_range {
                c = c.address_range(v);
            }
            if let Some(v) = r.rate_limit {
                c = c.rate_limit(Some(v));
            }
            if let Some(v) = r.tls {
                c = c.tls(v.into_option());
            }
            if let Some(v) = r.reconnect {
                c = c.reconnect(v.into_option());
            }
            if let Some(v) = r.retry_throttled {
                c = c.retry_throttled(v.into_option());
            }
            if let Some(v) = r.driver {
                c.driver = v;
            }
            if let Some(v) = r.busy_poll {
                c = c.busy_poll(v);
            }
            if let Some(v) = r.write_timeout {
                c = c.write_timeout(v);
            }
            Ok(c)
        }
    }
}

#[cfg(all(test, feature = "serde"))]
mod serde_tests {
    use super::*;

    #[test]
    fn a_client_config_reads_from_text_with_defaults_for_what_is_left_out() {
        let c: ClientConfig = serde_json::from_str(
            r#"{"host": "smsc.example.com", "port": 2775, "system_id": "acme", "password": "pw",
                "bind_mode": "tx", "window": 50, "reconnect": true, "retry_throttled": false,
                "tls": {"server_name": "smsc"}, "session": {"enquire_link_interval": "30s"},
                "driver": {"busy_poll": "20us"}}"#,
        )
        .unwrap();
        assert_eq!(c.addr(), "smsc.example.com:2775");
        assert_eq!(c.mode, BindMode::Transmitter);
        assert_eq!(c.session.window_len(), 50);
        assert_eq!(c.reconnect.as_ref().map(|r| r.max), Some(Duration::from_secs(60)));
        assert!(c.retry.is_none());
        assert_eq!(c.tls.as_ref().and_then(|t| t.server_name.as_deref()), Some("smsc"));
        assert_eq!(c.driver.busy_poll, Some(Duration::from_micros(20)));
        assert_eq!(c.system_type, "smpp", "the default system_type");
        assert!(format!("{c:?}").contains("enquire_link_interval: Some(30s)"), "{c:?}");
    }

    #[test]
    fn a_client_config_needs_the_account_and_refuses_typos() {
        let e = serde_json::from_str::<ClientConfig>(r#"{"host": "h", "port": 1, "system_id": "a"}"#).unwrap_err();
        assert!(e.to_string().contains("missing field `password`"), "{e}");
        let e = serde_json::from_str::<ClientConfig>(
            r#"{"host": "h", "port": 1, "system_id": "a", "password": "p", "windw": 1}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("unknown field `windw`"), "{e}");
        let e = serde_json::from_str::<ClientConfig>(
            r#"{"host": "h", "port": 1, "system_id": "a", "password": "p", "connect_timeout": "off"}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("duration"), "a needed timeout cannot be off: {e}");
        let c: ClientConfig = serde_json::from_str(
            r#"{"host": "h", "port": 1, "system_id": "a", "password": "p", "interface_version": "3.3",
                "busy_poll": "50us", "write_timeout": "off"}"#,
        )
        .unwrap();
        assert_eq!(c.session.requested_version(), InterfaceVersion::V33);
        assert_eq!((c.driver.busy_poll, c.driver.write_timeout), (Some(Duration::from_micros(50)), None));
    }
}
