//! Deleting one retained data resource through its own service, idempotently: what is already gone is done (a
//! re-run after a partial delete converges), and anything that is not provably the tenant's is left alone.

use super::decide::{owned_name, DataKind, Retained};
use super::DestroyOptions;
use crate::aws::{Clients, DeployError, Progress, ProgressEvent};
use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;
use serde::Serialize;

/// How long a deleted key secret stays recoverable (the minimum Secrets Manager allows; docs/security.md).
pub const SECRET_RECOVERY_DAYS: i64 = 7;

/// What deleting one resource came to.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Deleted,
    /// Nothing there any more (an earlier run, or someone else, deleted it).
    AlreadyGone,
    /// A secret: deleted with a recovery window (`RestoreSecret` brings it back until then).
    ScheduledForDeletion {
        recoverable_until: String,
    },
    /// A secret an earlier run scheduled for deletion.
    AlreadyScheduled {
        recoverable_until: Option<String>,
    },
    /// Not deleted, and why (kept and listed).
    Kept {
        reason: String,
    },
}

fn date(d: &DateTime) -> String {
    d.fmt(Format::DateTime).unwrap_or_else(|_| d.secs().to_string())
}

fn code_is(e: &impl ProvideErrorMetadata, codes: &[&str]) -> bool {
    e.code().is_some_and(|c| codes.contains(&c))
}

/// Delete one resource of `kind` (decided by [`super::decide::decide`]).
pub async fn one(
    c: &Clients,
    kind: DataKind,
    r: &Retained,
    prefix: &str,
    opts: &DestroyOptions,
    progress: &dyn Progress,
) -> Result<Outcome, DeployError> {
    let id = r.physical_id.clone().or_else(|| r.name.clone()).unwrap_or_default();
    progress.report(ProgressEvent::Step { stack: None, message: format!("deleting {} {id}", r.resource_type) });
    match kind {
        DataKind::Table => table(c, &id, opts).await,
        DataKind::Bucket => bucket(c, &id).await,
        DataKind::Secret => secret(c, &id, prefix, opts.force_delete_secrets).await,
        DataKind::UserPool => user_pool(c, r, prefix).await,
        DataKind::KmsKey => Ok(Outcome::Kept {
            reason: format!(
                "a KMS key (the tenant key of `security.kms: customer-managed`): kept log data, backups and anything \
                 restored later are encrypted with it; schedule its deletion by hand once none is needed (`aws kms \
                 schedule-key-deletion --key-id {id} --pending-window-in-days 30`)"
            ),
        }),
    }
}

async fn table(c: &Clients, name: &str, opts: &DestroyOptions) -> Result<Outcome, DeployError> {
    const GONE: &[&str] = &["ResourceNotFoundException"];
    let d = match c.ddb.describe_table().table_name(name).send().await {
        Ok(d) => d,
        Err(e) if code_is(&e, GONE) => return Ok(Outcome::AlreadyGone),
        Err(e) => return Err(DeployError::sdk("DynamoDB DescribeTable", e)),
    };
    let t = d.table();
    if t.and_then(|t| t.table_status()).is_some_and(|s| s.as_str() == "DELETING") {
        return Ok(Outcome::Deleted);
    }
    if t.and_then(|t| t.deletion_protection_enabled()) == Some(true) {
        c.ddb
            .update_table()
            .table_name(name)
            .deletion_protection_enabled(false)
            .send()
            .await
            .map_err(|e| DeployError::sdk("DynamoDB UpdateTable", e))?;
    }
    // a table still UPDATING (the protection change) answers ResourceInUseException: wait for it, bounded
    let started = std::time::Instant::now();
    loop {
        match c.ddb.delete_table().table_name(name).send().await {
            Ok(_) => return Ok(Outcome::Deleted),
            Err(e) if code_is(&e, GONE) => return Ok(Outcome::AlreadyGone),
            Err(e) if code_is(&e, &["ResourceInUseException"]) && started.elapsed() < opts.wait.timeout => {
                tokio::time::sleep(opts.wait.poll.max(std::time::Duration::from_millis(100))).await;
            }
            Err(e) => return Err(DeployError::sdk("DynamoDB DeleteTable", e)),
        }
    }
}

async fn bucket(c: &Clients, name: &str) -> Result<Outcome, DeployError> {
    const GONE: &[&str] = &["NoSuchBucket"];
    let mut deleted_any = false;
    // each pass deletes what one listing page shows (versions and delete markers), until the listing is empty
    loop {
        let out = match c.s3.list_object_versions().bucket(name).send().await {
            Ok(o) => o,
            Err(e) if code_is(&e, GONE) => return Ok(Outcome::AlreadyGone),
            Err(e) => return Err(DeployError::sdk("S3 ListObjectVersions", e)),
        };
        let versions = out.versions().iter().map(|v| (v.key(), v.version_id()));
        let markers = out.delete_markers().iter().map(|m| (m.key(), m.version_id()));
        let ids: Vec<(String, Option<String>)> =
            versions.chain(markers).filter_map(|(k, v)| Some((k?.to_string(), v.map(str::to_string)))).collect();
        if ids.is_empty() {
            break;
        }
        for (key, version) in ids {
            match c.s3.delete_object().bucket(name).key(key).set_version_id(version).send().await {
                Ok(_) => deleted_any = true,
                Err(e) if code_is(&e, GONE) => return Ok(Outcome::AlreadyGone),
                Err(e) => return Err(DeployError::sdk("S3 DeleteObject", e)),
            }
        }
    }
    match c.s3.delete_bucket().bucket(name).send().await {
        Ok(_) => Ok(Outcome::Deleted),
        Err(e) if code_is(&e, GONE) && !deleted_any => Ok(Outcome::AlreadyGone),
        Err(e) if code_is(&e, GONE) => Ok(Outcome::Deleted),
        Err(e) => Err(DeployError::sdk("S3 DeleteBucket", e)),
    }
}

