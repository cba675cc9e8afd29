//! Shared by the benchmarks (`mod support;` in each; not a bench target itself): starting and
//! stopping the release server, reading `/proc`, SigV4 signing with `aws-sigv4`, a minimal
//! HTTP/1.1 client over tokio `TcpStream`s, control-plane setup and repository endpoints,
//! timed request series and keep-alive loads, bounded client-tool runs (npm, pip), and the
//! table rows and JSON fields the benches report alike.
//!
//! Each bench uses a different subset, hence the `dead_code` allowance.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream as StdTcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub const ACCESS_KEY: &str = "test";
pub const SECRET_KEY: &str = "test";
pub const REGION: &str = "us-east-1";
pub const SERVICE: &str = "codeartifact";
/// The domain every bench creates its repository in.
pub const DOMAIN: &str = "bench";
pub const READY_TIMEOUT: Duration = Duration::from_secs(30);
pub const STOP_TIMEOUT: Duration = Duration::from_secs(15);

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `CODEARTIFACT_LOCAL_BIN`, or `target/release/codeartifact-local`; an error if missing.
pub fn server_bin() -> Result<PathBuf, BoxError> {
    let bin = std::env::var_os("CODEARTIFACT_LOCAL_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/codeartifact-local")
        });
    if !bin.is_file() {
        return Err(format!(
            "server binary {} not found; run `cargo build --release` or set CODEARTIFACT_LOCAL_BIN",
            bin.display()
        )
        .into());
    }
    Ok(bin)
}

pub fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// A bench's `main`: runs it and, on an error, prints it and exits with 1.
pub fn run_or_exit(bench: &str, run: fn() -> Result<(), BoxError>) {
    if let Err(e) = run() {
        eprintln!("{bench} bench failed: {e}");
        std::process::exit(1);
    }
}

/// `BENCH_SERVER_LOG`: `RUST_LOG` for the server (default `info,access=warn`: the info-level
/// "ready" line, which is where the bench finds the port, without the per-request access
/// lines, so figures stay comparable with those taken before there were any).
pub fn server_log() -> String {
    std::env::var("BENCH_SERVER_LOG").unwrap_or_else(|_| "info,access=warn".to_owned())
}

/// The CPUs this process may use (0 if unknown).
pub fn cpus() -> usize {
    std::thread::available_parallelism().map_or(0, |n| n.get())
}

/// What every bench reads first: the server binary, its log filter and the machine.
pub struct BenchEnv {
    pub bin: PathBuf,
    pub server_log: String,
    pub cpus: usize,
    pub clk_tck: f64,
}

impl BenchEnv {
    /// An error if the server binary is missing (see [`server_bin`]).
    pub fn from_env() -> Result<BenchEnv, BoxError> {
        Ok(BenchEnv {
            bin: server_bin()?,
            server_log: server_log(),
            cpus: cpus(),
            clk_tck: clock_ticks_per_second(),
        })
    }

    /// Prints `{bench} bench: BIN (server RUST_LOG=…, N CPUs…)`, `more` ending the
    /// parenthesis.
    pub fn announce(&self, bench: &str, more: &str) {
        println!(
            "{bench} bench: {} (server RUST_LOG={}, {} CPUs{more})",
            self.bin.display(),
            self.server_log,
            self.cpus
        );
    }

    /// Starts the server (see [`Server::start`]).
    pub fn start_server(&self) -> Result<Server, BoxError> {
        Server::start(&self.bin, &self.server_log)
    }
}

/// The load generator's runtime: multi-threaded tokio with `threads` workers.
pub fn client_runtime(threads: usize) -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
}

// ---------------------------------------------------------------------------------------
// The server process

pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    pub ready_after: Duration,
    pub log_line_after: Duration,
    _data_dir: tempfile::TempDir,
}

