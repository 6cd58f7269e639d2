//! A small custom SMSC built on [`smpp_server::Server`]: accounts looked up in an
//! asynchronous store, each with its own limits and receipt delay; message ids from
//! [`MessageIds`]; delivery receipts made with [`DeliveryReceipt`] and pushed through
//! the [`ServerHandle`] a while after each submit. It prints what happens.
//!
//! Run it (it listens on 127.0.0.1:2775 unless given another address):
//!
//! ```sh
//! cargo run -p smpp-server --example custom_smsc                  # until Ctrl-C
//! cargo run -p smpp-server --example custom_smsc -- 127.0.0.1:2776 --once
//! ```
//!
//! With `--once` it stops (gracefully) once it has delivered one receipt. Talk to it
//! with the `smpp` command; the accounts are `acme`/`acme-pw` (receipts after 2 s, at
//! most 50 submits a second, 2 binds) and `globex`/`globex-pw`:
//!
//! ```sh
//! smpp send --host 127.0.0.1 --port 2775 --system-id acme --password acme-pw \
//!     --to 447700900123 --wait-dlr "Hello from acme"
//! ```
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, SystemTime};

use smpp_server::smpp_session::{CloseReason, Request};
use smpp_server::smpp_wire::text::{Decoded, decode_message};
use smpp_server::smpp_wire::{CommandStatus, InterfaceVersion, MessageState};
use smpp_server::{
    BindInfo, BoundSession, Defer, DeliveryReceipt, Grant, Limits, MessageIds, PushError, PushResult, Reply, Server,
    ServerConfig, ServerHandle, SmscHandler,
};
use tokio::sync::{Notify, RwLock};

/// An account as the store keeps it.
#[derive(Clone, Debug)]
struct AccountRow {
    password: String,
    /// The customer's name, for the log.
    customer: String,
    limits: Limits,
    /// How long after a submit its receipt goes out.
    receipt_delay: Duration,
}

/// The accounts, behind an asynchronous lookup, as a database would be.
#[derive(Debug)]
struct Store {
    rows: RwLock<HashMap<String, AccountRow>>,
}

impl Store {
    fn demo() -> Self {
        let row = |password: &str, customer: &str, limits, secs| AccountRow {
            password: password.into(),
            customer: customer.into(),
            limits,
            receipt_delay: Duration::from_secs(secs),
        };
        let rows = HashMap::from([
            ("acme".to_owned(), row("acme-pw", "ACME Corp", Limits::default().throttle(50).max_binds(2), 2)),
            ("globex".to_owned(), row("globex-pw", "Globex", Limits::default().window(20), 5)),
        ]);
        Self { rows: RwLock::new(rows) }
    }

    /// Looks an account up: a round trip to the database, simulated.
    async fn lookup(&self, system_id: &str) -> Option<AccountRow> {
        tokio::time::sleep(Duration::from_millis(20)).await;
        self.rows.read().await.get(system_id).cloned()
    }
}

/// What each bound session carries: the application's own account type.
#[derive(Debug)]
struct Customer {
    system_id: String,
    name: String,
    receipt_delay: Duration,
}

/// The SMSC: authentication against the store, submits accepted with our own ids,
/// receipts pushed later.
#[derive(Debug)]
struct Smsc {
    store: Store,
    ids: MessageIds,
    server: OnceLock<ServerHandle>,
    receipts: AtomicU64,
    /// Told when a receipt was delivered (for `--once`).
    delivered: Notify,
    /// Itself, for the receipt tasks it spawns.
    me: Weak<Self>,
}

impl SmscHandler for Smsc {
    type Account = Customer;

    async fn authenticate(&self, bind: &BindInfo) -> Result<Grant<Customer>, CommandStatus> {
        let system_id = bind.system_id();
        let Some(row) = self.store.lookup(&system_id).await else {
            println!("bind from {} as {system_id:?}: unknown account", bind.peer);
            return Err(CommandStatus::ESME_RINVSYSID);
        };
        if !bind.password_is(&row.password) {
            println!("bind from {} as {system_id:?}: wrong password", bind.peer);
            return Err(CommandStatus::ESME_RINVPASWD);
        }
        let customer = Customer { system_id, name: row.customer, receipt_delay: row.receipt_delay };
        Ok(Grant::new(customer).limits(row.limits))
    }

