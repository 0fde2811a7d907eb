//! The configuration types: one struct per section of rainmaker.yaml, with a doc comment on every field.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One tenant's backend: rainmaker.yaml.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "rainmaker.yaml")]
pub struct Config {
    /// Schema version of this file; this CLI reads version 1.
    #[schemars(range(min = 1, max = 1))]
    pub version: u32,
    /// Tenant name: 4 to 32 characters of a-z, 0-9 and '-', starting with a letter, not ending with '-'.
    /// Prefixes every resource name (`rm-<name>-...`).
    #[schemars(regex(pattern = r"^[a-z][a-z0-9-]{2,30}[a-z0-9]$"))]
    pub name: String,
    /// AWS region the backend is deployed to (one where AWS IoT Core is available).
    pub region: String,
    /// The 12-digit AWS account the backend belongs in, quoted (`account: "123456789012"`). Optional; when set,
    /// `plan`, `apply`, `status` and `destroy` refuse credentials of any other account before touching anything.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "super::account::deserialize")]
    #[schemars(regex(pattern = r"^[0-9]{12}$"))]
    pub account: Option<String>,
    /// The blueprint this configuration came from (`rainmaker-deploy blueprints` lists them).
    pub blueprint: String,
    /// Device-facing settings.
    pub devices: Devices,
    /// Telemetry storage.
    pub telemetry: Telemetry,
    /// The user REST API.
    pub api: Api,
    /// Settings shared by the runtime Lambda functions.
    pub lambda: Lambda,
    /// Audit logging and account-level security settings (defaults: IoT logging at WARN, the Device Defender
    /// audit on, MFA off).
    #[serde(default)]
    pub security: super::Security,
    /// Fleet provisioning by claim (default: the device makes its own key and sends a CSR).
    #[serde(default)]
    pub provisioning: super::Provisioning,
    /// Tags applied to every stack (and so to every resource that supports tags).
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// Device identity, provisioning and binding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Devices {
    /// Regular expression a device serial (= thing name) must match to be provisioned, anchored with ^ and $.
    /// Only A-Z, a-z, 0-9, ':', '_' and '-' are valid in thing names.
    pub claim_serial_pattern: String,
    /// Largest telemetry payload accepted, in bytes (1 to 131072, the IoT Core message limit).
    #[schemars(range(min = 1, max = 131072))]
    pub max_payload_bytes: u32,
    /// How long a binding code from `POST /nodes/bind` stays valid, in seconds (60 to 86400).
    #[schemars(range(min = 60, max = 86400))]
    pub binding_code_ttl_seconds: u32,
}

/// Telemetry storage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Telemetry {
    /// Days a telemetry item is kept before DynamoDB TTL removes it (1 to 3650).
    #[schemars(range(min = 1, max = 3650))]
    pub retention_days: u32,
    /// How device telemetry reaches the telemetry table: `direct` (default: the telemetry rule invokes
    /// telemetry-ingest once per message, no fixed cost), `batched` (the rule puts each message into a Kinesis data
    /// stream and telemetry-batch stores it in batches, one item per node of a batch: fewer, larger writes, plus the
    /// stream's shard-hours) or `packed` (the same stream and consumer, but the readings of many nodes are packed
    /// into one compressed item per bucket of nodes: the cheapest per message at scale; see docs/estimate.md for
    /// where each becomes cheaper).
    #[serde(default)]
    pub pipeline: Pipeline,
    /// Shards of the telemetry stream with `pipeline: batched` or `packed` (1 to 500, default 1). A shard takes
    /// 1,000 records or 1 MB a second; `estimate` warns when the modeled peak needs more.
    #[serde(default = "one_shard")]
    #[schemars(range(min = 1, max = 500))]
    pub stream_shards: u32,
    /// Seconds the stream's event source mapping gathers records before it invokes telemetry-batch with a batch
    /// that is not full (1 to 300; default 60 with `pipeline: packed`, 10 with `batched`; not valid with `direct`,
    /// which has no stream). Longer windows make larger batches (fewer, fuller items) and delay a reading's storage
    /// by up to that long.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 300))]
    pub batch_window_seconds: Option<u32>,
}

impl Telemetry {
    /// The batching window the stream's event source mapping uses: `batch_window_seconds`, or the pipeline's
    /// default ([`Pipeline::default_batch_window_seconds`]; 0 with `direct`, which has no mapping).
    pub fn batch_window(&self) -> u32 {
        self.batch_window_seconds.unwrap_or(self.pipeline.default_batch_window_seconds())
    }
}

