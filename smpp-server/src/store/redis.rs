//! [`RedisStore`]: the store a cluster of nodes shares, in one Redis (feature `redis`).
//!
//! Every node of a cluster connects to the same Redis with the same
//! [`prefix`](RedisOptions::prefix); together they see one store: messages accepted
//! on one node are found by query_sm on another, receipts accepted on one node are
//! delivered by whichever node holds a bind of the account, the deliveries a dead
//! node had claimed are taken over once their claim times out, and the bind limit
//! and per-second rates hold across the cluster.
//!
//! # Keys
//!
//! With `P` the prefix (default `smpp`):
//!
//! | key | type | what |
//! |-----|------|------|
//! | `P:ids` | string (counter) | the last message id reserved: each node reserves [`id_block`](RedisOptions::id_block) ids per `INCRBY` and hands them out itself |
//! | `P:msg:ID` | string, with a TTL | an accepted message, `submitted_ms:done_ms:final_state:account`, kept [`keep_messages_ms`](RedisOptions::keep_messages_ms) |
//! | `P:entries` | string (counter) | the last delivery (entry) number reserved, in blocks like the ids |
//! | `P:entry:N` | string | a waiting delivery: the claims so far (10 digits), `:`, its due time (20 digits), `:`, the deliver_sm's octets |
//! | `P:due:ACCOUNT` | sorted set | an account's deliveries (members `N`, 15 digits, so ties sort by number: oldest first among one node's), scored by when each can next be claimed: its due time, or for one claimed the end of its claim |
//! | `P:accounts` | set | the accounts that have deliveries (for [`due`](Store::due)) |
//! | `P:binds:ACCOUNT` | sorted set | the account's binds: members the holders, scored by the end of their lease |
//! | `P:rate:SECOND:ACCOUNT` | string (counter), with a TTL | the submits taken in that second (gone 2 s after its first) |
//! | `P:link:KEY` | string, with a TTL | an id link ([`Store::link_ids`]), `until_ms:N:ACCOUNTID` with `N` the length of the account in bytes, kept until `until_ms` |
//!
//! An [`EntryId`] is `N:ACCOUNT` (the entry number, 15 digits, and its account), so
//! that [`ack`](Store::ack) and [`release`](Store::release) go straight to the
//! account's sorted set; an id whose entry is not in that set is ignored.
//!
//! Each call that touches more than one key is one Lua script (loaded at connect,
//! run by `EVALSHA`), so it is atomic; each call is one round trip: an accept with
//! no receipt is one `SET`, one with a receipt one script (the bound checked, the
//! delivery, its place in the account's order and the message written, or
//! nothing); [`next_message_id`](Store::next_message_id) usually none;
//! [`link_ids`](Store::link_ids) one `MULTI` of a `SET` per key, and
//! [`find_link`](Store::find_link) one `MGET`. Calls from many tasks share one
//! connection and are pipelined on it.
//!
//! # What it promises
//!
//! In short (the details are on [`RedisStore`]): whatever a call answered `Ok` is
//! in Redis, so a `kill -9` of a node loses nothing it acknowledged, and its claims
//! are taken over by the other nodes after the claim timeout; whether it survives a
//! crash of Redis itself is Redis's durability (`appendonly`, `appendfsync`).

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client, RedisError, Script, Value};
use smpp_wire::MessageState;

use super::{
    Delivery, Entry, EntryId, IdLink, Message, Store, StoreError, StoreFuture, StoreLimits, decode_deliver,
    encode_deliver,
};

/// How a [`RedisStore`] runs, beyond the [`StoreLimits`] every store has.
///
/// ```
/// use smpp_server::store::RedisOptions;
/// let options = RedisOptions::default().prefix("smsc-eu").keep_messages_ms(3_600_000);
/// assert_eq!(options.prefix, "smsc-eu");
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedisOptions {
    /// The start of every key (default `smpp`): nodes with the same prefix share a
    /// store; another prefix is another store in the same Redis.
    pub prefix: String,
    /// How long an accepted message is kept for query_sm, in ms (default 24 h; at
    /// least 1).
    pub keep_messages_ms: u64,
    /// Message ids reserved per round trip to Redis (default 1000; at least 1), and
    /// as many delivery numbers. A node reserves the next block when half of its
    /// block is handed out; numbers reserved by a node that stops are never used.
    pub id_block: u32,
    /// How long a call waits for Redis, to connect and then for each answer, in ms
    /// (default 2000), before it fails with [`StoreError::Unavailable`].
    pub timeout_ms: u64,
}

impl Default for RedisOptions {
    fn default() -> Self {
        Self { prefix: "smpp".to_owned(), keep_messages_ms: 24 * 3_600_000, id_block: 1000, timeout_ms: 2_000 }
    }
}

impl RedisOptions {
    /// With this key prefix.
    #[must_use]
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Keeping accepted messages this long (ms).
    #[must_use]
    pub fn keep_messages_ms(mut self, keep_messages_ms: u64) -> Self {
        self.keep_messages_ms = keep_messages_ms;
        self
    }

