//! The one way a format reaches the public registry behind an external connection: only
//! the URL the user configured for the connection, and links that registry hands out only
//! when they stay on its origin (or on an origin the user listed). Fetches block the
//! calling thread, off the async workers.

use super::RepoCx;
use crate::cache::Source;
use crate::outbound::{origin, with_credentials_of, FetchError};
use crate::registry::StagedBlob;
use bytes::Bytes;

/// A public registry as one external connection reaches it.
pub struct Upstream<'a> {
    cx: &'a RepoCx<'a>,
    connection: &'a str,
    /// The configured URL, without a trailing slash (it may carry user-info).
    configured: String,
}

impl<'a> RepoCx<'a> {
    /// The registry behind `connection`; `None` when the user configured no URL for it,
    /// which makes the connection unreachable.
    pub fn upstream(&'a self, connection: &'a str) -> Option<Upstream<'a>> {
        let Some(configured) = self.app.settings.external_connections.get(connection) else {
            tracing::debug!(
                connection,
                "no upstream URL configured: the connection is unreachable"
            );
            return None;
        };
        Some(Upstream {
            cx: self,
            connection,
            configured: configured.trim_end_matches('/').to_string(),
        })
    }
}

impl Upstream<'_> {
    /// The configured base URL, without a trailing slash.
    pub fn base(&self) -> &str {
        &self.configured
    }

    /// Whether a link the registry handed out may be followed: same origin as the
    /// configured URL, or an origin the user allowed.
    fn may_follow(&self, url: &str) -> bool {
        let Some(wanted) = origin(url) else {
            return false;
        };
        origin(&self.configured).as_ref() == Some(&wanted)
            || self
                .cx
                .app
                .settings
                .upstream_link_origins
                .iter()
                .any(|allowed| origin(allowed).as_ref() == Some(&wanted))
    }

    fn get_once(&self, url: &str, accept: &str, limit: usize) -> Result<Bytes, FetchError> {
        if !self.may_follow(url) {
            return Err(FetchError::Unreachable(format!(
                "{} is not on the origin configured for {} (see --upstream-link-origin)",
                crate::outbound::split_credentials(url).0,
                self.connection
            )));
        }
        // The registry's credentials also apply to the links it hands out on its origin.
        let url = with_credentials_of(&self.configured, url);
        let outbound = self.cx.app.outbound.clone();
        let fault = self.cx.app.faults.check(crate::faults::Call::Upstream {
            connection: self.connection,
        });
        tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current().block_on(async move {
                if let Some(fault) = fault {
                    use crate::faults::Outcome;
                    tokio::time::sleep(fault.latency).await;
                    let bare = crate::outbound::split_credentials(&url).0;
                    match fault.outcome {
                        Outcome::Cut => {
                            return Err(FetchError::Unreachable(format!(
                                "{bare}: connection refused (injected fault)"
                            )))
                        }
                        Outcome::Status(404 | 410) => return Err(FetchError::NotFound),
                        Outcome::Status(status) => {
                            return Err(FetchError::Unreachable(format!(
                                "{bare}: answered {status} (injected fault)"
                            )))
                        }
                        Outcome::Proceed | Outcome::Error { .. } => {}
                    }
                }
                outbound.get(&url, accept, limit).await
            })
        })
    }

    /// GETs a URL of the registry (built from [`Upstream::base`] or read from one of its
    /// documents); `None` when it is absent (404), unreachable or off its origin (logged).
    /// Recorded as a source of the page being rendered (`RepoCx::cached_page`).
    pub fn get(&self, url: &str, accept: &str, limit: usize) -> Option<Bytes> {
        self.recorded(url, accept, limit, false, || self.fetch(url, accept, limit))
    }

    /// A document given to this request, noted as such while a page is being rendered: the
    /// one `RepoCx::cached_page` has just fetched again for the same question if there is
    /// one, else `fetch`'s.
    fn recorded(
        &self,
        url: &str,
        accept: &str,
        limit: usize,
        listing: bool,
        fetch: impl FnOnce() -> Option<Bytes>,
    ) -> Option<Bytes> {
        if !self.cx.rendering() {
            // Not for a page (an asset's resolution): nothing keeps what it was given.
            return fetch();
        }
        let mut source = Source {
            connection: self.connection.to_string(),
            url: url.to_string(),
            accept: accept.to_string(),
            limit,
            listing,
            sha256: None,
        };
        let body = self.cx.take_refetched(&source).unwrap_or_else(fetch);
        source.sha256 = Source::digest(body.as_deref());
        self.cx.consulted().push(source);
        body
    }

    /// [`Upstream::get`], unrecorded.
    pub(super) fn fetch(&self, url: &str, accept: &str, limit: usize) -> Option<Bytes> {
        match self.get_once(url, accept, limit) {
            Ok(body) => Some(body),
            Err(FetchError::NotFound) => None,
            Err(FetchError::Unreachable(why)) => {
                tracing::warn!(
                    connection = self.connection,
                    why,
                    "upstream registry unreachable"
                );
                None
            }
        }
    }

    /// A file of the registry (tarball, wheel, jar, crate), staged for the store with its
    /// digests computed once; `verify` compares them with what the registry declared and
    /// says why they differ. `None` when the file is absent, unreachable or refused (logged).
    pub fn file(
        &self,
        url: &str,
        limit: usize,
        verify: impl FnOnce(&StagedBlob) -> Result<(), String>,
    ) -> Option<(StagedBlob, Bytes)> {
        let bytes = self.fetch(url, "application/octet-stream", limit)?;
        let staged = match self.cx.app.registry.stage_bytes(&bytes) {
            Ok(staged) => staged,
            Err(e) => {
                tracing::error!(error = %e, "cannot stage a file from an upstream registry");
                return None;
            }
        };
        if let Err(why) = verify(&staged) {
            tracing::warn!(
                connection = self.connection,
                url = crate::outbound::split_credentials(url).0,
                why,
                "upstream file rejected"
            );
            return None;
        }
        Some((staged, bytes))
    }

    /// A listing document (packument, project page, maven-metadata.xml, index file), reused
    /// for the configured metadata TTL as the service's metadata cache reuses it. An
    /// expired copy answers while the registry is unreachable; one the registry no longer
    /// has (404) is dropped.
    /// Recorded as a source of the page being rendered (`RepoCx::cached_page`).
    pub fn listing(&self, url: &str, accept: &str, limit: usize) -> Option<Bytes> {
        self.recorded(url, accept, limit, true, || {
            self.fetch_listing(url, accept, limit)
        })
    }

    /// [`Upstream::listing`], unrecorded.
    pub(super) fn fetch_listing(&self, url: &str, accept: &str, limit: usize) -> Option<Bytes> {
        let ttl = self.cx.app.settings.upstream_metadata_ttl;
        if ttl.is_zero() {
            return self.fetch(url, accept, limit);
        }
        let listings = &self.cx.app.listings;
        let key = (url.to_string(), accept.to_string());
        let cached = listings.get(&key);
        if let Some((at, body)) = &cached {
            if at.elapsed() < ttl {
                return Some(body.clone());
            }
        }
        match self.get_once(url, accept, limit) {
            Ok(body) => {
                listings.put(key, body.clone());
                Some(body)
            }
            Err(FetchError::NotFound) => {
                listings.remove(&key);
                None
            }
            Err(FetchError::Unreachable(why)) => {
                tracing::warn!(
                    connection = self.connection,
                    why,
                    "upstream registry unreachable; serving its cached listing if any"
                );
                cached.map(|(_, body)| body)
            }
        }
    }
}

/// The check [`Upstream::file`] most registries call for: the bytes must have the SHA-256
/// the registry listed for them.
pub fn sha256_is(expected: &str) -> impl FnOnce(&StagedBlob) -> Result<(), String> + '_ {
    move |staged| {
        if staged.digests().sha256.eq_ignore_ascii_case(expected) {
            Ok(())
        } else {
            Err(format!(
                "the bytes do not match the listed SHA-256 {expected}"
            ))
        }
    }
}
