//! A small timer table keyed by an enum, and `now` clamping.

use std::time::Instant;

/// Deadlines indexed by a small enum (`K as usize` < `N`).
#[derive(Debug, Clone)]
pub(crate) struct Timers<const N: usize> {
    at: [Option<Instant>; N],
}

impl<const N: usize> Timers<N> {
    pub(crate) fn new() -> Self {
        Timers { at: [None; N] }
    }

    pub(crate) fn set(&mut self, key: usize, at: Instant) {
        self.at[key] = Some(at);
    }

    pub(crate) fn clear(&mut self, key: usize) {
        self.at[key] = None;
    }

    pub(crate) fn get(&self, key: usize) -> Option<Instant> {
        self.at[key]
    }

    pub(crate) fn clear_all(&mut self) {
        self.at = [None; N];
    }

    /// The earliest deadline.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.at.iter().flatten().min().copied()
    }

    /// Clears and returns the first timer (in key order) that is due at `now`, with the time
    /// it was due.
    pub(crate) fn take_due(&mut self, now: Instant) -> Option<(usize, Instant)> {
        let key = self.at.iter().position(|t| t.is_some_and(|t| t <= now))?;
        self.at[key].take().map(|at| (key, at))
    }
}

/// The last `now` seen; a `now` that goes backwards is clamped to it (DESIGN: never a panic).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    last: Instant,
}

impl Clock {
    pub(crate) fn new(now: Instant) -> Self {
        Clock { last: now }
    }

    pub(crate) fn advance(&mut self, now: Instant) -> Instant {
        if now > self.last {
            self.last = now;
        }
        self.last
    }
}
