//! Built-in checks on a rendered template: references resolve, every function has a role and a log group, data is
//! retained, device policies are scoped to the thing, every resource is described and the stack is stamped (and the
//! security checks of `security_checks`).

use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// One problem found in a template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Short id of the check (`unresolved-reference`, ...).
    pub check: &'static str,
    /// Logical id of the resource, when the finding is about one.
    pub resource: Option<String>,
    pub message: String,
}

const CONNECT_ACTIONS: &[&str] = &["iot:Connect", "iot:Publish", "iot:Subscribe", "iot:Receive"];
const THING_VAR: &str = "iot:Connection.Thing.ThingName";

/// Run every check on a parsed template.
pub fn check(template: &Value) -> Vec<Finding> {
    let mut out = Vec::new();
    let empty = Map::new();
    let resources = template.get("Resources").and_then(Value::as_object).unwrap_or(&empty);
    let params = template.get("Parameters").and_then(Value::as_object).unwrap_or(&empty);
    if template.pointer("/Metadata/RainmakerDeploy/TemplateVersion").and_then(Value::as_str).is_none() {
        out.push(finding("stamp", None, "the template has no Metadata.RainmakerDeploy.TemplateVersion".into()));
    }
    let device_policies = device_policy_names(resources);
    let known = |name: &str| name.starts_with("AWS::") || resources.contains_key(name) || params.contains_key(name);
    for (id, res) in resources {
        let mut refs = Vec::new();
        collect_refs(res, &mut refs);
        if let Some(d) = res.get("DependsOn") {
            let deps: Vec<&Value> = d.as_array().map_or_else(|| vec![d], |a| a.iter().collect());
            refs.extend(deps.into_iter().filter_map(Value::as_str).map(String::from));
        }
        for r in refs.into_iter().collect::<BTreeSet<_>>() {
            if !known(&r) {
                out.push(finding(
                    "unresolved-reference",
                    Some(id),
                    format!("refers to `{r}`, which is neither a resource nor a parameter"),
                ));
            }
        }
        if res.pointer("/Metadata/Description").and_then(Value::as_str).is_none_or(str::is_empty) {
            out.push(finding("description", Some(id), "has no Metadata.Description (progress output shows it)".into()));
        }
        let ty = res.get("Type").and_then(Value::as_str).unwrap_or("");
        match ty {
            "AWS::Lambda::Function" => check_function(id, res, resources, &mut out),
            "AWS::DynamoDB::Table" | "AWS::Cognito::UserPool" => check_retained(id, res, &mut out),
            "AWS::IoT::Policy" => check_iot_policy(id, res, device_policies.contains(&policy_name(res)), &mut out),
            _ => {}
        }
    }
    super::security_checks::check(resources, &mut out);
    for (id, out_v) in template.get("Outputs").and_then(Value::as_object).unwrap_or(&empty) {
        let mut refs = Vec::new();
        collect_refs(out_v, &mut refs);
        for r in refs {
            if !known(&r) {
                out.push(finding(
                    "unresolved-reference",
                    Some(id),
                    format!("output refers to `{r}`, which does not exist"),
                ));
            }
        }
    }
    out
}

fn finding(check: &'static str, resource: Option<&str>, message: String) -> Finding {
    Finding { check, resource: resource.map(String::from), message }
}

/// Every logical id a value refers to through `Ref`, `Fn::GetAtt` or `${...}` in `Fn::Sub`.
fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, inner) in m {
                match (k.as_str(), inner) {
                    ("Ref", Value::String(s)) => out.push(s.clone()),
                    ("Fn::GetAtt", Value::Array(a)) => out.extend(a.first().and_then(Value::as_str).map(String::from)),
                    ("Fn::GetAtt", Value::String(s)) => out.extend(s.split('.').next().map(String::from)),
                    ("Fn::Sub", Value::String(s)) => sub_vars(s, &BTreeSet::new(), out),
                    ("Fn::Sub", Value::Array(a)) => {
                        let locals: BTreeSet<String> = a
                            .get(1)
                            .and_then(Value::as_object)
                            .map(|m| m.keys().cloned().collect())
                            .unwrap_or_default();
                        if let Some(s) = a.first().and_then(Value::as_str) {
                            sub_vars(s, &locals, out);
                        }
                        if let Some(m) = a.get(1) {
                            collect_refs(m, out);
                        }
                    }
                    _ => collect_refs(inner, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect_refs(x, out)),
        _ => {}
    }
}

