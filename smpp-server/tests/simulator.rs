//! The simulator's rules: v3.3 held to v3.3 (unless lenient), system_type, receipts
//! as registered_delivery asks (waiting for a receiver that binds later), receipt
//! contents, query_sm, the receipt mix, the response delay, error injection, MO.
//!
//! The v3.3 rule breakers speak raw PDUs: our client's session refuses to break
//! those rules locally. All in virtual time over in-memory duplex streams.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{Raw, Sim, client_config, sim_config, sm};
use smpp_client::RequestError;
use smpp_server::SimulatorConfig;
use smpp_server::store::{
    Delivery as StoredDelivery, Entry, EntryId, IdLink, MemoryStore, Message, Store, StoreFuture,
};
use smpp_session::BindMode;
use smpp_wire::text::Receipt;
use smpp_wire::tlv::TlvString;
use smpp_wire::{
    Address, Body, CommandStatus, DataCoding, DataSm, DeliverSm, DestAddress, EsmClass, InterfaceVersion, MessageState,
    OctetString, QuerySm, RegisteredDelivery, ShortMessage, SubmitMulti, SubmitSm, Tlv,
};
use tokio::time::Instant;

const V33: u8 = 0x33;
const V34: u8 = 0x34;

/// What waits in the simulator's store for `account`.
async fn waiting(sim: &Sim, account: &str) -> usize {
    sim.handle.waiting(account).await.unwrap()
}

/// A bound raw ESME of alice.
async fn alice(sim: &Sim, port: u16, mode: BindMode, version: u8) -> Raw {
    let mut raw = sim.raw(port);
    assert_eq!(raw.bind(mode, "alice", "secret", version).await, CommandStatus::ESME_ROK);
    raw
}

fn with_tlv(mut s: SubmitSm) -> SubmitSm {
    s.tlvs.push(Tlv::UserMessageReference(7));
    s
}

fn data_sm(to: &str, registered_delivery: RegisteredDelivery) -> DataSm {
    let mut d = DataSm::default();
    d.source_addr = Address::new(Default::default(), Default::default(), "12345").unwrap();
    d.destination_addr = Address::new(Default::default(), Default::default(), to).unwrap();
    d.registered_delivery = registered_delivery;
    d.tlvs.push(Tlv::MessagePayload(OctetString::new(&b"hello by data_sm"[..]).unwrap()));
    d
}

fn submit_multi_with_tlv() -> SubmitMulti {
    let mut m = SubmitMulti::default();
    m.dest_addresses.try_push(DestAddress::Sme(Address::international("447700900123").unwrap())).unwrap();
    m.short_message = ShortMessage::new(&b"to many"[..]).unwrap();
    m.tlvs.push(Tlv::UserMessageReference(7));
    m
}

/// The message_id of a submit_sm_resp or data_sm_resp.
fn message_id(body: &Body) -> String {
    match body {
        Body::SubmitSmResp(Some(r)) | Body::DataSmResp(Some(r)) => r.message_id.to_string(),
        other => panic!("no message_id in {other:?}"),
    }
}

fn receipt_of(d: &DeliverSm) -> Receipt {
    Receipt::parse(&String::from_utf8_lossy(d.short_message.as_bytes())).expect("a receipt text")
}

// ---- v3.3 rules -------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn a_v33_client_breaking_v33_rules_gets_each_refusal() {
    let sim = Sim::new(sim_config());

    // v3.3 has no bind_transceiver.
    let mut raw = sim.raw(1);
    assert_eq!(raw.bind(BindMode::Transceiver, "alice", "secret", V33).await, CommandStatus::ESME_RINVCMDID);
    assert!(raw.closes_within(Duration::from_secs(1)).await);
    // Any interface_version other than 0x34 and 0x50 is v3.3.
    let mut raw = sim.raw(2);
    assert_eq!(raw.bind(BindMode::Transceiver, "alice", "secret", 0x00).await, CommandStatus::ESME_RINVCMDID);

    let mut tx = alice(&sim, 3, BindMode::Transmitter, V33).await;
    // v3.3 has no data_sm.
    let resp = tx.call(Body::DataSm(data_sm("447700900123", RegisteredDelivery::NONE))).await;
    assert_eq!(resp.status, CommandStatus::ESME_RINVCMDID);
    assert!(matches!(resp.body, Body::DataSmResp(None)), "{resp:?}");
    // A v3.3 submit may carry no TLV.
    let resp = tx.call(Body::SubmitSm(with_tlv(sm("447700900123", false)))).await;
    assert_eq!(resp.status, CommandStatus::ESME_ROPTPARNOTALLWD);
    let resp = tx.call(Body::SubmitMulti(submit_multi_with_tlv())).await;
    assert_eq!(resp.status, CommandStatus::ESME_ROPTPARNOTALLWD);
    // Within the rules, all is well.
    let resp = tx.call(Body::SubmitSm(sm("447700900123", false))).await;
    assert_eq!(resp.status, CommandStatus::ESME_ROK);
    assert_eq!(message_id(&resp.body).len(), 8, "a v3.3 message_id: 8 hex digits");
    assert_eq!(sim.handle.submits(), 1, "the refused ones were not accepted");

    // The same requests from a v3.4 bind are fine.
    let mut v34 = alice(&sim, 4, BindMode::Transceiver, V34).await;
    let resp = v34.call(Body::DataSm(data_sm("447700900123", RegisteredDelivery::NONE))).await;
    assert_eq!(resp.status, CommandStatus::ESME_ROK);
    let resp = v34.call(Body::SubmitSm(with_tlv(sm("447700900123", false)))).await;
    assert_eq!(resp.status, CommandStatus::ESME_ROK);
}

