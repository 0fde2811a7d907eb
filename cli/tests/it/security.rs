//! Security controls of the rendered templates (docs/security.md): alarms exported for the bake step, WAF and IoT
//! logging, the Device Defender audit, least-privilege service roles, the stage-scoped invoke permission, MFA.

use crate::support::root;
use rainmaker_deploy::{assets, config, template};
use serde_json::Value;

fn backend(cfg: &config::Config) -> Value {
    let r = template::render(cfg).expect("renders");
    let parsed = template::parse(&r.stack("backend").expect("backend").body).expect("parses");
    assert_eq!(template::check(&parsed), vec![], "built-in checks");
    parsed
}

fn blueprint(b: &str) -> config::Config {
    config::blueprint_config(b, "acme-home", "eu-west-1").expect("blueprint config")
}

fn of_type<'a>(t: &'a Value, ty: &str) -> Vec<(&'a String, &'a Value)> {
    t["Resources"].as_object().expect("resources").iter().filter(|(_, r)| r["Type"] == ty).collect()
}

#[test]
fn every_alarm_is_exported_as_an_alarm_arn_output_and_covers_each_function() {
    for b in assets::blueprint_names() {
        let t = backend(&blueprint(b));
        let alarms = of_type(&t, "AWS::CloudWatch::Alarm");
        let functions = of_type(&t, "AWS::Lambda::Function");
        assert_eq!(alarms.len(), functions.len() * 2 + 3, "{b}: Errors + Throttles per function, 5xx, DLQ, denials");
        for (id, a) in &alarms {
            let out = &t["Outputs"][format!("{id}Arn")];
            let name = a["Properties"]["AlarmName"].as_str().expect("name");
            assert!(
                out["Value"]["Fn::Sub"].as_str().is_some_and(|v| v.ends_with(&format!(":alarm:{name}"))),
                "{b}: {id}"
            );
        }
        let arn_outputs = t["Outputs"].as_object().unwrap().keys().filter(|k| k.ends_with("AlarmArn")).count();
        assert_eq!(arn_outputs, alarms.len(), "{b}");
        for (fid, _) in &functions {
            for metric in ["Errors", "Throttles"] {
                assert!(
                    alarms.iter().any(|(_, a)| a["Properties"]["MetricName"] == metric
                        && a["Properties"]["Dimensions"][0]["Value"]["Ref"] == fid.as_str()),
                    "{b}: {fid} has a {metric} alarm"
                );
            }
        }
        let dlq = &t["Resources"]["DeadLetterQueueDepthAlarm"]["Properties"];
        assert_eq!(dlq["Dimensions"][0]["Value"]["Fn::GetAtt"][0], "DeadLetterQueue");
        let api = &t["Resources"]["Api5xxAlarm"]["Properties"];
        assert_eq!(
            (api["MetricName"].as_str(), api["Dimensions"][1]["Value"].as_str()),
            (Some("5XXError"), Some("v1"))
        );
    }
}

#[test]
fn provisioning_denials_alarm_counts_the_line_the_hook_really_logs() {
    let t = backend(&blueprint("smart-home"));
    let filter = &t["Resources"]["ProvisioningDenialsMetricFilter"]["Properties"];
    assert_eq!(filter["LogGroupName"]["Ref"], "ProvisioningHookLogGroup");
    let pattern = filter["FilterPattern"].as_str().expect("pattern").trim_matches('"').to_string();
    let hook =
        std::fs::read_to_string(root().join("runtime-lambdas/provisioning-hook/src/lib.rs")).expect("hook source");
    assert!(hook.contains(&format!("\"{pattern}\"")), "the hook logs `{pattern}` when it refuses a device");
    let alarm = &t["Resources"]["ProvisioningDenialsAlarm"]["Properties"];
    let m = &filter["MetricTransformations"][0];
    assert_eq!((&alarm["Namespace"], &alarm["MetricName"]), (&m["MetricNamespace"], &m["MetricName"]));
}

