//! The encryption choice (`security.kms`) as data: the tenant's customer-managed KMS key with its policy, what each
//! encrypted resource carries (the key, or the checkov suppression that says why not) and the roles' grants on it.

use super::functions::{Function, Statement};
use super::hardening::Skip;
use crate::config::Config;
use crate::template::names::Names;
use serde::Serialize;
use serde_json::{json, Value};

/// Logical id of the tenant's key.
pub const KEY_ID: &str = "TenantKey";
/// Seconds SQS reuses a data key before it asks KMS again (SQS's default, written out for `estimate`).
pub const DATA_KEY_REUSE_SECONDS: u32 = 300;

/// The tenant's customer-managed key and its alias.
#[derive(Debug, Serialize)]
pub struct TenantKey {
    pub logical_id: &'static str,
    pub alias_id: &'static str,
    /// `alias/rm-<tenant>`.
    pub alias: String,
    pub description: String,
    /// `KeyPolicy`: a `Fn::Sub` of the policy's JSON text (a JSON string, which CloudFormation accepts for this
    /// property and which moto needs), as JSON text.
    pub policy: String,
}

/// One resource property: name and value as JSON text.
#[derive(Debug, Serialize)]
pub struct Prop {
    pub name: &'static str,
    pub value: String,
}

/// What the encryption choice puts into the backend stack.
#[derive(Debug, Serialize)]
pub struct Encryption {
    /// The key, with `customer-managed` only.
    pub key: Option<TenantKey>,
    /// `SSESpecification` of every table (JSON text).
    pub table_sse: String,
    pub table_skips: Vec<Skip>,
    /// The dead-letter queue's encryption properties.
    pub queue: Vec<Prop>,
    pub queue_skips: Vec<Skip>,
    /// `KmsKeyId` of every log group (JSON text), with `customer-managed` only.
    pub log_group_key: Option<String>,
    pub log_group_skips: Vec<Skip>,
    /// `KmsKeyId` of the Secrets Manager secrets (JSON text), with `customer-managed` only.
    pub secret_key: Option<String>,
    pub secret_skips: Vec<Skip>,
    /// What the topic rules' error role needs on the key to send to the encrypted queue (JSON list), if any.
    pub queue_sender_actions: Option<String>,
}

/// `{"Fn::GetAtt": ["TenantKey", "Arn"]}`.
pub fn key_arn() -> Value {
    json!({ "Fn::GetAtt": [KEY_ID, "Arn"] })
}

/// KMS actions a sender to an encrypted SQS queue needs (SQS documents both for producers).
pub const QUEUE_SENDER: [&str; 2] = ["kms:GenerateDataKey", "kms:Decrypt"];

const TABLE_AWS: &str = "Encrypted at rest (SSEEnabled) with the account's AWS managed DynamoDB key (aws/dynamodb); \
     security.kms: customer-managed puts every table under the tenant's own KMS key instead, and access stays \
     governed by the functions' IAM roles either way.";
const QUEUE_AWS: &str = "Encrypted at rest with SQS-managed keys (SqsManagedSseEnabled), which checkov 3.3.30 does \
     not recognise (it looks for KmsMasterKeyId); security.kms: customer-managed uses the tenant's KMS key.";
const LOGS_AWS: &str = "CloudWatch Logs encrypts every log group at rest with its own key; security.kms: \
     customer-managed associates the tenant's KMS key, and these logs hold no secrets or tokens (the authorization \
     header is never logged, the functions log user ids only as keyed hashes; the API access log names the caller's \
     Cognito sub, as the audit trail needs).";
const SECRET_AWS: &str = "Encrypted with the account's aws/secretsmanager key; only the provisioning hook's role \
     (GetSecretValue on this ARN) and the operator's CLI read the secrets, and security.kms: customer-managed puts \
     them under the tenant's KMS key.";

fn skip(id: &'static str, comment: &str) -> Vec<Skip> {
    vec![Skip { id, comment: comment.into() }]
}

