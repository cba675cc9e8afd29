//! Shared by the benchmarks (`mod support;` in each; not a bench target itself): starting and
//! stopping the release server, reading `/proc`, SigV4 signing with `aws-sigv4`, and a
//! minimal HTTP/1.1 client over tokio `TcpStream`s.
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
    Ok((status, length.ok_or("response without Content-Length")?))
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
// Load generation: keep-alive connections replaying prepared requests

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
    requests: Vec<Vec<u8>>,
    spec: &LoadSpec,
    pid: u32,
    clk_tck: f64,
) -> Result<LoadResult, BoxError> {
    if requests.is_empty() {
        return Err("a load needs at least one request".into());
    }
    let requests = std::sync::Arc::new(requests);
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
    let server_pid = pid.to_string();
    tokio::time::sleep_until(window_start).await;
    let measured_from = Instant::now();
    let (server_before, _) = read_cpu(&server_pid)?;
    let (client_before, _) = read_cpu("self")?;
    tokio::time::sleep_until(window_end).await;
    let (server_after, _) = read_cpu(&server_pid)?;
    let (client_after, _) = read_cpu("self")?;
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
    let server_cpu_s = server_after.saturating_sub(server_before) as f64 / clk_tck;
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
        client_cpu_s: client_after.saturating_sub(client_before) as f64 / clk_tck,
    })
}

async fn connection_loop(
    addr: SocketAddr,
    requests: std::sync::Arc<Vec<Vec<u8>>>,
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
    while tokio::time::Instant::now() < window_end {
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
                    if reply.status != 200 {
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
