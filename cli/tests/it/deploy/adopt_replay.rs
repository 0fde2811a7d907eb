//! The import of kept data as real AWS does it (moto has no IMPORT change sets), replayed from responses shaped
//! like the DynamoDB, Secrets Manager, Cognito and CloudFormation API references, with every request read back:
//! the lookups by name, the IMPORT change set (`ChangeSetType=IMPORT`, `ResourcesToImport` with type, logical id
//! and identifier, a template of only the kept resources with their `DeletionPolicy`, capabilities, tags,
//! `ClientToken`), its execution with our token, the stack policy, then the UPDATE to the full template. The
//! recoveries that end in an import are in [`super::adopt_recovery`].

use super::fixtures::fast_wait;
use super::policy::form_decode;
use super::replay::{at, backend_target, clients, event, events, ok, updated_stack, STACK, STACK_ID};
use aws_smithy_runtime::client::http::test_util::{ReplayEvent, StaticReplayClient};
use aws_smithy_types::body::SdkBody;
use rainmaker_deploy::aws::adopt::{self, run};
use rainmaker_deploy::aws::changeset::execute_token;
use rainmaker_deploy::aws::converge::{self, Ready, Target};
use rainmaker_deploy::aws::plan::{PlanKind, TemplateInfo};
use rainmaker_deploy::aws::progress::{Always, NoProgress};
use rainmaker_deploy::{config, template};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// A JSON-protocol answer (DynamoDB, Secrets Manager, Cognito).
pub(super) fn json_ok(body: Value) -> ReplayEvent {
    ReplayEvent::new(
        http::Request::builder().uri("https://example.amazonaws.com/").body(SdkBody::empty()).unwrap(),
        http::Response::builder()
            .status(200)
            .header("content-type", "application/x-amz-json-1.0")
            .body(SdkBody::from(body.to_string()))
            .unwrap(),
    )
}

/// One request as sent: `Service.Operation` (`X-Amz-Target` for JSON protocols, `Action=` for the query
/// protocol) and its body.
pub(super) struct Sent {
    pub(super) op: String,
    pub(super) body: String,
}

pub(super) fn sent(http: &StaticReplayClient) -> Vec<Sent> {
    http.actual_requests()
        .map(|r| {
            let body = std::str::from_utf8(r.body().bytes().unwrap_or_default()).unwrap_or_default().to_string();
            let op = match r.headers().get("x-amz-target") {
                Some(t) => t.to_string(),
                None => body.split('&').find_map(|kv| kv.strip_prefix("Action=")).unwrap_or_default().to_string(),
            };
            Sent { op, body }
        })
        .collect()
}

pub(super) fn form(body: &str) -> BTreeMap<String, String> {
    body.split('&').filter_map(|kv| kv.split_once('=')).map(|(k, v)| (form_decode(k), form_decode(v))).collect()
}

/// DescribeTable's answer for a table as the template declares it (keys, attributes, indexes), ACTIVE.
pub(super) fn table_answer(props: &Value) -> ReplayEvent {
    json_ok(table_body(props))
}

