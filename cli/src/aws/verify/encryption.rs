//! Encryption read back after apply, as data: what `security.kms` asks of each table, log group, function, queue
//! and key secret, judged against what each service reports (pure; `super::encryption_reads` makes the calls).
//!
//! What each field means (API references): DynamoDB DescribeTable `SSEDescription` (absent: the table uses an
//! AWS owned key, not the KMS key the template asks for), CloudWatch Logs DescribeLogGroups `kmsKeyId` (absent:
//! CloudWatch Logs' own encryption), Lambda `FunctionConfiguration.KMSKeyArn` (absent: Lambda's AWS managed key),
//! SQS GetQueueAttributes `KmsMasterKeyId` / `SqsManagedSseEnabled`, Secrets Manager DescribeSecret `KmsKeyId`
//! (absent: `aws/secretsmanager`). An absent field is judged as the API says it is, never as "fine": a
//! customer-managed resource without the tenant key fails. Only [`Omissions::Moto`], a test-only mode (no flag or
//! config key; an environment variable honoured only for a loopback endpoint), passes the fields moto (5.2.5) leaves
//! out of resources its CloudFormation creates.

/// How to judge a field the endpoint left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Omissions {
    /// As on AWS: an absent field means what the API reference says (always, for any endpoint of AWS).
    #[default]
    Strict,
    /// Tests against moto only: the fields moto's CloudFormation never sets (a table's `SSEDescription`, a log
    /// group's `kmsKeyId`, a function's `KMSKeyArn`), the log groups it does not list and the key secrets it does
    /// not create pass, with a detail saying so. A field that is present is still judged strictly.
    Moto,
}

/// The environment variable that selects [`Omissions::Moto`] (tests and benchmarks against moto set it), and only
/// for an endpoint override on this machine's loopback interface: AWS is never there.
pub const MOTO_ENV: &str = "RAINMAKER_TEST_MOTO_OMISSIONS";

impl Omissions {
    /// The CLI's mode for the tenant's endpoint override (`--endpoint-url`): [`Omissions::Strict`], except when
    /// `RAINMAKER_TEST_MOTO_OMISSIONS=1` is set and the endpoint is `http://127.0.0.1:…` or `http://localhost:…`
    /// (a local moto_server). No flag or config key selects it, and no endpoint of AWS can.
    pub fn for_cli(endpoint_url: Option<&str>) -> Omissions {
        let set = std::env::var(MOTO_ENV).as_deref() == Ok("1");
        if set && endpoint_url.is_some_and(is_loopback) {
            Omissions::Moto
        } else {
            Omissions::Strict
        }
    }
}

fn is_loopback(url: &str) -> bool {
    let rest = url.strip_prefix("http://").unwrap_or("");
    let host = rest.split(['/', '?']).next().unwrap_or("");
    let host =
        host.rsplit_once(':').map_or(host, |(h, port)| if port.chars().all(|c| c.is_ascii_digit()) { h } else { host });
    host == "127.0.0.1" || host == "localhost" || host == "[::1]"
}

/// What `security.kms` asks of every store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Want {
    /// `aws-managed`: each service's own encryption (`aws/dynamodb`, SQS-managed, CloudWatch Logs', Lambda's,
    /// `aws/secretsmanager`).
    AwsManaged,
    /// `customer-managed`: the tenant key.
    Key { arn: String, alias: String },
}

/// A judgement: passes, and what was seen (or expected, found and what to do).
pub type Verdict = (bool, String);

const FIX: &str = "the stack sets it: a change made outside CloudFormation is drift (`rainmaker-deploy status \
                   --drift` shows it); put it back in the console or CLI, or run `rainmaker-deploy apply` after a \
                   template change to that resource, then `rainmaker-deploy apply --verify`";

fn mode(want: &Want) -> &'static str {
    match want {
        Want::AwsManaged => "security.kms: aws-managed",
        Want::Key { .. } => "security.kms: customer-managed",
    }
}

fn is_key(want: &Want, seen: &str) -> bool {
    match want {
        Want::AwsManaged => false,
        Want::Key { arn, alias } => crate::aws::claim::encrypt::same_key(Some(seen), arn, alias),
    }
}

fn mismatch(want: &Want, expected: &str, found: &str) -> Verdict {
    (false, format!("encryption: expected {expected} ({}), found {found}; {FIX}", mode(want)))
}

fn moto_omitted(field: &str) -> Verdict {
    (true, format!("encryption: {field} not reported (test mode: moto's CloudFormation does not set it)"))
}

