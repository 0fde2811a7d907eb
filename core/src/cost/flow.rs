//! How usage flows along the architecture: devices × per-device behaviour → IoT Core (connectivity, messages,
//! shadow) → topic rules (by the traffic that triggers them) → each rule's Lambda and error queue → each function's
//! DynamoDB reads/writes (per event kind, from item sizes) and log bytes → table storage at steady state (TTL) and
//! log storage (retention). The REST API, WAF, Cognito and fleet provisioning hang off users and new devices.
//!
//! The result is *derived* usage per logical id, under the same keys a usage file can set; an explicit
//! `resource_usage` value replaces a derived one and what flows downstream follows it.

use crate::cost::read_flow::{self, ReadingsCall};
use crate::cost::registry::Registry;
use crate::cost::resources::{emf_metrics, metered, ResourceUsage};
use crate::cost::stream_flow::{PARTITION_KEY_BYTES, RULE_OUTPUT_OVERHEAD};
use crate::cost::template::{target, targets, Resource, Resources};
use crate::cost::usage::{Usage, Values, MONTH_DAYS, MONTH_HOURS};
use indexmap::IndexMap;
use rainmaker_model::access::{self, Access, Event, Op, Size};
use rainmaker_model::log_volume;
use serde_json::Value;

/// Logical id of the device fleet (the things fleet provisioning creates; not a template resource).
pub const DEVICE_FLEET: &str = "DeviceFleet";
/// Bytes in the GB AWS bills storage and log data in.
pub const GB: f64 = 1024.0 * 1024.0 * 1024.0;

/// What drives a rule or a function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Traffic {
    Telemetry,
    Presence,
    Binding,
    Api,
    Provisioning,
}

/// Stored bytes per item, by table role (from the runtime's declared size classes, `rainmaker_model::access`).
pub const NODE_ITEM_BYTES: f64 = bytes(Size::Node);
pub const USER_NODE_ITEM_BYTES: f64 = bytes(Size::UserNode);
pub const USER_ITEM_BYTES: f64 = bytes(Size::User);
pub const SERIAL_ITEM_BYTES: f64 = bytes(Size::Serial);
pub const BINDING_ITEM_BYTES: f64 = bytes(Size::BindingRequest);
/// Telemetry item bytes beyond the payload (node id, ts, received_at, expires_at, msg_id, overhead).
pub const TELEMETRY_ITEM_OVERHEAD: f64 = access::TELEMETRY_ITEM_OVERHEAD as f64;
/// Bytes of a presence lifecycle event.
pub const PRESENCE_EVENT_BYTES: f64 = 300.0;
/// Bytes of a binding confirmation.
pub const BINDING_EVENT_BYTES: f64 = 200.0;
/// Bytes of one API access log line (the JSON of `template::ACCESS_LOG_FORMAT` with typical values, ~400, plus
/// CloudWatch's 26 bytes of metering overhead per event), an estimate.
pub const ACCESS_LOG_BYTES: f64 = 450.0;
/// Share of the inspected requests the WAF logs (it keeps only blocked and counted ones), an assumption.
pub const WAF_LOGGED_SHARE: f64 = 0.01;
/// Bytes of one WAF log record (the request's headers and the rule matches), an estimate.
pub const WAF_LOG_BYTES: f64 = 1500.0;

const fn bytes(size: Size) -> f64 {
    match access::item_bytes(size) {
        Some(b) => b as f64,
        None => 0.0,
    }
}

/// Whether a size class is a telemetry item (its bytes come from the usage profile and the layout).
pub fn is_telemetry(size: Size) -> bool {
    matches!(size, Size::Reading | Size::ReadingBatch | Size::PackedItem)
}

