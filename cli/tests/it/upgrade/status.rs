//! `status --tenants`: every tenant read through its assumed role, in two accounts. Three tenants are deployed by
//! an `upgrade --only`; one of them runs an older template version. moto can only hold what this CLI deploys, so a
//! proxy in front of it answers that tenant's DescribeStacks with the version tag an older release would have set
//! (`rainmaker:template-version` = 0.0.9); everything else is moto's. A tenant whose role acts in another account
//! cannot be read: its row says why and the command exits 3.

use super::fleet::Fleet;
use crate::deploy::cli::run_aws;
use rainmaker_deploy::template::Names;
use rainmaker_deploy::TEMPLATE_VERSION;
use rainmaker_test_support::{MotoServer, Proxy, Received};
use std::sync::Arc;
use std::time::Duration;

const OLD: &str = "0.0.9";

fn row<'a>(v: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    v["tenants"].as_array().unwrap().iter().find(|t| t["name"] == name).unwrap_or_else(|| panic!("{name}: {v}"))
}

#[test]
fn fleet_status_shows_versions_states_and_an_unreadable_tenant() {
    let moto = MotoServer::shared();
    let f = Fleet::new(moto, "ups", "", &|_| String::new());
    let [a0, a1, a2, b0, b1, b2] = [0, 1, 2, 3, 4, 5].map(|i| f.tenants[i].clone());
    let only = format!("{},{},{}", a0.name, a1.name, b0.name);
    let r = f.upgrade(&["--yes", "--max-concurrent", "3", "--only", &only]);
    assert_eq!(r.code, 0, "{}", r.transcript());

    // b0's backend answers with an older release's version tag
    let marker = format!("<StackName>{}</StackName>", Names::new(&b0.name).backend_stack);
    let tag = format!("<Key>rainmaker:template-version</Key><Value>{TEMPLATE_VERSION}</Value>");
    let old_tag = format!("<Key>rainmaker:template-version</Key><Value>{OLD}</Value>");
    let rewrite = Arc::new(move |req: &Received, body: &str| {
        if req.body.contains("Action=DescribeStacks") && body.contains(&marker) {
            assert!(body.contains(&tag), "moto's answer carries the tag this CLI set: {body}");
            body.replace(&tag, &old_tag)
        } else {
            body.to_string()
        }
    });
    let proxy = Proxy::moto(moto, Duration::ZERO, Some(rewrite));
    // b2's role acts in account A while its entry says B: it cannot be read
    let yaml = std::fs::read_to_string(f.path().join("tenants.yaml")).unwrap();
    let wrong = yaml.replace(
        &format!("  - name: {}\n", b2.name),
        &format!("  - name: {}\n    role: \"arn:aws:iam::{}:role/rainmaker-deployer\"\n", b2.name, a0.account),
    );
    std::fs::write(f.path().join("tenants.yaml"), &wrong).unwrap();

    let status = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend_from_slice(&["status", "--tenants", "tenants.yaml"]);
        run_aws(f.path(), &proxy.endpoint_url(), &all)
    };
    let r = status(&["--output", "json"]);
    assert_eq!(r.code, 3, "an unreadable tenant: exit 3: {}", r.transcript());
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}", r.transcript()));
    assert_eq!(v["cli_template_version"], TEMPLATE_VERSION);
    for t in [&a0, &a1] {
        let x = row(&v, &t.name);
        assert_eq!(x["account"], t.account.as_str());
        assert_eq!(x["region"], t.region.as_str());
        assert_eq!(x["backend"], "CREATE_COMPLETE", "{x}");
        assert_eq!(x["bootstrap"], "CREATE_COMPLETE", "{x}");
        assert_eq!(x["template_version"], TEMPLATE_VERSION, "{x}");
        assert_eq!(x["behind"], false, "{x}");
        assert!(x["error"].is_null(), "{x}");
    }
    let x = row(&v, &b0.name);
    assert_eq!((x["template_version"].as_str(), x["behind"].as_bool()), (Some(OLD), Some(true)), "{x}");
    assert_eq!(x["account"], b0.account.as_str());
    for t in [&a2, &b1] {
        let x = row(&v, &t.name);
        assert!(x["backend"].is_null() && x["bootstrap"].is_null() && x["error"].is_null(), "not deployed: {x}");
    }
    let x = row(&v, &b2.name);
    let err = x["error"].as_str().unwrap_or_else(|| panic!("{x}"));
    assert!(err.contains(&a0.account) && err.contains(&b2.account), "names both accounts: {err}");
    assert_eq!(
        v["versions"],
        serde_json::json!({ TEMPLATE_VERSION: 2, OLD: 1, "none": 2, "unknown": 1 }),
        "{}",
        r.stdout
    );
    // read-only: the status run made no change through the proxy
    let writes: Vec<String> = proxy
        .received()
        .iter()
        .filter_map(|q| q.body.split('&').find(|p| p.starts_with("Action=")).map(str::to_string))
        .filter(|a| !["Describe", "Get", "List", "AssumeRole"].iter().any(|p| a.starts_with(&format!("Action={p}"))))
        .collect();
    assert!(writes.is_empty(), "status changed nothing: {writes:?}");

    // the text table, accounts and versions masked
    let r = status(&[]);
    assert_eq!(r.code, 3, "{}", r.transcript());
    let accounts = [(f.accounts[0].as_str(), "[ACCOUNT_A]"), (f.accounts[1].as_str(), "[ACCOUNT_B]")];
    let mut table = r.stdout.clone();
    for (a, m) in accounts {
        table = table.replace(a, m);
    }
    let table = table.replace(TEMPLATE_VERSION, "[VERSION]");
    insta::assert_snapshot!("status-tenants-text", table);

    // with the role fixed every tenant is readable: exit 0
    std::fs::write(f.path().join("tenants.yaml"), &yaml).unwrap();
    let r = status(&["--output", "json"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(row(&v, &b2.name)["error"].is_null(), "{}", r.stdout);
    assert_eq!(v["versions"]["none"], 3, "{}", r.stdout);
}
