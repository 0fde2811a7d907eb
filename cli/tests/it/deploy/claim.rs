//! The claim certificate's state lives in the tenant's account (issue 11, item 5): applies from any directory share
//! one ACTIVE claim certificate attached to the claim policy, the local copy equals the secret, every interrupted
//! state converges, and `destroy` removes every claim certificate it can find. Checked through IoT
//! (ListTargetsForPolicy, DescribeCertificate) and Secrets Manager, never through a report alone.

use super::cli::{own_account, run_aws, CREDENTIALS};
use super::fixtures::write_artifacts;
use crate::support::{run, tempdir};
use rainmaker_deploy::aws::claim::{self, Place};
use rainmaker_deploy::aws::progress::{Collect, NoProgress};
use rainmaker_deploy::aws::{Clients, DeployError};
use rainmaker_deploy::config;
use rainmaker_deploy::template::Names;
use rainmaker_test_support::{account_for, MotoServer, REGION};
use std::path::Path;

fn json(r: &crate::support::Run) -> serde_json::Value {
    assert_eq!(r.code, 0, "{}", r.transcript());
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("JSON on stdout ({e}): {}", r.transcript()))
}

/// The certificates attached to the claim policy that are ACTIVE, and all attached.
async fn attached(iot: &aws_sdk_iot::Client, policy: &str) -> (Vec<String>, Vec<String>) {
    let targets = iot.list_targets_for_policy().policy_name(policy).send().await.unwrap().targets().to_vec();
    let mut active = Vec::new();
    for arn in &targets {
        let id = claim::id_of(arn).unwrap();
        let d = iot.describe_certificate().certificate_id(id).send().await.unwrap();
        if d.certificate_description().unwrap().status().unwrap().as_str() == "ACTIVE" {
            active.push(arn.clone());
        }
    }
    (active, targets)
}

async fn secret_json(sm: &aws_sdk_secretsmanager::Client, name: &str) -> serde_json::Value {
    let v = sm.get_secret_value().secret_id(name).send().await.unwrap();
    serde_json::from_str(v.secret_string().unwrap()).unwrap()
}

/// The local copy under `dir` equals the secret: same PEM, same key, key file 0600, written from a secret version.
fn copy_equals_secret(state: &Path, secret: &serde_json::Value) {
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(state.join("claim.json")).unwrap()).unwrap();
    assert!(record["secret_version_id"].is_string(), "{record}");
    assert_eq!(
        std::fs::read_to_string(state.join("claim.private.key")).unwrap(),
        secret["private_key"].as_str().unwrap()
    );
    assert_eq!(
        std::fs::read_to_string(state.join("claim.cert.pem")).unwrap(),
        secret["certificate_pem"].as_str().unwrap()
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(state.join("claim.private.key")).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}