fn one_shard() -> u32 {
    1
}

/// The telemetry pipeline.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Pipeline {
    /// The telemetry rule invokes telemetry-ingest for every message.
    #[default]
    Direct,
    /// The telemetry rule puts every message into a Kinesis data stream; telemetry-batch consumes it in batches and
    /// writes one item per node of a batch.
    Batched,
    /// As `batched`, but telemetry-batch packs the readings of many nodes into one compressed item per bucket of
    /// nodes (the packed layout of the telemetry table).
    Packed,
}

impl Pipeline {
    /// Every pipeline, in the order rainmaker.yaml documents them.
    pub const ALL: [Pipeline; 3] = [Pipeline::Direct, Pipeline::Batched, Pipeline::Packed];

    /// `direct` / `batched` / `packed`, as rainmaker.yaml spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Pipeline::Direct => "direct",
            Pipeline::Batched => "batched",
            Pipeline::Packed => "packed",
        }
    }

    /// Whether the telemetry rule puts into a Kinesis stream that telemetry-batch consumes (`batched`, `packed`).
    pub fn streams(self) -> bool {
        match self {
            Pipeline::Direct => false,
            Pipeline::Batched | Pipeline::Packed => true,
        }
    }

    /// The batching window when `telemetry.batch_window_seconds` is not set: 60 s with `packed` (its items fill
    /// with the readings of many nodes), 10 s with `batched`, 0 with `direct` (no stream).
    pub fn default_batch_window_seconds(self) -> u32 {
        match self {
            Pipeline::Direct => 0,
            Pipeline::Batched => 10,
            Pipeline::Packed => 60,
        }
    }
}

/// The user REST API (API Gateway + Cognito + WAF).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Api {
    /// Whether owners may share a node with other users.
    pub sharing: bool,
    /// Requests per 5 minutes from one IP address before WAF blocks it (100 to 2000000000).
    #[schemars(range(min = 100, max = 2000000000))]
    pub waf_rate_limit: u32,
    /// Steady-state requests per second for the API stage (1 to 10000).
    #[schemars(range(min = 1, max = 10000))]
    pub throttle_rate_limit: u32,
    /// Burst of requests allowed above the rate (1 to 5000).
    #[schemars(range(min = 1, max = 5000))]
    pub throttle_burst_limit: u32,
    /// Origins allowed by CORS: `*`, or `https://host[:port]` (`http://localhost[:port]` for development).
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// Cognito user pool feature tier, which sets the price per monthly active user: `lite` (sign-up, sign-in,
    /// tokens: what the app needs), `essentials` (AWS's default for new pools: managed login, passwordless) or
    /// `plus` (threat protection).
    #[serde(default)]
    pub user_pool_tier: UserPoolTier,
}

/// Cognito user pool feature tier.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum UserPoolTier {
    /// Basic sign-up and sign-in (cheapest per monthly active user).
    #[default]
    Lite,
    /// AWS's default tier for new pools.
    Essentials,
    /// Essentials plus threat protection.
    Plus,
}

impl UserPoolTier {
    /// The CloudFormation spelling (`UserPoolTier`).
    pub fn as_cfn(self) -> &'static str {
        match self {
            UserPoolTier::Lite => "LITE",
            UserPoolTier::Essentials => "ESSENTIALS",
            UserPoolTier::Plus => "PLUS",
        }
    }
}

/// Runtime Lambda settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Lambda {
    /// Instruction set of the functions.
    pub architecture: Architecture,
    /// Memory of each function in MB (128 to 10240).
    #[schemars(range(min = 128, max = 10240))]
    pub memory_mb: u32,
    /// Timeout of each function in seconds (1 to 900; the provisioning hook is always capped at 5).
    #[schemars(range(min = 1, max = 900))]
    pub timeout_seconds: u32,
    /// Days CloudWatch keeps the functions' logs: one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545,
    /// 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653.
    pub log_retention_days: u32,
}

/// Lambda instruction set architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Architecture {
    /// AWS Graviton (cheaper per GB-second).
    #[serde(rename = "arm64")]
    Arm64,
    /// Intel/AMD.
    #[serde(rename = "x86_64")]
    X86_64,
}

impl Architecture {
    /// The CloudFormation spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Architecture::Arm64 => "arm64",
            Architecture::X86_64 => "x86_64",
        }
    }
}