#[tokio::test(start_paused = true)]
async fn lenient_lets_a_v33_client_break_the_rules_but_sends_it_no_tlv() {
    let mut config = sim_config();
    config.lenient = true;
    let sim = Sim::new(config);
    let mut trx = alice(&sim, 1, BindMode::Transceiver, V33).await;
    assert_eq!(sim.handle.server.sessions()[0].info.version, InterfaceVersion::V33);
    let resp = trx.call(Body::DataSm(data_sm("447700900123", RegisteredDelivery::NONE))).await;
    assert_eq!(resp.status, CommandStatus::ESME_ROK);
    assert!(!message_id(&resp.body).is_empty());
    let resp = trx.call(Body::SubmitMulti(submit_multi_with_tlv())).await;
    assert_eq!(resp.status, CommandStatus::ESME_ROK);
    let resp = trx.call(Body::SubmitSm(with_tlv(sm("447700900123", true)))).await;
    assert_eq!(resp.status, CommandStatus::ESME_ROK);
    let id = message_id(&resp.body);
    // The receipt still goes to it as to any v3.3 session: without TLVs.
    let d = trx.deliver().await;
    assert!(d.tlvs.is_empty(), "{:?}", d.tlvs);
    assert_eq!(receipt_of(&d).id.as_deref(), Some(id.as_str()));
}

#[tokio::test(start_paused = true)]
async fn each_v33_refusal_is_logged_with_its_reason() {
    let (logs, _guard) = common::Logs::capture();
    let sim = Sim::new(sim_config());

    let mut raw = sim.raw(1);
    assert_eq!(raw.bind(BindMode::Transceiver, "alice", "secret", V33).await, CommandStatus::ESME_RINVCMDID);
    let log = logs.take();
    assert!(log.contains("bind refused") && log.contains("v3.3 has no bind_transceiver"), "{log}");

    let mut tx = alice(&sim, 2, BindMode::Transmitter, V33).await;
    logs.take();
    let refusals = [
        (Body::DataSm(data_sm("447700900123", RegisteredDelivery::NONE)), ["data_sm", "v3.3 has no data_sm"]),
        (Body::SubmitSm(with_tlv(sm("447700900123", false))), ["submit_sm", "may carry no TLV"]),
        (Body::SubmitMulti(submit_multi_with_tlv()), ["submit_multi", "may carry no TLV"]),
    ];
    for (body, words) in refusals {
        assert!(!tx.call(body).await.status.is_ok());
        let log = logs.take();
        assert!(log.contains("refused") && words.iter().all(|w| log.contains(w)), "{words:?} not in {log:?}");
        assert!(log.contains("alice"), "the account is named: {log}");
    }
    // What is allowed logs no refusal.
    assert!(tx.call(Body::SubmitSm(sm("447700900123", false))).await.status.is_ok());
    assert!(!logs.take().contains("refused"));
}

#[tokio::test(start_paused = true)]
async fn interface_version_0x50_is_served_as_v34() {
    let sim = Sim::new(sim_config());
    let mut trx = alice(&sim, 1, BindMode::Transceiver, 0x50).await;
    assert_eq!(sim.handle.server.sessions()[0].info.version, InterfaceVersion::V34);
    let resp = trx.call(Body::DataSm(data_sm("447700900123", RegisteredDelivery::NONE))).await;
    assert_eq!(resp.status, CommandStatus::ESME_ROK, "no v3.3 rule applies");
    let resp = trx.call(Body::SubmitSm(with_tlv(sm("447700900123", true)))).await;
    assert_eq!(resp.status, CommandStatus::ESME_ROK);
    assert!(trx.deliver().await.tlvs.message_state().is_some(), "a receipt with TLVs");
}

// ---- system_type ------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn binds_must_carry_the_configured_system_type() {
    let mut config = sim_config();
    config.system_type = Some("smpp".into());
    let sim = Sim::new(config);
    for (port, system_type) in [(1, "vms"), (2, ""), (3, "SMPP")] {
        let mut raw = sim.raw(port);
        let status = raw.bind_as(BindMode::Transceiver, "alice", "secret", V34, system_type).await;
        assert_eq!(status, CommandStatus::ESME_RINVSYSTYP, "system_type {system_type:?}");
    }
    let mut raw = sim.raw(4);
    assert_eq!(raw.bind_as(BindMode::Transceiver, "alice", "secret", V34, "smpp").await, CommandStatus::ESME_ROK);
    // Our client binds with "smpp" by default.
    assert!(sim.client(client_config("bob", "hunter2")).await.is_ok());

    // Without the setting, any system_type will do.
    let sim = Sim::new(sim_config());
    let mut raw = sim.raw(1);
    assert_eq!(raw.bind_as(BindMode::Transceiver, "alice", "secret", V34, "vms").await, CommandStatus::ESME_ROK);
}

// ---- registered_delivery ----------------------------------------------------------

/// What a v3.4 transceiver receives, and when, after one submit asking for
/// `registered_delivery`, on a simulator whose messages end in `state`.
async fn receipts_for(registered_delivery: u8, state: MessageState) -> Vec<(Duration, DeliverSm)> {
    let mut config = sim_config();
    config.dlr_state = state;
    config.dlr_delay = Duration::from_secs(5);
    let sim = Sim::new(config);
    let mut trx = alice(&sim, 1, BindMode::Transceiver, V34).await;
    let mut s = sm("447700900123", false);
    s.registered_delivery = RegisteredDelivery(registered_delivery);
    let start = Instant::now();
    let resp = trx.call(Body::SubmitSm(s)).await;
    assert_eq!(resp.status, CommandStatus::ESME_ROK);
    let mut got = Vec::new();
    while let Some(d) = trx.deliver_within(Duration::from_secs(30)).await {
        got.push((start.elapsed(), d));
    }
    got
}

fn stats(receipts: &[(Duration, DeliverSm)]) -> Vec<String> {
    receipts.iter().map(|(_, d)| receipt_of(d).stat.unwrap_or_default()).collect()
}

#[tokio::test(start_paused = true)]
async fn registered_delivery_1_asks_for_a_receipt_whatever_the_outcome() {
    let got = receipts_for(1, MessageState::DELIVERED).await;
    assert_eq!(stats(&got), ["DELIVRD"]);
    assert_eq!(got[0].0, Duration::from_secs(5), "after dlr_delay");
    assert_eq!(got[0].1.esm_class, EsmClass(0x04));
    assert_eq!(stats(&receipts_for(1, MessageState::UNDELIVERABLE).await), ["UNDELIV"]);
    assert_eq!(stats(&receipts_for(1, MessageState::EXPIRED).await), ["EXPIRED"]);
}

