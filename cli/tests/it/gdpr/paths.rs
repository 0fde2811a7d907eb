//! The paths a small seeded tenant never takes: queries over many pages (a Limit injected into every Query), a
//! BatchWriteItem answering UnprocessedItems (a replay shaped like the DynamoDB API reference: moto never does),
//! and a verify pass that finds an item written while the erase ran.

use super::{fixture, opts, telemetry_left, unzip, Fixture};
use aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextMut;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::operation::query::QueryInput;
use rainmaker_deploy::gdpr::archive::Format;
use rainmaker_deploy::gdpr::erase::{self, EraseOptions, EraseOutcome};
use rainmaker_deploy::gdpr::export::{self, Out};
use rainmaker_deploy::gdpr::seed::SeededUser;
use rainmaker_deploy::gdpr::user::UserRef;
use rainmaker_deploy::gdpr::{GdprClients, GdprError, NoReport, Report};
use rainmaker_test_support::{Reply, ReplyServer, REGION};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// The membership of `with` in the first node `owner` owns, as `owner` shares it (role `shared`, granted at 5).
pub(super) fn shared_node(owner: &SeededUser, with: &SeededUser) -> rainmaker_model::UserNode {
    rainmaker_model::UserNode {
        user_id: with.user_id.clone(),
        node_id: owner.owned_nodes[0].clone(),
        role: rainmaker_model::Role::Shared,
        granted_by: owner.user_id.clone(),
        granted_at: 5,
        epoch: None,
    }
}

/// Sets `Limit` on every Query and counts the Queries of the telemetry table that continue a page.
#[derive(Debug)]
struct SmallPages {
    limit: i32,
    telemetry: String,
    continued: Arc<AtomicUsize>,
}

impl Intercept for SmallPages {
    fn name(&self) -> &'static str {
        "SmallPages"
    }

    fn modify_before_serialization(
        &self,
        ctx: &mut BeforeSerializationInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        if let Some(q) = ctx.input_mut().downcast_mut::<QueryInput>() {
            q.limit = Some(self.limit);
            if q.table_name.as_deref() == Some(self.telemetry.as_str()) && q.exclusive_start_key.is_some() {
                self.continued.fetch_add(1, Ordering::SeqCst);
            }
        }
        Ok(())
    }
}

/// The fixture's clients, with every DynamoDB Query limited to `limit` items a page.
fn small_pages(f: &Fixture, limit: i32) -> (GdprClients, Arc<AtomicUsize>) {
    let continued = Arc::new(AtomicUsize::new(0));
    let i = SmallPages { limit, telemetry: f.resources.tables.telemetry.clone(), continued: continued.clone() };
    let conf = f.clients.ddb.config().to_builder().interceptor(i).build();
    let mut c = f.clients.clone();
    c.ddb = aws_sdk_dynamodb::Client::from_conf(conf);
    (c, continued)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_and_erase_read_every_page_of_every_query() {
    let f = fixture("gp", opts(2, 2, 40, 1)).await;
    let (c, continued) = small_pages(&f, 7);
    let u = f.seed.users[0].clone();
    let out = f.path("paged.zip");
    let who = UserRef::Sub(u.user_id.clone());
    let rep = export::export(&c, &f.resources, &who, &Out::File(out.clone()), false, Format::Zip, &NoReport)
        .await
        .expect("export");
    // 40 readings a node in pages of 7: 5 continued pages per node at least
    let pages = continued.load(Ordering::SeqCst);
    assert!(pages >= 2 * 5, "the export continued only {pages} telemetry pages");
    assert_eq!(rep.items["telemetry"], 80, "{:?}", rep.items);
    let files = unzip(&out);
    for n in &u.owned_nodes {
        let lines = files[&format!("telemetry/{n}.ndjson")].split(|b| *b == b'\n').filter(|l| !l.is_empty()).count();
        assert_eq!(lines, 40, "{n}: every page in the archive");
    }
    let memberships: serde_json::Value = serde_json::from_slice(&files["memberships.json"]).unwrap();
    assert_eq!(memberships.as_array().unwrap().len(), u.owned_nodes.len() + u.shared_with_me.len());

    // the erase counts (Select COUNT) and deletes (key pages) over the same small pages
    continued.store(0, Ordering::SeqCst);
    let state = crate::support::tempdir();
    let o = EraseOptions { dry_run: false, revoke_devices: false, receipt: None, state_dir: state.path().into() };
    let done = erase::erase(&c, &f.resources, &who, &o, &|_| true, &NoReport).await.expect("erase");
    let EraseOutcome::Erased { receipt, .. } = done else { panic!("{done:?}") };
    let deleted = receipt.steps.iter().find(|s| s.step.name() == "delete_telemetry").map(|s| s.count);
    assert_eq!(deleted, Some(80), "{receipt:?}");
    let pages = continued.load(Ordering::SeqCst);
    assert!(pages >= 2 * 2 * 5, "count and delete continued only {pages} telemetry pages");
    for n in &u.owned_nodes {
        assert_eq!(telemetry_left(&f, n).await, 0, "{n}");
    }
}

/// Clients of every service against `endpoint` (a replay), with test credentials.
async fn replay_clients(endpoint: &str) -> GdprClients {
    use aws_sdk_dynamodb::config::{Credentials, SharedCredentialsProvider};
    let sdk = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new("AKID", "SECRET", None, None, "replay")))
        .build();
    GdprClients::new(&sdk).await.unwrap()
}

