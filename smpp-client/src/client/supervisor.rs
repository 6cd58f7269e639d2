//! The supervisor owns a bind's command queue across connections: it connects,
//! binds, drives, and (when configured) reconnects with back-off. Requests that did
//! not go out on one connection are carried to the next.

use std::collections::VecDeque;
use std::hash::BuildHasher;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use smpp_session::{BindRequest, CloseReason, Session};
use smpp_wire::CommandStatus;
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

use super::handler::{ClientHandler, Command, Ending, Held, Outcome};
use super::{Connector, LinkState, Shared, Side};
use crate::config::ClientConfig;
use crate::error::ClientError;
use smpp_tokio::{drive_with, now};

/// Bind refusals that another attempt cannot mend: the account or its credentials
/// are wrong. Anything else (`ESME_RBINDFAIL` for too many binds, a busy SMSC) may
/// pass, so reconnection tries again.
pub(crate) fn permanent_bind_refusal(status: CommandStatus) -> bool {
    matches!(status, CommandStatus::ESME_RINVPASWD | CommandStatus::ESME_RINVSYSID | CommandStatus::ESME_RINVSYSTYP)
}

pub(crate) struct Supervisor {
    pub(crate) config: ClientConfig,
    pub(crate) bind: BindRequest,
    pub(crate) connector: Connector,
    pub(crate) commands: mpsc::Receiver<Command>,
    pub(crate) weak_commands: mpsc::WeakSender<Command>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) side: Arc<Side>,
    pub(crate) link: super::LinkTx,
    /// Requests that did not go out on the last connection.
    pub(crate) carry: VecDeque<Held>,
}

type Notify = Option<oneshot::Sender<Result<(), ClientError>>>;

