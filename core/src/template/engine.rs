//! The handlebars registry: strict mode, no HTML escaping, every `templates/partials/*` registered, a `json` helper.

use super::error::TemplateError;
use crate::assets::TEMPLATES;
use handlebars::{handlebars_helper, Handlebars};
use serde::Serialize;
use std::sync::OnceLock;

handlebars_helper!(json: |v: Json| serde_json::to_string(v).unwrap_or_default());

fn registry() -> Result<&'static Handlebars<'static>, TemplateError> {
    static REG: OnceLock<Result<Handlebars<'static>, String>> = OnceLock::new();
    REG.get_or_init(build)
        .as_ref()
        .map_err(|m| TemplateError::Render { stack: "(registry)".into(), message: m.clone() })
}

fn build() -> Result<Handlebars<'static>, String> {
    let mut h = Handlebars::new();
    h.set_strict_mode(true);
    h.set_prevent_indent(true);
    h.register_escape_fn(handlebars::no_escape);
    h.register_helper("json", Box::new(json));
    for dir in ["stacks", "partials"] {
        let d = TEMPLATES.get_dir(dir).ok_or_else(|| format!("templates/{dir} is missing"))?;
        for f in d.files() {
            let path = f.path().to_string_lossy();
            let Some(name) = path.strip_suffix(".yaml.hbs") else { continue };
            let text = f.contents_utf8().ok_or_else(|| format!("{path} is not UTF-8"))?;
            h.register_template_string(name, text).map_err(|e| format!("{path}: {e}"))?;
        }
    }
    Ok(h)
}

/// Render `templates/stacks/<stack>.yaml.hbs` with its typed context.
pub fn render_stack<C: Serialize>(stack: &str, ctx: &C) -> Result<String, TemplateError> {
    let h = registry()?;
    h.render(&format!("stacks/{stack}"), ctx)
        .map_err(|e| TemplateError::Render { stack: stack.into(), message: e.to_string() })
}
