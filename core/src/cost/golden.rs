//! Engine-level tests: the thesis reference, a hand-checked small case, golden tables of the fixture backend,
//! sweeps, comparisons, unpriced resources and usage errors.

use super::report::{render, Format, View};
use super::*;

const BACKEND: &str = include_str!("testdata/backend.yaml");
const BOOTSTRAP: &str = include_str!("testdata/bootstrap.yaml");
const THESIS: &str = include_str!("testdata/thesis.yaml");
const THESIS_USAGE: &str = include_str!("testdata/thesis-usage.yaml");

fn fixture() -> Resources {
    let mut r = Resources::default();
    r.add("bootstrap", "bootstrap.yaml", BOOTSTRAP).unwrap();
    r.add("backend", "backend.yaml", BACKEND).unwrap();
    r
}

fn us() -> PriceTable {
    PriceTable::embedded("us-east-1").unwrap()
}

fn run(res: &Resources, usage: &Usage, devices: u64, free_tier: FreeTierMode) -> Estimate {
    estimate(res, usage, &us(), Options { devices, free_tier }).unwrap()
}

fn close(got: f64, want: f64, what: &str) {
    assert!((got - want).abs() <= 1e-6_f64.max(want.abs() * 1e-9), "{what}: got {got}, want {want}");
}

/// sources.md: 3.6M devices × 730 messages, two SQS queues and two Lambda invocations per message, 128 MB,
/// billed 200 ms, Lambda free tier applied: SQS $2,102.40 and Lambda $3,234.34 a month. The thesis subtracted
/// the Lambda free tier but not the SQS one, so its SQS row is our `--free-tier none` figure and its Lambda row
/// our `--free-tier always` one (with the free tier, SQS is $2,102.00).
#[test]
fn reproduces_the_thesis_sqs_and_lambda_rows() {
    let mut res = Resources::default();
    res.add("thesis", "thesis.yaml", THESIS).unwrap();
    let usage = Usage::parse("thesis-usage.yaml", THESIS_USAGE).unwrap();
    let always = run(&res, &usage, 3_600_000, FreeTierMode::Always);
    let none = run(&res, &usage, 3_600_000, FreeTierMode::None);
    let cents = |x: f64| (x * 100.0).round() / 100.0;
    assert_eq!(cents(always.service("AWS Lambda")), 3234.34);
    assert_eq!(cents(none.service("Amazon SQS")), 2102.40);
    assert_eq!(cents(always.service("Amazon SQS")), 2102.00);
    assert_eq!(cents(none.service("AWS Lambda")), 3241.20);
    // The parts: 5.256B requests; 5.256B × 0.2 s × 0.125 GB = 131.4M GB-s.
    let f = always.resource("IngestFunction").unwrap();
    close(f.components[0].quantity, 2_628_000_000.0, "requests of one function");
    close(f.components[1].quantity, 65_700_000.0, "GB-s of one function");
    assert!(always.unpriced.is_empty() && always.free.is_empty());
}

