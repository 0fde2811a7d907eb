//! `status` reads the claim certificate from the tenant's account (the claim secret in Secrets Manager, the claim
//! policy's targets and each certificate's status in IoT), not from the local record: a fresh working directory
//! sees the same certificate; none attached and more than one ACTIVE attached are warnings naming the command
//! that fixes them; a local copy of another certificate is called stale. Each state is made, and checked, through
//! IoT itself.

use super::claim::another_directory as fresh_directory;
use super::cli::run_aws;
use super::fixtures::applied_smart_home;
use crate::support::Run;
use rainmaker_deploy::aws::claim;
use rainmaker_deploy::template::Names;
use rainmaker_test_support::MotoServer;
use std::path::Path;

fn json(r: &Run) -> serde_json::Value {
    assert_eq!(r.code, 0, "{}", r.transcript());
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("JSON on stdout ({e}): {}", r.transcript()))
}

/// ACTIVE certificate ids attached to the claim policy, sorted, through IoT.
async fn active_attached(iot: &aws_sdk_iot::Client, policy: &str) -> Vec<String> {
    let targets = iot.list_targets_for_policy().policy_name(policy).send().await.unwrap().targets().to_vec();
    let mut active = Vec::new();
    for arn in &targets {
        let id = claim::id_of(arn).unwrap().to_string();
        let d = iot.describe_certificate().certificate_id(&id).send().await.unwrap();
        if d.certificate_description().unwrap().status().unwrap().as_str() == "ACTIVE" {
            active.push(id);
        }
    }
    active.sort();
    active
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    let mut s: Vec<String> = v.as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_string()).collect();
    s.sort();
    s
}

