//! AWS::Logs::LogGroup: ingestion (the functions' own lines plus START/END/REPORT) and storage at steady state
//! (ingested per month × retention, compressed). What Lambda functions send is priced as "Lambda logs", the vended
//! tiers CloudWatch Logs applies to Lambda since 2025-05-01 (`logs.lambda_ingestion`, tiered on the account's
//! monthly total); the rest (API access logs, WAF) at the standard rate.

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
        let lambda = u.derived("_lambda_ingested_gb").unwrap_or(0.0).min(ingested);
        let days = u.derived("_retention_days").unwrap_or(365.0);
        let stored = ingested * days / MONTH_DAYS * u.get("stored_ratio");
        let mut lines = Vec::new();
        if lambda > 0.0 {
            lines.push(Line::new("Ingestion (Lambda logs, tiered)", "logs.lambda_ingestion", lambda));
        }
        if ingested - lambda > 0.0 || lambda == 0.0 {
            lines.push(Line::new("Ingestion", "logs.ingestion", ingested - lambda));
        }
        lines.push(Line::new(format!("Storage ({days} days retention)"), "logs.storage", stored));
        lines
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

    #[test]
    fn lambda_bytes_are_priced_as_lambda_logs_the_rest_as_standard() {
        let lg = resource("L", "AWS::Logs::LogGroup", json!({}));
        let l = lines_of(&LogGroup, &lg, &[("monthly_ingested_gb", 10.0), ("_lambda_ingested_gb", 7.5)]);
        assert_eq!(l[0], Line::new("Ingestion (Lambda logs, tiered)", "logs.lambda_ingestion", 7.5));
        assert_eq!(l[1], Line::new("Ingestion", "logs.ingestion", 2.5));
        assert_eq!(l.len(), 3);
    }

    /// Golden: the vended "Lambda logs" tiers (us-east-1, from 2025-05-01): 60 TB a month is 10 TB × $0.50 +
    /// 20 TB × $0.25 + 20 TB × $0.10 + 10 TB × $0.05 = 12,500 TB-priced units: $12,500 in the published example
    /// (TB taken as 1,000 GB, $30,000 at the flat rate), $12,800 with AWS's 1 TB = 1,024 GB (the table's bounds);
    /// below 10 TB it is the standard $0.50.
    #[test]
    fn lambda_log_tiers_golden() {
        let t = crate::cost::prices::PriceTable::embedded("us-east-1").unwrap();
        let p = t.get("logs.lambda_ingestion").unwrap();
        let cost = |gb: f64| crate::cost::tiers::tiered_cost(gb, &p.tiers, p.per);
        assert_eq!(cost(60.0 * 1024.0), 12_500.0 * 1.024);
        assert_eq!(cost(1_000.0), 500.0);
        assert_eq!(cost(20.0 * 1024.0), 5_120.0 + 2_560.0);
        assert_eq!(t.get("logs.ingestion").unwrap().tiers[0].usd, 0.5);
    }
}
