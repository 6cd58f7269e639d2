//! The server library: asynchronous authentication and the account data it grants,
//! the per-account bind limit under concurrent binds, session administration, the
//! per-account throttle and window, pushes, and `Server::serve` over any stream.
//!
//! All in virtual time over in-memory duplex streams.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use common::{Raw, client_config, eventually, mo, peer, server_config, sm};
use smpp_server::{
    BindInfo, BoundSession, Defer, Grant, Limits, PushError, Reply, Responder, Server, ServerHandle, SmscHandler,
};
use smpp_session::{BindMode, CloseReason, Request};
use smpp_wire::{Body, CommandStatus, InterfaceVersion, Pdu, QuerySm, SubmitSmResp};
use tokio::time::Instant;

/// A handler for the tests below: any password is "secret"; every bind gets
/// `limits`; submits are accepted with id "1".
#[derive(Default)]
struct Basic {
    limits: Limits,
    /// How long authentication takes.
    auth_delay: Duration,
    bound: AtomicUsize,
    closed: Mutex<Vec<(String, CloseReason)>>,
}

impl Basic {
    fn with_limits(limits: Limits) -> Arc<Self> {
        Arc::new(Self { limits, ..Self::default() })
    }
}

impl SmscHandler for Basic {
    type Account = ();

    async fn authenticate(&self, bind: &BindInfo) -> Result<Grant<()>, CommandStatus> {
        tokio::time::sleep(self.auth_delay).await;
        if !bind.password_is("secret") {
            return Err(CommandStatus::ESME_RINVPASWD);
        }
        Ok(Grant::new(()).limits(self.limits.clone()))
    }

    fn on_request(&self, _: &BoundSession<()>, request: Request, _: Defer<'_>) -> Option<Reply> {
        Some(Reply::accepted(&request, "1"))
    }

    fn on_bound(&self, _: &BoundSession<()>) {
        self.bound.fetch_add(1, Ordering::SeqCst);
    }

    fn on_closed(&self, session: &BoundSession<()>, reason: CloseReason) {
        self.closed.lock().unwrap().push((session.system_id.clone(), reason));
    }
}

/// A bound raw ESME of `system_id` from `peer(port)`.
async fn bound<H: SmscHandler>(server: &Server<H>, port: u16, mode: BindMode, system_id: &str) -> Raw {
    let mut raw = Raw::connect(server, port);
    assert_eq!(raw.bind(mode, system_id, "secret", 0x34).await, CommandStatus::ESME_ROK);
    raw
}

/// The id of the session from `peer(port)`.
fn id_of(handle: &ServerHandle, port: u16) -> u64 {
    let sessions = handle.sessions();
    sessions.iter().find(|s| s.info.peer == peer(port)).unwrap_or_else(|| panic!("no session from {port}")).info.id
}

fn submit() -> Body {
    Body::SubmitSm(sm("447700900123", false))
}

// ---- asynchronous authentication --------------------------------------------------

/// An account row, as an application keeps it.
#[derive(Clone, Debug)]
struct Tenant {
    password: String,
    /// The prefix of this tenant's message ids.
    prefix: String,
    limits: Limits,
}

/// What the handler grants a bind: the application's own account type.
#[derive(Debug)]
struct Account {
    system_id: String,
    prefix: String,
}

/// Accounts looked up in an asynchronous store (a lookup takes 2 s, as a slow
/// database would); message ids carry the tenant's prefix.
struct Tenants {
    store: tokio::sync::Mutex<HashMap<String, Tenant>>,
    lookups: AtomicUsize,
    next: AtomicUsize,
    /// (system_id the bind claimed, account the request came with).
    seen: Mutex<Vec<(String, String)>>,
}

impl SmscHandler for Tenants {
    type Account = Account;

    async fn authenticate(&self, bind: &BindInfo) -> Result<Grant<Account>, CommandStatus> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_secs(2)).await;
        let tenant = self.store.lock().await.get(&bind.system_id()).cloned().ok_or(CommandStatus::ESME_RINVSYSID)?;
        if !bind.password_is(&tenant.password) {
            return Err(CommandStatus::ESME_RINVPASWD);
        }
        let account = Account { system_id: bind.system_id(), prefix: tenant.prefix };
        Ok(Grant::new(account).limits(tenant.limits))
    }

    fn on_request(&self, session: &BoundSession<Account>, request: Request, _: Defer<'_>) -> Option<Reply> {
        self.seen.lock().unwrap().push((session.system_id.clone(), session.account.system_id.clone()));
        let n = self.next.fetch_add(1, Ordering::SeqCst);
        Some(Reply::accepted(&request, &format!("{}-{n}", session.account.prefix)))
    }
}

