//! Rollouts against one moto server: six tenants in two accounts x three regions, each reached by assuming
//! `arn:aws:iam::<account>:role/rainmaker-deployer` from the CI's own keys (a user in a third account). moto lets
//! any role ARN be assumed and the returned keys act in the role's account, so every check below reads the tenant's
//! resources with keys of that account, in the tenant's region, through each service's own API.

use super::fleet::{memories, sdk_in, statuses, Entry, Fleet};
use super::schema::check_report;
use rainmaker_deploy::template::Names;
use rainmaker_deploy::TEMPLATE_VERSION;
use rainmaker_test_support::MotoServer;
use std::collections::BTreeMap;

const WAVES: &str = "waves:\n  canary: { max_concurrent: 1, failure_tolerance: 0 }\n  rest: { max_concurrent: 5, failure_tolerance: 0 }\n";

fn canary_first(t: &Entry) -> String {
    if t.name.ends_with("-a0") {
        "    wave: canary\n".into()
    } else {
        String::new()
    }
}

/// The backend stack of a tenant as its own account sees it in its region: status and template-version tag, or
/// `None` when it does not exist.
async fn backend(moto: &MotoServer, t: &Entry) -> Option<(String, Option<String>)> {
    let sdk = sdk_in(moto, &t.account, &t.region).await;
    let cfn = aws_sdk_cloudformation::Client::new(&sdk);
    let name = Names::new(&t.name).backend_stack;
    match cfn.describe_stacks().stack_name(&name).send().await {
        Ok(out) => {
            let s = out.stacks().first().expect("one stack");
            let version = s.tags().iter().find(|t| t.key() == Some("rainmaker:template-version"));
            Some((s.stack_status().unwrap().as_str().to_string(), version.and_then(|v| v.value()).map(String::from)))
        }
        Err(e) => {
            assert!(format!("{e:?}").contains("does not exist"), "DescribeStacks {name}: {e:?}");
            None
        }
    }
}

/// The tenant's backend is there, through CloudFormation, DynamoDB, IoT and Lambda in its account and region; returns
/// the memory of each of its Lambda functions.
async fn verify_deployed(moto: &MotoServer, t: &Entry) -> Vec<i32> {
    let (status, version) = backend(moto, t).await.unwrap_or_else(|| panic!("{}: no backend stack", t.name));
    assert!(status == "CREATE_COMPLETE" || status == "UPDATE_COMPLETE", "{}: {status}", t.name);
    assert_eq!(version.as_deref(), Some(TEMPLATE_VERSION), "{}", t.name);
    let sdk = sdk_in(moto, &t.account, &t.region).await;
    let n = Names::new(&t.name);
    let tables = aws_sdk_dynamodb::Client::new(&sdk).list_tables().send().await.unwrap();
    let ours: Vec<&String> = tables.table_names().iter().filter(|x| x.starts_with(&n.prefix)).collect();
    assert!(ours.len() >= 3, "{}: its tables in {}/{}: {:?}", t.name, t.account, t.region, tables.table_names());
    let iot = aws_sdk_iot::Client::new(&sdk);
    // the claim policy has the claim certificate attached (the deploy core's last step ran for this tenant)
    let targets = iot.list_targets_for_policy().policy_name(&n.claim_policy).send().await.unwrap();
    assert_eq!(targets.targets().len(), 1, "{}: claim certificate attached: {:?}", t.name, targets.targets());
    iot.get_policy().policy_name(&n.device_policy).send().await.unwrap();
    memories(moto, t).await
}

