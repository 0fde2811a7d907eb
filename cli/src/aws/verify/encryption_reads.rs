//! The encryption read-back's calls, one per resource (the tables' and functions' come with the status reads in
//! `super::run`): KMS DescribeKey of the tenant key's alias, CloudWatch Logs DescribeLogGroups, SQS GetQueueUrl +
//! GetQueueAttributes, Secrets Manager DescribeSecret. Judged by [`super::encryption`].

use super::encryption::{self as judge, Omissions, Want};
use super::{Check, Expectations};
use crate::aws::sdk::Clients;
use crate::aws::DeployError;
use aws_sdk_sqs::types::QueueAttributeName;

/// What `security.kms` asks: the tenant key's ARN by its alias under `customer-managed` (the template has the
/// alias), else the services' own keys. A key that cannot be read fails every encryption check with the reason.
pub async fn want(c: &Clients, x: &Expectations) -> Result<Want, String> {
    let Some(alias) = &x.tenant_key_alias else { return Ok(Want::AwsManaged) };
    const OP: &str = "KMS DescribeKey";
    let out = c.kms.describe_key().key_id(alias).send().await.map_err(|e| DeployError::sdk(OP, e).to_string())?;
    let arn = out.key_metadata().and_then(|m| m.arn()).ok_or(format!("{OP}: no KeyMetadata.Arn for {alias}"))?;
    Ok(Want::Key { arn: arn.to_string(), alias: alias.clone() })
}

fn check(id: &str, ty: &str, name: &str, (ok, detail): (bool, String)) -> Check {
    Check { logical_id: id.into(), resource_type: ty.into(), name: name.into(), ok, detail }
}

/// Each log group's `kmsKeyId`: DescribeLogGroups by name prefix, every page until the exact name.
pub async fn log_groups(c: &Clients, x: &Expectations, want: &Want, om: Omissions, out: &mut Vec<Check>) {
    for (id, name) in &x.log_groups {
        let mut token: Option<String> = None;
        let verdict = loop {
            let page =
                c.logs.describe_log_groups().log_group_name_prefix(name).set_next_token(token.clone()).send().await;
            match page {
                Err(e) => {
                    break (
                        false,
                        format!("encryption not read: {}", DeployError::sdk("CloudWatch Logs DescribeLogGroups", e)),
                    )
                }
                Ok(p) => {
                    if let Some(g) = p.log_groups().iter().find(|g| g.log_group_name() == Some(name.as_str())) {
                        break judge::key_field(want, "kmsKeyId", g.kms_key_id(), true, om);
                    }
                    match p.next_token() {
                        Some(t) if Some(t) != token.as_deref() => token = Some(t.to_string()),
                        _ => break judge::log_group_not_listed(om),
                    }
                }
            }
        };
        out.push(check(id, "AWS::Logs::LogGroup", name, verdict));
    }
}

/// Each queue's `KmsMasterKeyId` and `SqsManagedSseEnabled` (GetQueueUrl, then GetQueueAttributes of those two).
pub async fn queues(c: &Clients, x: &Expectations, want: &Want, out: &mut Vec<Check>) {
    for (id, name) in &x.queues {
        let verdict = match c.sqs.get_queue_url().queue_name(name).send().await {
            Err(e) => (false, format!("encryption not read: {}", DeployError::sdk("SQS GetQueueUrl", e))),
            Ok(u) => {
                let url = u.queue_url().unwrap_or_default();
                let attrs = c
                    .sqs
                    .get_queue_attributes()
                    .queue_url(url)
                    .attribute_names(QueueAttributeName::KmsMasterKeyId)
                    .attribute_names(QueueAttributeName::SqsManagedSseEnabled)
                    .send()
                    .await;
                match attrs {
                    Err(e) => {
                        (false, format!("encryption not read: {}", DeployError::sdk("SQS GetQueueAttributes", e)))
                    }
                    Ok(a) => {
                        let get = |k: QueueAttributeName| a.attributes().and_then(|m| m.get(&k)).map(String::as_str);
                        judge::queue(
                            want,
                            get(QueueAttributeName::KmsMasterKeyId),
                            get(QueueAttributeName::SqsManagedSseEnabled),
                        )
                    }
                }
            }
        };
        out.push(check(id, "AWS::SQS::Queue", name, verdict));
    }
}

/// Each key secret's `KmsKeyId` (DescribeSecret).
pub async fn secrets(c: &Clients, x: &Expectations, want: &Want, om: Omissions, out: &mut Vec<Check>) {
    for (id, name) in &x.secrets {
        let verdict = match c.secrets.describe_secret().secret_id(name).send().await {
            Ok(d) => judge::secret(want, d.kms_key_id()),
            Err(e) => {
                let not_found = e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception());
                let text = DeployError::sdk("Secrets Manager DescribeSecret", e).to_string();
                if not_found {
                    judge::secret_not_found(&text, om)
                } else {
                    (false, format!("encryption not read: {text}"))
                }
            }
        };
        out.push(check(id, "AWS::SecretsManager::Secret", name, verdict));
    }
}