/// A telemetry key.
fn key(node: &str, ts: i64) -> rainmaker_model::ddb::Item {
    let mut k = rainmaker_model::ddb::Item::new();
    k.insert("node_id".into(), rainmaker_model::ddb::s(node));
    k.insert("ts".into(), rainmaker_model::ddb::n(ts));
    k
}

/// The (node_id, ts) of every DeleteRequest of `table` in a BatchWriteItem request body.
fn deleted_keys(body: &str, table: &str) -> BTreeSet<(String, String)> {
    let v: serde_json::Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
    let reqs = v["RequestItems"][table].as_array().unwrap_or_else(|| panic!("no {table} in {body}"));
    reqs.iter()
        .map(|r| {
            let k = &r["DeleteRequest"]["Key"];
            (k["node_id"]["S"].as_str().unwrap().to_string(), k["ts"]["N"].as_str().unwrap().to_string())
        })
        .collect()
}

const TABLE: &str = "rm-replay-telemetry";
const JSON: &[(&str, &str)] = &[
    ("Content-Type", "application/x-amz-json-1.0"),
    ("x-amzn-RequestId", "R5DQJ2NLT0ITUN8L0VK2MJCCAJVV4KQNSO5AEMVJF66Q9ASUAAJG"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_write_answering_unprocessed_items_is_retried_with_exactly_those_items() {
    // BatchWriteItem's response (API reference): UnprocessedItems maps a table to the WriteRequests not done
    let unprocessed = format!(
        r#"{{"UnprocessedItems":{{"{TABLE}":[{{"DeleteRequest":{{"Key":{{"node_id":{{"S":"RM-N-1"}},"ts":{{"N":"1002"}}}}}}}},{{"DeleteRequest":{{"Key":{{"node_id":{{"S":"RM-N-1"}},"ts":{{"N":"1003"}}}}}}}}]}}}}"#
    );
    let server = ReplyServer::start_routes(&[
        // only the first request holds 1001: it gets the partial answer, the retry the complete one
        Reply { when: Some(r#"{"N":"1001"}"#), status: 200, headers: JSON, body: &unprocessed },
        Reply { when: None, status: 200, headers: JSON, body: r#"{"UnprocessedItems":{}}"# },
    ]);
    let c = replay_clients(&server.endpoint_url()).await;
    let keys = [key("RM-N-1", 1001), key("RM-N-1", 1002), key("RM-N-1", 1003)];
    let n = erase::batch_delete(&c, TABLE, &keys).await.expect("retried until done");
    assert_eq!(n, 3);
    let got = server.received();
    assert_eq!(got.len(), 2, "one request and one retry: {got:?}");
    for r in &got {
        let target = r.headers.iter().find(|(k, _)| k == "x-amz-target").map(|(_, v)| v.as_str());
        assert_eq!(target, Some("DynamoDB_20120810.BatchWriteItem"), "{r:?}");
    }
    let all: BTreeSet<_> = ["1001", "1002", "1003"].iter().map(|t| ("RM-N-1".to_string(), t.to_string())).collect();
    assert_eq!(deleted_keys(&got[0].body, TABLE), all);
    let left: BTreeSet<_> = ["1002", "1003"].iter().map(|t| ("RM-N-1".to_string(), t.to_string())).collect();
    assert_eq!(deleted_keys(&got[1].body, TABLE), left, "the retry holds exactly the unprocessed items");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_write_that_stays_unprocessed_gives_up_with_a_clear_error() {
    let unprocessed = format!(
        r#"{{"UnprocessedItems":{{"{TABLE}":[{{"DeleteRequest":{{"Key":{{"node_id":{{"S":"RM-N-1"}},"ts":{{"N":"1001"}}}}}}}}]}}}}"#
    );
    let server = ReplyServer::start(200, JSON, &unprocessed);
    let c = replay_clients(&server.endpoint_url()).await;
    let err = erase::batch_delete(&c, TABLE, &[key("RM-N-1", 1001)]).await.expect_err("never processed");
    let text = err.to_string();
    assert!(
        text.contains("DynamoDB BatchWriteItem failed") && text.contains("1 items still unprocessed after 10"),
        "{text}"
    );
    assert_eq!(server.received().len(), 10, "MAX_BATCH_ATTEMPTS requests");
}

/// Progress that, when the verify step starts, writes `item` to `table` (an app still holding a valid token, or
/// another user sharing a node, while the erase runs).
struct WriteBeforeVerify {
    ddb: aws_sdk_dynamodb::Client,
    table: String,
    item: Mutex<Option<rainmaker_model::ddb::Item>>,
}

impl Report for WriteBeforeVerify {
    fn source(&self, _: &str, _: u64, _: bool) {}
    fn line(&self, text: &str) {
        if text != "erase: verify" {
            return;
        }
        if let Some(item) = self.item.lock().unwrap().take() {
            let put = self.ddb.put_item().table_name(&self.table).set_item(Some(item)).send();
            tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(put)).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verify_pass_finding_an_item_left_fails_and_the_receipt_says_so() {
    let f = fixture("gv", opts(2, 1, 3, 0)).await;
    let (victim, other) = (f.seed.users[0].clone(), f.seed.users[1].clone());
    let share = shared_node(&other, &victim);
    let late = WriteBeforeVerify {
        ddb: f.clients.ddb.clone(),
        table: f.resources.tables.user_nodes.clone(),
        item: Mutex::new(Some(rainmaker_model::ddb::to_item(&share).unwrap())),
    };
    let state = crate::support::tempdir();
    let o = EraseOptions { dry_run: false, revoke_devices: false, receipt: None, state_dir: state.path().into() };
    let who = UserRef::Sub(victim.user_id.clone());
    let err = erase::erase(&f.clients, &f.resources, &who, &o, &|_| true, &late).await.expect_err("a share left");
    let GdprError::Leftovers { left, journal } = &err else { panic!("{err:?}") };
    assert_eq!(left, "1 grants", "{err}");
    let journal = journal.clone();
    let report = miette::Report::new(err);
    assert_eq!(rainmaker_deploy::output::exit_code(&report), 1, "{report:?}");
    let rec: serde_json::Value = serde_json::from_slice(&std::fs::read(&journal).unwrap()).unwrap();
    assert!(rec["finished_at"].is_null(), "not finished: {rec}");
    let failures = rec["verify_failures"].as_array().unwrap();
    assert!(failures.len() == 1 && failures[0].as_str().unwrap().ends_with(": 1 grants"), "{rec}");
    assert!(!serde_json::to_string(&rec).unwrap().contains(&victim.user_id), "no user id in the receipt");
    assert!(marker_of(&f, &victim.user_id).await.is_none(), "no erasure marker for an unfinished erase");

    // run again: the leftover share is removed, the receipt finished and still says what the first verify found
    let done = erase::erase(&f.clients, &f.resources, &who, &o, &|_| true, &NoReport).await.expect("resumed");
    let EraseOutcome::Erased { receipt, resumed, .. } = done else { panic!("{done:?}") };
    assert!(resumed && receipt.finished_at.is_some());
    assert_eq!(receipt.verify_failures.len(), 1, "{receipt:?}");
    assert!(marker_of(&f, &victim.user_id).await.is_some());
    let key = [("user_id", victim.user_id.as_str()), ("node_id", other.owned_nodes[0].as_str())];
    assert!(super::get_item(&f, &f.resources.tables.user_nodes, &key).await.is_none(), "the late share is gone");
}

/// The erasure marker item of `user` in the tenant's users table (keyed with the tenant's receipt key).
pub(super) async fn marker_of(f: &Fixture, user: &str) -> Option<rainmaker_model::ddb::Item> {
    let out = f.clients.secrets.get_secret_value().secret_id(&f.receipt_key).send().await.unwrap();
    let key = out.secret_string().unwrap().as_bytes().to_vec();
    let subject = rainmaker_core::gdpr::receipt::subject(&key, user);
    let id = rainmaker_deploy::gdpr::marker::key(&subject);
    super::get_item(f, &f.resources.tables.users, &[("user_id", &id)]).await
}
