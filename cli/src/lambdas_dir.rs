//! Where the Lambda zips are: `--artifacts`, then `RAINMAKER_ARTIFACTS`, then the release archive's
//! `../share/rainmaker-deploy/lambdas` beside the executable, then a checkout's `target/lambda-artifacts`; and the
//! check that their `manifest.json` was built for this CLI's template version.

use crate::TEMPLATE_VERSION;
use miette::Diagnostic;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The archive layout's Lambda directory, relative to the directory holding the executable.
pub const INSTALLED: &str = "../share/rainmaker-deploy/lambdas";
/// A checkout's build output (`cargo xtask lambdas`), relative to the workspace root.
pub const CHECKOUT: &str = "target/lambda-artifacts";

/// How the directory was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// `--artifacts DIR`
    Flag,
    /// `RAINMAKER_ARTIFACTS`
    Env,
    /// `<exe dir>/../share/rainmaker-deploy/lambdas` (the release archive)
    Installed,
    /// `<checkout>/target/lambda-artifacts`
    Checkout,
}

impl Source {
    pub fn describe(self) -> &'static str {
        match self {
            Source::Flag => "--artifacts",
            Source::Env => "RAINMAKER_ARTIFACTS",
            Source::Installed => "beside the executable",
            Source::Checkout => "the checkout's target/lambda-artifacts",
        }
    }
}

/// A Lambda directory whose manifest matches this CLI.
#[derive(Debug, Clone, Serialize)]
pub struct Located {
    pub dir: PathBuf,
    pub source: Source,
    /// The manifest's `template_version` (equal to [`TEMPLATE_VERSION`]).
    pub template_version: String,
    /// SHA-256 of manifest.json's bytes: names the exact set of zips.
    pub manifest_sha256: String,
    /// The functions the manifest lists.
    pub functions: Vec<String>,
}

/// Why no usable Lambda directory was found.
#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum LocateError {
    #[error("no Lambda artifacts found (looked at: {})", looked.join(", "))]
    #[diagnostic(
        code(rainmaker::usage::artifacts),
        help(
            "pass --artifacts DIR (or set RAINMAKER_ARTIFACTS) to the directory holding manifest.json and the zips; \
             the release archive ships them in share/rainmaker-deploy/lambdas beside bin/; in a checkout run \
             `cargo xtask lambdas`"
        )
    )]
    NotFound { looked: Vec<String> },
    #[error("{path}: {reason}")]
    #[diagnostic(
        code(rainmaker::usage::artifacts),
        help("manifest.json is written by `cargo xtask lambdas` (or shipped in the release archive); rebuild it")
    )]
    BadManifest { path: String, reason: String },
    #[error(
        "{path} was built for template version {found}, but this rainmaker-deploy deploys template version {expected}"
    )]
    #[diagnostic(
        code(rainmaker::usage::artifacts_version),
        help(
            "use the Lambdas that came with this CLI (the same release archive), or rebuild them for {expected} with \
             `cargo xtask lambdas` in a checkout of that version"
        )
    )]
    VersionMismatch { path: String, found: String, expected: String },
}

/// Find the Lambda directory: `flag` is `--artifacts`, `env` is `RAINMAKER_ARTIFACTS`, `exe` the running
/// executable, `cwd` the working directory.
pub fn locate(flag: Option<&Path>, env: Option<&Path>, exe: Option<&Path>, cwd: &Path) -> Result<Located, LocateError> {
    let (dir, source) = candidates(flag, env, exe, cwd)?;
    read(&dir, source)
}

/// [`locate`] for this process: its executable, its working directory and `RAINMAKER_ARTIFACTS`.
pub fn locate_here(flag: Option<&Path>) -> Result<Located, LocateError> {
    let env = std::env::var_os("RAINMAKER_ARTIFACTS").filter(|v| !v.is_empty()).map(PathBuf::from);
    let exe = std::env::current_exe().ok().map(|p| p.canonicalize().unwrap_or(p));
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    locate(flag, env.as_deref(), exe.as_deref(), &cwd)
}

fn candidates(
    flag: Option<&Path>,
    env: Option<&Path>,
    exe: Option<&Path>,
    cwd: &Path,
) -> Result<(PathBuf, Source), LocateError> {
    if let Some(dir) = flag {
        return Ok((dir.to_path_buf(), Source::Flag));
    }
    if let Some(dir) = env {
        return Ok((dir.to_path_buf(), Source::Env));
    }
    let mut looked = Vec::new();
    if let Some(bin) = exe.and_then(Path::parent) {
        let dir = normalize(&bin.join(INSTALLED));
        if dir.join("manifest.json").is_file() {
            return Ok((dir, Source::Installed));
        }
        looked.push(dir.display().to_string());
    }
    for dir in cwd.ancestors() {
        if dir.join("Cargo.toml").is_file() && dir.join(CHECKOUT).join("manifest.json").is_file() {
            return Ok((dir.join(CHECKOUT), Source::Checkout));
        }
    }
    looked.push(format!("{CHECKOUT} of a checkout above {}", cwd.display()));
    Err(LocateError::NotFound { looked })
}