impl Supervisor {
    pub(crate) async fn run(mut self, first: oneshot::Sender<Result<(), ClientError>>) {
        self.shared.reassembler.running.fetch_add(1, Ordering::SeqCst);
        let mut notify: Notify = Some(first);
        let reconnect = self.config.reconnect.clone();
        let initial = reconnect.as_ref().map_or(Duration::ZERO, |r| r.initial);
        let mut delay = initial;
        let mut attempt: u64 = 0;
        let mut last_reason = CloseReason::Local;
        // Keys drawn at random for this client, so that clients that lost the same
        // SMSC do not come back at the same instants.
        let jitter_seed = std::collections::hash_map::RandomState::new();
        loop {
            attempt += 1;
            let ending = self.connect_once(&mut notify).await;
            if let Some(r) = ending.reason {
                last_reason = r;
            }
            if self.side.stop.load(Ordering::SeqCst) {
                break;
            }
            if let Some(status) = ending.refused.filter(|s| permanent_bind_refusal(*s)) {
                tracing::warn!(%status, "bind refused for good: not reconnecting");
                let _ = self.link.send(LinkState::Refused(status));
                if let Some(n) = notify.take() {
                    let _ = n.send(Err(ending.first_error.unwrap_or(ClientError::BindRefused(status))));
                }
                for h in self.carry.drain(..) {
                    let _ = h.reply.send(Outcome::BindRefused(status));
                }
                break;
            }
            let reconnect = match &reconnect {
                Some(r) if !ending.fatal => r,
                _ => {
                    if let Some(n) = notify.take() {
                        let _ = n.send(Err(ending.first_error.unwrap_or(ClientError::DriverGone)));
                    }
                    break;
                }
            };
            if ending.bound {
                delay = initial;
            }
            // Requests carried over wait for a link at most `down_wait`.
            let t = now();
            let mut kept = VecDeque::with_capacity(self.carry.len());
            for h in self.carry.drain(..) {
                if t.saturating_duration_since(h.since) >= reconnect.down_wait {
                    let _ = h.reply.send(Outcome::NotConnected(reconnect.down_wait));
                } else {
                    kept.push_back(h);
                }
            }
            self.carry = kept;
            // Exponential back-off, up to 25 % shorter at random: never past `max`.
            let jitter = delay.mul_f64((jitter_seed.hash_one(attempt) % 1000) as f64 / 4000.0);
            let wait = delay.saturating_sub(jitter);
            match &ending.first_error {
                Some(e) if !ending.bound => tracing::info!(%e, ?delay, "not bound; trying again"),
                _ => tracing::info!(?delay, "link down; reconnecting"),
            }
            let _ = self.link.send(LinkState::Reconnecting { attempt, after: wait });
            self.shared.counters.reconnects.fetch_add(1, Ordering::Relaxed);
            metrics::counter!("smpp_reconnects_total", "role" => "esme").increment(1);
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = self.side.wake.notified() => {}
            }
            delay = (delay * 2).min(reconnect.max);
            if self.side.stop.load(Ordering::SeqCst) {
                break;
            }
        }
        if let Some(n) = notify.take() {
            let _ = n.send(Err(ClientError::Closed(last_reason)));
        }
        self.finish(last_reason);
    }

    /// Fails whatever is still queued or carried and marks the client closed for good.
    fn finish(&mut self, reason: CloseReason) {
        self.commands.close();
        for h in self.carry.drain(..) {
            let _ = h.reply.send(Outcome::NotSent(reason));
        }
        while let Ok(command) = self.commands.try_recv() {
            match command {
                Command::Request { reply, .. } => {
                    let _ = reply.send(Outcome::NotSent(reason));
                }
                Command::Unbind { reply } => {
                    let _ = reply.send(());
                }
                _ => {}
            }
        }
        self.side.live.store(0, Ordering::Release);
        // The last bind to stop hands over the parts of long messages still held: they
        // were acknowledged, and nobody is left to complete them.
        if self.shared.reassembler.running.fetch_sub(1, Ordering::SeqCst) == 1 {
            let held = self.shared.reassembler.lock().drain();
            super::handler::hand_on_expired(&self.shared, held);
        }
        if !matches!(*self.link.borrow(), LinkState::Refused(_)) {
            let _ = self.link.send(LinkState::Closed);
        }
    }

    /// One connection: open, bind, drive until it ends. `notify` (until the first
    /// bind) learns that it bound as soon as it does; a failure is left in the
    /// returned [`Ending`] for [`run`](Self::run) to report or retry.
    async fn connect_once(&mut self, notify: &mut Notify) -> Ending {
        let _ = self.link.send(LinkState::Connecting);
        let stream = match (self.connector)().await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(%e, "connect failed");
                let _ = self.link.send(LinkState::Down(CloseReason::IoError));
                return Ending { first_error: Some(e), reason: Some(CloseReason::IoError), ..Ending::default() };
            }
        };
        let session =
            match Session::esme(now(), self.config.session.clone(), self.bind.clone()).map(|s| s.with_tokens()) {
                // A new session has no request outstanding: it always takes a token type.
                Ok(Ok(s)) => s,
                Ok(Err(_)) => {
                    return Ending {
                        first_error: Some(ClientError::Config("a new session had requests outstanding".into())),
                        fatal: true,
                        ..Ending::default()
                    };
                }
                Err(e) => {
                    return Ending {
                        first_error: Some(ClientError::Config(e.to_string())),
                        fatal: true,
                        ..Ending::default()
                    };
                }
            };
        let conn = super::next_connection_id();
        let mut handler = ClientHandler {
            conn,
            shared: self.shared.clone(),
            side: self.side.clone(),
            held: std::mem::take(&mut self.carry),
            commands: self.weak_commands.clone(),
            auto_ack: self.config.auto_ack,
            notify: notify.take(),
            bind_timeout: self.config.bind_timeout,
            unbind_waiters: Vec::new(),
            link: self.link.clone(),
            stopping: false,
            ending: Ending::default(),
        };
        let io = drive_with(stream, session, &mut handler, &mut self.commands, self.config.driver)
            .instrument(tracing::debug_span!("connection", conn))
            .await;
        if let Err(e) = &io {
            tracing::info!(%e, "connection error");
        }
        *notify = handler.notify.take();
        let mut ending = std::mem::take(&mut handler.ending);
        let reason = ending.reason.unwrap_or(CloseReason::IoError);
        if notify.is_some() && ending.first_error.is_none() {
            ending.first_error = Some(io.err().map_or(ClientError::DriverGone, ClientError::Io));
        }
        // Requests still in flight were failed through the session's events; a
        // session dropped without closing drops their waiters, which report the
        // outcome unknown.
        handler.fail_pending();
        if handler.stopping {
            for h in handler.held.drain(..) {
                let _ = h.reply.send(Outcome::NotSent(reason));
            }
        } else {
            self.carry = std::mem::take(&mut handler.held);
        }
        self.side.live.store(0, Ordering::Release);
        if !matches!(*self.link.borrow(), LinkState::Down(_)) {
            let _ = self.link.send(LinkState::Down(reason));
        }
        ending
    }
}