#[test]
fn waf_logs_never_contain_the_authorization_header() {
    let t = backend(&blueprint("smart-home"));
    let lc = &t["Resources"]["WafLogging"]["Properties"];
    assert_eq!(lc["ResourceArn"]["Fn::GetAtt"][0], "WebAcl");
    assert!(lc["RedactedFields"].as_array().unwrap().iter().any(|f| f["SingleHeader"]["Name"] == "authorization"));
    assert!(lc["LogDestinationConfigs"][0]["Fn::Sub"].as_str().unwrap().ends_with(":log-group:${WafLogGroup}"));
    let name = t["Resources"]["WafLogGroup"]["Properties"]["LogGroupName"].as_str().unwrap();
    assert!(name.starts_with("aws-waf-logs-"), "WAF only delivers to aws-waf-logs-* groups: {name}");
}

#[test]
fn iot_logging_and_the_device_defender_audit_follow_the_config_and_can_be_left_out() {
    let mut cfg = blueprint("smart-home");
    let t = backend(&cfg);
    assert_eq!(t["Resources"]["IotLogging"]["Properties"]["DefaultLogLevel"], "WARN");
    let audit = &t["Resources"]["ScheduledAudit"]["Properties"];
    assert_eq!(audit["Frequency"], "DAILY");
    assert!(audit["TargetCheckNames"].as_array().unwrap().iter().any(|c| c == "IOT_POLICY_OVERLY_PERMISSIVE_CHECK"));
    assert_eq!(
        t["Resources"]["AuditConfiguration"]["Properties"]["AuditCheckConfigurations"]
            ["IotPolicyOverlyPermissiveCheck"]["Enabled"],
        true
    );
    cfg.security.iot_log_level = config::IotLogLevel::Disabled;
    cfg.security.device_defender_audit = false;
    let t = backend(&cfg);
    for id in ["IotLogging", "IotLoggingRole", "AuditConfiguration", "ScheduledAudit", "AuditRole"] {
        assert!(t["Resources"].get(id).is_none(), "{id} left out");
    }
    cfg.security.iot_log_level = config::IotLogLevel::Info;
    assert_eq!(backend(&cfg)["Resources"]["IotLogging"]["Properties"]["DefaultLogLevel"], "INFO");
    let parsed = config::parse(
        &config::blueprint_source("smart-home", "acme-home", "eu-west-1")
            .unwrap()
            .replace("iot_log_level: WARN", "iot_log_level: LOUD"),
        "rainmaker.yaml",
    );
    let e = parsed.expect_err("an unknown level is refused").to_string();
    assert!(e.contains("security") || e.contains("iot_log_level") || e.contains("LOUD"), "{e}");
}

#[test]
fn provisioning_role_is_least_privilege_and_service_roles_name_their_source() {
    let t = backend(&blueprint("smart-home"));
    let role = &t["Resources"]["ProvisioningRole"]["Properties"];
    assert!(role.get("ManagedPolicyArns").is_none(), "no AWS managed wildcard policy");
    for st in role["Policies"][0]["PolicyDocument"]["Statement"].as_array().unwrap() {
        for a in st["Action"].as_array().unwrap() {
            assert!(a.as_str().is_some_and(|a| a.starts_with("iot:") && !a.contains('*')), "{a}");
        }
        let r = st["Resource"]["Fn::Sub"].as_str().expect("one scoped resource");
        assert!(!r.ends_with(":*") && r.contains(":iot:"), "{r}");
    }
    let src = |id: &str| {
        t["Resources"][id]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]["ArnLike"]
            ["aws:SourceArn"]["Fn::Sub"]
            .as_str()
            .map(String::from)
    };
    assert!(src("ProvisioningRole").is_some_and(|s| s.ends_with(":provisioningtemplate/rm-acme-home-fleet")));
    assert!(src("TopicRuleErrorRole").is_some_and(|s| s.ends_with(":rule/rm_acme_home_*")));
    assert!(src("IotLoggingRole").is_some());
}

#[test]
fn only_the_deployed_stage_may_invoke_the_api_function() {
    let t = backend(&blueprint("smart-home"));
    let perms = of_type(&t, "AWS::Lambda::Permission");
    let api: Vec<_> =
        perms.iter().filter(|(_, p)| p["Properties"]["Principal"] == "apigateway.amazonaws.com").collect();
    assert!(!api.is_empty());
    for (id, p) in api {
        let arn = p["Properties"]["SourceArn"]["Fn::Sub"].as_str().unwrap();
        assert!(arn.ends_with("${RestApi}/v1/*/*"), "{id}: {arn}");
    }
}

