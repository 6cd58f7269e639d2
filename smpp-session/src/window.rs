//! The outstanding requests: sequence number allocation, the window, and response
//! deadlines.
//!
//! Requests live in a ring indexed by `seq & mask`, kept at least twice as large as the
//! number outstanding, so lookups cost no hashing. It starts small and doubles as
//! requests pile up, so an idle session costs little whatever its window. Allocation
//! skips a number whose slot is taken, so a new request never shares a number with one
//! still in flight, even after wrapping.

use std::collections::VecDeque;
use std::time::Instant;

use smpp_wire::{CommandId, SequenceNumber};

/// One request of ours awaiting its response.
#[derive(Debug)]
pub(crate) struct Pending<T> {
    pub(crate) seq: SequenceNumber,
    pub(crate) command_id: CommandId,
    pub(crate) deadline: Option<Instant>,
    /// When it was queued.
    pub(crate) sent: Instant,
    /// The application's token: `Some` for the application's requests, which count
    /// toward the window; `None` for the session's own PDUs (bind, enquire_link,
    /// unbind), which do not.
    pub(crate) token: Option<T>,
}

impl<T> Pending<T> {
    /// Whether it counts toward the application's window.
    pub(crate) fn counted(&self) -> bool {
        self.token.is_some()
    }
}

/// How many recently timed-out numbers are remembered to recognise late responses.
const LATE_MEMORY: usize = 256;

#[derive(Debug)]
pub(crate) struct Window<T> {
    slots: Vec<Option<Pending<T>>>,
    mask: usize,
    capacity: usize,
    in_flight: usize,
    /// Occupied slots (counted requests and the session's own).
    occupied: usize,
    next: SequenceNumber,
    deadlines: VecDeque<(Instant, SequenceNumber)>,
    timed_out: VecDeque<SequenceNumber>,
}

fn empty_slots<T>(n: usize) -> Vec<Option<Pending<T>>> {
    std::iter::repeat_with(|| None).take(n).collect()
}

impl<T> Window<T> {
    pub(crate) fn new(capacity: usize) -> Self {
        const INITIAL: usize = 16;
        Self {
            slots: empty_slots(INITIAL),
            mask: INITIAL - 1,
            capacity,
            in_flight: 0,
            occupied: 0,
            next: SequenceNumber::FIRST,
            deadlines: VecDeque::new(),
            timed_out: VecDeque::new(),
        }
    }

    fn slot(&self, seq: SequenceNumber) -> usize {
        // Masking keeps the index inside the ring.
        seq.value() as usize & self.mask
    }

