//! Device Defender's overly-permissive-policy check (`template::iot_audit`, its documented rules) on every rendered
//! IoT policy of every blueprint x kms mode x pipeline x key generation, and the claim policy's exact topics.

use super::{config_with, PIPELINES};
use rainmaker_deploy::{assets, config, template};
use serde_json::Value;
use template::iot_audit::{self, AuditFinding, Rule};

/// Every `AWS::IoT::Policy` of a rendered tenant (every stack, and any policy with a document inside the fleet
/// provisioning template's body), by logical id, with `Fn::Sub` resolved.
fn iot_policies(r: &template::Rendered) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for s in &r.stacks {
        let parsed = template::parse(&s.body).expect("parses");
        for (id, res) in parsed["Resources"].as_object().expect("resources") {
            if res["Type"] == "AWS::IoT::Policy" {
                out.push((id.clone(), iot_audit::resolve_subs(&res["Properties"]["PolicyDocument"])));
            }
            if res["Type"] == "AWS::IoT::ProvisioningTemplate" {
                let body: Value =
                    serde_json::from_str(res["Properties"]["TemplateBody"].as_str().expect("body")).expect("json");
                for (pid, p) in body["Resources"].as_object().expect("template resources") {
                    if p["Type"] != "AWS::IoT::Policy" {
                        continue;
                    }
                    match &p["Properties"]["PolicyDocument"] {
                        Value::Null => assert!(p["Properties"]["PolicyName"].is_string(), "{pid}: {p}"),
                        Value::String(doc) => out.push((pid.clone(), serde_json::from_str(doc).expect("policy json"))),
                        doc => out.push((pid.clone(), doc.clone())),
                    }
                }
            }
        }
    }
    out
}

fn claim_connect_finding() -> AuditFinding {
    AuditFinding {
        statement: "ConnectForProvisioning".into(),
        action: "iot:Connect".into(),
        resource: "arn:aws:iot:eu-west-1:123456789012:client/rm-claim-*".into(),
        rule: Rule::ConnectWildcardClientId,
    }
}

/// Issue 8, high 2: "AWS IoT Device Defender's overly-permissive-policy audit must pass". The device policy and every
/// other IoT policy have no finding; the claim policy has exactly one, its `iot:Connect` on the `rm-claim-*`
/// client-id namespace, which fleet provisioning by claim needs (docs/security.md: a shared claim certificate has no
/// thing to attach, and a literal client id would let any claim holder knock provisioning devices off); no
/// provisioning topic, shadow or device topic is flagged.
#[test]
fn high2_device_defender_overly_permissive_check_finds_only_the_claim_client_namespace() {
    let mut checked = 0;
    for b in assets::blueprint_names() {
        for pipeline in PIPELINES {
            for kms in ["aws-managed", "customer-managed"] {
                for keys in [config::KeyGeneration::Csr, config::KeyGeneration::Aws] {
                    let mut cfg = config_with(b, kms, pipeline);
                    cfg.provisioning.key_generation = keys;
                    let policies = iot_policies(&template::render(&cfg).expect("renders"));
                    let mut ids: Vec<&str> = policies.iter().map(|(id, _)| id.as_str()).collect();
                    ids.sort_unstable();
                    assert_eq!(ids, ["ClaimPolicy", "DevicePolicy"], "{b} {kms} {pipeline}: the IoT policies");
                    for (id, doc) in &policies {
                        let found = iot_audit::overly_permissive(doc);
                        let want = if id == "ClaimPolicy" { vec![claim_connect_finding()] } else { vec![] };
                        assert_eq!(found, want, "{b} {kms} {pipeline} {keys:?} {id}: {doc}");
                        checked += 1;
                    }
                }
            }
        }
    }
    assert_eq!(checked, assets::blueprint_names().len() * PIPELINES.len() * 2 * 2 * 2);
}

/// The check above can fail: the rendered policies with a wildcard put back where the documented noncompliant
/// examples have one (a provisioning topic, another device's shadow, any client id) are reported.
#[test]
fn device_defender_check_reports_a_widened_device_or_claim_policy() {
    let r = template::render(&config_with("smart-home", "aws-managed", "direct")).expect("renders");
    let policies = iot_policies(&r);
    let doc = |id: &str| policies.iter().find(|(i, _)| i == id).expect("policy").1.to_string();
    let rules = |text: String| -> Vec<Rule> {
        let doc: Value = serde_json::from_str(&text).expect("json");
        iot_audit::overly_permissive(&doc).into_iter().map(|f| f.rule).collect()
    };
    let claim = doc("ClaimPolicy");
    let widened = claim.replace("create-from-csr/json\"", "create-from-csr/*\"");
    assert_ne!(widened, claim);
    assert_eq!(rules(widened), [Rule::ConnectWildcardClientId, Rule::TopicOfManyDevices]);
    let device = doc("DevicePolicy");
    assert_eq!(rules(device.clone()), []);
    let any_thing = device.replace("$aws/things/${iot:Connection.Thing.ThingName}/", "$aws/things/*/");
    assert_eq!(rules(any_thing), [Rule::TopicOfManyDevices, Rule::TopicOfManyDevices]);
    let mut unattached: Value = serde_json::from_str(&device).expect("json");
    let connect =
        unattached["Statement"].as_array_mut().expect("statements").iter_mut().find(|s| s["Action"] == "iot:Connect");
    connect.expect("connect").as_object_mut().expect("statement").remove("Condition").expect("a condition");
    assert_eq!(rules(unattached.to_string()), [Rule::ConnectUnattachedClientId]);
}

