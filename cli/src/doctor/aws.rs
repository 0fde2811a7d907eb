//! The AWS checks: credentials (profile, account, region), the reach of CloudFormation, IoT and S3, and the quotas
//! (values from Service Quotas, counts from IoT). Short timeouts and two attempts per call, everything after the
//! credentials concurrently, so a missing credential or a dead endpoint fails in seconds, not minutes.

use super::quota::{self, Observed, Quota, Source};
use super::Check;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sts::config::ProvideCredentials;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use std::time::Duration;

/// How long resolving the credentials may take (the chain ends with the instance metadata service).
pub const CREDENTIALS_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the AWS checks point.
#[derive(Debug, Clone)]
pub struct Target {
    /// `--profile` / `AWS_PROFILE`; `None` is the default chain.
    pub profile: Option<String>,
    pub region: String,
    /// Where the region came from (`rainmaker.yaml`, `--region`, the AWS chain).
    pub region_from: String,
    pub endpoint_url: Option<String>,
}

/// What the tenant adds and which of the account's resources are its own (not counted as used by others).
#[derive(Debug, Clone, Default)]
pub struct Tenant {
    /// `rm_<tenant>_`: its topic rules.
    pub rule_prefix: Option<String>,
    /// `rm-<tenant>-`: its policies.
    pub policy_prefix: Option<String>,
    pub topic_rules: Option<u64>,
    pub policies: Option<u64>,
}

/// The region: `--region`, else the config's, else the AWS chain (AWS_REGION, the profile); `None` when none.
pub async fn region(cli: Option<&str>, config: Option<&str>, profile: Option<&str>) -> Option<(String, String)> {
    if let Some(r) = cli {
        return Some((r.to_string(), "--region".into()));
    }
    if let Some(r) = config {
        return Some((r.to_string(), "the config".into()));
    }
    let mut chain = aws_config::default_provider::region::DefaultRegionChain::builder();
    if let Some(p) = profile {
        chain = chain.profile_name(p);
    }
    let r = chain.build().region().await?;
    Some((r.to_string(), "the AWS chain (AWS_REGION or the profile)".into()))
}

/// The SDK configuration `doctor` uses: the standard chain, 2 s to connect (a dead endpoint fails fast), 15 s for
/// an answer (a loaded emulator is slow, not dead), two attempts.
pub async fn sdk(t: &Target) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(t.region.clone()))
        .retry_config(RetryConfig::standard().with_max_attempts(2))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2))
                .operation_attempt_timeout(Duration::from_secs(15))
                .operation_timeout(Duration::from_secs(30))
                .build(),
        );
    if let Some(p) = &t.profile {
        loader = loader.profile_name(p);
    }
    if let Some(e) = &t.endpoint_url {
        loader = loader.endpoint_url(e);
    }
    loader.load().await
}

/// Every AWS check, in report order.
pub async fn checks(t: &Target, sdk: &SdkConfig, tenant: &Tenant) -> Vec<Check> {
    let who = match &t.profile {
        Some(p) => format!("profile {p}"),
        None => "the default credential chain".into(),
    };
    let key = match resolve_credentials(sdk).await {
        Ok(k) => k,
        Err(why) => {
            let mut out = vec![Check::fail(
                "credentials",
                format!(
                    "no credentials from {who} (the environment, the profile files, SSO, container and instance \
                     metadata were tried; the last said: {why})"
                ),
                "configure credentials: `aws configure` (or `aws configure sso` then `aws sso login`), select them \
                 with --profile NAME or AWS_PROFILE, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
            )];
            for n in ["cloudformation", "iot", "s3"] {
                out.push(Check::warn(n, "not checked: no credentials", "fix `credentials` first"));
            }
            return out;
        }
    };
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(sdk).force_path_style(sdk.endpoint_url().is_some()).build(),
    );
    let iot = aws_sdk_iot::Client::new(sdk);
    let cfn = aws_sdk_cloudformation::Client::new(sdk);
    let sq = aws_sdk_servicequotas::Client::new(sdk);
    let sts = aws_sdk_sts::Client::new(sdk);
    let (identity, cfn_check, iot_check, s3_check, quotas) = tokio::join!(
        async { sts.get_caller_identity().send().await },
        reach_cloudformation(t, &cfn),
        reach_iot(t, &iot),
        reach_s3(t, &s3),
        quotas(&sq, &iot, tenant),
    );
    let credentials = match identity {
        Ok(id) => Check::ok(
            "credentials",
            format!(
                "account {} as {} ({who}, key {key}); region {} from {}",
                id.account().unwrap_or("?"),
                id.arn().unwrap_or("?"),
                t.region,
                t.region_from
            ),
        ),
        Err(e) => Check::fail(
            "credentials",
            format!("{who} gave key {key}, but {}", failed("STS GetCallerIdentity", &e)),
            fix(t, &e, "sts:GetCallerIdentity"),
        ),
    };
    let mut out = vec![credentials, cfn_check, iot_check, s3_check];
    out.extend(quotas);
    out
}

