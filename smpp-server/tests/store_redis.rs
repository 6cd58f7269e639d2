//! `RedisStore` against a real `redis-server` (started by each test, on a free
//! port): the conformance suite, and what only a shared store promises: several
//! nodes on one Redis hand out distinct ids, take over a dead node's claims, share
//! the bind limit and the per-second rates; and a Redis that goes away fails calls
//! rather than hanging them.

#[path = "common/redis.rs"]
mod redis_server;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use redis_server::RedisServer;
use smpp_server::smpp_wire::{Address, DeliverSm, EsmClass, MessageState, ShortMessage};
use smpp_server::store::{Delivery, Message, RedisOptions, RedisStore, Store, StoreError, StoreLimits, conformance};

const ACCOUNT: &str = "shared";

/// A prefix no other store in this test process uses.
fn fresh_prefix(name: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!("test-{name}-{}", N.fetch_add(1, Ordering::Relaxed))
}

async fn node(redis: &RedisServer, prefix: &str, limits: StoreLimits) -> RedisStore {
    RedisStore::connect(&redis.url(), limits, RedisOptions::default().prefix(prefix)).await.expect("the store connects")
}

fn limits(claim_timeout_ms: u64) -> StoreLimits {
    let mut limits = StoreLimits::default();
    limits.claim_timeout_ms = claim_timeout_ms;
    limits
}

fn receipt(k: usize) -> DeliverSm {
    let mut d = DeliverSm::default();
    d.source_addr = Address::international("447700900123").expect("a valid address");
    d.destination_addr = Address::international("12345").expect("a valid address");
    d.esm_class = EsmClass(0x04);
    d.short_message = ShortMessage::new(format!("id:{k} stat:DELIVRD").into_bytes()).expect("a short text");
    d
}

/// Accepts a message of [`ACCOUNT`] with its receipt, due at `due_ms`.
async fn accept_one(store: &RedisStore, k: usize, due_ms: u64) -> Result<String, StoreError> {
    let id = store.next_message_id().await?;
    let message = Message::new(&id, ACCOUNT, 1_000, due_ms, MessageState::DELIVERED);
    store.accept(message, Some(Delivery::new(ACCOUNT, due_ms, receipt(k)))).await?;
    Ok(id)
}

#[tokio::test]
async fn the_redis_store_passes_the_conformance_suite() {
    let redis = RedisServer::start();
    let result = conformance::check(async |limits| node(&redis, &fresh_prefix("conformance"), limits).await).await;
    assert_eq!(result, Ok(()));
}

#[tokio::test]
async fn the_store_is_shared_and_shows_no_password() {
    let redis = RedisServer::start();
    let client = redis::Client::open(redis.url()).expect("a Redis URL");
    let mut admin = client.get_multiplexed_async_connection().await.expect("a plain connection");
    redis::cmd("CONFIG").arg("SET").arg("requirepass").arg("s3cret").exec_async(&mut admin).await.expect("a password");
    let url = |password: &str| format!("redis://:{password}@127.0.0.1:{}/", redis.port);
    let store = RedisStore::connect(&url("s3cret"), StoreLimits::default(), RedisOptions::default().prefix("debug"))
        .await
        .expect("connects with the password");
    assert!(store.shared());
    let shown = format!("{store:?}");
    assert!(shown.contains(&format!("127.0.0.1:{}", redis.port)) && shown.contains("debug"), "{shown}");
    assert!(!shown.contains("s3cret"), "Debug shows the password: {shown}");
    let refused = RedisStore::connect(&url("n0t-it"), StoreLimits::default(), RedisOptions::default()).await;
    match refused {
        Err(StoreError::Unavailable(why)) => assert!(!why.contains("n0t-it"), "the error shows the password: {why}"),
        other => panic!("a wrong password: {other:?}"),
    }
    let bad = RedisStore::connect("http://nowhere/", StoreLimits::default(), RedisOptions::default()).await;
    assert!(matches!(bad, Err(StoreError::Unavailable(_))), "not a redis URL: {bad:?}");
}

