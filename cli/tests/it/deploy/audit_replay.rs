//! Issue 8, Device Defender: apply's suppression of the claim policy's one finding by design, against a scripted
//! endpoint answering as the AWS IoT API reference shows (moto has no Device Defender API): GET
//! /policies/{policyName} (its `defaultVersionId`), POST /audit/suppressions/describe, POST
//! /audit/suppressions/create. Every request is asserted: the check name, the policy name, the version taken from
//! GetPolicy, `suppressIndefinitely`, the description and the client request token (the same on the SDK's retry
//! after a 500, and on a second run). `destroy`'s removal: GetPolicy, then POST /audit/suppressions/delete.

use rainmaker_deploy::aws::audit::decide::{self, Outcome, Removed, Start, CHECK_NAME};
use rainmaker_deploy::aws::audit::{self, Suppression};
use rainmaker_deploy::aws::sdk::Clients;
use rainmaker_deploy::aws::verify::Omissions;
use rainmaker_test_support::{sdk_config_for, Answer, ScriptServer};
use serde_json::{json, Value};

const ACCOUNT: &str = "123456789012";
const TENANT: &str = "acme-home";
const POLICY: &str = "rm-acme-home-claim";
/// Not "1": the version must be the one GetPolicy named.
const VERSION: &str = "3";

fn get_policy() -> Answer {
    let body = json!({"policyName": POLICY, "policyArn": format!("arn:aws:iot:us-east-1:{ACCOUNT}:policy/{POLICY}"),
        "policyDocument": "{\"Version\":\"2012-10-17\",\"Statement\":[]}", "defaultVersionId": VERSION,
        "creationDate": 1730100000.0, "lastModifiedDate": 1730200000.0, "generationId": "0a1b2c"});
    Answer::new(&[&format!("GET /policies/{POLICY} ")], body.to_string())
        .header("Content-Type", "application/json")
        .once()
}

fn error(when: &str, status: u16, code: &str, message: &str) -> Answer {
    Answer::new(&[when], json!({"message": message}).to_string())
        .status(status)
        .header("Content-Type", "application/json")
        .header("x-amzn-ErrorType", code)
        .once()
}

const DESCRIBE: &str = "POST /audit/suppressions/describe ";
const CREATE: &str = "POST /audit/suppressions/create ";

fn not_found() -> Answer {
    error(DESCRIBE, 404, "ResourceNotFoundException", "The audit suppression does not exist")
}

fn created() -> Answer {
    Answer::new(&[CREATE], "{}").header("Content-Type", "application/json").once()
}

/// Each request the server got, as (method and path, JSON body): every one scripted, every scripted answer used.
fn requests(server: &ScriptServer) -> Vec<(String, Value)> {
    let requests = server
        .exchanges()
        .iter()
        .map(|e| {
            assert!(e.answer.is_some(), "unscripted request: {} {}", e.request.request_line, e.request.body);
            let line = e.request.request_line.split(' ').take(2).collect::<Vec<_>>().join(" ");
            (line, serde_json::from_str(&e.request.body).unwrap_or(Value::Null))
        })
        .collect();
    assert!(server.left_over().is_empty(), "scripted answers not used: {:?}", server.left_over());
    requests
}

async fn run(script: Vec<Answer>, start: Start) -> (Result<Suppression, String>, Vec<(String, Value)>) {
    let server = ScriptServer::start(script);
    let c = Clients::new(&sdk_config_for(&server.endpoint_url()).await);
    let got = audit::ensure(&c, TENANT, POLICY, start).await.map_err(|e| {
        let help = miette::Diagnostic::help(&e).map(|h| h.to_string()).unwrap_or_default();
        format!("{e}\nhelp: {help}")
    });
    (got, requests(&server))
}

fn identifier() -> Value {
    json!({"policyVersionIdentifier": {"policyName": POLICY, "policyVersionId": VERSION}})
}

