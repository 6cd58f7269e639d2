//! Opening the stream: TCP with a connect timeout, optionally TLS (feature `tls`).

use tokio::net::TcpStream;

use crate::config::ClientConfig;
use crate::error::ClientError;
use smpp_tokio::BoxStream;

/// Connects to the configured address, over TLS when configured.
pub(crate) async fn open_stream(config: &ClientConfig) -> Result<BoxStream, ClientError> {
    let addr = config.addr();
    let tcp = match tokio::time::timeout(config.connect_timeout, TcpStream::connect(&addr)).await {
        Err(_) => return Err(ClientError::ConnectTimeout { addr, timeout: config.connect_timeout }),
        Ok(Err(source)) => return Err(ClientError::Connect { addr, source }),
        Ok(Ok(tcp)) => tcp,
    };
    let _ = tcp.set_nodelay(true);
    match &config.tls {
        None => Ok(Box::new(tcp)),
        Some(tls) => handshake(config, tls, tcp).await,
    }
}

#[cfg(feature = "tls")]
async fn handshake(
    config: &ClientConfig,
    tls: &crate::config::TlsOptions,
    tcp: TcpStream,
) -> Result<BoxStream, ClientError> {
    use smpp_tokio::tls::tokio_rustls::rustls::pki_types::ServerName;
    let addr = config.addr();
    let tls_error = |reason: String| ClientError::Tls { addr: addr.clone(), reason };
    let connector = smpp_tokio::tls::connector(tls.ca_pem.as_deref()).map_err(|e| tls_error(e.0))?;
    let name = tls.server_name.clone().unwrap_or_else(|| config.host.clone());
    let name = ServerName::try_from(name).map_err(|e| tls_error(e.to_string()))?;
    match tokio::time::timeout(config.connect_timeout, connector.connect(name, tcp)).await {
        Err(_) => Err(tls_error(format!("handshake timed out after {:?}", config.connect_timeout))),
        Ok(Err(e)) => Err(tls_error(e.to_string())),
        Ok(Ok(stream)) => Ok(Box::new(stream)),
    }
}

#[cfg(not(feature = "tls"))]
async fn handshake(
    config: &ClientConfig,
    _tls: &crate::config::TlsOptions,
    _tcp: TcpStream,
) -> Result<BoxStream, ClientError> {
    Err(ClientError::Tls { addr: config.addr(), reason: "smpp-client was built without the `tls` feature".into() })
}
