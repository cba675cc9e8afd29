//! Control-plane benchmark against the real release binary.
//!
//! Measures, in order:
//! 1. startup-to-ready: spawn until `GET /health` first answers 200 (fresh data dir each run);
//! 2. idle memory (VmRSS / VmHWM) about a second after ready;
//! 3. DescribeRepository throughput and latency over keep-alive connections, each request
//!    SigV4-signed with `aws-sigv4` and fully verified by the server, plus the server's CPU
//!    time during the measured window;
//! 4. the same load again with a 20-statement domain policy and a 20-statement repository
//!    policy in force (both are evaluated for every request), and the ratio of the two
//!    throughputs;
//! 5. memory after the load, then a SIGTERM shutdown.
//!
//! Prints a table, then one JSON line with every number. A benchmark, not a test: nothing
//! here asserts on timings. All traffic goes to 127.0.0.1; the run is bounded in time.
//!
//! Knobs (environment):
//! - `CODEARTIFACT_LOCAL_BIN`: server binary (default `target/release/codeartifact-local`)
//! - `BENCH_STARTUP_RUNS` (10), `BENCH_CONNECTIONS` (32), `BENCH_WARMUP_SECS` (2),
//!   `BENCH_SECS` (10), `BENCH_CLIENT_THREADS` (1: tokio workers of the load generator)
//! - `BENCH_SERVER_LOG` (`info,access=warn`): `RUST_LOG` for the server. The bench finds the port in the
//!   info-level "ready" line, so keep that: every request also logs a line at info, and
//!   `warn,codeartifact_local=info,codeartifact_local::app=warn` measures without those.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use support::{
    client_runtime, control, create_repository, env_or, expect_200, load_phase, read_mem, round3,
    signed_request, BenchEnv, BoxError, Conn, LoadRequests, LoadResult, LoadSpec, Table, DOMAIN,
    REQUEST_TIMEOUT,
};

const REPOSITORY: &str = "bench-repo";
/// Requests are re-signed this often, well inside the server's 5-minute skew window.
const RESIGN_EVERY: Duration = Duration::from_secs(30);

fn main() {
    support::run_or_exit("control_plane", run);
}

struct Config {
    env: BenchEnv,
    startup_runs: usize,
    load: LoadSpec,
    client_threads: usize,
}

