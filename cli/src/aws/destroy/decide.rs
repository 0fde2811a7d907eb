//! What `destroy` keeps and what `--delete-data` deletes, decided from the LIVE stack (its template as deployed
//! and its resources), never from this version's local template: a tenant deployed by an older version is judged
//! by what is deployed. Pure: functions over the live template and the physical ids, table-tested.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A resource the live stack retains (`DeletionPolicy: Retain`): it outlives the stack.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Retained {
    pub stack: String,
    pub logical_id: String,
    pub resource_type: String,
    /// From DescribeStackResources; for named types, the live template's literal name when the service could not
    /// list the resources. None: unknown (the resource is kept and listed without an id).
    pub physical_id: Option<String>,
    /// The literal name the live template gives it (`TableName`, `BucketName`, `Name`, `UserPoolName`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `Metadata.DataClass` in the live template (`user-data`, `key-material`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_class: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// The kinds of data `destroy --delete-data` deletes, each through its own service.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DataKind {
    /// DynamoDB: deletion protection lifted, then DeleteTable.
    Table,
    /// S3: every object version and delete marker, then the bucket.
    Bucket,
    /// Cognito: its domain, deletion protection lifted, then DeleteUserPool.
    UserPool,
    /// Secrets Manager: DeleteSecret with a 7-day recovery window.
    Secret,
    /// KMS: ScheduleKeyDeletion (30 days).
    KmsKey,
}

impl DataKind {
    /// The kind of a CloudFormation resource type, when it is one that holds data.
    pub fn of(resource_type: &str) -> Option<DataKind> {
        Some(match resource_type {
            "AWS::DynamoDB::Table" => DataKind::Table,
            "AWS::S3::Bucket" => DataKind::Bucket,
            "AWS::Cognito::UserPool" => DataKind::UserPool,
            "AWS::SecretsManager::Secret" => DataKind::Secret,
            "AWS::KMS::Key" => DataKind::KmsKey,
            _ => return None,
        })
    }
}

/// What happens to one retained resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Deleted after the stacks are gone (`--delete-data`).
    Delete(DataKind),
    /// Kept, and why (listed in the report).
    Keep(String),
}

/// Name properties whose literal value names the resource for its own service (the secret's `Name`, not its ARN;
/// the pool's `UserPoolName`, not its id).
const NAME_PROPERTIES: &[&str] = &["TableName", "BucketName", "Name", "UserPoolName", "RoleName", "QueueName"];

/// The retained resources of one live stack: every resource of its deployed template with `DeletionPolicy:
/// Retain`, with its physical id from `physical` (DescribeStackResources) or, for types whose name is their
/// identifier, the live template's literal name.
pub fn retained(stack: &str, live_template: &serde_json::Value, physical: &BTreeMap<String, String>) -> Vec<Retained> {
    let Some(resources) = live_template.get("Resources").and_then(|r| r.as_object()) else { return vec![] };
    resources
        .iter()
        .filter(|(_, r)| r.get("DeletionPolicy").and_then(|v| v.as_str()) == Some("Retain"))
        .map(|(id, r)| {
            let resource_type = r.get("Type").and_then(|v| v.as_str()).unwrap_or_default().to_string();
            let props = r.get("Properties");
            let name = NAME_PROPERTIES
                .iter()
                .find_map(|p| props.and_then(|x| x.get(*p)).and_then(|v| v.as_str()).map(str::to_string));
            let meta = r.get("Metadata");
            let text = |k: &str| meta.and_then(|m| m.get(k)).and_then(|v| v.as_str()).map(str::to_string);
            // a name stands in for the id only where the service takes the name as the identifier
            let name_is_id =
                matches!(DataKind::of(&resource_type), Some(DataKind::Table | DataKind::Bucket | DataKind::Secret));
            let physical_id = physical.get(id).cloned().or_else(|| name.clone().filter(|_| name_is_id));
            Retained {
                stack: stack.to_string(),
                logical_id: id.clone(),
                resource_type,
                physical_id,
                name,
                data_class: text("DataClass"),
                description: text("Description"),
            }
        })
        .collect()
}

/// Is `name` one of this tenant's names (`rm-<tenant>-...`)? Buckets are compared in lower case (CloudFormation
/// generates `rm-<tenant>-bootstrap-artifactsbucket-<suffix>`); a secret's ARN is reduced to its name.
pub fn owned_name(kind: DataKind, name: &str, prefix: &str) -> bool {
    let name = match kind {
        DataKind::Secret => name.split_once(":secret:").map_or(name, |(_, n)| n),
        _ => name,
    };
    let wanted = format!("{prefix}-");
    match kind {
        DataKind::Bucket => name.starts_with(&wanted.to_lowercase()),
        _ => name.starts_with(&wanted),
    }
}

