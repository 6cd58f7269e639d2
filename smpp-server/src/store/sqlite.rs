//! [`SqliteStore`]: the embedded durable store, one SQLite database file.
//!
//! One writer thread owns the connection. Every call becomes a job on its queue; the
//! thread runs whatever has queued up (up to [`SqliteOptions::max_batch`] jobs) as
//! one transaction, and answers each caller once that transaction has committed:
//! group commit. Reads go through the same thread (see ADR 0009 for why).
//!
//! The file holds the data (messages; deliveries with their PDU, due time and
//! attempts); the writer holds the order in memory: each account's deliveries sorted
//! by when they can next be claimed, and which are claimed until when. Claims are
//! never written (a restart releases them all anyway), so a claim costs a read and
//! an `attempts` update, and the deliveries table needs no index.
//!
//! Id links ([`Store::link_ids`]) are rows of their own table, one per key, written
//! in the batch's transaction like everything else; expired ones are deleted now and
//! then (at most once a second of the callers' time) as links are written.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use rusqlite::{Connection, OptionalExtension, params};
use smpp_wire::MessageState;
use tokio::sync::oneshot;

use super::{
    Delivery, Entry, EntryId, IdLink, Message, Store, StoreError, StoreFuture, StoreLimits, decode_deliver,
    encode_deliver,
};
use crate::MessageIds;

/// Message ids reserved in the file at a time. The next block is reserved when half
/// of this one is handed out, so callers do not wait for it.
const ID_BLOCK: u64 = 1 << 16;

/// The schema this code writes (`PRAGMA user_version`). A file of version 1 is
/// brought to 2 when opened ([`SCHEMA_2`]).
const SCHEMA_VERSION: i64 = 2;

/// Expired id links are deleted at most once per this much of the callers' time
/// (ms), when links are written.
const LINK_PURGE_MS: u64 = 1_000;

const SCHEMA: &str = "
CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE messages (
    num INTEGER PRIMARY KEY,
    account INTEGER NOT NULL,
    submitted_ms INTEGER NOT NULL,
    done_ms INTEGER NOT NULL,
    final_state INTEGER NOT NULL
);
CREATE TABLE named_messages (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    account INTEGER NOT NULL,
    submitted_ms INTEGER NOT NULL,
    done_ms INTEGER NOT NULL,
    final_state INTEGER NOT NULL
);
CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY,
    account INTEGER NOT NULL,
    due_ms INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    pdu BLOB NOT NULL
);
";

/// What version 2 adds to version 1: id links, by key, with their end (indexed, so
/// that expired ones are deleted without a scan).
const SCHEMA_2: &str = "
CREATE TABLE id_links (
    key TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    id TEXT NOT NULL,
    until_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX id_links_until ON id_links (until_ms);
";

/// When a transaction counts as committed: SQLite's `PRAGMA synchronous` in WAL mode.
///
/// Both survive a crash of the process (`kill -9`, a panic, the OOM killer): a
/// committed transaction is in the `-wal` file, in the operating system's hands,
/// before the caller hears `Ok`. They differ on a crash of the machine.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SqliteSync {
    /// `NORMAL`: the WAL is synced to disk at checkpoints, not at each commit. A
    /// power loss can lose the last transactions (never corrupt the file).
    #[default]
    Normal,
    /// `FULL`: the WAL is synced at every commit (group commit shares the sync among
    /// a batch). A power loss loses nothing that was answered `Ok`.
    Full,
}

/// How a [`SqliteStore`] runs, beyond the [`StoreLimits`] every store has.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SqliteOptions {
    /// When a commit counts as done (default [`SqliteSync::Normal`]).
    pub synchronous: SqliteSync,
    /// The most calls committed in one transaction (default 1024). The writer takes
    /// whatever has queued up, up to this, so under light load a batch is one call.
    pub max_batch: usize,
    /// Accepted messages kept for `message` (query_sm), the most recent by id
    /// (default 1 000 000); older ones are deleted as new ones arrive.
    pub keep_messages: u32,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self { synchronous: SqliteSync::Normal, max_batch: 1024, keep_messages: 1_000_000 }
    }
}

/// A durable store in one SQLite database file, compiled in (feature `sqlite`).
///
/// While it is open the file `PATH` has a companion `PATH-wal` (the write-ahead log;
/// no `-shm` file, as the store holds the file exclusively). A clean close folds
/// the log into `PATH` and removes it; after a crash, the next open replays it.
/// Nothing else is written. One process at a time: a second [`open`](Self::open) of
/// the same file fails while the first holds it.
///
/// Everything [`accept`](Store::accept) or [`enqueue`](Store::enqueue) answered `Ok`
/// survives a crash of the process; whether it survives a power loss depends on
/// [`SqliteOptions::synchronous`]. Claims left by a previous process are released
/// when the file is opened (that process is gone), so its deliveries are due again
/// at once (claims are kept in memory only; the attempt a claim counts is written).
/// Message ids are 8 hex digits, from a counter kept in the file, unique across
/// restarts until the 2^32 ids wrap around.
///
/// Memory: about 120 bytes per waiting delivery (each account's order and the
/// claims; PDUs stay in the file), read from the file at open.
///
/// ```no_run
/// use smpp_server::store::{SqliteStore, StoreLimits};
/// let store = SqliteStore::open("/var/lib/smsc/store.db", StoreLimits::default())?;
/// # Ok::<(), smpp_server::store::StoreError>(())
/// ```
pub struct SqliteStore {
    path: PathBuf,
    jobs: Option<mpsc::Sender<Box<dyn Job>>>,
    ids: Arc<Mutex<IdBlock>>,
    writer: Option<JoinHandle<()>>,
    /// Binds and rates: one node owns the file, so they live in its memory.
    counters: super::Counters,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore").field("path", &self.path).finish_non_exhaustive()
    }
}

