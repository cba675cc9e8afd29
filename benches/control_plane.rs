//! Control-plane benchmark against the real release binary.
//!
//! Measures, in order:
//! 1. startup-to-ready: spawn until `GET /health` first answers 200 (fresh data dir each run);
//! 2. idle memory (VmRSS / VmHWM) about a second after ready;
//! 3. DescribeRepository throughput and latency over keep-alive connections, each request
//!    SigV4-signed with `aws-sigv4` and fully verified by the server, plus the server's CPU
//!    time during the measured window;
//! 4. memory after the load, then a SIGTERM shutdown.
//!
//! Prints a table, then one JSON line with every number. A benchmark, not a test: nothing
//! here asserts on timings. All traffic goes to 127.0.0.1; the run is bounded in time.
//!
//! Knobs (environment):
//! - `CODEARTIFACT_LOCAL_BIN`: server binary (default `target/release/codeartifact-local`)
//! - `BENCH_STARTUP_RUNS` (10), `BENCH_CONNECTIONS` (32), `BENCH_WARMUP_SECS` (2),
//!   `BENCH_SECS` (10), `BENCH_CLIENT_THREADS` (1: tokio workers of the load generator)
//! - `BENCH_SERVER_LOG` (`info`): `RUST_LOG` for the server. The bench finds the port in the
//!   info-level "ready" line, so keep that: every request also logs a line at info, and
//!   `warn,codeartifact_local=info,codeartifact_local::app=warn` measures without those.

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