/// Write and read units of one declared call (telemetry items of `reading_bytes`; `indexes`: of the declared indexes,
/// those the template's table has) and the item bytes.
/// Writes: ⌈bytes / 1 KB⌉ per table and per index written, ×2 in a transaction; reads: ⌈bytes / 4 KB⌉, ½ when
/// eventually consistent — of the item's metered size, its stored bytes without DynamoDB's 100-byte storage overhead
/// (`access::metered_item_bytes`). The returned item bytes are the stored ones (storage).
pub fn units(a: &Access, reading_bytes: f64, indexes: usize) -> (f64, f64, f64) {
    let b = if is_telemetry(a.size) { reading_bytes } else { bytes(a.size) };
    let m = access::metered_item_bytes(b);
    if a.op.writes() {
        (metered(m, 1024.0) * write_factor(a, indexes), 0.0, b)
    } else {
        (0.0, metered(m, 4096.0) * if a.strong { 1.0 } else { 0.5 } * transaction_factor(a), b)
    }
}

/// ×2 for an item of a transaction.
fn transaction_factor(a: &Access) -> f64 {
    if a.transaction {
        2.0
    } else {
        1.0
    }
}

/// What one item's write units are multiplied by: the table and each index written, ×2 in a transaction.
fn write_factor(a: &Access, indexes: usize) -> f64 {
    (1.0 + indexes as f64) * transaction_factor(a)
}

/// Metered bytes of the START/END/REPORT lines of one invocation in the text format: the lines of the Lambda
/// developer guide's example (`rainmaker_model::log_volume::PLATFORM_LINES_TEXT`, 264 B) plus CloudWatch Logs' 26 B
/// per log event (342 B).
pub fn platform_log_bytes_text() -> f64 {
    f64::from(log_volume::platform_metered_bytes_text())
}
/// ... in the JSON format (an assumption: about twice the text, 520 B, plus the same overhead).
pub const PLATFORM_LOG_BYTES_JSON: f64 = 520.0 + 3.0 * log_volume::EVENT_OVERHEAD_BYTES as f64;

/// Metered bytes a function logs itself per invocation, over its event mix (`kinds`: invocations per event), from
/// the declarations in `rainmaker_model::log_volume` (measured by the access-check test).
pub fn app_log_bytes(kinds: &IndexMap<Event, f64>) -> Option<f64> {
    let total: f64 = kinds.values().sum();
    (total > 0.0).then(|| {
        kinds.iter().map(|(ev, n)| n * log_volume::declared_log(*ev).metered_bytes() as f64).sum::<f64>() / total
    })
}

/// Derived usage per logical id, and what the flow noticed.
#[derive(Debug, Default)]
pub struct Flow {
    pub derived: IndexMap<String, Values>,
    pub warnings: Vec<String>,
    /// The templates have AWS IoT resources, so devices connect to AWS IoT Core (the device fleet is priced).
    pub has_iot: bool,
    /// One `GET /nodes/{id}/readings` call, when the API serves it (`read_flow`; `usd_per_call` is set by the
    /// estimate from its prices).
    pub readings: Option<ReadingsCall>,
}

impl Flow {
    /// What `r` resolves to so far: explicit `resource_usage` first, then what the flow derived, then defaults.
    pub(crate) fn usage_of<'a>(
        &'a self,
        r: &'a Resource,
        usage: &'a Usage,
        registry: &Registry,
        devices: f64,
    ) -> ResourceUsage<'a> {
        ResourceUsage {
            id: &r.logical_id,
            type_name: &r.type_name,
            usage,
            derived: self.derived.get(&r.logical_id),
            keys: registry.keys(&r.type_name),
            devices,
        }
    }

    pub(crate) fn add(&mut self, id: &str, key: &str, v: f64) {
        *self.derived.entry(id.to_string()).or_default().entry(key.to_string()).or_insert(0.0) += v;
    }
    pub(crate) fn set(&mut self, id: &str, key: &str, v: f64) {
        self.derived.entry(id.to_string()).or_default().insert(key.to_string(), v);
    }
    pub(crate) fn warn(&mut self, w: String) {
        if !self.warnings.contains(&w) {
            self.warnings.push(w);
        }
    }
}

