//! Pre-provisioning hook of IoT fleet provisioning: allow a serial once, and only if it is on the allow-list.
//!
//! Input and output are the ones AWS documents for a pre-provisioning hook: an event with `claimCertificateId`,
//! `certificateId`, `certificatePem`, `templateArn`, `clientId` and `parameters`, answered with
//! `{"allowProvisioning": bool, "parameterOverrides": {...}}`. The serial is the template parameter
//! [`PROVISIONING_SERIAL_PARAM`](rainmaker_model::contract::PROVISIONING_SERIAL_PARAM) (`SerialNumber`), the
//! device's factory secret [`PROVISIONING_SECRET_PARAM`](rainmaker_model::contract::PROVISIONING_SECRET_PARAM)
//! (`DeviceSecret`): a serial is allowed only when the secret's HMAC under the tenant key (read once, at cold start,
//! from Secrets Manager) equals the allow-list's ([`judge`]). The secret is never logged.
//!
//! **Invariant:** [`Hook::handle`] never fails and never panics: anything unexpected is a denial with a logged reason.

mod decide;
mod store;

pub use decide::{judge, parse_request, Denial, ListedSerial, ProvisioningRequest, SerialPattern};

use aws_config::SdkConfig;
use rainmaker_model::device_secret::{self, TenantKey, WeakKey};
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
    #[error("environment variable {0} is not set")]
    MissingEnv(&'static str),
    #[error("Secrets Manager GetSecretValue failed for the serial key: {0}")]
    KeyRead(String),
    #[error("the serial key secret has no SecretString")]
    KeyNotText,
    #[error(transparent)]
    WeakKey(#[from] WeakKey),
}

/// The hook: a DynamoDB client, the table names, the serial pattern and the tenant key.
pub struct Hook {
    store: store::Store,
    pattern: SerialPattern,
    key: TenantKey,
}

/// Read the tenant's serial key: `GetSecretValue` on `secret_arn` (the hook's role may read this one secret only).
pub async fn read_tenant_key(sdk: &SdkConfig, secret_arn: &str) -> Result<TenantKey, ConfigError> {
    let sm = aws_sdk_secretsmanager::Client::new(sdk);
    let out = sm
        .get_secret_value()
        .secret_id(secret_arn)
        .send()
        .await
        .map_err(|e| ConfigError::KeyRead(aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string()))?;
    let text = out.secret_string().ok_or(ConfigError::KeyNotText)?;
    Ok(TenantKey::from_secret_string(text)?)
}

impl Hook {
    /// Configuration from the environment (`*_TABLE`, `SERIAL_PATTERN`, `SERIAL_KEY_SECRET_ARN`, the AWS SDK's own
    /// variables); reads the tenant key from Secrets Manager.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let sdk = aws_config::load_from_env().await;
        let pattern = std::env::var(contract::ENV_SERIAL_PATTERN).unwrap_or_default();
        let arn = std::env::var(contract::ENV_SERIAL_KEY_SECRET_ARN)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .ok_or(ConfigError::MissingEnv(contract::ENV_SERIAL_KEY_SECRET_ARN))?;
        let key = read_tenant_key(&sdk, &arn).await?;
        Self::new(&sdk, TableNames::from_env()?, &pattern, key)
    }

    /// A hook with explicit configuration. An empty `serial_pattern` accepts any serial the allow-list has.
    pub fn new(sdk: &SdkConfig, tables: TableNames, serial_pattern: &str, key: TenantKey) -> Result<Self, ConfigError> {
        Ok(Hook { store: store::Store::new(sdk, tables), pattern: SerialPattern::new(serial_pattern)?, key })
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
        match self.decide(&req).await {
            Ok(()) => {
                tracing::info!(serial = %req.serial, certificate_id = %req.certificate_id, "provisioning allowed");
                HookResponse { allow_provisioning: true, parameter_overrides: Map::new() }
            }
            Err(denial) => {
                tracing::warn!(serial = %req.serial, reason = %denial, "provisioning denied");
                if !matches!(denial, Denial::Store(_)) {
                    rainmaker_model::emf::emit("provisioning-hook", &[("EventRefused", 1)]);
                }
                HookResponse::deny()
            }
        }
    }

    /// Read the entry, judge it, claim it (conditioned on the HMAC that was judged).
    async fn decide(&self, req: &ProvisioningRequest) -> Result<(), Denial> {
        let entry = self.store.entry(&req.serial).await?;
        judge(&self.key, req, entry.as_ref())?;
        let hmac = device_secret::secret_hmac(&self.key, &req.serial, req.secret.expose());
        self.store.claim(req, &hmac).await
    }
}
