//! The five runtime Lambda functions: code, settings, environment and least-privilege access, as data.

use super::super::names::Names;
use super::hardening::{AsyncInvoke, Skip};
use super::tables::Table;
use super::{get_att, reference};
use crate::config::Config;
use serde::Serialize;
use serde_json::json;

/// An environment variable: name and value as JSON text (a string or a `Ref`).
#[derive(Debug, Serialize)]
pub struct EnvVar {
    pub name: String,
    pub value: String,
}

/// One statement of a function role's policy.
#[derive(Debug, Serialize)]
pub struct Statement {
    /// A short id for the statement (`Sid`).
    pub sid: String,
    /// Actions as a JSON list.
    pub actions: String,
    /// Resources as a JSON list.
    pub resources: String,
}

/// Who may invoke a function (one `AWS::Lambda::Permission`).
#[derive(Debug, Serialize)]
pub struct Invoker {
    pub logical_id: String,
    pub description: String,
    pub principal: &'static str,
    /// `SourceArn` as JSON text (a `Fn::Sub`).
    pub source_arn: String,
}

/// One function with its role, log group and permissions.
#[derive(Debug, Serialize)]
pub struct Function {
    pub logical_id: String,
    pub role_id: String,
    pub log_group_id: String,
    /// Folder under runtime-lambdas/ and name of the artifact.
    pub crate_name: &'static str,
    pub name: String,
    pub description: String,
    /// Stack parameter holding the S3 key of the zip.
    pub code_key_param: String,
    /// Stack parameter holding the S3 version id of that key the function is pinned to.
    pub code_version_param: String,
    pub memory_mb: u32,
    pub timeout_seconds: u32,
    pub architecture: &'static str,
    pub log_retention_days: u32,
    pub env: Vec<EnvVar>,
    pub statements: Vec<Statement>,
    pub invokers: Vec<Invoker>,
    /// checkov checks suppressed on the function, each with its reason (set by `hardening::harden`).
    pub checkov_skips: Vec<Skip>,
    /// Failure handling of asynchronous invocations, for the functions a topic rule invokes.
    pub async_invoke: Option<AsyncInvoke>,
}

/// Access of one function to one table.
struct Access<'a> {
    table: &'a Table,
    actions: &'static [&'static str],
    indexes: bool,
}

fn table_statement(a: &Access) -> Statement {
    let mut resources = vec![get_att_value(a.table.logical_id)];
    if a.indexes {
        resources.push(json!({ "Fn::Sub": format!("${{{}.Arn}}/index/*", a.table.logical_id) }));
    }
    let actions: Vec<String> = a.actions.iter().map(|x| format!("dynamodb:{x}")).collect();
    Statement {
        sid: a.table.logical_id.to_string(),
        actions: serde_json::to_string(&actions).unwrap_or_default(),
        resources: serde_json::Value::Array(resources).to_string(),
    }
}

fn get_att_value(id: &str) -> serde_json::Value {
    json!({ "Fn::GetAtt": [id, "Arn"] })
}

fn pascal(crate_name: &str) -> String {
    crate_name.split('-').map(|w| w[..1].to_uppercase() + &w[1..]).collect()
}

fn lit(v: impl ToString) -> String {
    serde_json::Value::String(v.to_string()).to_string()
}