/// The message ids this process may hand out: `next..limit`, reserved in the file.
#[derive(Debug)]
struct IdBlock {
    next: u64,
    limit: u64,
    /// A reservation of the next block is queued.
    reserving: bool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn unavailable(e: impl fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn gone() -> StoreError {
    StoreError::Unavailable("the store's writer thread has stopped".to_owned())
}

/// SQLite integers are signed: times past `i64::MAX` ms are kept as `i64::MAX`.
fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn uint(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn message_id(n: u64) -> String {
    format!("{:08x}", n as u32)
}

/// Where a message is kept: ids this store made (8 lowercase hex digits) by their
/// number, any other id by its text.
#[derive(Debug, Clone)]
enum Key {
    Num(u32),
    Named(String),
}

impl Key {
    fn of(id: &str) -> Self {
        match MessageIds::number_of(id) {
            Some(n) if message_id(n.into()) == id => Self::Num(n),
            _ => Self::Named(id.to_owned()),
        }
    }
}

impl SqliteStore {
    /// Opens (or creates) the store in the file at `path`, with default
    /// [`SqliteOptions`]. This blocks while the file is opened and a crashed
    /// process's log is replayed: call it before serving, or from `spawn_blocking`.
    pub fn open(path: impl AsRef<Path>, limits: StoreLimits) -> Result<Self, StoreError> {
        Self::open_with(path, limits, SqliteOptions::default())
    }

    /// [`open`](Self::open) with these options.
    pub fn open_with(path: impl AsRef<Path>, limits: StoreLimits, options: SqliteOptions) -> Result<Self, StoreError> {
        let path = path.as_ref().to_owned();
        let in_file = |e: OpenError| StoreError::Unavailable(format!("{}: {e}", path.display()));
        let conn = Connection::open(&path).map_err(|e| in_file(e.into()))?;
        let (writer, first) = Writer::start(conn, limits, options).map_err(in_file)?;
        let ids = Arc::new(Mutex::new(IdBlock { next: first, limit: writer.reserved_until, reserving: false }));
        let (jobs, queue) = mpsc::channel();
        let max_batch = options.max_batch.max(1);
        let thread_ids = Arc::clone(&ids);
        let handle = std::thread::Builder::new()
            .name("smpp-sqlite-store".to_owned())
            .spawn(move || writer.run(&queue, max_batch, &thread_ids))
            .map_err(unavailable)?;
        Ok(Self { path, jobs: Some(jobs), ids, writer: Some(handle), counters: super::Counters::default() })
    }

    /// The file the store lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn send(&self, job: Box<dyn Job>) -> Result<(), StoreError> {
        self.jobs.as_ref().ok_or_else(gone)?.send(job).map_err(|_| gone())
    }

    /// Queues `request` now and resolves once its batch has committed.
    fn call<R: Request>(&self, request: R) -> impl Future<Output = Result<R::Out, StoreError>> + Send + 'static {
        let (reply, answer) = oneshot::channel();
        let sent = self.send(Box::new(Pending { request, reply: Some(Answer::Channel(reply)), out: None }));
        async move {
            sent?;
            answer.await.unwrap_or_else(|_| Err(gone()))
        }
    }

    /// Takes an id from the reserved block; queues the next block's reservation when
    /// half of this one is gone.
    fn take_id(&self) -> Option<u64> {
        let mut ids = lock(&self.ids);
        if ids.next >= ids.limit {
            return None;
        }
        let n = ids.next;
        ids.next += 1;
        if ids.limit - ids.next < ID_BLOCK / 2 && !ids.reserving {
            ids.reserving = true;
            drop(ids);
            let reserve = Pending { request: Reserve, reply: None, out: None };
            if self.send(Box::new(reserve)).is_err() {
                lock(&self.ids).reserving = false;
            }
        }
        Some(n)
    }
}

impl Drop for SqliteStore {
    /// Lets the writer finish what is queued, close the file (folding the log into
    /// it) and stop; this waits for it.
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

impl Store for SqliteStore {
    fn next_message_id(&self) -> StoreFuture<'_, String> {
        Box::pin(async move {
            loop {
                if let Some(n) = self.take_id() {
                    return Ok(message_id(n));
                }
                // The block ran out before the next was reserved: wait for it.
                self.call(Reserve).await?;
            }
        })
    }

    fn accept_then(
        &self,
        account: &str,
        submitted_ms: u64,
        done_ms: u64,
        final_state: MessageState,
        done: super::Done,
    ) -> Result<(), super::Done> {
        let Some(n) = self.take_id() else { return Err(done) };
        let id = message_id(n);
        let row = MessageRow::from(Message::new(&id, account, submitted_ms, done_ms, final_state));
        let answer = Answer::Call(Box::new(move |out: Result<(), StoreError>| done(out.map(|()| id))));
        // A job that cannot be queued is dropped, which answers `done` with an error.
        let _ = self.send(Box::new(Pending { request: Accept { row, receipt: None }, reply: Some(answer), out: None }));
        Ok(())
    }

