//! [`ServerHandle`]: push messages to ESMEs, see and kick sessions, shut down.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use smpp_session::{CloseReason, Request};
use smpp_wire::{Body, CommandStatus};
use tokio::sync::oneshot;

use crate::connection::SessionCommand;
use crate::handler::SessionInfo;
use crate::registry::{Registry, SessionSummary};

/// Why a push to an ESME failed.
#[non_exhaustive]
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
pub enum PushError {
    /// No session of the account is bound as receiver or transceiver.
    #[error("no receiver bound for account {0}")]
    NoReceiver(String),
    /// The session's queue of pushes waiting for window room is full.
    #[error("push queue full")]
    QueueFull,
    /// The session refused it locally (a TLV to a v3.3 ESME, ...).
    #[error("refused: {0}")]
    Refused(smpp_session::SendError),
    /// The ESME did not answer in time.
    #[error("no response")]
    Timeout,
    /// The session ended first.
    #[error("session closed: {0}")]
    Closed(CloseReason),
}

/// The outcome of a push: the ESME's status and response body.
pub type PushResult = Result<(CommandStatus, Body), PushError>;

/// A handle to a running server: push messages, list and kick sessions, shut down.
/// Cheap to clone.
#[derive(Clone, Debug)]
pub struct ServerHandle {
    pub(crate) registry: Arc<Registry>,
}

impl ServerHandle {
    /// The address the server's first listener bound (`0.0.0.0:0` if it has none:
    /// a server fed only through [`Server::serve`](crate::Server::serve)).
    pub fn local_addr(&self) -> SocketAddr {
        self.registry.local_addr.get().copied().unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    /// Open connections.
    pub fn connections(&self) -> usize {
        self.registry.connections.load(Ordering::SeqCst)
    }

    /// What every connection of this server did so far: PDUs by command each way,
    /// responses by status, pushes awaiting their answer, and sessions bound now.
    /// (The same figures go to the `metrics` facade: see [`smpp_tokio::metrics`].)
    pub fn stats(&self) -> smpp_tokio::metrics::LinkSnapshot {
        self.registry.stats.snapshot()
    }

    /// Bound sessions of `system_id`.
    pub fn binds(&self, system_id: &str) -> usize {
        self.registry.accounts().get(system_id).map_or(0, |a| a.sessions.len())
    }

    /// Every bound session: system_id, bind mode, version, peer address, when it
    /// bound, and its counters.
    pub fn sessions(&self) -> Vec<SessionSummary> {
        self.registry.summaries(None)
    }

    /// The bound sessions of `system_id`.
    pub fn account_sessions(&self, system_id: &str) -> Vec<SessionSummary> {
        self.registry.summaries(Some(system_id))
    }

    /// Asks one connection to unbind (a bound session sends unbind and closes on the
    /// answer or after the unbind grace; one not bound yet closes). Returns whether
    /// the connection exists and is asked (asking twice is asking once).
    pub fn unbind_session(&self, id: u64) -> bool {
        self.registry.all().get(&id).is_some_and(crate::registry::Live::unbind)
    }

    /// Drops one session's connection at once. Returns whether the session existed.
    pub fn drop_session(&self, id: u64) -> bool {
        let abort = self.registry.all().get(&id).map(|l| l.abort.clone());
        abort.map(|a| a.abort()).is_some()
    }

    /// Asks every session of `system_id` to unbind; returns how many were asked.
    pub fn unbind_account(&self, system_id: &str) -> usize {
        self.account_ids(system_id).into_iter().filter(|id| self.unbind_session(*id)).count()
    }

    /// Drops every session of `system_id` at once; returns how many.
    pub fn drop_account(&self, system_id: &str) -> usize {
        self.account_ids(system_id).into_iter().filter(|id| self.drop_session(*id)).count()
    }

    fn account_ids(&self, system_id: &str) -> Vec<u64> {
        self.registry
            .accounts()
            .get(system_id)
            .map(|a| a.sessions.iter().map(|e| e.info.id).collect())
            .unwrap_or_default()
    }

    /// Pushes a deliver_sm or data_sm to a session of `system_id` bound as receiver or
    /// transceiver (in turn, when there are several); returns the ESME's answer.
    pub async fn push(&self, system_id: &str, request: Request) -> PushResult {
        self.push_where(system_id, request, |_| true).await
    }

    /// Like [`push`](Self::push), to a session chosen by `filter` (for example the
    /// one a receipt's message was submitted on, or one that allows TLVs).
    pub async fn push_where(
        &self,
        system_id: &str,
        request: Request,
        filter: impl Fn(&SessionInfo) -> bool,
    ) -> PushResult {
        let target = {
            let accounts = self.registry.accounts();
            let candidates: Vec<_> = accounts
                .get(system_id)
                .map(|a| a.sessions.iter().filter(|e| e.info.mode.smsc_sends() && filter(&e.info)).collect())
                .unwrap_or_default();
            if candidates.is_empty() {
                return Err(PushError::NoReceiver(system_id.into()));
            }
            let k = self.registry.round_robin.fetch_add(1, Ordering::Relaxed) % candidates.len();
            candidates.get(k).map(|e| (e.commands.clone(), e.pushes.clone()))
        };
        let Some((commands, pushes)) = target else { return Err(PushError::NoReceiver(system_id.into())) };
        let permit = pushes.acquire_owned().await.map_err(|_| PushError::Closed(CloseReason::Local))?;
        let (tx, rx) = oneshot::channel();
        commands
            .send(SessionCommand::Push(Box::new((request, permit)), tx))
            .await
            .map_err(|_| PushError::Closed(CloseReason::Local))?;
        rx.await.unwrap_or(Err(PushError::Closed(CloseReason::Local)))
    }

    /// Whether [`shutdown`](Self::shutdown) was called.
    pub fn is_shutting_down(&self) -> bool {
        *self.registry.stop.borrow()
    }

    /// Graceful shutdown: stop accepting, unbind every session, and wait up to `grace`
    /// for them to close. Sessions still open then (a peer that stopped reading, say)
    /// are cut off, so this returns within `grace`. Returns how many had to be cut.
    pub async fn shutdown(&self, grace: Duration) -> usize {
        self.registry.stop.send_replace(true);
        for live in self.registry.all().values() {
            // A session whose queue is full is cut off when the grace period ends.
            live.unbind();
        }
        let wait = async {
            while self.connections() > 0 {
                let notified = self.registry.drained.notified();
                if self.connections() == 0 {
                    break;
                }
                notified.await;
            }
        };
        if tokio::time::timeout(grace, wait).await.is_ok() {
            return 0;
        }
        let stuck: Vec<_> = self.registry.all().values().map(|l| l.abort.clone()).collect();
        tracing::warn!(sessions = stuck.len(), "shutdown: cutting off sessions that did not close in time");
        for abort in &stuck {
            abort.abort();
        }
        stuck.len()
    }
}
