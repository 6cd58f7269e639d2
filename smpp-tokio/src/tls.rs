//! TLS with rustls, for both ends (feature `tls`).
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
//!
//! # Crypto provider and roots
//! The features choose what is compiled in:
//! - `tls-ring` or `tls-aws-lc-rs`: rustls's crypto provider. A provider the
//!   application installed with
//!   [`CryptoProvider::install_default`](tokio_rustls::rustls::crypto::CryptoProvider::install_default)
//!   comes first; else aws-lc-rs when both are compiled in (as rustls itself prefers);
//!   with neither and none installed, [`connector`] and [`acceptor`] return a
//!   [`TlsError`] saying so.
//! - `tls-webpki-roots` (Mozilla's roots, compiled in) and `tls-native-roots` (the
//!   platform's store, read when a connector is made): whom [`connector`]`(None)`
//!   trusts. With both, it trusts either; with neither, it needs a CA PEM.

use std::sync::Arc;

pub use tokio_rustls;
use tokio_rustls::rustls::crypto::CryptoProvider;
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

/// The crypto provider the helpers use: the process default if the application
/// installed one, else the one compiled in (aws-lc-rs before ring).
pub fn provider() -> Result<Arc<CryptoProvider>, TlsError> {
    if let Some(installed) = CryptoProvider::get_default() {
        return Ok(Arc::clone(installed));
    }
    compiled_provider().map(Arc::new).ok_or_else(|| {
        TlsError(
            "no TLS crypto provider: build with the `tls-ring` or `tls-aws-lc-rs` feature, \
             or install one with rustls's CryptoProvider::install_default"
                .into(),
        )
    })
}

#[cfg(feature = "tls-aws-lc-rs")]
fn compiled_provider() -> Option<CryptoProvider> {
    Some(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider())
}

#[cfg(all(feature = "tls-ring", not(feature = "tls-aws-lc-rs")))]
fn compiled_provider() -> Option<CryptoProvider> {
    Some(tokio_rustls::rustls::crypto::ring::default_provider())
}

#[cfg(not(any(feature = "tls-ring", feature = "tls-aws-lc-rs")))]
fn compiled_provider() -> Option<CryptoProvider> {
    None
}

/// The public roots compiled in or read from the platform (see the module doc);
/// empty with neither root feature.
fn public_roots() -> Result<RootCertStore, TlsError> {
    #[allow(unused_mut, reason = "filled only by the root features")]
    let mut roots = RootCertStore::empty();
    #[cfg(feature = "tls-webpki-roots")]
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    #[cfg(feature = "tls-native-roots")]
    {
        let found = rustls_native_certs::load_native_certs();
        if roots.is_empty() && found.certs.is_empty() {
            let why = found.errors.first().map_or_else(|| "none found".to_owned(), ToString::to_string);
            return Err(TlsError(format!("cannot read the platform's root certificates: {why}")));
        }
        // A platform store may hold certificates rustls cannot parse; the rest still count.
        let _ = roots.add_parsable_certificates(found.certs);
    }
    if roots.is_empty() {
        let why = if cfg!(feature = "tls-native-roots") {
            "none of the platform's root certificates could be used: give the SMSC's CA PEM, \
             or build with the `tls-webpki-roots` feature"
        } else {
            "no root certificates to trust: give the SMSC's CA PEM, or build with the \
             `tls-webpki-roots` or `tls-native-roots` feature"
        };
        return Err(TlsError(why.into()));
    }
    Ok(roots)
}

/// A client-side connector trusting the CA certificates in `ca_pem`, or the public
/// roots when `None` (see the module doc for which).
pub fn connector(ca_pem: Option<&[u8]>) -> Result<TlsConnector, TlsError> {
    let roots = match ca_pem {
        Some(pem) => {
            let mut roots = RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(pem) {
                let cert = cert.map_err(|e| TlsError(format!("bad CA PEM: {e}")))?;
                roots.add(cert).map_err(|e| TlsError(e.to_string()))?;
            }
            if roots.is_empty() {
                return Err(TlsError("the CA PEM holds no certificate".into()));
            }
            roots
        }
        None => public_roots()?,
    };
    let config = ClientConfig::builder_with_provider(provider()?)
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
    let config = ServerConfig::builder_with_provider(provider()?)
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

    #[cfg(any(feature = "tls-ring", feature = "tls-aws-lc-rs"))]
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

    #[cfg(not(any(feature = "tls-ring", feature = "tls-aws-lc-rs")))]
    #[test]
    fn without_a_provider_the_helpers_say_which_feature_is_missing() {
        let key = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let cert = key.cert.pem();
        let Err(e) = acceptor(cert.as_bytes(), key.key_pair.serialize_pem().as_bytes()) else {
            panic!("made an acceptor with no crypto provider")
        };
        assert!(e.0.contains("tls-ring"), "{e}");
        let Err(e) = connector(Some(cert.as_bytes())) else { panic!("made a connector with no crypto provider") };
        assert!(e.0.contains("no TLS crypto provider"), "{e}");
    }

    #[cfg(all(feature = "tls-ring", not(any(feature = "tls-webpki-roots", feature = "tls-native-roots"))))]
    #[test]
    fn without_roots_a_connector_needs_a_ca() {
        let Err(e) = connector(None) else { panic!("made a connector trusting nothing") };
        assert!(e.0.contains("tls-webpki-roots"), "{e}");
    }

    #[cfg(feature = "tls-webpki-roots")]
    #[test]
    fn the_public_roots_are_trusted_when_no_ca_is_given() {
        assert!(public_roots().unwrap().len() > 50);
    }

    #[test]
    fn bad_pem_is_a_typed_error() {
        let Err(e) = acceptor(b"nope", b"nope") else { panic!("accepted a bad PEM") };
        assert!(e.0.contains("no certificate"), "{e}");
        let Err(e) = connector(Some(b"nope")) else { panic!("accepted a bad PEM") };
        assert!(e.0.contains("no certificate"), "{e}");
    }
}