    fn accept(&self, message: Message, receipt: Option<Delivery>) -> StoreFuture<'_, ()> {
        let row = MessageRow::from(message);
        let receipt = receipt.map(NewDelivery::from);
        Box::pin(self.call(Accept { row, receipt }))
    }

    fn message(&self, id: &str) -> StoreFuture<'_, Option<Message>> {
        Box::pin(self.call(Lookup { id: id.to_owned() }))
    }

    fn enqueue(&self, delivery: Delivery) -> StoreFuture<'_, EntryId> {
        Box::pin(self.call(Enqueue(NewDelivery::from(delivery))))
    }

    fn claim(&self, account: &str, now_ms: u64, max: usize) -> StoreFuture<'_, Vec<Entry>> {
        let claimed = self.call(Claim { account: account.to_owned(), now_ms, max });
        let account = account.to_owned();
        Box::pin(async move {
            let mut out = Vec::new();
            for raw in claimed.await? {
                let deliver = decode_deliver(&raw.pdu)?;
                out.push(Entry {
                    id: EntryId(raw.id.to_string()),
                    delivery: Delivery::new(&account, raw.due_ms, deliver),
                    attempts: raw.attempts,
                });
            }
            Ok(out)
        })
    }

    fn ack(&self, id: &EntryId) -> StoreFuture<'_, ()> {
        match id.0.parse::<i64>() {
            Ok(id) => Box::pin(self.call(Ack(id))),
            Err(_) => Box::pin(std::future::ready(Ok(()))),
        }
    }

    fn release(&self, id: &EntryId, retry_ms: u64) -> StoreFuture<'_, ()> {
        match id.0.parse::<i64>() {
            Ok(id) => Box::pin(self.call(Release { id, retry_ms })),
            Err(_) => Box::pin(std::future::ready(Ok(()))),
        }
    }

    fn waiting(&self, account: &str) -> StoreFuture<'_, usize> {
        Box::pin(self.call(Waiting(account.to_owned())))
    }

    fn due(&self) -> StoreFuture<'_, Vec<(String, u64)>> {
        Box::pin(self.call(Due))
    }

    fn acquire_bind(
        &self,
        account: &str,
        holder: &str,
        max: usize,
        now_ms: u64,
        until_ms: u64,
    ) -> StoreFuture<'_, bool> {
        let taken = self.counters.acquire_bind(account, holder, max, now_ms, until_ms);
        Box::pin(std::future::ready(Ok(taken)))
    }

    fn renew_binds(&self, binds: Vec<(String, String)>, until_ms: u64) -> StoreFuture<'_, ()> {
        self.counters.renew_binds(&binds, until_ms);
        Box::pin(std::future::ready(Ok(())))
    }

    fn release_bind(&self, account: &str, holder: &str) -> StoreFuture<'_, ()> {
        self.counters.release_bind(account, holder);
        Box::pin(std::future::ready(Ok(())))
    }

    fn binds(&self, account: &str, now_ms: u64) -> StoreFuture<'_, usize> {
        Box::pin(std::future::ready(Ok(self.counters.binds(account, now_ms))))
    }

    fn take_rate(&self, account: &str, per_second: u32, now_ms: u64) -> StoreFuture<'_, bool> {
        Box::pin(std::future::ready(Ok(self.counters.take_rate(account, per_second, now_ms))))
    }

    fn link_ids(&self, keys: Vec<String>, link: IdLink, now_ms: u64, until_ms: u64) -> StoreFuture<'_, ()> {
        if keys.is_empty() {
            return Box::pin(std::future::ready(Ok(())));
        }
        Box::pin(self.call(LinkIds { keys, link, now_ms, until_ms }))
    }

    fn find_link(&self, keys: Vec<String>, now_ms: u64) -> StoreFuture<'_, Option<IdLink>> {
        if keys.is_empty() {
            return Box::pin(std::future::ready(Ok(None)));
        }
        Box::pin(self.call(FindLink { keys, now_ms }))
    }
}

// ---------------------------------------------------------------------------
// The writer thread.

/// Why a file could not be opened as a store.
enum OpenError {
    Sql(rusqlite::Error),
    Refused(String),
}

impl From<rusqlite::Error> for OpenError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Sql(e)
    }
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sql(rusqlite::Error::SqliteFailure(e, _)) if e.code == rusqlite::ErrorCode::DatabaseBusy => {
                f.write_str("in use by another process")
            }
            Self::Sql(e) => e.fmt(f),
            Self::Refused(why) => f.write_str(why),
        }
    }
}

/// The connection and what the writer knows without asking it: account numbers,
/// each account's deliveries in claim order, the claims, the next entry id and the
/// end of the reserved ids. Rebuilt from the file after a failed transaction.
struct Writer {
    conn: Connection,
    limits: StoreLimits,
    keep_messages: u32,
    accounts: HashMap<String, i64>,
    names: HashMap<i64, String>,
    /// Each account's deliveries by (when they can next be claimed, id); an account
    /// with none has no set. Its size is the account's count for the bound.
    queues: HashMap<i64, BTreeSet<(u64, i64)>>,
    /// Every delivery, by id.
    slots: HashMap<i64, Slot>,
    next_entry: i64,
    reserved_until: u64,
    /// What the current transaction wrote, for the pruning after it.
    wrote_numbered: bool,
    wrote_named: bool,
    /// The callers' time of the last deletion of expired id links.
    links_purged_ms: u64,
}