fn assert_describe(r: &(String, Value)) {
    assert_eq!(r.0, "POST /audit/suppressions/describe");
    assert_eq!(r.1, json!({"checkName": CHECK_NAME, "resourceIdentifier": identifier()}));
}

/// The Create request's fields; returns its token.
fn assert_create(r: &(String, Value)) -> String {
    assert_eq!(r.0, "POST /audit/suppressions/create");
    let b = &r.1;
    assert_eq!(b["checkName"], CHECK_NAME);
    assert_eq!(b["resourceIdentifier"], identifier());
    assert_eq!(b["suppressIndefinitely"], true);
    assert!(b.get("expirationDate").is_none(), "{b}");
    let d = b["description"].as_str().expect("description");
    assert_eq!(d, decide::description(TENANT));
    assert!(d.len() <= 1000 && d.chars().all(|c| c.is_ascii_graphic() || c == ' '), "{d}");
    assert!(d.contains("rm-claim-") && d.contains("docs/security.md"), "{d}");
    let token = b["clientRequestToken"].as_str().expect("token").to_string();
    assert_eq!(token, decide::token(TENANT, POLICY, VERSION, Some("1730100000")));
    token
}

#[tokio::test]
async fn absent_suppression_is_created_with_the_same_token_when_the_first_create_answers_500() {
    let script = vec![
        get_policy(),
        not_found(),
        error(CREATE, 500, "InternalFailureException", "An unexpected error has occurred"),
        created(),
    ];
    let (got, reqs) = run(script, Start::Check).await;
    let got = got.expect("suppressed");
    assert_eq!(got.outcome, Outcome::Created);
    assert_eq!(got.policy.as_ref().map(|p| p.policy_version_id.as_str()), Some(VERSION));
    assert_eq!(reqs.len(), 4, "{reqs:?}");
    assert_eq!(reqs[0].0, format!("GET /policies/{POLICY}"));
    assert_describe(&reqs[1]);
    let first = assert_create(&reqs[2]);
    let retry = assert_create(&reqs[3]);
    assert_eq!(first, retry, "the SDK's retry must send the same clientRequestToken");
    // a second apply (a new process) after a lost answer sends the same token again
    let (again, reqs) = run(vec![get_policy(), not_found(), created()], Start::Check).await;
    assert_eq!(again.expect("again").outcome, Outcome::Created);
    assert_eq!(assert_create(&reqs[2]), first);
}

#[tokio::test]
async fn a_suppression_in_place_is_not_written_again() {
    let present = json!({"checkName": CHECK_NAME, "resourceIdentifier": identifier(), "suppressIndefinitely": true,
        "description": "fleet provisioning by claim"});
    let describe = Answer::new(&[DESCRIBE], present.to_string()).header("Content-Type", "application/json").once();
    let (got, reqs) = run(vec![get_policy(), describe], Start::Check).await;
    assert_eq!(got.expect("in place").outcome, Outcome::AlreadyInPlace);
    assert_eq!(reqs.len(), 2, "no Create: {reqs:?}");
    assert_describe(&reqs[1]);
}

#[tokio::test]
async fn resource_already_exists_on_create_counts_as_done() {
    let exists = error(CREATE, 409, "ResourceAlreadyExistsException", "The audit suppression already exists");
    let (got, reqs) = run(vec![get_policy(), not_found(), exists], Start::Check).await;
    assert_eq!(got.expect("done").outcome, Outcome::AlreadyInPlace);
    assert_eq!(reqs.len(), 3, "{reqs:?}");
    assert_create(&reqs[2]);
}

#[tokio::test]
async fn access_denied_reads_as_the_operation_code_message_and_the_action_to_grant() {
    let denied = error(
        DESCRIBE,
        403,
        "AccessDeniedException",
        &format!("User: arn:aws:sts::{ACCOUNT}:assumed-role/deployer/ci is not authorized to perform: iot:DescribeAuditSuppression on resource: arn:aws:iot:us-east-1:{ACCOUNT}:*"),
    );
    let (got, reqs) = run(vec![get_policy(), denied], Start::Check).await;
    let e = got.expect_err("denied");
    assert!(e.starts_with("IoT DescribeAuditSuppression failed: AccessDeniedException: User: "), "{e}");
    assert!(e.contains("help: the identity in use may not call iot:DescribeAuditSuppression: grant it"), "{e}");
    assert_eq!(reqs.len(), 2, "nothing written after the refusal: {reqs:?}");
}

