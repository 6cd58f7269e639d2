//! The accounting scenario with fixed seeds: every message's fate is truthful
//! whatever the SMSC does wrong. `cargo xtask chaos --secs N` runs random seeds.

use smpp_chaos::scenario::{Params, run};

async fn seed(s: u64) {
    match run(Params::ci(s)).await {
        Ok(report) => {
            // The faults really happened: the run is not a quiet one.
            assert!(report.accepted > 0, "{report:?}");
            assert_eq!(report.accepted + report.refused + report.never_sent + report.unknown, 400, "{report:?}");
        }
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test(start_paused = true)]
async fn seed_1() {
    seed(1).await;
}

#[tokio::test(start_paused = true)]
async fn seed_2() {
    seed(2).await;
}

#[tokio::test(start_paused = true)]
async fn seed_3() {
    seed(3).await;
}

#[tokio::test(start_paused = true)]
async fn seed_4() {
    seed(4).await;
}

#[tokio::test(start_paused = true)]
async fn seed_5() {
    seed(5).await;
}

#[tokio::test(start_paused = true)]
async fn seed_6() {
    seed(6).await;
}