/// The access key id (masked) and whether it is temporary.
async fn resolve_credentials(sdk: &SdkConfig) -> Result<String, String> {
    let provider = sdk.credentials_provider().ok_or("no credential provider is configured")?;
    match tokio::time::timeout(CREDENTIALS_TIMEOUT, provider.provide_credentials()).await {
        Err(_) => Err(format!("the credential chain did not answer within {} s", CREDENTIALS_TIMEOUT.as_secs())),
        Ok(Err(e)) => Err(root_cause(&e)),
        Ok(Ok(c)) => {
            let id = c.access_key_id();
            let tail = &id[id.len().saturating_sub(4)..];
            let kind = if c.session_token().is_some() { ", temporary" } else { "" };
            Ok(format!("****{tail}{kind}"))
        }
    }
}

async fn reach_cloudformation(t: &Target, cfn: &aws_sdk_cloudformation::Client) -> Check {
    match cfn.list_stacks().send().await {
        Ok(r) => Check::ok(
            "cloudformation",
            format!(
                "ListStacks answered in {} ({} stack summaries on the first page)",
                t.region,
                r.stack_summaries().len()
            ),
        ),
        Err(e) => {
            Check::fail("cloudformation", failed("CloudFormation ListStacks", &e), fix(t, &e, "cloudformation:*"))
        }
    }
}

async fn reach_iot(t: &Target, iot: &aws_sdk_iot::Client) -> Check {
    match iot.describe_endpoint().endpoint_type("iot:Data-ATS").send().await {
        Ok(r) => Check::ok("iot", format!("device endpoint {}", r.endpoint_address().unwrap_or("?"))),
        Err(e) => Check::fail("iot", failed("IoT DescribeEndpoint", &e), fix(t, &e, "iot:DescribeEndpoint")),
    }
}

async fn reach_s3(t: &Target, s3: &aws_sdk_s3::Client) -> Check {
    match s3.list_buckets().send().await {
        Ok(r) => Check::ok("s3", format!("ListBuckets answered ({} buckets)", r.buckets().len())),
        Err(e) => Check::fail("s3", failed("S3 ListBuckets", &e), fix(t, &e, "s3:ListAllMyBuckets")),
    }
}

