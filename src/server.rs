//! Builds the [`App`] from configuration, accepts connections and shuts down gracefully.

use crate::app;
use crate::auth::{Identities, TokenKey};
use crate::clock::Clock;
use crate::config::ServeArgs;
use crate::outbound::Outbound;
use crate::registry::{external_connection_format, Quotas, Registry, EXTERNAL_CONNECTIONS};
use crate::state::{App, ConsoleAccess, Settings};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

/// Opens the store and resolves configuration into the shared state.
pub fn build_app(args: &ServeArgs, bound: SocketAddr) -> Result<App, String> {
    let identities = identities(args)?;
    let mut external_connections = std::collections::BTreeMap::new();
    for entry in &args.external_connections {
        let (name, url) = entry
            .split_once('=')
            .ok_or_else(|| format!("--external-connection wants NAME=URL, got '{entry}'"))?;
        if external_connection_format(name).is_none() {
            let known: Vec<&str> = EXTERNAL_CONNECTIONS.iter().map(|(n, _)| *n).collect();
            return Err(format!(
                "unknown external connection '{name}'; the service's are: {}",
                known.join(", ")
            ));
        }
        if !url.starts_with("http://") && !url.starts_with("https://") {
            // The URL is not echoed: it may carry credentials.
            return Err(format!(
                "the URL for {name} must start with http:// or https://"
            ));
        }
        external_connections.insert(name.to_string(), url.to_string());
    }
    let clock = Arc::new(Clock::system());
    let quotas = Quotas {
        domains_per_account: args.quota_domains,
        repositories_per_domain: args.quota_repositories,
        asset_size_bytes: args.quota_asset_size_bytes,
        min_free_bytes: args.min_free_bytes,
        ..Quotas::default()
    };
    let mut registry =
        Registry::open(&args.data_dir, Arc::clone(&clock), quotas).map_err(|e| format!("{e:?}"))?;
    // A data directory made by an older build (or by hand) is made private too.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&args.data_dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| format!("cannot make {} private: {e}", args.data_dir.display()))?;
    }
    let faults = crate::controls::startup_rules(&args.faults, &external_connections)?;
    let stream = if args.no_test_controls {
        None
    } else {
        let (retained, end) = registry.retained_events().map_err(|e| format!("{e:?}"))?;
        Some(crate::events::stream::Stream::retained(retained, end))
    };
    let sinks = crate::events::Sinks {
        file: args.events_file.clone(),
        endpoint: args.events_endpoint.clone(),
        stream: stream.clone(),
    };
    let runtime = tokio::runtime::Handle::try_current()
        .map_err(|e| format!("the server needs a tokio runtime: {e}"))?;
    if let Some(deliverer) = crate::events::Deliverer::open(sinks, identities.clone(), runtime)? {
        registry
            .deliver_events(deliverer)
            .map_err(|e| format!("{e:?}"))?;
    }
    let tokens = TokenKey::load_or_create(&args.data_dir)
        .map_err(|e| format!("cannot load the token key: {e}"))?;
    Ok(App {
        registry,
        identities,
        tokens,
        clock,
        settings: Settings {
            default_region: args.region.clone(),
            public_base_url: args.public_base_url(bound),
            endpoint_style: args.endpoint_style,
            dns_suffix: args.dns_suffix.clone(),
            max_skew: Duration::from_secs(args.max_skew_seconds),
            max_json_body: args.max_json_body,
            external_connections,
            upstream_link_origins: args.upstream_link_origins.clone(),
            upstream_metadata_ttl: Duration::from_secs(args.upstream_metadata_ttl_seconds),
            body_timeout: Duration::from_secs(args.body_timeout_seconds.max(1)),
            min_body_rate: args.min_body_rate,
            header_timeout: Duration::from_secs(args.header_timeout_seconds.max(1)),
            idle_timeout: Duration::from_secs(args.idle_timeout_seconds.max(1)),
            max_connections: args.max_connections.max(1),
            test_controls: !args.no_test_controls,
            console: if args.no_console {
                ConsoleAccess::Off
            } else if bound.ip().is_loopback() {
                ConsoleAccess::Loopback
            } else {
                ConsoleAccess::SignIn
            },
        },
        outbound: Outbound::new(
            Duration::from_secs(5),
            Duration::from_secs(args.upstream_timeout_seconds),
            args.upstream_ca_file.as_deref(),
        )?,
        pages: crate::cache::PageCache::default(),
        listings: crate::cache::ListingCache::default(),
        uploads: crate::limits::UploadSlots::new(args.max_uploads, args.max_uploads_per_identity),
        stream,
        faults,
    })
}

