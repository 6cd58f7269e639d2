//! Test harness: a `Pair` of sessions (ESME and SMSC) wired together in memory, with
//! virtual time, configurable latency and chunking.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::{BindMode, BindRequest, Event, Session, SessionConfig};

/// The epoch of virtual time: the one real `Instant` the tests take.
#[allow(clippy::disallowed_methods)]
pub(crate) fn epoch() -> Instant {
    Instant::now()
}

pub(crate) fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// How bytes are cut on their way across.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Chunking {
    Whole,
    Bytewise,
    Seeded(u64),
}

pub(crate) struct Pair {
    pub(crate) esme: Session,
    pub(crate) smsc: Session,
    pub(crate) time: Instant,
    pub(crate) latency: Duration,
    pub(crate) chunking: Chunking,
    pub(crate) to_esme: VecDeque<(Instant, Bytes)>,
    pub(crate) to_smsc: VecDeque<(Instant, Bytes)>,
    pub(crate) mute_esme: bool,
    pub(crate) mute_smsc: bool,
    pub(crate) esme_events: Vec<Event>,
    pub(crate) smsc_events: Vec<Event>,
    /// SMSC side: accept binds automatically.
    pub(crate) auto_accept: bool,
    rng: u64,
    seeded: Option<u64>,
}

impl Pair {
    pub(crate) fn new(esme_config: SessionConfig, smsc_config: SessionConfig, mode: BindMode) -> Self {
        let time = epoch();
        let bind = BindRequest::new(mode, "user", "secret").unwrap();
        Self {
            esme: Session::esme(time, esme_config, bind).unwrap(),
            smsc: Session::smsc(time, smsc_config),
            time,
            latency: Duration::ZERO,
            chunking: Chunking::Whole,
            to_esme: VecDeque::new(),
            to_smsc: VecDeque::new(),
            mute_esme: false,
            mute_smsc: false,
            esme_events: Vec::new(),
            smsc_events: Vec::new(),
            auto_accept: true,
            rng: 0x1234_5678,
            seeded: None,
        }
    }

    /// A bound pair (transceiver), with events of the bind cleared.
    pub(crate) fn bound(config: SessionConfig) -> Self {
        let mut p = Self::new(config.clone(), config, BindMode::Transceiver);
        p.settle();
        assert!(matches!(p.esme.state(), crate::SessionState::Bound(_)), "{:?}", p.esme_events);
        p.esme_events.clear();
        p.smsc_events.clear();
        p
    }

    fn next_rand(&mut self) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }

    /// Moves output into the wires and events into the logs. Returns whether anything moved.
    fn collect(&mut self) -> bool {
        let mut moved = false;
        let at = self.time + self.latency;
        while let Some(t) = self.esme.poll_transmit() {
            moved = true;
            if !self.mute_esme {
                self.to_smsc.push_back((at, t.bytes));
            }
        }
        while let Some(t) = self.smsc.poll_transmit() {
            moved = true;
            if !self.mute_smsc {
                self.to_esme.push_back((at, t.bytes));
            }
        }
        while let Some(e) = self.esme.poll_event() {
            moved = true;
            self.esme_events.push(e);
        }
        while let Some(e) = self.smsc.poll_event() {
            moved = true;
            if self.auto_accept
                && let Event::BindRequest { seq, .. } = &e
            {
                self.smsc.accept_bind(self.time, *seq, "SMSC").unwrap();
            }
            self.smsc_events.push(e);
        }
        moved
    }

    fn deliver(&mut self, to_smsc: bool) -> bool {
        let queue = if to_smsc { &mut self.to_smsc } else { &mut self.to_esme };
        let Some(&(at, _)) = queue.front() else { return false };
        if at > self.time {
            return false;
        }
        let (_, bytes) = queue.pop_front().unwrap();
        let cuts: Vec<usize> = match self.chunking {
            Chunking::Whole => vec![bytes.len()],
            Chunking::Bytewise => (1..=bytes.len()).collect(),
            Chunking::Seeded(seed) => {
                if self.seeded != Some(seed) {
                    self.seeded = Some(seed);
                    self.rng = seed | 1;
                }
                let mut v = Vec::new();
                let mut k = 0;
                while k < bytes.len() {
                    k += 1 + (self.next_rand() % 7) as usize;
                    v.push(k.min(bytes.len()));
                }
                v
            }
        };
        let mut prev = 0;
        let session = if to_smsc { &mut self.smsc } else { &mut self.esme };
        for c in cuts {
            session.handle_input(self.time, &bytes[prev..c]);
            prev = c;
        }
        true
    }

    /// One step at the current time: deliver what is due and collect output.
    pub(crate) fn step(&mut self) -> bool {
        let mut moved = self.collect();
        moved |= self.deliver(true);
        moved |= self.deliver(false);
        moved |= self.collect();
        moved
    }

    /// The next time anything is due: a timer or a delivery.
    fn next_time(&mut self) -> Option<Instant> {
        [
            self.esme.poll_timeout(),
            self.smsc.poll_timeout(),
            self.to_smsc.front().map(|x| x.0),
            self.to_esme.front().map(|x| x.0),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Runs until both sessions are idle with no timer, jumping time from deadline to
    /// deadline. Bounded.
    pub(crate) fn drive_bounded(&mut self, max_jumps: usize) {
        for _ in 0..max_jumps {
            while self.step() {}
            let Some(t) = self.next_time() else { return };
            if t > self.time {
                self.time = t;
            }
            self.esme.handle_timeout(self.time);
            self.smsc.handle_timeout(self.time);
        }
    }

    /// Runs everything due now, without advancing time.
    pub(crate) fn settle(&mut self) {
        for _ in 0..10_000 {
            if !self.step() {
                return;
            }
        }
        panic!("pair did not settle");
    }

    /// Advances time by `d`, running timers and deliveries on the way.
    pub(crate) fn advance(&mut self, d: Duration) {
        let end = self.time + d;
        loop {
            self.settle();
            match self.next_time() {
                Some(t) if t <= end => {
                    if t > self.time {
                        self.time = t;
                    }
                    self.esme.handle_timeout(self.time);
                    self.smsc.handle_timeout(self.time);
                }
                _ => break,
            }
        }
        self.time = end;
        self.esme.handle_timeout(self.time);
        self.smsc.handle_timeout(self.time);
        self.settle();
    }
}
