//! Command line and environment → [`Config`]. Every flag has an environment variable so the
//! server can be configured in a container without a command line.

pub use crate::addressing::EndpointStyle;
use clap::builder::BoolishValueParser;
use clap::{ArgAction, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;

/// The port we listen on by default: unused by AWS tools and clear of LocalStack's 4566.
pub const DEFAULT_PORT: u16 = 4580;

#[derive(Debug, Parser)]
#[command(
    name = "codeartifact-local",
    version,
    about = "AWS CodeArtifact, faithful and offline"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub serve: ServeArgs,
}

impl Cli {
    /// The command line, with every flag global: accepted before or after the subcommand
    /// (`codeartifact-local serve --listen …`, `codeartifact-local healthcheck --port …`) and
    /// listed by `serve --help`.
    pub fn command() -> clap::Command {
        <Cli as CommandFactory>::command().mut_args(|arg| match arg.get_id().as_str() {
            "help" | "version" => arg,
            _ => arg.global(true),
        })
    }

    /// Parses the process's arguments (and environment), exiting with clap's message on error.
    pub fn parse_args() -> Cli {
        Cli::parse_from_args(std::env::args_os())
    }

    /// Parses `args` (the first is the program name) as [`Cli::parse_args`] does.
    pub fn parse_from_args<I, T>(args: I) -> Cli
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let mut command = Cli::command();
        let matches = command.clone().get_matches_from(args);
        Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.format(&mut command).exit())
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default when no command is given).
    Serve,
    /// Ask a running server whether it is healthy; exit 0 if so (for container health checks).
    Healthcheck,
    /// Save or load a snapshot of the whole state (README "CI fixtures").
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
}

