//! Account and region before anything changes: `sts:GetCallerIdentity` first, a rainmaker.yaml `account:` of
//! another account refused (exit 2, both accounts and the credentials' source named, nothing created: checked
//! through CloudFormation and IoT), an explicit AWS region that disagrees with the config refused unless
//! `--region` decides, and the local state keyed `.rainmaker/<account>/<region>/<tenant>/` with the old
//! `.rainmaker/<tenant>/` moved there on first use (same claim certificate, nothing copied).

use super::cli::{aws_cmd, own_account, run_aws};
use super::fixtures::{moto_apply_options, tenant, write_artifacts};
use crate::support::{run, tempdir, Run};
use insta::assert_snapshot;
use rainmaker_deploy::aws::deploy;
use rainmaker_deploy::aws::progress::{Always, NoProgress};
use rainmaker_deploy::aws::{identity, DeployError};
use rainmaker_deploy::template::Names;
use rainmaker_test_support::{account_for, MotoServer, REGION};
use std::path::Path;

fn init(dir: &Path, name: &str, account: Option<&str>) {
    let r = run(dir, &["init", "--name", name, "--region", REGION]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    if let Some(a) = account {
        let path = dir.join("rainmaker.yaml");
        let text = std::fs::read_to_string(&path).unwrap();
        let text = text.replacen(&format!("region: {REGION}\n"), &format!("region: {REGION}\naccount: \"{a}\"\n"), 1);
        assert!(text.contains("account:"), "{text}");
        std::fs::write(&path, text).unwrap();
    }
}

fn snap(name: &str, dir: &Path, r: &Run) {
    let dir = regex::escape(&dir.display().to_string());
    // the IAM user's name (test-<n>-<n>) varies in length, so miette wraps the message at a different word: the
    // error's continuation lines ("  │ ...") are joined before the name is redacted
    let filters = vec![
        (r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]"),
        (dir.as_str(), "[DIR]"),
        (r"\n +│ ", " "),
        (r"user/test-\d+-\d+", "user/[USER]"),
    ];
    insta::with_settings!({ filters => filters }, {
        assert_snapshot!(name, r.transcript());
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_for_another_account_is_refused_before_anything_is_created() {
    let moto = MotoServer::shared();
    let endpoint = moto.endpoint_url();
    let d = tempdir();
    let dir = d.path();
    let name = format!("acct-{}", std::process::id() % 100_000);
    init(dir, &name, Some("111111111111"));
    let keys = own_account(moto, dir, "acct-wrong");
    let caller = keys.account.clone();
    write_artifacts(&dir.join("artifacts"), "acct");

    let r = run_aws(dir, &endpoint, &["apply", "--yes", "--artifacts", "artifacts"]);
    assert_eq!(r.code, 2, "{}", r.transcript());
    let theirs = format!("account {caller}");
    for want in [theirs.as_str(), "account: \"111111111111\"", "the default credential chain"] {
        assert!(r.stderr.contains(want), "{want}: {}", r.stderr);
    }
    snap("wrong-account-apply", dir, &r);
    let j = run_aws(dir, &endpoint, &["--output", "json", "apply", "--yes", "--artifacts", "artifacts"]);
    assert_eq!(j.code, 2, "{}", j.transcript());
    let e: serde_json::Value = serde_json::from_str(j.stderr.trim()).expect("the error as JSON");
    assert_eq!(e["error"]["code"], "rainmaker::config::wrong_account", "{e}");
    for cmd in [&["plan", "--artifacts", "artifacts"][..], &["status"], &["destroy", "--yes"]] {
        let r = run_aws(dir, &endpoint, cmd);
        assert_eq!(r.code, 2, "{cmd:?} refused too: {}", r.transcript());
        assert!(r.stderr.contains(&format!("belong to account {caller}")), "{cmd:?}: {}", r.stderr);
    }

    // nothing was created: no stack (CloudFormation), no policy and no claim certificate (IoT), no local state
    let sdk = moto.sdk_config_with(&keys).await;
    let names = Names::new(&name);
    let cfn = aws_sdk_cloudformation::Client::new(&sdk);
    for stack in [&names.bootstrap_stack, &names.backend_stack] {
        let e = cfn.describe_stacks().stack_name(stack).send().await.expect_err("no stack");
        assert!(format!("{e:?}").contains("does not exist"), "{stack}: {e:?}");
    }
    let iot = aws_sdk_iot::Client::new(&sdk);
    let policies = iot.list_policies().send().await.unwrap();
    let ours: Vec<&str> = policies
        .policies()
        .iter()
        .filter_map(|p| p.policy_name())
        .filter(|p| p.starts_with(&format!("{}-", names.prefix)))
        .collect();
    assert!(ours.is_empty(), "no policy of the tenant: {ours:?}");
    assert!(!dir.join(".rainmaker").exists(), "no local state written");

    // the right account is accepted and reported
    let path = dir.join("rainmaker.yaml");
    let fixed = std::fs::read_to_string(&path).unwrap().replace("\"111111111111\"", &format!("\"{caller}\""));
    std::fs::write(&path, fixed).unwrap();
    let plan = run_aws(dir, &endpoint, &["--output", "json", "plan", "--artifacts", "artifacts"]);
    assert_eq!(plan.code, 0, "{}", plan.transcript());
    let v: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    assert_eq!(v["account"], caller.as_str());
    assert_eq!(v["api_calls"]["by_operation"]["STS.GetCallerIdentity"], 1, "{v}");
}

#[test]
fn an_explicit_aws_region_that_disagrees_with_the_config_needs_region() {
    let moto = MotoServer::shared();
    let endpoint = moto.endpoint_url();
    let d = tempdir();
    let dir = d.path();
    init(dir, "region-home", None);
    let with = |envs: &[(&str, &str)], args: &[&str]| -> Run {
        let mut c = aws_cmd(dir, &endpoint);
        for (k, v) in envs {
            c.env(k, v);
        }
        Run::from(c.args(args).output().unwrap())
    };

    let r = with(&[("AWS_REGION", "eu-west-1")], &["status"]);
    assert_eq!(r.code, 2, "{}", r.transcript());
    assert!(r.stderr.contains("rainmaker.yaml says region us-east-1, but AWS_REGION says eu-west-1"), "{}", r.stderr);
    assert!(r.stderr.contains("--region us-east-1"), "{}", r.stderr);
    snap("region-conflict", dir, &r);
    let r = with(&[("AWS_DEFAULT_REGION", "eu-west-1")], &["status"]);
    assert_eq!(r.code, 2, "{}", r.transcript());
    // a named profile's region counts; the default profile's does not
    let config = dir.join("aws-config");
    std::fs::write(&config, "[default]\nregion = ap-south-1\n[profile ci]\nregion = eu-west-1\n").unwrap();
    let file = config.display().to_string();
    let r = with(&[("AWS_CONFIG_FILE", &file)], &["--profile", "ci", "status"]);
    assert_eq!(r.code, 2, "{}", r.transcript());
    assert!(r.stderr.contains("but profile ci says eu-west-1"), "{}", r.stderr);
    let r = with(&[("AWS_CONFIG_FILE", &file)], &["status"]);
    assert_eq!(r.code, 0, "the default profile's region is not a choice: {}", r.transcript());

    // --region decides; an agreeing AWS_REGION is fine
    let r = with(&[("AWS_REGION", "eu-west-1")], &["--region", "us-east-1", "--output", "json", "status"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["region"], "us-east-1");
    let r = with(&[("AWS_REGION", "us-east-1")], &["status"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_state_is_keyed_by_account_and_region_and_the_old_layout_is_moved_on_first_use() {
    let moto = MotoServer::shared();
    let account = account_for("state-layout");
    let sdk = moto.sdk_config_in(&account).await;
    let d = tempdir();
    let name = format!("state-{}", std::process::id() % 100_000);
    let t = tenant(&name, REGION, sdk.clone(), d.path());
    write_artifacts(&t.artifacts_dir, "v1");
    let opts = moto_apply_options();
    let first = deploy::apply(&t, &opts, &Always(true), &NoProgress).await.expect("first apply");
    let new = d.path().join(".rainmaker").join(&account).join(REGION).join(&name);
    assert_eq!(new, t.state_dir(&account));
    assert_eq!(first.outputs_file, new.join("outputs.json"));
    let claim = first.claim_certificate.clone().unwrap();
    assert_eq!(claim.private_key_file, new.join("claim.private.key"));

    // what an older rainmaker-deploy left: `.rainmaker/<tenant>/` with paths relative to its working directory
    let old = d.path().join(".rainmaker").join(&name);
    std::fs::rename(&new, &old).unwrap();
    let record = std::fs::read_to_string(old.join("claim.json")).unwrap();
    let relative = format!(".rainmaker/{name}");
    std::fs::write(old.join("claim.json"), record.replace(&new.display().to_string(), &relative)).unwrap();
    assert!(std::fs::read_to_string(old.join("claim.json")).unwrap().contains(&relative));

    let again = deploy::apply(&t, &opts, &Always(true), &NoProgress).await.expect("apply after the old layout");
    assert!(!old.exists(), "moved, not copied");
    for f in ["claim.json", "claim.private.key", "claim.cert.pem", "outputs.json"] {
        assert!(new.join(f).exists(), "{f} in the new place");
    }
    let kept = again.claim_certificate.unwrap();
    assert_eq!(kept.certificate_id, claim.certificate_id, "the same claim certificate, not a second one");
    assert!(!kept.created);
    assert_eq!(kept.private_key_file, new.join("claim.private.key"));

    // IoT agrees: the one certificate attached to the claim policy, still active
    let iot = aws_sdk_iot::Client::new(&sdk);
    let names = Names::new(&name);
    let targets = iot.list_targets_for_policy().policy_name(&names.claim_policy).send().await.unwrap();
    assert_eq!(
        targets.targets(),
        std::slice::from_ref(&claim.certificate_arn),
        "exactly one claim certificate attached"
    );
    let cert = iot.describe_certificate().certificate_id(&claim.certificate_id).send().await.unwrap();
    assert_eq!(cert.certificate_description().unwrap().status().unwrap().as_str(), "ACTIVE");

    // the library's check: a tenant config naming another account is refused before any call but STS
    let mut other = t.clone();
    other.config.account = Some("999999999999".into());
    let err = deploy::apply(&other, &opts, &Always(true), &NoProgress).await.unwrap_err();
    assert!(
        matches!(&err, DeployError::WrongAccount { expected, actual, .. } if expected == "999999999999" && actual == &account),
        "{err:?}"
    );
    assert_eq!(identity::state_dir(&t).await.unwrap(), new);
}