async fn quotas(sq: &aws_sdk_servicequotas::Client, iot: &aws_sdk_iot::Client, tenant: &Tenant) -> Vec<Check> {
    let (iot_listed, lambda, rules, policies) = tokio::join!(
        listed(sq, "iotcore"),
        by_code(sq, &quota::LAMBDA_CONCURRENCY),
        count_rules(iot, tenant.rule_prefix.as_deref()),
        count_policies(iot, tenant.policy_prefix.as_deref()),
    );
    let from_list = |q: &Quota| -> (Option<f64>, Source) {
        match &iot_listed {
            Err(why) => (q.documented, Source::Documented { why: why.clone() }),
            Ok(list) => match list.iter().find(|(name, _, _)| quota::matches_name(q, name)) {
                Some((_, v, src)) => (Some(*v), src.clone()),
                None => {
                    (q.documented, Source::Documented { why: "Service Quotas lists no such quota for iotcore".into() })
                }
            },
        }
    };
    let mut out = Vec::new();
    for q in quota::ALL {
        let (value, source) = if q.quota_code.is_some() { lambda.clone() } else { from_list(&q) };
        let (used, need, count_error) = match q.key {
            "iot-topic-rules" => split(&rules, tenant.topic_rules),
            "iot-policies" => split(&policies, tenant.policies),
            _ => (None, None, None),
        };
        let mut c = quota::verdict(&q, &Observed { value, source, used, need });
        if let Some(e) = count_error {
            c = Check::warn(
                &c.name,
                format!("{}; could not count what is in use: {e}", c.detail),
                "see the error; \
                the identity needs iot:ListTopicRules and iot:ListPolicies",
            );
        }
        out.push(c);
    }
    out
}

fn split(counted: &Result<u64, String>, need: Option<u64>) -> (Option<u64>, Option<u64>, Option<String>) {
    match counted {
        Ok(n) => (Some(*n), need, None),
        Err(e) => (None, need, Some(e.clone())),
    }
}

/// One quota by its code: the applied value, else the AWS default, else the documented default with why.
pub async fn by_code(sq: &aws_sdk_servicequotas::Client, q: &Quota) -> (Option<f64>, Source) {
    let code = q.quota_code.unwrap_or_default();
    let applied = sq.get_service_quota().service_code(q.service_code).quota_code(code).send().await;
    let why = match applied {
        Ok(r) => match r.quota().and_then(|q| q.value()) {
            Some(v) => return (Some(v), Source::Applied),
            None => "Service Quotas GetServiceQuota returned no value".to_string(),
        },
        Err(e) => failed("Service Quotas GetServiceQuota", &e),
    };
    let default = sq.get_aws_default_service_quota().service_code(q.service_code).quota_code(code).send().await;
    match default {
        Ok(r) => match r.quota().and_then(|q| q.value()) {
            Some(v) => (Some(v), Source::AwsDefault),
            None => (q.documented, Source::Documented { why }),
        },
        Err(e) => {
            (q.documented, Source::Documented { why: format!("{why}; {}", failed("GetAWSDefaultServiceQuota", &e)) })
        }
    }
}

/// A service's quotas as (name, value, source): the applied ones, then the AWS defaults of those not applied.
pub async fn listed(sq: &aws_sdk_servicequotas::Client, service: &str) -> Result<Vec<(String, f64, Source)>, String> {
    let mut out = Vec::new();
    let applied = sq.list_service_quotas().service_code(service).send().await;
    let mut why = String::new();
    match applied {
        Ok(r) => {
            for q in r.quotas() {
                if let (Some(n), Some(v)) = (q.quota_name(), q.value()) {
                    out.push((n.to_string(), v, Source::Applied));
                }
            }
        }
        Err(e) => why = failed("Service Quotas ListServiceQuotas", &e),
    }
    match sq.list_aws_default_service_quotas().service_code(service).send().await {
        Ok(r) => {
            for q in r.quotas() {
                if let (Some(n), Some(v)) = (q.quota_name(), q.value()) {
                    if !out.iter().any(|(m, _, _)| m == n) {
                        out.push((n.to_string(), v, Source::AwsDefault));
                    }
                }
            }
        }
        Err(e) if out.is_empty() => {
            let more = failed("ListAWSDefaultServiceQuotas", &e);
            return Err(if why.is_empty() { more } else { format!("{why}; {more}") });
        }
        Err(_) => {}
    }
    Ok(out)
}

