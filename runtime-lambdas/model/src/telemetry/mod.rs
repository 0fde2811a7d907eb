//! Telemetry of both pipelines: the rule event's validation and decoding ([`decode`], pure), the limits from the
//! environment ([`Limits`]), and the item layouts of the telemetry table ([`layout`]: per reading and per node; [`packed`]: many nodes
//! in one compressed item).
//!
//! `telemetry-ingest` (the direct pipeline: the rule invokes it per message) and `telemetry-batch` (the batched
//! pipeline: the rule puts the message into a Kinesis stream, the function consumes batches) decode the same rule
//! output with the same code, so a message is accepted or refused alike on both paths.

mod decode;
mod limits;

pub mod layout;
pub mod packed;
pub mod read_range;

pub use decode::{decode, is_thing_name, Message, Reading, Reject, MAX_BATCH, MAX_FUTURE_SKEW_MS};
pub use limits::Limits;
