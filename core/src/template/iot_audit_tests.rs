//! The documented compliant and noncompliant examples of `IOT_POLICY_OVERLY_PERMISSIVE_CHECK`, as a table.

use super::*;
use serde_json::json;

const ARN: &str = "arn:aws:iot:region:account-id";

fn allow(action: &str, resource: &str) -> Value {
    json!({ "Version": "2012-10-17", "Statement": [{ "Effect": "Allow", "Action": [action], "Resource": [resource] }] })
}

fn attached(action: &str, resource: &str) -> Value {
    json!({ "Version": "2012-10-17", "Statement": [{ "Effect": "Allow", "Action": [action], "Resource": [resource],
        "Condition": { "Bool": { "iot:Connection.Thing.IsAttached": "true" } } }] })
}

fn rules(policy: &Value) -> Vec<Rule> {
    overly_permissive(policy).into_iter().map(|f| f.rule).collect()
}

/// Each documented example (first block: the page's own), then the extrapolations this checker makes.
#[test]
fn documented_examples_table() {
    use Rule::*;
    let t = |ty: &str, name: &str| format!("{ARN}:{ty}/{name}");
    let rows: Vec<(&str, Value, Vec<Rule>)> = vec![
        // Connect
        (
            "connect client/* (documented noncompliant)",
            allow("iot:Connect", &t("client", "*")),
            vec![ConnectWildcardClientId],
        ),
        (
            "connect ${iot:ClientId} without IsAttached (documented noncompliant)",
            allow("iot:Connect", &t("client", "${iot:ClientId}")),
            vec![ConnectUnattachedClientId],
        ),
        (
            "connect thing name + IsAttached (documented compliant)",
            attached("iot:Connect", &t("client", "${iot:Connection.Thing.ThingName}")),
            vec![],
        ),
        // Publish
        (
            "publish $aws/things/*/shadow/update (documented noncompliant)",
            allow("iot:Publish", &t("topic", "$aws/things/*/shadow/update")),
            vec![TopicOfManyDevices],
        ),
        (
            "publish $aws/things/* (documented noncompliant)",
            allow("iot:Publish", &t("topic", "$aws/things/*")),
            vec![TopicOfManyDevices],
        ),
        (
            "publish own shadow/* (documented compliant)",
            allow("iot:Publish", &t("topic", "$aws/things/${iot:Connection.Thing.ThingName}/shadow/*")),
            vec![],
        ),
        // Subscribe
        (
            "subscribe $aws/things/* (documented noncompliant)",
            allow("iot:Subscribe", &t("topicfilter", "$aws/things/*")),
            vec![TopicOfManyDevices],
        ),
        (
            "subscribe $aws/things/# (documented noncompliant)",
            allow("iot:Subscribe", &t("topicfilter", "$aws/things/#")),
            vec![TopicOfManyDevices],
        ),
        (
            "subscribe $aws/things/+/shadow/update (documented noncompliant)",
            allow("iot:Subscribe", &t("topicfilter", "$aws/things/+/shadow/update")),
            vec![TopicOfManyDevices],
        ),
        (
            "subscribe own shadow/* and jobs/* (documented compliant)",
            json!({ "Statement": [{ "Effect": "Allow", "Action": ["iot:Subscribe"], "Resource": [
            t("topicfilter", "$aws/things/${iot:Connection.Thing.ThingName}/shadow/*"),
            t("topicfilter", "$aws/things/${iot:Connection.Thing.ThingName}/jobs/*")] }] }),
            vec![],
        ),
        // Receive
        ("receive $aws/things/* (documented compliant)", allow("iot:Receive", &t("topic", "$aws/things/*")), vec![]),
        // Shadow and job actions
        (
            "shadow and job actions on thing/* (documented noncompliant)",
            allow("iot:UpdateThingShadow", &t("thing", "*")),
            vec![ThingOfManyDevices],
        ),
        (
            "shadow and job actions on two named things (documented compliant)",
            json!({ "Statement": [{ "Effect": "Allow", "Action": [
            "iot:DeleteThingShadow", "iot:GetThingShadow", "iot:UpdateThingShadow", "iot:DescribeJobExecution",
            "iot:GetPendingJobExecutions", "iot:StartNextPendingJobExecution", "iot:UpdateJobExecution"],
            "Resource": [format!("{ARN}:/thing/MyThing1"), format!("{ARN}:/thing/MyThing2")] }] }),
            vec![],
        ),
        // extrapolations (module doc)
        ("connect a literal client id", allow("iot:Connect", &t("client", "client1")), vec![]),
        ("connect ${iot:ClientId} with IsAttached", attached("iot:Connect", &t("client", "${iot:ClientId}")), vec![]),
        (
            "connect thing name without IsAttached",
            allow("iot:Connect", &t("client", "${iot:Connection.Thing.ThingName}")),
            vec![ConnectUnattachedClientId],
        ),
        (
            "connect a prefix wildcard (a namespace is still any client)",
            allow("iot:Connect", &t("client", "rm-claim-*")),
            vec![ConnectWildcardClientId],
        ),
        ("connect on *", allow("iot:Connect", "*"), vec![EveryResource]),
        (
            "publish a wildcard outside $aws/things",
            allow("iot:Publish", &t("topic", "node/*")),
            vec![TopicOfManyDevices],
        ),
        (
            "publish a wildcard right after the thing name (others' names share the prefix)",
            allow("iot:Publish", &t("topic", "node/${iot:Connection.Thing.ThingName}*")),
            vec![TopicOfManyDevices],
        ),
        (
            "publish under the own thing",
            allow("iot:Publish", &t("topic", "node/${iot:Connection.Thing.ThingName}/*")),
            vec![],
        ),
        (
            "publish an exact fleet-provisioning topic",
            allow("iot:Publish", &t("topic", "$aws/certificates/create-from-csr/json")),
            vec![],
        ),
        (
            "publish fleet-provisioning topics by wildcard",
            allow("iot:Publish", &t("topic", "$aws/certificates/create-from-csr/*")),
            vec![TopicOfManyDevices],
        ),
        (
            "publish under ${iot:ClientId} unattached",
            allow("iot:Publish", &t("topic", "${iot:ClientId}/*")),
            vec![TopicOfManyDevices],
        ),
        ("publish under ${iot:ClientId} attached", attached("iot:Publish", &t("topic", "${iot:ClientId}/*")), vec![]),
        ("iot:* on every resource: each of the 10 non-Receive actions", allow("iot:*", "*"), vec![EveryResource; 10]),
        (
            "iot:Get* expands to GetThingShadow and GetPendingJobExecutions",
            allow("iot:Get*", &t("thing", "*")),
            vec![ThingOfManyDevices; 2],
        ),
        ("a resource of another type grants nothing for the action", allow("iot:Connect", &t("topic", "*")), vec![]),
        ("a wildcard resource type", allow("iot:Publish", &format!("{ARN}:*")), vec![EveryResource]),
        (
            "NotResource is every resource",
            json!({ "Statement": [{ "Effect": "Allow", "Action": "iot:Publish", "NotResource": t("topic", "a") }] }),
            vec![EveryResource],
        ),
        (
            "NotAction grants every other data-plane action",
            json!({ "Statement": [{ "Effect": "Allow", "NotAction": ["iot:Publish", "iot:Subscribe", "iot:Receive", "iot:*Shadow", "iot:*Job*"], "Resource": t("client", "*") }] }),
            vec![ConnectWildcardClientId],
        ),
        (
            "Deny is never a finding",
            json!({ "Statement": [{ "Effect": "Deny", "Action": "iot:*", "Resource": "*" }] }),
            vec![],
        ),
        ("a non data-plane action is not this check's", allow("iot:CreateThing", "*"), vec![]),
    ];
    for (what, policy, want) in rows {
        assert_eq!(rules(&policy), want, "{what}");
    }
}

