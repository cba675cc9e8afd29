//! The sled engine behind `Kv`. The only file that imports sled.

use super::{Kv, Op, Pairs, StoreError};
use std::path::Path;

pub(in crate::registry) struct SledKv {
    db: sled::Db,
    generation: std::sync::atomic::AtomicU64,
}

impl SledKv {
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let db = sled::Config::new()
            .path(dir.join("metadata"))
            // Small cache: metadata is tiny and the OS page cache does the rest.
            .cache_capacity(16 * 1024 * 1024)
            .open()
            .map_err(|e| StoreError(format!("cannot open store in {}: {e}", dir.display())))?;
        Ok(SledKv {
            db,
            generation: std::sync::atomic::AtomicU64::new(0),
        })
    }
}

fn engine(e: sled::Error) -> StoreError {
    StoreError(format!("storage engine: {e}"))
}

impl Kv for SledKv {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.db.get(key).map_err(engine)?.map(|v| v.to_vec()))
    }

    fn scan(&self, prefix: &[u8], after: Option<&[u8]>) -> Pairs<'_> {
        let iter = match after {
            // The smallest key strictly greater than `after`.
            Some(after) if after >= prefix => {
                let mut start = after.to_vec();
                start.push(0);
                self.db.range(start..)
            }
            _ => self.db.range(prefix.to_vec()..),
        };
        let prefix = prefix.to_vec();
        Box::new(
            iter.take_while(move |item| match item {
                Ok((k, _)) => k.starts_with(&prefix),
                Err(_) => true,
            })
            .map(|item| item.map(|(k, v)| (k.to_vec(), v.to_vec())).map_err(engine)),
        )
    }

    fn commit(&self, ops: Vec<Op>) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for op in ops {
            match op {
                Op::Put(k, v) => batch.insert(k, v),
                Op::Delete(k) => batch.remove(k),
            }
        }
        self.db.apply_batch(batch).map_err(engine)?;
        // Acknowledged means durable: flush the log before the caller answers the client.
        self.db.flush().map_err(engine)?;
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::Release);
        Ok(())
    }

    fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::Acquire)
    }
}
