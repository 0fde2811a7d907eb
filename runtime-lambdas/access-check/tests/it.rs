//! Every runtime handler against moto with a call-recording HTTP client: the DynamoDB calls it really sends for
//! each event must be exactly the calls `rainmaker_model::access::DECLARED` declares, and the log lines it writes
//! (tracing through the production subscriber, EMF) the lines and bytes `rainmaker_model::log_volume` declares
//! within max(10 %, 32 B) (both are what `estimate` prices).

use access_check::{calls, declared_calls, declared_calls_for, Recorder};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use rainmaker_model::access::{declared, Event, DECLARED};
use rainmaker_model::{attr, TableNames};
use rainmaker_test_support::{create_tables, unique_prefix, MotoServer};
use serde_json::{json, Value};
use std::collections::HashSet;

#[path = "it/iam.rs"]
mod iam;
#[path = "it/logs.rs"]
mod logs;

const USER: &str = "7d4c8f3e-1b2a-4c5d-9e6f-0a1b2c3d4e5f";
const OTHER: &str = "0b0b0b0b-0000-4000-8000-000000000002";

fn fixture(path: &str) -> Value {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    serde_json::from_str(&std::fs::read_to_string(format!("{dir}/{path}")).unwrap()).unwrap()
}

fn api_request(method: &str, path: &str, body: Option<Value>) -> Value {
    let mut ev = fixture("api/tests/fixtures/apigw-proxy-request.json");
    ev["httpMethod"] = json!(method);
    ev["path"] = json!(path);
    ev["requestContext"]["httpMethod"] = json!(method);
    ev["requestContext"]["path"] = json!(format!("/prod{path}"));
    ev["requestContext"]["authorizer"]["claims"]["sub"] = json!(USER);
    ev["body"] = body.map(|b| json!(b.to_string())).unwrap_or(Value::Null);
    ev
}

struct Check {
    tables: TableNames,
    rec: Recorder,
    seen: HashSet<Event>,
    /// Log output measured per event (the first run of each event).
    logged: Vec<(Event, rainmaker_model::log_volume::Written)>,
}

/// A Kinesis event as Lambda's event source mapping sends it (the AWS event reference's shape,
/// `telemetry-batch/tests/fixtures/kinesis-event.json`): one record per (partition key, data), sequence numbers
/// ascending, the data base64-encoded by `aws_lambda_events`.
pub(crate) fn kinesis_event(records: &[(&str, Vec<u8>)]) -> Value {
    use aws_lambda_events::event::kinesis::KinesisEvent;
    let mut ev: KinesisEvent =
        serde_json::from_value(fixture("telemetry-batch/tests/fixtures/kinesis-event.json")).unwrap();
    let template = ev.records[0].clone();
    ev.records = records
        .iter()
        .enumerate()
        .map(|(i, (key, data))| {
            let mut r = template.clone();
            let seq = format!("4959033827149025660855969253836157109592157598913658{:04}", i);
            r.kinesis.partition_key = key.to_string();
            r.kinesis.data.0 = data.clone();
            r.event_id = Some(format!("shardId-000000000006:{seq}"));
            r.kinesis.sequence_number = seq;
            r
        })
        .collect();
    serde_json::to_value(ev).unwrap()
}

impl Check {
    /// The calls recorded since the last check must be the declaration of `event` (with `readings` readings).
    fn expect(&mut self, event: Event, readings: usize) {
        self.expect_items(event, readings, 1)
    }

    /// ... with `readings` readings in `items` items of the batched layout.
    fn expect_items(&mut self, event: Event, readings: usize, items: usize) {
        let got = calls(&self.rec.take(), &self.tables);
        let want = declared_calls_for(declared(event).expect("declared").accesses, readings, items);
        assert_eq!(got, want, "{event:?}: the calls the handler sends (left) differ from access.rs (right)");
        let logged = access_check::log_volume::check(event).unwrap_or_else(|e| panic!("{e}"));
        if self.seen.insert(event) {
            self.logged.push((event, logged));
        }
    }
}

