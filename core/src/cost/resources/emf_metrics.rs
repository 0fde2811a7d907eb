//! CloudWatch custom metrics of the runtime functions' embedded-metric-format lines: each metric name a function
//! emits (`rainmaker_model::emf::METRICS`, namespace `RainMaker`, dimension `Function`) is one custom metric a month.
//! The lines themselves cost only their log bytes (priced on the log group); no `PutMetricData` is called.
//! Priced on the function (`AWS::Lambda::Function`, see `lambda.rs`) as `cloudwatch.custom_metrics`.

use super::{Line, ResourceUsage};
use rainmaker_model::emf;

/// Derived key: custom metrics of a function (set by the flow from the runtime functions it runs).
pub const KEY: &str = "_emf_metrics";

/// Custom metrics of the runtime functions `functions` run in one Lambda function (a name counted once).
pub fn count<'a>(functions: impl IntoIterator<Item = &'a str>) -> f64 {
    let mut seen: Vec<&str> = Vec::new();
    for f in functions {
        if !seen.contains(&f) {
            seen.push(f);
        }
    }
    seen.iter().map(|f| emf::metrics(f).len() as f64).sum()
}

/// The custom-metrics line of a function, when the flow found any.
pub fn line(u: &ResourceUsage) -> Option<Line> {
    let n = u.derived(KEY).filter(|n| *n > 0.0)?;
    Some(Line::new(format!("Custom metrics (EMF, namespace {})", emf::NAMESPACE), "cloudwatch.custom_metrics", n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::resources::lambda::LambdaFunction;
    use crate::cost::resources::tests::{lines_of, resource};
    use serde_json::json;

    #[test]
    fn one_metric_per_name_a_function_emits() {
        // telemetry-ingest: TelemetryAccepted, TelemetryDuplicates, TelemetryRejected; binding-confirm: NodeBound,
        // BindingRejected, EventRefused; api: EventRefused (a separate metric: its Function dimension differs).
        assert_eq!(count(["telemetry-ingest"]), 3.0);
        assert_eq!(count(["api", "binding-confirm", "api"]), 4.0);
        assert_eq!(count(["not-a-runtime-function"]), 0.0);
        let total: usize = emf::METRICS.iter().map(|(_, m)| m.len()).sum();
        assert_eq!(count(emf::METRICS.iter().map(|(f, _)| *f)), total as f64);
    }

    #[test]
    fn priced_on_the_function_as_custom_metrics() {
        let r = resource("F", "AWS::Lambda::Function", json!({}));
        let l = lines_of(&LambdaFunction, &r, &[("monthly_requests", 10.0), (KEY, 3.0)]);
        assert_eq!(
            l.last(),
            Some(&Line::new("Custom metrics (EMF, namespace RainMaker)", "cloudwatch.custom_metrics", 3.0))
        );
        let none = lines_of(&LambdaFunction, &r, &[("monthly_requests", 10.0)]);
        assert!(none.iter().all(|l| l.price_id != "cloudwatch.custom_metrics"));
    }
}
