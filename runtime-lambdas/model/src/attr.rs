//! Attribute names of the table items, exactly as in `docs/backend-contract.md`.

pub const USER_ID: &str = "user_id";
pub const NODE_ID: &str = "node_id";
pub const TS: &str = "ts";
pub const BINDING_CODE: &str = "binding_code";
pub const SERIAL: &str = "serial";

pub const EMAIL: &str = "email";
pub const CREATED_AT: &str = "created_at";
pub const OWNER_ID: &str = "owner_id";
/// nodes: the id of the current ownership period (set at bind, removed at unbind); every grant carries the one it
/// was made in as [`EPOCH`], and authorization requires the two to be equal.
pub const OWNER_EPOCH: &str = "owner_epoch";
/// user_nodes: the node's `owner_epoch` when the grant was made.
pub const EPOCH: &str = "epoch";
pub const CONNECTED: &str = "connected";
pub const PRESENCE_AT: &str = "presence_at";
/// nodes: when the last ownership ended (ms; set by the unbind); the next bind's window must start at or after it
/// (`crate::window`).
pub const RELEASED_AT: &str = "released_at";
/// An ownership window (`crate::window`, on the owner's `users` item): its start and end, ms.
pub const FROM: &str = "from";
pub const TO: &str = "to";
pub const LAST_SEEN_AT: &str = "last_seen_at";
pub const PROVISIONED_AT: &str = "provisioned_at";
pub const ROLE: &str = "role";
pub const GRANTED_BY: &str = "granted_by";
pub const GRANTED_AT: &str = "granted_at";
pub const PARAMS: &str = "params";
pub const RECEIVED_AT: &str = "received_at";
pub const EXPIRES_AT: &str = "expires_at";
pub const MSG_ID: &str = "msg_id";
/// telemetry, batched layout (telemetry-batch): the readings of one node from one Kinesis batch
/// (`crate::telemetry::layout`).
pub const READINGS: &str = "readings";
/// telemetry, batched layout: where the item's readings came from, `<shard id>/<first sequence number>`.
pub const BATCH: &str = "batch";
pub const PROVISIONED: &str = "provisioned";
pub const CERTIFICATE_ID: &str = "certificate_id";
/// serial_allowlist: `hex(HMAC-SHA256(tenant key, ...))` of the device secret ([`crate::device_secret`]); never
/// the secret itself.
pub const SECRET_HMAC: &str = "secret_hmac";