/// A second working directory for the same tenant and account (another checkout, a CI runner): the config and the
/// credentials, no local state.
pub(super) fn another_directory(from: &Path) -> tempfile::TempDir {
    let d = tempdir();
    for f in ["rainmaker.yaml", CREDENTIALS] {
        std::fs::copy(from.join(f), d.path().join(f)).unwrap();
    }
    d
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_claim_certificate_in_the_account_from_any_directory_and_destroy_removes_it() {
    let moto = MotoServer::shared();
    let endpoint = moto.endpoint_url();
    let a = tempdir();
    let name = format!("claim-{}", std::process::id() % 100_000);
    assert_eq!(run(a.path(), &["init", "--name", &name, "--region", REGION]).code, 0);
    let keys = own_account(moto, a.path(), "claim-dirs");
    let sdk = moto.sdk_config_with(&keys).await;
    let (iot, sm) = (aws_sdk_iot::Client::new(&sdk), aws_sdk_secretsmanager::Client::new(&sdk));
    let names = Names::new(&name);
    let account = account_for("claim-dirs");
    let state = |d: &Path| d.join(".rainmaker").join(&account).join(REGION).join(&name);
    let apply = |d: &Path| {
        write_artifacts(&d.join("artifacts"), "claim");
        json(&run_aws(d, &endpoint, &["--output", "json", "apply", "--yes", "--artifacts", "artifacts"]))
    };

    // dir A: the first apply creates the certificate and stores it in the secret, tagged and encrypted
    let first = apply(a.path());
    let cert = first["claim_certificate"].clone();
    assert_eq!(cert["created"], true);
    assert_eq!(cert["secret"], names.claim_secret);
    let arn = cert["certificate_arn"].as_str().unwrap().to_string();
    assert_eq!(attached(&iot, &names.claim_policy).await, (vec![arn.clone()], vec![arn.clone()]));
    let secret = secret_json(&sm, &names.claim_secret).await;
    let id = cert["certificate_id"].as_str().unwrap();
    let described = iot.describe_certificate().certificate_id(id).send().await.unwrap();
    assert_eq!(described.certificate_description().unwrap().certificate_pem(), secret["certificate_pem"].as_str());
    assert!(secret["private_key"].as_str().unwrap().contains("PRIVATE KEY"));
    copy_equals_secret(&state(a.path()), &secret);
    let described = sm.describe_secret().secret_id(&names.claim_secret).send().await.unwrap();
    let tags: Vec<(&str, &str)> = described.tags().iter().map(|t| (t.key().unwrap(), t.value().unwrap())).collect();
    assert!(tags.contains(&("rainmaker:tenant", name.as_str())), "{tags:?}");
    assert_eq!(described.kms_key_id(), None, "the account's aws/secretsmanager key (no customer key configured)");
    assert!(!first.to_string().contains("PRIVATE KEY"), "the report never carries the key");

    // dir B, a fresh .rainmaker (another checkout, a CI runner): the same certificate, no new one
    let certificates = || async { iot.list_certificates().send().await.unwrap().certificates().len() };
    let before = certificates().await;
    let b = another_directory(a.path());
    let second = apply(b.path());
    assert_eq!(second["claim_certificate"]["certificate_arn"], arn.as_str());
    assert_eq!(second["claim_certificate"]["created"], false);
    let ops = second["api_calls"]["by_operation"].as_object().unwrap().clone();
    assert!(ops.keys().any(|k| k.ends_with(".GetSecretValue")), "B read the secret: {ops:?}");
    assert_eq!(certificates().await, before, "no certificate was added to the account");
    assert_eq!(attached(&iot, &names.claim_policy).await, (vec![arn.clone()], vec![arn.clone()]));
    copy_equals_secret(&state(b.path()), &secret);
    // and B's no-op apply trusts its copy after one DescribeCertificate
    let noop = apply(b.path());
    assert_eq!(noop["changed"], false);
    let ops = noop["api_calls"]["by_operation"].as_object().unwrap();
    assert!(!ops.keys().any(|k| k.contains("Secret")) && ops.contains_key("IoT.DescribeCertificate"), "{ops:?}");

    // killed after CreateSecret, before AttachPolicy: the certificate is recorded but has no policy
    iot.detach_policy().policy_name(&names.claim_policy).target(&arn).send().await.unwrap();
    let c = another_directory(a.path());
    let healed = apply(c.path());
    assert_eq!(healed["claim_certificate"]["certificate_arn"], arn.as_str(), "the recorded one gets its policy");
    assert_eq!(attached(&iot, &names.claim_policy).await, (vec![arn.clone()], vec![arn.clone()]));

    // killed after storing a new certificate in the secret, before RegisterCertificateWithoutCA (a first apply):
    // the secret holds a certificate IoT does not know. Simulated from the state above: the old certificate
    // detached (no longer the claim certificate), the secret replaced by one holding a certificate made locally.
    sm.delete_secret().secret_id(&names.claim_secret).force_delete_without_recovery(true).send().await.unwrap();
    iot.detach_policy().policy_name(&names.claim_policy).target(&arn).send().await.unwrap();
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let pem = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap().self_signed(&key).unwrap().pem();
    let recorded = serde_json::json!({
        "certificate_id": "0".repeat(64), "certificate_pem": pem, "private_key": key.serialize_pem(),
        "policy": &names.claim_policy
    });
    sm.create_secret().name(&names.claim_secret).secret_string(recorded.to_string()).send().await.unwrap();
    let before = certificates().await;
    let d = another_directory(a.path());
    let registered = apply(d.path());
    let new_arn = registered["claim_certificate"]["certificate_arn"].as_str().unwrap().to_string();
    assert_ne!(new_arn, arn);
    assert_eq!(registered["claim_certificate"]["created"], false, "the recorded one, registered: none made");
    assert_eq!(certificates().await, before + 1, "exactly the recorded certificate was registered");
    let new_id = claim::id_of(&new_arn).unwrap();
    let described = iot.describe_certificate().certificate_id(new_id).send().await.unwrap();
    assert_eq!(described.certificate_description().unwrap().certificate_pem(), Some(pem.as_str()));
    assert_eq!(attached(&iot, &names.claim_policy).await, (vec![new_arn.clone()], vec![new_arn.clone()]));
    copy_equals_secret(&state(d.path()), &secret_json(&sm, &names.claim_secret).await);
    // a second run finds it registered (or, where the answer was lost, ResourceAlreadyExists names it): no third
    let again = apply(d.path());
    assert_eq!(again["claim_certificate"]["certificate_arn"], new_arn.as_str());
    assert_eq!(certificates().await, before + 1);

    // the recorded certificate revoked (a leak): the next apply replaces it; still one ACTIVE attached
    let new_id = claim::id_of(&new_arn).unwrap();
    let revoked = aws_sdk_iot::types::CertificateStatus::Revoked;
    iot.update_certificate().certificate_id(new_id).new_status(revoked).send().await.unwrap();
    let replaced = apply(d.path());
    let third = replaced["claim_certificate"]["certificate_arn"].as_str().unwrap().to_string();
    assert!(third != new_arn && third != arn, "{replaced}");
    let (active, all) = attached(&iot, &names.claim_policy).await;
    assert_eq!(active, vec![third.clone()], "exactly one ACTIVE claim certificate attached: {all:?}");
    copy_equals_secret(&state(d.path()), &secret_json(&sm, &names.claim_secret).await);
    let previous = sm.get_secret_value().secret_id(&names.claim_secret).version_stage("AWSPREVIOUS").send().await;
    let previous: serde_json::Value = serde_json::from_str(previous.unwrap().secret_string().unwrap()).unwrap();
    assert_eq!(previous["certificate_pem"], pem.as_str(), "the revoked one is AWSPREVIOUS");

    // destroy from B, whose copy is stale (the first certificate): the policy's targets (the current and the
    // revoked one) and B's record are deleted, the secret scheduled for deletion, the stacks gone (each through
    // its own API)
    let gone = json(&run_aws(b.path(), &endpoint, &["--output", "json", "destroy", "--yes"]));
    let deleted: Vec<&str> =
        gone["claim_certificates_deleted"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    for arn in [&third, &new_arn, &arn] {
        let id = claim::id_of(arn).unwrap();
        assert!(deleted.contains(&id), "{id} deleted: {deleted:?}");
        let e = iot.describe_certificate().certificate_id(id).send().await.unwrap_err();
        assert!(e.into_service_error().is_resource_not_found_exception(), "{id} gone");
    }
    let d = sm.describe_secret().secret_id(&names.claim_secret).send().await.unwrap();
    assert!(d.deleted_date().is_some(), "secret scheduled for deletion (7-day recovery window)");
    let cfn = aws_sdk_cloudformation::Client::new(&sdk);
    for stack in [&names.backend_stack, &names.bootstrap_stack] {
        let listed = cfn.describe_stacks().stack_name(stack.as_str()).send().await;
        let deleted = match listed {
            Err(_) => true,
            Ok(o) => o.stacks().iter().all(|s| s.stack_status().unwrap().as_str() == "DELETE_COMPLETE"),
        };
        assert!(deleted, "{stack} deleted");
    }
    assert!(!state(b.path()).join("claim.private.key").exists(), "the local copy went too");
}

/// A claim policy in a fresh account, made through IoT directly (no stacks needed for the claim logic).
async fn account_with_claim_policy(label: &str) -> (aws_config::SdkConfig, config::Config, Names) {
    let moto = MotoServer::shared();
    let sdk = moto.sdk_config_in(&account_for(label)).await;
    let name = format!("{label}-{}", std::process::id() % 100_000);
    let cfg = config::blueprint_config("smart-home", &name, REGION).unwrap();
    let names = Names::new(&name);
    let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":"*"}]}"#;
    let iot = aws_sdk_iot::Client::new(&sdk);
    iot.create_policy().policy_name(&names.claim_policy).policy_document(doc).send().await.unwrap();
    (sdk, cfg, names)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_interrupted_or_inherited_state_converges_or_is_refused_untouched() {
    let (sdk, cfg, names) = account_with_claim_policy("claim-states").await;
    let c = Clients::new(&sdk);
    let dir = tempdir();
    let state = dir.path().join("state");
    let place = Place::new(&cfg, &names, &names.claim_policy, &state);
    let targets = || async {
        c.iot.list_targets_for_policy().policy_name(&names.claim_policy).send().await.unwrap().targets().to_vec()
    };

    // a deployment made before the secret: a local record and key, the certificate attached, no secret -> adopted
    let old = c.iot.create_keys_and_certificate().set_as_active(true).send().await.unwrap();
    let old_arn = old.certificate_arn().unwrap().to_string();
    c.iot.attach_policy().policy_name(&names.claim_policy).target(&old_arn).send().await.unwrap();
    std::fs::create_dir_all(&state).unwrap();
    let key = old.key_pair().unwrap().private_key().unwrap();
    std::fs::write(state.join("claim.private.key"), key).unwrap();
    std::fs::write(state.join("claim.cert.pem"), old.certificate_pem().unwrap()).unwrap();
    let record = serde_json::json!({
        "certificate_id": old.certificate_id().unwrap(), "certificate_arn": &old_arn,
        "certificate_file": ".rainmaker/x/claim.cert.pem", "private_key_file": ".rainmaker/x/claim.private.key",
        "policy": &names.claim_policy, "created": true
    });
    std::fs::write(state.join("claim.json"), record.to_string()).unwrap();
    let adopted = claim::ensure(&c, &place, true, &NoProgress).await.expect("adopt");
    assert_eq!((adopted.certificate_arn.as_str(), adopted.created), (old_arn.as_str(), false));
    let secret = secret_json(&c.secrets, &names.claim_secret).await;
    assert_eq!(secret["private_key"], key, "the local key moved into the account");
    assert_eq!(targets().await, vec![old_arn.clone()]);

    // a certificate attached that nobody recorded (another directory's, an older version): reported, kept
    let stray = c.iot.create_keys_and_certificate().set_as_active(true).send().await.unwrap();
    let stray_arn = stray.certificate_arn().unwrap().to_string();
    c.iot.attach_policy().policy_name(&names.claim_policy).target(&stray_arn).send().await.unwrap();
    let progress = Collect::default();
    let kept = claim::ensure(&c, &place, false, &progress).await.unwrap();
    assert_eq!(kept.strays, vec![stray_arn.clone()]);
    assert!(format!("{:?}", progress.0.lock().unwrap()).contains(&stray_arn), "a warning names it");

    // deactivated on purpose: refused, nothing changed
    let id = adopted.certificate_id.as_str();
    let inactive = aws_sdk_iot::types::CertificateStatus::Inactive;
    c.iot.update_certificate().certificate_id(id).new_status(inactive).send().await.unwrap();
    let versions = || async {
        c.secrets.list_secret_version_ids().secret_id(&names.claim_secret).send().await.unwrap().versions().len()
    };
    let before = versions().await;
    let err = claim::ensure(&c, &place, false, &NoProgress).await.unwrap_err();
    assert!(matches!(&err, DeployError::Claim { message, .. } if message.contains("INACTIVE")), "{err}");
    assert_eq!(versions().await, before, "the secret is untouched");
    let active = aws_sdk_iot::types::CertificateStatus::Active;
    c.iot.update_certificate().certificate_id(id).new_status(active).send().await.unwrap();

    // destroy's half: every certificate attached (the stray too) and the recorded one deleted, the secret too
    let deleted = claim::retire_all(&c, &place, &NoProgress).await.unwrap();
    assert_eq!(deleted.len(), 2, "{deleted:?}");
    assert!(targets().await.is_empty());
    assert!(!state.join("claim.json").exists());
    // run again (a destroy re-run after a kill): nothing left, nothing fails
    assert!(claim::retire_all(&c, &place, &NoProgress).await.unwrap().is_empty());

    // apply after destroy: the secret pending deletion is restored and given a new certificate
    // (the secret's certificate registered again from its PEM: firmware made before the destroy still works)
    let again = claim::ensure(&c, &place, false, &NoProgress).await.expect("apply after destroy");
    let d = c.secrets.describe_secret().secret_id(&names.claim_secret).send().await.unwrap();
    assert!(d.deleted_date().is_none(), "restored");
    let pem = secret_json(&c.secrets, &names.claim_secret).await["certificate_pem"].as_str().unwrap().to_string();
    let described = c.iot.describe_certificate().certificate_id(&again.certificate_id).send().await.unwrap();
    let described = described.certificate_description().unwrap();
    assert_eq!((described.certificate_pem(), described.status().unwrap().as_str()), (Some(pem.as_str()), "ACTIVE"));
    assert_eq!(targets().await, vec![again.certificate_arn.clone()]);

    // an attached certificate with no secret and no local copy: refused (a second one would be made otherwise)
    claim::retire_all(&c, &place, &NoProgress).await.unwrap();
    c.secrets.delete_secret().secret_id(&names.claim_secret).force_delete_without_recovery(true).send().await.unwrap();
    let lone = c.iot.create_keys_and_certificate().set_as_active(true).send().await.unwrap();
    let lone_arn = lone.certificate_arn().unwrap().to_string();
    c.iot.attach_policy().policy_name(&names.claim_policy).target(&lone_arn).send().await.unwrap();
    let err = claim::ensure(&c, &place, false, &NoProgress).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains(&lone_arn) && text.contains("nothing was changed"), "{text}");
    assert_eq!(targets().await, vec![lone_arn.clone()], "nothing attached or detached");
    let e = c.secrets.describe_secret().secret_id(&names.claim_secret).send().await.unwrap_err();
    assert!(e.into_service_error().is_resource_not_found_exception(), "no secret was created");
}
