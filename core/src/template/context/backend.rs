//! Context of `templates/stacks/backend.yaml.hbs`: IoT, rules, functions, tables, API, WAF, outputs.

use super::functions::{functions, Function};
use super::tables::{tables, Table};
use super::Stamp;
use crate::config::{Config, KeyGeneration};
use crate::template::names::Names;
use rainmaker_model::contract::{
    CLAIM_CLIENT_PREFIX, PROVISIONING_SECRET_PARAM, PROVISIONING_SERIAL_PARAM, SQL_BINDING, SQL_PRESENCE, SQL_TELEMETRY,
};
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// A topic rule that invokes a function.
#[derive(Debug, Serialize)]
pub struct Rule {
    pub logical_id: &'static str,
    pub name: String,
    pub description: &'static str,
    /// Which device behaviour drives the rule (`telemetry`, `presence`, `binding`), for `estimate`.
    pub traffic: &'static str,
    pub sql: String,
    /// The function the rule's Lambda action invokes (`None`: the rule puts into the telemetry stream instead).
    pub function_id: Option<String>,
    /// The rule's Kinesis action (`telemetry.pipeline: batched`, the telemetry rule only).
    pub stream: Option<StreamAction>,
}

/// A rule's Kinesis action into the telemetry stream.
#[derive(Debug, Serialize)]
pub struct StreamAction {
    pub stream_id: &'static str,
    pub role_id: &'static str,
    pub partition_key: &'static str,
}

/// The REST API settings.
#[derive(Debug, Serialize)]
pub struct ApiSettings {
    pub name: String,
    pub user_pool_name: String,
    /// `UserPoolTier` of the pool (`LITE`, `ESSENTIALS`, `PLUS`).
    pub user_pool_tier: &'static str,
    pub web_acl_name: String,
    pub stage: &'static str,
    /// Logical id of the deployment, suffixed by a hash of the API's shape so a change redeploys the stage.
    pub deployment_id: String,
    pub waf_rate_limit: u32,
    pub throttle_rate_limit: u32,
    pub throttle_burst_limit: u32,
    /// CORS preflight is answered only when origins are configured.
    pub cors: bool,
    /// `*` is configured: the preflight answers `Access-Control-Allow-Origin: *`.
    pub cors_wildcard: bool,
    /// Otherwise the preflight's mapping template (a JSON string literal), which reflects the request's `Origin`
    /// only when it is one of the configured origins (no header at all for any other).
    pub cors_reflect_template: String,
    /// Requests per 5 minutes from one IP to `/nodes/bind` before WAF blocks it.
    pub waf_bind_rate_limit: u32,
    /// Largest request body WAF lets through, the api function's own limit.
    pub max_body_bytes: u32,
    /// Log group of the stage's access log.
    pub access_log_group: String,
    /// The access log line (JSON with `$context` variables), as a JSON string literal.
    pub access_log_format: String,
    pub log_retention_days: u32,
}

#[derive(Debug, Serialize)]
pub struct BackendContext {
    pub stamp: Stamp,
    pub description: String,
    pub names: NamesCtx,
    pub tables: Vec<Table>,
    pub functions: Vec<Function>,
    pub rules: Vec<Rule>,
    /// The device policy document (JSON text).
    pub device_policy: String,
    /// The claim policy document (JSON text).
    pub claim_policy: String,
    /// The fleet provisioning template body (a JSON document, as a JSON string literal).
    pub provisioning_body: String,
    pub api: ApiSettings,
    pub audit: super::audit::Audit,
    /// `MfaConfiguration` of the user pool.
    pub mfa: &'static str,
    /// `security.kms`: the tenant's key (customer-managed) and what each encrypted resource carries.
    pub encryption: super::encryption::Encryption,
    /// The batched telemetry pipeline's stream and mapping (`telemetry.pipeline: batched`).
    pub stream: Option<super::stream::TelemetryStream>,
}

/// The names the templates print.
#[derive(Debug, Serialize)]
pub struct NamesCtx {
    pub prefix: String,
    pub device_policy: String,
    pub claim_policy: String,
    pub provisioning_template: String,
    pub dead_letter_queue: String,
    /// Name of the Secrets Manager secret with the serial allow-list's HMAC key.
    pub serial_key_secret: String,
    /// Prefix of the topic rules' names (for the `aws:SourceArn` of the rules' role).
    pub rule_prefix: String,
}

fn sub(s: &str) -> Value {
    json!({ "Fn::Sub": s })
}

const ARN: &str = "arn:${AWS::Partition}:iot:${AWS::Region}:${AWS::AccountId}";
const THING: &str = "${!iot:Connection.Thing.ThingName}";

