//! AWS::Logs::LogGroup: ingestion (the functions' own lines plus START/END/REPORT) and storage at steady state
//! (ingested per month × retention, compressed).

use super::{Line, Priced, ResourceUsage};
use crate::cost::template::Resource;
use crate::cost::usage::{Key, MONTH_DAYS};

pub struct LogGroup;

const KEYS: &[Key] = &[
    Key {
        name: "monthly_ingested_gb",
        default: 0.0,
        doc: "GB ingested a month (derived from the functions that log to it)",
    },
    Key { name: "stored_ratio", default: 0.15, doc: "stored (compressed) bytes per ingested byte" },
];

impl Priced for LogGroup {
    fn type_name(&self) -> &'static str {
        "AWS::Logs::LogGroup"
    }
    fn usage_keys(&self) -> &'static [Key] {
        KEYS
    }
    fn lines(&self, _r: &Resource, u: &ResourceUsage) -> Vec<Line> {
        let ingested = u.get("monthly_ingested_gb");
        let days = u.derived("_retention_days").unwrap_or(365.0);
        let stored = ingested * days / MONTH_DAYS * u.get("stored_ratio");
        vec![
            Line::new("Ingestion", "logs.ingestion", ingested),
            Line::new(format!("Storage ({days} days retention)"), "logs.storage", stored),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::resources::tests::{lines_of, resource};
    use serde_json::json;

    #[test]
    fn storage_is_retention_months_of_compressed_logs() {
        let lg = resource("L", "AWS::Logs::LogGroup", json!({"RetentionInDays": 14}));
        let l = lines_of(
            &LogGroup,
            &lg,
            &[("monthly_ingested_gb", 10.0), ("stored_ratio", 0.5), ("_retention_days", 14.0)],
        );
        assert_eq!(l[0], Line::new("Ingestion", "logs.ingestion", 10.0));
        assert_eq!(l[1], Line::new("Storage (14 days retention)", "logs.storage", 10.0 * 14.0 / MONTH_DAYS * 0.5));
        // 14 days of 10 GB/month at half size: about 2.3 GB stored.
        assert!((l[1].quantity - 2.3014).abs() < 1e-3);
    }
}