fn sub_vars(s: &str, locals: &BTreeSet<String>, out: &mut Vec<String>) {
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        rest = &rest[i + 2..];
        let Some(end) = rest.find('}') else { break };
        let var = &rest[..end];
        rest = &rest[end..];
        if var.starts_with('!') || locals.contains(var) {
            continue;
        }
        out.push(var.split('.').next().unwrap_or(var).to_string());
    }
}

fn check_function(id: &str, res: &Value, resources: &Map<String, Value>, out: &mut Vec<Finding>) {
    let is_type = |target: Option<&str>, ty: &str| {
        target.and_then(|t| resources.get(t)).and_then(|r| r.get("Type")).and_then(Value::as_str) == Some(ty)
    };
    let role = res.pointer("/Properties/Role/Fn::GetAtt/0").and_then(Value::as_str);
    if !is_type(role, "AWS::IAM::Role") {
        out.push(finding(
            "function-role",
            Some(id),
            "has no role of its own (Role must be Fn::GetAtt of an AWS::IAM::Role)".into(),
        ));
    }
    let log_group = res.pointer("/Properties/LoggingConfig/LogGroup/Ref").and_then(Value::as_str);
    if !is_type(log_group, "AWS::Logs::LogGroup") {
        out.push(finding(
            "function-log-group",
            Some(id),
            "has no log group of its own (LoggingConfig.LogGroup must Ref an AWS::Logs::LogGroup)".into(),
        ));
    } else if let Some(lg) = log_group.and_then(|l| resources.get(l)) {
        if lg.pointer("/Properties/RetentionInDays").is_none() {
            out.push(finding("log-retention", log_group, "log group keeps logs forever (no RetentionInDays)".into()));
        }
    }
}

fn check_retained(id: &str, res: &Value, out: &mut Vec<Finding>) {
    for key in ["DeletionPolicy", "UpdateReplacePolicy"] {
        if res.get(key).and_then(Value::as_str) != Some("Retain") {
            out.push(finding("data-retained", Some(id), format!("holds user data but its {key} is not Retain")));
        }
    }
}

fn policy_name(res: &Value) -> String {
    res.pointer("/Properties/PolicyName").and_then(Value::as_str).unwrap_or_default().to_string()
}

/// Names of the IoT policies that fleet provisioning attaches to devices.
fn device_policy_names(resources: &Map<String, Value>) -> BTreeSet<String> {
    resources
        .values()
        .filter(|r| r.get("Type").and_then(Value::as_str) == Some("AWS::IoT::ProvisioningTemplate"))
        .filter_map(|r| r.pointer("/Properties/TemplateBody").and_then(Value::as_str))
        .filter_map(|body| serde_json::from_str::<Value>(body).ok())
        .flat_map(|body| {
            body.get("Resources")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .filter_map(|(_, r)| {
                    (r.get("Type").and_then(Value::as_str) == Some("AWS::IoT::Policy"))
                        .then(|| r.pointer("/Properties/PolicyName").and_then(Value::as_str).map(String::from))
                        .flatten()
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

fn as_list(v: Option<&Value>) -> Vec<&Value> {
    match v {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(other) => vec![other],
        None => vec![],
    }
}

fn resource_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Object(m) => m.get("Fn::Sub").map(resource_text).unwrap_or_default(),
        Value::Array(a) => a.first().map(resource_text).unwrap_or_default(),
        _ => String::new(),
    }
}

fn check_iot_policy(id: &str, res: &Value, is_device: bool, out: &mut Vec<Finding>) {
    for st in as_list(res.pointer("/Properties/PolicyDocument/Statement")) {
        let actions: Vec<&str> = as_list(st.get("Action")).into_iter().filter_map(Value::as_str).collect();
        let resources: Vec<String> = as_list(st.get("Resource")).into_iter().map(resource_text).collect();
        if actions.iter().any(|a| *a == "*" || *a == "iot:*") {
            out.push(finding("iot-policy-wildcard", Some(id), "allows every IoT action (`iot:*`)".into()));
        }
        for r in &resources {
            if r == "*" {
                out.push(finding(
                    "iot-policy-wildcard",
                    Some(id),
                    format!("allows {} on every resource (`*`)", actions.join(", ")),
                ));
            } else if is_device && actions.iter().any(|a| CONNECT_ACTIONS.contains(a)) && !r.contains(THING_VAR) {
                out.push(finding(
                    "device-policy-scope",
                    Some(id),
                    format!("device policy resource `{r}` is not scoped by ${{{THING_VAR}}}"),
                ));
            }
        }
    }
}
