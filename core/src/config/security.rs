//! The `security:` section of rainmaker.yaml: IoT logging, the Device Defender audit, app users' MFA, the KMS key.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Audit logging and account-level security settings. Every field has a default, so the section may be left out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Security {
    /// AWS IoT logging (v2) for the account and region, written to the `AWSIotLogsV2` log group: `ERROR`, `WARN`
    /// (default), `INFO`, `DEBUG`, or `DISABLED` to leave the account's IoT logging alone (it is one setting per
    /// account and region: set `DISABLED` in every tenant but one when several share an account).
    #[serde(default)]
    pub iot_log_level: IotLogLevel,
    /// Set up the account's AWS IoT Device Defender audit (overly permissive policies, shared or revoked
    /// certificates, conflicting client ids, logging) with a daily scheduled audit. Set `false` when the account
    /// already has an audit configuration (one per account and region).
    #[serde(default = "enabled")]
    pub device_defender_audit: bool,
    /// TOTP (authenticator app) multi-factor authentication for app users: `off` (default) or `optional` (each
    /// user may turn it on).
    #[serde(default)]
    pub mfa: Mfa,
    /// Which KMS keys encrypt the tenant's data at rest: `aws-managed` (default: each service's AWS managed or
    /// owned key, no key to pay for or operate) or `customer-managed` (one KMS key per tenant, `alias/rm-<tenant>`,
    /// rotated yearly, kept when the stack is deleted, for the DynamoDB tables, the dead-letter queue, every log
    /// group, every function's environment and the Secrets Manager secrets; $1 a month plus requests, see
    /// docs/security.md for switching).
    #[serde(default)]
    pub kms: Kms,
}

fn enabled() -> bool {
    true
}

impl Default for Security {
    fn default() -> Self {
        Security {
            iot_log_level: IotLogLevel::default(),
            device_defender_audit: true,
            mfa: Mfa::default(),
            kms: Kms::default(),
        }
    }
}

/// AWS IoT v2 log level.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum IotLogLevel {
    Error,
    #[default]
    Warn,
    Info,
    Debug,
    /// No IoT logging resource in the stack.
    Disabled,
}

impl IotLogLevel {
    /// The CloudFormation spelling (`DefaultLogLevel`), `None` when disabled.
    pub fn as_cfn(self) -> Option<&'static str> {
        match self {
            IotLogLevel::Error => Some("ERROR"),
            IotLogLevel::Warn => Some("WARN"),
            IotLogLevel::Info => Some("INFO"),
            IotLogLevel::Debug => Some("DEBUG"),
            IotLogLevel::Disabled => None,
        }
    }
}

/// Multi-factor authentication of the user pool.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Mfa {
    /// No MFA.
    #[default]
    Off,
    /// Users may add a TOTP authenticator; those who do are asked for a code at sign-in.
    Optional,
}

impl Mfa {
    /// `MfaConfiguration` of the user pool.
    pub fn as_cfn(self) -> &'static str {
        match self {
            Mfa::Off => "OFF",
            Mfa::Optional => "OPTIONAL",
        }
    }
}

/// The KMS keys that encrypt the tenant's data at rest.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Kms {
    /// Each service's own key (DynamoDB's `aws/dynamodb`, SQS-managed SSE, CloudWatch Logs' and Lambda's service
    /// keys, `aws/secretsmanager`).
    #[default]
    AwsManaged,
    /// One customer-managed KMS key per tenant for tables, queue, log groups, function environments and secrets.
    CustomerManaged,
}

impl Kms {
    pub fn customer_managed(self) -> bool {
        self == Kms::CustomerManaged
    }
}