fn device_policy(n: &Names) -> Value {
    let topic = |t: &str| sub(&format!("{ARN}:topic/{t}"));
    let filter = |t: &str| sub(&format!("{ARN}:topicfilter/{t}"));
    let rules = &n.rule_prefix;
    json!({
        "Version": "2012-10-17",
        "Statement": [
            { "Sid": "ConnectAsOwnThing", "Effect": "Allow", "Action": "iot:Connect",
              "Resource": sub(&format!("{ARN}:client/{THING}")),
              "Condition": { "Bool": { "iot:Connection.Thing.IsAttached": "true" } } },
            { "Sid": "PublishOwnTopics", "Effect": "Allow", "Action": "iot:Publish", "Resource": [
                topic(&format!("$aws/rules/{rules}_telemetry/node/{THING}/telemetry")),
                topic(&format!("$aws/rules/{rules}_binding/node/{THING}/binding")),
                topic(&format!("node/{THING}/*")),
                topic(&format!("$aws/things/{THING}/shadow/*")) ] },
            { "Sid": "SubscribeOwnTopics", "Effect": "Allow", "Action": "iot:Subscribe", "Resource": [
                filter(&format!("node/{THING}/*")),
                filter(&format!("$aws/things/{THING}/shadow/*")) ] },
            { "Sid": "ReceiveOwnTopics", "Effect": "Allow", "Action": "iot:Receive", "Resource": [
                topic(&format!("node/{THING}/*")),
                topic(&format!("$aws/things/{THING}/shadow/*")) ] }
        ]
    })
}

/// The claim certificate's policy: connect in its own client-id namespace, and exactly the fleet-provisioning MQTT
/// API topics (JSON payload format) of the chosen key generation (`create-from-csr` by default, `create` with
/// `key_generation: aws`) and of the template's `RegisterThing`, as AWS documents them: publish the two requests,
/// subscribe to and receive their `accepted`/`rejected` answers. No topic has a wildcard, so Device Defender's
/// overly-permissive-policy check finds only the client-id namespace (docs/security.md says why it stays).
fn claim_policy(n: &Names, keys: KeyGeneration) -> Value {
    let certs = format!("$aws/certificates/{}/{CLAIM_PAYLOAD_FORMAT}", keys.certificates_topic());
    let provision = format!("$aws/provisioning-templates/{}/provision/{CLAIM_PAYLOAD_FORMAT}", n.provisioning_template);
    let requests = json!([sub(&format!("{ARN}:topic/{certs}")), sub(&format!("{ARN}:topic/{provision}"))]);
    let answers = |kind: &str| {
        let all = [&certs, &provision].map(|t| ["accepted", "rejected"].map(|a| sub(&format!("{ARN}:{kind}/{t}/{a}"))));
        Value::Array(all.into_iter().flatten().collect())
    };
    json!({
        "Version": "2012-10-17",
        "Statement": [
            { "Sid": "ConnectForProvisioning", "Effect": "Allow", "Action": "iot:Connect", "Resource": sub(&format!("{ARN}:client/{CLAIM_CLIENT_PREFIX}*")) },
            { "Sid": "ProvisioningRequests", "Effect": "Allow", "Action": "iot:Publish", "Resource": requests },
            { "Sid": "ProvisioningAnswers", "Effect": "Allow", "Action": "iot:Receive", "Resource": answers("topic") },
            { "Sid": "ProvisioningAnswerFilters", "Effect": "Allow", "Action": "iot:Subscribe", "Resource": answers("topicfilter") }
        ]
    })
}

/// The fleet-provisioning MQTT API's payload format the claim policy allows (`json`; `cbor` is not allowed).
const CLAIM_PAYLOAD_FORMAT: &str = "json";

fn provisioning_body(cfg: &Config, n: &Names) -> Value {
    json!({
        "Parameters": {
            PROVISIONING_SERIAL_PARAM: { "Type": "String" },
            // proof of possession: checked by the pre-provisioning hook, used by no resource
            PROVISIONING_SECRET_PARAM: { "Type": "String" },
            "AWS::IoT::Certificate::Id": { "Type": "String" }
        },
        "Resources": {
            "thing": { "Type": "AWS::IoT::Thing", "Properties": {
                "ThingName": { "Ref": PROVISIONING_SERIAL_PARAM },
                "AttributePayload": { "serial": { "Ref": PROVISIONING_SERIAL_PARAM }, "tenant": cfg.name } } },
            "certificate": { "Type": "AWS::IoT::Certificate", "Properties": {
                "CertificateId": { "Ref": "AWS::IoT::Certificate::Id" }, "Status": "ACTIVE" } },
            "policy": { "Type": "AWS::IoT::Policy", "Properties": { "PolicyName": n.device_policy } }
        }
    })
}