#[tokio::test]
async fn every_handler_makes_exactly_its_declared_calls() {
    let moto = MotoServer::shared();
    let base = moto.sdk_config().await;
    let ddb = Client::new(&base);
    let prefix = unique_prefix("access");
    let tables = create_tables(&ddb, &prefix).await;
    let (sdk, rec) = Recorder::wrap(&base);
    let mut c = Check { tables: tables.clone(), rec, seen: HashSet::new(), logged: Vec::new() };
    let serial = "SN-424242";
    moto.create_thing(serial);

    // Provisioning (the hook claims an allow-listed serial).
    let key = rainmaker_model::device_secret::TenantKey::from_secret_string(&"a".repeat(64)).unwrap();
    let mut ev = fixture("provisioning-hook/tests/fixtures/pre-provisioning-hook.json");
    ev["parameters"]["SerialNumber"] = json!(serial);
    let secret = ev["parameters"]["DeviceSecret"].as_str().unwrap().to_string();
    ddb.put_item()
        .table_name(&tables.serial_allowlist)
        .item(attr::SERIAL, AttributeValue::S(serial.into()))
        .item(attr::PROVISIONED, AttributeValue::Bool(false))
        .item(attr::SECRET_HMAC, AttributeValue::S(rainmaker_model::device_secret::secret_hmac(&key, serial, &secret)))
        .send()
        .await
        .unwrap();
    access_check::log_volume::start_counting();
    let hook = provisioning_hook::Hook::new(&sdk, tables.clone(), "SN-[0-9]{6}", key).unwrap();
    let out = serde_json::to_value(hook.handle(ev).await).unwrap();
    assert_eq!(out["allowProvisioning"], true, "{out}");
    c.expect(Event::Provisioning, 1);

    // Binding: the app asks for a code, the device confirms it.
    let api = api::Api::new(&sdk, tables.clone(), api::Settings::default(), Some("iot-data.invalid"));
    let call = |method: &'static str, path: String, body: Option<Value>| {
        let api = &api;
        async move {
            let resp = api.handle(api_request(method, &path, body)).await;
            let body: Value = serde_json::from_str(resp["body"].as_str().unwrap()).unwrap();
            assert!(resp["statusCode"].as_i64().unwrap() < 300, "{method} {path}: {body}");
            body
        }
    };
    let body = call("POST", "/nodes/bind".into(), Some(json!({"node_id": serial}))).await;
    c.expect(Event::BindStart, 1);
    let mut ev = fixture("binding-confirm/tests/fixtures/binding-rule-event.json");
    ev["binding_code"] = body["binding_code"].clone();
    ev["node_id"] = json!(serial);
    let hook_cert = fixture("provisioning-hook/tests/fixtures/pre-provisioning-hook.json")["certificateId"].clone();
    ev["principal"] = hook_cert.clone();
    let confirm = binding_confirm::Confirm::new(&sdk, tables.clone(), "access");
    let out = serde_json::to_value(confirm.handle(ev).await.unwrap()).unwrap();
    assert_eq!(out["status"], "bound", "{out}");
    c.expect(Event::BindConfirm, 1);

    // The REST routes the estimate prices, and sharing.
    call("GET", "/nodes".into(), None).await;
    c.expect(Event::ListNodes, 1);
    call("GET", format!("/nodes/{serial}"), None).await;
    c.expect(Event::GetNode, 1);
    call("PUT", format!("/nodes/{serial}/params"), Some(json!({"Power": true}))).await;
    c.expect(Event::PutParams, 1);
    call("GET", format!("/nodes/{serial}/params"), None).await;
    c.expect(Event::GetParams, 1);
    call("GET", format!("/nodes/{serial}/readings"), None).await;
    c.expect(Event::GetReadings, 1);
    call("POST", format!("/nodes/{serial}/shares"), Some(json!({"user_id": OTHER}))).await;
    c.expect(Event::Share, 1);
    call("DELETE", format!("/nodes/{serial}/shares/{OTHER}"), None).await;
    c.expect(Event::Unshare, 1);

    // Presence and telemetry on the bound node (one reading, then a batch of three).
    let presence = presence::Presence::new(&sdk, &tables);
    let mut ev = fixture("presence/tests/fixtures/connected.json");
    ev["clientId"] = json!(serial);
    ev["principalIdentifier"] = hook_cert;
    ev["timestamp"] = json!(rainmaker_model::time::now_ms());
    presence.handle(ev).await.unwrap();
    c.expect(Event::Presence, 1);
    let ingest = telemetry_ingest::Ingest::new(&sdk, tables.clone(), telemetry_ingest::Limits::default());
    let now = rainmaker_model::time::now_ms();
    let mut ev = fixture("telemetry-ingest/tests/fixtures/rule-event-single.json");
    (ev["node_id"], ev["received_at"], ev["ts"]) = (json!(serial), json!(now), json!(now - 1000));
    assert_eq!(ingest.handle(ev).await.unwrap().accepted, 1);
    c.expect(Event::Telemetry, 1);
    let mut ev = fixture("telemetry-ingest/tests/fixtures/rule-event-batch.json");
    (ev["node_id"], ev["received_at"]) = (json!(serial), json!(now));
    for (i, r) in ev["readings"].as_array_mut().unwrap().iter_mut().enumerate() {
        r["ts"] = json!(now - 10_000 - i as i64);
    }
    assert_eq!(ingest.handle(ev).await.unwrap().accepted, 3);
    c.expect(Event::Telemetry, 3);

    // The batched pipeline: a batch of five records from two nodes (one of them a batch of three readings) is
    // two items; the same batch again finds both (the failed conditions return the items: still two calls).
    let batch = telemetry_batch::Consumer::new(&sdk, tables.clone(), telemetry_ingest::Limits::default());
    let rule = |node: &str, payload: Value| {
        let mut p = payload;
        (p["node_id"], p["received_at"], p["principal"]) = (json!(node), json!(now), json!("cert"));
        p.to_string().into_bytes()
    };
    let records = [
        (serial, rule(serial, json!({"ts": now - 5000, "params": {"Power": true}}))),
        ("SN-424243", rule("SN-424243", json!({"ts": now - 5000, "params": {"Power": true}}))),
        (serial, rule(serial, json!({"ts": now - 4000, "msg_id": "m", "params": {"Power": false}}))),
        (
            serial,
            rule(
                serial,
                json!({"readings": [{"ts": now - 3000, "params": {"T": 1}},
            {"ts": now - 2000, "params": {"T": 2}}, {"ts": now - 1000, "params": {"T": 3}}]}),
            ),
        ),
    ];
    let out = batch.process(kinesis_event(&records)).await;
    assert_eq!((out.accepted, out.puts), (6, 2), "{out:?}");
    c.expect_items(Event::TelemetryBatch, 6, 2);
    let again = batch.process(kinesis_event(&records)).await;
    assert_eq!((again.accepted, again.duplicates, again.puts), (0, 6, 2), "{again:?}");
    c.expect_items(Event::TelemetryBatch, 6, 2);

    // The packed pipeline: the same records are one item per bucket of their nodes (the two nodes' buckets); the
    // same batch again finds each item its own (a redelivery: still one call per item).
    let packed = telemetry_batch::Consumer::new(&sdk, tables.clone(), telemetry_ingest::Limits::default())
        .with_layout(telemetry_batch::Layout::Packed);
    let buckets: HashSet<u32> =
        [serial, "SN-424243"].into_iter().map(rainmaker_model::telemetry::packed::bucket_of).collect();
    let out = packed.process(kinesis_event(&records)).await;
    assert_eq!((out.accepted, out.puts), (6, buckets.len()), "{out:?}");
    c.expect_items(Event::TelemetryPacked, 6, buckets.len());
    let again = packed.process(kinesis_event(&records)).await;
    assert_eq!((again.accepted, again.duplicates, again.puts), (0, 6, buckets.len()), "{again:?}");
    c.expect_items(Event::TelemetryPacked, 6, buckets.len());

    let missing: Vec<_> = DECLARED.iter().map(|d| d.event).filter(|e| !c.seen.contains(e)).collect();
    assert!(missing.is_empty(), "declared events no handler was run for: {missing:?}");
    for (event, w) in &c.logged {
        eprintln!("logged {event:?}: {} lines, {} bytes", w.lines, w.bytes);
    }
}

/// The recorder is not blind: a call the declaration does not have makes the comparison fail.
#[tokio::test]
async fn an_undeclared_call_is_caught() {
    let base = MotoServer::shared().sdk_config().await;
    let tables = create_tables(&Client::new(&base), &unique_prefix("access-neg")).await;
    let (sdk, rec) = Recorder::wrap(&base);
    let presence = presence::Presence::new(&sdk, &tables);
    let mut ev = fixture("presence/tests/fixtures/connected.json");
    ev["timestamp"] = json!(rainmaker_model::time::now_ms());
    presence.handle(ev).await.unwrap();
    Client::new(&sdk)
        .get_item()
        .table_name(&tables.nodes)
        .key(attr::NODE_ID, AttributeValue::S("SN-000123".into()))
        .send()
        .await
        .unwrap();
    let got = calls(&rec.take(), &tables);
    let want = declared_calls(declared(Event::Presence).unwrap().accesses, 1);
    assert_eq!(got.len(), want.len() + 1, "{got:?}");
    assert_ne!(got, want);
}
