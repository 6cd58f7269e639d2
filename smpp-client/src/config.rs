//! [`ClientConfig`]: where to connect, how to bind, and how the client behaves.

use std::time::Duration;

use smpp_pdu::{Address, InterfaceVersion};
use smpp_session::{BindMode, SessionConfig};

/// TLS options (rustls).
#[non_exhaustive]
#[derive(Clone, Debug, Default)]
pub struct TlsOptions {
    /// PEM certificates to trust instead of the public web roots (a private CA or a
    /// self-signed SMSC certificate).
    pub ca_pem: Option<Vec<u8>>,
    /// The name to check the certificate against, if not the host.
    pub server_name: Option<String>,
}

/// Reconnection with exponential back-off and jitter.
#[non_exhaustive]
#[derive(Clone, Debug)]
pub struct Reconnect {
    /// First delay (default 1 s).
    pub initial: Duration,
    /// Longest delay (default 60 s).
    pub max: Duration,
    /// How long a request waits for the link to come back before failing with
    /// [`RequestError::NotConnected`](crate::RequestError::NotConnected) (default 30 s).
    pub down_wait: Duration,
}

impl Default for Reconnect {
    fn default() -> Self {
        Self { initial: Duration::from_secs(1), max: Duration::from_secs(60), down_wait: Duration::from_secs(30) }
    }
}

/// Retrying requests the SMSC throttled. `ESME_RTHROTTLED` and `ESME_RMSGQFUL` mean
/// "not accepted", so sending the same request again cannot duplicate it.
///
/// ```
/// use std::time::Duration;
/// use smpp_client::{ClientConfig, ThrottleRetry};
/// let mut retry = ThrottleRetry::default();
/// retry.deadline = Duration::from_secs(10);
/// let mut config = ClientConfig::new("127.0.0.1", 2775, "smppclient1", "password");
/// config.retry_throttled(Some(retry));
/// ```
#[non_exhaustive]
#[derive(Clone, Debug)]
pub struct ThrottleRetry {
    /// Retrying stops this long after the first throttle answer; the caller then gets
    /// the throttle status (default 60 s). Waiting for the adaptive rate never
    /// outlasts it.
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

/// How to reach and bind to an SMSC. The defaults work against the platform this
/// stack serves: system_type `smpp`, interface_version 0x34, enquire_link every 60 s.
///
/// ```
/// use smpp_client::{ClientConfig, BindMode};
/// let mut config = ClientConfig::new("127.0.0.1", 2775, "smppclient1", "password");
/// config.bind_mode(BindMode::Transmitter).window(100).rate_limit(Some(50.0));
/// ```
#[derive(Clone, Debug)]
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
    pub(crate) window: usize,
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
            window: 10,
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
    pub fn busy_poll(&mut self, spin: Option<Duration>) -> &mut Self {
        self.driver.busy_poll = spin;
        self
    }

    /// How long output may wait for an SMSC that reads none of it before the
    /// connection is closed (default 60 s; `None`: for ever). See
    /// [`DriverConfig::write_timeout`](smpp_tokio::DriverConfig::write_timeout).
    pub fn write_timeout(&mut self, timeout: Option<Duration>) -> &mut Self {
        self.driver.write_timeout = timeout;
        self
    }

    /// Whether and how requests throttled by the SMSC (`ESME_RTHROTTLED`,
    /// `ESME_RMSGQFUL`) are sent again (default: retried for up to 60 s under a rate
    /// that adapts; `None`: the caller gets the status at once).
    pub fn retry_throttled(&mut self, retry: Option<ThrottleRetry>) -> &mut Self {
        self.retry = retry;
        self
    }

    /// How the connection's driver waits (see [`busy_poll`](Self::busy_poll)).
    pub fn driver_config(&self) -> smpp_tokio::DriverConfig {
        self.driver
    }

    /// Transmitter, receiver or transceiver (default transceiver).
    pub fn bind_mode(&mut self, mode: BindMode) -> &mut Self {
        self.mode = mode;
        self
    }

    /// `system_type` (default `smpp`).
    pub fn system_type(&mut self, system_type: &str) -> &mut Self {
        self.system_type = system_type.to_owned();
        self
    }

    /// `interface_version` (default 0x34; 0x33 for a v3.3 SMSC, which gets no TLVs).
    pub fn interface_version(&mut self, version: InterfaceVersion) -> &mut Self {
        self.session.interface_version(version);
        self
    }

    /// `addr_ton`, `addr_npi` and `address_range`.
    pub fn address_range(&mut self, range: Address<41>) -> &mut Self {
        self.address_range = range;
        self
    }

    /// Connect over TLS.
    pub fn tls(&mut self, tls: Option<TlsOptions>) -> &mut Self {
        self.tls = tls;
        self
    }

    /// How long the TCP (and TLS) connection may take (default 10 s).
    pub fn connect_timeout(&mut self, timeout: Duration) -> &mut Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long to wait for the bind response (default 10 s).
    pub fn bind_timeout(&mut self, timeout: Duration) -> &mut Self {
        self.bind_timeout = timeout;
        self.session.bind_timeout(Some(timeout));
        self
    }

    /// Requests in flight at once (default 10). Past it, requests wait.
    pub fn window(&mut self, window: usize) -> &mut Self {
        self.window = window.max(1);
        self.session.window(self.window);
        self
    }

    /// Whether inbound deliver_sm and data_sm are answered `ESME_ROK` by the client
    /// (default), or left to the application ([`Inbound::respond`](crate::Inbound::respond)).
    pub fn auto_ack(&mut self, auto: bool) -> &mut Self {
        self.auto_ack = auto;
        self
    }

    /// A client-side limit in requests per second for this bind (default none).
    pub fn rate_limit(&mut self, per_second: Option<f64>) -> &mut Self {
        self.rate_limit = per_second.filter(|r| *r > 0.0);
        self
    }

    /// Rebind automatically after the link is lost (default off). The first connection
    /// follows the same policy: see [`Client::connect`](crate::Client::connect).
    pub fn reconnect(&mut self, reconnect: Option<Reconnect>) -> &mut Self {
        self.reconnect = reconnect;
        self
    }

    /// Inbound messages buffered for the application (default 1024). Past it, the
    /// SMSC is answered `ESME_RX_T_APPN` and retries later: nothing is dropped.
    pub fn incoming_capacity(&mut self, capacity: usize) -> &mut Self {
        self.incoming_capacity = capacity.max(1);
        self
    }

    /// The session's timers and limits (enquire_link, inactivity, response timeout...).
    pub fn session(&mut self) -> &mut SessionConfig {
        &mut self.session
    }

    /// `host:port`.
    pub fn addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}