/// The decision for one retained resource of tenant `prefix` (`rm-<tenant>`): with `delete_data`, every data
/// resource (a data type, or anything with `Metadata.DataClass` of a type this command can delete) that is
/// provably this tenant's is deleted; everything else is kept with the reason.
pub fn decide(r: &Retained, prefix: &str, delete_data: bool) -> Action {
    let Some(kind) = DataKind::of(&r.resource_type) else {
        return Action::Keep(match &r.data_class {
            Some(c) => format!("{c} of a type `destroy --delete-data` does not delete: delete it by hand"),
            None => "retained by the stack, not data: delete it by hand once nothing else uses it".into(),
        });
    };
    if !delete_data {
        return Action::Keep("data (`destroy --delete-data` deletes it)".into());
    }
    // a pool without a listed id is found by its literal name (exactly one pool of that name, or it is kept)
    let Some(id) = r.physical_id.as_ref().or(r.name.as_ref().filter(|_| kind == DataKind::UserPool)) else {
        return Action::Keep("its id could not be read from the stack: delete it by hand".into());
    };
    // ownership: the name (the pool's is checked again against the service after DescribeUserPool); a key has no
    // name, and its id only ever comes from the stack's own listing
    let named = match kind {
        DataKind::UserPool => r.name.as_deref(),
        DataKind::KmsKey => None,
        _ => Some(id.as_str()),
    };
    match named {
        Some(n) if !owned_name(kind, n, prefix) => {
            Action::Keep(format!("not named {prefix}-...: not provably this tenant's, delete it by hand"))
        }
        _ => Action::Delete(kind),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn live() -> serde_json::Value {
        json!({"Resources": {
            "Users": {"Type": "AWS::DynamoDB::Table", "DeletionPolicy": "Retain",
                      "Metadata": {"DataClass": "user-data", "Description": "users"},
                      "Properties": {"TableName": "rm-acme-users"}},
            "Bucket": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain"},
            "Pool": {"Type": "AWS::Cognito::UserPool", "DeletionPolicy": "Retain",
                     "Metadata": {"DataClass": "user-data"}, "Properties": {"UserPoolName": "rm-acme-users"}},
            "Key": {"Type": "AWS::SecretsManager::Secret", "DeletionPolicy": "Retain",
                    "Metadata": {"DataClass": "key-material"}, "Properties": {"Name": "rm-acme-serial-key"}},
            "Role": {"Type": "AWS::IAM::Role", "DeletionPolicy": "Retain"},
            "Queue": {"Type": "AWS::SQS::Queue", "DeletionPolicy": "Retain", "Metadata": {"DataClass": "user-data"},
                      "Properties": {"QueueName": "rm-acme-dlq"}},
            "Fn": {"Type": "AWS::Lambda::Function", "Properties": {"FunctionName": "rm-acme-api"}},
            "Replaced": {"Type": "AWS::DynamoDB::Table", "UpdateReplacePolicy": "Retain",
                         "Properties": {"TableName": "rm-acme-old"}}
        }})
    }

    #[test]
    fn only_what_the_live_template_retains_with_ids_from_the_stack_or_its_names() {
        let physical: BTreeMap<String, String> = [
            ("Bucket", "rm-acme-bootstrap-artifactsbucket-1x2y"),
            ("Pool", "eu-west-1_AbC"),
            ("Key", "arn:aws:secretsmanager:eu-west-1:1:secret:rm-acme-serial-key-AbCdEf"),
            ("Fn", "rm-acme-api"),
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .into();
        let r = retained("rm-acme", &live(), &physical);
        let ids: Vec<(&str, Option<&str>)> =
            r.iter().map(|r| (r.logical_id.as_str(), r.physical_id.as_deref())).collect();
        assert_eq!(
            ids,
            [
                ("Users", Some("rm-acme-users")),
                ("Bucket", Some("rm-acme-bootstrap-artifactsbucket-1x2y")),
                ("Pool", Some("eu-west-1_AbC")),
                ("Key", Some("arn:aws:secretsmanager:eu-west-1:1:secret:rm-acme-serial-key-AbCdEf")),
                ("Role", None),
                ("Queue", None),
            ],
            "DeletionPolicy Retain only (not UpdateReplacePolicy alone, not the function), in the template's order"
        );
        let users = r.iter().find(|r| r.logical_id == "Users").unwrap();
        assert_eq!(users.data_class.as_deref(), Some("user-data"));
        assert_eq!(users.description.as_deref(), Some("users"));
        // no listing (moto, or DescribeStackResources failed): names stand in where the name is the identifier
        let r = retained("rm-acme", &live(), &BTreeMap::new());
        let by = |id: &str| r.iter().find(|r| r.logical_id == id).unwrap().physical_id.clone();
        assert_eq!(by("Users").as_deref(), Some("rm-acme-users"));
        assert_eq!(by("Key").as_deref(), Some("rm-acme-serial-key"));
        assert_eq!(by("Pool"), None, "a pool's id is not its name");
        assert_eq!(by("Bucket"), None, "no BucketName in the template, no listing");
        assert!(retained("x", &json!({}), &physical).is_empty());
    }

    #[test]
    fn decisions_by_type_data_class_ownership_and_flag() {
        let base = Retained {
            stack: "rm-acme".into(),
            logical_id: "X".into(),
            resource_type: String::new(),
            physical_id: None,
            name: None,
            data_class: None,
            description: None,
        };
        let r = |t: &str, id: Option<&str>, name: Option<&str>, class: Option<&str>| Retained {
            resource_type: t.into(),
            physical_id: id.map(str::to_string),
            name: name.map(str::to_string),
            data_class: class.map(str::to_string),
            ..base.clone()
        };
        let del = |k| Action::Delete(k);
        let table = "AWS::DynamoDB::Table";
        let cases: Vec<(Retained, bool, Result<Action, &str>)> = vec![
            (r(table, Some("rm-acme-users"), None, Some("user-data")), true, Ok(del(DataKind::Table))),
            (r(table, Some("rm-acme-users"), None, None), true, Ok(del(DataKind::Table))),
            (r(table, Some("rm-acme-users"), None, None), false, Err("destroy --delete-data")),
            (r(table, Some("rm-acme2-users"), None, None), true, Err("not provably")),
            (r(table, Some("other-users"), None, None), true, Err("not provably")),
            (r(table, None, None, None), true, Err("could not be read")),
            (
                r("AWS::S3::Bucket", Some("rm-acme-bootstrap-artifactsbucket-9z"), None, None),
                true,
                Ok(del(DataKind::Bucket)),
            ),
            (r("AWS::S3::Bucket", Some("someone-elses"), None, None), true, Err("not provably")),
            (
                r(
                    "AWS::SecretsManager::Secret",
                    Some("arn:aws:secretsmanager:r:1:secret:rm-acme-serial-key-Ab12Cd"),
                    None,
                    None,
                ),
                true,
                Ok(del(DataKind::Secret)),
            ),
            (
                r(
                    "AWS::SecretsManager::Secret",
                    Some("arn:aws:secretsmanager:r:1:secret:rm-acmex-key-Ab12Cd"),
                    None,
                    None,
                ),
                true,
                Err("not provably"),
            ),
            (
                r("AWS::Cognito::UserPool", Some("eu-west-1_AbC"), Some("rm-acme-users"), None),
                true,
                Ok(del(DataKind::UserPool)),
            ),
            (r("AWS::Cognito::UserPool", Some("eu-west-1_AbC"), Some("shared-users"), None), true, Err("not provably")),
            // no literal name: the service's name is checked after DescribeUserPool
            (r("AWS::Cognito::UserPool", Some("eu-west-1_AbC"), None, None), true, Ok(del(DataKind::UserPool))),
            (r("AWS::Cognito::UserPool", None, Some("rm-acme-users"), None), true, Ok(del(DataKind::UserPool))),
            (r("AWS::Cognito::UserPool", None, None, None), true, Err("could not be read")),
            (
                r("AWS::KMS::Key", Some("1234abcd-12ab-34cd-56ef-1234567890ab"), None, None),
                true,
                Ok(del(DataKind::KmsKey)),
            ),
            (r("AWS::IAM::Role", Some("rm-acme-ApiGatewayLoggingRole-1"), None, None), true, Err("not data")),
            (r("AWS::SQS::Queue", Some("https://q"), None, Some("user-data")), true, Err("does not delete")),
        ];
        for (i, (res, delete_data, want)) in cases.into_iter().enumerate() {
            let got = decide(&res, "rm-acme", delete_data);
            match (want, &got) {
                (Ok(a), _) => assert_eq!(got, a, "case {i}: {res:?}"),
                (Err(why), Action::Keep(reason)) => assert!(reason.contains(why), "case {i}: {reason}"),
                (Err(why), Action::Delete(_)) => panic!("case {i}: deleted, wanted kept ({why}): {res:?}"),
            }
        }
    }

    #[test]
    fn tenant_names_are_matched_whole_not_as_a_prefix_of_another_tenant() {
        assert!(owned_name(DataKind::Table, "rm-acme-users", "rm-acme"));
        assert!(!owned_name(DataKind::Table, "rm-acme2-users", "rm-acme"));
        assert!(!owned_name(DataKind::Table, "rm-acm-users", "rm-acme"));
        assert!(owned_name(DataKind::Bucket, "rm-acme-bootstrap-artifactsbucket-x", "rm-acme"));
        assert!(!owned_name(DataKind::Bucket, "rm-acmebootstrap", "rm-acme"));
        assert!(owned_name(DataKind::Secret, "rm-acme-gdpr-receipt-key", "rm-acme"));
        assert!(owned_name(
            DataKind::Secret,
            "arn:aws:secretsmanager:r:1:secret:rm-acme-gdpr-receipt-key-AbCdEf",
            "rm-acme"
        ));
        assert!(!owned_name(DataKind::Secret, "arn:aws:secretsmanager:r:1:secret:other-AbCdEf", "rm-acme"));
    }
}
