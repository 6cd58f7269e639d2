//! A crypto provider the application installed as rustls's process default comes
//! before the ones compiled in (its own test binary: the default is process-wide).

use std::sync::Arc;

use smpp_tokio::tls::tokio_rustls::rustls::crypto::{CryptoProvider, ring};

#[test]
fn the_installed_process_default_provider_is_used() {
    // Before anything is installed: one compiled in, not a default.
    assert!(CryptoProvider::get_default().is_none());
    let compiled = smpp_tokio::tls::provider().unwrap();
    assert!(CryptoProvider::get_default().is_none(), "the helpers install nothing");

    let mut own = ring::default_provider();
    // Recognisable: only its own cipher suite.
    own.cipher_suites.truncate(1);
    own.install_default().unwrap();
    let used = smpp_tokio::tls::provider().unwrap();
    assert!(Arc::ptr_eq(&used, CryptoProvider::get_default().unwrap()));
    assert_eq!(used.cipher_suites.len(), 1);
    assert!(compiled.cipher_suites.len() > 1);
}
