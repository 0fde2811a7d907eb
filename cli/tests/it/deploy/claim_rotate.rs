//! `claim rotate` and `claim show` through the CLI on moto: during the grace period the old and the new claim
//! certificates are both ACTIVE and attached, `--finish` before the grace ends deletes nothing and after it leaves
//! one; the local claim files hold the new certificate (= the secret), the old one is the secret's AWSPREVIOUS;
//! `show` never prints a key. Checked through IoT and Secrets Manager.

use super::cli::run_aws;
use super::fixtures::applied_smart_home;
use crate::support::{run, Run};
use rainmaker_deploy::aws::claim;
use rainmaker_deploy::template::Names;
use rainmaker_test_support::MotoServer;

fn json(r: &Run) -> serde_json::Value {
    assert_eq!(r.code, 0, "{}", r.transcript());
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("JSON on stdout ({e}): {}", r.transcript()))
}

/// (ACTIVE, all) certificate ids attached to the claim policy, sorted.
async fn attached(iot: &aws_sdk_iot::Client, policy: &str) -> (Vec<String>, Vec<String>) {
    let targets = iot.list_targets_for_policy().policy_name(policy).send().await.unwrap().targets().to_vec();
    let (mut active, mut all) = (Vec::new(), Vec::new());
    for arn in &targets {
        let id = claim::id_of(arn).unwrap().to_string();
        let d = iot.describe_certificate().certificate_id(&id).send().await.unwrap();
        if d.certificate_description().unwrap().status().unwrap().as_str() == "ACTIVE" {
            active.push(id.clone());
        }
        all.push(id);
    }
    active.sort();
    all.sort();
    (active, all)
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotate_keeps_both_during_the_grace_then_finish_leaves_the_new_one() {
    let (d, t) = applied_smart_home("claim-rot").await;
    let dir = d.path();
    let endpoint = MotoServer::shared().endpoint_url();
    let iot = aws_sdk_iot::Client::new(&t.sdk);
    let sm = aws_sdk_secretsmanager::Client::new(&t.sdk);
    let names = Names::new(&t.config.name);
    let cli = |args: &[&str]| run_aws(dir, &endpoint, args);

    let shown = json(&cli(&["--output", "json", "claim", "show"]));
    let certs = shown["certificates"].as_array().unwrap();
    assert_eq!(certs.len(), 1, "{shown}");
    let first = certs[0]["certificate_id"].as_str().unwrap().to_string();
    assert_eq!((certs[0]["role"].as_str(), certs[0]["status"].as_str()), (Some("current"), Some("ACTIVE")));
    assert_eq!(certs[0]["attached"], true);
    assert_eq!(certs[0]["fingerprint"].as_str().unwrap().len(), 64);
    assert!(certs[0]["created"].is_string(), "{shown}");
    let text = cli(&["claim", "show"]);
    assert!(!text.stdout.contains("PRIVATE KEY") && !shown.to_string().contains("PRIVATE KEY"));
    assert!(text.stdout.contains(&first), "{}", text.transcript());

    // nobody to confirm and no --yes: refused, nothing changed
    let r = run(dir, &["claim", "rotate"]);
    assert_eq!(r.code, 2, "{}", r.transcript());
    assert!(r.stderr.contains("--yes"), "{}", r.transcript());
    // a dry run changes nothing
    let versions =
        || async { sm.list_secret_version_ids().secret_id(&names.claim_secret).send().await.unwrap().versions().len() };
    let before = versions().await;
    let dry = json(&cli(&["--output", "json", "claim", "rotate", "--dry-run"]));
    assert_eq!((dry["dry_run"].as_bool(), dry["replaced"].as_str()), (Some(true), Some(first.as_str())));
    assert_eq!(versions().await, before);
    assert_eq!(attached(&iot, &names.claim_policy).await, (vec![first.clone()], vec![first.clone()]));
    let key_file = t.state_dir(&rainmaker_test_support::account_for("claim-rot"));
    let old_key = std::fs::read_to_string(key_file.join("claim.private.key")).unwrap();

    // rotate with no grace: both attached and ACTIVE until --finish
    let rotated = json(&cli(&["--output", "json", "claim", "rotate", "--grace", "0s", "--yes"]));
    let second = rotated["current"].as_str().unwrap().to_string();
    assert_ne!(second, first);
    assert_eq!(
        attached(&iot, &names.claim_policy).await,
        (sorted(vec![first.clone(), second.clone()]), sorted(vec![first.clone(), second.clone()]))
    );
    let secret: serde_json::Value = serde_json::from_str(
        sm.get_secret_value().secret_id(&names.claim_secret).send().await.unwrap().secret_string().unwrap(),
    )
    .unwrap();
    let previous = sm.get_secret_value().secret_id(&names.claim_secret).version_stage("AWSPREVIOUS").send().await;
    let previous: serde_json::Value = serde_json::from_str(previous.unwrap().secret_string().unwrap()).unwrap();
    assert_eq!(previous["private_key"].as_str(), Some(old_key.as_str()), "the old certificate is AWSPREVIOUS");
    // the device-facing claim files hold the new certificate, as the secret does; outputs.json names it
    let new_key = std::fs::read_to_string(key_file.join("claim.private.key")).unwrap();
    assert_ne!(new_key, old_key);
    assert_eq!(secret["private_key"].as_str(), Some(new_key.as_str()));
    assert_eq!(
        std::fs::read_to_string(key_file.join("claim.cert.pem")).unwrap(),
        secret["certificate_pem"].as_str().unwrap()
    );
    let outputs: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(key_file.join("outputs.json")).unwrap()).unwrap();
    assert_eq!(outputs["ClaimCertificateId"].as_str(), Some(second.as_str()));
    let shown = json(&cli(&["--output", "json", "claim", "show"]));
    let roles: Vec<(&str, &str)> = shown["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["role"].as_str().unwrap(), c["certificate_id"].as_str().unwrap()))
        .collect();
    assert!(
        roles.contains(&("current", second.as_str())) && roles.contains(&("retiring", first.as_str())),
        "{roles:?}"
    );
    // an apply meanwhile keeps both (it never deletes a claim certificate)
    let applied = json(&cli(&["--output", "json", "apply", "--yes", "--artifacts", "a"]));
    assert_eq!(applied["claim_certificate"]["certificate_id"].as_str(), Some(second.as_str()));
    assert_eq!(attached(&iot, &names.claim_policy).await.0.len(), 2);

    // --finish after the (zero) grace: one left, the new one
    let finished = json(&cli(&["--output", "json", "claim", "rotate", "--finish", "--yes"]));
    assert_eq!(finished["deleted"], serde_json::json!([first]), "{finished}");
    assert_eq!(attached(&iot, &names.claim_policy).await, (vec![second.clone()], vec![second.clone()]));
    let e = iot.describe_certificate().certificate_id(&first).send().await.unwrap_err();
    assert!(e.into_service_error().is_resource_not_found_exception(), "{first} deleted");

    // a rotation with an hour's grace: --finish within the hour deletes nothing, both keep working
    let rotated = json(&cli(&["--output", "json", "claim", "rotate", "--grace", "1h", "--yes"]));
    let third = rotated["current"].as_str().unwrap().to_string();
    let finished = json(&cli(&["--output", "json", "claim", "rotate", "--finish", "--yes"]));
    assert_eq!(finished["deleted"], serde_json::json!([]), "{finished}");
    assert_eq!(finished["retiring"][0]["certificate_id"].as_str(), Some(second.as_str()));
    let both = sorted(vec![second.clone(), third.clone()]);
    assert_eq!(attached(&iot, &names.claim_policy).await, (both.clone(), both));

    // a bad grace is refused naming the flag and the forms
    let bad = run(dir, &["claim", "rotate", "--grace", "soon", "--yes"]);
    assert_eq!(bad.code, 2, "{}", bad.transcript());
    assert!(bad.stderr.contains("--grace") && bad.stderr.contains("30d, 7d12h, 90m or 0s"), "{}", bad.transcript());
}