    /// Application requests in flight.
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Changes how many application requests may be outstanding.
    pub(crate) fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity.max(1);
    }

    /// How many application requests may be outstanding.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Room left in the window.
    pub(crate) fn room(&self) -> usize {
        self.capacity.saturating_sub(self.in_flight)
    }

    pub(crate) fn is_full(&self) -> bool {
        self.in_flight >= self.capacity
    }

    /// Allocates a number whose slot is free and records the request under it.
    ///
    /// A free slot always exists: at most `capacity` counted and a handful of session
    /// requests are outstanding, and the ring has more than twice that many slots.
    pub(crate) fn insert(
        &mut self,
        command_id: CommandId,
        sent: Instant,
        deadline: Option<Instant>,
        token: Option<T>,
    ) -> SequenceNumber {
        self.make_room();
        let seq = self.allocate();
        self.store(seq, command_id, sent, deadline, token);
        seq
    }

    /// Grows the ring if one more request would fill more than half of it; call before
    /// [`allocate`](Self::allocate) for a request that will be [`store`](Self::store)d.
    pub(crate) fn make_room(&mut self) {
        if (self.occupied + 1) * 2 > self.slots.len() {
            self.grow();
        }
    }

    /// Records a request under `seq`, a number [`allocate`](Self::allocate) gave
    /// after [`make_room`](Self::make_room).
    pub(crate) fn store(
        &mut self,
        seq: SequenceNumber,
        command_id: CommandId,
        sent: Instant,
        deadline: Option<Instant>,
        token: Option<T>,
    ) {
        let k = self.slot(seq);
        let counted = token.is_some();
        if let Some(slot) = self.slots.get_mut(k) {
            *slot = Some(Pending { seq, command_id, deadline, sent, token });
        }
        self.occupied += 1;
        if counted {
            self.in_flight += 1;
        }
        if let Some(d) = deadline {
            self.deadlines.push_back((d, seq));
        }
    }

    /// Doubles the ring, re-placing every outstanding request.
    fn grow(&mut self) {
        let size = self.slots.len() * 2;
        let old = std::mem::replace(&mut self.slots, empty_slots(size));
        self.mask = size - 1;
        for p in old.into_iter().flatten() {
            let k = self.slot(p.seq);
            if let Some(slot) = self.slots.get_mut(k) {
                *slot = Some(p);
            }
        }
    }

    /// A number whose slot is free, for a request that expects no response (nothing
    /// is recorded).
    pub(crate) fn allocate(&mut self) -> SequenceNumber {
        let mut seq = self.next;
        for _ in 0..self.slots.len() {
            if self.slots.get(self.slot(seq)).is_some_and(Option::is_none) {
                break;
            }
            seq = seq.next();
        }
        self.next = seq.next();
        seq
    }

    /// Puts back a request taken by mistake (its deadline entry is still queued).
    pub(crate) fn restore(&mut self, p: Pending<T>) {
        let k = self.slot(p.seq);
        if let Some(slot) = self.slots.get_mut(k) {
            self.occupied += 1;
            if p.counted() {
                self.in_flight += 1;
            }
            *slot = Some(p);
        }
    }

    /// Puts back a request taken by [`pop_expired`](Self::pop_expired) with a new
    /// deadline, which must not be earlier than any queued.
    pub(crate) fn defer(&mut self, mut p: Pending<T>, deadline: Instant) {
        p.deadline = Some(deadline);
        let seq = p.seq;
        self.restore(p);
        self.deadlines.push_back((deadline, seq));
        self.timed_out.retain(|s| *s != seq);
    }

    /// Removes and returns the request with this number, if one is outstanding.
    pub(crate) fn take(&mut self, seq: SequenceNumber) -> Option<Pending<T>> {
        let k = self.slot(seq);
        let slot = self.slots.get_mut(k)?;
        if slot.as_ref().is_some_and(|p| p.seq == seq) {
            let p = slot.take()?;
            self.occupied -= 1;
            if p.counted() {
                self.in_flight -= 1;
            }
            return Some(p);
        }
        None
    }

    /// The earliest response deadline still pending.
    pub(crate) fn next_deadline(&mut self) -> Option<Instant> {
        // Drop entries whose request already completed, so the front is live.
        while let Some(&(d, seq)) = self.deadlines.front() {
            let live = self
                .slots
                .get(self.slot(seq))
                .and_then(Option::as_ref)
                .is_some_and(|p| p.seq == seq && p.deadline == Some(d));
            if live {
                return Some(d);
            }
            self.deadlines.pop_front();
        }
        None
    }

    /// Removes and returns one request whose deadline is at or before `now`.
    pub(crate) fn pop_expired(&mut self, now: Instant) -> Option<Pending<T>> {
        let d = self.next_deadline()?;
        if d > now {
            return None;
        }
        let (_, seq) = self.deadlines.pop_front()?;
        let p = self.take(seq)?;
        if self.timed_out.len() == LATE_MEMORY {
            self.timed_out.pop_front();
        }
        self.timed_out.push_back(seq);
        Some(p)
    }

    /// Whether a request with this number timed out recently.
    pub(crate) fn timed_out_recently(&self, seq: SequenceNumber) -> bool {
        self.timed_out.contains(&seq)
    }

    /// The same window for another token type. Call only while none of the
    /// application's requests is outstanding (the session's own carry no token).
    pub(crate) fn retype<U>(self) -> Window<U> {
        debug_assert_eq!(self.in_flight, 0);
        let slots = self
            .slots
            .into_iter()
            .map(|p| {
                p.map(|p| Pending {
                    seq: p.seq,
                    command_id: p.command_id,
                    deadline: p.deadline,
                    sent: p.sent,
                    token: None,
                })
            })
            .collect();
        Window {
            slots,
            mask: self.mask,
            capacity: self.capacity,
            in_flight: 0,
            occupied: self.occupied,
            next: self.next,
            deadlines: self.deadlines,
            timed_out: self.timed_out,
        }
    }

    /// Removes every outstanding request.
    pub(crate) fn drain(&mut self) -> Vec<Pending<T>> {
        self.deadlines.clear();
        self.in_flight = 0;
        self.occupied = 0;
        let mut out: Vec<Pending<T>> = self.slots.iter_mut().filter_map(Option::take).collect();
        out.sort_by_key(|p| p.seq);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn numbers_skip_slots_still_in_flight_across_the_wrap() {
        let mut w = Window::<()>::new(4);
        let ring = w.slots.len() as u32;
        let stuck = w.insert(CommandId::SUBMIT_SM, crate::tests::util::epoch(), None, Some(()));
        assert_eq!(stuck.value(), 1);
        // Complete many requests so the numbers come round to the stuck slot again.
        for _ in 0..ring * 3 {
            let s = w.insert(CommandId::SUBMIT_SM, crate::tests::util::epoch(), None, Some(()));
            assert_ne!(s.value() as usize & w.mask, 1, "slot of the stuck request reused");
            assert!(w.take(s).is_some());
        }
        assert!(w.take(stuck).is_some());
        // And across 0x7FFFFFFF -> 1.
        w.next = SequenceNumber::new(SequenceNumber::MAX);
        let a = w.insert(CommandId::SUBMIT_SM, crate::tests::util::epoch(), None, Some(()));
        let b = w.insert(CommandId::SUBMIT_SM, crate::tests::util::epoch(), None, Some(()));
        assert_eq!((a.value(), b.value()), (SequenceNumber::MAX, 1));
    }

    #[test]
    fn the_ring_grows_with_what_is_outstanding_and_keeps_every_request() {
        let mut w = Window::<()>::new(1000);
        assert_eq!(w.slots.len(), 16, "small while idle");
        let seqs: Vec<_> =
            (0..600).map(|_| w.insert(CommandId::SUBMIT_SM, crate::tests::util::epoch(), None, Some(()))).collect();
        assert!(w.slots.len() >= 1200);
        let mut unique = seqs.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 600);
        for s in seqs {
            assert_eq!(w.take(s).map(|p| p.seq), Some(s));
        }
        assert_eq!(w.in_flight(), 0);
    }

    #[test]
    fn deadlines_expire_in_order_and_completed_ones_are_skipped() {
        let t0 = crate::tests::util::epoch();
        let mut w = Window::<()>::new(4);
        let a =
            w.insert(CommandId::SUBMIT_SM, crate::tests::util::epoch(), Some(t0 + Duration::from_secs(1)), Some(()));
        let b =
            w.insert(CommandId::SUBMIT_SM, crate::tests::util::epoch(), Some(t0 + Duration::from_secs(2)), Some(()));
        assert!(w.take(a).is_some());
        assert_eq!(w.next_deadline(), Some(t0 + Duration::from_secs(2)));
        assert!(w.pop_expired(t0 + Duration::from_secs(1)).is_none());
        assert_eq!(w.pop_expired(t0 + Duration::from_secs(2)).map(|p| p.seq), Some(b));
        assert!(w.timed_out_recently(b));
        assert_eq!(w.in_flight(), 0);
    }
}
