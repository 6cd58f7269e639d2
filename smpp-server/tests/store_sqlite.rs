//! `SqliteStore`: the conformance suite, and what only a durable store promises:
//! what it accepted outlives the process (even `kill -9`), claims of a dead process
//! come back, ids stay unique across restarts, and the file set is as documented.
//!
//! The `kill -9` test runs this test binary again as a child (filtered to
//! [`accepted_messages_survive_a_clean_close`], with [`CHILD_ENV`] set): the child
//! accepts messages, reports each one answered `Ok` on stdout, says `DONE` and keeps
//! writing until the parent kills it.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use smpp_server::smpp_wire::{Address, DeliverSm, EsmClass, MessageState, ShortMessage};
use smpp_server::store::{Delivery, Message, SqliteOptions, SqliteStore, Store, StoreError, StoreLimits, conformance};

/// Set in the child of the `kill -9` test: the store folder to fill.
const CHILD_ENV: &str = "SMPP_STORE_SQLITE_CHILD_DIR";
const ACCOUNT: &str = "durable";
/// Messages the child accepts (with a receipt each) before it says `DONE`.
const ACCEPTED: usize = 2_000;
/// Receipts it claims (and never answers) before `DONE`.
const CLAIMED: usize = 10;
/// When it claims them: an hour before the claim would time out.
const CLAIM_MS: u64 = 5_000_000;
const CLAIM_TIMEOUT_MS: u64 = 3_600_000;

/// A fresh folder, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!(
            "smpp-store-sqlite-{name}-{}-{}-{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir(&dir).expect("a fresh temp folder");
        Self(dir)
    }

    fn file(&self) -> PathBuf {
        self.0.join("store.db")
    }

    /// The names of the files in it, sorted.
    fn listing(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.0)
            .expect("the temp folder")
            .map(|e| e.expect("a folder entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn limits() -> StoreLimits {
    let mut limits = StoreLimits::default();
    limits.claim_timeout_ms = CLAIM_TIMEOUT_MS;
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

async fn accept_one(store: &SqliteStore, k: usize) -> Result<String, StoreError> {
    let id = store.next_message_id().await?;
    let message = Message::new(&id, ACCOUNT, 1_000, 2_000, MessageState::DELIVERED);
    store.accept(message, Some(Delivery::new(ACCOUNT, 2_000 + k as u64, receipt(k)))).await?;
    Ok(id)
}

/// What the filling process saw answered `Ok`.
#[derive(Debug, Default)]
struct Filled {
    ids: Vec<String>,
    claimed: Vec<String>,
}

/// Accepts [`ACCEPTED`] messages with receipts from 50 concurrent tasks, then claims
/// [`CLAIMED`] receipts; `report` hears of each one as soon as it is answered `Ok`.
async fn fill(store: &Arc<SqliteStore>, report: impl Fn(&str) + Send + Sync + 'static) -> Filled {
    let report = Arc::new(report);
    let tasks: Vec<_> = (0..50)
        .map(|t| {
            let store = Arc::clone(store);
            let report = Arc::clone(&report);
            tokio::spawn(async move {
                let mut ids = Vec::new();
                for k in (t..ACCEPTED).step_by(50) {
                    let id = accept_one(&store, k).await.expect("accepted");
                    report(&format!("ACK {id}"));
                    ids.push(id);
                }
                ids
            })
        })
        .collect();
    let mut filled = Filled::default();
    for task in tasks {
        filled.ids.extend(task.await.expect("a filling task"));
    }
    for entry in store.claim(ACCOUNT, CLAIM_MS, CLAIMED).await.expect("claimed") {
        report(&format!("CLAIMED {}", entry.id));
        filled.claimed.push(entry.id.0);
    }
    assert_eq!(filled.claimed.len(), CLAIMED, "the child claims {CLAIMED} receipts");
    filled
}

/// Reopens the store as a new process would and checks that it holds everything in
/// `filled`, with the claims released.
async fn check_reopened(path: &Path, filled: &Filled) {
    let store = SqliteStore::open(path, limits()).expect("the store reopens");
    for id in &filled.ids {
        let m = store.message(id).await.expect("a lookup");
        assert!(
            m.as_ref().is_some_and(|m| m.account == ACCOUNT && m.final_state == MessageState::DELIVERED),
            "message {id} answered Ok came back as {m:?}"
        );
    }
    let waiting = store.waiting(ACCOUNT).await.expect("waiting");
    assert!(waiting >= filled.ids.len(), "{waiting} receipts waiting, {} were accepted", filled.ids.len());
    // Released at open, though their claim has an hour to run: due again at once.
    let entries = store.claim(ACCOUNT, CLAIM_MS, usize::MAX).await.expect("claimed again");
    assert_eq!(entries.len(), waiting, "every waiting receipt is claimable at once, the dead claims too");
    let claimed: HashSet<&str> = filled.claimed.iter().map(String::as_str).collect();
    let again: Vec<_> = entries.iter().filter(|e| claimed.contains(e.id.0.as_str())).collect();
    assert_eq!(again.len(), CLAIMED, "the dead process's claims are released");
    assert!(again.iter().all(|e| e.attempts == 1), "a released claim still counts its attempt: {again:?}");
    assert!(entries.iter().all(|e| e.delivery.account == ACCOUNT && e.delivery.deliver.esm_class == EsmClass(0x04)));
    // Ids stay unique across the restart.
    let before: HashSet<&str> = filled.ids.iter().map(String::as_str).collect();
    for _ in 0..1_000 {
        let id = store.next_message_id().await.expect("an id");
        assert!(!before.contains(id.as_str()), "id {id} handed out again after the restart");
    }
}

/// The child's report lines start with this (libtest's own `test … ... ` may stand
/// before the first).
const MARK: &str = "store-child: ";

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{MARK}{line}").and_then(|()| out.flush()).expect("stdout");
}

#[tokio::test]
async fn the_sqlite_store_passes_the_conformance_suite() {
    let dir = TempDir::new("conformance");
    let mut n = 0;
    let result = conformance::check(async |limits| {
        n += 1;
        SqliteStore::open(dir.0.join(format!("store-{n}.db")), limits).expect("a fresh store opens")
    })
    .await;
    assert_eq!(result, Ok(()));
}

/// Also the child of [`everything_answered_ok_survives_kill_9_and_dead_claims_are_released`]
/// when [`CHILD_ENV`] is set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepted_messages_survive_a_clean_close() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        return be_the_child(Path::new(&dir)).await;
    }
    let dir = TempDir::new("clean");
    let store = Arc::new(SqliteStore::open(dir.file(), limits()).expect("a fresh store opens"));
    let filled = fill(&store, |_| {}).await;
    drop(Arc::into_inner(store).expect("the only handle"));
    assert_eq!(dir.listing(), ["store.db"], "a clean close folds the log into the file");
    check_reopened(&dir.file(), &filled).await;
}

