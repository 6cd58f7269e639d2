//! `smpp serve --upstream`: the gateway, with its routes, store and summary log.

use std::collections::HashMap;
use std::process::ExitCode;
use std::time::Duration;

use smpp_server::gateway::{Gateway, GatewayConfig, GatewayHandle, GatewayStats, Policy, Route, Target, Upstream};

use crate::config::{Connection, GatewayFile, RouteEntry};
use crate::fail::Fail;
use crate::serve::ServeArgs;

pub(crate) async fn run(args: ServeArgs, connection: Connection) -> Result<ExitCode, Fail> {
    let mut config = GatewayConfig::default();
    let mut default = HashMap::new();
    default.insert("smppclient1".to_owned(), "password".to_owned());
    (config.accounts, config.limits) = crate::serve::accounts(&args, &connection, default)?;
    config.system_type = connection.system_type_given.clone();
    let file = &connection.gateway;
    for url in args.upstreams.iter().chain(&file.upstream) {
        config.upstreams.push(url.parse::<Upstream>().map_err(|e| Fail::BadInput(format!("--upstream: {e}")))?);
    }
    (config.routes, config.fallback) = routes(&args.routes, file, &config.upstreams)?;
    config.mo_routes = mo_routes(&args.mo_routes, file, &config.accounts)?;
    config.policy = match args.policy.as_deref().or(file.policy.as_deref()) {
        None | Some("store-and-forward") => Policy::StoreAndForward,
        Some("pass-through") => Policy::PassThrough,
        Some(other) => {
            return Err(Fail::BadInput(format!("--policy {other:?}: expected store-and-forward or pass-through")));
        }
    };
    config.waiting = args.max_waiting;
    // A send must end before its claim can be taken over by another node.
    config.forward_timeout = config.forward_timeout.min(Duration::from_millis(args.claim_timeout_ms / 2));
    config.store = crate::serve::open_store(&args).await?;
    crate::serve::serve_metrics(&args)?;
    let (server, acceptor) = crate::serve::listener(&args, &connection)?;
    let listen = server.listen;
    let names: Vec<String> = config.upstreams.iter().map(|u| u.name.clone()).collect();
    let handle = match acceptor {
        Some(acceptor) => Gateway::start_tls(server, config, acceptor).await,
        None => Gateway::start(server, config).await,
    }
    .map_err(|e| match e {
        smpp_server::gateway::GatewayError::Io(e) => Fail::Other(format!("cannot listen on {listen}: {e}")),
        other => Fail::BadInput(other.to_string()),
    })?;
    let scheme = if args.tls_cert.is_some() { " (TLS)" } else { "" };
    println!("SMPP gateway{scheme} to {} listening on {}", names.join(", "), handle.local_addr());
    if args.summary_secs > 0 {
        tokio::spawn(summaries(handle.clone(), Duration::from_secs(args.summary_secs)));
    }
    crate::serve::until_interrupted(|grace| async move { handle.shutdown(grace).await }).await
}

/// The routes of `--route` (then the file's); with none, every upstream that can
/// submit, by equal weight, as the fallback.
fn routes(flags: &[String], file: &GatewayFile, upstreams: &[Upstream]) -> Result<(Vec<Route>, Vec<Target>), Fail> {
    let mut routes = Vec::new();
    for rule in flags {
        routes.push(parse_route(rule).map_err(|e| Fail::BadInput(format!("--route {rule:?}: {e}")))?);
    }
    for entry in &file.route {
        routes.push(route_entry(entry).map_err(|e| Fail::BadInput(format!("[[route]] {entry:?}: {e}")))?);
    }
    let fallback = if routes.is_empty() {
        upstreams.iter().filter(|u| u.bind != "rx").map(|u| Target::new(&u.name, 1)).collect()
    } else {
        Vec::new()
    };
    Ok((routes, fallback))
}

/// `[ACCOUNT@][PREFIX]=NAME[*WEIGHT],...`
fn parse_route(rule: &str) -> Result<Route, String> {
    let (taken, targets) = rule.split_once('=').ok_or("expected [ACCOUNT@][PREFIX]=NAME[*WEIGHT],...")?;
    let (account, prefix) = match taken.split_once('@') {
        Some((a, p)) => (Some(a), p),
        None => (None, taken),
    };
    let to: Vec<String> = targets.split(',').map(|t| t.trim().to_owned()).collect();
    route_entry(&RouteEntry {
        account: account.filter(|a| !a.is_empty()).map(str::to_owned),
        prefix: Some(prefix.trim().to_owned()).filter(|p| !p.is_empty()),
        to,
    })
}

