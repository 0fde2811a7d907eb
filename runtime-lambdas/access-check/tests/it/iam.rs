//! IAM against the calls: every function's handler driven through every event type and route against moto, each
//! with its own recording client, and the IAM actions of the requests it really sent (any service) compared with
//! what its role grants in the RENDERED backend template of every blueprint. A call not granted fails (AccessDenied
//! in AWS), and so does a grant never called, except the grants the Lambda service itself uses.

use super::{api_request, fixture, OTHER};
use access_check::iam::{self, Action, Drift, Grant};
use access_check::Recorder;
use aws_sdk_dynamodb::types::AttributeValue;
use rainmaker_model::{attr, Table, TableNames};
use rainmaker_test_support::{create_tables, unique_prefix, MotoServer};
use serde_json::{json, Value};
use std::collections::BTreeMap;

const BLUEPRINTS: [&str; 3] = ["smart-home", "water-meter", "industrial-sensor"];
/// The runtime functions by their folder under runtime-lambdas/ (the template's `<Pascal>Function`): the five of
/// the direct pipeline and telemetry-batch, which `telemetry.pipeline: batched` or `packed` deploys instead of
/// telemetry-ingest.
const FUNCTIONS: [&str; 6] =
    ["provisioning-hook", "telemetry-ingest", "presence", "binding-confirm", "api", "telemetry-batch"];

fn logical_id(crate_name: &str) -> String {
    crate_name.split('-').map(|w| w[..1].to_uppercase() + &w[1..]).collect::<String>() + "Function"
}

pub(crate) fn backend(blueprint: &str) -> Value {
    backend_with(blueprint, rainmaker_core::config::Kms::AwsManaged)
}

/// The rendered backend with `security.kms` set.
pub(crate) fn backend_with(blueprint: &str, kms: rainmaker_core::config::Kms) -> Value {
    backend_of(blueprint, kms, rainmaker_core::config::Pipeline::Direct)
}

/// The rendered backend with `security.kms` and `telemetry.pipeline` set.
pub(crate) fn backend_of(
    blueprint: &str,
    kms: rainmaker_core::config::Kms,
    pipeline: rainmaker_core::config::Pipeline,
) -> Value {
    let mut cfg = rainmaker_core::config::blueprint_config(blueprint, "iam-check", "eu-west-1").unwrap();
    cfg.security.kms = kms;
    cfg.telemetry.pipeline = pipeline;
    let rendered = rainmaker_core::template::render(&cfg).unwrap();
    rainmaker_core::template::parse(&rendered.stack("backend").unwrap().body).unwrap()
}

/// The function's literal environment variables in the rendered template (`Ref`s left out).
fn env_of(template: &Value, function: &str) -> BTreeMap<String, String> {
    let vars = &template["Resources"][function]["Properties"]["Environment"]["Variables"];
    let lit = |v: &Value| v.as_str().map(str::to_string).or_else(|| v.as_bool().map(|b| b.to_string()));
    vars.as_object().into_iter().flatten().filter_map(|(k, v)| Some((k.clone(), lit(v)?))).collect()
}

