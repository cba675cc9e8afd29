//! Admission limits that keep one client from exhausting the server: how many uploads may
//! be in progress at once, in all and per identity.
//!
//! A leaf: it imports nothing from the crate and knows no protocol; the pipeline turns a
//! refusal into each protocol's throttling error.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Slots for uploads in progress. An upload holds its [`UploadSlot`] until it is committed
/// or abandoned; dropping the slot frees it.
#[derive(Debug, Clone)]
pub struct UploadSlots {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    total: usize,
    per_identity: usize,
    /// Uploads in progress: in all, and by identity (entries at zero are removed).
    held: Mutex<(usize, HashMap<String, usize>)>,
}

/// Why an upload may not start now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Busy {
    /// The server's limit on uploads in progress is reached.
    Total(usize),
    /// This identity's limit is reached.
    Identity(usize),
}

impl std::fmt::Display for Busy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Busy::Total(n) => write!(
                f,
                "Too many uploads are in progress ({n}); retry when one has finished"
            ),
            Busy::Identity(n) => write!(
                f,
                "This identity already has {n} uploads in progress; retry when one has finished"
            ),
        }
    }
}

impl UploadSlots {
    /// At most `total` uploads at once, and at most `per_identity` for any one identity.
    pub fn new(total: usize, per_identity: usize) -> UploadSlots {
        UploadSlots {
            inner: Arc::new(Inner {
                total,
                per_identity,
                held: Mutex::new((0, HashMap::new())),
            }),
        }
    }

    /// Takes a slot for `identity`, or says which limit is reached. Never waits.
    pub fn try_acquire(&self, identity: &str) -> Result<UploadSlot, Busy> {
        let mut held = self
            .inner
            .held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if held.0 >= self.inner.total {
            return Err(Busy::Total(self.inner.total));
        }
        let mine = held.1.get(identity).copied().unwrap_or(0);
        if mine >= self.inner.per_identity {
            return Err(Busy::Identity(self.inner.per_identity));
        }
        held.0 += 1;
        held.1.insert(identity.to_string(), mine + 1);
        Ok(UploadSlot {
            slots: Arc::clone(&self.inner),
            identity: identity.to_string(),
        })
    }

    /// Uploads in progress now.
    pub fn in_use(&self) -> usize {
        self.inner
            .held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .0
    }
}

/// One upload's slot; freed when dropped.
#[derive(Debug)]
pub struct UploadSlot {
    slots: Arc<Inner>,
    identity: String,
}

impl Drop for UploadSlot {
    fn drop(&mut self) {
        let mut held = self
            .slots
            .held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        held.0 = held.0.saturating_sub(1);
        if let Some(mine) = held.1.get_mut(&self.identity) {
            *mine = mine.saturating_sub(1);
            if *mine == 0 {
                held.1.remove(&self.identity);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_bounded_in_all_and_per_identity_and_freed_on_drop() {
        let slots = UploadSlots::new(3, 2);
        let a1 = slots.try_acquire("a").unwrap();
        let _a2 = slots.try_acquire("a").unwrap();
        assert_eq!(slots.try_acquire("a").unwrap_err(), Busy::Identity(2));
        let _b1 = slots.try_acquire("b").unwrap();
        assert_eq!(slots.try_acquire("c").unwrap_err(), Busy::Total(3));
        drop(a1);
        assert_eq!(slots.in_use(), 2);
        let _c1 = slots.try_acquire("c").unwrap();
        assert_eq!(slots.try_acquire("a").unwrap_err(), Busy::Total(3));
    }
}
