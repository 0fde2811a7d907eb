//! Files embedded in the binary: the CloudFormation templates and the blueprints.

use include_dir::{include_dir, Dir};

/// `templates/` (stacks and partials).
pub static TEMPLATES: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../templates");
/// `blueprints/` (one folder per blueprint: config.yaml, usage.yaml, README.md).
pub static BLUEPRINTS: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../blueprints");

/// Names of the shipped blueprints, sorted.
pub fn blueprint_names() -> Vec<&'static str> {
    let mut v: Vec<&str> = BLUEPRINTS.dirs().filter_map(|d| d.path().file_name()?.to_str()).collect();
    v.sort_unstable();
    v
}

/// A blueprint file as text (`name/file`), if it exists.
pub fn blueprint_file(name: &str, file: &str) -> Option<&'static str> {
    BLUEPRINTS.get_file(format!("{name}/{file}"))?.contents_utf8()
}
