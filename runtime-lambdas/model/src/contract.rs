//! Names beyond the tables: functions, their environment variables, topics, the provisioning parameter.

/// The five runtime functions (crate = binary = function suffix: `rm-<tenant>-<name>`).
pub const FUNCTIONS: [&str; 5] = ["provisioning-hook", "telemetry-ingest", "presence", "binding-confirm", "api"];

/// Functions a configuration option adds: `telemetry-batch`, the consumer of the batched telemetry pipeline
/// (`telemetry.pipeline: batched`). Built and shipped with the others (`cargo xtask lambdas`, the release archive);
/// a backend template carries a code-key parameter only for the functions it deploys.
pub const OPTIONAL_FUNCTIONS: [&str; 1] = ["telemetry-batch"];

/// Every function that is built: [`FUNCTIONS`] and [`OPTIONAL_FUNCTIONS`].
pub fn all_functions() -> impl Iterator<Item = &'static str> {
    FUNCTIONS.into_iter().chain(OPTIONAL_FUNCTIONS)
}

/// Environment variables every function gets (besides the six `*_TABLE` ones).
pub const ENV_TENANT: &str = "TENANT";
pub const ENV_RUST_LOG: &str = "RUST_LOG";
/// provisioning-hook: regex a serial must match (whole string).
pub const ENV_SERIAL_PATTERN: &str = "SERIAL_PATTERN";
/// telemetry-ingest: days a reading is kept (TTL).
pub const ENV_TELEMETRY_TTL_DAYS: &str = "TELEMETRY_TTL_DAYS";
/// telemetry-ingest: largest accepted event, in bytes.
pub const ENV_MAX_PAYLOAD_BYTES: &str = "MAX_PAYLOAD_BYTES";
/// api: the IoT data-plane host name (`https://` is added).
pub const ENV_IOT_DATA_ENDPOINT: &str = "IOT_DATA_ENDPOINT";
/// api: lifetime of a binding code, in seconds.
pub const ENV_BINDING_CODE_TTL_SECONDS: &str = "BINDING_CODE_TTL_SECONDS";
/// api: the most binding codes one user may have outstanding (issued, not yet used, not expired); `POST
/// /nodes/bind` answers 429 `TOO_MANY_REQUESTS` beyond it. Expired codes do not count (TTL deletion is lazy: the
/// count filters on `expires_at`).
pub const MAX_OUTSTANDING_BINDING_CODES: usize = 10;
/// api: `true` / `false`.
pub const ENV_SHARING_ENABLED: &str = "SHARING_ENABLED";
/// api: comma-separated CORS origins (`*` allows any); empty or unset: no CORS headers.
pub const ENV_ALLOWED_ORIGINS: &str = "ALLOWED_ORIGINS";
/// Standard AWS SDK variable; when set it wins over `IOT_DATA_ENDPOINT` (tests point it at moto).
pub const ENV_AWS_ENDPOINT_URL: &str = "AWS_ENDPOINT_URL";

/// Client ids of claim-certificate connections start with this (the claim policy allows `iot:Connect` on
/// `client/rm-claim-*` only) and no serial may (the hook refuses one), so a claim holder can never connect as a
/// device's thing name.
pub const CLAIM_CLIENT_PREFIX: &str = "rm-claim-";

/// The fleet-provisioning template parameter that carries the device serial (= thing name = node id).
pub const PROVISIONING_SERIAL_PARAM: &str = "SerialNumber";

/// The fleet-provisioning template parameter that carries the device's factory secret (proof of possession of the
/// serial; the hook compares its HMAC with the allow-list's, see [`crate::device_secret`]).
pub const PROVISIONING_SECRET_PARAM: &str = "DeviceSecret";

/// provisioning-hook: ARN of the Secrets Manager secret holding the tenant's serial key (read once at cold start).
pub const ENV_SERIAL_KEY_SECRET_ARN: &str = "SERIAL_KEY_SECRET_ARN";
/// Logical id of that secret in the backend stack, and the stack output with its ARN.
pub const SERIAL_KEY_SECRET_ID: &str = "SerialKeySecret";
pub const SERIAL_KEY_SECRET_OUTPUT: &str = "SerialKeySecretArn";

/// Rule name suffixes (`<rule prefix>_<suffix>`) and the topic filters the rules select from.
pub const RULE_TELEMETRY: &str = "telemetry";
pub const RULE_PRESENCE: &str = "presence";
pub const RULE_BINDING: &str = "binding";

/// The telemetry rule. Explicit fields only: a payload key is in the event only if it is named here, and the
/// rule-derived values (`node_id` from the topic, `received_at`, `principal` = the certificate id) are never read
/// from the payload, so a device cannot set or override them (a payload's own `node_id` is simply not selected).
pub const SQL_TELEMETRY: &str =
    "SELECT ts, msg_id, params, readings, topic(2) AS node_id, timestamp() AS received_at, \
     principal() AS principal FROM 'node/+/telemetry'";
/// The presence rule: the documented lifecycle-event fields (AWS IoT publishes them; devices cannot publish to
/// `$aws/events/...`).
pub const SQL_PRESENCE: &str = "SELECT clientId, timestamp, eventType, sessionIdentifier, principalIdentifier, \
     versionNumber, ipAddress, clientInitiatedDisconnect, disconnectReason FROM '$aws/events/presence/+/+'";
/// The binding rule (→ binding-confirm): the code from the payload, everything else derived by the rule.
pub const SQL_BINDING: &str = "SELECT binding_code, topic(2) AS node_id, timestamp() AS received_at, \
     principal() AS principal FROM 'node/+/binding'";