/// The traffic that triggers a topic rule: `Metadata.Traffic`, else presence when the SQL reads lifecycle events,
/// else telemetry (with a warning).
pub fn rule_traffic(r: &Resource) -> (Traffic, Option<String>) {
    match r.metadata.get("Traffic").and_then(Value::as_str) {
        Some("telemetry") => return (Traffic::Telemetry, None),
        Some("presence") => return (Traffic::Presence, None),
        Some("binding") => return (Traffic::Binding, None),
        Some(other) => {
            return (
                Traffic::Telemetry,
                Some(format!(
                    "rule {}: Metadata.Traffic `{other}` is not telemetry, presence or binding; priced as telemetry",
                    r.logical_id
                )),
            )
        }
        None => {}
    }
    let sql = r.prop(&["TopicRulePayload", "Sql"]).and_then(Value::as_str).unwrap_or("");
    if sql.contains("$aws/events/presence/") {
        (Traffic::Presence, None)
    } else {
        (
            Traffic::Telemetry,
            Some(format!("rule {}: no Metadata.Traffic and its SQL reads no lifecycle events; priced as telemetry (every telemetry message triggers it)", r.logical_id)),
        )
    }
}

/// Run the flow for `devices` devices.
pub fn run(res: &Resources, usage: &Usage, devices: f64, registry: &Registry) -> Flow {
    let mut f = Flow::default();
    let d = devices;
    let resolve = |f: &Flow, r: &Resource, key: &str| f.usage_of(r, usage, registry, d).get(key);
    let new_devices = d * usage.fleet("new_devices_percent_per_month") / 100.0;
    let error_share = usage.fleet("rule_error_percent") / 100.0;
    let telemetry_msgs = d * usage.device("telemetry_per_hour") * MONTH_HOURS;
    let telemetry_bytes = usage.device("telemetry_bytes");
    let api_calls = d * usage.users("users_per_device") * usage.users("api_calls_per_user_per_day") * MONTH_DAYS;

    // The device fleet: connectivity, messages, shadow.
    f.has_iot = res.list.iter().any(|r| r.type_name.starts_with("AWS::IoT::"));
    if f.has_iot {
        for (k, v) in iot_metering(usage, d, api_calls) {
            f.set(DEVICE_FLEET, k, v);
        }
        f.set(DEVICE_FLEET, "_peak_connections", peak_connections(usage, d));
    }

    let mut invocations: IndexMap<String, IndexMap<Event, f64>> = IndexMap::new();
    let mut invoke = |id: String, ev: Event, n: f64| *invocations.entry(id).or_default().entry(ev).or_insert(0.0) += n;

    // Topic rules → their actions.
    for rule in res.of_type("AWS::IoT::TopicRule") {
        let (kind, warning) = rule_traffic(rule);
        if let Some(w) = warning {
            f.warn(w);
        }
        let (msgs, bytes) = match kind {
            Traffic::Presence => (d * usage.device("reconnects_per_day") * 2.0 * MONTH_DAYS, PRESENCE_EVENT_BYTES),
            Traffic::Binding => (new_devices, BINDING_EVENT_BYTES),
            _ => (telemetry_msgs, telemetry_bytes),
        };
        let actions =
            rule.prop(&["TopicRulePayload", "Actions"]).and_then(Value::as_array).cloned().unwrap_or_default();
        f.set(&rule.logical_id, "monthly_messages", msgs);
        f.set(&rule.logical_id, "message_bytes", bytes);
        f.set(&rule.logical_id, "_actions", actions.len().max(1) as f64);
        if kind == Traffic::Presence {
            f.set(&rule.logical_id, "_presence", 1.0);
        }
        let msgs = resolve(&f, rule, "monthly_messages");
        for action in &actions {
            let Some((name, body)) = action.as_object().and_then(|m| m.iter().next()) else { continue };
            let linked = match name.as_str() {
                "Lambda" => body.get("FunctionArn").and_then(target).filter(|t| is(res, t, "AWS::Lambda::Function")),
                "Sqs" => body.get("QueueUrl").and_then(target).filter(|t| is(res, t, "AWS::SQS::Queue")),
                "Kinesis" => body.get("StreamName").and_then(target).filter(|t| is(res, t, "AWS::Kinesis::Stream")),
                _ => None,
            };
            match (name.as_str(), linked) {
                ("Lambda", Some(t)) => invoke(t, rule_event(kind), msgs),
                ("Sqs", Some(t)) => f.add(&t, "monthly_requests", msgs),
                ("Kinesis", Some(t)) => {
                    // one record per message: the rule's output (payload + the fields the rule adds) + partition key
                    f.add(&t, "monthly_records", msgs);
                    f.set(&t, "record_bytes", bytes + RULE_OUTPUT_OVERHEAD + PARTITION_KEY_BYTES);
                }
                _ => f.warn(format!(
                    "rule {}: the {name} action's target is not priced from the rule's traffic",
                    rule.logical_id
                )),
            }
        }
        let error_queue = rule.prop(&["TopicRulePayload", "ErrorAction", "Sqs", "QueueUrl"]).and_then(target);
        if let Some(q) = error_queue.filter(|t| is(res, t, "AWS::SQS::Queue")) {
            f.add(&q, "monthly_requests", msgs * actions.len().max(1) as f64 * error_share);
        }
    }

    // Streams → their shards at the modeled peak, and each event source mapping's batches to its function.
    for (func, ev, n) in crate::cost::stream_flow::streams(&mut f, res, usage, registry, d) {
        invoke(func, ev, n);
    }

    // REST APIs → their Lambda integrations and web ACLs; user pools.
    let apis: Vec<&Resource> = res.of_type("AWS::ApiGateway::RestApi").collect();
    for api in &apis {
        // The app's calls plus one `POST /nodes/bind` per new device.
        f.set(&api.logical_id, "monthly_requests", (api_calls + new_devices) / apis.len() as f64);
        let requests = resolve(&f, api, "monthly_requests");
        let mut fns: Vec<String> = Vec::new();
        for m in res.of_type("AWS::ApiGateway::Method") {
            if m.prop(&["RestApiId"]).and_then(target).as_deref() != Some(&api.logical_id) {
                continue;
            }
            for t in m.prop(&["Integration", "Uri"]).map(targets).unwrap_or_default() {
                if is(res, &t, "AWS::Lambda::Function") && !fns.contains(&t) {
                    fns.push(t);
                }
            }
        }
        let total = api_calls + new_devices;
        let share = if total > 0.0 { requests / total / fns.len().max(1) as f64 } else { 0.0 };
        for t in &fns {
            let (shadow, readings) = (usage.users("api_shadow_percent"), usage.users("api_readings_percent"));
            for (ev, part) in access::api_mix_with_readings(shadow / 100.0, readings / 100.0) {
                invoke(t.clone(), ev, api_calls * part * share);
            }
            invoke(t.clone(), Event::BindStart, new_devices * share);
        }
        let stages: Vec<&str> = res
            .of_type("AWS::ApiGateway::Stage")
            .filter(|s| s.prop(&["RestApiId"]).and_then(target).as_deref() == Some(&api.logical_id))
            .map(|s| s.logical_id.as_str())
            .collect();
        for stage in stages.iter().filter_map(|s| res.get(s)) {
            let dest = stage.prop(&["AccessLogSetting", "DestinationArn"]).and_then(target);
            if let Some(lg) = dest.filter(|t| is(res, t, "AWS::Logs::LogGroup")) {
                f.add(&lg, "monthly_ingested_gb", requests * ACCESS_LOG_BYTES / GB);
            }
        }
        for assoc in res.of_type("AWS::WAFv2::WebACLAssociation") {
            let arn = assoc.prop(&["ResourceArn"]).map(targets).unwrap_or_default();
            if arn.iter().any(|t| *t == api.logical_id || stages.contains(&t.as_str())) {
                if let Some(acl) = assoc.prop(&["WebACLArn"]).and_then(target) {
                    f.add(&acl, "monthly_requests", requests);
                    for lc in res.of_type("AWS::WAFv2::LoggingConfiguration") {
                        if lc.prop(&["ResourceArn"]).and_then(target).as_deref() != Some(acl.as_str()) {
                            continue;
                        }
                        for lg in lc.prop(&["LogDestinationConfigs"]).map(targets).unwrap_or_default() {
                            if is(res, &lg, "AWS::Logs::LogGroup") {
                                f.add(&lg, "monthly_ingested_gb", requests * WAF_LOGGED_SHARE * WAF_LOG_BYTES / GB);
                            }
                        }
                    }
                }
            }
        }
    }
    let pools: Vec<&Resource> = res.of_type("AWS::Cognito::UserPool").collect();
    for p in &pools {
        let mau = d * usage.users("users_per_device") * usage.users("monthly_active_percent") / 100.0;
        f.set(&p.logical_id, "monthly_active_users", mau / pools.len() as f64);
    }

    // Fleet provisioning → the pre-provisioning hook.
    for pt in res.of_type("AWS::IoT::ProvisioningTemplate") {
        f.set(&pt.logical_id, "monthly_provisionings", new_devices);
        let n = resolve(&f, pt, "monthly_provisionings");
        if let Some(hook) = pt.prop(&["PreProvisioningHook", "TargetArn"]).and_then(target) {
            invoke(hook, Event::Provisioning, n);
        }
    }

    functions(&mut f, res, usage, d, registry, &invocations);
    tables(&mut f, res, usage, d, new_devices);
    log_groups(&mut f, res);
    crate::cost::kms_requests::derive(&mut f, res, usage, d, registry);
    f
}

