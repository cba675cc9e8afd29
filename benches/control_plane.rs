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

mod support;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use support::{
    clock_ticks_per_second, env_or, read_cpu, read_mem, round3, server_bin, signed_request, Conn,
    Server,
};

const DOMAIN: &str = "bench";
const REPOSITORY: &str = "bench-repo";
/// Requests are re-signed this often, well inside the server's 5-minute skew window.
const RESIGN_EVERY: Duration = Duration::from_secs(30);

type BoxError = support::BoxError;

fn main() {
    if let Err(e) = run() {
        eprintln!("control_plane bench failed: {e}");
        std::process::exit(1);
    }
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
    let bin = server_bin()?;
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
        let started = Server::start(&cfg.bin, &cfg.server_log)?;
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