fn rules(n: &Names, stream: Option<&super::stream::TelemetryStream>) -> Vec<Rule> {
    let telemetry = match stream {
        None => Rule {
            logical_id: "TelemetryRule",
            name: n.rule("telemetry"),
            description: "Routes Basic Ingest telemetry to telemetry-ingest",
            traffic: "telemetry",
            sql: SQL_TELEMETRY.into(),
            function_id: Some("TelemetryIngestFunction".into()),
            stream: None,
        },
        Some(s) => Rule {
            logical_id: "TelemetryRule",
            name: n.rule("telemetry"),
            description: "Puts Basic Ingest telemetry into the telemetry stream (telemetry-batch stores it in batches)",
            traffic: "telemetry",
            sql: SQL_TELEMETRY.into(),
            function_id: None,
            stream: Some(StreamAction {
                stream_id: s.logical_id,
                role_id: s.rule_role_id,
                partition_key: s.partition_key,
            }),
        },
    };
    vec![
        telemetry,
        Rule {
            logical_id: "PresenceRule",
            name: n.rule("presence"),
            description: "Routes connect/disconnect lifecycle events to presence",
            traffic: "presence",
            sql: SQL_PRESENCE.into(),
            function_id: Some("PresenceFunction".into()),
            stream: None,
        },
        Rule {
            logical_id: "BindingRule",
            name: n.rule("binding"),
            description: "Routes a device's binding confirmation to binding-confirm",
            traffic: "binding",
            sql: SQL_BINDING.into(),
            function_id: Some("BindingConfirmFunction".into()),
            stream: None,
        },
    ]
}

fn api(cfg: &Config, n: &Names) -> ApiSettings {
    let origins = &cfg.api.allowed_origins;
    let origin = origins.join(" ");
    let cors = !origins.is_empty();
    let cors_wildcard = origins.iter().any(|o| o == "*");
    let shape = format!("proxy+ ANY cognito; cors={cors} origin={origin}; v{}", crate::TEMPLATE_VERSION);
    let hash = hex::encode(Sha256::digest(shape.as_bytes()));
    ApiSettings {
        name: n.resource("api"),
        user_pool_name: n.resource("users"),
        user_pool_tier: cfg.api.user_pool_tier.as_cfn(),
        web_acl_name: n.resource("api-acl"),
        stage: "v1",
        deployment_id: format!("ApiDeployment{}", &hash[..8]),
        waf_rate_limit: cfg.api.waf_rate_limit,
        throttle_rate_limit: cfg.api.throttle_rate_limit,
        throttle_burst_limit: cfg.api.throttle_burst_limit,
        cors,
        cors_wildcard,
        cors_reflect_template: Value::String(super::hardening::cors_reflect_template(origins)).to_string(),
        waf_bind_rate_limit: super::hardening::WAF_BIND_RATE_LIMIT,
        max_body_bytes: super::hardening::API_MAX_BODY_BYTES,
        access_log_group: format!("/aws/apigateway/{}/access", n.resource("api")),
        access_log_format: Value::String(super::hardening::ACCESS_LOG_FORMAT.to_string()).to_string(),
        log_retention_days: cfg.lambda.log_retention_days,
    }
}

impl BackendContext {
    pub fn new(cfg: &Config, n: &Names) -> Self {
        let tables = tables(n);
        let mut functions = functions(cfg, n, &tables);
        let stream = super::stream::telemetry_stream(cfg, n, "DeadLetterQueue");
        let rules = rules(n, stream.as_ref());
        let customer_key = cfg.security.kms.customer_managed();
        super::hardening::harden(&mut functions, &rules, "DeadLetterQueue", customer_key);
        let api = api(cfg, n);
        let audit = super::audit::audit(cfg, n, &functions, &api.name, api.stage);
        let log_groups: Vec<String> = functions
            .iter()
            .map(|f| format!("/aws/lambda/{}", f.name))
            .chain([audit.waf_log_group.clone(), api.access_log_group.clone()])
            .collect();
        let encryption = super::encryption::encryption(cfg, n, &log_groups);
        super::encryption::grant_key(&mut functions, &encryption);
        BackendContext {
            stamp: Stamp::new(cfg),
            description: format!("rainmaker-deploy backend for tenant {} (blueprint {})", cfg.name, cfg.blueprint),
            names: NamesCtx {
                prefix: n.prefix.clone(),
                device_policy: n.device_policy.clone(),
                claim_policy: n.claim_policy.clone(),
                provisioning_template: n.provisioning_template.clone(),
                dead_letter_queue: n.resource("rule-errors"),
                serial_key_secret: n.resource("serial-key"),
                rule_prefix: n.rule_prefix.clone(),
            },
            tables,
            functions,
            rules,
            device_policy: device_policy(n).to_string(),
            claim_policy: claim_policy(n, cfg.provisioning.key_generation).to_string(),
            provisioning_body: Value::String(provisioning_body(cfg, n).to_string()).to_string(),
            api,
            audit,
            mfa: cfg.security.mfa.as_cfn(),
            encryption,
            stream,
        }
    }
}
