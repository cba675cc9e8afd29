//! Entry point: parse configuration, start logging, serve (or check a server's health).

use codeartifact_local::config::{Cli, Command, LogFormat, ServeArgs, SnapshotCommand};
use codeartifact_local::server;
use std::io::{IsTerminal, Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    let cli = Cli::parse_args();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(cli.serve),
        Command::Healthcheck => healthcheck(&cli.serve),
        Command::Snapshot(command) => snapshot(&cli.serve, &command),
    }
}

fn serve(mut args: ServeArgs) -> ExitCode {
    init_logging(args.log_format, args.log_level.as_deref());
    let listen = match args.listen_addr() {
        Ok(addr) => addr,
        Err(e) => {
            tracing::error!("{e}");
            return ExitCode::FAILURE;
        }
    };
    // Everything the server creates (store, blobs, token key, events file) is private to
    // its user: directories 0700, files 0600.
    #[cfg(unix)]
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    // Dropped last: removes the throw-away data directory after the server has stopped.
    let _ephemeral = if args.ephemeral {
        match Ephemeral::create() {
            Ok(dir) => {
                args.data_dir = dir.0.clone();
                Some(dir)
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot create a temporary data directory");
                return ExitCode::FAILURE;
            }
        }
    } else {
        None
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the runtime");
            return ExitCode::FAILURE;
        }
    };
    if let Some(file) = &args.load_snapshot {
        match codeartifact_local::registry::snapshot::load_into(
            file,
            &args.data_dir,
            args.snapshot_force,
        ) {
            Ok(stats) => tracing::info!(
                snapshot = %file.display(),
                records = stats.records,
                blobs = stats.blobs,
                "snapshot loaded"
            ),
            Err(e) => {
                tracing::error!(snapshot = %file.display(), error = describe(e), "cannot load the snapshot");
                return ExitCode::FAILURE;
            }
        }
    }
    let result = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| std::io::Error::new(e.kind(), bind_failure(listen, &e)))?;
        let bound = listener.local_addr()?;
        // `NAME=dir:PATH` connections become loopback URLs of in-process registries.
        let mut args = args.clone();
        codeartifact_local::fixtures::localdir::serve_directories(&mut args.external_connections)
            .await
            .map_err(std::io::Error::other)?;
        let app =
            std::sync::Arc::new(server::build_app(&args, bound).map_err(std::io::Error::other)?);
        if let Some(seed) = &args.seed {
            let started = std::time::Instant::now();
            let applied =
                codeartifact_local::fixtures::apply_seed(std::sync::Arc::clone(&app), seed)
                    .await
                    .map_err(std::io::Error::other)?;
            tracing::info!(
                seed = %seed.display(),
                changed = applied.changed,
                unchanged = applied.unchanged,
                millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                "seed applied"
            );
        }
        tracing::info!(
            listen = %bound,
            data_dir = %args.data_dir.display(),
            ephemeral = args.ephemeral,
            public_url = %app.settings.public_base_url,
            "ready"
        );
        server::serve(app, listener).await
    });
    // Every task holding the store ends with the runtime, before the directory goes.
    drop(runtime);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "server failed");
            ExitCode::FAILURE
        }
    }
}

/// What to tell the user when the listener cannot be bound: the address, and how to pick
/// another one.
fn bind_failure(listen: SocketAddr, e: &std::io::Error) -> String {
    let how = "choose another with --listen HOST:PORT or --port PORT \
               (CODEARTIFACT_LOCAL_LISTEN, CODEARTIFACT_LOCAL_PORT)";
    match e.kind() {
        std::io::ErrorKind::AddrInUse => format!(
            "cannot listen on {listen}: the address is already in use \
             (another codeartifact-local?); {how}"
        ),
        std::io::ErrorKind::PermissionDenied => format!(
            "cannot listen on {listen}: permission denied (ports below 1024 need privileges); {how}"
        ),
        std::io::ErrorKind::AddrNotAvailable => format!(
            "cannot listen on {listen}: no interface of this machine has that address; {how}"
        ),
        _ => format!("cannot listen on {listen}: {e}; {how}"),
    }
}

/// A data directory of `--ephemeral` runs: made fresh under the system's temporary directory,
/// removed when dropped.
struct Ephemeral(PathBuf);

