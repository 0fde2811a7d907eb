//! `upgrade` across a fleet, the CLI process against one local moto behind a fixed per-call latency (test-support
//! `Proxy`), so the figures reflect waiting on AWS rather than moto's CPU: 12 tenants upgraded with
//! `--max-concurrent 1` and `6` (wall times and their ratio), a no-op upgrade of 100 tenants (wall time, AWS calls
//! per tenant) and the CLI's peak memory and CPU time with 50 tenants in flight. Not criterion: each run takes
//! seconds to minutes and is printed as measured. `RM_BENCH_LATENCY_MS` sets the latency (default 50 ms),
//! `RM_BENCH_SCALE` divides the fleet sizes (a quick look: `RM_BENCH_SCALE=4`).

use rainmaker_test_support::{account_for, write_artifacts, MotoServer, Proxy};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const REGIONS: [&str; 3] = ["eu-west-1", "us-east-1", "ap-southeast-2"];

/// A fleet directory: tenants.yaml, tenants/<name>/rainmaker.yaml, the artifacts and the CI's credentials.
struct Fleet {
    dir: tempfile::TempDir,
    names: Vec<String>,
}

/// What one CLI run cost: wall time, exit code, the report, peak RSS and CPU time of the process.
struct Measured {
    wall: Duration,
    code: i32,
    report: serde_json::Value,
    peak_kib: u64,
    cpu: Duration,
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_rainmaker-deploy")
}

impl Fleet {
    /// `n` tenants `<label>-<i>`, three per account (one per region: one tenant per account and region).
    fn new(moto: &MotoServer, label: &str, n: usize) -> Fleet {
        let dir = tempfile::tempdir().expect("a temp dir");
        let ci = moto.keys_in(&account_for(&format!("{label}-ci")));
        let creds = format!(
            "[default]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            ci.access_key_id, ci.secret_access_key
        );
        std::fs::write(dir.path().join("aws-credentials"), creds).expect("writing the CI credentials");
        write_artifacts(&dir.path().join("artifacts"), label, rainmaker_deploy::TEMPLATE_VERSION);
        let mut yaml = String::from(
            "version: 1\ndefaults:\n  role: \"arn:aws:iam::{account}:role/rainmaker-deployer\"\n  region: eu-west-1\n\
             tenants:\n",
        );
        let mut names = Vec::new();
        for i in 0..n {
            let name = format!("{label}-{i}");
            let account = account_for(&format!("{label}-acct-{}", i / REGIONS.len()));
            let region = REGIONS[i % REGIONS.len()];
            let tdir = dir.path().join("tenants").join(&name);
            std::fs::create_dir_all(&tdir).expect("tenant dir");
            let init = Command::new(bin())
                .current_dir(&tdir)
                .args(["--no-progress", "init", "--name", &name, "--region", region])
                .output()
                .expect("running init");
            assert!(init.status.success(), "init {name}: {}", String::from_utf8_lossy(&init.stderr));
            yaml.push_str(&format!(
                "  - name: {name}\n    config: tenants/{name}/rainmaker.yaml\n    account: \"{account}\"\n    region: {region}\n"
            ));
            names.push(name);
        }
        std::fs::write(dir.path().join("tenants.yaml"), yaml).expect("writing tenants.yaml");
        Fleet { dir, names }
    }

    /// A change for every tenant: one more day of telemetry retention in each rainmaker.yaml.
    fn change_every_tenant(&self) {
        for name in &self.names {
            let path = self.config(name);
            let text = std::fs::read_to_string(&path).expect("reading rainmaker.yaml");
            let (head, rest) = text.split_once("retention_days: ").expect("a retention_days field");
            let (days, tail) = rest.split_once('\n').expect("a line end");
            let days: u32 = days.trim().parse().expect("a number of days");
            std::fs::write(&path, format!("{head}retention_days: {}\n{tail}", days + 1))
                .expect("writing rainmaker.yaml");
        }
    }

    fn config(&self, name: &str) -> PathBuf {
        self.dir.path().join("tenants").join(name).join("rainmaker.yaml")
    }

    /// `upgrade --tenants tenants.yaml --yes --output json <args>` through `endpoint`, measured.
    fn upgrade(&self, endpoint: &str, args: &[&str]) -> Measured {
        let mut cmd = Command::new(bin());
        cmd.current_dir(self.dir.path())
            // moto leaves some encryption fields out (aws::verify::encryption): honoured for loopback endpoints only
            .env(rainmaker_deploy::aws::verify::encryption::MOTO_ENV, "1")
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("AWS_SESSION_TOKEN")
            .env("AWS_SHARED_CREDENTIALS_FILE", self.dir.path().join("aws-credentials"))
            .env("AWS_CONFIG_FILE", self.dir.path().join("no-aws-config"))
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .args(["--endpoint-url", endpoint, "--no-progress", "--output", "json"])
            .args(["upgrade", "--tenants", "tenants.yaml", "--artifacts", "artifacts", "--yes"])
            .args(args);
        measure(cmd)
    }
}