    /// Reserving this many message ids (and delivery numbers) at a time.
    #[must_use]
    pub fn id_block(mut self, id_block: u32) -> Self {
        self.id_block = id_block;
        self
    }

    /// Waiting this long (ms) for Redis.
    #[must_use]
    pub fn timeout_ms(mut self, timeout_ms: u64) -> Self {
        self.timeout_ms = timeout_ms;
        self
    }
}

/// A store in Redis, shared by every node that connects to it with the same prefix
/// (feature `redis`). Every key it writes starts with `PREFIX:`; an accepted
/// message is one key (with a TTL), a waiting delivery one key and its place in its
/// account's sorted set, and an accept with a receipt writes both in one Lua
/// script.
///
/// Whatever a call answered `Ok` is in Redis, so a node that is killed (`kill -9`,
/// a crash of its machine) loses nothing it acknowledged: the other nodes, or the
/// node itself once it is back, carry on from what Redis holds, and the claims the
/// dead node held are handed out again after [`StoreLimits::claim_timeout_ms`].
/// Whether it survives a crash of Redis is Redis's durability: with no persistence
/// a restart of Redis forgets everything; with `appendonly yes` and
/// `appendfsync everysec` (Redis's default for the AOF) it may lose the last second;
/// with `appendfsync always` nothing acknowledged. A Redis that lost data also lost
/// its counters: message ids may then be handed out again (a delivery number that
/// is taken is refused with [`StoreError::Unavailable`], never overwritten).
///
/// Redis must not evict the store's keys: use `maxmemory-policy noeviction`, or a
/// `volatile-*` policy (only messages, id links and rate counters have a TTL, so
/// only they can be evicted).
///
/// A call that fails answers [`StoreError::Unavailable`]. One that timed out
/// ([`timeout_ms`](RedisOptions::timeout_ms)) may still have been done by Redis.
/// A lost connection is made again by the next call (calls fail meanwhile; nothing
/// is retried behind the caller's back).
///
/// Redis 6.2 or later (`ZADD GT`), one server or primary; not Redis Cluster (the
/// scripts derive keys from their arguments). Times are the callers' (see the
/// [store docs](super)), except that message, id link and rate TTLs run on Redis's
/// clock.
///
/// One connection per store, multiplexed: concurrent calls are pipelined on it.
/// Cloning is cheap (the clones share the connection and the blocks of numbers).
///
/// ```no_run
/// # async fn f() -> Result<(), smpp_server::store::StoreError> {
/// use smpp_server::store::{RedisOptions, RedisStore, StoreLimits};
/// let store = RedisStore::connect("redis://127.0.0.1:6379/", StoreLimits::default(), RedisOptions::default()).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
}

impl fmt::Debug for RedisStore {
    /// The server's address, database and the prefix: never the URL (it may hold a
    /// password).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let info = self.inner.link.client.get_connection_info();
        f.debug_struct("RedisStore")
            .field("server", &info.addr().to_string())
            .field("db", &info.redis_settings().db())
            .field("prefix", &self.inner.prefix)
            .finish_non_exhaustive()
    }
}

struct Inner {
    link: Arc<Link>,
    limits: StoreLimits,
    prefix: String,
    /// `P:msg:`, `P:due:`, `P:binds:`, `P:rate:`, `P:link:`: the starts of per-item
    /// keys.
    msg_key: String,
    due_key: String,
    binds_key: String,
    rate_key: String,
    link_key: String,
    keep_messages_ms: u64,
    /// Message ids (`P:ids`).
    ids: Arc<Counter>,
    /// Delivery numbers (`P:entries`).
    entries: Arc<Counter>,
    scripts: Scripts,
}

/// A counter in Redis that nodes take numbers from in blocks (`INCRBY key block`),
/// so that a number usually costs no round trip.
struct Counter {
    key: String,
    block: u64,
    state: Mutex<IdBlock>,
    /// Held while a block is reserved, so that callers waiting for numbers reserve
    /// one block between them, not one each.
    reserving: tokio::sync::Mutex<()>,
}

impl Counter {
    fn new(key: String, block: u64) -> Self {
        Self { key, block, state: Mutex::new(IdBlock::default()), reserving: tokio::sync::Mutex::new(()) }
    }

    /// Reserves a block: `INCRBY key block`.
    async fn reserve(&self, link: &Link) -> Result<(u64, u64), StoreError> {
        let mut incr = redis::cmd("INCRBY");
        incr.arg(&self.key).arg(self.block);
        let end: i64 = link.query(&incr).await?;
        let end = u64::try_from(end).map_err(|_| corrupt(&format!("the counter {} is negative", self.key)))?;
        Ok((end.saturating_sub(self.block), end))
    }

