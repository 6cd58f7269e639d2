//! With the feature `log`, an application that uses the `log` crate (and no
//! `tracing` subscriber) sees the session's events.
#![allow(clippy::disallowed_methods)]

use std::sync::Mutex;
use std::time::Instant;

use smpp_session::{BindMode, BindRequest, Event, Session, SessionConfig};

/// Keeps every record's target and message.
struct Recorder(Mutex<Vec<(String, String)>>);

impl log::Log for Recorder {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        self.0.lock().unwrap().push((record.target().to_owned(), record.args().to_string()));
    }
    fn flush(&self) {}
}

static RECORDER: Recorder = Recorder(Mutex::new(Vec::new()));

#[test]
fn a_bind_is_seen_by_a_log_logger() {
    log::set_logger(&RECORDER).unwrap();
    log::set_max_level(log::LevelFilter::Trace);

    let now = Instant::now();
    let bind = BindRequest::new(BindMode::Transceiver, "smppclient1", "password").unwrap();
    let mut esme = Session::esme(now, SessionConfig::default(), bind).unwrap();
    let mut smsc = Session::smsc(now, SessionConfig::default());
    // Bounded: a bind takes one request and one response.
    for _ in 0..4 {
        while let Some(t) = esme.poll_transmit() {
            smsc.handle_input(now, &t.bytes);
        }
        while let Some(event) = smsc.poll_event() {
            if let Event::BindRequest { seq, .. } = event {
                smsc.accept_bind(now, seq, "SMSC").unwrap();
            }
        }
        while let Some(t) = smsc.poll_transmit() {
            esme.handle_input(now, &t.bytes);
        }
        while esme.poll_event().is_some() {}
    }

    let records = RECORDER.0.lock().unwrap();
    assert!(
        records.iter().any(|(target, message)| target.starts_with("smpp_session") && message.contains("bound")),
        "no `bound` record from smpp_session in {records:?}"
    );
}
