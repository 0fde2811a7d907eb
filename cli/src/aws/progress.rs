//! How the core reports progress and asks questions without printing: a [`Progress`] sink and a [`Prompter`].

use super::plan::StackPlan;
use serde::Serialize;

/// One thing that happened during a deploy, as data.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ProgressEvent {
    /// A step of the core ("uploading artifacts", "creating change set for rm-acme").
    Step { stack: Option<String>, message: String },
    /// A CloudFormation stack event (one per resource status change; stack-level ones too).
    Resource {
        stack: String,
        event_id: String,
        logical_id: String,
        resource_type: String,
        status: String,
        reason: Option<String>,
        /// The resource's `Metadata.Description` from the template, when it has one.
        description: Option<String>,
        /// Seconds since the operation started.
        elapsed_secs: f64,
        /// A failure status (`*_FAILED`) or a rollback.
        failed: bool,
    },
    /// A stack operation finished (or was found finished).
    StackDone { stack: String, status: String },
}

/// Where the core sends progress; implementations must not block for long.
pub trait Progress: Send + Sync {
    fn report(&self, event: ProgressEvent);
}

/// Discards progress (tests, quiet runs).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn report(&self, _event: ProgressEvent) {}
}

/// Collects progress in memory (tests, parallel runs that report per tenant at the end).
#[derive(Debug, Default)]
pub struct Collect(pub std::sync::Mutex<Vec<ProgressEvent>>);

impl Progress for Collect {
    fn report(&self, event: ProgressEvent) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(event);
    }
}

/// A question the core needs answered before it changes something.
#[derive(Debug)]
pub enum Question<'a> {
    /// Execute this change set?
    Execute(&'a StackPlan),
    /// Delete a stack left in `ROLLBACK_COMPLETE` (a failed first create) and create it again?
    DeleteFailedStack { stack: &'a str, status: &'a str, reason: Option<&'a str> },
}

/// Answers [`Question`]s: a terminal prompt, `--yes`, or a policy of an upgrade job.
pub trait Prompter: Send + Sync {
    fn confirm(&self, question: &Question<'_>) -> bool;
}

/// Answers every question with the same answer (`--yes` is `Always(true)`).
#[derive(Debug, Clone, Copy)]
pub struct Always(pub bool);

impl Prompter for Always {
    fn confirm(&self, _question: &Question<'_>) -> bool {
        self.0
    }
}