    /// Takes a reserved number; starts reserving the spare block when half of this
    /// one is used.
    fn take(self: &Arc<Self>, link: &Arc<Link>) -> Option<u64> {
        let (n, prefetch) = lock(&self.state).take(self.block.div_ceil(2));
        if prefetch {
            let (counter, link) = (Arc::clone(self), Arc::clone(link));
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => {
                    runtime.spawn(async move {
                        let _one = counter.reserving.lock().await;
                        let reserved = counter.reserve(&link).await;
                        let mut state = lock(&counter.state);
                        if let Ok(block) = reserved {
                            state.add(block);
                        }
                        state.prefetching = false;
                    });
                }
                // Not on a tokio runtime: the block is reserved when it runs out.
                Err(_) => lock(&self.state).prefetching = false,
            }
        }
        n
    }

    /// The next number: reserved already, or once a block is.
    async fn next(self: &Arc<Self>, link: &Arc<Link>) -> Result<u64, StoreError> {
        loop {
            if let Some(n) = self.take(link) {
                return Ok(n);
            }
            let _one = self.reserving.lock().await;
            if let Some(n) = self.take(link) {
                return Ok(n);
            }
            let block = self.reserve(link).await?;
            lock(&self.state).add(block);
        }
    }
}

/// The numbers this node may hand out: `next..end`, then `spare`.
#[derive(Debug, Default)]
struct IdBlock {
    next: u64,
    end: u64,
    spare: Option<(u64, u64)>,
    /// A reservation of the spare block is under way.
    prefetching: bool,
}

impl IdBlock {
    /// A number if one is reserved, and whether to reserve the spare block now.
    fn take(&mut self, half: u64) -> (Option<u64>, bool) {
        if self.next >= self.end
            && let Some((next, end)) = self.spare.take()
        {
            (self.next, self.end) = (next, end);
        }
        if self.next >= self.end {
            return (None, false);
        }
        let n = self.next;
        self.next += 1;
        let prefetch = self.end - self.next < half && self.spare.is_none() && !self.prefetching;
        if prefetch {
            self.prefetching = true;
        }
        (Some(n), prefetch)
    }

    /// Adds a reserved block: as the current one if that is used up, else as the
    /// spare.
    fn add(&mut self, block: (u64, u64)) {
        if self.next >= self.end {
            (self.next, self.end) = block;
        } else if self.spare.is_none() {
            self.spare = Some(block);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn unavailable(e: impl fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("redis: {e}"))
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Unavailable(format!("redis: {what} (corrupt or foreign data under the store's prefix)"))
}

/// Characters of a message id: 8, so it is valid for v3.3 too.
const ID_CHARS: usize = 8;

/// The id of message number `n`: 8 base-36 digits (`0-9a-z`), so that ids repeat
/// only after 36^8 (2.8 × 10^12) messages, not after 2^32 as with 8 hex digits
/// (half a day at 100,000 msg/s, shorter than the time messages are kept).
fn message_id(n: u64) -> String {
    let mut n = n % 36u64.pow(ID_CHARS as u32);
    let mut out = ['0'; ID_CHARS];
    for digit in out.iter_mut().rev() {
        // n % 36 < 36: always a digit.
        *digit = char::from_digit((n % 36) as u32, 36).unwrap_or('0');
        n /= 36;
    }
    out.iter().collect()
}

/// Digits in an entry number.
const ENTRY_DIGITS: usize = 15;

/// The entry number and account of an [`EntryId`], or `None` for an id this store
/// did not make.
fn entry_parts(id: &EntryId) -> Option<(&str, &str)> {
    let (n, account) = id.0.split_once(':')?;
    (n.len() == ENTRY_DIGITS && n.bytes().all(|b| b.is_ascii_digit())).then_some((n, account))
}

/// An entry as kept: attempts (10 digits), due time (20 digits), then the PDU; the
/// scripts rewrite the numbers in place (`SETRANGE`).
fn encode_entry(due_ms: u64, pdu: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 + pdu.len());
    out.extend_from_slice(format!("{:010}:{due_ms:020}:", 0).as_bytes());
    out.extend_from_slice(pdu);
    out
}

/// The attempts, due time and PDU of an entry as kept.
fn decode_entry(raw: &[u8]) -> Option<(u32, u64, &[u8])> {
    let (attempts, rest) = raw.split_at_checked(10)?;
    let (due, pdu) = rest.strip_prefix(b":")?.split_at_checked(20)?;
    let pdu = pdu.strip_prefix(b":")?;
    let number = |digits: &[u8]| std::str::from_utf8(digits).ok()?.parse::<u64>().ok();
    Some((u32::try_from(number(attempts)?).unwrap_or(u32::MAX), number(due)?, pdu))
}

/// The connection, made again after it broke.
struct Link {
    client: Client,
    config: AsyncConnectionConfig,
    /// The connection in use and its generation; `None` once it broke.
    current: Mutex<(u64, Option<MultiplexedConnection>)>,
    /// Held while a connection is made; holds when the last attempt failed and why.
    connecting: tokio::sync::Mutex<Option<(tokio::time::Instant, StoreError)>>,
}

impl Link {
    /// The connection, made if there is none. Callers that waited for a failed
    /// attempt share its error rather than each trying again in turn.
    async fn get(&self) -> Result<(u64, MultiplexedConnection), StoreError> {
        if let (generation, Some(conn)) = &*lock(&self.current) {
            return Ok((*generation, conn.clone()));
        }
        let asked = tokio::time::Instant::now();
        let mut last = self.connecting.lock().await;
        if let (generation, Some(conn)) = &*lock(&self.current) {
            return Ok((*generation, conn.clone()));
        }
        if let Some((at, e)) = &*last
            && *at >= asked
        {
            return Err(e.clone());
        }
        match self.client.get_multiplexed_async_connection_with_config(&self.config).await {
            Ok(conn) => {
                *last = None;
                let mut current = lock(&self.current);
                current.0 += 1;
                current.1 = Some(conn.clone());
                Ok((current.0, conn))
            }
            Err(e) => {
                let e = unavailable(e);
                *last = Some((tokio::time::Instant::now(), e.clone()));
                Err(e)
            }
        }
    }

