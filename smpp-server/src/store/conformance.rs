//! The conformance suite every [`Store`] backend passes: call [`check`] with a way
//! to open a fresh store with given limits.
//!
//! ```
//! # async fn f() -> Result<(), String> {
//! use smpp_server::store::{MemoryStore, conformance};
//! conformance::check(async |limits| MemoryStore::new(limits)).await?;
//! # Ok(()) }
//! ```
//!
//! Accounts get names unique to each run, so a backend shared with other runs (a
//! Redis server) needs no cleaning first.

use std::collections::HashSet;

use smpp_wire::{Address, DeliverSm, EsmClass, MessageState, ShortMessage, Tlv};

use super::{Delivery, IdLink, Message, Store, StoreError, StoreLimits};

/// Fails with what went wrong.
macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

fn store_err(e: StoreError) -> String {
    format!("store error: {e}")
}

/// A receipt-like deliver_sm with a TLV, to check that PDUs come back whole.
fn deliver(text: &str) -> DeliverSm {
    let mut d = DeliverSm::default();
    d.source_addr = Address::international("447700900123").unwrap_or_default();
    d.destination_addr = Address::international("12345").unwrap_or_default();
    d.esm_class = EsmClass(0x04);
    d.short_message = ShortMessage::new(text.as_bytes().to_vec()).unwrap_or_default();
    d.tlvs.push(Tlv::MessageState(MessageState::DELIVERED));
    d
}