#[tokio::test]
async fn message_ids_are_unique_across_nodes() {
    let redis = RedisServer::start();
    let prefix = fresh_prefix("ids");
    let options = RedisOptions::default().prefix(&prefix).id_block(100);
    let a = RedisStore::connect(&redis.url(), StoreLimits::default(), options.clone()).await.expect("node A");
    let b = RedisStore::connect(&redis.url(), StoreLimits::default(), options).await.expect("node B");
    let mut seen = HashSet::new();
    for _ in 0..5_000 {
        for store in [&a, &b] {
            let id = store.next_message_id().await.expect("an id");
            assert!(
                id.len() == 8 && id.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_lowercase()),
                "{id} is 8 base-36 digits"
            );
            assert!(seen.insert(id.clone()), "{id} handed out twice");
        }
    }
    // A third node, later, still hands out new ones.
    let c = node(&redis, &prefix, StoreLimits::default()).await;
    for _ in 0..1_000 {
        let id = c.next_message_id().await.expect("an id");
        assert!(seen.insert(id.clone()), "{id} handed out again by a new node");
    }
}

#[tokio::test]
async fn a_dead_nodes_claims_are_taken_over_once_they_time_out() {
    let redis = RedisServer::start();
    let prefix = fresh_prefix("takeover");
    let a = node(&redis, &prefix, limits(1_000)).await;
    let b = node(&redis, &prefix, limits(1_000)).await;
    let mut ids = Vec::new();
    for k in 0..5 {
        ids.push(accept_one(&a, k, 100 + k as u64).await.expect("accepted on A"));
    }
    // B sees what A accepted.
    for id in &ids {
        let m = b.message(id).await.expect("a lookup on B");
        assert!(m.is_some_and(|m| m.account == ACCOUNT), "message {id} from A is found on B");
    }
    assert_eq!(b.waiting(ACCOUNT).await, Ok(5));
    assert!(b.due().await.expect("due on B").contains(&(ACCOUNT.to_owned(), 100)));
    // A claims them all at 200, and dies without answering.
    let claimed = a.claim(ACCOUNT, 200, 10).await.expect("claimed on A");
    assert_eq!(claimed.len(), 5);
    drop(a);
    assert!(b.due().await.expect("due on B").contains(&(ACCOUNT.to_owned(), 1_200)), "due when A's claims end");
    assert!(b.claim(ACCOUNT, 1_199, 10).await.expect("a claim on B").is_empty(), "A's claims still run");
    let taken = b.claim(ACCOUNT, 1_200, 10).await.expect("a claim on B");
    assert_eq!(taken.len(), 5, "B takes over A's claims: {taken:?}");
    assert!(taken.iter().all(|e| e.attempts == 1), "each counts A's attempt: {taken:?}");
    let texts: Vec<_> = taken.iter().map(|e| e.delivery.deliver.short_message.as_bytes().to_vec()).collect();
    let expected: Vec<_> = (0..5).map(|k| format!("id:{k} stat:DELIVRD").into_bytes()).collect();
    assert_eq!(texts, expected, "oldest first, whole");
    for e in &taken {
        b.ack(&e.id).await.expect("acked on B");
    }
    assert_eq!(b.waiting(ACCOUNT).await, Ok(0));
    assert!(!b.due().await.expect("due").iter().any(|(a, _)| a == ACCOUNT), "an account with nothing is not due");
}

#[tokio::test]
async fn a_release_sets_the_due_time_and_ids_of_other_accounts_or_stores_do_nothing() {
    let redis = RedisServer::start();
    let store = node(&redis, &fresh_prefix("release"), limits(1_000)).await;
    accept_one(&store, 0, 100).await.expect("accepted");
    let claimed = store.claim(ACCOUNT, 100, 10).await.expect("claimed");
    let [entry] = claimed.as_slice() else { panic!("one entry: {claimed:?}") };
    // Ids this store did not make, or naming another account, are ignored.
    let (n, _) = entry.id.0.split_once(':').expect("N:ACCOUNT");
    for forged in [format!("{n}:other"), n.to_owned(), "garbage".to_owned(), String::new()] {
        let forged = smpp_server::store::EntryId(forged);
        store.ack(&forged).await.expect("an unknown id is acked quietly");
        store.release(&forged, 0).await.expect("an unknown id is released quietly");
    }
    assert_eq!(store.waiting(ACCOUNT).await, Ok(1), "the entry is still there");
    assert!(store.claim(ACCOUNT, 1_099, 10).await.expect("a claim").is_empty(), "and still claimed");
    store.release(&entry.id, 5_000).await.expect("released");
    assert_eq!(store.due().await.expect("due"), vec![(ACCOUNT.to_owned(), 5_000)]);
    let again = store.claim(ACCOUNT, 5_000, 10).await.expect("claimed again");
    let [retry] = again.as_slice() else { panic!("one entry: {again:?}") };
    assert_eq!((retry.id.clone(), retry.delivery.due_ms, retry.attempts), (entry.id.clone(), 5_000, 1));
    assert_eq!(retry.delivery.deliver, receipt(0), "the PDU comes back whole");
    store.ack(&retry.id).await.expect("acked");
    store.ack(&retry.id).await.expect("acked twice");
    assert_eq!(store.waiting(ACCOUNT).await, Ok(0));
    assert_eq!(store.due().await, Ok(Vec::new()));
}