#[tokio::test(start_paused = true)]
async fn authentication_awaits_and_grants_account_data_that_requests_see() {
    let tenant = |password: &str, prefix: &str, window| Tenant {
        password: password.into(),
        prefix: prefix.into(),
        limits: Limits::default().window(window),
    };
    let store =
        HashMap::from([("alice".to_owned(), tenant("secret", "A", 3)), ("bob".to_owned(), tenant("hunter2", "B", 7))]);
    let handler = Arc::new(Tenants {
        store: tokio::sync::Mutex::new(store),
        lookups: AtomicUsize::new(0),
        next: AtomicUsize::new(0),
        seen: Mutex::new(Vec::new()),
    });
    let server = Server::new(server_config(), handler.clone());

    // Both binds are decided at once: each waits 2 s for its lookup, not 2 s each
    // in turn.
    let start = Instant::now();
    let (alice, bob, mallory) = tokio::join!(
        common::client(&server, client_config("alice", "secret")),
        common::client(&server, client_config("bob", "hunter2")),
        common::client(&server, client_config("mallory", "secret")),
    );
    assert_eq!(start.elapsed(), Duration::from_secs(2), "the lookups ran concurrently");
    assert_eq!(handler.lookups.load(Ordering::SeqCst), 3);
    let err = mallory.unwrap_err();
    assert!(matches!(err, smpp_client::ClientError::BindRefused(CommandStatus::ESME_RINVSYSID)), "{err}");
    let ((alice, _ia), (bob, _ib)) = (alice.unwrap(), bob.unwrap());

    // Each session's requests come with its own account data.
    let a = alice.submit(sm("447700900123", false)).await.unwrap().message_id.to_string();
    let b = bob.submit(sm("447700900123", false)).await.unwrap().message_id.to_string();
    assert!(a.starts_with("A-") && b.starts_with("B-"), "{a} {b}");
    let seen = handler.seen.lock().unwrap().clone();
    assert_eq!(seen, [("alice".to_owned(), "alice".to_owned()), ("bob".to_owned(), "bob".to_owned())]);

    // The limits granted are the ones in force.
    let handle = server.handle();
    assert_eq!(handle.account_sessions("alice").len(), 1);
    let err = common::client(&server, client_config("bob", "wrong")).await.unwrap_err();
    assert!(matches!(err, smpp_client::ClientError::BindRefused(CommandStatus::ESME_RINVPASWD)), "{err}");
}

#[tokio::test(start_paused = true)]
async fn the_granted_window_limits_pushes_per_session() {
    // The window granted per account applies to pushes to its sessions.
    let handler = Arc::new(Basic { limits: Limits::default().window(2), ..Basic::default() });
    let server = Server::new(server_config(), handler);
    let handle = server.handle();
    let mut raw = bound(&server, 1, BindMode::Transceiver, "alice").await;
    let pushes: Vec<_> = (0..10)
        .map(|k| {
            let handle = handle.clone();
            tokio::spawn(async move { handle.push("alice", Request::DeliverSm(mo(&format!("mo {k}")))).await })
        })
        .collect();

    // Read without answering: the window lets 2 out, no more.
    let mut unanswered = Vec::new();
    let mut most = 0;
    let mut answered = 0;
    while answered < 10 {
        match raw.read_within(Duration::from_secs(1)).await {
            Some(Some(pdu)) => {
                assert!(matches!(pdu.body, Body::DeliverSm(_)), "{pdu:?}");
                unanswered.push(pdu.sequence);
                most = most.max(unanswered.len());
                assert!(unanswered.len() <= 2, "{} pushes in flight past a window of 2", unanswered.len());
            }
            Some(None) => panic!("the SMSC closed the connection"),
            None => {
                // Nothing more comes until one is answered.
                assert_eq!(unanswered.len(), 2.min(10 - answered), "the window is used in full");
                let seq = unanswered.remove(0);
                raw.write(Pdu::new(seq, Body::DeliverSmResp(Some(Default::default())))).await;
                answered += 1;
            }
        }
    }
    assert_eq!(most, 2);
    for p in pushes {
        let (status, _) = p.await.unwrap().unwrap();
        assert_eq!(status, CommandStatus::ESME_ROK);
    }
    assert_eq!(handle.sessions()[0].pushes, 10);
}