/// Runs every check against stores opened by `open`; `Err` names the first failure.
pub async fn check<S: Store>(mut open: impl AsyncFnMut(StoreLimits) -> S) -> Result<(), String> {
    let run = std::process::id() as u64 * 1_000_003
        + std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64 % 1_000_000);
    let account = |name: &str| format!("conformance-{run}-{name}");
    let limits = StoreLimits::default();

    // Message ids are unique.
    let store = open(limits).await;
    let mut ids = HashSet::new();
    for _ in 0..1000 {
        let id = store.next_message_id().await.map_err(store_err)?;
        ensure!(!id.is_empty() && id.len() <= 65, "message id {id:?} is not a valid message_id");
        ensure!(ids.insert(id.clone()), "message id {id} handed out twice");
    }

    // An accepted message can be read back; an unknown one is not there.
    let alice = account("alice");
    let id = store.next_message_id().await.map_err(store_err)?;
    let m = Message::new(&id, &alice, 1_000, 6_000, MessageState::DELIVERED);
    store.accept(m.clone(), None).await.map_err(store_err)?;
    let back = store.message(&id).await.map_err(store_err)?;
    ensure!(back.as_ref() == Some(&m), "accepted {m:?}, read back {back:?}");
    ensure!(m.state_at(5_999) == MessageState::ENROUTE && m.state_at(6_000) == MessageState::DELIVERED, "state_at");
    let unknown = store.message("ffffffff").await.map_err(store_err)?;
    ensure!(
        unknown.is_none() || unknown.as_ref().is_some_and(|u| u.id == "ffffffff"),
        "an unknown id read back {unknown:?}"
    );

    // A store that records at once does it as `accept` would, with ids of its own.
    if let Some(quick) = store.accept_at_once(&alice, 2_000, 7_000, MessageState::UNDELIVERABLE) {
        ensure!(ids.insert(quick.clone()), "accept_at_once reused the id {quick}");
        let back = store.message(&quick).await.map_err(store_err)?;
        let want = Message::new(&quick, &alice, 2_000, 7_000, MessageState::UNDELIVERABLE);
        ensure!(back.as_ref() == Some(&want), "accepted at once {want:?}, read back {back:?}");
    }

    // A store that records from a thread of its own calls back once, with a new id.
    let (tx, rx) = tokio::sync::oneshot::channel();
    let done: super::Done = Box::new(move |out| {
        let _ = tx.send(out);
    });
    if store.accept_then(&alice, 3_000, 8_000, MessageState::EXPIRED, done).is_ok() {
        let then = rx.await.map_err(|_| "accept_then never called back".to_owned())?.map_err(store_err)?;
        ensure!(ids.insert(then.clone()), "accept_then reused the id {then}");
        let back = store.message(&then).await.map_err(store_err)?;
        let want = Message::new(&then, &alice, 3_000, 8_000, MessageState::EXPIRED);
        ensure!(back.as_ref() == Some(&want), "accepted then {want:?}, read back {back:?}");
    }

    // A receipt accepted with its message waits until due, is claimed once, comes
    // back whole, is released for a retry, and is gone once acked.
    let id = store.next_message_id().await.map_err(store_err)?;
    let receipt = Delivery::new(&alice, 10_000, deliver("receipt one"));
    store
        .accept(Message::new(&id, &alice, 1_000, 10_000, MessageState::DELIVERED), Some(receipt.clone()))
        .await
        .map_err(store_err)?;
    ensure!(store.waiting(&alice).await.map_err(store_err)? == 1, "one delivery waits");
    let early = store.claim(&alice, 9_999, 10).await.map_err(store_err)?;
    ensure!(early.is_empty(), "claimed before due: {early:?}");
    let claimed = store.claim(&alice, 10_000, 10).await.map_err(store_err)?;
    ensure!(claimed.len() == 1, "claimed {} at due time, not 1", claimed.len());
    let entry = claimed.into_iter().next().ok_or("no entry")?;
    ensure!(entry.delivery == receipt, "stored {receipt:?}, claimed {:?}", entry.delivery);
    ensure!(entry.attempts == 0, "first claim counted {} attempts", entry.attempts);
    let again = store.claim(&alice, 10_001, 10).await.map_err(store_err)?;
    ensure!(again.is_empty(), "an entry in flight was claimed again: {again:?}");
    ensure!(store.waiting(&alice).await.map_err(store_err)? == 1, "an entry in flight still counts as waiting");
    store.release(&entry.id, 20_000).await.map_err(store_err)?;
    ensure!(store.claim(&alice, 19_999, 10).await.map_err(store_err)?.is_empty(), "claimed before its retry time");
    let retried = store.claim(&alice, 20_000, 10).await.map_err(store_err)?;
    let retry = match retried.as_slice() {
        [one] if one.attempts == 1 => one,
        _ => return Err(format!("the retry: {retried:?}")),
    };
    store.ack(&retry.id).await.map_err(store_err)?;
    ensure!(store.waiting(&alice).await.map_err(store_err)? == 0, "an acked entry is gone");
    ensure!(store.claim(&alice, 100_000, 10).await.map_err(store_err)?.is_empty(), "an acked entry came back");

    // Oldest due first; accounts are apart; `due` lists what waits.
    let bob = account("bob");
    let carol = account("carol");
    for (due, text) in [(30, "third"), (10, "first"), (20, "second")] {
        store.enqueue(Delivery::new(&bob, due, deliver(text))).await.map_err(store_err)?;
    }
    store.enqueue(Delivery::new(&carol, 5, deliver("carol's"))).await.map_err(store_err)?;
    let due = store.due().await.map_err(store_err)?;
    ensure!(due.contains(&(bob.clone(), 10)) && due.contains(&(carol.clone(), 5)), "due lists {due:?}");
    let two = store.claim(&bob, 100, 2).await.map_err(store_err)?;
    let texts: Vec<_> = two.iter().map(|e| e.delivery.deliver.short_message.as_bytes().to_vec()).collect();
    ensure!(texts == [b"first".to_vec(), b"second".to_vec()], "claimed in this order: {texts:?}");
    let rest = store.claim(&bob, 100, 10).await.map_err(store_err)?;
    let third = matches!(rest.as_slice(), [one] if one.delivery.deliver.short_message.as_bytes() == b"third");
    ensure!(third, "then {rest:?}");
    let due = store.due().await.map_err(store_err)?;
    ensure!(
        !due.iter().any(|(a, t)| *a == bob && *t < 100 + limits.claim_timeout_ms),
        "bob's entries are in flight: {due:?}"
    );
    ensure!(store.claim(&carol, 100, 10).await.map_err(store_err)?.len() == 1, "carol's own entry");

    // A claim older than the claim timeout is taken over (its node died).
    let taken = store.claim(&bob, 100 + limits.claim_timeout_ms - 1, 10).await.map_err(store_err)?;
    ensure!(taken.is_empty(), "taken over before the claim timed out: {taken:?}");
    let taken = store.claim(&bob, 100 + limits.claim_timeout_ms, 10).await.map_err(store_err)?;
    ensure!(taken.len() == 3 && taken.iter().all(|e| e.attempts == 1), "taken over: {taken:?}");
    for e in &taken {
        store.ack(&e.id).await.map_err(store_err)?;
    }

    // The bound: past it, a receipt's submit is refused and nothing is recorded.
    let store = open(StoreLimits { max_waiting_per_account: 2, ..limits }).await;
    let dave = account("dave");
    for k in 0..2 {
        let id = store.next_message_id().await.map_err(store_err)?;
        let m = Message::new(&id, &dave, 0, 10, MessageState::DELIVERED);
        store.accept(m, Some(Delivery::new(&dave, 10, deliver(&format!("r{k}"))))).await.map_err(store_err)?;
    }
    let id = store.next_message_id().await.map_err(store_err)?;
    let over = store
        .accept(Message::new(&id, &dave, 0, 10, MessageState::DELIVERED), Some(Delivery::new(&dave, 10, deliver("r2"))))
        .await;
    ensure!(matches!(over, Err(StoreError::Full { max: 2, .. })), "a third waiting delivery: {over:?}");
    ensure!(store.message(&id).await.map_err(store_err)?.is_none(), "a refused submit's message was recorded");
    let over = store.enqueue(Delivery::new(&dave, 10, deliver("mo"))).await;
    ensure!(matches!(over, Err(StoreError::Full { .. })), "an MO past the bound: {over:?}");
    // Another account is not affected.
    ensure!(store.enqueue(Delivery::new(&account("erin"), 10, deliver("mo"))).await.is_ok(), "another account's MO");

    // Bind leases: at most `max` at a time; a release or an expired lease frees one;
    // a renewal keeps one; the same holder counts once.
    let frank = account("frank");
    let acquire = async |holder: &str, now: u64, until: u64| store.acquire_bind(&frank, holder, 2, now, until).await;
    ensure!(acquire("n1/1", 0, 10_000).await.map_err(store_err)?, "the first bind");
    ensure!(acquire("n1/1", 0, 10_000).await.map_err(store_err)?, "the same holder again");
    ensure!(acquire("n2/1", 0, 10_000).await.map_err(store_err)?, "the second bind");
    ensure!(!acquire("n2/2", 1, 10_000).await.map_err(store_err)?, "a third bind past the limit of 2");
    ensure!(store.binds(&frank, 1).await.map_err(store_err)? == 2, "two binds counted");
    store.release_bind(&frank, "n1/1").await.map_err(store_err)?;
    ensure!(acquire("n2/2", 2, 10_000).await.map_err(store_err)?, "a bind after a release");
    store.renew_binds(vec![(frank.clone(), "n2/2".to_owned())], 20_000).await.map_err(store_err)?;
    // n2/1 is not renewed: its lease runs out at 10 000.
    ensure!(store.binds(&frank, 10_000).await.map_err(store_err)? == 1, "an expired lease still counts");
    ensure!(acquire("n3/1", 10_000, 30_000).await.map_err(store_err)?, "a bind in the place of an expired lease");
    ensure!(!acquire("n3/2", 15_000, 30_000).await.map_err(store_err)?, "the renewed lease still counts");
    store.release_bind(&frank, "n9/9").await.map_err(store_err)?;
    store.renew_binds(vec![(frank.clone(), "n1/1".to_owned())], 40_000).await.map_err(store_err)?;
    ensure!(store.binds(&frank, 15_000).await.map_err(store_err)? == 2, "a renewal brought a released bind back");

    // Rates: `per_second` submits in one second, then none until the next.
    let gina = account("gina");
    for k in 0..3 {
        ensure!(store.take_rate(&gina, 3, 5_000 + k).await.map_err(store_err)?, "submit {k} of 3 in a second");
    }
    ensure!(!store.take_rate(&gina, 3, 5_999).await.map_err(store_err)?, "a fourth in the same second");
    ensure!(store.take_rate(&account("hal"), 3, 5_999).await.map_err(store_err)?, "another account's rate");
    ensure!(store.take_rate(&gina, 3, 6_000).await.map_err(store_err)?, "the next second");

    // Id links: found by any key they were filed under, the first key that has one
    // first, until they expire; a key filed again points to the newer link.
    let key = |k: &str| format!("{}/{k}", account("links"));
    let ivan = IdLink::new(&account("ivan"), "0000abcd");
    let keys = vec![key("t:1a2b"), key("n:6699")];
    store.link_ids(keys, ivan.clone(), 1_000, 5_000).await.map_err(store_err)?;
    for k in ["t:1a2b", "n:6699"] {
        let found = store.find_link(vec![key("t:none"), key(k)], 4_999).await.map_err(store_err)?;
        ensure!(found.as_ref() == Some(&ivan), "by {k}: found {found:?}");
    }
    let expired = store.find_link(vec![key("t:1a2b")], 5_000).await.map_err(store_err)?;
    ensure!(expired.is_none(), "an expired link was found: {expired:?}");
    let none = store.find_link(vec![key("t:other")], 2_000).await.map_err(store_err)?;
    ensure!(none.is_none(), "an unknown key found {none:?}");
    let judy = IdLink::new(&account("judy"), "0000abce");
    store.link_ids(vec![key("n:6699"), key("c:x")], judy.clone(), 2_000, 9_000).await.map_err(store_err)?;
    let newer = store.find_link(vec![key("n:6699")], 6_000).await.map_err(store_err)?;
    ensure!(newer.as_ref() == Some(&judy), "a key filed again found {newer:?}");
    let first = store.find_link(vec![key("t:1a2b"), key("c:x")], 3_000).await.map_err(store_err)?;
    ensure!(first.as_ref() == Some(&ivan), "the first key's link comes first, found {first:?}");
    Ok(())
}