/// DescribeTable's `SSEDescription` (`Status`, `SSEType`, `KMSMasterKeyArn`), `None` when absent.
pub fn table(want: &Want, sse: Option<(&str, &str, Option<&str>)>, om: Omissions) -> Verdict {
    let Some((status, ty, key)) = sse else {
        if om == Omissions::Moto {
            return moto_omitted("SSEDescription");
        }
        let expected = match want {
            Want::AwsManaged => "SSE ENABLED with KMS (aws/dynamodb)".to_string(),
            Want::Key { arn, .. } => format!("SSE ENABLED with KMS key {arn}"),
        };
        return mismatch(want, &expected, "no SSEDescription (an AWS owned key)");
    };
    let key_text = key.unwrap_or("no KMSMasterKeyArn");
    let found = format!("SSE {status} {ty} {key_text}");
    match want {
        _ if status != "ENABLED" || ty != "KMS" => {
            let expected = match want {
                Want::AwsManaged => "SSE ENABLED with KMS (aws/dynamodb)".to_string(),
                Want::Key { arn, .. } => format!("SSE ENABLED with KMS key {arn}"),
            };
            mismatch(want, &expected, &found)
        }
        Want::Key { arn, .. } if !key.is_some_and(|k| is_key(want, k)) => {
            mismatch(want, &format!("KMS key {arn}"), &found)
        }
        _ => (true, format!("encryption: {found}")),
    }
}

/// A key field that is absent under `aws-managed` and the tenant key under `customer-managed`: a log group's
/// `kmsKeyId` or a function's `KMSKeyArn`. `field` names it; `moto_omits` says whether moto leaves it out.
pub fn key_field(want: &Want, field: &str, seen: Option<&str>, moto_omits: bool, om: Omissions) -> Verdict {
    match (want, seen) {
        (Want::AwsManaged, None) => (true, format!("encryption: no {field} (the service's own key)")),
        (Want::AwsManaged, Some(k)) => mismatch(want, &format!("no {field} (the service's own key)"), k),
        (Want::Key { .. }, Some(k)) if is_key(want, k) => (true, format!("encryption: {field} {k}")),
        (Want::Key { arn, .. }, Some(k)) => mismatch(want, &format!("{field} {arn}"), k),
        (Want::Key { .. }, None) if moto_omits && om == Omissions::Moto => moto_omitted(field),
        (Want::Key { arn, .. }, None) => mismatch(want, &format!("{field} {arn}"), &format!("no {field}")),
    }
}

/// GetQueueAttributes' `KmsMasterKeyId` and `SqsManagedSseEnabled` (each `None` when not returned).
pub fn queue(want: &Want, kms_key: Option<&str>, sqs_managed: Option<&str>) -> Verdict {
    let kms_key = kms_key.filter(|k| !k.is_empty());
    match (want, kms_key) {
        (Want::AwsManaged, None) if sqs_managed == Some("true") => {
            (true, "encryption: SqsManagedSseEnabled true".into())
        }
        (Want::AwsManaged, _) => mismatch(
            want,
            "SqsManagedSseEnabled true and no KmsMasterKeyId",
            &format!(
                "SqsManagedSseEnabled {}, KmsMasterKeyId {}",
                sqs_managed.unwrap_or("absent"),
                kms_key.unwrap_or("absent")
            ),
        ),
        (Want::Key { .. }, Some(k)) if is_key(want, k) => (true, format!("encryption: KmsMasterKeyId {k}")),
        (Want::Key { arn, .. }, k) => {
            mismatch(want, &format!("KmsMasterKeyId {arn}"), &format!("KmsMasterKeyId {}", k.unwrap_or("absent")))
        }
    }
}

/// DescribeSecret's `KmsKeyId` (absent: `aws/secretsmanager`).
pub fn secret(want: &Want, kms_key: Option<&str>) -> Verdict {
    let aws_key = |k: &str| k == "alias/aws/secretsmanager" || k.ends_with(":alias/aws/secretsmanager");
    match (want, kms_key) {
        (Want::AwsManaged, None) => (true, "encryption: aws/secretsmanager (no KmsKeyId)".into()),
        (Want::AwsManaged, Some(k)) if aws_key(k) => (true, format!("encryption: KmsKeyId {k}")),
        (Want::AwsManaged, Some(k)) => mismatch(want, "aws/secretsmanager", &format!("KmsKeyId {k}")),
        (Want::Key { .. }, Some(k)) if is_key(want, k) => (true, format!("encryption: KmsKeyId {k}")),
        (Want::Key { arn, .. }, k) => mismatch(
            want,
            &format!("KmsKeyId {arn}"),
            &k.map_or_else(|| "no KmsKeyId (aws/secretsmanager)".to_string(), |k| format!("KmsKeyId {k}")),
        ),
    }
}

/// A key secret the endpoint does not know (DescribeSecret `ResourceNotFoundException`): a failure, except in
/// [`Omissions::Moto`] (moto's CloudFormation does not create `AWS::SecretsManager::Secret`).
pub fn secret_not_found(error: &str, om: Omissions) -> Verdict {
    match om {
        Omissions::Moto => {
            (true, "encryption: secret not found (test mode: moto's CloudFormation does not create it)".into())
        }
        Omissions::Strict => (false, format!("encryption not read: {error}")),
    }
}

/// DescribeLogGroups does not list a log group of the stack: a failure, except in [`Omissions::Moto`] (moto
/// 5.2.5 lists the functions' log groups after a stack create, but not the API access and WAF ones).
pub fn log_group_not_listed(om: Omissions) -> Verdict {
    match om {
        Omissions::Moto => (true, "encryption: log group not listed (test mode: moto does not list it)".into()),
        Omissions::Strict => (false, "encryption not read: DescribeLogGroups does not list the log group".into()),
    }
}

#[cfg(test)]
#[path = "encryption_tests.rs"]
mod tests;
