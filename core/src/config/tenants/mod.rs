//! tenants.yaml: the fleet an `upgrade` rolls out to — tenants, their accounts, roles, regions and waves (pure).

mod resolve;
mod types;

pub use resolve::{base_of, describe, resolve, Loaded, DEFAULT_WAVE};
pub use types::*;

use super::error::{from_yaml, locate_all, ConfigError, InvalidSetting};
use super::Config;
use miette::Diagnostic;
use serde::Serialize;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// The only tenants.yaml version this CLI reads.
pub const TENANTS_VERSION: u32 = 1;

/// A count or a percentage of a wave's tenants (`3`, `25%`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Amount {
    /// A number of tenants.
    Count(u32),
    /// A percentage (0 to 100) of the wave's tenants, rounded down.
    Percent(u32),
}

impl Amount {
    /// How many tenants this is out of `total` (percentages round down).
    pub fn of(self, total: usize) -> usize {
        match self {
            Amount::Count(n) => n as usize,
            Amount::Percent(p) => total * p as usize / 100,
        }
    }
}

impl std::str::FromStr for Amount {
    type Err = String;

    /// `3` or `25%`.
    fn from_str(s: &str) -> Result<Amount, String> {
        let t = s.trim();
        let bad = || format!("`{s}` is neither a count nor a percentage");
        if let Some(n) = t.strip_suffix('%') {
            let n: u32 = n.trim().parse().map_err(|_| bad())?;
            if n > 100 {
                return Err(format!("`{s}` is above 100%"));
            }
            Ok(Amount::Percent(n))
        } else {
            t.parse().map(Amount::Count).map_err(|_| bad())
        }
    }
}

impl std::fmt::Display for Amount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Amount::Count(n) => write!(f, "{n}"),
            Amount::Percent(p) => write!(f, "{p}%"),
        }
    }
}

/// One wave after defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wave {
    pub name: String,
    pub max_concurrent: Amount,
    pub failure_tolerance: Amount,
    /// Minutes of alarm monitoring after an update; `None` (or 0 in the file) means no bake.
    pub bake_minutes: Option<u32>,
}

/// A tenant's rainmaker.yaml: valid, or why not (that tenant fails; the others go on).
#[derive(Debug, Clone, PartialEq)]
pub enum TenantConfig {
    Valid(Box<Config>),
    Invalid(String),
}

/// One tenant after defaults and `{account}` expansion.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetTenant {
    pub name: String,
    pub account: String,
    /// The role ARN to assume, `{account}` expanded.
    pub role: String,
    pub region: String,
    pub wave: String,
    pub allow_replace: bool,
    pub hold: bool,
    pub config_path: PathBuf,
    pub config: TenantConfig,
}

/// The whole fleet, checked: waves in execution order, tenants in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct Fleet {
    pub waves: Vec<Wave>,
    pub tenants: Vec<FleetTenant>,
}

/// Everything that can go wrong reading tenants.yaml.
#[derive(Debug, Error, Diagnostic)]
pub enum TenantsError {
    #[error("cannot read the tenants file {path}: {reason}")]
    #[diagnostic(
        code(rainmaker::tenants::read),
        help("point --tenants at a tenants.yaml (docs/fleet-upgrades.md has an example)")
    )]
    Read { path: String, reason: String },

    #[error(transparent)]
    #[diagnostic(transparent)]
    Syntax(ConfigError),

    #[error("{file}: {} invalid setting{}", problems.len(), if problems.len() == 1 { "" } else { "s" })]
    #[diagnostic(code(rainmaker::tenants::invalid), help("docs/tenants.schema.json describes every field"))]
    Invalid {
        file: String,
        #[related]
        problems: Vec<InvalidSetting>,
    },
}

impl TenantsError {
    /// The (path, message) of every problem, for tests and JSON consumers.
    pub fn problems(&self) -> Vec<(String, String)> {
        match self {
            TenantsError::Invalid { problems, .. } => {
                problems.iter().map(|p| (p.path.clone(), p.message.clone())).collect()
            }
            TenantsError::Syntax(e) => e.problems(),
            TenantsError::Read { .. } => Vec::new(),
        }
    }
}

/// Read tenants.yaml and every tenant's rainmaker.yaml, and check them.
pub fn load(path: &Path) -> Result<Fleet, TenantsError> {
    let source = std::fs::read_to_string(path)
        .map_err(|e| TenantsError::Read { path: path.display().to_string(), reason: e.to_string() })?;
    let read = |p: &Path| match std::fs::read_to_string(p) {
        Err(e) => Loaded::Missing(e.to_string()),
        Ok(text) => Loaded::Read(super::parse(&text, &p.display().to_string())),
    };
    parse(&source, &path.display().to_string(), &base_of(path), &read)
}

/// Parse and check tenants.yaml text; `file` names it in errors, `base` is where configs are relative to.
pub fn parse(source: &str, file: &str, base: &Path, load: &dyn Fn(&Path) -> Loaded) -> Result<Fleet, TenantsError> {
    let parsed: TenantsFile =
        serde_saphyr::from_str(source).map_err(|e| TenantsError::Syntax(from_yaml(e, source, file)))?;
    resolve(parsed, base, load).map_err(|problems| TenantsError::Invalid {
        file: file.to_string(),
        problems: locate_all(problems, source, file),
    })
}

/// The JSON Schema of tenants.yaml, pretty-printed with a trailing newline (docs/tenants.schema.json).
pub fn json_schema_string() -> String {
    let schema = schemars::schema_for!(TenantsFile);
    let mut s = serde_json::to_string_pretty(&schema).expect("a schema always serializes");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests;
