//! Repository invariants as tests: module doc lines, and no AWS SDK in the pure modules.

use crate::support::root;
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if p.is_dir() && !["target", "snapshots", "fixtures", "testdata"].contains(&name) {
            rust_files(&p, out);
        } else if name.ends_with(".rs") {
            out.push(p);
        }
    }
}

fn sources() -> Vec<PathBuf> {
    let r = root();
    let mut out = Vec::new();
    for d in ["core/src", "cli/src", "cli/tests", "cli/benches", "xtask/src", "test-support/src", "runtime-lambdas"] {
        rust_files(&r.join(d), &mut out);
    }
    out
}

#[test]
fn every_module_starts_with_a_doc_line() {
    let files = sources();
    assert!(files.len() > 20, "found the sources ({} files)", files.len());
    let missing: Vec<String> = files
        .iter()
        .filter(|p| {
            let text = std::fs::read_to_string(p).unwrap_or_default();
            let first = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
            !first.starts_with("//!")
        })
        .map(|p| p.strip_prefix(root()).unwrap_or(p).display().to_string())
        .collect();
    assert!(missing.is_empty(), "files without a leading `//!` line saying what they are for: {missing:#?}");
}

#[test]
fn pure_modules_never_touch_the_aws_sdk() {
    // The crate boundary enforces the dependency part: core/Cargo.toml must not list a runtime or an AWS crate.
    let manifest = std::fs::read_to_string(root().join("core/Cargo.toml")).unwrap();
    let deps: Vec<&str> = manifest
        .lines()
        .filter(|l| !l.trim_start().starts_with('#') && l.contains(".workspace = true") || l.contains("version ="))
        .filter_map(|l| l.split(['.', ' ', '=']).next())
        .collect();
    assert!(deps.contains(&"serde"), "read the dependencies of core/Cargo.toml: {deps:?}");
    for d in &deps {
        for banned in ["aws-", "tokio", "reqwest", "hyper", "lambda_runtime"] {
            assert!(!d.starts_with(banned), "core/Cargo.toml depends on `{d}`: the pure core stays pure");
        }
    }
    let mut files = Vec::new();
    for d in ["config", "template", "cost"] {
        rust_files(&root().join("core/src").join(d), &mut files);
    }
    assert!(files.len() > 5);
    for p in files {
        let text = std::fs::read_to_string(&p).unwrap_or_default();
        for banned in ["aws_sdk_", "aws_config", "aws_smithy", "tokio::", "reqwest", "SystemTime::now", "Instant::now"]
        {
            assert!(!text.contains(banned), "{} uses `{banned}`: config, template and cost stay pure", p.display());
        }
    }
}