/// Holds every request's responder until the test answers (or drops) it.
#[derive(Default)]
struct Holding {
    limits: Limits,
    held: Mutex<Vec<Responder>>,
}

impl SmscHandler for Holding {
    type Account = ();

    async fn authenticate(&self, _: &BindInfo) -> Result<Grant<()>, CommandStatus> {
        Ok(Grant::new(()).limits(self.limits.clone()))
    }

    fn on_request(&self, _: &BoundSession<()>, _: Request, defer: Defer<'_>) -> Option<Reply> {
        self.held.lock().unwrap().push(defer.responder());
        None
    }
}

#[tokio::test(start_paused = true)]
async fn the_granted_receive_window_limits_unanswered_requests() {
    let handler = Arc::new(Holding { limits: Limits::default().receive_window(2), ..Holding::default() });
    let server = Server::new(server_config(), handler.clone());
    let mut raw = bound(&server, 1, BindMode::Transceiver, "alice").await;
    let first = raw.send(submit()).await;
    let second = raw.send(submit()).await;
    // Past the two the ESME may have unanswered, the session answers by itself.
    let resp = raw.call(submit()).await;
    assert_eq!(resp.status, CommandStatus::ESME_RTHROTTLED);
    assert_eq!(handler.held.lock().unwrap().len(), 2, "the third never reached the handler");

    // Answered from the test (another task, in effect); a responder dropped
    // unanswered answers ESME_RSYSERR.
    let (a, b) = {
        let mut held = handler.held.lock().unwrap();
        (held.remove(0), held.remove(0))
    };
    let mut resp = SubmitSmResp::default();
    resp.message_id = "held-1".parse().unwrap();
    a.respond(Reply::ok(Body::SubmitSmResp(Some(resp))));
    drop(b);
    let (r1, r2) = (raw.read().await.unwrap(), raw.read().await.unwrap());
    assert_eq!((r1.sequence, r1.status), (first, CommandStatus::ESME_ROK));
    assert!(matches!(&r1.body, Body::SubmitSmResp(Some(r)) if r.message_id.as_bytes() == b"held-1"), "{r1:?}");
    assert_eq!((r2.sequence, r2.status), (second, CommandStatus::ESME_RSYSERR));
    // Room again.
    raw.send(submit()).await;
    eventually("the next request reaches the handler", || handler.held.lock().unwrap().len() == 1).await;
}

#[tokio::test(start_paused = true)]
async fn an_authentication_slower_than_the_bind_timeout_closes_the_connection() {
    // The bind timeout is 10 s; this lookup takes 15 s.
    let handler = Arc::new(Basic { auth_delay: Duration::from_secs(15), ..Basic::default() });
    let server = Server::new(server_config(), handler.clone());
    let mut raw = Raw::connect(&server, 1);
    let start = Instant::now();
    raw.send(common::bind_body(BindMode::Transceiver, "alice", "secret", 0x34, "")).await;
    assert!(raw.closes_within(Duration::from_secs(60)).await);
    assert_eq!(start.elapsed(), Duration::from_secs(10), "closed at the bind timeout");
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(handler.bound.load(Ordering::SeqCst), 0, "never bound");
    assert_eq!((server.handle().binds("alice"), server.handle().connections()), (0, 0));
}