impl Ephemeral {
    fn create() -> std::io::Result<Ephemeral> {
        let dir = std::env::temp_dir().join(format!(
            "codeartifact-local-ephemeral-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir(&dir)?;
        tracing::info!(data_dir = %dir.display(), "ephemeral: the store is removed when the server stops");
        Ok(Ephemeral(dir))
    }
}

impl Drop for Ephemeral {
    fn drop(&mut self) {
        match std::fs::remove_dir_all(&self.0) {
            Ok(()) => tracing::info!(data_dir = %self.0.display(), "ephemeral store removed"),
            Err(e) => {
                tracing::warn!(data_dir = %self.0.display(), error = %e, "cannot remove the ephemeral store");
            }
        }
    }
}

/// `--log-level` if given, else `RUST_LOG`, else `info`.
fn init_logging(format: LogFormat, level: Option<&str>) {
    let filter = match level {
        Some(level) => tracing_subscriber::EnvFilter::try_new(level).unwrap_or_else(|e| {
            eprintln!("--log-level {level}: {e}; logging at info");
            tracing_subscriber::EnvFilter::new("info")
        }),
        None => tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// A dependency-free HTTP GET of `/health` at the configured listen address (`--listen`,
/// `--port` or their variables; a wildcard address is checked on loopback), so a container
/// image needs no curl. Prints what it checked and what it got.
fn healthcheck(args: &ServeArgs) -> ExitCode {
    let mut addr = match args.listen_addr() {
        Ok(addr) => addr,
        Err(e) => {
            eprintln!("unhealthy: {e}");
            return ExitCode::FAILURE;
        }
    };
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    let url = format!("http://{addr}/health");
    let check = || -> std::io::Result<String> {
        let mut stream = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
        stream.set_read_timeout(Some(Duration::from_secs(2)))?;
        write!(
            stream,
            "GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        Ok(response)
    };
    match check() {
        Ok(response) if response.starts_with("HTTP/1.1 200") => {
            let body = response
                .split_once("\r\n\r\n")
                .map_or("", |(_, b)| b.trim());
            println!("healthy: GET {url} answered 200 {body}");
            ExitCode::SUCCESS
        }
        Ok(response) => {
            let status = response.lines().next().unwrap_or("no answer");
            eprintln!("unhealthy: GET {url} answered {status}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!(
                "unhealthy: GET {url} failed: {e} (the address comes from --listen/--port or \
                 CODEARTIFACT_LOCAL_LISTEN/CODEARTIFACT_LOCAL_PORT)"
            );
            ExitCode::FAILURE
        }
    }
}

/// `snapshot save` and `snapshot load`.
fn snapshot(args: &ServeArgs, command: &SnapshotCommand) -> ExitCode {
    init_logging(args.log_format, args.log_level.as_deref());
    #[cfg(unix)]
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    let result = match command {
        SnapshotCommand::Load { file, force } => {
            codeartifact_local::registry::snapshot::load_into(file, &args.data_dir, *force)
                .map(|stats| {
                    format!(
                        "loaded {} records and {} blobs into {}",
                        stats.records,
                        stats.blobs,
                        args.data_dir.display()
                    )
                })
                .map_err(describe)
        }
        SnapshotCommand::Save { file } => save_snapshot(args, file),
    };
    match result {
        Ok(message) => {
            eprintln!("{message}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("snapshot: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Asks the server on `--listen` for a snapshot; with none listening, reads the stopped
/// data directory.
fn save_snapshot(args: &ServeArgs, file: &std::path::Path) -> Result<String, String> {
    let mut addr = args.listen_addr()?;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    if std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err() {
        let clock = std::sync::Arc::new(codeartifact_local::clock::Clock::system());
        let registry = codeartifact_local::registry::Registry::open(
            &args.data_dir,
            clock,
            codeartifact_local::registry::Quotas {
                min_free_bytes: 0,
                ..Default::default()
            },
        )
        .map_err(|e| format!("cannot open {}: {}", args.data_dir.display(), describe(e)))?;
        let stats = codeartifact_local::registry::snapshot::save_offline(&registry, file)
            .map_err(describe)?;
        return Ok(format!(
            "saved {} records and {} blobs from {}",
            stats.records,
            stats.blobs,
            args.data_dir.display()
        ));
    }
    let identities = server::identities(args)?;
    let identity = identities
        .iter()
        .next()
        .cloned()
        .ok_or("no identity is configured to sign the request")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let url = format!("http://{addr}/_codeartifact/snapshot");
    let body = runtime.block_on(async {
        use http_body_util::BodyExt as _;
        let mut request = http::Request::post(&url)
            .header(http::header::HOST, addr.to_string())
            .body(http_body_util::Full::new(bytes::Bytes::new()))
            .map_err(|e| e.to_string())?;
        codeartifact_local::events::sign(
            &mut request,
            &identity,
            &args.region,
            "codeartifact",
            b"",
        )?;
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http::<http_body_util::Full<bytes::Bytes>>();
        let response = client.request(request).await.map_err(|e| e.to_string())?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        if !status.is_success() {
            return Err(format!(
                "the server answered {status}: {}",
                String::from_utf8_lossy(&body)
            ));
        }
        Ok(body)
    })?;
    let tmp = file.with_extension("partial");
    std::fs::write(&tmp, &body).map_err(|e| e.to_string())?;
    std::fs::rename(&tmp, file).map_err(|e| e.to_string())?;
    Ok(format!(
        "saved {} bytes from the server at {addr}",
        body.len()
    ))
}

/// A registry error as one line (a snapshot's errors are storage errors with a message).
fn describe(e: codeartifact_local::registry::Error) -> String {
    match e {
        codeartifact_local::registry::Error::Store(e) => e.0,
        other => format!("{other:?}"),
    }
}