fn run() -> Result<(), BoxError> {
    let cfg = Config {
        env: BenchEnv::from_env()?,
        startup_runs: env_or("BENCH_STARTUP_RUNS", 10usize).max(1),
        load: LoadSpec::from_env(REQUEST_TIMEOUT),
        client_threads: env_or("BENCH_CLIENT_THREADS", 1usize).max(1),
    };
    cfg.env.announce("control_plane", "");

    // 1. Startup-to-ready; the last instance stays up for the rest of the run.
    let mut startups = Vec::new();
    let mut log_lines = Vec::new();
    let mut shutdowns = Vec::new();
    let mut server = None;
    for i in 0..cfg.startup_runs {
        let started = cfg.env.start_server()?;
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
    let runtime = client_runtime(cfg.client_threads)?;
    let load = runtime.block_on(load(&cfg.load, server.addr, pid, cfg.env.clk_tck))?;
    // 4. The same load under policies.
    let with_policies = runtime.block_on(async {
        put_policies(server.addr).await?;
        load_phase(
            server.addr,
            describe_requests(server.addr),
            &cfg.load,
            pid,
            cfg.env.clk_tck,
        )
        .await
    })?;
    drop(runtime);
    let policy_ratio = with_policies.rps / load.rps;

    // 5. Memory after load, then stop.
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
    let table = Table {
        name_width: 44,
        value_width: 14,
    };
    table.header();
    let row = |name: &str, value: String| table.row(name, value);
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
        &format!("DescribeRepository req/s ({} conns)", cfg.load.connections),
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
    row(
        "req/s with 20+20-statement policies",
        format!("{:.0}", with_policies.rps),
    );
    row(
        "  latency p50 / p99",
        format!(
            "{:.3} / {:.3} ms",
            with_policies.p50_us / 1e3,
            with_policies.p99_us / 1e3
        ),
    );
    row(
        "  server CPU per request",
        format!("{:.1} us", with_policies.server_cpu_us_per_req),
    );
    row("  non-200 responses", with_policies.non_200.to_string());
    row(
        "throughput ratio, policies / none",
        format!("{policy_ratio:.3}"),
    );
    row("VmRSS after load", format!("{} KiB", after.rss_kib));
    row("VmHWM after load", format!("{} KiB", after.hwm_kib));
    if load.non_200 + with_policies.non_200 > 0 {
        println!(
            "WARNING: {} non-200 responses (first: {})",
            load.non_200,
            load.first_failure.as_deref().unwrap_or("?")
        );
    }

    let mut json = serde_json::json!({
        "bench": "control_plane",
        "server_log": cfg.env.server_log,
        "cpus": cfg.env.cpus,
        "startup_runs": startups.len(),
        "startup_ms": startups.iter().map(|d| round3(ms(*d))).collect::<Vec<_>>(),
        "startup_min_ms": round3(ms(startup_min)),
        "startup_median_ms": round3(ms(startup_median)),
        "ready_log_median_ms": round3(ms(log_median)),
        "shutdown_max_ms": round3(ms(shutdown_max)),
        "idle_rss_kib": idle.rss_kib,
        "idle_hwm_kib": idle.hwm_kib,
        "connections": cfg.load.connections,
        "client_threads": cfg.client_threads,
        "warmup_s": cfg.load.warmup.as_secs_f64(),
        "server_threads": load.server_threads,
        "after_load_rss_kib": after.rss_kib,
        "after_load_hwm_kib": after.hwm_kib,
        "policies_rps": round3(with_policies.rps),
        "policies_p50_us": round3(with_policies.p50_us),
        "policies_p99_us": round3(with_policies.p99_us),
        "policies_non_200": with_policies.non_200,
        "policies_server_cpu_us_per_req": round3(with_policies.server_cpu_us_per_req),
        "policies_to_none_ratio": round3(policy_ratio),
    });
    if let Some(fields) = json.as_object_mut() {
        fields.extend(load.json_fields());
    }
    println!();
    println!("{json}");
    Ok(())
}

// ---------------------------------------------------------------------------------------
// The load phase

async fn setup(addr: SocketAddr) -> Result<(), BoxError> {
    let host = addr.to_string();
    let mut conn = Conn::connect(addr).await?;
    create_repository(&mut conn, &host, REPOSITORY).await?;
    // One DescribeRepository to check the request shape before loading.
    control(&mut conn, "GET", &describe_path(), &host).await?;
    Ok(())
}

fn describe_path() -> String {
    format!("/v1/repository?domain={DOMAIN}&repository={REPOSITORY}")
}

/// DescribeRepository back to back on every connection, each connection signing its own
/// request and signing it again every [`RESIGN_EVERY`].
async fn load(
    spec: &LoadSpec,
    addr: SocketAddr,
    pid: u32,
    clk_tck: f64,
) -> Result<LoadResult, BoxError> {
    setup(addr).await?;
    load_phase(addr, describe_requests(addr), spec, pid, clk_tck).await
}

/// Signed DescribeRepository requests, re-signed every [`RESIGN_EVERY`].
fn describe_requests(addr: SocketAddr) -> LoadRequests {
    let host = addr.to_string();
    let path = describe_path();
    LoadRequests::Rebuilt {
        every: RESIGN_EVERY,
        build: Box::new(move || Ok(vec![signed_request("GET", &path, &host, b"")?])),
    }
}

/// A policy of `n` statements as teams write them: grants to other accounts' roles, on
/// the actions they use, some on package ARNs, some with conditions, and a Deny that does
/// not apply to the caller. None of them matches the benchmark's caller, so every
/// statement is evaluated on every request.
fn policy_document(n: usize, resource: &str) -> String {
    let statements: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            if i + 1 == n {
                return serde_json::json!({
                    "Effect": "Deny", "Principal": "*",
                    "Action": ["codeartifact:Delete*", "codeartifact:DescribeRepository"],
                    "Resource": "*",
                    "Condition": {"StringNotEquals": {"aws:PrincipalAccount": "000000000000"}}
                });
            }
            let account = format!("{:012}", 100_000_000_000u64 + i as u64);
            let mut statement = serde_json::json!({
                "Effect": "Allow",
                "Principal": {"AWS": format!("arn:aws:iam::{account}:role/ci-{i}")},
                "Action": ["codeartifact:ReadFromRepository", "codeartifact:Describe*",
                           "codeartifact:PublishPackageVersion"],
                "Resource": if i % 2 == 0 { "*".to_string() } else {
                    format!("{resource}/npm/team{i}/*")
                },
            });
            if i % 3 == 0 {
                statement["Condition"] =
                    serde_json::json!({"StringEquals": {"aws:PrincipalOrgID": "o-bench"}});
            }
            statement
        })
        .collect();
    serde_json::json!({"Version": "2012-10-17", "Statement": statements}).to_string()
}

/// Puts a 20-statement domain policy and a 20-statement repository policy.
async fn put_policies(addr: SocketAddr) -> Result<(), BoxError> {
    let host = addr.to_string();
    let mut conn = Conn::connect(addr).await?;
    let packages = format!("arn:aws:codeartifact:*:000000000000:package/{DOMAIN}/{REPOSITORY}");
    let domain_body = serde_json::json!({
        "domain": DOMAIN,
        "policyDocument": policy_document(20, &packages),
    });
    let request = signed_request(
        "PUT",
        "/v1/domain/permissions/policy",
        &host,
        domain_body.to_string().as_bytes(),
    )?;
    expect_200(&mut conn, &request, "PutDomainPermissionsPolicy").await?;
    let repository_body = serde_json::json!({ "policyDocument": policy_document(20, &packages) });
    let path = format!("/v1/repository/permissions/policy?domain={DOMAIN}&repository={REPOSITORY}");
    let request = signed_request("PUT", &path, &host, repository_body.to_string().as_bytes())?;
    expect_200(&mut conn, &request, "PutRepositoryPermissionsPolicy").await?;
    Ok(())
}