/// Grants the Lambda service uses with the function's role, so that no handler request shows them:
/// - `logs:CreateLogStream` / `logs:PutLogEvents` on the function's own log group (its `LoggingConfig`): the
///   Lambda runtime writes the function's output there;
/// - `sqs:SendMessage` on the queue its `EventInvokeConfig` (or its stream's `EventSourceMapping`) names as the
///   on-failure destination: Lambda sends a failed asynchronous event (a batch it gave up on) there with the
///   execution role.
///
/// (The event source mapping's Kinesis reads are not optional like these: `iam::implied_stream_reads` adds them to
/// the calls, so a role without them is reported.)
///
/// Read from the template, so a grant of these actions on any other resource still counts as unused.
fn used_by_lambda(template: &Value, function: &str) -> impl Fn(&Action) -> bool {
    let res = &template["Resources"];
    let log_group = res[function]["Properties"]["LoggingConfig"]["LogGroup"]["Ref"].as_str().map(str::to_string);
    let of_function = |ty: &'static str| {
        res.as_object()
            .into_iter()
            .flatten()
            .filter(move |(_, r)| r["Type"] == ty && r["Properties"]["FunctionName"]["Ref"] == function)
            .map(|(_, r)| r)
    };
    let on_failure: Vec<String> = of_function("AWS::Lambda::EventInvokeConfig")
        .chain(of_function("AWS::Lambda::EventSourceMapping"))
        .filter_map(|r| r["Properties"]["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0].as_str())
        .map(str::to_string)
        .collect();
    move |a: &Action| match a.action.as_str() {
        "logs:CreateLogStream" | "logs:PutLogEvents" => log_group.as_deref() == Some(a.resource.as_str()),
        "sqs:SendMessage" => on_failure.contains(&a.resource),
        _ => false,
    }
}

/// The values a log must never show (the others are the fixtures' user ids).
pub(crate) struct Secrets {
    pub email: String,
    pub token: String,
    pub device_secret: String,
    pub binding_code: String,
}

/// The handlers of one deployment, each with its own recorder, driven through every event and route.
pub(crate) struct Recorded {
    by_function: BTreeMap<&'static str, Vec<access_check::Request>>,
    logical: BTreeMap<String, String>,
    pub secrets: Secrets,
    /// An unrecorded SDK config and the tables, the hook and the API, for more events.
    pub sdk: aws_config::SdkConfig,
    pub tables: TableNames,
    pub hook: provisioning_hook::Hook,
    pub api: api::Api,
}

/// Drive every handler; `metrics`: with their embedded-metric lines (as deployed).
pub(crate) async fn drive(template: &Value, metrics: bool) -> Recorded {
    let moto = MotoServer::shared();
    let base = moto.sdk_config().await;
    let ddb = aws_sdk_dynamodb::Client::new(&base);
    let tables: TableNames = create_tables(&ddb, &unique_prefix("iam")).await;
    let mut logical: BTreeMap<String, String> =
        Table::ALL.iter().map(|t| (tables.get(*t).to_string(), format!("{t:?}Table"))).collect();
    let rec: BTreeMap<&str, (aws_config::SdkConfig, Recorder)> =
        FUNCTIONS.iter().map(|f| (*f, Recorder::wrap(&base))).collect();
    let sdk = |f: &str| &rec[f].0;
    // A serial of its own per run (the moto server and its things are shared by the tests of this binary).
    static RUN: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = RUN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let serial = format!("SN-{:06}", (std::process::id() * 10 + n + 500_000) % 1_000_000);
    moto.create_thing(&serial);

    // The tenant key secret, read by the hook at cold start through its own client.
    let sm = aws_sdk_secretsmanager::Client::new(&base);
    let arn = sm
        .create_secret()
        .name(unique_prefix("iam-serial-key"))
        .secret_string("k".repeat(64))
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();
    logical.insert(arn.clone(), "SerialKeySecret".into());
    let key = provisioning_hook::read_tenant_key(sdk("provisioning-hook"), &arn).await.unwrap();

    // Provisioning.
    let mut ev = fixture("provisioning-hook/tests/fixtures/pre-provisioning-hook.json");
    ev["parameters"]["SerialNumber"] = json!(serial);
    let secret = ev["parameters"]["DeviceSecret"].as_str().unwrap().to_string();
    let cert = ev["certificateId"].clone();
    ddb.put_item()
        .table_name(&tables.serial_allowlist)
        .item(attr::SERIAL, AttributeValue::S(serial.clone()))
        .item(attr::PROVISIONED, AttributeValue::Bool(false))
        .item(attr::SECRET_HMAC, AttributeValue::S(rainmaker_model::device_secret::secret_hmac(&key, &serial, &secret)))
        .send()
        .await
        .unwrap();
    let hook = provisioning_hook::Hook::new(sdk("provisioning-hook"), tables.clone(), "SN-[0-9]{6}", key).unwrap();
    let out = serde_json::to_value(hook.handle(ev).await).unwrap();
    assert_eq!(out["allowProvisioning"], true, "{out}");

    // The API with the settings the template gives it (sharing is off in water-meter).
    let env = env_of(template, "ApiFunction");
    let settings = api::Settings::from_lookup(|k| env.get(k).cloned()).unwrap();
    let sharing = settings.sharing_enabled;
    let api = api::Api::new(sdk("api"), tables.clone(), settings, None);
    let api = if metrics { api } else { api.without_metrics() };
    let call = |method: &'static str, path: String, body: Option<Value>, must_succeed: bool| {
        let api = &api;
        async move {
            let resp = api.handle(api_request(method, &path, body)).await;
            let body: Value = serde_json::from_str(resp["body"].as_str().unwrap()).unwrap();
            if must_succeed {
                assert!(resp["statusCode"].as_i64().unwrap() < 300, "{method} {path}: {body}");
            }
            body
        }
    };
    let body = call("POST", "/nodes/bind".into(), Some(json!({"node_id": serial})), true).await;

    // The device confirms.
    let mut ev = fixture("binding-confirm/tests/fixtures/binding-rule-event.json");
    (ev["binding_code"], ev["node_id"], ev["principal"]) = (body["binding_code"].clone(), json!(serial), cert.clone());
    let confirm = binding_confirm::Confirm::new(sdk("binding-confirm"), tables.clone(), "iam-check");
    let confirm = if metrics { confirm } else { confirm.without_metrics() };
    let out = serde_json::to_value(confirm.handle(ev).await.unwrap()).unwrap();
    assert_eq!(out["status"], "bound", "{out}");

    // Presence (connect, disconnect) and telemetry (one reading, a batch).
    let presence = presence::Presence::new(sdk("presence"), &tables);
    for name in ["connected", "disconnected"] {
        let mut ev = fixture(&format!("presence/tests/fixtures/{name}.json"));
        (ev["clientId"], ev["principalIdentifier"]) = (json!(serial), cert.clone());
        ev["timestamp"] = json!(rainmaker_model::time::now_ms());
        presence.handle(ev).await.unwrap();
    }
    let ingest =
        telemetry_ingest::Ingest::new(sdk("telemetry-ingest"), tables.clone(), telemetry_ingest::Limits::default());
    let ingest = if metrics { ingest } else { ingest.without_metrics() };
    let now = rainmaker_model::time::now_ms();
    let mut ev = fixture("telemetry-ingest/tests/fixtures/rule-event-single.json");
    (ev["node_id"], ev["received_at"], ev["ts"]) = (json!(serial), json!(now), json!(now - 1000));
    assert_eq!(ingest.handle(ev).await.unwrap().accepted, 1);
    let mut ev = fixture("telemetry-ingest/tests/fixtures/rule-event-batch.json");
    (ev["node_id"], ev["received_at"]) = (json!(serial), json!(now));
    for (i, r) in ev["readings"].as_array_mut().unwrap().iter_mut().enumerate() {
        r["ts"] = json!(now - 10_000 - i as i64);
    }
    assert_eq!(ingest.handle(ev).await.unwrap().accepted, 3);
    // The consumer of the batched or packed pipeline, writing the layout the template sets (TELEMETRY_LAYOUT): a
    // batch of the stream with this node's readings.
    let lookup = env_of(template, "TelemetryBatchFunction");
    let layout = telemetry_batch::Layout::from_lookup(|k| lookup.get(k).cloned()).unwrap();
    let batch =
        telemetry_batch::Consumer::new(sdk("telemetry-batch"), tables.clone(), telemetry_ingest::Limits::default())
            .with_layout(layout);
    let batch = if metrics { batch } else { batch.without_metrics() };
    let rule_output = |ts: i64| {
        json!({"ts": ts, "params": {"Power": true}, "node_id": serial, "received_at": now, "principal": cert})
            .to_string()
            .into_bytes()
    };
    let records = [(serial.as_str(), rule_output(now - 20_000)), (serial.as_str(), rule_output(now - 19_000))];
    let out = batch.process(super::kinesis_event(&records)).await;
    assert_eq!((out.accepted, out.failed.len()), (2, 0), "{out:?}");

    // Every REST route, unbind last.
    call("GET", "/nodes".into(), None, true).await;
    call("GET", format!("/nodes/{serial}"), None, true).await;
    call("PUT", format!("/nodes/{serial}/params"), Some(json!({"Power": true})), true).await;
    call("GET", format!("/nodes/{serial}/params"), None, true).await;
    call("GET", format!("/nodes/{serial}/readings"), None, true).await;
    call("POST", format!("/nodes/{serial}/shares"), Some(json!({"user_id": OTHER})), sharing).await;
    call("DELETE", format!("/nodes/{serial}/shares/{OTHER}"), None, sharing).await;
    call("DELETE", format!("/nodes/{serial}"), None, true).await;

    let request = api_request("GET", "/nodes", None);
    let claims = &request["requestContext"]["authorizer"]["claims"];
    let secrets = Secrets {
        email: claims["email"].as_str().unwrap().to_string(),
        token: request["headers"]["Authorization"].as_str().unwrap().to_string(),
        device_secret: secret,
        binding_code: body["binding_code"].as_str().unwrap().to_string(),
    };
    Recorded {
        by_function: rec.iter().map(|(f, (_, r))| (*f, r.take_requests())).collect(),
        logical,
        secrets,
        sdk: base,
        tables,
        hook,
        api,
    }
}