#[test]
fn users_may_turn_on_totp_and_an_email_change_waits_for_its_verification() {
    let mut cfg = blueprint("smart-home");
    let pool = |cfg: &config::Config| backend(cfg)["Resources"]["UserPool"]["Properties"].clone();
    let p = pool(&cfg);
    assert_eq!(p["MfaConfiguration"], "OFF");
    assert_eq!(p["UserAttributeUpdateSettings"]["AttributesRequireVerificationBeforeUpdate"][0], "email");
    assert_eq!(p["AutoVerifiedAttributes"][0], "email");
    cfg.security.mfa = config::Mfa::Optional;
    let p = pool(&cfg);
    assert_eq!(p["MfaConfiguration"], "OPTIONAL");
    assert_eq!(p["EnabledMfas"], serde_json::json!(["SOFTWARE_TOKEN_MFA"]));
}

#[test]
fn waf_body_limit_is_the_apis_and_the_bind_path_has_its_own_rate_rule() {
    let t = backend(&blueprint("smart-home"));
    let rules = t["Resources"]["WebAcl"]["Properties"]["Rules"].as_array().unwrap().clone();
    let rule = |name: &str| rules.iter().find(|r| r["Name"] == name).unwrap_or_else(|| panic!("{name}")).clone();
    let size = rule("body-size")["Statement"]["SizeConstraintStatement"].clone();
    let http = std::fs::read_to_string(root().join("runtime-lambdas/api/src/http.rs")).expect("api source");
    assert!(http.contains("const MAX_BODY: usize = 16 * 1024;"), "the api function's limit is 16 KB");
    assert_eq!((size["Size"].as_u64(), size["ComparisonOperator"].as_str()), (Some(16 * 1024), Some("GT")));
    assert_eq!(size["FieldToMatch"]["Body"]["OversizeHandling"], "MATCH", "a body past inspection is blocked");
    let common = rule("aws-common-rule-set");
    let ov = &common["Statement"]["ManagedRuleGroupStatement"]["RuleActionOverrides"][0];
    assert_eq!((ov["Name"].as_str(), ov["ActionToUse"]["Count"].is_object()), (Some("SizeRestrictions_BODY"), true));
    let bind = rule("bind-rate-limit-per-ip")["Statement"]["RateBasedStatement"].clone();
    assert_eq!(bind["Limit"], 100);
    assert_eq!(bind["ScopeDownStatement"]["ByteMatchStatement"]["SearchString"], "/nodes/bind");
    assert!(bind["Limit"].as_u64() < rule("rate-limit-per-ip")["Statement"]["RateBasedStatement"]["Limit"].as_u64());
}

/// What the preflight's mapping template does with a request's Origin (its one `#if` over `$origin == '...'`).
fn preflight_allows(template: &str, origin: &str) -> bool {
    template.contains(&format!("$origin == '{origin}'"))
}

#[test]
fn cors_preflight_reflects_only_the_configured_origins() {
    let mut cfg = blueprint("smart-home");
    cfg.api.allowed_origins = vec!["https://app.acme.com".into(), "http://localhost:3000".into()];
    let t = backend(&cfg);
    let ir = &t["Resources"]["ApiProxyOptionsMethod"]["Properties"]["Integration"]["IntegrationResponses"][0];
    assert!(
        ir["ResponseParameters"].get("method.response.header.Access-Control-Allow-Origin").is_none(),
        "no fixed origin"
    );
    assert_eq!(ir["ResponseParameters"]["method.response.header.Vary"], "'Origin'");
    let vtl = ir["ResponseTemplates"]["application/json"].as_str().expect("mapping template");
    assert!(vtl.contains("responseOverride.header.Access-Control-Allow-Origin = $origin"));
    for (o, ok) in
        [("https://app.acme.com", true), ("http://localhost:3000", true), ("https://evil.example", false), ("*", false)]
    {
        assert_eq!(preflight_allows(vtl, o), ok, "{o}");
    }
    cfg.api.allowed_origins = vec!["*".into()];
    let t = backend(&cfg);
    let ir = &t["Resources"]["ApiProxyOptionsMethod"]["Properties"]["Integration"]["IntegrationResponses"][0];
    assert_eq!(ir["ResponseParameters"]["method.response.header.Access-Control-Allow-Origin"], "'*'");
    assert!(ir.get("ResponseTemplates").is_none());
}

