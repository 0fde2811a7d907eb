//! The tenant's resources the serials commands use, read from the backend stack's outputs (never guessed): the
//! tables and the serial key secret; and the clients for them.

use super::error::{sdk, SerialsError};
use crate::aws::sdk::Tenant;
use crate::aws::{outputs, stack};
use crate::template::Names;
use rainmaker_model::contract::{SERIAL_KEY_SECRET_ID, SERIAL_KEY_SECRET_OUTPUT};
use rainmaker_model::device_secret::TenantKey;
use rainmaker_model::{Table, TableNames};

/// The clients of the serials commands.
#[derive(Debug, Clone)]
pub struct SerialsClients {
    pub cfn: aws_sdk_cloudformation::Client,
    pub ddb: aws_sdk_dynamodb::Client,
    pub iot: aws_sdk_iot::Client,
    pub sm: aws_sdk_secretsmanager::Client,
    /// The SDK config, for the IoT data plane client (its endpoint is the account's own: [`Self::iot_data`]).
    pub sdk: aws_config::SdkConfig,
}

impl SerialsClients {
    pub fn new(sdk: &aws_config::SdkConfig) -> SerialsClients {
        SerialsClients {
            cfn: aws_sdk_cloudformation::Client::new(sdk),
            ddb: aws_sdk_dynamodb::Client::new(sdk),
            iot: aws_sdk_iot::Client::new(sdk),
            sm: aws_sdk_secretsmanager::Client::new(sdk),
            sdk: sdk.clone(),
        }
    }

    /// The IoT data plane (shadows): on AWS at the account's `iot:Data-ATS` endpoint (DescribeEndpoint); with an
    /// endpoint override (moto) at that.
    pub async fn iot_data(&self) -> Result<aws_sdk_iotdataplane::Client, SerialsError> {
        if self.sdk.endpoint_url().is_some() {
            return Ok(aws_sdk_iotdataplane::Client::new(&self.sdk));
        }
        let host = crate::aws::iot::data_endpoint(&self.iot).await?;
        let conf = aws_sdk_iotdataplane::config::Builder::from(&self.sdk).endpoint_url(format!("https://{host}"));
        Ok(aws_sdk_iotdataplane::Client::from_conf(conf.build()))
    }
}

/// What the commands work on.
#[derive(Debug, Clone)]
pub struct SerialsResources {
    pub tenant: String,
    pub stack_name: String,
    pub tables: TableNames,
    /// ARN (or, where the stack's output is missing, the template's literal name) of the serial key secret.
    pub key_secret: String,
}

/// Read the backend stack's outputs (completed from the rendered template where the service leaves some out, as
/// moto does for change-set stacks). The key secret is the `SerialKeySecretArn` output, else the secret's literal
/// `Name` in the rendered template (Secrets Manager takes a name where it takes an ARN; moto's CloudFormation does
/// not create the secret, so its output never resolves there).
pub async fn resolve(t: &Tenant, c: &SerialsClients) -> Result<SerialsResources, SerialsError> {
    let names = Names::new(&t.config.name);
    let stack_name = names.backend_stack.clone();
    let live = stack::describe(&c.cfn, &stack_name)
        .await?
        .ok_or_else(|| SerialsError::Aws(crate::aws::DeployError::NotDeployed { stack: stack_name.clone() }))?;
    let mut out = stack::outputs(&live);
    let mut lookup_error = None;
    let rendered = crate::template::render(&t.config).map_err(crate::aws::DeployError::from)?;
    let mut template = serde_json::Value::Null;
    if let Some(body) = rendered.stack("backend") {
        template = crate::template::parse(&body.body).map_err(crate::aws::DeployError::from)?;
        if outputs::incomplete(&template, &out) {
            let (physical, failure) = outputs::physical_ids_or_failure(&c.cfn, &stack_name).await;
            lookup_error = failure;
            out = outputs::complete(&template, &out, &physical, &t.config.region);
        }
    }
    let missing = |key: &str| SerialsError::MissingOutput {
        stack: stack_name.clone(),
        output: key.to_string(),
        help: format!(
            "the stack was deployed by another version or by hand; run `rainmaker-deploy apply` to bring it to this \
             version's template{}",
            lookup_error.as_ref().map(|e| format!(" (reading its resources failed: {e})")).unwrap_or_default()
        ),
    };
    let get = |key: String| out.get(&key).cloned().ok_or_else(|| missing(&key));
    let tables = TableNames {
        users: get(format!("{}Name", Table::Users.logical_id()))?,
        nodes: get(format!("{}Name", Table::Nodes.logical_id()))?,
        user_nodes: get(format!("{}Name", Table::UserNodes.logical_id()))?,
        telemetry: get(format!("{}Name", Table::Telemetry.logical_id()))?,
        binding_requests: get(format!("{}Name", Table::BindingRequests.logical_id()))?,
        serial_allowlist: get(format!("{}Name", Table::SerialAllowlist.logical_id()))?,
    };
    let key_secret = out
        .get(SERIAL_KEY_SECRET_OUTPUT)
        .cloned()
        .or_else(|| {
            let name = template.pointer(&format!("/Resources/{SERIAL_KEY_SECRET_ID}/Properties/Name"))?;
            name.as_str().map(str::to_string)
        })
        .ok_or_else(|| missing(SERIAL_KEY_SECRET_OUTPUT))?;
    Ok(SerialsResources { tenant: t.config.name.clone(), stack_name, tables, key_secret })
}

/// The tenant key (`GetSecretValue`), checked as the hook checks it.
pub async fn tenant_key(c: &SerialsClients, r: &SerialsResources) -> Result<TenantKey, SerialsError> {
    let out =
        c.sm.get_secret_value().secret_id(&r.key_secret).send().await.map_err(sdk("Secrets Manager GetSecretValue"))?;
    let text = out
        .secret_string()
        .ok_or_else(|| SerialsError::Key { secret: r.key_secret.clone(), reason: "it has no SecretString".into() })?;
    TenantKey::from_secret_string(text)
        .map_err(|e| SerialsError::Key { secret: r.key_secret.clone(), reason: e.to_string() })
}