impl Writer {
    /// Sets the connection up, creates or checks the schema, releases the claims of a
    /// previous process, and reserves the first block of ids (returned).
    fn start(conn: Connection, limits: StoreLimits, options: SqliteOptions) -> Result<(Self, u64), OpenError> {
        // No waiting on a lock: the only other holder is another process using the file.
        conn.busy_timeout(std::time::Duration::ZERO)?;
        // Before the first access, so no shared-memory index (`-shm`) is made.
        conn.pragma_update(None, "locking_mode", "EXCLUSIVE")?;
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(OpenError::Refused(format!("cannot use WAL mode (journal_mode is {mode})")));
        }
        let sync = match options.synchronous {
            SqliteSync::Normal => "NORMAL",
            SqliteSync::Full => "FULL",
        };
        conn.pragma_update(None, "synchronous", sync)?;
        // 64 MiB of page cache; the log is checkpointed every 4 MiB (SQLite's
        // default) and cut back to 64 MiB after a larger burst.
        conn.pragma_update(None, "cache_size", -65_536)?;
        conn.pragma_update(None, "journal_size_limit", 64 << 20)?;
        conn.set_prepared_statement_cache_capacity(64);

        conn.execute_batch("BEGIN IMMEDIATE")?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        match version {
            0 => {
                conn.execute_batch(SCHEMA)?;
                conn.execute_batch(SCHEMA_2)?;
                conn.pragma_update(None, "user_version", SCHEMA_VERSION)?;
                let (first, _) = MessageIds::new().next_numbered();
                conn.execute("INSERT INTO meta (key, value) VALUES ('next_message', ?1)", [i64::from(first)])?;
            }
            // A file from before id links: add their table.
            1 => {
                conn.execute_batch(SCHEMA_2)?;
                conn.pragma_update(None, "user_version", SCHEMA_VERSION)?;
            }
            SCHEMA_VERSION => {}
            other => {
                conn.execute_batch("ROLLBACK")?;
                return Err(OpenError::Refused(format!(
                    "the file has schema version {other}; this build knows {SCHEMA_VERSION}"
                )));
            }
        }
        let first: i64 = conn.query_row("SELECT value FROM meta WHERE key = 'next_message'", [], |r| r.get(0))?;
        let first = uint(first);
        let mut writer = Self {
            conn,
            limits,
            keep_messages: options.keep_messages.max(1),
            accounts: HashMap::new(),
            names: HashMap::new(),
            queues: HashMap::new(),
            slots: HashMap::new(),
            next_entry: 1,
            reserved_until: first,
            wrote_numbered: true,
            wrote_named: true,
            links_purged_ms: 0,
        };
        writer.reserve()?;
        writer.prune(first)?;
        writer.conn.execute_batch("COMMIT")?;
        writer.load()?;
        Ok((writer, first))
    }

    /// Reads the in-memory state back from the file. Claims are not in the file: at
    /// open there are none (whoever claimed is gone, so everything is due at its
    /// time); after a failed transaction, those of deliveries still there are kept.
    fn load(&mut self) -> rusqlite::Result<()> {
        self.accounts.clear();
        self.names.clear();
        self.queues.clear();
        let old = std::mem::take(&mut self.slots);
        let mut accounts = self.conn.prepare("SELECT id, name FROM accounts")?;
        for row in accounts.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))? {
            let (id, name) = row?;
            self.accounts.insert(name.clone(), id);
            self.names.insert(id, name);
        }
        drop(accounts);
        let mut deliveries = self.conn.prepare("SELECT id, account, due_ms FROM deliveries")?;
        let mut last = 0;
        for row in deliveries.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?)))? {
            let (id, account, due) = row?;
            let claimed_until = old.get(&id).and_then(|s| s.claimed_until);
            let slot = Slot { account, due_ms: uint(due), claimed_until };
            self.queues.entry(account).or_default().insert((slot.avail_ms(), id));
            self.slots.insert(id, slot);
            last = last.max(id);
        }
        drop(deliveries);
        self.next_entry = self.next_entry.max(last + 1);
        let reserved: i64 =
            self.conn.query_row("SELECT value FROM meta WHERE key = 'next_message'", [], |r| r.get(0))?;
        self.reserved_until = uint(reserved);
        Ok(())
    }

    /// Runs batches until every sender is gone.
    fn run(mut self, queue: &mpsc::Receiver<Box<dyn Job>>, max_batch: usize, ids: &Mutex<IdBlock>) {
        let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(max_batch);
        while let Ok(job) = queue.recv() {
            batch.push(job);
            while batch.len() < max_batch {
                match queue.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            match self.commit(&mut batch, ids) {
                Ok(()) => {
                    for job in batch.drain(..) {
                        job.finish(None, ids);
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, jobs = batch.len(), "store transaction failed");
                    let _ = self.conn.execute_batch("ROLLBACK");
                    let failure = unavailable(e);
                    for job in batch.drain(..) {
                        job.finish(Some(&failure), ids);
                    }
                    if let Err(e) = self.load() {
                        tracing::warn!(error = %e, "store state could not be read back");
                    }
                }
            }
        }
    }

    /// Applies a batch in one transaction.
    fn commit(&mut self, batch: &mut [Box<dyn Job>], ids: &Mutex<IdBlock>) -> rusqlite::Result<()> {
        // Cached, not parsed again for every batch.
        self.conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
        self.wrote_numbered = false;
        self.wrote_named = false;
        for job in batch.iter_mut() {
            job.apply(self, ids)?;
        }
        let top = lock(ids).next;
        self.prune(top)?;
        self.conn.prepare_cached("COMMIT")?.execute([]).map(drop)
    }

    /// Forgets messages outside the most recent `keep_messages` ids below `top`.
    fn prune(&mut self, top: u64) -> rusqlite::Result<()> {
        if self.wrote_numbered {
            let top = top as u32;
            let low = top.wrapping_sub(self.keep_messages);
            // Kept: `low..top`, around the ring of 2^32 ids; deleted: `top..low`.
            let mut range = self.conn.prepare_cached("DELETE FROM messages WHERE num >= ?1 AND num < ?2")?;
            if top <= low {
                range.execute([i64::from(top), i64::from(low)])?;
            } else {
                range.execute([i64::from(top), 1 << 32])?;
                range.execute([0, i64::from(low)])?;
            }
        }
        if self.wrote_named {
            self.conn
                .prepare_cached("DELETE FROM named_messages WHERE seq <= (SELECT MAX(seq) FROM named_messages) - ?1")?
                .execute([i64::from(self.keep_messages)])?;
        }
        Ok(())
    }

    /// Moves the end of the reserved ids one block on, in the file.
    fn reserve(&mut self) -> rusqlite::Result<u64> {
        let until = self.reserved_until + ID_BLOCK;
        self.conn.prepare_cached("UPDATE meta SET value = ?1 WHERE key = 'next_message'")?.execute([int(until)])?;
        self.reserved_until = until;
        Ok(until)
    }

    fn account(&mut self, name: &str) -> rusqlite::Result<i64> {
        if let Some(&id) = self.accounts.get(name) {
            return Ok(id);
        }
        self.conn.prepare_cached("INSERT INTO accounts (name) VALUES (?1)")?.execute([name])?;
        let id = self.conn.last_insert_rowid();
        self.accounts.insert(name.to_owned(), id);
        self.names.insert(id, name.to_owned());
        Ok(id)
    }

    /// Room for one more delivery of `account`?
    fn check_room(&mut self, name: &str) -> rusqlite::Result<Result<i64, StoreError>> {
        let account = self.account(name)?;
        let max = self.limits.max_waiting_per_account;
        if self.queues.get(&account).map_or(0, BTreeSet::len) >= max {
            return Ok(Err(StoreError::Full { account: name.to_owned(), max }));
        }
        Ok(Ok(account))
    }

    fn insert_delivery(&mut self, account: i64, d: &NewDelivery) -> rusqlite::Result<i64> {
        let id = self.next_entry;
        let due = int(d.due_ms);
        self.conn
            .prepare_cached("INSERT INTO deliveries (id, account, due_ms, attempts, pdu) VALUES (?1, ?2, ?3, 0, ?4)")?
            .execute(params![id, account, due, d.pdu])?;
        self.next_entry += 1;
        self.queues.entry(account).or_default().insert((d.due_ms, id));
        self.slots.insert(id, Slot { account, due_ms: d.due_ms, claimed_until: None });
        Ok(id)
    }

    /// Moves a delivery in its account's order: claimed until `claimed_until`, or
    /// (with `None`) released, due at `due_ms`.
    fn reslot(&mut self, id: i64, due_ms: u64, claimed_until: Option<u64>) {
        let Some(slot) = self.slots.get_mut(&id) else { return };
        let queue = self.queues.entry(slot.account).or_default();
        queue.remove(&(slot.avail_ms(), id));
        slot.due_ms = due_ms;
        slot.claimed_until = claimed_until;
        queue.insert((slot.avail_ms(), id));
    }

    fn insert_message(&mut self, m: &MessageRow) -> rusqlite::Result<()> {
        let account = self.account(&m.account)?;
        let (submitted, done, state) = (int(m.submitted_ms), int(m.done_ms), m.final_state);
        match &m.key {
            Key::Num(n) => {
                self.conn
                    .prepare_cached(
                        "INSERT OR REPLACE INTO messages (num, account, submitted_ms, done_ms, final_state)
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                    )?
                    .execute(params![n, account, submitted, done, state])?;
                self.wrote_numbered = true;
            }
            Key::Named(id) => {
                self.conn
                    .prepare_cached(
                        "INSERT OR REPLACE INTO named_messages (id, account, submitted_ms, done_ms, final_state)
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                    )?
                    .execute(params![id, account, submitted, done, state])?;
                self.wrote_named = true;
            }
        }
        Ok(())
    }
}