#[tokio::test(start_paused = true)]
async fn registered_delivery_2_asks_for_a_receipt_on_failure_only() {
    assert!(receipts_for(2, MessageState::DELIVERED).await.is_empty(), "no receipt for a delivered message");
    assert_eq!(stats(&receipts_for(2, MessageState::UNDELIVERABLE).await), ["UNDELIV"]);
    assert_eq!(stats(&receipts_for(2, MessageState::REJECTED).await), ["REJECTD"]);
}

#[tokio::test(start_paused = true)]
async fn registered_delivery_3_asks_for_a_receipt_on_success_only() {
    assert_eq!(stats(&receipts_for(3, MessageState::DELIVERED).await), ["DELIVRD"]);
    assert!(receipts_for(3, MessageState::UNDELIVERABLE).await.is_empty(), "no receipt for a failed message");
}

#[tokio::test(start_paused = true)]
async fn registered_delivery_0_asks_for_nothing() {
    assert!(receipts_for(0, MessageState::DELIVERED).await.is_empty());
    assert!(receipts_for(0, MessageState::UNDELIVERABLE).await.is_empty());
}

#[tokio::test(start_paused = true)]
async fn registered_delivery_0x11_gives_an_intermediate_notification_then_the_receipt() {
    let got = receipts_for(0x11, MessageState::DELIVERED).await;
    assert_eq!(got.len(), 2, "{got:?}");
    let (at, note) = &got[0];
    assert_eq!(*at, Duration::ZERO, "the notification comes at once");
    assert_eq!(note.esm_class.0 & 0x3C, 0x20, "an intermediate notification: {:?}", note.esm_class);
    assert_eq!(note.tlvs.message_state(), Some(MessageState::ENROUTE));
    assert_eq!(receipt_of(note).stat.as_deref(), Some("ENROUTE"));
    let (at, receipt) = &got[1];
    assert_eq!(*at, Duration::from_secs(5));
    assert_eq!(receipt.esm_class.0 & 0x3C, 0x04, "a delivery receipt: {:?}", receipt.esm_class);
    assert_eq!(receipt.tlvs.message_state(), Some(MessageState::DELIVERED));
    assert_eq!(receipt_of(note).id, receipt_of(receipt).id, "both about the same message");

    // 0x10 alone: the notification, and no receipt.
    let got = receipts_for(0x10, MessageState::DELIVERED).await;
    assert_eq!(stats(&got), ["ENROUTE"]);
    assert_eq!(got[0].1.esm_class.0 & 0x3C, 0x20);
}

