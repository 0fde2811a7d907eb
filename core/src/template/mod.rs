//! CloudFormation templates: typed contexts per stack, handlebars rendering (strict, deterministic) and checks.
//!
//! No AWS SDK, no clock, no randomness: the same config renders byte-identical templates.

mod checks;
mod context;
mod engine;
mod error;
pub mod iot_audit;
mod names;
mod security_checks;

pub use checks::{check, Finding};
pub use context::{BackendContext, BootstrapContext};
pub use error::TemplateError;
pub use names::Names;

use crate::config::Config;

/// One rendered stack.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedStack {
    /// Short name: `bootstrap` or `backend`.
    pub name: String,
    /// The CloudFormation stack name (`rm-<tenant>-bootstrap`, `rm-<tenant>`).
    pub stack_name: String,
    /// File name used by `render --out` (`bootstrap.yaml`).
    pub file_name: String,
    /// The template, as YAML with long-form intrinsics only.
    pub body: String,
}

/// Every stack of a tenant, in deployment order.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub stacks: Vec<RenderedStack>,
}

impl Rendered {
    /// The stack with this short name.
    pub fn stack(&self, name: &str) -> Option<&RenderedStack> {
        self.stacks.iter().find(|s| s.name == name)
    }
}

/// Render every stack of a tenant's backend.
pub fn render(cfg: &Config) -> Result<Rendered, TemplateError> {
    let names = Names::new(&cfg.name);
    let bootstrap = engine::render_stack("bootstrap", &BootstrapContext::new(cfg, &names))?;
    let backend = engine::render_stack("backend", &BackendContext::new(cfg, &names))?;
    Ok(Rendered {
        stacks: vec![
            RenderedStack {
                name: "bootstrap".into(),
                stack_name: names.bootstrap_stack.clone(),
                file_name: "bootstrap.yaml".into(),
                body: bootstrap,
            },
            RenderedStack {
                name: "backend".into(),
                stack_name: names.backend_stack.clone(),
                file_name: "backend.yaml".into(),
                body: backend,
            },
        ],
    })
}

/// Parse a rendered (long-form, no tags) template into JSON for checks and pricing.
pub fn parse(body: &str) -> Result<serde_json::Value, TemplateError> {
    serde_saphyr::from_str(body).map_err(|e| TemplateError::Parse { message: e.to_string() })
}
