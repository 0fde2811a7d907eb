//! An `apply` killed mid-way (SIGKILL: no cleanup at all) loses nothing: the next `apply` picks up whatever state
//! the stacks were left in and converges, and the one after that has nothing to do.

use super::cli::{aws_cmd, own_account, run_aws};
use super::fixtures::write_artifacts;
use crate::support::{run, tempdir};
use rainmaker_test_support::{MotoServer, REGION};
use std::io::{BufRead, BufReader};
use std::process::Stdio;

/// Start `apply --yes`, kill it as soon as a progress line contains `marker`, and return the lines it printed.
fn apply_killed_at(dir: &std::path::Path, endpoint: &str, marker: &str) -> Vec<String> {
    let mut child = aws_cmd(dir, endpoint)
        .args(["--no-progress", "apply", "--yes", "--artifacts", "artifacts"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting apply");
    let mut seen = Vec::new();
    let stderr = child.stderr.take().expect("stderr is piped");
    for line in BufReader::new(stderr).lines().map_while(Result::ok) {
        let hit = line.contains(marker);
        seen.push(line);
        if hit {
            child.kill().expect("killing apply");
            break;
        }
    }
    let _ = child.wait();
    assert!(seen.iter().any(|l| l.contains(marker)), "apply never reached `{marker}`: {seen:#?}");
    seen
}

fn killed_then_converges(tenant: &str, marker: &str) {
    let moto = MotoServer::shared();
    let endpoint = moto.endpoint_url();
    let d = tempdir();
    let dir = d.path();
    assert_eq!(run(dir, &["init", "--name", tenant, "--region", REGION]).code, 0);
    own_account(moto, dir, tenant);
    write_artifacts(&dir.join("artifacts"), tenant);
    let marker = marker.replace("{tenant}", tenant);
    apply_killed_at(dir, &endpoint, &marker);

    let again = run_aws(dir, &endpoint, &["--output", "json", "apply", "--yes", "--artifacts", "artifacts"]);
    assert_eq!(again.code, 0, "the next apply converges: {}", again.transcript());
    let v: serde_json::Value = serde_json::from_str(&again.stdout).expect("JSON report");
    let verified = v.to_string();
    assert!(!verified.contains("\"ok\":false"), "every verification passed: {verified}");

    let noop = run_aws(dir, &endpoint, &["--output", "json", "apply", "--yes", "--artifacts", "artifacts"]);
    let v: serde_json::Value = serde_json::from_str(&noop.stdout).expect("JSON report");
    assert_eq!(v["changed"], false, "then nothing is left to do: {}", noop.transcript());
}

#[test]
fn killed_while_uploading_artifacts() {
    killed_then_converges("kill-upload", "uploading");
}

#[test]
fn killed_after_the_backend_change_set_was_requested() {
    killed_then_converges("kill-changeset", "- rm-{tenant}: creating a CREATE change set");
}

#[test]
fn killed_while_the_backend_change_set_executes() {
    killed_then_converges("kill-exec", "- rm-{tenant}: executing change set");
}
