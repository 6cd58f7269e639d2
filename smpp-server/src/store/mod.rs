//! What an SMSC must not forget: the messages it accepted, and the receipts and MO
//! waiting for an account's receivers. One trait ([`Store`]), three backends
//! ([`MemoryStore`]; `SqliteStore`, one file, behind the `sqlite` feature;
//! `RedisStore`, shared by a cluster of nodes, behind the `redis` feature), and one
//! conformance suite ([`conformance::check`]) that every backend passes.
//!
//! The contract, which the suite checks:
//! - [`accept`](Store::accept) records a message (and the receipt it will cause) as
//!   durably as the backend promises before it returns: only then may the submit be
//!   answered `ESME_ROK`. Past an account's bound of waiting deliveries it refuses
//!   with [`StoreError::Full`] (answer `ESME_RMSGQFUL`).
//! - A delivery is due at its `due_ms`. [`claim`](Store::claim) hands out due
//!   deliveries of one account, oldest due first, and marks them in flight; they are
//!   not handed out again until [`release`](Store::release)d (a temporary error, a
//!   timeout, a lost link: due again later) or until their claim is older than the
//!   claim timeout (the node that claimed them died). Only [`ack`](Store::ack) (the
//!   ESME answered `ESME_ROK`, or the delivery is refused for good) removes one.
//! - Times are milliseconds since the Unix epoch, given by the caller, so tests run
//!   in virtual time.

mod counters;
mod memory;
#[cfg(feature = "redis")]
mod redis;
mod ring;
#[cfg(feature = "sqlite")]
mod sqlite;

pub mod conformance;

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use bytes::BytesMut;
use smpp_wire::{Body, DeliverSm, MessageState, Pdu, SequenceNumber};

pub(crate) use counters::Counters;
pub use memory::MemoryStore;
#[cfg(feature = "redis")]
pub use redis::{RedisOptions, RedisStore};
#[cfg(feature = "sqlite")]
pub use sqlite::{SqliteOptions, SqliteStore, SqliteSync};

/// What [`Store::accept_then`] calls with the message id, or the error.
pub type Done = Box<dyn FnOnce(Result<String, StoreError>) + Send>;

/// The future a [`Store`] method returns.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Why a store could not do what was asked.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The account holds its most waiting deliveries: refuse the submit with
    /// `ESME_RMSGQFUL`.
    #[error("account {account} holds its most waiting deliveries ({max})")]
    Full {
        /// The account.
        account: String,
        /// Its bound.
        max: usize,
    },
    /// The backend failed (I/O, connection, corrupt data); nothing was recorded,
    /// except that a call to a remote backend that timed out may have been done
    /// after all (a submit refused for it may still get its receipt).
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

/// A message the SMSC accepted.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// Its message_id.
    pub id: String,
    /// The account that submitted it.
    pub account: String,
    /// When it was accepted (ms since the epoch).
    pub submitted_ms: u64,
    /// When it reaches its final state (ms since the epoch).
    pub done_ms: u64,
    /// The state it reaches then.
    pub final_state: MessageState,
}

impl Message {
    /// A message of `account` with this id, final at `done_ms` in `final_state`.
    pub fn new(id: &str, account: &str, submitted_ms: u64, done_ms: u64, final_state: MessageState) -> Self {
        Self { id: id.to_owned(), account: account.to_owned(), submitted_ms, done_ms, final_state }
    }

    /// Its state at `now_ms`: ENROUTE until `done_ms`, then the final state.
    pub fn state_at(&self, now_ms: u64) -> MessageState {
        if now_ms >= self.done_ms { self.final_state } else { MessageState::ENROUTE }
    }
}

/// A deliver_sm (a receipt or an MO) for an account's receivers, due at `due_ms`.
///
/// A receipt is kept in its v3.4 form (with its TLVs); a v3.3 receiver gets it
/// without them.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq)]
pub struct Delivery {
    /// The account whose receivers get it.
    pub account: String,
    /// When it may go out (ms since the epoch).
    pub due_ms: u64,
    /// The PDU.
    pub deliver: DeliverSm,
}

impl Delivery {
    /// A delivery of `deliver` to `account`'s receivers, due at `due_ms`.
    pub fn new(account: &str, due_ms: u64, deliver: DeliverSm) -> Self {
        Self { account: account.to_owned(), due_ms, deliver }
    }
}

