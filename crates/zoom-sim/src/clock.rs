//! The simulator's clock. Token expiry, codes, rate-limit windows, page tokens and
//! meeting status all read this clock, so tests move time forward instead of sleeping.

use chrono::{DateTime, Duration, Utc};
use std::sync::Mutex;

#[derive(Debug, Default)]
pub struct Clock {
    inner: Mutex<ClockInner>,
}

#[derive(Debug, Default, Clone, Copy)]
struct ClockInner {
    offset: Duration,
    /// When set, time stands still (except through `advance`), which makes per-second
    /// rate-limit windows deterministic in tests.
    frozen_at: Option<DateTime<Utc>>,
}

impl Clock {
    pub fn now(&self) -> DateTime<Utc> {
        let c = self.get();
        c.frozen_at.unwrap_or_else(Utc::now) + c.offset
    }

    pub fn advance(&self, by: Duration) {
        self.update(|c| c.offset += by);
    }

    /// Freezes the clock at its current reading.
    pub fn freeze(&self) {
        let now = self.now();
        self.update(|c| {
            c.frozen_at = Some(now);
            c.offset = Duration::zero();
        });
    }

    /// Lets the clock run again from its current reading.
    pub fn unfreeze(&self) {
        let now = self.now();
        self.update(|c| {
            c.frozen_at = None;
            c.offset = now - Utc::now();
        });
    }

    /// Jumps to `at`, keeping the frozen/running mode.
    pub fn set(&self, at: DateTime<Utc>) {
        self.update(|c| {
            if c.frozen_at.is_some() {
                c.frozen_at = Some(at);
                c.offset = Duration::zero();
            } else {
                c.offset = at - Utc::now();
            }
        });
    }

    pub fn is_frozen(&self) -> bool {
        self.get().frozen_at.is_some()
    }

    fn get(&self) -> ClockInner {
        match self.inner.lock() {
            Ok(g) => *g,
            Err(p) => *p.into_inner(),
        }
    }

    fn update(&self, f: impl FnOnce(&mut ClockInner)) {
        match self.inner.lock() {
            Ok(mut g) => f(&mut g),
            Err(p) => f(&mut p.into_inner()),
        }
    }
}