// ---- waiting for a receiver -------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn a_receipt_waits_for_a_receiver_that_binds_later() {
    let sim = Sim::new(sim_config());
    let mut tx = alice(&sim, 1, BindMode::Transmitter, V34).await;
    let resp = tx.call(Body::SubmitSm(sm("447700900123", true))).await;
    let id = message_id(&resp.body);
    // Long past dlr_delay: nobody to give it to.
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(waiting(&sim, "alice").await, 1);
    assert!(tx.read_within(Duration::from_secs(1)).await.is_none(), "not to the transmitter");

    let mut rx = alice(&sim, 2, BindMode::Receiver, V34).await;
    let d = rx.deliver().await;
    assert_eq!(receipt_of(&d).id.as_deref(), Some(id.as_str()));
    assert_eq!(d.tlvs.receipted_message_id().and_then(|t| t.as_str().map(str::to_owned)), Some(id));
    common::eventually_async("nothing waits any more", async || waiting(&sim, "alice").await == 0).await;
    assert_eq!(sim.handle.dropped(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_receipt_in_flight_when_the_receiver_hangs_up_goes_to_the_next_one() {
    let sim = Sim::new(sim_config());
    let mut trx = alice(&sim, 1, BindMode::Transceiver, V34).await;
    let id = message_id(&trx.call(Body::SubmitSm(sm("447700900123", true))).await.body);
    // The receipt goes out, and the ESME hangs up without answering it.
    let pdu = trx.read().await.unwrap();
    assert!(matches!(pdu.body, Body::DeliverSm(_)), "{pdu:?}");
    drop(trx);
    common::eventually("the session is gone", || sim.handle.server.binds("alice") == 0).await;
    assert_eq!(waiting(&sim, "alice").await, 1, "the receipt is kept");

    let mut rx = alice(&sim, 2, BindMode::Receiver, V34).await;
    let d = rx.deliver().await;
    assert_eq!(receipt_of(&d).id.as_deref(), Some(id.as_str()));
    assert!(rx.deliver_within(Duration::from_secs(60)).await.is_none(), "once");
}

#[tokio::test(start_paused = true)]
async fn a_receipt_in_flight_when_the_receiver_hangs_up_goes_to_another_bound_one() {
    let sim = Sim::new(sim_config());
    let mut first = alice(&sim, 1, BindMode::Transceiver, V34).await;
    let id = message_id(&first.call(Body::SubmitSm(sm("447700900123", true))).await.body);
    let pdu = first.read().await.unwrap();
    assert!(matches!(pdu.body, Body::DeliverSm(_)), "{pdu:?}");
    // Another receiver binds while the receipt is out (it stays in the store, in
    // flight, so the bind sends nothing); then the first hangs up without answering.
    let mut second = alice(&sim, 2, BindMode::Receiver, V34).await;
    assert_eq!(waiting(&sim, "alice").await, 1, "in flight, still in the store");
    assert!(second.deliver_within(Duration::from_millis(100)).await.is_none(), "not sent twice meanwhile");
    drop(first);
    let d = second.deliver().await;
    assert_eq!(receipt_of(&d).id.as_deref(), Some(id.as_str()));
    common::eventually_async("the receipt leaves the store", async || waiting(&sim, "alice").await == 0).await;
}

#[tokio::test(start_paused = true)]
async fn an_mo_waits_for_a_receiver_that_binds_later() {
    let sim = Sim::new(sim_config());
    let r = sim.handle.inject_mo("alice", "447700900999", "12345", "are you there?").await;
    assert!(matches!(r, Err(smpp_server::PushError::NoReceiver(_))), "{r:?}");
    assert_eq!(waiting(&sim, "alice").await, 1);
    assert_eq!(waiting(&sim, "bob").await, 0);

    let (_client, mut incoming) = sim.client(client_config("alice", "secret")).await.unwrap();
    let m = incoming.recv().await.unwrap();
    assert_eq!(m.text().as_deref(), Some("are you there?"));
    assert!(!m.is_receipt());
    common::eventually_async("nothing waits any more", async || waiting(&sim, "alice").await == 0).await;
}

#[tokio::test(start_paused = true)]
async fn the_waiting_queue_is_bounded_and_drops_are_counted() {
    let mut config = sim_config();
    config.waiting_per_account = 2;
    let sim = Sim::new(config);
    for k in 0..5 {
        let _ = sim.handle.inject_mo("alice", "447700900999", "12345", &format!("mo {k}")).await;
    }
    assert_eq!(waiting(&sim, "alice").await, 2);
    assert_eq!(sim.handle.dropped(), 3);

    let mut rx = alice(&sim, 1, BindMode::Receiver, V34).await;
    let first = rx.deliver().await;
    let second = rx.deliver().await;
    assert_eq!(first.short_message.as_bytes(), b"mo 0", "the oldest kept, in order");
    assert_eq!(second.short_message.as_bytes(), b"mo 1");
    assert!(rx.deliver_within(Duration::from_secs(60)).await.is_none(), "the rest were dropped");
}

#[tokio::test(start_paused = true)]
async fn a_submit_asking_for_a_receipt_past_the_store_bound_is_refused_esme_rmsgqful() {
    let mut config = sim_config();
    config.waiting_per_account = 2;
    let sim = Sim::new(config);
    let mut tx = alice(&sim, 1, BindMode::Transmitter, V34).await;
    for _ in 0..2 {
        assert_eq!(tx.call(Body::SubmitSm(sm("447700900123", true))).await.status, CommandStatus::ESME_ROK);
    }
    let refused = tx.call(Body::SubmitSm(sm("447700900123", true))).await;
    assert_eq!(refused.status, CommandStatus::ESME_RMSGQFUL, "two receipts wait already");
    assert_eq!((sim.handle.queue_full(), sim.handle.submits()), (1, 2), "counted, and not as a submit");
    let without = tx.call(Body::SubmitSm(sm("447700900123", false))).await;
    assert_eq!(without.status, CommandStatus::ESME_ROK, "a submit asking for no receipt is still taken");
    // The two accepted receipts are kept for a receiver; once it has them, the
    // account takes receipts again.
    let mut rx = alice(&sim, 2, BindMode::Receiver, V34).await;
    rx.deliver().await;
    rx.deliver().await;
    common::eventually_async("the receipts leave the store", async || waiting(&sim, "alice").await == 0).await;
    assert_eq!(tx.call(Body::SubmitSm(sm("447700900123", true))).await.status, CommandStatus::ESME_ROK);
}

/// A memory store whose `due` answers 100 ms late, with what was due when asked:
/// a delivery loop's look then spans other work.
#[derive(Debug, Default)]
struct LateDue(MemoryStore);

impl Store for LateDue {
    fn next_message_id(&self) -> StoreFuture<'_, String> {
        self.0.next_message_id()
    }
    fn accept(&self, message: Message, receipt: Option<StoredDelivery>) -> StoreFuture<'_, ()> {
        self.0.accept(message, receipt)
    }
    fn message(&self, id: &str) -> StoreFuture<'_, Option<Message>> {
        self.0.message(id)
    }
    fn enqueue(&self, delivery: StoredDelivery) -> StoreFuture<'_, EntryId> {
        self.0.enqueue(delivery)
    }
    fn claim(&self, account: &str, now_ms: u64, max: usize) -> StoreFuture<'_, Vec<Entry>> {
        self.0.claim(account, now_ms, max)
    }
    fn ack(&self, id: &EntryId) -> StoreFuture<'_, ()> {
        self.0.ack(id)
    }
    fn release(&self, id: &EntryId, retry_ms: u64) -> StoreFuture<'_, ()> {
        self.0.release(id, retry_ms)
    }
    fn waiting(&self, account: &str) -> StoreFuture<'_, usize> {
        self.0.waiting(account)
    }
    fn due(&self) -> StoreFuture<'_, Vec<(String, u64)>> {
        Box::pin(async move {
            let due = self.0.due().await;
            tokio::time::sleep(Duration::from_millis(100)).await;
            due
        })
    }
    fn acquire_bind(&self, account: &str, holder: &str, max: usize, now: u64, until: u64) -> StoreFuture<'_, bool> {
        self.0.acquire_bind(account, holder, max, now, until)
    }
    fn renew_binds(&self, binds: Vec<(String, String)>, until_ms: u64) -> StoreFuture<'_, ()> {
        self.0.renew_binds(binds, until_ms)
    }
    fn release_bind(&self, account: &str, holder: &str) -> StoreFuture<'_, ()> {
        self.0.release_bind(account, holder)
    }
    fn binds(&self, account: &str, now_ms: u64) -> StoreFuture<'_, usize> {
        self.0.binds(account, now_ms)
    }
    fn take_rate(&self, account: &str, per_second: u32, now_ms: u64) -> StoreFuture<'_, bool> {
        self.0.take_rate(account, per_second, now_ms)
    }
    fn link_ids(&self, keys: Vec<String>, link: IdLink, now_ms: u64, until_ms: u64) -> StoreFuture<'_, ()> {
        self.0.link_ids(keys, link, now_ms, until_ms)
    }
    fn find_link(&self, keys: Vec<String>, now_ms: u64) -> StoreFuture<'_, Option<IdLink>> {
        self.0.find_link(keys, now_ms)
    }
}

