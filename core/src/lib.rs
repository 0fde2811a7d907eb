//! rainmaker-core: the pure parts of rainmaker-deploy — `config` (rainmaker.yaml), `template` (rendering and checks)
//! and `cost` (the estimator).
//!
//! **Architecture Invariant:** this crate never depends on the AWS SDK, tokio or a network client, and never reads the
//! clock or a random source: the same inputs always give the same outputs. The compiler enforces the dependency
//! part (see `Cargo.toml`); the `tidy` test in the CLI checks the clock.

pub mod assets;
pub mod config;
pub mod cost;
pub mod fleet;
pub mod gdpr;
pub mod template;

/// The version of the template set, stamped on every stack (the CLI's own version).
pub const TEMPLATE_VERSION: &str = env!("CARGO_PKG_VERSION");
