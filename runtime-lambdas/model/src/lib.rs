//! Data model shared by the runtime Lambdas and the CLI: table names, key and attribute names, item types.
//!
//! This crate is the code-level source of truth for the names in `docs/backend-contract.md`. It has no Lambda
//! runtime dependency; the DynamoDB conversions live behind the `dynamodb` feature.
//!
//! **Invariant:** every attribute name used by a function or the CLI is a constant in [`attr`]; no string
//! literal for an attribute appears anywhere else.

pub mod access;
pub mod attr;
pub mod contract;
pub mod device_secret;
pub mod emf;
pub mod error;
pub mod hmac;
pub mod items;
pub mod log_volume;
pub mod logid;
pub mod ownership;
pub mod redact;
pub mod tables;
pub mod telemetry;
pub mod time;
pub mod window;

#[cfg(feature = "dynamodb")]
pub mod ddb;
#[cfg(feature = "dynamodb")]
pub mod unbind;
#[cfg(feature = "dynamodb")]
pub mod write;

pub use error::{ErrorCode, ModelError};
pub use items::{BindingRequest, Node, Role, SerialAllowlistEntry, Telemetry, User, UserNode};
pub use tables::{Table, TableNames};
