//! Test harness for code that talks to AWS: a local `moto_server`, an SDK config for it, the backend tables.
//!
//! ```no_run
//! # async fn demo() {
//! use rainmaker_test_support::{create_tables, unique_prefix, MotoServer};
//! let moto = MotoServer::shared(); // one server per test binary, started on first use
//! let config = moto.sdk_config().await;
//! let ddb = aws_sdk_dynamodb::Client::new(&config);
//! let tables = create_tables(&ddb, &unique_prefix("my-test")).await; // fresh tables per test
//! # }
//! ```
//!
//! `moto_server` is looked up in `$MOTO_SERVER`, then `<workspace>/.venv/bin/moto_server`, then `PATH`; when it is
//! missing the harness panics and says to run `cargo xtask test` (tests never skip silently).

mod account;
mod artifacts;
mod faults;
mod http;
pub mod iot_rule;
mod moto;
mod proxy;
mod reply;
mod script;
mod tables;
pub mod wire;

pub use account::{account_for, AccountKeys, DEFAULT_ACCOUNT};
pub use artifacts::{tiny_zip, write_all_artifacts, write_artifacts, FUNCTIONS, OPTIONAL_FUNCTIONS};
pub use faults::{Fault, Faults, Injected, Targeted};
pub use moto::MotoServer;
pub use proxy::{Canned, Hooks, Proxy, Respond, Rewrite};
pub use reply::{closed_port_url, Received, Reply, ReplyServer};
pub use script::{Answer, Exchange, ScriptServer};
pub use tables::{create_tables, unique_prefix};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::{Credentials, SharedCredentialsProvider};

/// Region used against moto.
pub const REGION: &str = "us-east-1";

/// An SDK config for `endpoint` with dummy credentials and region [`REGION`].
pub async fn sdk_config_for(endpoint: &str) -> SdkConfig {
    let creds = Credentials::new("testing", "testing", None, None, "rainmaker-test-support");
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(REGION))
        .credentials_provider(SharedCredentialsProvider::new(creds))
        .load()
        .await
}
