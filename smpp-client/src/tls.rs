//! Opening the stream: TCP with a connect timeout, optionally TLS (rustls).

use std::sync::Arc;

use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, pem::PemObject};
use tokio_rustls::rustls::{ClientConfig as RustlsConfig, RootCertStore};

use crate::client::BoxStream;
use crate::config::{ClientConfig, TlsOptions};
use crate::error::ClientError;

/// Connects to the configured address, over TLS when configured.
pub(crate) async fn open_stream(config: &ClientConfig) -> Result<BoxStream, ClientError> {
    let addr = config.addr();
    let tcp = match tokio::time::timeout(config.connect_timeout, TcpStream::connect(&addr)).await {
        Err(_) => return Err(ClientError::ConnectTimeout { addr, timeout: config.connect_timeout }),
        Ok(Err(source)) => return Err(ClientError::Connect { addr, source }),
        Ok(Ok(tcp)) => tcp,
    };
    let _ = tcp.set_nodelay(true);
    let Some(tls) = &config.tls else { return Ok(Box::new(tcp)) };
    let tls_error = |reason: String| ClientError::Tls { addr: addr.clone(), reason };
    let connector = TlsConnector::from(Arc::new(rustls_config(tls).map_err(&tls_error)?));
    let name = tls.server_name.clone().unwrap_or_else(|| config.host.clone());
    let name = ServerName::try_from(name).map_err(|e| tls_error(e.to_string()))?;
    let handshake = connector.connect(name, tcp);
    match tokio::time::timeout(config.connect_timeout, handshake).await {
        Err(_) => Err(tls_error(format!("handshake timed out after {:?}", config.connect_timeout))),
        Ok(Err(e)) => Err(tls_error(e.to_string())),
        Ok(Ok(stream)) => Ok(Box::new(stream)),
    }
}

/// Trusts the configured CA certificates, or the public web roots.
fn rustls_config(tls: &TlsOptions) -> Result<RustlsConfig, String> {
    let mut roots = RootCertStore::empty();
    match &tls.ca_pem {
        Some(pem) => {
            for cert in CertificateDer::pem_slice_iter(pem) {
                roots.add(cert.map_err(|e| format!("bad CA PEM: {e}"))?).map_err(|e| e.to_string())?;
            }
            if roots.is_empty() {
                return Err("the CA PEM holds no certificate".into());
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    Ok(RustlsConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth())
}
