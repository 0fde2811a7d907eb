//! GDPR data-subject requests for one user of a deployed tenant: `export` (Art. 15/20), `erase` (Art. 17) with its
//! receipt, `reapply` after a table restore, and `seed` (test data through the model's item types).
//!
//! The decisions (what is covered, isolation, the erase order, manifest and receipt) are pure functions in
//! `rainmaker_core::gdpr`; this layer reads and writes AWS around them. Resources come from the backend stack's
//! outputs (`resources.rs`), never from guessed names.

pub mod archive;
mod batch;
pub mod erase;
mod error;
pub mod export;
pub mod journal;
pub mod marker;
pub mod packed;
pub mod progress;
pub mod read;
pub mod reapply;
pub mod receipt_key;
pub mod resources;
pub mod seed;
pub mod user;
pub mod windows;

pub use error::GdprError;
pub use progress::{NoReport, Report};
pub use resources::{GdprClients, Resources};

/// Now, RFC 3339 UTC to the second.
pub fn now_rfc3339() -> String {
    aws_smithy_types::DateTime::from(std::time::SystemTime::now())
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_default()
}

/// Now, ms since the epoch.
pub fn now_ms() -> i64 {
    rainmaker_model::time::now_ms()
}