#[tokio::test(start_paused = true)]
async fn a_receipt_stored_while_the_delivery_loop_looks_goes_out_at_once() {
    let mut config = sim_config();
    config.dlr_delay = Duration::ZERO;
    config.store = Some(std::sync::Arc::new(LateDue::default()));
    let sim = Sim::new(config);
    // The loop looks at the start (0 to 100 ms); the bind wakes it to look again
    // (100 to 200 ms); the receipt is stored in the middle of that look, too late
    // for it to see.
    let mut trx = alice(&sim, 1, BindMode::Transceiver, V34).await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    let submitted = Instant::now();
    let id = message_id(&trx.call(Body::SubmitSm(sm("447700900123", true))).await.body);
    let d = trx.deliver().await;
    assert_eq!(receipt_of(&d).id.as_deref(), Some(id.as_str()));
    assert!(submitted.elapsed() < Duration::from_secs(1), "the receipt waited {:?}", submitted.elapsed());
}

// ---- retries and refusals --------------------------------------------------------

/// Injects an MO on a task of its own (the call waits for the ESME's answer).
fn inject(sim: &Sim, text: &str) -> tokio::task::JoinHandle<smpp_server::PushResult> {
    let (handle, text) = (sim.handle.clone(), text.to_owned());
    tokio::spawn(async move { handle.inject_mo("alice", "447700900999", "12345", &text).await })
}

#[tokio::test(start_paused = true)]
async fn a_delivery_answered_with_a_temporary_error_is_kept_and_retried_after_retry_delay() {
    for status in [CommandStatus::ESME_RX_T_APPN, CommandStatus::ESME_RTHROTTLED, CommandStatus::ESME_RMSGQFUL] {
        let sim = Sim::new(sim_config());
        let mut rx = alice(&sim, 1, BindMode::Receiver, V34).await;
        let pushed = inject(&sim, "try me later");
        let (seq, first) = rx.unanswered_deliver().await;
        rx.answer_deliver(seq, status).await;
        assert_eq!(pushed.await.unwrap().map(|(s, _)| s), Ok(status), "inject_mo reports the first answer");
        assert_eq!(waiting(&sim, "alice").await, 1, "{status}: kept");
        let answered = Instant::now();

        let again = rx.deliver().await;
        assert_eq!(answered.elapsed(), Duration::from_secs(1), "{status}: retried after retry_delay");
        assert_eq!(again.short_message, first.short_message);
        common::eventually_async("nothing waits any more", async || waiting(&sim, "alice").await == 0).await;
        assert!(rx.deliver_within(Duration::from_secs(60)).await.is_none(), "{status}: delivered once");
        assert_eq!((sim.handle.dropped(), sim.handle.rejected()), (0, 0));
    }
}

#[tokio::test(start_paused = true)]
async fn a_receipt_answered_rx_t_appn_comes_again_until_the_esme_takes_it() {
    let mut config = sim_config();
    config.retry_delay = Duration::from_secs(5);
    let sim = Sim::new(config);
    let mut trx = alice(&sim, 1, BindMode::Transceiver, V34).await;
    let id = message_id(&trx.call(Body::SubmitSm(sm("447700900123", true))).await.body);
    // Our own client answers so when its inbound queue is full, expecting the SMSC
    // to keep the message: twice here, then it takes it.
    let (mut seq, d) = trx.unanswered_deliver().await;
    assert_eq!(receipt_of(&d).id.as_deref(), Some(id.as_str()));
    for _ in 0..2 {
        trx.answer_deliver(seq, CommandStatus::ESME_RX_T_APPN).await;
        let answered = Instant::now();
        let (next, d) = trx.unanswered_deliver().await;
        assert_eq!(answered.elapsed(), Duration::from_secs(5), "after retry_delay");
        assert_eq!(receipt_of(&d).id.as_deref(), Some(id.as_str()));
        seq = next;
    }
    trx.answer_deliver(seq, CommandStatus::ESME_ROK).await;
    common::eventually_async("nothing waits any more", async || waiting(&sim, "alice").await == 0).await;
    assert!(trx.deliver_within(Duration::from_secs(60)).await.is_none(), "taken: not sent again");
}

#[tokio::test(start_paused = true)]
async fn a_push_the_esme_does_not_answer_in_time_is_retried() {
    let mut server = common::server_config();
    server.session.response_timeout(Some(Duration::from_secs(5)));
    let sim = Sim::with_server(sim_config(), server);
    let mut rx = alice(&sim, 1, BindMode::Receiver, V34).await;
    let pushed = inject(&sim, "anyone?");
    let (_, first) = rx.unanswered_deliver().await;
    // Not answered.
    assert_eq!(pushed.await.unwrap(), Err(smpp_server::PushError::Timeout));
    assert_eq!(waiting(&sim, "alice").await, 1, "kept");
    let timed_out = Instant::now();
    let again = rx.deliver().await;
    assert_eq!(timed_out.elapsed(), Duration::from_secs(1), "retried after retry_delay");
    assert_eq!(again.short_message, first.short_message);
    common::eventually_async("nothing waits any more", async || waiting(&sim, "alice").await == 0).await;
}

#[tokio::test(start_paused = true)]
async fn a_delivery_refused_for_good_is_dropped_and_counted() {
    let sim = Sim::new(sim_config());
    let mut rx = alice(&sim, 1, BindMode::Receiver, V34).await;
    let refusals = [CommandStatus::ESME_RX_P_APPN, CommandStatus::ESME_RX_R_APPN, CommandStatus::ESME_RINVDSTADR];
    for (k, status) in refusals.into_iter().enumerate() {
        let pushed = inject(&sim, "unwanted");
        let (seq, _) = rx.unanswered_deliver().await;
        rx.answer_deliver(seq, status).await;
        assert_eq!(pushed.await.unwrap().map(|(s, _)| s), Ok(status));
        assert_eq!(waiting(&sim, "alice").await, 0, "{status}: not kept");
        assert_eq!(sim.handle.rejected(), k as u64 + 1, "{status}: counted");
    }
    assert!(rx.deliver_within(Duration::from_secs(60)).await.is_none(), "never sent again");
    assert_eq!(sim.handle.dropped(), 0, "refusals are counted in rejected(), not dropped()");
}