/// Where a delivery stands, in the writer's memory.
#[derive(Clone, Copy)]
struct Slot {
    account: i64,
    due_ms: u64,
    /// Claimed, until then (the claim timeout): not handed out again before.
    claimed_until: Option<u64>,
}

impl Slot {
    /// When it can next be claimed: the key of its account's order.
    fn avail_ms(&self) -> u64 {
        self.claimed_until.unwrap_or(self.due_ms)
    }
}

// ---------------------------------------------------------------------------
// Jobs: a request, its reply, and its outcome until the transaction commits.

/// One call's work in a batch, type-erased so one queue carries every kind.
trait Job: Send {
    /// Does the work inside the batch's transaction; `Err` aborts the batch.
    fn apply(&mut self, writer: &mut Writer, ids: &Mutex<IdBlock>) -> rusqlite::Result<()>;
    /// Answers the caller: the outcome if the batch committed, else `failure`.
    fn finish(self: Box<Self>, failure: Option<&StoreError>, ids: &Mutex<IdBlock>);
}

trait Request: Send + 'static {
    type Out: Send + 'static;
    /// The outcome; an `Err` inside (say [`StoreError::Full`]) is this call's own
    /// refusal, which writes nothing and leaves the batch going.
    fn apply(&mut self, writer: &mut Writer, ids: &Mutex<IdBlock>) -> rusqlite::Result<Result<Self::Out, StoreError>>;
    /// After the batch: `committed` is its outcome if the batch committed.
    fn after(&mut self, _committed: Option<&Result<Self::Out, StoreError>>, _ids: &Mutex<IdBlock>) {}
}

