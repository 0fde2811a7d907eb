//! `cargo xtask demo`: the main job for a new user with no AWS account: set up the tools, build the Lambdas, start
//! a local moto_server on 127.0.0.1, create a tenant from the default blueprint, `apply --yes` it, show `status`,
//! seed a few users and export one (`gdpr export`), say where everything is, and stop the server it started.
//!
//! Works on a fresh clone: the venv is created when missing ([`ensure_venv`]) and the Lambda zips are built when
//! `target/lambda-artifacts/manifest.json` is missing or older than the Lambdas' sources. Every step says on stderr
//! what it does and how long it took. The server is stopped by a guard's `Drop`, so it goes on every exit path
//! (a failed step, an error, a panic).

use crate::lambdas::{artifacts_dir, target_dir};
use crate::util::{cargo, ensure_venv, path_with_venv, root, run_cmd, venv_bin};
use anyhow::{bail, Context, Result};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

/// The tenant the demo creates (smart-home blueprint).
const TENANT: &str = "demo-home";

/// The moto_server this demo started; killed (by its own pid) when dropped.
struct Moto {
    child: Child,
    endpoint: String,
    log: PathBuf,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        eprintln!("demo: stopped moto_server (pid {})", self.child.id());
    }
}

fn start_moto(dir: &Path) -> Result<Moto> {
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let log = dir.join("moto.log");
    let out = std::fs::File::create(&log)?;
    let child = Command::new(venv_bin().join("moto_server"))
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(out.try_clone()?)
        .stderr(out)
        .stdin(Stdio::null())
        .spawn()
        .context("starting moto_server from the project venv")?;
    // from here on the guard owns the process: any early return stops it
    let mut moto = Moto { child, endpoint: format!("http://127.0.0.1:{port}"), log };
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        if let Some(status) = moto.child.try_wait()? {
            bail!("moto_server exited at start ({status}); see {}", moto.log.display());
        }
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            eprintln!("demo: moto_server listening on {} (pid {})", moto.endpoint, moto.child.id());
            return Ok(moto);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    bail!("moto_server did not start within 60 s; see {}", moto.log.display())
}

/// Run `f`, then say how long the step took.
fn timed<T>(label: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let start = Instant::now();
    let out = f();
    let secs = start.elapsed().as_secs_f64();
    match &out {
        Ok(_) => eprintln!("demo: {label}: done in {secs:.1} s"),
        Err(_) => eprintln!("demo: {label}: FAILED after {secs:.1} s"),
    }
    out
}

/// The newest modification time of the files under `dir` (recursively), skipping `target` directories.
fn newest(dir: &Path, newest_so_far: &mut SystemTime) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let path = e.path();
        let Ok(meta) = e.metadata() else { continue };
        if meta.is_dir() {
            if path.file_name().is_some_and(|n| n != "target") {
                newest(&path, newest_so_far);
            }
        } else if let Ok(m) = meta.modified() {
            *newest_so_far = (*newest_so_far).max(m);
        }
    }
}

/// Why the Lambda zips must be (re)built, or `None` when `manifest.json` is there, lists existing zips and is
/// newer than every source of the Lambdas (their crates, the shared model crate, Cargo.lock).
fn artifacts_stale(dir: &Path) -> Option<String> {
    let manifest = dir.join("manifest.json");
    let Ok(meta) = std::fs::metadata(&manifest) else { return Some(format!("{} is missing", manifest.display())) };
    let Ok(text) = std::fs::read_to_string(&manifest) else {
        return Some(format!("{} is unreadable", manifest.display()));
    };
    let Ok(serde_json::Value::Object(top)) = serde_json::from_str::<serde_json::Value>(&text) else {
        return Some(format!("{} is not a JSON object", manifest.display()));
    };
    if top.get("template_version").and_then(|v| v.as_str()) != Some(rainmaker_deploy::TEMPLATE_VERSION) {
        return Some(format!(
            "{} was not built for template version {}",
            manifest.display(),
            rainmaker_deploy::TEMPLATE_VERSION
        ));
    }
    let Some(serde_json::Value::Object(map)) = top.get("functions") else {
        return Some(format!("{} has no `functions` object", manifest.display()));
    };
    for f in rainmaker_model::contract::FUNCTIONS {
        let file = map.get(f).and_then(|e| e.get("file")).and_then(|v| v.as_str()).unwrap_or_default();
        if file.is_empty() || !dir.join(file).exists() {
            return Some(format!("manifest.json has no zip for {f}"));
        }
    }
    let built = meta.modified().ok()?;
    let mut src = SystemTime::UNIX_EPOCH;
    newest(&root().join("runtime-lambdas"), &mut src);
    if let Ok(m) = std::fs::metadata(root().join("Cargo.lock")).and_then(|m| m.modified()) {
        src = src.max(m);
    }
    (src > built).then(|| "the Lambdas' sources changed since the zips were built".to_string())
}

