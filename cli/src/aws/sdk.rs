//! SDK configuration from aws-config's standard chain, and the per-tenant clients the deploy core uses.

use super::calls::{CallLog, CountCalls};
use crate::config::Config;
use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use std::path::PathBuf;
use std::time::Duration;

/// Where the SDK configuration comes from: the standard chain plus the command line's overrides.
#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    /// Named profile (`--profile`, `AWS_PROFILE`).
    pub profile: Option<String>,
    /// Region (the tenant's, or `--region`).
    pub region: String,
    /// Endpoint override (`--endpoint-url`, `AWS_ENDPOINT_URL`), e.g. a local moto_server.
    pub endpoint_url: Option<String>,
}

/// The SDK's standard retry strategy (exponential backoff with jitter; throttling and transient errors retried),
/// with up to 8 attempts per call and at most 20 s between two. Give it to any `SdkConfig` handed to the core
/// (an upgrade job's assumed-role configs too): CloudFormation throttles `Describe*` calls at a few per second.
pub fn retry_config() -> RetryConfig {
    RetryConfig::standard().with_max_attempts(8).with_max_backoff(Duration::from_secs(20))
}

/// Load an `SdkConfig` through aws-config's standard chain (env, profiles, SSO, IMDS...), with [`retry_config`]
/// and the fail-fast HTTPS client ([`super::reach`]): an endpoint that cannot be reached fails the call at once.
pub async fn load(opts: &AwsOptions) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(opts.region.clone()))
        .http_client(super::reach::https_client())
        .retry_config(retry_config());
    if let Some(p) = &opts.profile {
        loader = loader.profile_name(p);
    }
    if let Some(e) = &opts.endpoint_url {
        loader = loader.endpoint_url(e);
    }
    loader.load().await
}

/// One tenant as the deploy core sees it: its config, its own SDK configuration and its files.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub config: Config,
    pub sdk: SdkConfig,
    /// Directory of rainmaker.yaml: the claim certificate and outputs go under
    /// `<dir>/.rainmaker/<account>/<region>/<tenant>/` ([`Tenant::state_dir`]).
    pub config_dir: PathBuf,
    /// Directory holding the Lambda zips and their `manifest.json` (`cargo xtask lambdas`).
    pub artifacts_dir: PathBuf,
}

impl Tenant {
    /// `<config dir>/.rainmaker/<account>/<region>/<tenant>`: where this tenant's local state (claim certificate,
    /// outputs, GDPR journals) lives for the credentials' account. [`super::identity::state_dir`] finds the account
    /// (and moves an old `.rainmaker/<tenant>/` there).
    pub fn state_dir(&self, account: &str) -> PathBuf {
        super::state::dir(&self.config_dir, account, &self.config.region, &self.config.name)
    }
}

/// Every client the core needs, all counting their calls into one [`CallLog`].
#[derive(Debug, Clone)]
pub struct Clients {
    pub cfn: aws_sdk_cloudformation::Client,
    pub s3: aws_sdk_s3::Client,
    pub iot: aws_sdk_iot::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub ddb: aws_sdk_dynamodb::Client,
    pub sts: aws_sdk_sts::Client,
    /// Cognito user pools (`destroy --delete-data`, adopting a kept pool).
    pub cognito: aws_sdk_cognitoidentityprovider::Client,
    /// The key secrets (`destroy --delete-data`, adopting kept secrets).
    pub secrets: aws_sdk_secretsmanager::Client,
    /// The tenant key (`security.kms: customer-managed`): the claim secret is encrypted with it.
    pub kms: aws_sdk_kms::Client,
    /// Log groups' encryption (apply's verification).
    pub logs: aws_sdk_cloudwatchlogs::Client,
    /// The dead-letter queue's encryption (apply's verification).
    pub sqs: aws_sdk_sqs::Client,
    pub calls: CallLog,
}

impl Clients {
    /// Build the clients for one SDK config. S3 uses path-style addressing when an endpoint override is set (local
    /// emulators have no per-bucket host names).
    pub fn new(sdk: &SdkConfig) -> Clients {
        let calls = CallLog::default();
        let count = CountCalls(calls.clone());
        let cfn = aws_sdk_cloudformation::config::Builder::from(sdk).interceptor(count.clone()).build();
        let s3 = aws_sdk_s3::config::Builder::from(sdk)
            .interceptor(count.clone())
            .force_path_style(sdk.endpoint_url().is_some())
            .build();
        let iot = aws_sdk_iot::config::Builder::from(sdk).interceptor(count.clone()).build();
        let lambda = aws_sdk_lambda::config::Builder::from(sdk).interceptor(count.clone()).build();
        let ddb = aws_sdk_dynamodb::config::Builder::from(sdk).interceptor(count.clone()).build();
        let sts = aws_sdk_sts::config::Builder::from(sdk).interceptor(count.clone()).build();
        let cognito = aws_sdk_cognitoidentityprovider::config::Builder::from(sdk).interceptor(count.clone()).build();
        let secrets = aws_sdk_secretsmanager::config::Builder::from(sdk).interceptor(count.clone()).build();
        let kms = aws_sdk_kms::config::Builder::from(sdk).interceptor(count.clone()).build();
        let logs = aws_sdk_cloudwatchlogs::config::Builder::from(sdk).interceptor(count.clone()).build();
        let sqs = aws_sdk_sqs::config::Builder::from(sdk).interceptor(count).build();
        Clients {
            cfn: aws_sdk_cloudformation::Client::from_conf(cfn),
            s3: aws_sdk_s3::Client::from_conf(s3),
            iot: aws_sdk_iot::Client::from_conf(iot),
            lambda: aws_sdk_lambda::Client::from_conf(lambda),
            ddb: aws_sdk_dynamodb::Client::from_conf(ddb),
            sts: aws_sdk_sts::Client::from_conf(sts),
            cognito: aws_sdk_cognitoidentityprovider::Client::from_conf(cognito),
            secrets: aws_sdk_secretsmanager::Client::from_conf(secrets),
            kms: aws_sdk_kms::Client::from_conf(kms),
            logs: aws_sdk_cloudwatchlogs::Client::from_conf(logs),
            sqs: aws_sdk_sqs::Client::from_conf(sqs),
            calls,
        }
    }
}