struct Pending<R: Request> {
    request: R,
    reply: Option<Answer<R::Out>>,
    out: Option<Result<R::Out, StoreError>>,
}

/// Where a job's outcome goes.
enum Answer<T> {
    /// To a caller awaiting it.
    Channel(oneshot::Sender<Result<T, StoreError>>),
    /// To a callback, called on the writer thread (or wherever the job is dropped
    /// unfinished, with an error).
    Call(Box<dyn FnOnce(Result<T, StoreError>) + Send>),
}

impl<T> Answer<T> {
    fn send(self, out: Result<T, StoreError>) {
        match self {
            // The caller may have stopped waiting; the work is done either way.
            Self::Channel(reply) => {
                let _ = reply.send(out);
            }
            Self::Call(call) => call(out),
        }
    }
}

impl<R: Request> Drop for Pending<R> {
    fn drop(&mut self) {
        // Never finished (the writer is gone): a callback still hears of it.
        if let Some(reply) = self.reply.take() {
            reply.send(Err(gone()));
        }
    }
}

impl<R: Request> Job for Pending<R> {
    fn apply(&mut self, writer: &mut Writer, ids: &Mutex<IdBlock>) -> rusqlite::Result<()> {
        let out = self.request.apply(writer, ids)?;
        self.out = Some(out);
        Ok(())
    }

    fn finish(mut self: Box<Self>, failure: Option<&StoreError>, ids: &Mutex<IdBlock>) {
        let out = match failure {
            Some(e) => Err(e.clone()),
            None => self.out.take().unwrap_or_else(|| Err(unavailable("the job was not run"))),
        };
        self.request.after(failure.is_none().then_some(&out), ids);
        if let Some(reply) = self.reply.take() {
            reply.send(out);
        }
    }
}

/// A message as stored.
struct MessageRow {
    key: Key,
    account: String,
    submitted_ms: u64,
    done_ms: u64,
    final_state: u8,
}

impl From<Message> for MessageRow {
    fn from(m: Message) -> Self {
        Self {
            key: Key::of(&m.id),
            account: m.account,
            submitted_ms: m.submitted_ms,
            done_ms: m.done_ms,
            final_state: m.final_state.0,
        }
    }
}

/// A delivery as stored, its PDU encoded by the caller (off the writer thread).
struct NewDelivery {
    account: String,
    due_ms: u64,
    pdu: Vec<u8>,
}

impl From<Delivery> for NewDelivery {
    fn from(d: Delivery) -> Self {
        let pdu = encode_deliver(&d.deliver);
        Self { account: d.account, due_ms: d.due_ms, pdu }
    }
}

struct Accept {
    row: MessageRow,
    receipt: Option<NewDelivery>,
}

impl Request for Accept {
    type Out = ();
    fn apply(&mut self, w: &mut Writer, _: &Mutex<IdBlock>) -> rusqlite::Result<Result<(), StoreError>> {
        let account = match &self.receipt {
            Some(r) => match w.check_room(&r.account)? {
                Ok(account) => Some(account),
                Err(full) => return Ok(Err(full)),
            },
            None => None,
        };
        w.insert_message(&self.row)?;
        if let (Some(account), Some(r)) = (account, &self.receipt) {
            w.insert_delivery(account, r)?;
        }
        Ok(Ok(()))
    }
}

struct Enqueue(NewDelivery);

impl Request for Enqueue {
    type Out = EntryId;
    fn apply(&mut self, w: &mut Writer, _: &Mutex<IdBlock>) -> rusqlite::Result<Result<EntryId, StoreError>> {
        let account = match w.check_room(&self.0.account)? {
            Ok(account) => account,
            Err(full) => return Ok(Err(full)),
        };
        let id = w.insert_delivery(account, &self.0)?;
        Ok(Ok(EntryId(id.to_string())))
    }
}

struct Lookup {
    id: String,
}