#[derive(Debug, Subcommand)]
pub enum SnapshotCommand {
    /// Writes a snapshot of `--data-dir` to FILE: from the running server listening on
    /// `--listen` when there is one (signed as the first configured identity), else from
    /// the stopped data directory.
    Save { file: PathBuf },
    /// Restores FILE into `--data-dir` (the server must be stopped). A data directory that
    /// holds state is refused unless `--force`.
    Load {
        file: PathBuf,
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on, `HOST:PORT`; the host may be a name (`localhost:4580`) or an
    /// IP address (`0.0.0.0:4580` for every interface).
    #[arg(
        long,
        env = "CODEARTIFACT_LOCAL_LISTEN",
        default_value = "127.0.0.1:4580"
    )]
    pub listen: String,

    /// Port to listen on, with the host of `--listen` (`--port 8080` is `--listen 127.0.0.1:8080`
    /// unless `--listen` names another host).
    #[arg(long, env = "CODEARTIFACT_LOCAL_PORT")]
    pub port: Option<u16>,

    /// Throw-away state: the store lives in a new temporary directory, removed when the
    /// server stops (`--data-dir` is ignored); nothing is left on disk.
    #[arg(long, env = "CODEARTIFACT_LOCAL_EPHEMERAL", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new())]
    pub ephemeral: bool,

    /// Directory holding the embedded store.
    #[arg(
        long,
        env = "CODEARTIFACT_LOCAL_DATA_DIR",
        default_value = "codeartifact-data"
    )]
    pub data_dir: PathBuf,

    /// Region used when a request does not name one (an authorization token or a
    /// repository endpoint URL without a region).
    #[arg(long, env = "CODEARTIFACT_LOCAL_REGION", default_value = "us-east-1")]
    pub region: String,

    /// Base URL clients use to reach this server (scheme, host, port), used in repository
    /// endpoint URLs. Defaults to the listen address (`localhost` when listening on all
    /// interfaces).
    #[arg(long, env = "CODEARTIFACT_LOCAL_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Shape of the URLs `GetRepositoryEndpoint` returns.
    #[arg(long, env = "CODEARTIFACT_LOCAL_ENDPOINT_STYLE", value_enum, default_value_t = EndpointStyle::Path)]
    pub endpoint_style: EndpointStyle,

    /// DNS suffix of host-style repository endpoints (`…d.codeartifact.{region}.{suffix}`).
    #[arg(
        long,
        env = "CODEARTIFACT_LOCAL_DNS_SUFFIX",
        default_value = "localhost"
    )]
    pub dns_suffix: String,

    /// Extra identities: `ACCESS_KEY:SECRET:ACCOUNT[:PRINCIPAL_ARN]`, comma-separated.
    #[arg(long, env = "CODEARTIFACT_LOCAL_IDENTITIES")]
    pub identities: Option<String>,

    /// JSON file of identities: `{"identities":[{"accessKeyId","secretAccessKey","accountId","principalArn"}]}`;
    /// an identity may carry IAM policies (`inlinePolicies`, `attachedPolicies`; README "Access").
    #[arg(long, env = "CODEARTIFACT_LOCAL_IDENTITIES_FILE")]
    pub identities_file: Option<PathBuf>,

    /// Do not add the default identity (`test`/`test`, account 000000000000). The variable
    /// takes 1/0, true/false, yes/no, on/off.
    #[arg(long, env = "CODEARTIFACT_LOCAL_NO_DEFAULT_IDENTITY", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new())]
    pub no_default_identity: bool,

    /// Where an external connection reaches its public registry: `NAME=URL`, repeatable or
    /// comma-separated (e.g. `public:npmjs=http://127.0.0.1:4873/`); `http://` or `https://`. User-info in the URL is
    /// sent as Basic credentials. A connection with no URL behaves as an unreachable
    /// registry; nothing is ever fetched from an address that is not configured here.
    /// `NAME=dir:PATH` serves a local directory as the registry instead (npm tarballs,
    /// wheels and sdists, a Maven repository layout such as `~/.m2/repository`, `.crate`s, `.gem`s).
    #[arg(
        long = "external-connection",
        env = "CODEARTIFACT_LOCAL_EXTERNAL_CONNECTIONS",
        value_delimiter = ','
    )]
    pub external_connections: Vec<String>,

    /// A PEM file of certificates that `https://` external connections trust besides the
    /// system's root certificates (a corporate proxy's CA, a mirror's own certificate).
    #[arg(long, env = "CODEARTIFACT_LOCAL_UPSTREAM_CA_FILE")]
    pub upstream_ca_file: Option<PathBuf>,

    /// Another origin (`http://host:port`) whose links an upstream registry's documents may
    /// point at, e.g. an index that serves its files from a second host; repeatable or
    /// comma-separated. Links to any other origin than a connection's own URL are refused.
    #[arg(
        long = "upstream-link-origin",
        env = "CODEARTIFACT_LOCAL_UPSTREAM_LINK_ORIGINS",
        value_delimiter = ','
    )]
    pub upstream_link_origins: Vec<String>,

    /// Appends every package version change event (EventBridge's "CodeArtifact Package
    /// Version State Change", one JSON envelope per line) to this file.
    #[arg(long, env = "CODEARTIFACT_LOCAL_EVENTS_FILE")]
    pub events_file: Option<std::path::PathBuf>,

    /// Sends every package version change event to an EventBridge-compatible endpoint
    /// (`PutEvents` on the `default` bus, http:// only), signed as the recipient account's
    /// configured identity.
    #[arg(long, env = "CODEARTIFACT_LOCAL_EVENTS_ENDPOINT")]
    pub events_endpoint: Option<String>,

    /// Turns off the test controls under `/_codeartifact/` (the event stream and fault
    /// injection; README "Test controls"), which any configured identity may otherwise use.
    #[arg(long, env = "CODEARTIFACT_LOCAL_NO_TEST_CONTROLS")]
    pub no_test_controls: bool,

    /// Turns off the read-only web console under `/_codeartifact/console/` (README
    /// "Console"); it is open without credentials only while the server listens on loopback.
    #[arg(long, env = "CODEARTIFACT_LOCAL_NO_CONSOLE")]
    pub no_console: bool,

    /// A fault-injection rule applied from start-up, as the JSON document
    /// `POST /_codeartifact/faults` takes (README "Test controls"); repeatable.
    #[arg(
        long = "fault",
        env = "CODEARTIFACT_LOCAL_FAULTS",
        value_delimiter = '\n'
    )]
    pub faults: Vec<String>,

    /// Seconds an outbound request to an upstream registry may take in all.
    #[arg(
        long,
        env = "CODEARTIFACT_LOCAL_UPSTREAM_TIMEOUT_SECONDS",
        default_value_t = 10
    )]
    pub upstream_timeout_seconds: u64,

    /// Seconds a public registry's listing (npm packument, PyPI project page, Maven
    /// maven-metadata.xml) is reused before it is fetched again, as the service's regional
    /// metadata cache does (AWS: up to 30 minutes for npm, PyPI and NuGet, 3 hours for
    /// Maven). While the registry is unreachable an expired copy still answers. 0 (the
    /// default) fetches every time, which keeps tests deterministic.
    #[arg(
        long,
        env = "CODEARTIFACT_LOCAL_UPSTREAM_METADATA_TTL_SECONDS",
        default_value_t = 0
    )]
    pub upstream_metadata_ttl_seconds: u64,

    /// Largest clock difference accepted in a signed request, in seconds.
    #[arg(
        long,
        env = "CODEARTIFACT_LOCAL_MAX_SKEW_SECONDS",
        default_value_t = 300
    )]
    pub max_skew_seconds: u64,

    /// Largest JSON request body accepted by the control plane, in bytes.
    #[arg(long, env = "CODEARTIFACT_LOCAL_MAX_JSON_BODY", default_value_t = 1024 * 1024)]
    pub max_json_body: usize,

    /// Seconds a connection may take to send a request's headers, counted from when it
    /// is ready for a request: a new connection that sends nothing, one that trickles its
    /// headers, and an idle keep-alive connection between requests are all closed then.
    #[arg(
        long,
        env = "CODEARTIFACT_LOCAL_HEADER_TIMEOUT_SECONDS",
        default_value_t = 30
    )]
    pub header_timeout_seconds: u64,

    /// Seconds a request body may go without delivering a byte before the request fails
    /// (408 `RequestTimeoutException`, and any staged upload is discarded).
    #[arg(
        long,
        env = "CODEARTIFACT_LOCAL_BODY_TIMEOUT_SECONDS",
        default_value_t = 30
    )]
    pub body_timeout_seconds: u64,

    /// Bytes per second a request body must average, counted over the time spent waiting
    /// for it, once that time exceeds the body timeout: a body dripped a byte at a time just
    /// inside each timeout fails then (408 `RequestTimeoutException`). 0 sets no minimum.
    #[arg(long, env = "CODEARTIFACT_LOCAL_MIN_BODY_RATE", default_value_t = 1024)]
    pub min_body_rate: u64,

    /// Seconds a connection may go without a byte read or written (a client that stops
    /// reading its response, say) before it is closed.
    #[arg(
        long,
        env = "CODEARTIFACT_LOCAL_IDLE_TIMEOUT_SECONDS",
        default_value_t = 120
    )]
    pub idle_timeout_seconds: u64,

    /// Connections served at once; beyond it a new connection is answered 503
    /// `ServiceUnavailableException` and closed.
    #[arg(
        long,
        env = "CODEARTIFACT_LOCAL_MAX_CONNECTIONS",
        default_value_t = 1024
    )]
    pub max_connections: usize,

    /// Uploads (asset bodies streamed to staging) in progress at once, in all; beyond it
    /// an upload is refused with 429 `ThrottlingException`.
    #[arg(long, env = "CODEARTIFACT_LOCAL_MAX_UPLOADS", default_value_t = 256)]
    pub max_uploads: usize,

    /// Uploads in progress at once for one identity (access key or token principal).
    #[arg(
        long,
        env = "CODEARTIFACT_LOCAL_MAX_UPLOADS_PER_IDENTITY",
        default_value_t = 32
    )]
    pub max_uploads_per_identity: usize,

    /// Bytes that must stay free on the data directory's file system. Below it every write
    /// (upload, publish, any change) is refused with 402 `ServiceQuotaExceededException`,
    /// reads go on, and writes resume by themselves once space is freed. Keep it above the
    /// store's 8 MiB reserve (given up to open the store on a full disk). 0 turns it off.
    #[arg(
        long,
        env = "CODEARTIFACT_LOCAL_MIN_FREE_BYTES",
        default_value_t = 64 * 1024 * 1024
    )]
    pub min_free_bytes: u64,

    /// A seed document (JSON, or YAML by its `.yaml`/`.yml` name) applied at start-up:
    /// domains, repositories, package groups, origin controls and packages (README "CI
    /// fixtures"). Applying it again changes nothing; a conflict stops start-up.
    #[arg(long, env = "CODEARTIFACT_LOCAL_SEED")]
    pub seed: Option<PathBuf>,

    /// A snapshot (`snapshot save`) restored into the data directory before start-up,
    /// refused when the data directory already holds state unless
    /// `--snapshot-force`.
    #[arg(long, env = "CODEARTIFACT_LOCAL_LOAD_SNAPSHOT")]
    pub load_snapshot: Option<PathBuf>,

    /// Let `--load-snapshot` replace the state of a data directory that has some.
    #[arg(long, env = "CODEARTIFACT_LOCAL_SNAPSHOT_FORCE")]
    pub snapshot_force: bool,

    /// Log format.
    #[arg(long, env = "CODEARTIFACT_LOCAL_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// What to log: a level (`error`, `warn`, `info`, `debug`, `trace`) or `RUST_LOG` directives
    /// (`info,access=warn` drops the per-request access lines). Without it `RUST_LOG` is used,
    /// and without that `info`: one access line per request.
    #[arg(long, env = "CODEARTIFACT_LOCAL_LOG_LEVEL")]
    pub log_level: Option<String>,

    /// Domains per account (AWS default 10).
    #[arg(long, env = "CODEARTIFACT_LOCAL_QUOTA_DOMAINS", default_value_t = 10)]
    pub quota_domains: usize,

    /// Repositories per domain (AWS default 1000).
    #[arg(
        long,
        env = "CODEARTIFACT_LOCAL_QUOTA_REPOSITORIES",
        default_value_t = 1000
    )]
    pub quota_repositories: usize,

    /// Largest asset accepted, in bytes (AWS default 5 GiB, adjustable).
    #[arg(
        long,
        env = "CODEARTIFACT_LOCAL_QUOTA_ASSET_SIZE_BYTES",
        default_value_t = 5 * 1024 * 1024 * 1024
    )]
    pub quota_asset_size_bytes: u64,
}