#[tokio::test(start_paused = true)]
async fn a_throttled_delivery_comes_again_after_retry_delay_while_the_rest_go_on() {
    let sim = Sim::new(sim_config());
    for k in 0..3 {
        let _ = sim.handle.inject_mo("alice", "447700900999", "12345", &format!("mo {k}")).await;
    }
    assert_eq!(waiting(&sim, "alice").await, 3);
    let mut rx = alice(&sim, 1, BindMode::Receiver, V34).await;
    let (seq, d) = rx.unanswered_deliver().await;
    assert_eq!(d.short_message.as_bytes(), b"mo 0", "the oldest first");
    rx.answer_deliver(seq, CommandStatus::ESME_RTHROTTLED).await;
    let answered = Instant::now();
    for k in 1..3 {
        let d = rx.deliver().await;
        assert_eq!(d.short_message.as_bytes(), format!("mo {k}").as_bytes(), "in order");
        assert_eq!(answered.elapsed(), Duration::ZERO, "sent with the first");
    }
    let d = rx.deliver().await;
    assert_eq!(d.short_message.as_bytes(), b"mo 0", "the throttled one again");
    assert_eq!(answered.elapsed(), Duration::from_secs(1), "after retry_delay");
    assert!(rx.deliver_within(Duration::from_secs(60)).await.is_none());
    assert_eq!(waiting(&sim, "alice").await, 0);
}

#[tokio::test(start_paused = true)]
async fn deliveries_kept_for_a_retry_stay_within_the_waiting_bound() {
    let mut config = sim_config();
    config.waiting_per_account = 2;
    let sim = Sim::new(config);
    let mut rx = alice(&sim, 1, BindMode::Receiver, V34).await;
    for k in 0..4 {
        let pushed = inject(&sim, &format!("mo {k}"));
        let (seq, _) = rx.unanswered_deliver().await;
        rx.answer_deliver(seq, CommandStatus::ESME_RX_T_APPN).await;
        let _ = pushed.await.unwrap();
    }
    assert_eq!(waiting(&sim, "alice").await, 2, "bounded");
    assert_eq!(sim.handle.dropped(), 2, "the newest dropped and counted");
    // The retry: the oldest first; the ESME takes the first and refuses the second
    // for now, which waits for the next retry.
    let (seq, d) = rx.unanswered_deliver().await;
    assert_eq!(d.short_message.as_bytes(), b"mo 0");
    rx.answer_deliver(seq, CommandStatus::ESME_ROK).await;
    let (seq, d) = rx.unanswered_deliver().await;
    assert_eq!(d.short_message.as_bytes(), b"mo 1");
    rx.answer_deliver(seq, CommandStatus::ESME_RX_T_APPN).await;
    common::eventually_async("one waits", async || waiting(&sim, "alice").await == 1).await;
    assert_eq!(rx.deliver().await.short_message.as_bytes(), b"mo 1");
    assert!(rx.deliver_within(Duration::from_secs(60)).await.is_none());
    assert_eq!(sim.handle.dropped(), 2);
}

// ---- receipt contents -------------------------------------------------------------

/// `YYMMDDhhmm` (UTC) for `t`, the receipt date form.
fn receipt_minute(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).unwrap().as_secs();
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{:02}{m:02}{d:02}{:02}{:02}", y % 100, rem / 3600, rem / 60 % 60)
}

/// A UCS-2 submit of `text`.
fn ucs2(text: &str, registered_delivery: RegisteredDelivery) -> SubmitSm {
    let mut s = sm("447700900123", false);
    s.data_coding = DataCoding::UCS2;
    s.short_message = ShortMessage::new(text.encode_utf16().flat_map(u16::to_be_bytes).collect::<Vec<_>>()).unwrap();
    s.registered_delivery = registered_delivery;
    s
}

#[tokio::test(start_paused = true)]
async fn receipts_carry_dates_the_decoded_text_and_tlvs_for_v34_only() {
    let text = "Привет, мир! Ünïcödé and more than twenty characters";
    let sim = Sim::new(sim_config());
    let mut v34 = alice(&sim, 1, BindMode::Transceiver, V34).await;
    let mut v33_tx = sim.raw(2);
    assert_eq!(v33_tx.bind(BindMode::Transmitter, "bob", "hunter2", V33).await, CommandStatus::ESME_ROK);
    let mut v33_rx = sim.raw(3);
    assert_eq!(v33_rx.bind(BindMode::Receiver, "bob", "hunter2", V33).await, CommandStatus::ESME_ROK);

    let before = receipt_minute(SystemTime::now());
    let resp = v34.call(Body::SubmitSm(ucs2(text, RegisteredDelivery::RECEIPT))).await;
    let id34 = message_id(&resp.body);
    let resp = v33_tx.call(Body::SubmitSm(ucs2(text, RegisteredDelivery::RECEIPT))).await;
    let id33 = message_id(&resp.body);
    let d34 = v34.deliver().await;
    let d33 = v33_rx.deliver().await;
    // A GSM 7-bit submit (data_coding 0).
    let resp = v34.call(Body::SubmitSm(sm("447700900123", true))).await;
    let id_gsm = message_id(&resp.body);
    let d_gsm = v34.deliver().await;
    let after = receipt_minute(SystemTime::now());

    // The decoded text, with '?' for what is outside the characters ASCII and GSM share.
    let ucs2_preview = "??????, ???! ?n?c?d?";
    for (d, id, preview) in [(&d34, &id34, ucs2_preview), (&d33, &id33, ucs2_preview), (&d_gsm, &id_gsm, "hello there")]
    {
        let r = receipt_of(d);
        assert_eq!(r.id.as_deref(), Some(id.as_str()));
        assert_eq!((r.sub, r.dlvrd), (Some(1), Some(1)));
        assert_eq!(r.err.as_deref(), Some("000"));
        assert_eq!(r.stat.as_deref(), Some("DELIVRD"));
        // Data coding 0 (the SMSC default alphabet), and octets that read the same as
        // ASCII, unpacked GSM 7-bit or UTF-8.
        assert_eq!(d.data_coding, DataCoding::MC_DEFAULT);
        let octets = d.short_message.as_bytes();
        assert!(octets.iter().all(|b| (0x20..0x7F).contains(b)), "printable ASCII only: {octets:?}");
        let gsm = smpp_wire::text::decode(DataCoding::MC_DEFAULT, octets);
        assert_eq!(gsm, smpp_wire::text::Decoded::Text(String::from_utf8(octets.to_vec()).unwrap()));
        assert_eq!(r.text.as_deref(), Some(preview), "the first 20 characters, decoded");
        for date in [r.submit_date, r.done_date] {
            let date = date.expect("a date").to_string();
            assert!(date == before || date == after, "{date} is not now ({before}..{after})");
        }
        assert_eq!(d.source_addr.addr.as_bytes(), b"447700900123", "from the original destination");
        assert_eq!(d.destination_addr.addr.as_bytes(), b"12345", "to the original source");
    }
    assert_eq!(d_gsm.tlvs.message_state(), Some(MessageState::DELIVERED));
    assert_eq!(d34.tlvs.receipted_message_id(), Some(TlvString::new(id34.as_str()).unwrap()));
    assert_eq!(d34.tlvs.message_state(), Some(MessageState::DELIVERED));
    assert!(d33.tlvs.is_empty(), "no TLV to a v3.3 receiver: {:?}", d33.tlvs);
}

