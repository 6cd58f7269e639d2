//! Connection settings: flags, then environment variables, then a TOML file.

use std::path::PathBuf;

use serde::Deserialize;
use smpp_client::smpp_wire::InterfaceVersion;
use smpp_client::{BindMode, ClientConfig, TlsOptions};

/// The connection flags of send, listen and bench (also taken before the
/// subcommand). Each also reads its `SMPP_*` variable, before the subcommand only
/// (`main` drops the variables of the subcommands' copies), so flags beat them.
#[derive(Debug, Default, clap::Args)]
pub(crate) struct ConnectionArgs {
    /// SMSC host (none: start the built-in simulator).
    #[arg(long, env = "SMPP_HOST")]
    host: Option<String>,
    /// SMSC port [default: 2775].
    #[arg(long, env = "SMPP_PORT")]
    port: Option<u16>,
    /// Account (system_id) [default: smppclient1].
    #[arg(long, env = "SMPP_SYSTEM_ID")]
    system_id: Option<String>,
    /// Password [default: password].
    #[arg(long, env = "SMPP_PASSWORD", hide_env_values = true)]
    password: Option<Secret>,
    /// system_type [default: smpp].
    #[arg(long, env = "SMPP_SYSTEM_TYPE")]
    system_type: Option<String>,
    /// Bind mode: trx, tx or rx [default: trx].
    #[arg(long, env = "SMPP_BIND")]
    bind: Option<String>,
    /// interface_version: 34 or 33 [default: 34].
    #[arg(long, env = "SMPP_INTERFACE_VERSION")]
    interface_version: Option<String>,
    /// Connect with TLS.
    #[arg(long, env = "SMPP_TLS")]
    tls: bool,
    /// With --tls: trust the CA certificate(s) in this PEM file instead of the public
    /// web roots (a private CA, or the SMSC's self-signed certificate).
    #[arg(long, env = "SMPP_CA_FILE")]
    ca_file: Option<PathBuf>,
    /// With --tls: the name to check the SMSC's certificate against [default: the host].
    #[arg(long, env = "SMPP_TLS_SERVER_NAME")]
    tls_server_name: Option<String>,
    /// Busy-poll each connection for this many microseconds after activity instead of
    /// sleeping at once: lower latency for a busy CPU (0 or unset: off).
    #[arg(long, env = "SMPP_BUSY_POLL_US")]
    busy_poll_us: Option<u64>,
    /// How long to wait to connect, for the bind response and for each response,
    /// in seconds [default: 10 to connect and bind, 30 per response].
    #[arg(long, env = "SMPP_TIMEOUT", value_name = "SECS")]
    timeout: Option<u64>,
    /// A TOML file with any of: host, port, system_id, password, system_type, bind,
    /// interface_version, tls, ca_file, tls_server_name, busy_poll_us; and, for
    /// `serve`, `[[account]]` tables (system_id, password, and optional window,
    /// receive_window, throttle, max_binds), and for `serve --upstream` the keys
    /// `upstream` (a list of URLs) and `policy`, and `[[route]]` (account, prefix,
    /// to) and `[[mo_route]]` (prefix, account) tables.
    #[arg(long, env = "SMPP_CONFIG")]
    config: Option<PathBuf>,
}

/// A password, never shown by `Debug`.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub(crate) struct Secret(pub(crate) String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

/// An account the simulator accepts (`serve`), from the TOML file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AccountEntry {
    pub(crate) system_id: String,
    pub(crate) password: Secret,
    /// Pushes (receipts, MO) awaiting the ESME's answer at once.
    pub(crate) window: Option<usize>,
    /// The ESME's requests awaiting the simulator's answer at once.
    pub(crate) receive_window: Option<usize>,
    /// Submits a second before ESME_RTHROTTLED.
    pub(crate) throttle: Option<u32>,
    /// Binds at once.
    pub(crate) max_binds: Option<usize>,
}

/// A gateway route (`serve --upstream`), from the TOML file: `[[route]]` with an
/// optional `account` and `prefix`, and `to`, the upstreams as `NAME` or
/// `NAME*WEIGHT`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RouteEntry {
    pub(crate) account: Option<String>,
    pub(crate) prefix: Option<String>,
    pub(crate) to: Vec<String>,
}

/// A gateway MO route, from the TOML file: `[[mo_route]]` with `prefix` and
/// `account`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MoRouteEntry {
    pub(crate) prefix: String,
    pub(crate) account: String,
}

/// The gateway's part of the TOML file.
#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct GatewayFile {
    /// `upstream = ["smpp://...", ...]`.
    #[serde(default)]
    pub(crate) upstream: Vec<String>,
    #[serde(default)]
    pub(crate) route: Vec<RouteEntry>,
    #[serde(default)]
    pub(crate) mo_route: Vec<MoRouteEntry>,
    /// `store-and-forward` or `pass-through`.
    pub(crate) policy: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    host: Option<String>,
    port: Option<u16>,
    system_id: Option<String>,
    password: Option<Secret>,
    system_type: Option<String>,
    bind: Option<String>,
    interface_version: Option<String>,
    tls: Option<bool>,
    ca_file: Option<PathBuf>,
    tls_server_name: Option<String>,
    busy_poll_us: Option<u64>,
    #[serde(default, rename = "account")]
    accounts: Vec<AccountEntry>,
    #[serde(default)]
    upstream: Vec<String>,
    #[serde(default)]
    route: Vec<RouteEntry>,
    #[serde(default)]
    mo_route: Vec<MoRouteEntry>,
    policy: Option<String>,
}