    /// Notes that a call on connection `generation` failed with `e`: a broken
    /// connection is dropped, to be made again by the next call.
    fn failed(&self, generation: u64, e: &RedisError) -> StoreError {
        if e.is_unrecoverable_error() || e.is_connection_dropped() {
            let mut current = lock(&self.current);
            if current.0 == generation {
                current.1 = None;
            }
        }
        unavailable(e)
    }

    /// Runs a command.
    async fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, StoreError> {
        let (generation, mut conn) = self.get().await?;
        cmd.query_async(&mut conn).await.map_err(|e| self.failed(generation, &e))
    }

    /// Runs a pipeline (a transaction if it is `atomic`).
    async fn pipeline<T: redis::FromRedisValue>(&self, pipe: &redis::Pipeline) -> Result<T, StoreError> {
        let (generation, mut conn) = self.get().await?;
        pipe.query_async(&mut conn).await.map_err(|e| self.failed(generation, &e))
    }

    /// Runs a script (loading it first if Redis does not know it).
    async fn eval<T: redis::FromRedisValue>(&self, invocation: &redis::ScriptInvocation<'_>) -> Result<T, StoreError> {
        let (generation, mut conn) = self.get().await?;
        invocation.invoke_async(&mut conn).await.map_err(|e| self.failed(generation, &e))
    }
}

/// The Lua scripts: one per call that touches more than one key. `ARGV[1]` is the
/// prefix for those that derive keys.
struct Scripts {
    push: Script,
    claim: Script,
    ack: Script,
    release: Script,
    due: Script,
    acquire_bind: Script,
    rate: Script,
}

/// Records a delivery (and the message that caused it) unless its account holds
/// its most: ARGV prefix, account, max, due_ms, entry number, entry, message id
/// ("" for none), message, keep_ms. Returns 1; 0 when full; -1 when the entry
/// number is taken (the counter went back: Redis lost data).
const PUSH: &str = r"
local p, acc = ARGV[1], ARGV[2]
local due = p .. ':due:' .. acc
local held = redis.call('ZCARD', due)
if held >= tonumber(ARGV[3]) then return 0 end
if not redis.call('SET', p .. ':entry:' .. ARGV[5], ARGV[6], 'NX') then return -1 end
redis.call('ZADD', due, ARGV[4], ARGV[5])
if held == 0 then redis.call('SADD', p .. ':accounts', acc) end
if ARGV[7] ~= '' then redis.call('SET', p .. ':msg:' .. ARGV[7], ARGV[8], 'PX', ARGV[9]) end
return 1
";

/// Claims an account's due deliveries: ARGV prefix, account, now_ms, max,
/// claimed_until. Returns the entry number and the entry as it was (before this
/// claim's attempt) for each.
const CLAIM: &str = r"
local p, acc = ARGV[1], ARGV[2]
local due = p .. ':due:' .. acc
local ids = redis.call('ZRANGEBYSCORE', due, '-inf', ARGV[3], 'LIMIT', 0, ARGV[4])
local out = {}
for _, id in ipairs(ids) do
  local k = p .. ':entry:' .. id
  local e = redis.call('GET', k)
  if e then
    redis.call('ZADD', due, ARGV[5], id)
    local attempts = (tonumber(string.sub(e, 1, 10)) or 0) + 1
    redis.call('SETRANGE', k, 0, string.format('%010d', math.min(attempts, 9999999999)))
    out[#out + 1] = id
    out[#out + 1] = e
  else
    redis.call('ZREM', due, id)
    if redis.call('ZCARD', due) == 0 then redis.call('SREM', p .. ':accounts', acc) end
  end
end
return out
";

/// Forgets a delivery: ARGV prefix, entry number, account.
const ACK: &str = r"
local p = ARGV[1]
local due = p .. ':due:' .. ARGV[3]
if redis.call('ZREM', due, ARGV[2]) == 0 then return 0 end
redis.call('DEL', p .. ':entry:' .. ARGV[2])
if redis.call('ZCARD', due) == 0 then redis.call('SREM', p .. ':accounts', ARGV[3]) end
return 1
";

/// Makes a delivery due again: ARGV prefix, entry number, account, retry_ms (20
/// digits).
const RELEASE: &str = r"
local p = ARGV[1]
local due = p .. ':due:' .. ARGV[3]
if not redis.call('ZSCORE', due, ARGV[2]) then return 0 end
redis.call('SETRANGE', p .. ':entry:' .. ARGV[2], 11, ARGV[4])
redis.call('ZADD', due, 'XX', ARGV[4], ARGV[2])
return 1
";

/// Every account with deliveries and its lowest score: ARGV prefix. Returns
/// account, score pairs.
const DUE: &str = r"
local p = ARGV[1]
local out = {}
for _, acc in ipairs(redis.call('SMEMBERS', p .. ':accounts')) do
  local first = redis.call('ZRANGE', p .. ':due:' .. acc, 0, 0, 'WITHSCORES')
  if first[2] then
    out[#out + 1] = acc
    out[#out + 1] = first[2]
  end
end
return out
";

/// Counts a bind unless `max` run: KEYS binds key; ARGV holder, max, now_ms,
/// until_ms. Leases that ended by now are dropped first.
const ACQUIRE_BIND: &str = r"
local k = KEYS[1]
redis.call('ZREMRANGEBYSCORE', k, '-inf', ARGV[3])
if redis.call('ZSCORE', k, ARGV[1]) or redis.call('ZCARD', k) < tonumber(ARGV[2]) then
  redis.call('ZADD', k, ARGV[4], ARGV[1])
  return 1
end
return 0
";

/// Counts a submit in its second: KEYS rate key. Returns the count.
const RATE: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], 2000) end
return n
";

impl Scripts {
    fn new() -> Self {
        Self {
            push: Script::new(PUSH),
            claim: Script::new(CLAIM),
            ack: Script::new(ACK),
            release: Script::new(RELEASE),
            due: Script::new(DUE),
            acquire_bind: Script::new(ACQUIRE_BIND),
            rate: Script::new(RATE),
        }
    }

    /// Every script's code, for `SCRIPT LOAD` at connect.
    const CODES: [&str; 7] = [PUSH, CLAIM, ACK, RELEASE, DUE, ACQUIRE_BIND, RATE];
}

/// A message as kept: `submitted_ms:done_ms:final_state:account` (the account last,
/// so it may hold anything).
fn encode_message(m: &Message) -> String {
    format!("{}:{}:{}:{}", m.submitted_ms, m.done_ms, m.final_state.0, m.account)
}

fn decode_message(id: &str, raw: &[u8]) -> Result<Message, StoreError> {
    let bad = || corrupt(&format!("message {id} does not read back"));
    let text = std::str::from_utf8(raw).map_err(|_| bad())?;
    let mut parts = text.splitn(4, ':');
    let mut number = || parts.next().and_then(|s| s.parse::<u64>().ok()).ok_or_else(bad);
    let submitted_ms = number()?;
    let done_ms = number()?;
    let state = u8::try_from(number()?).map_err(|_| bad())?;
    let account = parts.next().ok_or_else(bad)?;
    Ok(Message::new(id, account, submitted_ms, done_ms, MessageState(state)))
}

/// The longest TTL an id link is given (ms): Redis refuses a `PX` that takes the
/// expiry past `i64::MAX` ms.
const MAX_LINK_TTL_MS: u64 = 1 << 62;

/// An id link as kept: `until_ms:N:ACCOUNTID`, with `N` the length of the account in
/// bytes (so the account and the id may hold anything).
fn encode_link(link: &IdLink, until_ms: u64) -> String {
    format!("{until_ms}:{}:{}{}", link.account.len(), link.account, link.id)
}

/// The end and the link of an id link as kept.
fn decode_link(key: &str, raw: &[u8]) -> Result<(u64, IdLink), StoreError> {
    let bad = || corrupt(&format!("the id link under {key} does not read back"));
    let text = std::str::from_utf8(raw).map_err(|_| bad())?;
    let mut parts = text.splitn(3, ':');
    let until_ms = parts.next().and_then(|s| s.parse::<u64>().ok()).ok_or_else(bad)?;
    let len = parts.next().and_then(|s| s.parse::<usize>().ok()).ok_or_else(bad)?;
    let (account, id) = parts.next().and_then(|rest| rest.split_at_checked(len)).ok_or_else(bad)?;
    Ok((until_ms, IdLink::new(account, id)))
}

/// The octets of a string reply.
fn octets(v: &Value) -> Option<&[u8]> {
    match v {
        Value::BulkString(b) => Some(b),
        Value::SimpleString(s) => Some(s.as_bytes()),
        _ => None,
    }
}

fn text(v: &Value) -> Option<&str> {
    octets(v).and_then(|b| std::str::from_utf8(b).ok())
}

/// A sorted-set score as ms: Redis keeps scores as doubles, exact below 2^53.
fn score(v: &Value) -> Option<u64> {
    let s = text(v)?;
    s.parse::<u64>().ok().or_else(|| s.parse::<f64>().ok().filter(|f| *f >= 0.0).map(|f| f as u64))
}

impl RedisStore {
    /// Connects to the Redis at `url` (`redis://[user:password@]host[:port][/db]`, or
    /// `redis+unix:///path`), checks that it answers, loads the scripts and
    /// reserves a first block of message ids.
    pub async fn connect(url: &str, limits: StoreLimits, options: RedisOptions) -> Result<Self, StoreError> {
        let client = Client::open(url).map_err(|e| StoreError::Unavailable(format!("redis URL: {e}")))?;
        let timeout = Duration::from_millis(options.timeout_ms.max(1));
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_pipeline_buffer_size(1024);
        let prefix = options.prefix;
        let block = u64::from(options.id_block.max(1));
        let inner = Inner {
            link: Arc::new(Link {
                client,
                config,
                current: Mutex::new((0, None)),
                connecting: tokio::sync::Mutex::new(None),
            }),
            limits,
            msg_key: format!("{prefix}:msg:"),
            due_key: format!("{prefix}:due:"),
            binds_key: format!("{prefix}:binds:"),
            rate_key: format!("{prefix}:rate:"),
            link_key: format!("{prefix}:link:"),
            ids: Arc::new(Counter::new(format!("{prefix}:ids"), block)),
            entries: Arc::new(Counter::new(format!("{prefix}:entries"), block)),
            prefix,
            keep_messages_ms: options.keep_messages_ms.max(1),
            scripts: Scripts::new(),
        };
        let pong: String = inner.link.query(&redis::cmd("PING")).await?;
        if pong != "PONG" {
            return Err(StoreError::Unavailable(format!("redis: PING answered {pong:?}")));
        }
        for code in Scripts::CODES {
            let mut load = redis::cmd("SCRIPT");
            load.arg("LOAD").arg(code);
            let _: String = inner.link.query(&load).await?;
        }
        let block = inner.ids.reserve(&inner.link).await?;
        lock(&inner.ids.state).add(block);
        Ok(Self { inner: Arc::new(inner) })
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.inner.prefix
    }

    /// Records a delivery, and the message that caused it if any.
    async fn push(&self, delivery: Delivery, message: Option<&Message>) -> Result<EntryId, StoreError> {
        let inner = &*self.inner;
        let max = inner.limits.max_waiting_per_account;
        let entry = encode_entry(delivery.due_ms, &encode_deliver(&delivery.deliver));
        // 15 digits, wrapping after 10^15 deliveries.
        let n = format!("{:015}", inner.entries.next(&inner.link).await? % 1_000_000_000_000_000);
        let mut call = inner.scripts.push.prepare_invoke();
        call.arg(&inner.prefix).arg(&delivery.account).arg(max).arg(delivery.due_ms).arg(&n).arg(entry);
        match message {
            Some(m) => call.arg(&m.id).arg(encode_message(m)).arg(inner.keep_messages_ms),
            None => call.arg("").arg("").arg(0),
        };
        match inner.link.eval::<i64>(&call).await? {
            1 => Ok(EntryId(format!("{n}:{}", delivery.account))),
            0 => Err(StoreError::Full { account: delivery.account, max }),
            _ => Err(corrupt(&format!("delivery number {n} is taken already (did Redis lose its data?)"))),
        }
    }

    async fn claim_now(&self, account: &str, now_ms: u64, max: usize) -> Result<Vec<Entry>, StoreError> {
        let inner = &*self.inner;
        if max == 0 {
            return Ok(Vec::new());
        }
        let until = now_ms.saturating_add(inner.limits.claim_timeout_ms);
        // LIMIT takes a signed 64-bit count.
        let max = max.min(i64::MAX as usize);
        let mut call = inner.scripts.claim.prepare_invoke();
        call.arg(&inner.prefix).arg(account).arg(now_ms).arg(max).arg(until);
        let reply: Vec<Value> = inner.link.eval(&call).await?;
        let mut out = Vec::with_capacity(reply.len() / 2);
        for e in reply.chunks(2) {
            let [n, entry] = e else { return Err(corrupt("a claim answered a partial entry")) };
            let n = text(n).ok_or_else(|| corrupt("a claimed entry has no number"))?;
            let (attempts, due_ms, pdu) =
                octets(entry).and_then(decode_entry).ok_or_else(|| corrupt(&format!("entry {n} does not read")))?;
            out.push(Entry {
                id: EntryId(format!("{n}:{account}")),
                delivery: Delivery::new(account, due_ms, decode_deliver(pdu)?),
                attempts,
            });
        }
        Ok(out)
    }

    async fn due_now(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let inner = &*self.inner;
        let mut call = inner.scripts.due.prepare_invoke();
        call.arg(&inner.prefix);
        let reply: Vec<Value> = inner.link.eval(&call).await?;
        let mut out = Vec::with_capacity(reply.len() / 2);
        for pair in reply.chunks(2) {
            let [account, at] = pair else { return Err(corrupt("due answered a partial pair")) };
            let account = text(account).ok_or_else(|| corrupt("an account name is not UTF-8"))?;
            let at = score(at).ok_or_else(|| corrupt(&format!("account {account} has a bad score")))?;
            out.push((account.to_owned(), at));
        }
        out.sort();
        Ok(out)
    }
}

impl Inner {
    fn binds_key(&self, account: &str) -> String {
        format!("{}{account}", self.binds_key)
    }
}

impl Store for RedisStore {
    fn next_message_id(&self) -> StoreFuture<'_, String> {
        Box::pin(async move { Ok(message_id(self.inner.ids.next(&self.inner.link).await?)) })
    }

    fn accept(&self, message: Message, receipt: Option<Delivery>) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            match receipt {
                Some(receipt) => self.push(receipt, Some(&message)).await.map(drop),
                None => {
                    let inner = &*self.inner;
                    let mut set = redis::cmd("SET");
                    set.arg(format!("{}{}", inner.msg_key, message.id))
                        .arg(encode_message(&message))
                        .arg("PX")
                        .arg(inner.keep_messages_ms);
                    inner.link.query::<()>(&set).await
                }
            }
        })
    }

    fn message(&self, id: &str) -> StoreFuture<'_, Option<Message>> {
        let key = format!("{}{id}", self.inner.msg_key);
        let id = id.to_owned();
        Box::pin(async move {
            let raw: Option<Vec<u8>> = self.inner.link.query(redis::cmd("GET").arg(key)).await?;
            raw.map(|raw| decode_message(&id, &raw)).transpose()
        })
    }

    fn enqueue(&self, delivery: Delivery) -> StoreFuture<'_, EntryId> {
        Box::pin(self.push(delivery, None))
    }

    fn claim(&self, account: &str, now_ms: u64, max: usize) -> StoreFuture<'_, Vec<Entry>> {
        let account = account.to_owned();
        Box::pin(async move { self.claim_now(&account, now_ms, max).await })
    }

    fn ack(&self, id: &EntryId) -> StoreFuture<'_, ()> {
        let Some((n, account)) = entry_parts(id) else { return Box::pin(std::future::ready(Ok(()))) };
        let inner = &*self.inner;
        let mut call = inner.scripts.ack.prepare_invoke();
        call.arg(&inner.prefix).arg(n).arg(account);
        Box::pin(async move { inner.link.eval::<()>(&call).await })
    }

    fn release(&self, id: &EntryId, retry_ms: u64) -> StoreFuture<'_, ()> {
        let Some((n, account)) = entry_parts(id) else { return Box::pin(std::future::ready(Ok(()))) };
        let inner = &*self.inner;
        let mut call = inner.scripts.release.prepare_invoke();
        call.arg(&inner.prefix).arg(n).arg(account).arg(format!("{retry_ms:020}"));
        Box::pin(async move { inner.link.eval::<()>(&call).await })
    }

    fn waiting(&self, account: &str) -> StoreFuture<'_, usize> {
        let key = format!("{}{account}", self.inner.due_key);
        Box::pin(async move { self.inner.link.query(redis::cmd("ZCARD").arg(key)).await })
    }

    fn due(&self) -> StoreFuture<'_, Vec<(String, u64)>> {
        Box::pin(self.due_now())
    }

    fn shared(&self) -> bool {
        true
    }

    fn acquire_bind(
        &self,
        account: &str,
        holder: &str,
        max: usize,
        now_ms: u64,
        until_ms: u64,
    ) -> StoreFuture<'_, bool> {
        let key = self.inner.binds_key(account);
        let holder = holder.to_owned();
        Box::pin(async move {
            let mut call = self.inner.scripts.acquire_bind.key(key);
            call.arg(holder).arg(max).arg(now_ms).arg(until_ms);
            let taken: i64 = self.inner.link.eval(&call).await?;
            Ok(taken == 1)
        })
    }

    fn renew_binds(&self, binds: Vec<(String, String)>, until_ms: u64) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            if binds.is_empty() {
                return Ok(());
            }
            let mut pipe = redis::pipe();
            for (account, holder) in &binds {
                pipe.cmd("ZADD")
                    .arg(self.inner.binds_key(account))
                    .arg("XX")
                    .arg("GT")
                    .arg(until_ms)
                    .arg(holder)
                    .ignore();
            }
            self.inner.link.pipeline::<()>(&pipe).await
        })
    }

    fn release_bind(&self, account: &str, holder: &str) -> StoreFuture<'_, ()> {
        let mut zrem = redis::cmd("ZREM");
        zrem.arg(self.inner.binds_key(account)).arg(holder);
        Box::pin(async move { self.inner.link.query::<()>(&zrem).await })
    }

    fn binds(&self, account: &str, now_ms: u64) -> StoreFuture<'_, usize> {
        let mut count = redis::cmd("ZCOUNT");
        // Leases count while they run past now: (now, +inf].
        count.arg(self.inner.binds_key(account)).arg(format!("({now_ms}")).arg("+inf");
        Box::pin(async move { self.inner.link.query(&count).await })
    }

    fn take_rate(&self, account: &str, per_second: u32, now_ms: u64) -> StoreFuture<'_, bool> {
        let key = format!("{}{}:{account}", self.inner.rate_key, now_ms / 1000);
        Box::pin(async move {
            let call = self.inner.scripts.rate.key(key);
            let taken: u64 = self.inner.link.eval(&call).await?;
            Ok(taken <= u64::from(per_second))
        })
    }

    fn link_ids(&self, keys: Vec<String>, link: IdLink, now_ms: u64, until_ms: u64) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            if keys.is_empty() {
                return Ok(());
            }
            let value = encode_link(&link, until_ms);
            // Kept by Redis until `until_ms` as the caller counts; found only while
            // unexpired by the caller's clock too.
            let ttl = until_ms.saturating_sub(now_ms).clamp(1, MAX_LINK_TTL_MS);
            let mut pipe = redis::pipe();
            pipe.atomic();
            for key in &keys {
                pipe.cmd("SET").arg(format!("{}{key}", self.inner.link_key)).arg(&value).arg("PX").arg(ttl).ignore();
            }
            self.inner.link.pipeline::<()>(&pipe).await
        })
    }

    fn find_link(&self, keys: Vec<String>, now_ms: u64) -> StoreFuture<'_, Option<IdLink>> {
        Box::pin(async move {
            if keys.is_empty() {
                return Ok(None);
            }
            let mut mget = redis::cmd("MGET");
            for key in &keys {
                mget.arg(format!("{}{key}", self.inner.link_key));
            }
            let found: Vec<Option<Vec<u8>>> = self.inner.link.query(&mget).await?;
            for (key, raw) in keys.iter().zip(found) {
                let Some(raw) = raw else { continue };
                let (until_ms, link) = decode_link(key, &raw)?;
                if until_ms > now_ms {
                    return Ok(Some(link));
                }
            }
            Ok(None)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_reads_back_with_any_account() {
        let m = Message::new("0000002a", "acc:with:colons", 1, 2, MessageState::DELIVERED);
        let raw = encode_message(&m);
        assert_eq!(decode_message("0000002a", raw.as_bytes()), Ok(m));
        assert!(decode_message("x", b"1:2").is_err());
        assert!(decode_message("x", b"1:2:300:a").is_err());
    }

    #[test]
    fn a_link_reads_back_with_any_account_and_id() {
        let link = IdLink::new("acc:with:colons:", "id:1");
        let raw = encode_link(&link, 42);
        assert_eq!(raw, "42:16:acc:with:colons:id:1");
        assert_eq!(decode_link("k", raw.as_bytes()), Ok((42, link)));
        let empty = IdLink::new("", "");
        assert_eq!(decode_link("k", encode_link(&empty, u64::MAX).as_bytes()), Ok((u64::MAX, empty)));
        let accented = IdLink::new("é", "x");
        assert_eq!(decode_link("k", encode_link(&accented, 1).as_bytes()), Ok((1, accented)));
        for bad in [&b"42"[..], b"42:3", b"42:9:short", b"x:1:ab", b"42:-1:ab", b"\xff:0:"] {
            assert!(decode_link("k", bad).is_err(), "{bad:?} decoded");
        }
        // Splitting inside a character is refused, not a panic.
        assert!(decode_link("k", "1:1:é".as_bytes()).is_err());
    }

    #[test]
    fn ids_come_from_the_block_then_the_spare() {
        let mut ids = IdBlock::default();
        assert_eq!(ids.take(2), (None, false));
        ids.add((10, 14));
        assert_eq!(ids.take(2), (Some(10), false));
        assert_eq!(ids.take(2), (Some(11), false));
        assert_eq!(ids.take(2), (Some(12), true), "half the block is gone: reserve the spare");
        ids.prefetching = false;
        ids.add((100, 104));
        assert_eq!(ids.take(2), (Some(13), false));
        assert_eq!(ids.take(2), (Some(100), false));
        assert_eq!(message_id(42), "00000016");
    }

    #[test]
    fn message_ids_are_8_base_36_digits_that_do_not_repeat_at_2_to_the_32() {
        assert_eq!(message_id(0), "00000000");
        assert_eq!(message_id(35), "0000000z");
        assert_eq!(message_id(36), "00000010");
        assert_ne!(message_id(1 << 32), message_id(0), "8 hex digits would repeat here");
        assert_eq!(message_id(36u64.pow(8) - 1), "zzzzzzzz");
        assert_eq!(message_id(36u64.pow(8)), "00000000", "after 36^8");
    }

    #[test]
    fn an_entry_reads_back() {
        let raw = encode_entry(u64::MAX, b"pdu:octets");
        assert_eq!(raw.len(), 32 + 10);
        assert_eq!(decode_entry(&raw), Some((0, u64::MAX, &b"pdu:octets"[..])));
        let mut claimed = raw.clone();
        claimed[..10].copy_from_slice(b"0000000003");
        claimed[11..31].copy_from_slice(format!("{:020}", 42).as_bytes());
        assert_eq!(decode_entry(&claimed), Some((3, 42, &b"pdu:octets"[..])));
        assert_eq!(decode_entry(b"0000000000:0001:"), None);
        assert_eq!(entry_parts(&EntryId("000000000000042:acc:x".to_owned())), Some(("000000000000042", "acc:x")));
        assert_eq!(entry_parts(&EntryId("42:acc".to_owned())), None);
        assert_eq!(entry_parts(&EntryId("000000000000042".to_owned())), None);
    }

    #[test]
    fn scores_read_as_ms() {
        assert_eq!(score(&Value::BulkString(b"10000".to_vec())), Some(10_000));
        assert_eq!(score(&Value::BulkString(b"1.8446744073709552e+19".to_vec())), Some(u64::MAX));
        assert_eq!(score(&Value::BulkString(b"-1".to_vec())), None);
    }
}
