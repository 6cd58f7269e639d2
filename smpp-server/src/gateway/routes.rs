//! Choosing the upstream connector for a customer's submit.

/// A connector a route sends to, and its share of the route's traffic.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Target {
    /// The connector's name.
    pub connector: String,
    /// Its weight (at least 1): with weights 3 and 1, three submits in four go to
    /// the first while both are up.
    pub weight: u32,
}

impl Target {
    /// `connector` with `weight`.
    pub fn new(connector: &str, weight: u32) -> Self {
        Self { connector: connector.to_owned(), weight }
    }
}

/// A route: the submits it takes (every condition given must hold) and the
/// connectors it spreads them over.
#[derive(Clone, Debug, Default, Eq, PartialEq)]
#[non_exhaustive]
pub struct Route {
    /// Only submits of this account (none: any account).
    pub account: Option<String>,
    /// Only destinations that begin with these digits (a leading `+` ignored on
    /// both; none: any destination).
    pub prefix: Option<String>,
    /// Where its submits go, by weight.
    pub targets: Vec<Target>,
}

impl Route {
    /// A route for every submit, over `targets`.
    pub fn to(targets: Vec<Target>) -> Self {
        Self { account: None, prefix: None, targets }
    }

    /// Only submits of `account`.
    #[must_use]
    pub fn account(mut self, account: &str) -> Self {
        self.account = Some(account.to_owned());
        self
    }

    /// Only destinations beginning with `prefix`.
    #[must_use]
    pub fn prefix(mut self, prefix: &str) -> Self {
        self.prefix = Some(prefix.trim_start_matches('+').to_owned());
        self
    }

    fn takes(&self, account: &str, destination: &str) -> bool {
        self.account.as_deref().is_none_or(|a| a == account)
            && self.prefix.as_deref().is_none_or(|p| destination.trim_start_matches('+').starts_with(p))
    }
}

/// Why a [`Router`] cannot be made.
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RouteError {
    /// A route (by its position; the fallback is `routes.len()`) has no connector.
    #[error("route {0} sends nowhere: it has no connector")]
    NoTargets(usize),
    /// A connector was given weight 0.
    #[error("route {route}: connector {connector} has weight 0 (weights start at 1)")]
    ZeroWeight {
        /// The route's position.
        route: usize,
        /// The connector.
        connector: String,
    },
}

/// Routes submits to connectors.
///
/// The order, as documented for `smpp serve --upstream`:
/// 1. The routes are tried in the order given, and the first that takes the
///    submit (its account, if it names one, is the customer's, and its prefix, if
///    it has one, begins the destination) is used: list specific routes (an account,
///    a long prefix) before general ones.
/// 2. Within a route, submits are spread over its connectors that are up by
///    smooth weighted round-robin (exact shares, interleaved).
/// 3. If none of its connectors is up, the next route that takes the submit is
///    tried, and after the last, the fallback.
///
/// ```
/// use smpp_server::gateway::{Route, Router, Target};
/// let mut router = Router::new(
///     vec![Route::to(vec![Target::new("uk", 1)]).prefix("44")],
///     vec![Target::new("world", 1)],
/// )
/// .unwrap();
/// assert_eq!(router.pick("shop", "447700900123", |_| true), Some("uk"));
/// assert_eq!(router.pick("shop", "33612345678", |_| true), Some("world"));
/// // A connector that is down is skipped.
/// assert_eq!(router.pick("shop", "447700900123", |c| c != "uk"), Some("world"));
/// ```
#[derive(Clone, Debug)]
pub struct Router {
    /// The routes, the fallback last (it takes every submit).
    routes: Vec<Route>,
    /// Smooth weighted round-robin state: each target's current weight.
    current: Vec<Vec<i64>>,
}

impl Router {
    /// A router over `routes`, then `fallback` (which may be empty: no fallback).
    pub fn new(routes: Vec<Route>, fallback: Vec<Target>) -> Result<Self, RouteError> {
        let mut all = routes;
        let fallback_given = !fallback.is_empty();
        if fallback_given {
            all.push(Route::to(fallback));
        }
        for (k, route) in all.iter().enumerate() {
            if route.targets.is_empty() {
                return Err(RouteError::NoTargets(k));
            }
            if let Some(t) = route.targets.iter().find(|t| t.weight == 0) {
                return Err(RouteError::ZeroWeight { route: k, connector: t.connector.clone() });
            }
        }
        let current = all.iter().map(|r| vec![0; r.targets.len()]).collect();
        Ok(Self { routes: all, current })
    }

