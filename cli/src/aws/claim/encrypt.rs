//! The claim secret's encryption key with `security.kms: customer-managed`: the tenant key (the backend stack's
//! `TenantKey`, found by its alias) must exist and be enabled before the secret is written with it, and a secret
//! written before (under `aws/secretsmanager`) is moved to it with UpdateSecret, which re-encrypts its AWSCURRENT,
//! AWSPENDING and AWSPREVIOUS versions (older versions stay readable with the old key).

use crate::aws::sdk::Clients;
use crate::aws::DeployError;

/// The tenant key's ARN (KMS DescribeKey on its alias). A key that is missing, disabled or scheduled for
/// deletion is refused: nothing is written with a key that will not decrypt it.
pub async fn key_arn(c: &Clients, alias: &str) -> Result<String, DeployError> {
    const OP: &str = "KMS DescribeKey";
    let out = c.kms.describe_key().key_id(alias).send().await.map_err(|e| DeployError::sdk(OP, e))?;
    let meta = out.key_metadata().ok_or(DeployError::missing(OP, "KeyMetadata"))?;
    let state = meta.key_state().map(|s| s.as_str().to_string()).unwrap_or_default();
    if !meta.enabled() || state != "Enabled" {
        return Err(DeployError::Claim {
            message: format!(
                "the tenant key {alias} is {}: the claim secret is not written with it",
                if state.is_empty() { "disabled" } else { &state }
            ),
            help: "`security.kms: customer-managed` encrypts the claim secret with the tenant key: enable it again \
                   (`aws kms enable-key`, or `aws kms cancel-key-deletion` then enable), then run apply"
                .into(),
        });
    }
    Ok(meta.arn().ok_or(DeployError::missing(OP, "KeyMetadata.Arn"))?.to_string())
}

/// Is `current` (DescribeSecret's KmsKeyId: an ARN, a key id or an alias, as it was set) the key `arn`?
pub fn same_key(current: Option<&str>, arn: &str, alias: &str) -> bool {
    let id = arn.rsplit_once(":key/").map(|(_, id)| id);
    current.is_some_and(|k| k == arn || Some(k) == id || k == alias || k.ends_with(&format!(":{alias}")))
}

/// Make the secret use the tenant key: DescribeSecret, then UpdateSecret with `KmsKeyId` when it uses another
/// (re-encrypts AWSCURRENT, AWSPENDING and AWSPREVIOUS; the secret's value is untouched). Returns whether it moved.
pub async fn use_key(c: &Clients, secret: &str, arn: &str, alias: &str) -> Result<bool, DeployError> {
    let d = c
        .secrets
        .describe_secret()
        .secret_id(secret)
        .send()
        .await
        .map_err(|e| DeployError::sdk("Secrets Manager DescribeSecret", e))?;
    if same_key(d.kms_key_id(), arn, alias) {
        return Ok(false);
    }
    c.secrets
        .update_secret()
        .secret_id(secret)
        .kms_key_id(arn)
        .send()
        .await
        .map_err(|e| DeployError::sdk("Secrets Manager UpdateSecret", e))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_key_is_recognised_by_arn_id_or_alias() {
        let arn = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        let alias = "alias/rm-acme";
        let same = |k: Option<&str>| super::same_key(k, arn, alias);
        assert!(same(Some(arn)) && same(Some("1234abcd-12ab-34cd-56ef-1234567890ab")) && same(Some(alias)));
        assert!(same(Some("arn:aws:kms:eu-west-1:123456789012:alias/rm-acme")));
        assert!(!same(None), "aws/secretsmanager: DescribeSecret leaves KmsKeyId out");
        assert!(!same(Some("alias/aws/secretsmanager")));
        assert!(!same(Some("arn:aws:kms:eu-west-1:123456789012:key/ffff")));
    }
}
