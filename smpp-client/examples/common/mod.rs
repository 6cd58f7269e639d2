//! What the examples share: the client configuration for the SMSC they are pointed at.

use std::error::Error;

use smpp_client::ClientConfig;

/// The client configuration for `HOST:PORT`, with the account from `SMPP_SYSTEM_ID`
/// and `SMPP_PASSWORD` (default smppclient1 / password, the simulator's).
pub(crate) fn config_for(addr: &str) -> Result<ClientConfig, Box<dyn Error>> {
    let (host, port) = addr.rsplit_once(':').ok_or("the SMSC address must be HOST:PORT")?;
    let system_id = std::env::var("SMPP_SYSTEM_ID").unwrap_or_else(|_| "smppclient1".to_owned());
    let password = std::env::var("SMPP_PASSWORD").unwrap_or_else(|_| "password".to_owned());
    Ok(ClientConfig::new(host, port.parse()?, &system_id, &password))
}
