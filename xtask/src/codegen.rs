//! `cargo xtask codegen [--check]`: write docs/rainmaker.schema.json from the config types.

use anyhow::{bail, Result};

pub fn run(args: &[String]) -> Result<()> {
    let check = args.iter().any(|a| a == "--check");
    let path = crate::util::root().join("docs/rainmaker.schema.json");
    let fresh = rainmaker_deploy::config::json_schema_string();
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    if current == fresh {
        eprintln!("codegen: {} is up to date", path.display());
        return Ok(());
    }
    if check {
        bail!("{} is stale: run `cargo xtask codegen` and commit the result", path.display());
    }
    std::fs::write(&path, fresh)?;
    eprintln!("codegen: wrote {}", path.display());
    Ok(())
}