/// Where a message the gateway forwarded upstream came from: the account that
/// submitted it and the message_id the gateway gave it. Filed under the forms of the
/// upstream's id ([`Store::link_ids`]) so that the upstream's receipt finds its way
/// back, on any node.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdLink {
    /// The customer's account.
    pub account: String,
    /// The gateway's message_id.
    pub id: String,
}

impl IdLink {
    /// The message `id` of `account`.
    pub fn new(account: &str, id: &str) -> Self {
        Self { account: account.to_owned(), id: id.to_owned() }
    }
}

/// A stored delivery's id, opaque and unique within its store.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntryId(pub String);

impl fmt::Display for EntryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A claimed delivery.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// Its id, for [`Store::ack`] and [`Store::release`].
    pub id: EntryId,
    /// What to deliver.
    pub delivery: Delivery,
    /// How many times it was claimed before this one.
    pub attempts: u32,
}

/// The bounds of a store.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(default, deny_unknown_fields))]
pub struct StoreLimits {
    /// Deliveries one account may have waiting (default 10 000): past it, `accept`
    /// with a receipt and `enqueue` fail with [`StoreError::Full`].
    pub max_waiting_per_account: usize,
    /// A claim older than this is taken to belong to a node that died: its deliveries
    /// are handed out again (default 30 s).
    pub claim_timeout_ms: u64,
    /// Id links ([`Store::link_ids`]) a store in memory keeps at most: past it, the
    /// oldest are forgotten before they expire (default 1 000 000). Backends on disk
    /// or in Redis keep each until it expires.
    pub max_id_links: usize,
}

impl Default for StoreLimits {
    fn default() -> Self {
        Self { max_waiting_per_account: 10_000, claim_timeout_ms: 30_000, max_id_links: 1_000_000 }
    }
}

