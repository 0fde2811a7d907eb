//! Rendered templates of every blueprint: snapshots, determinism, built-in checks and cfn-lint (no errors, no
//! warnings).

use crate::support::root;
use rainmaker_deploy::{assets, config, template};
use std::path::PathBuf;
use std::process::Command;

fn rendered(blueprint: &str) -> template::Rendered {
    let cfg = config::blueprint_config(blueprint, "acme-home", "eu-west-1").expect("blueprint config");
    template::render(&cfg).expect("renders")
}

/// cfn-lint from `CFN_LINT`, the project venv, or PATH; the tests need it (`cargo xtask test` installs it).
pub fn cfn_lint() -> PathBuf {
    if let Some(p) = std::env::var_os("CFN_LINT") {
        return p.into();
    }
    let venv = root().join(".venv/bin/cfn-lint");
    if venv.is_file() {
        return venv;
    }
    rainmaker_deploy::cfn_lint::find()
        .expect("cfn-lint is not installed: run `cargo xtask test`, which installs it into .venv")
}

#[test]
fn every_blueprint_renders_the_same_bytes_twice_and_matches_its_snapshot() {
    for b in assets::blueprint_names() {
        let first = rendered(b);
        assert_eq!(first, rendered(b), "{b}: rendering is deterministic");
        for s in &first.stacks {
            insta::assert_snapshot!(format!("{b}-{}", s.name), &s.body);
        }
    }
}

#[test]
fn every_blueprint_passes_the_built_in_checks() {
    for b in assets::blueprint_names() {
        for s in rendered(b).stacks {
            let parsed = template::parse(&s.body).expect("parses");
            assert_eq!(template::check(&parsed), vec![], "{b}/{}", s.name);
        }
    }
}

#[test]
pub fn cfn_lint_finds_nothing_in_any_blueprint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut files = Vec::new();
    for b in assets::blueprint_names() {
        for s in rendered(b).stacks {
            let p = dir.path().join(format!("{b}-{}", s.file_name));
            std::fs::write(&p, &s.body).expect("write");
            files.push(p);
        }
    }
    let out = Command::new(cfn_lint())
        .args(&files)
        .args(["--regions", "eu-west-1", "us-east-1", "--format", "parseable"])
        .output()
        .expect("runs cfn-lint");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && report.trim().is_empty(),
        "cfn-lint (exit {:?}):\n{report}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
pub fn cfn_lint_rejects_a_broken_template() {
    // the negative control: the lint test above can fail
    let body =
        rendered("smart-home").stack("backend").expect("backend").body.replace("MemorySize: 128", "MemorySize: 12");
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("broken.yaml");
    std::fs::write(&p, body).expect("write");
    let found = rainmaker_deploy::cfn_lint::lint(&cfn_lint(), &p, "eu-west-1").expect("cfn-lint runs");
    assert!(found.iter().any(|m| m.rule == "E3034" && m.message.contains("12")), "{found:?}");
}

#[test]
fn built_in_checks_catch_each_kind_of_mistake() {
    let r = rendered("smart-home");
    let body = &r.stack("backend").expect("backend").body;
    let cases: &[(&str, &str, &str)] = &[
        (
            "DeletionPolicy: Retain\n    UpdateReplacePolicy: Retain\n    Metadata:\n      Description: \"App users",
            "DeletionPolicy: Delete\n    UpdateReplacePolicy: Retain\n    Metadata:\n      Description: \"App users",
            "data-retained",
        ),
        (
            "Role: {\"Fn::GetAtt\": [\"ApiRole\", \"Arn\"]}",
            "Role: {\"Fn::GetAtt\": [\"DeadLetterQueue\", \"Arn\"]}",
            "function-role",
        ),
        ("LogGroup: {\"Ref\": \"PresenceLogGroup\"}", "LogGroup: {\"Ref\": \"PresenceRole\"}", "function-log-group"),
        ("{\"Ref\": \"DeadLetterQueue\"}", "{\"Ref\": \"DeadLetterQ\"}", "unresolved-reference"),
        ("client/${!iot:Connection.Thing.ThingName}", "client/*", "device-policy-scope"),
        ("\"Action\":\"iot:Connect\"", "\"Action\":\"iot:*\"", "iot-policy-wildcard"),
        ("Description: Catch-all path of the REST API", "Note: none", "description"),
        ("    TemplateVersion:", "    Version:", "stamp"),
    ];
    for (from, to, check) in cases {
        assert!(body.contains(from), "fixture text `{from}` is in the template");
        let parsed = template::parse(&body.replacen(from, to, 1)).expect("still YAML");
        let found = template::check(&parsed);
        assert!(found.iter().any(|f| f.check == *check), "{check} not found after `{to}`: {found:?}");
    }
}

