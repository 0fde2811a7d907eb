//! Counters as CloudWatch embedded-metric-format lines on stdout (metrics without an API call).

use std::io::Write;

/// Namespace of every metric the runtime functions emit.
pub const NAMESPACE: &str = "RainMaker";

/// Print one EMF line with the given counts (zero counts are left out; nothing is printed if all are zero).
pub fn emit(counts: &[(&str, usize)]) {
    if let Some(line) = emf_line(counts, rainmaker_model::time::now_ms()) {
        let _ = writeln!(std::io::stdout().lock(), "{line}");
    }
}

fn emf_line(counts: &[(&str, usize)], now_ms: i64) -> Option<String> {
    let counts: Vec<_> = counts.iter().filter(|(_, n)| *n > 0).collect();
    if counts.is_empty() {
        return None;
    }
    let metrics: Vec<_> = counts.iter().map(|(name, _)| serde_json::json!({"Name": name, "Unit": "Count"})).collect();
    let mut obj = serde_json::json!({
        "_aws": {"Timestamp": now_ms, "CloudWatchMetrics": [{
            "Namespace": NAMESPACE, "Dimensions": [["Function"]], "Metrics": metrics}]},
        "Function": "telemetry-ingest",
    });
    for (name, n) in counts {
        obj[*name] = serde_json::json!(n);
    }
    Some(obj.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emf_line_carries_nonzero_counts_only() {
        assert_eq!(emf_line(&[("A", 0)], 1), None);
        let v: serde_json::Value = serde_json::from_str(&emf_line(&[("A", 2), ("B", 0)], 1).unwrap()).unwrap();
        assert_eq!(v["A"], 2);
        assert!(v.get("B").is_none());
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"], "A");
    }
}