impl Request for Lookup {
    type Out = Option<Message>;
    fn apply(&mut self, w: &mut Writer, _: &Mutex<IdBlock>) -> rusqlite::Result<Result<Option<Message>, StoreError>> {
        let read = |r: &rusqlite::Row<'_>| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?, r.get::<_, u8>(3)?))
        };
        let found = match Key::of(&self.id) {
            Key::Num(n) => w
                .conn
                .prepare_cached("SELECT account, submitted_ms, done_ms, final_state FROM messages WHERE num = ?1")?
                .query_row([n], read)
                .optional()?,
            Key::Named(id) => w
                .conn
                .prepare_cached("SELECT account, submitted_ms, done_ms, final_state FROM named_messages WHERE id = ?1")?
                .query_row([id], read)
                .optional()?,
        };
        Ok(Ok(found.map(|(account, submitted, done, state)| {
            let account = w.names.get(&account).map_or("", String::as_str);
            Message::new(&self.id, account, uint(submitted), uint(done), MessageState(state))
        })))
    }
}

/// A claimed row, decoded by the caller.
struct RawEntry {
    id: i64,
    due_ms: u64,
    attempts: u32,
    pdu: Vec<u8>,
}

struct Claim {
    account: String,
    now_ms: u64,
    max: usize,
}

impl Request for Claim {
    type Out = Vec<RawEntry>;
    fn apply(&mut self, w: &mut Writer, _: &Mutex<IdBlock>) -> rusqlite::Result<Result<Vec<RawEntry>, StoreError>> {
        let Some(&account) = w.accounts.get(&self.account) else { return Ok(Ok(Vec::new())) };
        let Some(queue) = w.queues.get(&account) else { return Ok(Ok(Vec::new())) };
        // Oldest first by when each can be claimed: its due time, or for one whose
        // claim timed out the end of that claim.
        let ready: Vec<i64> =
            queue.iter().take_while(|(avail, _)| *avail <= self.now_ms).take(self.max).map(|&(_, id)| id).collect();
        let until = self.now_ms.saturating_add(w.limits.claim_timeout_ms);
        let mut out = Vec::with_capacity(ready.len());
        for id in ready {
            let row = w
                .conn
                .prepare_cached(
                    "UPDATE deliveries SET attempts = attempts + 1 WHERE id = ?1 RETURNING due_ms, attempts - 1, pdu",
                )?
                .query_row([id], |r| {
                    Ok(RawEntry { id, due_ms: uint(r.get(0)?), attempts: r.get(1)?, pdu: r.get(2)? })
                })?;
            w.reslot(id, row.due_ms, Some(until));
            out.push(row);
        }
        Ok(Ok(out))
    }
}

struct Ack(i64);

impl Request for Ack {
    type Out = ();
    fn apply(&mut self, w: &mut Writer, _: &Mutex<IdBlock>) -> rusqlite::Result<Result<(), StoreError>> {
        let Some(slot) = w.slots.get(&self.0).copied() else { return Ok(Ok(())) };
        w.conn.prepare_cached("DELETE FROM deliveries WHERE id = ?1")?.execute([self.0])?;
        w.slots.remove(&self.0);
        if let Some(queue) = w.queues.get_mut(&slot.account) {
            queue.remove(&(slot.avail_ms(), self.0));
            if queue.is_empty() {
                w.queues.remove(&slot.account);
            }
        }
        Ok(Ok(()))
    }
}

struct Release {
    id: i64,
    retry_ms: u64,
}

impl Request for Release {
    type Out = ();
    fn apply(&mut self, w: &mut Writer, _: &Mutex<IdBlock>) -> rusqlite::Result<Result<(), StoreError>> {
        if !w.slots.contains_key(&self.id) {
            return Ok(Ok(()));
        }
        w.conn
            .prepare_cached("UPDATE deliveries SET due_ms = ?2 WHERE id = ?1")?
            .execute(params![self.id, int(self.retry_ms)])?;
        w.reslot(self.id, self.retry_ms, None);
        Ok(Ok(()))
    }
}

struct Waiting(String);

impl Request for Waiting {
    type Out = usize;
    fn apply(&mut self, w: &mut Writer, _: &Mutex<IdBlock>) -> rusqlite::Result<Result<usize, StoreError>> {
        let n = w.accounts.get(&self.0).and_then(|a| w.queues.get(a)).map_or(0, BTreeSet::len);
        Ok(Ok(n))
    }
}

struct Due;

impl Request for Due {
    type Out = Vec<(String, u64)>;
    fn apply(
        &mut self,
        w: &mut Writer,
        _: &Mutex<IdBlock>,
    ) -> rusqlite::Result<Result<Vec<(String, u64)>, StoreError>> {
        let mut out: Vec<(String, u64)> = w
            .queues
            .iter()
            .filter_map(|(account, queue)| Some((w.names.get(account)?.clone(), queue.first()?.0)))
            .collect();
        out.sort();
        Ok(Ok(out))
    }
}

/// Files a link under each key (a key filed again points to the newer link), and
/// deletes expired links if it is time to.
struct LinkIds {
    keys: Vec<String>,
    link: IdLink,
    now_ms: u64,
    until_ms: u64,
}

impl Request for LinkIds {
    type Out = ();
    fn apply(&mut self, w: &mut Writer, _: &Mutex<IdBlock>) -> rusqlite::Result<Result<(), StoreError>> {
        let until = int(self.until_ms);
        {
            let mut insert = w.conn.prepare_cached(
                "INSERT OR REPLACE INTO id_links (key, account, id, until_ms) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for key in &self.keys {
                insert.execute(params![key, self.link.account, self.link.id, until])?;
            }
        }
        if self.now_ms >= w.links_purged_ms.saturating_add(LINK_PURGE_MS) {
            w.conn.prepare_cached("DELETE FROM id_links WHERE until_ms <= ?1")?.execute([int(self.now_ms)])?;
            w.links_purged_ms = self.now_ms;
        }
        Ok(Ok(()))
    }
}