/// `a/bin/../share` -> `a/share` (lexically; the parts are known to exist).
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Read `<dir>/manifest.json` and check its template version.
pub fn read(dir: &Path, source: Source) -> Result<Located, LocateError> {
    let path = dir.join("manifest.json");
    let shown = path.display().to_string();
    let bytes = std::fs::read(&path)
        .map_err(|e| LocateError::BadManifest { path: shown.clone(), reason: format!("cannot read it: {e}") })?;
    let value: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| LocateError::BadManifest { path: shown.clone(), reason: format!("not JSON: {e}") })?;
    let found = value.get("template_version").and_then(|v| v.as_str()).ok_or_else(|| LocateError::BadManifest {
        path: shown.clone(),
        reason: format!(
            "has no `template_version` (this CLI needs Lambdas built for {TEMPLATE_VERSION}; older builds lack it)"
        ),
    })?;
    if found != TEMPLATE_VERSION {
        return Err(LocateError::VersionMismatch {
            path: shown,
            found: found.to_string(),
            expected: TEMPLATE_VERSION.to_string(),
        });
    }
    let functions = value
        .get("functions")
        .and_then(|f| f.as_object())
        .map(|m| m.keys().cloned().collect())
        .ok_or_else(|| LocateError::BadManifest { path: shown, reason: "has no `functions` object".into() })?;
    Ok(Located {
        dir: dir.to_path_buf(),
        source,
        template_version: found.to_string(),
        manifest_sha256: hex::encode(Sha256::digest(&bytes)),
        functions,
    })
}

impl crate::cli::ArtifactsArg {
    /// The Lambda directory for this command line (see [`locate`]).
    pub fn locate(&self) -> Result<Located, LocateError> {
        locate_here(self.artifacts.as_deref())
    }
}

/// What `--version` prints: the CLI version, the template version and the Lambdas found (or why none were).
pub fn version_text() -> String {
    let lambdas = match locate_here(None) {
        Ok(l) => format!("manifest sha256 {} ({}, {})", l.manifest_sha256, l.dir.display(), l.source.describe()),
        Err(e) => format!("none usable: {e}"),
    };
    format!("{}\ntemplate version {TEMPLATE_VERSION}\nlambdas {lambdas}", env!("CARGO_PKG_VERSION"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(dir: &Path, version: &str) {
        std::fs::create_dir_all(dir).unwrap();
        let m = serde_json::json!({"template_version": version, "functions": {"api": {"sha256": "00"}}});
        std::fs::write(dir.join("manifest.json"), m.to_string()).unwrap();
    }

    #[test]
    fn the_order_is_flag_then_installed_then_checkout() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        let exe = root.join("pkg/bin/rainmaker-deploy");
        let repo = root.join("repo");
        std::fs::create_dir_all(repo.join("sub")).unwrap();
        std::fs::write(repo.join("Cargo.toml"), "").unwrap();
        manifest(&repo.join(CHECKOUT), TEMPLATE_VERSION);
        let cwd = repo.join("sub");
        // only the checkout
        let l = locate(None, None, Some(&exe), &cwd).unwrap();
        assert_eq!((l.source, l.dir.clone()), (Source::Checkout, repo.join(CHECKOUT)));
        // the archive layout wins over the checkout
        manifest(&root.join("pkg/share/rainmaker-deploy/lambdas"), TEMPLATE_VERSION);
        let l = locate(None, None, Some(&exe), &cwd).unwrap();
        assert_eq!((l.source, l.dir.clone()), (Source::Installed, root.join("pkg/share/rainmaker-deploy/lambdas")));
        // an explicit directory wins over both, and says where it came from
        manifest(&root.join("mine"), TEMPLATE_VERSION);
        let mine = root.join("mine");
        assert_eq!(locate(None, Some(&mine), Some(&exe), &cwd).unwrap().source, Source::Env);
        assert_eq!(locate(Some(&mine), Some(&root.join("x")), Some(&exe), &cwd).unwrap().source, Source::Flag);
        // nothing anywhere: every place looked at is named
        let err = locate(None, None, Some(&root.join("x/bin/rd")), root).unwrap_err();
        assert!(err.to_string().contains("share/rainmaker-deploy/lambdas"), "{err}");
    }

    #[test]
    fn another_template_version_is_refused_naming_both() {
        let t = tempfile::tempdir().unwrap();
        manifest(t.path(), "0.0.1-other");
        let err = read(t.path(), Source::Flag).unwrap_err();
        let s = err.to_string();
        assert!(s.contains("0.0.1-other") && s.contains(TEMPLATE_VERSION), "{s}");
        std::fs::write(t.path().join("manifest.json"), r#"{"functions":{}}"#).unwrap();
        assert!(read(t.path(), Source::Flag).unwrap_err().to_string().contains("template_version"));
    }
}