/// Topic rules in the account and region, this tenant's own (`prefix`) not counted.
async fn count_rules(iot: &aws_sdk_iot::Client, own: Option<&str>) -> Result<u64, String> {
    let (mut n, mut token) = (0u64, None::<String>);
    loop {
        let r =
            iot.list_topic_rules().set_next_token(token).send().await.map_err(|e| failed("IoT ListTopicRules", &e))?;
        n += r.rules().iter().filter(|x| !own.is_some_and(|p| x.rule_name().unwrap_or("").starts_with(p))).count()
            as u64;
        token = r.next_token().filter(|t| !t.is_empty()).map(str::to_string);
        if token.is_none() {
            return Ok(n);
        }
    }
}

/// IoT policies in the account and region, this tenant's own (`prefix`) not counted.
async fn count_policies(iot: &aws_sdk_iot::Client, own: Option<&str>) -> Result<u64, String> {
    let (mut n, mut marker) = (0u64, None::<String>);
    loop {
        let r = iot.list_policies().set_marker(marker).send().await.map_err(|e| failed("IoT ListPolicies", &e))?;
        n += r.policies().iter().filter(|x| !own.is_some_and(|p| x.policy_name().unwrap_or("").starts_with(p))).count()
            as u64;
        marker = r.next_marker().filter(|t| !t.is_empty()).map(str::to_string);
        if marker.is_none() {
            return Ok(n);
        }
    }
}

/// `<Service> <Operation> failed: <code>: <message>`, or the kind of failure when nothing answered.
pub fn failed<E>(operation: &str, e: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match e {
        SdkError::TimeoutError(_) => format!("{operation} failed: timeout: no answer in time"),
        SdkError::DispatchFailure(d) => {
            let kind = if d.is_timeout() {
                "timeout"
            } else if d.is_io() {
                "connection failed"
            } else {
                "dispatch failure"
            };
            let why =
                d.as_connector_error().map(|c| root_cause(c)).unwrap_or_else(|| DisplayErrorContext(e).to_string());
            format!("{operation} failed: {kind}: {why}")
        }
        _ if e.code().is_none() && e.raw_response().is_some() => format!(
            "{operation} failed: HTTP {}: the answer is not an AWS response",
            e.raw_response().map_or(0, |r| r.status().as_u16())
        ),
        _ => format!(
            "{operation} failed: {}: {}",
            e.code().unwrap_or("error"),
            e.message().map(str::to_string).unwrap_or_else(|| DisplayErrorContext(e).to_string())
        ),
    }
}

/// The innermost error's message (`Connection refused (os error 111)`), not the whole chain.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// What to do about a failed call.
fn fix<E>(t: &Target, e: &SdkError<E, HttpResponse>, permission: &str) -> String
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    if matches!(e, SdkError::TimeoutError(_) | SdkError::DispatchFailure(_)) {
        return match &t.endpoint_url {
            Some(url) => format!(
                "nothing answers at {url} (--endpoint-url / AWS_ENDPOINT_URL): start the emulator there (e.g. \
                 moto_server), or drop the override to talk to AWS"
            ),
            None => format!(
                "AWS in {} did not answer: check the network and any proxy (HTTPS_PROXY), and that {} is a region \
                 where the service runs",
                t.region, t.region
            ),
        };
    }
    if let (None, Some(r), Some(url)) = (e.code(), e.raw_response(), &t.endpoint_url) {
        return format!(
            "something answers at {url} (HTTP {}), but not as AWS does: is it the emulator's address? Check \
             --endpoint-url / AWS_ENDPOINT_URL, or drop the override to talk to AWS",
            r.status().as_u16()
        );
    }
    match e.code() {
        Some("InvalidClientTokenId" | "SignatureDoesNotMatch" | "UnrecognizedClientException" | "ExpiredToken") => {
            "the credentials were rejected: refresh them (`aws sso login`, or new access keys), or pick another \
             --profile"
                .into()
        }
        Some("AccessDenied" | "AccessDeniedException") => {
            format!("the identity lacks {permission}; docs/deploy.md lists what a deployer needs")
        }
        _ => "see the AWS message; run again with -v for details".into(),
    }
}
