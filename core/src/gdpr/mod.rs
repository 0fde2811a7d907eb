//! GDPR data-subject requests, the pure part: the sources of personal data and the tables they cover, the export
//! manifest and README, the isolation rules, the erase plan and the receipt with keyed hashes.
//!
//! Nothing here talks to AWS or reads the clock: the CLI (`cli/src/gdpr/`) gathers the data, passes times in, and
//! executes the plans these functions return.

pub mod hmac;
pub mod isolate;
pub mod manifest;
pub mod packed;
pub mod plan;
pub mod receipt;
pub mod sources;

pub use manifest::{FileEntry, Manifest, Retention};
pub use plan::{Action, Inventory, OwnedNode, Step};
pub use receipt::Receipt;
pub use sources::{Source, TableCoverage, TABLES};
