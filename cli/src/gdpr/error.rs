//! Errors of the GDPR commands: what happened, and what to do.

use crate::aws::DeployError;
use miette::Diagnostic;
use thiserror::Error;

#[derive(Debug, Error, Diagnostic)]
pub enum GdprError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Aws(#[from] DeployError),

    #[error(
        "user {user} is not known to tenant {tenant}: not in the user pool {user_pool}, and no data in the tables"
    )]
    #[diagnostic(
        code(rainmaker::gdpr::unknown_user),
        help(
            "--user takes the Cognito `sub` (a UUID) and --email the address the user signed up with; check the \
              tenant (--config) and the user pool (--user-pool-id)"
        )
    )]
    UnknownUser { user: String, tenant: String, user_pool: String },

    #[error("{flag}: {message}")]
    #[diagnostic(code(rainmaker::usage::gdpr), help("{help}"))]
    Usage { flag: &'static str, message: String, help: String },

    #[error("stack {stack} has no output {output}")]
    #[diagnostic(code(rainmaker::gdpr::missing_output), help("{help}"))]
    MissingOutput { stack: String, output: String, help: String },

    #[error("{what}: {reason}")]
    #[diagnostic(code(rainmaker::gdpr::io))]
    Io { what: String, reason: String },

    #[error("{operation} failed: {message}")]
    #[diagnostic(code(rainmaker::gdpr::aws), help("{help}"))]
    Model { operation: &'static str, message: String, help: String },

    #[error("the verify pass found data of the user left after the erase: {left} (recorded in {})", journal.display())]
    #[diagnostic(
        code(rainmaker::gdpr::not_erased),
        help("something wrote while the erase ran (a device or an app); run the same erase again: it resumes")
    )]
    Leftovers { left: String, journal: std::path::PathBuf },
}

impl GdprError {
    pub(crate) fn io(what: impl Into<String>, e: impl std::fmt::Display) -> GdprError {
        GdprError::Io { what: what.into(), reason: e.to_string() }
    }

    pub(crate) fn usage(flag: &'static str, message: impl Into<String>, help: impl Into<String>) -> GdprError {
        GdprError::Usage { flag, message: message.into(), help: help.into() }
    }

    pub(crate) fn unbind(e: rainmaker_model::unbind::UnbindError) -> GdprError {
        GdprError::Model {
            operation: "unbind",
            message: e.to_string(),
            help: "run the erase again: every step is idempotent and it resumes where it stopped".into(),
        }
    }
}

/// An SDK error of one operation (`"DynamoDB Query"`), as a [`GdprError`].
pub(crate) fn sdk<E, R>(
    operation: &'static str,
) -> impl FnOnce(aws_smithy_runtime_api::client::result::SdkError<E, R>) -> GdprError
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    move |e| GdprError::Aws(DeployError::sdk(operation, e))
}
