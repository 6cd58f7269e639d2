//! What the stack reports about its traffic: the `metrics` facade (rendered by the
//! Prometheus exporter, installed for this test's thread only) and the stats
//! snapshots of `Client` and the server handle, after the same known traffic.

mod common;
#[path = "common/prometheus.rs"]
mod prometheus;

use common::{Sim, client_config, eventually, sim_config, sm};
use metrics_exporter_prometheus::PrometheusBuilder;
use prometheus::sample;
use smpp_client::RequestError;
use smpp_client::smpp_wire::{CommandId, CommandStatus};
use smpp_session::Direction::{In, Out};

#[test]
fn metrics_and_stats_count_the_traffic_on_both_sides() {
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().unwrap();
    let (client_stats, server_stats) = metrics::with_local_recorder(&recorder, || {
        runtime.block_on(async {
            let mut config = sim_config();
            config.throttle = Some(12);
            let sim = Sim::new(config);
            let (client, mut incoming) = sim.client(client_config("alice", "secret")).await.unwrap();
            for _ in 0..10 {
                client.submit(sm("447700900123", true)).await.unwrap();
            }
            for _ in 0..10 {
                incoming.recv().await.expect("a receipt");
            }
            // The account's throttle (12 a second) answers some of these
            // ESME_RTHROTTLED until the next second; the client sends them again.
            for _ in 0..4 {
                client.submit(sm("447700900123", false)).await.unwrap();
            }
            // A refusal, answered with its status.
            let refused = client.submit(sm("99911", false)).await;
            assert!(matches!(refused, Err(RequestError::Status(CommandStatus::ESME_RINVDSTADR))), "{refused:?}");
            eventually("the receipts' answers are counted", || {
                sim.handle.server.stats().wire.pdus_of(In, CommandId::DELIVER_SM_RESP) == 10
            })
            .await;
            let stats = (client.stats(), sim.handle.server.stats());
            client.unbind().await;
            eventually("the session is gone", || sim.handle.server.stats().bound == 0).await;
            stats
        })
    });
    // The snapshots.
    let throttled = client_stats.throttled;
    assert!(throttled >= 2, "at least the 13th and 14th submits of the first second: {client_stats:?}");
    let submits = 10 + 4 + 1 + throttled;
    assert_eq!(client_stats.link.wire.pdus_of(Out, CommandId::SUBMIT_SM), submits);
    assert_eq!(client_stats.link.wire.pdus_of(In, CommandId::DELIVER_SM), 10);
    assert_eq!(client_stats.link.wire.error_responses(In), throttled + 1, "the throttled, one refused");
    assert_eq!((client_stats.link.bound, client_stats.link.in_flight), (1, 0));
    assert_eq!((client_stats.retries, client_stats.reconnects), (throttled, 0));
    assert_eq!(server_stats.wire.pdus_of(In, CommandId::SUBMIT_SM), submits);
    assert_eq!(server_stats.wire.pdus_of(Out, CommandId::DELIVER_SM), 10);
    let out: Vec<_> = server_stats.wire.responses(Out).collect();
    assert!(out.contains(&(Some(CommandStatus::ESME_RTHROTTLED), throttled)), "{out:?}");
    assert!(out.contains(&(Some(CommandStatus::ESME_RINVDSTADR), 1)), "{out:?}");
    assert_eq!(server_stats.bound, 1);
    // The same through the metrics facade.
    let text = handle.render();
    let get = |name: &str, labels: &[(&str, &str)]| {
        sample(&text, name, labels).unwrap_or_else(|| panic!("{name} {labels:?} in\n{text}"))
    };
    let n = submits as f64;
    assert_eq!(get("smpp_pdus_total", &[("role", "esme"), ("direction", "out"), ("command", "submit_sm")]), n);
    assert_eq!(get("smpp_pdus_total", &[("role", "smsc"), ("direction", "in"), ("command", "submit_sm")]), n);
    assert_eq!(get("smpp_pdus_total", &[("role", "smsc"), ("direction", "out"), ("command", "deliver_sm")]), 10.0);
    assert_eq!(
        get("smpp_responses_total", &[("role", "esme"), ("direction", "in"), ("status", "ESME_RTHROTTLED")]),
        throttled as f64
    );
    assert_eq!(
        get("smpp_responses_total", &[("role", "smsc"), ("direction", "out"), ("status", "ESME_RINVDSTADR")]),
        1.0
    );
    // bind_transceiver_resp, the 14 accepted submits, and unbind_resp.
    assert_eq!(get("smpp_responses_total", &[("role", "esme"), ("direction", "in"), ("status", "ESME_ROK")]), 16.0);
    assert_eq!(get("smpp_response_seconds_count", &[("role", "esme"), ("command", "submit_sm")]), n);
    assert_eq!(get("smpp_response_seconds_count", &[("role", "smsc"), ("command", "deliver_sm")]), 10.0);
    assert_eq!(get("smpp_throttled_total", &[("role", "esme")]), throttled as f64);
    assert_eq!(get("smpp_throttle_retries_total", &[("role", "esme")]), throttled as f64);
    assert_eq!(get("smpp_window_in_flight", &[("role", "esme")]), 0.0);
    let bound = |role, mode| get("smpp_bound_sessions", &[("role", role), ("mode", mode), ("account", "alice")]);
    assert_eq!((bound("esme", "transceiver"), bound("smsc", "transceiver")), (0.0, 0.0), "up, then down at the unbind");
}

#[tokio::test(start_paused = true)]
async fn a_session_cut_off_by_the_server_stops_counting_as_bound() {
    let sim = Sim::new(sim_config());
    let (client, _incoming) = sim.client(client_config("alice", "secret")).await.unwrap();
    client.submit(sm("447700900123", false)).await.unwrap();
    eventually("bound", || sim.handle.server.stats().bound == 1).await;
    let id = sim.handle.server.sessions()[0].info.id;
    // drop_session aborts the connection's task: no clean end of the driver.
    assert!(sim.handle.server.drop_session(id));
    eventually("the aborted session is no longer bound", || sim.handle.server.stats().bound == 0).await;
    assert_eq!(sim.handle.server.stats().in_flight, 0);
}
