//! Bringing one stack to its rendered template: recover from the state CloudFormation left it in, detect "no
//! changes" cheaply, then change set -> refuse stateful losses -> confirm -> execute -> wait -> stack policy.
//!
//! [`compare`](compare()) decides "unchanged" (deployed-hash tag, template text), [`recover`](recover()) settles
//! the stack first, [`plan`](plan()) and [`execute`](execute()) run the change set.

mod compare;
mod execute;
mod recover;

pub use compare::{compare, deployed_hash, same_template, verdict, wanted_tags, Verdict, HASH_TAG};
pub use execute::{execute, get_policy, plan, template_source};
pub use recover::{holds_nothing, recover, recover_from};

use super::plan::{StackPlan, TemplateInfo};
use aws_sdk_cloudformation::types::Stack;
use serde::Serialize;
use std::collections::BTreeMap;

/// CloudFormation's limit for an inline template body; larger ones go through the artifacts bucket.
pub const MAX_TEMPLATE_BODY: usize = 51_200;

/// One stack to converge.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    /// `bootstrap` or `backend`.
    pub stack: &'a str,
    pub stack_name: &'a str,
    pub body: &'a str,
    pub info: &'a TemplateInfo,
    pub parameters: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    /// Rollback triggers for an UPDATE change set (a bake, see [`super::alarms::rollback_for`]); never on a create.
    pub rollback: Option<super::alarms::RollbackTriggers>,
}

/// Where a stack stands before any change.
#[derive(Debug, Clone)]
pub enum Ready {
    /// Live template, parameters and tags are what we would deploy.
    Unchanged(Stack),
    /// Something differs (or there is no stack yet: `live` is None or the stack is in review).
    Change { live: Option<Stack>, create: bool },
}

/// How the stack ended.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum StackResult {
    Created,
    Updated,
    Unchanged,
}

/// What happened to one stack, as data.
#[derive(Debug, Clone, Serialize)]
pub struct StackReport {
    pub stack: String,
    pub stack_name: String,
    pub result: StackResult,
    pub status: String,
    pub plan: StackPlan,
    /// Recovery steps taken first ("deleted the stack left in ROLLBACK_COMPLETE", ...).
    pub recovered: Vec<String>,
    pub outputs: BTreeMap<String, String>,
}
