//! Configuration errors as miette diagnostics: file, line and column, the field, what is valid, "did you mean".

use super::locate::{self, Entry};
use miette::{Diagnostic, NamedSource, SourceSpan};
use thiserror::Error;

/// One invalid setting found by validation.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// Dotted path of the field (`lambda.memory_mb`).
    pub path: String,
    /// What is wrong with it.
    pub message: String,
    /// What would be valid.
    pub help: String,
}

/// Everything that can go wrong reading rainmaker.yaml or a blueprint.
#[derive(Debug, Error, Diagnostic)]
pub enum ConfigError {
    #[error("cannot read the config file {path}: {reason}")]
    #[diagnostic(
        code(rainmaker::config::read),
        help("create one with `rainmaker-deploy init --name <tenant>`, or point --config at an existing file")
    )]
    Read { path: String, reason: String },

    #[error("{file}:{line}:{column}: {message}")]
    #[diagnostic(code(rainmaker::config::syntax))]
    Yaml {
        file: String,
        line: usize,
        column: usize,
        message: String,
        #[help]
        help: Option<String>,
        #[source_code]
        src: NamedSource<String>,
        #[label("here")]
        span: Option<SourceSpan>,
    },

    #[error("{file}: {} invalid setting{}", problems.len(), if problems.len() == 1 { "" } else { "s" })]
    #[diagnostic(code(rainmaker::config::invalid), help("docs/rainmaker.schema.json describes every field"))]
    Invalid {
        file: String,
        #[related]
        problems: Vec<InvalidSetting>,
    },

    #[error("unknown blueprint `{name}`")]
    #[diagnostic(code(rainmaker::usage::unknown_blueprint), help("choose one of: {known}"))]
    UnknownBlueprint { name: String, known: String },
}

/// One invalid setting, located in the file.
#[derive(Debug, Error, Diagnostic)]
#[error("{file}:{line}:{column}: `{path}`: {message}")]
#[diagnostic(code(rainmaker::config::invalid_value))]
pub struct InvalidSetting {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub path: String,
    pub message: String,
    #[help]
    pub help: Option<String>,
    #[source_code]
    pub src: NamedSource<String>,
    #[label("{path}")]
    pub span: Option<SourceSpan>,
}

impl ConfigError {
    /// Locate each problem in the source and wrap them all in one error.
    pub fn invalid(problems: Vec<Problem>, source: &str, file: &str) -> Self {
        ConfigError::Invalid { file: file.to_string(), problems: locate_all(problems, source, file) }
    }

    /// The (path, message) of every problem, for tests and JSON consumers.
    pub fn problems(&self) -> Vec<(String, String)> {
        match self {
            ConfigError::Invalid { problems, .. } => {
                problems.iter().map(|p| (p.path.clone(), p.message.clone())).collect()
            }
            _ => Vec::new(),
        }
    }
}

/// Locate each problem in the source (file:line:column of the value, or of its nearest parent in the file).
pub(crate) fn locate_all(problems: Vec<Problem>, source: &str, file: &str) -> Vec<InvalidSetting> {
    let entries = locate::entries(source);
    problems
        .into_iter()
        .map(|p| {
            let entry = nearest(&entries, &p.path);
            let (line, column, span) = match entry {
                Some(e) => (e.value.line, e.value.column, Some(value_span(e, source))),
                None => (1, 1, None),
            };
            InvalidSetting {
                file: file.to_string(),
                line,
                column,
                path: p.path,
                message: p.message,
                help: Some(p.help),
                src: NamedSource::new(file, source.to_string()),
                span,
            }
        })
        .collect()
}

/// The entry for `path`, or for its nearest parent that is in the file (a missing field points at its section).
fn nearest<'a>(entries: &'a [Entry], path: &str) -> Option<&'a Entry> {
    let mut p = path;
    loop {
        if let Some(e) = locate::find(entries, p) {
            return Some(e);
        }
        p = &p[..p.rfind(['.', '['])?];
    }
}

