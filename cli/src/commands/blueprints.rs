//! `rainmaker-deploy blueprints`: list the shipped blueprints with the first line of their README.

use crate::cli::GlobalArgs;
use crate::{assets, output};
use miette::Result;
use serde::Serialize;

#[derive(Serialize)]
struct Blueprint {
    name: &'static str,
    summary: String,
}

/// The one-line summary of a blueprint: the first non-heading line of its README.
pub fn summary(name: &str) -> String {
    assets::blueprint_file(name, "README.md")
        .and_then(|r| r.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with('#')))
        .unwrap_or("")
        .to_string()
}

pub fn run(g: &GlobalArgs) -> Result<()> {
    let list: Vec<Blueprint> =
        assets::blueprint_names().into_iter().map(|name| Blueprint { name, summary: summary(name) }).collect();
    output::emit(g.output, &list, || list.iter().map(|b| format!("{:<20} {}\n", b.name, b.summary)).collect())
}