fn all(f: &Fleet, status: &str) -> BTreeMap<String, String> {
    f.tenants.iter().map(|t| (t.name.clone(), status.to_string())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_rollout_rerun_and_a_change_to_every_tenant() {
    let moto = MotoServer::shared();
    let f = Fleet::new(moto, "upr", WAVES, &canary_first);

    // --dry-run plans every tenant and changes nothing (no stack in any tenant's account and region)
    let (r, v) = f.upgrade_json(&["--dry-run"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    check_report(&v);
    assert_eq!(v["dry_run"], true);
    assert_eq!(statuses(&v), all(&f, "planned"), "{}", r.transcript());
    assert!(v["tenants"][0]["changes"]["add"].as_u64().unwrap() > 10, "{v}");
    for t in &f.tenants {
        assert_eq!(backend(moto, t).await, None, "{}: --dry-run created a stack", t.name);
    }

    // first rollout: canary then the rest, every tenant in its own account and region
    let (r, v) = f.upgrade_json(&["--yes", "--report", "report.csv", "--report-format", "csv"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    assert_eq!(statuses(&v), all(&f, "upgraded"), "{}", r.transcript());
    assert_eq!(v["waves"][0]["name"], "canary");
    assert_eq!(v["waves"][0]["status"], "completed");
    assert_eq!(v["waves"][1]["status"], "completed");
    assert_eq!(v["summary"]["upgraded"], 6);
    assert_eq!(v["exit_code"], 0);
    check_report(&v);
    for t in &f.tenants {
        assert!(r.stderr.contains(&format!("{} [", t.name)), "a progress line per tenant: {}", r.stderr);
        assert_eq!(verify_deployed(moto, t).await.iter().filter(|m| **m != 128).count(), 0, "{}", t.name);
    }
    assert!(v["tenants"][0]["api_calls"].as_u64().unwrap() > 3, "{v}");
    let csv = std::fs::read_to_string(f.path().join("report.csv")).unwrap();
    assert_eq!(csv.lines().count(), 7, "{csv}");
    assert!(csv.lines().skip(1).all(|l| l.contains(",upgraded,")), "{csv}");
    // the run's STS session name is in the report (CloudTrail shows it)
    assert!(v["run_id"].as_str().is_some_and(|s| !s.is_empty()));

    // re-run: nothing changed, every tenant `unchanged`
    let (r, v) = f.upgrade_json(&["--yes"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    assert_eq!(statuses(&v), all(&f, "unchanged"), "{}", r.transcript());
    assert_eq!(v["tenants"][3]["from_version"], TEMPLATE_VERSION);

    // a config change in every tenant: all `upgraded`, and each function's memory changed in its account
    for t in &f.tenants {
        let p = f.config(&t.name);
        let text = std::fs::read_to_string(&p).unwrap().replace("memory_mb: 128", "memory_mb: 256");
        std::fs::write(&p, text).unwrap();
    }
    let (r, v) = f.upgrade_json(&["--yes", "--max-concurrent", "6"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    assert_eq!(statuses(&v), all(&f, "upgraded"), "{}", r.transcript());
    for t in &f.tenants {
        assert!(v["tenants"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["name"] == t.name.as_str() && x["changes"]["modify"].as_u64().unwrap() > 0));
        let mem = verify_deployed(moto, t).await;
        assert!(mem.iter().all(|m| *m == 256), "{}: {mem:?}", t.name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_account_fails_its_tenant_and_tolerance_decides_the_rest() {
    let moto = MotoServer::shared();
    // the canary's role is in account B while its entry says A: after AssumeRole, GetCallerIdentity says B
    let f = Fleet::new(moto, "upf", WAVES, &|_| String::new());
    let b = f.accounts[1].clone();
    let yaml = std::fs::read_to_string(f.path().join("tenants.yaml")).unwrap();
    let a0 = &f.tenants[0];
    let wrong = yaml.replace(
        &format!("  - name: {}\n", a0.name),
        &format!("  - name: {}\n    wave: canary\n    role: \"arn:aws:iam::{b}:role/rainmaker-deployer\"\n", a0.name),
    );
    std::fs::write(f.path().join("tenants.yaml"), &wrong).unwrap();

    // tolerance 0 (soft): the canary fails, the rest are skipped, nothing deployed for them; exit 3
    let (r, v) = f.upgrade_json(&["--yes", "--report", "report.json"]);
    assert_eq!(r.code, 3, "{}", r.transcript());
    let st = statuses(&v);
    assert_eq!(st[&a0.name], "failed");
    let err = v["tenants"][0]["error"].as_str().unwrap();
    assert!(err.contains(&b) && err.contains(&a0.account), "the reason names both accounts: {err}");
    assert!(f.tenants[1..].iter().all(|t| st[&t.name] == "skipped"), "{st:?}");
    assert_eq!(v["waves"][0]["status"], "tolerance_exceeded");
    assert_eq!(v["waves"][1]["status"], "skipped");
    for t in &f.tenants {
        assert_eq!(backend(moto, t).await, None, "{}", t.name);
    }
    // nothing was deployed into account B's eu-west-1 for the canary either (it stopped at the account check)
    let wrong_place = Entry { name: a0.name.clone(), account: b.clone(), region: a0.region.clone() };
    assert_eq!(backend(moto, &wrong_place).await, None);
    // the report file is the same final report
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(f.path().join("report.json")).unwrap()).unwrap();
    assert_eq!(file, v);
    check_report(&v);

    // strict mode with tolerance 0 stops the same way
    let (r, v) = f.upgrade_json(&["--yes", "--concurrency-mode", "strict"]);
    assert_eq!(r.code, 3, "{}", r.transcript());
    assert_eq!(v["summary"]["skipped"], 5, "{}", r.transcript());

    // tolerance 1: the canary's failure is tolerated, the rest are upgraded; still exit 3 (a tenant failed)
    let (r, v) = f.upgrade_json(&["--yes", "--failure-tolerance", "1"]);
    assert_eq!(r.code, 3, "{}", r.transcript());
    let st = statuses(&v);
    assert_eq!(st[&a0.name], "failed");
    assert!(f.tenants[1..].iter().all(|t| st[&t.name] == "upgraded"), "{st:?}");
    assert_eq!(v["waves"][0]["status"], "completed");
    for t in &f.tenants[1..] {
        verify_deployed(moto, t).await;
    }

    // an invalid config fails only its tenant; with the role fixed the canary goes through; the others unchanged
    std::fs::write(
        f.path().join("tenants.yaml"),
        yaml.replace(&format!("  - name: {}\n", a0.name), &format!("  - name: {}\n    wave: canary\n", a0.name)),
    )
    .unwrap();
    let b2 = &f.tenants[5];
    let p = f.config(&b2.name);
    let good = std::fs::read_to_string(&p).unwrap();
    std::fs::write(&p, good.replace("memory_mb: 128", "memory_mb: 3")).unwrap();
    let (r, v) = f.upgrade_json(&["--yes", "--failure-tolerance", "1"]);
    assert_eq!(r.code, 3, "{}", r.transcript());
    let st = statuses(&v);
    assert_eq!(st[&a0.name], "upgraded", "{}", r.transcript());
    assert_eq!(st[&b2.name], "failed");
    assert!(v["tenants"][5]["error"].as_str().unwrap().contains("memory_mb"), "{v}");
    assert!(f.tenants[1..5].iter().all(|t| st[&t.name] == "unchanged"), "{st:?}");

    // re-run after the fix: converged, exit 0
    std::fs::write(&p, good).unwrap();
    let (r, v) = f.upgrade_json(&["--yes"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    let st = statuses(&v);
    assert!(f.tenants[..5].iter().all(|t| st[&t.name] == "unchanged"), "{st:?}");
    assert_eq!(st[&b2.name], "unchanged", "its stacks were already deployed by the tolerance-1 run");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wave_selection_and_held_tenants() {
    let moto = MotoServer::shared();
    let f = Fleet::new(moto, "upw", WAVES, &|t| {
        let mut s = canary_first(t);
        if t.name.ends_with("-b1") {
            s.push_str("    hold: true\n");
        }
        s
    });
    // one CI job per wave: --wave canary touches only the canary
    let (r, v) = f.upgrade_json(&["--yes", "--wave", "canary"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    assert_eq!(v["tenants"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(statuses(&v)[&f.tenants[0].name], "upgraded");
    verify_deployed(moto, &f.tenants[0]).await;
    for t in &f.tenants[1..] {
        assert_eq!(backend(moto, t).await, None, "{}: not in the canary wave", t.name);
    }
    // --wave rest: the held tenant is `held` and never touched
    let r = f.upgrade(&["--yes", "--wave", "rest"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    let held = &f.tenants[4];
    assert!(r.stdout.contains(&held.name) && r.stdout.contains("held"), "{}", r.transcript());
    // the stdout table, with the run id, seconds and call counts masked
    insta::with_settings!({ filters => vec![
        (r"upgrade \d+-\d+", "upgrade [RUN]"),
        (r"(?m) +\d+\.\d +\d+$", "  [SECONDS] [CALLS]"),
    ] }, {
        insta::assert_snapshot!("upgrade-wave-rest-text", r.stdout);
    });
    assert_eq!(backend(moto, held).await, None, "a held tenant is never deployed");
    for t in f.tenants[1..].iter().filter(|t| t.name != held.name) {
        verify_deployed(moto, t).await;
    }
}
