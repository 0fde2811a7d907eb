//! Every input refusal of `upgrade` exits 2 before any AWS call: the endpoint is a closed port, so a call would
//! fail with exit 1 instead (and nothing could have been changed).

use crate::deploy::cli::run_aws;
use crate::support::{run, tempdir, Run};
use rainmaker_test_support::closed_port_url;
use std::path::Path;

pub(super) fn setup(dir: &Path, tenants_yaml: &str) {
    for (name, region) in [("acme-home", "eu-west-1"), ("beta-home", "us-east-1")] {
        let t = dir.join("tenants").join(name);
        std::fs::create_dir_all(&t).unwrap();
        let init = run(&t, &["init", "--name", name, "--region", region]);
        assert_eq!(init.code, 0, "{}", init.transcript());
    }
    std::fs::write(dir.join("tenants.yaml"), tenants_yaml).unwrap();
}

pub(super) const GOOD: &str = r#"version: 1
defaults:
  role: "arn:aws:iam::{account}:role/rainmaker-deployer"
waves:
  canary: { max_concurrent: 1, failure_tolerance: 0 }
  rest: { max_concurrent: 10, failure_tolerance: "5%" }
tenants:
  - name: acme-home
    config: tenants/acme-home/rainmaker.yaml
    account: "111111111111"
    region: eu-west-1
    wave: canary
  - name: beta-home
    config: tenants/beta-home/rainmaker.yaml
    account: "222222222222"
    region: us-east-1
"#;

fn upgrade(dir: &Path, args: &[&str]) -> Run {
    let mut all = vec!["upgrade", "--tenants", "tenants.yaml"];
    all.extend_from_slice(args);
    run_aws(dir, &closed_port_url(), &all)
}

fn refused(r: &Run, needles: &[&str]) {
    assert_eq!(r.code, 2, "{}", r.transcript());
    for n in needles {
        assert!(r.stderr.contains(n), "stderr should name `{n}`: {}", r.transcript());
    }
    assert!(r.stdout.is_empty(), "no report for a refused run: {}", r.transcript());
}

#[test]
fn bad_flags_and_selections_exit_2_naming_the_flag() {
    let d = tempdir();
    setup(d.path(), GOOD);
    refused(&upgrade(d.path(), &["--yes", "--failure-tolerance", "five"]), &["--failure-tolerance", "percentage"]);
    refused(&upgrade(d.path(), &["--yes", "--max-concurrent", "0"]), &["--max-concurrent"]);
    refused(&upgrade(d.path(), &["--yes", "--max-concurrent", "120%"]), &["--max-concurrent", "above 100%"]);
    refused(&upgrade(d.path(), &["--yes", "--wave", "canery"]), &["--wave", "did you mean `canary`"]);
    refused(&upgrade(d.path(), &["--yes", "--only", "acme-hom"]), &["--only", "acme-home"]);
    refused(&upgrade(d.path(), &["--yes", "--canary", "1"]), &["--canary", "already has a `canary` wave"]);
    refused(&upgrade(d.path(), &[]), &["--yes", "--dry-run"]);
    // a bake CloudFormation would not monitor, or both bake flags
    refused(&upgrade(d.path(), &["--yes", "--bake", "181"]), &["--bake", "1 to 180 minutes"]);
    refused(&upgrade(d.path(), &["--yes", "--bake", "0"]), &["--bake", "--no-bake"]);
    refused(&upgrade(d.path(), &["--yes", "--bake", "5", "--no-bake"]), &["--bake", "--no-bake"]);
    // warning about drift and refusing it at once: pick one
    refused(
        &upgrade(d.path(), &["--yes", "--check-drift", "--refuse-drifted"]),
        &["--refuse-drifted", "--check-drift"],
    );
    // --to another template version: refused, both versions named
    let v = rainmaker_deploy::TEMPLATE_VERSION;
    refused(&upgrade(d.path(), &["--yes", "--to", "99.0.0"]), &["--to", "99.0.0", &format!("renders templates {v}")]);
    // --to this CLI's version is accepted: the run goes on to AWS (here a closed port: each tenant fails, exit 3)
    crate::deploy::fixtures::write_artifacts(&d.path().join("artifacts"), "refusals");
    let r = upgrade(d.path(), &["--dry-run", "--to", v, "--output", "json", "--artifacts", "artifacts"]);
    assert_eq!(r.code, 3, "{}", r.transcript());
    let report: serde_json::Value = serde_json::from_str(&r.stdout).expect("a report");
    assert_eq!(report["template_version"], v);
    assert_eq!((report["summary"]["failed"].as_u64(), report["summary"]["skipped"].as_u64()), (Some(1), Some(1)));
    assert!(report["tenants"][0]["error"].as_str().unwrap().contains("STS AssumeRole"), "{}", r.stdout);
}

#[test]
fn tenants_file_problems_exit_2_with_file_line_and_column() {
    let d = tempdir();
    // duplicate name, unknown wave, a tolerance that is neither a count nor a percentage, region disagreeing with
    // the config, a missing config: every problem at once
    let bad = GOOD
        .replace("failure_tolerance: \"5%\"", "failure_tolerance: \"lots\"")
        .replace("name: beta-home\n    config: tenants/beta-home", "name: acme-home\n    config: tenants/beta-home")
        .replace("wave: canary", "wave: canari")
        .replace("region: us-east-1", "region: eu-west-1")
        + "  - name: gone-home\n    config: tenants/gone-home/rainmaker.yaml\n    account: \"333333333333\"\n";
    setup(d.path(), &bad);
    let r = upgrade(d.path(), &["--yes"]);
    refused(&r, &["tenants.yaml:", "duplicate tenant `acme-home`", "canari", "lots", "gone-home"]);
}