// ---- the bind limit ---------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn the_bind_limit_holds_under_concurrent_binds() {
    // Authentication takes a second, so all ten binds are decided at the same time.
    let handler = Arc::new(Basic {
        limits: Limits::default().max_binds(3),
        auth_delay: Duration::from_secs(1),
        ..Basic::default()
    });
    let server = Server::new(server_config(), handler.clone());
    let binds: Vec<_> = (0..10)
        .map(|k| {
            let mut raw = Raw::connect(&server, k);
            tokio::spawn(async move {
                let status = raw.bind(BindMode::Transceiver, "alice", "secret", 0x34).await;
                (status, raw)
            })
        })
        .collect();
    let mut statuses = HashMap::new();
    let mut refused = Vec::new();
    for b in binds {
        let (status, raw) = b.await.unwrap();
        *statuses.entry(status).or_insert(0) += 1;
        if status.is_error() {
            refused.push(raw);
        }
    }
    assert_eq!(statuses, HashMap::from([(CommandStatus::ESME_ROK, 3), (CommandStatus::ESME_RBINDFAIL, 7)]));
    assert_eq!(server.handle().binds("alice"), 3);
    assert_eq!(handler.bound.load(Ordering::SeqCst), 3);
    for mut raw in refused {
        assert!(raw.closes_within(Duration::from_secs(1)).await, "a refused bind is closed");
    }
    eventually("the refused connections are gone", || server.handle().connections() == 3).await;
}

// ---- session administration -------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn sessions_list_identity_mode_version_peer_bound_at_and_counters() {
    let handler = Basic::with_limits(Limits::default());
    let server = Server::new(server_config(), handler);
    let handle = server.handle();
    let before = SystemTime::now();
    let mut alice = Raw::connect(&server, 1);
    let status = alice.bind_as(BindMode::Transceiver, "alice", "secret", 0x34, "vms").await;
    assert_eq!(status, CommandStatus::ESME_ROK);
    let mut bob = Raw::connect(&server, 2);
    assert_eq!(bob.bind(BindMode::Transmitter, "bob", "secret", 0x33).await, CommandStatus::ESME_ROK);
    let after = SystemTime::now();

    for _ in 0..3 {
        assert_eq!(alice.call(submit()).await.status, CommandStatus::ESME_ROK);
    }
    let pushes = {
        let handle = handle.clone();
        tokio::spawn(async move {
            for k in 0..2 {
                handle.push("alice", Request::DeliverSm(mo(&format!("mo {k}")))).await.unwrap();
            }
        })
    };
    alice.deliver().await;
    alice.deliver().await;
    pushes.await.unwrap();

    let sessions = handle.sessions();
    assert_eq!(sessions.len(), 2);
    let (a, b) = (&sessions[0], &sessions[1]);
    assert_eq!((a.info.system_id.as_str(), b.info.system_id.as_str()), ("alice", "bob"), "by account");
    assert_ne!(a.info.id, b.info.id);
    assert_eq!(a.info.peer, peer(1));
    assert_eq!(a.info.system_type, "vms");
    assert_eq!(a.info.mode, BindMode::Transceiver);
    assert_eq!((a.info.requested_version, a.info.version), (InterfaceVersion::V34, InterfaceVersion::V34));
    assert!(a.info.tlvs_allowed());
    assert!(before <= a.info.bound_at && a.info.bound_at <= after, "{:?}", a.info.bound_at);
    assert_eq!((a.requests, a.throttled, a.pushes), (3, 0, 2));
    assert_eq!(b.info.peer, peer(2));
    assert_eq!(b.info.mode, BindMode::Transmitter);
    assert_eq!((b.info.requested_version, b.info.version), (InterfaceVersion(0x33), InterfaceVersion::V33));
    assert!(!b.info.tlvs_allowed());
    assert_eq!((b.requests, b.throttled, b.pushes), (0, 0, 0));

    let bobs = handle.account_sessions("bob");
    assert_eq!(bobs.len(), 1);
    assert_eq!(bobs[0].info.id, b.info.id);
    assert!(handle.account_sessions("carol").is_empty());
    assert_eq!((handle.binds("alice"), handle.binds("bob"), handle.connections()), (1, 1, 2));
}