#[test]
fn validate_warns_about_the_placeholder_and_the_wildcard_origin() {
    let cfg = blueprint("smart-home");
    assert_eq!(cfg.api.allowed_origins, vec!["https://app.example.com".to_string()], "init no longer writes `*`");
    let w = config::warnings(&cfg);
    assert_eq!(w.len(), 1);
    assert!(w[0].path == "api.allowed_origins[0]" && w[0].message.contains("placeholder"), "{w:?}");
    let mut cfg = cfg;
    cfg.api.allowed_origins = vec!["*".into()];
    assert!(config::warnings(&cfg)[0].message.contains("any web page"));
    cfg.api.allowed_origins = vec!["https://app.acme.com".into()];
    assert_eq!(config::warnings(&cfg), vec![]);
}

/// The tenant's key secrets are data: `plan`/`apply` treat a replacement or removal of either as the loss of a
/// stateful resource (refused without `--allow-replace`), and the stack policy protects them like the tables.
#[test]
fn key_secrets_are_stateful_and_never_replaced_without_allow_replace() {
    use rainmaker_deploy::aws::plan::{PlanKind, ResourceChange, StackPlan, TemplateInfo};
    for b in assets::blueprint_names() {
        let info = TemplateInfo::from_template(&backend(&blueprint(b)));
        let protected = info.data_resources();
        for id in ["SerialKeySecret", "GdprReceiptKeySecret"] {
            let r = &info.resources[id];
            assert!(r.stateful && r.data_class.as_deref() == Some("key-material"), "{b}: {id} {r:?}");
            assert!(protected.iter().any(|p| p == id), "{b}: the stack policy protects {id}");
        }
        let change = |id: &str, action: &str, replacement: Option<&str>| ResourceChange {
            logical_id: id.into(),
            resource_type: info.resources[id].resource_type.clone(),
            action: action.into(),
            replacement: replacement.map(str::to_string),
            physical_id: None,
            description: None,
            stateful: info.resources[id].stateful,
            details: vec![],
        };
        let plan = StackPlan {
            stack: "backend".into(),
            stack_name: "rm-acme-home".into(),
            kind: PlanKind::Update,
            changes: vec![
                change("SerialKeySecret", "Modify", Some("True")),
                change("GdprReceiptKeySecret", "Remove", None),
                change("DeadLetterQueue", "Modify", Some("True")),
            ],
            change_set: None,
            recovery: None,
        };
        let blocked: Vec<&str> = plan.blocked().iter().map(|c| c.logical_id.as_str()).collect();
        assert_eq!(blocked, ["SerialKeySecret", "GdprReceiptKeySecret"], "{b}");
    }
}

fn with_kms(b: &str, kms: &str) -> config::Config {
    let mut cfg = blueprint(b);
    cfg.security.kms = serde_json::from_value(Value::String(kms.into())).expect("a kms setting");
    cfg
}

/// The checkov checks that want a customer-managed key, by the resource type they look at.
const CMK_CHECKS: [(&str, &str); 5] = [
    ("AWS::DynamoDB::Table", "CKV_AWS_119"),
    ("AWS::SQS::Queue", "CKV_AWS_27"),
    ("AWS::Logs::LogGroup", "CKV_AWS_158"),
    ("AWS::Lambda::Function", "CKV_AWS_173"),
    ("AWS::SecretsManager::Secret", "CKV_AWS_149"),
];

fn skips(r: &Value) -> Vec<&str> {
    r.pointer("/Metadata/checkov/skip")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|s| s["id"].as_str())
        .collect()
}

