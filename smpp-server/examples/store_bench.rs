//! How many accepted-and-stored messages a second each store takes, called as the
//! simulator calls it under `smpp bench --window 1000`: about 1000 submits in flight,
//! each one `next_message_id` then `accept` with its receipt.
//!
//! ```sh
//! cargo run --release -p smpp-server --features sqlite --example store_bench [TOTAL [CALLERS [ROUNDS]]] [FILTER]
//! ```
//!
//! TOTAL accepts (default 300 000) from CALLERS concurrent tasks (default 1000) on a
//! two-worker runtime, per store: `MemoryStore`, then `SqliteStore` with synchronous
//! NORMAL and FULL and a few batch sizes, each in a fresh file under the temp folder
//! (removed after). Each line is the median of ROUNDS runs (default 3), with the
//! slowest and fastest. The `+ delivery` lines add what the receivers' side does
//! meanwhile: 125 tasks claim the receipts 8 at a time and ack each one. FILTER (any
//! argument that is not a number) runs only the lines whose label contains it.
//!
//! With the `redis` feature too (`--features sqlite,redis`), `RedisStore` lines
//! follow: `no receipt` (each submit `next_message_id` then `accept` with no
//! receipt: one `SET`), with a receipt (one script), and `+ delivery`. They use the
//! Redis at the URL in `SMPP_BENCH_REDIS` if set, else a `redis-server` (Debian
//! package `redis-server`) started on a free loopback port in a temp folder and
//! stopped after. Each round uses a fresh key prefix, deleted after the round.
#![allow(clippy::print_stdout, clippy::print_stderr)]

#[cfg(feature = "redis")]
#[path = "../tests/common/redis.rs"]
mod redis_server;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use smpp_server::DeliveryReceipt;
use smpp_server::smpp_wire::{Address, InterfaceVersion, MessageState};
use smpp_server::store::{Delivery, MemoryStore, Message, SqliteOptions, SqliteStore, SqliteSync, Store, StoreLimits};
use tokio::sync::Semaphore;

const ACCOUNT: &str = "bench";
/// Receipts are due at once: `DUE_MS` is before the receivers' `NOW_MS`.
const DUE_MS: u64 = 1_100;
const NOW_MS: u64 = 2_000;

#[derive(Clone, Copy)]
struct Run {
    total: usize,
    callers: usize,
    deliver: bool,
    /// Each accept carries a receipt.
    receipt: bool,
}

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let filter = std::env::args().skip(1).find(|a| a.parse::<usize>().is_err()).unwrap_or_default();
    let total = args.first().copied().unwrap_or(300_000);
    let callers = args.get(1).copied().unwrap_or(1_000);
    let rounds = args.get(2).copied().unwrap_or(3).max(1);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "{total} accepts with a receipt each, {callers} concurrent callers, median of {rounds} (load {})",
        load.trim()
    );

    for deliver in [false, true] {
        let run = Run { total, callers, deliver, receipt: true };
        let suffix = if deliver { " + delivery" } else { "" };
        let label = format!("MemoryStore{suffix}");
        if label.contains(&filter) {
            let rates = (0..rounds).map(|_| rt.block_on(measure(Arc::new(MemoryStore::new(limits())), run))).collect();
            report(&label, rates, None);
        }
        for (synchronous, name) in [(SqliteSync::Normal, "NORMAL"), (SqliteSync::Full, "FULL")] {
            let batches: &[usize] = if deliver { &[1024] } else { &[64, 256, 1024, 4096] };
            for &max_batch in batches {
                let label = format!("SqliteStore {name} batch {max_batch}{suffix}");
                if !label.contains(&filter) {
                    continue;
                }
                let mut size = 0;
                let rates = (0..rounds)
                    .map(|round| {
                        let dir = std::env::temp_dir()
                            .join(format!("smpp-store-bench-{}-{name}-{max_batch}-{round}", std::process::id()));
                        std::fs::create_dir(&dir).expect("a fresh temp folder");
                        let mut options = SqliteOptions::default();
                        options.synchronous = synchronous;
                        options.max_batch = max_batch;
                        let path = dir.join("store.db");
                        let store = SqliteStore::open_with(&path, limits(), options).expect("the store opens");
                        let rate = rt.block_on(measure(Arc::new(store), run));
                        size = file_size(&path);
                        let _ = std::fs::remove_dir_all(&dir);
                        rate
                    })
                    .collect();
                report(&label, rates, Some(size));
            }
        }
    }
    #[cfg(feature = "redis")]
    redis_lines(&rt, total, callers, rounds, &filter);
}