#[tokio::test(start_paused = true)]
async fn sessions_and_accounts_can_be_unbound_or_dropped() {
    let handler = Basic::with_limits(Limits::default());
    let server = Server::new(server_config(), handler.clone());
    let handle = server.handle();
    let mut a1 = bound(&server, 1, BindMode::Transceiver, "alice").await;
    let mut a2 = bound(&server, 2, BindMode::Receiver, "alice").await;
    let mut b1 = bound(&server, 3, BindMode::Transceiver, "bob").await;

    // One session unbound: it is sent unbind, and goes once it answers.
    assert!(handle.unbind_session(id_of(&handle, 1)));
    let pdu = a1.read().await.unwrap();
    assert_eq!(pdu.body, Body::Unbind);
    a1.write(Pdu::new(pdu.sequence, Body::UnbindResp)).await;
    assert!(a1.closes_within(Duration::from_secs(1)).await);
    eventually("alice has one bind left", || handle.binds("alice") == 1).await;

    // One session dropped: the connection is cut, without unbind.
    assert!(handle.drop_session(id_of(&handle, 2)));
    assert!(matches!(a2.read_within(Duration::from_secs(1)).await, Some(None)), "cut without a word");
    eventually("alice has no bind left", || handle.binds("alice") == 0).await;

    // Sessions that do not exist.
    assert!(!handle.unbind_session(9999));
    assert!(!handle.drop_session(9999));
    assert_eq!(handle.unbind_account("carol"), 0);
    assert_eq!(handle.drop_account("carol"), 0);

    // A whole account unbound: every session of it, and no other.
    let mut a3 = bound(&server, 4, BindMode::Transceiver, "alice").await;
    let mut a4 = bound(&server, 5, BindMode::Transmitter, "alice").await;
    assert_eq!(handle.unbind_account("alice"), 2);
    for raw in [&mut a3, &mut a4] {
        let pdu = raw.read().await.unwrap();
        assert_eq!(pdu.body, Body::Unbind);
        raw.write(Pdu::new(pdu.sequence, Body::UnbindResp)).await;
        assert!(raw.closes_within(Duration::from_secs(1)).await);
    }
    eventually("alice is gone", || handle.binds("alice") == 0).await;
    assert_eq!(handle.binds("bob"), 1, "bob is not disturbed");
    assert_eq!(b1.call(submit()).await.status, CommandStatus::ESME_ROK);

    // A whole account dropped.
    assert_eq!(handle.drop_account("bob"), 1);
    assert!(matches!(b1.read_within(Duration::from_secs(1)).await, Some(None)), "cut without a word");
    eventually("no connection left", || handle.connections() == 0).await;
    assert!(handle.sessions().is_empty());

    // The handler heard each of the five sessions end, however it ended.
    let closed = handler.closed.lock().unwrap().clone();
    assert_eq!(closed.len(), 5, "{closed:?}");
    let unbound = closed.iter().filter(|(_, r)| matches!(r, CloseReason::Unbound { .. })).count();
    assert_eq!(unbound, 3, "{closed:?}");
}

// ---- per-account throttle ---------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn the_account_throttle_is_shared_by_its_binds() {
    let handler = Basic::with_limits(Limits::default().throttle(5));
    let server = Server::new(server_config(), handler);
    let handle = server.handle();
    let mut a1 = bound(&server, 1, BindMode::Transceiver, "alice").await;
    let mut a2 = bound(&server, 2, BindMode::Transmitter, "alice").await;
    let mut b1 = bound(&server, 3, BindMode::Transceiver, "bob").await;

    // Ten submits in the same instant over alice's two binds: five get through.
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(a1.call(submit()).await.status);
        statuses.push(a2.call(submit()).await.status);
    }
    let ok = statuses.iter().filter(|s| s.is_ok()).count();
    let throttled = statuses.iter().filter(|s| **s == CommandStatus::ESME_RTHROTTLED).count();
    assert_eq!((ok, throttled), (5, 5), "{statuses:?}");
    assert_eq!(&statuses[..5], [CommandStatus::ESME_ROK; 5], "the burst first");

    // Requests that are not submits are not counted.
    let query = Body::QuerySm(QuerySm::default());
    assert_eq!(a1.call(query).await.status, CommandStatus::ESME_ROK);
    // Another account has its own bucket.
    for _ in 0..5 {
        assert_eq!(b1.call(submit()).await.status, CommandStatus::ESME_ROK);
    }
    assert_eq!(b1.call(submit()).await.status, CommandStatus::ESME_RTHROTTLED);

    let sessions = handle.account_sessions("alice");
    assert_eq!(sessions.iter().map(|s| s.throttled).sum::<u64>(), 5);
    assert_eq!(sessions.iter().map(|s| s.requests).sum::<u64>(), 11);

    // Later, the bucket is full again, holding no more than a second's worth.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let mut ok = 0;
    for _ in 0..8 {
        ok += usize::from(a1.call(submit()).await.status.is_ok());
    }
    assert_eq!(ok, 5);
    // 200 ms later, one more.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(a2.call(submit()).await.status, CommandStatus::ESME_ROK);
    assert_eq!(a2.call(submit()).await.status, CommandStatus::ESME_RTHROTTLED);
}