    /// The connector for a submit of `account` to `destination`, among those `up`
    /// says are up; `None` if no route takes it or none of their connectors is up.
    pub fn pick(&mut self, account: &str, destination: &str, up: impl Fn(&str) -> bool) -> Option<&str> {
        for (route, current) in self.routes.iter().zip(self.current.iter_mut()) {
            if !route.takes(account, destination) {
                continue;
            }
            let live: Vec<usize> =
                (0..route.targets.len()).filter(|&k| route.targets.get(k).is_some_and(|t| up(&t.connector))).collect();
            let total: i64 = live.iter().filter_map(|&k| route.targets.get(k)).map(|t| i64::from(t.weight)).sum();
            let mut best: Option<usize> = None;
            for &k in &live {
                let (Some(t), Some(c)) = (route.targets.get(k), current.get_mut(k)) else { continue };
                *c += i64::from(t.weight);
                let c = *c;
                if best.is_none_or(|b| current.get(b).is_some_and(|cb| c > *cb)) {
                    best = Some(k);
                }
            }
            if let Some(b) = best {
                if let Some(c) = current.get_mut(b) {
                    *c -= total;
                }
                return route.targets.get(b).map(|t| t.connector.as_str());
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn picks(router: &mut Router, n: usize, account: &str, to: &str, up: &dyn Fn(&str) -> bool) -> Vec<String> {
        (0..n).map(|_| router.pick(account, to, up).unwrap_or("-").to_owned()).collect()
    }

    #[test]
    fn the_first_route_that_takes_a_submit_is_used() {
        let mut r = Router::new(
            vec![
                Route::to(vec![Target::new("vip", 1)]).account("bank").prefix("44"),
                Route::to(vec![Target::new("bank", 1)]).account("bank"),
                Route::to(vec![Target::new("uk", 1)]).prefix("+44"),
            ],
            vec![Target::new("world", 1)],
        )
        .unwrap();
        let all = |_: &str| true;
        assert_eq!(r.pick("bank", "+447700900123", all), Some("vip"));
        assert_eq!(r.pick("bank", "33612345678", all), Some("bank"));
        assert_eq!(r.pick("shop", "447700900123", all), Some("uk"));
        assert_eq!(r.pick("shop", "4", all), Some("world"), "a prefix must be whole");
    }

    #[test]
    fn weights_give_exact_interleaved_shares_over_the_connectors_up() {
        let mut r = Router::new(vec![Route::to(vec![Target::new("a", 3), Target::new("b", 1)])], vec![]).unwrap();
        let got = picks(&mut r, 8, "x", "1", &|_| true);
        assert_eq!(got, ["a", "a", "b", "a", "a", "a", "b", "a"], "3:1, b never twice in a row");
        let got = picks(&mut r, 400, "x", "1", &|_| true);
        assert_eq!(got.iter().filter(|c| *c == "a").count(), 300);
        // b down: all to a; back up: shares again.
        assert!(picks(&mut r, 10, "x", "1", &|c| c != "b").iter().all(|c| c == "a"));
        let got = picks(&mut r, 40, "x", "1", &|_| true);
        assert_eq!(got.iter().filter(|c| *c == "b").count(), 10);
    }

    #[test]
    fn a_route_with_nothing_up_fails_over_to_the_next_then_the_fallback_then_none() {
        let mut r = Router::new(
            vec![Route::to(vec![Target::new("a", 1)]).prefix("44"), Route::to(vec![Target::new("b", 1)]).prefix("4")],
            vec![Target::new("c", 1)],
        )
        .unwrap();
        assert_eq!(r.pick("x", "447", |c| c != "a"), Some("b"));
        assert_eq!(r.pick("x", "447", |c| c == "c"), Some("c"));
        assert_eq!(r.pick("x", "447", |_| false), None);
        let mut none = Router::new(vec![Route::to(vec![Target::new("a", 1)]).prefix("44")], vec![]).unwrap();
        assert_eq!(none.pick("x", "33", |_| true), None, "no route takes it and there is no fallback");
    }

    #[test]
    fn a_route_must_send_somewhere_with_weights_from_1() {
        assert_eq!(Router::new(vec![Route::to(vec![])], vec![]).unwrap_err(), RouteError::NoTargets(0));
        let err = Router::new(vec![], vec![Target::new("z", 0)]).unwrap_err();
        assert_eq!(err, RouteError::ZeroWeight { route: 0, connector: "z".into() });
        assert!(err.to_string().contains("weight 0"));
    }
}
