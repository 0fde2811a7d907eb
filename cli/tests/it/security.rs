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