#[test]
fn smart_home_backend_has_the_whole_architecture() {
    let parsed = template::parse(&rendered("smart-home").stack("backend").expect("backend").body).expect("parses");
    let res = parsed["Resources"].as_object().expect("resources");
    let count = |ty: &str| res.values().filter(|r| r["Type"] == ty).count();
    assert_eq!(count("AWS::DynamoDB::Table"), 6);
    assert_eq!(count("AWS::Lambda::Function"), 4);
    assert_eq!(count("AWS::Logs::LogGroup"), 4);
    assert_eq!(count("AWS::IoT::TopicRule"), 3);
    assert_eq!(count("AWS::IoT::ProvisioningTemplate"), 1);
    assert_eq!(count("AWS::WAFv2::WebACLAssociation"), 1);
    assert_eq!(count("AWS::SQS::Queue"), 1);
    for (id, r) in res.iter().filter(|(_, r)| r["Type"] == "AWS::DynamoDB::Table") {
        let p = &r["Properties"];
        assert_eq!(p["BillingMode"], "PAY_PER_REQUEST", "{id}");
        assert_eq!(p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"], true, "{id}");
        assert_eq!(p["SSESpecification"]["SSEEnabled"], true, "{id}");
    }
    for id in ["TelemetryTable", "BindingRequestsTable"] {
        assert_eq!(res[id]["Properties"]["TimeToLiveSpecification"]["AttributeName"], "expires_at");
    }
    let hook = &res["ProvisioningTemplate"]["Properties"]["PreProvisioningHook"];
    assert_eq!(hook["TargetArn"]["Fn::GetAtt"][0], "ProvisioningHookFunction");
    for rule in ["TelemetryRule", "PresenceRule", "BindingRule"] {
        assert!(res[rule]["Properties"]["TopicRulePayload"]["ErrorAction"]["Sqs"].is_object(), "{rule}");
    }
    let f = &res["TelemetryIngestFunction"]["Properties"];
    assert_eq!((f["Runtime"].as_str(), f["Architectures"][0].as_str()), (Some("provided.al2023"), Some("arm64")));
    assert_eq!(f["Code"]["S3Key"]["Ref"], "TelemetryIngestCodeKey");
    assert_eq!(f["Environment"]["Variables"]["TELEMETRY_TTL_DAYS"], "30");
    let waf = &res["WebAcl"]["Properties"]["Rules"];
    assert_eq!(waf[0]["Statement"]["RateBasedStatement"]["Limit"], 2000);
    assert_eq!(waf[1]["Statement"]["ManagedRuleGroupStatement"]["Name"], "AWSManagedRulesCommonRuleSet");
}

#[test]
fn blueprints_differ_where_their_products_do() {
    let env = |b: &str, var: &str| {
        let parsed = template::parse(&rendered(b).stack("backend").expect("backend").body).expect("parses");
        let fname = if var == "SHARING_ENABLED" { "ApiFunction" } else { "TelemetryIngestFunction" };
        parsed["Resources"][fname]["Properties"]["Environment"]["Variables"][var].as_str().map(String::from)
    };
    assert_eq!(env("water-meter", "TELEMETRY_TTL_DAYS").as_deref(), Some("365"));
    assert_eq!(env("water-meter", "SHARING_ENABLED").as_deref(), Some("false"));
    assert_eq!(env("industrial-sensor", "TELEMETRY_TTL_DAYS").as_deref(), Some("7"));
}