/// One device profile, every component, checked by hand (free tier off, 1,000 devices, arm64 128 MB, 10 ms; no
/// `GET /nodes/{id}/readings` calls: `golden_reads` checks those).
#[test]
fn hand_checked_small_case() {
    let usage = Usage::parse(
        "small.yaml",
        "version: 1
device: {connected_minutes_per_day: 1440, reconnects_per_day: 1, telemetry_per_hour: 2, telemetry_bytes: 600,
  basic_ingest: true, downlink_per_day: 4, downlink_bytes: 6000, shadow_updates_per_day: 2, shadow_bytes: 1500}
fleet: {new_devices_percent_per_month: 10, rule_error_percent: 0.1}
users: {users_per_device: 2, monthly_active_percent: 50, api_calls_per_user_per_day: 3, api_shadow_percent: 50,
  api_readings_percent: 0}
resource_type_default_usage:
  AWS::Lambda::Function: {request_duration_ms: 10}
",
    )
    .unwrap();
    let e = run(&fixture(), &usage, 1000, FreeTierMode::None);
    let q = |id: &str, i: usize| e.resource(id).unwrap().components[i].quantity;
    // A month is 730 h = 30.41667 days.
    close(q("DeviceFleet", 0), 43_800_000.0, "connection minutes: 1000 × 1440 × 30.41667");
    close(q("DeviceFleet", 1), 0.0, "telemetry on Basic Ingest is not metered");
    close(
        q("DeviceFleet", 2),
        243_333.333333,
        "downlink: 1000 × 4 × 30.41667 × 2 (6000 + 60 B topic = two 5 KB units)",
    );
    // API calls 1000 × 2 users × 3 × 30.41667 = 182,500, half of them on the shadow = 91,250: ⅔ reads (60,833.33),
    // ⅓ updates (30,416.67). Device updates = 1000 × 2 × 30.41667 + 30,416.67 (the reports answering app updates)
    // = 91,250; messages: 91,250 inbound + 91,250 update/accepted + 30,416.67 deltas = 212,916.67.
    close(q("DeviceFleet", 3), 212_916.666667, "shadow messages");
    close(q("DeviceFleet", 4), 30_416.666667 * 4.0, "CONNECT + 3 SUBSCRIBE per reconnect");
    close(q("DeviceFleet", 5), 121_666.666667 + 91_250.0 + 30_416.666667, "QoS 1 PUBACKs of every delivery");
    close(q("DeviceFleet", 6), 60_833.333333, "2 lifecycle events per reconnect");
    close(q("DeviceFleet", 7), 365_000.0, "shadow operations: (91,250 + 60,833.33 + 30,416.67) × 2 (1500 B)");
    close(q("ProvisioningTemplate", 0), 400.0, "10% new devices × 4 messages");
    close(q("TelemetryRule", 0), 1_460_000.0, "telemetry: 1000 × 2 × 730");
    close(q("PresenceRule", 0), 60_833.333333, "presence: 1000 × 1 reconnect × 2 events × 30.41667");
    close(q("BindingRule", 0), 100.0, "one binding per new device");
    close(q("ApiFunction", 0), 182_700.0, "API calls + 100 POST /nodes/bind + 100 binding confirmations");
    close(q("TelemetryIngestFunction", 1), 1_825.0, "GB-s: 1.46M × 0.01 s × 0.125 GB");
    // Writes (rainmaker_model::access): telemetry 1.46M (750 B item = 1 WRU, nothing else per message: the
    // node's last-seen time is derived on read); nodes: presence 60,833.33 × 2 (by-owner GSI), binding
    // confirmation 100 × 2 (GSI) × 2 (transaction), provisioning 100 × 2 (transaction, no owner yet).
    close(q("TelemetryTable", 0), 1_460_000.0, "telemetry writes");
    close(q("NodesTable", 0), 121_666.666667 + 400.0 + 200.0, "nodes writes");
    // user_nodes reads: the API mix at 50% shadow: ¼ GET /nodes (query, eventual: ½), ¼ GET /nodes/{id}, ⅓ GET
    // params, ⅙ PUT params (each a strong authorization read: 1) = 182,500 × 0.875.
    close(q("UserNodesTable", 1), 159_687.5, "user_nodes reads");
    close(q("TelemetryTable", 2), 1.005828381, "1.46M items × 750 B × 30 of 30.41667 days, in GiB");
    close(q("DeadLetterQueue", 0), 1_520.933333, "0.1% of the 1,520,933 rule actions");
    close(q("Api", 0), 182_600.0, "API requests (+ one bind per new device)");
    close(q("WebAcl", 2), 182_600.0, "inspected by the web ACL");
    close(q("UserPool", 0), 1_000.0, "MAU: 1000 × 2 × 50%");
    // Costs per service (USD), from the quantities above and the us-east-1 prices.
    // Messages: 243,333.33 + 212,916.67 + 121,666.67 + 243,333.33 + 60,833.33 + 400 (provisioning) = 882,483.33.
    close(
        e.service("AWS IoT Core"),
        3.504 + 882_483.333333e-6 + 365_000.0 * 1.25e-6 + 0.000375 + 0.438 + 0.01825 + 0.00003,
        "IoT: connectivity + messages + shadow ops + registry + rules (telemetry, presence, binding)",
    );
    // One more million telemetry messages (marginal, from doubling the rate): rule 0.15 + action 0.15, Lambda
    // request 0.20 + 1M × 0.01 s × 0.125 GB × $0.0000133334, 680 log bytes (START/END/REPORT 264 B + the
    // function's "telemetry stored" and EMF lines, 286 B measured by access-check, + 26 B per each of the 5 log
    // events) at $0.50/GB ingested + 30 days stored
    // at 15% compression and $0.03 a GB-month, 1 WRU telemetry (no node write) at $0.625,
    // 750 B × 30/30.41667 days stored at $0.25 + $0.20 (PITR) a GB-month,
    // 0.1% to the dead-letter queue at $0.40 per 1M; Basic Ingest: no messaging.
    let u = e.unit_costs.as_ref().expect("telemetry has unit costs");
    let per_million = 0.30
        + 0.20
        + 1e6 * 0.01 * 0.125 * 0.0000133334
        + 1e6 * (264.0 + 286.0 + 5.0 * 26.0) / flow::GB * (0.50 + 0.03 * 30.0 / usage::MONTH_DAYS * 0.15)
        + 0.625
        + 1e6 * 750.0 * (30.0 / usage::MONTH_DAYS) / flow::GB * 0.45
        + 0.001 * 0.40;
    close(u.per_million_device_messages_usd, per_million, "marginal cost of 1M telemetry messages");
    close(u.per_million_readings_usd, per_million, "one reading a message");
    close(u.telemetry_fixed_monthly_usd, 0.0, "the direct path has no fixed cost");
    let requests = 1_460_000.0 + 60_833.333333 + 182_700.0 + 100.0;
    close(
        e.service("AWS Lambda"),
        requests * 0.2e-6 + requests * 0.01 * 0.125 * 0.0000133334,
        "Lambda: 1,703,633 requests + GB-s arm64",
    );
    // WRU: telemetry 1,460,000 + nodes 122,266.67 + user_nodes 100 × 2 × 2 + binding_requests 100 × 2 (put,
    // by-user) + 100 × 2 × 2 (delete in the transaction) + users 100 (bind start) + 100 × 2 (the owner's ownership
    // window, in the bind's transaction) + allow-list 100 × 2 = 1,583,766.67.
    // RRU: user_nodes 159,687.5 + nodes 45,625 × ½ (batch get) + 136,875 (strong: the node read of the
    // authorization, with its ownership epoch, on GET /nodes/{id}, GET and PUT params) + binding_requests 100 × ½
    // (bind start: the caller's outstanding codes on `by-user`, eventually consistent) + 100 (strong) + the
    // allow-list entry the hook judges, 100 (strong) + telemetry 91,250 × ½ (the newest reading of GET /nodes and
    // GET /nodes/{id}: one eventual Query of a 750 B item each) = 365,250.
    close(
        e.service("Amazon DynamoDB"),
        1_583_766.666667 * 0.625e-6 + 365_250.0 * 0.125e-6 + 0.453482467,
        "DynamoDB: WRU + RRU + storage and PITR",
    );
    close(e.service("Amazon SQS"), 0.000608373, "SQS");
    close(
        e.service("Amazon CloudWatch Logs"),
        // Metered bytes per invocation: START/END/REPORT 264 + 3 × 26 = 342, plus each function's own lines as
        // access-check measures them (+ 26 per line): telemetry 286 + 2 × 26, presence 94 + 26, provisioning
        // 124 + 26, the REST API nothing, binding confirmations (on the fixture's ApiFunction) 263 + 2 × 26;
        // ingested at $0.50/GB, 30 days kept at 15 %.
        (1_460_000.0 * (342.0 + 338.0)
            + 60_833.333333 * (342.0 + 120.0)
            + 100.0 * (342.0 + 150.0)
            + 182_700.0 * 342.0
            + 100.0 * 315.0)
            / flow::GB
            * (0.50 + 0.03 * 30.0 / usage::MONTH_DAYS * 0.15),
        "logs: measured bytes per invocation",
    );
    close(e.service("Amazon API Gateway"), 182_600.0 * 3.5e-6, "API Gateway");
    close(e.service("AWS WAF"), 7.0 + 182_600.0 * 0.6e-6, "WAF: $5 + 2 rules + requests");
    close(e.service("Amazon Cognito"), 15.0, "Cognito Essentials");
    close(e.service("Amazon S3"), 0.0032, "S3 defaults");
    // The API's responses: 182,600 × 1,024 B = 0.174 GiB out to the internet at $0.09 (free tier off).
    close(e.service("AWS Data Transfer"), 182_600.0 * 1024.0 / flow::GB * 0.09, "data transfer out");
    close(q("Api", 1), 182_600.0 * 1024.0 / flow::GB, "response bytes in GB");
    // EMF custom metrics, one per metric name and function (rainmaker_model::emf::METRICS): telemetry-ingest 3,
    // presence 1, provisioning-hook 1, and the fixture's ApiFunction runs the api (1) and binding confirmations (3).
    let emf = |id: &str| {
        let r = e.resource(id).unwrap();
        r.components.iter().find(|c| c.price_id == "cloudwatch.custom_metrics").map_or(0.0, |c| c.quantity)
    };
    assert_eq!(
        ["TelemetryIngestFunction", "PresenceFunction", "ProvisioningHookFunction", "ApiFunction"].map(emf),
        [3.0, 1.0, 1.0, 4.0]
    );
    close(e.service("Amazon CloudWatch"), 9.0 * 0.30, "9 custom metrics at $0.30 (the fixture has no alarms)");
    let sum: f64 = e.services.iter().map(|s| s.monthly_usd).sum();
    close(e.total_monthly_usd, sum, "total");
    close(e.per_device_monthly_usd, sum / 1000.0, "per device");
}