/// Resolved settings.
#[derive(Debug)]
pub(crate) struct Connection {
    pub(crate) host: Option<String>,
    pub(crate) port: u16,
    pub(crate) system_id: String,
    pub(crate) password: Secret,
    system_type: String,
    /// The system_type as given (flag, variable or file), if it was.
    pub(crate) system_type_given: Option<String>,
    pub(crate) bind: BindMode,
    /// Whether a bind mode was given at all (listen picks receiver otherwise).
    pub(crate) bind_given: Option<BindMode>,
    version: InterfaceVersion,
    pub(crate) tls: bool,
    /// The CA certificates to trust (PEM), read from `--ca-file`.
    ca_pem: Option<Vec<u8>>,
    tls_server_name: Option<String>,
    /// How long drivers busy-poll (`None`: not at all).
    pub(crate) busy_poll: Option<std::time::Duration>,
    /// Accounts from the file, for `serve`.
    pub(crate) accounts: Vec<AccountEntry>,
    /// Upstreams, routes and policy from the file, for `serve` as a gateway.
    pub(crate) gateway: GatewayFile,
    /// `--timeout`.
    timeout: Option<std::time::Duration>,
}

impl ConnectionArgs {
    /// These flags, each filled from `other` where not given here.
    pub(crate) fn or(self, other: Self) -> Self {
        Self {
            host: self.host.or(other.host),
            port: self.port.or(other.port),
            system_id: self.system_id.or(other.system_id),
            password: self.password.or(other.password),
            system_type: self.system_type.or(other.system_type),
            bind: self.bind.or(other.bind),
            interface_version: self.interface_version.or(other.interface_version),
            tls: self.tls || other.tls,
            ca_file: self.ca_file.or(other.ca_file),
            tls_server_name: self.tls_server_name.or(other.tls_server_name),
            busy_poll_us: self.busy_poll_us.or(other.busy_poll_us),
            timeout: self.timeout.or(other.timeout),
            config: self.config.or(other.config),
        }
    }

    /// What `serve` takes of these: the file (for its accounts), the system_type
    /// binds must carry, and busy polling.
    pub(crate) fn for_serve(config: Option<PathBuf>, system_type: Option<String>, busy_poll_us: Option<u64>) -> Self {
        Self { config, system_type, busy_poll_us, ..Self::default() }
    }

    /// Flags and variables first, then the file, then defaults.
    pub(crate) fn resolve(self) -> Result<Connection, String> {
        let file = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                toml::from_str::<FileConfig>(&text).map_err(|e| format!("{}: {e}", path.display()))?
            }
            None => FileConfig::default(),
        };
        let bind_text = self.bind.or(file.bind);
        let bind_given = match bind_text.as_deref() {
            None => None,
            Some("trx") => Some(BindMode::Transceiver),
            Some("tx") => Some(BindMode::Transmitter),
            Some("rx") => Some(BindMode::Receiver),
            Some(other) => return Err(format!("--bind {other:?}: expected trx, tx or rx")),
        };
        let version = match self.interface_version.or(file.interface_version).as_deref() {
            None | Some("34") | Some("0x34") => InterfaceVersion::V34,
            Some("33") | Some("0x33") => InterfaceVersion::V33,
            Some(other) => return Err(format!("--interface-version {other:?}: expected 34 or 33")),
        };
        let system_type_given = self.system_type.or(file.system_type);
        let ca_file = self.ca_file.or(file.ca_file);
        let ca_pem = match &ca_file {
            Some(path) => Some(std::fs::read(path).map_err(|e| format!("--ca-file {}: {e}", path.display()))?),
            None => None,
        };
        let tls = self.tls || file.tls.unwrap_or(false);
        if ca_pem.is_some() && !tls {
            return Err("--ca-file is for TLS connections: add --tls".into());
        }
        Ok(Connection {
            host: self.host.or(file.host),
            port: self.port.or(file.port).unwrap_or(2775),
            system_id: self.system_id.or(file.system_id).unwrap_or_else(|| "smppclient1".into()),
            password: self.password.or(file.password).unwrap_or_else(|| Secret("password".into())),
            system_type: system_type_given.clone().unwrap_or_else(|| "smpp".into()),
            system_type_given,
            bind: bind_given.unwrap_or(BindMode::Transceiver),
            bind_given,
            version,
            tls,
            ca_pem,
            tls_server_name: self.tls_server_name.or(file.tls_server_name),
            accounts: file.accounts,
            gateway: GatewayFile {
                upstream: file.upstream,
                route: file.route,
                mo_route: file.mo_route,
                policy: file.policy,
            },
            timeout: self.timeout.filter(|s| *s > 0).map(std::time::Duration::from_secs),
            busy_poll: self
                .busy_poll_us
                .or(file.busy_poll_us)
                .filter(|us| *us > 0)
                .map(std::time::Duration::from_micros),
        })
    }
}

impl Connection {
    /// The client configuration for `host:port`.
    pub(crate) fn client_config(&self, host: &str, port: u16) -> ClientConfig {
        let tls = self.tls.then(|| {
            let mut tls = TlsOptions::default();
            tls.ca_pem.clone_from(&self.ca_pem);
            tls.server_name.clone_from(&self.tls_server_name);
            tls
        });
        let config = ClientConfig::new(host, port, &self.system_id, &self.password.0)
            .bind_mode(self.bind)
            .system_type(&self.system_type)
            .interface_version(self.version)
            .busy_poll(self.busy_poll)
            .tls(tls);
        match self.timeout {
            Some(t) => config.connect_timeout(t).bind_timeout(t).with_session(|s| {
                s.response_timeout(Some(t));
            }),
            None => config,
        }
    }
}
