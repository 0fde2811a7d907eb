//! `cargo xtask demo`: the main job for a new user with no AWS account: set up the tools, build the Lambdas, start
//! a local moto_server on 127.0.0.1, create a tenant from the default blueprint, `apply --yes` it, show `status`,
//! say where everything is, and stop the server it started.

use crate::util::{cargo, ensure_venv, path_with_venv, root, run_cmd, venv_bin};
use anyhow::{bail, Context, Result};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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
    let moto = Moto { child, endpoint: format!("http://127.0.0.1:{port}"), log };
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            eprintln!("demo: moto_server listening on {} (pid {})", moto.endpoint, moto.child.id());
            return Ok(moto);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    bail!("moto_server did not start within 60 s; see {}", moto.log.display())
}

pub fn run(_args: &[String]) -> Result<()> {
    ensure_venv()?;
    run_cmd(cargo().args(["build", "--quiet", "-p", "rainmaker-deploy"])).context("building rainmaker-deploy")?;
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), Into::into);
    let artifacts = target.join("lambda-artifacts");
    eprintln!("\n$ cargo xtask lambdas");
    run_cmd(cargo().args(["run", "--quiet", "-p", "xtask", "--", "lambdas"])).context("building the Lambda zips")?;
    let bin = target.join("debug/rainmaker-deploy");
    let dir = root().join(".demo");
    std::fs::create_dir_all(&dir)?;
    let moto = start_moto(&dir)?;
    let step = |args: &[&str]| -> Result<()> {
        eprintln!("\n$ rainmaker-deploy {}", args.join(" "));
        run_cmd(
            Command::new(&bin)
                .current_dir(&dir)
                .env("PATH", path_with_venv())
                .env("AWS_ENDPOINT_URL", &moto.endpoint)
                .env("AWS_ACCESS_KEY_ID", "testing")
                .env("AWS_SECRET_ACCESS_KEY", "testing")
                .env_remove("AWS_PROFILE")
                .args(args),
        )
    };
    step(&["init", "--blueprint", "smart-home", "--name", "demo-home", "--region", "eu-west-1", "--force"])?;
    step(&["render", "--out", "rendered"])?;
    step(&["validate"])?;
    let art = artifacts.display().to_string();
    step(&["apply", "--yes", "--artifacts", &art])?;
    step(&["status"])?;
    eprintln!("\ndemo: the tenant lives in {}", dir.display());
    eprintln!("  config        {}", dir.join("rainmaker.yaml").display());
    eprintln!("  templates     {}", dir.join("rendered").display());
    eprintln!("  lambda zips   {art}");
    eprintln!("  outputs       {}", dir.join(".rainmaker/demo-home/outputs.json").display());
    eprintln!("  claim cert    {} (key: claim.private.key, mode 0600)", dir.join(".rainmaker/demo-home/claim.cert.pem").display());
    eprintln!("  moto log      {}", moto.log.display());
    eprintln!("(the local AWS stand-in stops now; everything deployed into it goes with it)");
    drop(moto);
    Ok(())
}
