//! rainmaker-deploy: the library behind the CLI that deploys and operates a RainMaker-like IoT backend.
//!
//! Pure parts (`config`, `template`, `cost`) never touch the network or the AWS SDK; `commands` wires them to the
//! command line. See docs/ARCHITECTURE.md for the map.

pub mod assets;
pub mod aws;
pub mod cfn_lint;
pub mod cli;
pub mod commands;
pub mod config;
pub mod cost;
pub mod output;
pub mod progress;
pub mod template;

/// The version of the template set, stamped on every stack (the CLI's own version).
pub const TEMPLATE_VERSION: &str = env!("CARGO_PKG_VERSION");
