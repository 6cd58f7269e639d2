//! The accounting scenario with fixed seeds: every message's fate is truthful
//! whatever the SMSC does wrong. `cargo xtask chaos --secs N` runs random seeds.

use smpp_chaos::scenario::{Params, Report, run};

async fn seeds(range: std::ops::Range<u64>) -> Report {
    let mut total = Report::default();
    for s in range {
        let r = run(Params::ci(s)).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.accepted + r.refused + r.never_sent + r.unknown, 400, "seed {s}: {r:?}");
        total.accepted += r.accepted;
        total.refused += r.refused;
        total.unknown += r.unknown;
        total.throttled += r.throttled;
        total.retries += r.retries;
        total.redelivered += r.redelivered;
        total.resets += r.resets;
        total.stalls += r.stalls;
    }
    total
}

/// Twelve seeds, whose faults together cover every kind: the runs are not quiet.
#[tokio::test(start_paused = true)]
async fn every_message_is_accounted_for_under_random_faults() {
    let t = seeds(1..13).await;
    assert!(t.accepted > 0 && t.refused > 0 && t.unknown > 0, "{t:?}");
    assert!(t.throttled > 0 && t.retries > 0, "{t:?}");
    assert!(t.resets > 0 && t.stalls > 0 && t.redelivered > 0, "{t:?}");
}
