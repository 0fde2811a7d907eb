//! The tenants.yaml types: the fleet a CI pipeline upgrades, one entry per tenant, with a doc comment on every field.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The fleet: every tenant (one backend per customer, in its own account and region) an `upgrade` rolls out to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "tenants.yaml")]
pub struct TenantsFile {
    /// Schema version of this file; this CLI reads version 1.
    #[schemars(range(min = 1, max = 1))]
    pub version: u32,
    /// Values every tenant gets unless its entry sets its own.
    #[serde(default)]
    pub defaults: Defaults,
    /// The waves, in execution order. A tenant without `wave` joins the last one. Without this section all tenants
    /// form one wave named `all` (and `--canary N` makes the first N a `canary` wave).
    #[serde(default)]
    pub waves: IndexMap<String, WaveSpec>,
    /// The tenants.
    pub tenants: Vec<TenantSpec>,
}

/// Values every tenant gets unless its entry sets its own.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// IAM role ARN to assume in the tenant's account; `{account}` is replaced by the tenant's account id.
    pub role: Option<String>,
    /// AWS region of the tenant's backend (must agree with the `region` of its rainmaker.yaml).
    pub region: Option<String>,
}

/// One wave: tenants upgraded together, at most `max_concurrent` at a time.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WaveSpec {
    /// Tenants in flight at once: a count (`3`) or a percentage of the wave (`"25%"`, rounded down, at least 1).
    /// Default 1.
    pub max_concurrent: Option<AmountSpec>,
    /// Failures the wave may have before the run stops: a count (`0`) or a percentage of the wave (`"5%"`, rounded
    /// down). Default 0.
    pub failure_tolerance: Option<AmountSpec>,
    /// Minutes to watch the backend's alarms after an update (CloudFormation rollback triggers, 0 to 180); the run
    /// checks them after the wave and stops if any is in ALARM.
    #[schemars(range(min = 0, max = 180))]
    pub bake_minutes: Option<u32>,
}

/// A count (`3`) or a percentage (`"25%"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum AmountSpec {
    /// A number of tenants.
    Count(u32),
    /// A percentage of the wave's tenants, written `"N%"` (0 to 100).
    Text(#[schemars(regex(pattern = r"^[0-9]{1,3}%$"))] String),
}

/// One tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantSpec {
    /// Tenant name; must equal `name` in its rainmaker.yaml.
    pub name: String,
    /// Path of its rainmaker.yaml, relative to tenants.yaml.
    pub config: String,
    /// The 12-digit AWS account id; checked against sts:GetCallerIdentity after assuming the role.
    #[schemars(regex(pattern = r"^[0-9]{12}$"))]
    pub account: String,
    /// IAM role ARN to assume (overrides `defaults.role`; `{account}` is expanded).
    pub role: Option<String>,
    /// AWS region (overrides `defaults.region`; must agree with the config's region).
    pub region: Option<String>,
    /// The wave this tenant belongs to (a key of `waves`); default: the last wave.
    pub wave: Option<String>,
    /// The only way an upgrade may replace or remove a stateful resource (a table, a bucket, the user pool).
    #[serde(default)]
    pub allow_replace: bool,
    /// Pinned: never touched by an upgrade, reported as `held`.
    #[serde(default)]
    pub hold: bool,
}
