//! Running `checkov` (static security analysis, offline with `--skip-download`) on rendered templates.

use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One failed checkov check.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CheckovFinding {
    /// Check id (`CKV_AWS_27`, ...).
    pub check: String,
    /// `TYPE.LogicalId` of the resource.
    pub resource: String,
    pub name: String,
}

/// The outcome of one checkov run: counts and the failed checks.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CheckovReport {
    pub passed: u64,
    /// Checks suppressed in a resource's `Metadata.checkov.skip` (each with its reason).
    pub skipped: u64,
    pub failed: Vec<CheckovFinding>,
}

/// Where checkov is: `CHECKOV` if set, else the first `checkov` on PATH.
pub fn find() -> Option<PathBuf> {
    crate::tool_path::find("CHECKOV", "checkov")
}

/// Check CloudFormation template files in one run (checkov's start-up is most of its time). The reports are by file,
/// in the order given. Errors are checkov failing to run, not findings.
pub fn check(checkov: &Path, templates: &[PathBuf]) -> Result<Vec<CheckovReport>, String> {
    let mut cmd = Command::new(checkov);
    for t in templates {
        cmd.arg("--file").arg(t);
    }
    let out = cmd
        .args(["--framework", "cloudformation", "--skip-download", "--soft-fail", "--compact"])
        .args(["--output", "json"])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", checkov.display()))?;
    if !out.status.success() {
        return Err(format!(
            "checkov failed (exit {}): {}",
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let by_file = parse(&out.stdout)?;
    let abs = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let reports: Vec<CheckovReport> = templates
        .iter()
        .map(|t| by_file.get(&abs(t)).cloned().unwrap_or(CheckovReport { passed: 0, skipped: 0, failed: vec![] }))
        .collect();
    let known: usize = templates.iter().filter(|t| by_file.contains_key(&abs(t))).count();
    if known != by_file.len() {
        return Err(format!("checkov reported on files it was not given: {:?}", by_file.keys().collect::<Vec<_>>()));
    }
    Ok(reports)
}

/// Read checkov's JSON report (one framework: an object; several: a list of them) into one report per file
/// (`file_abs_path`).
pub fn parse(stdout: &[u8]) -> Result<BTreeMap<PathBuf, CheckovReport>, String> {
    let v: Value =
        serde_json::from_slice(stdout).map_err(|e| format!("checkov printed something that is not JSON: {e}"))?;
    let reports: Vec<&Value> = match &v {
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    let mut by_file: BTreeMap<PathBuf, CheckovReport> = BTreeMap::new();
    for rep in reports {
        let Some(summary) = rep.get("summary") else {
            // a run with nothing to check prints only zero counts
            if rep.get("failed").and_then(Value::as_u64).is_some_and(|n| n > 0) {
                return Err("checkov reported failures without details".into());
            }
            continue;
        };
        let list =
            |k: &str| rep.pointer(&format!("/results/{k}")).and_then(Value::as_array).cloned().unwrap_or_default();
        let (passed, failed, skipped) = (list("passed_checks"), list("failed_checks"), list("skipped_checks"));
        let count = |k: &str| summary.get(k).and_then(Value::as_u64).unwrap_or(0);
        if failed.len() as u64 != count("failed") {
            return Err(format!("checkov counted {} failed checks but listed {}", count("failed"), failed.len()));
        }
        let file = |c: &Value| PathBuf::from(c.get("file_abs_path").and_then(Value::as_str).unwrap_or("?"));
        let new = || CheckovReport { passed: 0, skipped: 0, failed: vec![] };
        for c in &passed {
            by_file.entry(file(c)).or_insert_with(new).passed += 1;
        }
        for c in &skipped {
            by_file.entry(file(c)).or_insert_with(new).skipped += 1;
        }
        for c in &failed {
            by_file.entry(file(c)).or_insert_with(new).failed.push(CheckovFinding {
                check: c.get("check_id").and_then(Value::as_str).unwrap_or("?").to_string(),
                resource: c.get("resource").and_then(Value::as_str).unwrap_or("?").to_string(),
                name: c.get("check_name").and_then(Value::as_str).unwrap_or("").to_string(),
            });
        }
    }
    Ok(by_file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_report_by_file_and_an_empty_one() {
        let one = br#"{"check_type":"cloudformation","results":{
            "passed_checks":[{"check_id":"CKV_AWS_1","file_abs_path":"/t/a.yaml"},{"check_id":"CKV_AWS_1","file_abs_path":"/t/b.yaml"}],
            "failed_checks":[{"check_id":"CKV_AWS_27","resource":"AWS::SQS::Queue.Q","file_abs_path":"/t/b.yaml",
              "check_name":"Ensure all data stored in the SQS queue is encrypted"}],
            "skipped_checks":[{"check_id":"CKV_AWS_117","file_abs_path":"/t/a.yaml"}]},
            "summary":{"passed":2,"failed":1,"skipped":1}}"#;
        let r = parse(one).expect("parses");
        let a = &r[Path::new("/t/a.yaml")];
        let b = &r[Path::new("/t/b.yaml")];
        assert_eq!((a.passed, a.skipped, a.failed.len()), (1, 1, 0));
        assert_eq!((b.passed, b.skipped, b.failed.len()), (1, 0, 1));
        assert_eq!(b.failed[0].check, "CKV_AWS_27");
        let empty = br#"{"passed":0,"failed":0,"skipped":0,"parsing_errors":0,"resource_count":0}"#;
        assert!(parse(empty).expect("parses").is_empty());
        assert!(parse(b"not json").is_err());
        let inconsistent = br#"{"results":{"failed_checks":[]},"summary":{"passed":0,"failed":2,"skipped":0}}"#;
        assert!(parse(inconsistent).is_err());
    }
}