impl Server {
    /// Spawns the server on port 0 with a fresh data dir and waits until `/health` is 200.
    pub fn start(bin: &Path, server_log: &str) -> Result<Server, BoxError> {
        let data_dir = tempfile::tempdir()?;
        let spawned = Instant::now();
        let mut child = Command::new(bin)
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir.path())
            .env("RUST_LOG", server_log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, rx) = mpsc::channel();
        // Finds the listen address in the "ready" line, then keeps draining stderr (one log
        // line per request at info) so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut reader = BufReader::with_capacity(64 * 1024, stderr);
            let mut line = String::new();
            loop {
                line.clear();
                match reader.read_line(&mut line) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                if line.contains("ready") {
                    if let Some(addr) = parse_listen(&line) {
                        let _ = tx.send((addr, spawned.elapsed()));
                        break;
                    }
                }
            }
            let mut sink = [0u8; 64 * 1024];
            while matches!(reader.read(&mut sink), Ok(n) if n > 0) {}
        });

        let deadline = spawned + READY_TIMEOUT;
        let mut known: Option<(SocketAddr, Duration)> = None;
        loop {
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "server not ready within 30 s (listen address {}; the info-level \"ready\" \
                     line must not be filtered out by RUST_LOG)",
                    if known.is_some() {
                        "seen"
                    } else {
                        "never logged"
                    }
                )
                .into());
            }
            if let Some(status) = child.try_wait()? {
                return Err(format!("server exited during startup: {status}").into());
            }
            if known.is_none() {
                known = rx.try_recv().ok();
            }
            if let Some((addr, log_line_after)) = known {
                if health_ok(addr) {
                    return Ok(Server {
                        ready_after: spawned.elapsed(),
                        child,
                        addr,
                        log_line_after,
                        _data_dir: data_dir,
                    });
                }
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn stop(mut self) -> Result<Duration, BoxError> {
        self.stop_ref()
    }

    /// SIGTERM, then wait for the exit (SIGKILL after a timeout). Returns the time to exit.
    pub fn stop_ref(&mut self) -> Result<Duration, BoxError> {
        let pid = self.child.id();
        let sent = Instant::now();
        let status = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()?;
        if !status.success() {
            return Err(format!("kill -TERM {pid} failed").into());
        }
        loop {
            if self.child.try_wait()?.is_some() {
                return Ok(sent.elapsed());
            }
            if sent.elapsed() > STOP_TIMEOUT {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return Err("server did not exit within 15 s of SIGTERM".into());
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

impl Drop for Server {
    /// A bench that fails half-way must not leave its server running: SIGKILL if it was not
    /// stopped (a no-op after `stop`/`stop_ref`, which reap the child).
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `listen=127.0.0.1:PORT` from a text log line.
fn parse_listen(line: &str) -> Option<SocketAddr> {
    let rest = &line[line.find("listen=")? + "listen=".len()..];
    let end = rest
        .find(|c: char| c.is_whitespace() || c == ',' || c == '"')
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// One `GET /health` over a fresh connection; true on a 200.
fn health_ok(addr: SocketAddr) -> bool {
    let attempt = || -> std::io::Result<bool> {
        let mut stream = StdTcpStream::connect_timeout(&addr, Duration::from_millis(200))?;
        stream.set_read_timeout(Some(Duration::from_millis(500)))?;
        stream.set_nodelay(true)?;
        stream.write_all(
            format!("GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
        )?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head)?;
        Ok(&head == b"HTTP/1.1 200")
    };
    attempt().unwrap_or(false)
}

// ---------------------------------------------------------------------------------------
// /proc

pub struct Mem {
    pub rss_kib: u64,
    pub hwm_kib: u64,
}

pub fn read_mem(pid: u32) -> Result<Mem, BoxError> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Ok(Mem {
        rss_kib: field("VmRSS:"),
        hwm_kib: field("VmHWM:"),
    })
}

/// utime + stime in clock ticks, and the thread count, from /proc/<pid>/stat.
pub fn read_cpu(pid: &str) -> Result<(u64, u64), BoxError> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name, which is parenthesised and may contain spaces.
    let after = &stat[stat.rfind(')').ok_or("malformed stat")? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // fields[0] is field 3 (state): utime is field 14, stime 15, num_threads 20.
    let num = |i: usize| -> u64 { fields.get(i).and_then(|v| v.parse().ok()).unwrap_or(0) };
    Ok((num(11) + num(12), num(17)))
}

/// CPU time (user+sys, clock ticks) of this process's children that have been waited for
/// (`cutime + cstime` from /proc/self/stat), which includes their own waited-for children:
/// read before spawning and after reaping a tool such as npm to get its whole CPU time.
pub fn read_children_cpu() -> Result<u64, BoxError> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    let after = &stat[stat.rfind(')').ok_or("malformed stat")? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // fields[0] is field 3: cutime is field 16, cstime 17.
    let num = |i: usize| -> u64 { fields.get(i).and_then(|v| v.parse().ok()).unwrap_or(0) };
    Ok(num(13) + num(14))
}

pub fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// CPU time (user+sys) of the server and of this process over an interval.
pub struct CpuMeter {
    server_pid: String,
    server_before: u64,
    client_before: u64,
}

impl CpuMeter {
    pub fn start(pid: u32) -> Result<CpuMeter, BoxError> {
        let server_pid = pid.to_string();
        let (server_before, _) = read_cpu(&server_pid)?;
        let (client_before, _) = read_cpu("self")?;
        Ok(CpuMeter {
            server_pid,
            server_before,
            client_before,
        })
    }

    /// Seconds of CPU time since `start`: (the server's, this process's).
    pub fn read(&self, clk_tck: f64) -> Result<(f64, f64), BoxError> {
        let (server_after, _) = read_cpu(&self.server_pid)?;
        let (client_after, _) = read_cpu("self")?;
        Ok((
            server_after.saturating_sub(self.server_before) as f64 / clk_tck,
            client_after.saturating_sub(self.client_before) as f64 / clk_tck,
        ))
    }
}

// ---------------------------------------------------------------------------------------
// Signed requests and a minimal HTTP/1.1 client

/// The request line and headers (ending in the blank line) of a request signed with
/// aws-sigv4 as an SDK would sign it. `headers` are sent in order and all of them are
/// offered to the signer; `body` is what the signature covers (`Precomputed` for a hash the
/// caller already knows, e.g. the `x-amz-content-sha256` of a streamed body).
pub fn signed_head(
    method: &str,
    path_and_query: &str,
    headers: &[(&str, String)],
    body: SignableBody<'_>,
) -> Result<String, BoxError> {
    let identity = Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "bench").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(REGION)
        .name(SERVICE)
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()?
        .into();
    let signable = SignableRequest::new(
        method,
        path_and_query,
        headers.iter().map(|(k, v)| (*k, v.as_str())),
        body,
    )?;
    let (instructions, _signature) = sign(signable, &params)?.into_parts();
    let mut out = format!("{method} {path_and_query} HTTP/1.1\r\n");
    for (name, value) in headers
        .iter()
        .map(|(k, v)| (*k, v.as_str()))
        .chain(instructions.headers())
    {
        out.push_str(name);
        out.push_str(": ");
        out.push_str(value);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    Ok(out)
}

/// Builds the complete request bytes (JSON body), signed with aws-sigv4.
pub fn signed_request(
    method: &str,
    path_and_query: &str,
    host: &str,
    body: &[u8],
) -> Result<Vec<u8>, BoxError> {
    let mut headers: Vec<(&str, String)> = vec![("host", host.to_owned())];
    if !body.is_empty() || method == "POST" {
        headers.push(("content-type", "application/json".to_owned()));
        headers.push(("content-length", body.len().to_string()));
    }
    let head = signed_head(method, path_and_query, &headers, SignableBody::Bytes(body))?;
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    Ok(bytes)
}

/// One keep-alive connection. Responses are framed by Content-Length only, which is what
/// the server sends for its whole-buffer JSON bodies and its asset downloads.
pub struct Conn {
    pub stream: TcpStream,
    buf: Vec<u8>,
    filled: usize,
}

pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Reply {
    /// The body of a 200; any other status is an error naming `what`, with the body.
    pub fn ok(self, what: &str) -> Result<Vec<u8>, BoxError> {
        self.expect(200, what)
    }

    /// The body of a reply with `status` (201 for a synchronous Swift publish); any other
    /// status is an error naming `what`, with the body.
    pub fn expect(self, status: u16, what: &str) -> Result<Vec<u8>, BoxError> {
        if self.status != status {
            return Err(format!(
                "{what}: HTTP {}: {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
            .into());
        }
        Ok(self.body)
    }
}

/// A response's status line and headers; the body is still to be read.
pub struct Head {
    pub status: u16,
    pub content_length: u64,
    pub headers: Vec<(String, String)>,
}

impl Head {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Status and Content-Length of a response head (without its final blank line).
fn parse_head(head: &str) -> Result<(u16, usize), BoxError> {
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or("malformed status line")?;
    let mut length = None;
    for line in head.split("\r\n").skip(1) {
        let (name, value) = line.split_once(':').ok_or("malformed header")?;
        if name.eq_ignore_ascii_case("content-length") {
            length = Some(value.trim().parse::<usize>()?);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return Err("chunked responses are not supported by the bench".into());
        }
    }
    // 304 and 204 carry no body, with or without a Content-Length.
    match (status, length) {
        (204 | 304, length) => Ok((status, length.unwrap_or(0))),
        (_, Some(length)) => Ok((status, length)),
        (_, None) => Err("response without Content-Length".into()),
    }
}

impl Conn {
    pub async fn connect(addr: SocketAddr) -> std::io::Result<Conn> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            buf: vec![0; 16 * 1024],
            filled: 0,
        })
    }

    /// Sends one request and reads its response; the body is kept only if `keep_body`.
    pub async fn roundtrip(&mut self, request: &[u8], keep_body: bool) -> Result<Reply, BoxError> {
        self.stream.write_all(request).await?;
        self.read_response(keep_body).await
    }

    /// Reads one whole response into memory (small bodies only).
    pub async fn read_response(&mut self, keep_body: bool) -> Result<Reply, BoxError> {
        loop {
            if let Some(head_end) = find(&self.buf[..self.filled], b"\r\n\r\n") {
                let (status, length) = parse_head(std::str::from_utf8(&self.buf[..head_end])?)?;
                let total = head_end + 4 + length;
                if self.buf.len() < total {
                    self.buf.resize(total, 0);
                }
                while self.filled < total {
                    self.fill().await?;
                }
                let body = if keep_body {
                    self.buf[head_end + 4..total].to_vec()
                } else {
                    Vec::new()
                };
                self.buf.copy_within(total..self.filled, 0);
                self.filled -= total;
                return Ok(Reply { status, body });
            }
            self.grow_if_full();
            self.fill().await?;
        }
    }

    /// Reads a response head only; follow with [`Conn::stream_body`] for the body.
    pub async fn read_head(&mut self) -> Result<Head, BoxError> {
        loop {
            if let Some(head_end) = find(&self.buf[..self.filled], b"\r\n\r\n") {
                let text = std::str::from_utf8(&self.buf[..head_end])?;
                let (status, length) = parse_head(text)?;
                let headers = text
                    .split("\r\n")
                    .skip(1)
                    .filter_map(|l| l.split_once(':'))
                    .map(|(n, v)| (n.to_owned(), v.trim().to_owned()))
                    .collect();
                self.buf.copy_within(head_end + 4..self.filled, 0);
                self.filled -= head_end + 4;
                return Ok(Head {
                    status,
                    content_length: length as u64,
                    headers,
                });
            }
            self.grow_if_full();
            self.fill().await?;
        }
    }

    /// Reads exactly `length` body bytes through `scratch`, handing each piece to `sink`
    /// (nothing is kept). Bytes beyond the body stay buffered for the next response.
    pub async fn stream_body(
        &mut self,
        length: u64,
        scratch: &mut [u8],
        mut sink: impl FnMut(&[u8]),
    ) -> Result<(), BoxError> {
        let mut left = length;
        // What arrived with the head first.
        let buffered = self.filled.min(usize::try_from(left).unwrap_or(usize::MAX));
        if buffered > 0 {
            sink(&self.buf[..buffered]);
            self.buf.copy_within(buffered..self.filled, 0);
            self.filled -= buffered;
            left -= buffered as u64;
        }
        while left > 0 {
            let want = scratch
                .len()
                .min(usize::try_from(left).unwrap_or(usize::MAX));
            let n = self.stream.read(&mut scratch[..want]).await?;
            if n == 0 {
                return Err(
                    format!("connection closed with {left} of {length} body bytes unread").into(),
                );
            }
            sink(&scratch[..n]);
            left -= n as u64;
        }
        Ok(())
    }

    fn grow_if_full(&mut self) {
        if self.filled == self.buf.len() {
            let grown = self.buf.len() * 2;
            self.buf.resize(grown, 0);
        }
    }

    async fn fill(&mut self) -> Result<(), BoxError> {
        let n = self.stream.read(&mut self.buf[self.filled..]).await?;
        if n == 0 {
            return Err("connection closed by the server".into());
        }
        self.filled += n;
        Ok(())
    }
}

pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

// ---------------------------------------------------------------------------------------
// Setup requests: the control plane and a repository endpoint

/// Bound on any single setup or check request.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Sends `request` and returns the body of its response, which must be a 200; `what` names
/// the request in an error.
pub async fn expect_200(conn: &mut Conn, request: &[u8], what: &str) -> Result<Vec<u8>, BoxError> {
    tokio::time::timeout(REQUEST_TIMEOUT, conn.roundtrip(request, true))
        .await
        .map_err(|_| format!("{what}: no answer within {REQUEST_TIMEOUT:?}"))??
        .ok(what)
}

/// A signed control-plane call (a POST sends `{}`) that must answer 200; its JSON body.
pub async fn control(
    conn: &mut Conn,
    method: &str,
    path: &str,
    host: &str,
) -> Result<serde_json::Value, BoxError> {
    let body: &[u8] = if method == "POST" { b"{}" } else { b"" };
    let request = signed_request(method, path, host, body)?;
    let reply = expect_200(conn, &request, &format!("{method} {path}")).await?;
    Ok(serde_json::from_slice(&reply)?)
}

/// CreateDomain [`DOMAIN`], then CreateRepository in it.
pub async fn create_repository(
    conn: &mut Conn,
    host: &str,
    repository: &str,
) -> Result<(), BoxError> {
    for path in [
        format!("/v1/domain?domain={DOMAIN}"),
        format!("/v1/repository?domain={DOMAIN}&repository={repository}"),
    ] {
        control(conn, "POST", &path, host).await?;
    }
    Ok(())
}

/// A repository endpoint and what a client needs to use it.
pub struct Endpoint {
    /// `http://127.0.0.1:PORT/{format}/d/{domain}-000000000000/{repository}/`
    pub url: String,
    /// The path part of `url` (starts and ends with `/`).
    pub path: String,
    /// The `Host` header value.
    pub host: String,
    pub token: String,
}

impl Endpoint {
    /// `Basic base64(aws:TOKEN)`
    pub fn basic_authorization(&self) -> String {
        use base64::Engine as _;
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("aws:{}", self.token))
        )
    }
}

/// CreateDomain [`DOMAIN`], CreateRepository, GetRepositoryEndpoint for `format` and
/// GetAuthorizationToken. A client (`tool`) is pointed at the endpoint, so it must be on
/// this server and nothing else.
pub async fn repository_endpoint(
    addr: SocketAddr,
    repository: &str,
    format: &str,
    tool: &str,
) -> Result<Endpoint, BoxError> {
    let host = addr.to_string();
    let mut conn = Conn::connect(addr).await?;
    create_repository(&mut conn, &host, repository).await?;
    let endpoint = control(
        &mut conn,
        "GET",
        &format!("/v1/repository/endpoint?domain={DOMAIN}&repository={repository}&format={format}"),
        &host,
    )
    .await?;
    let url = endpoint["repositoryEndpoint"]
        .as_str()
        .ok_or("GetRepositoryEndpoint: no repositoryEndpoint")?
        .to_owned();
    let prefix = format!("http://{host}/");
    let Some(rest) = url.strip_prefix(&prefix) else {
        return Err(format!(
            "the {format} endpoint {url} is not on {prefix}; refusing to run {tool}"
        )
        .into());
    };
    if !url.ends_with('/') {
        return Err(format!("the {format} endpoint {url} does not end with /").into());
    }
    let path = format!("/{rest}");
    let token = control(
        &mut conn,
        "POST",
        &format!("/v1/authorization-token?domain={DOMAIN}"),
        &host,
    )
    .await?["authorizationToken"]
        .as_str()
        .ok_or("GetAuthorizationToken: no authorizationToken")?
        .to_owned();
    println!("  endpoint {url}");
    Ok(Endpoint {
        url,
        path,
        host,
        token,
    })
}

// ---------------------------------------------------------------------------------------
// A series: requests sent one after another on one connection (publishes, uploads)

pub struct SeriesResult {
    pub count: usize,
    pub seconds: f64,
    pub rate: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Mean latency of the first and of the last tenth: does a request get slower as the
    /// series goes on?
    pub first_tenth_ms: f64,
    pub last_tenth_ms: f64,
    /// Mean size of a whole request.
    pub mean_body_bytes: f64,
    pub server_cpu_s: f64,
}

/// Sends each `(what, request)` in order on one keep-alive connection; each must answer
/// 200 (`what` names it in an error). The requests are built beforehand so only the
/// exchanges are timed.
pub async fn send_series(
    addr: SocketAddr,
    requests: &[(String, Vec<u8>)],
    pid: u32,
    clk_tck: f64,
) -> Result<SeriesResult, BoxError> {
    send_series_expecting(addr, requests, pid, clk_tck, 200).await
}

/// [`send_series`] where each request must answer `status`.
pub async fn send_series_expecting(
    addr: SocketAddr,
    requests: &[(String, Vec<u8>)],
    pid: u32,
    clk_tck: f64,
    status: u16,
) -> Result<SeriesResult, BoxError> {
    let mean_body_bytes =
        requests.iter().map(|(_, r)| r.len()).sum::<usize>() as f64 / requests.len().max(1) as f64;
    let mut conn = Conn::connect(addr).await?;
    let meter = CpuMeter::start(pid)?;
    let started = Instant::now();
    let mut latencies = Vec::with_capacity(requests.len());
    for (what, request) in requests {
        let sent = Instant::now();
        tokio::time::timeout(REQUEST_TIMEOUT, conn.roundtrip(request, true))
            .await
            .map_err(|_| format!("{what}: no answer within {REQUEST_TIMEOUT:?}"))??
            .expect(status, what)?;
        latencies.push(sent.elapsed().as_secs_f64() * 1e3);
    }
    let seconds = started.elapsed().as_secs_f64();
    let (server_cpu_s, _) = meter.read(clk_tck)?;
    Ok(SeriesResult::from_latencies(
        &latencies,
        seconds,
        mean_body_bytes,
        server_cpu_s,
    ))
}

impl SeriesResult {
    /// A series from the latency of each item (in order, milliseconds) and its totals.
    pub fn from_latencies(
        latencies_ms: &[f64],
        seconds: f64,
        mean_body_bytes: f64,
        server_cpu_s: f64,
    ) -> SeriesResult {
        let tenth = (latencies_ms.len() / 10).max(1);
        let mean = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len().max(1) as f64;
        let mut sorted = latencies_ms.to_vec();
        sorted.sort_by(f64::total_cmp);
        SeriesResult {
            count: latencies_ms.len(),
            seconds,
            rate: latencies_ms.len() as f64 / seconds,
            p50_ms: percentile_f64(&sorted, 500),
            p99_ms: percentile_f64(&sorted, 990),
            max_ms: sorted.last().copied().unwrap_or(0.0),
            first_tenth_ms: mean(&latencies_ms[..tenth.min(latencies_ms.len())]),
            last_tenth_ms: mean(&latencies_ms[latencies_ms.len().saturating_sub(tenth)..]),
            mean_body_bytes,
            server_cpu_s,
        }
    }

    /// `R/s (p50 …, first tenth …, last tenth …)`, for a progress line.
    pub fn summary(&self) -> String {
        format!(
            "{:.1}/s (p50 {:.2} ms, first tenth {:.2} ms, last tenth {:.2} ms)",
            self.rate, self.p50_ms, self.first_tenth_ms, self.last_tenth_ms
        )
    }

    /// The table rows: `{verb}: {count} {items}`, the rate, latencies, body size and the
    /// server's CPU time per `item`.
    pub fn rows(&self, table: &Table, verb: &str, items: &str, item: &str) {
        table.row(
            &format!("{verb}: {} {items}", self.count),
            format!("{:.2} s", self.seconds),
        );
        table.row(&format!("{verb} rate"), format!("{:.1} /s", self.rate));
        for (name, ms) in [
            ("p50", self.p50_ms),
            ("p99", self.p99_ms),
            ("max", self.max_ms),
        ] {
            table.row(&format!("{verb} latency {name}"), format!("{ms:.2} ms"));
        }
        table.row(
            &format!("{verb} mean, first tenth / last tenth"),
            format!("{:.2} / {:.2} ms", self.first_tenth_ms, self.last_tenth_ms),
        );
        table.row(
            &format!("{verb} request body (mean)"),
            format!("{:.1} KiB", self.mean_body_bytes / 1024.0),
        );
        table.row(
            &format!("{verb} server CPU per {item}"),
            format!(
                "{:.2} ms",
                self.server_cpu_s * 1e3 / self.count.max(1) as f64
            ),
        );
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "versions": self.count,
            "seconds": round3(self.seconds),
            "rate": round3(self.rate),
            "p50_ms": round3(self.p50_ms),
            "p99_ms": round3(self.p99_ms),
            "max_ms": round3(self.max_ms),
            "first_tenth_ms": round3(self.first_tenth_ms),
            "last_tenth_ms": round3(self.last_tenth_ms),
            "mean_body_bytes": self.mean_body_bytes.round(),
            "server_cpu_s": round3(self.server_cpu_s),
        })
    }
}

