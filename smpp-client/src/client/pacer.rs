//! Pacing requests: a fixed client-side rate limit, and a rate that adapts to the
//! SMSC's throttling answers.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// Spaces requests evenly: at most `per_second` a second.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    interval: Duration,
    next: Mutex<Instant>,
}

impl RateLimiter {
    pub(crate) fn new(per_second: f64) -> Self {
        Self { interval: Duration::from_secs_f64(1.0 / per_second), next: Mutex::new(Instant::now()) }
    }

    pub(crate) async fn acquire(&self) {
        let at = {
            let mut next = self.next.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let at = (*next).max(Instant::now());
            *next = at + self.interval;
            at
        };
        tokio::time::sleep_until(at).await;
    }
}

/// The limit is lifted after this long without a throttle answer.
const LIFT_AFTER: Duration = Duration::from_secs(30);
/// Throttle answers closer together than this count as one: a window full of
/// requests sent before the first answer must not cut the rate many times over.
const CUT_GAP: Duration = Duration::from_secs(1);
/// After a cut the rate doubles every this long, until the next throttle answer.
const DOUBLING: Duration = Duration::from_secs(1);
/// A cut sets the rate this much above what the SMSC accepted.
const PROBE: f64 = 1.05;
/// The shortest window a rate is measured over.
const MIN_WINDOW: Duration = Duration::from_millis(10);

/// A send rate that adapts to `ESME_RTHROTTLED` / `ESME_RMSGQFUL`.
///
/// Unlimited until the SMSC throttles. A throttle answer (at most one a second counts)
/// sets the rate to a little more (5 %) than what the SMSC accepted since the last one
/// (the first time, to what requests were going at), and from there it doubles every
/// second until the next throttle answer; the limit is lifted after 30 s without one.
/// Against an SMSC that throttles above a rate, it settles just above that rate;
/// against one that throttles a share of requests whatever the rate, it climbs slowly
/// rather than falling to the floor.
///
/// The unlimited case costs one relaxed atomic load per request.
#[derive(Debug)]
pub(crate) struct Pacer {
    min_rate: f64,
    limited: AtomicBool,
    /// Requests sent, counted by the connection's task (one writer).
    sent: Arc<super::Side>,
    /// Requests accepted while limited.
    accepted: AtomicU64,
    state: Mutex<PacerState>,
}

#[derive(Debug)]
struct PacerState {
    /// The rate set by the last cut, in requests per second.
    base: f64,
    cut_at: Instant,
    next: Instant,
    /// Where the current measurement started: a time, and the `sent` and `accepted`
    /// counts then.
    mark: (Instant, u64, u64),
}

impl PacerState {
    fn rate(&self, now: Instant) -> f64 {
        let doublings = now.saturating_duration_since(self.cut_at).as_secs_f64() / DOUBLING.as_secs_f64();
        self.base * 2f64.powf(doublings.min(60.0))
    }
}