fn route_entry(entry: &RouteEntry) -> Result<Route, String> {
    let mut targets = Vec::new();
    for t in &entry.to {
        let (name, weight) = match t.split_once('*') {
            Some((n, w)) => (n, w.trim().parse::<u32>().map_err(|_| format!("{t:?}: the weight is not a number"))?),
            None => (t.as_str(), 1),
        };
        if name.trim().is_empty() {
            return Err("an upstream name is empty".into());
        }
        targets.push(Target::new(name.trim(), weight));
    }
    let mut route = Route::to(targets);
    if let Some(a) = &entry.account {
        route = route.account(a);
    }
    if let Some(p) = &entry.prefix {
        if !p.trim_start_matches('+').bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("prefix {p:?}: expected digits"));
        }
        route = route.prefix(p);
    }
    Ok(route)
}

/// `PREFIX=ACCOUNT` rules (then the file's); with none and one account, all MO to it.
fn mo_routes(
    flags: &[String],
    file: &GatewayFile,
    accounts: &HashMap<String, String>,
) -> Result<Vec<(String, String)>, Fail> {
    let mut out = Vec::new();
    for rule in flags {
        let (prefix, account) =
            rule.split_once('=').ok_or(Fail::BadInput(format!("--mo-route {rule:?}: expected PREFIX=ACCOUNT")))?;
        out.push((prefix.trim().to_owned(), account.trim().to_owned()));
    }
    out.extend(file.mo_route.iter().map(|r| (r.prefix.clone(), r.account.clone())));
    for (_, account) in &out {
        if !accounts.contains_key(account) {
            return Err(Fail::BadInput(format!("MO route to {account:?}, which is no account")));
        }
    }
    if out.is_empty()
        && accounts.len() == 1
        && let Some(only) = accounts.keys().next()
    {
        out.push((String::new(), only.clone()));
    }
    Ok(out)
}

/// Logs a summary line every `every` while anything happens.
async fn summaries(handle: GatewayHandle, every: Duration) {
    let mut last = GatewayStats::default();
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut since = tokio::time::Instant::now();
    let mut last_sessions = usize::MAX;
    loop {
        tick.tick().await;
        let secs = since.elapsed().as_secs_f64().max(1e-3);
        since = tokio::time::Instant::now();
        let now = handle.stats();
        let sessions = handle.server.connections();
        if now == last && sessions == last_sessions {
            continue;
        }
        let rate = |a: u64, b: u64| a.saturating_sub(b) as f64 / secs;
        tracing::info!(
            "sessions {sessions}, accepted {:.0}/s, forwarded {:.0}/s, receipts {:.0}/s, MO {:.0}/s; so far: refused {}, unknown (sent again) {}, expired {}, throttled {}, no route {}, receipts unmatched {}, MO unrouted {}",
            rate(now.accepted, last.accepted),
            rate(now.forwarded, last.forwarded),
            rate(now.receipts_delivered, last.receipts_delivered),
            rate(now.mo_delivered, last.mo_delivered),
            now.refused,
            now.unknown,
            now.expired,
            now.throttled,
            now.no_route,
            now.receipts_unmatched,
            now.mo_unrouted,
        );
        (last, last_sessions) = (now, sessions);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_route_rule_names_its_account_prefix_and_weighted_upstreams() {
        let r = parse_route("bank@+44=vip*3,uk").unwrap();
        assert_eq!((r.account.as_deref(), r.prefix.as_deref()), (Some("bank"), Some("44")));
        assert_eq!(r.targets, vec![Target::new("vip", 3), Target::new("uk", 1)]);
        let all = parse_route("=world").unwrap();
        assert_eq!((all.account, all.prefix), (None, None));
        assert!(parse_route("44").is_err());
        assert!(parse_route("44=uk*x").is_err());
        assert!(parse_route("4a=uk").is_err());
        assert!(parse_route("44=").is_err());
    }
}
