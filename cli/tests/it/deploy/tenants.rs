//! One tenant per account and region (issue 8, High 5): with a first tenant deployed, a second tenant's `apply` in
//! the same account and region is refused before any change and leaves the first untouched; once the first is
//! destroyed, the second deploys.

use super::fixtures::{fast_wait, moto_apply_options, moto_destroy_options, tenant, write_artifacts};
use rainmaker_deploy::aws::deploy;
use rainmaker_deploy::aws::destroy::{self, DestroyOptions};
use rainmaker_deploy::aws::progress::{Always, NoProgress};
use rainmaker_deploy::aws::DeployError;
use rainmaker_deploy::template::Names;
use rainmaker_test_support::{account_for, MotoServer, REGION};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn high5_second_tenant_in_one_account_and_region_is_refused() {
    let moto = MotoServer::shared();
    let sdk = moto.sdk_config_in(&account_for("high5")).await;
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let pid = std::process::id() % 100_000;
    let first = tenant(&format!("first-{pid}"), REGION, sdk.clone(), d1.path());
    let second = tenant(&format!("second-{pid}"), REGION, sdk.clone(), d2.path());
    write_artifacts(&first.artifacts_dir, "one");
    write_artifacts(&second.artifacts_dir, "two");
    let opts = moto_apply_options();
    let applied = deploy::apply(&first, &opts, &Always(true), &NoProgress).await.expect("the first tenant");
    let claim = applied.claim_certificate.clone().unwrap();

    let cfn = aws_sdk_cloudformation::Client::new(&sdk);
    let iot = aws_sdk_iot::Client::new(&sdk);
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    let (n1, n2) = (Names::new(&first.config.name), Names::new(&second.config.name));
    let snapshot = || async {
        let mut s = Vec::new();
        for name in [&n1.bootstrap_stack, &n1.backend_stack] {
            let st = cfn.describe_stacks().stack_name(name).send().await.unwrap();
            let st = &st.stacks()[0];
            s.push(format!("{name} {:?} {:?}", st.stack_status(), st.last_updated_time()));
        }
        s
    };
    let before = snapshot().await;

    // the attack surface: a second tenant whose rules would match the first one's devices. Refused, exit 2
    let err = deploy::apply(&second, &opts, &Always(true), &NoProgress).await.unwrap_err();
    match &err {
        DeployError::AnotherTenant { tenant, others, first: other, .. } => {
            assert_eq!(tenant, &second.config.name);
            assert_eq!(other, &first.config.name);
            assert!(others.contains(&n1.backend_stack) && others.contains(&n1.bootstrap_stack), "{others}");
        }
        e => panic!("expected AnotherTenant, got {e:?}"),
    }
    let text = format!("{err} {}", miette::Diagnostic::help(&err).unwrap());
    assert!(text.contains("another account") && text.contains("destroy"), "{text}");
    assert_eq!(miette::Diagnostic::code(&err).unwrap().to_string(), "rainmaker::config::another_tenant");
    let plan = deploy::plan(&second, &fast_wait(), &NoProgress).await.unwrap_err();
    assert!(matches!(plan, DeployError::AnotherTenant { .. }), "plan says the same: {plan:?}");

    // nothing of the second tenant exists; the first is untouched (its stacks, tables and claim certificate)
    for name in [&n2.bootstrap_stack, &n2.backend_stack] {
        let e = cfn.describe_stacks().stack_name(name).send().await.expect_err("no stack of the second tenant");
        assert!(format!("{e:?}").contains("does not exist"), "{name}: {e:?}");
    }
    let e = iot.get_policy().policy_name(&n2.claim_policy).send().await.expect_err("no claim policy");
    assert!(e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()), "{e:?}");
    assert!(!d2.path().join(".rainmaker").exists(), "no local state for the refused tenant");
    assert_eq!(snapshot().await, before, "the first tenant's stacks did not move");
    let users = format!("{}-users", n1.prefix);
    let t = ddb.describe_table().table_name(&users).send().await.unwrap();
    assert_eq!(t.table().unwrap().table_status().unwrap().as_str(), "ACTIVE");
    let cert = iot.describe_certificate().certificate_id(&claim.certificate_id).send().await.unwrap();
    assert_eq!(cert.certificate_description().unwrap().status().unwrap().as_str(), "ACTIVE");

    // once the first tenant is destroyed, the second one deploys
    destroy::destroy(&first, &DestroyOptions { keep_data: false, ..moto_destroy_options() }, &NoProgress)
        .await
        .expect("destroy the first");
    let ok = deploy::apply(&second, &opts, &Always(true), &NoProgress).await.expect("the second, alone now");
    assert!(ok.changed && ok.failed_checks().is_empty(), "{:#?}", ok.verification);
}