#[tokio::test]
async fn audit_off_unchanged_or_test_mode_makes_no_call() {
    let mut cfg = rainmaker_deploy::config::blueprint_config("smart-home", TENANT, "us-east-1").expect("config");
    assert!(cfg.security.device_defender_audit, "on by default");
    cfg.security.device_defender_audit = false;
    let cases = [
        (decide::start(cfg.security.device_defender_audit, false, Omissions::Strict), Outcome::Off),
        (decide::start(true, true, Omissions::Strict), Outcome::NotChecked),
        (decide::start(true, false, Omissions::Moto), Outcome::SkippedTestMode),
    ];
    for (start, want) in cases {
        let (got, reqs) = run(vec![], start).await;
        assert_eq!(got.expect("no call").outcome, want);
        assert!(reqs.is_empty(), "{start:?}: {reqs:?}");
    }
}

const DELETE: &str = "POST /audit/suppressions/delete ";

async fn remove(script: Vec<Answer>, start: Start) -> (Result<Removed, String>, Vec<(String, Value)>) {
    let server = ScriptServer::start(script);
    let c = Clients::new(&sdk_config_for(&server.endpoint_url()).await);
    let got = audit::remove(&c, POLICY, start).await.map_err(|e| e.to_string());
    (got, requests(&server))
}

#[tokio::test]
async fn destroy_deletes_the_suppression_of_the_current_version_and_gone_is_fine() {
    let deleted = Answer::new(&[DELETE], "{}").header("Content-Type", "application/json").once();
    let (got, reqs) = remove(vec![get_policy(), deleted], Start::Check).await;
    assert_eq!(got.expect("deleted"), Removed::Deleted);
    assert_eq!(reqs.len(), 2, "{reqs:?}");
    assert_eq!(reqs[0].0, format!("GET /policies/{POLICY}"));
    assert_eq!(
        reqs[1],
        (
            "POST /audit/suppressions/delete".to_string(),
            json!({"checkName": CHECK_NAME, "resourceIdentifier": identifier()})
        )
    );

    let gone = error(DELETE, 404, "ResourceNotFoundException", "The audit suppression does not exist");
    let (got, reqs) = remove(vec![get_policy(), gone], Start::Check).await;
    assert_eq!(got.expect("gone is fine"), Removed::AlreadyGone);
    assert_eq!(reqs.len(), 2);

    // a re-run after the stack (and the policy) went: nothing to delete, no DeleteAuditSuppression
    let no_policy =
        error(&format!("GET /policies/{POLICY} "), 404, "ResourceNotFoundException", "The policy does not exist");
    let (got, reqs) = remove(vec![no_policy], Start::Check).await;
    assert_eq!(got.expect("no policy"), Removed::NoPolicy);
    assert_eq!(reqs.len(), 1);

    // any other failure is the destroy's error
    let denied = error(
        DELETE,
        403,
        "AccessDeniedException",
        "User: x is not authorized to perform: iot:DeleteAuditSuppression on resource: y",
    );
    let (got, _) = remove(vec![get_policy(), denied], Start::Check).await;
    let e = got.expect_err("denied");
    assert!(e.starts_with("IoT DeleteAuditSuppression failed: AccessDeniedException: "), "{e}");

    for (start, want) in [
        (decide::removal_start(false, Omissions::Strict), Removed::Off),
        (decide::removal_start(true, Omissions::Moto), Removed::SkippedTestMode),
    ] {
        let (got, reqs) = remove(vec![], start).await;
        assert_eq!(got.expect("no call"), want);
        assert!(reqs.is_empty(), "{reqs:?}");
    }
}
