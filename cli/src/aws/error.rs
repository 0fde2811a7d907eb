//! Errors of the deploy core: what happened, why, and what to do next.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use miette::Diagnostic;
use thiserror::Error;

#[derive(Debug, Error, Diagnostic)]
pub enum DeployError {
    #[error("{operation} failed: {message}")]
    #[diagnostic(code(rainmaker::deploy::aws), help("{help}"))]
    Aws { operation: &'static str, code: Option<String>, message: String, help: String },

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
              to delete and create it again (its retained tables and bucket are kept)")
    )]
    FailedCreate { stack: String, status: String },

    #[error("stack {stack} is in {status}, which this command cannot continue from")]
    #[diagnostic(code(rainmaker::deploy::stuck), help("{help}"))]
    Stuck { stack: String, status: String, help: String },

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

    #[error("{what}: {reason}")]
    #[diagnostic(code(rainmaker::deploy::io))]
    Io { what: String, reason: String },

    #[error(transparent)]
    #[diagnostic(transparent)]
    Template(#[from] crate::template::TemplateError),
}

fn aws_help(code: Option<&str>, message: &str) -> String {
    let m = message.to_ascii_lowercase();
    if m.contains("credential")
        || matches!(code, Some("ExpiredToken" | "InvalidClientTokenId" | "UnrecognizedClientException"))
    {
        return "check your AWS credentials: `aws sts get-caller-identity` (with the same --profile) must work; for SSO run \
                `aws sso login`"
            .into();
    }
    if matches!(code, Some("AccessDenied" | "AccessDeniedException")) || m.contains("not authorized") {
        return "the identity in use lacks a permission named above; docs/deploy.md lists what a deployer needs".into();
    }
    if matches!(code, Some("Throttling" | "ThrottlingException" | "TooManyRequestsException")) {
        return "AWS throttled the calls even after retries with backoff; wait a minute and run the command again"
            .into();
    }
    "see the AWS message above; run again with -v for details".into()
}

impl DeployError {
    /// An SDK error of one operation, with the service's code and message.
    pub(crate) fn sdk<E, R>(operation: &'static str, e: SdkError<E, R>) -> DeployError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug,
    {
        let code = e.code().map(str::to_string);
        let message = match e.message() {
            Some(m) => m.to_string(),
            None => DisplayErrorContext(&e).to_string(),
        };
        let help = aws_help(code.as_deref(), &message);
        DeployError::Aws { operation, code, message, help }
    }

    pub(crate) fn io(what: impl Into<String>, e: impl std::fmt::Display) -> DeployError {
        DeployError::Io { what: what.into(), reason: e.to_string() }
    }
}
