//! What `gdpr export`, `gdpr erase` and `gdpr reapply` send, seen on the wire between the built binary and moto (a
//! recording proxy): the sign-out reaches Cognito before anything is deleted and revokes the user's refresh token;
//! export and erase never scan a table (reapply scans exactly the four tables docs/gdpr.md names); a verify pass
//! that finds a write made while the erase ran fails the run (exit 1), and the same command run again finishes.

use super::recorder::{Held, Recorder, Request};
use super::{fixture, opts, receipts_under, Fixture};
use aws_sdk_cognitoidentityprovider::types::{AuthFlowType, ExplicitAuthFlowsType};
use std::time::Duration;

/// The Cognito username of the user with this `sub`.
async fn username_of(f: &Fixture, sub: &str) -> String {
    let c = &f.clients.cognito;
    let out = c.list_users().user_pool_id(&f.pool).filter(format!("sub = \"{sub}\"")).send().await.unwrap();
    out.users()[0].username().unwrap().to_string()
}

/// Sign the user in as an app does (USER_PASSWORD_AUTH through a pool client): the client id and the refresh token.
async fn sign_in(f: &Fixture, username: &str) -> (String, String) {
    let c = &f.clients.cognito;
    let client = c
        .create_user_pool_client()
        .user_pool_id(&f.pool)
        .client_name("app")
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
        .send()
        .await
        .unwrap();
    let client = client.user_pool_client().unwrap().client_id().unwrap().to_string();
    let password = "Correct-horse-battery-9";
    c.admin_set_user_password()
        .user_pool_id(&f.pool)
        .username(username)
        .password(password)
        .permanent(true)
        .send()
        .await
        .unwrap();
    let out = c
        .initiate_auth()
        .client_id(&client)
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .auth_parameters("USERNAME", username)
        .auth_parameters("PASSWORD", password)
        .send()
        .await
        .unwrap();
    let token = out.authentication_result().unwrap().refresh_token().unwrap().to_string();
    (client, token)
}

/// New tokens for a refresh token (what an app does every hour): Ok, or the error's code and message.
async fn refresh(f: &Fixture, client: &str, token: &str) -> Result<(), (String, String)> {
    use aws_sdk_cognitoidentityprovider::error::ProvideErrorMetadata;
    let c = &f.clients.cognito;
    let req = c.initiate_auth().client_id(client).auth_flow(AuthFlowType::RefreshTokenAuth);
    match req.auth_parameters("REFRESH_TOKEN", token).send().await {
        Ok(out) => {
            assert!(out.authentication_result().and_then(|a| a.access_token()).is_some(), "{out:?}");
            Ok(())
        }
        Err(e) => Err((e.code().unwrap_or("?").to_string(), e.message().unwrap_or("").to_string())),
    }
}

/// The tables a DynamoDB request names.
fn tables_of(r: &Request) -> Vec<String> {
    let b = &r.body;
    let mut t: Vec<String> = b["TableName"].as_str().map(str::to_string).into_iter().collect();
    t.extend(b["RequestItems"].as_object().into_iter().flat_map(|m| m.keys().cloned()));
    for item in b["TransactItems"].as_array().into_iter().flatten() {
        for (_, op) in item.as_object().into_iter().flatten() {
            t.extend(op["TableName"].as_str().map(str::to_string));
        }
    }
    t
}

/// No DynamoDB Scan among `reqs`; the recorder is not blind (it saw the key queries), and every DynamoDB request
/// names a table of this tenant (read from the stack's outputs).
fn assert_no_scan(what: &str, reqs: &[Request], f: &Fixture) {
    let scans: Vec<_> = reqs.iter().filter(|r| r.is_ddb("Scan")).map(|r| r.body.clone()).collect();
    assert!(scans.is_empty(), "{what} scanned: {scans:?}");
    let t = &f.resources.tables;
    let queried = |table: &str| reqs.iter().any(|r| r.is_ddb("Query") && r.body["TableName"] == table);
    for table in [&t.telemetry, &t.user_nodes, &t.nodes, &t.binding_requests] {
        assert!(queried(table), "{what}: no Query of {table} recorded: {:?}", ops(reqs));
    }
    let ours = [&t.users, &t.nodes, &t.user_nodes, &t.telemetry, &t.binding_requests, &t.serial_allowlist];
    for r in reqs.iter().filter(|r| r.service == "dynamodb") {
        for table in tables_of(r) {
            assert!(ours.contains(&&table), "{what}: {:?} names {table}, not a table of the tenant", r.op());
        }
    }
}