/// What an SMSC must not forget. See the [module docs](self) for the contract.
pub trait Store: Send + Sync + fmt::Debug + 'static {
    /// A message id unique in this store (across every node that shares it): at
    /// most 8 characters, so it is valid for v3.3 too where the backend allows.
    fn next_message_id(&self) -> StoreFuture<'_, String>;

    /// Records an accepted message and the receipt it will cause (if any), durably
    /// before returning. [`StoreError::Full`] when the receipt's account holds its
    /// most waiting deliveries (nothing is recorded then).
    fn accept(&self, message: Message, receipt: Option<Delivery>) -> StoreFuture<'_, ()>;

    /// For a store that answers without waiting (memory): takes a message id and
    /// records a message with it that asks for no receipt, at once, and returns the
    /// id; `None` if this store cannot (then use
    /// [`next_message_id`](Self::next_message_id) and [`accept`](Self::accept)). The
    /// hot path of a simulator under load: no future, no task.
    fn accept_at_once(
        &self,
        account: &str,
        submitted_ms: u64,
        done_ms: u64,
        final_state: MessageState,
    ) -> Option<String> {
        let _ = (account, submitted_ms, done_ms, final_state);
        None
    }

    /// For a store that does its work on a thread of its own (SQLite): takes a
    /// message id and records a message with it that asks for no receipt, then
    /// calls `done` with the id once the message is as durable as
    /// [`accept`](Self::accept) makes it (or with the error), on that thread. Gives
    /// `done` back if this store cannot (then use
    /// [`next_message_id`](Self::next_message_id) and [`accept`](Self::accept)).
    /// `done` is called exactly once when this returns `Ok`. Spares a task and a
    /// wake-up per message on the hot path.
    fn accept_then(
        &self,
        account: &str,
        submitted_ms: u64,
        done_ms: u64,
        final_state: MessageState,
        done: Done,
    ) -> Result<(), Done> {
        let _ = (account, submitted_ms, done_ms, final_state);
        Err(done)
    }

    /// The message with this id, if the store still has it.
    fn message(&self, id: &str) -> StoreFuture<'_, Option<Message>>;

    /// Queues a delivery (an MO, say) for an account's receivers.
    fn enqueue(&self, delivery: Delivery) -> StoreFuture<'_, EntryId>;

    /// Claims up to `max` deliveries of `account` due by `now_ms` (oldest due first)
    /// for delivery now; see the module docs.
    fn claim(&self, account: &str, now_ms: u64, max: usize) -> StoreFuture<'_, Vec<Entry>>;

    /// Forgets a delivery: delivered, or refused for good.
    fn ack(&self, id: &EntryId) -> StoreFuture<'_, ()>;

    /// Hands a claimed delivery back, due again at `retry_ms`.
    fn release(&self, id: &EntryId, retry_ms: u64) -> StoreFuture<'_, ()>;

    /// Deliveries of `account` waiting or in flight.
    fn waiting(&self, account: &str) -> StoreFuture<'_, usize>;

    /// Every account with deliveries, and the earliest time one of them can be claimed
    /// (its `due_ms`, or for one in flight the end of its claim): for a node to know
    /// what to claim, and when.
    fn due(&self) -> StoreFuture<'_, Vec<(String, u64)>>;

    /// Whether other nodes share this store. A node on a shared store counts binds
    /// and rates in it ([`acquire_bind`](Self::acquire_bind),
    /// [`take_rate`](Self::take_rate)), so that the limits hold across the cluster.
    fn shared(&self) -> bool {
        false
    }

    /// Counts a bind of `account` held by `holder` (unique to a node and session),
    /// for the cluster-wide bind limit: `false` when `max` binds are held already. A
    /// bind counts until [`release_bind`](Self::release_bind) or until its lease
    /// runs out at `until_ms` unrenewed (its node died).
    fn acquire_bind(
        &self,
        account: &str,
        holder: &str,
        max: usize,
        now_ms: u64,
        until_ms: u64,
    ) -> StoreFuture<'_, bool>;

    /// Extends the leases of these binds (account, holder) to `until_ms`; a bind
    /// released meanwhile, or whose expired lease another bind took the place of,
    /// is not brought back.
    fn renew_binds(&self, binds: Vec<(String, String)>, until_ms: u64) -> StoreFuture<'_, ()>;

    /// Stops counting a bind.
    fn release_bind(&self, account: &str, holder: &str) -> StoreFuture<'_, ()>;

    /// The binds of `account` whose leases run at `now_ms`.
    fn binds(&self, account: &str, now_ms: u64) -> StoreFuture<'_, usize>;

    /// Files `link` under each of `keys` (the forms of an upstream's message id,
    /// namespaced by the caller, e.g. by connector) until `until_ms`. A key filed
    /// again points to the newer link. Durable as [`accept`](Self::accept) is.
    fn link_ids(&self, keys: Vec<String>, link: IdLink, now_ms: u64, until_ms: u64) -> StoreFuture<'_, ()>;

    /// The link filed under the first of `keys` (in their order) that has one
    /// unexpired at `now_ms`.
    fn find_link(&self, keys: Vec<String>, now_ms: u64) -> StoreFuture<'_, Option<IdLink>>;

    /// Takes one of the `per_second` submits `account` may make in the second that
    /// holds `now_ms`, across every node: `false` when none is left (answer
    /// `ESME_RTHROTTLED`).
    fn take_rate(&self, account: &str, per_second: u32, now_ms: u64) -> StoreFuture<'_, bool>;
}

/// A deliver_sm as octets, for backends that keep bytes.
pub fn encode_deliver(deliver: &DeliverSm) -> Vec<u8> {
    let mut out = BytesMut::new();
    Pdu::encode_parts(
        SequenceNumber::FIRST,
        smpp_wire::CommandStatus::ESME_ROK,
        &Body::DeliverSm(deliver.clone()),
        &mut out,
    );
    out.to_vec()
}

/// The deliver_sm [`encode_deliver`] made.
pub fn decode_deliver(octets: &[u8]) -> Result<DeliverSm, StoreError> {
    match Pdu::decode(bytes::Bytes::copy_from_slice(octets)) {
        Ok(Pdu { body: Body::DeliverSm(d), .. }) => Ok(d),
        Ok(other) => {
            Err(StoreError::Unavailable(format!("stored PDU is a {}, not a deliver_sm", other.body.command_id())))
        }
        Err(e) => Err(StoreError::Unavailable(format!("stored PDU does not decode: {e}"))),
    }
}