#[tokio::test(start_paused = true)]
async fn a_failed_message_s_receipt_reports_the_configured_error() {
    let mut config = sim_config();
    config.dlr_state = MessageState::UNDELIVERABLE;
    config.dlr_err = 11;
    let sim = Sim::new(config);
    let mut trx = alice(&sim, 1, BindMode::Transceiver, V34).await;
    trx.call(Body::SubmitSm(sm("447700900123", true))).await;
    let r = receipt_of(&trx.deliver().await);
    assert_eq!((r.stat.as_deref(), r.err.as_deref(), r.dlvrd), (Some("UNDELIV"), Some("011"), Some(0)));
    assert_eq!(r.text.as_deref(), Some("hello there"));
}

// ---- query_sm ---------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn query_sm_reports_enroute_then_the_final_state_and_date() {
    let mut config = sim_config();
    config.dlr_delay = Duration::from_secs(10);
    config.dlr_state = MessageState::UNDELIVERABLE;
    let sim = Sim::new(config);
    let (client, _incoming) = sim.client(client_config("alice", "secret")).await.unwrap();
    let id = client.submit(sm("447700900123", false)).await.unwrap().message_id;
    let query = || {
        let mut q = QuerySm::default();
        q.message_id = id;
        q.source_addr = Address::international("12345").unwrap();
        q
    };

    let r = client.query_sm(query()).await.unwrap();
    assert_eq!(r.message_id, id);
    assert_eq!(r.message_state, MessageState::ENROUTE);
    assert!(r.final_date.as_bytes().is_empty(), "not final yet: {:?}", r.final_date);

    tokio::time::sleep(Duration::from_secs(9)).await;
    assert_eq!(client.query_sm(query()).await.unwrap().message_state, MessageState::ENROUTE);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let r = client.query_sm(query()).await.unwrap();
    assert_eq!(r.message_state, MessageState::UNDELIVERABLE);
    let date = r.final_date.to_string();
    assert_eq!(date.len(), 16, "an absolute time: {date}");
    assert!(date.ends_with("000+"), "{date}");
    assert!(date.starts_with(&receipt_minute(SystemTime::now())[..6]), "today: {date}");

    let mut unknown = query();
    unknown.message_id = "ffffffff".parse().unwrap();
    let err = client.query_sm(unknown).await.unwrap_err();
    assert_eq!(err, RequestError::Status(CommandStatus::ESME_RQUERYFAIL));
}

// ---- the mix, the delay, error injection, MO --------------------------------------

#[tokio::test(start_paused = true)]
async fn dlr_mix_draws_final_states_by_weight() {
    let mut config = sim_config();
    config.dlr_mix = SimulatorConfig::parse_dlr_mix("DELIVRD:50,UNDELIV:50").unwrap();
    let sim = Sim::new(config);
    let (client, mut incoming) = sim.client(client_config("alice", "secret").window(50)).await.unwrap();
    for _ in 0..200 {
        client.submit(sm("447700900123", true)).await.unwrap();
    }
    let (mut delivered, mut undeliverable) = (0, 0);
    for _ in 0..200 {
        let r = incoming.recv().await.unwrap().receipt().expect("a receipt");
        match r.state {
            Some(MessageState::DELIVERED) => delivered += 1,
            Some(MessageState::UNDELIVERABLE) => undeliverable += 1,
            other => panic!("a state outside the mix: {other:?}"),
        }
    }
    // Binomial(200, 1/2): below 50 on either side has a probability under 1e-12.
    assert!(delivered >= 50 && undeliverable >= 50, "{delivered} delivered, {undeliverable} undeliverable");
}

