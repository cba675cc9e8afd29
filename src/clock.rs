//! Time and identifiers, injectable so tests and snapshots can be deterministic.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Where "now" comes from. The server uses the system clock; tests may pin it.
#[derive(Debug, Default)]
pub struct Clock {
    /// Fixed epoch milliseconds when set (non-zero).
    fixed_ms: AtomicI64,
}

impl Clock {
    /// A clock that reads the system time.
    pub fn system() -> Self {
        Clock::default()
    }

    /// A clock pinned at `epoch_ms` until moved with [`Clock::set_ms`].
    pub fn fixed(epoch_ms: i64) -> Self {
        Clock {
            fixed_ms: AtomicI64::new(epoch_ms),
        }
    }

    pub fn set_ms(&self, epoch_ms: i64) {
        self.fixed_ms.store(epoch_ms, Ordering::Relaxed);
    }

    /// Milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> i64 {
        match self.fixed_ms.load(Ordering::Relaxed) {
            0 => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
            fixed => fixed,
        }
    }

    pub fn now_system(&self) -> SystemTime {
        UNIX_EPOCH + std::time::Duration::from_millis(u64::try_from(self.now_ms()).unwrap_or(0))
    }
}

/// A fresh random identifier (UUID v4), for request ids, repository ids and key ids.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// `n` bytes from the operating system's random source.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the OS random source is available");
    bytes
}