// ---- pushes -----------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn pushes_go_to_receivers_and_fail_clearly() {
    let server = Server::new(
        server_config().with_session(|s| {
            s.response_timeout(Some(Duration::from_secs(5)));
        }),
        Basic::with_limits(Limits::default()),
    );
    let handle = server.handle();
    let _tx = bound(&server, 1, BindMode::Transmitter, "alice").await;
    let push = |handle: &ServerHandle| {
        let handle = handle.clone();
        tokio::spawn(async move { handle.push("alice", Request::DeliverSm(mo("hi"))).await })
    };
    // A transmitter takes no pushes.
    let r = push(&handle).await.unwrap();
    assert_eq!(r, Err(PushError::NoReceiver("alice".into())));

    // A receiver that answers: its status comes back.
    let mut rx = bound(&server, 2, BindMode::Receiver, "alice").await;
    let p = push(&handle);
    let d = rx.deliver().await;
    assert_eq!(d.short_message.as_bytes(), b"hi");
    assert_eq!(p.await.unwrap().unwrap().0, CommandStatus::ESME_ROK);

    // A receiver that never answers: the push times out after the response timeout.
    let start = Instant::now();
    let p = push(&handle);
    assert!(matches!(rx.read().await.unwrap().body, Body::DeliverSm(_)));
    assert_eq!(p.await.unwrap(), Err(PushError::Timeout));
    assert_eq!(start.elapsed(), Duration::from_secs(5));

    // Only receivers that pass the filter are chosen.
    let r = handle.push_where("alice", Request::DeliverSm(mo("hi")), |s| s.peer == peer(99)).await;
    assert_eq!(r, Err(PushError::NoReceiver("alice".into())));
}

// ---- Server::serve ----------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn serve_runs_sessions_over_any_stream_within_the_connection_limit() {
    let server = Server::new(server_config().max_connections(2), Basic::with_limits(Limits::default()));
    let handle = server.handle();
    assert_eq!(handle.local_addr(), "0.0.0.0:0".parse().unwrap(), "no listener");

    // Our client over a duplex: bound, and requests answered.
    let (client, _incoming) = common::client(&server, client_config("alice", "secret")).await.unwrap();
    assert_eq!(client.submit(sm("447700900123", false)).await.unwrap().message_id.as_bytes(), b"1");
    let mut raw = bound(&server, 7, BindMode::Transceiver, "bob").await;
    assert_eq!(handle.connections(), 2);

    // Past the connection limit, the stream is refused and dropped.
    let (mut ours, theirs) = tokio::io::duplex(64);
    assert!(!server.serve(theirs, peer(8)));
    let mut buf = [0u8; 1];
    assert_eq!(tokio::io::AsyncReadExt::read(&mut ours, &mut buf).await.unwrap(), 0, "dropped");
    assert_eq!(handle.connections(), 2);

    // A freed slot can be used again.
    client.unbind().await;
    eventually("the client's connection is gone", || handle.connections() == 1).await;
    let (again, _incoming) = common::client(&server, client_config("alice", "secret")).await.unwrap();

    // After shutdown, nothing is served.
    let shutdown = {
        let handle = handle.clone();
        tokio::spawn(async move { handle.shutdown(Duration::from_secs(5)).await })
    };
    let pdu = raw.read().await.unwrap();
    assert_eq!(pdu.body, Body::Unbind);
    raw.write(Pdu::new(pdu.sequence, Body::UnbindResp)).await;
    assert_eq!(shutdown.await.unwrap(), 0);
    assert!(handle.is_shutting_down());
    let (_ours, theirs) = tokio::io::duplex(64);
    assert!(!server.serve(theirs, peer(9)));
    assert_eq!(handle.connections(), 0);
    eventually("the client was unbound", || !again.is_up()).await;
}

