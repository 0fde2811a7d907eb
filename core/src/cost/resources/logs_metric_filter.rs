//! AWS::Logs::MetricFilter: each metric it publishes is a custom CloudWatch metric, priced per metric a month
//! (filtering itself is free).

use super::{Line, Priced, ResourceUsage};
use crate::cost::template::Resource;
use crate::cost::usage::Key;
use serde_json::Value;

pub struct MetricFilter;

impl Priced for MetricFilter {
    fn type_name(&self) -> &'static str {
        "AWS::Logs::MetricFilter"
    }
    fn usage_keys(&self) -> &'static [Key] {
        &[]
    }
    fn lines(&self, r: &Resource, _u: &ResourceUsage) -> Vec<Line> {
        let metrics = r.prop(&["MetricTransformations"]).and_then(Value::as_array).map_or(1.0, |a| a.len() as f64);
        vec![Line::new("Custom metrics", "cloudwatch.custom_metrics", metrics)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::resources::tests::{lines_of, resource};
    use serde_json::json;

    #[test]
    fn one_custom_metric_per_transformation() {
        let f = resource(
            "F",
            "AWS::Logs::MetricFilter",
            json!({"MetricTransformations": [{"MetricName": "A"}, {"MetricName": "B"}]}),
        );
        assert_eq!(
            lines_of(&MetricFilter, &f, &[]),
            vec![Line::new("Custom metrics", "cloudwatch.custom_metrics", 2.0)]
        );
    }
}