/// The runtime event a rule's Lambda action delivers.
fn rule_event(kind: Traffic) -> Event {
    match kind {
        Traffic::Presence => Event::Presence,
        Traffic::Binding => Event::BindConfirm,
        Traffic::Provisioning => Event::Provisioning,
        Traffic::Telemetry | Traffic::Api => Event::Telemetry,
    }
}

/// Bytes of a topic name as metered with each message (`$aws/things/<thing>/shadow/update/accepted` and the like).
pub const TOPIC_BYTES: f64 = 60.0;

/// AWS IoT Core messaging and shadow metering of the fleet, as AWS meters it
/// (<https://aws.amazon.com/iot-core/pricing/additional-details/>, read 2026-12-02):
/// - MQTT PUBLISH received from and sent to a device: payload + topic, in 5 KB steps; telemetry on Basic Ingest
///   (`$aws/rules/...`) has no messaging charge (<https://aws.amazon.com/iot-core/pricing/>);
/// - MQTT CONNECT and SUBSCRIBE: one message each (small) per (re)connect; CONNACK, SUBACK, PINGREQ/PINGRESP,
///   DISCONNECT and the service's PUBACK are not metered;
/// - a PUBACK received from a device (QoS 1 delivery) is metered as one 5 KB message;
/// - Device Shadow operations (device publishes to `.../shadow/update`, REST GetThingShadow / UpdateThingShadow) in
///   1 KB steps of the document; the service's responses a device subscribes to (`update/accepted`, `update/delta`,
///   `update/documents`) are PUBLISH sent by the service;
/// - lifecycle events (`$aws/events/presence/...`) are published by the service: metered when
///   `lifecycle_events_metered` (default 1, the conservative reading; check against your bill).
///
/// The app's shadow calls (`api_shadow_percent`) are ⅔ reads (one REST operation) and ⅓ updates: one REST operation,
/// a `delta` message to the device, and the device's reporting update (inbound message + operation + responses).
pub fn iot_metering(usage: &Usage, d: f64, api_calls: f64) -> Vec<(&'static str, f64)> {
    let dev = |k: &str| usage.device(k);
    let days = MONTH_DAYS;
    let qos1 = if dev("qos1_downlink") > 0.0 { 1.0 } else { 0.0 };
    let msg = |bytes: f64| metered(bytes + TOPIC_BYTES, 5120.0);
    let telemetry_msgs = d * dev("telemetry_per_hour") * MONTH_HOURS;
    let telemetry = if dev("basic_ingest") > 0.0 { 0.0 } else { telemetry_msgs * msg(dev("telemetry_bytes")) };
    let downlinks = d * dev("downlink_per_day") * days;
    let downlink = downlinks * msg(dev("downlink_bytes"));
    let reconnects = d * dev("reconnects_per_day") * days;
    let session = reconnects * (1.0 + dev("subscribes_per_connect"));
    let lifecycle = if dev("lifecycle_events_metered") > 0.0 { 2.0 * reconnects * msg(300.0) } else { 0.0 };
    let shadow = dev("shadow_bytes");
    // the shadow routes' share of the calls that are not `GET /nodes/{id}/readings` (`access::api_mix_with_readings`)
    let not_readings = 1.0 - (usage.users("api_readings_percent") / 100.0).clamp(0.0, 1.0);
    let app_shadow = api_calls * not_readings * usage.users("api_shadow_percent") / 100.0;
    let (app_reads, app_updates) = (app_shadow * 2.0 / 3.0, app_shadow / 3.0);
    // Device updates: its own reports plus the report that answers each app update.
    let device_updates = d * dev("shadow_updates_per_day") * days + app_updates;
    let responses = device_updates * dev("shadow_responses_per_update");
    let shadow_msgs = device_updates * msg(shadow) + (responses + app_updates) * msg(shadow);
    let pubacks = qos1 * (downlinks + responses + app_updates);
    let ops = (device_updates + app_reads + app_updates) * metered(shadow, 1024.0);
    let total = telemetry + downlink + session + lifecycle + shadow_msgs + pubacks;
    vec![
        ("monthly_connection_minutes", d * dev("connected_minutes_per_day").min(1440.0) * days),
        ("monthly_messages", total),
        ("monthly_shadow_operations", ops),
        ("_telemetry_messages", telemetry),
        ("_downlink_messages", downlink),
        ("_session_messages", session),
        ("_lifecycle_messages", lifecycle),
        ("_shadow_messages", shadow_msgs),
        ("_puback_messages", pubacks),
    ]
}