// ---------------------------------------------------------------------------------------
// Load generation: keep-alive connections replaying prepared requests

/// Latencies of one kind of request within a series (e.g. the checksum uploads of a deploy).
pub struct KindLatency {
    pub label: &'static str,
    pub key: &'static str,
    pub count: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl KindLatency {
    pub fn of(label: &'static str, key: &'static str, latencies_ms: &mut [f64]) -> KindLatency {
        latencies_ms.sort_by(f64::total_cmp);
        KindLatency {
            label,
            key,
            count: latencies_ms.len(),
            p50_ms: percentile_f64(latencies_ms, 500),
            p99_ms: percentile_f64(latencies_ms, 990),
            max_ms: latencies_ms.last().copied().unwrap_or(0.0),
        }
    }

    /// `p50 / p99 / max ms`, for a table row.
    pub fn text(&self) -> String {
        format!(
            "{:.2} / {:.2} / {:.2} ms",
            self.p50_ms, self.p99_ms, self.max_ms
        )
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "count": self.count,
            "p50_ms": round3(self.p50_ms),
            "p99_ms": round3(self.p99_ms),
            "max_ms": round3(self.max_ms),
        })
    }
}

/// `len` bytes of xorshift64* output: incompressible, different for each seed.
pub fn pseudo_random(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        out.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Nearest-rank percentile of sorted values; `per_mille` is 500 for p50, 990 for p99.
pub fn percentile_f64(sorted: &[f64], per_mille: usize) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (per_mille * sorted.len()).div_ceil(1000);
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The shape of a load: how many connections, warm-up, measured window, per-request bound.
pub struct LoadSpec {
    pub connections: usize,
    pub warmup: Duration,
    pub measure: Duration,
    pub request_timeout: Duration,
}

impl LoadSpec {
    /// `BENCH_CONNECTIONS` (32), `BENCH_WARMUP_SECS` (2), `BENCH_SECS` (10).
    pub fn from_env(request_timeout: Duration) -> LoadSpec {
        LoadSpec {
            connections: env_or("BENCH_CONNECTIONS", 32usize).max(1),
            warmup: Duration::from_secs_f64(env_or("BENCH_WARMUP_SECS", 2.0f64).max(0.0)),
            measure: Duration::from_secs_f64(env_or("BENCH_SECS", 10.0f64).max(0.1)),
            request_timeout,
        }
    }
}

/// What a load's connections send, cycled.
pub enum LoadRequests {
    /// Prepared once and sent as they are for the whole load.
    Fixed(Vec<Vec<u8>>),
    /// Built by each connection as it starts and again every `every`: for SigV4-signed
    /// requests, which the server accepts only inside its clock-skew window.
    Rebuilt {
        every: Duration,
        build: Box<dyn Fn() -> Result<Vec<Vec<u8>>, BoxError> + Send + Sync>,
    },
}

impl From<Vec<Vec<u8>>> for LoadRequests {
    fn from(requests: Vec<Vec<u8>>) -> LoadRequests {
        LoadRequests::Fixed(requests)
    }
}

pub struct LoadResult {
    pub requests: u64,
    pub window_s: f64,
    pub rps: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub max_us: f64,
    pub non_200: u64,
    pub io_errors: u64,
    pub first_failure: Option<String>,
    pub server_cpu_s: f64,
    pub server_cpu_us_per_req: f64,
    pub client_cpu_s: f64,
    /// The server's thread count half-way through the window.
    pub server_threads: u64,
}

#[derive(Default)]
struct ConnStats {
    latencies_us: Vec<u32>,
    non_200: u64,
    io_errors: u64,
    first_failure: Option<String>,
}

/// `spec.connections` keep-alive connections send `requests` (cycled, each connection
/// starting at its own offset) back to back; only requests completing inside the window
/// (after the warm-up) count. The server's and this process's CPU time cover the window.
pub async fn load_phase(
    addr: SocketAddr,
    requests: impl Into<LoadRequests>,
    spec: &LoadSpec,
    pid: u32,
    clk_tck: f64,
) -> Result<LoadResult, BoxError> {
    let requests = std::sync::Arc::new(requests.into());
    if matches!(&*requests, LoadRequests::Fixed(r) if r.is_empty()) {
        return Err("a load needs at least one request".into());
    }
    let start = tokio::time::Instant::now();
    let window_start = start + spec.warmup;
    let window_end = window_start + spec.measure;
    let mut tasks = Vec::with_capacity(spec.connections);
    for i in 0..spec.connections {
        tasks.push(tokio::spawn(connection_loop(
            addr,
            std::sync::Arc::clone(&requests),
            i * 7,
            window_start,
            window_end,
            spec.request_timeout,
        )));
    }
    tokio::time::sleep_until(window_start).await;
    let measured_from = Instant::now();
    let meter = CpuMeter::start(pid)?;
    tokio::time::sleep_until(window_start + spec.measure / 2).await;
    let (_, server_threads) = read_cpu(&pid.to_string())?;
    tokio::time::sleep_until(window_end).await;
    let (server_cpu_s, client_cpu_s) = meter.read(clk_tck)?;
    let window_s = measured_from.elapsed().as_secs_f64();

    let mut all = Vec::new();
    let (mut non_200, mut io_errors, mut first_failure) = (0, 0, None);
    for task in tasks {
        let stats = task.await?;
        all.extend_from_slice(&stats.latencies_us);
        non_200 += stats.non_200;
        io_errors += stats.io_errors;
        if first_failure.is_none() {
            first_failure = stats.first_failure;
        }
    }
    all.sort_unstable();
    let pct = |per_mille: usize| -> f64 {
        if all.is_empty() {
            return 0.0;
        }
        let rank = (per_mille * all.len()).div_ceil(1000);
        f64::from(all[rank.clamp(1, all.len()) - 1])
    };
    let count = all.len() as u64;
    Ok(LoadResult {
        requests: count,
        window_s,
        rps: count as f64 / window_s,
        p50_us: pct(500),
        p99_us: pct(990),
        max_us: all.last().map_or(0.0, |&m| f64::from(m)),
        non_200,
        io_errors,
        first_failure,
        server_cpu_s,
        server_cpu_us_per_req: if count == 0 {
            0.0
        } else {
            server_cpu_s * 1e6 / count as f64
        },
        client_cpu_s,
        server_threads,
    })
}

async fn connection_loop(
    addr: SocketAddr,
    source: std::sync::Arc<LoadRequests>,
    offset: usize,
    window_start: tokio::time::Instant,
    window_end: tokio::time::Instant,
    request_timeout: Duration,
) -> ConnStats {
    let mut stats = ConnStats {
        latencies_us: Vec::with_capacity(64 * 1024),
        ..ConnStats::default()
    };
    let mut conn: Option<Conn> = None;
    let mut next = offset;
    let mut rebuilt: Vec<Vec<u8>> = Vec::new();
    let mut built_at: Option<Instant> = None;
    while tokio::time::Instant::now() < window_end {
        let requests = match &*source {
            LoadRequests::Fixed(requests) => requests,
            LoadRequests::Rebuilt { every, build } => {
                if built_at.is_none_or(|t| t.elapsed() > *every) {
                    match build() {
                        Ok(requests) if !requests.is_empty() => rebuilt = requests,
                        Ok(_) => {
                            stats
                                .first_failure
                                .get_or_insert("no requests built".into());
                            return stats;
                        }
                        Err(e) => {
                            stats
                                .first_failure
                                .get_or_insert(format!("building requests: {e}"));
                            return stats;
                        }
                    }
                    built_at = Some(Instant::now());
                }
                &rebuilt
            }
        };
        let c = match conn.as_mut() {
            Some(c) => c,
            None => match Conn::connect(addr).await {
                Ok(c) => conn.insert(c),
                Err(e) => {
                    stats.io_errors += 1;
                    stats.first_failure.get_or_insert(format!("connect: {e}"));
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let request = &requests[next % requests.len()];
        next += 1;
        let sent = Instant::now();
        let result = tokio::time::timeout(request_timeout, c.roundtrip(request, false)).await;
        let took = sent.elapsed();
        let now = tokio::time::Instant::now();
        let in_window = now >= window_start && now <= window_end;
        match result {
            Ok(Ok(reply)) => {
                if in_window {
                    stats
                        .latencies_us
                        .push(u32::try_from(took.as_micros()).unwrap_or(u32::MAX));
                    // A 304 answers a revalidation (If-None-Match) as intended.
                    if reply.status != 200 && reply.status != 304 {
                        stats.non_200 += 1;
                        stats
                            .first_failure
                            .get_or_insert(format!("HTTP {}", reply.status));
                    }
                }
            }
            Ok(Err(e)) => {
                if in_window {
                    stats.io_errors += 1;
                }
                stats.first_failure.get_or_insert(e.to_string());
                conn = None;
            }
            Err(_) => {
                stats.io_errors += 1;
                stats
                    .first_failure
                    .get_or_insert(format!("no answer within {request_timeout:?}"));
                conn = None;
            }
        }
    }
    stats
}

impl LoadResult {
    /// `  {label}: R req/s, p50 …, p99 …, non-200 N`, printed as the load ends.
    pub fn print_progress(&self, label: &str) {
        println!(
            "  {label}: {:.0} req/s, p50 {:.3} ms, p99 {:.3} ms, non-200 {}",
            self.rps,
            self.p50_us / 1e3,
            self.p99_us / 1e3,
            self.non_200
        );
    }
}

/// A load's result with the names it is reported under.
pub struct NamedLoad {
    /// In the table, e.g. `packument (full)`.
    pub label: &'static str,
    /// In the JSON line's `loads`, e.g. `packument_full`.
    pub key: &'static str,
    /// The mean response body.
    pub body_bytes: f64,
    pub result: LoadResult,
}

/// The table rows of each load, and a warning for any that saw a failure.
pub fn load_rows(table: &Table, loads: &[NamedLoad], connections: usize) {
    for NamedLoad {
        label,
        body_bytes,
        result: load,
        ..
    } in loads
    {
        table.row(
            &format!("{label} req/s ({connections} conns)"),
            format!("{:.0}", load.rps),
        );
        table.row(
            &format!("{label} MiB/s of bodies"),
            format!("{:.1}", load.rps * body_bytes / 1024.0 / 1024.0),
        );
        table.row(
            &format!("{label} p50 / p99"),
            format!("{:.2} / {:.2} ms", load.p50_us / 1e3, load.p99_us / 1e3),
        );
        table.row(
            &format!("{label} max"),
            format!("{:.2} ms", load.max_us / 1e3),
        );
        table.row(
            &format!("{label} non-200 / conn errors"),
            format!("{} / {}", load.non_200, load.io_errors),
        );
        table.row(
            &format!("{label} server CPU (cores busy)"),
            format!(
                "{:.2} s ({:.2})",
                load.server_cpu_s,
                load.server_cpu_s / load.window_s
            ),
        );
        table.row(
            &format!("{label} server CPU per request"),
            format!("{:.1} us", load.server_cpu_us_per_req),
        );
        table.row(
            &format!("{label} load generator CPU"),
            format!("{:.2} s", load.client_cpu_s),
        );
        if load.non_200 > 0 || load.io_errors > 0 {
            println!(
                "WARNING: {label}: {} non-200, {} connection errors (first: {})",
                load.non_200,
                load.io_errors,
                load.first_failure.as_deref().unwrap_or("?")
            );
        }
    }
}

/// `{key: {requests, rps, body_bytes, p50_ms, …}}` for the JSON line.
pub fn loads_json(loads: &[NamedLoad]) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    for l in loads {
        let mut fields = l.result.json_fields();
        fields.insert("body_bytes".into(), l.body_bytes.round().into());
        map.insert(l.key.to_owned(), fields.into());
    }
    map.into()
}

impl LoadResult {
    /// The numbers for a JSON line, in milliseconds and seconds.
    pub fn json_fields(&self) -> serde_json::Map<String, serde_json::Value> {
        let serde_json::Value::Object(map) = serde_json::json!({
            "requests": self.requests,
            "window_s": round3(self.window_s),
            "rps": round3(self.rps),
            "p50_ms": round3(self.p50_us / 1e3),
            "p99_ms": round3(self.p99_us / 1e3),
            "max_ms": round3(self.max_us / 1e3),
            "non_200": self.non_200,
            "io_errors": self.io_errors,
            "server_cpu_s": round3(self.server_cpu_s),
            "server_cpu_us_per_req": round3(self.server_cpu_us_per_req),
            "client_cpu_s": round3(self.client_cpu_s),
        }) else {
            unreachable!("json! of an object literal is an object")
        };
        map
    }
}

/// Runs loads against one server on the load generator's runtime.
pub struct Loader<'a> {
    pub runtime: &'a tokio::runtime::Runtime,
    pub addr: SocketAddr,
    pub spec: &'a LoadSpec,
    pub pid: u32,
    pub clk_tck: f64,
}

impl Loader<'_> {
    /// One [`load_phase`], its progress line printed; `label`, `key` and `body_bytes` as in
    /// [`NamedLoad`].
    pub fn run(
        &self,
        label: &'static str,
        key: &'static str,
        body_bytes: f64,
        requests: Vec<Vec<u8>>,
    ) -> Result<NamedLoad, BoxError> {
        let result = self.runtime.block_on(load_phase(
            self.addr,
            requests,
            self.spec,
            self.pid,
            self.clk_tck,
        ))?;
        result.print_progress(label);
        Ok(NamedLoad {
            label,
            key,
            body_bytes,
            result,
        })
    }
}

// ---------------------------------------------------------------------------------------
// Reports

/// A table of metrics, one name and one value a row.
pub struct Table {
    pub name_width: usize,
    pub value_width: usize,
}

impl Table {
    /// A blank line, the column titles and a rule.
    pub fn header(&self) {
        println!();
        self.row("metric", "value");
        println!("{}", "-".repeat(self.name_width + 1 + self.value_width));
    }

    pub fn row(&self, name: &str, value: impl std::fmt::Display) {
        println!(
            "{name:<nw$} {value:>vw$}",
            nw = self.name_width,
            vw = self.value_width
        );
    }
}

/// The server's memory over a run and its SIGTERM-to-exit time.
pub struct ServerTrace {
    pub idle: Mem,
    /// Where the bench sampled it between its loads and the end.
    pub after_load: Option<Mem>,
    pub end: Mem,
    pub shutdown: Duration,
}

impl ServerTrace {
    /// Samples the memory at the end, then stops the server.
    pub fn stop(
        server: &mut Server,
        idle: Mem,
        after_load: Option<Mem>,
    ) -> Result<ServerTrace, BoxError> {
        let end = read_mem(server.pid())?;
        let shutdown = server.stop_ref()?;
        Ok(ServerTrace {
            idle,
            after_load,
            end,
            shutdown,
        })
    }

    pub fn rows(&self, table: &Table) {
        let mib = |kib: u64| kib as f64 / 1024.0;
        table.row(
            "server idle VmRSS",
            format!("{:.1} MiB", mib(self.idle.rss_kib)),
        );
        match &self.after_load {
            Some(after) => table.row(
                "server VmRSS after loads / at end",
                format!(
                    "{:.1} / {:.1} MiB",
                    mib(after.rss_kib),
                    mib(self.end.rss_kib)
                ),
            ),
            None => table.row(
                "server VmRSS at end",
                format!("{:.1} MiB", mib(self.end.rss_kib)),
            ),
        }
        table.row(
            "server VmHWM at end",
            format!("{:.1} MiB", mib(self.end.hwm_kib)),
        );
        table.row(
            "SIGTERM-to-exit",
            format!("{:.2} ms", self.shutdown.as_secs_f64() * 1e3),
        );
    }

    /// Adds `idle_rss_kib`, `after_load_rss_kib` (if sampled), `end_rss_kib`, `end_hwm_kib`
    /// and `shutdown_ms` to a JSON object.
    pub fn add_json(&self, json: &mut serde_json::Value) {
        json["idle_rss_kib"] = self.idle.rss_kib.into();
        if let Some(after) = &self.after_load {
            json["after_load_rss_kib"] = after.rss_kib.into();
        }
        json["end_rss_kib"] = self.end.rss_kib.into();
        json["end_hwm_kib"] = self.end.hwm_kib.into();
        json["shutdown_ms"] = round3(self.shutdown.as_secs_f64() * 1e3).into();
    }
}

// ---------------------------------------------------------------------------------------
// Client tools (npm, pip, ...) run as bounded child processes

/// What a bounded tool run produced.
pub struct ToolRun {
    pub wall_s: f64,
    /// The reaped child's user+sys CPU time, including everything it ran.
    pub cpu_s: f64,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `cmd` with stdout and stderr to files under `out_dir`, killing it after `timeout`;
/// a non-zero exit is an error carrying the tail of its stderr (and stdout).
pub fn run_tool(
    mut cmd: Command,
    out_dir: &Path,
    label: &str,
    timeout: Duration,
    clk_tck: f64,
) -> Result<ToolRun, BoxError> {
    let stdout_path = out_dir.join(format!("{label}.stdout"));
    let stderr_path = out_dir.join(format!("{label}.stderr"));
    cmd.stdout(std::fs::File::create(&stdout_path)?)
        .stderr(std::fs::File::create(&stderr_path)?);
    let cpu_before = read_children_cpu()?;
    let started = Instant::now();
    let mut child = cmd.spawn()?;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{label}: did not finish within {timeout:?}").into());
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let wall_s = started.elapsed().as_secs_f64();
    let cpu_s = read_children_cpu()?.saturating_sub(cpu_before) as f64 / clk_tck;
    let stdout = std::fs::read_to_string(&stdout_path).unwrap_or_default();
    let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    if !status.success() {
        let tail = |s: &str| {
            let lines: Vec<&str> = s.lines().collect();
            lines[lines.len().saturating_sub(30)..].join("\n")
        };
        return Err(format!(
            "{label}: exited with {status}:\n{}\n{}",
            tail(&stderr),
            tail(&stdout)
        )
        .into());
    }
    Ok(ToolRun {
        wall_s,
        cpu_s,
        stdout,
        stderr,
    })
}

/// One cold install by a client tool, and the server's CPU time meanwhile.
pub struct InstallTiming {
    pub wall_s: f64,
    /// The tool's user+sys CPU time, including everything it ran.
    pub tool_cpu_s: f64,
    pub server_cpu_s: f64,
}

/// One cold install: its timing and what the bench read from the tool's log (`R`).
pub struct InstallRun<R> {
    pub timing: InstallTiming,
    pub log: R,
}

/// Cold installs with a client tool: the dependencies they install (published first, not
/// timed), the tool's own start-up, and each run.
pub struct InstallPhase<R> {
    /// `npm`, `pip`
    pub tool: &'static str,
    pub deps: usize,
    pub dep_publish_s: f64,
    pub version: String,
    /// Wall time of `{tool} --version`.
    pub version_s: f64,
    pub runs: Vec<InstallRun<R>>,
    /// The run with the median wall time (the upper one of an even count).
    pub median: usize,
}

impl<R> InstallPhase<R> {
    pub fn new(
        tool: &'static str,
        deps: usize,
        dep_publish_s: f64,
        version: String,
        version_s: f64,
        runs: Vec<InstallRun<R>>,
    ) -> InstallPhase<R> {
        let wall = |i: usize| runs[i].timing.wall_s;
        let mut order: Vec<usize> = (0..runs.len()).collect();
        order.sort_by(|&a, &b| wall(a).total_cmp(&wall(b)));
        InstallPhase {
            tool,
            deps,
            dep_publish_s,
            version,
            version_s,
            median: order[order.len() / 2],
            runs,
        }
    }

    pub fn median_run(&self) -> &InstallRun<R> {
        &self.runs[self.median]
    }

    /// `headline` with the median wall time, every run's, then how the median run's time
    /// splits between the tool (run by `runner`, e.g. node) and the server.
    pub fn head_rows(&self, table: &Table, headline: &str, runner: &str) {
        let tool = self.tool;
        let m = &self.median_run().timing;
        table.row(headline, format!("{:.2} s", m.wall_s));
        table.row(
            &format!("{tool} install runs"),
            self.runs
                .iter()
                .map(|r| format!("{:.2}", r.timing.wall_s))
                .collect::<Vec<_>>()
                .join(" / "),
        );
        table.row(
            &format!("  {tool} CPU ({runner}, user+sys)"),
            format!("{:.2} s", m.tool_cpu_s),
        );
        table.row(
            "  server CPU during install",
            format!("{:.3} s", m.server_cpu_s),
        );
        table.row(
            "  server CPU share of wall time",
            format!("{:.1} %", m.server_cpu_s / m.wall_s * 100.0),
        );
    }

    /// The tool's start-up, publishing the dependencies (`deps_row` names it), and which
    /// side's CPU time bounds the median install: the client tool, the server, or both.
    pub fn tail_rows(&self, table: &Table, deps_row: &str) {
        let tool = self.tool;
        table.row(
            &format!("  `{tool} --version` ({tool} {})", self.version),
            format!("{:.2} s", self.version_s),
        );
        table.row(deps_row, format!("{:.2} s", self.dep_publish_s));
        let m = &self.median_run().timing;
        let bottleneck = if m.server_cpu_s < m.tool_cpu_s / 4.0 {
            format!("{tool} (client)")
        } else if m.server_cpu_s > m.tool_cpu_s {
            "server".to_owned()
        } else {
            "mixed".to_owned()
        };
        table.row("  bottleneck (CPU time)", bottleneck);
    }

    /// `{deps_key}`, `runs` (each run's `wall_s`, `{tool}_cpu_s` and `server_cpu_s`, plus
    /// the fields of `run_json`), the median run's `median_*`, `{tool}_version`,
    /// `{tool}_version_s` and `{publish_key}`.
    pub fn json(
        &self,
        deps_key: &str,
        publish_key: &str,
        run_json: impl Fn(&R) -> serde_json::Value,
    ) -> serde_json::Value {
        let tool = self.tool;
        let runs: Vec<serde_json::Value> = self
            .runs
            .iter()
            .map(|r| {
                let t = &r.timing;
                let mut json = run_json(&r.log);
                json["wall_s"] = round3(t.wall_s).into();
                json[format!("{tool}_cpu_s")] = round3(t.tool_cpu_s).into();
                json["server_cpu_s"] = round3(t.server_cpu_s).into();
                json
            })
            .collect();
        let m = &self.median_run().timing;
        let mut json = serde_json::json!({
            "runs": runs,
            "median_wall_s": round3(m.wall_s),
            "median_server_cpu_s": round3(m.server_cpu_s),
        });
        json[deps_key] = self.deps.into();
        json[format!("median_{tool}_cpu_s")] = round3(m.tool_cpu_s).into();
        json[format!("{tool}_version")] = self.version.clone().into();
        json[format!("{tool}_version_s")] = round3(self.version_s).into();
        json[publish_key] = round3(self.dep_publish_s).into();
        json
    }
}

// ---------------------------------------------------------------------------------------
// A repository endpoint's server, as the package-format benches (npm, pypi) use it

/// A server with a repository endpoint of one format, and the load generator's runtime.
pub struct RepoServer {
    pub server: Server,
    pub runtime: tokio::runtime::Runtime,
    pub endpoint: Endpoint,
    pub idle: Mem,
    pub clk_tck: f64,
}

impl RepoServer {
    /// Starts the runtime with `client_threads` workers, sets up the endpoint of
    /// `repository` for `format` (see [`repository_endpoint`]) and samples the idle memory.
    pub fn start(
        server: Server,
        client_threads: usize,
        clk_tck: f64,
        repository: &str,
        format: &str,
        tool: &str,
    ) -> Result<RepoServer, BoxError> {
        let runtime = client_runtime(client_threads)?;
        let endpoint =
            runtime.block_on(repository_endpoint(server.addr, repository, format, tool))?;
        let idle = read_mem(server.pid())?;
        Ok(RepoServer {
            server,
            runtime,
            endpoint,
            idle,
            clk_tck,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    pub fn pid(&self) -> u32 {
        self.server.pid()
    }

    /// Sends the `(what, request)`s as a [`send_series`].
    pub fn series(&self, requests: &[(String, Vec<u8>)]) -> Result<SeriesResult, BoxError> {
        self.series_expecting(requests, 200)
    }

    /// Sends the `(what, request)`s as a [`send_series_expecting`] `status`.
    pub fn series_expecting(
        &self,
        requests: &[(String, Vec<u8>)],
        status: u16,
    ) -> Result<SeriesResult, BoxError> {
        self.runtime.block_on(send_series_expecting(
            self.addr(),
            requests,
            self.pid(),
            self.clk_tck,
            status,
        ))
    }

    pub fn loader<'a>(&'a self, spec: &'a LoadSpec) -> Loader<'a> {
        Loader {
            runtime: &self.runtime,
            addr: self.addr(),
            spec,
            pid: self.pid(),
            clk_tck: self.clk_tck,
        }
    }

    /// Stops the runtime, then the server (see [`ServerTrace::stop`]).
    pub fn stop(self, after_load: Option<Mem>) -> Result<ServerTrace, BoxError> {
        let RepoServer {
            mut server,
            runtime,
            idle,
            ..
        } = self;
        drop(runtime);
        ServerTrace::stop(&mut server, idle, after_load)
    }
}