async fn secret(c: &Clients, id: &str, prefix: &str, force: bool) -> Result<Outcome, DeployError> {
    const GONE: &[&str] = &["ResourceNotFoundException"];
    let d = match c.secrets.describe_secret().secret_id(id).send().await {
        Ok(d) => d,
        Err(e) if code_is(&e, GONE) => return Ok(Outcome::AlreadyGone),
        Err(e) => return Err(DeployError::sdk("Secrets Manager DescribeSecret", e)),
    };
    let name = d.name().unwrap_or(id);
    if !owned_name(DataKind::Secret, name, prefix) {
        return Ok(Outcome::Kept {
            reason: format!("the secret is named {name}, not {prefix}-...: not this tenant's"),
        });
    }
    if let (Some(when), false) = (d.deleted_date(), force) {
        return Ok(Outcome::AlreadyScheduled { recoverable_until: Some(date(when)) });
    }
    let call = c.secrets.delete_secret().secret_id(id);
    let call = if force {
        call.force_delete_without_recovery(true)
    } else {
        call.recovery_window_in_days(SECRET_RECOVERY_DAYS)
    };
    match call.send().await {
        Ok(_) if force => Ok(Outcome::Deleted),
        Ok(out) => match out.deletion_date() {
            Some(d) => Ok(Outcome::ScheduledForDeletion { recoverable_until: date(d) }),
            None => Err(DeployError::missing("Secrets Manager DeleteSecret", "DeletionDate")),
        },
        Err(e) if code_is(&e, GONE) => Ok(Outcome::AlreadyGone),
        Err(e) => Err(DeployError::sdk("Secrets Manager DeleteSecret", e)),
    }
}

async fn user_pool(c: &Clients, r: &Retained, prefix: &str) -> Result<Outcome, DeployError> {
    use aws_sdk_cognitoidentityprovider::types::DeletionProtectionType;
    const GONE: &[&str] = &["ResourceNotFoundException"];
    let id = match (&r.physical_id, &r.name) {
        (Some(id), _) => id.clone(),
        (None, Some(name)) => match pools_named(c, name).await?.as_slice() {
            [] => return Ok(Outcome::AlreadyGone),
            [one] => one.clone(),
            many => {
                return Ok(Outcome::Kept {
                    reason: format!(
                        "{} user pools are named {name} ({}): delete the right one by hand",
                        many.len(),
                        many.join(", ")
                    ),
                })
            }
        },
        (None, None) => return Ok(Outcome::Kept { reason: "no id and no name: delete it by hand".into() }),
    };
    let pool = match c.cognito.describe_user_pool().user_pool_id(&id).send().await {
        Ok(d) => d.user_pool().cloned(),
        Err(e) if code_is(&e, GONE) => return Ok(Outcome::AlreadyGone),
        Err(e) => return Err(DeployError::sdk("Cognito DescribeUserPool", e)),
    };
    let Some(pool) = pool else { return Err(DeployError::missing("Cognito DescribeUserPool", "UserPool")) };
    let name = pool.name().unwrap_or_default();
    let expected = r.name.as_deref().is_none_or(|n| n == name);
    if !expected || !owned_name(DataKind::UserPool, name, prefix) {
        return Ok(Outcome::Kept { reason: format!("the user pool {id} is named {name}, not this tenant's pool") });
    }
    // the domain first (DeleteUserPool refuses a pool that still has one), then the deletion protection
    for domain in [pool.domain(), pool.custom_domain()].into_iter().flatten() {
        match c.cognito.delete_user_pool_domain().user_pool_id(&id).domain(domain).send().await {
            Ok(_) => {}
            Err(e) if code_is(&e, GONE) => {}
            Err(e) => return Err(DeployError::sdk("Cognito DeleteUserPoolDomain", e)),
        }
    }
    if pool.deletion_protection() == Some(&DeletionProtectionType::Active) {
        c.cognito
            .update_user_pool()
            .user_pool_id(&id)
            .deletion_protection(DeletionProtectionType::Inactive)
            .send()
            .await
            .map_err(|e| DeployError::sdk("Cognito UpdateUserPool", e))?;
    }
    match c.cognito.delete_user_pool().user_pool_id(&id).send().await {
        Ok(_) => Ok(Outcome::Deleted),
        Err(e) if code_is(&e, GONE) => Ok(Outcome::AlreadyGone),
        Err(e) => Err(DeployError::sdk("Cognito DeleteUserPool", e)),
    }
}

/// The ids of the user pools named exactly `name` (ListUserPools, every page).
async fn pools_named(c: &Clients, name: &str) -> Result<Vec<String>, DeployError> {
    let pools = crate::aws::adopt::find::list_pools(c).await?;
    Ok(pools.into_iter().filter(|(_, n)| n == name).map(|(id, _)| id).collect())
}
