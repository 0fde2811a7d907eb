//! rainmaker-deploy: the library behind the CLI that deploys and operates a RainMaker-like IoT backend.
//!
//! The pure parts (`config`, `template`, `cost`) live in the `rainmaker-core` crate, which cannot depend on the AWS
//! SDK; `commands` wires them and `aws` to the command line. See docs/ARCHITECTURE.md for the map.

pub mod aws;
pub mod cfn_lint;
pub mod checkov;
pub mod cli;
pub mod commands;
pub mod doctor;
pub mod fleet;
pub mod gdpr;
pub mod lambdas_dir;
pub mod output;
pub mod progress;
pub mod serials;
mod tool_path;

// The pure core lives in its own crate (`core/`, no AWS SDK); re-exported so `rainmaker_deploy::config` etc. stay put.
pub use rainmaker_core::{assets, config, cost, template, TEMPLATE_VERSION};