pub(crate) fn is(res: &Resources, id: &str, type_name: &str) -> bool {
    res.get(id).is_some_and(|r| r.type_name == type_name)
}

/// Devices connected at the busiest moment: all of them when always connected, else the average × peak factor.
pub fn peak_connections(usage: &Usage, d: f64) -> f64 {
    let share = usage.device("connected_minutes_per_day").min(1440.0) / 1440.0;
    if share >= 1.0 {
        d
    } else {
        (d * share * usage.fleet("peak_to_average")).min(d)
    }
}

/// The environment variable → table links of a function.
fn table_env(res: &Resources, func: &Resource) -> IndexMap<String, String> {
    let mut out = IndexMap::new();
    if let Some(vars) = func.prop(&["Environment", "Variables"]).and_then(Value::as_object) {
        for (name, v) in vars {
            if let Some(t) = target(v).filter(|t| is(res, t, "AWS::DynamoDB::Table")) {
                out.insert(name.clone(), t);
            }
        }
    }
    out
}

fn functions(
    f: &mut Flow,
    res: &Resources,
    usage: &Usage,
    d: f64,
    registry: &Registry,
    invocations: &IndexMap<String, IndexMap<Event, f64>>,
) {
    let readings = usage.device("readings_per_message").max(1.0);
    let reading_item = usage.device("telemetry_bytes") / readings + TELEMETRY_ITEM_OVERHEAD;
    // What a `GET /nodes/{id}/readings` call reads from the layout the templates deploy (`read_flow`).
    let minutes = usage.users("api_readings_minutes");
    let stored = read_flow::stored(f, res, usage, d, registry, invocations, reading_item);
    let read = stored.map(|s| read_flow::read(s, minutes)).unwrap_or_default();
    for func in res.of_type("AWS::Lambda::Function") {
        let id = func.logical_id.as_str();
        let kinds = invocations.get(id).cloned().unwrap_or_default();
        let derived_total: f64 = kinds.values().sum();
        if !kinds.is_empty() {
            f.set(id, "monthly_requests", derived_total);
        }
        if let Some(bytes) = app_log_bytes(&kinds) {
            f.set(id, "log_bytes_per_request", bytes);
        }
        // The runtime functions its events run (`rainmaker_model::access`) and the EMF metrics they emit.
        let metrics = emf_metrics::count(kinds.keys().filter_map(|ev| access::declared(*ev)).map(|d| d.function));
        if metrics > 0.0 {
            f.set(id, emf_metrics::KEY, metrics);
        }
        let ru = f.usage_of(func, usage, registry, d);
        let requests = ru.get("monthly_requests");
        let app_log_bytes = ru.get("log_bytes_per_request");
        let scale = if derived_total > 0.0 { requests / derived_total } else { 0.0 };
        let env = table_env(res, func);
        let derived = |k: &str| f.derived.get(id).and_then(|d| d.get(k)).copied();
        let batch_items = derived("_batch_items").unwrap_or(1.0);
        let batch_item_bytes = derived("_batch_item_bytes").unwrap_or(reading_item);
        let batch_item_write_units = derived("_batch_item_write_units");
        for (ev, n) in &kinds {
            let Some(decl) = access::declared(*ev) else { continue };
            for a in decl.accesses {
                let env_var = a.table.env_var();
                let Some(table) = env.get(env_var) else {
                    f.warn(format!("function {id}: its environment names no {env_var} table, so the table operations of its {ev:?} events are not priced"));
                    continue;
                };
                let indexes = res.get(table).map_or(0, |t| a.indexes.iter().filter(|i| has_gsi(t, i)).count());
                let per = if a.per_reading {
                    readings
                } else if a.per_node || a.per_packed_item {
                    batch_items
                } else {
                    1.0
                };
                let telemetry_item = if matches!(a.size, Size::ReadingBatch | Size::PackedItem) {
                    batch_item_bytes
                } else {
                    reading_item
                };
                let (mut wru, mut rru, item) = units(a, telemetry_item, indexes);
                if let (true, Some(expected)) = (a.per_packed_item && a.op.writes(), batch_item_write_units) {
                    // the packed items' expected units over a bucket's varying readings (`cost::packed::batch`)
                    wru = expected * write_factor(a, indexes);
                }
                if (*ev, a.op) == (Event::GetReadings, Op::Query) {
                    // the node's own partition, or its bucket's packed items (every node's of the range)
                    let bytes = if a.size == Size::PackedItem { read.bucket_bytes } else { read.own_bytes };
                    rru = read_flow::query_read_units(bytes);
                }
                let calls = n * scale * per;
                if calls > 0.0 {
                    // which tables the function calls (the KMS requests of a key-encrypted table follow its callers)
                    f.set(id, &format!("{}{table}", crate::cost::kms_requests::TABLE_CALL_PREFIX), 1.0);
                }
                if a.op.writes() {
                    f.add(table, "monthly_write_units", calls * wru);
                    if is_telemetry(a.size) {
                        f.add(table, "_items_written", calls);
                        f.set(table, "_item_bytes", item);
                    }
                } else {
                    f.add(table, "monthly_read_units", calls * rru);
                }
            }
            if *ev == Event::GetReadings {
                read_flow::price_calls(f, func, decl.accesses, *n * scale, minutes, &read);
            }
        }
        if let Some(t) = env.get("TELEMETRY_TABLE") {
            if let Some(days) = func.prop(&["Environment", "Variables", "TELEMETRY_TTL_DAYS"]).and_then(number) {
                f.set(t, "_retention_days", days);
            }
        }
        let json = func.prop(&["LoggingConfig", "LogFormat"]).and_then(Value::as_str) == Some("JSON");
        let platform = if json { PLATFORM_LOG_BYTES_JSON } else { platform_log_bytes_text() };
        let log_gb = requests * (platform + app_log_bytes) / GB;
        match func.prop(&["LoggingConfig", "LogGroup"]).and_then(target).filter(|t| is(res, t, "AWS::Logs::LogGroup")) {
            Some(lg) => {
                f.add(&lg, "monthly_ingested_gb", log_gb);
                f.add(&lg, "_lambda_ingested_gb", log_gb);
            }
            None => f.set(id, "_unlinked_log_gb", log_gb),
        }
    }
}

