//! Helpers shared by the tasks: workspace paths, the project venv, running commands.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root (the parent of `xtask/`).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace").to_path_buf()
}

/// The project's Python venv (`.venv/` at the root).
pub fn venv() -> PathBuf {
    root().join(".venv")
}

/// The venv's `bin/` directory.
pub fn venv_bin() -> PathBuf {
    venv().join("bin")
}

/// PATH with the venv's `bin/` first, so moto_server, cfn-lint and cargo-lambda are found.
pub fn path_with_venv() -> String {
    let old = std::env::var("PATH").unwrap_or_default();
    format!("{}:{old}", venv_bin().display())
}

/// Python packages the tests and the demo need, pinned to the versions measured in shared/docs.
pub const PY_PACKAGES: &[&str] = &["moto[server]==5.2.5", "cfn-lint==1.58.0", "cargo-lambda==1.9.2", "ziglang==0.17.1"];

/// checkov, pinned, in a venv of its own under `.venv/tools/checkov` (its pins would downgrade boto3 and networkx
/// under moto and cfn-lint); `.venv/bin/checkov` links to it so it is on the tests' PATH.
pub const CHECKOV: &str = "checkov==3.3.30";

/// Create `.venv` and install [`PY_PACKAGES`] and [`CHECKOV`] unless every tool is already there.
pub fn ensure_venv() -> Result<()> {
    let bin = venv_bin();
    let have = ["moto_server", "cfn-lint", "cargo-lambda"].iter().all(|t| bin.join(t).exists());
    if !have {
        install_tools()?;
    }
    ensure_checkov()
}

fn install_tools() -> Result<()> {
    let bin = venv_bin();
    eprintln!("xtask: setting up the Python venv in {} (moto, cfn-lint, cargo-lambda, ziglang)", venv().display());
    if !venv().join("bin/python").exists() {
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
        run_cmd(Command::new(&python).args(["-m", "venv"]).arg(venv())).with_context(|| {
            format!("creating the venv with `{python} -m venv` (set PYTHON to another interpreter)")
        })?;
    }
    let mut pip = Command::new(bin.join("pip"));
    pip.args(["install", "--quiet"]).args(PY_PACKAGES);
    run_cmd(&mut pip).context("installing the Python test tools with pip")?;
    Ok(())
}

fn ensure_checkov() -> Result<()> {
    let link = venv_bin().join("checkov");
    let tool = venv().join("tools/checkov");
    let target = tool.join("bin/checkov");
    let version = std::fs::read_to_string(tool.join("installed")).unwrap_or_default();
    if link.exists() && target.exists() && version.trim() == CHECKOV {
        return Ok(());
    }
    eprintln!("xtask: installing {CHECKOV} into {}", tool.display());
    if !tool.join("bin/python").exists() {
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
        run_cmd(Command::new(&python).args(["-m", "venv"]).arg(&tool))
            .with_context(|| format!("creating checkov's venv with `{python} -m venv`"))?;
    }
    run_cmd(Command::new(tool.join("bin/pip")).args(["install", "--quiet", CHECKOV]))
        .context("installing checkov with pip")?;
    if link.symlink_metadata().is_ok() {
        std::fs::remove_file(&link).with_context(|| format!("replacing {}", link.display()))?;
    }
    std::os::unix::fs::symlink(&target, &link).with_context(|| format!("linking {}", link.display()))?;
    std::fs::write(tool.join("installed"), CHECKOV).context("recording checkov's version")?;
    Ok(())
}

/// Run a command, inheriting stdio; fail with its exit status.
pub fn run_cmd(cmd: &mut Command) -> Result<()> {
    let status = cmd.status().with_context(|| format!("starting {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed with {status}");
    }
    Ok(())
}

/// `cargo`, as the one running this xtask.
pub fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(root());
    c
}
