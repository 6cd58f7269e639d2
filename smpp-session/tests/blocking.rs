//! The blocking example, run as a test: the session works in a plain `std::net` loop.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

#[path = "../examples/blocking_client.rs"]
mod example;

#[test]
fn a_blocking_std_net_loop_binds_submits_and_unbinds() {
    let addr = example::start_smsc().unwrap();
    let id = example::run_esme(&addr, "user", "secret", "447700900123", "hi").unwrap();
    assert_eq!(id, "1");
}
