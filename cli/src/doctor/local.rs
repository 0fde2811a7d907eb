//! The checks that need no network: the config, the Lambdas, and the linters `validate` uses.

use super::Check;
use crate::aws::artifacts;
use crate::cli::GlobalArgs;
use crate::config::Config;
use crate::lambdas_dir;
use rainmaker_model::contract::FUNCTIONS;
use std::path::{Path, PathBuf};

/// The config at `--config`: missing is a warning (`doctor` runs before `init` too), invalid a failure.
pub fn config(g: &GlobalArgs) -> (Check, Option<Config>) {
    let path = g.config.display().to_string();
    if !g.config.exists() {
        return (
            Check::warn(
                "config",
                format!("{path} does not exist (doctor checks the rest without it)"),
                "write one with `rainmaker-deploy init --name <tenant> --region <region>`, or pass --config FILE",
            ),
            None,
        );
    }
    match crate::commands::common::load_config(g) {
        Ok(cfg) => match crate::template::render(&cfg) {
            Ok(_) => {
                (Check::ok("config", format!("{path}: tenant {}, region {}, renders", cfg.name, cfg.region)), Some(cfg))
            }
            Err(e) => (Check::fail("config", format!("{path}: {e}"), help_of(&e, "fix the field it names")), None),
        },
        Err(report) => {
            let fix = report.help().map(|h| h.to_string()).unwrap_or_else(|| "fix the field it names".into());
            (Check::fail("config", format!("{}", report), fix), None)
        }
    }
}

fn help_of(e: &dyn miette::Diagnostic, default: &str) -> String {
    e.help().map(|h| h.to_string()).unwrap_or_else(|| default.to_string())
}

/// The Lambda zips found as `apply` finds them, each checked against manifest.json.
pub fn lambdas(flag: Option<&Path>) -> Check {
    let found = match lambdas_dir::locate_here(flag) {
        Ok(l) => l,
        Err(e) => return Check::fail("lambdas", e.to_string(), help_of(&e, "pass --artifacts DIR")),
    };
    let wanted: Vec<String> = FUNCTIONS.iter().map(|f| artifacts::parameter_for(f)).collect();
    match artifacts::load(&found.dir, &wanted) {
        Ok(a) => Check::ok(
            "lambdas",
            format!(
                "{} functions in {} ({}), template version {}, manifest sha256 {}",
                a.len(),
                found.dir.display(),
                found.source.describe(),
                found.template_version,
                &found.manifest_sha256[..12]
            ),
        ),
        Err(e) => Check::fail("lambdas", e.to_string(), help_of(&e, "rebuild the Lambdas")),
    }
}

/// A linter the checks use: found as an executable file (not run: a Python tool's start-up takes seconds), or a
/// warning naming how to install it.
pub fn tool(name: &str, env: &str, found: Option<PathBuf>, purpose: &str) -> Check {
    let Some(bin) = found else {
        return Check::warn(
            name,
            format!("{name} not found (${env} unset, not on PATH): {purpose} is skipped"),
            format!("`pip install {name}` (or set {env} to its path)"),
        );
    };
    use std::os::unix::fs::PermissionsExt;
    match std::fs::metadata(&bin) {
        Ok(m) if m.is_file() && m.permissions().mode() & 0o111 != 0 => Check::ok(name, format!("{}", bin.display())),
        Ok(_) => Check::warn(
            name,
            format!("{} is not an executable file", bin.display()),
            format!("reinstall it (`pip install {name}`) or point {env} at a working one"),
        ),
        Err(e) => Check::warn(
            name,
            format!("{}: {e}", bin.display()),
            format!("reinstall it (`pip install {name}`) or point {env} at a working one"),
        ),
    }
}
