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

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for ServerConfig {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields, rename = "ServerConfig")]
        struct Repr {
            listen: SocketAddr,
            system_id: Option<String>,
            max_connections: Option<usize>,
            max_binds_per_account: Option<usize>,
            session: Option<SessionConfig>,
            driver: Option<DriverConfig>,
            #[serde(default, with = "smpp_session::serde_duration::option")]
            tls_handshake_timeout: Option<std::time::Duration>,
        }
        let r = Repr::deserialize(deserializer)?;
        let defaults = Self::new(r.listen);
        Ok(Self {
            listen: r.listen,
            system_id: r.system_id.unwrap_or(defaults.system_id),
            max_connections: r.max_connections.unwrap_or(defaults.max_connections),
            max_binds_per_account: r.max_binds_per_account.unwrap_or(defaults.max_binds_per_account),
            session: r.session.unwrap_or(defaults.session),
            driver: r.driver.unwrap_or(defaults.driver),
            tls_handshake_timeout: r.tls_handshake_timeout.unwrap_or(defaults.tls_handshake_timeout),
        })
    }
}

impl ServerConfig {
    /// Defaults on the given address.
    pub fn new(listen: SocketAddr) -> Self {
        let mut session = SessionConfig::default();
        // An SMSC does not probe idle ESMEs: the ESME sends enquire_link, and the
        // inactivity timeout drops a link that goes silent.
        session.enquire_link_interval(None).window(100).receive_window(1000);
        Self {
            listen,
            system_id: "smpp-rs".into(),
            max_connections: 20_000,
            max_binds_per_account: 10,
            session,
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
}
