//! Cold start of the function binaries against a local stand-in for the Lambda runtime API.
//!
//! Each function is built for this machine (`cargo build --release`; the arm64 zips cannot run here) and
//! started with the environment Lambda gives it. The stand-in answers `GET /runtime/invocation/next` with one
//! event that needs no AWS call, and waits for `POST /runtime/invocation/<id>/response`. Measured per run:
//! **init** = process start → first `next` request (what Lambda bills as Init Duration, minus its sandbox
//! start), **first invoke** = event handed over → response received, and the process's peak RSS.

use crate::lambdas::target_dir;
use crate::util::{cargo, root, run_cmd};
use anyhow::{bail, Context, Result};
use rainmaker_model::contract::FUNCTIONS;
use rainmaker_model::{Table, TableNames};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RUNS: usize = 7;

pub fn run() -> Result<()> {
    let mut cmd = cargo();
    cmd.args(["build", "--release"]);
    for f in FUNCTIONS {
        cmd.args(["--package", f]);
    }
    run_cmd(&mut cmd).context("building the functions for this machine")?;
    println!("\ncold start on this machine ({} runs each, median; x86_64 release build, not arm64):", RUNS);
    println!("{:<18} {:>12} {:>10} {:>14} {:>10}", "function", "binary", "init", "first invoke", "peak RSS");
    for f in FUNCTIONS {
        let bin = target_dir().join("release").join(f);
        let mut inits = Vec::new();
        let mut invokes = Vec::new();
        let mut rss = Vec::new();
        for _ in 0..RUNS {
            let m = measure(&bin, f, &event(f)?)?;
            inits.push(m.init);
            invokes.push(m.invoke);
            rss.push(m.peak_rss_kb);
        }
        let size = std::fs::metadata(&bin).map(|m| m.len()).unwrap_or(0);
        println!(
            "{f:<18} {:>9.1} MB {:>7.2} ms {:>11.2} ms {:>7} kB",
            size as f64 / 1e6,
            median(&mut inits).as_secs_f64() * 1e3,
            median(&mut invokes).as_secs_f64() * 1e3,
            median(&mut rss)
        );
    }
    Ok(())
}

/// An event each function answers without calling AWS (a rejected or unroutable input).
fn event(function: &str) -> Result<Value> {
    Ok(match function {
        "provisioning-hook" => json!({"certificateId": "c", "parameters": {}}),
        "telemetry-ingest" => json!({"node_id": "SN-000123", "received_at": 1732370000000i64}),
        "presence" => json!({"clientId": "SN-000123"}),
        "binding-confirm" => json!({"binding_code": 5, "node_id": "SN-000123", "received_at": 1732370000000i64}),
        _ => {
            let path = root().join("runtime-lambdas/api/tests/fixtures/apigw-proxy-request.json");
            let mut ev: Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
            ev["path"] = json!("/unknown");
            ev
        }
    })
}

struct Measurement {
    init: Duration,
    invoke: Duration,
    peak_rss_kb: u64,
}

fn measure(bin: &Path, function: &str, event: &Value) -> Result<Measurement> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let start = Instant::now();
    let mut child = Command::new(bin)
        .env_clear()
        .envs(lambda_env(function, &addr.to_string()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let result = (|| {
        let next = next_request(&listener)?;
        let init = start.elapsed();
        if next.method != "GET" || !next.path.ends_with("/runtime/invocation/next") {
            bail!("{function}: expected GET .../invocation/next, got {} {}", next.method, next.path);
        }
        let handed = Instant::now();
        hand_over(&next.stream, &event.to_string())?;
        let done = next_request(&listener)?;
        let invoke = handed.elapsed();
        write_response(&done.stream, "202 Accepted", &[], "{}")?;
        if done.method != "POST" || !done.path.ends_with("/response") {
            bail!(
                "{function}: expected POST .../response, got {} {}: {}",
                done.method,
                done.path,
                String::from_utf8_lossy(&done.body)
            );
        }
        let peak_rss_kb = peak_rss_kb(child.id()).unwrap_or(0);
        Ok(Measurement { init, invoke, peak_rss_kb })
    })();
    let _ = child.kill();
    let _ = child.wait();
    result
}

fn lambda_env(function: &str, runtime_api: &str) -> Vec<(String, String)> {
    let tables = TableNames::for_tenant("bench");
    let mut env: Vec<(String, String)> =
        Table::ALL.iter().map(|t| (t.env_var().into(), tables.get(*t).into())).collect();
    for (k, v) in [
        ("AWS_LAMBDA_RUNTIME_API", runtime_api),
        ("AWS_LAMBDA_FUNCTION_NAME", &format!("rm-bench-{function}")),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
        ("AWS_LAMBDA_LOG_GROUP_NAME", &format!("/aws/lambda/rm-bench-{function}")),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "2024/11/23/[$LATEST]0123456789abcdef"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "bench"),
        ("AWS_SECRET_ACCESS_KEY", "bench"),
        ("AWS_SESSION_TOKEN", "bench"),
        ("TENANT", "bench"),
        ("RUST_LOG", "info"),
        ("SERIAL_PATTERN", "SN-[0-9]{6}"),
        ("TELEMETRY_TTL_DAYS", "30"),
        ("MAX_PAYLOAD_BYTES", "8192"),
        ("IOT_DATA_ENDPOINT", "iot-data.invalid"),
        ("BINDING_CODE_TTL_SECONDS", "600"),
        ("SHARING_ENABLED", "true"),
    ] {
        env.push((k.into(), v.into()));
    }
    env
}

/// One request of the function to the runtime API; answer it on `stream`.
struct RuntimeRequest {
    method: String,
    path: String,
    body: Vec<u8>,
    stream: TcpStream,
}

/// Accept one connection (10 s at most) and read one request from it. Every answer says `Connection: close`,
/// so each request of the function arrives on a new connection.
fn next_request(listener: &TcpListener) -> Result<RuntimeRequest> {
    listener.set_nonblocking(true)?;
    let deadline = Instant::now() + Duration::from_secs(10);
    let stream = loop {
        match listener.accept() {
            Ok((s, _)) => break s,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_micros(200))
            }
            Err(e) => bail!("no request from the function within 10 s: {e}"),
        }
    };
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or("").to_string(), parts.next().unwrap_or("").to_string());
    let mut len = 0usize;
    loop {
        let mut h = String::new();
        reader.read_line(&mut h)?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0; len];
    reader.read_exact(&mut body)?;
    Ok(RuntimeRequest { method, path, body, stream })
}

/// Answer the `next` request with the event and the documented invocation headers.
fn hand_over(stream: &TcpStream, body: &str) -> Result<()> {
    let deadline_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis() + 30_000;
    let headers = [
        ("Lambda-Runtime-Aws-Request-Id", "8476a536-e9f4-11e8-9739-2dfe598c3fcd".to_string()),
        ("Lambda-Runtime-Deadline-Ms", deadline_ms.to_string()),
        ("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:rm-bench".to_string()),
        (
            "Lambda-Runtime-Trace-Id",
            "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1".to_string(),
        ),
    ];
    write_response(stream, "200 OK", &headers, body)
}

fn write_response(mut stream: &TcpStream, status: &str, headers: &[(&str, String)], body: &str) -> Result<()> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(body);
    stream.write_all(out.as_bytes())?;
    stream.flush()?;
    Ok(())
}

fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn median<T: Ord + Copy>(v: &mut [T]) -> T {
    v.sort();
    v[v.len() / 2]
}
