//! Counters as CloudWatch embedded-metric-format lines on stdout (metrics without an API call), namespace
//! [`NAMESPACE`], dimension `Function`. Every function counts what it refuses here (`EventRefused`, ...).

use std::io::Write;

/// Namespace of every metric the runtime functions emit.
pub const NAMESPACE: &str = "RainMaker";

/// Print one EMF line with the given counts for `function` (zero counts are left out; nothing is printed if all
/// are zero).
pub fn emit(function: &str, counts: &[(&str, usize)]) {
    if let Some(line) = emf_line(function, counts, crate::time::now_ms()) {
        // Counted per thread (`log_volume`): what the access-check test measures against the declarations.
        let _ = writeln!(crate::log_volume::Counting(std::io::stdout().lock()), "{line}");
    }
}

/// The EMF line (JSON text) for `counts` at `now_ms`, or `None` when every count is zero.
pub fn emf_line(function: &str, counts: &[(&str, usize)], now_ms: i64) -> Option<String> {
    let counts: Vec<_> = counts.iter().filter(|(_, n)| *n > 0).collect();
    if counts.is_empty() {
        return None;
    }
    let metrics: Vec<_> = counts.iter().map(|(name, _)| serde_json::json!({"Name": name, "Unit": "Count"})).collect();
    let mut obj = serde_json::json!({
        "_aws": {"Timestamp": now_ms, "CloudWatchMetrics": [{
            "Namespace": NAMESPACE, "Dimensions": [["Function"]], "Metrics": metrics}]},
        "Function": function,
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
        assert_eq!(emf_line("f", &[("A", 0)], 1), None);
        let v: serde_json::Value = serde_json::from_str(&emf_line("f", &[("A", 2), ("B", 0)], 1).unwrap()).unwrap();
        assert_eq!(v["A"], 2);
        assert_eq!(v["Function"], "f");
        assert!(v.get("B").is_none());
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"], "A");
    }
}
