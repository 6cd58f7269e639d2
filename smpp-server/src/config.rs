//! [`ServerConfig`]: limits and identity of a server.

use std::net::SocketAddr;

use smpp_session::SessionConfig;
use smpp_tokio::DriverConfig;

/// Limits and identity of a server.
///
/// ```
/// use smpp_server::ServerConfig;
/// let config = ServerConfig::new("127.0.0.1:2775".parse().unwrap()).max_binds_per_account(4).system_id("SMSC");
/// ```
///
/// With the feature `serde` it is written out whole and read back with only
/// `listen` required (the rest keeps the defaults of [`new`](Self::new)); durations
/// are text (`"10s"`).
///
/// ```
/// # #[cfg(feature = "serde")] {
/// let config: smpp_server::ServerConfig =
///     serde_json::from_str(r#"{"listen": "127.0.0.1:2775", "max_binds_per_account": 4}"#).unwrap();
/// assert_eq!(config.max_binds_per_account, 4);
/// # }
/// ```
#[non_exhaustive]
#[derive(Clone, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ServerConfig {
    /// The address [`Server::start`](crate::Server::start) listens on.
    pub listen: SocketAddr,
    /// The system_id the server answers binds with.
    pub system_id: String,
    /// Most connections at once (default 20 000); past it, new connections are closed.
    pub max_connections: usize,
    /// Most binds one account may hold at once unless its [`Limits`](crate::Limits)
    /// say otherwise (default 10); past it, `ESME_RBINDFAIL`.
    pub max_binds_per_account: usize,
    /// Session settings: window, session-init timeout (the bind timeout), inactivity
    /// timeout (default 5 min, as the platform), enquire_link.
    pub session: SessionConfig,
    /// How each connection's driver waits: see
    /// [`DriverConfig::busy_poll`] (default: sleep at once).
    pub driver: DriverConfig,
    /// How long a TLS handshake may take (default 10 s).
    #[cfg_attr(feature = "serde", serde(with = "smpp_session::serde_duration"))]
    pub tls_handshake_timeout: std::time::Duration,
}

/// The session defaults of an SMSC.
fn server_session() -> SessionConfig {
    let mut session = SessionConfig::default();
    // An SMSC does not probe idle ESMEs: the ESME sends enquire_link, and the
    // inactivity timeout drops a link that goes silent.
    session.enquire_link_interval(None).window(100).receive_window(1000);
    session
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for ServerConfig {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        /// A `session` table read over the server's session defaults (no
        /// enquire_link, a window of 100), not over `SessionConfig::default()`.
        fn over_server_defaults<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<SessionConfig, D::Error> {
            let mut session = server_session();
            session.deserialize_over(deserializer)?;
            Ok(session)
        }
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields, rename = "ServerConfig")]
        struct Repr {
            listen: SocketAddr,
            system_id: Option<String>,
            max_connections: Option<usize>,
            max_binds_per_account: Option<usize>,
            #[serde(default = "server_session", deserialize_with = "over_server_defaults")]
            session: SessionConfig,
            driver: Option<DriverConfig>,
            #[serde(default, deserialize_with = "smpp_session::serde_duration::deserialize_some")]
            tls_handshake_timeout: Option<std::time::Duration>,
        }
        let r = Repr::deserialize(deserializer)?;
        let defaults = Self::new(r.listen);
        Ok(Self {
            listen: r.listen,
            system_id: r.system_id.unwrap_or(defaults.system_id),
            max_connections: r.max_connections.unwrap_or(defaults.max_connections),
            max_binds_per_account: r.max_binds_per_account.unwrap_or(defaults.max_binds_per_account),
            session: r.session,
            driver: r.driver.unwrap_or(defaults.driver),
            tls_handshake_timeout: r.tls_handshake_timeout.unwrap_or(defaults.tls_handshake_timeout),
        })
    }
}

impl ServerConfig {
    /// Defaults on the given address.
    pub fn new(listen: SocketAddr) -> Self {
        Self {
            listen,
            system_id: "smpp-rs".into(),
            max_connections: 20_000,
            max_binds_per_account: 10,
            session: server_session(),
            driver: DriverConfig::default(),
            tls_handshake_timeout: std::time::Duration::from_secs(10),
        }
    }

    /// Sets [`system_id`](Self::system_id).
    pub fn system_id(mut self, system_id: &str) -> Self {
        self.system_id = system_id.to_owned();
        self
    }

    /// Sets [`max_connections`](Self::max_connections).
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max;
        self
    }

    /// Sets [`max_binds_per_account`](Self::max_binds_per_account).
    pub fn max_binds_per_account(mut self, max: usize) -> Self {
        self.max_binds_per_account = max;
        self
    }

    /// Changes the session settings in place.
    pub fn with_session(mut self, f: impl FnOnce(&mut SessionConfig)) -> Self {
        f(&mut self.session);
        self
    }

    /// Sets [`driver`](Self::driver).
    pub fn driver(mut self, driver: DriverConfig) -> Self {
        self.driver = driver;
        self
    }
}

#[cfg(all(test, feature = "serde"))]
mod serde_tests {
    use super::*;

    #[test]
    fn a_server_config_goes_out_and_comes_back() {
        let c = ServerConfig::new("127.0.0.1:2775".parse().unwrap()).max_connections(7).system_id("SMSC");
        let json = serde_json::to_string(&c).unwrap();
        assert!(json.contains(r#""tls_handshake_timeout":"10s""#), "{json}");
        let back: ServerConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(format!("{back:?}"), format!("{c:?}"));
        let e = serde_json::from_str::<ServerConfig>(r#"{"max_connections": 1}"#).unwrap_err();
        assert!(e.to_string().contains("missing field `listen`"), "{e}");
    }

    #[test]
    fn a_simulator_config_refuses_an_mo_period_of_zero() {
        let e = serde_json::from_str::<crate::SimulatorConfig>(r#"{"mo_every": "0s"}"#).unwrap_err();
        assert!(e.to_string().contains("zero"), "{e}");
        let c: crate::SimulatorConfig = serde_json::from_str(r#"{"mo_every": "2s"}"#).unwrap();
        assert_eq!(c.mo_every, Some(std::time::Duration::from_secs(2)));
    }

    #[test]
    fn a_session_table_is_read_over_the_servers_defaults_and_a_needed_timeout_cannot_be_off() {
        let c: ServerConfig =
            serde_json::from_str(r#"{"listen": "127.0.0.1:2775", "session": {"inactivity_timeout": "10m"}}"#).unwrap();
        let defaults = ServerConfig::new("127.0.0.1:2775".parse().unwrap());
        assert_eq!(c.session.window_len(), defaults.session.window_len(), "the server's window of 100 stays");
        assert_eq!(format!("{:?}", c.session).matches("enquire_link_interval: None").count(), 1, "{:?}", c.session);
        let e = serde_json::from_str::<ServerConfig>(r#"{"listen": "127.0.0.1:1", "tls_handshake_timeout": "off"}"#)
            .unwrap_err();
        assert!(e.to_string().contains("duration"), "{e}");
    }
}
