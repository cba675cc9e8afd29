//! In-memory caches of rendered and fetched documents: listing pages rendered from the
//! store (valid while the store's commit generation has not moved, and, for a page that
//! shows a public registry's listing too, no longer than its time-to-live) and public
//! registries' listing documents (kept for a time-to-live).
//!
//! A leaf: it imports nothing from the crate and renders nothing; it only keeps bytes.

use bytes::Bytes;
use sha2::Digest as _;
use std::collections::HashMap;
use std::io::Write as _;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

/// A rendered listing page: body, content type and entity tag.
#[derive(Debug, Clone)]
pub struct Page {
    pub body: Bytes,
    pub content_type: &'static str,
    pub etag: String,
    /// The body gzip-compressed, made at most once per page and shared by every copy of
    /// it (so a cached page is compressed once, however many clients ask); `None` for a
    /// page that is never compressed.
    pub gzip: Option<Arc<OnceLock<Option<Bytes>>>>,
}

/// Bodies shorter than this are sent as they are: they fit one TCP segment on an Ethernet
/// path already, so compressing them saves no packet and costs both ends a pass over them.
pub const GZIP_MIN_BYTES: usize = 1460;

impl Page {
    /// A page whose entity tag is the SHA-256 of its body, so equal pages match.
    pub fn new(body: impl Into<Bytes>, content_type: &'static str) -> Page {
        let body = body.into();
        let etag = format!("\"{}\"", hex::encode(sha2::Sha256::digest(&body)));
        Page {
            body,
            content_type,
            etag,
            gzip: Some(Arc::default()),
        }
    }

    /// Whether the page may be sent gzip-compressed to a client that asks for it.
    pub fn compressible(&self) -> bool {
        self.gzip.is_some() && self.body.len() >= GZIP_MIN_BYTES
    }

    /// The body gzip-compressed (once), if the page is compressible and compression
    /// makes it smaller.
    pub fn gzipped(&self) -> Option<Bytes> {
        if !self.compressible() {
            return None;
        }
        let cell = self.gzip.as_ref()?;
        cell.get_or_init(|| {
            let mut encoder = flate2::write::GzEncoder::new(
                Vec::with_capacity(self.body.len() / 4),
                flate2::Compression::default(),
            );
            encoder.write_all(&self.body).ok()?;
            let compressed = encoder.finish().ok()?;
            (compressed.len() < self.body.len()).then(|| Bytes::from(compressed))
        })
        .clone()
    }

    /// The entity tag of the gzip-compressed representation: another representation of
    /// the same content, so another strong tag (RFC 9110 §8.8.3).
    pub fn gzip_etag(&self) -> String {
        format!("{}-gzip\"", self.etag.trim_end_matches('"'))
    }
}

/// Entries kept before a cache starts over (a cheap bound on memory).
const ENTRIES: usize = 4096;

/// Repository id, page name, base URL.
pub type PageKey = (String, String, String);

/// Rendered listing pages, each valid for the store generation it was rendered at.
#[derive(Default)]
pub struct PageCache {
    entries: Mutex<HashMap<PageKey, (u64, Instant, Page)>>,
}

impl PageCache {
    /// The page rendered at `generation`, if it is still the one kept and, with `max_age`,
    /// was rendered no longer than that ago.
    pub fn get(&self, key: &PageKey, generation: u64, max_age: Option<Duration>) -> Option<Page> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries
            .get(key)
            .filter(|(at, rendered, _)| {
                *at == generation && max_age.is_none_or(|age| rendered.elapsed() < age)
            })
            .map(|(_, _, page)| page.clone())
    }

    pub fn put(&self, key: PageKey, generation: u64, page: Page) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= ENTRIES {
            entries.clear();
        }
        entries.insert(key, (generation, Instant::now(), page));
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
    fn a_page_is_compressed_once_and_only_when_it_gains() {
        let body = "{\"versions\":{}}".repeat(200);
        let page = Page::new(body.clone(), "application/json");
        let copy = page.clone();
        let gz = page.gzipped().expect("a large repetitive page compresses");
        assert!(gz.len() < body.len());
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut out).unwrap();
        assert_eq!(out, body.as_bytes());
        // the copy shares the compressed body: it is not made again
        assert_eq!(copy.gzipped().unwrap().as_ptr(), gz.as_ptr());
        assert_eq!(
            page.gzip_etag(),
            format!("{}-gzip\"", &page.etag[..page.etag.len() - 1])
        );
        assert!(Page::new("{}", "application/json").gzipped().is_none());
        let mut sliced = Page::new(body, "application/json");
        sliced.gzip = None;
        assert!(!sliced.compressible() && sliced.gzipped().is_none());
    }

    #[test]
    fn a_page_is_reused_only_at_the_generation_it_was_rendered_at() {
        let cache = PageCache::default();
        let key = (
            "repo".to_string(),
            "npm:x".to_string(),
            "http://h/".to_string(),
        );
        cache.put(key.clone(), 7, Page::new("body", "text/plain"));
        assert!(cache.get(&key, 7, None).is_some());
        assert!(cache.get(&key, 8, None).is_none());
        // A page that shows a public listing too is kept no longer than the listing's TTL.
        assert!(cache.get(&key, 7, Some(Duration::from_secs(60))).is_some());
        std::thread::sleep(Duration::from_millis(20));
        assert!(cache
            .get(&key, 7, Some(Duration::from_millis(10)))
            .is_none());
        assert!(cache.get(&key, 7, None).is_some());
    }
}
