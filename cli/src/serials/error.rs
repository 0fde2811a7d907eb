//! Errors of the serials commands: what happened, and what to do.

use super::csv::Problem;
use crate::aws::DeployError;
use miette::Diagnostic;
use thiserror::Error;

#[derive(Debug, Error, Diagnostic)]
pub enum SerialsError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Aws(#[from] DeployError),

    #[error("{file}: {}, nothing was written\n{}", count(.problems), list(.file, .problems))]
    #[diagnostic(
        code(rainmaker::usage::serials_file),
        help(
            "the file is `serial,secret` with that header line, one device a line; a serial matches \
             devices.claim_serial_pattern, a secret is 22 to 128 characters of A-Z, a-z, 0-9, '-' and '_'. Fix the \
             lines above and run the import again"
        )
    )]
    InvalidFile { file: String, problems: Vec<Problem> },

    #[error("{what}: {reason}")]
    #[diagnostic(code(rainmaker::usage::serials_io))]
    Io { what: String, reason: String },

    #[error("stack {stack} has no output {output}")]
    #[diagnostic(code(rainmaker::serials::missing_output), help("{help}"))]
    MissingOutput { stack: String, output: String, help: String },

    #[error("the serial key in {secret} is not usable: {reason}")]
    #[diagnostic(
        code(rainmaker::serials::key),
        help("the backend stack generates it (SerialKeySecret); run `rainmaker-deploy apply`, or see docs/security.md for rotating it")
    )]
    Key { secret: String, reason: String },

    #[error("serial {serial} is not on the allow-list of {tenant}")]
    #[diagnostic(
        code(rainmaker::serials::unknown),
        help("`rainmaker-deploy serials list` shows the allow-list; `serials import` adds serials")
    )]
    Unknown { serial: String, tenant: String },

    #[error("{operation} failed: {message}")]
    #[diagnostic(code(rainmaker::serials::aws), help("{help}"))]
    Incomplete { operation: &'static str, message: String, help: String },

    #[error("{flag}: {message}")]
    #[diagnostic(code(rainmaker::usage::serials), help("{help}"))]
    Usage { flag: &'static str, message: String, help: String },
}

fn count(problems: &[Problem]) -> String {
    match problems.len() {
        1 => "1 problem".into(),
        n => format!("{n} problems"),
    }
}

fn list(file: &str, problems: &[Problem]) -> String {
    problems.iter().map(|p| format!("  {file}:{}: {}", p.line, p.message)).collect::<Vec<_>>().join("\n")
}

impl SerialsError {
    pub(crate) fn io(what: impl Into<String>, e: impl std::fmt::Display) -> SerialsError {
        SerialsError::Io { what: what.into(), reason: e.to_string() }
    }
}

/// An SDK error of one operation (`"DynamoDB BatchWriteItem"`), as a [`SerialsError`].
pub(crate) fn sdk<E, R>(
    operation: &'static str,
) -> impl FnOnce(aws_smithy_runtime_api::client::result::SdkError<E, R>) -> SerialsError
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    move |e| SerialsError::Aws(DeployError::sdk(operation, e))
}
