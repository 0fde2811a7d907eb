//! Resource type → priced resource, and the explicit list of types that cost nothing by themselves. A type that is
//! neither is reported as unpriced, never dropped.

use crate::cost::resources::{self as r, Priced};
use crate::cost::usage::Key;

/// Every priced type, one file each under `cost/resources/`.
static PRICED: &[&dyn Priced] = &[
    &r::iot_devices::DeviceFleet,
    &r::iot_topic_rule::TopicRule,
    &r::iot_provisioning::ProvisioningTemplate,
    &r::lambda::LambdaFunction,
    &r::dynamodb::DynamoDbTable,
    &r::sqs::SqsQueue,
    &r::logs::LogGroup,
    &r::apigateway::RestApi,
    &r::waf::WebAcl,
    &r::cognito::UserPool,
    &r::s3::Bucket,
    &r::cloudwatch_alarm::Alarm,
    &r::logs_metric_filter::MetricFilter,
    &r::iot_defender_audit::DefenderAudit,
    &r::secretsmanager::Secret,
    &r::kms::KmsKey,
    &r::kinesis::KinesisStream,
];

/// Types that cost nothing by themselves (what they do is priced where it happens).
pub const FREE: &[(&str, &str)] = &[
    ("AWS::IAM::Role", "IAM is free"),
    ("AWS::IAM::Policy", "IAM is free"),
    ("AWS::IAM::ManagedPolicy", "IAM is free"),
    ("AWS::Lambda::Permission", "a resource policy statement"),
    ("AWS::Lambda::EventSourceMapping", "free: Lambda's polling of a stream (standard iterator) costs nothing; the invocations are priced on the function"),
    ("AWS::Lambda::Version", "priced on the function"),
    ("AWS::Lambda::Alias", "priced on the function"),
    ("AWS::Lambda::EventInvokeConfig", "configuration of asynchronous invocations (failures are priced on the queue)"),
    ("AWS::ApiGateway::Resource", "priced per request on the REST API"),
    ("AWS::ApiGateway::Method", "priced per request on the REST API"),
    ("AWS::ApiGateway::Deployment", "priced per request on the REST API"),
    ("AWS::ApiGateway::Stage", "priced per request on the REST API (no cache cluster)"),
    ("AWS::ApiGateway::Authorizer", "Cognito authorizers are free; the user pool is priced"),
    ("AWS::ApiGateway::Model", "configuration"),
    ("AWS::ApiGateway::RequestValidator", "configuration"),
    ("AWS::ApiGateway::GatewayResponse", "configuration"),
    ("AWS::ApiGateway::Account", "configuration"),
    ("AWS::IoT::Policy", "IoT policies are free"),
    ("AWS::IoT::PolicyPrincipalAttachment", "configuration"),
    ("AWS::IoT::ThingPrincipalAttachment", "configuration"),
    ("AWS::IoT::ThingType", "configuration"),
    ("AWS::IoT::Certificate", "certificates are free"),
    ("AWS::Cognito::UserPoolClient", "priced per MAU on the user pool"),
    ("AWS::Cognito::UserPoolDomain", "priced per MAU on the user pool"),
    ("AWS::Cognito::UserPoolGroup", "priced per MAU on the user pool"),
    ("AWS::WAFv2::WebACLAssociation", "priced on the web ACL"),
    ("AWS::WAFv2::LoggingConfiguration", "the logs are priced on their log group"),
    (
        "AWS::IoT::Logging",
        "configuration; IoT writes its own AWSIotLogsV2 log group (errors and warnings at WARN), not priced",
    ),
    ("AWS::IoT::ScheduledAudit", "priced per device on the audit configuration"),
    ("AWS::S3::BucketPolicy", "a resource policy"),
    ("AWS::SQS::QueuePolicy", "a resource policy"),
    ("AWS::KMS::Alias", "aliases are free; the key and its requests are priced on the key"),
    ("AWS::CloudFormation::WaitConditionHandle", "CloudFormation is free for AWS resources"),
    ("AWS::CDK::Metadata", "metadata"),
];

/// The registry (a unit type over the static tables).
#[derive(Debug, Clone, Copy, Default)]
pub struct Registry;

impl Registry {
    pub fn priced(&self, type_name: &str) -> Option<&'static dyn Priced> {
        PRICED.iter().copied().find(|p| p.type_name() == type_name)
    }

    /// Why a type is free, if it is.
    pub fn free(&self, type_name: &str) -> Option<&'static str> {
        FREE.iter().find(|(t, _)| *t == type_name).map(|(_, why)| *why)
    }

    /// The usage keys of a type (none when it is not priced).
    pub fn keys(&self, type_name: &str) -> &'static [Key] {
        self.priced(type_name).map_or(&[], |p| p.usage_keys())
    }

    /// Every priced type.
    pub fn priced_types(&self) -> Vec<&'static str> {
        PRICED.iter().map(|p| p.type_name()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_type_is_both_priced_and_free_and_none_twice() {
        let reg = Registry;
        let priced = reg.priced_types();
        for (t, _) in FREE {
            assert!(!priced.contains(t), "{t} is both priced and free");
            assert_eq!(FREE.iter().filter(|(x, _)| x == t).count(), 1, "{t} listed twice");
        }
        let mut sorted = priced.clone();
        sorted.dedup();
        assert_eq!(sorted.len(), priced.len());
    }

    #[test]
    fn lookups() {
        let reg = Registry;
        assert_eq!(reg.priced("AWS::Lambda::Function").map(|p| p.type_name()), Some("AWS::Lambda::Function"));
        assert!(reg.free("AWS::IAM::Role").is_some());
        assert!(reg.priced("AWS::EC2::Instance").is_none() && reg.free("AWS::EC2::Instance").is_none());
        assert!(reg.keys("AWS::EC2::Instance").is_empty());
    }
}