fn ops(reqs: &[Request]) -> Vec<String> {
    reqs.iter().map(|r| format!("{}:{}", r.service, r.op().unwrap_or(&r.path))).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erase_signs_the_user_out_first_revoking_the_refresh_token_and_export_and_erase_never_scan() {
    let f = fixture("gw", opts(3, 2, 20, 1)).await;
    let victim = f.seed.users[1].clone();
    let username = username_of(&f, &victim.user_id).await;
    let (client, token) = sign_in(&f, &username).await;
    refresh(&f, &client, &token).await.expect("the app's refresh token works before the erase");
    let rec = Recorder::start(&f.endpoint);

    let out = f.path("before.zip");
    let r =
        f.run_via(&rec.endpoint_url(), &["gdpr", "export", "--user", &victim.user_id, "--out", out.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    let export = rec.take();
    assert_no_scan("export", &export, &f);
    // telemetry is read in pages of TELEMETRY_PAGE readings (memory holds one page), one Query a node here, and
    // the node's packed bucket in pages of PACKED_PAGE items, one Query a node (strongly consistent, by key)
    let telemetry = f.resources.tables.telemetry.as_str();
    let (pages, buckets): (Vec<&Request>, Vec<&Request>) = export
        .iter()
        .filter(|r| r.is_ddb("Query") && r.body["TableName"] == telemetry)
        .partition(|r| r.body["ExpressionAttributeValues"].get(":b").is_none());
    assert_eq!(pages.len(), victim.owned_nodes.len(), "{:?}", ops(&export));
    for q in pages {
        assert_eq!(q.body["Limit"], rainmaker_deploy::gdpr::export::TELEMETRY_PAGE, "{:?}", q.body);
    }
    let mut want: Vec<String> = victim
        .owned_nodes
        .iter()
        .map(|n| rainmaker_model::telemetry::packed::partition_key(rainmaker_model::telemetry::packed::bucket_of(n)))
        .collect();
    let mut got: Vec<String> =
        buckets.iter().map(|q| q.body["ExpressionAttributeValues"][":b"]["S"].as_str().unwrap().to_string()).collect();
    want.sort();
    got.sort();
    assert_eq!(got, want, "one Query of each owned node's bucket");
    for q in buckets {
        assert_eq!(q.body["Limit"], rainmaker_deploy::gdpr::packed::PACKED_PAGE, "{:?}", q.body);
        assert_eq!(q.body["ConsistentRead"], true, "{:?}", q.body);
    }

    let r = f.run_via(&rec.endpoint_url(), &["gdpr", "erase", "--user", &victim.user_id, "--yes", "--output", "json"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    let erase = rec.take();
    assert_no_scan("erase", &erase, &f);

    // the sign-out reached Cognito once, for this user of this pool, before anything was deleted or changed
    let at = |pred: &dyn Fn(&Request) -> bool| -> Vec<usize> {
        erase.iter().enumerate().filter(|(_, r)| pred(r)).map(|(i, _)| i).collect()
    };
    let sign_out = at(&|r| r.is_cognito("AdminUserGlobalSignOut"));
    assert_eq!(sign_out.len(), 1, "{:?}", ops(&erase));
    let req = &erase[sign_out[0]];
    assert_eq!(
        (req.body["UserPoolId"].as_str(), req.body["Username"].as_str()),
        (Some(f.pool.as_str()), Some(username.as_str()))
    );
    let deletes = |r: &Request| {
        ["DeleteItem", "BatchWriteItem", "TransactWriteItems", "UpdateItem"].iter().any(|op| r.is_ddb(op))
            || (r.service == "iotdata" && r.method == "DELETE")
    };
    let changes = at(&deletes);
    assert!(changes.len() > 5, "the erase's deletes were recorded: {:?}", ops(&erase));
    assert!(changes.iter().all(|i| *i > sign_out[0]), "a delete before the sign-out: {:?}", ops(&erase));
    // the Cognito user goes last: after every delete, before the erasure marker is written
    let deleted = at(&|r| r.is_cognito("AdminDeleteUser"));
    assert_eq!(deleted.len(), 1, "{:?}", ops(&erase));
    assert_eq!(erase[deleted[0]].body["Username"], username.as_str());
    assert!(changes.iter().all(|i| *i < deleted[0]), "a delete after the Cognito user's: {:?}", ops(&erase));
    let marker =
        at(&|r| r.is_ddb("PutItem") && r.body["TableName"] == f.resources.tables.users.as_str()).last().copied();
    assert!(marker.is_some_and(|m| m > deleted[0]), "the marker is written at the end: {:?}", ops(&erase));

    // the app's refresh token is revoked. moto implements that for AdminUserGlobalSignOut; had the erase only
    // deleted the user, moto would not answer NotAuthorizedException (it fails internally: the token still maps to
    // a user that is gone)
    let (code, message) = refresh(&f, &client, &token).await.expect_err("the refresh token no longer works");
    assert_eq!(code, "NotAuthorizedException", "{message}");
    assert!(message.contains("revoked"), "{message}");

    // reapply is the one command that scans: exactly the users, binding-requests, nodes and user-nodes tables,
    // keys and user ids only (docs/gdpr.md), never the telemetry table (key queries per node there)
    let dir = receipts_under(f.dir.path())[0].parent().unwrap().to_path_buf();
    let r = f.run_via(&rec.endpoint_url(), &["gdpr", "reapply", "--receipts", dir.to_str().unwrap(), "--yes"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    let reapply = rec.take();
    let scans: Vec<&Request> = reapply.iter().filter(|r| r.is_ddb("Scan")).collect();
    let t = &f.resources.tables;
    let mut scanned: Vec<&str> = scans.iter().map(|r| r.body["TableName"].as_str().unwrap()).collect();
    scanned.sort();
    let mut want = vec![t.users.as_str(), t.binding_requests.as_str(), t.nodes.as_str(), t.user_nodes.as_str()];
    want.sort();
    assert_eq!(scanned, want, "{:?}", ops(&reapply));
    for s in scans {
        let p =
            s.body["ProjectionExpression"].as_str().unwrap_or_else(|| panic!("a Scan reads whole items: {:?}", s.body));
        assert!(p.split(',').count() <= 2, "keys and the user id only: {p}");
    }
}

/// Spawn `args` through the recorder, wait until it holds the request it holds, run `meanwhile`, release it, and
/// return the run's result.
async fn while_held<F: std::future::Future<Output = ()>>(
    f: &Fixture,
    rec: &Recorder,
    held: Held,
    args: &[&str],
    meanwhile: F,
) -> crate::support::Run {
    use std::process::Stdio;
    let mut child =
        f.command_via(&rec.endpoint_url(), args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let Held { reached, release } = held;
    let reached = tokio::task::spawn_blocking(move || reached.recv_timeout(Duration::from_secs(300))).await.unwrap();
    if reached.is_err() {
        let _ = child.kill();
        let out = child.wait_with_output().unwrap();
        panic!("the run never reached the held request:\n{}", crate::support::Run::from(out).transcript());
    }
    meanwhile.await;
    release.send(()).unwrap();
    crate::support::Run::from(tokio::task::spawn_blocking(move || child.wait_with_output().unwrap()).await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verify_pass_through_the_binary_that_finds_a_late_share_exits_1_and_the_re_run_finishes() {
    let f = fixture("gf", opts(2, 1, 3, 0)).await;
    let (victim, other) = (f.seed.users[0].clone(), f.seed.users[1].clone());
    let receipt = f.path("request-1-receipt.json");
    let args = ["gdpr", "erase", "--user", &victim.user_id, "--yes", "--receipt", receipt.to_str().unwrap()];
    // while the erase deletes the Cognito user (the step before the verify pass), the other user shares a node
    // with the victim, as an app holding a still valid access token could
    let (rec, held) = Recorder::holding(&f.endpoint, "AdminDeleteUser");
    let share = super::paths::shared_node(&other, &victim);
    let late = async {
        let item = rainmaker_model::ddb::to_item(&share).unwrap();
        f.clients.ddb.put_item().table_name(&f.resources.tables.user_nodes).set_item(Some(item)).send().await.unwrap();
    };
    let r = while_held(&f, &rec, held, &args, late).await;
    assert_eq!(r.code, 1, "{}", r.transcript());
    assert!(
        r.stderr.contains("the verify pass found data of the user left after the erase: 1 grants (recorded in"),
        "{}",
        r.transcript()
    );
    assert!(r.stderr.contains("run the same erase again"), "the help says what to do: {}", r.transcript());
    assert!(!r.stderr.contains(&victim.user_id) && !r.stdout.contains(&victim.user_id), "{}", r.transcript());
    // the journal (the receipt being built) says what the verify found; no finished receipt anywhere
    let journals = receipts_under(f.dir.path());
    assert_eq!(journals.len(), 1, "{journals:?}");
    let flat: String = r.stderr.split_whitespace().map(|w| w.trim_matches('│')).collect();
    let name = journals[0].file_name().unwrap().to_str().unwrap();
    assert!(flat.contains(name), "the error names the journal {name}: {}", r.stderr);
    let j: serde_json::Value = serde_json::from_slice(&std::fs::read(&journals[0]).unwrap()).unwrap();
    assert!(j["finished_at"].is_null(), "{j}");
    let failures = j["verify_failures"].as_array().unwrap();
    assert!(failures.len() == 1 && failures[0].as_str().unwrap().ends_with(": 1 grants"), "{j}");
    assert!(!receipt.exists(), "--receipt gets a finished receipt only");
    assert!(super::paths::marker_of(&f, &victim.user_id).await.is_none(), "no erasure marker");

    // the same command again (no recorder): it removes the late share and finishes; the receipt keeps the finding
    let again: Vec<&str> = args.iter().copied().chain(["--output", "json"]).collect();
    let r = f.run(&again);
    assert_eq!(r.code, 0, "{}", r.transcript());
    let out: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(out["resumed"], true, "{out}");
    let done: serde_json::Value = serde_json::from_slice(&std::fs::read(&receipt).unwrap()).unwrap();
    assert!(done["finished_at"].is_string(), "{done}");
    assert_eq!(done["verify_failures"], j["verify_failures"], "{done}");
    assert_eq!(done, out["receipt"]);
    let key = [("user_id", victim.user_id.as_str()), ("node_id", other.owned_nodes[0].as_str())];
    assert!(super::get_item(&f, &f.resources.tables.user_nodes, &key).await.is_none(), "the late share is gone");
    assert!(super::paths::marker_of(&f, &victim.user_id).await.is_some());
}
