//! Errors of the deploy core: what happened, why, and what to do next.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use miette::Diagnostic;
use std::sync::atomic::{AtomicBool, Ordering};
use thiserror::Error;

use super::reach;

/// The innermost cause of an error, the part that usually says what went wrong.
fn last_cause(e: &(dyn std::error::Error + 'static)) -> String {
    std::iter::successors(Some(e), |&e| e.source()).last().map(|s| s.to_string()).unwrap_or_default()
}

#[derive(Debug, Error, Diagnostic)]
pub enum DeployError {
    /// An AWS call failed: `<Service> <Operation> failed: <code>: <message>`, with help for that code.
    #[error("{operation} failed: {}{message}", code.as_deref().map(|c| format!("{c}: ")).unwrap_or_default())]
    #[diagnostic(code(rainmaker::deploy::aws), help("{help}"))]
    Aws { operation: &'static str, code: Option<String>, message: String, help: String },

    /// The endpoint could not be reached at all (refused, unknown host, no route, no answer).
    #[error("cannot reach {endpoint} ({reason}): {operation} was not sent")]
    #[diagnostic(code(rainmaker::deploy::unreachable), help("{help}"))]
    Unreachable { operation: &'static str, endpoint: String, reason: String, help: String },

    #[error("the change set of {stack} would replace or remove stateful resources: {}", resources.join(", "))]
    #[diagnostic(
        code(rainmaker::deploy::refused),
        help("these resources hold data or identities that a replacement loses. Review `rainmaker-deploy plan`; if losing \
              them is intended (e.g. a fresh test tenant), re-run with --allow-replace")
    )]
    Refused { stack: String, resources: Vec<String> },

    #[error("stack {stack} ended in {status}: {reason}")]
    #[diagnostic(
        code(rainmaker::deploy::stack_failed),
        help(
            "the events above show the first resource that failed; `rainmaker-deploy status` shows the stack's state. \
              Fix the cause, then run `rainmaker-deploy apply` again: it picks up from the stack's state"
        )
    )]
    StackFailed { stack: String, status: String, reason: String },

    #[error("stack {stack} is in {status} from an earlier failed create")]
    #[diagnostic(
        code(rainmaker::deploy::failed_create),
        help("nothing in it can be updated. Run `rainmaker-deploy apply` on a terminal and accept deleting it, or pass --yes \
              to delete and create it again (its retained tables, secrets and user pool are kept and imported into the \
              new stack)")
    )]
    FailedCreate { stack: String, status: String },

    /// `destroy`'s DeleteStack ended in DELETE_FAILED: a resource could not be deleted (the events name it).
    #[error("stack {stack} could not be deleted ({status}): {reason}")]
    #[diagnostic(
        code(rainmaker::deploy::delete_failed),
        help(
            "the stack and what it still holds are left as they are. Fix what keeps that resource (a policy still \
              attached to a certificate, a bucket someone wrote to, a resource another stack uses), then run \
              `rainmaker-deploy destroy` again: it deletes what is left and keeps the data as before"
        )
    )]
    DeleteFailed { stack: String, status: String, reason: String },

    #[error("stack {stack} is in {status}, which this command cannot continue from")]
    #[diagnostic(code(rainmaker::deploy::stuck), help("{help}"))]
    Stuck { stack: String, status: String, help: String },

    /// The change failed, and so did restoring the stack policy `--allow-replace` lifted for it.
    #[error("{error}; and the stack policy of {stack} could not be restored: {restore}")]
    #[diagnostic(
        code(rainmaker::deploy::unprotected),
        help(
            "the data tables of {stack} are not protected by its stack policy right now: run `rainmaker-deploy apply` \
              again (it sets the policy after every change), or restore it by hand"
        )
    )]
    PolicyNotRestored { stack: String, error: Box<DeployError>, restore: Box<DeployError> },

    /// A resource the tenant kept (found by its name) is not what the template declares: nothing is imported.
    #[error("{stack} cannot adopt what this tenant kept: {}; nothing was changed", problems.join("; "))]
    #[diagnostic(
        code(rainmaker::deploy::kept_differs),
        help(
            "these resources outlived an earlier stack of this tenant (destroy keeps the data, a failed first create \
              leaves it). apply imports a kept resource only when it is what the template declares, and never deletes \
              or recreates one to get there: deploy with the config and version that created it, or move its data and \
              delete it by hand, then apply again (docs/deploy.md, \"Re-adopting kept data\")"
        )
    )]
    KeptDiffers { stack: String, problems: Vec<String> },

    #[error("stack {stack} does not exist")]
    #[diagnostic(
        code(rainmaker::deploy::not_deployed),
        help("run `rainmaker-deploy apply` first (`plan` shows what it would create)")
    )]
    NotDeployed { stack: String },

    #[error("the Lambda artifacts in {dir} are not usable: {reason}")]
    #[diagnostic(
        code(rainmaker::deploy::artifacts),
        help("build them with `cargo xtask lambdas` (it writes the zips and manifest.json), or point --artifacts at the \
              directory that holds them")
    )]
    Artifacts { dir: String, reason: String },

    #[error("{file}: SHA-256 is {actual}, but manifest.json says {expected}")]
    #[diagnostic(
        code(rainmaker::deploy::artifact_hash),
        help("the zip changed after the manifest was written; rebuild with `cargo xtask lambdas`")
    )]
    HashMismatch { file: String, expected: String, actual: String },

    #[error("the change set was not executed: {reason}")]
    #[diagnostic(
        code(rainmaker::deploy::declined),
        help("nothing was changed; run `rainmaker-deploy plan` to review it again")
    )]
    Declined { reason: String },

    #[error("the update of {stack} was cancelled and rolled back ({status})")]
    #[diagnostic(
        code(rainmaker::deploy::cancelled),
        help("the stack is back on its previous template; run apply again when ready")
    )]
    Cancelled { stack: String, status: String },

    /// The credentials belong to another account than rainmaker.yaml's `account:` (checked before any change).
    #[error(
        "the credentials in use ({}, {arn}) belong to account {actual}, but rainmaker.yaml says account: \"{expected}\"; nothing was changed",
        credentials.as_deref().unwrap_or("from the SDK's default chain")
    )]
    #[diagnostic(
        code(rainmaker::config::wrong_account),
        help("use credentials of account {expected} (--profile NAME or AWS_PROFILE; `aws sts get-caller-identity` shows \
              whose they are), or correct `account:` in rainmaker.yaml if the tenant moved")
    )]
    WrongAccount { expected: String, actual: String, arn: String, credentials: Option<String> },

    /// The SDK configuration handed to the core points at another region than the tenant's.
    #[error("the SDK configuration is for region {sdk}, but the tenant is in {config}; nothing was changed")]
    #[diagnostic(
        code(rainmaker::config::region_mismatch),
        help("give the tenant an SdkConfig built with its own region (`sdk::load` with `config.region`)")
    )]
    RegionMismatch { config: String, sdk: String },

    /// Another rainmaker tenant is deployed in this account and region (one tenant per account and region).
    #[error(
        "account {account} already holds another rainmaker tenant in {region}: {others}; {tenant} was not deployed, nothing was changed"
    )]
    #[diagnostic(
        code(rainmaker::config::another_tenant),
        help(
            "one tenant per account and region: the topic rules match `node/+/...` account-wide and thing names are \
              the bare serials, so two tenants here would get each other's devices (docs/security.md). Deploy {tenant} \
              to another account (`account:` in rainmaker.yaml, --profile) or region (`region:`), or destroy {first} \
              first (`rainmaker-deploy destroy --config <its rainmaker.yaml>`)"
        )
    )]
    AnotherTenant { tenant: String, account: String, region: String, others: String, first: String },

    /// The local state exists in both the old and the new layout.
    #[error("local state of this tenant exists twice: {old} (the old layout) and {new}")]
    #[diagnostic(
        code(rainmaker::deploy::state_conflict),
        help(
            "keep the one that belongs to this account and region (its claim.json names the certificate: `aws iot \
              describe-certificate --certificate-id ...`), move or delete the other, and run again"
        )
    )]
    StateConflict { old: String, new: String },

    /// The claim certificate's state in the account cannot be continued from without a decision (see
    /// `claim::decide`); nothing of it was changed.
    #[error("{message}")]
    #[diagnostic(code(rainmaker::deploy::claim), help("{help}"))]
    Claim { message: String, help: String },

    #[error("{what}: {reason}")]
    #[diagnostic(code(rainmaker::deploy::io))]
    Io { what: String, reason: String },

    #[error(transparent)]
    #[diagnostic(transparent)]
    Template(#[from] crate::template::TemplateError),
}

