//! `cargo xtask test`: install the test tools into the project venv, then run every test of the workspace.

use crate::util::{cargo, ensure_venv, path_with_venv, run_cmd};
use anyhow::Result;

pub fn run(args: &[String]) -> Result<()> {
    ensure_venv()?;
    let mut cmd = cargo();
    cmd.env("PATH", path_with_venv()).args(["test", "--workspace", "--locked"]).args(args);
    run_cmd(&mut cmd)?;
    crate::codegen::run(&["--check".to_string()])
}