/// The key policy: the account administers the key (so IAM policies decide who uses it: the function roles get
/// their grants on this key only), and CloudWatch Logs may use it only for this tenant's log groups, each named.
fn key_policy(n: &Names, log_groups: &[String]) -> Value {
    let arns: Vec<String> = log_groups
        .iter()
        .map(|g| format!("arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:{g}"))
        .collect();
    json!({
        "Version": "2012-10-17",
        "Id": format!("{}-key", n.prefix),
        "Statement": [
            { "Sid": "AccountAdministers", "Effect": "Allow",
              "Principal": { "AWS": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root" },
              "Action": "kms:*", "Resource": "*" },
            { "Sid": "CloudWatchLogsForTenantLogGroups", "Effect": "Allow",
              "Principal": { "Service": "logs.${AWS::Region}.amazonaws.com" },
              "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
              "Resource": "*",
              "Condition": { "ArnEquals": { "kms:EncryptionContext:aws:logs:arn": arns } } }
        ]
    })
}

/// Build the encryption of a config. `log_groups` are the names of every log group in the stack.
pub fn encryption(cfg: &Config, n: &Names, log_groups: &[String]) -> Encryption {
    let arn = key_arn().to_string();
    if !cfg.security.kms.customer_managed() {
        return Encryption {
            key: None,
            table_sse: json!({ "SSEEnabled": true }).to_string(),
            table_skips: skip("CKV_AWS_119", TABLE_AWS),
            queue: vec![Prop { name: "SqsManagedSseEnabled", value: "true".into() }],
            queue_skips: skip("CKV_AWS_27", QUEUE_AWS),
            log_group_key: None,
            log_group_skips: skip("CKV_AWS_158", LOGS_AWS),
            secret_key: None,
            secret_skips: skip("CKV_AWS_149", SECRET_AWS),
            queue_sender_actions: None,
        };
    }
    let policy = json!({ "Fn::Sub": key_policy(n, log_groups).to_string() });
    Encryption {
        key: Some(TenantKey {
            logical_id: KEY_ID,
            alias_id: "TenantKeyAlias",
            alias: format!("alias/{}", n.prefix),
            description: format!(
                "Customer-managed key of tenant {}: tables, dead-letter queue, log groups, function environments, secrets",
                cfg.name
            ),
            policy: policy.to_string(),
        }),
        table_sse: json!({ "SSEEnabled": true, "SSEType": "KMS", "KMSMasterKeyId": key_arn() }).to_string(),
        table_skips: vec![],
        queue: vec![
            Prop { name: "KmsMasterKeyId", value: arn.clone() },
            Prop { name: "KmsDataKeyReusePeriodSeconds", value: DATA_KEY_REUSE_SECONDS.to_string() },
        ],
        queue_skips: vec![],
        log_group_key: Some(arn.clone()),
        log_group_skips: vec![],
        secret_key: Some(arn),
        secret_skips: vec![],
        queue_sender_actions: Some(json!(QUEUE_SENDER).to_string()),
    }
}

/// Every function's log group gets the encryption of the log groups. With the tenant's key: every function's environment is encrypted with it, and its role may use the key, and only
/// it: `kms:Decrypt` (Lambda decrypts the environment at cold start with the role; DynamoDB decrypts the table key
/// and Secrets Manager the secret with the caller's permissions), plus `kms:GenerateDataKey` for the functions
/// whose failed asynchronous events (or, for the stream's consumer, failed batches) Lambda sends to the encrypted
/// queue; the consumer's `kms:Decrypt` also reads the stream's records. DynamoDB writes need no
/// `GenerateDataKey`: the table key is created once, with the table.
pub fn grant_key(functions: &mut [Function], enc: &Encryption) {
    for f in functions.iter_mut() {
        f.log_group_skips = enc.log_group_skips.clone();
        f.log_group_key = enc.log_group_key.clone();
        if enc.key.is_none() {
            continue;
        }
        f.kms_key = Some(key_arn().to_string());
        let actions: &[&str] = if f.async_invoke.is_some() || f.stream_consumer {
            &["kms:Decrypt", "kms:GenerateDataKey"]
        } else {
            &["kms:Decrypt"]
        };
        f.statements.push(Statement {
            sid: "TenantKey".into(),
            actions: json!(actions).to_string(),
            resources: json!([key_arn()]).to_string(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(kms: &str) -> Config {
        let mut c = crate::config::blueprint_config("smart-home", "acme-home", "eu-west-1").unwrap();
        c.security.kms = serde_json::from_value(json!(kms)).unwrap();
        c
    }

    #[test]
    fn aws_managed_has_no_key_and_a_reason_for_every_cmk_check() {
        let e = encryption(&cfg("aws-managed"), &Names::new("acme-home"), &[]);
        assert!(e.key.is_none() && e.log_group_key.is_none() && e.secret_key.is_none());
        let skips: Vec<&Skip> =
            [&e.table_skips, &e.queue_skips, &e.log_group_skips, &e.secret_skips].into_iter().flatten().collect();
        assert_eq!(
            skips.iter().map(|s| s.id).collect::<Vec<_>>(),
            ["CKV_AWS_119", "CKV_AWS_27", "CKV_AWS_158", "CKV_AWS_149"]
        );
        assert!(skips.iter().all(|s| s.comment.contains("customer-managed") && s.comment.len() > 80), "{skips:?}");
    }

    #[test]
    fn customer_managed_names_each_log_group_and_suppresses_nothing() {
        let groups = ["/aws/lambda/rm-acme-home-api".to_string(), "aws-waf-logs-rm-acme-home-api".to_string()];
        let e = encryption(&cfg("customer-managed"), &Names::new("acme-home"), &groups);
        let key = e.key.as_ref().unwrap();
        assert_eq!(key.alias, "alias/rm-acme-home");
        let sub: Value = serde_json::from_str(&key.policy).unwrap();
        let policy: Value = serde_json::from_str(sub["Fn::Sub"].as_str().unwrap()).unwrap();
        let arns = &policy["Statement"][1]["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"];
        assert_eq!(arns.as_array().unwrap().len(), 2);
        assert!(arns[0].as_str().unwrap().ends_with(":log-group:/aws/lambda/rm-acme-home-api"), "{arns}");
        assert!(e.table_skips.is_empty() && e.queue_skips.is_empty() && e.log_group_skips.is_empty());
        assert!(e.secret_skips.is_empty());
    }
}