fn value_span(e: &Entry, source: &str) -> SourceSpan {
    let end = if e.value_end.offset > e.value.offset { e.value_end.offset } else { e.value.offset };
    // one line at most: a section's span would cover the whole block
    let line_end = source[e.value.offset..].find('\n').map_or(source.len(), |i| e.value.offset + i);
    (e.value.offset, end.min(line_end).max(e.value.offset) - e.value.offset).into()
}

/// The closest of `candidates` to `word`, when it is close enough to be a likely typo.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

fn field_at(entries: &[Entry], line: usize, column: usize) -> String {
    entries
        .iter()
        .find(|e| e.value.line == line && e.value.column == column)
        .map(|e| format!(" for `{}`", e.path))
        .unwrap_or_default()
}

fn offset_of(source: &str, line: usize, column: usize) -> Option<usize> {
    let start = source.split_inclusive('\n').take(line.checked_sub(1)?).map(str::len).sum::<usize>();
    let rest = source.get(start..)?;
    let col = rest.char_indices().nth(column.saturating_sub(1)).map_or(rest.len(), |(i, _)| i);
    Some(start + col)
}

/// Turn a YAML/serde error into a located diagnostic with a `help:` line.
pub(crate) fn from_yaml(err: serde_saphyr::Error, source: &str, file: &str) -> ConfigError {
    use serde_saphyr::Error as E;
    let loc = err.location().filter(|l| l.line() > 0);
    let (line, column) = loc.map_or((1, 1), |l| (l.line() as usize, l.column() as usize));
    let entries = locate::entries(source);
    let section = |line, col| {
        locate::path_at(&entries, line, col)
            .and_then(|p| p.rfind('.').map(|i| p[..i].to_string()))
            .map_or_else(|| "the top level".to_string(), |s| format!("`{s}`"))
    };
    let (message, help) = match err.without_snippet() {
        E::SerdeUnknownField { field, expected, .. } => {
            let list = expected.iter().map(|e| format!("`{e}`")).collect::<Vec<_>>().join(", ");
            let help = match did_you_mean(field, expected.iter().copied()) {
                Some(m) => format!("did you mean `{m}`? valid keys here: {list}"),
                None => format!("valid keys here: {list}"),
            };
            (format!("unknown field `{field}` in {}", section(line, column)), Some(help))
        }
        E::SerdeMissingField { field, .. } => (
            format!("missing field `{field}`"),
            Some(format!("add `{field}:`; `rainmaker-deploy init` writes a complete file to compare with")),
        ),
        E::SerdeInvalidType { unexpected, expected, .. } | E::SerdeInvalidValue { unexpected, expected, .. } => (
            format!("invalid value{}: found {unexpected}, expected {expected}", field_at(&entries, line, column)),
            None,
        ),
        E::InvalidScalar { ty, .. } => {
            let want = match *ty {
                t if t.starts_with('u') => "a whole number (0 or more)",
                t if t.starts_with('i') => "a whole number",
                t if t.starts_with('f') => "a number",
                "bool" => "true or false",
                other => other,
            };
            (
                format!("invalid value{}: expected {want}", field_at(&entries, line, column)),
                Some(format!("write {want} here")),
            )
        }
        E::SerdeUnknownVariant { variant, expected, .. } => {
            let list = expected.iter().map(|e| format!("`{e}`")).collect::<Vec<_>>().join(", ");
            let help = match did_you_mean(variant, expected.iter().copied()) {
                Some(m) => format!("did you mean `{m}`? valid values: {list}"),
                None => format!("valid values: {list}"),
            };
            (format!("unknown value `{variant}`"), Some(help))
        }
        E::Eof { .. } => ("the file is empty".to_string(), Some("start from `rainmaker-deploy init`".to_string())),
        other => {
            let text = other.to_string();
            let first = text.lines().next().unwrap_or("invalid YAML").to_string();
            (first, Some("check the YAML syntax (indentation, quotes, colons) at that line".to_string()))
        }
    };
    let span = loc.and_then(|_| offset_of(source, line, column)).map(|o| SourceSpan::from((o, 0)));
    ConfigError::Yaml {
        file: file.to_string(),
        line,
        column,
        message,
        help,
        src: NamedSource::new(file, source.to_string()),
        span,
    }
}
