//! Everything that talks to AWS: SDK configuration, change sets, stack events, artifacts, IoT steps, verification.
//!
//! The deploy core is a library API: [`deploy::apply`], [`deploy::plan`], [`status::status`] and
//! [`destroy::destroy`] take one tenant ([`Tenant`]: its config and its own `SdkConfig`) and return what they did as
//! data (serializable report structs). They never print: progress goes to a [`Progress`] sink and questions to a
//! [`Prompter`], so the same core runs one tenant from the command line or many in parallel from an upgrade job.

pub mod adopt;
pub mod alarms;
pub mod artifacts;
pub mod audit;
pub mod calls;
pub mod changeset;
pub mod claim;
pub mod converge;
pub mod deploy;
pub mod destroy;
pub mod drift;
mod error;
pub mod events;
pub mod failure;
pub mod identity;
pub mod iot;
pub mod outputs;
pub mod plan;
pub mod policy;
pub mod progress;
pub mod reach;
pub mod sdk;
pub mod stack;
pub mod state;
pub mod status;
pub mod tenants;
pub mod verify;

pub use error::{aws_help, missing_action, set_verbose, DeployError};
pub use progress::{NoProgress, Progress, ProgressEvent, Prompter, Question};
pub use sdk::{Clients, Tenant};
