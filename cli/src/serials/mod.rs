//! The serial allow-list of a deployed tenant: `import` of the factory list (serial + device secret, stored as an
//! HMAC under the tenant key), `list` and `show` (issue 8, high 1), and `reset` of a serial so it can provision again without its old
//! certificate (high 4).
//!
//! Resources come from the backend stack's outputs (`resources.rs`), never from guessed names. Checking the file
//! (`csv.rs`) and the per-serial decision (`plan.rs`) are pure; `import.rs` and `inspect.rs` are the AWS layer.
//! No command prints a device secret, its HMAC or the tenant key.

pub mod csv;
mod error;
pub mod import;
pub mod inspect;
pub mod plan;
pub mod reset;
pub mod resources;

pub use error::SerialsError;
pub use resources::{SerialsClients, SerialsResources};
