//! The typed context of each stack: everything a template reads, built from the config (no defaults hidden in
//! templates). Values that are CloudFormation fragments (a `Ref`, a list) are pre-serialized JSON, valid YAML.

use super::names::Names;
use crate::config::Config;
use serde::Serialize;
use serde_json::json;

mod audit;
mod backend;
mod encryption;
mod functions;
mod hardening;
mod stream;
mod tables;

pub use backend::BackendContext;

/// What every stack stamps on itself.
#[derive(Debug, Serialize)]
pub struct Stamp {
    /// The template set's version (the CLI's), compared by upgrades.
    pub template_version: &'static str,
    pub tenant: String,
    pub blueprint: String,
}

impl Stamp {
    fn new(cfg: &Config) -> Self {
        Stamp { template_version: crate::TEMPLATE_VERSION, tenant: cfg.name.clone(), blueprint: cfg.blueprint.clone() }
    }
}

/// Context of `templates/stacks/bootstrap.yaml.hbs`: the artifacts bucket.
#[derive(Debug, Serialize)]
pub struct BootstrapContext {
    pub stamp: Stamp,
    /// Description of the stack (shown by CloudFormation consoles).
    pub description: String,
    /// Days a replaced Lambda zip is kept before the bucket's lifecycle rule removes it.
    pub noncurrent_days: u32,
}

impl BootstrapContext {
    pub fn new(cfg: &Config, names: &Names) -> Self {
        BootstrapContext {
            stamp: Stamp::new(cfg),
            description: format!(
                "rainmaker-deploy bootstrap for tenant {} ({}): artifacts bucket",
                cfg.name, names.bootstrap_stack
            ),
            noncurrent_days: 30,
        }
    }
}

/// `{"Ref": id}` as JSON text.
fn reference(id: &str) -> String {
    json!({ "Ref": id }).to_string()
}

/// `{"Fn::GetAtt": [id, attr]}` as JSON text.
fn get_att(id: &str, attr: &str) -> String {
    json!({ "Fn::GetAtt": [id, attr] }).to_string()
}