static VERBOSE: AtomicBool = AtomicBool::new(false);

/// Show the raw detail of AWS errors (the SDK's error chain, request id) in their help (`-v`).
pub fn set_verbose(on: bool) {
    VERBOSE.store(on, Ordering::Relaxed);
}

/// The help line for an AWS error code and message: credentials, access denied (naming the missing action),
/// throttling, not found, already exists, validation, or a pointer to `-v`.
pub fn aws_help(code: Option<&str>, message: &str) -> String {
    let m = message.to_ascii_lowercase();
    let code = code.unwrap_or("");
    let is = |codes: &[&str]| codes.contains(&code);
    if is(&[
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "InvalidSignatureException",
        "AuthFailure",
        "MissingAuthenticationToken",
    ]) || m.contains("credential")
        || m.contains("security token")
    {
        return "check your AWS credentials: `aws sts get-caller-identity` (with the same --profile) must work; for SSO \
                run `aws sso login`, for expired keys get new ones"
            .into();
    }
    if is(&["AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError", "Forbidden"])
        || m.contains("not authorized")
    {
        return match missing_action(message) {
            Some(action) => format!(
                "the identity in use may not call {action}: grant it (docs/deploy.md lists what a deployer needs), or \
                 use a --profile that has it"
            ),
            None => "the identity in use lacks a permission for this call; docs/deploy.md lists what a deployer needs"
                .into(),
        };
    }
    if is(&[
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "SlowDown",
        "ProvisionedThroughputExceededException",
        "RequestThrottled",
    ]) {
        return "AWS throttled the calls even after retries with backoff; wait a minute and run the command again (it \
                continues from the stacks' state)"
            .into();
    }
    if is(&["ResourceNotFoundException", "NotFoundException", "NoSuchBucket", "NoSuchKey", "NotFound", "NoSuchEntity"])
        || m.contains("does not exist")
    {
        return "it does not exist in this account and region: check --region, --profile and the tenant name; \
                `rainmaker-deploy status` shows what is deployed"
            .into();
    }
    if is(&[
        "AlreadyExistsException",
        "ResourceAlreadyExistsException",
        "EntityAlreadyExists",
        "BucketAlreadyExists",
        "BucketAlreadyOwnedByYou",
        "ResourceInUseException",
    ]) || m.contains("already exists")
    {
        return "a resource of that name already exists: data kept by an earlier `destroy`, or another stack using the \
                name; `rainmaker-deploy status` shows the tenant's stacks (docs/deploy.md: kept data)"
            .into();
    }
    if is(&[
        "ValidationError",
        "ValidationException",
        "InvalidParameterValue",
        "InvalidParameterException",
        "InvalidParameterCombination",
        "InvalidRequestException",
        "InvalidRequest",
        "MalformedPolicyDocumentException",
    ]) {
        return "AWS rejected a value of the request: check the value named above in rainmaker.yaml; if the config \
                looks right, run again with -v and report it"
            .into();
    }
    "see the AWS message above; run again with -v for the SDK's detail".into()
}

