//! Finding an external checker (cfn-lint, checkov): its environment variable first, then `PATH`.

use std::path::PathBuf;

/// The path in `env_var` when set, else the first `exe` on `PATH`.
pub fn find(env_var: &str, exe: &str) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(env_var) {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(exe)).find(|p| p.is_file())
}