/// Build the functions of a config. `tables` is the contract's table list; `rules` the topic rules' names by
/// function (for the invoke permissions).
pub fn functions(cfg: &Config, names: &Names, tables: &[Table]) -> Vec<Function> {
    let t = |id: &str| tables.iter().find(|t| t.logical_id == id).expect("contract table");
    let base_env = |extra: Vec<(&str, String)>| -> Vec<EnvVar> {
        let mut env: Vec<EnvVar> =
            tables.iter().map(|tb| EnvVar { name: tb.env_var.into(), value: reference(tb.logical_id) }).collect();
        env.push(EnvVar { name: "TENANT".into(), value: lit(&cfg.name) });
        env.push(EnvVar { name: "RUST_LOG".into(), value: lit("info") });
        env.extend(extra.into_iter().map(|(k, v)| EnvVar { name: k.into(), value: v }));
        env
    };
    let rule_invoker = |fn_id: &str, rule: &str, what: &str| {
        Invoker {
        logical_id: format!("{fn_id}{}Permission", pascal(&rule.replace('_', "-"))),
        description: format!("Lets the {what} topic rule invoke the function"),
        principal: "iot.amazonaws.com",
        source_arn: json!({ "Fn::Sub": format!("arn:${{AWS::Partition}}:iot:${{AWS::Region}}:${{AWS::AccountId}}:rule/{}", names.rule(rule)) })
            .to_string(),
    }
    };
    let spec = |crate_name: &'static str,
                description: String,
                timeout: u32,
                env: Vec<EnvVar>,
                access: Vec<Access>,
                extra: Vec<Statement>,
                invokers: Vec<Invoker>| {
        let id = pascal(crate_name);
        let mut statements: Vec<Statement> = access.iter().map(table_statement).collect();
        statements.extend(extra);
        statements.push(Statement {
            sid: "Logs".into(),
            actions: json!(["logs:CreateLogStream", "logs:PutLogEvents"]).to_string(),
            resources: format!("[{}]", get_att(&format!("{id}LogGroup"), "Arn")),
        });
        Function {
            role_id: format!("{id}Role"),
            log_group_id: format!("{id}LogGroup"),
            code_key_param: format!("{id}CodeKey"),
            code_version_param: format!("{id}CodeVersion"),
            logical_id: format!("{id}Function"),
            crate_name,
            name: names.resource(crate_name),
            description,
            memory_mb: cfg.lambda.memory_mb,
            timeout_seconds: timeout,
            architecture: cfg.lambda.architecture.as_str(),
            log_retention_days: cfg.lambda.log_retention_days,
            env,
            statements,
            invokers,
            checkov_skips: Vec::new(),
            async_invoke: None,
        }
    };
    let timeout = cfg.lambda.timeout_seconds;
    vec![
        spec(
            "provisioning-hook",
            "Pre-provisioning hook: allows a serial once, if it is on the allow-list".into(),
            timeout.min(5),
            base_env(vec![
                ("SERIAL_PATTERN", lit(&cfg.devices.claim_serial_pattern)),
                ("SERIAL_KEY_SECRET_ARN", reference("SerialKeySecret")),
            ]),
            vec![
                Access { table: t("SerialAllowlistTable"), actions: &["GetItem", "UpdateItem"], indexes: false },
                Access { table: t("NodesTable"), actions: &["PutItem", "UpdateItem"], indexes: false },
            ],
            // the tenant's serial key, read once at cold start: this one secret only
            vec![Statement {
                sid: "SerialKey".into(),
                actions: json!(["secretsmanager:GetSecretValue"]).to_string(),
                resources: format!("[{}]", reference("SerialKeySecret")),
            }],
            vec![Invoker {
                logical_id: "ProvisioningHookFunctionIotPermission".into(),
                description: "Lets fleet provisioning call the pre-provisioning hook".into(),
                principal: "iot.amazonaws.com",
                source_arn: json!({ "Fn::Sub": format!(
                    "arn:${{AWS::Partition}}:iot:${{AWS::Region}}:${{AWS::AccountId}}:provisioningtemplate/{}",
                    names.provisioning_template
                ) })
                .to_string(),
            }],
        ),
        spec(
            "telemetry-ingest",
            "Stores device telemetry from the telemetry topic rule".into(),
            timeout,
            base_env(vec![
                ("TELEMETRY_TTL_DAYS", lit(cfg.telemetry.retention_days)),
                ("MAX_PAYLOAD_BYTES", lit(cfg.devices.max_payload_bytes)),
            ]),
            vec![
                Access { table: t("TelemetryTable"), actions: &["PutItem"], indexes: false },
            ],
            vec![],
            vec![rule_invoker("TelemetryIngestFunction", "telemetry", "telemetry")],
        ),
        spec(
            "presence",
            "Records device connects and disconnects from lifecycle events".into(),
            timeout,
            base_env(vec![]),
            vec![Access { table: t("NodesTable"), actions: &["UpdateItem"], indexes: false }],
            vec![],
            vec![rule_invoker("PresenceFunction", "presence", "presence")],
        ),
        spec(
            "binding-confirm",
            "Binding confirmation from the binding topic rule: a device confirms the code the app got".into(),
            timeout,
            base_env(vec![]),
            vec![
                Access { table: t("BindingRequestsTable"), actions: &["GetItem", "DeleteItem"], indexes: false },
                Access { table: t("NodesTable"), actions: &["UpdateItem"], indexes: false },
                Access { table: t("UserNodesTable"), actions: &["PutItem"], indexes: false },
            ],
            vec![],
            vec![rule_invoker("BindingConfirmFunction", "binding", "binding")],
        ),
        spec(
            "api",
            "User REST API: nodes, parameters, binding and sharing".into(),
            timeout,
            base_env(vec![
                ("IOT_DATA_ENDPOINT", reference("IotDataEndpoint")),
                ("BINDING_CODE_TTL_SECONDS", lit(cfg.devices.binding_code_ttl_seconds)),
                ("SHARING_ENABLED", lit(cfg.api.sharing)),
                ("ALLOWED_ORIGINS", lit(cfg.api.allowed_origins.join(","))),
            ]),
            vec![
                Access { table: t("UsersTable"), actions: &["GetItem", "PutItem", "UpdateItem"], indexes: false },
                Access {
                    table: t("NodesTable"),
                    actions: &["GetItem", "BatchGetItem", "UpdateItem", "Query", "ConditionCheckItem"],
                    indexes: true,
                },
                Access {
                    table: t("UserNodesTable"),
                    actions: &["GetItem", "PutItem", "DeleteItem", "Query", "ConditionCheckItem"],
                    indexes: true,
                },
                // PutItem: a new code; Query on `by-user`: the caller's outstanding codes (the cap).
                Access { table: t("BindingRequestsTable"), actions: &["PutItem", "Query"], indexes: true },
                // A node's newest reading (its last-seen time, issue 13).
                Access { table: t("TelemetryTable"), actions: &["Query"], indexes: false },
            ],
            vec![Statement {
                sid: "Shadows".into(),
                actions: json!(["iot:GetThingShadow", "iot:UpdateThingShadow"]).to_string(),
                resources: json!([{ "Fn::Sub": "arn:${AWS::Partition}:iot:${AWS::Region}:${AWS::AccountId}:thing/*" }]).to_string(),
            }],
            // API Gateway only: no topic rule may invoke the REST API (issue 8, critical).
            vec![
                Invoker {
                    logical_id: "ApiFunctionApiGatewayPermission".into(),
                    description: "Lets the REST API invoke the function".into(),
                    principal: "apigateway.amazonaws.com",
                    source_arn: json!({ "Fn::Sub": "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${RestApi}/v1/*/*" })
                        .to_string(),
                },
            ],
        ),
    ]
}
