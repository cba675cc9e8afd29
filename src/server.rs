//! Builds the [`App`] from configuration, accepts connections and shuts down gracefully.

use crate::app;
use crate::auth::{Identities, TokenKey};
use crate::clock::Clock;
use crate::config::ServeArgs;
use crate::outbound::Outbound;
use crate::registry::{external_connection_format, Quotas, Registry};
use crate::state::{App, Settings};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// Opens the store and resolves configuration into the shared state.
pub fn build_app(args: &ServeArgs, bound: SocketAddr) -> Result<App, String> {
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
    let mut external_connections = std::collections::BTreeMap::new();
    for entry in &args.external_connections {
        let (name, url) = entry
            .split_once('=')
            .ok_or_else(|| format!("--external-connection wants NAME=URL, got '{entry}'"))?;
        if external_connection_format(name).is_none() {
            return Err(format!("unknown external connection '{name}'"));
        }
        if !url.starts_with("http://") {
            return Err(format!("the URL for {name} must start with http://"));
        }
        external_connections.insert(name.to_string(), url.to_string());
    }
    let clock = Arc::new(Clock::system());
    let quotas = Quotas {
        domains_per_account: args.quota_domains,
        repositories_per_domain: args.quota_repositories,
        asset_size_bytes: args.quota_asset_size_bytes,
        ..Quotas::default()
    };
    let mut registry =
        Registry::open(&args.data_dir, Arc::clone(&clock), quotas).map_err(|e| format!("{e:?}"))?;
    let sinks = crate::events::Sinks {
        file: args.events_file.clone(),
        endpoint: args.events_endpoint.clone(),
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
        },
        outbound: Outbound::new(
            Duration::from_secs(5),
            Duration::from_secs(args.upstream_timeout_seconds),
        ),
        pages: crate::cache::PageCache::default(),
        listings: crate::cache::ListingCache::default(),
    })
}

/// Serves until SIGINT or SIGTERM, then lets in-flight requests finish.
pub async fn serve(app: App, listener: TcpListener) -> std::io::Result<()> {
    let app = Arc::new(app);
    let graceful = GracefulShutdown::new();
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
                let _ = stream.set_nodelay(true);
                let app = Arc::clone(&app);
                let service = service_fn(move |request| {
                    let app = Arc::clone(&app);
                    async move { Ok::<_, std::convert::Infallible>(app::handle(app, request).await) }
                });
                let connection = http1::Builder::new()
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(stream), service);
                let connection = graceful.watch(connection);
                tokio::spawn(async move {
                    if let Err(e) = connection.await {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                });
            }
            () = &mut shutdown => {
                tracing::info!("shutting down");
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
