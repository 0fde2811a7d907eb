//! Running `cfn-lint` (the CloudFormation linter, with the official resource schemas) on rendered templates.

use serde::Serialize;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One cfn-lint match.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LintMatch {
    /// Rule id (`E3012`, `W2001`, ...).
    pub rule: String,
    /// `Error`, `Warning` or `Informational`.
    pub level: String,
    pub line: u64,
    pub message: String,
}

/// Where cfn-lint is: `CFN_LINT` if set, else the first `cfn-lint` on PATH.
pub fn find() -> Option<PathBuf> {
    crate::tool_path::find("CFN_LINT", "cfn-lint")
}

/// Lint one template file for a region. Errors are cfn-lint failing to run, not findings.
pub fn lint(cfn_lint: &Path, template: &Path, region: &str) -> Result<Vec<LintMatch>, String> {
    let out = Command::new(cfn_lint)
        .arg(template)
        .args(["--regions", region, "--format", "json"])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", cfn_lint.display()))?;
    // exit code: 0 clean; bit flags 2 errors, 4 warnings, 8 informational; others mean cfn-lint itself failed
    let code = out.status.code().unwrap_or(-1);
    if !(0..16).contains(&code) || code & 1 == 1 {
        return Err(format!("cfn-lint failed (exit {code}): {}", String::from_utf8_lossy(&out.stderr).trim()));
    }
    let v: Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("cfn-lint printed something that is not JSON: {e}"))?;
    Ok(v.as_array()
        .into_iter()
        .flatten()
        .map(|m| LintMatch {
            rule: m.pointer("/Rule/Id").and_then(Value::as_str).unwrap_or("?").to_string(),
            level: m.get("Level").and_then(Value::as_str).unwrap_or("?").to_string(),
            line: m.pointer("/Location/Start/LineNumber").and_then(Value::as_u64).unwrap_or(0),
            message: m.get("Message").and_then(Value::as_str).unwrap_or("").to_string(),
        })
        .collect())
}
