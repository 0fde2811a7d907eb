//! rainmaker.yaml: the typed, versioned tenant configuration, its loading and its validation (no AWS SDK).

mod account;
pub(crate) mod error;
mod locate;
mod provisioning;
mod regions;
mod security;
pub mod tenants;
mod types;
mod validate;

pub use error::{ConfigError, InvalidSetting, Problem};
pub use provisioning::{KeyGeneration, Provisioning};
pub use security::{IotLogLevel, Kms, Mfa, Security};
pub use types::*;
pub use validate::{name_problem, region_problem, warnings};

use std::path::Path;

/// The only schema version this CLI reads.
pub const CONFIG_VERSION: u32 = 1;

/// Read and validate a rainmaker.yaml.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let source = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::Read { path: path.display().to_string(), reason: e.to_string() })?;
    parse(&source, &path.display().to_string())
}

/// Parse and validate rainmaker.yaml text; `file` names it in errors.
pub fn parse(source: &str, file: &str) -> Result<Config, ConfigError> {
    let config: Config = serde_saphyr::from_str(source).map_err(|e| error::from_yaml(e, source, file))?;
    let problems = validate::check(&config);
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(ConfigError::invalid(problems, source, file))
    }
}

/// The rainmaker.yaml text a blueprint starts from, with the tenant name and region filled in.
pub fn blueprint_source(blueprint: &str, name: &str, region: &str) -> Result<String, ConfigError> {
    let text =
        crate::assets::blueprint_file(blueprint, "config.yaml").ok_or_else(|| ConfigError::UnknownBlueprint {
            name: blueprint.to_string(),
            known: crate::assets::blueprint_names().join(", "),
        })?;
    Ok(text.replace("{{name}}", name).replace("{{region}}", region))
}

/// A blueprint's configuration for a tenant, validated (what `init` writes, as data).
pub fn blueprint_config(blueprint: &str, name: &str, region: &str) -> Result<Config, ConfigError> {
    let source = blueprint_source(blueprint, name, region)?;
    parse(&source, "rainmaker.yaml")
}

/// The JSON Schema of rainmaker.yaml, pretty-printed with a trailing newline (docs/rainmaker.schema.json).
pub fn json_schema_string() -> String {
    let schema = schemars::schema_for!(Config);
    let mut s = serde_json::to_string_pretty(&schema).expect("a schema always serializes");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests;
