//! `rainmaker-deploy init`: write a rainmaker.yaml for a new tenant from a blueprint.

use super::usage::{write_atomic, UsageError};
use crate::cli::{GlobalArgs, InitArgs};
use crate::{assets, config, output};
use miette::{IntoDiagnostic, Result, WrapErr};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// `--config`'s default.
const DEFAULT: &str = "rainmaker.yaml";

/// Where to write: `--dir DIR` is DIR/rainmaker.yaml, otherwise the `--config` path (./rainmaker.yaml by default).
/// Both naming different files is refused.
fn target(config: &Path, dir: Option<&Path>) -> Result<PathBuf> {
    let Some(dir) = dir else { return Ok(config.to_path_buf()) };
    let path = dir.join(DEFAULT);
    if config != Path::new(DEFAULT) && config != path {
        return Err(UsageError::new(
            "--dir",
            format!("--dir writes {}, but --config names {}", path.display(), config.display()),
            "give one of them: --config FILE for any file name, --dir DIR for DIR/rainmaker.yaml",
        )
        .into());
    }
    Ok(path)
}

#[derive(Serialize)]
struct Initialized {
    path: String,
    blueprint: String,
    name: String,
    region: String,
}

pub fn run(g: &GlobalArgs, args: &InitArgs) -> Result<()> {
    let region = g.region.clone().unwrap_or_else(|| "us-east-1".to_string());
    if let Some(p) = config::name_problem(&args.name) {
        return Err(UsageError::new("--name", p.message, p.help).into());
    }
    if let Some(p) = config::region_problem(&region) {
        return Err(UsageError::new("--region", p.message, p.help).into());
    }
    if !assets::blueprint_names().contains(&args.blueprint.as_str()) {
        return Err(config::ConfigError::UnknownBlueprint {
            name: args.blueprint.clone(),
            known: assets::blueprint_names().join(", "),
        }
        .into());
    }
    let path = target(&g.config, args.dir.as_deref())?;
    if path.exists() && !args.force {
        return Err(UsageError::new(
            "init",
            format!("{} already exists", path.display()),
            "pass --force to overwrite it, or --config FILE / --dir DIR to write somewhere else",
        )
        .into());
    }
    let source = config::blueprint_source(&args.blueprint, &args.name, &region)?;
    config::parse(&source, &path.display().to_string())?;
    write_atomic(&path, &source).into_diagnostic().wrap_err_with(|| format!("writing {}", path.display()))?;
    let done = Initialized {
        path: path.display().to_string(),
        blueprint: args.blueprint.clone(),
        name: args.name.clone(),
        region,
    };
    let flag = if path == Path::new(DEFAULT) { String::new() } else { format!("--config {} ", path.display()) };
    output::emit(g.output, &done, || {
        format!(
            "wrote {} (blueprint {}, tenant {}, region {})\nnext: `rainmaker-deploy {flag}validate`, then `rainmaker-deploy {flag}plan`",
            done.path, done.blueprint, done.name, done.region
        )
    })
}