impl ServeArgs {
    /// The address to listen on: `--listen` (its host resolved if it is a name) with the port
    /// of `--port` when given. A name that resolves to several addresses takes the first,
    /// IPv4 before IPv6.
    pub fn listen_addr(&self) -> Result<SocketAddr, String> {
        let spec = self.listen.trim();
        let mut addrs: Vec<SocketAddr> = match spec.parse::<SocketAddr>() {
            Ok(addr) => vec![addr],
            Err(_) => {
                if spec
                    .rsplit_once(':')
                    .is_none_or(|(_, port)| port.parse::<u16>().is_err())
                {
                    return Err(format!(
                        "--listen wants HOST:PORT (e.g. 127.0.0.1:{DEFAULT_PORT} or localhost:{DEFAULT_PORT}), got '{spec}'"
                    ));
                }
                spec.to_socket_addrs()
                    .map_err(|e| format!("--listen {spec}: cannot resolve the host: {e}"))?
                    .collect()
            }
        };
        addrs.sort_by_key(SocketAddr::is_ipv6);
        let mut addr = *addrs
            .first()
            .ok_or_else(|| format!("--listen {spec}: the host resolves to no address"))?;
        if let Some(port) = self.port {
            addr.set_port(port);
        }
        Ok(addr)
    }

