//! The tenant's resources a GDPR request touches, read from the backend stack's outputs (never guessed), and the
//! clients for them.

use super::error::sdk;
use super::GdprError;
use crate::aws::sdk::Tenant;
use crate::aws::{outputs, stack};
use crate::template::Names;
use rainmaker_core::gdpr::manifest::{Retention, PITR_DAYS};
use rainmaker_model::{Table, TableNames};

/// The clients of a GDPR request.
#[derive(Debug, Clone)]
pub struct GdprClients {
    pub cfn: aws_sdk_cloudformation::Client,
    pub ddb: aws_sdk_dynamodb::Client,
    pub cognito: aws_sdk_cognitoidentityprovider::Client,
    pub iot: aws_sdk_iot::Client,
    pub iotdata: aws_sdk_iotdataplane::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
}

impl GdprClients {
    /// Clients for one SDK config. The IoT data plane needs the account's own endpoint on real AWS (read with
    /// DescribeEndpoint); with an endpoint override (moto) every client uses that.
    pub async fn new(sdk: &aws_config::SdkConfig) -> Result<GdprClients, GdprError> {
        let iot = aws_sdk_iot::Client::new(sdk);
        let iotdata = match sdk.endpoint_url() {
            Some(_) => aws_sdk_iotdataplane::Client::new(sdk),
            None => {
                let host = crate::aws::iot::data_endpoint(&iot).await?;
                let conf = aws_sdk_iotdataplane::config::Builder::from(sdk).endpoint_url(format!("https://{host}"));
                aws_sdk_iotdataplane::Client::from_conf(conf.build())
            }
        };
        Ok(GdprClients {
            cfn: aws_sdk_cloudformation::Client::new(sdk),
            ddb: aws_sdk_dynamodb::Client::new(sdk),
            cognito: aws_sdk_cognitoidentityprovider::Client::new(sdk),
            iot,
            iotdata,
            secrets: aws_sdk_secretsmanager::Client::new(sdk),
        })
    }
}

/// What a request works on.
#[derive(Debug, Clone)]
pub struct Resources {
    pub tenant: String,
    pub region: String,
    pub stack_name: String,
    pub tables: TableNames,
    pub user_pool_id: String,
    /// The deployed stack's template version (output `TemplateVersion` or the change-set tag).
    pub template_version: Option<String>,
    pub retention: Retention,
    /// ARN of the tenant's receipt key secret (output `GdprReceiptKeySecretArn`, or `--receipt-key-secret`).
    pub receipt_key_secret: Option<String>,
}

/// The output holding a table's name (`UsersTableName`, ...).
pub fn table_output(table: Table) -> String {
    format!("{}Name", table.logical_id())
}

/// Read the backend stack's outputs (completed from the rendered template where the service leaves some out, as
/// moto does for change-set stacks) and pick the tables and the user pool; `user_pool_id` overrides the pool
/// (moto's CloudFormation does not create one, and a maker may run the pool outside the stack).
pub async fn resolve(t: &Tenant, c: &GdprClients, user_pool_id: Option<&str>) -> Result<Resources, GdprError> {
    let names = Names::new(&t.config.name);
    let stack_name = names.backend_stack.clone();
    let live = stack::describe(&c.cfn, &stack_name)
        .await?
        .ok_or_else(|| GdprError::Aws(crate::aws::DeployError::NotDeployed { stack: stack_name.clone() }))?;
    let mut out = stack::outputs(&live);
    let mut lookup_error = None;
    let template_version =
        out.get("TemplateVersion").cloned().or_else(|| stack::tags(&live).remove("rainmaker:template-version"));
    let rendered = crate::template::render(&t.config).map_err(crate::aws::DeployError::from)?;
    if let Some(body) = rendered.stack("backend") {
        let template = crate::template::parse(&body.body).map_err(crate::aws::DeployError::from)?;
        if outputs::incomplete(&template, &out) {
            // the literal names in the template resolve even without the resources; a failure is reported below
            // only if an output we need is still missing
            let (physical, failure) = outputs::physical_ids_or_failure(&c.cfn, &stack_name).await;
            lookup_error = failure;
            out = outputs::complete(&template, &out, &physical, &t.config.region);
        }
    }
    let get = |key: &str| {
        out.get(key).cloned().ok_or_else(|| GdprError::MissingOutput {
            stack: stack_name.clone(),
            output: key.to_string(),
            help: format!(
                "the stack was deployed by another version or by hand; run `rainmaker-deploy apply` to bring it to \
                 this version's template{}",
                lookup_error.as_ref().map(|e| format!(" (reading its resources failed: {e})")).unwrap_or_default()
            ),
        })
    };
    let tables = TableNames {
        users: get(&table_output(Table::Users))?,
        nodes: get(&table_output(Table::Nodes))?,
        user_nodes: get(&table_output(Table::UserNodes))?,
        telemetry: get(&table_output(Table::Telemetry))?,
        binding_requests: get(&table_output(Table::BindingRequests))?,
        serial_allowlist: get(&table_output(Table::SerialAllowlist))?,
    };
    let user_pool_id = match user_pool_id {
        Some(p) => p.to_string(),
        None => out.get("UserPoolId").cloned().ok_or_else(|| GdprError::MissingOutput {
            stack: stack_name.clone(),
            output: "UserPoolId".into(),
            help: "pass --user-pool-id ID (the pool is not in the stack's outputs: moto does not create it, or the \
                   pool is managed outside the stack)"
                .into(),
        })?,
    };
    // the pool must exist: a wrong id is a clear error before anything is read or written
    c.cognito.describe_user_pool().user_pool_id(&user_pool_id).send().await.map_err(sdk("Cognito DescribeUserPool"))?;
    Ok(Resources {
        tenant: t.config.name.clone(),
        region: t.config.region.clone(),
        stack_name,
        tables,
        user_pool_id,
        template_version,
        receipt_key_secret: out.get("GdprReceiptKeySecretArn").cloned(),
        retention: Retention {
            telemetry_ttl_days: t.config.telemetry.retention_days,
            log_retention_days: t.config.lambda.log_retention_days,
            binding_code_ttl_seconds: t.config.devices.binding_code_ttl_seconds,
            pitr_days: PITR_DAYS,
        },
    })
}
