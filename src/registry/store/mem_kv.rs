//! An in-memory engine behind `Kv`: a sorted map behind a mutex. Nothing is durable; it lets
//! the registry's rules be tested in-process in milliseconds, on the same contract as sled
//! (`contract` runs one suite against both).

use super::{Kv, Op, Pairs, StoreError};
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

#[derive(Default)]
pub(in crate::registry) struct MemKv {
    map: Mutex<BTreeMap<Vec<u8>, Vec<u8>>>,
    generation: AtomicU64,
}

impl MemKv {
    /// An empty store.
    pub fn new() -> Self {
        MemKv::default()
    }

    fn map(&self) -> MutexGuard<'_, BTreeMap<Vec<u8>, Vec<u8>>> {
        // Every commit applies whole under the lock, so a poisoned map is still consistent.
        self.map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Kv for MemKv {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.map().get(key).cloned())
    }

    fn scan(&self, prefix: &[u8], after: Option<&[u8]>) -> Pairs<'_> {
        let start = match after {
            Some(after) if after >= prefix => Bound::Excluded(after.to_vec()),
            _ => Bound::Included(prefix.to_vec()),
        };
        // A snapshot: the lock is not held while the caller iterates (sled's scans do not
        // block writers either).
        let pairs: Vec<(Vec<u8>, Vec<u8>)> = self
            .map()
            .range((start, Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Box::new(pairs.into_iter().map(Ok))
    }

    fn commit(&self, ops: Vec<Op>) -> Result<(), StoreError> {
        let mut map = self.map();
        for op in ops {
            match op {
                Op::Put(k, v) => map.insert(k, v),
                Op::Delete(k) => map.remove(&k),
            };
        }
        self.generation.fetch_add(1, Ordering::Release);
        Ok(())
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }
}