    fn on_bound(&self, session: &BoundSession<Customer>) {
        println!(
            "bound: {} ({}) from {} as {:?}, v{:x}, limits {:?}",
            session.system_id, session.account.name, session.peer, session.mode, session.version.0, session.limits
        );
        if let Some(server) = self.server.get() {
            for s in server.sessions() {
                println!(
                    "  session {} {} {:?} from {} ({} requests)",
                    s.info.id, s.info.system_id, s.info.mode, s.info.peer, s.requests
                );
            }
        }
    }

    fn on_request(&self, session: &BoundSession<Customer>, request: Request, _defer: Defer<'_>) -> Option<Reply> {
        let Request::SubmitSm(sm) = &request else {
            // This SMSC only takes submit_sm.
            return Some(Reply::error(&request, CommandStatus::ESME_RINVCMDID));
        };
        let id = self.ids.next_id();
        let text = match decode_message(sm.data_coding, sm.esm_class, sm.short_message.as_bytes()) {
            Decoded::Text(t) => t,
            _ => String::from("(binary)"),
        };
        println!("{}: submit_sm to {} {text:?} -> message_id {id}", session.account.name, sm.destination_addr.addr);
        let wants_receipt = matches!(sm.registered_delivery.0 & 0x03, 1 | 3);
        if wants_receipt
            && let Some(server) = self.server.get().cloned()
            && let Some(this) = self.me.upgrade()
        {
            let mut receipt = DeliveryReceipt::new(&id, sm.source_addr, sm.destination_addr, MessageState::DELIVERED);
            receipt.text = text;
            let (account, delay) = (session.account.system_id.clone(), session.account.receipt_delay);
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                receipt.done = SystemTime::now();
                match push_receipt(&server, &account, &receipt).await {
                    Ok((status, _)) => {
                        println!("receipt for {} to {account}: answered {status}", receipt.message_id);
                        this.receipts.fetch_add(1, Ordering::Relaxed);
                        this.delivered.notify_one();
                    }
                    Err(e) => println!("receipt for {} to {account}: not delivered ({e})", receipt.message_id),
                }
            });
        }
        Some(Reply::accepted(&request, &id))
    }

    fn on_closed(&self, session: &BoundSession<Customer>, reason: CloseReason) {
        println!("closed: {} from {} ({reason})", session.system_id, session.peer);
    }
}

/// Pushes a receipt to a receiver of `account`: with its TLVs to a v3.4 session,
/// without them to a v3.3 one.
async fn push_receipt(server: &ServerHandle, account: &str, receipt: &DeliveryReceipt) -> PushResult {
    let v34 = Request::DeliverSm(receipt.to_deliver_sm(InterfaceVersion::V34));
    match server.push_where(account, v34, |s| s.tlvs_allowed()).await {
        Err(PushError::NoReceiver(_)) => {}
        other => return other,
    }
    let v33 = Request::DeliverSm(receipt.to_deliver_sm(InterfaceVersion::V33));
    server.push_where(account, v33, |s| !s.tlvs_allowed()).await
}

#[tokio::main]
async fn main() {
    let mut listen: SocketAddr = "127.0.0.1:2775".parse().expect("a valid default address");
    let mut once = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--once" => once = true,
            other => match other.parse() {
                Ok(addr) => listen = addr,
                Err(_) => {
                    eprintln!("usage: custom_smsc [ADDRESS] [--once]");
                    std::process::exit(2);
                }
            },
        }
    }

    let smsc = Arc::new_cyclic(|me| Smsc {
        store: Store::demo(),
        ids: MessageIds::new(),
        server: OnceLock::new(),
        receipts: AtomicU64::new(0),
        delivered: Notify::new(),
        me: me.clone(),
    });
    let config = ServerConfig::new(listen).system_id("CustomSMSC");
    let server = Server::new(config, smsc.clone());
    let _ = smsc.server.set(server.handle());
    let addr = match server.listen(listen).await {
        Ok(addr) => addr,
        Err(e) => {
            eprintln!("cannot listen on {listen}: {e}");
            std::process::exit(1);
        }
    };
    println!("custom SMSC listening on {addr}; accounts acme/acme-pw and globex/globex-pw");

    if once {
        smsc.delivered.notified().await;
        let cut = server.handle().shutdown(Duration::from_secs(5)).await;
        println!("one receipt delivered: shut down ({cut} sessions cut off)");
    } else {
        std::future::pending::<()>().await;
    }
}
