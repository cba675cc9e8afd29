//! In-memory caches of rendered and fetched documents: listing pages rendered from the
//! store (valid while the store's commit generation has not moved, and, for a page that
//! shows a public registry's documents too, with the digests of those documents, so the
//! page can be reused while asking for them again brings back the same bytes) and public
//! registries' listing documents (kept for a time-to-live).
//!
//! A leaf: it imports nothing from the crate and renders nothing; it only keeps bytes.

use bytes::Bytes;
use sha2::Digest as _;
use std::collections::HashMap;
use std::io::Write as _;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Instant;

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

/// A public registry's document a page was rendered from: how it was asked for and what
/// came back (the SHA-256 of the body; `None` when nothing did), so that asking again
/// tells whether the page would come out the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub connection: String,
    pub url: String,
    pub accept: String,
    pub limit: usize,
    /// Asked for as a listing (reused for the metadata TTL), not a plain GET.
    pub listing: bool,
    pub sha256: Option<[u8; 32]>,
}

impl Source {
    /// The digest a `Source` records for a body.
    pub fn digest(body: Option<&[u8]>) -> Option<[u8; 32]> {
        body.map(|body| sha2::Sha256::digest(body).into())
    }
}

/// A kept page: the generation and time it was rendered (or last found current) at, the
/// page, and the public documents it was rendered from.
#[derive(Clone)]
pub struct Kept {
    pub generation: u64,
    pub at: Instant,
    pub page: Page,
    pub sources: Arc<[Source]>,
}

/// Rendered listing pages, each valid for the store generation it was rendered at (and,
/// when it shows public documents, while they are what they were).
#[derive(Default)]
pub struct PageCache {
    entries: Mutex<HashMap<PageKey, Kept>>,
}

impl PageCache {
    /// The page kept under `key`, if it was rendered at `generation`.
    pub fn get(&self, key: &PageKey, generation: u64) -> Option<Kept> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries
            .get(key)
            .filter(|kept| kept.generation == generation)
            .cloned()
    }

    /// Keeps a page rendered (or found current again) at `generation`, as of now.
    pub fn put(&self, key: PageKey, generation: u64, page: Page, sources: Arc<[Source]>) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= ENTRIES {
            entries.clear();
        }
        let kept = Kept {
            generation,
            at: Instant::now(),
            page,
            sources,
        };
        entries.insert(key, kept);
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
    use std::time::Duration;

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
        let source = Source {
            connection: "public:npmjs".into(),
            url: "http://127.0.0.1:1/x".into(),
            accept: "application/json".into(),
            limit: 1024,
            listing: true,
            sha256: Source::digest(Some(b"{}")),
        };
        let sources: Arc<[Source]> = Arc::from(vec![source.clone()]);
        cache.put(key.clone(), 7, Page::new("body", "text/plain"), sources);
        let kept = cache.get(&key, 7).expect("kept at its generation");
        assert_eq!(&kept.sources[..], [source]);
        assert!(cache.get(&key, 8).is_none());
        let before = kept.at;
        std::thread::sleep(Duration::from_millis(5));
        cache.put(key.clone(), 7, kept.page, kept.sources);
        assert!(
            cache.get(&key, 7).unwrap().at > before,
            "found current again: renewed"
        );
        assert_ne!(Source::digest(Some(b"{}")), Source::digest(Some(b"{ }")));
        assert_ne!(Source::digest(Some(b"")), Source::digest(None));
    }
}