/// A number or a numeric string.
pub(crate) fn number(v: &Value) -> Option<f64> {
    v.as_f64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

/// Whether the table has a global secondary index of that name.
fn has_gsi(t: &Resource, name: &str) -> bool {
    t.prop(&["GlobalSecondaryIndexes"])
        .and_then(Value::as_array)
        .is_some_and(|a| a.iter().any(|g| g.get("IndexName").and_then(Value::as_str) == Some(name)))
}

/// Global secondary indexes of a table (each write is written again to each, all attributes projected).
pub fn gsi_count(t: &Resource) -> f64 {
    t.prop(&["GlobalSecondaryIndexes"]).and_then(Value::as_array).map_or(0.0, |a| a.len() as f64)
}

fn tables(f: &mut Flow, res: &Resources, usage: &Usage, d: f64, new_devices: f64) {
    let mut roles: IndexMap<String, String> = IndexMap::new();
    for func in res.of_type("AWS::Lambda::Function") {
        for (env, t) in table_env(res, func) {
            roles.entry(t).or_insert(env);
        }
    }
    let users = d * usage.users("users_per_device");
    for t in res.of_type("AWS::DynamoDB::Table") {
        let id = t.logical_id.as_str();
        let ttl = t.prop(&["TimeToLiveSpecification", "Enabled"]).and_then(Value::as_bool).unwrap_or(false);
        let bytes = match roles.get(id).map(String::as_str) {
            Some("TELEMETRY_TABLE") => {
                let derived = f.derived.get(id).cloned().unwrap_or_default();
                let get = |k: &str| derived.get(k).copied().unwrap_or(0.0);
                let days =
                    derived.get("_retention_days").copied().unwrap_or_else(|| usage.device("telemetry_retention_days"));
                if !ttl {
                    f.warn(format!("table {id}: no TTL, so telemetry is never deleted; storage is priced at {days} days of data and grows every month"));
                }
                get("_items_written") * get("_item_bytes") * days / MONTH_DAYS
            }
            Some("NODES_TABLE") => d * NODE_ITEM_BYTES,
            Some("USER_NODES_TABLE") => users * USER_NODE_ITEM_BYTES,
            Some("USERS_TABLE") => users * USER_ITEM_BYTES,
            Some("SERIAL_ALLOWLIST_TABLE") => d * SERIAL_ITEM_BYTES,
            Some("BINDING_REQUESTS_TABLE") => new_devices / MONTH_DAYS * BINDING_ITEM_BYTES,
            _ => {
                if !f.derived.contains_key(id) {
                    f.warn(format!("table {id}: no function's environment names it, so no usage is derived; set resource_usage.{id}"));
                }
                continue;
            }
        };
        f.set(id, "storage_gb", bytes * (1.0 + gsi_count(t)) / GB);
    }
}

fn log_groups(f: &mut Flow, res: &Resources) {
    for lg in res.of_type("AWS::Logs::LogGroup") {
        match lg.prop(&["RetentionInDays"]).and_then(number) {
            Some(days) => f.set(&lg.logical_id, "_retention_days", days),
            None => {
                f.warn(format!("log group {}: no RetentionInDays, so logs are kept forever; storage is priced at one year of logs and grows every month", lg.logical_id));
                f.set(&lg.logical_id, "_retention_days", 365.0);
            }
        }
    }
}
