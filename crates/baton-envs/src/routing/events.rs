//! The routing simulators' event queue: one type for the `Env` ([`super::Network`]) and for the fused
//! Q-routing loop of `baton-experiment`, so both pop events in the same exact `(time, scheduling order)`.
//!
//! Events are keyed `key = (time bits << 64) | seq`: for non-negative times the IEEE bit pattern orders like
//! the number, so one integer comparison gives "earliest first, then in scheduling order" (measured: `total_cmp`
//! on the float plus a tie-break on `seq` made the heap's sift the largest single cost of a simulated hop).
//! The queue has three parts that together pop in exact key order: the next injection (one slot); a FIFO of
//! events scheduled in non-decreasing order (most events: a hop ends one time unit after it starts, so hops
//! scheduled later end later); and a heap for the rest. Most events take the O(1) FIFO.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

use baton_core::Rng;
use rand::Rng as _;

/// A scheduled event with its payload.
#[derive(Clone, Copy, Debug)]
pub struct Timed<T> {
    /// `(time bits << 64) | seq`.
    pub key: u128,
    /// What happens.
    pub what: T,
}

impl<T> Timed<T> {
    /// The event's time.
    #[inline(always)]
    pub fn time(&self) -> f64 {
        f64::from_bits((self.key >> 64) as u64)
    }
}

impl<T> PartialEq for Timed<T> {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl<T> Eq for Timed<T> {}
impl<T> PartialOrd for Timed<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Timed<T> {
    /// Reversed, so `BinaryHeap` pops the earliest event.
    fn cmp(&self, other: &Self) -> Ordering {
        other.key.cmp(&self.key)
    }
}

/// The event queue (see the module documentation).
#[derive(Clone, Debug)]
pub struct EventQueue<T> {
    seq: u64,
    heap: BinaryHeap<Timed<T>>,
    sorted: VecDeque<Timed<T>>,
    next_inject: Option<Timed<T>>,
}

impl<T: Copy> EventQueue<T> {
    /// An empty queue with room for `capacity` pending events before it allocates.
    pub fn with_capacity(capacity: usize) -> Self {
        EventQueue {
            seq: 0,
            heap: BinaryHeap::with_capacity(capacity),
            sorted: VecDeque::with_capacity(capacity),
            next_inject: None,
        }
    }

    /// Forget every event and restart the scheduling order.
    pub fn clear(&mut self) {
        self.seq = 0;
        self.heap.clear();
        self.sorted.clear();
        self.next_inject = None;
    }

    #[inline(always)]
    fn timed(&mut self, time: f64, what: T) -> Timed<T> {
        debug_assert!(time >= 0.0, "event times are non-negative");
        self.seq += 1;
        Timed { key: (u128::from(time.to_bits()) << 64) | u128::from(self.seq), what }
    }

    /// Schedule an event at `time` (after every event already scheduled at the same time).
    #[inline(always)]
    pub fn schedule(&mut self, time: f64, what: T) {
        let ev = self.timed(time, what);
        if self.sorted.back().is_none_or(|last| last.key <= ev.key) {
            self.sorted.push_back(ev);
        } else {
            self.heap.push(ev);
        }
    }

    /// Schedule the next injection (it takes a scheduling number like any event; there is one at a time).
    #[inline(always)]
    pub fn schedule_inject(&mut self, time: f64, what: T) {
        let ev = self.timed(time, what);
        self.next_inject = Some(ev);
    }

    /// The earliest event, injection included.
    #[inline(always)]
    pub fn pop(&mut self) -> Option<Timed<T>> {
        let key = |e: Option<&Timed<T>>| e.map_or(u128::MAX, |e| e.key);
        let (a, b, c) = (key(self.sorted.front()), key(self.heap.peek()), key(self.next_inject.as_ref()));
        if a <= b && a <= c {
            self.sorted.pop_front()
        } else if b <= c {
            self.heap.pop()
        } else {
            self.next_inject.take()
        }
    }

    /// The time of the earliest event other than the next injection, if there is one.
    #[inline]
    pub fn next_other_time(&self) -> Option<f64> {
        let key = self.sorted.front().map(|e| e.key).into_iter().chain(self.heap.peek().map(|e| e.key)).min()?;
        Some(f64::from_bits((key >> 64) as u64))
    }

    /// The event `i` places down the FIFO part, if there is one (for prefetching what it will read).
    #[inline(always)]
    pub fn fifo_ahead(&self, i: usize) -> Option<&Timed<T>> {
        self.sorted.get(i)
    }
}

/// An exponential inter-arrival time with rate `rate` (the network-wide Poisson stream of packets).
#[inline]
pub fn sample_exp(rng: &mut Rng, rate: f64) -> f64 {
    // 1 - u is in (0, 1], so the log is finite.
    let u: f64 = rng.random();
    -(1.0 - u).ln() / rate
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_pop_in_time_then_scheduling_order_across_all_three_parts() {
        let mut q = EventQueue::with_capacity(4);
        q.schedule(2.0, 'a');
        q.schedule(1.0, 'b'); // out of order: the heap
        q.schedule_inject(1.0, 'i'); // same time as b, scheduled later
        q.schedule(2.0, 'c');
        q.schedule(0.5, 'd');
        let order: Vec<char> = std::iter::from_fn(|| q.pop().map(|e| e.what)).collect();
        assert_eq!(order, ['d', 'b', 'i', 'a', 'c']);
    }
}
