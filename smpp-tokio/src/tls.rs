//! TLS with rustls and the ring provider, for both ends (feature `tls`).
//!
//! SMPP over TLS is plain SMPP inside a TLS stream: the driver runs over the
//! [`TlsStream`](tokio_rustls::client::TlsStream) as over TCP.
//!
//! ```
//! # fn f(cert_pem: &[u8], key_pem: &[u8]) -> Result<(), smpp_tokio::tls::TlsError> {
//! let acceptor = smpp_tokio::tls::acceptor(cert_pem, key_pem)?; // an SMSC's listener
//! let connector = smpp_tokio::tls::connector(Some(cert_pem))?; // an ESME trusting that certificate
//! # let _ = (acceptor, connector); Ok(()) }
//! ```

use std::sync::Arc;

pub use tokio_rustls;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
use tokio_rustls::rustls::{ClientConfig, RootCertStore, ServerConfig};
use tokio_rustls::{TlsAcceptor, TlsConnector};

/// Why a TLS configuration could not be made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsError(pub String);

impl std::fmt::Display for TlsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TlsError {}

fn provider() -> Arc<tokio_rustls::rustls::crypto::CryptoProvider> {
    Arc::new(tokio_rustls::rustls::crypto::ring::default_provider())
}

/// A client-side connector trusting the CA certificates in `ca_pem`, or the public
/// web roots when `None`.
pub fn connector(ca_pem: Option<&[u8]>) -> Result<TlsConnector, TlsError> {
    let mut roots = RootCertStore::empty();
    match ca_pem {
        Some(pem) => {
            for cert in CertificateDer::pem_slice_iter(pem) {
                let cert = cert.map_err(|e| TlsError(format!("bad CA PEM: {e}")))?;
                roots.add(cert).map_err(|e| TlsError(e.to_string()))?;
            }
            if roots.is_empty() {
                return Err(TlsError("the CA PEM holds no certificate".into()));
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

/// A server-side acceptor presenting the certificate chain in `cert_pem` with the
/// private key in `key_pem` (PKCS#8, PKCS#1 or SEC1).
pub fn acceptor(cert_pem: &[u8], key_pem: &[u8]) -> Result<TlsAcceptor, TlsError> {
    let chain = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError(format!("bad certificate PEM: {e}")))?;
    if chain.is_empty() {
        return Err(TlsError("the certificate PEM holds no certificate".into()));
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| TlsError(format!("bad key PEM: {e}")))?;
    let config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| TlsError(e.to_string()))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_connector_and_an_acceptor_talk() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let key = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let cert = key.cert.pem();
        let acceptor = acceptor(cert.as_bytes(), key.key_pair.serialize_pem().as_bytes()).unwrap();
        let connector = connector(Some(cert.as_bytes())).unwrap();
        let (a, b) = tokio::io::duplex(1 << 14);
        let server = tokio::spawn(async move {
            let mut s = acceptor.accept(b).await.unwrap();
            let mut buf = [0u8; 5];
            s.read_exact(&mut buf).await.unwrap();
            buf
        });
        let name = tokio_rustls::rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let mut c = connector.connect(name, a).await.unwrap();
        c.write_all(b"hello").await.unwrap();
        c.flush().await.unwrap();
        assert_eq!(&server.await.unwrap(), b"hello");
    }

    #[test]
    fn bad_pem_is_a_typed_error() {
        let Err(e) = acceptor(b"nope", b"nope") else { panic!("accepted a bad PEM") };
        assert!(e.0.contains("no certificate"), "{e}");
        let Err(e) = connector(Some(b"nope")) else { panic!("accepted a bad PEM") };
        assert!(e.0.contains("no certificate"), "{e}");
    }
}