    /// The base URL clients use to reach us, without a trailing slash. `bound` is the
    /// address actually listened on (the port may have been chosen by the OS).
    pub fn public_base_url(&self, bound: SocketAddr) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None if bound.ip().is_unspecified() => format!("http://localhost:{}", bound.port()),
            None => format!("http://{bound}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{Cli, Command};

    fn parse(args: &[&str]) -> Cli {
        Cli::parse_from_args(std::iter::once("codeartifact-local").chain(args.iter().copied()))
    }

    #[test]
    fn flags_go_before_or_after_the_subcommand() {
        for args in [
            &["--listen", "127.0.0.1:9", "serve"][..],
            &["serve", "--listen", "127.0.0.1:9"][..],
        ] {
            let cli = parse(args);
            assert!(matches!(cli.command, Some(Command::Serve)), "{args:?}");
            assert_eq!(cli.serve.listen, "127.0.0.1:9", "{args:?}");
        }
        let cli = parse(&["healthcheck", "--port", "7"]);
        assert!(matches!(cli.command, Some(Command::Healthcheck)));
        assert_eq!(cli.serve.listen_addr().unwrap().to_string(), "127.0.0.1:7");
    }

    #[test]
    fn listen_takes_names_and_port_overrides_the_port() {
        let cli = parse(&["--listen", "localhost:4584"]);
        let addr = cli.serve.listen_addr().unwrap();
        assert!(addr.ip().is_loopback() && addr.port() == 4584, "{addr}");
        let cli = parse(&["--listen", "0.0.0.0:1", "--port", "2"]);
        assert_eq!(cli.serve.listen_addr().unwrap().to_string(), "0.0.0.0:2");
        for bad in ["localhost", "127.0.0.1", "host:port", ":"] {
            let cli = parse(&["--listen", bad]);
            let e = cli.serve.listen_addr().unwrap_err();
            assert!(
                e.contains("HOST:PORT") || e.contains("resolve"),
                "{bad}: {e}"
            );
        }
    }
}