/// `security.kms: customer-managed`: one key per tenant (rotated, retained, aliased `alias/rm-<tenant>`) encrypts
/// every table, the queue, every log group, every function's environment and both secrets; CloudWatch Logs may
/// use it for this tenant's log groups only; no CMK check is suppressed any more.
#[test]
fn customer_managed_key_encrypts_every_table_queue_log_group_function_and_secret() {
    let key_arn = serde_json::json!({"Fn::GetAtt": ["TenantKey", "Arn"]});
    for b in assets::blueprint_names() {
        let t = backend(&with_kms(b, "customer-managed"));
        let keys = of_type(&t, "AWS::KMS::Key");
        assert_eq!(keys.len(), 1, "{b}: one key per tenant");
        let (id, key) = keys[0];
        assert_eq!(id, "TenantKey");
        assert_eq!(key["Properties"]["EnableKeyRotation"], true, "{b}");
        assert_eq!(
            (key["DeletionPolicy"].as_str(), key["UpdateReplacePolicy"].as_str()),
            (Some("Retain"), Some("Retain"))
        );
        assert_eq!(key["Metadata"]["DataClass"], "key-material");
        let alias = of_type(&t, "AWS::KMS::Alias");
        assert_eq!(alias.len(), 1);
        assert_eq!(alias[0].1["Properties"]["AliasName"], "alias/rm-acme-home");
        assert_eq!(alias[0].1["Properties"]["TargetKeyId"], serde_json::json!({"Ref": "TenantKey"}));

        // the key policy: the account administers, CloudWatch Logs only for this stack's log groups, each named
        let text = key["Properties"]["KeyPolicy"]["Fn::Sub"].as_str().expect("KeyPolicy is a Fn::Sub of JSON text");
        let policy: Value = serde_json::from_str(text).expect("the key policy is JSON");
        let st = policy["Statement"].as_array().unwrap();
        assert_eq!(st.len(), 2, "{policy}");
        assert_eq!(st[0]["Principal"]["AWS"], "arn:${AWS::Partition}:iam::${AWS::AccountId}:root");
        assert_eq!(st[1]["Principal"]["Service"], "logs.${AWS::Region}.amazonaws.com");
        let mut allowed: Vec<String> = st[1]["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"]
            .as_array()
            .expect("the logs statement is conditioned on the log group")
            .iter()
            .map(|a| a.as_str().unwrap().to_string())
            .collect();
        let mut groups: Vec<String> = of_type(&t, "AWS::Logs::LogGroup")
            .iter()
            .map(|(_, g)| {
                let name = g["Properties"]["LogGroupName"].as_str().unwrap();
                format!("arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:{name}")
            })
            .collect();
        allowed.sort();
        groups.sort();
        assert_eq!(allowed, groups, "{b}: CloudWatch Logs may use the key for exactly this stack's log groups");
        assert!(groups.iter().all(|g| g.contains("rm-acme-home")), "{groups:?}");

        let mut counted = 0;
        for (ty, check) in CMK_CHECKS {
            let of = of_type(&t, ty);
            assert!(!of.is_empty(), "{b}: no {ty}");
            for (id, r) in of {
                let p = &r["Properties"];
                let used = match ty {
                    "AWS::DynamoDB::Table" => {
                        assert_eq!(p["SSESpecification"]["SSEType"], "KMS", "{b} {id}");
                        &p["SSESpecification"]["KMSMasterKeyId"]
                    }
                    "AWS::SQS::Queue" => {
                        assert!(
                            p.get("SqsManagedSseEnabled").is_none(),
                            "{b} {id}: SSE-SQS and a KMS key exclude each other"
                        );
                        &p["KmsMasterKeyId"]
                    }
                    "AWS::Lambda::Function" => &p["KmsKeyArn"],
                    _ => &p["KmsKeyId"],
                };
                assert_eq!(used, &key_arn, "{b} {id} ({ty}) is encrypted with the tenant key");
                assert!(!skips(r).contains(&check), "{b} {id}: {check} passes now, it must not be suppressed");
                counted += 1;
            }
        }
        assert!(counted >= 6 + 1 + 7 + 5 + 2, "{b}: {counted} resources checked");
    }
}

/// Under the default (`aws-managed`) there is no key and nothing refers to one; each CMK check is suppressed with
/// a reason that names the setting that would make it pass.
#[test]
fn aws_managed_has_no_key_and_says_why_each_cmk_check_is_suppressed() {
    for b in assets::blueprint_names() {
        let t = backend(&blueprint(b));
        assert!(of_type(&t, "AWS::KMS::Key").is_empty() && of_type(&t, "AWS::KMS::Alias").is_empty(), "{b}");
        assert!(!serde_json::to_string(&t).unwrap().contains("TenantKey"), "{b}: nothing refers to a key");
        for (ty, check) in CMK_CHECKS {
            for (id, r) in of_type(&t, ty) {
                let skip = r
                    .pointer("/Metadata/checkov/skip")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .find(|s| s["id"] == check);
                let why = skip
                    .and_then(|s| s["comment"].as_str())
                    .unwrap_or_else(|| panic!("{b} {id}: {check} not suppressed"));
                assert!(why.contains("security.kms: customer-managed"), "{b} {id}: {why}");
            }
        }
    }
}