/// Run `cmd`, reading its peak RSS (VmHWM) and CPU time from /proc while it runs.
fn measure(mut cmd: Command) -> Measured {
    let started = Instant::now();
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("starting rainmaker-deploy");
    let pid = child.id();
    let stdout = child.stdout.take().expect("piped stdout");
    let reader = std::thread::spawn(move || std::io::read_to_string(stdout).unwrap_or_default());
    let stderr = child.stderr.take().expect("piped stderr");
    let err_reader = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
    let (mut peak_kib, mut ticks) = (0, 0);
    let status = loop {
        if let Some(s) = child.try_wait().expect("polling the CLI") {
            break s;
        }
        peak_kib = peak_kib.max(vm_hwm_kib(pid).unwrap_or(0));
        ticks = ticks.max(cpu_ticks(pid).unwrap_or(0));
        std::thread::sleep(Duration::from_millis(20));
    };
    let wall = started.elapsed();
    let out = reader.join().expect("stdout reader");
    let err = err_reader.join().expect("stderr reader");
    let report = serde_json::from_str(&out).unwrap_or_else(|e| panic!("upgrade report ({e}): {out}\n{err}"));
    // USER_HZ is 100 on Linux
    let cpu = Duration::from_millis(ticks * 10);
    Measured { wall, code: status.code().unwrap_or(-1), report, peak_kib, cpu }
}

fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok()
}

/// utime + stime of the process, in clock ticks.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// Every tenant's status in a report, checked against `want`.
fn all_are(m: &Measured, want: &str, what: &str) {
    let tenants = m.report["tenants"].as_array().expect("tenants in the report");
    let bad: Vec<_> =
        tenants.iter().filter(|t| t["status"] != want).map(|t| (&t["name"], &t["status"], &t["error"])).collect();
    assert!(bad.is_empty() && m.code == 0, "{what}: exit {}, not {want}: {bad:?}", m.code);
}

fn api_calls(m: &Measured) -> Vec<u64> {
    m.report["tenants"].as_array().expect("tenants").iter().map(|t| t["api_calls"].as_u64().unwrap_or(0)).collect()
}

fn main() {
    let latency =
        Duration::from_millis(std::env::var("RM_BENCH_LATENCY_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(50));
    let scale: usize = std::env::var("RM_BENCH_SCALE").ok().and_then(|v| v.parse().ok()).unwrap_or(1).max(1);
    let moto = MotoServer::start();
    let proxy = Proxy::moto(&moto, latency, None);
    let endpoint = proxy.endpoint_url();
    println!("upgrade_fleet: moto behind {latency:?} per call; fleets scaled down by {scale}");

    // 12 tenants: created, then two upgrades that change every tenant, one at a time and six at a time
    let n12 = (12 / scale).max(2);
    let f12 = Fleet::new(&moto, "bfa", n12);
    let first = f12.upgrade(&endpoint, &["--max-concurrent", "6"]);
    all_are(&first, "upgraded", "first rollout");
    f12.change_every_tenant();
    let one = f12.upgrade(&endpoint, &["--max-concurrent", "1"]);
    all_are(&one, "upgraded", "upgrade x1");
    f12.change_every_tenant();
    let six = f12.upgrade(&endpoint, &["--max-concurrent", "6"]);
    all_are(&six, "upgraded", "upgrade x6");
    println!(
        "{n12} tenants, a change to each: --max-concurrent 1 {:.1} s, 6 {:.1} s, ratio {:.2}x (first rollout at 6: {:.1} s)",
        one.wall.as_secs_f64(),
        six.wall.as_secs_f64(),
        one.wall.as_secs_f64() / six.wall.as_secs_f64(),
        first.wall.as_secs_f64()
    );
    println!(
        "  CLI per run: x1 peak {} KiB, CPU {:.2} s; x6 peak {} KiB, CPU {:.2} s; AWS calls per tenant {:?}",
        one.peak_kib,
        one.cpu.as_secs_f64(),
        six.peak_kib,
        six.cpu.as_secs_f64(),
        api_calls(&six)
    );

    // 100 tenants: created, then the run CI makes most often: nothing changed
    let n100 = (100 / scale).max(3);
    let f100 = Fleet::new(&moto, "bfb", n100);
    let created = f100.upgrade(&endpoint, &["--max-concurrent", "10"]);
    all_are(&created, "upgraded", "100-tenant rollout");
    let before = proxy.received().len();
    let noop = f100.upgrade(&endpoint, &["--max-concurrent", "10"]);
    all_are(&noop, "unchanged", "no-op upgrade");
    let requests = proxy.received().len() - before;
    let calls = api_calls(&noop);
    println!(
        "no-op upgrade of {n100} tenants at --max-concurrent 10: {:.1} s, {requests} requests ({:.1} per tenant with \
         the role assumption), deploy-core calls per tenant min {} max {}; peak {} KiB, CPU {:.2} s",
        noop.wall.as_secs_f64(),
        requests as f64 / n100 as f64,
        calls.iter().min().unwrap_or(&0),
        calls.iter().max().unwrap_or(&0),
        noop.peak_kib,
        noop.cpu.as_secs_f64()
    );

    // 50 tenants in flight at once, each with a change: what concurrency costs the CLI
    let n50 = (50 / scale).max(2);
    let f50 = Fleet::new(&moto, "bfc", n50);
    let made = f50.upgrade(&endpoint, &["--max-concurrent", "10"]);
    all_are(&made, "upgraded", "50-tenant rollout");
    f50.change_every_tenant();
    let wide = f50.upgrade(&endpoint, &["--max-concurrent", &n50.to_string()]);
    all_are(&wide, "upgraded", "50 at once");
    println!(
        "{n50} tenants upgraded at once: {:.1} s, peak {} KiB ({:.0} KiB per tenant in flight above the x1 run), \
         CPU {:.2} s ({:.0} ms per tenant)",
        wide.wall.as_secs_f64(),
        wide.peak_kib,
        wide.peak_kib.saturating_sub(one.peak_kib) as f64 / n50 as f64,
        wide.cpu.as_secs_f64(),
        wide.cpu.as_secs_f64() * 1000.0 / n50 as f64
    );
}