#[test]
fn finding_names_statement_action_and_resource() {
    let policy = json!({ "Statement": [
        { "Effect": "Allow", "Action": "iot:Receive", "Resource": "*" },
        { "Sid": "Claim", "Effect": "Allow", "Action": "iot:Connect", "Resource": "arn:aws:iot:r:1:client/rm-claim-*" },
        { "Effect": "Allow", "Action": "iot:Subscribe", "Resource": ["arn:aws:iot:r:1:topicfilter/ok", "arn:aws:iot:r:1:topicfilter/a/#"] }
    ] });
    assert_eq!(
        overly_permissive(&policy),
        vec![
            AuditFinding {
                statement: "Claim".into(),
                action: "iot:Connect".into(),
                resource: "arn:aws:iot:r:1:client/rm-claim-*".into(),
                rule: Rule::ConnectWildcardClientId
            },
            AuditFinding {
                statement: "#2".into(),
                action: "iot:Subscribe".into(),
                resource: "arn:aws:iot:r:1:topicfilter/a/#".into(),
                rule: Rule::TopicOfManyDevices
            },
        ]
    );
}

#[test]
fn subs_resolve_to_plain_arns_with_policy_variables() {
    let doc = json!({ "Resource": [{ "Fn::Sub": "arn:${AWS::Partition}:iot:${AWS::Region}:${AWS::AccountId}:client/${!iot:Connection.Thing.ThingName}" }] });
    assert_eq!(
        resolve_subs(&doc),
        json!({ "Resource": ["arn:aws:iot:eu-west-1:123456789012:client/${iot:Connection.Thing.ThingName}"] })
    );
}

#[test]
fn glob_matches_like_iam() {
    for (p, t, want) in [
        ("iot:*", "iot:Connect", true),
        ("*", "x", true),
        ("iot:Get*", "iot:GetThingShadow", true),
        ("iot:*Shadow", "iot:Publish", false),
        ("IOT:CONNECT", "iot:Connect", true),
        ("iot:Conn?ct", "iot:Connect", true),
        ("iot:Connect", "iot:ConnectX", false),
    ] {
        assert_eq!(glob(p, t), want, "{p} ~ {t}");
    }
}