/// [`table_answer`]'s body.
pub(super) fn table_body(props: &Value) -> Value {
    let indexes: Vec<Value> = props["GlobalSecondaryIndexes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|g| json!({"IndexName": g["IndexName"], "KeySchema": g["KeySchema"], "Projection": g["Projection"], "IndexStatus": "ACTIVE"}))
        .collect();
    let name = props["TableName"].as_str().unwrap();
    json!({"Table": {
        "TableName": name,
        "TableArn": format!("arn:aws:dynamodb:us-east-1:123456789012:table/{name}"),
        "TableStatus": "ACTIVE",
        "CreationDateTime": 1.7649e9,
        "KeySchema": props["KeySchema"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "GlobalSecondaryIndexes": indexes,
        "ItemCount": 42,
        "SSEDescription": super::encryption_replay::aws_managed_table_sse(),
    }})
}

fn secret_arn(name: &str) -> String {
    format!("arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}-a1B2c3")
}

const POOL_ID: &str = "us-east-1_Kept0ld1";

/// The lookups' answers, in the order `find` asks (the template's order of its retained resources).
fn lookups(backend: &Value, wanted: &[adopt::Wanted]) -> Vec<ReplayEvent> {
    let mut out = Vec::new();
    for w in wanted {
        let props = &backend["Resources"][&w.logical_id]["Properties"];
        match w.resource_type.as_str() {
            "AWS::DynamoDB::Table" => out.push(table_answer(props)),
            "AWS::SecretsManager::Secret" => {
                let name = props["Name"].as_str().unwrap();
                out.push(json_ok(json!({"ARN": secret_arn(name), "Name": name, "CreatedDate": 1.7649e9})));
            }
            "AWS::Cognito::UserPool" => {
                let name = props["UserPoolName"].as_str().unwrap();
                out.push(json_ok(json!({"UserPools": [
                    {"Id": "us-east-1_Other0001", "Name": "someone-elses-pool"},
                    {"Id": POOL_ID, "Name": name}
                ]})));
                out.push(json_ok(json!({"UserPool": {"Id": POOL_ID, "Name": name, "UsernameAttributes": ["email"]}})));
            }
            other => panic!("unexpected kept type {other}"),
        }
    }
    out
}

pub(super) fn change_set_created(name: &str) -> ReplayEvent {
    ok(
        "CreateChangeSet",
        &format!(
            "<Id>arn:aws:cloudformation:us-east-1:123456789012:changeSet/{name}/abc</Id><StackId>{STACK_ID}</StackId>"
        ),
    )
}

pub(super) fn change_set_ready(rows: &[(&str, &str, &str)]) -> ReplayEvent {
    let members: String = rows
        .iter()
        .map(|(action, id, ty)| {
            format!(
                "<member><Type>Resource</Type><ResourceChange><Action>{action}</Action><LogicalResourceId>{id}</LogicalResourceId>\
                 <ResourceType>{ty}</ResourceType></ResourceChange></member>"
            )
        })
        .collect();
    ok(
        "DescribeChangeSet",
        &format!(
            "<ChangeSetName>rainmaker-1</ChangeSetName><StackName>rm-acme</StackName><ExecutionStatus>AVAILABLE</ExecutionStatus>\
             <Status>CREATE_COMPLETE</Status><Changes>{members}</Changes>"
        ),
    )
}

#[tokio::test]
async fn kept_resources_are_imported_by_an_import_change_set_then_the_stack_is_updated_to_its_template() {
    let cfg = config::blueprint_config("smart-home", "acme", "us-east-1").unwrap();
    let rendered = template::render(&cfg).unwrap();
    let body = rendered.stack("backend").unwrap().body.clone();
    let backend = template::parse(&body).unwrap();
    let info = TemplateInfo::from_template(&backend);
    let wanted = adopt::wanted(&backend);
    let kept: Vec<(&str, &str)> = wanted.iter().map(|w| (w.logical_id.as_str(), w.resource_type.as_str())).collect();
    assert_eq!(kept.len(), 9, "6 tables, 2 secrets, 1 user pool: {kept:?}");

    let import_rows: Vec<(&str, &str, &str)> = kept.iter().map(|(id, ty)| ("Import", *id, *ty)).collect();
    let mut answers = lookups(&backend, &wanted);
    answers.extend([
        change_set_created("rainmaker-import"),
        change_set_ready(&import_rows),
        ok("ExecuteChangeSet", ""),
        events(&[
            event("rm-acme", STACK, "IMPORT_COMPLETE", None, &at(3), "ours"),
            event(
                "UsersTable",
                "AWS::DynamoDB::Table",
                "IMPORT_COMPLETE",
                Some("Resource import completed"),
                &at(2),
                "ours",
            ),
            event("rm-acme", STACK, "IMPORT_IN_PROGRESS", Some("User Initiated"), &at(1), "ours"),
        ]),
        updated_stack("IMPORT_COMPLETE", &at(1)),
        ok("SetStackPolicy", ""),
        // the UPDATE to the full template
        change_set_created("rainmaker-update"),
        change_set_ready(&[
            ("Add", "DeadLetterQueue", "AWS::SQS::Queue"),
            ("Add", "ApiFunction", "AWS::Lambda::Function"),
            ("Modify", "UsersTable", "AWS::DynamoDB::Table"),
        ]),
        // before an UPDATE of a stack with data, the live policy is read: the one the IMPORT set protects it
        protecting_policy(&info),
        ok("ExecuteChangeSet", ""),
        events(&[
            event("rm-acme", STACK, "UPDATE_COMPLETE", None, &at(6), "ours"),
            event("rm-acme", STACK, "UPDATE_IN_PROGRESS", Some("User Initiated"), &at(5), "ours"),
        ]),
        updated_stack("UPDATE_COMPLETE", &at(5)),
        ok("SetStackPolicy", ""),
    ]);
    let (c, http) = clients(answers);
    let tags: BTreeMap<String, String> =
        [("rainmaker:tenant", "acme"), ("rainmaker:template-version", rainmaker_deploy::TEMPLATE_VERSION)]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into();
    let params: BTreeMap<String, String> = [("ApiCodeKey".to_string(), "lambdas/api/ab.zip".to_string())].into();
    let t = Target { parameters: params, tags, ..backend_target(&body, &info) };

    // what apply does for a backend that is not there: look up, import, then the normal update
    let imports = run::check(&c, "rm-acme", &backend).await.expect("lookups");
    assert_eq!(adopt::summary(&imports), "import 6 retained tables, 2 secrets, 1 user pool");
    let live = run::import(&c, &t, &backend, &imports, &fast_wait(), &Always(true), &NoProgress).await.expect("import");
    assert_eq!(rainmaker_deploy::aws::stack::status(&live), "IMPORT_COMPLETE");
    let ready = converge::compare(&c, &t, Some(live)).await.unwrap();
    assert!(matches!(ready, Ready::Change { live: Some(_), create: false }), "an UPDATE follows: {ready:?}");
    let plan = converge::plan(&c, &t, false, (Some(body.clone()), None), &fast_wait()).await.unwrap();
    assert_eq!(plan.kind, PlanKind::Update);
    converge::execute(&c, &t, &plan, false, &fast_wait(), &Always(true), &NoProgress).await.expect("update");

    let sent = sent(&http);
    let ops: Vec<&str> = sent.iter().map(|s| s.op.as_str()).collect();
    let n = wanted.len();
    let mut expected: Vec<&str> = Vec::new();
    for w in &wanted {
        match w.resource_type.as_str() {
            "AWS::DynamoDB::Table" => expected.push("DynamoDB_20120810.DescribeTable"),
            "AWS::SecretsManager::Secret" => expected.push("secretsmanager.DescribeSecret"),
            _ => expected.extend([
                "AWSCognitoIdentityProviderService.ListUserPools",
                "AWSCognitoIdentityProviderService.DescribeUserPool",
            ]),
        }
    }
    let cfn = [
        "CreateChangeSet",
        "DescribeChangeSet",
        "ExecuteChangeSet",
        "DescribeStackEvents",
        "DescribeStacks",
        "SetStackPolicy",
    ];
    expected.extend(cfn);
    expected.extend(&cfn[..2]);
    expected.push("GetStackPolicy");
    expected.extend(&cfn[2..]);
    assert_eq!(ops, expected, "no table is deleted or created, nothing else is called");

    // the lookups ask by the template's names
    let looked_up: Vec<Value> = sent[..n + 1].iter().map(|s| serde_json::from_str(&s.body).unwrap()).collect();
    let tables: Vec<&str> = looked_up.iter().filter_map(|b| b["TableName"].as_str()).collect();
    assert_eq!(
        tables,
        [
            "rm-acme-users",
            "rm-acme-nodes",
            "rm-acme-user-nodes",
            "rm-acme-telemetry",
            "rm-acme-binding-requests",
            "rm-acme-serial-allowlist"
        ]
    );
    let secrets: Vec<&str> = looked_up.iter().filter_map(|b| b["SecretId"].as_str()).collect();
    assert_eq!(secrets, ["rm-acme-serial-key", "rm-acme-gdpr-receipt-key"]);
    assert!(looked_up.iter().any(|b| b["MaxResults"] == 60), "ListUserPools pages of 60: {looked_up:?}");
    assert!(looked_up.iter().any(|b| b["UserPoolId"] == POOL_ID), "only the pool with our name is described");

    // the IMPORT change set, field by field
    let create = form(&sent[n + 1].body);
    assert_eq!(create["Action"], "CreateChangeSet");
    assert_eq!(create["StackName"], "rm-acme");
    assert_eq!(create["ChangeSetType"], "IMPORT");
    assert!(create["ChangeSetName"].starts_with("rainmaker-"), "{create:?}");
    assert_eq!(create["ClientToken"], create["ChangeSetName"], "SDK retries reuse the token");
    assert_eq!(create["Capabilities.member.1"], "CAPABILITY_IAM");
    assert!(!create.keys().any(|k| k.starts_with("Parameters.")), "the kept resources take no parameters: {create:?}");
    let mut entries = Vec::new();
    for i in 1..=n {
        let f = |k: &str| create.get(&format!("ResourcesToImport.member.{i}.{k}")).cloned().unwrap_or_default();
        entries.push((
            f("ResourceType"),
            f("LogicalResourceId"),
            f("ResourceIdentifier.entry.1.key"),
            f("ResourceIdentifier.entry.1.value"),
        ));
    }
    assert!(!create.contains_key(&format!("ResourcesToImport.member.{}.ResourceType", n + 1)));
    let entry = |id: &str| entries.iter().find(|e| e.1 == id).unwrap_or_else(|| panic!("{id} in {entries:?}")).clone();
    let s = |a: &str, b: &str, c: &str, d: &str| (a.to_string(), b.to_string(), c.to_string(), d.to_string());
    assert_eq!(entry("UsersTable"), s("AWS::DynamoDB::Table", "UsersTable", "TableName", "rm-acme-users"));
    assert_eq!(entry("TelemetryTable"), s("AWS::DynamoDB::Table", "TelemetryTable", "TableName", "rm-acme-telemetry"));
    assert_eq!(
        entry("SerialKeySecret"),
        s("AWS::SecretsManager::Secret", "SerialKeySecret", "Id", &secret_arn("rm-acme-serial-key"))
    );
    assert_eq!(
        entry("GdprReceiptKeySecret"),
        s("AWS::SecretsManager::Secret", "GdprReceiptKeySecret", "Id", &secret_arn("rm-acme-gdpr-receipt-key"))
    );
    assert_eq!(entry("UserPool"), s("AWS::Cognito::UserPool", "UserPool", "UserPoolId", POOL_ID));
    // the template holds the kept resources only, exactly as the full template declares them, each retained
    let import_body: Value = serde_json::from_str(&create["TemplateBody"]).expect("the import template is JSON");
    let in_body: Vec<&String> = import_body["Resources"].as_object().unwrap().keys().collect();
    assert_eq!(in_body.len(), n, "{in_body:?}");
    for (id, _) in &kept {
        assert_eq!(import_body["Resources"][id], backend["Resources"][id], "{id}");
        assert_eq!(import_body["Resources"][id]["DeletionPolicy"], "Retain", "{id}");
    }
    assert!(import_body.get("Outputs").is_none() && import_body.get("Parameters").is_none(), "{import_body:#}");
    let tag = |f: &BTreeMap<String, String>, key: &str| {
        (1..=8).find_map(|i| {
            (f.get(&format!("Tags.member.{i}.Key")).map(String::as_str) == Some(key))
                .then(|| f[&format!("Tags.member.{i}.Value")].clone())
        })
    };
    assert_eq!(tag(&create, "rainmaker:tenant").as_deref(), Some("acme"), "the stack is the tenant's from the start");
    assert_eq!(
        tag(&create, "rainmaker:template-sha256"),
        Some(converge::deployed_hash(&create["TemplateBody"], &BTreeMap::new())),
        "the hash of the import template: the full template's hash differs, so the update is never skipped"
    );

    // executed with our token, then the data resources protected at once
    let exec = form(&sent[n + 3].body);
    assert_eq!(exec["Action"], "ExecuteChangeSet");
    assert_eq!(exec["ChangeSetName"], create["ChangeSetName"]);
    assert_eq!(exec["ClientRequestToken"], execute_token(&create["ChangeSetName"], "rm-acme"));
    let policy: Value = serde_json::from_str(&form(&sent[n + 6].body)["StackPolicyBody"]).unwrap();
    let denied = &policy["Statement"][1];
    assert_eq!(denied["Action"], json!(["Update:Replace", "Update:Delete"]));
    for id in ["LogicalResourceId/UsersTable", "LogicalResourceId/UserPool", "LogicalResourceId/SerialKeySecret"] {
        assert!(denied["Resource"].as_array().unwrap().contains(&json!(id)), "{id} protected: {policy}");
    }

    // then the normal UPDATE with the full template and its parameters
    let update = form(&sent[n + 7].body);
    assert_eq!(update["ChangeSetType"], "UPDATE");
    assert_eq!(update["TemplateBody"], body);
    assert_eq!(
        (update["Parameters.member.1.ParameterKey"].as_str(), update["Parameters.member.1.ParameterValue"].as_str()),
        ("ApiCodeKey", "lambdas/api/ab.zip")
    );
    assert_ne!(update["ChangeSetName"], create["ChangeSetName"]);
    assert_eq!(update["ClientToken"], update["ChangeSetName"]);
    // the live policy read before the update (the import's protects the data: nothing set before executing)
    let read = form(&sent[n + 9].body);
    assert_eq!((read["Action"].as_str(), read["StackName"].as_str()), ("GetStackPolicy", "rm-acme"));
    assert_eq!(form(&sent[n + 10].body)["ClientRequestToken"], execute_token(&update["ChangeSetName"], "rm-acme"));
}

/// GetStackPolicy answering the policy that protects `info`'s data (what the IMPORT's SetStackPolicy set).
fn protecting_policy(info: &TemplateInfo) -> ReplayEvent {
    let body = rainmaker_deploy::aws::policy::protecting(&info.data_resources());
    ok(
        "GetStackPolicy",
        &format!(
            "<StackPolicyBody>{}</StackPolicyBody>",
            body.replace('&', "&amp;").replace('<', "&lt;").replace('"', "&quot;")
        ),
    )
}
