//! Audit trail and detection, as data: the CloudWatch alarms (exported as `...AlarmArn` outputs for the upgrade's
//! bake step), WAF and IoT logging, and the Device Defender audit.

use super::functions::Function;
use crate::config::Config;
use crate::template::names::Names;
use serde::Serialize;
use serde_json::{json, Value};

/// The log line the provisioning hook writes when it refuses a device (`runtime-lambdas/provisioning-hook`); the
/// denials alarm counts it through a metric filter.
pub const PROVISIONING_DENIED_LOG: &str = "provisioning denied";
/// Denials in 5 minutes that raise the alarm: more than a retry or two means someone is guessing serials.
pub const PROVISIONING_DENIALS_THRESHOLD: u32 = 10;
/// API 5xx answers in 5 minutes that raise the alarm.
pub const API_5XX_THRESHOLD: u32 = 5;

/// Checks the scheduled audit runs every day (Device Defender check names).
pub const AUDIT_CHECKS: &[&str] = &[
    "IOT_POLICY_OVERLY_PERMISSIVE_CHECK",
    "CONFLICTING_CLIENT_IDS_CHECK",
    "DEVICE_CERTIFICATE_SHARED_CHECK",
    "REVOKED_DEVICE_CERTIFICATE_STILL_ACTIVE_CHECK",
    "DEVICE_CERTIFICATE_EXPIRING_CHECK",
    "DEVICE_CERTIFICATE_KEY_QUALITY_CHECK",
    "LOGGING_DISABLED_CHECK",
];

/// One CloudWatch alarm.
#[derive(Debug, Serialize)]
pub struct Alarm {
    pub logical_id: String,
    pub name: String,
    pub description: String,
    pub namespace: String,
    pub metric: &'static str,
    /// Dimensions as a JSON list.
    pub dimensions: String,
    pub statistic: &'static str,
    pub threshold: u32,
}

/// The audit settings of the backend stack.
#[derive(Debug, Serialize)]
pub struct Audit {
    pub alarms: Vec<Alarm>,
    /// Namespace of the stack's own metrics (the provisioning denials).
    pub metric_namespace: String,
    pub provisioning_denied_pattern: String,
    pub waf_log_group: String,
    /// `DefaultLogLevel` of IoT logging, absent when the config disables it.
    pub iot_log_level: Option<&'static str>,
    pub device_defender_audit: bool,
    pub scheduled_audit_name: String,
    /// The scheduled audit's checks as a JSON list.
    pub audit_checks: String,
    pub log_retention_days: u32,
}

fn dims(pairs: &[(&str, Value)]) -> String {
    Value::Array(pairs.iter().map(|(k, v)| json!({ "Name": k, "Value": v })).collect()).to_string()
}

/// Build the audit settings: an Errors and a Throttles alarm per function, API 5xx, dead-letter queue depth and
/// provisioning denials.
pub fn audit(cfg: &Config, n: &Names, functions: &[Function], api_name: &str, stage: &str) -> Audit {
    let namespace = format!("RainmakerDeploy/{}", cfg.name);
    let mut alarms = Vec::new();
    for f in functions {
        for (metric, what) in [("Errors", "failed invocations"), ("Throttles", "throttled invocations")] {
            alarms.push(Alarm {
                logical_id: format!("{}{metric}Alarm", f.logical_id),
                name: format!("{}-{}", f.name, metric.to_lowercase()),
                description: format!("The {} function had {what}", f.crate_name),
                namespace: "AWS/Lambda".into(),
                metric,
                dimensions: dims(&[("FunctionName", json!({ "Ref": f.logical_id }))]),
                statistic: "Sum",
                threshold: 1,
            });
        }
    }
    alarms.push(Alarm {
        logical_id: "Api5xxAlarm".into(),
        name: n.resource("api-5xx"),
        description: format!("The REST API answered 5xx at least {API_5XX_THRESHOLD} times in 5 minutes"),
        namespace: "AWS/ApiGateway".into(),
        metric: "5XXError",
        dimensions: dims(&[("ApiName", json!(api_name)), ("Stage", json!(stage))]),
        statistic: "Sum",
        threshold: API_5XX_THRESHOLD,
    });
    alarms.push(Alarm {
        logical_id: "DeadLetterQueueDepthAlarm".into(),
        name: n.resource("dead-letters"),
        description: "Messages or events are waiting in the dead-letter queue".into(),
        namespace: "AWS/SQS".into(),
        metric: "ApproximateNumberOfMessagesVisible",
        dimensions: dims(&[("QueueName", json!({ "Fn::GetAtt": ["DeadLetterQueue", "QueueName"] }))]),
        statistic: "Maximum",
        threshold: 1,
    });
    alarms.push(Alarm {
        logical_id: "ProvisioningDenialsAlarm".into(),
        name: n.resource("provisioning-denials"),
        description: format!(
            "The provisioning hook refused at least {PROVISIONING_DENIALS_THRESHOLD} devices in 5 minutes (serial guessing?)"
        ),
        namespace: namespace.clone(),
        metric: "ProvisioningDenials",
        dimensions: "[]".into(),
        statistic: "Sum",
        threshold: PROVISIONING_DENIALS_THRESHOLD,
    });
    Audit {
        alarms,
        metric_namespace: namespace,
        provisioning_denied_pattern: Value::String(format!("\"{PROVISIONING_DENIED_LOG}\"")).to_string(),
        waf_log_group: format!("aws-waf-logs-{}", n.resource("api")),
        iot_log_level: cfg.security.iot_log_level.as_cfn(),
        device_defender_audit: cfg.security.device_defender_audit,
        scheduled_audit_name: n.resource("daily-audit"),
        audit_checks: json!(AUDIT_CHECKS).to_string(),
        log_retention_days: cfg.lambda.log_retention_days,
    }
}