pub fn run(args: &[String]) -> Result<()> {
    if let Some(other) = args.first() {
        bail!("unknown argument `{other}` (usage: cargo xtask demo)");
    }
    let total = Instant::now();
    eprintln!(
        "demo: 1/4 tools: the Python venv with moto_server, cfn-lint and cargo-lambda ({})",
        venv_bin().display()
    );
    timed("tools", ensure_venv)?;

    eprintln!("demo: 2/4 building rainmaker-deploy (debug)");
    timed("build", || {
        run_cmd(cargo().args(["build", "--quiet", "-p", "rainmaker-deploy"])).context("building rainmaker-deploy")
    })?;

    let artifacts = artifacts_dir();
    match artifacts_stale(&artifacts) {
        Some(why) => {
            eprintln!(
                "demo: 3/4 building the Lambda zips (`cargo xtask lambdas`) because {why}; the first build compiles the \
                 AWS SDK for arm64 and takes many minutes on a small machine"
            );
            timed("lambdas", || crate::lambdas::run(&[]).context("building the Lambda zips (`cargo xtask lambdas`)"))?;
        }
        None => eprintln!("demo: 3/4 Lambda zips are up to date in {}", artifacts.display()),
    }

    let bin = target_dir().join("debug/rainmaker-deploy");
    let dir = root().join(".demo");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    eprintln!("demo: 4/4 a local AWS stand-in (moto_server) and the tenant {TENANT} in {}", dir.display());
    let moto = timed("moto_server start", || start_moto(&dir))?;
    let step = |args: &[&str]| -> Result<()> {
        eprintln!("\n$ rainmaker-deploy {}", args.join(" "));
        timed(&format!("rainmaker-deploy {}", args[0]), || {
            let status = Command::new(&bin)
                .current_dir(&dir)
                .env("PATH", path_with_venv())
                .env("AWS_ENDPOINT_URL", &moto.endpoint)
                // moto leaves some encryption fields out: apply's verification passes exactly those (docs/security.md
                // "Read back after apply"); honoured for a loopback endpoint only
                .env("RAINMAKER_TEST_MOTO_OMISSIONS", "1")
                .env("AWS_ACCESS_KEY_ID", "testing")
                .env("AWS_SECRET_ACCESS_KEY", "testing")
                .env_remove("AWS_PROFILE")
                .env_remove("AWS_SESSION_TOKEN")
                // the tenant's region is rainmaker.yaml's: a region exported in this shell would be refused
                .env_remove("AWS_REGION")
                .env_remove("AWS_DEFAULT_REGION")
                .args(args)
                .status()
                .with_context(|| format!("starting {}", bin.display()))?;
            if !status.success() {
                bail!(
                    "`rainmaker-deploy {}` failed ({status}); its error is above, the server's log is {}",
                    args.join(" "),
                    moto.log.display()
                );
            }
            Ok(())
        })
    };
    // a fresh server holds no stacks: forget the local state (claim certificate, outputs) of an earlier demo
    let _ = std::fs::remove_dir_all(dir.join(".rainmaker"));
    step(&["init", "--blueprint", "smart-home", "--name", TENANT, "--region", "eu-west-1", "--force"])?;
    step(&["render", "--out", "rendered"])?;
    step(&["validate"])?;
    let art = artifacts.display().to_string();
    step(&["apply", "--yes", "--artifacts", &art])?;
    step(&["status"])?;
    // GDPR: a few users with owned and shared nodes (moto's CloudFormation makes no user pool: seed creates one),
    // then one of them exported
    eprintln!(
        "\n$ cargo xtask seed --users 3 --nodes-per-user 2 --telemetry-per-node 20 --shares 1 --create-user-pool"
    );
    std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
    let seeded = timed("seed", || {
        crate::seed::seed_tenant(&crate::seed::Args {
            config: dir.join("rainmaker.yaml"),
            users: 3,
            nodes_per_user: 2,
            telemetry_per_node: 20,
            shares: 1,
            endpoint_url: Some(moto.endpoint.clone()),
            user_pool_id: None,
            create_user_pool: true,
            json: true,
        })
    })?;
    let pool = seeded["user_pool_id"].as_str().context("seed returned no user pool")?.to_string();
    let user = seeded["users"][0]["user_id"].as_str().context("seed returned no user")?.to_string();
    let export = dir.join("gdpr-export-demo.zip");
    let export_arg = export.display().to_string();
    step(&["gdpr", "export", "--user", &user, "--user-pool-id", &pool, "--out", &export_arg, "--force"])?;
    // <config dir>/.rainmaker/<account>/<region>/<tenant>: moto answers GetCallerIdentity with account 123456789012
    let state = dir.join(".rainmaker").join("123456789012").join("eu-west-1").join(TENANT);
    eprintln!("\ndemo: the tenant lives in {}", dir.display());
    eprintln!("  config        {}", dir.join("rainmaker.yaml").display());
    eprintln!("  templates     {}", dir.join("rendered").display());
    eprintln!("  lambda zips   {art}");
    eprintln!("  outputs       {}", state.join("outputs.json").display());
    eprintln!("  claim cert    {} (key: claim.private.key, mode 0600)", state.join("claim.cert.pem").display());
    eprintln!("  gdpr export   {} (user {user}; `unzip -l` it)", export.display());
    eprintln!("  moto log      {}", moto.log.display());
    eprintln!("(the local AWS stand-in stops now; everything deployed into it goes with it)");
    drop(moto);
    eprintln!("demo: finished in {:.1} s", total.elapsed().as_secs_f64());
    Ok(())
}