#[test]
fn golden_fixture_table() {
    let e = run(&fixture(), &Usage::default(), 3_600_000, FreeTierMode::Always);
    insta::assert_snapshot!("fixture_3600000_table", render(&View::One(&e), Format::Table));
}

#[test]
fn golden_sweep_and_compare() {
    let res = fixture();
    let es = sweep(&res, &Usage::default(), &us(), &[1000, 10_000, 180_000, 360_000, 3_600_000], FreeTierMode::Always)
        .unwrap();
    insta::assert_snapshot!("fixture_sweep_markdown", render(&View::Sweep(&es), Format::Markdown));
    let batched =
        Usage::parse("batched.yaml", "version: 1\ndevice: {telemetry_per_hour: 0.25, telemetry_bytes: 800}\n").unwrap();
    let other = run(&res, &batched, 3_600_000, FreeTierMode::Always);
    let view = View::Compare { base: &es[4], other: &other, base_name: "defaults", other_name: "batched.yaml" };
    insta::assert_snapshot!("fixture_compare_table", render(&view, Format::Table));
    assert!(other.total_monthly_usd < es[4].total_monthly_usd, "batching telemetry saves money");
}

#[test]
fn costs_grow_with_devices_and_per_device_falls_without_free_tier() {
    let es = sweep(&fixture(), &Usage::default(), &us(), &[1000, 100_000, 10_000_000], FreeTierMode::None).unwrap();
    assert!(es.windows(2).all(|w| w[0].total_monthly_usd < w[1].total_monthly_usd));
    // Without the free tier, fixed costs (web ACL) spread over more devices and tiers only lower unit prices.
    assert!(es.windows(2).all(|w| w[0].per_device_monthly_usd > w[1].per_device_monthly_usd));
    // With it, small fleets are cheaper per device (10,000 free Cognito MAU cover 1,000 devices).
    let free = sweep(&fixture(), &Usage::default(), &us(), &[1000, 100_000], FreeTierMode::Always).unwrap();
    assert!(free[0].per_device_monthly_usd < free[1].per_device_monthly_usd);
}