fn drift(template: &Value, recorded: &Recorded, function: &str) -> (Vec<Action>, Drift) {
    let id = logical_id(function);
    let logical = |name: &str| recorded.logical.get(name).cloned().unwrap_or_else(|| name.to_string());
    let mut calls = iam::actions(&recorded.by_function[function], &logical);
    // what DynamoDB, Secrets Manager, Lambda and SQS do with the role on the function's behalf (customer-managed key)
    let implied = iam::implied_kms(template, &id, &calls);
    calls.extend(implied);
    // what Lambda's event source mapping reads from the stream with the role (telemetry-batch)
    calls.extend(iam::implied_stream_reads(template, &id));
    let grants: Vec<Grant> = iam::grants(template, &id).unwrap();
    let d = iam::compare(&calls, &grants, &used_by_lambda(template, &id));
    (calls, d)
}

fn report(blueprint: &str, function: &str, d: &Drift) -> String {
    let mut out = String::new();
    for c in &d.not_granted {
        out += &format!("\n  {blueprint} {function}: calls {c}, which its role does not grant");
    }
    for g in &d.never_called {
        out +=
            &format!("\n  {blueprint} {function}: {} grants {} (statement {}), never called", g.role, g.action, g.sid);
    }
    out
}

#[tokio::test]
async fn every_function_role_grants_exactly_the_calls_its_handler_makes() {
    use rainmaker_core::config::Kms;
    let mut problems = String::new();
    use rainmaker_core::config::Pipeline;
    let settings = BLUEPRINTS.iter().flat_map(|b| {
        Pipeline::ALL.into_iter().flat_map(move |p| [(*b, Kms::AwsManaged, p), (*b, Kms::CustomerManaged, p)])
    });
    for (blueprint, kms, pipeline) in settings {
        let template = backend_of(blueprint, kms, pipeline);
        let key_grants = template.to_string().matches("kms:Decrypt").count();
        assert_eq!(
            key_grants > 0,
            kms == Kms::CustomerManaged,
            "{blueprint} {kms:?}: KMS grants only with the tenant key"
        );
        // Every function in the template is one this test drives.
        let in_template: Vec<&String> = template["Resources"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(_, r)| r["Type"] == "AWS::Lambda::Function")
            .map(|(id, _)| id)
            .collect();
        let driven: Vec<String> = FUNCTIONS.iter().map(|f| logical_id(f)).collect();
        for id in &in_template {
            assert!(driven.contains(id), "{blueprint}: function {id} is not driven by this test");
        }
        let recorded = drive(&template, false).await;
        for function in FUNCTIONS.iter().filter(|f| in_template.contains(&&logical_id(f))) {
            let (calls, d) = drift(&template, &recorded, function);
            assert!(!calls.is_empty(), "{blueprint} {function}: no call recorded");
            problems += &report(&format!("{blueprint} ({kms:?}, {pipeline:?})"), function, &d);
        }
        let consumer = in_template.iter().any(|id| *id == "TelemetryBatchFunction");
        assert_eq!(
            consumer,
            pipeline.streams(),
            "{blueprint}: telemetry-batch only in the batched and packed pipelines"
        );
        if consumer {
            let layout = env_of(&template, "TelemetryBatchFunction").get("TELEMETRY_LAYOUT").cloned();
            let want = if pipeline == Pipeline::Packed { "packed" } else { "per-node" };
            assert_eq!(
                layout.as_deref(),
                Some(want),
                "{blueprint} {pipeline:?}: the layout the consumer was driven with"
            );
        }
    }
    assert!(problems.is_empty(), "IAM and the handlers' calls differ:{problems}");
}