/// The link under the first key that has one unexpired.
struct FindLink {
    keys: Vec<String>,
    now_ms: u64,
}

impl Request for FindLink {
    type Out = Option<IdLink>;
    fn apply(&mut self, w: &mut Writer, _: &Mutex<IdBlock>) -> rusqlite::Result<Result<Option<IdLink>, StoreError>> {
        let mut select = w.conn.prepare_cached("SELECT account, id, until_ms FROM id_links WHERE key = ?1")?;
        for key in &self.keys {
            let row = select
                .query_row([key], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?)))
                .optional()?;
            if let Some((account, id, until)) = row
                && uint(until) > self.now_ms
            {
                return Ok(Ok(Some(IdLink { account, id })));
            }
        }
        Ok(Ok(None))
    }
}

/// Reserves the next block of message ids, unless half a block is still free.
struct Reserve;

impl Request for Reserve {
    type Out = u64;
    fn apply(&mut self, w: &mut Writer, ids: &Mutex<IdBlock>) -> rusqlite::Result<Result<u64, StoreError>> {
        let free = {
            let ids = lock(ids);
            ids.limit.saturating_sub(ids.next)
        };
        if free >= ID_BLOCK / 2 {
            return Ok(Ok(w.reserved_until));
        }
        Ok(Ok(w.reserve()?))
    }

    /// Once the block is in the file, its ids may be handed out.
    fn after(&mut self, committed: Option<&Result<u64, StoreError>>, ids: &Mutex<IdBlock>) {
        let mut ids = lock(ids);
        if let Some(Ok(until)) = committed {
            ids.limit = ids.limit.max(*until);
        }
        ids.reserving = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh database file in a folder removed when dropped.
    struct TempFile(PathBuf);

    impl TempFile {
        fn new(name: &str) -> Self {
            let dir = std::env::temp_dir().join(format!("smpp-sqlite-unit-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir(&dir).expect("a fresh temp folder");
            Self(dir)
        }

        fn path(&self) -> PathBuf {
            self.0.join("store.db")
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn links_in(path: &Path) -> Vec<String> {
        let conn = Connection::open(path).expect("the file opens");
        let mut select = conn.prepare("SELECT key FROM id_links ORDER BY key").expect("id_links");
        select.query_map([], |r| r.get(0)).expect("rows").collect::<Result<_, _>>().expect("keys")
    }

    #[tokio::test]
    async fn a_file_of_version_1_gets_id_links_and_keeps_its_messages() {
        let file = TempFile::new("v1");
        {
            let conn = Connection::open(file.path()).expect("a new file");
            conn.execute_batch(SCHEMA).expect("the version 1 schema");
            conn.pragma_update(None, "user_version", 1).expect("version 1");
            conn.execute("INSERT INTO meta (key, value) VALUES ('next_message', 4096)", []).expect("the counter");
            conn.execute("INSERT INTO accounts (id, name) VALUES (1, 'acc')", []).expect("an account");
            conn.execute(
                "INSERT INTO named_messages (id, account, submitted_ms, done_ms, final_state) VALUES ('old', 1, 1, 2, 2)",
                [],
            )
            .expect("a message");
        }
        let link = IdLink::new("acc", "00001000");
        {
            let store = SqliteStore::open(file.path(), StoreLimits::default()).expect("a version 1 file opens");
            let old = store.message("old").await.expect("a lookup");
            assert_eq!(old, Some(Message::new("old", "acc", 1, 2, MessageState::DELIVERED)));
            store.link_ids(vec!["k".to_owned()], link.clone(), 1_000, 9_000).await.expect("a link");
        }
        let store = SqliteStore::open(file.path(), StoreLimits::default()).expect("it opens again");
        assert_eq!(store.find_link(vec!["k".to_owned()], 2_000).await, Ok(Some(link)), "kept across a reopen");
        drop(store);
        let conn = Connection::open(file.path()).expect("the file");
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).expect("its version");
        assert_eq!(version, SCHEMA_VERSION);
    }

    #[tokio::test]
    async fn expired_links_are_deleted_as_links_are_written() {
        let file = TempFile::new("purge");
        let store = SqliteStore::open(file.path(), StoreLimits::default()).expect("a new file");
        let keys = |ks: &[&str]| ks.iter().map(|&k| k.to_owned()).collect::<Vec<_>>();
        store.link_ids(keys(&["a", "b"]), IdLink::new("x", "1"), 1_000, 2_000).await.expect("a link");
        store.link_ids(keys(&["c"]), IdLink::new("x", "2"), 1_500, 9_000).await.expect("a link");
        // Not a second since the last deletion: the expired links stay (unfound).
        store.link_ids(keys(&["d"]), IdLink::new("x", "3"), 1_900, 9_000).await.expect("a link");
        assert_eq!(store.find_link(keys(&["a", "c"]), 2_000).await, Ok(Some(IdLink::new("x", "2"))));
        store.link_ids(keys(&["e"]), IdLink::new("x", "4"), 2_000, 9_000).await.expect("a link");
        drop(store);
        assert_eq!(links_in(&file.path()), keys(&["c", "d", "e"]), "a and b expired at 2 000");
    }
}
