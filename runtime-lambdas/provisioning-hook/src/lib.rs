//! Pre-provisioning hook of IoT fleet provisioning: allow a serial once, and only if it is on the allow-list.
//!
//! Input and output are the ones AWS documents for a pre-provisioning hook: an event with `claimCertificateId`,
//! `certificateId`, `certificatePem`, `templateArn`, `clientId` and `parameters`, answered with
//! `{"allowProvisioning": bool, "parameterOverrides": {...}}`. The serial is the template parameter
//! [`PROVISIONING_SERIAL_PARAM`](rainmaker_model::contract::PROVISIONING_SERIAL_PARAM) (`SerialNumber`).
//!
//! **Invariant:** [`Hook::handle`] never fails and never panics: anything unexpected is a denial with a logged reason.

mod decide;
mod store;

pub use decide::{parse_request, Denial, ProvisioningRequest, SerialPattern};

use aws_config::SdkConfig;
use rainmaker_model::{contract, ModelError, TableNames};
use serde::Serialize;
use serde_json::{Map, Value};

/// What the hook answers, exactly as AWS expects it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HookResponse {
    pub allow_provisioning: bool,
    pub parameter_overrides: Map<String, Value>,
}

impl HookResponse {
    fn deny() -> Self {
        HookResponse { allow_provisioning: false, parameter_overrides: Map::new() }
    }
}

/// Configuration errors at cold start.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("SERIAL_PATTERN is not a valid regular expression: {0}")]
    Pattern(#[from] regex::Error),
}

/// The hook: a DynamoDB client, the table names and the serial pattern.
pub struct Hook {
    store: store::Store,
    pattern: SerialPattern,
}

impl Hook {
    /// Configuration from the environment (`*_TABLE`, `SERIAL_PATTERN`, the AWS SDK's own variables).
    pub async fn from_env() -> Result<Self, ConfigError> {
        let sdk = aws_config::load_from_env().await;
        let pattern = std::env::var(contract::ENV_SERIAL_PATTERN).unwrap_or_default();
        Self::new(&sdk, TableNames::from_env()?, &pattern)
    }

    /// A hook with explicit configuration. An empty `serial_pattern` accepts any serial the allow-list has.
    pub fn new(sdk: &SdkConfig, tables: TableNames, serial_pattern: &str) -> Result<Self, ConfigError> {
        Ok(Hook { store: store::Store::new(sdk, tables), pattern: SerialPattern::new(serial_pattern)? })
    }

    /// Decide on one pre-provisioning event.
    pub async fn handle(&self, event: Value) -> HookResponse {
        let req = match parse_request(&event, &self.pattern) {
            Ok(req) => req,
            Err(denial) => {
                tracing::warn!(reason = %denial, "provisioning denied");
                rainmaker_model::emf::emit("provisioning-hook", &[("EventRefused", 1)]);
                return HookResponse::deny();
            }
        };
        match self.store.claim(&req).await {
            Ok(()) => {
                tracing::info!(serial = %req.serial, certificate_id = %req.certificate_id, "provisioning allowed");
                HookResponse { allow_provisioning: true, parameter_overrides: Map::new() }
            }
            Err(denial) => {
                tracing::warn!(serial = %req.serial, reason = %denial, "provisioning denied");
                HookResponse::deny()
            }
        }
    }
}
