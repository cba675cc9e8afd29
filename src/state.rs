//! The server's shared state, built once at start by `server` and read by every request.
//! Holds no logic of its own: the pipeline (`app`) and the handlers borrow it.

use crate::addressing::EndpointStyle;
use crate::auth::{sigv4, AuthError, Identities, PendingSignature, TokenKey};
use crate::cache::{ListingCache, PageCache};
use crate::clock::Clock;
use crate::limits::UploadSlots;
use crate::outbound::Outbound;
use crate::registry::Registry;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Settings the pipeline needs, resolved from configuration once at start.
#[derive(Debug, Clone)]
pub struct Settings {
    pub default_region: String,
    /// Base URL clients use to reach us, no trailing slash.
    pub public_base_url: String,
    pub endpoint_style: EndpointStyle,
    pub dns_suffix: String,
    pub max_skew: Duration,
    pub max_json_body: usize,
    /// External connection name → the upstream registry URL configured for it.
    pub external_connections: BTreeMap<String, String>,
    /// Origins (`http://host:port`) besides each connection's own whose links an upstream
    /// registry may point at (a registry serving its files from another host).
    pub upstream_link_origins: Vec<String>,
    /// How long a public registry's listing (packument, project page, maven-metadata.xml)
    /// is reused before it is asked again; zero asks every time.
    pub upstream_metadata_ttl: Duration,
    /// How long a request body may go without delivering a byte.
    pub body_timeout: Duration,
    /// Bytes per second a request body must average once waited for longer than
    /// `body_timeout` (0: no minimum).
    pub min_body_rate: u64,
    /// How long a connection ready for a request may take to send its headers.
    pub header_timeout: Duration,
    /// How long a connection may go without a byte read or written.
    pub idle_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
    /// Whether the test controls (`/_codeartifact/events`, `/faults`) are served.
    pub test_controls: bool,
    /// Whether the web console is served, and to whom (`console`).
    pub console: ConsoleAccess,
}

/// Who may open the web console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsoleAccess {
    /// `--no-console`: every console route is a 404.
    Off,
    /// The server listens on loopback only: whoever can connect is the operator.
    Loopback,
    /// The server is reachable from elsewhere: a configured identity must sign in.
    SignIn,
}

/// The server's shared state.
pub struct App {
    pub registry: Registry,
    pub identities: Identities,
    pub tokens: TokenKey,
    pub clock: Arc<Clock>,
    pub settings: Settings,
    /// HTTP client for the upstream registries behind external connections.
    pub outbound: Outbound,
    /// Rendered listing pages (npm packuments, PyPI project pages), valid until the store changes.
    pub pages: PageCache,
    /// Public registries' listing documents, kept for `upstream_metadata_ttl`.
    pub listings: ListingCache,
    /// Uploads in progress, bounded in all and per identity.
    pub uploads: UploadSlots,
    /// Delivered events for the event stream (`None` with the test controls off).
    pub stream: Option<Arc<crate::events::stream::Stream>>,
    /// Fault-injection rules in force.
    pub faults: crate::faults::Faults,
}

impl App {
    /// Who signed a SigV4 request, by the configured identities, now and the allowed clock
    /// skew; settled from the headers alone, before any body is read.
    pub fn signature(&self, parts: &http::request::Parts) -> Result<PendingSignature, AuthError> {
        sigv4::parse_authorization(
            parts,
            &self.identities,
            self.clock.now_system(),
            self.settings.max_skew,
        )
    }
}