/// Negative control: a grant removed from a copy of the template is reported as a call not granted, and a grant
/// added as never called; the Lambda service's own grants are accepted only on their own resources.
#[tokio::test]
async fn a_removed_or_an_extra_grant_is_reported() {
    let template = backend("smart-home");
    let recorded = drive(&template, false).await;
    let mut copy = template.clone();
    let statements = copy["Resources"]["ApiRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        .as_array_mut()
        .unwrap();
    statements.retain(|s| s["Sid"] != "Shadows");
    statements.push(json!({"Sid": "Extra", "Effect": "Allow", "Action": ["dynamodb:Scan", "logs:PutLogEvents"],
        "Resource": [{"Fn::GetAtt": ["UsersTable", "Arn"]}]}));
    let (_, d) = drift(&copy, &recorded, "api");
    let not_granted: Vec<String> = d.not_granted.iter().map(ToString::to_string).collect();
    assert!(not_granted.iter().any(|c| c.starts_with("iot:GetThingShadow on thing/SN-")), "{not_granted:?}");
    assert!(not_granted.iter().any(|c| c.starts_with("iot:UpdateThingShadow on thing/SN-")), "{not_granted:?}");
    let unused: Vec<String> = d.never_called.iter().map(|g| g.action.to_string()).collect();
    assert!(unused.contains(&"dynamodb:Scan on UsersTable".to_string()), "{unused:?}");
    assert!(unused.contains(&"logs:PutLogEvents on UsersTable".to_string()), "{unused:?}");
}

/// Negative control for the tenant key: without its `kms:Decrypt` the API's table calls (and its environment) are
/// not granted; a `kms:GenerateDataKey` for a function that sends to no encrypted queue is never used.
#[tokio::test]
async fn a_missing_or_an_unused_key_grant_is_reported() {
    let template = backend_with("smart-home", rainmaker_core::config::Kms::CustomerManaged);
    let recorded = drive(&template, false).await;
    let (_, d) = drift(&template, &recorded, "api");
    assert!(d.is_empty(), "{d:?}");
    let mut copy = template.clone();
    let statements = copy["Resources"]["ApiRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        .as_array_mut()
        .unwrap();
    let key = statements.iter_mut().find(|s| s["Sid"] == "TenantKey").expect("the api role's key statement");
    key["Action"] = json!(["kms:GenerateDataKey"]);
    let (_, d) = drift(&copy, &recorded, "api");
    let not_granted: Vec<String> = d.not_granted.iter().map(ToString::to_string).collect();
    assert_eq!(not_granted, ["kms:Decrypt on TenantKey"]);
    let unused: Vec<String> = d.never_called.iter().map(|g| g.action.to_string()).collect();
    assert_eq!(unused, ["kms:GenerateDataKey on TenantKey"]);
}

/// Negative control for the consumer: its stream reads granted on another stream leave the mapping's reads of its
/// own stream not granted (and the misplaced ones unused); a Kinesis action nothing uses is unused.
#[tokio::test]
async fn the_consumer_role_grants_the_stream_reads_on_its_stream_only() {
    use rainmaker_core::config::{Kms, Pipeline};
    let template = backend_of("smart-home", Kms::CustomerManaged, Pipeline::Batched);
    let recorded = drive(&template, false).await;
    let (calls, d) = drift(&template, &recorded, "telemetry-batch");
    assert!(d.is_empty(), "{d:?}");
    // the stream's key and the queue's key are implied by the mapping
    let implied: Vec<String> = calls.iter().filter(|c| c.action.starts_with("kms:")).map(ToString::to_string).collect();
    assert_eq!(implied, ["kms:Decrypt on TenantKey", "kms:GenerateDataKey on TenantKey"], "{implied:?}");
    let mut copy = template.clone();
    let statements = copy["Resources"]["TelemetryBatchRole"]["Properties"]["Policies"][0]["PolicyDocument"]
        ["Statement"]
        .as_array_mut()
        .unwrap();
    let read = statements.iter_mut().find(|s| s["Sid"] == "ReadTelemetryStream").expect("the stream statement");
    read["Resource"] = json!([{"Fn::GetAtt": ["OtherStream", "Arn"]}]);
    statements.push(json!({"Sid": "Extra", "Effect": "Allow", "Action": ["kinesis:PutRecord"],
        "Resource": [{"Fn::GetAtt": ["TelemetryStream", "Arn"]}]}));
    let (_, d) = drift(&copy, &recorded, "telemetry-batch");
    let not_granted: Vec<String> = d.not_granted.iter().map(ToString::to_string).collect();
    assert_eq!(not_granted.len(), 5, "{not_granted:?}");
    assert!(not_granted.contains(&"kinesis:GetShardIterator on TelemetryStream".to_string()), "{not_granted:?}");
    let unused: Vec<String> = d.never_called.iter().map(|g| g.action.to_string()).collect();
    assert!(unused.contains(&"kinesis:GetRecords on OtherStream".to_string()), "{unused:?}");
    assert!(unused.contains(&"kinesis:PutRecord on TelemetryStream".to_string()), "{unused:?}");
}