#[tokio::test(start_paused = true)]
async fn resp_delay_holds_each_submit_answer_that_long() {
    let mut config = sim_config();
    config.resp_delay = Duration::from_millis(1500);
    let sim = Sim::new(config);
    let mut trx = alice(&sim, 1, BindMode::Transceiver, V34).await;
    for body in
        [Body::SubmitSm(sm("447700900123", false)), Body::DataSm(data_sm("447700900123", RegisteredDelivery::NONE))]
    {
        let start = Instant::now();
        let resp = trx.call(body).await;
        assert_eq!(resp.status, CommandStatus::ESME_ROK);
        assert_eq!(start.elapsed(), Duration::from_millis(1500));
    }
    // Several at once are each held that long, not in turn.
    let start = Instant::now();
    let seqs =
        [trx.send(Body::SubmitSm(sm("447700900123", false))).await, trx.send(Body::SubmitSm(sm("1", false))).await];
    for _ in seqs {
        let resp = trx.read().await.unwrap();
        assert!(seqs.contains(&resp.sequence) && resp.status.is_ok(), "{resp:?}");
    }
    assert_eq!(start.elapsed(), Duration::from_millis(1500));
    // Error answers are not held.
    let start = Instant::now();
    assert_eq!(trx.call(Body::SubmitSm(sm("99911", false))).await.status, CommandStatus::ESME_RINVDSTADR);
    assert_eq!(start.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn error_destinations_are_answered_with_their_status() {
    let mut config = sim_config();
    config.errors.insert("447700900000".to_owned(), CommandStatus::ESME_RSUBMITFAIL);
    let sim = Sim::new(config);
    let mut trx = alice(&sim, 1, BindMode::Transceiver, V34).await;
    let cases = [
        ("447700900000", CommandStatus::ESME_RSUBMITFAIL),
        ("99911", CommandStatus::ESME_RINVDSTADR),
        ("99988", CommandStatus::ESME_RTHROTTLED),
        ("99920", CommandStatus::ESME_RMSGQFUL),
        ("999", CommandStatus::ESME_ROK),
        ("447700900123", CommandStatus::ESME_ROK),
    ];
    for (to, status) in cases {
        let resp = trx.call(Body::SubmitSm(sm(to, true))).await;
        assert_eq!(resp.status, status, "submit_sm to {to}");
        let resp = trx.call(Body::DataSm(data_sm(to, RegisteredDelivery::NONE))).await;
        assert_eq!(resp.status, status, "data_sm to {to}");
    }
    assert_eq!(sim.handle.submits(), 4, "only the accepted ones count");
    // No receipt for a refused message: the only two come from the two accepted submits.
    let mut receipts = 0;
    while trx.deliver_within(Duration::from_secs(10)).await.is_some() {
        receipts += 1;
    }
    assert_eq!(receipts, 2);
}

/// A submit_multi of "to many" to `destinations`, asking for a receipt.
fn submit_multi(destinations: &[&str]) -> SubmitMulti {
    let mut m = SubmitMulti::default();
    m.source_addr = Address::international("12345").unwrap();
    for to in destinations {
        m.dest_addresses.try_push(DestAddress::Sme(Address::international(to).unwrap())).unwrap();
    }
    m.short_message = ShortMessage::new(&b"to many"[..]).unwrap();
    m.registered_delivery = RegisteredDelivery::RECEIPT;
    m
}

#[tokio::test(start_paused = true)]
async fn submit_multi_counts_can_be_queried_and_its_first_destination_picks_the_error() {
    let mut config = sim_config();
    config.errors.insert("447700900000".to_owned(), CommandStatus::ESME_RSUBMITFAIL);
    let sim = Sim::new(config);
    let mut trx = alice(&sim, 1, BindMode::Transceiver, V34).await;

    let resp = trx.call(Body::SubmitMulti(submit_multi(&["447700900123", "447700900124"]))).await;
    assert_eq!(resp.status, CommandStatus::ESME_ROK);
    let Body::SubmitMultiResp(Some(r)) = &resp.body else { panic!("{resp:?}") };
    let id = r.message_id.to_string();
    assert_eq!(sim.handle.submits(), 1, "counted");
    let mut q = QuerySm::default();
    q.message_id = id.parse().unwrap();
    q.source_addr = Address::international("12345").unwrap();
    let resp = trx.call(Body::QuerySm(q)).await;
    assert_eq!(resp.status, CommandStatus::ESME_ROK, "query_sm knows it");
    let Body::QuerySmResp(Some(state)) = &resp.body else { panic!("{resp:?}") };
    assert_eq!(state.message_id.to_string(), id);

    let cases = [
        (&["99911", "447700900123"][..], CommandStatus::ESME_RINVDSTADR),
        (&["447700900000"][..], CommandStatus::ESME_RSUBMITFAIL),
        (&["447700900123", "99911"][..], CommandStatus::ESME_ROK),
    ];
    for (destinations, status) in cases {
        let resp = trx.call(Body::SubmitMulti(submit_multi(destinations))).await;
        assert_eq!(resp.status, status, "submit_multi to {destinations:?}");
    }
    assert_eq!(sim.handle.submits(), 2, "only the accepted ones count");
    assert!(trx.deliver_within(Duration::from_secs(60)).await.is_none(), "no receipt for a submit_multi");
}

#[tokio::test(start_paused = true)]
async fn mo_every_sends_each_account_an_mo_periodically() {
    let mut config = sim_config();
    config.mo_every = Some(Duration::from_secs(10));
    let sim = Sim::new(config);
    let mut rx = alice(&sim, 1, BindMode::Receiver, V34).await;
    let start = Instant::now();
    for k in 1..=3 {
        let d = rx.deliver().await;
        assert!(!d.esm_class.is_receipt());
        assert_eq!(d.short_message.as_bytes(), b"Hello from the simulator");
        assert_eq!(start.elapsed(), Duration::from_secs(10 * k));
    }
}

#[tokio::test(start_paused = true)]
async fn per_account_limits_override_the_defaults() {
    let mut config = sim_config();
    config.throttle = Some(2);
    config.limits.insert("alice".to_owned(), smpp_server::Limits::default().max_binds(1).throttle(4));
    let sim = Sim::new(config);
    let mut a = alice(&sim, 1, BindMode::Transceiver, V34).await;
    let mut again = sim.raw(2);
    assert_eq!(again.bind(BindMode::Transceiver, "alice", "secret", V34).await, CommandStatus::ESME_RBINDFAIL);
    let mut b = sim.raw(3);
    assert_eq!(b.bind(BindMode::Transceiver, "bob", "hunter2", V34).await, CommandStatus::ESME_ROK);
    let mut b2 = sim.raw(4);
    assert_eq!(b2.bind(BindMode::Transceiver, "bob", "hunter2", V34).await, CommandStatus::ESME_ROK);

    let burst = async |raw: &mut Raw| {
        let mut ok = 0;
        for _ in 0..10 {
            ok += usize::from(raw.call(Body::SubmitSm(sm("447700900123", false))).await.status.is_ok());
        }
        ok
    };
    assert_eq!(burst(&mut a).await, 4, "alice's own throttle");
    assert_eq!(burst(&mut b).await, 2, "the simulator's throttle for the others");
}

#[test]
fn the_config_debug_never_shows_a_password() {
    let mut config = SimulatorConfig::default();
    config.accounts.insert("carol".into(), "s3cr3t-pw".into());
    let shown = format!("{config:?} {config:#?}");
    assert!(shown.contains("carol") && !shown.contains("s3cr3t-pw") && !shown.contains("\"password\""), "{shown}");
}
