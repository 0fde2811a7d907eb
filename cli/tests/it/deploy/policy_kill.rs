//! A kill -9 while `apply --allow-replace` has lifted the stack policy (issue 11, item 3 follow-up) leaves it
//! lifted: no code runs to restore it. Against moto through a proxy that adds a table replacement to the change
//! set (moto never answers `Replacement: True`), the apply is killed right after the lift, once the change set
//! runs; `status` then warns naming every data resource, and the next change sets the protecting policy before
//! ExecuteChangeSet.

use super::cli::{aws_cmd, own_account, run_aws};
use super::fixtures::{users_table_replaced, write_artifacts};
use crate::support::{run, tempdir};
use rainmaker_test_support::{MotoServer, REGION};
use std::io::{BufRead, BufReader};
use std::process::Stdio;

/// The StackPolicyBody of every SetStackPolicy request for `stack`, and where ExecuteChangeSet came, in order.
fn policy_calls(received: &[rainmaker_test_support::Received], stack: &str) -> Vec<String> {
    received
        .iter()
        .filter_map(|r| {
            let f: std::collections::BTreeMap<String, String> = r
                .body
                .split('&')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (super::policy::form_decode(k), super::policy::form_decode(v)))
                .collect();
            match f.get("Action").map(String::as_str) {
                Some("SetStackPolicy") if f["StackName"] == stack => Some(f["StackPolicyBody"].clone()),
                Some("ExecuteChangeSet") if f["StackName"] == stack => Some("execute".into()),
                _ => None,
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_while_allow_replace_has_lifted_the_policy_status_warns_and_the_next_change_restores_it_first() {
    use rainmaker_deploy::aws::policy;
    use rainmaker_test_support::Proxy;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let moto = MotoServer::shared();
    let d = tempdir();
    let dir = d.path();
    let tenant = "kill-policy";
    assert_eq!(run(dir, &["init", "--name", tenant, "--region", REGION]).code, 0);
    let keys = own_account(moto, dir, tenant);
    write_artifacts(&dir.join("artifacts"), tenant);
    let stack = format!("rm-{tenant}");
    let first = run_aws(dir, &moto.endpoint_url(), &["apply", "--yes", "--artifacts", "artifacts"]);
    assert_eq!(first.code, 0, "{}", first.transcript());

    // a change that replaces the users table (the proxy adds what moto never says), applied with --allow-replace
    // and killed once the change set runs: the policy was lifted for it and is never restored
    let armed = Arc::new(AtomicBool::new(true));
    let rewrite = users_table_replaced(&stack, armed.clone());
    let proxy = Proxy::moto(moto, std::time::Duration::ZERO, Some(rewrite));
    let config = dir.join("rainmaker.yaml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text.replace("memory_mb: 128", "memory_mb: 256")).unwrap();
    let mut child = aws_cmd(dir, &proxy.endpoint_url())
        .args(["--no-progress", "apply", "--yes", "--allow-replace", "--artifacts", "artifacts"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting apply");
    let marker = format!("- {stack}: executing change set");
    let mut seen = Vec::new();
    for line in BufReader::new(child.stderr.take().unwrap()).lines().map_while(Result::ok) {
        let hit = line.contains(&marker);
        seen.push(line);
        if hit {
            child.kill().expect("SIGKILL");
            break;
        }
    }
    let _ = child.wait();
    assert!(seen.iter().any(|l| l.contains(&marker)), "{seen:#?}");
    let sdk = moto.sdk_config_with(&keys).await;
    let cfn = aws_sdk_cloudformation::Client::new(&sdk);
    let live = cfn.get_stack_policy().stack_name(&stack).send().await.unwrap();
    let data: Vec<String> = {
        let t = rainmaker_deploy::template::render(
            &rainmaker_deploy::config::blueprint_config("smart-home", tenant, REGION).unwrap(),
        )
        .unwrap();
        rainmaker_deploy::aws::plan::TemplateInfo::from_template(
            &rainmaker_deploy::template::parse(&t.stack("backend").unwrap().body).unwrap(),
        )
        .data_resources()
    };
    assert!(
        policy::same(live.stack_policy_body(), &policy::allow_all()),
        "left lifted: {:?}",
        live.stack_policy_body()
    );
    // lifted, maybe executed (the kill races the ExecuteChangeSet request), never restored
    let calls = policy_calls(&proxy.received(), &stack);
    assert_eq!(calls.first(), Some(&policy::allow_all()), "{calls:?}");
    assert!(calls[1..].iter().all(|c| c == "execute"), "no restore after the lift: {calls:?}");

    // status says the data is unprotected, naming it
    let st = run_aws(dir, &moto.endpoint_url(), &["status"]);
    assert_eq!(st.code, 0, "{}", st.transcript());
    let warning = st.stdout.lines().find(|l| l.contains("warning: the stack policy does not protect"));
    assert!(warning.is_some_and(|w| w.contains("UsersTable") && w.contains("SerialKeySecret")), "{}", st.transcript());
    let js = run_aws(dir, &moto.endpoint_url(), &["--output", "json", "status"]);
    let v: serde_json::Value = serde_json::from_str(&js.stdout).unwrap();
    let backend = v["stacks"].as_array().unwrap().iter().find(|s| s["stack"] == "backend").unwrap();
    let unprotected: Vec<String> =
        backend["unprotected_data"].as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_string()).collect();
    assert_eq!(unprotected, data, "every data resource of the deployed template");

    // the next change (no --allow-replace, no replacement) protects the data again BEFORE executing
    armed.store(false, Ordering::SeqCst);
    std::fs::write(&config, std::fs::read_to_string(&config).unwrap().replace("memory_mb: 256", "memory_mb: 512"))
        .unwrap();
    let before = proxy.received().len();
    let next = run_aws(dir, &proxy.endpoint_url(), &["apply", "--yes", "--artifacts", "artifacts"]);
    assert_eq!(next.code, 0, "{}", next.transcript());
    assert!(next.stderr.contains("does not protect the data"), "said so: {}", next.transcript());
    let protecting = policy::protecting(&data);
    assert_eq!(
        policy_calls(&proxy.received()[before..], &stack),
        [protecting.clone(), "execute".to_string(), protecting.clone()],
        "restored first, then the change, then set again"
    );
    let live = cfn.get_stack_policy().stack_name(&stack).send().await.unwrap();
    assert!(policy::same(live.stack_policy_body(), &protecting), "{:?}", live.stack_policy_body());
    let st = run_aws(dir, &moto.endpoint_url(), &["--output", "json", "status"]);
    let v: serde_json::Value = serde_json::from_str(&st.stdout).unwrap();
    assert!(v["stacks"].as_array().unwrap().iter().all(|s| s["policy_warning"].is_null()), "{v}");
}