#[tokio::test]
async fn the_bind_limit_holds_across_nodes() {
    let redis = RedisServer::start();
    let prefix = fresh_prefix("binds");
    let a = node(&redis, &prefix, StoreLimits::default()).await;
    let b = node(&redis, &prefix, StoreLimits::default()).await;
    assert_eq!(a.acquire_bind(ACCOUNT, "a/1", 2, 0, 10_000).await, Ok(true));
    assert_eq!(a.acquire_bind(ACCOUNT, "a/2", 2, 0, 10_000).await, Ok(true));
    assert_eq!(b.acquire_bind(ACCOUNT, "b/1", 2, 1, 10_000).await, Ok(false), "a third bind, on B");
    assert_eq!(b.binds(ACCOUNT, 1).await, Ok(2), "B counts A's binds");
    // A renews one of them, then dies: the other lease ends at 10 000, this at 20 000.
    a.renew_binds(vec![(ACCOUNT.to_owned(), "a/2".to_owned())], 20_000).await.expect("renewed");
    drop(a);
    assert_eq!(b.acquire_bind(ACCOUNT, "b/1", 2, 9_999, 30_000).await, Ok(false), "A's leases still run");
    assert_eq!(b.acquire_bind(ACCOUNT, "b/1", 2, 10_000, 30_000).await, Ok(true), "one of A's leases ran out");
    assert_eq!(b.acquire_bind(ACCOUNT, "b/2", 2, 19_999, 30_000).await, Ok(false), "the renewed one still runs");
    assert_eq!(b.acquire_bind(ACCOUNT, "b/2", 2, 20_000, 30_000).await, Ok(true), "both of A's leases ran out");
    assert_eq!(b.binds(ACCOUNT, 20_000).await, Ok(2));
    b.release_bind(ACCOUNT, "b/1").await.expect("released");
    assert_eq!(b.binds(ACCOUNT, 20_000).await, Ok(1));
}

