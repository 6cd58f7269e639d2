//! [`NumberRing`]: records by consecutive number, the last so many kept.

use std::collections::VecDeque;
use std::sync::Mutex;

/// The last `capacity` records by number, oldest forgotten first.
///
/// Message ids are consecutive numbers (see [`MessageIds`](crate::MessageIds)), so
/// this is a ring indexed by number: no hashing and no allocation per message (an
/// insert pays one short lock).
#[derive(Debug)]
pub(crate) struct NumberRing<T> {
    inner: Mutex<Ring<T>>,
    capacity: usize,
}

#[derive(Debug)]
struct Ring<T> {
    /// The number of the record at the front.
    first: u32,
    records: VecDeque<Option<T>>,
}

impl<T: Clone> NumberRing<T> {
    pub(crate) fn new(capacity: usize) -> Self {
        Self { inner: Mutex::new(Ring { first: 0, records: VecDeque::new() }), capacity: capacity.max(1) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Ring<T>> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records message `n`. Numbers come nearly in order (sessions take them from one
    /// counter and record them a moment later): one a little behind the front (two
    /// sessions recording n + 1 before n, right after the start or a reset) is still
    /// recorded when the ring then fits the capacity; one further behind is dropped.
    pub(crate) fn insert(&self, n: u32, record: T) {
        let mut ring = self.lock();
        if ring.records.is_empty() {
            ring.first = n;
        }
        let behind = ring.first.wrapping_sub(n);
        if behind != 0 && behind <= u32::MAX / 2 {
            // Behind the front by `behind`: room for it and the numbers between?
            let fits = usize::try_from(behind)
                .ok()
                .and_then(|d| d.checked_add(ring.records.len()))
                .is_some_and(|len| len <= self.capacity);
            if !fits {
                return;
            }
            for _ in 1..behind {
                ring.records.push_front(None);
            }
            ring.records.push_front(Some(record));
            ring.first = n;
            return;
        }
        let offset = n.wrapping_sub(ring.first) as usize;
        if offset >= self.capacity * 2 {
            // Far ahead (the counter wrapped or jumped): start again from this one.
            ring.records.clear();
            ring.first = n;
        }
        let offset = n.wrapping_sub(ring.first) as usize;
        while ring.records.len() <= offset {
            ring.records.push_back(None);
        }
        if let Some(slot) = ring.records.get_mut(offset) {
            *slot = Some(record);
        }
        while ring.records.len() > self.capacity {
            ring.records.pop_front();
            ring.first = ring.first.wrapping_add(1);
        }
    }

    pub(crate) fn get(&self, n: u32) -> Option<T> {
        let ring = self.lock();
        let offset = n.wrapping_sub(ring.first) as usize;
        ring.records.get(offset).cloned().flatten()
    }
}
