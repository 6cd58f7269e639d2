//! submit_sm -> submit_sm_resp round trips between an ESME and an SMSC session in
//! memory: the protocol cost per message without any I/O.
#![allow(clippy::disallowed_methods)]

use std::hint::black_box;
use std::time::Instant;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use smpp_session::smpp_wire::{Address, Body, CommandStatus, ShortMessage, SubmitSm, SubmitSmResp};
use smpp_session::{BindMode, BindRequest, Event, Request, Session, SessionConfig};

fn bound_pair(window: usize) -> (Session, Session, Instant) {
    let now = Instant::now();
    let mut config = SessionConfig::default();
    config.window(window).receive_window(window);
    let bind = BindRequest::new(BindMode::Transceiver, "user", "secret").unwrap();
    let mut esme = Session::esme(now, config.clone(), bind).unwrap();
    let mut smsc = Session::smsc(now, config);
    while let Some(t) = esme.poll_transmit() {
        smsc.handle_input(now, &t.bytes);
    }
    let Some(Event::BindRequest { seq, .. }) = smsc.poll_event() else { panic!("no bind") };
    smsc.accept_bind(now, seq, "SMSC").unwrap();
    while smsc.poll_event().is_some() {}
    while let Some(t) = smsc.poll_transmit() {
        esme.handle_input(now, &t.bytes);
    }
    while esme.poll_event().is_some() {}
    (esme, smsc, now)
}

fn submit() -> SubmitSm {
    let mut s = SubmitSm::default();
    s.source_addr = Address::international("12345").unwrap();
    s.destination_addr = Address::international("447700900123").unwrap();
    s.short_message = ShortMessage::new((0..160).map(|k| b'a' + (k % 26) as u8).collect::<Vec<u8>>()).unwrap();
    s
}

/// Sends `window` submits, carries them across, answers them, carries the answers back.
fn round_trips(esme: &mut Session, smsc: &mut Session, now: Instant, template: &SubmitSm, window: usize) -> usize {
    for _ in 0..window {
        esme.send(now, Request::SubmitSm(template.clone())).unwrap();
    }
    while let Some(t) = esme.poll_transmit() {
        smsc.handle_input(now, &t.bytes);
    }
    let mut resp = SubmitSmResp::default();
    resp.message_id = "1234567890".parse().unwrap();
    while let Some(e) = smsc.poll_event() {
        if let Event::Request { seq, .. } = e {
            smsc.respond(now, seq, CommandStatus::ESME_ROK, Body::SubmitSmResp(Some(resp.clone()))).unwrap();
        }
    }
    while let Some(t) = smsc.poll_transmit() {
        esme.handle_input(now, &t.bytes);
    }
    let mut done = 0;
    while let Some(e) = esme.poll_event() {
        if let Event::Response { .. } = e {
            done += 1;
        }
    }
    done
}

fn pair(c: &mut Criterion) {
    let template = submit();
    for window in [1usize, 10, 100] {
        let mut group = c.benchmark_group("pair_round_trip");
        group.throughput(Throughput::Elements(window as u64));
        group.bench_function(format!("window_{window}"), |b| {
            b.iter_batched_ref(
                || bound_pair(window),
                |(esme, smsc, now)| black_box(round_trips(esme, smsc, *now, &template, window)),
                BatchSize::LargeInput,
            )
        });
        group.finish();
    }
}

criterion_group!(benches, pair);
criterion_main!(benches);