/// No role may use KMS with a wildcard: under both settings every statement with a `kms:` action names only
/// `kms:Decrypt` / `kms:GenerateDataKey` on the tenant key; the built-in check refuses a `kms:*` or a `Resource: *`
/// grant (the attack: a role that can decrypt any key in the account).
#[test]
fn kms_grants_are_on_the_tenant_key_only_never_a_wildcard() {
    for b in assets::blueprint_names() {
        for kms in ["aws-managed", "customer-managed"] {
            let t = backend(&with_kms(b, kms));
            let mut granted = 0;
            for (id, role) in of_type(&t, "AWS::IAM::Role") {
                for p in role["Properties"]["Policies"].as_array().into_iter().flatten() {
                    for st in p["PolicyDocument"]["Statement"].as_array().unwrap() {
                        let actions: Vec<&str> = match &st["Action"] {
                            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                            v => v.as_str().into_iter().collect(),
                        };
                        if !actions.iter().any(|a| a.starts_with("kms:")) {
                            continue;
                        }
                        granted += 1;
                        assert!(
                            actions.iter().all(|a| ["kms:Decrypt", "kms:GenerateDataKey"].contains(a)),
                            "{b} {id}: {actions:?}"
                        );
                        assert_eq!(
                            st["Resource"],
                            serde_json::json!([{"Fn::GetAtt": ["TenantKey", "Arn"]}]),
                            "{b} {id}"
                        );
                    }
                }
            }
            // five function roles and the topic rules' error role, or none at all
            assert_eq!(granted, if kms == "aws-managed" { 0 } else { 6 }, "{b} {kms}");
        }
    }
    let t = backend(&with_kms("smart-home", "customer-managed"));
    for (action, resource) in
        [("kms:*", serde_json::json!([{"Fn::GetAtt": ["TenantKey", "Arn"]}])), ("kms:Decrypt", serde_json::json!("*"))]
    {
        let mut bad = t.clone();
        bad["Resources"]["ApiRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({"Sid": "Any", "Effect": "Allow", "Action": [action], "Resource": resource}));
        let found = template::check(&bad);
        assert!(
            found.iter().any(|f| f.check == "kms-grant-scoped" && f.resource.as_deref() == Some("ApiRole")),
            "{action}: {found:?}"
        );
    }
    let mut bad = t.clone();
    bad["Resources"]["TelemetryTable"]["Properties"]["SSESpecification"] = serde_json::json!({"SSEEnabled": true});
    assert!(template::check(&bad)
        .iter()
        .any(|f| f.check == "kms-key-used" && f.resource.as_deref() == Some("TelemetryTable")));
}

/// The tenant key is data: replacing or removing it (e.g. switching back to `aws-managed`) is refused without
/// `--allow-replace`, and the stack policy protects it like the tables.
#[test]
fn tenant_key_is_stateful_and_never_replaced_without_allow_replace() {
    use rainmaker_deploy::aws::plan::{PlanKind, ResourceChange, StackPlan, TemplateInfo};
    let info = TemplateInfo::from_template(&backend(&with_kms("smart-home", "customer-managed")));
    let r = &info.resources["TenantKey"];
    assert!(r.stateful && r.data_class.as_deref() == Some("key-material"), "{r:?}");
    assert!(info.data_resources().iter().any(|p| p == "TenantKey"), "the stack policy protects the key");
    assert!(!info.resources["TenantKeyAlias"].stateful, "the alias is a name, not data");
    for (action, replacement) in [("Modify", Some("True")), ("Remove", None)] {
        let plan = StackPlan {
            stack: "backend".into(),
            stack_name: "rm-acme-home".into(),
            kind: PlanKind::Update,
            changes: vec![ResourceChange {
                logical_id: "TenantKey".into(),
                resource_type: "AWS::KMS::Key".into(),
                action: action.into(),
                replacement: replacement.map(str::to_string),
                physical_id: None,
                description: None,
                details: vec![],
                stateful: info.resources["TenantKey"].stateful,
            }],
            change_set: None,
            recovery: None,
        };
        assert_eq!(plan.blocked().len(), 1, "{action}");
    }
}