/// `cloudformation:CreateChangeSet` out of "... is not authorized to perform: cloudformation:CreateChangeSet on ...".
pub fn missing_action(message: &str) -> Option<String> {
    let rest = message.split_once("to perform: ")?.1;
    let action: String = rest.chars().take_while(|c| !c.is_whitespace() && *c != ',' && *c != ';').collect();
    action.contains(':').then_some(action)
}

/// What went wrong in an SDK error that carries no service code: the kind of failure and its innermost cause.
fn without_code<E, R>(e: &SdkError<E, R>) -> String
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let kind = match e {
        SdkError::TimeoutError(_) => "no response before the SDK's timeout",
        SdkError::DispatchFailure(d) if d.is_timeout() => "the connection timed out (after retries)",
        SdkError::DispatchFailure(d) if d.is_io() => "the connection failed (after retries)",
        SdkError::DispatchFailure(_) => "the request could not be sent",
        SdkError::ResponseError(_) => "the response could not be read (is the endpoint an AWS API?)",
        SdkError::ConstructionFailure(_) => "the request could not be built",
        _ => "the call failed",
    };
    match std::error::Error::source(e).map(last_cause) {
        Some(cause) if !cause.is_empty() => format!("{kind}: {cause}"),
        _ => kind.to_string(),
    }
}

