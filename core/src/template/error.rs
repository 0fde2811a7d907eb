//! Template errors: a template that does not render or does not parse is a bug in `templates/`, said plainly.

use miette::Diagnostic;
use thiserror::Error;

#[derive(Debug, Error, Diagnostic)]
pub enum TemplateError {
    #[error("template `{stack}` failed to render: {message}")]
    #[diagnostic(
        code(rainmaker::template::render),
        help("this is a bug in the templates shipped with this version; please report it with your rainmaker.yaml")
    )]
    Render { stack: String, message: String },

    #[error("a rendered template is not valid YAML: {message}")]
    #[diagnostic(
        code(rainmaker::template::parse),
        help("this is a bug in the templates shipped with this version; please report it")
    )]
    Parse { message: String },
}