/// The child: fills the store, says `DONE`, and goes on accepting until killed (or,
/// if the parent is gone, until its stdin closes).
async fn be_the_child(dir: &Path) {
    let store = Arc::new(SqliteStore::open(dir.join("store.db"), limits()).expect("the child opens the store"));
    fill(&store, say).await;
    say("DONE");
    // Keep the writer busy so the kill lands mid-batch.
    let busy: Vec<_> = (0..50)
        .map(|t| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                for k in 0..20_000 {
                    if accept_one(&store, ACCEPTED + t * 20_000 + k).await.is_err() {
                        break;
                    }
                }
            })
        })
        .collect();
    for task in busy {
        let _ = task.await;
    }
    let _ = tokio::task::spawn_blocking(|| std::io::stdin().lines().count()).await;
}

#[test]
fn everything_answered_ok_survives_kill_9_and_dead_claims_are_released() {
    let dir = TempDir::new("kill");
    let exe = std::env::current_exe().expect("the test binary");
    let mut child = Command::new(exe)
        .args(["--exact", "accepted_messages_survive_a_clean_close", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, &dir.0)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the child starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let (lines, heard) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let mut filled = Filled::default();
    loop {
        let line = match heard.recv_timeout(Duration::from_secs(120)) {
            Ok(line) => line,
            Err(e) => {
                let _ = child.kill();
                panic!("the child stopped before DONE ({e}); it reported {} accepts", filled.ids.len());
            }
        };
        let Some((_, line)) = line.split_once(MARK) else { continue };
        if line == "DONE" {
            break;
        } else if let Some(id) = line.strip_prefix("ACK ") {
            filled.ids.push(id.to_owned());
        } else if let Some(id) = line.strip_prefix("CLAIMED ") {
            filled.claimed.push(id.to_owned());
        }
    }
    child.kill().expect("SIGKILL"); // std sends SIGKILL on Unix
    let status = child.wait().expect("the child is reaped");
    assert!(!status.success(), "the child was killed, not finished: {status}");
    assert_eq!(filled.ids.len(), ACCEPTED, "the child reported every accept");
    assert!(
        dir.listing().contains(&"store.db-wal".to_owned()),
        "a killed store leaves its log behind (else this was no crash): {:?}",
        dir.listing()
    );
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("a runtime");
    runtime.block_on(check_reopened(&dir.file(), &filled));
}

#[tokio::test]
async fn message_ids_are_8_hex_digits_and_unique_across_restarts() {
    let dir = TempDir::new("ids");
    let mut seen = HashSet::new();
    for _ in 0..3 {
        let store = SqliteStore::open(dir.file(), limits()).expect("the store opens");
        for _ in 0..1_000 {
            let id = store.next_message_id().await.expect("an id");
            assert!(id.len() == 8 && id.bytes().all(|b| b.is_ascii_hexdigit()), "{id} is 8 hex digits");
            assert!(seen.insert(id.clone()), "{id} handed out twice");
        }
    }
}

#[tokio::test]
async fn the_bound_counts_deliveries_kept_from_before_a_restart() {
    let dir = TempDir::new("bound");
    let mut bounded = limits();
    bounded.max_waiting_per_account = 3;
    let store = SqliteStore::open(dir.file(), bounded).expect("the store opens");
    for k in 0..3 {
        accept_one(&store, k).await.expect("under the bound");
    }
    drop(store);
    let store = SqliteStore::open(dir.file(), bounded).expect("the store reopens");
    let over = accept_one(&store, 3).await;
    assert!(matches!(over, Err(StoreError::Full { max: 3, .. })), "a fourth after the restart: {over:?}");
    let entries = store.claim(ACCOUNT, u64::MAX, 10).await.expect("claimed");
    for e in &entries {
        store.ack(&e.id).await.expect("acked");
    }
    assert_eq!(store.waiting(ACCOUNT).await, Ok(0), "acks free the bound");
    accept_one(&store, 4).await.expect("room again");
}

#[tokio::test]
async fn a_store_in_use_cannot_be_opened_twice() {
    let dir = TempDir::new("twice");
    let store = SqliteStore::open(dir.file(), limits()).expect("the store opens");
    accept_one(&store, 0).await.expect("accepted");
    let second = SqliteStore::open(dir.file(), limits());
    assert!(
        matches!(&second, Err(StoreError::Unavailable(why)) if why.contains("in use")),
        "a second open: {second:?}"
    );
    drop(store);
    SqliteStore::open(dir.file(), limits()).expect("free again once the first is closed");
}

#[tokio::test]
async fn the_store_is_its_file_and_a_log_while_open() {
    let dir = TempDir::new("files");
    let store = SqliteStore::open(dir.file(), limits()).expect("the store opens");
    accept_one(&store, 0).await.expect("accepted");
    assert_eq!(dir.listing(), ["store.db", "store.db-wal"], "while open: the file and its log, no -shm");
    drop(store);
    assert_eq!(dir.listing(), ["store.db"], "closed: the file alone");
}

#[tokio::test]
async fn messages_past_keep_messages_are_forgotten_and_other_ids_are_kept_too() {
    let dir = TempDir::new("keep");
    let mut options = SqliteOptions::default();
    options.keep_messages = 10;
    let store = SqliteStore::open_with(dir.file(), limits(), options).expect("the store opens");
    let mut ids = Vec::new();
    for _ in 0..25 {
        let id = store.next_message_id().await.expect("an id");
        store.accept(Message::new(&id, ACCOUNT, 0, 1, MessageState::DELIVERED), None).await.expect("accepted");
        ids.push(id);
    }
    for (k, id) in ids.iter().enumerate() {
        let kept = store.message(id).await.expect("a lookup").is_some();
        assert_eq!(kept, k >= 15, "message {k} of 25 ({id}) with 10 kept");
    }
    let foreign = Message::new("smsc-ref-42", ACCOUNT, 0, 1, MessageState::EXPIRED);
    store.accept(foreign.clone(), None).await.expect("accepted");
    assert_eq!(store.message("smsc-ref-42").await, Ok(Some(foreign)), "an id the store did not make");
    assert_eq!(store.message("SMSC-REF-42").await, Ok(None), "ids are compared exactly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_accepts_are_all_kept() {
    let dir = TempDir::new("concurrent");
    let mut wide = limits();
    wide.max_waiting_per_account = 1_000;
    let store = Arc::new(SqliteStore::open(dir.file(), wide).expect("the store opens"));
    let tasks: Vec<_> = (0..1_000)
        .map(|k| {
            let store = Arc::clone(&store);
            tokio::spawn(async move { accept_one(&store, k).await })
        })
        .collect();
    let mut ids = HashSet::new();
    for task in tasks {
        ids.insert(task.await.expect("a task").expect("accepted"));
    }
    assert_eq!(ids.len(), 1_000, "1000 distinct ids");
    assert_eq!(store.waiting(ACCOUNT).await, Ok(1_000));
    let over = accept_one(&store, 1_000).await;
    assert!(matches!(over, Err(StoreError::Full { .. })), "the 1001st receipt: {over:?}");
    for id in &ids {
        assert!(store.message(id).await.expect("a lookup").is_some(), "{id} kept");
    }
}
