//! AWS::Lambda::Function: requests and duration (GB-s at the template's memory and architecture), the custom
//! metrics of its embedded-metric-format lines (`emf_metrics.rs`), plus the logs of functions whose log group is not
//! in the template.

use super::{emf_metrics, named, Line, Priced, ResourceUsage};
use crate::cost::template::Resource;
use crate::cost::usage::Key;
use serde_json::Value;

pub struct LambdaFunction;

const KEYS: &[Key] = &[
    Key {
        name: "monthly_requests",
        default: 0.0,
        doc: "invocations a month (derived from the rules, the API and provisioning that call it)",
    },
    Key {
        name: "request_duration_ms",
        default: 20.0,
        doc: "billed duration of one invocation in ms (INIT included on cold starts)",
    },
    Key {
        name: "log_bytes_per_request",
        default: 150.0,
        doc: "metered bytes the function itself logs per invocation, 26 per line included (derived from the declarations in rainmaker_model::log_volume; START/END/REPORT are added)",
    },
];

/// Memory in MB (`MemorySize`, default 128).
pub fn memory_mb(r: &Resource) -> f64 {
    r.prop(&["MemorySize"]).and_then(Value::as_f64).unwrap_or(128.0)
}

/// Timeout in milliseconds (`Timeout` in seconds, a number or a numeric string; Lambda's default 3 s).
pub fn timeout_ms(r: &Resource) -> f64 {
    r.prop(&["Timeout"]).and_then(crate::cost::flow::number).unwrap_or(3.0) * 1000.0
}

/// `arm64` or `x86_64` (`Architectures`, default x86_64).
pub fn architecture(r: &Resource) -> &'static str {
    match r.prop(&["Architectures"]).and_then(|a| a.get(0)).and_then(Value::as_str) {
        Some("arm64") => "arm64",
        _ => "x86_64",
    }
}

impl Priced for LambdaFunction {
    fn type_name(&self) -> &'static str {
        "AWS::Lambda::Function"
    }
    fn usage_keys(&self) -> &'static [Key] {
        KEYS
    }
    fn lines(&self, r: &Resource, u: &ResourceUsage) -> Vec<Line> {
        let requests = u.get("monthly_requests");
        let ms = u.get("request_duration_ms");
        let mb = memory_mb(r);
        let arch = architecture(r);
        let gb_s = requests * ms / 1000.0 * mb / 1024.0;
        let price = if arch == "arm64" { "lambda.duration_arm64" } else { "lambda.duration_x86_64" };
        let mut lines = vec![
            Line::new("Requests", "lambda.requests", requests),
            Line::new(named("Duration", &format!("{arch}, {mb} MB, {ms} ms")), price, gb_s),
        ];
        if let Some(scan_ms) = u.derived(crate::cost::read_flow::SCAN_MS_KEY).filter(|ms| *ms > 0.0) {
            // `GET /nodes/{id}/readings` decoding its bucket's packed items, beyond `request_duration_ms`
            let gb_s = scan_ms / 1000.0 * mb / 1024.0;
            lines.push(Line::new(
                format!("Duration of GET /nodes/{{id}}/readings scans ({arch}, {mb} MB)"),
                price,
                gb_s,
            ));
        }
        if let Some(gb) = u.derived("_unlinked_log_gb") {
            lines.push(Line::new("Log ingestion (log group not in the template)", "logs.lambda_ingestion", gb));
        }
        lines.extend(emf_metrics::line(u));
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::resources::tests::{lines_of, resource};
    use serde_json::json;

    #[test]
    fn duration_follows_memory_and_architecture() {
        let r = resource("F", "AWS::Lambda::Function", json!({"MemorySize": 256, "Architectures": ["arm64"]}));
        let l = lines_of(&LambdaFunction, &r, &[("monthly_requests", 1_000_000.0), ("request_duration_ms", 50.0)]);
        assert_eq!(l[0], Line::new("Requests", "lambda.requests", 1e6));
        // 1M × 0.05 s × 0.25 GB = 12,500 GB-s
        assert_eq!(l[1], Line::new("Duration (arm64, 256 MB, 50 ms)", "lambda.duration_arm64", 12_500.0));
        assert_eq!(l.len(), 2);
    }

    #[test]
    fn defaults_are_128_mb_x86_64() {
        let r = resource("F", "AWS::Lambda::Function", json!({}));
        let l = lines_of(&LambdaFunction, &r, &[("monthly_requests", 1024.0)]);
        // 1024 × 0.02 s × 0.125 GB = 2.56 GB-s
        assert_eq!(l[1], Line::new("Duration (x86_64, 128 MB, 20 ms)", "lambda.duration_x86_64", 2.56));
    }
}