/// The `RedisStore` lines.
#[cfg(feature = "redis")]
fn redis_lines(rt: &tokio::runtime::Runtime, total: usize, callers: usize, rounds: usize, filter: &str) {
    use smpp_server::store::{RedisOptions, RedisStore};
    let lines =
        [("RedisStore no receipt", false, false), ("RedisStore", true, false), ("RedisStore + delivery", true, true)];
    if !lines.iter().any(|(label, ..)| label.contains(filter)) {
        return;
    }
    let (_server, url) = match std::env::var("SMPP_BENCH_REDIS") {
        Ok(url) => (None, url),
        Err(_) => {
            let server = redis_server::RedisServer::start();
            let url = server.url();
            (Some(server), url)
        }
    };
    for (label, receipt, deliver) in lines {
        if !label.contains(filter) {
            continue;
        }
        let run = Run { total, callers, deliver, receipt };
        let rates = (0..rounds)
            .map(|round| {
                let prefix = format!("smpp-store-bench-{}-{round}", std::process::id());
                rt.block_on(async {
                    let options = RedisOptions::default().prefix(&prefix).keep_messages_ms(600_000);
                    let store = RedisStore::connect(&url, limits(), options).await.expect("the Redis store connects");
                    let rate = measure(Arc::new(store), run).await;
                    forget(&url, &prefix).await;
                    rate
                })
            })
            .collect();
        report(label, rates, None);
    }
}

/// Deletes every key under `prefix`.
#[cfg(feature = "redis")]
async fn forget(url: &str, prefix: &str) {
    let client = redis::Client::open(url).expect("a Redis URL");
    let mut conn = client.get_multiplexed_async_connection().await.expect("a connection");
    let mut cursor = 0_u64;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}:*"))
            .arg("COUNT")
            .arg(10_000)
            .query_async(&mut conn)
            .await
            .expect("SCAN");
        if !keys.is_empty() {
            redis::cmd("UNLINK").arg(&keys).query_async::<()>(&mut conn).await.expect("UNLINK");
        }
        if next == 0 {
            break;
        }
        cursor = next;
    }
}

/// Nothing bounds the bench but its count.
fn limits() -> StoreLimits {
    let mut limits = StoreLimits::default();
    limits.max_waiting_per_account = usize::MAX;
    limits
}

fn report(label: &str, mut rates: Vec<f64>, file: Option<u64>) {
    rates.sort_by(f64::total_cmp);
    let median = rates.get(rates.len() / 2).copied().unwrap_or(0.0);
    let (low, high) = (rates.first().copied().unwrap_or(0.0), rates.last().copied().unwrap_or(0.0));
    let file = file.map_or(String::new(), |size| format!("   file {:.0} MB", size as f64 / 1e6));
    println!("{label:<40} {median:>9.0} accepts/s  ({low:.0}..{high:.0}){file}");
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// Accepts per second over `run.total` accepts from `run.callers` tasks; the store is
/// closed (and its file folded) after the clock stops.
async fn measure<S: Store>(store: Arc<S>, run: Run) -> f64 {
    let left = Arc::new(AtomicUsize::new(run.total));
    // One permit per receipt accepted and not yet claimed.
    let accepted = Arc::new(Semaphore::new(0));
    let start = Instant::now();
    let producers: Vec<_> = (0..run.callers)
        .map(|_| {
            let (store, left, accepted) = (Arc::clone(&store), Arc::clone(&left), Arc::clone(&accepted));
            tokio::spawn(async move {
                let source = Address::international("447700900123").expect("an address");
                let destination = Address::international("12345").expect("an address");
                while left.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1)).is_ok() {
                    let id = store.next_message_id().await.expect("an id");
                    let receipt = DeliveryReceipt::new(&id, source, destination, MessageState::DELIVERED)
                        .to_deliver_sm(InterfaceVersion::V34);
                    let message = Message::new(&id, ACCOUNT, 1_000, DUE_MS, MessageState::DELIVERED);
                    if run.receipt {
                        store.accept(message, Some(Delivery::new(ACCOUNT, DUE_MS, receipt))).await.expect("accepted");
                        accepted.add_permits(1);
                    } else {
                        store.accept(message, None).await.expect("accepted");
                    }
                }
            })
        })
        .collect();
    let receivers: Vec<_> = (0..if run.deliver { 125 } else { 0 })
        .map(|_| {
            let (store, accepted) = (Arc::clone(&store), Arc::clone(&accepted));
            tokio::spawn(async move {
                while let Ok(permits) = accepted.acquire_many(8).await {
                    permits.forget();
                    let entries = store.claim(ACCOUNT, NOW_MS, 8).await.expect("claimed");
                    // Every ack queued before the first is awaited, like a window of resps.
                    let acks: Vec<_> = entries.iter().map(|e| store.ack(&e.id)).collect();
                    for ack in acks {
                        ack.await.expect("acked");
                    }
                }
            })
        })
        .collect();
    for task in producers {
        task.await.expect("a producer");
    }
    let rate = run.total as f64 / start.elapsed().as_secs_f64();
    accepted.close();
    for task in receivers {
        task.await.expect("a receiver");
    }
    rate
}
