//! AWS::CloudWatch::Alarm: one standard-resolution alarm metric a month per alarm (the stack's alarms watch one
//! metric each).

use super::{Line, Priced, ResourceUsage};
use crate::cost::template::Resource;
use crate::cost::usage::Key;

pub struct Alarm;

impl Priced for Alarm {
    fn type_name(&self) -> &'static str {
        "AWS::CloudWatch::Alarm"
    }
    fn usage_keys(&self) -> &'static [Key] {
        &[]
    }
    fn lines(&self, _r: &Resource, _u: &ResourceUsage) -> Vec<Line> {
        vec![Line::new("Alarm metric (standard resolution)", "cloudwatch.alarms", 1.0)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::resources::tests::{lines_of, resource};
    use serde_json::json;

    #[test]
    fn one_alarm_metric_a_month() {
        let a = resource("A", "AWS::CloudWatch::Alarm", json!({"MetricName": "Errors"}));
        assert_eq!(
            lines_of(&Alarm, &a, &[]),
            vec![Line::new("Alarm metric (standard resolution)", "cloudwatch.alarms", 1.0)]
        );
    }
}