/// The configured identities: the default one unless turned off, the file's, the flag's.
pub fn identities(args: &ServeArgs) -> Result<Identities, String> {
    let mut identities = if args.no_default_identity {
        Identities::default()
    } else {
        Identities::default_test()
    };
    if let Some(path) = &args.identities_file {
        let loaded = Identities::from_json_file(path).map_err(|e| e.to_string())?;
        identities.merge(loaded);
    }
    if let Some(spec) = &args.identities {
        identities.merge(Identities::parse_spec(spec).map_err(|e| e.to_string())?);
    }
    if identities.is_empty() {
        tracing::warn!(
            "no identity is configured (--no-default-identity without --identities or \
             --identities-file): every request will be refused"
        );
    }
    Ok(identities)
}

/// Serves until SIGINT or SIGTERM, then lets in-flight requests finish.
///
/// Every connection is bounded in time (hyper's header-read timeout from the moment it is
/// ready for a request, so silent, trickling and idle keep-alive connections are closed;
/// an inactivity timeout on the socket itself) and in number (`max_connections`; beyond
/// it a connection gets a 503 and is closed). A silent socket costs its descriptor, one
/// small task and one timer: its HTTP state is made when its first byte arrives.
pub async fn serve(app: impl Into<Arc<App>>, listener: TcpListener) -> std::io::Result<()> {
    let app: Arc<App> = app.into();
    let graceful = GracefulShutdown::new();
    let connections = Arc::new(Semaphore::new(app.settings.max_connections));
    // Refusals are written by small tasks; bound them too, beyond which a socket is just closed.
    let refusals = Arc::new(Semaphore::new(64));
    let mut shutdown = std::pin::pin!(shutdown_signal());
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _peer) = match accepted {
                    Ok(conn) => conn,
                    Err(e) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let Ok(permit) = Arc::clone(&connections).try_acquire_owned() else {
                    refuse(stream, &refusals, app.settings.max_connections);
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let app = Arc::clone(&app);
                let watcher = graceful.watcher();
                tokio::spawn(async move {
                    let _permit = permit;
                    // Until its first byte a connection is only a socket and this task: no
                    // HTTP state, no buffers. One that never speaks is closed at the header
                    // timeout.
                    let header_timeout = app.settings.header_timeout;
                    if tokio::time::timeout(header_timeout, stream.readable()).await.is_err() {
                        tracing::debug!("closed a connection that sent nothing");
                        return;
                    }
                    // Boxed, so that the task of a silent socket is only as large as the
                    // wait above.
                    Box::pin(serve_http(app, stream, watcher, header_timeout)).await;
                });
            }
            () = &mut shutdown => {
                tracing::info!("shutting down");
                // Open event streams and long polls end, so connections can close.
                if let Some(stream) = &app.stream {
                    stream.close();
                }
                break;
            }
        }
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("all connections closed"),
        () = tokio::time::sleep(Duration::from_secs(10)) => tracing::warn!("gave up waiting for connections"),
    }
    Ok(())
}

/// Serves HTTP/1.1 on a connection that has sent its first byte, until it closes, times
/// out or goes idle.
async fn serve_http(
    app: Arc<App>,
    stream: TcpStream,
    watcher: hyper_util::server::graceful::Watcher,
    header_timeout: Duration,
) {
    let activity = Activity::new();
    let io = TokioIo::new(Watched {
        inner: stream,
        activity: activity.clone(),
        shaped: None,
    });
    let idle = app.settings.idle_timeout;
    let service = service_fn(move |request| {
        let app = Arc::clone(&app);
        async move {
            let response = app::handle(app, request).await;
            // An injected fault that cuts the connection: no answer at all.
            if response.extensions().get::<crate::faults::Cut>().is_some() {
                return Err("connection cut by an injected fault");
            }
            Ok(response)
        }
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .keep_alive(true)
        .serve_connection(io, service);
    tokio::select! {
        result = watcher.watch(connection) => {
            if let Err(e) = result {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        }
        () = activity.idle_for(idle) => {
            tracing::debug!("closed a connection idle for {idle:?}");
        }
    }
}

/// Answers a connection over the limit with a 503 in the AWS error shape and closes it,
/// from a task that may take at most a second; when too many refusals are in flight the
/// socket is simply closed.
fn refuse(stream: TcpStream, refusals: &Arc<Semaphore>, limit: usize) {
    tracing::warn!(limit, "connection limit reached; refusing a connection");
    let Ok(permit) = Arc::clone(refusals).try_acquire_owned() else {
        return;
    };
    tokio::spawn(async move {
        let _permit = permit;
        let body = serde_json::json!({
            "__type": "ServiceUnavailableException",
            "message": format!("The server is serving its limit of {limit} connections; retry later"),
        })
        .to_string();
        let response = format!(
            "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
             x-amzn-errortype: ServiceUnavailableException\r\nretry-after: 1\r\n\
             connection: close\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        let mut stream = stream;
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            stream.write_all(response.as_bytes()).await?;
            stream.shutdown().await?;
            // Read what the client sent so that closing does not reset the connection
            // before it has read the answer.
            let mut sink = [0u8; 4096];
            while stream.read(&mut sink).await? > 0 {}
            Ok::<_, std::io::Error>(())
        })
        .await;
    });
}

/// When a connection last read or wrote a byte, shared by its socket and its watchdog.
#[derive(Clone)]
struct Activity {
    since: Instant,
    /// Milliseconds from `since` to the last byte.
    last_ms: Arc<AtomicU64>,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            since: Instant::now(),
            last_ms: Arc::new(AtomicU64::new(0)),
        }
    }

    fn touch(&self) {
        let now = u64::try_from(self.since.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(now, Ordering::Relaxed);
    }

    /// Completes once no byte has moved for `timeout`.
    async fn idle_for(&self, timeout: Duration) {
        loop {
            let last = self.since + Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
            let deadline = last + timeout;
            if Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline.into()).await;
        }
    }
}