#[tokio::test]
async fn the_rate_is_shared_by_nodes() {
    let redis = RedisServer::start();
    let prefix = fresh_prefix("rate");
    let a = node(&redis, &prefix, StoreLimits::default()).await;
    let b = node(&redis, &prefix, StoreLimits::default()).await;
    let mut taken = 0;
    for k in 0..10 {
        let store = if k % 2 == 0 { &a } else { &b };
        if store.take_rate(ACCOUNT, 5, 7_000 + k).await.expect("a rate") {
            taken += 1;
        }
    }
    assert_eq!(taken, 5, "5 a second between the two nodes");
    assert_eq!(b.take_rate(ACCOUNT, 5, 8_000).await, Ok(true), "the next second");
    assert_eq!(a.take_rate("another", 5, 7_999).await, Ok(true), "another account");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_accepts_are_all_kept() {
    let redis = RedisServer::start();
    let mut wide = limits(30_000);
    wide.max_waiting_per_account = 1_000;
    let store = Arc::new(node(&redis, &fresh_prefix("concurrent"), wide).await);
    let tasks: Vec<_> = (0..1_000)
        .map(|k| {
            let store = Arc::clone(&store);
            tokio::spawn(async move { accept_one(&store, k, 5_000).await })
        })
        .collect();
    let mut ids = HashSet::new();
    for task in tasks {
        ids.insert(task.await.expect("a task").expect("accepted"));
    }
    assert_eq!(ids.len(), 1_000, "1000 distinct ids");
    assert_eq!(store.waiting(ACCOUNT).await, Ok(1_000));
    let over = accept_one(&store, 1_000, 5_000).await;
    assert!(matches!(over, Err(StoreError::Full { max: 1_000, .. })), "the 1001st receipt: {over:?}");
    for id in &ids {
        let m = store.message(id).await.expect("a lookup");
        assert!(m.is_some_and(|m| m.id == *id && m.final_state == MessageState::DELIVERED), "{id} kept");
    }
    let entries = store.claim(ACCOUNT, 5_000, 2_000).await.expect("claimed");
    assert_eq!(entries.len(), 1_000);
}

#[tokio::test]
async fn messages_are_kept_for_keep_messages_ms() {
    let redis = RedisServer::start();
    let options = RedisOptions::default().prefix(fresh_prefix("keep")).keep_messages_ms(50);
    let store = RedisStore::connect(&redis.url(), StoreLimits::default(), options).await.expect("connected");
    let kept = Message::new("smsc-ref-42", "acc:with:colons", 0, 1, MessageState::EXPIRED);
    store.accept(kept.clone(), None).await.expect("accepted");
    assert_eq!(store.message("smsc-ref-42").await, Ok(Some(kept)), "an id the store did not make, read back");
    // The TTL runs on Redis's clock: wait for it (bounded).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while store.message("smsc-ref-42").await.expect("a lookup").is_some() {
        assert!(tokio::time::Instant::now() < deadline, "the message outlived keep_messages_ms");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_redis_that_goes_away_fails_calls_and_one_that_comes_back_is_used_again() {
    let mut redis = RedisServer::start();
    let prefix = fresh_prefix("gone");
    let mut options = RedisOptions::default().prefix(&prefix).timeout_ms(1_000);
    options.id_block = 10;
    let store = RedisStore::connect(&redis.url(), limits(30_000), options).await.expect("connected");
    accept_one(&store, 0, 100).await.expect("accepted while Redis runs");
    redis.kill();
    let patience = Duration::from_secs(5);
    for k in 1..4 {
        let id = tokio::time::timeout(patience, store.next_message_id()).await.expect("no hang");
        // Ids come from the reserved block while it lasts.
        let id = id.unwrap_or_else(|_| "00000000".to_owned());
        let message = Message::new(&id, ACCOUNT, 0, 100, MessageState::DELIVERED);
        let accepted =
            tokio::time::timeout(patience, store.accept(message, Some(Delivery::new(ACCOUNT, 100, receipt(k)))))
                .await
                .expect("an accept fails within the timeout, it does not hang");
        assert!(matches!(accepted, Err(StoreError::Unavailable(_))), "an accept with Redis gone: {accepted:?}");
        let plain = tokio::time::timeout(
            patience,
            store.accept(Message::new(&id, ACCOUNT, 0, 1, MessageState::DELIVERED), None),
        )
        .await
        .expect("no hang");
        assert!(matches!(plain, Err(StoreError::Unavailable(_))), "{plain:?}");
        let claimed = tokio::time::timeout(patience, store.claim(ACCOUNT, 100, 10)).await.expect("no hang");
        assert!(matches!(claimed, Err(StoreError::Unavailable(_))), "{claimed:?}");
    }
    // Ids run out with no Redis to reserve more: an error, not a hang.
    let mut failed = false;
    for _ in 0..20 {
        if tokio::time::timeout(patience, store.next_message_id()).await.expect("no hang").is_err() {
            failed = true;
            break;
        }
    }
    assert!(failed, "ids ran out without Redis");
    // A fresh (empty) Redis on the same port: the store connects again and loads
    // its scripts again.
    redis.restart();
    let back = tokio::time::timeout(patience, accept_one(&store, 9, 100)).await.expect("no hang");
    assert!(back.is_ok(), "an accept once Redis is back: {back:?}");
    let claimed = store.claim(ACCOUNT, 100, 10).await.expect("a claim once Redis is back");
    assert_eq!(claimed.len(), 1, "the receipt accepted since");
}

#[tokio::test]
async fn a_redis_that_stops_answering_fails_calls_within_the_timeout() {
    let redis = RedisServer::start();
    let options = RedisOptions::default().prefix(fresh_prefix("paused")).timeout_ms(300);
    let store = RedisStore::connect(&redis.url(), limits(30_000), options).await.expect("connected");
    accept_one(&store, 0, 100).await.expect("accepted while Redis answers");
    redis.pause();
    let started = std::time::Instant::now();
    let stuck = tokio::time::timeout(Duration::from_secs(5), accept_one(&store, 1, 100)).await.expect("no hang");
    assert!(matches!(stuck, Err(StoreError::Unavailable(_))), "an accept while Redis is stopped: {stuck:?}");
    assert!(started.elapsed() < Duration::from_secs(2), "failed after {:?}, not the 300 ms timeout", started.elapsed());
    redis.resume();
    // The connection is still good: the late answer is matched to the call that
    // gave up, and the next call goes through.
    accept_one(&store, 2, 100).await.expect("accepted once Redis answers again");
    assert_eq!(store.waiting(ACCOUNT).await.expect("waiting"), 3, "the timed-out accept was done by Redis after all");
}