/// Issue 8, high 2: claim connections get their own client-id namespace, disjoint from thing names (the hook
/// refuses serials in it), so a claim holder cannot connect as a device.
#[test]
fn high2_claim_policy_connects_only_in_its_own_namespace() {
    for b in assets::blueprint_names() {
        let r = template::render(&config_with(b, "aws-managed", "direct")).expect("renders");
        let policies = iot_policies(&r);
        let doc = &policies.iter().find(|(id, _)| id == "ClaimPolicy").expect("claim policy").1;
        let connect: Vec<&Value> =
            doc["Statement"].as_array().expect("statements").iter().filter(|s| s["Action"] == "iot:Connect").collect();
        assert_eq!(connect.len(), 1, "{b}: {doc}");
        assert_eq!(connect[0]["Resource"], "arn:aws:iot:eu-west-1:123456789012:client/rm-claim-*", "{b}");
    }
}

/// Issue 8, high 1 and 2: the claim policy allows exactly the fleet-provisioning MQTT API topics AWS documents for
/// the chosen key generation (CSR by default: the private key never travels; `create` only with
/// `provisioning.key_generation: aws`), JSON payloads: publish the two requests, subscribe to and receive their
/// `accepted` and `rejected` answers; nothing else, no wildcard. The document stays under IoT's 2,048 characters
/// (whitespace excluded) with the longest tenant name in a long region.
#[test]
fn claim_policy_allows_exactly_the_fleet_provisioning_topics_csr_by_default() {
    let grants = |cfg: &config::Config| -> Vec<(String, Vec<String>)> {
        let policies = iot_policies(&template::render(cfg).expect("renders"));
        let doc = policies.into_iter().find(|(id, _)| id == "ClaimPolicy").expect("claim policy").1;
        let statements = doc["Statement"].as_array().expect("statements").clone();
        statements
            .iter()
            .filter(|st| st["Action"] != "iot:Connect")
            .map(|st| {
                let res = st["Resource"].as_array().expect("resources");
                let names = res.iter().map(|r| r.as_str().expect("arn").splitn(6, ':').nth(5).unwrap().into());
                (st["Action"].as_str().expect("one action").to_string(), names.collect())
            })
            .collect()
    };
    let want = |certs: &str, t: &str| {
        let answers = |kind: &str| -> Vec<String> {
            [format!("$aws/certificates/{certs}/json"), format!("$aws/provisioning-templates/{t}/provision/json")]
                .iter()
                .flat_map(|p| ["accepted", "rejected"].map(|a| format!("{kind}/{p}/{a}")))
                .collect()
        };
        vec![
            (
                "iot:Publish".to_string(),
                vec![
                    format!("topic/$aws/certificates/{certs}/json"),
                    format!("topic/$aws/provisioning-templates/{t}/provision/json"),
                ],
            ),
            ("iot:Receive".to_string(), answers("topic")),
            ("iot:Subscribe".to_string(), answers("topicfilter")),
        ]
    };
    for b in assets::blueprint_names() {
        let mut cfg = config_with(b, "aws-managed", "direct");
        assert_eq!(cfg.provisioning.key_generation, config::KeyGeneration::Csr, "{b}: CSR is the default");
        let t = template::Names::new(&cfg.name).provisioning_template;
        assert_eq!(grants(&cfg), want("create-from-csr", &t), "{b}");
        cfg.provisioning.key_generation = config::KeyGeneration::Aws;
        assert_eq!(grants(&cfg), want("create", &t), "{b}");
    }
    let long = "a".repeat(32);
    let cfg = config::blueprint_config("smart-home", &long, "ap-southeast-2").expect("config");
    let policies = iot_policies(&template::render(&cfg).expect("renders"));
    for (id, doc) in policies {
        let text = doc.to_string().replace("eu-west-1", "ap-southeast-2");
        let size = text.chars().filter(|c| !c.is_whitespace()).count();
        eprintln!("{id}: {size} characters (tenant of 32 characters, ap-southeast-2)");
        assert!(size <= 2048, "{id}: {size} characters: {text}");
    }
}
