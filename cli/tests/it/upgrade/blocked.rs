//! A change that would replace a stateful resource is `blocked` unless the entry says `allow_replace`. moto never
//! answers `Replacement: True`, so a proxy in front of it adds that change (a `UsersTable` replacement, as the
//! CloudFormation API reference shapes a `ResourceChange`) to one tenant's DescribeChangeSet answers; the rest of
//! every call is moto's.

use super::fleet::{memories, sdk_in, statuses, Fleet};
use super::schema::check_report;
use crate::deploy::fixtures::users_table_replaced;
use rainmaker_deploy::template::Names;
use rainmaker_test_support::{MotoServer, Proxy};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stateful_replacement_is_blocked_unless_allowed() {
    let moto = MotoServer::shared();
    let mut f = Fleet::new(moto, "upb", "", &|_| String::new());
    let victim = f.tenants[1].clone();
    let stack = Names::new(&victim.name).backend_stack;
    let armed = Arc::new(AtomicBool::new(false));
    let rewrite = users_table_replaced(&stack, armed.clone());
    let proxy = Proxy::moto(moto, Duration::ZERO, Some(rewrite));
    f.endpoint = proxy.endpoint_url();

    let (r, v) = f.upgrade_json(&["--yes", "--max-concurrent", "6"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    assert!(statuses(&v).values().all(|s| s == "upgraded"), "{}", r.transcript());

    // a config change everywhere; the victim's change set also says UsersTable would be replaced
    for t in &f.tenants {
        let p = f.config(&t.name);
        std::fs::write(&p, std::fs::read_to_string(&p).unwrap().replace("memory_mb: 128", "memory_mb: 512")).unwrap();
    }
    armed.store(true, Ordering::SeqCst);
    let (r, v) = f.upgrade_json(&["--yes", "--max-concurrent", "6"]);
    assert_eq!(r.code, 4, "none failed, one blocked: {}", r.transcript());
    check_report(&v);
    let st = statuses(&v);
    assert_eq!(st[&victim.name], "blocked", "{}", r.transcript());
    assert!(f.tenants.iter().filter(|t| t.name != victim.name).all(|t| st[&t.name] == "upgraded"), "{st:?}");
    let row = v["tenants"].as_array().unwrap().iter().find(|t| t["name"] == victim.name.as_str()).unwrap();
    assert!(row["error"].as_str().unwrap().contains("UsersTable"), "{row}");
    // the blocked tenant's stack was not changed (its change set was deleted, not executed)
    assert!(memories(moto, &victim).await.iter().all(|m| *m == 128), "blocked means untouched");
    let sdk = sdk_in(moto, &victim.account, &victim.region).await;
    let sets = aws_sdk_cloudformation::Client::new(&sdk).list_change_sets().stack_name(&stack).send().await.unwrap();
    // moto keeps executed change sets listed; the refused one was deleted, so none is waiting for execution
    let waiting: Vec<_> =
        sets.summaries().iter().filter(|c| c.execution_status().map(|e| e.as_str()) == Some("AVAILABLE")).collect();
    assert!(waiting.is_empty(), "no unexecuted change set left behind: {waiting:?}");
    assert!(
        proxy.received().iter().any(|q| q.body.contains("Action=DeleteChangeSet")),
        "the refused change set is deleted"
    );

    // allow_replace on the entry: the same change goes through
    let yaml = std::fs::read_to_string(f.path().join("tenants.yaml")).unwrap();
    let allowed = yaml.replace(
        &format!("  - name: {}\n", victim.name),
        &format!("  - name: {}\n    allow_replace: true\n", victim.name),
    );
    std::fs::write(f.path().join("tenants.yaml"), allowed).unwrap();
    let (r, v) = f.upgrade_json(&["--yes", "--max-concurrent", "6"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    let st = statuses(&v);
    assert_eq!(st[&victim.name], "upgraded", "{}", r.transcript());
    assert!(memories(moto, &victim).await.iter().all(|m| *m == 512));
}
