//! Counters as CloudWatch embedded-metric-format lines on stdout (metrics without an API call), namespace
//! [`NAMESPACE`], dimension `Function`. Every function counts what it refuses here (`EventRefused`, ...).

use std::io::Write;

/// Namespace of every metric the runtime functions emit.
pub const NAMESPACE: &str = "RainMaker";

/// The metric names each function emits (dimension `Function` = the function): each (name, function) pair is one
/// CloudWatch custom metric, which `estimate` prices (`core/src/cost/resources/emf_metrics.rs`). The test
/// `declared_metrics_are_the_ones_the_code_emits` reads the functions' sources and fails when they differ.
pub const METRICS: &[(&str, &[&str])] = &[
    ("provisioning-hook", &["EventRefused"]),
    ("telemetry-ingest", &["TelemetryAccepted", "TelemetryDuplicates", "TelemetryRejected"]),
    (
        "telemetry-batch",
        &["EventRefused", "TelemetryAccepted", "TelemetryDuplicates", "TelemetryRejected", "TelemetryRetried"],
    ),
    ("presence", &["EventRefused"]),
    ("binding-confirm", &["BindingRejected", "EventRefused", "NodeBound"]),
    ("api", &["EventRefused"]),
];

/// The declared metric names of a function (none for an unknown one).
pub fn metrics(function: &str) -> &'static [&'static str] {
    METRICS.iter().find(|(f, _)| *f == function).map_or(&[], |(_, m)| m)
}

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

    /// CamelCase string literals in the `emit(...)` calls of `src` (`self.emit(&[("TelemetryAccepted", n)])`,
    /// `self.emit("NodeBound")`, `emf::emit("presence", &[("EventRefused", 1)])`, over several lines too): the
    /// metric names it emits.
    fn emitted(src: &str) -> Vec<String> {
        let src: String = src.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n");
        let mut out: Vec<String> = Vec::new();
        for (at, _) in src.match_indices("emit(") {
            let call = &src[at..];
            let call = &call[..call.find(");").unwrap_or(call.len())];
            for (i, lit) in call.split('"').enumerate() {
                let camel = lit.len() > 1
                    && lit.starts_with(|c: char| c.is_ascii_uppercase())
                    && lit.chars().all(|c| c.is_ascii_alphanumeric())
                    && lit.chars().skip(1).any(|c| c.is_ascii_uppercase());
                if i % 2 == 1 && camel && !out.iter().any(|o| o == lit) {
                    out.push(lit.to_string());
                }
            }
        }
        out.sort();
        out
    }

    #[test]
    fn declared_metrics_are_the_ones_the_code_emits() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut functions: Vec<&str> = crate::contract::FUNCTIONS.to_vec();
        functions.extend(METRICS.iter().map(|(f, _)| *f).filter(|f| !crate::contract::FUNCTIONS.contains(f)));
        for f in functions {
            let dir = root.join(f).join("src");
            let mut names: Vec<String> = Vec::new();
            for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
                let path = entry.unwrap().path();
                if path.extension().is_some_and(|x| x == "rs") {
                    names.extend(emitted(&std::fs::read_to_string(&path).unwrap()));
                }
            }
            names.sort();
            names.dedup();
            let mut declared: Vec<String> = metrics(f).iter().map(|m| m.to_string()).collect();
            declared.sort();
            assert_eq!(names, declared, "{f}: the metrics its code emits differ from emf::METRICS");
        }
        let sample =
            "self.emit(&[\n    (\"A1\", 1),\n    (\"TwoWords\", n),\n]);\nx(\"NotHere\");\n// emit(\"Commented\");";
        assert_eq!(emitted(sample), vec!["TwoWords"]);
    }

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