fn helps(claim: &serde_json::Value) -> Vec<String> {
    claim["warnings"].as_array().unwrap().iter().map(|w| w["help"].as_str().unwrap().to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_reads_the_claim_certificate_from_the_account_in_any_directory() {
    let (a, t) = applied_smart_home("claim-st").await;
    let endpoint = MotoServer::shared().endpoint_url();
    let iot = aws_sdk_iot::Client::new(&t.sdk);
    let names = Names::new(&t.config.name);
    let status = |d: &Path| json(&run_aws(d, &endpoint, &["--output", "json", "status"]));

    // where apply ran: the account's certificate, the local copy agrees, nothing to warn about
    let here = status(a.path());
    let claim = &here["claim"];
    let id = here["claim_certificate"]["certificate_id"].as_str().unwrap().to_string();
    assert_eq!(claim["source"], "account");
    assert_eq!(
        (claim["secret"].as_str(), claim["policy"].as_str()),
        (Some(&*names.claim_secret), Some(&*names.claim_policy))
    );
    assert_eq!((claim["certificate_id"].as_str(), claim["status"].as_str()), (Some(id.as_str()), Some("ACTIVE")));
    assert_eq!((claim["attached"].as_bool(), claim["local_copy"].as_str()), (Some(true), Some("same")));
    assert_eq!(claim["warnings"], serde_json::json!([]), "{claim}");
    assert_eq!(strings(&claim["active_attached"]), vec![id.clone()]);
    assert_eq!(active_attached(&iot, &names.claim_policy).await, vec![id.clone()], "IoT agrees");

    // a fresh directory, no local record: the same certificate, read from the account; status writes nothing
    let b = fresh_directory(a.path());
    let fresh = status(b.path());
    assert_eq!(fresh["claim_certificate"], serde_json::Value::Null, "no local record here");
    for k in ["certificate_id", "certificate_arn", "status", "attached", "active_attached", "warnings"] {
        assert_eq!(fresh["claim"][k], claim[k], "{k}");
    }
    assert_eq!(fresh["claim"]["local_copy"], "absent");
    let ops = fresh["api_calls"]["by_operation"].as_object().unwrap();
    for op in [".GetSecretValue", ".ListTargetsForPolicy", ".DescribeCertificate"] {
        assert!(ops.keys().any(|k| k.ends_with(op)), "{op} read from the account: {ops:?}");
    }
    assert!(!b.path().join(".rainmaker").exists(), "status changes nothing, not even the local state");
    let text = run_aws(b.path(), &endpoint, &["status"]);
    assert_eq!(text.code, 0, "{}", text.transcript());
    assert!(
        text.stdout.contains("read from the account")
            && text.stdout.contains(&format!("{id} current  ACTIVE attached")),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.contains("local copy: none in this directory") && !text.stdout.contains("warning"),
        "{}",
        text.stdout
    );

    // none ACTIVE attached (the recorded one revoked behind our back, still attached): a warning whose help says
    // `apply`, and apply does fix it (a new certificate; the revoked one is left attached, inactive, for destroy).
    // (A recorded certificate detached reads as "not registered" on moto, whose certificate ids are the SHA-256
    // of the PEM text, not of the DER as on AWS: status reads it by the id the secret holds.)
    let revoked = aws_sdk_iot::types::CertificateStatus::Revoked;
    iot.update_certificate().certificate_id(&id).new_status(revoked).send().await.unwrap();
    assert!(active_attached(&iot, &names.claim_policy).await.is_empty());
    let none = status(b.path());
    assert_eq!((none["claim"]["attached"].as_bool(), none["claim"]["status"].as_str()), (Some(true), Some("REVOKED")));
    assert_eq!(none["claim"]["active_attached"], serde_json::json!([]));
    let h = helps(&none["claim"]);
    assert!(h.len() == 1 && h[0].contains("`rainmaker-deploy apply`"), "{h:?}");
    let text = run_aws(b.path(), &endpoint, &["status"]);
    assert_eq!(text.code, 0, "a warning is not a failure: {}", text.transcript());
    assert!(
        text.stdout.contains("warning: no ACTIVE claim certificate is attached")
            && text.stdout.contains("help: `rainmaker-deploy apply`"),
        "{}",
        text.stdout
    );
    let zips = t.artifacts_dir.display().to_string();
    let applied = json(&run_aws(b.path(), &endpoint, &["--output", "json", "apply", "--yes", "--artifacts", &zips]));
    let id = applied["claim_certificate"]["certificate_id"].as_str().unwrap().to_string();
    assert_eq!(active_attached(&iot, &names.claim_policy).await, vec![id.clone()], "a new one replaced it");
    let healed = status(b.path());
    assert_eq!(healed["claim"]["warnings"], serde_json::json!([]), "{}", healed["claim"]);
    assert_eq!(healed["claim"]["certificate_id"].as_str(), Some(id.as_str()));

    // a rotation in its grace period (from A): two ACTIVE attached, a warning naming `claim rotate --finish`; B's
    // local copy still holds the old certificate: stale
    let rotated =
        json(&run_aws(a.path(), &endpoint, &["--output", "json", "claim", "rotate", "--grace", "1h", "--yes"]));
    let new = rotated["current"].as_str().unwrap().to_string();
    let mut both = vec![id.clone(), new.clone()];
    both.sort();
    assert_eq!(active_attached(&iot, &names.claim_policy).await, both, "IoT: both ACTIVE and attached");
    let two = status(b.path());
    let claim = &two["claim"];
    assert_eq!(claim["certificate_id"].as_str(), Some(new.as_str()), "the secret's new certificate is current");
    assert_eq!(strings(&claim["active_attached"]), both);
    let roles: Vec<(&str, &str)> = claim["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["role"].as_str().unwrap(), c["certificate_id"].as_str().unwrap()))
        .collect();
    assert!(roles.contains(&("current", new.as_str())) && roles.contains(&("retiring", id.as_str())), "{roles:?}");
    assert_eq!(claim["local_copy"], "stale");
    let h = helps(claim);
    assert!(h.iter().any(|h| h.contains("`rainmaker-deploy claim rotate --finish`")), "{h:?}");
    assert!(h.iter().any(|h| h.contains("rewrites the local copy")), "{h:?}");
    assert_eq!(h.len(), 2, "{h:?}");
    // A's copy was rewritten by the rotation: only the grace warning there
    assert_eq!(status(a.path())["claim"]["local_copy"], "same");
}
