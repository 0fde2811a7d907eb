//! AWS::KMS::Key: a customer-managed key, $1 a key-month, and the requests made with it ($0.03 per 10,000
//! symmetric requests, 20,000 a month free across the account), derived by the flow from what the key encrypts
//! (`cost/kms_requests.rs`).

use super::{Line, Priced, ResourceUsage};
use crate::cost::template::Resource;
use crate::cost::usage::Key;

pub struct KmsKey;

const KEYS: &[Key] = &[Key {
    name: "monthly_requests",
    default: 0.0,
    doc: "KMS requests a month made with the key: DynamoDB table-key refreshes, Lambda environment decrypts at cold \
          start, SQS data keys, CloudWatch Logs, Secrets Manager reads (derived; see docs/estimate.md)",
}];

impl Priced for KmsKey {
    fn type_name(&self) -> &'static str {
        "AWS::KMS::Key"
    }
    fn usage_keys(&self) -> &'static [Key] {
        KEYS
    }
    fn lines(&self, _r: &Resource, u: &ResourceUsage) -> Vec<Line> {
        vec![
            Line::new("Customer-managed key", "kms.keys", 1.0),
            Line::new("Requests (symmetric)", "kms.requests", u.get("monthly_requests")),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::resources::tests::{lines_of, resource};
    use serde_json::json;

    #[test]
    fn one_key_and_its_requests() {
        let k = resource("TenantKey", "AWS::KMS::Key", json!({"EnableKeyRotation": true}));
        assert_eq!(
            lines_of(&KmsKey, &k, &[("monthly_requests", 123.0)]),
            vec![
                Line::new("Customer-managed key", "kms.keys", 1.0),
                Line::new("Requests (symmetric)", "kms.requests", 123.0)
            ]
        );
    }
}
