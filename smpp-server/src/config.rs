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
#[non_exhaustive]
#[derive(Clone, Debug)]
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
    pub tls_handshake_timeout: std::time::Duration,
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
