//! The five runtime Lambda functions (telemetry-batch instead of telemetry-ingest with `telemetry.pipeline:
//! batched` or `packed`): code, settings, environment and least-privilege access, as data.

use super::super::names::Names;
use super::hardening::{AsyncInvoke, Skip};
use super::tables::Table;
use super::{get_att, reference};
use crate::config::{Config, Pipeline};
use rainmaker_model::telemetry::layout::{Layout, ENV_TELEMETRY_LAYOUT};
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
    /// `KmsKeyArn` of the environment (JSON text), with `security.kms: customer-managed` (`encryption::grant_key`).
    pub kms_key: Option<String>,
    /// `KmsKeyId` of the function's log group (JSON text), with `customer-managed`.
    pub log_group_key: Option<String>,
    /// checkov checks suppressed on the function's log group, each with its reason.
    pub log_group_skips: Vec<Skip>,
    /// Invoked by the telemetry stream's event source mapping (telemetry-batch, `telemetry.pipeline: batched`).
    pub stream_consumer: bool,
}

/// Access of one function to one table: actions on the table itself and, separately, on its indexes (only
/// `Query` is possible there). Each is exactly what the handler calls (access-check's IAM test).
struct Access<'a> {
    table: &'a Table,
    actions: Vec<&'static str>,
    index_actions: &'static [&'static str],
}

fn table_statements(a: &Access) -> Vec<Statement> {
    let actions = |list: &[&str]| {
        let list: Vec<String> = list.iter().map(|x| format!("dynamodb:{x}")).collect();
        serde_json::to_string(&list).unwrap_or_default()
    };
    let mut out = Vec::new();
    if !a.actions.is_empty() {
        out.push(Statement {
            sid: a.table.logical_id.to_string(),
            actions: actions(&a.actions),
            resources: serde_json::Value::Array(vec![get_att_value(a.table.logical_id)]).to_string(),
        });
    }
    if !a.index_actions.is_empty() {
        let index = json!({ "Fn::Sub": format!("${{{}.Arn}}/index/*", a.table.logical_id) });
        out.push(Statement {
            sid: format!("{}Indexes", a.table.logical_id),
            actions: actions(a.index_actions),
            resources: serde_json::Value::Array(vec![index]).to_string(),
        });
    }
    out
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
        let mut statements: Vec<Statement> = access.iter().flat_map(table_statements).collect();
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
            kms_key: None,
            log_group_key: None,
            log_group_skips: Vec::new(),
            stream_consumer: false,
        }
    };
    let timeout = cfg.lambda.timeout_seconds;
    let telemetry_env = || {
        base_env(vec![
            ("TELEMETRY_TTL_DAYS", lit(cfg.telemetry.retention_days)),
            ("MAX_PAYLOAD_BYTES", lit(cfg.devices.max_payload_bytes)),
        ])
    };
    let sharing = cfg.api.sharing;
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
                Access { table: t("SerialAllowlistTable"), actions: vec!["GetItem", "UpdateItem"], index_actions: &[] },
                // the node is created by an update in the claim transaction (no PutItem)
                Access { table: t("NodesTable"), actions: vec!["UpdateItem"], index_actions: &[] },
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
        if cfg.telemetry.pipeline.streams() {
            // The rule puts into the stream; Lambda's event source mapping invokes the consumer with its role (no
            // resource policy: nothing else may invoke it).
            let (layout, how) = if cfg.telemetry.pipeline == Pipeline::Packed {
                (Layout::Packed, "packed pipeline: many nodes' readings per compressed item")
            } else {
                (Layout::PerNode, "batched pipeline: one item per node of a batch")
            };
            let mut env = telemetry_env();
            env.push(EnvVar { name: ENV_TELEMETRY_LAYOUT.into(), value: lit(layout.as_env()) });
            let mut f = spec(
                "telemetry-batch",
                format!("Stores device telemetry from the telemetry stream in batches ({how})"),
                timeout,
                env,
                vec![Access { table: t("TelemetryTable"), actions: vec!["PutItem"], index_actions: &[] }],
                super::stream::consumer_statements(),
                vec![],
            );
            f.stream_consumer = true;
            f
        } else {
            spec(
                "telemetry-ingest",
                "Stores device telemetry from the telemetry topic rule".into(),
                timeout,
                telemetry_env(),
                vec![Access { table: t("TelemetryTable"), actions: vec!["PutItem"], index_actions: &[] }],
                vec![],
                vec![rule_invoker("TelemetryIngestFunction", "telemetry", "telemetry")],
            )
        },
        spec(
            "presence",
            "Records device connects and disconnects from lifecycle events".into(),
            timeout,
            base_env(vec![]),
            vec![Access { table: t("NodesTable"), actions: vec!["UpdateItem"], index_actions: &[] }],
            vec![],
            vec![rule_invoker("PresenceFunction", "presence", "presence")],
        ),
        spec(
            "binding-confirm",
            "Binding confirmation from the binding topic rule: a device confirms the code the app got".into(),
            timeout,
            base_env(vec![]),
            vec![
                Access { table: t("BindingRequestsTable"), actions: vec!["GetItem", "DeleteItem"], index_actions: &[] },
                Access { table: t("NodesTable"), actions: vec!["UpdateItem"], index_actions: &[] },
                Access { table: t("UserNodesTable"), actions: vec!["PutItem"], index_actions: &[] },
                // UpdateItem: the owner's ownership window, in the bind's transaction (rainmaker_model::window).
                Access { table: t("UsersTable"), actions: vec!["UpdateItem"], index_actions: &[] },
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
                // UpdateItem: the binding code's user entry (with the verified e-mail) on POST /nodes/bind, and the
                // owner's closed ownership window in the unbind's transaction (rainmaker_model::window).
                Access { table: t("UsersTable"), actions: vec!["UpdateItem"], index_actions: &[] },
                // GetItem: authorization (the epoch); BatchGetItem: GET /nodes; UpdateItem: unbind's transaction;
                // ConditionCheckItem: a share's "caller still owns the node" (only when sharing is on).
                Access {
                    table: t("NodesTable"),
                    actions: [&["GetItem", "BatchGetItem", "UpdateItem"][..], if sharing { &["ConditionCheckItem"] } else { &[] }]
                        .concat(),
                    index_actions: &[],
                },
                // GetItem: authorization; Query: the caller's grants (GET /nodes); DeleteItem: unshare and unbind;
                // PutItem: a share (only when sharing is on); Query on `by-node`: unbind finds every grant.
                Access {
                    table: t("UserNodesTable"),
                    actions: [&["GetItem", "Query", "DeleteItem"][..], if sharing { &["PutItem"] } else { &[] }].concat(),
                    index_actions: &["Query"],
                },
                // PutItem: a new code; Query on `by-user`: the caller's outstanding codes (the cap).
                Access { table: t("BindingRequestsTable"), actions: vec!["PutItem"], index_actions: &["Query"] },
                // A node's newest reading (its last-seen time, issue 13).
                Access { table: t("TelemetryTable"), actions: vec!["Query"], index_actions: &[] },
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