/// A socket that records its activity, and that gives the responses hyper writes by itself
/// for requests it cannot parse (bare 400, 414 and 431 with no body: a malformed request
/// line, header or `Content-Length`, or a head over hyper's own buffer) the AWS error shape.
/// hyper has no hook for those responses, so they are recognised as they are written: a
/// write that is exactly one head, with one of those statuses, `content-length: 0` and no
/// `content-type` (every response of ours has a content type), is replaced.
struct Watched {
    inner: TcpStream,
    activity: Activity,
    /// A replacement response still being written, and how much of it is.
    shaped: Option<(Vec<u8>, usize)>,
}

impl Watched {
    /// Writes what is left of a replacement response.
    fn poll_shaped(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        while let Some((bytes, at)) = &mut self.shaped {
            if *at == bytes.len() {
                self.shaped = None;
                break;
            }
            let n = std::task::ready!(Pin::new(&mut self.inner).poll_write(cx, &bytes[*at..]))?;
            if n == 0 {
                return Poll::Ready(Err(std::io::ErrorKind::WriteZero.into()));
            }
            *at += n;
            self.activity.touch();
        }
        Poll::Ready(Ok(()))
    }

    /// Takes over a write of hyper's own refusal; the whole of `head` counts as written.
    fn poll_take_over(
        &mut self,
        cx: &mut Context<'_>,
        head: &[u8],
    ) -> Option<Poll<std::io::Result<usize>>> {
        let shaped = shape_automatic_response(head)?;
        self.shaped = Some((shaped, 0));
        Some(match self.poll_shaped(cx) {
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            _ => Poll::Ready(Ok(head.len())),
        })
    }
}

/// The AWS-shaped replacement for a bare response hyper writes on a parse error.
fn shape_automatic_response(head: &[u8]) -> Option<Vec<u8>> {
    let (status, error_type, message) = [
        (
            "400 Bad Request",
            "ValidationException",
            "The request could not be parsed: its request line, a header or its framing \
             (Content-Length, Transfer-Encoding) is malformed",
        ),
        (
            "414 URI Too Long",
            "RequestUriTooLongException",
            "The request URI is too long",
        ),
        (
            "431 Request Header Fields Too Large",
            "RequestHeaderFieldsTooLargeException",
            "The request headers are too large",
        ),
    ]
    .into_iter()
    .find(|(status, _, _)| {
        head.strip_prefix(b"HTTP/1.1 ")
            .is_some_and(|rest| rest.starts_with(status.as_bytes()))
    })?;
    let end = head.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let lower = head.to_ascii_lowercase();
    if end != head.len()
        || !lower.windows(21).any(|w| w == b"\r\ncontent-length: 0\r\n")
        || lower.windows(14).any(|w| w == b"\r\ncontent-type")
    {
        return None;
    }
    let body = serde_json::json!({ "__type": error_type, "message": message }).to_string();
    Some(
        format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\n\
             x-amzn-errortype: {error_type}\r\nconnection: close\r\n\
             content-length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        result
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        std::task::ready!(self.poll_shaped(cx))?;
        if let Some(taken) = self.poll_take_over(cx, buf) {
            return taken;
        }
        let result = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        result
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        std::task::ready!(self.poll_shaped(cx))?;
        if let [head, rest @ ..] = bufs {
            if rest.iter().all(|b| b.is_empty()) {
                if let Some(taken) = self.poll_take_over(cx, head) {
                    return taken;
                }
            }
        }
        let result = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        std::task::ready!(self.poll_shaped(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        std::task::ready!(self.poll_shaped(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