impl DeployError {
    /// An SDK error of one operation (`"CloudFormation DescribeStacks"`), with the service's code and message; the
    /// SDK's detail is added to the help with `-v`.
    pub(crate) fn sdk<E, R>(operation: &'static str, e: SdkError<E, R>) -> DeployError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug,
    {
        let detail = DisplayErrorContext(&e).to_string();
        let verbose = |help: String| {
            if VERBOSE.load(Ordering::Relaxed) {
                format!("{help}\ndetail: {detail}")
            } else {
                help
            }
        };
        let unreachable = match &e {
            SdkError::DispatchFailure(d) => d.as_connector_error().and_then(|c| reach::find_unreachable(c)),
            _ => None,
        };
        if let Some(u) = unreachable {
            let help = "check the network and any proxy (HTTPS_PROXY), --endpoint-url / AWS_ENDPOINT_URL and --region"
                .to_string();
            return DeployError::Unreachable {
                operation,
                endpoint: u.endpoint.clone(),
                reason: u.reason.clone(),
                help: verbose(help),
            };
        }
        let code = e.code().map(str::to_string);
        let message = match (e.message(), &code) {
            (Some(m), _) => m.to_string(),
            (None, Some(_)) => "(no message)".to_string(),
            (None, None) => without_code(&e),
        };
        let help = aws_help(code.as_deref(), &message);
        DeployError::Aws { operation, code, message, help: verbose(help) }
    }

    /// A successful response that lacks a field the next step needs.
    pub(crate) fn missing(operation: &'static str, field: &str) -> DeployError {
        DeployError::Aws {
            operation,
            code: None,
            message: format!("the response has no {field}"),
            help: "the service answered without a value it always sends; run the command again, and with -v if it \
                   persists"
                .into(),
        }
    }

    pub(crate) fn io(what: impl Into<String>, e: impl std::fmt::Display) -> DeployError {
        DeployError::Io { what: what.into(), reason: e.to_string() }
    }

    /// The error on one line for a report that is all a CI job leaves: an AWS failure with the first line of its help
    /// (`...; help: ...`), anything else as displayed.
    pub fn with_help(&self) -> String {
        match self {
            DeployError::Aws { help, .. } => format!("{self}; help: {}", help.lines().next().unwrap_or_default()),
            _ => self.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{aws_help, missing_action};

    #[test]
    fn each_kind_of_aws_error_gets_its_help() {
        let cases = [
            (
                Some("ExpiredToken"),
                "The security token included in the request is expired",
                "aws sts get-caller-identity",
            ),
            (Some("InvalidClientTokenId"), "The security token included in the request is invalid", "credentials"),
            (None, "failed to load credentials: no providers in chain", "credentials"),
            (
                Some("AccessDenied"),
                "User: arn:aws:iam::1:user/ci is not authorized to perform: s3:PutObject on resource: x",
                "may not call s3:PutObject",
            ),
            (Some("AccessDeniedException"), "Access denied", "lacks a permission"),
            (Some("Throttling"), "Rate exceeded", "throttled"),
            (Some("SlowDown"), "Please reduce your request rate.", "throttled"),
            (Some("ResourceNotFoundException"), "Requested resource not found", "does not exist in this account"),
            (Some("ValidationError"), "Stack with id rm-x does not exist", "does not exist in this account"),
            (Some("AlreadyExistsException"), "Stack [rm-x] already exists", "already exists"),
            (Some("ResourceInUseException"), "Table already exists: rm-x-users", "already exists"),
            (Some("ValidationError"), "Template format error", "AWS rejected a value"),
            (Some("InternalFailure"), "We encountered an internal error", "-v"),
        ];
        for (code, message, want) in cases {
            let help = aws_help(code, message);
            assert!(help.contains(want), "{code:?} {message}: {help}");
        }
    }

    #[test]
    fn the_missing_action_is_read_from_the_message() {
        assert_eq!(
            missing_action("User: arn:aws:sts::1:assumed-role/x is not authorized to perform: iot:CreateKeysAndCertificate because no identity-based policy allows it").as_deref(),
            Some("iot:CreateKeysAndCertificate")
        );
        assert_eq!(missing_action("Access Denied"), None);
        assert_eq!(missing_action("not authorized to perform: this"), None);
    }
}
