//! AWS::DynamoDB::Table (on-demand): write and read request units (derived from the functions' item operations,
//! GSIs included), storage at steady state (TTL retention), and point-in-time recovery when enabled.

use super::{Line, Priced, ResourceUsage};
use crate::cost::template::Resource;
use crate::cost::usage::Key;
use serde_json::Value;

pub struct DynamoDbTable;

const KEYS: &[Key] = &[
    Key {
        name: "monthly_write_units",
        default: 0.0,
        doc: "write request units a month (1 KB each, GSI writes included)",
    },
    Key {
        name: "monthly_read_units",
        default: 0.0,
        doc: "read request units a month (4 KB strongly consistent, half for eventually consistent)",
    },
    Key {
        name: "storage_gb",
        default: 0.0,
        doc: "GB stored at steady state (items × size × retention; GSIs included)",
    },
];

/// Point-in-time recovery is on.
pub fn pitr(r: &Resource) -> bool {
    r.prop(&["PointInTimeRecoverySpecification", "PointInTimeRecoveryEnabled"])
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

impl Priced for DynamoDbTable {
    fn type_name(&self) -> &'static str {
        "AWS::DynamoDB::Table"
    }
    fn usage_keys(&self) -> &'static [Key] {
        KEYS
    }
    fn lines(&self, r: &Resource, u: &ResourceUsage) -> Vec<Line> {
        let storage = u.get("storage_gb");
        let mut lines = vec![
            Line::new("Write request units", "dynamodb.write_units", u.get("monthly_write_units")),
            Line::new("Read request units", "dynamodb.read_units", u.get("monthly_read_units")),
            Line::new("Storage", "dynamodb.storage", storage),
        ];
        if pitr(r) {
            lines.push(Line::new("Point-in-time recovery", "dynamodb.pitr", storage));
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::resources::tests::{lines_of, resource};
    use serde_json::json;

    #[test]
    fn pitr_is_priced_on_the_stored_data_when_enabled() {
        let props = json!({"BillingMode": "PAY_PER_REQUEST", "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": true}});
        let t = resource("T", "AWS::DynamoDB::Table", props);
        let l = lines_of(
            &DynamoDbTable,
            &t,
            &[("monthly_write_units", 10.0), ("monthly_read_units", 4.0), ("storage_gb", 2.5)],
        );
        assert_eq!(l.len(), 4);
        assert_eq!(l[0], Line::new("Write request units", "dynamodb.write_units", 10.0));
        assert_eq!(l[3], Line::new("Point-in-time recovery", "dynamodb.pitr", 2.5));
        let t = resource("T", "AWS::DynamoDB::Table", json!({}));
        assert_eq!(lines_of(&DynamoDbTable, &t, &[]).len(), 3);
    }
}
