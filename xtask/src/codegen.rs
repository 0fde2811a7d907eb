//! `cargo xtask codegen [--check]`: write the JSON Schemas in docs/ (rainmaker.yaml, tenants.yaml) from their types.

use anyhow::{bail, Result};

pub fn run(args: &[String]) -> Result<()> {
    let check = args.iter().any(|a| a == "--check");
    let files = [
        ("docs/rainmaker.schema.json", rainmaker_deploy::config::json_schema_string()),
        ("docs/tenants.schema.json", rainmaker_deploy::config::tenants::json_schema_string()),
    ];
    let mut stale = Vec::new();
    for (rel, fresh) in files {
        let path = crate::util::root().join(rel);
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if current == fresh {
            eprintln!("codegen: {} is up to date", path.display());
        } else if check {
            stale.push(path.display().to_string());
        } else {
            std::fs::write(&path, fresh)?;
            eprintln!("codegen: wrote {}", path.display());
        }
    }
    if !stale.is_empty() {
        bail!("{} stale: run `cargo xtask codegen` and commit the result", stale.join(", "));
    }
    Ok(())
}