#[tokio::test(start_paused = true)]
async fn shutdown_cuts_off_sessions_that_do_not_unbind_within_the_grace_period() {
    let handler = Basic::with_limits(Limits::default());
    let server = Server::new(server_config(), handler.clone());
    let handle = server.handle();
    // This ESME never answers unbind (nor anything else).
    let mut mute = bound(&server, 1, BindMode::Transceiver, "alice").await;
    let start = Instant::now();
    assert_eq!(handle.shutdown(Duration::from_secs(2)).await, 1, "one session had to be cut");
    assert_eq!(start.elapsed(), Duration::from_secs(2), "within the grace period");
    assert_eq!(mute.read().await.unwrap().body, Body::Unbind);
    assert!(mute.closes_within(Duration::from_secs(1)).await);
    eventually("the connection is gone", || handle.connections() == 0).await;
    assert_eq!(handler.closed.lock().unwrap().len(), 1, "the handler heard it end");
}

// ---- found in review ----------------------------------------------------------------

/// An account's bucket outlives its binds: dropping the connection and binding again
/// does not refill it (it did when the bucket went with the account's last bind).
#[tokio::test(start_paused = true)]
async fn reconnecting_does_not_refill_the_account_throttle() {
    let server = Server::new(server_config(), Basic::with_limits(Limits::default().throttle(5)));
    let handle = server.handle();
    let mut a = bound(&server, 1, BindMode::Transceiver, "alice").await;
    for _ in 0..5 {
        assert_eq!(a.call(submit()).await.status, CommandStatus::ESME_ROK);
    }
    assert_eq!(a.call(submit()).await.status, CommandStatus::ESME_RTHROTTLED);
    assert!(handle.drop_account("alice") == 1);
    eventually("alice unbound", || handle.binds("alice") == 0).await;
    let mut again = bound(&server, 2, BindMode::Transceiver, "alice").await;
    assert_eq!(again.call(submit()).await.status, CommandStatus::ESME_RTHROTTLED, "the same bucket");
}

/// A push queued behind a full window, failed because the server dropped the session,
/// says the session was closed here (it said the peer closed it).
#[tokio::test(start_paused = true)]
async fn a_queued_push_failed_by_dropping_its_session_names_a_local_close() {
    let handler = Arc::new(Basic { limits: Limits::default().window(1), ..Basic::default() });
    let server = Server::new(server_config(), handler);
    let handle = server.handle();
    let mut raw = bound(&server, 1, BindMode::Transceiver, "alice").await;
    let first = tokio::spawn({
        let handle = handle.clone();
        async move { handle.push("alice", Request::DeliverSm(mo("in flight"))).await }
    });
    assert!(matches!(raw.read().await.map(|p| p.body), Some(Body::DeliverSm(_))));
    let queued = tokio::spawn({
        let handle = handle.clone();
        async move { handle.push("alice", Request::DeliverSm(mo("queued"))).await }
    });
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert!(handle.drop_session(id_of(&handle, 1)));
    assert_eq!(queued.await.unwrap(), Err(PushError::Closed(CloseReason::Local)));
    assert!(first.await.unwrap().is_err());
}

/// Asking a session to unbind many times sends one unbind, and leaves the session's
/// queue free for the answers it owes (repeated requests used to fill it).
#[tokio::test(start_paused = true)]
async fn asking_a_session_to_unbind_again_and_again_sends_one_unbind() {
    let handler = Arc::new(Holding::default());
    let server = Server::new(server_config(), handler.clone());
    let handle = server.handle();
    let mut raw = bound(&server, 1, BindMode::Transceiver, "alice").await;
    let seq = raw.send(submit()).await;
    eventually("the request is held", || handler.held.lock().unwrap().len() == 1).await;
    let id = id_of(&handle, 1);
    for _ in 0..100 {
        assert!(handle.unbind_session(id));
    }
    let responder = handler.held.lock().unwrap().pop().unwrap();
    responder.respond(Reply::accepted(&Request::SubmitSm(sm("1", false)), "late"));
    let mut unbinds = 0;
    let mut answered = false;
    while let Some(Some(pdu)) = raw.read_within(Duration::from_secs(5)).await {
        match pdu.body {
            Body::Unbind => {
                unbinds += 1;
                raw.write(Pdu::new(pdu.sequence, Body::UnbindResp)).await;
            }
            Body::SubmitSmResp(_) if pdu.sequence == seq => answered = true,
            _ => {}
        }
    }
    assert_eq!(unbinds, 1);
    assert!(answered, "the held answer still went out");
}