const ACCESS_KEY: &str = "test";
const SECRET_KEY: &str = "test";
const REGION: &str = "us-east-1";
const SERVICE: &str = "codeartifact";
const DOMAIN: &str = "bench";
const REPOSITORY: &str = "bench-repo";
/// Requests are re-signed this often, well inside the server's 5-minute skew window.
const RESIGN_EVERY: Duration = Duration::from_secs(30);
const READY_TIMEOUT: Duration = Duration::from_secs(30);
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() {
    if let Err(e) = run() {
        eprintln!("control_plane bench failed: {e}");
        std::process::exit(1);
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Config {
    bin: PathBuf,
    startup_runs: usize,
    connections: usize,
    warmup: Duration,
    measure: Duration,
    client_threads: usize,
    server_log: String,
}

fn run() -> Result<(), BoxError> {
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
    let cfg = Config {
        bin,
        startup_runs: env_or("BENCH_STARTUP_RUNS", 10usize).max(1),
        connections: env_or("BENCH_CONNECTIONS", 32usize).max(1),
        warmup: Duration::from_secs_f64(env_or("BENCH_WARMUP_SECS", 2.0f64).max(0.0)),
        measure: Duration::from_secs_f64(env_or("BENCH_SECS", 10.0f64).max(0.1)),
        client_threads: env_or("BENCH_CLIENT_THREADS", 1usize).max(1),
        server_log: std::env::var("BENCH_SERVER_LOG").unwrap_or_else(|_| "info".to_owned()),
    };
    let clk_tck = clock_ticks_per_second();
    println!(
        "control_plane bench: {} (server RUST_LOG={}, {} CPUs)",
        cfg.bin.display(),
        cfg.server_log,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    // 1. Startup-to-ready; the last instance stays up for the rest of the run.
    let mut startups = Vec::new();
    let mut log_lines = Vec::new();
    let mut shutdowns = Vec::new();
    let mut server = None;
    for i in 0..cfg.startup_runs {
        let started = Server::start(&cfg)?;
        startups.push(started.ready_after);
        log_lines.push(started.log_line_after);
        if i + 1 == cfg.startup_runs {
            server = Some(started);
        } else {
            shutdowns.push(started.stop()?);
        }
    }
    let mut server = server.expect("at least one startup run");
    let pid = server.child.id();

    // 2. Idle memory.
    std::thread::sleep(Duration::from_secs(1));
    let idle = read_mem(pid)?;

    // 3. Load.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cfg.client_threads)
        .enable_all()
        .build()?;
    let load = runtime.block_on(load_phase(&cfg, server.addr, pid, clk_tck))?;
    drop(runtime);

    // 4. Memory after load, then stop.
    let after = read_mem(pid)?;
    shutdowns.push(server.stop_ref()?);

    let mut sorted = startups.clone();
    sorted.sort();
    let startup_min = sorted[0];
    let startup_median = sorted[sorted.len() / 2];
    let mut sorted_log = log_lines.clone();
    sorted_log.sort();
    let log_median = sorted_log[sorted_log.len() / 2];
    let shutdown_max = shutdowns.iter().max().copied().unwrap_or_default();

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!();
    println!("{:<44} {:>14}", "metric", "value");
    println!("{}", "-".repeat(59));
    let row = |name: &str, value: String| println!("{name:<44} {value:>14}");
    row(
        &format!("startup-to-ready min ({} runs)", startups.len()),
        format!("{:.2} ms", ms(startup_min)),
    );
    row(
        "startup-to-ready median",
        format!("{:.2} ms", ms(startup_median)),
    );
    row(
        "spawn-to-'ready'-log median",
        format!("{:.2} ms", ms(log_median)),
    );
    row("SIGTERM-to-exit max", format!("{:.2} ms", ms(shutdown_max)));
    row("idle VmRSS", format!("{} KiB", idle.rss_kib));
    row("idle VmHWM", format!("{} KiB", idle.hwm_kib));
    row(
        &format!("DescribeRepository req/s ({} conns)", cfg.connections),
        format!("{:.0}", load.rps),
    );
    row("latency p50", format!("{:.3} ms", load.p50_us / 1e3));
    row("latency p99", format!("{:.3} ms", load.p99_us / 1e3));
    row("latency max", format!("{:.3} ms", load.max_us / 1e3));
    row("requests measured", load.requests.to_string());
    row("non-200 responses", load.non_200.to_string());
    row("connection errors", load.io_errors.to_string());
    row(
        "server CPU during window (user+sys)",
        format!("{:.2} s", load.server_cpu_s),
    );
    row(
        "server CPU cores busy (avg)",
        format!("{:.2}", load.server_cpu_s / load.window_s),
    );
    row(
        "server CPU per request",
        format!("{:.1} us", load.server_cpu_us_per_req),
    );
    row(
        "load generator CPU during window",
        format!("{:.2} s", load.client_cpu_s),
    );
    row(
        "server threads during load",
        load.server_threads.to_string(),
    );
    row("VmRSS after load", format!("{} KiB", after.rss_kib));
    row("VmHWM after load", format!("{} KiB", after.hwm_kib));
    if load.non_200 > 0 {
        println!(
            "WARNING: {} non-200 responses (first: {})",
            load.non_200,
            load.first_failure.as_deref().unwrap_or("?")
        );
    }

    let json = serde_json::json!({
        "bench": "control_plane",
        "server_log": cfg.server_log,
        "cpus": std::thread::available_parallelism().map_or(0, |n| n.get()),
        "startup_runs": startups.len(),
        "startup_ms": startups.iter().map(|d| round3(ms(*d))).collect::<Vec<_>>(),
        "startup_min_ms": round3(ms(startup_min)),
        "startup_median_ms": round3(ms(startup_median)),
        "ready_log_median_ms": round3(ms(log_median)),
        "shutdown_max_ms": round3(ms(shutdown_max)),
        "idle_rss_kib": idle.rss_kib,
        "idle_hwm_kib": idle.hwm_kib,
        "connections": cfg.connections,
        "client_threads": cfg.client_threads,
        "warmup_s": cfg.warmup.as_secs_f64(),
        "window_s": round3(load.window_s),
        "requests": load.requests,
        "rps": round3(load.rps),
        "p50_ms": round3(load.p50_us / 1e3),
        "p99_ms": round3(load.p99_us / 1e3),
        "max_ms": round3(load.max_us / 1e3),
        "non_200": load.non_200,
        "io_errors": load.io_errors,
        "server_cpu_s": round3(load.server_cpu_s),
        "server_cpu_us_per_req": round3(load.server_cpu_us_per_req),
        "client_cpu_s": round3(load.client_cpu_s),
        "server_threads": load.server_threads,
        "after_load_rss_kib": after.rss_kib,
        "after_load_hwm_kib": after.hwm_kib,
    });
    println!();
    println!("{json}");
    Ok(())
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

// ---------------------------------------------------------------------------------------
// The server process

struct Server {
    child: Child,
    addr: SocketAddr,
    ready_after: Duration,
    log_line_after: Duration,
    _data_dir: tempfile::TempDir,
}

impl Server {
    /// Spawns the server on port 0 with a fresh data dir and waits until `/health` is 200.
    fn start(cfg: &Config) -> Result<Server, BoxError> {
        let data_dir = tempfile::tempdir()?;
        let spawned = Instant::now();
        let mut child = Command::new(&cfg.bin)
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir.path())
            .env("RUST_LOG", &cfg.server_log)
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

    fn stop(mut self) -> Result<Duration, BoxError> {
        self.stop_ref()
    }

    /// SIGTERM, then wait for the exit (SIGKILL after a timeout). Returns the time to exit.
    fn stop_ref(&mut self) -> Result<Duration, BoxError> {
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

struct Mem {
    rss_kib: u64,
    hwm_kib: u64,
}

fn read_mem(pid: u32) -> Result<Mem, BoxError> {
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
fn read_cpu(pid: &str) -> Result<(u64, u64), BoxError> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name, which is parenthesised and may contain spaces.
    let after = &stat[stat.rfind(')').ok_or("malformed stat")? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // fields[0] is field 3 (state): utime is field 14, stime 15, num_threads 20.
    let num = |i: usize| -> u64 { fields.get(i).and_then(|v| v.parse().ok()).unwrap_or(0) };
    Ok((num(11) + num(12), num(17)))
}

fn clock_ticks_per_second() -> f64 {
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

/// Builds the complete request bytes, signed with aws-sigv4 as an SDK would sign them.
fn signed_request(
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
        SignableBody::Bytes(body),
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
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    Ok(bytes)
}

/// One keep-alive connection. Responses are framed by Content-Length only, which is what
/// the server sends for its whole-buffer JSON bodies.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    filled: usize,
}

struct Reply {
    status: u16,
    body: Vec<u8>,
}

impl Conn {
    async fn connect(addr: SocketAddr) -> std::io::Result<Conn> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            buf: vec![0; 16 * 1024],
            filled: 0,
        })
    }

    /// Sends one request and reads its response; the body is kept only if `keep_body`.
    async fn roundtrip(&mut self, request: &[u8], keep_body: bool) -> Result<Reply, BoxError> {
        self.stream.write_all(request).await?;
        loop {
            if let Some(head_end) = find(&self.buf[..self.filled], b"\r\n\r\n") {
                let head = std::str::from_utf8(&self.buf[..head_end])?;
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
                let total = head_end + 4 + length.ok_or("response without Content-Length")?;
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
            if self.filled == self.buf.len() {
                let grown = self.buf.len() * 2;
                self.buf.resize(grown, 0);
            }
            self.fill().await?;
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

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

// ---------------------------------------------------------------------------------------
// The load phase

struct LoadResult {
    requests: u64,
    window_s: f64,
    rps: f64,
    p50_us: f64,
    p99_us: f64,
    max_us: f64,
    non_200: u64,
    io_errors: u64,
    first_failure: Option<String>,
    server_cpu_s: f64,
    server_cpu_us_per_req: f64,
    client_cpu_s: f64,
    server_threads: u64,
}

#[derive(Default)]
struct ConnStats {
    latencies_us: Vec<u32>,
    non_200: u64,
    io_errors: u64,
    first_failure: Option<String>,
}

async fn setup(addr: SocketAddr) -> Result<(), BoxError> {
    let host = addr.to_string();
    let mut conn = Conn::connect(addr).await?;
    for path in [
        format!("/v1/domain?domain={DOMAIN}"),
        format!("/v1/repository?domain={DOMAIN}&repository={REPOSITORY}"),
    ] {
        let reply = conn
            .roundtrip(&signed_request("POST", &path, &host, b"{}")?, true)
            .await?;
        if reply.status != 200 {
            return Err(format!(
                "POST {path}: HTTP {}: {}",
                reply.status,
                String::from_utf8_lossy(&reply.body)
            )
            .into());
        }
    }
    // One DescribeRepository to check the request shape before loading.
    let path = describe_path();
    let reply = conn
        .roundtrip(&signed_request("GET", &path, &host, b"")?, true)
        .await?;
    if reply.status != 200 {
        return Err(format!(
            "GET {path}: HTTP {}: {}",
            reply.status,
            String::from_utf8_lossy(&reply.body)
        )
        .into());
    }
    Ok(())
}

fn describe_path() -> String {
    format!("/v1/repository?domain={DOMAIN}&repository={REPOSITORY}")
}

async fn load_phase(
    cfg: &Config,
    addr: SocketAddr,
    pid: u32,
    clk_tck: f64,
) -> Result<LoadResult, BoxError> {
    setup(addr).await?;
    let start = tokio::time::Instant::now();
    let window_start = start + cfg.warmup;
    let window_end = window_start + cfg.measure;

    let mut tasks = Vec::with_capacity(cfg.connections);
    for _ in 0..cfg.connections {
        tasks.push(tokio::spawn(connection_loop(
            addr,
            window_start,
            window_end,
        )));
    }

    let server_pid = pid.to_string();
    tokio::time::sleep_until(window_start).await;
    let measured_from = Instant::now();
    let (server_before, _) = read_cpu(&server_pid)?;
    let (client_before, _) = read_cpu("self")?;
    tokio::time::sleep_until(window_start + cfg.measure / 2).await;
    let (_, server_threads) = read_cpu(&server_pid)?;
    tokio::time::sleep_until(window_end).await;
    let (server_after, _) = read_cpu(&server_pid)?;
    let (client_after, _) = read_cpu("self")?;
    let window_s = measured_from.elapsed().as_secs_f64();

    let mut all = Vec::new();
    let mut non_200 = 0;
    let mut io_errors = 0;
    let mut first_failure = None;
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
    // Nearest-rank percentile; `per_mille` is 500 for p50, 990 for p99.
    let pct = |per_mille: usize| -> f64 {
        if all.is_empty() {
            return 0.0;
        }
        let rank = (per_mille * all.len()).div_ceil(1000);
        f64::from(all[rank.clamp(1, all.len()) - 1])
    };
    let requests = all.len() as u64;
    let server_cpu_s = (server_after - server_before) as f64 / clk_tck;
    Ok(LoadResult {
        requests,
        window_s,
        rps: requests as f64 / window_s,
        p50_us: pct(500),
        p99_us: pct(990),
        max_us: all.last().map_or(0.0, |&m| f64::from(m)),
        non_200,
        io_errors,
        first_failure,
        server_cpu_s,
        server_cpu_us_per_req: if requests == 0 {
            0.0
        } else {
            server_cpu_s * 1e6 / requests as f64
        },
        client_cpu_s: (client_after - client_before) as f64 / clk_tck,
        server_threads,
    })
}

/// Sends DescribeRepository back to back until `window_end`; records the latency of every
/// request that completes inside the window. Failed connections are reopened.
async fn connection_loop(
    addr: SocketAddr,
    window_start: tokio::time::Instant,
    window_end: tokio::time::Instant,
) -> ConnStats {
    let host = addr.to_string();
    let path = describe_path();
    let mut stats = ConnStats {
        latencies_us: Vec::with_capacity(64 * 1024),
        ..ConnStats::default()
    };
    let mut conn: Option<Conn> = None;
    let mut request: Vec<u8> = Vec::new();
    let mut signed_at: Option<Instant> = None;
    while tokio::time::Instant::now() < window_end {
        if signed_at.is_none_or(|t| t.elapsed() > RESIGN_EVERY) {
            match signed_request("GET", &path, &host, b"") {
                Ok(r) => request = r,
                Err(e) => {
                    stats.first_failure.get_or_insert(format!("signing: {e}"));
                    return stats;
                }
            }
            signed_at = Some(Instant::now());
        }
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
        let sent = Instant::now();
        let result = c.roundtrip(&request, false).await;
        let took = sent.elapsed();
        let now = tokio::time::Instant::now();
        let in_window = now >= window_start && now <= window_end;
        match result {
            Ok(reply) => {
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
            Err(e) => {
                if in_window {
                    stats.io_errors += 1;
                }
                stats.first_failure.get_or_insert(e.to_string());
                conn = None;
            }
        }
    }
    stats
}
