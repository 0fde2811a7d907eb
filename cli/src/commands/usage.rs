//! Errors in the command line itself: a flag with a value that cannot work, a file that is in the way.

use miette::Diagnostic;
use thiserror::Error;

/// A bad flag or argument: names it, says why, says what would be valid.
#[derive(Debug, Error, Diagnostic)]
#[error("{flag}: {message}")]
#[diagnostic(code(rainmaker::usage::invalid_argument))]
pub struct UsageError {
    pub flag: String,
    pub message: String,
    #[help]
    pub help: Option<String>,
}

impl UsageError {
    pub fn new(flag: impl Into<String>, message: impl Into<String>, help: impl Into<String>) -> Self {
        UsageError { flag: flag.into(), message: message.into(), help: Some(help.into()) }
    }
}

/// Write a file through a temporary sibling and a rename, so an interrupted write never leaves half a file.
pub fn write_atomic(path: &std::path::Path, contents: &str) -> std::io::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    std::fs::write(&tmp, contents)?;
    std::fs::rename(&tmp, path)
}
