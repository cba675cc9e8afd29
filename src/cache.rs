//! In-memory caches of rendered and fetched documents: listing pages rendered from the
//! store (valid while the store's commit generation has not moved) and public registries'
//! listing documents (kept for a time-to-live).
//!
//! A leaf: it imports nothing from the crate and renders nothing; it only keeps bytes.

use bytes::Bytes;
use sha2::Digest as _;
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

/// A rendered listing page: body, content type and entity tag.
#[derive(Debug, Clone)]
pub struct Page {
    pub body: Bytes,
    pub content_type: &'static str,
    pub etag: String,
}

impl Page {
    /// A page whose entity tag is the SHA-256 of its body, so equal pages match.
    pub fn new(body: impl Into<Bytes>, content_type: &'static str) -> Page {
        let body = body.into();
        let etag = format!("\"{}\"", hex::encode(sha2::Sha256::digest(&body)));
        Page {
            body,
            content_type,
            etag,
        }
    }
}

/// Entries kept before a cache starts over (a cheap bound on memory).
const ENTRIES: usize = 4096;

/// Repository id, page name, base URL.
pub type PageKey = (String, String, String);

/// Rendered listing pages, each valid for the store generation it was rendered at.
#[derive(Default)]
pub struct PageCache {
    entries: Mutex<HashMap<PageKey, (u64, Page)>>,
}

impl PageCache {
    /// The page rendered at `generation`, if it is still the one kept.
    pub fn get(&self, key: &PageKey, generation: u64) -> Option<Page> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries
            .get(key)
            .filter(|(at, _)| *at == generation)
            .map(|(_, page)| page.clone())
    }

    pub fn put(&self, key: PageKey, generation: u64, page: Page) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= ENTRIES {
            entries.clear();
        }
        entries.insert(key, (generation, page));
    }
}

/// Listing documents fetched from public registries, by URL and `Accept`, with when they
/// were fetched.
#[derive(Default)]
pub struct ListingCache {
    entries: Mutex<HashMap<(String, String), (Instant, Bytes)>>,
}

impl ListingCache {
    pub fn get(&self, key: &(String, String)) -> Option<(Instant, Bytes)> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.get(key).cloned()
    }

    pub fn put(&self, key: (String, String), body: Bytes) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= ENTRIES {
            entries.clear();
        }
        entries.insert(key, (Instant::now(), body));
    }

    pub fn remove(&self, key: &(String, String)) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_is_reused_only_at_the_generation_it_was_rendered_at() {
        let cache = PageCache::default();
        let key = (
            "repo".to_string(),
            "npm:x".to_string(),
            "http://h/".to_string(),
        );
        cache.put(key.clone(), 7, Page::new("body", "text/plain"));
        assert!(cache.get(&key, 7).is_some());
        assert!(cache.get(&key, 8).is_none());
    }
}