impl Pacer {
    pub(crate) fn new(min_rate: f64, sent: Arc<super::Side>) -> Self {
        let now = Instant::now();
        Self {
            min_rate: min_rate.max(0.01),
            limited: AtomicBool::new(false),
            sent,
            accepted: AtomicU64::new(0),
            state: Mutex::new(PacerState { base: f64::INFINITY, cut_at: now, next: now, mark: (now, 0, 0) }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PacerState> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The current limit in requests per second, if any.
    pub(crate) fn rate(&self) -> Option<f64> {
        self.limited.load(Ordering::Relaxed).then(|| self.lock().rate(Instant::now()))
    }

    /// This request's turn: `None` to go at once (the rate is not limited), or when to
    /// go and the time now. Unlimited, it costs one relaxed atomic load.
    pub(crate) fn slot(&self) -> Option<(Instant, Instant)> {
        if !self.limited.load(Ordering::Relaxed) {
            return None;
        }
        let mut s = self.lock();
        let now = Instant::now();
        if now.saturating_duration_since(s.cut_at) >= LIFT_AFTER {
            self.limited.store(false, Ordering::Relaxed);
            return None;
        }
        let at = s.next.max(now);
        s.next = at + Duration::from_secs_f64(1.0 / s.rate(now));
        Some((at, now))
    }

    /// Waits for this request's turn.
    #[cfg(test)]
    pub(crate) async fn acquire(&self) {
        if let Some((at, _)) = self.slot() {
            tokio::time::sleep_until(at).await;
        }
    }

    /// The SMSC accepted a request (counted only while the rate is limited).
    pub(crate) fn on_success(&self) {
        if self.limited.load(Ordering::Relaxed) {
            self.accepted.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The SMSC answered a throttle status: slow down.
    pub(crate) fn on_throttle(&self) {
        let mut s = self.lock();
        let now = Instant::now();
        let limited = self.limited.load(Ordering::Relaxed);
        if limited && now.saturating_duration_since(s.cut_at) < CUT_GAP {
            return;
        }
        let (sent, accepted) = (self.sent.sent.load(Ordering::Relaxed), self.accepted.load(Ordering::Relaxed));
        let window = now.saturating_duration_since(s.mark.0).max(MIN_WINDOW).as_secs_f64();
        let accepted_rate = accepted.saturating_sub(s.mark.2) as f64 / window;
        s.base = if limited {
            // A little more than the SMSC took since the last cut (so a rate set too
            // low climbs back), never more than the rate now.
            (accepted_rate * PROBE).min(s.rate(now))
        } else {
            // The first time: what requests were going at.
            (sent.saturating_sub(s.mark.1) as f64 / window).max(accepted_rate)
        }
        .max(self.min_rate);
        s.cut_at = now;
        s.next = s.next.max(now);
        s.mark = (now, sent, accepted);
        self.limited.store(true, Ordering::Relaxed);
        tracing::debug!(rate = s.base, "throttled by the SMSC: slowing down");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pacer(min_rate: f64) -> Pacer {
        Pacer::new(min_rate, Arc::new(crate::client::Side::default()))
    }

    /// A request sent: the connection counts it.
    async fn send(p: &Pacer) {
        p.acquire().await;
        p.sent.sent.fetch_add(1, Ordering::Relaxed);
    }

    #[tokio::test(start_paused = true)]
    async fn a_throttle_sets_the_rate_which_then_doubles_each_second_and_is_lifted() {
        let p = pacer(1.0);
        // 100 requests over one second, all accepted: 100/s.
        for _ in 0..100 {
            send(&p).await;
            p.on_success();
            tokio::time::advance(Duration::from_millis(10)).await;
        }
        assert_eq!(p.rate(), None);
        p.on_throttle();
        let r = p.rate().unwrap();
        assert!((95.0..=105.0).contains(&r), "{r}");
        // A burst of answers from the same window counts once.
        p.on_throttle();
        assert_eq!(p.rate(), Some(r));
        // Requests are now spaced at that rate.
        let start = Instant::now();
        for _ in 0..10 {
            send(&p).await;
        }
        let spent = start.elapsed();
        assert!(spent >= Duration::from_secs_f64(8.0 / r) && spent < Duration::from_secs_f64(11.0 / r), "{spent:?}");
        // It doubles each second...
        tokio::time::advance(Duration::from_secs(1)).await;
        let doubled = p.rate().unwrap();
        assert!((doubled / r - 2.0).abs() < 0.3, "{doubled} from {r}");
        // ... until the next throttle answer sets it to what the SMSC accepted.
        for _ in 0..30 {
            p.on_success();
        }
        p.on_throttle();
        let r2 = p.rate().unwrap();
        assert!(r2 < doubled && r2 > 10.0, "{r2}");
        // And it is lifted after 30 s without a throttle answer.
        tokio::time::advance(LIFT_AFTER).await;
        p.acquire().await;
        assert_eq!(p.rate(), None);
    }

    /// Sends as fast as the pacer allows for 30 s against `throttles(rate)`; returns
    /// the rate it ended at and the requests accepted.
    async fn run(throttled: impl Fn(&mut u64, f64) -> bool) -> (f64, u32) {
        let p = pacer(1.0);
        let mut rng = 0x2545_F491_4F6C_DD1Du64;
        let start = Instant::now();
        let mut accepted = 0u32;
        while start.elapsed() < Duration::from_secs(30) {
            send(&p).await;
            if throttled(&mut rng, p.rate().unwrap_or(f64::INFINITY)) {
                p.on_throttle();
            } else {
                p.on_success();
                accepted += 1;
            }
            if p.rate().is_none() {
                tokio::time::advance(Duration::from_millis(1)).await;
            }
        }
        (p.rate().unwrap_or(f64::INFINITY), accepted)
    }

    #[tokio::test(start_paused = true)]
    async fn against_a_share_of_throttling_the_rate_holds() {
        // 30 % of answers are throttles, whatever the rate.
        let (rate, accepted) = run(|rng, _| {
            *rng ^= *rng << 13;
            *rng ^= *rng >> 7;
            *rng ^= *rng << 17;
            *rng % 10 < 3
        })
        .await;
        assert!(rate > 200.0, "settled at {rate}/s, {accepted} accepted");
        assert!(accepted > 5_000, "{accepted} accepted in 30 s");
    }

    #[tokio::test(start_paused = true)]
    async fn against_a_rate_limit_the_rate_settles_near_it() {
        // Throttled above 200/s.
        let (rate, accepted) = run(|_, rate| rate > 200.0).await;
        assert!(rate <= 400.0, "settled at {rate}/s");
        assert!(accepted > 3_000, "{accepted} accepted in 30 s");
    }

    #[tokio::test(start_paused = true)]
    async fn the_rate_never_falls_below_the_floor() {
        let p = pacer(2.0);
        for _ in 0..20 {
            p.on_throttle();
            tokio::time::advance(CUT_GAP).await;
        }
        assert!(p.rate().unwrap() >= 2.0);
    }
}