/// Two tenants applied at once through the core in one process, the library API's stated purpose (issue 11): each
/// in its own account, both applies concurrently on one runtime. Each ends created and verified, with its own call
/// counts and local state, and nothing of one is in the other's account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tenants_applied_at_once_in_one_process() {
    let moto = MotoServer::shared();
    let (acc_a, acc_b) = (account_for("two-at-once-a"), account_for("two-at-once-b"));
    let (sa, sb) = (moto.sdk_config_in(&acc_a).await, moto.sdk_config_in(&acc_b).await);
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let pid = std::process::id() % 100_000;
    let a = tenant(&format!("twoa-{pid}"), REGION, sa.clone(), da.path());
    let b = tenant(&format!("twob-{pid}"), REGION, sb.clone(), db.path());
    write_artifacts(&a.artifacts_dir, "tenant-a");
    write_artifacts(&b.artifacts_dir, "tenant-b");
    let opts = moto_apply_options();

    let (ra, rb) = tokio::join!(
        deploy::apply(&a, &opts, &Always(true), &NoProgress),
        deploy::apply(&b, &opts, &Always(true), &NoProgress)
    );
    let (ra, rb) = (ra.expect("tenant a"), rb.expect("tenant b"));
    for (report, t, account, sdk, other) in [(&ra, &a, &acc_a, &sa, &b), (&rb, &b, &acc_b, &sb, &a)] {
        assert_eq!((&report.tenant, &report.account), (&t.config.name, account));
        assert!(report.changed && report.failed_checks().is_empty(), "{:#?}", report.verification);
        // each report counts its own tenant's calls only (shared counters would show 4 and 2)
        let ops = &report.api_calls.by_operation;
        assert_eq!(ops.get("CloudFormation.ExecuteChangeSet"), Some(&2), "{ops:?}");
        assert_eq!(ops.get("IoT.RegisterCertificateWithoutCA"), Some(&1), "{ops:?}");
        let cfn = aws_sdk_cloudformation::Client::new(sdk);
        let names = Names::new(&t.config.name);
        for stack in [&names.bootstrap_stack, &names.backend_stack] {
            let s = cfn.describe_stacks().stack_name(stack).send().await.unwrap();
            assert_eq!(s.stacks()[0].stack_status().unwrap().as_str(), "CREATE_COMPLETE", "{stack}");
        }
        let theirs = Names::new(&other.config.name);
        let e = cfn.describe_stacks().stack_name(&theirs.backend_stack).send().await.expect_err("not in this account");
        assert!(format!("{e:?}").contains("does not exist"), "{e:?}");
        let iot = aws_sdk_iot::Client::new(sdk);
        let claim = report.claim_certificate.as_ref().unwrap();
        let targets = iot.list_targets_for_policy().policy_name(&names.claim_policy).send().await.unwrap();
        assert_eq!(targets.targets(), std::slice::from_ref(&claim.certificate_arn));
        assert!(claim.certificate_arn.contains(account.as_str()), "{}", claim.certificate_arn);
        assert!(report.outputs_file.starts_with(&t.config_dir), "{}", report.outputs_file.display());
    }
    assert_ne!(ra.claim_certificate.unwrap().certificate_id, rb.claim_certificate.unwrap().certificate_id);
}