#[test]
fn free_tier_modes_order_the_totals() {
    let res = fixture();
    let t = |m| run(&res, &Usage::default(), 1000, m).total_monthly_usd;
    let (none, always, first) = (t(FreeTierMode::None), t(FreeTierMode::Always), t(FreeTierMode::FirstYear));
    assert!(none > always && always > first, "{none} > {always} > {first}");
}

#[test]
fn unknown_types_are_listed_as_unpriced_and_warned() {
    let mut res = fixture();
    res.add("extra", "extra.json", r#"{"Resources": {"Box": {"Type": "AWS::EC2::Instance"}}}"#).unwrap();
    let e = run(&res, &Usage::default(), 10, FreeTierMode::Always);
    assert_eq!(e.unpriced.len(), 1);
    assert_eq!((e.unpriced[0].logical_id.as_str(), e.unpriced[0].type_name.as_str()), ("Box", "AWS::EC2::Instance"));
    assert!(e.warnings.iter().any(|w| w == "Box (AWS::EC2::Instance) is not priced: the total leaves it out"));
}

#[test]
fn overrides_flow_downstream() {
    let res = fixture();
    let base = run(&res, &Usage::default(), 1000, FreeTierMode::None);
    let u = Usage::parse("o.yaml", "version: 1\nresource_usage:\n  TelemetryIngestFunction: {monthly_requests: 10}\n")
        .unwrap();
    let e = run(&res, &u, 1000, FreeTierMode::None);
    close(e.resource("TelemetryIngestFunction").unwrap().components[0].quantity, 10.0, "override");
    close(e.resource("TelemetryTable").unwrap().components[0].quantity, 10.0, "writes follow the function's requests");
    // The rule still fires for every message: the override is on the function only.
    let rule = |e: &Estimate| e.resource("TelemetryRule").unwrap().components[0].quantity;
    close(rule(&e), rule(&base), "rule unchanged");
}

#[test]
fn usage_errors_name_the_key_or_resource() {
    let res = fixture();
    let err = |text: &str| {
        let u = Usage::parse("u.yaml", text).unwrap();
        estimate(&res, &u, &us(), Options { devices: 1, free_tier: FreeTierMode::Always }).unwrap_err().to_string()
    };
    assert_eq!(
        err("version: 1\nresource_usage:\n  Nope: {monthly_requests: 1}\n"),
        "u.yaml: resource_usage names `Nope`, which is not a resource of the template"
    );
    assert_eq!(
        err("version: 1\nresource_usage:\n  ApiFunction: {monthly_request: 1}\n"),
        "u.yaml: unknown usage key `monthly_request` for `resource_usage.ApiFunction` (AWS::Lambda::Function)"
    );
    assert_eq!(
        err("version: 1\nresource_type_default_usage:\n  AWS::EC2::Instance: {hours: 1}\n"),
        "u.yaml: resource_type_default_usage names `AWS::EC2::Instance`, which has no usage keys"
    );
    let ok = Usage::parse("u.yaml", "version: 1\nresource_usage:\n  DeviceFleet: {monthly_messages_per_device: 10}\n")
        .unwrap();
    let e = estimate(&res, &ok, &us(), Options { devices: 5, free_tier: FreeTierMode::None }).unwrap();
    close(e.resource("DeviceFleet").unwrap().components[1].quantity, 50.0, "per-device override × 5");
}

#[test]
fn json_has_the_documented_fields() {
    let e = run(&fixture(), &Usage::default(), 100, FreeTierMode::Always);
    let v: serde_json::Value = serde_json::from_str(&render(&View::One(&e), Format::Json)).unwrap();
    for k in [
        "total_monthly_usd",
        "per_device_monthly_usd",
        "devices",
        "region",
        "prices_as_of",
        "services",
        "resources",
        "unpriced",
        "warnings",
    ] {
        assert!(v.get(k).is_some(), "missing {k}");
    }
    let c = &v["resources"][0]["components"][0];
    for k in ["name", "quantity", "unit", "unit_price_usd", "monthly_usd", "price"] {
        assert!(c.get(k).is_some(), "component misses {k}");
    }
    assert_eq!(v["resources"][1]["logical_id"], "ArtifactsBucket");
    assert_eq!(v["resources"][1]["type"], "AWS::S3::Bucket");
}

fn blueprint(name: &str) -> (Resources, Usage) {
    let cfg = crate::config::blueprint_config(name, "acme", "us-east-1").unwrap();
    let mut res = Resources::default();
    for s in crate::template::render(&cfg).unwrap().stacks {
        res.add(&s.name, &s.file_name, &s.body).unwrap();
    }
    let text =
        crate::assets::blueprint_file(name, "usage.yaml").unwrap_or_else(|| panic!("{name} ships no usage.yaml"));
    (res, Usage::parse(&format!("blueprints/{name}/usage.yaml"), text).unwrap())
}

#[test]
fn every_resource_type_of_every_blueprint_is_priced_or_free() {
    let names = crate::assets::blueprint_names();
    assert!(names.len() >= 3, "{names:?}");
    let reg = registry::Registry;
    for name in names {
        let (res, _) = blueprint(name);
        assert!(res.list.len() > 30, "{name}: {} resources", res.list.len());
        for r in &res.list {
            assert!(
                reg.priced(&r.type_name).is_some() || reg.free(&r.type_name).is_some(),
                "{name}: {} ({}) is neither priced nor declared free in cost/registry.rs",
                r.logical_id,
                r.type_name
            );
        }
    }
}

#[test]
fn golden_blueprint_tables() {
    for name in crate::assets::blueprint_names() {
        let (res, usage) = blueprint(name);
        let e = run(&res, &usage, 3_600_000, FreeTierMode::Always);
        assert!(e.unpriced.is_empty(), "{name}: {:?}", e.unpriced);
        // Usage flows all the way: every rule fires, every function runs, every table is written.
        for r in &e.resources {
            let zero = |i: usize| r.components.get(i).is_none_or(|c| c.quantity == 0.0);
            match r.type_name.as_str() {
                "AWS::IoT::TopicRule" | "AWS::Lambda::Function" | "AWS::Logs::LogGroup" => {
                    assert!(!zero(0), "{name}: {} has no usage", r.logical_id)
                }
                _ => {}
            }
        }
        insta::assert_snapshot!(format!("blueprint_{name}_3600000"), render(&View::One(&e), Format::Table));
    }
}

#[test]
fn blueprint_usage_profiles_parse_and_match_their_templates() {
    for name in crate::assets::blueprint_names() {
        let (res, usage) = blueprint(name);
        check_usage(&res, &usage).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(usage.devices.is_some() && usage.description.is_some(), "{name}: devices and description");
    }
}

#[test]
fn docs_list_every_usage_key() {
    let doc = include_str!("../../../docs/estimate.md");
    let mut keys: Vec<&str> = [usage::DEVICE_KEYS, usage::FLEET_KEYS, usage::USER_KEYS]
        .iter()
        .flat_map(|ks| ks.iter().map(|k| k.name))
        .collect();
    let reg = registry::Registry;
    for t in reg.priced_types() {
        keys.extend(reg.keys(t).iter().map(|k| k.name));
    }
    for k in keys {
        assert!(doc.contains(&format!("`{k}`")), "docs/estimate.md does not describe the usage key `{k}`");
    }
}

fn blueprint_with_kms(name: &str) -> (Resources, Usage) {
    let mut cfg = crate::config::blueprint_config(name, "acme", "us-east-1").unwrap();
    cfg.security.kms = crate::config::Kms::CustomerManaged;
    let mut res = Resources::default();
    for s in crate::template::render(&cfg).unwrap().stacks {
        res.add(&s.name, &s.file_name, &s.body).unwrap();
    }
    let (_, usage) = blueprint(name);
    (res, usage)
}

/// `security.kms: customer-managed` at 3.6M smart-home devices: the key's requests recomputed from first principles
/// (kms_requests.rs) and its two lines priced by hand; the rest of the bill is the aws-managed one.
#[test]
fn customer_managed_key_priced_from_what_it_encrypts() {
    let (res, usage) = blueprint_with_kms("smart-home");
    let e = run(&res, &usage, 3_600_000, FreeTierMode::Always);
    assert!(e.unpriced.is_empty(), "{:?}", e.unpriced);
    let (plain_res, _) = blueprint("smart-home");
    let plain = run(&plain_res, &usage, 3_600_000, FreeTierMode::Always);
    // Per function: invocations a month and billed ms (the quantities the Lambda lines were priced from).
    let load = |id: &str| {
        let r = e.resource(id).unwrap();
        (r.usage["monthly_requests"], r.usage["request_duration_ms"])
    };
    let month_s = 730.0 * 3600.0;
    let windows = month_s / 300.0; // 8,760 five-minute windows a month
                                   // The tables each function calls (rainmaker_model::access, by hand): 13 (function, table) pairs.
    let calls = [
        ("ProvisioningHookFunction", 2.0), // allow-list, nodes
        ("TelemetryIngestFunction", 1.0),  // telemetry
        ("PresenceFunction", 1.0),         // nodes
        ("BindingConfirmFunction", 4.0),   // binding requests, nodes, user-nodes, users (ownership window)
        ("ApiFunction", 5.0),              // users, nodes, user-nodes, binding requests, telemetry
    ];
    let (mut dynamodb, mut env) = (0.0, 0.0);
    let mut hook_cold = 0.0;
    for (f, tables) in calls {
        let (n, ms) = load(f);
        let callers = (n * ms / 1000.0 / month_s).ceil().max(1.0); // concurrent environments (Little's law)
        let cold = n.min(callers * 730.0 / 2.0); // environments live ~2 h
        dynamodb += tables * (windows * callers).min(n);
        env += cold;
        if f == "ProvisioningHookFunction" {
            hook_cold = cold; // reads the serial key (Secrets Manager) once per cold start
        }
    }
    let sent = e.resource("DeadLetterQueue").unwrap().usage["monthly_requests"];
    let sqs = 2.0 * sent.min(windows); // GenerateDataKey + Decrypt per 300 s data key, at most per message
    let logs = 7.0 * windows; // seven log groups, each ingesting
    let want = dynamodb + env + hook_cold + sqs + logs;
    let key = e.resource("TenantKey").unwrap();
    close(key.components[1].quantity, want, "KMS requests");
    // $1 for the key, $0.03 per 10,000 requests beyond the 20,000 free ones.
    close(key.monthly_usd, 1.0 + (want - 20_000.0) * 0.03 / 10_000.0, "KMS cost");
    close(e.total_monthly_usd - plain.total_monthly_usd, key.monthly_usd, "nothing else changes");
    eprintln!(
        "smart-home 3.6M: aws-managed ${:.2}, customer-managed ${:.2} (KMS ${:.2}: {want:.0} requests = DynamoDB \
         {dynamodb:.0} + Lambda env {env:.0} + secret {hook_cold:.0} + SQS {sqs:.0} + logs {logs:.0})",
        plain.total_monthly_usd, e.total_monthly_usd, key.monthly_usd
    );
    insta::assert_snapshot!("blueprint_smart-home_customer-managed_3600000", render(&View::One(&e), Format::Table));
}
