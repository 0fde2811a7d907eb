//! The deploy commands run as a user would: `apply` refuses without `--yes` when nobody can answer, and the
//! `--output json` of `plan`, `apply` (first and no-op) and `status` against moto, snapshotted with the
//! run-dependent parts (timings, ids, ports, paths, times) filtered out.

use super::fixtures::write_artifacts;
use crate::support::{cmd, run, tempdir, Run};
use insta::assert_snapshot;
use rainmaker_test_support::{account_for, AccountKeys, MotoServer, REGION};
use std::path::Path;

/// The binary pointed at `endpoint` with no profile files of this machine: dummy credentials (moto's default
/// account), or the keys in `<dir>/aws-credentials` when [`own_account`] wrote them (the tenant's own account).
pub fn aws_cmd(dir: &Path, endpoint: &str) -> std::process::Command {
    let mut c = cmd(dir);
    let own = dir.join(CREDENTIALS);
    if own.exists() {
        c.env_remove("AWS_ACCESS_KEY_ID").env_remove("AWS_SECRET_ACCESS_KEY").env("AWS_SHARED_CREDENTIALS_FILE", own);
    } else {
        c.env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("no-aws-credentials"));
    }
    c.env_remove("AWS_SESSION_TOKEN")
        .env("AWS_CONFIG_FILE", dir.join("no-aws-config"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .args(["--endpoint-url", endpoint]);
    c
}

pub const CREDENTIALS: &str = "aws-credentials";

/// Put the tenant in `dir` in its own moto account (one tenant per account and region is the rule): writes the
/// keys of a new IAM user of account [`account_for`]`(label)` to `<dir>/aws-credentials`, which every
/// [`aws_cmd`] run in `dir` then uses; returns the keys (for the test's own checks).
pub fn own_account(moto: &MotoServer, dir: &Path, label: &str) -> AccountKeys {
    let keys = moto.keys_in(&account_for(label));
    let file = format!(
        "[default]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
        keys.access_key_id, keys.secret_access_key
    );
    std::fs::write(dir.join(CREDENTIALS), file).expect("writing the test's credentials file");
    keys
}

/// Run the binary against `endpoint` (see [`aws_cmd`]).
pub fn run_aws(dir: &Path, endpoint: &str, args: &[&str]) -> Run {
    let out = aws_cmd(dir, endpoint).args(args).output().expect("running rainmaker-deploy");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Filters for what changes from run to run.
fn filters(dir: &Path) -> Vec<(String, String)> {
    let dir = regex::escape(&dir.display().to_string());
    [
        (dir.as_str(), "[DIR]"),
        (r#""elapsed_ms": \d+"#, r#""elapsed_ms": "[MS]""#),
        (r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]"),
        (r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z", "[TIME]"),
        (r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "[UUID]"),
        (r"cert/[0-9a-f]{64}", "cert/[CERT_ID]"),
        (r#""certificate_id": "[0-9a-f]{64}""#, r#""certificate_id": "[CERT_ID]""#),
        (r#""ClaimCertificateId": "[0-9a-f]{64}""#, r#""ClaimCertificateId": "[CERT_ID]""#),
        (r#""fingerprint": "[0-9a-f]{64}""#, r#""fingerprint": "[FINGERPRINT]""#),
        // a certificate id alone on its line (status's `active_attached`)
        (r#"(?m)^(\s*)"[0-9a-f]{64}"$"#, r#"$1"[CERT_ID]""#),
        (r"https://[a-z0-9]+\.execute-api", "https://[API_ID].execute-api"),
        (r#""[a-z0-9]+(-ats)?\.iot\.us-east-1\.amazonaws\.com""#, r#""[IOT_ENDPOINT]""#),
        (r"rainmaker-\d{13}", "rainmaker-[MILLIS]"),
        (r"artifactsbucket-[a-z0-9]+", "artifactsbucket-[SUFFIX]"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect()
}

fn pretty(r: &Run) -> String {
    assert_eq!(r.code, 0, "{}", r.transcript());
    let v: serde_json::Value =
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("JSON on stdout ({e}): {}", r.transcript()));
    serde_json::to_string_pretty(&v).unwrap()
}

#[test]
fn apply_without_yes_and_without_a_terminal_exits_2_and_says_to_pass_yes() {
    let d = tempdir();
    let init = run(d.path(), &["init", "--name", "acme-home", "--region", REGION]);
    assert_eq!(init.code, 0, "{}", init.transcript());
    // the test's stdin is not a terminal: nobody could confirm, so nothing is touched (no endpoint is even needed)
    let r = run(d.path(), &["apply"]);
    assert_eq!(r.code, 2, "{}", r.transcript());
    assert!(r.stderr.contains("help:") && r.stderr.contains("pass --yes"), "{}", r.transcript());
    assert_snapshot!("apply-no-terminal", r.transcript());
    let j = run(d.path(), &["apply", "--output", "json"]);
    assert_eq!(j.code, 2, "{}", j.transcript());
    let v: serde_json::Value = serde_json::from_str(j.stderr.trim()).expect("the error as JSON on stderr");
    assert!(v["error"]["help"].as_str().unwrap().contains("--yes"), "{v}");
    assert!(!d.path().join(".rainmaker").exists(), "nothing was written");
}

#[test]
fn plan_apply_noop_and_status_as_json_against_moto() {
    let moto = MotoServer::shared();
    let endpoint = moto.endpoint_url();
    let d = tempdir();
    let dir = d.path();
    let init = run(dir, &["init", "--name", "snap-home", "--region", REGION]);
    assert_eq!(init.code, 0, "{}", init.transcript());
    own_account(moto, dir, "snap-home");
    write_artifacts(&dir.join("artifacts"), "snap");
    let filters = filters(dir);
    let snap = |name: &str, text: String| {
        let f: Vec<(&str, &str)> = filters.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        insta::with_settings!({ filters => f }, { assert_snapshot!(name, text) });
    };

    let plan = run_aws(dir, &endpoint, &["--output", "json", "plan", "--artifacts", "artifacts"]);
    snap("plan-json-fresh", pretty(&plan));

    let apply = run_aws(dir, &endpoint, &["--output", "json", "apply", "--yes", "--artifacts", "artifacts"]);
    assert!(apply.stderr.is_empty(), "--output json prints no progress: {}", apply.stderr);
    snap("apply-json-first", pretty(&apply));

    let noop = run_aws(dir, &endpoint, &["--output", "json", "apply", "--yes", "--artifacts", "artifacts"]);
    let v: serde_json::Value = serde_json::from_str(&noop.stdout).unwrap();
    assert_eq!(v["changed"], false, "{}", noop.transcript());
    snap("apply-json-noop", pretty(&noop));

    let status = run_aws(dir, &endpoint, &["--output", "json", "status", "--events", "2"]);
    snap("status-json", pretty(&status));
}
