//! `rainmaker-deploy render`: write the rendered CloudFormation templates, one file per stack.

use super::usage::write_atomic;
use crate::cli::{GlobalArgs, RenderArgs};
use crate::{output, template};
use miette::{IntoDiagnostic, Result, WrapErr};
use serde::Serialize;

#[derive(Serialize)]
struct Written {
    stack: String,
    stack_name: String,
    path: String,
    bytes: usize,
}

pub fn run(g: &GlobalArgs, args: &RenderArgs) -> Result<()> {
    let cfg = super::common::load_config(g)?;
    let rendered = template::render(&cfg)?;
    let mut written = Vec::new();
    for s in &rendered.stacks {
        let path = args.out.join(&s.file_name);
        write_atomic(&path, &s.body).into_diagnostic().wrap_err_with(|| format!("writing {}", path.display()))?;
        written.push(Written {
            stack: s.name.clone(),
            stack_name: s.stack_name.clone(),
            path: path.display().to_string(),
            bytes: s.body.len(),
        });
    }
    output::emit(g.output, &written, || {
        written.iter().map(|w| format!("wrote {} ({} bytes, stack {})\n", w.path, w.bytes, w.stack_name)).collect()
    })
}
