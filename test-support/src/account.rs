//! Separate moto accounts per test: moto keeps every service's state per account and maps an IAM access key to
//! the account it was created in, so a test whose tenant must be alone in its account and region (the deploy
//! core refuses a second tenant there) gets a fresh IAM user's keys in an account of its own.

use crate::http::request;
use crate::MotoServer;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::{Credentials, SharedCredentialsProvider};
use std::sync::atomic::{AtomicU32, Ordering};

/// moto's default account (any credentials moto did not issue act in it).
pub const DEFAULT_ACCOUNT: &str = "123456789012";

/// A 12-digit account id for `label`, the same on every run (so snapshots can show it), never moto's default.
pub fn account_for(label: &str) -> String {
    // FNV-1a: stable across runs and platforms
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in label.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let id = 100_000_000_000 + h % 900_000_000_000;
    if id.to_string() == DEFAULT_ACCOUNT {
        return "100000000001".into();
    }
    id.to_string()
}

/// Access keys of an IAM user in one moto account.
#[derive(Debug, Clone)]
pub struct AccountKeys {
    pub account: String,
    pub access_key_id: String,
    pub secret_access_key: String,
}

static USERS: AtomicU32 = AtomicU32::new(0);

impl MotoServer {
    /// A new IAM user with an access key in moto account `account` (created through IAM's API with moto's
    /// `x-moto-account-id` header); every call signed with these keys acts in that account.
    pub fn keys_in(&self, account: &str) -> AccountKeys {
        let user = format!("test-{}-{}", std::process::id(), USERS.fetch_add(1, Ordering::Relaxed));
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential=testing/20240101/{}/iam/aws4_request, SignedHeaders=host, Signature=0",
            crate::REGION
        );
        let headers = [
            ("Authorization", auth.as_str()),
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("x-moto-account-id", account),
        ];
        let call = |body: String| {
            let (status, text) =
                request(self.addr(), "POST", "/", &headers, &body).unwrap_or_else(|e| panic!("moto IAM: {e}"));
            assert_eq!(status, 200, "moto IAM {body} answered {status}: {text}");
            text
        };
        call(format!("Action=CreateUser&UserName={user}&Version=2010-05-08"));
        let text = call(format!("Action=CreateAccessKey&UserName={user}&Version=2010-05-08"));
        let field = |name: &str| {
            let open = format!("<{name}>");
            let start = text.find(&open).map(|i| i + open.len()).unwrap_or_else(|| panic!("no {name} in {text}"));
            let end = text[start..].find('<').map(|i| start + i).unwrap_or(text.len());
            text[start..end].to_string()
        };
        AccountKeys {
            account: account.to_string(),
            access_key_id: field("AccessKeyId"),
            secret_access_key: field("SecretAccessKey"),
        }
    }

    /// An SDK config pointing at this server with the keys of a new user in `account` (region [`crate::REGION`]).
    pub async fn sdk_config_in(&self, account: &str) -> SdkConfig {
        self.sdk_config_with(&self.keys_in(account)).await
    }

    /// An SDK config pointing at this server with these keys (region [`crate::REGION`]).
    pub async fn sdk_config_with(&self, k: &AccountKeys) -> SdkConfig {
        let creds = Credentials::new(&k.access_key_id, &k.secret_access_key, None, None, "rainmaker-test-support");
        aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(self.endpoint_url())
            .region(Region::new(crate::REGION))
            .credentials_provider(SharedCredentialsProvider::new(creds))
            .load()
            .await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn accounts_are_twelve_digits_stable_and_not_the_default() {
        let a = super::account_for("it-apply");
        assert_eq!(a.len(), 12);
        assert!(a.bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(a, super::account_for("it-apply"));
        assert_ne!(a, super::account_for("it-apply2"));
        assert_ne!(a, super::DEFAULT_ACCOUNT);
    }
}
